#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# contrib/quickstart.sh demo|test: from a fresh Debian 12 to a running msgguard, as root.
#
#   demo  install the build dependencies, build, run contrib/demo.sh
#   test  install the build dependencies, build, run the whole test suite (make check);
#         .ci/run calls exactly this
#
# Works from any folder: it builds in the source tree this script belongs to.
set -euo pipefail

# Everything `make` and `make check` need, and nothing more. Tests that need a tool add it
# here: CI starts from a machine where nothing was installed by hand.
packages=(
	build-essential autoconf automake pkg-config
	libseccomp-dev libcap-dev libsystemd-dev libinih-dev
	gcc-multilib # the 32-bit test clients (gcc -m32)
	jq           # the demo's audit output, the jsonl and journald tests
	util-linux   # ipcmk, ipcs, ipcrm, unshare
	perl         # IPC::Msg, a real client nobody on the team wrote
	systemd      # systemd-analyze, systemd-journald, journalctl
	groff-base   # tests/ctl-man.test checks the man pages
)

usage() {
	echo "usage: bash contrib/quickstart.sh demo|test" >&2
	exit 2
}

say() {
	printf '\n== %s\n' "$*"
}

install_deps() {
	say "installing build dependencies (apt-get)"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${packages[@]}"
}

build() {
	say "building"
	./autogen.sh
	./configure
	make -j2
}

run_tests() {
	local status=0 sd_status=0
	say "running the test suite (make check)"
	make -j2 check || status=$?
	if [ "$status" -ne 0 ] && [ -f test-suite.log ]; then
		say "test-suite.log"
		cat test-suite.log
	fi
	# systemd 252 as PID 1 in a container (socket activation, reload, restarts, journal);
	# the first run on a machine builds the container root with debootstrap (~2-3 min).
	say "running the systemd integration test (make check-systemd)"
	make check-systemd || sd_status=$?
	if [ "$sd_status" -ne 0 ] && [ -f tests/systemd/test-suite.log ]; then
		cat tests/systemd/test-suite.log
	fi
	[ "$status" -eq 0 ] && [ "$sd_status" -eq 0 ]
}

[ $# -eq 1 ] || usage
case $1 in
demo | test) ;;
*) usage ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "quickstart: run me as root (apt-get, and msgguard's live tests need root)" >&2
	exit 1
fi

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."
install_deps
build
case $1 in
demo)
	say "running the demo (contrib/demo.sh)"
	exec bash contrib/demo.sh "$PWD"
	;;
test)
	status=0
	run_tests || status=$?
	exit "$status"
	;;
esac
