/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the registration protocol codec (common/protocol.c). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "protocol.h"
#include "tap.h"

#define MG_IPC_STAT_BIT 2 /* policy/msgctl.h MG_IPC_STAT */

/* A buffer larger than either message, so "long" inputs are real bytes. */
static unsigned char buf[1024];

/* A query (profile may be "") */
static struct mg_reg_request good_request(const char *profile)
{
	struct mg_reg_request r;

	memset(&r, 0, sizeof(r));
	r.magic = MG_PROTO_MAGIC;
	r.version = MG_PROTO_VERSION;
	r.type = MG_REG_QUERY;
	r.flags = 0;
	strncpy(r.profile, profile, sizeof(r.profile) - 1);
	return r;
}

static struct mg_reg_request good_registration(const char *profile, uint32_t kernel_allow)
{
	struct mg_reg_request r = good_request(profile);

	r.type = MG_REG_REGISTER;
	r.kernel_allow = kernel_allow;
	return r;
}

static struct mg_reg_reply good_reply(int32_t status, const char *profile, const char *msg)
{
	struct mg_reg_reply r;

	memset(&r, 0, sizeof(r));
	r.magic = MG_PROTO_MAGIC;
	r.version = MG_PROTO_VERSION;
	r.type = MG_REPLY_RESULT;
	r.status = status;
	strncpy(r.profile, profile, sizeof(r.profile) - 1);
	strncpy(r.message, msg, sizeof(r.message) - 1);
	return r;
}

static const char *rc_name(int rc)
{
	switch (rc) {
	case 0:
		return "0";
	case -EBADMSG:
		return "-EBADMSG";
	case -EPROTO:
		return "-EPROTO";
	case -EINVAL:
		return "-EINVAL";
	default:
		return "?";
	}
}

/* A printable rendering of a test name (static buffer). */
static const char *escape(const char *s)
{
	static char out[256];
	size_t n = 0;

	for (; *s && n + 5 < sizeof(out); s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[n++] = (char)c;
		else
			n += (size_t)snprintf(out + n, sizeof(out) - n, "\\x%02x", c);
	}
	out[n] = '\0';
	return out;
}

/* Decode len bytes of r (the rest of the buffer is 0xa5) and check the result, and that a
 * failure leaves *ret untouched. */
static void req_case(const struct mg_reg_request *r, size_t len, int want, const char *what)
{
	struct mg_reg_request out;
	int rc;

	memset(buf, 0xa5, sizeof(buf));
	memcpy(buf, r, sizeof(*r) < len ? sizeof(*r) : len);
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_request_decode(buf, len, &out);
	is_int(rc, want, "request: %s -> %s", what, rc_name(want));
	if (want != 0) {
		unsigned char sentinel[sizeof(out)];

		memset(sentinel, 0x5a, sizeof(sentinel));
		ok(memcmp(&out, sentinel, sizeof(out)) == 0, "request: %s leaves *ret untouched",
		   what);
	}
}

static void reply_case(const struct mg_reg_reply *r, size_t len, int want, const char *what)
{
	struct mg_reg_reply out;
	int rc;

	memset(buf, 0xa5, sizeof(buf));
	memcpy(buf, r, sizeof(*r) < len ? sizeof(*r) : len);
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_reply_decode(buf, len, &out);
	is_int(rc, want, "reply: %s -> %s", what, rc_name(want));
	if (want != 0) {
		unsigned char sentinel[sizeof(out)];

		memset(sentinel, 0x5a, sizeof(sentinel));
		ok(memcmp(&out, sentinel, sizeof(out)) == 0, "reply: %s leaves *ret untouched",
		   what);
	}
}

static void test_sizes(void)
{
	/* The wire format is fixed: no padding that could carry uninitialised bytes. */
	is_int(sizeof(struct mg_reg_request), 4 + 2 + 2 + 4 + 4 + MG_PROFILE_NAME_MAX,
	       "sizeof(struct mg_reg_request) has no padding");
	is_int(sizeof(struct mg_reg_reply),
	       4 + 2 + 2 + 4 + 4 + MG_PROFILE_NAME_MAX + MG_REPLY_MESSAGE_MAX,
	       "sizeof(struct mg_reg_reply) has no padding");
	is_int(offsetof(struct mg_reg_request, version), 4,
	       "request: version at offset 4 (v1 too)");
	is_int(offsetof(struct mg_reg_reply, version), 4, "reply: version at offset 4");
}

