/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pure encoding checks of the registration protocol (see protocol.h). */
#include <errno.h>
#include <string.h>

#include "protocol.h"

int mg_profile_name_valid(const char *name)
{
	size_t n = 0;

	for (const char *p = name; *p; p++, n++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.' || c == '@'))
			return 0;
	}
	return n > 0 && n < MG_PROFILE_NAME_MAX;
}

static int nul_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

int mg_reg_request_decode(const void *buf, size_t len, struct mg_reg_request *ret)
{
	struct mg_reg_request r;

	if (len != sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != MG_PROTO_MAGIC)
		return -EBADMSG;
	if (r.version != MG_PROTO_VERSION)
		return -EPROTO;
	if (r.flags != 0)
		return -EPROTO;
	if (!nul_terminated(r.profile, sizeof(r.profile)))
		return -EINVAL;
	if (r.profile[0] && !mg_profile_name_valid(r.profile))
		return -EINVAL;
	/* Bytes after the NUL must be zero: one encoding per request. */
	for (size_t i = strlen(r.profile); i < sizeof(r.profile); i++)
		if (r.profile[i])
			return -EINVAL;
	*ret = r;
	return 0;
}

int mg_reg_reply_decode(const void *buf, size_t len, struct mg_reg_reply *ret)
{
	struct mg_reg_reply r;

	if (len != sizeof(r))
		return -EBADMSG;
	memcpy(&r, buf, sizeof(r));
	if (r.magic != MG_PROTO_MAGIC)
		return -EBADMSG;
	if (r.status > 0)
		return -EPROTO;
	if (!nul_terminated(r.profile, sizeof(r.profile)) ||
	    !nul_terminated(r.message, sizeof(r.message)))
		return -EINVAL;
	*ret = r;
	return 0;
}
