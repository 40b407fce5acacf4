/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * status, reload: one request on msgguardd's control socket (HACKING.md,
 * "Control socket"). SOCK_SEQPACKET; the request is one message naming the
 * verb; the answer is one line per message, the last one "OK" or
 * "ERROR ERRNO-NAME text". The lines before it are printed verbatim: on
 * stdout after OK, on stderr after ERROR or a failure. The whole exchange
 * must end within CONTROL_TIMEOUT_MS.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "ctl.h"
#include "util.h"

#define DEFAULT_CONTROL	   "/run/msgguard/control.sock"
#define CONTROL_TIMEOUT_MS 30000
#define LINE_MAX_BYTES	   4096		      /* one message; msgguardd's are < 1024 */
#define ANSWER_MAX_BYTES   (16 * 1024 * 1024) /* all lines of one answer */

/* The lines received before the final one, newline-terminated. */
struct answer {
	char *text;
	size_t len, cap;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int answer_add(struct answer *a, const char *line, size_t n)
{
	if (a->len + n + 1 > ANSWER_MAX_BYTES)
		return -EFBIG;
	if (a->len + n + 2 > a->cap) {
		size_t cap = (a->len + n + 2) * 2;
		char *p = realloc(a->text, cap);

		if (!p)
			return -ENOMEM;
		a->text = p;
		a->cap = cap;
	}
	memcpy(a->text + a->len, line, n);
	a->len += n;
	a->text[a->len++] = '\n';
	a->text[a->len] = '\0';
	return 0;
}

static void answer_print(const struct answer *a, FILE *f)
{
	if (a->len > 0)
		fwrite(a->text, 1, a->len, f);
}

static int control_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = CONTROL_TIMEOUT_MS / 1000};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return negative_errno();
	/* A full backlog makes connect(2) wait: at most the timeout (then EAGAIN). */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return negative_errno();
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return negative_errno();
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* One line of the answer, NUL-terminated; -ETIMEDOUT, -EPIPE (closed), -EBADMSG, -EMSGSIZE. */
static int recv_line(int fd, int64_t deadline, char *buf, size_t size)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	ssize_t n;

	do {
		int64_t left = deadline - now_ms();
		int r;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return negative_errno();
		if (r == 0)
			return -ETIMEDOUT;
		n = r > 0 ? recv(fd, buf, size - 1, MSG_TRUNC | MSG_DONTWAIT) : -1;
	} while (n < 0 && (errno == EAGAIN || errno == EINTR));
	if (n < 0)
		return negative_errno();
	if (n == 0)
		return -EPIPE; /* msgguardd never sends an empty message */
	if ((size_t)n >= size - 1)
		return -EMSGSIZE;
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || buf[i] == 0x7f)
			return -EBADMSG;
	buf[n] = '\0';
	return (int)n;
}

static void connect_failed(const char *path, int r)
{
	if (r == -ENOENT || r == -ECONNREFUSED)
		fprintf(stderr, "msgguardctl: msgguardd is not running (%s: %s)\n", path,
			strerror(-r));
	else if (r == -EAGAIN)
		fprintf(stderr,
			"msgguardctl: msgguardd did not accept a connection on %s within %d s\n",
			path, CONTROL_TIMEOUT_MS / 1000);
	else
		fprintf(stderr,
			"msgguardctl: cannot connect to msgguardd's control socket %s: %s\n", path,
			strerror(-r));
}

static void recv_failed(const char *verb, int r)
{
	if (r == -ETIMEDOUT)
		fprintf(stderr, "msgguardctl: %s: no complete answer from msgguardd within %d s\n",
			verb, CONTROL_TIMEOUT_MS / 1000);
	else if (r == -EPIPE)
		fprintf(stderr,
			"msgguardctl: %s: msgguardd closed the connection before OK or ERROR\n",
			verb);
	else if (r == -EBADMSG || r == -EMSGSIZE)
		fprintf(stderr, "msgguardctl: %s: malformed answer from msgguardd (%s)\n", verb,
			r == -EBADMSG ? "control characters" : "line too long");
	else
		fprintf(stderr, "msgguardctl: %s: %s\n", verb, strerror(-r));
}

/*
 * Reads the answer until its final line. Returns EXIT_SUCCESS (OK),
 * EXIT_FAILURE (ERROR, or no valid answer); the lines before are printed.
 */
static int read_answer(int fd, const char *verb, int64_t deadline)
{
	struct answer a = {0};
	char line[LINE_MAX_BYTES];
	int r;

	while ((r = recv_line(fd, deadline, line, sizeof(line))) > 0) {
		if (strcmp(line, "OK") == 0) {
			answer_print(&a, stdout);
			free(a.text);
			return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
		}
		if (strcmp(line, "ERROR") == 0 || strncmp(line, "ERROR ", 6) == 0) {
			answer_print(&a, stderr);
			fprintf(stderr, "msgguardctl: %s failed: %s\n", verb,
				line[5] ? line + 6 : "(no reason given)");
			free(a.text);
			return EXIT_FAILURE;
		}
		r = answer_add(&a, line, (size_t)r);
		if (r < 0)
			break;
	}
	answer_print(&a, stderr);
	recv_failed(verb, r == -EFBIG ? -EMSGSIZE : r);
	free(a.text);
	return EXIT_FAILURE;
}

static int control_call(const char *path, const char *verb)
{
	int64_t deadline = now_ms() + CONTROL_TIMEOUT_MS;
	_cleanup_close_ int fd = -1;
	int r;

	r = control_connect(path, &fd);
	if (r < 0) {
		connect_failed(path, r);
		return EXIT_FAILURE;
	}
	if (send(fd, verb, strlen(verb), MSG_NOSIGNAL) < 0) {
		fprintf(stderr, "msgguardctl: %s: cannot send the request to %s: %m\n", verb, path);
		return EXIT_FAILURE;
	}
	return read_answer(fd, verb, deadline);
}

/* VERB [--control PATH]: the socket from the option, else $MSGGUARD_CONTROL, else the default. */
static int control_verb(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"control", required_argument, NULL, 'c'},
	    {},
	};
	const char *path = getenv("MSGGUARD_CONTROL");
	int c;

	if (!path || !*path)
		path = DEFAULT_CONTROL;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c != 'c')
			return option_error(argv[0], c, argv);
		path = optarg;
	}
	if (optind < argc)
		return usage_error("%s: unexpected argument '%s'", argv[0], argv[optind]);
	return control_call(path, argv[0]);
}

int verb_status(int argc, char **argv)
{
	return control_verb(argc, argv);
}

int verb_reload(int argc, char **argv)
{
	return control_verb(argc, argv);
}
