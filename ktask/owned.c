// SPDX-License-Identifier: GPL-2.0
/*
 * Owned-task lists: every live task of a runtime is on one shard of its
 * runtime's list, a shard of the CPU that spawned it, and counts in that
 * shard's @alive until it completes.  A task's id names its shard: its low
 * bits are the shard (the spawning CPU, and whether an interrupt spawned
 * it), the rest that CPU's count of spawns (of every
 * runtime), taken under the shard's lock, so ids are unique without a
 * shared counter and grow along each shard's list (debugfs resumes its walk
 * by id).  A spawn touches nothing another CPU's spawns touch; a
 * completion takes the spawning CPU's shard lock.
 *
 * Closing the list is airtight against racing spawns: the closed flag is
 * set before the shards are drained and tested by spawners under their
 * shard's lock, so a spawn either sees it and fails, or bound its task
 * before the drain took that lock and the drain shuts it down.
 */
#include <linux/log2.h>
#include <linux/sched.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "runtime.h"

/* Spawns per CPU so far, of every runtime; the high bits of a task's id. */
static DEFINE_PER_CPU(u64, ktask_spawn_seq);

/*
 * Each CPU has two shards.  The even one binds the tasks spawned in task
 * context, and is only ever locked from task context (those spawns, and
 * completions, destroy, debugfs and the stuck-task scan, which all run
 * there), so its lock does not mask interrupts: under qemu's TCG, turning
 * interrupts back on was the costliest part of a spawn.  The odd one
 * binds the tasks spawned from interrupts, and is locked with interrupts
 * off.  Their locks are of two lockdep classes.
 */
#define KTASK_SHARD_IRQ		1U

int ktask_owned_init(struct ktask_rt *rt)
{
	unsigned int i, nr;

	/* The same for every runtime: ids are unique across runtimes. */
	nr = roundup_pow_of_two(nr_cpu_ids) * 2;
	/* Up to 1 MiB on the largest machines: not a kmalloc() size. */
	rt->shards = kvcalloc(nr, sizeof(*rt->shards), GFP_KERNEL);
	if (!rt->shards)
		return -ENOMEM;
	for (i = 0; i < nr; i++) {
		if (i & KTASK_SHARD_IRQ)
			spin_lock_init(&rt->shards[i].lock);
		else
			spin_lock_init(&rt->shards[i].lock);
		INIT_LIST_HEAD(&rt->shards[i].list);
		rt->shards[i].alive = 0;
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

/*
 * Lock the shard of task @id (of its index) from task context, which
 * every caller but a spawn's bind is in: an interrupt shard with
 * interrupts off.
 */
static struct ktask_owned_shard *ktask_shard_lock(struct ktask_rt *rt,
						  u64 id, unsigned long *flags)
	__acquires(&shard->lock)
{
	struct ktask_owned_shard *shard = &rt->shards[id & rt->shard_mask];

	if (id & KTASK_SHARD_IRQ)
		spin_lock_irqsave(&shard->lock, *flags);
	else
		spin_lock(&shard->lock);
	return shard;
}

static void ktask_shard_unlock(struct ktask_owned_shard *shard, u64 id,
			       unsigned long flags)
	__releases(&shard->lock)
{
	if (id & KTASK_SHARD_IRQ)
		spin_unlock_irqrestore(&shard->lock, flags);
	else
		spin_unlock(&shard->lock);
}

/*
 * Lock this CPU's shard for the caller's context and keep the caller on
 * this CPU until ktask_owned_unlock_local(); *@idx is the shard's index.
 */
static struct ktask_owned_shard *
ktask_owned_lock_local(struct ktask_rt *rt, unsigned int *idx,
		       unsigned long *flags)
	__acquires(&shard->lock)
{
	struct ktask_owned_shard *shard;

	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		/*
		 * A spinlock_t sleeps there, so the CPU is pinned without
		 * disabling preemption; spawns come from preemptible
		 * context only (ktask_spawn_context_check()), a softirq's
		 * thread included, which binds to the interrupt shard.
		 */
		migrate_disable();
		*idx = smp_processor_id() << 1 | (in_task() ? 0 : KTASK_SHARD_IRQ);
		shard = &rt->shards[*idx];
		spin_lock(&shard->lock);
	} else if (in_task()) {
		*idx = get_cpu() << 1;
		shard = &rt->shards[*idx];
		spin_lock(&shard->lock);
	} else {
		local_irq_save(*flags);
		*idx = smp_processor_id() << 1 | KTASK_SHARD_IRQ;
		shard = &rt->shards[*idx];
		spin_lock(&shard->lock);
	}
	return shard;
}

static void ktask_owned_unlock_local(struct ktask_owned_shard *shard,
				     unsigned int idx, unsigned long flags)
	__releases(&shard->lock)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		spin_unlock(&shard->lock);
		migrate_enable();
	} else if (!(idx & KTASK_SHARD_IRQ)) {
		spin_unlock(&shard->lock);
		put_cpu();
	} else {
		spin_unlock_irqrestore(&shard->lock, flags);
	}
}

/*
 * Give @cell its id and put it on @shard, the caller's, whose lock is
 * held; the caller counts it in @shard->alive.
 */
static void ktask_owned_add_locked(struct ktask_owned_shard *shard,
				   unsigned int shift, unsigned int idx,
				   struct ktask_cell *cell)
{
	/*
	 * Safe against the interrupts that may spawn meanwhile (each
	 * count is unique); taken under the lock, so ids grow along the
	 * shard.
	 */
	cell->id = (this_cpu_inc_return(ktask_spawn_seq) << shift) | idx;
	list_add_tail(&cell->owned_node, &shard->list);
}

