/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A tiny TAP producer for the C unit tests (header only).
 *
 *	plan(N);                  optional; without it done() prints "1..N" at the end
 *	ok(cond, "fmt", ...);     "ok N - ..." / "not ok N - ..."; returns cond
 *	is_int(got, want, "fmt", ...);  ok() plus a diagnostic with both values
 *	diag("fmt", ...);         "# ..."
 *	return done();            exit status: 0 when every test passed and the plan held
 */
#pragma once

#include <stdarg.h>
#include <stdio.h>

static unsigned tap_n_run;
static unsigned tap_n_failed;
static int tap_planned = -1;

__attribute__((unused)) static void plan(unsigned n)
{
	tap_planned = (int)n;
	printf("1..%u\n", n);
	fflush(stdout);
}

__attribute__((unused, format(printf, 1, 2))) static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

__attribute__((unused, format(printf, 2, 0))) static int tap_vok(int cond, const char *fmt,
								 va_list ap)
{
	tap_n_run++;
	if (!cond)
		tap_n_failed++;
	printf("%sok %u - ", cond ? "" : "not ", tap_n_run);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	return cond;
}

__attribute__((unused, format(printf, 2, 3))) static int ok(int cond, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tap_vok(!!cond, fmt, ap);
	va_end(ap);
	return r;
}

__attribute__((unused, format(printf, 3, 4))) static int is_int(long long got, long long want,
								const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tap_vok(got == want, fmt, ap);
	va_end(ap);
	if (!r) {
		diag("  got: %lld", got);
		diag(" want: %lld", want);
	}
	return r;
}

/* Prints the plan if none was given; returns the exit status for main(). */
__attribute__((unused)) static int done(void)
{
	if (tap_planned < 0) {
		printf("1..%u\n", tap_n_run);
	} else if ((unsigned)tap_planned != tap_n_run) {
		diag("planned %d tests but ran %u", tap_planned, tap_n_run);
		return 1;
	}
	if (tap_n_failed)
		diag("failed %u of %u tests", tap_n_failed, tap_n_run);
	fflush(stdout);
	return tap_n_failed ? 1 : 0;
}
