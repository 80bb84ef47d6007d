// SPDX-License-Identifier: GPL-2.0
/*
 * Completion waits: a task waiting for a struct completion.
 *
 * A completion can only wake a thread, so a task's wait for one is carried
 * by a waiter thread of a small pool, which sleeps interruptibly in
 * wait_for_completion_interruptible() and wakes the task when it returns.
 * A cancel that finds its wait being served signals the waiter, which ends
 * the sleep at once: ktask_completion_wait_cancel() waits for a wake-up,
 * never for the completion or a polling slice.
 *
 * The pool starts with one thread and grows, from a work item, to at most
 * completion_waiters threads (module parameter); waits beyond that queue
 * in order until a waiter is free.  The pool is ktask's own, so that waits
 * cannot starve a system workqueue, nor it them.
 *
 * Locking: everything below, and the @node, @waiter and @state of every
 * struct ktask_completion_wait, is protected by ktask_cw_lock (L).  Waker
 * slots are exchanged with xchg(), as in leaf.c.
 */
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/list.h>
#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#include "runtime.h"

/* States of struct ktask_completion_wait; L. */
enum {
	KTASK_CW_IDLE,		/* no wait in flight */
	KTASK_CW_QUEUED,	/* on ktask_cw_queue, no waiter yet */
	KTASK_CW_WAITING,	/* a waiter sleeps on the completion for it */
	KTASK_CW_DONE,		/* the waiter consumed one completion for it */
	KTASK_CW_CANCELLED,	/* the task gave up while a waiter slept */
};

/**
 * struct ktask_cw_waiter - a thread of the completion-wait pool
 * @task: I: the thread
 * @cw: L: the wait it serves, or NULL
 * @idle_node: L: on ktask_cw_idle while it waits for a wait to serve
 * @all_node: L: on ktask_cw_all
 */
struct ktask_cw_waiter {
	struct task_struct *task;
	struct ktask_completion_wait *cw;
	struct list_head idle_node;
	struct list_head all_node;
};

static unsigned int ktask_cw_max = 64;

static int ktask_cw_max_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, 4096);
}

static const struct kernel_param_ops ktask_cw_max_ops = {
	.set = ktask_cw_max_set,
	.get = param_get_uint,
};

module_param_cb(completion_waiters, &ktask_cw_max_ops, &ktask_cw_max, 0644);
MODULE_PARM_DESC(completion_waiters,
		 "most threads waiting for completions on behalf of tasks, 1..4096 (default 64)");

/* Protects the pool and the waits it serves. */
static DEFINE_SPINLOCK(ktask_cw_lock);
static LIST_HEAD(ktask_cw_queue);	/* L: waits without a waiter, FIFO */
static LIST_HEAD(ktask_cw_idle);	/* L: waiters without a wait */
static LIST_HEAD(ktask_cw_all);		/* L: every waiter */
static unsigned int ktask_cw_nr;	/* L: waiters, and one being made */
static bool ktask_cw_exiting;		/* L: module exit: no new waiter */

static void ktask_cw_grow_fn(struct work_struct *work);
static DECLARE_WORK(ktask_cw_grow_work, ktask_cw_grow_fn);

/* Give the first queued wait to @w, if any; true if it got one.  L. */
static bool ktask_cw_take(struct ktask_cw_waiter *w)
{
	struct ktask_completion_wait *cw;

	lockdep_assert_held(&ktask_cw_lock);
	cw = list_first_entry_or_null(&ktask_cw_queue,
				      struct ktask_completion_wait, node);
	if (!cw)
		return false;
	list_del_init(&cw->node);
	list_del_init(&w->idle_node);
	cw->state = KTASK_CW_WAITING;
	cw->waiter = w;
	w->cw = cw;
	return true;
}

/* Sleep on @cw's completion for its task, then let go of @cw. */
static void ktask_cw_serve(struct ktask_cw_waiter *w,
			   struct ktask_completion_wait *cw)
{
	struct ktask_waker *waker = NULL;
	bool got;

