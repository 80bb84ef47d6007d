// SPDX-License-Identifier: GPL-2.0
/*
 * Where is my task stuck?  Wait sites, stuck tasks and lost wakers.
 *
 * A parked task has no thread, so neither the hung-task detector nor a
 * stack dump can say what it waits for.  ktask can: every wait goes
 * through a leaf or a waker, which note in the cell what the task parked
 * on and where its poll function called in (ktask_cx_note_wait()).
 * debugfs shows that for every task; this file names it, and a periodic
 * scan of every runtime's owned list reports, once each:
 *
 * - a stuck task: idle (not running, queued or complete) for longer than
 *   stuck_task_secs (module parameter, default the kernel's hung-task
 *   timeout, 0: off), with its id, spawn site and wait site, as the
 *   hung-task detector reports a thread;
 * - a lost waker: an idle task that only its owned-list entry and its join
 *   handle hold (tokio-console's lint): no waker, no leaf, no abort handle
 *   can wake it, so it can never run again.  Tasks that abort handles hold
 *   are not judged: their references look like wakers'.
 * - a join cycle: tasks that poll-join each other (or a blocking function
 *   whose ktask_join() waits for a task that poll-joins, through a chain,
 *   the blocking task), none of which can ever complete.  The scan collects
 *   every "task A waits for task B" edge from the wait sites and follows
 *   them; a cycle found in two scans in a row is reported once.
 *
 * "Once" is per park: the scan remembers, in the cell, the poll count at
 * which it reported; a task that is polled again may be reported again.
 * The scan reads the state word and the D fields of the cells racily, under
 * each shard's lock (which keeps the cells alive), and prints after
 * dropping it.
 */
#include <linux/jiffies.h>
#include <linux/kallsyms.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/bsearch.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "runtime.h"

#ifdef CONFIG_DEFAULT_HUNG_TASK_TIMEOUT
#define KTASK_STUCK_DEFAULT	CONFIG_DEFAULT_HUNG_TASK_TIMEOUT
#else
#define KTASK_STUCK_DEFAULT	120
#endif

static unsigned int ktask_stuck_secs = KTASK_STUCK_DEFAULT;
module_param_named(stuck_task_secs, ktask_stuck_secs, uint, 0644);
MODULE_PARM_DESC(stuck_task_secs,
		 "report a task idle for longer than this, in s (0: off; default: the hung-task timeout)");

static bool ktask_lost_wakers = true;
module_param_named(lost_wakers, ktask_lost_wakers, bool, 0644);
MODULE_PARM_DESC(lost_wakers,
		 "report an idle task that nothing can wake (default: on)");

/* Reports printed per scan and kind; the rest are counted. */
#define KTASK_STUCK_BATCH	8

struct ktask_stuck_snap {
	u64 id;
	unsigned long spawn_site;
	unsigned long wait_site;
	unsigned long wait_ip;
	unsigned long refs;
	u32 idle;		/* jiffies */
	char name[KTASK_NAME_LEN];
};

/* Task @from waits for task @to to complete. */
struct ktask_join_edge {
	u64 from, to;
	unsigned long site;	/* @from's spawn site */
};

struct ktask_stuck_scan {
	u32 now;
	u32 stuck_after;	/* jiffies; 0: off */
	bool lost;
	unsigned int nr_stuck, nr_lost;		/* found this scan */
	struct ktask_stuck_snap stuck[KTASK_STUCK_BATCH];
	struct ktask_stuck_snap lost_snap[KTASK_STUCK_BATCH];
	struct ktask_join_edge *edges;		/* every runtime's */
	unsigned int nr_edges, max_edges;
};

/*
 * Join cycles found by the scan, by their smallest id and length: those of
 * the previous scan, and those reported and still there.  Only the scan's
 * work item touches them.
 */
#define KTASK_CYCLES_KEPT	16

struct ktask_cycle_sig {
	u64 min_id;
	unsigned int len;
};

struct ktask_cycle_set {
	unsigned int nr;
	struct ktask_cycle_sig sig[KTASK_CYCLES_KEPT];
};

static struct ktask_cycle_set ktask_cycles_prev, ktask_cycles_reported;

static void ktask_stuck_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(ktask_stuck_work, ktask_stuck_fn);

