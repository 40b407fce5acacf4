/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Audit records: one formatter (a list of KEY=value fields) and three sinks:
 * journald (sd_journal_sendv), and one JSON object per line on stderr or
 * appended to a file.
 *
 * Records never reach a sink from the event loop: audit_emit() and
 * audit_submit() put them in a bounded queue that a writer thread empties, so
 * a slow or stalled sink never delays a decision. Only optional records (the
 * allows the caller may fold into a summary) are ever refused; every other
 * record waits for room, which stalls the loop (back-pressure) rather than
 * lose it, and a record then says so.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define AUDIT_FIELDS_MAX 48
#define AUDIT_BUF_SIZE	 3072
#define AUDIT_EVENT_MAX	 1536 /* largest payload of audit_submit() */

/*
 * Position-independent (keys and values are offsets into buf), so a record
 * can be copied whole, even into the next daemon.
 */
struct audit_record {
	uint16_t n, used;
	uint16_t koff[AUDIT_FIELDS_MAX]; /* key i is buf + koff[i] */
	uint16_t off[AUDIT_FIELDS_MAX];	 /* value i is buf + off[i] */
	char buf[AUDIT_BUF_SIZE];
};

struct audit;

/* spec: "journal", "stderr" or "jsonl:/absolute/path". Returns 0 or -errno. */
int audit_open(const char *spec, struct audit **ret);
/*
 * The queue: capacity records in a memfd put in systemd's fd store as "audit"
 * (stored_fd: the previous daemon's, taken over, whose unwritten records are
 * written first; -1 for none). Records submitted before audit_start() wait in
 * it; without a queue they are written at once.
 */
int audit_queue_open(struct audit *a, unsigned capacity, int stored_fd);
/*
 * Start the writer thread. stalled(userdata) runs on the calling thread every
 * half second while a record waits for room (the loop uses it to keep the
 * watchdog fed: it is alive, only held back).
 */
int audit_start(struct audit *a, void (*stalled)(void *), void *userdata);
/* Write everything queued (giving up on a dead sink after a few seconds), stop, free. */
void audit_close(struct audit *a);
/* Validate a spec without opening anything: 0 or -EINVAL. */
int audit_spec_valid(const char *spec);

void audit_record_init(struct audit_record *r);
/* Add KEY=printf(fmt, ...). Fields that do not fit are left out. */
void audit_add(struct audit_record *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline const char *audit_key(const struct audit_record *r, size_t i)
{
	return r->buf + r->koff[i];
}
static inline const char *audit_value(const struct audit_record *r, size_t i)
{
	return r->buf + r->off[i];
}

/* Queue a copy of the record; waits for room if the queue is full. 0 or -errno. */
int audit_emit(struct audit *a, const struct audit_record *r);

/*
 * Event kinds and their formatters. An event is copied into the queue, which
 * outlives the daemon (a crash, a restart): the next daemon formats it with
 * its own formatter for that kind, so an event must hold values only (no
 * pointer it needs) and a formatter must only read the event.
 */
typedef void (*audit_format_fn)(const void *event, struct audit_record *out);
enum {
	AUDIT_KIND_RECORD,   /* a ready struct audit_record (audit_emit) */
	AUDIT_KIND_DECISION, /* notify.c */
	AUDIT_KIND_SUMMARY,  /* notify.c */
	AUDIT_KIND_PRESSURE, /* audit.c */
	_AUDIT_KIND_MAX,
};
void audit_set_format(struct audit *a, unsigned kind, audit_format_fn format);

/*
 * Queue an event of that kind (size <= AUDIT_EVENT_MAX bytes, copied) that the
 * writer thread turns into a record.
 * AUDIT_OPTIONAL: return -EAGAIN instead of waiting when the queue is over
 * three quarters full (the caller counts the record in a summary instead).
 */
enum { AUDIT_OPTIONAL = 1 << 0 };
int audit_submit(struct audit *a, unsigned kind, const void *event, size_t size, unsigned flags);

/* Loop housekeeping: a pressure record that could not be queued yet. */
void audit_tick(struct audit *a);

/* Counters for msgguardctl status. */
struct audit_stats {
	uint64_t queued, written, failed, waits, waited_ms;
	unsigned depth, capacity;
};
void audit_get_stats(struct audit *a, struct audit_stats *ret);
