// SPDX-License-Identifier: GPL-2.0
/*
 * The per-CPU scheduler.
 *
 * Each runtime has a run queue per CPU: a lock-free llist that wakers push
 * notified tasks onto from any context, and a work item on the runtime's
 * workqueue that drains it.  A push that finds the queue empty queues the
 * drain work; the drain empties the queue with llist_del_all() before it
 * polls, so a task pushed while a drain runs always finds either a
 * non-empty queue (its drain is coming) or queues the work again.  A push
 * that finds the queue empty while the drain runs (@draining) does not
 * queue the work: the drain looks at the queue once more before it ends,
 * so a task that wakes itself or another task during a drain is polled in
 * the same drain, without a second pass through the workqueue.
 *
 * A drain polls at most rt->max_polls tasks and for at most
 * KTASK_DRAIN_NS (plus its last poll: the limit is checked against the
 * clock read that starts each poll), then requeues itself, so other work
 * on the CPU runs and no drain nears the workqueue CPU-hog threshold.
 * Tasks taken from the queue and not yet polled wait on the run queue's
 * backlog, oldest first.
 *
 * CPU hotplug: the offline callback moves the dying CPU's queue to an
 * online CPU; a drain that finds its CPU offline hands its backlog over the
 * same way.  Nothing waits on an offline CPU.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched/clock.h>

#include "runtime.h"

/* Longest a drain polls before it requeues itself: well under 10 ms. */
#define KTASK_DRAIN_NS		(2 * NSEC_PER_MSEC)

static enum cpuhp_state ktask_cpuhp_state;

static void ktask_rq_drain(struct work_struct *work);

static void ktask_rq_kick(struct ktask_rq *rq)
{
	if (rq->rt->flags & KTASK_RT_UNBOUND)
		queue_work(rq->rt->wq, &rq->drain_work);
	else
		queue_work_on(rq->cpu, rq->rt->wq, &rq->drain_work);
}

/* Push a chain of @nr tasks; called with preemption disabled. */
static void ktask_rq_push(struct ktask_rq *rq, struct llist_node *first,
			  struct llist_node *last, int nr)
{
	atomic_add(nr, &rq->depth);
	/*
	 * llist_add_batch() is a fully ordered cmpxchg: our nodes are on the
	 * queue before we read @draining.  Pairs with the smp_mb() in
	 * ktask_rq_drain() between its clearing of @draining and its last
	 * look at the queue: either we see @draining clear and kick, or the
	 * drain sees our nodes and polls them.
	 */
	if (llist_add_batch(first, last, &rq->queue) && !READ_ONCE(rq->draining))
		ktask_rq_kick(rq);
}

static void ktask_percpu_schedule(struct ktask_rt *rt, struct ktask_cell *cell)
{
	struct ktask_rq *rq = get_cpu_ptr(rt->rqs);

	ktask_rq_push(rq, &cell->queue_node, &cell->queue_node, 1);
	put_cpu_ptr(rt->rqs);
}

const struct ktask_sched_ops ktask_percpu_sched = {
	.schedule = ktask_percpu_schedule,
	/* The queue is drained in batches: a requeued task goes last. */
	.yield = ktask_percpu_schedule,
};

/* Move the queue's tasks to the tail of the backlog, oldest first. */
static void ktask_rq_refill(struct ktask_rq *rq)
{
	struct llist_node *newest = llist_del_all(&rq->queue);
	struct llist_node *oldest;

	if (!newest)
		return;
	oldest = llist_reverse_order(newest);
	if (rq->backlog)
		rq->backlog_tail->next = oldest;
	else
		rq->backlog = oldest;
	rq->backlog_tail = newest;
}

static void ktask_rq_drain(struct work_struct *work)
{
	struct ktask_rq *rq = container_of(work, struct ktask_rq, drain_work);
	struct ktask_rt *rt = rq->rt;
	unsigned int polled = 0;
	struct llist_node *node;
	u64 deadline;

	this_cpu_inc(rt->rqs->stats.drains);
	rq->clock_ns = local_clock();
	deadline = rq->clock_ns + KTASK_DRAIN_NS;
	/*
	 * Pushes that see @draining set leave the kick to us.  The store is
	 * ordered before our read of the queue by the full barrier of the
	 * xchg in llist_del_all() (ktask_rq_refill()).
	 */
	WRITE_ONCE(rq->draining, true);
	for (;;) {
		ktask_rq_refill(rq);
		while ((node = rq->backlog)) {
			struct ktask_cell *cell;

			rq->backlog = node->next;
			atomic_dec(&rq->depth);
			cell = llist_entry(node, struct ktask_cell, queue_node);
			/* The poll may requeue @cell: its link is no longer ours. */
			cell->vtable->poll(rq, cell);
			/*
			 * A poll that ran the task's code set @clock_ns to its
			 * start: the drain ends at most one poll late.
			 */
			if (++polled >= rt->max_polls || rq->clock_ns > deadline)
				goto requeue;
		}
		/*
		 * Dry.  Clear @draining, then look at the queue once more: a
		 * push that saw @draining set did not kick, and its nodes are
		 * on the queue before its read of @draining (see
		 * ktask_rq_push()).
		 */
		WRITE_ONCE(rq->draining, false);
		/* Our store before that look; pairs with the push's cmpxchg. */
		smp_mb();
		if (llist_empty(&rq->queue))
			goto out;
		WRITE_ONCE(rq->draining, true);
	}

requeue:
	/*
	 * Pushes that saw @draining set did not kick: take their nodes into
	 * the backlog after clearing it, so that the kick below covers them.
	 * The xchg in llist_del_all() is fully ordered, which orders our store
	 * before it, as the smp_mb() above does.
	 */
	WRITE_ONCE(rq->draining, false);
	ktask_rq_refill(rq);
	if (!rq->backlog)
		goto out;
	this_cpu_inc(rt->rqs->stats.requeues);
	if ((rt->flags & KTASK_RT_UNBOUND) || cpu_online(rq->cpu)) {
		ktask_rq_kick(rq);
	} else {
		/* Running unbound after our CPU went away: hand over. */
		struct ktask_rq *here;
		int nr = 0;

		for (node = rq->backlog; node; node = node->next)
			nr++;
		atomic_sub(nr, &rq->depth);
		here = get_cpu_ptr(rt->rqs);
		ktask_rq_push(here, rq->backlog, rq->backlog_tail, nr);
		rq->backlog = NULL;
		put_cpu_ptr(rt->rqs);
	}
out:
	/* The drain's one clock read of its own: the end of its last poll. */
	if (rq->poll_open)
		ktask_rq_close_poll(rq, local_clock());
}

