/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Audit sinks and the queue in front of them. A record is built once as
 * KEY=value pairs (audit_add) and rendered per sink, so journald fields and
 * JSON keys are always the same.
 *
 * Threads: the event loop is the only producer, one writer thread the only
 * consumer. The queue is a ring of fixed slots under one mutex; the writer
 * holds no lock while it formats or writes, so a sink that blocks stalls only
 * the writer. Records gather for up to WRITER_BATCH_MS (or until the queue is
 * a quarter full), so a busy loop pays no wake-up per decision, denials
 * included: the queue survives the daemon (below), so waiting costs nothing
 * if it dies.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

#include "audit.h"
#include "ids.h"
#include "log.h"
#include "util.h"

#define WRITER_BATCH_MS	 50
#define STALL_SLICE_MS	 500
#define RETRY_MS	 1000 /* a failing sink is retried this often, the record kept */
#define CLOSE_GIVE_UP_MS 5000 /* at exit, a sink failing this long loses what is left */

enum audit_sink {
	AUDIT_JOURNAL,
	AUDIT_STDERR,
	AUDIT_JSONL,
};

/*
 * The ring lives in a memfd kept in systemd's fd store (FDNAME=audit), so the
 * records queued but not yet written when msgguardd dies (SIGKILL, a crash,
 * the watchdog) are written by the next daemon. Slots hold the event and a
 * format kind (never a function pointer, which means nothing to the next
 * binary). The loop fills a slot, then publishes it by advancing tail; the
 * writer writes it, then advances head: a crash between writing and
 * advancing head writes that record twice (marked MSGGUARD_REPLAYED=yes),
 * never zero times.
 */
#define RING_MAGIC   0x4d474152u /* "MGAR" */
#define RING_VERSION 1

struct slot {
	uint32_t kind; /* AUDIT_KIND_* */
	uint32_t size;
	union {
		struct audit_record record;
		/* Events are structs with 8-byte members: every slot keeps them aligned. */
		_Alignas(max_align_t) unsigned char event[AUDIT_EVENT_MAX];
	} u;
};

struct ring_header {
	uint32_t magic, version, capacity, slot_size;
	uint64_t head, tail; /* records consumed and produced, ever */
};

struct audit {
	enum audit_sink sink;
	int fd; /* stderr or the jsonl file */
	/* Writer only: bytes of the current jsonl line already written by a write cut short
	 * (a full disk), and whether a line was left cut when its record was given up. */
	size_t json_done;
	bool json_cut;
	uint64_t give_up_at; /* writer only: at exit, the sink's last chance (0: not yet) */

	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full, kick;
	pthread_t writer;
	bool started, quit;
	int ring_fd;
	size_t ring_size;
	struct ring_header *hdr; /* head, tail: under lock */
	struct slot *ring;
	unsigned capacity, len; /* len = tail - head; the writer owns ring[head] while busy */
	uint64_t replay_end;	/* records below this came from the previous daemon */
	bool busy;
	audit_format_fn formats[_AUDIT_KIND_MAX];
	bool urgent; /* a record that must not wait for a batch is queued */
	void (*stalled)(void *);
	void *stalled_data;
	/* Under lock. */
	struct audit_stats stats;
	uint64_t pending_waits, pending_waited_ms; /* not yet told in a pressure record */
};

static void format_pressure(const void *event, struct audit_record *r);

int audit_spec_valid(const char *spec)
{
	if (strcmp(spec, "journal") == 0 || strcmp(spec, "stderr") == 0)
		return 0;
	if (strncmp(spec, "jsonl:", 6) == 0 && spec[6] == '/')
		return 0;
	return -EINVAL;
}

/*
 * A regular file that does not end in a newline ends in a line cut short: a
 * previous msgguardd gave up on it (a full disk at exit) or was killed while
 * completing it (the record is then replayed whole). Our first line must start
 * on a line of its own. Reads the file through a second, read-only opening of
 * the same inode (the sink itself is write-only).
 */
static bool ends_cut(int fd)
{
	_cleanup_close_ int rfd = -1;
	char path[64], last;
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return false;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0 || pread(rfd, &last, 1, st.st_size - 1) != 1)
		return false;
	return last != '\n';
}

