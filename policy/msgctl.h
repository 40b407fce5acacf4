/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a notified msgctl really is: decode raw seccomp registers into the
 * command the kernel will execute (ipc/msg.c, ipc/syscall.c of Linux 6.x).
 * Pure code: no syscalls. Every trap in notes/01 is handled here, in one place.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* msgctl command values (include/uapi/linux/ipc.h, msg.h). */
#define MG_IPC_RMID	0
#define MG_IPC_SET	1
#define MG_IPC_STAT	2
#define MG_IPC_INFO	3
#define MG_MSG_STAT	11
#define MG_MSG_INFO	12
#define MG_MSG_STAT_ANY 13
#define MG_IPC_64	0x0100
#define MG_CMD_MAX	14 /* commands are < MG_CMD_MAX; bit n of a mask = command n */

enum mg_arch {
	MG_ARCH_X86_64,
	MG_ARCH_I386,
	MG_ARCH_X32,
	_MG_ARCH_MAX,
};

enum mg_entry {
	MG_ENTRY_MSGCTL, /* x86_64 71, i386 402 */
	MG_ENTRY_IPC,	 /* i386 117 with MSGCTL (14) in the low 16 bits of call */
	_MG_ENTRY_MAX,
};

/* How the kernel finds the queue for this command. */
enum mg_lookup {
	MG_LOOKUP_NONE,	 /* IPC_INFO, MSG_INFO, unknown: no queue involved */
	MG_LOOKUP_ID,	 /* msqid is an id (index + sequence) */
	MG_LOOKUP_INDEX, /* msqid is an index (MSG_STAT, MSG_STAT_ANY) */
};

/* Layout of the IPC_SET buffer the kernel will copy (for value rules). */
enum mg_layout {
	MG_LAYOUT_NONE,
	MG_LAYOUT_64,	      /* x86_64 struct msqid64_ds, 120 bytes */
	MG_LAYOUT_COMPAT_64,  /* i386 struct compat_msqid64_ds, 88 bytes */
	MG_LAYOUT_COMPAT_OLD, /* i386 struct compat_msqid_ds, 16-bit ids */
};

struct mg_call {
	enum mg_arch arch;
	enum mg_entry entry;
	uint64_t cmd_reg;     /* the raw register holding cmd (for the audit) */
	int raw_cmd;	      /* (int)(uint32_t)cmd_reg: what the kernel reads */
	int msqid;	      /* (int)(uint32_t) of its register */
	uint64_t buf;	      /* user pointer */
	unsigned ipc_version; /* ipc(2) only: call >> 16 */
	/*
	 * The command the kernel will execute, or -1 when it executes none (it
	 * returns EINVAL without looking at a queue). Never a command the raw
	 * value could not reach: IPC_64 is stripped exactly where the kernel
	 * strips it.
	 */
	int cmd;
	enum mg_lookup lookup;
	enum mg_layout layout;
	/*
	 * IPC_SET only: the kernel will apply the buffer's values when the call
	 * succeeds. False for i386 402 with IPC_64, which msgctl_down() answers
	 * with EINVAL after its permission checks.
	 */
	bool set_applies;
};

/* AUDIT_ARCH_* values (linux/audit.h) without pulling the header in. */
#define MG_AUDIT_ARCH_X86_64 0xc000003eu
#define MG_AUDIT_ARCH_I386   0x40000003u
#define MG_X32_SYSCALL_BIT   0x40000000

/*
 * Classify a notification. Returns 0 and fills *ret, or -EAFNOSUPPORT for an
 * architecture, -ENOSYS for a syscall that is not a msgctl entry point (the
 * daemon denies both).
 */
int mg_call_classify(uint32_t audit_arch, int nr, const uint64_t args[6], struct mg_call *ret);

/* "IPC_RMID" ... or NULL for a value that is not a command. */
const char *mg_cmd_name(int cmd);
/* The commands of a command bit mask, separated by sep ("IPC_STAT MSG_STAT"), or "none". */
const char *mg_cmd_mask_names(uint32_t mask, char sep, char *buf, size_t size);
/* Command value for a name (case-sensitive), or -EINVAL. */
int mg_cmd_from_name(const char *name);
/* "x86_64", "i386", "x32". */
const char *mg_arch_name(enum mg_arch arch);
/* "msgctl", "ipc". */
const char *mg_entry_name(enum mg_entry entry);
/* "EPERM" ... for the errnos a policy may return, or NULL. */
const char *mg_errno_name(int err);
/* errno value for a name accepted in a policy, or -EINVAL. */
int mg_errno_from_name(const char *name);
