// SPDX-License-Identifier: GPL-2.0
/*
 * The scheduler: per-CPU run queues, ktask's own worker threads, and the
 * workqueue behind them.
 *
 * Each runtime has a run queue per CPU: a lock-free llist that wakers push
 * notified tasks onto from any context.  A queue is drained by one drainer
 * at a time, whoever holds its KTASK_RQ_KICKED bit.  A push that finds the
 * queue empty and the bit clear sets it and dispatches a drain; a drain
 * that runs dry clears it and looks at the queue once more (see
 * ktask_rq_release()), so a task pushed while a drain runs is polled by
 * that drain without a second dispatch.
 *
 * A task that a worker thread's drain wakes or spawns from a poll goes to
 * the drain's LIFO slot instead of the queue, and is polled next (see
 * ktask_percpu_schedule()).
 *
 * Dispatch (ktask_rq_dispatch()) follows Tokio's idle accounting
 * (scheduler/multi_thread/idle.rs): ktask has a worker thread per CPU,
 * shared by every runtime, and a drain goes to one that is idle, the ones
 * of other CPUs first.  Waking a thread of another CPU does not preempt
 * the producer that pushes (a wake on its own CPU would: the sleeper wins
 * the wakeup-preemption check), so spawning and running overlap on two
 * CPUs, and the worker keeps draining, without further wakes, for as long
 * as the producer keeps the queue non-empty.  The exception is a task that
 * an interrupt wakes again and again, with nothing else woken from
 * interrupts in between (one connection's requests): its drain goes to
 * the interrupted CPU's worker first, where the request arrived and the
 * answer's wake stays.  A worker is claimed by one
 * dispatch at a time and drains that one queue until it is empty, so a
 * task that sleeps blocks nothing but its own queue.  When every worker is
 * busy, the drain goes to the runtime's workqueue instead (a work item per
 * run queue, on the queue's CPU), whose concurrency management starts
 * another kworker when a task sleeps: nothing waits behind a busy worker.
 *
 * A drain polls at most rt->max_polls tasks and for at most
 * KTASK_DRAIN_NS (plus its last poll: the limit is checked against the
 * clock read that starts each poll) before it lets other work on its CPU
 * run: a worker thread calls cond_resched() and goes on, a work item
 * requeues itself behind the work queued on its CPU meanwhile.  Tasks
 * taken from the queue and not yet polled wait on the run queue's backlog,
 * oldest first.
 *
 * CPU hotplug: the offline callback moves the dying CPU's queued tasks to
 * an online CPU; the CPU's worker thread is unbound, as workqueue.c
 * unbinds its kworkers, and finishes what it drains elsewhere (no claim
 * goes to a CPU that is not active); a work item whose CPU went away
 * hands its backlog over.  Nothing waits on an offline CPU, and the
 * offline waits for no task.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/kthread.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/sched/stat.h>
#include <linux/sched/task.h>
#include <linux/slab.h>

#include "runtime.h"

/*
 * Longest a drain polls before it lets other work run, checked against the
 * tick's clock: up to a tick more.
 */
#define KTASK_DRAIN_NS		(2 * NSEC_PER_MSEC)

/* rq->flags: a drain is dispatched or running; its holder owns the D fields. */
#define KTASK_RQ_KICKED		0

/* ktask_worker.state */
enum {
	KTASK_WORKER_BUSY,	/* draining, or starting up */
	KTASK_WORKER_IDLE,	/* sleeping; a dispatch may claim it */
	KTASK_WORKER_CLAIMED,	/* claimed; @handoff is or will be set */
};

/**
 * struct ktask_worker - ktask's worker thread of one CPU
 * @task: I: the thread, bound to its CPU while the CPU is online
 * @state: A: KTASK_WORKER_*; only a dispatch moves IDLE to CLAIMED, only
 *	the thread itself moves it out of BUSY and CLAIMED
 * @handoff: A: the run queue a dispatch gave the thread, with its KICKED
 *	bit; written once per claim, taken with xchg() by the thread
 * @rq: the run queue being drained; written and read only by the thread
 *	(ktask_current_rq(), ktask_worker_rq())
 * @helpers: joiners running a task on this CPU (ktask_harness_help());
 *	changed and walked with preemption disabled, from process context
 * @unbound: the thread may run on other CPUs (counted in
 *	ktask_nr_unbound); changed by the CPU-hotplug callbacks and at start
 * @nice: the thread's nice value for a runtime that is not
 *	KTASK_RT_HIGHPRI, as it started; written and read only by the thread
 */
struct ktask_worker {
	struct task_struct *task;
	atomic_t state;
	struct ktask_rq *handoff;
	struct ktask_rq *rq;
	struct list_head helpers;
	bool unbound;
	int nice;
};

static DEFINE_PER_CPU(struct ktask_worker, ktask_workers);

static unsigned int ktask_linger_us = 50;
module_param_named(linger_us, ktask_linger_us, uint, 0644);
MODULE_PARM_DESC(linger_us,
		 "how long a worker thread whose queue ran dry waits for more before it sleeps, in us, while its CPU is otherwise idle (0: not at all; default 50)");

