// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_debugfs_test: what /sys/kernel/debug/ktask/ and the ktask
 * tracepoints show, for tasks in known states made by
 * ktask_test_introspect.ko (see its header for the commands).
 *
 * Run as root with ktask.ko and ktask_test_introspect.ko loaded
 * (test_debugfs.sh does that).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/klog.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"

#define KTASK_DIR	"/sys/kernel/debug/ktask/"
#define CTL		"/sys/kernel/debug/ktask_test_introspect/ctl"
#define IDS		"/sys/kernel/debug/ktask_test_introspect/ids"
#define TRACING		"/sys/kernel/debug/tracing/"
#define LONG_POLL	"/sys/module/ktask/parameters/long_poll_ms"
#define BUDGET		"/sys/module/ktask/parameters/budget"
#define STUCK_SECS	"/sys/module/ktask/parameters/stuck_task_secs"

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Read a whole file into a malloc()ed string, or NULL. */
static char *read_file(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	/* Small reads on purpose: the files page through seq_file. */
	while ((n = read(fd, buf + len, 512)) > 0) {
		len += n;
		if (cap - len < 513) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
	}
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

static unsigned long long task_id(const char *name)
{
	char *ids = read_file(IDS), *p;
	unsigned long long id = 0;
	char key[4];

	if (!ids)
		return 0;
	snprintf(key, sizeof(key), "%s ", name);
	for (p = ids; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, strlen(key)))
			id = strtoull(p + strlen(key), NULL, 10);
	free(ids);
	return id;
}

struct task_line {
	unsigned long long id;
	char rt[32], state[8], owner[64];
	unsigned long refs, polls, yields;
};

/* Find the tasks-file line of task @id; return 1 if found. */
static int find_task(const char *tasks, unsigned long long id,
		     struct task_line *t)
{
	const char *p;

	for (p = strchr(tasks, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		if (sscanf(p + 1, "%llu %31s %7s %lu %63s %lu %lu", &t->id, t->rt,
			   t->state, &t->refs, t->owner, &t->polls,
			   &t->yields) == 7 && t->id == id)
			return 1;
	}
	return 0;
}

/* The tasks-file line of task @id, malloc()ed, without its newline. */
static char *task_line_of(const char *tasks, unsigned long long id)
{
	char key[32];
	const char *p, *end;
	char *line;

	snprintf(key, sizeof(key), "%10llu ", id);
	for (p = tasks; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, key, strlen(key)))
			continue;
		end = strchr(p, '\n');
		line = strndup(p, end ? (size_t)(end - p) : strlen(p));
		return line;
	}
	return NULL;
}

/* Whether task @id's line contains @what. */
static int task_line_has(const char *tasks, unsigned long long id,
			 const char *what)
{
	char *line = task_line_of(tasks, id);
	int ret = line && strstr(line, what);

	if (!ret)
		fprintf(stderr, "# task %llu: no \"%s\" in: %s\n", id, what,
			line ? line : "(no line)");
	free(line);
	return ret;
}

/* Whether task @id's line ends with @what. */
static int task_line_ends(const char *tasks, unsigned long long id,
			  const char *what)
{
	char *line = task_line_of(tasks, id);
	size_t n = line ? strlen(line) : 0;
	int ret = line && n >= strlen(what) &&
		  !strcmp(line + n - strlen(what), what);

	if (!ret)
		fprintf(stderr, "# task %llu: line does not end in \"%s\": %s\n",
			id, what, line ? line : "(no line)");
	free(line);
	return ret;
}

static int count_lines_with(const char *text, const char *needle)
{
	int n = 0;

	for (; (text = strstr(text, needle)); text++)
		n++;
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

FIXTURE(known) {
	int setup;
};

FIXTURE_SETUP(known)
{
	self->setup = write_str(CTL, "setup");
	ASSERT_EQ(0, self->setup) TH_LOG("setup: %s", strerror(-self->setup));
}

FIXTURE_TEARDOWN(known)
{
	write_str(CTL, "release");
}

TEST_F(known, tasks_header)
{
	/* The stable header line, column by column (debugfs.rst). */
	static const char * const cols[] = {
		"        id", " runtime         ", " state  ", " refs",
		" owner              ", " polls", " yields", "   age_us",
		"    idle_us", "  spawn_site", " self_wakes", " wait",
		" wait_site", " placed", " name", "\n",
	};
	char *tasks = read_file(KTASK_DIR "tasks");
	char header[200] = "";
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cols); i++)
		strcat(header, cols[i]);
	ASSERT_NE(NULL, tasks);
	EXPECT_EQ(0, strncmp(tasks, header, strlen(header)))
		TH_LOG("header: %.*s", (int)strlen(header), tasks);
	free(tasks);
}

