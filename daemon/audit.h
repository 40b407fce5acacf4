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
#define AUDIT_BUF_SIZE	 2048
#define AUDIT_EVENT_MAX	 1536 /* largest payload of audit_submit() */

/* Position-independent (values are offsets), so a record can be copied whole. */
struct audit_record {
	uint16_t n, used;
	const char *key[AUDIT_FIELDS_MAX]; /* string literals */
	uint16_t off[AUDIT_FIELDS_MAX];	   /* value i is buf + off[i] */
	char buf[AUDIT_BUF_SIZE];
};

struct audit;

/* spec: "journal", "stderr" or "jsonl:/absolute/path". Returns 0 or -errno. */
int audit_open(const char *spec, struct audit **ret);
/*
 * Start the writer thread with a queue of capacity records. Until then,
 * records are written synchronously. stalled(userdata) runs on the calling
 * thread every half second while a record waits for room (the loop uses it
 * to keep the watchdog fed: it is alive, only held back).
 */
int audit_start(struct audit *a, unsigned capacity, void (*stalled)(void *), void *userdata);
/* Write everything queued (giving up on a dead sink after a few seconds), stop, free. */
void audit_close(struct audit *a);
/* Validate a spec without opening anything: 0 or -EINVAL. */
int audit_spec_valid(const char *spec);

void audit_record_init(struct audit_record *r);
/* Add KEY=printf(fmt, ...). Fields that do not fit are left out. key must be a literal. */
void audit_add(struct audit_record *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline const char *audit_value(const struct audit_record *r, size_t i)
{
	return r->buf + r->off[i];
}

/* Queue a copy of the record; waits for room if the queue is full. 0 or -errno. */
int audit_emit(struct audit *a, const struct audit_record *r);

/*
 * Queue an event (size <= AUDIT_EVENT_MAX bytes, copied) that the writer
 * thread turns into a record with format(). format must only read the event
 * (no pointer in it may refer to anything the loop can free).
 * AUDIT_OPTIONAL: return -EAGAIN instead of waiting when the queue is over
 * three quarters full (the caller counts the record in a summary instead).
 */
typedef void (*audit_format_fn)(const void *event, struct audit_record *out);
enum { AUDIT_OPTIONAL = 1 << 0 };
int audit_submit(struct audit *a, audit_format_fn format, const void *event, size_t size,
		 unsigned flags);

/* Loop housekeeping: a pressure record that could not be queued yet. */
void audit_tick(struct audit *a);

/* Counters for msgguardctl status. */
struct audit_stats {
	uint64_t queued, written, failed, waits, waited_ms;
	unsigned depth, capacity;
};
void audit_get_stats(struct audit *a, struct audit_stats *ret);
