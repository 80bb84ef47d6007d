/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The task cell: one allocation per task, laid out hot to cold.
 *
 * Locking and ownership rules for the fields, in the style of
 * kernel/workqueue.c:
 *
 * I: set at spawn, before the cell is published; read-only afterwards.
 * S: changed only through the state transitions of state.c.
 * Q: owned by whoever holds the notification reference (run-queue link).
 * R: written only by the holder of KTASK_RUNNING; read by the join handle
 *    after it has observed KTASK_COMPLETE (ordered by the state word).
 * O: protected by the owned-list shard lock of the task's id.
 * W: the join-waker slot; owned by the join handle while JOIN_WAKER is
 *    clear, by the harness while it is set (see state.c).
 * D: statistics for debugfs; written by the poller, read racily.
 * P: written by the stuck-task scan under the owned-list shard lock.
 */
#ifndef _KTASK_CELL_H
#define _KTASK_CELL_H

#include <linux/cache.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/ktask.h>
#include <linux/numa.h>
#include <linux/kernel.h>

#include "state.h"

struct ktask_cell;
struct ktask_rq;

/*
 * What a task runs; I.  Every kind is polled, scheduled, joined and freed
 * the same way: only running its body and dropping it differ
 * (harness.c: ktask_run_body(), ktask_drop_body()).
 */
enum ktask_kind {
	KTASK_KIND_FN,		/* ktask_spawn(): @fn(@arg), once */
	KTASK_KIND_POLL,	/* ktask_spawn_poll(): @ops->poll() */
	KTASK_KIND_BLOCKING,	/* ktask_spawn_blocking(): see blocking.c */
};

/*
 * What a task parked on, for debugfs and reports: the low bits of
 * @wait_site; the rest is the object waited on (a struct ktask_sleep, a
 * wait_queue_head, a struct completion) or, for a join, the joined task's
 * id shifted left by KTASK_WAIT_SHIFT.
 */
enum ktask_wait_kind {
	KTASK_WAIT_NONE,	/* not parked in this poll, or not through ktask */
	KTASK_WAIT_WAKER,	/* a clone of its waker, held by the poll function */
	KTASK_WAIT_YIELD,	/* ktask_yield_now() */
	KTASK_WAIT_SLEEP,	/* ktask_sleep_until() */
	KTASK_WAIT_QUEUE,	/* ktask_wait_prepare(): a wait queue */
	KTASK_WAIT_COMPLETION,	/* ktask_wait_for_completion() */
	KTASK_WAIT_JOIN,	/* ktask_join_poll(): another task */
	KTASK_WAIT_JOIN_SYNC,	/* ktask_join() from a blocking function */
};

#define KTASK_WAIT_SHIFT	3
#define KTASK_WAIT_MASK		(BIT(KTASK_WAIT_SHIFT) - 1)

/* What the core holds; R. */
enum ktask_stage {
	KTASK_STAGE_RUNNING,	/* the body is alive */
	KTASK_STAGE_FINISHED,	/* body gone, @output holds the output */
	KTASK_STAGE_FAILED,	/* body gone, @output holds an -errno */
	KTASK_STAGE_CONSUMED,	/* output read or dropped */
};

/*
 * The join-waker slot holds 0, KTASK_JOIN_WAKER_THREAD (the joiner is a
 * sleeping thread), a joining task's cell (cache-line aligned: no tag
 * bits), or a group's member entry tagged KTASK_JOIN_WAKER_GROUP.
 */
#define KTASK_JOIN_WAKER_THREAD	1UL
#define KTASK_JOIN_WAKER_GROUP	2UL
#define KTASK_JOIN_WAKER_TAGS	3UL

