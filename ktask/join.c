// SPDX-License-Identifier: GPL-2.0
/*
 * Join handles and abort handles.
 *
 * A join handle is a reference to the task plus the JOIN_INTEREST bit.  It
 * is consumed by ktask_join(), by ktask_join_poll() returning KTASK_READY,
 * and by ktask_detach().  An abort handle is a plain reference.
 *
 * A joiner that waits registers a waker in the join-waker slot under the
 * JOIN_WAKER protocol of state.c: a sleeping thread registers
 * KTASK_JOIN_WAKER_THREAD and sleeps on wake_up_var(cell); a task registers
 * a clone of its own waker.
 *
 * Using a handle after it was consumed is a bug in the caller.  While
 * another reference (an abort handle, a waker) keeps the cell alive, the
 * state word shows it and the operation WARNs with the task's spawn site;
 * once the cell is freed and reused for another task, the handle's tag no
 * longer matches and it WARNs as stale; while it is freed, a debug
 * kernel's KASAN reports the use, with the spawn as the allocation.  The
 * WARNs are rate-limited, not once per boot, so that every misuse in a
 * burst of them shows.
 */
#include <linux/ratelimit.h>
#include <linux/sched.h>
#include <linux/wait_bit.h>

#include "runtime.h"

static DEFINE_RATELIMIT_STATE(ktask_misuse_rs, 5 * HZ, 10);

/*
 * Whether @h (a join or abort handle) names a task that is gone; WARNs if
 * so.  @what names the operation.
 */
static bool ktask_handle_gone(const void *h, const char *what)
{
	if (!ktask_handle_stale(h))
		return false;
	WARN(__ratelimit(&ktask_misuse_rs),
	     "ktask: %s through a stale handle: its task is gone (its cell holds task %llu now)\n",
	     what, READ_ONCE(ktask_handle_cell(h)->id));
	return true;
}

/* The misuse ktask_handle_check() found in @h: WARN and refuse it. */
static noinline int ktask_handle_misuse(const struct ktask_handle *h,
					const char *what)
{
	struct ktask_cell *cell;

	if (ktask_handle_gone(h, what))
		return -EINVAL;
	cell = ktask_handle_cell(h);
	WARN(__ratelimit(&ktask_misuse_rs),
	     "ktask: %s of a consumed join handle (task %llu, spawned at %pS)\n",
	     what, cell->id, (void *)cell->spawn_site);
	return -EINVAL;
}

/*
 * Validate @h for an operation that needs a live join handle: inline, a
 * compare and a load on the paths of every join and detach.
 */
static __always_inline int ktask_handle_check(const struct ktask_handle *h,
					      const char *what)
{
	if (IS_ERR_OR_NULL(h))
		return -EINVAL;
	if (unlikely(ktask_handle_stale(h) ||
		     !(ktask_state_load(&ktask_handle_cell(h)->state) &
		       KTASK_JOIN_INTEREST)))
		return ktask_handle_misuse(h, what);
	return 0;
}

/*
 * Put @waker in the join-waker slot.  Return: true if it is registered and
 * the harness will wake it; false if the task completed first (then @waker
 * has been dropped and the output may be read).
 */
static bool ktask_join_register(struct ktask_cell *cell, unsigned long snap,
				unsigned long waker)
{
	bool ok;

	if (snap & KTASK_JOIN_WAKER) {
		/* Take the slot back from the harness to replace the waker. */
		ktask_state_unset_join_waker(&cell->state, &ok);
		if (!ok)
			goto complete;
		ktask_join_waker_drop(cell->join_waker);
	}
	/* Read racily by ktask_join_closes_cycle(). */
	WRITE_ONCE(cell->join_waker, waker);
	ktask_state_set_join_waker(&cell->state, &ok);
	if (ok)
		return true;
	WRITE_ONCE(cell->join_waker, 0);
complete:
	ktask_join_waker_drop(waker);
	return false;
}

/**
 * ktask_join_register_waker() - register a waker in a task's join slot
 * @cell: a task whose join handle the caller owns, with no waker yet
 * @waker: the slot's new value
 *
 * Return: true if the completion will wake @waker; false if the task
 * completed first (@waker was then dropped: see ktask_join_waker_drop()).
 */
bool ktask_join_register_waker(struct ktask_cell *cell, unsigned long waker)
{
	return ktask_join_register(cell, ktask_state_load(&cell->state), waker);
}

