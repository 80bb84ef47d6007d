#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program: misuse that must be reported (ktask_test_report.ko).
#
# Each case makes a mistake on purpose; it runs between the marks
#   ktask-expect-report: begin CASE
#   ktask-expect-report: end CASE
# in the kernel log, inside which scripts/vm-run.sh does not count kernel
# reports as failures. This program then checks that the expected report
# is there. A case the kernel cannot show (the lockdep case without
# CONFIG_PROVE_LOCKING) is skipped, and counted as a skip. Runs last:
# lockdep turns itself off after its report.
set -eu
. ./ktask_lib.sh

mod=ktask_test_report
dir=/sys/kernel/debug/$mod
ko=${KTASK_KO_DIR:-/ktask/modules}/$mod.ko

# expect CASE PATTERN COUNT: run CASE between the marks; pass if it
# succeeded and PATTERN is in the log, after the begin mark, COUNT times.
expect()
{
	ktask_dmesg_mark "ktask-expect-report: begin $1"
	rc=0
	if ! echo "$1" >"$dir/run"; then
		rc=1
	fi
	ktask_dmesg_mark "ktask-expect-report: end $1"
	n=$(dmesg | sed -n "/ktask-expect-report: begin $1\$/,/ktask-expect-report: end $1\$/p" |
		grep -c -E "$2" || true)
	if [ "$rc" -ne 0 ]; then
		echo "# $1: the case failed"
		ktask_dmesg_since "ktask-expect-report: begin $1"
		ktap_fail "$1"
	elif [ "$n" -ne "$3" ]; then
		echo "# $1: $n reports matching '$2', expected $3"
		ktask_dmesg_since "ktask-expect-report: begin $1"
		ktap_fail "$1"
	else
		ktap_pass "$1"
	fi
}

ktap_plan 4
if ! insmod "$ko"; then
	echo "# cannot load $ko"
	ktap_fail consumed_handle_misuse
	ktap_fail consumed_handle_after_free
	ktap_fail stale_handle_refused
	ktap_fail join_under_lock_reported
	ktap_exit
fi

expect consumed_handle_misuse \
	'ktask: (join|detach|abort) of a consumed join handle \(task [0-9]+, spawned at consumed_handle_misuse\+' 3
if grep -qx consumed_handle_after_free "$dir/cases"; then
	expect consumed_handle_after_free \
		'ktask: (join|detach) of a consumed join handle \(task [0-9]+, spawned at consumed_handle_after_free\+' 2
else
	ktap_skip consumed_handle_after_free "the cell caches are off on the memory-checking kernel"
fi
expect stale_handle_refused 'ktask: join through a stale handle: its task is gone' 1
if grep -qx join_under_lock_reported "$dir/cases"; then
	expect join_under_lock_reported 'possible circular locking dependency detected' 1
else
	ktap_skip join_under_lock_reported "no CONFIG_PROVE_LOCKING in this kernel"
fi

rmmod "$mod" || { echo "# cannot unload $mod"; exit 1; }
ktap_exit
