/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Receiving a service's seccomp listener: where the fd crosses into the daemon.
 *
 * Trust: nothing the peer sends. Its identity comes from SO_PEERCRED (the
 * kernel), the message must decode exactly (protocol.c), it must carry exactly
 * one fd and that fd must be a seccomp notification listener. Every fd that
 * arrives is closed unless it becomes a registered listener. A peer gets
 * HANDSHAKE_TIMEOUT_MS to send its single message; pending connections are
 * capped in total and per uid, listeners likewise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <systemd/sd-login.h>

#include "ids.h"
#include "log.h"
#include "server.h"
#include "util.h"

#define FDS_MAX 16 /* room to receive (and close) more fds than allowed */

struct received {
	struct mg_reg_request req;
	int fds[FDS_MAX];
	size_t n_fds;
	int error; /* negative errno of the first problem, 0 if well-formed */
};

static void pending_free(struct server *s, struct pending *p)
{
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->pending[i] == p)
			s->pending[i] = NULL;
	server_unwatch(s, p->fd);
	close(p->fd);
	free(p);
}

static size_t pending_count_uid(const struct server *s, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < PENDING_MAX; i++)
		n += s->pending[i] && s->pending[i]->uid == uid;
	return n;
}

static int pending_slot(const struct server *s)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (!s->pending[i])
			return i;
	return -1;
}

static int peer_cred(int fd, struct ucred *ret)
{
	socklen_t len = sizeof(*ret);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, ret, &len) < 0)
		return negative_errno();
	return 0;
}

static void accept_one(struct server *s, int fd)
{
	struct ucred cred = {0};
	struct pending *p;
	int slot = pending_slot(s);

	if (peer_cred(fd, &cred) < 0 || slot < 0 ||
	    pending_count_uid(s, cred.uid) >= PENDING_MAX_PER_UID) {
		log_warning("too many connections waiting to register (uid %u), dropping one",
			    slot < 0 ? 0u : (unsigned)cred.uid);
		close(fd);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p || (p->watch.kind = WATCH_PENDING, p->fd = fd, server_watch(s, fd, &p->watch) < 0)) {
		log_error("cannot watch a new connection, dropping it");
		free(p);
		close(fd);
		return;
	}
	p->uid = cred.uid;
	p->deadline_ms = now_ms() + HANDSHAKE_TIMEOUT_MS;
	s->pending[slot] = p;
}

void handshake_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning("accept: %m, ignoring");
			return;
		}
		accept_one(s, fd);
	}
}

static void collect_fds(struct msghdr *mh, struct received *rc)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm)) {
		size_t n;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) {
			rc->error = rc->error ?: -EBADMSG;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n && rc->n_fds < FDS_MAX; i++)
			memcpy(&rc->fds[rc->n_fds++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
}

/* Read the one message; every fd that came with it ends up in rc->fds. */
static int receive_request(int fd, struct received *rc)
{
	union {
		char buf[CMSG_SPACE(FDS_MAX * sizeof(int))];
		struct cmsghdr align;
	} control;
	char data[sizeof(struct mg_reg_request) + 1];
	struct iovec iov = {.iov_base = data, .iov_len = sizeof(data)};
	struct msghdr mh = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = control.buf,
	    .msg_controllen = sizeof(control.buf),
	};
	ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0)
		return negative_errno();
	if (n == 0)
		return -ECONNRESET;
	collect_fds(&mh, rc);
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))
		rc->error = rc->error ?: -EMSGSIZE;
	if (!rc->error)
		rc->error = mg_reg_request_decode(data, (size_t)n, &rc->req);
	if (!rc->error && rc->n_fds != 1)
		rc->error = -EBADF;
	return 0;
}

/* The kernel names a listener's anon inode "seccomp notify" (kernel/seccomp.c). */
static bool is_seccomp_listener(int fd)
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

