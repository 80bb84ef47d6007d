// SPDX-License-Identifier: GPL-2.0
/*
 * Task cell allocation and task ids.
 */
#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/cpuhotplug.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "cell.h"

static struct kmem_cache *ktask_cell_cache;
/* Cells with a name or a placement: struct ktask_cell_ext. */
static struct kmem_cache *ktask_cell_ext_cache;

/* Cells allocated and not yet freed, per CPU of the alloc or free. */
static DEFINE_PER_CPU(long, ktask_nr_cells);

/*
 * A per-CPU cache of free cells in front of the slab, as io_uring keeps
 * requests: an empty cache is refilled with kmem_cache_alloc_bulk(), a
 * full one gives half back with kmem_cache_free_bulk(), so a spawn and a
 * free cost a few stores with preemption off, and the slab's per-object
 * costs (the init_on_alloc memset, freelist hardening) are paid in bulk.
 * Only process context uses it: interrupts, which may spawn and free too,
 * go to the slab, so that disabling preemption is enough to own it.  Off
 * by default under KASAN, which must see every allocation and free.
 */
#define KTASK_CELL_CACHE_SIZE	64
#define KTASK_CELL_CACHE_BATCH	(KTASK_CELL_CACHE_SIZE / 2)

/**
 * struct ktask_cell_pcp - one CPU's cache of free cells
 * @nr: number of cells in @cells
 * @cells: free cells, the most recently freed last
 *
 * Changed only on its CPU, from process context with preemption disabled,
 * or by the CPU-dead callback once the CPU is gone.
 */
struct ktask_cell_pcp {
	unsigned int nr;
	void *cells[KTASK_CELL_CACHE_SIZE];
};

static DEFINE_PER_CPU(struct ktask_cell_pcp, ktask_cell_pcp);
static enum cpuhp_state ktask_cell_cpuhp_state;

/*
 * Tasks are often spawned on one CPU and completed on another (a producer
 * and the worker of the other CPU): one cache runs empty while the other
 * fills.  A full cache's spill goes to this depot, magazines of
 * KTASK_CELL_CACHE_BATCH cells, and an empty cache refills from it before
 * it asks the slab, as Bonwick's magazine layer passes full magazines
 * between CPUs: the cells go round without a slab free, a slab
 * allocation and init_on_alloc's memset each.
 *
 * The depot also keeps the cells of a burst for the next one: a caller
 * that spawns 20 000 tasks before it joins them would otherwise grow the
 * slab by 2.5 MB and shrink it again every time, zeroing each new page
 * (init_on_alloc) and each cell, which cost more than all the rest of
 * the spawn.  At most cell_depot_max cells wait here (the rest goes back
 * to the slab, and so does the excess when it is lowered), and not
 * for long: every KTASK_CELL_DEPOT_DECAY the half of the magazines that
 * nobody took since the last look (the depot's low-water mark) goes back
 * to the slab, the chained ones first (oldest first), so an idle depot is
 * empty within seconds (4096 cells: 8 s; 32768: about 12 s).  Process
 * context only, as the per-CPU caches.
 *
 * The first KTASK_CELL_DEPOT_MAGS magazines are arrays, copied in and out
 * (the steady flow from a CPU that frees to one that spawns); the rest, a
 * burst's, are chains of free cells through their run-queue links (which
 * only a queued task uses), the first cell of each on the depot's list
 * through its owned-list link, so that the depot needs no memory of its
 * own.  Neither link is in the part of a freed cell that a stale handle's
 * check reads (the state and the id).
 */
#define KTASK_CELL_DEPOT_MAGS	8
#define KTASK_CELL_DEPOT_DECAY	HZ

static unsigned int ktask_cell_depot_max = 32768;

/**
 * struct ktask_cell_depot - full magazines of free cells, for every CPU
 * @lock: protects the fields below but @decay; process context only
 * @nr: L: full magazines in @mags
 * @nr_chained: L: full magazines on @chained
 * @low: L: the fewest magazines in the depot since the last decay
 * @mags: L: KTASK_CELL_CACHE_BATCH free cells each, the first @nr full
 * @chained: L: the first cell of each chained magazine, the newest first
 * @decay: gives unused magazines back to the slab; queued while the depot
 *	holds any
 */
