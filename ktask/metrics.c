// SPDX-License-Identifier: GPL-2.0
/*
 * Metrics a runtime's user can read: the per-CPU counters summed, the run
 * queues' depths, and, with KTASK_RT_HISTOGRAMS, log2 histograms of poll
 * lengths and of schedule latencies (queueing to poll), kept per CPU.
 */
#include <linux/err.h>
#include <linux/log2.h>
#include <linux/percpu.h>

#include "runtime.h"

int ktask_metrics_init(struct ktask_rt *rt)
{
	rt->hist = NULL;
	if (!(rt->flags & KTASK_RT_HISTOGRAMS))
		return 0;
	if (ktask_should_fail_percpu())
		return -ENOMEM;
	rt->hist = alloc_percpu(struct ktask_hist);
	return rt->hist ? 0 : -ENOMEM;
}

void ktask_metrics_destroy(struct ktask_rt *rt)
{
	free_percpu(rt->hist);
}

/*
 * Counters are updated with this_cpu_*() on their own CPU while we read
 * them from another: the race is intended, a stale value is fine.
 */
#define KTASK_STAT(x)	data_race(x)

/**
 * ktask_cpu_stats_add() - add one CPU's counters to a sum
 * @sum: the sum
 * @s: the counters, read racily
 */
void ktask_cpu_stats_add(struct ktask_cpu_stats *sum,
			 const struct ktask_cpu_stats *s)
{
	sum->spawned += KTASK_STAT(s->spawned);
	sum->completed += KTASK_STAT(s->completed);
	sum->cancelled += KTASK_STAT(s->cancelled);
	sum->polls += KTASK_STAT(s->polls);
	sum->wakes += KTASK_STAT(s->wakes);
	sum->forced_yields += KTASK_STAT(s->forced_yields);
	sum->drains += KTASK_STAT(s->drains);
	sum->requeues += KTASK_STAT(s->requeues);
	sum->longest_poll_ns = max(sum->longest_poll_ns,
				   KTASK_STAT(s->longest_poll_ns));
}

/* Tasks waiting on @rq, read racily. */
static int ktask_rq_depth(struct ktask_rq *rq)
{
	return atomic_read(&rq->depth) + !!READ_ONCE(rq->lifo);
}

/**
 * ktask_cpu_depth() - tasks waiting on a CPU's run queues, read racily
 * @rt: the runtime
 * @cpu: the CPU
 *
 * Context: Any context.
 * Return: the tasks queued and not yet polled on @cpu's queues of @rt,
 * placed or not.
 */
unsigned int ktask_cpu_depth(struct ktask_rt *rt, int cpu)
{
	int d = ktask_rq_depth(per_cpu_ptr(rt->rqs, cpu));

	if (rt->placed_rqs)
		d += ktask_rq_depth(per_cpu_ptr(rt->placed_rqs, cpu));
	/* A pop may be counted before its push. */
	return max(d, 0);
}

/**
 * ktask_rt_read_metrics() - read a runtime's metrics
 * @rt: the runtime
 * @m: filled in; see struct ktask_rt_metrics
 *
 * Sums every CPU's counters (and histograms, if the runtime keeps them)
 * without stopping the runtime: cheap enough to call once a second, not
 * on a hot path (it reads two or three cache lines per possible CPU).
 *
 * Context: Any context.
 * Return: 0, or -EINVAL for an invalid runtime or a NULL @m.
 */
int ktask_rt_read_metrics(struct ktask_rt *rt, struct ktask_rt_metrics *m)
{
	struct ktask_cpu_stats sum = {};
	unsigned int i;
	int cpu;

	if (IS_ERR_OR_NULL(rt) || !m)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	for_each_possible_cpu(cpu) {
		struct ktask_rq *rq = per_cpu_ptr(rt->rqs, cpu);
		unsigned int depth = ktask_cpu_depth(rt, cpu);

		ktask_cpu_stats_add(&sum, &rq->stats);
		m->queue_depth += depth;
		m->max_queue_depth = max(m->max_queue_depth, depth);
		if (!rt->hist)
			continue;
		for (i = 0; i < KTASK_HIST_BUCKETS; i++) {
			const struct ktask_hist *h = per_cpu_ptr(rt->hist, cpu);

			m->poll_ns[i] += KTASK_STAT(h->poll_ns[i]);
			m->schedule_ns[i] += KTASK_STAT(h->schedule_ns[i]);
		}
	}
	m->alive = ktask_owned_alive(rt);
	m->spawned = sum.spawned;
	m->completed = sum.completed;
	m->cancelled = sum.cancelled;
	m->polls = sum.polls;
	m->wakes = sum.wakes;
	m->forced_yields = sum.forced_yields;
	m->drains = sum.drains;
	m->requeues = sum.requeues;
	m->longest_poll_ns = sum.longest_poll_ns;
	m->histograms = rt->hist;
	return 0;
}
EXPORT_SYMBOL_GPL(ktask_rt_read_metrics);
