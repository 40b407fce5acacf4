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
#include <stdio.h>
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
#include "fold.h"
#include "server.h"
#include "state.h"
#include "util.h"

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Linux 6.6; not in Debian 12's headers (notes/02). The flag goes by value. */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

/*
 * Ask the kernel to switch straight to us when a call arrives (and back to the
 * caller when we answer): the difference between ~5 us and ~50 us per call
 * when caller and daemon sit on different CPUs (notes/02). Older kernels say
 * EINVAL or ENOTTY: fine, the default wake-ups still work.
 */
void server_listener_tune(int fd)
{
	static bool unsupported;

	if (unsupported)
		return;
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0) {
		unsupported = true;
		log_info("synchronous wake-up of listeners not supported by this kernel (%m), "
			 "using the default");
	}
}

/* Stop (false) or resume (true) receiving from fd; HUP and errors are always reported. */
int server_watch_pause(struct server *s, int fd, struct watch *w, bool resume)
{
	struct epoll_event ev = {.events = resume ? EPOLLIN : 0, .data.ptr = w};

	return epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? negative_errno() : 0;
}

static int accept_fd(struct server *s, enum accept_kind kind, struct watch **w)
{
	*w = kind == ACCEPT_CONTROL ? &s->control_watch : &s->socket_watch;
	return kind == ACCEPT_CONTROL ? s->control_fd : s->listen_fd;
}

/*
 * Out of fds or memory, the connection stays queued and the socket readable:
 * the level-triggered loop would spin on it (and log each turn). So the socket
 * is left alone for a second, said once; loop_housekeeping watches it again.
 * Other errors (the peer went away first) concern one connection only.
 */
void server_accept_failed(struct server *s, enum accept_kind kind, int err)
{
	struct watch *w;
	int fd = accept_fd(s, kind, &w);

	if (err != -EMFILE && err != -ENFILE && err != -ENOBUFS && err != -ENOMEM) {
		if (err != -EAGAIN && err != -EINTR && err != -ECONNABORTED)
			log_warning("accept: %s, ignoring", strerror(-err));
		return;
	}
	if (s->accept_resume_ms[kind])
		return;
	log_warning("accept on the %s socket: %s; not accepting for 1 s",
		    kind == ACCEPT_CONTROL ? "control" : "registration", strerror(-err));
	if (server_watch_pause(s, fd, w, false) == 0)
		s->accept_resume_ms[kind] = now_ms() + 1000;
}

static void accept_resume(struct server *s, uint64_t now)
{
	for (int k = 0; k < _ACCEPT_KIND_MAX; k++) {
		struct watch *w;
		int fd = accept_fd(s, (enum accept_kind)k, &w);

		if (!s->accept_resume_ms[k] || now < s->accept_resume_ms[k])
			continue;
		s->accept_resume_ms[k] = 0;
		(void)server_watch_pause(s, fd, w, true);
	}
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

/* Bind a SOCK_SEQPACKET socket at path (mode 0666); the caller owns *ret_fd. */
static int socket_bind(const char *path, int *ret_fd)
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
	/* Anyone may connect; SO_PEERCRED and per-uid caps decide what they get. */
	if (chmod(path, 0666) < 0 || listen(fd, 128) < 0)
		return log_error_errno(negative_errno(), "listen on %s: %m", path);
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* A stored listener waiting for server_restore(). */
struct stored_fd {
	int fd;
	uint64_t serial;
};

struct inherited {
	int register_fd, control_fd, state_fd;
	struct stored_fd *listeners;
	size_t n_listeners;
	int audit_fd; /* the previous daemon's audit queue */
	int fold_fd;  /* and its fold table */
};

static int take_listening_socket(int fd, const char *what)
{
	if (sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0) <= 0)
		return log_error_errno(-EINVAL,
				       "the %s socket from systemd is not a listening "
				       "SOCK_SEQPACKET unix socket",
				       what);
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return negative_errno();
	return fd;
}

