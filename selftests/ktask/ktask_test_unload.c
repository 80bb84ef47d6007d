// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_unload: a client module that is unloaded while its tasks run.
 *
 * Loading it creates two runtimes and keeps tasks running on both until it
 * is unloaded:
 *
 *  - its own runtime ("unload-own", created with ktask_rt_create(), so
 *    owned by this module): sleepers (ktask_sleep_until() in a loop),
 *    waiters on a wait queue that a timer wakes but whose condition never
 *    holds, function tasks that respawn themselves from the worker, and
 *    blocking functions that sleep.  None of them pins the module: module
 *    exit destroys the runtime, which must cancel them all while their
 *    code is still there.
 *  - a runtime it creates on behalf of nobody (__ktask_rt_create() with no
 *    owner module), on which its tasks pin it: while they run, rmmod must
 *    refuse.  Writing anything to /sys/kernel/debug/ktask_test_unload/release
 *    aborts and joins them, after which rmmod succeeds.
 *
 * Module exit checks that every pollable task was dropped exactly once,
 * that every join handle got -ECANCELED or its output, and that no task
 * cell is left, and logs "ktask_test_unload: exit: PASS" or "... FAIL".
 * test_unload.sh drives it.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/hrtimer.h>
#include <linux/ktask.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/timer.h>
#include <linux/wait.h>

static unsigned int nr_tasks = 64;
module_param(nr_tasks, uint, 0444);
MODULE_PARM_DESC(nr_tasks, "tasks of each kind (default 64)");

enum ut_kind { UT_SLEEPER, UT_WAITER, UT_NR_KINDS };

/**
 * struct ut_task - a pollable task that never finishes by itself
 * @kind: enum ut_kind
 * @sleep: a sleeper's sleep
 * @wait: a waiter's wait
 * @h: its join handle
 * @drops: ops->drop calls
 */
struct ut_task {
	enum ut_kind kind;
	struct ktask_sleep sleep;
	struct ktask_wait wait;
	struct ktask_handle *h;
	atomic_t drops;
};

static struct ktask_rt *ut_own_rt, *ut_foreign_rt;
static struct ut_task *ut_own, *ut_foreign;
static struct ktask_handle **ut_blocking;
static DECLARE_WAIT_QUEUE_HEAD(ut_wq);
static struct timer_list ut_wq_timer;
static atomic_t ut_respawns = ATOMIC_INIT(0);
static atomic_t ut_chains = ATOMIC_INIT(0);
static atomic_t ut_errors = ATOMIC_INIT(0);
static long ut_cells_before;
static bool ut_released;
static DEFINE_MUTEX(ut_lock);
static struct dentry *ut_dir;

#define ut_err(fmt, ...) do {						\
	atomic_inc(&ut_errors);						\
	pr_err("ktask_test_unload: error: " fmt "\n", ##__VA_ARGS__);	\
} while (0)

static enum ktask_poll ut_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct ut_task *t = arg;

	if (atomic_read(&t->drops))
		ut_err("task polled after its drop");
	switch (t->kind) {
	case UT_SLEEPER:
		/*
		 * Polled every millisecond, for ever: the deadline moves.  A
		 * deadline that passed before the sleep began (a slow kernel)
		 * parks nothing: set the next one.
		 */
		while (ktask_sleep_until(cx, &t->sleep,
					 ktime_add_us(ktime_get(), 1000)) ==
		       KTASK_READY)
			;
		return KTASK_PENDING;
	default:
		/* The condition never holds: wait until aborted. */
		if (ktask_wait_event(cx, &t->wait, &ut_wq, false))
			ut_err("waited for a false condition and got it");
		return KTASK_PENDING;
	}
}

static void ut_drop(void *arg)
{
	struct ut_task *t = arg;

	if (t->kind == UT_SLEEPER)
		ktask_sleep_cancel(&t->sleep);
	else
		ktask_wait_cancel(&t->wait);
	atomic_inc(&t->drops);
}

static const struct ktask_ops ut_ops = {
	.poll = ut_poll,
	.drop = ut_drop,
};

/* Wake the waiters now and then: they look at their condition again. */
static void ut_wq_tick(struct timer_list *timer)
{
	wake_up(&ut_wq);
	mod_timer(timer, jiffies + 1);
}

