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
 *     msgctl (71)                               -> USER_NOTIF
 *     seccomp (317) with NEW_LISTENER in flags  -> ERRNO(EPERM)
 *   i386 (AUDIT_ARCH_I386, also int $0x80 from a 64-bit process):
 *     msgctl (402)                              -> USER_NOTIF
 *     ipc (117) with (call & 0xffff) == MSGCTL  -> USER_NOTIF (any version bits)
 *     seccomp (354) with NEW_LISTENER in flags  -> ERRNO(EPERM)
 *   x32 (nr with bit 30) and every other arch   -> KILL_PROCESS
 *   pidfd_getfd, process_vm_writev              -> ERRNO(EPERM)  (both ABIs)
 *   ptrace(PTRACE_ATTACH | PTRACE_SEIZE, ...)   -> ERRNO(EPERM)  (both ABIs)
 *   everything else                             -> ALLOW
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

#define X32_SYSCALL_BIT	  0x40000000
#define IPC_CALL_MSGCTL	  14
#define PTRACE_ATTACH_REQ 16
#define PTRACE_SEIZE_REQ  0x4206

/* Syscall numbers per ABI (arch/x86/entry/syscalls/syscall_{64,32}.tbl). */
struct abi_nrs {
	uint32_t msgctl, seccomp, ptrace, pidfd_getfd, process_vm_writev;
};
static const struct abi_nrs x86_64_nrs = {71, 317, 101, 438, 311};
static const struct abi_nrs i386_nrs = {402, 354, 26, 438, 348};
#define I386_NR_IPC 117

/* Offset of the low 32 bits of args[i] (x86 is little-endian). */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/*
 * A tiny assembler: jumps name labels and are resolved to the relative
 * offsets classic BPF wants, so the program reads top to bottom.
 */
enum label {
	L_NONE = -1,
	L_I386,
	L_SECCOMP_FLAGS,
	L_PTRACE_REQ,
	L_ALLOW,
	L_KILL,
	L_EPERM,
	L_NOTIFY,
	_L_MAX,
};

#define PROG_MAX 64

struct prog {
	struct sock_filter insn[PROG_MAX];
	int jt[PROG_MAX], jf[PROG_MAX]; /* label or L_NONE (fall through) */
	int at[_L_MAX];			/* where each label is */
	unsigned n;
	bool overflow;
};

static void emit(struct prog *p, uint16_t code, uint32_t k, int jt, int jf)
{
	if (p->n >= PROG_MAX) {
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

/* Dispatch on nr (in A) for one ABI; msgctl notifies, the escape hatches fail. */
static void emit_abi(struct prog *p, const struct abi_nrs *nr)
{
	JEQ(p, nr->msgctl, L_NOTIFY, L_NONE);
	JEQ(p, nr->seccomp, L_SECCOMP_FLAGS, L_NONE);
	JEQ(p, nr->ptrace, L_PTRACE_REQ, L_NONE);
	JEQ(p, nr->pidfd_getfd, L_EPERM, L_NONE);
	JEQ(p, nr->process_vm_writev, L_EPERM, L_NONE);
}

static void build(struct prog *p)
{
	LD(p, offsetof(struct seccomp_data, arch));
	JEQ(p, AUDIT_ARCH_X86_64, L_NONE, L_I386);
	/* x86_64; x32 shares the audit arch and sets bit 30 of nr */
	LD(p, offsetof(struct seccomp_data, nr));
	JGE(p, X32_SYSCALL_BIT, L_KILL, L_NONE);
	emit_abi(p, &x86_64_nrs);
	RET(p, SECCOMP_RET_ALLOW);
	/* i386 (also int $0x80 from a 64-bit process); the arch is still in A */
	label(p, L_I386);
	JEQ(p, AUDIT_ARCH_I386, L_NONE, L_KILL);
	LD(p, offsetof(struct seccomp_data, nr));
	emit_abi(p, &i386_nrs);
	JEQ(p, I386_NR_IPC, L_NONE, L_ALLOW);
	/* ipc(call, ...): the kernel uses call & 0xffff whatever the version bits */
	LD(p, ARG_LO(0));
	AND(p, 0xffff);
	JEQ(p, IPC_CALL_MSGCTL, L_NOTIFY, L_ALLOW);
	/* seccomp(op, flags, args): flags is an unsigned int, the low word of a1 */
	label(p, L_SECCOMP_FLAGS);
	LD(p, ARG_LO(1));
	JSET(p, SECCOMP_FILTER_FLAG_NEW_LISTENER, L_EPERM, L_ALLOW);
	/* ptrace(request, ...): request is a long, but the kernel's values fit 32 bits */
	label(p, L_PTRACE_REQ);
	LD(p, ARG_LO(0));
	JEQ(p, PTRACE_ATTACH_REQ, L_EPERM, L_NONE);
	JEQ(p, PTRACE_SEIZE_REQ, L_EPERM, L_ALLOW);
	label(p, L_ALLOW);
	RET(p, SECCOMP_RET_ALLOW);
	label(p, L_KILL);
	RET(p, SECCOMP_RET_KILL_PROCESS);
	label(p, L_EPERM);
	RET(p, SECCOMP_RET_ERRNO | EPERM);
	label(p, L_NOTIFY);
	RET(p, SECCOMP_RET_USER_NOTIF);
}

/* Turn labels into forward offsets; -EINVAL if one does not fit (never, by construction). */
static int resolve(struct prog *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		int t = p->jt[i], f = p->jf[i];
		int ot = t == L_NONE ? 0 : p->at[t] - (int)i - 1;
		int of = f == L_NONE ? 0 : p->at[f] - (int)i - 1;

		if (ot < 0 || ot > 255 || of < 0 || of > 255)
			return -EINVAL;
		p->insn[i].jt = (uint8_t)ot;
		p->insn[i].jf = (uint8_t)of;
	}
	return p->overflow ? -E2BIG : 0;
}

static int seccomp_install(const struct sock_fprog *prog)
{
	int fd =
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, prog);
	return fd < 0 ? -errno : fd;
}

int filter_install(void)
{
	struct prog p = {0};
	struct sock_fprog prog;
	int fd;

	build(&p);
	fd = resolve(&p);
	if (fd < 0)
		return fd;
	prog = (struct sock_fprog){.len = (unsigned short)p.n, .filter = p.insn};

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
