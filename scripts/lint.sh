#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: fail on any finding of
#  1. checkpatch.pl --strict --no-tree on every C source and header of the
#     repo (checkpatch comes from the distribution's kernel source);
#  2. a W=1 build with sparse on every file (C=2; W=1 also runs kernel-doc
#     on the .c files), failing on any "warning:" or "error:";
#  3. shellcheck on the scripts;
#  4. the documentation build, scripts/docs.sh (make docs): kernel-doc -v
#     on the header and ktask/*.[ch], and Sphinx, with any warning of
#     either a finding.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$KTASK_SRC"

failed=()
checkpatch=$(ktask_linux_src)/scripts/checkpatch.pl
kdir=$(ktask_kdir)

# Tracked and new (not ignored) files, so generated *.mod.c are left out.
mapfile -t sources < <(git ls-files -co --exclude-standard -- \
	'ktask/*.[ch]' 'include/*.[ch]' 'selftests/*.[ch]' 'samples/*.[ch]' 'bench/*.[ch]' |
	sort -u)

echo "lint: checkpatch --strict on ${#sources[@]} files"
cp_args=(--strict --no-tree --quiet --show-types --max-line-length=100)
for f in "${sources[@]}"; do
	extra=()
	# The test framework's assertions return from the case by design.
	[[ "$f" == selftests/ktask/ktask_test.h ]] && extra=(--ignore MACRO_WITH_FLOW_CONTROL)
	# Userspace stand-in for the kernel's atomic_long_t typedef.
	[[ "$f" == selftests/ktask/model_compat.h ]] && extra=(--ignore NEW_TYPEDEFS)
	perl "$checkpatch" "${cp_args[@]}" "${extra[@]}" -f "$f" || failed+=("checkpatch $f")
done

echo "lint: W=1 C=2 build against $kdir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! make -C "$kdir" M="$KTASK_SRC" W=1 C=2 modules >"$log" 2>&1; then
	cat "$log"
	failed+=("W=1 C=2 build")
elif grep -E ':[0-9]+(:[0-9]+)?: (warning|error):|^(WARNING|ERROR): ' "$log"; then
	failed+=("W=1 C=2 build (warnings above)")
fi

if command -v shellcheck >/dev/null; then
	echo "lint: shellcheck"
	mapfile -t shs < <(git ls-files -co --exclude-standard -- '*.sh' .ci/run | sort -u)
	mapfile -t guests < <(git ls-files -co --exclude-standard -- 'scripts/jobs/*.guest')
	shellcheck -x -P SCRIPTDIR "${shs[@]}" || failed+=(shellcheck)
	shellcheck -s sh "${guests[@]}" || failed+=("shellcheck (guest)")
else
	echo "lint: shellcheck not installed, skipped (scripts/deps.sh installs it)"
fi

echo "lint: docs"
bash scripts/docs.sh || failed+=("docs (scripts/docs.sh)")

if ((${#failed[@]})); then
	printf 'lint: FAIL: %s\n' "${failed[@]}"
	exit 1
fi
echo "lint: PASS"