/*
 * A chain of tasks, each spawning its successor from the worker, until the
 * runtime closes.  A chain ends in the drop of a task that did not spawn
 * one, whether its spawn failed or it was cancelled before it ran: after
 * runtime destroy, no chain may be left.
 */
struct ut_link {
	bool spawned;
};

static const struct ktask_ops ut_respawn_ops;

static bool ut_spawn_link(gfp_t gfp)
{
	struct ut_link *l = kzalloc(sizeof(*l), gfp);
	struct ktask_handle *h;

	if (!l)
		return false;
	h = ktask_spawn_poll(ut_own_rt, &ut_respawn_ops, l, gfp);
	if (IS_ERR(h)) {
		if (PTR_ERR(h) != -ESHUTDOWN && PTR_ERR(h) != -ENOMEM)
			ut_err("respawn: %ld", PTR_ERR(h));
		kfree(l);
		return false;
	}
	ktask_detach(h);
	return true;
}

static enum ktask_poll ut_respawn_poll(struct ktask_cx *cx, void *arg,
				       long *out)
{
	struct ut_link *l = arg;

	atomic_inc(&ut_respawns);
	l->spawned = ut_spawn_link(GFP_NOWAIT);
	*out = 0;
	return KTASK_READY;
}

static void ut_respawn_drop(void *arg)
{
	struct ut_link *l = arg;

	if (!l->spawned)
		atomic_dec(&ut_chains);
	kfree(l);
}

static const struct ktask_ops ut_respawn_ops = {
	.poll = ut_respawn_poll,
	.drop = ut_respawn_drop,
};

/* A blocking function: runtime destroy waits for it to return. */
static long ut_block(void *arg)
{
	msleep(20);
	return (long)arg;
}

static int ut_spawn_all(struct ktask_rt *rt, struct ut_task *tasks)
{
	unsigned int i;

	for (i = 0; i < 2 * nr_tasks; i++) {
		struct ut_task *t = &tasks[i];

		t->kind = i % UT_NR_KINDS;
		ktask_sleep_init(&t->sleep);
		ktask_wait_init(&t->wait);
		t->h = ktask_spawn_poll(rt, &ut_ops, t, GFP_KERNEL);
		if (IS_ERR(t->h))
			return PTR_ERR(t->h);
	}
	return 0;
}

/* Join every task of @tasks: each must have been cancelled and dropped. */
static void ut_join_all(struct ut_task *tasks, const char *what)
{
	unsigned int i;
	int ret;

	for (i = 0; i < 2 * nr_tasks; i++) {
		struct ut_task *t = &tasks[i];

		if (IS_ERR_OR_NULL(t->h))
			continue;
		ret = ktask_join(t->h, NULL);
		t->h = NULL;
		if (ret != -ECANCELED)
			ut_err("%s task %u: join returned %d, not -ECANCELED",
			       what, i, ret);
		if (atomic_read(&t->drops) != 1)
			ut_err("%s task %u dropped %d times", what, i,
			       atomic_read(&t->drops));
	}
}

static ssize_t ut_release_write(struct file *file, const char __user *buf,
				size_t count, loff_t *ppos)
{
	unsigned int i;

	mutex_lock(&ut_lock);
	if (!ut_released) {
		for (i = 0; i < 2 * nr_tasks; i++)
			ktask_abort(ut_foreign[i].h);
		ut_join_all(ut_foreign, "foreign");
		ut_released = true;
	}
	mutex_unlock(&ut_lock);
	return count;
}

static const struct file_operations ut_release_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ut_release_write,
};