/*
 * Give @cell its id and bind it to a shard of this CPU.
 * Return: false if the runtime is closed; the task was not bound.
 */
bool ktask_owned_bind(struct ktask_rt *rt, struct ktask_cell *cell)
{
	struct ktask_owned_shard *shard;
	unsigned long flags = 0;
	unsigned int idx;
	bool bound;

	shard = ktask_owned_lock_local(rt, &idx, &flags);
	/* Ordered against destroy's store by the shard lock; see above. */
	bound = !READ_ONCE(rt->closed);
	if (bound) {
		ktask_owned_add_locked(shard, ilog2(rt->shard_mask + 1), idx,
				       cell);
		WRITE_ONCE(shard->alive, shard->alive + 1);
	}
	ktask_owned_unlock_local(shard, idx, flags);
	return bound;
}

/*
 * Bind the @nr cells chained from @first through their queue nodes, in
 * chain order, under one lock of this CPU's shard: all or none.
 * Return: false if the runtime is closed; no task was bound.
 */
bool ktask_owned_bind_chain(struct ktask_rt *rt, struct llist_node *first)
{
	unsigned int idx, nr = 0, shift = ilog2(rt->shard_mask + 1);
	struct ktask_owned_shard *shard;
	struct ktask_cell *cell;
	unsigned long flags = 0;
	bool bound;

	shard = ktask_owned_lock_local(rt, &idx, &flags);
	/*
	 * Checked once for the whole chain: destroy takes this lock after
	 * its store of @closed, so it finds every cell bound here.
	 */
	bound = !READ_ONCE(rt->closed);
	if (bound) {
		llist_for_each_entry(cell, first, queue_node) {
			ktask_owned_add_locked(shard, shift, idx, cell);
			nr++;
		}
		WRITE_ONCE(shard->alive, shard->alive + nr);
	}
	ktask_owned_unlock_local(shard, idx, flags);
	return bound;
}

/*
 * @nr (at most BITS_PER_LONG) completed cells of @rt: take each off its
 * shard if it is still there, and stop counting it, with one lock of a
 * shard for each run of cells of that shard (the tasks one drain
 * completed, most of them spawned on one CPU).  The last task to go wakes
 * ktask_rt_destroy(), which may free @rt once it saw no task alive, but
 * not before an RCU grace period.
 * Return: a bitmap, bit i set if @cells[i] was still on its list (its
 * reference is ours).
 */
unsigned long ktask_owned_release_many(struct ktask_rt *rt,
				       struct ktask_cell **cells,
				       unsigned int nr)
{
	unsigned long removed = 0;
	unsigned int i = 0;
	bool wake = false;

	ktask_rt_read_lock();
	while (i < nr) {
		u64 id = cells[i]->id, shard_of = id & rt->shard_mask;
		struct ktask_owned_shard *shard;
		unsigned long flags = 0;
		unsigned int gone = 0;

		/* Only from task context, where every completion runs. */
		shard = ktask_shard_lock(rt, id, &flags);
		for (; i < nr && (cells[i]->id & rt->shard_mask) == shard_of;
		     i++, gone++) {
			if (list_empty(&cells[i]->owned_node))
				continue;
			list_del_init(&cells[i]->owned_node);
			removed |= BIT(i);
		}
		WRITE_ONCE(shard->alive, shard->alive - gone);
		/*
		 * Destroy stores @closed, then takes every shard's lock, then
		 * reads the counts: a count it cannot see yet is one whose
		 * owner sees @closed here.  The last to go brings its own
		 * shard to zero.
		 */
		if (!shard->alive && READ_ONCE(rt->closed))
			wake = true;
		ktask_shard_unlock(shard, id, flags);
	}
	if (wake) {
		/* The counts before wait_var_event()'s waiter check. */
		smp_mb();
		wake_up_var(&rt->shards);
	}
	ktask_rt_read_unlock();
	return removed;
}

/*
 * ktask_owned_release_many() for one cell.
 * Return: true if the task was still on the list (its reference is ours).
 */
bool ktask_owned_release(struct ktask_rt *rt, struct ktask_cell *cell)
{
	return ktask_owned_release_many(rt, &cell, 1) & 1;
}

/**
 * ktask_owned_alive() - tasks of @rt that have not completed
 * @rt: the runtime
 *
 * Context: Any context.
 * Return: the sum of the shards' counts, read without their locks: exact
 * once no task is spawned or completes, a snapshot otherwise.
 */
long ktask_owned_alive(struct ktask_rt *rt)
{
	long sum = 0;
	unsigned int i;

	for (i = 0; i <= rt->shard_mask; i++)
		sum += READ_ONCE(rt->shards[i].alive);
	return sum;
}

/*
 * Copy the name of @rt's task @id to @buf, "" if it has none or is gone:
 * for reports that know a task by its id only.  Ids grow along a shard's
 * list: the walk stops at the first higher one.  Process context.
 */
void ktask_owned_name(struct ktask_rt *rt, u64 id, char *buf, size_t size)
{
	struct ktask_owned_shard *shard;
	struct ktask_cell *cell;
	unsigned long flags = 0;

	*buf = '\0';
	shard = ktask_shard_lock(rt, id, &flags);
	list_for_each_entry(cell, &shard->list, owned_node) {
		if (cell->id >= id) {
			if (cell->id == id)
				strscpy(buf, ktask_cell_name(cell), size);
			break;
		}
	}
	ktask_shard_unlock(shard, id, flags);
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
