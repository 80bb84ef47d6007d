// SPDX-License-Identifier: GPL-2.0
/*
 * Task groups: Tokio's JoinSet, for a driver's "every task of this device".
 *
 * A group owns the join handles of the tasks spawned into it.  Each task's
 * join-waker slot holds the task's member entry (tagged
 * KTASK_JOIN_WAKER_GROUP), so that its completion moves the entry from the
 * group's running list to its done list, in completion order, and wakes
 * whoever waits for the group: threads in ktask_group_join_next(), or the
 * one task in ktask_group_join_next_poll().  Joining the next task takes
 * the first entry of the done list and consumes its handle, which cannot
 * sleep: the task is complete.
 *
 * Locking: @lock protects the lists, @len, @waker and every member's
 * @node.  Completions take it from process context; spawns, aborts and
 * polls from any context, so it is taken with interrupts off.
 */
#include <linux/ktask.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "runtime.h"

/**
 * struct ktask_group - tasks joined together
 * @rt: I: the runtime its tasks run on
 * @lock: protects everything below
 * @running: members whose task has not completed
 * @done: members whose task completed, in completion order, not yet joined
 * @len: members on either list
 * @waker: the task waiting in ktask_group_join_next_poll(), or NULL
 * @wq: threads waiting in ktask_group_join_next() and shutdown
 * @token: I: cancelled when the group shuts down
 */
struct ktask_group {
	struct ktask_rt *rt;
	struct ktask_cancel_token *token;
	spinlock_t lock;			/* protects what follows */
	struct list_head running;
	struct list_head done;
	unsigned int len;
	struct ktask_waker *waker;
	wait_queue_head_t wq;
};

/**
 * struct ktask_group_member - a task of a group; what its join-waker slot
 * holds, tagged
 * @node: on the group's running or done list
 * @group: I: the group
 * @h: I: the task's join handle, owned by the group
 * @id: I: the task's id
 */
struct ktask_group_member {
	struct list_head node;
	struct ktask_group *group;
	struct ktask_handle *h;
	u64 id;
};

/**
 * ktask_group_member_done() - a member's task completed
 * @waker: the join-waker slot's value: the member, tagged
 *
 * Called by the completion (ktask_join_waker_wake()), which owns the slot.
 *
 * Context: Process context, the task's completion.
 */
void ktask_group_member_done(unsigned long waker)
{
	struct ktask_group_member *m = (void *)(waker & ~KTASK_JOIN_WAKER_TAGS);
	struct ktask_group *g = m->group;
	struct ktask_waker *w;
	unsigned long flags;

	spin_lock_irqsave(&g->lock, flags);
	list_move_tail(&m->node, &g->done);
	w = g->waker;
	g->waker = NULL;
	/*
	 * Under the lock: once the running list is empty a shutdown may
	 * free the group, but not before it has taken the lock after that.
	 */
	wake_up(&g->wq);
	spin_unlock_irqrestore(&g->lock, flags);
	/* The waker holds its task, not the group. */
	ktask_wake(w);
}

/**
 * ktask_group_create() - create an empty group of tasks on a runtime
 * @rt: the runtime the group's tasks run on; must outlive the group
 *
 * Context: Process context.
 * Return: the group, ERR_PTR(-EINVAL) for an invalid runtime, or
 * ERR_PTR(-ENOMEM).
 */
struct ktask_group *ktask_group_create(struct ktask_rt *rt)
{
	struct ktask_group *g;

	if (IS_ERR_OR_NULL(rt))
		return ERR_PTR(-EINVAL);
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return ERR_PTR(-ENOMEM);
	g->token = ktask_cancel_token_create(GFP_KERNEL);
	if (IS_ERR(g->token)) {
		kfree(g);
		return ERR_PTR(-ENOMEM);
	}
	g->rt = rt;
	spin_lock_init(&g->lock);
	INIT_LIST_HEAD(&g->running);
	INIT_LIST_HEAD(&g->done);
	init_waitqueue_head(&g->wq);
	return g;
}
EXPORT_SYMBOL_GPL(ktask_group_create);

