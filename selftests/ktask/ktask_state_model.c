// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_state_model: every interleaving of the task protocol, checked.
 *
 * The transitions of ktask/state.c, compiled from the same source, are
 * driven by a small model of the harness (harness.c), the join handle
 * (join.c), wakers (waker.c) and runtime shutdown (owned.c), split into
 * atomic steps: one state transition, or one action on the cell that the
 * protocol gives to a single owner.  A depth-first search runs every
 * interleaving of the steps of these actors:
 *
 *   worker     one or two; pops a queued notification and polls the task,
 *              which returns READY, PENDING, or PENDING after waking itself
 *   waker      wake by value, or wake by reference then drop
 *   abort      abort through an abort handle, then put it
 *   detach     the join handle is dropped (as the last reference of a
 *              complete task it frees the cell without an atomic: then
 *              nobody else may hold, queue or own the task)
 *   join       the join handle registers a waker, sleeps until woken or
 *              complete, takes the output
 *   shutdown   runtime destroy takes the task off the owned list and
 *              shuts it down
 *   join_drop  the join handle registers a task's waker (ktask_join_poll()),
 *              then is detached (that task was cancelled)
 *   join_timeout  the join handle registers a thread waker, times out and
 *              takes it back (ktask_join_timeout()), then is dropped or, if
 *              the task completed meanwhile, consumed
 *   help_join  the join handle of a run-to-completion task, before it
 *              sleeps (before or after registering its waker), claims a
 *              queued, never polled task with to_running_help, runs it and
 *              completes it with its own reference, then takes the output;
 *              if the claim fails, it joins as join does.  In these sets
 *              every poll returns READY, as a fn task's does
 *
 * over every set of two and three actors, and checks after every step
 * that no transition WARNed (refcount under- or overflow, a protocol
 * violation), that nothing touches the cell after it was freed, that the
 * core has one owner at most (whoever set RUNNING, until it moves the task
 * to idle or complete), that a task is never polled twice at once, polled
 * again without a wake, or run after an abort that found it idle, that a
 * queued notification has NOTIFIED set and is the only one, and that the
 * body, the output and the cell are released at most once;
 * and at every end state that the cell was freed exactly when the last
 * reference went, the body dropped exactly once if the task finished, the
 * output taken or dropped exactly once, no wake or abort was lost, no join
 * waker leaked, and no joiner sleeps on a finished task.
 *
 * One TAP result per actor set.  Any violation prints the trace leading
 * to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest.h"
#include "state.h"

int model_warnings;

enum actor_kind {
	A_WORKER,
	A_WAKE_VAL,
	A_WAKE_REF,
	A_ABORT,
	A_DETACH,
	A_JOIN,
	A_SHUTDOWN,
	A_JOIN_DROP,
	A_JOIN_TIMEOUT,
	A_HELP_JOIN,
};

static const char * const kind_name[] = {
	"worker", "wake_val", "wake_ref", "abort", "detach", "join", "shutdown",
	"join_drop", "join_timeout", "help_join",
};

/* What the cell's core holds (R in cell.h). */
enum stage { ST_RUNNING, ST_FINISHED, ST_FAILED, ST_CONSUMED };

/* Join-waker slot contents: nothing, a sleeping thread, a task's waker. */
enum slot { SLOT_EMPTY, SLOT_THREAD, SLOT_TASK };

#define MAX_ACTORS	5
#define MAX_POLLS	3
#define MAX_DEPTH	128

/*
 * The whole world: the state word, the ghost state of the cell and every
 * actor's program counter and locals.  Compared and hashed as bytes, so
 * keep it free of padding surprises by zeroing before use.
 */
struct world {
	long state;
	unsigned char queued;		/* notifications on the run queue */
	unsigned char stage;
	unsigned char slot;
	unsigned char owned;		/* on the owned list */
	unsigned char freed;
	unsigned char body_drops;
	unsigned char output_takes;	/* read by a joiner or dropped */
	unsigned char polls;
	unsigned char in_poll;		/* polls running now */
	unsigned char wake_pending;	/* woken since the last poll began */
	unsigned char join_woken;
	unsigned char owners;		/* owners of the core (RUNNING) */
	unsigned char abort_idle;	/* an abort found the task idle */
	struct actor {
		unsigned char kind;
		unsigned char pc;
		unsigned char refs;	/* references the actor holds */
		unsigned char a, b;	/* locals */
	} actor[MAX_ACTORS];
};

