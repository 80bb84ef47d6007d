/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Runtimes, their per-CPU run queues and their owned-task lists.
 *
 * Locking rules, in the style of kernel/workqueue.c:
 *
 * I: set up in ktask_rt_create() and read-only until ktask_rt_destroy().
 * A: atomic or lock-free; see the field's comment.
 * D: written only by the run queue's drainer, the holder of its
 *    KTASK_RQ_KICKED bit (one at a time), read by ktask_current_id() from
 *    that same drainer.
 * P: per-CPU statistics updated with this_cpu_*() from any context; read
 *    racily (data_race()) by debugfs.
 * R: written by the drain with WRITE_ONCE() around each poll, read by the
 *    long-poll detector with READ_ONCE() (see watchdog.c).
 * W: the long-poll detector's own (one detector at a time).
 * H: a hint written by every push from an interrupt with WRITE_ONCE() and
 *    read by the next with READ_ONCE(), racing with other CPUs' pushes; only
 *    compared, never dereferenced, and a wrong guess costs a slower claim.
 * L: ktask_rt_lock (mutex) protected.
 * O: the owning shard's @lock protected (irqsave: spawn runs in hardirq).
 *
 * A runtime is kept alive against in-flight wakes by RCU: every path that
 * may push a task onto a run queue does so inside ktask_rt_read_lock(),
 * starting before the state transition that told it to, and
 * ktask_rt_destroy() waits for a grace period after the last task
 * completed before it tears the queues down.
 */
#ifndef _KTASK_RUNTIME_H
#define _KTASK_RUNTIME_H

#include <linux/atomic.h>
#include <linux/jiffies.h>
#include <linux/cpuhotplug.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/llist.h>
#include <linux/log2.h>
#include <linux/spinlock.h>
#include <linux/ktime.h>
#include <linux/sched/clock.h>
#include <linux/workqueue.h>

#include "cell.h"

/*
 * The RCU read section of the rule above.  Preemption disabled, which
 * synchronize_rcu() waits for as for rcu_read_lock() (one RCU since 4.20),
 * and which is inline where a preemptible RCU's rcu_read_lock() is a call
 * each way, on every spawn and wake; every push disables preemption anyway.
 * Not rcu_read_lock_sched(): lockdep's map of that one is a spinning
 * context, in which CONFIG_PROVE_RAW_LOCK_NESTING reports the shard's
 * spinlock_t that a spawn takes.  On PREEMPT_RT, where that spinlock_t
 * sleeps and a wake's section may free the cell, rcu_read_lock().
 */
static __always_inline void ktask_rt_read_lock(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_lock();
	else
		preempt_disable();
}

static __always_inline void ktask_rt_read_unlock(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_unlock();
	else
		preempt_enable();
}

/**
 * struct ktask_cpu_stats - per-CPU counters of one runtime
 * @spawned: P: tasks spawned on this CPU
 * @completed: P: tasks that completed with an output
 * @cancelled: P: tasks that completed cancelled
 * @polls: P: polls run on this CPU
 * @wakes: P: wakes that queued a task from this CPU
 * @forced_yields: P: polls that ran out of budget
 * @drains: P: drains started on this CPU, by a worker thread or a work item
 * @requeues: P: drains that reached their limit with tasks left (a worker
 *	thread then reschedules and goes on, a work item requeues itself)
 * @longest_poll_ns: P: longest single poll seen, from its start to the
 *	start of the next poll or the end of its drain
 */
struct ktask_cpu_stats {
	u64 spawned;
	u64 completed;
	u64 cancelled;
	u64 polls;
	u64 wakes;
	u64 forced_yields;
	u64 drains;
	u64 requeues;
	u64 longest_poll_ns;
};

/**
 * struct ktask_hist - one CPU's histograms of a runtime (metrics.c)
 * @poll_ns: P: polls by length, log2 buckets of nanoseconds
 * @schedule_ns: P: time from queueing to poll, the same buckets
 */
