/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bad-peer: a client that abuses msgguardd's registration socket, for the tests.
 *
 * bad-peer [--socket PATH] [--profile NAME] [--hold SECONDS] [--timeout SECONDS]
 *          [--fd-kind pipe|eventfd|file|socket] [--size N] [--no-query] [--show-answer]
 *          [--between SECONDS] [--wait-for PATH] [--mask HEX] [--reg-profile NAME] MODE
 *
 * The protocol has two steps (common/protocol.h): a query (--profile NAME, no fd), whose
 * answer names the profile and its kernel_allow, then the registration. Every MODE but
 * --garbage and --silent first makes a valid query; what MODE says is the registration,
 * which names the answered profile and mask unless --reg-profile / --mask say otherwise.
 * --no-query sends the registration first (as a peer of protocol version 1 would);
 * --show-answer prints the answer as a line "answer: status=..." first; --between
 * sleeps that long between the answer and the registration (after printing it), --wait-for
 * waits (up to --timeout) until PATH exists.
 *
 * MODE is one of
 *   --silent SECONDS  connect, print "connected", send nothing for SECONDS, then report
 *   --garbage         sizeof(request) random bytes (wrong magic), no fd (--size N: N bytes)
 *   --short           the first half of a valid request, with a real listener fd
 *   --long            a valid request plus one byte, with a real listener fd
 *   --no-fd           a valid request without SCM_RIGHTS
 *   --wrong-fd        a valid request carrying a pipe fd (--fd-kind for others)
 *   --two-fds         a valid request carrying a real listener fd and a pipe fd
 *   --many-fds N      a valid request carrying a real listener fd and N-1 pipe fds (N <= 64)
 *   --listener        a valid request carrying one real seccomp listener fd
 *   --query-with-fd   the query carries a real listener fd (then nothing more)
 *   --query-twice     a second query instead of the registration
 *   --flood N         N valid registrations with real listeners, all kept open until the end
 *
 * Each exchange prints one line on stdout (--flood prefixes "I: "):
 *   status=N errno=NAME profile=P kernel_allow=0xM message=M   the daemon's last reply
 *                                                 (errno=0 for status 0)
 *   closed                                     the daemon closed the connection
 *   no reply                                   nothing within --timeout (default 5 s)
 *   bad reply (N bytes): REASON                a reply that does not decode
 * The socket comes from --socket, else $MSGGUARD_SOCKET, else /run/msgguard/msgguard.sock.
 * A listener belongs to a forked child whose filter notifies getppid() only; the child
 * lives until bad-peer exits (after --hold SECONDS).
 *
 * Exit: 0 every exchange happened (a reply, or the daemon closed the connection; for
 * --silent: connected), 1 otherwise (cannot connect, no reply, bad reply, local error),
 * 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eu
#endif

static const char *opt_socket;
static const char *opt_profile = "";
static const char *opt_fd_kind = "pipe";
static double opt_hold;
static int opt_timeout = 5;
static long opt_size = -1;
static int opt_no_query, opt_show_answer;
static double opt_between;
static const char *opt_wait_for;
static long long opt_mask = -1;	    /* -1: the answered kernel_allow */
static const char *opt_reg_profile; /* NULL: the answered profile */
#define MANY_FDS_MAX 64
static size_t opt_many_fds;

/* Children that own a listener; killed at exit. */
static pid_t *children;
static size_t n_children;

static void kill_children(void)
{
	for (size_t i = 0; i < n_children; i++)
		if (children[i] > 0)
			kill(children[i], SIGKILL);
	for (size_t i = 0; i < n_children; i++)
		if (children[i] > 0)
			waitpid(children[i], NULL, 0);
	n_children = 0;
}

static void sleep_seconds(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int send_fd(int sock, int fd)
{
	char c = 'L';
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;

	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char c;
	struct iovec iov = {.iov_base = &c, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	int fd = -1;

	mh.msg_control = u.buf;
	mh.msg_controllen = sizeof(u.buf);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int)))
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * Fork a child that installs a filter notifying getppid() (which it never calls) with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER and passes the listener back. The child then blocks
 * until bad-peer exits. Returns the listener fd or -1.
 */
