/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * supervise: a wrapped service that tries to answer its own msgctl calls,
 * for tests/adversarial/supervisor.test. Every mode prints one line per step
 * as "STEP: ret=N errno=NAME"; a step that would be a bypass also really
 * tries it (IPC_RMID of MSQID), so the test can check that the queue survived.
 *
 *   supervise --listen [--int80] [--tsync] [--flags-hi] [--wait FIFO] MSQID
 *       (after reading a line from FIFO, if given) install a seccomp filter of
 *       our own with SECCOMP_FILTER_FLAG_NEW_LISTENER that notifies msgctl
 *       (and i386 ipc/402), with the seccomp syscall issued natively or with
 *       int $0x80, optionally with TSYNC, optionally with garbage in the upper
 *       half of the flags register. If a listener comes back, a thread answers
 *       every notification with CONTINUE. Then IPC_RMID through msgctl (and
 *       with --int80 through i386 ipc). Steps: listen, rmid[, rmid-int80].
 *   supervise --steal PID MSQID
 *       pidfd_getfd() every seccomp listener fd of process PID (msgguardd),
 *       answer CONTINUE on all of them from threads, then try IPC_RMID up to
 *       200 times (racing the daemon for each notification). Steps: steal
 *       (ret = number of listeners obtained, or -1), rmid (the last answer;
 *       ret=0 as soon as one succeeds).
 *   supervise --poke PID
 *       the other ways at the daemon for a holder of CAP_SYS_PTRACE: ptrace
 *       PTRACE_ATTACH and PTRACE_SEIZE, a zero-length process_vm_writev, and
 *       through int $0x80 i386 ptrace attach, pidfd_getfd and
 *       process_vm_writev. Steps: attach, seize, vm-writev, attach-int80,
 *       getfd-int80, vm-writev-int80.
 *   supervise --ptrace-rewrite MSQID
 *       a traced child calls msgctl(MSQID, IPC_STAT); at its syscall-entry stop
 *       the parent rewrites the cmd register to IPC_RMID. seccomp runs after
 *       the entry stop, so the daemon must see (and deny) IPC_RMID. Steps:
 *       rewritten (1 when the register was changed), child.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>

#define NR_I386_IPC		  117
#define NR_I386_SECCOMP		  354
#define NR_I386_MSGCTL		  402
#define IPC_CALL_MSGCTL		  14
#define NR_I386_PTRACE		  26
#define NR_I386_PROCESS_VM_WRITEV 348
#define NR_I386_PIDFD_GETFD	  438
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void step(const char *name, long ret, int err)
{
	const char *e = ret < 0 ? strerrorname_np(err) : "0";

	printf("%s: ret=%ld errno=%s\n", name, ret, e ? e : "?");
	fflush(stdout);
}

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

/* Answer CONTINUE to everything arriving on the listeners in fds[]. */
struct server {
	int fds[64];
	int n;
};