TEST_F(known, tasks_states_and_refs)
{
	char *tasks = read_file(KTASK_DIR "tasks");
	struct task_line t;

	ASSERT_NE(NULL, tasks);
	/* A: parked, C's waker in its join slot; owned list + handle. */
	ASSERT_EQ(1, find_task(tasks, task_id("A"), &t));
	EXPECT_STREQ("introspect", t.rt);
	EXPECT_STREQ("---JW-", t.state);
	EXPECT_EQ(2, t.refs);
	EXPECT_EQ(1, t.polls);
	EXPECT_EQ(0, t.yields);
	EXPECT_STREQ("ktask_test_introspect", t.owner);
	/* Placement and name, the last two columns; A has neither. */
	EXPECT_TRUE(task_line_ends(tasks, task_id("A"), " - - -"));
	/* B: parked; owned list + handle + abort handle. */
	ASSERT_EQ(1, find_task(tasks, task_id("B"), &t));
	EXPECT_STREQ("---J--", t.state);
	EXPECT_EQ(3, t.refs);
	EXPECT_EQ(1, t.polls);
	EXPECT_TRUE(task_line_ends(tasks, task_id("B"), " - cpu0 kti task B"));
	/* C: parked poll-joining A; owned list + handle + its waker in A. */
	ASSERT_EQ(1, find_task(tasks, task_id("C"), &t));
	EXPECT_STREQ("---J--", t.state);
	EXPECT_EQ(3, t.refs);
	/* E completed and F was cancelled: no longer listed. */
	EXPECT_EQ(0, find_task(tasks, task_id("E"), &t));
	EXPECT_EQ(0, find_task(tasks, task_id("F"), &t));
	free(tasks);
}

TEST_F(known, runtimes_line)
{
	char *rts = read_file(KTASK_DIR "runtimes");
	char name[32], owner[64], flags[16];
	unsigned int budget, polls, shards;
	long alive;
	char *p;
	int n;

	ASSERT_NE(NULL, rts);
	p = strstr(rts, "\nintrospect ");
	ASSERT_NE(NULL, p);
	n = sscanf(p + 1, "%31s %63s %15s %u %u %u %ld", name, owner, flags,
		   &budget, &polls, &shards, &alive);
	ASSERT_EQ(7, n);
	EXPECT_STREQ("ktask_test_introspect", owner);
	EXPECT_STREQ("0x0004", flags);	/* KTASK_RT_HISTOGRAMS */
	EXPECT_EQ(16, budget);
	EXPECT_EQ(128, polls);
	EXPECT_EQ(3, alive);	/* A, B, C */
	free(rts);
}

/* Sum the counts of the histograms file's lines of @rt and @what. */
static long long hist_count(const char *hist, const char *rt,
			    const char *what)
{
	char name[32], kind[16], to[32];
	unsigned long long from, count;
	long long sum = 0;
	const char *line;

	for (line = strchr(hist, '\n'); line && line[1];
	     line = strchr(line + 1, '\n')) {
		if (sscanf(line + 1, "%31s %15s %llu %31s %llu", name, kind,
			   &from, to, &count) != 5)
			return -1;
		if (!strcmp(name, rt) && !strcmp(kind, what))
			sum += count;
	}
	return sum;
}

TEST_F(known, histograms_count_every_poll)
{
	static const char header[] =
		"runtime          what          from_ns        to_ns        count\n";
	char *hist = read_file(KTASK_DIR "histograms");
	char *stats = read_file(KTASK_DIR "stats");
	unsigned long long polls;
	char *p;
	int n;

	ASSERT_NE(NULL, hist);
	ASSERT_NE(NULL, stats);
	EXPECT_EQ(0, strncmp(hist, header, strlen(header)));
	p = strstr(stats, "\nintrospect       all ");
	ASSERT_NE(NULL, p);
	n = sscanf(p + 1, "%*s %*s %*u %*u %*u %llu", &polls);
	ASSERT_EQ(1, n);
	/* The known tasks are parked: no poll runs between the reads. */
	EXPECT_LT(0, polls);
	EXPECT_EQ((long long)polls, hist_count(hist, "introspect", "poll"))
		TH_LOG("%s", hist);
	EXPECT_EQ((long long)polls, hist_count(hist, "introspect", "schedule"))
		TH_LOG("%s", hist);
	free(stats);
	free(hist);
}

