#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel build directory ktask builds against (see ktask_kdir in
# lib.sh): $KDIR, else the running kernel's, else the newest installed
# Debian linux-headers-*-amd64 with a matching /boot/vmlinuz-*.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
ktask_kdir
