/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipcset-race: try to win the IPC_SET buffer race against msgguardd.
 *
 *   ipcset-race [--seconds S] [--max-calls N] [--flippers N] [--pin]
 *               [--entry native|int80-402|int80-ipc|int80-ipc64]
 *               [--allowed OCTAL] [--forbidden OCTAL] [--mask OCTAL]
 *               [--stop-on-forbidden] [MSQID]
 *
 * Run under msgguard-shim with a policy that allows IPC_STAT and allows
 * IPC_SET only with set_mode_max = MASK (default 0660). The queue (MSQID, or
 * a private one created here and removed at the end) is read once with
 * IPC_STAT through the chosen entry point into the one shared buffer, so
 * uid, gid and msg_qbytes stay unchanged; its mode is set to ALLOWED (0600).
 * Then the main thread loops IPC_SET with that buffer while N flipper threads
 * (default 3) rewrite the same buffer's mode field to FORBIDDEN (0666) and
 * back as fast as they can. After every IPC_SET the main thread reads the
 * queue's mode with IPC_STAT (its own buffer) and counts forbidden modes.
 * Stops after S seconds (default 10) or N calls (default 1,000,000).
 *
 * A daemon that judges the buffer and answers CONTINUE lets the kernel copy
 * the buffer again after the check: the flippers win. A daemon that performs
 * the IPC_SET with its own copy never lets a forbidden mode land.
 *
 * Prints one line:
 *   calls=N ok=N denied=N errors=N forbidden_landed=N forbidden_observed=N
 *   seconds=F calls_per_s=F first_forbidden_call=N entry=E flippers=N
 * Exit 0: no forbidden mode ever seen; 1: a forbidden mode landed; 3: calls
 * failed in unexpected ways (errors > 0) but nothing forbidden landed;
 * 2: usage or setup error.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/syscall.h>

#define NR_I386_IPC	117
#define NR_I386_MSGCTL	402
#define IPC_CALL_MSGCTL 14
#define CMD_IPC_64	0x100
#define MAX_FLIPPERS	64

enum entry { E_NATIVE, E_402, E_IPC, E_IPC64 };
static const char *const entry_names[] = {"native", "int80-402", "int80-ipc", "int80-ipc64"};
/* offset of the mode field in the buffer the kernel reads, per entry (notes/01, trap 6) */
static const size_t mode_off[] = {20, 20, 12, 20};

static struct {
	enum entry entry;
	double seconds;
	unsigned long max_calls;
	int flippers;
	int pin;
	int stop_on_forbidden;
	unsigned allowed, forbidden, mask;
} opt = {E_NATIVE, 10.0, 1000000, 3, 0, 0, 0600, 0666, 0660};

static atomic_int stop_flag;
static volatile uint16_t *mode_field;
static atomic_ulong flips;

/* An i386 system call from 64-bit code (ebx ecx edx esi edi ebp). */
static long int80(long nr, long a, long b, long c, long d, long e)
{
	long ret;

	__asm__ volatile("sub $128, %%rsp\n\t"
			 "push %%rbp\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp\n\t"
			 "add $128, %%rsp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	ret = (int)ret;
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* msgctl through the chosen entry point, with the layout that entry implies. */
static long call(int msqid, int cmd, void *buf)
{
	switch (opt.entry) {
	case E_NATIVE:
		return syscall(SYS_msgctl, msqid, cmd, buf);
	case E_402:
		return int80(NR_I386_MSGCTL, msqid, cmd, (long)buf, 0, 0);
	case E_IPC:
		return int80(NR_I386_IPC, IPC_CALL_MSGCTL, msqid, cmd, 0, (long)buf);
	case E_IPC64:
		return int80(NR_I386_IPC, IPC_CALL_MSGCTL, msqid, cmd | CMD_IPC_64, 0, (long)buf);
	}
	return -1;
}

static void pin_to(int cpu)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu % n, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *flipper(void *arg)
{
	const uint16_t bad = (uint16_t)opt.forbidden, good = (uint16_t)opt.allowed;
	unsigned long n = 0;

	if (opt.pin)
		pin_to((int)(intptr_t)arg + 1);
	while (!atomic_load_explicit(&stop_flag, memory_order_relaxed)) {
		for (int i = 0; i < 256; i++) {
			*mode_field = bad;
			__asm__ volatile("" ::: "memory");
			*mode_field = good;
			__asm__ volatile("" ::: "memory");
		}
		n += 256;
	}
	atomic_fetch_add(&flips, n);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static unsigned parse_octal(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 8);

	if (!*s || *end || v > 07777) {
		fprintf(stderr, "ipcset-race: bad octal mode '%s'\n", s);
		exit(2);
	}
	return (unsigned)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: ipcset-race [--seconds S] [--max-calls N] [--flippers N] [--pin]\n"
			"         [--entry native|int80-402|int80-ipc|int80-ipc64]\n"
			"         [--allowed OCTAL] [--forbidden OCTAL] [--mask OCTAL]\n"
			"         [--stop-on-forbidden] [MSQID]\n");
	exit(2);
}

static int parse_args(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"seconds", required_argument, NULL, 's'},
	    {"max-calls", required_argument, NULL, 'n'},
	    {"flippers", required_argument, NULL, 'f'},
	    {"pin", no_argument, NULL, 'p'},
	    {"entry", required_argument, NULL, 'e'},
	    {"allowed", required_argument, NULL, 'a'},
	    {"forbidden", required_argument, NULL, 'F'},
	    {"mask", required_argument, NULL, 'm'},
	    {"stop-on-forbidden", no_argument, NULL, 'x'},
	    {},
	};
	int c, msqid = -1;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.seconds = strtod(optarg, NULL);
			break;
		case 'n':
			opt.max_calls = strtoul(optarg, NULL, 10);
			break;
		case 'f':
			opt.flippers = atoi(optarg);
			break;
		case 'p':
			opt.pin = 1;
			break;
		case 'e':
			for (c = 0; c < 4 && strcmp(optarg, entry_names[c]); c++)
				;
			if (c == 4)
				usage();
			opt.entry = (enum entry)c;
			break;
		case 'a':
			opt.allowed = parse_octal(optarg);
			break;
		case 'F':
			opt.forbidden = parse_octal(optarg);
			break;
		case 'm':
			opt.mask = parse_octal(optarg);
			break;
		case 'x':
			opt.stop_on_forbidden = 1;
			break;
		default:
			usage();
		}
	}
	if (opt.seconds <= 0 || opt.max_calls == 0 || opt.flippers < 1 ||
	    opt.flippers > MAX_FLIPPERS)
		usage();
	if ((opt.allowed & 0777 & ~opt.mask) || !((opt.forbidden & 0777) & ~opt.mask)) {
		fprintf(stderr, "ipcset-race: --allowed must fit --mask, --forbidden must not\n");
		exit(2);
	}
	if (argc - optind > 1)
		usage();
	if (argc - optind == 1)
		msqid = atoi(argv[optind]);
	return msqid;
}

