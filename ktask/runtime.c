// SPDX-License-Identifier: GPL-2.0
/*
 * Runtimes and spawning.
 */
#include <linux/err.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched/clock.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/wait_bit.h>

#include "runtime.h"
#include "ktask_trace.h"

/* Largest drain batch a runtime may ask for. */
#define KTASK_MAX_POLLS		65536U
#define KTASK_DEFAULT_POLLS	128U

/* Protects ktask_rt_list. */
DEFINE_MUTEX(ktask_rt_lock);
/* L: every runtime, for debugfs. */
LIST_HEAD(ktask_rt_list);

/*
 * One lock class per runtime, as workqueue.c gives one per workqueue: a
 * join under a lock that a task of another runtime takes is no deadlock.
 */
static void ktask_rt_lockdep_init(struct ktask_rt *rt)
{
#ifdef CONFIG_LOCKDEP
	lockdep_register_key(&rt->lockdep_key);
	snprintf(rt->lockdep_name, sizeof(rt->lockdep_name), "(ktask_rt)%s",
		 rt->name);
	lockdep_init_map(&rt->lockdep_map, rt->lockdep_name, &rt->lockdep_key,
			 0);
#endif
}

static void ktask_rt_lockdep_exit(struct ktask_rt *rt)
{
#ifdef CONFIG_LOCKDEP
	lockdep_unregister_key(&rt->lockdep_key);
#endif
}

/**
 * __ktask_rt_create() - create a runtime; use ktask_rt_create()
 * @name: a name for debugfs and the workqueue (at most 31 characters)
 * @opts: options, or NULL for the defaults
 * @owner: the module that will destroy the runtime (NULL: built-in code)
 *
 * Context: Process context; sleeps.
 * Return: the runtime, or ERR_PTR(-EINVAL) for a missing or too long name
 * or impossible options, or ERR_PTR(-ENOMEM).
 */
struct ktask_rt *__ktask_rt_create(const char *name,
				   const struct ktask_rt_opts *opts,
				   struct module *owner)
{
	struct ktask_rt *rt;
	int ret;

	might_sleep();
	if (!name || !*name)
		return ERR_PTR(-EINVAL);
	if (opts && ((opts->flags & ~KTASK_RT_VALID_FLAGS) ||
		     opts->budget > KTASK_MAX_BUDGET ||
		     opts->max_polls_per_drain > KTASK_MAX_POLLS ||
		     (opts->cpus && (!(opts->flags & KTASK_RT_UNBOUND) ||
				     !cpumask_intersects(opts->cpus,
							 cpu_possible_mask)))))
		return ERR_PTR(-EINVAL);

	rt = kzalloc(sizeof(*rt), GFP_KERNEL);
	if (!rt)
		return ERR_PTR(-ENOMEM);
	if (strscpy(rt->name, name, sizeof(rt->name)) < 0) {
		kfree(rt);
		return ERR_PTR(-EINVAL);
	}
	rt->owner = owner;
	rt->flags = opts ? opts->flags : 0;
	rt->budget = (opts && opts->budget) ? opts->budget :
		     READ_ONCE(ktask_default_budget);
	rt->max_polls = (opts && opts->max_polls_per_drain) ?
			opts->max_polls_per_drain : KTASK_DEFAULT_POLLS;
	rt->sched = &ktask_percpu_sched;
	rt->hooks = opts ? opts->hooks : NULL;
	ktask_rt_lockdep_init(rt);

	rt->token = ktask_cancel_token_create(GFP_KERNEL);
	if (IS_ERR(rt->token)) {
		ret = -ENOMEM;
		goto err_free;
	}
	ret = ktask_owned_init(rt);
	if (ret)
		goto err_token;
	rt->blocking_wq = alloc_workqueue("ktask_blocking/%s", WQ_UNBOUND |
					  ((rt->flags & KTASK_RT_MEM_RECLAIM) ?
					   WQ_MEM_RECLAIM : 0), 0, rt->name);
	if (!rt->blocking_wq) {
		ret = -ENOMEM;
		goto err_owned;
	}
	ret = ktask_metrics_init(rt);
	if (ret)
		goto err_blocking;
	ret = ktask_sched_init_rt(rt, opts ? opts->cpus : NULL);
	if (ret)
		goto err_metrics;

