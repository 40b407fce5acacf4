/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fold table: open addressing, linear probing, never more than 3/4 full
 * (the caller flushes and clears when fold_get() says it is full). Trusts its
 * caller for the key's meaning; only hashes and compares bytes.
 *
 * The entries live in a memfd kept in systemd's fd store (FDNAME=fold), like
 * the audit queue: counts of allows not yet summarized survive a daemon that
 * is killed, and the next one writes their summaries (fold_restored()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "fold.h"
#include "log.h"
#include "util.h"

#define FOLD_MAGIC   0x4d47464cu /* "MGFL" */
#define FOLD_VERSION 1

struct fold_header {
	uint32_t magic, version, n_slots, entry_size;
};

struct fold {
	int fd;
	size_t map_size;
	struct fold_header *hdr;
	struct fold_entry *slots;
	size_t n_slots, used;	   /* n_slots: a power of two */
	struct fold_entry **order; /* used entries, in first-seen order */
	struct fold_entry *spare;  /* for fold_keep_unsent() */
	bool restored;		   /* the entries came from the previous daemon */
};

static size_t map_bytes(size_t n)
{
	return sizeof(struct fold_header) + n * sizeof(struct fold_entry);
}

/* The previous daemon's table, if it is one we can read. */
static bool fold_adopt(struct fold *f, int fd)
{
	struct fold_header h;
	struct stat sb;
	void *p;

	if (fstat(fd, &sb) < 0 || pread(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return false;
	if (h.magic != FOLD_MAGIC || h.version != FOLD_VERSION || h.n_slots != f->n_slots ||
	    h.entry_size != sizeof(struct fold_entry) || (size_t)sb.st_size != map_bytes(h.n_slots))
		return false;
	p = mmap(NULL, map_bytes(f->n_slots), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return false;
	f->fd = fd;
	f->hdr = p;
	return true;
}

static int fold_create(struct fold *f)
{
	_cleanup_close_ int fd = memfd_create("msgguard-fold", MFD_CLOEXEC);
	void *p;

	if (fd < 0)
		return negative_errno();
	if (ftruncate(fd, (off_t)map_bytes(f->n_slots)) < 0)
		return negative_errno();
	p = mmap(NULL, map_bytes(f->n_slots), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return negative_errno();
	f->hdr = p;
	*f->hdr = (struct fold_header){FOLD_MAGIC, FOLD_VERSION, (uint32_t)f->n_slots,
				       sizeof(struct fold_entry)};
	f->fd = TAKE_FD(fd);
	if (sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=fold", &f->fd, 1) < 0)
		log_warning("cannot put the audit fold table in systemd's fd store, ignoring");
	return 0;
}

/* Entries found in an adopted table: re-linked, their strings re-terminated. */
static void fold_relink(struct fold *f)
{
	for (size_t i = 0; i < f->n_slots; i++) {
		struct fold_entry *e = &f->slots[i];

		if (!e->used)
			continue;
		e->profile[sizeof(e->profile) - 1] = '\0';
		e->rule[sizeof(e->rule) - 1] = '\0';
		e->unit[sizeof(e->unit) - 1] = '\0';
		if (f->used >= f->n_slots / 4 * 3) {
			e->used = false; /* more than we ever fill: not ours */
			continue;
		}
		f->order[f->used++] = e;
		f->restored = true;
	}
}

int fold_new(size_t slots, int stored_fd, struct fold **ret)
{
	struct fold *f = calloc(1, sizeof(*f));
	size_t n = 16;
	int r;

	while (n < slots)
		n *= 2;
	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->n_slots = n;
	f->order = calloc(n, sizeof(*f->order));
	f->spare = calloc(n, sizeof(*f->spare));
	if (!f->order || !f->spare) {
		fold_free(f);
		return -ENOMEM;
	}
	if (stored_fd >= 0 && !fold_adopt(f, stored_fd)) {
		log_warning("stored audit fold table has an unknown format, starting afresh");
		close(stored_fd);
		sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=fold");
		stored_fd = -1;
	}
	if (stored_fd < 0) {
		r = fold_create(f);
		if (r < 0) {
			fold_free(f);
			return r;
		}
	}
	f->map_size = map_bytes(n);
	f->slots = (struct fold_entry *)(f->hdr + 1);
	fold_relink(f);
	*ret = f;
	return 0;
}

bool fold_restored(struct fold *f)
{
	bool r = f->restored;

	f->restored = false;
	return r;
}

void fold_free(struct fold *f)
{
	if (!f)
		return;
	if (f->hdr)
		munmap(f->hdr, f->map_size);
	if (f->fd >= 0)
		close(f->fd);
	free(f->order);
	free(f->spare);
	free(f);
}

/* FNV-1a over the key's bytes. */
static size_t key_hash(const struct fold_key *k)
{
	const unsigned char *p = (const unsigned char *)k;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

struct fold_entry *fold_get(struct fold *f, const struct fold_key *key)
{
	size_t mask = f->n_slots - 1;

	for (size_t i = key_hash(key) & mask;; i = (i + 1) & mask) {
		struct fold_entry *e = &f->slots[i];

		if (e->used && memcmp(&e->key, key, sizeof(*key)) == 0)
			return e;
		if (e->used)
			continue;
		if (f->used >= f->n_slots / 4 * 3)
			return NULL;
		*e = (struct fold_entry){.key = *key, .used = true};
		f->order[f->used++] = e;
		return e;
	}
}

size_t fold_count(const struct fold *f)
{
	return f->used;
}

struct fold_entry *fold_nth(struct fold *f, size_t i)
{
	return f->order[i];
}

void fold_clear(struct fold *f)
{
	for (size_t i = 0; i < f->used; i++)
		f->order[i]->used = false;
	f->used = 0;
}

void fold_keep_unsent(struct fold *f)
{
	size_t n = 0;

	for (size_t i = 0; i < f->used; i++)
		if (f->order[i]->folded)
			f->spare[n++] = *f->order[i];
	fold_clear(f);
	for (size_t i = 0; i < n; i++) {
		struct fold_entry *e = fold_get(f, &f->spare[i].key); /* fits: fewer than before */

		*e = f->spare[i];
		e->written = 0; /* a new interval */
	}
}

bool fold_empty(const struct fold *f)
{
	return f->used == 0;
}
