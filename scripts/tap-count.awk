# SPDX-License-Identifier: GPL-2.0
#
# Count the test results in the output of kselftest's run_many, and print
# "N passed, N failed" as the last line; exit 1 if anything failed.
#
#   awk -v programs=N -f tap-count.awk job.log
#
# run_many prints, for each program, "# selftests: DIR: PROG", the
# program's own TAP prefixed with "# ", then "ok|not ok N selftests: ...".
# The leaves counted are the program's own results ("# ok N", "# not ok N").
# A program's result line adds to them only what they do not already say:
#  - cases its plan ("# 1..K") promised but that never reported fail;
#  - a failed program (crash, timeout, bad exit) with no failed leaf fails
#    once more;
#  - a passing program without TAP of its own passes once.
# Programs that never reported at all (VM died or timed out) each fail
# once; N is how many programs run_many was given.
#
# A skip ("ok N name # SKIP reason", or a program that exited with
# kselftest's skip code 4) is neither passed nor failed: skips are counted
# apart and printed as "N skipped" before the last line, so a test that
# cannot run on this kernel is visible and never reads as a pass.

function flush(top_ok, top_skip,    lost, failed) {
	lost = plan > leaves ? plan - leaves : 0
	failed = bfail + lost
	pass += bpass
	skip += bskip
	if (!top_ok && failed == 0)
		failed = 1
	if (top_ok && plan < 0 && leaves == 0) {
		if (top_skip)
			skip++
		else
			pass++
	}
	fail += failed
	inblock = 0
}

/^# selftests: / {
	if (inblock)
		flush(0, 0)
	inblock = 1; bpass = 0; bfail = 0; bskip = 0; leaves = 0; plan = -1
	next
}
inblock && /^# 1\.\.[0-9]+/ {
	plan = substr($2, 4) + 0
	next
}
inblock && /^# (not )?ok [0-9]+/ {
	leaves++
	if ($2 == "not")
		bfail++
	else if (/ # SKIP/)
		bskip++
	else
		bpass++
	next
}
/^(not )?ok [0-9]+ selftests: / {
	if (!inblock) {
		inblock = 1; bpass = 0; bfail = 0; bskip = 0; leaves = 0; plan = -1
	}
	flush($1 == "ok", / # SKIP/)
	reported++
	next
}
END {
	if (inblock) {
		flush(0, 0)
		reported++
	}
	if (programs > reported)
		fail += programs - reported
	if (skip)
		printf "%d skipped\n", skip
	printf "%d passed, %d failed\n", pass, fail
	exit fail > 0
}
