/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * try-msgctl: issue exactly one msgctl through a chosen entry point and ABI and
 * print what the kernel (or msgguard) answered as one line "ret=N errno=NAME".
 * The live tests run it with and without msgguard-shim and compare the lines.
 * Built twice from this file: 64-bit (tests/try-msgctl) and -m32
 * (tests/try-msgctl32). It makes no other msgctl than the tested one.
 *
 *   try-msgctl [options] MSQID CMD     one call; prints "ret=N errno=NAME" (errno=0 when
 *                                      ret >= 0), exit 0; usage errors exit 2
 *   try-msgctl --nested-listener       try to install our own USER_NOTIF filter for msgctl
 *                                      (SECCOMP_FILTER_FLAG_NEW_LISTENER), same output line;
 *                                      --nested-flags HEX ORs more bits into the flags
 *                                      register (64-bit build: upper bits too)
 *   try-msgctl --list-fds              every open fd as "N TARGET"
 *
 * CMD is a name (IPC_RMID ... MSG_STAT_ANY) or a number (decimal or 0x hex); a negative
 * MSQID or CMD needs "--" before it. Options:
 *   --entry libc|msgctl|ipc   glibc msgctl() (default); the raw msgctl syscall (x86_64 71,
 *                             i386 402); i386 ipc(117) with call = 14 | version << 16
 *   --version N               ipc version bits (0..0xffff)
 *   --ipc64                   OR IPC_64 (0x100) into cmd
 *   --hi HEX, --qhi HEX       64-bit build: HEX << 32 in the cmd / msqid register
 *   --int80                   64-bit build: the i386 syscall through int $0x80 (buffer
 *                             below 4 GiB)
 *   --x32                     64-bit build: the x32 msgctl (0x40000000 | 71)
 *   --buf ok|null|bad         a zeroed 4 KiB buffer (default), NULL, or (void *)16
 *   --set-mode OCTAL --set-uid N --set-gid N --set-qbytes N
 *                             fill the buffer for IPC_SET in the layout of the path:
 *                             glibc's struct msqid_ds; x86_64 msqid64_ds; i386 compat
 *                             msqid64_ds (402, or ipc with IPC_64); i386 compat_msqid_ds
 *                             with 16-bit fields (ipc without IPC_64)
 *   --show                    after a successful stat or info command, append the fields
 *                             read back through the same layout (key uid ... / msgmax ...)
 *   --fork, --thread          make the call in a forked child / a second thread
 *   --ipcns PATH              the calling thread first joins the IPC namespace PATH
 *                             (setns; with --thread only the second thread moves)
 *
 * Note: i386 glibc converts the buffer itself (struct msqid_ds <-> msqid64_ds), so
 * --entry libc with --buf bad faults in glibc on the 32-bit build; use a raw entry there.
 * i386 glibc also refuses unknown commands with EINVAL without a system call.
 *
 * Buffer layouts follow include/uapi/asm-generic/msgbuf.h, ipc/msg.c
 * (struct compat_msqid_ds, struct compat_msqid64_ds) of Linux 6.x.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define NR_I386_IPC	 117
#define NR_I386_MSGCTL	 402
#define NR_X86_64_MSGCTL 71
#define X32_SYSCALL_BIT	 0x40000000
#define IPC_CALL_MSGCTL	 14
#define CMD_IPC_64	 0x100
#define BUF_SIZE	 4096

#if defined(__x86_64__) && !defined(__ILP32__)
#define NATIVE_64	  1
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#else
#define NATIVE_64	  0
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_I386
#endif

enum entry { ENTRY_LIBC, ENTRY_MSGCTL, ENTRY_IPC };
enum bufkind { BUF_OK, BUF_NULL, BUF_BAD };

/* How the kernel will read and write the buffer for this path. */
enum layout {
	LAYOUT_LIBC,	   /* glibc's struct msqid_ds; glibc converts */
	LAYOUT_NATIVE64,   /* x86_64 struct msqid64_ds, 120 bytes */
	LAYOUT_COMPAT64,   /* i386 struct msqid64_ds, 88 bytes */
	LAYOUT_COMPAT_OLD, /* i386 struct compat_msqid_ds, 16-bit ids */
};