static int nr_actors;
/* A run-to-completion (fn) task: its one poll returns READY. */
static bool fn_task;
static const char *failure;
static struct world trace[MAX_DEPTH];
static int depth;

/* ---- visited set: open addressing over world bytes ---- */

static struct world *seen;
static unsigned char *used;
static size_t seen_size, seen_count;

static size_t world_hash(const struct world *w)
{
	const unsigned char *p = (const unsigned char *)w;
	size_t h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < sizeof(*w); i++)
		h = (h ^ p[i]) * 1099511628211ULL;
	return h;
}

static void seen_reset(void)
{
	free(seen);
	free(used);
	seen_size = 1 << 16;
	seen_count = 0;
	seen = calloc(seen_size, sizeof(*seen));
	used = calloc(seen_size, 1);
	if (!seen || !used)
		ksft_exit_fail_msg("out of memory\n");
}

static bool seen_insert(const struct world *w);

static void seen_grow(void)
{
	struct world *old = seen;
	unsigned char *old_used = used;
	size_t i, n = seen_size;

	seen_size *= 2;
	seen_count = 0;
	seen = calloc(seen_size, sizeof(*seen));
	used = calloc(seen_size, 1);
	if (!seen || !used)
		ksft_exit_fail_msg("out of memory\n");
	for (i = 0; i < n; i++)
		if (old_used[i])
			seen_insert(&old[i]);
	free(old);
	free(old_used);
}

/* Return: true if @w was new. */
static bool seen_insert(const struct world *w)
{
	size_t i;

	if (seen_count * 2 >= seen_size)
		seen_grow();
	for (i = world_hash(w) & (seen_size - 1); used[i];
	     i = (i + 1) & (seen_size - 1))
		if (!memcmp(&seen[i], w, sizeof(*w)))
			return false;
	used[i] = 1;
	seen[i] = *w;
	seen_count++;
	return true;
}

/* ---- the cell, as the steps see it ---- */

static atomic_long_t *sw(struct world *w)
{
	return (atomic_long_t *)&w->state;
}

/* Record the first violation; exploration stops there. */
static void fail(const char *msg)
{
	if (!failure)
		failure = msg;
}

static void touch(struct world *w)
{
	if (w->freed)
		fail("use after free");
}

static void dealloc(struct world *w)
{
	if (w->freed) {
		fail("double free");
		return;
	}
	w->freed = 1;
}

static void drop_ref(struct world *w)
{
	touch(w);
	if (ktask_state_ref_dec(sw(w)))
		dealloc(w);
}

static void drop_body(struct world *w)
{
	if (++w->body_drops > 1) {
		fail("body dropped twice");
		return;
	}
}

static void take_output(struct world *w)
{
	if (w->stage == ST_CONSUMED) {
		fail("output taken twice");
		return;
	}
	w->stage = ST_CONSUMED;
	w->output_takes++;
}

/* A transition made the caller the owner of the core (set RUNNING). */
static void own_core(struct world *w)
{
	if (w->owners++)
		fail("two owners of the core at once");
}

/* The owner moved the task to idle or complete. */
static void release_core(struct world *w)
{
	if (!w->owners) {
		fail("core released by a non-owner");
		return;
	}
	w->owners--;
}

/* The owner of the core is about to poll the task (not cancel it). */
static void poll_begins(struct world *w)
{
	/* Only a wake makes a task that returned PENDING run again. */
	if (w->polls && !w->wake_pending)
		fail("polled again without a wake");
	if (w->abort_idle)
		fail("ran a task aborted while it was not running");
	w->wake_pending = 0;
}

/* The poll itself, returning READY: the body is done, the output stored. */
static void poll_ready(struct world *w)
{
	touch(w);
	if (w->in_poll++)
		fail("polled twice at once");
	w->polls++;
	drop_body(w);
	w->stage = ST_FINISHED;
	w->in_poll--;
}

/*
 * The completion path of harness.c, as steps of the actor at @a, whose pc
 * runs from 100: to_complete, [wake joiner, unset waker, drop waker],
 * release, terminal.  The caller owns the core and one of its references
 * goes in to_terminal: the poll's (worker, help_join) or the owned list's
 * (shutdown, which took the task off the list, so release finds nothing).
 */