static int classify_inherited(int fd, const char *name, struct inherited *in)
{
	uint64_t serial;

	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return negative_errno();
	if (strcmp(name, "register") == 0 || strcmp(name, "unknown") == 0 ||
	    strcmp(name, "msgguardd.socket") == 0)
		return in->register_fd = take_listening_socket(fd, "registration");
	if (strcmp(name, "control") == 0)
		return in->control_fd = take_listening_socket(fd, "control");
	if (strcmp(name, "state") == 0)
		return in->state_fd = fd;
	if (strcmp(name, "audit") == 0)
		return in->audit_fd = fd;
	if (strcmp(name, "fold") == 0)
		return in->fold_fd = fd;
	if (state_parse_fdname(name, &serial) == 0) {
		struct stored_fd *l = reallocarray(in->listeners, in->n_listeners + 1, sizeof(*l));

		if (!l)
			return -ENOMEM;
		in->listeners = l;
		l[in->n_listeners++] = (struct stored_fd){fd, serial};
		return 0;
	}
	log_warning("unexpected fd '%s' from systemd, closing it", name);
	close(fd);
	return 0;
}

/*
 * Under systemd: the sockets of msgguardd.socket (FileDescriptorName=register
 * and control), and what the last daemon put in the fd store (state, l-N).
 */
static int fds_from_systemd(struct inherited *in)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names), r = 0;

	for (int i = 0; i < n && r >= 0; i++)
		r = classify_inherited(SD_LISTEN_FDS_START + i, names[i], in);
	for (int i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
	return n < 0 ? n : r;
}
static struct inherited inherited = {-1, -1, -1, NULL, 0, -1, -1};

int server_take_stored_fold(struct server *s)
{
	int fd = inherited.fold_fd;

	(void)s;
	inherited.fold_fd = -1;
	return fd;
}

int server_take_stored_audit(struct server *s)
{
	int fd = inherited.audit_fd;

	(void)s;
	inherited.audit_fd = -1;
	return fd;
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

static int sockets_init(struct server *s, const char *socket_path, const char *control_path)
{
	int r;

	if (inherited.register_fd >= 0) {
		s->listen_fd = inherited.register_fd;
		s->socket_activated = true;
	} else {
		r = socket_bind(socket_path, &s->listen_fd);
		if (r < 0)
			return r;
		s->socket_path = strdup(socket_path);
	}
	if (inherited.control_fd >= 0) {
		s->control_fd = inherited.control_fd;
		s->control_activated = true;
	} else if (control_path) {
		r = socket_bind(control_path, &s->control_fd);
		if (r < 0)
			return r;
		s->control_path = strdup(control_path);
	}
	r = server_watch(s, s->listen_fd, &s->socket_watch);
	if (r >= 0 && s->control_fd >= 0)
		r = server_watch(s, s->control_fd, &s->control_watch);
	return r;
}

int server_init(struct server *s, const char *socket_path, const char *control_path)
{
	int r;

	s->listen_fd = s->signal_fd = s->control_fd = -1;
	s->socket_watch.kind = WATCH_SOCKET;
	s->signal_watch.kind = WATCH_SIGNAL;
	s->control_watch.kind = WATCH_CONTROL;
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epoll_fd < 0)
		return negative_errno();
	r = notify_buffers_init(s);
	if (r < 0)
		return r;
	r = signals_init(s);
	if (r < 0)
		return log_error_errno(r, "signals: %m");
	r = fds_from_systemd(&inherited);
	if (r < 0)
		return log_error_errno(r, "fds from systemd: %m");
	r = state_open(inherited.state_fd, &s->state);
	if (r < 0)
		return log_error_errno(r, "state memfd: %m");
	r = sockets_init(s, socket_path, control_path);
	if (r < 0)
		return r;
	if (sd_watchdog_enabled(0, &s->watchdog_usec) <= 0)
		s->watchdog_usec = 0;
	return server_watch(s, s->signal_fd, &s->signal_watch);
}

