/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktask state word: flag bits, reference count and the transitions.
 *
 * This file and state.c use only atomic_long_*, WARN_ONCE() and a few
 * helpers, so that the userspace model checker can compile them unchanged
 * with its own definitions of those (selftests/ktask/model_compat.h; the
 * checker is selftests/ktask/ktask_state_model.c).
 */
#ifndef _KTASK_STATE_H
#define _KTASK_STATE_H

#ifdef __KERNEL__
#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/bug.h>
#include <linux/compiler.h>
#include <linux/types.h>
#else
#include "model_compat.h"
#endif

/* The task is being polled or cancelled; whoever set it owns the core. */
#define KTASK_RUNNING		BIT(0)
/* The task finished (output or cancellation stored); terminal. */
#define KTASK_COMPLETE		BIT(1)
/* The task is, or is about to be, on a run queue (one reference). */
#define KTASK_NOTIFIED		BIT(2)
/* A join handle exists. */
#define KTASK_JOIN_INTEREST	BIT(3)
/* The join waker slot is set and belongs to the harness. */
#define KTASK_JOIN_WAKER	BIT(4)
/* The task was aborted or shut down. */
#define KTASK_CANCELLED		BIT(5)

#define KTASK_STATE_MASK	0x3fUL
#define KTASK_LIFECYCLE_MASK	(KTASK_RUNNING | KTASK_COMPLETE)
#define KTASK_REF_SHIFT		6
#define KTASK_REF_ONE		BIT(KTASK_REF_SHIFT)
#define KTASK_REF_BITS		(BITS_PER_LONG - KTASK_REF_SHIFT)
/* An increment from this count or above is an overflow. */
#define KTASK_REF_MAX		(1UL << (KTASK_REF_BITS - 1))
/* A count that has overflowed or underflowed is parked here: leaked. */
#define KTASK_REF_SATURATED	(1UL << (KTASK_REF_BITS - 2))

/*
 * Three references to start with: the owned list's, the first
 * notification's and the join handle's.
 */
#define KTASK_INITIAL_STATE						\
	(3 * KTASK_REF_ONE | KTASK_JOIN_INTEREST | KTASK_NOTIFIED)

/*
 * A task without a join handle: the initial state with the handle
 * dropped before anything else happened (what the fast detach leaves
 * when it finds the initial state).
 */
#define KTASK_DETACHED_STATE						\
	((KTASK_INITIAL_STATE - KTASK_REF_ONE) & ~KTASK_JOIN_INTEREST)

static inline unsigned long ktask_refs(unsigned long state)
{
	return state >> KTASK_REF_SHIFT;
}

static inline bool ktask_state_idle(unsigned long state)
{
	return !(state & KTASK_LIFECYCLE_MASK);
}

enum ktask_run_action {
	KTASK_RUN_SUCCESS,	/* poll the task */
	KTASK_RUN_CANCELLED,	/* cancel the task, it was aborted */
	KTASK_RUN_FAILED,	/* not idle: the notification is gone */
	KTASK_RUN_DEALLOC,	/* as FAILED, and that was the last ref */
};

enum ktask_idle_action {
	KTASK_IDLE_OK,		/* parked; the poll's reference dropped */
	KTASK_IDLE_OK_NOTIFIED,	/* woken while running: requeue it */
	KTASK_IDLE_OK_DEALLOC,	/* parked, and that was the last ref */
	KTASK_IDLE_CANCELLED,	/* still RUNNING: cancel it */
};

enum ktask_notify_action {
	KTASK_NOTIFY_NOTHING,	/* nothing for the caller to do */
	KTASK_NOTIFY_SUBMIT,	/* push it on a run queue (ref transferred) */
	KTASK_NOTIFY_DEALLOC,	/* the caller dropped the last ref */
};

/* What the join handle must clean up when it goes away. */
struct ktask_handle_drop {
	bool drop_waker;
	bool drop_output;
	/*
	 * The handle held the only reference (of a complete task): the
	 * state was stored as it ends, and the caller frees the cell instead
	 * of dropping its reference.
	 */
	bool last;
};

bool ktask_state_to_running_help(atomic_long_t *s);
unsigned long ktask_state_to_complete(atomic_long_t *s);
bool ktask_state_to_terminal(atomic_long_t *s, unsigned int count);
bool ktask_state_notify_and_cancel(atomic_long_t *s);
bool ktask_state_to_shutdown(atomic_long_t *s);
struct ktask_handle_drop ktask_state_join_handle_dropped(atomic_long_t *s);
unsigned long ktask_state_set_join_waker(atomic_long_t *s, bool *ok);
unsigned long ktask_state_unset_join_waker(atomic_long_t *s, bool *ok);
unsigned long ktask_state_unset_waker_after_complete(atomic_long_t *s);
void ktask_state_ref_inc(atomic_long_t *s);
bool ktask_state_ref_dec(atomic_long_t *s);

static inline unsigned long ktask_state_load(const atomic_long_t *s)
{
	return (unsigned long)atomic_long_read(s);
}

void ktask_state_saturate(atomic_long_t *s, const char *why);

