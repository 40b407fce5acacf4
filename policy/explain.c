/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Explanations for humans (msgguardctl explain, list-rules): a rule's keys as
 * text, and which keys of a rule a request does not match. Pure, like eval.c,
 * whose matching it mirrors key by key; it never decides anything: the verdict
 * always comes from policy_evaluate(), and msgguardctl refuses to print an
 * explanation that disagrees with it.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

/* A bounded text buffer: appends never overflow; a cut text ends in "...". */
struct text {
	char *buf;
	size_t size, len;
	bool cut;
	unsigned parts; /* text_sep() calls: the number of parts started */
};

static void text_init(struct text *t, char *buf, size_t size)
{
	*t = (struct text){.buf = buf, .size = size};
	if (size > 0)
		buf[0] = '\0';
}

__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cut || t->size == 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(t->buf + t->len, t->size - t->len, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < t->size - t->len) {
		t->len += (size_t)n;
		return;
	}
	t->cut = true;
	t->len = t->size - 1;
	if (t->size > 4)
		memcpy(t->buf + t->size - 4, "...", 4);
}

/* "; " between the parts of a line. */
static void text_sep(struct text *t)
{
	if (t->parts++ > 0)
		text_add(t, "; ");
}

static bool set_contains(const struct policy_set *s, uint32_t v)
{
	for (size_t i = 0; i < s->n; i++)
		if (v >= s->ranges[i].lo && v <= s->ranges[i].hi)
			return true;
	return false;
}

/* "0 1000-1999" or, with hex, "0x51000000-0x510000ff 0x00001234". */
static void text_set(struct text *t, const struct policy_set *s, bool hex)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct policy_range *r = &s->ranges[i];

		text_add(t, "%s", i ? " " : "");
		text_add(t, hex ? "0x%08" PRIx32 : "%" PRIu32, r->lo);
		if (r->hi != r->lo)
			text_add(t, hex ? "-0x%08" PRIx32 : "-%" PRIu32, r->hi);
	}
}

static void text_cmd(struct text *t, int cmd)
{
	const char *name = mg_cmd_name(cmd);

	if (name)
		text_add(t, "%s", name);
	else if (cmd < 0)
		text_add(t, "(none)");
	else
		text_add(t, "UNKNOWN(%d)", cmd);
}

static void text_cmd_mask(struct text *t, uint32_t mask)
{
	bool first = true;

	for (int c = 0; c < MG_CMD_MAX; c++)
		if (mask & (1u << c)) {
			text_add(t, "%s", first ? "" : " ");
			text_cmd(t, c);
			first = false;
		}
}

static void text_set_id(struct text *t, const char *key, enum policy_set_id how,
			const struct policy_set *ids)
{
	switch (how) {
	case POLICY_SET_ID_ANY:
		return;
	case POLICY_SET_ID_UNCHANGED:
		text_sep(t);
		text_add(t, "%s unchanged", key);
		return;
	case POLICY_SET_ID_CALLER:
		text_sep(t);
		text_add(t, "%s caller", key);
		return;
	case POLICY_SET_ID_LIST:
		text_sep(t);
		text_add(t, "%s ", key);
		text_set(t, ids, false);
		return;
	}
}

static void describe_caller_queue(struct text *t, const struct policy_rule *r)
{
	if (r->has_caller_uid) {
		text_sep(t);
		text_add(t, "caller_uid ");
		text_set(t, &r->caller_uid, false);
	}
	if (r->has_caller_gid) {
		text_sep(t);
		text_add(t, "caller_gid ");
		text_set(t, &r->caller_gid, false);
	}
	if (r->has_queue_key) {
		text_sep(t);
		text_add(t, "queue_key ");
		text_set(t, &r->queue_key, true);
	}
	if (r->queue_owner == POLICY_OWNER_CALLER) {
		text_sep(t);
		text_add(t, "queue_owner caller");
	} else if (r->queue_owner == POLICY_OWNER_LIST) {
		text_sep(t);
		text_add(t, "queue_owner ");
		text_set(t, &r->owner_ids, false);
	}
}

const char *policy_rule_describe(const struct policy_rule *r, char *buf, size_t size)
{
	struct text t;

	text_init(&t, buf, size);
	text_sep(&t);
	if (r->any_cmd) {
		text_add(&t, "cmd any");
	} else {
		text_add(&t, "cmd ");
		text_cmd_mask(&t, r->cmd_mask);
	}
	describe_caller_queue(&t, r);
	if (r->has_set_mode_max) {
		text_sep(&t);
		text_add(&t, "set_mode_max 0%03" PRIo32, r->set_mode_max);
	}
	text_set_id(&t, "set_uid", r->set_uid, &r->set_uid_ids);
	text_set_id(&t, "set_gid", r->set_gid, &r->set_gid_ids);
	if (r->has_set_qbytes_max) {
		text_sep(&t);
		text_add(&t, "set_qbytes_max %" PRIu64, r->set_qbytes_max);
	}
	return buf;
}

/* ---- mismatches, in the order eval.c checks the keys ------------------------ */

static void mismatch_cmd(struct text *t, const struct policy_rule *r, int cmd)
{
	if (r->any_cmd || (cmd >= 0 && cmd < MG_CMD_MAX && (r->cmd_mask & (1u << cmd))))
		return;
	text_sep(t);
	text_add(t, "cmd ");
	text_cmd(t, cmd);
	text_add(t, " not in ");
	text_cmd_mask(t, r->cmd_mask);
}

