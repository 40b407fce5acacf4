# SPDX-License-Identifier: GPL-2.0-or-later
# Shared helpers for the shell tests: TAP output, a private msgguardd, queues.
# Source it from a test: . "$MG_SRCDIR/tests/lib.sh"
# Environment (exported by `make check`): MG_BUILDDIR, MG_SRCDIR, MG_HAVE_M32.

: "${MG_BUILDDIR:?run through make check or set MG_BUILDDIR}"
: "${MG_SRCDIR:=$MG_BUILDDIR}"

MSGGUARDD="$MG_BUILDDIR/msgguardd"
SHIM="$MG_BUILDDIR/msgguard-shim"
CTL="$MG_BUILDDIR/msgguardctl"
TRY="$MG_BUILDDIR/tests/try-msgctl"
TRY32="$MG_BUILDDIR/tests/try-msgctl32"

_tap_n=0
_tap_failed=0

# plan N | plan_skip REASON
plan() { echo "1..$1"; }
plan_skip() { echo "1..0 # SKIP $*"; exit 0; }

ok() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n - $*"; }
not_ok() { _tap_n=$((_tap_n + 1)); _tap_failed=$((_tap_failed + 1)); echo "not ok $_tap_n - $*"; }
skip() { _tap_n=$((_tap_n + 1)); echo "ok $_tap_n # SKIP $*"; }
diag() { echo "# $*"; }
bail() { echo "Bail out! $*"; exit 1; }

# check DESC CMD... : ok when CMD succeeds
check() { _d="$1"; shift; if "$@"; then ok "$_d"; else not_ok "$_d"; fi; }

# is DESC GOT WANT
is() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "  got: '$2'"; diag " want: '$3'"; fi
}

# like DESC TEXT PATTERN (grep -E)
like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else
		not_ok "$1"; diag "  text: '$2'"; diag "  pattern: '$3'"; fi
}

done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

need_root() { [ "$(id -u)" = 0 ] || plan_skip "needs root"; }

# A private work dir, removed at exit together with the daemon and queues.
MG_TMP=$(mktemp -d /tmp/msgguard-test.XXXXXX)
chmod 755 "$MG_TMP"
_mg_cleanup_hooks=""
at_exit() { _mg_cleanup_hooks="$_mg_cleanup_hooks
$*"; }
_mg_cleanup() {
	eval "$_mg_cleanup_hooks"
	# Queues made in $(...) subshells are listed in a file: hooks set there are lost.
	if [ -f "$MG_TMP/queues" ]; then
		while read -r _q; do ipcrm -q "$_q" 2>/dev/null; done <"$MG_TMP/queues"
	fi
	stop_daemon 2>/dev/null
	rm -rf "$MG_TMP"
}
trap _mg_cleanup EXIT
trap 'exit 130' INT TERM

# install_policy SRC [NAME]: copy a policy into MG_TMP, root-owned 0644; prints its path.
install_policy() {
	_dst="$MG_TMP/${2:-policy.ini}"
	cp "$1" "$_dst" && chmod 0644 "$_dst" && echo "$_dst"
}

# start_daemon POLICY [extra msgguardd args...]
# Starts msgguardd with a private socket and jsonl audit; sets MG_SOCK, MG_AUDIT, MG_DPID.
start_daemon() {
	MG_SOCK="$MG_TMP/msgguard.sock"
	MG_AUDIT="$MG_TMP/audit.jsonl"
	MG_DLOG="$MG_TMP/msgguardd.log"
	rm -f "$MG_DLOG" # a previous daemon's "ready" line must not count
	_pol="$1"; shift
	"$MSGGUARDD" --policy "$_pol" --socket "$MG_SOCK" --audit "jsonl:$MG_AUDIT" "$@" \
		>"$MG_DLOG" 2>&1 &
	MG_DPID=$!
	export MSGGUARD_SOCKET="$MG_SOCK"
	_i=0
	while ! grep -q 'ready' "$MG_DLOG" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 100 ] || ! kill -0 "$MG_DPID" 2>/dev/null; then
			diag "msgguardd did not start:"; sed 's/^/#   /' "$MG_DLOG"; return 1
		fi
		sleep 0.05
	done
}

stop_daemon() {
	[ -n "${MG_DPID:-}" ] || return 0
	kill -TERM "$MG_DPID" 2>/dev/null
	wait "$MG_DPID" 2>/dev/null
	_rc=$?
	MG_DPID=
	return $_rc
}