static void *serve(void *arg)
{
	struct server *s = arg;
	struct pollfd p[64];
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	for (int i = 0; i < s->n; i++)
		p[i] = (struct pollfd){.fd = s->fds[i], .events = POLLIN};
	for (;;) {
		if (poll(p, (nfds_t)s->n, -1) < 0)
			continue;
		for (int i = 0; i < s->n; i++) {
			if (!(p[i].revents & POLLIN))
				continue;
			memset(&req, 0, sizeof(req));
			if (ioctl(p[i].fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
				continue;
			memset(&resp, 0, sizeof(resp));
			resp.id = req.id;
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			ioctl(p[i].fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		}
	}
	return NULL;
}

static void start_server(struct server *s)
{
	pthread_t t;

	if (s->n > 0 && pthread_create(&t, NULL, serve, s) == 0)
		pthread_detach(t);
}

static int do_listen(int use_int80, int tsync, int flags_hi, const char *wait_fifo, int msqid)
{
	struct sock_filter insns[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_msgctl, 3, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_I386_IPC, 2, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_I386_MSGCTL, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = {.len = sizeof(insns) / sizeof(insns[0]), .filter = insns};
	static struct server s;
	uint64_t flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
	long ret;
	int err;

	if (wait_fifo) {
		char line[16];
		FILE *f = fopen(wait_fifo, "r");

		if (!f || !fgets(line, sizeof(line), f)) {
			perror("supervise: fifo");
			return 2;
		}
		fclose(f);
	}
	if (tsync)
		flags |= SECCOMP_FILTER_FLAG_TSYNC;
	if (flags_hi)
		flags |= UINT64_C(0xdeadbeef) << 32;
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	errno = 0;
	if (use_int80) {
		/* struct compat_sock_fprog (u16 len, u32 filter) below 4 GiB */
		char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		uint32_t f32 = (uint32_t)(uintptr_t)(m + 64);

		if (m == MAP_FAILED) {
			perror("supervise: mmap");
			return 2;
		}
		memcpy(m + 64, insns, sizeof(insns));
		memcpy(m, &prog.len, sizeof(prog.len));
		memcpy(m + 4, &f32, sizeof(f32));
		ret = int80(NR_I386_SECCOMP, SECCOMP_SET_MODE_FILTER, (long)flags,
			    (long)(uintptr_t)m, 0, 0);
	} else {
		ret = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
	}
	err = errno;
	step("listen", ret, err);
	if (ret >= 0) {
		s.fds[s.n++] = (int)ret;
		start_server(&s);
	}
	errno = 0;
	ret = syscall(SYS_msgctl, msqid, IPC_RMID, NULL);
	step("rmid", ret, errno);
	if (use_int80) {
		errno = 0;
		ret = int80(NR_I386_IPC, IPC_CALL_MSGCTL, msqid, IPC_RMID, 0, 0);
		step("rmid-int80", ret, errno);
	}
	return 0;
}

static int do_steal(pid_t pid, int msqid)
{
	static struct server s;
	char dir[64], path[384], target[256];
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), last_err = 0;
	long ret = -1;
	struct dirent *e;
	DIR *d;

	if (pidfd < 0)
		last_err = errno;
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	d = pidfd < 0 ? NULL : opendir(dir);
	if (pidfd >= 0 && !d)
		last_err = errno;
	while (d && (e = readdir(d)) && s.n < 64) {
		ssize_t n;
		int fd;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0) {
			last_err = errno;
			continue;
		}
		target[n] = '\0';
		if (!strstr(target, "seccomp"))
			continue;
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, atoi(e->d_name), 0);
		if (fd < 0) {
			last_err = errno;
			/* the other door: reopen the magic link */
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0 && errno != ENXIO)
				last_err = errno;
		}
		if (fd >= 0)
			s.fds[s.n++] = fd;
	}
	if (d)
		closedir(d);
	step("steal", s.n > 0 ? s.n : -1, s.n > 0 ? 0 : last_err ? last_err : ENOENT);
	start_server(&s);
	for (int i = 0; i < 200; i++) {
		errno = 0;
		ret = syscall(SYS_msgctl, msqid, IPC_RMID, NULL);
		last_err = errno;
		if (ret == 0)
			break;
	}
	step("rmid", ret, last_err);
	return 0;
}

