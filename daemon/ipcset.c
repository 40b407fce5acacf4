/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPC_SET as the caller, on a short-lived worker thread.
 *
 * Why the daemon performs the call: the buffer is in the caller's memory and
 * another of its threads can rewrite it between our read and the kernel's
 * copy, so an answer of CONTINUE after judging the values would be a TOCTOU
 * hole (notes/02). Instead one thread per call:
 *   1. reads the buffer exactly as copy_msqid_from_user() /
 *      copy_compat_msqid_from_user() would (same byte ranges, so the same
 *      EFAULT), with process_vm_readv(); this may block on userfaultfd or
 *      FUSE memory, which is why it is not the event loop's thread;
 *   2. waits for the event loop's verdict on that copy;
 *   3. if told to go: joins the caller's IPC namespace and takes the caller's
 *      uids, gids, groups and the capabilities IPC_SET looks at, with raw
 *      syscalls that change this thread only (glibc's wrappers would change
 *      every thread), verifies them, and issues msgctl(IPC_SET) with the copy.
 * The thread then exits and its credentials die with it: nothing else ever
 * runs with them. The event loop never waits on step 1 longer than its
 * timeout; steps 2-3 do not block.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "ipcset.h"
#include "log.h"
#include "privs.h"
#include "util.h"

#define NATIVE_SIZE 120 /* struct msqid64_ds on x86_64 */
#define IPC_SET_CMD 1
/* The capabilities msgctl_down() consults: ownership bypass and msg_qbytes above msgmnb. */
#define IPCSET_CAPS ((1ull << CAP_SYS_ADMIN) | (1ull << CAP_SYS_RESOURCE))

/*
 * Byte ranges the kernel copies, and where the fields sit (ipc/msg.c,
 * include/linux/compat.h; checked with offsetof() on the uapi structs built
 * for x86_64 and -m32).
 */
struct layout_def {
	size_t perm_len;     /* copied from buf + 0 */
	size_t q_off, q_len; /* msg_qbytes (0 = inside perm_len) */
	size_t uid_off, gid_off, id_len;
	size_t mode_off, mode_len;
};

static const struct layout_def layouts[] = {
    /* copy_msqid_from_user(IPC_64): the whole struct msqid64_ds */
    [MG_LAYOUT_64] = {NATIVE_SIZE, 88, 8, 4, 8, 4, 20, 4},
    /* get_compat_ipc64_perm() (36 bytes) + get_user(msg_qbytes at 68) */
    [MG_LAYOUT_COMPAT_64] = {36, 68, 4, 4, 8, 4, 20, 2},
    /* get_compat_ipc_perm() (16 bytes, 16-bit ids) + get_user(u16 msg_qbytes at 48) */
    [MG_LAYOUT_COMPAT_OLD] = {16, 48, 2, 4, 6, 2, 12, 2},
};

enum job_state {
	JOB_READING,
	JOB_READ, /* values (or read_error) available */
	JOB_GO,
	JOB_CANCEL,
	JOB_DONE,
};

struct ipcset_quota {
	_Atomic unsigned outstanding; /* workers still reading the caller's buffer */
	_Atomic unsigned refs;
};

struct ipcset_quota *ipcset_quota_new(void)
{
	struct ipcset_quota *q = calloc(1, sizeof(*q));

	if (q)
		q->refs = 1;
	return q;
}

void ipcset_quota_unref(struct ipcset_quota *q)
{
	if (q && --q->refs == 0)
		free(q);
}

unsigned ipcset_quota_outstanding(const struct ipcset_quota *q)
{
	return q ? q->outstanding : 0;
}

struct ipcset_job {
	struct ipcset_quota *quota;
	pid_t tid;
	struct mg_call call;
	int ns_fd;
	int event_fd; /* readable once the read is over (the event loop polls it) */
	struct caller_creds creds;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	enum job_state state;
	int refs;
	int read_error;
	unsigned char raw[NATIVE_SIZE]; /* the native buffer as read (MG_LAYOUT_64) */
	struct ipcset_values values;
	int result;
};

uint64_t ipcset_qbytes_landed(uint64_t raw)
{
	/* msgctl_down(..., int msg_qbytes): truncated to int, stored in an unsigned long. */
	return (uint64_t)(int64_t)(int32_t)(uint32_t)raw;
}

static uint64_t get_le(const unsigned char *p, size_t len)
{
	uint64_t v = 0;

	for (size_t i = len; i > 0; i--)
		v = v << 8 | p[i - 1];
	return v;
}

