#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The result checker must be able to fail.  Feeds scripts/check-results.py
# small made-up guest logs, one fault in each, and checks that it fails on
# every one of them (for the reason planted, and with a proper last line
# "N passed, M failed") and passes only the clean ones.  Prints one suite,
# harness/check-results, in the guest's marker format (for --host-tap).
#
# The KUnit cases need the tree's kunit.py: $KUNIT_PY, by default
# build/linux/tools/testing/kunit/kunit.py; without it they are "not ok".

set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
KUNIT_PY=${KUNIT_PY:-$ROOT/build/linux/tools/testing/kunit/kunit.py}
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
# secretpool-job-exit: tests 0
# secretpool-guest: done
TAP
}
clean_console() {
	echo "[    0.000000] Linux version 6.1"
	echo "[    0.000000] rcu: Hierarchical RCU implementation."
	echo "[    1.000000] secretpool: node 0: pool ready"
	echo "[    2.000000] secretpool: no free 2M block (or max_regions reached): unmapping secret pages one at a time until the pool can grow; see the fallback counter"
}
# ktap_console CASE_LINES...: a clean console with KUnit suite "secretpool"
# holding the given (indented) case lines, plan 1..2, and its end line.
ktap_console() {
	clean_console
	{
		printf '%s\n' "KTAP version 1" "1..1" "    KTAP version 1" \
			"    # Subtest: secretpool" "    1..2"
		printf '    %s\n' "$@"
		echo "ok 1 secretpool"
	} | sed 's/^/[    6.000000] /'
}

# check NAME WANT [check-results options]: the console is $T/c, the TAP
# $T/t.  WANT: 0 the checker must pass, 1 it must fail (and end with
# "N passed, M failed", M > 0), 2 it must exit with status 2 (bad input).
# Set for one call (VAR=... check ...):
#   SAYS   text the checker's output must contain (the planted fault);
#   LAST   the exact last line the checker must print;
#   ALLOW  the allowlist file (default: an empty one).
n=0
bad=0
: > "$T/allow-none"
check() {
	local name=$1 want=$2 rc why=
	shift 2
	n=$((n + 1))
	python3 "$ROOT/scripts/check-results.py" --console "$T/c" --tap "$T/t" \
		--allowed-skips "${ALLOW:-$T/allow-none}" "$@" > "$T/out" 2>&1
	rc=$?
	case $want in
	0) [ $rc = 0 ] || why="exit $rc, want 0" ;;
	1) [ $rc = 1 ] || why="exit $rc, want 1"
	   tail -n 1 "$T/out" | grep -Eq '^[0-9]+ passed, [1-9][0-9]* failed$' ||
		why="${why:+$why; }last line is not \"N passed, M failed\" with M > 0" ;;
	2) [ $rc = 2 ] || why="exit $rc, want 2" ;;
	esac
	if grep -q '^Traceback' "$T/out"; then
		why="${why:+$why; }the checker crashed"
	fi
	if [ -n "${SAYS:-}" ] && ! grep -qF -- "$SAYS" "$T/out"; then
		why="${why:+$why; }output lacks \"$SAYS\""
	fi
	if [ -n "${LAST:-}" ] && [ "$(tail -n 1 "$T/out")" != "$LAST" ]; then
		why="${why:+$why; }last line is not \"$LAST\""
	fi
	if [ -z "$why" ]; then
		echo "ok $n $name"
	else
		echo "not ok $n $name ($why)"
		sed 's/^/# /' "$T/out"
		bad=1
	fi
}
# kcheck: check with kunit.py; "not ok" when there is none.
kcheck() {
	if [ ! -f "$KUNIT_PY" ]; then
		n=$((n + 1))
		echo "not ok $n $1 (no kunit.py at $KUNIT_PY)"
		bad=1
		return
	fi
	check "$@" --kunit-py "$KUNIT_PY"
}

echo "# secretpool-suite: harness/check-results"
echo "TAP version 13"

# --- the basics ---
clean_console > "$T/c"; clean_tap > "$T/t"
check "clean run passes" 0 --expect-suite demo/suite

clean_tap | sed 's/^ok 2 second/not ok 2 second/' > "$T/t"
check "a failed test fails the run" 1

clean_tap | sed 's/^ok 2 second/# demo.c:42:second:Expected 0 (0) == regions (1)\nnot ok 2 second/' > "$T/t"
SAYS="demo.c:42:second:Expected 0 (0) == regions (1)" \
	check "a failed test is listed with the harness's reason" 1

clean_tap | sed 's/^1\.\.2/1..3/' > "$T/t"
check "fewer results than planned fail the run" 1

