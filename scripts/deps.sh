#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building, testing and linting ktask needs on Debian 12.
# Idempotent: installs only missing packages, and runs apt-get update only
# when something is missing.
#
#   --bench   also what "make bench" needs (gnuplot for the plot)
#   --kernel  also what building a kernel from linux-source needs
#             (scripts/debug-kernel.sh, make check-debug, make check-kcsan)
set -euo pipefail

bench=0
kernel=0
for arg in "$@"; do
	case $arg in
	--bench) bench=1 ;;
	--kernel) kernel=1 ;;
	*) echo "usage: $0 [--bench] [--kernel]" >&2; exit 2 ;;
	esac
done

pkgs=(
	build-essential		# gcc, make, libc6-dev (libc.a for static tests)
	kmod			# modinfo
	linux-image-amd64	# the kernel the VM boots: /boot/vmlinuz-*
	linux-headers-amd64	# its build dir: KDIR
	linux-source-6.1	# kselftest framework and checkpatch (extracted)
	qemu-system-x86		# the VM
	busybox-static		# the VM's userspace
	cpio			# packs the initramfs
	xz-utils		# unpacks the source tarball
	perl			# checkpatch
	sparse			# make lint (C=1)
	shellcheck		# make lint (scripts)
)
if ((bench)); then
	pkgs+=(gnuplot-nox)	# make bench: bench/throughput.svg
fi
if ((kernel)); then
	pkgs+=(
		bc		# the kernel build: timeconst, ...
		bison		# kconfig, genksyms
		flex
		libelf-dev	# objtool
		libssl-dev	# certificate and signing tools
	)
fi

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	echo "deps: all ${#pkgs[@]} packages installed"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || { echo "deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
	sudo=(sudo)
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
