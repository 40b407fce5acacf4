/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The services the daemon serves: one seccomp listener each, with who sent it. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "protocol.h"
#include "state.h"

struct policy_profile;

struct ipcset_quota;
struct ipcset_wait;

/* What an epoll event points at. */
enum watch_kind {
	WATCH_SOCKET,	    /* the registration socket */
	WATCH_SIGNAL,	    /* signalfd */
	WATCH_PENDING,	    /* a connection whose registration has not arrived yet */
	WATCH_LISTENER,	    /* a registered seccomp listener */
	WATCH_CONTROL,	    /* the control socket */
	WATCH_CONTROL_CONN, /* a control connection waiting for its request */
	WATCH_IPCSET,	    /* an IPC_SET buffer read finished (struct ipcset_wait, notify.c) */
};

struct watch {
	enum watch_kind kind;
};

struct service {
	struct watch watch; /* first member: epoll data points here */
	int fd;		    /* the seccomp listener */
	pid_t pid;	    /* registering process (SO_PEERCRED) */
	uid_t uid;
	gid_t gid;
	char comm[64];
	char unit[256]; /* systemd unit of the registering process, "" if none */
	char profile[MG_PROFILE_NAME_MAX];
	uint64_t calls, denials;
	struct state_slot *slot;	 /* what survives a restart (state.c) */
	struct ipcset_quota *quota;	 /* its IPC_SET workers still running (ipcset.c) */
	struct ipcset_wait *ipcset_wait; /* an IPC_SET waiting for its buffer (notify.c) */
	struct rule_count *rule_denials; /* denials per rule, for status */
	size_t n_rule_denials;
	/* Its profile in s->policy, valid while policy_gen == s->policy_gen (notify.c). */
	const struct policy_profile *policy_profile;
	uint64_t policy_gen;
};

struct rule_count {
	char profile[MG_PROFILE_NAME_MAX];
	char rule[64];
	uint64_t n;
};

struct registry {
	struct service **services;
	size_t n, allocated;
};

/* Take ownership of svc. Returns 0 or -ENOMEM. */
int registry_add(struct registry *reg, struct service *svc);
/* Remove and free svc (closes its listener). */
void registry_remove(struct registry *reg, struct service *svc);
size_t registry_count_uid(const struct registry *reg, uid_t uid);
void registry_clear(struct registry *reg);
