/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Receiving a service's seccomp listener: where the fd crosses into the daemon.
 *
 * Trust: nothing the peer sends. Its identity comes from SO_PEERCRED (the
 * kernel), every message must decode exactly (protocol.c) and come in turn:
 * first a query without fd, answered with the chosen profile and its
 * kernel_allow mask; then the registration, with exactly one fd that must be a
 * seccomp notification listener, naming the answered profile and the mask the
 * peer's filter compiled. Both must still be what the policy says when the
 * registration arrives (a reload may come in between), else it is refused.
 * Every fd that arrives is closed unless it becomes a registered listener. A
 * peer gets HANDSHAKE_TIMEOUT_MS from connecting to complete both exchanges;
 * pending connections are capped in total and per uid, listeners likewise.
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
#include "msgctl.h"
#include "server.h"
#include "util.h"

_Static_assert(MG_KERNEL_ALLOW_BITS == MG_CMD_MAX, "kernel_allow masks are msgctl command masks");

#define FDS_MAX 16 /* room to receive (and close) more fds than allowed */

struct received {
	struct mg_reg_request req;
	int fds[FDS_MAX];
	size_t n_fds;
	int error; /* negative errno of the first problem, 0 if well-formed */
};

/* A registration connection; server.c only knows the struct pending at its start. */
struct reg_conn {
	struct pending p;		   /* first: s->pending[] and the epoll data point here */
	bool answered;			   /* the query was answered: the registration comes next */
	char wanted[MG_PROFILE_NAME_MAX];  /* the query's profile ("" = daemon's choice) */
	char profile[MG_PROFILE_NAME_MAX]; /* the profile answered */
	uint32_t kernel_allow;		   /* its kernel_allow, as answered */
};

