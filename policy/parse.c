/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The policy parser: a policy INI file in, a complete struct policy or every
 * error out. Nothing is half-applied.
 *
 * inih on its own is not fail-closed (notes/04): Debian's build truncates
 * lines at 200 bytes and parses the tail as a new line, treats indented lines
 * as continuations, ignores text after "]" and never calls the handler for a
 * section without keys. So inih only ever sees the lines our reader lets
 * through: the reader counts physical lines (every error carries its exact
 * line), rejects overlong, indented and malformed lines and handles section
 * headers itself; inih splits "key = value" lines and strips inline comments;
 * the handler validates each key.
 *
 * Error format (systemd style): "FILE:LINE: message" for a line,
 * "FILE: message" for the file as a whole (cannot be opened, insecure owner
 * or mode, no profile).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "policy.h"
#include "util.h"

#define KEY_NAME_MAX  32 /* longer key names are not ours: reject early */
#define KEY_CHARS     "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define LABEL_MAX     (POLICY_NAME_MAX + 16)
#define LISTENERS_MAX 65536
#define UNIT_NAME_MAX 255
#define QBYTES_MAX    (UINT64_C(1) << 63) /* set_qbytes_max */

enum section_kind {
	SECTION_NONE, /* before the first header */
	SECTION_DAEMON,
	SECTION_PROFILE,
	SECTION_RULE,
	SECTION_INVALID, /* bad header, already reported: its keys are ignored */
	_SECTION_KIND_MAX,
};

enum {
	DAEMON_SOCKET,
	DAEMON_CONTROL,
	DAEMON_AUDIT,
	DAEMON_MAX_LISTENERS,
	DAEMON_MAX_PER_UID,
	DAEMON_AUDIT_FOLD_AFTER,
	DAEMON_AUDIT_FOLD_INTERVAL,
	DAEMON_AUDIT_QUEUE,
	_DAEMON_KEY_MAX
};
enum {
	PROFILE_DEFAULT,
	PROFILE_ERRNO,
	PROFILE_MODE,
	PROFILE_UNITS,
	PROFILE_AUDIT,
	PROFILE_KERNEL_ALLOW,
	PROFILE_IDENTIFY,
	_PROFILE_KEY_MAX
};
enum {
	RULE_PROFILE,
	RULE_CMD,
	RULE_CALLER_UID,
	RULE_CALLER_GID,
	RULE_QUEUE_KEY,
	RULE_QUEUE_OWNER,
	RULE_ACTION,
	RULE_ERRNO,
	RULE_SET_MODE_MAX, /* the set_* keys: IPC_SET value rules, keep them last */
	RULE_SET_UID,
	RULE_SET_GID,
	RULE_SET_QBYTES_MAX,
	_RULE_KEY_MAX,
};
#define KEYS_MAX _RULE_KEY_MAX /* the largest table */

/* What linking needs to know about a rule; dropped after parsing. */
struct rule_ref {
	char *profile;
	unsigned profile_line;
};

struct parser {
	const char *path;
	FILE *f;
	struct policy_errors *errs;
	size_t n_errors;
	int error;		    /* -ENOMEM or -EIO: stop and return it */
	struct policy *p;	    /* being built */
	struct rule_ref *rule_refs; /* parallel to p->rules */
	size_t n_refs;
	unsigned *units_lines; /* parallel to p->profiles: line of "units =" */
	unsigned daemon_line;  /* header of [daemon], 0 = none yet */

	/* The physical line last read. */
	unsigned line;
	char buf[POLICY_LINE_MAX + 2];
	size_t len;	   /* bytes kept in buf */
	size_t total;	   /* bytes on the line: more than len when too long */
	char *start;	   /* the line after a byte order mark */
	const char *value; /* a value too long for inih's buffer, see hand_key_line() */
	unsigned handed;   /* line last given to inih, 0 once its handler ran */

	/* The current section. */
	enum section_kind section;
	char label[LABEL_MAX]; /* [rule "NAME"], for messages */
	unsigned section_line;
	unsigned key_line[KEYS_MAX]; /* line of each key seen, 0 = absent */
};

typedef int (*key_parse_fn)(struct parser *ps, const char *key, const char *value);
struct key_def {
	const char *name;
	key_parse_fn parse;
};

/* ---- errors --------------------------------------------------------------- */

static int errors_append(struct policy_errors *errs, char *line)
{
	char **lines = realloc(errs->lines, (errs->n + 1) * sizeof(*lines));

	if (!lines) {
		free(line);
		return -ENOMEM;
	}
	lines[errs->n++] = line;
	errs->lines = lines;
	return 0;
}

/* Records "FILE:LINE: message" (line 0: "FILE: message"). Returns -EINVAL. */
__attribute__((format(printf, 3, 4))) static int parser_error(struct parser *ps, unsigned line,
							      const char *fmt, ...)
{
	char msg[POLICY_LINE_MAX + 256];
	char *s;
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	ps->n_errors++;
	if (!ps->errs)
		return -EINVAL;
	/* Line 0 stands for the file as a whole (owner, mode, no profile...). */
	r = asprintf(&s, "%s:%u: %s", ps->path, line, msg);
	if (r < 0 || errors_append(ps->errs, s) < 0)
		ps->error = -ENOMEM;
	return -EINVAL;
}

/* "invalid 'KEY' in [SECTION]: detail" on the current line. */
__attribute__((format(printf, 3, 4))) static int value_error(struct parser *ps, const char *key,
							     const char *fmt, ...)
{
	char detail[POLICY_LINE_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return parser_error(ps, ps->line, "invalid '%s' in %s: %s", key, ps->label, detail);
}

void policy_errors_clear(struct policy_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->lines[i]);
	free(errs->lines);
	errs->lines = NULL;
	errs->n = 0;
}

/* ---- freeing --------------------------------------------------------------- */

