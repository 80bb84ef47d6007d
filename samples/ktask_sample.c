// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_sample: a client driver that uses ktask only through its exported
 * API, the way a real driver would.
 *
 * On load it creates a runtime and
 *  - spawns a few run-to-completion tasks and joins their outputs;
 *  - spawns a "ticker": a pollable task woken by an hrtimer (hardirq
 *    context) every @tick_ms, which counts its ticks;
 *  - spawns a "parked" task that waits for a wake that never comes, so
 *    debugfs shows an idle task.
 * On unload it destroys the runtime, which cancels the ticker and the
 * parked task (their drop runs) and joins them as -ECANCELED.
 */
#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/ktask.h>
#include <linux/module.h>
#include <linux/slab.h>

static unsigned int tick_ms = 100;
module_param(tick_ms, uint, 0444);
MODULE_PARM_DESC(tick_ms, "ticker period in ms (default 100)");

static struct ktask_rt *sample_rt;

struct sample_ticker {
	struct hrtimer timer;
	struct ktask_waker *waker;	/* taken by the timer with xchg() */
	unsigned int ticks;		/* only the task touches it */
};

static struct sample_ticker *ticker;
static struct ktask_handle *ticker_handle, *parked_handle;

static long sample_square(void *arg)
{
	long x = (long)arg;

	return x * x;
}

static enum hrtimer_restart sample_tick(struct hrtimer *timer)
{
	struct sample_ticker *t = container_of(timer, struct sample_ticker, timer);
	struct ktask_waker *w = xchg(&t->waker, NULL);

	/* Hardirq context: waking is allowed here. */
	if (w)
		ktask_wake(w);
	hrtimer_forward_now(timer, ms_to_ktime(tick_ms));
	return HRTIMER_RESTART;
}

static enum ktask_poll sample_ticker_poll(struct ktask_cx *cx, void *arg,
					  long *out)
{
	struct sample_ticker *t = arg;
	struct ktask_waker *old;

	t->ticks++;
	/* Register for the next tick; the timer consumes the waker. */
	old = xchg(&t->waker, ktask_waker_clone(ktask_cx_waker(cx)));
	ktask_waker_drop(old);
	return KTASK_PENDING;
}

static void sample_ticker_drop(void *arg)
{
	struct sample_ticker *t = arg;

	hrtimer_cancel(&t->timer);
	ktask_waker_drop(xchg(&t->waker, NULL));
	pr_info("ktask_sample: ticker stopped after %u ticks\n", t->ticks);
	kfree(t);
}

static const struct ktask_ops sample_ticker_ops = {
	.poll = sample_ticker_poll,
	.drop = sample_ticker_drop,
};

static enum ktask_poll sample_parked_poll(struct ktask_cx *cx, void *arg,
					  long *out)
{
	return KTASK_PENDING;	/* nobody will wake it: only abort ends it */
}

static const struct ktask_ops sample_parked_ops = {
	.poll = sample_parked_poll,
};

static int __init sample_init(void)
{
	struct ktask_handle *h[4];
	long out, sum = 0;
	int i, ret;

	sample_rt = ktask_rt_create("sample", NULL);
	if (IS_ERR(sample_rt))
		return PTR_ERR(sample_rt);

	for (i = 0; i < ARRAY_SIZE(h); i++)
		h[i] = ktask_spawn(sample_rt, sample_square, (void *)(long)(i + 1),
				   GFP_KERNEL);
	for (i = 0; i < ARRAY_SIZE(h); i++) {
		if (IS_ERR(h[i])) {
			ret = PTR_ERR(h[i]);
			continue;
		}
		ret = ktask_join(h[i], &out);
		if (!ret)
			sum += out;
	}
	pr_info("ktask_sample: sum of squares 1..4 = %ld\n", sum);

	ticker = kzalloc(sizeof(*ticker), GFP_KERNEL);
	if (!ticker) {
		ret = -ENOMEM;
		goto err_rt;
	}
	hrtimer_init(&ticker->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	ticker->timer.function = sample_tick;
	ticker_handle = ktask_spawn_poll(sample_rt, &sample_ticker_ops, ticker,
					 GFP_KERNEL);
	if (IS_ERR(ticker_handle)) {
		ret = PTR_ERR(ticker_handle);
		kfree(ticker);
		goto err_rt;
	}
	hrtimer_start(&ticker->timer, ms_to_ktime(tick_ms), HRTIMER_MODE_REL);

	parked_handle = ktask_spawn_poll(sample_rt, &sample_parked_ops, NULL,
					 GFP_KERNEL);
	if (IS_ERR(parked_handle)) {
		ret = PTR_ERR(parked_handle);
		goto err_ticker;
	}
	pr_info("ktask_sample: ticker is task %llu, parked is task %llu\n",
		ktask_id(ticker_handle), ktask_id(parked_handle));
	return 0;

err_ticker:
	ktask_abort(ticker_handle);
	ktask_join(ticker_handle, NULL);
err_rt:
	ktask_rt_destroy(sample_rt);
	return ret;
}

static void __exit sample_exit(void)
{
	int ret;

	ktask_rt_destroy(sample_rt);
	ret = ktask_join(ticker_handle, NULL);
	pr_info("ktask_sample: ticker joined: %d\n", ret);
	ret = ktask_join(parked_handle, NULL);
	pr_info("ktask_sample: parked joined: %d\n", ret);
}

module_init(sample_init);
module_exit(sample_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask sample client driver");
