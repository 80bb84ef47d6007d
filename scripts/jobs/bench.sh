# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "bench": load ktask and the benchmark module, read its debugfs file
# (which runs every benchmark, every round), then run Tokio's contender,
# bench/tokio, in the same boot; turn the results into bench/results.csv,
# bench/throughput.svg, a table and the README's Performance section.
# Sourced by vm-run.sh (see its header).
#
# bench/tokio is built here, before the VM boots, offline from Debian's
# packaged crates (scripts/deps.sh --bench installs them), into
# bench/tokio/target/ ("make clean" removes it), and linked statically:
# the guest has no C library. If it cannot be built, the benchmarks run
# without it and the report says why.

job_load=(ktask ktask_bench)

tokio_dir=$KTASK_SRC/bench/tokio
tokio_target=x86_64-unknown-linux-gnu

# tokio_build LOG: build bench/tokio (cargo's output in LOG); print the
# program's path, or why there is none and return 1.
tokio_build() {
	local log=$1 registry=/usr/share/cargo/registry

	if ! command -v cargo >/dev/null; then
		echo "no cargo (scripts/deps.sh --bench installs Debian's)"
		return 1
	fi
	if ! compgen -G "$registry/tokio-1.*" >/dev/null; then
		echo "no Tokio crate in $registry (scripts/deps.sh --bench installs librust-tokio-dev)"
		return 1
	fi
	# bench/tokio/.cargo/config.toml, which cargo reads from the current
	# directory, selects the registry, the target and static linking;
	# RUSTFLAGS from the environment would replace the latter.
	if ! (cd "$tokio_dir" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET \
		cargo build --release --offline --target "$tokio_target") >"$log" 2>&1; then
		echo "cargo build failed: $(grep -m1 -E '^error' "$log" || tail -n 1 "$log") (log: ${log#"$KTASK_SRC"/})"
		return 1
	fi
	echo "$tokio_dir/target/$tokio_target/release/ktask-tokio-bench"
}

# tokio_versions: "tokio=V rustc=V", from cargo's lock file and rustc.
tokio_versions() {
	local tokio rustc

	tokio=$(sed -n '/^name = "tokio"$/{n;s/^version = "\(.*\)"$/\1/p;q}' "$tokio_dir/Cargo.lock" 2>/dev/null)
	rustc=$(rustc --version 2>/dev/null | awk '{ print $2 }')
	echo "tokio=${tokio:-unknown} rustc=${rustc:-unknown}"
}

# The guest runs /ktask/tokio_bench if it is there, else says why it is not
# (/ktask/tokio.missing).
job_stage() {
	local root=$1 log bin start=$SECONDS

	log=$(dirname "$root")/tokio-build.log
	if bin=$(tokio_build "$log"); then
		cp "$bin" "$root/ktask/tokio_bench"
		tokio_versions >"$root/ktask/tokio.versions"
		echo "bench: built bench/tokio ($(cat "$root/ktask/tokio.versions")) in $((SECONDS - start))s"
	else
		echo "$bin" >"$root/ktask/tokio.missing"
		echo "bench: no Tokio contender: $bin"
	fi
}

job_report() {
	local out=$1

	tr -d '\r' <"$out/job.log" | grep -E '^(ktask_bench|result|ktask_stats) ' >"$out/results.txt" || true
	if ! grep -q '^result ' "$out/results.txt"; then
		echo "bench: no results in $out/job.log"
		return 1
	fi
	bash "$KTASK_SRC/scripts/bench-report.sh" "$out/results.txt"
}
