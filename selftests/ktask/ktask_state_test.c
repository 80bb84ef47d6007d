// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_state_test: every transition of ktask/state.c, compiled in
 * userspace from the same source, from each starting state that matters.
 * One TAP result per case.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest.h"
#include "state.h"

int model_warnings;

#define R	KTASK_RUNNING
#define C	KTASK_COMPLETE
#define N	KTASK_NOTIFIED
#define J	KTASK_JOIN_INTEREST
#define W	KTASK_JOIN_WAKER
#define X	KTASK_CANCELLED
#define REFS(n)	((unsigned long)(n) * KTASK_REF_ONE)

static atomic_long_t s;
static int failed_checks;

static void set(unsigned long v)
{
	atomic_long_set(&s, (long)v);
	model_warnings = 0;
}

static unsigned long get(void)
{
	return (unsigned long)atomic_long_read(&s);
}

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		ksft_print_msg("%s:%d: %s (state %#lx)\n", __FILE__,	\
			       __LINE__, #cond, get());			\
		failed_checks++;					\
	}								\
} while (0)

/* The state is @v and no WARN fired. */
#define EXPECT_STATE(v) do {						\
	CHECK(get() == (unsigned long)(v));				\
	CHECK(model_warnings == 0);					\
} while (0)

static void initial_state(void)
{
	ktask_state_init(&s);
	EXPECT_STATE(REFS(3) | N | J);
	CHECK(ktask_refs(get()) == 3);
}

static void to_running_idle(void)
{
	set(REFS(3) | N | J);
	CHECK(ktask_state_to_running(&s) == KTASK_RUN_SUCCESS);
	EXPECT_STATE(REFS(3) | R | J);
}

static void to_running_cancelled(void)
{
	set(REFS(2) | N | J | X);
	CHECK(ktask_state_to_running(&s) == KTASK_RUN_CANCELLED);
	EXPECT_STATE(REFS(2) | R | J | X);
}

static void to_running_not_idle(void)
{
	set(REFS(3) | R | N | J);
	CHECK(ktask_state_to_running(&s) == KTASK_RUN_FAILED);
	EXPECT_STATE(REFS(2) | R | N | J);
}

static void to_running_complete_last_ref(void)
{
	set(REFS(1) | C | N);
	CHECK(ktask_state_to_running(&s) == KTASK_RUN_DEALLOC);
	EXPECT_STATE(C | N);
}

static void to_idle_parks(void)
{
	set(REFS(3) | R | J);
	CHECK(ktask_state_to_idle(&s) == KTASK_IDLE_OK);
	EXPECT_STATE(REFS(2) | J);
}

static void to_idle_notified(void)
{
	set(REFS(3) | R | N | J);
	CHECK(ktask_state_to_idle(&s) == KTASK_IDLE_OK_NOTIFIED);
	EXPECT_STATE(REFS(3) | N | J);
}

static void to_idle_last_ref(void)
{
	set(REFS(1) | R);
	CHECK(ktask_state_to_idle(&s) == KTASK_IDLE_OK_DEALLOC);
	EXPECT_STATE(0);
}

static void to_idle_cancelled(void)
{
	set(REFS(3) | R | N | J | X);
	CHECK(ktask_state_to_idle(&s) == KTASK_IDLE_CANCELLED);
	EXPECT_STATE(REFS(3) | R | N | J | X);
}

static void to_complete(void)
{
	set(REFS(3) | R | J | W);
	CHECK(ktask_state_to_complete(&s) == (REFS(3) | C | J | W));
	EXPECT_STATE(REFS(3) | C | J | W);
}

static void to_complete_not_running_warns(void)
{
	set(REFS(3) | J);
	ktask_state_to_complete(&s);
	CHECK(model_warnings == 1);
}

static void to_terminal(void)
{
	set(REFS(3) | C | J);
	CHECK(!ktask_state_to_terminal(&s, 2));
	EXPECT_STATE(REFS(1) | C | J);
	CHECK(ktask_state_to_terminal(&s, 1));
	EXPECT_STATE(C | J);
}

