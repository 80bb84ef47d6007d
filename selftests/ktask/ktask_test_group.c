// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_group: task groups (ktask_group_*()), Tokio's JoinSet.
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/ktask.h>
#include <linux/slab.h>

#include "ktask_test.h"

#define KT_WAIT		(30 * HZ)

/*
 * A blocking function that returns @value once released: blocking, so that
 * the gated tasks of a case do not queue behind each other on a worker.
 */
struct gated {
	struct completion release;
	long value;
};

static long gated_fn(void *arg)
{
	struct gated *g = arg;

	wait_for_completion_timeout(&g->release, KT_WAIT);
	return g->value;
}

/* A pollable task that parks until aborted; counts its drops. */
struct parker {
	struct ktask_waker *waker;
	atomic_t drops;
	atomic_t drop_outputs;
	int ready_at;		/* the poll that returns READY (0: never) */
	int polls;
};

static enum ktask_poll parker_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct parker *p = arg;

	WRITE_ONCE(p->polls, p->polls + 1);
	if (p->ready_at && p->polls >= p->ready_at) {
		*out = (long)p;
		return KTASK_READY;
	}
	ktask_waker_drop(xchg(&p->waker, ktask_waker_clone(ktask_cx_waker(cx))));
	return KTASK_PENDING;
}

static void parker_drop(void *arg)
{
	struct parker *p = arg;

	ktask_waker_drop(xchg(&p->waker, NULL));
	atomic_inc(&p->drops);
}

static void parker_drop_output(long out)
{
	atomic_inc(&((struct parker *)out)->drop_outputs);
}

static const struct ktask_ops parker_ops = {
	.poll = parker_poll,
	.drop = parker_drop,
	.drop_output = parker_drop_output,
};

/* Wait, boundedly, until @p was polled once. */
static void wait_polled(struct parker *p)
{
	unsigned long end = jiffies + KT_WAIT;

	while (!READ_ONCE(p->polls) && time_before(jiffies, end))
		usleep_range(1000, 2000);
}

static long twice(void *arg)
{
	return 2 * (long)arg;
}

/* Cells are freed just after their task stops counting: wait for @n. */
static long wait_cells(long n)
{
	unsigned long end = jiffies + KT_WAIT;

	while (ktask_num_cells() != n && time_before(jiffies, end))
		usleep_range(1000, 2000);
	return ktask_num_cells();
}

