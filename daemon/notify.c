/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where each msgctl is decided: receive the notification, classify the call
 * as the kernel will execute it, read who is calling and which queue it
 * names, confirm the notification is still live, evaluate the policy, answer,
 * and only then write the audit record.
 *
 * Trust: the notification's registers are a kernel snapshot (race-free);
 * /proc and the queue lookup are only believed after ID_VALID. Any failure on
 * the way is a deny. Allow is CONTINUE: the kernel then runs the call with its
 * own permission checks, so an allow never grants more than the kernel would.
 * When the profile has IPC_SET value rules, the buffer is read once and the
 * daemon performs the IPC_SET itself with that copy (ipcset.c): a decision that
 * depends on the caller's memory never ends in CONTINUE.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "caller.h"
#include "ids.h"
#include "ipcset.h"
#include "log.h"
#include "msgctl.h"
#include "server.h"
#include "util.h"

struct outcome {
	int classify_error; /* < 0: not a msgctl we know (arch, syscall) */
	int caller_error;   /* < 0: caller or queue unreadable */
	struct mg_call call;
	struct caller caller;
	struct queue_info queue;
	const struct policy_profile *profile;
	struct policy_decision decision;
	bool allow;	    /* what we answer */
	int error;	    /* errno answered when !allow */
	const char *reason; /* set when something other than a rule decided */
	bool values_known;  /* IPC_SET values read from the caller's buffer */
	struct ipcset_values values;
	int kernel_error; /* < 0: allowed, but the kernel's own answer is this */
	bool performed;	  /* the daemon ran the IPC_SET; result is the answer */
	int result;
};

/*
 * A buffer in userfaultfd or FUSE memory can make the read hang. The event
 * loop waits at most this long (generous: a worker thread starved of CPU by
 * the caller's own threads must not turn a legitimate call into a denial),
 * and a service with IPCSET_STUCK_MAX workers still hanging gets its next
 * IPC_SET denied without a read: one hostile service can delay the others by
 * IPCSET_STUCK_MAX * timeout, once. Answering asynchronously would remove
 * even that (a later issue).
 */
#define IPCSET_READ_TIMEOUT_MS 1000
#define IPCSET_STUCK_MAX       2

static int notif_id_valid(int fd, uint64_t id)
{
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}

static int read_caller(int fd, const struct seccomp_notif *req, struct outcome *o)
{
	int r = caller_read((pid_t)req->pid, &o->caller);

	if (r < 0)
		return r;
	r = caller_queue_lookup((pid_t)req->pid, o->call.lookup, o->call.msqid, &o->queue);
	if (r < 0)
		return r;
	/* Everything above was read from a tid that may have been recycled meanwhile. */
	return notif_id_valid(fd, req->id);
}

static void evaluate(const struct server *s, struct outcome *o)
{
	const struct ipcset_values *v = &o->values;
	struct policy_request pr = {
	    .cmd = o->call.cmd,
	    .caller_euid = o->caller.euid,
	    .caller_egid = o->caller.egid,
	    .queue_known = o->queue.known,
	    .queue_key = o->queue.key,
	    .queue_uid = o->queue.uid,
	    .queue_cuid = o->queue.cuid,
	    .queue_gid = o->queue.gid,
	    .queue_mode = o->queue.mode,
	    .set_known = o->values_known,
	    .set_mode = v->mode & 0777,
	    .set_uid = v->uid,
	    .set_gid = v->gid,
	    .set_qbytes = ipcset_qbytes_landed(v->qbytes),
	};

	policy_evaluate(s->policy, o->profile, &pr, &o->decision);
	o->allow = o->decision.verdict == POLICY_ALLOW || !o->decision.enforced;
	o->error = o->decision.error ?: EPERM;
}

static bool needs_values(const struct server *s, const struct outcome *o)
{
	return o->call.cmd == MG_IPC_SET && o->call.set_applies &&
	       policy_profile_has_value_rules(s->policy, o->profile);
}

static void deny_because(struct outcome *o, const char *reason)
{
	o->allow = false;
	o->reason = reason;
}