static int make_listener(void)
{
	int sv[2];
	pid_t pid;
	int fd;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("bad-peer: socketpair");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		perror("bad-peer: fork");
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		struct sock_filter insns[] = {
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3),
		    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_getppid, 0, 1),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
		char c;
		int lfd;

		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
			perror("bad-peer: PR_SET_NO_NEW_PRIVS");
			_exit(1);
		}
		lfd = (int)syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
				   SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
		if (lfd < 0) {
			perror("bad-peer: seccomp(NEW_LISTENER)");
			_exit(1);
		}
		if (send_fd(sv[1], lfd) < 0) {
			perror("bad-peer: send listener to parent");
			_exit(1);
		}
		close(lfd);
		/* Wait for the parent to go away (or SIGKILL). */
		while (read(sv[1], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(sv[1]);
	children = realloc(children, (n_children + 1) * sizeof(*children));
	if (!children) {
		perror("bad-peer: realloc");
		exit(1);
	}
	children[n_children++] = pid;
	fd = recv_fd(sv[0]);
	/* Keep sv[0] open (leaked on purpose): the child lives while it is open. */
	if (fd < 0)
		fprintf(stderr, "bad-peer: no listener from child %d\n", (int)pid);
	return fd;
}

static int make_wrong_fd(void)
{
	int p[2];

	if (strcmp(opt_fd_kind, "pipe") == 0) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -1;
		return p[0]; /* the write end stays open too */
	}
	if (strcmp(opt_fd_kind, "eventfd") == 0)
		return eventfd(0, EFD_CLOEXEC);
	if (strcmp(opt_fd_kind, "file") == 0)
		return open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (strcmp(opt_fd_kind, "socket") == 0)
		return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	fprintf(stderr, "bad-peer: unknown --fd-kind %s\n", opt_fd_kind);
	exit(2);
	return -1;
}

static int connect_daemon(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *path = opt_socket;
	int s;

	if (!path)
		path = getenv("MSGGUARD_SOCKET");
	if (!path || !*path)
		path = "/run/msgguard/msgguard.sock";
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "bad-peer: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0) {
		perror("bad-peer: socket");
		return -1;
	}
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "bad-peer: connect %s: %s\n", path, strerror(errno));
		close(s);
		return -1;
	}
	return s;
}

static struct mg_reg_request valid_request(uint16_t type, const char *profile)
{
	struct mg_reg_request r;

	memset(&r, 0, sizeof(r));
	r.magic = MG_PROTO_MAGIC;
	r.version = MG_PROTO_VERSION;
	r.type = type;
	strncpy(r.profile, profile, sizeof(r.profile) - 1); /* not validated: on purpose */
	return r;
}

/* Send len bytes with fds (n_fds may be 0). Returns 0, or 1 when the daemon already
 * closed the connection, -1 on other errors. */
static int send_msg(int s, const void *data, size_t len, const int *fds, size_t n_fds)
{
	struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	char cbuf[CMSG_SPACE(MANY_FDS_MAX * sizeof(int))];
	ssize_t n;

	memset(cbuf, 0, sizeof(cbuf));
	if (n_fds > 0) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(n_fds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(n_fds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, n_fds * sizeof(int));
	}
	n = sendmsg(s, &mh, MSG_NOSIGNAL);
	if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
		return 1;
	if (n < 0) {
		fprintf(stderr, "bad-peer: sendmsg: %s\n", strerror(errno));
		return -1;
	}
	if ((size_t)n != len) {
		fprintf(stderr, "bad-peer: sendmsg: short write %zd of %zu\n", n, len);
		return -1;
	}
	return 0;
}

/*
 * Wait up to timeout_ms for the daemon's answer. 0 and *ret filled: a reply that decodes;
 * else, after printing what happened instead: 1 the daemon closed the connection, 2 no
 * reply or a bad one.
 */
