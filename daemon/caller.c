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
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caller.h"
#include "log.h"
#include "util.h"

static int self_ns_fd = -1;
static dev_t self_ns_dev;
static ino_t self_ns_ino;

static void pidfd_probe(void);

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
	pidfd_probe();
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

static int parse_ids(const char *field, unsigned long ids[3])
{
	if (!field || sscanf(field, "%lu %lu %lu", &ids[0], &ids[1], &ids[2]) != 3)
		return -EBADMSG;
	return 0;
}

static int parse_groups(const char *field, struct caller_creds *c)
{
	const char *p = field;

	c->n_groups = 0;
	if (!field)
		return -EBADMSG;
	while (*p && *p != '\n') {
		char *end;
		unsigned long g;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || !*p)
			break;
		if (c->n_groups >= CALLER_GROUPS_MAX)
			return -EOPNOTSUPP;
		errno = 0;
		g = strtoul(p, &end, 10);
		if (end == p || errno)
			return -EBADMSG;
		c->groups[c->n_groups++] = (gid_t)g;
		p = end;
	}
	return 0;
}

static int same_user_ns(pid_t tid)
{
	struct stat self, other;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", tid);
	if (stat("/proc/self/ns/user", &self) < 0 || stat(path, &other) < 0)
		return negative_errno();
	return self.st_dev == other.st_dev && self.st_ino == other.st_ino;
}

int caller_read_creds(pid_t tid, struct caller_creds *ret)
{
	struct caller_creds c = {0};
	unsigned long uids[3], gids[3];
	unsigned long long cap;
	char path[64], status[16384];
	const char *f;
	int r;

	r = same_user_ns(tid);
	if (r <= 0)
		return r < 0 ? r : -EOPNOTSUPP;
	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	r = read_file(path, status, sizeof(status));
	if (r < 0)
		return r;
	if (parse_ids(status_field(status, "Uid"), uids) < 0 ||
	    parse_ids(status_field(status, "Gid"), gids) < 0)
		return -EBADMSG;
	r = parse_groups(status_field(status, "Groups"), &c);
	if (r < 0)
		return r;
	f = status_field(status, "CapEff");
	if (!f || sscanf(f, "%llx", &cap) != 1)
		return -EBADMSG;
	c.ruid = (uid_t)uids[0], c.euid = (uid_t)uids[1], c.suid = (uid_t)uids[2];
	c.rgid = (gid_t)gids[0], c.egid = (gid_t)gids[1], c.sgid = (gid_t)gids[2];
	c.cap_eff = cap;
	*ret = c;
	return 0;
}

int caller_open_ipc_ns(pid_t tid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

/*
 * "Name:" of /proc/TID/status is the comm, with '\\' and '\n' escaped by the
 * kernel; reading it here saves opening /proc/TID/comm.
 */
static void copy_name(const char *field, char *out, size_t size)
{
	size_t n;

	if (!field) {
		out[0] = '\0';
		return;
	}
	field += strspn(field, " \t");
	n = strcspn(field, "\n");
	snprintf(out, size, "%.*s", (int)n, field);
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
	copy_name(status_field(status, "Name"), c->comm, sizeof(c->comm));
	return c->pid > 0 ? 0 : -EBADMSG;
}

/* linux/pidfd.h of Linux 6.13 (Debian 12's headers predate it). */
struct mg_pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid, spare0[1];
};
#define MG_PIDFD_GET_INFO   _IOWR(0xFF, 11, struct mg_pidfd_info)
#define MG_PIDFD_INFO_PID   (1ull << 0)
#define MG_PIDFD_INFO_CREDS (1ull << 1)
#define MG_PIDFD_THREAD	    O_EXCL /* Linux 6.9 */
#define PIDFD_CACHE_SLOTS   64

/*
 * A cached thread (event loop only): its pidfd, which says whether it still
 * lives, and its /proc/TID directory and comm file, opened with it. All three
 * are bound to the tid's struct pid, not to its number: once that thread is
 * gone they fail, they never show a later thread that reuses the number. (An
 * exec in another thread moves the leader's struct pid to the execing thread,
 * which is then the one that holds the tid: the handles follow it, rightly.)
 * So the cache holds handles, never answers; everything is read fresh.
 */
struct task_slot {
	pid_t tid;
	int pidfd, dir, comm; /* 0: not open */
};
static struct task_slot task_cache[PIDFD_CACHE_SLOTS];
static bool pidfd_unsupported;