/* Workers in KTASK_WORKER_IDLE, so that a dispatch need not scan for none. */
static atomic_t ktask_nr_idle = ATOMIC_INIT(0);

/*
 * Workers not bound to their CPU (it is offline, or was never online):
 * only those can be current on another CPU (ktask_current_worker()).
 */
static atomic_t ktask_nr_unbound = ATOMIC_INIT(0);

static enum cpuhp_state ktask_cpuhp_state;

static void ktask_rq_work(struct work_struct *work);

/*
 * Pushes of one task from interrupts in a row, after its first, that make
 * a stream (see ktask_rq_dispatch()): one connection's requests, not two
 * connections' that happened to come in turn.
 */
#define KTASK_IRQ_STREAM	2

/* Claim @w if it is idle. */
static bool ktask_try_claim(struct ktask_worker *w)
{
	if (atomic_read(&w->state) != KTASK_WORKER_IDLE ||
	    atomic_cmpxchg(&w->state, KTASK_WORKER_IDLE,
			   KTASK_WORKER_CLAIMED) != KTASK_WORKER_IDLE)
		return false;
	atomic_dec(&ktask_nr_idle);
	return true;
}

/* Claim @cpu's worker if @cpus (NULL: any CPU) has @cpu and it is idle. */
static struct ktask_worker *ktask_claim_on(unsigned int cpu,
					   const struct cpumask *cpus)
{
	struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);

	if ((cpus && !cpumask_test_cpu(cpu, cpus)) || !ktask_try_claim(w))
		return NULL;
	return w;
}

/*
 * Claim an idle worker of @cpus (NULL: any CPU), another CPU's first
 * unless @local_first.  Preemption is disabled.
 */
static struct ktask_worker *ktask_claim_worker(const struct cpumask *cpus,
					       bool local_first)
{
	unsigned int cpu = smp_processor_id();
	struct ktask_worker *w;
	unsigned int n;

	if (atomic_read(&ktask_nr_idle) <= 0)
		return NULL;
	if (local_first && cpu_active(cpu)) {
		w = ktask_claim_on(cpu, cpus);
		if (w)
			return w;
	}
	/* Each CPU once, ending with ours (if it is still online). */
	for (n = 0; n < nr_cpu_ids; n++) {
		/* Active: not a CPU on its way offline, whose worker unbinds. */
		cpu = cpumask_next(cpu, cpu_active_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_active_mask);
		if (cpu >= nr_cpu_ids)
			break;
		w = ktask_claim_on(cpu, cpus);
		if (w)
			return w;
		if (cpu == smp_processor_id())
			break;
	}
	return NULL;
}

/*
 * The CPU to queue a drain of @rt, whose tasks run on @rt->cpus, on: this
 * one if it may, else the online ones in turn (each drain goes to its
 * CPU's pool), else any.
 */
static int ktask_rt_work_cpu(struct ktask_rt *rt)
{
	int cpu = raw_smp_processor_id();

	if (cpumask_test_cpu(cpu, rt->cpus) && cpu_online(cpu))
		return cpu;
	cpu = cpumask_any_and_distribute(rt->cpus, cpu_online_mask);
	return cpu < nr_cpu_ids ? cpu : WORK_CPU_UNBOUND;
}

/* Queue @rq's drain on the runtime's workqueue; the caller holds KICKED. */
static void ktask_rq_queue_work(struct ktask_rq *rq)
{
	struct ktask_rt *rt = rq->rt;

	/* Its workqueue is per-CPU: queued on one of its CPUs. */
	if (rt->cpus)
		queue_work_on(ktask_rt_work_cpu(rt), rt->wq, &rq->drain_work);
	else if (rt->flags & KTASK_RT_UNBOUND)
		queue_work(rt->wq, &rq->drain_work);
	else
		queue_work_on(rq->cpu, rt->wq, &rq->drain_work);
}

/*
 * Start a drain of @rq, whose KICKED bit the caller holds (and passes on),
 * for the push of @first.  Preemption is disabled: a claimed worker is not
 * claimable again until it has run its handoff, which must not wait for a
 * preempted claimer.
 *
 * Another CPU's idle worker first, so that the drain overlaps with the
 * pusher (a producer spawning on, a client sending more requests), except
 * for a task that interrupts woke KTASK_IRQ_STREAM times more before this
 * wake, with no other task woken from an interrupt in between: one stream of
 * requests, each answered before the next comes (one connection, one
 * device).  The wake's CPU, where the request's data just arrived, polls
 * it, as a per-CPU work item runs where it was queued: the answer goes out
 * without a thread woken across CPUs (twice a round trip otherwise), and
 * the client it wakes runs on this CPU next.  Anything else woken from an
 * interrupt in between (another connection) makes it a guess about
 * overlap again.
 */