/**
 * ktask_current_rq() - the run queue whose drain the caller runs in
 *
 * Context: Any context.
 * Return: the run queue, or NULL outside a ktask worker.
 */
struct ktask_rq *ktask_current_rq(void)
{
	struct work_struct *work;

	if (!in_task())
		return NULL;
	work = current_work();
	if (!work || work->func != ktask_rq_drain)
		return NULL;
	return container_of(work, struct ktask_rq, drain_work);
}

/**
 * ktask_current_id() - the id of the task being polled
 *
 * Context: Any context.
 * Return: the id of the task whose code the caller is running, or 0
 * outside a task (including from interrupts that hit a task).
 */
u64 ktask_current_id(void)
{
	struct ktask_rq *rq = ktask_current_rq();
	struct ktask_cell *cell = rq ? rq->current_cell : NULL;

	return cell ? cell->id : 0;
}
EXPORT_SYMBOL_GPL(ktask_current_id);

/* Runs on the dying CPU: move its queued tasks to an online CPU. */
static int ktask_cpu_offline(unsigned int cpu, struct hlist_node *node)
{
	struct ktask_rt *rt = hlist_entry(node, struct ktask_rt, cpuhp_node);
	struct ktask_rq *rq = per_cpu_ptr(rt->rqs, cpu);
	struct llist_node *first, *last;
	unsigned int target;
	int nr = 1;

	if (rt->flags & KTASK_RT_UNBOUND)
		return 0;
	target = cpumask_any_but(cpu_online_mask, cpu);
	if (target >= nr_cpu_ids)
		return 0;
	first = llist_del_all(&rq->queue);
	if (!first)
		return 0;
	for (last = first; last->next; last = last->next)
		nr++;
	atomic_sub(nr, &rq->depth);
	/* The hotplug lock keeps @target online while we queue on it. */
	ktask_rq_push(per_cpu_ptr(rt->rqs, target), first, last, nr);
	return 0;
}

int ktask_sched_init_rt(struct ktask_rt *rt)
{
	unsigned int wq_flags = (rt->flags & KTASK_RT_UNBOUND) ? WQ_UNBOUND : 0;
	int cpu, ret;

	rt->rqs = alloc_percpu(struct ktask_rq);
	if (!rt->rqs)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct ktask_rq *rq = per_cpu_ptr(rt->rqs, cpu);

		init_llist_head(&rq->queue);
		atomic_set(&rq->depth, 0);
		rq->poll_start_ns = 0;
		rq->reported_ns = 0;
		rq->current_cell = NULL;
		rq->backlog = NULL;
		rq->draining = false;
		rq->clock_ns = 0;
		rq->poll_open = false;
		INIT_WORK(&rq->drain_work, ktask_rq_drain);
		rq->rt = rt;
		rq->cpu = cpu;
	}
	rt->wq = alloc_workqueue("ktask/%s", wq_flags, 0, rt->name);
	if (!rt->wq) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = cpuhp_state_add_instance_nocalls(ktask_cpuhp_state,
					       &rt->cpuhp_node);
	if (ret)
		goto err_wq;
	return 0;

err_wq:
	destroy_workqueue(rt->wq);
err_free:
	free_percpu(rt->rqs);
	return ret;
}

/* Every task has completed and no push is in flight (see runtime.h). */
void ktask_sched_destroy_rt(struct ktask_rt *rt)
{
	cpuhp_state_remove_instance_nocalls(ktask_cpuhp_state, &rt->cpuhp_node);
	/* Runs the drains still queued: they drop stale notifications. */
	destroy_workqueue(rt->wq);
	free_percpu(rt->rqs);
}

int ktask_sched_init(void)
{
	int ret;

	ret = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "ktask/rq:online",
				      NULL, ktask_cpu_offline);
	if (ret < 0)
		return ret;
	ktask_cpuhp_state = ret;
	return 0;
}

void ktask_sched_exit(void)
{
	cpuhp_remove_multi_state(ktask_cpuhp_state);
}