/**
 * struct ktask_cell - a task
 * @state: S: flags and reference count
 * @queue_node: Q: run-queue link
 * @rt: I: owner runtime; valid until the completion of the task has
 *	dropped it from the runtime's alive count (ktask_complete()), never
 *	dereferenced after that
 * @id: I: task id, never 0: its owned-list shard (the spawning CPU, and
 *	whether it spawned from an interrupt) in the low bits, the CPU's
 *	count of spawns above them (see owned.c); set when the task is bound
 * @ops: I: pollable tasks: the operations
 * @fn: I: run-to-completion tasks: the function
 * @arg: R: the task's argument, while @stage is KTASK_STAGE_RUNNING
 * @output: R: once the body is dropped: the output or -errno, see @stage
 * @join_waker: W: a struct ktask_cell * waker, KTASK_JOIN_WAKER_THREAD, or 0
 * @owner: I: module pinned while the task's code may run
 * @owned_node: O: link in the runtime's owned list
 * @spawn_site: I: the spawner's address, for debugfs and WARNs
 * @wait_site: D: what the last poll parked on: enum ktask_wait_kind in the
 *	low bits, the object or joined id above them; 0 while it runs
 * @wait_ip: D: where the poll function parked (a return address into it),
 *	meaningful when @wait_site is not 0
 * @spawn_jiffies: I: jiffies at spawn (32 bits: ages wrap after 2^32 ticks)
 * @last_poll_jiffies: D: jiffies at the start of the last poll
 * @polls: D: number of polls
 * @forced_yields: D: number of budget-forced yields
 * @self_wakes: D: wakes of the task by its own poll (saturating at 255)
 * @report_polls: P: @polls (low 8 bits) when @reported was last set
 * @wake_stamp: Q: with KTASK_RT_HISTOGRAMS, ktask_stamp() when the task
 *	was last queued; written by the one that queues it, before the push
 * @reported: P: KTASK_REPORTED_* reports made since poll @report_polls
 * @kind: I: enum ktask_kind
 * @ext: I: the cell is the head of a struct ktask_cell_ext: the task has a
 *	name or a placement (struct ktask_spawn_opts)
 * @stage: R: enum ktask_stage
 * @pin: KTASK_PIN_HELD (I): the task pins @owner; KTASK_PIN_RELEASED: the
 *	completion has put it (release store; joiners wait for it), unless
 *	it left it to the join handle with an output that ops->drop_output
 *	may drop (ktask_output_pin())
 *
 * The header (@state to @rt), the core (@id to @output), the join slot
 * and the owner share the first cache line; the trailer is the second.
 * Cells are cache-line aligned, so two cells never share a line.
 */
struct ktask_cell {
	/* header */
	atomic_long_t state;
	struct llist_node queue_node;
	struct ktask_rt *rt;
	/* core */
	u64 id;
	union {
		const struct ktask_ops *ops;
		long (*fn)(void *arg);
	};
	union {
		void *arg;
		long output;
	};
	unsigned long join_waker;
	struct module *owner;
	/* trailer */
	struct list_head owned_node ____cacheline_aligned;
	unsigned long spawn_site;
	unsigned long wait_site;
	unsigned long wait_ip;
	u32 spawn_jiffies;
	u32 last_poll_jiffies;
	u32 polls;
	u32 wake_stamp;
	u16 forced_yields;
	u8 self_wakes;
	u8 report_polls;
	u8 reported;
	u8 kind : 2;
	u8 ext : 1;
	u8 stage;
	u8 pin;
};

/**
 * struct ktask_cell_ext - a task cell with what struct ktask_spawn_opts
 *	asked for; allocated instead of a bare cell when the task has a name
 *	or a placement, so that a task is still one allocation, and a task
 *	without either pays for neither
 * @cell: the cell, with @cell.ext set
 * @cpu: I: the CPU to poll on (KTASK_PLACE_CPU), else -1
 * @node: I: the node whose CPUs poll (KTASK_PLACE_NODE), else
 *	NUMA_NO_NODE
 * @name: I: the task's name, NUL-terminated, "" for none
 */
struct ktask_cell_ext {
	struct ktask_cell cell;
	int cpu;
	int node;
	char name[KTASK_NAME_LEN];
};

static inline struct ktask_cell_ext *ktask_cell_ext(struct ktask_cell *cell)
{
	return container_of(cell, struct ktask_cell_ext, cell);
}

/* The task's name, "" for none; valid while the cell is. */
static inline const char *ktask_cell_name(const struct ktask_cell *cell)
{
	return cell->ext ?
	       container_of(cell, const struct ktask_cell_ext, cell)->name : "";
}

/* Whether the task asked to be polled on some CPUs only. */
static inline bool ktask_cell_placed(const struct ktask_cell *cell)
{
	const struct ktask_cell_ext *x;

	if (likely(!cell->ext))
		return false;
	x = container_of(cell, const struct ktask_cell_ext, cell);
	return x->cpu >= 0 || x->node != NUMA_NO_NODE;
}

/*
 * A task's id and name as reports show them: "12" or "12 (name)", in a
 * buffer of KTASK_LABEL_LEN bytes.
 */
#define KTASK_LABEL_LEN		(24 + KTASK_NAME_LEN)

static inline const char *ktask_label(char *buf, u64 id, const char *name)
{
	if (*name)
		snprintf(buf, KTASK_LABEL_LEN, "%llu (%s)", id, name);
	else
		snprintf(buf, KTASK_LABEL_LEN, "%llu", id);
	return buf;
}

