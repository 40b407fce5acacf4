/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's privileges: what it keeps, dropped once before serving anyone. */
#pragma once

/*
 * Keep only the capabilities msgguardd needs (privs.c says why each), in the
 * effective, permitted and bounding sets; clear inheritable and ambient; lock
 * out regaining root privileges through exec; verify the result. Returns 0
 * or a negative errno (the daemon then refuses to start).
 */
int privs_drop(void);

/*
 * Make the process non-dumpable (no core dumps, no ptrace without
 * CAP_SYS_PTRACE) and check it. Needed again after any credential change:
 * the kernel then resets dumpability to fs.suid_dumpable (commit_creds()).
 */
int privs_undumpable(void);
