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
#include <linux/module.h>
#include <linux/sched/clock.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "runtime.h"

static struct dentry *ktask_debugfs_dir;

/*
 * The tasks file is paged through seq_file without holding a shard's lock
 * between calls: the iterator copies up to KTASK_TASKS_BATCH lines' worth
 * of one shard under its lock, then shows them unlocked.  To continue, it
 * finds the last task it copied again and goes on after it; if that task
 * has gone meanwhile, it goes on with the tasks of higher id (shard lists
 * are in spawn order, so this skips nothing but tasks bound out of order
 * in that instant).  ktask_rt_lock is held from start to stop, so the
 * runtimes cannot go away while a chunk is read.
 */
#define KTASK_TASKS_BATCH	64

struct ktask_task_snap {
	u64 id;
	unsigned long state;
	char owner[MODULE_NAME_LEN];	/* copied: the module may go */
	u32 polls;
	u16 forced_yields;
	u8 self_wakes;
	u32 spawn_jiffies;
	u32 last_poll_jiffies;
	unsigned long site;
	unsigned long wait_site;
	unsigned long wait_ip;
	int cpu;
	int node;
	char name[KTASK_NAME_LEN];
};

struct ktask_tasks_iter {
	struct ktask_rt *rt;		/* runtime being listed */
	unsigned int shard;		/* shard being listed */
	u64 cursor_id;			/* last task copied, 0: none yet */
	struct ktask_cell *cursor;	/* its cell (compared, never read) */
	unsigned int nr, next;		/* snapshots held and next to show */
	bool end;			/* every runtime listed */
	loff_t pos;			/* seq_file position of snap[next] */
	struct ktask_task_snap snap[KTASK_TASKS_BATCH];
};

static void ktask_snap_task(struct ktask_task_snap *t, struct ktask_cell *cell)
{
	t->id = cell->id;
	t->state = ktask_state_load(&cell->state);
	/*
	 * The owner is pinned, or owns the runtime, while the task is listed,
	 * that is while we hold its shard's lock; not until the snapshot is
	 * shown, which may be in a later read(), so copy its name.
	 */
	strscpy(t->owner, cell->owner ? module_name(cell->owner) : "kernel",
		sizeof(t->owner));
	t->polls = READ_ONCE(cell->polls);
	t->forced_yields = READ_ONCE(cell->forced_yields);
	t->self_wakes = READ_ONCE(cell->self_wakes);
	t->spawn_jiffies = cell->spawn_jiffies;
	t->last_poll_jiffies = READ_ONCE(cell->last_poll_jiffies);
	t->site = cell->spawn_site;
	/* Racy: the task may park elsewhere as we copy (ktask_cx_note_wait()). */
	t->wait_site = READ_ONCE(cell->wait_site);
	t->wait_ip = READ_ONCE(cell->wait_ip);
	t->cpu = cell->ext ? ktask_cell_ext(cell)->cpu : -1;
	t->node = cell->ext ? ktask_cell_ext(cell)->node : NUMA_NO_NODE;
	strscpy(t->name, ktask_cell_name(cell), sizeof(t->name));
}

/* Copy the next batch of the current shard; false when it has no more. */
static bool ktask_tasks_fill(struct ktask_tasks_iter *it)
{
	struct ktask_owned_shard *shard = &it->rt->shards[it->shard];
	struct ktask_cell *cell, *from = NULL;

	it->nr = 0;
	it->next = 0;
	spin_lock_irq(&shard->lock);
	if (it->cursor_id) {
		list_for_each_entry(cell, &shard->list, owned_node) {
			if (cell == it->cursor && cell->id == it->cursor_id) {
				from = cell;
				break;
			}
		}
	}
	cell = from ? list_next_entry(from, owned_node) :
		      list_first_entry(&shard->list, struct ktask_cell, owned_node);
	list_for_each_entry_from(cell, &shard->list, owned_node) {
		if (!from && cell->id <= it->cursor_id)
			continue;
		ktask_snap_task(&it->snap[it->nr++], cell);
		it->cursor = cell;
		it->cursor_id = cell->id;
		if (it->nr == KTASK_TASKS_BATCH)
			break;
	}
	spin_unlock_irq(&shard->lock);
	return it->nr;
}

/*
 * Make snap[next] the next task of any runtime; false at the end, and from
 * then on: the walk must not wrap around to the first runtime, or a reader
 * whose list shrank between two reads would be fed the tasks again.
 */
static bool ktask_tasks_advance(struct ktask_tasks_iter *it)
{
	lockdep_assert_held(&ktask_rt_lock);
	if (it->end)
		return false;
	while (it->next >= it->nr) {
		if (it->rt && ktask_tasks_fill(it))
			return true;
		it->cursor_id = 0;
		it->cursor = NULL;
		if (it->rt && ++it->shard <= it->rt->shard_mask)
			continue;
		it->shard = 0;
		it->rt = list_prepare_entry(it->rt, &ktask_rt_list, node);
		list_for_each_entry_continue(it->rt, &ktask_rt_list, node)
			break;
		if (list_entry_is_head(it->rt, &ktask_rt_list, node)) {
			it->rt = NULL;
			it->end = true;
			return false;
		}
	}
	return true;
}

