# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "echo-test": only selftests/ktask/test_echo.sh, for quick iteration
# on the echo server (make check runs it with the others).  Sourced by
# vm-run.sh (see its header).

job_load=(ktask)

job_stage() {
	local root=$1

	make -s -C "$KTASK_SRC/selftests/ktask" \
		KSFT_DIR="$(ktask_linux_src)/tools/testing/selftests" \
		INSTALL_PATH="$root/ktask/ksft" install >/dev/null
}
