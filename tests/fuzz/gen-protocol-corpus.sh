#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the protocol seed corpus (tests/fuzz/corpus/protocol/): registration
# messages as the shim and the daemon exchange them (common/protocol.h, version 2,
# x86_64 little endian), valid ones and the usual ways to get them wrong. Files
# of version 1 that this no longer writes stay in the corpus as old-peer inputs.
# The files are committed; run this again only when the protocol changes:
#	sh tests/fuzz/gen-protocol-corpus.sh [DIR]
set -eu
out=${1:-$(dirname "$0")/corpus/protocol}
mkdir -p "$out"

MAGIC=1296519748 # 0x4d475244 "MGRD"

# byte N: one raw byte
byte() { printf "\\$(printf %03o "$1")"; }
# le16 N, le32 N: little-endian integers (N >= 0; pass 2^32 - x for -x)
le16() { byte $(($1 & 255)); byte $(($1 >> 8 & 255)); }
le32() { le16 $(($1 & 65535)); le16 $(($1 >> 16 & 65535)); }
# field TEXT SIZE: TEXT then NUL bytes up to SIZE
field() { printf '%s' "$1"; head -c $(($2 - ${#1})) /dev/zero; }
# request MAGIC VERSION TYPE FLAGS KERNEL_ALLOW PROFILE: struct mg_reg_request (80 bytes)
request() { le32 "$1"; le16 "$2"; le16 "$3"; le32 "$4"; le32 "$5"; field "$6" 64; }
# reply MAGIC VERSION TYPE STATUS KERNEL_ALLOW PROFILE MESSAGE: struct mg_reg_reply (280 bytes)
reply() { le32 "$1"; le16 "$2"; le16 "$3"; le32 "$4"; le32 "$5"; field "$6" 64; field "$7" 200; }
neg() { echo $((4294967296 - $1)); }
V=2 # MG_PROTO_VERSION
Q=1 # MG_REG_QUERY
R=2 # MG_REG_REGISTER
P=1 # MG_REPLY_PROFILE
S=2 # MG_REPLY_RESULT
STAT=4 # kernel_allow IPC_STAT (bit 2)

request $MAGIC $V $Q 0 0 "" >"$out/request-query-default-profile"
request $MAGIC $V $Q 0 0 "web" >"$out/request-query-profile"
request $MAGIC $V $R 0 0 "web" >"$out/request-register"
request $MAGIC $V $R 0 $STAT "web" >"$out/request-register-kernel-allow"
request $MAGIC $V $R 0 16383 "web" >"$out/request-register-every-command"
request $MAGIC $V $R 0 16384 "web" >"$out/request-register-bad-mask-bit"
request $MAGIC $V $Q 0 $STAT "web" >"$out/request-query-with-mask"
request $MAGIC $V $R 0 0 "" >"$out/request-register-no-profile"
request $MAGIC $V 3 0 0 "web" >"$out/request-bad-type"
request $MAGIC $V $Q 0 0 "my_app-2.0@host" >"$out/request-profile-all-chars"
request $MAGIC $V $Q 0 0 "$(printf 'a%.0s' $(seq 63))" >"$out/request-profile-63-chars"
request 1146242893 $V $Q 0 0 "web" >"$out/request-bad-magic-byteswapped"
request 0 0 0 0 0 "" >"$out/request-all-zero"
request $MAGIC 3 $Q 0 0 "web" >"$out/request-bad-version"
request $MAGIC $V $Q 1 0 "web" >"$out/request-bad-flags"
request $MAGIC $V $Q 0 0 "web/../x" >"$out/request-bad-name-char"
request $MAGIC $V $Q 0 0 "we b" >"$out/request-bad-name-space"
{ le32 $MAGIC; le16 $V; le16 $Q; le32 0; le32 0; printf 'b%.0s' $(seq 64); } >"$out/request-profile-unterminated"
{ le32 $MAGIC; le16 $V; le16 $Q; le32 0; le32 0; printf 'web\000x'; head -c 59 /dev/zero; } >"$out/request-bytes-after-nul"
request $MAGIC $V $Q 0 0 "web" | head -c 79 >"$out/request-truncated"
{ request $MAGIC $V $Q 0 0 "web"; byte 0; } >"$out/request-one-byte-long"
# protocol version 1: magic, version 1, flags, profile (72 bytes)
{ le32 $MAGIC; le16 1; le16 0; field "web" 64; } >"$out/request-version-1"
le32 $MAGIC >"$out/magic-only"
: >"$out/empty"

reply $MAGIC $V $P 0 $STAT "web" "profile chosen" >"$out/reply-profile"
reply $MAGIC $V $S 0 $STAT "web" "registered" >"$out/reply-accepted"
reply $MAGIC $V $S 0 0 "" "registered" >"$out/reply-accepted-no-profile"
reply $MAGIC $V $P "$(neg 2)" 0 "" "unknown profile 'web'" >"$out/reply-refused-enoent"
reply $MAGIC $V $S "$(neg 116)" 0 "" "a policy reload changed kernel_allow" >"$out/reply-refused-estale"
reply $MAGIC $V $S "$(neg 71)" $STAT "" "refusal with a mask" >"$out/reply-refused-with-mask"
reply $MAGIC $V $S 1 0 "web" "" >"$out/reply-positive-status"
reply $MAGIC $V $S 2147483648 0 "" "" >"$out/reply-int-min-status"
reply $MAGIC $V 0 0 0 "web" "" >"$out/reply-bad-type"
reply $MAGIC $V $S 0 65536 "web" "" >"$out/reply-bad-mask-bit"
reply 0 0 0 0 0 "" "" >"$out/reply-bad-magic"
{ le32 $MAGIC; le16 $V; le16 $S; le32 0; le32 0; field web 64; printf 'm%.0s' $(seq 200); } >"$out/reply-message-unterminated"
{ le32 $MAGIC; le16 $V; le16 $S; le32 0; le32 0; printf 'p%.0s' $(seq 64); field ok 200; } >"$out/reply-profile-unterminated"
reply $MAGIC $V $S 0 0 "web" "ok" | head -c 200 >"$out/reply-truncated"
