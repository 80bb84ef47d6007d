# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # job_load is read by vm-run.sh
#
# Job "run": load ktask and every sample module, show what ktask reports in
# debugfs, unload. Sourced by vm-run.sh (see its header).

job_load=(ktask)
for ko in "$KTASK_MODDIR"/samples/*.ko; do
	if [[ -e "$ko" ]]; then
		job_load+=("$(basename "$ko" .ko)")
	fi
done
