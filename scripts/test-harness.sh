#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The result checker must be able to fail.  Feeds scripts/check-results.py
# small made-up guest logs, one fault in each, and checks that it fails on
# every one of them and passes only the clean one.  Prints one suite,
# harness/check-results, in the guest's marker format (for --host-tap).

set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

clean_tap() {
	cat <<'TAP'
# secretpool-guest: kernel 6.1, 2 cpus, nodes: 2, jobs: tests
# secretpool-suite: demo/suite
TAP version 13
1..2
ok 1 first
ok 2 second
# secretpool-suite-exit: demo/suite 0
# secretpool-guest: done
TAP
}
clean_console() {
	echo "[    0.000000] Linux version 6.1"
	echo "[    1.000000] secretpool: node 0: pool ready"
}

# case NAME WANT_RC [check-results options]: console in $T/c, TAP in $T/t.
n=0
bad=0
check() {
	local name=$1 want=$2 rc
	shift 2
	n=$((n + 1))
	python3 "$ROOT/scripts/check-results.py" --console "$T/c" --tap "$T/t" \
		"$@" > "$T/out" 2>&1
	rc=$?
	if { [ "$want" = 0 ] && [ $rc = 0 ]; } || { [ "$want" != 0 ] && [ $rc != 0 ]; }; then
		echo "ok $n $name"
	else
		echo "not ok $n $name (exit $rc)"
		sed 's/^/# /' "$T/out"
		bad=1
	fi
}

echo "# secretpool-suite: harness/check-results"
echo "TAP version 13"

clean_console > "$T/c"; clean_tap > "$T/t"
check "clean run passes" 0 --expect-suite demo/suite

clean_tap | sed 's/^ok 2 second/not ok 2 second/' > "$T/t"
check "a failed test fails the run" 1

clean_tap | sed 's/^1\.\.2/1..3/' > "$T/t"
check "fewer results than planned fail the run" 1

clean_tap | sed 's/exit: demo\/suite 0/exit: demo\/suite 1/' > "$T/t"
check "a suite exiting non-zero fails the run" 1

clean_tap | grep -v 'secretpool-guest: done' > "$T/t"
check "a guest that did not finish fails the run" 1

clean_tap > "$T/t"
check "a VM timeout fails the run" 1 --vm-status 124
check "an expected suite that did not run fails the run" 1 --expect-suite demo/other

for report in "WARNING: CPU: 1 PID: 42 at mm/secretpool.c:100 sp_free+0x10/0x20" \
	      "BUG: KASAN: use-after-free in sp_alloc+0x1/0x2" \
	      "BUG: unable to handle page fault for address: ffff888100000000" \
	      "refcount_t: underflow; use-after-free." \
	      "WARNING: possible circular locking dependency detected"; do
	{ clean_console; echo "[    2.000000] $report"; } > "$T/c"
	check "kernel log: ${report%%:*}: ${report#*: } fails the run" 1
done

echo "1..$n"
echo "# secretpool-suite-exit: harness/check-results $bad"
