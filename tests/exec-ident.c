/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * exec-ident: make msgctl(MSQID, IPC_RMID) calls from one thread id while the
 * task behind it changes its name or its program, so that live-identity.test
 * can check that every decision record names the caller as it was at the time
 * of that call (msgguardd caches /proc handles per thread id, never answers).
 *
 *   exec-ident MSQID rename              call; rename itself "mg-renamed"; call
 *   exec-ident MSQID exec PROG ARG...    call; execv(PROG) from the same thread
 *   exec-ident MSQID thread-exec PROG ARG...
 *                                        call; a second thread calls, then execs
 *                                        PROG: the kernel gives it the leader's tid
 *
 * Every call's result is ignored (the policy decides them); errors of the
 * program itself exit 1, usage errors 2.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <unistd.h>

static int msqid;
static char **exec_argv;

static void call(void)
{
	(void)msgctl(msqid, IPC_RMID, NULL);
}

static void *second_thread(void *arg)
{
	(void)arg;
	call();
	execv(exec_argv[0], exec_argv);
	perror("exec-ident: execv");
	exit(1);
}

int main(int argc, char **argv)
{
	pthread_t t;

	if (argc < 3 || (strcmp(argv[2], "rename") != 0 && argc < 4)) {
		fprintf(stderr, "usage: exec-ident MSQID rename|exec|thread-exec [PROG ARG...]\n");
		return 2;
	}
	msqid = atoi(argv[1]);
	exec_argv = argv + 3;
	call();
	if (strcmp(argv[2], "rename") == 0) {
		if (prctl(PR_SET_NAME, "mg-renamed", 0, 0, 0) < 0)
			return perror("exec-ident: PR_SET_NAME"), 1;
		call();
		return 0;
	}
	if (strcmp(argv[2], "exec") == 0) {
		execv(exec_argv[0], exec_argv);
		return perror("exec-ident: execv"), 1;
	}
	if (strcmp(argv[2], "thread-exec") == 0) {
		if (pthread_create(&t, NULL, second_thread, NULL) != 0)
			return fprintf(stderr, "exec-ident: pthread_create failed\n"), 1;
		for (;;)
			pause(); /* the exec in the second thread ends this thread */
	}
	fprintf(stderr, "exec-ident: unknown mode %s\n", argv[2]);
	return 2;
}
