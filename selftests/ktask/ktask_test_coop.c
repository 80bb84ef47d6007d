// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_coop: the cooperative budget, worker fairness, the leaf
 * operations (yield, sleep, wait queue, completion) and the blocking pool.
 *
 * Nothing here asserts on wall-clock time: orderings and counts only.
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/ktask.h>
#include <linux/kthread.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "ktask_test.h"

#define KT_WAIT		(30 * HZ)

static struct ktask_rt *coop_rt(unsigned int budget, unsigned int max_polls)
{
	struct ktask_rt_opts opts = {
		.budget = budget,
		.max_polls_per_drain = max_polls,
	};

	return ktask_rt_create("coop", &opts);
}

/* ------------------------------------------------------------------ */
/* Budget                                                              */

/* A task that spins on the budget until told to stop. */
struct hog {
	atomic_t stop;
	int pendings;		/* polls that ended in a forced yield */
};

static enum ktask_poll hog_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct hog *h = arg;

	while (!atomic_read(&h->stop)) {
		if (ktask_consume_budget(cx) == KTASK_PENDING) {
			h->pendings++;
			return KTASK_PENDING;
		}
	}
	return KTASK_READY;
}

static void hog_drop(void *arg)
{
}

static const struct ktask_ops hog_ops = {
	.poll = hog_poll,
	.drop = hog_drop,
};

static long set_stop(void *arg)
{
	atomic_set(arg, 1);
	return 0;
}

/*
 * A task spinning on ktask_consume_budget() cannot starve another task on
 * its run queue: the other is polled after one forced yield of the hog.
 * Both are queued behind a gate task that holds the queue's drain, so that
 * the drain finds them together, hog first.
 */
static int budget_hog_cannot_starve(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *hh = NULL, *sh = NULL, *gh;
	struct hog hog = {};
	struct kt_gate g;
	int r1, r2;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	init_completion(&g.entered);
	init_completion(&g.release);
	migrate_disable();	/* the gate, hog and other on one queue */
	gh = ktask_spawn(rt, kt_gate_fn, &g, GFP_KERNEL);
	if (!IS_ERR(gh) && wait_for_completion_timeout(&g.entered, KT_WAIT)) {
		hh = ktask_spawn_poll(rt, &hog_ops, &hog, GFP_KERNEL);
		sh = ktask_spawn(rt, set_stop, &hog.stop, GFP_KERNEL);
	}
	migrate_enable();
	complete(&g.release);
	if (!IS_ERR(gh))
		ktask_join(gh, NULL);
	if (!hh || !sh) {
		ktask_rt_destroy(rt);
		KT_FAIL("the gate task did not run");
		return -EINVAL;
	}
	r1 = IS_ERR(sh) ? PTR_ERR(sh) : ktask_join_timeout(sh, NULL, KT_WAIT);
	atomic_set(&hog.stop, 1);
	r2 = IS_ERR(hh) ? PTR_ERR(hh) : ktask_join(hh, NULL);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(r1, 0);
	KT_ASSERT_EQ(r2, 0);
	KT_ASSERT_GE(hog.pendings, 1);
	KT_ASSERT_LE(hog.pendings, 3);
	return 0;
}

/* Counts the units a poll gets before the budget runs out. */
static enum ktask_poll count_units_poll(struct ktask_cx *cx, void *arg,
					long *out)
{
	long n = 0;

	while (ktask_consume_budget(cx) == KTASK_READY)
		n++;
	*out = n;
	return KTASK_READY;
}

static const struct ktask_ops count_units_ops = {
	.poll = count_units_poll,
};

static int units_per_poll(struct ktask_rt *rt, long *units)
{
	struct ktask_handle *h;

	if (IS_ERR(rt))
		return PTR_ERR(rt);
	h = ktask_spawn_poll(rt, &count_units_ops, NULL, GFP_KERNEL);
	if (IS_ERR(h))
		return PTR_ERR(h);
	return ktask_join(h, units);
}

/* The default is the module parameter (128); a runtime may set its own. */
static int budget_default_and_option(void)
{
	struct ktask_rt *rt;
	long def = 0, own = 0;
	int r1, r2;

	rt = coop_rt(0, 0);
	r1 = units_per_poll(rt, &def);
	if (!IS_ERR(rt))
		ktask_rt_destroy(rt);
	rt = coop_rt(7, 0);
	r2 = units_per_poll(rt, &own);
	if (!IS_ERR(rt))
		ktask_rt_destroy(rt);
	KT_ASSERT_EQ(r1, 0);
	KT_ASSERT_EQ(r2, 0);
	KT_ASSERT_EQ(def, 128);
	KT_ASSERT_EQ(own, 7);
	return 0;
}

static enum ktask_poll unconstrained_poll(struct ktask_cx *cx, void *arg,
					  long *out)
{
	long n = 0;
	bool was;

	was = ktask_coop_set_unconstrained(cx, true);
	while (n < 1000 && ktask_consume_budget(cx) == KTASK_READY)
		n++;
	ktask_coop_set_unconstrained(cx, was);
	/* Constrained again, with the budget the section did not spend. */
	*out = n * 10 + ktask_has_budget_remaining(cx);
	return KTASK_READY;
}

