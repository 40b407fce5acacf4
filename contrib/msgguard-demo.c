/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * msgguard-demo: a root service that tampers with a queue another service owns.
 *
 * Run as root under msgguard-shim with contrib/policy.example.ini (contrib/demo.sh does it).
 * It creates a queue owned by nobody (uid 65534), then as root calls IPC_STAT, IPC_SET and
 * IPC_RMID on it. The kernel alone would allow all three (root has CAP_IPC_OWNER and
 * CAP_SYS_ADMIN); the example policy allows IPC_STAT and denies IPC_SET and IPC_RMID on queues
 * the caller does not own. Exit 0 when every call did what the policy says, else 1. The queue
 * is left behind on purpose: the caller removes it with ipcrm (its id is printed as
 * `queue: msqid=N`).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/msg.h>
#include <unistd.h>

#define NOBODY_UID 65534

/* Print one call's outcome; returns 0 if it matches want_errno (0 = success expected). */
static int report(const char *name, int msqid, int ret, int err, int want_errno)
{
	if (ret == 0)
		printf("%-9s msqid=%d -> 0 (ok)\n", name, msqid);
	else
		printf("%-9s msqid=%d -> %d %s (%s)\n", name, msqid, ret, strerrorname_np(err),
		       strerror(err));
	fflush(stdout);

	if (want_errno == 0 ? ret == 0 : ret < 0 && err == want_errno)
		return 0;
	fprintf(stderr, "msgguard-demo: %s: expected %s\n", name,
		want_errno == 0 ? "success" : strerrorname_np(want_errno));
	return -1;
}

/* A queue owned (uid and cuid) by nobody: create it with nobody as effective uid. */
static int create_foreign_queue(void)
{
	int msqid, err;

	if (seteuid(NOBODY_UID) < 0) {
		fprintf(stderr, "msgguard-demo: seteuid(%d): %m\n", NOBODY_UID);
		return -1;
	}
	msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	err = errno;
	if (seteuid(0) < 0) {
		fprintf(stderr, "msgguard-demo: seteuid(0): %m\n");
		return -1;
	}
	if (msqid < 0)
		fprintf(stderr, "msgguard-demo: msgget: %s\n", strerror(err));
	return msqid;
}

int main(void)
{
	struct msqid_ds ds;
	int msqid, ret, failed = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "msgguard-demo: must run as root (it plays a root service)\n");
		return 1;
	}

	msqid = create_foreign_queue();
	if (msqid < 0)
		return 1;
	printf("queue: msqid=%d\n", msqid);
	printf("(queue owned by uid %d, mode 0600; this program runs as uid 0)\n", NOBODY_UID);
	fflush(stdout);

	/* Read-only: the policy allows it, and root may read any queue. */
	memset(&ds, 0, sizeof(ds));
	ret = msgctl(msqid, IPC_STAT, &ds);
	failed |= report("IPC_STAT", msqid, ret, errno, 0);

	/* Open the queue to everyone: the kernel would let root do it, the policy does not. */
	ds.msg_perm.mode = 0666;
	ret = msgctl(msqid, IPC_SET, &ds);
	failed |= report("IPC_SET", msqid, ret, errno, EPERM);

	/* Destroy another service's queue: denied as well. */
	ret = msgctl(msqid, IPC_RMID, NULL);
	failed |= report("IPC_RMID", msqid, ret, errno, EPERM);

	if (failed) {
		fprintf(stderr, "msgguard-demo: FAILED: a call did not do what the policy says\n");
		return 1;
	}
	printf("msgguard-demo: OK: IPC_STAT allowed, IPC_SET and IPC_RMID denied\n");
	return 0;
}