static void test_request(void)
{
	struct mg_reg_request r, out;
	int rc;

	/* good messages */
	r = good_request("default");
	memcpy(buf, &r, sizeof(r));
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_request_decode(buf, sizeof(r), &out);
	is_int(rc, 0, "request: good message with profile 'default' -> 0");
	ok(out.magic == MG_PROTO_MAGIC && out.version == MG_PROTO_VERSION && out.flags == 0,
	   "request: decoded header fields");
	ok(strcmp(out.profile, "default") == 0, "request: decoded profile is 'default'");
	ok(memcmp(&out, &r, sizeof(r)) == 0, "request: decoded struct equals the sent one");

	r = good_request("");
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_request_decode(&r, sizeof(r), &out);
	is_int(rc, 0, "request: empty profile (daemon chooses) -> 0");
	ok(out.profile[0] == '\0', "request: decoded empty profile");

	r = good_request("web-1_x.service@A9");
	req_case(&r, sizeof(r), 0, "profile with every allowed punctuation");

	{
		char name[MG_PROFILE_NAME_MAX];

		memset(name, 'n', MG_PROFILE_NAME_MAX - 1);
		name[MG_PROFILE_NAME_MAX - 1] = '\0';
		r = good_request(name);
		req_case(&r, sizeof(r), 0, "63-char profile (longest)");
	}

	/* wrong size */
	r = good_request("default");
	req_case(&r, 0, -EBADMSG, "empty message");
	req_case(&r, 1, -EBADMSG, "1 byte");
	req_case(&r, sizeof(r) / 2, -EBADMSG, "half a message");
	req_case(&r, sizeof(r) - 1, -EBADMSG, "one byte short");
	req_case(&r, sizeof(r) + 1, -EBADMSG, "one byte long");
	req_case(&r, sizeof(struct mg_reg_reply), -EBADMSG, "reply-sized message");

	/* magic */
	r = good_request("default");
	r.magic = 0;
	req_case(&r, sizeof(r), -EBADMSG, "magic 0");
	r.magic = __builtin_bswap32(MG_PROTO_MAGIC);
	req_case(&r, sizeof(r), -EBADMSG, "byte-swapped magic");
	r.magic = MG_PROTO_MAGIC ^ 1;
	req_case(&r, sizeof(r), -EBADMSG, "magic off by one bit");

	/* version */
	r = good_request("default");
	r.version = 0;
	req_case(&r, sizeof(r), -EPROTO, "version 0");
	r.version = MG_PROTO_VERSION + 1;
	req_case(&r, sizeof(r), -EPROTO, "next version");
	r.version = 1;
	req_case(&r, sizeof(r), -EPROTO, "version 1");
	r.version = 0xffff;
	req_case(&r, sizeof(r), -EPROTO, "version 0xffff");
	{
		/* A version 1 request: magic, version 1, flags, profile (72 bytes). */
		unsigned char v1[72] = {0};
		uint32_t magic = MG_PROTO_MAGIC;

		memcpy(v1, &magic, 4);
		v1[4] = 1;
		memcpy(v1 + 8, "default", 7);
		memset(&out, 0x5a, sizeof(out));
		is_int(mg_reg_request_decode(v1, sizeof(v1), &out), -EPROTO,
		       "request: a version 1 peer (72 bytes) -> -EPROTO, not -EBADMSG");
	}
	req_case(&r, 5, -EBADMSG, "5 bytes: magic and half a version");

	/* flags */
	r = good_request("default");
	r.flags = 1;
	req_case(&r, sizeof(r), -EPROTO, "flags 1");
	r.flags = 0x80000000;
	req_case(&r, sizeof(r), -EPROTO, "flags 0x80000000");

	/* type */
	r = good_request("default");
	r.type = 0;
	req_case(&r, sizeof(r), -EPROTO, "type 0");
	r.type = 3;
	req_case(&r, sizeof(r), -EPROTO, "type 3");
	r.type = 0x8001;
	req_case(&r, sizeof(r), -EPROTO, "type 0x8001");

	/* kernel_allow */
	r = good_request("default");
	r.kernel_allow = 1u << MG_IPC_STAT_BIT;
	req_case(&r, sizeof(r), -EPROTO, "query with a kernel_allow mask");
	r = good_registration("default", 0);
	req_case(&r, sizeof(r), 0, "registration, kernel_allow 0");
	r = good_registration("default", MG_KERNEL_ALLOW_VALID);
	req_case(&r, sizeof(r), 0, "registration, every kernel_allow bit");
	r = good_registration("web", 1u << MG_IPC_STAT_BIT | 1u << 11);
	req_case(&r, sizeof(r), 0, "registration, IPC_STAT MSG_STAT");
	r = good_registration("default", 1u << MG_KERNEL_ALLOW_BITS);
	req_case(&r, sizeof(r), -EPROTO, "registration, kernel_allow bit 14");
	r = good_registration("default", 0x80000000u);
	req_case(&r, sizeof(r), -EPROTO, "registration, kernel_allow bit 31");
	r = good_registration("", 0);
	req_case(&r, sizeof(r), -EINVAL, "registration without a profile name");
	r = good_registration("a/b", 0);
	req_case(&r, sizeof(r), -EINVAL, "registration with an invalid profile name");

	/* profile encoding */
	r = good_request("");
	memset(r.profile, 'a', sizeof(r.profile));
	req_case(&r, sizeof(r), -EINVAL, "unterminated profile (64 x 'a')");

	r = good_request("default");
	r.profile[sizeof(r.profile) - 1] = 'x';
	req_case(&r, sizeof(r), -EINVAL, "byte in the last profile slot after the NUL");

	r = good_request("default");
	r.profile[8] = 'x'; /* "default\0x..." */
	req_case(&r, sizeof(r), -EINVAL, "byte right after the NUL");

	r = good_request("");
	r.profile[5] = 'x'; /* empty name, junk behind it */
	req_case(&r, sizeof(r), -EINVAL, "empty profile with junk after the NUL");

	static const char *const bad_names[] = {
	    "a b", "a/b",   "../etc", "a\tb",	     "a\nb", "a;b",  "a:b",
	    "a=b", "\"q\"", "a*",     "caf\xc3\xa9", "\x7f", "\x01", "a\\b",
	};
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		char what[128];

		r = good_request(bad_names[i]);
		snprintf(what, sizeof(what), "invalid profile chars ('%s')", escape(bad_names[i]));
		req_case(&r, sizeof(r), -EINVAL, what);
	}

	/* header checks come before the profile checks (and cannot be hidden by them) */
	r = good_request("");
	memset(r.profile, 'a', sizeof(r.profile));
	r.magic = 0;
	req_case(&r, sizeof(r), -EBADMSG, "bad magic and unterminated profile");
}

