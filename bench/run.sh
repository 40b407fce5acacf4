#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`: run msgguard-bench against the build tree's msgguardd and msgguard-shim,
# writing BUILDDIR/bench/results.csv and BUILDDIR/bench/latency.png.
# Usage: bench/run.sh BUILDDIR [msgguard-bench options...]   (make bench BENCH_ARGS=--quick)
set -eu
builddir=${1:?usage: bench/run.sh BUILDDIR [msgguard-bench options...]}
shift
bench="$builddir/bench/msgguard-bench"
[ -x "$bench" ] || { echo "bench/run.sh: $bench is missing (run make first)" >&2; exit 1; }
if [ "$(id -u)" != 0 ]; then
	echo "bench/run.sh: needs root (msgguardd, idle services, journald)" >&2
	exit 1
fi
plot=
if ! command -v gnuplot >/dev/null 2>&1; then
	echo "bench/run.sh: no gnuplot (apt-get install -y gnuplot-nox): no PNG this time" >&2
	plot=--no-plot
fi
exec "$bench" --builddir "$builddir" --csv "$builddir/bench/results.csv" \
	--png "$builddir/bench/latency.png" $plot "$@"
