// SPDX-License-Identifier: GPL-2.0
/*
 * The cooperative budget (Tokio's coop).
 *
 * Each poll starts with rt->budget units.  A leaf operation calls
 * ktask_coop_proceed() before doing work; once the units are gone it
 * returns false, the task is woken (so it is polled again, behind the other
 * queued tasks) and the operation must return KTASK_PENDING.  A unit taken
 * by an operation that then made no progress is given back at the next
 * ktask_coop_proceed(), unless ktask_coop_made_progress() was called: a
 * resource that is not ready does not burn budget.
 */
#include "runtime.h"

/**
 * ktask_coop_proceed() - take one unit of budget for a leaf operation
 * @cx: the poll context
 *
 * Context: Inside a poll function.
 * Return: true if the operation may proceed; false if the budget is
 * exhausted, in which case the task has been woken and the caller must
 * return KTASK_PENDING.
 */
bool ktask_coop_proceed(struct ktask_cx *cx)
{
	if (WARN_ONCE(!cx, "ktask: NULL poll context\n"))
		return true;
	if (cx->unconstrained)
		return true;
	if (cx->unit_taken)
		cx->budget++;	/* the previous operation made no progress */
	cx->unit_taken = false;
	if (!cx->budget) {
		cx->forced_yield = true;
		ktask_wake_by_ref(ktask_cell_waker(cx->cell));
		return false;
	}
	cx->budget--;
	cx->unit_taken = true;
	return true;
}
EXPORT_SYMBOL_GPL(ktask_coop_proceed);

/**
 * ktask_coop_made_progress() - keep the unit the last operation took
 * @cx: the poll context
 *
 * Context: Inside a poll function.
 */
void ktask_coop_made_progress(struct ktask_cx *cx)
{
	if (WARN_ONCE(!cx, "ktask: NULL poll context\n"))
		return;
	cx->unit_taken = false;
}
EXPORT_SYMBOL_GPL(ktask_coop_made_progress);

/**
 * ktask_consume_budget() - spend one unit of budget
 * @cx: the poll context
 *
 * For loops that do work without leaf operations: call it once per
 * iteration and return KTASK_PENDING when it does.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY if a unit was spent, KTASK_PENDING if the budget is
 * exhausted (the task has been woken).
 */
enum ktask_poll ktask_consume_budget(struct ktask_cx *cx)
{
	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;
	ktask_coop_made_progress(cx);
	return KTASK_READY;
}
EXPORT_SYMBOL_GPL(ktask_consume_budget);

/**
 * ktask_consume_budget_n() - spend several units of budget at once
 * @cx: the poll context
 * @units: what the work just done is worth; 0 spends nothing
 *
 * For work whose cost varies (bytes copied, packets handled): as @units
 * calls of ktask_consume_budget() in a row, in one.  A budget with fewer
 * than @units left is used up, and the task is woken to yield.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY if all @units were spent, KTASK_PENDING if the
 * budget ran out first (the task has been woken: return KTASK_PENDING).
 */
enum ktask_poll ktask_consume_budget_n(struct ktask_cx *cx, unsigned int units)
{
	if (WARN_ONCE(!cx, "ktask: NULL poll context\n"))
		return KTASK_READY;
	if (cx->unconstrained || !units)
		return KTASK_READY;
	if (cx->unit_taken)
		cx->budget++;	/* the previous operation made no progress */
	cx->unit_taken = false;
	if (units <= cx->budget) {
		cx->budget -= units;
		return KTASK_READY;
	}
	cx->budget = 0;
	cx->forced_yield = true;
	ktask_wake_by_ref(ktask_cell_waker(cx->cell));
	return KTASK_PENDING;
}
EXPORT_SYMBOL_GPL(ktask_consume_budget_n);

/**
 * ktask_coop_set_unconstrained() - opt a section of a poll out of the budget
 * @cx: the poll context
 * @unconstrained: true to stop enforcing the budget, false to resume
 *
 * Tokio's unconstrained(): for a section that must not be forced to yield
 * (it holds something other tasks wait for, or it is itself the fairness
 * mechanism).  Use sparingly: such a section can starve its neighbours.
 *
 *	bool was = ktask_coop_set_unconstrained(cx, true);
 *	...
 *	ktask_coop_set_unconstrained(cx, was);
 *
 * Context: Inside a poll function.
 * Return: the previous setting, to restore.
 */
bool ktask_coop_set_unconstrained(struct ktask_cx *cx, bool unconstrained)
{
	bool was;

	if (WARN_ONCE(!cx, "ktask: NULL poll context\n"))
		return false;
	was = cx->unconstrained;
	cx->unconstrained = unconstrained;
	return was;
}
EXPORT_SYMBOL_GPL(ktask_coop_set_unconstrained);

/**
 * ktask_has_budget_remaining() - whether the poll has budget left
 * @cx: the poll context
 *
 * Context: Inside a poll function.
 * Return: true if the next ktask_coop_proceed() would succeed.
 */
bool ktask_has_budget_remaining(struct ktask_cx *cx)
{
	if (WARN_ONCE(!cx, "ktask: NULL poll context\n"))
		return false;
	return cx->unconstrained || cx->budget || cx->unit_taken;
}
EXPORT_SYMBOL_GPL(ktask_has_budget_remaining);