static void test_reply(void)
{
	struct mg_reg_reply r, out;
	int rc;

	r = good_reply(0, "default", "registered with profile default");
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_reply_decode(&r, sizeof(r), &out);
	is_int(rc, 0, "reply: status 0 -> 0");
	ok(out.status == 0 && strcmp(out.profile, "default") == 0 &&
	       strcmp(out.message, "registered with profile default") == 0,
	   "reply: decoded status, profile and message");

	r = good_reply(-ENOENT, "", "unknown profile 'nope'");
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_reply_decode(&r, sizeof(r), &out);
	is_int(rc, 0, "reply: status -ENOENT -> 0 (a refusal is a valid reply)");
	is_int(out.status, -ENOENT, "reply: decoded negative status");

	r = good_reply(INT32_MIN, "", "x");
	reply_case(&r, sizeof(r), 0, "status INT32_MIN");

	r = good_reply(1, "default", "ok");
	reply_case(&r, sizeof(r), -EPROTO, "positive status 1");
	r = good_reply(INT32_MAX, "default", "ok");
	reply_case(&r, sizeof(r), -EPROTO, "positive status INT32_MAX");
	r = good_reply(EPERM, "default", "ok");
	reply_case(&r, sizeof(r), -EPROTO, "positive errno as status");

	r = good_reply(0, "default", "ok");
	reply_case(&r, 0, -EBADMSG, "empty message");
	reply_case(&r, sizeof(r) - 1, -EBADMSG, "one byte short");
	reply_case(&r, sizeof(r) + 1, -EBADMSG, "one byte long");
	reply_case(&r, sizeof(struct mg_reg_request), -EBADMSG, "request-sized message");

	r = good_reply(0, "default", "ok");
	r.magic = 0;
	reply_case(&r, sizeof(r), -EBADMSG, "magic 0");
	r.magic = __builtin_bswap32(MG_PROTO_MAGIC);
	reply_case(&r, sizeof(r), -EBADMSG, "byte-swapped magic");

	r = good_reply(0, "default", "ok");
	memset(r.profile, 'p', sizeof(r.profile));
	reply_case(&r, sizeof(r), -EINVAL, "unterminated profile");

	r = good_reply(0, "default", "ok");
	memset(r.message, 'm', sizeof(r.message));
	reply_case(&r, sizeof(r), -EINVAL, "unterminated message");

	/* version, type */
	r = good_reply(0, "default", "ok");
	r.version = 1;
	reply_case(&r, sizeof(r), -EPROTO, "version 1");
	r.version = MG_PROTO_VERSION + 1;
	reply_case(&r, sizeof(r), -EPROTO, "next version");
	r = good_reply(0, "default", "ok");
	r.type = MG_REPLY_PROFILE;
	reply_case(&r, sizeof(r), 0, "type PROFILE (the answer to a query)");
	r.type = 0;
	reply_case(&r, sizeof(r), -EPROTO, "type 0");
	r.type = 3;
	reply_case(&r, sizeof(r), -EPROTO, "type 3");

	/* kernel_allow */
	r = good_reply(0, "default", "ok");
	r.kernel_allow = 1u << MG_IPC_STAT_BIT;
	memset(&out, 0x5a, sizeof(out));
	rc = mg_reg_reply_decode(&r, sizeof(r), &out);
	ok(rc == 0 && out.kernel_allow == 1u << MG_IPC_STAT_BIT,
	   "reply: kernel_allow IPC_STAT decoded");
	r.kernel_allow = MG_KERNEL_ALLOW_VALID;
	reply_case(&r, sizeof(r), 0, "every kernel_allow bit");
	r.kernel_allow = 1u << MG_KERNEL_ALLOW_BITS;
	reply_case(&r, sizeof(r), -EPROTO, "kernel_allow bit 14");
	r = good_reply(-ENOENT, "", "no");
	r.kernel_allow = 1u << MG_IPC_STAT_BIT;
	reply_case(&r, sizeof(r), -EPROTO, "a refusal with a kernel_allow mask");

	/* an acceptance names a valid profile */
	r = good_reply(0, "", "ok");
	reply_case(&r, sizeof(r), -EINVAL, "status 0 without a profile");
	r = good_reply(0, "a b", "ok");
	reply_case(&r, sizeof(r), -EINVAL, "status 0 with an invalid profile name");
}

