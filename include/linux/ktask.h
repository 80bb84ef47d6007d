/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktask - cheap, joinable, abortable tasks for kernel code
 *
 * A task is a function (or a pollable state machine) that ktask runs on a
 * per-CPU worker of a runtime.  Spawning returns a join handle, through
 * which the caller collects the task's output, aborts it or lets it go.
 * Pollable tasks return KTASK_PENDING after arranging for a waker to be
 * woken, and are polled again once it is.  See Documentation/ktask/ for the
 * design and the state machine.
 */
#ifndef _LINUX_KTASK_H
#define _LINUX_KTASK_H

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/gfp.h>
#include <linux/hrtimer.h>
#include <linux/module.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

struct ktask_rt;
struct ktask_cx;
struct ktask_handle;
struct ktask_abort_handle;
struct ktask_waker;

/**
 * enum ktask_poll - what a poll function reports
 * @KTASK_PENDING: not done; a waker was stored and will be woken
 * @KTASK_READY: done; the output has been written
 */
enum ktask_poll {
	KTASK_PENDING,
	KTASK_READY,
};

/**
 * struct ktask_ops - a pollable task
 * @poll: called on a runtime worker, never concurrently with itself.
 *	Returns KTASK_READY with *@out set, or KTASK_PENDING after storing a
 *	waker (ktask_waker_clone(ktask_cx_waker(cx))) that something will wake.
 *	Must not sleep.
 * @drop: optional; called exactly once with @arg after the task finished or
 *	was cancelled, in process context, before the owner module is released.
 * @drop_output: optional; called exactly once for an output that nobody
 *	will read (nobody joined, or the handle was detached), in any context
 *	(ktask_detach() of a completed task calls it at once, and may be
 *	called from hardirq): must not sleep.
 */
struct ktask_ops {
	enum ktask_poll (*poll)(struct ktask_cx *cx, void *arg, long *out);
	void (*drop)(void *arg);
	void (*drop_output)(long out);
};

/**
 * struct ktask_rt_hooks - a runtime's callbacks (Tokio's task hooks); each
 * may be NULL
 * @spawn: a task was spawned; called by the spawner, in its context (so
 *	any context), before the task first runs (a destroy that overlaps
 *	the spawn may cancel it, and call @terminate, first)
 * @terminate: a task completed (@result 0) or failed (@result as its join
 *	gives it: -ECANCELED, -EPROTO); called once per spawned task, in
 *	process context, by the thread that completes it, before any joiner
 *	returns
 * @before_poll: a poll of the task begins; on the polling thread, in
 *	process context: must not sleep
 * @after_poll: the poll ended with @res; as @before_poll
 * @data: passed to every callback
 *
 * The hooks run on the hot paths: keep them short.  They must outlive the
 * runtime.
 */
struct ktask_rt_hooks {
	void (*spawn)(void *data, u64 id);
	void (*terminate)(void *data, u64 id, int result);
	void (*before_poll)(void *data, u64 id);
	void (*after_poll)(void *data, u64 id, enum ktask_poll res);
	void *data;
};

/**
 * struct ktask_rt_opts - runtime options; a NULL pointer means defaults
 * @budget: coop budget per poll; 0 means the module parameter
 * @max_polls_per_drain: polls per drain before it requeues; 0 for default
 * @flags: KTASK_RT_* flags
 * @hooks: callbacks, or NULL
 * @cpus: with KTASK_RT_UNBOUND, the CPUs that poll the runtime's tasks
 *	(copied at create; it must hold a possible CPU); NULL for any CPU.
 *	While none of them is online the tasks are polled on other CPUs.
 *	Blocking functions run on the blocking pool, whatever @cpus is.
 */
struct ktask_rt_opts {
	unsigned int budget;
	unsigned int max_polls_per_drain;
	unsigned int flags;
	const struct ktask_rt_hooks *hooks;
	const struct cpumask *cpus;
};

/*
 * Drains that find no idle ktask worker thread run on an unbound
 * workqueue, not on the CPU that queued the tasks.
 */
#define KTASK_RT_UNBOUND	0x1
/*
 * For runtimes on a memory-reclaim path (storage, network): the
 * runtime's workqueues get WQ_MEM_RECLAIM, so that a rescuer thread makes
 * progress when no kworker can be created.
 */
#define KTASK_RT_MEM_RECLAIM	0x2
/*
 * Keep the histograms of struct ktask_rt_metrics: two precise clock reads
 * per poll and one per wake (Tokio's enable_metrics_poll_time_histogram).
 */