struct options {
	enum entry entry;
	enum bufkind buf;
	unsigned version;
	int ipc64, int80, x32, show, in_fork, in_thread;
	uint32_t hi, qhi;
	const char *ipcns;
	uint64_t nested_flags;
	int has_set[4]; /* mode, uid, gid, qbytes */
	uint64_t set[4];
	int msqid, cmd;
};

/* The outcome of the tested call, printed by the thread that made it. */
struct result {
	long ret;
	int err;
};

static const struct {
	const char *name;
	int value;
} cmd_names[] = {
    {"IPC_RMID", IPC_RMID}, {"IPC_SET", IPC_SET},   {"IPC_STAT", IPC_STAT}, {"IPC_INFO", IPC_INFO},
    {"MSG_STAT", MSG_STAT}, {"MSG_INFO", MSG_INFO}, {"MSG_STAT_ANY", 13},
};

static __attribute__((noreturn)) void usage(const char *why)
{
	fprintf(stderr, "try-msgctl: %s\n", why);
	fprintf(stderr, "usage: try-msgctl [--entry libc|msgctl|ipc] [--version N] [--ipc64]\n"
			"         [--hi HEX] [--qhi HEX] [--int80] [--x32] [--buf ok|null|bad]\n"
			"         [--set-mode OCTAL --set-uid N --set-gid N --set-qbytes N]\n"
			"         [--show] [--fork|--thread] [--ipcns PATH] MSQID CMD\n"
			"       try-msgctl --nested-listener [--nested-flags HEX] | --list-fds\n");
	exit(2);
}

