// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_bulk: ktask_spawn_bulk(), many tasks in one call: outputs,
 * ids and the order they run in, detached tasks, bad input, the context it
 * may be called from, module pins, and what the runtime counts.
 * Allocation failure part way through is test_fault.sh's.
 */
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/irqflags.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "ktask_test.h"

#define KT_WAIT		(30 * HZ)

static long square(void *arg)
{
	long x = (long)arg;

	return x * x;
}

/* Fill @args with 0 .. @nr - 1. */
static void bulk_args(void **args, unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++)
		args[i] = (void *)(long)i;
}

/* Wait (bounded) for @rt's tasks to be released; return how many are not. */
static long wait_none_alive(struct ktask_rt *rt)
{
	unsigned long end = jiffies + KT_WAIT;

	while (ktask_rt_num_alive(rt) && time_before(jiffies, end))
		usleep_range(1000, 2000);
	return ktask_rt_num_alive(rt);
}

/*
 * Join @nr handles, all within KT_WAIT (a lost batch fails in 30 s, not
 * 30 s a task); count the outputs that are not i * i.
 */
static int join_squares(struct ktask_handle **h, unsigned int nr)
{
	unsigned long end = jiffies + KT_WAIT;
	unsigned int i;
	int bad = 0;

	for (i = 0; i < nr; i++) {
		long left = max_t(long, (long)(end - jiffies), 1);
		long out = -1;
		int ret = ktask_join_timeout(h[i], &out, left);

		/* Timed out: the handle is still ours, let it go. */
		if (ret == -ETIMEDOUT)
			ktask_detach(h[i]);
		if (ret || out != (long)i * i)
			bad++;
	}
	return bad;
}

/* Every task runs with its own argument; handles and ids in @args' order. */
KT_RT_CASE(bulk_spawn_join)
{
	struct ktask_handle *h[KTASK_SPAWN_BULK_MAX];
	void *args[KTASK_SPAWN_BULK_MAX];
	struct ktask_rt_metrics m;
	unsigned int i;

	bulk_args(args, ARRAY_SIZE(args));
	KT_ASSERT_EQ(ktask_spawn_bulk(rt, square, args, ARRAY_SIZE(h), h,
				      GFP_KERNEL), 0);
	/* Ids are unique and grow along the batch (one shard, in order). */
	for (i = 1; i < ARRAY_SIZE(h); i++)
		KT_ASSERT_GT(ktask_id(h[i]), ktask_id(h[i - 1]));
	KT_ASSERT_EQ(join_squares(h, ARRAY_SIZE(h)), 0);
	KT_ASSERT_EQ(wait_none_alive(rt), 0);
	/* The runtime counts each of them, as @nr spawns. */
	KT_ASSERT_EQ(ktask_rt_read_metrics(rt, &m), 0);
	KT_ASSERT_EQ(m.spawned, ARRAY_SIZE(h));
	KT_ASSERT_EQ(m.completed, ARRAY_SIZE(h));
	KT_ASSERT_EQ(m.polls, ARRAY_SIZE(h));

	/* One task, and NULL arguments. */
	KT_ASSERT_EQ(ktask_spawn_bulk(rt, square, NULL, 3, h, GFP_KERNEL), 0);
	for (i = 0; i < 3; i++) {
		long out = -1;

		KT_ASSERT_EQ(ktask_join_timeout(h[i], &out, KT_WAIT), 0);
		KT_ASSERT_EQ(out, 0);
	}
	return 0;
}

/* The tasks of one batch run in the order of @args. */
struct order {
	atomic_t next;
	int seen[KTASK_SPAWN_BULK_MAX];
};

static struct order *order_of;

static long record_order(void *arg)
{
	int n = atomic_inc_return(&order_of->next) - 1;

	if (n < ARRAY_SIZE(order_of->seen))
		order_of->seen[n] = (long)arg;
	return 0;
}

