// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_introspect: known tasks for ktask_debugfs_test to look at.
 *
 * /sys/kernel/debug/ktask_test_introspect/ctl takes one command per write;
 * the write fails with the command's error:
 *
 *   setup        runtime "introspect" (budget 16) with tasks in known
 *                states: A parked with a joiner's waker in its join slot,
 *                B (named "kti task B", placed on CPU 0) parked with an
 *                abort handle held, C parked poll-joining
 *                A; E spawned and joined (completed); F aborted and
 *                joined (cancelled)
 *   release      abort, join and free all of it
 *   spin_start   spawn D ("kti spinner D"), whose poll spins (with cond_resched()) until
 *                spin_stop or for at most 5 s
 *   spin_stop    stop D and join it
 *   churn_start  two kthreads, one per CPU, spawn, wake, abort and join
 *                10,000 tasks on runtime "churn"
 *   churn_wait   wait for them; fails if any join got a wrong result
 *   trace_spawn  spawn T ("kti traced T"), which parks once, and wait for its first poll
 *   trace_wake   wake T and join it; the caller first waits until T's
 *                first poll has ended (no R in the tasks file), or the
 *                wake lands in the poll and is traced as none
 *   wait_sites   spawn G, which yields twice and then waits on the wait
 *                queue kti_wq; H, which sleeps on kti_sleep for an hour;
 *                I, which waits for the completion kti_done (named "kti
 *                waiter G", "kti sleeper H", "kti completion I"); and wait
 *                until all three have parked ("release" cancels them)
 *   join_cycle   spawn J and K, then hand each the other's join handle:
 *                each poll-joins the other, a cycle ("release" aborts
 *                them through abort handles)
 *
 * /sys/kernel/debug/ktask_test_introspect/ids lists "<name> <id>" for
 * every task above that exists or existed last.
 */
#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define KT_WAIT		(30 * HZ)
#define CHURN		10000

struct parked {
	struct ktask_waker *waker;	/* set on the first poll, if asked */
	bool keep_waker;
	bool ready_on_wake;
	int polls;
	struct completion polled;
};

static enum ktask_poll parked_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct parked *p = arg;

	if (p->polls++ && p->ready_on_wake) {
		*out = 1;
		return KTASK_READY;
	}
	if (p->keep_waker)
		p->waker = ktask_waker_clone(ktask_cx_waker(cx));
	complete(&p->polled);
	return KTASK_PENDING;
}

static void parked_drop(void *arg)
{
	struct parked *p = arg;

	ktask_waker_drop(xchg(&p->waker, NULL));
}

static const struct ktask_ops parked_ops = {
	.poll = parked_poll,
	.drop = parked_drop,
};

struct joiner {
	struct ktask_handle *target;
	struct completion polled;
};

static enum ktask_poll joiner_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct joiner *j = arg;
	enum ktask_poll ret;
	int err = 0;

	ret = ktask_join_poll(j->target, cx, out, &err);
	if (ret == KTASK_READY)
		j->target = NULL;	/* consumed */
	complete(&j->polled);
	return ret;
}

static void joiner_drop(void *arg)
{
	struct joiner *j = arg;

	/* Cancelled while it still held the target's handle. */
	ktask_detach(j->target);
	j->target = NULL;
}

static const struct ktask_ops joiner_ops = {
	.poll = joiner_poll,
	.drop = joiner_drop,
};

struct spinner {
	struct completion running;
	atomic_t stop;
};

static enum ktask_poll spinner_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct spinner *s = arg;
	unsigned long end = jiffies + 5 * HZ;

	complete(&s->running);
	while (!atomic_read(&s->stop) && time_before(jiffies, end))
		cond_resched();
	return KTASK_READY;
}

static const struct ktask_ops spinner_ops = {
	.poll = spinner_poll,
};

static long one(void *arg)
{
	return 1;
}

/* Tasks parked on known objects, for the wait-site columns and reports. */
static DECLARE_WAIT_QUEUE_HEAD(kti_wq);
static struct ktask_sleep kti_sleep;
static DECLARE_COMPLETION(kti_done);

struct waitsite {
	struct ktask_yield y;
	int yields;
	struct ktask_wait wait;
	struct ktask_completion_wait cw;
	struct completion parked;
};

static struct waitsite wg, wh, wi;

static enum ktask_poll waitsite_queue_poll(struct ktask_cx *cx, void *arg,
					   long *out)
{
	struct waitsite *w = arg;
	enum ktask_poll ret;

	while (w->yields < 2) {
		if (ktask_yield_now(cx, &w->y) == KTASK_PENDING)
			return KTASK_PENDING;
		w->yields++;
	}
	/* Nobody sets the condition: it waits until cancelled. */
	ret = ktask_wait_event(cx, &w->wait, &kti_wq, false);
	complete(&w->parked);
	return ret;
}

