/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The shim's seccomp filter, written as classic BPF by hand.
 *
 * Why not libseccomp's rule API: on SCMP_ARCH_X86, libseccomp 2.5.4 turns a
 * msgctl rule into "ipc if a0 == 14", which ipc(14 | 1 << 16, ...) bypasses,
 * and it cannot express "syscall 402 only"; its 64-bit argument comparisons
 * need care (notes/01). This program is short enough to read in full, every
 * comparison is on a 32-bit word, and tests/live-abi.test checks it against
 * the live kernel.
 *
 * What it does:
 *   x86_64 (AUDIT_ARCH_X86_64, nr < 0x40000000):
 *     msgctl (71)                               -> USER_NOTIF (*)
 *     seccomp (317) with NEW_LISTENER in flags  -> ERRNO(EPERM)
 *   i386 (AUDIT_ARCH_I386, also int $0x80 from a 64-bit process):
 *     msgctl (402)                              -> USER_NOTIF (*)
 *     ipc (117) with (call & 0xffff) == MSGCTL  -> USER_NOTIF (*) (any version bits)
 *     seccomp (354) with NEW_LISTENER in flags  -> ERRNO(EPERM)
 *   x32 (nr with bit 30) and every other arch   -> KILL_PROCESS
 *   pidfd_getfd, process_vm_writev              -> ERRNO(EPERM)  (both ABIs)
 *   ptrace(PTRACE_ATTACH | PTRACE_SEIZE, ...)   -> ERRNO(EPERM)  (both ABIs)
 *   everything else                             -> ALLOW
 * (*) except, when the profile has kernel_allow, the values of the cmd
 *     register's low 32 bits (the int the kernel reads) that the kernel
 *     executes as one of those commands on that entry point: ALLOW. The values
 *     come from mg_call_classify() (policy/msgctl.c), the classifier the
 *     daemon decides with, tried on every command with and without IPC_64:
 *     the filter and the daemon cannot disagree on what a value executes
 *     (i386 402 runs MSG_STAT|IPC_64 as IPC_STAT; x86_64 runs no cmd|IPC_64).
 *     One single-word JEQ per value; no 64-bit comparison anywhere.
 * Denying NEW_LISTENER keeps the service from ever supervising itself: a newer
 * USER_NOTIF filter would take precedence over ours (linux/seccomp.h). The
 * pidfd_getfd/ptrace/process_vm_writev denials keep a service that holds
 * CAP_SYS_PTRACE from taking the daemon's listener or rewriting its memory
 * through those calls (README, threat model: /proc/PID/mem stays open to it).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "filter.h"
#include "msgctl.h"

#define X32_SYSCALL_BIT	  0x40000000
#define IPC_CALL_MSGCTL	  14
#define PTRACE_ATTACH_REQ 16
#define PTRACE_SEIZE_REQ  0x4206

/* Syscall numbers per ABI (arch/x86/entry/syscalls/syscall_{64,32}.tbl). */
struct abi_nrs {
	uint32_t msgctl, seccomp, ptrace, pidfd_getfd, process_vm_writev;
};
#define X86_64_NR_MSGCTL 71
#define I386_NR_MSGCTL	 402
#define I386_NR_IPC	 117
static const struct abi_nrs x86_64_nrs = {X86_64_NR_MSGCTL, 317, 101, 438, 311};
static const struct abi_nrs i386_nrs = {I386_NR_MSGCTL, 354, 26, 438, 348};

/* Offset of the low 32 bits of args[i] (x86 is little-endian). */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/*
 * A tiny assembler: jumps name labels and are resolved to the relative
 * offsets classic BPF wants, so the program reads top to bottom.
 */
enum label {
	L_NONE = -1,
	L_I386,
	L_MSGCTL_X86_64, /* the cmd checks of each msgctl entry point (kernel_allow) */
	L_MSGCTL_I386,
	L_IPC_MSGCTL,
	L_SECCOMP_FLAGS,
	L_PTRACE_REQ,
	L_ALLOW,
	L_KILL,
	L_EPERM,
	L_NOTIFY,
	_L_MAX,
};

