// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_opts: spawn options, struct ktask_spawn_opts: names, and
 * placement on a CPU or a NUMA node, CPU hotplug included; and the CPUs of
 * an unbound runtime, ktask_rt_opts.cpus.
 */
#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/numa.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "ktask_test.h"

#define KT_WAIT		(30 * HZ)

/* Polls a placed task records; it completes after PT_POLLS of them. */
#define PT_POLLS	8

/*
 * A pollable task that records the CPU of each poll.  Polls 1 to 3 wake
 * the task themselves (it goes back through the yield path); poll 4 and,
 * with @park_twice, poll 5 park a waker for the test to wake; the others
 * wake themselves again, until poll PT_POLLS completes with the number of
 * polls.
 */
struct placed {
	int cpu[PT_POLLS];
	int polls;
	bool park_twice;
	struct ktask_waker *waker;
	struct completion parked;
	atomic_t drops;
};

static enum ktask_poll placed_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct placed *p = arg;
	int n = p->polls++;

	p->cpu[n] = raw_smp_processor_id();
	if (n + 1 == PT_POLLS) {
		*out = p->polls;
		return KTASK_READY;
	}
	if (n == 3 || (n == 4 && p->park_twice)) {
		WRITE_ONCE(p->waker, ktask_waker_clone(ktask_cx_waker(cx)));
		complete(&p->parked);
		return KTASK_PENDING;
	}
	ktask_wake_by_ref(ktask_cx_waker(cx));
	return KTASK_PENDING;
}

static void placed_drop(void *arg)
{
	atomic_inc(&((struct placed *)arg)->drops);
}

static const struct ktask_ops placed_ops = {
	.poll = placed_poll,
	.drop = placed_drop,
};

static void placed_init(struct placed *p, bool park_twice)
{
	memset(p, 0, sizeof(*p));
	p->park_twice = park_twice;
	init_completion(&p->parked);
	atomic_set(&p->drops, 0);
}

/* Wait until @p parks, and take its waker. */
static struct ktask_waker *placed_wait_parked(struct placed *p)
{
	if (!wait_for_completion_timeout(&p->parked, KT_WAIT))
		return NULL;
	reinit_completion(&p->parked);
	return xchg(&p->waker, NULL);
}

static long cpu_fn(void *arg)
{
	return raw_smp_processor_id();
}

/*
 * Join @h, or abort it after KT_WAIT and join again, or let it go after
 * another KT_WAIT: a lost task fails the case, never hangs it.
 */
static int join_bounded(struct ktask_handle *h, long *out)
{
	int err = ktask_join_timeout(h, out, KT_WAIT);

	if (err == -ETIMEDOUT) {
		pr_err("ktask_test: task %llu not done in %d s: aborted\n",
		       ktask_id(h), KT_WAIT / HZ);
		ktask_abort(h);
		if (ktask_join_timeout(h, NULL, KT_WAIT) == -ETIMEDOUT)
			ktask_detach(h);
	}
	return err;
}

/* Another online CPU than @cpu, or @cpu if there is none. */
static int other_cpu(int cpu)
{
	int other = cpumask_any_but(cpu_online_mask, cpu);

	return other < nr_cpu_ids ? other : cpu;
}

