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
 *   everything else                             -> ALLOW
 * Denying NEW_LISTENER keeps the service from ever supervising itself: a newer
 * USER_NOTIF filter would take precedence over ours (linux/seccomp.h).
 */
#include <errno.h>
#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "filter.h"

#define X32_SYSCALL_BIT 0x40000000
#define X86_64_NR_MSGCTL 71
#define X86_64_NR_SECCOMP 317
#define I386_NR_IPC 117
#define I386_NR_SECCOMP 354
#define I386_NR_MSGCTL 402
#define IPC_CALL_MSGCTL 14

/* Offset of the low 32 bits of args[i] (x86 is little-endian). */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (off))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define JEQ(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (jt), (jf))
#define JGE(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, (k), (jt), (jf))
#define JSET(k, jt, jf) BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (k), (jt), (jf))
#define AND(k) BPF_STMT(BPF_ALU | BPF_AND | BPF_K, (k))

/*
 * Jump offsets are relative to the next instruction (target = pc + 1 + off);
 * each line names the instruction it lands on.
 */
static const struct sock_filter program[] = {
	/* 0 */ LD(offsetof(struct seccomp_data, arch)),
	/* 1 */ JEQ(AUDIT_ARCH_X86_64, 0, 5),                  /* 2 x86_64 | 7 other */
	/* x86_64 */
	/* 2 */ LD(offsetof(struct seccomp_data, nr)),
	/* 3 */ JGE(X32_SYSCALL_BIT, 14, 0),                   /* 18 kill (x32) | 4 */
	/* 4 */ JEQ(X86_64_NR_MSGCTL, 15, 0),                  /* 20 notify | 5 */
	/* 5 */ JEQ(X86_64_NR_SECCOMP, 9, 0),                  /* 15 flags | 6 */
	/* 6 */ RET(SECCOMP_RET_ALLOW),
	/* i386, with the arch still in A */
	/* 7 */ JEQ(AUDIT_ARCH_I386, 0, 10),                   /* 8 | 18 kill */
	/* 8 */ LD(offsetof(struct seccomp_data, nr)),
	/* 9 */ JEQ(I386_NR_MSGCTL, 10, 0),                    /* 20 notify | 10 */
	/* 10 */ JEQ(I386_NR_SECCOMP, 4, 0),                   /* 15 flags | 11 */
	/* 11 */ JEQ(I386_NR_IPC, 0, 5),                       /* 12 | 17 allow */
	/* 12 */ LD(ARG_LO(0)),                                /* ipc call: version << 16 | call */
	/* 13 */ AND(0xffff),
	/* 14 */ JEQ(IPC_CALL_MSGCTL, 5, 2),                   /* 20 notify | 17 allow */
	/* seccomp(op, flags, args): flags is an unsigned int, the low word of a1 */
	/* 15 */ LD(ARG_LO(1)),
	/* 16 */ JSET(SECCOMP_FILTER_FLAG_NEW_LISTENER, 2, 0), /* 19 eperm | 17 allow */
	/* 17 */ RET(SECCOMP_RET_ALLOW),
	/* 18 */ RET(SECCOMP_RET_KILL_PROCESS),
	/* 19 */ RET(SECCOMP_RET_ERRNO | EPERM),
	/* 20 */ RET(SECCOMP_RET_USER_NOTIF),
};

static int seccomp_install(const struct sock_fprog *prog)
{
	int fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
			 prog);
	return fd < 0 ? -errno : fd;
}

int filter_install(void)
{
	struct sock_fprog prog = {
		.len = sizeof(program) / sizeof(program[0]),
		.filter = (struct sock_filter *)program,
	};
	int fd;

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
