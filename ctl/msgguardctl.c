/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msgguardctl: the admin CLI. One function per verb, found in a table; it
 * trusts only the policy file it is given, and only as far as the parser does.
 * The verbs live in ctl/client.c (status, reload), ctl/rules.c (explain,
 * list-rules) and ctl/wrap.c (wrap).
 *
 * Exit status: 0 success, 1 the verb failed (e.g. an invalid policy), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "util.h"

struct verb {
	const char *name;
	const char *args; /* for the usage text */
	const char *help;
	int (*run)(int argc, char **argv); /* argv[0] is the verb */
};

int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "msgguardctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'msgguardctl --help'.\n");
	return EXIT_USAGE;
}

int option_error(const char *verb, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (c == ':')
		return usage_error("%s: option '%s' needs a value", verb, arg);
	return usage_error("%s: unknown option '%s'", verb, arg);
}

static void print_errors(const struct policy_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->lines[i]);
}

int load_policy(const char *path, bool skip_owner_check, struct policy **ret)
{
	struct policy_errors errs = {0};
	int r;

	r = policy_parse_file(path, skip_owner_check ? POLICY_PARSE_SKIP_OWNER_CHECK : 0, ret,
			      &errs);
	if (r < 0) {
		print_errors(&errs);
		if (errs.n == 0)
			fprintf(stderr, "%s: %s\n", path, strerror(-r));
	}
	policy_errors_clear(&errs);
	return r;
}

/*
 * check [--no-owner-check] [FILE]: the same parser, with the same messages, as
 * msgguardd. --no-owner-check is for drafts not yet installed as root; the
 * daemon never skips the check.
 */
static int verb_check(int argc, char **argv)
{
	struct policy *p = NULL;
	const char *path = DEFAULT_POLICY;
	bool skip_owner_check = false;
	int i = 1;

	if (i < argc && strcmp(argv[i], "--no-owner-check") == 0) {
		skip_owner_check = true;
		i++;
	}
	if (i < argc && argv[i][0] == '-' && argv[i][1] != '\0')
		return usage_error("check: unknown option '%s'", argv[i]);
	if (i < argc)
		path = argv[i++];
	if (i < argc)
		return usage_error("check: unexpected argument '%s'", argv[i]);

	if (load_policy(path, skip_owner_check, &p) < 0)
		return EXIT_FAILURE;
	printf("%s: OK (%zu profiles, %zu rules)\n", path, p->n_profiles, p->n_rules);
	policy_free(p);
	return EXIT_SUCCESS;
}

static const struct verb verbs[] = {
    {"check", "[--no-owner-check] [FILE]", "Validate a policy file (default " DEFAULT_POLICY ")",
     verb_check},
    {"status", "[--control PATH]", "Show the running daemon's state, services and counters",
     verb_status},
    {"reload", "[--control PATH]",
     "Make msgguardd load its policy again and wait for the outcome (root only)", verb_reload},
    {"explain",
     "[--policy FILE] [--profile NAME|--unit UNIT] --cmd CMD [--uid U] [--gid G]\n"
     "          [--queue-key K] [--queue-uid U] [--queue-cuid U] [--queue-gid G] [--queue-mode M]\n"
     "          [--set-mode M] [--set-uid U] [--set-gid G] [--set-qbytes N] [--no-owner-check]",
     "Decide a hypothetical msgctl call and show why, rule by rule", verb_explain},
    {"list-rules", "[--policy FILE] [--profile NAME] [--no-owner-check]",
     "Show each profile's rules in evaluation order, and its default", verb_list_rules},
    {"wrap", "UNIT [--profile NAME] [--dry-run] [--output FILE] [--shim PATH]",
     "Write the drop-in that starts UNIT under msgguard-shim", verb_wrap},
};

static int help(void)
{
	printf("Usage: msgguardctl [--help] [--version] VERB [ARGS...]\n\nVerbs:\n");
	for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
		printf("  %s %s\n      %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	printf("\nThe control socket is $MSGGUARD_CONTROL, else /run/msgguard/control.sock.\n"
	       "See msgguardctl(8).\n");
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