struct ktask_hist {
	u64 poll_ns[KTASK_HIST_BUCKETS];
	u64 schedule_ns[KTASK_HIST_BUCKETS];
};

/* Completed tasks a drain takes off the owned list together. */
#define KTASK_RQ_DONE		8

/**
 * struct ktask_rq - one CPU's run queue of a runtime
 * @queue: A: notified tasks; llist_add() from any context, emptied only by
 *	llist_del_all() (the drain and the CPU-offline callback)
 * @flags: A: KTASK_RQ_KICKED: a drain is dispatched or running; set by the
 *	push that dispatches it, cleared by the drain (see sched.c)
 * @backlog: D: tasks taken from @queue and not yet polled, oldest first
 * @backlog_tail: D: last node of @backlog
 * @lifo: D, read racily by debugfs: the task a poll of this drain woke or
 *	spawned last, polled next, before @backlog (see ktask_rq_drain())
 * @lifo_polls: D: polls in a row taken from @lifo
 * @current_cell: D: the task being polled, or NULL
 * @clock_ns: D: ktask_clock() at the start of the drain or of its latest
 *	poll, whichever is later; the drain's time limit reads it instead of
 *	the clock
 * @poll_open: D: @clock_ns is the start of a poll whose length is not yet
 *	accounted (see ktask_rq_close_poll())
 * @forced_yield: D: a poll ran out of coop budget since the worker thread
 *	draining the queue was claimed (see ktask_worker_run())
 * @poll_start_ns: R: ktask_clock() when the current poll began, 0 if none
 * @poll_id: R: id of the task being polled
 * @poll_site: R: its spawn site
 * @reported_ns: W: @poll_start_ns of the last poll reported as long
 * @depth: A: tasks on @queue and @backlog
 * @irq_last: H: the node of the task the last push from an interrupt
 *	queued (see ktask_rq_dispatch())
 * @irq_streak: H: pushes from interrupts of that task in a row, after its
 *	first, up to KTASK_IRQ_STREAM
 * @nr_done: D: tasks in @done
 * @done: D: tasks the drain completed and has yet to take off the owned
 *	list, in one lock per shard (ktask_rq_release_done())
 * @drain_work: I: polls the queue's tasks on @cpu when no ktask worker
 *	thread is idle
 * @rt: I: the runtime
 * @cpu: I: the CPU this queue belongs to
 * @placed: I: a queue of placed tasks (struct ktask_spawn_opts): drained
 *	only by @cpu's worker thread or a work item on @cpu
 * @stats: P: counters; only those of the runtime's queues of any task
 *	(@rt->rqs) are used
 */
struct ktask_rq {
	struct llist_head queue;
	unsigned long flags;
	struct llist_node *backlog;
	struct llist_node *backlog_tail;
	struct ktask_cell *lifo;
	unsigned int lifo_polls;
	struct ktask_cell *current_cell;
	u64 clock_ns;
	bool poll_open;
	bool forced_yield;
	u64 poll_start_ns;
	u64 poll_id;
	unsigned long poll_site;
	u64 reported_ns;
	atomic_t depth;
	struct llist_node *irq_last;
	unsigned int irq_streak;
	unsigned int nr_done;
	struct ktask_cell *done[KTASK_RQ_DONE];
	struct work_struct drain_work;
	struct ktask_rt *rt;
	int cpu;
	bool placed;
	struct ktask_cpu_stats stats;
} ____cacheline_aligned;

/**
 * struct ktask_context - a kworker running ktask's code (context.c)
 * @node: in its hash bucket
 * @task: the kworker
 * @rq: the run queue whose drain it runs, or NULL
 * @blocking_rt: the runtime whose blocking function it runs, or NULL
 * @blocking_cell: the task of that blocking function, or NULL
 */