clean_tap | sed 's/^1\.\.2/1..3/; s/^ok 2 second/&\n# demo.c:7:third:Expected 1 (1) == fd (-1)/' > "$T/t"
SAYS="demo.c:7:third:Expected 1 (1) == fd (-1)" \
	check "a suite that stopped early is listed with the harness's last lines" 1

clean_tap | sed 's/exit: demo\/suite 0/exit: demo\/suite 1/' > "$T/t"
check "a suite exiting non-zero fails the run" 1

clean_tap | grep -v 'secretpool-guest: done' > "$T/t"
check "a guest that did not finish fails the run" 1

clean_tap > "$T/t"
check "a VM timeout fails the run" 1 --vm-status 124
check "an expected suite that did not run fails the run" 1 --expect-suite demo/other

# --- the kernel log ---
for report in "WARNING: CPU: 1 PID: 42 at mm/secretpool.c:100 sp_free+0x10/0x20" \
	      "BUG: KASAN: use-after-free in sp_alloc+0x1/0x2" \
	      "BUG: unable to handle page fault for address: ffff888100000000" \
	      "refcount_t: underflow; use-after-free." \
	      "WARNING: possible circular locking dependency detected"; do
	{ clean_console; echo "[    2.000000] $report"; } > "$T/c"
	check "kernel log: ${report%%:*}: ${report#*: } fails the run" 1
done

# One line of each further kind of report.
while read -r kind report; do
	{ clean_console; echo "[    2.000000] $report"; } > "$T/c"
	SAYS="kernel log clean: 1 kernel report line(s)" \
		check "kernel log: $kind fails the run ($report)" 1
done <<'REPORTS'
rcu-stall rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
rcu-self-stall rcu: INFO: rcu_sched self-detected stall on CPU
hung-task INFO: task sh:123 blocked for more than 120 seconds.
soft-lockup watchdog: BUG: soft lockup - CPU 0 stuck for 22s! [sh:1]
hard-lockup Watchdog detected hard LOCKUP on cpu 1
oom-kill Out of memory: Killed process 123 (x) total-vm:4096kB
memcg-oom Memory cgroup out of memory: Killed process 123 (x) total-vm:4096kB
oom-killer x invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=0, oom_score_adj=0
kmemleak kmemleak: 3 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
kmemleak-object unreferenced object 0xffff888100a3c000 (size 64):
segfault sh[123]: segfault at 0 ip 00000000004011d6 sp 00007ffd2a3c1e40 error 4 in sh[401000+1000]
user-trap traps: x[12] general protection fault ip:401000 sp:7ffd2a3c1e40 error:0 in x[401000+1000]
fatal-signal x[12]: potentially unexpected fatal signal 11.
pool-cannot secretpool: cannot map region at pfn 0x1200 back; keeping it
pool-cannot-create secretpool: cannot create the pool (-12); memfd_secret() works as upstream
secretmem-failed secretmem: failed to allocate a page (-12)
offline-node GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_ZERO|__GFP_THISNODE allocation from offline node 2
REPORTS
# The soft lockup line as the kernel prints it has "CPU#0" (checked apart,
# as "#" in a TAP description would look like a directive).
{ clean_console; echo "[    2.000000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [sh:1]"; } > "$T/c"
SAYS="soft lockup - CPU#0 stuck" check "kernel log: soft lockup with the CPU number fails the run" 1

# --- KUnit ---
clean_tap > "$T/t"
ktap_console "ok 1 a" "ok 2 b" > "$T/c"
kcheck "a clean KUnit suite passes" 0 --expect-kunit secretpool

ktap_console "ok 1 a" "not ok 2 b" | sed 's/^\(.*\)ok 1 secretpool$/\1not ok 1 secretpool/' > "$T/c"
SAYS="kunit: secretpool: b" kcheck "a failed KUnit case fails the run" 1 --expect-kunit secretpool

ktap_console "ok 1 a" "ok 2 b # SKIP needs a third node" > "$T/c"
SAYS="b: skipped: needs a third node (not in" \
	kcheck "a KUnit SKIP not in the allowlist fails the run" 1 --expect-kunit secretpool
echo 'kunit:\ssecretpool b the test guest has two nodes' > "$T/allow"
SAYS="allowed skips:" ALLOW=$T/allow \
	kcheck "a KUnit SKIP in the allowlist passes" 0 --expect-kunit secretpool

{ clean_console; printf '%s\n' "KTAP version 1" "1..1" "    KTAP version 1" \
	"    # Subtest: secretpool" "    1..3" "    ok 1 a" | sed 's/^/[    6.000000] /'; } > "$T/c"
SAYS="no result (the suite stopped here)" \
	kcheck "a KUnit suite that stops after 1 of 3 cases fails the run" 1 --expect-kunit secretpool

