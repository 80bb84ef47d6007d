#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "core" area (ktask_test_core.ko).
set -eu
. ./ktask_lib.sh
ktask_run_area core
