/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Audit records: one formatter (a list of KEY=value fields) and three sinks:
 * journald (sd_journal_sendv), and one JSON object per line on stderr or
 * appended to a file.
 */
#pragma once

#include <stddef.h>

#define AUDIT_FIELDS_MAX 48
#define AUDIT_BUF_SIZE	 4096

struct audit_record {
	size_t n;
	const char *key[AUDIT_FIELDS_MAX];
	const char *value[AUDIT_FIELDS_MAX];
	size_t used;
	char buf[AUDIT_BUF_SIZE];
};

struct audit;

/* spec: "journal", "stderr" or "jsonl:/absolute/path". Returns 0 or -errno. */
int audit_open(const char *spec, struct audit **ret);
void audit_close(struct audit *a);
/* Validate a spec without opening anything: 0 or -EINVAL. */
int audit_spec_valid(const char *spec);

void audit_record_init(struct audit_record *r);
/* Add KEY=printf(fmt, ...). Fields that do not fit are dropped with a marker field. */
void audit_add(struct audit_record *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Write the record to the sink. Returns 0 or -errno (the caller logs). */
int audit_emit(struct audit *a, const struct audit_record *r);
