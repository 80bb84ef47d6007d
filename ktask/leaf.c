// SPDX-License-Identifier: GPL-2.0
/*
 * Leaf operations: what a poll function calls to wait for the kernel's own
 * events without blocking a worker.  Each stores a clone of the task's
 * waker where the event source finds it, takes one unit of coop budget
 * (given back when it made no progress), and is woken from any context:
 * an hrtimer, a wake_up() from an interrupt handler (completion.c has the
 * wait for a struct completion).
 *
 * Every state object has exactly one waker slot, exchanged with xchg():
 * whoever takes the waker out of it (the event source to wake it, the
 * task to replace or cancel it) owns that reference.
 */
#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/poll.h>
#include <linux/ktask.h>
#include <linux/sched.h>
#include <linux/wait.h>

#include "runtime.h"

/* Wake and release the waker in @slot, if any. */
static void ktask_wake_slot(struct ktask_waker **slot)
{
	struct ktask_waker *w = xchg(slot, NULL);

	if (w)
		ktask_wake(w);
}

/**
 * ktask_yield_now() - let the other queued tasks run
 * @cx: the poll context
 * @y: the task's yield state, zero-initialised
 *
 * Returns KTASK_PENDING once, after waking the task so that it is polled
 * again behind the tasks already queued, then KTASK_READY.
 *
 * Context: Inside a poll function.
 * Return: KTASK_PENDING the first time, KTASK_READY the second.
 */
enum ktask_poll ktask_yield_now(struct ktask_cx *cx, struct ktask_yield *y)
{
	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;
	if (y->yielded) {
		y->yielded = false;
		ktask_coop_made_progress(cx);
		return KTASK_READY;
	}
	y->yielded = true;
	ktask_wake_by_ref(ktask_cx_waker(cx));
	ktask_cx_note_wait(cx, KTASK_WAIT_YIELD, 0, _RET_IP_);
	return KTASK_PENDING;
}
EXPORT_SYMBOL_GPL(ktask_yield_now);

static enum hrtimer_restart ktask_sleep_fire(struct hrtimer *timer)
{
	struct ktask_sleep *s = container_of(timer, struct ktask_sleep, timer);

	ktask_wake_slot(&s->waker);
	return HRTIMER_NORESTART;
}

/**
 * ktask_sleep_init() - prepare a sleep
 * @s: the task's sleep state
 *
 * Context: Any context.
 */
void ktask_sleep_init(struct ktask_sleep *s)
{
	hrtimer_init(&s->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_PINNED);
	s->timer.function = ktask_sleep_fire;
	s->waker = NULL;
	s->deadline = 0;
	s->armed = false;
}
EXPORT_SYMBOL_GPL(ktask_sleep_init);

/**
 * ktask_sleep_until() - wait in a task until a CLOCK_MONOTONIC deadline
 * @cx: the poll context
 * @s: the task's sleep state, from ktask_sleep_init()
 * @deadline: when to wake, as ktime_get() counts
 *
 * The task is woken from an hrtimer on the CPU that polled it, so sleepers
 * on a CPU are polled again in deadline order.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY once the deadline has passed, else KTASK_PENDING.
 */
enum ktask_poll ktask_sleep_until(struct ktask_cx *cx, struct ktask_sleep *s,
				  ktime_t deadline)
{
	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;
	if (ktime_compare(ktime_get(), deadline) >= 0) {
		ktask_sleep_cancel(s);
		ktask_coop_made_progress(cx);
		return KTASK_READY;
	}
	/* The waker first: a timer that fires now finds it. */
	ktask_park_waker(cx, &s->waker);
	ktask_cx_note_wait(cx, KTASK_WAIT_SLEEP, (unsigned long)s, _RET_IP_);
	hrtimer_start(&s->timer, deadline, HRTIMER_MODE_ABS_PINNED);
	return KTASK_PENDING;
}
EXPORT_SYMBOL_GPL(ktask_sleep_until);

/**
 * ktask_sleep_cancel() - stop a sleep and release its waker
 * @s: the sleep state
 *
 * Call it from ops->drop of a task that may be aborted while it sleeps.
 *
 * Context: Process context or a poll function; may wait for a running
 * timer callback.
 */
void ktask_sleep_cancel(struct ktask_sleep *s)
{
	hrtimer_cancel(&s->timer);
	ktask_waker_drop(xchg(&s->waker, NULL));
	s->armed = false;
}
EXPORT_SYMBOL_GPL(ktask_sleep_cancel);