static int read_remote(pid_t tid, uint64_t addr, void *dst, size_t len)
{
	struct iovec local = {.iov_base = dst, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);

	if (n < 0)
		return errno == EFAULT ? -EFAULT : negative_errno();
	return (size_t)n == len ? 0 : -EFAULT;
}

/* Step 1: the same bytes the kernel would copy, or the kernel's EFAULT. */
static int read_values(struct ipcset_job *job)
{
	const struct layout_def *l = &layouts[job->call.layout];
	unsigned char perm[NATIVE_SIZE], q[8] = {0};
	int r;

	r = read_remote(job->tid, job->call.buf, perm, l->perm_len);
	if (r < 0)
		return r;
	if (job->call.layout == MG_LAYOUT_64)
		memcpy(q, perm + l->q_off, l->q_len);
	else if ((r = read_remote(job->tid, job->call.buf + l->q_off, q, l->q_len)) < 0)
		return r;
	memcpy(job->raw, perm, l->perm_len);
	job->values.uid = (uint32_t)get_le(perm + l->uid_off, l->id_len);
	job->values.gid = (uint32_t)get_le(perm + l->gid_off, l->id_len);
	job->values.mode = (uint32_t)get_le(perm + l->mode_off, l->mode_len);
	job->values.qbytes = get_le(q, l->q_len);
	return 0;
}

static void job_unref_locked(struct ipcset_job *job)
{
	bool last = --job->refs == 0;

	pthread_mutex_unlock(&job->lock);
	if (!last)
		return;
	if (job->ns_fd >= 0)
		close(job->ns_fd);
	if (job->event_fd >= 0)
		close(job->event_fd);
	ipcset_quota_unref(job->quota);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	free(job);
}

static int sys_capset(uint64_t caps)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2] = {
	    {.effective = (uint32_t)caps, .permitted = (uint32_t)caps},
	    {.effective = (uint32_t)(caps >> 32), .permitted = (uint32_t)(caps >> 32)},
	};

	return syscall(SYS_capset, &h, d) < 0 ? negative_errno() : 0;
}

static int sys_capget(uint64_t *eff, uint64_t *prm)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return negative_errno();
	*eff = (uint64_t)d[1].effective << 32 | d[0].effective;
	*prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	return 0;
}

/* What this thread must end up with. */
static uint64_t wanted_caps(const struct caller_creds *c)
{
	uint64_t eff, prm;

	if (sys_capget(&eff, &prm) < 0)
		return 0;
	/* Never more than the caller has, nor than we can grant. */
	return c->cap_eff & IPCSET_CAPS & prm;
}

static int verify_creds(const struct caller_creds *c, uint64_t caps)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	uint64_t eff, prm;

	if (syscall(SYS_getresuid, &ru, &eu, &su) < 0 ||
	    syscall(SYS_getresgid, &rg, &eg, &sg) < 0 || sys_capget(&eff, &prm) < 0)
		return -EPERM;
	if (ru != c->ruid || eu != c->euid || su != c->suid || rg != c->rgid || eg != c->egid ||
	    sg != c->sgid || eff != caps || prm != caps)
		return -EPERM;
	return 0;
}

/*
 * Step 3a: become the caller, this thread only. Order matters: groups and
 * gids need CAP_SETGID, so they go before the uids; keep-caps (per thread)
 * keeps the permitted set across the uid change so the final capset can
 * raise exactly the caller's IPC_SET-relevant capabilities.
 */
static int become_caller(const struct caller_creds *c)
{
	uint64_t caps = wanted_caps(c);

	if (syscall(SYS_setgroups, c->n_groups, c->groups) < 0 ||
	    syscall(SYS_setresgid, c->rgid, c->egid, c->sgid) < 0 ||
	    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_setresuid, c->ruid, c->euid, c->suid) < 0 || sys_capset(caps) < 0)
		return -EPERM;
	return verify_creds(c, caps);
}

static void native_buffer(const struct ipcset_job *job, unsigned char out[NATIVE_SIZE])
{
	const struct layout_def *l = &layouts[MG_LAYOUT_64];
	const struct ipcset_values *v = &job->values;

	if (job->call.layout == MG_LAYOUT_64) {
		memcpy(out, job->raw, NATIVE_SIZE); /* exactly what the kernel would have copied */
		return;
	}
	memset(out, 0, NATIVE_SIZE);
	memcpy(out + l->uid_off, &v->uid, 4);
	memcpy(out + l->gid_off, &v->gid, 4);
	memcpy(out + l->mode_off, &v->mode, 4);
	memcpy(out + l->q_off, &v->qbytes, 8);
}

