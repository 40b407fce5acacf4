/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * rawcall: one system call with every register under control, for
 * tests/adversarial/escape.test. Prints "ret=N errno=NAME".
 *
 *   rawcall [--int80] NR [ARG...]
 *
 * NR and up to six ARGs are 64-bit numbers (decimal, or 0x hex), passed as
 * they are: NR with upper bits set, x32 numbers (bit 30), and with --int80
 * the i386 entry (int $0x80, which reads only the low 32 bits of each
 * register; the full 64-bit NR still goes into rax).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long sys64(uint64_t nr, const uint64_t *a)
{
	long ret;
	register uint64_t r10 __asm__("r10") = a[3];
	register uint64_t r8 __asm__("r8") = a[4];
	register uint64_t r9 __asm__("r9") = a[5];

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static long sys80(uint64_t nr, const uint64_t *a)
{
	long ret;

	__asm__ volatile("sub $128, %%rsp\n\t"
			 "push %%rbp\n\t"
			 "mov %[f], %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp\n\t"
			 "add $128, %%rsp"
			 : "=a"(ret)
			 : "a"(nr), "b"(a[0]), "c"(a[1]), "d"(a[2]), "S"(a[3]),
			   "D"(a[4]), [f] "r"(a[5])
			 : "memory", "cc", "r8", "r9", "r10", "r11");
	return (int)ret;
}

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;
	int neg = *s == '-';

	errno = 0;
	v = strtoull(s + neg, &end, 0);
	if (!s[neg] || *end || errno) {
		fprintf(stderr, "rawcall: bad number '%s'\n", s);
		exit(2);
	}
	return neg ? (uint64_t) - (int64_t)v : v;
}

int main(int argc, char **argv)
{
	uint64_t a[6] = {0};
	int i = 1, int80 = 0;
	const char *name;
	long ret;

	if (argc > 1 && strcmp(argv[1], "--int80") == 0)
		int80 = 1, i++;
	if (argc - i < 1 || argc - i > 7) {
		fprintf(stderr, "usage: rawcall [--int80] NR [ARG...]\n");
		return 2;
	}
	for (int k = i + 1; k < argc; k++)
		a[k - i - 1] = num(argv[k]);
	ret = int80 ? sys80(num(argv[i]), a) : sys64(num(argv[i]), a);
	name = ret < 0 && ret > -4096 ? strerrorname_np((int)-ret) : "0";
	printf("ret=%ld errno=%s\n", ret < 0 && ret > -4096 ? -1 : ret, name ? name : "?");
	return 0;
}
