#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# echo-report.sh [-n] RESULTS: turn the "result ..." lines of the echo benchmark
# (scripts/jobs/bench-echo.guest: one per client run) into
#   bench/echo/results.csv  server, connections, message size, requests/s,
#                           p50, p99 and max round trip (us), medians over
#                           the rounds, and the rounds, one row per server
#                           and point, the fairness runs included;
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

# An awk function for the programs below: the median of the numbers in
# LIST, each after a space (insertion sort: a handful of rounds).
awk_median='
function median(list,    v, m, i, j, x) {
	m = split(substr(list, 2), v, " ")
	for (i = 2; i <= m; i++) {
		x = v[i] + 0
		for (j = i - 1; j >= 1 && v[j] + 0 > x; j--)
			v[j + 1] = v[j]
		v[j + 1] = x
	}
	return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
'

# One row per server and point: the medians over the rounds (each column
# on its own), in the order the points first ran.
{
	echo "server,conns,size,rps,p50_us,p99_us,max_us,runs"
	awk "$awk_median"'
	$1 == "result" {
		delete kv
		for (i = 2; i <= NF; i++) {
			split($i, p, "=")
			kv[p[1]] = p[2]
		}
		key = kv["server"] "," kv["conns"] "," kv["size"]
		if (!(key in runs))
			order[n++] = key
		runs[key]++
		rps[key] = rps[key] " " kv["rps"]
		p50[key] = p50[key] " " kv["p50_us"]
		p99[key] = p99[key] " " kv["p99_us"]
		mx[key] = mx[key] " " kv["max_us"]
	}
	END {
		for (k = 0; k < n; k++) {
			key = order[k]
			printf "%s,%.0f,%.1f,%.1f,%.1f,%d\n", key, median(rps[key]),
				median(p50[key]), median(p99[key]), median(mx[key]),
				runs[key]
		}
	}' "$results"
} >"$csv"
((dry)) || echo "bench-echo: wrote ${csv#"$KTASK_SRC"/}"

servers=$(awk -F, 'NR > 1 && $1 !~ /^fair_/ && !seen[$1]++ { print $1 }' "$csv")
tokio_note=$(sed -n 's/^bench-echo tokio: //p' "$results" | head -n 1)
cpus=$(sed -n 's/^bench-echo cpus=\([0-9]*\).*/\1/p' "$results" | head -n 1)
nrounds=$(sed -n 's/^bench-echo cpus=.* rounds=\([0-9]*\).*/\1/p' "$results" | head -n 1)

# The first server's requests/s over each other's, round by round (the
# k-th run of a point against the other's k-th, which took turns with
# it), and the median of those ratios: "conns,size,server,ratio" lines.
ratios=$(mktemp)
trap 'rm -f "$ratios"' EXIT
awk -v first="${servers%%$'\n'*}" "$awk_median"'
$1 == "result" {
	delete kv
	for (i = 2; i <= NF; i++) {
		split($i, p, "=")
		kv[p[1]] = p[2]
	}
	if (kv["server"] ~ /^fair_/)
		next
	key = kv["conns"] "," kv["size"]
	k = ++cnt[kv["server"], key]
	v[kv["server"], key, k] = kv["rps"]
	if (!((kv["server"], key) in pair)) {
		pair[kv["server"], key] = 1
		pairs[++np] = kv["server"] SUBSEP key
	}
}
END {
	for (i = 1; i <= np; i++) {
		split(pairs[i], sk, SUBSEP)
		if (sk[1] == first)
			continue
		list = ""
		for (k = 1; k <= cnt[sk[1], sk[2]] && k <= cnt[first, sk[2]]; k++)
			if (v[sk[1], sk[2], k] > 0)
				list = list " " v[first, sk[2], k] / v[sk[1], sk[2], k]
		if (list != "")
			printf "%s,%s,%.4f\n", sk[2], sk[1], median(list)
	}
}' "$results" >"$ratios"

# table: the markdown tables (main, then fairness).
table() {
	awk -F, -v servers="$servers" -v ratios="$ratios" '
	BEGIN {
		while ((getline l < ratios) > 0) {
			split(l, r, ",")
			rmed[r[3], r[1] "," r[2]] = r[4]
		}
	}
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
				# The median of the ratios of the rounds, not the
				# ratio of the medians: each round is a pair.
				if ((s[i], keys[k]) in rmed)
					line = line sprintf(" %.2f |", rmed[s[i], keys[k]])
				else
					line = line " - |"
			}
			print line
		}
		if (!nf)
			exit
		print ""
		print "| fairness: 16 connections x 64 B | req/s | p50 / p99 us | p99 / p99 alone | p99 / p99 beside busy loops |"
		print "|---------------------------------|------:|-------------:|----------------:|----------------------------:|"
		for (i = 1; i <= nf; i++) {
			split(fair[i], f, ",")
			name = f[1]
			sub(/^fair_/, "", name)
			alone = name
			sub(/^(quiet|hog|flood)_/, "", alone)
			if (name ~ /^quiet_/)
				quiet[alone] = f[6]
			if (name ~ /^hog_/)
				hog[alone] = f[6]
			ratio = "-"
			if (name !~ /^quiet_/ && quiet[alone] > 0)
				ratio = sprintf("%.2f", f[6] / quiet[alone])
			vs_hog = "-"
			if (name ~ /^flood_/ && hog[alone] > 0)
				vs_hog = sprintf("%.2f", f[6] / hog[alone])
			sub(/^quiet_/, "alone: ", name)
			sub(/^hog_/, "beside busy loops: ", name)
			sub(/^flood_/, "beside a flooder: ", name)
			printf "| %s | %d | %.0f / %.0f | %s | %s |\n", name, f[4], f[5], f[6], ratio, vs_hog
		}
	}' "$csv"
}

table
if ((dry)); then
	rm -f "$csv" "$ratios"
	exit 0
fi

if ! command -v gnuplot >/dev/null; then
	echo "bench-echo: gnuplot not installed (scripts/deps.sh --bench): no ${svg#"$KTASK_SRC"/}"
else
	data=$(mktemp)
	trap 'rm -f "$data" "$ratios"' EXIT
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
		echo "Medians of ${nrounds:-1} runs per point in one boot (qemu TCG, ${cpus:-?} CPUs),"\
			"the servers taking turns in each round; a requests/s ratio is the median of"\
			"the rounds' ratios, a fairness ratio that of the median p99s. Round trips of"\
			"one message in flight per connection, every byte verified."
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
