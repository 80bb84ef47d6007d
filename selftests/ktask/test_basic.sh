#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "basic" area (ktask_test_basic.ko).
set -eu
. ./ktask_lib.sh
ktask_run_area basic