static void rule_done(struct policy_rule *r)
{
	free(r->name);
	free(r->file);
	free(r->caller_uid.ranges);
	free(r->caller_gid.ranges);
	free(r->queue_key.ranges);
	free(r->owner_ids.ranges);
	free(r->set_uid_ids.ranges);
	free(r->set_gid_ids.ranges);
}

static void profile_done(struct policy_profile *pr)
{
	free(pr->name);
	free(pr->file);
	for (char **u = pr->units; u && *u; u++)
		free(*u);
	free(pr->units);
	free(pr->rules);
}

void policy_free(struct policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_rules; i++)
		rule_done(&p->rules[i]);
	for (size_t i = 0; i < p->n_profiles; i++)
		profile_done(&p->profiles[i]);
	free(p->rules);
	free(p->profiles);
	free(p->daemon.socket);
	free(p->daemon.control);
	free(p->daemon.audit);
	free(p->path);
	free(p);
}

/* ---- small value parsers (pure) --------------------------------------------- */

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= POLICY_NAME_MAX &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") == n;
}

/* systemd unit names: "foo@bar.service"; the type suffix is required. */
static bool unit_name_valid(const char *s)
{
	size_t n = strlen(s);
	const char *dot = strrchr(s, '.');

	return n <= UNIT_NAME_MAX && dot && dot > s && dot[1] &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.@\\-") ==
		   n;
}