#define KTASK_REPORTED_STUCK	BIT(0)
#define KTASK_REPORTED_LOST	BIT(1)

#define KTASK_PIN_HELD		BIT(0)
#define KTASK_PIN_RELEASED	BIT(1)

/*
 * Join and abort handles are the cell's address with a hash of the task's
 * id in the bits that the cell's alignment leaves clear (a tag; a hash,
 * because an id's low bits are its CPU's, which a reused cell shares):
 * a handle kept after its task was freed, whose cell now holds another
 * task, no longer matches that task (ktask_handle_stale()).  Wakers are
 * plain cell addresses.
 */
#define KTASK_HANDLE_TAG_MASK	((unsigned long)min(L1_CACHE_BYTES, 64) - 1)

static inline unsigned long ktask_id_tag(u64 id)
{
	return hash_64(id, ilog2(KTASK_HANDLE_TAG_MASK + 1));
}

static inline struct ktask_cell *ktask_handle_cell(const void *h)
{
	return (struct ktask_cell *)((unsigned long)h & ~KTASK_HANDLE_TAG_MASK);
}

static inline struct ktask_handle *ktask_cell_handle(struct ktask_cell *cell)
{
	return (struct ktask_handle *)((unsigned long)cell |
				       ktask_id_tag(cell->id));
}

/*
 * Whether @h names a task that is gone: its cell was freed and holds
 * another task now.  Only a misused handle can be stale, and reading the
 * id of such a cell is the use-after-free this catches (a debug kernel's
 * KASAN reports it first).
 */
static inline bool ktask_handle_stale(const void *h)
{
	return ((unsigned long)h & KTASK_HANDLE_TAG_MASK) !=
	       ktask_id_tag(READ_ONCE(ktask_handle_cell(h)->id));
}

static inline struct ktask_cell *ktask_waker_cell(struct ktask_waker *w)
{
	return (struct ktask_cell *)w;
}

static inline struct ktask_waker *ktask_cell_waker(struct ktask_cell *cell)
{
	return (struct ktask_waker *)cell;
}

/* cell.c */
int ktask_cell_cache_init(void);
void ktask_cell_cache_exit(void);
bool ktask_cell_alloc_bulk(gfp_t gfp, unsigned int nr, void **cells);
struct ktask_cell *ktask_cell_alloc(gfp_t gfp, bool ext, int node);
void ktask_cell_free(struct ktask_cell *cell);
unsigned int ktask_cell_depot_cells(void);

/*
 * What a run_body returns, besides enum ktask_poll, when it has passed the
 * task, still RUNNING, with the poll's reference, to code that will
 * complete it (blocking.c: ktask_harness_finish()).
 */
#define KTASK_HANDED_OFF	((enum ktask_poll)2)

/* harness.c */
void ktask_shutdown(struct ktask_cell *cell);

/* blocking.c */
enum ktask_poll ktask_blocking_run(struct ktask_cell *cell,
				   struct ktask_cx *cx, long *out);
void ktask_blocking_drop(struct ktask_cell *cell);
void ktask_blocking_hand_off(struct ktask_cell *cell);
struct ktask_rt *ktask_blocking_current_rt(void);
struct ktask_cell *ktask_blocking_current_cell(void);
struct ktask_handle *ktask_spawn_blocking_at(struct ktask_rt *rt,
					     long (*fn)(void *arg), void *arg,
					     const struct ktask_spawn_opts *opts,
					     gfp_t gfp, struct module *owner,
					     unsigned long site);
void ktask_drop_reference(struct ktask_cell *cell);
void ktask_schedule(struct ktask_cell *cell);
void ktask_dealloc(struct ktask_cell *cell);
int ktask_try_read_output(struct ktask_cell *cell, long *out);
void ktask_drop_join_handle_slow(struct ktask_cell *cell);
void ktask_drop_output(struct ktask_cell *cell);
struct module *ktask_output_pin(const struct ktask_cell *cell);

/* join.c */
bool ktask_join_register_waker(struct ktask_cell *cell, unsigned long waker);
int ktask_join_consume(struct ktask_cell *cell, long *out);

/* group.c */
void ktask_group_member_done(unsigned long waker);

/* waker.c: wake the waker stored in a join-waker slot */
void ktask_join_waker_wake(struct ktask_cell *cell, unsigned long waker);
void ktask_join_waker_drop(unsigned long waker);

#endif /* _KTASK_CELL_H */