static void waitsite_queue_drop(void *arg)
{
	ktask_wait_cancel(&((struct waitsite *)arg)->wait);
}

static enum ktask_poll waitsite_sleep_poll(struct ktask_cx *cx, void *arg,
					   long *out)
{
	struct waitsite *w = arg;
	enum ktask_poll ret;

	ret = ktask_sleep_until(cx, &kti_sleep,
				ktime_add_ms(ktime_get(), 3600 * MSEC_PER_SEC));
	complete(&w->parked);
	return ret;
}

static void waitsite_sleep_drop(void *arg)
{
	ktask_sleep_cancel(&kti_sleep);
}

static enum ktask_poll waitsite_completion_poll(struct ktask_cx *cx,
						void *arg, long *out)
{
	struct waitsite *w = arg;
	enum ktask_poll ret;

	ret = ktask_wait_for_completion(cx, &w->cw, &kti_done);
	complete(&w->parked);
	return ret;
}

static void waitsite_completion_drop(void *arg)
{
	ktask_completion_wait_cancel(&((struct waitsite *)arg)->cw);
}

static const struct ktask_ops waitsite_ops[] = {
	{ .poll = waitsite_queue_poll, .drop = waitsite_queue_drop },
	{ .poll = waitsite_sleep_poll, .drop = waitsite_sleep_drop },
	{ .poll = waitsite_completion_poll, .drop = waitsite_completion_drop },
};

/* A task that poll-joins @target once it is given one. */
struct cycler {
	struct ktask_handle *target;	/* set once, then owned by the task */
	struct ktask_waker *waker;	/* parked until @target is set */
	struct completion joining;
};

static enum ktask_poll cycler_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct cycler *c = arg;
	struct ktask_handle *target = READ_ONCE(c->target);
	enum ktask_poll ret;
	int err;

	if (!target) {
		ktask_waker_drop(xchg(&c->waker,
				      ktask_waker_clone(ktask_cx_waker(cx))));
		/* Given a target while we parked: poll again. */
		if (READ_ONCE(c->target))
			ktask_wake(xchg(&c->waker, NULL));
		return KTASK_PENDING;
	}
	ret = ktask_join_poll(target, cx, out, &err);
	if (ret == KTASK_READY)
		WRITE_ONCE(c->target, NULL);	/* consumed */
	else
		complete(&c->joining);
	return ret;
}

static void cycler_drop(void *arg)
{
	struct cycler *c = arg;

	ktask_waker_drop(xchg(&c->waker, NULL));
	ktask_detach(c->target);
	c->target = NULL;
}

static const struct ktask_ops cycler_ops = {
	.poll = cycler_poll,
	.drop = cycler_drop,
};

static struct cycler cj, ck;
static struct ktask_abort_handle *ahj, *ahk;

static DEFINE_MUTEX(it_lock);	/* serialises commands */
static struct ktask_rt *it_rt;
static struct parked pa, pb, pf, pt;
static struct joiner jc;
static struct spinner sd;
static struct ktask_handle *ha, *hb, *hc, *hd, *ht, *hw[3];
static struct ktask_abort_handle *ahb;
static u64 id_a, id_b, id_c, id_d, id_e, id_f, id_t, id_w[3], id_j, id_k;

static void parked_init(struct parked *p, bool keep_waker, bool ready_on_wake)
{
	memset(p, 0, sizeof(*p));
	p->keep_waker = keep_waker;
	p->ready_on_wake = ready_on_wake;
	init_completion(&p->polled);
}

static int wait_polled(struct completion *c)
{
	return wait_for_completion_timeout(c, KT_WAIT) ? 0 : -ETIMEDOUT;
}

/*
 * A joined task leaves the owned list (the tasks file) and the alive count
 * just after its joiner is woken: wait, boundedly, until @n tasks are left.
 */
static int wait_alive(struct ktask_rt *rt, long n)
{
	unsigned long end = jiffies + KT_WAIT;

	while (ktask_rt_num_alive(rt) != n) {
		if (time_after(jiffies, end))
			return -ETIMEDOUT;
		usleep_range(1000, 2000);
	}
	return 0;
}

