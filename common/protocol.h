/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The registration protocol between msgguard-shim and msgguardd.
 *
 * One SOCK_SEQPACKET connection per registration, two exchanges on it:
 *
 *   1. shim -> daemon  struct mg_reg_request, type MG_REG_QUERY, no fd:
 *                      "which profile do I get, and what does it allow in the
 *                      kernel?" (profile "" lets the daemon choose)
 *      daemon -> shim  struct mg_reg_reply, type MG_REPLY_PROFILE: the chosen
 *                      profile and its kernel_allow mask (or a refusal)
 *   2. the shim builds and installs its seccomp filter with that mask, then
 *      shim -> daemon  struct mg_reg_request, type MG_REG_REGISTER, exactly one
 *                      SCM_RIGHTS fd (the listener), the profile it was
 *                      answered and the mask its filter actually compiled
 *      daemon -> shim  struct mg_reg_reply, type MG_REPLY_RESULT, and the daemon
 *                      closes the connection.
 *
 * The daemon refuses a registration that does not name the answered profile
 * and mask, or whose profile a reload changed in between (the shim then exits
 * without running the service). Both structs have a fixed size and no
 * padding; anything else is rejected. The decoders are pure (no syscalls) so
 * they can be fuzzed (tests/fuzz/fuzz-protocol.c).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define MG_PROTO_MAGIC	     0x4d475244u /* "MGRD" */
#define MG_PROTO_VERSION     2
#define MG_PROFILE_NAME_MAX  64	 /* including the terminating NUL */
#define MG_REPLY_MESSAGE_MAX 200 /* including the terminating NUL */

/*
 * kernel_allow masks: bit n = msgctl command n, n < MG_KERNEL_ALLOW_BITS (the
 * same numbering as policy/msgctl.h, whose MG_CMD_MAX it equals; checked where
 * both are included). Any other bit is malformed.
 */
#define MG_KERNEL_ALLOW_BITS  14
#define MG_KERNEL_ALLOW_VALID ((1u << MG_KERNEL_ALLOW_BITS) - 1)

enum mg_reg_type {
	MG_REG_QUERY = 1,    /* no fd; kernel_allow 0 */
	MG_REG_REGISTER = 2, /* one fd; the answered profile; the compiled mask */
};

enum mg_reply_type {
	MG_REPLY_PROFILE = 1, /* answers MG_REG_QUERY */
	MG_REPLY_RESULT = 2,  /* answers MG_REG_REGISTER; the connection then ends */
};

struct mg_reg_request {
	uint32_t magic;
	uint16_t version;
	uint16_t type;			   /* enum mg_reg_type */
	uint32_t flags;			   /* must be 0 */
	uint32_t kernel_allow;		   /* REGISTER: what the installed filter allows */
	char profile[MG_PROFILE_NAME_MAX]; /* QUERY: "" = daemon's choice; REGISTER: required */
};

struct mg_reg_reply {
	uint32_t magic;
	uint16_t version;
	uint16_t type;			    /* enum mg_reply_type: what the daemon was expecting */
	int32_t status;			    /* 0 = accepted, else -errno */
	uint32_t kernel_allow;		    /* status 0: the profile's kernel_allow; else 0 */
	char profile[MG_PROFILE_NAME_MAX];  /* status 0: the profile the daemon chose */
	char message[MG_REPLY_MESSAGE_MAX]; /* one human-readable line */
};

/*
 * Validate a received request. Trusts nothing in buf: checks magic, version
 * (before the size, so an older or newer peer is told so), size, type, flags,
 * the mask (valid bits only, 0 in a query), NUL termination, zero bytes after
 * it, and the profile name's characters (a registration must name one).
 * Returns 0 and fills *ret, or -EBADMSG / -EPROTO / -EINVAL with *ret untouched.
 */
int mg_reg_request_decode(const void *buf, size_t len, struct mg_reg_request *ret);

/*
 * The same for a reply, used by the shim: status <= 0, a refusal carries no
 * mask, an acceptance names a valid profile.
 */
int mg_reg_reply_decode(const void *buf, size_t len, struct mg_reg_reply *ret);

/* A profile name: 1..63 chars of [A-Za-z0-9_.@-]. */
int mg_profile_name_valid(const char *name);
