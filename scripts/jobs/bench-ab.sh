# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "bench-ab": ktask's own benchmarks for two builds of ktask.ko in one
# boot, taking turns, so that the host's load, which moves absolute times
# by 2x from one boot to the next, falls on both alike. "make bench-ab
# BASE=<rev>" builds <rev> in build/ab-base and runs this; the build of the
# working tree is "new". Prints, per figure, the median of each build over
# the rounds and new's advantage (>1: new is better).

# The job loads its modules itself, in turns.
job_load=()

job_stage() {
	local root=$1 base=${KTASK_AB_BASE:?KTASK_AB_BASE: a tree with a built ktask/ktask.ko}

	mkdir -p "$root/ktask/ab"
	# Each build's benchmark module: symbol versions cover ktask's
	# internal structures.
	cp "$base/ktask/ktask.ko" "$root/ktask/ab/base.ko"
	cp "$base/bench/ktask_bench.ko" "$root/ktask/ab/base_bench.ko"
	cp "$KTASK_MODDIR/ktask/ktask.ko" "$root/ktask/ab/new.ko"
	cp "$KTASK_MODDIR/bench/ktask_bench.ko" "$root/ktask/ab/new_bench.ko"
	echo "${KTASK_AB_ROUNDS:-6}" >"$root/ktask/ab/rounds"
	# One contender of the two builds (ktask, or ktask_bulk), and more
	# parameters of the benchmark module (e.g. figures=spawn_detached).
	echo "${KTASK_AB_ONLY:-ktask}" >"$root/ktask/ab/only"
	echo "${KTASK_AB_ARGS:-}" >"$root/ktask/ab/args"
}

job_report() {
	local out=$1

	tr -d '\r' <"$out/job.log" | awk '
	$1 == "result" {
		delete kv
		for (i = 2; i <= NF; i++) {
			split($i, p, "=")
			kv[p[1]] = p[2]
		}
		f = kv["figure"]
		if (!(f in unit))
			order[n++] = f
		unit[f] = kv["unit"]
		vals[f, kv["contender"]] = vals[f, kv["contender"]] " " kv["value"]
	}
	function median(s,    a, k, i, j, t) {
		k = split(s, a, " ")
		for (i = 1; i <= k; i++)
			for (j = i + 1; j <= k; j++)
				if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	END {
		if (!n) { print "bench-ab: no results"; exit 1 }
		printf "%-28s %-14s %12s %12s %8s\n", "figure", "unit", "base", "new", "new adv."
		for (i = 0; i < n; i++) {
			f = order[i]
			b = median(vals[f, "base"]); w = median(vals[f, "new"])
			higher = unit[f] ~ /^tasks\// || f ~ /^polls_per_drain/
			adv = higher ? (b ? w / b : 0) : (w ? b / w : 0)
			printf "%-28s %-14s %12.0f %12.0f %7.2fx\n", f, unit[f], b, w, adv
		}
	}'
}
