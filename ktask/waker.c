// SPDX-License-Identifier: GPL-2.0
/*
 * Wakers.  A waker is a counted reference to a task: waking it notifies the
 * task, which a worker then polls.  Every function here is safe in any
 * context, hardirq included, and never sleeps.
 */
#include <linux/wait_bit.h>

#include "runtime.h"
#include "ktask_trace.h"

/*
 * A wake that did not queue the task may be its own poll waking it (a
 * self-wake, as after ktask_yield_now()): count those, per task.
 */
static void ktask_count_self_wake(struct ktask_cell *cell)
{
	struct ktask_rq *rq;

	/* Only a running task wakes itself: spare the look-up otherwise. */
	if (!in_task() || !(ktask_state_load(&cell->state) & KTASK_RUNNING))
		return;
	rq = ktask_current_rq();
	/* Only the poller writes it; saturating, a statistic. */
	if (rq && rq->current_cell == cell && cell->self_wakes != U8_MAX)
		WRITE_ONCE(cell->self_wakes, cell->self_wakes + 1);
}

static bool ktask_waker_bad(struct ktask_waker *w, const char *what)
{
	return WARN_ONCE(IS_ERR_OR_NULL(w), "ktask: %s of an invalid waker %p\n",
			 what, w);
}

/**
 * ktask_cx_waker() - the waker of the task being polled
 * @cx: the poll context
 *
 * The waker is borrowed: it is valid until the poll returns.  Clone it with
 * ktask_waker_clone() to keep it longer.
 *
 * Context: Inside a poll function.
 * Return: the borrowed waker, or NULL if @cx is NULL.
 */
struct ktask_waker *ktask_cx_waker(struct ktask_cx *cx)
{
	if (WARN_ONCE(!cx, "ktask: NULL poll context\n"))
		return NULL;
	/* A leaf that takes it notes its own site after this one. */
	ktask_cx_note_wait(cx, KTASK_WAIT_WAKER, 0, _RET_IP_);
	return ktask_cell_waker(cx->cell);
}
EXPORT_SYMBOL_GPL(ktask_cx_waker);

/**
 * ktask_waker_clone() - take a new reference to a task as a waker
 * @w: a waker
 *
 * Context: Any context.
 * Return: a waker that the caller must consume with ktask_wake() or
 * ktask_waker_drop(), or NULL if @w is invalid (WARNs once).
 */
struct ktask_waker *ktask_waker_clone(struct ktask_waker *w)
{
	if (ktask_waker_bad(w, "clone"))
		return NULL;
	ktask_state_ref_inc(&ktask_waker_cell(w)->state);
	return w;
}
EXPORT_SYMBOL_GPL(ktask_waker_clone);

/**
 * ktask_wake() - wake a task and consume the waker
 * @w: the waker, invalid after the call; or NULL, a no-op (so that
 *	ktask_wake(xchg(&slot, NULL)) is safe however often it runs)
 *
 * The task is polled again (once, however many wakes arrive before that
 * poll starts).  Waking a finished task does nothing.
 *
 * Context: Any context, hardirq included.
 */
void ktask_wake(struct ktask_waker *w)
{
	struct ktask_cell *cell;

	if (!w || ktask_waker_bad(w, "wake"))
		return;
	cell = ktask_waker_cell(w);
	/*
	 * Before the wake, while our reference holds the cell: a wake that
	 * does not queue the task gives the reference up, and the cell may
	 * then go at once.  A task woken from its own poll is running until
	 * that poll returns, so it is the same look as after the wake.
	 */
	ktask_count_self_wake(cell);
	/* Keeps the runtime alive until the push is done; see runtime.h. */
	ktask_rt_read_lock();
	switch (ktask_state_notify_by_val(&cell->state)) {
	case KTASK_NOTIFY_SUBMIT:
		trace_ktask_wake(cell);
		this_cpu_inc(cell->rt->rqs->stats.wakes);
		ktask_schedule(cell);
		break;
	case KTASK_NOTIFY_DEALLOC:
		ktask_dealloc(cell);
		break;
	case KTASK_NOTIFY_NOTHING:
		break;
	}
	ktask_rt_read_unlock();
}
EXPORT_SYMBOL_GPL(ktask_wake);

/**
 * ktask_wake_by_ref() - wake a task and keep the waker
 * @w: the waker
 *
 * Context: Any context, hardirq included.
 */
void ktask_wake_by_ref(struct ktask_waker *w)
{
	struct ktask_cell *cell;

	if (ktask_waker_bad(w, "wake"))
		return;
	cell = ktask_waker_cell(w);
	ktask_rt_read_lock();
	if (ktask_state_notify_by_ref(&cell->state) == KTASK_NOTIFY_SUBMIT) {
		trace_ktask_wake(cell);
		this_cpu_inc(cell->rt->rqs->stats.wakes);
		ktask_schedule(cell);
	} else {
		ktask_count_self_wake(cell);
	}
	ktask_rt_read_unlock();
}
EXPORT_SYMBOL_GPL(ktask_wake_by_ref);

/**
 * ktask_waker_drop() - drop a waker without waking
 * @w: the waker, or NULL (a no-op)
 *
 * Context: Any context, hardirq included.
 */
void ktask_waker_drop(struct ktask_waker *w)
{
	if (!w || ktask_waker_bad(w, "drop"))
		return;
	ktask_drop_reference(ktask_waker_cell(w));
}
EXPORT_SYMBOL_GPL(ktask_waker_drop);

void ktask_join_waker_wake(struct ktask_cell *cell, unsigned long waker)
{
	if (waker == KTASK_JOIN_WAKER_THREAD)
		wake_up_var(cell);
	else if (waker & KTASK_JOIN_WAKER_GROUP)
		ktask_group_member_done(waker);
	else if (waker)
		ktask_wake_by_ref((struct ktask_waker *)waker);
}

/* A group's member entry belongs to the group: nothing to drop. */
void ktask_join_waker_drop(unsigned long waker)
{
	if (waker && !(waker & KTASK_JOIN_WAKER_TAGS))
		ktask_waker_drop((struct ktask_waker *)waker);
}
