/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fdstore-harness: a stand-in for systemd's service manager for ONE service, so
 * that tests can restart msgguardd through the fd store without systemd as PID 1.
 *
 * fdstore-harness --socket PATH --control PATH --status FILE --notify-log FILE
 *                 [--notify-socket PATH] [--hold FILE] [--restart-ms N] [--keep-hup]
 *                 [--start-timeout-ms N] [--stop-timeout-ms N] [--start-limit N]
 *                 [--fdstore-max N] [--watchdog-usec N] -- COMMAND [ARGS...]
 *
 * What it does, like systemd 252 with a socket unit and Restart=always:
 * - binds the registration socket (--socket) and the control socket (--control):
 *   SOCK_SEQPACKET, mode 0666, like msgguardd.socket / msgguardd-control.socket;
 * - binds a NOTIFY_SOCKET (AF_UNIX SOCK_DGRAM, SO_PASSCRED; default FILE.notify for
 *   --status FILE) and accepts messages from the daemon's pid only (NotifyAccess=main);
 * - runs COMMAND with LISTEN_FDS, LISTEN_FDNAMES ("register", "control", then every
 *   stored fd with its FDNAME) and LISTEN_PID (set in the child after fork); the fds
 *   are at 3.. (dup2, close-on-exec cleared); JOURNAL_STREAM and WATCHDOG_* are unset
 *   (--watchdog-usec N sets WATCHDOG_USEC/WATCHDOG_PID and sends SIGABRT to a daemon
 *   that stays silent longer than that once ready, like WatchdogSec=);
 * - the fd store: FDSTORE=1 (FDNAME=x, "stored" without) keeps the fds sent along
 *   (SCM_RIGHTS). Like systemd, an fd that kcmp(2) says is the same file as a stored
 *   one is not stored twice, and two different files with the same name are both
 *   kept (logged as a warning: msgguardd never does that). FDSTOREREMOVE=1 with
 *   FDNAME=x closes every fd named x. Like systemd, a stored fd that reports
 *   POLLHUP/POLLERR (a seccomp listener whose processes are all gone) is dropped
 *   from the store; --keep-hup keeps it (the new daemon then sees the hang-up).
 *   Invalid FDNAMEs, fds without FDSTORE=1, fds beyond --fdstore-max (default 4096)
 *   and fds of ignored senders are closed, with a log line;
 * - every line of an accepted notify message (READY=1, STATUS=..., RELOADING=1,
 *   STOPPING=1, WATCHDOG=1, FDSTORE=1, FDNAME=...) is logged to --notify-log as
 *   "<UTC time> pid=N LINE"; the harness's own events as "<UTC time> harness: ...";
 * - when the daemon exits for any reason and the harness is not stopping, it is
 *   started again after --restart-ms (default 100, RestartSec=) with the stored fds,
 *   at most --start-limit times (default 10) in 10 s (StartLimitBurst=), then the
 *   harness gives up (exit 1). While the --hold FILE exists no start happens (tests
 *   use it to change things while the daemon is down). A daemon that has not sent
 *   READY=1 after --start-timeout-ms (default 10000) is killed (SIGKILL) and restarted;
 * - after each start, readiness, exit and store change, FILE (--status) is replaced
 *   (write + rename) with lines: state=starting|running|ready|reloading|stopping|
 *   down|held|stopped, pid=N (0 when down), starts=N, restarts=N (starts - 1),
 *   stored=N (fds in the store), listeners=N (stored fds that are seccomp listeners,
 *   by readlink), names=a,b,... (the store, in order), last_exit=NONE|exited N|
 *   killed SIG, watchdog_timeouts=N;
 * - SIGHUP: "systemctl restart": SIGTERM to the daemon, wait, start it again at
 *   once (the store is kept). SIGTERM/SIGINT: SIGTERM to the daemon, wait (SIGKILL
 *   after --stop-timeout-ms, default 5000), close the store, exit: 0 when the daemon
 *   exited 0 (or was not running), 1 otherwise.
 *
 * Errors are one line on stderr starting with "fdstore-harness: "; exit 2 on usage
 * errors, 1 when setting up fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcmp.h>

