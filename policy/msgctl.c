/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Decode a notified msgctl exactly as the kernel will execute it, and the name
 * tables for commands and errnos. Pure code.
 *
 * Kernel references (Linux 6.1 .. 6.18, unchanged):
 *   x86_64 msgctl (71):   ksys_msgctl(msqid, cmd, buf, IPC_64): cmd is used
 *                         as is, so cmd|IPC_64 hits "default: -EINVAL".
 *   i386 msgctl (402):    compat_ksys_msgctl(msqid, cmd, buf, IPC_64): switches
 *                         on cmd & ~IPC_64 but passes the unmasked cmd down, so
 *                         msgctl_stat()/msgctl_info()/msgctl_down() see it.
 *   i386 ipc (117):       compat_ksys_ipc(): version = call >> 16, call &= 0xffff;
 *                         MSGCTL: compat_ksys_old_msgctl() strips IPC_64 from
 *                         cmd and uses it as the layout version.
 * Every int argument is truncated from the 64-bit register: (int)(u32)reg.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "msgctl.h"

#define I386_NR_IPC	 117
#define I386_NR_MSGCTL	 402
#define X86_64_NR_MSGCTL 71
#define IPC_CALL_MSGCTL	 14

static int reg_int(uint64_t reg)
{
	return (int)(uint32_t)reg;
}

static enum mg_lookup lookup_for(int cmd)
{
	switch (cmd) {
	case MG_IPC_STAT:
	case MG_IPC_SET:
	case MG_IPC_RMID:
		return MG_LOOKUP_ID;
	case MG_MSG_STAT:
	case MG_MSG_STAT_ANY:
		return MG_LOOKUP_INDEX;
	default:
		return MG_LOOKUP_NONE;
	}
}

static bool cmd_known(int cmd)
{
	return cmd >= 0 && cmd < MG_CMD_MAX && mg_cmd_name(cmd) != NULL;
}

/* x86_64 msgctl: the kernel executes cmd as given; anything else is EINVAL. */
static int classify_native(struct mg_call *c)
{
	c->cmd = cmd_known(c->raw_cmd) ? c->raw_cmd : -1;
	c->layout = c->cmd == MG_IPC_SET ? MG_LAYOUT_64 : MG_LAYOUT_NONE;
	c->set_applies = c->cmd == MG_IPC_SET;
	return 0;
}

/*
 * i386 msgctl (402): compat_ksys_msgctl() dispatches on cmd & ~IPC_64 and
 * hands the unmasked cmd to the helpers. With IPC_64 set:
 *   IPC_STAT, MSG_STAT, MSG_STAT_ANY -> msgctl_stat() looks up by id (the
 *     index path needs cmd == MSG_STAT[_ANY]) and checks read permission:
 *     that is IPC_STAT (it returns the id instead of 0);
 *   IPC_INFO, MSG_INFO -> msgctl_info() fills IPC_INFO data;
 *   IPC_SET, IPC_RMID -> msgctl_down() checks ownership then returns EINVAL:
 *     classified as the command itself, so a policy that denies it denies it.
 */
static int classify_compat_direct(struct mg_call *c)
{
	int base = c->raw_cmd & ~MG_IPC_64;

	if (c->raw_cmd < 0 || !cmd_known(base)) {
		c->cmd = -1;
	} else if (!(c->raw_cmd & MG_IPC_64)) {
		c->cmd = base;
	} else if (base == MG_IPC_STAT || base == MG_MSG_STAT || base == MG_MSG_STAT_ANY) {
		c->cmd = MG_IPC_STAT;
	} else if (base == MG_IPC_INFO || base == MG_MSG_INFO) {
		c->cmd = MG_IPC_INFO;
	} else {
		c->cmd = base;
	}
	c->layout = c->cmd == MG_IPC_SET ? MG_LAYOUT_COMPAT_64 : MG_LAYOUT_NONE;
	c->set_applies = c->cmd == MG_IPC_SET && !(c->raw_cmd & MG_IPC_64);
	return 0;
}

/* i386 ipc(MSGCTL): IPC_64 is stripped and picks the layout (ipc/syscall.c). */
static int classify_compat_ipc(struct mg_call *c)
{
	bool ipc64 = c->raw_cmd & MG_IPC_64;
	int cmd = c->raw_cmd & ~MG_IPC_64;

	c->cmd = cmd_known(cmd) ? cmd : -1;
	if (c->cmd == MG_IPC_SET)
		c->layout = ipc64 ? MG_LAYOUT_COMPAT_64 : MG_LAYOUT_COMPAT_OLD;
	else
		c->layout = MG_LAYOUT_NONE;
	c->set_applies = c->cmd == MG_IPC_SET;
	return 0;
}