struct prog {
	struct sock_filter insn[FILTER_INSNS_MAX];
	int jt[FILTER_INSNS_MAX], jf[FILTER_INSNS_MAX]; /* label or L_NONE (fall through) */
	int at[_L_MAX];					/* where each label is */
	unsigned n;
	bool overflow;
};

static void emit(struct prog *p, uint16_t code, uint32_t k, int jt, int jf)
{
	if (p->n >= FILTER_INSNS_MAX) {
		p->overflow = true;
		return;
	}
	p->insn[p->n] = (struct sock_filter){.code = code, .k = k};
	p->jt[p->n] = jt;
	p->jf[p->n] = jf;
	p->n++;
}

static void label(struct prog *p, enum label l)
{
	p->at[l] = (int)p->n;
}

#define LD(p, off)	 emit(p, BPF_LD | BPF_W | BPF_ABS, (off), L_NONE, L_NONE)
#define RET(p, v)	 emit(p, BPF_RET | BPF_K, (v), L_NONE, L_NONE)
#define AND(p, k)	 emit(p, BPF_ALU | BPF_AND | BPF_K, (k), L_NONE, L_NONE)
#define JEQ(p, k, t, f)	 emit(p, BPF_JMP | BPF_JEQ | BPF_K, (k), (t), (f))
#define JGE(p, k, t, f)	 emit(p, BPF_JMP | BPF_JGE | BPF_K, (k), (t), (f))
#define JSET(p, k, t, f) emit(p, BPF_JMP | BPF_JSET | BPF_K, (k), (t), (f))

/*
 * The msgctl entry points: where the kernel reads cmd, and the label of the
 * block that checks it. ipc(call, first, second, ...) has cmd in "second".
 */
struct entry {
	uint32_t arch;
	int nr;
	unsigned cmd_arg;
	enum label block;
};
enum { E_X86_64_MSGCTL, E_I386_MSGCTL, E_I386_IPC, N_ENTRIES };
static const struct entry entries[N_ENTRIES] = {
    [E_X86_64_MSGCTL] = {AUDIT_ARCH_X86_64, X86_64_NR_MSGCTL, 1, L_MSGCTL_X86_64},
    [E_I386_MSGCTL] = {AUDIT_ARCH_I386, I386_NR_MSGCTL, 1, L_MSGCTL_I386},
    [E_I386_IPC] = {AUDIT_ARCH_I386, I386_NR_IPC, 2, L_IPC_MSGCTL},
};
#define KERNEL_VALUES_MAX (2 * MG_CMD_MAX) /* every command, with and without IPC_64 */

/*
 * The command the kernel executes for cmd register value v on this entry
 * point (-1: none), as the daemon's classifier says; -EINVAL if the
 * classifier does not read cmd where the filter will (never, by construction;
 * the ipc version bits must not matter either).
 */
static int executed_cmd(const struct entry *e, uint32_t v)
{
	struct mg_call c, c_ver;
	uint64_t args[6] = {0};

	args[e->cmd_arg] = v;
	if (e->nr == I386_NR_IPC)
		args[0] = IPC_CALL_MSGCTL;
	if (mg_call_classify(e->arch, e->nr, args, &c) < 0 || c.cmd_reg != v)
		return -EINVAL;
	if (e->nr == I386_NR_IPC) {
		args[0] = IPC_CALL_MSGCTL | 0xffff0000u;
		if (mg_call_classify(e->arch, e->nr, args, &c_ver) < 0 || c_ver.cmd != c.cmd)
			return -EINVAL;
	}
	return c.cmd;
}

static const struct entry *entry_find(uint32_t arch, int nr)
{
	for (size_t i = 0; i < N_ENTRIES; i++)
		if (entries[i].arch == arch && entries[i].nr == nr)
			return &entries[i];
	return NULL;
}

