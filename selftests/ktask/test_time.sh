#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "time" area (ktask_test_time.ko).
set -eu
. ./ktask_lib.sh
ktask_run_area time