KT_RT_CASE(bulk_spawn_runs_in_order)
{
	struct ktask_handle *h[KTASK_SPAWN_BULK_MAX];
	void *args[KTASK_SPAWN_BULK_MAX];
	unsigned int i, round, bad = 0;
	unsigned long end;

	order_of = kzalloc(sizeof(*order_of), GFP_KERNEL);
	KT_ASSERT(order_of);
	bulk_args(args, ARRAY_SIZE(args));
	for (round = 0; round < 10; round++) {
		atomic_set(&order_of->next, 0);
		if (ktask_spawn_bulk(rt, record_order, args, ARRAY_SIZE(h), h,
				     GFP_KERNEL)) {
			bad++;
			break;
		}
		/* All run before the first join: no helping join goes first. */
		end = jiffies + KT_WAIT;
		while (atomic_read(&order_of->next) < ARRAY_SIZE(h) &&
		       time_before(jiffies, end))
			usleep_range(100, 200);
		for (i = 0; i < ARRAY_SIZE(h); i++)
			if (ktask_join_timeout(h[i], NULL, KT_WAIT))
				bad++;
		for (i = 0; i < ARRAY_SIZE(h); i++)
			if (order_of->seen[i] != i) {
				pr_err("ktask_test: round %u: task %d ran %uth\n",
				       round, order_of->seen[i], i);
				bad++;
				break;
			}
	}
	kfree(order_of);
	order_of = NULL;
	KT_ASSERT_EQ(bad, 0);
	return 0;
}

/* Without handles the tasks run detached and are freed when done. */
struct detached {
	atomic_t left;
	struct completion done;
	struct ktask_rt *rt;	/* for a task that spawns more */
};

static long count_down(void *arg)
{
	struct detached *d = arg;

	if (atomic_dec_and_test(&d->left))
		complete(&d->done);
	return 0;
}

/*
 * Wait (bounded) for the detached tasks counted in @d to run, less the
 * @unspawned that never will, then for @rt to hold none of them and the
 * cell count to be back at @cells: each is freed once it has run.
 * Return: 0, -ETIMEDOUT if they did not all run, -EBUSY if some are left.
 */
static int detached_settle(struct ktask_rt *rt, struct detached *d,
			   unsigned int unspawned, long cells)
{
	unsigned int i;

	if (unspawned && atomic_sub_and_test(unspawned, &d->left))
		complete(&d->done);
	if (!wait_for_completion_timeout(&d->done, KT_WAIT))
		return -ETIMEDOUT;
	if (wait_none_alive(rt))
		return -EBUSY;
	for (i = 0; i < 3000 && ktask_num_cells() != cells; i++)
		usleep_range(1000, 2000);
	return ktask_num_cells() == cells ? 0 : -EBUSY;
}

KT_RT_CASE(bulk_spawn_detached)
{
	void *args[KTASK_SPAWN_BULK_MAX];
	long cells = ktask_num_cells();
	/* Static: a task a failed case leaves behind writes nothing freed. */
	static struct detached d;
	unsigned int i, unspawned = 0;
	int err = 0;

	atomic_set(&d.left, 4 * ARRAY_SIZE(args));
	init_completion(&d.done);
	for (i = 0; i < ARRAY_SIZE(args); i++)
		args[i] = &d;
	for (i = 0; i < 4; i++) {
		int ret = ktask_spawn_bulk(rt, count_down, args,
					   ARRAY_SIZE(args), NULL, GFP_KERNEL);

		if (ret) {
			err = err ?: ret;
			unspawned += ARRAY_SIZE(args);
		}
	}
	KT_ASSERT_EQ(detached_settle(rt, &d, unspawned, cells), 0);
	KT_ASSERT_EQ(err, 0);
	return 0;
}

/*
 * Single spawns without a handle (ktask_spawn_detached()): each task runs
 * once and is freed when it returns; bad input spawns nothing.
 */
KT_RT_CASE(spawn_detached_runs_and_frees)
{
	long cells = ktask_num_cells();
	static struct detached d;
	unsigned int i, unspawned = 0;
	int err = 0;

	atomic_set(&d.left, 256);
	init_completion(&d.done);
	for (i = 0; i < 256; i++) {
		int ret = ktask_spawn_detached(rt, count_down, &d, GFP_KERNEL);

		if (ret) {
			err = err ?: ret;
			unspawned++;
		}
	}
	KT_ASSERT_EQ(detached_settle(rt, &d, unspawned, cells), 0);
	KT_ASSERT_EQ(err, 0);

	KT_ASSERT_EQ(ktask_spawn_detached(rt, NULL, &d, GFP_KERNEL), -EINVAL);
	KT_ASSERT_EQ(ktask_spawn_detached(NULL, count_down, &d, GFP_KERNEL),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_spawn_detached(ERR_PTR(-ENOMEM), count_down, &d,
					  GFP_KERNEL), -EINVAL);
	KT_ASSERT_EQ(ktask_num_cells(), cells);
	KT_ASSERT_EQ(ktask_rt_num_alive(rt), 0);
	return 0;
}

