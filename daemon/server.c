/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The event loop: one thread, one epoll set holding the registration socket,
 * a signalfd, connections still handshaking and every registered listener.
 * Nothing in the loop blocks: every fd is non-blocking and handshakes have
 * deadlines, so one slow peer never delays another service's decision.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <seccomp.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "server.h"
#include "util.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int server_watch(struct server *s, int fd, struct watch *w)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};

	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return negative_errno();
	return 0;
}

void server_unwatch(struct server *s, int fd)
{
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

static int mkdir_parent(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return negative_errno();
	return 0;
}

/* A socket file that still accepts connections belongs to a running daemon. */
static int remove_stale_socket(const struct sockaddr_un *sa)
{
	_cleanup_close_ int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return negative_errno();
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		return -EADDRINUSE;
	if (errno == ENOENT)
		return 0;
	if (errno != ECONNREFUSED)
		return negative_errno();
	if (unlink(sa->sun_path) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

static int socket_bind(struct server *s, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;
	int r;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path))
		return log_error_errno(-EINVAL, "socket path must be absolute and short: %s", path);
	strcpy(sa.sun_path, path);
	r = mkdir_parent(path);
	if (r < 0)
		return log_error_errno(r, "cannot create the folder of %s: %m", path);
	r = remove_stale_socket(&sa);
	if (r < 0)
		return log_error_errno(r, "socket %s: %m (is another msgguardd running?)", path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return log_error_errno(negative_errno(), "socket: %m");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return log_error_errno(negative_errno(), "bind %s: %m", path);
	/* Anyone may register; SO_PEERCRED and per-uid caps decide what they get. */
	if (chmod(path, 0666) < 0 || listen(fd, 128) < 0)
		return log_error_errno(negative_errno(), "listen on %s: %m", path);
	s->socket_path = strdup(path);
	if (!s->socket_path)
		return -ENOMEM;
	s->listen_fd = TAKE_FD(fd);
	return 0;
}

/* Under msgguardd.socket, systemd hands us the listening socket as fd 3. */
static int socket_from_systemd(struct server *s)
{
	int n = sd_listen_fds(1);

	if (n <= 0)
		return n;
	if (n != 1)
		return log_error_errno(-EINVAL, "expected one socket from systemd, got %d", n);
	if (sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
		return log_error_errno(-EINVAL, "the socket from systemd is not a listening "
						"SOCK_SEQPACKET unix socket");
	if (fcntl(SD_LISTEN_FDS_START, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(SD_LISTEN_FDS_START, F_SETFL, O_NONBLOCK) < 0)
		return negative_errno();
	s->listen_fd = SD_LISTEN_FDS_START;
	s->socket_activated = true;
	return 1;
}

static int signals_init(struct server *s)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return negative_errno();
	signal(SIGPIPE, SIG_IGN);
	s->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	return s->signal_fd < 0 ? negative_errno() : 0;
}

static int notify_buffers_init(struct server *s)
{
	struct seccomp_notif_sizes sizes;

	/* Ask the kernel: struct seccomp_notif may grow in later kernels. */
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) < 0)
		return log_error_errno(negative_errno(), "seccomp notification sizes: %m");
	s->req_size = sizes.seccomp_notif > sizeof(*s->req) ? sizes.seccomp_notif : sizeof(*s->req);
	s->resp_size = sizes.seccomp_notif_resp > sizeof(*s->resp) ? sizes.seccomp_notif_resp
								    : sizeof(*s->resp);
	s->req = calloc(1, s->req_size);
	s->resp = calloc(1, s->resp_size);
	return s->req && s->resp ? 0 : -ENOMEM;
}

int server_init(struct server *s, const char *socket_path)
{
	int r;

	s->listen_fd = s->signal_fd = -1;
	s->socket_watch.kind = WATCH_SOCKET;
	s->signal_watch.kind = WATCH_SIGNAL;
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0)
		return negative_errno();
	r = notify_buffers_init(s);
	if (r < 0)
		return r;
	r = signals_init(s);
	if (r < 0)
		return log_error_errno(r, "signals: %m");
	r = socket_from_systemd(s);
	if (r == 0)
		r = socket_bind(s, socket_path);
	if (r < 0)
		return r;
	r = server_watch(s, s->listen_fd, &s->socket_watch);
	if (r >= 0)
		r = server_watch(s, s->signal_fd, &s->signal_watch);
	return r;
}

static void signal_readable(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: policy reload is not implemented yet, ignoring");
			continue;
		}
		log_info("signal %u: exiting", si.ssi_signo);
		s->quit = true;
	}
}

static void dispatch(struct server *s, const struct epoll_event *ev)
{
	struct watch *w = ev->data.ptr;

	switch (w->kind) {
	case WATCH_SOCKET:
		handshake_accept(s);
		break;
	case WATCH_SIGNAL:
		signal_readable(s);
		break;
	case WATCH_PENDING:
		handshake_readable(s, (struct pending *)w);
		break;
	case WATCH_LISTENER:
		notify_readable(s, (struct service *)w, ev->events);
		break;
	}
}

int server_run(struct server *s)
{
	struct epoll_event events[64];

	while (!s->quit) {
		int timeout = handshake_next_deadline(s, now_ms());
		int n = epoll_wait(s->epoll_fd, events, (int)ELEMENTSOF(events), timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return log_error_errno(negative_errno(), "epoll_wait: %m");
		}
		for (int i = 0; i < n; i++)
			dispatch(s, &events[i]);
		handshake_expire(s, now_ms());
	}
	return 0;
}

void server_done(struct server *s)
{
	handshake_drop_all(s);
	registry_clear(&s->registry);
	if (s->socket_path && !s->socket_activated)
		unlink(s->socket_path);
	free(s->socket_path);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	free(s->req);
	free(s->resp);
}