/* The other ways at the daemon a CAP_SYS_PTRACE holder has; each must be refused. */
static int do_poke(pid_t pid)
{
	struct iovec none = {0};
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	long r;

	errno = 0;
	r = ptrace(PTRACE_ATTACH, pid, 0, 0);
	step("attach", r, errno);
	if (r == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	errno = 0;
	r = ptrace(PTRACE_SEIZE, pid, 0, 0);
	step("seize", r, errno);
	if (r == 0)
		ptrace(PTRACE_DETACH, pid, 0, 0);
	/* zero-length: would touch nothing even if it were allowed */
	errno = 0;
	r = syscall(SYS_process_vm_writev, pid, &none, 0, &none, 0, 0);
	step("vm-writev", r, errno);
	errno = 0;
	r = int80(NR_I386_PTRACE, PTRACE_ATTACH, pid, 0, 0, 0);
	step("attach-int80", r, errno);
	if (r == 0) {
		waitpid(pid, NULL, __WALL);
		ptrace(PTRACE_DETACH, pid, 0, 0);
	}
	errno = 0;
	r = int80(NR_I386_PIDFD_GETFD, pidfd, 0, 0, 0, 0);
	step("getfd-int80", r, errno);
	errno = 0;
	r = int80(NR_I386_PROCESS_VM_WRITEV, pid, 0, 0, 0, 0);
	step("vm-writev-int80", r, errno);
	return 0;
}

static int do_ptrace_rewrite(int msqid)
{
	struct user_regs_struct regs;
	int status, rewritten = 0;
	pid_t child;
	int pipefd[2];

	if (pipe(pipefd) < 0)
		return 2;
	fflush(stdout);
	child = fork();
	if (child == 0) {
		struct msqid_ds st;
		long r;
		char line[64];
		int n;

		close(pipefd[0]);
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		errno = 0;
		r = syscall(SYS_msgctl, msqid, IPC_STAT, &st);
		n = snprintf(line, sizeof(line), "child: ret=%ld errno=%s\n", r,
			     r < 0 ? strerrorname_np(errno) : "0");
		if (write(pipefd[1], line, (size_t)n) < 0)
			_exit(3);
		_exit(0);
	}
	close(pipefd[1]);
	if (child < 0 || waitpid(child, &status, 0) < 0 || !WIFSTOPPED(status))
		return 2;
	ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, child, 0, 0) < 0 || waitpid(child, &status, 0) < 0)
			break;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			break;
		if (!WIFSTOPPED(status) || WSTOPSIG(status) != (SIGTRAP | 0x80))
			continue;
		if (ptrace(PTRACE_GETREGS, child, 0, &regs) < 0)
			break;
		/* syscall-entry stop of msgctl: rax is -ENOSYS there */
		if (regs.orig_rax == SYS_msgctl && (long)regs.rax == -ENOSYS && !rewritten) {
			regs.rsi = IPC_RMID;
			regs.rdx = 0;
			if (ptrace(PTRACE_SETREGS, child, 0, &regs) == 0)
				rewritten = 1;
		}
	}
	waitpid(child, &status, 0);
	step("rewritten", rewritten, 0);
	{
		char buf[128];
		ssize_t n = read(pipefd[0], buf, sizeof(buf) - 1);

		if (n > 0) {
			buf[n] = '\0';
			fputs(buf, stdout);
		} else {
			puts("child: no answer");
		}
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: supervise --listen [--int80] [--tsync] [--flags-hi] [--wait FIFO] MSQID\n"
		"       supervise --steal PID MSQID\n"
		"       supervise --ptrace-rewrite MSQID\n"
		"       supervise --poke PID\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
	    {"listen", no_argument, NULL, 'l'},
	    {"int80", no_argument, NULL, 'i'},
	    {"tsync", no_argument, NULL, 't'},
	    {"flags-hi", no_argument, NULL, 'h'},
	    {"wait", required_argument, NULL, 'w'},
	    {"steal", required_argument, NULL, 's'},
	    {"ptrace-rewrite", no_argument, NULL, 'p'},
	    {"poke", required_argument, NULL, 'k'},
	    {},
	};
	int c, mode = 0, use_int80 = 0, tsync = 0, flags_hi = 0;
	const char *wait_fifo = NULL;
	pid_t pid = 0;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l':
			mode = 'l';
			break;
		case 'i':
			use_int80 = 1;
			break;
		case 't':
			tsync = 1;
			break;
		case 'h':
			flags_hi = 1;
			break;
		case 'w':
			wait_fifo = optarg;
			break;
		case 's':
			mode = 's', pid = atoi(optarg);
			break;
		case 'k':
			mode = 'k', pid = atoi(optarg);
			break;
		case 'p':
			mode = 'p';
			break;
		default:
			usage();
		}
	}
	if (mode == 'k' && argc == optind)
		return do_poke(pid);
	if (!mode || argc - optind != 1)
		usage();
	c = atoi(argv[optind]);
	if (mode == 'l')
		return do_listen(use_int80, tsync, flags_hi, wait_fifo, c);
	if (mode == 's')
		return do_steal(pid, c);
	return do_ptrace_rewrite(c);
}