static const struct ktask_ops unconstrained_ops = {
	.poll = unconstrained_poll,
};

static int unconstrained_opts_out(void)
{
	struct ktask_rt *rt = coop_rt(4, 0);
	struct ktask_handle *h;
	long out = 0;
	int ret;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn_poll(rt, &unconstrained_ops, NULL, GFP_KERNEL);
	ret = IS_ERR(h) ? PTR_ERR(h) : ktask_join(h, &out);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 1000 * 10 + 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Worker fairness                                                     */

struct fair {
	atomic_t done;
	int done_when_it_ran;
	int cpu;			/* the drain's, set by the first task */
	struct task_struct *threads[NR_CPUS];
	struct completion ran;
};

/*
 * A real-time thread bound to a CPU, woken by the first task on that CPU:
 * it takes the CPU at the first point where the drain lets it, and
 * records how many tasks were done by then.
 */
static int fair_thread(void *arg)
{
	struct fair *f = arg;
	int cpu = raw_smp_processor_id();

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		if (READ_ONCE(f->cpu) == cpu && f->done_when_it_ran < 0) {
			__set_current_state(TASK_RUNNING);
			f->done_when_it_ran = atomic_read(&f->done);
			complete(&f->ran);
			continue;
		}
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

static long fair_task(void *arg)
{
	struct fair *f = arg;

	if (atomic_inc_return(&f->done) == 1) {
		int cpu = raw_smp_processor_id();

		WRITE_ONCE(f->cpu, cpu);
		if (f->threads[cpu])
			wake_up_process(f->threads[cpu]);
	}
	return 0;
}

/*
 * A drain polls a bounded number of tasks before it lets other work of its
 * CPU run: a real-time thread woken on the drain's CPU by the first task
 * runs before all of them are done, also on a kernel without involuntary
 * preemption (where it can only take the CPU where the drain offers it).
 * Timed joins, so that the joiner does not run the tasks itself.
 */
static int drain_requeues_behind_other_work(void)
{
	struct ktask_rt *rt = coop_rt(0, 2);
	struct ktask_handle *h[10];
	int i, cpu, bad = 0, err = 0;
	struct fair *f;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f) {
		ktask_rt_destroy(rt);
		return -ENOMEM;
	}
	f->done_when_it_ran = -1;
	f->cpu = -1;
	init_completion(&f->ran);
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		t = kthread_create_on_cpu(fair_thread, f, cpu, "kt_fair/%u");
		if (IS_ERR(t)) {
			err = PTR_ERR(t);
			break;
		}
		get_task_struct(t);
		sched_set_fifo(t);
		f->threads[cpu] = t;
		wake_up_process(t);
	}
	if (!err) {
		/* One CPU's queue; preemptible, as spawns on PREEMPT_RT. */
		migrate_disable();
		for (i = 0; i < ARRAY_SIZE(h); i++)
			h[i] = ktask_spawn(rt, fair_task, f, GFP_ATOMIC);
		migrate_enable();
		for (i = 0; i < ARRAY_SIZE(h); i++)
			if (IS_ERR(h[i]) ||
			    ktask_join_timeout(h[i], NULL, KT_WAIT))
				bad++;
		wait_for_completion_timeout(&f->ran, KT_WAIT);
	}
	for_each_online_cpu(cpu) {
		if (f->threads[cpu]) {
			kthread_stop(f->threads[cpu]);
			put_task_struct(f->threads[cpu]);
		}
	}
	ktask_rt_destroy(rt);
	i = f->done_when_it_ran;
	kfree(f);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_GE(i, 1);
	KT_ASSERT_LT(i, ARRAY_SIZE(h));
	return 0;
}

/* ------------------------------------------------------------------ */
/* Leaf operations                                                     */

struct yielder {
	struct ktask_yield y;
	int yields_left;
	int polls;
};

static enum ktask_poll yielder_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct yielder *y = arg;

	y->polls++;
	while (y->yields_left) {
		if (ktask_yield_now(cx, &y->y) == KTASK_PENDING)
			return KTASK_PENDING;
		y->yields_left--;
	}
	return KTASK_READY;
}

static const struct ktask_ops yielder_ops = {
	.poll = yielder_poll,
};

static int yield_now_repolls(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct yielder y = { .yields_left = 3 };
	struct ktask_handle *h;
	int ret;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn_poll(rt, &yielder_ops, &y, GFP_KERNEL);
	ret = IS_ERR(h) ? PTR_ERR(h) : ktask_join(h, NULL);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(y.polls, 4);
	return 0;
}

#define SLEEPERS	8

struct sleeper {
	struct ktask_sleep s;
	ktime_t deadline;
	int index;
	atomic_t *seq;
	int *order;
	atomic_t *drops;
};