/* Add the task of @h to @g; consumes @h, frees @m on failure. */
static int ktask_group_add(struct ktask_group *g, struct ktask_group_member *m,
			   struct ktask_handle *h, u64 *id)
{
	unsigned long flags;

	if (IS_ERR(h)) {
		kfree(m);
		return PTR_ERR(h);
	}
	m->group = g;
	m->h = h;
	m->id = ktask_id(h);
	spin_lock_irqsave(&g->lock, flags);
	list_add_tail(&m->node, &g->running);
	g->len++;
	spin_unlock_irqrestore(&g->lock, flags);
	/* Completed already: the member goes to the done list now. */
	if (!ktask_join_register_waker(ktask_handle_cell(h),
				       (unsigned long)m | KTASK_JOIN_WAKER_GROUP))
		ktask_group_member_done((unsigned long)m);
	if (id)
		*id = m->id;
	return 0;
}

/**
 * __ktask_group_spawn() - spawn a task into a group; use ktask_group_spawn()
 * @g: the group
 * @kind: KTASK_SPAWN_FN, KTASK_SPAWN_POLL or KTASK_SPAWN_BLOCKING
 * @ops: for KTASK_SPAWN_POLL, the task's operations
 * @fn: for the other kinds, the function
 * @arg: passed to @fn or @ops
 * @opts: name and placement (see ktask_spawn_with()), or NULL
 * @gfp: allocation flags (two allocations: the task and its group entry)
 * @id: where to store the task's id; may be NULL
 * @owner: the module holding the task's code
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: 0, -EINVAL for bad arguments, -ENOMEM, or -ESHUTDOWN when the
 * runtime is closed or @owner is going away; -ENAMETOOLONG or -ENODEV for
 * @opts as ktask_spawn_with().  On failure nothing is left behind and
 * @ops->drop is not called.
 */
int __ktask_group_spawn(struct ktask_group *g, enum ktask_spawn_kind kind,
			const struct ktask_ops *ops, long (*fn)(void *arg),
			void *arg, const struct ktask_spawn_opts *opts,
			gfp_t gfp, u64 *id, struct module *owner)
{
	struct ktask_group_member *m;
	struct ktask_handle *h;

	if (IS_ERR_OR_NULL(g))
		return -EINVAL;
	if (ktask_spawn_context_check())
		return -EPERM;
	m = kmalloc(sizeof(*m), gfp);
	if (!m)
		return -ENOMEM;
	h = ktask_spawn_of_kind(g->rt, kind, ops, fn, arg, opts, gfp, owner,
				_RET_IP_);
	return ktask_group_add(g, m, h, id);
}
EXPORT_SYMBOL_GPL(__ktask_group_spawn);

/* Take the first done member, or NULL; *@empty: no member at all. */
static struct ktask_group_member *ktask_group_take(struct ktask_group *g,
						   bool *empty)
{
	struct ktask_group_member *m;
	unsigned long flags;

	spin_lock_irqsave(&g->lock, flags);
	m = list_first_entry_or_null(&g->done, struct ktask_group_member,
				     node);
	if (m) {
		list_del(&m->node);
		g->len--;
	}
	*empty = !g->len;
	spin_unlock_irqrestore(&g->lock, flags);
	return m;
}

/* Consume @m's handle (its task is complete) and free it. */
static int ktask_group_consume(struct ktask_group_member *m, u64 *id,
			       long *out)
{
	int ret;

	if (id)
		*id = m->id;
	ret = ktask_join_consume(ktask_handle_cell(m->h), out);
	kfree(m);
	return ret;
}

/* Whether a join_next can stop waiting (@all: whether shutdown can). */
static bool ktask_group_ready(struct ktask_group *g, bool all)
{
	unsigned long flags;
	bool ready;

	spin_lock_irqsave(&g->lock, flags);
	ready = list_empty(&g->running) || (!all && !list_empty(&g->done));
	spin_unlock_irqrestore(&g->lock, flags);
	return ready;
}