/* Wait-queue wake function: take ourselves off the queue, wake the task. */
static int ktask_wait_wake(struct wait_queue_entry *entry, unsigned int mode,
			   int sync, void *key)
{
	struct ktask_wait *w = container_of(entry, struct ktask_wait, entry);

	/*
	 * Called under the queue's lock, as autoremove_wake_function().  A
	 * keyed wake for none of our events leaves us queued, as pollwake()
	 * does for poll().
	 */
	if (key && w->events && !(key_to_poll(key) & w->events))
		return 0;
	list_del_init_careful(&entry->entry);
	ktask_wake_slot(&w->waker);
	return 1;
}

/**
 * ktask_wait_init() - prepare a wait-queue wait
 * @w: the task's wait state
 *
 * Context: Any context.
 */
void ktask_wait_init(struct ktask_wait *w)
{
	init_waitqueue_func_entry(&w->entry, ktask_wait_wake);
	/* Not done by the above: an empty list means "not queued". */
	INIT_LIST_HEAD(&w->entry.entry);
	w->head = NULL;
	w->waker = NULL;
	w->events = 0;
}
EXPORT_SYMBOL_GPL(ktask_wait_init);

/**
 * ktask_wait_prepare() - queue a task on a wait queue; see ktask_wait_event()
 * @cx: the poll context
 * @w: the task's wait state
 * @wq_head: the wait queue
 *
 * After this, a wake_up(@wq_head) wakes the task.  The caller tests its
 * condition again afterwards, as after prepare_to_wait(): the full barrier
 * here orders the queued entry before that test, and pairs with the one a
 * waker has between setting the condition and looking for waiters (the
 * smp_mb() before wq_has_sleeper(), or the lock wake_up() takes).
 *
 * Context: Inside a poll function.
 */
void ktask_wait_prepare(struct ktask_cx *cx, struct ktask_wait *w,
			struct wait_queue_head *wq_head)
{
	ktask_wait_prepare_poll(cx, w, wq_head, 0);
}
EXPORT_SYMBOL_GPL(ktask_wait_prepare);

/**
 * ktask_wait_prepare_poll() - queue a task on a wait queue for some poll
 *	events; see ktask_wait_event_poll()
 * @cx: the poll context
 * @w: the task's wait state
 * @wq_head: the wait queue
 * @events: the poll events a keyed wake must carry one of (EPOLLERR and
 *	EPOLLHUP are added, as poll() adds them); 0 for any
 *
 * As ktask_wait_prepare(), with a filter on keyed wakes.
 *
 * Context: Inside a poll function.
 */
void ktask_wait_prepare_poll(struct ktask_cx *cx, struct ktask_wait *w,
			     struct wait_queue_head *wq_head, __poll_t events)
{
	unsigned long flags;

	ktask_park_waker(cx, &w->waker);
	ktask_cx_note_wait(cx, KTASK_WAIT_QUEUE, (unsigned long)wq_head,
			   _RET_IP_);
	if (w->head && w->head != wq_head) {
		/* Moved to another queue: leave the old one under its lock. */
		spin_lock_irqsave(&w->head->lock, flags);
		list_del_init(&w->entry.entry);
		spin_unlock_irqrestore(&w->head->lock, flags);
	}
	spin_lock_irqsave(&wq_head->lock, flags);
	/*
	 * Under the lock the wake function reads it under.  Errors and
	 * hang-ups always wake, as poll() adds them (wake_up_pollfree()'s
	 * EPOLLHUP included: the queue is about to go).
	 */
	w->events = events ? events | EPOLLERR | EPOLLHUP : 0;
	if (list_empty(&w->entry.entry))
		__add_wait_queue_entry_tail(wq_head, &w->entry);
	w->head = wq_head;
	spin_unlock_irqrestore(&wq_head->lock, flags);
	/*
	 * The entry is visible before the caller tests its condition: a
	 * release (the unlock) does not order a later load.  Pairs with the
	 * waker's barrier between its condition store and its look at the
	 * queue.
	 */
	smp_mb();
}
EXPORT_SYMBOL_GPL(ktask_wait_prepare_poll);

/**
 * ktask_wait_cancel() - take a task off its wait queue, release its waker
 * @w: the task's wait state
 *
 * ktask_wait_event() calls it when the condition holds; call it from
 * ops->drop of a task that may be aborted while it waits, so that no entry
 * is left on the queue.
 *
 * Context: Any context.
 */
void ktask_wait_cancel(struct ktask_wait *w)
{
	struct wait_queue_head *head = w->head;
	unsigned long flags;

	if (head) {
		spin_lock_irqsave(&head->lock, flags);
		list_del_init(&w->entry.entry);
		spin_unlock_irqrestore(&head->lock, flags);
		w->head = NULL;
	}
	ktask_waker_drop(xchg(&w->waker, NULL));
}
EXPORT_SYMBOL_GPL(ktask_wait_cancel);