/* After the verdict on our copy: apply it as the caller, or give the kernel's EFAULT. */
static void perform_ipcset(int fd, const struct seccomp_notif *req, struct ipcset_job *job,
			   int read_error, struct outcome *o)
{
	struct caller_creds creds;

	if (read_error == -EFAULT) {
		/* The kernel copies the buffer before any check: its answer is EFAULT. */
		ipcset_cancel(job);
		o->kernel_error = -EFAULT;
		return;
	}
	if (read_error < 0) {
		ipcset_cancel(job);
		return deny_because(o, "IPC_SET buffer unreadable");
	}
	if (caller_read_creds((pid_t)req->pid, &creds) < 0 || notif_id_valid(fd, req->id) < 0) {
		ipcset_cancel(job);
		return deny_because(o, "caller credentials unusable (other user namespace?)");
	}
	o->performed = true;
	o->result = ipcset_execute(job, &creds);
}

/* IPC_SET with value rules: judge our own copy of the buffer, never CONTINUE. */
static void decide_with_values(struct server *s, struct service *svc,
			       const struct seccomp_notif *req, struct outcome *o)
{
	_cleanup_close_ int ns = -1;
	struct ipcset_job *job;
	int fd = svc->fd, r;

	if (!svc->quota && !(svc->quota = ipcset_quota_new()))
		return deny_because(o, "out of memory");
	if (ipcset_quota_outstanding(svc->quota) >= IPCSET_STUCK_MAX)
		return deny_because(
		    o, "earlier IPC_SET buffers of this service never became readable");
	ns = caller_open_ipc_ns((pid_t)req->pid);
	if (ns < 0 || ipcset_begin((pid_t)req->pid, &o->call, ns, svc->quota, &job) < 0)
		return deny_because(o, "cannot read the IPC_SET buffer");
	r = ipcset_wait_read(job, IPCSET_READ_TIMEOUT_MS, &o->values);
	if (r == -ETIMEDOUT || notif_id_valid(fd, req->id) < 0) {
		ipcset_cancel(job);
		return deny_because(o, r == -ETIMEDOUT ? "IPC_SET buffer unreadable in time"
						       : "caller went away");
	}
	o->values_known = r == 0;
	evaluate(s, o);
#ifdef MSGGUARD_TOCTOU_DEMO
	/*
	 * The broken design, built only as tests/msgguardd-toctou-demo so the
	 * race test can show it bites: judge the values, then let the kernel
	 * re-read a buffer the caller may have rewritten meanwhile.
	 */
	ipcset_cancel(job);
	return;
#endif
	if (!o->allow) {
		ipcset_cancel(job);
		return;
	}
	perform_ipcset(fd, req, job, r, o);
}

static void decide(struct server *s, struct service *svc, const struct seccomp_notif *req,
		   struct outcome *o)
{
	o->allow = false;
	o->error = EPERM;
	o->profile = policy_profile_by_name(s->policy, svc->profile);
	if (o->profile && o->profile->error)
		o->error = o->profile->error;
	o->classify_error = mg_call_classify(req->data.arch, req->data.nr,
					     (const uint64_t *)req->data.args, &o->call);
	if (o->classify_error < 0) {
		o->reason = "not a msgctl entry point msgguard knows";
		return;
	}
	o->caller_error = read_caller(svc->fd, req, o);
	if (o->caller_error < 0) {
		o->reason = "caller or queue unreadable";
		return;
	}
	if (!o->profile) {
		o->reason = "profile no longer in the policy";
		return;
	}
	if (needs_values(s, o))
		return decide_with_values(s, svc, req, o);
	evaluate(s, o);
}

static int respond(int fd, struct server *s, const struct seccomp_notif *req,
		   const struct outcome *o)
{
	struct seccomp_notif_resp *resp = s->resp;

	memset(resp, 0, s->resp_size);
	resp->id = req->id;
	if (o->performed) {
		resp->error = o->result; /* 0 or the kernel's -errno, from our own IPC_SET */
	} else if (o->allow && o->kernel_error) {
		resp->error = o->kernel_error;
	} else if (o->allow) {
		resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp->error = -o->error; /* negative: a positive value would be a "success" */
	}
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0)
		return -errno;
	return 0;
}

