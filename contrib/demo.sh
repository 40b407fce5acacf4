#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/demo.sh [BUILDDIR]: msgguard end to end, without systemd.
#
# Starts msgguardd with contrib/policy.example.ini and a JSON-lines audit file in a scratch
# folder, runs contrib/msgguard-demo (a root program that creates a queue owned by nobody and
# then tries IPC_STAT, IPC_SET and IPC_RMID on it) under msgguard-shim, and shows what each
# call returned and the audit records. Leaves nothing behind: the queue is removed with ipcrm,
# the daemon is stopped and the scratch folder deleted, also when something fails.
# BUILDDIR (default: the source tree) holds the built programs. Run as root.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$src}" && pwd)

die() {
	echo "demo: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "run me as root (the demo program plays a root service)"
for prog in msgguardd msgguard-shim msgguard-demo; do
	[ -x "$build/$prog" ] || die "$build/$prog not found: build first (./autogen.sh && ./configure && make)"
done
[ -f "$src/contrib/policy.example.ini" ] || die "$src/contrib/policy.example.ini not found"

tmp=$(mktemp -d /tmp/msgguard-demo.XXXXXX)
sock=$tmp/msgguard.sock
audit=$tmp/audit.jsonl
daemon_pid=
msqid=

# Remove the demo's queue, unguarded, straight from this script.
remove_queue() {
	[ -n "$msqid" ] || return 0
	if ipcrm -q "$msqid" 2>/dev/null; then
		echo "demo: removed queue msqid=$msqid (ipcrm, not under msgguard)"
	fi
	msqid=
}

# SIGTERM, then wait (SIGKILL after 5 s). Returns the daemon's exit status.
stop_daemon() {
	local pid=$daemon_pid status=0 _
	[ -n "$pid" ] || return 0
	daemon_pid=
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || status=$?
	return "$status"
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	local status=$?
	remove_queue
	stop_daemon || true
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

show_daemon_log() {
	echo "--- msgguardd stderr ---" >&2
	cat "$tmp/msgguardd.log" >&2 || true
}

# The policy must be root-owned and not writable by others, or msgguardd refuses it.
install -m 0644 -o root -g root "$src/contrib/policy.example.ini" "$tmp/policy.ini"

echo "demo: starting msgguardd --policy $tmp/policy.ini --audit jsonl:$audit"
"$build/msgguardd" --policy "$tmp/policy.ini" --socket "$sock" --audit "jsonl:$audit" \
	</dev/null 2>"$tmp/msgguardd.log" &
daemon_pid=$!

# Ready when it says so (HACKING.md) or its socket exists; give up after 10 s.
for _ in $(seq 100); do
	grep -q 'ready, listening on' "$tmp/msgguardd.log" && break
	[ -S "$sock" ] && break
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		show_daemon_log
		die "msgguardd exited during start-up"
	fi
	sleep 0.1
done
if ! [ -S "$sock" ]; then
	show_daemon_log
	die "msgguardd did not create $sock within 10 s"
fi

echo "demo: running msgguard-demo under msgguard-shim (as root)"
echo
status=0
"$build/msgguard-shim" --socket "$sock" -- "$build/msgguard-demo" >"$tmp/demo.out" 2>&1 ||
	status=$?
sed 's/^/    /' "$tmp/demo.out"
echo
msqid=$(sed -n 's/^queue: msqid=\([0-9][0-9]*\)$/\1/p' "$tmp/demo.out")

case $status in
0) ;;
125) echo "demo: msgguard-shim refused to start the demo (it never runs a program unguarded)" >&2 ;;
*) echo "demo: msgguard-demo failed (exit $status)" >&2 ;;
esac

remove_queue
daemon_status=0
stop_daemon || daemon_status=$?
echo "demo: msgguardd stopped (exit $daemon_status)"
if [ "$daemon_status" -ne 0 ]; then
	show_daemon_log
	[ "$status" -ne 0 ] || status=1
fi

echo
echo "Audit records ($audit):"
if ! [ -s "$audit" ]; then
	echo "demo: no audit records were written" >&2
	[ "$status" -ne 0 ] || status=1
elif command -v jq >/dev/null 2>&1; then
	jq -r '"  \(.MSGGUARD_EVENT // "?"): \(.MESSAGE // "")"' "$audit"
	echo
	jq . "$audit"
else
	cat "$audit"
fi

echo
if [ "$status" -eq 0 ]; then
	echo "demo: OK: IPC_STAT was allowed; IPC_SET and IPC_RMID were denied by the policy"
else
	show_daemon_log
	echo "demo: FAILED" >&2
fi
exit "$status"
