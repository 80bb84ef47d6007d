// SPDX-License-Identifier: GPL-2.0
/*
 * ktask state word transitions.
 *
 * The state of a task is one atomic_long_t: six flag bits and, above them,
 * the reference count.  The protocol is the one of Tokio's
 * runtime/task/state.rs.  Every transition is one atomic read-modify-write
 * or a cmpxchg loop, and returns what the caller must do next.
 *
 * Flags: R = RUNNING, C = COMPLETE, N = NOTIFIED, J = JOIN_INTEREST,
 * W = JOIN_WAKER, X = CANCELLED.  "refs" is the reference count.
 *
 * Lifecycle (R and C):
 *
 *   idle       R=0 C=0  -> {running (to_running, to_shutdown)}
 *   running    R=1 C=0  -> {idle (to_idle), complete (to_complete)}
 *   complete   R=0 C=1  -> {}              terminal: nobody polls it again
 *
 * Transitions (who calls them, what changes, what the caller does next):
 *
 *   to_running        worker, holding a notification reference
 *       idle:         R=1 N=0; SUCCESS, or CANCELLED if X
 *       not idle:     refs-1;  FAILED, or DEALLOC at zero
 *   to_running_help   joiner of a run-to-completion task, holding the
 *                     join handle (see ktask_harness_help())
 *       idle, N=1, X=0: R=1 refs+1, N stays 1: the queued notification
 *                     keeps its reference and its run-queue link, and its
 *                     to_running later finds the task not idle and drops
 *                     them; a wake meanwhile sees R=1, later C=1, and never
 *                     queues the task a second time.  Only for tasks that
 *                     complete on their first poll: one that went idle
 *                     again with N=1 would be queued twice; true
 *       otherwise:    no change; false (the joiner waits)
 *   to_idle           poller, after a PENDING poll
 *       X:            no change; CANCELLED (the poller cancels the task)
 *       N=0:          R=0 refs-1; OK, or OK_DEALLOC at zero
 *       N=1:          R=0; OK_NOTIFIED (the poll's reference now belongs
 *                     to the new notification: requeue the task)
 *   to_complete       poller: R=0 C=1 (one xor)
 *   to_terminal(n)    poller, after complete: refs-n; dealloc at zero
 *   notify_by_val     waker, consuming its reference
 *       running:      N=1 refs-1
 *       complete|N:   refs-1; DEALLOC at zero
 *       idle, N=0:    N=1, reference moves to the notification; SUBMIT
 *   notify_by_ref     waker, keeping its reference
 *       complete:     no change
 *       N:            cmpxchg of the same value (orders the wake)
 *       running:      N=1
 *       idle, N=0:    N=1 refs+1; SUBMIT
 *   notify_and_cancel abort
 *       C or X:       no change
 *       running:      N=1 X=1 (the poller will cancel)
 *       idle, N=1:    X=1 (the queued notification will cancel)
 *       idle, N=0:    N=1 X=1 refs+1; submit so a worker cancels it
 *   to_shutdown       runtime destroy: X=1, and R=1 if idle (then the
 *                     caller owns the core and cancels it)
 *   drop_join_handle_fast
 *                     join handle dropped without its output or waker
 *       C=0 W=0 J=1 refs>1: J=0 refs-1, one cmpxchg; true
 *       otherwise:    no change; false (join_handle_dropped, then ref_dec)
 *   join_handle_dropped
 *       C=1 J=1 W=0 refs=1: J=0 refs=0 with a plain store (nobody else
 *                     can look); last: the caller frees the cell without
 *                     a ref_dec; drop_output, drop_waker
 *       otherwise:    J=0; if C=0 also W=0 (the handle takes the waker
 *                     back); drop_output if C=1; drop_waker if W ends up 0
 *   set_join_waker    join handle, W=0: W=1 unless C (then fails)
 *   unset_join_waker  join handle, W=1: W=0 unless C (then fails)
 *   unset_waker_after_complete
 *                     harness, after waking the joiner: W=0
 *   ref_inc / ref_dec refs+1 / refs-1
 *
 * Invariants: J=0 implies W=0.  While W=1 only the harness touches the join
 * waker slot; while W=0 only the join handle does.  C=1 implies R=0 and is
 * never cleared.
 *
 * Reference counting has refcount_t semantics: increments are relaxed,
 * decrements release, and the one that reaches zero acquires.  An increment
 * past KTASK_REF_MAX or a decrement from zero WARNs once and parks the
 * count at KTASK_REF_SATURATED, turning a use-after-free into a leak.
 *
 * Ordering of the flag transitions: every successful RMW here is fully
 * ordered, so what a waker wrote before a wake is visible to the poll that
 * the wake causes, and what a poll wrote before completing is visible to
 * the joiner that observes COMPLETE.  A failed cmpxchg and a plain read
 * order nothing: a transition that acts on a state it only read (to_idle's
 * CANCELLED outcome) adds an acquire, and so do the callers that act on
 * COMPLETE seen that way (join.c).
 *
 * N=1 means exactly one notification reference exists, except while R=1:
 * a wake of a running task sets N without a reference of its own (the
 * poll's reference becomes the notification's at to_idle), and a helping
 * joiner's claim leaves the queued notification's N set.
 */