# mkqueue [setpriv args...]: create a queue (mode 0666), print its msqid; removed at exit.
mkqueue() {
	_id=$("$@" ipcmk -Q -p 0666 | sed -n 's/^Message queue id: //p')
	[ -n "$_id" ] || return 1
	echo "$_id" >>"$MG_TMP/queues"
	echo "$_id"
}

# queue_exists MSQID: the queue is in /proc/sysvipc/msg (`ipcs -q -i` exits 0 even for a
# missing id, so its status proves nothing).
queue_exists() {
	awk -v id="$1" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/msg
}

# audit_count FILTER: number of audit records matching a jq filter (jq is a test dependency)
audit_count() { jq -c "select($1)" "$MG_AUDIT" 2>/dev/null | wc -l; }

# ---- helpers added for live-socket/live-lifecycle/jsonl/journald tests ----

BADPEER="$MG_BUILDDIR/tests/bad-peer"

# start_daemon_audit POLICY AUDIT [extra msgguardd args...]
# Like start_daemon, but with the given --audit spec (journal, stderr, jsonl:PATH).
# Sets MG_SOCK, MG_DLOG, MG_DPID; MG_AUDIT only for jsonl:PATH.
start_daemon_audit() {
	MG_SOCK="$MG_TMP/msgguard.sock"
	MG_DLOG="$MG_TMP/msgguardd.log"
	_pol="$1"; _aud="$2"; shift 2
	case "$_aud" in jsonl:*) MG_AUDIT="${_aud#jsonl:}" ;; esac
	: >"$MG_DLOG" # not the previous daemon's "ready"
	"$MSGGUARDD" --policy "$_pol" --socket "$MG_SOCK" --audit "$_aud" "$@" \
		>"$MG_DLOG" 2>&1 &
	MG_DPID=$!
	export MSGGUARD_SOCKET="$MG_SOCK"
	_i=0
	while ! grep -q 'ready' "$MG_DLOG" 2>/dev/null; do
		_i=$((_i + 1))
		if [ $_i -gt 100 ] || ! kill -0 "$MG_DPID" 2>/dev/null; then
			diag "msgguardd did not start:"; sed 's/^/#   /' "$MG_DLOG"; return 1
		fi
		sleep 0.05
	done
}