struct ktask_cell_depot {
	spinlock_t lock;	/* the depot's; see the kernel-doc above */
	unsigned int nr;
	unsigned int nr_chained;
	unsigned int low;
	void *mags[KTASK_CELL_DEPOT_MAGS][KTASK_CELL_CACHE_BATCH];
	struct list_head chained;
	struct delayed_work decay;
};

static void ktask_cell_depot_decay(struct work_struct *work);

static struct ktask_cell_depot ktask_cell_depot = {
	.lock = __SPIN_LOCK_UNLOCKED(ktask_cell_depot.lock),
	.chained = LIST_HEAD_INIT(ktask_cell_depot.chained),
	.decay = __DELAYED_WORK_INITIALIZER(ktask_cell_depot.decay,
					    ktask_cell_depot_decay, 0),
};

/* Chain the KTASK_CELL_CACHE_BATCH cells of @cells into a magazine. */
static struct ktask_cell *ktask_cell_mag_pack(void **cells)
{
	struct ktask_cell *cell;
	int i;

	for (i = 0; i < KTASK_CELL_CACHE_BATCH; i++) {
		cell = cells[i];
		cell->queue_node.next = i + 1 < KTASK_CELL_CACHE_BATCH ?
			&((struct ktask_cell *)cells[i + 1])->queue_node : NULL;
	}
	return cells[0];
}

/* Unchain magazine @head into @cells. */
static void ktask_cell_mag_unpack(struct ktask_cell *head, void **cells)
{
	struct llist_node *node = &head->queue_node;
	int i;

	for (i = 0; i < KTASK_CELL_CACHE_BATCH; i++) {
		cells[i] = llist_entry(node, struct ktask_cell, queue_node);
		node = node->next;
	}
}

/* Put the KTASK_CELL_CACHE_BATCH cells of @cells in the depot, if it has room. */
static bool ktask_cell_depot_put(void **cells)
{
	struct ktask_cell_depot *d = &ktask_cell_depot;
	unsigned int max = READ_ONCE(ktask_cell_depot_max);
	struct ktask_cell *head = NULL;
	bool done = false, first = false;

	/*
	 * The cells are ours until they are in the depot: chain them outside
	 * the lock when the arrays look full (a racy peek; if they have room
	 * after all, the links are left unused).  A burst's cost, not the
	 * steady flow's.
	 */
	if (data_race(d->nr) == KTASK_CELL_DEPOT_MAGS)
		head = ktask_cell_mag_pack(cells);
	spin_lock(&d->lock);
	if ((d->nr + d->nr_chained + 1) * KTASK_CELL_CACHE_BATCH <= max) {
		if (d->nr < KTASK_CELL_DEPOT_MAGS) {
			memcpy(d->mags[d->nr++], cells, sizeof(d->mags[0]));
		} else {
			if (!head)
				head = ktask_cell_mag_pack(cells);
			list_add(&head->owned_node, &d->chained);
			d->nr_chained++;
		}
		done = true;
	}
	first = done && d->nr + d->nr_chained == 1;
	spin_unlock(&d->lock);
	/* The decay runs while the depot holds anything. */
	if (first)
		queue_delayed_work(system_unbound_wq, &d->decay,
				   KTASK_CELL_DEPOT_DECAY);
	return done;
}

/* Take KTASK_CELL_CACHE_BATCH cells from the depot into @cells, if it has them. */
static bool ktask_cell_depot_get(void **cells)
{
	struct ktask_cell_depot *d = &ktask_cell_depot;
	struct ktask_cell *head = NULL;
	bool done = false;

	/* A racy peek: an empty depot costs no lock.  Rechecked under it. */
	if (!data_race(d->nr) && !data_race(d->nr_chained))
		return false;
	spin_lock(&d->lock);
	if (d->nr) {
		memcpy(cells, d->mags[--d->nr], sizeof(d->mags[0]));
		done = true;
	} else if (d->nr_chained) {
		head = list_first_entry(&d->chained, struct ktask_cell,
					owned_node);
		list_del(&head->owned_node);
		d->nr_chained--;
		done = true;
	}
	d->low = min(d->low, d->nr + d->nr_chained);
	spin_unlock(&d->lock);
	if (head)
		ktask_cell_mag_unpack(head, cells);
	return done;
}

