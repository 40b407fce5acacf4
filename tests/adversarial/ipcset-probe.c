/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ipcset-probe: one msgctl(IPC_SET) with exactly controlled buffer placement
 * and caller credentials, for tests/adversarial/ipcset-values.test. Prints
 * "ret=N errno=NAME" like tests/try-msgctl, and makes no other msgctl.
 *
 *   ipcset-probe [--entry native|int80-402|int80-ipc|int80-ipc64]
 *                [--hi HEX] [--qhi HEX] [--gap N | --bad]
 *                [--thread-euid UID] [--thread-nocaps] [--uffd] [--repeat N]
 *                --mode OCTAL --uid N --gid N --qbytes N MSQID
 *
 * --gap N         the buffer starts N bytes before an unmapped page: the
 *                 kernel's copy faults exactly when it reads past N bytes.
 * --bad           the buffer pointer is 16 (never mapped).
 * --thread-euid U the call is made by a second thread that first switched
 *                 its own euid to U with the raw setresuid syscall (the other
 *                 thread stays root): the daemon must act as the *thread*.
 * --thread-nocaps the call is made by a second thread that cleared its own
 *                 effective capabilities with capset (still euid 0).
 * --uffd          the buffer is a page registered with userfaultfd whose
 *                 faults are never served: reading it blocks forever (needs
 *                 the privilege to handle kernel faults: root). Values unused.
 * --repeat N      make the call N times (not with --thread-*); prints the last
 *                 answer.
 * Field values are written with the width of the entry's layout (notes/01,
 * trap 6), so wider values are truncated exactly as a real caller's would be.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define NR_I386_IPC	117
#define NR_I386_MSGCTL	402
#define IPC_CALL_MSGCTL 14
#define CMD_IPC_SET	1
#define CMD_IPC_64	0x100

enum entry { E_NATIVE, E_402, E_IPC, E_IPC64 };
static const char *const entry_names[] = {"native", "int80-402", "int80-ipc", "int80-ipc64"};

/* offsets and widths: uid, gid, mode, qbytes (ipc/msg.c, include/linux/compat.h) */
static const struct {
	size_t uid, gid, id_w, mode, mode_w, qbytes, q_w;
} layouts[] = {
    [E_NATIVE] = {4, 8, 4, 20, 4, 88, 8},
    [E_402] = {4, 8, 4, 20, 2, 68, 4},
    [E_IPC] = {4, 6, 2, 12, 2, 48, 2},
    [E_IPC64] = {4, 8, 4, 20, 2, 68, 4},
};

static struct {
	enum entry entry;
	uint32_t hi, qhi;
	long gap; /* -1: a whole page */
	int bad, thread_nocaps, has_thread_euid, n_set, uffd;
	long repeat;
	uid_t thread_euid;
	uint64_t mode, uid, gid, qbytes;
	int msqid;
} o = {.gap = -1, .repeat = 1};

struct result {
	long ret;
	int err;
};

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

static void put(unsigned char *buf, size_t avail, size_t off, uint64_t v, size_t w)
{
	/* only the bytes that are mapped; the kernel faults on the rest anyway */
	for (size_t i = 0; i < w && off + i < avail; i++)
		buf[off + i] = (unsigned char)(v >> (8 * i));
}

/*
 * A page registered with userfaultfd (missing pages) whose faults nobody ever
 * serves: any access to it, the kernel's or another process's, blocks.
 */
static unsigned char *uffd_buffer(size_t *avail)
{
	static unsigned char *page;
	long size = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = {.api = UFFD_API};
	struct uffdio_register reg;
	int fd;

	*avail = 0; /* never written: writing would fault */
	if (page)
		return page;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (fd < 0 || ioctl(fd, UFFDIO_API, &api) < 0) {
		perror("ipcset-probe: userfaultfd");
		exit(2);
	}
	page = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (page == MAP_FAILED) {
		perror("ipcset-probe: mmap");
		exit(2);
	}
	reg.range.start = (uintptr_t)page;
	reg.range.len = (uint64_t)size;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(fd, UFFDIO_REGISTER, &reg) < 0) {
		perror("ipcset-probe: UFFDIO_REGISTER");
		exit(2);
	}
	return page;
}

static unsigned char *make_buffer(size_t *avail)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *m;

	if (o.bad) {
		*avail = 0;
		return (unsigned char *)16;
	}
	if (o.uffd)
		return uffd_buffer(avail);
	m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT,
		 -1, 0);
	if (m == MAP_FAILED || mprotect(m + page, page, PROT_NONE) < 0) {
		perror("ipcset-probe: mmap");
		exit(2);
	}
	if (o.gap < 0) {
		*avail = page;
		return m;
	}
	*avail = (size_t)o.gap;
	return m + page - o.gap;
}