#define ELEMENTSOF(x)		(sizeof(x) / sizeof((x)[0]))
#define NOTIFY_BUFFER_MAX	4096 /* systemd's limit for one notify message */
#define NOTIFY_FD_MAX		253  /* SCM_MAX_FD */
#define START_LIMIT_INTERVAL_MS 10000
#define ELEMENTS_START		1024 /* starts remembered for the start limit (and its maximum) */

struct stored {
	int fd;
	char *name;
};

struct options {
	const char *socket, *control, *status, *notify_log, *notify_socket, *hold;
	unsigned restart_ms, start_timeout_ms, stop_timeout_ms, start_limit, fdstore_max;
	unsigned long long watchdog_usec;
	bool keep_hup;
	char **argv;
};

enum phase { DOWN, RUNNING, STOPPING };

static struct {
	struct options o;
	int register_fd, control_fd, notify_fd, signal_fd;
	FILE *log;
	struct stored *store;
	size_t n_store;
	pid_t pid; /* the daemon, 0 when down */
	enum phase phase;
	bool ready, reloading, stopping_notified;
	bool final_stop;  /* SIGTERM/SIGINT: stop, do not restart */
	bool restart_now; /* SIGHUP: start again without --restart-ms */
	uint64_t started_ms, stop_deadline_ms, restart_at_ms, last_watchdog_ms;
	unsigned starts, watchdog_timeouts;
	uint64_t start_times[ELEMENTS_START];
	char last_exit[64];
	int exit_code; /* of the harness: 1 when the daemon's final stop was not clean */
	bool held_logged;
} h = {
    .register_fd = -1,
    .control_fd = -1,
    .notify_fd = -1,
    .signal_fd = -1,
    .last_exit = "NONE",
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void timestamp(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

/* One line in the notify log (flushed at once: tests read it while we run). */
__attribute__((format(printf, 1, 2))) static void logline(const char *fmt, ...)
{
	char ts[48];
	va_list ap;

	if (!h.log)
		return;
	timestamp(ts, sizeof(ts));
	fprintf(h.log, "%s ", ts);
	va_start(ap, fmt);
	vfprintf(h.log, fmt, ap);
	va_end(ap);
	fputc('\n', h.log);
	fflush(h.log);
}

__attribute__((format(printf, 1, 2))) static void harness_event(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	logline("harness: %s", line);
}

__attribute__((format(printf, 1, 2))) static void error_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fdstore-harness: %s\n", line);
	logline("harness: error: %s", line);
}

static bool is_listener(int fd)
{
	char path[64], target[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:seccomp notify") == 0;
}

static const char *state_name(void)
{
	if (h.phase == RUNNING)
		return h.reloading	     ? "reloading"
		       : h.stopping_notified ? "stopping"
		       : h.ready	     ? "ready"
					     : "running";
	if (h.phase == STOPPING)
		return "stopping";
	if (h.final_stop)
		return "stopped";
	if (h.o.hold && access(h.o.hold, F_OK) == 0)
		return "held";
	return h.starts ? "down" : "starting";
}

/* Replace the status file (write a temporary file, then rename). */
static void write_status(void)
{
	char tmp[PATH_MAX];
	size_t listeners = 0;
	FILE *f;

	for (size_t i = 0; i < h.n_store; i++)
		listeners += is_listener(h.store[i].fd);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", h.o.status) >= (int)sizeof(tmp))
		return;
	f = fopen(tmp, "we");
	if (!f) {
		error_line("cannot write %s: %m", tmp);
		return;
	}
	fprintf(f, "state=%s\npid=%d\nstarts=%u\nrestarts=%u\nstored=%zu\nlisteners=%zu\nnames=",
		state_name(), (int)h.pid, h.starts, h.starts ? h.starts - 1 : 0, h.n_store,
		listeners);
	for (size_t i = 0; i < h.n_store; i++)
		fprintf(f, "%s%s", i ? "," : "", h.store[i].name);
	fprintf(f, "\nlast_exit=%s\nwatchdog_timeouts=%u\n", h.last_exit, h.watchdog_timeouts);
	if (fclose(f) != 0 || rename(tmp, h.o.status) < 0)
		error_line("cannot write %s: %m", h.o.status);
}

/* ---- sockets ------------------------------------------------------------------------ */

static int unix_address(const char *path, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	if (path[0] != '/' || strlen(path) >= sizeof(sa->sun_path)) {
		error_line("socket path must be absolute and shorter than %zu bytes: %s",
			   sizeof(sa->sun_path), path);
		return -1;
	}
	strcpy(sa->sun_path, path);
	return 0;
}

/* Remove what a previous run left at path, but only a socket. */
static int remove_stale(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		error_line("%s exists and is not a socket", path);
		return -1;
	}
	return unlink(path);
}

static int bind_seqpacket(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_address(path, &sa) < 0 || remove_stale(path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(path, 0666) < 0 ||
	    listen(fd, 128) < 0) {
		error_line("cannot listen on %s: %m", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int bind_notify(const char *path)
{
	struct sockaddr_un sa;
	int fd, one = 1, size = 1 << 20;

	if (unix_address(path, &sa) < 0 || remove_stale(path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		error_line("cannot bind the notify socket %s: %m", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* Like systemd's notify socket: room for a burst (FDSTORE per registration). */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	return fd;
}

/* ---- the fd store --------------------------------------------------------------------- */

/* systemd's fdname_is_valid(): 1..255 printable ASCII characters, no ':'. */
static bool fdname_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 255)
		return false;
	for (const char *p = name; *p; p++)
		if (*p < ' ' || *p > '~' || *p == ':')
			return false;
	return true;
}

static bool same_file(int a, int b)
{
	pid_t self = getpid();

	return syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

static void store_add(int fd, const char *name)
{
	struct stored *n;

	for (size_t i = 0; i < h.n_store; i++) {
		if (same_file(h.store[i].fd, fd)) {
			harness_event(
			    "FDSTORE: fd named %s is already stored as %s, not stored twice", name,
			    h.store[i].name);
			close(fd);
			return;
		}
	}
	if (h.n_store >= h.o.fdstore_max) {
		harness_event("FDSTORE: store full (%u fds), closing %s", h.o.fdstore_max, name);
		close(fd);
		return;
	}
	for (size_t i = 0; i < h.n_store; i++)
		if (strcmp(h.store[i].name, name) == 0)
			harness_event(
			    "warning: FDSTORE: a second, different fd named %s (both kept, "
			    "like systemd)",
			    name);
	n = reallocarray(h.store, h.n_store + 1, sizeof(*n));
	if (!n || !(name = strdup(name))) {
		error_line("out of memory, closing a stored fd");
		if (n)
			h.store = n;
		close(fd);
		return;
	}
	h.store = n;
	h.store[h.n_store++] = (struct stored){fd, (char *)name};
	harness_event("stored %s (%s)", name, is_listener(fd) ? "seccomp listener" : "fd");
}

/* Names recently dropped on POLLHUP: the daemon's FDSTOREREMOVE for them is expected. */
static char *hung_up[16];
static unsigned hung_up_next;

static bool was_hung_up(const char *name)
{
	for (size_t i = 0; i < ELEMENTSOF(hung_up); i++)
		if (hung_up[i] && strcmp(hung_up[i], name) == 0)
			return true;
	return false;
}

static void store_drop(size_t i, const char *why)
{
	harness_event("dropped %s from the store: %s", h.store[i].name, why);
	close(h.store[i].fd);
	free(h.store[i].name);
	memmove(&h.store[i], &h.store[i + 1], (h.n_store - i - 1) * sizeof(*h.store));
	h.n_store--;
}

static void store_remove(const char *name)
{
	size_t removed = 0;

	for (size_t i = 0; i < h.n_store;) {
		if (strcmp(h.store[i].name, name) == 0) {
			store_drop(i, "FDSTOREREMOVE=1");
			removed++;
		} else {
			i++;
		}
	}
	if (!removed && was_hung_up(name))
		harness_event("FDSTOREREMOVE: %s already dropped (it hung up)", name);
	else if (!removed)
		harness_event("FDSTOREREMOVE: no fd named %s", name);
}

static void store_clear(void)
{
	while (h.n_store)
		store_drop(h.n_store - 1, "the service is stopped");
}

/* ---- notify messages ------------------------------------------------------------------ */

static void close_fds(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static void handle_message(pid_t sender, char *msg, int *fds, size_t n_fds)
{
	const char *fdname = NULL;
	bool fdstore = false, fdstoreremove = false;
	char *save = NULL;

	for (char *line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		logline("pid=%d %s", (int)sender, line);
		if (strcmp(line, "READY=1") == 0) {
			h.ready = true;
			h.reloading = false;
			h.last_watchdog_ms = now_ms();
		} else if (strcmp(line, "RELOADING=1") == 0) {
			h.reloading = true;
		} else if (strcmp(line, "STOPPING=1") == 0) {
			h.stopping_notified = true;
		} else if (strcmp(line, "WATCHDOG=1") == 0) {
			h.last_watchdog_ms = now_ms();
		} else if (strcmp(line, "FDSTORE=1") == 0) {
			fdstore = true;
		} else if (strcmp(line, "FDSTOREREMOVE=1") == 0) {
			fdstoreremove = true;
		} else if (strncmp(line, "FDNAME=", 7) == 0) {
			fdname = line + 7;
		}
	}
	if (fdname && !fdname_valid(fdname)) {
		harness_event("invalid FDNAME '%s', ignoring the message's fd store request",
			      fdname);
		close_fds(fds, n_fds);
		return;
	}
	if (fdstoreremove) {
		if (fdname)
			store_remove(fdname);
		else
			harness_event("FDSTOREREMOVE=1 without FDNAME=, ignored");
	}
	if (n_fds && !fdstore) {
		harness_event("%zu fd(s) without FDSTORE=1, closing them", n_fds);
		close_fds(fds, n_fds);
		return;
	}
	if (fdstore && !n_fds)
		harness_event("FDSTORE=1 without fds");
	for (size_t i = 0; i < n_fds; i++)
		store_add(fds[i], fdname ? fdname : "stored");
}

/* One datagram; false when none is waiting. accept_pid: whose messages count. */
static bool receive_one(pid_t accept_pid)
{
	char buf[NOTIFY_BUFFER_MAX + 1];
	union {
		struct cmsghdr align;
		char
		    buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * NOTIFY_FD_MAX)];
	} control;
	struct iovec iov = {buf, sizeof(buf) - 1};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = &control,
			    .msg_controllen = sizeof(control)};
	int fds[NOTIFY_FD_MAX];
	size_t n_fds = 0;
	pid_t sender = 0;
	ssize_t n;

	n = recvmsg(h.notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			error_line("notify socket: %m");
		return false;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k && n_fds < NOTIFY_FD_MAX; i++)
				memcpy(&fds[n_fds++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
		} else if (c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			sender = uc.pid;
		}
	}
	if ((size_t)n >= sizeof(buf) || (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
		harness_event("notify message from pid %d truncated, ignored", (int)sender);
		close_fds(fds, n_fds);
		return true;
	}
	if (sender <= 0 || sender != accept_pid) {
		harness_event("notify message from pid %d ignored (only the daemon, pid %d, may "
			      "send: NotifyAccess=main)",
			      (int)sender, (int)accept_pid);
		close_fds(fds, n_fds);
		return true;
	}
	buf[n] = '\0';
	if (memchr(buf, '\0', (size_t)n)) {
		harness_event("notify message from pid %d contains a NUL byte, ignored",
			      (int)sender);
		close_fds(fds, n_fds);
		return true;
	}
	handle_message(sender, buf, fds, n_fds);
	return true;
}

static void drain_notify(pid_t accept_pid)
{
	bool changed = false;

	while (receive_one(accept_pid))
		changed = true;
	if (changed)
		write_status();
}

/* ---- the daemon ------------------------------------------------------------------------ */

static char *fdnames(void)
{
	size_t len = strlen("register:control") + 1;
	char *s;

	for (size_t i = 0; i < h.n_store; i++)
		len += strlen(h.store[i].name) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, "register:control");
	for (size_t i = 0; i < h.n_store; i++) {
		strcat(s, ":");
		strcat(s, h.store[i].name);
	}
	return s;
}

/* In the child: fds at 3.., the environment, exec. Never returns. */
static void child_exec(const char *names)
{
	size_t n = 2 + h.n_store;
	int *src = malloc(n * sizeof(int));
	char buf[32];
	sigset_t all;

	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
	if (!src)
		_exit(127);
	src[0] = h.register_fd;
	src[1] = h.control_fd;
	for (size_t i = 0; i < h.n_store; i++)
		src[2 + i] = h.store[i].fd;
	/* Copies above the target range first, so that no dup2() clobbers a source. */
	for (size_t i = 0; i < n; i++) {
		src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, (int)(3 + n));
		if (src[i] < 0) {
			fprintf(stderr, "fdstore-harness: child: dup: %m\n");
			_exit(127);
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (dup2(src[i], (int)(3 + i)) < 0) { /* dup2 clears FD_CLOEXEC */
			fprintf(stderr, "fdstore-harness: child: dup2: %m\n");
			_exit(127);
		}
	}
	snprintf(buf, sizeof(buf), "%zu", n);
	setenv("LISTEN_FDS", buf, 1);
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDNAMES", names, 1);
	setenv("NOTIFY_SOCKET", h.o.notify_socket, 1);
	unsetenv("JOURNAL_STREAM");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (h.o.watchdog_usec) {
		snprintf(buf, sizeof(buf), "%llu", h.o.watchdog_usec);
		setenv("WATCHDOG_USEC", buf, 1);
		snprintf(buf, sizeof(buf), "%d", (int)getpid());
		setenv("WATCHDOG_PID", buf, 1);
	}
	execvp(h.o.argv[0], h.o.argv);
	fprintf(stderr, "fdstore-harness: cannot run %s: %m\n", h.o.argv[0]);
	_exit(127);
}

/* StartLimitBurst= within StartLimitIntervalSec=10s. */
static bool start_limit_hit(uint64_t now)
{
	unsigned recent = 0;
	size_t n = h.starts < ELEMENTS_START ? h.starts : ELEMENTS_START;

	for (size_t i = 0; i < n; i++)
		recent += now - h.start_times[i] < START_LIMIT_INTERVAL_MS;
	return recent >= h.o.start_limit;
}

static int start_daemon(void)
{
	uint64_t now = now_ms();
	char *names;
	pid_t pid;

	if (start_limit_hit(now)) {
		error_line("start limit hit: %u starts within %d ms, giving up", h.o.start_limit,
			   START_LIMIT_INTERVAL_MS);
		return -1;
	}
	names = fdnames();
	if (!names) {
		error_line("out of memory");
		return -1;
	}
	/* Buffered log lines must not be written twice (by the child too). */
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		error_line("fork: %m");
		free(names);
		return -1;
	}
	if (pid == 0)
		child_exec(names);
	h.pid = pid;
	h.phase = RUNNING;
	h.ready = h.reloading = h.stopping_notified = false;
	h.started_ms = now;
	h.start_times[h.starts % ELEMENTS_START] = now;
	h.starts++;
	h.restart_now = false;
	h.held_logged = false;
	harness_event("started pid %d (start %u) with %zu fds: %s", (int)pid, h.starts,
		      2 + h.n_store, names);
	free(names);
	write_status();
	return 0;
}

static void describe_exit(int status)
{
	if (WIFEXITED(status))
		snprintf(h.last_exit, sizeof(h.last_exit), "exited %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(h.last_exit, sizeof(h.last_exit), "killed %s",
			 sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		snprintf(h.last_exit, sizeof(h.last_exit), "status 0x%x", status);
}

static void reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != h.pid)
			continue;
		/* What it sent before dying counts (systemd reads notify before SIGCHLD). */
		drain_notify(pid);
		describe_exit(status);
		if (h.final_stop)
			h.exit_code = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
		harness_event("pid %d %s", (int)pid, h.last_exit);
		h.pid = 0;
		h.phase = DOWN;
		h.ready = false;
		h.restart_at_ms = now_ms() + (h.restart_now ? 0 : h.o.restart_ms);
		write_status();
	}
}

static void stop_daemon(const char *why)
{
	if (h.phase != RUNNING)
		return;
	harness_event("stopping pid %d (%s): SIGTERM", (int)h.pid, why);
	kill(h.pid, SIGTERM);
	h.phase = STOPPING;
	h.stop_deadline_ms = now_ms() + h.o.stop_timeout_ms;
	write_status();
}

static void handle_signals(void)
{
	struct signalfd_siginfo si;

	while (read(h.signal_fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGHUP:
			harness_event("SIGHUP: restarting the daemon");
			h.restart_now = true;
			if (h.phase == RUNNING)
				stop_daemon("restart");
			else if (h.phase == DOWN)
				h.restart_at_ms = now_ms();
			break;
		default:
			harness_event("%s: stopping", sigabbrev_np((int)si.ssi_signo) ?: "signal");
			h.final_stop = true;
			stop_daemon("harness stopping");
			break;
		}
	}
}

/* ---- main loop -------------------------------------------------------------------------- */

static int timeout_until(uint64_t when, uint64_t now)
{
	return when <= now ? 0 : when - now > INT_MAX ? INT_MAX : (int)(when - now);
}

static int min_timeout(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* Deadlines: restart, hold polling, stop timeout, start timeout, watchdog. */
static int next_timeout(uint64_t now)
{
	int t = -1;

	if (h.phase == DOWN)
		t = h.o.hold && access(h.o.hold, F_OK) == 0 ? 50
							    : timeout_until(h.restart_at_ms, now);
	if (h.phase == STOPPING)
		t = min_timeout(t, timeout_until(h.stop_deadline_ms, now));
	if (h.phase == RUNNING && !h.ready)
		t = min_timeout(t, timeout_until(h.started_ms + h.o.start_timeout_ms, now));
	if (h.phase == RUNNING && h.ready && h.o.watchdog_usec)
		t = min_timeout(t,
				timeout_until(h.last_watchdog_ms + h.o.watchdog_usec / 1000, now));
	return t;
}

static void check_deadlines(uint64_t now)
{
	if (h.phase == STOPPING && now >= h.stop_deadline_ms) {
		harness_event("pid %d did not stop in %u ms: SIGKILL", (int)h.pid,
			      h.o.stop_timeout_ms);
		kill(h.pid, SIGKILL);
		h.stop_deadline_ms = UINT64_MAX;
	}
	if (h.phase == RUNNING && !h.ready && now >= h.started_ms + h.o.start_timeout_ms) {
		harness_event("pid %d sent no READY=1 in %u ms: SIGKILL", (int)h.pid,
			      h.o.start_timeout_ms);
		kill(h.pid, SIGKILL);
		h.phase = STOPPING;
		h.stop_deadline_ms = UINT64_MAX;
	}
	if (h.phase == RUNNING && h.ready && h.o.watchdog_usec &&
	    now >= h.last_watchdog_ms + h.o.watchdog_usec / 1000) {
		harness_event("pid %d: watchdog timeout: SIGABRT", (int)h.pid);
		h.watchdog_timeouts++;
		kill(h.pid, SIGABRT);
		h.phase = STOPPING;
		h.stop_deadline_ms = now + h.o.stop_timeout_ms;
		write_status();
	}
}

/* Stored fds are polled for POLLHUP/POLLERR only (events 0), like systemd's fd store. */
static void check_hangups(const struct pollfd *p, size_t n)
{
	bool changed = false;

	/* Backwards: dropping entry i moves the later ones down. */
	for (size_t i = n; i-- > 0;) {
		if (!(p[i].revents & (POLLHUP | POLLERR | POLLNVAL)))
			continue;
		free(hung_up[hung_up_next % ELEMENTSOF(hung_up)]);
		hung_up[hung_up_next++ % ELEMENTSOF(hung_up)] = strdup(h.store[i].name);
		store_drop(i, p[i].revents & POLLHUP ? "POLLHUP" : "POLLERR");
		changed = true;
	}
	if (changed)
		write_status();
}

static int run(void)
{
	struct pollfd *p = NULL;

	for (;;) {
		uint64_t now = now_ms();
		struct pollfd *np;
		size_t watched;
		int r;

		if (h.phase == DOWN) {
			if (h.final_stop)
				break;
			if (h.o.hold && access(h.o.hold, F_OK) == 0) {
				if (!h.held_logged)
					harness_event("%s exists: not starting the daemon",
						      h.o.hold);
				if (!h.held_logged)
					write_status();
				h.held_logged = true;
			} else if (now >= h.restart_at_ms && start_daemon() < 0) {
				free(p);
				return -1;
			}
		}
		watched = h.o.keep_hup ? 0 : h.n_store;
		np = reallocarray(p, 2 + watched, sizeof(*p));
		if (!np) {
			free(p);
			error_line("out of memory");
			return -1;
		}
		p = np;
		p[0] = (struct pollfd){.fd = h.signal_fd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = h.notify_fd, .events = POLLIN};
		for (size_t i = 0; i < watched; i++)
			p[2 + i] = (struct pollfd){.fd = h.store[i].fd, .events = 0};
		r = poll(p, 2 + watched, next_timeout(now_ms()));
		if (r < 0 && errno != EINTR) {
			error_line("poll: %m");
			free(p);
			return -1;
		}
		/* First: p[2..] index the store as it was when poll() started. */
		if (r > 0 && watched)
			check_hangups(p + 2, watched);
		/* Notify messages before SIGCHLD, like systemd's event priorities. */
		if (r > 0 && (p[1].revents & POLLIN))
			drain_notify(h.pid);
		if (r > 0 && (p[0].revents & POLLIN))
			handle_signals();
		check_deadlines(now_ms());
	}
	free(p);
	return 0;
}

/* ---- setup ---------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fputs(
	    "Usage: fdstore-harness --socket PATH --control PATH --status FILE --notify-log FILE\n"
	    "         [--notify-socket PATH] [--hold FILE] [--restart-ms N] [--keep-hup]\n"
	    "         [--start-timeout-ms N] [--stop-timeout-ms N] [--start-limit N]\n"
	    "         [--fdstore-max N] [--watchdog-usec N] -- COMMAND [ARGS...]\n",
	    f);
}

static int number(const char *s, unsigned long long max, unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || *ret > max) {
		fprintf(stderr, "fdstore-harness: invalid number '%s'\n", s);
		return -1;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"control", required_argument, NULL, 'c'},
	    {"status", required_argument, NULL, 'S'},
	    {"notify-log", required_argument, NULL, 'l'},
	    {"notify-socket", required_argument, NULL, 'n'},
	    {"hold", required_argument, NULL, 'H'},
	    {"restart-ms", required_argument, NULL, 'r'},
	    {"start-timeout-ms", required_argument, NULL, 't'},
	    {"stop-timeout-ms", required_argument, NULL, 'T'},
	    {"start-limit", required_argument, NULL, 'L'},
	    {"fdstore-max", required_argument, NULL, 'm'},
	    {"watchdog-usec", required_argument, NULL, 'w'},
	    {"keep-hup", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	unsigned long long v;
	int c;

	*o = (struct options){.restart_ms = 100,
			      .start_timeout_ms = 10000,
			      .stop_timeout_ms = 5000,
			      .start_limit = 10,
			      .fdstore_max = 4096};
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'c':
			o->control = optarg;
			break;
		case 'S':
			o->status = optarg;
			break;
		case 'l':
			o->notify_log = optarg;
			break;
		case 'n':
			o->notify_socket = optarg;
			break;
		case 'H':
			o->hold = optarg;
			break;
		case 'k':
			o->keep_hup = true;
			break;
		case 'w':
			if (number(optarg, UINT64_MAX / 2, &o->watchdog_usec) < 0)
				return -1;
			break;
		case 'r':
		case 't':
		case 'T':
		case 'L':
		case 'm':
			if (number(optarg, c == 'L' ? ELEMENTS_START : 3600000, &v) < 0)
				return -1;
			*(c == 'r'   ? &o->restart_ms
			  : c == 't' ? &o->start_timeout_ms
			  : c == 'T' ? &o->stop_timeout_ms
			  : c == 'L' ? &o->start_limit
				     : &o->fdstore_max) = (unsigned)v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->socket || !o->control || !o->status || !o->notify_log || optind >= argc) {
		fprintf(stderr, "fdstore-harness: --socket, --control, --status, --notify-log and "
				"a COMMAND after -- are required\n");
		usage(stderr);
		return -1;
	}
	if (o->start_limit == 0) {
		fprintf(stderr, "fdstore-harness: --start-limit must be at least 1\n");
		return -1;
	}
	o->argv = argv + optind;
	return 0;
}

static int setup(void)
{
	static char notify_default[PATH_MAX];
	sigset_t mask;

	h.log = fopen(h.o.notify_log, "ae");
	if (!h.log) {
		fprintf(stderr, "fdstore-harness: cannot open %s: %m\n", h.o.notify_log);
		return -1;
	}
	if (!h.o.notify_socket) {
		if (snprintf(notify_default, sizeof(notify_default), "%s.notify", h.o.status) >=
		    (int)sizeof(notify_default)) {
			error_line("--status path too long");
			return -1;
		}
		h.o.notify_socket = notify_default;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 ||
	    (h.signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		error_line("signals: %m");
		return -1;
	}
	h.register_fd = bind_seqpacket(h.o.socket);
	if (h.register_fd < 0)
		return -1;
	h.control_fd = bind_seqpacket(h.o.control);
	if (h.control_fd < 0)
		return -1;
	h.notify_fd = bind_notify(h.o.notify_socket);
	if (h.notify_fd < 0)
		return -1;
	harness_event("pid %d: register %s, control %s, notify %s, command %s", (int)getpid(),
		      h.o.socket, h.o.control, h.o.notify_socket, h.o.argv[0]);
	write_status();
	return 0;
}

static void teardown(void)
{
	store_clear();
	if (h.register_fd >= 0)
		unlink(h.o.socket);
	if (h.control_fd >= 0)
		unlink(h.o.control);
	if (h.notify_fd >= 0)
		unlink(h.o.notify_socket);
}

int main(int argc, char **argv)
{
	int r;

	if (parse_options(argc, argv, &h.o) < 0)
		return 2;
	r = setup();
	if (r >= 0)
		r = run();
	if (r < 0 && h.pid > 0) {
		/* Giving up with a daemon still running: it goes too. */
		kill(h.pid, SIGKILL);
		waitpid(h.pid, NULL, 0);
		h.pid = 0;
	}
	h.phase = DOWN;
	h.final_stop = true;
	teardown();
	if (h.o.status && h.register_fd >= 0)
		write_status();
	harness_event("exiting (%s)", r < 0 ? "failure" : h.last_exit);
	return r < 0 ? 1 : h.exit_code;
}