/* Decimal (optionally negative) or 0x hex, truncated to 64 bits. */
static int parse_u64(const char *s, int base, uint64_t *ret)
{
	char *end;
	int neg = 0;

	if (*s == '-' && base == 10) {
		neg = 1;
		s++;
	}
	if (base == 10 && (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')))
		base = 16;
	if (!*s)
		return -1;
	errno = 0;
	uint64_t v = strtoull(s, &end, base);
	if (errno || *end || *s == '-' || *s == '+')
		return -1;
	*ret = neg ? (uint64_t) - (int64_t)v : v;
	return 0;
}

static int parse_int32(const char *s, int *ret)
{
	uint64_t v;

	if (parse_u64(s, 10, &v) < 0)
		return -1;
	if ((int64_t)v < INT32_MIN || ((int64_t)v > 0 && v > UINT32_MAX))
		return -1;
	*ret = (int)(uint32_t)v;
	return 0;
}

static int parse_cmd(const char *s, int *ret)
{
	for (size_t i = 0; i < sizeof(cmd_names) / sizeof(cmd_names[0]); i++)
		if (strcmp(s, cmd_names[i].name) == 0) {
			*ret = cmd_names[i].value;
			return 0;
		}
	return parse_int32(s, ret);
}

static const char *errno_name(int err, char *tmp, size_t n)
{
	const char *name = err ? strerrorname_np(err) : "0";

	if (name)
		return name;
	snprintf(tmp, n, "E%d", err);
	return tmp;
}

/* ---- building and reading the buffer ------------------------------------ */

static enum layout path_layout(const struct options *o)
{
	if (o->entry == ENTRY_LIBC)
		return LAYOUT_LIBC;
	if (NATIVE_64 && !o->int80)
		return LAYOUT_NATIVE64; /* x32 shares it */
	if (o->entry == ENTRY_MSGCTL)
		return LAYOUT_COMPAT64; /* 402 always passes IPC_64 */
	return (o->cmd & CMD_IPC_64) ? LAYOUT_COMPAT64 : LAYOUT_COMPAT_OLD;
}

static void put(unsigned char *b, size_t off, uint64_t v, size_t width)
{
	memcpy(b + off, &v, width); /* little endian */
}

static uint64_t get(const unsigned char *b, size_t off, size_t width)
{
	uint64_t v = 0;

	memcpy(&v, b + off, width);
	return v;
}

/* Offsets and widths of the fields we set or show, per layout. */
struct fields {
	size_t key, uid, gid, cuid, cgid, mode, qbytes, qnum;
	size_t id_w, mode_w, q_w;
};

static const struct fields layout_fields[] = {
    [LAYOUT_NATIVE64] = {0, 4, 8, 12, 16, 20, 88, 80, 4, 4, 8},
    [LAYOUT_COMPAT64] = {0, 4, 8, 12, 16, 20, 68, 64, 4, 2, 4},
    [LAYOUT_COMPAT_OLD] = {0, 4, 6, 8, 10, 12, 48, 46, 2, 2, 2},
};

static void fill_set_buffer(const struct options *o, unsigned char *b)
{
	enum layout l = path_layout(o);

	if (l == LAYOUT_LIBC) {
		struct msqid_ds *ds = (struct msqid_ds *)b;

		ds->msg_perm.mode = (unsigned short)o->set[0];
		ds->msg_perm.uid = (uid_t)o->set[1];
		ds->msg_perm.gid = (gid_t)o->set[2];
		ds->msg_qbytes = (msglen_t)o->set[3];
		return;
	}
	const struct fields *f = &layout_fields[l];
	put(b, f->mode, o->set[0], f->mode_w);
	put(b, f->uid, o->set[1], f->id_w);
	put(b, f->gid, o->set[2], f->id_w);
	put(b, f->qbytes, o->set[3], f->q_w);
}

static void show_stat(const struct options *o, const unsigned char *b)
{
	enum layout l = path_layout(o);

	if (l == LAYOUT_LIBC) {
		const struct msqid_ds *ds = (const void *)b;

		printf(" key=0x%08x uid=%u gid=%u cuid=%u cgid=%u mode=0%o qbytes=%lu qnum=%lu",
		       (unsigned)ds->msg_perm.__key, (unsigned)ds->msg_perm.uid,
		       (unsigned)ds->msg_perm.gid, (unsigned)ds->msg_perm.cuid,
		       (unsigned)ds->msg_perm.cgid, (unsigned)ds->msg_perm.mode,
		       (unsigned long)ds->msg_qbytes, (unsigned long)ds->msg_qnum);
		return;
	}
	const struct fields *f = &layout_fields[l];
	printf(" key=0x%08x uid=%" PRIu64 " gid=%" PRIu64 " cuid=%" PRIu64 " cgid=%" PRIu64
	       " mode=0%" PRIo64 " qbytes=%" PRIu64 " qnum=%" PRIu64,
	       (unsigned)get(b, f->key, 4), get(b, f->uid, f->id_w), get(b, f->gid, f->id_w),
	       get(b, f->cuid, f->id_w), get(b, f->cgid, f->id_w), get(b, f->mode, f->mode_w),
	       get(b, f->qbytes, f->q_w), get(b, f->qnum, f->q_w));
}

/* struct msginfo is 7 ints and a short on every ABI. */
static void show_info(const unsigned char *b)
{
	printf(" msgmax=%d msgmnb=%d msgmni=%d", (int)get(b, 8, 4), (int)get(b, 12, 4),
	       (int)get(b, 16, 4));
}

static void print_result(const struct options *o, const struct result *r, const void *buf)
{
	char tmp[16];
	int base = o->cmd & ~CMD_IPC_64;

	printf("ret=%ld errno=%s", r->ret, errno_name(r->ret < 0 ? r->err : 0, tmp, sizeof(tmp)));
	if (o->show && r->ret >= 0 && o->buf == BUF_OK) {
		if (base == IPC_STAT || base == MSG_STAT || base == 13)
			show_stat(o, buf);
		else if (base == IPC_INFO || base == MSG_INFO)
			show_info(buf);
	}
	printf("\n");
	fflush(stdout);
}

/* ---- issuing the call ------------------------------------------------------ */

#if NATIVE_64
/* An i386 system call from 64-bit code: int $0x80 takes ebx ecx edx esi edi ebp. */
static long int80(long nr, long a, long b, long c, long d, long e, long f)
{
	long ret;

	__asm__ volatile("sub $128, %%rsp\n\t" /* keep clear of the red zone */
			 "push %%rbp\n\t"
			 "mov %[f], %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp\n\t"
			 "add $128, %%rsp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e), [f] "r"(f)
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	ret = (int)ret;
	if (ret < 0 && ret > -4096) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}
#endif

static long do_call(const struct options *o, void *buf)
{
	uint64_t q = (uint64_t)o->qhi << 32 | (uint32_t)o->msqid;
	uint64_t c = (uint64_t)o->hi << 32 | (uint32_t)o->cmd;
	unsigned long call = IPC_CALL_MSGCTL | (unsigned long)o->version << 16;

	if (o->entry == ENTRY_LIBC)
		return msgctl(o->msqid, o->cmd, buf);
#if NATIVE_64
	if (o->int80) {
		if (o->entry == ENTRY_MSGCTL)
			return int80(NR_I386_MSGCTL, (long)q, (long)c, (long)buf, 0, 0, 0);
		return int80(NR_I386_IPC, (long)call, (long)q, (long)c, 0, (long)buf, 0);
	}
	if (o->x32)
		return syscall(X32_SYSCALL_BIT | NR_X86_64_MSGCTL, q, c, buf);
	return syscall(NR_X86_64_MSGCTL, q, c, buf);
#else
	(void)q;
	(void)c;
	if (o->entry == ENTRY_MSGCTL)
		return syscall(NR_I386_MSGCTL, o->msqid, o->cmd, buf);
	return syscall(NR_I386_IPC, call, o->msqid, o->cmd, 0, buf, 0);
#endif
}

static void *buffer_alloc(const struct options *o)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;

#if NATIVE_64
	if (o->int80)
		flags |= MAP_32BIT; /* compat pointers are 32 bits */
#endif
	void *b = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (b == MAP_FAILED) {
		perror("try-msgctl: mmap");
		exit(2);
	}
	return b;
}

/* Move the calling thread (only) into another IPC namespace. */
static void join_ipcns(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWIPC) < 0) {
		fprintf(stderr, "try-msgctl: setns %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
}

static void run_call(const struct options *o)
{
	unsigned char *mem = buffer_alloc(o);
	void *buf = o->buf == BUF_OK ? mem : o->buf == BUF_NULL ? NULL : (void *)16;
	struct result r;

	if (o->ipcns)
		join_ipcns(o->ipcns);
	if (o->has_set[0])
		fill_set_buffer(o, mem);
	errno = 0;
	r.ret = do_call(o, buf);
	r.err = errno;
	print_result(o, &r, mem);
}

static void *thread_main(void *arg)
{
	run_call(arg);
	return NULL;
}

static int run_in_thread(const struct options *o)
{
	pthread_t t;
	int r = pthread_create(&t, NULL, thread_main, (void *)o);

	if (r) {
		fprintf(stderr, "try-msgctl: pthread_create: %s\n", strerror(r));
		return 2;
	}
	pthread_join(t, NULL);
	return 0;
}

static int run_in_child(const struct options *o)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		perror("try-msgctl: fork");
		return 2;
	}
	if (pid == 0) {
		run_call(o);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0) {
		perror("try-msgctl: waitpid");
		return 2;
	}
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* ---- the other modes ----------------------------------------------------- */

/* Try to become a supervisor of our own msgctl calls: must fail under msgguard. */
static int nested_listener(uint64_t extra_flags)
{
	struct sock_filter insns[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_NATIVE, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_64 ? NR_X86_64_MSGCTL : NR_I386_MSGCTL, 0,
		     1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	char tmp[16];

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("try-msgctl: PR_SET_NO_NEW_PRIVS");
		return 2;
	}
	errno = 0;
	long ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			   (unsigned long)(SECCOMP_FILTER_FLAG_NEW_LISTENER | extra_flags), &prog);
	printf("ret=%ld errno=%s\n", ret, errno_name(ret < 0 ? errno : 0, tmp, sizeof(tmp)));
	return 0;
}