	mutex_lock(&ktask_rt_lock);
	list_add_tail(&rt->node, &ktask_rt_list);
	mutex_unlock(&ktask_rt_lock);
	return rt;

err_metrics:
	ktask_metrics_destroy(rt);
err_blocking:
	destroy_workqueue(rt->blocking_wq);
err_owned:
	ktask_owned_destroy(rt);
err_token:
	ktask_cancel_token_put(rt->token);
err_free:
	ktask_rt_lockdep_exit(rt);
	kfree(rt);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(__ktask_rt_create);

/**
 * ktask_rt_destroy() - close a runtime, cancel its tasks and free it
 * @rt: the runtime; NULL is ignored
 *
 * Spawns that race with destroy either fail with -ESHUTDOWN or have their
 * task cancelled; the caller must make sure none is still in progress, or
 * starts, once destroy has returned (@rt is freed then).  Every task that
 * has not completed is cancelled: its
 * @ops->drop runs, here or on a worker that is polling it, and its joiner
 * gets -ECANCELED.  Returns once every task has completed and the workers
 * have stopped.  Join and abort handles stay valid and must still be
 * consumed or put.
 *
 * Context: Process context; sleeps.  Not from a task of @rt or a blocking
 * function of @rt (WARNs and leaks @rt instead of deadlocking).  An
 * @ops->drop that destroy runs gets -EDEADLK from ktask_join() of another
 * task of @rt that has not completed.
 */
void ktask_rt_destroy(struct ktask_rt *rt)
{
	struct ktask_rq *rq = ktask_current_rq();

	might_sleep();
	if (!rt || WARN_ONCE(IS_ERR(rt), "ktask: destroy of an ERR_PTR\n"))
		return;
	if (WARN_ONCE(rq && rq->rt == rt,
		      "ktask: runtime %s destroyed from its own task\n", rt->name))
		return;
	/* Destroy waits for the blocking function it is called from. */
	if (WARN_ONCE(ktask_blocking_current_rt() == rt,
		      "ktask: runtime %s destroyed from its own blocking function\n",
		      rt->name))
		return;

	mutex_lock(&ktask_rt_lock);
	list_del(&rt->node);
	mutex_unlock(&ktask_rt_lock);

	/* Destroy waits for the polls of @rt, as a join does. */
	ktask_rt_lockdep_wait(rt);
	/* First, so that blocking functions, which run on, may return. */
	ktask_cancel_token_cancel(rt->token);
	WRITE_ONCE(rt->destroyer, current);
	ktask_owned_close_and_shutdown(rt);
	wait_var_event(&rt->shards, !ktask_owned_alive(rt));
	/* Let every wake that may still push onto our queues finish. */
	synchronize_rcu();
	ktask_sched_destroy_rt(rt);
	ktask_metrics_destroy(rt);
	/* Waits for blocking functions whose tasks were cancelled. */
	destroy_workqueue(rt->blocking_wq);
	ktask_owned_destroy(rt);
	ktask_cancel_token_put(rt->token);
	ktask_rt_lockdep_exit(rt);
	kfree(rt);
}
EXPORT_SYMBOL_GPL(ktask_rt_destroy);

/**
 * ktask_rt_cancel_token() - the runtime's cancellation token
 * @rt: the runtime
 *
 * Cancelled when ktask_rt_destroy() begins, before it cancels the tasks:
 * a blocking function of the runtime, which destroy waits for, checks it
 * to return early.
 *
 * Context: Any context.
 * Return: the token, borrowed: valid while @rt is (take a reference with
 * ktask_cancel_token_get() to keep it longer); NULL for an invalid
 * runtime.
 */
struct ktask_cancel_token *ktask_rt_cancel_token(struct ktask_rt *rt)
{
	return IS_ERR_OR_NULL(rt) ? NULL : rt->token;
}
EXPORT_SYMBOL_GPL(ktask_rt_cancel_token);

/**
 * ktask_rt_num_alive() - tasks of a runtime that have not completed
 * @rt: the runtime
 *
 * A task stops counting once its completion is fully processed, which is
 * after its joiner was woken: a worker ends the completions of its tasks
 * in groups of up to 8, and at the latest when its queue runs dry, so
 * right after ktask_join() returns the count may still include the joined
 * task.  Poll for the value you expect, with a bound; ktask_rt_destroy()
 * waits for zero itself.
 *
 * Context: Any context.
 * Return: the number of tasks spawned on @rt that have not yet completed
 * or been cancelled; 0 for an invalid runtime.
 */
long ktask_rt_num_alive(struct ktask_rt *rt)
{
	if (IS_ERR_OR_NULL(rt))
		return 0;
	return ktask_owned_alive(rt);
}
EXPORT_SYMBOL_GPL(ktask_rt_num_alive);

/*
 * Check @opts for a task of @kind on @rt.  Return: 0, or the errno the
 * spawn fails with (see ktask_spawn_with()).  A CPU or node found online
 * here may go offline before the task runs: that is the offline case.
 */
static int ktask_spawn_opts_check(struct ktask_rt *rt, enum ktask_kind kind,
				  const struct ktask_spawn_opts *opts)
{
	if (opts->name && strnlen(opts->name, KTASK_NAME_LEN) >= KTASK_NAME_LEN)
		return -ENAMETOOLONG;
	switch (opts->place) {
	case KTASK_PLACE_ANY:
		return 0;
	case KTASK_PLACE_CPU:
	case KTASK_PLACE_NODE:
		break;
	default:
		return -EINVAL;
	}
	/* Placed tasks run on their CPUs' workers, which unbound ones do not. */
	if (kind == KTASK_KIND_BLOCKING || (rt->flags & KTASK_RT_UNBOUND))
		return -EINVAL;
	if (opts->place == KTASK_PLACE_CPU) {
		if (opts->cpu < 0 || opts->cpu >= nr_cpu_ids ||
		    !cpu_possible(opts->cpu))
			return -EINVAL;
		return cpu_online(opts->cpu) ? 0 : -ENODEV;
	}
	if (opts->node < 0 || opts->node >= MAX_NUMNODES ||
	    !node_possible(opts->node))
		return -EINVAL;
	return cpumask_intersects(cpumask_of_node(opts->node),
				  cpu_online_mask) ? 0 : -ENODEV;
}

/* Whether @opts asks for what only a struct ktask_cell_ext holds. */
static bool ktask_spawn_opts_ext(const struct ktask_spawn_opts *opts)
{
	return opts && ((opts->name && *opts->name) ||
			opts->place != KTASK_PLACE_ANY);
}

/* Fill in the extension of @cell from @opts. */
static void ktask_cell_ext_init(struct ktask_cell *cell,
				const struct ktask_spawn_opts *opts)
{
	struct ktask_cell_ext *x = ktask_cell_ext(cell);

	x->cpu = opts->place == KTASK_PLACE_CPU ? opts->cpu : -1;
	x->node = opts->place == KTASK_PLACE_NODE ? opts->node : NUMA_NO_NODE;
	strscpy(x->name, opts->name ? opts->name : "", sizeof(x->name));
}

/* Fill in a new cell of @rt, with a join handle: all but its pin. */
static void ktask_cell_setup(struct ktask_cell *cell, struct ktask_rt *rt,
			     enum ktask_kind kind, const struct ktask_ops *ops,
			     long (*fn)(void *arg), void *arg,
			     struct module *owner, unsigned long site)
{
	ktask_state_init(&cell->state);
	cell->rt = rt;
	/* Its id comes with its place on the owned list. */
	cell->id = 0;
	cell->kind = kind;
	cell->ext = 0;
	if (ops)
		cell->ops = ops;
	else
		cell->fn = fn;
	cell->arg = arg;
	cell->join_waker = 0;
	cell->owner = owner;
	cell->spawn_site = site;
	cell->wait_site = 0;
	cell->wait_ip = 0;
	/* The tick: debugfs shows ages, not a clock read per spawn. */
	cell->spawn_jiffies = (u32)jiffies;
	cell->last_poll_jiffies = 0;
	cell->polls = 0;
	cell->forced_yields = 0;
	cell->self_wakes = 0;
	cell->wake_stamp = 0;
	cell->report_polls = 0;
	cell->reported = 0;
	cell->stage = KTASK_STAGE_RUNNING;
}

/*
 * Spawn a task of @ops or @fn; the common body of every single spawn.
 * With @detached the task has no handle (as if detached at once, without
 * the atomic) and NULL is returned on success: the task may have run and
 * been freed by then.  Otherwise the task's cell, with the handle's
 * reference.
 */
static __always_inline struct ktask_cell *
ktask_spawn_new(struct ktask_rt *rt, enum ktask_kind kind,
		const struct ktask_ops *ops, long (*fn)(void *arg), void *arg,
		const struct ktask_spawn_opts *opts, gfp_t gfp,
		struct module *owner, unsigned long site, bool detached)
{
	struct ktask_cell *cell;
	bool pin, ext;
	int node, err;

