// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_run AREA - run the cases of ktask test module ktask_test_AREA
 *
 * Reads /sys/kernel/debug/ktask_test_AREA/cases, then writes each case
 * name to .../run, and reports one TAP result per case: a case whose run
 * fails with EOPNOTSUPP skipped (KT_SKIP()), for the reason in .../skip.
 * The module must be loaded.  Exits 0 when no case failed and one passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest.h"

#define MAX_CASES	1024
#define MAX_NAME	64

static char cases[MAX_CASES][MAX_NAME];

static int read_cases(const char *path)
{
	char line[MAX_NAME + 2];
	int n = 0;
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		ksft_exit_fail_msg("cannot open %s: %s\n", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		if (n == MAX_CASES || strlen(line) >= MAX_NAME)
			ksft_exit_fail_msg("%s: too many cases or name too long\n", path);
		strcpy(cases[n++], line);
	}
	if (ferror(f))
		ksft_exit_fail_msg("cannot read %s: %s\n", path, strerror(errno));
	fclose(f);
	return n;
}

/* Why the last case skipped, from @path, into @buf; false if unknown. */
static bool read_skip(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = !!fgets(buf, size, f);
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0];
}

/* Run one case; return 0 or the errno the run file's write failed with. */
static int run_case(const char *path, const char *name)
{
	size_t len = strlen(name);
	ssize_t ret;
	int fd, err;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return errno;
	ret = write(fd, name, len);
	err = ret < 0 ? errno : (size_t)ret == len ? 0 : EIO;
	close(fd);
	return err;
}

int main(int argc, char **argv)
{
	char dir[256], cases_path[300], run_path[300], skip_path[300];
	char why[256];
	int i, n, err;

	if (argc != 2) {
		fprintf(stderr, "usage: %s AREA\n", argv[0]);
		return KSFT_FAIL;
	}
	snprintf(dir, sizeof(dir), "/sys/kernel/debug/ktask_test_%s", argv[1]);
	snprintf(cases_path, sizeof(cases_path), "%s/cases", dir);
	snprintf(run_path, sizeof(run_path), "%s/run", dir);
	snprintf(skip_path, sizeof(skip_path), "%s/skip", dir);

	ksft_print_header();
	n = read_cases(cases_path);
	ksft_set_plan(n);
	for (i = 0; i < n; i++) {
		err = run_case(run_path, cases[i]);
		if (err == EOPNOTSUPP && read_skip(skip_path, why, sizeof(why)))
			ksft_test_result_skip("%s: %s\n", cases[i], why);
		else if (err)
			ksft_test_result_fail("%s: %s (errno %d)\n", cases[i],
					      strerror(err), err);
		else
			ksft_test_result_pass("%s\n", cases[i]);
	}
	ksft_finished();
}