/* Every open fd as "N TARGET", to prove no listener leaked into the service. */
static int list_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d) {
		perror("try-msgctl: /proc/self/fd");
		return 2;
	}
	while ((e = readdir(d))) {
		char path[300], target[4096];
		ssize_t n;

		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		printf("%s %s\n", e->d_name, target);
	}
	closedir(d);
	return 0;
}

/* ---- options -------------------------------------------------------------- */

enum {
	OPT_ENTRY = 256,
	OPT_VERSION,
	OPT_IPC64,
	OPT_HI,
	OPT_QHI,
	OPT_INT80,
	OPT_X32,
	OPT_BUF,
	OPT_SET_MODE,
	OPT_SET_UID,
	OPT_SET_GID,
	OPT_SET_QBYTES,
	OPT_SHOW,
	OPT_FORK,
	OPT_THREAD,
	OPT_NESTED,
	OPT_LIST_FDS,
	OPT_IPCNS,
	OPT_NESTED_FLAGS,
};

static const struct option longopts[] = {
    {"entry", required_argument, NULL, OPT_ENTRY},
    {"version", required_argument, NULL, OPT_VERSION},
    {"ipc64", no_argument, NULL, OPT_IPC64},
    {"hi", required_argument, NULL, OPT_HI},
    {"qhi", required_argument, NULL, OPT_QHI},
    {"int80", no_argument, NULL, OPT_INT80},
    {"x32", no_argument, NULL, OPT_X32},
    {"buf", required_argument, NULL, OPT_BUF},
    {"set-mode", required_argument, NULL, OPT_SET_MODE},
    {"set-uid", required_argument, NULL, OPT_SET_UID},
    {"set-gid", required_argument, NULL, OPT_SET_GID},
    {"set-qbytes", required_argument, NULL, OPT_SET_QBYTES},
    {"show", no_argument, NULL, OPT_SHOW},
    {"fork", no_argument, NULL, OPT_FORK},
    {"thread", no_argument, NULL, OPT_THREAD},
    {"nested-listener", no_argument, NULL, OPT_NESTED},
    {"list-fds", no_argument, NULL, OPT_LIST_FDS},
    {"ipcns", required_argument, NULL, OPT_IPCNS},
    {"nested-flags", required_argument, NULL, OPT_NESTED_FLAGS},
    {},
};

