/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registration protocol between msgguard-shim and msgguardd.
 *
 * One SOCK_SEQPACKET connection per registration. The shim sends exactly one
 * struct mg_reg_request with exactly one SCM_RIGHTS fd (its seccomp listener);
 * the daemon answers with one struct mg_reg_reply and closes the connection.
 * Both structs have a fixed size; anything else is rejected. The decoder is
 * pure (no syscalls) so it can be fuzzed.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MG_PROTO_MAGIC	     0x4d475244u /* "MGRD" */
#define MG_PROTO_VERSION     1
#define MG_PROFILE_NAME_MAX  64	 /* including the terminating NUL */
#define MG_REPLY_MESSAGE_MAX 200 /* including the terminating NUL */

struct mg_reg_request {
	uint32_t magic;
	uint16_t version;
	uint16_t flags;			   /* must be 0 */
	char profile[MG_PROFILE_NAME_MAX]; /* "" = let the daemon choose */
};

struct mg_reg_reply {
	uint32_t magic;
	int32_t status;			    /* 0 = accepted, else -errno */
	char profile[MG_PROFILE_NAME_MAX];  /* profile the daemon chose */
	char message[MG_REPLY_MESSAGE_MAX]; /* one human-readable line */
};

/*
 * Validate a received request. Trusts nothing in buf: checks size, magic,
 * version, flags, NUL termination and the profile name's characters.
 * Returns 0 and fills *ret, or -EBADMSG / -EPROTO / -EINVAL with *ret untouched.
 */
int mg_reg_request_decode(const void *buf, size_t len, struct mg_reg_request *ret);

/* Same checks for a reply, used by the shim. */
int mg_reg_reply_decode(const void *buf, size_t len, struct mg_reg_reply *ret);

/* A profile name: 1..63 chars of [A-Za-z0-9_.@-]. */
int mg_profile_name_valid(const char *name);