/* Give the chained magazines on @mags back to the slab. */
static void ktask_cell_mags_free(struct list_head *mags)
{
	void *cells[KTASK_CELL_CACHE_BATCH];
	struct ktask_cell *head, *next;

	list_for_each_entry_safe(head, next, mags, owned_node) {
		ktask_cell_mag_unpack(head, cells);
		kmem_cache_free_bulk(ktask_cell_cache, ARRAY_SIZE(cells), cells);
	}
}

/* Give up to @n magazines back to the slab, the chained ones first. */
static void ktask_cell_depot_shrink(unsigned int n)
{
	struct ktask_cell_depot *d = &ktask_cell_depot;
	void *cells[KTASK_CELL_CACHE_BATCH];
	LIST_HEAD(old);

	spin_lock(&d->lock);
	for (; n && d->nr_chained; n--, d->nr_chained--)
		list_move(d->chained.prev, &old);
	spin_unlock(&d->lock);
	ktask_cell_mags_free(&old);
	/* Then the arrays, one lock each: the free wants interrupts on. */
	for (; n; n--) {
		bool got;

		spin_lock(&d->lock);
		got = d->nr;
		if (got)
			memcpy(cells, d->mags[--d->nr], sizeof(cells));
		spin_unlock(&d->lock);
		if (!got)
			break;
		kmem_cache_free_bulk(ktask_cell_cache, ARRAY_SIZE(cells), cells);
	}
}

static void ktask_cell_depot_decay(struct work_struct *work)
{
	struct ktask_cell_depot *d = &ktask_cell_depot;
	unsigned int n;
	bool more;

	spin_lock(&d->lock);
	/*
	 * Half of what nobody needed, rounded up: an idle depot empties.  A
	 * new cell_depot_max may have taken magazines since the last look.
	 */
	n = DIV_ROUND_UP(min(d->low, d->nr + d->nr_chained), 2);
	spin_unlock(&d->lock);
	ktask_cell_depot_shrink(n);
	spin_lock(&d->lock);
	d->low = d->nr + d->nr_chained;
	more = d->low;
	spin_unlock(&d->lock);
	if (more)
		queue_delayed_work(system_unbound_wq, &d->decay,
				   KTASK_CELL_DEPOT_DECAY);
}

/* A new cell_depot_max: what the depot holds beyond it goes at once. */
static int ktask_cell_depot_max_set(const char *val,
				    const struct kernel_param *kp)
{
	struct ktask_cell_depot *d = &ktask_cell_depot;
	unsigned int mags, over = 0;
	int ret;

	ret = param_set_uint(val, kp);
	if (ret)
		return ret;
	mags = READ_ONCE(ktask_cell_depot_max) / KTASK_CELL_CACHE_BATCH;
	spin_lock(&d->lock);
	if (d->nr + d->nr_chained > mags)
		over = d->nr + d->nr_chained - mags;
	spin_unlock(&d->lock);
	ktask_cell_depot_shrink(over);
	return 0;
}

static const struct kernel_param_ops ktask_cell_depot_max_ops = {
	.set = ktask_cell_depot_max_set,
	.get = param_get_uint,
};

module_param_cb(cell_depot_max, &ktask_cell_depot_max_ops,
		&ktask_cell_depot_max, 0644);
MODULE_PARM_DESC(cell_depot_max,
		 "free task cells kept between bursts of spawns, given back within seconds when unused (default 32768: 4 MiB)");

/**
 * ktask_cell_depot_cells() - free cells kept in the depot now
 *
 * Context: Any context.
 * Return: a snapshot of the number of cells in the depot's magazines.
 */
