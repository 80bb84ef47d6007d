#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program: samples/ktask_echo.ko, a TCP echo server with a ktask
# task per connection, driven by echo_client (bench/echo/echo_client.c).
#
#  1. echo_64b, echo_16k: round trips of 64-byte and 16 KiB messages on
#     several connections, every echoed byte compared.
#  2. clients_gone: once the clients have closed, no connection is open,
#     every connection task was joined and only the listener task is
#     alive on the "echo" runtime.
#  3. debugfs_names: while connections are held open, ktask's tasks file
#     shows one task per connection parked on its socket's wait queue in
#     echo_conn_poll, named "echo <peer>" after the peer that
#     ktask_echo/conns lists for its id, and the listener task by name.
#  4. limit_refuses: with max_conns connections open, more are closed by
#     the server without a byte echoed; served again once they go.
#  5. bad_clients: clients that close mid-message and clients that reset
#     leave nothing behind, and the server still echoes.
#  6. flood_and_echo: one connection floods while others do round trips;
#     both complete and verify.
#  7. rmmod_under_load: with a client that never reads (its task parked
#     for write space) and round trips in progress, rmmod finishes within
#     a bounded time; the runtime is gone and no task cell is left.
# The kernel log must have no WARN, BUG or oops (vm-run.sh fails on them).
# shellcheck disable=SC2317 # the conditions wait_until runs
set -u
. ./ktask_lib.sh

mod=ktask_echo
ko=${KTASK_KO_DIR:-/ktask/modules}/$mod.ko
port=7007
max=8
client=./echo_client
dbg=/sys/kernel/debug
stats=$dbg/ktask_echo/stats
slow=$(cat /ktask/slow 2>/dev/null || echo 1)
tmo=$((60 * slow))
tmp=/tmp/ktask_echo_test
mkdir -p "$tmp"

stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$stats" 2>/dev/null; }
# Tasks alive on the echo runtime; empty once it is destroyed.
alive() { awk '$1 == "echo" { print $7 }' "$dbg/ktask/runtimes"; }
cells() { awk '$1 == "cells_allocated" { print $2 }' "$dbg/ktask/stats"; }
# Tasks of the echo runtime in ktask's tasks file.
echo_tasks() { awk '$2 == "echo"' "$dbg/ktask/tasks"; }

# wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds, for at
# most SECONDS (times the VM's slowness); return its last status.
wait_until()
{
	limit=$(($1 * slow * 10))
	shift
	i=0
	while ! "$@"; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.1
	done
	return 0
}

# Conditions for wait_until.
open_is() { [ "$(stat_of open)" = "$1" ]; }
alive_is() { [ "$(alive)" = "$1" ]; }
cells_are() { [ "$(cells)" = "$1" ]; }
all_reaped() { [ "$(stat_of reaped)" = "$(stat_of accepted)" ]; }
file_has() { grep -q "$2" "$1" 2>/dev/null; }

# quiet: no connection open, all joined, only the listener alive.
quiet()
{
	if ! wait_until 20 open_is 0 || ! wait_until 20 all_reaped ||
	   ! wait_until 20 alive_is 1; then
		echo "# not quiet: open $(stat_of open), accepted $(stat_of accepted), reaped $(stat_of reaped), alive $(alive)"
		echo "# group_len $(stat_of group_len); the echo runtime's tasks:"
		echo_tasks | sed 's/^/# /'
		return 1
	fi
	return 0
}

run_client() { "$client" -p "$port" -T "$tmo" -l ktask_echo "$@"; }
# The same in the background, as the shell's child itself, so that $! is
# the client and a kill reaches it (a backgrounded function is a subshell,
# whose client would outlive the kill and hold the runner's output open).
run_client_bg() { "$client" -p "$port" -T "$tmo" -l ktask_echo "$@" & }

# The VM's init leaves the loopback interface down.
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up

ktap_plan 8
mark="ktask_test_echo_sh: start"
ktask_dmesg_mark "$mark"
before=$(cells)

if ! insmod "$ko" port=$port max_conns=$max; then
	echo "# cannot load $ko"
	for t in echo_64b echo_16k clients_gone debugfs_names limit_refuses \
		 bad_clients flood_and_echo rmmod_under_load; do
		ktap_fail "$t"
	done
	ktap_exit
fi

if run_client -c 4 -n 50 -s 64 -l ktask_echo; then
	ktap_pass echo_64b
else
	ktap_fail echo_64b
fi

if run_client -c 3 -n 10 -s 16384 -l ktask_echo; then
	ktap_pass echo_16k
else
	ktap_fail echo_16k
fi

if quiet && [ "$(stat_of refused)" = 0 ] && [ "$(stat_of accepted)" = 7 ]; then
	ktap_pass clients_gone
else
	echo "# accepted $(stat_of accepted) (expected 7), refused $(stat_of refused)"
	ktap_fail clients_gone
fi

# 3 connections held open after their round trips.
ok=1
run_client_bg -c 3 -n 1 -s 64 -H $((10 * slow)) >"$tmp/hold.out" 2>&1
holder=$!
if ! wait_until 20 open_is 3; then
	echo "# open $(stat_of open), expected 3"
	ok=0