static enum ktask_poll sleeper_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct sleeper *sl = arg;

	if (ktask_sleep_until(cx, &sl->s, sl->deadline) == KTASK_PENDING)
		return KTASK_PENDING;
	sl->order[atomic_inc_return(sl->seq) - 1] = sl->index;
	return KTASK_READY;
}

static void sleeper_drop(void *arg)
{
	struct sleeper *sl = arg;

	ktask_sleep_cancel(&sl->s);
	atomic_inc(sl->drops);
}

static const struct ktask_ops sleeper_ops = {
	.poll = sleeper_poll,
	.drop = sleeper_drop,
};

/* Sleepers spawned in reverse deadline order wake in deadline order. */
static int sleepers_wake_in_deadline_order(void)
{
	struct sleeper *sl = kcalloc(SLEEPERS, sizeof(*sl), GFP_KERNEL);
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h[SLEEPERS];
	int order[SLEEPERS], i, bad = 0;
	atomic_t seq = ATOMIC_INIT(0);
	atomic_t drops = ATOMIC_INIT(0);
	ktime_t now = ktime_get();

	if (!sl || IS_ERR(rt)) {
		kfree(sl);
		if (!IS_ERR(rt))
			ktask_rt_destroy(rt);
		return -ENOMEM;
	}
	/* One CPU: its timers fire in order; preemptible, for PREEMPT_RT. */
	migrate_disable();
	for (i = 0; i < SLEEPERS; i++) {
		sl[i].index = SLEEPERS - 1 - i;
		sl[i].deadline = ktime_add_ms(now, 20 + 5 * sl[i].index);
		sl[i].seq = &seq;
		sl[i].order = order;
		sl[i].drops = &drops;
		ktask_sleep_init(&sl[i].s);
		h[i] = ktask_spawn_poll(rt, &sleeper_ops, &sl[i], GFP_ATOMIC);
	}
	migrate_enable();
	for (i = 0; i < SLEEPERS; i++)
		if (IS_ERR(h[i]) || ktask_join(h[i], NULL))
			bad++;
	ktask_rt_destroy(rt);
	kfree(sl);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(atomic_read(&drops), SLEEPERS);
	for (i = 0; i < SLEEPERS; i++)
		KT_ASSERT_EQ(order[i], i);
	return 0;
}

/* A task waiting on a wait queue, and an hrtimer that wakes it. */
struct waiter {
	struct ktask_wait w;
	wait_queue_head_t wq;
	struct hrtimer timer;
	atomic_t flag;
	atomic_t polls;
	atomic_t drops;
	struct completion parked;
	__poll_t events;	/* for ktask_wait_event_poll(); 0: any */
};

static enum ktask_poll waiter_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct waiter *wt = arg;
	enum ktask_poll ret;

	atomic_inc(&wt->polls);
	ret = ktask_wait_event_poll(cx, &wt->w, &wt->wq, wt->events,
				    atomic_read(&wt->flag));
	if (ret == KTASK_PENDING)
		complete(&wt->parked);
	*out = atomic_read(&wt->flag);
	return ret;
}

static void waiter_drop(void *arg)
{
	struct waiter *wt = arg;

	ktask_wait_cancel(&wt->w);
	atomic_inc(&wt->drops);
}

static const struct ktask_ops waiter_ops = {
	.poll = waiter_poll,
	.drop = waiter_drop,
};

static enum hrtimer_restart waiter_fire(struct hrtimer *timer)
{
	struct waiter *wt = container_of(timer, struct waiter, timer);

	/* What a driver's interrupt handler does. */
	atomic_set(&wt->flag, 1);
	wake_up(&wt->wq);
	return HRTIMER_NORESTART;
}

static void waiter_init(struct waiter *wt)
{
	memset(wt, 0, sizeof(*wt));
	ktask_wait_init(&wt->w);
	init_waitqueue_head(&wt->wq);
	init_completion(&wt->parked);
	/* Always on the caller's stack: see waiter_destroy(). */
	hrtimer_init_on_stack(&wt->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	wt->timer.function = waiter_fire;
}

static void waiter_destroy(struct waiter *wt)
{
	hrtimer_cancel(&wt->timer);
	destroy_hrtimer_on_stack(&wt->timer);
}

static int wait_queue_woken_from_hrtimer(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h;
	struct waiter wt;
	long out = 0;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	waiter_init(&wt);
	h = ktask_spawn_poll(rt, &waiter_ops, &wt, GFP_KERNEL);
	if (!IS_ERR(h)) {
		if (wait_for_completion_timeout(&wt.parked, KT_WAIT))
			hrtimer_start(&wt.timer, ms_to_ktime(1), HRTIMER_MODE_REL);
		else
			ktask_abort(h);
		ret = ktask_join(h, &out);
	}
	waiter_destroy(&wt);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 1);
	KT_ASSERT_GE(atomic_read(&wt.polls), 2);
	KT_ASSERT_EQ(atomic_read(&wt.drops), 1);
	/* Test-only look at the queue: the task is gone, nothing races. */
	KT_ASSERT(!waitqueue_active(&wt.wq));
	return 0;
}