static void notify_by_val_idle(void)
{
	set(REFS(3) | J);
	CHECK(ktask_state_notify_by_val(&s) == KTASK_NOTIFY_SUBMIT);
	/* The waker's reference became the notification's. */
	EXPECT_STATE(REFS(3) | N | J);
}

static void notify_by_val_running(void)
{
	set(REFS(3) | R | J);
	CHECK(ktask_state_notify_by_val(&s) == KTASK_NOTIFY_NOTHING);
	EXPECT_STATE(REFS(2) | R | N | J);
}

static void notify_by_val_notified(void)
{
	set(REFS(3) | N | J);
	CHECK(ktask_state_notify_by_val(&s) == KTASK_NOTIFY_NOTHING);
	EXPECT_STATE(REFS(2) | N | J);
}

static void notify_by_val_complete_last_ref(void)
{
	set(REFS(1) | C);
	CHECK(ktask_state_notify_by_val(&s) == KTASK_NOTIFY_DEALLOC);
	EXPECT_STATE(C);
}

static void notify_by_ref_idle(void)
{
	set(REFS(2) | J);
	CHECK(ktask_state_notify_by_ref(&s) == KTASK_NOTIFY_SUBMIT);
	EXPECT_STATE(REFS(3) | N | J);
}

static void notify_by_ref_running(void)
{
	set(REFS(2) | R | J);
	CHECK(ktask_state_notify_by_ref(&s) == KTASK_NOTIFY_NOTHING);
	EXPECT_STATE(REFS(2) | R | N | J);
}

static void notify_by_ref_notified(void)
{
	set(REFS(3) | N | J);
	CHECK(ktask_state_notify_by_ref(&s) == KTASK_NOTIFY_NOTHING);
	EXPECT_STATE(REFS(3) | N | J);
}

static void notify_by_ref_complete(void)
{
	set(REFS(2) | C | J);
	CHECK(ktask_state_notify_by_ref(&s) == KTASK_NOTIFY_NOTHING);
	EXPECT_STATE(REFS(2) | C | J);
}

static void cancel_idle(void)
{
	set(REFS(2) | J);
	CHECK(ktask_state_notify_and_cancel(&s));
	EXPECT_STATE(REFS(3) | N | J | X);
}

static void cancel_idle_notified(void)
{
	set(REFS(3) | N | J);
	CHECK(!ktask_state_notify_and_cancel(&s));
	EXPECT_STATE(REFS(3) | N | J | X);
}

static void cancel_running(void)
{
	set(REFS(2) | R | J);
	CHECK(!ktask_state_notify_and_cancel(&s));
	EXPECT_STATE(REFS(2) | R | N | J | X);
}

static void cancel_complete_or_cancelled(void)
{
	set(REFS(2) | C | J);
	CHECK(!ktask_state_notify_and_cancel(&s));
	EXPECT_STATE(REFS(2) | C | J);
	set(REFS(3) | N | J | X);
	CHECK(!ktask_state_notify_and_cancel(&s));
	EXPECT_STATE(REFS(3) | N | J | X);
}

static void shutdown_idle(void)
{
	set(REFS(3) | N | J);
	CHECK(ktask_state_to_shutdown(&s));
	EXPECT_STATE(REFS(3) | R | N | J | X);
}

static void shutdown_running(void)
{
	set(REFS(3) | R | J);
	CHECK(!ktask_state_to_shutdown(&s));
	EXPECT_STATE(REFS(3) | R | J | X);
}

static void shutdown_complete(void)
{
	set(REFS(2) | C | J);
	CHECK(!ktask_state_to_shutdown(&s));
	EXPECT_STATE(REFS(2) | C | J | X);
}

