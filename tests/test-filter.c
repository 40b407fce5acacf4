/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shim's filter program (shim/filter.c), run in a small classic-BPF
 * interpreter over seccomp_data, without the kernel: for every kernel_allow
 * mask of the seven commands (and masks with bits that are no command), every
 * msgctl entry point and thousands of cmd register values (low words 0..0x3ff
 * and the interesting others, upper words 0, 0xdead0000, 0xffffffff), the
 * verdict must be ALLOW exactly when the kernel executes the value as a
 * command in the mask, else USER_NOTIF. "What the kernel executes" is written
 * out here a second time from notes/01 (kernel_model()), independently of
 * mg_call_classify(), which the filter is built from; both must agree. The
 * rest of the filter (x32 and foreign arches killed, the EPERM escape hatches,
 * other syscalls allowed) must not depend on the mask. tests/live-kernel-allow.test
 * checks the same against the live kernel.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "filter.h"
#include "msgctl.h"
#include "tap.h"

#define ALL_CMDS                                                                                   \
	(1u << MG_IPC_RMID | 1u << MG_IPC_SET | 1u << MG_IPC_STAT | 1u << MG_IPC_INFO |            \
	 1u << MG_MSG_STAT | 1u << MG_MSG_INFO | 1u << MG_MSG_STAT_ANY)
#define X32_BIT 0x40000000

static const int cmds[] = {MG_IPC_RMID, MG_IPC_SET,  MG_IPC_STAT,    MG_IPC_INFO,
			   MG_MSG_STAT, MG_MSG_INFO, MG_MSG_STAT_ANY};

/* ---- a classic BPF interpreter for what the filter uses ---------------------------- */

static int bad_program; /* an instruction the interpreter does not know, or a bad load */

static uint32_t bpf_run(const struct filter_program *fp, const struct seccomp_data *d)
{
	uint32_t a = 0;

	for (unsigned pc = 0; pc < fp->len; pc++) {
		const struct sock_filter *i = &fp->insn[pc];

		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (i->k % 4 || i->k + 4 > sizeof(*d)) {
				bad_program = 1;
				return 0;
			}
			memcpy(&a, (const char *)d + i->k, 4);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			a &= i->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= i->k ? i->jt : i->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & i->k) ? i->jt : i->jf;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		default:
			bad_program = 1;
			return 0;
		}
	}
	bad_program = 1; /* fell off the end */
	return 0;
}

/* ---- what the kernel executes (notes/01, ipc/msg.c, ipc/syscall.c) ---------------- */

enum entry { E_X86_64, E_402, E_IPC, _E_MAX };
static const char *const entry_name[_E_MAX] = {"x86_64 msgctl", "i386 msgctl(402)", "i386 ipc"};

static int known(uint32_t c)
{
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if ((uint32_t)cmds[i] == c)
			return 1;
	return 0;
}

/* The command the kernel executes for the int cmd (low word v), -1 for none (EINVAL). */
static int kernel_model(enum entry e, uint32_t v)
{
	uint32_t base = v & ~(uint32_t)MG_IPC_64;

	switch (e) {
	case E_X86_64: /* ksys_msgctl(): cmd as is */
		return known(v) ? (int)v : -1;
	case E_402: /* compat_ksys_msgctl(): switch (cmd & ~IPC_64), cmd passed down unmasked */
		if ((int32_t)v < 0 || !known(base))
			return -1;
		if (!(v & MG_IPC_64))
			return (int)base;
		if (base == MG_IPC_STAT || base == MG_MSG_STAT || base == MG_MSG_STAT_ANY)
			return MG_IPC_STAT; /* msgctl_stat() by id */
		if (base == MG_IPC_INFO || base == MG_MSG_INFO)
			return MG_IPC_INFO; /* msgctl_info() fills IPC_INFO data */
		return (int)base;	    /* msgctl_down(): checks, then EINVAL */
	case E_IPC:			    /* compat_ksys_old_msgctl(): IPC_64 stripped */
		return known(base) ? (int)base : -1;
	default:
		return -1;
	}
}

