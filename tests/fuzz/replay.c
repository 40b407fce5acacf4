/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Corpus replay without libFuzzer: calls the target's LLVMFuzzerTestOneInput
 * on every file given, directories meaning every regular file in them (sorted,
 * dot files skipped), and prints TAP: "ok N - FILE" once a file went through.
 * A target that crashes takes the driver down: tests/fuzz/replay.test notices.
 *
 *	replay-TARGET DIR|FILE...
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned n_run, n_failed;

/* The whole file in a buffer of exactly its size, so overreads are caught. */
static int replay_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *data = NULL;
	size_t size = 0;
	long len;

	if (!f)
		goto fail;
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0)
		goto fail;
	size = (size_t)len;
	data = malloc(size ? size : 1);
	if (!data || (size > 0 && fread(data, 1, size, f) != size))
		goto fail;
	fclose(f);

	LLVMFuzzerTestOneInput(data, size);
	free(data);
	printf("ok %u - %s (%zu bytes)\n", ++n_run, path, size);
	fflush(stdout);
	return 0;
fail:
	printf("not ok %u - %s: cannot read: %s\n", ++n_run, path, strerror(errno));
	n_failed++;
	free(data);
	if (f)
		fclose(f);
	return -1;
}

static int skip_dot(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

static void replay_path(const char *path)
{
	struct dirent **names;
	struct stat st;
	int n;

	if (stat(path, &st) < 0) {
		printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
		n_failed++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		replay_file(path);
		return;
	}
	n = scandir(path, &names, skip_dot, alphasort);
	if (n < 0) {
		printf("not ok %u - %s: %s\n", ++n_run, path, strerror(errno));
		n_failed++;
		return;
	}
	if (n == 0) {
		printf("not ok %u - %s: empty corpus\n", ++n_run, path);
		n_failed++;
	}
	for (int i = 0; i < n; i++) {
		size_t len = strlen(path) + strlen(names[i]->d_name) + 2;
		char *file = malloc(len);

		if (!file) {
			perror("replay: malloc");
			exit(1);
		}
		snprintf(file, len, "%s/%s", path, names[i]->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode))
			replay_file(file);
		free(file);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++)
		replay_path(argv[i]);
	printf("1..%u\n", n_run);
	return n_failed ? 1 : 0;
}