static void release_all(void)
{
	int i;

	/* The cycle's tasks hold each other's join handles. */
	if (ahj)
		ktask_abort_handle_abort(ahj);
	if (ahk)
		ktask_abort_handle_abort(ahk);
	ktask_abort_handle_put(ahj);
	ktask_abort_handle_put(ahk);
	ahj = NULL;
	ahk = NULL;
	for (i = 0; i < ARRAY_SIZE(hw); i++) {
		if (!hw[i])
			continue;
		ktask_abort(hw[i]);
		ktask_join(hw[i], NULL);
		hw[i] = NULL;
	}
	if (ha && !IS_ERR(ha)) {
		ktask_abort(ha);
		ktask_join(ha, NULL);
	}
	if (hb && !IS_ERR(hb)) {
		ktask_abort(hb);
		ktask_join(hb, NULL);
	}
	if (hc && !IS_ERR(hc)) {
		ktask_abort(hc);
		ktask_join(hc, NULL);
	}
	if (ht) {
		ktask_abort(ht);
		ktask_join(ht, NULL);
	}
	ktask_abort_handle_put(ahb);
	if (it_rt && !IS_ERR(it_rt))
		ktask_rt_destroy(it_rt);
	ha = NULL;
	hb = NULL;
	hc = NULL;
	ht = NULL;
	ahb = NULL;
	it_rt = NULL;
}

static int cmd_spin_stop(void);

static int cmd_setup(void)
{
	struct ktask_rt_opts opts = {
		.budget = 16,
		.flags = KTASK_RT_HISTOGRAMS,
	};
	/*
	 * A name with a space, as the last column shows it, from a buffer
	 * that changes once the spawn returned: the name is copied.
	 */
	char b_name[KTASK_NAME_LEN] = "kti task B";
	struct ktask_spawn_opts b_opts = {
		.name = b_name,
		.place = KTASK_PLACE_CPU,
		.cpu = 0,
	};
	struct ktask_handle *h;
	int ret;

	/* A test killed by its timeout skipped its release. */
	if (hd)
		cmd_spin_stop();
	release_all();
	it_rt = ktask_rt_create("introspect", &opts);
	if (IS_ERR(it_rt)) {
		ret = PTR_ERR(it_rt);
		it_rt = NULL;
		return ret;
	}
	parked_init(&pa, false, false);
	parked_init(&pb, false, false);
	parked_init(&pf, false, false);
	init_completion(&jc.polled);

	ha = ktask_spawn_poll(it_rt, &parked_ops, &pa, GFP_KERNEL);
	hb = ktask_spawn_poll_with(it_rt, &b_opts, &parked_ops, &pb,
				   GFP_KERNEL);
	strscpy(b_name, "overwritten", sizeof(b_name));
	if (IS_ERR(ha) || IS_ERR(hb))
		goto fail;
	id_a = ktask_id(ha);
	id_b = ktask_id(hb);
	ahb = ktask_abort_handle(hb);
	jc.target = ha;
	hc = ktask_spawn_poll(it_rt, &joiner_ops, &jc, GFP_KERNEL);
	if (IS_ERR(hc))
		goto fail;
	id_c = ktask_id(hc);
	ha = NULL;	/* C owns A's join handle now */

	h = ktask_spawn(it_rt, one, NULL, GFP_KERNEL);
	if (IS_ERR(h))
		goto fail;
	id_e = ktask_id(h);
	if (ktask_join(h, NULL))
		goto fail;
	h = ktask_spawn_poll(it_rt, &parked_ops, &pf, GFP_KERNEL);
	if (IS_ERR(h))
		goto fail;
	id_f = ktask_id(h);
	if (wait_polled(&pf.polled))
		goto fail;
	ktask_abort(h);
	if (ktask_join(h, NULL) != -ECANCELED)
		goto fail;
	if (wait_polled(&pa.polled) || wait_polled(&pb.polled) ||
	    wait_polled(&jc.polled))
		goto fail;
	/* E and F gone from the tasks file: A, B and C are left. */
	if (wait_alive(it_rt, 3))
		goto fail;
	return 0;
fail:
	release_all();
	return -EIO;
}

static int cmd_spin_start(void)
{
	static const struct ktask_spawn_opts d_opts = {
		.name = "kti spinner D",
	};

	if (!it_rt || hd)
		return -EINVAL;
	init_completion(&sd.running);
	atomic_set(&sd.stop, 0);
	hd = ktask_spawn_poll_with(it_rt, &d_opts, &spinner_ops, &sd,
				   GFP_KERNEL);
	if (IS_ERR(hd)) {
		int ret = PTR_ERR(hd);

		hd = NULL;
		return ret;
	}
	id_d = ktask_id(hd);
	return wait_polled(&sd.running);
}

static int cmd_spin_stop(void)
{
	int ret;

	if (!hd)
		return -EINVAL;
	atomic_set(&sd.stop, 1);
	ret = ktask_join(hd, NULL);
	hd = NULL;
	return ret;
}