#define KTASK_RT_HISTOGRAMS	0x4
/*
 * Poll the runtime's tasks at high priority, as WQ_HIGHPRI runs its work
 * items (nvmet-tcp's I/O, for one): a ktask worker thread drains the
 * runtime's queues at nice -20, and its workqueue gets WQ_HIGHPRI, so
 * that the tasks do not wait behind user space for their CPU share.
 */
#define KTASK_RT_HIGHPRI	0x8
#define KTASK_RT_VALID_FLAGS	(KTASK_RT_UNBOUND | KTASK_RT_MEM_RECLAIM | \
				 KTASK_RT_HISTOGRAMS | KTASK_RT_HIGHPRI)

/* Buckets of a ktask_rt_metrics histogram: see there. */
#define KTASK_HIST_BUCKETS	32

/**
 * struct ktask_rt_metrics - what a runtime has done, for its user to read
 * @alive: tasks spawned and not yet completed or cancelled
 * @spawned: tasks spawned
 * @completed: tasks that completed with an output
 * @cancelled: tasks that completed cancelled (aborted, or by destroy)
 * @polls: polls of tasks
 * @wakes: wakes that queued a task
 * @forced_yields: polls that ran out of coop budget
 * @drains: drains of a run queue started (by a worker thread or a work
 *	item); ktask does not steal tasks between queues
 * @requeues: drains that stopped at their limit with tasks left
 * @queue_depth: tasks queued and not yet polled now, over every CPU
 * @max_queue_depth: the deepest of the per-CPU run queues now
 * @longest_poll_ns: the longest poll seen, to a tick
 * @histograms: the runtime keeps the histograms (KTASK_RT_HISTOGRAMS);
 *	else they are zero
 * @poll_ns: polls by length: bucket 0 counts polls shorter than 2 ns,
 *	bucket i (0 < i < KTASK_HIST_BUCKETS - 1) those of 2^i ns up to
 *	2^(i+1) ns, the last those of 2^31 ns or longer
 * @schedule_ns: the same for the time from a task's spawn, wake or yield
 *	to the start of the poll that follows, to 64 ns (under 64 ns it
 *	counts in bucket 0, from 64 to 127 ns in bucket 6)
 *
 * Counters are sums of per-CPU counters read without stopping their
 * writers: each is exact once the runtime is quiet, a snapshot otherwise.
 */
struct ktask_rt_metrics {
	long alive;
	u64 spawned;
	u64 completed;
	u64 cancelled;
	u64 polls;
	u64 wakes;
	u64 forced_yields;
	u64 drains;
	u64 requeues;
	unsigned int queue_depth;
	unsigned int max_queue_depth;
	u64 longest_poll_ns;
	bool histograms;
	u64 poll_ns[KTASK_HIST_BUCKETS];
	u64 schedule_ns[KTASK_HIST_BUCKETS];
};

struct ktask_rt *__ktask_rt_create(const char *name,
				   const struct ktask_rt_opts *opts,
				   struct module *owner);
void ktask_rt_destroy(struct ktask_rt *rt);

/**
 * ktask_rt_create() - create a runtime
 * @name: a name for debugfs and the workqueue (at most 31 characters)
 * @opts: options, or NULL for the defaults
 *
 * The calling module owns the runtime and must destroy it before it is
 * unloaded: that is what keeps its tasks' code in memory while they run,
 * so its own spawns do not pin it.  Spawns from other modules pin those.
 *
 * Context: Process context; sleeps.
 * Return: the runtime, or ERR_PTR(-EINVAL) for a missing or too long name
 * or impossible options, or ERR_PTR(-ENOMEM).
 */
#define ktask_rt_create(name, opts)					\
	__ktask_rt_create(name, opts, THIS_MODULE)

/* The longest task name, with its terminating NUL. */
#define KTASK_NAME_LEN		48

/**
 * enum ktask_place - where a task is polled (struct ktask_spawn_opts)
 * @KTASK_PLACE_ANY: wherever the scheduler likes
 * @KTASK_PLACE_CPU: on the CPU @cpu, while it is online
 * @KTASK_PLACE_NODE: on an online CPU of the NUMA node @node
 */
enum ktask_place {
	KTASK_PLACE_ANY,
	KTASK_PLACE_CPU,
	KTASK_PLACE_NODE,
};