static const char *cmd_label(const struct mg_call *c, char *buf, size_t size)
{
	const char *name = mg_cmd_name(c->cmd);

	if (name)
		return name;
	snprintf(buf, size, "UNKNOWN(%d)", c->raw_cmd);
	return buf;
}

static void audit_call_fields(struct audit_record *r, const struct outcome *o, const char *cmd)
{
	audit_add(r, "MSGGUARD_CMD", "%s", cmd);
	audit_add(r, "MSGGUARD_CMD_RAW", "0x%llx", (unsigned long long)o->call.cmd_reg);
	audit_add(r, "MSGGUARD_MSQID", "%d", o->call.msqid);
	audit_add(r, "MSGGUARD_SYSCALL", "%s", mg_entry_name(o->call.entry));
	audit_add(r, "MSGGUARD_ARCH", "%s", mg_arch_name(o->call.arch));
	if (o->call.entry == MG_ENTRY_IPC)
		audit_add(r, "MSGGUARD_IPC_VERSION", "%u", o->call.ipc_version);
}

static void audit_values_fields(struct audit_record *r, const struct outcome *o)
{
	if (o->values_known) {
		audit_add(r, "MSGGUARD_SET_MODE", "0%o", o->values.mode & 0777);
		audit_add(r, "MSGGUARD_SET_UID", "%u", o->values.uid);
		audit_add(r, "MSGGUARD_SET_GID", "%u", o->values.gid);
		audit_add(r, "MSGGUARD_SET_QBYTES", "%llu",
			  (unsigned long long)ipcset_qbytes_landed(o->values.qbytes));
	}
	if (o->performed) {
		audit_add(r, "MSGGUARD_PERFORMED", "daemon");
		audit_add(r, "MSGGUARD_RESULT", "%s",
			  o->result == 0 ? "0" : mg_errno_name(-o->result) ?: "error");
	} else if (o->kernel_error) {
		audit_add(r, "MSGGUARD_RESULT", "%s", mg_errno_name(-o->kernel_error) ?: "error");
	}
}

static void audit_caller_fields(struct audit_record *r, const struct outcome *o,
				const struct seccomp_notif *req)
{
	const struct caller *c = &o->caller;

	audit_add(r, "MSGGUARD_CALLER_TID", "%u", req->pid);
	if (o->caller_error < 0 || o->classify_error < 0)
		return;
	audit_add(r, "OBJECT_PID", "%d", c->pid);
	audit_add(r, "MSGGUARD_CALLER_PID", "%d", c->pid);
	audit_add(r, "MSGGUARD_CALLER_UID", "%u", c->euid);
	audit_add(r, "MSGGUARD_CALLER_GID", "%u", c->egid);
	audit_add(r, "MSGGUARD_CALLER_COMM", "%s", c->comm);
	audit_add(r, "MSGGUARD_CALLER_EXE", "%s", c->exe);
	audit_values_fields(r, o);
	if (!o->queue.known)
		return;
	audit_add(r, "MSGGUARD_QUEUE_KEY", "0x%08x", (uint32_t)o->queue.key);
	audit_add(r, "MSGGUARD_QUEUE_UID", "%u", o->queue.uid);
	audit_add(r, "MSGGUARD_QUEUE_CUID", "%u", o->queue.cuid);
	audit_add(r, "MSGGUARD_QUEUE_MODE", "0%o", o->queue.mode);
}

static const char *rule_label(const struct outcome *o)
{
	return o->reason ? "(error)" : policy_decision_rule_name(&o->decision);
}

static void audit_message(struct audit_record *r, const struct outcome *o, const char *cmd,
			  const struct service *svc, bool would)
{
	char queue[64] = "";

	if (o->queue.known)
		snprintf(queue, sizeof(queue), " key=0x%08x", (uint32_t)o->queue.key);
	audit_add(r, "MESSAGE", "%s%s %s msqid=%d%s by pid %d (%s) uid %u: %s%s of profile %s",
		  would	     ? "would deny"
		  : o->allow ? "allow"
			     : "deny",
		  would ? ", allowed" : "", cmd, o->call.msqid, queue, o->caller.pid,
		  o->caller.comm, o->caller.euid, o->reason ? o->reason : "rule ",
		  o->reason ? "" : rule_label(o), svc->profile);
}

