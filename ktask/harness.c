// SPDX-License-Identifier: GPL-2.0
/*
 * The harness: poll a task, complete it, cancel it, shut it down, free it.
 *
 * Whoever moves a task to RUNNING (a worker in ktask_harness_poll(), or
 * runtime destroy in ktask_shutdown()) owns the core (@fn/@ops, @arg,
 * @output, @stage) until it moves the task to idle or complete.  The body is
 * dropped exactly once, by that owner, when the task finishes or is
 * cancelled; the output is dropped exactly once, by the harness when no join
 * handle exists at completion, otherwise by the join handle.
 */
#include <linux/indirect_call_wrapper.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/clock.h>
#include <linux/wait_bit.h>

#include "runtime.h"
#include "ktask_trace.h"

void ktask_dealloc(struct ktask_cell *cell)
{
	trace_ktask_dealloc(cell->id);
	ktask_cell_free(cell);
}

void ktask_drop_reference(struct ktask_cell *cell)
{
	if (ktask_state_ref_dec(&cell->state))
		ktask_dealloc(cell);
}

void ktask_schedule(struct ktask_cell *cell)
{
	struct ktask_rt *rt = cell->rt;

	INDIRECT_CALL_1(rt->sched->schedule, ktask_percpu_schedule, rt, cell);
}

/* Whether dropping the output calls the task's code (ops->drop_output). */
static bool ktask_output_has_drop(const struct ktask_cell *cell)
{
	return cell->stage == KTASK_STAGE_FINISHED &&
	       cell->kind == KTASK_KIND_POLL && cell->ops->drop_output;
}

/**
 * ktask_output_pin() - the module pin that a completed task's output holds
 * @cell: a completed task whose output the caller (the join handle) owns
 *
 * An output that ops->drop_output may still drop is code of the task's
 * module: the completion then leaves the task's pin to the join handle,
 * which puts it once the output is read or dropped.
 *
 * Return: the module the caller must put after it consumed the output, or
 * NULL.
 */
struct module *ktask_output_pin(const struct ktask_cell *cell)
{
	/* @pin's HELD bit is I; RELEASED may be stored concurrently. */
	if ((READ_ONCE(cell->pin) & KTASK_PIN_HELD) &&
	    ktask_output_has_drop(cell))
		return cell->owner;
	return NULL;
}

/* Drop an output nobody will read.  Caller owns the output. */
void ktask_drop_output(struct ktask_cell *cell)
{
	if (ktask_output_has_drop(cell))
		cell->ops->drop_output(cell->output);
	cell->stage = KTASK_STAGE_CONSUMED;
}

/* Invoke the task's code once; the caller holds RUNNING. */
static enum ktask_poll ktask_run_body(struct ktask_cell *cell,
				      struct ktask_cx *cx, long *out)
{
	switch (cell->kind) {
	case KTASK_KIND_FN:
		*out = cell->fn(cell->arg);
		return KTASK_READY;
	case KTASK_KIND_POLL:
		return cell->ops->poll(cx, cell->arg, out);
	default:
		return ktask_blocking_run(cell, cx, out);
	}
}

/* Release the task's argument, exactly once; the caller owns the core. */
static void ktask_drop_body(struct ktask_cell *cell)
{
	switch (cell->kind) {
	case KTASK_KIND_FN:
		break;
	case KTASK_KIND_POLL:
		if (cell->ops->drop)
			cell->ops->drop(cell->arg);
		break;
	default:
		ktask_blocking_drop(cell);
		break;
	}
}

/* Drop the body and store @err as the result.  Caller owns the core. */
static void ktask_cancel_task(struct ktask_cell *cell, int err)
{
	ktask_drop_body(cell);
	cell->output = err;
	cell->stage = KTASK_STAGE_FAILED;
}

/*
 * The task's result is stored and the caller holds RUNNING and one
 * reference (the poll's, or the owned list's for a shut-down task): publish
 * COMPLETE and hand the output over.  ktask_complete_leave() ends it.
 */