static struct seccomp_data call(enum entry e, uint32_t ipc_call, uint64_t cmd_reg)
{
	struct seccomp_data d = {0};

	switch (e) {
	case E_X86_64:
		d.arch = AUDIT_ARCH_X86_64;
		d.nr = 71;
		d.args[0] = 1;
		d.args[1] = cmd_reg;
		break;
	case E_402:
		d.arch = AUDIT_ARCH_I386;
		d.nr = 402;
		d.args[0] = 1;
		d.args[1] = (uint32_t)cmd_reg; /* a compat task's registers are 32 bits */
		break;
	default:
		d.arch = AUDIT_ARCH_I386;
		d.nr = 117;
		d.args[0] = ipc_call;
		d.args[1] = 1;
		d.args[2] = (uint32_t)cmd_reg;
		break;
	}
	return d;
}

static const char *verdict_name(uint32_t v)
{
	switch (v & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW:
		return "ALLOW";
	case SECCOMP_RET_USER_NOTIF:
		return "USER_NOTIF";
	case SECCOMP_RET_KILL_PROCESS:
		return "KILL_PROCESS";
	case SECCOMP_RET_ERRNO:
		return "ERRNO";
	default:
		return "?";
	}
}

/* ---- the sweep -------------------------------------------------------------------- */

static uint32_t low_values[0x400 + 64];
static size_t n_low_values;

static void make_values(void)
{
	static const uint32_t extra[] = {0x80000000, 0xffffffff, 0x7fffffff, 0xfffffeff,
					 0x00010000, 0x01000000, 0x00020002, 0x10000102,
					 0x80000002, 0x80000102, 0xfffff002, 0x0001000b};

	for (uint32_t v = 0; v < 0x400; v++)
		low_values[n_low_values++] = v;
	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
		low_values[n_low_values++] = extra[i];
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		low_values[n_low_values++] = 0x80000000u | (uint32_t)cmds[i];
		low_values[n_low_values++] = 0x00010000u | (uint32_t)cmds[i] | MG_IPC_64;
	}
}

/* One mask: every entry point, every value; returns the number of mismatches. */
static unsigned sweep_mask(uint32_t mask, const struct filter_program *fp, unsigned *n_checked)
{
	static const uint64_t uppers[] = {0, 0xdead0000ull << 32, 0xffffffffull << 32};
	static const uint32_t ipc_calls[] = {14, 14 | 1u << 16, 14 | 0xffffu << 16};
	unsigned bad = 0;

	for (int e = 0; e < _E_MAX; e++)
		for (size_t u = 0; u < (e == E_X86_64 ? 3u : 1u); u++)
			for (size_t c = 0; c < (e == E_IPC ? 3u : 1u); c++)
				for (size_t i = 0; i < n_low_values; i++) {
					uint32_t v = low_values[i];
					struct seccomp_data d =
					    call(e, ipc_calls[c], uppers[u] | v);
					int exec = kernel_model(e, v);
					uint32_t want = exec >= 0 && (mask & (1u << exec))
							    ? SECCOMP_RET_ALLOW
							    : SECCOMP_RET_USER_NOTIF;
					uint32_t got = bpf_run(fp, &d);
					uint64_t args[6];
					struct mg_call mc;
					int cl;

					for (int a = 0; a < 6; a++)
						args[a] = d.args[a];
					cl = mg_call_classify(d.arch, d.nr, args, &mc);

					(*n_checked)++;
					if (cl != 0 || mc.cmd != exec) {
						if (bad++ < 5)
							diag("mg_call_classify disagrees with the "
							     "model: "
							     "%s cmd 0x%x: %d, model %d",
							     entry_name[e], v, cl ? cl : mc.cmd,
							     exec);
					}
					if (got != want || bad_program) {
						if (bad++ < 5)
							diag("mask 0x%x %s call 0x%x cmd 0x%llx: "
							     "%s, "
							     "want %s",
							     mask, entry_name[e], ipc_calls[c],
							     (unsigned long long)(uppers[u] | v),
							     verdict_name(got), verdict_name(want));
					}
				}
	return bad;
}