/**
 * struct ktask_spawn_opts - how to spawn one task (Tokio's task::Builder)
 * @name: a name for people: debugfs, the spawn tracepoint and ktask's
 *	reports show it; copied at spawn, at most KTASK_NAME_LEN - 1 bytes;
 *	NULL or "" for none
 * @place: where the task is polled: KTASK_PLACE_ANY (0), KTASK_PLACE_CPU
 *	or KTASK_PLACE_NODE
 * @cpu: with KTASK_PLACE_CPU, the CPU that polls the task
 * @node: with KTASK_PLACE_NODE, the NUMA node whose CPUs poll the task,
 *	and where its memory is allocated
 *
 * A placed task is polled on its CPU (or a CPU of its node) while that
 * CPU is online: every poll of it, after its spawn and after every wake
 * and yield, wherever they come from.  While its CPU (or every CPU of its
 * node) is offline it is polled on another online CPU, as a per-CPU work
 * item whose CPU went down runs elsewhere, and it goes back once a CPU of
 * its placement is online again (a poll queued while the CPU went or came
 * may still run elsewhere).  A spawn onto an offline CPU fails.  A zeroed
 * struct is the defaults: no name, anywhere.
 */
struct ktask_spawn_opts {
	const char *name;
	enum ktask_place place;
	int cpu;
	int node;
};

/**
 * enum ktask_spawn_kind - what __ktask_spawn_with() and
 *	__ktask_group_spawn() spawn
 * @KTASK_SPAWN_FN: a run-to-completion function, as ktask_spawn()
 * @KTASK_SPAWN_POLL: a pollable task, as ktask_spawn_poll()
 * @KTASK_SPAWN_BLOCKING: a blocking function, as ktask_spawn_blocking()
 */
enum ktask_spawn_kind {
	KTASK_SPAWN_FN,
	KTASK_SPAWN_POLL,
	KTASK_SPAWN_BLOCKING,
};

struct ktask_handle *__ktask_spawn(struct ktask_rt *rt, long (*fn)(void *arg),
				   void *arg, gfp_t gfp, struct module *owner);
int __ktask_spawn_detached(struct ktask_rt *rt, long (*fn)(void *arg),
			   void *arg, gfp_t gfp, struct module *owner);
struct ktask_handle *__ktask_spawn_with(struct ktask_rt *rt,
					enum ktask_spawn_kind kind,
					const struct ktask_ops *ops,
					long (*fn)(void *arg), void *arg,
					const struct ktask_spawn_opts *opts,
					gfp_t gfp, struct module *owner);
struct ktask_handle *__ktask_spawn_poll(struct ktask_rt *rt,
					const struct ktask_ops *ops, void *arg,
					gfp_t gfp, struct module *owner);
int __ktask_spawn_bulk(struct ktask_rt *rt, long (*fn)(void *arg),
		       void *const *args, unsigned int nr,
		       struct ktask_handle **handles, gfp_t gfp,
		       struct module *owner);

/**
 * ktask_spawn() - spawn a run-to-completion task
 * @rt: the runtime
 * @fn: the task's function; its return value is the task's output
 * @arg: passed to @fn
 * @gfp: allocation flags for the task cell (GFP_ATOMIC from atomic context)
 *
 * Records THIS_MODULE as the owner and the caller as the spawn site.  A
 * module that spawns on a runtime it did not create is pinned until @fn
 * has returned; the runtime's creator is not (its exit destroys it).
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: a join handle, or ERR_PTR(-EINVAL) for bad arguments,
 * ERR_PTR(-ENOMEM), or ERR_PTR(-ESHUTDOWN) when @rt is closed or the
 * owner module is going away.
 */
#define ktask_spawn(rt, fn, arg, gfp)					\
	__ktask_spawn(rt, fn, arg, gfp, THIS_MODULE)

/**
 * ktask_spawn_detached() - spawn a run-to-completion task, fire and forget
 * @rt: the runtime
 * @fn: the task's function; its return value is dropped
 * @arg: passed to @fn
 * @gfp: allocation flags for the task cell (GFP_ATOMIC from atomic context)
 *
 * As ktask_spawn() followed by ktask_detach(), without the handle and the
 * detach's atomic: what queue_work() is to a work item that frees itself.
 * The task runs once and is freed when @fn returns; runtime destroy
 * cancels it if it has not started, and waits for it if it has.
 *
 * Context: as ktask_spawn().
 * Return: 0, or -EINVAL for bad arguments, -ENOMEM, -ESHUTDOWN when @rt is
 * closed or the owner module is going away, -EPERM from a context
 * PREEMPT_RT refuses (see api.rst).
 */
