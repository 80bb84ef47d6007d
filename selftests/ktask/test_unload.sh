#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program: module unload.
#
#  1. A client module (ktask_test_unload.ko) whose tasks run on a runtime
#     it does not own is pinned by them: rmmod of it fails.
#  2. While a client is loaded, rmmod of ktask fails and ktask stays.
#  3. Once those tasks are released, rmmod of the client succeeds while
#     the tasks on its own runtime still run; its exit checks that all of
#     them were cancelled and dropped, and logs PASS or FAIL.
#  4. Loading and unloading ktask 200 times leaves nothing behind: its
#     slab cache and debugfs directory go each time, no slab cache grows by
#     an object per cycle (in each half of the cycles, and by more than a
#     slab: /proc/slabinfo counts whole slabs that a process just touched),
#     and kmemleak (when the kernel has it) finds nothing. ktask is loaded
#     again at the end.
set -eu
. ./ktask_lib.sh

dir=${KTASK_KO_DIR:-/ktask/modules}
client=ktask_test_unload
cycles=${KTASK_UNLOAD_CYCLES:-200}

loaded()
{
	grep -q "^$1 " /proc/modules
}

# rmmod that may have to wait for the last pins to drop: a join returns
# before the task's module reference is put.
rmmod_retry()
{
	i=0
	while ! rmmod "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -lt 50 ] || return 1
		sleep 0.1
	done
}

# slab_snapshot FILE: shrink every slab cache, so that /proc/slabinfo
# counts objects nearly exactly, and copy it to FILE at once (a pipeline
# in between would allocate new slabs).
slab_snapshot()
{
	for s in /sys/kernel/slab/*/shrink; do
		echo 1 >"$s" 2>/dev/null || true
	done
	cat /proc/slabinfo >"$1"
}

ktap_plan 4
mark="ktask_test_unload_sh: start"
ktask_dmesg_mark "$mark"

# --- 1, 2, 3: a client unloaded under load -------------------------------
if ! insmod "$dir/$client.ko"; then
	echo "# cannot load $client.ko"
	ktap_fail client_pinned_by_tasks
	ktap_fail ktask_busy_while_client_loaded
	ktap_fail client_unload_under_load
else
	sleep 1
	if rmmod "$client" 2>/dev/null || ! loaded "$client"; then
		echo "# rmmod $client succeeded while its tasks pinned it"
		ktap_fail client_pinned_by_tasks
	else
		ktap_pass client_pinned_by_tasks
	fi

	if loaded "$client" && { rmmod ktask 2>/dev/null || ! loaded ktask; }; then
		echo "# rmmod ktask succeeded while $client used it"
		ktap_fail ktask_busy_while_client_loaded
	else
		ktap_pass ktask_busy_while_client_loaded
	fi

	ok=1
	if loaded "$client"; then
		echo 1 >/sys/kernel/debug/$client/release || ok=0
		if ! rmmod_retry "$client"; then
			echo "# cannot unload $client after releasing its pins"
			ok=0
		fi
	fi
	ktask_dmesg_since "$mark"
	dmesg | sed -n "/$mark/,\$p" | grep -q "$client: exit: PASS" || ok=0
	if [ "$ok" -eq 1 ]; then
		ktap_pass client_unload_under_load
	else
		ktap_fail client_unload_under_load
	fi
fi

# --- 4: load and unload ktask many times ---------------------------------
leak_cycle()
{
	insmod "$dir/ktask.ko" || { echo "# insmod ktask failed"; return 1; }
	[ -d /sys/kernel/debug/ktask ] || { echo "# no debugfs directory"; return 1; }
	rmmod ktask || { echo "# rmmod ktask failed"; return 1; }
	if [ -d /sys/kernel/debug/ktask ]; then
		echo "# /sys/kernel/debug/ktask left after rmmod"
		return 1
	fi
	if grep -q '^ktask_cell ' /proc/slabinfo; then
		echo "# slab cache ktask_cell left after rmmod"
		return 1
	fi
}

ok=1
if ! rmmod ktask; then
	echo "# cannot unload ktask to start the cycles"
	ok=0
else
	# Warm up, so that what the first loads allocate for good is there.
	for i in 1 2 3; do
		leak_cycle || ok=0
	done
	# Two halves: a leak grows a cache by an object per cycle in both,
	# while the noise (delayed fput, RCU frees, fresh slabs) comes and goes.
	half=$((cycles / 2))
	slab_snapshot /tmp/slab.0
	i=0
	for snap in 1 2; do
		n=0
		while [ "$ok" -eq 1 ] && [ "$n" -lt "$half" ]; do
			leak_cycle || ok=0
			n=$((n + 1))
		done
		i=$((i + n))
		sleep 1
		slab_snapshot /tmp/slab.$snap
	done
	echo "# $i load/unload cycles"
	# Columns: name active_objs num_objs objsize objperslab ...
	grown=$(awk -v n="$half" '
		FNR <= 2 { next }
		FILENAME ~ /0$/ { s0[$1] = $2; next }
		FILENAME ~ /1$/ { s1[$1] = $2; next }
		{ min = n > $5 ? n : $5 + 1 }
		$2 - s1[$1] >= min && s1[$1] - s0[$1] >= min {
			print $1, s0[$1], "->", s1[$1], "->", $2
		}' /tmp/slab.0 /tmp/slab.1 /tmp/slab.2)
	if [ -n "$grown" ]; then
		echo "# slab caches that grew by an object per cycle or more:"
		echo "$grown" | sed 's/^/#   /'
		ok=0
	fi
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		if grep -q unreferenced /sys/kernel/debug/kmemleak; then
			echo "# kmemleak:"
			sed 's/^/#   /' /sys/kernel/debug/kmemleak | head -n 40
			ok=0
		fi
	else
		echo "# no kmemleak in this kernel: slab counts only"
	fi
	if ! insmod "$dir/ktask.ko"; then
		echo "# cannot load ktask again"
		ok=0
	fi
fi
if [ "$ok" -eq 1 ]; then
	ktap_pass ktask_load_unload_cycles
else
	ktap_fail ktask_load_unload_cycles
fi

ktap_exit
