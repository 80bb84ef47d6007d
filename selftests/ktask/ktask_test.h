/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small framework for ktask's test modules
 *
 * A test module is a list of cases, each a function returning 0 when it
 * passes and a negative errno when it fails:
 *
 *	static int my_case(void)
 *	{
 *		KT_ASSERT_EQ(ktask_current_id(), 0);
 *		return 0;
 *	}
 *
 *	static const struct kt_case my_cases[] = {
 *		KT_CASE(my_case),
 *	};
 *	KT_TEST_MODULE(myarea, my_cases);
 *
 * KT_TEST_MODULE() makes the module create /sys/kernel/debug/ktask_test_<area>/
 * with three files:
 *
 *	cases	read: the case names, one per line, in order
 *	run	write a case name: the case runs synchronously in the writer's
 *		process context; the write returns its full length when the
 *		case passes, the case's negative errno when it fails, -ENOENT
 *		for an unknown name, -EOPNOTSUPP when it skipped (KT_SKIP())
 *	skip	read: why the last case run skipped, empty if it did not
 *
 * Cases run one at a time (a mutex serialises writers). The userspace
 * program ktask_test_run turns each case into one TAP result.
 *
 * An assertion that fails prints "ktask_test: <file>:<line>: assertion
 * failed: ..." with the values to the kernel log and returns -EINVAL from
 * the case function, so assertions may only be used directly in a case
 * function (or in a helper returning int whose result the case returns).
 *
 * Limitations: one KT_TEST_MODULE() per module; a case that hangs blocks
 * the writer and every later case (the kselftest timeout then fails it).
 */
#ifndef _KTASK_TEST_H
#define _KTASK_TEST_H

#include <linux/completion.h>
#include <linux/debugfs.h>
#include <linux/err.h>
#include <linux/fs.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/ktask.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/**
 * struct kt_case - one test case
 * @name: its name in the cases file, unique within the module
 * @fn: runs the case in process context; returns 0 or a negative errno
 */
struct kt_case {
	const char *name;
	int (*fn)(void);
};

/* KT_CASE(fn) - a case named after its function. */
#define KT_CASE(func) { .name = #func, .fn = func }

#define KT_FAIL(fmt, ...)						\
	pr_err("ktask_test: %s:%d: assertion failed: " fmt "\n",	\
	       __FILE__, __LINE__, ##__VA_ARGS__)

/*
 * A function task that holds the drain of the run queue it is polled from
 * until released (30 s at most): tasks queued there meanwhile wait behind
 * it, in order.  @cpu is for the caller's use.
 */
struct kt_gate {
	struct completion entered;
	struct completion release;
	int cpu;
};

static inline long kt_gate_fn(void *arg)
{
	struct kt_gate *g = arg;

	complete(&g->entered);
	wait_for_completion_timeout(&g->release, 30 * HZ);
	return 0;
}

/*
 * KT_RT_CASE(name) { body } - a case that runs its body on a fresh
 * runtime (default options), destroyed even when the case fails, and
 * fails it if a task cell was left behind.
 */
#define KT_RT_CASE(name)						\
static int name##_rt(struct ktask_rt *rt);				\
static int name(void)							\
{									\
	struct ktask_rt *rt = ktask_rt_create("test", NULL);		\
	long cells = ktask_num_cells();					\
	int ret;							\
									\
	if (IS_ERR(rt))							\
		return PTR_ERR(rt);					\
	ret = name##_rt(rt);						\
	ktask_rt_destroy(rt);						\
	if (!ret && ktask_num_cells() != cells) {			\
		pr_err("ktask_test: %s leaked %ld cells\n", #name,	\
		       ktask_num_cells() - cells);			\
		ret = -EINVAL;						\
	}								\
	return ret;							\
}									\
static int name##_rt(struct ktask_rt *rt)

/* What kt_run_on_cpu() runs, and its end. */
struct kt_on_cpu {
	void (*fn)(void *arg);
	void *arg;
	struct completion done;
};

static inline int kt_on_cpu_thread(void *data)
{
	struct kt_on_cpu *oc = data;

	oc->fn(oc->arg);
	complete(&oc->done);
	while (!kthread_should_stop())
		schedule_timeout_interruptible(1);
	return 0;
}

/*
 * kt_run_on_cpu() - run @fn(@arg) in a kernel thread bound to @cpu, and
 * wait for it (30 s at most).  Return: 0, -ETIMEDOUT or the kthread's error.
 */
static inline int kt_run_on_cpu(int cpu, void (*fn)(void *arg), void *arg)
{
	struct kt_on_cpu oc = { .fn = fn, .arg = arg };
	struct task_struct *t;
	bool done;

	init_completion(&oc.done);
	t = kthread_create_on_cpu(kt_on_cpu_thread, &oc, cpu, "kt_on_cpu/%u");
	if (IS_ERR(t))
		return PTR_ERR(t);
	get_task_struct(t);
	wake_up_process(t);
	done = wait_for_completion_timeout(&oc.done, 30 * HZ);
	kthread_stop(t);
	put_task_struct(t);
	return done ? 0 : -ETIMEDOUT;
}

/* KT_ASSERT(cond) - fail the case unless @cond is true. */
/*
 * KT_SKIP(why) - the case cannot run here (a string literal says why):
 * return from it, which ktask_test_run reports as a TAP skip with @why,
 * counted apart from passes and failures.  Only for what the kernel
 * cannot do (e.g. a defect known on PREEMPT_RT), never to hide a failure.
 * A case that returns -EOPNOTSUPP without KT_SKIP() fails.
 */
static const char *kt_skip_reason;

#define KT_SKIP(why) do {						\
	kt_skip_reason = (why);						\
	return -EOPNOTSUPP;						\
} while (0)