static void drop_join_handle_fast(void)
{
	ktask_state_init(&s);
	CHECK(ktask_state_drop_join_handle_fast(&s));
	EXPECT_STATE(REFS(2) | N);
	/* Running or queued again: still one cmpxchg. */
	set(REFS(3) | R | J);
	CHECK(ktask_state_drop_join_handle_fast(&s));
	EXPECT_STATE(REFS(2) | R);
	set(REFS(2) | N | J | X);
	CHECK(ktask_state_drop_join_handle_fast(&s));
	EXPECT_STATE(REFS(1) | N | X);
	/* An output to drop, a waker to take back, the last reference. */
	set(REFS(2) | C | J);
	CHECK(!ktask_state_drop_join_handle_fast(&s));
	EXPECT_STATE(REFS(2) | C | J);
	set(REFS(3) | R | J | W);
	CHECK(!ktask_state_drop_join_handle_fast(&s));
	EXPECT_STATE(REFS(3) | R | J | W);
	set(REFS(1) | J);
	CHECK(!ktask_state_drop_join_handle_fast(&s));
	EXPECT_STATE(REFS(1) | J);
}

static void join_handle_dropped_running(void)
{
	struct ktask_handle_drop d;

	set(REFS(3) | R | J | W);
	d = ktask_state_join_handle_dropped(&s);
	/* Not complete: the handle takes its waker back; no output yet. */
	CHECK(d.drop_waker && !d.drop_output);
	EXPECT_STATE(REFS(3) | R);
}

static void join_handle_dropped_complete_waking(void)
{
	struct ktask_handle_drop d;

	set(REFS(2) | C | J | W);
	d = ktask_state_join_handle_dropped(&s);
	/* The harness is using the waker: it will drop it. */
	CHECK(!d.drop_waker && d.drop_output);
	EXPECT_STATE(REFS(2) | C | W);
}

static void join_handle_dropped_complete(void)
{
	struct ktask_handle_drop d;

	set(REFS(2) | C | J);
	d = ktask_state_join_handle_dropped(&s);
	CHECK(d.drop_waker && d.drop_output && !d.last);
	EXPECT_STATE(REFS(2) | C);
}

static void join_handle_dropped_last(void)
{
	struct ktask_handle_drop d;

	/* The only reference: no RMW, the caller frees the cell. */
	set(REFS(1) | C | J);
	d = ktask_state_join_handle_dropped(&s);
	CHECK(d.drop_waker && d.drop_output && d.last);
	/* Stored as it ends: a second drop is a consumed handle's. */
	EXPECT_STATE(REFS(0) | C);
	set(REFS(1) | C | J | X);
	d = ktask_state_join_handle_dropped(&s);
	CHECK(d.last);
	EXPECT_STATE(REFS(0) | C | X);
	/* The harness still has the waker: not alone. */
	set(REFS(1) | C | J | W);
	d = ktask_state_join_handle_dropped(&s);
	CHECK(!d.last && !d.drop_waker);
	EXPECT_STATE(REFS(1) | C | W);
}

static void set_join_waker(void)
{
	bool ok;

	set(REFS(3) | R | J);
	CHECK(ktask_state_set_join_waker(&s, &ok) == (REFS(3) | R | J | W));
	CHECK(ok);
	EXPECT_STATE(REFS(3) | R | J | W);
	set(REFS(2) | C | J);
	ktask_state_set_join_waker(&s, &ok);
	CHECK(!ok);
	EXPECT_STATE(REFS(2) | C | J);
}

static void unset_join_waker(void)
{
	bool ok;

	set(REFS(3) | J | W);
	ktask_state_unset_join_waker(&s, &ok);
	CHECK(ok);
	EXPECT_STATE(REFS(3) | J);
	set(REFS(2) | C | J | W);
	ktask_state_unset_join_waker(&s, &ok);
	CHECK(!ok);
	EXPECT_STATE(REFS(2) | C | J | W);
}

