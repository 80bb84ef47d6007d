// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_time: relative sleeps, intervals and timeouts.
 *
 * Durations are checked from below only (a wait is at least as long as
 * asked) and deadlines by value: these machines are too noisy for upper
 * bounds.
 */
#include <linux/delay.h>
#include <linux/ktask.h>
#include <linux/ktime.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "ktask_test.h"

#define KT_WAIT		(30 * HZ)
#define MS		NSEC_PER_MSEC

static struct ktask_rt *time_rt(void)
{
	return ktask_rt_create("time", NULL);
}

/* Run @ops on @arg in a fresh runtime and join it; the join's result. */
static int run_task(const struct ktask_ops *ops, void *arg, long *out)
{
	struct ktask_rt *rt = time_rt();
	struct ktask_handle *h;
	int ret;

	if (IS_ERR(rt))
		return PTR_ERR(rt);
	h = ktask_spawn_poll(rt, ops, arg, GFP_KERNEL);
	ret = IS_ERR(h) ? PTR_ERR(h) : ktask_join_timeout(h, out, KT_WAIT);
	if (ret == -ETIMEDOUT) {
		ktask_abort(h);
		ktask_join(h, NULL);
	}
	ktask_rt_destroy(rt);
	return ret;
}

/*
 * ktask_sleep_for(): at least the duration, and a poll that comes early
 * (the task wakes itself on its first poll) keeps the first deadline.
 */
struct sleeper {
	struct ktask_sleep sleep;
	int polls;
	ktime_t start, first_deadline, second_deadline, end;
};

static enum ktask_poll sleeper_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct sleeper *s = arg;
	enum ktask_poll ret;

	if (!s->polls++)
		s->start = ktime_get();
	ret = ktask_sleep_for(cx, &s->sleep, 30 * MS);
	if (s->polls == 1) {
		s->first_deadline = s->sleep.deadline;
		/* An early poll, as a stray wake gives. */
		ktask_wake_by_ref(ktask_cx_waker(cx));
	} else if (s->polls == 2) {
		s->second_deadline = s->sleep.deadline;
	}
	if (ret == KTASK_READY)
		s->end = ktime_get();
	return ret;
}

static void sleeper_drop(void *arg)
{
	ktask_sleep_cancel(&((struct sleeper *)arg)->sleep);
}

static const struct ktask_ops sleeper_ops = {
	.poll = sleeper_poll,
	.drop = sleeper_drop,
};

static int sleep_for_keeps_its_deadline(void)
{
	struct sleeper *s = kzalloc(sizeof(*s), GFP_KERNEL);
	int ret;

	KT_ASSERT(s);
	ktask_sleep_init(&s->sleep);
	ret = run_task(&sleeper_ops, s, NULL);
	if (ret) {
		kfree(s);
		KT_FAIL("join: %d", ret);
		return -EINVAL;
	}
	KT_ASSERT_GE(s->polls, 3);
	KT_ASSERT(s->first_deadline == s->second_deadline);
	KT_ASSERT_GE(ktime_to_ns(ktime_sub(s->end, s->start)), 30 * MS);
	KT_ASSERT(!s->sleep.armed);
	kfree(s);
	return 0;
}

/* A sleep of 0 completes at once. */
static enum ktask_poll zero_poll(struct ktask_cx *cx, void *arg, long *out)
{
	*out = ktask_sleep_for(cx, arg, 0) == KTASK_READY;
	return KTASK_READY;
}

static const struct ktask_ops zero_ops = {
	.poll = zero_poll,
};

static int sleep_for_zero_is_ready(void)
{
	struct ktask_sleep *s = kzalloc(sizeof(*s), GFP_KERNEL);
	long out = 0;
	int ret;

	KT_ASSERT(s);
	ktask_sleep_init(s);
	ret = run_task(&zero_ops, s, &out);
	kfree(s);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 1);
	return 0;
}

/*
 * An interval of 5 ms: the first tick at once, then the task is held up
 * for 12 ms (two ticks missed) and ticks as many times as it can in one
 * poll.  BURST gives both missed ticks at once; DELAY and SKIP one; then
 * DELAY is due a period after that tick, SKIP on the original schedule.
 */
struct ticker {
	struct ktask_interval iv;
	ktime_t start;
	int at_once;
	int polls;
};