/* The cmd values an entry point allows in the kernel, and what they execute. */
struct values {
	uint32_t v[KERNEL_VALUES_MAX]; /* ascending: commands, then commands | IPC_64 */
	unsigned n;
	uint32_t executes; /* bit n: some value executes command n */
};

static int kernel_values(const struct entry *e, uint32_t kernel_allow, struct values *ret)
{
	*ret = (struct values){0};
	for (uint32_t flag = 0; flag <= MG_IPC_64; flag += MG_IPC_64)
		for (uint32_t c = 0; c < MG_CMD_MAX; c++) {
			int cmd = executed_cmd(e, c | flag);

			if (cmd < -1)
				return cmd;
			if (cmd < 0 || !(kernel_allow & (1u << cmd)))
				continue;
			ret->v[ret->n++] = c | flag;
			ret->executes |= 1u << cmd;
		}
	return 0;
}

unsigned filter_kernel_values(uint32_t kernel_allow, uint32_t audit_arch, int nr, uint32_t *out,
			      unsigned size)
{
	const struct entry *e = entry_find(audit_arch, nr);
	struct values vals;
	unsigned n = 0;

	if (!e || kernel_values(e, kernel_allow, &vals) < 0)
		return 0;
	for (; n < vals.n && n < size; n++)
		out[n] = vals.v[n];
	return n;
}

/*
 * An entry point's cmd block: ALLOW the values the kernel executes as a
 * command in the mask, NOTIFY the rest. cmd is an int: only the low word of
 * its register counts (the kernel truncates it, notes/01 trap 1).
 */
static void emit_cmd_block(struct prog *p, const struct entry *e, const struct values *vals)
{
	if (vals->n == 0)
		return;
	label(p, e->block);
	LD(p, ARG_LO(e->cmd_arg));
	for (unsigned i = 0; i < vals->n; i++)
		JEQ(p, vals->v[i], L_ALLOW, L_NONE);
	RET(p, SECCOMP_RET_USER_NOTIF);
}

/* Dispatch on nr (in A) for one ABI; msgctl is checked or notified, the escape hatches fail. */
static void emit_abi(struct prog *p, const struct abi_nrs *nr, enum label msgctl)
{
	JEQ(p, nr->msgctl, msgctl, L_NONE);
	JEQ(p, nr->seccomp, L_SECCOMP_FLAGS, L_NONE);
	JEQ(p, nr->ptrace, L_PTRACE_REQ, L_NONE);
	JEQ(p, nr->pidfd_getfd, L_EPERM, L_NONE);
	JEQ(p, nr->process_vm_writev, L_EPERM, L_NONE);
}

/* Where the nr dispatch sends entry point i: its cmd block, or straight to NOTIFY. */
#define TARGET(vals, i) ((vals)[i].n ? entries[i].block : L_NOTIFY)