static void *ktask_tasks_start(struct seq_file *m, loff_t *pos)
{
	struct ktask_tasks_iter *it = m->private;
	struct ktask_rt *rt;
	bool known = false;

	mutex_lock(&ktask_rt_lock);
	if (*pos == 0) {
		/* A read from the start (again, after lseek()) starts afresh. */
		memset(it, 0, offsetof(struct ktask_tasks_iter, snap));
		return SEQ_START_TOKEN;
	}
	/* Resume where the last read stopped, if that runtime still exists. */
	list_for_each_entry(rt, &ktask_rt_list, node)
		known |= rt == it->rt;
	if (it->end && it->pos == *pos)
		return NULL;
	if (!known || it->pos != *pos) {
		loff_t skip = *pos - 1;

		memset(it, 0, offsetof(struct ktask_tasks_iter, snap));
		while (skip-- > 0 && ktask_tasks_advance(it))
			it->next++;
		it->pos = *pos;
	}
	return ktask_tasks_advance(it) ? &it->snap[it->next] : NULL;
}

static void *ktask_tasks_next(struct seq_file *m, void *v, loff_t *pos)
{
	struct ktask_tasks_iter *it = m->private;

	++*pos;
	if (v != SEQ_START_TOKEN)
		it->next++;
	it->pos = *pos;
	return ktask_tasks_advance(it) ? &it->snap[it->next] : NULL;
}

static void ktask_tasks_stop(struct seq_file *m, void *v)
{
	mutex_unlock(&ktask_rt_lock);
}

static int ktask_tasks_show(struct seq_file *m, void *v)
{
	struct ktask_tasks_iter *it = m->private;
	struct ktask_task_snap *t = v;
	static const char letters[] = "RCNJWX";
	char state[sizeof(letters)], wait[64];
	u32 now = (u32)jiffies;
	int i;

	if (v == SEQ_START_TOKEN) {
		seq_puts(m, "        id runtime          state   refs owner               polls yields   age_us    idle_us  spawn_site self_wakes wait wait_site placed name\n");
		return 0;
	}
	for (i = 0; i < sizeof(letters) - 1; i++)
		state[i] = (t->state & BIT(i)) ? letters[i] : '-';
	state[i] = '\0';
	/*
	 * A running or queued task waits on nothing, but for a blocking
	 * function in ktask_join(), which runs while it waits.
	 */
	if ((t->state & (KTASK_RUNNING | KTASK_NOTIFIED)) &&
	    (t->wait_site & KTASK_WAIT_MASK) != KTASK_WAIT_JOIN_SYNC)
		t->wait_site = 0;
	ktask_wait_format(wait, sizeof(wait), t->wait_site);
	seq_printf(m, "%10llu %-16s %s %6lu %-16s %8u %6u %10u %10lld  %pS %u %s ",
		   t->id, it->rt->name, state, ktask_refs(t->state), t->owner,
		   t->polls, t->forced_yields,
		   jiffies_to_usecs(now - t->spawn_jiffies),
		   t->polls ?
		   (s64)jiffies_to_usecs(now - t->last_poll_jiffies) : -1LL,
		   (void *)t->site, t->self_wakes, wait);
	if (t->wait_site)
		seq_printf(m, "%pS ", (void *)t->wait_ip);
	else
		seq_puts(m, "- ");
	if (t->cpu >= 0)
		seq_printf(m, "cpu%d ", t->cpu);
	else if (t->node != NUMA_NO_NODE)
		seq_printf(m, "node%d ", t->node);
	else
		seq_puts(m, "- ");
	seq_printf(m, "%s\n", t->name[0] ? t->name : "-");
	return 0;
}

static const struct seq_operations ktask_tasks_sops = {
	.start = ktask_tasks_start,
	.next = ktask_tasks_next,
	.stop = ktask_tasks_stop,
	.show = ktask_tasks_show,
};

static int ktask_tasks_open(struct inode *inode, struct file *file)
{
	return seq_open_private(file, &ktask_tasks_sops,
				sizeof(struct ktask_tasks_iter));
}

static const struct file_operations ktask_tasks_fops = {
	.owner = THIS_MODULE,
	.open = ktask_tasks_open,
	.read = seq_read,
	.llseek = seq_lseek,
	.release = seq_release_private,
};

