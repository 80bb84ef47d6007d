#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debug-kernel.sh [--variant debug|kcsan] [--force|--dir]: build a debug kernel
# from the distribution's kernel source (/usr/src/linux-source-*.tar.xz)
# and print the directory that holds it. That directory is a kernel build
# directory to build modules against (KDIR) and holds the image to boot,
# arch/x86/boot/bzImage.
#
# The configuration is "make tinyconfig" plus the fragments in
# scripts/kconfig/: base.config for every variant, then
#   debug   debug.config kasan.config   (KASAN, lockdep, debug objects, ...)
#   kcsan   kcsan.config                (KCSAN; it excludes KASAN)
# Every option a fragment sets must come out of "make olddefconfig" with the
# value the fragment gives it, or the build fails.
#
# The result is cached in ${XDG_CACHE_HOME:-~/.cache}/ktask/kernel-VARIANT-HASH/,
# HASH covering the fragments, this script, the source tarball and the
# compiler, so an unchanged configuration is built once. Only what building
# external modules needs is kept (headers, Makefiles, Kconfig, .config,
# Module.symvers, scripts/ and objtool) and the bzImage; an older build of
# the same variant is removed. --force rebuilds; --dir only prints the
# directory (and fails if it is not built).
#
# Environment: KTASK_KERNEL_JOBS  parallel jobs (default: nproc, or make's
# jobserver when run from make). The build runs under nice.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

variant=debug
force=0
only_dir=0
while (($#)); do
	case $1 in
	--variant) variant=${2:?--variant needs a name}; shift 2 ;;
	--variant=*) variant=${1#--variant=}; shift ;;
	--force) force=1; shift ;;
	--dir) only_dir=1; shift ;;
	-h|--help) usage ;;
	*) usage 2 >&2 ;;
	esac
done

frag_dir=$KTASK_SRC/scripts/kconfig
case $variant in
debug) frags=(base.config debug.config kasan.config) ;;
kcsan) frags=(base.config kcsan.config) ;;
*) die "unknown variant '$variant' (debug or kcsan)" ;;
esac
frags=("${frags[@]/#/$frag_dir/}")

tarball=$(compgen -G '/usr/src/linux-source-*.tar.xz' | sort -V | tail -n 1)
[[ -n "$tarball" ]] || die "no /usr/src/linux-source-*.tar.xz: run scripts/deps.sh --kernel"
for tool in bc bison flex gcc make perl; do
	command -v "$tool" >/dev/null || die "$tool missing: run scripts/deps.sh --kernel"
done

# Bump when the build itself changes (not the fragments, which are hashed).
recipe=1

# trim_tree DIR: keep what "make -C DIR M=..." and booting need: the
# top-level files (.config, Makefile, Module.symvers, System.map), include/,
# arch/x86/ without sources and objects, scripts/, objtool, and every
# Makefile, Kbuild and Kconfig file (Kconfig reads them if .config changes).
trim_tree() {
	local d=$1

	find "$d/arch" -mindepth 1 -maxdepth 1 -type d ! -name x86 -exec rm -rf {} +
	find "$d/arch/x86" -type f \( -name '*.[cSo]' -o -name '*.a' -o -name '.*.cmd' -o \
		-name vmlinux -o -name 'vmlinux.[aob]*' -o -name '*.tmp' \) -delete
	find "$d" \( -path "$d/include" -o -path "$d/arch/x86" -o \
		-path "$d/scripts" -o -path "$d/tools" \) -prune -o -type f \
		-path "$d/*/*" ! -name 'Makefile*' ! -name 'Kbuild*' ! -name 'Kconfig*' -print0 |
		xargs -0 rm -f
	find "$d/tools" -mindepth 1 -maxdepth 1 ! -name objtool -exec rm -rf {} +
	if [[ -d "$d/tools/objtool" ]]; then
		find "$d/tools/objtool" -mindepth 1 -type f ! -path "$d/tools/objtool/objtool" -delete
	fi
	rm -f "$d"/vmlinux "$d"/vmlinux.[ao] "$d"/.tmp_*
	find "$d" -depth -type d -empty -delete
}