static void parse_entry(const char *s, struct options *o)
{
	if (strcmp(s, "libc") == 0)
		o->entry = ENTRY_LIBC;
	else if (strcmp(s, "msgctl") == 0)
		o->entry = ENTRY_MSGCTL;
	else if (strcmp(s, "ipc") == 0)
		o->entry = ENTRY_IPC;
	else
		usage("--entry must be libc, msgctl or ipc");
}

static void parse_buf(const char *s, struct options *o)
{
	if (strcmp(s, "ok") == 0)
		o->buf = BUF_OK;
	else if (strcmp(s, "null") == 0)
		o->buf = BUF_NULL;
	else if (strcmp(s, "bad") == 0)
		o->buf = BUF_BAD;
	else
		usage("--buf must be ok, null or bad");
}

static uint64_t parse_num(const char *s, int base, const char *what)
{
	uint64_t v;

	if (parse_u64(s, base, &v) < 0)
		usage(what);
	return v;
}

static void parse_set(int which, const char *s, struct options *o)
{
	o->set[which] = parse_num(s, which == 0 ? 8 : 10, "bad --set-* value");
	o->has_set[which] = 1;
}

/* One option; returns 1 for a mode that runs instead of a call. */
static int parse_one(int c, const char *arg, struct options *o, int *mode)
{
	switch (c) {
	case OPT_ENTRY:
		parse_entry(arg, o);
		break;
	case OPT_VERSION:
		o->version = (unsigned)parse_num(arg, 10, "bad --version");
		if (o->version > 0xffff)
			usage("--version must be <= 0xffff");
		break;
	case OPT_IPC64:
		o->ipc64 = 1;
		break;
	case OPT_HI:
		o->hi = (uint32_t)parse_num(arg, 16, "bad --hi");
		break;
	case OPT_QHI:
		o->qhi = (uint32_t)parse_num(arg, 16, "bad --qhi");
		break;
	case OPT_INT80:
		o->int80 = 1;
		break;
	case OPT_X32:
		o->x32 = 1;
		break;
	case OPT_BUF:
		parse_buf(arg, o);
		break;
	case OPT_SET_MODE:
		parse_set(0, arg, o);
		break;
	case OPT_SET_UID:
		parse_set(1, arg, o);
		break;
	case OPT_SET_GID:
		parse_set(2, arg, o);
		break;
	case OPT_SET_QBYTES:
		parse_set(3, arg, o);
		break;
	case OPT_SHOW:
		o->show = 1;
		break;
	case OPT_FORK:
		o->in_fork = 1;
		break;
	case OPT_THREAD:
		o->in_thread = 1;
		break;
	case OPT_IPCNS:
		o->ipcns = arg;
		break;
	case OPT_NESTED_FLAGS:
		o->nested_flags = parse_num(arg, 16, "bad --nested-flags");
		break;
	case OPT_NESTED:
	case OPT_LIST_FDS:
		*mode = c;
		return 1;
	default:
		usage("unknown option");
	}
	return 0;
}

