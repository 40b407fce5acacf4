/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What survives a restart of msgguardd: each listener is kept in systemd's
 * file descriptor store, and a memfd (stored too) holds one slot per listener
 * with what the daemon knows about it, plus the notification it was deciding
 * when it died, so the next daemon can answer it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define STATE_SLOTS	65536
#define STATE_NOTIF_MAX 128 /* room for struct seccomp_notif (80 bytes on 6.x) */

struct state_slot {
	uint32_t used;	   /* STATE_SLOT_MAGIC or 0 */
	uint32_t inflight; /* 1: notif holds a received, unanswered notification */
	uint64_t serial;   /* the listener's FDNAME is "l-<serial>" */
	int32_t pid;
	uint32_t uid, gid;
	char unit[256];
	char profile[64];
	char comm[64];
	/* The kernel_allow its filter was built with, | STATE_KERNEL_ALLOW_KNOWN; 0 in a slot of
	 * a daemon older than this field (it fills what was padding: the layout is unchanged). */
	uint32_t kernel_allow;
	uint64_t calls, denials;
	unsigned char notif[STATE_NOTIF_MAX];
};

_Static_assert(sizeof(struct state_slot) == 560 &&
		   offsetof(struct state_slot, kernel_allow) == 412 &&
		   offsetof(struct state_slot, calls) == 416,
	       "state slots keep their layout across versions");
#define STATE_KERNEL_ALLOW_KNOWN (1u << 31)

struct state;

/*
 * Map the stored state memfd (fd >= 0, taken over) or create a new one and
 * hand it to systemd's fd store (when running under systemd).
 */
int state_open(int fd, struct state **ret);
void state_close(struct state *st);

/* A free slot with a fresh serial, or NULL when all are taken. */
struct state_slot *state_slot_new(struct state *st);
void state_slot_release(struct state *st, struct state_slot *slot);
/* The used slot with this serial, or NULL. */
struct state_slot *state_slot_find(struct state *st, uint64_t serial);
/* Slots that were used but got no listener back: gone(slot, u) is told, then they are released. */
void state_release_orphans(struct state *st, bool (*has_fd)(uint64_t serial, void *u),
			   void (*gone)(const struct state_slot *slot, void *u), void *u);

/* Put a listener in systemd's fd store / take it out. No-ops without systemd. */
int state_store_listener(const struct state_slot *slot, int fd);
void state_unstore_listener(const struct state_slot *slot);
/* "l-<serial>" -> serial; -EINVAL for other names. */
int state_parse_fdname(const char *name, uint64_t *ret);
