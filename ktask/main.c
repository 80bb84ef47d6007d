// SPDX-License-Identifier: GPL-2.0
/*
 * ktask: joinable, abortable, cooperatively scheduled tasks for kernel code.
 *
 * Module init and exit, and the module parameters.  See
 * Documentation/ktask/design.rst for how the pieces fit.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "runtime.h"

unsigned int ktask_default_budget = 128;

/* A budget of 0 would make every poll yield at once, forever. */
static int ktask_budget_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, KTASK_MAX_BUDGET);
}

static const struct kernel_param_ops ktask_budget_ops = {
	.set = ktask_budget_set,
	.get = param_get_uint,
};

module_param_cb(budget, &ktask_budget_ops, &ktask_default_budget, 0644);
MODULE_PARM_DESC(budget,
		 "coop budget per poll for new runtimes, 1..65535 (default 128)");

static int __init ktask_init(void)
{
	int ret;

	ktask_context_init();
	ret = ktask_cell_cache_init();
	if (ret)
		return ret;
	ret = ktask_sched_init();
	if (ret)
		goto err_cache;
	ret = ktask_completion_init();
	if (ret)
		goto err_sched;
	ret = ktask_rt_init();
	if (ret)
		goto err_completion;
	ktask_debugfs_init();
	ktask_watchdog_init();
	ktask_stuck_init();
	return 0;

err_completion:
	ktask_completion_exit();
err_sched:
	ktask_sched_exit();
err_cache:
	ktask_cell_cache_exit();
	return ret;
}

static void __exit ktask_exit(void)
{
	/*
	 * Clients hold ktask while they are loaded, and their runtimes pin
	 * them through their tasks; a runtime left here was leaked.
	 */
	WARN_ONCE(!list_empty(&ktask_rt_list), "ktask: runtimes leaked\n");
	ktask_stuck_exit();
	ktask_watchdog_exit();
	ktask_debugfs_exit();
	ktask_rt_exit();
	ktask_completion_exit();
	ktask_sched_exit();
	ktask_cell_cache_exit();
}

module_init(ktask_init);
module_exit(ktask_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask: joinable, abortable tasks for kernel code");