static void check_combination(const struct options *o)
{
	int n_set = o->has_set[0] + o->has_set[1] + o->has_set[2] + o->has_set[3];

	if (!NATIVE_64 && (o->hi || o->qhi || o->int80 || o->x32))
		usage("--hi, --qhi, --int80 and --x32 need the 64-bit build");
	if (o->entry == ENTRY_LIBC && (o->hi || o->qhi || o->int80 || o->x32 || o->version))
		usage("--hi, --qhi, --int80, --x32 and --version need --entry msgctl or ipc");
	if (NATIVE_64 && o->entry == ENTRY_IPC && !o->int80)
		usage("x86_64 has no ipc(2): --entry ipc needs --int80");
	if (o->x32 && (o->int80 || o->entry != ENTRY_MSGCTL))
		usage("--x32 needs --entry msgctl and no --int80");
	if (o->version && o->entry != ENTRY_IPC)
		usage("--version needs --entry ipc");
	if (n_set != 0 && n_set != 4)
		usage("give all of --set-mode, --set-uid, --set-gid, --set-qbytes or none");
	if (n_set && o->buf != BUF_OK)
		usage("--set-* needs --buf ok");
	if (o->in_fork && o->in_thread)
		usage("--fork and --thread exclude each other");
}

int main(int argc, char **argv)
{
	struct options o = {.entry = ENTRY_LIBC, .buf = BUF_OK};
	int c, mode = 0;

	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1)
		if (parse_one(c, optarg, &o, &mode))
			break;
	if (mode == OPT_NESTED) {
		/* options after --nested-listener */
		while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1)
			if (parse_one(c, optarg, &o, &mode))
				break;
		return nested_listener(o.nested_flags);
	}
	if (mode == OPT_LIST_FDS)
		return list_fds();
	if (argc - optind != 2)
		usage("need MSQID and CMD");
	if (parse_int32(argv[optind], &o.msqid) < 0)
		usage("bad MSQID");
	if (parse_cmd(argv[optind + 1], &o.cmd) < 0)
		usage("bad CMD");
	if (o.ipc64)
		o.cmd |= CMD_IPC_64;
	check_combination(&o);
	if (o.in_fork)
		return run_in_child(&o);
	if (o.in_thread)
		return run_in_thread(&o);
	run_call(&o);
	return 0;
}
