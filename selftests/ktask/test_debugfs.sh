#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for ktask's debugfs files, long-poll detector and
# tracepoints: ktask_debugfs_test against ktask_test_introspect.ko.
set -eu
ko=${KTASK_KO_DIR:-/ktask/modules}/ktask_test_introspect.ko
if ! insmod "$ko"; then
	echo "# cannot load $ko"
	exit 1
fi
rc=0
./ktask_debugfs_test || rc=$?
rmmod ktask_test_introspect || rc=1
# Not even a program's own skip counts as a pass.
[ "$rc" -eq 4 ] && rc=1
exit "$rc"