static int read_reply(int s, int timeout_ms, const char *prefix, struct mg_reg_reply *ret)
{
	struct pollfd pfd = {.fd = s, .events = POLLIN};
	unsigned char buf[sizeof(struct mg_reg_reply) + 64];
	ssize_t n;
	int rc;

	rc = poll(&pfd, 1, timeout_ms);
	if (rc < 0) {
		perror("bad-peer: poll");
		return 1;
	}
	if (rc == 0) {
		printf("%sno reply\n", prefix);
		return 2;
	}
	n = recv(s, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE))) {
		printf("%sclosed\n", prefix);
		return 1;
	}
	if (n < 0) {
		printf("%sno reply\n", prefix);
		fprintf(stderr, "bad-peer: recv: %s\n", strerror(errno));
		return 2;
	}
	if ((size_t)n > sizeof(buf)) {
		printf("%sbad reply (%zd bytes): too long\n", prefix, n);
		return 2;
	}
	rc = mg_reg_reply_decode(buf, (size_t)n, ret);
	if (rc < 0) {
		printf("%sbad reply (%zd bytes): %s\n", prefix, n, strerror(-rc));
		return 2;
	}
	return 0;
}

static void print_reply(const char *prefix, const struct mg_reg_reply *r)
{
	printf("%sstatus=%d errno=%s profile=%s kernel_allow=0x%x message=%s\n", prefix,
	       (int)r->status, r->status == 0 ? "0" : (strerrorname_np(-r->status) ?: "?"),
	       r->profile, r->kernel_allow, r->message);
}

/* Wait up to timeout_ms for the daemon's answer and print it. 0 reply/closed, 1 else. */
static int report(int s, int timeout_ms, const char *prefix)
{
	struct mg_reg_reply r;
	int rc = read_reply(s, timeout_ms, prefix, &r);

	if (rc != 0)
		return rc == 1 ? 0 : 1;
	print_reply(prefix, &r);
	return 0;
}

/* The fds a mode sends (made before connecting: a listener comes from a forked child). */
static int mode_fds(const char *mode, int *fds, size_t *n_fds)
{
	*n_fds = 0;
	if (strcmp(mode, "short") == 0 || strcmp(mode, "long") == 0 ||
	    strcmp(mode, "listener") == 0 || strcmp(mode, "query-with-fd") == 0) {
		fds[(*n_fds)++] = make_listener();
	} else if (strcmp(mode, "wrong-fd") == 0) {
		fds[(*n_fds)++] = make_wrong_fd();
	} else if (strcmp(mode, "many-fds") == 0) {
		fds[(*n_fds)++] = make_listener();
		while (*n_fds < opt_many_fds)
			fds[(*n_fds)++] = make_wrong_fd();
	} else if (strcmp(mode, "two-fds") == 0) {
		fds[(*n_fds)++] = make_listener();
		fds[(*n_fds)++] = make_wrong_fd();
	} else if (strcmp(mode, "garbage") != 0 && strcmp(mode, "no-fd") != 0 &&
		   strcmp(mode, "query-twice") != 0) {
		fprintf(stderr, "bad-peer: unknown mode %s\n", mode);
		exit(2);
	}
	for (size_t i = 0; i < *n_fds; i++)
		if (fds[i] < 0) {
			fprintf(stderr, "bad-peer: could not make the fd to send\n");
			return -1;
		}
	return 0;
}

/*
 * The query step: a valid query (with the mode's fds for query-with-fd). 0 and *answer
 * filled when the registration should follow; else 1 after printing the outcome (a
 * refusal or a closed connection: the exchange happened), 2 on failure.
 */
static int query(int s, const char *mode, const int *fds, size_t n_fds, const char *prefix,
		 struct mg_reg_reply *answer)
{
	struct mg_reg_request q = valid_request(MG_REG_QUERY, opt_profile);
	bool with_fd = strcmp(mode, "query-with-fd") == 0;
	int rc = send_msg(s, &q, sizeof(q), fds, with_fd ? n_fds : 0);

	if (rc < 0)
		return 2;
	if (rc == 1) {
		printf("%sclosed\n", prefix);
		return 1;
	}
	rc = read_reply(s, opt_timeout * 1000, prefix, answer);
	if (rc != 0)
		return rc;
	if (answer->status < 0 || with_fd) {
		print_reply(prefix, answer);
		return 1;
	}
	if (opt_show_answer || opt_between > 0 || opt_wait_for) {
		char p[64];

		snprintf(p, sizeof(p), "%sanswer: ", prefix);
		print_reply(p, answer);
		fflush(stdout);
	}
	sleep_seconds(opt_between);
	for (int i = 0; opt_wait_for && access(opt_wait_for, F_OK) < 0 && i < opt_timeout * 100;
	     i++)
		sleep_seconds(0.01);
	return 0;
}

