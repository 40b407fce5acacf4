/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the registration message decoders (common/protocol.c), the
 * only code that reads what an untrusted peer sends on the socket.
 *
 * Each decoder gets the input as is (any length, as received) and then the
 * input cut or zero-padded to the message's exact size, so the fuzzer reaches
 * the field checks without having to guess the length. What a decoder accepts
 * must hold up: NUL-terminated strings, a valid profile name (required in a
 * registration and an acceptance), a known type, kernel_allow bits below
 * MG_KERNEL_ALLOW_BITS only (none in a query or a refusal), status <= 0, and
 * decoding the decoded message again gives the same result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "protocol.h"

#define NAME_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.@"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz-protocol: contract broken: %s\n", what);
		abort();
	}
}

/* A heap copy of exactly len bytes: the sanitizers see any read beyond it. */
static void *copy_exact(const uint8_t *data, size_t size, size_t len)
{
	void *buf = malloc(len ? len : 1);

	check(buf != NULL, "malloc");
	memset(buf, 0, len);
	memcpy(buf, data, size < len ? size : len);
	return buf;
}

static void request(const void *buf, size_t len)
{
	struct mg_reg_request m, again;
	int r;

	memset(&m, 0xaa, sizeof(m));
	r = mg_reg_request_decode(buf, len, &m);
	if (r != 0) {
		check(r == -EBADMSG || r == -EPROTO || r == -EINVAL, "request: return value");
		return;
	}
	check(len == sizeof(m), "request: accepted with the wrong size");
	check(m.magic == MG_PROTO_MAGIC && m.version == MG_PROTO_VERSION && m.flags == 0,
	      "request: header");
	check(m.type == MG_REG_QUERY || m.type == MG_REG_REGISTER, "request: type");
	check(!(m.kernel_allow & ~MG_KERNEL_ALLOW_VALID), "request: kernel_allow bits");
	check(m.type != MG_REG_QUERY || m.kernel_allow == 0, "request: query with a mask");
	check(memchr(m.profile, '\0', sizeof(m.profile)) != NULL,
	      "request: profile not terminated");
	check(m.profile[0] == '\0' || mg_profile_name_valid(m.profile), "request: profile name");
	check(m.type != MG_REG_REGISTER || m.profile[0], "request: registration without profile");
	check(mg_reg_request_decode(&m, sizeof(m), &again) == 0 &&
		  memcmp(&m, &again, sizeof(m)) == 0,
	      "request: decoding again differs");
}

static void reply(const void *buf, size_t len)
{
	struct mg_reg_reply m, again;
	int r;

	memset(&m, 0xaa, sizeof(m));
	r = mg_reg_reply_decode(buf, len, &m);
	if (r != 0) {
		check(r == -EBADMSG || r == -EPROTO || r == -EINVAL, "reply: return value");
		return;
	}
	check(len == sizeof(m), "reply: accepted with the wrong size");
	check(m.magic == MG_PROTO_MAGIC && m.version == MG_PROTO_VERSION && m.status <= 0,
	      "reply: header");
	check(m.type == MG_REPLY_PROFILE || m.type == MG_REPLY_RESULT, "reply: type");
	check(!(m.kernel_allow & ~MG_KERNEL_ALLOW_VALID), "reply: kernel_allow bits");
	check(m.status == 0 || m.kernel_allow == 0, "reply: a refusal with a mask");
	check(m.status < 0 || mg_profile_name_valid(m.profile), "reply: accepted without profile");
	check(memchr(m.profile, '\0', sizeof(m.profile)) != NULL, "reply: profile not terminated");
	check(memchr(m.message, '\0', sizeof(m.message)) != NULL, "reply: message not terminated");
	check(mg_reg_reply_decode(&m, sizeof(m), &again) == 0 && memcmp(&m, &again, sizeof(m)) == 0,
	      "reply: decoding again differs");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	void *buf;

	/* As received: any length. */
	buf = copy_exact(data, size, size);
	request(buf, size);
	reply(buf, size);
	free(buf);

	/* Cut or padded to each message's size. */
	buf = copy_exact(data, size, sizeof(struct mg_reg_request));
	request(buf, sizeof(struct mg_reg_request));
	free(buf);
	buf = copy_exact(data, size, sizeof(struct mg_reg_reply));
	reply(buf, sizeof(struct mg_reg_reply));
	free(buf);

	/* Valid names only come out of the name check. */
	if (size > 0 && size < 256) {
		char name[256];
		size_t n;

		memcpy(name, data, size);
		name[size] = '\0';
		n = strlen(name);
		if (mg_profile_name_valid(name))
			check(n >= 1 && n < MG_PROFILE_NAME_MAX && strspn(name, NAME_CHARS) == n,
			      "profile name check");
	}
	return 0;
}
