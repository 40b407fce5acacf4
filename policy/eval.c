/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy evaluator: one request in, one decision out. Pure: it trusts the
 * request as the daemon built it and reads nothing else.
 */
#include "policy.h"

static bool set_contains(const struct policy_set *s, uint32_t v)
{
	for (size_t i = 0; i < s->n; i++)
		if (v >= s->ranges[i].lo && v <= s->ranges[i].hi)
			return true;
	return false;
}

/*
 * A rule without "cmd" matches everything, even cmd == -1 (the kernel runs no
 * command) and values outside the table; a rule with "cmd" only the commands
 * it names.
 */
static bool rule_cmd_matches(const struct policy_rule *r, int cmd)
{
	if (r->any_cmd)
		return true;
	return cmd >= 0 && cmd < MG_CMD_MAX && (r->cmd_mask & (1u << cmd));
}

static bool rule_caller_matches(const struct policy_rule *r, const struct policy_request *req)
{
	if (r->has_caller_uid && !set_contains(&r->caller_uid, req->caller_euid))
		return false;
	if (r->has_caller_gid && !set_contains(&r->caller_gid, req->caller_egid))
		return false;
	return true;
}

static bool owner_matches(const struct policy_rule *r, const struct policy_request *req)
{
	switch (r->queue_owner) {
	case POLICY_OWNER_ANY:
		return true;
	case POLICY_OWNER_CALLER:
		return req->queue_uid == req->caller_euid || req->queue_cuid == req->caller_euid;
	case POLICY_OWNER_LIST:
		return set_contains(&r->owner_ids, req->queue_uid) ||
		       set_contains(&r->owner_ids, req->queue_cuid);
	}
	return false;
}

/* Keys about the queue never match a queue that does not exist or was not read. */
static bool rule_queue_matches(const struct policy_rule *r, const struct policy_request *req)
{
	if (!r->has_queue_key && r->queue_owner == POLICY_OWNER_ANY)
		return true;
	if (!req->queue_known)
		return false;
	if (r->has_queue_key && !set_contains(&r->queue_key, (uint32_t)req->queue_key))
		return false;
	return owner_matches(r, req);
}

static bool rule_has_value_keys(const struct policy_rule *r)
{
	return r->has_set_mode_max || r->has_set_qbytes_max || r->set_uid != POLICY_SET_ID_ANY ||
	       r->set_gid != POLICY_SET_ID_ANY;
}

/* set_uid / set_gid: the new id against the queue's current one, the caller's or a list. */
static bool set_id_matches(enum policy_set_id how, const struct policy_set *ids, uint32_t new_id,
			   bool queue_known, uint32_t queue_id, uint32_t caller_id)
{
	switch (how) {
	case POLICY_SET_ID_ANY:
		return true;
	case POLICY_SET_ID_UNCHANGED:
		return queue_known && new_id == queue_id;
	case POLICY_SET_ID_CALLER:
		return new_id == caller_id;
	case POLICY_SET_ID_LIST:
		return set_contains(ids, new_id);
	}
	return false;
}

/*
 * IPC_SET value keys never match values the daemon did not read: it only
 * reads them when it performs the IPC_SET itself with that very copy.
 */
static bool rule_values_match(const struct policy_rule *r, const struct policy_request *req)
{
	if (!rule_has_value_keys(r))
		return true;
	if (!req->set_known)
		return false;
	if (r->has_set_mode_max && (req->set_mode & ~r->set_mode_max) != 0)
		return false;
	if (r->has_set_qbytes_max && req->set_qbytes > r->set_qbytes_max)
		return false;
	return set_id_matches(r->set_uid, &r->set_uid_ids, req->set_uid, req->queue_known,
			      req->queue_uid, req->caller_euid) &&
	       set_id_matches(r->set_gid, &r->set_gid_ids, req->set_gid, req->queue_known,
			      req->queue_gid, req->caller_egid);
}

static bool rule_matches(const struct policy_rule *r, const struct policy_request *req)
{
	return rule_cmd_matches(r, req->cmd) && rule_caller_matches(r, req) &&
	       rule_queue_matches(r, req) && rule_values_match(r, req);
}

