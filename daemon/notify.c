/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where each msgctl is decided: receive the notification, classify the call
 * as the kernel will execute it, read who is calling and which queue it
 * names only when the profile's rules for that command look at them (and for
 * a denial, whose record must name its caller), confirm the notification is
 * still live if anything was read, evaluate the policy, answer, and only then
 * queue the audit record (audit.c writes it from another thread; repeated
 * allows are folded into summaries, fold.c).
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
#include "fold.h"
#include "ids.h"
#include "ipcset.h"
#include "log.h"
#include "msgctl.h"
#include "server.h"
#include "util.h"

struct outcome {
	int classify_error; /* < 0: not a msgctl we know (arch, syscall) */
	int caller_error;   /* < 0: caller or queue unreadable */
	bool identity;	    /* caller was read and confirmed with ID_VALID */
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
	bool waiting; /* parked until its IPC_SET buffer is read (struct ipcset_wait) */
};

/*
 * An IPC_SET whose buffer a worker is reading. Its service's listener is
 * paused meanwhile, so the state slot holds exactly this call for a restart.
 */
struct ipcset_wait {
	struct watch watch; /* WATCH_IPCSET, first member: epoll data points here */
	struct service *svc;
	struct ipcset_job *job;
	uint64_t deadline_ms;
	struct outcome o;
	struct seccomp_notif *req; /* a copy, s->req_size bytes */
};

/*
 * A buffer in userfaultfd or FUSE memory can make the read hang. The loop
 * never waits for it: the call is parked (struct ipcset_wait) and decided
 * when the worker's read ends, or denied when this deadline passes
 * (generous: a worker thread starved of CPU by the caller's own threads must
 * not turn a legitimate call into a denial). Meanwhile only that service's
 * listener is paused; every other service is served. A service with
 * IPCSET_STUCK_MAX workers still hanging gets its next IPC_SET denied without
 * a read, so it cannot pile up threads.
 */
#define IPCSET_READ_TIMEOUT_MS 1000
#define IPCSET_STUCK_MAX       2

static int notif_id_valid(int fd, uint64_t id)
{
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}

/*
 * Read what evaluating needs (POLICY_NEED_*), then confirm: everything read
 * came from a tid that may have been recycled meanwhile.
 */