/* What ktask_wait_format() shows, with %ps's module name. */
static int ktask_wait_format_full(char *buf, size_t size,
				  unsigned long wait_site)
{
	unsigned long obj = wait_site & ~KTASK_WAIT_MASK;

	switch (wait_site & KTASK_WAIT_MASK) {
	case KTASK_WAIT_WAKER:
		return scnprintf(buf, size, "waker");
	case KTASK_WAIT_YIELD:
		return scnprintf(buf, size, "yield");
	case KTASK_WAIT_SLEEP:
		return scnprintf(buf, size, "sleep:%ps", (void *)obj);
	case KTASK_WAIT_QUEUE:
		return scnprintf(buf, size, "queue:%ps", (void *)obj);
	case KTASK_WAIT_COMPLETION:
		return scnprintf(buf, size, "completion:%ps", (void *)obj);
	case KTASK_WAIT_JOIN:
		return scnprintf(buf, size, "join:%lu", obj >> KTASK_WAIT_SHIFT);
	case KTASK_WAIT_JOIN_SYNC:
		return scnprintf(buf, size, "join_sync:%lu",
				 obj >> KTASK_WAIT_SHIFT);
	default:
		return scnprintf(buf, size, "-");
	}
}

/**
 * ktask_wait_format() - name what a task parked on
 * @buf: where to write
 * @size: its size
 * @wait_site: a cell's @wait_site
 *
 * Objects are printed with %ps, which names a static object (a driver's
 * wait queue) and gives the address of any other; without the module's
 * name, which %ps appends after a space, so that the result is one word
 * (the wait site, printed next to it, names the module).
 *
 * Return: the length written.
 */
int ktask_wait_format(char *buf, size_t size, unsigned long wait_site)
{
	char *space;
	int len;

	len = ktask_wait_format_full(buf, size, wait_site);
	space = strchr(buf, ' ');
	if (space) {
		*space = '\0';
		len = space - buf;
	}
	return len;
}

static void ktask_stuck_snap(struct ktask_stuck_snap *s,
			     struct ktask_cell *cell, unsigned long state,
			     u32 idle)
{
	s->id = cell->id;
	s->spawn_site = cell->spawn_site;
	s->wait_site = READ_ONCE(cell->wait_site);
	s->wait_ip = READ_ONCE(cell->wait_ip);
	s->refs = ktask_refs(state);
	s->idle = idle;
	strscpy(s->name, ktask_cell_name(cell), sizeof(s->name));
}

/* Judge one task; the caller holds its shard's lock.  P. */
static void ktask_stuck_check(struct ktask_stuck_scan *sc,
			      struct ktask_cell *cell)
{
	unsigned long state = ktask_state_load(&cell->state);
	unsigned long handles, wait = READ_ONCE(cell->wait_site);
	bool idle_now = !(state & (KTASK_RUNNING | KTASK_NOTIFIED |
				   KTASK_COMPLETE | KTASK_CANCELLED));
	u16 polls;
	u32 idle;

	/* A parked poll-join, or a blocking function's join in progress. */
	if (sc->nr_edges < sc->max_edges &&
	    (((wait & KTASK_WAIT_MASK) == KTASK_WAIT_JOIN && idle_now) ||
	     ((wait & KTASK_WAIT_MASK) == KTASK_WAIT_JOIN_SYNC &&
	      !(state & KTASK_COMPLETE)))) {
		struct ktask_join_edge *e = &sc->edges[sc->nr_edges++];

		e->from = cell->id;
		e->to = wait >> KTASK_WAIT_SHIFT;
		e->site = cell->spawn_site;
	}
	if (!idle_now)
		return;
	polls = READ_ONCE(cell->polls);
	if (!polls)
		return;
	if (cell->report_polls != (u8)polls) {
		/*
		 * Polled since the last report: a new park (or 256 polls
		 * exactly, which this misses: a report is a hint).
		 */
		cell->report_polls = (u8)polls;
		cell->reported = 0;
	}
	/* Polled since the scan began: idle for no time yet. */
	idle = max_t(s32, sc->now - READ_ONCE(cell->last_poll_jiffies), 0);

	if (sc->stuck_after && idle >= sc->stuck_after &&
	    !(cell->reported & KTASK_REPORTED_STUCK)) {
		cell->reported |= KTASK_REPORTED_STUCK;
		if (sc->nr_stuck < KTASK_STUCK_BATCH)
			ktask_stuck_snap(&sc->stuck[sc->nr_stuck], cell, state,
					 idle);
		sc->nr_stuck++;
	}

	/* The owned list's reference, and the join handle's if any. */
	handles = 1 + !!(state & KTASK_JOIN_INTEREST);
	if (sc->lost && ktask_refs(state) == handles &&
	    !(cell->reported & KTASK_REPORTED_LOST)) {
		cell->reported |= KTASK_REPORTED_LOST;
		if (sc->nr_lost < KTASK_STUCK_BATCH)
			ktask_stuck_snap(&sc->lost_snap[sc->nr_lost], cell,
					 state, idle);
		sc->nr_lost++;
	}
}

/* Where a task parked, as debugfs's wait_site column shows it. */
static void ktask_stuck_where(char *buf, size_t size,
			      const struct ktask_stuck_snap *s)
{
	if (s->wait_site)
		scnprintf(buf, size, "%pS", (void *)s->wait_ip);
	else
		strscpy(buf, "-", size);
}