static int wait_queue_abort_leaves_no_entry(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h;
	struct waiter wt;
	bool queued = false;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	waiter_init(&wt);
	h = ktask_spawn_poll(rt, &waiter_ops, &wt, GFP_KERNEL);
	if (!IS_ERR(h)) {
		if (wait_for_completion_timeout(&wt.parked, KT_WAIT)) {
			/* Parked on the queue; nothing wakes it: no race. */
			queued = waitqueue_active(&wt.wq);
		}
		ktask_abort(h);
		ret = ktask_join(h, NULL);
	}
	waiter_destroy(&wt);
	ktask_rt_destroy(rt);
	KT_ASSERT(queued);
	KT_ASSERT_EQ(ret, -ECANCELED);
	KT_ASSERT_EQ(atomic_read(&wt.drops), 1);
	/* The aborted task's drop took its entry off the queue. */
	KT_ASSERT(!waitqueue_active(&wt.wq));
	/* A wake_up() after the abort finds nothing to wake. */
	wake_up(&wt.wq);
	return 0;
}

/*
 * A task that moves between two wait queues on every poll while an
 * hrtimer on each CPU wakes both queues and, every third tick, the task
 * itself through a waker: the move often finds the entry still on the
 * other queue while another CPU's wake_up() may be walking that queue.
 */
#define MOVER_POLLS	2000

struct mover;

struct mover_timer {
	struct hrtimer timer;
	struct mover *mv;
	unsigned int ticks;		/* the timer's only */
};

struct mover {
	struct ktask_wait w;
	wait_queue_head_t wq[2];
	struct ktask_waker *waker;	/* xchg()ed by the poll and the timers */
	struct mover_timer timers[2];
	atomic_t polls;
	atomic_t drops;
};

static enum ktask_poll mover_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct mover *mv = arg;
	int n = atomic_inc_return(&mv->polls);

	if (n >= MOVER_POLLS) {
		ktask_wait_cancel(&mv->w);
		*out = n;
		return KTASK_READY;
	}
	ktask_waker_drop(xchg(&mv->waker,
			      ktask_waker_clone(ktask_cx_waker(cx))));
	ktask_wait_prepare(cx, &mv->w, &mv->wq[n & 1]);
	return KTASK_PENDING;
}

static void mover_drop(void *arg)
{
	struct mover *mv = arg;

	ktask_wait_cancel(&mv->w);
	ktask_waker_drop(xchg(&mv->waker, NULL));
	atomic_inc(&mv->drops);
}

static const struct ktask_ops mover_ops = {
	.poll = mover_poll,
	.drop = mover_drop,
};

static enum hrtimer_restart mover_tick(struct hrtimer *timer)
{
	struct mover_timer *mt = container_of(timer, struct mover_timer, timer);
	struct mover *mv = mt->mv;
	unsigned int t = mt->ticks++;

	if (t % 3 == 2) {
		struct ktask_waker *w = xchg(&mv->waker, NULL);

		if (w)
			ktask_wake(w);
	} else {
		wake_up(&mv->wq[t & 1]);
	}
	hrtimer_forward_now(timer, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

/* Runs on the CPU the timer must fire on. */
static void mover_start_timer(void *arg)
{
	struct mover_timer *mt = arg;

	hrtimer_start(&mt->timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL_PINNED);
}

static int wait_queue_move_while_woken(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	int ret, drops, cpu, i = 0;
	struct ktask_handle *h;
	bool left_queued;
	struct mover *mv;
	long out = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	mv = kzalloc(sizeof(*mv), GFP_KERNEL);
	if (!mv) {
		ktask_rt_destroy(rt);
		return -ENOMEM;
	}
	ktask_wait_init(&mv->w);
	init_waitqueue_head(&mv->wq[0]);
	init_waitqueue_head(&mv->wq[1]);
	for (i = 0; i < 2; i++) {
		hrtimer_init(&mv->timers[i].timer, CLOCK_MONOTONIC,
			     HRTIMER_MODE_REL);
		mv->timers[i].timer.function = mover_tick;
		mv->timers[i].mv = mv;
	}
	h = ktask_spawn_poll(rt, &mover_ops, mv, GFP_KERNEL);
	if (IS_ERR(h)) {
		ret = PTR_ERR(h);
	} else {
		/* One timer on each of the first two online CPUs. */
		i = 0;
		for_each_online_cpu(cpu) {
			if (i == 2)
				break;
			smp_call_function_single(cpu, mover_start_timer,
						 &mv->timers[i++], 1);
		}
		ret = ktask_join_timeout(h, &out, KT_WAIT);
		if (ret == -ETIMEDOUT) {
			ktask_abort(h);
			ktask_join(h, NULL);
		}
		while (i--)
			hrtimer_cancel(&mv->timers[i].timer);
	}
	ktask_rt_destroy(rt);
	/* Test-only look: the task and the timers are gone, nothing races. */
	left_queued = waitqueue_active(&mv->wq[0]);
	/* The same for the other queue. */
	left_queued |= waitqueue_active(&mv->wq[1]);
	drops = atomic_read(&mv->drops);
	kfree(mv);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, MOVER_POLLS);
	KT_ASSERT_EQ(drops, 1);
	KT_ASSERT(!left_queued);
	return 0;
}

struct cwaiter {
	struct ktask_completion_wait cw;
	struct completion *done;
	atomic_t drops;
	atomic_t polls;
};

static enum ktask_poll cwaiter_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct cwaiter *c = arg;