static enum ktask_poll ticker_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct ticker *t = arg;

	t->polls++;
	if (ktask_interval_tick(cx, &t->iv) != KTASK_READY)
		return KTASK_PENDING;	/* never: the first tick is at once */
	t->start = t->iv.next - 5 * MS;
	/*
	 * Held up 12 ms of CLOCK_MONOTONIC, the interval's clock: mdelay()
	 * counts the TSC, which under qemu's TCG may run a little slower
	 * (11.96 ms of it once, in the KCSAN kernel).
	 */
	while (ktime_before(ktime_get(), ktime_add_ns(t->start, 12 * MS)))
		cpu_relax();
	while (ktask_interval_tick(cx, &t->iv) == KTASK_READY)
		t->at_once++;
	*out = t->at_once;
	ktask_interval_cancel(&t->iv);
	return KTASK_READY;
}

static const struct ktask_ops ticker_ops = {
	.poll = ticker_poll,
};

static int interval_missed_ticks(void)
{
	static const enum ktask_missed_tick kinds[] = {
		KTASK_TICK_BURST, KTASK_TICK_DELAY, KTASK_TICK_SKIP,
	};
	struct ticker *t = kcalloc(3, sizeof(*t), GFP_KERNEL);
	int i, ret[3] = { -1, -1, -1 }, init = 0;
	long out[3] = {};

	KT_ASSERT(t);
	for (i = 0; i < 3; i++) {
		init |= ktask_interval_init(&t[i].iv, 5 * MS, kinds[i]);
		ret[i] = run_task(&ticker_ops, &t[i], &out[i]);
	}
	KT_ASSERT_EQ(init, 0);
	for (i = 0; i < 3; i++)
		KT_ASSERT_EQ(ret[i], 0);
	/*
	 * Held up 12 ms: the ticks due at 5 and 10 ms were missed.  BURST
	 * gives both at once, and its next tick is the one after them on
	 * the schedule.  (A poll preempted for a period may see one more
	 * tick of any policy: counts are checked from below.)
	 */
	KT_ASSERT_GE(out[0], 2);
	KT_ASSERT_EQ(ktime_to_ns(ktime_sub(t[0].iv.next, t[0].start)),
		     (out[0] + 1) * 5 * MS);
	/* DELAY: a period after the late tick, which was after 12 ms. */
	KT_ASSERT_GE(out[1], 1);
	KT_ASSERT_GE(ktime_to_ns(ktime_sub(t[1].iv.next, t[1].start)),
		     17 * MS);
	/* SKIP: on the schedule of the first tick, after the late tick. */
	KT_ASSERT_GE(out[2], 1);
	KT_ASSERT_EQ(ktime_to_ns(ktime_sub(t[2].iv.next, t[2].start)) %
		     (5 * MS), 0);
	KT_ASSERT_GE(ktime_to_ns(ktime_sub(t[2].iv.next, t[2].start)),
		     15 * MS);
	kfree(t);
	return 0;
}

/* Bad input: a period of 0, an unknown policy, a timeout of 0. */
static int time_bad_input(void)
{
	struct ktask_interval iv;
	struct ktask_timeout *t = kzalloc(sizeof(*t), GFP_KERNEL);
	int a, b, c;

	KT_ASSERT(t);
	a = ktask_interval_init(&iv, 0, KTASK_TICK_BURST);
	b = ktask_interval_init(&iv, MS, (enum ktask_missed_tick)7);
	ktask_timeout_init(t);
	c = ktask_timeout_start(t, 0);
	kfree(t);
	KT_ASSERT_EQ(a, -EINVAL);
	KT_ASSERT_EQ(b, -EINVAL);
	KT_ASSERT_EQ(c, -EINVAL);
	return 0;
}

/*
 * A timeout around a wait-queue wait that never ends: the task completes
 * with -ETIMEDOUT after at least the timeout, and leaves the queue.
 */
static DECLARE_WAIT_QUEUE_HEAD(never_wq);

struct timed_wait {
	struct ktask_wait wait;
	struct ktask_timeout timeout;
	ktime_t start, end;
};