static void test_sweep(void)
{
	uint32_t masks[128 + 4];
	size_t n_masks = 0;
	unsigned bad_build = 0, bad = 0, checked = 0, longest = 0;

	/* every subset of the seven commands */
	for (uint32_t sub = 0; sub < 128; sub++) {
		uint32_t m = 0;

		for (int b = 0; b < 7; b++)
			if (sub & (1u << b))
				m |= 1u << cmds[b];
		masks[n_masks++] = m;
	}
	/* and masks with bits that are no command: they compile to nothing */
	masks[n_masks++] = 1u << 5;
	masks[n_masks++] = 0xffffffff;
	masks[n_masks++] = (1u << MG_IPC_STAT) | (1u << 9);
	masks[n_masks++] = 1u << 31;

	for (size_t i = 0; i < n_masks; i++) {
		struct filter_program fp;
		uint32_t compiled = 0xdeadbeef;

		if (filter_build(masks[i], &fp, &compiled) < 0 ||
		    compiled != (masks[i] & ALL_CMDS)) {
			if (bad_build++ < 5)
				diag("mask 0x%x: build failed or compiled 0x%x", masks[i],
				     compiled);
			continue;
		}
		if (fp.len > longest)
			longest = fp.len;
		bad += sweep_mask(masks[i], &fp, &checked);
	}
	is_int(bad_build, 0,
	       "%zu masks build; the compiled mask is the mask's commands (no other bit)", n_masks);
	is_int(bad, 0,
	       "%u (mask, entry point, cmd register) cases: ALLOW exactly when the kernel "
	       "executes a command of the mask, else USER_NOTIF",
	       checked);
	ok(longest > 0 && longest <= FILTER_INSNS_MAX && longest < BPF_MAXINSNS,
	   "the longest program has %u instructions (room: %d, BPF_MAXINSNS %d)", longest,
	   FILTER_INSNS_MAX, BPF_MAXINSNS);
}

/* ---- the rest of the filter does not depend on the mask ---------------------------- */

struct other {
	const char *what;
	uint32_t arch;
	int nr;
	uint64_t a0, a1;
	uint32_t want;
};

