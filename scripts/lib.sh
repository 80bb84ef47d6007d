# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers shared by the ktask scripts. Source it; it defines functions and
# KTASK_SRC (the repository root) and changes nothing else.

# shellcheck disable=SC2034 # used by the scripts that source this file
KTASK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
	printf '%s: error: %s\n' "${0##*/}" "$*" >&2
	exit 1
}

# usage [STATUS]: print the calling script's header comment (from its
# fourth line to "set -euo") as its help, and exit with STATUS (0).
usage() {
	sed -n '4,/^set -euo/{/^set/d;s/^# \{0,1\}//;p}' "$0"
	exit "${1:-0}"
}

# ktask_kdir: print the kernel build directory to build against.
# $KDIR if set; else the headers of the kernel $KVER names (see
# ktask_kver_headers); else those of Debian's default kernel, the one
# linux-image-amd64 depends on, whatever other kernels are installed; else
# the running kernel's build dir; else the newest installed Debian
# linux-headers-*-amd64 whose kernel image and module directory are
# installed too (so the VM can boot what we build against).
ktask_kdir() {
	local d ver

	if [[ -n "${KDIR:-}" ]]; then
		printf '%s\n' "$KDIR"
		return
	fi
	if [[ -n "${KVER:-}" ]]; then
		ktask_kver_headers "$KVER"
		return
	fi
	ver=$(ktask_default_kernel)
	if [[ -n "$ver" ]] && ktask_kernel_installed "$ver"; then
		printf '%s\n' "/usr/src/linux-headers-$ver"
		return
	fi
	d=/lib/modules/$(uname -r)/build
	if [[ -d "$d" ]]; then
		printf '%s\n' "$d"
		return
	fi
	for d in $(compgen -G '/usr/src/linux-headers-*-amd64' | sort -rV); do
		ver=${d#/usr/src/linux-headers-}
		if ktask_kernel_installed "$ver"; then
			printf '%s\n' "$d"
			return
		fi
	done
	die "no kernel build dir: set KDIR or run scripts/deps.sh"
}

# ktask_default_kernel: the ABI name (6.1.0-NN-amd64) of Debian's default
# kernel, from linux-image-amd64's dependency; empty if it is not installed.
ktask_default_kernel() {
	dpkg-query -W -f='${Depends}\n' linux-image-amd64 2>/dev/null |
		sed -n 's/^linux-image-\([^ ,]*\).*/\1/p' || true
}

# ktask_kernel_installed VER: headers, image and modules of VER are there.
ktask_kernel_installed() {
	[[ -d /usr/src/linux-headers-$1 && -e /boot/vmlinuz-$1 && -d /lib/modules/$1 ]]
}

# ktask_kver_abi KVER: the ABI name of the newest kernel of KVER ("6.1":
# Debian's default; "6.12": the newest 6.12 *-amd64; "6.12-rt": the newest
# 6.12 *-rt-amd64) that apt knows of, installed or not.
ktask_kver_abi() {
	local kver=$1 series flavour=amd64

	case $kver in
	6.1 | default)
		ktask_default_kernel
		return
		;;
	*-rt)
		series=${kver%-rt}
		flavour=rt-amd64
		;;
	*)
		series=$kver
		;;
	esac
	{
		compgen -G "/usr/src/linux-headers-$series.*" |
			sed 's|^/usr/src/linux-headers-||' || true
		apt-cache search --names-only "^linux-headers-$series\\." 2>/dev/null |
			sed 's/^linux-headers-\([^ ]*\) .*/\1/' || true
	} | { grep -E "^${series//./\\.}\\.[0-9]+\\+[^-]*-$flavour\$" || true; } |
		sort -uV | tail -1
}

# ktask_kver_headers KVER: the installed headers dir of KVER's kernel.
ktask_kver_headers() {
	local ver

	ver=$(ktask_kver_abi "$1")
	[[ -n "$ver" ]] || die "KVER=$1: no such kernel known to apt"
	ktask_kernel_installed "$ver" ||
		die "KVER=$1: kernel $ver is not installed (make deps KVER=$1)"
	printf '%s\n' "/usr/src/linux-headers-$ver"
}

# ktask_kver KDIR: the release string of the kernel KDIR builds for.
ktask_kver() {
	local kdir=$1 f

	f=$kdir/include/config/kernel.release
	[[ -r "$f" ]] || die "$f missing: is $kdir a configured kernel build dir?"
	# Debian's headers carry the upstream version here; their directory
	# name carries the ABI name (6.1.0-NN-amd64) that /boot uses.
	case $kdir in
	/usr/src/linux-headers-*)
		kdir=${kdir%/}
		printf '%s\n' "${kdir#/usr/src/linux-headers-}"
		;;
	/lib/modules/*/build)
		kdir=${kdir#/lib/modules/}
		printf '%s\n' "${kdir%/build*}"
		;;
	*)
		cat "$f"
		;;
	esac
}

# ktask_cache: print (and create) the per-user cache directory for files
# taken from the distribution's kernel source (never copied into the repo).
ktask_cache() {
	local c=${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ktask

	mkdir -p "$c"
	printf '%s\n' "$c"
}

# ktask_linux_src: extract the kselftest framework files, checkpatch and
# the kernel-doc script and Sphinx extension (make docs) from the newest
# /usr/src/linux-source-*.tar.xz into the cache, once, and print the
# directory holding them (a partial kernel tree).
ktask_linux_src() {
	local tarball top dest tmp f ok
	local files=(
		tools/testing/selftests/kselftest.h
		tools/testing/selftests/kselftest_harness.h
		tools/testing/selftests/kselftest/runner.sh
		tools/testing/selftests/kselftest/prefix.pl
		tools/testing/selftests/kselftest/module.sh
		scripts/checkpatch.pl
		scripts/spelling.txt
		scripts/const_structs.checkpatch
		scripts/kernel-doc
		Documentation/sphinx/kerneldoc.py
		Documentation/sphinx/kernellog.py
	)

	tarball=$(compgen -G '/usr/src/linux-source-*.tar.xz' | sort -V | tail -n 1)
	[[ -n "$tarball" ]] || die "no /usr/src/linux-source-*.tar.xz: run scripts/deps.sh"
	top=$(basename "$tarball" .tar.xz)
	dest=$(ktask_cache)/$top
	# The stamp records which tarball the files came from; a file added to
	# the list above since the last extraction extracts them again.
	if [[ -f "$dest/.stamp" && "$(cat "$dest/.stamp")" == "$(stat -c '%s %Y' "$tarball")" ]]; then
		ok=1
		for f in "${files[@]}"; do
			[[ -e "$dest/$f" ]] || ok=0
		done
		if ((ok)); then
			printf '%s\n' "$dest"
			return
		fi
	fi
	echo "  EXTRACT ${files[*]##*/} from $tarball" >&2
	tmp=$(mktemp -d "$(ktask_cache)/.extract.XXXXXX")
	tar -xJf "$tarball" -C "$tmp" --strip-components=1 "${files[@]/#/$top/}" ||
		{ rm -rf "$tmp"; die "cannot extract kselftest/checkpatch/kernel-doc from $tarball"; }
	stat -c '%s %Y' "$tarball" >"$tmp/.stamp"
	rm -rf "$dest"
	mv "$tmp" "$dest"
	printf '%s\n' "$dest"
}