TEST_F(known, stats_counters)
{
	unsigned long long spawned, completed, cancelled;
	char *stats = read_file(KTASK_DIR "stats");
	char *p;
	int n;

	ASSERT_NE(NULL, stats);
	p = strstr(stats, "\nintrospect       all ");
	ASSERT_NE(NULL, p) TH_LOG("%s", stats);
	n = sscanf(p + 1, "%*s %*s %llu %llu %llu", &spawned, &completed,
		   &cancelled);
	ASSERT_EQ(3, n);
	EXPECT_EQ(5, spawned);
	EXPECT_EQ(1, completed);
	EXPECT_EQ(1, cancelled);
	EXPECT_NE(NULL, strstr(stats, "\ntasks_alive "));
	EXPECT_EQ(0, strncmp(stats, "cells_allocated ", 16));
	free(stats);
}

/* A spinning poll shows as running and is reported, once, as long. */
TEST_F(known, long_poll_detector)
{
	char *tasks, *log, needle[96], other[96];
	static char klog[1 << 20];
	unsigned long long d;
	struct task_line t;
	int n, i;

	ASSERT_EQ(0, write_str(LONG_POLL, "20"));
	ASSERT_EQ(0, write_str(CTL, "spin_start"));
	d = task_id("D");
	tasks = read_file(KTASK_DIR "tasks");
	ASSERT_NE(NULL, tasks);
	EXPECT_EQ(1, find_task(tasks, d, &t));
	EXPECT_STREQ("R--J--", t.state);
	EXPECT_EQ(3, t.refs);	/* + the running poll's notification */
	free(tasks);
	snprintf(needle, sizeof(needle),
		 "ktask: long poll: task %llu (kti spinner D) of runtime introspect", d);
	for (i = 0; i < 100; i++) {
		sleep_ms(20);
		n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, klog, sizeof(klog) - 1);
		klog[n > 0 ? n : 0] = '\0';
		if (strstr(klog, needle))
			break;
	}
	sleep_ms(100);	/* time for a second report, which must not come */
	ASSERT_EQ(0, write_str(CTL, "spin_stop"));
	write_str(LONG_POLL, "50");
	n = klogctl(3, klog, sizeof(klog) - 1);
	klog[n > 0 ? n : 0] = '\0';
	EXPECT_EQ(1, count_lines_with(klog, needle)) TH_LOG("no single report of task %llu", d);
	log = strstr(klog, needle);
	EXPECT_NE(NULL, log ? strstr(log, "spawned at ") : NULL);
	/* The parked tasks were never polled for long. */
	snprintf(other, sizeof(other), "long poll: task %llu ", task_id("A"));
	EXPECT_EQ(NULL, strstr(klog, other));
	snprintf(other, sizeof(other), "long poll: task %llu ", task_id("C"));
	EXPECT_EQ(NULL, strstr(klog, other));
}

/*
 * What each parked task waits on, and where its poll function parked:
 * a wait queue, a sleep and a completion by their static objects' names,
 * a poll-join by the joined task's id, and nothing for a task that parked
 * without taking its waker.  G yielded twice before it parked: two
 * self-wakes.
 */
TEST_F(known, wait_sites)
{
	char *tasks, want[96];

	ASSERT_EQ(0, write_str(CTL, "wait_sites"));
	tasks = read_file(KTASK_DIR "tasks");
	ASSERT_NE(NULL, tasks);
	EXPECT_TRUE(task_line_has(tasks, task_id("G"),
				  " 2 queue:kti_wq waitsite_queue_poll+"));
	EXPECT_TRUE(task_line_has(tasks, task_id("H"),
				  " 0 sleep:kti_sleep waitsite_sleep_poll+"));
	EXPECT_TRUE(task_line_has(tasks, task_id("I"),
				  " 0 completion:kti_done waitsite_completion_poll+"));
	snprintf(want, sizeof(want), " 0 join:%llu joiner_poll+",
		 task_id("A"));
	EXPECT_TRUE(task_line_has(tasks, task_id("C"), want));
	EXPECT_TRUE(task_line_has(tasks, task_id("A"), "] 0 - -"));
	free(tasks);
}

/* Wait up to @secs for @needle in the kernel log; return its count then. */
static int klog_wait_for(const char *needle, int secs, char *klog, int cap)
{
	int i, n;

	for (i = 0; i < secs * 10; i++) {
		n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, klog, cap - 1);
		klog[n > 0 ? n : 0] = '\0';
		if (strstr(klog, needle))
			break;
		sleep_ms(100);
	}
	/* Time for a second scan, whose report must not come. */
	sleep_ms(1500);
	n = klogctl(3, klog, cap - 1);
	klog[n > 0 ? n : 0] = '\0';
	return count_lines_with(klog, needle);
}

