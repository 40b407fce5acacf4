/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Audit sinks and the queue in front of them. A record is built once as
 * KEY=value pairs (audit_add) and rendered per sink, so journald fields and
 * JSON keys are always the same.
 *
 * Threads: the event loop is the only producer, one writer thread the only
 * consumer. The queue is a ring of fixed slots under one mutex; the writer
 * holds no lock while it formats or writes, so a sink that blocks stalls only
 * the writer. The writer is woken when the queue stops being empty and then
 * lets records gather for up to WRITER_BATCH_MS, so a busy loop pays no
 * wake-up per decision.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "audit.h"
#include "ids.h"
#include "log.h"
#include "util.h"

#define WRITER_BATCH_MS	  50
#define STALL_SLICE_MS	  500
#define RETRY_MS	  1000 /* a failing sink is retried this often, the record kept */
#define CLOSE_GIVE_UP_MS  5000 /* at exit, a sink still failing after this loses the rest */

enum audit_sink {
	AUDIT_JOURNAL,
	AUDIT_STDERR,
	AUDIT_JSONL,
};

struct slot {
	audit_format_fn format; /* NULL: u.record is ready */
	union {
		struct audit_record record;
		unsigned char event[AUDIT_EVENT_MAX];
	} u;
};

struct audit {
	enum audit_sink sink;
	int fd; /* stderr or the jsonl file */

	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, kick;
	pthread_t writer;
	bool started, quit;
	struct slot *ring;
	unsigned capacity, head, len; /* the writer owns ring[head] while busy */
	bool busy;
	void (*stalled)(void *);
	void *stalled_data;
	/* Under lock. */
	struct audit_stats stats;
	uint64_t pending_waits, pending_waited_ms; /* not yet told in a pressure record */
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
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->not_empty, NULL);
	pthread_cond_init(&a->not_full, NULL);
	pthread_cond_init(&a->kick, NULL);
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
	r->off[r->n] = r->used;
	r->n++;
	r->used += (uint16_t)(len + 1);
}