#define ktask_spawn_detached(rt, fn, arg, gfp)				\
	__ktask_spawn_detached(rt, fn, arg, gfp, THIS_MODULE)

/* The most tasks one ktask_spawn_bulk() spawns. */
#define KTASK_SPAWN_BULK_MAX	64

/**
 * ktask_spawn_bulk() - spawn several run-to-completion tasks at once
 * @rt: the runtime
 * @fn: every task's function; its return value is that task's output
 * @args: @nr arguments, the i-th for the i-th task; NULL: every task gets
 *	NULL
 * @nr: how many tasks, 1 to %KTASK_SPAWN_BULK_MAX
 * @handles: an array of @nr join handles, filled in the order of @args
 *	on success and left alone on failure; NULL: the tasks are spawned
 *	detached, as ktask_detach() right after a spawn would leave them,
 *	without its atomic
 * @gfp: allocation flags for the task cells (GFP_ATOMIC from atomic
 *	context)
 *
 * As @nr calls of ktask_spawn(), at a fraction of their cost, for callers
 * that spawn many tasks at once (blk_start_plug() batches requests the
 * same way): the cells are allocated first, the tasks are bound to the
 * runtime under one lock and queued on one run queue with one push, and
 * at most one worker is woken for them, which polls them in the order of
 * @args (a helping join may take one out of turn).  The lock is held
 * with preemption (from interrupts: interrupts; on PREEMPT_RT, migration)
 * off while all of them are bound, which bounds @nr.
 *
 * Context: as ktask_spawn().
 * Return: 0 with all @nr tasks spawned, or a negative errno with none:
 * -EINVAL for bad arguments (@nr 0 or above %KTASK_SPAWN_BULK_MAX
 * included), -ENOMEM, -ESHUTDOWN when @rt is closed or the owner module
 * is going away, -EPERM from a context PREEMPT_RT refuses (see api.rst).
 */
#define ktask_spawn_bulk(rt, fn, args, nr, handles, gfp)		\
	__ktask_spawn_bulk(rt, fn, args, nr, handles, gfp, THIS_MODULE)

/**
 * ktask_spawn_poll() - spawn a pollable task
 * @rt: the runtime
 * @ops: the task's operations; must outlive the task
 * @arg: passed to every operation
 * @gfp: allocation flags for the task cell
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_spawn().  On failure @ops->drop is not called: @arg
 * still belongs to the caller.
 */
#define ktask_spawn_poll(rt, ops, arg, gfp)				\
	__ktask_spawn_poll(rt, ops, arg, gfp, THIS_MODULE)

/**
 * ktask_spawn_with() - spawn a run-to-completion task with options
 * @rt: the runtime
 * @opts: name and placement; may be NULL (as ktask_spawn())
 * @fn: the task's function; its return value is the task's output
 * @arg: passed to @fn
 * @gfp: allocation flags for the task cell
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_spawn(), and ERR_PTR(-ENAMETOOLONG) for a name of
 * KTASK_NAME_LEN bytes or more, ERR_PTR(-EINVAL) for an unknown @place, a
 * CPU or node that does not exist, or a placement on a KTASK_RT_UNBOUND
 * runtime, ERR_PTR(-ENODEV) for a CPU or node that has no online CPU, and
 * on PREEMPT_RT ERR_PTR(-EPERM) from atomic context.
 */
#define ktask_spawn_with(rt, opts, fn, arg, gfp)			\
	__ktask_spawn_with(rt, KTASK_SPAWN_FN, NULL, fn, arg, opts, gfp, \
			   THIS_MODULE)

/**
 * ktask_spawn_poll_with() - spawn a pollable task with options
 * @rt: the runtime
 * @opts: name and placement; may be NULL (as ktask_spawn_poll())
 * @ops: the task's operations; must outlive the task
 * @arg: passed to every operation
 * @gfp: allocation flags for the task cell
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_spawn_with().  On failure @ops->drop is not called.
 */
#define ktask_spawn_poll_with(rt, opts, ops, arg, gfp)			\
	__ktask_spawn_with(rt, KTASK_SPAWN_POLL, ops, NULL, arg, opts, gfp, \
			   THIS_MODULE)

int ktask_join(struct ktask_handle *h, long *out);
int ktask_join_timeout(struct ktask_handle *h, long *out,
		       unsigned long timeout);