/* Churn: tasks spawned, woken, aborted and joined from both CPUs. */
static struct ktask_rt *churn_rt;
static struct task_struct *churn_thread[2];
static struct completion churn_done[2];
static int churn_err[2];

#define CHURN_BATCH	50

/*
 * Batches of tasks: a third aborted at once, a third woken after their
 * first poll, a third ready at their first poll; all joined.
 */
static int churn_fn(void *arg)
{
	long n = (long)arg;
	struct parked *p = kcalloc(CHURN_BATCH, sizeof(*p), GFP_KERNEL);
	struct ktask_handle *h[CHURN_BATCH];
	int i, b, ret;

	churn_err[n] = p ? 0 : -ENOMEM;
	for (b = 0; p && b < CHURN / 2 / CHURN_BATCH && !churn_err[n]; b++) {
		for (i = 0; i < CHURN_BATCH; i++) {
			parked_init(&p[i], i % 3 == 1, true);
			p[i].polls = i % 3 == 2;	/* ready at once */
			h[i] = ktask_spawn_poll(churn_rt, &parked_ops, &p[i],
						GFP_KERNEL);
			if (IS_ERR(h[i]))
				churn_err[n] = PTR_ERR(h[i]);
			else if (i % 3 == 0)
				ktask_abort(h[i]);
		}
		for (i = 0; i < CHURN_BATCH; i++) {
			if (IS_ERR(h[i]))
				continue;
			if (i % 3 == 1) {
				if (wait_polled(&p[i].polled))
					ktask_abort(h[i]);
				else
					ktask_wake(xchg(&p[i].waker, NULL));
			}
			ret = ktask_join(h[i], NULL);
			if (ret != (i % 3 == 0 ? -ECANCELED : 0))
				churn_err[n] = ret ? ret : -EINVAL;
		}
	}
	kfree(p);
	complete(&churn_done[n]);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

static int cmd_churn_wait(void);

static int cmd_churn_start(void)
{
	long i;

	if (churn_rt)
		cmd_churn_wait();	/* left over from a killed test */
	churn_rt = ktask_rt_create("churn", NULL);
	if (IS_ERR(churn_rt)) {
		int ret = PTR_ERR(churn_rt);

		churn_rt = NULL;
		return ret;
	}
	for (i = 0; i < 2; i++) {
		init_completion(&churn_done[i]);
		churn_thread[i] = kthread_create(churn_fn, (void *)i,
						 "kt_churn/%ld", i);
		if (IS_ERR(churn_thread[i])) {
			churn_err[i] = PTR_ERR(churn_thread[i]);
			complete(&churn_done[i]);
			churn_thread[i] = NULL;
			continue;
		}
		kthread_bind(churn_thread[i], i % num_online_cpus());
		wake_up_process(churn_thread[i]);
	}
	return 0;
}

static int cmd_churn_wait(void)
{
	int i, ret = 0;

	if (!churn_rt)
		return -EINVAL;
	for (i = 0; i < 2; i++) {
		wait_for_completion(&churn_done[i]);
		if (churn_thread[i])
			kthread_stop(churn_thread[i]);
		if (churn_err[i])
			ret = churn_err[i];
	}
	if (ktask_rt_num_alive(churn_rt))
		ret = -EINVAL;
	ktask_rt_destroy(churn_rt);
	churn_rt = NULL;
	return ret;
}

static int cmd_trace_spawn(void)
{
	static const struct ktask_spawn_opts t_opts = { .name = "kti traced T" };
	struct ktask_handle *h;

	if (!it_rt || ht)
		return -EINVAL;
	parked_init(&pt, true, true);
	h = ktask_spawn_poll_with(it_rt, &t_opts, &parked_ops, &pt,
				  GFP_KERNEL);
	if (IS_ERR(h))
		return PTR_ERR(h);
	id_t = ktask_id(h);
	if (wait_polled(&pt.polled)) {
		ktask_abort(h);
		ktask_join(h, NULL);
		return -ETIMEDOUT;
	}
	ht = h;
	return 0;
}

static int cmd_trace_wake(void)
{
	long out = 0;
	int ret;

	if (!ht)
		return -EINVAL;
	ktask_wake(xchg(&pt.waker, NULL));
	ret = ktask_join(ht, &out);
	ht = NULL;
	return ret ? ret : (out == 1 ? 0 : -EINVAL);
}

/* Names of G, H and I, for the stuck-task report. */
static const char * const waitsite_names[] = {
	"kti waiter G", "kti sleeper H", "kti completion I",
};

static int cmd_wait_sites(void)
{
	struct waitsite *w[] = { &wg, &wh, &wi };
	int i;

	if (!it_rt || hw[0])
		return -EINVAL;
	ktask_sleep_init(&kti_sleep);
	for (i = 0; i < ARRAY_SIZE(w); i++) {
		memset(w[i], 0, sizeof(*w[i]));
		ktask_wait_init(&w[i]->wait);
		ktask_completion_wait_init(&w[i]->cw);
		init_completion(&w[i]->parked);
		struct ktask_spawn_opts o = { .name = waitsite_names[i] };

		hw[i] = ktask_spawn_poll_with(it_rt, &o, &waitsite_ops[i], w[i],
					      GFP_KERNEL);
		if (IS_ERR(hw[i])) {
			int ret = PTR_ERR(hw[i]);

			hw[i] = NULL;
			return ret;
		}
		id_w[i] = ktask_id(hw[i]);
		if (wait_polled(&w[i]->parked))
			return -ETIMEDOUT;
	}
	return 0;
}

static int cmd_join_cycle(void)
{
	struct ktask_handle *hj, *hk;

	if (!it_rt || ahj)
		return -EINVAL;
	memset(&cj, 0, sizeof(cj));
	memset(&ck, 0, sizeof(ck));
	init_completion(&cj.joining);
	init_completion(&ck.joining);
	hj = ktask_spawn_poll(it_rt, &cycler_ops, &cj, GFP_KERNEL);
	if (IS_ERR(hj))
		return PTR_ERR(hj);
	hk = ktask_spawn_poll(it_rt, &cycler_ops, &ck, GFP_KERNEL);
	if (IS_ERR(hk)) {
		ktask_abort(hj);
		ktask_join(hj, NULL);
		return PTR_ERR(hk);
	}
	id_j = ktask_id(hj);
	id_k = ktask_id(hk);
	ahj = ktask_abort_handle(hj);
	ahk = ktask_abort_handle(hk);
	/* Each gets the other's join handle, and is woken to join it. */
	WRITE_ONCE(cj.target, hk);
	ktask_wake(xchg(&cj.waker, NULL));
	WRITE_ONCE(ck.target, hj);
	ktask_wake(xchg(&ck.waker, NULL));
	if (wait_polled(&cj.joining) || wait_polled(&ck.joining))
		return -ETIMEDOUT;
	return 0;
}

static ssize_t ctl_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} cmds[] = {
		{ "setup", cmd_setup },
		{ "spin_start", cmd_spin_start },
		{ "spin_stop", cmd_spin_stop },
		{ "churn_start", cmd_churn_start },
		{ "churn_wait", cmd_churn_wait },
		{ "trace_spawn", cmd_trace_spawn },
		{ "trace_wake", cmd_trace_wake },
		{ "wait_sites", cmd_wait_sites },
		{ "join_cycle", cmd_join_cycle },
	};
	char buf[32];
	int i, ret = -ENOENT;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	strim(buf);
	mutex_lock(&it_lock);
	if (!strcmp(buf, "release")) {
		if (hd)
			cmd_spin_stop();
		release_all();
		ret = 0;
	}
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(buf, cmds[i].name))
			ret = cmds[i].fn();
	mutex_unlock(&it_lock);
	return ret ? ret : count;
}

