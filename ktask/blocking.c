// SPDX-License-Identifier: GPL-2.0
/*
 * The blocking pool (Tokio's spawn_blocking).
 *
 * A blocking task is queued and polled like any other, but its poll does
 * not call the function: it hands the task, still RUNNING, with the poll's
 * reference, to a work item on the runtime's unbound blocking workqueue,
 * and the run queue's drain goes on.  The work item calls the function
 * and completes the task with its output.  So, as in Tokio, an abort
 * before the first poll cancels the task and the function never runs;
 * once the function runs, the task is RUNNING and an abort only marks it:
 * the join waits for the function and gets its output.  Runtime destroy
 * waits for it the same way (the task is alive until it completes).
 */
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "runtime.h"

/**
 * struct ktask_blocking - a blocking task's body
 * @work: runs @fn on the blocking pool
 * @fn: the function
 * @arg: its argument
 * @cell: the task, RUNNING while @work is queued or runs
 */
struct ktask_blocking {
	struct work_struct work;
	long (*fn)(void *arg);
	void *arg;
	struct ktask_cell *cell;
};

static void ktask_blocking_fn(struct work_struct *work)
{
	struct ktask_blocking *b = container_of(work, struct ktask_blocking, work);
	struct ktask_cell *cell = b->cell;
	struct ktask_context ctx = {
		.blocking_rt = cell->rt,
		.blocking_cell = cell,
	};
	long out;

	ktask_context_enter(&ctx);
	out = b->fn(b->arg);
	ktask_context_exit(&ctx);
	/* Completing the task drops the body: @b is freed there. */
	ktask_harness_finish(cell, out);
}

/**
 * ktask_blocking_current_rt() - the runtime of the blocking function running
 *
 * Context: Any context.
 * Return: the runtime whose blocking function the caller is running in,
 * or NULL.
 */
struct ktask_rt *ktask_blocking_current_rt(void)
{
	struct ktask_context found;

	ktask_context_find(&found);
	return found.blocking_rt;
}

/**
 * ktask_blocking_current_cell() - the task of the blocking function running
 *
 * Context: Any context.
 * Return: the task whose blocking function the caller is running in, or
 * NULL.
 */
struct ktask_cell *ktask_blocking_current_cell(void)
{
	struct ktask_context found;

	ktask_context_find(&found);
	return found.blocking_cell;
}

/* The body of a blocking task: the poll ends by handing the task over. */
enum ktask_poll ktask_blocking_run(struct ktask_cell *cell,
				   struct ktask_cx *cx, long *out)
{
	return KTASK_HANDED_OFF;
}

/*
 * The poller's last step: the task, RUNNING, and the poll's reference go
 * to the blocking pool, whose work item may complete and free it at once.
 */
void ktask_blocking_hand_off(struct ktask_cell *cell)
{
	struct ktask_blocking *b = cell->arg;

	b->cell = cell;
	queue_work(cell->rt->blocking_wq, &b->work);
}

/* Drop a blocking task's body: the function has returned, or never will. */
void ktask_blocking_drop(struct ktask_cell *cell)
{
	kfree(cell->arg);
}

/**
 * __ktask_spawn_blocking() - spawn a blocking task; use ktask_spawn_blocking()
 * @rt: the runtime
 * @fn: the function; it may sleep
 * @arg: passed to @fn
 * @gfp: allocation flags
 * @owner: the module holding @fn; pinned until @fn has returned, unless
 *	it created @rt (whose destroy waits for @fn)
 *
 * The function runs on an unbound workqueue of the runtime, where it may
 * sleep, after the task's first poll.  An abort before that cancels the
 * task (the function never runs, the join gets -ECANCELED); once the
 * function runs, an abort does not interrupt it and the join waits for it
 * and returns its output.
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: a join handle, or ERR_PTR(-EINVAL), ERR_PTR(-ENOMEM) or
 * ERR_PTR(-ESHUTDOWN).
 */
struct ktask_handle *__ktask_spawn_blocking(struct ktask_rt *rt,
					    long (*fn)(void *arg), void *arg,
					    gfp_t gfp, struct module *owner)
{
	return ktask_spawn_blocking_at(rt, fn, arg, NULL, gfp, owner, _RET_IP_);
}
EXPORT_SYMBOL_GPL(__ktask_spawn_blocking);

/* __ktask_spawn_blocking() with the spawn site given. */
struct ktask_handle *ktask_spawn_blocking_at(struct ktask_rt *rt,
					     long (*fn)(void *arg), void *arg,
					     const struct ktask_spawn_opts *opts,
					     gfp_t gfp, struct module *owner,
					     unsigned long site)
{
	struct ktask_handle *h;
	struct ktask_blocking *b;

	if (IS_ERR_OR_NULL(rt) || !fn)
		return ERR_PTR(-EINVAL);
	if (ktask_spawn_context_check())
		return ERR_PTR(-EPERM);
	b = kmalloc(sizeof(*b), gfp);
	if (!b)
		return ERR_PTR(-ENOMEM);
	INIT_WORK(&b->work, ktask_blocking_fn);
	b->fn = fn;
	b->arg = arg;
	b->cell = NULL;

	h = ktask_spawn_cell(rt, KTASK_KIND_BLOCKING, NULL, NULL, b, opts, gfp,
			     owner, site);
	if (IS_ERR(h))
		kfree(b);
	return h;
}