unsigned int ktask_cell_depot_cells(void)
{
	unsigned int nr;

	/* A racy snapshot for debugfs: the counts, read without the lock. */
	nr = data_race(ktask_cell_depot.nr);
	/* The same: a count that moves under us is still a count. */
	nr += data_race(ktask_cell_depot.nr_chained);
	return nr * KTASK_CELL_CACHE_BATCH;
}

/*
 * On PREEMPT_RT the slab's locks sleep: a cell whose last reference goes
 * where sleeping locks may not be taken (a hardirq-context hrtimer, an
 * IPI, a raw spinlock section) goes on this list, through its run-queue
 * link, which nobody uses once the references are gone, and a work item
 * frees it.  Module exit flushes the work.
 */
static LLIST_HEAD(ktask_cell_deferred);
static void ktask_cell_free_deferred(struct work_struct *work);
static DECLARE_WORK(ktask_cell_free_work, ktask_cell_free_deferred);

static bool ktask_cell_cache_on = !IS_ENABLED(CONFIG_KASAN);
module_param_named(cell_cache, ktask_cell_cache_on, bool, 0444);
MODULE_PARM_DESC(cell_cache,
		 "keep a per-CPU cache of free task cells (default: on, off under KASAN)");

/* Give the cells of a dead CPU's cache back to the slab. */
static int ktask_cell_cpu_dead(unsigned int cpu)
{
	struct ktask_cell_pcp *pcp = per_cpu_ptr(&ktask_cell_pcp, cpu);

	kmem_cache_free_bulk(ktask_cell_cache, pcp->nr, pcp->cells);
	pcp->nr = 0;
	return 0;
}

int ktask_cell_cache_init(void)
{
	int ret;

	/*
	 * The header and core must fit the first cache line, the trailer the
	 * second (DESIGN.md): 128 bytes with 64-byte lines.
	 */
	BUILD_BUG_ON(offsetof(struct ktask_cell, owned_node) > L1_CACHE_BYTES);
	BUILD_BUG_ON(sizeof(struct ktask_cell) > 2 * L1_CACHE_BYTES);
	/* Handles carry a tag in the low bits of the cell's address. */
	BUILD_BUG_ON(__alignof__(struct ktask_cell) <= KTASK_HANDLE_TAG_MASK);

	ktask_cell_cache = KMEM_CACHE(ktask_cell, SLAB_HWCACHE_ALIGN);
	if (!ktask_cell_cache)
		return -ENOMEM;
	ktask_cell_ext_cache = KMEM_CACHE(ktask_cell_ext, SLAB_HWCACHE_ALIGN);
	if (!ktask_cell_ext_cache) {
		ret = -ENOMEM;
		goto err_cell;
	}
	ret = cpuhp_setup_state_nocalls(CPUHP_BP_PREPARE_DYN, "ktask/cell:dead",
					NULL, ktask_cell_cpu_dead);
	if (ret < 0)
		goto err_ext;
	ktask_cell_cpuhp_state = ret;
	return 0;

err_ext:
	kmem_cache_destroy(ktask_cell_ext_cache);
err_cell:
	kmem_cache_destroy(ktask_cell_cache);
	return ret;
}

void ktask_cell_cache_exit(void)
{
	int cpu;

	/* Every task is gone; a deferred free may still be pending. */
	flush_work(&ktask_cell_free_work);
	cpuhp_remove_state_nocalls(ktask_cell_cpuhp_state);
	/* No task is left: every cell is in a cache or back in the slab. */
	for_each_possible_cpu(cpu)
		ktask_cell_cpu_dead(cpu);
	/* Nothing puts a magazine now: the decay stays off once cancelled. */
	cancel_delayed_work_sync(&ktask_cell_depot.decay);
	ktask_cell_mags_free(&ktask_cell_depot.chained);
	INIT_LIST_HEAD(&ktask_cell_depot.chained);
	ktask_cell_depot.nr_chained = 0;
	while (ktask_cell_depot.nr)
		kmem_cache_free_bulk(ktask_cell_cache, KTASK_CELL_CACHE_BATCH,
				     ktask_cell_depot.mags[--ktask_cell_depot.nr]);
	ktask_cell_depot.low = 0;
	kmem_cache_destroy(ktask_cell_ext_cache);
	kmem_cache_destroy(ktask_cell_cache);
}