/* One connection: query, then send what the mode asks and report. Returns 0 or 1. */
static int exchange(const char *mode, const char *prefix)
{
	struct mg_reg_request req = valid_request(MG_REG_REGISTER, opt_profile);
	struct mg_reg_reply answer;
	int fds[MANY_FDS_MAX];
	size_t n_fds = 0;
	const void *data = &req;
	size_t len = sizeof(req);
	unsigned char extra[sizeof(req) + 1];
	unsigned char *garbage = NULL;
	bool garbage_mode = strcmp(mode, "garbage") == 0;
	const char *name;
	int s, r, status = 1;

	if (mode_fds(mode, fds, &n_fds) < 0)
		return 1;
	s = connect_daemon();
	if (s < 0)
		return 1;
	if (!garbage_mode && !opt_no_query) {
		r = query(s, mode, fds, n_fds, prefix, &answer);
		if (r != 0) {
			status = r == 1 ? 0 : 1;
			goto done;
		}
		name = opt_reg_profile ?: answer.profile;
		memset(req.profile, 0, sizeof(req.profile));
		memcpy(req.profile, name, strnlen(name, sizeof(req.profile) - 1));
		req.kernel_allow = opt_mask >= 0 ? (uint32_t)opt_mask : answer.kernel_allow;
	}

	if (garbage_mode) {
		size_t glen = opt_size >= 0 ? (size_t)opt_size : sizeof(req);

		garbage = calloc(1, glen + 1);
		if (!garbage || getrandom(garbage, glen, 0) != (ssize_t)glen) {
			perror("bad-peer: getrandom");
			goto done;
		}
		if (glen >= 4 && memcmp(garbage, &(uint32_t){MG_PROTO_MAGIC}, 4) == 0)
			garbage[0] ^= 0xff;
		data = garbage;
		len = glen;
	} else if (strcmp(mode, "short") == 0) {
		len = sizeof(req) / 2;
	} else if (strcmp(mode, "long") == 0) {
		memcpy(extra, &req, sizeof(req));
		extra[sizeof(req)] = 0;
		data = extra;
		len = sizeof(extra);
	} else if (strcmp(mode, "query-twice") == 0) {
		req = valid_request(MG_REG_QUERY, opt_profile);
	}
	r = send_msg(s, data, len, fds, n_fds);
	if (r == 1) {
		printf("%sclosed\n", prefix);
		status = 0;
	} else if (r == 0) {
		status = report(s, opt_timeout * 1000, prefix);
	}
done:
	fflush(stdout);
	free(garbage);
	for (size_t i = 0; i < n_fds; i++)
		close(fds[i]);
	close(s);
	return status;
}

static int do_silent(double seconds)
{
	struct pollfd pfd;
	int s, rc;

	s = connect_daemon();
	if (s < 0)
		return 1;
	printf("connected\n");
	fflush(stdout);
	sleep_seconds(seconds);
	pfd.fd = s;
	pfd.events = POLLIN;
	rc = poll(&pfd, 1, 0);
	if (rc == 0)
		printf("no reply\n");
	else
		report(s, 0, "");
	close(s);
	return 0;
}

