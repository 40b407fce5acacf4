/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operational log: one line per event on stderr, with a syslog prefix under systemd. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

int log_max_level = LOG_INFO;

static void log_va(int level, const char *fmt, va_list ap)
{
	char line[1024];
	/* Under systemd, stderr goes to journald: "<N>" sets the priority. */
	static int prefix = -1;

	if (level > log_max_level)
		return;
	if (prefix < 0)
		prefix = getenv("JOURNAL_STREAM") != NULL;
	vsnprintf(line, sizeof(line), fmt, ap);
	if (prefix)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "msgguardd: %s\n", line);
}

void log_full(int level, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	log_va(level, fmt, ap);
	va_end(ap);
	errno = saved;
}

int log_error_errno(int r, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	errno = r < 0 ? -r : r;
	va_start(ap, fmt);
	log_va(LOG_ERR, fmt, ap);
	va_end(ap);
	errno = saved;
	return r < 0 ? r : -r;
}
