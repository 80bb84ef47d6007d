// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_fault: spawning while allocations and spawns fail.
 *
 * test_fault.sh sets up a fault (ktask's fail_spawn fault point, or
 * failslab on the task cell cache) and then runs these cases, which
 * assert that the fault fired, that every failed spawn returned
 * ERR_PTR(-ENOMEM) and left nothing behind (no drop of its argument, no
 * task, no cell, no module pin), and that every spawn that succeeded ran
 * and was joined as usual.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/ktask.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "ktask_test.h"

#define NR_SPAWNS	2000

/**
 * struct ft_arg - the argument of one pollable task
 * @drops: ops->drop calls
 * @polls: polls
 * @spawned: its spawn succeeded
 */
struct ft_arg {
	atomic_t drops;
	atomic_t polls;
	bool spawned;
};

static enum ktask_poll ft_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct ft_arg *a = arg;

	/* Once through the scheduler again, then done. */
	if (atomic_inc_return(&a->polls) == 1) {
		ktask_wake_by_ref(ktask_cx_waker(cx));
		return KTASK_PENDING;
	}
	*out = (long)a;
	return KTASK_READY;
}

static void ft_drop(void *arg)
{
	atomic_inc(&((struct ft_arg *)arg)->drops);
}

static const struct ktask_ops ft_ops = {
	.poll = ft_poll,
	.drop = ft_drop,
};

static long ft_fn(void *arg)
{
	return (long)arg * 3;
}

/* Spawn task @i of the mix on @rt; return its handle or the error. */
static struct ktask_handle *ft_spawn(struct ktask_rt *rt, unsigned int i,
				     struct ft_arg *a)
{
	/* Named and placed tasks come from a cache of their own. */
	struct ktask_spawn_opts named = { .name = "ft named" };
	struct ktask_spawn_opts placed = {
		.name = "ft placed",
		.place = KTASK_PLACE_CPU,
		.cpu = raw_smp_processor_id(),
	};
	struct ktask_handle *h;
	unsigned long flags;

	switch (i % 5) {
	case 0:
		if (i % 2)
			return ktask_spawn_with(rt, &named, ft_fn,
						(void *)(long)i, GFP_KERNEL);
		return ktask_spawn(rt, ft_fn, (void *)(long)i, GFP_KERNEL);
	case 1:
		/* From atomic context, as a driver's interrupt handler would. */
		local_irq_save(flags);
		h = ktask_spawn(rt, ft_fn, (void *)(long)i, GFP_ATOMIC);
		local_irq_restore(flags);
		return h;
	case 2:
		return ktask_spawn_blocking_with(rt, &named, ft_fn,
						 (void *)(long)i, GFP_KERNEL);
	case 3:
		local_irq_save(flags);
		h = ktask_spawn_poll(rt, &ft_ops, a, GFP_ATOMIC);
		local_irq_restore(flags);
		return h;
	default:
		if (i % 2)
			return ktask_spawn_poll_with(rt, &placed, &ft_ops, a,
						     GFP_KERNEL);
		return ktask_spawn_poll(rt, &ft_ops, a, GFP_KERNEL);
	}
}

/* Wait (bounded) for the cell count to come back to @n. */
static long ft_wait_cells(long n)
{
	int i;

	for (i = 0; i < 3000 && ktask_num_cells() != n; i++)
		usleep_range(1000, 2000);
	return ktask_num_cells();
}

/* Wait (bounded) for @rt's tasks to finish; joins may return first. */
static long ft_wait_idle(struct ktask_rt *rt)
{
	int i;

	for (i = 0; i < 3000 && ktask_rt_num_alive(rt); i++)
		usleep_range(1000, 2000);
	return ktask_rt_num_alive(rt);
}

/*
 * Spawn NR_SPAWNS tasks of every kind, half on our own runtime and half on
 * one owned by no module (where each task pins us), then join them all.
 */
