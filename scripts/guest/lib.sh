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
# The memory the pool holds, from its /proc/meminfo line (a stable ABI).
pool_held_kb() { awk '$1 == "SecretPool:" { print $2; f = 1 } END { if (!f) print 0 }' /proc/meminfo; }

# trace_start: record the pool's region and block events, its fallbacks
# and shrinks, and the per-page path's unmaps that split the direct map,
# in a tracefs instance of their own (per-page events: too many to print).
SP_TRACE=/sys/kernel/tracing/instances/secretpool_bench
trace_start() {
	[ -d /sys/kernel/tracing/events/secretpool ] || return 1
	rmdir $SP_TRACE 2>/dev/null
	mkdir $SP_TRACE && echo 4096 > $SP_TRACE/buffer_size_kb || return 1
	for e in secretpool_region_grow secretpool_region_release secretpool_block_add \
		 secretpool_block_release secretpool_fallback secretpool_shrink; do
		echo 1 > $SP_TRACE/events/secretpool/$e/enable
	done
	echo 'level_before > 1' > $SP_TRACE/events/secretmem/secretmem_page_unmap/filter
	echo 1 > $SP_TRACE/events/secretmem/secretmem_page_unmap/enable
	echo 1 > $SP_TRACE/tracing_on
}
# trace_dump WORDS...: stop recording and print the events, each line as
# "TRACE WORDS... LINE" (tools/perf-scripts/secretpool-timeline.py).
trace_dump() {
	[ -d $SP_TRACE ] || return 0
	echo 0 > $SP_TRACE/tracing_on
	grep -v '^#' $SP_TRACE/trace | sed "s/^/TRACE $* /"
	grep '^# entries-in-buffer' $SP_TRACE/trace
	for e in $SP_TRACE/events/secretpool/*/enable $SP_TRACE/events/secretmem/*/enable; do
		echo 0 > "$e"
	done
	rmdir $SP_TRACE
}

# label WORDS...: prefix the RESULT lines of standard input with WORDS.
label() { sed "s/^RESULT /RESULT $* /"; }

# snapshot NAME: see /opt/secretpool/bin/sp-snapshot.
snapshot() { /opt/secretpool/bin/sp-snapshot "$1"; }

# kmemleak_check: the suite "kmemleak", one TAP test: a scan finds no
# unreferenced object.  It waits 5 s first: objects younger than that are
# not reported, and the last suite's ought to be.  A scan of a 4 GiB
# guest takes over a minute under emulation, so there is one, at the end.
# Skips on kernels without CONFIG_DEBUG_KMEMLEAK.
# Use as: suite kmemleak kmemleak_check
KMEMLEAK=/sys/kernel/debug/kmemleak
kmemleak_check() {
	echo "TAP version 13"
	echo "1..1"
	if [ ! -e $KMEMLEAK ]; then
		echo "ok 1 kmemleak # SKIP kernel without CONFIG_DEBUG_KMEMLEAK"
		return 0
	fi
	# A write fails when kmemleak has turned itself off (see the log).
	if ! { sleep 5 && echo scan > $KMEMLEAK; } ||
	   ! cat $KMEMLEAK > /tmp/kmemleak.out; then
		echo "not ok 1 kmemleak could not scan (disabled? see the kernel log)"
		return 1
	fi
	if [ ! -s /tmp/kmemleak.out ]; then
		echo "ok 1 no unreferenced objects"
		return 0
	fi
	echo "not ok 1 $(grep -c '^unreferenced object' /tmp/kmemleak.out) unreferenced objects"
	head -n 200 /tmp/kmemleak.out | sed 's/^/# /'
	return 1
}