	atomic_inc(&c->polls);
	return ktask_wait_for_completion(cx, &c->cw, c->done);
}

static void cwaiter_drop(void *arg)
{
	struct cwaiter *c = arg;

	ktask_completion_wait_cancel(&c->cw);
	atomic_inc(&c->drops);
}

static const struct ktask_ops cwaiter_ops = {
	.poll = cwaiter_poll,
	.drop = cwaiter_drop,
};

static struct cwaiter *cwaiter_new(struct completion *done)
{
	struct cwaiter *c = kzalloc(sizeof(*c), GFP_KERNEL);

	if (c) {
		c->done = done;
		ktask_completion_wait_init(&c->cw);
	}
	return c;
}

static int wait_for_completion_in_task(void)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h;
	struct cwaiter *c;
	int i, drops, ret = -ENOMEM;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	c = cwaiter_new(&done);
	h = c ? ktask_spawn_poll(rt, &cwaiter_ops, c, GFP_KERNEL) : ERR_PTR(-ENOMEM);
	if (!IS_ERR(h)) {
		for (i = 0; i < 3000 && !atomic_read(&c->polls); i++)
			usleep_range(1000, 2000);
		complete(&done);
		ret = ktask_join(h, NULL);
	}
	ktask_rt_destroy(rt);
	drops = c ? atomic_read(&c->drops) : 0;
	kfree(c);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(drops, 1);
	/* The task consumed the one completion. */
	KT_ASSERT(!try_wait_for_completion(&done));
	return 0;
}

static int completion_wait_abort_keeps_completion(void)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h;
	struct cwaiter *c;
	int i, drops, ret = -ENOMEM;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	c = cwaiter_new(&done);
	h = c ? ktask_spawn_poll(rt, &cwaiter_ops, c, GFP_KERNEL) : ERR_PTR(-ENOMEM);
	if (!IS_ERR(h)) {
		for (i = 0; i < 3000 && !atomic_read(&c->polls); i++)
			usleep_range(1000, 2000);
		ktask_abort(h);
		ret = ktask_join(h, NULL);
	}
	ktask_rt_destroy(rt);
	complete(&done);
	drops = c ? atomic_read(&c->drops) : 0;
	kfree(c);
	KT_ASSERT_EQ(ret, -ECANCELED);
	KT_ASSERT_EQ(drops, 1);
	/* The abandoned wait did not swallow the completion. */
	KT_ASSERT(try_wait_for_completion(&done));
	return 0;
}

#define CW_MANY	100	/* more than completion_waiters' default, 64 */

struct cw_many {
	struct completion done[CW_MANY];
	struct cwaiter *c[CW_MANY];
	struct ktask_handle *h[CW_MANY];
};

/* Spawn CW_MANY completion waiters and wait until each was polled once. */
static int cw_many_spawn(struct ktask_rt *rt, struct cw_many *m)
{
	unsigned long end = jiffies + KT_WAIT;
	int i, polled;

	for (i = 0; i < CW_MANY; i++) {
		init_completion(&m->done[i]);
		m->c[i] = cwaiter_new(&m->done[i]);
		m->h[i] = m->c[i] ? ktask_spawn_poll(rt, &cwaiter_ops, m->c[i],
						     GFP_KERNEL) :
				    ERR_PTR(-ENOMEM);
		if (IS_ERR(m->h[i]))
			return PTR_ERR(m->h[i]);
	}
	do {
		for (polled = 0, i = 0; i < CW_MANY; i++)
			polled += !!atomic_read(&m->c[i]->polls);
		if (polled == CW_MANY)
			return 0;
		usleep_range(1000, 2000);
	} while (time_before(jiffies, end));
	return -ETIMEDOUT;
}

/* After a failed cw_many_spawn(): release the tasks it spawned. */
static void cw_many_abort(struct cw_many *m)
{
	int i;

	for (i = 0; i < CW_MANY; i++) {
		if (IS_ERR_OR_NULL(m->h[i]))
			continue;
		ktask_abort(m->h[i]);
		ktask_join(m->h[i], NULL);
	}
}

static void cw_many_free(struct cw_many *m)
{
	int i;

	for (i = 0; i < CW_MANY; i++)
		kfree(m->c[i]);
	kfree(m);
}