static void audit_decision(struct server *s, const struct service *svc,
			   const struct seccomp_notif *req, const struct outcome *o)
{
	bool deny_verdict = !o->allow || o->decision.verdict == POLICY_DENY;
	bool would = o->allow && deny_verdict;
	struct audit_record r;
	char buf[32];
	const char *cmd = o->classify_error < 0 ? "UNKNOWN" : cmd_label(&o->call, buf, sizeof(buf));

	audit_record_init(&r);
	audit_message(&r, o, cmd, svc, would);
	audit_add(&r, "MESSAGE_ID", "%s", deny_verdict ? MG_MSGID_DENY : MG_MSGID_ALLOW);
	audit_add(&r, "PRIORITY", "%d", deny_verdict ? LOG_WARNING : LOG_INFO);
	audit_add(&r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&r, "MSGGUARD_EVENT", "decision");
	audit_add(&r, "MSGGUARD_DECISION", "%s", deny_verdict ? "deny" : "allow");
	audit_add(&r, "MSGGUARD_ENFORCED", "%s", would ? "no" : "yes");
	audit_add(&r, "MSGGUARD_PROFILE", "%s", svc->profile);
	audit_add(&r, "MSGGUARD_RULE", "%s", rule_label(o));
	/* journald may not resolve OBJECT_PID of a caller that already exited. */
	if (svc->unit[0])
		audit_add(&r, "MSGGUARD_UNIT", "%s", svc->unit);
	if (o->classify_error < 0)
		audit_add(&r, "MSGGUARD_SYSCALL_NR", "%d", req->data.nr);
	else
		audit_call_fields(&r, o, cmd);
	if (deny_verdict)
		audit_add(&r, "MSGGUARD_ERRNO", "%s", mg_errno_name(o->error) ?: "EPERM");
	audit_caller_fields(&r, o, req);
	if (audit_emit(s->audit, &r) < 0)
		log_warning("audit: cannot record a decision about pid %d", o->caller.pid);
}

static void count_rule_denial(struct service *svc, const struct outcome *o)
{
	const char *rule = rule_label(o);
	struct rule_count *rc;

	for (size_t i = 0; i < svc->n_rule_denials; i++)
		if (strcmp(svc->rule_denials[i].rule, rule) == 0 &&
		    strcmp(svc->rule_denials[i].profile, svc->profile) == 0) {
			svc->rule_denials[i].n++;
			return;
		}
	rc = reallocarray(svc->rule_denials, svc->n_rule_denials + 1, sizeof(*rc));
	if (!rc)
		return;
	svc->rule_denials = rc;
	rc = &rc[svc->n_rule_denials++];
	snprintf(rc->profile, sizeof(rc->profile), "%s", svc->profile);
	snprintf(rc->rule, sizeof(rc->rule), "%s", rule);
	rc->n = 1;
}

static void account(struct server *s, struct service *svc, const struct outcome *o)
{
	bool denied = !o->allow;

	svc->calls++;
	s->decisions++;
	s->status_dirty = true;
	if (denied) {
		svc->denials++;
		s->denials++;
		count_rule_denial(svc, o);
		s->status_dirty = true;
	}
	svc->slot->calls = svc->calls;
	svc->slot->denials = svc->denials;
}

/* Decide req (received now, or saved by the previous daemon), answer, then record. */
static void process(struct server *s, struct service *svc, const struct seccomp_notif *req)
{
	struct outcome o = {0};
	int r;

	decide(s, svc, req, &o);
	r = respond(svc->fd, s, req, &o);
	svc->slot->inflight = 0;
	if (r == -ENOENT) {
		log_debug("pid %d went away before its answer (it will retry)", svc->pid);
		return;
	}
	if (r < 0)
		log_warning("answering pid %d: %s", svc->pid, strerror(-r));
	account(s, svc, &o);
	audit_decision(s, svc, req, &o);
}

