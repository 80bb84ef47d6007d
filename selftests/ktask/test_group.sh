#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "group" area (ktask_test_group.ko).
set -eu
. ./ktask_lib.sh
ktask_run_area group