/*
 * More tasks wait for completions than the pool has threads: the waits
 * past the pool's size start as others end, and none is lost.  Completed
 * last-first, so that the queued ones are completed before they are served.
 */
static int completion_waits_beyond_the_pool(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct cw_many *m = kzalloc(sizeof(*m), GFP_KERNEL);
	int i, ret, bad = 0, left = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	ret = m ? cw_many_spawn(rt, m) : -ENOMEM;
	if (ret && m)
		cw_many_abort(m);
	if (!ret) {
		for (i = CW_MANY - 1; i >= 0; i--)
			complete(&m->done[i]);
		for (i = 0; i < CW_MANY; i++)
			if (ktask_join_timeout(m->h[i], NULL, KT_WAIT))
				bad++;
		for (i = 0; i < CW_MANY; i++)
			left += try_wait_for_completion(&m->done[i]);
	}
	ktask_rt_destroy(rt);
	if (m)
		cw_many_free(m);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(bad, 0);
	/* Each task consumed its completion. */
	KT_ASSERT_EQ(left, 0);
	return 0;
}

/*
 * Aborting tasks whose completion waits are queued or served by a waiter
 * thread cancels them all at once, without waiting for the completions;
 * each completion that comes afterwards is still there to take.
 */
static int completion_waits_cancelled_in_flight(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct cw_many *m = kzalloc(sizeof(*m), GFP_KERNEL);
	int i, ret, bad = 0, drops = 0, kept = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	ret = m ? cw_many_spawn(rt, m) : -ENOMEM;
	if (ret && m)
		cw_many_abort(m);
	if (!ret) {
		for (i = 0; i < CW_MANY; i++)
			ktask_abort(m->h[i]);
		for (i = 0; i < CW_MANY; i++)
			if (ktask_join_timeout(m->h[i], NULL, KT_WAIT) !=
			    -ECANCELED)
				bad++;
		for (i = 0; i < CW_MANY; i++) {
			drops += atomic_read(&m->c[i]->drops);
			complete(&m->done[i]);
			kept += try_wait_for_completion(&m->done[i]);
		}
	}
	ktask_rt_destroy(rt);
	if (m)
		cw_many_free(m);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(drops, CW_MANY);
	KT_ASSERT_EQ(kept, CW_MANY);
	return 0;
}

/* ------------------------------------------------------------------ */
/* The blocking pool                                                   */

struct blocker {
	struct completion started;
	struct completion release;
	atomic_t ran;
	u64 task_id_inside;
};

static long blocking_fn(void *arg)
{
	struct blocker *b = arg;

	atomic_inc(&b->ran);
	b->task_id_inside = ktask_current_id();
	complete(&b->started);
	/* It may sleep as long as it likes: no task worker is blocked. */
	wait_for_completion(&b->release);
	return 42;
}

static void blocker_init(struct blocker *b)
{
	init_completion(&b->started);
	init_completion(&b->release);
	atomic_set(&b->ran, 0);
	b->task_id_inside = ~0ULL;
}

static long quick(void *arg)
{
	return 1;
}

static int blocking_runs_off_the_workers(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h, *q;
	struct blocker b;
	long out = 0, qout = 0;
	int ret = -EINVAL, qret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	blocker_init(&b);
	h = ktask_spawn_blocking(rt, blocking_fn, &b, GFP_KERNEL);
	if (!IS_ERR(h)) {
		wait_for_completion_timeout(&b.started, KT_WAIT);
		/* Ordinary tasks still run while the blocking one sleeps. */
		q = ktask_spawn(rt, quick, NULL, GFP_KERNEL);
		qret = IS_ERR(q) ? PTR_ERR(q) : ktask_join_timeout(q, &qout, KT_WAIT);
		complete(&b.release);
		ret = ktask_join(h, &out);
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 42);
	KT_ASSERT_EQ(qret, 0);
	KT_ASSERT_EQ(qout, 1);
	KT_ASSERT_EQ(b.task_id_inside, 0);
	return 0;
}

static long hold_worker(void *arg)
{
	struct blocker *b = arg;

	complete(&b->started);
	wait_for_completion(&b->release);
	return 0;
}

static int blocking_abort_before_start(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h, *hold;
	struct blocker b, w;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	blocker_init(&b);
	blocker_init(&w);
	/* Hold this CPU's queue so the blocking task is not polled yet. */
	migrate_disable();
	hold = ktask_spawn(rt, hold_worker, &w, GFP_ATOMIC);
	h = ktask_spawn_blocking(rt, blocking_fn, &b, GFP_ATOMIC);
	migrate_enable();
	if (!IS_ERR(hold) && !IS_ERR(h)) {
		wait_for_completion_timeout(&w.started, KT_WAIT);
		ktask_abort(h);
		complete(&w.release);
		ret = ktask_join(h, NULL);
		ktask_join(hold, NULL);
	}
	complete(&b.release);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, -ECANCELED);
	KT_ASSERT_EQ(atomic_read(&b.ran), 0);
	return 0;
}

