/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy: parsed from an INI file (inih) and evaluated against a request.
 * Pure code: no logging, no syscalls except reading the policy file and name
 * lookups (getpwnam/getgrnam) while parsing. Shared by msgguardd, msgguardctl
 * and the tests.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgctl.h"

#define POLICY_LINE_MAX 512 /* longer physical lines are rejected */
#define POLICY_NAME_MAX 63  /* profile and rule names */

enum policy_verdict {
	POLICY_ALLOW,
	POLICY_DENY,
	_POLICY_VERDICT_MAX,
};

enum policy_mode {
	POLICY_ENFORCE,
	POLICY_PERMISSIVE,
	_POLICY_MODE_MAX,
};

/* Which decisions of a profile get an audit record. */
enum policy_audit {
	POLICY_AUDIT_ALL,  /* every decision (repeated allows folded into summaries) */
	POLICY_AUDIT_DENY, /* denials and would-be denials only */
	POLICY_AUDIT_NONE, /* none (counts stay in msgguardctl status) */
	_POLICY_AUDIT_MAX,
};

/* What a denial record of a profile names (what the daemon reads before answering one). */
enum policy_identify {
	POLICY_IDENTIFY_ALWAYS, /* its caller and queue, whatever the rules read (default) */
	POLICY_IDENTIFY_RULES,	/* only what the rules read, as for an allow */
	_POLICY_IDENTIFY_MAX,
};

/* What evaluating a command needs besides the registers (policy_profile.needs). */
enum {
	POLICY_NEED_CALLER = 1 << 0, /* the caller's euid/egid (/proc/TID/status) */
	POLICY_NEED_QUEUE = 1 << 1,  /* the queue's attributes (lookup in its namespace) */
	POLICY_NEED_VALUES = 1 << 2, /* IPC_SET values (the daemon performs the IPC_SET) */
};
#define POLICY_NEEDS_SLOTS (MG_CMD_MAX + 1) /* one per command, the last for unknown ones */

enum policy_owner {
	POLICY_OWNER_ANY,    /* key absent */
	POLICY_OWNER_CALLER, /* queue uid or cuid == caller euid */
	POLICY_OWNER_LIST,   /* queue uid or cuid in owner_ids */
};

enum policy_set_id {
	POLICY_SET_ID_ANY,	 /* key absent */
	POLICY_SET_ID_UNCHANGED, /* equal to the queue's current uid (gid) */
	POLICY_SET_ID_CALLER,	 /* equal to the caller's euid (egid) */
	POLICY_SET_ID_LIST,	 /* in the listed ids */
};

/* A set of 32-bit values: single values and inclusive ranges. */
struct policy_range {
	uint32_t lo, hi;
};
struct policy_set {
	struct policy_range *ranges;
	size_t n;
};

struct policy_rule {
	char *name;
	char *file;
	unsigned line;	   /* line of the [rule "..."] header */
	size_t profile;	   /* index into policy.profiles */
	bool any_cmd;	   /* no cmd key: matches every command, unknown ones too */
	uint32_t cmd_mask; /* bit n: command n (n < MG_CMD_MAX) */
	bool has_caller_uid, has_caller_gid, has_queue_key;
	struct policy_set caller_uid; /* effective uid */
	struct policy_set caller_gid; /* effective gid */
	struct policy_set queue_key;
	enum policy_owner queue_owner;
	struct policy_set owner_ids; /* POLICY_OWNER_LIST */
	enum policy_verdict action;
	int error; /* errno for deny; 0 = the profile's */
	/*
	 * IPC_SET value rules (only on rules whose cmd is exactly IPC_SET). A
	 * rule with any of them matches only when the new values are known
	 * (read by the daemon, which then performs the IPC_SET itself) and all
	 * of them hold.
	 */
	bool has_set_mode_max, has_set_qbytes_max;
	uint32_t set_mode_max;	       /* no permission bit outside this mask (0..0777) */
	uint64_t set_qbytes_max;       /* new msg_qbytes as the kernel stores it */
	enum policy_set_id set_uid;    /* new owner uid */
	struct policy_set set_uid_ids; /* POLICY_SET_ID_LIST */
	enum policy_set_id set_gid;    /* new owner gid */
	struct policy_set set_gid_ids;
};

struct policy_profile {
	char *name;
	char *file;
	unsigned line;
	enum policy_verdict default_action;
	int error; /* errno of a denied call, default EPERM */
	enum policy_mode mode;
	char **units;  /* NULL-terminated; may be empty */
	size_t *rules; /* indices into policy.rules, in file order */
	size_t n_rules;
	enum policy_audit audit;
	enum policy_identify identify;
	/*
	 * Commands (bit n = command n) the shim's filter allows in the kernel:
	 * never notified, never individually audited, fixed until the service
	 * restarts. No rule of the profile may decide them (checked at load),
	 * and the daemon allows them too when they arrive in a form the filter
	 * does not match, so both paths agree.
	 */
	uint32_t kernel_allow;
	unsigned kernel_allow_line; /* 0 = no kernel_allow key */
	/* POLICY_NEED_* per command (policy_profile_needs()), filled at load. */
	uint8_t needs[POLICY_NEEDS_SLOTS];
};

