#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make docs: render Documentation/ktask/ to HTML in out/docs/html with
# Sphinx (Debian's python3-sphinx; scripts/deps.sh --docs) and the kernel's
# kernel-doc extension and script, from the tree scripts/lib.sh extracts
# from the distribution's kernel source (Documentation/conf.py), so the API
# reference in api.rst comes from the kernel-doc of include/linux/ktask.h
# and of the exported functions in ktask/*.c. Fails on any finding of
#  1. kernel-doc -none -v (6.1's script has no -Wall; -v adds the checks
#     for a missing "Return:" section and for text before the sections)
#     on include/linux/ktask.h and every ktask/*.[ch];
#  2. sphinx-build: any Sphinx warning (-W --keep-going), and any warning
#     the kernel-doc script prints while the directive runs it (those reach
#     stderr only, not Sphinx's warning count).
# Every run reads every page again (-E), so a warning is never hidden by
# an up-to-date page.
#
#   -o DIR   build into DIR/html (default out/docs)
#   -h       this help
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$KTASK_SRC"

out=out/docs
while getopts o:h opt; do
	case $opt in
	o) out=$OPTARG ;;
	h) usage ;;
	*) usage 2 ;;
	esac
done

command -v sphinx-build >/dev/null ||
	die "no sphinx-build: run scripts/deps.sh --docs (or make docs)"
linux=$(ktask_linux_src)
kdoc=$linux/scripts/kernel-doc
failed=()

# The regexp of a finding in either tool's output: kernel-doc's
# "FILE:LINE: warning: ..." and Sphinx's "FILE:LINE: WARNING: ...".
finding=': (warning|error|WARNING|ERROR|CRITICAL|SEVERE):|^(WARNING|ERROR): |^Warning, treated as error:'

mapfile -t kfiles < <(git ls-files -co --exclude-standard -- \
	include/linux/ktask.h 'ktask/*.[ch]' | sort -u)
echo "docs: kernel-doc -none -v on ${#kfiles[@]} files"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
perl "$kdoc" -none -v "${kfiles[@]}" >"$log" 2>&1 || true
if grep -E "$finding" "$log"; then
	failed+=("kernel-doc ($(grep -cE "$finding" "$log") warnings above)")
fi

echo "docs: sphinx-build $(sphinx-build --version | cut -d' ' -f2) Documentation/ktask -> $out/html"
start=$SECONDS
rm -rf "$out/html" "$out/doctrees"
mkdir -p "$out"
status=0
KTASK_LINUX_SRC=$linux \
KTASK_DOCS_VERSION=$(git describe --always --dirty 2>/dev/null || true) \
	sphinx-build -b html -E -q -W --keep-going -j auto \
	-c Documentation -d "$out/doctrees" \
	Documentation/ktask "$out/html" >"$log" 2>&1 || status=$?
cat "$log"
# Docutils reports some findings twice: count each once.
n=$({ grep -E "$finding" "$log" || true; } | sort -u | wc -l)
if ((status || n)); then
	failed+=("sphinx-build (exit $status, $n warnings above)")
fi

if ((${#failed[@]})); then
	printf 'docs: FAIL: %s\n' "${failed[@]}"
	exit 1
fi
echo "docs: $out/html/index.html ($((SECONDS - start)) s)"
