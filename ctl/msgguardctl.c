/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msgguardctl: the admin CLI. One function per verb, found in a table; it
 * trusts only the policy file it is given, and only as far as the parser does.
 *
 * Exit status: 0 success, 1 the verb failed (e.g. an invalid policy), 2 usage.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "util.h"

#define EXIT_USAGE     2
#define DEFAULT_POLICY SYSCONFDIR "/msgguard/policy.ini"

struct verb {
	const char *name;
	const char *args; /* for the usage text */
	const char *help;
	int (*run)(int argc, char **argv); /* argv[0] is the verb */
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "msgguardctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'msgguardctl --help'.\n");
	return EXIT_USAGE;
}

static void print_errors(const struct policy_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->lines[i]);
}

/*
 * check [--no-owner-check] [FILE]: the same parser, with the same messages, as
 * msgguardd. --no-owner-check is for drafts not yet installed as root; the
 * daemon never skips the check.
 */
static int verb_check(int argc, char **argv)
{
	struct policy_errors errs = {0};
	struct policy *p = NULL;
	const char *path = DEFAULT_POLICY;
	unsigned flags = 0;
	int i = 1, r;

	if (i < argc && strcmp(argv[i], "--no-owner-check") == 0) {
		flags |= POLICY_PARSE_SKIP_OWNER_CHECK;
		i++;
	}
	if (i < argc && argv[i][0] == '-' && argv[i][1] != '\0')
		return usage_error("check: unknown option '%s'", argv[i]);
	if (i < argc)
		path = argv[i++];
	if (i < argc)
		return usage_error("check: unexpected argument '%s'", argv[i]);

	r = policy_parse_file(path, flags, &p, &errs);
	if (r < 0) {
		print_errors(&errs);
		if (errs.n == 0)
			fprintf(stderr, "%s: %s\n", path, strerror(-r));
		policy_errors_clear(&errs);
		return EXIT_FAILURE;
	}
	printf("%s: OK (%zu profiles, %zu rules)\n", path, p->n_profiles, p->n_rules);
	policy_free(p);
	return EXIT_SUCCESS;
}

static const struct verb verbs[] = {
    {"check", "[--no-owner-check] [FILE]", "Validate a policy file (default " DEFAULT_POLICY ")",
     verb_check},
};

static int help(void)
{
	printf("Usage: msgguardctl [--help] [--version] VERB [ARGS...]\n\nVerbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %s %s\n      %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("missing verb");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return help();
	if (strcmp(argv[1], "--version") == 0) {
		printf("msgguardctl %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		if (strcmp(argv[1], verbs[i].name) == 0)
			return verbs[i].run(argc - 1, argv + 1);
	return usage_error("unknown verb '%s'", argv[1]);
}