struct ktask_context {
	struct hlist_node node;
	struct task_struct *task;
	struct ktask_rq *rq;
	struct ktask_rt *blocking_rt;
	struct ktask_cell *blocking_cell;
};

/* context.c */
void ktask_context_init(void);
void ktask_context_enter(struct ktask_context *ctx);
void ktask_context_exit(struct ktask_context *ctx);
void ktask_context_find(struct ktask_context *found);

/**
 * struct ktask_helper - a joiner running a task (see ktask_harness_help())
 * @node: entry in its CPU's list of helpers, for ktask_current_rq()
 * @task: the joining thread
 * @rq: stands in for a run queue's drainer while the task runs: its
 *	D and R fields are the helper's own
 */
struct ktask_helper {
	struct list_head node;
	struct task_struct *task;
	struct ktask_rq rq;
};

/**
 * struct ktask_owned_shard - one CPU's shard of a runtime's owned-task list
 * @lock: protects @list and @alive, and the runtime's @closed as seen by
 *	spawners
 * @list: O: tasks spawned on this shard's CPU, in spawn order (their ids
 *	grow along it)
 * @alive: O, read racily by ktask_owned_alive(): tasks bound here that
 *	have not completed (wherever they complete, they leave this shard)
 */
struct ktask_owned_shard {
	spinlock_t lock;		/* protects @list; see owned.c */
	struct list_head list;
	long alive;
} ____cacheline_aligned_in_smp;

/**
 * struct ktask_sched_ops - what the harness needs from a scheduler
 * @schedule: queue a notified task (consumes its notification reference);
 *	called inside ktask_rt_read_lock(), from any context
 * @yield: requeue a task that was notified while it ran, behind the others
 * @schedule_chain: queue @nr new tasks chained through their queue nodes,
 *	newest first (as an llist push takes them), to be polled oldest
 *	first; as @schedule otherwise
 */
struct ktask_sched_ops {
	void (*schedule)(struct ktask_rt *rt, struct ktask_cell *cell);
	void (*schedule_chain)(struct ktask_rt *rt, struct llist_node *first,
			       struct llist_node *last, unsigned int nr);
	void (*yield)(struct ktask_rt *rt, struct ktask_cell *cell);
};

/**
 * struct ktask_rt - a runtime
 * @name: I: name given at creation
 * @owner: I: the module that created the runtime and will destroy it
 * @flags: I: KTASK_RT_* flags
 * @budget: I: coop budget per poll
 * @max_polls: I: polls per drain before it lets other work run
 * @sched: I: the scheduler
 * @wq: I: the workqueue the drains run on
 * @blocking_wq: I: the unbound workqueue of ktask_spawn_blocking()
 * @rqs: I: per-CPU run queues
 * @placed_rqs: I: per-CPU run queues of placed tasks; NULL for an unbound
 *	runtime
 * @cpus: I: the CPUs that poll the tasks of an unbound runtime
 *	(ktask_rt_opts.cpus), or NULL for any
 * @hist: I: per-CPU histograms with KTASK_RT_HISTOGRAMS, else NULL
 * @shards: I: owned-task list shards, one per possible CPU
 * @shard_mask: I: number of shards - 1
 * @closed: A: set once by destroy before it drains the shards; spawners
 *	test it under their shard's lock
 * @destroyer: A: the thread in ktask_rt_destroy(), set once (WRITE_ONCE())
 *	before it cancels the tasks; a join it makes from a task's drop
 *	would wait for itself
 * @cpuhp_node: I: CPU-hotplug instance
 * @node: L: entry in ktask_rt_list
 * @token: I: cancelled when destroy begins (ktask_rt_cancel_token())
 * @hooks: I: the creator's callbacks, or NULL
 * @lockdep_key: I: the lock class of @lockdep_map, one per runtime
 * @lockdep_map: I: "a poll of this runtime": held around every poll,
 *	acquired and released by joins and destroy, which wait for polls
 *	(flush_work()'s annotation): lockdep then sees a join under a lock
 *	that a task of the runtime takes
 * @lockdep_name: I: the name lockdep prints for @lockdep_map
 */