static void usage(void)
{
	fprintf(
	    stderr,
	    "usage: bad-peer [--socket PATH] [--profile NAME] [--hold SECONDS] "
	    "[--timeout SECONDS]\n"
	    "                [--fd-kind pipe|eventfd|file|socket] [--size N] [--no-query]\n"
	    "                [--show-answer] [--between SECONDS] [--wait-for PATH] [--mask HEX]\n"
	    "                [--reg-profile NAME]\n"
	    "                --silent SECONDS | --garbage | --short | --long | --no-fd |\n"
	    "                --wrong-fd | --two-fds | --many-fds N | --listener |\n"
	    "                --query-with-fd | --query-twice | --flood N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	enum {
		O_SOCKET = 256,
		O_PROFILE,
		O_HOLD,
		O_TIMEOUT,
		O_FDKIND,
		O_SIZE,
		O_SILENT,
		O_FLOOD,
		O_SIMPLE,
		O_NO_QUERY,
		O_SHOW_ANSWER,
		O_BETWEEN,
		O_WAIT_FOR,
		O_MASK,
		O_REG_PROFILE,
	};
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, O_SOCKET},
	    {"profile", required_argument, NULL, O_PROFILE},
	    {"hold", required_argument, NULL, O_HOLD},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"fd-kind", required_argument, NULL, O_FDKIND},
	    {"size", required_argument, NULL, O_SIZE},
	    {"silent", required_argument, NULL, O_SILENT},
	    {"flood", required_argument, NULL, O_FLOOD},
	    {"garbage", no_argument, NULL, O_SIMPLE},
	    {"short", no_argument, NULL, O_SIMPLE},
	    {"long", no_argument, NULL, O_SIMPLE},
	    {"no-fd", no_argument, NULL, O_SIMPLE},
	    {"wrong-fd", no_argument, NULL, O_SIMPLE},
	    {"two-fds", no_argument, NULL, O_SIMPLE},
	    {"many-fds", required_argument, NULL, O_SIMPLE},
	    {"listener", no_argument, NULL, O_SIMPLE},
	    {"query-with-fd", no_argument, NULL, O_SIMPLE},
	    {"query-twice", no_argument, NULL, O_SIMPLE},
	    {"no-query", no_argument, NULL, O_NO_QUERY},
	    {"show-answer", no_argument, NULL, O_SHOW_ANSWER},
	    {"between", required_argument, NULL, O_BETWEEN},
	    {"wait-for", required_argument, NULL, O_WAIT_FOR},
	    {"mask", required_argument, NULL, O_MASK},
	    {"reg-profile", required_argument, NULL, O_REG_PROFILE},
	    {NULL, 0, NULL, 0},
	};
	const char *mode = NULL;
	const char *mode_arg = NULL;
	int c, idx, rc = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		switch (c) {
		case O_SOCKET:
			opt_socket = optarg;
			break;
		case O_PROFILE:
			opt_profile = optarg;
			break;
		case O_HOLD:
			opt_hold = strtod(optarg, NULL);
			break;
		case O_TIMEOUT:
			opt_timeout = atoi(optarg);
			break;
		case O_FDKIND:
			opt_fd_kind = optarg;
			break;
		case O_SIZE:
			opt_size = atol(optarg);
			break;
		case O_NO_QUERY:
			opt_no_query = 1;
			break;
		case O_SHOW_ANSWER:
			opt_show_answer = 1;
			break;
		case O_BETWEEN:
			opt_between = strtod(optarg, NULL);
			break;
		case O_WAIT_FOR:
			opt_wait_for = optarg;
			break;
		case O_MASK:
			opt_mask = strtoll(optarg, NULL, 16);
			break;
		case O_REG_PROFILE:
			opt_reg_profile = optarg;
			break;
		case O_SILENT:
		case O_FLOOD:
		case O_SIMPLE:
			if (mode)
				usage();
			mode = opts[idx].name;
			mode_arg = optarg;
			break;
		default:
			usage();
		}
	}
	if (!mode || optind != argc)
		usage();
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(mode, "silent") == 0) {
		rc = do_silent(strtod(mode_arg, NULL));
	} else if (strcmp(mode, "flood") == 0) {
		long n = atol(mode_arg);
		char prefix[32];

		if (n <= 0)
			usage();
		for (long i = 1; i <= n; i++) {
			snprintf(prefix, sizeof(prefix), "%ld: ", i);
			if (exchange("listener", prefix) != 0)
				rc = 1;
		}
	} else {
		if (strcmp(mode, "many-fds") == 0) {
			long n = atol(mode_arg);

			if (n < 1 || n > MANY_FDS_MAX)
				usage();
			opt_many_fds = (size_t)n;
		}
		rc = exchange(mode, "");
	}
	fflush(stdout);
	sleep_seconds(opt_hold);
	kill_children();
	return rc;
}