/* 0 and *info when the task behind fd is alive and is tid; -ESRCH when gone. */
static int pidfd_info(int fd, pid_t tid, struct mg_pidfd_info *info)
{
	*info = (struct mg_pidfd_info){.mask = MG_PIDFD_INFO_PID | MG_PIDFD_INFO_CREDS};
	if (ioctl(fd, MG_PIDFD_GET_INFO, info) < 0)
		return errno == ESRCH ? -ESRCH : negative_errno();
	if ((info->mask & MG_PIDFD_INFO_CREDS) == 0 || (pid_t)info->pid != tid)
		return -ESRCH;
	return 0;
}

/*
 * PIDFD_THREAD (Linux 6.9) and PIDFD_GET_INFO (6.13), tried once on our own
 * thread: without them, creds come from /proc/TID/status, always.
 */
static void pidfd_probe(void)
{
	struct mg_pidfd_info info;
	pid_t self = (pid_t)syscall(SYS_gettid);
	_cleanup_close_ int fd = (int)syscall(SYS_pidfd_open, self, MG_PIDFD_THREAD);

	pidfd_unsupported = fd < 0 || pidfd_info(fd, self, &info) < 0;
	if (pidfd_unsupported)
		log_info("no PIDFD_THREAD/PIDFD_GET_INFO here: caller credentials come from "
			 "/proc/TID/status");
}

static void slot_close(struct task_slot *t)
{
	if (t->pidfd > 0)
		close(t->pidfd);
	if (t->dir > 0)
		close(t->dir);
	if (t->comm > 0)
		close(t->comm);
	*t = (struct task_slot){0};
}

/*
 * Open tid's handles into t. The pidfd comes first and is asked last: if
 * that task is still alive after /proc/TID was opened, the tid was its own
 * all along, so the directory is the same task's.
 */
static int slot_open(struct task_slot *t, pid_t tid, struct mg_pidfd_info *info)
{
	char path[32];
	int fd;

	fd = (int)syscall(SYS_pidfd_open, tid, MG_PIDFD_THREAD);
	if (fd < 0)
		return negative_errno();
	*t = (struct task_slot){.tid = tid, .pidfd = fd};
	snprintf(path, sizeof(path), "/proc/%d", tid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		t->dir = fd;
		fd = openat(t->dir, "comm", O_RDONLY | O_CLOEXEC | O_NOCTTY);
		t->comm = fd < 0 ? 0 : fd;
	}
	return pidfd_info(t->pidfd, tid, info);
}

/* The cached slot of tid, opened if needed, with its info; NULL and *err otherwise. */
static struct task_slot *cached_task(pid_t tid, struct mg_pidfd_info *info, int *err)
{
	struct task_slot *t = &task_cache[(unsigned)tid % PIDFD_CACHE_SLOTS];

	if (t->tid == tid && t->pidfd > 0 && pidfd_info(t->pidfd, tid, info) == 0)
		return t;
	slot_close(t);
	*err = slot_open(t, tid, info);
	if (*err < 0) {
		slot_close(t);
		return NULL;
	}
	return t;
}

/*
 * The slot of tid if one is open, without asking the pidfd: good for reads
 * through its dir, which fail once the task is gone (see above).
 */
static struct task_slot *peek_task(pid_t tid)
{
	struct task_slot *t = &task_cache[(unsigned)tid % PIDFD_CACHE_SLOTS];

	return t->tid == tid && t->dir > 0 ? t : NULL;
}

/* pid, euid, egid of tid through its cached pidfd; -EOPNOTSUPP without kernel support. */
static int read_pidfd_creds(pid_t tid, struct caller *c)
{
	struct mg_pidfd_info info;
	int r = 0;

	if (pidfd_unsupported)
		return -EOPNOTSUPP;
	if (!cached_task(tid, &info, &r)) {
		/* Some kernels say EINVAL for a thread reaped during pidfd_open: this call
		 * only goes through /proc/TID/status (support was probed at startup). */
		if (r == -EINVAL || r == -ENOTTY || r == -ENOSYS)
			return -EOPNOTSUPP;
		return r;
	}
	c->pid = (pid_t)info.tgid;
	c->euid = info.euid;
	c->egid = info.egid;
	return c->pid > 0 ? 0 : -EBADMSG;
}