static int ktask_runtimes_show(struct seq_file *m, void *v)
{
	struct ktask_rt *rt;

	seq_puts(m, "name             owner            flags   budget max_polls shards    alive cpus\n");
	mutex_lock(&ktask_rt_lock);
	list_for_each_entry(rt, &ktask_rt_list, node)
		seq_printf(m, "%-16s %-16s 0x%04x %8u %9u %6u %8ld %*pbl\n",
			   rt->name,
			   rt->owner ? module_name(rt->owner) : "kernel",
			   rt->flags, rt->budget, rt->max_polls,
			   rt->shard_mask + 1, ktask_owned_alive(rt),
			   cpumask_pr_args(rt->cpus ? rt->cpus :
					   cpu_possible_mask));
	mutex_unlock(&ktask_rt_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ktask_runtimes);

static void ktask_show_stats(struct seq_file *m, const char *rt, const char *cpu,
			     const struct ktask_cpu_stats *s, int depth)
{
	seq_printf(m, "%-16s %-4s %10llu %10llu %10llu %10llu %10llu %8llu %8llu %8llu %6d %10llu\n",
		   rt, cpu, s->spawned, s->completed, s->cancelled, s->polls,
		   s->wakes, s->forced_yields, s->drains, s->requeues, depth,
		   div_u64(s->longest_poll_ns, NSEC_PER_USEC));
}

static int ktask_stats_show(struct seq_file *m, void *v)
{
	struct ktask_cpu_stats total = {};
	int cpu, total_depth = 0;
	long alive = 0;
	struct ktask_rt *rt;
	char cpu_name[8];

	seq_printf(m, "cells_allocated %ld\n", ktask_num_cells());
	seq_printf(m, "cells_depot %u\n", ktask_cell_depot_cells());
	seq_puts(m, "runtime          cpu     spawned  completed  cancelled      polls      wakes   yields   drains requeues  depth longest_us\n");
	mutex_lock(&ktask_rt_lock);
	list_for_each_entry(rt, &ktask_rt_list, node) {
		struct ktask_cpu_stats sum = {};
		int depth = 0;

		for_each_possible_cpu(cpu) {
			struct ktask_rq *rq = per_cpu_ptr(rt->rqs, cpu);
			struct ktask_cpu_stats one = {};
			int d = ktask_cpu_depth(rt, cpu);

			ktask_cpu_stats_add(&one, &rq->stats);
			ktask_cpu_stats_add(&sum, &one);
			depth += d;
			snprintf(cpu_name, sizeof(cpu_name), "%d", cpu);
			ktask_show_stats(m, rt->name, cpu_name, &one, d);
		}
		ktask_show_stats(m, rt->name, "all", &sum, depth);
		ktask_cpu_stats_add(&total, &sum);
		total_depth += depth;
		alive += ktask_owned_alive(rt);
	}
	mutex_unlock(&ktask_rt_lock);
	ktask_show_stats(m, "all", "all", &total, total_depth);
	seq_printf(m, "tasks_alive %ld\n", alive);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ktask_stats);

static void ktask_show_hist(struct seq_file *m, const char *rt,
			    const char *name, const u64 *hist)
{
	unsigned int i;

	for (i = 0; i < KTASK_HIST_BUCKETS; i++) {
		if (!hist[i])
			continue;
		if (i == KTASK_HIST_BUCKETS - 1)
			seq_printf(m, "%-16s %-8s %12llu %12s %12llu\n", rt, name,
				   1ULL << i, "-", hist[i]);
		else
			seq_printf(m, "%-16s %-8s %12llu %12llu %12llu\n", rt,
				   name, i ? 1ULL << i : 0, 1ULL << (i + 1),
				   hist[i]);
	}
}

/* The histograms of the runtimes that keep them (KTASK_RT_HISTOGRAMS). */
static int ktask_histograms_show(struct seq_file *m, void *v)
{
	struct ktask_rt_metrics *mt;
	struct ktask_rt *rt;

	mt = kmalloc(sizeof(*mt), GFP_KERNEL);
	if (!mt)
		return -ENOMEM;
	seq_puts(m, "runtime          what          from_ns        to_ns        count\n");
	mutex_lock(&ktask_rt_lock);
	list_for_each_entry(rt, &ktask_rt_list, node) {
		if (!rt->hist)
			continue;
		ktask_rt_read_metrics(rt, mt);
		ktask_show_hist(m, rt->name, "poll", mt->poll_ns);
		ktask_show_hist(m, rt->name, "schedule", mt->schedule_ns);
	}
	mutex_unlock(&ktask_rt_lock);
	kfree(mt);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(ktask_histograms);

void ktask_debugfs_init(void)
{
	ktask_debugfs_dir = debugfs_create_dir("ktask", NULL);
	debugfs_create_file("tasks", 0400, ktask_debugfs_dir, NULL,
			    &ktask_tasks_fops);
	debugfs_create_file("runtimes", 0444, ktask_debugfs_dir, NULL,
			    &ktask_runtimes_fops);
	debugfs_create_file("stats", 0444, ktask_debugfs_dir, NULL,
			    &ktask_stats_fops);
	debugfs_create_file("histograms", 0444, ktask_debugfs_dir, NULL,
			    &ktask_histograms_fops);
	ktask_fault_debugfs_init(ktask_debugfs_dir);
}

void ktask_debugfs_exit(void)
{
	debugfs_remove_recursive(ktask_debugfs_dir);
	ktask_fault_debugfs_exit();
}