static const struct file_operations ctl_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = ctl_write,
};

static int ids_show(struct seq_file *m, void *v)
{
	mutex_lock(&it_lock);
	seq_printf(m, "A %llu\nB %llu\nC %llu\nD %llu\nE %llu\nF %llu\nT %llu\nG %llu\nH %llu\nI %llu\nJ %llu\nK %llu\n",
		   id_a, id_b, id_c, id_d, id_e, id_f, id_t, id_w[0], id_w[1],
		   id_w[2], id_j, id_k);
	mutex_unlock(&it_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ids);

static struct dentry *it_dir;

static int __init introspect_init(void)
{
	it_dir = debugfs_create_dir("ktask_test_introspect", NULL);
	debugfs_create_file("ctl", 0200, it_dir, NULL, &ctl_fops);
	debugfs_create_file("ids", 0444, it_dir, NULL, &ids_fops);
	return 0;
}

static void __exit introspect_exit(void)
{
	debugfs_remove_recursive(it_dir);
	mutex_lock(&it_lock);
	if (hd)
		cmd_spin_stop();
	release_all();
	if (churn_rt)
		cmd_churn_wait();
	mutex_unlock(&it_lock);
}

module_init(introspect_init);
module_exit(introspect_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(test, "Y");
MODULE_DESCRIPTION("ktask tests: known tasks for the debugfs and trace tests");
