/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Audit sinks. A record is built once as KEY=value pairs (audit_add) and
 * rendered per sink, so journald fields and JSON keys are always the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "audit.h"
#include "util.h"

enum audit_sink {
	AUDIT_JOURNAL,
	AUDIT_STDERR,
	AUDIT_JSONL,
};

struct audit {
	enum audit_sink sink;
	int fd; /* stderr or the jsonl file */
};

int audit_spec_valid(const char *spec)
{
	if (strcmp(spec, "journal") == 0 || strcmp(spec, "stderr") == 0)
		return 0;
	if (strncmp(spec, "jsonl:", 6) == 0 && spec[6] == '/')
		return 0;
	return -EINVAL;
}

int audit_open(const char *spec, struct audit **ret)
{
	_cleanup_free_ struct audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (audit_spec_valid(spec) < 0)
		return -EINVAL;
	a->fd = -1;
	if (strcmp(spec, "journal") == 0) {
		a->sink = AUDIT_JOURNAL;
	} else if (strcmp(spec, "stderr") == 0) {
		a->sink = AUDIT_STDERR;
		a->fd = STDERR_FILENO;
	} else {
		a->sink = AUDIT_JSONL;
		a->fd =
		    open(spec + 6, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
		if (a->fd < 0)
			return -errno;
	}
	*ret = TAKE_PTR(a);
	return 0;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	if (a->sink == AUDIT_JSONL && a->fd >= 0)
		close(a->fd);
	free(a);
}

void audit_record_init(struct audit_record *r)
{
	r->n = 0;
	r->used = 0;
}

void audit_add(struct audit_record *r, const char *key, const char *fmt, ...)
{
	size_t room = sizeof(r->buf) - r->used;
	va_list ap;
	int len;

	if (r->n >= AUDIT_FIELDS_MAX)
		return;
	va_start(ap, fmt);
	len = vsnprintf(r->buf + r->used, room, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= room)
		return; /* never a truncated value: the field is left out */
	r->key[r->n] = key;
	r->value[r->n] = r->buf + r->used;
	r->n++;
	r->used += (size_t)len + 1;
}

static int emit_journal(const struct audit_record *r)
{
	struct iovec iov[AUDIT_FIELDS_MAX];
	char *lines[AUDIT_FIELDS_MAX];
	int ret;

	for (size_t i = 0; i < r->n; i++) {
		if (asprintf(&lines[i], "%s=%s", r->key[i], r->value[i]) < 0) {
			for (size_t j = 0; j < i; j++)
				free(lines[j]);
			return -ENOMEM;
		}
		iov[i].iov_base = lines[i];
		iov[i].iov_len = strlen(lines[i]);
	}
	ret = sd_journal_sendv(iov, (int)r->n);
	for (size_t i = 0; i < r->n; i++)
		free(lines[i]);
	return ret;
}

/* Append s as a JSON string; false when out of room. */
static bool json_string(char *out, size_t size, size_t *pos, const char *s)
{
	size_t p = *pos;

	if (p + 1 >= size)
		return false;
	out[p++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		char esc[8];
		size_t n;

		if (*c == '"' || *c == '\\')
			n = (size_t)snprintf(esc, sizeof(esc), "\\%c", *c);
		else if (*c < 0x20 || *c == 0x7f)
			n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *c);
		else
			esc[0] = (char)*c, n = 1;
		if (p + n + 1 >= size)
			return false;
		memcpy(out + p, esc, n);
		p += n;
	}
	out[p++] = '"';
	*pos = p;
	return true;
}

/* One JSON object, one line, one write(2): concurrent readers never see half a record. */
static int emit_json(int fd, const struct audit_record *r)
{
	char line[AUDIT_BUF_SIZE * 2 + 1024];
	size_t pos = 0;

	line[pos++] = '{';
	for (size_t i = 0; i < r->n; i++) {
		if (i > 0)
			line[pos++] = ',';
		if (!json_string(line, sizeof(line) - 4, &pos, r->key[i]))
			return -E2BIG;
		line[pos++] = ':';
		if (!json_string(line, sizeof(line) - 4, &pos, r->value[i]))
			return -E2BIG;
	}
	line[pos++] = '}';
	line[pos++] = '\n';
	if (write(fd, line, pos) != (ssize_t)pos)
		return negative_errno();
	return 0;
}

int audit_emit(struct audit *a, const struct audit_record *r)
{
	if (a->sink == AUDIT_JOURNAL)
		return emit_journal(r);
	return emit_json(a->fd, r);
}
