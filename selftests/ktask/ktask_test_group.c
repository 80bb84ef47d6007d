// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_group: task groups (ktask_group_*()), Tokio's JoinSet.
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
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

/* ------------------------------------------------------------------ */
/* Cancellation tokens                                                 */

/* Cancelling a token cancels its descendants, not its ancestors. */
static int token_tree(void)
{
	struct ktask_cancel_token *root, *a, *b, *aa, *late;
	bool before, after_a, after_root, late_born;

	root = ktask_cancel_token_create(GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(root);
	a = ktask_cancel_token_child(root, GFP_KERNEL);
	b = ktask_cancel_token_child(root, GFP_KERNEL);
	aa = IS_ERR(a) ? a : ktask_cancel_token_child(a, GFP_KERNEL);
	if (IS_ERR(a) || IS_ERR(b) || IS_ERR(aa)) {
		ktask_cancel_token_put(aa);
		ktask_cancel_token_put(b);
		ktask_cancel_token_put(a);
		ktask_cancel_token_put(root);
		KT_FAIL("child: -ENOMEM");
		return -ENOMEM;
	}
	before = ktask_cancel_token_is_cancelled(root) ||
		 ktask_cancel_token_is_cancelled(a) ||
		 ktask_cancel_token_is_cancelled(aa);
	ktask_cancel_token_cancel(a);
	after_a = ktask_cancel_token_is_cancelled(aa) &&
		  !ktask_cancel_token_is_cancelled(root) &&
		  !ktask_cancel_token_is_cancelled(b);
	ktask_cancel_token_cancel(root);
	ktask_cancel_token_cancel(root);	/* twice: nothing more */
	after_root = ktask_cancel_token_is_cancelled(b);
	late = ktask_cancel_token_child(root, GFP_KERNEL);
	late_born = !IS_ERR(late) && ktask_cancel_token_is_cancelled(late);
	/* Children may go before or after their parents. */
	ktask_cancel_token_put(root);
	ktask_cancel_token_put(a);
	ktask_cancel_token_put(late);
	ktask_cancel_token_put(aa);
	ktask_cancel_token_put(b);
	KT_ASSERT(!before);
	KT_ASSERT(after_a);
	KT_ASSERT(after_root);
	KT_ASSERT(late_born);
	return 0;
}

/* A task that waits for a token and returns 1 once it is cancelled. */
struct token_waiter {
	struct ktask_cancel_wait wait;
	struct ktask_cancel_token *token;
	atomic_t drops;
	struct completion parked;
};

static enum ktask_poll token_waiter_poll(struct ktask_cx *cx, void *arg,
					 long *out)
{
	struct token_waiter *w = arg;

	if (ktask_cancelled(cx, &w->wait, w->token) == KTASK_PENDING) {
		complete(&w->parked);
		return KTASK_PENDING;
	}
	*out = 1;
	return KTASK_READY;
}

static void token_waiter_drop(void *arg)
{
	struct token_waiter *w = arg;

	ktask_cancel_wait_cancel(&w->wait);
	atomic_inc(&w->drops);
}

static const struct ktask_ops token_waiter_ops = {
	.poll = token_waiter_poll,
	.drop = token_waiter_drop,
};

struct token_timer {
	struct hrtimer timer;
	struct ktask_cancel_token *token;
};

static enum hrtimer_restart token_timer_fn(struct hrtimer *timer)
{
	/* Hardirq context: cancelling is allowed here. */
	ktask_cancel_token_cancel(container_of(timer, struct token_timer,
					       timer)->token);
	return HRTIMER_NORESTART;
}

/*
 * Eight tasks wait for children of a token, which an hrtimer cancels from
 * hardirq context: each is woken and completes; a ninth, aborted while it
 * waits, leaves the token's list (its drop ends the wait).
 */
static int tasks_wait_for_a_token(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct token_waiter *w = kcalloc(9, sizeof(*w), GFP_KERNEL);
	struct ktask_cancel_token *root;
	struct ktask_handle *h[9] = {};
	struct token_timer *tt = kzalloc(sizeof(*tt), GFP_KERNEL);
	int i, ready = 0, aborted = -EINVAL, spawned = 0;
	long out;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	root = ktask_cancel_token_create(GFP_KERNEL);
	if (!w || !tt || IS_ERR(root))
		goto out;
	for (i = 0; i < 9; i++) {
		ktask_cancel_wait_init(&w[i].wait);
		init_completion(&w[i].parked);
		w[i].token = ktask_cancel_token_child(root, GFP_KERNEL);
		if (IS_ERR(w[i].token)) {
			w[i].token = NULL;
			continue;
		}
		h[i] = ktask_spawn_poll(rt, &token_waiter_ops, &w[i],
					GFP_KERNEL);
		if (IS_ERR(h[i]))
			h[i] = NULL;
		else
			spawned++;
	}
	for (i = 0; i < 9; i++)
		if (h[i])
			wait_for_completion_timeout(&w[i].parked, KT_WAIT);
	if (h[8]) {
		ktask_abort(h[8]);
		aborted = ktask_join(h[8], NULL);
		h[8] = NULL;
	}
	hrtimer_init(&tt->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	tt->timer.function = token_timer_fn;
	tt->token = root;
	hrtimer_start(&tt->timer, ms_to_ktime(5), HRTIMER_MODE_REL);
	for (i = 0; i < 8; i++) {
		out = 0;
		if (h[i] && !ktask_join_timeout(h[i], &out, KT_WAIT) && out == 1)
			ready++;
		else if (h[i])
			ktask_detach(h[i]);
	}
	hrtimer_cancel(&tt->timer);
out:
	ktask_rt_destroy(rt);
	for (i = 0; w && i < 9; i++)
		ktask_cancel_token_put(w[i].token);
	if (!IS_ERR(root))
		ktask_cancel_token_put(root);
	kfree(tt);
	kfree(w);
	KT_ASSERT_EQ(spawned, 9);
	KT_ASSERT_EQ(aborted, -ECANCELED);
	KT_ASSERT_EQ(ready, 8);
	return 0;
}

/* A blocking function that runs until a token is cancelled, boundedly. */
struct stopper {
	struct ktask_cancel_token *token;
	atomic_t result;	/* 1: stopped by the token, -1: ran out */
};

static long until_cancelled(void *arg)
{
	struct stopper *st = arg;
	unsigned long end = jiffies + KT_WAIT;

	while (!ktask_cancel_token_is_cancelled(st->token) &&
	       time_before(jiffies, end))
		usleep_range(1000, 2000);
	atomic_set(&st->result,
		   ktask_cancel_token_is_cancelled(st->token) ? 1 : -1);
	return 0;
}

/*
 * The group's token, and the runtime's, stop a blocking function that an
 * abort cannot: the group's destroy, and the runtime's, return once the
 * function saw its token cancelled.
 */
static int group_and_runtime_tokens_stop_blocking(void)
{
	struct ktask_rt *rt = ktask_rt_create("group", NULL);
	struct stopper sg = {}, sr = {};
	struct ktask_group *g;
	struct ktask_handle *h;
	int spawn;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(g);
	sg.token = ktask_group_cancel_token(g);
	spawn = ktask_group_spawn_blocking(g, until_cancelled, &sg, GFP_KERNEL,
					   NULL);
	msleep(20);	/* it runs: an abort no longer stops it */
	ktask_group_destroy(g);

	sr.token = ktask_rt_cancel_token(rt);
	h = ktask_spawn_blocking(rt, until_cancelled, &sr, GFP_KERNEL);
	msleep(20);
	if (!IS_ERR(h))
		ktask_detach(h);
	/* Destroy cancels the token first, then waits for the function. */
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(spawn, 0);
	KT_ASSERT(!IS_ERR(h));
	KT_ASSERT_EQ(atomic_read(&sg.result), 1);
	KT_ASSERT_EQ(atomic_read(&sr.result), 1);
	return 0;
}

/* Bad input: invalid tokens are refused or ignored, never crash. */
static int token_bad_input(void)
{
	KT_ASSERT_EQ(PTR_ERR(ktask_cancel_token_child(NULL, GFP_KERNEL)),
		     -EINVAL);
	KT_ASSERT(!ktask_cancel_token_is_cancelled(NULL));
	ktask_cancel_token_cancel(NULL);
	ktask_cancel_token_put(NULL);
	KT_ASSERT(!ktask_cancel_token_get(NULL));
	KT_ASSERT(!ktask_group_cancel_token(NULL));
	KT_ASSERT(!ktask_rt_cancel_token(NULL));
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
	KT_CASE(token_tree),
	KT_CASE(tasks_wait_for_a_token),
	KT_CASE(group_and_runtime_tokens_stop_blocking),
	KT_CASE(token_bad_input),
};

KT_TEST_MODULE(group, group_cases);