static void unset_join_waker_after_harness_cleared_it(void)
{
	bool ok;

	/* A timed join gives up just as the harness finished waking it. */
	set(REFS(2) | C | J);
	ktask_state_unset_join_waker(&s, &ok);
	CHECK(!ok);
	EXPECT_STATE(REFS(2) | C | J);
}

static void unset_waker_after_complete(void)
{
	set(REFS(2) | C | J | W);
	CHECK(ktask_state_unset_waker_after_complete(&s) == (REFS(2) | C | J));
	EXPECT_STATE(REFS(2) | C | J);
}

static void ref_inc_dec(void)
{
	set(REFS(1) | J);
	ktask_state_ref_inc(&s);
	EXPECT_STATE(REFS(2) | J);
	CHECK(!ktask_state_ref_dec(&s));
	CHECK(ktask_state_ref_dec(&s));
	EXPECT_STATE(J);
}

static void ref_overflow_saturates(void)
{
	set((KTASK_REF_MAX << KTASK_REF_SHIFT) | J);
	ktask_state_ref_inc(&s);
	CHECK(model_warnings == 1);
	CHECK(ktask_refs(get()) == KTASK_REF_SATURATED);
	CHECK((get() & KTASK_STATE_MASK) == J);
	/* A saturated count never reaches zero again: leaked, not freed. */
	CHECK(!ktask_state_ref_dec(&s));
	CHECK(ktask_refs(get()) >= KTASK_REF_SATURATED - 1);
}

static void ref_underflow_saturates(void)
{
	set(C);
	CHECK(!ktask_state_ref_dec(&s));
	CHECK(model_warnings == 1);
	CHECK(ktask_refs(get()) == KTASK_REF_SATURATED);
	set(REFS(1) | C);
	CHECK(!ktask_state_to_terminal(&s, 2));
	CHECK(model_warnings == 1);
}

static void ref_inc_on_zero_warns(void)
{
	set(C);
	ktask_state_ref_inc(&s);
	CHECK(model_warnings == 1);
	CHECK(ktask_refs(get()) == KTASK_REF_SATURATED);
}

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
#define CASE(f) { #f, f }
	CASE(initial_state),
	CASE(to_running_idle),
	CASE(to_running_cancelled),
	CASE(to_running_not_idle),
	CASE(to_running_complete_last_ref),
	CASE(to_idle_parks),
	CASE(to_idle_notified),
	CASE(to_idle_last_ref),
	CASE(to_idle_cancelled),
	CASE(to_complete),
	CASE(to_complete_not_running_warns),
	CASE(to_terminal),
	CASE(notify_by_val_idle),
	CASE(notify_by_val_running),
	CASE(notify_by_val_notified),
	CASE(notify_by_val_complete_last_ref),
	CASE(notify_by_ref_idle),
	CASE(notify_by_ref_running),
	CASE(notify_by_ref_notified),
	CASE(notify_by_ref_complete),
	CASE(cancel_idle),
	CASE(cancel_idle_notified),
	CASE(cancel_running),
	CASE(cancel_complete_or_cancelled),
	CASE(shutdown_idle),
	CASE(shutdown_running),
	CASE(shutdown_complete),
	CASE(drop_join_handle_fast),
	CASE(join_handle_dropped_running),
	CASE(join_handle_dropped_complete_waking),
	CASE(join_handle_dropped_complete),
	CASE(join_handle_dropped_last),
	CASE(set_join_waker),
	CASE(unset_join_waker),
	CASE(unset_join_waker_after_harness_cleared_it),
	CASE(unset_waker_after_complete),
	CASE(ref_inc_dec),
	CASE(ref_overflow_saturates),
	CASE(ref_underflow_saturates),
	CASE(ref_inc_on_zero_warns),
#undef CASE
};

int main(void)
{
	unsigned int i;

	ksft_print_header();
	ksft_set_plan(ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		failed_checks = 0;
		cases[i].fn();
		ksft_test_result(failed_checks == 0, "%s\n", cases[i].name);
	}
	ksft_finished();
}
