#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Extract the kselftest framework and checkpatch from the distribution's
# kernel source tarball into the cache (once) and print that directory.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
ktask_linux_src
