// SPDX-License-Identifier: GPL-2.0
/*
 * Owned-task lists: every live task of a runtime is on one shard of its
 * runtime's list, chosen by task id, so that any CPU can bind and release
 * any task.  Closing the list is airtight against racing spawns: the
 * closed flag is set before the shards are drained and tested by spawners
 * under their shard's lock, so a spawn either sees it and fails, or bound
 * its task before the drain took that lock and the drain shuts it down.
 */
#include <linux/log2.h>
#include <linux/sched.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "runtime.h"

#define KTASK_MAX_SHARDS	65536U

int ktask_owned_init(struct ktask_rt *rt)
{
	unsigned int i, nr;

	nr = min(roundup_pow_of_two(num_possible_cpus()) * 4, KTASK_MAX_SHARDS);
	/* Up to 4 MiB on the largest machines: not a kmalloc() size. */
	rt->shards = kvcalloc(nr, sizeof(*rt->shards), GFP_KERNEL);
	if (!rt->shards)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		spin_lock_init(&rt->shards[i].lock);
		INIT_LIST_HEAD(&rt->shards[i].list);
	}
	rt->shard_mask = nr - 1;
	return 0;
}

void ktask_owned_destroy(struct ktask_rt *rt)
{
	unsigned int i;

	for (i = 0; i <= rt->shard_mask; i++)
		WARN_ON_ONCE(!list_empty(&rt->shards[i].list));
	kvfree(rt->shards);
}

static struct ktask_owned_shard *ktask_shard(struct ktask_rt *rt,
					     struct ktask_cell *cell)
{
	return &rt->shards[cell->id & rt->shard_mask];
}

/* Return: false if the runtime is closed; the task was not bound. */
bool ktask_owned_bind(struct ktask_rt *rt, struct ktask_cell *cell)
{
	struct ktask_owned_shard *shard = ktask_shard(rt, cell);
	unsigned long flags;
	bool bound = false;

	spin_lock_irqsave(&shard->lock, flags);
	/* Ordered against destroy's store by the shard lock; see above. */
	if (!READ_ONCE(rt->closed)) {
		list_add_tail(&cell->owned_node, &shard->list);
		atomic_long_inc(&rt->alive);
		bound = true;
	}
	spin_unlock_irqrestore(&shard->lock, flags);
	return bound;
}

/* Return: true if the task was still on the list (its reference is ours). */
bool ktask_owned_release(struct ktask_rt *rt, struct ktask_cell *cell)
{
	struct ktask_owned_shard *shard = ktask_shard(rt, cell);
	unsigned long flags;
	bool removed;

	spin_lock_irqsave(&shard->lock, flags);
	removed = !list_empty(&cell->owned_node);
	if (removed)
		list_del_init(&cell->owned_node);
	spin_unlock_irqrestore(&shard->lock, flags);
	return removed;
}

/* Close the list and shut down every task on it.  Process context. */
void ktask_owned_close_and_shutdown(struct ktask_rt *rt)
{
	unsigned int i;

	WRITE_ONCE(rt->closed, true);
	for (i = 0; i <= rt->shard_mask; i++) {
		struct ktask_owned_shard *shard = &rt->shards[i];

		spin_lock_irq(&shard->lock);
		while (!list_empty(&shard->list)) {
			struct ktask_cell *cell;

			cell = list_first_entry(&shard->list, struct ktask_cell,
						owned_node);
			list_del_init(&cell->owned_node);
			spin_unlock_irq(&shard->lock);
			/* The list's reference passes to shutdown. */
			ktask_shutdown(cell);
			cond_resched();
			spin_lock_irq(&shard->lock);
		}
		spin_unlock_irq(&shard->lock);
	}
}