static void complete_step(struct world *w, struct actor *a)
{
	unsigned long snap;
	bool released;

	touch(w);
	switch (a->pc) {
	case 100:
		snap = ktask_state_to_complete(sw(w));
		release_core(w);
		if (!(snap & KTASK_JOIN_INTEREST)) {
			if (w->stage != ST_CONSUMED)
				take_output(w);
			a->pc = 103;
		} else if (snap & KTASK_JOIN_WAKER) {
			a->pc = 101;
		} else {
			a->pc = 103;
		}
		return;
	case 101:
		if (w->slot == SLOT_EMPTY)
			fail("JOIN_WAKER set, slot empty");
		if (w->slot == SLOT_THREAD)
			w->join_woken = 1;
		a->pc = 102;
		return;
	case 102:
		snap = ktask_state_unset_waker_after_complete(sw(w));
		if (!(snap & KTASK_JOIN_INTEREST))
			w->slot = SLOT_EMPTY;	/* the harness drops it */
		a->pc = 103;
		return;
	case 103:
		released = w->owned;
		w->owned = 0;
		if (ktask_state_to_terminal(sw(w), released ? 2 : 1))
			dealloc(w);
		a->refs--;
		a->pc = 255;
		return;
	}
}

static void cancel_task(struct world *w)
{
	drop_body(w);
	w->stage = ST_FAILED;
}

/* ---- the actors ---- */

/*
 * worker: pc 0 idle; 1 got a notification; 2 polling (choice made in the
 * step); 3 after PENDING: to_idle; 100.. completing.
 */
static int worker_step(struct world *w, struct actor *a, int choice)
{
	switch (a->pc) {
	case 0:
		if (!w->queued || choice)
			return -1;
		w->queued--;
		a->refs = 1;
		a->pc = 1;
		return 0;
	case 1:
		touch(w);
		if (choice)
			return -1;
		switch (ktask_state_to_running(sw(w))) {
		case KTASK_RUN_SUCCESS:
			own_core(w);
			poll_begins(w);
			a->pc = 2;
			break;
		case KTASK_RUN_CANCELLED:
			own_core(w);
			cancel_task(w);
			a->pc = 100;
			break;
		case KTASK_RUN_FAILED:
			a->refs = 0;
			a->pc = 0;
			break;
		case KTASK_RUN_DEALLOC:
			a->refs = 0;
			dealloc(w);
			a->pc = 0;
			break;
		}
		return 0;
	case 2:
		/*
		 * The poll: READY, PENDING, or PENDING after a self-wake; a fn
		 * task's is READY.
		 */
		if (choice > 2 || (choice && (fn_task || w->polls >= MAX_POLLS)))
			return -1;
		if (choice == 0) {
			poll_ready(w);
			a->pc = 100;
			return 0;
		}
		if (w->in_poll++)
			fail("polled twice at once");
		w->polls++;
		if (choice == 2) {
			if (ktask_state_notify_by_ref(sw(w)) ==
			    KTASK_NOTIFY_SUBMIT)
				fail("self-wake submitted");
			w->wake_pending = 1;
		}
		w->in_poll--;
		a->pc = 3;
		return 0;
	case 3:
		touch(w);
		if (choice)
			return -1;
		switch (ktask_state_to_idle(sw(w))) {
		case KTASK_IDLE_OK:
			release_core(w);
			a->refs = 0;
			a->pc = 0;
			break;
		case KTASK_IDLE_OK_NOTIFIED:
			release_core(w);
			w->queued++;	/* our reference goes with it */
			a->refs = 0;
			a->pc = 0;
			break;
		case KTASK_IDLE_OK_DEALLOC:
			release_core(w);
			a->refs = 0;
			dealloc(w);
			a->pc = 0;
			break;
		case KTASK_IDLE_CANCELLED:
			cancel_task(w);
			a->pc = 100;
			break;
		}
		return 0;
	default:
		if (choice)
			return -1;
		complete_step(w, a);
		if (a->pc == 255)
			a->pc = 0;
		return 0;
	}
}

static int wake_val_step(struct world *w, struct actor *a, int choice)
{
	if (choice || a->pc)
		return -1;
	touch(w);
	switch (ktask_state_notify_by_val(sw(w))) {
	case KTASK_NOTIFY_SUBMIT:
		w->queued++;
		break;
	case KTASK_NOTIFY_DEALLOC:
		dealloc(w);
		break;
	case KTASK_NOTIFY_NOTHING:
		break;
	}
	w->wake_pending = 1;
	a->refs = 0;
	a->pc = 1;
	return 0;
}

