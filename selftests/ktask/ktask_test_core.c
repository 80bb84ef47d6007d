// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_core: the task core through the exported API.
 *
 * One case per API call and per state transition that the API can reach,
 * then the races, each repeated thousands of times across the CPUs: abort
 * against completion, wake against poll, join-handle drop against
 * completion, runtime destroy against spawns from a kthread and an hrtimer,
 * wakes from a timer interrupt, chains of poll-joins, and 100,000 tasks.
 *
 * Most cases use a "probe": a pollable task that records what happened to
 * it (polls, concurrent polls, drops, output drops) and parks its waker
 * where the test can wake it.
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "ktask_test.h"

/* Long enough for TCG on a loaded host; a hang, not a slow run, fails. */
#define KT_WAIT		(30 * HZ)

/**
 * struct probe - a pollable task that records its life
 * @polls: polls so far
 * @in_poll: polls running now; more than one is a double poll
 * @double_polls: times @in_poll exceeded one
 * @drops: calls of ops->drop
 * @drop_outputs: calls of ops->drop_output for this probe's output
 * @ready_at: the poll that returns KTASK_READY (0: never)
 * @self_wake: wake itself by reference on the first poll
 * @waker: the parked waker, taken with xchg()
 * @seen_id: ktask_current_id() inside the last poll
 * @polled: completed at the end of every poll, once the waker is parked
 */
struct probe {
	atomic_t polls;
	atomic_t in_poll;
	atomic_t double_polls;
	atomic_t drops;
	atomic_t drop_outputs;
	int ready_at;
	bool self_wake;
	struct ktask_waker *waker;
	u64 seen_id;
	struct completion polled;
};

static enum ktask_poll probe_poll(struct ktask_cx *cx, void *arg, long *out)
{
	enum ktask_poll res = KTASK_PENDING;
	struct probe *p = arg;
	int n;

	if (atomic_inc_return(&p->in_poll) != 1)
		atomic_inc(&p->double_polls);
	n = atomic_inc_return(&p->polls);
	WRITE_ONCE(p->seen_id, ktask_current_id());
	if (p->ready_at && n >= p->ready_at) {
		*out = (long)p;
		res = KTASK_READY;
	} else if (p->self_wake && n == 1) {
		ktask_wake_by_ref(ktask_cx_waker(cx));
	} else {
		ktask_waker_drop(xchg(&p->waker,
				      ktask_waker_clone(ktask_cx_waker(cx))));
	}
	atomic_dec(&p->in_poll);
	/* Last: a waiter may wake the parked waker as soon as it returns. */
	complete(&p->polled);
	return res;
}

static void probe_drop(void *arg)
{
	struct probe *p = arg;

	ktask_waker_drop(xchg(&p->waker, NULL));
	atomic_inc(&p->drops);
}

static void probe_drop_output(long out)
{
	atomic_inc(&((struct probe *)out)->drop_outputs);
}

static const struct ktask_ops probe_ops = {
	.poll = probe_poll,
	.drop = probe_drop,
	.drop_output = probe_drop_output,
};

static void probe_init(struct probe *p, int ready_at)
{
	memset(p, 0, sizeof(*p));
	p->ready_at = ready_at;
	init_completion(&p->polled);
}

/* Wake the parked waker, if any. */
static bool probe_wake(struct probe *p)
{
	struct ktask_waker *w = xchg(&p->waker, NULL);

	if (w)
		ktask_wake(w);
	return w;
}

static bool probe_wait_polled(struct probe *p)
{
	return wait_for_completion_timeout(&p->polled, KT_WAIT);
}

/*
 * ktask_rt_num_alive() drops only after the completing worker has woken
 * the joiner and released the task: after a join, wait (boundedly) for
 * it to reach zero and return what it is then.
 */
static long wait_none_alive(struct ktask_rt *rt)
{
	unsigned long end = jiffies + KT_WAIT;

	while (ktask_rt_num_alive(rt) && time_before(jiffies, end))
		usleep_range(1000, 2000);
	return ktask_rt_num_alive(rt);
}

static long square(void *arg)
{
	long x = (long)arg;

	return x * x;
}

static long report_id(void *arg)
{
	return (long)ktask_current_id();
}

/* A task that blocks its worker until released, to hold a queue still. */
struct blocker {
	struct completion started;
	struct completion release;
};

static long block_worker(void *arg)
{
	struct blocker *b = arg;

	complete(&b->started);
	wait_for_completion(&b->release);
	return 0;
}

static struct ktask_rt *test_rt(void)
{
	return ktask_rt_create("test", NULL);
}

/* ------------------------------------------------------------------ */
/* Spawn and join                                                      */

KT_RT_CASE(spawn_join_fn)
{
	struct ktask_handle *h = ktask_spawn(rt, square, (void *)7L, GFP_KERNEL);
	long out = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_NE(ktask_id(h), 0);
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(out, 49);
	KT_ASSERT_EQ(wait_none_alive(rt), 0);
	return 0;
}

KT_RT_CASE(spawn_join_poll_ready)
{
	struct probe p;
	struct ktask_handle *h;
	long out = 0;

	probe_init(&p, 1);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(out, (long)&p);
	KT_ASSERT_EQ(atomic_read(&p.polls), 1);
	KT_ASSERT_EQ(atomic_read(&p.drops), 1);
	/* The joiner took the output: it is not dropped. */
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 0);
	return 0;
}

KT_RT_CASE(join_null_out)
{
	struct ktask_handle *h = ktask_spawn(rt, square, (void *)3L, GFP_KERNEL);

	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	return 0;
}

KT_RT_CASE(spawn_atomic_context)
{
	struct ktask_handle *h;
	long out = 0;

	KT_SKIP_ON_PREEMPT_RT("a spawn with IRQs off is refused there, with a WARN (api.rst)");
	local_irq_disable();
	h = ktask_spawn(rt, square, (void *)5L, GFP_ATOMIC);
	local_irq_enable();
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(out, 25);
	return 0;
}

KT_RT_CASE(join_timeout_then_join)
{
	struct probe p;
	struct ktask_handle *h;
	long out = 0;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	KT_ASSERT_EQ(ktask_join_timeout(h, &out, 1), -ETIMEDOUT);
	KT_ASSERT(!ktask_is_finished(h));
	/* The handle is still valid: wake the task and join it for real. */
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT_EQ(ktask_join_timeout(h, &out, KT_WAIT), 0);
	KT_ASSERT_EQ(out, (long)&p);
	KT_ASSERT_EQ(atomic_read(&p.polls), 2);
	return 0;
}

KT_RT_CASE(is_finished)
{
	struct probe p;
	struct ktask_handle *h;
	int i;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	KT_ASSERT(!ktask_is_finished(h));
	KT_ASSERT(probe_wake(&p));
	for (i = 0; i < 3000 && !ktask_is_finished(h); i++)
		usleep_range(5000, 10000);
	KT_ASSERT(ktask_is_finished(h));
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Wakers and the notification transitions                             */

KT_RT_CASE(wake_by_val_repolls)
{
	struct probe p;
	struct ktask_handle *h;

	probe_init(&p, 3);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT(probe_wait_polled(&p));
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	KT_ASSERT_EQ(atomic_read(&p.polls), 3);
	KT_ASSERT_EQ(atomic_read(&p.double_polls), 0);
	return 0;
}

KT_RT_CASE(wake_by_ref_keeps_waker)
{
	struct probe p;
	struct ktask_handle *h;
	struct ktask_waker *w;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	w = xchg(&p.waker, NULL);
	KT_ASSERT(w);
	ktask_wake_by_ref(w);
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	/* Waking a completed task by reference does nothing. */
	ktask_wake_by_ref(w);
	ktask_waker_drop(w);
	KT_ASSERT_EQ(atomic_read(&p.polls), 2);
	return 0;
}

KT_RT_CASE(wake_while_running_repolls)
{
	struct probe p;
	struct ktask_handle *h;

	/* notify_by_ref on a running task: to_idle returns OK_NOTIFIED. */
	probe_init(&p, 2);
	p.self_wake = true;
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	KT_ASSERT_EQ(atomic_read(&p.polls), 2);
	return 0;
}

KT_RT_CASE(wake_after_complete_frees)
{
	struct probe p;
	struct ktask_handle *h;
	struct ktask_waker *w;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	w = ktask_waker_clone(READ_ONCE(p.waker));
	KT_ASSERT(w);
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	/* notify_by_val on a complete task drops the last reference. */
	ktask_wake(w);
	return 0;
}

KT_RT_CASE(waker_drop_without_wake)
{
	struct probe p;
	struct ktask_handle *h;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	ktask_waker_drop(xchg(&p.waker, NULL));
	KT_ASSERT_EQ(ktask_join_timeout(h, NULL, HZ / 10), -ETIMEDOUT);
	KT_ASSERT_EQ(atomic_read(&p.polls), 1);
	ktask_abort(h);
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	return 0;
}

KT_RT_CASE(wakes_coalesce)
{
	struct ktask_handle *h, *gh;
	struct ktask_waker *w;
	struct kt_gate g;
	struct probe p;
	int i, polls;

	probe_init(&p, 0);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	w = xchg(&p.waker, NULL);
	KT_ASSERT(w);
	/* Let the first poll return: the wakes are for an idle task. */
	msleep(20);
	/*
	 * Many wakes before the next poll starts make at most that poll.
	 * The wakes queue the task on this CPU's run queue, whose drain is
	 * held in a gate task queued there first, so none of them can
	 * start a poll before the last.
	 */
	init_completion(&g.entered);
	init_completion(&g.release);
	migrate_disable();
	gh = ktask_spawn(rt, kt_gate_fn, &g, GFP_KERNEL);
	if (!IS_ERR(gh) &&
	    wait_for_completion_timeout(&g.entered, KT_WAIT)) {
		local_irq_disable();
		for (i = 0; i < 100; i++)
			ktask_wake_by_ref(w);
		local_irq_enable();
	}
	migrate_enable();
	ktask_waker_drop(w);
	polls = atomic_read(&p.polls);
	complete(&g.release);
	KT_ASSERT_NOT_ERR_OR_NULL(gh);
	KT_ASSERT_EQ(ktask_join(gh, NULL), 0);
	KT_ASSERT_EQ(polls, 1);
	KT_ASSERT(probe_wait_polled(&p));
	/* Let a stray second poll show up if there is one. */
	msleep(20);
	KT_ASSERT_EQ(atomic_read(&p.polls), 2);
	ktask_abort(h);
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Abort and cancellation                                              */

KT_RT_CASE(abort_idle_task)
{
	struct probe p;
	struct ktask_handle *h;

	probe_init(&p, 0);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	ktask_abort(h);
	ktask_abort(h);		/* a second abort changes nothing */
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	KT_ASSERT_EQ(atomic_read(&p.drops), 1);
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 0);
	KT_ASSERT_EQ(atomic_read(&p.polls), 1);
	return 0;
}

/* Queue @p's task behind a blocked task on this CPU's queue. */
static struct ktask_handle *spawn_behind_blocker(struct ktask_rt *rt,
						 struct blocker *b,
						 struct ktask_handle **bh,
						 const struct ktask_ops *ops,
						 void *arg)
{
	struct ktask_handle *h;

	init_completion(&b->started);
	init_completion(&b->release);
	/* Both on this CPU's queue; preemptible, as spawns on PREEMPT_RT. */
	migrate_disable();
	*bh = ktask_spawn(rt, block_worker, b, GFP_ATOMIC);
	h = ktask_spawn_poll(rt, ops, arg, GFP_ATOMIC);
	migrate_enable();
	return h;
}

KT_RT_CASE(abort_before_first_poll)
{
	struct ktask_handle *h, *bh;
	struct blocker b;
	struct probe p;

	probe_init(&p, 1);
	h = spawn_behind_blocker(rt, &b, &bh, &probe_ops, &p);
	KT_ASSERT_NOT_ERR_OR_NULL(bh);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(wait_for_completion_timeout(&b.started, KT_WAIT));
	/* Idle and notified: abort sets CANCELLED, the queued poll cancels. */
	ktask_abort(h);
	complete(&b.release);
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	KT_ASSERT_EQ(ktask_join(bh, NULL), 0);
	KT_ASSERT_EQ(atomic_read(&p.polls), 0);
	KT_ASSERT_EQ(atomic_read(&p.drops), 1);
	return 0;
}

/* A poll that spins until told to stop, to be aborted while it runs. */
struct spinner {
	struct completion running;
	atomic_t stop;
	atomic_t drops;
};

static enum ktask_poll spinner_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct spinner *s = arg;

	complete(&s->running);
	while (!atomic_read(&s->stop))
		cond_resched();	/* voluntary preemption: let the test run */
	return KTASK_PENDING;
}

