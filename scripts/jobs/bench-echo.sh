# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "bench-echo": the echo benchmark (Documentation/ktask/echo.rst).  In
# one boot, echo_client (bench/echo/echo_client.c) loads three TCP echo
# servers on loopback: samples/ktask_echo.ko (a ktask task per
# connection), bench/echo/ktask_echo_wq.ko (a work item per connection)
# and Tokio's (bench/echo/tokio, a static program), then measures the
# fairness of ktask_echo with a flooding connection, with the coop budget
# on and off.  The report (scripts/echo-report.sh) writes
# bench/echo/results.csv, bench/echo/rps.svg and README's echo table.
# Sourced by vm-run.sh (see its header).
#
# bench/echo/tokio is built here, before the VM boots, offline from
# Debian's packaged crates, as bench/tokio is (scripts/jobs/bench.sh); if
# it cannot be built, the other servers run without it and the report
# says why.  KTASK_ECHO_QUICK=1 runs fewer round trips (a smoke test);
# KTASK_ECHO_ROUNDS (default 3) is how many times every point and every
# fairness run is repeated, the servers taking turns in each round; the
# report gives the medians.
# KTASK_ECHO_PARTS="load" or "fair" runs only the load points or only the
# fairness runs (default: both).

job_load=(ktask)

echo_tokio_dir=$KTASK_SRC/bench/echo/tokio
echo_tokio_target=x86_64-unknown-linux-gnu

# echo_tokio_build LOG: build bench/echo/tokio (cargo's output in LOG);
# print the program's path, or why there is none and return 1.
echo_tokio_build() {
	local log=$1

	if ! command -v cargo >/dev/null; then
		echo "no cargo (scripts/deps.sh --bench installs Debian's)"
		return 1
	fi
	if ! compgen -G "/usr/share/cargo/registry/tokio-1.*" >/dev/null; then
		echo "no Tokio crate in /usr/share/cargo/registry (scripts/deps.sh --bench installs librust-tokio-dev)"
		return 1
	fi
	# bench/echo/tokio/.cargo/config.toml selects the registry, the
	# target and static linking.
	if ! (cd "$echo_tokio_dir" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET \
		cargo build --release --offline --target "$echo_tokio_target") >"$log" 2>&1; then
		echo "cargo build failed: $(grep -m1 -E '^error' "$log" || tail -n 1 "$log") (log: ${log#"$KTASK_SRC"/})"
		return 1
	fi
	echo "$echo_tokio_dir/target/$echo_tokio_target/release/ktask-tokio-echo"
}

job_stage() {
	local root=$1 out bin tokio rustc

	out=$(dirname "$root")
	if ! gcc -O2 -Wall -Wextra -Werror -static -pthread -o "$root/ktask/echo_client" \
		"$KTASK_SRC/bench/echo/echo_client.c"; then
		echo "bench-echo: cannot build echo_client"
		return 1
	fi
	if bin=$(echo_tokio_build "$out/tokio-echo-build.log"); then
		cp "$bin" "$root/ktask/tokio_echo"
		tokio=$(sed -n '/^name = "tokio"$/{n;s/^version = "\(.*\)"$/\1/p;q}' \
			"$echo_tokio_dir/Cargo.lock" 2>/dev/null)
		rustc=$(rustc --version 2>/dev/null | awk '{ print $2 }')
		echo "tokio=${tokio:-unknown} rustc=${rustc:-unknown}" >"$root/ktask/tokio.versions"
		echo "bench-echo: built bench/echo/tokio ($(cat "$root/ktask/tokio.versions"))"
	else
		echo "$bin" >"$root/ktask/tokio.missing"
		echo "bench-echo: no Tokio server: $bin"
	fi
	echo "${KTASK_ECHO_QUICK:-0}" >"$root/ktask/echo_quick"
	echo "${KTASK_ECHO_PARTS:-load fair}" >"$root/ktask/echo_parts"
	echo "${KTASK_ECHO_ROUNDS:-3}" >"$root/ktask/echo_rounds"
}

job_report() {
	local out=$1

	tr -d '\r' <"$out/job.log" | grep -E '^(result|bench-echo) ' >"$out/results.txt" || true
	if ! grep -q '^result ' "$out/results.txt"; then
		echo "bench-echo: no results in $out/job.log"
		return 1
	fi
	# A partial run (KTASK_ECHO_PARTS, KTASK_ECHO_QUICK) only prints its
	# table: the recorded results stay as they are.
	if [[ -n "${KTASK_ECHO_PARTS:-}" || "${KTASK_ECHO_QUICK:-0}" == 1 ]]; then
		bash "$KTASK_SRC/scripts/echo-report.sh" -n "$out/results.txt"
	else
		bash "$KTASK_SRC/scripts/echo-report.sh" "$out/results.txt"
	fi
}