/* A task idle past stuck_task_secs is reported once, with its wait site. */
TEST_F(known, stuck_task_report)
{
	static char klog[1 << 20];
	char *old, needle[96], *log;
	int n;

	old = read_file(STUCK_SECS);
	ASSERT_NE(NULL, old);
	ASSERT_EQ(0, write_str(STUCK_SECS, "1"));
	ASSERT_EQ(0, write_str(CTL, "wait_sites"));
	snprintf(needle, sizeof(needle),
		 "ktask: task %llu (kti waiter G) of runtime introspect stuck: ",
		 task_id("G"));
	n = klog_wait_for(needle, 15, klog, sizeof(klog));
	write_str(STUCK_SECS, old);
	free(old);
	EXPECT_EQ(1, n) TH_LOG("no single report of task G");
	log = strstr(klog, needle);
	ASSERT_NE(NULL, log);
	*strchrnul(log, '\n') = '\0';
	EXPECT_NE(NULL, strstr(log, "spawned at cmd_wait_sites+")) TH_LOG("%s", log);
	EXPECT_NE(NULL, strstr(log, "waits on queue:kti_wq at waitsite_queue_poll+"))
		TH_LOG("%s", log);
}

/*
 * A parked without taking its waker, and only C's join handle holds it:
 * nothing can wake it, which is reported once.  B (an abort handle) and C
 * (its waker in A's join slot) are not.
 */
TEST_F(known, lost_waker_report)
{
	static char klog[1 << 20];
	char needle[96];
	int n;

	snprintf(needle, sizeof(needle),
		 "ktask: task %llu of runtime introspect lost its waker",
		 task_id("A"));
	n = klog_wait_for(needle, 15, klog, sizeof(klog));
	EXPECT_EQ(1, n) TH_LOG("no single report of task A");
	snprintf(needle, sizeof(needle),
		 "ktask: task %llu (kti task B) of runtime introspect lost",
		 task_id("B"));
	EXPECT_EQ(NULL, strstr(klog, needle));
	snprintf(needle, sizeof(needle), "ktask: task %llu of runtime introspect lost",
		 task_id("C"));
	EXPECT_EQ(NULL, strstr(klog, needle));
}

/*
 * J and K poll-join each other: each shows "join:" the other, and the scan
 * reports the cycle, once, naming both.
 */
TEST_F_TIMEOUT(known, join_cycle_report, 60)
{
	static char klog[1 << 20];
	unsigned long long j, k;
	char *old, *tasks, needle[96], want[64], *log;
	int n;

	old = read_file(STUCK_SECS);
	ASSERT_NE(NULL, old);
	/* Scans every half second, so that a second report would show. */
	ASSERT_EQ(0, write_str(STUCK_SECS, "1"));
	ASSERT_EQ(0, write_str(CTL, "join_cycle"));
	j = task_id("J");
	k = task_id("K");
	tasks = read_file(KTASK_DIR "tasks");
	ASSERT_NE(NULL, tasks);
	snprintf(want, sizeof(want), " join:%llu cycler_poll+", k);
	EXPECT_TRUE(task_line_has(tasks, j, want));
	snprintf(want, sizeof(want), " join:%llu cycler_poll+", j);
	EXPECT_TRUE(task_line_has(tasks, k, want));
	free(tasks);
	snprintf(needle, sizeof(needle), "ktask: join cycle of 2 tasks: task %llu ",
		 j < k ? j : k);
	n = klog_wait_for(needle, 20, klog, sizeof(klog));
	write_str(STUCK_SECS, old);
	free(old);
	EXPECT_EQ(1, n) TH_LOG("no single report of the cycle of %llu and %llu", j, k);
	log = strstr(klog, needle);
	ASSERT_NE(NULL, log);
	*strchrnul(log, '\n') = '\0';
	snprintf(want, sizeof(want), "joins task %llu ", j < k ? k : j);
	EXPECT_NE(NULL, strstr(log, want)) TH_LOG("%s", log);
	EXPECT_NE(NULL, strstr(log, "spawned at cmd_join_cycle+")) TH_LOG("%s", log);
}

/* Read all of an open file in small reads, from where it is now. */
static size_t read_rest(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, 100)) > 0)
		len += n;
	buf[len] = '\0';
	return len;
}

