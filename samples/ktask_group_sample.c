// SPDX-License-Identifier: GPL-2.0
/*
 * ktask_group_sample: a platform driver that keeps a group of tasks per
 * device, the way a driver would.
 *
 * The module registers @devices platform devices, "ktask_group_sample.N",
 * and a driver for them.  Probe creates the device's task group and spawns
 * into it
 *  - @pollers pollable tasks that tick every @period_ms, sleeping on an
 *    hrtimer in between (the device's polling), counting their ticks;
 *  - one blocking task that "loads firmware" (sleeps @fw_ms).
 * Unbinding the device destroys the group (a devm action): every task is
 * aborted, waited for and its result dropped, before the device's memory
 * goes.  Unbinding and binding the devices through sysfs runs that and
 * probe under load; unloading the module removes every device, then
 * destroys the runtime.
 */
#include <linux/atomic.h>
#include <linux/delay.h>
#include <linux/ktask.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

#define GS_NAME		"ktask_group_sample"
#define GS_MAX_DEVICES	16

static unsigned int devices = 2;
module_param(devices, uint, 0444);
MODULE_PARM_DESC(devices, "platform devices to create, 1..16 (default 2)");

static unsigned int pollers = 4;
module_param(pollers, uint, 0444);
MODULE_PARM_DESC(pollers, "polling tasks per device, 1..1024 (default 4)");

static unsigned int period_ms = 50;
module_param(period_ms, uint, 0444);
MODULE_PARM_DESC(period_ms, "polling period in ms, at least 1 (default 50)");

static unsigned int fw_ms = 20;
module_param(fw_ms, uint, 0444);
MODULE_PARM_DESC(fw_ms, "time the firmware load sleeps, in ms (default 20)");

static struct ktask_rt *gs_rt;
static struct platform_device *gs_pdevs[GS_MAX_DEVICES];

struct gs_dev;

/* One polling task: its state lives as long as the device's. */
struct gs_poller {
	struct ktask_sleep sleep;
	ktime_t next;
	struct gs_dev *dev;
};

struct gs_dev {
	struct device *dev;
	struct ktask_group *tasks;
	atomic_t ticks;
	atomic_t fw_loaded;
	struct gs_poller pollers[];
};

static enum ktask_poll gs_poll(struct ktask_cx *cx, void *arg, long *out)
{
	struct gs_poller *p = arg;

	/* Tick for every period that passed; the coop budget bounds it. */
	while (ktask_sleep_until(cx, &p->sleep, p->next) == KTASK_READY) {
		atomic_inc(&p->dev->ticks);
		p->next = ktime_add_ms(p->next, period_ms);
	}
	return KTASK_PENDING;
}

static void gs_poll_drop(void *arg)
{
	struct gs_poller *p = arg;

	ktask_sleep_cancel(&p->sleep);
}

static const struct ktask_ops gs_poller_ops = {
	.poll = gs_poll,
	.drop = gs_poll_drop,
};

static long gs_load_firmware(void *arg)
{
	struct gs_dev *d = arg;

	msleep(fw_ms);
	atomic_set(&d->fw_loaded, 1);
	return 0;
}

/*
 * The device's unbind: no task of the device may outlive it.  A devm
 * action, so that it runs before the device's memory (allocated earlier)
 * is freed, on every path: remove, a failed probe, unload.
 */
static void gs_destroy_group(void *data)
{
	struct gs_dev *d = data;

	ktask_group_destroy(d->tasks);
	dev_info(d->dev, "removed: %d ticks, firmware %s\n",
		 atomic_read(&d->ticks),
		 atomic_read(&d->fw_loaded) ? "loaded" : "not loaded");
}

static int gs_probe(struct platform_device *pdev)
{
	struct gs_dev *d;
	unsigned int i;
	int ret;

	d = devm_kzalloc(&pdev->dev, struct_size(d, pollers, pollers),
			 GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	d->dev = &pdev->dev;
	d->tasks = ktask_group_create(gs_rt);
	if (IS_ERR(d->tasks))
		return PTR_ERR(d->tasks);
	/* From here on, what was spawned is aborted and waited for. */
	ret = devm_add_action_or_reset(&pdev->dev, gs_destroy_group, d);
	if (ret)
		return ret;
	for (i = 0; i < pollers; i++) {
		struct gs_poller *p = &d->pollers[i];

		ktask_sleep_init(&p->sleep);
		p->dev = d;
		p->next = ktime_add_ms(ktime_get(), period_ms);
		ret = ktask_group_spawn_poll(d->tasks, &gs_poller_ops, p,
					     GFP_KERNEL, NULL);
		if (ret)
			return ret;
	}
	ret = ktask_group_spawn_blocking(d->tasks, gs_load_firmware, d,
					 GFP_KERNEL, NULL);
	if (ret)
		return ret;
	dev_info(&pdev->dev, "%u tasks in the device's group\n",
		 ktask_group_len(d->tasks));
	return 0;
}

static struct platform_driver gs_driver = {
	.probe = gs_probe,
	.driver = {
		.name = GS_NAME,
	},
};

static void gs_unregister_devices(void)
{
	int i;

	for (i = GS_MAX_DEVICES - 1; i >= 0; i--) {
		platform_device_unregister(gs_pdevs[i]);
		gs_pdevs[i] = NULL;
	}
}

static int __init gs_init(void)
{
	unsigned int i;
	int ret;

	if (!devices || devices > GS_MAX_DEVICES || !pollers ||
	    pollers > 1024 || !period_ms)
		return -EINVAL;
	gs_rt = ktask_rt_create("group_sample", NULL);
	if (IS_ERR(gs_rt))
		return PTR_ERR(gs_rt);
	ret = platform_driver_register(&gs_driver);
	if (ret)
		goto err_rt;
	for (i = 0; i < devices; i++) {
		gs_pdevs[i] = platform_device_register_simple(GS_NAME, i, NULL, 0);
		if (IS_ERR(gs_pdevs[i])) {
			ret = PTR_ERR(gs_pdevs[i]);
			gs_pdevs[i] = NULL;
			goto err_devices;
		}
	}
	return 0;

err_devices:
	gs_unregister_devices();
	platform_driver_unregister(&gs_driver);
err_rt:
	ktask_rt_destroy(gs_rt);
	return ret;
}

static void __exit gs_exit(void)
{
	/* Each device's unbind destroys its group first. */
	gs_unregister_devices();
	platform_driver_unregister(&gs_driver);
	ktask_rt_destroy(gs_rt);
}

module_init(gs_init);
module_exit(gs_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("ktask sample: a platform driver with a task group per device");