static enum ktask_poll timed_wait_poll(struct ktask_cx *cx, void *arg,
				       long *out)
{
	struct timed_wait *tw = arg;

	if (!tw->start) {
		tw->start = ktime_get();
		ktask_timeout_start(&tw->timeout, 20 * MS);
	}
	if (ktask_wait_event(cx, &tw->wait, &never_wq, false) == KTASK_READY) {
		ktask_timeout_cancel(&tw->timeout);
		*out = 0;
		return KTASK_READY;
	}
	if (!ktask_timeout_elapsed(cx, &tw->timeout))
		return KTASK_PENDING;
	ktask_wait_cancel(&tw->wait);
	tw->end = ktime_get();
	*out = -ETIMEDOUT;
	return KTASK_READY;
}

static void timed_wait_drop(void *arg)
{
	struct timed_wait *tw = arg;

	ktask_wait_cancel(&tw->wait);
	ktask_timeout_cancel(&tw->timeout);
}

static const struct ktask_ops timed_wait_ops = {
	.poll = timed_wait_poll,
	.drop = timed_wait_drop,
};

static int timeout_around_a_wait(void)
{
	struct timed_wait *tw = kzalloc(sizeof(*tw), GFP_KERNEL);
	long out = 0;
	int ret;

	KT_ASSERT(tw);
	ktask_wait_init(&tw->wait);
	ktask_timeout_init(&tw->timeout);
	ret = run_task(&timed_wait_ops, tw, &out);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, -ETIMEDOUT);
	KT_ASSERT_GE(ktime_to_ns(ktime_sub(tw->end, tw->start)), 20 * MS);
	/* The task is complete: no entry can be added meanwhile. */
	KT_ASSERT(!waitqueue_active(&never_wq));
	kfree(tw);
	return 0;
}

/*
 * A timeout around a poll-join of a task that never completes: the joiner
 * gives up with -ETIMEDOUT and withdraws its waker; the joined task, whose
 * handle it still holds, is then aborted and joined as usual.
 */
static enum ktask_poll forever_poll(struct ktask_cx *cx, void *arg, long *out)
{
	return KTASK_PENDING;	/* woken by nothing: aborted at the end */
}

static const struct ktask_ops forever_ops = {
	.poll = forever_poll,
};

struct timed_join {
	struct ktask_handle *target;
	struct ktask_timeout timeout;
	bool started;
};

static enum ktask_poll timed_join_poll(struct ktask_cx *cx, void *arg,
				       long *out)
{
	struct timed_join *tj = arg;
	int err;

	if (!tj->started) {
		tj->started = true;
		ktask_timeout_start(&tj->timeout, 20 * MS);
	}
	if (ktask_join_poll(tj->target, cx, out, &err) == KTASK_READY) {
		ktask_timeout_cancel(&tj->timeout);
		tj->target = NULL;
		*out = err;
		return KTASK_READY;
	}
	if (!ktask_timeout_elapsed(cx, &tj->timeout))
		return KTASK_PENDING;
	ktask_join_poll_cancel(tj->target, cx);
	*out = -ETIMEDOUT;
	return KTASK_READY;
}

static const struct ktask_ops timed_join_ops = {
	.poll = timed_join_poll,
};

static int timeout_around_a_join(void)
{
	struct ktask_rt *rt = time_rt();
	struct timed_join *tj = kzalloc(sizeof(*tj), GFP_KERNEL);
	struct ktask_handle *h = NULL;
	long out = 0;
	int ret = -EINVAL, target = -EINVAL;
	bool finished = true;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	if (tj) {
		ktask_timeout_init(&tj->timeout);
		tj->target = ktask_spawn_poll(rt, &forever_ops, NULL,
					      GFP_KERNEL);
	}
	if (tj && !IS_ERR(tj->target)) {
		h = ktask_spawn_poll(rt, &timed_join_ops, tj, GFP_KERNEL);
		if (!IS_ERR(h))
			ret = ktask_join_timeout(h, &out, KT_WAIT);
		finished = ktask_is_finished(tj->target);
		ktask_abort(tj->target);
		target = ktask_join(tj->target, NULL);
	}
	ktask_rt_destroy(rt);
	kfree(tj);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, -ETIMEDOUT);
	KT_ASSERT(!finished);
	KT_ASSERT_EQ(target, -ECANCELED);
	return 0;
}

static const struct kt_case time_cases[] = {
	KT_CASE(sleep_for_keeps_its_deadline),
	KT_CASE(sleep_for_zero_is_ready),
	KT_CASE(interval_missed_ticks),
	KT_CASE(time_bad_input),
	KT_CASE(timeout_around_a_wait),
	KT_CASE(timeout_around_a_join),
};

KT_TEST_MODULE(time, time_cases);