static void test_name_valid(void)
{
	static const char *const good[] = {
	    "default", "a",	     "Z",	    "0",   "web-1", "web_1",
	    "a.b",     "getty@tty1", "A-Z.a_z@0-9", "...", "-",
	};
	static const char *const bad[] = {
	    "",	    " ",    "a b", "a/b", "/",	 "a\n", "\ta",	       "a;b",  "a#b",
	    "a[b]", "a\"b", "a'b", "a,b", "a+b", "a%b", "caf\xc3\xa9", "\xff", "\x7f",
	};
	char name[MG_PROFILE_NAME_MAX + 2];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		is_int(mg_profile_name_valid(good[i]) != 0, 1, "name_valid('%s') != 0", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(mg_profile_name_valid(bad[i]), 0, "name_valid('%s') == 0", escape(bad[i]));

	memset(name, 'x', sizeof(name));
	name[MG_PROFILE_NAME_MAX - 1] = '\0';
	is_int(mg_profile_name_valid(name) != 0, 1, "name_valid(63 chars) != 0");
	name[MG_PROFILE_NAME_MAX - 1] = 'x';
	name[MG_PROFILE_NAME_MAX] = '\0';
	is_int(mg_profile_name_valid(name), 0, "name_valid(64 chars, overlong) == 0");
	name[MG_PROFILE_NAME_MAX] = 'x';
	name[MG_PROFILE_NAME_MAX + 1] = '\0';
	is_int(mg_profile_name_valid(name), 0, "name_valid(65 chars, overlong) == 0");
}

int main(void)
{
	test_sizes();
	test_request();
	test_reply();
	test_name_valid();
	return done();
}
