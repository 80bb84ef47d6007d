#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program: samples/ktask_group_sample.ko, a platform driver with a
# task group per device, under load.
#
#  1. Loaded with 4 devices of 32 polling tasks (ticking every 2 ms) and a
#     blocking task each, every device probes and its tasks run.
#  2. 20 times, every device is unbound (remove destroys its group: every
#     task aborted and waited for) and bound again (probe spawns anew),
#     while the other devices' tasks keep running; after each round the
#     runtime has every device's polling tasks again.
#  3. rmmod removes the devices and destroys the runtime; no task cell is
#     left (ktask's cells_allocated returns to what it was), and every
#     remove (4 x 21) reported, some with ticks counted.
set -eu
. ./ktask_lib.sh

mod=ktask_group_sample
ko=${KTASK_KO_DIR:-/ktask/modules}/$mod.ko
drv=/sys/bus/platform/drivers/$mod
stats=/sys/kernel/debug/ktask/stats
runtimes=/sys/kernel/debug/ktask/runtimes
ndev=4
npoll=32

cells() { awk '$1 == "cells_allocated" { print $2 }' "$stats"; }
# Tasks alive on the sample's runtime.
alive() { awk '$1 == "group_sample" { print $7 }' "$runtimes"; }

ktap_plan 3
mark="ktask_test_group_sample_sh: start"
ktask_dmesg_mark "$mark"
before=$(cells)

if ! insmod "$ko" devices=$ndev pollers=$npoll period_ms=2 fw_ms=5; then
	echo "# cannot load $ko"
	ktap_fail probe_spawns_group
	ktap_fail unbind_bind_under_load
	ktap_fail unload_leaves_nothing
	ktap_exit
fi

n=$(alive)
if [ "${n:-0}" -ge $((ndev * npoll)) ]; then
	ktap_pass probe_spawns_group
else
	echo "# $n tasks alive after probe, expected at least $((ndev * npoll))"
	ktap_fail probe_spawns_group
fi

ok=1
round=0
while [ "$round" -lt 20 ] && [ "$ok" -eq 1 ]; do
	d=0
	while [ "$d" -lt "$ndev" ]; do
		echo "$mod.$d" >"$drv/unbind" || ok=0
		echo "$mod.$d" >"$drv/bind" || ok=0
		d=$((d + 1))
	done
	n=$(alive)
	if [ "${n:-0}" -lt $((ndev * npoll)) ]; then
		echo "# round $round: $n tasks alive, expected at least $((ndev * npoll))"
		ok=0
	fi
	round=$((round + 1))
done
if [ "$ok" -eq 1 ]; then
	ktap_pass unbind_bind_under_load
else
	ktask_dmesg_since "$mark"
	ktap_fail unbind_bind_under_load
fi

ok=1
rmmod "$mod" || { echo "# cannot unload $mod"; ok=0; }
# Cells go just after their tasks complete: wait for them, boundedly.
i=0
while [ "$(cells)" != "$before" ] && [ "$i" -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ "$(cells)" != "$before" ]; then
	echo "# cells_allocated $(cells) after unload, $before before"
	ok=0
fi
log=$(dmesg | sed -n "/$mark/,\$p")
removes=$(echo "$log" | grep -c "$mod $mod\.[0-9]*: removed: [0-9]* ticks" || true)
ticked=$(echo "$log" | grep -c "$mod $mod\.[0-9]*: removed: [1-9][0-9]* ticks" || true)
if [ "$removes" -ne $((ndev * 21)) ] || [ "$ticked" -eq 0 ]; then
	echo "# $removes removes reported ($ticked with ticks), expected $((ndev * 21))"
	ok=0
fi
if [ "$ok" -eq 1 ]; then
	ktap_pass unload_leaves_nothing
else
	ktask_dmesg_since "$mark"
	ktap_fail unload_leaves_nothing
fi
ktap_exit
