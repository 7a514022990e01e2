#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Install the Debian packages the build, the VM and the benchmarks need.
# Only missing packages are installed, with --no-install-recommends;
# a second run does nothing.  Uses sudo when not run as root.

set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
. "$ROOT/scripts/lib.sh"

PKGS="
	linux-source-6.1
	build-essential bc bison flex libelf-dev libssl-dev cpio xz-utils
	kmod rsync python3 perl ccache quilt sparse git patch
	qemu-system-x86 busybox-static
	libcap-dev
	stress-ng fio linux-perf gnuplot-nox
"

missing=
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	log "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	if ! as_root apt-get install -y --no-install-recommends $missing >/dev/null; then
		log "apt-get install failed; refreshing the package lists and retrying"
		as_root apt-get update -q >/dev/null
		as_root apt-get install -y --no-install-recommends $missing >/dev/null
	fi
fi
