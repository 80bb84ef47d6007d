#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kselftest program for the "opts" area (ktask_test_opts.ko): spawn options.
set -eu
. ./ktask_lib.sh
ktask_run_area opts
