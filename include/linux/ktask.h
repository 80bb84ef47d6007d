/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktask - cheap, joinable, abortable tasks for kernel code
 *
 * A task is a function (or a pollable state machine) that ktask runs on a
 * per-CPU worker of a runtime.  Spawning returns a join handle, through
 * which the caller collects the task's output, aborts it or lets it go.
 * Pollable tasks return KTASK_PENDING after arranging for a waker to be
 * woken, and are polled again once it is.  See Documentation/ktask/ for the
 * design and the state machine.
 */
#ifndef _LINUX_KTASK_H
#define _LINUX_KTASK_H

#include <linux/types.h>
#include <linux/gfp.h>
#include <linux/module.h>

struct ktask_rt;
struct ktask_cx;
struct ktask_handle;
struct ktask_abort_handle;
struct ktask_waker;

/**
 * enum ktask_poll - what a poll function reports
 * @KTASK_PENDING: not done; a waker was stored and will be woken
 * @KTASK_READY: done; the output has been written
 */
enum ktask_poll {
	KTASK_PENDING,
	KTASK_READY,
};

/**
 * struct ktask_ops - a pollable task
 * @poll: called on a runtime worker, never concurrently with itself.
 *	Returns KTASK_READY with *@out set, or KTASK_PENDING after storing a
 *	waker (ktask_waker_clone(ktask_cx_waker(cx))) that something will wake.
 *	Must not sleep.
 * @drop: optional; called exactly once with @arg after the task finished or
 *	was cancelled, in process context, before the owner module is released.
 * @drop_output: optional; called exactly once for an output that nobody
 *	will read (nobody joined, or the handle was detached).
 */
struct ktask_ops {
	enum ktask_poll (*poll)(struct ktask_cx *cx, void *arg, long *out);
	void (*drop)(void *arg);
	void (*drop_output)(long out);
};

/**
 * struct ktask_rt_opts - runtime options; a NULL pointer means defaults
 * @budget: coop budget per poll; 0 means the module parameter
 * @max_polls_per_drain: polls per drain before it requeues; 0 for default
 * @flags: KTASK_RT_* flags
 */
struct ktask_rt_opts {
	unsigned int budget;
	unsigned int max_polls_per_drain;
	unsigned int flags;
};

/* Run tasks on an unbound workqueue instead of per-CPU workers. */
#define KTASK_RT_UNBOUND	0x1
#define KTASK_RT_VALID_FLAGS	(KTASK_RT_UNBOUND)

struct ktask_rt *__ktask_rt_create(const char *name,
				   const struct ktask_rt_opts *opts,
				   struct module *owner);
void ktask_rt_destroy(struct ktask_rt *rt);

/**
 * ktask_rt_create() - create a runtime
 * @name: a name for debugfs and the workqueue (at most 31 characters)
 * @opts: options, or NULL for the defaults
 *
 * The calling module owns the runtime and must destroy it before it is
 * unloaded: that is what keeps its tasks' code in memory while they run,
 * so its own spawns do not pin it.  Spawns from other modules pin those.
 *
 * Context: Process context; sleeps.
 * Return: the runtime, or ERR_PTR(-EINVAL) for a missing or too long name
 * or impossible options, or ERR_PTR(-ENOMEM).
 */
#define ktask_rt_create(name, opts)					\
	__ktask_rt_create(name, opts, THIS_MODULE)

struct ktask_handle *__ktask_spawn(struct ktask_rt *rt, long (*fn)(void *arg),
				   void *arg, gfp_t gfp, struct module *owner);
struct ktask_handle *__ktask_spawn_poll(struct ktask_rt *rt,
					const struct ktask_ops *ops, void *arg,
					gfp_t gfp, struct module *owner);

/**
 * ktask_spawn() - spawn a run-to-completion task
 * @rt: the runtime
 * @fn: the task's function; its return value is the task's output
 * @arg: passed to @fn
 * @gfp: allocation flags for the task cell (GFP_ATOMIC from atomic context)
 *
 * Records THIS_MODULE as the owner and the caller as the spawn site.  A
 * module that spawns on a runtime it did not create is pinned until @fn
 * has returned; the runtime's creator is not (its exit destroys it).
 *
 * Context: Any context, with @gfp matching it.
 * Return: a join handle, or ERR_PTR(-EINVAL) for bad arguments,
 * ERR_PTR(-ENOMEM), or ERR_PTR(-ESHUTDOWN) when @rt is closed or the
 * owner module is going away.
 */
#define ktask_spawn(rt, fn, arg, gfp)					\
	__ktask_spawn(rt, fn, arg, gfp, THIS_MODULE)

/**
 * ktask_spawn_poll() - spawn a pollable task
 * @rt: the runtime
 * @ops: the task's operations; must outlive the task
 * @arg: passed to every operation
 * @gfp: allocation flags for the task cell
 *
 * Context: Any context, with @gfp matching it.
 * Return: as ktask_spawn().  On failure @ops->drop is not called: @arg
 * still belongs to the caller.
 */
#define ktask_spawn_poll(rt, ops, arg, gfp)				\
	__ktask_spawn_poll(rt, ops, arg, gfp, THIS_MODULE)

int ktask_join(struct ktask_handle *h, long *out);
int ktask_join_timeout(struct ktask_handle *h, long *out,
		       unsigned long timeout);
enum ktask_poll ktask_join_poll(struct ktask_handle *h, struct ktask_cx *cx,
				long *out, int *err);
bool ktask_is_finished(struct ktask_handle *h);
void ktask_detach(struct ktask_handle *h);
void ktask_abort(struct ktask_handle *h);
struct ktask_abort_handle *ktask_abort_handle(struct ktask_handle *h);
void ktask_abort_handle_abort(struct ktask_abort_handle *ah);
void ktask_abort_handle_put(struct ktask_abort_handle *ah);
u64 ktask_id(const struct ktask_handle *h);
u64 ktask_current_id(void);
long ktask_rt_num_alive(struct ktask_rt *rt);
long ktask_num_cells(void);

struct ktask_waker *ktask_cx_waker(struct ktask_cx *cx);
struct ktask_waker *ktask_waker_clone(struct ktask_waker *w);
void ktask_wake(struct ktask_waker *w);
void ktask_wake_by_ref(struct ktask_waker *w);
void ktask_waker_drop(struct ktask_waker *w);

bool ktask_coop_proceed(struct ktask_cx *cx);
void ktask_coop_made_progress(struct ktask_cx *cx);
enum ktask_poll ktask_consume_budget(struct ktask_cx *cx);
bool ktask_has_budget_remaining(struct ktask_cx *cx);

#endif /* _LINUX_KTASK_H */