/* Bad options fail the spawn with their own errno and leave nothing. */
static int spawn_opts_bad_input(void)
{
	struct ktask_rt_opts unbound = { .flags = KTASK_RT_UNBOUND };
	char name[KTASK_NAME_LEN + 1];
	long cells = ktask_num_cells();
	struct ktask_rt *rt, *urt;
	struct ktask_handle *h;
	struct ktask_group *g;
	struct ktask_spawn_opts o;
	long out = -1;

	rt = ktask_rt_create("opts", NULL);
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	urt = ktask_rt_create("opts-unbound", &unbound);
	if (IS_ERR(urt)) {
		ktask_rt_destroy(rt);
		KT_FAIL("unbound runtime: %ld", PTR_ERR(urt));
		return -EINVAL;
	}
	g = ktask_group_create(rt);
	if (IS_ERR(g)) {
		ktask_rt_destroy(urt);
		ktask_rt_destroy(rt);
		KT_FAIL("group: %ld", PTR_ERR(g));
		return -EINVAL;
	}

	/* KTASK_NAME_LEN bytes without a NUL: too long. */
	memset(name, 'n', sizeof(name));
	name[KTASK_NAME_LEN] = '\0';
	o = (struct ktask_spawn_opts){ .name = name };
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -ENAMETOOLONG);
	KT_ASSERT_EQ(ktask_group_spawn_with(g, &o, KTASK_SPAWN_FN, NULL, cpu_fn,
					    NULL, GFP_KERNEL, NULL),
		     -ENAMETOOLONG);
	KT_ASSERT_EQ(ktask_group_len(g), 0);

	o = (struct ktask_spawn_opts){ .place = (enum ktask_place)3 };
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	o = (struct ktask_spawn_opts){ .place = (enum ktask_place)-1 };
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	o = (struct ktask_spawn_opts){ .place = KTASK_PLACE_CPU, .cpu = -1 };
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	o.cpu = nr_cpu_ids;
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_poll_with(rt, &o, &placed_ops, NULL,
						   GFP_KERNEL)), -EINVAL);
	o.cpu = INT_MAX;
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	o = (struct ktask_spawn_opts){
		.place = KTASK_PLACE_NODE,
		.node = NUMA_NO_NODE,
	};
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	o.node = MAX_NUMNODES;
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	/* Placement: not on an unbound runtime, not for a blocking function. */
	o = (struct ktask_spawn_opts){ .place = KTASK_PLACE_CPU, .cpu = 0 };
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(urt, &o, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_blocking_with(rt, &o, cpu_fn, NULL,
						       GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(ktask_group_spawn_with(g, &o, KTASK_SPAWN_BLOCKING, NULL,
					    cpu_fn, NULL, GFP_KERNEL, NULL),
		     -EINVAL);
	/* Missing functions, as without options. */
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(rt, NULL, NULL, NULL,
					      GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_poll_with(rt, NULL, NULL, NULL,
						   GFP_KERNEL)), -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(__ktask_spawn_with(rt, (enum ktask_spawn_kind)7,
						NULL, cpu_fn, NULL, NULL,
						GFP_KERNEL, THIS_MODULE)),
		     -EINVAL);
	KT_ASSERT_EQ(PTR_ERR(ktask_spawn_with(NULL, NULL, cpu_fn, NULL,
					      GFP_KERNEL)), -EINVAL);

	/* The longest name, an empty one, and no options at all: fine. */
	name[KTASK_NAME_LEN - 1] = '\0';
	o = (struct ktask_spawn_opts){ .name = name };
	h = ktask_spawn_with(rt, &o, cpu_fn, NULL, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(join_bounded(h, &out), 0);
	KT_ASSERT_GE(out, 0);
	o.name = "";
	h = ktask_spawn_blocking_with(rt, &o, cpu_fn, NULL, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(join_bounded(h, NULL), 0);
	h = ktask_spawn_with(rt, NULL, cpu_fn, NULL, GFP_KERNEL);
	KT_ASSERT_NOT_ERR_OR_NULL(h);
	KT_ASSERT_EQ(join_bounded(h, NULL), 0);

	ktask_group_destroy(g);
	ktask_rt_destroy(urt);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ktask_num_cells(), cells);
	return 0;
}

struct wake_arg {
	struct ktask_waker *w;
};

static void wake_there(void *arg)
{
	ktask_wake(((struct wake_arg *)arg)->w);
}

struct spawn_arg {
	struct ktask_rt *rt;
	const struct ktask_spawn_opts *o;
	struct placed *p;
	struct ktask_handle *h;
};

static void spawn_there(void *arg)
{
	struct spawn_arg *sa = arg;

	sa->h = ktask_spawn_poll_with(sa->rt, sa->o, &placed_ops, sa->p,
				      GFP_KERNEL);
}

/*
 * Every poll of a task placed on a CPU runs there: after a spawn from
 * another CPU, after its own wakes (the yield path) and after a wake
 * from another CPU.
 */
static int placed_task_polls_on_its_cpu(void)
{
	struct ktask_rt *rt = ktask_rt_create("opts", NULL);
	int cpu, i, bad = 0, runs = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	for_each_online_cpu(cpu) {
		struct ktask_spawn_opts o = {
			.name = "placed",
			.place = KTASK_PLACE_CPU,
			.cpu = cpu,
		};
		struct spawn_arg sa = { .rt = rt, .o = &o };
		struct wake_arg wa;
		struct placed p;
		long out = 0;

		placed_init(&p, true);
		sa.p = &p;
		if (kt_run_on_cpu(other_cpu(cpu), spawn_there, &sa) ||
		    IS_ERR_OR_NULL(sa.h)) {
			KT_FAIL("spawn for CPU %d from CPU %d: %ld", cpu,
				other_cpu(cpu), PTR_ERR(sa.h));
			bad++;
			break;
		}
		/* Poll 4 parks: woken from another CPU. */
		wa.w = placed_wait_parked(&p);
		if (!wa.w || kt_run_on_cpu(other_cpu(cpu), wake_there, &wa))
			bad++;
		/* Poll 5 parks: woken from its own. */
		wa.w = placed_wait_parked(&p);
		if (!wa.w || kt_run_on_cpu(cpu, wake_there, &wa))
			bad++;
		if (join_bounded(sa.h, &out) || out != PT_POLLS) {
			KT_FAIL("task on CPU %d: output %ld", cpu, out);
			bad++;
		}
		for (i = 0; i < p.polls; i++) {
			if (p.cpu[i] != cpu) {
				KT_FAIL("task placed on CPU %d: poll %d on CPU %d",
					cpu, i, p.cpu[i]);
				bad++;
			}
		}
		runs++;
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(runs, num_online_cpus());
	return 0;
}

/*
 * A task spawned by a task goes to its spawner's LIFO slot, unless it is
 * placed elsewhere: a placed fn task spawns one placed on another CPU,
 * and one that is not placed; both run, the placed one where it should.
 */
struct parent_arg {
	struct ktask_rt *rt;
	int child_cpu;
	struct ktask_handle *placed_child;
	struct ktask_handle *free_child;
	int cpu;
};

static long parent_fn(void *arg)
{
	struct parent_arg *pa = arg;
	struct ktask_spawn_opts o = {
		.place = KTASK_PLACE_CPU,
		.cpu = pa->child_cpu,
	};

	pa->cpu = raw_smp_processor_id();
	pa->placed_child = ktask_spawn_with(pa->rt, &o, cpu_fn, NULL,
					    GFP_KERNEL);
	pa->free_child = ktask_spawn(pa->rt, cpu_fn, NULL, GFP_KERNEL);
	return 0;
}

static int placed_spawn_from_a_task(void)
{
	struct ktask_rt *rt = ktask_rt_create("opts", NULL);
	int cpu, bad = 0, runs = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	for_each_online_cpu(cpu) {
		struct parent_arg pa = { .rt = rt, .cpu = -1 };
		struct ktask_spawn_opts o = {
			.place = KTASK_PLACE_CPU,
			.cpu = cpu,
		};
		struct ktask_handle *h;
		long out = -1;
		int i;

		pa.child_cpu = other_cpu(cpu);
		/* Several times: the spawner's drain has a LIFO slot each time. */
		for (i = 0; i < 20; i++) {
			h = ktask_spawn_with(rt, &o, parent_fn, &pa, GFP_KERNEL);
			if (IS_ERR(h) || join_bounded(h, NULL) ||
			    IS_ERR_OR_NULL(pa.placed_child) ||
			    IS_ERR_OR_NULL(pa.free_child)) {
				KT_FAIL("parent on CPU %d: spawns failed", cpu);
				if (!IS_ERR_OR_NULL(pa.placed_child))
					ktask_detach(pa.placed_child);
				if (!IS_ERR_OR_NULL(pa.free_child))
					ktask_detach(pa.free_child);
				bad++;
				break;
			}
			if (pa.cpu != cpu)
				bad++;
			if (join_bounded(pa.placed_child, &out) ||
			    out != pa.child_cpu) {
				KT_FAIL("child placed on CPU %d ran on %ld (parent on %d)",
					pa.child_cpu, out, pa.cpu);
				bad++;
			}
			if (join_bounded(pa.free_child, &out) || out < 0)
				bad++;
			pa.placed_child = NULL;
			pa.free_child = NULL;
		}
		runs++;
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(runs, num_online_cpus());
	return 0;
}

/*
 * A task placed on a node polls on the node's CPUs only.  (On a machine of
 * one node, as the test VM, this only shows that node placement runs.)
 */
static int placed_task_polls_on_its_node(void)
{
	struct ktask_rt *rt = ktask_rt_create("opts", NULL);
	int node = cpu_to_node(cpumask_first(cpu_online_mask));
	struct ktask_spawn_opts o = {
		.place = KTASK_PLACE_NODE,
		.node = node,
	};
	int i, k, bad = 0;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	for (k = 0; k < 8; k++) {
		struct ktask_handle *h;
		struct wake_arg wa;
		struct placed p;
		long out = 0;

		placed_init(&p, false);
		h = ktask_spawn_poll_with(rt, &o, &placed_ops, &p, GFP_KERNEL);
		if (IS_ERR(h)) {
			bad++;
			break;
		}
		wa.w = placed_wait_parked(&p);
		if (!wa.w ||
		    kt_run_on_cpu(cpumask_last(cpu_online_mask), wake_there, &wa))
			bad++;
		if (join_bounded(h, &out) || out != PT_POLLS)
			bad++;
		for (i = 0; i < p.polls; i++) {
			if (cpu_to_node(p.cpu[i]) != node) {
				KT_FAIL("task placed on node %d: poll %d on CPU %d",
					node, i, p.cpu[i]);
				bad++;
			}
		}
	}
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(bad, 0);
	return 0;
}

/*
 * A task placed on a CPU that goes offline: a spawn onto that CPU fails
 * with -ENODEV; the task, woken meanwhile, polls on another CPU; once the
 * CPU is back, it polls there again.
 */
static int placed_cpu_offline_and_back(void)
{
	struct ktask_rt *rt;
	struct ktask_spawn_opts o = { .place = KTASK_PLACE_CPU };
	struct ktask_handle *h, *h2;
	struct ktask_waker *w;
	struct placed p;
	int ret, online = -1, i, cpu = cpumask_last(cpu_online_mask);
	long out = 0;

	if (num_online_cpus() < 2 || cpu == 0) {
		KT_FAIL("needs two online CPUs");
		return -EINVAL;
	}
	rt = ktask_rt_create("opts-hotplug", NULL);
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	o.cpu = cpu;
	placed_init(&p, true);
	h = ktask_spawn_poll_with(rt, &o, &placed_ops, &p, GFP_KERNEL);
	if (IS_ERR(h)) {
		ktask_rt_destroy(rt);
		KT_FAIL("spawn: %ld", PTR_ERR(h));
		return -EINVAL;
	}
	/* Poll 4 parks on @cpu; the CPU goes. */
	w = placed_wait_parked(&p);
	ret = remove_cpu(cpu);
	h2 = ret ? NULL : ktask_spawn_with(rt, &o, cpu_fn, NULL, GFP_KERNEL);
	/* Woken while it is gone: poll 5 runs elsewhere, and parks. */
	ktask_wake(w);
	w = placed_wait_parked(&p);
	if (!ret)
		online = add_cpu(cpu);
	/* Back: polls 6 to 8 run on @cpu again. */
	ktask_wake(w);
	KT_ASSERT_EQ(join_bounded(h, &out), 0);
	if (!IS_ERR_OR_NULL(h2))
		ktask_detach(h2);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(online, 0);
	KT_ASSERT_EQ(PTR_ERR(h2), -ENODEV);
	KT_ASSERT_EQ(out, PT_POLLS);
	for (i = 0; i < 4; i++)
		KT_ASSERT_EQ(p.cpu[i], cpu);
	KT_ASSERT_NE(p.cpu[4], cpu);
	for (i = 5; i < PT_POLLS; i++)
		KT_ASSERT_EQ(p.cpu[i], cpu);
	return 0;
}

/* Whether the task runs on the CPU @arg. */
static long on_its_cpu_fn(void *arg)
{
	return raw_smp_processor_id() == (long)arg;
}

/* Group members take options too. */
static int group_spawn_placed(void)
{
	struct ktask_rt *rt = ktask_rt_create("opts", NULL);
	struct ktask_group *g;
	int cpu, n = 0, bad = 0;
	u64 id;
	long out;

	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	g = ktask_group_create(rt);
	if (IS_ERR(g)) {
		ktask_rt_destroy(rt);
		KT_FAIL("group: %ld", PTR_ERR(g));
		return -EINVAL;
	}
	for_each_online_cpu(cpu) {
		struct ktask_spawn_opts o = {
			.name = "group member",
			.place = KTASK_PLACE_CPU,
			.cpu = cpu,
		};

		if (ktask_group_spawn_with(g, &o, KTASK_SPAWN_FN, NULL,
					   on_its_cpu_fn, (void *)(long)cpu,
					   GFP_KERNEL, &id))
			bad++;
		else
			n++;
	}
	while (n && !ktask_group_join_next_timeout(g, &id, &out, KT_WAIT)) {
		if (out != 1)
			bad++;
		n--;
	}
	ktask_group_destroy(g);
	ktask_rt_destroy(rt);
	KT_ASSERT_EQ(bad, 0);
	KT_ASSERT_EQ(n, 0);
	return 0;
}

/* The error of a runtime create with @ro; 0 if it succeeded. */
static long create_error(const struct ktask_rt_opts *ro)
{
	struct ktask_rt *rt = ktask_rt_create("opts-cpus", ro);

	if (IS_ERR(rt))
		return PTR_ERR(rt);
	ktask_rt_destroy(rt);
	return 0;
}

/* An unbound runtime limited to @cpu; NULL on failure. */
static struct ktask_rt *rt_on_cpu(int cpu, cpumask_var_t mask)
{
	struct ktask_rt_opts ro = { .flags = KTASK_RT_UNBOUND, .cpus = mask };
	struct ktask_rt *rt;

	cpumask_clear(mask);
	cpumask_set_cpu(cpu, mask);
	rt = ktask_rt_create("opts-cpus", &ro);
	return IS_ERR(rt) ? NULL : rt;
}

struct join_arg {
	struct ktask_handle *h;
	long out;
	int err;
};

static void join_there(void *arg)
{
	struct join_arg *ja = arg;

	ja->err = join_bounded(ja->h, &ja->out);
}

/*
 * A runtime's CPUs: only with KTASK_RT_UNBOUND and a possible CPU; every
 * poll of its tasks runs on them, wherever the spawns and wakes come
 * from, and a kernel thread's join does not run a task elsewhere.
 */
static int rt_cpus_poll_there(void)
{
	struct ktask_rt_opts ro = { .cpus = cpu_possible_mask };
	int cpu = cpumask_last(cpu_online_mask), from = other_cpu(cpu);
	int i, k, bad = 0;
	long e1, e2;
	cpumask_var_t mask;
	struct ktask_rt *rt;

	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	/* Bound runtimes run where their tasks are queued: refused. */
	e1 = create_error(&ro);
	/* No CPU at all. */
	ro.flags = KTASK_RT_UNBOUND;
	ro.cpus = mask;
	e2 = create_error(&ro);
	rt = rt_on_cpu(cpu, mask);
	for (k = 0; rt && k < 10; k++) {
		struct ktask_spawn_opts o = { .name = "cpus" };
		struct spawn_arg sa = { .rt = rt, .o = &o };
		struct join_arg ja = { .out = -1 };
		struct wake_arg wa;
		struct placed p;
		long out = 0;

		/*
		 * Spawned from the runtime's CPU, whose dispatch tries the
		 * other CPU's idle worker first, then from the other; woken
		 * from the other.
		 */
		placed_init(&p, false);
		sa.p = &p;
		if (kt_run_on_cpu(k % 2 ? from : cpu, spawn_there, &sa) ||
		    IS_ERR_OR_NULL(sa.h)) {
			bad++;
			break;
		}
		wa.w = placed_wait_parked(&p);
		if (!wa.w || kt_run_on_cpu(from, wake_there, &wa))
			bad++;
		if (join_bounded(sa.h, &out) || out != PT_POLLS)
			bad++;
		for (i = 0; i < p.polls; i++) {
			if (p.cpu[i] != cpu) {
				KT_FAIL("runtime on CPU %d: poll %d on CPU %d",
					cpu, i, p.cpu[i]);
				bad++;
			}
		}
		/* A fn task, spawned here, joined by another CPU. */
		ja.h = ktask_spawn(rt, cpu_fn, NULL, GFP_KERNEL);
		if (IS_ERR(ja.h) || kt_run_on_cpu(from, join_there, &ja) ||
		    ja.err || ja.out != cpu) {
			KT_FAIL("runtime on CPU %d: fn task ran on %ld", cpu,
				ja.out);
			bad++;
		}
	}
	if (rt)
		ktask_rt_destroy(rt);
	free_cpumask_var(mask);
	KT_ASSERT_EQ(e1, -EINVAL);
	KT_ASSERT_EQ(e2, -EINVAL);
	KT_ASSERT(rt);
	KT_ASSERT_EQ(bad, 0);
	return 0;
}

/*
 * A kernel thread on a CPU that spawns a fn task and joins it untimed
 * (timed joins never help): a helping join, were it allowed.  On the heap:
 * if the join never returns, the case fails and leaves the thread, this
 * and the runtime behind rather than hang.
 */
struct helper_join {
	struct ktask_rt *rt;
	struct ktask_spawn_opts o;
	long out;
	int err;
	struct completion done;
	struct task_struct *t;
};

static int helper_join_thread(void *data)
{
	struct helper_join *hj = data;
	struct ktask_handle *h;

	h = ktask_spawn_with(hj->rt, &hj->o, cpu_fn, NULL, GFP_KERNEL);
	hj->err = IS_ERR(h) ? PTR_ERR(h) : ktask_join(h, &hj->out);
	complete(&hj->done);
	return 0;
}

static struct helper_join *helper_join_start(struct ktask_rt *rt,
					     const struct ktask_spawn_opts *o,
					     int cpu)
{
	struct helper_join *hj = kzalloc(sizeof(*hj), GFP_KERNEL);
	struct task_struct *t;

	if (!hj)
		return NULL;
	hj->rt = rt;
	if (o)
		hj->o = *o;
	hj->out = -1;
	init_completion(&hj->done);
	t = kthread_create_on_cpu(helper_join_thread, hj, cpu, "kt_opts/%u");
	if (IS_ERR(t)) {
		kfree(hj);
		return NULL;
	}
	hj->t = get_task_struct(t);
	wake_up_process(t);
	return hj;
}

/*
 * The task's output, or an errno; -ETIMEDOUT if the join did not return,
 * and then @hj stays, and so must its runtime.
 */
static long helper_join_wait(struct helper_join *hj)
{
	long ret;

	if (!wait_for_completion_timeout(&hj->done, KT_WAIT)) {
		pr_err("ktask_test: a join did not return: its thread and runtime are left\n");
		return -ETIMEDOUT;
	}
	/* It returned by itself: this waits for its exit. */
	kthread_stop(hj->t);
	put_task_struct(hj->t);
	ret = hj->err ? hj->err : hj->out;
	kfree(hj);
	return ret;
}

static long gate_fn(void *arg)
{
	return kt_gate_fn(arg);
}

struct gate_arg {
	struct ktask_rt *rt;
	const struct ktask_spawn_opts *o;
	struct kt_gate *g;
	struct ktask_handle *h;
};

static void spawn_gate_there(void *arg)
{
	struct gate_arg *ga = arg;

	ga->h = ktask_spawn_with(ga->rt, ga->o, gate_fn, ga->g, GFP_KERNEL);
}

/*
 * The helping join does not run a placed task on the joiner's CPU.  A
 * gate placed on the task's CPU holds the drain of that CPU's queue of
 * placed tasks: the task, placed there too, stays queued, never polled,
 * which is what a kernel thread's ktask_join() would run itself.
 */
static int placed_no_helping_join(void)
{
	int cpu = cpumask_last(cpu_online_mask), from = other_cpu(cpu);
	struct ktask_spawn_opts o = { .place = KTASK_PLACE_CPU, .cpu = cpu };
	struct gate_arg ga = { .o = &o };
	struct helper_join *hj = NULL;
	struct ktask_rt *rt;
	long out = -EINVAL;
	struct kt_gate g;

	if (cpu == from) {
		KT_FAIL("needs two online CPUs");
		return -EINVAL;
	}
	rt = ktask_rt_create("opts", NULL);
	KT_ASSERT_NOT_ERR_OR_NULL(rt);
	init_completion(&g.entered);
	init_completion(&g.release);
	ga.rt = rt;
	ga.g = &g;
	spawn_gate_there(&ga);
	if (!IS_ERR(ga.h) && wait_for_completion_timeout(&g.entered, KT_WAIT))
		hj = helper_join_start(rt, &o, from);
	/* Time for a helping join to run it; a waiting one waits. */
	if (hj)
		msleep(200);
	complete(&g.release);
	if (!IS_ERR(ga.h))
		join_bounded(ga.h, NULL);
	if (hj)
		out = helper_join_wait(hj);
	if (out != -ETIMEDOUT)
		ktask_rt_destroy(rt);
	KT_ASSERT(hj);
	KT_ASSERT_EQ(out, cpu);
	return 0;
}

/*
 * The helping join does not run a task of a runtime limited to some CPUs
 * on the joiner's.  Two gates hold both drains of the runtime's CPU (its
 * worker thread's and its workqueue's), the second that of the joiner's
 * CPU's queue: a task spawned there stays queued, never polled, which is
 * what a kernel thread's ktask_join() would run itself.
 */
static int rt_cpus_no_helping_join(void)
{
	int cpu = cpumask_last(cpu_online_mask), from = other_cpu(cpu);
	struct helper_join *hj = NULL;
	struct kt_gate g[2];
	struct gate_arg ga[2];
	struct ktask_rt *rt;
	cpumask_var_t mask;
	long out = -EINVAL;
	int i;

	if (cpu == from) {
		KT_FAIL("needs two online CPUs");
		return -EINVAL;
	}
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	rt = rt_on_cpu(cpu, mask);
	for (i = 0; i < 2; i++) {
		init_completion(&g[i].entered);
		init_completion(&g[i].release);
		ga[i] = (struct gate_arg){ .rt = rt, .g = &g[i] };
	}
	for (i = 0; i < 2; i++) {
		if (!rt ||
		    kt_run_on_cpu(i ? from : cpu, spawn_gate_there, &ga[i]) ||
		    IS_ERR(ga[i].h) ||
		    !wait_for_completion_timeout(&g[i].entered, KT_WAIT))
			goto release;
	}
	hj = helper_join_start(rt, NULL, from);
	/* Time for a helping join to run it; a waiting one waits. */
	if (hj)
		msleep(200);
release:
	for (i = 0; i < 2; i++) {
		complete(&g[i].release);
		if (!IS_ERR_OR_NULL(ga[i].h))
			join_bounded(ga[i].h, NULL);
	}
	if (hj)
		out = helper_join_wait(hj);
	if (rt && out != -ETIMEDOUT)
		ktask_rt_destroy(rt);
	free_cpumask_var(mask);
	KT_ASSERT(hj);
	KT_ASSERT_EQ(out, cpu);
	return 0;
}

/*
 * A runtime whose only CPU goes offline runs its tasks elsewhere, and on
 * that CPU again once it is back.
 */
static int rt_cpus_offline_and_back(void)
{
	int cpu = cpumask_last(cpu_online_mask), ret, online = -1;
	long during = -1, after = -1;
	cpumask_var_t mask;
	struct ktask_rt *rt;
	struct ktask_handle *h;

	if (num_online_cpus() < 2 || cpu == 0) {
		KT_FAIL("needs two online CPUs");
		return -EINVAL;
	}
	if (!zalloc_cpumask_var(&mask, GFP_KERNEL))
		return -ENOMEM;
	rt = rt_on_cpu(cpu, mask);
	ret = rt ? remove_cpu(cpu) : -EINVAL;
	if (!ret) {
		h = ktask_spawn(rt, cpu_fn, NULL, GFP_KERNEL);
		if (!IS_ERR(h))
			join_bounded(h, &during);
		online = add_cpu(cpu);
	}
	if (!online) {
		h = ktask_spawn(rt, cpu_fn, NULL, GFP_KERNEL);
		if (!IS_ERR(h))
			join_bounded(h, &after);
	}
	if (rt)
		ktask_rt_destroy(rt);
	free_cpumask_var(mask);
	KT_ASSERT_EQ(ret, 0);
	KT_ASSERT_EQ(online, 0);
	KT_ASSERT_GE(during, 0);
	KT_ASSERT_NE(during, cpu);
	KT_ASSERT_EQ(after, cpu);
	return 0;
}

static const struct kt_case opts_cases[] = {
	KT_CASE(spawn_opts_bad_input),
	KT_CASE(placed_task_polls_on_its_cpu),
	KT_CASE(placed_spawn_from_a_task),
	KT_CASE(placed_task_polls_on_its_node),
	KT_CASE(placed_cpu_offline_and_back),
	KT_CASE(group_spawn_placed),
	KT_CASE(placed_no_helping_join),
	KT_CASE(rt_cpus_poll_there),
	KT_CASE(rt_cpus_no_helping_join),
	KT_CASE(rt_cpus_offline_and_back),
};

KT_TEST_MODULE(opts, opts_cases);