static int build(struct prog *p, uint32_t kernel_allow, uint32_t *ret_compiled)
{
	struct values vals[N_ENTRIES];
	uint32_t compiled = UINT32_MAX;

	/* a command counts as compiled only if every entry point allows it */
	for (size_t i = 0; i < N_ENTRIES; i++) {
		int r = kernel_values(&entries[i], kernel_allow, &vals[i]);

		if (r < 0)
			return r;
		compiled &= vals[i].executes;
	}
	LD(p, offsetof(struct seccomp_data, arch));
	JEQ(p, AUDIT_ARCH_X86_64, L_NONE, L_I386);
	/* x86_64; x32 shares the audit arch and sets bit 30 of nr */
	LD(p, offsetof(struct seccomp_data, nr));
	JGE(p, X32_SYSCALL_BIT, L_KILL, L_NONE);
	emit_abi(p, &x86_64_nrs, TARGET(vals, E_X86_64_MSGCTL));
	RET(p, SECCOMP_RET_ALLOW);
	/* i386 (also int $0x80 from a 64-bit process); the arch is still in A */
	label(p, L_I386);
	JEQ(p, AUDIT_ARCH_I386, L_NONE, L_KILL);
	LD(p, offsetof(struct seccomp_data, nr));
	emit_abi(p, &i386_nrs, TARGET(vals, E_I386_MSGCTL));
	JEQ(p, I386_NR_IPC, L_NONE, L_ALLOW);
	/* ipc(call, ...): the kernel uses call & 0xffff whatever the version bits */
	LD(p, ARG_LO(0));
	AND(p, 0xffff);
	JEQ(p, IPC_CALL_MSGCTL, TARGET(vals, E_I386_IPC), L_ALLOW);
	/* seccomp(op, flags, args): flags is an unsigned int, the low word of a1 */
	label(p, L_SECCOMP_FLAGS);
	LD(p, ARG_LO(1));
	JSET(p, SECCOMP_FILTER_FLAG_NEW_LISTENER, L_EPERM, L_ALLOW);
	/* ptrace(request, ...): request is a long, but the kernel's values fit 32 bits */
	label(p, L_PTRACE_REQ);
	LD(p, ARG_LO(0));
	JEQ(p, PTRACE_ATTACH_REQ, L_EPERM, L_NONE);
	JEQ(p, PTRACE_SEIZE_REQ, L_EPERM, L_ALLOW);
	/* kernel_allow: the cmd checks of each msgctl entry point */
	for (size_t i = 0; i < N_ENTRIES; i++)
		emit_cmd_block(p, &entries[i], &vals[i]);
	label(p, L_ALLOW);
	RET(p, SECCOMP_RET_ALLOW);
	label(p, L_KILL);
	RET(p, SECCOMP_RET_KILL_PROCESS);
	label(p, L_EPERM);
	RET(p, SECCOMP_RET_ERRNO | EPERM);
	label(p, L_NOTIFY);
	RET(p, SECCOMP_RET_USER_NOTIF);
	*ret_compiled = compiled;
	return 0;
}

/* Turn labels into forward offsets; -EINVAL if one does not fit (never, by construction). */
static int resolve(struct prog *p)
{
	if (p->overflow)
		return -E2BIG;
	for (unsigned i = 0; i < p->n; i++) {
		int t = p->jt[i], f = p->jf[i];
		int ot = t == L_NONE ? 0 : p->at[t] - (int)i - 1;
		int of = f == L_NONE ? 0 : p->at[f] - (int)i - 1;

		if ((t != L_NONE && p->at[t] < 0) || (f != L_NONE && p->at[f] < 0))
			return -EINVAL; /* a label never placed */
		if (ot < 0 || ot > 255 || of < 0 || of > 255)
			return -EINVAL;
		p->insn[i].jt = (uint8_t)ot;
		p->insn[i].jf = (uint8_t)of;
	}
	return 0;
}

int filter_build(uint32_t kernel_allow, struct filter_program *ret, uint32_t *ret_compiled)
{
	struct prog p = {0};
	uint32_t compiled = 0;
	int r;

	for (int l = 0; l < _L_MAX; l++)
		p.at[l] = -1;
	r = build(&p, kernel_allow, &compiled);
	if (r >= 0)
		r = resolve(&p);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < p.n; i++)
		ret->insn[i] = p.insn[i];
	ret->len = (unsigned short)p.n;
	*ret_compiled = compiled;
	return 0;
}

static int seccomp_install(const struct sock_fprog *prog)
{
	int fd =
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
	return fd < 0 ? -errno : fd;
}

int filter_install(uint32_t kernel_allow, uint32_t *ret_compiled)
{
	struct filter_program fp;
	struct sock_fprog prog;
	int fd;

	fd = filter_build(kernel_allow, &fp, ret_compiled);
	if (fd < 0)
		return fd;
	prog = (struct sock_fprog){.len = fp.len, .filter = fp.insn};

	/*
	 * The kernel lets a process with CAP_SYS_ADMIN load a filter without
	 * no_new_privs; keep setuid helpers working for such services and set
	 * no_new_privs only when the kernel insists (EACCES).
	 */
	fd = seccomp_install(&prog);
	if (fd == -EACCES) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return -errno;
		fd = seccomp_install(&prog);
	}
	return fd;
}