static void test_others(void)
{
	const struct other rows[] = {
	    {"x86_64 getpid", AUDIT_ARCH_X86_64, 39, 0, 0, SECCOMP_RET_ALLOW},
	    {"x86_64 msgsnd", AUDIT_ARCH_X86_64, 69, 0, 0, SECCOMP_RET_ALLOW},
	    {"x32 msgctl", AUDIT_ARCH_X86_64, X32_BIT | 71, 0, 2, SECCOMP_RET_KILL_PROCESS},
	    {"x32 getpid", AUDIT_ARCH_X86_64, X32_BIT | 39, 0, 0, SECCOMP_RET_KILL_PROCESS},
	    {"aarch64 anything", AUDIT_ARCH_AARCH64, 71, 0, 2, SECCOMP_RET_KILL_PROCESS},
	    {"x86_64 seccomp NEW_LISTENER", AUDIT_ARCH_X86_64, 317, 1,
	     SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 seccomp NEW_LISTENER|1<<32", AUDIT_ARCH_X86_64, 317, 1,
	     1ull << 32 | SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 seccomp without it", AUDIT_ARCH_X86_64, 317, 1, 0, SECCOMP_RET_ALLOW},
	    {"i386 seccomp NEW_LISTENER", AUDIT_ARCH_I386, 354, 1, SECCOMP_FILTER_FLAG_NEW_LISTENER,
	     SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 ptrace ATTACH", AUDIT_ARCH_X86_64, 101, 16, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 ptrace SEIZE", AUDIT_ARCH_X86_64, 101, 0x4206, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 ptrace TRACEME", AUDIT_ARCH_X86_64, 101, 0, 0, SECCOMP_RET_ALLOW},
	    {"i386 ptrace ATTACH", AUDIT_ARCH_I386, 26, 16, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 pidfd_getfd", AUDIT_ARCH_X86_64, 438, 0, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"i386 pidfd_getfd", AUDIT_ARCH_I386, 438, 0, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"x86_64 process_vm_writev", AUDIT_ARCH_X86_64, 311, 0, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"i386 process_vm_writev", AUDIT_ARCH_I386, 348, 0, 0, SECCOMP_RET_ERRNO | EPERM},
	    {"i386 ipc msgsnd (11)", AUDIT_ARCH_I386, 117, 11, 2, SECCOMP_RET_ALLOW},
	    {"i386 ipc semctl (3) with cmd 2", AUDIT_ARCH_I386, 117, 3, 2, SECCOMP_RET_ALLOW},
	    {"i386 getpid", AUDIT_ARCH_I386, 20, 0, 0, SECCOMP_RET_ALLOW},
	};
	const uint32_t masks[] = {0, 1u << MG_IPC_STAT, ALL_CMDS};

	for (size_t m = 0; m < sizeof(masks) / sizeof(masks[0]); m++) {
		struct filter_program fp;
		uint32_t compiled;
		unsigned bad = 0;

		if (filter_build(masks[m], &fp, &compiled) < 0) {
			ok(0, "mask 0x%x builds", masks[m]);
			continue;
		}
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			struct seccomp_data d = {.arch = rows[i].arch, .nr = rows[i].nr};
			uint32_t got;

			d.args[0] = rows[i].a0;
			d.args[1] = rows[i].a1;
			got = bpf_run(&fp, &d);
			if (got != rows[i].want || bad_program) {
				bad++;
				diag("mask 0x%x %s: %s (0x%x), want 0x%x", masks[m], rows[i].what,
				     verdict_name(got), got, rows[i].want);
			}
		}
		is_int(bad, 0,
		       "mask 0x%x: x32 and foreign arches killed, escape hatches EPERM, "
		       "other syscalls allowed",
		       masks[m]);
	}
}

/* ---- the value lists of the README's examples ------------------------------------- */

static int values_are(uint32_t mask, uint32_t arch, int nr, const uint32_t *want, unsigned n)
{
	uint32_t got[64];
	unsigned k = filter_kernel_values(mask, arch, nr, got, 64);

	if (k != n)
		return 0;
	for (unsigned i = 0; i < n; i++)
		if (got[i] != want[i])
			return 0;
	return 1;
}

static void test_values(void)
{
	const uint32_t stat = 1u << MG_IPC_STAT, msg_stat = 1u << MG_MSG_STAT;
	const uint32_t info = 1u << MG_IPC_INFO;

	ok(values_are(stat, AUDIT_ARCH_X86_64, 71, (const uint32_t[]){2}, 1),
	   "IPC_STAT on x86_64: 2 only (cmd|IPC_64 is EINVAL there)");
	ok(values_are(stat, AUDIT_ARCH_I386, 402, (const uint32_t[]){2, 0x102, 0x10b, 0x10d}, 4),
	   "IPC_STAT on i386 402: 2, IPC_STAT|IPC_64, MSG_STAT|IPC_64, MSG_STAT_ANY|IPC_64");
	ok(values_are(stat, AUDIT_ARCH_I386, 117, (const uint32_t[]){2, 0x102}, 2),
	   "IPC_STAT on i386 ipc: 2 and 0x102 (IPC_64 stripped)");
	ok(values_are(msg_stat, AUDIT_ARCH_I386, 402, (const uint32_t[]){11}, 1),
	   "MSG_STAT on i386 402: 11 only (MSG_STAT|IPC_64 executes IPC_STAT)");
	ok(values_are(info, AUDIT_ARCH_I386, 402, (const uint32_t[]){3, 0x103, 0x10c}, 3),
	   "IPC_INFO on i386 402: 3, IPC_INFO|IPC_64, MSG_INFO|IPC_64");
	ok(values_are(0, AUDIT_ARCH_I386, 402, NULL, 0), "no kernel_allow: no value");
	ok(values_are(ALL_CMDS, AUDIT_ARCH_X86_64, 0, NULL, 0), "not a msgctl entry point: none");
}

int main(void)
{
	make_values();
	test_sweep();
	test_others();
	test_values();
	return done();
}