static int spawn_under_faults(void)
{
	int refs_before = module_refcount(THIS_MODULE);
	long cells_before = ktask_num_cells();
	struct ktask_handle **h = NULL;
	struct ktask_rt *rt[2] = { NULL, NULL };
	struct ft_arg *args = NULL;
	unsigned int i, failed = 0, ok = 0;
	int ret = -ENOMEM;

	h = kcalloc(NR_SPAWNS, sizeof(*h), GFP_KERNEL);
	args = kcalloc(NR_SPAWNS, sizeof(*args), GFP_KERNEL);
	if (!h || !args)
		goto out;
	rt[0] = ktask_rt_create("fault-own", NULL);
	if (IS_ERR(rt[0])) {
		ret = PTR_ERR(rt[0]);
		rt[0] = NULL;
		goto out;
	}
	rt[1] = __ktask_rt_create("fault-foreign", NULL, NULL);
	if (IS_ERR(rt[1])) {
		ret = PTR_ERR(rt[1]);
		rt[1] = NULL;
		goto out;
	}

	for (i = 0; i < NR_SPAWNS; i++) {
		h[i] = ft_spawn(rt[i & 1], i / 2, &args[i]);
		if (IS_ERR(h[i])) {
			if (PTR_ERR(h[i]) != -ENOMEM) {
				KT_FAIL("spawn %u returned %ld, not -ENOMEM", i,
					PTR_ERR(h[i]));
				ret = -EINVAL;
			}
			failed++;
		} else {
			args[i].spawned = true;
			ok++;
		}
	}
	pr_info("ktask_test: fault: %u spawns failed, %u succeeded\n", failed,
		ok);

	ret = ret == -EINVAL ? ret : 0;
	for (i = 0; i < NR_SPAWNS; i++) {
		long out = 0;
		int err;

		if (IS_ERR(h[i]))
			continue;
		err = ktask_join(h[i], &out);
		h[i] = NULL;
		if (err) {
			KT_FAIL("join of task %u: %d", i, err);
			ret = -EINVAL;
		} else if ((i / 2) % 5 >= 3 ? out != (long)&args[i] :
			   out != (long)(i / 2) * 3) {
			KT_FAIL("task %u: wrong output %ld", i, out);
			ret = -EINVAL;
		}
	}
	for (i = 0; i < NR_SPAWNS; i++) {
		int want = args[i].spawned ? 1 : 0;

		/* A failed spawn leaves its argument alone; only poll tasks drop. */
		if ((i / 2) % 5 >= 3 && atomic_read(&args[i].drops) != want) {
			KT_FAIL("task %u (spawned %d) dropped %d times", i,
				args[i].spawned, atomic_read(&args[i].drops));
			ret = -EINVAL;
		}
		if (!args[i].spawned && atomic_read(&args[i].polls)) {
			KT_FAIL("task %u polled though its spawn failed", i);
			ret = -EINVAL;
		}
	}
	if (ft_wait_idle(rt[0]) || ft_wait_idle(rt[1])) {
		KT_FAIL("tasks alive after all joins: %ld and %ld",
			ktask_rt_num_alive(rt[0]), ktask_rt_num_alive(rt[1]));
		ret = -EINVAL;
	}

out:
	ktask_rt_destroy(rt[1]);
	ktask_rt_destroy(rt[0]);
	if (h) {
		for (i = 0; i < NR_SPAWNS; i++)
			if (!IS_ERR_OR_NULL(h[i]))
				ktask_detach(h[i]);
	}
	kfree(h);
	kfree(args);
	if (ret)
		return ret;
	/* The fault must have fired, and not always. */
	KT_ASSERT_GT(failed, 0);
	KT_ASSERT_GT(ok, 0);
	KT_ASSERT_EQ(ktask_num_cells(), cells_before);
	/* Every pin a task took, or a failed spawn undid, is gone. */
	KT_ASSERT_EQ(module_refcount(THIS_MODULE), refs_before);
	return 0;
}

static long ft_sleepy(void *arg)
{
	usleep_range(100, 200);
	return 0;
}

/* Count @err as a failure of the allocation kind; false if it is not one. */
static bool ft_count(int err, unsigned int *failed, unsigned int *ok)
{
	if (!err) {
		(*ok)++;
		return true;
	}
	(*failed)++;
	return err == -ENOMEM;
}

#define NR_BULKS	300
#define BULK_NR		8

static atomic_t ft_bulk_left;

static long ft_bulk_fn(void *arg)
{
	atomic_dec(&ft_bulk_left);
	return (long)arg * 3;
}

/*
 * Spawn NR_BULKS batches of BULK_NR tasks with ktask_spawn_bulk(), joined
 * or detached, from task context or with interrupts off, on our runtime
 * and on a foreign one: a batch fails whole, with -ENOMEM, its handles
 * untouched and nothing left behind, though its first cells came from the
 * per-CPU cache and a later one failed; every batch that succeeded runs.
 */