fi
# Parked: on a wait queue, at a site in the connection's poll function.
n=$(echo_tasks | grep -c 'queue:.*echo_conn_poll') || true
if [ "$n" -ne 3 ]; then
	echo "# $n connection tasks parked on a wait queue, expected 3:"
	echo_tasks | sed 's/^/# /'
	ok=0
fi
peers=$(grep -c " 127\.0\.0\.1:[0-9]* 64$" "$dbg/ktask_echo/conns") || true
if [ "$peers" -ne 3 ]; then
	echo "# $peers peers listed with 64 bytes echoed, expected 3:"
	sed 's/^/# /' "$dbg/ktask_echo/conns"
	ok=0
fi
# Each listed id is a live task of the echo runtime, named after its peer.
echo_tasks >"$tmp/tasks"
awk 'NR > 1 { print $1, $2 }' "$dbg/ktask_echo/conns" >"$tmp/conns"
while read -r id peer; do
	if ! awk -v id="$id" -v name=" echo $peer" '$1 == id &&
	     substr($0, length($0) - length(name) + 1) == name { f = 1 }
	     END { exit !f }' "$tmp/tasks"; then
		echo "# connection task $id, named \"echo $peer\", not in ktask's tasks file"
		ok=0
	fi
done <"$tmp/conns"
if ! grep -q " echo listener$" "$tmp/tasks"; then
	echo "# no task named \"echo listener\""
	ok=0
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
quiet || ok=0
if [ "$ok" -eq 1 ]; then
	ktap_pass debugfs_names
else
	ktap_fail debugfs_names
fi

# max_conns held, then two more: both closed without data.
ok=1
refused=$(stat_of refused)
run_client_bg -c $max -n 1 -s 64 -H $((10 * slow)) >"$tmp/hold.out" 2>&1
holder=$!
if ! wait_until 20 open_is $max; then
	echo "# open $(stat_of open), expected $max"
	ok=0
fi
if ! run_client -m refused -c 2 -T $((10 * slow)); then
	ok=0
fi
if [ "$(stat_of refused)" != $((refused + 2)) ]; then
	echo "# refused $(stat_of refused), expected $((refused + 2))"
	ok=0
fi
if [ "$(stat_of open)" != $max ]; then
	echo "# open $(stat_of open) after the refusals, expected $max"
	ok=0
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
quiet || ok=0
run_client -c $max -n 5 -s 64 || ok=0
if [ "$ok" -eq 1 ]; then
	ktap_pass limit_refuses
else
	ktap_fail limit_refuses
fi

ok=1
run_client -m half -c 4 -s 1000 || ok=0
run_client -m rst -c 4 -s 16384 || ok=0
run_client -m half -c 2 -s 16384 || ok=0
quiet || ok=0
run_client -c 4 -n 20 -s 64 || ok=0
quiet || ok=0
if [ "$ok" -eq 1 ]; then
	ktap_pass bad_clients
else
	ktap_fail bad_clients
fi

ok=1
run_client_bg -m flood -d $((2 * slow)) >"$tmp/flood.out" 2>&1
flooder=$!
run_client -c 4 -n 200 -s 64 -l during_flood || ok=0
wait "$flooder" || { echo "# the flooder failed:"; sed 's/^/# /' "$tmp/flood.out"; ok=0; }
grep '^flood' "$tmp/flood.out" | sed 's/^/# /'
quiet || ok=0
if [ "$ok" -eq 1 ]; then
	ktap_pass flood_and_echo
else
	ktap_fail flood_and_echo
fi

# rmmod with a client that never reads and round trips in flight.
ok=1
run_client_bg -m noread -d $((60 * slow)) >"$tmp/noread.out" 2>&1
noread=$!
if ! wait_until 30 file_has "$tmp/noread.out" '^noread: blocked'; then
	echo "# the never-reading client did not fill the connection"
	ok=0
fi
# Its task parked, waiting for room to write.
if ! echo_tasks | grep -q 'queue:.*echo_conn_poll'; then
	echo "# no connection task parked:"
	echo_tasks | sed 's/^/# /'
	ok=0
fi
run_client_bg -c 4 -n 1000000 -s 64 -T $((60 * slow)) >"$tmp/load.out" 2>&1
load=$!
wait_until 20 open_is 5 || { echo "# open $(stat_of open), expected 5"; ok=0; }
start=$(date +%s)
if ! timeout $((20 * slow)) rmmod "$mod"; then
	echo "# rmmod $mod failed or took more than $((20 * slow))s"
	ok=0
fi
echo "# rmmod took $(($(date +%s) - start))s"
kill "$noread" "$load" 2>/dev/null
wait "$noread" 2>/dev/null
# The load client sees its connections closed: its failure is expected.
wait "$load" 2>/dev/null
if [ -n "$(alive)" ]; then
	echo "# the echo runtime is still there after rmmod"
	ok=0
fi
if ! wait_until 10 cells_are "$before"; then
	echo "# cells_allocated $(cells) after unload, $before before"
	ok=0
fi
if ! dmesg | sed -n "/$mark/,\$p" | grep -q "ktask_echo: stopped: "; then
	echo "# ktask_echo did not report its stop"
	ok=0
fi
if [ "$ok" -eq 1 ]; then
	ktap_pass rmmod_under_load
else
	ktask_dmesg_since "$mark"
	ktap_fail rmmod_under_load
fi
grep -q "^$mod " /proc/modules && rmmod "$mod"
rm -rf "$tmp"
ktap_exit
