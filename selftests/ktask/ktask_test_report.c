// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_report: misuse that ktask, or lockdep, must report.
 *
 * Each case makes a mistake on purpose and checks what it can of the
 * outcome (return values, lockdep turning itself off); test_report.sh runs
 * each one between "expected report" marks in the kernel log, which the VM
 * runner does not count as failures, and checks that the report came.
 * Lockdep turns itself off after its first report, so test_report.sh runs
 * last.
 */
#include <linux/debug_locks.h>
#include <linux/delay.h>
#include <linux/ktask.h>
#include <linux/mutex.h>

#include "ktask_test.h"

/*
 * Every case's task.  Each case spawns it itself, not through a helper:
 * the reports name the spawn site, and test_report.sh looks for the case's
 * name there.
 */
static long plus_one(void *arg)
{
	return (long)arg + 1;
}

/*
 * A join, a detach and an abort through a join handle that a join already
 * consumed, while an abort handle keeps the task's cell: each WARNs with
 * the task's spawn site, and the join fails with -EINVAL.
 */
static int consumed_handle_misuse(void)
{
	struct ktask_rt *rt = ktask_rt_create("report", NULL);
	struct ktask_abort_handle *ah;
	struct ktask_handle *h;
	long out = 0;
	int first, second;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn(rt, plus_one, (void *)41L, GFP_KERNEL);
	if (IS_ERR(h)) {
		ktask_rt_destroy(rt);
		KT_FAIL("spawn: %ld", PTR_ERR(h));
		return -EINVAL;
	}
	ah = ktask_abort_handle(h);
	first = ktask_join(h, &out);
	second = ktask_join(h, &out);
	ktask_detach(h);
	ktask_abort(h);
	ktask_abort_handle_put(ah);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(first, 0);
	KT_ASSERT_EQ(out, 42);
	KT_ASSERT_EQ(second, -EINVAL);
	return 0;
}

#ifndef CONFIG_KASAN
/*
 * A join and a detach through a join handle whose task a join completed
 * and freed, with nothing else holding it: the cell waits in ktask's
 * cache, and each WARNs as a consumed handle's; the join fails with
 * -EINVAL and nothing is freed twice (the count of cells comes back to
 * where it was, not below).  Not where the cell caches are off (the
 * memory-checking debug kernel), where these would read freed memory.
 */
static int consumed_handle_after_free(void)
{
	struct ktask_rt *rt = ktask_rt_create("report", NULL);
	long cells = ktask_num_cells(), out = 0;
	struct ktask_handle *h;
	int first, second, i;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn(rt, plus_one, (void *)41L, GFP_KERNEL);
	if (IS_ERR(h)) {
		ktask_rt_destroy(rt);
		KT_FAIL("spawn: %ld", PTR_ERR(h));
		return -EINVAL;
	}
	/* Completed and released by its worker: the handle holds it alone. */
	for (i = 0; i < 3000 && ktask_rt_num_alive(rt); i++)
		usleep_range(1000, 2000);
	first = ktask_join(h, &out);
	second = ktask_join(h, &out);
	ktask_detach(h);
	ktask_rt_destroy(rt);
	for (i = 0; i < 3000 && ktask_num_cells() != cells; i++)
		usleep_range(1000, 2000);
	KT_ASSERT_EQ(first, 0);
	KT_ASSERT_EQ(out, 42);
	KT_ASSERT_EQ(second, -EINVAL);
	KT_ASSERT_EQ(ktask_num_cells(), cells);
	return 0;
}
#endif

/*
 * A handle whose tag does not match its cell's task (made here by flipping
 * a tag bit: what a handle kept after its task was freed, and its cell
 * reused, looks like) WARNs as stale and is refused; the real handle still
 * works.
 */
static int stale_handle_refused(void)
{
	struct ktask_rt *rt = ktask_rt_create("report", NULL);
	struct ktask_handle *h, *stale;
	long out = 0;
	int ret, real;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn(rt, plus_one, (void *)1L, GFP_KERNEL);
	if (IS_ERR(h)) {
		ktask_rt_destroy(rt);
		KT_FAIL("spawn: %ld", PTR_ERR(h));
		return -EINVAL;
	}
	stale = (struct ktask_handle *)((unsigned long)h ^ 1);
	ret = ktask_join(stale, &out);
	real = ktask_join(h, &out);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, -EINVAL);
	KT_ASSERT_EQ(real, 0);
	KT_ASSERT_EQ(out, 2);
	return 0;
}

#ifdef CONFIG_PROVE_LOCKING
static DEFINE_MUTEX(kr_mutex);

/* Still running when its joiner arrives: the join waits, and says so. */
static long nap(void *arg)
{
	msleep(100);
	return 0;
}

static long take_mutex(void *arg)
{
	mutex_lock(&kr_mutex);
	mutex_unlock(&kr_mutex);
	return 0;
}

/*
 * A join under a mutex that a task of the same runtime takes: lockdep
 * reports the circular dependency (the task's poll holds the runtime's
 * map, the join waits for it), although this run does not deadlock.
 */
static int join_under_lock_reported(void)
{
	struct ktask_rt *rt = ktask_rt_create("report", NULL);
	struct ktask_handle *h;
	int first = -EINVAL, second = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	KT_ASSERT(debug_locks);
	/* The runtime's polls take kr_mutex. */
	h = ktask_spawn(rt, take_mutex, NULL, GFP_KERNEL);
	if (!IS_ERR(h))
		first = ktask_join(h, NULL);
	/* A join under kr_mutex waits for those polls. */
	mutex_lock(&kr_mutex);
	h = ktask_spawn(rt, nap, NULL, GFP_KERNEL);
	if (!IS_ERR(h))
		second = ktask_join(h, NULL);
	mutex_unlock(&kr_mutex);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(first, 0);
	KT_ASSERT_EQ(second, 0);
	/* Lockdep reported, and turned itself off. */
	KT_ASSERT(!debug_locks);
	return 0;
}
#endif

static const struct kt_case report_cases[] = {
	KT_CASE(consumed_handle_misuse),
#ifndef CONFIG_KASAN
	KT_CASE(consumed_handle_after_free),
#endif
	KT_CASE(stale_handle_refused),
#ifdef CONFIG_PROVE_LOCKING
	KT_CASE(join_under_lock_reported),
#endif
};

KT_TEST_MODULE(report, report_cases);