/**
 * ktask_join_consume() - consume the join handle of a completed task
 * @cell: the task, complete; the caller owns its join handle
 * @out: where to store the output; may be NULL
 *
 * Context: Any context but hardirq; does not sleep.
 * Return: as ktask_join().
 */
int ktask_join_consume(struct ktask_cell *cell, long *out)
{
	struct module *pin;
	int ret;

	/*
	 * Every caller saw COMPLETE in a plain load or in a failed cmpxchg,
	 * neither of which orders our loads of the stage and the output
	 * after it.  Pairs with the fully ordered RMW that set COMPLETE
	 * (ktask_state_to_complete()), after the output was stored.
	 */
	smp_rmb();
	/*
	 * The completion puts the task's pin on its module right after it
	 * published COMPLETE, unless it left it to us (an output that
	 * ops->drop_output could drop): wait for that put, so that once the
	 * join returns the module may be unloaded.
	 */
	pin = ktask_output_pin(cell);
	if (!pin && (READ_ONCE(cell->pin) & KTASK_PIN_HELD)) {
		/* Pairs with the release in ktask_complete(). */
		while (!(smp_load_acquire(&cell->pin) & KTASK_PIN_RELEASED))
			cpu_relax();
	}
	ret = ktask_try_read_output(cell, out);

	ktask_drop_join_handle_slow(cell);
	/* The output is read: the module's code is not needed for it. */
	module_put(pin);
	return ret;
}

/*
 * Whether a blocking function of task @self that joins @cell would wait
 * for itself: @cell is @self, or @cell poll-joins @self (its waker is in
 * our join-waker slot), a cycle of two.  Longer cycles are reported by the
 * stuck-task scan (stuck.c), not refused here.
 */
static bool ktask_join_closes_cycle(struct ktask_cell *self,
				    struct ktask_cell *cell)
{
	if (self == cell)
		return true;
	/*
	 * While JOIN_WAKER is set the slot is the harness's, and @self's
	 * harness is us: it holds its value.  A joiner that takes it back
	 * and writes another races with this look, which then misses.
	 */
	return (ktask_state_load(&self->state) & KTASK_JOIN_WAKER) &&
	       READ_ONCE(self->join_waker) == (unsigned long)cell;
}

static int ktask_join_wait(struct ktask_handle *h, long *out, long timeout,
			   bool killable, unsigned long ip)
{
	struct ktask_cell *cell, *self;
	unsigned long snap;
	bool ok, deadlock, in_worker;
	int ret;

	might_sleep();
	ret = ktask_handle_check(h, "join");
	if (ret)
		return ret;
	cell = ktask_handle_cell(h);
	/*
	 * Complete already: nothing to wait for, so nothing to check (the
	 * look-up of the caller's run queue below was the largest cost of
	 * joining many completed tasks).  As below, ktask_join_consume()
	 * orders the reads of the output after this load.
	 */
	snap = ktask_state_load(&cell->state);
	if (snap & KTASK_COMPLETE)
		return ktask_join_consume(cell, out);
	/* Not complete in the RCU section: the runtime stays (runtime.h). */
	/*
	 * From a ktask worker, or from an ops->drop that the runtime's
	 * destroy runs (which would cancel the joined task only after the
	 * drop returned), a join of a task that has not completed deadlocks.
	 */
	in_worker = ktask_current_rq();
	ktask_rt_read_lock();
	snap = ktask_state_load(&cell->state);
	deadlock = !(snap & KTASK_COMPLETE) &&
		   (in_worker || READ_ONCE(cell->rt->destroyer) == current);
	/*
	 * An untimed join waits for a poll of the task's runtime: tell
	 * lockdep (here, where the runtime is safe to look at), so that a
	 * join under a lock that the runtime's tasks take is reported.
	 */
	if (!(snap & KTASK_COMPLETE) && !deadlock &&
	    timeout == MAX_SCHEDULE_TIMEOUT)
		ktask_rt_lockdep_wait(cell->rt);
	ktask_rt_read_unlock();
	if (snap & KTASK_COMPLETE)
		return ktask_join_consume(cell, out);
	if (deadlock)
		return -EDEADLK;
	self = ktask_blocking_current_cell();
	if (self && ktask_join_closes_cycle(self, cell))
		return -EDEADLK;
	/*
	 * Queued and never polled: run it rather than wait for a worker.
	 * Not in a timed join, whose caller expects to get control back.
	 */
	if (timeout == MAX_SCHEDULE_TIMEOUT && !killable &&
	    ktask_harness_help(cell))
		return ktask_join_consume(cell, out);
	if (!ktask_join_register(cell, snap, KTASK_JOIN_WAKER_THREAD))
		return ktask_join_consume(cell, out);

	/* A blocking function's wait, for debugfs and the cycle scan. */
	if (self) {
		WRITE_ONCE(self->wait_ip, ip);
		WRITE_ONCE(self->wait_site, (cell->id << KTASK_WAIT_SHIFT) |
					    KTASK_WAIT_JOIN_SYNC);
	}
	if (killable) {
		ret = wait_var_event_killable(cell,
					      ktask_state_load(&cell->state) &
					      KTASK_COMPLETE) ? -EINTR : 0;
	} else {
		ret = wait_var_event_timeout(cell,
					     ktask_state_load(&cell->state) &
					     KTASK_COMPLETE, timeout) ?
		      0 : -ETIMEDOUT;
	}
	if (self)
		WRITE_ONCE(self->wait_site, 0);
	if (!ret)
		return ktask_join_consume(cell, out);

	ktask_state_unset_join_waker(&cell->state, &ok);
	if (!ok)	/* completed after all: the harness holds the slot */
		return ktask_join_consume(cell, out);
	WRITE_ONCE(cell->join_waker, 0);
	return ret;
}