static int __init ut_init(void)
{
	unsigned int i;
	int ret = -ENOMEM;

	ut_cells_before = ktask_num_cells();
	ut_own = kcalloc(2 * nr_tasks, sizeof(*ut_own), GFP_KERNEL);
	ut_foreign = kcalloc(2 * nr_tasks, sizeof(*ut_foreign), GFP_KERNEL);
	ut_blocking = kcalloc(nr_tasks, sizeof(*ut_blocking), GFP_KERNEL);
	if (!ut_own || !ut_foreign || !ut_blocking)
		goto err_free;

	ut_own_rt = ktask_rt_create("unload-own", NULL);
	if (IS_ERR(ut_own_rt)) {
		ret = PTR_ERR(ut_own_rt);
		goto err_free;
	}
	/* Owned by no module: our tasks on it pin us. */
	ut_foreign_rt = __ktask_rt_create("unload-foreign", NULL, NULL);
	if (IS_ERR(ut_foreign_rt)) {
		ret = PTR_ERR(ut_foreign_rt);
		goto err_own;
	}
	timer_setup(&ut_wq_timer, ut_wq_tick, 0);
	mod_timer(&ut_wq_timer, jiffies + 1);

	ret = ut_spawn_all(ut_own_rt, ut_own);
	if (!ret)
		ret = ut_spawn_all(ut_foreign_rt, ut_foreign);
	for (i = 0; !ret && i < nr_tasks; i++) {
		ut_blocking[i] = ktask_spawn_blocking(ut_own_rt, ut_block,
						      (void *)(long)i,
						      GFP_KERNEL);
		if (IS_ERR(ut_blocking[i]))
			ret = PTR_ERR(ut_blocking[i]);
		atomic_inc(&ut_chains);
		if (!ret && !ut_spawn_link(GFP_KERNEL)) {
			atomic_dec(&ut_chains);
			ret = -ENOMEM;
		}
	}
	if (ret)
		goto err_rts;

	ut_dir = debugfs_create_dir("ktask_test_unload", NULL);
	debugfs_create_file("release", 0200, ut_dir, NULL, &ut_release_fops);
	pr_info("ktask_test_unload: %u tasks of each kind running\n", nr_tasks);
	return 0;

err_rts:
	/* Nothing may be left running: cancel it all, as exit would. */
	ktask_rt_destroy(ut_foreign_rt);
	ktask_rt_destroy(ut_own_rt);
	timer_shutdown_sync(&ut_wq_timer);
	for (i = 0; i < 2 * nr_tasks; i++) {
		if (!IS_ERR_OR_NULL(ut_own[i].h))
			ktask_detach(ut_own[i].h);
		if (!IS_ERR_OR_NULL(ut_foreign[i].h))
			ktask_detach(ut_foreign[i].h);
	}
	for (i = 0; i < nr_tasks; i++)
		if (!IS_ERR_OR_NULL(ut_blocking[i]))
			ktask_detach(ut_blocking[i]);
	goto err_free;
err_own:
	ktask_rt_destroy(ut_own_rt);
err_free:
	kfree(ut_blocking);
	kfree(ut_foreign);
	kfree(ut_own);
	return ret;
}

static void __exit ut_exit(void)
{
	long alive = ktask_rt_num_alive(ut_own_rt);
	unsigned int i;
	long cells;
	int ret;

	debugfs_remove_recursive(ut_dir);
	if (!ut_released)
		ut_err("unloaded while pinned by tasks that were not released");
	/* Everything still runs: this is the unload under load. */
	if (alive < 2 * nr_tasks)
		ut_err("only %ld tasks alive at unload", alive);
	if (!atomic_read(&ut_chains))
		ut_err("the respawning tasks stopped before the unload");

	ktask_rt_destroy(ut_own_rt);
	ktask_rt_destroy(ut_foreign_rt);
	timer_shutdown_sync(&ut_wq_timer);
	if (atomic_read(&ut_chains))
		ut_err("%d respawning chains outlived their runtime",
		       atomic_read(&ut_chains));

	ut_join_all(ut_own, "own");
	for (i = 0; i < nr_tasks; i++) {
		long out = -1;

		/* Cancelled before it ran, or ran to the end. */
		ret = ktask_join(ut_blocking[i], &out);
		if (ret != -ECANCELED && (ret || out != i))
			ut_err("blocking task %u: join %d, output %ld", i, ret,
			       out);
	}
	cells = ktask_num_cells() - ut_cells_before;
	if (cells)
		ut_err("%ld task cells left", cells);
	kfree(ut_blocking);
	kfree(ut_foreign);
	kfree(ut_own);
	pr_info("ktask_test_unload: exit: %s: %ld tasks cancelled, %d respawns\n",
		atomic_read(&ut_errors) ? "FAIL" : "PASS", alive,
		atomic_read(&ut_respawns));
}

module_init(ut_init);
module_exit(ut_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask tests: unload a client while its tasks run");
