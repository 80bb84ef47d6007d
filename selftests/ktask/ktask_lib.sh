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
