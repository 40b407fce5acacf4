/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Operational log of msgguardd on stderr (journald picks it up under systemd). */
#pragma once

#include <syslog.h>

extern int log_max_level;

void log_full(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)	 log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)	 log_full(LOG_INFO, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)	 log_full(LOG_ERR, __VA_ARGS__)

/* Log at LOG_ERR and return the (negative) error, for "return log_error_errno(r, ...)". */
int log_error_errno(int r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
