// SPDX-License-Identifier: GPL-2.0
/*
 * Fault injection: /sys/kernel/debug/ktask/fail_spawn/ and fail_percpu/
 * hold the usual fault-injection knobs (probability, interval, times,
 * verbose, ...; see Documentation/fault-injection/fault-injection.rst).
 * A spawn that fail_spawn fails returns ERR_PTR(-ENOMEM) before it
 * allocated anything, exactly as if the cell allocation had failed;
 * failslab on the "ktask_cell" and "ktask_cell_ext" caches exercises the
 * allocation itself.  fail_percpu fails ktask's alloc_percpu() calls (a
 * runtime's run queues and histograms), which failslab does not reach.
 */
#include <linux/dcache.h>
#include <linux/debugfs.h>
#include <linux/fault-inject.h>

#include "runtime.h"

static DECLARE_FAULT_ATTR(ktask_fail_spawn);
static DECLARE_FAULT_ATTR(ktask_fail_percpu);

bool ktask_should_fail_spawn(void)
{
	return should_fail(&ktask_fail_spawn, 1);
}

bool ktask_should_fail_percpu(void)
{
	return should_fail(&ktask_fail_percpu, 1);
}

void ktask_fault_debugfs_init(struct dentry *dir)
{
	fault_create_debugfs_attr("fail_spawn", dir, &ktask_fail_spawn);
	fault_create_debugfs_attr("fail_percpu", dir, &ktask_fail_percpu);
}

/*
 * fault_create_debugfs_attr() keeps a reference to the directory it made,
 * for its failure reports: put it, or after debugfs_remove_recursive() that
 * directory and its parent stay allocated, two dentries and two inodes per
 * load and unload of ktask.
 */
void ktask_fault_debugfs_exit(void)
{
	dput(ktask_fail_spawn.dname);
	ktask_fail_spawn.dname = NULL;
	dput(ktask_fail_percpu.dname);
	ktask_fail_percpu.dname = NULL;
}
