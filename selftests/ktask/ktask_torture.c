// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_torture: a bounded torture run of ktask, in the style of the
 * kernel's locktorture.
 *
 * For @duration seconds, @threads_per_cpu kthreads per CPU spawn tasks
 * (functions, blocking functions, pollable tasks, tasks that join others) and
 * wake, abort, join (blocking, timed, and from another task with
 * ktask_join_poll()), detach and drop them at random.  Each thread also
 * drives an hrtimer (hardirq) and a timer_list (softirq) that wake parked
 * tasks, abort tasks through abort handles and spawn tasks of their own.
 * Meanwhile a controller replaces the runtime every few hundred
 * milliseconds with one of random options, and destroys the old one: after
 * its tasks all finished, at once with its tasks still running, or even
 * while it is still the current one, so that spawns race the destroy.
 *
 * Every task has a record that counts what happened to it.  Checked, and
 * counted as errors when wrong:
 *  - ops->drop runs exactly once per pollable task, before its join
 *    returns, and no poll runs after it or concurrently with another;
 *  - every join gets the task's own output, or -ECANCELED only for a task
 *    that was aborted or whose runtime was being destroyed, and never for
 *    one that returned KTASK_READY;
 *  - an output nobody read is dropped exactly once, one that was read is not;
 *  - a runtime left to finish reaches ktask_rt_num_alive() == 0 (nothing
 *    stranded, also while CPUs go offline and online);
 *  - at the end every record and every task cell is gone.
 *
 * The result is printed as "ktask_torture: SUCCESS" or "ktask_torture:
 * FAILURE" with the statistics, and shown in
 * /sys/kernel/debug/ktask_torture/status ("running" until then).
 * Spawns may fail with -ENOMEM (fault injection); that is counted, not an
 * error.  Removing the module before the end stops the run early.
 */
#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/llist.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/wait_bit.h>

static unsigned int duration = 15;
module_param(duration, uint, 0444);
MODULE_PARM_DESC(duration, "seconds to run (default 15)");

static unsigned int threads_per_cpu = 2;
module_param(threads_per_cpu, uint, 0444);
MODULE_PARM_DESC(threads_per_cpu, "torture kthreads per online CPU (default 2)");

static unsigned int gen_ms = 500;
module_param(gen_ms, uint, 0444);
MODULE_PARM_DESC(gen_ms, "longest life of a runtime, in ms (default 500)");

static unsigned int settle_s = 60;
module_param(settle_s, uint, 0444);
MODULE_PARM_DESC(settle_s, "seconds a finishing runtime may take to reach zero tasks (default 60)");

#define TT_WSLOTS	64	/* parked wakers */
#define TT_ASLOTS	32	/* abort requests */
#define TT_MSLOTS	64	/* join handles waiting for a joiner */
#define TT_MAX_STEPS	4	/* most PENDING returns of a pollable task */
#define TT_HARD_DEFER	8	/* releases a hardirq callback leaves behind */

/* Where an action was taken from. */
enum tt_ctx { TT_PROC, TT_SOFTIRQ, TT_HARDIRQ, TT_TASK, TT_NR_CTX };

static const char * const tt_ctx_name[TT_NR_CTX] = {
	"proc", "softirq", "hardirq", "task",
};

enum tt_kind { TT_FN, TT_BLOCK, TT_POLL, TT_JOINER };

/* Function tasks, run on a worker or on the blocking pool, have no drop. */
static bool tt_is_fn(enum tt_kind kind)
{
	return kind == TT_FN || kind == TT_BLOCK;
}

/**
 * struct tt_gen - one runtime and the records of its tasks
 * @rt: the runtime
 * @sentinel_waker: the sentinel task's waker, which nothing wakes
 * @users: spawners using @rt now, plus one while it is current
 * @refs: records of @gen, plus one until it has been reaped
 * @closing: set before ktask_rt_destroy(@rt): -ESHUTDOWN and -ECANCELED are
 *	then expected
 * @recs: every record of a task spawned on @rt
 * @next: when destroyed while current, the generation to make current
 *	once its destroy has closed it
 * @nr: generation number
 * @rcu: frees the generation
 */
struct tt_gen {
	struct ktask_rt *rt;
	struct ktask_waker *sentinel_waker;
	atomic_t users;
	atomic_t refs;
	int closing;
	struct llist_head recs;
	struct tt_gen *next;
	unsigned long nr;
	struct rcu_head rcu;
};

/**
 * struct tt_rec - the record of one task
 * @node: on its generation's @recs
 * @refs: the generation's, the join handle holder's, an abort slot's
 * @gen: the generation (a reference)
 * @kind: enum tt_kind
 * @steps: KTASK_PENDING returns before KTASK_READY (pollable tasks)
 * @expect: the output the task returns
 * @h: the join handle, owned by whoever holds the holder's reference
 * @ah: an abort handle waiting in an abort slot
 * @target: a joiner's target record (the holder's reference to it)
 * @spawn_child: a joiner spawns its target on its first poll
 * @polls: polls so far
 * @in_poll: polls running now
 * @drops: ops->drop calls
 * @drop_outputs: ops->drop_output calls
 * @fn_runs: runs of a function task
 * @joined_ok: joins that returned the output
 * @readied: the task returned KTASK_READY
 * @aborted: an abort was requested
 */
struct tt_rec {
	struct llist_node node;
	atomic_t refs;
	struct tt_gen *gen;
	u8 kind;
	u8 steps;
	bool spawn_child;
	long expect;
	struct ktask_handle *h;
	struct ktask_abort_handle *ah;
	struct tt_rec *target;
	atomic_t polls;
	atomic_t in_poll;
	atomic_t drops;
	atomic_t drop_outputs;
	atomic_t fn_runs;
	atomic_t joined_ok;
	int readied;
	int aborted;
};