struct ktask_rt {
	char name[32];
	struct module *owner;
	unsigned int flags;
	unsigned int budget;
	unsigned int max_polls;
	const struct ktask_sched_ops *sched;
	struct workqueue_struct *wq;
	struct workqueue_struct *blocking_wq;
	struct ktask_rq __percpu *rqs;
	struct ktask_rq __percpu *placed_rqs;
	struct cpumask *cpus;
	struct ktask_hist __percpu *hist;
	struct ktask_owned_shard *shards;
	unsigned int shard_mask;
	bool closed;
	struct task_struct *destroyer;
	struct hlist_node cpuhp_node;
	struct list_head node;
	struct ktask_cancel_token *token;
	const struct ktask_rt_hooks *hooks;
#ifdef CONFIG_LOCKDEP
	struct lock_class_key lockdep_key;
	struct lockdep_map lockdep_map;
	char lockdep_name[48];
#endif
};

/*
 * Tell lockdep that the caller waits for the polls of @rt to finish (a
 * join, destroy), as flush_work() does for a work item.
 */
static inline void ktask_rt_lockdep_wait(struct ktask_rt *rt)
{
#ifdef CONFIG_LOCKDEP
	lock_map_acquire(&rt->lockdep_map);
	lock_map_release(&rt->lockdep_map);
#endif
}

/**
 * struct ktask_cx - what a poll function gets
 * @cell: the task being polled
 * @rq: the run queue polling it
 * @budget: coop units left in this poll
 * @unconstrained: the budget is not enforced
 * @unit_taken: the last ktask_coop_proceed() took a unit that is given
 *	back unless ktask_coop_made_progress() is called
 * @forced_yield: this poll ran out of budget
 */
struct ktask_cx {
	struct ktask_cell *cell;
	struct ktask_rq *rq;
	unsigned int budget;
	bool unconstrained;
	bool unit_taken;
	bool forced_yield;
};

/*
 * Record what the task being polled parks on, and where its poll function
 * called in (@ip, a return address into it), for debugfs and the stuck-
 * task report.  Two plain stores: a reader may pair one park's site with
 * another's object, which only misleads a diagnostic.
 */
static inline void ktask_cx_note_wait(struct ktask_cx *cx,
				      enum ktask_wait_kind kind,
				      unsigned long what, unsigned long ip)
{
	WRITE_ONCE(cx->cell->wait_ip, ip);
	WRITE_ONCE(cx->cell->wait_site, (what & ~KTASK_WAIT_MASK) | kind);
}

/*
 * Put a clone of the polled task's waker in a leaf's @slot and drop what
 * was there: whoever takes it out (the event to wake, the task to cancel)
 * owns that reference.  Notes no wait site: the leaf notes its own.
 */
static inline void ktask_park_waker(struct ktask_cx *cx,
				    struct ktask_waker **slot)
{
	ktask_waker_drop(xchg(slot,
			      ktask_waker_clone(ktask_cell_waker(cx->cell))));
}

extern struct mutex ktask_rt_lock;
extern struct list_head ktask_rt_list;
/* Largest coop budget a runtime (or the budget parameter) may ask for. */
#define KTASK_MAX_BUDGET	65535U
extern unsigned int ktask_default_budget;

/* owned.c */
int ktask_owned_init(struct ktask_rt *rt);
void ktask_owned_destroy(struct ktask_rt *rt);
bool ktask_owned_bind(struct ktask_rt *rt, struct ktask_cell *cell);
bool ktask_owned_bind_chain(struct ktask_rt *rt, struct llist_node *first);
bool ktask_owned_release(struct ktask_rt *rt, struct ktask_cell *cell);
unsigned long ktask_owned_release_many(struct ktask_rt *rt,
				       struct ktask_cell **cells,
				       unsigned int nr);
