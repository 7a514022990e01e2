#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh FLAVOUR
#
# Configure and build the kernel for one flavour into build/obj-FLAVOUR and
# copy the image to build/bzImage-FLAVOUR:
#   test   kconfig/base.config + secretpool.config + trace.config + debug.config
#          (lockdep, KASAN, DEBUG_VM, ...): what the test command boots;
#   bench  kconfig/base.config + secretpool.config + trace.config: no debug options,
#          so throughput figures mean something; what the main command boots.
#   stock  the tarball as Debian ships it (build/linux-stock: no patches, none
#          of our files), kconfig/base.config + trace.config + stock.config:
#          the bench kernel's configuration without the pool, the baseline
#          the benchmarks compare against ("stock 6.1").
# build/bzImage is a link to the test or bench image built last.
#
# The config is generated with "make allnoconfig" and KCONFIG_ALLCONFIG, so
# only what the fragments ask for is built.  It is regenerated only when a
# fragment or the tree's Kconfig files change.  Compilation goes through
# ccache (CCACHE_DIR defaults to build/ccache).  Extra make arguments can
# be passed in KMAKEFLAGS (e.g. KMAKEFLAGS="W=1 C=1").

set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

FLAVOUR=${1:-test}
SRC=$ROOT/build/linux
OBJ=$ROOT/build/obj-$FLAVOUR

case "$FLAVOUR" in
test)	FRAGS="base secretpool trace debug" ;;
bench)	FRAGS="base secretpool trace" ;;
stock)	FRAGS="base trace stock"; SRC=$ROOT/build/linux-stock ;;
*)	die "unknown flavour '$FLAVOUR' (test, bench or stock)" ;;
esac

[ -f "$SRC/Makefile" ] || die "no tree in ${SRC#$ROOT/} (run scripts/prepare-tree.sh${FLAVOUR/#stock/ stock})"

export CCACHE_DIR=${CCACHE_DIR:-$ROOT/build/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Symlinked sources and absolute paths: let ccache hash by content.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-time_macros,include_file_mtime,include_file_ctime}
export KBUILD_BUILD_TIMESTAMP=${KBUILD_BUILD_TIMESTAMP:-2026-01-01 00:00:00 UTC}
export KBUILD_BUILD_USER=secretpool KBUILD_BUILD_HOST=secretpool

mkdir -p "$OBJ"
KMAKE=(make -C "$SRC" O="$OBJ" -j"$(nproc_build)" CC="ccache gcc" HOSTCC="ccache gcc" -s)

merged=$OBJ/secretpool.allconfig
tmp=$(mktemp)
for f in $FRAGS; do
	[ -f "$ROOT/kconfig/$f.config" ] || die "kconfig/$f.config missing"
	# stock.config names the kernel itself: base.config's name goes.
	if [ "$FLAVOUR" = stock ] && [ "$f" = base ]; then
		grep -v '^CONFIG_LOCALVERSION=' "$ROOT/kconfig/$f.config" >> "$tmp"
	else
		cat "$ROOT/kconfig/$f.config" >> "$tmp"
	fi
done
kconfig_hash=$( (cat "$tmp"; cd "$SRC" && find -L . -name 'Kconfig*' -newer Makefile -print0 |
	sort -z | xargs -0r sha256sum) | sha256sum | cut -d' ' -f1)

if [ ! -f "$OBJ/.config" ] || [ "$(cat "$OBJ/.secretpool-kconfig" 2>/dev/null)" != "$kconfig_hash" ]; then
	log "configuring $FLAVOUR kernel from: $FRAGS"
	mv "$tmp" "$merged"
	"${KMAKE[@]}" KCONFIG_ALLCONFIG="$merged" allnoconfig >/dev/null
	# Every option a fragment sets must have survived (a missing
	# dependency makes Kconfig drop it silently).
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			if ! grep -qxF "$line" "$OBJ/.config"; then
				echo "  wanted: $line   got: $(grep -E "^(# )?${line%%=*}[= ]" "$OBJ/.config" || echo unset)" >&2
				bad=1
			fi ;;
		esac
	done < "$merged"
	[ $bad = 0 ] || die "kconfig fragments did not apply as written (see above)"
	echo "$kconfig_hash" > "$OBJ/.secretpool-kconfig"
else
	rm -f "$tmp"
fi

log "building $FLAVOUR kernel (build/obj-$FLAVOUR)"
start=$(date +%s)
# shellcheck disable=SC2086
"${KMAKE[@]}" ${KMAKEFLAGS:-} bzImage
cp "$OBJ/arch/x86/boot/bzImage" "$ROOT/build/bzImage-$FLAVOUR"
# Which of our commits the image was built from, for the benchmark's
# provenance (benchmarks/report.py); "-dirty": with uncommitted changes.
git -C "$ROOT" describe --always --abbrev=12 --dirty > "$OBJ/.secretpool-source" 2>/dev/null ||
	rm -f "$OBJ/.secretpool-source"
# build/bzImage (run-vm.sh's default) stays a kernel with the pool.
[ "$FLAVOUR" = stock ] || ln -sfn "bzImage-$FLAVOUR" "$ROOT/build/bzImage"
log "build/bzImage-$FLAVOUR ready ($(( $(date +%s) - start )) s)"