/* A slot is still needed when a restored service uses it. */
static bool slot_restored(uint64_t serial, void *u)
{
	const struct server *s = u;

	for (size_t i = 0; i < s->registry.n; i++)
		if (s->registry.services[i]->slot->serial == serial)
			return true;
	return false;
}

/* Its listener did not come back: every process using the filter exited meanwhile. */
static void slot_gone(const struct state_slot *slot, void *u)
{
	notify_audit_unregister(u, slot, "went away while msgguardd was down");
}

static int restore_one(struct server *s, struct stored_fd *l)
{
	struct state_slot *slot = state_slot_find(s->state, l->serial);
	struct service *svc;

	if (!slot) {
		log_warning("stored listener l-%llu has no state, dropping it (its service now "
			    "gets ENOSYS)",
			    (unsigned long long)l->serial);
		return -ENOENT;
	}
	svc = calloc(1, sizeof(*svc));
	if (!svc)
		return -ENOMEM;
	svc->watch.kind = WATCH_LISTENER;
	svc->fd = l->fd;
	svc->pid = slot->pid;
	svc->uid = slot->uid;
	svc->gid = slot->gid;
	snprintf(svc->unit, sizeof(svc->unit), "%s", slot->unit);
	snprintf(svc->profile, sizeof(svc->profile), "%s", slot->profile);
	snprintf(svc->comm, sizeof(svc->comm), "%s", slot->comm);
	svc->calls = slot->calls;
	svc->denials = slot->denials;
	svc->slot = slot;
	if (registry_add(&s->registry, svc) < 0) {
		free(svc);
		return -ENOMEM;
	}
	l->fd = -1; /* the service owns it now */
	server_listener_tune(svc->fd);
	log_info("restored pid %d (%s)%s%s with profile %s", svc->pid, svc->comm,
		 svc->unit[0] ? " of " : "", svc->unit, svc->profile);
	return server_watch(s, svc->fd, &svc->watch);
}

int server_restore(struct server *s)
{
	size_t restored = 0;

	for (size_t i = 0; i < inherited.n_listeners; i++) {
		struct stored_fd *l = &inherited.listeners[i];

		if (restore_one(s, l) >= 0) {
			restored++;
			continue;
		}
		if (l->fd >= 0) {
			char msg[64];

			snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=l-%llu",
				 (unsigned long long)l->serial);
			sd_notify(0, msg);
			close(l->fd);
			l->fd = -1;
		}
	}
	state_release_orphans(s->state, slot_restored, slot_gone, s);
	free(inherited.listeners);
	inherited.listeners = NULL;
	inherited.n_listeners = 0;
	if (restored)
		log_info("restored %zu listener(s) from systemd's fd store", restored);
	return 0;
}

void server_recover_inflight(struct server *s)
{
	for (size_t i = 0; i < s->registry.n; i++)
		if (s->registry.services[i]->slot->inflight)
			notify_recover(s, s->registry.services[i]);
}

void server_status(struct server *s, bool force)
{
	uint64_t now = now_ms();

	if (!force && (!s->status_dirty || now - s->last_status_ms < 1000))
		return;
	if (s->reload_error)
		sd_notifyf(0,
			   "STATUS=Reload failed: %s; still enforcing the previous policy "
			   "(%zu rules); %zu services; %llu denials",
			   s->reload_error, s->policy->n_rules, s->registry.n,
			   (unsigned long long)s->denials);
	else
		sd_notifyf(0,
			   "STATUS=Enforcing %s (%zu rules); %zu services; %llu decisions, "
			   "%llu denials",
			   s->policy->path, s->policy->n_rules, s->registry.n,
			   (unsigned long long)s->decisions, (unsigned long long)s->denials);
	s->last_status_ms = now;
	s->status_dirty = false;
}

