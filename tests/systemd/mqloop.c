/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mqloop: a stand-in for a wrapped service that uses a message queue all the
 * time. It calls msgctl(MSQID, IPC_STAT) in a loop and appends one line per
 * call to LOGFILE, so tests/systemd/nspawn.test can prove that no call went
 * undecided (ENOSYS) or waited too long while msgguardd was restarted or
 * killed:
 *
 *   mqloop [--interval-ms N] MSQID LOGFILE
 *
 *   LOGFILE lines: "seq=N ret=R errno=NAME us=LATENCY"  (errno=0 when ret == 0)
 *
 * SIGTERM ends the loop after the current call; a summary line
 * "mqloop: calls=N failed=N max_us=N" goes to stdout (the journal). The
 * tested msgctl is the only one it makes; the log is written with one
 * write(2) per line (O_APPEND), so a reader never sees half a line.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/msg.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static __attribute__((noreturn)) void usage(void)
{
	fprintf(stderr, "usage: mqloop [--interval-ms N] MSQID LOGFILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	long interval_ms = 20;
	uint64_t calls = 0, failed = 0, max_us = 0;
	int msqid, fd;

	if (argc == 5 && strcmp(argv[1], "--interval-ms") == 0) {
		interval_ms = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 3 || interval_ms < 0)
		usage();
	msqid = (int)strtol(argv[1], NULL, 10);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "mqloop: %s: %m\n", argv[2]);
		return 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("mqloop: pid %d, IPC_STAT of msqid %d every %ld ms\n", (int)getpid(), msqid,
	       interval_ms);
	fflush(stdout);

	while (!stop) {
		struct msqid_ds ds;
		struct timespec pause = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
		char line[128];
		uint64_t t0 = now_us(), us;
		int ret = msgctl(msqid, IPC_STAT, &ds), err = errno, n;
		const char *name;

		us = now_us() - t0;
		calls++;
		if (ret != 0)
			failed++;
		if (us > max_us)
			max_us = us;
		name = ret == 0 ? "0" : strerrorname_np(err);
		n = snprintf(line, sizeof(line), "seq=%llu ret=%d errno=%s us=%llu\n",
			     (unsigned long long)calls, ret, name ? name : "?",
			     (unsigned long long)us);
		if (write(fd, line, (size_t)n) != n) {
			fprintf(stderr, "mqloop: writing the log: %m\n");
			return 1;
		}
		nanosleep(&pause, NULL);
	}
	printf("mqloop: calls=%llu failed=%llu max_us=%llu\n", (unsigned long long)calls,
	       (unsigned long long)failed, (unsigned long long)max_us);
	return 0;
}
