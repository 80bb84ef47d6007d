#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "coop" area (ktask_test_coop.ko).
set -eu
. ./ktask_lib.sh
ktask_run_area coop