# The fragments as they are now: the hash, the configuration and its
# check all use this copy, even if the files change during the build.
cache=$(ktask_cache)
snap=$(mktemp -d "$cache/.kconfig.XXXXXX")
tmp=
trap 'rm -rf "$snap" ${tmp:+"$tmp"}' EXIT
cp "${frags[@]}" "$snap/"
frags=("${frags[@]/#*\//$snap/}")

hash=$({
	echo "$variant $recipe"
	cat "${frags[@]}"
	echo "${tarball##*/} $(stat -c '%s %Y' "$tarball")"
	gcc --version | head -n 1
} | sha256sum | cut -c 1-12)
dir=$cache/kernel-$variant-$hash
stamp=$dir/.ktask-kernel

if ((only_dir)); then
	printf '%s\n' "$dir"
	[[ -f "$stamp" ]]
	exit
fi

# One build per variant at a time; a second caller waits and reuses it.
exec 9>"$cache/kernel-$variant.lock"
flock 9

if ((!force)) && [[ -f "$stamp" && -r "$dir/arch/x86/boot/bzImage" ]]; then
	echo "debug-kernel: $variant: cached in $dir" >&2
	printf '%s\n' "$dir"
	exit 0
fi

tmp=$(mktemp -d "$cache/.kernel-$variant.XXXXXX")
log=$dir.log

jobs=()
if [[ " ${MAKEFLAGS:-} " != *--jobserver* ]]; then
	jobs=(-j"${KTASK_KERNEL_JOBS:-$(nproc)}")
fi
kmake() {
	nice -n 10 make -C "$tmp" ARCH=x86_64 "${jobs[@]}" "$@"
}

SECONDS=0
echo "debug-kernel: $variant: building in $tmp (log: $log)" >&2
echo "  EXTRACT $tarball" >&2
tar -xJf "$tarball" -C "$tmp" --strip-components=1

echo "  CONFIG  tinyconfig ${frags[*]##*/}" >&2
{
	kmake tinyconfig
	"$tmp/scripts/kconfig/merge_config.sh" -m -O "$tmp" "$tmp/.config" "${frags[@]}"
	kmake olddefconfig
} >"$log" 2>&1 || { cat "$log" >&2; die "configuring the kernel failed"; }

# Every "CONFIG_X=v" and "# CONFIG_X is not set" of the fragments must
# have survived olddefconfig (a missing dependency silently drops it).
bad=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" "$tmp/.config" || bad+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$tmp/.config" || echo unset))")
		;;
	'# CONFIG_'*' is not set')
		opt=${line#\# }
		opt=${opt%% *}
		if grep -q "^$opt=" "$tmp/.config"; then
			bad+=("$line (got: $(grep "^$opt=" "$tmp/.config"))")
		fi
		;;
	esac
done < <(cat "${frags[@]}")
if ((${#bad[@]})); then
	printf 'debug-kernel: not in the final .config: %s\n' "${bad[@]}" >&2
	die "the $variant configuration lost options; fix scripts/kconfig/"
fi

echo "  MAKE    bzImage modules (a few minutes; nice)" >&2
kmake bzImage modules modules_prepare >>"$log" 2>&1 ||
	{ tail -n 40 "$log" >&2; die "building the kernel failed (log: $log)"; }
[[ -r "$tmp/Module.symvers" ]] || die "no Module.symvers after the build"

echo "  TRIM    keep what building modules needs" >&2
trim_tree "$tmp"
cp "$tmp/.config" "$tmp/.ktask-config"
cp -r "$snap" "$tmp/.ktask-kconfig"
echo "$variant ${frags[*]##*/} ${tarball##*/} built in ${SECONDS}s" >"$tmp/.ktask-kernel"
rm -rf "$dir"
mv "$tmp" "$dir"
tmp=
# Older configurations of this variant are of no further use.
for old in "$cache/kernel-$variant-"*; do
	[[ "$old" == "$dir" || "$old" == "$dir.log" ]] && continue
	rm -rf "$old"
done
echo "debug-kernel: $variant: built in ${SECONDS}s: $dir ($(du -sh "$dir" | cut -f1))" >&2
printf '%s\n' "$dir"
