/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Bookkeeping of registered services; no policy and no I/O beyond close(). */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "ipcset.h"
#include "registry.h"

int registry_add(struct registry *reg, struct service *svc)
{
	if (reg->n == reg->allocated) {
		size_t want = reg->allocated ? reg->allocated * 2 : 16;
		struct service **s = reallocarray(reg->services, want, sizeof(*s));

		if (!s)
			return -ENOMEM;
		reg->services = s;
		reg->allocated = want;
	}
	reg->services[reg->n++] = svc;
	return 0;
}

static void service_free(struct service *svc)
{
	if (svc->fd >= 0)
		close(svc->fd);
	free(svc->rule_denials);
	ipcset_quota_unref(svc->quota);
	free(svc);
}

void registry_remove(struct registry *reg, struct service *svc)
{
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->services[i] != svc)
			continue;
		reg->services[i] = reg->services[--reg->n];
		break;
	}
	service_free(svc);
}

size_t registry_count_uid(const struct registry *reg, uid_t uid)
{
	size_t n = 0;

	for (size_t i = 0; i < reg->n; i++)
		n += reg->services[i]->uid == uid;
	return n;
}

void registry_clear(struct registry *reg)
{
	for (size_t i = 0; i < reg->n; i++)
		service_free(reg->services[i]);
	free(reg->services);
	*reg = (struct registry){0};
}