static void mismatch_id(struct text *t, const char *key, bool has, const struct policy_set *s,
			uint32_t v)
{
	if (!has || set_contains(s, v))
		return;
	text_sep(t);
	text_add(t, "%s %" PRIu32 " not in ", key, v);
	text_set(t, s, false);
}

static void mismatch_owner(struct text *t, const struct policy_rule *r,
			   const struct policy_request *req)
{
	if (r->queue_owner == POLICY_OWNER_CALLER && req->queue_uid != req->caller_euid &&
	    req->queue_cuid != req->caller_euid) {
		text_sep(t);
		text_add(t,
			 "queue_owner caller: neither the queue's uid %u nor its cuid %u is the "
			 "caller's uid %u",
			 (unsigned)req->queue_uid, (unsigned)req->queue_cuid,
			 (unsigned)req->caller_euid);
	} else if (r->queue_owner == POLICY_OWNER_LIST &&
		   !set_contains(&r->owner_ids, req->queue_uid) &&
		   !set_contains(&r->owner_ids, req->queue_cuid)) {
		text_sep(t);
		text_add(t, "queue_owner: neither the queue's uid %u nor its cuid %u is in ",
			 (unsigned)req->queue_uid, (unsigned)req->queue_cuid);
		text_set(t, &r->owner_ids, false);
	}
}

static void mismatch_queue(struct text *t, const struct policy_rule *r,
			   const struct policy_request *req)
{
	if (!r->has_queue_key && r->queue_owner == POLICY_OWNER_ANY)
		return;
	if (!req->queue_known) {
		text_sep(t);
		text_add(t, "%s: no queue (it does not exist or the command involves none)",
			 r->has_queue_key ? "queue_key" : "queue_owner");
		return;
	}
	if (r->has_queue_key && !set_contains(&r->queue_key, (uint32_t)req->queue_key)) {
		text_sep(t);
		text_add(t, "queue_key 0x%08" PRIx32 " not in ", (uint32_t)req->queue_key);
		text_set(t, &r->queue_key, true);
	}
	mismatch_owner(t, r, req);
}

/* set_uid / set_gid against the queue's current id, the caller's, or a list. */
static void mismatch_set_id(struct text *t, const char *key, enum policy_set_id how,
			    const struct policy_set *ids, uint32_t new_id, bool queue_known,
			    uint32_t queue_id, uint32_t caller_id)
{
	switch (how) {
	case POLICY_SET_ID_ANY:
		return;
	case POLICY_SET_ID_UNCHANGED:
		if (!queue_known) {
			text_sep(t);
			text_add(t, "%s unchanged: no queue to compare with", key);
		} else if (new_id != queue_id) {
			text_sep(t);
			text_add(t, "%s unchanged: new %" PRIu32 " is not the queue's %" PRIu32,
				 key, new_id, queue_id);
		}
		return;
	case POLICY_SET_ID_CALLER:
		if (new_id != caller_id) {
			text_sep(t);
			text_add(t, "%s caller: new %" PRIu32 " is not the caller's %" PRIu32, key,
				 new_id, caller_id);
		}
		return;
	case POLICY_SET_ID_LIST:
		if (!set_contains(ids, new_id)) {
			text_sep(t);
			text_add(t, "%s: new %" PRIu32 " not in ", key, new_id);
			text_set(t, ids, false);
		}
		return;
	}
}

static bool has_value_keys(const struct policy_rule *r)
{
	return r->has_set_mode_max || r->has_set_qbytes_max || r->set_uid != POLICY_SET_ID_ANY ||
	       r->set_gid != POLICY_SET_ID_ANY;
}

static void mismatch_values(struct text *t, const struct policy_rule *r,
			    const struct policy_request *req)
{
	if (!has_value_keys(r))
		return;
	if (!req->set_known) {
		text_sep(t);
		text_add(t, "set_*: the new IPC_SET values are not known");
		return;
	}
	if (r->has_set_mode_max && (req->set_mode & ~r->set_mode_max) != 0) {
		text_sep(t);
		text_add(t,
			 "set_mode_max 0%03" PRIo32 ": new mode 0%03" PRIo32 " has bits 0%03" PRIo32
			 " outside it",
			 r->set_mode_max, req->set_mode, req->set_mode & ~r->set_mode_max);
	}
	if (r->has_set_qbytes_max && req->set_qbytes > r->set_qbytes_max) {
		text_sep(t);
		text_add(t, "set_qbytes_max %" PRIu64 ": new msg_qbytes %" PRIu64 " is larger",
			 r->set_qbytes_max, req->set_qbytes);
	}
	mismatch_set_id(t, "set_uid", r->set_uid, &r->set_uid_ids, req->set_uid, req->queue_known,
			req->queue_uid, req->caller_euid);
	mismatch_set_id(t, "set_gid", r->set_gid, &r->set_gid_ids, req->set_gid, req->queue_known,
			req->queue_gid, req->caller_egid);
}

const char *policy_rule_mismatch(const struct policy_rule *r, const struct policy_request *req,
				 char *buf, size_t size)
{
	struct text t;

	text_init(&t, buf, size);
	mismatch_cmd(&t, r, req->cmd);
	mismatch_id(&t, "caller_uid", r->has_caller_uid, &r->caller_uid, req->caller_euid);
	mismatch_id(&t, "caller_gid", r->has_caller_gid, &r->caller_gid, req->caller_egid);
	mismatch_queue(&t, r, req);
	mismatch_values(&t, r, req);
	return t.parts > 0 ? buf : NULL;
}