int ktask_join_killable(struct ktask_handle *h, long *out);
enum ktask_poll ktask_join_poll(struct ktask_handle *h, struct ktask_cx *cx,
				long *out, int *err);
void ktask_join_poll_cancel(struct ktask_handle *h, struct ktask_cx *cx);
bool ktask_is_finished(struct ktask_handle *h);
void ktask_detach(struct ktask_handle *h);
void ktask_abort(struct ktask_handle *h);
struct ktask_abort_handle *ktask_abort_handle(struct ktask_handle *h);
void ktask_abort_handle_abort(struct ktask_abort_handle *ah);
void ktask_abort_handle_put(struct ktask_abort_handle *ah);
u64 ktask_id(const struct ktask_handle *h);
u64 ktask_current_id(void);
long ktask_rt_num_alive(struct ktask_rt *rt);
int ktask_rt_read_metrics(struct ktask_rt *rt, struct ktask_rt_metrics *m);
long ktask_num_cells(void);

struct ktask_waker *ktask_cx_waker(struct ktask_cx *cx);
struct ktask_waker *ktask_waker_clone(struct ktask_waker *w);
void ktask_wake(struct ktask_waker *w);
void ktask_wake_by_ref(struct ktask_waker *w);
void ktask_waker_drop(struct ktask_waker *w);

bool ktask_coop_proceed(struct ktask_cx *cx);
void ktask_coop_made_progress(struct ktask_cx *cx);
enum ktask_poll ktask_consume_budget(struct ktask_cx *cx);
enum ktask_poll ktask_consume_budget_n(struct ktask_cx *cx, unsigned int units);
bool ktask_has_budget_remaining(struct ktask_cx *cx);
bool ktask_coop_set_unconstrained(struct ktask_cx *cx, bool unconstrained);

struct ktask_handle *__ktask_spawn_blocking(struct ktask_rt *rt,
					    long (*fn)(void *arg), void *arg,
					    gfp_t gfp, struct module *owner);

/**
 * ktask_spawn_blocking() - run a function that may block, off the workers
 * @rt: the runtime
 * @fn: the function; it may sleep for as long as it likes
 * @arg: passed to @fn
 * @gfp: allocation flags
 *
 * Tokio's spawn_blocking: @fn runs on the runtime's unbound blocking pool,
 * never on a task worker, and the task is joined and aborted like any
 * other.  An abort before @fn starts means it never runs and the join
 * returns -ECANCELED; once it runs it is not interrupted: an abort does
 * nothing, and the join waits for @fn and returns its output, so @arg may
 * be freed once the join returned.  Runtime destroy waits for a running
 * @fn to return.
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_spawn().
 */
#define ktask_spawn_blocking(rt, fn, arg, gfp)				\
	__ktask_spawn_blocking(rt, fn, arg, gfp, THIS_MODULE)

/**
 * ktask_spawn_blocking_with() - ktask_spawn_blocking() with a name
 * @rt: the runtime
 * @opts: the name; may be NULL.  A blocking function runs on the
 *	runtime's unbound blocking pool: a placement is refused.
 * @fn: the function; it may sleep
 * @arg: passed to @fn
 * @gfp: allocation flags
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_spawn_with(); ERR_PTR(-EINVAL) for any placement.
 */
#define ktask_spawn_blocking_with(rt, opts, fn, arg, gfp)		\
	__ktask_spawn_with(rt, KTASK_SPAWN_BLOCKING, NULL, fn, arg, opts, \
			   gfp, THIS_MODULE)

/*
 * Leaf operations.  Each is called from a poll function with its own state
 * object, which the task keeps across polls; each returns KTASK_READY when
 * done, or KTASK_PENDING after arranging to wake the task (the poll
 * function then returns KTASK_PENDING too).  Each takes one unit of coop
 * budget, given back when it made no progress.  A task that can be aborted
 * while it waits cancels the wait in its ops->drop.
 */

/**
 * struct ktask_yield - state of ktask_yield_now()
 * @yielded: the task has yielded once and is being polled again
 */
struct ktask_yield {
	bool yielded;
};

enum ktask_poll ktask_yield_now(struct ktask_cx *cx, struct ktask_yield *y);