/* Bad input spawns nothing and leaves @handles alone. */
KT_RT_CASE(bulk_spawn_bad_input)
{
	struct ktask_handle *h[KTASK_SPAWN_BULK_MAX + 1];
	long cells = ktask_num_cells();
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(h); i++)
		h[i] = ERR_PTR(-EBADF);
	KT_ASSERT_EQ(ktask_spawn_bulk(rt, square, NULL, 0, h, GFP_KERNEL),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_spawn_bulk(rt, square, NULL,
				      KTASK_SPAWN_BULK_MAX + 1, h, GFP_KERNEL),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_spawn_bulk(rt, NULL, NULL, 2, h, GFP_KERNEL),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_spawn_bulk(NULL, square, NULL, 2, h, GFP_KERNEL),
		     -EINVAL);
	KT_ASSERT_EQ(ktask_spawn_bulk(ERR_PTR(-ENOMEM), square, NULL, 2, h,
				      GFP_KERNEL), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(h); i++)
		KT_ASSERT_PTR_EQ(h[i], ERR_PTR(-EBADF));
	KT_ASSERT_EQ(ktask_num_cells(), cells);
	KT_ASSERT_EQ(ktask_rt_num_alive(rt), 0);
	return 0;
}

/*
 * With interrupts off (GFP_ATOMIC): the task shard still, and cells taken
 * one by one.  From a real interrupt: test_core.sh's race_destroy_vs_spawn.
 */
KT_RT_CASE(bulk_spawn_atomic_context)
{
	struct ktask_handle *h[16];
	void *args[16];
	unsigned long flags;
	int err;

	KT_SKIP_ON_PREEMPT_RT("a spawn with IRQs off is refused there, with a WARN (api.rst)");
	bulk_args(args, ARRAY_SIZE(args));
	local_irq_save(flags);
	err = ktask_spawn_bulk(rt, square, args, ARRAY_SIZE(h), h, GFP_ATOMIC);
	local_irq_restore(flags);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT_EQ(join_squares(h, ARRAY_SIZE(h)), 0);
	return 0;
}

/* A task spawns a batch: it goes to its drain's queue and runs. */
static long spawn_children(void *arg)
{
	struct detached *d = arg;
	void *args[8] = { d, d, d, d, d, d, d, d };

	return ktask_spawn_bulk(d->rt, count_down, args,
				ARRAY_SIZE(args), NULL, GFP_KERNEL);
}

