/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Case table for mg_call_classify(): raw registers in, the command the kernel
 * executes out (ipc/msg.c, ipc/syscall.c of Linux 6.x; notes/01). Each row is
 * one ABI trap; the live tests then check the same cases against the kernel.
 */
#include <errno.h>
#include <stdint.h>

#include "msgctl.h"
#include "tap.h"

#define X64 MG_AUDIT_ARCH_X86_64
#define I386 MG_AUDIT_ARCH_I386
#define NONE (-1)

struct row {
	const char *what;
	uint32_t arch;
	int nr;
	uint64_t args[6];
	int ret;          /* 0 or the negative errno expected */
	enum mg_entry entry;
	int cmd;          /* expected executed command, -1 = none */
	enum mg_lookup lookup;
	enum mg_layout layout;
	int msqid;
};

static const struct row rows[] = {
	/* x86_64 msgctl(71): cmd used as is */
	{"x86_64 IPC_STAT", X64, 71, {5, 2, 0x1000}, 0, MG_ENTRY_MSGCTL, MG_IPC_STAT, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"x86_64 IPC_RMID, upper bits in cmd", X64, 71, {5, 0xdeadbeef00000000ull}, 0, MG_ENTRY_MSGCTL, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"x86_64 IPC_SET, upper bits in msqid", X64, 71, {0xffffffff00000007ull, 1}, 0, MG_ENTRY_MSGCTL, MG_IPC_SET, MG_LOOKUP_ID, MG_LAYOUT_64, 7},
	{"x86_64 IPC_RMID|IPC_64 is EINVAL (no command)", X64, 71, {5, 0x100}, 0, MG_ENTRY_MSGCTL, NONE, MG_LOOKUP_NONE, MG_LAYOUT_NONE, 5},
	{"x86_64 IPC_STAT|IPC_64 is EINVAL (no command)", X64, 71, {5, 0x102}, 0, MG_ENTRY_MSGCTL, NONE, MG_LOOKUP_NONE, MG_LAYOUT_NONE, 5},
	{"x86_64 MSG_STAT looks up by index", X64, 71, {3, 11}, 0, MG_ENTRY_MSGCTL, MG_MSG_STAT, MG_LOOKUP_INDEX, MG_LAYOUT_NONE, 3},
	{"x86_64 MSG_STAT_ANY looks up by index", X64, 71, {3, 13}, 0, MG_ENTRY_MSGCTL, MG_MSG_STAT_ANY, MG_LOOKUP_INDEX, MG_LAYOUT_NONE, 3},
	{"x86_64 IPC_INFO needs no queue", X64, 71, {0, 3}, 0, MG_ENTRY_MSGCTL, MG_IPC_INFO, MG_LOOKUP_NONE, MG_LAYOUT_NONE, 0},
	{"x86_64 unknown cmd 4", X64, 71, {5, 4}, 0, MG_ENTRY_MSGCTL, NONE, MG_LOOKUP_NONE, MG_LAYOUT_NONE, 5},
	{"x86_64 negative cmd", X64, 71, {5, 0xffffffffull}, 0, MG_ENTRY_MSGCTL, NONE, MG_LOOKUP_NONE, MG_LAYOUT_NONE, 5},
	{"x86_64 negative msqid: no lookup", X64, 71, {0x80000000ull, 0}, 0, MG_ENTRY_MSGCTL, MG_IPC_RMID, MG_LOOKUP_NONE, MG_LAYOUT_NONE, (int)0x80000000u},
	{"x86_64 other syscall", X64, 70, {0}, -ENOSYS},
	{"x32 msgctl", X64, 0x40000000 | 71, {5, 0}, -EAFNOSUPPORT},
	{"unknown arch", 0xc00000b7u, 71, {5, 0}, -EAFNOSUPPORT},
	/* i386 msgctl(402): dispatch on cmd & ~IPC_64, unmasked cmd passed down */
	{"i386 402 IPC_RMID", I386, 402, {5, 0}, 0, MG_ENTRY_MSGCTL, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 402 IPC_SET layout compat64", I386, 402, {5, 1}, 0, MG_ENTRY_MSGCTL, MG_IPC_SET, MG_LOOKUP_ID, MG_LAYOUT_COMPAT_64, 5},
	{"i386 402 IPC_RMID|IPC_64 stays IPC_RMID", I386, 402, {5, 0x100}, 0, MG_ENTRY_MSGCTL, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 402 IPC_STAT|IPC_64 is IPC_STAT", I386, 402, {5, 0x102}, 0, MG_ENTRY_MSGCTL, MG_IPC_STAT, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 402 MSG_STAT|IPC_64 is a stat by id", I386, 402, {5, 0x10b}, 0, MG_ENTRY_MSGCTL, MG_IPC_STAT, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 402 MSG_STAT_ANY|IPC_64 is a stat by id", I386, 402, {5, 0x10d}, 0, MG_ENTRY_MSGCTL, MG_IPC_STAT, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 402 MSG_INFO|IPC_64 is IPC_INFO", I386, 402, {0, 0x10c}, 0, MG_ENTRY_MSGCTL, MG_IPC_INFO, MG_LOOKUP_NONE, MG_LAYOUT_NONE, 0},
	{"i386 402 IPC_SET|IPC_64 stays IPC_SET", I386, 402, {5, 0x101}, 0, MG_ENTRY_MSGCTL, MG_IPC_SET, MG_LOOKUP_ID, MG_LAYOUT_COMPAT_64, 5},
	{"i386 402 upper bits (int $0x80 from 64-bit)", I386, 402, {5, 0xabcd000000000000ull}, 0, MG_ENTRY_MSGCTL, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	/* i386 ipc(117): call = version << 16 | 14, IPC_64 stripped, picks the layout */
	{"i386 ipc MSGCTL IPC_RMID", I386, 117, {14, 5, 0}, 0, MG_ENTRY_IPC, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 ipc version 1 IPC_RMID", I386, 117, {14 | 1 << 16, 5, 0}, 0, MG_ENTRY_IPC, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 ipc version 0xffff IPC_RMID", I386, 117, {14 | 0xffffu << 16, 5, 0}, 0, MG_ENTRY_IPC, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 ipc upper register bits in call", I386, 117, {0x100000000ull | 14, 5, 0}, 0, MG_ENTRY_IPC, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 ipc IPC_RMID|IPC_64 stripped", I386, 117, {14, 5, 0x100}, 0, MG_ENTRY_IPC, MG_IPC_RMID, MG_LOOKUP_ID, MG_LAYOUT_NONE, 5},
	{"i386 ipc IPC_SET old layout", I386, 117, {14, 5, 1}, 0, MG_ENTRY_IPC, MG_IPC_SET, MG_LOOKUP_ID, MG_LAYOUT_COMPAT_OLD, 5},
	{"i386 ipc IPC_SET|IPC_64 compat64 layout", I386, 117, {14, 5, 0x101}, 0, MG_ENTRY_IPC, MG_IPC_SET, MG_LOOKUP_ID, MG_LAYOUT_COMPAT_64, 5},
	{"i386 ipc MSG_STAT|IPC_64 stays MSG_STAT (index)", I386, 117, {14, 2, 0x10b}, 0, MG_ENTRY_IPC, MG_MSG_STAT, MG_LOOKUP_INDEX, MG_LAYOUT_NONE, 2},
	{"i386 ipc msqid is args[1], cmd args[2]", I386, 117, {14, 9, 2, 0, 0x1234}, 0, MG_ENTRY_IPC, MG_IPC_STAT, MG_LOOKUP_ID, MG_LAYOUT_NONE, 9},
	{"i386 ipc MSGGET is not msgctl", I386, 117, {13, 5, 0}, -ENOSYS},
	{"i386 ipc 14 in the high half only", I386, 117, {14u << 16, 5, 0}, -ENOSYS},
	{"i386 other syscall", I386, 118, {0}, -ENOSYS},
};

static void check_row(const struct row *r)
{
	struct mg_call c = {0};
	int ret = mg_call_classify(r->arch, r->nr, r->args, &c);

	if (r->ret < 0) {
		is_int(ret, r->ret, "%s: rejected", r->what);
		return;
	}
	ok(ret == 0 && c.entry == r->entry && c.cmd == r->cmd && c.lookup == r->lookup &&
		   c.layout == r->layout && c.msqid == r->msqid,
	   "%s", r->what);
	if (ret != 0 || c.cmd != r->cmd || c.lookup != r->lookup || c.layout != r->layout ||
	    c.msqid != r->msqid || c.entry != r->entry)
		diag("got ret=%d entry=%d cmd=%d lookup=%d layout=%d msqid=%d", ret, c.entry, c.cmd,
		     c.lookup, c.layout, c.msqid);
}

int main(void)
{
	plan(sizeof(rows) / sizeof(rows[0]) + 4);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_row(&rows[i]);
	is_int(mg_cmd_from_name("IPC_RMID"), MG_IPC_RMID, "name table: IPC_RMID");
	is_int(mg_cmd_from_name("ipc_rmid"), -EINVAL, "name table is case-sensitive");
	is_int(mg_errno_from_name("EACCES"), EACCES, "errno table: EACCES");
	ok(mg_cmd_name(4) == NULL, "value 4 is not a command");
	return done();
}