/* Step 3: runs on the worker thread with the job unlocked. */
static int perform(struct ipcset_job *job)
{
	unsigned char buf[NATIVE_SIZE];
	int r;

	if (setns(job->ns_fd, CLONE_NEWIPC) < 0)
		return negative_errno();
	r = become_caller(&job->creds);
	/* Our uid change made the whole process dumpable per fs.suid_dumpable: undo it. */
	if (privs_undumpable() < 0)
		log_warning("cannot make msgguardd non-dumpable again");
	if (r < 0) {
		log_error("cannot take the credentials of tid %d for IPC_SET, denying", job->tid);
		return r;
	}
	native_buffer(job, buf);
	if (syscall(SYS_msgctl, job->call.msqid, IPC_SET_CMD, buf) < 0)
		return negative_errno();
	return 0;
}

static void *worker(void *arg)
{
	struct ipcset_job *job = arg;
	int r = read_values(job);

	job->quota->outstanding--; /* only a hanging read counts against the service */
	pthread_mutex_lock(&job->lock);
	job->read_error = r;
	if (job->state == JOB_READING) /* not given up on by the event loop */
		job->state = JOB_READ;
	pthread_cond_broadcast(&job->cond);
	/* Cannot fail on a counter this small; the loop's deadline would cover it anyway. */
	(void)eventfd_write(job->event_fd, 1);
	while (job->state == JOB_READ)
		pthread_cond_wait(&job->cond, &job->lock);
	if (job->state == JOB_GO) {
		pthread_mutex_unlock(&job->lock);
		r = perform(job);
		pthread_mutex_lock(&job->lock);
		job->result = r;
		job->state = JOB_DONE;
		pthread_cond_broadcast(&job->cond);
	}
	job_unref_locked(job);
	return NULL;
}

int ipcset_begin(pid_t tid, const struct mg_call *call, int ns_fd, struct ipcset_quota *quota,
		 struct ipcset_job **ret)
{
	struct ipcset_job *job;
	pthread_attr_t attr;
	pthread_t thread;
	int r;

	if (call->layout == MG_LAYOUT_NONE || call->layout >= ELEMENTSOF(layouts))
		return -EINVAL;
	job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->tid = tid;
	job->call = *call;
	job->refs = 2;
	job->quota = quota;
	quota->refs++;
	job->ns_fd = fcntl(ns_fd, F_DUPFD_CLOEXEC, 3);
	job->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->cond, NULL);
	if (job->ns_fd < 0 || job->event_fd < 0) {
		r = negative_errno();
		goto fail;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	quota->outstanding++;
	r = -pthread_create(&thread, &attr, worker, job);
	pthread_attr_destroy(&attr);
	if (r < 0) {
		quota->outstanding--;
		goto fail;
	}
	*ret = job;
	return 0;
fail:
	job->refs = 1;
	pthread_mutex_lock(&job->lock);
	job_unref_locked(job);
	return r;
}

static void deadline_after(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

int ipcset_wait_read(struct ipcset_job *job, int timeout_ms, struct ipcset_values *ret)
{
	struct timespec deadline;
	int r = 0;

	deadline_after(&deadline, timeout_ms);
	pthread_mutex_lock(&job->lock);
	while (job->state == JOB_READING && r == 0)
		r = pthread_cond_timedwait(&job->cond, &job->lock, &deadline);
	if (job->state == JOB_READING)
		r = -ETIMEDOUT;
	else if ((r = job->read_error) == 0)
		*ret = job->values;
	pthread_mutex_unlock(&job->lock);
	return r;
}

int ipcset_read_fd(const struct ipcset_job *job)
{
	return job->event_fd;
}

int ipcset_execute(struct ipcset_job *job, const struct caller_creds *creds)
{
	int r;

	pthread_mutex_lock(&job->lock);
	if (job->state != JOB_READ || job->read_error) {
		job_unref_locked(job);
		return -EFAULT;
	}
	job->creds = *creds;
	job->state = JOB_GO;
	pthread_cond_broadcast(&job->cond);
	/* setns, setres*id, capset and msgctl(IPC_SET) do not block: no timeout here. */
	while (job->state != JOB_DONE)
		pthread_cond_wait(&job->cond, &job->lock);
	r = job->result;
	job_unref_locked(job);
	return r;
}

void ipcset_cancel(struct ipcset_job *job)
{
	pthread_mutex_lock(&job->lock);
	if (job->state == JOB_READ || job->state == JOB_READING)
		job->state = JOB_CANCEL;
	pthread_cond_broadcast(&job->cond);
	job_unref_locked(job);
}
