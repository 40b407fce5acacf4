/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the daemon learns about the thread behind a notification: its
 * identity from /proc/TID and the queue it names, looked up in its own IPC
 * namespace. Nothing here is trustworthy until the notification is confirmed
 * with SECCOMP_IOCTL_NOTIF_ID_VALID afterwards (the tid may be recycled).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "msgctl.h"

struct caller {
	pid_t tid, pid;
	uid_t euid;
	gid_t egid;
	char comm[64];
	char exe[256];
};

#define CALLER_GROUPS_MAX 256

/* Everything the kernel's IPC_SET checks look at (for ipcset.c). */
struct caller_creds {
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	gid_t groups[CALLER_GROUPS_MAX];
	size_t n_groups;
	uint64_t cap_eff;
};

struct queue_info {
	bool known;
	int32_t key;
	uid_t uid, cuid;
	gid_t gid;
	uint32_t mode; /* permission bits */
};

/*
 * The calling thread's credentials from /proc/TID/status. -EOPNOTSUPP when
 * it lives in another user namespace (its capabilities mean something else
 * there) or has more than CALLER_GROUPS_MAX groups.
 */
int caller_read_creds(pid_t tid, struct caller_creds *ret);

/* Open tid's IPC namespace (O_CLOEXEC fd) or -errno. */
int caller_open_ipc_ns(pid_t tid);

/* Open this process's own IPC namespace, once at start. */
int caller_ns_init(void);

/*
 * Fill *ret: pid (tgid), euid and egid through a cached pidfd (PIDFD_GET_INFO,
 * Linux 6.13+: one ioctl instead of formatting /proc/TID/status, which stays
 * the fallback), then comm and exe, through /proc/TID handles cached with the
 * pidfd (one pread, one short readlinkat). A cached pidfd is only believed
 * while its task is alive (a live task's tid is unique), which GET_INFO itself
 * reports; the caller still confirms everything with ID_VALID afterwards.
 * Event loop only (the cache).
 */
int caller_read(pid_t tid, struct caller *ret);

/*
 * Look the queue up as the caller's kernel would: msqid is an id or an index
 * (how), in the IPC namespace of tid. A queue that does not exist leaves
 * ret->known false and returns 0; errors reaching the namespace return -errno.
 */
int caller_queue_lookup(pid_t tid, enum mg_lookup how, int msqid, struct queue_info *ret);