static void ktask_rq_dispatch(struct ktask_rq *rq, struct llist_node *first)
{
	struct ktask_worker *w;

	if (!rq->placed) {
		bool stream = !in_task() && READ_ONCE(rq->irq_last) == first &&
			      READ_ONCE(rq->irq_streak) >= KTASK_IRQ_STREAM;

		w = ktask_claim_worker(rq->rt->cpus, stream);
	} else {
		/* Only the queue's CPU's worker, while it is bound there. */
		w = per_cpu_ptr(&ktask_workers, rq->cpu);
		if (!cpu_active(rq->cpu) || !ktask_try_claim(w))
			w = NULL;
	}
	if (!w) {
		ktask_rq_queue_work(rq);
		return;
	}
	/*
	 * The handoff before the wake: wake_up_process() orders it before
	 * the thread's wakeup, and the thread reads it after its state
	 * check in ktask_worker_should_run().
	 */
	WRITE_ONCE(w->handoff, rq);
	wake_up_process(w->task);
}

/*
 * Keep the hint of the push of @first from an interrupt that the next
 * dispatch compares with (the H rule in runtime.h).  Out of line: pushes
 * from task context (spawns, wakes by other tasks), which are no stream of
 * requests, pay only the test that skips it.  Not for a queue of placed
 * tasks, whose dispatch does not read it.
 */
static noinline void ktask_rq_note_irq_push(struct ktask_rq *rq,
					    struct llist_node *first)
{
	unsigned int streak;

	if (rq->placed)
		return;
	if (READ_ONCE(rq->irq_last) != first) {
		WRITE_ONCE(rq->irq_last, first);
		WRITE_ONCE(rq->irq_streak, 0);
		return;
	}
	/*
	 * An interrupt of this CPU, or a push of another, may pair a task
	 * with another's streak: a wrong guess, nothing more.
	 */
	streak = READ_ONCE(rq->irq_streak);
	if (streak < KTASK_IRQ_STREAM)
		WRITE_ONCE(rq->irq_streak, streak + 1);
}

/*
 * Push a chain of @nr tasks; called with preemption disabled.  Inline in
 * every spawn and wake: llist_add_batch() is the same cmpxchg loop, out of
 * line, and a call and its return thunk cost as much as the cmpxchg.
 */
static __always_inline void ktask_rq_push(struct ktask_rq *rq,
					  struct llist_node *first,
					  struct llist_node *last, int nr)
{
	/* A guess at the head, racing with other pushes: the cmpxchg checks it. */
	struct llist_node *head = READ_ONCE(rq->queue.first);

	atomic_add(nr, &rq->depth);
	/*
	 * The cmpxchg is fully ordered: our nodes are on the queue before
	 * we read KICKED.  Pairs with the smp_mb__after_atomic() in
	 * ktask_rq_release() between the drain's clearing of KICKED and its
	 * last look at the queue: either we see KICKED clear and dispatch,
	 * or the drain sees our nodes and polls them.  A queue that was not
	 * empty has a drain coming already.
	 */
	do {
		last->next = head;
	} while (!try_cmpxchg(&rq->queue.first, &head, first));
	if (!head && !test_bit(KTASK_RQ_KICKED, &rq->flags) &&
	    !test_and_set_bit(KTASK_RQ_KICKED, &rq->flags))
		ktask_rq_dispatch(rq, first);
	/* After the dispatch, which compares @first with the last. */
	if (!in_task())
		ktask_rq_note_irq_push(rq, first);
}

static int ktask_worker_fn(void *data);

/* ktask_current_worker() for a worker that is not bound to this CPU. */
static noinline struct ktask_worker *ktask_current_worker_unbound(void)
{
	if (!(current->flags & PF_KTHREAD) ||
	    kthread_func(current) != ktask_worker_fn)
		return NULL;
	return kthread_data(current);
}

/*
 * The caller's worker struct if it is a ktask worker thread, else NULL:
 * inline in every wake and spawn.
 */
static __always_inline struct ktask_worker *ktask_current_worker(void)
{
	struct ktask_worker *w = raw_cpu_ptr(&ktask_workers);

	if (!in_task())
		return NULL;
	/*
	 * This CPU's worker, which is bound to it while it is online: one
	 * compare on every wake from a drain.  A worker whose CPU went
	 * offline runs elsewhere; the generic look-up finds it.  (If we
	 * migrate after reading the CPU, @w is not ours, and we are no
	 * worker: a bound worker does not migrate.)
	 */
	if (READ_ONCE(w->task) == current)
		return w;
	/* Only while a worker is unbound; a stale count costs a look-up. */
	if (likely(!atomic_read(&ktask_nr_unbound)))
		return NULL;
	return ktask_current_worker_unbound();
}

/*
 * Polls in a row that a drain takes from its LIFO slot before the tasks it
 * wakes go to the queue again, as Tokio's MAX_LIFO_POLLS_PER_TICK: two
 * tasks that wake each other do not keep the rest of the queue waiting.
 */
#define KTASK_LIFO_MAX_POLLS	3

/*
 * The run queue whose drain the caller's worker thread runs, if it is one
 * of @rt's, else NULL.  Not from interrupts: an interrupt that hits the
 * drain is not the drain.  Preemption is disabled.
 */
static struct ktask_rq *ktask_worker_rq(struct ktask_rt *rt)
{
	struct ktask_worker *w = ktask_current_worker();
	struct ktask_rq *rq = w ? READ_ONCE(w->rq) : NULL;

	return rq && rq->rt == rt ? rq : NULL;
}