# wait_until TENTHS CMD...: run CMD every 0.1 s until it succeeds; fails after TENTHS tries.
wait_until() {
	_wu_n="$1"; shift
	while ! "$@"; do
		_wu_n=$((_wu_n - 1))
		[ "$_wu_n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# daemon_nfds: number of open fds of the running msgguardd (MG_DPID).
daemon_nfds() { ls "/proc/$MG_DPID/fd" 2>/dev/null | wc -l; }

# mkqueue_key VAR KEY MODE [UID]: create a queue with this key and mode (perl: ipcmk has no
# key option); with UID, IPC_SET its owner uid (cuid stays 0). Stores the msqid in VAR.
# Call it in the test's own shell (not in $(...)) so the queue is removed at exit.
mkqueue_key() {
	_mk_var="$1"; shift
	_id=$(perl -MIPC::SysV=IPC_CREAT,IPC_EXCL -MIPC::Msg -e '
		my ($key, $mode, $uid) = @ARGV;
		my $q = IPC::Msg->new(hex($key), IPC_CREAT | IPC_EXCL | oct($mode)) or die "msgget: $!\n";
		if (defined $uid) { $q->set(uid => $uid) or die "IPC_SET: $!\n"; }
		print $q->id, "\n";' "$@") || return 1
	[ -n "$_id" ] || return 1
	at_exit "ipcrm -q $_id 2>/dev/null"
	eval "$_mk_var=\$_id"
}

# queue_field MSQID FIELD: uid, gid, cuid, cgid or mode of a queue, from `ipcs -q -i`.
queue_field() {
	ipcs -q -i "$1" | tr '\t' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# ---- live-*.test / real-clients.test helpers (prefix lv_) -------------------

# lv_private_ipcns "$@": re-run the calling test in a fresh IPC namespace (root only), so
# that its queue ids, IPC_INFO/MSG_INFO counts and msg_next_id are its own even under
# `make -j check`, and every queue it leaves is gone with the namespace.
lv_private_ipcns() {
	[ -n "${MG_LV_IPCNS:-}" ] && return 0
	need_root
	rm -rf "$MG_TMP"
	trap - EXIT
	MG_LV_IPCNS=1 exec unshare --ipc sh "$0" "$@"
}

# lv_guard CMD...: run CMD under msgguard-shim (with --profile $MG_PROFILE when set).
lv_guard() { "$SHIM" ${MG_PROFILE:+--profile "$MG_PROFILE"} -- "$@"; }

# lv_nobody CMD...: run CMD as uid/gid 65534 without supplementary groups; $LV_NOBODY is the
# same as a word list, for places that need a program (lv_guard $LV_NOBODY "$TRY" ...).
LV_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
lv_nobody() { $LV_NOBODY "$@"; }

# lv_mkqueue KEY [MODE [RUNNER...]]: create a queue with this key (IPC_CREAT|IPC_EXCL), as
# RUNNER (e.g. lv_nobody) when given; print its msqid. Removed at exit (also from $(...)).
lv_mkqueue() {
	_lk=$1
	_lm=${2:-0666}
	shift
	[ $# -gt 0 ] && shift
	_lid=$("$@" perl -e '
		my $id = msgget(hex($ARGV[0]), 01000 | 02000 | oct($ARGV[1]));
		defined $id or die "msgget($ARGV[0]): $!\n";
		print "$id\n";' "$_lk" "$_lm") || return 1
	echo "$_lid" >>"$MG_TMP/lv-queues"
	echo "$_lid"
}
at_exit '[ -f "$MG_TMP/lv-queues" ] && while read -r _q; do ipcrm -q "$_q" 2>/dev/null; done <"$MG_TMP/lv-queues"'

# lv_state MSQID: the queue's attributes as the kernel reports them to root, without the key
# (to compare twin queues), or "absent".
lv_state() {
	_ls=$("$TRY" --entry msgctl --show "$1" IPC_STAT)
	case $_ls in
	"ret=0 errno=0 "*) echo "$_ls" | sed 's/^ret=0 errno=0 //; s/key=[^ ]* //' ;;
	*) echo absent ;;
	esac
}

# Decision records: lv_audit_sync after start_daemon, then one lv_decision (or
# lv_no_decision) after every guarded call.
_lv_ndec=0
_lv_decisions() { audit_count '.MSGGUARD_EVENT == "decision"'; }
lv_audit_sync() { audit_settle; _lv_ndec=$(_lv_decisions); }

# lv_decision DESC JQ-CONDITION...: exactly one new decision record per condition (one per
# guarded call made since the last check), matching the conditions in order.
lv_decision() {
	_d=$1
	shift
	_want=$((_lv_ndec + $#))
	_i=0
	while [ "$(_lv_decisions)" -lt $_want ] && [ $_i -lt 200 ]; do
		_i=$((_i + 1))
		sleep 0.025
	done
	audit_settle # so that an extra record (two for one call) is seen too
	_n=$(_lv_decisions)
	_recs=$(jq -c 'select(.MSGGUARD_EVENT == "decision")' "$MG_AUDIT" 2>/dev/null | tail -n $#)
	_lv_ndec=$_n
	if [ "$_n" -ne $_want ]; then
		not_ok "audit: $_d (one record per call)"
		diag "  decision records: $_n, want $_want; last: $(printf '%s\n' "$_recs" | tail -n 1)"
		return
	fi
	_k=0
	for _cond in "$@"; do
		_k=$((_k + 1))
		_rec=$(printf '%s\n' "$_recs" | sed -n "${_k}p")
		if ! printf '%s\n' "$_rec" | jq -e "$_cond" >/dev/null 2>&1; then
			not_ok "audit: $_d"
			diag "  record: $_rec"
			diag "  want: $_cond"
			return
		fi
	done
	ok "audit: $_d"
}

# lv_no_decision DESC: the call was settled without the daemon (filter): no record.
lv_no_decision() {
	audit_settle # else a record still queued would make "no record" pass
	_n=$(_lv_decisions)
	is "audit: $1 (no record)" "$_n" "$_lv_ndec"
	_lv_ndec=$_n
}

# lv_jq_rec DECISION CMD RULE: the usual condition for lv_decision.
lv_jq_rec() {
	printf '.MSGGUARD_DECISION == "%s" and .MSGGUARD_CMD == "%s" and .MSGGUARD_RULE == "%s"' \
		"$1" "$2" "$3"
}

# queue_present MSQID: true when the queue exists (ipcs -q -i exits 0 even for a missing id).
queue_present() { ipcs -q -i "$1" 2>/dev/null | grep -q "^Message Queue msqid=$1\$"; }

# lv_queue_exists MSQID: the queue exists in the caller's IPC namespace. Reads
# /proc/sysvipc/msg (no msgctl, so it can run under the shim without an audit record).
# (queue_exists above cannot fail: `ipcs -q -i ID` exits 0 for a missing id.)
lv_queue_exists() {
	awk -v id="$1" 'NR > 1 && $2 == id { f = 1 } END { exit !f }' /proc/sysvipc/msg
}

# ---- asynchronous audit helpers (live-audit-*.test) ------------------------------------

# mg_msgid NAME: the MESSAGE_ID MG_MSGID_NAME of common/ids.h (empty when it has none).
mg_msgid() {
	sed -n "s/^#define[[:space:]]*MG_MSGID_$1[[:space:]]*\"\([0-9a-f]\{32\}\)\".*/\1/p" \
		"$MG_SRCDIR/common/ids.h"
}

# record_count FILE JQ_FILTER: records of a JSON-lines FILE matching JQ_FILTER. A line
# that is not JSON (one still being written) is skipped.
record_count() { jq -cR "fromjson? | select($2)" "$1" 2>/dev/null | wc -l; }

# within SECONDS CMD...: run CMD every 0.1 s until it succeeds; fails once SECONDS have
# passed (wall time: unlike wait_until, right however long CMD itself takes).
within() {
	_wi_end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$_wi_end" ] || return 1
		sleep 0.1
	done
}

# wait_for_records FILE JQ_FILTER COUNT [TIMEOUT]: records reach the audit sink shortly
# after the decision, not with it; wait up to TIMEOUT seconds (default 10) until FILE holds
# at least COUNT records matching JQ_FILTER. Fails on timeout, with a diag line saying how
# many there were.
_wfr_enough() { [ "$(record_count "$1" "$2")" -ge "$3" ]; }
wait_for_records() {
	within "${4:-10}" _wfr_enough "$1" "$2" "$3" && return 0
	diag "wait_for_records: $(record_count "$1" "$2") records with $2 in $1, want $3"
	return 1
}

# lv_private_ipc_mountns "$@": like lv_private_ipcns, and in a private mount namespace
# too when unshare can make one (then MG_LV_MOUNTNS=1): for tests that mount over /run.
lv_private_ipc_mountns() {
	[ -n "${MG_LV_IPCNS:-}" ] && return 0
	need_root
	rm -rf "$MG_TMP"
	trap - EXIT
	if unshare --mount --propagation private true 2>/dev/null; then
		MG_LV_IPCNS=1 MG_LV_MOUNTNS=1 exec unshare --ipc --mount --propagation private \
			sh "$0" "$@"
	fi
	MG_LV_IPCNS=1 exec unshare --ipc sh "$0" "$@"
}

# proc_state PID: the state letter of a process (R, S, D, T...), empty when it is gone.
proc_state() { sed -n 's/^[0-9]* (.*) \([A-Za-z]\) .*/\1/p' "/proc/$1/stat" 2>/dev/null; }

# audit_settle [CONTROL_SOCKET]: wait until msgguardd's audit queue is empty (every record
# queued so far is written), so "before" counts of records are not short of records still
# on their way. Records are written by the daemon's audit thread, in batches. Also right
# after a call: its record is queued by the event loop right after the answer, and the
# control socket is served by that same loop, so a status that follows sees it queued.
# Returns 1 (with a diagnostic) when no daemon answers or the queue does not drain in 10 s.
audit_settle() {
	_as_sock=${1:-$MG_TMP/control.sock}
	_as_i=0
	while [ $_as_i -lt 200 ]; do
		if ! _as_st=$("$MG_BUILDDIR/msgguardctl" status --control "$_as_sock" 2>&1); then
			diag "audit_settle: no daemon answers on $_as_sock: $_as_st"
			return 1
		fi
		_as_d=$(printf '%s\n' "$_as_st" | sed -n 's/^audit: .* depth=\([0-9]*\) .*/\1/p')
		[ "$_as_d" = 0 ] && return 0
		_as_i=$((_as_i + 1))
		sleep 0.05
	done
	diag "audit_settle: the audit queue did not drain (depth ${_as_d:-unknown})"
	return 1
}