static int read_needed(int fd, const struct seccomp_notif *req, unsigned needs, struct outcome *o)
{
	int r;

	if (needs & POLICY_NEED_CALLER) {
		r = caller_read((pid_t)req->pid, &o->caller);
		if (r < 0)
			return r;
	}
	if (needs & POLICY_NEED_QUEUE) {
		r = caller_queue_lookup((pid_t)req->pid, o->call.lookup, o->call.msqid, &o->queue);
		if (r < 0)
			return r;
	}
	if (!needs)
		return 0;
	r = notif_id_valid(fd, req->id);
	if (r == 0 && (needs & POLICY_NEED_CALLER))
		o->identity = true;
	return r;
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
	(void)s;
	return o->call.cmd == MG_IPC_SET && o->call.set_applies &&
	       (policy_profile_needs(o->profile, MG_IPC_SET) & POLICY_NEED_VALUES);
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

/* Park the call until the worker has read the buffer; the loop goes on. */
static int ipcset_park(struct server *s, struct service *svc, const struct seccomp_notif *req,
		       struct ipcset_job *job, const struct outcome *o)
{
	struct ipcset_wait *w = calloc(1, sizeof(*w));
	int r;

	if (!w || !(w->req = malloc(s->req_size))) {
		free(w);
		return -ENOMEM;
	}
	w->watch.kind = WATCH_IPCSET;
	w->svc = svc;
	w->job = job;
	w->deadline_ms = now_ms() + IPCSET_READ_TIMEOUT_MS;
	w->o = *o;
	w->o.waiting = true;
	memcpy(w->req, req, s->req_size);
	r = server_watch(s, ipcset_read_fd(job), &w->watch);
	if (r < 0) {
		free(w->req);
		free(w);
		return r;
	}
	/* HUP still arrives: a service that dies meanwhile is unregistered as usual. */
	(void)server_watch_pause(s, svc->fd, &svc->watch, false);
	svc->ipcset_wait = w;
	s->ipcset_waiting++;
	return 0;
}

/* Forget a parked call (its service is going away, or the daemon is). */
static void ipcset_unpark(struct server *s, struct service *svc)
{
	struct ipcset_wait *w = svc->ipcset_wait;

	server_unwatch(s, ipcset_read_fd(w->job));
	svc->ipcset_wait = NULL;
	s->ipcset_waiting--;
	free(w->req);
	free(w);
}

/* IPC_SET with value rules: judge our own copy of the buffer, never CONTINUE. */
static void decide_with_values(struct server *s, struct service *svc,
			       const struct seccomp_notif *req, struct outcome *o)
{
	_cleanup_close_ int ns = -1;
	struct ipcset_job *job;

	if (!svc->quota && !(svc->quota = ipcset_quota_new()))
		return deny_because(o, "out of memory");
	if (ipcset_quota_outstanding(svc->quota) >= IPCSET_STUCK_MAX)
		return deny_because(
		    o, "earlier IPC_SET buffers of this service never became readable");
	ns = caller_open_ipc_ns((pid_t)req->pid);
	if (ns < 0 || ipcset_begin((pid_t)req->pid, &o->call, ns, svc->quota, &job) < 0)
		return deny_because(o, "cannot read the IPC_SET buffer");
	if (ipcset_park(s, svc, req, job, o) < 0) {
		ipcset_cancel(job);
		return deny_because(o, "out of memory");
	}
	o->waiting = true;
}

/* The read ended (or its deadline passed): judge the copy, then perform or deny. */
static void decide_read_values(struct server *s, struct service *svc,
			       const struct seccomp_notif *req, struct ipcset_job *job,
			       struct outcome *o)
{
	int fd = svc->fd, r = ipcset_wait_read(job, 0, &o->values);

	o->waiting = false;
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

static const struct policy_profile *service_profile(struct server *s, struct service *svc)
{
	/* Looked up once per policy generation, not per call. */
	if (svc->policy_gen != s->policy_gen) {
		svc->policy_profile = policy_profile_by_name(s->policy, svc->profile);
		svc->policy_gen = s->policy_gen;
	}
	return svc->policy_profile;
}

static bool deny_verdict(const struct outcome *o)
{
	return !o->allow || o->decision.verdict == POLICY_DENY;
}

static bool wants_record(const struct outcome *o)
{
	if (!o->profile || o->reason)
		return true; /* errors are always recorded */
	switch (o->profile->audit) {
	case POLICY_AUDIT_ALL:
		return true;
	case POLICY_AUDIT_DENY:
		return deny_verdict(o);
	default:
		return false;
	}
}

/*
 * A denial's record names its caller and the queue, read before the answer
 * and confirmed with ID_VALID like any input of a decision: after the answer
 * the tid may already belong to someone else. A failed read changes nothing
 * but the record. Allows pay for none of this, nor do the denials of a
 * profile with identify = rules.
 */
static void identify_denied(int fd, const struct seccomp_notif *req, struct outcome *o)
{
	struct outcome copy;

	if (o->identity || o->classify_error < 0 || !deny_verdict(o) || !wants_record(o))
		return;
	if (o->profile && o->profile->identify == POLICY_IDENTIFY_RULES)
		return; /* the site chose speed: the record names the tid and the service */
	copy = *o;
	if (caller_read((pid_t)req->pid, &copy.caller) < 0)
		return;
	if (!copy.queue.known && caller_queue_lookup((pid_t)req->pid, copy.call.lookup,
						     copy.call.msqid, &copy.queue) < 0)
		return;
	if (notif_id_valid(fd, req->id) < 0)
		return;
	copy.identity = true;
	*o = copy;
}

static void decide(struct server *s, struct service *svc, const struct seccomp_notif *req,
		   struct outcome *o)
{
	unsigned needs;

	o->allow = false;
	o->error = EPERM;
	o->profile = service_profile(s, svc);
	if (o->profile && o->profile->error)
		o->error = o->profile->error;
	o->classify_error = mg_call_classify(req->data.arch, req->data.nr,
					     (const uint64_t *)req->data.args, &o->call);
	if (o->classify_error < 0) {
		o->reason = "not a msgctl entry point msgguard knows";
		return;
	}
	if (!o->profile) {
		o->reason = "profile no longer in the policy";
		return;
	}
	needs = policy_profile_needs(o->profile, o->call.cmd);
	if (needs_values(s, o))
		needs |= POLICY_NEED_CALLER | POLICY_NEED_QUEUE;
	o->caller_error = read_needed(svc->fd, req, needs, o);
	if (o->caller_error < 0) {
		o->reason = "caller or queue unreadable";
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

/*
 * What the writer thread needs to format a decision record: copies only, no
 * pointer into the policy or the registry (both may be gone by then).
 */
struct decision_event {
	struct outcome o; /* o.profile and o.decision.rule are not to be used */
	char profile[MG_PROFILE_NAME_MAX];
	char rule[POLICY_NAME_MAX + 1];
	char unit[256];
	pid_t service_pid;
	uint32_t tid;
	int nr;
};
_Static_assert(sizeof(struct decision_event) <= AUDIT_EVENT_MAX, "decision event too large");

static const char *cmd_label(const struct mg_call *c, char *buf, size_t size)
{
	const char *name = mg_cmd_name(c->cmd);

	if (name)
		return name;
	snprintf(buf, size, "UNKNOWN(%d)", c->raw_cmd);
	return buf;
}

static void audit_call_fields(struct audit_record *r, const struct mg_call *call, const char *cmd)
{
	audit_add(r, "MSGGUARD_CMD", "%s", cmd);
	audit_add(r, "MSGGUARD_CMD_RAW", "0x%llx", (unsigned long long)call->cmd_reg);
	audit_add(r, "MSGGUARD_MSQID", "%d", call->msqid);
	audit_add(r, "MSGGUARD_SYSCALL", "%s", mg_entry_name(call->entry));
	audit_add(r, "MSGGUARD_ARCH", "%s", mg_arch_name(call->arch));
	if (call->entry == MG_ENTRY_IPC)
		audit_add(r, "MSGGUARD_IPC_VERSION", "%u", call->ipc_version);
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

/* Caller fields only when they were read and confirmed; the queue when it was looked up. */
static void audit_caller_fields(struct audit_record *r, const struct decision_event *ev)
{
	const struct outcome *o = &ev->o;
	const struct caller *c = &o->caller;

	audit_add(r, "MSGGUARD_CALLER_TID", "%u", ev->tid);
	if (o->identity) {
		audit_add(r, "OBJECT_PID", "%d", c->pid);
		audit_add(r, "MSGGUARD_CALLER_PID", "%d", c->pid);
		audit_add(r, "MSGGUARD_CALLER_UID", "%u", c->euid);
		audit_add(r, "MSGGUARD_CALLER_GID", "%u", c->egid);
		audit_add(r, "MSGGUARD_CALLER_COMM", "%s", c->comm);
		audit_add(r, "MSGGUARD_CALLER_EXE", "%s", c->exe);
	}
	audit_values_fields(r, o);
	if (!o->queue.known)
		return;
	audit_add(r, "MSGGUARD_QUEUE_KEY", "0x%08x", (uint32_t)o->queue.key);
	audit_add(r, "MSGGUARD_QUEUE_UID", "%u", o->queue.uid);
	audit_add(r, "MSGGUARD_QUEUE_CUID", "%u", o->queue.cuid);
	audit_add(r, "MSGGUARD_QUEUE_MODE", "0%o", o->queue.mode);
}

static void audit_message(struct audit_record *r, const struct decision_event *ev, const char *cmd,
			  bool would)
{
	const struct outcome *o = &ev->o;
	char queue[64] = "", who[128];

	if (o->queue.known)
		snprintf(queue, sizeof(queue), " key=0x%08x", (uint32_t)o->queue.key);
	if (o->identity)
		snprintf(who, sizeof(who), "pid %d (%s) uid %u", o->caller.pid, o->caller.comm,
			 o->caller.euid);
	else
		snprintf(who, sizeof(who), "tid %u of service pid %d", ev->tid, ev->service_pid);
	audit_add(r, "MESSAGE", "%s%s %s msqid=%d%s by %s: %s%s of profile %s",
		  would	     ? "would deny"
		  : o->allow ? "allow"
			     : "deny",
		  would ? ", allowed" : "", cmd, o->call.msqid, queue, who,
		  o->reason ? o->reason : "rule ", o->reason ? "" : ev->rule, ev->profile);
}

/*
 * `journalctl -u UNIT` shows root's records with OBJECT_SYSTEMD_UNIT=UNIT.
 * journald derives it from OBJECT_PID when the caller was read; otherwise
 * (an allow that read nothing, a summary) msgguardd says it from the
 * registration, which it learned through SO_PEERCRED.
 */
static void object_unit(struct audit_record *r, bool has_object_pid, const char *unit)
{
	if (!has_object_pid && unit[0])
		audit_add(r, "OBJECT_SYSTEMD_UNIT", "%s", unit);
}

/* Runs on the audit writer thread: reads only the event. */
static void format_decision(const void *event, struct audit_record *r)
{
	const struct decision_event *ev = event;
	const struct outcome *o = &ev->o;
	bool deny = deny_verdict(o);
	bool would = o->allow && deny;
	char buf[32];
	const char *cmd = o->classify_error < 0 ? "UNKNOWN" : cmd_label(&o->call, buf, sizeof(buf));

	audit_message(r, ev, cmd, would);
	audit_add(r, "MESSAGE_ID", "%s", deny ? MG_MSGID_DENY : MG_MSGID_ALLOW);
	audit_add(r, "PRIORITY", "%d", deny ? LOG_WARNING : LOG_INFO);
	audit_add(r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(r, "MSGGUARD_EVENT", "decision");
	audit_add(r, "MSGGUARD_DECISION", "%s", deny ? "deny" : "allow");
	audit_add(r, "MSGGUARD_ENFORCED", "%s", would ? "no" : "yes");
	audit_add(r, "MSGGUARD_PROFILE", "%s", ev->profile);
	audit_add(r, "MSGGUARD_RULE", "%s", ev->rule);
	/* journald may not resolve OBJECT_PID of a caller that already exited. */
	if (ev->unit[0])
		audit_add(r, "MSGGUARD_UNIT", "%s", ev->unit);
	object_unit(r, o->identity, ev->unit);
	audit_add(r, "MSGGUARD_SERVICE_PID", "%d", ev->service_pid);
	if (o->classify_error < 0)
		audit_add(r, "MSGGUARD_SYSCALL_NR", "%d", ev->nr);
	else
		audit_call_fields(r, &o->call, cmd);
	if (deny)
		audit_add(r, "MSGGUARD_ERRNO", "%s", mg_errno_name(o->error) ?: "EPERM");
	audit_caller_fields(r, ev);
}

static const char *rule_label(const struct outcome *o)
{
	return o->reason ? "(error)" : policy_decision_rule_name(&o->decision);
}

static void event_fill(struct decision_event *ev, const struct service *svc,
		       const struct seccomp_notif *req, const struct outcome *o)
{
	ev->o = *o;
	snprintf(ev->profile, sizeof(ev->profile), "%s", svc->profile);
	snprintf(ev->rule, sizeof(ev->rule), "%s", rule_label(o));
	snprintf(ev->unit, sizeof(ev->unit), "%s", svc->unit);
	ev->service_pid = svc->pid;
	ev->tid = req->pid;
	ev->nr = req->data.nr;
}

/* ---- folding repeated allows ---------------------------------------------------------- */

struct summary_event {
	struct mg_call call; /* cmd, cmd_reg, msqid, entry, arch */
	char profile[MG_PROFILE_NAME_MAX];
	char rule[POLICY_NAME_MAX + 1];
	char unit[256];
	pid_t service_pid;
	bool has_euid, has_queue;
	uint32_t euid;
	int32_t queue_key;
	uint64_t count, interval_s;
	bool replayed; /* counted by the previous daemon */
};
_Static_assert(sizeof(struct summary_event) <= AUDIT_EVENT_MAX, "summary event too large");

static void format_summary(const void *event, struct audit_record *r)
{
	const struct summary_event *ev = event;
	char buf[32];
	const char *cmd = cmd_label(&ev->call, buf, sizeof(buf));

	audit_add(r, "MESSAGE",
		  "allow %s msqid=%d by service pid %d: %llu more decisions of rule %s of "
		  "profile %s in the last %llu s, not recorded one by one",
		  cmd, ev->call.msqid, ev->service_pid, (unsigned long long)ev->count, ev->rule,
		  ev->profile, (unsigned long long)ev->interval_s);
	audit_add(r, "MESSAGE_ID", "%s", MG_MSGID_SUMMARY);
	audit_add(r, "PRIORITY", "%d", LOG_INFO);
	audit_add(r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(r, "MSGGUARD_EVENT", "summary");
	audit_add(r, "MSGGUARD_DECISION", "allow");
	audit_add(r, "MSGGUARD_COUNT", "%llu", (unsigned long long)ev->count);
	audit_add(r, "MSGGUARD_INTERVAL_S", "%llu", (unsigned long long)ev->interval_s);
	audit_add(r, "MSGGUARD_PROFILE", "%s", ev->profile);
	audit_add(r, "MSGGUARD_RULE", "%s", ev->rule);
	if (ev->unit[0])
		audit_add(r, "MSGGUARD_UNIT", "%s", ev->unit);
	object_unit(r, false, ev->unit);
	audit_add(r, "MSGGUARD_SERVICE_PID", "%d", ev->service_pid);
	audit_call_fields(r, &ev->call, cmd);
	if (ev->has_euid)
		audit_add(r, "MSGGUARD_CALLER_UID", "%u", ev->euid);
	if (ev->has_queue)
		audit_add(r, "MSGGUARD_QUEUE_KEY", "0x%08x", (uint32_t)ev->queue_key);
	if (ev->replayed)
		audit_add(r, "MSGGUARD_REPLAYED", "yes");
}

static void fold_key_of(struct fold_key *k, const struct server *s, const struct service *svc,
			const struct outcome *o)
{
	memset(k, 0, sizeof(*k));
	k->service = svc->slot->serial;
	k->policy_gen = s->policy_gen;
	if (o->decision.kernel_allow)
		k->rule = -2;
	else
		k->rule = o->decision.rule ? (int32_t)(o->decision.rule - s->policy->rules) : -1;
	k->cmd_reg = o->call.cmd_reg;
	k->cmd = o->call.cmd;
	k->msqid = o->call.msqid;
	k->entry = (uint8_t)o->call.entry;
	k->arch = (uint8_t)o->call.arch;
	k->has_euid = o->identity;
	k->euid = o->identity ? o->caller.euid : 0;
	k->has_queue = o->queue.known;
	k->queue_key = o->queue.known ? o->queue.key : 0;
}

static void fold_name(struct fold_entry *e, const struct service *svc, const struct outcome *o)
{
	snprintf(e->profile, sizeof(e->profile), "%s", svc->profile);
	snprintf(e->rule, sizeof(e->rule), "%s", rule_label(o));
	snprintf(e->unit, sizeof(e->unit), "%s", svc->unit);
	e->service_pid = svc->pid;
	e->named = true;
}

static unsigned fold_after(const struct server *s)
{
	int v = s->policy->daemon.audit_fold_after;

	return v < 0 ? AUDIT_FOLD_AFTER_DEFAULT : (unsigned)v;
}

static unsigned fold_interval_s(const struct server *s)
{
	int v = s->policy->daemon.audit_fold_interval;

	return v <= 0 ? AUDIT_FOLD_INTERVAL_DEFAULT : (unsigned)v;
}

static void summary_fill(struct summary_event *ev, const struct server *s,
			 const struct fold_entry *e)
{
	memset(ev, 0, sizeof(*ev));
	ev->call.cmd_reg = e->key.cmd_reg;
	ev->call.raw_cmd = (int)(uint32_t)e->key.cmd_reg;
	ev->call.msqid = e->key.msqid;
	ev->call.entry = e->key.entry;
	ev->call.arch = e->key.arch;
	ev->call.cmd = e->key.cmd;
	snprintf(ev->profile, sizeof(ev->profile), "%s", e->profile);
	snprintf(ev->rule, sizeof(ev->rule), "%s", e->rule);
	snprintf(ev->unit, sizeof(ev->unit), "%s", e->unit);
	ev->service_pid = e->service_pid;
	ev->has_euid = e->key.has_euid;
	ev->euid = e->key.euid;
	ev->has_queue = e->key.has_queue;
	ev->queue_key = e->key.queue_key;
	ev->count = e->folded;
	ev->interval_s = fold_interval_s(s);
}

/*
 * One summary per key with folded decisions, then a fresh interval. At the
 * end of an interval a summary that finds the queue nearly full is kept, its
 * count still growing, for the next one (a stalled sink must not stop the
 * loop for allows); at exit, or when the table is full, summaries wait for
 * room like denials. Never lost either way.
 */
void notify_fold_flush(struct server *s, bool wait)
{
	struct summary_event ev;
	bool replayed;

	if (!s->fold)
		return;
	replayed = fold_restored(s->fold);
	for (size_t i = 0; i < fold_count(s->fold); i++) {
		struct fold_entry *e = fold_nth(s->fold, i);
		int r;

		if (!e->folded)
			continue;
		summary_fill(&ev, s, e);
		ev.replayed = replayed;
		r = audit_submit(s->audit, AUDIT_KIND_SUMMARY, &ev, sizeof(ev),
				 wait ? 0 : AUDIT_OPTIONAL);
		if (r == 0)
			e->folded = 0;
		else if (r != -EAGAIN)
			log_warning("audit: cannot record a summary of %llu allowed calls",
				    (unsigned long long)e->folded);
	}
	fold_keep_unsent(s->fold);
	s->fold_next_ms = fold_empty(s->fold) ? 0 : now_ms() + fold_interval_s(s) * 1000ull;
}

/*
 * An allow record: written while its key is under the threshold and the
 * queue has room, otherwise counted for the summary. Never lost, never waits.
 */
static void record_allow(struct server *s, const struct service *svc,
			 const struct seccomp_notif *req, const struct outcome *o)
{
	struct decision_event ev;
	struct fold_entry *e;
	struct fold_key key;

	fold_key_of(&key, s, svc, o);
	e = fold_get(s->fold, &key);
	if (!e) {
		notify_fold_flush(s, true); /* table full: end the interval early */
		e = fold_get(s->fold, &key);
	}
	if (!e->named)
		fold_name(e, svc, o);
	if (!s->fold_next_ms)
		s->fold_next_ms = now_ms() + fold_interval_s(s) * 1000ull;
	if (e->written < fold_after(s) || fold_after(s) == 0) {
		event_fill(&ev, svc, req, o);
		if (audit_submit(s->audit, AUDIT_KIND_DECISION, &ev, sizeof(ev), AUDIT_OPTIONAL) ==
		    0) {
			e->written++;
			return;
		}
	}
	e->folded++;
}

/*
 * Only reads are folded. Denials, errors, and allows that change something
 * (IPC_SET, IPC_RMID, and any IPC_SET the daemon performed: its record has
 * the values) are each recorded on their own.
 */
static bool foldable(const struct outcome *o)
{
	if (deny_verdict(o) || o->reason || o->performed || o->values_known || o->kernel_error)
		return false;
	return o->call.cmd != MG_IPC_SET && o->call.cmd != MG_IPC_RMID;
}

static void audit_decision(struct server *s, const struct service *svc,
			   const struct seccomp_notif *req, const struct outcome *o)
{
	struct decision_event ev;

	if (!wants_record(o))
		return;
	if (foldable(o) && s->fold)
		return record_allow(s, svc, req, o);
	/* Denials (and would-be denials, errors, changes): each its own record, always. */
	event_fill(&ev, svc, req, o);
	if (audit_submit(s->audit, AUDIT_KIND_DECISION, &ev, sizeof(ev), 0) < 0)
		log_warning("audit: cannot record a decision about tid %u", req->pid);
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

/* Answer a decided call, then count and record it. */
static void finish(struct server *s, struct service *svc, const struct seccomp_notif *req,
		   struct outcome *o)
{
	int r;

	identify_denied(svc->fd, req, o);
	r = respond(svc->fd, s, req, o);
	svc->slot->inflight = 0;
	if (r == -ENOENT) {
		log_debug("pid %d went away before its answer (it will retry)", svc->pid);
		return;
	}
	if (r < 0)
		log_warning("answering pid %d: %s", svc->pid, strerror(-r));
	account(s, svc, o);
	audit_decision(s, svc, req, o);
}

/* Decide req (received now, or saved by the previous daemon), answer, then record. */
static void process(struct server *s, struct service *svc, const struct seccomp_notif *req)
{
	struct outcome o = {0};

	decide(s, svc, req, &o);
	if (o.waiting)
		return; /* decided when its IPC_SET buffer has been read */
	finish(s, svc, req, &o);
}

static void ipcset_resume(struct server *s, struct service *svc)
{
	struct ipcset_wait *w = svc->ipcset_wait;
	struct ipcset_job *job = w->job;
	struct outcome o = w->o;
	struct seccomp_notif *req = w->req;

	w->req = NULL;
	ipcset_unpark(s, svc); /* before the job can be consumed (it owns the eventfd) */
	o.profile = service_profile(s, svc); /* a reload may have replaced the policy */
	if (!o.profile) {
		ipcset_cancel(job);
		deny_because(&o, "profile no longer in the policy");
	} else {
		decide_read_values(s, svc, req, job, &o);
	}
	finish(s, svc, req, &o);
	free(req);
	(void)server_watch_pause(s, svc->fd, &svc->watch, true);
}

void notify_ipcset_ready(struct server *s, struct watch *w)
{
	ipcset_resume(s, ((struct ipcset_wait *)w)->svc);
}

void notify_ipcset_expire(struct server *s, uint64_t now)
{
	if (!s->ipcset_waiting)
		return;
	for (size_t i = 0; i < s->registry.n; i++) {
		struct service *svc = s->registry.services[i];

		if (svc->ipcset_wait && svc->ipcset_wait->deadline_ms <= now)
			ipcset_resume(s, svc);
	}
}

int notify_ipcset_next_deadline(const struct server *s, uint64_t now)
{
	int t = -1;

	if (!s->ipcset_waiting)
		return -1;
	for (size_t i = 0; i < s->registry.n; i++) {
		const struct ipcset_wait *w = s->registry.services[i]->ipcset_wait;
		int left;

		if (!w)
			continue;
		left = w->deadline_ms > now ? (int)(w->deadline_ms - now) : 0;
		if (t < 0 || left < t)
			t = left;
	}
	return t;
}

/* Shutdown: parked calls stay in their state slots for the next daemon. */
void notify_ipcset_drop_all(struct server *s)
{
	for (size_t i = 0; i < s->registry.n; i++) {
		struct service *svc = s->registry.services[i];
		struct ipcset_job *job;

		if (!svc->ipcset_wait)
			continue;
		job = svc->ipcset_wait->job;
		ipcset_unpark(s, svc);
		ipcset_cancel(job);
	}
}

static void handle_one(struct server *s, struct service *svc)
{
	struct seccomp_notif *req = s->req;
	struct state_slot *slot = svc->slot;
	bool direct = s->req_size <= sizeof(slot->notif);
	void *buf = direct ? (void *)slot->notif : (void *)req;

	if (svc->ipcset_wait)
		return; /* paused: one call at a time per service while its buffer is read */
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

/* The unregister record, from the state slot (the service's, or one left by the last daemon). */
void notify_audit_unregister(struct server *s, const struct state_slot *slot, const char *why)
{
	struct audit_record r;

	audit_record_init(&r);
	audit_add(&r, "MESSAGE", "unregistered pid %d (%s) uid %u: %s", slot->pid, slot->comm,
		  slot->uid, why);
	audit_add(&r, "MESSAGE_ID", "%s", MG_MSGID_UNREGISTER);
	audit_add(&r, "PRIORITY", "%d", LOG_INFO);
	audit_add(&r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(&r, "MSGGUARD_EVENT", "unregister");
	audit_add(&r, "MSGGUARD_PROFILE", "%s", slot->profile);
	if (slot->unit[0])
		audit_add(&r, "MSGGUARD_UNIT", "%s", slot->unit);
	audit_add(&r, "MSGGUARD_CALLER_PID", "%d", slot->pid);
	audit_add(&r, "MSGGUARD_CALLER_UID", "%u", slot->uid);
	audit_add(&r, "MSGGUARD_CALLER_COMM", "%s", slot->comm);
	audit_add(&r, "MSGGUARD_CALLS", "%llu", (unsigned long long)slot->calls);
	audit_add(&r, "MSGGUARD_DENIALS", "%llu", (unsigned long long)slot->denials);
	if (audit_emit(s->audit, &r) < 0)
		log_warning("audit: cannot record an unregistration");
}

void notify_unregister(struct server *s, struct service *svc, const char *why)
{
	log_info("unregistered pid %d (%s): %s", svc->pid, svc->comm, why);
	if (svc->ipcset_wait) {
		struct ipcset_job *job = svc->ipcset_wait->job;

		ipcset_unpark(s, svc); /* nobody is left to answer */
		ipcset_cancel(job);
	}
	notify_audit_unregister(s, svc->slot, why);
	server_unwatch(s, svc->fd);
	state_unstore_listener(svc->slot);
	state_slot_release(s->state, svc->slot);
	registry_remove(&s->registry, svc);
	s->status_dirty = true;
}

void notify_audit_formats(struct audit *a)
{
	audit_set_format(a, AUDIT_KIND_DECISION, format_decision);
	audit_set_format(a, AUDIT_KIND_SUMMARY, format_summary);
}

void notify_readable(struct server *s, struct service *svc, uint32_t events)
{
	/* Pending notifications first: a HUP can arrive together with the last call. */
	if (events & EPOLLIN)
		handle_one(s, svc);
	if (events & (EPOLLHUP | EPOLLERR))
		notify_unregister(s, svc, "no more processes use the filter");
}
