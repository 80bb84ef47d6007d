#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-matrix.sh: make check-matrix. Run "make check" for each kernel of
# KTASK_MATRIX (default "6.1 6.12 6.12-rt"; names as for KVER, see
# ktask_kver_abi in lib.sh) in turn, each installing its kernel first (make
# check's deps) and logging to out/check-KVER/. Print one line per kernel,
# "KVER: N passed, N failed" (with "N skipped" and the failure if any, and
# the time it took), then "N passed, N failed" over all of them; exit
# non-zero if any kernel's run failed.
#
# The 6.12 kernels (plain and RT) run under single-threaded TCG
# (KTASK_TCG_THREAD=single, at half speed: KTASK_SLOW=2) unless
# KTASK_TCG_THREAD says otherwise: under multi-threaded TCG their guests
# die, rarely, of bogus traps next to runtime-patched code, during boot
# too (testing.rst, "The 6.12 double fault").
#
# A run that failed without a failed test to show for it (a kernel report,
# a guest that died, a build error) counts as one failure. Other variables
# (KTASK_TESTS, KTASK_TIMEOUT, ...) are passed on to every run.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

read -r -a kernels <<<"${KTASK_MATRIX:-6.1 6.12 6.12-rt}"
((${#kernels[@]})) || die "KTASK_MATRIX is empty"

pass=0
fail=0
skip=0
status=0
summary=()
for k in "${kernels[@]}"; do
	out=$KTASK_SRC/out/check-$k
	mkdir -p "$out"
	start=$SECONDS
	echo "check-matrix: $k: make check KVER=$k"
	rc=0
	# The parent make exports KDIR (its default kernel's): unset, so that
	# KVER picks the build dir again.
	tcg=(KTASK_TCG_THREAD="${KTASK_TCG_THREAD:-multi}")
	if [[ "$k" == 6.12* && -z "${KTASK_TCG_THREAD:-}" ]]; then
		tcg=(KTASK_TCG_THREAD=single KTASK_SLOW="${KTASK_SLOW:-2}")
	fi
	env -u KDIR KTASK_OUT="$out" "${tcg[@]}" \
		make -C "$KTASK_SRC" --no-print-directory check KVER="$k" 2>&1 |
		tee "$out.log" || rc=$?
	took=$((SECONDS - start))
	counts=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$out.log" | tail -n 1)
	skipped=$(sed -n 's/^\([0-9]*\) skipped$/\1/p' "$out.log" | tail -n 1)
	read -r p f <<<"${counts:-0 0}"
	s=${skipped:-0}
	why=
	if ((rc != 0)); then
		status=1
		why=$(grep -E '^vm-run: .*: FAIL: ' "$out.log" | head -n 1 |
			sed 's/^vm-run: [^:]*: //')
		[[ -n "$why" ]] || why="FAIL: make check exited with status $rc (see ${out#"$KTASK_SRC"/}.log)"
		((f > 0)) || f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	skip=$((skip + s))
	line="$k: $p passed, $f failed"
	((s == 0)) || line+=", $s skipped"
	line+=" (${took}s)"
	[[ -z "$why" ]] || line+="; $why"
	summary+=("$line")
done

echo "check-matrix: logs in out/check-<KVER>/ and out/check-<KVER>.log"
printf '%s\n' "${summary[@]}"
((skip == 0)) || echo "$skip skipped"
echo "$pass passed, $fail failed"
exit "$status"
