#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host-side checks of our kernel code, as suites in the guest's marker
# format (scripts/check-results.py reads them with --host-tap):
#
#   style/checkpatch  scripts/checkpatch.pl --strict on every C file and
#                     header we own, and on every patch in patches/;
#   style/build-W1-sparse
#                     our objects rebuilt with W=1 (extra warnings) and C=1
#                     (sparse); any warning fails;
#   style/kernel-doc  scripts/kernel-doc -none on our files; any warning
#                     fails.
#
# Needs a configured tree: run after scripts/build-kernel.sh FLAVOUR
# (default test).

set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

FLAVOUR=${1:-test}
SRC=$ROOT/build/linux
OBJ=$ROOT/build/obj-$FLAVOUR

# Our kernel sources, relative to the tree.
KFILES=$(cd "$ROOT" && ls mm/*.c mm/*.h include/linux/*.h include/uapi/linux/*.h include/trace/events/*.h 2>/dev/null)
UFILES=$(cd "$ROOT" && ls tools/testing/selftests/secretmem/*.c tools/testing/selftests/secretmem/*.h 2>/dev/null)
OBJS=$(cd "$ROOT" && ls mm/*.c 2>/dev/null | sed 's/\.c$/.o/')

# ENOSYS: memfd_secret() returns -ENOSYS when secretmem is off; that is the
# system call's documented ABI, which checkpatch cannot know.
CP_IGNORE=FILE_PATH_CHANGES,ENOSYS
# Trace headers are laid out as the tracing macros want (TP_STRUCT__entry(
# at the end of a line, DEFINE_EVENT arguments on lines of their own), as
# in every header of include/trace/events/; checkpatch flags that layout.
CP_IGNORE_TRACE=$CP_IGNORE,OPEN_ENDED_LINE,PARENTHESIS_ALIGNMENT

n=0
tap_begin() { echo "# secretpool-suite: $1"; echo "TAP version 13"; n=0; }
tap_result() {		# ok|not_ok DESCRIPTION [OUTPUT]
	n=$((n + 1))
	if [ "$1" = ok ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		[ -n "${3:-}" ] && printf '%s\n' "$3" | head -40 | sed 's/^/# /'
	fi
}
tap_end() { echo "1..$n"; echo "# secretpool-suite-exit: $1 0"; }

tap_begin style/checkpatch
cd "$SRC"
for f in $KFILES $UFILES; do
	ignore=$CP_IGNORE
	case "$f" in include/trace/events/*) ignore=$CP_IGNORE_TRACE ;; esac
	out=$(./scripts/checkpatch.pl --strict --no-summary --terse --show-types \
		--ignore "$ignore" -f "$f" 2>&1)
	if [ -z "$out" ]; then tap_result ok "$f"; else tap_result not_ok "$f" "$out"; fi
done
for p in "$ROOT"/patches/*.patch; do
	[ -f "$p" ] || continue
	out=$(./scripts/checkpatch.pl --strict --no-summary --terse --show-types \
		--ignore $CP_IGNORE "$p" 2>&1)
	if [ -z "$out" ]; then
		tap_result ok "patches/$(basename "$p")"
	else
		tap_result not_ok "patches/$(basename "$p")" "$out"
	fi
done
tap_end style/checkpatch

tap_begin style/kernel-doc
for f in $KFILES; do
	out=$(./scripts/kernel-doc -none "$f" 2>&1)
	if [ -z "$out" ]; then tap_result ok "$f"; else tap_result not_ok "$f" "$out"; fi
done
tap_end style/kernel-doc

# The uapi header as "make headers_install" installs it compiles alone,
# in C and in C++ (the header is included first, with nothing before it).
tap_begin style/uapi-headers
UAPI=$ROOT/build/uapi
if ! make -s -C "$SRC" O="$ROOT/build/obj-uapi" INSTALL_HDR_PATH="$UAPI" headers_install 2>"$UAPI.err"; then
	tap_result not_ok "make headers_install" "$(cat "$UAPI.err")"
else
	for h in $(cd "$ROOT/include/uapi" && ls linux/*.h 2>/dev/null); do
		for lang in c c++; do
			cc=gcc
			[ $lang = c++ ] && cc=g++
			out=$(printf '#include <%s>\nint main(void) { return 0; }\n' "$h" |
				$cc -x $lang -fsyntax-only -Wall -Wextra -pedantic -isystem "$UAPI/include" - 2>&1)
			if [ -n "$out" ]; then
				tap_result not_ok "$h alone in $lang" "$out"
			else
				tap_result ok "$h alone in $lang"
			fi
		done
	done
fi
# The example program of Documentation/userspace-api/secretmem.rst builds
# against the installed headers.
doc=$ROOT/Documentation/userspace-api/secretmem.rst
if [ -f "$doc" ]; then
	awk '/^\.\. code-block:: c/ { on = 1; next }
	     on && /^[^\t]/ && NF { on = 0 }
	     on { sub(/^\t/, ""); print }' "$doc" > "$UAPI.example.c"
	out=$(gcc -Wall -Wextra -isystem "$UAPI/include" -o "$UAPI.example" "$UAPI.example.c" 2>&1)
	if [ -n "$out" ] || [ ! -s "$UAPI.example.c" ]; then
		tap_result not_ok "secretmem.rst: the example builds" "${out:-no example found}"
	else
		tap_result ok "secretmem.rst: the example builds"
	fi
fi
tap_end style/uapi-headers

tap_begin style/build-W1-sparse
if [ ! -f "$OBJ/.config" ]; then
	tap_result not_ok "configured tree" "no $OBJ/.config: build the kernel first"
else
	export CCACHE_DIR=${CCACHE_DIR:-$ROOT/build/ccache}
	for o in $OBJS; do
		# Force the object to be rebuilt so every warning shows again.
		rm -f "$OBJ/$o"
		out=$(make -C "$SRC" O="$OBJ" -s W=1 C=1 CC="ccache gcc" "$o" 2>&1 |
			grep -v -e '^make\[' -e 'Entering directory' -e 'Leaving directory')
		if [ -z "$out" ]; then tap_result ok "$o"; else tap_result not_ok "$o" "$out"; fi
		# Leave a normally built object behind for the next kernel build.
		rm -f "$OBJ/$o"
	done
fi
tap_end style/build-W1-sparse
