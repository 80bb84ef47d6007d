// SPDX-License-Identifier: GPL-2.0
/*
 * The long-poll detector.
 *
 * A poll function must return quickly: while it runs, every other task
 * queued on its CPU waits.  Every half of long_poll_ms, a work item on the
 * unbound workqueue (so that a CPU hogged by a poll cannot hold it up)
 * looks at every run queue of every runtime, and reports once each poll
 * that has been running for longer than long_poll_ms, naming the task and
 * where it was spawned.  The drain publishes the poll's id, spawn site and
 * start time in the run queue (ktask_rq_poll_begin()), so the detector
 * never touches a task cell, which may be freed under it.
 */
#include <linux/jiffies.h>
#include <linux/moduleparam.h>
#include <linux/sched/clock.h>
#include <linux/workqueue.h>

#include "runtime.h"

static unsigned int ktask_long_poll_ms = 50;
module_param_named(long_poll_ms, ktask_long_poll_ms, uint, 0644);
MODULE_PARM_DESC(long_poll_ms,
		 "report a poll running longer than this, in ms (0: off; default 50)");

static void ktask_watchdog_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(ktask_watchdog_work, ktask_watchdog_fn);

static void ktask_watchdog_check_rq(struct ktask_rt *rt, struct ktask_rq *rq,
				    u64 now, u64 limit_ns)
{
	char name[KTASK_NAME_LEN], label[KTASK_LABEL_LEN];
	unsigned long site;
	u64 start, id;

	start = READ_ONCE(rq->poll_start_ns);
	if (!start || now < start || now - start < limit_ns ||
	    start == rq->reported_ns)
		return;
	/*
	 * A seqcount-like read of what ktask_rq_poll_begin() published.
	 * The start time before id and site: pairs with its second
	 * smp_wmb(), so these are at least as new as @start's poll.
	 */
	smp_rmb();
	id = READ_ONCE(rq->poll_id);
	site = READ_ONCE(rq->poll_site);
	/*
	 * Id and site before the start time is read again: pairs with the
	 * first smp_wmb() in ktask_rq_poll_begin().  If a later poll wrote
	 * them, its predecessor's end (0) is visible and the check fails.
	 */
	smp_rmb();
	if (READ_ONCE(rq->poll_start_ns) != start)
		return;
	rq->reported_ns = start;
	ktask_owned_name(rt, id, name, sizeof(name));
	pr_warn("ktask: long poll: task %s of runtime %s, spawned at %pS, polled for %llu ms on CPU %d\n",
		ktask_label(label, id, name), rt->name, (void *)site,
		div_u64(now - start, NSEC_PER_MSEC), rq->cpu);
}

static void ktask_watchdog_check_rqs(struct ktask_rt *rt,
				     struct ktask_rq __percpu *rqs,
				     unsigned int limit_ms)
{
	int cpu;

	if (!rqs)
		return;
	for_each_possible_cpu(cpu)
		ktask_watchdog_check_rq(rt, per_cpu_ptr(rqs, cpu), ktask_clock(),
					(u64)limit_ms * NSEC_PER_MSEC);
}

static void ktask_watchdog_fn(struct work_struct *work)
{
	unsigned int limit_ms = READ_ONCE(ktask_long_poll_ms);
	struct ktask_rt *rt;

	if (limit_ms) {
		mutex_lock(&ktask_rt_lock);
		list_for_each_entry(rt, &ktask_rt_list, node) {
			ktask_watchdog_check_rqs(rt, rt->rqs, limit_ms);
			ktask_watchdog_check_rqs(rt, rt->placed_rqs, limit_ms);
		}
		mutex_unlock(&ktask_rt_lock);
	}
	queue_delayed_work(system_unbound_wq, &ktask_watchdog_work,
			   msecs_to_jiffies(limit_ms ? max(limit_ms / 2, 1U) : 100));
}

void ktask_watchdog_init(void)
{
	queue_delayed_work(system_unbound_wq, &ktask_watchdog_work, HZ / 10);
}

void ktask_watchdog_exit(void)
{
	cancel_delayed_work_sync(&ktask_watchdog_work);
}
