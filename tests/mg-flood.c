/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * mg-flood: a known, exactly counted load of msgctl calls for the audit tests
 * (tests/live-audit-*.test), run under msgguard-shim.
 *
 *   mg-flood [--threads N] [--calls N] [--deny N] [--deny-base ID] [--linger] [MSQID...]
 *   mg-flood --script [--threads N] [--deny-base ID] [MSQID...]
 *
 * One batch: THREADS threads (default 4) share CALLS msgctl(IPC_STAT) calls (default
 * 1000000) on the MSQIDs, round-robin, and DENY IPC_RMID calls (default 0), spread
 * evenly over the batch: the k-th IPC_RMID of the process targets msqid DENY-BASE + k
 * (default base 1000000000, an id no queue has), so that each one is told apart in the
 * audit. The policy is expected to allow the IPC_STATs and to deny the IPC_RMIDs with
 * EPERM; the program counts what really happened. After a batch it prints two lines:
 *
 *   calls=N allowed=N denied=N stat=N stat_ok=N stat_eperm=N stat_other=N rmid=N
 *     rmid_eperm=N rmid_einval=N rmid_other=N threads=N seconds=F calls_per_s=F pid=N
 *   denied_ids: ID ID ...       (the batch's IPC_RMID msqids that failed with EPERM)
 *
 * (the first on one line). denied = calls that failed with EPERM (the policy's answer:
 * the kernel itself never gives EPERM here, root calling IPC_STAT on the test's queues
 * and IPC_RMID on absent ids); allowed = every other call (it reached the kernel:
 * IPC_STAT returned 0, IPC_RMID of an absent id EINVAL). rmid_other counts IPC_RMIDs
 * that succeeded or failed otherwise, stat_other IPC_STATs that failed otherwise.
 *
 * --linger: after the batch, wait for SIGTERM or SIGINT (the service stays registered,
 * for msgguardctl status), then exit 0.
 * --script: one registration, several batches: reads lines "run CALLS DENY" from stdin,
 * runs each as a batch and prints its two lines; exits 0 at end of input.
 * Exit 0 when every call was made, 2 on usage errors or when a thread cannot start.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/msg.h>

#define MAX_THREADS 256
#define MAX_QUEUES  64

enum {
	STAT_OK,
	STAT_EPERM,
	STAT_OTHER,
	RMID_EPERM,
	RMID_EINVAL,
	RMID_OTHER,
	_COUNT_MAX,
};

static int threads = 4;
static int queues[MAX_QUEUES], n_queues;
static long deny_next = 1000000000L; /* msqid of the process's next IPC_RMID */

/* The current batch. */
static uint64_t n_stat, n_deny, n_total; /* n_total = n_stat + n_deny */
static long deny_base;
static atomic_uint_fast64_t next_ticket;
static int *deny_result; /* per IPC_RMID k of the batch: 0 or the errno it failed with */
/* per thread, a cache line each */
static struct {
	_Alignas(64) uint64_t n[_COUNT_MAX];
} counts[MAX_THREADS];

/* Ticket of the k-th IPC_RMID: the middle of the k-th of DENY equal slices of the batch. */
static uint64_t deny_ticket(uint64_t k)
{
	return (2 * k + 1) * n_total / (2 * n_deny);
}

/* The k of ticket t when t is an IPC_RMID ticket, else -1. */
static int64_t deny_index(uint64_t t)
{
	uint64_t j;

	if (n_deny == 0)
		return -1;
	j = t * n_deny / n_total;
	for (uint64_t k = j > 0 ? j - 1 : 0; k <= j + 1 && k < n_deny; k++)
		if (deny_ticket(k) == t)
			return (int64_t)k;
	return -1;
}

static void *flood_thread(void *arg)
{
	uint64_t *c = arg;
	struct msqid_ds st;

	for (;;) {
		uint64_t t = atomic_fetch_add_explicit(&next_ticket, 1, memory_order_relaxed);
		int64_t k;

		if (t >= n_total)
			break;
		k = deny_index(t);
		if (k >= 0) {
			int r = msgctl((int)(deny_base + k), IPC_RMID, NULL);

			deny_result[k] = r == 0 ? 0 : errno;
			c[r < 0 && errno == EPERM    ? RMID_EPERM
			  : r < 0 && errno == EINVAL ? RMID_EINVAL
						     : RMID_OTHER]++;
		} else {
			int r = msgctl(queues[t % (uint64_t)n_queues], IPC_STAT, &st);

			c[r == 0 ? STAT_OK : errno == EPERM ? STAT_EPERM : STAT_OTHER]++;
		}
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_results(double seconds)
{
	uint64_t sum[_COUNT_MAX] = {0};

	for (int i = 0; i < threads; i++)
		for (int j = 0; j < _COUNT_MAX; j++)
			sum[j] += counts[i].n[j];
	printf("calls=%llu allowed=%llu denied=%llu stat=%llu stat_ok=%llu stat_eperm=%llu "
	       "stat_other=%llu rmid=%llu rmid_eperm=%llu rmid_einval=%llu rmid_other=%llu "
	       "threads=%d seconds=%.2f calls_per_s=%.0f pid=%d\n",
	       (unsigned long long)n_total,
	       (unsigned long long)(sum[STAT_OK] + sum[STAT_OTHER] + sum[RMID_EINVAL] +
				    sum[RMID_OTHER]),
	       (unsigned long long)(sum[STAT_EPERM] + sum[RMID_EPERM]), (unsigned long long)n_stat,
	       (unsigned long long)sum[STAT_OK], (unsigned long long)sum[STAT_EPERM],
	       (unsigned long long)sum[STAT_OTHER], (unsigned long long)n_deny,
	       (unsigned long long)sum[RMID_EPERM], (unsigned long long)sum[RMID_EINVAL],
	       (unsigned long long)sum[RMID_OTHER], threads, seconds,
	       seconds > 0 ? (double)n_total / seconds : 0.0, (int)getpid());
	printf("denied_ids:");
	for (uint64_t k = 0; k < n_deny; k++)
		if (deny_result[k] == EPERM)
			printf(" %ld", deny_base + (long)k);
	printf("\n");
	fflush(stdout);
}

/* One batch of calls, then its two lines. 0, or -1 when a thread cannot start. */
static int run_batch(uint64_t stat_calls, uint64_t deny_calls)
{
	pthread_t th[MAX_THREADS];
	double t0;

	if ((stat_calls > 0 && n_queues == 0) || deny_calls > INT32_MAX ||
	    deny_next + (long)deny_calls > INT32_MAX) {
		fprintf(stderr,
			"mg-flood: a batch of %llu IPC_STAT and %llu IPC_RMID calls "
			"cannot be made (no queue, or msqids past INT_MAX)\n",
			(unsigned long long)stat_calls, (unsigned long long)deny_calls);
		return -1;
	}
	n_stat = stat_calls;
	n_deny = deny_calls;
	n_total = n_stat + n_deny;
	deny_base = deny_next;
	deny_next += (long)n_deny;
	free(deny_result);
	deny_result = calloc(n_deny ? n_deny : 1, sizeof(*deny_result));
	if (!deny_result)
		return -1;
	memset(counts, 0, sizeof(counts));
	atomic_store(&next_ticket, 0);

	t0 = now();
	for (int i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, flood_thread, counts[i].n)) {
			fprintf(stderr, "mg-flood: pthread_create failed\n");
			return -1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	print_results(now() - t0);
	return 0;
}

/* --script: "run CALLS DENY" lines from stdin. */
static int run_script(void)
{
	char line[256];

	while (fgets(line, sizeof(line), stdin)) {
		unsigned long long c, d;
		char extra;

		if (line[0] == '\n' || line[0] == '#')
			continue;
		if (sscanf(line, "run %llu %llu %c", &c, &d, &extra) != 2) {
			fprintf(stderr, "mg-flood: bad script line: %s", line);
			return 2;
		}
		if (run_batch(c, d) < 0)
			return 2;
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: mg-flood [--threads N] [--calls N] [--deny N] [--deny-base ID] "
			"[--linger] [MSQID...]\n"
			"       mg-flood --script [--threads N] [--deny-base ID] [MSQID...]\n");
	exit(2);
}

static uint64_t parse_count(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-')
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"threads", required_argument, NULL, 't'},
	    {"calls", required_argument, NULL, 'c'},
	    {"deny", required_argument, NULL, 'd'},
	    {"deny-base", required_argument, NULL, 'b'},
	    {"linger", no_argument, NULL, 'l'},
	    {"script", no_argument, NULL, 's'},
	    {},
	};
	uint64_t calls = 1000000, deny = 0, t;
	bool linger = false, script = false;
	sigset_t stop;
	int c, r;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't':
			t = parse_count(optarg);
			if (t < 1 || t > MAX_THREADS)
				usage();
			threads = (int)t;
			break;
		case 'c':
			calls = parse_count(optarg);
			break;
		case 'd':
			deny = parse_count(optarg);
			break;
		case 'b':
			t = parse_count(optarg);
			if (t > INT32_MAX)
				usage();
			deny_next = (long)t;
			break;
		case 'l':
			linger = true;
			break;
		case 's':
			script = true;
			break;
		default:
			usage();
		}
	}
	n_queues = argc - optind;
	if (n_queues > MAX_QUEUES || (script && linger))
		usage();
	for (int i = 0; i < n_queues; i++) {
		t = parse_count(argv[optind + i]);
		if (t > INT32_MAX)
			usage();
		queues[i] = (int)t;
	}
	if (script)
		return run_script();

	/* Blocked before the threads start, so that they inherit the mask. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	if (linger)
		pthread_sigmask(SIG_BLOCK, &stop, NULL);
	r = run_batch(calls, deny) < 0 ? 2 : 0;
	if (r == 0 && linger) {
		int sig;

		sigwait(&stop, &sig);
	}
	free(deny_result);
	return r;
}
