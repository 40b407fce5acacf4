/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * stat-flood: the two services of tests/adversarial/flood-fairness.test.
 *
 *   stat-flood --flood THREADS [--seconds S] MSQID
 *       THREADS threads call msgctl(IPC_STAT) in a loop for S seconds (default
 *       60) or until SIGTERM/SIGINT. Prints "ready" once all threads run, then
 *       "calls=N errors=N seconds=F calls_per_s=F" at the end.
 *   stat-flood --measure N [--rmid-every K] MSQID
 *       N IPC_STAT calls, one at a time, each timed; every K-th call (default
 *       100, 0 = never) is followed by an IPC_RMID that the policy must deny
 *       with EPERM (untimed). Prints
 *       "calls=N ok=N bad=N rmid=N rmid_denied=N p50_us=F p90_us=F p99_us=F max_us=F
 *       mean_us=F pid=N".
 *       ok: IPC_STAT returned 0 with the queue's key (the key of the first call).
 *       Exit 0 when every call was answered as expected, 1 otherwise.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/msg.h>

static atomic_int stop_flag;
static atomic_ulong total_calls, total_errors;
static int msqid;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&stop_flag, 1);
}

static void *flood_thread(void *arg)
{
	unsigned long n = 0, e = 0;
	struct msqid_ds st;

	(void)arg;
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		if (msgctl(msqid, IPC_STAT, &st) < 0)
			e++;
		n++;
	}
	atomic_fetch_add(&total_calls, n);
	atomic_fetch_add(&total_errors, e);
	return NULL;
}

static int flood(int threads, double seconds)
{
	struct sigaction sa = {.sa_handler = on_signal};
	pthread_t th[256];
	double t0, t1;
	int i;

	/* no SA_RESTART needed: the loop polls the flag after every call */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	t0 = now();
	for (i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, flood_thread, NULL)) {
			fprintf(stderr, "stat-flood: pthread_create failed\n");
			return 2;
		}
	printf("ready\n");
	fflush(stdout);
	while (!atomic_load(&stop_flag) && now() - t0 < seconds)
		usleep(10000);
	atomic_store(&stop_flag, 1);
	for (i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = now();
	printf("calls=%lu errors=%lu seconds=%.2f calls_per_s=%.0f\n", (unsigned long)total_calls,
	       (unsigned long)total_errors, t1 - t0, (double)total_calls / (t1 - t0));
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(const double *sorted, int n, double p)
{
	int i = (int)(p * (n - 1) + 0.5);

	return sorted[i < n ? i : n - 1];
}

static int measure(int n, int rmid_every)
{
	double *lat = calloc((size_t)n, sizeof(double)), sum = 0;
	int ok = 0, bad = 0, rmid = 0, rmid_denied = 0;
	key_t key = 0;
	struct msqid_ds st;

	if (!lat)
		return 2;
	for (int i = 0; i < n; i++) {
		double t0 = now();
		int r = msgctl(msqid, IPC_STAT, &st);

		lat[i] = (now() - t0) * 1e6;
		sum += lat[i];
		if (i == 0 && r == 0)
			key = st.msg_perm.__key;
		if (r == 0 && st.msg_perm.__key == key)
			ok++;
		else if (bad++ < 5)
			fprintf(stderr, "stat-flood: IPC_STAT call %d: ret %d (%s)\n", i, r,
				r < 0 ? strerror(errno) : "wrong key");
		if (rmid_every > 0 && (i + 1) % rmid_every == 0) {
			rmid++;
			r = msgctl(msqid, IPC_RMID, NULL);
			if (r < 0 && errno == EPERM)
				rmid_denied++;
			else
				fprintf(stderr, "stat-flood: IPC_RMID not denied: ret %d (%s)\n", r,
					r < 0 ? strerror(errno) : "removed");
		}
	}
	qsort(lat, (size_t)n, sizeof(double), cmp_double);
	printf("calls=%d ok=%d bad=%d rmid=%d rmid_denied=%d p50_us=%.1f p90_us=%.1f "
	       "p99_us=%.1f max_us=%.1f mean_us=%.1f pid=%d\n",
	       n, ok, bad, rmid, rmid_denied, pct(lat, n, 0.50), pct(lat, n, 0.90),
	       pct(lat, n, 0.99), lat[n - 1], sum / n, (int)getpid());
	free(lat);
	return ok == n && rmid_denied == rmid ? 0 : 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: stat-flood --flood THREADS [--seconds S] MSQID\n"
			"       stat-flood --measure N [--rmid-every K] MSQID\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"flood", required_argument, NULL, 'f'},
	    {"measure", required_argument, NULL, 'm'},
	    {"seconds", required_argument, NULL, 's'},
	    {"rmid-every", required_argument, NULL, 'r'},
	    {},
	};
	int c, threads = 0, n = 0, rmid_every = 100;
	double seconds = 60;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			threads = atoi(optarg);
			break;
		case 'm':
			n = atoi(optarg);
			break;
		case 's':
			seconds = strtod(optarg, NULL);
			break;
		case 'r':
			rmid_every = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || (threads > 0) == (n > 0) || threads > 256 || seconds <= 0)
		usage();
	msqid = atoi(argv[optind]);
	return threads ? flood(threads, seconds) : measure(n, rmid_every);
}