void ktask_owned_close_and_shutdown(struct ktask_rt *rt);
long ktask_owned_alive(struct ktask_rt *rt);
void ktask_owned_name(struct ktask_rt *rt, u64 id, char *buf, size_t size);

/* sched.c */
extern const struct ktask_sched_ops ktask_percpu_sched;
void ktask_percpu_schedule(struct ktask_rt *rt, struct ktask_cell *cell);
int ktask_sched_init_rt(struct ktask_rt *rt, const struct cpumask *cpus);
void ktask_sched_destroy_rt(struct ktask_rt *rt);
int ktask_sched_init(void);
void ktask_sched_exit(void);
struct ktask_rq *ktask_current_rq(void);
void ktask_helper_enter(struct ktask_helper *h);
void ktask_helper_exit(struct ktask_helper *h);

/* harness.c */
void ktask_harness_poll(struct ktask_rq *rq, struct ktask_cell *cell);
void ktask_rq_release_done(struct ktask_rq *rq);
bool ktask_harness_help(struct ktask_cell *cell);
void ktask_harness_finish(struct ktask_cell *cell, long out);
void ktask_rq_close_poll(struct ktask_rq *rq, u64 now);

/*
 * The clock of polls and drains: the tick count, in nanoseconds.  A read
 * is one load, where local_clock() under an unstable TSC (qemu's TCG, for
 * one) was half of a worker's time per task, and ktime_get_coarse_ns(),
 * of the same resolution, a seqcount loop and a call; the drain's 2 ms
 * limit and the long-poll detector's milliseconds need no more, and poll
 * lengths are accounted to a tick.
 */
static inline u64 ktask_clock(void)
{
	return get_jiffies_64() * (NSEC_PER_SEC / HZ);
}

/*
 * The histograms' clock, in units of 64 ns in 32 bits (a cell's
 * @wake_stamp): it wraps after 274 s, beyond which a schedule latency
 * reads short; the stuck-task report has long fired by then.
 */
#define KTASK_STAMP_SHIFT	6

static inline u32 ktask_stamp(void)
{
	return local_clock() >> KTASK_STAMP_SHIFT;
}

/* Note when @cell is queued, for its schedule latency; before the push. */
static inline void ktask_stamp_queued(struct ktask_rt *rt,
				      struct ktask_cell *cell)
{
	if (unlikely(rt->hist))
		cell->wake_stamp = ktask_stamp();
}

/* metrics.c */
int ktask_metrics_init(struct ktask_rt *rt);
void ktask_metrics_destroy(struct ktask_rt *rt);
void ktask_cpu_stats_add(struct ktask_cpu_stats *sum,
			 const struct ktask_cpu_stats *s);
unsigned int ktask_cpu_depth(struct ktask_rt *rt, int cpu);

/* The bucket of @ns in a histogram; see struct ktask_rt_metrics. */
static inline unsigned int ktask_hist_bucket(u64 ns)
{
	unsigned int b = ns > 1 ? ilog2(ns) : 0;

	return min(b, KTASK_HIST_BUCKETS - 1U);
}

/*
 * Account a poll from @start to @end, and the time its task waited from
 * its queueing to @start (local_clock() ns); rt->hist is set.
 */
static inline void ktask_hist_poll(struct ktask_rt *rt, u64 start, u64 end)
{
	this_cpu_inc(rt->hist->poll_ns[ktask_hist_bucket(end - start)]);
}

static inline void ktask_hist_schedule(struct ktask_rt *rt,
				       struct ktask_cell *cell, u64 start)
{
	u32 waited = (u32)(start >> KTASK_STAMP_SHIFT) - cell->wake_stamp;

	this_cpu_inc(rt->hist->schedule_ns[ktask_hist_bucket((u64)waited <<
							     KTASK_STAMP_SHIFT)]);
}