int audit_open(const char *spec, struct audit **ret)
{
	_cleanup_free_ struct audit *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	if (audit_spec_valid(spec) < 0)
		return -EINVAL;
	a->fd = -1;
	a->ring_fd = -1;
	a->formats[AUDIT_KIND_PRESSURE] = format_pressure;
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
		a->json_cut = ends_cut(a->fd);
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
	size_t klen = strlen(key) + 1, room;
	va_list ap;
	int len;

	if (r->n >= AUDIT_FIELDS_MAX || r->used + klen >= sizeof(r->buf))
		return;
	room = sizeof(r->buf) - r->used - klen;
	va_start(ap, fmt);
	len = vsnprintf(r->buf + r->used + klen, room, fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= room)
		return; /* never a truncated value: the field is left out */
	memcpy(r->buf + r->used, key, klen);
	r->koff[r->n] = r->used;
	r->off[r->n] = (uint16_t)(r->used + klen);
	r->n++;
	r->used += (uint16_t)(klen + (size_t)len + 1);
}

static int emit_journal(const struct audit_record *r)
{
	struct iovec iov[AUDIT_FIELDS_MAX];
	char *lines[AUDIT_FIELDS_MAX];
	int ret;

	for (size_t i = 0; i < r->n; i++) {
		if (asprintf(&lines[i], "%s=%s", audit_key(r, i), audit_value(r, i)) < 0) {
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

/*
 * One JSON object, one line, one write(2): concurrent readers never see half a
 * record. A full disk can cut that write short: the first part is then in the
 * file, so the retries of the same record (write_kept) write only the rest and
 * the line ends up whole, never a half line followed by the whole one.
 */
static int emit_json(struct audit *a, const struct audit_record *r)
{
	char line[AUDIT_BUF_SIZE * 2 + 1024];
	size_t pos = 0;

	if (a->json_cut) /* a record given up halfway: end its line, keep the next one whole */
		line[pos++] = '\n';
	line[pos++] = '{';
	for (size_t i = 0; i < r->n; i++) {
		if (i > 0)
			line[pos++] = ',';
		if (!json_string(line, sizeof(line) - 4, &pos, audit_key(r, i)))
			return -E2BIG;
		line[pos++] = ':';
		if (!json_string(line, sizeof(line) - 4, &pos, audit_value(r, i)))
			return -E2BIG;
	}
	line[pos++] = '}';
	line[pos++] = '\n';
	if (a->json_done >= pos)
		a->json_done = 0;
	while (a->json_done < pos) {
		ssize_t n = write(a->fd, line + a->json_done, pos - a->json_done);

		if (n < 0)
			return negative_errno(); /* write(2) failed: errno is its own */
		if (n == 0)
			return -EIO; /* retried like a failure, never spun on */
		a->json_done += (size_t)n;
	}
	a->json_done = 0;
	a->json_cut = false;
	return 0;
}

static int sink_write(struct audit *a, const struct audit_record *r)
{
	if (a->sink == AUDIT_JOURNAL)
		return emit_journal(r);
	return emit_json(a, r);
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
/* A record given up after part of its line was written: the next line starts afresh. */
static void line_abandoned(struct audit *a)
{
	if (a->json_done) {
		a->json_done = 0;
		a->json_cut = true;
	}
}

static int write_kept(struct audit *a, const struct audit_record *r)
{
	bool warned = false;

	for (;;) {
		int ret = sink_write(a, r);

		if (ret >= 0)
			return ret;
		if (error_permanent(ret)) {
			line_abandoned(a);
			return ret;
		}
		if (!warned)
			log_warning("audit: the sink fails (%s); holding records and retrying",
				    strerror(-ret));
		warned = true;
		/* At exit the sink gets CLOSE_GIVE_UP_MS in all, not per record: a dead sink
		 * must not hold the exit for minutes. */
		if (__atomic_load_n(&a->quit, __ATOMIC_ACQUIRE)) {
			if (!a->give_up_at)
				a->give_up_at = mono_ms() + CLOSE_GIVE_UP_MS;
			if (mono_ms() >= a->give_up_at) {
				line_abandoned(a);
				return ret;
			}
		}
		usleep(RETRY_MS * 1000);
	}
}

static void render(struct audit *a, const struct slot *sl, bool replayed, struct audit_record *out)
{
	if (sl->kind == AUDIT_KIND_RECORD) {
		*out = sl->u.record;
		/* The previous daemon's memory: terminate what will be printed. */
		out->n = out->n > AUDIT_FIELDS_MAX ? AUDIT_FIELDS_MAX : out->n;
		out->used = out->used > AUDIT_BUF_SIZE ? AUDIT_BUF_SIZE : out->used;
		out->buf[AUDIT_BUF_SIZE - 1] = '\0';
		for (size_t i = 0; i < out->n; i++)
			if (out->off[i] >= AUDIT_BUF_SIZE || out->koff[i] >= AUDIT_BUF_SIZE)
				out->n = (uint16_t)i;
	} else if (sl->kind < _AUDIT_KIND_MAX && a->formats[sl->kind]) {
		audit_record_init(out);
		a->formats[sl->kind](sl->u.event, out);
	} else {
		audit_record_init(out);
		audit_add(out, "MESSAGE", "audit record of unknown kind %u dropped", sl->kind);
		audit_add(out, "PRIORITY", "%d", LOG_ERR);
		audit_add(out, "SYSLOG_IDENTIFIER", "msgguardd");
	}
	if (replayed)
		audit_add(out, "MSGGUARD_REPLAYED", "yes");
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
		while (!a->quit && !a->urgent && a->len < a->capacity / 4 &&
		       pthread_cond_timedwait(&a->kick, &a->lock, &ts) == 0)
			;
		a->urgent = false;
		while (a->len > 0) {
			uint64_t seq = a->hdr->head;
			struct slot *sl = &a->ring[seq % a->capacity];
			int r;

			a->busy = true;
			pthread_mutex_unlock(&a->lock);
			render(a, sl, seq < a->replay_end, &rec);
			r = write_kept(a, &rec);
			pthread_mutex_lock(&a->lock);
			a->busy = false;
			if (r < 0) {
				a->stats.failed++;
				log_error("audit: a record could not be written: %s", strerror(-r));
			} else {
				a->stats.written++;
			}
			__atomic_store_n(&a->hdr->head, seq + 1, __ATOMIC_RELEASE);
			a->len--;
			pthread_cond_signal(&a->not_full);
		}
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static size_t ring_bytes(unsigned capacity)
{
	return sizeof(struct ring_header) + (size_t)capacity * sizeof(struct slot);
}

/* Adopt the previous daemon's ring: 0, or -EBADMSG when it is not one we can read. */
static int ring_adopt(struct audit *a, int fd)
{
	struct ring_header h;
	struct stat sb;
	void *p;

	if (fstat(fd, &sb) < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return -EBADMSG;
	if (h.magic != RING_MAGIC || h.version != RING_VERSION ||
	    h.slot_size != sizeof(struct slot) || h.capacity < 1 || h.capacity > 65536 ||
	    (size_t)sb.st_size != ring_bytes(h.capacity) || h.tail < h.head ||
	    h.tail - h.head > h.capacity)
		return -EBADMSG;
	p = mmap(NULL, ring_bytes(h.capacity), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -EBADMSG;
	a->ring_fd = fd;
	a->ring_size = ring_bytes(h.capacity);
	a->hdr = p;
	a->capacity = h.capacity;
	a->len = (unsigned)(h.tail - h.head);
	a->replay_end = h.tail;
	return 0;
}

static int ring_create(struct audit *a, unsigned capacity)
{
	_cleanup_close_ int fd = memfd_create("msgguard-audit", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return negative_errno();
	/* Sparse: slots take memory once used. */
	if (ftruncate(fd, (off_t)ring_bytes(capacity)) < 0)
		return negative_errno();
	p = mmap(NULL, ring_bytes(capacity), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return negative_errno();
	a->hdr = p;
	*a->hdr = (struct ring_header){RING_MAGIC, RING_VERSION, capacity, sizeof(struct slot)};
	a->ring_size = ring_bytes(capacity);
	a->capacity = capacity;
	a->ring_fd = TAKE_FD(fd);
	if (sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=audit", &a->ring_fd, 1) < 0)
		log_warning("cannot put the audit queue in systemd's fd store, ignoring");
	return 0;
}

void audit_set_format(struct audit *a, unsigned kind, audit_format_fn format)
{
	if (kind > AUDIT_KIND_RECORD && kind < _AUDIT_KIND_MAX)
		a->formats[kind] = format;
}

int audit_queue_open(struct audit *a, unsigned capacity, int stored_fd)
{
	int r;

	if (stored_fd >= 0 && ring_adopt(a, stored_fd) == 0) {
		if (a->len > 0)
			log_info("writing %u audit records the previous msgguardd left queued",
				 a->len);
		if (a->capacity != capacity)
			log_info(
			    "audit_queue: keeping %u from the stored queue until a clean restart",
			    a->capacity);
	} else {
		if (stored_fd >= 0) {
			log_warning("stored audit queue has an unknown format, starting afresh");
			close(stored_fd);
			sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=audit");
		}
		r = ring_create(a, capacity);
		if (r < 0)
			return r;
	}
	a->ring = (struct slot *)(a->hdr + 1);
	a->stats.capacity = a->capacity;
	return 0;
}

int audit_start(struct audit *a, void (*stalled)(void *), void *userdata)
{
	pthread_condattr_t attr;
	int r;

	if (!a->ring)
		return -EINVAL;
	/* The writer's timed waits measure elapsed time, not the wall clock. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_destroy(&a->kick);
	pthread_cond_init(&a->kick, &attr);
	pthread_cond_destroy(&a->not_full);
	pthread_cond_init(&a->not_full, &attr);
	pthread_condattr_destroy(&attr);
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
static void enqueue_locked(struct audit *a, unsigned kind, const void *event, size_t size,
			   bool urgent)
{
	uint64_t seq = a->hdr->tail;
	struct slot *sl = &a->ring[seq % a->capacity];

	sl->kind = kind;
	sl->size = (uint32_t)size;
	memcpy(kind == AUDIT_KIND_RECORD ? (void *)&sl->u.record : (void *)sl->u.event, event,
	       size);
	/* Published only once complete: a crash before this line leaves no half slot. */
	__atomic_store_n(&a->hdr->tail, seq + 1, __ATOMIC_RELEASE);
	a->len++;
	a->stats.queued++;
	if (urgent)
		a->urgent = true;
	if (a->len == 1)
		pthread_cond_signal(&a->not_empty);
	if (urgent || a->len >= a->capacity / 4)
		pthread_cond_signal(&a->kick);
}

/* Under lock: tell about earlier waits once there is room for it. */
static void pressure_locked(struct audit *a)
{
	uint64_t v[2] = {a->pending_waits, a->pending_waited_ms};

	if (!a->pending_waits || a->len >= a->capacity)
		return;
	enqueue_locked(a, AUDIT_KIND_PRESSURE, v, sizeof(v), true);
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

/* Before the writer thread runs: one attempt, no retry (a line it cuts stays cut). */
static int write_now(struct audit *a, unsigned kind, const void *event)
{
	struct audit_record rec;
	int r;

	if (kind == AUDIT_KIND_RECORD) {
		r = sink_write(a, event);
	} else if (kind >= _AUDIT_KIND_MAX || !a->formats[kind]) {
		return -EINVAL;
	} else {
		audit_record_init(&rec);
		a->formats[kind](event, &rec);
		r = sink_write(a, &rec);
	}
	if (r < 0)
		line_abandoned(a);
	return r;
}

int audit_submit(struct audit *a, unsigned kind, const void *event, size_t size, unsigned flags)
{
	if (kind >= _AUDIT_KIND_MAX || (kind != AUDIT_KIND_RECORD && size > AUDIT_EVENT_MAX))
		return -EINVAL;
	/*
	 * Before the writer runs: queued if the queue exists and has room (a stuck
	 * sink must not keep the daemon from starting), written at once otherwise.
	 */
	if (!a->started && (!a->ring || a->len >= a->capacity))
		return write_now(a, kind, event);
	pthread_mutex_lock(&a->lock);
	if ((flags & AUDIT_OPTIONAL) && a->len >= a->capacity * 3 / 4) {
		pthread_mutex_unlock(&a->lock);
		return -EAGAIN;
	}
	if (a->len >= a->capacity)
		wait_room_locked(a);
	enqueue_locked(a, kind, event, size, false);
	pressure_locked(a);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

int audit_emit(struct audit *a, const struct audit_record *r)
{
	return audit_submit(a, AUDIT_KIND_RECORD, r, sizeof(*r), 0);
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
	if (a->hdr)
		munmap(a->hdr, a->ring_size);
	if (a->ring_fd >= 0)
		close(a->ring_fd);
	pthread_cond_destroy(&a->not_empty);
	pthread_cond_destroy(&a->not_full);
	pthread_cond_destroy(&a->kick);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