bool policy_profile_has_value_rules(const struct policy *p, const struct policy_profile *profile)
{
	for (size_t i = 0; i < profile->n_rules; i++)
		if (rule_has_value_keys(&p->rules[profile->rules[i]]))
			return true;
	return false;
}

/*
 * First matching rule of the profile, else its default. A rule's errno beats
 * the profile's. A permissive profile keeps the verdict (the audit records
 * what enforcing would do) but marks it not enforced.
 */
void policy_evaluate(const struct policy *p, const struct policy_profile *profile,
		     const struct policy_request *req, struct policy_decision *ret)
{
	const struct policy_rule *rule = NULL;

	if (req->cmd >= 0 && req->cmd < MG_CMD_MAX && (profile->kernel_allow & (1u << req->cmd))) {
		/* What the filter decides in the kernel, decided the same way here. */
		*ret = (struct policy_decision){.verdict = POLICY_ALLOW,
						.enforced = profile->mode == POLICY_ENFORCE,
						.kernel_allow = true};
		return;
	}
	for (size_t i = 0; i < profile->n_rules; i++)
		if (rule_matches(&p->rules[profile->rules[i]], req)) {
			rule = &p->rules[profile->rules[i]];
			break;
		}

	*ret = (struct policy_decision){
	    .verdict = rule ? rule->action : profile->default_action,
	    .enforced = profile->mode == POLICY_ENFORCE,
	    .rule = rule,
	};
	if (ret->verdict == POLICY_DENY)
		ret->error = rule && rule->error ? rule->error : profile->error;
}

const char *policy_decision_rule_name(const struct policy_decision *d)
{
	if (d->kernel_allow)
		return "(kernel_allow)";
	return d->rule ? d->rule->name : "(default)";
}

/* What a rule's keys read besides the registers; kept beside the matchers above. */
static unsigned rule_needs(const struct policy_rule *r)
{
	unsigned n = 0;

	if (r->has_caller_uid || r->has_caller_gid || r->queue_owner == POLICY_OWNER_CALLER ||
	    r->set_uid == POLICY_SET_ID_CALLER || r->set_gid == POLICY_SET_ID_CALLER)
		n |= POLICY_NEED_CALLER;
	if (r->has_queue_key || r->queue_owner != POLICY_OWNER_ANY ||
	    r->set_uid == POLICY_SET_ID_UNCHANGED || r->set_gid == POLICY_SET_ID_UNCHANGED)
		n |= POLICY_NEED_QUEUE;
	if (rule_has_value_keys(r))
		n |= POLICY_NEED_VALUES;
	return n;
}

void policy_profile_compute_needs(const struct policy *p, struct policy_profile *profile)
{
	for (int slot = 0; slot < POLICY_NEEDS_SLOTS; slot++) {
		int cmd = slot < MG_CMD_MAX ? slot : -1;
		unsigned n = 0;

		for (size_t i = 0; i < profile->n_rules; i++) {
			const struct policy_rule *r = &p->rules[profile->rules[i]];

			if (rule_cmd_matches(r, cmd))
				n |= rule_needs(r);
		}
		profile->needs[slot] = (uint8_t)n;
	}
}

const struct policy_rule *policy_profile_rule_for(const struct policy *p,
						  const struct policy_profile *profile, int cmd)
{
	for (size_t i = 0; i < profile->n_rules; i++)
		if (rule_cmd_matches(&p->rules[profile->rules[i]], cmd))
			return &p->rules[profile->rules[i]];
	return NULL;
}

const char *policy_audit_name(enum policy_audit a)
{
	static const char *const names[_POLICY_AUDIT_MAX] = {
	    [POLICY_AUDIT_ALL] = "all", [POLICY_AUDIT_DENY] = "deny", [POLICY_AUDIT_NONE] = "none"};
	return a < _POLICY_AUDIT_MAX ? names[a] : "unknown";
}

const char *policy_identify_name(enum policy_identify i)
{
	static const char *const names[_POLICY_IDENTIFY_MAX] = {
	    [POLICY_IDENTIFY_ALWAYS] = "always", [POLICY_IDENTIFY_RULES] = "rules"};
	return i < _POLICY_IDENTIFY_MAX ? names[i] : "unknown";
}