ktap_console "ok 1 a" "ok 2 b" | grep -v 'ok 1 secretpool$' > "$T/c"
SAYS="missing subtest result line" \
	kcheck "a KUnit suite without its result line fails the run" 1 --expect-kunit secretpool

clean_console > "$T/c"
SAYS="kunit: secretpool: suite did not run" \
	kcheck "an expected KUnit suite that is absent fails the run" 1 --expect-kunit secretpool

# --- TAP skips ---
clean_console > "$T/c"
clean_tap | sed 's/^ok 2 second$/ok 2 second # SKIP needs NUMA/' > "$T/t"
SAYS="second: skipped: needs NUMA (not in" \
	check "a TAP SKIP not in the allowlist fails the run" 1
echo 'demo/.* second the test guest has one node' > "$T/allow"
SAYS="allowed skips:" ALLOW=$T/allow check "a TAP SKIP in the allowlist passes" 0
echo 'demo/suite sec matches only a prefix' > "$T/allow"
SAYS="second: skipped" ALLOW=$T/allow \
	check "an allowlist entry matching only part of the name does not allow" 1
printf '%s\n' '# a comment' '' 'demo/suite second' > "$T/allow"
SAYS="allow:3:" ALLOW=$T/allow check "an allowlist entry without a reason exits 2" 2

{
	echo "# secretpool-suite: demo/skipper"
	echo "TAP version 13"
	echo "1..0 # SKIP no secretmem in this kernel"
	echo "# secretpool-suite-exit: demo/skipper 4"
	clean_tap
} > "$T/t"
SAYS="whole suite skipped: no secretmem in this kernel" \
	check "a suite exiting 4 without results fails the run" 1
echo 'demo/skipper (suite) secretmem is optional here' > "$T/allow"
ALLOW=$T/allow check "a suite exiting 4 with a (suite) entry passes" 0
echo 'demo/skipper .* any test is not the suite' > "$T/allow"
SAYS="whole suite skipped" ALLOW=$T/allow \
	check "a suite exiting 4 needs a (suite) entry, not a test entry" 1

# --- further boots (--run) ---
clean_console > "$T/c"; clean_tap > "$T/t"
clean_console > "$T/c2"; clean_tap > "$T/t2"
check "a clean further run passes" 0 --run "pagealloc:$T/c2:$T/t2:0" \
	--expect-suite pagealloc/demo/suite --expect-suite "pagealloc/kernel log clean"
clean_tap | grep -v 'secretpool-guest: done' > "$T/t2"
SAYS="pagealloc/guest finished: no final marker" \
	check "a further run whose guest did not finish fails the run" 1 \
	--run "pagealloc:$T/c2:$T/t2:0"
clean_tap > "$T/t2"
check "a further run that timed out fails the run" 1 --run "pagealloc:$T/c2:$T/t2:124"
{ clean_console; echo "[    2.000000] BUG: KASAN: slab-out-of-bounds in sp_free+0x1/0x2"; } > "$T/c2"
SAYS="pagealloc/kernel log clean" \
	check "a kernel report in a further run fails the run" 1 --run "pagealloc:$T/c2:$T/t2:0"
clean_console > "$T/c2"
SAYS="pagealloc/other: suite did not run" \
	check "an expected suite missing from a further run fails the run" 1 \
	--run "pagealloc:$T/c2:$T/t2:0" --expect-suite pagealloc/other
ktap_console "ok 1 a" "ok 2 b" > "$T/c2"
kcheck "a further run's KUnit suite counts as LABEL/SUITE" 0 \
	--run "pagealloc:$T/c2:$T/t2:0" --expect-kunit pagealloc/secretpool
clean_console > "$T/c2"
SAYS="pagealloc/kunit: secretpool: suite did not run" \
	kcheck "an expected KUnit suite absent from a further run fails the run" 1 \
	--run "pagealloc:$T/c2:$T/t2:0" --expect-kunit pagealloc/secretpool
check "a malformed --run exits 2" 2 --run "pagealloc:$T/c2"

# --- style suites: one test each ---
cat > "$T/h" <<'TAP'
# secretpool-suite: style/demo
TAP version 13
ok 1 a.c
not ok 2 b.c
# b.c:1: ERROR: something
ok 3 c.c
1..3
# secretpool-suite-exit: style/demo 1
TAP
clean_console > "$T/c"; clean_tap > "$T/t"
SAYS="style checks: 3 files checked, 1 problems (counted as 1 tests above)" \
	LAST="4 passed, 1 failed" \
	check "a style suite with one bad file counts as 1 failed test" 1 --host-tap "$T/h"

echo "1..$n"
echo "# secretpool-suite-exit: harness/check-results $bad"