/* Tasks are joined in the order they complete, with their ids and outputs. */
static int join_next_in_completion_order(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	static const int order[] = { 2, 0, 1 };
	struct ktask_group *g;
	struct gated t[3];
	u64 ids[3] = {}, got[3] = {};
	long out[3] = {};
	int i, ret[3] = { -1, -1, -1 }, spawn = 0, len = -1;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	if (IS_ERR(g)) {
		ktask_rt_destroy(rt);
		KT_FAIL("group create: %ld", PTR_ERR(g));
		return -EINVAL;
	}
	for (i = 0; i < 3; i++) {
		init_completion(&t[i].release);
		t[i].value = 100 + i;
		spawn |= ktask_group_spawn_blocking(g, gated_fn, &t[i],
						    GFP_KERNEL, &ids[i]);
	}
	if (!spawn)
		len = ktask_group_len(g);
	for (i = 0; i < 3; i++) {
		complete(&t[order[i]].release);
		ret[i] = ktask_group_join_next(g, &got[i], &out[i]);
	}
	ktask_group_destroy(g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT_EQ(len, 3);
	for (i = 0; i < 3; i++) {
		KT_ASSERT_EQ(ret[i], 0);
		KT_ASSERT_EQ(got[i], ids[order[i]]);
		KT_ASSERT_EQ(out[i], 100 + order[i]);
	}
	return 0;
}

/* An empty group: -ENOENT at once, from every join. */
static int join_next_on_empty_group(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct ktask_group *g;
	u64 id = 1;
	int a, b;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(g);
	a = ktask_group_join_next(g, &id, NULL);
	b = ktask_group_join_next_timeout(g, NULL, NULL, HZ);
	ktask_group_destroy(g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(a, -ENOENT);
	KT_ASSERT_EQ(id, 0);
	KT_ASSERT_EQ(b, -ENOENT);
	return 0;
}

/* Nothing done in time: -ETIMEDOUT, and the task is still there. */
static int join_next_timeout_then_join(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct ktask_group *g;
	struct gated t;
	u64 id = 0, got = 0;
	long out = 0;
	int spawn, a = 0, b = 0, c = -1;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(g);
	init_completion(&t.release);
	t.value = 7;
	spawn = ktask_group_spawn_blocking(g, gated_fn, &t, GFP_KERNEL, &id);
	if (!spawn) {
		a = ktask_group_join_next_timeout(g, &got, &out, 0);
		b = ktask_group_join_next_timeout(g, &got, &out, HZ / 20);
		complete(&t.release);
		c = ktask_group_join_next(g, &got, &out);
	}
	ktask_group_destroy(g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT_EQ(a, -ETIMEDOUT);
	KT_ASSERT_EQ(b, -ETIMEDOUT);
	KT_ASSERT_EQ(c, 0);
	KT_ASSERT_EQ(got, id);
	KT_ASSERT_EQ(out, 7);
	return 0;
}

/* abort_all: every parked task is cancelled and joined with -ECANCELED. */
static int abort_all_cancels_every_task(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct parker *p = kcalloc(8, sizeof(*p), GFP_KERNEL);
	struct ktask_group *g = NULL;
	int i, spawn = 0, cancelled = 0, drops = 0, last = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	if (p)
		g = ktask_group_create(rt);
	if (!IS_ERR_OR_NULL(g)) {
		for (i = 0; i < 8; i++)
			spawn |= ktask_group_spawn_poll(g, &parker_ops, &p[i],
							GFP_KERNEL, NULL);
		ktask_group_abort_all(g);
		for (i = 0; i < 8; i++)
			cancelled += ktask_group_join_next(g, NULL, NULL) ==
				     -ECANCELED;
		last = ktask_group_join_next(g, NULL, NULL);
		ktask_group_destroy(g);
		for (i = 0; i < 8; i++)
			drops += atomic_read(&p[i].drops);
	}
	ktask_rt_destroy(rt);
	kfree(p);
	KT_ASSERT(!IS_ERR_OR_NULL(g));
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT_EQ(cancelled, 8);
	KT_ASSERT_EQ(drops, 8);
	KT_ASSERT_EQ(last, -ENOENT);
	return 0;
}

/*
 * Shutdown aborts what runs, waits for every task, and drops every output:
 * the group is empty and usable afterwards; destroy does the same to a
 * group with live tasks.  No cell is left.
 */
static int shutdown_and_destroy_with_live_tasks(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct parker *p = kcalloc(8, sizeof(*p), GFP_KERNEL);
	long cells = ktask_num_cells();
	struct ktask_group *g = NULL;
	int i, spawn = 0, drops = 0, outputs = 0, again = -1;
	unsigned int len_after = 1;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	if (p)
		g = ktask_group_create(rt);
	if (!IS_ERR_OR_NULL(g)) {
		/* Half complete at once (outputs to drop), half park. */
		for (i = 0; i < 8; i++) {
			p[i].ready_at = i % 2;
			spawn |= ktask_group_spawn_poll(g, &parker_ops, &p[i],
							GFP_KERNEL, NULL);
		}
		/* The ready ones ran: their outputs are there to drop. */
		for (i = 1; i < 8; i += 2)
			wait_polled(&p[i]);
		ktask_group_shutdown(g);
		len_after = ktask_group_len(g);
		again = ktask_group_spawn(g, twice, (void *)21L, GFP_KERNEL,
					  NULL);
		ktask_group_destroy(g);
	}
	ktask_rt_destroy(rt);
	for (i = 0; p && i < 8; i++) {
		drops += atomic_read(&p[i].drops);
		outputs += atomic_read(&p[i].drop_outputs);
	}
	kfree(p);
	KT_ASSERT(!IS_ERR_OR_NULL(g));
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT_EQ(len_after, 0);
	KT_ASSERT_EQ(again, 0);
	KT_ASSERT_EQ(drops, 8);
	KT_ASSERT_EQ(outputs, 4);
	KT_ASSERT_EQ(wait_cells(cells), cells);
	return 0;
}

/* Every kind of task goes into a group. */
static long blocking_twice(void *arg)
{
	usleep_range(1000, 2000);
	return 2 * (long)arg;
}

static int every_kind_in_a_group(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct ktask_group *g;
	struct parker p = { .ready_at = 1 };
	int spawn, i, ok = 0;
	long sum = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(g);
	spawn = ktask_group_spawn(g, twice, (void *)1L, GFP_KERNEL, NULL) |
		ktask_group_spawn_blocking(g, blocking_twice, (void *)10L,
					   GFP_KERNEL, NULL) |
		ktask_group_spawn_poll(g, &parker_ops, &p, GFP_KERNEL, NULL);
	for (i = 0; i < 3; i++) {
		long out = 0;

		if (!ktask_group_join_next(g, NULL, &out)) {
			ok++;
			/* The pollable task's output is its state's address. */
			sum += out == (long)&p ? 100 : out;
		}
	}
	ktask_group_destroy(g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT_EQ(ok, 3);
	KT_ASSERT_EQ(sum, 2 + 20 + 100);
	/* Joined: the output was taken, not dropped. */
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 0);
	return 0;
}

/* A task drains a group with ktask_group_join_next_poll(), summing outputs. */
struct drainer {
	struct ktask_group *g;
	long sum;
	int joined;
};

static enum ktask_poll drainer_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct drainer *d = arg;
	long o;
	int err;

	for (;;) {
		if (ktask_group_join_next_poll(d->g, cx, NULL, &o, &err) ==
		    KTASK_PENDING)
			return KTASK_PENDING;
		if (err == -ENOENT)
			break;
		if (!err) {
			d->sum += o;
			d->joined++;
		}
	}
	*out = d->sum;
	return KTASK_READY;
}

static const struct ktask_ops drainer_ops = {
	.poll = drainer_poll,
};

static int join_next_poll_from_a_task(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct drainer d = {};
	struct ktask_handle *h;
	struct gated t[4];
	long out = 0;
	int i, spawn = 0, ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	d.g = ktask_group_create(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(d.g);
	for (i = 0; i < 4; i++) {
		init_completion(&t[i].release);
		t[i].value = i + 1;
		spawn |= ktask_group_spawn_blocking(d.g, gated_fn, &t[i],
						    GFP_KERNEL, NULL);
	}
	h = ktask_spawn_poll(rt, &drainer_ops, &d, GFP_KERNEL);
	/* Released while the drainer waits: it is woken for each. */
	for (i = 3; i >= 0; i--) {
		usleep_range(5000, 6000);
		complete(&t[i].release);
	}
	if (!IS_ERR(h))
		ret = ktask_join(h, &out);
	ktask_group_destroy(d.g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(d.joined, 4);
	KT_ASSERT_EQ(out, 1 + 2 + 3 + 4);
	return 0;
}

/* Bad input: clear errors, no crash, nothing left behind. */
static int group_bad_input(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct ktask_group *g;
	int err = 0;
	long cells = ktask_num_cells();

	KT_ASSERT_EQ(PTR_ERR(ktask_group_create(NULL)), -EINVAL);
	KT_ASSERT_EQ(ktask_group_spawn(NULL, twice, NULL, GFP_KERNEL, NULL),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_group_join_next(NULL, NULL, NULL), -EINVAL);
	KT_ASSERT_EQ(ktask_group_len(NULL), 0);
	ktask_group_abort_all(NULL);
	ktask_group_shutdown(NULL);
	ktask_group_destroy(NULL);
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(g);
	err = ktask_group_spawn(g, NULL, NULL, GFP_KERNEL, NULL);
	KT_ASSERT_EQ(err, -EINVAL);
	err = ktask_group_spawn_poll(g, NULL, NULL, GFP_KERNEL, NULL);
	KT_ASSERT_EQ(err, -EINVAL);
	KT_ASSERT_EQ(ktask_group_len(g), 0);
	ktask_group_destroy(g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(wait_cells(cells), cells);
	return 0;
}

static const struct kt_case group_cases[] = {
	KT_CASE(join_next_in_completion_order),
	KT_CASE(join_next_on_empty_group),
	KT_CASE(join_next_timeout_then_join),
	KT_CASE(abort_all_cancels_every_task),
	KT_CASE(shutdown_and_destroy_with_live_tasks),
	KT_CASE(every_kind_in_a_group),
	KT_CASE(join_next_poll_from_a_task),
	KT_CASE(group_bad_input),
};

KT_TEST_MODULE(group, group_cases);
