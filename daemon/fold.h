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

/*
 * Zeroed, then filled: keys are compared bytewise. Values only (no pointer):
 * an entry outlives its service and the policy generation it was made under.
 */
struct fold_key {
	uint64_t service; /* the registration's serial (state slot): never reused */
	uint64_t policy_gen;
	int32_t rule; /* index in that policy's rules, -1: the default, -2: kernel_allow */
	uint64_t cmd_reg;
	int32_t msqid;
	int32_t queue_key;
	uint32_t euid;
	int32_t cmd; /* as classified */
	uint8_t entry, arch;
	uint8_t has_euid, has_queue;
};

struct fold_entry {
	struct fold_key key;
	bool used;
	bool named;	  /* the names below are filled (by the caller, once) */
	uint32_t written; /* records written individually this interval */
	uint64_t folded;  /* decisions only counted */
	/* What the summary says, copied when the entry is made. */
	char profile[64], rule[64], unit[256];
	int32_t service_pid;
};

struct fold;

/*
 * A table of at least slots entries, in a memfd put in systemd's fd store as
 * "fold" (stored_fd: the previous daemon's, taken over; -1 for none).
 */
int fold_new(size_t slots, int stored_fd, struct fold **ret);
/* True once if the entries came from the previous daemon (their summaries are due). */
bool fold_restored(struct fold *f);
void fold_free(struct fold *f);
/* The key's entry (new ones zeroed), or NULL when the table is full. */
struct fold_entry *fold_get(struct fold *f, const struct fold_key *key);
/* Entries in use, in first-seen order (i < fold_count()), for the summaries. */
size_t fold_count(const struct fold *f);
struct fold_entry *fold_nth(struct fold *f, size_t i);
void fold_clear(struct fold *f);
/* Keep only the entries whose folded count is not zero (their summary is still due). */
void fold_keep_unsent(struct fold *f);
bool fold_empty(const struct fold *f);
