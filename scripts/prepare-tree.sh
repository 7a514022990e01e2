#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Prepare the kernel source tree under build/linux:
#   1. unpack Debian's linux-source-6.1 tarball (once);
#   2. apply patches/series with quilt (re-applied when any patch changes);
#   3. symlink our whole files (mm/secretpool.c, ...) into the tree, so an
#      edit in the repository is live in the next incremental build.
#
# Idempotent: a second run with nothing changed touches nothing, so make
# rebuilds nothing.  A patch that does not apply stops the run with its name.
#
# "prepare-tree.sh stock" only unpacks the tarball into build/linux-stock,
# untouched: the stock 6.1 kernel the benchmarks compare against.

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

TARBALL=${LINUX_TARBALL:-/usr/src/linux-source-6.1.tar.xz}
SRC=$ROOT/build/linux
PATCHES=$ROOT/patches
MANIFEST=$SRC/.secretpool-links
PATCH_STAMP=$SRC/.secretpool-patches

# Directories of the repository whose files are placed whole into the tree.
OWNED_DIRS="mm include arch lib Documentation tools/testing/selftests/secretmem"

# unpack DIR: the tarball, whole, into DIR (once).
unpack() {
	[ -f "$1/Makefile" ] && return 0
	[ -f "$TARBALL" ] || die "$TARBALL not found (run scripts/deps.sh)"
	log "unpacking $(basename "$TARBALL") into ${1#$ROOT/}"
	rm -rf "$1" "$1.tmp"
	mkdir -p "$1.tmp"
	tar -xf "$TARBALL" -C "$1.tmp" --strip-components=1
	mv "$1.tmp" "$1"
}

if [ "${1:-}" = stock ]; then
	unpack "$ROOT/build/linux-stock"
	log "tree ready: build/linux-stock (the tarball as shipped)"
	exit 0
fi
unpack "$SRC"

export QUILT_PATCHES=$PATCHES
export QUILT_PC=.pc
export QUILT_NO_DIFF_TIMESTAMPS=1
QUILT="quilt --quiltrc=-"

# Our symlinks go first, so quilt never sees them; they are put back below.
remove_links() {
	[ -f "$MANIFEST" ] || return 0
	while read -r f; do
		if [ -L "$SRC/$f" ]; then
			rm -f "$SRC/$f"
			# Put back the upstream file we replaced, if there was one.
			if [ -e "$SRC/$f.secretpool-orig" ]; then
				mv "$SRC/$f.secretpool-orig" "$SRC/$f"
		fi
		fi
	done < "$MANIFEST"
	rm -f "$MANIFEST"
}

[ -f "$PATCHES/series" ] || die "patches/series is missing"
series_list() { grep -v -e '^#' -e '^[[:space:]]*$' "$PATCHES/series" || true; }
patch_hash=$(cd "$PATCHES" && cat series $(series_list) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$PATCH_STAMP" 2>/dev/null)" != "$patch_hash" ]; then
	remove_links
	cd "$SRC"
	if [ -d .pc ] && [ -s .pc/applied-patches ]; then
		log "patches changed: popping the applied series"
		# -f: a patch edited since it was applied cannot be reversed; quilt
		# restores its backups of the original files instead.
		$QUILT pop -a -f -q >/dev/null
	fi
	rm -f "$PATCH_STAMP"
	for p in $(series_list); do
		if ! out=$($QUILT push -q 2>&1); then
			echo "$out" >&2
			die "patch $p does not apply to $(basename "$TARBALL")"
		fi
		log "applied patches/$p"
	done
	echo "$patch_hash" > "$PATCH_STAMP"
	cd "$ROOT"
fi

# The series relies on a 6.1.y backport of upstream's "mm/secretmem: fix
# GUP-fast succeeding on secretmem folios" (Debian ships it since its 6.1.85
# update): GUP-fast must recognise a secret page by its mapping alone.  With
# the older test for PG_lru, a secret page that is off the LRU for a moment
# (isolated, or still in a CPU's LRU batch) could be pinned through
# vmsplice() or O_DIRECT and read through the direct map.
if sed -n '/page_is_secretmem/,/^}/p' "$SRC/include/linux/secretmem.h" |
	grep -q 'PageLRU'; then
	die "include/linux/secretmem.h: page_is_secretmem() still tests PG_lru; this tree lacks the GUP-fast fix the series needs (6.1.85 or later)"
fi

# Link our files in; drop links to files that no longer exist.
new_manifest=$(mktemp)
for d in $OWNED_DIRS; do
	[ -d "$ROOT/$d" ] || continue
	(cd "$ROOT" && find "$d" -type f ! -name '*.o' ! -name '*.cmd' \
		! -name '.*' -print) >> "$new_manifest"
done
sort -o "$new_manifest" "$new_manifest"

if [ -f "$MANIFEST" ]; then
	comm -23 "$MANIFEST" "$new_manifest" | while read -r f; do
		rm -f "$SRC/$f"
		[ -e "$SRC/$f.secretpool-orig" ] && mv "$SRC/$f.secretpool-orig" "$SRC/$f"
	done
fi

while read -r f; do
	dst=$SRC/$f
	if [ -L "$dst" ] && [ "$(readlink "$dst")" = "$ROOT/$f" ]; then
		continue
	fi
	mkdir -p "$(dirname "$dst")"
	if [ -e "$dst" ] && [ ! -L "$dst" ]; then
		mv "$dst" "$dst.secretpool-orig"
	fi
	ln -sfn "$ROOT/$f" "$dst"
done < "$new_manifest"
mv "$new_manifest" "$MANIFEST"

log "tree ready: build/linux ($(series_list | wc -l) patches, $(wc -l < "$MANIFEST") linked files)"