static void ktask_complete_publish(struct ktask_cell *cell)
{
	struct ktask_rt *rt = cell->rt;
	struct module *owner = cell->owner;
	bool pinned = ktask_cell_pins_owner(cell);
	bool cancelled = cell->stage == KTASK_STAGE_FAILED &&
			 cell->output == -ECANCELED;
	/*
	 * Read while the stage is still ours: once COMPLETE is published,
	 * the join handle may consume the output (its stage becomes
	 * CONSUMED) and put the pin it was left, and a test of the stage
	 * after that would put the pin a second time.
	 */
	bool output_pins = ktask_output_has_drop(cell);
	unsigned long snap;

	if (unlikely(rt->hooks) && rt->hooks->terminate)
		rt->hooks->terminate(rt->hooks->data, cell->id,
				     cell->stage == KTASK_STAGE_FINISHED ?
				     0 : (int)cell->output);

	/*
	 * Once COMPLETE is published, a joiner may return and its caller
	 * unload the task's module: the task's code has returned for good,
	 * so release the module before the joiner wakes.  A joiner that saw
	 * COMPLETE first spins until the release (ktask_join_consume()),
	 * which is why the two are not preempted apart; the release store
	 * pairs with its acquire.  Without a joiner, the output is dropped
	 * first, which may be the module's code; with one, an output that
	 * ops->drop_output may drop keeps the pin, which the join handle
	 * puts after it (ktask_output_pin()).
	 */
	preempt_disable();
	snap = ktask_state_to_complete(&cell->state);
	if (pinned && (snap & KTASK_JOIN_INTEREST) && !output_pins) {
		module_put(owner);
		/* Pairs with the acquire in ktask_join_consume(). */
		smp_store_release(&cell->pin, KTASK_PIN_HELD | KTASK_PIN_RELEASED);
	}
	preempt_enable();
	if (!(snap & KTASK_JOIN_INTEREST)) {
		/* Nobody will join: the output is ours to drop. */
		ktask_drop_output(cell);
		if (pinned)
			module_put(owner);
	}

	if ((snap & KTASK_JOIN_INTEREST) && (snap & KTASK_JOIN_WAKER)) {
		/* The slot is ours until JOIN_WAKER is cleared. */
		ktask_join_waker_wake(cell, cell->join_waker);
		snap = ktask_state_unset_waker_after_complete(&cell->state);
		if (!(snap & KTASK_JOIN_INTEREST)) {
			unsigned long waker = cell->join_waker;

			/* The handle went away meanwhile; it left the slot to us. */
			cell->join_waker = 0;
			ktask_join_waker_drop(waker);
		}
	}

	if (cancelled) {
		trace_ktask_cancel(cell);
		this_cpu_inc(rt->rqs->stats.cancelled);
	} else {
		trace_ktask_complete(cell);
		this_cpu_inc(rt->rqs->stats.completed);
	}
}

/*
 * A published completion leaves the runtime: off the owned list, out of
 * the alive count, and the references dropped.  From here on,
 * ktask_rt_destroy() may free @rt after a grace period.
 */
static void ktask_complete_leave(struct ktask_cell *cell)
{
	bool released = ktask_owned_release(cell->rt, cell);

	if (ktask_state_to_terminal(&cell->state, released ? 2 : 1))
		ktask_dealloc(cell);
}

static void ktask_complete(struct ktask_cell *cell)
{
	ktask_complete_publish(cell);
	ktask_complete_leave(cell);
}