/* Queue a task on this CPU's run queue.  Preemption is disabled. */
static void ktask_rq_push_local(struct ktask_rt *rt, struct ktask_cell *cell)
{
	ktask_rq_push(this_cpu_ptr(rt->rqs), &cell->queue_node,
		      &cell->queue_node, 1);
}

/*
 * The queue of placed tasks that @cell goes to, or NULL if it may go where
 * any task goes: when its CPU, or every CPU of its node, is offline (see
 * struct ktask_spawn_opts).  A task placed on a node goes to this CPU's
 * queue if this CPU is on the node.  Preemption is disabled.
 */
static struct ktask_rq *ktask_placed_rq(struct ktask_rt *rt,
					struct ktask_cell *cell)
{
	const struct ktask_cell_ext *x = ktask_cell_ext(cell);
	int cpu = x->cpu;

	if (x->node != NUMA_NO_NODE) {
		cpu = smp_processor_id();
		if (cpu_to_node(cpu) != x->node)
			cpu = cpumask_any_and(cpumask_of_node(x->node),
					      cpu_online_mask);
	}
	if (cpu >= nr_cpu_ids || !cpu_online(cpu))
		return NULL;
	return per_cpu_ptr(rt->placed_rqs, cpu);
}

/*
 * Queue a placed task on its CPU's queue of placed tasks, unless that is
 * @rq, the caller's drain, or its CPU is offline.  Return: whether it did.
 * Preemption is disabled.
 */
static bool ktask_push_placed(struct ktask_rt *rt, struct ktask_rq *rq,
			      struct ktask_cell *cell)
{
	struct ktask_rq *to = ktask_placed_rq(rt, cell);

	if (!to || to == rq)
		return false;
	ktask_rq_push(to, &cell->queue_node, &cell->queue_node, 1);
	return true;
}

/*
 * A task woken or spawned by the poll of a worker thread's drain goes to
 * the drain's LIFO slot and is polled next, on this CPU, without an atomic
 * on the queue, as Tokio's worker keeps a task woken by its current task
 * in its LIFO slot: what a task wakes is usually what it just made ready
 * (a message it sent, a task it completed), and its data is still in the
 * cache.  A task the slot held goes to the queue.  Other wakes, and every
 * wake once the drain has taken KTASK_LIFO_MAX_POLLS in a row from the
 * slot, go to this CPU's queue.
 */
void ktask_percpu_schedule(struct ktask_rt *rt, struct ktask_cell *cell)
{
	struct ktask_rq *rq;

	ktask_stamp_queued(rt, cell);
	preempt_disable();
	rq = ktask_worker_rq(rt);
	if (unlikely(ktask_cell_placed(cell)) &&
	    ktask_push_placed(rt, rq, cell)) {
		preempt_enable();
		return;
	}
	if (rq && rq->lifo_polls < KTASK_LIFO_MAX_POLLS) {
		struct ktask_cell *prev = rq->lifo;

		/* Ours: the drain's holder; debugfs reads it racily. */
		WRITE_ONCE(rq->lifo, cell);
		cell = prev;
	}
	if (cell) {
		/*
		 * A worker drains its own CPU's queue except after its CPU
		 * went offline: then this CPU's is the right one anyway.
		 */
		if (rq)
			ktask_rq_push(rq, &cell->queue_node, &cell->queue_node,
				      1);
		else
			ktask_rq_push_local(rt, cell);
	}
	preempt_enable();
}

/*
 * A task notified while it ran (a self-wake, a yield, a forced yield) goes
 * behind the tasks already queued: to the queue of the drain that polled
 * it, so that it stays on this CPU, never to the LIFO slot.
 */
static void ktask_percpu_yield(struct ktask_rt *rt, struct ktask_cell *cell)
{
	struct ktask_rq *rq;

	ktask_stamp_queued(rt, cell);
	preempt_disable();
	rq = ktask_worker_rq(rt);
	if (likely(!ktask_cell_placed(cell)) ||
	    !ktask_push_placed(rt, rq, cell)) {
		if (rq)
			ktask_rq_push(rq, &cell->queue_node,
				      &cell->queue_node, 1);
		else
			ktask_rq_push_local(rt, cell);
	}
	preempt_enable();
}

/*
 * New tasks spawned together (ktask_spawn_bulk()): one push onto the
 * queue of the caller's drain, or of this CPU, never the LIFO slot or a
 * queue of placed tasks.
 */
static void ktask_percpu_schedule_chain(struct ktask_rt *rt,
					struct llist_node *first,
					struct llist_node *last,
					unsigned int nr)
{
	struct ktask_rq *rq;

	preempt_disable();
	rq = ktask_worker_rq(rt);
	/* Not a placed queue: it would keep them all on its CPU. */
	if (!rq || rq->placed)
		rq = this_cpu_ptr(rt->rqs);
	ktask_rq_push(rq, first, last, nr);
	preempt_enable();
}