/**
 * struct tt_thread - a torture kthread and its interrupt sources
 * @task: the kthread
 * @hrtimer: hardirq waker, aborter and spawner
 * @timer: softirq waker, aborter and spawner
 * @hard_wakers: on PREEMPT_RT, wakers @hrtimer woke by reference, for
 *	@timer to drop
 * @hard_aborts: on PREEMPT_RT, records whose abort handle @hrtimer fired,
 *	for @timer to release
 * @id: index
 */
struct tt_thread {
	struct task_struct *task;
	struct hrtimer hrtimer;
	struct timer_list timer;
	struct ktask_waker *hard_wakers[TT_HARD_DEFER];
	struct tt_rec *hard_aborts[TT_HARD_DEFER];
	int id;
};

static struct tt_gen __rcu *tt_cur_gen;
static struct ktask_waker *tt_wslot[TT_WSLOTS];
static struct tt_rec *tt_aslot[TT_ASLOTS];
static struct tt_rec *tt_mslot[TT_MSLOTS];

static struct tt_thread *tt_threads;
static int tt_nr_threads;
static struct task_struct *tt_controller;
static int tt_stop;		/* the threads and timers stop */
static int tt_irq_stop;		/* the timers stop */
static struct dentry *tt_dir;
static const char *tt_status = "running";
static long tt_cells_before;

static atomic_t tt_errors = ATOMIC_INIT(0);
static atomic_long_t tt_recs_live = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_gens = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_gens_drained = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_spawned[TT_NR_CTX];
static atomic_long_t tt_wakes[TT_NR_CTX];
static atomic_long_t tt_aborts[TT_NR_CTX];
static atomic_long_t tt_enomem = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_eshutdown = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_joined = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_join_timeouts = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_poll_joined = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_cancelled = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_detached = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_polls = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_block_runs = ATOMIC_LONG_INIT(0);
static atomic_long_t tt_drops = ATOMIC_LONG_INIT(0);

#define tt_err(fmt, ...) do {						\
	if (atomic_inc_return(&tt_errors) <= 20)			\
		pr_err("ktask_torture: error: " fmt "\n", ##__VA_ARGS__);\
} while (0)

/*
 * get_random_u32_below() takes a per-CPU local_lock, which is a sleeping
 * lock on PREEMPT_RT: a hardirq callback that interrupted its holder would
 * deadlock on it.  The hrtimer callbacks, which never nest on a CPU, draw
 * from their CPU's own generator instead.
 */
static DEFINE_PER_CPU(struct rnd_state, tt_hardirq_rnd);

static u32 tt_rand(u32 ceil)
{
	if (in_hardirq())
		return ((u64)prandom_u32_state(this_cpu_ptr(&tt_hardirq_rnd)) *
			ceil) >> 32;
	return get_random_u32_below(ceil);
}

/* ---------------------------------------------------------------------- */
/* Generations and records                                                 */

static struct tt_gen *tt_gen_use(void)
{
	struct tt_gen *g;

	rcu_read_lock();
	g = rcu_dereference(tt_cur_gen);
	if (g && !atomic_inc_not_zero(&g->users))
		g = NULL;
	rcu_read_unlock();
	return g;
}

/* Use @g, which the caller knows to exist; fails once it is unused. */
static bool tt_gen_use_this(struct tt_gen *g)
{
	return atomic_inc_not_zero(&g->users);
}

static void tt_gen_unuse(struct tt_gen *g)
{
	if (atomic_dec_and_test(&g->users))
		wake_up_var(&g->users);
}

static void tt_gen_put(struct tt_gen *g)
{
	if (atomic_dec_and_test(&g->refs))
		kfree_rcu(g, rcu);
}

/* The last reference to @r: everything that can happen to it has. */
static void tt_rec_release(struct tt_rec *r)
{
	bool done = tt_is_fn(r->kind) ? atomic_read(&r->fn_runs) :
		    READ_ONCE(r->readied);
	int outs = atomic_read(&r->joined_ok) + atomic_read(&r->drop_outputs);

	if (!tt_is_fn(r->kind) && atomic_read(&r->drops) != 1)
		tt_err("task of kind %u dropped %d times", r->kind,
		       atomic_read(&r->drops));
	if (atomic_read(&r->fn_runs) > 1)
		tt_err("function ran %d times", atomic_read(&r->fn_runs));
	if (tt_is_fn(r->kind) ? outs > 1 : outs != done)
		tt_err("kind %u: output read %d and dropped %d times, completed %d",
		       r->kind, atomic_read(&r->joined_ok),
		       atomic_read(&r->drop_outputs), done);
	if (atomic_read(&r->in_poll))
		tt_err("record released while polled");
	tt_gen_put(r->gen);
	kfree(r);
	atomic_long_dec(&tt_recs_live);
}

static void tt_rec_get(struct tt_rec *r)
{
	atomic_inc(&r->refs);
}

static void tt_rec_put(struct tt_rec *r)
{
	if (atomic_dec_and_test(&r->refs))
		tt_rec_release(r);
}

