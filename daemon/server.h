/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's state and its single event loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <linux/seccomp.h>

#include "audit.h"
#include "policy.h"
#include "registry.h"

#define PENDING_MAX		      64 /* connections waiting for their registration */
#define PENDING_MAX_PER_UID	      8
#define HANDSHAKE_TIMEOUT_MS	      2000 /* a peer that sends nothing is dropped after this */
#define DEFAULT_MAX_LISTENERS	      1024
#define DEFAULT_MAX_LISTENERS_PER_UID 64
#define AUDIT_FOLD_AFTER_DEFAULT      10   /* identical allow records per key and interval */
#define AUDIT_FOLD_INTERVAL_DEFAULT   5	   /* seconds */
#define AUDIT_QUEUE_DEFAULT	      512  /* records */
#define FOLD_SLOTS		      1024 /* distinct keys per interval before an early flush */

struct pending {
	struct watch watch;
	int fd;
	uid_t uid;
	uint64_t deadline_ms;
};

enum accept_kind { ACCEPT_REGISTER, ACCEPT_CONTROL, _ACCEPT_KIND_MAX };

struct server {
	int epoll_fd;
	int listen_fd;
	int signal_fd;
	int control_fd;
	struct watch socket_watch, signal_watch, control_watch;
	/* 0, or when a listening socket paused for want of fds is watched again (by kind). */
	uint64_t accept_resume_ms[_ACCEPT_KIND_MAX];
	char *socket_path;  /* unlinked at exit when we created it */
	char *control_path; /* likewise */
	bool socket_activated, control_activated;
	struct state *state;
	struct policy *policy;
	uint64_t policy_gen; /* bumped whenever policy changes: starts at 1 */
	struct fold *fold;   /* allow records being folded (fold.c) */
	uint64_t fold_next_ms;
	char *policy_path; /* as given: reloads read it again */
	time_t policy_loaded_at;
	char *reload_error; /* first error of the last reload, if it failed */
	struct pending *control_pending[PENDING_MAX];
	unsigned n_control_pending; /* used entries: the loop skips its scans when 0 */
	uint64_t watchdog_usec, last_watchdog_ms, last_status_ms;
	bool status_dirty;
	struct audit *audit;
	struct registry registry;
	struct pending *pending[PENDING_MAX];
	unsigned n_pending; /* used entries: the loop skips its scans when 0 */
	unsigned max_listeners, max_listeners_per_uid;
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	size_t req_size, resp_size;
	uint64_t decisions, denials;
	unsigned ipcset_waiting; /* services with an IPC_SET waiting for its buffer */
	bool quit;
};

int server_init(struct server *s, const char *socket_path, const char *control_path);
/* Re-arm the listeners systemd kept for us and answer what the last daemon left pending. */
int server_restore(struct server *s);
void server_recover_inflight(struct server *s);
/* STATUS= for systemctl status; sent at most once a second unless forced. */
void server_status(struct server *s, bool force);
int server_run(struct server *s);
void server_done(struct server *s);

/* Per-listener kernel settings (synchronous wake-up where the kernel has it). */
void server_listener_tune(int fd);

/* Epoll bookkeeping shared by the handlers. */
int server_watch(struct server *s, int fd, struct watch *w);
void server_unwatch(struct server *s, int fd);
int server_watch_pause(struct server *s, int fd, struct watch *w, bool resume);
/* accept4() failed with err: for want of fds or memory, stop accepting for a second. */
void server_accept_failed(struct server *s, enum accept_kind kind, int err);

/* handshake.c: a registration connection. */
void handshake_accept(struct server *s);
void handshake_readable(struct server *s, struct pending *p);
void handshake_expire(struct server *s, uint64_t now_ms);
int handshake_next_deadline(const struct server *s, uint64_t now_ms);
void handshake_drop_all(struct server *s);

/* control.c: the control socket. */
void control_accept(struct server *s);
void control_readable(struct server *s, struct pending *p);
void control_expire(struct server *s, uint64_t now_ms);
int control_next_deadline(const struct server *s, uint64_t now_ms);
void control_drop_all(struct server *s);

/* reload.c: replace the policy, whole or not at all. Errors go to errs (may be NULL). */
int server_reload(struct server *s, struct policy_errors *errs);

/* notify.c: a listener event. */
void notify_recover(struct server *s, struct service *svc);
void notify_readable(struct server *s, struct service *svc, uint32_t events);
void notify_unregister(struct server *s, struct service *svc, const char *why);
void notify_audit_unregister(struct server *s, const struct state_slot *slot, const char *why);
/* The formatters of decision and summary records, for the audit writer. */
void notify_audit_formats(struct audit *a);
/* Write the summaries of folded allows and start a new interval (wait: for room). */
void notify_fold_flush(struct server *s, bool wait);
/* IPC_SET calls waiting for their buffer (never blocking the loop). */
void notify_ipcset_ready(struct server *s, struct watch *w);
void notify_ipcset_expire(struct server *s, uint64_t now_ms);
int notify_ipcset_next_deadline(const struct server *s, uint64_t now_ms);
void notify_ipcset_drop_all(struct server *s);

uint64_t now_ms(void);
/* The audit queue systemd kept for us (-1: none); ours to close after this. */
int server_take_stored_audit(struct server *s);
int server_take_stored_fold(struct server *s);
/* audit_start()'s stalled callback. */
void server_audit_stalled(void *userdata);
