/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msgguard-shim: put PROGRAM under msgguardd's msgctl policy, then become it.
 *
 * Runs in the target's own context (same uid, same unit), so it trusts
 * nothing but the kernel and the daemon's replies, and it dies on any error:
 * it asks the daemon for its profile's kernel_allow, loads the filter built
 * for it, hands the listener over, and execs PROGRAM only after the daemon has
 * accepted the listener for that profile and mask (common/protocol.h). Exit
 * codes follow env(1): 125 our own failure, 126 PROGRAM cannot be run, 127
 * PROGRAM not found.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "filter.h"
#include "msgctl.h"
#include "protocol.h"
#include "util.h"

_Static_assert(MG_KERNEL_ALLOW_BITS == MG_CMD_MAX, "kernel_allow masks are msgctl command masks");

#define DEFAULT_SOCKET	  "/run/msgguard/msgguard.sock"
#define EXIT_SHIM_FAILED  125
#define EXIT_CANNOT_RUN	  126
#define EXIT_NOT_FOUND	  127
#define REPLY_TIMEOUT_SEC 10

struct options {
	const char *socket;
	const char *profile;
	char **argv; /* PROGRAM [ARGS...] */
};

static void __attribute__((noreturn, format(printf, 2, 3))) die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("msgguard-shim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

static void usage(FILE *f)
{
	fputs("Usage: msgguard-shim [--socket PATH] [--profile NAME] [--] PROGRAM [ARGS...]\n"
	      "Run PROGRAM with every msgctl(2) decided by msgguardd.\n"
	      "  --socket PATH   msgguardd socket (default $MSGGUARD_SOCKET or " DEFAULT_SOCKET
	      ")\n"
	      "  --profile NAME  policy profile (default: chosen by the daemon)\n",
	      f);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"profile", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {},
	};
	int c;

	o->socket = getenv("MSGGUARD_SOCKET");
	if (!o->socket || !*o->socket)
		o->socket = DEFAULT_SOCKET;
	/* "+": stop at the first non-option, PROGRAM's own options are not ours. */
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'p':
			o->profile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_SHIM_FAILED);
		}
	}
	if (optind >= argc)
		die(EXIT_SHIM_FAILED, "no PROGRAM given (see --help)");
	if (o->profile && !mg_profile_name_valid(o->profile))
		die(EXIT_SHIM_FAILED, "invalid profile name '%s'", o->profile);
	o->argv = argv + optind;
}

static int daemon_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = REPLY_TIMEOUT_SEC};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		die(EXIT_SHIM_FAILED, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die(EXIT_SHIM_FAILED, "socket: %m");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die(EXIT_SHIM_FAILED, "cannot reach msgguardd at %s: %m; refusing to run unguarded",
		    path);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		die(EXIT_SHIM_FAILED, "setsockopt: %m");
	return TAKE_FD(fd);
}

/* Send one request, with the listener when there is one. */
static void send_request(int sock, const struct mg_reg_request *req, int listener)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = {0};
	struct iovec iov = {.iov_base = (void *)req, .iov_len = sizeof(*req)};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	};

	if (listener >= 0) {
		struct cmsghdr *cm;

		mh.msg_control = control.buf;
		mh.msg_controllen = sizeof(control.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &listener, sizeof(int));
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(*req))
		die(EXIT_SHIM_FAILED, "sending to msgguardd: %m");
}

/*
 * Wait for the daemon's answer of the given type. Trusts only what decodes
 * (protocol.c); a refusal, or anything unexpected, is fatal.
 */
static void receive_reply(int sock, uint16_t type, struct mg_reg_reply *ret)
{
	struct mg_reg_reply reply;
	char buf[sizeof(reply) + 1];
	ssize_t n;
	int r;

	n = recv(sock, buf, sizeof(buf), MSG_CMSG_CLOEXEC);
	if (n < 0)
		die(EXIT_SHIM_FAILED, "waiting for msgguardd: %m");
	if (n == 0)
		die(EXIT_SHIM_FAILED, "msgguardd closed the connection without an answer");
	r = mg_reg_reply_decode(buf, (size_t)n, &reply);
	if (r == -EPROTO)
		die(EXIT_SHIM_FAILED,
		    "unexpected answer from msgguardd (protocol version %d expected: is msgguardd "
		    "the same version as this shim?)",
		    MG_PROTO_VERSION);
	if (r < 0)
		die(EXIT_SHIM_FAILED, "malformed answer from msgguardd");
	if (reply.status < 0)
		die(EXIT_SHIM_FAILED, "msgguardd refused the registration: %s (%s)",
		    reply.message[0] ? reply.message : "no reason given", strerror(-reply.status));
	if (reply.type != type)
		die(EXIT_SHIM_FAILED, "msgguardd answered out of turn");
	*ret = reply;
}

/* Step 1: which profile, and which commands does its filter allow in the kernel? */
static void query_profile(int sock, const char *profile, struct mg_reg_reply *ret)
{
	struct mg_reg_request req = {
	    .magic = MG_PROTO_MAGIC,
	    .version = MG_PROTO_VERSION,
	    .type = MG_REG_QUERY,
	};

	if (profile)
		strcpy(req.profile, profile); /* length checked by mg_profile_name_valid */
	send_request(sock, &req, -1);
	receive_reply(sock, MG_REPLY_PROFILE, ret);
}

/*
 * Step 2: hand over the listener, naming the profile we were answered and the
 * mask our filter compiled; the daemon checks both against the policy it
 * enforces now, and its acceptance must repeat them.
 */
static void register_listener(int sock, int listener, const struct mg_reg_reply *answer,
			      uint32_t compiled)
{
	struct mg_reg_request req = {
	    .magic = MG_PROTO_MAGIC,
	    .version = MG_PROTO_VERSION,
	    .type = MG_REG_REGISTER,
	    .kernel_allow = compiled,
	};
	struct mg_reg_reply ack;

	strcpy(req.profile, answer->profile); /* NUL-terminated, checked by the decoder */
	send_request(sock, &req, listener);
	receive_reply(sock, MG_REPLY_RESULT, &ack);
	if (strcmp(ack.profile, answer->profile) != 0 || ack.kernel_allow != compiled)
		die(EXIT_SHIM_FAILED,
		    "msgguardd accepted profile '%s' (kernel_allow 0x%x) but our filter is for "
		    "'%s' (kernel_allow 0x%x)",
		    ack.profile, ack.kernel_allow, answer->profile, compiled);
}

static void __attribute__((noreturn)) exec_program(char **argv)
{
	int err;

	execvp(argv[0], argv);
	err = errno;
	die(err == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT_RUN, "cannot run %s: %s", argv[0],
	    strerror(err));
}

int main(int argc, char **argv)
{
	struct options o = {0};
	struct mg_reg_reply answer;
	uint32_t compiled;
	int sock, listener, r;

	parse_options(argc, argv, &o);
	sock = daemon_connect(o.socket);
	query_profile(sock, o.profile, &answer);
	r = filter_install(answer.kernel_allow, &compiled);
	if (r < 0)
		die(EXIT_SHIM_FAILED,
		    "cannot install the seccomp filter: %s; refusing to run unguarded",
		    strerror(-r));
	listener = r;
	register_listener(sock, listener, &answer, compiled);
	/* The daemon holds the listener now; the service must never see it. */
	close(listener);
	close(sock);
	exec_program(o.argv);
}