static inline void ktask_state_init(atomic_long_t *s)
{
	atomic_long_set(s, KTASK_INITIAL_STATE);
}

/* A task spawned detached: no join handle, one atomic less than a detach. */
static inline void ktask_state_init_detached(atomic_long_t *s)
{
	atomic_long_set(s, KTASK_DETACHED_STATE);
}

/* Inline in ktask_detach(): the spawn-and-detach path, as below. */
static inline bool ktask_state_drop_join_handle_fast(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	unsigned long c;

	do {
		c = cur;
		/*
		 * Complete (an output to drop), a join waker to take back, a
		 * handle already gone (the slow path WARNs), or the last
		 * reference: the slow path.  Otherwise the task is not
		 * complete, so the owned list or a poll holds a reference
		 * besides ours, and we need not look at the cell again.
		 */
		if ((c & (KTASK_COMPLETE | KTASK_JOIN_WAKER)) ||
		    !(c & KTASK_JOIN_INTEREST) || ktask_refs(c) < 2)
			return false;
	} while (!atomic_long_try_cmpxchg(s, &cur,
					  (long)((c & ~KTASK_JOIN_INTEREST) -
						 KTASK_REF_ONE)));
	return true;
}

/*
 * The transitions of every poll and wake, inline in the harness and the
 * waker: a call and a return thunk each cost as much as their cmpxchg
 * under these kernels' mitigations.  state.c's table describes them.
 */
static inline enum ktask_run_action ktask_state_to_running(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	enum ktask_run_action action;
	unsigned long next;

	do {
		unsigned long c = cur;

		if (ktask_state_idle(c)) {
			WARN_ONCE(!(c & KTASK_NOTIFIED),
				  "ktask: polled without a notification\n");
			next = (c | KTASK_RUNNING) & ~KTASK_NOTIFIED;
			action = (c & KTASK_CANCELLED) ? KTASK_RUN_CANCELLED :
							 KTASK_RUN_SUCCESS;
		} else {
			if (ktask_refs(c) == 0) {
				ktask_state_saturate(s, "underflow");
				return KTASK_RUN_FAILED;
			}
			next = c - KTASK_REF_ONE;
			action = ktask_refs(next) ? KTASK_RUN_FAILED :
						    KTASK_RUN_DEALLOC;
		}
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return action;
}

static inline enum ktask_idle_action ktask_state_to_idle(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	enum ktask_idle_action action;
	unsigned long next;

	do {
		unsigned long c = cur;

		WARN_ONCE(!(c & KTASK_RUNNING), "ktask: idle while not running\n");
		if (c & KTASK_CANCELLED) {
			/*
			 * Seen in a plain read or a failed cmpxchg, neither of
			 * which orders: the drop that runs next must see what
			 * the aborter wrote before its (fully ordered) RMW
			 * that set CANCELLED.
			 */
			smp_acquire__after_ctrl_dep();
			return KTASK_IDLE_CANCELLED;
		}

		next = c & ~KTASK_RUNNING;
		if (next & KTASK_NOTIFIED) {
			action = KTASK_IDLE_OK_NOTIFIED;
		} else {
			next -= KTASK_REF_ONE;
			action = ktask_refs(next) ? KTASK_IDLE_OK :
						    KTASK_IDLE_OK_DEALLOC;
		}
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return action;
}

static inline enum ktask_notify_action ktask_state_notify_by_val(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	enum ktask_notify_action action;
	unsigned long next;

	do {
		unsigned long c = cur;

		if (unlikely(ktask_refs(c) == 0)) {
			ktask_state_saturate(s, "underflow");
			return KTASK_NOTIFY_NOTHING;
		}
		if (c & KTASK_RUNNING) {
			/* The poller still holds a reference: never zero. */
			next = (c | KTASK_NOTIFIED) - KTASK_REF_ONE;
			action = KTASK_NOTIFY_NOTHING;
		} else if (c & (KTASK_COMPLETE | KTASK_NOTIFIED)) {
			next = c - KTASK_REF_ONE;
			action = ktask_refs(next) ? KTASK_NOTIFY_NOTHING :
						    KTASK_NOTIFY_DEALLOC;
		} else {
			next = c | KTASK_NOTIFIED;
			action = KTASK_NOTIFY_SUBMIT;
		}
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return action;
}

static inline enum ktask_notify_action ktask_state_notify_by_ref(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	enum ktask_notify_action action;
	unsigned long next;

	do {
		unsigned long c = cur;

		if (c & KTASK_COMPLETE)
			return KTASK_NOTIFY_NOTHING;
		if (c & (KTASK_NOTIFIED | KTASK_RUNNING)) {
			next = c | KTASK_NOTIFIED;
			action = KTASK_NOTIFY_NOTHING;
		} else {
			if (unlikely(ktask_refs(c) >= KTASK_REF_MAX)) {
				ktask_state_saturate(s, "overflow");
				return KTASK_NOTIFY_NOTHING;
			}
			next = (c | KTASK_NOTIFIED) + KTASK_REF_ONE;
			action = KTASK_NOTIFY_SUBMIT;
		}
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return action;
}

#endif /* _KTASK_STATE_H */