	if (IS_ERR_OR_NULL(rt))
		return ERR_PTR(-EINVAL);
	err = ktask_spawn_context_check();
	if (!err && opts)
		err = ktask_spawn_opts_check(rt, kind, opts);
	if (err)
		return ERR_PTR(err);
	if (ktask_should_fail_spawn())
		return ERR_PTR(-ENOMEM);
	/* Allocate before touching @rt: the allocation may sleep. */
	ext = ktask_spawn_opts_ext(opts);
	node = !ext ? NUMA_NO_NODE :
	       opts->place == KTASK_PLACE_NODE ? opts->node :
	       opts->place == KTASK_PLACE_CPU ? cpu_to_node(opts->cpu) :
	       NUMA_NO_NODE;
	cell = ktask_cell_alloc(gfp, ext, node);
	if (!cell)
		return ERR_PTR(-ENOMEM);

	ktask_cell_setup(cell, rt, kind, ops, fn, arg, owner, site);
	if (detached)
		ktask_state_init_detached(&cell->state);
	cell->ext = ext;
	if (ext)
		ktask_cell_ext_init(cell, opts);

	/*
	 * From the first look at @rt to the push, destroy must not free the
	 * runtime or its queues: a spawn that overlaps destroy is either
	 * refused here or bound in time to be cancelled (see runtime.h).
	 */
	ktask_rt_read_lock();
	pin = owner != rt->owner;
	if (READ_ONCE(rt->closed) || (pin && !try_module_get(owner)))
		goto shutdown;
	cell->pin = pin ? KTASK_PIN_HELD : 0;
	if (!ktask_owned_bind(rt, cell)) {
		if (pin)
			module_put(owner);
		goto shutdown;
	}
	trace_ktask_spawn(cell);
	this_cpu_inc(rt->rqs->stats.spawned);
	if (unlikely(rt->hooks) && rt->hooks->spawn)
		rt->hooks->spawn(rt->hooks->data, cell->id);
	rt->sched->schedule(rt, cell);
	ktask_rt_read_unlock();
	/* Detached, it is no longer ours: not even to look at. */
	return detached ? NULL : cell;

shutdown:
	ktask_rt_read_unlock();
	ktask_cell_free(cell);
	return ERR_PTR(-ESHUTDOWN);
}

/* Spawn a task of @ops or @fn, with a join handle. */
struct ktask_handle *ktask_spawn_cell(struct ktask_rt *rt,
				      enum ktask_kind kind,
				      const struct ktask_ops *ops,
				      long (*fn)(void *arg), void *arg,
				      const struct ktask_spawn_opts *opts,
				      gfp_t gfp, struct module *owner,
				      unsigned long site)
{
	struct ktask_cell *cell;

	cell = ktask_spawn_new(rt, kind, ops, fn, arg, opts, gfp, owner, site,
			       false);
	return IS_ERR(cell) ? ERR_CAST(cell) : ktask_cell_handle(cell);
}

/**
 * __ktask_spawn() - spawn a run-to-completion task; use ktask_spawn()
 * @rt: the runtime
 * @fn: the function; its return value is the output
 * @arg: passed to @fn
 * @gfp: allocation flags for the cell
 * @owner: module holding @fn; pinned until @fn returned unless it
 *	created @rt
 *
 * Records the caller's return address as the spawn site.
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: a join handle, or ERR_PTR(-EINVAL), ERR_PTR(-ENOMEM),
 * ERR_PTR(-ESHUTDOWN) (runtime closed, or @owner going away) or, on
 * PREEMPT_RT from a context it refuses, ERR_PTR(-EPERM).
 */
struct ktask_handle *__ktask_spawn(struct ktask_rt *rt, long (*fn)(void *arg),
				   void *arg, gfp_t gfp, struct module *owner)
{
	if (!fn)
		return ERR_PTR(-EINVAL);
	return ktask_spawn_cell(rt, KTASK_KIND_FN, NULL, fn, arg, NULL, gfp,
				owner, _RET_IP_);
}
EXPORT_SYMBOL_GPL(__ktask_spawn);

/**
 * __ktask_spawn_detached() - spawn a run-to-completion task without a
 *	handle; use ktask_spawn_detached()
 * @rt: the runtime
 * @fn: the function; its return value is dropped
 * @arg: passed to @fn
 * @gfp: allocation flags for the cell
 * @owner: module holding @fn; pinned until @fn returned unless it
 *	created @rt
 *
 * Records the caller's return address as the spawn site.
 *
 * Context: as __ktask_spawn().
 * Return: 0, or -EINVAL, -ENOMEM, -ESHUTDOWN or -EPERM as __ktask_spawn().
 */
int __ktask_spawn_detached(struct ktask_rt *rt, long (*fn)(void *arg),
			   void *arg, gfp_t gfp, struct module *owner)
{
	if (!fn)
		return -EINVAL;
	return PTR_ERR(ktask_spawn_new(rt, KTASK_KIND_FN, NULL, fn, arg, NULL,
				       gfp, owner, _RET_IP_, true));
}
EXPORT_SYMBOL_GPL(__ktask_spawn_detached);

/* Cells ktask_spawn_bulk() takes from the slab at a time (stack space). */
#define KTASK_BULK_CHUNK	16

/* Free the cells chained from @first that ktask_spawn_bulk() allocated. */
static void ktask_cell_free_chain(struct llist_node *first)
{
	struct ktask_cell *cell, *next;

	llist_for_each_entry_safe(cell, next, first, queue_node)
		ktask_cell_free(cell);
}

/**
 * __ktask_spawn_bulk() - spawn run-to-completion tasks at once; use
 *	ktask_spawn_bulk()
 * @rt: the runtime
 * @fn: every task's function
 * @args: the tasks' arguments, @nr of them, or NULL for NULL each
 * @nr: how many tasks, 1 to %KTASK_SPAWN_BULK_MAX
 * @handles: where the @nr join handles go, or NULL to spawn them detached
 * @gfp: allocation flags for the cells
 * @owner: module holding @fn; pinned until the last of them returned,
 *	unless it created @rt
 *
 * Context: as __ktask_spawn().
 * Return: 0, or -EINVAL, -ENOMEM, -ESHUTDOWN or -EPERM as __ktask_spawn()
 * and no task spawned.
 */
int __ktask_spawn_bulk(struct ktask_rt *rt, long (*fn)(void *arg),
		       void *const *args, unsigned int nr,
		       struct ktask_handle **handles, gfp_t gfp,
		       struct module *owner)
{
	struct llist_node *first = NULL, **tail = &first;
	unsigned int i, chunk;
	struct ktask_cell *cell;
	bool pin;
	int err;

