/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the policy parser (policy/parse.c, and policy/eval.c on what it
 * accepts). The input is a policy file; it is written to a memfd and parsed
 * through /proc/self/fd/N, the same open/fstat/stdio path the daemon uses. A
 * memfd is not owned by root with a safe mode in every setup, hence
 * POLICY_PARSE_SKIP_OWNER_CHECK.
 *
 * Besides memory errors and undefined behaviour (the sanitizers' job), it
 * aborts when the parser breaks its documented contract: a rejected policy
 * reports at least one error, every error is "FILE:LINE: message", an
 * accepted policy reports none and is internally consistent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "policy.h"

static int memfd = -1;
static char path[64];

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz-policy: contract broken: %s\n", what);
		abort();
	}
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t n = write(fd, data, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		size -= (size_t)n;
	}
	return 0;
}

/* "PATH:LINE: text" with LINE a decimal number. */
static int error_line_valid(const char *line)
{
	size_t n = strlen(path);
	const char *s = line + n + 1;

	if (strncmp(line, path, n) != 0 || line[n] != ':' || *s < '0' || *s > '9')
		return 0;
	s += strspn(s, "0123456789");
	return s[0] == ':' && s[1] == ' ' && s[2] != '\0';
}

/* Runs the evaluator over an accepted policy: every profile, every command. */
static void evaluate_all(const struct policy *p)
{
	for (size_t i = 0; i < p->n_profiles; i++) {
		const struct policy_profile *pr = &p->profiles[i];

		check(policy_profile_by_name(p, pr->name) == pr, "profile lookup by name");
		for (char **u = pr->units; *u; u++)
			check(policy_profile_by_unit(p, *u) == pr, "profile lookup by unit");
		for (size_t j = 0; j < pr->n_rules; j++)
			check(pr->rules[j] < p->n_rules && p->rules[pr->rules[j]].profile == i,
			      "rule index of a profile");
		(void)policy_profile_has_value_rules(p, pr);
		for (int cmd = -1; cmd < MG_CMD_MAX; cmd++) {
			struct policy_request req = {
			    .cmd = cmd,
			    .caller_euid = 1000,
			    .caller_egid = 1000,
			    .queue_known = cmd != MG_IPC_INFO,
			    .queue_key = 0x1234,
			    .queue_uid = 1000,
			    .queue_cuid = 0,
			    .queue_gid = 1000,
			    .queue_mode = 0660,
			    .set_known = cmd == MG_IPC_SET,
			    .set_mode = 0640,
			    .set_uid = 1000,
			    .set_gid = 1000,
			    .set_qbytes = 16384,
			};
			struct policy_decision d;

			policy_evaluate(p, pr, &req, &d);
			check(d.verdict == POLICY_ALLOW || d.verdict == POLICY_DENY, "verdict");
			check(d.verdict == POLICY_ALLOW || d.error > 0, "errno of a deny");
			check(policy_decision_rule_name(&d) != NULL, "rule name");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy_errors errs = {0};
	struct policy *p = NULL;
	int r;

	if (memfd < 0) {
		memfd = memfd_create("fuzz-policy.ini", MFD_CLOEXEC);
		if (memfd < 0) {
			perror("fuzz-policy: memfd_create");
			abort();
		}
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
	}
	if (ftruncate(memfd, 0) < 0 || lseek(memfd, 0, SEEK_SET) < 0 ||
	    write_all(memfd, data, size) < 0) {
		perror("fuzz-policy: writing the memfd");
		abort();
	}

	r = policy_parse_file(path, POLICY_PARSE_SKIP_OWNER_CHECK, &p, &errs);
	if (r == 0) {
		check(p != NULL, "success without a policy");
		check(errs.n == 0, "success with errors");
		check(p->n_profiles > 0, "a policy without profiles");
		evaluate_all(p);
		policy_free(p);
	} else {
		check(r == -EINVAL || r == -ENOMEM, "unexpected return value");
		check(p == NULL, "*ret set on failure");
		check(r != -EINVAL || errs.n > 0, "-EINVAL without an error");
		for (size_t i = 0; i < errs.n; i++)
			check(error_line_valid(errs.lines[i]), "error not 'FILE:LINE: message'");
	}
	policy_errors_clear(&errs);
	return 0;
}
