/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msgguard-bench: what one msgctl(2) costs under msgguard, next to its floors
 * (issue 5). A program, run by `make bench`; not a test.
 *
 * One run, on one machine, in one process tree (everything below is a child
 * of this program: workers, the reference supervisor, msgguardd, the shims,
 * journald when none runs):
 *   a   msgctl(IPC_STAT) with no filter
 *   b   the same with a seccomp filter that decides msgctl in the kernel (ALLOW)
 *   b2  the same with a filter that ALLOWs msgctl only when cmd is IPC_STAT: reading an
 *       argument keeps the kernel's per-syscall action cache from answering for the
 *       filter, as it does for b (informational: the floor for b')
 *   b'  msgguard's kernel fast path: IPC_STAT under msgguard-shim + msgguardd with
 *       `kernel_allow = IPC_STAT` in the profile, so the shim's real filter (built by
 *       shim/filter.c for that mask) lets it through in the kernel and msgguardd
 *       never sees it (checked: no decision record); compared with b (b'/b)
 *   c   the reference supervisor: a minimal notify loop in a process of its own
 *       (RECV into a zeroed buffer, answer CONTINUE), with the best wake-up mode
 *       the kernel offers (SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP if SET_FLAGS takes it)
 *   c0  the same loop with the default wake-ups (informational; only when c is sync)
 *   ce  the same loop with an epoll_wait before each RECV, as a daemon multiplexing
 *       many listeners must do (informational)
 *   d   msgguard allowing: IPC_STAT under msgguard-shim + msgguardd from the build
 *       tree, audit to a jsonl file, then to journald
 *   e   msgguard denying: IPC_RMID on a queue the policy protects (EPERM, the
 *       queue stays; checked after every run)
 *   e'  the same denial under a profile with `identify = rules` (audit jsonl, one
 *       service): the daemon reads only the queue the deny rule looks at, not the
 *       caller; compared with c like e
 * a..e with 1, 2, 4, 8 caller threads; d and e with 1, 10, 100 registered
 * services, one busy (the measured program), the others idle
 * (`msgguard-shim -- sleep 3600`).
 *
 * The measured program is this binary again, as `msgguard-bench --worker ...`
 * (under msgguard-shim for b', d, e): each caller thread makes its warm-up calls,
 * waits for the others, then times every call with CLOCK_MONOTONIC (vDSO: no
 * syscall, nothing the filter sees) and the worker writes the raw latencies to a
 * file this parent reads. Output: a table on stdout with the ratios and
 * targets (PASS/MISS, informational), a CSV with every configuration, and a PNG
 * of the latency distributions drawn by gnuplot. Exit 0 unless something failed
 * to run (a worker, the daemon, a call answered other than expected).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Linux 6.6; not in Debian 12's headers. The flag is passed by value. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

#define X32_SYSCALL_BIT	 0x40000000
#define X86_64_NR_MSGCTL 71

#define MAX_THREADS	 64
#define MAX_LIST	 16
#define MAX_IDLE	 1024
#define IDLE_BATCH	 4
#define NQUANT		 320
#define WORKER_ALARM_SEC 900
#define RAW_MAGIC	 "MGBENCH1"

/* ---------------------------------------------------------------------------------------- */
/* small helpers                                                                            */

static const char *prog = "msgguard-bench";

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* CPU time of a process's main thread (ns), from /proc/PID/schedstat; 0 if unknown. */
static uint64_t cpu_ns(pid_t pid)
{
	char path[64], buf[128];
	unsigned long long v = 0;
	int fd;
	ssize_t n;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%llu", &v) != 1)
		return 0;
	return v;
}

static void __attribute__((format(printf, 1, 2))) warnx_(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* "1,2,4,8" -> list; returns the count. */
static int parse_list(const char *s, int *out, int max, int lo, int hi)
{
	int n = 0;
	char *end;

	while (*s) {
		long v = strtol(s, &end, 10);

		if (end == s || v < lo || v > hi || n >= max)
			die("bad list '%s' (numbers %d..%d, comma-separated)", s, lo, hi);
		out[n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			die("bad list element near '%s'", end);
	}
	qsort(out, (size_t)n, sizeof(*out), cmp_int); /* ascending: idle services only grow */
	return n;
}

static unsigned parse_uint(const char *s, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > UINT_MAX / 2)
		die("bad %s '%s'", what, s);
	return (unsigned)v;
}

/* ---------------------------------------------------------------------------------------- */
/* the filters of b and c (classic BPF, the same path length as the shim's to msgctl)       */

#define LD(off)	       BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v)	       BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JGE(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (jt), (jf))

static int load_filter(struct sock_filter *program, unsigned short len, unsigned flags)
{
	struct sock_fprog fprog = {.len = len, .filter = program};
	long r;

	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	if (r < 0 && errno == EACCES) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return -errno;
		r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	}
	return r < 0 ? -errno : (int)r;
}

/* msgctl on x86_64 -> msgctl_action; everything else ALLOW. Returns the listener or -errno. */
static int install_filter(uint32_t msgctl_action, unsigned flags)
{
	struct sock_filter program[] = {
	    /* 0 */ LD(offsetof(struct seccomp_data, arch)),
	    /* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 3), /* 2 | 5 allow */
	    /* 2 */ LD(offsetof(struct seccomp_data, nr)),
	    /* 3 */ JGE(X32_SYSCALL_BIT, 1, 0),	 /* 5 allow | 4 */
	    /* 4 */ JEQ(X86_64_NR_MSGCTL, 1, 0), /* 6 msgctl | 5 */
	    /* 5 */ RET(SECCOMP_RET_ALLOW),
	    /* 6 */ RET(msgctl_action),
	};

	return load_filter(program, sizeof(program) / sizeof(program[0]), flags);
}

/*
 * b2: msgctl ALLOW only when cmd (the low word of a1) is IPC_STAT, else EPERM. A filter
 * that reads an argument is never served by the kernel's per-syscall action cache
 * (kernel/seccomp.c, seccomp_cache_check_allow()), which b's constant ALLOW is: b2 is the
 * floor for any in-kernel decision on the command, msgguard's fast path included.
 */
static int install_cmd_filter(void)
{
	struct sock_filter program[] = {
	    /* 0 */ LD(offsetof(struct seccomp_data, arch)),
	    /* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 3), /* 2 | 5 allow */
	    /* 2 */ LD(offsetof(struct seccomp_data, nr)),
	    /* 3 */ JGE(X32_SYSCALL_BIT, 1, 0),	 /* 5 allow | 4 */
	    /* 4 */ JEQ(X86_64_NR_MSGCTL, 1, 0), /* 6 msgctl | 5 */
	    /* 5 */ RET(SECCOMP_RET_ALLOW),
	    /* 6 */ LD(offsetof(struct seccomp_data, args) + 8),
	    /* 7 */ JEQ(IPC_STAT, 0, 1), /* 8 allow | 9 */
	    /* 8 */ RET(SECCOMP_RET_ALLOW),
	    /* 9 */ RET(SECCOMP_RET_ERRNO | EPERM),
	};

	return load_filter(program, sizeof(program) / sizeof(program[0]), 0);
}

/* ---------------------------------------------------------------------------------------- */
/* the worker: caller threads, raw latencies to a file                                      */

enum wake_mode {
	WAKE_NONE = 0,	  /* no supervisor of ours (a, b, d, e) */
	WAKE_SYNC = 1,	  /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP accepted */
	WAKE_DEFAULT = 2, /* default wake-ups (asked for, or the probe failed) */
};

struct raw_header {
	char magic[8];
	uint32_t threads, calls;
	uint64_t errors, start_ns, end_ns;
	int32_t wake_mode, wake_errno;
	int32_t bad_ret, bad_errno; /* the first unexpected answer */
	uint64_t sup_cpu_ns;	    /* c, c0: CPU time of the reference supervisor */
};

struct wthread {
	pthread_t th;
	uint64_t *lat;
	uint64_t start, end, errors;
	int bad_ret, bad_errno;
};

static struct {
	int msqid, cmd;
	unsigned calls, warmup;
	pthread_barrier_t barrier;
} W;

static bool call_as_expected(int r, int e)
{
	if (W.cmd == IPC_RMID)
		return r == -1 && e == EPERM; /* e: the policy must deny, the queue must stay */
	return r == 0;
}

static void note_bad(struct wthread *t, int r, int e)
{
	if (!t->errors++) {
		t->bad_ret = r;
		t->bad_errno = e;
	}
}

static void *caller_thread(void *arg)
{
	struct wthread *t = arg;
	struct msqid_ds ds;
	unsigned i;

	for (i = 0; i < W.warmup; i++) {
		int r = msgctl(W.msqid, W.cmd, &ds);

		if (!call_as_expected(r, errno))
			note_bad(t, r, errno);
	}
	pthread_barrier_wait(&W.barrier);
	t->start = now_ns();
	for (i = 0; i < W.calls; i++) {
		uint64_t t0 = now_ns();
		int r = msgctl(W.msqid, W.cmd, &ds);
		uint64_t t1 = now_ns();

		t->lat[i] = t1 - t0;
		if (__builtin_expect(!call_as_expected(r, errno), 0))
			note_bad(t, r, errno);
	}
	t->end = now_ns();
	return NULL;
}

static int send_fd(int sock, int fd)
{
	char byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;
	int fd;

	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

struct ref_ack {
	int32_t wake_mode, wake_errno;
};

/*
 * c: the reference supervisor, the whole of it. Nothing but RECV (into a zeroed
 * buffer: the kernel insists) and SEND CONTINUE; no poll, no /proc, no audit.
 * Blocking RECV returns ENOENT when a caller was interrupted or when the filter
 * has no users left (then the fd also reports POLLHUP and we stop).
 * ce (use_epoll): the same with an epoll_wait before each RECV, the shape a daemon
 * that multiplexes many listeners (msgguardd) cannot avoid: informational.
 */
static void __attribute__((noreturn)) ref_supervisor(int sock, bool want_sync, bool use_epoll)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int ep = -1;
	struct seccomp_notif_sizes sizes;
	struct ref_ack ack = {WAKE_DEFAULT, 0};
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	int fd = recv_fd(sock);

	if (fd < 0)
		_exit(3);
	if (want_sync) {
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) ==
		    0)
			ack.wake_mode = WAKE_SYNC;
		else
			ack.wake_errno = errno;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		_exit(3);
	req_size = sizes.seccomp_notif > sizeof(*req) ? sizes.seccomp_notif : sizeof(*req);
	resp_size =
	    sizes.seccomp_notif_resp > sizeof(*resp) ? sizes.seccomp_notif_resp : sizeof(*resp);
	req = calloc(1, req_size);
	resp = calloc(1, resp_size);
	if (!req || !resp || write_all(sock, &ack, sizeof(ack)) < 0)
		_exit(3);
	close(sock);
	if (use_epoll) {
		ep = epoll_create1(EPOLL_CLOEXEC);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			_exit(3);
	}
	for (;;) {
		if (use_epoll) {
			int n = epoll_wait(ep, &ev, 1, -1);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 || (ev.events & (EPOLLHUP | EPOLLERR)))
				_exit(0);
		}
		memset(req, 0, req_size);
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			if (errno == EINTR)
				continue;
			if (errno == ENOENT && poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP))
				continue;
			_exit(0);
		}
		memset(resp, 0, resp_size);
		resp->id = req->id;
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp); /* ENOENT: the caller retries */
	}
}

