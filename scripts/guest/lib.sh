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

# sp_arg NAME DEFAULT: the value of sp.NAME= on the kernel command line.
sp_arg() {
	for _a in $(cat /proc/cmdline); do
		case "$_a" in
		sp.$1=*) echo "${_a#sp.$1=}"; return ;;
		esac
	done
	echo "$2"
}

SP_PARAMS=/sys/module/secretpool/parameters
SP_DEBUGFS=/sys/kernel/debug/secretpool

have_pool() { [ -w $SP_PARAMS/enabled ]; }
pool_on() { echo 1 > $SP_PARAMS/enabled; }
pool_off() { echo 0 > $SP_PARAMS/enabled; }
# Empty the pool's CPU caches and give its empty regions back.
pool_shrink() { [ -w $SP_DEBUGFS/shrink ] && echo 1 > $SP_DEBUGFS/shrink; sleep 0.2; }
pool_held_kb() { awk '$1 == "held_kb" { print $2 }' $SP_DEBUGFS/stats 2>/dev/null || echo 0; }

# label WORDS...: prefix the RESULT lines of standard input with WORDS.
label() { sed "s/^RESULT /RESULT $* /"; }

# snapshot NAME: see /opt/secretpool/bin/sp-snapshot.
snapshot() { /opt/secretpool/bin/sp-snapshot "$1"; }