static void ktask_stuck_report(struct ktask_rt *rt,
			       struct ktask_stuck_scan *sc)
{
	char wait[64], where[KSYM_SYMBOL_LEN], label[KTASK_LABEL_LEN];
	unsigned int i;

	for (i = 0; i < min(sc->nr_stuck, KTASK_STUCK_BATCH); i++) {
		struct ktask_stuck_snap *s = &sc->stuck[i];

		ktask_wait_format(wait, sizeof(wait), s->wait_site);
		ktask_stuck_where(where, sizeof(where), s);
		pr_warn("ktask: task %s of runtime %s stuck: idle for %u s, spawned at %pS, waits on %s at %s\n",
			ktask_label(label, s->id, s->name), rt->name,
			jiffies_to_msecs(s->idle) / 1000,
			(void *)s->spawn_site, wait, where);
	}
	if (sc->nr_stuck > KTASK_STUCK_BATCH)
		pr_warn("ktask: %u more tasks of runtime %s stuck\n",
			sc->nr_stuck - KTASK_STUCK_BATCH, rt->name);

	for (i = 0; i < min(sc->nr_lost, KTASK_STUCK_BATCH); i++) {
		struct ktask_stuck_snap *s = &sc->lost_snap[i];

		ktask_wait_format(wait, sizeof(wait), s->wait_site);
		ktask_stuck_where(where, sizeof(where), s);
		pr_warn("ktask: task %s of runtime %s lost its waker: idle, and only its handles hold it (%lu references), spawned at %pS, parked on %s at %s\n",
			ktask_label(label, s->id, s->name), rt->name, s->refs,
			(void *)s->spawn_site, wait, where);
	}
	if (sc->nr_lost > KTASK_STUCK_BATCH)
		pr_warn("ktask: %u more tasks of runtime %s lost their wakers\n",
			sc->nr_lost - KTASK_STUCK_BATCH, rt->name);
}

static void ktask_stuck_scan_rt(struct ktask_rt *rt,
				struct ktask_stuck_scan *sc)
{
	unsigned int i;

	sc->nr_stuck = 0;
	sc->nr_lost = 0;
	for (i = 0; i <= rt->shard_mask; i++) {
		struct ktask_owned_shard *shard = &rt->shards[i];
		struct ktask_cell *cell;

		spin_lock_irq(&shard->lock);
		list_for_each_entry(cell, &shard->list, owned_node)
			ktask_stuck_check(sc, cell);
		spin_unlock_irq(&shard->lock);
		cond_resched();
	}
	ktask_stuck_report(rt, sc);
}

static int ktask_edge_cmp(const void *a, const void *b)
{
	const struct ktask_join_edge *x = a, *y = b;

	return x->from < y->from ? -1 : x->from > y->from;
}

static int ktask_edge_key_cmp(const void *key, const void *elt)
{
	u64 id = *(const u64 *)key;
	const struct ktask_join_edge *e = elt;

	return id < e->from ? -1 : id > e->from;
}

/* The index of the edge out of task @id, or -1. */
static long ktask_edge_find(struct ktask_stuck_scan *sc, u64 id)
{
	struct ktask_join_edge *e;

	e = bsearch(&id, sc->edges, sc->nr_edges, sizeof(*e),
		    ktask_edge_key_cmp);
	return e ? e - sc->edges : -1;
}

static bool ktask_cycle_in(const struct ktask_cycle_set *set,
			   const struct ktask_cycle_sig *sig)
{
	unsigned int i;

	for (i = 0; i < set->nr; i++)
		if (set->sig[i].min_id == sig->min_id &&
		    set->sig[i].len == sig->len)
			return true;
	return false;
}

static void ktask_cycle_add(struct ktask_cycle_set *set,
			    const struct ktask_cycle_sig *sig)
{
	if (set->nr < KTASK_CYCLES_KEPT && !ktask_cycle_in(set, sig))
		set->sig[set->nr++] = *sig;
}

/* Print the cycle through edge @start: "task A (...) joins task B ...". */
static void ktask_cycle_print(struct ktask_stuck_scan *sc, long start,
			      unsigned int len)
{
	unsigned int i, shown = min(len, 8U);
	size_t size = 160 + shown * (KSYM_SYMBOL_LEN + 48);
	char *buf = kmalloc(size, GFP_KERNEL);
	size_t n = 0;
	long j = start;

	if (!buf)
		return;
	for (i = 0; i < shown; i++) {
		n += scnprintf(buf + n, size - n, "task %llu (spawned at %pS) joins ",
			       sc->edges[j].from, (void *)sc->edges[j].site);
		j = ktask_edge_find(sc, sc->edges[j].to);
	}
	if (shown < len)
		n += scnprintf(buf + n, size - n, "... ");
	scnprintf(buf + n, size - n, "task %llu", sc->edges[start].from);
	pr_warn("ktask: join cycle of %u tasks: %s: none of them can complete\n",
		len, buf);
	kfree(buf);
}

