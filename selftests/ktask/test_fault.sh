#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program: fault injection.
#
#  fail_spawn       ktask's own fault point
#                   (/sys/kernel/debug/ktask/fail_spawn/, needs
#                   CONFIG_FAULT_INJECTION and CONFIG_FAULT_INJECTION_DEBUG_FS)
#                   fails a third of the spawns of ktask_test_fault's case;
#  failslab_cell    failslab (CONFIG_FAILSLAB) fails a third of the task
#                   cell allocations: only the ktask_cell and ktask_cell_ext
#                   (named and placed tasks) caches, marked for it with
#                   slub_debug=A,ktask_cell,ktask_cell_ext on the kernel
#                   command line, are filtered in;
#  fail_percpu      ktask's fault point for its alloc_percpu() calls
#                   (/sys/kernel/debug/ktask/fail_percpu/) fails a third
#                   of them while runtimes are created (run queues,
#                   histograms): failslab does not reach them;
#  torture_faults   the torture module runs with fail_spawn and failslab
#                   at a few percent.
#
# Each asserts that the faults fired, that spawns failed with -ENOMEM and
# nothing else, and that nothing leaked. A case whose fault cannot be set
# up on this kernel is reported as a skip, with the reason.
set -eu
. ./ktask_lib.sh

dir=${KTASK_KO_DIR:-/ktask/modules}
fs=/sys/kernel/debug/ktask/fail_spawn
fp=/sys/kernel/debug/ktask/fail_percpu
fsl=/sys/kernel/debug/failslab
cellflag=/sys/kernel/slab/ktask_cell/failslab
extflag=/sys/kernel/slab/ktask_cell_ext/failslab

have_fail_spawn()
{
	[ -w "$fs/probability" ]
}

have_failslab()
{
	[ -w "$fsl/probability" ] && [ -r "$cellflag" ] &&
		[ "$(cat "$cellflag")" = 1 ] && [ -r "$extflag" ] &&
		[ "$(cat "$extflag")" = 1 ]
}

failslab_why()
{
	if [ ! -d "$fsl" ]; then
		echo "no $fsl (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"
	else
		echo "ktask_cell or ktask_cell_ext not marked for failslab (boot with slub_debug=A,ktask_cell,ktask_cell_ext)"
	fi
}

# fault_set DIR PERCENT: fail PERCENT% of the calls, quietly, for ever.
fault_set()
{
	echo 0 >"$1/verbose"
	echo 1 >"$1/interval"
	echo -1 >"$1/times"
	echo 0 >"$1/space"
	echo "$2" >"$1/probability"
}

fault_off()
{
	echo 0 >"$1/probability"
}

failslab_on()
{
	echo Y >"$fsl/cache-filter"
	echo N >"$fsl/ignore-gfp-wait"
	fault_set "$fsl" "$1"
}

failslab_off()
{
	fault_off "$fsl"
	echo Y >"$fsl/ignore-gfp-wait"
	echo N >"$fsl/cache-filter"
}

run_case()
{
	echo "$1" >/sys/kernel/debug/ktask_test_fault/run
}

ktap_plan 5
if ! have_fail_spawn && ! have_failslab; then
	echo "# no fault injection in this kernel"
fi

mark="ktask_test_fault_sh: start"
ktask_dmesg_mark "$mark"
loaded=0
if have_fail_spawn || have_failslab; then
	if insmod "$dir/ktask_test_fault.ko"; then
		loaded=1
	else
		echo "# cannot load ktask_test_fault.ko"
	fi
fi

if ! have_fail_spawn; then
	ktap_skip fail_spawn "no $fs (CONFIG_FAULT_INJECTION_DEBUG_FS)"
elif [ "$loaded" -eq 0 ]; then
	ktap_fail fail_spawn
else
	fault_set "$fs" 33
	rc=0
	run_case spawn_under_faults || rc=1
	run_case bulk_spawn_under_faults || rc=1
	fault_off "$fs"
	if [ "$rc" -eq 0 ]; then
		ktap_pass fail_spawn
	else
		ktap_fail fail_spawn
	fi
fi

if ! have_failslab; then
	ktap_skip failslab_cell "$(failslab_why)"
elif [ "$loaded" -eq 0 ]; then
	ktap_fail failslab_cell
else
	# The depot of free cells (cell.c) would serve the spawns without a
	# slab allocation to fail: empty it, and keep it empty meanwhile.
	depot_max=$(cat /sys/module/ktask/parameters/cell_depot_max)
	echo 0 >/sys/module/ktask/parameters/cell_depot_max
	failslab_on 33
	rc=0
	run_case spawn_under_faults || rc=1
	run_case bulk_spawn_under_faults || rc=1
	failslab_off
	echo "$depot_max" >/sys/module/ktask/parameters/cell_depot_max
	if [ "$rc" -eq 0 ]; then
		ktap_pass failslab_cell
	else
		ktap_fail failslab_cell
	fi
fi

# Every allocation of this thread fails at 20 %: runtimes, groups, tokens
# and spawns into groups (the case marks itself with make_it_fail).
if ! [ -w "$fsl/task-filter" ]; then
	ktap_skip failslab_groups "$(failslab_why)"
elif [ "$loaded" -eq 0 ]; then
	ktap_fail failslab_groups
else
	echo Y >"$fsl/task-filter"
	echo N >"$fsl/ignore-gfp-wait"
	fault_set "$fsl" 20
	rc=0
	run_case groups_and_tokens_under_faults || rc=1
	fault_off "$fsl"
	echo Y >"$fsl/ignore-gfp-wait"
	echo N >"$fsl/task-filter"
	if [ "$rc" -eq 0 ]; then
		ktap_pass failslab_groups
	else
		ktap_fail failslab_groups
	fi
fi

# ktask's fail_percpu point fails a third of the per-CPU allocations of
# runtime creates (run queues, histograms).
if ! have_fail_spawn; then
	ktap_skip fail_percpu "no $fp (CONFIG_FAULT_INJECTION_DEBUG_FS)"
elif [ "$loaded" -eq 0 ]; then
	ktap_fail fail_percpu
else
	fault_set "$fp" 33
	rc=0
	run_case runtimes_under_percpu_faults || rc=1
	fault_off "$fp"
	if [ "$rc" -eq 0 ]; then
		ktap_pass fail_percpu
	else
		ktap_fail fail_percpu
	fi
fi

if [ "$loaded" -eq 1 ] && ! rmmod ktask_test_fault; then
	echo "# cannot unload ktask_test_fault"
	ktap_failed=$((ktap_failed + 1))
fi
ktask_dmesg_since "$mark"

if ! have_fail_spawn && ! have_failslab; then
	ktap_skip torture_faults "no fault injection in this kernel"
else
	have_fail_spawn && fault_set "$fs" 3
	have_failslab && failslab_on 3
	rc=0
	ktask_torture torture_faults - duration=10 || rc=1
	have_fail_spawn && fault_off "$fs"
	have_failslab && failslab_off
	# The faults must have fired.
	if ! dmesg | grep 'ktask_torture: joined' | tail -n 1 |
		grep -q -- '-ENOMEM [1-9]'; then
		echo "# no spawn failed under fault injection"
		rc=1
	fi
	if [ "$rc" -eq 0 ]; then
		ktap_pass torture_faults
	else
		ktap_fail torture_faults
	fi
fi

ktap_exit
