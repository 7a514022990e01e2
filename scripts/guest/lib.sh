# SPDX-License-Identifier: GPL-2.0
# Helpers for the guest job scripts (sourced).

# suite NAME CMD...: run a TAP-producing command as one named suite.  The
# host splits ttyS1 at these markers (scripts/check-results.py).
suite() {
	_name=$1
	shift
	echo "# secretpool-suite: $_name"
	"$@"
	_rc=$?
	echo "# secretpool-suite-exit: $_name $_rc"
	return $_rc
}

# have_host: is the host's root file system mounted at /host?
have_host() { [ -x /host/bin/sh ]; }

# host_run CMD...: run a program of the host's (stress-ng, fio, perf).
host_run() { chroot /host "$@"; }

# kmsg TEXT: put a marker into the kernel log, to find the job's part of it.
kmsg() { echo "secretpool-guest: $*" > /dev/kmsg; }
