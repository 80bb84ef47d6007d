// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_bench: ktask against the kernel's own deferred-work APIs, in one
 * boot.
 *
 * Reading /sys/kernel/debug/ktask_bench/run runs every benchmark @rounds
 * times, with the order of the contenders rotated from round to round so
 * that no contender always runs first (on a cold cache) or last, and
 * returns one line per measurement:
 *
 *	result round=R figure=F contender=C value=V unit=U
 *
 * The contenders are what a driver author would otherwise write:
 *
 *	ktask           ktask_spawn() + ktask_join() on a per-CPU runtime
 *	wq_percpu       a kmalloc'ed work item + completion per call,
 *			queue_work_on() the producer's CPU of a workqueue
 *			allocated with flags 0
 *	wq_unbound      the same on a WQ_UNBOUND workqueue
 *	kthread_worker  a kthread_work + completion per call on one
 *			kthread_worker
 *	async           async_schedule() + async_synchronize_cookie()
 *
 * Every baseline allocates its per-call state (work item, completion,
 * argument, output) with kmalloc(), as ktask allocates a cell: one
 * allocation per call each (async_schedule() allocates its own entry and
 * the caller's 16 bytes of argument and output come from a second one).
 *
 * The figures:
 *
 *	throughput_pN   spawn + run + join of tiny tasks (return arg + 1) by
 *			N producer kthreads bound to CPUs 0..N-1, each
 *			spawning @batch tasks then joining them, @tasks per
 *			producer; tasks/s over the slowest producer
 *	spawn_all       one producer spawns @tasks tasks, then joins them
 *			all in order; tasks/s
 *	switches_pN     context switches of the producers in that run, per
 *			100 tasks: how often the worker preempted a producer
 *			or a join slept
 *	cpus_pN         CPUs busy during that run, x100 (every online CPU's
 *			time not idle, from get_cpu_idle_time_us(), over
 *			the run's wall time)
 *	per_cpu_pN      throughput_pN over cpus_pN: tasks per second of one
 *			busy CPU, what the contender's tasks cost in CPU time
 *	spawn_detached  ns per spawn of a detached task, timed around
 *			batches of @batch spawns with preemption off
 *			(GFP_ATOMIC), so the tasks cannot run in between
 *	wake_p50/p99    ns from a wake to the start of the woken side's
 *			poll, two tasks (or work items) ping-ponging on
 *			one CPU, @samples samples sorted
 *	wake_busy_p50/p99  the same while a normal-priority kthread busy
 *			loop (cond_resched() each turn) runs on every
 *			online CPU
 *	forced_yield    ns per forced yield of a task spinning on
 *			ktask_consume_budget() with a budget of 1, against
 *			a work item requeueing itself
 *	bytes_per_task  bytes allocated by the spawning thread per task
 *	allocs_per_task allocations made by the spawning thread per task
 *			(both counted with the kmem tracepoints; a task's
 *			argument is 8 bytes; ktask's cells come from a
 *			per-CPU cache refilled in bulk, unseen by the
 *			tracepoints: one cell per task, of its slab object
 *			size, is added to what they see)
 *
 * Every interval is measured on one CPU (see bench_clock()).  This is a
 * measurement tool: it reports numbers; the medians and ratios are
 * scripts/bench-report.sh's.
 */
#include <linux/async.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktask.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/tick.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>
#include <trace/events/kmem.h>
#ifdef CONFIG_X86
#include <asm/tsc.h>
#endif

static unsigned int rounds = 7;
module_param(rounds, uint, 0644);
MODULE_PARM_DESC(rounds, "rounds of every benchmark (default 7)");

static unsigned int tasks = 20000;
module_param(tasks, uint, 0644);
MODULE_PARM_DESC(tasks, "tasks per producer per throughput run (default 20000)");

static unsigned int batch = 32;
module_param(batch, uint, 0644);
MODULE_PARM_DESC(batch, "tasks in flight per producer (default 32, at most 64)");

static unsigned int samples = 10000;
module_param(samples, uint, 0644);
MODULE_PARM_DESC(samples, "wake-to-poll samples per run (default 10000)");

static unsigned int yields = 50000;
module_param(yields, uint, 0644);
MODULE_PARM_DESC(yields, "forced yields per run (default 50000)");

static char *only;
module_param(only, charp, 0644);
MODULE_PARM_DESC(only, "run only these contenders, comma-separated, e.g. to profile one (default: all)");

static char *figures;
module_param(figures, charp, 0644);
MODULE_PARM_DESC(figures, "run only these benchmarks, comma-separated: throughput, spawn_all, spawn_detached, wake, forced_yield, memory (default: all)");

/* Whether @name is in the comma-separated @list, or @list is empty. */
static bool bench_listed(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p = list;

	if (!p || !*p)
		return true;
	while (p) {
		if (!strncmp(p, name, len) &&
		    (p[len] == ',' || p[len] == '\0' || p[len] == '\n'))
			return true;
		p = strchr(p, ',');
		if (p)
			p++;
	}
	return false;
}

/* Whether the contender @name runs. */
static bool bench_selected(const char *name)
{
	return bench_listed(only, name);
}

/* Whether the benchmark @name runs. */
static bool bench_figure(const char *name)
{
	return bench_listed(figures, name);
}

#define BENCH_MAX_BATCH		64U
#define BENCH_MAX_PRODUCERS	64U
#define BENCH_BUF_SIZE		(256 * 1024)
#define BENCH_MEM_TASKS		256

static struct dentry *bench_dir;
/* Serialises runs: every contender below is shared by one run at a time. */
static DEFINE_MUTEX(bench_lock);

/*
 * One runtime per kind of benchmark, so that the statistics in
 * /sys/kernel/debug/ktask/stats tell them apart (polls per drain).
 */
static struct ktask_rt *bench_rt;		/* throughput and memory */
static struct ktask_rt *bench_detached_rt;	/* detached spawns */
static struct ktask_rt *bench_pp_rt;		/* wake-to-poll ping-pong */
static struct ktask_rt *bench_yield_rt;		/* forced yield: budget 1 */
static struct workqueue_struct *bench_wq_percpu;
static struct workqueue_struct *bench_wq_unbound;
static struct kthread_worker *bench_kworker;

/* --- the clock ------------------------------------------------------ */

/*
 * Under qemu's TCG the guest marks its TSC unstable, and local_clock() is
 * then kept within a tick of the (HPET) timekeeping clock: it stands still
 * at the end of a tick, and sub-microsecond intervals come out as zero.
 * The TSC itself counts at a constant rate on each CPU, so on x86 read it
 * directly; every interval below starts and ends on the same CPU.
 */
static u64 bench_clock(void)
{
#ifdef CONFIG_X86
	if (tsc_khz)
		return rdtsc_ordered();
#endif
	return local_clock();
}

/* A bench_clock() interval in ns. */
static u64 bench_ns(u64 delta)
{
#ifdef CONFIG_X86
	if (tsc_khz)
		return mul_u64_u32_div(delta, USEC_PER_SEC, tsc_khz);
#endif
	return delta;
}

static const char *bench_clock_name(void)
{
#ifdef CONFIG_X86
	if (tsc_khz)
		return "tsc";
#endif
	return "local_clock";
}

/* --- the output ------------------------------------------------------- */

struct bench_out {
	char *buf;
	size_t len;
};

static __printf(2, 3) void bench_printf(struct bench_out *o, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	o->len += vscnprintf(o->buf + o->len, BENCH_BUF_SIZE - o->len, fmt, args);
	va_end(args);
}

static void bench_result(struct bench_out *o, unsigned int round,
			 const char *figure, const char *contender, u64 value,
			 const char *unit)
{
	bench_printf(o, "result round=%u figure=%s contender=%s value=%llu unit=%s\n",
		     round, figure, contender, value, unit);
}

/* --- one tiny task per contender ------------------------------------ */

/*
 * A baseline's per-call state: what a driver keeps to get a result back
 * from deferred work.
 */
struct bench_item {
	union {
		struct work_struct work;
		struct kthread_work kwork;
	};
	struct completion done;
	async_cookie_t cookie;
	u64 arg;
	long out;
};

struct bench_contender {
	const char *name;
	/* Start arg + 1; returns a token for @wait, or an ERR_PTR. */
	void *(*submit)(u64 arg, gfp_t gfp);
	/* Wait for the token's task; returns its output, or -errno. */
	long (*wait)(void *token);
	/* If set: start @nr at once (arg, arg + 1, ...); 0 or -errno. */
	int (*submit_bulk)(u64 arg, unsigned int nr, void **tokens, gfp_t gfp);
};

static long bench_tiny(void *arg)
{
	return (long)arg + 1;
}

static void *bench_ktask_submit(u64 arg, gfp_t gfp)
{
	return ktask_spawn(bench_rt, bench_tiny, (void *)(unsigned long)arg, gfp);
}

static_assert(BENCH_MAX_BATCH <= KTASK_SPAWN_BULK_MAX);

static int bench_ktask_submit_bulk(u64 arg, unsigned int nr, void **tokens,
				   gfp_t gfp)
{
	void *args[BENCH_MAX_BATCH];
	unsigned int i;

	for (i = 0; i < nr; i++)
		args[i] = (void *)(unsigned long)(arg + i);
	return ktask_spawn_bulk(bench_rt, bench_tiny, args, nr,
				(struct ktask_handle **)tokens, gfp);
}

static long bench_ktask_wait(void *token)
{
	long out;
	int ret;

	ret = ktask_join(token, &out);
	return ret ? ret : out;
}

static void bench_work_fn(struct work_struct *work)
{
	struct bench_item *it = container_of(work, struct bench_item, work);

	it->out = it->arg + 1;
	complete(&it->done);
}

static struct bench_item *bench_item_alloc(u64 arg, gfp_t gfp)
{
	struct bench_item *it = kmalloc(sizeof(*it), gfp);

	if (!it)
		return ERR_PTR(-ENOMEM);
	init_completion(&it->done);
	it->arg = arg;
	it->out = 0;
	return it;
}

static void *bench_wq_percpu_submit(u64 arg, gfp_t gfp)
{
	struct bench_item *it = bench_item_alloc(arg, gfp);

	if (!IS_ERR(it)) {
		INIT_WORK(&it->work, bench_work_fn);
		queue_work_on(raw_smp_processor_id(), bench_wq_percpu, &it->work);
	}
	return it;
}

static void *bench_wq_unbound_submit(u64 arg, gfp_t gfp)
{
	struct bench_item *it = bench_item_alloc(arg, gfp);

	if (!IS_ERR(it)) {
		INIT_WORK(&it->work, bench_work_fn);
		queue_work(bench_wq_unbound, &it->work);
	}
	return it;
}

static long bench_item_wait(void *token)
{
	struct bench_item *it = token;
	long out;

	wait_for_completion(&it->done);
	out = it->out;
	kfree(it);
	return out;
}

static void bench_kwork_fn(struct kthread_work *work)
{
	struct bench_item *it = container_of(work, struct bench_item, kwork);

	it->out = it->arg + 1;
	complete(&it->done);
}

static void *bench_kworker_submit(u64 arg, gfp_t gfp)
{
	struct bench_item *it = bench_item_alloc(arg, gfp);

	if (!IS_ERR(it)) {
		kthread_init_work(&it->kwork, bench_kwork_fn);
		kthread_queue_work(bench_kworker, &it->kwork);
	}
	return it;
}

static void bench_async_fn(void *data, async_cookie_t cookie)
{
	struct bench_item *it = data;

	it->out = it->arg + 1;
}

static void *bench_async_submit(u64 arg, gfp_t gfp)
{
	struct bench_item *it = bench_item_alloc(arg, gfp);

	if (!IS_ERR(it))
		it->cookie = async_schedule(bench_async_fn, it);
	return it;
}

static long bench_async_wait(void *token)
{
	struct bench_item *it = token;
	long out;

	/* Waits for every entry scheduled before ours, and ours. */
	async_synchronize_cookie(it->cookie + 1);
	out = it->out;
	kfree(it);
	return out;
}

static const struct bench_contender bench_contenders[] = {
	{ "ktask", bench_ktask_submit, bench_ktask_wait },
	{ "wq_percpu", bench_wq_percpu_submit, bench_item_wait },
	{ "wq_unbound", bench_wq_unbound_submit, bench_item_wait },
	{ "kthread_worker", bench_kworker_submit, bench_item_wait },
	{ "async", bench_async_submit, bench_async_wait },
	/* ktask again, each batch spawned with one ktask_spawn_bulk() */
	{ "ktask_bulk", bench_ktask_submit, bench_ktask_wait,
	  bench_ktask_submit_bulk },
};

#define BENCH_NR_CONTENDERS	ARRAY_SIZE(bench_contenders)

/* --- producers -------------------------------------------------------- */

struct bench_run;

struct bench_producer {
	struct bench_run *run;
	struct task_struct *thread;
	unsigned int idx;
	u64 elapsed;		/* bench_clock() time of the body, or its own */
	unsigned long switches;	/* context switches of the producer in it */
	int err;
};

struct bench_run {
	const struct bench_contender *c;
	/* Runs on a producer between the start gate and the finish line. */
	int (*body)(struct bench_producer *p);
	struct completion go;
	struct completion all_ready;
	struct completion all_done;
	atomic_t ready;
	atomic_t done;
	unsigned int nr;
	u64 wall_us;		/* the run's wall time, from go to done */
	u64 idle_us;		/* every online CPU's idle time in it */
	struct bench_producer producers[BENCH_MAX_PRODUCERS];
};

/*
 * Idle time of every online CPU so far, in us; U64_MAX without NO_HZ idle
 * accounting.  An idle CPU's time is counted up to now.
 */
static u64 bench_idle_us(void)
{
	u64 sum = 0, idle;
	int cpu;

	for_each_online_cpu(cpu) {
		idle = get_cpu_idle_time_us(cpu, NULL);
		if (idle == (u64)-1)
			return U64_MAX;
		sum += idle;
	}
	return sum;
}

static int bench_producer_fn(void *data)
{
	struct bench_producer *p = data;
	struct bench_run *run = p->run;
	unsigned long switches;
	u64 start;

	if (atomic_inc_return(&run->ready) == run->nr)
		complete(&run->all_ready);
	wait_for_completion(&run->go);
	switches = current->nvcsw + current->nivcsw;
	start = bench_clock();
	p->err = run->body(p);
	if (!p->elapsed)
		p->elapsed = bench_clock() - start;
	p->switches = current->nvcsw + current->nivcsw - switches;
	if (atomic_inc_return(&run->done) == run->nr)
		complete(&run->all_done);

	/* Stay until kthread_stop(), which needs us alive. */
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
	return 0;
}

/* Run @run->body on @nr producers bound to the first @nr online CPUs. */
static int bench_run_producers(struct bench_run *run, unsigned int nr)
{
	unsigned int i, cpu = cpumask_first(cpu_online_mask);
	u64 start_ns, idle;
	int err = 0;

	run->nr = nr;
	atomic_set(&run->ready, 0);
	atomic_set(&run->done, 0);
	init_completion(&run->go);
	init_completion(&run->all_ready);
	init_completion(&run->all_done);

	/* No CPU goes offline during a benchmark: nothing else runs. */
	for (i = 0; i < nr; i++) {
		struct bench_producer *p = &run->producers[i];

		if (i) {
			cpu = cpumask_next(cpu, cpu_online_mask);
			if (cpu >= nr_cpu_ids)
				cpu = cpumask_first(cpu_online_mask);
		}
		p->run = run;
		p->idx = i;
		p->elapsed = 0;
		p->err = 0;
		p->thread = kthread_create_on_cpu(bench_producer_fn, p, cpu,
						  "ktask_bench/%u");
		if (IS_ERR(p->thread)) {
			err = PTR_ERR(p->thread);
			break;
		}
		get_task_struct(p->thread);
	}
	if (err) {
		/* Never woken: they stop without running their function. */
		while (i--) {
			kthread_stop(run->producers[i].thread);
			put_task_struct(run->producers[i].thread);
		}
		return err;
	}

	for (i = 0; i < nr; i++)
		wake_up_process(run->producers[i].thread);
	wait_for_completion(&run->all_ready);
	start_ns = ktime_get_ns();
	run->idle_us = bench_idle_us();
	complete_all(&run->go);
	wait_for_completion(&run->all_done);
	idle = bench_idle_us();
	run->wall_us = div_u64(ktime_get_ns() - start_ns, NSEC_PER_USEC);
	if (idle == U64_MAX || run->idle_us == U64_MAX)
		run->idle_us = U64_MAX;
	else
		run->idle_us = idle - run->idle_us;
	for (i = 0; i < nr; i++) {
		struct bench_producer *p = &run->producers[i];

		kthread_stop(p->thread);
		put_task_struct(p->thread);
		if (p->err && !err)
			err = p->err;
	}
	return err;
}

/* --- throughput ------------------------------------------------------- */

static int bench_throughput_body(struct bench_producer *p)
{
	const struct bench_contender *c = p->run->c;
	void *tokens[BENCH_MAX_BATCH];
	unsigned int n, i, b = min(batch, BENCH_MAX_BATCH);
	int err = 0;

	for (n = 0; n < tasks; n += b) {
		unsigned int k = min(b, tasks - n);

		if (c->submit_bulk) {
			err = c->submit_bulk(n, k, tokens, GFP_KERNEL);
			i = err ? 0 : k;
		} else {
			for (i = 0; i < k; i++) {
				tokens[i] = c->submit(n + i, GFP_KERNEL);
				if (IS_ERR(tokens[i])) {
					err = PTR_ERR(tokens[i]);
					break;
				}
			}
		}
		k = i;
		for (i = 0; i < k; i++) {
			long out = c->wait(tokens[i]);

			if (out != (long)(n + i) + 1 && !err)
				err = out < 0 ? (int)out : -EIO;
		}
		if (err)
			return err;
	}
	return 0;
}

static int bench_throughput(struct bench_run *run,
			    const struct bench_contender *c, unsigned int nr,
			    u64 *per_sec, u64 *switches100, u64 *cpus100)
{
	u64 slowest = 0, switches = 0;
	unsigned int i;
	int err;

	run->c = c;
	run->body = bench_throughput_body;
	err = bench_run_producers(run, nr);
	if (err)
		return err;
	for (i = 0; i < nr; i++) {
		slowest = max(slowest, run->producers[i].elapsed);
		switches += run->producers[i].switches;
	}
	slowest = max(bench_ns(slowest), 1ULL);
	*per_sec = div64_u64((u64)tasks * nr * NSEC_PER_SEC, slowest);
	*switches100 = div64_u64(switches * 100, (u64)tasks * nr);
	/*
	 * The controlling thread sleeps meanwhile; the rounding of the two
	 * clocks may put idle a little above the CPUs' wall time.
	 */
	*cpus100 = 0;
	if (run->idle_us != U64_MAX && run->wall_us &&
	    run->idle_us < (u64)num_online_cpus() * run->wall_us)
		*cpus100 = div64_u64(((u64)num_online_cpus() * run->wall_us -
				      run->idle_us) * 100, run->wall_us);
	return 0;
}

/* --- spawn all, then join all ----------------------------------------- */

static void **bench_all_tokens;	/* @tasks of them, for spawn_all */

static int bench_spawn_all_body(struct bench_producer *p)
{
	const struct bench_contender *c = p->run->c;
	unsigned int n, i;
	int err = 0;

	for (n = 0; n < tasks && c->submit_bulk; n += i) {
		i = min(BENCH_MAX_BATCH, tasks - n);
		err = c->submit_bulk(n, i, &bench_all_tokens[n], GFP_KERNEL);
		if (err)
			break;
	}
	for (; n < tasks && !c->submit_bulk; n++) {
		bench_all_tokens[n] = c->submit(n, GFP_KERNEL);
		if (IS_ERR(bench_all_tokens[n])) {
			err = PTR_ERR(bench_all_tokens[n]);
			break;
		}
	}
	for (i = 0; i < n; i++) {
		long out = c->wait(bench_all_tokens[i]);

		if (out != (long)i + 1 && !err)
			err = out < 0 ? (int)out : -EIO;
	}
	return err;
}

static int bench_spawn_all(struct bench_run *run,
			   const struct bench_contender *c, u64 *per_sec)
{
	int err;

	run->c = c;
	run->body = bench_spawn_all_body;
	err = bench_run_producers(run, 1);
	if (err)
		return err;
	*per_sec = div64_u64((u64)tasks * NSEC_PER_SEC,
			     max(bench_ns(run->producers[0].elapsed), 1ULL));
	return 0;
}

/* --- detached spawn cost ---------------------------------------------- */

struct bench_detached {
	atomic_t left;
	struct completion done;
};

/* Shared by every detached task of a run (one run at a time). */
static struct bench_detached bench_detached;

static void bench_detached_finish(void)
{
	if (atomic_dec_and_test(&bench_detached.left))
		complete(&bench_detached.done);
}

static long bench_detached_fn(void *arg)
{
	bench_detached_finish();
	return 0;
}

static void bench_detached_work(struct work_struct *work)
{
	kfree(container_of(work, struct bench_item, work));
	bench_detached_finish();
}

static void bench_detached_kwork(struct kthread_work *work)
{
	kfree(container_of(work, struct bench_item, kwork));
	bench_detached_finish();
}

static void bench_detached_async(void *data, async_cookie_t cookie)
{
	bench_detached_finish();
}

/* Start one detached task of contender @idx; atomic context. */
static int bench_spawn_detached(unsigned int idx, u64 arg)
{
	struct bench_item *it;

	switch (idx) {
	case 0:
		return ktask_spawn_detached(bench_detached_rt, bench_detached_fn,
					    (void *)(unsigned long)arg,
					    GFP_ATOMIC);
	case 4:
		async_schedule(bench_detached_async, NULL);
		return 0;
	}
	it = kmalloc(sizeof(*it), GFP_ATOMIC);
	if (!it)
		return -ENOMEM;
	it->arg = arg;
	switch (idx) {
	case 1:
		INIT_WORK(&it->work, bench_detached_work);
		queue_work_on(smp_processor_id(), bench_wq_percpu, &it->work);
		break;
	case 2:
		INIT_WORK(&it->work, bench_detached_work);
		queue_work(bench_wq_unbound, &it->work);
		break;
	default:
		kthread_init_work(&it->kwork, bench_detached_kwork);
		kthread_queue_work(bench_kworker, &it->kwork);
		break;
	}
	return 0;
}

static int bench_detached_body(struct bench_producer *p)
{
	unsigned int idx = p->run->c - bench_contenders;
	unsigned int n, i, started = 0, b = min(batch, BENCH_MAX_BATCH);
	u64 spent = 0;
	int err = 0;

	atomic_set(&bench_detached.left, tasks);
	init_completion(&bench_detached.done);
	for (n = 0; n < tasks && !err; n += b) {
		unsigned int k = min(b, tasks - n);
		u64 start;

		preempt_disable();
		start = bench_clock();
		if (p->run->c->submit_bulk) {
			/* A batch of detached tasks: no handles. */
			err = ktask_spawn_bulk(bench_detached_rt,
					       bench_detached_fn, NULL, k, NULL,
					       GFP_ATOMIC);
			started += err ? 0 : k;
		}
		for (i = 0; !p->run->c->submit_bulk && i < k; i++) {
			err = bench_spawn_detached(idx, n + i);
			if (err)
				break;
			started++;
		}
		spent += bench_clock() - start;
		preempt_enable();
		/* Let the tasks run, so every batch starts from the same place. */
		cond_resched();
	}
	/* The tasks never started count as done. */
	if (started < tasks &&
	    atomic_sub_and_test(tasks - started, &bench_detached.left))
		complete(&bench_detached.done);
	wait_for_completion(&bench_detached.done);
	p->elapsed = max(spent, 1ULL);
	return err;
}

static int bench_detached_cost(struct bench_run *run,
			       const struct bench_contender *c, u64 *ns)
{
	int err;

	run->c = c;
	run->body = bench_detached_body;
	err = bench_run_producers(run, 1);
	if (err)
		return err;
	*ns = div64_u64(bench_ns(run->producers[0].elapsed), tasks);
	return 0;
}

/* --- wake-to-poll latency --------------------------------------------- */

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/*
 * Two sides take turns; the side whose turn it is records the time since
 * it was woken, wakes the other and waits to be woken.  Everything runs on
 * one CPU: the drain (or worker) of the CPU the ping-pong started on.
 */
struct bench_pingpong {
	u64 *samples;
	unsigned int n;
	unsigned int want;
	int turn;
	bool finished;
	u64 woken;		/* bench_clock() of the last wake */
	int cpu;
	struct ktask_waker *wakers[2];	/* each side's, taken by xchg() */
	struct work_struct works[2];
	struct kthread_work kworks[2];
	struct completion done;
};

/* Returns true when the ping-pong is over. */
static bool bench_pingpong_turn(struct bench_pingpong *pp)
{
	u64 now = bench_clock();

	if (pp->woken && pp->n < pp->want)
		pp->samples[pp->n++] = now - pp->woken;
	if (pp->n >= pp->want) {
		pp->finished = true;
		return true;
	}
	pp->turn = !pp->turn;
	pp->woken = bench_clock();
	return false;
}

static enum ktask_poll bench_pp_poll(struct bench_pingpong *pp, int side,
				     struct ktask_cx *cx)
{
	struct ktask_waker *other;

	if (READ_ONCE(pp->finished))
		return KTASK_READY;
	if (READ_ONCE(pp->turn) != side) {
		/* Spurious or first poll: make sure we can be woken. */
		if (!READ_ONCE(pp->wakers[side]))
			WRITE_ONCE(pp->wakers[side],
				   ktask_waker_clone(ktask_cx_waker(cx)));
		return KTASK_PENDING;
	}
	bench_pingpong_turn(pp);
	/* Ours before the other side's wake, which may wake us at once. */
	if (!READ_ONCE(pp->wakers[side]))
		WRITE_ONCE(pp->wakers[side],
			   ktask_waker_clone(ktask_cx_waker(cx)));
	other = xchg(&pp->wakers[!side], NULL);
	if (other) {
		/*
		 * The sample starts at the wake, as the work items' starts at
		 * their queue_work(): our waker's clone and the exchange are
		 * this poll's work, not the wake's.
		 */
		pp->woken = bench_clock();
		ktask_wake(other);
	}
	return pp->finished ? KTASK_READY : KTASK_PENDING;
}

static enum ktask_poll bench_pp_poll0(struct ktask_cx *cx, void *arg, long *out)
{
	return bench_pp_poll(arg, 0, cx);
}

static enum ktask_poll bench_pp_poll1(struct ktask_cx *cx, void *arg, long *out)
{
	return bench_pp_poll(arg, 1, cx);
}

static const struct ktask_ops bench_pp_ops[2] = {
	{ .poll = bench_pp_poll0 },
	{ .poll = bench_pp_poll1 },
};

static int bench_pingpong_ktask(struct bench_pingpong *pp)
{
	struct ktask_handle *h[2];
	int i, err, err1;

	h[1] = ktask_spawn_poll(bench_pp_rt, &bench_pp_ops[1], pp, GFP_KERNEL);
	if (IS_ERR(h[1]))
		return PTR_ERR(h[1]);
	/* Side 1 must be able to be woken before side 0 starts. */
	for (i = 0; i < 10000 && !READ_ONCE(pp->wakers[1]); i++)
		usleep_range(100, 200);
	h[0] = ktask_spawn_poll(bench_pp_rt, &bench_pp_ops[0], pp, GFP_KERNEL);
	if (IS_ERR(h[0])) {
		ktask_abort(h[1]);
		ktask_join(h[1], NULL);
		ktask_waker_drop(xchg(&pp->wakers[1], NULL));
		return PTR_ERR(h[0]);
	}
	err = ktask_join(h[0], NULL);
	err1 = ktask_join(h[1], NULL);
	ktask_waker_drop(xchg(&pp->wakers[0], NULL));
	ktask_waker_drop(xchg(&pp->wakers[1], NULL));
	return err ? err : err1;
}

static void bench_pp_work(struct bench_pingpong *pp, int side)
{
	if (bench_pingpong_turn(pp))
		complete(&pp->done);
	else
		queue_work_on(pp->cpu, bench_wq_percpu, &pp->works[!side]);
}

static void bench_pp_work0(struct work_struct *w)
{
	bench_pp_work(container_of(w, struct bench_pingpong, works[0]), 0);
}

static void bench_pp_work1(struct work_struct *w)
{
	bench_pp_work(container_of(w, struct bench_pingpong, works[1]), 1);
}

static int bench_pingpong_wq(struct bench_pingpong *pp)
{
	INIT_WORK(&pp->works[0], bench_pp_work0);
	INIT_WORK(&pp->works[1], bench_pp_work1);
	pp->cpu = raw_smp_processor_id();
	queue_work_on(pp->cpu, bench_wq_percpu, &pp->works[0]);
	wait_for_completion(&pp->done);
	flush_work(&pp->works[0]);
	flush_work(&pp->works[1]);
	return 0;
}

static void bench_pp_kwork(struct bench_pingpong *pp, int side)
{
	if (bench_pingpong_turn(pp))
		complete(&pp->done);
	else
		kthread_queue_work(bench_kworker, &pp->kworks[!side]);
}

static void bench_pp_kwork0(struct kthread_work *w)
{
	bench_pp_kwork(container_of(w, struct bench_pingpong, kworks[0]), 0);
}

static void bench_pp_kwork1(struct kthread_work *w)
{
	bench_pp_kwork(container_of(w, struct bench_pingpong, kworks[1]), 1);
}

static int bench_pingpong_kworker(struct bench_pingpong *pp)
{
	kthread_init_work(&pp->kworks[0], bench_pp_kwork0);
	kthread_init_work(&pp->kworks[1], bench_pp_kwork1);
	kthread_queue_work(bench_kworker, &pp->kworks[0]);
	wait_for_completion(&pp->done);
	kthread_flush_work(&pp->kworks[0]);
	kthread_flush_work(&pp->kworks[1]);
	return 0;
}

/* Contender index -> ping-pong; NULL where there is no such thing. */
static int (*const bench_pingpongs[BENCH_NR_CONTENDERS])(struct bench_pingpong *) = {
	[0] = bench_pingpong_ktask,
	[1] = bench_pingpong_wq,
	[3] = bench_pingpong_kworker,
};

static int bench_wake_latency(unsigned int idx, u64 *samples_buf, u64 *p50,
			      u64 *p99)
{
	struct bench_pingpong *pp;
	unsigned int n;
	int err;

	pp = kzalloc(sizeof(*pp), GFP_KERNEL);
	if (!pp)
		return -ENOMEM;
	pp->samples = samples_buf;
	pp->want = samples;
	init_completion(&pp->done);
	err = bench_pingpongs[idx](pp);
	n = pp->n;
	kfree(pp);
	if (err)
		return err;
	if (n < samples)
		return -EIO;
	sort(samples_buf, n, sizeof(u64), bench_cmp_u64, NULL);
	*p50 = bench_ns(samples_buf[n / 2]);
	*p99 = bench_ns(samples_buf[min(n - 1, n * 99 / 100)]);
	return 0;
}

/*
 * The same with a normal-priority busy loop on every CPU, which the
 * woken side must preempt or wait for: latency must not pay for the
 * throughput of a worker that does not preempt its producer.
 */
struct bench_hogs {
	struct task_struct *threads[BENCH_MAX_PRODUCERS];
	unsigned int nr;
};

static int bench_hog_fn(void *data)
{
	while (!kthread_should_stop()) {
		cpu_relax();
		cond_resched();
	}
	return 0;
}

static void bench_hogs_stop(struct bench_hogs *hogs)
{
	while (hogs->nr) {
		struct task_struct *t = hogs->threads[--hogs->nr];

		kthread_stop(t);
		put_task_struct(t);
	}
}

static int bench_hogs_start(struct bench_hogs *hogs)
{
	unsigned int cpu;

	hogs->nr = 0;
	for_each_online_cpu(cpu) {
		struct task_struct *t;

		if (hogs->nr == ARRAY_SIZE(hogs->threads))
			break;
		t = kthread_create_on_cpu(bench_hog_fn, NULL, cpu,
					  "ktask_bench_hog/%u");
		if (IS_ERR(t)) {
			bench_hogs_stop(hogs);
			return PTR_ERR(t);
		}
		get_task_struct(t);
		hogs->threads[hogs->nr++] = t;
		wake_up_process(t);
	}
	return 0;
}

static int bench_wake_latency_busy(unsigned int idx, u64 *samples_buf,
				   u64 *p50, u64 *p99)
{
	struct bench_hogs hogs;
	int err;

	err = bench_hogs_start(&hogs);
	if (err)
		return err;
	err = bench_wake_latency(idx, samples_buf, p50, p99);
	bench_hogs_stop(&hogs);
	return err;
}

/* --- forced yield ----------------------------------------------------- */

struct bench_yield {
	unsigned int n;
	u64 first;		/* bench_clock() of the first run */
	u64 last;		/* and of the last */
	int cpu;
	struct work_struct work;
	struct kthread_work kwork;
	struct completion done;
};

/* Returns true when done. */
static bool bench_yield_step(struct bench_yield *y)
{
	u64 now = bench_clock();

	if (!y->first)
		y->first = now;
	if (y->n++ < yields)
		return false;
	y->last = now;
	return true;
}

static enum ktask_poll bench_yield_poll(struct ktask_cx *cx, void *arg,
					long *out)
{
	struct bench_yield *y = arg;

	if (bench_yield_step(y))
		return KTASK_READY;
	/* Budget 1: the first unit goes, the second forces the yield. */
	while (ktask_consume_budget(cx) == KTASK_READY)
		;
	return KTASK_PENDING;
}

static const struct ktask_ops bench_yield_ops = {
	.poll = bench_yield_poll,
};

static void bench_yield_work(struct work_struct *w)
{
	struct bench_yield *y = container_of(w, struct bench_yield, work);

	if (bench_yield_step(y))
		complete(&y->done);
	else
		queue_work_on(y->cpu, bench_wq_percpu, &y->work);
}

static void bench_yield_kwork(struct kthread_work *w)
{
	struct bench_yield *y = container_of(w, struct bench_yield, kwork);

	if (bench_yield_step(y))
		complete(&y->done);
	else
		kthread_queue_work(bench_kworker, &y->kwork);
}

static int bench_forced_yield(unsigned int idx, u64 *ns)
{
	struct ktask_handle *h;
	struct bench_yield *y;
	int err = 0;

	y = kzalloc(sizeof(*y), GFP_KERNEL);
	if (!y)
		return -ENOMEM;
	init_completion(&y->done);
	switch (idx) {
	case 0:
		h = ktask_spawn_poll(bench_yield_rt, &bench_yield_ops, y, GFP_KERNEL);
		err = IS_ERR(h) ? PTR_ERR(h) : ktask_join(h, NULL);
		break;
	case 1:
		INIT_WORK(&y->work, bench_yield_work);
		y->cpu = raw_smp_processor_id();
		queue_work_on(y->cpu, bench_wq_percpu, &y->work);
		wait_for_completion(&y->done);
		flush_work(&y->work);
		break;
	case 3:
		kthread_init_work(&y->kwork, bench_yield_kwork);
		kthread_queue_work(bench_kworker, &y->kwork);
		wait_for_completion(&y->done);
		kthread_flush_work(&y->kwork);
		break;
	default:
		err = -EINVAL;
	}
	if (!err)
		*ns = div64_u64(bench_ns(y->last - y->first), yields);
	kfree(y);
	return err;
}

static bool bench_has_yield(unsigned int idx)
{
	return idx == 0 || idx == 1 || idx == 3;
}

/* --- memory per task -------------------------------------------------- */

/* The thread whose allocations are counted, and the counts. */
static struct task_struct *bench_mem_thread;
static atomic_long_t bench_mem_allocs;
static atomic_long_t bench_mem_bytes;

static void bench_probe_kmalloc(void *data, unsigned long call_site,
				const void *ptr, size_t bytes_req,
				size_t bytes_alloc, gfp_t gfp, int node)
{
	if (ptr && current == READ_ONCE(bench_mem_thread)) {
		atomic_long_inc(&bench_mem_allocs);
		atomic_long_add(bytes_alloc, &bench_mem_bytes);
	}
}

static void bench_probe_cache_alloc(void *data, unsigned long call_site,
				    const void *ptr, struct kmem_cache *s,
				    gfp_t gfp, int node)
{
	if (ptr && current == READ_ONCE(bench_mem_thread)) {
		atomic_long_inc(&bench_mem_allocs);
		atomic_long_add(ksize(ptr), &bench_mem_bytes);
	}
}

static int bench_mem_probes(bool on)
{
	int err;

	if (!on) {
		unregister_trace_kmem_cache_alloc(bench_probe_cache_alloc, NULL);
		unregister_trace_kmalloc(bench_probe_kmalloc, NULL);
		tracepoint_synchronize_unregister();
		return 0;
	}
	err = register_trace_kmalloc(bench_probe_kmalloc, NULL);
	if (err)
		return err;
	err = register_trace_kmem_cache_alloc(bench_probe_cache_alloc, NULL);
	if (err) {
		unregister_trace_kmalloc(bench_probe_kmalloc, NULL);
		tracepoint_synchronize_unregister();
	}
	return err;
}

/* Allocations and bytes by the spawning thread, per 100 tasks. */
static int bench_memory(const struct bench_contender *c, u64 *allocs100,
			u64 *bytes)
{
	bool is_ktask = c->wait == bench_ktask_wait;
	long allocs, nbytes, cell_bytes = 0;
	void *tokens[16];
	unsigned int n, i;
	int err = 0;

	atomic_long_set(&bench_mem_allocs, 0);
	atomic_long_set(&bench_mem_bytes, 0);
	for (n = 0; n < BENCH_MEM_TASKS && !err; n += ARRAY_SIZE(tokens)) {
		unsigned int k;

		WRITE_ONCE(bench_mem_thread, current);
		if (c->submit_bulk) {
			err = c->submit_bulk(n, ARRAY_SIZE(tokens), tokens,
					     GFP_KERNEL);
			k = err ? 0 : ARRAY_SIZE(tokens);
		} else {
			for (k = 0; k < ARRAY_SIZE(tokens); k++) {
				tokens[k] = c->submit(n + k, GFP_KERNEL);
				if (IS_ERR(tokens[k])) {
					err = PTR_ERR(tokens[k]);
					break;
				}
			}
		}
		/* Joining frees; only the spawns are counted. */
		WRITE_ONCE(bench_mem_thread, NULL);
		if (is_ktask && k)
			cell_bytes = ksize(tokens[0]);
		for (i = 0; i < k; i++)
			c->wait(tokens[i]);
	}
	if (err)
		return err;
	allocs = atomic_long_read(&bench_mem_allocs);
	nbytes = atomic_long_read(&bench_mem_bytes);
	if (is_ktask) {
		/*
		 * A task's cell comes from ktask's per-CPU cache, refilled
		 * with kmem_cache_alloc_bulk(), which the kmem tracepoints do
		 * not see: count it, one slab object per task, on top of
		 * whatever else they saw the spawns allocate.
		 */
		allocs += BENCH_MEM_TASKS;
		nbytes += BENCH_MEM_TASKS * cell_bytes;
	}
	*allocs100 = div_u64((u64)allocs * 100, BENCH_MEM_TASKS);
	*bytes = div_u64((u64)nbytes, BENCH_MEM_TASKS);
	return 0;
}

/* --- the run ---------------------------------------------------------- */

static int bench_all(struct bench_out *o)
{
	unsigned int producers[3] = { 1, 2, num_online_cpus() };
	unsigned int nr_producers = 2, r, j, k;
	struct bench_run *run;
	u64 *samples_buf;
	int err = 0;

	if (producers[2] > 2 && producers[2] <= BENCH_MAX_PRODUCERS)
		nr_producers = 3;
	if (!tasks || !batch || !samples || !yields || !rounds)
		return -EINVAL;

	run = kzalloc(sizeof(*run), GFP_KERNEL);
	samples_buf = vmalloc(array_size(samples, sizeof(u64)));
	bench_all_tokens = vmalloc(array_size(tasks, sizeof(void *)));
	if (!run || !samples_buf || !bench_all_tokens) {
		err = -ENOMEM;
		goto out;
	}
	err = bench_mem_probes(true);
	if (err)
		goto out;

	bench_printf(o, "ktask_bench version=1 cpus=%u rounds=%u tasks=%u batch=%u ",
		     num_online_cpus(), rounds, tasks, batch);
	bench_printf(o, "samples=%u yields=%u clock=%s\n", samples, yields,
		     bench_clock_name());
	for (r = 0; r < rounds && !err; r++) {
		for (k = 0; k < BENCH_NR_CONTENDERS && !err; k++) {
			unsigned int idx = (r + k) % BENCH_NR_CONTENDERS;
			const struct bench_contender *c = &bench_contenders[idx];
			char figure[32];
			u64 v, v2, v3;

			if (!bench_selected(c->name))
				continue;

			for (j = 0; j < nr_producers && !err &&
			     bench_figure("throughput"); j++) {
				err = bench_throughput(run, c, producers[j], &v,
						       &v2, &v3);
				if (err)
					break;
				snprintf(figure, sizeof(figure), "throughput_p%u",
					 producers[j]);
				bench_result(o, r, figure, c->name, v, "tasks/s");
				snprintf(figure, sizeof(figure), "switches_p%u",
					 producers[j]);
				bench_result(o, r, figure, c->name, v2,
					     "switches/100");
				if (v3) {
					snprintf(figure, sizeof(figure),
						 "cpus_p%u", producers[j]);
					bench_result(o, r, figure, c->name, v3,
						     "cpus/100");
					snprintf(figure, sizeof(figure),
						 "per_cpu_p%u", producers[j]);
					bench_result(o, r, figure, c->name,
						     div64_u64(v * 100, v3),
						     "tasks/cpu-s");
				}
			}
			if (err)
				break;

			if (bench_figure("spawn_all")) {
				err = bench_spawn_all(run, c, &v);
				if (err)
					break;
				bench_result(o, r, "spawn_all", c->name, v,
					     "tasks/s");
			}

			if (bench_figure("spawn_detached")) {
				err = bench_detached_cost(run, c, &v);
				if (err)
					break;
				bench_result(o, r, "spawn_detached", c->name, v,
					     "ns");
			}

			if (bench_pingpongs[idx] && bench_figure("wake")) {
				err = bench_wake_latency(idx, samples_buf, &v, &v2);
				if (err)
					break;
				bench_result(o, r, "wake_p50", c->name, v, "ns");
				bench_result(o, r, "wake_p99", c->name, v2, "ns");
				err = bench_wake_latency_busy(idx, samples_buf,
							      &v, &v2);
				if (err)
					break;
				bench_result(o, r, "wake_busy_p50", c->name, v, "ns");
				bench_result(o, r, "wake_busy_p99", c->name, v2, "ns");
			}

			if (bench_has_yield(idx) && bench_figure("forced_yield")) {
				err = bench_forced_yield(idx, &v);
				if (err)
					break;
				bench_result(o, r, "forced_yield", c->name, v, "ns");
			}

			if (bench_figure("memory")) {
				err = bench_memory(c, &v, &v2);
				if (err)
					break;
				bench_result(o, r, "allocs_per_task_x100",
					     c->name, v, "allocs/100");
				bench_result(o, r, "bytes_per_task", c->name,
					     v2, "B");
			}
			cond_resched();
		}
		if (err)
			bench_printf(o, "error round=%u err=%d\n", r, err);
	}
	bench_mem_probes(false);
out:
	vfree(bench_all_tokens);
	bench_all_tokens = NULL;
	vfree(samples_buf);
	kfree(run);
	return err;
}

static int bench_run_open(struct inode *inode, struct file *file)
{
	struct bench_out *o;
	int err;

	o = kzalloc(sizeof(*o), GFP_KERNEL);
	if (!o)
		return -ENOMEM;
	o->buf = vzalloc(BENCH_BUF_SIZE);
	if (!o->buf) {
		kfree(o);
		return -ENOMEM;
	}
	err = mutex_lock_interruptible(&bench_lock);
	if (!err) {
		err = bench_all(o);
		mutex_unlock(&bench_lock);
	}
	if (err) {
		pr_err("ktask_bench: run failed: %d\n%s", err, o->buf);
		vfree(o->buf);
		kfree(o);
		return err;
	}
	file->private_data = o;
	return 0;
}

static ssize_t bench_run_read(struct file *file, char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct bench_out *o = file->private_data;

	return simple_read_from_buffer(ubuf, count, ppos, o->buf, o->len);
}

static int bench_run_release(struct inode *inode, struct file *file)
{
	struct bench_out *o = file->private_data;

	vfree(o->buf);
	kfree(o);
	return 0;
}

static const struct file_operations bench_run_fops = {
	.owner = THIS_MODULE,
	.open = bench_run_open,
	.read = bench_run_read,
	.release = bench_run_release,
	.llseek = default_llseek,
};

static void bench_teardown(void)
{
	if (bench_kworker)
		kthread_destroy_worker(bench_kworker);
	if (bench_wq_unbound)
		destroy_workqueue(bench_wq_unbound);
	if (bench_wq_percpu)
		destroy_workqueue(bench_wq_percpu);
	ktask_rt_destroy(bench_yield_rt);
	ktask_rt_destroy(bench_pp_rt);
	ktask_rt_destroy(bench_detached_rt);
	ktask_rt_destroy(bench_rt);
}

static int __init bench_rt_create(struct ktask_rt **rt, const char *name,
				  const struct ktask_rt_opts *opts)
{
	*rt = ktask_rt_create(name, opts);
	if (IS_ERR(*rt)) {
		int err = PTR_ERR(*rt);

		*rt = NULL;
		return err;
	}
	return 0;
}

static int __init ktask_bench_init(void)
{
	struct ktask_rt_opts yield_opts = { .budget = 1 };
	int err;

	err = bench_rt_create(&bench_rt, "bench", NULL);
	if (!err)
		err = bench_rt_create(&bench_detached_rt, "bench_detached", NULL);
	if (!err)
		err = bench_rt_create(&bench_pp_rt, "bench_pingpong", NULL);
	if (!err)
		err = bench_rt_create(&bench_yield_rt, "bench_yield", &yield_opts);
	if (err)
		goto fail;
	err = -ENOMEM;
	bench_wq_percpu = alloc_workqueue("ktask_bench_percpu", 0, 0);
	bench_wq_unbound = alloc_workqueue("ktask_bench_unbound", WQ_UNBOUND, 0);
	if (!bench_wq_percpu || !bench_wq_unbound)
		goto fail;
	bench_kworker = kthread_create_worker(0, "ktask_bench_kw");
	if (IS_ERR(bench_kworker)) {
		err = PTR_ERR(bench_kworker);
		bench_kworker = NULL;
		goto fail;
	}
	bench_dir = debugfs_create_dir("ktask_bench", NULL);
	debugfs_create_file("run", 0400, bench_dir, NULL, &bench_run_fops);
	return 0;

fail:
	bench_teardown();
	return err;
}

static void __exit ktask_bench_exit(void)
{
	debugfs_remove_recursive(bench_dir);
	bench_teardown();
}

module_init(ktask_bench_init);
module_exit(ktask_bench_exit);

MODULE_DESCRIPTION("ktask against workqueues, kthread_worker and async, in one boot");
MODULE_LICENSE("GPL");