const struct ktask_sched_ops ktask_percpu_sched = {
	.schedule = ktask_percpu_schedule,
	.schedule_chain = ktask_percpu_schedule_chain,
	/* The queue is drained in batches: a requeued task goes last. */
	.yield = ktask_percpu_yield,
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

/*
 * Give up KICKED on a queue whose backlog is empty.  Return: true if the
 * queue got tasks meanwhile and KICKED is ours again: drain on.
 */
static bool ktask_rq_release(struct ktask_rq *rq)
{
	bool again;

	/*
	 * From the clear on, destroy may see the queue idle: the look that
	 * follows is inside an RCU read section, which destroy waits for
	 * before it looks again and frees (ktask_sched_destroy_rt()).
	 */
	ktask_rt_read_lock();
	/* Release: the drain's writes before a destroy that sees it clear. */
	clear_bit_unlock(KTASK_RQ_KICKED, &rq->flags);
	/*
	 * The clear before the look at the queue; pairs with the fully
	 * ordered cmpxchg in ktask_rq_push().
	 */
	smp_mb__after_atomic();
	again = !llist_empty(&rq->queue) &&
		!test_and_set_bit(KTASK_RQ_KICKED, &rq->flags);
	ktask_rt_read_unlock();
	return again;
}

/*
 * A worker thread whose queue ran dry waits a little for more before it
 * gives the queue up, holding KICKED: a producer that keeps spawning then
 * dispatches nothing, and pays no wake, as io_uring's SQPOLL thread spins
 * before it sleeps.  Only while nothing else wants the CPU.
 * Return: true if the queue has tasks again.
 */
static bool ktask_rq_linger(struct ktask_rq *rq)
{
	unsigned int us = READ_ONCE(ktask_linger_us);
	unsigned int n;
	bool highpri;
	u64 until;

	if (!us)
		return false;
	if (!llist_empty(&rq->queue))
		return true;
	until = local_clock() + us * NSEC_PER_USEC;
	highpri = rq->rt->flags & KTASK_RT_HIGHPRI;
	for (n = 1; llist_empty(&rq->queue); n++) {
		/*
		 * At nice -20 a waking task rarely preempts us: let it run
		 * at once rather than after the whole linger.
		 */
		if (need_resched() || (highpri && !single_task_running()))
			return false;
		/* A precise clock, but not at every turn: it is not cheap. */
		if (!(n % 32) && local_clock() > until)
			return false;
		cpu_relax();
	}
	return true;
}

/*
 * Poll @rq's tasks; the caller holds KICKED.  Return: true if the drain
 * stopped at its limit with tasks left (KICKED still held), false if it
 * ran dry and gave KICKED up.
 */
static bool ktask_rq_drain(struct ktask_rq *rq, bool linger)
{
	struct ktask_rt *rt = rq->rt;
	unsigned int polled = 0;
	struct llist_node *node;
	u64 deadline;

	this_cpu_inc(rt->rqs->stats.drains);
	rq->clock_ns = ktask_clock();
	deadline = rq->clock_ns + KTASK_DRAIN_NS;
	for (;;) {
		struct ktask_cell *cell = rq->lifo;

		if (cell) {
			/* What the last poll woke, first; see above. */
			WRITE_ONCE(rq->lifo, NULL);
			rq->lifo_polls++;
			goto poll;
		}
		rq->lifo_polls = 0;
		/* What was pushed meanwhile, without giving KICKED up. */
		if (!rq->backlog)
			ktask_rq_refill(rq);
		node = rq->backlog;
		if (!node) {
			/* Dry.  The drain's clock read: its last poll's end. */
			if (rq->poll_open)
				ktask_rq_close_poll(rq, ktask_clock());
			/* Before it lingers, and before KICKED goes. */
			ktask_rq_release_done(rq);
			if (linger && ktask_rq_linger(rq))
				continue;
			if (!ktask_rq_release(rq))
				return false;
			continue;
		}
		rq->backlog = node->next;
		atomic_dec(&rq->depth);
		cell = llist_entry(node, struct ktask_cell, queue_node);
poll:
		/* The poll may requeue @cell: its link is no longer ours. */
		ktask_harness_poll(rq, cell);
		/*
		 * A poll that ran the task's code set @clock_ns to its start:
		 * the drain ends at most one poll late.  A task in the LIFO
		 * slot waits for the next drain of the queue, first in it.
		 */
		if (++polled >= rt->max_polls || rq->clock_ns > deadline) {
			ktask_rq_refill(rq);
			if (!rq->backlog && !rq->lifo) {
				polled = 0;
				continue;
			}
			this_cpu_inc(rt->rqs->stats.requeues);
			if (rq->poll_open)
				ktask_rq_close_poll(rq, ktask_clock());
			ktask_rq_release_done(rq);
			return true;
		}
	}
}

/*
 * Hand the backlog of @rq, whose CPU went offline, to the caller's CPU;
 * the caller holds KICKED and gives it up.
 */
static void ktask_rq_hand_over(struct ktask_rq *rq)
{
	struct ktask_cell *lifo = rq->lifo;

	if (lifo) {
		WRITE_ONCE(rq->lifo, NULL);
		preempt_disable();
		ktask_rq_push_local(rq->rt, lifo);
		preempt_enable();
	}
	do {
		struct llist_node *node;
		struct ktask_rq *here;
		int nr = 0;

		ktask_rq_refill(rq);
		if (!rq->backlog)
			continue;
		for (node = rq->backlog; node; node = node->next)
			nr++;
		atomic_sub(nr, &rq->depth);
		here = get_cpu_ptr(rq->rt->rqs);
		ktask_rq_push(here, rq->backlog, rq->backlog_tail, nr);
		rq->backlog = NULL;
		put_cpu_ptr(rq->rt->rqs);
	} while (ktask_rq_release(rq));
}

static void ktask_rq_work(struct work_struct *work)
{
	struct ktask_rq *rq = container_of(work, struct ktask_rq, drain_work);
	struct ktask_context ctx = { .rq = rq };
	bool more;

	/* For ktask_current_rq(), which must not look at current_work(). */
	ktask_context_enter(&ctx);
	more = ktask_rq_drain(rq, false);
	ktask_context_exit(&ctx);
	if (!more)
		return;
	/* At the limit: go behind the other work of this CPU. */
	if ((rq->rt->flags & KTASK_RT_UNBOUND) || cpu_online(rq->cpu))
		ktask_rq_queue_work(rq);
	else
		ktask_rq_hand_over(rq);
}

/* The thread's own check, with its state set to sleep. */
static bool ktask_worker_should_run(struct ktask_worker *w)
{
	switch (atomic_read(&w->state)) {
	case KTASK_WORKER_CLAIMED:
		/* If not yet there, the claimer's wake follows its store. */
		return !!READ_ONCE(w->handoff);
	case KTASK_WORKER_BUSY:
		atomic_set(&w->state, KTASK_WORKER_IDLE);
		/*
		 * Counted after it is claimable: a dispatch that sees the
		 * count finds the worker.  A claim in between decrements
		 * first, which the signed count absorbs.
		 */
		atomic_inc(&ktask_nr_idle);
		return false;
	default:
		return false;
	}
}

/* A claim was woken to: drain the queue handed over. */
static void ktask_worker_run(struct ktask_worker *w)
{
	struct ktask_rq *rq = xchg(&w->handoff, NULL);
	int nice;

	atomic_set(&w->state, KTASK_WORKER_BUSY);
	if (WARN_ON_ONCE(!rq))
		return;
	/*
	 * A KTASK_RT_HIGHPRI runtime's queue is drained at nice -20, as a
	 * WQ_HIGHPRI work item runs, others' at the thread's own.  The
	 * priority changes only when the next queue wants another: a thread
	 * that drains one runtime's queues again and again pays nothing.
	 */
	nice = (rq->rt->flags & KTASK_RT_HIGHPRI) ? MIN_NICE : w->nice;
	if (task_nice(current) != nice)
		set_user_nice(current, nice);
	rq->forced_yield = false;
	WRITE_ONCE(w->rq, rq);
	while (ktask_rq_drain(rq, true)) {
		/*
		 * At the limit, after a task of the runtime ran out of budget:
		 * the queue holds a task that would keep the CPU (a flooded
		 * connection), and at nice -20 its drain would starve every
		 * thread of normal priority on this CPU, the clients of the
		 * other tasks among them.  nice -20 is for the wake's latency;
		 * the rest of this claim shares the CPU as the thread's own
		 * nice does, until the queue runs dry and the thread sleeps.
		 */
		if (rq->forced_yield && nice != w->nice) {
			nice = w->nice;
			set_user_nice(current, nice);
		}
		/*
		 * Whatever the scheduler wants to run on this CPU (the
		 * kworker of work queued here meanwhile, a busy thread whose
		 * turn it is) runs first.  Handing the drain to a work item
		 * instead would cost a wake every max_polls polls, and wait
		 * behind a busy thread.
		 */
		cond_resched();
	}
	WRITE_ONCE(w->rq, NULL);
}

static int ktask_worker_fn(void *data)
{
	struct ktask_worker *w = data;

	w->nice = task_nice(current);
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		if (!ktask_worker_should_run(w)) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		ktask_worker_run(w);
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/*
 * CPU hotplug, as kernel/workqueue.c does for its per-CPU kworkers: a
 * worker thread is bound to its CPU while the CPU is up; when the CPU goes
 * down, the thread is unbound and may finish the drain it is in (and any
 * that was handed to it) elsewhere, so the offline never waits for task
 * code.  Dispatches claim only workers of active CPUs.
 */
static int ktask_worker_online(unsigned int cpu)
{
	struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);
	int ret = set_cpus_allowed_ptr(w->task, cpumask_of(cpu));

	if (!ret && w->unbound) {
		w->unbound = false;
		atomic_dec(&ktask_nr_unbound);
	}
	return ret;
}

static int ktask_worker_offline(unsigned int cpu)
{
	struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);

	/* Counted before the thread can run elsewhere. */
	if (!w->unbound) {
		w->unbound = true;
		atomic_inc(&ktask_nr_unbound);
	}
	return set_cpus_allowed_ptr(w->task, cpu_possible_mask);
}