static int classify_i386(int nr, const uint64_t args[6], struct mg_call *c)
{
	if (nr == I386_NR_MSGCTL) {
		c->entry = MG_ENTRY_MSGCTL;
		c->msqid = reg_int(args[0]);
		c->cmd_reg = args[1];
		c->buf = (uint32_t)args[2];
		c->raw_cmd = reg_int(args[1]);
		return classify_compat_direct(c);
	}
	if (nr == I386_NR_IPC && ((uint32_t)args[0] & 0xffff) == IPC_CALL_MSGCTL) {
		c->entry = MG_ENTRY_IPC;
		c->ipc_version = (uint32_t)args[0] >> 16;
		c->msqid = reg_int(args[1]);
		c->cmd_reg = args[2];
		c->buf = (uint32_t)args[4];
		c->raw_cmd = reg_int(args[2]);
		return classify_compat_ipc(c);
	}
	return -ENOSYS;
}

int mg_call_classify(uint32_t audit_arch, int nr, const uint64_t args[6], struct mg_call *ret)
{
	struct mg_call c = {0};
	int r;

	if (audit_arch == MG_AUDIT_ARCH_X86_64) {
		/* x32 shares AUDIT_ARCH_X86_64 and sets bit 30 of nr: never ours to allow. */
		if (nr & MG_X32_SYSCALL_BIT)
			return -EAFNOSUPPORT;
		if (nr != X86_64_NR_MSGCTL)
			return -ENOSYS;
		c.arch = MG_ARCH_X86_64;
		c.entry = MG_ENTRY_MSGCTL;
		c.msqid = reg_int(args[0]);
		c.cmd_reg = args[1];
		c.buf = args[2];
		c.raw_cmd = reg_int(args[1]);
		r = classify_native(&c);
	} else if (audit_arch == MG_AUDIT_ARCH_I386) {
		c.arch = MG_ARCH_I386;
		r = classify_i386(nr, args, &c);
	} else {
		return -EAFNOSUPPORT;
	}
	if (r < 0)
		return r;
	/* A negative msqid or cmd makes the kernel return EINVAL before any lookup. */
	c.lookup = c.msqid < 0 || c.raw_cmd < 0 ? MG_LOOKUP_NONE : lookup_for(c.cmd);
	if (c.msqid < 0)
		c.set_applies = false;
	*ret = c;
	return 0;
}

static const char *const cmd_names[MG_CMD_MAX] = {
    [MG_IPC_RMID] = "IPC_RMID",		[MG_IPC_SET] = "IPC_SET",   [MG_IPC_STAT] = "IPC_STAT",
    [MG_IPC_INFO] = "IPC_INFO",		[MG_MSG_STAT] = "MSG_STAT", [MG_MSG_INFO] = "MSG_INFO",
    [MG_MSG_STAT_ANY] = "MSG_STAT_ANY",
};

const char *mg_cmd_name(int cmd)
{
	if (cmd < 0 || cmd >= MG_CMD_MAX)
		return NULL;
	return cmd_names[cmd];
}

const char *mg_cmd_mask_names(uint32_t mask, char sep, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int cmd = 0; cmd < 32; cmd++) {
		const char *name = mg_cmd_name(cmd);
		char unknown[16];

		if (!(mask & (1u << cmd)))
			continue;
		if (!name) {
			snprintf(unknown, sizeof(unknown), "UNKNOWN(%d)", cmd);
			name = unknown;
		}
		used +=
		    (size_t)snprintf(used < size ? buf + used : NULL, used < size ? size - used : 0,
				     "%.*s%s", used ? 1 : 0, &sep, name);
	}
	if (!buf[0])
		snprintf(buf, size, "none");
	return buf;
}

int mg_cmd_from_name(const char *name)
{
	for (int i = 0; i < MG_CMD_MAX; i++)
		if (cmd_names[i] && strcmp(cmd_names[i], name) == 0)
			return i;
	return -EINVAL;
}

const char *mg_arch_name(enum mg_arch arch)
{
	static const char *const names[_MG_ARCH_MAX] = {
	    [MG_ARCH_X86_64] = "x86_64", [MG_ARCH_I386] = "i386", [MG_ARCH_X32] = "x32"};
	return arch < _MG_ARCH_MAX ? names[arch] : "unknown";
}

const char *mg_entry_name(enum mg_entry entry)
{
	static const char *const names[_MG_ENTRY_MAX] = {
	    [MG_ENTRY_MSGCTL] = "msgctl", [MG_ENTRY_IPC] = "ipc"};
	return entry < _MG_ENTRY_MAX ? names[entry] : "unknown";
}

/* The errnos a policy may hand back: those a msgctl caller can already meet, plus ENOSYS. */
static const struct {
	int err;
	const char *name;
} errno_names[] = {
    {EPERM, "EPERM"},	{EACCES, "EACCES"}, {EINVAL, "EINVAL"}, {EIDRM, "EIDRM"},
    {EFAULT, "EFAULT"}, {ENOSYS, "ENOSYS"}, {ENOENT, "ENOENT"}, {EBUSY, "EBUSY"},
    {EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EROFS, "EROFS"},	{ENOSPC, "ENOSPC"},
};

const char *mg_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].err == err)
			return errno_names[i].name;
	return NULL;
}

int mg_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(errno_names[i].name, name) == 0)
			return errno_names[i].err;
	return -EINVAL;
}
