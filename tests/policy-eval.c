/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tests/policy-eval CASEFILE...: run case tables through the policy evaluator
 * and print one TAP stream (plan at the end).
 *
 * A case file: blank lines and '#' comments are ignored;
 *   policy: PATH        the policy for the rows below (a relative PATH is
 *                       from the case file's directory; no owner check)
 *   REQUEST -> EXPECTED one test per row
 * REQUEST: profile=NAME (or unit=UNIT: the profile listing it) cmd=NAME|NUMBER|-1
 * uid=N gid=N, plus key=K quid=N
 * qcuid=N [qgid=N qmode=0600] when the queue is known (absent: unknown queue),
 * plus the new values of an IPC_SET [set_mode=0640 set_uid=N set_gid=N
 * set_qbytes=N] (any of them: the values are known, absent ones are 0).
 * EXPECTED: allow|deny [ERRNO (deny only)] rule=NAME|(default) [enforced=yes|no]
 * [values=yes|no] (enforced defaults to yes; values, when given, is what
 * policy_profile_has_value_rules() must say about the row's profile).
 */
#include <errno.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define ROW_MAX 1024

struct expect {
	enum policy_verdict verdict;
	int error;
	char rule[POLICY_NAME_MAX + 1];
	bool enforced;
	int values; /* -1: not checked, else policy_profile_has_value_rules() */
};

/* What the evaluator said about a row. */
struct outcome {
	struct policy_decision d;
	bool values; /* policy_profile_has_value_rules() of the row's profile */
};

/* How a row picks its profile. */
struct selector {
	const char *profile;
	const char *unit;
};

struct run {
	unsigned n; /* tests so far */
	unsigned failed;
	const char *file; /* case file, for the test names */
	unsigned line;
	struct policy *policy;
	bool policy_bad; /* the last "policy:" did not load: its rows fail */
};

static int parse_num(const char *s, long long min, long long max, long long *ret)
{
	char *end;
	long long v;

	if (*s == '\0')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 0);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int parse_cmd(const char *s, int *ret)
{
	long long v;
	int cmd = mg_cmd_from_name(s);

	if (cmd >= 0) {
		*ret = cmd;
		return 0;
	}
	if (parse_num(s, -1, INT32_MAX, &v) < 0)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

/* Unsigned 64 bits: digits (or 0x and hex digits) only. */
static int parse_u64(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* "set_NAME=value": a new value of an IPC_SET; any of them makes them known. */
static int set_field(const char *name, const char *value, struct policy_request *req)
{
	uint64_t v;

	if (parse_u64(value, &v) < 0)
		return -EINVAL;
	req->set_known = true;
	if (strcmp(name, "qbytes") == 0) {
		req->set_qbytes = v;
		return 0;
	}
	if (v > UINT32_MAX)
		return -EINVAL;
	if (strcmp(name, "mode") == 0)
		req->set_mode = (uint32_t)v;
	else if (strcmp(name, "uid") == 0)
		req->set_uid = (uid_t)v;
	else if (strcmp(name, "gid") == 0)
		req->set_gid = (gid_t)v;
	else
		return -EINVAL;
	return 0;
}

/* One "name=value" of a request; *seen collects which queue fields were given. */
static int request_field(const char *name, const char *value, struct policy_request *req,
			 unsigned *seen)
{
	long long v;

	if (strcmp(name, "cmd") == 0)
		return parse_cmd(value, &req->cmd);
	if (strncmp(name, "set_", 4) == 0)
		return set_field(name + 4, value, req);
	if (parse_num(value, 0, UINT32_MAX, &v) < 0)
		return -EINVAL;
	if (strcmp(name, "uid") == 0)
		req->caller_euid = (uid_t)v;
	else if (strcmp(name, "gid") == 0)
		req->caller_egid = (gid_t)v;
	else if (strcmp(name, "key") == 0)
		req->queue_key = (int32_t)(uint32_t)v, *seen |= 1;
	else if (strcmp(name, "quid") == 0)
		req->queue_uid = (uid_t)v, *seen |= 2;
	else if (strcmp(name, "qcuid") == 0)
		req->queue_cuid = (uid_t)v, *seen |= 4;
	else if (strcmp(name, "qgid") == 0)
		req->queue_gid = (gid_t)v;
	else if (strcmp(name, "qmode") == 0)
		req->queue_mode = (uint32_t)v;
	else
		return -EINVAL;
	return 0;
}

/* "profile=...|unit=... cmd=... uid=... gid=... [key=... quid=... qcuid=... ...] [set_...]" */
static int parse_request(char *s, struct selector *ret_sel, struct policy_request *req)
{
	unsigned seen = 0;
	char *save = NULL;

	*req = (struct policy_request){.cmd = -2};
	*ret_sel = (struct selector){0};
	for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
		char *eq = strchr(t, '=');

		if (!eq)
			return -EINVAL;
		*eq = '\0';
		if (strcmp(t, "profile") == 0)
			ret_sel->profile = eq + 1;
		else if (strcmp(t, "unit") == 0)
			ret_sel->unit = eq + 1;
		else if (request_field(t, eq + 1, req, &seen) < 0)
			return -EINVAL;
	}
	if (!ret_sel->profile == !ret_sel->unit || req->cmd == -2 || (seen != 0 && seen != 7))
		return -EINVAL;
	req->queue_known = seen == 7;
	return 0;
}

/* "allow|deny [ERRNO] rule=NAME [enforced=yes|no] [values=yes|no]" */
static int parse_expect(char *s, struct expect *e)
{
	char *save = NULL, *t = strtok_r(s, " \t", &save);

	*e = (struct expect){.enforced = true, .values = -1};
	if (!t || (strcmp(t, "allow") != 0 && strcmp(t, "deny") != 0))
		return -EINVAL;
	e->verdict = strcmp(t, "allow") == 0 ? POLICY_ALLOW : POLICY_DENY;
	while ((t = strtok_r(NULL, " \t", &save))) {
		if (strncmp(t, "rule=", 5) == 0 && strlen(t + 5) <= POLICY_NAME_MAX)
			strcpy(e->rule, t + 5);
		else if (strcmp(t, "enforced=yes") == 0 || strcmp(t, "enforced=no") == 0)
			e->enforced = strcmp(t, "enforced=yes") == 0;
		else if (strcmp(t, "values=yes") == 0 || strcmp(t, "values=no") == 0)
			e->values = strcmp(t, "values=yes") == 0;
		else if (e->verdict == POLICY_DENY && e->error == 0 && mg_errno_from_name(t) > 0)
			e->error = mg_errno_from_name(t);
		else
			return -EINVAL;
	}
	/* A deny without its errno, or a row without rule=, would test nothing. */
	if (e->rule[0] == '\0' || (e->verdict == POLICY_DENY) != (e->error != 0))
		return -EINVAL;
	return 0;
}

/* values: -1 leaves it out. */
static void format_decision(char *buf, size_t size, enum policy_verdict v, int error,
			    const char *rule, bool enforced, int values)
{
	snprintf(buf, size, "%s%s%s rule=%s enforced=%s%s", v == POLICY_ALLOW ? "allow" : "deny",
		 v == POLICY_DENY ? " " : "", v == POLICY_DENY ? mg_errno_name(error) : "", rule,
		 enforced ? "yes" : "no",
		 values < 0 ? "" : (values ? " values=yes" : " values=no"));
}

__attribute__((format(printf, 3, 4))) static void result(struct run *run, bool ok, const char *fmt,
							 ...)
{
	va_list ap;

	run->n++;
	if (!ok)
		run->failed++;
	printf("%sok %u - %s line %u: ", ok ? "" : "not ", run->n, run->file, run->line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Evaluates one row; returns false with *ret_why set for a row that cannot run. */
static bool eval_row(struct run *run, char *row, struct expect *e, struct outcome *o,
		     const char **ret_why)
{
	char *arrow = strstr(row, "->");
	const struct policy_profile *profile;
	struct policy_request req;
	struct selector sel;

	*ret_why = "malformed row";
	if (!arrow)
		return false;
	*arrow = '\0';
	if (parse_request(row, &sel, &req) < 0 || parse_expect(arrow + 2, e) < 0)
		return false;
	*ret_why = "no policy loaded";
	if (!run->policy)
		return false;
	*ret_why = "no such profile";
	profile = sel.profile ? policy_profile_by_name(run->policy, sel.profile)
			      : policy_profile_by_unit(run->policy, sel.unit);
	if (!profile)
		return false;
	policy_evaluate(run->policy, profile, &req, &o->d);
	o->values = policy_profile_has_value_rules(run->policy, profile);
	return true;
}

static void run_row(struct run *run, char *row)
{
	char want[256], got[256], text[ROW_MAX];
	struct outcome o;
	struct expect e;
	const char *why;

	snprintf(text, sizeof(text), "%s", row);
	if (!eval_row(run, row, &e, &o, &why)) {
		result(run, false, "%s: %s", why, text);
		return;
	}
	format_decision(want, sizeof(want), e.verdict, e.error, e.rule, e.enforced, e.values);
	format_decision(got, sizeof(got), o.d.verdict, o.d.error, policy_decision_rule_name(&o.d),
			o.d.enforced, e.values < 0 ? -1 : o.values);
	if (strcmp(want, got) == 0)
		result(run, true, "%s", text);
	else
		result(run, false, "%s: expected %s, got %s", text, want, got);
}

/* "policy: PATH", relative to the case file's directory. */
static void load_policy(struct run *run, const char *dir, const char *rel)
{
	struct policy_errors errs = {0};
	char path[4096];
	int r;

	policy_free(run->policy);
	run->policy = NULL;
	if (rel[0] == '/')
		snprintf(path, sizeof(path), "%s", rel);
	else
		snprintf(path, sizeof(path), "%s/%s", dir, rel);
	r = policy_parse_file(path, POLICY_PARSE_SKIP_OWNER_CHECK, &run->policy, &errs);
	if (r < 0) {
		result(run, false, "policy %s does not load: %s", rel, strerror(-r));
		for (size_t i = 0; i < errs.n; i++)
			printf("# %s\n", errs.lines[i]);
	}
	policy_errors_clear(&errs);
}

static void run_line(struct run *run, const char *dir, char *line)
{
	line[strcspn(line, "\n")] = '\0';
	line += strspn(line, " \t");
	if (line[0] == '\0' || line[0] == '#')
		return;
	if (strncmp(line, "policy:", 7) == 0)
		load_policy(run, dir, line + 7 + strspn(line + 7, " \t"));
	else
		run_row(run, line);
}

static void run_file(struct run *run, const char *path)
{
	_cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path);
	char line[ROW_MAX];
	const char *dir;
	FILE *f;

	if (!dir_copy || !base_copy)
		abort();
	dir = dirname(dir_copy);
	run->file = basename(base_copy);
	run->line = 0;
	f = fopen(path, "re");
	if (!f) {
		result(run, false, "cannot open %s: %s", path, strerror(errno));
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		run->line++;
		run_line(run, dir, line);
	}
	fclose(f);
	policy_free(run->policy);
	run->policy = NULL;
}

int main(int argc, char **argv)
{
	struct run run = {0};

	if (argc < 2) {
		fprintf(stderr, "usage: policy-eval CASEFILE...\n");
		return 2;
	}
	for (int i = 1; i < argc; i++)
		run_file(&run, argv[i]);
	printf("1..%u\n", run.n);
	return run.failed > 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