#include "state.h"

/* Park the reference count at KTASK_REF_SATURATED, keeping the flags. */
void ktask_state_saturate(atomic_long_t *s, const char *why)
{
	long cur = atomic_long_read(s);
	unsigned long next;

	WARN_ONCE(1, "ktask: state refcount %s; leaking the task\n", why);
	do {
		next = ((unsigned long)cur & KTASK_STATE_MASK) |
		       (KTASK_REF_SATURATED << KTASK_REF_SHIFT);
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));
}

bool ktask_state_to_running_help(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	unsigned long next;

	do {
		unsigned long c = cur;

		if (!ktask_state_idle(c) || !(c & KTASK_NOTIFIED) ||
		    (c & KTASK_CANCELLED))
			return false;
		if (unlikely(ktask_refs(c) >= KTASK_REF_MAX)) {
			ktask_state_saturate(s, "overflow");
			return false;
		}
		next = (c | KTASK_RUNNING) + KTASK_REF_ONE;
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return true;
}

unsigned long ktask_state_to_complete(atomic_long_t *s)
{
	const unsigned long delta = KTASK_RUNNING | KTASK_COMPLETE;
	unsigned long prev = atomic_long_fetch_xor(delta, s);

	WARN_ONCE((prev & delta) != KTASK_RUNNING,
		  "ktask: completed a task that was not running\n");
	return prev ^ delta;
}

/* Drop @count references; true when they were the last ones. */
static bool ktask_state_sub_refs(atomic_long_t *s, unsigned long count)
{
	unsigned long prev;

	prev = atomic_long_fetch_sub_release(count * KTASK_REF_ONE, s);
	if (unlikely(ktask_refs(prev) < count)) {
		ktask_state_saturate(s, "underflow");
		return false;
	}
	if (unlikely(ktask_refs(prev) >= KTASK_REF_SATURATED / 2)) {
		/* Saturated earlier (or about to wrap): stay leaked. */
		if (ktask_refs(prev) >= KTASK_REF_MAX)
			ktask_state_saturate(s, "overflow");
		return false;
	}
	if (ktask_refs(prev) == count) {
		/* Pairs with the release of every other reference's drop. */
		smp_acquire__after_ctrl_dep();
		return true;
	}
	return false;
}

bool ktask_state_to_terminal(atomic_long_t *s, unsigned int count)
{
	return ktask_state_sub_refs(s, count);
}

void ktask_state_ref_inc(atomic_long_t *s)
{
	/*
	 * Relaxed, as refcount_inc(): a new reference is made from an
	 * existing one, which keeps the cell alive across the increment.
	 */
	unsigned long prev = atomic_long_fetch_add_relaxed(KTASK_REF_ONE, s);

	if (unlikely(ktask_refs(prev) >= KTASK_REF_MAX || ktask_refs(prev) == 0))
		ktask_state_saturate(s, ktask_refs(prev) ? "overflow" :
				     "increment on zero");
}

bool ktask_state_ref_dec(atomic_long_t *s)
{
	return ktask_state_sub_refs(s, 1);
}

bool ktask_state_notify_and_cancel(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	unsigned long next;
	bool submit;

	do {
		unsigned long c = cur;

		if (c & (KTASK_CANCELLED | KTASK_COMPLETE))
			return false;
		submit = false;
		if (c & KTASK_RUNNING) {
			next = c | KTASK_NOTIFIED | KTASK_CANCELLED;
		} else if (c & KTASK_NOTIFIED) {
			next = c | KTASK_CANCELLED;
		} else {
			if (unlikely(ktask_refs(c) >= KTASK_REF_MAX)) {
				ktask_state_saturate(s, "overflow");
				return false;
			}
			next = (c | KTASK_NOTIFIED | KTASK_CANCELLED) +
			       KTASK_REF_ONE;
			submit = true;
		}
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return submit;
}

bool ktask_state_to_shutdown(atomic_long_t *s)
{
	long cur = atomic_long_read(s);
	unsigned long next;

	do {
		next = (unsigned long)cur | KTASK_CANCELLED;
		if (ktask_state_idle(cur))
			next |= KTASK_RUNNING;
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return ktask_state_idle(cur);
}

struct ktask_handle_drop ktask_state_join_handle_dropped(atomic_long_t *s)
{
	/*
	 * The acquire pairs with the release of every other reference's
	 * drop (ktask_state_sub_refs()), as the final decrement's acquire
	 * would: what their holders did to the cell happened before we free
	 * it.
	 */
	long cur = atomic_long_read_acquire(s);
	struct ktask_handle_drop drop = { .last = false };
	unsigned long next;

	/*
	 * A complete task whose only reference is the handle's: no other
	 * holder is left to see the state (a new reference is only made from
	 * an existing one), so the handle needs no atomic to go, as
	 * skb_unref() with one user.  The two RMWs this saves are most of
	 * the cost of joining a task that completed long ago.
	 */
	if (((unsigned long)cur & ~KTASK_CANCELLED) ==
	    (KTASK_REF_ONE | KTASK_COMPLETE | KTASK_JOIN_INTEREST)) {
		/*
		 * The state a freed cell keeps, no reference and no handle,
		 * with a plain store: a join or detach through this handle
		 * again, while the cell waits in a cache, is then refused as
		 * a consumed handle's, not a second free.
		 */
		atomic_long_set(s, (long)(((unsigned long)cur &
					  ~KTASK_JOIN_INTEREST) - KTASK_REF_ONE));
		drop.drop_output = true;
		drop.drop_waker = true;
		drop.last = true;
		return drop;
	}
	do {
		unsigned long c = cur;

		WARN_ONCE(!(c & KTASK_JOIN_INTEREST),
			  "ktask: join handle dropped twice\n");
		drop.drop_output = false;
		next = c & ~KTASK_JOIN_INTEREST;
		if (next & KTASK_COMPLETE)
			drop.drop_output = true;
		else
			next &= ~KTASK_JOIN_WAKER;
		drop.drop_waker = !(next & KTASK_JOIN_WAKER);
	} while (!atomic_long_try_cmpxchg(s, &cur, (long)next));

	return drop;
}

unsigned long ktask_state_set_join_waker(atomic_long_t *s, bool *ok)
{
	long cur = atomic_long_read(s);

	do {
		WARN_ONCE(!(cur & KTASK_JOIN_INTEREST) || (cur & KTASK_JOIN_WAKER),
			  "ktask: join waker set out of protocol\n");
		*ok = !(cur & KTASK_COMPLETE);
		if (!*ok)
			return cur;
	} while (!atomic_long_try_cmpxchg(s, &cur, cur | KTASK_JOIN_WAKER));

	return (unsigned long)cur | KTASK_JOIN_WAKER;
}

unsigned long ktask_state_unset_join_waker(atomic_long_t *s, bool *ok)
{
	long cur = atomic_long_read(s);

	do {
		WARN_ONCE(!(cur & KTASK_JOIN_INTEREST),
			  "ktask: join waker unset without a join handle\n");
		/* Once complete, the harness may have cleared it already. */
		*ok = !(cur & KTASK_COMPLETE);
		if (!*ok)
			return cur;
		WARN_ONCE(!(cur & KTASK_JOIN_WAKER),
			  "ktask: join waker unset out of protocol\n");
	} while (!atomic_long_try_cmpxchg(s, &cur, cur & ~KTASK_JOIN_WAKER));

	return (unsigned long)cur & ~KTASK_JOIN_WAKER;
}

unsigned long ktask_state_unset_waker_after_complete(atomic_long_t *s)
{
	unsigned long prev = atomic_long_fetch_andnot(KTASK_JOIN_WAKER, s);

	WARN_ONCE(!(prev & KTASK_COMPLETE) || !(prev & KTASK_JOIN_WAKER),
		  "ktask: join waker released out of protocol\n");
	return prev & ~KTASK_JOIN_WAKER;
}