static int wake_ref_step(struct world *w, struct actor *a, int choice)
{
	if (choice || a->pc > 1)
		return -1;
	if (a->pc == 0) {
		touch(w);
		if (ktask_state_notify_by_ref(sw(w)) == KTASK_NOTIFY_SUBMIT)
			w->queued++;
		w->wake_pending = 1;
	} else {
		drop_ref(w);
		a->refs = 0;
	}
	a->pc++;
	return 0;
}

static int abort_step(struct world *w, struct actor *a, int choice)
{
	if (choice || a->pc > 1)
		return -1;
	if (a->pc == 0) {
		touch(w);
		/* Not being polled: it must never run again (ktask_abort()). */
		if (ktask_state_idle(ktask_state_load(sw(w))))
			w->abort_idle = 1;
		if (ktask_state_notify_and_cancel(sw(w)))
			w->queued++;
	} else {
		drop_ref(w);
		a->refs = 0;
	}
	a->pc++;
	return 0;
}

/*
 * The join handle frees the cell without dropping its reference in the
 * state word, as the last holder: nobody else may hold one, queue it, own
 * its core or have it on the owned list.
 */
static void free_sole(struct world *w, struct actor *a)
{
	int i;

	for (i = 0; i < nr_actors; i++)
		if (&w->actor[i] != a && w->actor[i].refs)
			fail("join handle freed the cell alone, another actor holds a reference");
	if (w->queued || w->owned || w->owners)
		fail("join handle freed the cell alone, it is queued, owned or running");
	dealloc(w);
}

/* Drop the join handle (join.c's drop_join_handle_slow), one step. */
static void handle_drop(struct world *w, struct actor *a)
{
	struct ktask_handle_drop d;

	touch(w);
	d = ktask_state_join_handle_dropped(sw(w));
	if (d.drop_output && w->stage != ST_CONSUMED)
		take_output(w);
	if (d.drop_waker)
		w->slot = SLOT_EMPTY;
	if (d.last)
		free_sole(w, a);
	else
		drop_ref(w);
	a->refs = 0;
}

/* Drop the join handle as ktask_detach() does: the fast way if it can. */
static void handle_detach(struct world *w, struct actor *a)
{
	touch(w);
	if (ktask_state_drop_join_handle_fast(sw(w)))
		a->refs = 0;
	else
		handle_drop(w, a);
}

static int detach_step(struct world *w, struct actor *a, int choice)
{
	if (choice || a->pc)
		return -1;
	handle_detach(w, a);
	a->pc = 1;
	return 0;
}

/*
 * join: pc 0 look; 1 set the waker; 2 check and sleep (prepare_to_wait()
 * then the condition: atomic against the harness's wake, which comes after
 * COMPLETE); 5 asleep until woken; 3 take the output and drop the handle.
 */
static int join_step(struct world *w, struct actor *a, int choice)
{
	unsigned long snap;
	bool ok;

	if (choice)
		return -1;
	switch (a->pc) {
	case 0:
		touch(w);
		snap = ktask_state_load(sw(w));
		a->pc = (snap & KTASK_COMPLETE) ? 3 : 1;
		return 0;
	case 1:
		touch(w);
		w->slot = SLOT_THREAD;
		ktask_state_set_join_waker(sw(w), &ok);
		if (!ok)
			w->slot = SLOT_EMPTY;
		a->pc = ok ? 2 : 3;
		return 0;
	case 2:
		touch(w);
		a->pc = (ktask_state_load(sw(w)) & KTASK_COMPLETE) ? 3 : 5;
		return 0;
	case 5:
		if (!w->join_woken)
			return -1;
		a->pc = 3;
		return 0;
	case 3:
		touch(w);
		if (w->stage == ST_FINISHED || w->stage == ST_FAILED)
			take_output(w);
		else
			fail("joined without an output");
		handle_drop(w, a);
		a->pc = 4;
		return 0;
	}
	return -1;
}

/*
 * help_join: join as join does, but help a fn task before sleeping.  pc 0
 * look, and choose when to help: before registering the waker (@a->b 0)
 * or after it (@a->b 1); 6 to_running_help; 7 run the function; 100..
 * complete with the help's reference; 3 take the output and drop the
 * handle.  If the claim fails, on to join's 1 (register) or 2 (sleep).
 */