static void pending_free(struct server *s, struct pending *p)
{
	for (size_t i = 0; i < PENDING_MAX; i++)
		if (s->pending[i] == p) {
			s->pending[i] = NULL;
			s->n_pending--;
		}
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
	struct reg_conn *c;
	struct pending *p;
	int slot = pending_slot(s);

	if (peer_cred(fd, &cred) < 0 || slot < 0 ||
	    pending_count_uid(s, cred.uid) >= PENDING_MAX_PER_UID) {
		log_warning("too many connections waiting to register (uid %u), dropping one",
			    slot < 0 ? 0u : (unsigned)cred.uid);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	p = c ? &c->p : NULL;
	if (!p || (p->watch.kind = WATCH_PENDING, p->fd = fd, server_watch(s, fd, &p->watch) < 0)) {
		log_error("cannot watch a new connection, dropping it");
		free(c);
		close(fd);
		return;
	}
	p->uid = cred.uid;
	p->deadline_ms = now_ms() + HANDSHAKE_TIMEOUT_MS;
	s->pending[slot] = p;
	s->n_pending++;
}

void handshake_accept(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			server_accept_failed(s, ACCEPT_REGISTER, negative_errno());
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

static void reply(int fd, uint16_t type, int status, const char *profile, uint32_t kernel_allow,
		  const char *message)
{
	struct mg_reg_reply r = {
	    .magic = MG_PROTO_MAGIC,
	    .version = MG_PROTO_VERSION,
	    .type = type,
	    .status = status,
	    .kernel_allow = status < 0 ? 0 : kernel_allow,
	};

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

/* Refuse the connection's current step (type: the reply it was waiting for). */
static void refuse(struct server *s, int fd, uint16_t type, const struct ucred *cred, int status,
		   const char *why)
{
	log_warning("refused registration from pid %d uid %u: %s", cred->pid, cred->uid, why);
	reply(fd, type, status, NULL, 0, why);
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

static void audit_registered(struct server *s, const struct service *svc, uint32_t kernel_allow)
{
	struct audit_record rec;
	char names[160];

	mg_cmd_mask_names(kernel_allow, ' ', names, sizeof(names));
	audit_record_init(&rec);
	audit_add(&rec, "MESSAGE", "registered pid %d (%s) uid %u%s%s with profile %s%s%s",
		  svc->pid, svc->comm, svc->uid, svc->unit[0] ? " of " : "", svc->unit,
		  svc->profile, kernel_allow ? ", kernel_allow " : "", kernel_allow ? names : "");
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
	/* Fixed for the life of the service: its filter was built with it. */
	audit_add(&rec, "MSGGUARD_KERNEL_ALLOW", "%s", names);
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

/* The peer's systemd unit, or "" (caller frees *ret). */
static const char *peer_unit(pid_t pid, char **ret)
{
	if (sd_pid_get_unit(pid, ret) < 0)
		*ret = NULL;
	return *ret ?: "";
}

/*
 * Step 1, the query: choose the profile exactly as a registration would and
 * tell the peer its kernel_allow, which its filter must be built with.
 * Returns 0 when the connection goes on to the registration.
 */
static int answer_query(struct server *s, struct reg_conn *c, const struct ucred *cred,
			const struct received *rc)
{
	_cleanup_free_ char *unit = NULL;
	const struct policy_profile *profile;
	char why[160] = "";
	int r;

	r = check_caps(s, cred->uid, why, sizeof(why));
	if (r < 0)
		return refuse(s, c->p.fd, MG_REPLY_PROFILE, cred, r, why), r;
	profile = choose_profile(s, rc->req.profile, peer_unit(cred->pid, &unit), why, sizeof(why));
	if (!profile)
		return refuse(s, c->p.fd, MG_REPLY_PROFILE, cred, -ENOENT, why), -ENOENT;
	snprintf(c->wanted, sizeof(c->wanted), "%s", rc->req.profile);
	snprintf(c->profile, sizeof(c->profile), "%s", profile->name);
	c->kernel_allow = profile->kernel_allow;
	c->answered = true;
	reply(c->p.fd, MG_REPLY_PROFILE, 0, profile->name, profile->kernel_allow, "profile chosen");
	return 0;
}

/*
 * The registration must name what the query was answered, and the policy in
 * force now must still choose that profile with that kernel_allow: the
 * listener belongs to a filter that allows exactly those commands in the
 * kernel, for good. A reload in between refuses it (the service starts again
 * and gets a filter for the new policy). Returns the profile, or NULL with why.
 */
static const struct policy_profile *check_registration(const struct server *s,
						       const struct reg_conn *c,
						       const struct mg_reg_request *req,
						       const char *unit, int *ret_error, char *why,
						       size_t why_size)
{
	const struct policy_profile *profile;
	char have[160], want[160];

	*ret_error = -EPROTO;
	if (strcmp(req->profile, c->profile) != 0) {
		snprintf(why, why_size,
			 "the registration names profile '%s', msgguardd answered '%s'",
			 req->profile, c->profile);
		return NULL;
	}
	if (req->kernel_allow != c->kernel_allow) {
		snprintf(why, why_size,
			 "the filter allows %s in the kernel, profile '%s' has kernel_allow %s",
			 mg_cmd_mask_names(req->kernel_allow, ' ', have, sizeof(have)), c->profile,
			 mg_cmd_mask_names(c->kernel_allow, ' ', want, sizeof(want)));
		return NULL;
	}
	*ret_error = -ESTALE;
	profile = choose_profile(s, c->wanted, unit, why, why_size);
	if (profile && strcmp(profile->name, c->profile) != 0) {
		snprintf(
		    why, why_size,
		    "a policy reload during the registration chose profile '%s' instead of '%s'; "
		    "start the service again",
		    profile->name, c->profile);
		return NULL;
	}
	if (profile && profile->kernel_allow != c->kernel_allow) {
		snprintf(
		    why, why_size,
		    "a policy reload during the registration changed kernel_allow of profile '%s' "
		    "from %s to %s; start the service again",
		    c->profile, mg_cmd_mask_names(c->kernel_allow, ' ', have, sizeof(have)),
		    mg_cmd_mask_names(profile->kernel_allow, ' ', want, sizeof(want)));
		return NULL;
	}
	if (!profile)
		*ret_error = -ENOENT;
	return profile;
}

/* Step 2, the registration: the listener becomes a service. */
static int enroll(struct server *s, struct reg_conn *c, const struct ucred *cred,
		  struct received *rc)
{
	_cleanup_free_ char *unit_buf = NULL;
	const struct policy_profile *profile;
	const char *unit;
	struct service *svc;
	char why[320] = "";
	int conn = c->p.fd;
	int r;

	r = check_caps(s, cred->uid, why, sizeof(why));
	if (r < 0)
		return refuse(s, conn, MG_REPLY_RESULT, cred, r, why), r;
	unit = peer_unit(cred->pid, &unit_buf);
	profile = check_registration(s, c, &rc->req, unit, &r, why, sizeof(why));
	if (!profile)
		return refuse(s, conn, MG_REPLY_RESULT, cred, r, why), r;
	svc = service_new(s->state, cred, rc->fds[0], unit, profile->name);
	if (!svc || registry_add(&s->registry, svc) < 0) {
		if (svc)
			state_slot_release(s->state, svc->slot);
		free(svc);
		return refuse(s, conn, MG_REPLY_RESULT, cred, -ENOMEM, "out of memory"), -ENOMEM;
	}
	rc->n_fds = 0; /* the service owns the listener now */
	server_listener_tune(svc->fd);
	r = server_watch(s, svc->fd, &svc->watch);
	if (r < 0) {
		rc->n_fds = 1; /* closed by the caller, not twice */
		svc->fd = -1;
		state_slot_release(s->state, svc->slot);
		registry_remove(&s->registry, svc);
		return refuse(s, conn, MG_REPLY_RESULT, cred, r, "cannot watch the listener"), r;
	}
	svc->slot->kernel_allow = c->kernel_allow | STATE_KERNEL_ALLOW_KNOWN;
	/* After the slot is filled: a restarted daemon must know whose listener this is. */
	if (state_store_listener(svc->slot, svc->fd) < 0)
		log_warning("cannot put the listener of pid %d in systemd's fd store: it will not "
			    "survive a restart of msgguardd",
			    svc->pid);
	s->status_dirty = true;
	log_info("registered pid %d (%s) uid %u%s%s with profile %s, kernel_allow %s (fixed "
		 "until it restarts)",
		 svc->pid, svc->comm, svc->uid, svc->unit[0] ? " of " : "", svc->unit, svc->profile,
		 mg_cmd_mask_names(c->kernel_allow, ' ', why, sizeof(why)));
	reply(conn, MG_REPLY_RESULT, 0, svc->profile, c->kernel_allow, "registered");
	audit_registered(s, svc, c->kernel_allow);
	return 0;
}

static const char *why_malformed(int error)
{
	switch (error) {
	case -EMSGSIZE:
		return "truncated message or control data";
	case -EPROTO:
		return "unsupported protocol version, message type, flags or kernel_allow bits";
	case -EINVAL:
		return "invalid profile name";
	default:
		return "malformed registration message";
	}
}

/* What is wrong with a well-formed message at this step, or NULL. */
static const char *why_out_of_turn(const struct reg_conn *c, const struct received *rc,
				   int *ret_error)
{
	*ret_error = -EPROTO;
	if (!c->answered && rc->req.type != MG_REG_QUERY)
		return "expected the profile query first (is msgguard-shim the same version as "
		       "msgguardd?)";
	if (c->answered && rc->req.type != MG_REG_REGISTER)
		return "expected the registration after the profile query";
	*ret_error = -EBADF;
	if (rc->req.type == MG_REG_QUERY && rc->n_fds != 0)
		return "the profile query must carry no fd";
	if (rc->req.type == MG_REG_REGISTER && rc->n_fds != 1)
		return "a registration must carry exactly one fd";
	*ret_error = -ENOTTY;
	if (rc->req.type == MG_REG_REGISTER && !is_seccomp_listener(rc->fds[0]))
		return "the fd is not a seccomp listener";
	*ret_error = 0;
	return NULL;
}

void handshake_readable(struct server *s, struct pending *p)
{
	struct reg_conn *c = (struct reg_conn *)p;
	uint16_t expected = c->answered ? MG_REPLY_RESULT : MG_REPLY_PROFILE;
	struct received rc = {0};
	struct ucred cred = {.pid = 0, .uid = p->uid};
	const char *why;
	int r;

	r = receive_request(p->fd, &rc);
	if (r == -EAGAIN)
		return;
	if (r < 0 || peer_cred(p->fd, &cred) < 0) {
		log_warning("registration connection from uid %u closed %s, ignoring", p->uid,
			    c->answered ? "after the profile query" : "before a message");
		goto out;
	}
	why = rc.error ? why_malformed(rc.error) : why_out_of_turn(c, &rc, &rc.error);
	if (why) {
		refuse(s, p->fd, expected, &cred, rc.error, why);
		goto out;
	}
	if (rc.req.type == MG_REG_QUERY && answer_query(s, c, &cred, &rc) == 0)
		return; /* the registration comes on the same connection */
	if (rc.req.type == MG_REG_REGISTER)
		enroll(s, c, &cred, &rc);
out:
	for (size_t i = 0; i < rc.n_fds; i++)
		close(rc.fds[i]);
	pending_free(s, p);
}

void handshake_expire(struct server *s, uint64_t now)
{
	if (!s->n_pending)
		return; /* every turn of the loop: nothing to scan */
	for (size_t i = 0; i < PENDING_MAX; i++) {
		struct pending *p = s->pending[i];

		if (!p || p->deadline_ms > now)
			continue;
		log_warning("registration from uid %u %s within %d ms, dropped", p->uid,
			    ((struct reg_conn *)p)->answered ? "sent no listener after the query"
							     : "sent nothing",
			    HANDSHAKE_TIMEOUT_MS);
		pending_free(s, p);
	}
}

int handshake_next_deadline(const struct server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	if (!s->n_pending)
		return -1;
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
