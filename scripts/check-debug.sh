#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check-debug.sh [--variant debug|kcsan] [--job NAME]: make check-debug and
# make check-kcsan. Build (or take from the cache) the debug kernel of the
# variant with scripts/debug-kernel.sh, build ktask and its test modules
# against it in build/VARIANT/ (a copy of the sources, so the normal build
# in the repository is left alone), and run the job (default: check, the
# whole kselftest suite) in it with scripts/vm-run.sh. Logs in
# out/check-VARIANT/.
#
# Everything is slower there (KASAN or KCSAN under TCG), so the host-side
# limit (KTASK_TIMEOUT) defaults to 3600 s and KTASK_SLOW (default 4)
# multiplies the per-program timeouts of the suite (selftests/ktask/settings).
# Other variables as for scripts/vm-run.sh.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

variant=debug
job=check
while (($#)); do
	case $1 in
	--variant) variant=${2:?--variant needs a name}; shift 2 ;;
	--variant=*) variant=${1#--variant=}; shift ;;
	--job) job=${2:?--job needs a name}; shift 2 ;;
	--job=*) job=${1#--job=}; shift ;;
	-h|--help) usage ;;
	*) usage 2 >&2 ;;
	esac
done

kdir=$(bash "$KTASK_SRC/scripts/debug-kernel.sh" --variant "$variant")
build=$KTASK_SRC/build/$variant

# Copy the module sources, keeping their times so that kbuild rebuilds
# only what changed; stale modules go, so the VM gets only this build's.
echo "check-debug: $variant: building the modules in ${build#"$KTASK_SRC"/}/"
mkdir -p "$build"
(cd "$KTASK_SRC" && git ls-files -co --exclude-standard -- Kbuild ktask include selftests/ktask samples |
	tar -cf - -T -) | tar -xf - -C "$build"
find "$build" -name '*.ko' -delete
jobs=()
if [[ " ${MAKEFLAGS:-} " != *--jobserver* ]]; then
	jobs=(-j"$(nproc)")
fi
make -C "$kdir" M="$build" "${jobs[@]}" modules

export KTASK_KERNEL=$kdir/arch/x86/boot/bzImage
export KTASK_MODDIR=$build
export KTASK_OUT=${KTASK_OUT:-$KTASK_SRC/out/$job-$variant}
export KTASK_TIMEOUT=${KTASK_TIMEOUT:-3600}
export KTASK_SLOW=${KTASK_SLOW:-4}
export KDIR=$kdir
exec bash "$KTASK_SRC/scripts/vm-run.sh" --job "$job"