/**
 * ktask_rq_release_done() - end the completions a drain has put off
 * @rq: the run queue whose drain the caller runs
 *
 * A task that completes in a poll of a drain is published at once (its
 * joiner wakes, its output is dropped or handed over), but leaves the
 * owned list with up to KTASK_RQ_DONE - 1 others, one shard lock for
 * those of each shard: the tasks a worker completes were mostly spawned
 * on one CPU, whose spawns take the same lock.  Until then it counts as
 * alive (ktask_rt_num_alive() drops a little after a join returns, as it
 * did when the completing worker had yet to get there), and destroy,
 * which waits for the alive count, may take it off the list itself.
 * The drain calls this before it gives its queue up or stops.
 *
 * Context: The drain of @rq, holding KICKED.
 */
void ktask_rq_release_done(struct ktask_rq *rq)
{
	struct ktask_cell *done[KTASK_RQ_DONE];
	unsigned int nr = rq->nr_done, i;
	unsigned long released;

	if (!nr)
		return;
	/* @rq may go with @rt once the last of them has left. */
	memcpy(done, rq->done, nr * sizeof(done[0]));
	rq->nr_done = 0;
	released = ktask_owned_release_many(rq->rt, done, nr);
	for (i = 0; i < nr; i++)
		if (ktask_state_to_terminal(&done[i]->state,
					    released & BIT(i) ? 2 : 1))
			ktask_dealloc(done[i]);
}

/*
 * ktask_complete() for a task that completed in a poll of @rq's drain:
 * published at once, it leaves the owned list with others (see above).
 */
static void ktask_complete_in_drain(struct ktask_rq *rq,
				    struct ktask_cell *cell)
{
	ktask_complete_publish(cell);
	rq->done[rq->nr_done++] = cell;
	if (rq->nr_done == KTASK_RQ_DONE)
		ktask_rq_release_done(rq);
}

static void ktask_cancel_and_complete(struct ktask_cell *cell)
{
	ktask_cancel_task(cell, -ECANCELED);
	ktask_complete(cell);
}

/**
 * ktask_rq_close_poll() - account the length of the drain's latest poll
 * @rq: the run queue whose drain the caller runs
 * @now: ktask_clock(), read by the caller
 *
 * One clock read per poll: a poll's length is taken at the start of the
 * next poll of the same drain, or at the drain's end, so it includes the
 * few atomics the harness runs between two polls; to a tick (a poll within
 * one tick gives no sample).
 *
 * Context: The drain of @rq.
 */
void ktask_rq_close_poll(struct ktask_rq *rq, u64 now)
{
	/*
	 * An unbound runtime's drain is preemptible and may migrate: the
	 * statistic goes to whichever CPU we are on now, and a clock that
	 * went backwards across CPUs gives no sample.
	 */
	struct ktask_cpu_stats *stats = raw_cpu_ptr(&rq->rt->rqs->stats);
	u64 took;

	if (!rq->poll_open)
		return;
	rq->poll_open = false;
	if (now <= rq->clock_ns)
		return;
	took = now - rq->clock_ns;
	/* Racy max: a lost update only loses a statistic. */
	if (took > data_race(stats->longest_poll_ns))
		WRITE_ONCE(stats->longest_poll_ns, took);
}

/* Run the body once with a fresh budget; caller holds RUNNING. */
static enum ktask_poll ktask_poll_body(struct ktask_rq *rq,
				       struct ktask_cell *cell, long *out)
{
	struct ktask_rt *rt = cell->rt;
	struct ktask_cx cx = {
		.cell = cell,
		.rq = rq,
		.budget = rt->budget,
	};
	enum ktask_poll res;
	u64 start, hist_start = 0;

