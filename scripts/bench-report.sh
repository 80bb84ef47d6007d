#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench-report.sh RESULTS: turn the "result ..." lines of ktask_bench and
# of bench/tokio (one per figure, contender and round) into
#   bench/results.csv     the median, minimum and maximum over the rounds
#                         of every figure and contender, and ktask's polls
#                         per drain in each benchmark's runtime (from the
#                         "ktask_stats" lines: ktask's debugfs stats);
#   a table on stdout     every figure's medians, and ktask's advantage over
#                         each baseline (>1: ktask is better; for tasks/s
#                         ktask/baseline, for ns, bytes and allocations
#                         baseline/ktask), Tokio included; a column for
#                         every contender with results, and a line saying
#                         why Tokio has none or lacks some;
#   bench/throughput.svg  throughput against producers (gnuplot, if
#                         installed: scripts/deps.sh --bench);
#   README.md             the Performance table between the
#                         "<!-- bench:begin -->" and "<!-- bench:end -->"
#                         markers.
# Run by "make bench" (scripts/jobs/bench.sh) on the VM's output.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

(($# == 1)) || { sed -n '4,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
results=$1
[[ -r "$results" ]] || die "cannot read $results"

dir=$KTASK_SRC/bench
csv=$dir/results.csv
svg=$dir/throughput.svg
readme=$KTASK_SRC/README.md
# The columns' order; contenders without results are left out, unknown
# ones are added at the end.
known="ktask ktask_bulk wq_percpu wq_unbound kthread_worker async tokio"

# --- medians ---------------------------------------------------------------
header=$(grep -m1 '^ktask_bench version=' "$results" || true)
# bench/tokio's build ("tokio=V rustc=V"), and why it has no results (not
# built, or failed), from scripts/jobs/bench.sh and bench.guest.
tokio_build=$(sed -n 's/^ktask_bench tokio: build //p' "$results" | head -n 1)
tokio_why=$(sed -n -E '/^ktask_bench tokio: (error|failed)/{s/^ktask_bench tokio: //p;q}' "$results")
tokio_why=${tokio_why:-$(sed -n '/^ktask_bench tokio: missing: /{s///p;q}' "$results")}
{
	echo "figure,contender,unit,median,min,max,rounds"
	awk '
	$1 == "result" {
		delete kv
		for (i = 2; i <= NF; i++) {
			split($i, p, "=")
			kv[p[1]] = p[2]
		}
		key = kv["figure"] "," kv["contender"]
		if (!(key in unit))
			order[n++] = key
		unit[key] = kv["unit"]
		vals[key] = vals[key] " " kv["value"]
	}
	function num(x) {
		return x == int(x) ? sprintf("%.0f", x) : sprintf("%.2f", x)
	}
	END {
		for (k = 0; k < n; k++) {
			key = order[k]
			m = split(substr(vals[key], 2), v, " ")
			# insertion sort: a handful of rounds
			for (i = 2; i <= m; i++) {
				x = v[i] + 0
				for (j = i - 1; j >= 1 && v[j] + 0 > x; j--)
					v[j + 1] = v[j]
				v[j + 1] = x
			}
			med = (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
			# Every digit: %g would print 1.23404e+06.
			printf "%s,%s,%s,%s,%s,%d\n", key, unit[key], num(med),
				num(v[1]), num(v[m]), m
		}
	}' "$results"
	# ktask's own statistics of the benchmark's runtimes (one per kind of
	# benchmark): polls per drain, over the boot.
	awk '
	$1 == "ktask_stats" && $2 == "runtime" {
		for (i = 2; i <= NF; i++) col[$i] = i
		next
	}
	$1 == "ktask_stats" && $(col["cpu"]) == "all" && $(col["drains"]) > 0 {
		name = $(col["runtime"])
		sub(/^bench_?/, "", name)
		if (name == "") name = "throughput"
		printf "polls_per_drain_%s,ktask,polls,%.2f,%.2f,%.2f,1\n", name,
			$(col["polls"]) / $(col["drains"]), $(col["polls"]) / $(col["drains"]),
			$(col["polls"]) / $(col["drains"])
	}' "$results"
} | sort -t, -k1,1 -s >"$csv.tmp"
# The header first, then the figures in name order.
{ grep '^figure,' "$csv.tmp"; grep -v '^figure,' "$csv.tmp"; } >"$csv"
rm -f "$csv.tmp"
echo "bench: wrote ${csv#"$KTASK_SRC"/} (${header:-no header})"

present=$(awk -F, 'NR > 1 { print $2 }' "$csv" | sort -u)
contenders=
for c in $known $present; do
	if grep -qxF "$c" <<<"$present" && [[ " $contenders " != *" $c "* ]]; then
		contenders+=${contenders:+ }$c
	fi
done
# One line on Tokio for the terminal and the README.
if ! grep -qx tokio <<<"$present"; then
	tokio_note="Tokio: not measured in this run: ${tokio_why:-no results from bench/tokio}."
elif [[ -n "$tokio_why" ]]; then
	tokio_note="Tokio: incomplete: $tokio_why."
else
	tokio_note="tokio: Tokio's multi-threaded runtime${tokio_build:+ ($tokio_build)}, a worker per CPU,"
	tokio_note+=" in a static program (bench/tokio) run in the same boot after the kernel's benchmarks;"
	tokio_note+=" its producers are threads outside the runtime (Handle::spawn, Handle::block_on)."
fi

# --- the table -------------------------------------------------------------
# Prints one row per figure: unit, the medians, then ktask's advantage.
table() {
	local fmt=$1

	awk -F, -v contenders="$contenders" -v fmt="$fmt" '
	NR > 1 {
		if (!($1 in seen)) { seen[$1] = 1; figs[nf++] = $1 }
		unit[$1] = $3
		med[$1, $2] = $4
	}
	function better_high(f) { return unit[f] ~ /^tasks\// }
	function ratio(f, c,   k, b) {
		# ktask_bulk is ktask too (ktask_spawn_bulk()): not a baseline.
		if (c == "ktask_bulk") return ""
		# Busy CPUs are neither better nor worse: per_cpu_pN says.
		if (unit[f] == "cpus/100") return ""
		if (!((f, c) in med) || !((f, "ktask") in med)) return ""
		k = med[f, "ktask"]; b = med[f, c]
		if (k == 0 || b == 0) return ""
		return sprintf("%.2fx", better_high(f) ? k / b : b / k)
	}
	BEGIN { nc = split(contenders, cs, " ") }
	END {
		if (fmt == "text") {
			printf "%-26s %-12s", "figure", "unit"
			for (i = 1; i <= nc; i++) printf " %14s", cs[i]
			printf "\n"
		} else {
			printf "| figure | unit |"
			for (i = 1; i <= nc; i++) printf " %s |", cs[i]
			printf "\n|---|---|"
			for (i = 1; i <= nc; i++) printf "---:|"
			printf "\n"
		}
		for (j = 0; j < nf; j++) {
			f = figs[j]
			if (fmt == "text") {
				printf "%-26s %-12s", f, unit[f]
				for (i = 1; i <= nc; i++)
					printf " %14s", ((f, cs[i]) in med) ? med[f, cs[i]] : "-"
				printf "\n"
				line = sprintf("%-26s %-12s %14s", "  ktask advantage", "", "")
				any = 0
				for (i = 2; i <= nc; i++) {
					r = ratio(f, cs[i])
					if (r != "") any = 1
					line = line sprintf(" %14s", r == "" ? "-" : r)
				}
				if (any) print line
			} else {
				printf "| %s | %s |", f, unit[f]
				for (i = 1; i <= nc; i++) {
					if (!((f, cs[i]) in med)) { printf " - |"; continue }
					r = i > 1 ? ratio(f, cs[i]) : ""
					printf " %s%s |", med[f, cs[i]], r == "" ? "" : " (" r ")"
				}
				printf "\n"
			}
		}
	}' "$csv"
}

echo
table text
echo
echo "ktask advantage: >1 means ktask is better (tasks/s: ktask/baseline;"
echo "ns, bytes, allocations: baseline/ktask). Medians over the rounds."
echo "$tokio_note"

# --- the plot --------------------------------------------------------------
if ! grep -q '^throughput_p' "$csv"; then
	echo "bench: no throughput figures: no ${svg#"$KTASK_SRC"/}"
elif command -v gnuplot >/dev/null; then
	data=$(mktemp)
	trap 'rm -f "$data"' EXIT
	# One data block per contender with throughput figures.
	plotted=0
	for c in $contenders; do
		rows=$(awk -F, -v c="$c" '$2 == c && $1 ~ /^throughput_p[0-9]+$/ {
			sub(/^throughput_p/, "", $1); print $1, $4, $5, $6 }' "$csv" | sort -n)
		[[ -n "$rows" ]] || continue
		printf '"%s"\n%s\n\n\n' "$c" "$rows"
		plotted=$((plotted + 1))
	done >"$data"
	gnuplot <<EOF
set terminal svg size 720,440 dynamic noenhanced font "sans,12"
set output "$svg"
set title "spawn + run + join of tiny tasks (median of rounds, bars: min..max)"
set xlabel "producers (threads bound to CPUs)"
set ylabel "tasks/s"
set xtics 1
set offsets 0.2, 0.2, 0, 0
set key outside right
set grid ytics
set yrange [0:*]
plot for [i=0:$((plotted - 1))] "$data" index i using 1:2:3:4 with yerrorlines lw 2 title columnheader(1)
EOF
	echo "bench: wrote ${svg#"$KTASK_SRC"/}"
else
	echo "bench: gnuplot not installed (scripts/deps.sh --bench): no ${svg#"$KTASK_SRC"/}"
fi

# --- the README ------------------------------------------------------------
begin='<!-- bench:begin -->'
end='<!-- bench:end -->'
if grep -qxF "$begin" "$readme" && grep -qxF "$end" "$readme"; then
	section=$(mktemp)
	{
		echo "$begin"
		echo "<!-- written by scripts/bench-report.sh from bench/results.csv: do not edit -->"
		echo
		echo "Medians of ${header:+$(sed -n 's/.*rounds=\([0-9]*\).*/\1/p' <<<"$header") }rounds in one boot"\
			"(qemu TCG, $(sed -n 's/.*cpus=\([0-9]*\).*/\1/p' <<<"$header") CPUs);"\
			"in parentheses, ktask's advantage over that baseline (>1: ktask is better)."
		echo
		table markdown
		echo
		echo "$tokio_note"
		echo
		echo "$end"
	} >"$section"
	awk -v begin="$begin" -v end="$end" -v section="$section" '
		$0 == begin { while ((getline l < section) > 0) print l; skip = 1; next }
		$0 == end { skip = 0; next }
		!skip' "$readme" >"$readme.tmp"
	mv "$readme.tmp" "$readme"
	rm -f "$section"
	echo "bench: updated the Performance section of README.md"
else
	echo "bench: no $begin/$end markers in README.md: not updated"
fi