static void do_call(struct result *r)
{
	size_t avail;
	unsigned char *buf = make_buffer(&avail);
	uint64_t q = (uint64_t)o.qhi << 32 | (uint32_t)o.msqid;
	uint64_t c = (uint64_t)o.hi << 32 | CMD_IPC_SET;

	if (!o.bad) {
		memset(buf, 0, avail);
		put(buf, avail, layouts[o.entry].uid, o.uid, layouts[o.entry].id_w);
		put(buf, avail, layouts[o.entry].gid, o.gid, layouts[o.entry].id_w);
		put(buf, avail, layouts[o.entry].mode, o.mode, layouts[o.entry].mode_w);
		put(buf, avail, layouts[o.entry].qbytes, o.qbytes, layouts[o.entry].q_w);
	}
	errno = 0;
	switch (o.entry) {
	case E_NATIVE:
		r->ret = syscall(SYS_msgctl, q, c, buf);
		break;
	case E_402:
		r->ret = int80(NR_I386_MSGCTL, (long)q, (long)c, (long)buf, 0, 0);
		break;
	case E_IPC:
		r->ret = int80(NR_I386_IPC, IPC_CALL_MSGCTL, (long)q, (long)c, 0, (long)buf);
		break;
	case E_IPC64:
		r->ret = int80(NR_I386_IPC, IPC_CALL_MSGCTL, (long)q, (long)(c | CMD_IPC_64), 0,
			       (long)buf);
		break;
	}
	r->err = errno;
}

static void *thread_main(void *arg)
{
	struct result *r = arg;

	if (o.has_thread_euid && syscall(SYS_setresuid, -1, o.thread_euid, -1) < 0) {
		perror("ipcset-probe: setresuid (thread)");
		exit(2);
	}
	if (o.thread_nocaps) {
		struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
		struct __user_cap_data_struct d[2];

		if (syscall(SYS_capget, &h, d) < 0) {
			perror("ipcset-probe: capget");
			exit(2);
		}
		d[0].effective = d[1].effective = 0;
		if (syscall(SYS_capset, &h, d) < 0) {
			perror("ipcset-probe: capset (thread)");
			exit(2);
		}
	}
	do_call(r);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: ipcset-probe [--entry native|int80-402|int80-ipc|int80-ipc64]\n"
			"         [--hi HEX] [--qhi HEX] [--gap N | --bad]\n"
			"         [--thread-euid UID] [--thread-nocaps] [--uffd] [--repeat N]\n"
			"         --mode OCTAL --uid N --gid N --qbytes N MSQID\n");
	exit(2);
}

static uint64_t num(const char *s, int base)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, base);
	if (!*s || *end || errno)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"entry", required_argument, NULL, 'e'},
	    {"hi", required_argument, NULL, 'h'},
	    {"qhi", required_argument, NULL, 'q'},
	    {"gap", required_argument, NULL, 'g'},
	    {"bad", no_argument, NULL, 'b'},
	    {"thread-euid", required_argument, NULL, 't'},
	    {"thread-nocaps", no_argument, NULL, 'c'},
	    {"mode", required_argument, NULL, 'M'},
	    {"uid", required_argument, NULL, 'U'},
	    {"gid", required_argument, NULL, 'G'},
	    {"qbytes", required_argument, NULL, 'Q'},
	    {"uffd", no_argument, NULL, 'u'},
	    {"repeat", required_argument, NULL, 'r'},
	    {},
	};
	struct result r = {0};
	const char *name;
	int c;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'e':
			for (c = 0; c < 4 && strcmp(optarg, entry_names[c]); c++)
				;
			if (c == 4)
				usage();
			o.entry = (enum entry)c;
			break;
		case 'h':
			o.hi = (uint32_t)num(optarg, 16);
			break;
		case 'q':
			o.qhi = (uint32_t)num(optarg, 16);
			break;
		case 'g':
			o.gap = (long)num(optarg, 10);
			break;
		case 'b':
			o.bad = 1;
			break;
		case 't':
			o.has_thread_euid = 1;
			o.thread_euid = (uid_t)num(optarg, 10);
			break;
		case 'c':
			o.thread_nocaps = 1;
			break;
		case 'M':
			o.mode = num(optarg, 8), o.n_set++;
			break;
		case 'U':
			o.uid = num(optarg, 0), o.n_set++;
			break;
		case 'G':
			o.gid = num(optarg, 0), o.n_set++;
			break;
		case 'Q':
			o.qbytes = num(optarg, 0), o.n_set++;
			break;
		case 'u':
			o.uffd = 1;
			break;
		case 'r':
			o.repeat = (long)num(optarg, 10);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || (o.n_set != 4 && !o.bad && !o.uffd) || o.gap > 4096 ||
	    o.repeat < 1 ||
	    (o.uffd && (o.bad || o.gap >= 0 || o.thread_nocaps || o.has_thread_euid)))
		usage();
	o.msqid = (int)num(argv[optind], 10);
	if (o.has_thread_euid || o.thread_nocaps) {
		pthread_t t;

		if (pthread_create(&t, NULL, thread_main, &r) || pthread_join(t, NULL)) {
			fprintf(stderr, "ipcset-probe: thread failed\n");
			return 2;
		}
	} else {
		for (long i = 0; i < o.repeat; i++)
			do_call(&r);
	}
	name = r.ret < 0 ? strerrorname_np(r.err) : "0";
	printf("ret=%ld errno=%s\n", r.ret, name ? name : "?");
	return 0;
}
