/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPC_SET performed by the daemon, race-free: read the caller's buffer once,
 * let the policy judge that copy, and apply exactly that copy with the
 * caller's credentials in the caller's IPC namespace.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "caller.h"
#include "msgctl.h"

/* The values the kernel would take from the buffer, as it would take them. */
struct ipcset_values {
	uint32_t uid, gid;
	uint32_t mode;	 /* raw mode field; the kernel keeps only & 0777 */
	uint64_t qbytes; /* raw msg_qbytes field, zero-extended */
};

/* What msgctl_down() stores in q_qbytes: the value goes through an int. */
uint64_t ipcset_qbytes_landed(uint64_t raw);

struct ipcset_job;

/*
 * Workers of one service still reading its buffer (a read can hang on
 * userfaultfd or FUSE memory until the service dies). Shared between the
 * service and its jobs; freed by whichever lets go last.
 */
struct ipcset_quota;
struct ipcset_quota *ipcset_quota_new(void);
void ipcset_quota_unref(struct ipcset_quota *q);
unsigned ipcset_quota_outstanding(const struct ipcset_quota *q);

/*
 * Start reading the IPC_SET buffer of call in thread tid's memory, on a
 * worker thread (the read can block on userfaultfd/FUSE memory: the event
 * loop must not). ns_fd (the caller's IPC namespace) is duplicated.
 */
int ipcset_begin(pid_t tid, const struct mg_call *call, int ns_fd, struct ipcset_quota *quota,
		 struct ipcset_job **ret);

/* Becomes readable when the read is over: the event loop waits for it in epoll. */
int ipcset_read_fd(const struct ipcset_job *job);

/*
 * Wait up to timeout_ms (0: just look) for the read. Returns 0 and fills *ret, -EFAULT when
 * the kernel's own copy would fail, -ETIMEDOUT, or another -errno.
 */
int ipcset_wait_read(struct ipcset_job *job, int timeout_ms, struct ipcset_values *ret);

/*
 * Apply the values read, as the caller: its uids, gids, groups and the
 * capabilities relevant to IPC_SET. Returns the kernel's answer: 0 or -errno.
 * Consumes the job.
 */
int ipcset_execute(struct ipcset_job *job, const struct caller_creds *creds);

/* Drop a job without applying anything. Consumes the job. */
void ipcset_cancel(struct ipcset_job *job);