static int bulk_spawn_under_faults(void)
{
	int refs_before = module_refcount(THIS_MODULE);
	long cells_before = ktask_num_cells();
	struct ktask_handle *h[BULK_NR];
	struct ktask_rt *rt[2] = { NULL, NULL };
	unsigned int i, k, failed = 0, ok = 0;
	void *args[BULK_NR];
	int bad = 0;

	for (k = 0; k < BULK_NR; k++)
		args[k] = (void *)(long)k;
	atomic_set(&ft_bulk_left, 0);
	rt[0] = ktask_rt_create("fault-bulk-own", NULL);
	rt[1] = __ktask_rt_create("fault-bulk-foreign", NULL, NULL);
	if (IS_ERR(rt[0]) || IS_ERR(rt[1])) {
		bad++;
		goto out;
	}
	for (i = 0; i < NR_BULKS; i++) {
		bool detached = i % 3 == 2;
		unsigned long flags;
		int err;

		for (k = 0; k < BULK_NR; k++)
			h[k] = ERR_PTR(-EBADF);
		atomic_add(BULK_NR, &ft_bulk_left);
		/* PREEMPT_RT refuses a spawn with interrupts off (api.rst). */
		if (i % 4 == 1 && !IS_ENABLED(CONFIG_PREEMPT_RT)) {
			local_irq_save(flags);
			err = ktask_spawn_bulk(rt[i & 1], ft_bulk_fn, args,
					       BULK_NR, detached ? NULL : h,
					       GFP_ATOMIC);
			local_irq_restore(flags);
		} else {
			err = ktask_spawn_bulk(rt[i & 1], ft_bulk_fn, args,
					       BULK_NR, detached ? NULL : h,
					       GFP_KERNEL);
		}
		if (!ft_count(err, &failed, &ok)) {
			KT_FAIL("bulk %u returned %d, not -ENOMEM", i, err);
			bad++;
		}
		if (err) {
			atomic_sub(BULK_NR, &ft_bulk_left);
			for (k = 0; k < BULK_NR; k++)
				if (h[k] != ERR_PTR(-EBADF))
					bad++;
			continue;
		}
		for (k = 0; !detached && k < BULK_NR; k++) {
			long out = 0;

			if (ktask_join_timeout(h[k], &out, 30 * HZ) ||
			    out != (long)k * 3) {
				KT_FAIL("bulk %u task %u: output %ld", i, k, out);
				bad++;
			}
		}
	}
	pr_info("ktask_test: fault: %u bulk spawns failed, %u succeeded\n",
		failed, ok);
	if (ft_wait_idle(rt[0]) || ft_wait_idle(rt[1])) {
		KT_FAIL("bulk tasks alive at the end");
		bad++;
	}
	if (atomic_read(&ft_bulk_left)) {
		KT_FAIL("%d tasks of successful bulk spawns never ran",
			atomic_read(&ft_bulk_left));
		bad++;
	}
out:
	if (!IS_ERR_OR_NULL(rt[1]))
		ktask_rt_destroy(rt[1]);
	if (!IS_ERR_OR_NULL(rt[0]))
		ktask_rt_destroy(rt[0]);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_GT(failed, 0);
	KT_ASSERT_GT(ok, 0);
	KT_ASSERT_EQ(ft_wait_cells(cells_before), cells_before);
	KT_ASSERT_EQ(module_refcount(THIS_MODULE), refs_before);
	return 0;
}

/*
 * Under failslab for this thread only (test_fault.sh sets its task filter;
 * we mark ourselves), create runtimes, groups and tokens and spawn into the
 * groups, 300 times: every failure is -ENOMEM and leaves nothing behind,
 * every success works, and no cell is left at the end.
 */