/* Strict: digits only (or 0x and hex digits), no sign, no spaces, <= 0xffffffff. */
static int parse_u32(const char *s, bool allow_hex, uint32_t *ret)
{
	unsigned long long v;
	int base = 10;
	char *end;

	if (allow_hex && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (base == 16 ? !isxdigit((unsigned char)s[0]) : !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* "N" or "LO-HI" (inclusive, LO <= HI). */
static int parse_range(const char *tok, bool allow_hex, uint32_t *ret_lo, uint32_t *ret_hi)
{
	char buf[64];
	char *dash;

	if (strlen(tok) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, tok);
	dash = strchr(buf, '-');
	if (dash)
		*dash = '\0';
	if (parse_u32(buf, allow_hex, ret_lo) < 0)
		return -EINVAL;
	if (!dash) {
		*ret_hi = *ret_lo;
		return 0;
	}
	if (parse_u32(dash + 1, allow_hex, ret_hi) < 0 || *ret_hi < *ret_lo)
		return -EINVAL;
	return 0;
}

static int parse_verdict(const char *s, enum policy_verdict *ret)
{
	if (strcmp(s, "allow") == 0)
		*ret = POLICY_ALLOW;
	else if (strcmp(s, "deny") == 0)
		*ret = POLICY_DENY;
	else
		return -EINVAL;
	return 0;
}

static int set_add(struct policy_set *s, uint32_t lo, uint32_t hi)
{
	struct policy_range *r = realloc(s->ranges, (s->n + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	r[s->n++] = (struct policy_range){.lo = lo, .hi = hi};
	s->ranges = r;
	return 0;
}

/*
 * getpwnam_r/getgrnam_r: 0, -ESRCH when there is no such name, or another
 * negative errno (NSS failure). Retries with a larger buffer on ERANGE: group
 * entries with many members do not fit the usual sizes.
 */
static int lookup_id(const char *name, bool group, uint32_t *ret)
{
	for (size_t size = 4096; size <= (1u << 20); size *= 2) {
		_cleanup_free_ char *buf = malloc(size);
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int r;

		if (!buf)
			return -ENOMEM;
		if (group)
			r = getgrnam_r(name, &gr, buf, size, &grp);
		else
			r = getpwnam_r(name, &pw, buf, size, &pwp);
		if (r == ERANGE)
			continue;
		if (r != 0)
			return -r;
		if (!pwp && !grp)
			return -ESRCH;
		*ret = group ? grp->gr_gid : pwp->pw_uid;
		return 0;
	}
	return -ERANGE;
}

/* ---- lists ----------------------------------------------------------------- */

typedef int (*token_fn)(struct parser *ps, const char *key, const char *tok, void *userdata);

/* Calls fn on every whitespace separated token; reports every bad token. */
static int list_foreach(struct parser *ps, const char *key, const char *value, token_fn fn,
			void *userdata)
{
	_cleanup_free_ char *copy = strdup(value);
	char *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	for (char *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		int r = fn(ps, key, t, userdata);

		if (r == -ENOMEM)
			return r;
		if (r < 0)
			ret = r;
	}
	return ret;
}

static int cmd_token(struct parser *ps, const char *key, const char *tok, void *userdata)
{
	uint32_t *mask = userdata;
	int cmd = mg_cmd_from_name(tok);

	if (cmd < 0 || cmd >= MG_CMD_MAX)
		return value_error(ps, key, "unknown command '%s'", tok);
	*mask |= 1u << cmd;
	return 0;
}

struct id_list {
	struct policy_set *set;
	bool group;	/* names are groups, not users */
	bool owner;	/* queue_owner: "caller" must stand alone */
	bool set_value; /* set_uid/set_gid: "caller" and "unchanged" must stand alone */
};

/* A keyword that is a whole value on its own, found inside a list. */
static int keyword_in_list(struct parser *ps, const char *key, const char *tok,
			   const struct id_list *l)
{
	if (l->owner && strcmp(tok, "caller") == 0)
		return value_error(ps, key, "'caller' cannot be combined with other owners");
	if (l->set_value && (strcmp(tok, "caller") == 0 || strcmp(tok, "unchanged") == 0))
		return value_error(ps, key, "'%s' cannot be combined with other ids", tok);
	return 0;
}

/* A uid/gid, a range, or a name resolved now: the daemon never calls NSS. */
static int id_token(struct parser *ps, const char *key, const char *tok, void *userdata)
{
	const struct id_list *l = userdata;
	const char *what = l->group ? "group" : "user";
	uint32_t lo = 0, hi = 0;
	int r;

	if (keyword_in_list(ps, key, tok, l) < 0)
		return -EINVAL;
	if (isdigit((unsigned char)tok[0])) {
		/* (uid_t)-1 means "no id" to the kernel: never a real owner. */
		if (parse_range(tok, false, &lo, &hi) < 0 || hi == UINT32_MAX)
			return value_error(ps, key, "invalid id or range '%s'", tok);
		return set_add(l->set, lo, hi);
	}
	r = lookup_id(tok, l->group, &lo);
	if (r == -ENOMEM)
		return r;
	if (r == -ESRCH)
		return value_error(ps, key, "unknown %s '%s'", what, tok);
	if (r < 0)
		return value_error(ps, key, "cannot look up %s '%s': %s", what, tok, strerror(-r));
	return set_add(l->set, lo, lo);
}

static int key_token(struct parser *ps, const char *key, const char *tok, void *userdata)
{
	uint32_t lo = 0, hi = 0;

	if (parse_range(tok, true, &lo, &hi) < 0)
		return value_error(ps, key, "invalid key or range '%s'", tok);
	return set_add(userdata, lo, hi);
}

static int unit_token(struct parser *ps, const char *key, const char *tok, void *userdata)
{
	struct policy_profile *pr = userdata;
	size_t n = 0;
	char **units;

	if (!unit_name_valid(tok))
		return value_error(ps, key, "invalid unit name '%s'", tok);
	while (pr->units[n]) {
		if (strcmp(pr->units[n], tok) == 0)
			return value_error(ps, key, "unit '%s' listed twice", tok);
		n++;
	}
	units = realloc(pr->units, (n + 2) * sizeof(*units));
	if (!units)
		return -ENOMEM;
	pr->units = units;
	units[n] = strdup(tok);
	units[n + 1] = NULL;
	return units[n] ? 0 : -ENOMEM;
}

/* ---- [daemon] ---------------------------------------------------------------- */

static int socket_path(struct parser *ps, const char *key, const char *value, char **ret)
{
	if (value[0] != '/' || strpbrk(value, " \t"))
		return value_error(ps, key, "'%s' is not an absolute path", value);
	if (strlen(value) >= sizeof(((struct sockaddr_un *)NULL)->sun_path))
		return value_error(ps, key, "path longer than a socket address allows");
	*ret = strdup(value);
	return *ret ? 0 : -ENOMEM;
}

static int daemon_socket(struct parser *ps, const char *key, const char *value)
{
	return socket_path(ps, key, value, &ps->p->daemon.socket);
}

static int daemon_control(struct parser *ps, const char *key, const char *value)
{
	return socket_path(ps, key, value, &ps->p->daemon.control);
}

static int daemon_audit(struct parser *ps, const char *key, const char *value)
{
	bool jsonl = strncmp(value, "jsonl:", 6) == 0;

	if (strcmp(value, "journal") != 0 && strcmp(value, "stderr") != 0 &&
	    !(jsonl && value[6] == '/' && !strpbrk(value, " \t")))
		return value_error(ps, key,
				   "'%s': expected journal, stderr or jsonl:/ABSOLUTE/PATH", value);
	ps->p->daemon.audit = strdup(value);
	return ps->p->daemon.audit ? 0 : -ENOMEM;
}

static int parse_listeners(struct parser *ps, const char *key, const char *value, unsigned *ret)
{
	uint32_t v;

	if (parse_u32(value, false, &v) < 0 || v < 1 || v > LISTENERS_MAX)
		return value_error(ps, key, "'%s': expected a number from 1 to %d", value,
				   LISTENERS_MAX);
	*ret = v;
	return 0;
}

static int daemon_max_listeners(struct parser *ps, const char *key, const char *value)
{
	return parse_listeners(ps, key, value, &ps->p->daemon.max_listeners);
}

static int daemon_max_per_uid(struct parser *ps, const char *key, const char *value)
{
	return parse_listeners(ps, key, value, &ps->p->daemon.max_listeners_per_uid);
}

static int parse_bounded(struct parser *ps, const char *key, const char *value, uint32_t lo,
			 uint32_t hi, int *ret)
{
	uint32_t v;

	if (parse_u32(value, false, &v) < 0 || v < lo || v > hi)
		return value_error(ps, key, "'%s': expected a number from %u to %u", value, lo, hi);
	*ret = (int)v;
	return 0;
}

static int daemon_fold_after(struct parser *ps, const char *key, const char *value)
{
	return parse_bounded(ps, key, value, 0, 1000000, &ps->p->daemon.audit_fold_after);
}

static int daemon_fold_interval(struct parser *ps, const char *key, const char *value)
{
	return parse_bounded(ps, key, value, 1, 3600, &ps->p->daemon.audit_fold_interval);
}

static int daemon_audit_queue(struct parser *ps, const char *key, const char *value)
{
	return parse_bounded(ps, key, value, 16, 65536, &ps->p->daemon.audit_queue);
}

static const struct key_def daemon_keys[_DAEMON_KEY_MAX] = {
    [DAEMON_SOCKET] = {"socket", daemon_socket},
    [DAEMON_CONTROL] = {"control", daemon_control},
    [DAEMON_AUDIT] = {"audit", daemon_audit},
    [DAEMON_MAX_LISTENERS] = {"max_listeners", daemon_max_listeners},
    [DAEMON_MAX_PER_UID] = {"max_listeners_per_uid", daemon_max_per_uid},
    [DAEMON_AUDIT_FOLD_AFTER] = {"audit_fold_after", daemon_fold_after},
    [DAEMON_AUDIT_FOLD_INTERVAL] = {"audit_fold_interval", daemon_fold_interval},
    [DAEMON_AUDIT_QUEUE] = {"audit_queue", daemon_audit_queue},
};

/* ---- [profile "NAME"] -------------------------------------------------------- */

static struct policy_profile *cur_profile(struct parser *ps)
{
	return &ps->p->profiles[ps->p->n_profiles - 1];
}

static int parse_errno(struct parser *ps, const char *key, const char *value, int *ret)
{
	int e = mg_errno_from_name(value);

	if (e <= 0)
		return value_error(ps, key, "unknown errno '%s'", value);
	*ret = e;
	return 0;
}

static int profile_default(struct parser *ps, const char *key, const char *value)
{
	if (parse_verdict(value, &cur_profile(ps)->default_action) < 0)
		return value_error(ps, key, "'%s': expected allow or deny", value);
	return 0;
}

static int profile_errno(struct parser *ps, const char *key, const char *value)
{
	return parse_errno(ps, key, value, &cur_profile(ps)->error);
}

static int profile_mode(struct parser *ps, const char *key, const char *value)
{
	struct policy_profile *pr = cur_profile(ps);

	if (strcmp(value, "enforce") == 0)
		pr->mode = POLICY_ENFORCE;
	else if (strcmp(value, "permissive") == 0)
		pr->mode = POLICY_PERMISSIVE;
	else
		return value_error(ps, key, "'%s': expected enforce or permissive", value);
	return 0;
}

static int profile_units(struct parser *ps, const char *key, const char *value)
{
	ps->units_lines[ps->p->n_profiles - 1] = ps->line;
	return list_foreach(ps, key, value, unit_token, cur_profile(ps));
}

static int profile_audit(struct parser *ps, const char *key, const char *value)
{
	for (int a = 0; a < _POLICY_AUDIT_MAX; a++)
		if (strcmp(value, policy_audit_name(a)) == 0) {
			cur_profile(ps)->audit = a;
			return 0;
		}
	return value_error(ps, key, "'%s': expected all, deny or none", value);
}

static int profile_identify(struct parser *ps, const char *key, const char *value)
{
	for (int i = 0; i < _POLICY_IDENTIFY_MAX; i++)
		if (strcmp(value, policy_identify_name(i)) == 0) {
			cur_profile(ps)->identify = i;
			return 0;
		}
	return value_error(ps, key, "'%s': expected always or rules", value);
}

static int profile_kernel_allow(struct parser *ps, const char *key, const char *value)
{
	struct policy_profile *pr = cur_profile(ps);

	pr->kernel_allow_line = ps->line;
	return list_foreach(ps, key, value, cmd_token, &pr->kernel_allow);
}

static const struct key_def profile_keys[_PROFILE_KEY_MAX] = {
    [PROFILE_DEFAULT] = {"default", profile_default},
    [PROFILE_ERRNO] = {"errno", profile_errno},
    [PROFILE_MODE] = {"mode", profile_mode},
    [PROFILE_UNITS] = {"units", profile_units},
    [PROFILE_AUDIT] = {"audit", profile_audit},
    [PROFILE_KERNEL_ALLOW] = {"kernel_allow", profile_kernel_allow},
    [PROFILE_IDENTIFY] = {"identify", profile_identify},
};

/* ---- [rule "NAME"] -------------------------------------------------------------- */

static struct policy_rule *cur_rule(struct parser *ps)
{
	return &ps->p->rules[ps->p->n_rules - 1];
}

/* Resolved in policy_link(): the profile may come later in the file. */
static int rule_profile(struct parser *ps, const char *key, const char *value)
{
	struct rule_ref *ref = &ps->rule_refs[ps->p->n_rules - 1];

	if (!name_valid(value))
		return value_error(ps, key, "invalid profile name '%s'", value);
	ref->profile_line = ps->line;
	ref->profile = strdup(value);
	return ref->profile ? 0 : -ENOMEM;
}

static int rule_cmd(struct parser *ps, const char *key, const char *value)
{
	cur_rule(ps)->any_cmd = false;
	return list_foreach(ps, key, value, cmd_token, &cur_rule(ps)->cmd_mask);
}

static int rule_ids(struct parser *ps, const char *key, const char *value, struct policy_set *set,
		    bool group)
{
	struct id_list l = {.set = set, .group = group};

	return list_foreach(ps, key, value, id_token, &l);
}

static int rule_caller_uid(struct parser *ps, const char *key, const char *value)
{
	cur_rule(ps)->has_caller_uid = true;
	return rule_ids(ps, key, value, &cur_rule(ps)->caller_uid, false);
}

static int rule_caller_gid(struct parser *ps, const char *key, const char *value)
{
	cur_rule(ps)->has_caller_gid = true;
	return rule_ids(ps, key, value, &cur_rule(ps)->caller_gid, true);
}

static int rule_queue_key(struct parser *ps, const char *key, const char *value)
{
	cur_rule(ps)->has_queue_key = true;
	return list_foreach(ps, key, value, key_token, &cur_rule(ps)->queue_key);
}

static int rule_queue_owner(struct parser *ps, const char *key, const char *value)
{
	struct policy_rule *r = cur_rule(ps);
	struct id_list l = {.set = &r->owner_ids, .owner = true};

	if (strcmp(value, "caller") == 0) {
		r->queue_owner = POLICY_OWNER_CALLER;
		return 0;
	}
	r->queue_owner = POLICY_OWNER_LIST;
	return list_foreach(ps, key, value, id_token, &l);
}

static int rule_action(struct parser *ps, const char *key, const char *value)
{
	if (parse_verdict(value, &cur_rule(ps)->action) < 0)
		return value_error(ps, key, "'%s': expected allow or deny", value);
	return 0;
}

static int rule_errno(struct parser *ps, const char *key, const char *value)
{
	return parse_errno(ps, key, value, &cur_rule(ps)->error);
}

/* ---- IPC_SET value rules ---- */

/* Octal digits only ("0660", "660"), at most 0777. */
static int rule_set_mode_max(struct parser *ps, const char *key, const char *value)
{
	struct policy_rule *r = cur_rule(ps);
	size_t n = strspn(value, "01234567");
	unsigned long v;

	errno = 0;
	v = strtoul(value, NULL, 8);
	if (n == 0 || value[n] != '\0' || errno != 0 || v > 0777)
		return value_error(ps, key, "'%s': expected an octal mode from 0 to 0777", value);
	r->has_set_mode_max = true;
	r->set_mode_max = (uint32_t)v;
	return 0;
}

/* "unchanged", "caller" or a list of ids and names. */
static int set_id(struct parser *ps, const char *key, const char *value, bool group,
		  enum policy_set_id *ret, struct policy_set *ids)
{
	struct id_list l = {.set = ids, .group = group, .set_value = true};

	if (strcmp(value, "unchanged") == 0)
		*ret = POLICY_SET_ID_UNCHANGED;
	else if (strcmp(value, "caller") == 0)
		*ret = POLICY_SET_ID_CALLER;
	else {
		*ret = POLICY_SET_ID_LIST;
		return list_foreach(ps, key, value, id_token, &l);
	}
	return 0;
}

static int rule_set_uid(struct parser *ps, const char *key, const char *value)
{
	struct policy_rule *r = cur_rule(ps);

	return set_id(ps, key, value, false, &r->set_uid, &r->set_uid_ids);
}

static int rule_set_gid(struct parser *ps, const char *key, const char *value)
{
	struct policy_rule *r = cur_rule(ps);

	return set_id(ps, key, value, true, &r->set_gid, &r->set_gid_ids);
}

/* Decimal digits, then optionally K, M or G (binary: 64K = 65536); at most 2^63. */
static int parse_bytes(const char *s, uint64_t *ret)
{
	size_t n = strspn(s, "0123456789");
	uint64_t mult = 1;
	unsigned long long v;

	if (n == 0 || n > 20)
		return -EINVAL;
	if (s[n] != '\0') {
		static const char suffixes[] = "KMG";
		const char *suffix = strchr(suffixes, s[n]);

		if (!suffix || s[n + 1] != '\0')
			return -EINVAL;
		mult = UINT64_C(1) << (10 * (suffix - suffixes + 1));
	}
	errno = 0;
	v = strtoull(s, NULL, 10);
	if (errno != 0 || v > QBYTES_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}

static int rule_set_qbytes_max(struct parser *ps, const char *key, const char *value)
{
	struct policy_rule *r = cur_rule(ps);

	if (parse_bytes(value, &r->set_qbytes_max) < 0)
		return value_error(ps, key,
				   "'%s': expected a number of bytes up to 2^63, optionally "
				   "followed by K, M or G",
				   value);
	r->has_set_qbytes_max = true;
	return 0;
}

static const struct key_def rule_keys[_RULE_KEY_MAX] = {
    [RULE_PROFILE] = {"profile", rule_profile},
    [RULE_CMD] = {"cmd", rule_cmd},
    [RULE_CALLER_UID] = {"caller_uid", rule_caller_uid},
    [RULE_CALLER_GID] = {"caller_gid", rule_caller_gid},
    [RULE_QUEUE_KEY] = {"queue_key", rule_queue_key},
    [RULE_QUEUE_OWNER] = {"queue_owner", rule_queue_owner},
    [RULE_ACTION] = {"action", rule_action},
    [RULE_ERRNO] = {"errno", rule_errno},
    [RULE_SET_MODE_MAX] = {"set_mode_max", rule_set_mode_max},
    [RULE_SET_UID] = {"set_uid", rule_set_uid},
    [RULE_SET_GID] = {"set_gid", rule_set_gid},
    [RULE_SET_QBYTES_MAX] = {"set_qbytes_max", rule_set_qbytes_max},
};

/* ---- keys (the inih handler) ---------------------------------------------------- */

static const struct key_def *section_keys(enum section_kind kind, size_t *ret_n)
{
	switch (kind) {
	case SECTION_DAEMON:
		*ret_n = _DAEMON_KEY_MAX;
		return daemon_keys;
	case SECTION_PROFILE:
		*ret_n = _PROFILE_KEY_MAX;
		return profile_keys;
	case SECTION_RULE:
		*ret_n = _RULE_KEY_MAX;
		return rule_keys;
	default:
		*ret_n = 0;
		return NULL;
	}
}

static int key_apply(struct parser *ps, const char *name, const char *value)
{
	const struct key_def *keys;
	size_t n, k;

	if (ps->section == SECTION_INVALID)
		return 0;
	if (ps->section == SECTION_NONE)
		return parser_error(ps, ps->line, "key '%s' outside of any section", name);
	keys = section_keys(ps->section, &n);
	for (k = 0; k < n && strcmp(keys[k].name, name) != 0; k++)
		;
	if (k == n)
		return parser_error(ps, ps->line, "unknown key '%s' in %s", name, ps->label);
	if (ps->key_line[k])
		return parser_error(ps, ps->line, "duplicate key '%s' in %s (first at line %u)",
				    name, ps->label, ps->key_line[k]);
	ps->key_line[k] = ps->line;
	if (value[0] == '\0')
		return value_error(ps, name, "empty value");
	/* inih strips "; comment" only after whitespace and never "# comment". */
	if (strpbrk(value, "#;"))
		return value_error(ps, name, "'%c' in value: comments must be on their own line",
				   *strpbrk(value, "#;"));
	return keys[k].parse(ps, name, value);
}

/* inih calls this for every key line our reader handed over, right after it. */
static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parser *ps = user;
	int r;

	ps->handed = 0;
	if (ps->value) /* the line was too long for inih: see hand_key_line() */
		value = ps->value;
	ps->value = NULL;
	r = key_apply(ps, name, value);
	if (r == -ENOMEM)
		ps->error = r;
	return 1; /* errors are ours to collect: keep inih going */
}

/* ---- sections ----------------------------------------------------------------------- */

/*
 * The set_* keys look at the new values of an IPC_SET: only a rule for
 * IPC_SET alone can have them. cmd may come after them: checked at the end of
 * the section, reported at each key's line.
 */
static void check_set_keys(struct parser *ps)
{
	const struct policy_rule *r = cur_rule(ps);

	if (!r->any_cmd && r->cmd_mask == 1u << MG_IPC_SET)
		return;
	for (size_t k = RULE_SET_MODE_MAX; k <= RULE_SET_QBYTES_MAX; k++)
		if (ps->key_line[k])
			parser_error(ps, ps->key_line[k], "'%s' needs cmd = IPC_SET in %s",
				     rule_keys[k].name, ps->label);
}

/* Checks that need the whole section, at its end. */
static void section_end(struct parser *ps)
{
	const unsigned *kl = ps->key_line;

	if (ps->section == SECTION_RULE) {
		check_set_keys(ps);
		if (!kl[RULE_PROFILE])
			parser_error(ps, ps->section_line, "missing key 'profile' in %s",
				     ps->label);
		if (!kl[RULE_ACTION])
			parser_error(ps, ps->section_line, "missing key 'action' in %s", ps->label);
		else if (kl[RULE_ERRNO] && cur_rule(ps)->action != POLICY_DENY)
			parser_error(ps, kl[RULE_ERRNO], "'errno' in %s needs action = deny",
				     ps->label);
	} else if (ps->section == SECTION_DAEMON) {
		const struct policy_daemon *d = &ps->p->daemon;

		if (d->max_listeners && d->max_listeners_per_uid > d->max_listeners)
			parser_error(ps, kl[DAEMON_MAX_PER_UID],
				     "max_listeners_per_uid (%u) exceeds max_listeners (%u)",
				     d->max_listeners_per_uid, d->max_listeners);
	}
}

static int profile_new(struct parser *ps, const char *name)
{
	struct policy *p = ps->p;
	struct policy_profile *pr;
	unsigned *lines;

	pr = realloc(p->profiles, (p->n_profiles + 1) * sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	p->profiles = pr;
	lines = realloc(ps->units_lines, (p->n_profiles + 1) * sizeof(*lines));
	if (!lines)
		return -ENOMEM;
	ps->units_lines = lines;
	lines[p->n_profiles] = 0;
	pr = &p->profiles[p->n_profiles++];
	*pr = (struct policy_profile){
	    .default_action = POLICY_DENY,
	    .error = EPERM,
	    .mode = POLICY_ENFORCE,
	    .line = ps->line,
	};
	pr->name = strdup(name);
	pr->file = strdup(ps->path);
	pr->units = calloc(1, sizeof(*pr->units));
	return pr->name && pr->file && pr->units ? 0 : -ENOMEM;
}

static int rule_new(struct parser *ps, const char *name)
{
	struct policy *p = ps->p;
	struct policy_rule *r;
	struct rule_ref *refs;

	r = realloc(p->rules, (p->n_rules + 1) * sizeof(*r));
	if (!r)
		return -ENOMEM;
	p->rules = r;
	refs = realloc(ps->rule_refs, (p->n_rules + 1) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	ps->rule_refs = refs;
	refs[ps->n_refs++] = (struct rule_ref){0};
	r = &p->rules[p->n_rules++];
	*r = (struct policy_rule){.any_cmd = true, .line = ps->line, .action = POLICY_DENY};
	r->name = strdup(name);
	r->file = strdup(ps->path);
	return r->name && r->file ? 0 : -ENOMEM;
}

/* The line of an earlier section of that kind and name, or 0. */
static unsigned section_seen(struct parser *ps, enum section_kind kind, const char *name)
{
	const struct policy *p = ps->p;

	if (kind == SECTION_DAEMON)
		return ps->daemon_line;
	if (kind == SECTION_PROFILE) {
		for (size_t i = 0; i < p->n_profiles; i++)
			if (strcmp(p->profiles[i].name, name) == 0)
				return p->profiles[i].line;
		return 0;
	}
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(p->rules[i].name, name) == 0)
			return p->rules[i].line;
	return 0;
}

/*
 * Splits the inside of "[...]" into a kind and, for profiles and rules, the
 * quoted name (git-config style: inih would hand the handler the text
 * verbatim). Reports and returns -EINVAL for anything else.
 */
static int header_parse(struct parser *ps, char *inner, enum section_kind *ret_kind,
			char **ret_name)
{
	char *quoted = strchr(inner, ' ');
	size_t n;

	if (strcmp(inner, "daemon") == 0) {
		*ret_kind = SECTION_DAEMON;
		return 0;
	}
	if (quoted)
		*quoted++ = '\0';
	if (strcmp(inner, "profile") == 0)
		*ret_kind = SECTION_PROFILE;
	else if (strcmp(inner, "rule") == 0)
		*ret_kind = SECTION_RULE;
	else
		return parser_error(ps, ps->line, "unknown section [%s%s%s]", inner,
				    quoted ? " " : "", quoted ? quoted : "");
	n = quoted ? strlen(quoted) : 0;
	if (n < 2 || quoted[0] != '"' || quoted[n - 1] != '"')
		return parser_error(ps, ps->line,
				    "malformed section header: expected [%s \"NAME\"]", inner);
	quoted[n - 1] = '\0';
	if (!name_valid(quoted + 1))
		return parser_error(
		    ps, ps->line,
		    "invalid %s name '%s': use 1 to %d characters of A-Z a-z 0-9 _ . @ -", inner,
		    quoted + 1, POLICY_NAME_MAX);
	*ret_name = quoted + 1;
	return 0;
}

static int section_open(struct parser *ps, enum section_kind kind, const char *name)
{
	static const char *const kinds[_SECTION_KIND_MAX] = {
	    [SECTION_PROFILE] = "profile",
	    [SECTION_RULE] = "rule",
	};
	unsigned first = section_seen(ps, kind, name);

	if (kind == SECTION_DAEMON)
		snprintf(ps->label, sizeof(ps->label), "[daemon]");
	else
		snprintf(ps->label, sizeof(ps->label), "[%s \"%s\"]", kinds[kind], name);
	if (first)
		return parser_error(ps, ps->line, "duplicate section %s (first at line %u)",
				    ps->label, first);
	ps->section = kind;
	if (kind == SECTION_DAEMON) {
		ps->daemon_line = ps->line;
		return 0;
	}
	return kind == SECTION_PROFILE ? profile_new(ps, name) : rule_new(ps, name);
}

/* A line starting with '['. Its keys are ignored when it is rejected. */
static int section_begin(struct parser *ps, char *s)
{
	enum section_kind kind = SECTION_INVALID;
	char *name = NULL, *close, *tail;
	int r;

	section_end(ps);
	ps->section = SECTION_INVALID;
	ps->section_line = ps->line;
	memset(ps->key_line, 0, sizeof(ps->key_line));

	close = strchr(s, ']');
	if (!close)
		return parser_error(ps, ps->line, "unterminated section header");
	/* inih ignores anything after ']': allow only "; comment" after whitespace. */
	tail = close + 1 + strspn(close + 1, " \t");
	if (*tail != '\0' && !(*tail == ';' && tail > close + 1))
		return parser_error(ps, ps->line, "unexpected text after section header");
	*close = '\0';
	r = header_parse(ps, s + 1, &kind, &name);
	if (r < 0)
		return r;
	r = section_open(ps, kind, name);
	if (r == -ENOMEM)
		ps->error = r;
	return r;
}

/* ---- the reader ------------------------------------------------------------------------ */

/* One physical line into ps->buf (the first bytes only if it is too long). */
static int read_physical_line(struct parser *ps)
{
	size_t n = 0, total = 0;
	int c;

	while ((c = getc(ps->f)) != EOF && c != '\n') {
		if (n < sizeof(ps->buf) - 1)
			ps->buf[n++] = (char)c;
		total++;
	}
	if (ferror(ps->f))
		return -EIO;
	if (c == EOF && total == 0)
		return 0;
	ps->line++;
	if (n > 0 && n == total && ps->buf[n - 1] == '\r') /* CRLF */
		total = --n;
	ps->buf[n] = '\0';
	ps->len = n;
	ps->total = total;
	return 1;
}

/* Only blanks are left once control characters are rejected; no locale games. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static void rstrip(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && is_blank(s[n - 1]))
		s[--n] = '\0';
}

/* "name = ...": the only shape inih gets to see (no "name: value"). */
static bool key_line_valid(const char *s)
{
	size_t n = strspn(s, KEY_CHARS);

	if (n == 0 || n > KEY_NAME_MAX || isdigit((unsigned char)s[0]))
		return false;
	s += n;
	return s[strspn(s, " \t")] == '=';
}

/* Everything about a line that inih must not decide. True: a key line for inih. */
static bool line_check(struct parser *ps)
{
	char *s = ps->buf, *t;

	if (ps->total > POLICY_LINE_MAX) {
		parser_error(ps, ps->line, "line too long (%zu bytes, at most %d)", ps->total,
			     POLICY_LINE_MAX);
		return false;
	}
	for (size_t i = 0; i < ps->len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			parser_error(ps, ps->line, "control character 0x%02x", c);
			return false;
		}
	}
	if (ps->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3; /* UTF-8 byte order mark */
	rstrip(s);
	t = s + strspn(s, " \t");
	if (*t == '\0' || *t == ';' || *t == '#')
		return false;
	if (t != s) {
		/* inih would append it to the previous key's value. */
		parser_error(ps, ps->line, "indented line: continuation lines are not supported");
		return false;
	}
	if (*s == '[') {
		section_begin(ps, s);
		return false;
	}
	if (!key_line_valid(s)) {
		parser_error(ps, ps->line, "expected 'key = value', a [section] or a comment");
		return false;
	}
	ps->start = s;
	return true;
}

/* The value as inih would see it: leading space skipped, "; comment" and trailing space cut. */
static char *value_strip(char *v)
{
	bool was_space = false;
	char *s;

	v += strspn(v, " \t");
	for (s = v; *s && !(was_space && *s == ';'); s++)
		was_space = is_blank(*s);
	*s = '\0';
	rstrip(v);
	return v;
}

/*
 * Copies the key line into inih's buffer of num bytes (fgets contract). Debian
 * builds inih with a 200 byte buffer, less than POLICY_LINE_MAX: for a longer
 * line inih gets only "name =" and the handler takes the value from us, so a
 * long line is never split.
 */
static void hand_key_line(struct parser *ps, char *str, size_t num)
{
	size_t len = strlen(ps->start);
	char *eq;

	ps->handed = ps->line;
	if (len + 2 <= num) {
		snprintf(str, num, "%s\n", ps->start);
		return;
	}
	eq = strchr(ps->start, '=');
	len = strspn(ps->start, KEY_CHARS); /* <= KEY_NAME_MAX, checked by key_line_valid() */
	ps->value = value_strip(eq + 1);
	snprintf(str, num, "%.*s =\n", (int)len, ps->start);
}

/* inih's reader: returns the next key line; handles every other line itself. */
static char *reader_next(char *str, int num, void *stream)
{
	struct parser *ps = stream;
	int r;

	/* Every key line we hand over must reach on_key(); inih never rejects one. */
	if (ps->handed)
		parser_error(ps, ps->handed, "line rejected by the INI parser");
	ps->handed = 0;
	ps->value = NULL;
	while (ps->error == 0) {
		r = read_physical_line(ps);
		if (r < 0)
			parser_error(ps, 0, "read error after line %u: %s", ps->line, strerror(-r));
		if (r <= 0) {
			ps->error = r;
			return NULL;
		}
		if (!line_check(ps))
			continue;
		hand_key_line(ps, str, (size_t)num);
		return str;
	}
	return NULL;
}

/* ---- the whole file -------------------------------------------------------------------- */

/*
 * Opens the policy. Symlinks are followed (admins link policies), so the
 * checks are made on the opened file: only root may be able to change what
 * the daemon enforces. O_NONBLOCK: a FIFO must not hang the daemon.
 */
static int parser_open(struct parser *ps, unsigned flags)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open(ps->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		r = negative_errno();
		parser_error(ps, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	if (!S_ISREG(st.st_mode))
		return parser_error(ps, 0, "not a regular file");
	if (!(flags & POLICY_PARSE_SKIP_OWNER_CHECK)) {
		if (st.st_uid != 0)
			parser_error(ps, 0, "policy file must be owned by root (owner uid %u)",
				     (unsigned)st.st_uid);
		if (st.st_mode & (S_IWGRP | S_IWOTH))
			parser_error(
			    ps, 0,
			    "policy file must not be writable by group or others (mode %04o)",
			    (unsigned)(st.st_mode & 07777));
		if (ps->n_errors > 0)
			return -EINVAL;
	}
	ps->f = fdopen(fd, "r");
	if (!ps->f)
		return negative_errno();
	TAKE_FD(fd);
	return 0;
}

static void link_rule(struct parser *ps, size_t i)
{
	const struct rule_ref *ref = &ps->rule_refs[i];
	const struct policy_profile *pr;

	if (!ref->profile)
		return; /* reported at the end of its section */
	pr = policy_profile_by_name(ps->p, ref->profile);
	if (!pr) {
		parser_error(ps, ref->profile_line, "unknown profile '%s' in [rule \"%s\"]",
			     ref->profile, ps->p->rules[i].name);
		return;
	}
	ps->p->rules[i].profile = (size_t)(pr - ps->p->profiles);
}

/* A unit must select exactly one profile. */
static void check_units(struct parser *ps, size_t i)
{
	const struct policy *p = ps->p;

	for (char **u = p->profiles[i].units; *u; u++)
		for (size_t j = 0; j < i; j++)
			for (char **v = p->profiles[j].units; *v; v++)
				if (strcmp(*u, *v) == 0)
					parser_error(ps, ps->units_lines[i],
						     "unit '%s' is also listed in [profile \"%s\"]",
						     *u, p->profiles[j].name);
}

/* Each profile's rules, in file order. */
static int collect_rules(struct policy *p)
{
	for (size_t i = 0; i < p->n_profiles; i++) {
		struct policy_profile *pr = &p->profiles[i];

		pr->rules = calloc(p->n_rules + 1, sizeof(*pr->rules));
		if (!pr->rules)
			return -ENOMEM;
		for (size_t j = 0; j < p->n_rules; j++)
			if (p->rules[j].profile == i)
				pr->rules[pr->n_rules++] = j;
		policy_profile_compute_needs(p, pr);
	}
	return 0;
}

/*
 * A command decided in the kernel never reaches the rules: a rule that could
 * decide it would be dead, and the admin would believe it is enforced.
 */
static void check_kernel_allow(struct parser *ps, const struct policy_profile *pr)
{
	for (int cmd = 0; cmd < MG_CMD_MAX; cmd++) {
		const struct policy_rule *r;

		if (!(pr->kernel_allow & (1u << cmd)))
			continue;
		r = policy_profile_rule_for(ps->p, pr, cmd);
		if (r)
			parser_error(
			    ps, pr->kernel_allow_line,
			    "kernel_allow %s in [profile \"%s\"]: [rule \"%s\"] at line %u "
			    "also decides %s, and would never see it",
			    mg_cmd_name(cmd), pr->name, r->name, r->line, mg_cmd_name(cmd));
	}
}

/* Cross-references, once the whole file is read. */
static int policy_link(struct parser *ps)
{
	int r;

	if (ps->p->n_profiles == 0)
		parser_error(ps, 0, "no profile: define at least one [profile \"NAME\"] section");
	for (size_t i = 0; i < ps->p->n_rules; i++)
		link_rule(ps, i);
	for (size_t i = 0; i < ps->p->n_profiles; i++)
		check_units(ps, i);
	if (ps->n_errors > 0)
		return -EINVAL;
	r = collect_rules(ps->p);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ps->p->n_profiles; i++)
		check_kernel_allow(ps, &ps->p->profiles[i]);
	return ps->n_errors > 0 ? -EINVAL : 0;
}

static int parser_run(struct parser *ps)
{
	int r = ini_parse_stream(reader_next, ps, on_key, ps);

	if (ps->error < 0)
		return ps->error;
	if (r < 0)
		return -ENOMEM; /* -2: inih could not allocate its line buffer */
	if (r > 0 && ps->n_errors == 0)
		parser_error(ps, 0, "rejected by the INI parser");
	section_end(ps);
	return 0;
}

static void parser_done(struct parser *ps)
{
	if (ps->f)
		fclose(ps->f);
	for (size_t i = 0; i < ps->n_refs; i++)
		free(ps->rule_refs[i].profile);
	free(ps->rule_refs);
	free(ps->units_lines);
	policy_free(ps->p);
}

int policy_parse_file(const char *path, unsigned flags, struct policy **ret,
		      struct policy_errors *errs)
{
	struct parser ps = {.path = path, .errs = errs};
	int r;

	ps.p = calloc(1, sizeof(*ps.p));
	if (ps.p)
		ps.p->daemon = (struct policy_daemon){
		    .audit_fold_after = -1, .audit_fold_interval = -1, .audit_queue = -1};
	if (!ps.p)
		return -ENOMEM;
	ps.p->path = strdup(path);
	r = ps.p->path ? parser_open(&ps, flags) : -ENOMEM;
	if (r >= 0)
		r = parser_run(&ps);
	if (r >= 0)
		r = policy_link(&ps);
	if (r >= 0 && ps.error < 0)
		r = ps.error; /* out of memory while recording an error */
	if (r >= 0)
		*ret = TAKE_PTR(ps.p);
	parser_done(&ps);
	return r;
}

/* ---- lookups ------------------------------------------------------------------------- */

const struct policy_profile *policy_profile_by_name(const struct policy *p, const char *name)
{
	for (size_t i = 0; p && name && i < p->n_profiles; i++)
		if (strcmp(p->profiles[i].name, name) == 0)
			return &p->profiles[i];
	return NULL;
}

const struct policy_profile *policy_profile_by_unit(const struct policy *p, const char *unit)
{
	for (size_t i = 0; p && unit && i < p->n_profiles; i++)
		for (char **u = p->profiles[i].units; *u; u++)
			if (strcmp(*u, unit) == 0)
				return &p->profiles[i];
	return NULL;
}
