// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/ktask/: what ktask is doing, for people.
 *
 * tasks     one line per live task (0400: shows kernel addresses)
 * runtimes  one line per runtime
 * stats     counters summed per runtime, and per CPU
 *
 * The format is described in Documentation/ktask/debugfs.rst.  Counters
 * are read racily (data_race()): they are statistics.
 */
#include <linux/debugfs.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>

#include "runtime.h"

static struct dentry *ktask_debugfs_dir;

static void ktask_show_state(struct seq_file *m, unsigned long state)
{
	static const char letters[] = "RCNJWX";
	char buf[sizeof(letters)];
	int i;

	for (i = 0; i < sizeof(letters) - 1; i++)
		buf[i] = (state & BIT(i)) ? letters[i] : '-';
	buf[i] = '\0';
	seq_printf(m, " %s %5lu", buf, ktask_refs(state));
}

static void ktask_show_task(struct seq_file *m, struct ktask_rt *rt,
			    struct ktask_cell *cell, u64 now)
{
	u64 last = READ_ONCE(cell->last_poll_ns);

	seq_printf(m, "%10llu %-16s", cell->id, rt->name);
	ktask_show_state(m, ktask_state_load(&cell->state));
	/* The owner is pinned while the task is on the owned list. */
	seq_printf(m, " %-16s %8u %6u %10llu %10lld  %pS\n",
		   cell->owner ? module_name(cell->owner) : "kernel",
		   READ_ONCE(cell->polls), READ_ONCE(cell->forced_yields),
		   div_u64(now - cell->spawn_ns, NSEC_PER_USEC),
		   last ? (s64)div_u64(now - last, NSEC_PER_USEC) : -1LL,
		   (void *)cell->spawn_site);
}

static int ktask_tasks_show(struct seq_file *m, void *v)
{
	struct ktask_rt *rt;
	unsigned int i;

	seq_puts(m, "        id runtime          state   refs owner               polls yields   age_us    idle_us  spawn_site\n");
	mutex_lock(&ktask_rt_lock);
	list_for_each_entry(rt, &ktask_rt_list, node) {
		for (i = 0; i <= rt->shard_mask; i++) {
			struct ktask_owned_shard *shard = &rt->shards[i];
			struct ktask_cell *cell;

			spin_lock_irq(&shard->lock);
			list_for_each_entry(cell, &shard->list, owned_node)
				ktask_show_task(m, rt, cell, local_clock());
			spin_unlock_irq(&shard->lock);
		}
	}
	mutex_unlock(&ktask_rt_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ktask_tasks);

static int ktask_runtimes_show(struct seq_file *m, void *v)
{
	struct ktask_rt *rt;

	seq_puts(m, "name             owner            flags   budget max_polls shards    alive\n");
	mutex_lock(&ktask_rt_lock);
	list_for_each_entry(rt, &ktask_rt_list, node)
		seq_printf(m, "%-16s %-16s 0x%04x %8u %9u %6u %8ld\n", rt->name,
			   rt->owner ? module_name(rt->owner) : "kernel",
			   rt->flags, rt->budget, rt->max_polls,
			   rt->shard_mask + 1, atomic_long_read(&rt->alive));
	mutex_unlock(&ktask_rt_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ktask_runtimes);

static void ktask_show_stats(struct seq_file *m, const char *rt, const char *cpu,
			     const struct ktask_cpu_stats *s)
{
	seq_printf(m, "%-16s %-4s %10llu %10llu %10llu %10llu %10llu %8llu %8llu %8llu %10llu\n",
		   rt, cpu, s->spawned, s->completed, s->cancelled, s->polls,
		   s->wakes, s->forced_yields, s->drains, s->requeues,
		   div_u64(s->longest_poll_ns, NSEC_PER_USEC));
}

/*
 * Counters are updated with this_cpu_*() on their own CPU while we read
 * them from another: the race is intended, a stale value is fine.
 */
#define KTASK_STAT(x)	data_race(x)

static void ktask_add_stats(struct ktask_cpu_stats *sum,
			    const struct ktask_cpu_stats *s)
{
	sum->spawned += KTASK_STAT(s->spawned);
	sum->completed += KTASK_STAT(s->completed);
	sum->cancelled += KTASK_STAT(s->cancelled);
	sum->polls += KTASK_STAT(s->polls);
	sum->wakes += KTASK_STAT(s->wakes);
	sum->forced_yields += KTASK_STAT(s->forced_yields);
	sum->drains += KTASK_STAT(s->drains);
	sum->requeues += KTASK_STAT(s->requeues);
	sum->longest_poll_ns = max(sum->longest_poll_ns,
				   KTASK_STAT(s->longest_poll_ns));
}

static int ktask_stats_show(struct seq_file *m, void *v)
{
	struct ktask_rt *rt;
	char cpu_name[8];
	int cpu;

	seq_printf(m, "cells_allocated %ld\n", ktask_num_cells());
	seq_puts(m, "runtime          cpu     spawned  completed  cancelled      polls      wakes   yields   drains requeues longest_us\n");
	mutex_lock(&ktask_rt_lock);
	list_for_each_entry(rt, &ktask_rt_list, node) {
		struct ktask_cpu_stats sum = {};

		for_each_possible_cpu(cpu) {
			struct ktask_cpu_stats one = {};

			ktask_add_stats(&one, &per_cpu_ptr(rt->rqs, cpu)->stats);
			ktask_add_stats(&sum, &one);
			snprintf(cpu_name, sizeof(cpu_name), "%d", cpu);
			ktask_show_stats(m, rt->name, cpu_name, &one);
		}
		ktask_show_stats(m, rt->name, "all", &sum);
	}
	mutex_unlock(&ktask_rt_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ktask_stats);

void ktask_debugfs_init(void)
{
	ktask_debugfs_dir = debugfs_create_dir("ktask", NULL);
	debugfs_create_file("tasks", 0400, ktask_debugfs_dir, NULL,
			    &ktask_tasks_fops);
	debugfs_create_file("runtimes", 0444, ktask_debugfs_dir, NULL,
			    &ktask_runtimes_fops);
	debugfs_create_file("stats", 0444, ktask_debugfs_dir, NULL,
			    &ktask_stats_fops);
	ktask_fault_debugfs_init(ktask_debugfs_dir);
}

void ktask_debugfs_exit(void)
{
	debugfs_remove_recursive(ktask_debugfs_dir);
}
