/* SPDX-License-Identifier: GPL-2.0-or-later */
/* msgguardctl: what the verbs share. Each verb returns an exit status. */
#pragma once

#include <stdio.h>

#include "policy.h"

#define EXIT_USAGE     2
#define DEFAULT_POLICY SYSCONFDIR "/msgguard/policy.ini"

/* "msgguardctl: MESSAGE" and the --help hint on stderr; returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);

/* The getopt_long() failure of a verb (unknown option, missing argument) as a usage error. */
int option_error(const char *verb, int c, char **argv);

/*
 * Load a policy as msgguardd does (with the owner check unless skip_owner_check);
 * on failure print every error as FILE:LINE: message on stderr and return a
 * negative errno.
 */
int load_policy(const char *path, bool skip_owner_check, struct policy **ret);

int verb_status(int argc, char **argv);
int verb_reload(int argc, char **argv);
int verb_explain(int argc, char **argv);
int verb_list_rules(int argc, char **argv);
int verb_wrap(int argc, char **argv);
