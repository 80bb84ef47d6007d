// SPDX-License-Identifier: GPL-2.0
/*
 * Cancellation tokens (tokio-util's CancellationToken).
 *
 * A token is cancelled once, from any context, and cancelling it cancels
 * its children, and theirs.  A pollable task waits for it as for any other
 * event (ktask_cancelled(), a leaf); a run-to-completion or blocking
 * function, which cannot be woken, checks ktask_cancel_token_is_cancelled()
 * now and then.  A group and a runtime each have one, cancelled when they
 * shut down, so that a blocking function, which an abort cannot stop once
 * it runs, can be asked to.
 *
 * Locking: each token's @lock protects its @waiters and @children lists and
 * the @node of the waits and children on them; it is taken with interrupts
 * off.  A parent's lock is never held while a child's is taken: a cancel
 * walks one level under the lock, taking references, and recurses after.
 */
#include <linux/ktask.h>
#include <linux/list.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "runtime.h"

/**
 * struct ktask_cancel_token - a cancellation token
 * @refs: references: the creator's, every child's, every registered wait's
 * @cancelled: set once, with a release store, under @lock
 * @lock: protects @waiters, @children and their entries' nodes
 * @waiters: struct ktask_cancel_wait of the tasks waiting for it
 * @children: child tokens, by their @child_node
 * @child_node: in the parent's @children while this token is alive
 * @parent: the parent token (a reference), or NULL
 */
struct ktask_cancel_token {
	refcount_t refs;
	bool cancelled;
	spinlock_t lock;		/* protects the lists */
	struct list_head waiters;
	struct list_head children;
	struct list_head child_node;
	struct ktask_cancel_token *parent;
};

static struct ktask_cancel_token *ktask_token_alloc(gfp_t gfp)
{
	struct ktask_cancel_token *t = kmalloc(sizeof(*t), gfp);

	if (!t)
		return NULL;
	refcount_set(&t->refs, 1);
	t->cancelled = false;
	spin_lock_init(&t->lock);
	INIT_LIST_HEAD(&t->waiters);
	INIT_LIST_HEAD(&t->children);
	INIT_LIST_HEAD(&t->child_node);
	t->parent = NULL;
	return t;
}

/**
 * ktask_cancel_token_create() - create a cancellation token
 * @gfp: allocation flags
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: the token (one reference, put with ktask_cancel_token_put()),
 * or ERR_PTR(-ENOMEM).
 */
