/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * explain, list-rules: the policy as msgguardd sees it. The verdict of explain
 * is policy_evaluate()'s, the same call msgguardd makes; the per-rule lines come
 * from policy_rule_mismatch() and must agree with it (else exit 1).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

#define TEXT_MAX       2048
#define DEFAULT_QBYTES 16384 /* MSGMNB, the kernel's default msg_qbytes */

/* ---- option values ----------------------------------------------------------- */

/* Digits only (0x... hex, 0... octal with base 0), no sign, at most max. */
static int parse_number(const char *s, int base, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_uid(const char *s, uid_t *ret)
{
	const struct passwd *pw;
	uint64_t v;

	if (parse_number(s, 10, UINT32_MAX - 1, &v) == 0) {
		*ret = (uid_t)v;
		return 0;
	}
	pw = getpwnam(s);
	if (!pw)
		return -ENOENT;
	*ret = pw->pw_uid;
	return 0;
}

static int parse_gid(const char *s, gid_t *ret)
{
	const struct group *gr;
	uint64_t v;

	if (parse_number(s, 10, UINT32_MAX - 1, &v) == 0) {
		*ret = (gid_t)v;
		return 0;
	}
	gr = getgrnam(s);
	if (!gr)
		return -ENOENT;
	*ret = gr->gr_gid;
	return 0;
}

/* A command name, or the command number as the kernel executes it (-1: none). */
static int parse_cmd(const char *s, int *ret)
{
	uint64_t v;
	int cmd = mg_cmd_from_name(s);

	if (cmd >= 0) {
		*ret = cmd;
		return 0;
	}
	if (strcmp(s, "-1") == 0 || strcmp(s, "none") == 0) {
		*ret = -1;
		return 0;
	}
	if (parse_number(s, 0, INT32_MAX, &v) < 0)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* Bytes with an optional binary suffix K, M or G, as in set_qbytes_max. */
static int parse_bytes(const char *s, uint64_t *ret)
{
	_cleanup_free_ char *digits = strdup(s);
	size_t n = digits ? strlen(digits) : 0;
	unsigned shift = 0;
	uint64_t v;

	if (!digits)
		return -ENOMEM;
	if (n > 1 && strchr("KMG", digits[n - 1])) {
		shift = digits[n - 1] == 'K' ? 10 : digits[n - 1] == 'M' ? 20 : 30;
		digits[n - 1] = '\0';
	}
	if (parse_number(digits, 10, UINT64_MAX >> shift, &v) < 0)
		return -EINVAL;
	*ret = v << shift;
	return 0;
}

/* ---- explain ------------------------------------------------------------------ */

struct explain {
	const char *policy_path, *profile_name, *unit;
	bool skip_owner_check, have_cmd;
	bool queue_given, have_queue_cuid;
	bool set_given, have_set_mode, have_set_uid, have_set_gid, have_set_qbytes;
	struct policy_request req;
};

enum {
	OPT_POLICY = 0x100,
	OPT_PROFILE,
	OPT_UNIT,
	OPT_CMD,
	OPT_UID,
	OPT_GID,
	OPT_QUEUE_KEY,
	OPT_QUEUE_UID,
	OPT_QUEUE_CUID,
	OPT_QUEUE_GID,
	OPT_QUEUE_MODE,
	OPT_SET_MODE,
	OPT_SET_UID,
	OPT_SET_GID,
	OPT_SET_QBYTES,
	OPT_NO_OWNER_CHECK,
};

static const struct option explain_options[] = {
    {"policy", required_argument, NULL, OPT_POLICY},
    {"profile", required_argument, NULL, OPT_PROFILE},
    {"unit", required_argument, NULL, OPT_UNIT},
    {"cmd", required_argument, NULL, OPT_CMD},
    {"uid", required_argument, NULL, OPT_UID},
    {"gid", required_argument, NULL, OPT_GID},
    {"queue-key", required_argument, NULL, OPT_QUEUE_KEY},
    {"queue-uid", required_argument, NULL, OPT_QUEUE_UID},
    {"queue-cuid", required_argument, NULL, OPT_QUEUE_CUID},
    {"queue-gid", required_argument, NULL, OPT_QUEUE_GID},
    {"queue-mode", required_argument, NULL, OPT_QUEUE_MODE},
    {"set-mode", required_argument, NULL, OPT_SET_MODE},
    {"set-uid", required_argument, NULL, OPT_SET_UID},
    {"set-gid", required_argument, NULL, OPT_SET_GID},
    {"set-qbytes", required_argument, NULL, OPT_SET_QBYTES},
    {"no-owner-check", no_argument, NULL, OPT_NO_OWNER_CHECK},
    {},
};

/* Options about the caller and the queue; -EINVAL/-ENOENT for a bad value, 1 if not ours. */
static int explain_call_option(struct explain *e, int c, const char *arg)
{
	struct policy_request *q = &e->req;
	uint64_t v;

	switch (c) {
	case OPT_CMD:
		e->have_cmd = true;
		return parse_cmd(arg, &q->cmd);
	case OPT_UID:
		return parse_uid(arg, &q->caller_euid);
	case OPT_GID:
		return parse_gid(arg, &q->caller_egid);
	case OPT_QUEUE_KEY:
		e->queue_given = true;
		if (parse_number(arg, 0, UINT32_MAX, &v) < 0)
			return -EINVAL;
		q->queue_key = (int32_t)(uint32_t)v;
		return 0;
	case OPT_QUEUE_UID:
		e->queue_given = true;
		return parse_uid(arg, &q->queue_uid);
	case OPT_QUEUE_CUID:
		e->queue_given = e->have_queue_cuid = true;
		return parse_uid(arg, &q->queue_cuid);
	case OPT_QUEUE_GID:
		e->queue_given = true;
		return parse_gid(arg, &q->queue_gid);
	case OPT_QUEUE_MODE:
		e->queue_given = true;
		if (parse_number(arg, 8, 0777, &v) < 0)
			return -EINVAL;
		q->queue_mode = (uint32_t)v;
		return 0;
	}
	return 1;
}

/* The new values of an IPC_SET; 1 if not ours. */
static int explain_set_option(struct explain *e, int c, const char *arg)
{
	struct policy_request *q = &e->req;
	uint64_t v;

	switch (c) {
	case OPT_SET_MODE:
		e->have_set_mode = true;
		if (parse_number(arg, 8, 07777, &v) < 0)
			return -EINVAL;
		q->set_mode = (uint32_t)v & 0777; /* what msgguardd judges: the 9 bits */
		return 0;
	case OPT_SET_UID:
		e->have_set_uid = true;
		return parse_uid(arg, &q->set_uid);
	case OPT_SET_GID:
		e->have_set_gid = true;
		return parse_gid(arg, &q->set_gid);
	case OPT_SET_QBYTES:
		e->have_set_qbytes = true;
		return parse_bytes(arg, &q->set_qbytes);
	}
	return 1;
}

static int explain_option(struct explain *e, int c, const char *arg)
{
	int r;

	switch (c) {
	case OPT_POLICY:
		e->policy_path = arg;
		return 0;
	case OPT_PROFILE:
		e->profile_name = arg;
		return 0;
	case OPT_UNIT:
		e->unit = arg;
		return 0;
	case OPT_NO_OWNER_CHECK:
		e->skip_owner_check = true;
		return 0;
	}
	r = explain_call_option(e, c, arg);
	if (r <= 0)
		return r;
	return explain_set_option(e, c, arg);
}

/* The kernel looks the queue up for these commands only (policy/msgctl.c, lookup_for). */
static bool cmd_has_queue(int cmd)
{
	return cmd == MG_IPC_STAT || cmd == MG_IPC_SET || cmd == MG_IPC_RMID ||
	       cmd == MG_MSG_STAT || cmd == MG_MSG_STAT_ANY;
}

/* Fills in what was not given: the queue as it is, IPC_SET values unchanged. */
static void explain_defaults(struct explain *e)
{
	struct policy_request *q = &e->req;

	if (!e->have_queue_cuid)
		q->queue_cuid = q->queue_uid;
	q->queue_known = e->queue_given && cmd_has_queue(q->cmd);
	q->set_known = e->set_given;
	if (!e->have_set_mode)
		q->set_mode = q->queue_known ? q->queue_mode : 0;
	if (!e->have_set_uid)
		q->set_uid = q->queue_known ? q->queue_uid : 0;
	if (!e->have_set_gid)
		q->set_gid = q->queue_known ? q->queue_gid : 0;
	if (!e->have_set_qbytes)
		q->set_qbytes = DEFAULT_QBYTES;
}

static int explain_parse(int argc, char **argv, struct explain *e)
{
	int c, r;

	*e = (struct explain){.policy_path = DEFAULT_POLICY, .req.cmd = -1};
	e->req.queue_mode = 0600;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", explain_options, NULL)) != -1) {
		if (c == '?' || c == ':')
			return option_error("explain", c, argv);
		r = explain_option(e, c, optarg);
		if (r == -ENOENT)
			return usage_error("explain: no such user or group '%s'", optarg);
		if (r < 0)
			return usage_error("explain: invalid value '%s' for %s", optarg,
					   argv[optind - 1]);
	}
	if (optind < argc)
		return usage_error("explain: unexpected argument '%s'", argv[optind]);
	if (!e->have_cmd)
		return usage_error("explain: --cmd is required (IPC_STAT IPC_SET IPC_RMID IPC_INFO "
				   "MSG_STAT MSG_STAT_ANY MSG_INFO, a number, or none)");
	e->set_given = e->have_set_mode || e->have_set_uid || e->have_set_gid || e->have_set_qbytes;
	if (e->profile_name && e->unit)
		return usage_error("explain: --profile and --unit exclude each other");
	if (e->set_given && e->req.cmd != MG_IPC_SET)
		return usage_error("explain: --set-* options describe an IPC_SET (--cmd IPC_SET)");
	explain_defaults(e);
	return 0;
}

/* The profile msgguardd would use: --profile, else the one listing --unit, else "default". */
static const struct policy_profile *explain_profile(const struct policy *p, const struct explain *e)
{
	const struct policy_profile *profile = NULL;

	if (e->unit)
		profile = policy_profile_by_unit(p, e->unit);
	if (!profile)
		profile = policy_profile_by_name(p, e->profile_name ?: "default");
	if (!profile)
		fprintf(stderr, "msgguardctl: explain: %s: no profile \"%s\"%s\n", p->path,
			e->profile_name ?: "default",
			e->unit ? " (and no profile lists that unit)" : "");
	return profile;
}

static void print_verdict(const struct policy_profile *profile, const struct policy_decision *d)
{
	if (d->verdict == POLICY_DENY)
		printf("deny %s: ", mg_errno_name(d->error) ?: "E?");
	else
		printf("allow: ");
	if (d->rule)
		printf("rule \"%s\" (%s:%u) of profile \"%s\"", d->rule->name, d->rule->file,
		       d->rule->line, profile->name);
	else
		printf("no rule matched, profile \"%s\" default is %s", profile->name,
		       d->verdict == POLICY_DENY ? "deny" : "allow");
	if (!d->enforced)
		printf(d->verdict == POLICY_DENY ? " (permissive profile: recorded, not enforced)"
						 : " (permissive profile)");
	putchar('\n');
}

static void print_call(const struct explain *e)
{
	const struct policy_request *q = &e->req;
	const char *name = mg_cmd_name(q->cmd);

	if (name)
		printf("call: %s", name);
	else if (q->cmd < 0)
		printf("call: no command (the kernel executes none)");
	else
		printf("call: UNKNOWN(%d)", q->cmd);
	printf(" by uid %u gid %u", (unsigned)q->caller_euid, (unsigned)q->caller_egid);
	if (q->queue_known)
		printf("; queue key=0x%08" PRIx32 " uid=%u cuid=%u gid=%u mode=0%" PRIo32,
		       (uint32_t)q->queue_key, (unsigned)q->queue_uid, (unsigned)q->queue_cuid,
		       (unsigned)q->queue_gid, q->queue_mode);
	else
		printf("; no queue");
	if (q->set_known)
		printf("; new mode=0%03" PRIo32 " uid=%u gid=%u qbytes=%" PRIu64, q->set_mode,
		       (unsigned)q->set_uid, (unsigned)q->set_gid, q->set_qbytes);
	putchar('\n');
}

static void print_notes(const struct policy *p, const struct policy_profile *profile,
			const struct explain *e)
{
	if (e->unit && !policy_profile_by_unit(p, e->unit))
		printf("note: no profile lists %s: msgguardd uses \"default\"\n", e->unit);
	if (e->queue_given && !e->req.queue_known)
		printf("note: the command involves no queue: --queue-* ignored\n");
	if (e->req.cmd == MG_IPC_SET && !e->set_given && policy_profile_has_value_rules(p, profile))
		printf("note: profile \"%s\" has IPC_SET value rules; msgguardd reads the new "
		       "values: give them with --set-mode, --set-uid, --set-gid, --set-qbytes "
		       "(unknown values match no value rule)\n",
		       profile->name);
}

/* One line per rule; returns the first rule the explanation says matches (NULL: none). */
static const struct policy_rule *print_rules(const struct policy *p,
					     const struct policy_profile *profile,
					     const struct policy_request *req)
{
	const struct policy_rule *first = NULL;
	char why[TEXT_MAX];

	if (profile->n_rules == 0)
		printf("profile \"%s\" has no rules\n", profile->name);
	for (size_t i = 0; i < profile->n_rules; i++) {
		const struct policy_rule *r = &p->rules[profile->rules[i]];
		const char *miss = policy_rule_mismatch(r, req, why, sizeof(why));

		printf("rule \"%s\" (%s:%u): ", r->name, r->file, r->line);
		if (first)
			printf("not reached; %s\n", miss ?: "would match");
		else if (miss)
			printf("%s\n", miss);
		else
			printf("matches, decides\n");
		if (!first && !miss)
			first = r;
	}
	return first;
}

int verb_explain(int argc, char **argv)
{
	const struct policy_profile *profile;
	const struct policy_rule *first;
	struct policy_decision d;
	struct policy *p = NULL;
	struct explain e;
	int r;

	r = explain_parse(argc, argv, &e);
	if (r != 0)
		return r;
	if (load_policy(e.policy_path, e.skip_owner_check, &p) < 0)
		return EXIT_FAILURE;
	profile = explain_profile(p, &e);
	if (!profile) {
		policy_free(p);
		return EXIT_FAILURE;
	}
	policy_evaluate(p, profile, &e.req, &d);
	print_verdict(profile, &d);
	print_call(&e);
	print_notes(p, profile, &e);
	first = print_rules(p, profile, &e.req);
	policy_free(p);
	if (first != d.rule) {
		fprintf(stderr, "msgguardctl: explain: internal error: the explanation disagrees "
				"with the evaluator; trust the first line\n");
		return EXIT_FAILURE;
	}
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- list-rules --------------------------------------------------------------- */

static const char *verdict_name(enum policy_verdict v)
{
	return v == POLICY_DENY ? "deny" : "allow";
}

static void list_profile(const struct policy *p, const struct policy_profile *profile)
{
	const char *errname = mg_errno_name(profile->error) ?: "E?";
	char keys[TEXT_MAX];

	printf("profile \"%s\" (%s:%u): default %s, errno %s, mode %s, units", profile->name,
	       profile->file, profile->line, verdict_name(profile->default_action), errname,
	       profile->mode == POLICY_PERMISSIVE ? "permissive" : "enforce");
	if (!profile->units || !profile->units[0])
		printf(" (none)");
	for (char **u = profile->units; u && *u; u++)
		printf(" %s", *u);
	putchar('\n');
	for (size_t i = 0; i < profile->n_rules; i++) {
		const struct policy_rule *r = &p->rules[profile->rules[i]];

		printf("  %zu. rule \"%s\" (%s:%u): %s -> %s", i + 1, r->name, r->file, r->line,
		       policy_rule_describe(r, keys, sizeof(keys)), verdict_name(r->action));
		if (r->action == POLICY_DENY)
			printf(" %s", mg_errno_name(r->error ?: profile->error) ?: "E?");
		putchar('\n');
	}
	printf("  otherwise: %s", verdict_name(profile->default_action));
	if (profile->default_action == POLICY_DENY)
		printf(" %s", errname);
	printf(" (the profile's default)\n");
}

int verb_list_rules(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"policy", required_argument, NULL, OPT_POLICY},
	    {"profile", required_argument, NULL, OPT_PROFILE},
	    {"no-owner-check", no_argument, NULL, OPT_NO_OWNER_CHECK},
	    {},
	};
	const char *path = DEFAULT_POLICY, *name = NULL;
	const struct policy_profile *only = NULL;
	bool skip_owner_check = false;
	struct policy *p = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		if (c == OPT_POLICY)
			path = optarg;
		else if (c == OPT_PROFILE)
			name = optarg;
		else if (c == OPT_NO_OWNER_CHECK)
			skip_owner_check = true;
		else
			return option_error("list-rules", c, argv);
	}
	if (optind < argc)
		return usage_error("list-rules: unexpected argument '%s'", argv[optind]);
	if (load_policy(path, skip_owner_check, &p) < 0)
		return EXIT_FAILURE;
	if (name && !(only = policy_profile_by_name(p, name))) {
		fprintf(stderr, "msgguardctl: list-rules: %s: no profile \"%s\"\n", path, name);
		policy_free(p);
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < p->n_profiles; i++) {
		if (only && only != &p->profiles[i])
			continue;
		if (!only && i > 0)
			putchar('\n');
		list_profile(p, &p->profiles[i]);
	}
	policy_free(p);
	return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
