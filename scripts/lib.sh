# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the scripts in this directory (sourced, not run).

log() { printf '[%s] %s\n' "$(basename "$0" .sh)" "$*" >&2; }
die() { printf '[%s] error: %s\n' "$(basename "$0" .sh)" "$*" >&2; exit 1; }

# as_root CMD...: run CMD as root, through sudo when we are not root.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

nproc_build() { nproc 2>/dev/null || echo 2; }