static int emit_journal(const struct audit_record *r)
{
	struct iovec iov[AUDIT_FIELDS_MAX];
	char *lines[AUDIT_FIELDS_MAX];
	int ret;

	for (size_t i = 0; i < r->n; i++) {
		if (asprintf(&lines[i], "%s=%s", r->key[i], audit_value(r, i)) < 0) {
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
		if (!json_string(line, sizeof(line) - 4, &pos, audit_value(r, i)))
			return -E2BIG;
	}
	line[pos++] = '}';
	line[pos++] = '\n';
	if (write(fd, line, pos) != (ssize_t)pos)
		return negative_errno();
	return 0;
}

static int sink_write(struct audit *a, const struct audit_record *r)
{
	if (a->sink == AUDIT_JOURNAL)
		return emit_journal(r);
	return emit_json(a->fd, r);
}

/* Errors a later attempt cannot fix: the record itself is at fault. */
static bool error_permanent(int r)
{
	return r == -E2BIG || r == -EINVAL || r == -EMSGSIZE;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void deadline_in(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/*
 * Write one record, keeping it while the sink fails (a full disk, journald
 * gone): the queue then fills, allows fold and denials wait, and nothing is
 * lost. Only at exit does a sink that stays broken cost records, and the log
 * says how many.
 */
static int write_kept(struct audit *a, const struct audit_record *r)
{
	uint64_t first_failure = 0;
	bool warned = false;

	for (;;) {
		int ret = sink_write(a, r);

		if (ret >= 0 || error_permanent(ret))
			return ret;
		if (!warned)
			log_warning("audit: the sink fails (%s); holding records and retrying",
				    strerror(-ret));
		warned = true;
		if (!first_failure)
			first_failure = mono_ms();
		if (__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE) &&
		    mono_ms() - first_failure >= CLOSE_GIVE_UP_MS)
			return ret;
		usleep(RETRY_MS * 1000);
	}
}

static void render(const struct slot *sl, struct audit_record *out)
{
	if (!sl->format) {
		*out = sl->u.record;
		return;
	}
	audit_record_init(out);
	sl->format(sl->u.event, out);
}

static void *writer_main(void *userdata)
{
	struct audit *a = userdata;
	struct audit_record rec;

	pthread_mutex_lock(&a->lock);
	for (;;) {
		struct timespec ts;

		while (a->len == 0 && !a->quit)
			pthread_cond_wait(&a->not_empty, &a->lock);
		if (a->len == 0 && a->quit)
			break;
		/* Let a burst gather: one wake-up per batch, not per decision. */
		deadline_in(&ts, WRITER_BATCH_MS);
		while (!a->quit && a->len < a->capacity / 4 &&
		       pthread_cond_timedwait(&a->kick, &a->lock, &ts) == 0)
			;
		while (a->len > 0) {
			struct slot *sl = &a->ring[a->head];
			int r;

			a->busy = true;
			pthread_mutex_unlock(&a->lock);
			render(sl, &rec);
			r = write_kept(a, &rec);
			pthread_mutex_lock(&a->lock);
			a->busy = false;
			if (r < 0) {
				a->stats.failed++;
				log_error("audit: a record could not be written: %s", strerror(-r));
			} else {
				a->stats.written++;
			}
			a->head = (a->head + 1) % a->capacity;
			a->len--;
			pthread_cond_signal(&a->not_full);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

int audit_start(struct audit *a, unsigned capacity, void (*stalled)(void *), void *userdata)
{
	pthread_condattr_t attr;
	int r;

	a->ring = calloc(capacity, sizeof(*a->ring));
	if (!a->ring)
		return -ENOMEM;
	/* The writer's timed waits measure elapsed time, not the wall clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_destroy(&a->kick);
	pthread_cond_init(&a->kick, &attr);
	pthread_cond_destroy(&a->not_full);
	pthread_cond_init(&a->not_full, &attr);
	pthread_condattr_destroy(&attr);
	a->capacity = capacity;
	a->stats.capacity = capacity;
	a->stalled = stalled;
	a->stalled_data = userdata;
	r = -pthread_create(&a->writer, NULL, writer_main, a);
	if (r < 0)
		return r;
	a->started = true;
	return 0;
}

static void format_pressure(const void *event, struct audit_record *r)
{
	const uint64_t *v = event; /* records that waited, total ms */

	audit_add(r, "MESSAGE",
		  "audit queue full: %llu records waited %llu ms for the audit sink; "
		  "decisions were held back, no record was lost",
		  (unsigned long long)v[0], (unsigned long long)v[1]);
	audit_add(r, "MESSAGE_ID", "%s", MG_MSGID_PRESSURE);
	audit_add(r, "PRIORITY", "%d", LOG_WARNING);
	audit_add(r, "SYSLOG_IDENTIFIER", "msgguardd");
	audit_add(r, "MSGGUARD_EVENT", "audit-pressure");
	audit_add(r, "MSGGUARD_HELD", "%llu", (unsigned long long)v[0]);
	audit_add(r, "MSGGUARD_WAITED_MS", "%llu", (unsigned long long)v[1]);
}

/* Under lock, with room: put one slot at the tail. */
static void enqueue_locked(struct audit *a, audit_format_fn format, const void *event,
			   size_t size)
{
	struct slot *sl = &a->ring[(a->head + a->len) % a->capacity];

	sl->format = format;
	memcpy(format ? (void *)sl->u.event : (void *)&sl->u.record, event, size);
	a->len++;
	a->stats.queued++;
	if (a->len == 1)
		pthread_cond_signal(&a->not_empty);
	else if (a->len >= a->capacity / 4)
		pthread_cond_signal(&a->kick);
}

/* Under lock: tell about earlier waits once there is room for it. */
static void pressure_locked(struct audit *a)
{
	uint64_t v[2] = {a->pending_waits, a->pending_waited_ms};

	if (!a->pending_waits || a->len >= a->capacity)
		return;
	enqueue_locked(a, format_pressure, v, sizeof(v));
	a->pending_waits = a->pending_waited_ms = 0;
}

/* Under lock: wait until there is room, feeding the stalled() callback. */
static void wait_room_locked(struct audit *a)
{
	uint64_t start = mono_ms();

	while (a->len >= a->capacity) {
		struct timespec ts;

		deadline_in(&ts, STALL_SLICE_MS);
		pthread_cond_signal(&a->kick);
		if (pthread_cond_timedwait(&a->not_full, &a->lock, &ts) == ETIMEDOUT &&
		    a->stalled) {
			pthread_mutex_unlock(&a->lock);
			a->stalled(a->stalled_data);
			pthread_mutex_lock(&a->lock);
		}
	}
	a->stats.waits++;
	a->stats.waited_ms += mono_ms() - start;
	a->pending_waits++;
	a->pending_waited_ms += mono_ms() - start;
}

static int write_now(struct audit *a, audit_format_fn format, const void *event)
{
	struct audit_record rec;

	if (format) {
		audit_record_init(&rec);
		format(event, &rec);
		return sink_write(a, &rec);
	}
	return sink_write(a, event);
}

int audit_submit(struct audit *a, audit_format_fn format, const void *event, size_t size,
		 unsigned flags)
{
	if (format && size > AUDIT_EVENT_MAX)
		return -E2BIG;
	if (!a->started)
		return write_now(a, format, event); /* before the loop runs: startup records */
	pthread_mutex_lock(&a->lock);
	if ((flags & AUDIT_OPTIONAL) && a->len >= a->capacity * 3 / 4) {
		pthread_mutex_unlock(&a->lock);
		return -EAGAIN;
	}
	if (a->len >= a->capacity)
		wait_room_locked(a);
	enqueue_locked(a, format, event, size);
	pressure_locked(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int audit_emit(struct audit *a, const struct audit_record *r)
{
	return audit_submit(a, NULL, r, sizeof(*r), 0);
}

void audit_tick(struct audit *a)
{
	if (!a->started)
		return;
	pthread_mutex_lock(&a->lock);
	pressure_locked(a);
	pthread_mutex_unlock(&a->lock);
}

void audit_get_stats(struct audit *a, struct audit_stats *ret)
{
	pthread_mutex_lock(&a->lock);
	*ret = a->stats;
	ret->depth = a->len;
	pthread_mutex_unlock(&a->lock);
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->lock);
		pressure_locked(a);
		__atomic_store_n(&a->quit, true, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&a->not_empty);
		pthread_cond_broadcast(&a->kick);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->writer, NULL);
	}
	if (a->sink == AUDIT_JSONL && a->fd >= 0)
		close(a->fd);
	free(a->ring);
	pthread_cond_destroy(&a->not_empty);
	pthread_cond_destroy(&a->not_full);
	pthread_cond_destroy(&a->kick);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
