#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the ktask test VM (busybox sh), packed by scripts/vm-run.sh.
#
# Loads the modules named in /ktask/load (from /ktask/modules, in order),
# runs the job /ktask/job, unloads the modules in reverse order, prints
# "KTASK-VERDICT: PASS" or "KTASK-VERDICT: FAIL" and powers off. The job's
# output and the verdict go to the console (ttyS0) and to the job channel
# (ttyS1), which carries nothing else. No "set -e": whatever fails, this
# script must reach the verdict and the power-off.

export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export KTASK_KO_DIR=/ktask/modules

mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr

# Report blocked tasks after 30 s instead of 120 s, times /ktask/slow
# (KTASK_SLOW: a debug kernel runs several times slower); the soft-lockup
# detector's 20 s default is left alone.
slow=$(cat /ktask/slow 2>/dev/null || echo 1)
if [ -w /proc/sys/kernel/hung_task_timeout_secs ]; then
	echo $((30 * slow)) >/proc/sys/kernel/hung_task_timeout_secs
fi

# A KCSAN kernel: do not report the kernel's own races listed in
# /ktask/kcsan.ignore (scripts/kcsan.ignore).
if [ -w /sys/kernel/debug/kcsan ]; then
	grep -v '^#' /ktask/kcsan.ignore | while read -r f; do
		[ -n "$f" ] && echo "!$f" >/sys/kernel/debug/kcsan
	done
fi

chan=/dev/ttyS1
stty -F "$chan" raw -echo 2>/dev/null || chan=/dev/null

say()
{
	echo "$*"
	echo "$*" >"$chan"
}

run()
{
	rc=0
	loaded=
	while read -r m; do
		say "ktask-init: insmod $m.ko"
		if ! insmod "$KTASK_KO_DIR/$m.ko"; then
			say "ktask-init: cannot load $m.ko"
			rc=1
			break
		fi
		loaded="$m $loaded"
	done </ktask/load
	if [ "$rc" -eq 0 ]; then
		say "ktask-init: job start"
		{ sh /ktask/job; echo "$?" >/tmp/job.rc; } 2>&1 | tee "$chan"
		rc=$(cat /tmp/job.rc 2>/dev/null || echo 1)
		say "ktask-init: job exit $rc"
	fi
	for m in $loaded; do
		say "ktask-init: rmmod $m"
		if ! rmmod "$m"; then
			say "ktask-init: cannot unload $m"
			rc=1
		fi
	done
	return "$rc"
}

if run; then
	say "KTASK-VERDICT: PASS"
else
	say "KTASK-VERDICT: FAIL"
fi
sync
# The verdict is out: races in the power-off path are the kernel's.
if [ -w /sys/kernel/debug/kcsan ]; then
	echo off >/sys/kernel/debug/kcsan
fi
poweroff -f
# Not reached unless poweroff failed; if this script exits, the kernel
# panics, reboots (panic=-1), and qemu -no-reboot exits.
echo o >/proc/sysrq-trigger
sleep 10
