#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "bulk" area (ktask_test_bulk.ko): ktask_spawn_bulk().
set -eu
. ./ktask_lib.sh
ktask_run_area bulk