	/*
	 * @cw and its completion are stable while we serve it: the task's
	 * cancel waits for us to let go (ktask_completion_wait_cancel()).
	 */
	got = !wait_for_completion_interruptible(cw->completion);
	spin_lock(&ktask_cw_lock);
	/*
	 * The only signal a waiter gets is a cancel's, sent under the lock
	 * while it serves that cancel's wait: flushed here, under the lock,
	 * it cannot end a later wait.
	 */
	flush_signals(current);
	if (got && cw->state == KTASK_CW_WAITING) {
		cw->state = KTASK_CW_DONE;
		/* The task's waker, to wake once @cw is no longer ours. */
		waker = xchg(&cw->waker, NULL);
	} else if (got) {
		/* Cancelled as it came: not ours, give it back. */
		complete(cw->completion);
	}
	w->cw = NULL;
	/*
	 * Our last access to @cw: from here a cancel may return and the
	 * task free it.  Pairs with the acquire in the cancel's wait;
	 * wake_up_var() only hashes the address.
	 */
	smp_store_release(&cw->waiter, NULL);
	wake_up_var(&cw->waiter);
	spin_unlock(&ktask_cw_lock);
	/* The waker holds the task, not @cw. */
	if (waker)
		ktask_wake(waker);
}

static int ktask_cw_thread(void *data)
{
	struct ktask_cw_waiter *w = data;
	struct ktask_completion_wait *cw;

	/* A cancel signals us to end a wait (see ktask_cw_serve()). */
	allow_signal(SIGUSR1);
	spin_lock(&ktask_cw_lock);
	for (;;) {
		if (w->cw || ktask_cw_take(w)) {
			cw = w->cw;
			spin_unlock(&ktask_cw_lock);
			ktask_cw_serve(w, cw);
			spin_lock(&ktask_cw_lock);
			continue;
		}
		if (kthread_should_stop())
			break;
		list_add(&w->idle_node, &ktask_cw_idle);
		/* Under the lock: a poll that gives us a wait wakes us after. */
		set_current_state(TASK_IDLE);
		spin_unlock(&ktask_cw_lock);
		schedule();
		spin_lock(&ktask_cw_lock);
		list_del_init(&w->idle_node);
	}
	spin_unlock(&ktask_cw_lock);
	return 0;
}

/* Start a waiter thread; the caller counted it in ktask_cw_nr. */
static int ktask_cw_start(void)
{
	static atomic_t ktask_cw_seq = ATOMIC_INIT(0);
	struct ktask_cw_waiter *w;
	struct task_struct *task;

	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	INIT_LIST_HEAD(&w->idle_node);
	task = kthread_create(ktask_cw_thread, w, "ktask_cw/%d",
			      atomic_inc_return(&ktask_cw_seq));
	if (IS_ERR(task)) {
		kfree(w);
		return PTR_ERR(task);
	}
	w->task = task;
	spin_lock(&ktask_cw_lock);
	list_add_tail(&w->all_node, &ktask_cw_all);
	spin_unlock(&ktask_cw_lock);
	wake_up_process(task);
	return 0;
}

/* Add waiters while waits queue for lack of one, up to the limit. */
static void ktask_cw_grow_fn(struct work_struct *work)
{
	for (;;) {
		spin_lock(&ktask_cw_lock);
		if (ktask_cw_exiting || list_empty(&ktask_cw_queue) ||
		    !list_empty(&ktask_cw_idle) ||
		    ktask_cw_nr >= READ_ONCE(ktask_cw_max)) {
			spin_unlock(&ktask_cw_lock);
			return;
		}
		ktask_cw_nr++;
		spin_unlock(&ktask_cw_lock);
		if (ktask_cw_start()) {
			/* The waiters we have serve the queue meanwhile. */
			spin_lock(&ktask_cw_lock);
			ktask_cw_nr--;
			spin_unlock(&ktask_cw_lock);
			return;
		}
	}
}

/**
 * ktask_completion_wait_init() - prepare a completion wait
 * @cw: the task's completion-wait state
 *
 * Context: Any context.
 */
void ktask_completion_wait_init(struct ktask_completion_wait *cw)
{
	INIT_LIST_HEAD(&cw->node);
	cw->completion = NULL;
	cw->waker = NULL;
	cw->waiter = NULL;
	cw->state = KTASK_CW_IDLE;
}
EXPORT_SYMBOL_GPL(ktask_completion_wait_init);

/**
 * ktask_wait_for_completion() - wait in a task for a struct completion
 * @cx: the poll context
 * @cw: the task's completion-wait state
 * @done: the completion; consumed once, as wait_for_completion() does
 *
 * A thread of ktask's completion-wait pool sleeps on @done for the task;
 * when all completion_waiters threads are busy, the wait starts when one
 * is free.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY once @done was completed (and consumed), else
 * KTASK_PENDING.
 */