/* Check a join's result for @r's task; called once per join handle. */
static void tt_check_join(struct tt_rec *r, int ret, long out)
{
	switch (ret) {
	case 0:
		if (out != r->expect)
			tt_err("join returned output %lx, expected %lx", out,
			       r->expect);
		if (tt_is_fn(r->kind)) {
			if (atomic_read(&r->fn_runs) != 1)
				tt_err("joined a function that ran %d times",
				       atomic_read(&r->fn_runs));
		} else {
			if (!READ_ONCE(r->readied))
				tt_err("joined an output never returned");
			if (atomic_read(&r->drops) != 1)
				tt_err("joined a task dropped %d times",
				       atomic_read(&r->drops));
		}
		atomic_inc(&r->joined_ok);
		atomic_long_inc(&tt_joined);
		break;
	case -ECANCELED:
		/* The abort flag is set before the abort. */
		smp_rmb();
		if (!READ_ONCE(r->aborted) && !READ_ONCE(r->gen->closing))
			tt_err("join got -ECANCELED for a task never aborted");
		/* A function that ran, blocking or not, completed. */
		if (tt_is_fn(r->kind) && atomic_read(&r->fn_runs))
			tt_err("join got -ECANCELED for a function that ran");
		if (!tt_is_fn(r->kind)) {
			if (READ_ONCE(r->readied))
				tt_err("join got -ECANCELED after KTASK_READY");
			if (atomic_read(&r->drops) != 1)
				tt_err("cancelled task dropped %d times at join",
				       atomic_read(&r->drops));
		}
		atomic_long_inc(&tt_cancelled);
		break;
	default:
		tt_err("join returned %d", ret);
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* The tasks                                                               */

static long tt_fn(void *arg)
{
	struct tt_rec *r = arg;

	atomic_inc(&r->fn_runs);
	atomic_long_inc(&tt_polls);
	return r->expect;
}

static long tt_block_fn(void *arg)
{
	struct tt_rec *r = arg;

	atomic_inc(&r->fn_runs);
	atomic_long_inc(&tt_block_runs);
	if (!tt_rand(4))
		usleep_range(100, 2000);
	return r->expect;
}

/* Any task kind but a joiner. */
static enum tt_kind tt_rand_leaf_kind(void)
{
	static const enum tt_kind kinds[] = { TT_FN, TT_BLOCK, TT_POLL, TT_POLL };

	return kinds[tt_rand(ARRAY_SIZE(kinds))];
}

static void tt_wake(struct ktask_waker *w, enum tt_ctx ctx)
{
	struct ktask_waker *c;

	switch (tt_rand(3)) {
	case 0:
		ktask_wake(w);
		break;
	case 1:
		ktask_wake_by_ref(w);
		ktask_waker_drop(w);
		break;
	default:
		c = ktask_waker_clone(w);
		ktask_waker_drop(w);
		ktask_wake(c);
		break;
	}
	atomic_long_inc(&tt_wakes[ctx]);
}

/* Park a waker where some context will wake it soon. */
static void tt_park(struct ktask_waker *w)
{
	struct ktask_waker *old = xchg(&tt_wslot[tt_rand(TT_WSLOTS)], w);

	if (old)
		tt_wake(old, TT_TASK);
}

/* Wake up to @n parked wakers. */
static void tt_wake_some(int n, enum tt_ctx ctx)
{
	struct ktask_waker *w;

	while (n--) {
		w = xchg(&tt_wslot[tt_rand(TT_WSLOTS)], NULL);
		if (w)
			tt_wake(w, ctx);
	}
}

static void tt_wake_all(enum tt_ctx ctx)
{
	struct ktask_waker *w;
	int i;

	for (i = 0; i < TT_WSLOTS; i++) {
		w = xchg(&tt_wslot[i], NULL);
		if (w)
			tt_wake(w, ctx);
	}
}

/* Abort @r's task through the abort handle its slot held; keep both. */
static void tt_abort_slot_abort(struct tt_rec *r, enum tt_ctx ctx)
{
	WRITE_ONCE(r->aborted, 1);
	/* The flag before the cancellation it explains: see tt_check_join(). */
	smp_wmb();
	ktask_abort_handle_abort(r->ah);
	atomic_long_inc(&tt_aborts[ctx]);
}

/* Release what @r's abort slot held: the abort handle and a reference. */
static void tt_abort_slot_release(struct tt_rec *r)
{
	ktask_abort_handle_put(r->ah);
	tt_rec_put(r);
}

static void tt_abort_slot_fire(struct tt_rec *r, enum tt_ctx ctx)
{
	tt_abort_slot_abort(r, ctx);
	tt_abort_slot_release(r);
}

static void tt_abort_some(int n, enum tt_ctx ctx)
{
	struct tt_rec *r;

	while (n--) {
		r = xchg(&tt_aslot[tt_rand(TT_ASLOTS)], NULL);
		if (r)
			tt_abort_slot_fire(r, ctx);
	}
}

static void tt_abort_all(enum tt_ctx ctx)
{
	struct tt_rec *r;
	int i;

	for (i = 0; i < TT_ASLOTS; i++) {
		r = xchg(&tt_aslot[i], NULL);
		if (r)
			tt_abort_slot_fire(r, ctx);
	}
}

/* Hand an abort handle of @r's task to a slot; some context fires it. */
static void tt_abort_later(struct tt_rec *r, enum tt_ctx ctx)
{
	struct ktask_abort_handle *ah;
	struct tt_rec *old;

	if (r->ah)	/* one per task */
		return;
	ah = ktask_abort_handle(r->h);
	if (IS_ERR(ah)) {
		tt_err("abort handle: %ld", PTR_ERR(ah));
		return;
	}
	r->ah = ah;
	tt_rec_get(r);
	old = xchg(&tt_aslot[tt_rand(TT_ASLOTS)], r);
	if (old)
		tt_abort_slot_fire(old, ctx);
}

/* Abort @r's task through its join handle. */
static void tt_abort_now(struct tt_rec *r, enum tt_ctx ctx)
{
	WRITE_ONCE(r->aborted, 1);
	/* The flag before the cancellation it explains: see tt_check_join(). */
	smp_wmb();
	ktask_abort(r->h);
	atomic_long_inc(&tt_aborts[ctx]);
}

static void tt_detach(struct tt_rec *r)
{
	ktask_detach(r->h);
	r->h = NULL;
	atomic_long_inc(&tt_detached);
	tt_rec_put(r);
}

static void tt_join_now(struct tt_rec *r);

/* Leave @r's join handle for a thread to join. */
static void tt_mail(struct tt_rec *r, enum tt_ctx ctx)
{
	struct tt_rec *old = xchg(&tt_mslot[tt_rand(TT_MSLOTS)], r);

	if (!old)
		return;
	if (ctx == TT_PROC)
		tt_join_now(old);
	else
		tt_detach(old);
}

static enum ktask_poll tt_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct tt_rec *r = arg;
	int n;

	if (atomic_inc_return(&r->in_poll) != 1)
		tt_err("task polled concurrently");
	if (atomic_read(&r->drops))
		tt_err("task polled after its drop");
	n = atomic_inc_return(&r->polls);
	atomic_long_inc(&tt_polls);
	if (n > r->steps) {
		WRITE_ONCE(r->readied, 1);
		*out = r->expect;
		atomic_dec(&r->in_poll);
		return KTASK_READY;
	}
	switch (tt_rand(4)) {
	case 0:		/* yield: wake ourselves while running */
		ktask_wake_by_ref(ktask_cx_waker(cx));
		break;
	case 1:		/* woken at once, from the worker */
		tt_wake(ktask_waker_clone(ktask_cx_waker(cx)), TT_TASK);
		break;
	default:	/* woken later from an interrupt or a thread */
		tt_park(ktask_waker_clone(ktask_cx_waker(cx)));
		break;
	}
	atomic_dec(&r->in_poll);
	return KTASK_PENDING;
}

static struct tt_rec *tt_spawn(struct tt_gen *g, enum tt_kind kind, gfp_t gfp,
			       enum tt_ctx ctx, struct tt_rec *target);

/* A task that joins another with ktask_join_poll(). */
static enum ktask_poll tt_joiner_poll(struct ktask_cx *cx, void *arg,
				      long *out)
{
	struct tt_rec *r = arg;
	struct tt_rec *t;
	enum ktask_poll res;
	long tout = 0;
	int err = 0;

	if (atomic_inc_return(&r->in_poll) != 1)
		tt_err("joiner polled concurrently");
	if (atomic_read(&r->drops))
		tt_err("joiner polled after its drop");
	atomic_inc(&r->polls);
	atomic_long_inc(&tt_polls);

	if (r->spawn_child) {
		/* Spawn the target from task context, on our own runtime. */
		r->spawn_child = false;
		if (tt_gen_use_this(r->gen)) {
			t = tt_spawn(r->gen, tt_rand_leaf_kind(), GFP_NOWAIT,
				     TT_TASK, NULL);
			tt_gen_unuse(r->gen);
			if (t && !tt_rand(4))
				tt_abort_later(t, TT_TASK);
			r->target = t;
		}
	}
	t = r->target;
	if (t) {
		res = ktask_join_poll(t->h, cx, &tout, &err);
		if (res == KTASK_PENDING) {
			atomic_dec(&r->in_poll);
			return KTASK_PENDING;
		}
		tt_check_join(t, err, tout);
		atomic_long_inc(&tt_poll_joined);
		t->h = NULL;
		r->target = NULL;
		tt_rec_put(t);
	}
	WRITE_ONCE(r->readied, 1);
	*out = r->expect;
	atomic_dec(&r->in_poll);
	return KTASK_READY;
}

static void tt_drop(void *arg)
{
	struct tt_rec *r = arg;

	if (atomic_inc_return(&r->drops) != 1)
		tt_err("drop ran twice");
	if (atomic_read(&r->in_poll))
		tt_err("drop ran during a poll");
	atomic_long_inc(&tt_drops);
	/* A joiner cancelled before it joined lets its target go. */
	if (r->target) {
		tt_detach(r->target);
		r->target = NULL;
	}
}

static void tt_drop_output(long out)
{
	atomic_inc(&((struct tt_rec *)out)->drop_outputs);
}

static const struct ktask_ops tt_poll_ops = {
	.poll = tt_poll,
	.drop = tt_drop,
	.drop_output = tt_drop_output,
};

static const struct ktask_ops tt_joiner_ops = {
	.poll = tt_joiner_poll,
	.drop = tt_drop,
	.drop_output = tt_drop_output,
};

/*
 * Spawn a task of @kind on @g, which the caller uses.  A joiner joins
 * @target, whose holder's reference it takes over on success, or spawns
 * its own target if @target is NULL.  Return: the new record, with the
 * holder's reference and the join handle in ->h, or NULL.
 */
static struct tt_rec *tt_spawn(struct tt_gen *g, enum tt_kind kind, gfp_t gfp,
			       enum tt_ctx ctx, struct tt_rec *target)
{
	struct ktask_handle *h;
	struct tt_rec *r;

	r = kzalloc(sizeof(*r), gfp);
	if (!r)
		return NULL;
	atomic_set(&r->refs, 2);	/* the generation's and the holder's */
	r->gen = g;
	r->kind = kind;
	r->steps = tt_rand(TT_MAX_STEPS + 1);
	r->expect = tt_is_fn(kind) ? (long)r ^ 0x5a5a5a5aL : (long)r;
	r->target = target;
	r->spawn_child = kind == TT_JOINER && !target;
	atomic_inc(&g->refs);
	atomic_long_inc(&tt_recs_live);

	switch (kind) {
	case TT_FN:
		h = ktask_spawn(g->rt, tt_fn, r, gfp);
		break;
	case TT_BLOCK:
		h = ktask_spawn_blocking(g->rt, tt_block_fn, r, gfp);
		break;
	case TT_POLL:
		h = ktask_spawn_poll(g->rt, &tt_poll_ops, r, gfp);
		break;
	default:
		h = ktask_spawn_poll(g->rt, &tt_joiner_ops, r, gfp);
		break;
	}
	if (IS_ERR(h)) {
		if (PTR_ERR(h) == -ENOMEM)
			atomic_long_inc(&tt_enomem);
		else if (PTR_ERR(h) == -ESHUTDOWN && READ_ONCE(g->closing))
			atomic_long_inc(&tt_eshutdown);
		else
			tt_err("spawn returned %ld", PTR_ERR(h));
		tt_gen_put(g);
		kfree(r);
		atomic_long_dec(&tt_recs_live);
		return NULL;
	}
	r->h = h;
	llist_add(&r->node, &g->recs);
	atomic_long_inc(&tt_spawned[ctx]);
	return r;
}

/* ---------------------------------------------------------------------- */
/* What holders do with a join handle                                      */

static void tt_join_now(struct tt_rec *r)
{
	long out = 0;
	int ret;

	ret = ktask_join(r->h, &out);
	tt_check_join(r, ret, out);
	r->h = NULL;
	tt_rec_put(r);
}

static void tt_join_timed(struct tt_rec *r)
{
	long out = 0;
	int ret, tries = 0;

	while ((ret = ktask_join_timeout(r->h, &out, tt_rand(3))) ==
	       -ETIMEDOUT) {
		atomic_long_inc(&tt_join_timeouts);
		if (++tries == 3 && tt_rand(2))
			tt_abort_now(r, TT_PROC);
	}
	tt_check_join(r, ret, out);
	r->h = NULL;
	tt_rec_put(r);
}

static void tt_abort_and_join(struct tt_rec *r)
{
	tt_abort_now(r, TT_PROC);
	tt_join_now(r);
}

/* Watch ktask_is_finished() for a while, then join. */
static void tt_join_when_finished(struct tt_rec *r)
{
	int i;

	for (i = 0; i < 50 && !ktask_is_finished(r->h); i++)
		usleep_range(20, 100);
	tt_join_now(r);
}

/* Have a new task of the current runtime join @r; false if none. */
static struct tt_rec *tt_hand_to_joiner(struct tt_rec *r)
{
	struct tt_gen *g = tt_gen_use();
	struct tt_rec *j;

	if (!g)
		return NULL;
	j = tt_spawn(g, TT_JOINER, GFP_KERNEL, TT_PROC, r);
	tt_gen_unuse(g);
	return j;
}

/*
 * A process-context holder decides what happens to @r's join handle.
 * Never called while using a generation: a join may wait for a task that
 * only that generation's destroy would cancel.
 */
static void tt_fate(struct tt_rec *r, int depth)
{
	struct tt_rec *j;

	if (!tt_rand(8))
		tt_abort_later(r, TT_PROC);
	switch (tt_rand(depth < 4 ? 9 : 7)) {
	case 0:
		tt_join_now(r);
		break;
	case 1:
		tt_join_timed(r);
		break;
	case 2:
		tt_abort_and_join(r);
		break;
	case 3:
		tt_join_when_finished(r);
		break;
	case 4:
		tt_detach(r);
		break;
	case 5:
	case 6:
		tt_mail(r, TT_PROC);
		break;
	default:
		/* Another task joins it, with ktask_join_poll(). */
		j = tt_hand_to_joiner(r);
		if (j)
			tt_fate(j, depth + 1);
		else
			tt_join_now(r);
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* Threads and interrupts                                                  */

static void tt_irq_spawn(enum tt_ctx ctx)
{
	struct tt_gen *g = tt_gen_use();
	struct tt_rec *r;

	if (!g)
		return;
	r = tt_spawn(g, tt_rand_leaf_kind(), GFP_ATOMIC, ctx, NULL);
	tt_gen_unuse(g);
	if (!r)
		return;
	switch (tt_rand(4)) {
	case 0:
		tt_abort_now(r, ctx);
		tt_detach(r);
		break;
	case 1:
		tt_detach(r);
		break;
	default:
		tt_mail(r, ctx);
		break;
	}
}

/*
 * On PREEMPT_RT the hrtimer's callback runs in hardirq context, where
 * spinlock_t and the slab are off limits: it wakes by reference and fires
 * abort handles, which only push onto a run queue and wake a thread, and
 * leaves the releases, which may free a task cell (kmem_cache_free()), to
 * the thread's timer_list, which runs in a thread there.  A free deferral
 * slot is written only by this callback, and emptied only by the timer or,
 * once both are stopped, tt_finish().
 */
static int tt_hard_free_slot(void *const *slots)
{
	int i;

	for (i = 0; i < TT_HARD_DEFER; i++)
		if (!READ_ONCE(slots[i]))
			return i;
	return -1;
}

static void tt_hard_wake_some(struct tt_thread *t, int n)
{
	struct ktask_waker *w;
	int i;

	while (n--) {
		i = tt_hard_free_slot((void *const *)t->hard_wakers);
		if (i < 0)
			return;
		w = xchg(&tt_wslot[tt_rand(TT_WSLOTS)], NULL);
		if (!w)
			continue;
		ktask_wake_by_ref(w);
		atomic_long_inc(&tt_wakes[TT_HARDIRQ]);
		/* The wake before the drop: pairs with tt_hard_release()'s xchg(). */
		smp_store_release(&t->hard_wakers[i], w);
	}
}

static void tt_hard_abort_one(struct tt_thread *t)
{
	struct tt_rec *r;
	int i;

	i = tt_hard_free_slot((void *const *)t->hard_aborts);
	if (i < 0)
		return;
	r = xchg(&tt_aslot[tt_rand(TT_ASLOTS)], NULL);
	if (!r)
		return;
	tt_abort_slot_abort(r, TT_HARDIRQ);
	/* The abort before the put: pairs with tt_hard_release()'s xchg(). */
	smp_store_release(&t->hard_aborts[i], r);
}

/* Release what @t's hrtimer left behind; not from hardirq. */
static void tt_hard_release(struct tt_thread *t)
{
	struct ktask_waker *w;
	struct tt_rec *r;
	int i;

	for (i = 0; i < TT_HARD_DEFER; i++) {
		w = xchg(&t->hard_wakers[i], NULL);
		if (w)
			ktask_waker_drop(w);
		r = xchg(&t->hard_aborts[i], NULL);
		if (r)
			tt_abort_slot_release(r);
	}
}

static enum hrtimer_restart tt_hrtimer_fn(struct hrtimer *timer)
{
	struct tt_thread *t = container_of(timer, struct tt_thread, hrtimer);

	if (READ_ONCE(tt_irq_stop))
		return HRTIMER_NORESTART;
	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		/*
		 * No spawn: ktask refuses one from hardirq on PREEMPT_RT,
		 * where it would allocate from the slab and take a
		 * spinlock_t (test_torture.sh reports the skip).
		 */
		tt_hard_wake_some(t, 2);
		tt_hard_abort_one(t);
	} else {
		tt_wake_some(2, TT_HARDIRQ);
		tt_abort_some(1, TT_HARDIRQ);
		if (!tt_rand(4))
			tt_irq_spawn(TT_HARDIRQ);
	}
	hrtimer_forward_now(timer, ns_to_ktime((200 + tt_rand(800)) *
					       NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void tt_timer_fn(struct timer_list *timer)
{
	struct tt_thread *t = container_of(timer, struct tt_thread, timer);

	tt_hard_release(t);
	if (READ_ONCE(tt_irq_stop))
		return;
	tt_wake_some(4, TT_SOFTIRQ);
	tt_abort_some(1, TT_SOFTIRQ);
	if (!tt_rand(2))
		tt_irq_spawn(TT_SOFTIRQ);
	mod_timer(timer, jiffies + 1);
}

/* Take a mailed join handle and deal with it. */
static void tt_take_mail(void)
{
	struct tt_rec *r = xchg(&tt_mslot[tt_rand(TT_MSLOTS)], NULL);

	if (!r)
		return;
	switch (tt_rand(4)) {
	case 0:
		tt_abort_and_join(r);
		break;
	case 1:
		tt_join_timed(r);
		break;
	case 2:
		/* A task joins it, and we join that task. */
		r = tt_hand_to_joiner(r) ?: r;
		tt_join_now(r);
		break;
	default:
		tt_join_now(r);
		break;
	}
}

static int tt_thread_fn(void *arg)
{
	struct tt_thread *t = arg;

	hrtimer_start(&t->hrtimer, ns_to_ktime(500 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED_HARD);
	mod_timer(&t->timer, jiffies + 1);

	while (!kthread_should_stop()) {
		struct tt_gen *g;
		struct tt_rec *r;
		u32 op = tt_rand(16);

		if (READ_ONCE(tt_stop)) {
			schedule_timeout_interruptible(HZ / 10);
			continue;
		}
		if (op < 8) {
			g = tt_gen_use();
			if (!g)
				continue;
			r = tt_spawn(g, op < 7 ? tt_rand_leaf_kind() :
				     TT_JOINER, GFP_KERNEL, TT_PROC, NULL);
			tt_gen_unuse(g);
			if (r)
				tt_fate(r, 0);
		} else if (op < 11) {
			tt_take_mail();
		} else if (op < 13) {
			tt_wake_some(4, TT_PROC);
		} else if (op < 14) {
			tt_abort_some(2, TT_PROC);
		} else {
			usleep_range(10, 200);
		}
		cond_resched();
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Runtimes come and go                                                    */

/*
 * Every runtime has a sentinel task that is never woken: runtime destroy
 * cancels it after closing the runtime, and its drop waits until no
 * spawner uses the runtime any more.  So spawns race with destroy, and
 * still none can touch the runtime once destroy has freed it.  A runtime
 * destroyed while it is current stays current until then: every spawn
 * meanwhile races the destroy.
 */
/*
 * The sentinel parks until its runtime's destroy cancels it.  It keeps its
 * waker, which nothing wakes, so that ktask's lost-waker report does not
 * name it: only destroy ends it, by design.
 */
static enum ktask_poll tt_sentinel_poll(struct ktask_cx *cx, void *arg,
					long *out)
{
	struct tt_gen *g = arg;

	ktask_waker_drop(xchg(&g->sentinel_waker,
			      ktask_waker_clone(ktask_cx_waker(cx))));
	return KTASK_PENDING;
}

static void tt_sentinel_drop(void *arg)
{
	struct tt_gen *g = arg;

	ktask_waker_drop(xchg(&g->sentinel_waker, NULL));
	if (!READ_ONCE(g->closing))
		tt_err("sentinel of runtime %lu dropped before destroy", g->nr);
	if (g->next) {
		/* Let spawners run into the closed runtime for a while. */
		usleep_range(2000, 5000);
		rcu_assign_pointer(tt_cur_gen, g->next);
		tt_gen_unuse(g);	/* no longer current */
	}
	wait_var_event(&g->users, !atomic_read(&g->users));
}

static const struct ktask_ops tt_sentinel_ops = {
	.poll = tt_sentinel_poll,
	.drop = tt_sentinel_drop,
};

static struct tt_gen *tt_gen_create(void)
{
	static const unsigned int budgets[] = { 0, 1, 4, 128 };
	static const unsigned int polls[] = { 0, 1, 8 };
	struct ktask_rt_opts opts = {
		.budget = budgets[tt_rand(ARRAY_SIZE(budgets))],
		.max_polls_per_drain = polls[tt_rand(ARRAY_SIZE(polls))],
		.flags = tt_rand(4) ? 0 : KTASK_RT_UNBOUND,
	};
	struct ktask_handle *h;
	struct tt_gen *g;
	int tries;

	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return NULL;
	g->rt = ktask_rt_create("torture", &opts);
	if (IS_ERR(g->rt)) {
		if (PTR_ERR(g->rt) != -ENOMEM)
			tt_err("runtime create: %ld", PTR_ERR(g->rt));
		kfree(g);
		return NULL;
	}
	atomic_set(&g->users, 1);	/* current */
	atomic_set(&g->refs, 1);	/* until reaped */
	init_llist_head(&g->recs);
	g->nr = atomic_long_inc_return(&tt_gens);

	/* Under fault injection the sentinel may take a few tries. */
	for (tries = 0; tries < 1000; tries++) {
		h = ktask_spawn_poll(g->rt, &tt_sentinel_ops, g, GFP_KERNEL);
		if (!IS_ERR(h))
			break;
		if (PTR_ERR(h) != -ENOMEM) {
			tt_err("sentinel spawn: %ld", PTR_ERR(h));
			break;
		}
	}
	if (IS_ERR(h)) {
		ktask_rt_destroy(g->rt);
		kfree(g);
		return NULL;
	}
	ktask_detach(h);
	return g;
}

/* Wake what is parked and fire aborts until @g has at most @left tasks. */
static bool tt_gen_settle(struct tt_gen *g, long left)
{
	unsigned long end = jiffies + settle_s * HZ;

	while (ktask_rt_num_alive(g->rt) > left) {
		if (time_after(jiffies, end))
			return false;
		tt_wake_all(TT_PROC);
		tt_abort_all(TT_PROC);
		usleep_range(1000, 2000);
	}
	return true;
}

/*
 * Destroy @g and check its records.  With @drain, let its tasks finish
 * first: each must, as nothing stops waking them.  If @g is current, its
 * sentinel's drop replaces it with @g->next.
 */
static void tt_gen_destroy(struct tt_gen *g, bool drain)
{
	struct tt_rec *r, *next;
	struct llist_node *nodes;

	if (drain) {
		if (!tt_gen_settle(g, 1))
			tt_err("runtime %lu: %ld tasks stranded after %us", g->nr,
			       ktask_rt_num_alive(g->rt) - 1, settle_s);
		atomic_long_inc(&tt_gens_drained);
	}
	WRITE_ONCE(g->closing, 1);
	smp_mb();	/* before destroy closes the runtime */
	ktask_rt_destroy(g->rt);
	if (atomic_read(&g->users))
		tt_err("runtime %lu used after its destroy", g->nr);

	nodes = llist_del_all(&g->recs);
	llist_for_each_entry_safe(r, next, nodes, node) {
		if (!tt_is_fn(r->kind) && atomic_read(&r->drops) != 1)
			tt_err("runtime %lu destroyed: a task dropped %d times",
			       g->nr, atomic_read(&r->drops));
		tt_rec_put(r);
	}
	tt_gen_put(g);
}

/* Make @g no longer current, then destroy it. */
static void tt_gen_retire(struct tt_gen *g, bool drain)
{
	tt_gen_unuse(g);
	tt_gen_destroy(g, drain);
}

/* Join a mailed handle with nothing but us to wake tasks. */
static void tt_final_join(struct tt_rec *r)
{
	unsigned long end = jiffies + settle_s * HZ;
	long out = 0;
	int ret;

	while ((ret = ktask_join_timeout(r->h, &out, 1)) == -ETIMEDOUT) {
		if (time_after(jiffies, end)) {
			tt_err("join did not finish in %us", settle_s);
			tt_detach(r);
			return;
		}
		tt_wake_all(TT_PROC);
		tt_abort_all(TT_PROC);
	}
	tt_check_join(r, ret, out);
	r->h = NULL;
	tt_rec_put(r);
}

static long tt_sum(atomic_long_t *a)
{
	long sum = 0;
	int i;

	for (i = 0; i < TT_NR_CTX; i++)
		sum += atomic_long_read(&a[i]);
	return sum;
}

static void tt_print_array(const char *what, atomic_long_t *a)
{
	pr_info("ktask_torture: %s: %s %ld, %s %ld, %s %ld, %s %ld\n", what,
		tt_ctx_name[TT_PROC], atomic_long_read(&a[TT_PROC]),
		tt_ctx_name[TT_SOFTIRQ], atomic_long_read(&a[TT_SOFTIRQ]),
		tt_ctx_name[TT_HARDIRQ], atomic_long_read(&a[TT_HARDIRQ]),
		tt_ctx_name[TT_TASK], atomic_long_read(&a[TT_TASK]));
}

/* Whether the run did each thing at least once. */
static bool tt_exercised(void)
{
	return atomic_long_read(&tt_gens) >= 2 &&
	       tt_sum(tt_spawned) >= 100 &&
	       atomic_long_read(&tt_joined) &&
	       atomic_long_read(&tt_cancelled) &&
	       atomic_long_read(&tt_poll_joined) &&
	       atomic_long_read(&tt_block_runs) &&
	       atomic_long_read(&tt_eshutdown) &&
	       atomic_long_read(&tt_wakes[TT_HARDIRQ]) &&
	       atomic_long_read(&tt_wakes[TT_SOFTIRQ]) &&
	       atomic_long_read(&tt_aborts[TT_HARDIRQ]) &&
	       atomic_long_read(&tt_aborts[TT_SOFTIRQ]);
}

/* End the run; @early: it was cut short by the module's removal. */
static void tt_finish(bool early)
{
	const char *verdict;
	struct tt_gen *g;
	struct tt_rec *r;
	unsigned long end;
	long cells;
	int i;

	/* Stop the threads, then the interrupts that keep tasks moving. */
	WRITE_ONCE(tt_stop, 1);
	for (i = 0; i < tt_nr_threads; i++)
		kthread_stop(tt_threads[i].task);
	WRITE_ONCE(tt_irq_stop, 1);
	for (i = 0; i < tt_nr_threads; i++) {
		hrtimer_cancel(&tt_threads[i].hrtimer);
		timer_shutdown_sync(&tt_threads[i].timer);
		tt_hard_release(&tt_threads[i]);
	}

	for (i = 0; i < TT_MSLOTS; i++) {
		r = xchg(&tt_mslot[i], NULL);
		if (r)
			tt_final_join(r);
	}
	g = rcu_dereference_protected(tt_cur_gen, 1);
	RCU_INIT_POINTER(tt_cur_gen, NULL);
	if (g)
		tt_gen_retire(g, true);
	tt_wake_all(TT_PROC);
	tt_abort_all(TT_PROC);
	rcu_barrier();	/* the generations' kfree_rcu() */

	if (atomic_long_read(&tt_recs_live))
		tt_err("%ld task records never released",
		       atomic_long_read(&tt_recs_live));
	end = jiffies + 10 * HZ;
	while ((cells = ktask_num_cells()) != tt_cells_before &&
	       time_before(jiffies, end))
		msleep(20);
	if (cells != tt_cells_before)
		tt_err("%ld task cells left", cells - tt_cells_before);

	/* A run too short to do each thing at least once proves nothing. */
	if (early)
		pr_info("ktask_torture: stopped early by rmmod\n");
	else if (!tt_exercised())
		tt_err("the run did not exercise everything (see the statistics)");

	verdict = atomic_read(&tt_errors) ? "FAILURE" : "SUCCESS";
	pr_info("ktask_torture: %s: %d errors, %ld runtimes (%ld drained), %d threads, %us\n",
		verdict, atomic_read(&tt_errors), atomic_long_read(&tt_gens),
		atomic_long_read(&tt_gens_drained), tt_nr_threads, duration);
	tt_print_array("spawned", tt_spawned);
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		pr_info("ktask_torture: no spawn from hardirq on PREEMPT_RT: ktask refuses it there\n");
	tt_print_array("wakes", tt_wakes);
	tt_print_array("aborts", tt_aborts);
	pr_info("ktask_torture: joined %ld (by tasks %ld, timeouts %ld), cancelled %ld, detached %ld, polls %ld, blocking runs %ld, drops %ld, spawns refused: -ENOMEM %ld, -ESHUTDOWN %ld\n",
		atomic_long_read(&tt_joined), atomic_long_read(&tt_poll_joined),
		atomic_long_read(&tt_join_timeouts),
		atomic_long_read(&tt_cancelled), atomic_long_read(&tt_detached),
		atomic_long_read(&tt_polls), atomic_long_read(&tt_block_runs),
		atomic_long_read(&tt_drops),
		atomic_long_read(&tt_enomem), atomic_long_read(&tt_eshutdown));
	/* Last: the status file turns from "running" to the verdict. */
	WRITE_ONCE(tt_status, verdict);
}

static int tt_controller_fn(void *unused)
{
	unsigned long end = jiffies + duration * HZ;
	unsigned int switches = 0;
	struct tt_gen *old, *new;
	int i;

	for (i = 0; i < tt_nr_threads; i++)
		wake_up_process(tt_threads[i].task);
	while (time_before(jiffies, end) && !kthread_should_stop()) {
		msleep(1 + tt_rand(gen_ms));
		new = tt_gen_create();
		if (!new)
			continue;
		old = rcu_dereference_protected(tt_cur_gen, 1);
		/* In turn, so that a short or slow run sees all three. */
		switch (switches++ % 3) {
		case 0:
			/* Destroy it while spawners still use it. */
			old->next = new;
			tt_gen_destroy(old, false);
			break;
		case 1:
			/* Its tasks run on while it is destroyed. */
			rcu_assign_pointer(tt_cur_gen, new);
			tt_gen_retire(old, false);
			break;
		default:
			/* Its tasks must all finish first. */
			rcu_assign_pointer(tt_cur_gen, new);
			tt_gen_retire(old, true);
			break;
		}
	}
	tt_finish(kthread_should_stop());
	while (!kthread_should_stop())
		schedule_timeout_interruptible(HZ);
	return 0;
}

static int tt_status_show(struct seq_file *m, void *v)
{
	seq_printf(m, "%s\n", READ_ONCE(tt_status));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tt_status);

static int __init tt_init(void)
{
	struct tt_gen *g;
	int cpu, i, n = 0;
	int ret;

	if (!duration || !threads_per_cpu || !gen_ms || !settle_s)
		return -EINVAL;
	tt_cells_before = ktask_num_cells();
	for_each_possible_cpu(cpu)
		prandom_seed_state(per_cpu_ptr(&tt_hardirq_rnd, cpu),
				   get_random_u64());
	tt_nr_threads = num_online_cpus() * threads_per_cpu;
	tt_threads = kcalloc(tt_nr_threads, sizeof(*tt_threads), GFP_KERNEL);
	if (!tt_threads)
		return -ENOMEM;

	g = tt_gen_create();
	if (!g) {
		ret = -ENOMEM;
		goto err_free;
	}
	rcu_assign_pointer(tt_cur_gen, g);

	for_each_online_cpu(cpu) {
		for (i = 0; i < threads_per_cpu && n < tt_nr_threads; i++) {
			struct tt_thread *t = &tt_threads[n];

			t->id = n;
			hrtimer_init(&t->hrtimer, CLOCK_MONOTONIC,
				     HRTIMER_MODE_REL_PINNED_HARD);
			t->hrtimer.function = tt_hrtimer_fn;
			timer_setup(&t->timer, tt_timer_fn, 0);
			t->task = kthread_create(tt_thread_fn, t,
						 "ktask_torture/%d", n);
			if (IS_ERR(t->task)) {
				ret = PTR_ERR(t->task);
				goto err_threads;
			}
			/* A preference only: CPU hotplug may move it. */
			set_cpus_allowed_ptr(t->task, cpumask_of(cpu));
			n++;
		}
	}
	tt_nr_threads = n;

	tt_dir = debugfs_create_dir("ktask_torture", NULL);
	debugfs_create_file("status", 0444, tt_dir, NULL, &tt_status_fops);
	pr_info("ktask_torture: start: duration=%u threads_per_cpu=%u gen_ms=%u, %d threads\n",
		duration, threads_per_cpu, gen_ms, tt_nr_threads);

	tt_controller = kthread_run(tt_controller_fn, NULL, "ktask_torture");
	if (IS_ERR(tt_controller)) {
		ret = PTR_ERR(tt_controller);
		debugfs_remove_recursive(tt_dir);
		goto err_threads;
	}
	return 0;

err_threads:
	while (n--)
		kthread_stop(tt_threads[n].task);
	RCU_INIT_POINTER(tt_cur_gen, NULL);
	tt_gen_retire(g, false);
	rcu_barrier();
err_free:
	kfree(tt_threads);
	return ret;
}

static void __exit tt_exit(void)
{
	/* Ends the run early if it is still going. */
	kthread_stop(tt_controller);
	debugfs_remove_recursive(tt_dir);
	kfree(tt_threads);
}

module_init(tt_init);
module_exit(tt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask torture test");