static void reply(int fd, int status, const char *profile, const char *message)
{
	struct mg_reg_reply r = {.magic = MG_PROTO_MAGIC, .status = status};

	snprintf(r.profile, sizeof(r.profile), "%s", profile ?: "");
	snprintf(r.message, sizeof(r.message), "%s", message);
	if (send(fd, &r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sizeof(r))
		log_debug("could not answer a registration: %m");
}

static void audit_refused(struct server *s, const struct ucred *cred, const char *why)
{
	struct audit_record rec;

	audit_record_init(&rec);
	audit_add(&rec, "MESSAGE", "refused registration from pid %d uid %u: %s", cred->pid,
		  cred->uid, why);
	audit_add(&rec, "MESSAGE_ID", "%s", MG_MSGID_REFUSED);
	audit_add(&rec, "PRIORITY", "%d", LOG_WARNING);
	audit_add(&rec, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&rec, "MSGGUARD_EVENT", "refused");
	audit_add(&rec, "MSGGUARD_CALLER_PID", "%d", cred->pid);
	audit_add(&rec, "MSGGUARD_CALLER_UID", "%u", cred->uid);
	audit_add(&rec, "MSGGUARD_REASON", "%s", why);
	if (audit_emit(s->audit, &rec) < 0)
		log_warning("audit: cannot record a refused registration");
}

static void refuse(struct server *s, int fd, const struct ucred *cred, int status, const char *why)
{
	log_warning("refused registration from pid %d uid %u: %s", cred->pid, cred->uid, why);
	reply(fd, status, NULL, why);
	audit_refused(s, cred, why);
}

/* --profile, else the profile listing the peer's unit, else "default". */
static const struct policy_profile *choose_profile(const struct server *s, const char *wanted,
						   const char *unit, char *why, size_t why_size)
{
	const struct policy_profile *p;

	if (wanted[0]) {
		p = policy_profile_by_name(s->policy, wanted);
		if (!p)
			snprintf(why, why_size, "unknown profile '%s'", wanted);
		return p;
	}
	if (unit[0] && (p = policy_profile_by_unit(s->policy, unit)))
		return p;
	p = policy_profile_by_name(s->policy, "default");
	if (!p)
		snprintf(why, why_size,
			 "no --profile, no profile for unit '%s' and no profile "
			 "\"default\"",
			 unit[0] ? unit : "(none)");
	return p;
}

static void read_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	buf[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

static void audit_registered(struct server *s, const struct service *svc)
{
	struct audit_record rec;

	audit_record_init(&rec);
	audit_add(&rec, "MESSAGE", "registered pid %d (%s) uid %u%s%s with profile %s", svc->pid,
		  svc->comm, svc->uid, svc->unit[0] ? " of " : "", svc->unit, svc->profile);
	audit_add(&rec, "MESSAGE_ID", "%s", MG_MSGID_REGISTER);
	audit_add(&rec, "PRIORITY", "%d", LOG_INFO);
	audit_add(&rec, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&rec, "OBJECT_PID", "%d", svc->pid);
	audit_add(&rec, "MSGGUARD_EVENT", "register");
	audit_add(&rec, "MSGGUARD_PROFILE", "%s", svc->profile);
	if (svc->unit[0])
		audit_add(&rec, "MSGGUARD_UNIT", "%s", svc->unit);
	audit_add(&rec, "MSGGUARD_CALLER_PID", "%d", svc->pid);
	audit_add(&rec, "MSGGUARD_CALLER_UID", "%u", svc->uid);
	audit_add(&rec, "MSGGUARD_CALLER_COMM", "%s", svc->comm);
	if (audit_emit(s->audit, &rec) < 0)
		log_warning("audit: cannot record a registration");
}

static int check_caps(const struct server *s, uid_t uid, char *why, size_t why_size)
{
	if (s->registry.n >= s->max_listeners) {
		snprintf(why, why_size, "too many services (%u)", s->max_listeners);
		return -EUSERS;
	}
	if (uid != 0 && registry_count_uid(&s->registry, uid) >= s->max_listeners_per_uid) {
		snprintf(why, why_size, "too many services for uid %u (%u)", uid,
			 s->max_listeners_per_uid);
		return -EUSERS;
	}
	return 0;
}

static void slot_fill(struct state_slot *slot, const struct service *svc)
{
	slot->pid = svc->pid;
	slot->uid = svc->uid;
	slot->gid = svc->gid;
	snprintf(slot->unit, sizeof(slot->unit), "%s", svc->unit);
	snprintf(slot->profile, sizeof(slot->profile), "%s", svc->profile);
	snprintf(slot->comm, sizeof(slot->comm), "%s", svc->comm);
}

static struct service *service_new(struct state *st, const struct ucred *cred, int fd,
				   const char *unit, const char *profile)
{
	struct service *svc = calloc(1, sizeof(*svc));

	if (!svc)
		return NULL;
	svc->slot = state_slot_new(st);
	if (!svc->slot) {
		free(svc);
		return NULL;
	}
	svc->watch.kind = WATCH_LISTENER;
	svc->fd = fd;
	svc->pid = cred->pid;
	svc->uid = cred->uid;
	svc->gid = cred->gid;
	snprintf(svc->unit, sizeof(svc->unit), "%s", unit);
	snprintf(svc->profile, sizeof(svc->profile), "%s", profile);
	read_comm(cred->pid, svc->comm, sizeof(svc->comm));
	slot_fill(svc->slot, svc);
	return svc;
}

static int enroll(struct server *s, int conn, const struct ucred *cred, struct received *rc)
{
	_cleanup_free_ char *unit = NULL;
	const struct policy_profile *profile;
	struct service *svc;
	char why[160] = "";
	int r;

	r = check_caps(s, cred->uid, why, sizeof(why));
	if (r < 0)
		return refuse(s, conn, cred, r, why), r;
	if (sd_pid_get_unit(cred->pid, &unit) < 0)
		unit = NULL;
	profile = choose_profile(s, rc->req.profile, unit ?: "", why, sizeof(why));
	if (!profile)
		return refuse(s, conn, cred, -ENOENT, why), -ENOENT;
	svc = service_new(s->state, cred, rc->fds[0], unit ?: "", profile->name);
	if (!svc || registry_add(&s->registry, svc) < 0) {
		if (svc)
			state_slot_release(s->state, svc->slot);
		free(svc);
		return refuse(s, conn, cred, -ENOMEM, "out of memory"), -ENOMEM;
	}
	rc->n_fds = 0; /* the service owns the listener now */
	server_listener_tune(svc->fd);
	r = server_watch(s, svc->fd, &svc->watch);
	if (r < 0) {
		rc->n_fds = 1; /* closed by the caller, not twice */
		svc->fd = -1;
		state_slot_release(s->state, svc->slot);
		registry_remove(&s->registry, svc);
		return refuse(s, conn, cred, r, "cannot watch the listener"), r;
	}
	/* After the slot is filled: a restarted daemon must know whose listener this is. */
	if (state_store_listener(svc->slot, svc->fd) < 0)
		log_warning("cannot put the listener of pid %d in systemd's fd store: it will not "
			    "survive a restart of msgguardd",
			    svc->pid);
	s->status_dirty = true;
	log_info("registered pid %d (%s) uid %u%s%s with profile %s", svc->pid, svc->comm, svc->uid,
		 svc->unit[0] ? " of " : "", svc->unit, svc->profile);
	reply(conn, 0, svc->profile, "registered");
	audit_registered(s, svc);
	return 0;
}

static const char *why_malformed(int error)
{
	switch (error) {
	case -EBADF:
		return "a registration must carry exactly one fd";
	case -EMSGSIZE:
		return "truncated message or control data";
	case -EPROTO:
		return "unsupported protocol version or flags";
	case -EINVAL:
		return "invalid profile name";
	case -ENOTTY:
		return "the fd is not a seccomp listener";
	default:
		return "malformed registration message";
	}
}

void handshake_readable(struct server *s, struct pending *p)
{
	struct received rc = {0};
	struct ucred cred = {.pid = 0, .uid = p->uid};
	int r;

	r = receive_request(p->fd, &rc);
	if (r == -EAGAIN)
		return;
	if (r < 0 || peer_cred(p->fd, &cred) < 0) {
		log_warning("registration connection from uid %u closed before a message, ignoring",
			    p->uid);
		goto out;
	}
	if (!rc.error && !is_seccomp_listener(rc.fds[0]))
		rc.error = -ENOTTY;
	if (rc.error)
		refuse(s, p->fd, &cred, rc.error, why_malformed(rc.error));
	else
		enroll(s, p->fd, &cred, &rc);
out:
	for (size_t i = 0; i < rc.n_fds; i++)
		close(rc.fds[i]);
	pending_free(s, p);
}

void handshake_expire(struct server *s, uint64_t now)
{
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = s->pending[i];

		if (!p || p->deadline_ms > now)
			continue;
		log_warning("registration from uid %u sent nothing within %d ms, dropped", p->uid,
			    HANDSHAKE_TIMEOUT_MS);
		pending_free(s, p);
	}
}

int handshake_next_deadline(const struct server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->pending[i] && s->pending[i]->deadline_ms < next)
			next = s->pending[i]->deadline_ms;
	if (next == UINT64_MAX)
		return -1;
	return next <= now ? 0 : (int)(next - now);
}

void handshake_drop_all(struct server *s)
{
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->pending[i])
			pending_free(s, s->pending[i]);
}