static int help_join_step(struct world *w, struct actor *a, int choice)
{
	int ret;

	if (choice > 1 || (choice && a->pc))
		return -1;
	switch (a->pc) {
	case 0:
		touch(w);
		if (ktask_state_load(sw(w)) & KTASK_COMPLETE) {
			if (choice)
				return -1;
			a->pc = 3;
			return 0;
		}
		a->b = choice;
		a->pc = choice ? 1 : 6;
		return 0;
	case 6:
		touch(w);
		if (!ktask_state_to_running_help(sw(w))) {
			a->pc = a->b ? 2 : 1;
			return 0;
		}
		own_core(w);
		poll_begins(w);
		a->refs++;		/* the help's reference */
		a->pc = 7;
		return 0;
	case 7:
		poll_ready(w);
		a->pc = 100;
		return 0;
	case 100 ... 103:
		complete_step(w, a);
		if (a->pc == 255)
			a->pc = 3;	/* consume the handle */
		return 0;
	}
	ret = join_step(w, a, choice);
	if (!ret && a->pc == 2 && a->b == 1)
		a->pc = 6;		/* registered: help before sleeping */
	return ret;
}

/* Register @slot in the join-waker slot; return: registered. */
static bool join_register(struct world *w, enum slot slot)
{
	bool ok;

	w->slot = slot;
	ktask_state_set_join_waker(sw(w), &ok);
	if (!ok)
		w->slot = SLOT_EMPTY;	/* complete: drop it ourselves */
	return ok;
}

static int join_drop_step(struct world *w, struct actor *a, int choice)
{
	if (choice || a->pc > 1)
		return -1;
	touch(w);
	if (a->pc == 0)
		join_register(w, SLOT_TASK);
	else
		handle_detach(w, a);	/* the joiner was cancelled */
	a->pc++;
	return 0;
}

/* join_timeout: pc 0 register; 1 time out: take the waker back; 2 done. */
static int join_timeout_step(struct world *w, struct actor *a, int choice)
{
	bool ok;

	if (choice || a->pc > 1)
		return -1;
	touch(w);
	if (a->pc == 0) {
		if (!join_register(w, SLOT_THREAD)) {
			/* Complete already: consume it. */
			take_output(w);
			handle_drop(w, a);
			a->pc = 2;
			return 0;
		}
		a->pc = 1;
		return 0;
	}
	ktask_state_unset_join_waker(sw(w), &ok);
	if (ok) {
		w->slot = SLOT_EMPTY;	/* -ETIMEDOUT; then the handle goes */
	} else {
		if (w->stage == ST_FINISHED || w->stage == ST_FAILED)
			take_output(w);
		else
			fail("joined without an output");
	}
	handle_detach(w, a);
	a->pc = 2;
	return 0;
}

/* shutdown: pc 0 pop from the owned list; 1 to_shutdown; 100.. complete. */
static int shutdown_step(struct world *w, struct actor *a, int choice)
{
	if (choice)
		return -1;
	switch (a->pc) {
	case 0:
		if (!w->owned) {
			a->pc = 255;	/* already released: nothing to do */
			return 0;
		}
		w->owned = 0;
		a->refs = 1;
		a->pc = 1;
		return 0;
	case 1:
		touch(w);
		if (ktask_state_to_shutdown(sw(w))) {
			own_core(w);
			cancel_task(w);
			a->pc = 100;
		} else {
			drop_ref(w);
			a->refs = 0;
			a->pc = 255;
		}
		return 0;
	case 255:
		return -1;
	default:
		complete_step(w, a);
		return 0;
	}
}

static int step(struct world *w, int i, int choice)
{
	struct actor *a = &w->actor[i];

	switch (a->kind) {
	case A_WORKER:
		return worker_step(w, a, choice);
	case A_WAKE_VAL:
		return wake_val_step(w, a, choice);
	case A_WAKE_REF:
		return wake_ref_step(w, a, choice);
	case A_ABORT:
		return abort_step(w, a, choice);
	case A_DETACH:
		return detach_step(w, a, choice);
	case A_JOIN:
		return join_step(w, a, choice);
	case A_SHUTDOWN:
		return shutdown_step(w, a, choice);
	case A_JOIN_DROP:
		return join_drop_step(w, a, choice);
	case A_JOIN_TIMEOUT:
		return join_timeout_step(w, a, choice);
	case A_HELP_JOIN:
		return help_join_step(w, a, choice);
	}
	return -1;
}

