#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install what building, testing and linting ktask needs on Debian 12.
# Idempotent: installs only missing packages, and runs apt-get update only
# when something is missing.
#
#   --bench   also what "make bench" needs: gnuplot for the plot, and for
#             the Tokio contender (bench/tokio) Debian's Tokio crate and,
#             if there is no cargo, Debian's Rust toolchain. Those are
#             optional: if they cannot be installed, this says so and
#             succeeds, and "make bench" runs without Tokio.
#   --kernel  also what building a kernel from linux-source needs
#             (scripts/debug-kernel.sh, make check-debug, make check-kcsan)
#   --docs    also what "make docs" needs: Sphinx (python3-sphinx, with
#             its default theme); the kernel-doc extension and script come
#             from linux-source-6.1 (scripts/docs.sh)
#
# With KVER set (6.12, 6.12-rt; see ktask_kver_abi in lib.sh), also the
# image and headers of the newest such kernel Debian has.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

bench=0
kernel=0
docs=0
for arg in "$@"; do
	case $arg in
	--bench) bench=1 ;;
	--kernel) kernel=1 ;;
	--docs) docs=1 ;;
	*) echo "usage: $0 [--bench] [--kernel] [--docs]" >&2; exit 2 ;;
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
optional=()
if ((bench)); then
	pkgs+=(gnuplot-nox)	# make bench: bench/throughput.svg
	# bench/tokio, built offline from /usr/share/cargo/registry
	optional+=(librust-tokio-dev)
	if ! command -v cargo >/dev/null; then
		optional+=(cargo)	# and rustc, with a static libstd
	fi
fi
if [[ -n "${KVER:-}" && "$KVER" != 6.1 && "$KVER" != default ]]; then
	kabi=$(ktask_kver_abi "$KVER")
	if [[ -z "$kabi" ]]; then
		apt-get update -q
		kabi=$(ktask_kver_abi "$KVER")
	fi
	[[ -n "$kabi" ]] || { echo "deps: KVER=$KVER: no such kernel in Debian's archive" >&2; exit 1; }
	# The security archive publishes a new kernel's -unsigned image
	# before its signed one; both install /boot/vmlinuz-$kabi.
	image=linux-image-$kabi
	if ! dpkg-query -W -f='${db:Status-Status}' "$image" 2>/dev/null | grep -qx installed &&
		! apt-cache show --no-all-versions "$image" 2>/dev/null | grep -q '^Version:'; then
		image=$image-unsigned
	fi
	pkgs+=("$image" "linux-headers-$kabi")
fi
if ((docs)); then
	pkgs+=(python3-sphinx)	# make docs: sphinx-build, for kerneldoc.py
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

# not_installed PKG...: print the ones not installed.
not_installed() {
	local p

	for p in "$@"; do
		if ! dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed; then
			echo "$p"
		fi
	done
}

mapfile -t missing < <(not_installed "${pkgs[@]}")
mapfile -t missing_optional < <(not_installed "${optional[@]}")
if ((${#missing[@]} + ${#missing_optional[@]} == 0)); then
	echo "deps: all $((${#pkgs[@]} + ${#optional[@]})) packages installed"
	exit 0
fi

sudo=()
if ((EUID != 0)); then
	if ! command -v sudo >/dev/null; then
		if ((${#missing[@]})); then
			echo "deps: need root or sudo to install: ${missing[*]} ${missing_optional[*]}" >&2
			exit 1
		fi
		echo "deps: need root or sudo to install ${missing_optional[*]}: make bench runs without Tokio" >&2
		exit 0
	fi
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q || ((${#missing[@]} == 0))
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]}"
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if ((${#missing_optional[@]})); then
	echo "deps: installing ${missing_optional[*]} (optional)"
	"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing_optional[@]}" ||
		echo "deps: could not install ${missing_optional[*]}: make bench runs without Tokio" >&2
fi
