#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the cell depot (ktask/cell.c): a burst of spawns
# leaves its free cells in the depot for the next burst, never more than
# cell_depot_max of them, and an idle depot gives them back to the slab
# within seconds; spawns in batches smaller than a magazine take their
# cells from it too.  The bursts are cases cell_burst_spawn_join and
# cell_burst_bulk_spawn_join of ktask_test_bulk.ko (4096 tasks alive at
# once, then joined).
set -eu
. ./ktask_lib.sh

stats=/sys/kernel/debug/ktask/stats
param=/sys/module/ktask/parameters
ko=${KTASK_KO_DIR:-/ktask/modules}/ktask_test_bulk.ko
depot() { awk '$1 == "cells_depot" { print $2 }' "$stats"; }
burst() { echo cell_burst_spawn_join >/sys/kernel/debug/ktask_test_bulk/run; }
bulk_burst() { echo cell_burst_bulk_spawn_join >/sys/kernel/debug/ktask_test_bulk/run; }

ktap_plan 4
if [ "$(cat "$param/cell_cache")" != Y ]; then
	for t in depot_keeps_a_burst bulk_spawns_take_from_the_depot \
		depot_stays_under_its_max idle_depot_empties; do
		ktap_skip "$t" "the cell caches are off (cell_cache=N, as on the memory-checking debug kernel)"
	done
	ktap_exit
fi
if ! insmod "$ko"; then
	echo "# cannot load $ko"
	exit 1
fi
max=$(cat "$param/cell_depot_max")
# Whatever happens below, the next tests get the depot they expect.
trap 'echo "$max" >"$param/cell_depot_max"' EXIT

# The joins free 4096 cells where nothing takes them: past the per-CPU
# caches (64 cells each) they wait in the depot, far more of them than the
# 256 a depot without chained magazines kept.  The decay takes half of
# what was not used in a second, at the earliest a second after the burst.
if burst; then
	n=$(depot)
	echo "# cells_depot $n after a burst of 4096"
	if [ "$n" -gt 256 ]; then
		ktap_pass depot_keeps_a_burst
	else
		ktap_fail depot_keeps_a_burst "cells_depot $n, not > 256"
	fi
else
	ktap_fail depot_keeps_a_burst "the burst case failed"
fi

# The same burst in batches of 16 (half a magazine) takes its cells from
# the depot and gives them back: it ends as full as it was, give or take
# the per-CPU caches (64 cells each, which the spawning CPU cannot reach,
# and a magazine).  Cells from the slab would add about 4096 (or, if the
# decay ran meanwhile, about 4096 plus a quarter of what it held).
n0=$(depot)
slack=$((64 * $(grep -c ^processor /proc/cpuinfo) + 32))
if bulk_burst; then
	n=$(depot)
	echo "# cells_depot $n0 before a burst of 4096 in batches of 16, $n after"
	if [ "$n" -le $((n0 + slack)) ]; then
		ktap_pass bulk_spawns_take_from_the_depot
	else
		ktap_fail bulk_spawns_take_from_the_depot "cells_depot $n0, then $n: the batches missed the depot"
	fi
else
	ktap_fail bulk_spawns_take_from_the_depot "the bulk burst case failed"
fi

# A lower maximum gives the excess back at once, and holds after a burst.
echo 256 >"$param/cell_depot_max"
n0=$(depot)
if burst; then
	n=$(depot)
	echo "# cells_depot $n0 once cell_depot_max was 256, $n after a burst of 4096"
	if [ "$n0" -le 256 ] && [ "$n" -le 256 ]; then
		ktap_pass depot_stays_under_its_max
	else
		ktap_fail depot_stays_under_its_max "cells_depot $n0, then $n: not <= 256"
	fi
else
	ktap_fail depot_stays_under_its_max "the burst case failed"
fi
echo "$max" >"$param/cell_depot_max"

if burst && rmmod ktask_test_bulk; then
	# Half of the idle depot per second: 4096 cells (128 magazines) go
	# in about eight seconds.  Bounded: a decay that stopped fails here.
	t=0
	limit=$((30 * $(cat /ktask/slow 2>/dev/null || echo 1)))
	while [ "$(depot)" -gt 0 ] && [ "$t" -lt "$limit" ]; do
		sleep 1
		t=$((t + 1))
	done
	n=$(depot)
	echo "# cells_depot $n after ${t}s idle"
	if [ "$n" -eq 0 ]; then
		ktap_pass idle_depot_empties
	else
		ktap_fail idle_depot_empties "cells_depot $n after ${t}s"
	fi
else
	ktap_fail idle_depot_empties "the burst case failed, or ktask_test_bulk did not unload"
	rmmod ktask_test_bulk 2>/dev/null || true
fi
ktap_exit