/*
 * A blocking function that joins a task which poll-joins the blocking task
 * would wait for itself: its ktask_join() returns -EDEADLK, which becomes
 * its output, which the other task's join returns.
 */
struct sync_cycle {
	struct completion go;
	struct completion joining;
	struct ktask_handle *blocking;	/* poll-joined by the other task */
	struct ktask_handle *other;	/* joined by the blocking function */
};

static long sync_cycle_fn(void *arg)
{
	struct sync_cycle *sc = arg;

	if (!wait_for_completion_timeout(&sc->go, KT_WAIT))
		return -ETIMEDOUT;
	return ktask_join(sc->other, NULL);
}

static enum ktask_poll sync_cycle_poll(struct ktask_cx *cx, void *arg,
				       long *out)
{
	struct sync_cycle *sc = arg;
	enum ktask_poll ret;
	int err = 0;

	ret = ktask_join_poll(sc->blocking, cx, out, &err);
	if (ret == KTASK_PENDING)
		complete(&sc->joining);
	else if (err)
		*out = err;
	return ret;
}

static const struct ktask_ops sync_cycle_ops = {
	.poll = sync_cycle_poll,
};

static int blocking_join_closing_cycle_edeadlk(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct sync_cycle sc;
	struct ktask_handle *h;
	long out = 0;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	init_completion(&sc.go);
	init_completion(&sc.joining);
	sc.blocking = ktask_spawn_blocking(rt, sync_cycle_fn, &sc, GFP_KERNEL);
	if (IS_ERR(sc.blocking)) {
		ktask_rt_destroy(rt);
		KT_FAIL("spawn_blocking: %ld", PTR_ERR(sc.blocking));
		return -EINVAL;
	}
	/* The other task owns the blocking task's handle from here. */
	h = ktask_spawn_poll(rt, &sync_cycle_ops, &sc, GFP_KERNEL);
	sc.other = h;
	if (!IS_ERR(h) &&
	    wait_for_completion_timeout(&sc.joining, KT_WAIT)) {
		complete(&sc.go);
		ret = ktask_join(h, &out);
	} else {
		complete(&sc.go);
		if (IS_ERR(h))
			ktask_detach(sc.blocking);
		else
			ktask_join(h, NULL);
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, -EDEADLK);
	return 0;
}

static int blocking_abort_after_start(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	int ret = -EINVAL, early = -EINVAL;
	bool finished_early = true;
	struct ktask_handle *h;
	struct blocker b;
	long out = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	blocker_init(&b);
	h = ktask_spawn_blocking(rt, blocking_fn, &b, GFP_KERNEL);
	if (!IS_ERR(h)) {
		wait_for_completion_timeout(&b.started, KT_WAIT);
		/*
		 * Not interrupted, not cancelled: the join waits for the
		 * function (whose argument is still in use) and gets its
		 * output.
		 */
		ktask_abort(h);
		early = ktask_join_timeout(h, &out, HZ / 10);
		finished_early = ktask_is_finished(h);
		complete(&b.release);
		ret = ktask_join(h, &out);
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(early, -ETIMEDOUT);
	KT_ASSERT(!finished_early);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 42);
	KT_ASSERT_EQ(atomic_read(&b.ran), 1);
	return 0;
}

/*
 * Runtime destroy cancels a blocking task whose function runs no more
 * than an abort does: destroy waits for the function and the join then
 * gets its output.
 */
static int destroy_release(void *arg)
{
	struct blocker *b = arg;

	msleep(50);
	complete(&b->release);
	return 0;
}

static int blocking_destroy_waits_for_output(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	struct ktask_handle *h;
	struct task_struct *t;
	struct blocker b;
	long out = 0;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	blocker_init(&b);
	h = ktask_spawn_blocking(rt, blocking_fn, &b, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	wait_for_completion_timeout(&b.started, KT_WAIT);
	t = kthread_run(destroy_release, &b, "kt_release");
	if (IS_ERR(t))
		complete(&b.release);
	ktask_rt_destroy(rt);
	ret = ktask_join(h, &out);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 42);
	return 0;
}

/*
 * ktask_consume_budget_n() with a budget of 10: unconstrained, 1000 units
 * cost nothing; 4 and 6 use it up, 0 costs nothing, 1 more yields; the
 * next poll's 11 yield at once with the budget gone; the third poll's 10
 * are there.
 */
struct charger {
	int polls;
	enum ktask_poll r[6];
	bool left_after_11;
};

static enum ktask_poll charger_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct charger *c = arg;
	bool was;

	switch (c->polls++) {
	case 0:
		was = ktask_coop_set_unconstrained(cx, true);
		c->r[0] = ktask_consume_budget_n(cx, 1000);
		ktask_coop_set_unconstrained(cx, was);
		c->r[1] = ktask_consume_budget_n(cx, 4);
		c->r[2] = ktask_consume_budget_n(cx, 6);
		c->r[3] = ktask_consume_budget_n(cx, 0);
		c->r[4] = ktask_consume_budget_n(cx, 1);
		return KTASK_PENDING;
	case 1:
		c->r[5] = ktask_consume_budget_n(cx, 11);
		c->left_after_11 = ktask_has_budget_remaining(cx);
		return KTASK_PENDING;
	default:
		*out = ktask_consume_budget_n(cx, 10);
		return KTASK_READY;
	}
}

