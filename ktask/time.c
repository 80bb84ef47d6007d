// SPDX-License-Identifier: GPL-2.0
/*
 * Time, on top of ktask_sleep_until(): a relative sleep, an interval with
 * a policy for missed ticks (Tokio's MissedTickBehavior), and a timeout
 * around any other wait.
 *
 * All of them keep their deadline in the task's state, so that a task
 * polled early (woken by something else) does not restart its wait, and
 * all use CLOCK_MONOTONIC, as ktime_get() reads it.
 */
#include <linux/ktask.h>
#include <linux/ktime.h>
#include <linux/math64.h>

#include "runtime.h"

/**
 * ktask_sleep_for() - wait in a task for a duration
 * @cx: the poll context
 * @s: the task's sleep state, from ktask_sleep_init()
 * @ns: how long, from the first poll that asks; 0 completes at once
 *
 * The deadline is taken on the first call and kept until the sleep
 * completes or is cancelled: a poll that comes early waits for the same
 * deadline.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY once @ns have passed since the first call, else
 * KTASK_PENDING.
 */
enum ktask_poll ktask_sleep_for(struct ktask_cx *cx, struct ktask_sleep *s,
				u64 ns)
{
	enum ktask_poll ret;

	if (!s->armed) {
		s->deadline = ktime_add_ns(ktime_get(), ns);
		s->armed = true;
	}
	ret = ktask_sleep_until(cx, s, s->deadline);
	if (ret == KTASK_READY)
		s->armed = false;
	return ret;
}
EXPORT_SYMBOL_GPL(ktask_sleep_for);

/**
 * ktask_interval_init() - prepare an interval
 * @iv: the task's interval state
 * @period_ns: the period; at least 1
 * @missed: what to do about missed ticks
 *
 * The first ktask_interval_tick() completes at once.
 *
 * Context: Any context.
 * Return: 0, or -EINVAL for a period of 0 or an unknown @missed.
 */
int ktask_interval_init(struct ktask_interval *iv, u64 period_ns,
			enum ktask_missed_tick missed)
{
	if (!period_ns || period_ns > KTIME_MAX ||
	    (missed != KTASK_TICK_BURST && missed != KTASK_TICK_DELAY &&
	     missed != KTASK_TICK_SKIP))
		return -EINVAL;
	ktask_sleep_init(&iv->sleep);
	iv->next = 0;
	iv->period = period_ns;
	iv->missed = missed;
	return 0;
}
EXPORT_SYMBOL_GPL(ktask_interval_init);

/**
 * ktask_interval_tick() - wait in a task for the interval's next tick
 * @cx: the poll context
 * @iv: the task's interval, from ktask_interval_init()
 *
 * A task that was not polled for longer than a period missed ticks:
 * @iv->missed decides when the next ones are due.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY for each tick, else KTASK_PENDING.
 */
enum ktask_poll ktask_interval_tick(struct ktask_cx *cx,
				    struct ktask_interval *iv)
{
	ktime_t now;
	u64 behind;

	if (!iv->next)
		iv->next = ktime_get();
	if (ktask_sleep_until(cx, &iv->sleep, iv->next) != KTASK_READY)
		return KTASK_PENDING;
	now = ktime_get();
	switch (iv->missed) {
	case KTASK_TICK_BURST:
		iv->next = ktime_add_ns(iv->next, iv->period);
		break;
	case KTASK_TICK_DELAY:
		iv->next = ktime_add_ns(now, iv->period);
		break;
	case KTASK_TICK_SKIP:
		/* The first tick of the schedule that is after now. */
		behind = ktime_to_ns(ktime_sub(now, iv->next));
		iv->next = ktime_add_ns(iv->next, (div64_u64(behind, iv->period) + 1) *
					iv->period);
		break;
	}
	return KTASK_READY;
}
EXPORT_SYMBOL_GPL(ktask_interval_tick);

/**
 * ktask_interval_cancel() - stop an interval and release its waker
 * @iv: the interval
 *
 * Context: As ktask_sleep_cancel().
 */
void ktask_interval_cancel(struct ktask_interval *iv)
{
	ktask_sleep_cancel(&iv->sleep);
}
EXPORT_SYMBOL_GPL(ktask_interval_cancel);

/**
 * ktask_timeout_init() - prepare a timeout
 * @t: the task's timeout state
 *
 * Context: Any context.
 */
void ktask_timeout_init(struct ktask_timeout *t)
{
	ktask_sleep_init(&t->sleep);
}
EXPORT_SYMBOL_GPL(ktask_timeout_init);

/**
 * ktask_timeout_start() - start a timeout
 * @t: the timeout, from ktask_timeout_init(), not started
 * @ns: how long from now; at least 1
 *
 * Context: Any context, but not concurrently with a poll that uses @t.
 * Return: 0, or -EINVAL for a timeout of 0 (give up at once instead).
 */
int ktask_timeout_start(struct ktask_timeout *t, u64 ns)
{
	if (!ns)
		return -EINVAL;
	t->sleep.deadline = ktime_add_ns(ktime_get(), ns);
	t->sleep.armed = true;
	return 0;
}
EXPORT_SYMBOL_GPL(ktask_timeout_start);

/**
 * ktask_timeout_elapsed() - whether a task's timeout has passed
 * @cx: the poll context
 * @t: the timeout, started
 *
 * Call it when the wait it guards returned KTASK_PENDING.  While the
 * deadline is ahead, makes sure the task is woken at it.  It takes no
 * coop budget.
 *
 * Context: Inside a poll function.
 * Return: true once the deadline has passed (the timeout is then stopped:
 * cancel the guarded wait and complete with -ETIMEDOUT); false before, and
 * for a timeout that was not started (WARNs once).
 */
bool ktask_timeout_elapsed(struct ktask_cx *cx, struct ktask_timeout *t)
{
	struct ktask_sleep *s = &t->sleep;

	if (WARN_ONCE(!s->armed, "ktask: timeout not started\n"))
		return false;
	if (ktime_compare(ktime_get(), s->deadline) >= 0) {
		ktask_sleep_cancel(s);
		return true;
	}
	/* Once per timeout: the waker is the task's, the timer keeps it. */
	if (!hrtimer_is_queued(&s->timer)) {
		/* Notes no site: the guarded wait's stays. */
		ktask_park_waker(cx, &s->waker);
		hrtimer_start(&s->timer, s->deadline, HRTIMER_MODE_ABS_PINNED);
	}
	return false;
}
EXPORT_SYMBOL_GPL(ktask_timeout_elapsed);

/**
 * ktask_timeout_cancel() - stop a timeout and release its waker
 * @t: the timeout
 *
 * Call it when the guarded wait completed in time, and from ops->drop.
 *
 * Context: As ktask_sleep_cancel().
 */
void ktask_timeout_cancel(struct ktask_timeout *t)
{
	ktask_sleep_cancel(&t->sleep);
}
EXPORT_SYMBOL_GPL(ktask_timeout_cancel);