static int groups_and_tokens_under_faults(void)
{
	long cells_before = ktask_num_cells();
	unsigned int i, k, failed = 0, ok = 0;
	struct ktask_cancel_token *root;
	struct ktask_rt *rt;
	int ret = 0;

	rt = ktask_rt_create("fault-group", NULL);
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	root = ktask_cancel_token_create(GFP_KERNEL);
	if (IS_ERR(root)) {
		ktask_rt_destroy(rt);
		KT_FAIL("token: %ld", PTR_ERR(root));
		return -ENOMEM;
	}
#ifdef CONFIG_FAULT_INJECTION
	current->make_it_fail = 1;
#endif
	for (i = 0; i < 300 && !ret; i++) {
		struct ktask_cancel_token *t;
		struct ktask_group *g;
		struct ktask_rt *r2;

		if (!(i % 20)) {
			/* Every other one with CPUs, and histograms. */
			struct ktask_rt_opts ro = {
				.flags = KTASK_RT_UNBOUND | KTASK_RT_HISTOGRAMS,
				.cpus = cpu_online_mask,
			};

			r2 = ktask_rt_create("fault-rt", i % 40 ? &ro : NULL);
			if (!ft_count(PTR_ERR_OR_ZERO(r2), &failed, &ok))
				ret = -EINVAL;
			if (!IS_ERR(r2))
				ktask_rt_destroy(r2);
		}
		t = ktask_cancel_token_child(root, GFP_KERNEL);
		if (!ft_count(PTR_ERR_OR_ZERO(t), &failed, &ok))
			ret = -EINVAL;
		g = ktask_group_create(rt);
		if (!ft_count(PTR_ERR_OR_ZERO(g), &failed, &ok))
			ret = -EINVAL;
		for (k = 0; !IS_ERR(g) && k < 6; k++) {
			static const struct ktask_spawn_opts named = {
				.name = "ft group member",
			};
			int err = k % 2 ?
				ktask_group_spawn_with(g, &named,
						       KTASK_SPAWN_FN, NULL,
						       ft_fn, (void *)1L,
						       GFP_KERNEL, NULL) :
				ktask_group_spawn_blocking(g, ft_sleepy, NULL,
							   GFP_KERNEL, NULL);

			if (!ft_count(err, &failed, &ok))
				ret = -EINVAL;
		}
		if (!IS_ERR(g))
			ktask_group_destroy(g);
		ktask_cancel_token_put(t);
	}
#ifdef CONFIG_FAULT_INJECTION
	current->make_it_fail = 0;
#endif
	ktask_cancel_token_put(root);
	ktask_rt_destroy(rt);
	pr_info("ktask_test: fault: %u allocations failed, %u succeeded\n",
		failed, ok);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_GT(failed, 0);
	KT_ASSERT_GT(ok, 0);
	KT_ASSERT_EQ(ft_wait_cells(cells_before), cells_before);
	return 0;
}

/*
 * Under fail_percpu (test_fault.sh sets it), create runtimes with and
 * without histograms: every failure is -ENOMEM, every runtime created
 * runs a task, and no cell is left.
 */
static int runtimes_under_percpu_faults(void)
{
	struct ktask_rt_opts hist = { .flags = KTASK_RT_HISTOGRAMS };
	long cells_before = ktask_num_cells();
	unsigned int i, failed = 0, ok = 0;
	int bad = 0;

	for (i = 0; i < 60; i++) {
		struct ktask_rt *rt;
		struct ktask_handle *h;
		long out = 0;

		rt = ktask_rt_create("fault-percpu", i % 2 ? &hist : NULL);
		if (!ft_count(PTR_ERR_OR_ZERO(rt), &failed, &ok)) {
			KT_FAIL("create %u: %ld", i, PTR_ERR(rt));
			bad++;
		}
		if (IS_ERR(rt))
			continue;
		h = ktask_spawn(rt, ft_fn, (void *)2L, GFP_KERNEL);
		if (IS_ERR(h) || ktask_join_timeout(h, &out, 30 * HZ) ||
		    out != 6) {
			KT_FAIL("runtime %u: task output %ld", i, out);
			bad++;
		}
		ktask_rt_destroy(rt);
	}
	pr_info("ktask_test: fault: %u runtime creates failed, %u succeeded\n",
		failed, ok);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_GT(failed, 0);
	KT_ASSERT_GT(ok, 0);
	KT_ASSERT_EQ(ft_wait_cells(cells_before), cells_before);
	return 0;
}

static const struct kt_case fault_cases[] = {
	KT_CASE(spawn_under_faults),
	KT_CASE(bulk_spawn_under_faults),
	KT_CASE(groups_and_tokens_under_faults),
	KT_CASE(runtimes_under_percpu_faults),
};

KT_TEST_MODULE(fault, fault_cases);
