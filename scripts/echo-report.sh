#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# echo-report.sh [-n] RESULTS: turn the "result ..." lines of the echo benchmark
# (scripts/jobs/bench-echo.guest: one per client run) into
#   bench/echo/results.csv  server, connections, message size, requests/s,
#                           p50, p99 and max round trip (us), one row per
#                           run, the fairness runs included;
#   a table on stdout       requests/s and p50/p99 of each server at each
#                           point, ktask_echo's ratio to the others (>1:
#                           ktask_echo serves more), and the fairness runs;
#   bench/echo/rps.svg      requests/s against connections (gnuplot, if
#                           installed: scripts/deps.sh --bench);
#   README.md               the echo table between the
#                           "<!-- bench-echo:begin -->" and
#                           "<!-- bench-echo:end -->" markers.
# -n prints the table only.  Run by "make bench-echo"
# (scripts/jobs/bench-echo.sh) on the VM's output.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

dry=0
if [[ "${1:-}" == -n ]]; then
	dry=1
	shift
fi
(($# == 1)) || { sed -n '4,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
results=$1
[[ -r "$results" ]] || die "cannot read $results"

dir=$KTASK_SRC/bench/echo
csv=$dir/results.csv
if ((dry)); then
	# -n: the table only, from a CSV of its own; nothing else written.
	csv=$(mktemp)
fi
svg=$dir/rps.svg
readme=$KTASK_SRC/README.md

{
	echo "server,conns,size,rps,p50_us,p99_us,max_us"
	awk '$1 == "result" {
		delete kv
		for (i = 2; i <= NF; i++) {
			split($i, p, "=")
			kv[p[1]] = p[2]
		}
		printf "%s,%s,%s,%s,%s,%s,%s\n", kv["server"], kv["conns"], kv["size"],
			kv["rps"], kv["p50_us"], kv["p99_us"], kv["max_us"]
	}' "$results"
} >"$csv"
((dry)) || echo "bench-echo: wrote ${csv#"$KTASK_SRC"/}"

servers=$(awk -F, 'NR > 1 && $1 !~ /^fair_/ && !seen[$1]++ { print $1 }' "$csv")
tokio_note=$(sed -n 's/^bench-echo tokio: //p' "$results" | head -n 1)
cpus=$(sed -n 's/^bench-echo cpus=\([0-9]*\).*/\1/p' "$results" | head -n 1)

# table: the markdown tables (main, then fairness).
table() {
	awk -F, -v servers="$servers" '
	NR == 1 { next }
	$1 ~ /^fair_/ { fair[++nf] = $0; next }
	{
		key = $2 "," $3
		if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
		rps[$1, key] = $4; p50[$1, key] = $5; p99[$1, key] = $6
	}
	END {
		ns = split(servers, s, "\n")
		hdr = "| conns | size |"
		sep = "|------:|-----:|"
		for (i = 1; i <= ns; i++) {
			hdr = hdr " " s[i] " req/s | p50 / p99 us |"
			sep = sep "------:|------:|"
		}
		for (i = 2; i <= ns; i++) {
			hdr = hdr " " s[1] " / " s[i] " |"
			sep = sep "-----:|"
		}
		print hdr
		print sep
		for (k = 1; k <= nk; k++) {
			split(keys[k], ks, ",")
			line = "| " ks[1] " | " (ks[2] >= 1024 ? ks[2] / 1024 " KiB" : ks[2] " B") " |"
			for (i = 1; i <= ns; i++) {
				if ((s[i], keys[k]) in rps)
					line = line sprintf(" %d | %.0f / %.0f |",
						rps[s[i], keys[k]], p50[s[i], keys[k]],
						p99[s[i], keys[k]])
				else
					line = line " - | - |"
			}
			for (i = 2; i <= ns; i++) {
				a = rps[s[1], keys[k]]; b = rps[s[i], keys[k]]
				line = line ((a && b) ? sprintf(" %.2f |", a / b) : " - |")
			}
			print line
		}
		if (!nf)
			exit
		print ""
		print "| fairness: 16 connections x 64 B | req/s | p50 / p99 us | p99 / p99 alone |"
		print "|---------------------------------|------:|-------------:|----------------:|"
		for (i = 1; i <= nf; i++) {
			split(fair[i], f, ",")
			name = f[1]
			sub(/^fair_/, "", name)
			alone = name
			sub(/^quiet_/, "", alone)
			sub(/^flood_/, "", alone)
			if (name ~ /^quiet_/)
				quiet[alone] = f[6]
			ratio = "-"
			if (name ~ /^flood_/ && quiet[alone] > 0)
				ratio = sprintf("%.2f", f[6] / quiet[alone])
			sub(/^quiet_/, "alone: ", name)
			sub(/^flood_/, "beside a flooder: ", name)
			printf "| %s | %d | %.0f / %.0f | %s |\n", name, f[4], f[5], f[6], ratio
		}
	}' "$csv"
}

table
if ((dry)); then
	rm -f "$csv"
	exit 0
fi

if ! command -v gnuplot >/dev/null; then
	echo "bench-echo: gnuplot not installed (scripts/deps.sh --bench): no ${svg#"$KTASK_SRC"/}"
else
	data=$(mktemp)
	trap 'rm -f "$data"' EXIT
	blocks=0
	for s in $servers; do
		for size in 64 16384; do
			rows=$(awk -F, -v s="$s" -v z="$size" 'NR > 1 && $1 == s && $3 == z {
				print $2, $4 }' "$csv" | sort -n)
			[[ -n "$rows" ]] || continue
			printf '"%s %s"\n%s\n\n\n' "$s" "$( ((size == 64)) && echo 64B || echo 16KiB)" "$rows"
			blocks=$((blocks + 1))
		done
	done >"$data"
	gnuplot <<EOP
set terminal svg size 720,440 dynamic noenhanced font "sans,12"
set output "$svg"
set title "TCP echo on loopback, one boot (qemu TCG, ${cpus:-?} CPUs)"
set xlabel "connections"
set ylabel "round trips/s"
set logscale x 2
set key outside right
set grid ytics
set yrange [0:*]
plot for [i=0:$((blocks - 1))] "$data" index i using 1:2 with linespoints lw 2 title columnheader(1)
EOP
	echo "bench-echo: wrote ${svg#"$KTASK_SRC"/}"
fi

begin='<!-- bench-echo:begin -->'
end='<!-- bench-echo:end -->'
if grep -qxF "$begin" "$readme" && grep -qxF "$end" "$readme"; then
	section=$(mktemp)
	{
		echo "$begin"
		echo "<!-- written by scripts/echo-report.sh from bench/echo/results.csv: do not edit -->"
		echo
		echo "One run per point in one boot (qemu TCG, ${cpus:-?} CPUs), the servers taking turns;"\
			"round trips of one message in flight per connection, every byte verified."
		echo
		table
		echo
		[[ -n "$tokio_note" ]] && echo "tokio: $tokio_note" && echo
		echo "$end"
	} >"$section"
	awk -v begin="$begin" -v end="$end" -v section="$section" '
		$0 == begin { while ((getline l < section) > 0) print l; skip = 1; next }
		$0 == end { skip = 0; next }
		!skip' "$readme" >"$readme.tmp"
	mv "$readme.tmp" "$readme"
	rm -f "$section"
	echo "bench-echo: updated the echo table of README.md"
else
	echo "bench-echo: no $begin/$end markers in README.md: not updated"
fi
