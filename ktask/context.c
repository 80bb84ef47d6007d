// SPDX-License-Identifier: GPL-2.0
/*
 * Which ktask code a kworker is running.
 *
 * A drain on a runtime's workqueue and a blocking function on its blocking
 * pool run in kworkers that ktask does not own.  current_work() names the
 * work item, but a work item that is not ktask's may have freed itself, so
 * ktask never dereferences it.  Instead, while it runs ktask's code, a
 * kworker registers a struct ktask_context (on its stack) here, in a small
 * hash keyed by the thread; ktask_current_rq() and
 * ktask_blocking_current_rt() look the current thread up.  Only kworkers
 * are looked up, and only when they are not ktask's own worker threads.
 *
 * Locking: each bucket has its own spinlock, which protects its list and
 * the entries on it.  Entries are added and removed by their own thread, in
 * process context; lookups are made in process context.
 */
#include <linux/hash.h>
#include <linux/sched.h>
#include <linux/spinlock.h>

#include "runtime.h"

#define KTASK_CONTEXT_BITS	6

/* Raw: lookups come from wakes, which may run under raw spinlocks. */
struct ktask_context_bucket {
	raw_spinlock_t lock;		/* protects @head and its entries */
	struct hlist_head head;
} ____cacheline_aligned_in_smp;

static struct ktask_context_bucket ktask_contexts[1 << KTASK_CONTEXT_BITS];

static struct ktask_context_bucket *ktask_context_bucket(struct task_struct *t)
{
	return &ktask_contexts[hash_ptr(t, KTASK_CONTEXT_BITS)];
}

/**
 * ktask_context_enter() - register what the current kworker runs
 * @ctx: on the caller's stack, with @rq or @blocking_rt set
 *
 * Context: Process context, a kworker.
 */
void ktask_context_enter(struct ktask_context *ctx)
{
	struct ktask_context_bucket *b = ktask_context_bucket(current);

	ctx->task = current;
	raw_spin_lock(&b->lock);
	hlist_add_head(&ctx->node, &b->head);
	raw_spin_unlock(&b->lock);
}

/**
 * ktask_context_exit() - unregister it; before @ctx goes out of scope
 * @ctx: as given to ktask_context_enter()
 *
 * Context: Process context, the thread that entered.
 */
void ktask_context_exit(struct ktask_context *ctx)
{
	struct ktask_context_bucket *b = ktask_context_bucket(current);

	raw_spin_lock(&b->lock);
	hlist_del(&ctx->node);
	raw_spin_unlock(&b->lock);
}

/**
 * ktask_context_find() - what the current kworker runs
 * @found: filled with a copy of its innermost context (@rq, @blocking_rt,
 *	@blocking_cell), all NULL if it has none
 *
 * Context: Any context; outside a kworker's process context, finds nothing.
 */
void ktask_context_find(struct ktask_context *found)
{
	struct ktask_context_bucket *b;
	struct ktask_context *ctx;

	found->rq = NULL;
	found->blocking_rt = NULL;
	found->blocking_cell = NULL;
	if (!in_task() || !(current->flags & PF_WQ_WORKER))
		return;
	b = ktask_context_bucket(current);
	raw_spin_lock(&b->lock);
	hlist_for_each_entry(ctx, &b->head, node) {
		if (ctx->task == current) {
			found->rq = ctx->rq;
			found->blocking_rt = ctx->blocking_rt;
			found->blocking_cell = ctx->blocking_cell;
			break;
		}
	}
	raw_spin_unlock(&b->lock);
}

void ktask_context_init(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(ktask_contexts); i++) {
		raw_spin_lock_init(&ktask_contexts[i].lock);
		INIT_HLIST_HEAD(&ktask_contexts[i].head);
	}
}