/**
 * struct ktask_sleep - state of ktask_sleep_until() and ktask_sleep_for();
 * init with ktask_sleep_init(), release with ktask_sleep_cancel()
 * @timer: fires at the deadline, in hardirq context
 * @waker: the task to wake; taken by whoever wakes or cancels
 * @deadline: ktask_sleep_for()'s deadline, while @armed
 * @armed: a ktask_sleep_for() is in progress: later polls keep @deadline
 *
 * It lives in the task's state, never on a stack: @timer is initialised
 * as a static object, which CONFIG_DEBUG_OBJECTS_TIMERS reports on a stack.
 */
struct ktask_sleep {
	struct hrtimer timer;
	struct ktask_waker *waker;
	ktime_t deadline;
	bool armed;
};

void ktask_sleep_init(struct ktask_sleep *s);
enum ktask_poll ktask_sleep_until(struct ktask_cx *cx, struct ktask_sleep *s,
				  ktime_t deadline);
void ktask_sleep_cancel(struct ktask_sleep *s);
enum ktask_poll ktask_sleep_for(struct ktask_cx *cx, struct ktask_sleep *s,
				u64 ns);

/**
 * enum ktask_missed_tick - what an interval does about ticks it missed
 * @KTASK_TICK_BURST: tick at once for each missed tick, until caught up
 *	(Tokio's default)
 * @KTASK_TICK_DELAY: tick at once, then a period after that tick
 * @KTASK_TICK_SKIP: tick at once, then on the original schedule, skipping
 *	the missed ticks
 */
enum ktask_missed_tick {
	KTASK_TICK_BURST,
	KTASK_TICK_DELAY,
	KTASK_TICK_SKIP,
};

/**
 * struct ktask_interval - a tick every period; init with
 * ktask_interval_init(), release with ktask_interval_cancel()
 * @sleep: waits for the next tick
 * @next: when the next tick is due (0 before the first, which is at once)
 * @period: the period, in ns
 * @missed: enum ktask_missed_tick
 */
struct ktask_interval {
	struct ktask_sleep sleep;
	ktime_t next;
	u64 period;
	enum ktask_missed_tick missed;
};

int ktask_interval_init(struct ktask_interval *iv, u64 period_ns,
			enum ktask_missed_tick missed);
enum ktask_poll ktask_interval_tick(struct ktask_cx *cx,
				    struct ktask_interval *iv);
void ktask_interval_cancel(struct ktask_interval *iv);

/**
 * struct ktask_timeout - a deadline around another wait; init with
 * ktask_timeout_init(), release with ktask_timeout_cancel()
 * @sleep: wakes the task at the deadline
 *
 * Start it with ktask_timeout_start(); in each poll, after the wait it
 * guards returned KTASK_PENDING, ktask_timeout_elapsed() says whether to
 * give up (cancel the inner wait and complete with -ETIMEDOUT).
 */
struct ktask_timeout {
	struct ktask_sleep sleep;
};

void ktask_timeout_init(struct ktask_timeout *t);
int ktask_timeout_start(struct ktask_timeout *t, u64 ns);
bool ktask_timeout_elapsed(struct ktask_cx *cx, struct ktask_timeout *t);
void ktask_timeout_cancel(struct ktask_timeout *t);

/**
 * struct ktask_wait - a task waiting on a wait_queue_head_t; init with
 * ktask_wait_init(), release with ktask_wait_cancel()
 * @entry: our entry on the wait queue; its wake function wakes the task
 * @head: the queue @entry is on, or NULL
 * @waker: the task to wake; taken by whoever wakes or cancels
 * @events: the poll events (EPOLLIN, ...) a keyed wake must carry one of
 *	to wake the task, EPOLLERR and EPOLLHUP included, 0 for any (see
 *	ktask_wait_event_poll()); set and read under @head's lock
 */
struct ktask_wait {
	struct wait_queue_entry entry;
	struct wait_queue_head *head;
	struct ktask_waker *waker;
	__poll_t events;
};

void ktask_wait_init(struct ktask_wait *w);
void ktask_wait_prepare(struct ktask_cx *cx, struct ktask_wait *w,
			struct wait_queue_head *wq_head);
void ktask_wait_prepare_poll(struct ktask_cx *cx, struct ktask_wait *w,
			     struct wait_queue_head *wq_head, __poll_t events);
void ktask_wait_cancel(struct ktask_wait *w);