/* ---- checks ---- */

/*
 * After every step: a notification (queued, or popped and not yet run)
 * has NOTIFIED set and is the only one.
 */
static void check_step(const struct world *w)
{
	int i, held = w->queued;

	for (i = 0; i < nr_actors; i++)
		if (w->actor[i].kind == A_WORKER && w->actor[i].pc == 1)
			held++;
	if (held > 1)
		fail("two notifications at once");
	else if (held && !(w->state & KTASK_NOTIFIED))
		fail("a notification exists, NOTIFIED is clear");
}

/* The task of this run was spawned without a join handle. */
static bool born_detached;

static void check_end(const struct world *w)
{
	unsigned long s = (unsigned long)w->state;
	bool complete = s & KTASK_COMPLETE;
	bool handle_gone = born_detached, joiner_sleeps = false;
	int i, refs_held = 0;

	for (i = 0; i < nr_actors; i++) {
		const struct actor *a = &w->actor[i];

		if ((a->kind == A_JOIN || a->kind == A_HELP_JOIN) &&
		    a->pc == 5) {
			joiner_sleeps = true;
			continue;	/* parked on a task nobody wakes */
		}
		refs_held += a->refs;
		/* Without a handle actor, the join handle is never dropped. */
		if ((a->kind == A_JOIN && a->pc == 4) ||
		    (a->kind == A_HELP_JOIN && a->pc == 4) ||
		    (a->kind == A_DETACH && a->pc == 1) ||
		    (a->kind == A_JOIN_DROP && a->pc == 2) ||
		    (a->kind == A_JOIN_TIMEOUT && a->pc == 2))
			handle_gone = true;
	}
	if (joiner_sleeps && complete) {
		fail("joiner sleeps on a complete task");
		return;
	}
	if (w->queued) {
		fail("end state with a queued notification");
		return;
	}
	if (refs_held) {
		fail("end state with an actor holding a reference");
		return;
	}
	if (!complete) {
		if (s & KTASK_CANCELLED) {
			fail("lost abort: cancelled, never completed");
			return;
		}
		if (w->wake_pending) {
			fail("lost wake: woken after its last poll, never polled");
			return;
		}
		if (w->freed) {
			fail("freed before it completed");
			return;
		}
		if (w->body_drops) {
			fail("body dropped before it completed");
			return;
		}
		return;
	}
	if (w->body_drops != 1) {
		fail("body not dropped exactly once");
		return;
	}
	if (w->owned) {
		fail("complete but still on the owned list");
		return;
	}
	if (!handle_gone) {
		if (w->freed) {
			fail("freed while the join handle exists");
			return;
		}
		return;
	}
	if (w->output_takes != 1) {
		fail("output not taken or dropped exactly once");
		return;
	}
	if (w->slot != SLOT_EMPTY) {
		fail("join waker leaked");
		return;
	}
	if (!w->freed) {
		fail("leak: complete, every reference gone, cell not freed");
		return;
	}
}

static unsigned long states, ends;
static int fail_depth;

static void explore(struct world *w)
{
	bool moved = false;
	int i, choice;

	if (failure)
		return;
	if (!seen_insert(w))
		return;
	states++;
	if (depth < MAX_DEPTH)
		trace[depth] = *w;
	for (i = 0; i < nr_actors && !failure; i++) {
		for (choice = 0; choice < 3 && !failure; choice++) {
			struct world next = *w;

			model_warnings = 0;
			if (step(&next, i, choice))
				continue;
			moved = true;
			if (model_warnings)
				failure = "a transition WARNed";
			check_step(&next);
			if (failure) {
				ksft_print_msg("step by actor %d (%s), choice %d\n",
					       i, kind_name[w->actor[i].kind],
					       choice);
				break;
			}
			depth++;
			explore(&next);
			depth--;
		}
	}
	if (!moved) {
		ends++;
		check_end(w);
	}
	if (failure && !fail_depth)
		fail_depth = depth + 1;
}

static void print_trace(void)
{
	int i;

	for (i = 0; i < fail_depth && i < MAX_DEPTH; i++)
		ksft_print_msg("  %2d: state %#5lx queued %u owned %u freed %u stage %u slot %u\n",
			       i, (unsigned long)trace[i].state, trace[i].queued,
			       trace[i].owned, trace[i].freed, trace[i].stage,
			       trace[i].slot);
}