struct ktask_cancel_token *ktask_cancel_token_create(gfp_t gfp)
{
	return ktask_token_alloc(gfp) ?: ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(ktask_cancel_token_create);

/**
 * ktask_cancel_token_child() - create a token that its parent cancels
 * @parent: the parent token
 * @gfp: allocation flags
 *
 * Cancelling @parent cancels the child; cancelling the child does not
 * cancel @parent.  A child of a cancelled token is born cancelled.
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: the child (one reference), ERR_PTR(-EINVAL) for an invalid
 * parent, or ERR_PTR(-ENOMEM).
 */
struct ktask_cancel_token *
ktask_cancel_token_child(struct ktask_cancel_token *parent, gfp_t gfp)
{
	struct ktask_cancel_token *t;
	unsigned long flags;

	if (IS_ERR_OR_NULL(parent))
		return ERR_PTR(-EINVAL);
	t = ktask_token_alloc(gfp);
	if (!t)
		return ERR_PTR(-ENOMEM);
	refcount_inc(&parent->refs);
	t->parent = parent;
	spin_lock_irqsave(&parent->lock, flags);
	if (parent->cancelled)
		t->cancelled = true;
	else
		list_add_tail(&t->child_node, &parent->children);
	spin_unlock_irqrestore(&parent->lock, flags);
	return t;
}
EXPORT_SYMBOL_GPL(ktask_cancel_token_child);

/**
 * ktask_cancel_token_get() - take another reference to a token
 * @t: the token
 *
 * Context: Any context.
 * Return: @t.
 */
struct ktask_cancel_token *ktask_cancel_token_get(struct ktask_cancel_token *t)
{
	if (!IS_ERR_OR_NULL(t))
		refcount_inc(&t->refs);
	return t;
}
EXPORT_SYMBOL_GPL(ktask_cancel_token_get);

/**
 * ktask_cancel_token_put() - release a reference to a token
 * @t: the token; NULL or an ERR_PTR is ignored
 *
 * Context: Any context.
 */
void ktask_cancel_token_put(struct ktask_cancel_token *t)
{
	struct ktask_cancel_token *parent;
	unsigned long flags;

	while (!IS_ERR_OR_NULL(t) && refcount_dec_and_test(&t->refs)) {
		/* No wait holds it: every one has a reference. */
		WARN_ON_ONCE(!list_empty(&t->waiters));
		parent = t->parent;
		if (parent) {
			spin_lock_irqsave(&parent->lock, flags);
			list_del(&t->child_node);
			spin_unlock_irqrestore(&parent->lock, flags);
		}
		kfree(t);
		t = parent;
	}
}
EXPORT_SYMBOL_GPL(ktask_cancel_token_put);

/**
 * ktask_cancel_token_is_cancelled() - whether a token was cancelled
 * @t: the token
 *
 * Context: Any context.
 * Return: true once @t (or an ancestor) was cancelled; false for an
 * invalid token.  What the canceller wrote before it cancelled is visible
 * to a caller that sees true.
 */
bool ktask_cancel_token_is_cancelled(struct ktask_cancel_token *t)
{
	if (IS_ERR_OR_NULL(t))
		return false;
	/* Pairs with the release store in ktask_cancel_token_cancel(). */
	return smp_load_acquire(&t->cancelled);
}
EXPORT_SYMBOL_GPL(ktask_cancel_token_is_cancelled);

/**
 * ktask_cancel_token_cancel() - cancel a token and its descendants
 * @t: the token; NULL or an ERR_PTR is ignored
 *
 * Every task waiting for @t or a descendant in ktask_cancelled() is woken.
 * Cancelling twice does nothing more.
 *
 * Context: Any context, hardirq included; on PREEMPT_RT, not hardirq nor
 *	under a raw spinlock (the token's lock is a spinlock_t).
 */
void ktask_cancel_token_cancel(struct ktask_cancel_token *t)
{
	struct ktask_cancel_token *child, *next = NULL;
	struct ktask_cancel_wait *w, *tmp;
	unsigned long flags;

	if (IS_ERR_OR_NULL(t))
		return;
	spin_lock_irqsave(&t->lock, flags);
	if (t->cancelled) {
		spin_unlock_irqrestore(&t->lock, flags);
		return;
	}
	/* Pairs with the acquire in ktask_cancel_token_is_cancelled(). */
	smp_store_release(&t->cancelled, true);
	list_for_each_entry_safe(w, tmp, &t->waiters, node) {
		/* Off the list under the lock: its task may free it after. */
		list_del_init(&w->node);
		ktask_wake(xchg(&w->waker, NULL));
	}
	spin_unlock_irqrestore(&t->lock, flags);

	/*
	 * Then each child, one at a time, each held by a reference taken
	 * under our lock (a child being freed is skipped: it is going).
	 */
	for (;;) {
		spin_lock_irqsave(&t->lock, flags);
		list_for_each_entry(child, &t->children, child_node) {
			if (!READ_ONCE(child->cancelled) &&
			    refcount_inc_not_zero(&child->refs)) {
				next = child;
				break;
			}
		}
		spin_unlock_irqrestore(&t->lock, flags);
		if (!next)
			break;
		ktask_cancel_token_cancel(next);
		ktask_cancel_token_put(next);
		next = NULL;
	}
}
EXPORT_SYMBOL_GPL(ktask_cancel_token_cancel);

/**
 * ktask_cancel_wait_init() - prepare a task's wait for a token
 * @w: the task's wait state
 *
 * Context: Any context.
 */
void ktask_cancel_wait_init(struct ktask_cancel_wait *w)
{
	INIT_LIST_HEAD(&w->node);
	w->token = NULL;
	w->waker = NULL;
}
EXPORT_SYMBOL_GPL(ktask_cancel_wait_init);

/**
 * ktask_cancelled() - wait in a task until a token is cancelled
 * @cx: the poll context
 * @w: the task's wait state, from ktask_cancel_wait_init()
 * @t: the token; the wait holds a reference to it until it ends
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY once @t is cancelled (the wait has ended), else
 * KTASK_PENDING.
 */
enum ktask_poll ktask_cancelled(struct ktask_cx *cx,
				struct ktask_cancel_wait *w,
				struct ktask_cancel_token *t)
{
	struct ktask_cancel_token *old = NULL;
	unsigned long flags;

	if (WARN_ONCE(IS_ERR_OR_NULL(t), "ktask: wait for an invalid token\n"))
		return KTASK_READY;
	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;
	if (!ktask_cancel_token_is_cancelled(t)) {
		/* The waker first: a cancel that takes the entry finds it. */
		ktask_park_waker(cx, &w->waker);
		spin_lock_irqsave(&t->lock, flags);
		if (!t->cancelled) {
			if (list_empty(&w->node)) {
				if (w->token != t) {
					/* Put outside the lock: it may take others. */
					old = w->token;
					w->token = ktask_cancel_token_get(t);
				}
				list_add_tail(&w->node, &t->waiters);
			}
			spin_unlock_irqrestore(&t->lock, flags);
			ktask_cancel_token_put(old);
			return KTASK_PENDING;
		}
		spin_unlock_irqrestore(&t->lock, flags);
	}
	ktask_cancel_wait_cancel(w);
	ktask_coop_made_progress(cx);
	return KTASK_READY;
}
EXPORT_SYMBOL_GPL(ktask_cancelled);

/**
 * ktask_cancel_wait_cancel() - end a task's wait for a token
 * @w: the wait
 *
 * ktask_cancelled() calls it when it returns KTASK_READY; call it from
 * ops->drop of a task that may be aborted while it waits.
 *
 * Context: Any context.
 */
void ktask_cancel_wait_cancel(struct ktask_cancel_wait *w)
{
	struct ktask_cancel_token *t = w->token;
	unsigned long flags;

	if (t) {
		spin_lock_irqsave(&t->lock, flags);
		list_del_init(&w->node);
		spin_unlock_irqrestore(&t->lock, flags);
		w->token = NULL;
		ktask_cancel_token_put(t);
	}
	ktask_waker_drop(xchg(&w->waker, NULL));
}
EXPORT_SYMBOL_GPL(ktask_cancel_wait_cancel);