/**
 * ktask_join() - wait for a task and take its output
 * @h: the join handle; consumed unless the return is -EINVAL or -EDEADLK
 * @out: where to store the output; may be NULL
 *
 * A run-to-completion task (ktask_spawn()) that is still queued and was
 * never polled is run by the caller itself, on this CPU, rather than
 * waited for (the helping join), when the caller is a kernel thread
 * without a user mm or a journal handle: the task's code must not assume
 * it runs on a ktask worker thread, and runs under the caller's locks.
 * ktask_current_id() in it gives its id.
 *
 * Context: Process context; sleeps (uninterruptibly).  Not from a task or
 * any other code running on a ktask worker: that could deadlock.
 * Return: 0 with *@out set to the task's output; -ECANCELED if the task was
 * aborted before it completed; -EPROTO (and the poll function's bad return
 * WARNed) if its poll function broke the protocol; -EINVAL for an invalid
 * or consumed handle; -EDEADLK from a ktask worker, from an ops->drop
 * run by the destroy of the joined task's runtime, or from a blocking
 * function that joins its own task or a task that poll-joins its task
 * (handle still valid).
 */
int ktask_join(struct ktask_handle *h, long *out)
{
	return ktask_join_wait(h, out, MAX_SCHEDULE_TIMEOUT, false, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ktask_join);

/**
 * ktask_join_killable() - wait for a task, unless the caller is killed
 * @h: the join handle; consumed unless the return is -EINTR, -EINVAL or
 *	-EDEADLK
 * @out: where to store the output; may be NULL
 *
 * As ktask_join(), but a fatal signal ends the wait.  A queued task that
 * was never polled is not run by the caller (see ktask_join()).
 *
 * Context: Process context; sleeps (killable).  Not from a ktask worker.
 * Return: as ktask_join(), or -EINTR if a fatal signal is pending (the
 * handle is still valid).
 */
int ktask_join_killable(struct ktask_handle *h, long *out)
{
	return ktask_join_wait(h, out, MAX_SCHEDULE_TIMEOUT, true, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ktask_join_killable);

/**
 * ktask_join_timeout() - wait a bounded time for a task's output
 * @h: the join handle; consumed unless the return is -ETIMEDOUT, -EINVAL
 *	or -EDEADLK
 * @out: where to store the output; may be NULL
 * @timeout: the longest wait, in jiffies
 *
 * Context: Process context; sleeps.  Not from a ktask worker.
 * Return: as ktask_join(), or -ETIMEDOUT if the task did not complete in
 * time (the handle is still valid).
 */
int ktask_join_timeout(struct ktask_handle *h, long *out,
		       unsigned long timeout)
{
	if (timeout > MAX_SCHEDULE_TIMEOUT)
		timeout = MAX_SCHEDULE_TIMEOUT;
	return ktask_join_wait(h, out, timeout, false, _RET_IP_);
}
EXPORT_SYMBOL_GPL(ktask_join_timeout);

/**
 * ktask_join_poll() - poll a task's completion from another task
 * @h: the join handle; consumed when this returns KTASK_READY
 * @cx: the polling task's context
 * @out: where to store the output; may be NULL
 * @err: where to store the result: 0, or the error ktask_join() would give
 *
 * If the task has not completed, registers the polling task's waker, which
 * is woken when it does, and returns KTASK_PENDING.  Takes one unit of the
 * caller's coop budget and may return KTASK_PENDING when there is none.
 *
 * Context: Inside a poll function.
 * Return: KTASK_READY with *@err (and *@out) set, or KTASK_PENDING.
 * An invalid handle or arguments give KTASK_READY with *@err = -EINVAL; a
 * task joining itself gets -EDEADLK (its handle stays valid).
 */
enum ktask_poll ktask_join_poll(struct ktask_handle *h, struct ktask_cx *cx,
				long *out, int *err)
{
	struct ktask_cell *cell;
	unsigned long snap;
	int ret;

	if (WARN_ONCE(!cx || !err, "ktask: join_poll without cx or err\n")) {
		if (err)
			*err = -EINVAL;
		return KTASK_READY;
	}
	ret = ktask_handle_check(h, "join_poll");
	if (ret) {
		*err = ret;
		return KTASK_READY;
	}
	cell = ktask_handle_cell(h);
	if (cell == cx->cell) {
		*err = -EDEADLK;
		return KTASK_READY;
	}
	if (!ktask_coop_proceed(cx))
		return KTASK_PENDING;

	snap = ktask_state_load(&cell->state);
	if (!(snap & KTASK_COMPLETE)) {
		/*
		 * Already registered: nothing to change.  The slot is only
		 * read here, and the harness clears it only without a handle.
		 */
		if ((snap & KTASK_JOIN_WAKER) &&
		    cell->join_waker == (unsigned long)cx->cell) {
			ktask_cx_note_wait(cx, KTASK_WAIT_JOIN,
					   cell->id << KTASK_WAIT_SHIFT,
					   _RET_IP_);
			return KTASK_PENDING;
		}
		ktask_state_ref_inc(&cx->cell->state);	/* the clone */
		if (ktask_join_register(cell, snap, (unsigned long)cx->cell)) {
			ktask_cx_note_wait(cx, KTASK_WAIT_JOIN,
					   cell->id << KTASK_WAIT_SHIFT,
					   _RET_IP_);
			return KTASK_PENDING;
		}
	}
	ktask_coop_made_progress(cx);
	*err = ktask_join_consume(cell, out);
	return KTASK_READY;
}
EXPORT_SYMBOL_GPL(ktask_join_poll);

/**
 * ktask_join_poll_cancel() - withdraw a task's pending poll-join
 * @h: the join handle the task poll-joined; still valid afterwards
 * @cx: the polling task's context
 *
 * For a task that gives up waiting (a timeout): its waker leaves the
 * joined task's join-waker slot, so that the joined task's completion
 * does not wake it.  Nothing happens if the task did not register, or if
 * the joined task completed meanwhile (its completion then wakes it once).
 *
 * Context: Inside a poll function, the one that called ktask_join_poll().
 */
void ktask_join_poll_cancel(struct ktask_handle *h, struct ktask_cx *cx)
{
	struct ktask_cell *cell;
	unsigned long waker;
	bool ok;

	if (WARN_ONCE(!cx, "ktask: join_poll_cancel without cx\n") ||
	    ktask_handle_check(h, "join_poll_cancel"))
		return;
	cell = ktask_handle_cell(h);
	if (!(ktask_state_load(&cell->state) & KTASK_JOIN_WAKER) ||
	    READ_ONCE(cell->join_waker) != (unsigned long)cx->cell)
		return;
	/* Take the slot back from the harness, as a re-registration does. */
	ktask_state_unset_join_waker(&cell->state, &ok);
	if (!ok)
		return;
	waker = cell->join_waker;
	WRITE_ONCE(cell->join_waker, 0);
	ktask_join_waker_drop(waker);
}
EXPORT_SYMBOL_GPL(ktask_join_poll_cancel);

/**
 * ktask_is_finished() - whether a task has completed
 * @h: the join handle
 *
 * Context: Any context.
 * Return: true once the task has completed or been cancelled, so that
 * ktask_join() would not sleep; false otherwise and for an invalid handle.
 */
bool ktask_is_finished(struct ktask_handle *h)
{
	if (IS_ERR_OR_NULL(h) || ktask_handle_gone(h, "is_finished"))
		return false;
	/*
	 * Acquire, as Tokio's: a caller that sees the task finished sees
	 * what the task and its drop wrote before it completed.  Pairs with
	 * the fully ordered RMW that set COMPLETE.
	 */
	return atomic_long_read_acquire(&ktask_handle_cell(h)->state) &
	       KTASK_COMPLETE;
}
EXPORT_SYMBOL_GPL(ktask_is_finished);

/**
 * ktask_detach() - let a task run on without a join handle
 * @h: the join handle, consumed; NULL or an ERR_PTR is ignored
 *
 * The task keeps running; its output, if any, is dropped with
 * @ops->drop_output.
 *
 * Context: Any context, hardirq included.
 */
void ktask_detach(struct ktask_handle *h)
{
	struct ktask_cell *cell;

	if (IS_ERR_OR_NULL(h) || ktask_handle_check(h, "detach"))
		return;
	cell = ktask_handle_cell(h);
	if (ktask_state_drop_join_handle_fast(&cell->state))
		return;
	ktask_drop_join_handle_slow(cell);
}
EXPORT_SYMBOL_GPL(ktask_detach);

static void ktask_cell_abort(struct ktask_cell *cell)
{
	/* Keeps the runtime alive until the push is done; see runtime.h. */
	ktask_rt_read_lock();
	if (ktask_state_notify_and_cancel(&cell->state))
		ktask_schedule(cell);
	ktask_rt_read_unlock();
}

/**
 * ktask_abort() - cancel a task
 * @h: the join handle; still valid afterwards
 *
 * A task that has not completed is cancelled: if it is not being polled it
 * never runs again, otherwise it is cancelled when its poll returns
 * KTASK_PENDING.  Its @ops->drop runs on a worker, and ktask_join() then
 * returns -ECANCELED.  A completed task is not affected.
 *
 * Context: Any context, hardirq included.
 */
void ktask_abort(struct ktask_handle *h)
{
	if (WARN_ONCE(IS_ERR_OR_NULL(h), "ktask: abort of an invalid handle\n"))
		return;
	if (ktask_handle_check(h, "abort"))
		return;
	ktask_cell_abort(ktask_handle_cell(h));
}
EXPORT_SYMBOL_GPL(ktask_abort);

/**
 * ktask_abort_handle() - get a handle that can only abort the task
 * @h: the join handle; still valid afterwards
 *
 * Context: Any context.
 * Return: an abort handle, to be released with ktask_abort_handle_put(),
 * or ERR_PTR(-EINVAL) for an invalid handle.
 */
struct ktask_abort_handle *ktask_abort_handle(struct ktask_handle *h)
{
	if (ktask_handle_check(h, "abort_handle"))
		return ERR_PTR(-EINVAL);
	ktask_state_ref_inc(&ktask_handle_cell(h)->state);
	return (struct ktask_abort_handle *)h;
}
EXPORT_SYMBOL_GPL(ktask_abort_handle);

/**
 * ktask_abort_handle_abort() - cancel a task through an abort handle
 * @ah: the abort handle; still valid afterwards
 *
 * Context: Any context, hardirq included.
 */
void ktask_abort_handle_abort(struct ktask_abort_handle *ah)
{
	if (WARN_ONCE(IS_ERR_OR_NULL(ah), "ktask: abort of an invalid handle\n"))
		return;
	if (ktask_handle_gone(ah, "abort"))
		return;
	ktask_cell_abort(ktask_handle_cell(ah));
}
EXPORT_SYMBOL_GPL(ktask_abort_handle_abort);

/**
 * ktask_abort_handle_put() - release an abort handle
 * @ah: the abort handle; NULL or an ERR_PTR is ignored
 *
 * Context: Any context, hardirq included.
 */
void ktask_abort_handle_put(struct ktask_abort_handle *ah)
{
	if (IS_ERR_OR_NULL(ah) || ktask_handle_gone(ah, "abort handle put"))
		return;
	ktask_drop_reference(ktask_handle_cell(ah));
}
EXPORT_SYMBOL_GPL(ktask_abort_handle_put);

/**
 * ktask_id() - a task's id
 * @h: the join handle
 *
 * Context: Any context.
 * Return: the task's id, unique for the life of the module and never 0;
 * 0 for an invalid handle.
 */
u64 ktask_id(const struct ktask_handle *h)
{
	if (IS_ERR_OR_NULL(h) || ktask_handle_gone(h, "id"))
		return 0;
	return ktask_handle_cell(h)->id;
}
EXPORT_SYMBOL_GPL(ktask_id);