/*
 * Every task waits for at most one other, so the edges form a functional
 * graph: walk each chain once, marking its edges with the walk's number; a
 * walk that comes back to its own mark closed a cycle.
 */
static void ktask_find_cycles(struct ktask_stuck_scan *sc)
{
	struct ktask_cycle_set now = {};
	unsigned int *mark, walk = 0;
	long i, j, k;

	if (!sc->nr_edges)
		goto out;
	mark = kvcalloc(sc->nr_edges, sizeof(*mark), GFP_KERNEL);
	if (!mark)
		return;
	sort(sc->edges, sc->nr_edges, sizeof(*sc->edges), ktask_edge_cmp, NULL);
	for (i = 0; i < sc->nr_edges; i++) {
		struct ktask_cycle_sig sig;

		if (mark[i])
			continue;
		walk++;
		for (j = i; j >= 0 && !mark[j];
		     j = ktask_edge_find(sc, sc->edges[j].to))
			mark[j] = walk;
		if (j < 0 || mark[j] != walk)
			continue;
		/* Edge @j starts a cycle: measure it, find its smallest id. */
		sig.min_id = sc->edges[j].from;
		sig.len = 0;
		k = j;
		do {
			sig.min_id = min(sig.min_id, sc->edges[k].from);
			sig.len++;
			k = ktask_edge_find(sc, sc->edges[k].to);
		} while (k != j && k >= 0);
		ktask_cycle_add(&now, &sig);
		/*
		 * Reported when a second scan in a row finds it: the edges
		 * are read racily, and a real deadlock stays.
		 */
		if (ktask_cycle_in(&ktask_cycles_prev, &sig) &&
		    !ktask_cycle_in(&ktask_cycles_reported, &sig))
			ktask_cycle_print(sc, j, sig.len);
	}
	kvfree(mark);
out:
	/* Forget the cycles that are gone; remember this scan's. */
	for (i = 0; i < ktask_cycles_reported.nr; i++)
		if (!ktask_cycle_in(&now, &ktask_cycles_reported.sig[i]))
			ktask_cycles_reported.sig[i--] =
				ktask_cycles_reported.sig[--ktask_cycles_reported.nr];
	for (i = 0; i < now.nr; i++)
		if (ktask_cycle_in(&ktask_cycles_prev, &now.sig[i]))
			ktask_cycle_add(&ktask_cycles_reported, &now.sig[i]);
	ktask_cycles_prev = now;
}

/* How often to scan: a quarter of the limit, within 0.5 s to 5 s. */
static unsigned long ktask_stuck_period(unsigned int secs)
{
	if (!secs)
		return 5 * HZ;
	return clamp_t(unsigned long, secs * HZ / 4, HZ / 2, 5 * HZ);
}

static void ktask_stuck_fn(struct work_struct *work)
{
	unsigned int secs = READ_ONCE(ktask_stuck_secs);
	struct ktask_stuck_scan *sc;
	struct ktask_rt *rt;
	long alive = 0;

	sc = kzalloc(sizeof(*sc), GFP_KERNEL);
	if (sc) {
		sc->now = (u32)jiffies;
		sc->stuck_after = min_t(unsigned long, secs, U32_MAX / HZ) * HZ;
		sc->lost = READ_ONCE(ktask_lost_wakers);
		mutex_lock(&ktask_rt_lock);
		/* Room for an edge per task; spawns meanwhile may go unseen. */
		list_for_each_entry(rt, &ktask_rt_list, node)
			alive += ktask_owned_alive(rt);
		sc->max_edges = clamp_t(long, alive + 64, 64, 1 << 20);
		sc->edges = kvmalloc_array(sc->max_edges, sizeof(*sc->edges),
					   GFP_KERNEL);
		if (!sc->edges)
			sc->max_edges = 0;
		list_for_each_entry(rt, &ktask_rt_list, node)
			ktask_stuck_scan_rt(rt, sc);
		mutex_unlock(&ktask_rt_lock);
		ktask_find_cycles(sc);
		kvfree(sc->edges);
	}
	kfree(sc);
	queue_delayed_work(system_unbound_wq, &ktask_stuck_work,
			   ktask_stuck_period(secs));
}

void ktask_stuck_init(void)
{
	queue_delayed_work(system_unbound_wq, &ktask_stuck_work, HZ / 2);
}

void ktask_stuck_exit(void)
{
	cancel_delayed_work_sync(&ktask_stuck_work);
}
