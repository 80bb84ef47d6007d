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
 */
#ifndef _KTASK_CELL_H
#define _KTASK_CELL_H

#include <linux/cache.h>
#include <linux/list.h>
#include <linux/llist.h>
#include <linux/ktask.h>

#include "state.h"

struct ktask_cell;
struct ktask_rq;

/**
 * struct ktask_vtable - type-erased operations on a cell
 * @poll: poll the task once for a run queue; the caller passes its
 *	notification reference
 * @schedule: queue a notified task (consumes a notification reference)
 * @dealloc: free the cell; the last reference is gone
 * @try_read_output: move the output out; the caller saw COMPLETE and
 *	owns the output (the join handle)
 * @drop_join_handle_slow: release the join handle when the fast path fails
 * @shutdown: cancel the task on runtime destroy; consumes the owned-list
 *	reference
 * @run_body: kind-specific: invoke the task's code once
 * @drop_body: kind-specific: release the task's argument, exactly once
 */
struct ktask_vtable {
	void (*poll)(struct ktask_rq *rq, struct ktask_cell *cell);
	void (*schedule)(struct ktask_cell *cell);
	void (*dealloc)(struct ktask_cell *cell);
	int (*try_read_output)(struct ktask_cell *cell, long *out);
	void (*drop_join_handle_slow)(struct ktask_cell *cell);
	void (*shutdown)(struct ktask_cell *cell);
	enum ktask_poll (*run_body)(struct ktask_cell *cell,
				    struct ktask_cx *cx, long *out);
	void (*drop_body)(struct ktask_cell *cell);
};

/* What the core holds; R. */
enum ktask_stage {
	KTASK_STAGE_RUNNING,	/* the body is alive */
	KTASK_STAGE_FINISHED,	/* body gone, @output holds the output */
	KTASK_STAGE_FAILED,	/* body gone, @output holds an -errno */
	KTASK_STAGE_CONSUMED,	/* output read or dropped */
};

/* Tag in the join-waker slot: the joiner is a sleeping thread. */
#define KTASK_JOIN_WAKER_THREAD	1UL

/**
 * struct ktask_cell - a task
 * @state: S: flags and reference count
 * @queue_node: Q: run-queue link
 * @vtable: I: operations
 * @rt: I: owner runtime; valid until the completion of the task has
 *	dropped it from the runtime's alive count (ktask_complete()), never
 *	dereferenced after that
 * @id: I: task id, never 0
 * @ops: I: pollable tasks: the operations
 * @fn: I: run-to-completion tasks: the function
 * @arg: I: the task's argument
 * @output: R: the output or -errno, see @stage
 * @owned_node: O: link in the runtime's owned list
 * @join_waker: W: a struct ktask_cell * waker, KTASK_JOIN_WAKER_THREAD, or 0
 * @owner: I: module pinned while the task's code may run
 * @spawn_site: I: the spawner's address, for debugfs and WARNs
 * @spawn_ns: I: ktask_clock() at spawn (tick resolution)
 * @last_poll_ns: D: ktask_clock() at the start of the last poll
 * @polls: D: number of polls
 * @forced_yields: D: number of budget-forced yields
 * @stage: R: enum ktask_stage
 * @pin: KTASK_PIN_HELD (I): the task pins @owner; KTASK_PIN_RELEASED: the
 *	completion has put it (release store; joiners wait for it), unless
 *	it left it to the join handle with an output that ops->drop_output
 *	may drop (ktask_output_pin())
 *
 * The header (@state to @rt) and the core (@id to @output) share the first
 * cache line; the trailer is the second.  Cells are cache-line aligned, so
 * two cells never share a line.
 */
struct ktask_cell {
	/* header */
	atomic_long_t state;
	struct llist_node queue_node;
	const struct ktask_vtable *vtable;
	struct ktask_rt *rt;
	/* core */
	u64 id;
	union {
		const struct ktask_ops *ops;
		long (*fn)(void *arg);
	};
	void *arg;
	long output;
	/* trailer */
	struct list_head owned_node ____cacheline_aligned;
	unsigned long join_waker;
	struct module *owner;
	unsigned long spawn_site;
	u64 spawn_ns;
	u64 last_poll_ns;
	u32 polls;
	u16 forced_yields;
	u8 stage;
	u8 pin;
};

#define KTASK_PIN_HELD		BIT(0)
#define KTASK_PIN_RELEASED	BIT(1)

static inline struct ktask_cell *ktask_handle_cell(const struct ktask_handle *h)
{
	return (struct ktask_cell *)h;
}

static inline struct ktask_handle *ktask_cell_handle(struct ktask_cell *cell)
{
	return (struct ktask_handle *)cell;
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
struct ktask_cell *ktask_cell_alloc(gfp_t gfp);
void ktask_cell_free(struct ktask_cell *cell);
u64 ktask_next_id(void);

/*
 * What a run_body returns, besides enum ktask_poll, when it has passed the
 * task, still RUNNING, with the poll's reference, to code that will
 * complete it (blocking.c: ktask_harness_finish()).
 */
#define KTASK_HANDED_OFF	((enum ktask_poll)2)

/* harness.c */
extern const struct ktask_vtable ktask_fn_vtable;
extern const struct ktask_vtable ktask_poll_vtable;
extern const struct ktask_vtable ktask_blocking_vtable;

/* blocking.c */
enum ktask_poll ktask_blocking_run(struct ktask_cell *cell,
				   struct ktask_cx *cx, long *out);
void ktask_blocking_drop(struct ktask_cell *cell);
void ktask_blocking_hand_off(struct ktask_cell *cell);
struct ktask_rt *ktask_blocking_current_rt(void);
void ktask_drop_reference(struct ktask_cell *cell);
void ktask_schedule(struct ktask_cell *cell);
void ktask_dealloc(struct ktask_cell *cell);
int ktask_try_read_output(struct ktask_cell *cell, long *out);
void ktask_drop_join_handle_slow(struct ktask_cell *cell);
void ktask_drop_output(struct ktask_cell *cell);
struct module *ktask_output_pin(const struct ktask_cell *cell);

/* waker.c: wake the waker stored in a join-waker slot */
void ktask_join_waker_wake(struct ktask_cell *cell, unsigned long waker);
void ktask_join_waker_drop(unsigned long waker);

#endif /* _KTASK_CELL_H */