	if (IS_ERR_OR_NULL(rt) || !fn || !nr || nr > KTASK_SPAWN_BULK_MAX)
		return -EINVAL;
	err = ktask_spawn_context_check();
	if (err)
		return err;
	if (ktask_should_fail_spawn())
		return -ENOMEM;
	pin = owner != rt->owner;
	/* Every cell first, chained oldest first: all or none. */
	for (i = 0; i < nr; i += chunk) {
		void *cells[KTASK_BULK_CHUNK];
		unsigned int k;

		chunk = min_t(unsigned int, nr - i, ARRAY_SIZE(cells));
		if (!ktask_cell_alloc_bulk(gfp, chunk, cells)) {
			*tail = NULL;
			ktask_cell_free_chain(first);
			return -ENOMEM;
		}
		for (k = 0; k < chunk; k++) {
			cell = cells[k];
			ktask_cell_setup(cell, rt, KTASK_KIND_FN, NULL, fn,
					 args ? args[i + k] : NULL, owner,
					 _RET_IP_);
			/* No handle: one atomic less than ktask_detach(). */
			if (!handles)
				ktask_state_init_detached(&cell->state);
			cell->pin = pin ? KTASK_PIN_HELD : 0;
			*tail = &cell->queue_node;
			tail = &cell->queue_node.next;
		}
	}
	*tail = NULL;

