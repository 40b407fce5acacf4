/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fold table: open addressing, linear probing, never more than 3/4 full
 * (the caller flushes and clears when fold_get() says it is full). Trusts its
 * caller for the key's meaning; only hashes and compares bytes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fold.h"

struct fold {
	struct fold_entry *slots;
	size_t n_slots, used;	   /* n_slots: a power of two */
	struct fold_entry **order; /* used entries, in first-seen order */
	struct fold_entry *spare;  /* for fold_keep_unsent() */
};

int fold_new(size_t slots, struct fold **ret)
{
	struct fold *f = calloc(1, sizeof(*f));
	size_t n = 16;

	while (n < slots)
		n *= 2;
	if (!f)
		return -ENOMEM;
	f->slots = calloc(n, sizeof(*f->slots));
	f->order = calloc(n, sizeof(*f->order));
	f->spare = calloc(n, sizeof(*f->spare));
	if (!f->slots || !f->order || !f->spare) {
		fold_free(f);
		return -ENOMEM;
	}
	f->n_slots = n;
	*ret = f;
	return 0;
}

void fold_free(struct fold *f)
{
	if (!f)
		return;
	free(f->slots);
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