	trace_ktask_poll_start(cell);
	if (unlikely(rt->hist)) {
		hist_start = local_clock();
		ktask_hist_schedule(rt, cell, hist_start);
	}
	start = ktask_clock();
	ktask_rq_close_poll(rq, start);
	/* The drain's clock, and the start of the poll to account next. */
	rq->clock_ns = start;
	rq->poll_open = true;
	WRITE_ONCE(cell->last_poll_jiffies, (u32)jiffies);
	WRITE_ONCE(cell->polls, cell->polls + 1);
	/* Set again by whatever the poll parks on (ktask_cx_note_wait()). */
	WRITE_ONCE(cell->wait_site, 0);
	ktask_rq_poll_begin(rq, cell, start);
	if (unlikely(rt->hooks) && rt->hooks->before_poll)
		rt->hooks->before_poll(rt->hooks->data, cell->id);
	/* Joins wait for this: ktask_rt_lockdep_wait(). */
	lock_map_acquire(&rt->lockdep_map);
	res = ktask_run_body(cell, &cx, out);
	lock_map_release(&rt->lockdep_map);
	if (unlikely(rt->hist))
		ktask_hist_poll(rt, hist_start, local_clock());
	if (unlikely(rt->hooks) && rt->hooks->after_poll)
		rt->hooks->after_poll(rt->hooks->data, cell->id,
				      res == KTASK_READY ? KTASK_READY :
							   KTASK_PENDING);
	ktask_rq_poll_end(rq);
	trace_ktask_poll_end(cell, res);

	this_cpu_inc(rt->rqs->stats.polls);
	if (cx.forced_yield) {
		rq->forced_yield = true;
		trace_ktask_forced_yield(cell);
		this_cpu_inc(rt->rqs->stats.forced_yields);
		WRITE_ONCE(cell->forced_yields, cell->forced_yields + 1);
	}
	return res;
}

/* Drop the body and store its output.  Caller owns the core. */
static void ktask_finish_body(struct ktask_cell *cell, long out)
{
	ktask_drop_body(cell);
	cell->output = out;
	cell->stage = KTASK_STAGE_FINISHED;
}

/**
 * ktask_harness_finish() - complete a task whose body returned its output
 * @cell: the task; the caller holds RUNNING and the poll's reference
 * @out: the output
 *
 * Context: Process context.  The poll, or the blocking pool's work item
 * that a poll handed the task to.
 */
void ktask_harness_finish(struct ktask_cell *cell, long out)
{
	ktask_finish_body(cell, out);
	ktask_complete(cell);
}

/**
 * ktask_harness_poll() - poll a task for a run queue
 * @rq: the run queue the task was taken from
 * @cell: the task; the caller passes its notification reference
 *
 * Context: Process context, on a runtime worker.  Calls the task's code.
 */
void ktask_harness_poll(struct ktask_rq *rq, struct ktask_cell *cell)
{
	enum ktask_poll res;
	long out = 0;

	switch (ktask_state_to_running(&cell->state)) {
	case KTASK_RUN_SUCCESS:
		break;
	case KTASK_RUN_CANCELLED:
		ktask_cancel_and_complete(cell);
		return;
	case KTASK_RUN_FAILED:
		return;
	case KTASK_RUN_DEALLOC:
		ktask_dealloc(cell);
		return;
	}

	res = ktask_poll_body(rq, cell, &out);
	if (likely(res == KTASK_READY)) {
		ktask_finish_body(cell, out);
		ktask_complete_in_drain(rq, cell);
		return;
	}
	if (res == KTASK_HANDED_OFF && cell->kind == KTASK_KIND_BLOCKING) {
		/* The pool completes it, with our reference: hands off. */
		ktask_blocking_hand_off(cell);
		return;
	}
	if (unlikely(res != KTASK_PENDING)) {
		char label[KTASK_LABEL_LEN];

		WARN_ONCE(1, "ktask: task %s spawned at %pS: poll returned %d\n",
			  ktask_label(label, cell->id, ktask_cell_name(cell)),
			  (void *)cell->spawn_site, res);
		ktask_cancel_task(cell, -EPROTO);
		ktask_complete(cell);
		return;
	}

	switch (ktask_state_to_idle(&cell->state)) {
	case KTASK_IDLE_OK:
		break;
	case KTASK_IDLE_OK_NOTIFIED:
		/*
		 * Our reference became the new notification's.  The push may
		 * land on a queue another CPU drains, which may poll and free
		 * the cell at once: nothing here touches it after the push.
		 */
		cell->rt->sched->yield(cell->rt, cell);
		break;
	case KTASK_IDLE_OK_DEALLOC:
		ktask_dealloc(cell);
		break;
	case KTASK_IDLE_CANCELLED:
		ktask_cancel_and_complete(cell);
		break;
	}
}