/* Fork the reference supervisor, install the notifying filter, hand it the listener. */
static pid_t start_ref_supervisor(bool want_sync, bool use_epoll, struct ref_ack *ack)
{
	int sv[2], listener;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair: %m");
	pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		close(sv[0]);
		ref_supervisor(sv[1], want_sync, use_epoll);
	}
	close(sv[1]);
	/* After the fork: the supervisor is not under the filter, our caller threads are. */
	listener = install_filter(SECCOMP_RET_USER_NOTIF, SECCOMP_FILTER_FLAG_NEW_LISTENER);
	if (listener < 0)
		die("seccomp(NEW_LISTENER): %s", strerror(-listener));
	if (send_fd(sv[0], listener) < 0 || read_all(sv[0], ack, sizeof(*ack)) < 0)
		die("the reference supervisor did not take the listener");
	close(listener);
	close(sv[0]);
	return pid;
}

struct worker_opts {
	const char *mode, *cmd, *out;
	unsigned threads, calls, warmup;
	int msqid;
};

static int worker_main(const struct worker_opts *o)
{
	struct wthread *t;
	struct raw_header h = {.magic = RAW_MAGIC};
	struct ref_ack ack = {WAKE_NONE, 0};
	pid_t sup = -1;
	int fd;

	prog = "msgguard-bench --worker";
	alarm(WORKER_ALARM_SEC); /* never hang a run: SIGALRM kills us, the parent reports it */
	if (!o->mode || !o->out || o->msqid < 0 || !o->threads || o->threads > MAX_THREADS)
		die("--worker needs --mode, --out, --msqid, --threads 1..%d", MAX_THREADS);
	W.msqid = o->msqid;
	W.calls = o->calls;
	W.warmup = o->warmup;
	W.cmd = o->cmd && strcmp(o->cmd, "rmid") == 0 ? IPC_RMID : IPC_STAT;
	/* Only a guarded run may ask for IPC_RMID: anywhere else it would remove the queue. */
	if (W.cmd == IPC_RMID && strcmp(o->mode, "guarded") != 0)
		die("--cmd rmid only with --mode guarded");
	fd = open(o->out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die("%s: %m", o->out);

	if (strcmp(o->mode, "filter") == 0 || strcmp(o->mode, "filter-cmd") == 0) {
		int r = strcmp(o->mode, "filter") == 0 ? install_filter(SECCOMP_RET_ALLOW, 0)
						       : install_cmd_filter();

		if (r < 0)
			die("seccomp: %s", strerror(-r));
	} else if (strncmp(o->mode, "ref", 3) == 0) {
		bool nosync = strcmp(o->mode, "ref-nosync") == 0;
		bool epoll = strcmp(o->mode, "ref-epoll") == 0;

		if (!nosync && !epoll && strcmp(o->mode, "ref") != 0)
			die("unknown --mode %s", o->mode);
		sup = start_ref_supervisor(!nosync, epoll, &ack);
	} else if (strcmp(o->mode, "plain") != 0 && strcmp(o->mode, "guarded") != 0) {
		die("unknown --mode %s", o->mode);
	}

	t = calloc(o->threads, sizeof(*t));
	if (!t)
		die("out of memory");
	for (unsigned i = 0; i < o->threads; i++) {
		t[i].lat = malloc((size_t)o->calls * sizeof(uint64_t) + 1);
		if (!t[i].lat)
			die("out of memory");
		memset(t[i].lat, 0, (size_t)o->calls * sizeof(uint64_t)); /* fault it in now */
	}
	pthread_barrier_init(&W.barrier, NULL, o->threads);
	for (unsigned i = 0; i < o->threads; i++)
		if (pthread_create(&t[i].th, NULL, caller_thread, &t[i]))
			die("pthread_create failed");
	h.start_ns = UINT64_MAX;
	for (unsigned i = 0; i < o->threads; i++) {
		pthread_join(t[i].th, NULL);
		if (t[i].start < h.start_ns)
			h.start_ns = t[i].start;
		if (t[i].end > h.end_ns)
			h.end_ns = t[i].end;
		if (t[i].errors && !h.errors) {
			h.bad_ret = t[i].bad_ret;
			h.bad_errno = t[i].bad_errno;
		}
		h.errors += t[i].errors;
	}
	if (sup > 0) {
		h.sup_cpu_ns = cpu_ns(sup);
		kill(sup, SIGKILL);
		waitpid(sup, NULL, 0);
	}
	h.threads = o->threads;
	h.calls = o->calls;
	h.wake_mode = ack.wake_mode;
	h.wake_errno = ack.wake_errno;
	if (write_all(fd, &h, sizeof(h)) < 0)
		die("%s: %m", o->out);
	for (unsigned i = 0; i < o->threads; i++)
		if (write_all(fd, t[i].lat, (size_t)o->calls * sizeof(uint64_t)) < 0)
			die("%s: %m", o->out);
	if (close(fd) < 0)
		die("%s: %m", o->out);
	return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* the parent: children, cleanup                                                            */

static struct {
	char self[PATH_MAX];
	char builddir[PATH_MAX];
	char msgguardd[PATH_MAX + 32], shim[PATH_MAX + 32], ctl[PATH_MAX + 32];
	char tmp[64];
	char sock[PATH_MAX];
	char policy[PATH_MAX];
	int msqid;
	key_t key;
	pid_t daemon_pid;
	char daemon_log[PATH_MAX];
	pid_t idle[MAX_IDLE];
	int n_idle;
	pid_t journald_pid;
	bool had_jdir, had_logdir, had_runlog;
	bool failed;
} P = {.msqid = -1};

static void kill_idle(void)
{
	for (int i = 0; i < P.n_idle; i++)
		kill(P.idle[i], SIGKILL);
	for (int i = 0; i < P.n_idle; i++)
		waitpid(P.idle[i], NULL, 0);
	P.n_idle = 0;
}

static int stop_daemon(void)
{
	int status = 0;

	if (P.daemon_pid <= 0)
		return 0;
	kill(P.daemon_pid, SIGTERM);
	waitpid(P.daemon_pid, &status, 0);
	P.daemon_pid = 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void rm_rf(const char *path)
{
	pid_t pid = fork();

	if (pid == 0) {
		execlp("rm", "rm", "-rf", "--", path, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void stop_journald(void)
{
	if (P.journald_pid <= 0)
		return;
	kill(P.journald_pid, SIGTERM);
	waitpid(P.journald_pid, NULL, 0);
	P.journald_pid = 0;
	/* As tests/journald.test: leave /run as we found it (no stale journal socket). */
	if (!P.had_jdir) {
		rm_rf("/run/systemd/journal");
	} else {
		unlink("/run/systemd/journal/socket");
		unlink("/run/systemd/journal/stdout");
		unlink("/run/systemd/journal/dev-log");
		unlink("/run/systemd/journal/io.systemd.journal");
	}
	if (!P.had_logdir)
		rm_rf("/run/log/journal");
	if (!P.had_runlog)
		rmdir("/run/log");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

static void cleanup(void)
{
	kill_idle();
	stop_daemon();
	stop_journald();
	if (P.msqid >= 0) {
		msgctl(P.msqid, IPC_RMID, NULL);
		P.msqid = -1;
	}
	if (P.tmp[0]) {
		nftw(P.tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		P.tmp[0] = '\0';
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void redirect(int to_fd, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd >= 0) {
		dup2(fd, to_fd);
		close(fd);
	}
}

static pid_t spawn(char *const argv[], const char *out_path, const char *err_path)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		redirect(STDIN_FILENO, "/dev/null", O_RDONLY);
		if (out_path)
			redirect(STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_APPEND);
		if (err_path)
			redirect(STDERR_FILENO, err_path, O_WRONLY | O_CREAT | O_APPEND);
		execv(argv[0], argv);
		fprintf(stderr, "%s: exec %s: %m\n", prog, argv[0]);
		_exit(127);
	}
	return pid;
}

static bool file_contains(const char *path, const char *needle)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static void show_file(const char *path, const char *prefix)
{
	char line[1024];
	FILE *f = fopen(path, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "%s%s", prefix, line);
	fclose(f);
}

/* /proc/PID/status "Key:  N kB" -> N, or -1. */
static long proc_status_kb(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t len = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, len) == 0 && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* ---------------------------------------------------------------------------------------- */
/* the daemon, idle services, journald                                                      */

static int start_daemon(const char *policy, const char *sink)
{
	char audit[PATH_MAX + 8], jsonl[PATH_MAX];
	char *argv[] = {P.msgguardd, "--policy", (char *)policy, "--socket",
			P.sock,	     "--audit",	 audit,		 NULL};
	static int n;

	snprintf(P.daemon_log, sizeof(P.daemon_log), "%s/msgguardd-%d.log", P.tmp, ++n);
	snprintf(jsonl, sizeof(jsonl), "%s/audit.jsonl", P.tmp);
	unlink(jsonl); /* each daemon starts with an empty jsonl audit */
	if (strcmp(sink, "jsonl") == 0)
		snprintf(audit, sizeof(audit), "jsonl:%s", jsonl);
	else
		snprintf(audit, sizeof(audit), "%s", sink);
	P.daemon_pid = spawn(argv, P.daemon_log, P.daemon_log);
	for (int i = 0; i < 200; i++) {
		if (file_contains(P.daemon_log, "ready"))
			return 0;
		if (waitpid(P.daemon_pid, NULL, WNOHANG) == P.daemon_pid) {
			P.daemon_pid = 0;
			break;
		}
		sleep_ms(50);
	}
	warnx_("msgguardd did not start (%s):", P.daemon_log);
	show_file(P.daemon_log, "  msgguardd: ");
	stop_daemon();
	return -1;
}

static bool comm_is(pid_t pid, const char *want)
{
	char path[64], comm[64] = "";
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	if (n <= 0)
		return false;
	comm[strcspn(comm, "\n")] = '\0';
	return strcmp(comm, want) == 0;
}

/*
 * Idle services until `want` are registered: msgguard-shim -- sleep 3600. The shim execs
 * sleep only after the daemon acknowledged the listener, so comm == "sleep" means
 * registered.
 */
static int idle_services(int want)
{
	char log[PATH_MAX];
	char *argv[] = {P.shim, "--socket", P.sock, "--", "/bin/sleep", "3600", NULL};

	snprintf(log, sizeof(log), "%s/idle.log", P.tmp);
	while (P.n_idle < want && P.n_idle < MAX_IDLE) {
		int first = P.n_idle;

		/* In batches: msgguardd caps pending registrations per uid (8). */
		while (P.n_idle < want && P.n_idle < MAX_IDLE && P.n_idle - first < IDLE_BATCH)
			P.idle[P.n_idle++] = spawn(argv, "/dev/null", log);
		for (int i = first; i < P.n_idle; i++) {
			int tries = 0;

			while (!comm_is(P.idle[i], "sleep")) {
				if (waitpid(P.idle[i], NULL, WNOHANG) == P.idle[i] ||
				    ++tries > 3000) {
					warnx_("an idle service did not register:");
					show_file(log, "  ");
					return -1;
				}
				sleep_ms(5);
			}
		}
	}
	return 0;
}

static bool journald_running(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = "/run/systemd/journal/socket"};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* 1: started by us, 0: one runs already, -1: none and cannot start one. */
static int ensure_journald(void)
{
	char *argv[] = {"/lib/systemd/systemd-journald", NULL};
	char log[PATH_MAX];

	if (journald_running())
		return 0;
	if (access(argv[0], X_OK) < 0)
		return -1;
	P.had_jdir = is_dir("/run/systemd/journal");
	P.had_logdir = is_dir("/run/log/journal");
	P.had_runlog = is_dir("/run/log");
	mkdir("/run/systemd", 0755);
	mkdir("/run/systemd/journal", 0755);
	snprintf(log, sizeof(log), "%s/journald.log", P.tmp);
	P.journald_pid = spawn(argv, log, log);
	for (int i = 0; i < 200; i++) {
		if (journald_running())
			return 1;
		sleep_ms(50);
	}
	warnx_("systemd-journald did not come up:");
	show_file(log, "  journald: ");
	stop_journald();
	return -1;
}

/* ---------------------------------------------------------------------------------------- */
/* results                                                                                  */

struct result {
	char config[8]; /* a b b2 b' c c0 ce d e */
	char label[48]; /* what it is */
	char audit[12]; /* - jsonl journal */
	char wake[16];	/* sync default - */
	int threads, services;
	unsigned warmup;
	uint64_t calls, errors;
	double min, p50, p90, p99, p999, max, mean, cps;
	double sup_cpu, jd_cpu; /* ns per call (warm-up included) of the supervisor, journald */
	long audit_records;	/* jsonl: decision records written for the run (-1: n/a) */
	double q_lat[NQUANT], q_frac[NQUANT];
	int nq;
};

static struct result *results;
static size_t n_results;
static uint64_t audited_journal; /* calls msgguardd audited to journald, strace runs included */

static struct {
	unsigned calls, slow_calls, warmup, slow_warmup;
	int threads[MAX_LIST], n_threads;
	int services[MAX_LIST], n_services;
	const char *csv, *png;
	bool journal, plot, syscalls, only_set;
	char only[64];
} O = {
    .calls = 20000,
    .slow_calls = 10000,
    .warmup = 1000,
    .slow_warmup = 200,
    .journal = true,
    .plot = true,
    .syscalls = true,
};

static bool want(const char *config)
{
	char list[80], *save = NULL;

	if (!O.only_set)
		return true;
	snprintf(list, sizeof(list), "%s", O.only);
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (strcmp(t, config) == 0)
			return true;
	return false;
}

static double pct(const uint64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)n + 0.999999);

	if (i < 1)
		i = 1;
	if (i > n)
		i = n;
	return (double)v[i - 1];
}

/* Quantiles for the plot: even steps up to 0.99, then log steps in the tail. */
static void quantiles(const uint64_t *v, size_t n, struct result *r)
{
	int k = 0;
	double tail = log10((double)n);

	for (int i = 0; i <= 160; i++) {
		double f = 0.99 * i / 160.0;

		r->q_frac[k] = f;
		r->q_lat[k++] = (double)v[(size_t)(f * (double)(n - 1))];
	}
	for (int i = 1; i < NQUANT - 162 && tail > 2; i++) {
		double x = 2 + (tail - 2) * i / (double)(NQUANT - 163);
		double f = 1 - pow(10, -x);

		r->q_frac[k] = f;
		r->q_lat[k++] = (double)v[(size_t)(f * (double)(n - 1))];
	}
	r->q_frac[k] = 1;
	r->q_lat[k++] = (double)v[n - 1];
	r->nq = k;
}

static struct result *find(const char *config, const char *audit, int threads, int services)
{
	for (size_t i = 0; i < n_results; i++) {
		struct result *r = &results[i];

		if (strcmp(r->config, config) == 0 && strcmp(r->audit, audit) == 0 &&
		    r->threads == threads && r->services == services)
			return r;
	}
	return NULL;
}

static const char *wake_name(int mode)
{
	return mode == WAKE_SYNC ? "sync" : mode == WAKE_DEFAULT ? "default" : "-";
}

static char wake_note[160] = "not measured";

/*
 * Read a worker's raw file into a result: merged latencies, sorted; throughput over the
 * measured window (first thread's start to last thread's end).
 */
static int collect(const char *path, struct result *r)
{
	struct raw_header h;
	uint64_t *v;
	size_t n;
	double sum = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || read_all(fd, &h, sizeof(h)) < 0 || memcmp(h.magic, RAW_MAGIC, 8) != 0) {
		warnx_("%s: no results from the worker", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	n = (size_t)h.threads * h.calls;
	v = malloc(n * sizeof(*v) + 1);
	if (!v || read_all(fd, v, n * sizeof(*v)) < 0) {
		warnx_("%s: truncated results", path);
		free(v);
		close(fd);
		return -1;
	}
	close(fd);
	qsort(v, n, sizeof(*v), cmp_u64);
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	r->calls = n;
	r->errors = h.errors;
	r->min = (double)v[0];
	r->p50 = pct(v, n, 0.50);
	r->p90 = pct(v, n, 0.90);
	r->p99 = pct(v, n, 0.99);
	r->p999 = pct(v, n, 0.999);
	r->max = (double)v[n - 1];
	r->mean = sum / (double)n;
	r->cps = h.end_ns > h.start_ns ? (double)n * 1e9 / (double)(h.end_ns - h.start_ns) : 0;
	snprintf(r->wake, sizeof(r->wake), "%s", wake_name(h.wake_mode));
	if (h.sup_cpu_ns)
		r->sup_cpu = (double)h.sup_cpu_ns / (double)(n + (uint64_t)h.threads * r->warmup);
	if (h.wake_mode == WAKE_SYNC)
		snprintf(wake_note, sizeof(wake_note),
			 "sync (SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP "
			 "accepted)");
	else if (h.wake_mode == WAKE_DEFAULT && h.wake_errno)
		snprintf(wake_note, sizeof(wake_note),
			 "default (SECCOMP_IOCTL_NOTIF_SET_FLAGS refused: %s)",
			 strerror(h.wake_errno));
	quantiles(v, n, r);
	free(v);
	if (h.errors) {
		warnx_("%s %s, %d threads: %" PRIu64 " calls not answered as expected "
		       "(first: returned %d, errno %s)",
		       r->config, r->label, r->threads, h.errors, h.bad_ret, strerror(h.bad_errno));
		P.failed = true;
	}
	return 0;
}

static long count_lines_with(const char *path, const char *needle);

/*
 * jsonl: count the run's decision records, then empty the file (the daemon appends with
 * O_APPEND, so it just goes on at the new end): a full run would leave ~0.5 GB behind.
 */
static void check_jsonl(struct result *r)
{
	char path[PATH_MAX];
	uint64_t want = r->calls + (uint64_t)r->threads * r->warmup;

	snprintf(path, sizeof(path), "%s/audit.jsonl", P.tmp);
	/*
	 * Only denials have a record each; repeated allows are folded into summaries
	 * written when their interval ends. The audit thread writes in batches of up
	 * to 50 ms: wait for the last denial records, up to 2 s.
	 */
	for (int waited = 0;; waited += 20) {
		r->audit_records = count_lines_with(path, "\"MSGGUARD_EVENT\":\"decision\"");
		if (r->config[0] != 'e' || waited >= 2000 ||
		    (r->audit_records >= 0 && (uint64_t)r->audit_records >= want))
			break;
		sleep_ms(20);
	}
	if (r->config[0] == 'e' && r->audit_records >= 0 && (uint64_t)r->audit_records != want)
		fprintf(stderr,
			"\n  note: %ld decision records in the jsonl audit for %" PRIu64 " calls",
			r->audit_records, want);
	if (truncate(path, 0) < 0)
		warnx_("%s: %m", path);
}

/* journald: ours, or the one running (found by comm), for its CPU time. */
static pid_t journald_pid(void)
{
	static pid_t found = -1;
	char path[64];
	FILE *f;

	if (P.journald_pid > 0)
		return P.journald_pid;
	if (found == -1) {
		found = 0;
		f = popen("pgrep -x systemd-journal", "r");
		if (f) {
			if (fgets(path, sizeof(path), f))
				found = (pid_t)strtol(path, NULL, 10);
			pclose(f);
		}
	}
	return found;
}

static bool queue_exists(void)
{
	struct msqid_ds ds;

	return msgctl(P.msqid, IPC_STAT, &ds) == 0;
}

/*
 * One configuration: run the worker (under the shim when guarded) and collect.
 * mode: plain filter filter-cmd ref ref-nosync ref-epoll guarded.
 */
static struct result *run(const char *config, const char *label, const char *audit,
			  const char *mode, const char *cmd, int threads, int services,
			  unsigned calls, unsigned warmup)
{
	char out[PATH_MAX], t[16], c[16], w[16], q[16];
	char *argv[24];
	bool guarded = strcmp(mode, "guarded") == 0;
	uint64_t d0, d1, j0, j1;
	struct result *r;
	int argc = 0, status;
	pid_t pid, jd;

	results = reallocarray(results, n_results + 1, sizeof(*results));
	if (!results)
		die("out of memory");
	r = &results[n_results];
	memset(r, 0, sizeof(*r));
	snprintf(r->config, sizeof(r->config), "%s", config);
	snprintf(r->label, sizeof(r->label), "%s", label);
	snprintf(r->audit, sizeof(r->audit), "%s", audit);
	r->threads = threads;
	r->services = services;
	r->warmup = warmup;
	r->audit_records = -1;

	snprintf(out, sizeof(out), "%s/raw-%zu", P.tmp, n_results);
	snprintf(t, sizeof(t), "%d", threads);
	snprintf(c, sizeof(c), "%u", calls);
	snprintf(w, sizeof(w), "%u", warmup);
	snprintf(q, sizeof(q), "%d", P.msqid);
	if (strcmp(mode, "guarded") == 0) {
		argv[argc++] = P.shim;
		argv[argc++] = "--socket";
		argv[argc++] = P.sock;
		argv[argc++] = "--";
	}
	argv[argc++] = P.self;
	argv[argc++] = "--worker";
	argv[argc++] = "--mode";
	argv[argc++] = (char *)mode;
	argv[argc++] = "--cmd";
	argv[argc++] = (char *)cmd;
	argv[argc++] = "--threads";
	argv[argc++] = t;
	argv[argc++] = "--calls";
	argv[argc++] = c;
	argv[argc++] = "--warmup";
	argv[argc++] = w;
	argv[argc++] = "--msqid";
	argv[argc++] = q;
	argv[argc++] = "--out";
	argv[argc++] = out;
	argv[argc] = NULL;

	fprintf(stderr, "  %-3s %-30s %2d thread%s %3d service%s ...", config, label, threads,
		threads == 1 ? " " : "s", services, services == 1 ? " " : "s");
	jd = journald_pid();
	d0 = cpu_ns(P.daemon_pid);
	j0 = cpu_ns(jd);
	pid = spawn(argv, NULL, NULL);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "\n");
		if (WIFSIGNALED(status))
			warnx_("worker killed by signal %d", WTERMSIG(status));
		else
			warnx_("worker exited with status %d", WEXITSTATUS(status));
		P.failed = true;
		return NULL;
	}
	d1 = cpu_ns(P.daemon_pid);
	j1 = cpu_ns(jd);
	if (collect(out, r) < 0) {
		P.failed = true;
		return NULL;
	}
	unlink(out);
	if (guarded && d1 > d0)
		r->sup_cpu = (double)(d1 - d0) / (double)(r->calls + (uint64_t)threads * warmup);
	if (guarded && strcmp(audit, "journal") == 0)
		audited_journal += r->calls + (uint64_t)threads * warmup;
	if (guarded && strcmp(audit, "jsonl") == 0)
		check_jsonl(r);
	if (guarded && strcmp(audit, "journal") == 0 && j1 > j0)
		r->jd_cpu = (double)(j1 - j0) / (double)(r->calls + (uint64_t)threads * warmup);
	fprintf(stderr, " p50 %.0f ns, %.0f calls/s\n", r->p50, r->cps);
	n_results++;
	if (strcmp(cmd, "rmid") == 0 && !queue_exists()) {
		warnx_("the protected queue is gone after %s: IPC_RMID was not denied", config);
		P.failed = true;
		return NULL;
	}
	return r;
}

/* ---------------------------------------------------------------------------------------- */
/* policies                                                                                 */

/* read_cmds: the commands of rule bench-read (never one the profile has in kernel_allow). */
static void write_policy(const char *path, const char *profile_extra, const char *read_cmds)
{
	FILE *f = fopen(path, "we");

	if (!f)
		die("%s: %m", path);
	fprintf(f,
		"# msgguard-bench policy: IPC_STAT allowed, the bench queue protected.\n"
		"[daemon]\n"
		"max_listeners = 1024\n"
		"max_listeners_per_uid = 1024\n"
		"\n"
		"[profile \"default\"]\n"
		"default = deny\n"
		"errno = EPERM\n"
		"mode = enforce\n"
		"%s"
		"\n"
		"[rule \"bench-read\"]\n"
		"profile = default\n"
		"cmd = %s\n"
		"action = allow\n"
		"\n"
		"[rule \"bench-protected-queue\"]\n"
		"profile = default\n"
		"cmd = IPC_RMID IPC_SET\n"
		"queue_key = 0x%08x\n"
		"action = deny\n"
		"errno = EPERM\n",
		profile_extra, read_cmds, (unsigned)P.key);
	if (fclose(f) != 0)
		die("%s: %m", path);
	chmod(path, 0644);
}

static int run_quiet(char *const argv[])
{
	int status;
	pid_t pid = spawn(argv, "/dev/null", "/dev/null");

	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

/*
 * ---- b', the kernel fast path ---------------------------------------------------------
 * A profile with `kernel_allow = IPC_STAT` (and IPC_STAT in no rule: the policy parser
 * refuses a command both in kernel_allow and decided by a rule). The worker runs under
 * msgguard-shim, which asks msgguardd for the mask, builds its filter for it
 * (shim/filter.c: IPC_STAT's values become single-word JEQs to ALLOW on each msgctl entry
 * point) and registers. Every timed call is then decided by that filter in the kernel;
 * afterwards no IPC_STAT decision record may be in the audit file (else the row is flagged:
 * not a fast path). Target: b' / b <= 1.05 at p50. `msgguardctl check` first, so an older
 * tree without kernel_allow says so instead of failing.
 */
static const char *fastpath_profile_line = "kernel_allow = IPC_STAT\n";
static const char *fastpath_read_cmds = "MSG_STAT MSG_STAT_ANY IPC_INFO MSG_INFO";

static bool fastpath_available(const char *policy)
{
	char *argv[] = {P.ctl, "check", (char *)policy, NULL};

	return access(P.ctl, X_OK) == 0 && run_quiet(argv) == 0;
}

static long count_lines_with(const char *path, const char *needle)
{
	char line[16384];
	long n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static char fastpath_note[256] = "";
static long fastpath_before;

/* Start msgguardd with the fast-path policy; false (and a note) when b' cannot run. */
static bool fastpath_start(void)
{
	char policy[PATH_MAX], audit[PATH_MAX];

	snprintf(policy, sizeof(policy), "%s/policy-fastpath.ini", P.tmp);
	write_policy(policy, fastpath_profile_line, fastpath_read_cmds);
	if (!fastpath_available(policy)) {
		snprintf(fastpath_note, sizeof(fastpath_note),
			 "b' skipped: msgguardctl check rejects a profile with `kernel_allow = "
			 "IPC_STAT` (a tree without the kernel fast path?)");
		fprintf(stderr, "  %s\n", fastpath_note);
		return false;
	}
	if (start_daemon(policy, "jsonl") < 0) {
		P.failed = true;
		return false;
	}
	snprintf(audit, sizeof(audit), "%s/audit.jsonl", P.tmp);
	fastpath_before = count_lines_with(audit, "\"MSGGUARD_CMD\":\"IPC_STAT\"");
	return true;
}

static void fastpath_run(int threads)
{
	run("b'", "msgguard kernel fast path", "-", "guarded", "stat", threads, 1, O.calls,
	    O.warmup);
}

/*
 * Ratios from paired rounds: b'/b differ by tens of ns, d/c by a few us, less
 * than what this machine's noise moves one run. So besides the single runs of
 * the table, both sides run PAIRED_ROUNDS more times, back to back in
 * alternating order, and the ratio reported is the median of the rounds'
 * ratios (with their range). The rounds are not rows of the table or the CSV.
 */
#define PAIRED_ROUNDS 9
enum { PAIR_FASTPATH, PAIR_D_JSONL, PAIR_D_JOURNAL, PAIR_E_RULES, PAIRS };
static struct {
	double ratio[MAX_LIST][PAIRED_ROUNDS];
	int n[MAX_LIST];
} paired[PAIRS];

struct side {
	const char *config, *label, *audit, *mode, *cmd;
	int services;
	unsigned calls, warmup;
};

static double p50_of(const struct side *x, int threads)
{
	struct result *r = run(x->config, x->label, x->audit, x->mode, x->cmd, threads, x->services,
			       x->calls, x->warmup);
	double p50 = r ? r->p50 : 0;

	if (r)
		n_results--; /* a round, not a row of the table */
	return p50;
}

/* PAIRED_ROUNDS of num and den at O.threads[i]: their p50 ratios into paired[which]. */
static void paired_rounds(int which, int i, const struct side *num, const struct side *den)
{
	fprintf(stderr, "  %s and %s in %d paired rounds, %d thread%s:\n", num->config, den->config,
		PAIRED_ROUNDS, O.threads[i], O.threads[i] == 1 ? "" : "s");
	for (int k = 0; k < PAIRED_ROUNDS; k++) {
		double a, b;

		if (k % 2) {
			a = p50_of(num, O.threads[i]);
			b = p50_of(den, O.threads[i]);
		} else {
			b = p50_of(den, O.threads[i]);
			a = p50_of(num, O.threads[i]);
		}
		if (a > 0 && b > 0)
			paired[which].ratio[i][paired[which].n[i]++] = a / b;
	}
}

static void fastpath_paired(int i)
{
	const struct side b = {
	    "b", "filter, in-kernel ALLOW", "-", "filter", "stat", 0, O.calls, O.warmup};
	const struct side fp = {
	    "b'", "msgguard kernel fast path", "-", "guarded", "stat", 1, O.calls, O.warmup};

	paired_rounds(PAIR_FASTPATH, i, &fp, &b);
}

/* With msgguardd running (1 service): d against c, as many calls on both sides. */
static void allow_paired(int which, int i, const char *sink, const char *dlabel)
{
	const struct side c = {
	    "c", "reference notify loop", "-", "ref", "stat", 0, O.slow_calls, O.slow_warmup};
	const struct side d = {"d",    dlabel, sink,	     "guarded",
			       "stat", 1,      O.slow_calls, O.slow_warmup};

	paired_rounds(which, i, &d, &c);
}

/*
 * e': denials under a profile with identify = rules, audit to jsonl: the
 * daemon reads only what the deny rule needs (the queue), not the caller, so
 * the record names the thread and the service. What a site gives up for it is
 * in README (Audit); this row says what it gains.
 */
static void run_identify_rules(void)
{
	const struct side c = {
	    "c", "reference notify loop", "-", "ref", "stat", 0, O.slow_calls, O.slow_warmup};
	const struct side e = {"e'",	     "msgguard deny, identify = rules",
			       "jsonl",	     "guarded",
			       "rmid",	     1,
			       O.slow_calls, O.slow_warmup};
	char policy[PATH_MAX];

	snprintf(policy, sizeof(policy), "%s/policy-identify.ini", P.tmp);
	write_policy(policy, "identify = rules\n",
		     "IPC_STAT MSG_STAT MSG_STAT_ANY IPC_INFO MSG_INFO");
	if (start_daemon(policy, "jsonl") < 0) {
		P.failed = true;
		return;
	}
	for (int i = 0; i < O.n_threads; i++)
		run(e.config, e.label, e.audit, e.mode, e.cmd, O.threads[i], 1, O.slow_calls,
		    O.slow_warmup);
	for (int i = 0; i < O.n_threads && want("c"); i++)
		paired_rounds(PAIR_E_RULES, i, &e, &c);
	if (stop_daemon() < 0)
		warnx_("msgguardd did not exit cleanly (log: %s)", P.daemon_log);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* "; median of N paired rounds M (LO-HI) PASS" into out, for paired[which] at O.threads[i]. */
static void paired_note(char *out, size_t size, int which, int i, double target)
{
	int n = paired[which].n[i];
	double *v = paired[which].ratio[i], med;

	out[0] = '\0';
	if (n == 0)
		return;
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	snprintf(out, size, "median of %d paired rounds %.2f (%.2f-%.2f) %s", n, med, v[0],
		 v[n - 1], med <= target ? "PASS" : "MISS");
}

/* No IPC_STAT decision may have reached msgguardd: it is decided in the shim's filter. */
static void fastpath_stop(void)
{
	char audit[PATH_MAX];
	long after;

	snprintf(audit, sizeof(audit), "%s/audit.jsonl", P.tmp);
	after = count_lines_with(audit, "\"MSGGUARD_CMD\":\"IPC_STAT\"");
	if (after > (fastpath_before > 0 ? fastpath_before : 0)) {
		snprintf(fastpath_note, sizeof(fastpath_note),
			 "b' NOT a fast path: %ld IPC_STAT decisions reached msgguardd",
			 after - (fastpath_before > 0 ? fastpath_before : 0));
		P.failed = true;
	}
	stop_daemon();
}

/* ---------------------------------------------------------------------------------------- */
/* syscalls per decision: strace -c on msgguardd during an extra, untimed run              */

struct sysc {
	char name[32];
	long calls;
};

static int strace_decisions(const char *cmd, const char *sink, unsigned calls, struct sysc *out,
			    int max, long *total)
{
	char file[PATH_MAX], pidbuf[16], line[256];
	char *argv[] = {"/usr/bin/strace", "-c", "-f", "-o", file, "-p", pidbuf, NULL};
	struct result *r;
	pid_t st;
	FILE *f;
	int n = 0, status;

	if (access(argv[0], X_OK) < 0)
		return -1;
	snprintf(file, sizeof(file), "%s/strace-%s-%s.txt", P.tmp, cmd, sink);
	snprintf(pidbuf, sizeof(pidbuf), "%d", P.daemon_pid);
	st = spawn(argv, "/dev/null", "/dev/null");
	for (int i = 0; proc_status_kb(P.daemon_pid, "TracerPid") <= 0; i++) {
		if (i > 500 || waitpid(st, NULL, WNOHANG) == st)
			return -1;
		sleep_ms(10);
	}
	sleep_ms(100);
	r = run("s", "strace run (not in the table)", sink, "guarded", cmd, 1, 1, calls, 0);
	if (r)
		n_results--; /* not a configuration of the table */
	kill(st, SIGINT);
	waitpid(st, &status, 0);
	if (!r)
		return -1;
	f = fopen(file, "re");
	if (!f)
		return -1;
	*total = 0;
	while (fgets(line, sizeof(line), f)) {
		char tok[8][64];
		int k = sscanf(line, "%63s %63s %63s %63s %63s %63s %63s", tok[0], tok[1], tok[2],
			       tok[3], tok[4], tok[5], tok[6]);

		if (k < 5 || !isdigit((unsigned char)tok[0][0]) || strcmp(tok[k - 1], "total") == 0)
			continue;
		if (n < max) {
			snprintf(out[n].name, sizeof(out[n].name), "%s", tok[k - 1]);
			out[n].calls = strtol(tok[3], NULL, 10);
			*total += out[n].calls;
			n++;
		}
	}
	fclose(f);
	return n;
}

static char syscall_report[4][1024];

static int cmp_sysc(const void *a, const void *b)
{
	const struct sysc *x = a, *y = b;

	return x->calls < y->calls ? 1 : x->calls > y->calls ? -1 : strcmp(x->name, y->name);
}

/* which: 0 d/jsonl, 1 e/jsonl, 2 d/journal, 3 e/journal */
static void count_syscalls(int which, const char *sink)
{
	const char *cmd = which % 2 ? "rmid" : "stat";
	char *rep = syscall_report[which];
	size_t size = sizeof(syscall_report[which]), used;
	struct sysc s[64];
	long total = 0;
	unsigned calls = 5000;
	int n = strace_decisions(cmd, sink, calls, s, 64, &total);

	if (n <= 0) {
		snprintf(rep, size, "%s, audit %s: not counted (no strace, or it could not attach)",
			 which % 2 ? "e deny" : "d allow", sink);
		return;
	}
	qsort(s, (size_t)n, sizeof(*s), cmp_sysc);
	used =
	    (size_t)snprintf(rep, size,
			     "%s, audit %s: %.2f syscalls per decision (strace -c -f on msgguardd, "
			     "%u decisions):",
			     which % 2 ? "e deny" : "d allow", sink, (double)total / calls, calls);
	for (int i = 0; i < n && used < size - 40; i++)
		if ((double)s[i].calls / calls >= 0.005)
			used += (size_t)snprintf(rep + used, size - used, " %s %.2f", s[i].name,
						 (double)s[i].calls / calls);
}

/* ---------------------------------------------------------------------------------------- */
/* d and e: msgguard, per audit sink, per number of services                               */

static long rss_kb[2][MAX_LIST], hwm_kb[2][MAX_LIST];
static char journal_note[256] = "";

static void run_msgguard(int sinkno, const char *sink)
{
	char dlabel[48], elabel[48];

	snprintf(dlabel, sizeof(dlabel), "msgguard allow, audit %s", sink);
	snprintf(elabel, sizeof(elabel), "msgguard deny, audit %s", sink);
	if (start_daemon(P.policy, sink) < 0) {
		P.failed = true;
		return;
	}
	for (int s = 0; s < O.n_services; s++) {
		int services = O.services[s];

		if (idle_services(services - 1) < 0) {
			P.failed = true;
			break;
		}
		for (int i = 0; i < O.n_threads; i++) {
			if (want("d"))
				run("d", dlabel, sink, "guarded", "stat", O.threads[i], services,
				    O.slow_calls, O.slow_warmup);
			if (want("e"))
				run("e", elabel, sink, "guarded", "rmid", O.threads[i], services,
				    O.slow_calls, O.slow_warmup);
		}
		for (int i = 0; i < O.n_threads && s == 0 && want("c") && want("d"); i++)
			allow_paired(PAIR_D_JSONL + sinkno, i, sink, dlabel);
		rss_kb[sinkno][s] = proc_status_kb(P.daemon_pid, "VmRSS");
		hwm_kb[sinkno][s] = proc_status_kb(P.daemon_pid, "VmHWM");
		if (s == 0 && O.syscalls) {
			if (want("d"))
				count_syscalls(2 * sinkno, sink);
			if (want("e"))
				count_syscalls(2 * sinkno + 1, sink);
		}
	}
	kill_idle();
	if (stop_daemon() < 0)
		warnx_("msgguardd did not exit cleanly (log: %s)", P.daemon_log);
}

/*
 * Decisions journald kept for this run's queue: decision records plus the
 * counts of summary records (repeated allows are folded). Fewer than the calls
 * audited means journald dropped some (rate limiting).
 */
static void journal_check(uint64_t decisions)
{
	char cmd[512], buf[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd),
		 "journalctl --sync >/dev/null 2>&1; journalctl --no-pager -q -o json "
		 "MSGGUARD_MSQID=%d 2>/dev/null | jq -s 'map(select(.MSGGUARD_EVENT == "
		 "\"decision\" or .MSGGUARD_EVENT == \"summary\") | (.MSGGUARD_COUNT // \"1\" | "
		 "tonumber)) | add // 0' 2>/dev/null",
		 P.msqid);
	p = popen(cmd, "r");
	if (!p)
		return;
	if (!fgets(buf, sizeof(buf), p))
		buf[0] = '\0';
	pclose(p);
	snprintf(journal_note, sizeof(journal_note),
		 "journald accounts for %ld of the %" PRIu64
		 " decisions audited to it (records + summary counts)%s",
		 strtol(buf, NULL, 10), decisions,
		 strtol(buf, NULL, 10) < (long)decisions
		     ? " (fewer: journald dropped records, rate limiting: msgguardd.service sets "
		       "LogRateLimitIntervalSec=0, this benchmark's daemon runs outside it)"
		     : "");
}

/* ---------------------------------------------------------------------------------------- */
/* output                                                                                   */

static const char *pass(bool ok)
{
	return ok ? "PASS" : "MISS";
}

/* p50 against b's at the same thread count (b'/b: the fast path's target); 0 without b. */
static double ratio_to_b(const struct result *r)
{
	const struct result *b = find("b", "-", r->threads, 0);

	return b && b->p50 > 0 ? r->p50 / b->p50 : 0;
}

static void print_table(void)
{
	printf("\n%-3s %-32s %7s %8s %10s %10s %10s %9s %9s %7s\n", "", "configuration", "threads",
	       "services", "p50 ns", "p99 ns", "calls/s", "sup CPU", "jrnl CPU", "p50/b");
	for (size_t i = 0; i < n_results; i++) {
		const struct result *r = &results[i];
		char svc[16] = "-";

		char sup[16] = "-", jd[16] = "-", rb[16] = "-";

		if (r->services)
			snprintf(svc, sizeof(svc), "%d", r->services);
		if (r->sup_cpu > 0)
			snprintf(sup, sizeof(sup), "%.0f", r->sup_cpu);
		if (r->jd_cpu > 0)
			snprintf(jd, sizeof(jd), "%.0f", r->jd_cpu);
		if (ratio_to_b(r) > 0)
			snprintf(rb, sizeof(rb), "%.2f", ratio_to_b(r));
		printf("%-3s %-32s %7d %8s %10.0f %10.0f %10.0f %9s %9s %7s\n", r->config, r->label,
		       r->threads, svc, r->p50, r->p99, r->cps, sup, jd, rb);
	}
	printf("sup CPU: ns of CPU per call used by the supervisor (c, c0, ce: the reference loop; "
	       "b', "
	       "d, e: msgguardd);\njrnl CPU: by systemd-journald (audit journal). From "
	       "/proc/PID/schedstat, warm-up calls included.\np50/b: p50 against b's at the same "
	       "thread count (b'/b: the fast path, target <= 1.05).\n");
}

/* e'/c: the e target for a profile with identify = rules. */
static void print_identify_rules(void)
{
	for (int i = 0; i < O.n_threads; i++) {
		struct result *x = find("e'", "jsonl", O.threads[i], 1);
		struct result *c = find("c", "-", O.threads[i], 0);
		char note[128];

		if (!x || !c)
			continue;
		paired_note(note, sizeof(note), PAIR_E_RULES, i, 1.3);
		printf("  e'/c at p50 (identify = rules), audit jsonl, %d thread%s: %.2f%s%s   "
		       "(target <= 1.30)\n",
		       O.threads[i], O.threads[i] == 1 ? "" : "s", x->p50 / c->p50,
		       note[0] ? "; " : "", note);
	}
}

static void print_ratios(void)
{
	const char *sinks[] = {"jsonl", "journal"};
	const char *de[] = {"d", "e"};
	int smax = O.services[O.n_services - 1], smin = O.services[0];
	int tmax = O.threads[O.n_threads - 1];

	printf("\nRatios (issue 5 targets, informational; c = reference loop, wake-up %s)\n",
	       wake_note);
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < 2; s++) {
			char line[512];
			size_t used = (size_t)snprintf(
			    line, sizeof(line), "  %s/c at p50, audit %-7s", de[k], sinks[s]);
			bool any = false;

			for (int i = 0; i < O.n_threads; i++) {
				struct result *x = find(de[k], sinks[s], O.threads[i], smin);
				struct result *c = find("c", "-", O.threads[i], 0);

				if (x && c && used < sizeof(line) - 32) {
					used += (size_t)snprintf(line + used, sizeof(line) - used,
								 "  %dt %.2f %s", O.threads[i],
								 x->p50 / c->p50,
								 pass(x->p50 / c->p50 <= 1.3));
					any = true;
				}
			}
			if (any)
				printf("%s   (target <= 1.30)\n", line);
			for (int i = 0; k == 0 && i < O.n_threads; i++) {
				char note[128];

				paired_note(note, sizeof(note), PAIR_D_JSONL + s, i, 1.3);
				if (note[0])
					printf("    d/c, audit %s, %d thread%s: %s   (target <= "
					       "1.30)\n",
					       sinks[s], O.threads[i], O.threads[i] == 1 ? "" : "s",
					       note);
			}
		}
	print_identify_rules();
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < 2; s++) {
			char line[512];
			size_t used =
			    (size_t)snprintf(line, sizeof(line), "  %s %d vs %d services p50, %-7s",
					     de[k], smax, smin, sinks[s]);
			bool any = false;

			for (int i = 0; i < O.n_threads && smax != smin; i++) {
				struct result *hi = find(de[k], sinks[s], O.threads[i], smax);
				struct result *lo = find(de[k], sinks[s], O.threads[i], smin);

				if (hi && lo && used < sizeof(line) - 32) {
					used += (size_t)snprintf(line + used, sizeof(line) - used,
								 "  %dt %.2f %s", O.threads[i],
								 hi->p50 / lo->p50,
								 pass(hi->p50 / lo->p50 <= 1.1));
					any = true;
				}
			}
			if (any)
				printf("%s   (target <= 1.10)\n", line);
		}
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < 2; s++) {
			struct result *x = find(de[k], sinks[s], tmax, smin);
			struct result *c = find("c", "-", tmax, 0);

			if (x && c)
				printf("  %s throughput at %d threads vs c, %-7s  %.0f / %.0f "
				       "calls/s = "
				       "%.2f %s   (target >= 0.80)\n",
				       de[k], tmax, sinks[s], x->cps, c->cps, x->cps / c->cps,
				       pass(x->cps / c->cps >= 0.8));
		}
	for (int s = 0; s < 2; s++)
		if (rss_kb[s][O.n_services - 1] > 0)
			printf(
			    "  msgguardd VmRSS with %d services, audit %-7s  %.2f MiB (VmHWM %.2f "
			    "MiB; %.2f MiB with %d) %s   (target <= 8 MiB)\n",
			    smax, sinks[s], rss_kb[s][O.n_services - 1] / 1024.0,
			    hwm_kb[s][O.n_services - 1] / 1024.0, rss_kb[s][0] / 1024.0, smin,
			    pass(rss_kb[s][O.n_services - 1] <= 8 * 1024));
	for (int i = 0; i < O.n_threads; i++) {
		struct result *fp = find("b'", "-", O.threads[i], 1);
		struct result *b = find("b", "-", O.threads[i], 0);

		struct result *b2 = find("b2", "-", O.threads[i], 0);
		char note[128];

		if (fp && b)
			printf("  b'/b at p50, %d threads  %.2f (the table's runs)", O.threads[i],
			       fp->p50 / b->p50);
		paired_note(note, sizeof(note), PAIR_FASTPATH, i, 1.05);
		if (note[0])
			printf("; %s   (target <= 1.05)", note);
		if (fp && b)
			printf("\n");
		if (fp && b2)
			printf(
			    "  b'/b2 at p50, %d threads  %.2f   (b2: the same decision in a filter "
			    "of its own, no msgguard)\n",
			    O.threads[i], fp->p50 / b2->p50);
	}
	if (fastpath_note[0])
		printf("  %s\n", fastpath_note);
	for (int i = 0; i < O.n_threads; i++) {
		struct result *c = find("c", "-", O.threads[i], 0);
		struct result *c0 = find("c0", "-", O.threads[i], 0);
		struct result *ce = find("ce", "-", O.threads[i], 0);
		struct result *b = find("b", "-", O.threads[i], 0);

		if (c && b)
			printf("  %d thread%s at p50: c/b %.1fx (a notification round trip vs "
			       "in-kernel)",
			       O.threads[i], O.threads[i] == 1 ? " " : "s", c->p50 / b->p50);
		if (c && c0)
			printf("; c0/c %.2fx (default vs sync wake-up)", c0->p50 / c->p50);
		if (c && ce)
			printf("; ce/c %.2fx (epoll_wait first)", ce->p50 / c->p50);
		if (c && b)
			printf("\n");
	}
	for (int k = 0; k < 4; k++)
		if (syscall_report[k][0])
			printf("  syscalls, %s\n", syscall_report[k]);
	if (syscall_report[0][0] || syscall_report[1][0])
		printf("  (the reference loop c makes 2 syscalls per call: RECV and SEND)\n");
	if (journal_note[0])
		printf("  %s\n", journal_note);
}

static void write_csv(void)
{
	FILE *f = fopen(O.csv, "we");

	if (!f) {
		warnx_("%s: %m", O.csv);
		P.failed = true;
		return;
	}
	fprintf(f, "config,label,audit,threads,services,calls,errors,min_ns,p50_ns,p90_ns,p99_ns,"
		   "p999_ns,max_ns,mean_ns,calls_per_s,wake,warmup,sup_cpu_ns_per_call,"
		   "journald_cpu_ns_per_call,jsonl_decision_records,p50_ratio_to_b\n");
	for (size_t i = 0; i < n_results; i++) {
		const struct result *r = &results[i];

		char rb[16] = "";

		if (ratio_to_b(r) > 0)
			snprintf(rb, sizeof(rb), "%.3f", ratio_to_b(r));
		fprintf(f,
			"%s,\"%s\",%s,%d,%d,%" PRIu64 ",%" PRIu64
			",%.0f,%.0f,%.0f,%.0f,%.0f,%.0f,%.1f,%.1f,%s,%u,%.0f,%.0f,%ld,%s\n",
			r->config, r->label, r->audit, r->threads, r->services, r->calls, r->errors,
			r->min, r->p50, r->p90, r->p99, r->p999, r->max, r->mean, r->cps, r->wake,
			r->warmup, r->sup_cpu, r->jd_cpu, r->audit_records, rb);
	}
	if (fclose(f) != 0) {
		warnx_("%s: %m", O.csv);
		P.failed = true;
	}
}

static const char *color_of(const struct result *r)
{
	if (strcmp(r->config, "a") == 0)
		return "#7f7f7f";
	if (strcmp(r->config, "b") == 0)
		return "#000000";
	if (strcmp(r->config, "b'") == 0)
		return "#8c564b";
	if (strcmp(r->config, "b2") == 0)
		return "#e377c2";
	if (strcmp(r->config, "c") == 0)
		return "#1f77b4";
	if (strcmp(r->config, "c0") == 0)
		return "#17becf";
	if (strcmp(r->config, "ce") == 0)
		return "#bcbd22";
	if (strcmp(r->config, "d") == 0)
		return strcmp(r->audit, "jsonl") == 0 ? "#2ca02c" : "#9467bd";
	if (strcmp(r->config, "e'") == 0)
		return "#8b0000";
	return strcmp(r->audit, "jsonl") == 0 ? "#d62728" : "#ff7f0e";
}

static void plot_title(FILE *g, const struct result *r, bool with_services)
{
	fprintf(g, "title \"%s %s", r->config, r->label);
	if (with_services)
		fprintf(g, ", %d svc", r->services);
	fprintf(g, "\" noenhanced");
}

/* A panel of CDFs: every result that sel() picks. */
static void plot_cdfs(FILE *g, const char *dat, const char *title,
		      bool (*sel)(const struct result *, int), int arg, bool with_services)
{
	bool first = true;
	int dash = 1;

	fprintf(g,
		"set title \"%s\"\nunset logscale\nset logscale x 10\n"
		"set xlabel \"latency per call (ns, log scale)\"\n"
		"set ylabel \"fraction of calls\"\nset yrange [0:1]\nset xrange [*:*]\n"
		"set key bottom right font \",9\"\nset format x \"10^{%%T}\"\n",
		title);
	for (size_t i = 0; i < n_results; i++) {
		const struct result *r = &results[i];

		if (!sel(r, arg))
			continue;
		for (int k = 0; with_services && k < O.n_services; k++)
			if (O.services[k] == r->services)
				dash = k + 1;
		fprintf(g, "%s'%s' index %zu using 1:2 with lines lw 2 dt %d lc rgb \"%s\" ",
			first ? "plot " : ", \\\n     ", dat, i, dash, color_of(r));
		plot_title(g, r, with_services);
		first = false;
	}
	if (first)
		fprintf(g, "plot 2 title \"(no data)\"");
	fprintf(g, "\n");
}

static bool sel_paths(const struct result *r, int threads)
{
	return r->threads == threads && r->services <= 1;
}

static bool sel_services(const struct result *r, int threads)
{
	return r->threads == threads && (r->config[0] == 'd' || r->config[0] == 'e') &&
	       strcmp(r->audit, "jsonl") == 0;
}

static void plot(void)
{
	char dat[PATH_MAX], gp[PATH_MAX], cmd[PATH_MAX * 2 + 32];
	const char *summary[][2] = {{"a", "-"},	    {"b", "-"},	     {"b2", "-"},
				    {"b'", "-"},    {"c", "-"},	     {"c0", "-"},
				    {"ce", "-"},    {"d", "jsonl"},  {"d", "journal"},
				    {"e", "jsonl"}, {"e", "journal"}};
	size_t nsum = sizeof(summary) / sizeof(summary[0]);
	int smin = O.services[0], tmax = O.threads[O.n_threads - 1];
	struct utsname u;
	bool first = true;
	size_t block = n_results; /* summary blocks follow the CDF blocks */
	FILE *f, *g;
	size_t len = strlen(O.png);

	if (len > 4 && strcmp(O.png + len - 4, ".png") == 0)
		len -= 4;
	snprintf(dat, sizeof(dat), "%.*s.dat", (int)len, O.png);
	snprintf(gp, sizeof(gp), "%.*s.gp", (int)len, O.png);
	f = fopen(dat, "we");
	g = fopen(gp, "we");
	if (!f || !g) {
		warnx_("cannot write %s / %s: %m", dat, gp);
		P.failed = true;
		if (f)
			fclose(f);
		if (g)
			fclose(g);
		return;
	}
	/* Blocks 0..n-1: the CDF of each result; then one summary block per path. */
	for (size_t i = 0; i < n_results; i++) {
		const struct result *r = &results[i];

		fprintf(f, "# %zu %s %s audit=%s threads=%d services=%d\n", i, r->config, r->label,
			r->audit, r->threads, r->services);
		for (int k = 0; k < r->nq; k++)
			fprintf(f, "%.0f %.6f\n", r->q_lat[k] > 0 ? r->q_lat[k] : 1, r->q_frac[k]);
		fprintf(f, "\n\n");
	}
	uname(&u);
	fprintf(g,
		"set terminal pngcairo size 1600,1200 font \"sans,10\"\nset output '%s'\n"
		"set multiplot layout 2,2 title \"msgguard-bench: msgctl latency, %s %s, %ld "
		"CPUs, reference wake-up: %s\" font \",12\"\nset grid\n",
		O.png, u.sysname, u.release, sysconf(_SC_NPROCESSORS_ONLN),
		strncmp(wake_note, "sync", 4) == 0	? "sync"
		: strncmp(wake_note, "default", 7) == 0 ? "default"
							: "not measured");
	plot_cdfs(g, dat, "CDF, 1 caller thread, 1 service", sel_paths, 1, false);
	{
		char t[64];

		snprintf(t, sizeof(t), "CDF, %d caller threads, 1 service", tmax);
		plot_cdfs(g, dat, t, sel_paths, tmax, false);
	}
	{
		char t[160];
		size_t used = (size_t)snprintf(
		    t, sizeof(t),
		    "CDF, msgguard (jsonl), 1 caller thread; services (solid, dashed, "
		    "dotted...):");

		for (int i = 0; i < O.n_services && used < sizeof(t) - 12; i++)
			used += (size_t)snprintf(t + used, sizeof(t) - used, "%s%d", i ? ", " : " ",
						 O.services[i]);
		plot_cdfs(g, dat, t, sel_services, 1, true);
	}
	/* Panel 4: p50 (solid) and p99 (dashed) against the number of caller threads. */
	fprintf(g,
		"set title \"p50 (solid) and p99 (dashed) vs caller threads, 1 service\"\n"
		"unset logscale\nset logscale xy\nset xlabel \"caller threads\"\n"
		"set ylabel \"latency per call (ns, log scale)\"\nset yrange [*:*]\nset grid\n"
		"set xrange [0.8:%d]\nset xtics (",
		tmax + tmax / 4 + 1);
	for (int i = 0; i < O.n_threads; i++)
		fprintf(g, "%s%d", i ? "," : "", O.threads[i]);
	fprintf(g, ")\nset format x \"%%g\"\nset format y \"10^{%%T}\"\n"
		   "set key top left horizontal maxcols 2 font \",8\"\n"
		   "set offsets 0, 0, graph 0.4, 0\n");
	for (size_t s = 0; s < nsum; s++) {
		bool any = false;

		for (int i = 0; i < O.n_threads; i++) {
			const struct result *r =
			    find(summary[s][0], summary[s][1], O.threads[i],
				 summary[s][0][0] == 'd' || summary[s][0][0] == 'e' ? smin
				 : strcmp(summary[s][0], "b'") == 0		    ? 1
										    : 0);

			if (!r)
				continue;
			if (!any) {
				fprintf(f, "# summary %s %s\n", summary[s][0], summary[s][1]);
				fprintf(g,
					"%s'%s' index %zu using 1:2 with linespoints lw 2 pt 7 lc "
					"rgb \"%s\" title \"%s %s\" noenhanced, '' index %zu using "
					"1:3 with "
					"linespoints lw 1 dt 2 pt 6 lc rgb \"%s\" notitle",
					first ? "plot " : ", \\\n     ", dat, block, color_of(r),
					r->config, r->label, block, color_of(r));
				first = false;
				any = true;
			}
			fprintf(f, "%d %.0f %.0f\n", r->threads, r->p50, r->p99);
		}
		if (any) {
			fprintf(f, "\n\n");
			block++;
		}
	}
	fprintf(g, "\nunset multiplot\n");
	fclose(f);
	fclose(g);
	snprintf(cmd, sizeof(cmd), "gnuplot '%s'", gp);
	if (system(cmd) != 0) {
		warnx_("gnuplot failed (apt-get install -y gnuplot-nox); data in %s", dat);
		P.failed = true;
	}
}

/* ---------------------------------------------------------------------------------------- */
/* main                                                                                     */

static void usage(FILE *f)
{
	fputs("Usage: msgguard-bench [OPTIONS]\n"
	      "Measure msgctl(IPC_STAT) without filter (a), with an in-kernel filter (b; b2\n"
	      "checking cmd), with msgguard's kernel fast path (b', kernel_allow), through a\n"
	      "minimal notify loop (c), through msgguard allowing (d) and denying (e).\n"
	      "  --builddir DIR      where msgguardd, msgguard-shim, msgguardctl are\n"
	      "                      (default: the parent of this program's folder)\n"
	      "  --calls N           timed calls per thread for a, b, b', c (default 20000)\n"
	      "  --slow-calls N      timed calls per thread for c0, d, e (default 10000)\n"
	      "  --warmup N          untimed calls per thread first (default 1000; slow: 200)\n"
	      "  --threads LIST      caller threads (default 1,2,4,8)\n"
	      "  --services LIST     registered services for d, e (default 1,10,100)\n"
	      "  --only LIST         only these configurations (a,b,b2,b',c,c0,ce,d,e)\n"
	      "  --csv PATH          CSV output (default results.csv beside this program)\n"
	      "  --png PATH          plot (default latency.png beside this program)\n"
	      "  --no-journal        skip the journald sink\n"
	      "  --no-plot           no PNG\n"
	      "  --no-syscalls       do not count msgguardd's syscalls per decision (strace)\n"
	      "  --quick             --calls 2000 --slow-calls 500 --warmup 100\n",
	      f);
}

static void print_load(const char *when)
{
	char buf[128] = "?";
	int fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		buf[n] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
	}
	printf("load average %s: %s\n", when, buf);
}

static void print_machine(int argc, char **argv)
{
	struct utsname u;
	char model[256] = "?", line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");
	time_t t = time(NULL);

	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');

			if (c) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = '\0';
			}
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	printf("msgguard-bench, %s", ctime(&t));
	printf("machine: %s %s %s, %ld CPUs (%s)\ncommand:", u.sysname, u.release, u.machine,
	       sysconf(_SC_NPROCESSORS_ONLN), model);
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\ncalls per thread: %u (a, b, b', c), %u (c0, d, e); warm-up %u / %u per thread\n",
	       O.calls, O.slow_calls, O.warmup, O.slow_warmup);
	print_load("at start");
	fflush(stdout);
}

static void setup_paths(const char *builddir)
{
	char *slash;
	ssize_t n = readlink("/proc/self/exe", P.self, sizeof(P.self) - 1);

	if (n <= 0)
		die("readlink /proc/self/exe: %m");
	P.self[n] = '\0';
	if (builddir) {
		if (!realpath(builddir, P.builddir))
			die("%s: %m", builddir);
	} else {
		snprintf(P.builddir, sizeof(P.builddir), "%s", P.self);
		for (int i = 0; i < 2 && (slash = strrchr(P.builddir, '/')); i++)
			*slash = '\0';
	}
	snprintf(P.msgguardd, sizeof(P.msgguardd), "%s/msgguardd", P.builddir);
	snprintf(P.shim, sizeof(P.shim), "%s/msgguard-shim", P.builddir);
	snprintf(P.ctl, sizeof(P.ctl), "%s/msgguardctl", P.builddir);
	if (access(P.msgguardd, X_OK) < 0 || access(P.shim, X_OK) < 0)
		die("no msgguardd / msgguard-shim in %s (build with make, or give --builddir)",
		    P.builddir);
}

static void make_queue(void)
{
	srandom((unsigned)(getpid() ^ now_ns()));
	for (int i = 0; i < 100; i++) {
		P.key = (key_t)(0x6d620000 | (random() & 0xffff));
		P.msqid = msgget(P.key, IPC_CREAT | IPC_EXCL | 0600);
		if (P.msqid >= 0)
			return;
		if (errno != EEXIST)
			die("msgget: %m");
	}
	die("no free queue key");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"worker", no_argument, NULL, 'W'},
	    {"mode", required_argument, NULL, 'm'},
	    {"cmd", required_argument, NULL, 'C'},
	    {"out", required_argument, NULL, 'o'},
	    {"msqid", required_argument, NULL, 'q'},
	    {"threads", required_argument, NULL, 't'},
	    {"calls", required_argument, NULL, 'n'},
	    {"warmup", required_argument, NULL, 'w'},
	    {"slow-calls", required_argument, NULL, 'N'},
	    {"services", required_argument, NULL, 's'},
	    {"builddir", required_argument, NULL, 'B'},
	    {"only", required_argument, NULL, 'O'},
	    {"csv", required_argument, NULL, 'c'},
	    {"png", required_argument, NULL, 'p'},
	    {"no-journal", no_argument, NULL, 'J'},
	    {"no-plot", no_argument, NULL, 'P'},
	    {"no-syscalls", no_argument, NULL, 'S'},
	    {"quick", no_argument, NULL, 'Q'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	struct worker_opts wo = {.msqid = -1, .threads = 1, .calls = 20000, .warmup = 1000};
	const char *builddir = NULL, *threads = "1,2,4,8", *services = "1,10,100";
	char csv[PATH_MAX + 32], png[PATH_MAX + 32], dir[PATH_MAX];
	bool worker = false, warmup_set = false, fastpath;
	int c, jd = -1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'W':
			worker = true;
			break;
		case 'm':
			wo.mode = optarg;
			break;
		case 'C':
			wo.cmd = optarg;
			break;
		case 'o':
			wo.out = optarg;
			break;
		case 'q':
			wo.msqid = (int)parse_uint(optarg, "--msqid");
			break;
		case 't':
			threads = optarg;
			break;
		case 'n':
			O.calls = wo.calls = parse_uint(optarg, "--calls");
			break;
		case 'w':
			O.warmup = O.slow_warmup = wo.warmup = parse_uint(optarg, "--warmup");
			warmup_set = true;
			break;
		case 'N':
			O.slow_calls = parse_uint(optarg, "--slow-calls");
			break;
		case 's':
			services = optarg;
			break;
		case 'B':
			builddir = optarg;
			break;
		case 'O':
			O.only_set = true;
			snprintf(O.only, sizeof(O.only), "%s", optarg);
			break;
		case 'c':
			O.csv = optarg;
			break;
		case 'p':
			O.png = optarg;
			break;
		case 'J':
			O.journal = false;
			break;
		case 'P':
			O.plot = false;
			break;
		case 'S':
			O.syscalls = false;
			break;
		case 'Q':
			O.calls = 2000;
			O.slow_calls = 500;
			if (!warmup_set)
				O.warmup = O.slow_warmup = 100;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (worker) {
		wo.threads = parse_uint(threads, "--threads");
		return worker_main(&wo);
	}
	if (!O.calls || !O.slow_calls)
		die("--calls and --slow-calls must be at least 1");
	O.n_threads = parse_list(threads, O.threads, MAX_LIST, 1, MAX_THREADS);
	O.n_services = parse_list(services, O.services, MAX_LIST, 1, MAX_IDLE);
	if (geteuid() != 0)
		die("needs root (msgguardd needs its capabilities; the journald sink needs /run)");

	setup_paths(builddir);
	snprintf(dir, sizeof(dir), "%s", P.self);
	*strrchr(dir, '/') = '\0';
	if (!O.csv) {
		snprintf(csv, sizeof(csv), "%s/results.csv", dir);
		O.csv = csv;
	}
	if (!O.png) {
		snprintf(png, sizeof(png), "%s/latency.png", dir);
		O.png = png;
	}
	snprintf(P.tmp, sizeof(P.tmp), "/tmp/msgguard-bench.XXXXXX");
	if (!mkdtemp(P.tmp))
		die("mkdtemp: %m");
	chmod(P.tmp, 0755);
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	snprintf(P.sock, sizeof(P.sock), "%s/msgguard.sock", P.tmp);
	snprintf(P.policy, sizeof(P.policy), "%s/policy.ini", P.tmp);
	make_queue();
	write_policy(P.policy, "", "IPC_STAT MSG_STAT MSG_STAT_ANY IPC_INFO MSG_INFO");
	print_machine(argc, argv);
	fprintf(stderr, "queue key 0x%08x msqid %d, work dir %s\n", (unsigned)P.key, P.msqid,
		P.tmp);

	for (int i = 0; i < O.n_threads && want("a"); i++)
		run("a", "no filter", "-", "plain", "stat", O.threads[i], 0, O.calls, O.warmup);
	/* b and b' alternate, so that a change of load on the machine hits both alike. */
	fastpath = want("b'") && fastpath_start();
	for (int i = 0; i < O.n_threads; i++) {
		if (want("b"))
			run("b", "filter, in-kernel ALLOW", "-", "filter", "stat", O.threads[i], 0,
			    O.calls, O.warmup);
		if (want("b2"))
			run("b2", "filter, ALLOW if cmd is IPC_STAT", "-", "filter-cmd", "stat",
			    O.threads[i], 0, O.calls, O.warmup);
		if (fastpath)
			fastpath_run(O.threads[i]);
	}
	for (int i = 0; i < O.n_threads && fastpath && want("b"); i++)
		fastpath_paired(i);
	if (fastpath)
		fastpath_stop();
	for (int i = 0; i < O.n_threads && want("c"); i++)
		run("c", "reference notify loop", "-", "ref", "stat", O.threads[i], 0, O.calls,
		    O.warmup);
	/* c0 only says something when c got the sync wake-up. */
	for (int i = 0; i < O.n_threads && want("c0") && strncmp(wake_note, "sync", 4) == 0; i++)
		run("c0", "reference loop, default wake-up", "-", "ref-nosync", "stat",
		    O.threads[i], 0, O.slow_calls, O.slow_warmup);
	for (int i = 0; i < O.n_threads && want("ce"); i++)
		run("ce", "reference loop via epoll_wait", "-", "ref-epoll", "stat", O.threads[i],
		    0, O.calls, O.warmup);

	if (want("e'"))
		run_identify_rules();
	if (want("d") || want("e")) {
		run_msgguard(0, "jsonl");
		if (O.journal) {
			jd = ensure_journald();
			if (jd < 0) {
				snprintf(journal_note, sizeof(journal_note),
					 "journald sink skipped: no journald and none could be "
					 "started");
			} else {
				run_msgguard(1, "journal");
				journal_check(audited_journal);
			}
			stop_journald(); /* only if we started it */
		}
	}

	print_table();
	print_ratios();
	print_load("at the end");
	write_csv();
	if (O.plot)
		plot();
	printf("\nCSV: %s\n", O.csv);
	if (O.plot)
		printf("plot: %s\n", O.png);
	cleanup();
	if (P.failed)
		fprintf(stderr, "%s: something failed to run (see above)\n", prog);
	return P.failed ? 1 : 0;
}
