// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_test_basic - is ktask loaded and set up?
 *
 * The first test area: checks that need nothing but a loaded ktask.ko.
 */
#include <linux/dcache.h>
#include <linux/debugfs.h>
#include <linux/ktask.h>

#include "ktask_test.h"

/* ktask's debugfs directory exists while the module is loaded. */
static int debugfs_dir_exists(void)
{
	struct dentry *d = debugfs_lookup("ktask", NULL);

	KT_ASSERT_NOT_ERR_OR_NULL(d);
	dput(d);
	return 0;
}

/*
 * Linking against ktask_current_id() made ktask a dependency of this
 * module; outside a task the id is 0.
 */
static int current_id_outside_task(void)
{
	KT_ASSERT_EQ(ktask_current_id(), 0);
	return 0;
}

static const struct kt_case basic_cases[] = {
	KT_CASE(debugfs_dir_exists),
	KT_CASE(current_id_outside_task),
};

KT_TEST_MODULE(basic, basic_cases);