static void signal_readable(struct server *s)
{
	struct signalfd_siginfo si;

	while (read(s->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			server_reload(s, NULL);
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
	case WATCH_CONTROL:
		control_accept(s);
		break;
	case WATCH_CONTROL_CONN:
		control_readable(s, (struct pending *)w);
		break;
	case WATCH_IPCSET:
		notify_ipcset_ready(s, w);
		break;
	}
}

static int min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* The nearest of: a handshake deadline, a watchdog ping, a pending STATUS= update. */
static int loop_timeout(const struct server *s, uint64_t now)
{
	int t = min_timeout(handshake_next_deadline(s, now), control_next_deadline(s, now));

	if (s->watchdog_usec)
		t = min_timeout(t, (int)(s->watchdog_usec / 2000));
	if (s->status_dirty)
		t = min_timeout(t, 1000);
	if (s->fold_next_ms)
		t = min_timeout(t, s->fold_next_ms > now ? (int)(s->fold_next_ms - now) : 0);
	for (int k = 0; k < _ACCEPT_KIND_MAX; k++)
		if (s->accept_resume_ms[k])
			t = min_timeout(t, s->accept_resume_ms[k] > now
					       ? (int)(s->accept_resume_ms[k] - now)
					       : 0);
	return min_timeout(t, notify_ipcset_next_deadline(s, now));
}

/* After servicing events: a wedged loop never gets here, so the watchdog trips. */
static void loop_housekeeping(struct server *s, uint64_t now)
{
	accept_resume(s, now);
	if (s->watchdog_usec && now - s->last_watchdog_ms >= s->watchdog_usec / 2000) {
		sd_notify(0, "WATCHDOG=1");
		s->last_watchdog_ms = now;
	}
	if (s->fold_next_ms && now >= s->fold_next_ms)
		notify_fold_flush(s, false);
	audit_tick(s->audit);
	server_status(s, false);
}

/* The audit queue is full and the loop waits for it: alive, so keep systemd's watchdog fed. */
void server_audit_stalled(void *userdata)
{
	struct server *s = userdata;
	uint64_t now = now_ms();

	if (s->watchdog_usec && now - s->last_watchdog_ms >= s->watchdog_usec / 2000) {
		sd_notify(0, "WATCHDOG=1\nSTATUS=Audit sink stalled: denials held back until their "
			     "records fit");
		s->last_watchdog_ms = now;
	}
}

int server_run(struct server *s)
{
	struct epoll_event events[64];

	/* One clock reading per turn, after the events: the expiries, the housekeeping (which
	 * never waits) and the next timeout all use it. */
	uint64_t now = now_ms();

	while (!s->quit) {
		int n =
		    epoll_wait(s->epoll_fd, events, (int)ELEMENTSOF(events), loop_timeout(s, now));

		if (n < 0) {
			if (errno != EINTR)
				return log_error_errno(negative_errno(), "epoll_wait: %m");
			n = 0;
		}
		for (int i = 0; i < n; i++)
			dispatch(s, &events[i]);
		now = now_ms();
		handshake_expire(s, now);
		control_expire(s, now);
		notify_ipcset_expire(s, now);
		loop_housekeeping(s, now);
	}
	return 0;
}

void server_done(struct server *s)
{
	notify_fold_flush(s, true); /* every count out before we go */
	notify_ipcset_drop_all(s);
	handshake_drop_all(s);
	control_drop_all(s);
	registry_clear(&s->registry);
	state_close(s->state);
	if (s->socket_path)
		unlink(s->socket_path);
	if (s->control_path)
		unlink(s->control_path);
	free(s->socket_path);
	free(s->control_path);
	if (s->control_fd >= 0)
		close(s->control_fd);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->signal_fd >= 0)
		close(s->signal_fd);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	free(s->req);
	free(s->resp);
	free(s->reload_error);
	fold_free(s->fold);
}
