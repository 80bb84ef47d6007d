#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program: the torture module (ktask_torture.ko) for a bounded
# time (and whether it spawned from hardirq), then again while CPU 1 is taken offline and online in a loop, then
# once more, removed a few seconds into a long run.
set -eu
. ./ktask_lib.sh

cpu1=/sys/devices/system/cpu/cpu1/online

# While the torture runs: offline and online CPU 1 until it finishes.
# shellcheck disable=SC2317 # run by ktask_torture, by name
hotplug_loop()
{
	n=0
	while [ "$(cat /sys/kernel/debug/ktask_torture/status)" = running ]; do
		if ! echo 0 >"$cpu1"; then
			echo "# cannot take cpu1 offline"
			return 1
		fi
		sleep 0.3
		if ! echo 1 >"$cpu1"; then
			echo "# cannot bring cpu1 online"
			return 1
		fi
		n=$((n + 1))
		sleep 0.3
	done
	echo "# cpu1 went offline and online $n times"
	# A run shorter than a few cycles tested nothing.
	[ "$n" -ge 3 ]
}

ktap_plan 4

if ktask_torture torture - duration="${KTASK_TORTURE_SECONDS:-15}"; then
	ktap_pass torture
else
	ktap_fail torture
fi

# Spawns from the hrtimer's hardirq callback, counted by the run above.
# On PREEMPT_RT the module does not try: ktask refuses a spawn from
# hardirq there (api.rst, Context).
if uname -v | grep -q PREEMPT_RT; then
	ktap_skip torture_hardirq_spawn "PREEMPT_RT: ktask refuses a spawn from hardirq there (-EPERM)"
elif dmesg | sed -n '/ktask_torture_sh: torture: start/,$p' |
	grep -q 'ktask_torture: spawned: .*hardirq [1-9]'; then
	ktap_pass torture_hardirq_spawn
else
	echo "# no task spawned from hardirq"
	ktap_fail torture_hardirq_spawn
fi

if [ ! -w "$cpu1" ]; then
	ktap_skip torture_cpu_hotplug "no hotpluggable cpu1"
else
	# A CPU takes seconds to go offline on a slow (debug) kernel: give
	# the run time for a few cycles there too.
	slow=$(cat /ktask/slow 2>/dev/null || echo 1)
	if ktask_torture torture_cpu_hotplug hotplug_loop \
		duration=$((${KTASK_TORTURE_SECONDS:-10} * slow)); then
		ktap_pass torture_cpu_hotplug
	else
		ktap_fail torture_cpu_hotplug
	fi
	[ "$(cat "$cpu1")" = 1 ] || echo 1 >"$cpu1" || true
fi

# Unloaded in the middle of a run, the module stops it, tears its runtimes
# down with their tasks running, and still finds everything in order.
rc=0
mark="ktask_torture_sh: torture_rmmod_early: start"
ktask_dmesg_mark "$mark"
if insmod "${KTASK_KO_DIR:-/ktask/modules}/ktask_torture.ko" duration=600; then
	sleep 3
	rmmod ktask_torture || rc=1
	ktask_dmesg_since "$mark"
	dmesg | sed -n "/$mark/,\$p" | grep -q 'ktask_torture: SUCCESS' || rc=1
else
	rc=1
fi
if [ "$rc" -eq 0 ]; then
	ktap_pass torture_rmmod_early
else
	ktap_fail torture_rmmod_early
fi

ktap_exit