/* comm (unless the status fallback filled it) and exe of tid, through its slot when open. */
static void read_names(pid_t tid, struct caller *c, bool want_comm)
{
	struct task_slot *t = peek_task(tid);
	char path[64];
	ssize_t n;

	/* A slot whose task is gone fails; then the path, like without a slot (the
	 * caller's ID_VALID covers both). */
	if (want_comm) {
		n = t && t->comm > 0 ? pread(t->comm, c->comm, sizeof(c->comm) - 1, 0) : -1;
		if (n >= 0) {
			c->comm[n] = '\0';
		} else {
			snprintf(path, sizeof(path), "/proc/%d/comm", tid);
			if (read_file(path, c->comm, sizeof(c->comm)) < 0)
				c->comm[0] = '\0';
		}
		c->comm[strcspn(c->comm, "\n")] = '\0';
	}
	n = t ? readlinkat(t->dir, "exe", c->exe, sizeof(c->exe) - 1) : -1;
	if (n < 0) {
		snprintf(path, sizeof(path), "/proc/%d/exe", tid);
		n = readlink(path, c->exe, sizeof(c->exe) - 1);
	}
	c->exe[n > 0 ? n : 0] = '\0';
}

int caller_read(pid_t tid, struct caller *ret)
{
	struct caller c = {.tid = tid};
	bool from_status = false;
	int r;

	if (tid <= 0)
		return -ESRCH; /* not visible in our pid namespace */
	r = read_pidfd_creds(tid, &c);
	if (r == -EOPNOTSUPP) {
		r = read_status(tid, &c); /* also fills comm, from Name: */
		from_status = true;
	}
	if (r < 0)
		return r;
	read_names(tid, &c, !from_status);
	*ret = c;
	return 0;
}

static void fill_queue(const struct msqid_ds *ds, struct queue_info *q)
{
	q->known = true;
	q->key = ds->msg_perm.__key;
	q->uid = ds->msg_perm.uid;
	q->cuid = ds->msg_perm.cuid;
	q->gid = ds->msg_perm.gid;
	q->mode = ds->msg_perm.mode & 0777;
}

/*
 * MSG_STAT_ANY needs no permission (ipc/msg.c: only the LSM is asked), so the
 * daemon needs no CAP_IPC_OWNER. It takes an index and returns the queue's
 * full id; an id's index is its low IPCMNI_SHIFT bits (15, or 24 with the
 * ipcmni_extend boot option), and the returned id must equal the id asked
 * for, so a recycled index never matches.
 */
static void stat_queue(enum mg_lookup how, int msqid, struct queue_info *q)
{
	static const int shifts[] = {15, 24};
	struct msqid_ds ds;

	if (how == MG_LOOKUP_INDEX) {
		if (msgctl(msqid, MSG_STAT_ANY, &ds) >= 0)
			fill_queue(&ds, q);
		return;
	}
	for (size_t i = 0; i < ELEMENTSOF(shifts); i++) {
		if (msgctl(msqid & ((1 << shifts[i]) - 1), MSG_STAT_ANY, &ds) == msqid) {
			fill_queue(&ds, q);
			return;
		}
	}
}

/*
 * stat() of tid's ns/ipc: through its open slot (a short walk), else, or if
 * that task is gone (its tid may now be another's), through /proc/TID.
 */
static int ipc_ns_stat(pid_t tid, struct stat *st)
{
	struct task_slot *t = peek_task(tid);
	char path[64];

	if (t && fstatat(t->dir, "ns/ipc", st, 0) == 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/ipc", tid);
	return stat(path, st);
}

/*
 * setns() moves this thread (the event loop) into the caller's IPC namespace
 * for one msgctl, and straight back. Failing to get
 * back would leave every later decision looking at the wrong queues, so
 * that is fatal (the kernel then fails closed: ENOSYS for every service).
 */
int caller_queue_lookup(pid_t tid, enum mg_lookup how, int msqid, struct queue_info *ret)
{
	struct queue_info q = {0};
	_cleanup_close_ int ns = -1;
	struct stat st;

	if (how == MG_LOOKUP_NONE) {
		*ret = q;
		return 0;
	}
	/* Usually the caller shares our namespace: one stat(), nothing to open. */
	if (ipc_ns_stat(tid, &st) < 0)
		return negative_errno();
	if (st.st_dev == self_ns_dev && st.st_ino == self_ns_ino) {
		stat_queue(how, msqid, &q);
		*ret = q;
		return 0;
	}
	ns = caller_open_ipc_ns(tid);
	if (ns < 0)
		return ns;
	/* What we open is what we compared: a recycled tid is caught by the caller's ID_VALID. */
	if (setns(ns, CLONE_NEWIPC) < 0)
		return negative_errno();
	stat_queue(how, msqid, &q);
	if (setns(self_ns_fd, CLONE_NEWIPC) < 0) {
		log_error("cannot return to our own IPC namespace: %m; exiting");
		abort();
	}
	*ret = q;
	return 0;
}