/**
 * ktask_wait_event() - wait in a task until @cond holds
 * @cx: the poll context
 * @w: the task's struct ktask_wait
 * @wq_head: the wait queue that is woken when @cond may have changed
 * @cond: a C expression, evaluated without locks, as for wait_event()
 *
 * The bridge between a driver's wait queue and a task: wake_up(@wq_head),
 * from the driver's interrupt handler for instance, wakes the task, which
 * is polled again and re-evaluates @cond.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY once @cond holds (the task is off @wq_head), else
 * KTASK_PENDING.
 */
#define ktask_wait_event(cx, w, wq_head, cond)				\
	ktask_wait_event_poll(cx, w, wq_head, 0, cond)

/**
 * ktask_wait_event_poll() - wait in a task until @cond holds, woken only by
 *	the poll events that can make it hold
 * @cx: the poll context
 * @w: the task's struct ktask_wait
 * @wq_head: the wait queue that is woken when @cond may have changed
 * @events: the poll events (EPOLLIN, EPOLLOUT, ...) that may make @cond
 *	hold; EPOLLERR and EPOLLHUP are added, as poll() adds them; 0 for
 *	any
 * @cond: a C expression, evaluated without locks, as for wait_event()
 *
 * As ktask_wait_event(), for a queue woken with a poll key, as a socket's
 * is (wake_up_poll()): a wake whose key has none of @events, a socket's
 * write space while the task waits to read for instance, leaves the task
 * parked instead of polling it for nothing.  A wake without a key
 * (wake_up()) still wakes it.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY once @cond holds (the task is off @wq_head), else
 * KTASK_PENDING.
 */
#define ktask_wait_event_poll(cx, w, wq_head, events, cond)		\
({									\
	struct ktask_cx *__kw_cx = (cx);				\
	struct ktask_wait *__kw_w = (w);				\
	enum ktask_poll __kw_ret = KTASK_PENDING;			\
	bool __kw_queued = false;					\
									\
	/* @cond is tested again once queued: see ktask_wait_prepare() */ \
	while (__kw_queued || ktask_coop_proceed(__kw_cx)) {		\
		if (cond) {						\
			ktask_wait_cancel(__kw_w);			\
			ktask_coop_made_progress(__kw_cx);		\
			__kw_ret = KTASK_READY;				\
			break;						\
		}							\
		if (__kw_queued)					\
			break;						\
		ktask_wait_prepare_poll(__kw_cx, __kw_w, wq_head, events); \
		__kw_queued = true;					\
	}								\
	__kw_ret;							\
})

struct ktask_cw_waiter;

/**
 * struct ktask_completion_wait - a task waiting for a struct completion;
 * init with ktask_completion_wait_init(), release with
 * ktask_completion_wait_cancel()
 * @node: on the queue of waits that no waiter thread serves yet
 * @completion: what it waits for
 * @waker: the task to wake
 * @waiter: the thread of ktask's completion-wait pool that serves it
 * @state: where the wait is; see ktask/completion.c
 *
 * Private to ktask; it lives in the task's state, as every leaf's does.
 */
struct ktask_completion_wait {
	struct list_head node;
	struct completion *completion;
	struct ktask_waker *waker;
	struct ktask_cw_waiter *waiter;
	int state;
};

void ktask_completion_wait_init(struct ktask_completion_wait *cw);
enum ktask_poll ktask_wait_for_completion(struct ktask_cx *cx,
					  struct ktask_completion_wait *cw,
					  struct completion *done);
void ktask_completion_wait_cancel(struct ktask_completion_wait *cw);

/*
 * Cancellation tokens (tokio-util's CancellationToken): cancelled once, from
 * any context, with their descendants; pollable tasks wait for them with
 * ktask_cancelled(), functions check ktask_cancel_token_is_cancelled().
 */
struct ktask_cancel_token;

/**
 * struct ktask_cancel_wait - a task waiting for a token; init with
 * ktask_cancel_wait_init(), release with ktask_cancel_wait_cancel()
 * @node: on the token's list of waits
 * @token: the token waited for (a reference), or NULL
 * @waker: the task to wake; taken by whoever wakes or cancels
 */
struct ktask_cancel_wait {
	struct list_head node;
	struct ktask_cancel_token *token;
	struct ktask_waker *waker;
};