/**
 * ktask_group_join_next_timeout() - join the group's next task to complete
 * @g: the group
 * @id: where to store the joined task's id (0 if none); may be NULL
 * @out: where to store its output; may be NULL
 * @timeout: the longest wait, in jiffies; 0 does not wait
 *
 * Tasks are joined in the order they completed; each once.
 *
 * Context: Process context; sleeps.  Not from a ktask worker.
 * Return: the joined task's result, as ktask_join() gives it (0 with *@out
 * set, -ECANCELED, -EPROTO), with *@id set; or, with *@id = 0, -ENOENT if
 * the group has no task, -ETIMEDOUT if none completed in time, -EDEADLK
 * from a ktask worker that would wait, -EINVAL for an invalid group.
 */
int ktask_group_join_next_timeout(struct ktask_group *g, u64 *id, long *out,
				  unsigned long timeout)
{
	struct ktask_group_member *m;
	bool empty;

	if (id)
		*id = 0;
	if (IS_ERR_OR_NULL(g))
		return -EINVAL;
	might_sleep();
	m = ktask_group_take(g, &empty);
	if (!m && empty)
		return -ENOENT;
	if (!m) {
		if (!timeout)
			return -ETIMEDOUT;
		if (ktask_current_rq())
			return -EDEADLK;
		if (!wait_event_timeout(g->wq, ktask_group_ready(g, false),
					min_t(unsigned long, timeout,
					      MAX_SCHEDULE_TIMEOUT)))
			return -ETIMEDOUT;
		m = ktask_group_take(g, &empty);
		if (!m)
			return -ENOENT;
	}
	return ktask_group_consume(m, id, out);
}
EXPORT_SYMBOL_GPL(ktask_group_join_next_timeout);

/**
 * ktask_group_join_next() - wait for the group's next task and join it
 * @g: the group
 * @id: where to store the joined task's id (0 if none); may be NULL
 * @out: where to store its output; may be NULL
 *
 * Context: Process context; sleeps.  Not from a ktask worker.
 * Return: as ktask_group_join_next_timeout(), never -ETIMEDOUT.
 */
int ktask_group_join_next(struct ktask_group *g, u64 *id, long *out)
{
	return ktask_group_join_next_timeout(g, id, out, MAX_SCHEDULE_TIMEOUT);
}
EXPORT_SYMBOL_GPL(ktask_group_join_next);

/**
 * ktask_group_join_next_poll() - join the group's next task from a task
 * @g: the group
 * @cx: the polling task's context
 * @id: where to store the joined task's id (0 if none); may be NULL
 * @out: where to store its output; may be NULL
 * @err: where to store the result, as ktask_group_join_next() returns it
 *
 * One task at a time may wait on a group: a second one replaces the
 * first's waker.  Takes one unit of the coop budget.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY with *@err set (a task's result, or -ENOENT for an
 * empty group, -EINVAL for bad arguments), or KTASK_PENDING.
 */
enum ktask_poll ktask_group_join_next_poll(struct ktask_group *g,
					   struct ktask_cx *cx, u64 *id,
					   long *out, int *err)
{
	struct ktask_group_member *m;
	struct ktask_waker *old;
	unsigned long flags;
	bool empty;

	if (WARN_ONCE(!cx || !err, "ktask: group join_next_poll without cx or err\n")) {
		if (err)
			*err = -EINVAL;
		return KTASK_READY;
	}
	if (id)
		*id = 0;
	if (IS_ERR_OR_NULL(g)) {
		*err = -EINVAL;
		return KTASK_READY;
	}
	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;
	m = ktask_group_take(g, &empty);
	if (!m && !empty) {
		/* Park, then look again: a completion meanwhile wakes us. */
		spin_lock_irqsave(&g->lock, flags);
		old = g->waker;
		g->waker = ktask_waker_clone(ktask_cx_waker(cx));
		spin_unlock_irqrestore(&g->lock, flags);
		ktask_waker_drop(old);
		m = ktask_group_take(g, &empty);
		if (!m && !empty)
			return KTASK_PENDING;
		/* Ready after all: our waker may stay parked; it only wakes us. */
	}
	ktask_coop_made_progress(cx);
	*err = m ? ktask_group_consume(m, id, out) : -ENOENT;
	return KTASK_READY;
}
EXPORT_SYMBOL_GPL(ktask_group_join_next_poll);