/* Reading the same open file again from 0 shows it all again. */
TEST_F(known, tasks_reread_after_lseek)
{
	static char first[65536], second[65536];
	char id[32];
	int fd;

	fd = open(KTASK_DIR "tasks", O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read_rest(fd, first, sizeof(first)));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	ASSERT_LT(0, read_rest(fd, second, sizeof(second)));
	close(fd);
	/* The header and the known parked task, both times. */
	EXPECT_EQ(0, strncmp(first, "        id runtime", 18));
	EXPECT_EQ(0, strncmp(second, "        id runtime", 18));
	snprintf(id, sizeof(id), "\n%10llu introspect ", task_id("A"));
	EXPECT_NE(NULL, strstr(first, id));
	EXPECT_NE(NULL, strstr(second, id)) TH_LOG("second read: %s", second);
}

/* The budget parameter refuses values that would starve or overflow. */
TEST(budget_param_bounds)
{
	char *old = read_file(BUDGET);

	ASSERT_NE(NULL, old);
	EXPECT_EQ(-EINVAL, write_str(BUDGET, "0"));
	EXPECT_EQ(-EINVAL, write_str(BUDGET, "65536"));
	EXPECT_EQ(0, write_str(BUDGET, "1"));
	EXPECT_EQ(0, write_str(BUDGET, old));
	free(old);
}

/* Reads of tasks while 10,000 tasks churn on both CPUs. */
TEST_F_TIMEOUT(known, tasks_read_during_churn, 240)
{
	int reads = 0, ret;
	char *tasks;

	ASSERT_EQ(0, write_str(CTL, "churn_start"));
	for (reads = 0; reads < 200; reads++) {
		tasks = read_file(KTASK_DIR "tasks");
		ASSERT_NE(NULL, tasks);
		free(tasks);
		free(read_file(KTASK_DIR "stats"));
	}
	ret = write_str(CTL, "churn_wait");
	EXPECT_EQ(0, ret) TH_LOG("churn: %s", strerror(-ret));
}

/* With the ktask events on, a task's life shows in order with its id. */
TEST_F(known, tracepoints_in_order)
{
	static const char * const want[] = {
		"ktask_spawn", "ktask_poll_start", "ktask_poll_end",
		"ktask_wake", "ktask_poll_start", "ktask_poll_end",
		"ktask_complete", "ktask_dealloc",
	};
	char *trace, *line, id[40];
	unsigned int seen = 0;
	struct task_line t;
	int i, idle = 0;

	ASSERT_EQ(0, write_str(TRACING "events/ktask/enable", "1"));
	ASSERT_EQ(0, write_str(TRACING "trace", ""));
	ASSERT_EQ(0, write_str(CTL, "trace_spawn"));
	/*
	 * Wake T only once its first poll has returned: a wake that lands
	 * while the poll still runs only marks it notified (no ktask_wake
	 * event) and the harness polls it again at once.
	 */
	for (i = 0; i < 1000 && !idle; i++) {
		char *tasks = read_file(KTASK_DIR "tasks");

		ASSERT_NE(NULL, tasks);
		idle = find_task(tasks, task_id("T"), &t) && t.state[0] != 'R';
		free(tasks);
		if (!idle)
			sleep_ms(10);
	}
	EXPECT_TRUE(idle) TH_LOG("T still in its first poll");
	ASSERT_EQ(0, write_str(CTL, "trace_wake"));
	ASSERT_EQ(0, write_str(TRACING "events/ktask/enable", "0"));
	trace = read_file(TRACING "trace");
	ASSERT_NE(NULL, trace);
	snprintf(id, sizeof(id), " id=%llu ", task_id("T"));
	for (line = strtok(trace, "\n"); line; line = strtok(NULL, "\n")) {
		char with_space[512];

		snprintf(with_space, sizeof(with_space), "%s ", line);
		if (!strstr(with_space, id))
			continue;
		ASSERT_LT(seen, ARRAY_SIZE(want)) TH_LOG("extra: %s", line);
		EXPECT_NE(NULL, strstr(line, want[seen])) TH_LOG("event %u: %s", seen, line);
		if (seen == 0)
			EXPECT_NE(NULL, strstr(line, " name=kti traced T"));
		if (seen == 2)
			EXPECT_NE(NULL, strstr(line, "result=pending"));
		if (seen == 5)
			EXPECT_NE(NULL, strstr(line, "result=ready"));
		seen++;
	}
	EXPECT_EQ(ARRAY_SIZE(want), seen);
	free(trace);
}

TEST_HARNESS_MAIN