static enum cpuhp_state ktask_worker_cpuhp_state;

static void ktask_workers_stop(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);

		if (w->task) {
			kthread_stop(w->task);
			put_task_struct(w->task);
			w->task = NULL;
		}
	}
}

static int ktask_workers_start(void)
{
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);
		struct task_struct *t;

		t = kthread_create_on_node(ktask_worker_fn, w, cpu_to_node(cpu),
					   "ktask/%u", cpu);
		if (IS_ERR(t)) {
			ktask_workers_stop();
			return PTR_ERR(t);
		}
		get_task_struct(t);
		w->task = t;
	}
	/* Bound to the online CPUs now, and to each as it comes up. */
	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);

		w->unbound = !cpu_online(cpu);
		if (w->unbound)
			atomic_inc(&ktask_nr_unbound);
		set_cpus_allowed_ptr(w->task, w->unbound ? cpu_possible_mask :
							   cpumask_of(cpu));
	}
	ret = cpuhp_setup_state_cpuslocked(CPUHP_AP_ONLINE_DYN,
					   "ktask/worker:online",
					   ktask_worker_online,
					   ktask_worker_offline);
	cpus_read_unlock();
	if (ret < 0) {
		ktask_workers_stop();
		return ret;
	}
	ktask_worker_cpuhp_state = ret;
	for_each_possible_cpu(cpu)
		wake_up_process(per_cpu_ptr(&ktask_workers, cpu)->task);
	return 0;
}

