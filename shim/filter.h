/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The seccomp filter the shim installs on itself before exec. */
#pragma once

/*
 * Install the msgguard filter on the calling (single-threaded) process and
 * return its notification listener fd (O_CLOEXEC), or a negative errno. On
 * failure nothing may be exec'd: the caller dies.
 */
int filter_install(void);