enum ktask_poll ktask_wait_for_completion(struct ktask_cx *cx,
					  struct ktask_completion_wait *cw,
					  struct completion *done)
{
	struct ktask_cw_waiter *w = NULL;
	bool ready = false, grow = false;

	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;
	/* The waker first: a waiter that is done finds it. */
	ktask_park_waker(cx, &cw->waker);
	ktask_cx_note_wait(cx, KTASK_WAIT_COMPLETION, (unsigned long)done,
			   _RET_IP_);
	spin_lock(&ktask_cw_lock);
	switch (cw->state) {
	case KTASK_CW_DONE:
		cw->state = KTASK_CW_IDLE;
		ready = true;
		break;
	case KTASK_CW_IDLE:
		if (try_wait_for_completion(done)) {
			ready = true;
			break;
		}
		cw->completion = done;
		cw->state = KTASK_CW_QUEUED;
		list_add_tail(&cw->node, &ktask_cw_queue);
		w = list_first_entry_or_null(&ktask_cw_idle,
					     struct ktask_cw_waiter, idle_node);
		if (w)
			ktask_cw_take(w);
		else
			grow = true;
		break;
	default:
		/* Queued or waiting: the waker is in place. */
		break;
	}
	spin_unlock(&ktask_cw_lock);
	if (w)
		wake_up_process(w->task);
	if (grow)
		queue_work(system_unbound_wq, &ktask_cw_grow_work);
	if (!ready)
		return KTASK_PENDING;
	/* Whichever of us and the waiter takes the waker releases it. */
	ktask_waker_drop(xchg(&cw->waker, NULL));
	ktask_coop_made_progress(cx);
	return KTASK_READY;
}
EXPORT_SYMBOL_GPL(ktask_wait_for_completion);

/**
 * ktask_completion_wait_cancel() - abandon a completion wait
 * @cw: the task's completion-wait state
 *
 * A completion that arrives as the wait is abandoned is given back to its
 * struct completion, not lost.  A wait that a waiter thread serves is
 * ended with a signal: this waits for that thread to wake, not for the
 * completion.  Call it from ops->drop of a task that may be aborted while
 * it waits; afterwards the completion may be freed.
 *
 * Context: Process context; may sleep briefly.
 */
void ktask_completion_wait_cancel(struct ktask_completion_wait *cw)
{
	might_sleep();
	spin_lock(&ktask_cw_lock);
	switch (cw->state) {
	case KTASK_CW_QUEUED:
		list_del_init(&cw->node);
		break;
	case KTASK_CW_DONE:
		/* Consumed for us but never seen: give it back. */
		complete(cw->completion);
		break;
	case KTASK_CW_WAITING:
		cw->state = KTASK_CW_CANCELLED;
		send_sig(SIGUSR1, cw->waiter->task, 1);
		break;
	}
	spin_unlock(&ktask_cw_lock);
	/* Pairs with the release in ktask_cw_serve(): its last access. */
	wait_var_event(&cw->waiter, !smp_load_acquire(&cw->waiter));
	ktask_waker_drop(xchg(&cw->waker, NULL));
	cw->state = KTASK_CW_IDLE;
}
EXPORT_SYMBOL_GPL(ktask_completion_wait_cancel);

/**
 * ktask_completion_init() - start the completion-wait pool
 *
 * Context: Module init.
 * Return: 0, or a negative errno if no waiter thread could be started.
 */
int ktask_completion_init(void)
{
	ktask_cw_nr = 1;
	return ktask_cw_start();
}

/**
 * ktask_completion_exit() - stop the completion-wait pool
 *
 * Description:
 * Every task is gone, so every wait has been cancelled or consumed.
 *
 * Context: Module exit.
 */
void ktask_completion_exit(void)
{
	struct ktask_cw_waiter *w, *tmp;

	spin_lock(&ktask_cw_lock);
	ktask_cw_exiting = true;
	spin_unlock(&ktask_cw_lock);
	cancel_work_sync(&ktask_cw_grow_work);
	/* No waiter is added any more: the list is ours. */
	list_for_each_entry_safe(w, tmp, &ktask_cw_all, all_node) {
		kthread_stop(w->task);
		list_del(&w->all_node);
		kfree(w);
	}
	WARN_ON_ONCE(!list_empty(&ktask_cw_queue));
}