/*
 * Put the @nr cells of @cells in this CPU's cache, as many as it has room
 * for, and give the rest back to the slab.  Process context.
 */
static void ktask_cell_stash(void **cells, unsigned int nr)
{
	struct ktask_cell_pcp *pcp;
	unsigned int i;

	pcp = get_cpu_ptr(&ktask_cell_pcp);
	for (i = 0; i < nr && pcp->nr < KTASK_CELL_CACHE_SIZE; i++)
		pcp->cells[pcp->nr++] = cells[i];
	put_cpu_ptr(&ktask_cell_pcp);
	if (i == nr)
		return;
	/* kmem_cache_free_bulk() wants interrupts enabled. */
	if (!irqs_disabled()) {
		kmem_cache_free_bulk(ktask_cell_cache, nr - i, &cells[i]);
		return;
	}
	for (; i < nr; i++)
		kmem_cache_free(ktask_cell_cache, cells[i]);
}

/*
 * Refill this CPU's empty cache, from the depot or else the slab, and take
 * a cell from it, or NULL.
 */
static struct ktask_cell *ktask_cell_refill(gfp_t gfp)
{
	void *cells[KTASK_CELL_CACHE_BATCH];
	int nr;

	if (ktask_cell_depot_get(cells))
		nr = ARRAY_SIZE(cells);
	else
		nr = kmem_cache_alloc_bulk(ktask_cell_cache, gfp,
					   ARRAY_SIZE(cells), cells);
	if (!nr)
		return NULL;
	/* We may have moved, and the cache filled meanwhile. */
	ktask_cell_stash(&cells[1], nr - 1);
	return cells[0];
}

/*
 * A cell for a new task: with @ext, the head of a struct ktask_cell_ext,
 * from @node's memory if it is not NUMA_NO_NODE, and never from the
 * per-CPU cache, which holds bare cells.
 */
struct ktask_cell *ktask_cell_alloc(gfp_t gfp, bool ext, int node)
{
	struct ktask_cell *cell = NULL;

	if (ext) {
		struct ktask_cell_ext *x;

		x = kmem_cache_alloc_node(ktask_cell_ext_cache, gfp, node);
		if (!x)
			return NULL;
		cell = &x->cell;
	} else if (ktask_cell_cache_on && in_task()) {
		struct ktask_cell_pcp *pcp;

		pcp = get_cpu_ptr(&ktask_cell_pcp);
		if (pcp->nr)
			cell = pcp->cells[--pcp->nr];
		put_cpu_ptr(&ktask_cell_pcp);
		/*
		 * kmem_cache_alloc_bulk() enables interrupts on its way out:
		 * with them off (a spinlock_irq section) take one.
		 */
		if (!cell && !irqs_disabled())
			cell = ktask_cell_refill(gfp);
		else if (!cell)
			cell = kmem_cache_alloc(ktask_cell_cache, gfp);
	} else {
		cell = kmem_cache_alloc(ktask_cell_cache, gfp);
	}
	if (cell)
		this_cpu_inc(ktask_nr_cells);
	return cell;
}

/*
 * @nr bare cells into @cells, all or none: what this CPU's cache holds,
 * magazines of the depot (a part one's other cells go to this CPU's
 * cache), the rest with one kmem_cache_alloc_bulk()
 * (one by one with interrupts off, which it would turn on).
 * Return: whether it got them.
 */