static bool is_handle(int kind)
{
	return kind == A_DETACH || kind == A_JOIN || kind == A_JOIN_DROP ||
	       kind == A_JOIN_TIMEOUT || kind == A_HELP_JOIN;
}

static bool run_config(const int *kinds, int n, int workers, bool detached)
{
	struct world w;
	int i, refs = detached ? 2 : 3;
	atomic_long_t start;

	memset(&w, 0, sizeof(w));
	nr_actors = 0;
	fn_task = false;
	for (i = 0; i < workers; i++)
		w.actor[nr_actors++].kind = A_WORKER;
	for (i = 0; i < n; i++) {
		struct actor *a = &w.actor[nr_actors++];

		a->kind = kinds[i];
		/* Wakers and abort handles each hold one reference. */
		if (kinds[i] == A_WAKE_VAL || kinds[i] == A_WAKE_REF ||
		    kinds[i] == A_ABORT) {
			a->refs = 1;
			refs++;
		}
		if (is_handle(kinds[i]))
			a->refs = 1;	/* the join handle's reference */
		/* Only a run-to-completion task can be helped. */
		if (kinds[i] == A_HELP_JOIN)
			fn_task = true;
	}
	/*
	 * The initial notification is queued; the owned list holds one, and
	 * the join handle one unless the task was spawned detached
	 * (ktask_spawn_bulk() without handles).
	 */
	born_detached = detached;
	if (detached)
		ktask_state_init_detached(&start);
	else
		ktask_state_init(&start);
	w.state = (long)((unsigned long)atomic_long_read(&start) +
			 (unsigned long)(refs - (detached ? 2 : 3)) *
			 KTASK_REF_ONE);
	w.queued = 1;
	w.owned = 1;
	w.stage = ST_RUNNING;

	failure = NULL;
	depth = 0;
	fail_depth = 0;
	seen_reset();
	explore(&w);
	return !failure;
}

int main(void)
{
	static const int pool[] = {
		A_WAKE_VAL, A_WAKE_REF, A_ABORT, A_SHUTDOWN,
		A_DETACH, A_JOIN, A_JOIN_DROP, A_JOIN_TIMEOUT, A_HELP_JOIN,
	};
	const int np = ARRAY_SIZE(pool);
	int sets[256][3], sizes[256], nr = 0, plain;
	bool detached[256] = { false };
	unsigned long total = 0;
	int i, j, k, c;

	/* Every set of two and of three actors; one join handle at most. */
	for (i = 0; i < np; i++)
		for (j = i + 1; j < np; j++) {
			if (is_handle(pool[i]) && is_handle(pool[j]))
				continue;
			sets[nr][0] = pool[i];
			sets[nr][1] = pool[j];
			sizes[nr++] = 2;
			for (k = j + 1; k < np; k++) {
				if (is_handle(pool[k]) &&
				    (is_handle(pool[i]) || is_handle(pool[j])))
					continue;
				sets[nr][0] = pool[i];
				sets[nr][1] = pool[j];
				sets[nr][2] = pool[k];
				sizes[nr++] = 3;
			}
		}

	/* And each set without a join handle, for a task born detached. */
	plain = nr;
	for (c = 0; c < plain; c++) {
		bool handle = false;

		for (i = 0; i < sizes[c]; i++)
			handle |= is_handle(sets[c][i]);
		if (handle)
			continue;
		memcpy(sets[nr], sets[c], sizeof(sets[c]));
		sizes[nr] = sizes[c];
		detached[nr++] = true;
	}

	ksft_print_header();
	ksft_set_plan(nr);
	for (c = 0; c < nr; c++) {
		char name[96];
		int workers = sizes[c] == 2 ? 2 : 1;
		bool ok;

		snprintf(name, sizeof(name), "%s%d workers +",
			 detached[c] ? "detached: " : "", workers);
		for (i = 0; i < sizes[c]; i++) {
			strcat(name, " ");
			strcat(name, kind_name[sets[c][i]]);
		}
		states = 0;
		ends = 0;
		ok = run_config(sets[c], sizes[c], workers, detached[c]);
		total += states;
		if (!ok) {
			ksft_print_msg("%s: %s\n", name, failure);
			print_trace();
		}
		ksft_test_result(ok, "%s (%lu states, %lu end states)\n", name,
				 states, ends);
	}
	ksft_print_msg("%lu states explored\n", total);
	ksft_finished();
}
