# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of ktask, its test modules and samples
# (Documentation/kbuild/modules.rst); see README.md for the targets.

# Empty until scripts/deps.sh has installed the headers: "check" and "run"
# install what is missing, then build in a sub-make that looks again.
# KVER picks another installed kernel: 6.12, 6.12-rt (see scripts/lib.sh);
# without it the default is Debian's default kernel, whatever else is
# installed.  Passed by hand: make 4.3's $(shell) does not see command-line
# variables.
ifeq ($(KDIR),)
KDIR := $(shell KVER='$(KVER)' bash scripts/kdir.sh 2>/dev/null)
endif
export KDIR

SELFTESTS := selftests/ktask

.PHONY: all modules selftests check check-built run run-built bench bench-built bench-echo bench-echo-built bench-ab profile lint deps \
	check-debug check-kcsan check-matrix docs clean help

all: modules selftests

modules:
	@test -n "$(KDIR)" || { echo "no KDIR: run scripts/deps.sh" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Userspace test programs, static, against the kselftest headers that
# scripts/ksft-src.sh extracts from the distribution's kernel source.
selftests:
	$(MAKE) -C $(SELFTESTS) KSFT_DIR=$$(bash scripts/ksft-src.sh)/tools/testing/selftests

check: deps
	+$(MAKE) --no-print-directory check-built

run: deps
	+$(MAKE) --no-print-directory run-built

# deps.sh --bench also installs gnuplot (a target-specific variable, which
# make passes on to the prerequisite).
bench: DEPS_FLAGS := --bench
bench: deps
	+$(MAKE) --no-print-directory bench-built

# make check on 6.1 (Debian's default), 6.12 and 6.12-rt in turn
# (KTASK_MATRIX), each installed first; one summary line per kernel.
check-matrix:
	+bash scripts/check-matrix.sh

check-built: all
	bash scripts/model-mutants.sh $$(bash scripts/ksft-src.sh)/tools/testing/selftests
	+bash scripts/vm-run.sh --job check

run-built: all
	+bash scripts/vm-run.sh --job run

# The benchmarks take a few minutes under TCG; allow half an hour. The job
# also builds the Tokio contender, bench/tokio (scripts/jobs/bench.sh).
bench-built: all
	+KTASK_TIMEOUT=$${KTASK_TIMEOUT:-1800} bash scripts/vm-run.sh --job bench

# The echo benchmark (Documentation/ktask/echo.rst): samples/ktask_echo.ko
# against Tokio's echo server (bench/echo/tokio) and a work-item server
# (bench/echo/ktask_echo_wq.ko), in one boot, three rounds; about six
# minutes under TCG.
bench-echo: DEPS_FLAGS := --bench
bench-echo: deps
	+$(MAKE) --no-print-directory bench-echo-built

bench-echo-built: all
	+KTASK_TIMEOUT=$${KTASK_TIMEOUT:-1800} bash scripts/vm-run.sh --job bench-echo

# ktask's benchmarks for the working tree's ktask.ko against BASE's (a git
# revision, built in build/ab-base), taking turns in one boot.
bench-ab: all
	@test -n "$(BASE)" || { echo "make bench-ab BASE=<git revision>" >&2; exit 1; }
	rm -rf build/ab-base && mkdir -p build && git worktree prune && \
		git worktree add --detach build/ab-base '$(BASE)' >/dev/null
	$(MAKE) -C $(KDIR) M=$(CURDIR)/build/ab-base modules >/dev/null
	+KTASK_AB_BASE=$(CURDIR)/build/ab-base KTASK_TIMEOUT=$${KTASK_TIMEOUT:-1800} \
		bash scripts/vm-run.sh --job bench-ab

# ktask's benchmarks under perf in the guest; ARGS: ktask_bench parameters.
profile: all
	+KTASK_PROFILE_ARGS='$(ARGS)' bash scripts/vm-run.sh --job profile

# The suite in a debug kernel built from the distribution's kernel source
# (scripts/debug-kernel.sh, cached in ~/.cache/ktask/), with the modules
# built against it in build/debug/ or build/kcsan/.
check-debug check-kcsan: DEPS_FLAGS := --kernel
check-debug: deps
	+bash scripts/check-debug.sh --variant debug

check-kcsan: deps
	+bash scripts/check-debug.sh --variant kcsan

# lint builds the documentation too (scripts/docs.sh), so it needs Sphinx:
# deps.sh --docs.
lint docs: DEPS_FLAGS := --docs
lint: deps
	+bash scripts/lint.sh

# Documentation/ktask/ as HTML in out/docs/html, with the kernel's
# kernel-doc from linux-source (Documentation/conf.py); fails on warnings.
docs: deps
	bash scripts/docs.sh

deps:
	KVER='$(KVER)' bash scripts/deps.sh $(DEPS_FLAGS)

clean:
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	$(MAKE) -C $(SELFTESTS) clean
	rm -rf build out $(wildcard */Module.symvers) bench/tokio/target bench/tokio/Cargo.lock \
		bench/echo/tokio/target bench/echo/tokio/Cargo.lock

help:
	@echo 'make [all]   build ktask.ko, the test and sample modules and the test programs'
	@echo 'make run     boot a VM, load ktask and the samples, show /sys/kernel/debug/ktask'
	@echo 'make check   boot a VM and run every kselftest (TAP); exit non-zero on failure'
	@echo 'make bench   boot a VM, benchmark ktask against workqueues, kthread_worker,'
	@echo '             async and Tokio; write bench/results.csv, the plot and README'\''s table'
	@echo 'make bench-echo  boot a VM, load-test the ktask echo server against Tokio'\''s'
	@echo '             and a work-item server; write bench/echo/results.csv, the plot, README'\''s table'
	@echo 'make bench-ab BASE=<rev>  ktask'\''s benchmarks, this tree against <rev>, in one boot'
	@echo 'make profile ARGS="samples=200000"  ktask'\''s benchmarks under perf in the VM'
	@echo 'make check-matrix  make check on 6.1, 6.12 and 6.12-rt (KVER=...) in turn,'
	@echo '             installing each kernel; one summary line per kernel'
	@echo 'make check-debug  the same in a debug kernel (KASAN, lockdep, debug objects, ...)'
	@echo 'make check-kcsan  the same in a KCSAN kernel'
	@echo 'make lint    checkpatch --strict, W=1 and sparse builds, shellcheck, make docs'
	@echo 'make docs    render Documentation/ktask/ to HTML in out/docs/html (Sphinx and'
	@echo '             the kernel'\''s kernel-doc); fail on any warning'
	@echo 'make deps    install the Debian packages all of the above needs'
	@echo 'make clean   remove every build and test output'
	@echo 'KDIR=$(KDIR)'
