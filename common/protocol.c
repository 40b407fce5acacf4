/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pure encoding checks of the registration protocol (see protocol.h). */
#include <errno.h>
#include <string.h>

#include "protocol.h"

/* magic and version lead both messages, at the same offsets, in every version */
#define HEADER_SIZE (sizeof(uint32_t) + sizeof(uint16_t))

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

/*
 * Magic, then version, then size: a peer of another protocol version gets
 * -EPROTO ("unsupported version") rather than -EBADMSG for its other size.
 */
static int check_header(const void *buf, size_t len, size_t want)
{
	uint32_t magic;
	uint16_t version;

	if (len < HEADER_SIZE)
		return -EBADMSG;
	memcpy(&magic, buf, sizeof(magic));
	memcpy(&version, (const char *)buf + sizeof(magic), sizeof(version));
	if (magic != MG_PROTO_MAGIC)
		return -EBADMSG;
	if (version != MG_PROTO_VERSION)
		return -EPROTO;
	if (len != want)
		return -EBADMSG;
	return 0;
}

int mg_reg_request_decode(const void *buf, size_t len, struct mg_reg_request *ret)
{
	struct mg_reg_request r;
	int e = check_header(buf, len, sizeof(r));

	if (e < 0)
		return e;
	memcpy(&r, buf, sizeof(r));
	if (r.type != MG_REG_QUERY && r.type != MG_REG_REGISTER)
		return -EPROTO;
	if (r.flags != 0)
		return -EPROTO;
	if (r.kernel_allow & ~MG_KERNEL_ALLOW_VALID)
		return -EPROTO;
	if (r.type == MG_REG_QUERY && r.kernel_allow != 0)
		return -EPROTO;
	if (!nul_terminated(r.profile, sizeof(r.profile)))
		return -EINVAL;
	if (r.profile[0] && !mg_profile_name_valid(r.profile))
		return -EINVAL;
	if (r.type == MG_REG_REGISTER && !r.profile[0])
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
	int e = check_header(buf, len, sizeof(r));

	if (e < 0)
		return e;
	memcpy(&r, buf, sizeof(r));
	if (r.type != MG_REPLY_PROFILE && r.type != MG_REPLY_RESULT)
		return -EPROTO;
	if (r.status > 0)
		return -EPROTO;
	if (r.kernel_allow & ~MG_KERNEL_ALLOW_VALID)
		return -EPROTO;
	if (r.status < 0 && r.kernel_allow != 0)
		return -EPROTO;
	if (!nul_terminated(r.profile, sizeof(r.profile)) ||
	    !nul_terminated(r.message, sizeof(r.message)))
		return -EINVAL;
	if (r.status == 0 && !mg_profile_name_valid(r.profile))
		return -EINVAL;
	*ret = r;
	return 0;
}
