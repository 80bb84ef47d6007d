# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "bench": load ktask and the benchmark module, read its debugfs file
# (which runs every benchmark, every round), then turn the results into
# bench/results.csv, bench/throughput.svg, a table and the README's
# Performance section. Sourced by vm-run.sh (see its header).

job_load=(ktask ktask_bench)

job_report() {
	local out=$1

	tr -d '\r' <"$out/job.log" | grep -E '^(ktask_bench|result|ktask_stats) ' >"$out/results.txt" || true
	if ! grep -q '^result ' "$out/results.txt"; then
		echo "bench: no results in $out/job.log"
		return 1
	fi
	bash "$KTASK_SRC/scripts/bench-report.sh" "$out/results.txt"
}
