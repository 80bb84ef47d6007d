// SPDX-License-Identifier: GPL-2.0
/*
 * Task cell allocation and task ids.
 */
#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/percpu.h>
#include <linux/slab.h>

#include "cell.h"

static struct kmem_cache *ktask_cell_cache;

/* Cells allocated and not yet freed, per CPU of the alloc or free. */
static DEFINE_PER_CPU(long, ktask_nr_cells);

/* The last task id handed out; ids start at 1 so that 0 means "none". */
static atomic64_t ktask_last_id = ATOMIC64_INIT(0);

int ktask_cell_cache_init(void)
{
	/* The header and core must fit the first cache line (DESIGN.md). */
	BUILD_BUG_ON(offsetof(struct ktask_cell, owned_node) > 64);
	BUILD_BUG_ON(sizeof(struct ktask_cell) > 128);

	ktask_cell_cache = KMEM_CACHE(ktask_cell, SLAB_HWCACHE_ALIGN);
	return ktask_cell_cache ? 0 : -ENOMEM;
}

void ktask_cell_cache_exit(void)
{
	kmem_cache_destroy(ktask_cell_cache);
}

struct ktask_cell *ktask_cell_alloc(gfp_t gfp)
{
	struct ktask_cell *cell = kmem_cache_alloc(ktask_cell_cache, gfp);

	if (cell)
		this_cpu_inc(ktask_nr_cells);
	return cell;
}

void ktask_cell_free(struct ktask_cell *cell)
{
	kmem_cache_free(ktask_cell_cache, cell);
	this_cpu_dec(ktask_nr_cells);
}

/**
 * ktask_num_cells() - task cells currently allocated, in every runtime
 *
 * A cell lives until its task has completed and its last handle and waker
 * are gone, so this is the number to watch for leaked handles.
 *
 * Context: Any context.
 * Return: the number of task cells allocated and not yet freed; exact only
 * when no task is being spawned or freed concurrently.
 */
long ktask_num_cells(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(*per_cpu_ptr(&ktask_nr_cells, cpu));
	return sum;
}
EXPORT_SYMBOL_GPL(ktask_num_cells);

u64 ktask_next_id(void)
{
	return atomic64_inc_return(&ktask_last_id);
}