/* Publish the poll that begins for the long-poll detector. */
static inline void ktask_rq_poll_begin(struct ktask_rq *rq,
				       struct ktask_cell *cell, u64 start)
{
	rq->current_cell = cell;
	/*
	 * The previous poll's end (@poll_start_ns = 0) before this poll's id
	 * and site: a detector that sees the new id and then rereads the old
	 * start time would otherwise report this task as that poll's.  Pairs
	 * with the second smp_rmb() in ktask_watchdog_check_rq().
	 */
	smp_wmb();
	WRITE_ONCE(rq->poll_id, cell->id);
	WRITE_ONCE(rq->poll_site, cell->spawn_site);
	/*
	 * Id and site before the start time, which publishes them.  Pairs
	 * with the first smp_rmb() in ktask_watchdog_check_rq().
	 */
	smp_wmb();
	WRITE_ONCE(rq->poll_start_ns, start);
}

static inline void ktask_rq_poll_end(struct ktask_rq *rq)
{
	WRITE_ONCE(rq->poll_start_ns, 0);
	rq->current_cell = NULL;
}

/*
 * A task pins its owner module unless that module created the runtime,
 * whose destroy (which the module must do before it goes) then keeps the
 * task's code in memory for as long as it can run.
 */
static inline bool ktask_cell_pins_owner(const struct ktask_cell *cell)
{
	return cell->owner != cell->rt->owner;
}

/* runtime.c */
struct ktask_handle *ktask_spawn_cell(struct ktask_rt *rt,
				      enum ktask_kind kind,
				      const struct ktask_ops *ops,
				      long (*fn)(void *arg), void *arg,
				      const struct ktask_spawn_opts *opts,
				      gfp_t gfp, struct module *owner,
				      unsigned long site);
struct ktask_handle *ktask_spawn_of_kind(struct ktask_rt *rt,
					 enum ktask_spawn_kind kind,
					 const struct ktask_ops *ops,
					 long (*fn)(void *arg), void *arg,
					 const struct ktask_spawn_opts *opts,
					 gfp_t gfp, struct module *owner,
					 unsigned long site);
int ktask_rt_init(void);
void ktask_rt_exit(void);

/* stuck.c */
int ktask_wait_format(char *buf, size_t size, unsigned long wait_site);
void ktask_stuck_init(void);
void ktask_stuck_exit(void);

/* completion.c */
int ktask_completion_init(void);
void ktask_completion_exit(void);

/* watchdog.c */
void ktask_watchdog_init(void);
void ktask_watchdog_exit(void);

/* debugfs.c */
void ktask_debugfs_init(void);
void ktask_debugfs_exit(void);

struct dentry;

/*
 * On PREEMPT_RT, spinlock_t and the slab allocator sleep: a spawn, which
 * takes both, is refused where sleeping locks may not be taken (hardirq,
 * interrupts or preemption disabled, a raw spinlock held).  Elsewhere,
 * and on every other kernel, any context may spawn.
 * Return: 0, or -EPERM after a WARN_ONCE().
 */
static inline int ktask_spawn_context_check(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT) &&
	    WARN_ONCE(!preemptible(),
		      "ktask: spawn where PREEMPT_RT may not sleep on a lock\n"))
		return -EPERM;
	return 0;
}

/* fault.c: the fail_spawn and fail_percpu fault points */
#ifdef CONFIG_FAULT_INJECTION
bool ktask_should_fail_spawn(void);
bool ktask_should_fail_percpu(void);
void ktask_fault_debugfs_init(struct dentry *dir);
void ktask_fault_debugfs_exit(void);
#else
static inline bool ktask_should_fail_spawn(void)
{
	return false;
}

static inline bool ktask_should_fail_percpu(void)
{
	return false;
}

static inline void ktask_fault_debugfs_init(struct dentry *dir)
{
}

static inline void ktask_fault_debugfs_exit(void)
{
}
#endif

#endif /* _KTASK_RUNTIME_H */