int main(int argc, char **argv)
{
	int msqid = parse_args(argc, argv), created = 0;
	unsigned long calls = 0, okc = 0, denied = 0, errors = 0, landed = 0, observed = 0;
	unsigned long first = 0;
	pthread_t th[MAX_FLIPPERS];
	unsigned prev_mode;
	double t0, t1;
	unsigned char *buf;
	struct msqid_ds st;

	if (msqid < 0) {
		msqid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (msqid < 0) {
			perror("ipcset-race: msgget");
			return 2;
		}
		created = 1;
	}
	/* compat pointers are 32 bits: keep the buffer below 4 GiB for every entry */
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1,
		   0);
	if (buf == MAP_FAILED) {
		perror("ipcset-race: mmap");
		return 2;
	}
	/* One read of the current values, in the layout the IPC_SET will use. */
	if (call(msqid, IPC_STAT, buf) < 0) {
		fprintf(stderr, "ipcset-race: initial IPC_STAT of %d: %s\n", msqid,
			strerror(errno));
		return 2;
	}
	mode_field = (volatile uint16_t *)(buf + mode_off[opt.entry]);
	*mode_field = (uint16_t)opt.allowed;
	if (msgctl(msqid, IPC_STAT, &st) < 0) {
		fprintf(stderr, "ipcset-race: IPC_STAT of %d: %s\n", msqid, strerror(errno));
		return 2;
	}
	prev_mode = st.msg_perm.mode & 0777;
	if (prev_mode & ~opt.mask) {
		fprintf(stderr, "ipcset-race: queue %d starts with a forbidden mode 0%o\n", msqid,
			prev_mode);
		return 2;
	}
	if (opt.pin)
		pin_to(0);
	for (int i = 0; i < opt.flippers; i++) {
		int r = pthread_create(&th[i], NULL, flipper, (void *)(intptr_t)i);

		if (r) {
			fprintf(stderr, "ipcset-race: pthread_create: %s\n", strerror(r));
			return 2;
		}
	}
	t0 = now();
	t1 = t0;
	while (calls < opt.max_calls && t1 - t0 < opt.seconds) {
		long r = call(msqid, IPC_SET, buf);
		int err = errno;
		unsigned mode;

		calls++;
		if (r == 0)
			okc++;
		else if (err == EPERM || err == EACCES)
			denied++;
		else if (errors++ < 5)
			fprintf(stderr, "ipcset-race: IPC_SET call %lu: %s\n", calls,
				strerror(err));
		if (msgctl(msqid, IPC_STAT, &st) < 0) {
			if (errors++ < 5)
				fprintf(stderr, "ipcset-race: IPC_STAT: %s\n", strerror(errno));
			t1 = now();
			continue;
		}
		mode = st.msg_perm.mode & 0777;
		if (mode & ~opt.mask) {
			observed++;
			if (!(prev_mode & ~opt.mask) || r == 0) {
				if (!landed++)
					first = calls;
			}
		}
		prev_mode = mode;
		t1 = now();
		if (landed && opt.stop_on_forbidden)
			break;
	}
	atomic_store(&stop_flag, 1);
	for (int i = 0; i < opt.flippers; i++)
		pthread_join(th[i], NULL);
	printf("calls=%lu ok=%lu denied=%lu errors=%lu forbidden_landed=%lu forbidden_observed=%lu "
	       "seconds=%.2f calls_per_s=%.0f first_forbidden_call=%lu entry=%s flippers=%d "
	       "flips=%lu\n",
	       calls, okc, denied, errors, landed, observed, t1 - t0, calls / (t1 - t0), first,
	       entry_names[opt.entry], opt.flippers, (unsigned long)atomic_load(&flips));
	fflush(stdout);
	if (created && msgctl(msqid, IPC_RMID, NULL) < 0)
		fprintf(stderr, "ipcset-race: could not remove queue %d: %s\n", msqid,
			strerror(errno));
	return observed ? 1 : errors ? 3 : 0;
}
