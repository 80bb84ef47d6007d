# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "profile": ktask's benchmarks for ktask alone under "perf record" in
# the guest (the host's perf and the libraries it links, staged into the
# initramfs; software cpu-clock samples: TCG has no PMU), then "perf
# report" by symbol. KTASK_PROFILE_ARGS: ktask_bench's parameters (e.g.
# "samples=200000 tasks=1000" to profile the wake ping-pong).

job_load=(ktask)

job_stage() {
	local root=$1 perf lib

	perf=$(command -v perf) || { echo "profile: no perf on the host (apt-get install linux-perf)"; return 1; }
	# Debian's /usr/bin/perf is a wrapper script that picks perf_<ver>.
	if head -c 2 "$perf" | grep -q '#!'; then
		perf=$(find /usr/bin -maxdepth 1 -name 'perf_*' | sort | tail -n 1)
	fi
	cp "$perf" "$root/bin/perf"
	for lib in $(ldd "$perf" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
	echo "only=ktask rounds=1 ${KTASK_PROFILE_ARGS:-}" >"$root/ktask/profile.args"
	cp "$KTASK_MODDIR/bench/ktask_bench.ko" "$root/ktask/profile_bench.ko"
}