KT_RT_CASE(bulk_spawn_from_a_task)
{
	struct ktask_handle *h;
	struct detached d;
	long out = -1;

	atomic_set(&d.left, 8);
	init_completion(&d.done);
	d.rt = rt;
	h = ktask_spawn(rt, spawn_children, &d, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(ktask_join_timeout(h, &out, KT_WAIT), 0);
	KT_ASSERT_EQ(out, 0);
	KT_ASSERT(wait_for_completion_timeout(&d.done, KT_WAIT));
	KT_ASSERT_EQ(wait_none_alive(rt), 0);
	return 0;
}

/*
 * On a runtime another module created, each task of the batch pins us
 * until it is done; the spawn that fails pins nothing.
 */
struct held {
	struct completion release;
	atomic_t started;
};

static long hold(void *arg)
{
	struct held *hd = arg;

	atomic_inc(&hd->started);
	wait_for_completion_timeout(&hd->release, KT_WAIT);
	return 1;
}

static int bulk_spawn_pins_each_task(void)
{
	struct ktask_rt *rt = __ktask_rt_create("bulk-foreign", NULL, NULL);
	int before = module_refcount(THIS_MODULE), during = -1, after = -1;
	struct ktask_handle *h[8];
	void *args[8];
	struct held hd;
	unsigned int i;
	int err, bad = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	init_completion(&hd.release);
	atomic_set(&hd.started, 0);
	for (i = 0; i < ARRAY_SIZE(args); i++)
		args[i] = &hd;
	err = ktask_spawn_bulk(rt, hold, args, ARRAY_SIZE(h), h, GFP_KERNEL);
	if (!err) {
		during = module_refcount(THIS_MODULE);
		complete_all(&hd.release);
		for (i = 0; i < ARRAY_SIZE(h); i++) {
			long out = 0;

			if (ktask_join_timeout(h[i], &out, KT_WAIT) || out != 1)
				bad++;
		}
		after = module_refcount(THIS_MODULE);
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(during, before + (int)ARRAY_SIZE(h));
	KT_ASSERT_EQ(after, before);
	return 0;
}

/*
 * The runtime's spawn hook sees each task of a batch by its id, and with
 * histograms each task's schedule latency is stamped: one per poll.
 */
struct bulk_hooks {
	atomic_t spawns;
	u64 ids[16];
};

static void bulk_hook_spawn(void *data, u64 id)
{
	struct bulk_hooks *bh = data;
	int n = atomic_inc_return(&bh->spawns) - 1;

	if (n < ARRAY_SIZE(bh->ids))
		bh->ids[n] = id;
}

static int bulk_spawn_hooks_and_histograms(void)
{
	struct bulk_hooks bh = { .spawns = ATOMIC_INIT(0) };
	const struct ktask_rt_hooks hooks = {
		.spawn = bulk_hook_spawn,
		.data = &bh,
	};
	struct ktask_rt_opts opts = {
		.flags = KTASK_RT_HISTOGRAMS,
		.hooks = &hooks,
	};
	struct ktask_rt *rt = ktask_rt_create("bulk-hooks", &opts);
	struct ktask_rt_metrics *m = kzalloc(sizeof(*m), GFP_KERNEL);
	struct ktask_handle *h[16];
	void *args[16];
	u64 sched = 0;
	int i, err = -ENOMEM, bad = -1;

	if (!IS_ERR(rt) && m) {
		bulk_args(args, ARRAY_SIZE(args));
		err = ktask_spawn_bulk(rt, square, args, ARRAY_SIZE(h), h,
				       GFP_KERNEL);
		bad = err ? -1 : 0;
		/* Before the joins, which consume the handles. */
		for (i = 0; !err && i < ARRAY_SIZE(h); i++)
			if (bh.ids[i] != ktask_id(h[i]))
				bad++;
		if (!err)
			bad += join_squares(h, ARRAY_SIZE(h));
		wait_none_alive(rt);
		if (ktask_rt_read_metrics(rt, m))
			bad++;
		for (i = 0; i < ARRAY_SIZE(m->schedule_ns); i++) {
			sched += m->schedule_ns[i];
			/*
			 * None in the last bucket, 2^31 ns (2 s) and more:
			 * each was stamped when queued (a stamp of 0 reads
			 * as anything up to 275 s).
			 */
			if (i == KTASK_HIST_BUCKETS - 1 && m->schedule_ns[i])
				bad++;
		}
	}
	if (!IS_ERR(rt))
		ktask_rt_destroy(rt);
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	KT_ASSERT(m);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(atomic_read(&bh.spawns), ARRAY_SIZE(h));
	KT_ASSERT_EQ(m->spawned, ARRAY_SIZE(h));
	KT_ASSERT(m->histograms);
	KT_ASSERT_EQ(sched, m->polls);
	KT_ASSERT_EQ(m->polls, ARRAY_SIZE(h));
	kfree(m);
	return 0;
}

/*
 * Destroy overtakes a batch: on a foreign runtime, the spawn hook of the
 * batch's first task (run after the whole batch is bound, before any of
 * it is queued) holds the spawn until a thread's ktask_rt_destroy() has
 * cancelled all four.  The spawn still succeeds, each handle joins with
 * -ECANCELED, no task ran, and every pin the batch took is put.
 */
struct overtake {
	struct ktask_rt *rt;
	struct completion go;
	atomic_t hooks, cancelled, ran;
	bool timed_out, destroyed;
};

static void overtake_spawn_hook(void *data, u64 id)
{
	struct overtake *o = data;
	int i;

	if (atomic_inc_return(&o->hooks) != 1)
		return;
	complete(&o->go);
	/*
	 * In the spawn's RCU read section (preemption off but on PREEMPT_RT):
	 * spin, boundedly, while destroy, on another CPU, cancels.
	 */
	for (i = 0; i < 5000 && atomic_read(&o->cancelled) < 4; i++)
		mdelay(1);
	o->timed_out = atomic_read(&o->cancelled) < 4;
}

static void overtake_terminate_hook(void *data, u64 id, int result)
{
	struct overtake *o = data;

	if (result == -ECANCELED)
		atomic_inc(&o->cancelled);
}

static long overtake_fn(void *arg)
{
	atomic_inc(&((struct overtake *)arg)->ran);
	return 0;
}

static int overtake_thread(void *arg)
{
	struct overtake *o = arg;

	if (wait_for_completion_timeout(&o->go, KT_WAIT)) {
		ktask_rt_destroy(o->rt);
		o->destroyed = true;
	}
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static int bulk_spawn_overtaken_by_destroy(void)
{
	struct overtake o = {};
	const struct ktask_rt_hooks hooks = {
		.spawn = overtake_spawn_hook,
		.terminate = overtake_terminate_hook,
		.data = &o,
	};
	struct ktask_rt_opts opts = { .hooks = &hooks };
	int before = module_refcount(THIS_MODULE);
	struct ktask_handle *h[4];
	void *args[4] = { &o, &o, &o, &o };
	struct task_struct *t;
	int i, err, joins = 0;

	if (num_online_cpus() < 2)
		KT_SKIP("needs a second CPU for the destroying thread");
	init_completion(&o.go);
	o.rt = __ktask_rt_create("bulk-overtaken", &opts, NULL);
	KT_ASSERT_NOT_ERR_OR_NULL(o.rt);
	/* The spawner stays on its CPU; the destroyer runs on another. */
	migrate_disable();
	t = kthread_create_on_cpu(overtake_thread, &o,
				  cpumask_any_but(cpu_online_mask,
						  raw_smp_processor_id()),
				  "kt_overtake/%u");
	if (IS_ERR(t)) {
		migrate_enable();
		ktask_rt_destroy(o.rt);
		return PTR_ERR(t);
	}
	get_task_struct(t);
	wake_up_process(t);
	err = ktask_spawn_bulk(o.rt, overtake_fn, args, ARRAY_SIZE(h), h,
			       GFP_KERNEL);
	migrate_enable();
	/* A spawn that failed never called the hook: let the thread go. */
	if (err)
		complete(&o.go);
	for (i = 0; !err && i < ARRAY_SIZE(h); i++)
		if (ktask_join_timeout(h[i], NULL, KT_WAIT) == -ECANCELED)
			joins++;
	kthread_stop(t);
	put_task_struct(t);
	if (!o.destroyed)
		ktask_rt_destroy(o.rt);
	KT_ASSERT(o.destroyed);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT(!o.timed_out);
	KT_ASSERT_EQ(joins, ARRAY_SIZE(h));
	KT_ASSERT_EQ(atomic_read(&o.ran), 0);
	KT_ASSERT_EQ(module_refcount(THIS_MODULE), before);
	return 0;
}

/*
 * A burst of single spawns, all alive before the first join, as a driver
 * that queues a request per item of a large batch: every task runs and is
 * joined with its own output.  test_cells.sh runs it to fill the cell
 * depot (cell.c) and watch it empty again.
 */
#define BURST_TASKS	4096

KT_RT_CASE(cell_burst_spawn_join)
{
	struct ktask_handle **h;
	unsigned int i, n;
	int bad;

	h = kvmalloc_array(BURST_TASKS, sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	for (n = 0; n < BURST_TASKS; n++) {
		h[n] = ktask_spawn(rt, square, (void *)(unsigned long)n,
				   GFP_KERNEL);
		if (IS_ERR(h[n]))
			break;
	}
	bad = n < BURST_TASKS ? (int)PTR_ERR(h[n]) : 0;
	/* Joined even after a failed spawn: nothing is left behind. */
	i = join_squares(h, n);
	kvfree(h);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(i, 0);
	return 0;
}

/*
 * The same burst spawned 16 at a time with ktask_spawn_bulk(): test_cells.sh
 * runs it after cell_burst_spawn_join to check that batches smaller than a
 * magazine take their cells from the depot, not from the slab.
 */
#define BURST_BATCH	16

KT_RT_CASE(cell_burst_bulk_spawn_join)
{
	void *args[BURST_BATCH];
	struct ktask_handle **h;
	unsigned int i, n;
	int err = 0;

	h = kvmalloc_array(BURST_TASKS, sizeof(*h), GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	for (n = 0; n < BURST_TASKS && !err; n += BURST_BATCH) {
		for (i = 0; i < BURST_BATCH; i++)
			args[i] = (void *)(unsigned long)(n + i);
		err = ktask_spawn_bulk(rt, square, args, BURST_BATCH, &h[n],
				       GFP_KERNEL);
	}
	/* Joined even after a failed spawn: nothing is left behind. */
	i = join_squares(h, err ? n - BURST_BATCH : n);
	kvfree(h);
	KT_ASSERT_EQ(err, 0);
	KT_ASSERT_EQ(i, 0);
	return 0;
}

static const struct kt_case bulk_cases[] = {
	KT_CASE(bulk_spawn_join),
	KT_CASE(bulk_spawn_runs_in_order),
	KT_CASE(bulk_spawn_detached),
	KT_CASE(spawn_detached_runs_and_frees),
	KT_CASE(bulk_spawn_bad_input),
	KT_CASE(bulk_spawn_atomic_context),
	KT_CASE(bulk_spawn_from_a_task),
	KT_CASE(bulk_spawn_pins_each_task),
	KT_CASE(bulk_spawn_hooks_and_histograms),
	KT_CASE(bulk_spawn_overtaken_by_destroy),
	KT_CASE(cell_burst_spawn_join),
	KT_CASE(cell_burst_bulk_spawn_join),
};

KT_TEST_MODULE(bulk, bulk_cases);