/*
 * A joiner runs a task on this CPU (harness.c): ktask_current_rq() finds
 * @rq for it.  Process context, migration disabled until
 * ktask_helper_exit().
 */
void ktask_helper_enter(struct ktask_helper *h)
{
	h->task = current;
	preempt_disable();
	list_add(&h->node, this_cpu_ptr(&ktask_workers.helpers));
	preempt_enable();
}

void ktask_helper_exit(struct ktask_helper *h)
{
	preempt_disable();
	list_del(&h->node);
	preempt_enable();
}

/**
 * ktask_current_rq() - the run queue whose drain the caller runs in
 *
 * Context: Any context.
 * Return: the run queue, or NULL outside a ktask worker.
 */
struct ktask_rq *ktask_current_rq(void)
{
	struct ktask_worker *w;
	struct ktask_helper *h;
	struct ktask_context found;
	struct ktask_rq *rq = NULL;

	if (!in_task())
		return NULL;
	w = ktask_current_worker();
	if (w)
		return READ_ONCE(w->rq);
	ktask_context_find(&found);
	if (found.rq)
		return found.rq;
	/* A helping joiner does not migrate while it is on the list. */
	preempt_disable();
	list_for_each_entry(h, this_cpu_ptr(&ktask_workers.helpers), node) {
		if (h->task == current) {
			rq = &h->rq;
			break;
		}
	}
	preempt_enable();
	return rq;
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

/* Move the tasks queued on @rq to @to. */
static void ktask_rq_move(struct ktask_rq *rq, struct ktask_rq *to)
{
	struct llist_node *first, *last;
	int nr = 1;

	first = llist_del_all(&rq->queue);
	if (!first)
		return;
	for (last = first; last->next; last = last->next)
		nr++;
	atomic_sub(nr, &rq->depth);
	preempt_disable();
	ktask_rq_push(to, first, last, nr);
	preempt_enable();
}

/*
 * Runs on the dying CPU: move its queued tasks to an online CPU, the
 * placed ones too, which run elsewhere until a CPU of their placement is
 * online again (their wakes meanwhile go where any task goes).
 */
static int ktask_cpu_offline(unsigned int cpu, struct hlist_node *node)
{
	struct ktask_rt *rt = hlist_entry(node, struct ktask_rt, cpuhp_node);
	unsigned int target;

	if (rt->flags & KTASK_RT_UNBOUND)
		return 0;
	target = cpumask_any_but(cpu_online_mask, cpu);
	if (target >= nr_cpu_ids)
		return 0;
	/* The hotplug lock keeps @target online while we queue on it. */
	ktask_rq_move(per_cpu_ptr(rt->rqs, cpu), per_cpu_ptr(rt->rqs, target));
	ktask_rq_move(per_cpu_ptr(rt->placed_rqs, cpu),
		      per_cpu_ptr(rt->rqs, target));
	return 0;
}

/* Allocate a run queue per CPU for @rt; @placed: of placed tasks. */
static struct ktask_rq __percpu *ktask_rqs_alloc(struct ktask_rt *rt,
						 bool placed)
{
	struct ktask_rq __percpu *rqs;
	int cpu;

	if (ktask_should_fail_percpu())
		return NULL;
	rqs = alloc_percpu(struct ktask_rq);
	if (!rqs)
		return NULL;
	for_each_possible_cpu(cpu) {
		struct ktask_rq *rq = per_cpu_ptr(rqs, cpu);

		/* alloc_percpu() zeroes: the rest starts at 0 and NULL. */
		init_llist_head(&rq->queue);
		INIT_WORK(&rq->drain_work, ktask_rq_work);
		rq->rt = rt;
		rq->cpu = cpu;
		rq->placed = placed;
	}
	return rqs;
}

/*
 * Set up @rt's run queues and workqueue.  An unbound runtime limited to
 * @cpus gets a per-CPU workqueue, whose work it queues on those CPUs
 * (ktask_rq_queue_work()): an unbound workqueue's CPUs cannot be chosen
 * from a module (apply_workqueue_attrs() is not exported).
 */
int ktask_sched_init_rt(struct ktask_rt *rt, const struct cpumask *cpus)
{
	unsigned int wq_flags = (rt->flags & KTASK_RT_UNBOUND) ? WQ_UNBOUND : 0;
	int ret = -ENOMEM;

	if (rt->flags & KTASK_RT_MEM_RECLAIM)
		wq_flags |= WQ_MEM_RECLAIM;
	/* Drains that find no idle worker thread run at nice -20 too. */
	if (rt->flags & KTASK_RT_HIGHPRI)
		wq_flags |= WQ_HIGHPRI;
	if (cpus) {
		rt->cpus = kmalloc(cpumask_size(), GFP_KERNEL);
		if (!rt->cpus)
			return -ENOMEM;
		cpumask_and(rt->cpus, cpus, cpu_possible_mask);
		/* Out of concurrency management, as an unbound one is. */
		wq_flags &= ~WQ_UNBOUND;
		wq_flags |= WQ_CPU_INTENSIVE;
	}

	rt->rqs = ktask_rqs_alloc(rt, false);
	if (!rt->rqs)
		goto err_free;
	/* Unbound runtimes refuse placed tasks (ktask_spawn_opts_check()). */
	if (!(rt->flags & KTASK_RT_UNBOUND)) {
		rt->placed_rqs = ktask_rqs_alloc(rt, true);
		if (!rt->placed_rqs)
			goto err_free;
	}
	rt->wq = alloc_workqueue("ktask/%s", wq_flags, 0, rt->name);
	if (!rt->wq)
		goto err_free;
	ret = cpuhp_state_add_instance_nocalls(ktask_cpuhp_state,
					       &rt->cpuhp_node);
	if (ret)
		goto err_wq;
	return 0;

err_wq:
	destroy_workqueue(rt->wq);
err_free:
	free_percpu(rt->placed_rqs);
	free_percpu(rt->rqs);
	kfree(rt->cpus);
	return ret;
}

/* Whether a queue of @rt is kicked; acquire, as destroy wants it. */
static bool ktask_rqs_kicked(struct ktask_rq __percpu *rqs)
{
	int cpu;

	if (!rqs)
		return false;
	for_each_possible_cpu(cpu) {
		/* Pairs with the drain's clear_bit_unlock(). */
		if (test_bit_acquire(KTASK_RQ_KICKED,
				     &per_cpu_ptr(rqs, cpu)->flags))
			return true;
	}
	return false;
}

/*
 * Every task has completed and no push is in flight (see runtime.h), but
 * drains may still run, on a worker or the workqueue, dropping stale
 * notifications: wait until no queue is kicked, for good.
 */
void ktask_sched_destroy_rt(struct ktask_rt *rt)
{
	cpuhp_state_remove_instance_nocalls(ktask_cpuhp_state, &rt->cpuhp_node);
	/*
	 * No new push can come (runtime.h), but stale notifications may
	 * still be drained, and a drain that ends (ktask_rq_release()) looks
	 * at its queue after it cleared KICKED, in an RCU read section, and
	 * may take KICKED again; a work item that hands its backlog over
	 * kicks another queue first.  So: every queue seen idle, then a
	 * grace period, then every queue seen idle again.
	 */
	do {
		while (ktask_rqs_kicked(rt->rqs) ||
		       ktask_rqs_kicked(rt->placed_rqs))
			schedule_timeout_uninterruptible(1);
		synchronize_rcu();
	} while (ktask_rqs_kicked(rt->rqs) ||
		 ktask_rqs_kicked(rt->placed_rqs));
	/* A work item that requeued itself has run by now; flush the rest. */
	destroy_workqueue(rt->wq);
	free_percpu(rt->placed_rqs);
	free_percpu(rt->rqs);
	kfree(rt->cpus);
}

int ktask_sched_init(void)
{
	int cpu, ret;

	for_each_possible_cpu(cpu) {
		struct ktask_worker *w = per_cpu_ptr(&ktask_workers, cpu);

		atomic_set(&w->state, KTASK_WORKER_BUSY);
		INIT_LIST_HEAD(&w->helpers);
	}
	ret = ktask_workers_start();
	if (ret)
		return ret;
	ret = cpuhp_setup_state_multi(CPUHP_AP_ONLINE_DYN, "ktask/rq:online",
				      NULL, ktask_cpu_offline);
	if (ret < 0) {
		cpuhp_remove_state(ktask_worker_cpuhp_state);
		ktask_workers_stop();
		return ret;
	}
	ktask_cpuhp_state = ret;
	return 0;
}

void ktask_sched_exit(void)
{
	cpuhp_remove_multi_state(ktask_cpuhp_state);
	cpuhp_remove_state(ktask_worker_cpuhp_state);
	/* Every runtime is gone: no drain runs, no dispatch claims. */
	ktask_workers_stop();
	atomic_set(&ktask_nr_idle, 0);
	atomic_set(&ktask_nr_unbound, 0);
}
