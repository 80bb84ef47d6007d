// SPDX-License-Identifier: GPL-2.0
/*
 * ktask module init and exit (skeleton; the core lands in later commits).
 */
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/module.h>
#include <linux/ktask.h>

static struct dentry *ktask_debugfs_root;

/**
 * ktask_current_id() - the id of the task being polled on this CPU
 *
 * Context: Any context.
 * Return: the id, or 0 outside a task.
 */
u64 ktask_current_id(void)
{
	return 0;
}
EXPORT_SYMBOL_GPL(ktask_current_id);

static int __init ktask_init(void)
{
	ktask_debugfs_root = debugfs_create_dir("ktask", NULL);
	return 0;
}

static void __exit ktask_exit(void)
{
	debugfs_remove_recursive(ktask_debugfs_root);
}

module_init(ktask_init);
module_exit(ktask_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask: joinable, abortable tasks for kernel code");
