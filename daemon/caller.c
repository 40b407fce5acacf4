/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read the calling thread's identity and the queue it names.
 *
 * Trust: /proc/TID is whatever thread holds that tid *now*; the caller must
 * confirm the notification with ID_VALID after these reads before using them
 * (notes/02). The queue lookup is a snapshot: the queue can change before the
 * kernel executes the call, so queue rules are best-effort (README).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caller.h"
#include "log.h"
#include "util.h"

static int self_ns_fd = -1;
static dev_t self_ns_dev;
static ino_t self_ns_ino;

int caller_ns_init(void)
{
	struct stat st;

	self_ns_fd = open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC);
	if (self_ns_fd < 0)
		return negative_errno();
	if (fstat(self_ns_fd, &st) < 0)
		return negative_errno();
	self_ns_dev = st.st_dev;
	self_ns_ino = st.st_ino;
	return 0;
}

static int read_file(const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return negative_errno();
	n = read(fd, buf, size - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	return 0;
}

/* Value of "Key:\t..." in a /proc status text, or NULL. */
static const char *status_field(const char *status, const char *key)
{
	size_t len = strlen(key);

	for (const char *p = status; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, key, len) == 0 && p[len] == ':')
			return p + len + 1;
	return NULL;
}

/* The second number of "Uid:\treal\teffective\tsaved\tfs". */
static int parse_second(const char *field, unsigned long *ret)
{
	unsigned long first, second;

	if (!field || sscanf(field, "%lu %lu", &first, &second) != 2)
		return -EBADMSG;
	*ret = second;
	return 0;
}

static int read_status(pid_t tid, struct caller *c)
{
	char path[64], status[4096];
	unsigned long uid, gid;
	const char *tgid;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	r = read_file(path, status, sizeof(status));
	if (r < 0)
		return r;
	tgid = status_field(status, "Tgid");
	if (!tgid || parse_second(status_field(status, "Uid"), &uid) < 0 ||
	    parse_second(status_field(status, "Gid"), &gid) < 0)
		return -EBADMSG;
	c->pid = (pid_t)strtol(tgid, NULL, 10);
	c->euid = (uid_t)uid;
	c->egid = (gid_t)gid;
	return c->pid > 0 ? 0 : -EBADMSG;
}

int caller_read(pid_t tid, struct caller *ret)
{
	struct caller c = {.tid = tid};
	char path[64];
	ssize_t n;
	int r;

	if (tid <= 0)
		return -ESRCH; /* not visible in our pid namespace */
	r = read_status(tid, &c);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/proc/%d/comm", tid);
	if (read_file(path, c.comm, sizeof(c.comm)) == 0)
		c.comm[strcspn(c.comm, "\n")] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/exe", tid);
	n = readlink(path, c.exe, sizeof(c.exe) - 1);
	c.exe[n > 0 ? n : 0] = '\0';
	*ret = c;
	return 0;
}

static void fill_queue(const struct msqid_ds *ds, struct queue_info *q)
{
	q->known = true;
	q->key = ds->msg_perm.__key;
	q->uid = ds->msg_perm.uid;
	q->cuid = ds->msg_perm.cuid;
	q->mode = ds->msg_perm.mode & 0777;
}

static void stat_queue(enum mg_lookup how, int msqid, struct queue_info *q)
{
	struct msqid_ds ds;
	int r;

	/* CAP_IPC_OWNER lets us read any queue; MSG_STAT_ANY needs nothing. */
	r = msgctl(msqid, how == MG_LOOKUP_INDEX ? MSG_STAT_ANY : IPC_STAT, &ds);
	if (r >= 0)
		fill_queue(&ds, q);
}

/*
 * The daemon is single-threaded: setns() moves the whole process into the
 * caller's IPC namespace for one msgctl, and straight back. Failing to get
 * back would leave every later decision looking at the wrong queues, so
 * that is fatal (the kernel then fails closed: ENOSYS for every service).
 */
int caller_queue_lookup(pid_t tid, enum mg_lookup how, int msqid, struct queue_info *ret)
{
	struct queue_info q = {0};
	_cleanup_close_ int ns = -1;
	char path[64];
	struct stat st;

	if (how == MG_LOOKUP_NONE) {
		*ret = q;
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", tid);
	ns = open(path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || fstat(ns, &st) < 0)
		return negative_errno();
	if (st.st_dev == self_ns_dev && st.st_ino == self_ns_ino) {
		stat_queue(how, msqid, &q);
	} else {
		if (setns(ns, CLONE_NEWIPC) < 0)
			return negative_errno();
		stat_queue(how, msqid, &q);
		if (setns(self_ns_fd, CLONE_NEWIPC) < 0) {
			log_error("cannot return to our own IPC namespace: %m; exiting");
			abort();
		}
	}
	*ret = q;
	return 0;
}