/*
 * KT_SKIP_ON_PREEMPT_RT(why) - skip on PREEMPT_RT: the case exercises a
 * defect ktask has there (Documentation/ktask/testing.rst lists them).
 */
#define KT_SKIP_ON_PREEMPT_RT(why) do {					\
	if (IS_ENABLED(CONFIG_PREEMPT_RT))				\
		KT_SKIP("PREEMPT_RT: " why);				\
} while (0)

#define KT_ASSERT(cond) do {						\
	if (!(cond)) {							\
		KT_FAIL("%s", #cond);					\
		return -EINVAL;						\
	}								\
} while (0)

/*
 * __KT_ASSERT_CMP() - fail the case unless (@a @op @b) holds for integers.
 * Each operand is evaluated once, and compared in its own type as C would;
 * the values are printed as long long.
 */
#define __KT_ASSERT_CMP(a, op, b) do {					\
	typeof(a) __kt_a = (a);						\
	typeof(b) __kt_b = (b);						\
									\
	if (!(__kt_a op __kt_b)) {					\
		KT_FAIL("%s %s %s (%lld vs %lld)", #a, #op, #b,		\
			(long long)__kt_a, (long long)__kt_b);		\
		return -EINVAL;						\
	}								\
} while (0)

#define KT_ASSERT_EQ(a, b) __KT_ASSERT_CMP(a, ==, b)
#define KT_ASSERT_NE(a, b) __KT_ASSERT_CMP(a, !=, b)
#define KT_ASSERT_LT(a, b) __KT_ASSERT_CMP(a, <, b)
#define KT_ASSERT_LE(a, b) __KT_ASSERT_CMP(a, <=, b)
#define KT_ASSERT_GT(a, b) __KT_ASSERT_CMP(a, >, b)
#define KT_ASSERT_GE(a, b) __KT_ASSERT_CMP(a, >=, b)

/* KT_ASSERT_PTR_EQ(a, b) - fail the case unless two pointers are equal. */
#define KT_ASSERT_PTR_EQ(a, b) do {					\
	const void *__kt_a = (a);					\
	const void *__kt_b = (b);					\
									\
	if (__kt_a != __kt_b) {						\
		KT_FAIL("%s == %s (%p vs %p)", #a, #b, __kt_a, __kt_b);	\
		return -EINVAL;						\
	}								\
} while (0)

/* KT_ASSERT_NOT_ERR_OR_NULL(p) - fail the case if @p is NULL or an ERR_PTR. */
#define KT_ASSERT_NOT_ERR_OR_NULL(p) do {				\
	const void *__kt_p = (p);					\
									\
	if (IS_ERR_OR_NULL(__kt_p)) {					\
		KT_FAIL("%s is %pe", #p, __kt_p);			\
		return -EINVAL;						\
	}								\
} while (0)

/*
 * struct kt_module - the state behind one test module's debugfs files
 * @area: the area name, as in ktask_test_<area>
 * @cases: the case array
 * @nr_cases: its length
 * @dir: I: /sys/kernel/debug/ktask_test_<area>/
 * @lock: serialises case runs
 */
