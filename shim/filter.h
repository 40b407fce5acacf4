/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The seccomp filter the shim installs on itself before exec. */
#pragma once

#include <stdint.h>
#include <linux/filter.h>

#define FILTER_INSNS_MAX 128 /* the longest program (every command kernel-allowed) has ~75 */

struct filter_program {
	struct sock_filter insn[FILTER_INSNS_MAX];
	unsigned short len;
};

/*
 * Build the program for a profile whose kernel_allow is the given mask (bit n =
 * msgctl command n). Pure: no syscalls. On success returns 0, fills *ret and
 * sets *ret_compiled to the commands the program really allows in the kernel
 * on every msgctl entry point (the mask without bits that are no command);
 * -EINVAL / -E2BIG on an internal error (never, by construction).
 */
int filter_build(uint32_t kernel_allow, struct filter_program *ret, uint32_t *ret_compiled);

/*
 * Build and install the msgguard filter on the calling (single-threaded)
 * process and return its notification listener fd (O_CLOEXEC), or a negative
 * errno; *ret_compiled as for filter_build(). On failure nothing may be
 * exec'd: the caller dies.
 */
int filter_install(uint32_t kernel_allow, uint32_t *ret_compiled);

/*
 * The low 32-bit values of the cmd register that the filter allows in the
 * kernel for one msgctl entry point (seccomp audit arch, syscall nr), at most
 * size of them, in ascending order; returns how many. Derived from
 * mg_call_classify(), the daemon's own classifier: a value is allowed exactly
 * when the kernel executes it as a command in the mask.
 */
unsigned filter_kernel_values(uint32_t kernel_allow, uint32_t audit_arch, int nr, uint32_t *out,
			      unsigned size);