bool ktask_cell_alloc_bulk(gfp_t gfp, unsigned int nr, void **cells)
{
	unsigned int got = 0, i;

	if (ktask_cell_cache_on && in_task()) {
		struct ktask_cell_pcp *pcp = get_cpu_ptr(&ktask_cell_pcp);

		got = min(nr, pcp->nr);
		pcp->nr -= got;
		memcpy(cells, &pcp->cells[pcp->nr], got * sizeof(*cells));
		put_cpu_ptr(&ktask_cell_pcp);
		/* Whole magazines from the depot. */
		while (nr - got >= KTASK_CELL_CACHE_BATCH &&
		       ktask_cell_depot_get(&cells[got]))
			got += KTASK_CELL_CACHE_BATCH;
		/*
		 * The rest from one more, whose other cells refill this CPU's
		 * cache: a batch smaller than a magazine must not miss the
		 * cells that the CPU which completes the tasks spills there.
		 */
		if (got < nr && nr - got < KTASK_CELL_CACHE_BATCH) {
			void *mag[KTASK_CELL_CACHE_BATCH];

			if (ktask_cell_depot_get(mag)) {
				memcpy(&cells[got], mag,
				       (nr - got) * sizeof(*cells));
				ktask_cell_stash(&mag[nr - got],
						 ARRAY_SIZE(mag) - (nr - got));
				got = nr;
			}
		}
	}
	if (got < nr && !irqs_disabled()) {
		if (kmem_cache_alloc_bulk(ktask_cell_cache, gfp, nr - got,
					  &cells[got]))
			got = nr;
	} else {
		for (; got < nr; got++) {
			cells[got] = kmem_cache_alloc(ktask_cell_cache, gfp);
			if (!cells[got])
				break;
		}
	}
	if (got < nr) {
		/* Never counted: straight back to the slab. */
		for (i = 0; i < got; i++)
			kmem_cache_free(ktask_cell_cache, cells[i]);
		return false;
	}
	this_cpu_add(ktask_nr_cells, nr);
	return true;
}

void ktask_cell_free(struct ktask_cell *cell)
{
	void *spill[KTASK_CELL_CACHE_BATCH];
	struct ktask_cell_pcp *pcp;
	unsigned int nr = 0;

	if (IS_ENABLED(CONFIG_PREEMPT_RT) && !preemptible()) {
		/* The first to queue one queues the work (a raw lock). */
		if (llist_add(&cell->queue_node, &ktask_cell_deferred))
			queue_work(system_unbound_wq, &ktask_cell_free_work);
		return;
	}
	this_cpu_dec(ktask_nr_cells);
	if (cell->ext) {
		kmem_cache_free(ktask_cell_ext_cache, ktask_cell_ext(cell));
		return;
	}
	if (!ktask_cell_cache_on || !in_task()) {
		kmem_cache_free(ktask_cell_cache, cell);
		return;
	}
	pcp = get_cpu_ptr(&ktask_cell_pcp);
	if (pcp->nr == KTASK_CELL_CACHE_SIZE) {
		/* Full: the oldest half goes back to the slab. */
		nr = KTASK_CELL_CACHE_BATCH;
		memcpy(spill, pcp->cells, sizeof(spill));
		memmove(pcp->cells, &pcp->cells[nr],
			(KTASK_CELL_CACHE_SIZE - nr) * sizeof(pcp->cells[0]));
		pcp->nr -= nr;
	}
	pcp->cells[pcp->nr++] = cell;
	put_cpu_ptr(&ktask_cell_pcp);
	if (!nr || ktask_cell_depot_put(spill))
		return;
	/* kmem_cache_free_bulk() wants interrupts enabled. */
	if (!irqs_disabled()) {
		kmem_cache_free_bulk(ktask_cell_cache, nr, spill);
		return;
	}
	while (nr--)
		kmem_cache_free(ktask_cell_cache, spill[nr]);
}

static void ktask_cell_free_deferred(struct work_struct *work)
{
	struct llist_node *node = llist_del_all(&ktask_cell_deferred);
	struct ktask_cell *cell, *next;

	llist_for_each_entry_safe(cell, next, node, queue_node)
		ktask_cell_free(cell);
}

/**
 * ktask_num_cells() - task cells currently allocated, in every runtime
 *
 * Description:
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
