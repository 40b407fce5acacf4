/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Restart survival through systemd's fd store (notes/03). Each listener is
 * stored as FDNAME=l-<serial>; a memfd stored as FDNAME=state maps an array of
 * slots, one per listener, written in place (plain memory writes, no syscall
 * on the decision path). A slot is filled before its listener is stored, so a
 * crash in between leaves a slot without fd, released at the next start.
 *
 * Trust: the memfd comes from systemd's store, which only msgguardd (uid 0,
 * NotifyAccess=main) can fill: it is ours. It is still checked for size and
 * magic before use, and strings are re-terminated.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "log.h"
#include "state.h"
#include "util.h"

#define STATE_MAGIC	 0x4d475354u /* "MGST" */
#define STATE_SLOT_MAGIC 0x4d47534cu /* "MGSL" */
#define STATE_VERSION	 1

struct state_header {
	uint32_t magic, version;
	uint32_t slots, slot_size;
	uint64_t next_serial;
	uint32_t high; /* slots [0, high) have been used: scans stop there (sparse memfd) */
	uint32_t pad;
};

struct state {
	int fd;
	size_t size;
	struct state_header *hdr;
	struct state_slot *slots;
};

static size_t state_size(void)
{
	return sizeof(struct state_header) + (size_t)STATE_SLOTS * sizeof(struct state_slot);
}

static bool header_valid(const struct state_header *h)
{
	return h->magic == STATE_MAGIC && h->version == STATE_VERSION && h->slots == STATE_SLOTS &&
	       h->slot_size == sizeof(struct state_slot);
}

static int state_create(void)
{
	_cleanup_close_ int fd = memfd_create("msgguard-state", MFD_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	/* Sparse: only the pages of used slots ever take memory. */
	if (ftruncate(fd, (off_t)state_size()) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

static int state_map(struct state *st)
{
	struct stat sb;
	void *p;

	if (fstat(st->fd, &sb) < 0)
		return negative_errno();
	if ((size_t)sb.st_size != state_size())
		return -EBADMSG;
	p = mmap(NULL, state_size(), PROT_READ | PROT_WRITE, MAP_SHARED, st->fd, 0);
	if (p == MAP_FAILED)
		return negative_errno();
	st->size = state_size();
	st->hdr = p;
	st->slots = (struct state_slot *)(st->hdr + 1);
	return 0;
}

static void slot_sanitize(struct state_slot *s)
{
	s->unit[sizeof(s->unit) - 1] = '\0';
	s->profile[sizeof(s->profile) - 1] = '\0';
	s->comm[sizeof(s->comm) - 1] = '\0';
}

static int state_adopt(struct state *st)
{
	if (st->hdr->magic != 0 && !header_valid(st->hdr)) {
		log_warning("stored state has an unknown format, starting afresh");
		memset(st->hdr, 0, sizeof(*st->hdr));
	}
	if (st->hdr->magic == 0) {
		*st->hdr = (struct state_header){
		    STATE_MAGIC, STATE_VERSION, STATE_SLOTS, sizeof(struct state_slot), 1, 0, 0};
		return 0;
	}
	if (st->hdr->high > STATE_SLOTS)
		st->hdr->high = STATE_SLOTS;
	for (size_t i = 0; i < st->hdr->high; i++)
		if (st->slots[i].used == STATE_SLOT_MAGIC)
			slot_sanitize(&st->slots[i]);
	return 0;
}

int state_open(int fd, struct state **ret)
{
	_cleanup_free_ struct state *st = calloc(1, sizeof(*st));
	bool fresh = fd < 0;
	int r;

	if (!st)
		return -ENOMEM;
	st->fd = fresh ? state_create() : fd;
	if (st->fd < 0)
		return st->fd;
	r = state_map(st);
	if (r == -EBADMSG && !fresh) {
		log_warning("stored state has the wrong size, starting afresh");
		close(st->fd);
		sd_notify(0, "FDSTOREREMOVE=1\nFDNAME=state");
		fresh = true;
		st->fd = state_create();
		r = st->fd < 0 ? st->fd : state_map(st);
	}
	if (r < 0) {
		close(st->fd);
		return r;
	}
	state_adopt(st);
	if (fresh && sd_pid_notify_with_fds(0, 0, "FDSTORE=1\nFDNAME=state", &st->fd, 1) < 0)
		log_warning("cannot put the state in systemd's fd store, ignoring");
	*ret = TAKE_PTR(st);
	return 0;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	munmap(st->hdr, st->size);
	close(st->fd);
	free(st);
}

struct state_slot *state_slot_new(struct state *st)
{
	for (size_t i = 0; i < STATE_SLOTS; i++) {
		struct state_slot *s = &st->slots[i];

		if (i < st->hdr->high && s->used == STATE_SLOT_MAGIC)
			continue;
		if (i >= st->hdr->high)
			st->hdr->high = (uint32_t)i + 1;
		memset(s, 0, sizeof(*s));
		s->serial = st->hdr->next_serial++;
		s->used = STATE_SLOT_MAGIC;
		return s;
	}
	return NULL;
}

void state_slot_release(struct state *st, struct state_slot *slot)
{
	(void)st;
	memset(slot, 0, sizeof(*slot));
}

struct state_slot *state_slot_find(struct state *st, uint64_t serial)
{
	for (size_t i = 0; i < st->hdr->high; i++)
		if (st->slots[i].used == STATE_SLOT_MAGIC && st->slots[i].serial == serial)
			return &st->slots[i];
	return NULL;
}

void state_release_orphans(struct state *st, bool (*has_fd)(uint64_t serial, void *u),
			   void (*gone)(const struct state_slot *slot, void *u), void *u)
{
	for (size_t i = 0; i < st->hdr->high; i++) {
		struct state_slot *s = &st->slots[i];

		if (s->used == STATE_SLOT_MAGIC && !has_fd(s->serial, u)) {
			log_info("pid %d (%s) went away while msgguardd was down", s->pid, s->comm);
			gone(s, u);
			state_slot_release(st, s);
		}
	}
}

int state_store_listener(const struct state_slot *slot, int fd)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=l-%" PRIu64, slot->serial);
	return sd_pid_notify_with_fds(0, 0, msg, &fd, 1);
}

void state_unstore_listener(const struct state_slot *slot)
{
	char msg[64];

	snprintf(msg, sizeof(msg), "FDSTOREREMOVE=1\nFDNAME=l-%" PRIu64, slot->serial);
	sd_notify(0, msg);
}

int state_parse_fdname(const char *name, uint64_t *ret)
{
	char *end;
	uint64_t v;

	if (strncmp(name, "l-", 2) != 0 || name[2] < '0' || name[2] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(name + 2, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}
