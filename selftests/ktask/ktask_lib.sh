#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the test_<area>.sh kselftest programs (busybox sh or bash).
#
# ktask_run_area AREA: load ktask_test_AREA.ko from $KTASK_KO_DIR (the VM
# puts every module in /ktask/modules), run its cases with ktask_test_run,
# unload it, and exit with the result. ktask.ko must already be loaded.
# Nothing here exits with kselftest's skip code 4: a test that cannot run
# has failed.

ktask_run_area()
{
	area=$1
	mod=ktask_test_$area
	ko=${KTASK_KO_DIR:-/ktask/modules}/$mod.ko

	if ! insmod "$ko"; then
		echo "# cannot load $ko"
		exit 1
	fi
	rc=0
	./ktask_test_run "$area" || rc=$?
	if ! rmmod "$mod"; then
		echo "# cannot unload $mod"
		rc=1
	fi
	# Not even a program's own skip counts as a pass.
	[ "$rc" -eq 4 ] && rc=1
	exit "$rc"
}

# --- Programs that print their own TAP -----------------------------------
#
# ktap_plan N; then one ktap_pass/ktap_fail/ktap_skip NAME [REASON] per
# case; then ktap_exit, which exits 1 if a case failed, 4 (kselftest's
# skip) if every case was skipped, else 0. A skip is reported as a skip
# (scripts/tap-count.awk counts it apart), never as a pass.

ktap_plan()
{
	ktap_n=0
	ktap_failed=0
	ktap_passed=0
	echo "TAP version 13"
	echo "1..$1"
}

ktap_pass()
{
	ktap_n=$((ktap_n + 1))
	ktap_passed=$((ktap_passed + 1))
	echo "ok $ktap_n $1"
}

ktap_fail()
{
	ktap_n=$((ktap_n + 1))
	ktap_failed=$((ktap_failed + 1))
	echo "not ok $ktap_n $1${2:+ # $2}"
}

ktap_skip()
{
	ktap_n=$((ktap_n + 1))
	echo "ok $ktap_n $1 # SKIP ${2:-}"
}

ktap_exit()
{
	[ "$ktap_failed" -eq 0 ] || exit 1
	[ "$ktap_passed" -gt 0 ] || exit 4
	exit 0
}

# ktask_dmesg_mark MARK writes the line MARK to the kernel log;
# ktask_dmesg_since MARK prints the ktask lines and kernel reports logged
# after it, prefixed with "# ".
ktask_dmesg_mark()
{
	echo "$1" >/dev/kmsg
}

ktask_dmesg_since()
{
	dmesg | sed -n "/$1/,\$p" | sed 1d |
		grep -E 'ktask|BUG|WARNING|Oops|leak' | sed 's/^/# /' || true
}

# ktask_torture NAME DURING [PARAM=VALUE...]: load ktask_torture.ko with
# the parameters, wait until its status file leaves "running", unload it,
# and return 0 if the verdict is SUCCESS. Unless DURING is "-", runs the
# command DURING in the background meanwhile, and fails if it fails.
# Prints the module's report as TAP comments. The wait is bounded by the
# run's duration plus two minutes, times /ktask/slow if the VM has it (a
# slow debug kernel); a run still going then has hung, and is left loaded
# (rmmod would hang too): the kernel's hung-task reports tell the rest.
ktask_torture()
{
	name=$1
	during_cmd=$2
	shift 2
	ko=${KTASK_KO_DIR:-/ktask/modules}/ktask_torture.ko
	status=/sys/kernel/debug/ktask_torture/status
	mark="ktask_torture_sh: $name: start"
	seconds=15
	for a in "$@"; do
		case $a in
		duration=*) seconds=${a#duration=} ;;
		esac
	done
	limit=$(((seconds + 120) * $(cat /ktask/slow 2>/dev/null || echo 1)))

	ktask_dmesg_mark "$mark"
	if ! insmod "$ko" "$@"; then
		echo "# $name: cannot load $ko $*"
		return 1
	fi
	during=
	if [ "$during_cmd" != - ]; then
		"$during_cmd" &
		during=$!
	fi
	t=0
	while [ "$(cat "$status")" = running ] && [ "$t" -lt "$limit" ]; do
		sleep 1
		t=$((t + 1))
	done
	verdict=$(cat "$status")
	trc=0
	if [ -n "$during" ]; then
		[ "$verdict" != running ] || kill "$during" 2>/dev/null || true
		wait "$during" || trc=$?
	fi
	if [ "$verdict" = running ]; then
		echo "# $name: still running after ${t}s: hung; left loaded"
		ktask_dmesg_since "$mark"
		return 1
	fi
	if ! rmmod ktask_torture; then
		echo "# $name: cannot unload ktask_torture"
		trc=1
	fi
	ktask_dmesg_since "$mark"
	echo "# $name: verdict $verdict after ${t}s"
	[ "$verdict" = SUCCESS ] || trc=1
	return "$trc"
}