/**
 * ktask_harness_help() - run a queued run-to-completion task for its joiner
 * @cell: the task; the caller holds its join handle and would sleep on it
 *
 * A task that is queued and was never polled is run by its joiner instead
 * of waiting for a worker: the helping join, when the joiner is a kernel
 * thread without a user mm or a journal handle.  It is claimed with
 * ktask_state_to_running_help(), which leaves the queued notification in
 * place (the drain that pops it finds the task complete and drops it),
 * and is run as a worker would run it: its id is ktask_current_id() and
 * it counts in the statistics of the joiner's CPU.  The joiner does not
 * migrate while the task runs.
 *
 * Context: Process context, outside any task; may sleep (the task's code).
 * Return: true if the task ran to completion here, false if it was not
 * claimable (running, complete, cancelled, or not queued).
 */
bool ktask_harness_help(struct ktask_cell *cell)
{
	struct ktask_helper helper;
	long out = 0;

	/*
	 * Only a kernel thread with no user mm and no filesystem journal
	 * handle of its own runs a task: the task's code must not find a
	 * user's mm, pending signals or a journal in its context.  A placed
	 * task, or one of a runtime limited to some CPUs, runs on its CPUs
	 * only, so never here.
	 */
	if (cell->kind != KTASK_KIND_FN || ktask_cell_placed(cell) ||
	    cell->rt->cpus ||
	    !(current->flags & PF_KTHREAD) ||
	    current->mm || current->journal_info ||
	    !ktask_state_to_running_help(&cell->state))
		return false;

	memset(&helper.rq, 0, sizeof(helper.rq));
	helper.rq.rt = cell->rt;
	helper.rq.cpu = -1;
	migrate_disable();
	ktask_helper_enter(&helper);
	/* A fn task is READY on its first poll. */
	ktask_poll_body(&helper.rq, cell, &out);
	/* Before the completion, after which @rt may go away. */
	ktask_rq_close_poll(&helper.rq, ktask_clock());
	ktask_harness_finish(cell, out);
	ktask_helper_exit(&helper);
	migrate_enable();
	return true;
}

/* Runtime destroy: @cell was taken off the owned list with its reference. */
void ktask_shutdown(struct ktask_cell *cell)
{
	if (!ktask_state_to_shutdown(&cell->state)) {
		/* Running (its poller cancels it) or complete already. */
		ktask_drop_reference(cell);
		return;
	}
	ktask_cancel_and_complete(cell);
}

int ktask_try_read_output(struct ktask_cell *cell, long *out)
{
	u8 stage = cell->stage;

	cell->stage = KTASK_STAGE_CONSUMED;
	switch (stage) {
	case KTASK_STAGE_FINISHED:
		if (out)
			*out = cell->output;
		return 0;
	case KTASK_STAGE_FAILED:
		return (int)cell->output;
	default:
		WARN_ONCE(1, "ktask: output of task %llu read in stage %u\n",
			  cell->id, stage);
		return -EINVAL;
	}
}

void ktask_drop_join_handle_slow(struct ktask_cell *cell)
{
	struct ktask_handle_drop drop;

	drop = ktask_state_join_handle_dropped(&cell->state);
	if (drop.drop_output) {
		struct module *pin = ktask_output_pin(cell);

		ktask_drop_output(cell);
		module_put(pin);
	}
	if (drop.drop_waker) {
		unsigned long waker = cell->join_waker;

		cell->join_waker = 0;
		ktask_join_waker_drop(waker);
	}
	if (drop.last)
		ktask_dealloc(cell);
	else
		ktask_drop_reference(cell);
}
