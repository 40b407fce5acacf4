/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Folding identical allow records: per key, the first `after` records of an
 * interval are written, the rest only counted; at the end of the interval
 * each count becomes one summary record (notify.c), so records + summary
 * counts always equal the decisions made. A fixed table, allocated once: no
 * allocation on the decision path.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zeroed, then filled: keys are compared bytewise. */
struct fold_key {
	const void *service; /* valid until the table is flushed: flush before freeing */
	const void *rule;    /* likewise, flushed before a reload frees the policy */
	uint64_t cmd_reg;
	int32_t msqid;
	int32_t queue_key;
	uint32_t euid;
	int32_t cmd; /* as classified */
	uint8_t entry, arch;
	uint8_t has_euid, has_queue, kernel_allow;
};

struct fold_entry {
	struct fold_key key;
	bool used;
	uint32_t written; /* records written individually this interval */
	uint64_t folded;  /* decisions only counted */
};

struct fold;

int fold_new(size_t slots, struct fold **ret);
void fold_free(struct fold *f);
/* The key's entry (new ones zeroed), or NULL when the table is full. */
struct fold_entry *fold_get(struct fold *f, const struct fold_key *key);
/* Entries in use, in first-seen order (i < fold_count()), for the summaries. */
size_t fold_count(const struct fold *f);
struct fold_entry *fold_nth(struct fold *f, size_t i);
void fold_clear(struct fold *f);
bool fold_empty(const struct fold *f);
