/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Least privilege for msgguardd. It runs as uid 0 (journald attaches a
 * caller's unit to OBJECT_PID only for records sent by uid 0) but keeps only
 * these capabilities, dropped before the first untrusted byte is read:
 *
 *   CAP_SYS_ADMIN     setns(CLONE_NEWIPC) into a caller's IPC namespace to look
 *                     its queue up and to perform its IPC_SET there; also
 *                     granted to the IPC_SET worker when the caller has it.
 *   CAP_SYS_PTRACE    ptrace-mode access to other users' processes: read
 *                     /proc/TID/{exe,ns/ipc,ns/user} and their IPC_SET
 *                     buffer (process_vm_readv).
 *   CAP_SETUID,
 *   CAP_SETGID        the IPC_SET worker thread takes the caller's uids, gids
 *                     and groups, so the kernel's owner checks give the
 *                     caller's answer.
 *   CAP_SYS_RESOURCE  granted to the IPC_SET worker only when the caller has
 *                     it (raising msg_qbytes above msgmnb).
 *
 * Queues are looked up with MSG_STAT_ANY, which needs no capability (caller.c),
 * so not even CAP_IPC_OWNER is kept. Everything else goes, from the bounding
 * set too. Missing capabilities (a
 * restricted CapabilityBoundingSet=, a container) are reported by name: the
 * feature needing one then fails closed (the call is denied).
 */
#include <errno.h>
#include <stdbool.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <linux/securebits.h>

#include "log.h"
#include "privs.h"
#include "util.h"

static const cap_value_t keep[] = {
    CAP_SYS_ADMIN, CAP_SYS_PTRACE, CAP_SETUID, CAP_SETGID, CAP_SYS_RESOURCE,
};

static bool kept(cap_value_t c)
{
	for (size_t i = 0; i < ELEMENTSOF(keep); i++)
		if (keep[i] == c)
			return true;
	return false;
}

static bool has_effective(cap_value_t c)
{
	cap_t now = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;

	if (now)
		cap_get_flag(now, c, CAP_EFFECTIVE, &v);
	cap_free(now);
	return v == CAP_SET;
}

/* cap_to_name() strings go back through cap_free(); a cleanup gets their address. */
static void cap_free_charp(char **p)
{
	cap_free(*p);
}

/* The capabilities of keep[] that we hold now; warn about the others. */
static cap_t wanted_state(void)
{
	cap_t now = cap_get_proc(), want = cap_init();
	cap_flag_value_t v;

	if (!now || !want) {
		cap_free(now);
		cap_free(want);
		return NULL;
	}
	for (size_t i = 0; i < ELEMENTSOF(keep); i++) {
		if (cap_get_flag(now, keep[i], CAP_PERMITTED, &v) < 0 || v != CAP_SET) {
			_cleanup_(cap_free_charp) char *name = cap_to_name(keep[i]);
			log_warning(
			    "capability %s not available: the calls needing it will be denied",
			    name ?: "?");
			continue;
		}
		cap_set_flag(want, CAP_PERMITTED, 1, &keep[i], CAP_SET);
		cap_set_flag(want, CAP_EFFECTIVE, 1, &keep[i], CAP_SET);
	}
	cap_free(now);
	return want;
}

/*
 * Needs CAP_SETPCAP only for capabilities still in the bounding set: under
 * systemd, CapabilityBoundingSet= has already removed them and the unit does
 * not grant CAP_SETPCAP.
 */
static int drop_bounding(void)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP || cap_valid(c); c++) {
		if (kept(c) || !CAP_IS_SUPPORTED(c) || cap_get_bound(c) <= 0)
			continue;
		if (cap_drop_bound(c) < 0 && errno != EINVAL)
			return negative_errno();
	}
	return 0;
}

/*
 * Defence in depth (we never exec): uid 0 gains nothing through exec. Setting
 * securebits needs CAP_SETPCAP, which the systemd unit does not grant; there
 * the bounding set already caps what an exec could gain at the kept set, so
 * doing without is no loss.
 */
static int lock_noroot(void)
{
	const int want = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED;
	int now = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);

	if (now >= 0 && (now & want) == want)
		return 0;
	if (!CAP_IS_SUPPORTED(CAP_SETPCAP) || !has_effective(CAP_SETPCAP)) {
		log_debug("no CAP_SETPCAP: leaving securebits alone (bounding set is enough)");
		return 0;
	}
	if (now < 0 || prctl(PR_SET_SECUREBITS, now | want, 0, 0, 0) < 0)
		return negative_errno();
	return 0;
}

static int verify(cap_t want)
{
	cap_t now = cap_get_proc();
	int differ;

	if (!now)
		return negative_errno();
	differ = cap_compare(now, want);
	cap_free(now);
	if (differ)
		return -EPERM;
	for (cap_value_t c = 0; cap_valid(c); c++)
		if (!kept(c) && CAP_IS_SUPPORTED(c) && cap_get_bound(c) > 0)
			return -EPERM;
	if (cap_get_ambient(CAP_SYS_ADMIN) > 0)
		return -EPERM;
	return 0;
}

int privs_undumpable(void)
{
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return negative_errno();
	return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -EPERM;
}

int privs_drop(void)
{
	cap_t want = wanted_state();
	int r;

	if (!want)
		return negative_errno();
	/* Needs CAP_SETPCAP, so before the capset below removes it. */
	r = drop_bounding();
	if (r >= 0 && cap_reset_ambient() < 0)
		r = negative_errno();
	/* uid 0 must not regain full capabilities through exec (we never exec anyway). */
	if (r >= 0)
		r = lock_noroot();
	if (r >= 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		r = negative_errno();
	if (r >= 0 && cap_set_proc(want) < 0)
		r = negative_errno();
	if (r >= 0)
		r = verify(want);
	cap_free(want);
	/* Every credential change resets dumpability to fs.suid_dumpable: set it last. */
	if (r >= 0)
		r = privs_undumpable();
	if (r < 0)
		return log_error_errno(r, "dropping capabilities failed: %m");
	log_debug("capabilities dropped to the kept set (privs.c), not dumpable: verified");
	return 0;
}
