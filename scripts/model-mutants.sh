#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Mutation check of the state-machine model checker: build
# selftests/ktask/ktask_state_model.c against copies of ktask/state.c and
# state.h (whose inline transitions are part of it) with one deliberate bug
# each, and require the checker to fail on every one.
# A mutant that survives means the checker has a blind spot.
#
# Usage: scripts/model-mutants.sh KSFT_DIR
set -euo pipefail

ksft=${1:?usage: $0 KSFT_DIR}
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# name | sed expression applied to state.c and state.h (one line in all)
mutants=(
	"notify_by_ref without a ref inc|s/next = (c | KTASK_NOTIFIED) + KTASK_REF_ONE;/next = c | KTASK_NOTIFIED;/"
	"to_idle keeps the poll's ref|/if (next \& KTASK_NOTIFIED) {/,/} else {/!s/next -= KTASK_REF_ONE;/next -= 0;/"
	"to_running leaves NOTIFIED set|s/next = (c | KTASK_RUNNING) \& ~KTASK_NOTIFIED;/next = c | KTASK_RUNNING;/"
	"abort of an idle task not scheduled|s/submit = true;/submit = false;/"
	"notify_by_val idle takes a new ref|/ ktask_state_notify_by_val(/,/^}/s/next = c | KTASK_NOTIFIED;\$/next = (c | KTASK_NOTIFIED) + KTASK_REF_ONE;/"
	"join handle keeps JOIN_WAKER while running|s/next \&= ~KTASK_JOIN_WAKER;/next \&= ~0UL;/"
	"to_shutdown does not take RUNNING|s/next |= KTASK_RUNNING;/next |= 0;/"
	"to_running_help without a ref inc|s/next = (c | KTASK_RUNNING) + KTASK_REF_ONE;/next = c | KTASK_RUNNING;/"
	"to_running_help clears NOTIFIED|s/next = (c | KTASK_RUNNING) + KTASK_REF_ONE;/next = ((c | KTASK_RUNNING) \& ~KTASK_NOTIFIED) + KTASK_REF_ONE;/"
	"to_running_help ignores CANCELLED|s/^\t\t    (c \& KTASK_CANCELLED))\$/\t\t    0)/"
	"to_running_help claims a task that is not idle|s/if (!ktask_state_idle(c) || !(c \& KTASK_NOTIFIED) ||/if (!(c \& KTASK_NOTIFIED) ||/"
	"to_running_help does not take RUNNING|s/next = (c | KTASK_RUNNING) + KTASK_REF_ONE;/next = c + KTASK_REF_ONE;/"
	"born detached keeps the handle's ref|s/atomic_long_set(s, KTASK_DETACHED_STATE);/atomic_long_set(s, KTASK_DETACHED_STATE + KTASK_REF_ONE);/"
	"born detached without the owned list's ref|s/atomic_long_set(s, KTASK_DETACHED_STATE);/atomic_long_set(s, KTASK_DETACHED_STATE - KTASK_REF_ONE);/"
	"join handle frees alone with two references|s/(KTASK_REF_ONE | KTASK_COMPLETE | KTASK_JOIN_INTEREST)) {/(KTASK_REF_ONE | KTASK_COMPLETE | KTASK_JOIN_INTEREST) + KTASK_REF_ONE) {/"
	"join handle frees alone, counting refs mod 2|s/cur \& ~KTASK_CANCELLED) ==/cur \& (KTASK_STATE_MASK | KTASK_REF_ONE) \& ~KTASK_CANCELLED) ==/"
	"fast detach of a complete task|s/if ((c \& (KTASK_COMPLETE | KTASK_JOIN_WAKER)) ||/if ((c \& KTASK_JOIN_WAKER) ||/"
	"fast detach keeps the handle's ref|s/(long)((c \& ~KTASK_JOIN_INTEREST) -/(long)((c \& ~KTASK_JOIN_INTEREST) - 0 */"
	"fast detach leaves JOIN_WAKER set|s/if ((c \& (KTASK_COMPLETE | KTASK_JOIN_WAKER)) ||/if ((c \& KTASK_COMPLETE) ||/"
	"born detached keeps JOIN_INTEREST|s/atomic_long_set(s, KTASK_DETACHED_STATE);/atomic_long_set(s, KTASK_DETACHED_STATE | KTASK_JOIN_INTEREST);/"
)

caught=0
for m in "${mutants[@]}"; do
	name=${m%%|*}
	expr=${m#*|}
	mkdir -p "$tmp/m"
	# The transitions live in state.c and, inline, in state.h.
	sed -e "$expr" "$src/ktask/state.c" >"$tmp/m/state.c"
	sed -e "$expr" "$src/ktask/state.h" >"$tmp/m/state.h"
	changed=$(cat <(diff "$src/ktask/state.c" "$tmp/m/state.c") \
		<(diff "$src/ktask/state.h" "$tmp/m/state.h") | grep -c '^>' || true)
	if [ "$changed" != 1 ]; then
		echo "mutant '$name': the sed expression changed $changed lines, not 1" >&2
		exit 1
	fi
	gcc -O2 -w -I"$ksft" -I"$src/selftests/ktask" -I"$tmp/m" \
		-o "$tmp/model" "$src/selftests/ktask/ktask_state_model.c" \
		"$tmp/m/state.c"
	if "$tmp/model" >"$tmp/out" 2>&1; then
		echo "mutant survived: $name" >&2
		exit 1
	fi
	echo "mutant caught: $name: $(grep -m1 -E '^# (detached: )?[0-9]+ workers' "$tmp/out" | sed 's/^# //')"
	caught=$((caught + 1))
done
echo "model-mutants: $caught of ${#mutants[@]} mutants caught"
