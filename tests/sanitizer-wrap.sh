#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make check` in a --enable-sanitizers build runs every test through this:
#	tests/sanitizer-wrap.sh TEST [ARGS...]
# Every process the test starts (daemon, shim, clients, helpers, whatever it does with
# their stderr) writes its ASan/UBSan/LSan report to a private directory; a report fails
# the test that caused it: it is copied into the test's log as TAP comments and the test
# ends with "Bail out!" (an ERROR for the TAP driver). The process itself aborts too
# (abort_on_error=1, -fno-sanitize-recover=all), so the test usually notices on its own.
dir=$(mktemp -d "${TMPDIR:-/tmp}/msgguard-sanitizer.XXXXXX") || exit 99
# Processes the tests run as other users must be able to write their report.
chmod 1777 "$dir"
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}log_path=$dir/asan"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}log_path=$dir/ubsan"
export ASAN_OPTIONS UBSAN_OPTIONS

"$@"
rc=$?

found=no
for report in "$dir"/*; do
	[ -f "$report" ] || continue
	found=yes
	echo "# sanitizer report $(basename "$report") (test exit status $rc):"
	sed 's/^/#   /' "$report"
done
rm -rf "$dir"
if [ "$found" = yes ]; then
	echo "Bail out! AddressSanitizer/UndefinedBehaviorSanitizer report(s) above"
	[ "$rc" -ne 0 ] || rc=1
fi
exit "$rc"