static const struct ktask_ops charger_ops = {
	.poll = charger_poll,
};

static int budget_charged_in_units(void)
{
	struct ktask_rt *rt = coop_rt(10, 0);
	struct ktask_rt_metrics m = {};
	struct charger c = {};
	struct ktask_handle *h;
	long out = -1;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	h = ktask_spawn_poll(rt, &charger_ops, &c, GFP_KERNEL);
	if (!IS_ERR(h))
		ret = ktask_join_timeout(h, &out, KT_WAIT);
	if (!ret)
		ret = ktask_rt_read_metrics(rt, &m);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(c.polls, 3);
	KT_ASSERT_EQ(c.r[0], KTASK_READY);
	KT_ASSERT_EQ(c.r[1], KTASK_READY);
	KT_ASSERT_EQ(c.r[2], KTASK_READY);
	KT_ASSERT_EQ(c.r[3], KTASK_READY);
	KT_ASSERT_EQ(c.r[4], KTASK_PENDING);
	KT_ASSERT_EQ(c.r[5], KTASK_PENDING);
	KT_ASSERT(!c.left_after_11);
	KT_ASSERT_EQ(out, KTASK_READY);
	/* Both PENDINGs were forced yields: the task woke itself. */
	KT_ASSERT_EQ(m.forced_yields, 2);
	return 0;
}

/*
 * Waiting for EPOLLIN: a wake keyed EPOLLOUT leaves the task parked on the
 * queue, unpolled; a wake without a key polls it; one keyed EPOLLIN, with
 * the condition true, completes it.
 */
static int wait_queue_poll_key_filters(void)
{
	struct ktask_rt *rt = coop_rt(0, 0);
	int polls_filtered = -1, polls_plain = -1;
	bool still_queued = false;
	struct ktask_handle *h;
	struct waiter wt;
	long out = 0;
	int ret = -EINVAL;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	waiter_init(&wt);
	wt.events = EPOLLIN;
	h = ktask_spawn_poll(rt, &waiter_ops, &wt, GFP_KERNEL);
	if (!IS_ERR(h)) {
		if (wait_for_completion_timeout(&wt.parked, KT_WAIT)) {
			wake_up_poll(&wt.wq, EPOLLOUT);
			msleep(100);
			polls_filtered = atomic_read(&wt.polls);
			/* Test-only look: parked, nothing else wakes it. */
			still_queued = waitqueue_active(&wt.wq);
			wake_up(&wt.wq);
			if (wait_for_completion_timeout(&wt.parked, KT_WAIT))
				polls_plain = atomic_read(&wt.polls);
			atomic_set(&wt.flag, 1);
			wake_up_poll(&wt.wq, EPOLLIN | EPOLLRDNORM);
		} else {
			ktask_abort(h);
		}
		ret = ktask_join_timeout(h, &out, KT_WAIT);
	}
	waiter_destroy(&wt);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(out, 1);
	KT_ASSERT_EQ(polls_filtered, 1);
	KT_ASSERT(still_queued);
	KT_ASSERT_EQ(polls_plain, 2);
	KT_ASSERT_EQ(atomic_read(&wt.polls), 3);
	KT_ASSERT_EQ(atomic_read(&wt.drops), 1);
	/* Test-only look at the queue: the task is gone, nothing races. */
	KT_ASSERT(!waitqueue_active(&wt.wq));
	return 0;
}

static const struct kt_case coop_cases[] = {
	KT_CASE(budget_hog_cannot_starve),
	KT_CASE(budget_default_and_option),
	KT_CASE(unconstrained_opts_out),
	KT_CASE(drain_requeues_behind_other_work),
	KT_CASE(yield_now_repolls),
	KT_CASE(sleepers_wake_in_deadline_order),
	KT_CASE(wait_queue_woken_from_hrtimer),
	KT_CASE(wait_queue_poll_key_filters),
	KT_CASE(budget_charged_in_units),
	KT_CASE(wait_queue_abort_leaves_no_entry),
	KT_CASE(wait_queue_move_while_woken),
	KT_CASE(wait_for_completion_in_task),
	KT_CASE(completion_wait_abort_keeps_completion),
	KT_CASE(completion_waits_beyond_the_pool),
	KT_CASE(completion_waits_cancelled_in_flight),
	KT_CASE(blocking_runs_off_the_workers),
	KT_CASE(blocking_abort_before_start),
	KT_CASE(blocking_abort_after_start),
	KT_CASE(blocking_join_closing_cycle_edeadlk),
	KT_CASE(blocking_destroy_waits_for_output),
};

KT_TEST_MODULE(coop, coop_cases);