static void spinner_drop(void *arg)
{
	atomic_inc(&((struct spinner *)arg)->drops);
}

static const struct ktask_ops spinner_ops = {
	.poll = spinner_poll,
	.drop = spinner_drop,
};

KT_RT_CASE(abort_while_running)
{
	struct spinner s = {};
	struct ktask_handle *h;

	init_completion(&s.running);
	h = ktask_spawn_poll(rt, &spinner_ops, &s, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(wait_for_completion_timeout(&s.running, KT_WAIT));
	/* Running: abort sets NOTIFIED|CANCELLED; to_idle cancels. */
	ktask_abort(h);
	atomic_set(&s.stop, 1);
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	KT_ASSERT_EQ(atomic_read(&s.drops), 1);
	return 0;
}

KT_RT_CASE(abort_after_complete)
{
	struct ktask_handle *h = ktask_spawn(rt, square, (void *)4L, GFP_KERNEL);
	long out = 0;
	int i;

	KT_ASSERT_NOT_ERR_OR_NULL(h);
	for (i = 0; i < 3000 && !ktask_is_finished(h); i++)
		usleep_range(5000, 10000);
	KT_ASSERT(ktask_is_finished(h));
	ktask_abort(h);
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(out, 16);
	return 0;
}

KT_RT_CASE(abort_handle_aborts)
{
	struct ktask_abort_handle *ah;
	struct ktask_handle *h;
	struct probe p;

	probe_init(&p, 0);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	ah = ktask_abort_handle(h);
	KT_ASSERT_NOT_ERR_OR_NULL(ah);
	KT_ASSERT(probe_wait_polled(&p));
	local_irq_disable();
	ktask_abort_handle_abort(ah);	/* hardirq-safe */
	local_irq_enable();
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	/* The abort handle outlives the join handle. */
	ktask_abort_handle_abort(ah);
	ktask_abort_handle_put(ah);
	KT_ASSERT_EQ(atomic_read(&p.drops), 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Detach and the output                                               */

KT_RT_CASE(detach_runs_and_drops_output)
{
	struct probe p;
	struct ktask_handle *h;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	ktask_detach(h);
	KT_ASSERT(probe_wake(&p));
	/* The output is dropped before the task stops counting as alive. */
	KT_ASSERT_EQ(wait_none_alive(rt), 0);
	KT_ASSERT_EQ(atomic_read(&p.drops), 1);
	/* Nobody joined: the harness dropped the output, once. */
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 1);
	return 0;
}

KT_RT_CASE(detach_before_first_poll)
{
	struct ktask_handle *h, *bh;
	struct blocker b;
	struct probe p;

	probe_init(&p, 1);
	h = spawn_behind_blocker(rt, &b, &bh, &probe_ops, &p);
	KT_ASSERT_NOT_ERR_OR_NULL(bh);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(wait_for_completion_timeout(&b.started, KT_WAIT));
	ktask_detach(h);	/* the fast path: state still initial */
	complete(&b.release);
	KT_ASSERT(probe_wait_polled(&p));
	KT_ASSERT_EQ(ktask_join(bh, NULL), 0);
	/*
	 * The harness drops the output after the poll returned: wait for
	 * that before @p goes out of scope with this frame.
	 */
	KT_ASSERT_EQ(wait_none_alive(rt), 0);
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 1);
	return 0;
}

KT_RT_CASE(detach_after_complete_drops_output)
{
	struct probe p;
	struct ktask_handle *h;
	int i;

	probe_init(&p, 1);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	for (i = 0; i < 3000 && !ktask_is_finished(h); i++)
		usleep_range(5000, 10000);
	KT_ASSERT(ktask_is_finished(h));
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 0);
	/* The handle owned the output: detaching drops it. */
	ktask_detach(h);
	KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Ids and context                                                     */

KT_RT_CASE(task_ids)
{
	struct ktask_handle *a, *b;
	u64 ida, idb;
	long out = 0;

	KT_ASSERT_EQ(ktask_current_id(), 0);
	a = ktask_spawn(rt, report_id, NULL, GFP_KERNEL);
	b = ktask_spawn(rt, report_id, NULL, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(a);
	KT_ASSERT_NOT_ERR_OR_NULL(b);
	ida = ktask_id(a);
	idb = ktask_id(b);
	KT_ASSERT_NE(ida, 0);
	KT_ASSERT_GT(idb, ida);
	KT_ASSERT_EQ(ktask_join(a, &out), 0);
	KT_ASSERT_EQ((u64)out, ida);
	KT_ASSERT_EQ(ktask_join(b, &out), 0);
	KT_ASSERT_EQ((u64)out, idb);
	KT_ASSERT_EQ(ktask_id(NULL), 0);
	return 0;
}

static struct ktask_handle *deadlock_target;

static long join_from_worker(void *arg)
{
	return ktask_join(deadlock_target, NULL);
}

KT_RT_CASE(join_from_worker_edeadlk)
{
	struct ktask_handle *h;
	struct probe p;
	long out = 0;

	probe_init(&p, 0);
	deadlock_target = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(deadlock_target);
	KT_ASSERT(probe_wait_polled(&p));
	h = ktask_spawn(rt, join_from_worker, NULL, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(out, -EDEADLK);
	/* The handle survived the refused join. */
	ktask_abort(deadlock_target);
	KT_ASSERT_EQ(ktask_join(deadlock_target, NULL), -ECANCELED);
	return 0;
}

/* A task that poll-joins the handle in its argument slot. */
struct joiner {
	struct ktask_handle *target;
	int err;
	long out;
	int polls;
};

static enum ktask_poll joiner_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct joiner *j = arg;

	j->polls++;
	if (ktask_join_poll(j->target, cx, &j->out, &j->err) == KTASK_PENDING)
		return KTASK_PENDING;
	*out = j->out + 1;
	return KTASK_READY;
}

static const struct ktask_ops joiner_ops = {
	.poll = joiner_poll,
};

KT_RT_CASE(join_poll_pending_then_ready)
{
	struct joiner j = {};
	struct ktask_handle *h;
	struct probe p;
	long out = 0;

	probe_init(&p, 2);
	j.target = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(j.target);
	KT_ASSERT(probe_wait_polled(&p));
	h = ktask_spawn_poll(rt, &joiner_ops, &j, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	/* The joiner registers its waker (JOIN_WAKER) and parks. */
	KT_ASSERT_EQ(ktask_join_timeout(h, &out, HZ / 10), -ETIMEDOUT);
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(j.err, 0);
	KT_ASSERT_EQ(j.out, (long)&p);
	KT_ASSERT_EQ(out, (long)&p + 1);
	KT_ASSERT_GE(j.polls, 2);
	return 0;
}

static enum ktask_poll self_joiner_poll(struct ktask_cx *cx, void *arg,
					long *out)
{
	struct joiner *j = arg;
	int err = 0;

	/* Wait until the spawner stored our own handle. */
	while (!READ_ONCE(j->target))
		cond_resched();	/* the spawner may share our CPU */
	ktask_join_poll(j->target, cx, NULL, &err);
	*out = err;
	return KTASK_READY;
}

static const struct ktask_ops self_joiner_ops = {
	.poll = self_joiner_poll,
};

KT_RT_CASE(join_poll_self_edeadlk)
{
	struct joiner j = {};
	struct ktask_handle *h;
	long out = 0;

	h = ktask_spawn_poll(rt, &self_joiner_ops, &j, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	WRITE_ONCE(j.target, h);
	KT_ASSERT_EQ(ktask_join(h, &out), 0);
	KT_ASSERT_EQ(out, -EDEADLK);
	return 0;
}

/* A blocking join replaces a waker that a task registered earlier. */
KT_RT_CASE(join_replaces_task_waker)
{
	struct joiner j = {};
	struct ktask_handle *h;
	struct probe p;

	probe_init(&p, 2);
	j.target = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(j.target);
	KT_ASSERT(probe_wait_polled(&p));
	h = ktask_spawn_poll(rt, &joiner_ops, &j, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join_timeout(h, NULL, HZ / 10), -ETIMEDOUT);
	/* Cancel the joiner: the target's handle now belongs to us again. */
	ktask_abort(h);
	KT_ASSERT_EQ(ktask_join(h, NULL), -ECANCELED);
	/* The slot still holds the joiner's waker: a timed join replaces it. */
	KT_ASSERT_EQ(ktask_join_timeout(j.target, NULL, HZ / 10), -ETIMEDOUT);
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT_EQ(ktask_join(j.target, NULL), 0);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Runtime life cycle                                                  */

static int create_bad_options(void)
{
	struct ktask_rt_opts opts = { .flags = 0x80 };

	KT_ASSERT_EQ(PTR_ERR(ktask_rt_create(NULL, NULL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_rt_create("", NULL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_rt_create("a-name-that-is-much-too-long-to-fit",
					     NULL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_rt_create("bad", &opts)), -EINVAL);
	opts.flags = 0;
	opts.budget = 1 << 20;
	KT_ASSERT_EQ(PTR_ERR(ktask_rt_create("bad", &opts)), -EINVAL);
	ktask_rt_destroy(NULL);
	return 0;
}

static int create_unbound(void)
{
	struct ktask_rt_opts opts = { .flags = KTASK_RT_UNBOUND, .budget = 8 };
	struct ktask_rt *rt = ktask_rt_create("unbound", &opts);
	struct ktask_handle *h;
	long out = 0;
	int ret;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn(rt, square, (void *)9L, GFP_KERNEL);
	ret = IS_ERR(h) ? PTR_ERR(h) : ktask_join(h, &out);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 81);
	return 0;
}

KT_RT_CASE(bad_arguments)
{
	static const struct ktask_ops no_poll = {};
	long out = 0;

	KT_ASSERT_EQ(PTR_ERR(ktask_spawn(NULL, square, NULL, GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn(ERR_PTR(-ENOMEM), square, NULL,
					 GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn(rt, NULL, NULL, GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_poll(rt, NULL, NULL, GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_poll(rt, &no_poll, NULL, GFP_KERNEL)),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_join(NULL, &out), -EINVAL);
	KT_ASSERT_EQ(ktask_join(ERR_PTR(-ENOMEM), &out), -EINVAL);
	KT_ASSERT_EQ(ktask_join_timeout(NULL, &out, 1), -EINVAL);
	KT_ASSERT(!ktask_is_finished(NULL));
	KT_ASSERT_EQ(PTR_ERR(ktask_abort_handle(NULL)), -EINVAL);
	/* Releasing nothing is a no-op, like kfree(NULL). */
	ktask_detach(NULL);
	ktask_detach(ERR_PTR(-ENOMEM));
	ktask_abort_handle_put(NULL);
	ktask_waker_drop(NULL);
	KT_ASSERT_EQ(ktask_rt_num_alive(NULL), 0);
	return 0;
}

/* Spawning on our own runtime does not pin us: our exit destroys it. */
KT_RT_CASE(spawn_on_own_runtime_does_not_pin)
{
	int before = module_refcount(THIS_MODULE);
	struct ktask_handle *h;
	struct probe p;

	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT(probe_wait_polled(&p));
	KT_ASSERT_EQ(module_refcount(THIS_MODULE), before);
	KT_ASSERT(probe_wake(&p));
	KT_ASSERT_EQ(ktask_join(h, NULL), 0);
	return 0;
}

/* On a runtime someone else owns, a task pins its module until it is done. */
static int spawn_on_foreign_runtime_pins(void)
{
	struct ktask_rt *rt = __ktask_rt_create("foreign", NULL, NULL);
	int before = module_refcount(THIS_MODULE);
	int during = -1, after = -1, ret = -EINVAL;
	struct ktask_handle *h;
	struct probe p;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	probe_init(&p, 2);
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	if (!IS_ERR(h) && probe_wait_polled(&p)) {
		during = module_refcount(THIS_MODULE);
		probe_wake(&p);
		ret = ktask_join(h, NULL);
		after = module_refcount(THIS_MODULE);
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(during, before + 1);
	KT_ASSERT_EQ(after, before);
	return 0;
}

/* Wait, boundedly, until a task has completed; false if it did not. */
static bool wait_finished(struct ktask_handle *h)
{
	unsigned long end = jiffies + KT_WAIT;

	while (!ktask_is_finished(h) && time_before(jiffies, end))
		usleep_range(100, 200);
	return ktask_is_finished(h);
}

/*
 * A completed output that ops->drop_output may drop is the module's code:
 * it keeps the task's pin until the join handle has read or dropped it.
 */
static int output_with_drop_keeps_pin(void)
{
	struct ktask_rt *rt = __ktask_rt_create("foreign", NULL, NULL);
	int before = module_refcount(THIS_MODULE);
	int done[2] = { -1, -1 }, after[2] = { -1, -1 };
	struct ktask_handle *h;
	struct probe p[2];
	long out = 0;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	probe_init(&p[0], 1);
	probe_init(&p[1], 1);
	/* Detached once complete: the handle drops the output, then unpins. */
	h = ktask_spawn_poll(rt, &probe_ops, &p[0], GFP_KERNEL);
	if (!IS_ERR(h)) {
		if (wait_finished(h))
			done[0] = module_refcount(THIS_MODULE);
		ktask_detach(h);
		after[0] = module_refcount(THIS_MODULE);
	}
	/* Joined once complete: the join reads the output, then unpins. */
	h = ktask_spawn_poll(rt, &probe_ops, &p[1], GFP_KERNEL);
	if (!IS_ERR(h)) {
		if (wait_finished(h))
			done[1] = module_refcount(THIS_MODULE);
		ret = ktask_join(h, &out);
		after[1] = module_refcount(THIS_MODULE);
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(done[0], before + 1);
	KT_ASSERT_EQ(after[0], before);
	KT_ASSERT_EQ(atomic_read(&p[0].drop_outputs), 1);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_PTR_EQ((void *)out, &p[1]);
	KT_ASSERT_EQ(done[1], before + 1);
	KT_ASSERT_EQ(after[1], before);
	KT_ASSERT_EQ(atomic_read(&p[1].drop_outputs), 0);
	return 0;
}

/*
 * A pinned output consumed right after its task completed on another CPU,
 * by a join or a detach, while the completion may still be finishing: the
 * pin is put once.  The completion used to test the output's stage after
 * it published COMPLETE, when the handle may already have consumed it,
 * and then put the pin a second time (output_with_drop_keeps_pin once
 * found the module's count one short on PREEMPT_RT).
 */
#define PIN_RACES	2000

static int pinned_output_consumed_racing_completion(void)
{
	struct ktask_rt *rt = __ktask_rt_create("foreign", NULL, NULL);
	int before = module_refcount(THIS_MODULE);
	int i, now, err = 0;
	struct probe *p;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	p = kcalloc(PIN_RACES, sizeof(*p), GFP_KERNEL);
	for (i = 0; p && i < PIN_RACES && !err; i++) {
		unsigned long end = jiffies + KT_WAIT;
		struct ktask_handle *h;
		long out = 0;

		probe_init(&p[i], 1);
		h = ktask_spawn_poll(rt, &probe_ops, &p[i], GFP_KERNEL);
		if (IS_ERR(h)) {
			err = PTR_ERR(h);
			break;
		}
		/* No sleep: consume as soon as COMPLETE shows. */
		while (!ktask_is_finished(h) && time_before(jiffies, end))
			cond_resched();
		if (!ktask_is_finished(h))
			err = -ETIMEDOUT;
		if (i & 1)
			ktask_detach(h);
		else if (ktask_join(h, &out) || out != (long)&p[i])
			err = err ?: -EIO;
	}
	ktask_rt_destroy(rt);
	kfree(p);
	now = module_refcount(THIS_MODULE);
	/* Give back what a second put took, so that the suite goes on. */
	for (i = now; i < before; i++)
		__module_get(THIS_MODULE);
	KT_ASSERT_NOT_ERR_OR_NULL(p);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT_EQ(now, before);
	return 0;
}

static long plus_one(void *arg)
{
	return (long)arg + 1;
}

/*
 * The pin is gone as soon as the join returns, whichever CPU completed the
 * task, so that the module can be unloaded right after its last join.  A
 * timed join does not run the task itself: a worker completes it.
 */
static int join_returns_after_unpin(void)
{
	struct ktask_rt *rt = __ktask_rt_create("foreign", NULL, NULL);
	int before = module_refcount(THIS_MODULE);
	int i, bad = 0, failed = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	for (i = 0; i < 500; i++) {
		struct ktask_handle *h;
		long out = 0;

		h = ktask_spawn(rt, plus_one, (void *)(long)i, GFP_KERNEL);
		if (IS_ERR(h) || ktask_join_timeout(h, &out, KT_WAIT) ||
		    out != i + 1) {
			failed++;
			break;
		}
		if (module_refcount(THIS_MODULE) != before)
			bad++;
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(failed, 0);
	KT_ASSERT_EQ(bad, 0);
	return 0;
}

/* A runtime's hooks, counted. */
struct hook_counts {
	atomic_t spawns, terminates, ok, cancelled, before, after, ready;
	atomic_t unbalanced;	/* an after_poll without its before_poll */
};

static void hook_spawn(void *data, u64 id)
{
	atomic_inc(&((struct hook_counts *)data)->spawns);
}

static void hook_terminate(void *data, u64 id, int result)
{
	struct hook_counts *c = data;

	atomic_inc(&c->terminates);
	if (!result)
		atomic_inc(&c->ok);
	else if (result == -ECANCELED)
		atomic_inc(&c->cancelled);
}

static void hook_before(void *data, u64 id)
{
	atomic_inc(&((struct hook_counts *)data)->before);
}

static void hook_after(void *data, u64 id, enum ktask_poll res)
{
	struct hook_counts *c = data;

	if (atomic_inc_return(&c->after) > atomic_read(&c->before))
		atomic_inc(&c->unbalanced);
	if (res == KTASK_READY)
		atomic_inc(&c->ready);
}

/*
 * Every hook is called exactly as often as its event happens: 10 function
 * tasks (one poll each), 5 pollable tasks woken once (two polls each) and
 * 3 aborted after one poll (cancelled without another).
 */
static int runtime_hooks_counted(void)
{
	struct hook_counts c = {};
	const struct ktask_rt_hooks hooks = {
		.spawn = hook_spawn,
		.terminate = hook_terminate,
		.before_poll = hook_before,
		.after_poll = hook_after,
		.data = &c,
	};
	const struct ktask_rt_hooks none = {};
	struct ktask_rt_opts opts = { .hooks = &hooks };
	struct ktask_rt *rt = ktask_rt_create("hooks", &opts), *rt2;
	struct ktask_handle *h[18] = {};
	struct probe *p = kcalloc(8, sizeof(*p), GFP_KERNEL);
	int i, bad = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	for (i = 0; p && i < 18; i++) {
		if (i < 10) {
			h[i] = ktask_spawn(rt, square, (void *)(long)i,
					   GFP_KERNEL);
		} else {
			probe_init(&p[i - 10], i < 15 ? 2 : 0);
			h[i] = ktask_spawn_poll(rt, &probe_ops, &p[i - 10],
						GFP_KERNEL);
		}
		if (IS_ERR(h[i])) {
			h[i] = NULL;
			bad++;
		}
	}
	for (i = 10; p && i < 18; i++) {
		if (!h[i] || !probe_wait_polled(&p[i - 10])) {
			bad++;
			continue;
		}
		if (i < 15)
			probe_wake(&p[i - 10]);
		else
			ktask_abort(h[i]);
	}
	for (i = 0; i < 18; i++)
		if (h[i])
			ktask_join_timeout(h[i], NULL, KT_WAIT);
	ktask_rt_destroy(rt);
	kfree(p);
	/* A runtime whose hooks are all NULL works as one without. */
	opts.hooks = &none;
	rt2 = ktask_rt_create("hooks", &opts);
	KT_ASSERT_NOT_ERR_OR_NULL(rt2);
	h[0] = ktask_spawn(rt2, square, (void *)3L, GFP_KERNEL);
	KT_ASSERT_EQ(IS_ERR(h[0]) ? PTR_ERR(h[0]) : ktask_join(h[0], NULL), 0);
	ktask_rt_destroy(rt2);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(atomic_read(&c.spawns), 18);
	KT_ASSERT_EQ(atomic_read(&c.terminates), 18);
	KT_ASSERT_EQ(atomic_read(&c.ok), 15);
	KT_ASSERT_EQ(atomic_read(&c.cancelled), 3);
	KT_ASSERT_EQ(atomic_read(&c.before), 10 + 5 * 2 + 3);
	KT_ASSERT_EQ(atomic_read(&c.after), 10 + 5 * 2 + 3);
	KT_ASSERT_EQ(atomic_read(&c.ready), 15);
	KT_ASSERT_EQ(atomic_read(&c.unbalanced), 0);
	return 0;
}

/*
 * Busy for 30 ms of CLOCK_MONOTONIC, which the tick follows: mdelay()
 * counts the TSC, which under TCG may run fast against it (a 30 ms
 * mdelay() once took one tick).
 */
static long busy_30ms(void *arg)
{
	ktime_t end = ktime_add_ms(ktime_get(), 30);
	/*
	 * And a tick more of jiffies: the poll's length is taken with the
	 * tick's clock, whose ticks may come late under an emulator (a
	 * 30 ms loop was once counted as 24 ms).  So the poll lasts at
	 * least 30 ms by both clocks.
	 */
	u64 end_j = get_jiffies_64() + msecs_to_jiffies(30) + 1;

	while (ktime_before(ktime_get(), end) ||
	       time_before64(get_jiffies_64(), end_j))
		cpu_relax();
	return 0;
}

static u64 hist_sum(const u64 *hist, unsigned int from)
{
	u64 sum = 0;

	for (; from < KTASK_HIST_BUCKETS; from++)
		sum += hist[from];
	return sum;
}

/* What runtime_metrics_counted() expects; see there. */
static int check_metrics(const struct ktask_rt_metrics *m,
			 const struct ktask_rt_metrics *plain, int bad,
			 const int *einval)
{
	int i;

	KT_ASSERT_EQ(bad, 0);
	for (i = 0; i < 3; i++)
		KT_ASSERT_EQ(einval[i], -EINVAL);
	KT_ASSERT_EQ(m->alive, 0);
	KT_ASSERT_EQ(m->spawned, 19);
	KT_ASSERT_EQ(m->completed, 16);
	KT_ASSERT_EQ(m->cancelled, 3);
	KT_ASSERT_EQ(m->polls, 10 + 5 * 2 + 3 + 1);
	/*
	 * A wake counts when it queues the task: one that lands while the
	 * poll that parked the waker is still returning (probe_wait_polled()
	 * returns from inside it) is requeued by that poll instead.  The
	 * polls above are exact either way.
	 */
	KT_ASSERT_GE(m->wakes, 1);
	KT_ASSERT_LE(m->wakes, 5);
	KT_ASSERT_EQ(m->queue_depth, 0);
	KT_ASSERT_EQ(m->max_queue_depth, 0);
	KT_ASSERT_GE(m->drains, 1);
	/* To a tick: at least the 30 ms less one tick. */
	KT_ASSERT_GE(m->longest_poll_ns, 30 * NSEC_PER_MSEC - TICK_NSEC);
	KT_ASSERT(m->histograms);
	KT_ASSERT_EQ(hist_sum(m->poll_ns, 0), m->polls);
	KT_ASSERT_EQ(hist_sum(m->schedule_ns, 0), m->polls);
	KT_ASSERT_GE(hist_sum(m->poll_ns, 23), 1);
	/* Kept to 64 ns: under it in bucket 0, nothing in buckets 1 to 5. */
	KT_ASSERT_EQ(hist_sum(m->schedule_ns, 1) - hist_sum(m->schedule_ns, 6),
		     0);

	KT_ASSERT_EQ(plain->spawned, 1);
	KT_ASSERT_EQ(plain->completed, 1);
	KT_ASSERT_EQ(plain->polls, 1);
	KT_ASSERT(!plain->histograms);
	KT_ASSERT_EQ(hist_sum(plain->poll_ns, 0) +
		     hist_sum(plain->schedule_ns, 0), 0);
	return 0;
}

/*
 * ktask_rt_read_metrics() counts what happened, exactly once the runtime is
 * quiet: 10 function tasks (one poll each), 5 pollable tasks woken once
 * (two polls each), 3 aborted after one poll (cancelled without another)
 * and one function task that busies its CPU for 30 ms; with
 * KTASK_RT_HISTOGRAMS every poll is in both histograms, the 30 ms one at
 * 2^23 ns (8.4 ms) or above: local_clock() may lag by a tick where the
 * TSC is unstable (qemu's TCG).  Without the flag the histograms stay
 * empty.
 */
static int runtime_metrics_counted(void)
{
	struct ktask_rt_opts opts = { .flags = KTASK_RT_HISTOGRAMS };
	struct ktask_rt_metrics *m = kcalloc(2, sizeof(*m), GFP_KERNEL);
	struct probe *p = kcalloc(8, sizeof(*p), GFP_KERNEL);
	struct ktask_handle *h[19] = {};
	int i, bad = 0, ret = -ENOMEM;
	int einval[3] = {};
	struct ktask_rt *rt;

	if (!m || !p)
		goto out;
	rt = ktask_rt_create("metrics", &opts);
	if (IS_ERR(rt)) {
		ret = PTR_ERR(rt);
		goto out;
	}
	for (i = 0; i < 19; i++) {
		if (i < 10) {
			h[i] = ktask_spawn(rt, square, (void *)(long)i,
					   GFP_KERNEL);
		} else if (i < 18) {
			probe_init(&p[i - 10], i < 15 ? 2 : 0);
			h[i] = ktask_spawn_poll(rt, &probe_ops, &p[i - 10],
						GFP_KERNEL);
		} else {
			h[i] = ktask_spawn(rt, busy_30ms, NULL, GFP_KERNEL);
		}
		if (IS_ERR(h[i])) {
			h[i] = NULL;
			bad++;
		}
	}
	for (i = 10; i < 18; i++) {
		if (!h[i] || !probe_wait_polled(&p[i - 10])) {
			bad++;
			continue;
		}
		if (i < 15)
			probe_wake(&p[i - 10]);
		else
			ktask_abort(h[i]);
	}
	for (i = 0; i < 19; i++)
		if (h[i] && ktask_join_timeout(h[i], NULL, KT_WAIT) == -ETIMEDOUT)
			bad++;
	if (wait_none_alive(rt))
		bad++;
	if (ktask_rt_read_metrics(rt, &m[0]))
		bad++;
	einval[0] = ktask_rt_read_metrics(NULL, &m[1]);
	einval[1] = ktask_rt_read_metrics(ERR_PTR(-ENOMEM), &m[1]);
	einval[2] = ktask_rt_read_metrics(rt, NULL);
	ktask_rt_destroy(rt);

	/* Without KTASK_RT_HISTOGRAMS: the counters, no histograms. */
	rt = ktask_rt_create("metrics", NULL);
	if (IS_ERR(rt)) {
		ret = PTR_ERR(rt);
		goto out;
	}
	h[0] = ktask_spawn(rt, square, (void *)3L, GFP_KERNEL);
	if (IS_ERR(h[0]) || ktask_join_timeout(h[0], NULL, KT_WAIT))
		bad++;
	if (wait_none_alive(rt) || ktask_rt_read_metrics(rt, &m[1]))
		bad++;
	ktask_rt_destroy(rt);
	ret = check_metrics(&m[0], &m[1], bad, einval);
out:
	kfree(p);
	kfree(m);
	return ret;
}

/* ktask_join_killable(): a fatal signal ends the wait, the handle stays. */
struct killable_join {
	struct ktask_handle *h;
	struct completion joining;
	int ret;
};

static int killable_join_fn(void *arg)
{
	struct killable_join *kj = arg;

	allow_signal(SIGKILL);
	complete(&kj->joining);
	kj->ret = ktask_join_killable(kj->h, NULL);
	/* Stay until kthread_stop(), which needs us alive. */
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

KT_RT_CASE(join_killable_interrupted)
{
	struct killable_join kj = { .ret = 1 };
	struct task_struct *t;
	struct probe p;
	int i, ret;

	probe_init(&p, 2);
	init_completion(&kj.joining);
	kj.h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(kj.h);
	KT_ASSERT(probe_wait_polled(&p));
	t = kthread_run(killable_join_fn, &kj, "kt_killable");
	if (IS_ERR(t)) {
		probe_wake(&p);
		ktask_join(kj.h, NULL);
		KT_FAIL("kthread_run: %ld", PTR_ERR(t));
		return -EINVAL;
	}
	get_task_struct(t);
	wait_for_completion_timeout(&kj.joining, KT_WAIT);
	/* Let it sleep in the join, then kill it. */
	msleep(20);
	send_sig(SIGKILL, t, 1);
	for (i = 0; i < 250 && READ_ONCE(kj.ret) == 1; i++)
		msleep(20);
	kthread_stop(t);
	put_task_struct(t);
	/* The handle is still ours: the task completes and is joined. */
	probe_wake(&p);
	ret = ktask_join(kj.h, NULL);
	KT_ASSERT_EQ(kj.ret, -EINTR);
	KT_ASSERT_EQ(ret, 0);
	return 0;
}

/* A runtime for a reclaim path: its workqueues have a rescuer. */
static int mem_reclaim_runtime_runs_tasks(void)
{
	struct ktask_rt_opts opts = { .flags = KTASK_RT_MEM_RECLAIM };
	struct ktask_rt *rt = ktask_rt_create("reclaim", &opts);
	struct ktask_handle *h;
	long out = 0;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn(rt, plus_one, (void *)41L, GFP_NOIO);
	if (!IS_ERR(h))
		ret = ktask_join_timeout(h, &out, KT_WAIT);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 42);
	opts.flags = 0x80;
	KT_ASSERT_EQ(PTR_ERR(ktask_rt_create("badflags", &opts)), -EINVAL);
	return 0;
}

/* What nice_probe() saw of the thread that polled it. */
struct nice_probe {
	struct completion ran;
	int nice;
};

static long nice_probe(void *arg)
{
	struct nice_probe *p = arg;

	p->nice = task_nice(current);
	complete(&p->ran);
	return 0;
}

/*
 * The nice value of the thread that polls a task of a runtime created
 * with @flags; the test waits for the poll before it joins, so that the
 * join cannot run the task itself.  Return: the nice value, or a value
 * above MAX_NICE on a failure.
 */
static int nice_of_poller(unsigned int flags)
{
	struct ktask_rt_opts opts = { .flags = flags };
	struct ktask_rt *rt = ktask_rt_create("nice", &opts);
	struct nice_probe p = { .nice = MAX_NICE + 1 };
	struct ktask_handle *h;
	int err = 0, ret;

	if (IS_ERR_OR_NULL(rt))
		return MAX_NICE + 2;
	init_completion(&p.ran);
	h = ktask_spawn(rt, nice_probe, &p, GFP_KERNEL);
	if (IS_ERR(h)) {
		ktask_rt_destroy(rt);
		return MAX_NICE + 3;
	}
	if (!wait_for_completion_timeout(&p.ran, KT_WAIT))
		err = MAX_NICE + 4;
	/* Bounded: a task that never ran is cancelled by the destroy. */
	ret = ktask_join_timeout(h, NULL, KT_WAIT);
	if (ret == -ETIMEDOUT)
		ktask_detach(h);
	if (ret && !err)
		err = MAX_NICE + 5;
	ktask_rt_destroy(rt);
	/* Read once the task is gone: a late poll no longer writes it. */
	return err ?: p.nice;
}

/*
 * A KTASK_RT_HIGHPRI runtime's tasks are polled at nice -20 (by a worker
 * thread, or a WQ_HIGHPRI kworker when none is idle), and a worker thread
 * that drained one goes back to nice 0 for the next runtime; in turns, so
 * that the same threads serve both.
 */
static int highpri_runtime_polls_at_nice_min(void)
{
	int i;

	for (i = 0; i < 4; i++) {
		KT_ASSERT_EQ(nice_of_poller(KTASK_RT_HIGHPRI), MIN_NICE);
		KT_ASSERT_EQ(nice_of_poller(0), 0);
	}
	KT_ASSERT_EQ(nice_of_poller(KTASK_RT_HIGHPRI | KTASK_RT_UNBOUND),
		     MIN_NICE);
	return 0;
}

/*
 * A task of a KTASK_RT_HIGHPRI runtime that keeps running out of budget:
 * each poll records the poller's nice value, spins for a millisecond and
 * spends its budget, until the last.
 */
#define DEMOTE_POLLS	12

struct demote_probe {
	struct completion done;
	int polls;
	int first_nice;
	int last_nice;
	bool kworker;
};

static enum ktask_poll demote_probe_poll(struct ktask_cx *cx, void *arg,
					 long *out)
{
	struct demote_probe *p = arg;
	int nice = task_nice(current);

	if (!p->polls++)
		p->first_nice = nice;
	p->last_nice = nice;
	if (current->flags & PF_WQ_WORKER)
		p->kworker = true;
	if (p->polls == DEMOTE_POLLS) {
		complete(&p->done);
		return KTASK_READY;
	}
	mdelay(1);
	while (ktask_consume_budget(cx) == KTASK_READY)
		;
	return KTASK_PENDING;
}

static const struct ktask_ops demote_probe_ops = {
	.poll = demote_probe_poll,
};

/*
 * A worker thread draining a KTASK_RT_HIGHPRI runtime's queue goes back to
 * its own nice once a task forced to yield keeps the drain at its limit:
 * nice -20 is for the wake's latency, not for a task that would keep the
 * CPU from every thread of normal priority.  A WQ_HIGHPRI kworker (the
 * fallback when no worker thread is idle) cannot change its nice: a run
 * polled by one is tried again, three times at most.
 */
static int highpri_worker_demoted_by_forced_yields(void)
{
	/* At its limit after two polls, whatever HZ the drain's clock has. */
	struct ktask_rt_opts opts = {
		.flags = KTASK_RT_HIGHPRI,
		.max_polls_per_drain = 2,
	};
	struct demote_probe p;
	struct ktask_handle *h;
	struct ktask_rt *rt;
	int tries, ret;

	for (tries = 0; tries < 3; tries++) {
		memset(&p, 0, sizeof(p));
		init_completion(&p.done);
		rt = ktask_rt_create("demote", &opts);
		KT_ASSERT_NOT_ERR_OR_NULL(rt);
		h = ktask_spawn_poll(rt, &demote_probe_ops, &p, GFP_KERNEL);
		if (IS_ERR(h)) {
			ktask_rt_destroy(rt);
			KT_ASSERT_NOT_ERR_OR_NULL(h);
		}
		/* Waited for first, so that the join does not run it. */
		ret = wait_for_completion_timeout(&p.done, KT_WAIT) ? 0 : -ETIMEDOUT;
		if (ktask_join_timeout(h, NULL, KT_WAIT) == -ETIMEDOUT)
			ktask_detach(h);
		ktask_rt_destroy(rt);
		KT_ASSERT_EQ(ret, 0);
		if (!p.kworker)
			break;
	}
	KT_ASSERT(!p.kworker);
	KT_ASSERT_EQ(p.polls, DEMOTE_POLLS);
	KT_ASSERT_EQ(p.first_nice, MIN_NICE);
	KT_ASSERT_EQ(p.last_nice, 0);
	/* The next claim is at nice -20 again. */
	KT_ASSERT_EQ(nice_of_poller(KTASK_RT_HIGHPRI), MIN_NICE);
	return 0;
}

/*
 * An ops->drop run by runtime destroy that joins a sibling gets -EDEADLK
 * rather than waiting for a task that destroy cancels only after the drop
 * returned.  The sibling is running, held in its poll until that drop
 * lets it go: without the check, the join and the sibling wait for each
 * other until the sibling's wait times out.
 */
struct sibling {
	struct completion entered;
	struct completion release;
	struct ktask_handle *other;
	int join_ret;
};

static enum ktask_poll sibling_held_poll(struct ktask_cx *cx, void *arg,
					 long *out)
{
	struct sibling *sb = arg;

	complete(&sb->entered);
	wait_for_completion_timeout(&sb->release, KT_WAIT);
	return KTASK_PENDING;
}

static const struct ktask_ops sibling_held_ops = {
	.poll = sibling_held_poll,
};

static enum ktask_poll sibling_parked_poll(struct ktask_cx *cx, void *arg,
					   long *out)
{
	return KTASK_PENDING;
}

static void sibling_joining_drop(void *arg)
{
	struct sibling *sb = arg;

	sb->join_ret = ktask_join(sb->other, NULL);
	complete(&sb->release);
}

static const struct ktask_ops sibling_joining_ops = {
	.poll = sibling_parked_poll,
	.drop = sibling_joining_drop,
};

static int drop_joining_sibling_in_destroy(void)
{
	struct ktask_rt *rt = ktask_rt_create("siblings", NULL);
	struct sibling sb = { .join_ret = 1 };
	struct ktask_handle *a;
	int ret;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	init_completion(&sb.entered);
	init_completion(&sb.release);
	sb.other = ktask_spawn_poll(rt, &sibling_held_ops, &sb, GFP_KERNEL);
	a = ktask_spawn_poll(rt, &sibling_joining_ops, &sb, GFP_KERNEL);
	if (IS_ERR(sb.other) || IS_ERR(a) ||
	    !wait_for_completion_timeout(&sb.entered, KT_WAIT)) {
		complete(&sb.release);
		ktask_rt_destroy(rt);
		KT_FAIL("setup failed");
		return -EINVAL;
	}
	ktask_rt_destroy(rt);
	/* Both were cancelled; the sibling's handle is still ours. */
	ret = ktask_join(sb.other, NULL);
	KT_ASSERT_EQ(ktask_join(a, NULL), -ECANCELED);
	KT_ASSERT_EQ(sb.join_ret, -EDEADLK);
	KT_ASSERT_EQ(ret, -ECANCELED);
	return 0;
}

/*
 * The helping join: a kernel thread that joins a queued, never-polled
 * function task runs it itself, as that task (ktask_current_id()).  The
 * task is queued behind a gate task that holds its queue's drain, so no
 * worker can take it first.
 */
struct helped {
	struct ktask_handle *h;
	struct task_struct *ran_on;
	u64 id_inside;
	long out;
	int ret;
	struct completion done;
};

static long helped_fn(void *arg)
{
	struct helped *hp = arg;

	hp->ran_on = current;
	hp->id_inside = ktask_current_id();
	return 7;
}

static int helping_joiner(void *arg)
{
	struct helped *hp = arg;

	hp->ret = ktask_join(hp->h, &hp->out);
	complete(&hp->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static int helping_join_runs_task_as_itself(void)
{
	struct ktask_rt *rt = ktask_rt_create("helping", NULL);
	struct helped hp = { .ret = 1 };
	struct task_struct *t = NULL;
	struct ktask_handle *gh;
	struct kt_gate g;
	u64 id = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	init_completion(&g.entered);
	init_completion(&g.release);
	init_completion(&hp.done);
	migrate_disable();
	gh = ktask_spawn(rt, kt_gate_fn, &g, GFP_KERNEL);
	if (!IS_ERR(gh) && wait_for_completion_timeout(&g.entered, KT_WAIT))
		hp.h = ktask_spawn(rt, helped_fn, &hp, GFP_KERNEL);
	migrate_enable();
	if (!IS_ERR_OR_NULL(hp.h)) {
		id = ktask_id(hp.h);
		t = kthread_run(helping_joiner, &hp, "kt_helper");
		if (!IS_ERR(t)) {
			get_task_struct(t);
			wait_for_completion_timeout(&hp.done, KT_WAIT);
			/* A join that did not help waits for the gate. */
			complete(&g.release);
			kthread_stop(t);
		} else {
			complete(&g.release);
			ktask_join(hp.h, NULL);
		}
	}
	complete(&g.release);
	if (!IS_ERR(gh))
		ktask_join(gh, NULL);
	ktask_rt_destroy(rt);
	KT_ASSERT(!IS_ERR_OR_NULL(hp.h));
	KT_ASSERT(!IS_ERR_OR_NULL(t));
	put_task_struct(t);
	KT_ASSERT_EQ(hp.ret, 0);
	KT_ASSERT_EQ(hp.out, 7);
	KT_ASSERT(hp.ran_on == t);
	KT_ASSERT_EQ(hp.id_inside, id);
	return 0;
}

/*
 * Taking a CPU offline does not wait for the task code its worker thread
 * runs: the worker is unbound and goes on elsewhere.  (A worker that had
 * to park first would hold the offline until the task returned.)
 */
struct offliner {
	int cpu;
	int ret;
	struct completion done;
};

static int offliner_fn(void *arg)
{
	struct offliner *o = arg;

	o->ret = remove_cpu(o->cpu);
	complete(&o->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static long gate_cpu_fn(void *arg)
{
	struct kt_gate *g = arg;

	g->cpu = raw_smp_processor_id();
	return kt_gate_fn(arg);
}

/* Spawns the gate task from CPU 0, whose dispatch claims another CPU's worker first. */
struct gate_spawner {
	struct ktask_rt *rt;
	struct kt_gate *g;
	struct ktask_handle *h;
};

static void gate_spawn_there(void *arg)
{
	struct gate_spawner *gs = arg;

	gs->h = ktask_spawn(gs->rt, gate_cpu_fn, gs->g, GFP_KERNEL);
}

static struct ktask_handle *spawn_gate_from_cpu0(struct ktask_rt *rt,
						 struct kt_gate *g)
{
	struct gate_spawner gs = { .rt = rt, .g = g, .h = ERR_PTR(-EINVAL) };
	int err = kt_run_on_cpu(0, gate_spawn_there, &gs);

	return err ? ERR_PTR(err) : gs.h;
}

static int offline_does_not_wait_for_task(void)
{
	struct ktask_rt *rt = ktask_rt_create("hotplug", NULL);
	struct offliner o = { .ret = 1 };
	struct ktask_handle *gh = NULL;
	struct task_struct *t;
	bool done = false;
	struct kt_gate g;
	int i;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	if (num_online_cpus() < 2) {
		ktask_rt_destroy(rt);
		KT_FAIL("needs two online CPUs");
		return -EINVAL;
	}
	/* A task held in its function on a worker of a CPU that can go. */
	for (i = 0; i < 20; i++) {
		init_completion(&g.entered);
		init_completion(&g.release);
		g.cpu = -1;
		gh = spawn_gate_from_cpu0(rt, &g);
		if (IS_ERR(gh))
			break;
		if (wait_for_completion_timeout(&g.entered, KT_WAIT) &&
		    g.cpu > 0)
			break;
		complete(&g.release);
		ktask_join(gh, NULL);
		gh = NULL;
	}
	if (IS_ERR_OR_NULL(gh)) {
		ktask_rt_destroy(rt);
		KT_FAIL("no task held on a CPU other than 0");
		return -EINVAL;
	}
	o.cpu = g.cpu;
	init_completion(&o.done);
	t = kthread_run(offliner_fn, &o, "kt_offliner");
	if (!IS_ERR(t)) {
		get_task_struct(t);
		done = wait_for_completion_timeout(&o.done, 10 * HZ);
	}
	complete(&g.release);
	if (!IS_ERR(t)) {
		if (!done)
			wait_for_completion_timeout(&o.done, KT_WAIT);
		kthread_stop(t);
		put_task_struct(t);
	}
	ktask_join(gh, NULL);
	if (!o.ret)
		add_cpu(o.cpu);
	ktask_rt_destroy(rt);
	KT_ASSERT(!IS_ERR(t));
	KT_ASSERT_EQ(o.ret, 0);
	KT_ASSERT(done);
	return 0;
}

/* ktask_wake(NULL) is as harmless as ktask_waker_drop(NULL): no WARN. */
static int wake_null_is_a_noop(void)
{
	struct ktask_waker *slot = NULL;

	/* The interrupt handler's idiom, run twice with nothing to wake. */
	ktask_wake(xchg(&slot, NULL));
	ktask_wake(xchg(&slot, NULL));
	KT_ASSERT(!slot);
	return 0;
}

/* A parked task whose drop spawns on the runtime being destroyed. */
struct closer {
	struct ktask_rt *rt;
	long spawn_err;
	int detached_err;
	atomic_t drops;
};

static enum ktask_poll closer_poll(struct ktask_cx *cx, void *arg, long *out)
{
	return KTASK_PENDING;
}

static void closer_drop(void *arg)
{
	struct closer *c = arg;
	struct ktask_handle *h = ktask_spawn(c->rt, square, NULL, GFP_KERNEL);

	c->spawn_err = PTR_ERR_OR_ZERO(h);
	if (!IS_ERR(h))
		ktask_detach(h);
	c->detached_err = ktask_spawn_detached(c->rt, square, NULL, GFP_KERNEL);
	atomic_inc(&c->drops);
}

static const struct ktask_ops closer_ops = {
	.poll = closer_poll,
	.drop = closer_drop,
};

static int destroy_cancels_and_closes(void)
{
	struct ktask_rt *rt = test_rt();
	struct ktask_handle *h[8];
	struct closer c = {};
	struct probe p;
	int i;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	c.rt = rt;
	probe_init(&p, 0);
	h[0] = ktask_spawn_poll(rt, &closer_ops, &c, GFP_KERNEL);
	for (i = 1; i < ARRAY_SIZE(h); i++)
		h[i] = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	for (i = 0; i < ARRAY_SIZE(h); i++)
		KT_ASSERT_NOT_ERR_OR_NULL(h[i]);
	ktask_rt_destroy(rt);
	/* Every task was cancelled, its drop ran once, spawn saw closed. */
	for (i = 0; i < ARRAY_SIZE(h); i++)
		KT_ASSERT_EQ(ktask_join(h[i], NULL), -ECANCELED);
	KT_ASSERT_EQ(atomic_read(&c.drops), 1);
	KT_ASSERT_EQ(c.spawn_err, -ESHUTDOWN);
	KT_ASSERT_EQ(c.detached_err, -ESHUTDOWN);
	KT_ASSERT_EQ(atomic_read(&p.drops), ARRAY_SIZE(h) - 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Cooperative budget                                                  */

struct burner {
	int left;
	int polls;
};

static enum ktask_poll burner_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct burner *b = arg;

	b->polls++;
	while (b->left) {
		if (ktask_consume_budget(cx) == KTASK_PENDING)
			return KTASK_PENDING;
		b->left--;
	}
	*out = ktask_has_budget_remaining(cx);
	return KTASK_READY;
}

static const struct ktask_ops burner_ops = {
	.poll = burner_poll,
};

static int coop_forced_yield(void)
{
	struct ktask_rt_opts opts = { .budget = 4 };
	struct ktask_rt *rt = ktask_rt_create("coop", &opts);
	struct burner b = { .left = 10 };
	struct ktask_handle *h;
	long out = -1;
	int ret;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn_poll(rt, &burner_ops, &b, GFP_KERNEL);
	ret = IS_ERR(h) ? PTR_ERR(h) : ktask_join(h, &out);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	/* 10 units at 4 per poll: 4 + 4 + 2, two forced yields. */
	KT_ASSERT_EQ(b.polls, 3);
	KT_ASSERT_EQ(out, 1);
	return 0;
}

static enum ktask_poll no_progress_poll(struct ktask_cx *cx, void *arg,
					long *out)
{
	int i;

	/* Leaf operations that never make progress do not spend budget. */
	for (i = 0; i < 1000; i++)
		if (!ktask_coop_proceed(cx))
			break;
	*out = i;
	return KTASK_READY;
}

static const struct ktask_ops no_progress_ops = {
	.poll = no_progress_poll,
};

static enum ktask_poll progress_poll(struct ktask_cx *cx, void *arg, long *out)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (!ktask_coop_proceed(cx))
			break;
		ktask_coop_made_progress(cx);
	}
	*out = i;
	return KTASK_READY;
}

static const struct ktask_ops progress_ops = {
	.poll = progress_poll,
};

static int coop_made_progress(void)
{
	struct ktask_rt_opts opts = { .budget = 16 };
	struct ktask_rt *rt = ktask_rt_create("coop", &opts);
	struct ktask_handle *h1, *h2;
	long out1 = 0, out2 = 0;
	int r1, r2;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h1 = ktask_spawn_poll(rt, &no_progress_ops, NULL, GFP_KERNEL);
	h2 = ktask_spawn_poll(rt, &progress_ops, NULL, GFP_KERNEL);
	r1 = IS_ERR(h1) ? PTR_ERR(h1) : ktask_join(h1, &out1);
	r2 = IS_ERR(h2) ? PTR_ERR(h2) : ktask_join(h2, &out2);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(r1, 0);
	KT_ASSERT_EQ(r2, 0);
	KT_ASSERT_EQ(out1, 1000);
	KT_ASSERT_EQ(out2, 16);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Races                                                               */

static int other_cpu(void)
{
	int cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());

	return cpu < nr_cpu_ids ? cpu : raw_smp_processor_id();
}

static void abort_ipi(void *ah)
{
	ktask_abort_handle_abort(ah);
	ktask_abort_handle_put(ah);
}

static void nop_ipi(void *unused)
{
}

/* Abort from a hardirq on the other CPU while the task completes. */
KT_RT_CASE(race_abort_vs_complete)
{
	int i, done = 0, cancelled = 0;

	for (i = 0; i < 5000; i++) {
		struct ktask_handle *h;
		struct probe p;
		int ret;

		probe_init(&p, 1);
		h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
		KT_ASSERT_NOT_ERR_OR_NULL(h);
		if (i & 1)
			udelay(get_random_u32() % 8);
		/* Asynchronous: the abort races this CPU's drain. */
		smp_call_function_single(other_cpu(), abort_ipi,
					 ktask_abort_handle(h), 0);
		ret = ktask_join(h, NULL);
		KT_ASSERT(ret == 0 || ret == -ECANCELED);
		KT_ASSERT_EQ(atomic_read(&p.drops), 1);
		KT_ASSERT_EQ(atomic_read(&p.drop_outputs), 0);
		KT_ASSERT_EQ(atomic_read(&p.polls), ret ? 0 : 1);
		if (ret)
			cancelled++;
		else
			done++;
	}
	/* IPIs run in order: once these ran, every abort handle is put. */
	on_each_cpu(nop_ipi, NULL, 1);
	pr_info("ktask_test: abort vs complete: %d completed, %d cancelled\n",
		done, cancelled);
	return 0;
}

struct waker_race {
	struct probe *p;
	atomic_t wakes_sent;
	atomic_t stop;
	struct completion done;
};

static int wake_racer(void *arg)
{
	struct waker_race *wr = arg;

	while (!atomic_read(&wr->stop)) {
		if (probe_wake(wr->p))
			atomic_inc(&wr->wakes_sent);
		cond_resched();	/* the drain runs on this CPU too */
	}
	complete(&wr->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/* Wakes from another CPU against polls: none lost, none doubled. */
KT_RT_CASE(race_wake_vs_poll)
{
	struct waker_race wr = {};
	struct task_struct *t;
	struct ktask_handle *h;
	struct probe p;
	int ret;

	probe_init(&p, 5000);
	wr.p = &p;
	init_completion(&wr.done);
	t = kthread_create(wake_racer, &wr, "kt_wake_racer");
	KT_ASSERT_NOT_ERR_OR_NULL(t);
	kthread_bind(t, other_cpu());
	h = ktask_spawn_poll(rt, &probe_ops, &p, GFP_KERNEL);
	if (IS_ERR(h)) {
		ret = PTR_ERR(h);
	} else {
		wake_up_process(t);
		/* A lost wake leaves the task parked forever: time out. */
		ret = ktask_join_timeout(h, NULL, KT_WAIT);
		if (ret == -ETIMEDOUT) {
			ktask_abort(h);
			ktask_join(h, NULL);
		}
	}
	atomic_set(&wr.stop, 1);
	if (!IS_ERR(h))
		wait_for_completion(&wr.done);
	kthread_stop(t);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(atomic_read(&p.double_polls), 0);
	KT_ASSERT_EQ(atomic_read(&p.polls), 5000);
	KT_ASSERT_GE(atomic_read(&wr.wakes_sent), 4999);
	return 0;
}

static void detach_ipi(void *h)
{
	ktask_detach(h);
}

/* Dropping the join handle on another CPU while the task completes. */
static int race_detach_vs_complete(void)
{
	struct probe *p;
	struct ktask_rt *rt;
	int i, outputs = 0, bad = 0;

	p = kcalloc(2000, sizeof(*p), GFP_KERNEL);
	rt = test_rt();
	if (!p || IS_ERR(rt)) {
		kfree(p);
		if (!IS_ERR(rt))
			ktask_rt_destroy(rt);
		return -ENOMEM;
	}
	for (i = 0; i < 2000; i++) {
		struct ktask_handle *h;

		probe_init(&p[i], 1);
		h = ktask_spawn_poll(rt, &probe_ops, &p[i], GFP_KERNEL);
		if (IS_ERR(h))
			break;
		if (i & 1)
			udelay(get_random_u32() % 8);
		/* Asynchronous: the handle drop races this CPU's drain. */
		smp_call_function_single(other_cpu(), detach_ipi, h, 0);
		cond_resched();
	}
	on_each_cpu(nop_ipi, NULL, 1);
	ktask_rt_destroy(rt);
	/*
	 * Each task completed (its output dropped exactly once, by the
	 * harness or by the handle) or, still queued when the runtime went,
	 * was cancelled (no output); its body was dropped exactly once.
	 */
	for (i = 0; i < 2000; i++) {
		if (atomic_read(&p[i].drops) != 1 ||
		    atomic_read(&p[i].drop_outputs) != !!atomic_read(&p[i].polls))
			bad++;
		outputs += atomic_read(&p[i].drop_outputs);
	}
	kfree(p);
	pr_info("ktask_test: detach vs complete: %d outputs dropped\n", outputs);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_GT(outputs, 0);
	return 0;
}

/*
 * Destroy racing spawns from a kthread on the other CPU and from an
 * hrtimer.  A parked sentinel task's drop, which destroy runs once it has
 * closed the runtime, stops the spawners before destroy can free it.
 */
struct spawn_race {
	struct ktask_rt *rt;
	struct hrtimer timer;
	atomic_t stop;
	atomic_t spawned;
	atomic_t refused;
	atomic_t other_err;
	atomic_t bulk_refused;	/* ktask_spawn_bulk()s that met it closed */
	atomic_t ticks;
	struct completion kthread_done;
	struct probe probe;	/* shared by every spawned task */
	struct ktask_handle *handles[512];
	int nr_handles;
};

static void spawn_one(struct spawn_race *sr, bool keep)
{
	struct ktask_handle *h;

	h = ktask_spawn_poll(sr->rt, &probe_ops, &sr->probe, GFP_ATOMIC);
	if (IS_ERR(h)) {
		if (PTR_ERR(h) == -ESHUTDOWN)
			atomic_inc(&sr->refused);
		else if (PTR_ERR(h) != -ENOMEM)
			atomic_inc(&sr->other_err);
		return;
	}
	atomic_inc(&sr->spawned);
	if (keep && sr->nr_handles < ARRAY_SIZE(sr->handles))
		sr->handles[sr->nr_handles++] = h;
	else
		ktask_detach(h);
}

/*
 * A batch of four tasks, kept (joined after destroy) while there is room,
 * else detached: all bound before destroy, or none.
 */
static void spawn_bulk_one(struct spawn_race *sr, bool keep, gfp_t gfp)
{
	struct ktask_handle **h = NULL;
	int err;

	if (keep && sr->nr_handles + 4 <= ARRAY_SIZE(sr->handles))
		h = &sr->handles[sr->nr_handles];
	err = ktask_spawn_bulk(sr->rt, square, NULL, 4, h, gfp);
	if (!err && h)
		sr->nr_handles += 4;
	if (err == -ESHUTDOWN)
		atomic_inc(&sr->bulk_refused);
	else if (err && err != -ENOMEM)
		atomic_inc(&sr->other_err);
}

static enum hrtimer_restart spawn_tick(struct hrtimer *timer)
{
	struct spawn_race *sr = container_of(timer, struct spawn_race, timer);

	if (atomic_read(&sr->stop))
		return HRTIMER_NORESTART;
	/*
	 * From an interrupt too (the interrupt shard, cells one by one;
	 * on PREEMPT_RT a softirq thread: the task shard, in bulk).
	 */
	if (atomic_inc_return(&sr->ticks) % 2)
		spawn_bulk_one(sr, false, GFP_ATOMIC);
	else
		spawn_one(sr, false);
	hrtimer_forward_now(timer, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static int spawn_racer(void *arg)
{
	struct spawn_race *sr = arg;
	unsigned int n = 0;

	while (!atomic_read(&sr->stop)) {
		if (n++ % 2)
			spawn_bulk_one(sr, true, GFP_KERNEL);
		else
			spawn_one(sr, true);
		cond_resched();
	}
	complete(&sr->kthread_done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static enum ktask_poll sentinel_poll(struct ktask_cx *cx, void *arg, long *out)
{
	return KTASK_PENDING;
}

static void sentinel_drop(void *arg)
{
	struct spawn_race *sr = arg;

	/*
	 * The runtime is closed now: let the spawners meet the closed runtime
	 * for a while, then stop them before destroy can free it.
	 */
	usleep_range(200, 400);
	atomic_set(&sr->stop, 1);
	hrtimer_cancel(&sr->timer);
	wait_for_completion(&sr->kthread_done);
}

static const struct ktask_ops sentinel_ops = {
	.poll = sentinel_poll,
	.drop = sentinel_drop,
};

static int race_destroy_vs_spawn_once(struct spawn_race *sr, bool foreign)
{
	struct ktask_handle *sentinel;
	struct task_struct *t;
	int i, ret;

	memset(sr, 0, sizeof(*sr));
	probe_init(&sr->probe, 1);
	init_completion(&sr->kthread_done);
	/* A foreign runtime: every task, and every task of a batch, pins us. */
	sr->rt = foreign ? __ktask_rt_create("race-foreign", NULL, NULL) :
			   test_rt();
	KT_ASSERT_NOT_ERR_OR_NULL(sr->rt);
	sentinel = ktask_spawn_poll(sr->rt, &sentinel_ops, sr, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(sentinel);
	t = kthread_create(spawn_racer, sr, "kt_spawn_racer");
	KT_ASSERT_NOT_ERR_OR_NULL(t);
	kthread_bind(t, other_cpu());
	hrtimer_init(&sr->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	sr->timer.function = spawn_tick;
	wake_up_process(t);
	hrtimer_start(&sr->timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL);
	udelay(get_random_u32() % 500);
	ktask_rt_destroy(sr->rt);
	kthread_stop(t);

	KT_ASSERT_EQ(ktask_join(sentinel, NULL), -ECANCELED);
	for (i = 0; i < sr->nr_handles; i++) {
		ret = ktask_join_timeout(sr->handles[i], NULL, KT_WAIT);
		KT_ASSERT(ret == 0 || ret == -ECANCELED);
	}
	KT_ASSERT_EQ(atomic_read(&sr->other_err), 0);
	/* Every task that was spawned was dropped exactly once. */
	KT_ASSERT_EQ(atomic_read(&sr->probe.drops), atomic_read(&sr->spawned));
	return 0;
}

static int race_destroy_vs_spawn(void)
{
	int i, ret = 0, spawned = 0, refused = 0, bulk_refused = 0;
	int refs = module_refcount(THIS_MODULE);
	long cells = ktask_num_cells();
	struct spawn_race *sr;

	sr = kmalloc(sizeof(*sr), GFP_KERNEL);
	if (!sr)
		return -ENOMEM;
	for (i = 0; i < 200 && !ret; i++) {
		ret = race_destroy_vs_spawn_once(sr, i % 2);
		spawned += atomic_read(&sr->spawned);
		refused += atomic_read(&sr->refused);
		bulk_refused += atomic_read(&sr->bulk_refused);
	}
	kfree(sr);
	pr_info("ktask_test: destroy vs spawn: %d spawned, %d refused, %d bulk spawns refused\n",
		spawned, refused, bulk_refused);
	KT_ASSERT_GT(refused, 0);
	if (ret)
		return ret;
	KT_ASSERT_GT(bulk_refused, 0);
	/* Every detached task of the batches, run or cancelled, is freed. */
	for (i = 0; i < 3000 && ktask_num_cells() != cells; i++)
		usleep_range(1000, 2000);
	KT_ASSERT_EQ(ktask_num_cells(), cells);
	/* Each pin a task took, or a refused batch undid, is gone. */
	KT_ASSERT_EQ(module_refcount(THIS_MODULE), refs);
	return 0;
}

/* A task woken from an hrtimer (hardirq) until it has been polled N times. */
struct timer_wake {
	struct hrtimer timer;
	struct probe probe;
	atomic_t fired;
};

static enum hrtimer_restart timer_wake_fn(struct hrtimer *timer)
{
	struct timer_wake *tw = container_of(timer, struct timer_wake, timer);

	if (probe_wake(&tw->probe))
		atomic_inc(&tw->fired);
	if (atomic_read(&tw->probe.drops))
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, ns_to_ktime(50 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

/*
 * Two tasks that wake each other from one drain, and a third that one of
 * them spawns once they are under way: a wake from a drain's poll goes to
 * the drain's LIFO slot, but only three polls in a row, so the third,
 * pushed to the queue, runs within a few hops instead of waiting for the
 * two to stop.
 */
struct lifo_race {
	struct ktask_rt *rt;
	struct ktask_waker *wakers[2];	/* each side's, taken with xchg() */
	struct ktask_handle *third;
	atomic_t hops;
	atomic_t third_ran;
	int spawned_at;		/* the hop that spawned the third */
	int ran_at;		/* the first hop that saw it had run */
	bool stop;
};

#define LIFO_SPAWN_HOP		20
#define LIFO_MAX_HOPS		20000

static long lifo_third(void *arg)
{
	atomic_set(&((struct lifo_race *)arg)->third_ran, 1);
	return 0;
}

static enum ktask_poll lifo_side(struct lifo_race *lr, int side,
				 struct ktask_cx *cx)
{
	struct ktask_handle *h;
	int hop;

	if (READ_ONCE(lr->stop))
		return KTASK_READY;
	if (!READ_ONCE(lr->wakers[side]))
		WRITE_ONCE(lr->wakers[side],
			   ktask_waker_clone(ktask_cx_waker(cx)));
	hop = atomic_inc_return(&lr->hops);
	if (hop == LIFO_SPAWN_HOP) {
		h = ktask_spawn(lr->rt, lifo_third, lr, GFP_ATOMIC);
		lr->spawned_at = hop;
		lr->third = IS_ERR(h) ? NULL : h;
	}
	if (atomic_read(&lr->third_ran) || hop >= LIFO_MAX_HOPS) {
		lr->ran_at = hop;
		WRITE_ONCE(lr->stop, true);
	}
	ktask_wake(xchg(&lr->wakers[!side], NULL));
	return READ_ONCE(lr->stop) ? KTASK_READY : KTASK_PENDING;
}

static enum ktask_poll lifo_side0(struct ktask_cx *cx, void *arg, long *out)
{
	return lifo_side(arg, 0, cx);
}

static enum ktask_poll lifo_side1(struct ktask_cx *cx, void *arg, long *out)
{
	return lifo_side(arg, 1, cx);
}

static const struct ktask_ops lifo_ops[2] = {
	{ .poll = lifo_side0 },
	{ .poll = lifo_side1 },
};

KT_RT_CASE(lifo_slot_does_not_starve_the_queue)
{
	struct lifo_race *lr = kzalloc(sizeof(*lr), GFP_KERNEL);
	struct ktask_handle *h[2];
	int i, err[3] = {}, hops;

	if (!lr)
		return -ENOMEM;
	lr->rt = rt;
	for (i = 0; i < 2; i++)
		h[i] = ktask_spawn_poll(rt, &lifo_ops[i], lr, GFP_KERNEL);
	for (i = 0; i < 2; i++)
		err[i] = IS_ERR(h[i]) ? PTR_ERR(h[i]) :
			 ktask_join_timeout(h[i], NULL, KT_WAIT);
	if (lr->third)
		err[2] = ktask_join_timeout(lr->third, NULL, KT_WAIT);
	ktask_waker_drop(xchg(&lr->wakers[0], NULL));
	ktask_waker_drop(xchg(&lr->wakers[1], NULL));
	hops = lr->ran_at - lr->spawned_at;
	i = atomic_read(&lr->third_ran) && lr->third;
	kfree(lr);
	pr_info("ktask_test: lifo: the third ran %d hops after its spawn\n",
		hops);
	KT_ASSERT_EQ(err[0], 0);
	KT_ASSERT_EQ(err[1], 0);
	KT_ASSERT_EQ(err[2], 0);
	KT_ASSERT(i);
	/* Three LIFO hops, then the queue: the third is next. */
	KT_ASSERT_LE(hops, 16);
	return 0;
}

KT_RT_CASE(wake_from_timer_irq)
{
	struct timer_wake tw = {};
	struct ktask_handle *h;
	int ret;

	probe_init(&tw.probe, 2000);
	h = ktask_spawn_poll(rt, &probe_ops, &tw.probe, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	/*
	 * On the stack: tell debug objects (CONFIG_DEBUG_OBJECTS_TIMERS).
	 * _HARD: in hardirq on PREEMPT_RT too, where a plain hrtimer runs
	 * in a thread.  The wake by value there is legal: the join handle
	 * keeps the task, so it never drops the last reference.
	 */
	hrtimer_init_on_stack(&tw.timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	tw.timer.function = timer_wake_fn;
	hrtimer_start(&tw.timer, ns_to_ktime(50 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_HARD);
	ret = ktask_join_timeout(h, NULL, KT_WAIT);
	if (ret == -ETIMEDOUT) {
		ktask_abort(h);
		ktask_join(h, NULL);
	}
	hrtimer_cancel(&tw.timer);
	destroy_hrtimer_on_stack(&tw.timer);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(atomic_read(&tw.probe.polls), 2000);
	KT_ASSERT_EQ(atomic_read(&tw.fired), 1999);
	KT_ASSERT_EQ(atomic_read(&tw.probe.double_polls), 0);
	return 0;
}

/*
 * One task that a hardirq wakes again and again, each time after its queue
 * ran dry and with nothing else woken from an interrupt in between (one
 * connection's requests): from the fourth wake on, the waking CPU's
 * worker polls it, not another CPU's (see ktask_rq_dispatch()).
 */
#define IRQ_STREAM_POLLS	10

struct irq_stream {
	struct hrtimer timer;
	struct ktask_waker *waker;	/* the first poll's; then the timer's */
	struct completion polled;
	atomic_t polls;
	int fired_on;			/* the CPU of the latest wake */
	int local;			/* polls after a wake, on its CPU */
};

static enum ktask_poll irq_stream_poll(struct ktask_cx *cx, void *arg,
				       long *out)
{
	struct irq_stream *is = arg;
	int n = atomic_inc_return(&is->polls);

	if (n == 1)
		is->waker = ktask_waker_clone(ktask_cx_waker(cx));
	else if (raw_smp_processor_id() == READ_ONCE(is->fired_on))
		is->local++;
	complete(&is->polled);
	if (n < IRQ_STREAM_POLLS)
		return KTASK_PENDING;
	*out = 0;
	return KTASK_READY;
}

static const struct ktask_ops irq_stream_ops = { .poll = irq_stream_poll };

static enum hrtimer_restart irq_stream_fire(struct hrtimer *timer)
{
	struct irq_stream *is = container_of(timer, struct irq_stream, timer);

	WRITE_ONCE(is->fired_on, smp_processor_id());
	ktask_wake_by_ref(is->waker);
	return HRTIMER_NORESTART;
}

KT_RT_CASE(irq_stream_polled_on_waking_cpu)
{
	struct irq_stream is = { .fired_on = -1 };
	struct ktask_handle *h;
	int i, ret = 0;

	/* On one CPU every poll is on the timer's: nothing to tell apart. */
	if (num_online_cpus() < 2)
		KT_SKIP("needs a second CPU to poll elsewhere");
	init_completion(&is.polled);
	h = ktask_spawn_poll(rt, &irq_stream_ops, &is, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	hrtimer_init_on_stack(&is.timer, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL_PINNED_HARD);
	is.timer.function = irq_stream_fire;
	/*
	 * Every wake from this CPU's timer: a queue's hint is its own, and
	 * a move to the other CPU would start the stream again.
	 */
	migrate_disable();
	for (i = 1; i <= IRQ_STREAM_POLLS; i++) {
		if (!wait_for_completion_timeout(&is.polled, 10 * HZ)) {
			ret = -ETIMEDOUT;
			break;
		}
		if (i == IRQ_STREAM_POLLS)
			break;
		/*
		 * Past the poll's return, the drain's linger (linger_us, 50)
		 * and the worker's sleep: the next wake dispatches anew.
		 */
		usleep_range(1000, 2000);
		hrtimer_start(&is.timer, ns_to_ktime(10 * NSEC_PER_USEC),
			      HRTIMER_MODE_REL_PINNED_HARD);
	}
	migrate_enable();
	if (!ret)
		ret = ktask_join_timeout(h, NULL, KT_WAIT);
	/* Any other return consumed the handle. */
	if (ret == -ETIMEDOUT) {
		ktask_abort(h);
		ktask_join(h, NULL);
	}
	hrtimer_cancel(&is.timer);
	destroy_hrtimer_on_stack(&is.timer);
	if (is.waker)
		ktask_waker_drop(is.waker);
	pr_info("ktask_test: irq stream: %d of %d wakes polled on their CPU\n",
		is.local, IRQ_STREAM_POLLS - 1);
	KT_ASSERT_EQ(ret, 0);
	/*
	 * The first three wakes make the stream (KTASK_IRQ_STREAM is 2):
	 * another CPU's worker.  Each later one the waking CPU's; one slack
	 * for a worker of that CPU that is not idle yet.  Another CPU's
	 * first: none of them.
	 */
	KT_ASSERT_GE(is.local, IRQ_STREAM_POLLS - 5);
	return 0;
}

/*
 * A driver's threaded interrupt handler: a software interrupt (a
 * descriptor of our own on the dummy chip, raised with
 * generic_handle_irq() from a hardirq-context hrtimer) whose primary
 * handler wakes its thread, and whose thread function, in the irq thread,
 * wakes a parked task and spawns another.  On PREEMPT_RT too: the thread
 * is where RT runs interrupt work, and where spawns are allowed.
 */
struct threaded_irq {
	struct hrtimer timer;
	struct ktask_rt *rt;
	struct probe probe;
	struct ktask_handle *spawned;
	struct completion ran;
	unsigned int irq;
	bool woke;
	bool in_thread;
};

static irqreturn_t threaded_irq_primary(int irq, void *data)
{
	return IRQ_WAKE_THREAD;
}

static irqreturn_t threaded_irq_thread(int irq, void *data)
{
	struct threaded_irq *ti = data;

	ti->in_thread = in_task() && (current->flags & PF_KTHREAD);
	ti->woke = probe_wake(&ti->probe);
	ti->spawned = ktask_spawn(ti->rt, square, (void *)6L, GFP_KERNEL);
	complete(&ti->ran);
	return IRQ_HANDLED;
}

static enum hrtimer_restart threaded_irq_raise(struct hrtimer *timer)
{
	struct threaded_irq *ti = container_of(timer, struct threaded_irq,
					       timer);

	generic_handle_irq(ti->irq);
	return HRTIMER_NORESTART;
}

KT_RT_CASE(wake_and_spawn_from_threaded_irq)
{
	struct threaded_irq *ti = kzalloc(sizeof(*ti), GFP_KERNEL);
	struct ktask_handle *h = ERR_PTR(-EINVAL);
	long out = -1;
	int irq, err, joined = -EINVAL, ran = 0;

	if (!ti)
		return -ENOMEM;
	ti->rt = rt;
	init_completion(&ti->ran);
	probe_init(&ti->probe, 2);
	irq = irq_alloc_desc(NUMA_NO_NODE);
	if (irq < 0) {
		kfree(ti);
		return irq;
	}
	ti->irq = irq;
	irq_set_chip_and_handler(irq, &dummy_irq_chip, handle_simple_irq);
	irq_clear_status_flags(irq, IRQ_NOREQUEST | IRQ_NOPROBE);
	err = request_threaded_irq(irq, threaded_irq_primary,
				   threaded_irq_thread, 0, "kt_threaded", ti);
	if (!err) {
		h = ktask_spawn_poll(rt, &probe_ops, &ti->probe, GFP_KERNEL);
		if (!IS_ERR(h) && probe_wait_polled(&ti->probe)) {
			/* _HARD: raised from hardirq on PREEMPT_RT too. */
			hrtimer_init(&ti->timer, CLOCK_MONOTONIC,
				     HRTIMER_MODE_REL_HARD);
			ti->timer.function = threaded_irq_raise;
			hrtimer_start(&ti->timer, ns_to_ktime(NSEC_PER_MSEC),
				      HRTIMER_MODE_REL_HARD);
			ran = wait_for_completion_timeout(&ti->ran, KT_WAIT);
			hrtimer_cancel(&ti->timer);
		}
		free_irq(irq, ti);
	}
	irq_free_desc(irq);
	if (!IS_ERR(h)) {
		joined = ktask_join_timeout(h, NULL, KT_WAIT);
		if (joined == -ETIMEDOUT) {
			ktask_abort(h);
			ktask_join(h, NULL);
		}
	}
	if (!IS_ERR_OR_NULL(ti->spawned) &&
	    ktask_join_timeout(ti->spawned, &out, KT_WAIT))
		out = -1;
	err = err ?: IS_ERR(h) ? PTR_ERR(h) : 0;
	ran = ran && ti->in_thread && ti->woke;
	kfree(ti);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT(ran);
	KT_ASSERT_EQ(joined, 0);
	KT_ASSERT_EQ(out, 36);
	return 0;
}

/* Task i poll-joins task i + 1; the last is woken from a timer. */
#define CHAIN_LEN	64

KT_RT_CASE(join_poll_chain)
{
	struct {
		struct joiner j[CHAIN_LEN];
		struct probe p;
	} *c = kmalloc(sizeof(*c), GFP_KERNEL);
	struct ktask_handle *head = NULL;
	struct joiner *j;
	int round, i, ret = 0;
	long out = 0;

	if (!c)
		return -ENOMEM;
	j = c->j;
	for (round = 0; round < 50 && !ret; round++) {
		probe_init(&c->p, 2);
		memset(j, 0, sizeof(c->j));
		j[CHAIN_LEN - 1].target = ktask_spawn_poll(rt, &probe_ops, &c->p,
							   GFP_KERNEL);
		for (i = CHAIN_LEN - 1; i >= 0; i--) {
			struct ktask_handle *h;

			h = ktask_spawn_poll(rt, &joiner_ops, &j[i], GFP_KERNEL);
			if (IS_ERR(h) || IS_ERR(j[i].target)) {
				ret = -ENOMEM;
				break;
			}
			if (i)
				j[i - 1].target = h;
			else
				head = h;
		}
		if (ret)
			break;
		if (!probe_wait_polled(&c->p) || !probe_wake(&c->p)) {
			ret = -ETIMEDOUT;
			break;
		}
		ret = ktask_join(head, &out);
		if (!ret && out != (long)&c->p + CHAIN_LEN)
			ret = -EINVAL;
	}
	/*
	 * After a failure, tasks of the chain may still use @c until the
	 * runtime is destroyed, after this function: leak it rather than
	 * free it under them.
	 */
	if (!ret)
		kfree(c);
	KT_ASSERT_EQ(ret, 0);
	return 0;
}

/* 100,000 tiny tasks, spawned from both CPUs and joined. */
#define MANY		100000
#define MANY_BATCH	1000

struct many {
	struct ktask_rt *rt;
	long sum;
	int err;
	struct completion done;
};

static long identity(void *arg)
{
	return (long)arg;
}

static int many_worker(void *arg)
{
	struct many *m = arg;
	struct ktask_handle **h = kmalloc_array(MANY_BATCH, sizeof(*h), GFP_KERNEL);
	int i, b;

	if (!h) {
		m->err = -ENOMEM;
		goto out;
	}
	for (b = 0; b < MANY / 2 / MANY_BATCH && !m->err; b++) {
		for (i = 0; i < MANY_BATCH; i++)
			h[i] = ktask_spawn(m->rt, identity, (void *)(long)i,
					   GFP_KERNEL);
		for (i = 0; i < MANY_BATCH; i++) {
			long out = 0;
			int ret;

			if (IS_ERR(h[i])) {
				m->err = PTR_ERR(h[i]);
				continue;
			}
			ret = ktask_join(h[i], &out);
			if (ret)
				m->err = ret;
			m->sum += out;
		}
	}
	kfree(h);
out:
	complete(&m->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static int many_tasks(void)
{
	struct ktask_rt *rt;
	long cells = ktask_num_cells();
	struct task_struct *t[2];
	struct many m[2] = {};
	long expect = (long)(MANY / 2 / MANY_BATCH) * (MANY_BATCH - 1) *
		      MANY_BATCH / 2;
	int i;

	rt = test_rt();
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	for (i = 0; i < 2; i++) {
		m[i].rt = rt;
		init_completion(&m[i].done);
		t[i] = kthread_create(many_worker, &m[i], "kt_many/%d", i);
		KT_ASSERT_NOT_ERR_OR_NULL(t[i]);
		kthread_bind(t[i], i ? other_cpu() : raw_smp_processor_id());
	}
	for (i = 0; i < 2; i++)
		wake_up_process(t[i]);
	for (i = 0; i < 2; i++) {
		wait_for_completion(&m[i].done);
		kthread_stop(t[i]);
	}
	KT_ASSERT_EQ(wait_none_alive(rt), 0);
	ktask_rt_destroy(rt);
	for (i = 0; i < 2; i++) {
		KT_ASSERT_EQ(m[i].err, 0);
		KT_ASSERT_EQ(m[i].sum, expect);
	}
	KT_ASSERT_EQ(ktask_num_cells(), cells);
	return 0;
}

static const struct kt_case core_cases[] = {
	KT_CASE(spawn_join_fn),
	KT_CASE(output_with_drop_keeps_pin),
	KT_CASE(pinned_output_consumed_racing_completion),
	KT_CASE(runtime_hooks_counted),
	KT_CASE(runtime_metrics_counted),
	KT_CASE(join_returns_after_unpin),
	KT_CASE(wake_null_is_a_noop),
	KT_CASE(join_killable_interrupted),
	KT_CASE(mem_reclaim_runtime_runs_tasks),
	KT_CASE(highpri_runtime_polls_at_nice_min),
	KT_CASE(highpri_worker_demoted_by_forced_yields),
	KT_CASE(drop_joining_sibling_in_destroy),
	KT_CASE(helping_join_runs_task_as_itself),
	KT_CASE(offline_does_not_wait_for_task),
	KT_CASE(spawn_join_poll_ready),
	KT_CASE(join_null_out),
	KT_CASE(spawn_atomic_context),
	KT_CASE(join_timeout_then_join),
	KT_CASE(is_finished),
	KT_CASE(wake_by_val_repolls),
	KT_CASE(wake_by_ref_keeps_waker),
	KT_CASE(wake_while_running_repolls),
	KT_CASE(wake_after_complete_frees),
	KT_CASE(waker_drop_without_wake),
	KT_CASE(wakes_coalesce),
	KT_CASE(abort_idle_task),
	KT_CASE(abort_before_first_poll),
	KT_CASE(abort_while_running),
	KT_CASE(abort_after_complete),
	KT_CASE(abort_handle_aborts),
	KT_CASE(detach_runs_and_drops_output),
	KT_CASE(detach_before_first_poll),
	KT_CASE(detach_after_complete_drops_output),
	KT_CASE(task_ids),
	KT_CASE(join_from_worker_edeadlk),
	KT_CASE(join_poll_pending_then_ready),
	KT_CASE(join_poll_self_edeadlk),
	KT_CASE(join_replaces_task_waker),
	KT_CASE(create_bad_options),
	KT_CASE(create_unbound),
	KT_CASE(bad_arguments),
	KT_CASE(spawn_on_own_runtime_does_not_pin),
	KT_CASE(spawn_on_foreign_runtime_pins),
	KT_CASE(destroy_cancels_and_closes),
	KT_CASE(coop_forced_yield),
	KT_CASE(coop_made_progress),
	KT_CASE(race_abort_vs_complete),
	KT_CASE(race_wake_vs_poll),
	KT_CASE(race_detach_vs_complete),
	KT_CASE(race_destroy_vs_spawn),
	KT_CASE(wake_from_timer_irq),
	KT_CASE(irq_stream_polled_on_waking_cpu),
	KT_CASE(wake_and_spawn_from_threaded_irq),
	KT_CASE(lifo_slot_does_not_starve_the_queue),
	KT_CASE(join_poll_chain),
	KT_CASE(many_tasks),
};

KT_TEST_MODULE(core, core_cases);
