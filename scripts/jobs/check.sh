# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "check": run every kselftest program in selftests/ktask through
# kselftest's own runner, then count the TAP results on the host.
# Sourced by vm-run.sh (see its header for what a job defines).

job_load=(ktask)
# The task cell cache on its own (not merged into another, so that its
# leak checks are exact) and marked for failslab's cache filter, which
# test_fault.sh uses on kernels with CONFIG_FAILSLAB.
job_append="slab_nomerge slub_debug=A,ktask_cell,ktask_cell_ext"
# Every program prints (TAP, or the kernel log's lines) well within this;
# a guest quiet for longer is hung (vm-run.sh sends it an NMI).
job_silence=120

job_stage() {
	local root=$1 ksft settings t

	ksft=$(ktask_linux_src)/tools/testing/selftests
	make -s -C "$KTASK_SRC/selftests/ktask" KSFT_DIR="$ksft" \
		INSTALL_PATH="$root/ktask/ksft" install >/dev/null
	# A slow kernel (KTASK_SLOW, in /ktask/slow) gets proportionally
	# longer per-program timeouts; the tests' assertions stay as they are.
	settings=$root/ktask/ksft/ktask/settings
	t=$(sed -n 's/^timeout=//p' "$settings")
	sed -i "s/^timeout=.*/timeout=$((t * $(cat "$root/ktask/slow")))/" "$settings"
	# KTASK_TESTS="test_core.sh ...": only those programs (for a quick
	# look at one while working on it; "make check" runs them all).
	if [[ -n "${KTASK_TESTS:-}" ]]; then
		# shellcheck disable=SC2086 # one word per program
		printf 'ktask:%s\n' $KTASK_TESTS >"$root/ktask/ksft/kselftest-list.txt"
	fi
}

job_report() {
	local out=$1

	tr -d '\r' <"$out/job.log" |
		awk -v programs="$(grep -c . "$out/root/ktask/ksft/kselftest-list.txt")" \
			-f "$KTASK_SRC/scripts/tap-count.awk"
}