	/*
	 * As ktask_spawn_cell(), for all of them: each pins the module
	 * before any is bound, since destroy may complete (and unpin) a
	 * bound task before we are through the batch.
	 */
	ktask_rt_read_lock();
	if (READ_ONCE(rt->closed) || (pin && !try_module_get(owner)))
		goto shutdown;
	for (i = 1; pin && i < nr; i++)
		__module_get(owner);
	if (!ktask_owned_bind_chain(rt, first)) {
		for (i = 0; pin && i < nr; i++)
			module_put(owner);
		goto shutdown;
	}
	/*
	 * Bound: destroy may cancel them from here on, and a hook or the
	 * tracepoint may see that before the spawn (as for a single spawn,
	 * over a longer window).  Not freed: each holds its notification's
	 * reference until the drain pops it.
	 */
	i = 0;
	llist_for_each_entry(cell, first, queue_node) {
		trace_ktask_spawn(cell);
		if (unlikely(rt->hooks) && rt->hooks->spawn)
			rt->hooks->spawn(rt->hooks->data, cell->id);
		ktask_stamp_queued(rt, cell);
		if (handles)
			handles[i] = ktask_cell_handle(cell);
		i++;
	}
	this_cpu_add(rt->rqs->stats.spawned, nr);
	/*
	 * The queue takes the newest first, so the oldest, @first, ends
	 * the reversed chain.  From here on they may run.
	 */
	rt->sched->schedule_chain(rt, llist_reverse_order(first), first, nr);
	ktask_rt_read_unlock();
	return 0;

shutdown:
	ktask_rt_read_unlock();
	ktask_cell_free_chain(first);
	return -ESHUTDOWN;
}
EXPORT_SYMBOL_GPL(__ktask_spawn_bulk);

/* A spawn of @kind, with @opts, at @site: every spawn with options. */
struct ktask_handle *ktask_spawn_of_kind(struct ktask_rt *rt,
					 enum ktask_spawn_kind kind,
					 const struct ktask_ops *ops,
					 long (*fn)(void *arg), void *arg,
					 const struct ktask_spawn_opts *opts,
					 gfp_t gfp, struct module *owner,
					 unsigned long site)
{
	switch (kind) {
	case KTASK_SPAWN_FN:
		if (!fn)
			return ERR_PTR(-EINVAL);
		return ktask_spawn_cell(rt, KTASK_KIND_FN, NULL, fn, arg, opts,
					gfp, owner, site);
	case KTASK_SPAWN_POLL:
		if (!ops || !ops->poll)
			return ERR_PTR(-EINVAL);
		return ktask_spawn_cell(rt, KTASK_KIND_POLL, ops, NULL, arg,
					opts, gfp, owner, site);
	case KTASK_SPAWN_BLOCKING:
		return ktask_spawn_blocking_at(rt, fn, arg, opts, gfp, owner,
					       site);
	default:
		return ERR_PTR(-EINVAL);
	}
}

/**
 * __ktask_spawn_with() - spawn a task with options; use ktask_spawn_with(),
 *	ktask_spawn_poll_with() or ktask_spawn_blocking_with()
 * @rt: the runtime
 * @kind: what to spawn
 * @ops: for KTASK_SPAWN_POLL, the task's operations
 * @fn: for the other kinds, the function
 * @arg: passed to @fn or @ops
 * @opts: name and placement, or NULL
 * @gfp: allocation flags for the cell
 * @owner: module holding the task's code; pinned as by __ktask_spawn()
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: a join handle, or an ERR_PTR() as ktask_spawn_with() lists.  On
 * failure @ops->drop is not called.
 */
struct ktask_handle *__ktask_spawn_with(struct ktask_rt *rt,
					enum ktask_spawn_kind kind,
					const struct ktask_ops *ops,
					long (*fn)(void *arg), void *arg,
					const struct ktask_spawn_opts *opts,
					gfp_t gfp, struct module *owner)
{
	return ktask_spawn_of_kind(rt, kind, ops, fn, arg, opts, gfp, owner,
				_RET_IP_);
}
EXPORT_SYMBOL_GPL(__ktask_spawn_with);

/**
 * __ktask_spawn_poll() - spawn a pollable task; use ktask_spawn_poll()
 * @rt: the runtime
 * @ops: the task's operations; @ops->poll is required
 * @arg: passed to every operation
 * @gfp: allocation flags for the cell
 * @owner: module holding @ops; pinned until the task's code has returned
 *	unless it created @rt
 *
 * Context: Any context, with @gfp matching it; on PREEMPT_RT, one that may
 *	sleep on a spinlock_t (not hardirq: see api.rst).
 * Return: as __ktask_spawn().  On failure @ops->drop is not called.
 */
struct ktask_handle *__ktask_spawn_poll(struct ktask_rt *rt,
					const struct ktask_ops *ops, void *arg,
					gfp_t gfp, struct module *owner)
{
	if (!ops || !ops->poll)
		return ERR_PTR(-EINVAL);
	return ktask_spawn_cell(rt, KTASK_KIND_POLL, ops, NULL, arg, NULL, gfp,
				owner, _RET_IP_);
}
EXPORT_SYMBOL_GPL(__ktask_spawn_poll);

/*
 * A module's exit must destroy the runtimes it created.  One that did not
 * is destroyed here, after its exit ran and before its code is freed,
 * which cancels its tasks while their code is still there.
 */
static int ktask_module_going(struct notifier_block *nb, unsigned long action,
			      void *data)
{
	struct module *mod = data;
	struct ktask_rt *rt;

	if (action != MODULE_STATE_GOING)
		return NOTIFY_DONE;
	for (;;) {
		struct ktask_rt *found = NULL;

		mutex_lock(&ktask_rt_lock);
		list_for_each_entry(rt, &ktask_rt_list, node) {
			if (rt->owner == mod) {
				found = rt;
				break;
			}
		}
		mutex_unlock(&ktask_rt_lock);
		if (!found)
			return NOTIFY_OK;
		WARN(1, "ktask: module %s unloaded without destroying runtime %s\n",
		     module_name(mod), found->name);
		ktask_rt_destroy(found);
	}
}

static struct notifier_block ktask_module_nb = {
	.notifier_call = ktask_module_going,
};

int ktask_rt_init(void)
{
	return register_module_notifier(&ktask_module_nb);
}

void ktask_rt_exit(void)
{
	unregister_module_notifier(&ktask_module_nb);
}
