#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Writes the protocol seed corpus (tests/fuzz/corpus/protocol/): registration
# messages as the shim and the daemon exchange them (common/protocol.h,
# x86_64 little endian), valid ones and the usual ways to get them wrong.
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
# request MAGIC VERSION FLAGS PROFILE: struct mg_reg_request (72 bytes)
request() { le32 "$1"; le16 "$2"; le16 "$3"; field "$4" 64; }
# reply MAGIC STATUS PROFILE MESSAGE: struct mg_reg_reply (272 bytes)
reply() { le32 "$1"; le32 "$2"; field "$3" 64; field "$4" 200; }
neg() { echo $((4294967296 - $1)); }

request $MAGIC 1 0 "" >"$out/request-default-profile"
request $MAGIC 1 0 "web" >"$out/request-profile"
request $MAGIC 1 0 "my_app-2.0@host" >"$out/request-profile-all-chars"
request $MAGIC 1 0 "$(printf 'a%.0s' $(seq 63))" >"$out/request-profile-63-chars"
request 1146242893 1 0 "web" >"$out/request-bad-magic-byteswapped"
request 0 0 0 "" >"$out/request-all-zero"
request $MAGIC 2 0 "web" >"$out/request-bad-version"
request $MAGIC 1 1 "web" >"$out/request-bad-flags"
request $MAGIC 1 0 "web/../x" >"$out/request-bad-name-char"
request $MAGIC 1 0 "we b" >"$out/request-bad-name-space"
{ le32 $MAGIC; le16 1; le16 0; printf 'b%.0s' $(seq 64); } >"$out/request-profile-unterminated"
{ le32 $MAGIC; le16 1; le16 0; printf 'web\000x'; head -c 59 /dev/zero; } >"$out/request-bytes-after-nul"
request $MAGIC 1 0 "web" | head -c 71 >"$out/request-truncated"
{ request $MAGIC 1 0 "web"; byte 0; } >"$out/request-one-byte-long"
le32 $MAGIC >"$out/magic-only"
: >"$out/empty"

reply $MAGIC 0 "web" "registered: profile web" >"$out/reply-accepted"
reply $MAGIC "$(neg 1)" "" "refused: no profile for this unit" >"$out/reply-refused-eperm"
reply $MAGIC "$(neg 105)" "" "refused: too many listeners" >"$out/reply-refused-enobufs"
reply $MAGIC 1 "web" "" >"$out/reply-positive-status"
reply $MAGIC 2147483648 "" "" >"$out/reply-int-min-status"
reply 0 0 "" "" >"$out/reply-bad-magic"
{ le32 $MAGIC; le32 0; field web 64; printf 'm%.0s' $(seq 200); } >"$out/reply-message-unterminated"
{ le32 $MAGIC; le32 0; printf 'p%.0s' $(seq 64); field ok 200; } >"$out/reply-profile-unterminated"
reply $MAGIC 0 "web" "ok" | head -c 200 >"$out/reply-truncated"