struct ktask_cancel_token *ktask_cancel_token_create(gfp_t gfp);
struct ktask_cancel_token *
ktask_cancel_token_child(struct ktask_cancel_token *parent, gfp_t gfp);
struct ktask_cancel_token *ktask_cancel_token_get(struct ktask_cancel_token *t);
void ktask_cancel_token_put(struct ktask_cancel_token *t);
void ktask_cancel_token_cancel(struct ktask_cancel_token *t);
bool ktask_cancel_token_is_cancelled(struct ktask_cancel_token *t);
void ktask_cancel_wait_init(struct ktask_cancel_wait *w);
enum ktask_poll ktask_cancelled(struct ktask_cx *cx,
				struct ktask_cancel_wait *w,
				struct ktask_cancel_token *t);
void ktask_cancel_wait_cancel(struct ktask_cancel_wait *w);
struct ktask_cancel_token *ktask_rt_cancel_token(struct ktask_rt *rt);

/*
 * Task groups (Tokio's JoinSet): tasks spawned into a group are joined in
 * the order they complete, aborted together, and shut down together.
 */
struct ktask_group;

struct ktask_group *ktask_group_create(struct ktask_rt *rt);
void ktask_group_destroy(struct ktask_group *g);
int __ktask_group_spawn(struct ktask_group *g, enum ktask_spawn_kind kind,
			const struct ktask_ops *ops, long (*fn)(void *arg),
			void *arg, const struct ktask_spawn_opts *opts,
			gfp_t gfp, u64 *id, struct module *owner);

/**
 * ktask_group_spawn() - spawn a run-to-completion task into a group
 * @g: the group
 * @fn: the task's function
 * @arg: passed to @fn
 * @gfp: allocation flags
 * @id: where to store the task's id; may be NULL
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: 0, or -EINVAL, -ENOMEM or -ESHUTDOWN (see __ktask_group_spawn()).
 */
#define ktask_group_spawn(g, fn, arg, gfp, id)				\
	__ktask_group_spawn(g, KTASK_SPAWN_FN, NULL, fn, arg, NULL, gfp,	\
			    id, THIS_MODULE)

/**
 * ktask_group_spawn_poll() - spawn a pollable task into a group
 * @g: the group
 * @ops: the task's operations; must outlive the task
 * @arg: passed to every operation
 * @gfp: allocation flags
 * @id: where to store the task's id; may be NULL
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_group_spawn().  On failure @ops->drop is not called.
 */
#define ktask_group_spawn_poll(g, ops, arg, gfp, id)			\
	__ktask_group_spawn(g, KTASK_SPAWN_POLL, ops, NULL, arg, NULL, gfp, \
			    id, THIS_MODULE)

/**
 * ktask_group_spawn_blocking() - spawn a blocking function into a group
 * @g: the group
 * @fn: the function; it may sleep
 * @arg: passed to @fn
 * @gfp: allocation flags
 * @id: where to store the task's id; may be NULL
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as ktask_group_spawn().
 */
#define ktask_group_spawn_blocking(g, fn, arg, gfp, id)			\
	__ktask_group_spawn(g, KTASK_SPAWN_BLOCKING, NULL, fn, arg, NULL,	\
			    gfp, id, THIS_MODULE)

/**
 * ktask_group_spawn_with() - spawn a task of any kind into a group, with
 *	options
 * @g: the group
 * @opts: name and placement, as for ktask_spawn_with(); may be NULL
 * @kind: KTASK_SPAWN_FN, KTASK_SPAWN_POLL or KTASK_SPAWN_BLOCKING
 * @ops: for KTASK_SPAWN_POLL, the task's operations, else NULL
 * @fn: for the other kinds, the function, else NULL
 * @arg: passed to @fn or @ops
 * @gfp: allocation flags
 * @id: where to store the task's id; may be NULL
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: 0, or an errno as ktask_group_spawn() and ktask_spawn_with().
 */
#define ktask_group_spawn_with(g, opts, kind, ops, fn, arg, gfp, id)	\
	__ktask_group_spawn(g, kind, ops, fn, arg, opts, gfp, id,	\
			    THIS_MODULE)

int ktask_group_join_next(struct ktask_group *g, u64 *id, long *out);
int ktask_group_join_next_timeout(struct ktask_group *g, u64 *id, long *out,
				  unsigned long timeout);
enum ktask_poll ktask_group_join_next_poll(struct ktask_group *g,
					   struct ktask_cx *cx, u64 *id,
					   long *out, int *err);
void ktask_group_abort_all(struct ktask_group *g);
void ktask_group_shutdown(struct ktask_group *g);
unsigned int ktask_group_len(struct ktask_group *g);
struct ktask_cancel_token *ktask_group_cancel_token(struct ktask_group *g);

#endif /* _LINUX_KTASK_H */