static void handle_one(struct server *s, struct service *svc)
{
	struct seccomp_notif *req = s->req;
	struct state_slot *slot = svc->slot;
	bool direct = s->req_size <= sizeof(slot->notif);
	void *buf = direct ? (void *)slot->notif : (void *)req;

	/*
	 * A daemon killed before answering leaves this call blocked in the kernel;
	 * the saved copy lets the next daemon (same listener, from the fd store)
	 * answer it. The kernel writes the notification straight into the slot:
	 * a SIGKILL that arrives while we are inside the RECV ioctl kills us on
	 * the way out of it, before any instruction of ours could save a copy.
	 * The kernel rejects a RECV buffer that is not zeroed (EINVAL).
	 */
	memset(req, 0, s->req_size);
	if (direct) {
		memset(slot->notif, 0, sizeof(slot->notif));
		slot->inflight = 1; /* with id 0, which is never valid: harmless if we die now */
	}
	if (ioctl(svc->fd, SECCOMP_IOCTL_NOTIF_RECV, buf) < 0) {
		slot->inflight = 0;
		if (errno != ENOENT && errno != EAGAIN && errno != EINTR)
			log_warning("receiving a notification from pid %d: %m", svc->pid);
		return;
	}
	if (direct) {
		memcpy(req, slot->notif, s->req_size);
	} else {
		memcpy(slot->notif, req, sizeof(slot->notif));
		slot->inflight = 1;
	}
#ifdef MSGGUARD_TEST_CRASH_AFTER_RECV
	/* tests/msgguardd-crashtest only: die as a SIGKILL during RECV would, on a marked call. */
	if ((int)(uint32_t)req->data.args[0] == 424242 ||
	    (int)(uint32_t)req->data.args[1] == 424242)
		_exit(99);
#endif
	process(s, svc, req);
}

/*
 * The previous daemon received this notification and died before answering:
 * the caller is still blocked on it. If the kernel still knows the id, decide
 * it now from the saved copy (everything else is read afresh and confirmed
 * with ID_VALID as usual).
 */
void notify_recover(struct server *s, struct service *svc)
{
	struct seccomp_notif *req = s->req;

	memset(req, 0, s->req_size);
	memcpy(req, svc->slot->notif,
	       s->req_size < STATE_NOTIF_MAX ? s->req_size : STATE_NOTIF_MAX);
	if (notif_id_valid(svc->fd, req->id) < 0) {
		svc->slot->inflight = 0;
		return;
	}
	log_info("answering a call of pid %d the previous msgguardd left pending", svc->pid);
	process(s, svc, req);
}

void notify_unregister(struct server *s, struct service *svc, const char *why)
{
	struct audit_record r;

	log_info("unregistered pid %d (%s): %s", svc->pid, svc->comm, why);
	audit_record_init(&r);
	audit_add(&r, "MESSAGE", "unregistered pid %d (%s) uid %u: %s", svc->pid, svc->comm,
		  svc->uid, why);
	audit_add(&r, "MESSAGE_ID", "%s", MG_MSGID_UNREGISTER);
	audit_add(&r, "PRIORITY", "%d", LOG_INFO);
	audit_add(&r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&r, "MSGGUARD_EVENT", "unregister");
	audit_add(&r, "MSGGUARD_PROFILE", "%s", svc->profile);
	if (svc->unit[0])
		audit_add(&r, "MSGGUARD_UNIT", "%s", svc->unit);
	audit_add(&r, "MSGGUARD_CALLER_PID", "%d", svc->pid);
	audit_add(&r, "MSGGUARD_CALLER_UID", "%u", svc->uid);
	audit_add(&r, "MSGGUARD_CALLER_COMM", "%s", svc->comm);
	audit_add(&r, "MSGGUARD_CALLS", "%llu", (unsigned long long)svc->calls);
	audit_add(&r, "MSGGUARD_DENIALS", "%llu", (unsigned long long)svc->denials);
	if (audit_emit(s->audit, &r) < 0)
		log_warning("audit: cannot record an unregistration");
	server_unwatch(s, svc->fd);
	state_unstore_listener(svc->slot);
	state_slot_release(s->state, svc->slot);
	registry_remove(&s->registry, svc);
	s->status_dirty = true;
}

void notify_readable(struct server *s, struct service *svc, uint32_t events)
{
	/* Pending notifications first: a HUP can arrive together with the last call. */
	if (events & EPOLLIN)
		handle_one(s, svc);
	if (events & (EPOLLHUP | EPOLLERR))
		notify_unregister(s, svc, "no more processes use the filter");
}