struct policy_daemon {
	char *socket;			/* NULL = built-in default */
	char *control;			/* NULL = control.sock beside the socket */
	char *audit;			/* NULL = built-in default */
	unsigned max_listeners;		/* 0 = built-in default */
	unsigned max_listeners_per_uid; /* 0 = built-in default */
	/* Audit folding and queue; negative = built-in default. */
	int audit_fold_after; /* identical allow records per interval before folding; 0 = never */
	int audit_fold_interval; /* seconds */
	int audit_queue;	 /* records the audit queue holds */
};

struct policy {
	char *path;
	struct policy_daemon daemon;
	struct policy_profile *profiles;
	size_t n_profiles;
	struct policy_rule *rules;
	size_t n_rules;
};

/*
 * Every error found while loading, each "FILE:LINE: message"; line 0 stands
 * for the file as a whole (cannot be opened, not a regular file, insecure owner
 * or mode, no profile).
 */
struct policy_errors {
	char **lines;
	size_t n;
};

enum {
	POLICY_PARSE_SKIP_OWNER_CHECK = 1 << 0, /* for tests of files not owned by root */
};

/*
 * Parse and validate a policy file. On success returns 0 and sets *ret. On
 * failure returns a negative errno (-EINVAL for a bad policy or an insecure
 * file; open(2)'s errno, -EIO or -ENOMEM otherwise), appends every error found
 * to errs (if not NULL) and leaves *ret untouched: nothing is half-applied.
 */
int policy_parse_file(const char *path, unsigned flags, struct policy **ret,
		      struct policy_errors *errs);
void policy_free(struct policy *p);
void policy_errors_clear(struct policy_errors *errs);

/* Lookups; NULL when absent. */
const struct policy_profile *policy_profile_by_name(const struct policy *p, const char *name);
const struct policy_profile *policy_profile_by_unit(const struct policy *p, const char *unit);

/* What the evaluator knows about one call. */
struct policy_request {
	int cmd; /* mg_call.cmd: -1 = the kernel executes no command */
	uid_t caller_euid;
	gid_t caller_egid;
	bool queue_known; /* the queue exists and was read */
	int32_t queue_key;
	uid_t queue_uid, queue_cuid;
	gid_t queue_gid;
	uint32_t queue_mode;
	/* IPC_SET: the new values, as the kernel would apply them (daemon's own copy). */
	bool set_known;
	uint32_t set_mode; /* the 9 permission bits (the kernel ignores the rest) */
	uid_t set_uid;
	gid_t set_gid;
	uint64_t set_qbytes;
};

/* True when a rule of the profile looks at IPC_SET values (the buffer must be read). */
bool policy_profile_has_value_rules(const struct policy *p, const struct policy_profile *profile);

/*
 * POLICY_NEED_* for evaluating cmd (-1 or unknown: the last slot) in this
 * profile: the union over the rules that can match cmd. Filled at load.
 */
static inline unsigned policy_profile_needs(const struct policy_profile *profile, int cmd)
{
	return profile->needs[cmd >= 0 && cmd < MG_CMD_MAX ? cmd : MG_CMD_MAX];
}
/* Compute profile->needs (called by the parser once rules are linked). */
void policy_profile_compute_needs(const struct policy *p, struct policy_profile *profile);
/* True when a rule of the profile can match cmd (the kernel_allow check). */
const struct policy_rule *policy_profile_rule_for(const struct policy *p,
						  const struct policy_profile *profile, int cmd);
/* "all", "deny", "none". */
const char *policy_audit_name(enum policy_audit a);
const char *policy_identify_name(enum policy_identify i);

struct policy_decision {
	enum policy_verdict verdict;	/* what the policy says */
	bool enforced;			/* false: permissive profile, deny recorded not applied */
	int error;			/* errno to return when verdict is deny */
	const struct policy_rule *rule; /* NULL = the profile's default or kernel_allow decided */
	bool kernel_allow;		/* the command is in the profile's kernel_allow */
};

/*
 * First rule of the profile whose keys all match decides, else the profile
 * default. A rule key that needs the queue never matches an unknown queue.
 */
void policy_evaluate(const struct policy *p, const struct policy_profile *profile,
		     const struct policy_request *req, struct policy_decision *ret);

/* "name" of the deciding rule, "(kernel_allow)" or "(default)". */
const char *policy_decision_rule_name(const struct policy_decision *d);

/*
 * Explanations (policy/explain.c), for msgguardctl explain and list-rules.
 * Both write one line into buf (size > 0; a longer text is cut and ends in
 * "...") and return buf.
 *
 * policy_rule_describe: the rule's keys, "cmd IPC_SET IPC_RMID; queue_owner caller".
 * policy_rule_mismatch: every key of the rule the request does not match, in
 * the evaluator's order ("cmd IPC_RMID not in IPC_STAT MSG_STAT; caller_uid 5
 * not in 0 1000-1999"), or NULL when all of them match. It only explains:
 * decisions come from policy_evaluate().
 */
const char *policy_rule_describe(const struct policy_rule *r, char *buf, size_t size);
const char *policy_rule_mismatch(const struct policy_rule *r, const struct policy_request *req,
				 char *buf, size_t size);