struct kt_module {
	const char *area;
	const struct kt_case *cases;
	size_t nr_cases;
	struct dentry *dir;
	struct mutex lock;		/* serialises case runs; they may sleep */
};

/*
 * KT_TEST_MODULE(name, case_array) - make this the test module for area @name.
 *
 * Defines module init and exit, which create and remove the debugfs files
 * that run @case_array, and the module's license and test tag.
 */
#define KT_TEST_MODULE(name, case_array)				\
static struct kt_module kt_module_##name = {				\
	.area = #name,							\
	.cases = case_array,						\
	.nr_cases = sizeof(case_array) / sizeof(struct kt_case) +	\
		    __must_be_array(case_array),			\
};									\
static int __init kt_init_##name(void)					\
{									\
	return kt_module_init(&kt_module_##name);			\
}									\
static void __exit kt_exit_##name(void)					\
{									\
	kt_module_exit(&kt_module_##name);				\
}									\
module_init(kt_init_##name);						\
module_exit(kt_exit_##name);						\
MODULE_LICENSE("GPL");							\
MODULE_INFO(test, "Y");							\
MODULE_DESCRIPTION("ktask tests: " #name)

/* The rest is the implementation of KT_TEST_MODULE(). */

static int kt_cases_show(struct seq_file *m, void *v)
{
	const struct kt_module *km = m->private;
	size_t i;

	for (i = 0; i < km->nr_cases; i++)
		seq_printf(m, "%s\n", km->cases[i].name);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kt_cases);

static ssize_t kt_run_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct kt_module *km = file->private_data;
	const struct kt_case *c = NULL;
	char name[64];
	size_t i;
	int ret;

	if (count >= sizeof(name))
		return -ENOENT;
	if (copy_from_user(name, ubuf, count))
		return -EFAULT;
	name[count] = '\0';
	strim(name);

	for (i = 0; i < km->nr_cases; i++)
		if (!strcmp(km->cases[i].name, name))
			c = &km->cases[i];
	if (!c)
		return -ENOENT;

	ret = mutex_lock_killable(&km->lock);
	if (ret)
		return ret;
	pr_info("ktask_test: %s: %s: start\n", km->area, c->name);
	kt_skip_reason = NULL;
	ret = c->fn();
	if (ret > 0 || (ret == -EOPNOTSUPP && !kt_skip_reason)) {
		pr_err("ktask_test: %s: %s: returned %d, not 0, -errno or KT_SKIP()\n",
		       km->area, c->name, ret);
		ret = -EINVAL;
	}
	if (ret != -EOPNOTSUPP)
		kt_skip_reason = NULL;
	if (kt_skip_reason)
		pr_info("ktask_test: %s: %s: skip: %s\n", km->area, c->name,
			kt_skip_reason);
	else
		pr_info("ktask_test: %s: %s: %s (%d)\n", km->area, c->name,
			ret ? "FAIL" : "pass", ret);
	mutex_unlock(&km->lock);

	return ret ? ret : count;
}

/*
 * No .llseek: a file without one cannot seek (-ESPIPE), in 6.1 as in 6.12,
 * which no longer has no_llseek.
 */
static const struct file_operations kt_run_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = kt_run_write,
};

static int kt_skip_show(struct seq_file *m, void *v)
{
	struct kt_module *km = m->private;

	mutex_lock(&km->lock);
	if (kt_skip_reason)
		seq_printf(m, "%s\n", kt_skip_reason);
	mutex_unlock(&km->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kt_skip);

static int kt_module_init(struct kt_module *km)
{
	char name[64];

	mutex_init(&km->lock);
	snprintf(name, sizeof(name), "ktask_test_%s", km->area);
	km->dir = debugfs_create_dir(name, NULL);
	if (IS_ERR(km->dir))
		return PTR_ERR(km->dir);
	debugfs_create_file("cases", 0444, km->dir, km, &kt_cases_fops);
	debugfs_create_file("run", 0200, km->dir, km, &kt_run_fops);
	debugfs_create_file("skip", 0444, km->dir, km, &kt_skip_fops);
	pr_info("ktask_test: %s: ready\n", km->area);
	return 0;
}

static void kt_module_exit(struct kt_module *km)
{
	debugfs_remove_recursive(km->dir);
	mutex_destroy(&km->lock);
}

#endif /* _KTASK_TEST_H */
