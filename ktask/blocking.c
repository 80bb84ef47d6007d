// SPDX-License-Identifier: GPL-2.0
/*
 * The blocking pool (Tokio's spawn_blocking).
 *
 * A blocking task is a pollable task whose first poll queues a work item
 * on the runtime's unbound blocking workqueue; the work item runs the
 * function, stores its output and wakes the task, whose next poll returns
 * it.  The task is joined and aborted like any other.  Aborting it before
 * the work item started cancels the work item; after that the function is
 * not interrupted: the task completes cancelled at once and the work item
 * frees the state when the function returns.  Runtime destroy waits for
 * the function by destroying the blocking workqueue, which is enough for
 * the module that created the runtime; any other owner module stays
 * pinned while the work item may run the function.
 */
#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/refcount.h>
#include <linux/slab.h>

#include "runtime.h"

/**
 * struct ktask_blocking - a blocking task's state
 * @work: runs @fn on the blocking pool
 * @fn: the function
 * @arg: its argument
 * @out: its output, written by @work before @done is set
 * @waker: the task's waker, taken by @work when it is done
 * @owner: the module holding @fn, pinned while @work may run it, or NULL
 *	when it created the runtime (destroy waits for @work)
 * @wq: the runtime's blocking workqueue
 * @queued: the first poll queued @work (written by the task only)
 * @done: @fn has returned (release/acquire, pairs with @out)
 * @refs: the task's and, once queued, the work item's
 */
struct ktask_blocking {
	struct work_struct work;
	long (*fn)(void *arg);
	void *arg;
	long out;
	struct ktask_waker *waker;
	struct module *owner;
	struct workqueue_struct *wq;
	bool queued;
	atomic_t done;
	refcount_t refs;
};

static void ktask_blocking_put(struct ktask_blocking *b)
{
	if (refcount_dec_and_test(&b->refs)) {
		module_put(b->owner);
		kfree(b);
	}
}

static void ktask_blocking_fn(struct work_struct *work)
{
	struct ktask_blocking *b = container_of(work, struct ktask_blocking, work);
	struct ktask_waker *w;

	b->out = b->fn(b->arg);
	/* Publishes @out to the poll that sees @done. */
	atomic_set_release(&b->done, 1);
	w = xchg(&b->waker, NULL);
	if (w)
		ktask_wake(w);
	ktask_blocking_put(b);
}

static enum ktask_poll ktask_blocking_poll(struct ktask_cx *cx, void *arg,
					   long *out)
{
	struct ktask_blocking *b = arg;

	if (atomic_read_acquire(&b->done)) {
		*out = b->out;
		return KTASK_READY;
	}
	if (!b->queued) {
		b->queued = true;
		b->waker = ktask_waker_clone(ktask_cx_waker(cx));
		refcount_inc(&b->refs);
		queue_work(b->wq, &b->work);
	}
	return KTASK_PENDING;
}

static void ktask_blocking_drop(void *arg)
{
	struct ktask_blocking *b = arg;

	/* Cancelled before it started: the work item's reference is ours. */
	if (b->queued && cancel_work(&b->work)) {
		ktask_waker_drop(xchg(&b->waker, NULL));
		ktask_blocking_put(b);
	}
	ktask_blocking_put(b);
}

static const struct ktask_ops ktask_blocking_ops = {
	.poll = ktask_blocking_poll,
	.drop = ktask_blocking_drop,
};

/**
 * __ktask_spawn_blocking() - spawn a blocking task; use ktask_spawn_blocking()
 * @rt: the runtime
 * @fn: the function; it may sleep
 * @arg: passed to @fn
 * @gfp: allocation flags
 * @owner: the module holding @fn; pinned while @fn may run, unless it
 *	created @rt (whose destroy waits for @fn)
 *
 * Context: Any context, with @gfp matching it.
 * Return: a join handle, or ERR_PTR(-EINVAL), ERR_PTR(-ENOMEM) or
 * ERR_PTR(-ESHUTDOWN).
 */
struct ktask_handle *__ktask_spawn_blocking(struct ktask_rt *rt,
					    long (*fn)(void *arg), void *arg,
					    gfp_t gfp, struct module *owner)
{
	struct ktask_handle *h;
	struct ktask_blocking *b;
	bool pin;

	if (IS_ERR_OR_NULL(rt) || !fn)
		return ERR_PTR(-EINVAL);
	b = kmalloc(sizeof(*b), gfp);
	if (!b)
		return ERR_PTR(-ENOMEM);
	/* Like ktask_cell_pins_owner(); rt is valid for the whole spawn. */
	pin = owner != rt->owner;
	if (pin && !try_module_get(owner)) {
		kfree(b);
		return ERR_PTR(-ESHUTDOWN);
	}
	INIT_WORK(&b->work, ktask_blocking_fn);
	b->fn = fn;
	b->arg = arg;
	b->out = 0;
	b->waker = NULL;
	b->owner = pin ? owner : NULL;
	b->wq = rt->blocking_wq;
	b->queued = false;
	atomic_set(&b->done, 0);
	refcount_set(&b->refs, 1);

	h = ktask_spawn_cell(rt, &ktask_blocking_ops, NULL, b, gfp, owner,
			     _RET_IP_);
	if (IS_ERR(h))
		ktask_blocking_put(b);
	return h;
}
EXPORT_SYMBOL_GPL(__ktask_spawn_blocking);
