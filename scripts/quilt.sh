#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# quilt.sh ARGS...: run quilt in build/linux on our patches/ series.
#
#   scripts/quilt.sh top                  # the patch on top
#   scripts/quilt.sh new 0005-foo.patch   # start a patch (then: series order)
#   scripts/quilt.sh add FILE...          # files the patch changes
#   scripts/quilt.sh refresh              # write the patch (header is kept)
#
# Patches are written with a/ b/ prefixes, no timestamps, and the function
# name in each hunk header.  Run scripts/prepare-tree.sh afterwards: it
# notices the change and re-applies the series.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT/build/linux"
export QUILT_PATCHES=$ROOT/patches QUILT_PC=.pc QUILT_DIFF_OPTS=-p
export QUILT_NO_DIFF_TIMESTAMPS=1 QUILT_NO_DIFF_INDEX=1
case "${1:-}" in
refresh) shift; exec quilt --quiltrc=- refresh -p ab --no-timestamps --no-index "$@" ;;
*) exec quilt --quiltrc=- "$@" ;;
esac