/**
 * ktask_group_abort_all() - abort every task of the group
 * @g: the group
 *
 * The tasks stay in the group: each is joined (with -ECANCELED, unless it
 * completed first) by ktask_group_join_next(), or dropped by shutdown.
 *
 * Context: Any context.
 */
void ktask_group_abort_all(struct ktask_group *g)
{
	struct ktask_group_member *m;
	unsigned long flags;

	if (IS_ERR_OR_NULL(g))
		return;
	spin_lock_irqsave(&g->lock, flags);
	list_for_each_entry(m, &g->running, node)
		ktask_abort(m->h);
	spin_unlock_irqrestore(&g->lock, flags);
}
EXPORT_SYMBOL_GPL(ktask_group_abort_all);

/**
 * ktask_group_len() - the number of tasks in the group
 * @g: the group
 *
 * Context: Any context.
 * Return: the tasks spawned into @g and not yet joined (running or
 * completed); 0 for an invalid group.
 */
unsigned int ktask_group_len(struct ktask_group *g)
{
	if (IS_ERR_OR_NULL(g))
		return 0;
	/* A snapshot for the caller: written under @lock, read without. */
	return READ_ONCE(g->len);
}
EXPORT_SYMBOL_GPL(ktask_group_len);

/**
 * ktask_group_cancel_token() - the group's cancellation token
 * @g: the group
 *
 * Cancelled when the group shuts down (ktask_group_shutdown(), destroy),
 * before its tasks are aborted: a blocking function of the group, which an
 * abort does not stop once it runs, checks it to return early.  It stays
 * cancelled: tasks spawned after a shutdown see it cancelled.
 *
 * Context: Any context.
 * Return: the token, borrowed: valid while the group is (take a reference
 * with ktask_cancel_token_get() to keep it longer); NULL for an invalid
 * group.
 */
struct ktask_cancel_token *ktask_group_cancel_token(struct ktask_group *g)
{
	return IS_ERR_OR_NULL(g) ? NULL : g->token;
}
EXPORT_SYMBOL_GPL(ktask_group_cancel_token);

/**
 * ktask_group_shutdown() - abort every task of the group and wait for all
 * @g: the group; empty and still usable afterwards
 *
 * Cancels the group's token, aborts every task and waits for them; every
 * task's output, and its result, is dropped (@ops->drop_output).
 *
 * Context: Process context; sleeps.  Not from a ktask worker, nor from a
 * task of the group.
 */
void ktask_group_shutdown(struct ktask_group *g)
{
	struct ktask_group_member *m;
	bool empty;

	if (IS_ERR_OR_NULL(g))
		return;
	might_sleep();
	ktask_cancel_token_cancel(g->token);
	ktask_group_abort_all(g);
	wait_event(g->wq, ktask_group_ready(g, true));
	while ((m = ktask_group_take(g, &empty))) {
		ktask_detach(m->h);
		kfree(m);
	}
}
EXPORT_SYMBOL_GPL(ktask_group_shutdown);

/**
 * ktask_group_destroy() - shut the group down and free it
 * @g: the group; NULL is ignored
 *
 * Context: Process context; sleeps.  As ktask_group_shutdown().
 */
void ktask_group_destroy(struct ktask_group *g)
{
	unsigned long flags;

	if (IS_ERR_OR_NULL(g))
		return;
	ktask_group_shutdown(g);
	/* The last completion's wake_up() is over once we hold the lock. */
	spin_lock_irqsave(&g->lock, flags);
	spin_unlock_irqrestore(&g->lock, flags);
	ktask_waker_drop(g->waker);
	ktask_cancel_token_put(g->token);
	kfree(g);
}
EXPORT_SYMBOL_GPL(ktask_group_destroy);
