#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the guest's user space and pack it into build/initramfs.cpio.gz:
#   /bin, /sbin, /usr/...      busybox-static and its applets
#   /init                      scripts/guest/init
#   /opt/secretpool/jobs/      scripts/guest/jobs/* (what sp.jobs= names)
#   /opt/secretpool/lib.sh     scripts/guest/lib.sh
#   /opt/secretpool/bin/       static test and benchmark programs:
#       secretmem/*            our kselftests (tools/testing/selftests/secretmem)
#       memfd_secret           upstream's selftest, from the Debian source
#       sp-*                   benchmark and demo helpers (benchmarks/src,
#                              scripts/guest/bin)
#   /opt/secretpool/fio/       benchmarks/fio/*.fio (fio job files)
#   /opt/secretpool/perf-scripts/  tools/perf-scripts/*
# Host tools too big for the initramfs (stress-ng, fio, perf) are run from
# the host's root file system, which the VM shares read-only at /host.
#
# The archive is written by the tree's own usr/gen_init_cpio, so no root
# rights are needed for device nodes.

set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

SRC=$ROOT/build/linux
BIN=$ROOT/build/guest-bin
OUTFILE=${1:-$ROOT/build/initramfs.cpio.gz}
TOOLS=$ROOT/build/tools
BUSYBOX=${BUSYBOX:-/bin/busybox}

[ -f "$SRC/Makefile" ] || die "no tree in build/linux (run scripts/prepare-tree.sh)"
file "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	die "$BUSYBOX is not static (install busybox-static)"

mkdir -p "$TOOLS" "$BIN"
if [ ! -x "$TOOLS/gen_init_cpio" ] || [ "$SRC/usr/gen_init_cpio.c" -nt "$TOOLS/gen_init_cpio" ]; then
	gcc -O2 -o "$TOOLS/gen_init_cpio" "$SRC/usr/gen_init_cpio.c"
fi

# --- user-space programs (static, so the initramfs needs no libc) ---
CFLAGS_USER="-O2 -g -Wall -static"

# Upstream's memfd_secret selftest, unchanged, as a regression check.
up=$SRC/tools/testing/selftests/vm/memfd_secret.c
if [ ! -x "$BIN/memfd_secret" ] || [ "$up" -nt "$BIN/memfd_secret" ]; then
	gcc $CFLAGS_USER -I"$SRC/tools/testing/selftests" -o "$BIN/memfd_secret" "$up" -lcap
fi

# The tree's uapi headers as "make headers_install" gives them (our
# include/uapi/linux/secretmem.h among them), for the programs below.
UAPI=$ROOT/build/uapi
make -s -C "$SRC" O="$ROOT/build/obj-uapi" INSTALL_HDR_PATH="$UAPI" headers_install ||
	die "make headers_install failed"

# Our kselftests, built with the kselftest framework of the tree.
if [ -f "$ROOT/tools/testing/selftests/secretmem/Makefile" ]; then
	mkdir -p "$BIN/secretmem"
	make -s -C "$SRC/tools/testing/selftests/secretmem" \
		OUTPUT="$BIN/secretmem" LDFLAGS=-static KHDR_INCLUDES="-isystem $UAPI/include"
fi

# Benchmark and demo helpers.
if [ -f "$ROOT/benchmarks/src/Makefile" ]; then
	make -s -C "$ROOT/benchmarks/src" OUT="$BIN" KHDR_INCLUDES="-isystem $UAPI/include"
fi

# --- the archive ---
list=$(mktemp)
trap 'rm -f "$list"' EXIT
{
	for d in /dev /proc /sys /tmp /run /root /host /etc /bin /sbin /usr \
		/usr/bin /usr/sbin /opt /opt/secretpool /opt/secretpool/jobs \
		/opt/secretpool/bin /opt/secretpool/fio \
		/opt/secretpool/perf-scripts /mnt; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $BUSYBOX 0755 0 0"
	"$BUSYBOX" --list-full | while read -r a; do
		[ "$a" = bin/busybox ] && continue
		echo "slink /$a /bin/busybox 0777 0 0"
	done
	echo "file /init $ROOT/scripts/guest/init 0755 0 0"
	echo "file /opt/secretpool/lib.sh $ROOT/scripts/guest/lib.sh 0644 0 0"
	echo "file /etc/passwd $ROOT/scripts/guest/passwd 0644 0 0"
	echo "file /etc/group $ROOT/scripts/guest/group 0644 0 0"
	for j in "$ROOT"/scripts/guest/jobs/*; do
		[ -f "$j" ] && echo "file /opt/secretpool/jobs/$(basename "$j") $j 0755 0 0"
	done
	for f in "$ROOT"/scripts/guest/bin/*; do
		[ -f "$f" ] && echo "file /opt/secretpool/bin/$(basename "$f") $f 0755 0 0"
	done
	for f in "$ROOT"/benchmarks/fio/*.fio; do
		[ -f "$f" ] && echo "file /opt/secretpool/fio/$(basename "$f") $f 0644 0 0"
	done
	for f in "$ROOT"/tools/perf-scripts/*; do
		[ -f "$f" ] && echo "file /opt/secretpool/perf-scripts/$(basename "$f") $f 0755 0 0"
	done
	(cd "$BIN" && find . -mindepth 1 -type d) | while read -r d; do
		echo "dir /opt/secretpool/bin/${d#./} 0755 0 0"
	done
	(cd "$BIN" && find . -type f -perm -u+x ! -name '*.o') | while read -r f; do
		echo "file /opt/secretpool/bin/${f#./} $BIN/${f#./} 0755 0 0"
	done
} > "$list"

"$TOOLS/gen_init_cpio" "$list" | gzip -1 > "$OUTFILE.tmp"
mv "$OUTFILE.tmp" "$OUTFILE"
log "${OUTFILE#$ROOT/} ready ($(du -k "$OUTFILE" | cut -f1) KiB)"
