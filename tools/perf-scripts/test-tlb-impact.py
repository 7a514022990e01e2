#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of tlb-impact.sh and of its parser, benchmarks/tlb_hw.py.

First the parser on made-up tlb-impact.sh output whose figures are known
by hand (Intel-like with multiplexed events, AMD-like, a hybrid CPU, a run
without a PMU).  Then tlb-impact.sh itself, with a fake perf, sp-bench and
fio first in PATH and a fake sysfs and /proc (TLB_IMPACT_SYSFS,
TLB_IMPACT_PROC, TLB_IMPACT_KNOB; TLB_IMPACT_TEST=1 skips the root
check): no counter at all, Intel, AMD, hybrid, memfd_secret() off, a run
that fails.  Nothing touches the real /sys, perf or the pool.

Prints TAP (ok N - name, then 1..N), in the guest's suite markers; exits
1 if a test failed.  Needs python3 and bash, nothing else.
"""

import contextlib
import importlib.util
import io
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'tlb-impact.sh')
PARSER = os.path.join(HERE, '..', '..', 'benchmarks', 'tlb_hw.py')
spec = importlib.util.spec_from_file_location('tlb_hw', PARSER)
hw = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hw)

n = 0
failed = 0


def check(ok, what, detail=''):
    global n, failed
    n += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, what))
    if not ok:
        failed += 1
        for line in str(detail).splitlines()[-40:]:
            print('# ' + line)


def table(tabs, title):
    """The (headers, rows) of the table called @title, or (None, [])."""
    for t, headers, rows in tabs:
        if t == title:
            return headers, rows
    return None, []


def row(rows, *key):
    """The first row starting with @key."""
    for r in rows:
        if tuple(r[:len(key)]) == key:
            return r
    return None


def close(a, b):
    return a is not None and b is not None and abs(a - b) < 1e-6


def run_parser(text):
    """benchmarks/tlb_hw.py FILE as a command: (exit status, stdout)."""
    with tempfile.NamedTemporaryFile('w', suffix='.log', delete=False) as f:
        f.write(text)
    try:
        r = subprocess.run([sys.executable, PARSER, f.name], capture_output=True,
                           text=True, timeout=30)
    finally:
        os.unlink(f.name)
    return r.returncode, r.stdout + r.stderr


print('# secretpool-suite: tools/tlb-impact')
print('TAP version 13')

# ---------------------------------------------------------------------------
# The parser on made-up output.

# Intel, pool kernel, as a guest log ("# " in front of every line), two
# events multiplexed (2/3 of the time), five runs.
INTEL = '''# secretpool-suite: bench
RESULT scenario=longlived mode=pool made=1000 l2_splits=9
# tlb-impact.sh (tools/perf-scripts):
# tlb-impact: secretpool is in this kernel: two modes
# direct map while the secrets were held          pool        upstream
# RESULT scenario=tlb_hw mode=pool event=dTLB-load-misses:k pmu=cpu count=120000 variance_pct=1.20 running_pct=66.67 reps=5
# RESULT scenario=tlb_hw mode=upstream event=dTLB-load-misses:k pmu=cpu count=180000 variance_pct=2.50 running_pct=66.67 reps=5
# RESULT scenario=tlb_hw mode=pool event=dtlb_load_misses.walk_completed_4k:k pmu=cpu count=30000 variance_pct=0.80 running_pct=100.00 reps=5
# RESULT scenario=tlb_hw mode=upstream event=dtlb_load_misses.walk_completed_4k:k pmu=cpu count=150000 variance_pct=0.90 running_pct=100.00 reps=5
# RESULT scenario=tlb_hw mode=pool event=dtlb_load_misses.walk_completed_2m_4m:k pmu=cpu count=90000 variance_pct=1.00 running_pct=100.00 reps=5
# RESULT scenario=tlb_hw mode=upstream event=dtlb_load_misses.walk_completed_2m_4m:k pmu=cpu count=30000 variance_pct=1.10 running_pct=100.00 reps=5
# RESULT scenario=tlb_hw_dm mode=pool l2_splits=0 l3_splits=1 dm4k_kb=0 blocks_2m=2
# RESULT scenario=tlb_hw_dm mode=upstream l2_splits=37 l3_splits=0 dm4k_kb=75776 blocks_2m=44
# RESULT scenario=tlb_hw_status counted=1 events=dTLB-load-misses:k,dtlb_load_misses.walk_completed_4k:k,dtlb_load_misses.walk_completed_2m_4m:k unsupported=ls_l1_d_tlb_miss.all:k modes=pool,upstream pmus=cpu
# secretpool-suite-exit: bench 0
'''
tabs = hw.tables(INTEL.splitlines())
check([t[0] for t in tabs] == [hw.COUNTS, hw.SPREAD, hw.DIRECT_MAP],
      'intel: three tables, counts, variance, direct map', [t[0] for t in tabs])
h, rows = table(tabs, hw.COUNTS)
check(h == ['event', 'pmu', 'pool', 'upstream', 'upstream/pool'],
      'intel: counts table has a column per mode and the ratio', h)
r = row(rows, 'dTLB-load-misses:k', 'cpu')
check(r is not None and r[2:4] == [120000, 180000] and close(r[4], 1.5),
      'intel: dTLB-load-misses:k counts and ratio 1.5', r)
r = row(rows, 'dtlb_load_misses.walk_completed_4k:k', 'cpu')
check(r is not None and close(r[4], 5.0), 'intel: 4K walks five times as many with the pool off', r)
r = row(rows, 'dtlb_load_misses.walk_completed_2m_4m:k', 'cpu')
check(r is not None and r[2:4] == [90000, 30000], 'intel: 2M walks', r)
check(len(rows) == 3, 'intel: one row per event, the guest log\'s other RESULT lines ignored', rows)
h, rows = table(tabs, hw.SPREAD)
check(h == ['event', 'pmu', 'pool +-%', 'pool running %', 'upstream +-%',
            'upstream running %', 'reps'], 'intel: variance table headers', h)
r = row(rows, 'dTLB-load-misses:k')
check(r is not None and close(r[2], 1.2) and close(r[3], 66.67) and close(r[4], 2.5)
      and r[6] == 5, 'intel: variance, running % and reps of a multiplexed event', r)
h, rows = table(tabs, hw.DIRECT_MAP)
check(h == ['figure', 'pool', 'upstream']
      and row(rows, '2M mappings split (level 2)') == ['2M mappings split (level 2)', 0, 37]
      and row(rows, 'DirectMap4k change, kB')[1:] == [0, 75776],
      'intel: direct-map table', rows)
rc, out = run_parser(INTEL)
check(rc == 0 and 'upstream/pool' in out and 'multiplexed: 2 figures' in out
      and '66.67%' in out, 'intel: the command prints the tables and the multiplexing', out)

# AMD, pool kernel, host output, one run (no variance), one event that
# counted nothing with the pool and one not counted with it off.
AMD = '''tlb-impact: counting on PMU cpu, kernel only (:k): ...
RESULT scenario=tlb_hw mode=pool event=ls_l1_d_tlb_miss.all:k pmu=cpu count=500000 variance_pct=nan running_pct=100.00 reps=1
RESULT scenario=tlb_hw mode=upstream event=ls_l1_d_tlb_miss.all:k pmu=cpu count=650000 variance_pct=nan running_pct=100.00 reps=1
RESULT scenario=tlb_hw mode=pool event=ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss:k pmu=cpu count=0 variance_pct=nan running_pct=100.00 reps=1
RESULT scenario=tlb_hw mode=upstream event=ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss:k pmu=cpu count=4000 variance_pct=nan running_pct=100.00 reps=1
RESULT scenario=tlb_hw mode=pool event=ls_tablewalker.dside:k pmu=cpu count=7000 variance_pct=nan running_pct=100.00 reps=1
RESULT scenario=tlb_hw mode=upstream event=ls_tablewalker.dside:k pmu=cpu count=nan variance_pct=nan running_pct=nan reps=1
RESULT scenario=tlb_hw_dm mode=pool l2_splits=0 l3_splits=0 dm4k_kb=0 blocks_2m=1
RESULT scenario=tlb_hw_dm mode=upstream l2_splits=12 l3_splits=1 dm4k_kb=24576 blocks_2m=30
RESULT scenario=tlb_hw_status counted=1 events=ls_l1_d_tlb_miss.all:k unsupported=none modes=pool,upstream pmus=cpu
'''
tabs = hw.tables(AMD.splitlines())
h, rows = table(tabs, hw.COUNTS)
r = row(rows, 'ls_l1_d_tlb_miss.all:k')
check(r is not None and r[2:4] == [500000, 650000] and close(r[4], 1.3), 'amd: L1 dTLB misses and ratio', r)
r = row(rows, 'ls_l1_d_tlb_miss.tlb_reload_4k_l2_miss:k')
check(r is not None and r[2:4] == [0, 4000] and r[4] is None, 'amd: no ratio over a zero count', r)
r = row(rows, 'ls_tablewalker.dside:k')
check(r is not None and r[2:5] == [7000, None, None], 'amd: nan is no figure, no ratio', r)
h, rows = table(tabs, hw.SPREAD)
r = row(rows, 'ls_l1_d_tlb_miss.all:k')
check(r is not None and r[2] is None and close(r[3], 100.0) and r[6] == 1,
      'amd: one run has no variance', r)
rc, out = run_parser(AMD)
check(rc == 0 and 'multiplexed' not in out and re.search(r'ls_l1_d_tlb_miss\.all:k\s+cpu\s+500000\s+650000\s+1\.3', out),
      'amd: the command, nothing multiplexed', out)

# A hybrid Intel CPU, stock kernel: one mode, the same events on two PMUs.
HYBRID = '''# tlb-impact: hybrid CPU: counting on the PMUs cpu_core cpu_atom
# RESULT scenario=tlb_hw mode=current event=dTLB-load-misses:k pmu=cpu_core count=80000 variance_pct=3.10 running_pct=100.00 reps=3
# RESULT scenario=tlb_hw mode=current event=dTLB-load-misses:k pmu=cpu_atom count=20000 variance_pct=9.75 running_pct=50.00 reps=3
# RESULT scenario=tlb_hw mode=current event=dtlb_load_misses.walk_completed_1g:k pmu=cpu_core count=12 variance_pct=40.00 running_pct=100.00 reps=3
# RESULT scenario=tlb_hw_dm mode=current l2_splits=5 l3_splits=0 dm4k_kb=10240 blocks_2m=9
# RESULT scenario=tlb_hw_status counted=1 events=cpu_core/dTLB-load-misses/k,cpu_atom/dTLB-load-misses/k,cpu_core/dtlb_load_misses.walk_completed_1g/k unsupported=none modes=current pmus=cpu_core,cpu_atom
'''
tabs = hw.tables(HYBRID.splitlines())
h, rows = table(tabs, hw.COUNTS)
check(h == ['event', 'pmu', 'current'], 'hybrid: one mode, no ratio column', h)
check(row(rows, 'dTLB-load-misses:k', 'cpu_core') == ['dTLB-load-misses:k', 'cpu_core', 80000]
      and row(rows, 'dTLB-load-misses:k', 'cpu_atom') == ['dTLB-load-misses:k', 'cpu_atom', 20000],
      'hybrid: one row per event and PMU', rows)
h, rows = table(tabs, hw.SPREAD)
r = row(rows, 'dTLB-load-misses:k', 'cpu_atom')
check(r is not None and close(r[2], 9.75) and close(r[3], 50.0) and r[4] == 3,
      'hybrid: the atom PMU multiplexed', r)
rc, out = run_parser(HYBRID)
check(rc == 0 and 'cpu_atom' in out and 'lowest 50.00%' in out, 'hybrid: the command', out)

# No PMU (QEMU TCG): the direct map only, exit 3.
NOPMU = '''# tlb-impact: this CPU's PMU counts none of the dTLB events
# RESULT scenario=tlb_hw_dm mode=pool l2_splits=0 l3_splits=0 dm4k_kb=0 blocks_2m=1
# RESULT scenario=tlb_hw_dm mode=upstream l2_splits=0 l3_splits=0 dm4k_kb=nan blocks_2m=44
# RESULT scenario=tlb_hw_status counted=0 events=none unsupported=dTLB-load-misses:k,dTLB-loads:k modes=pool,upstream pmus=cpu
'''
tabs = hw.tables(NOPMU.splitlines())
check([t[0] for t in tabs] == [hw.DIRECT_MAP], 'no PMU: the direct-map table only', tabs)
h, rows = table(tabs, hw.DIRECT_MAP)
check(row(rows, '2M blocks holding the secrets') == ['2M blocks holding the secrets', 1, 44]
      and row(rows, 'DirectMap4k change, kB')[2] is None, 'no PMU: direct-map figures, nan is none', rows)
check((hw.status(NOPMU.splitlines()) or {}).get('counted') == '0', 'no PMU: status counted=0')
rc, out = run_parser(NOPMU)
check(rc == 3 and 'no dTLB event was counted' in out and 'blocks holding' in out,
      'no PMU: the command says so and exits 3', out)
rc, out = run_parser('nothing here\n')
check(rc == 1 and 'no tlb-impact.sh RESULT lines' in out, 'no RESULT lines: exit 1', out)

# ---------------------------------------------------------------------------
# tlb-impact.sh with fakes.

# perf stat -x, [-o FILE] [-r N] -e SPEC,... -- CMD: what a PMU of kind
# $FAKE_PERF counts (none, intel, amd, hybrid).  The count of SPEC is
# 1000 for each letter of the event's name (5 more in user space), twice
# that with the pool off; the Intel fake has 4 counters and multiplexes,
# and prints generic events without their modifier, as perf does.
FAKE_PERF = r'''#!/bin/bash
echo "$*" >> "$FAKE_LOG/perf"
[ "$1" = stat ] || exit 1
shift
out= reps=1 events=
while [ $# -gt 0 ]; do
	case $1 in
	-x,) ;;
	-o) out=$2; shift ;;
	-r) reps=$2; shift ;;
	-e) events=$2; shift ;;
	--) shift; break ;;
	*) echo "fake perf: unexpected $1" >&2; exit 129 ;;
	esac
	shift
done
GENERIC=" dTLB-load-misses dTLB-store-misses dTLB-loads iTLB-load-misses "
mode=current
if [ -e "$FAKE_KNOB" ]; then
	case $(cat "$FAKE_KNOB") in 1|Y) mode=pool ;; 0|N) mode=upstream ;; esac
fi
IFS=, read -ra evs <<< "$events"
lines=()
for spec in "${evs[@]}"; do
	case $spec in
	*/*/*) pmu=${spec%%/*}; rest=${spec#*/}; base=${rest%/*}; priv=${rest##*/} ;;
	*:*) pmu=cpu; base=${spec%:*}; priv=${spec##*:} ;;
	*) pmu=cpu; base=$spec; priv= ;;
	esac
	case "$GENERIC" in *" $base "*) kind=generic ;; *)
		case $base in
		dtlb_*) kind=intel ;;
		ls_*) kind=amd ;;
		*) kind=other ;;
		esac ;;
	esac
	state=unknown
	name=$spec
	case $FAKE_PERF/$pmu/$kind in
	none/cpu/generic|none/cpu/intel) state=unsupported; name=$base ;;
	intel/cpu/generic) state=count; name=$base ;;
	intel/cpu/intel|amd/cpu/generic|amd/cpu/amd) state=count ;;
	hybrid/cpu_core/generic|hybrid/cpu_core/intel|hybrid/cpu_atom/generic) state=count ;;
	hybrid/cpu_atom/intel)
		state=unsupported
		[ "$base" = dtlb_load_misses.walk_completed ] && state=count ;;
	esac
	if [ $state = unknown ]; then
		echo "event syntax error: '$spec'" >&2
		exit 129
	fi
	lines+=("$state $name $base $priv")
done
for ((i = 0; i < reps; i++)); do
	"$@"
	rc=$?
done
nev=${#lines[@]}
pct=100.00
[ "$FAKE_PERF" = intel ] && [ "$nev" -gt 4 ] && pct=$(awk -v n="$nev" 'BEGIN { printf "%.2f", 400 / n }')
case $mode in pool) var=0.50% ;; upstream) var=2.25% ;; *) var=1.00% ;; esac
{
	if [ -n "$out" ]; then
		echo "# started on Thu Jan  1 00:00:00 2026"
		echo
	fi
	for l in "${lines[@]}"; do
		read -r state name base priv <<< "$l"
		v=
		[ "$reps" -gt 1 ] && v=$var,
		if [ "$state" = count ]; then
			c=$(( ${#base} * 1000 ))
			[ "$priv" = u ] && c=$((c + 5))
			[ $mode = upstream ] && c=$((c * 2))
			echo "$c,,$name,$v"1000000,$pct,,
		else
			echo "<not supported>,,$name,${v:+0.00%,}0,100.00,,"
		fi
	done
} > "${out:-/dev/stderr}"
exit $rc
'''

# sp-bench longlived [-n N] [-P K] [-H CMD]: direct-map figures by mode;
# FAKE_SECRETMEM=off makes no secret, FAKE_FAIL=MODE fails in MODE.
FAKE_SP_BENCH = r'''#!/bin/bash
echo "$*" >> "$FAKE_LOG/sp-bench"
[ "$1" = longlived ] || exit 2
shift
n=1000 hook=
while getopts "n:P:kc:H:" o; do
	case $o in
	n) n=$OPTARG ;;
	H) hook=$OPTARG ;;
	esac
done
mode=current
if [ -e "$FAKE_KNOB" ]; then
	case $(cat "$FAKE_KNOB") in 1|Y) mode=pool ;; 0|N) mode=upstream ;; esac
fi
made=$n
[ "${FAKE_SECRETMEM:-on}" = off ] && made=0
[ "${FAKE_FAIL:-}" = $mode ] && [ $n -gt 1 ] && made=$((n - 1))
case $mode in
pool) dm="l2_splits=0 l3_splits=1 dm4k_kb=0 dm2m_kb=-2048 dm1g_kb=0 blocks_2m=2" ;;
upstream) dm="l2_splits=37 l3_splits=0 dm4k_kb=75776 dm2m_kb=-75776 dm1g_kb=0 blocks_2m=44" ;;
*) dm="l2_splits=5 l3_splits=0 dm4k_kb=10240 dm2m_kb=-10240 dm1g_kb=0 blocks_2m=9" ;;
esac
[ $made -gt 0 ] || dm="l2_splits=0 l3_splits=0 dm4k_kb=0 dm2m_kb=0 dm1g_kb=0 blocks_2m=0"
if [ -n "$hook" ]; then
	sh -c "$hook" || echo "sp-bench: '$hook' failed" >&2
fi
echo "RESULT scenario=longlived secrets=$n pin_kb=4 made=$made create_s=0.010 $dm pool_during_regions=3 freed_dm4k_kb=0 freed_l2_splits=0"
[ $made = $n ]
'''

# fio --minimal JOB: three jobs; run K of a mode reads K times 4 MiB/s
# (pool) or 2 MiB/s (pool off) in seq-read-1m.
FAKE_FIO = r'''#!/bin/bash
echo "FIO_DIR=$FIO_DIR FIO_SIZE=$FIO_SIZE FIO_RUNTIME=$FIO_RUNTIME $*" >> "$FAKE_LOG/fio"
mode=current
[ -e "$FAKE_KNOB" ] && mode=$(cat "$FAKE_KNOB")
k=$(( $(cat "$FAKE_LOG/fio.$mode" 2>/dev/null || echo 0) + 1 ))
echo $k > "$FAKE_LOG/fio.$mode"
f=4096
[ "$mode" = 0 ] && f=2048
for job in seq-write-1m:0:$((k * f)) seq-read-1m:$((k * f)):0 rand-read-4k:$((k * f / 4)):0; do
	IFS=: read -r name r w <<< "$job"
	awk -v n="$name" -v r="$r" -v w="$w" 'BEGIN {
		for (i = 1; i <= 130; i++) f[i] = 0
		f[1] = 3; f[2] = "fio-3.33"; f[3] = n; f[7] = r; f[48] = w
		s = f[1]; for (i = 2; i <= 130; i++) s = s ";" f[i]; print s }'
done
'''


def setup(d, pool=True, hybrid=False, pmu=True, param='Y', knob_in_sysfs=True):
    """A fake sysfs and /proc under @d; the environment that uses them."""
    sysfs = os.path.join(d, 'sys')
    proc = os.path.join(d, 'proc')
    log = os.path.join(d, 'log')
    fakebin = os.path.join(d, 'bin')
    for p in (proc, log, fakebin, os.path.join(sysfs, 'module', 'secretmem', 'parameters'),
              os.path.join(sysfs, 'bus', 'event_source', 'devices')):
        os.makedirs(p, exist_ok=True)
    for name, body in (('perf', FAKE_PERF), ('sp-bench', FAKE_SP_BENCH), ('fio', FAKE_FIO)):
        path = os.path.join(fakebin, name)
        with open(path, 'w') as f:
            f.write(body)
        os.chmod(path, 0o755)
    if param is not None:
        with open(os.path.join(sysfs, 'module', 'secretmem', 'parameters', 'enable'), 'w') as f:
            f.write(param + '\n')
    devices = os.path.join(sysfs, 'bus', 'event_source', 'devices')
    for dev in (['cpu_core', 'cpu_atom'] if hybrid else ['cpu'] if pmu else []):
        os.makedirs(os.path.join(devices, dev))
    with open(os.path.join(proc, 'cmdline'), 'w') as f:
        f.write('BOOT_IMAGE=/vmlinuz root=/dev/sda1 secretmem.enable=1 quiet\n')
    with open(os.path.join(proc, 'vmstat'), 'w') as f:
        f.write('nr_free_pages 1000\ndirect_map_level2_splits 12\ndirect_map_level3_splits 0\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(('TLB_IMPACT_', 'FAKE_'))}
    env.update(PATH=fakebin + os.pathsep + env.get('PATH', ''), TLB_IMPACT_TEST='1',
               TLB_IMPACT_SYSFS=sysfs, TLB_IMPACT_PROC=proc, FAKE_LOG=log)
    if knob_in_sysfs:
        knob = os.path.join(sysfs, 'module', 'secretpool', 'parameters', 'enabled')
    else:
        knob = os.path.join(d, 'knob')
        env['TLB_IMPACT_KNOB'] = knob
    env['FAKE_KNOB'] = knob
    if pool:
        os.makedirs(os.path.dirname(knob), exist_ok=True)
        with open(knob, 'w') as f:
            f.write('Y\n')
    return env, knob, log


def run(env, *args, **extra):
    e = dict(env, **extra)
    r = subprocess.run(['bash', SCRIPT, *args], env=e, capture_output=True, text=True,
                       timeout=60)
    return r.returncode, r.stdout, r.stderr


def logged(log, name):
    try:
        with open(os.path.join(log, name)) as f:
            return f.read()
    except OSError:
        return ''


def results(out, scenario):
    return [dict(w.split('=', 1) for w in line.split()[1:] if '=' in w)
            for line in out.splitlines()
            if line.startswith('RESULT scenario=%s ' % scenario)]


def expected(event, mode):
    """The fake perf's count of @event (NAME:k or NAME:u) in @mode."""
    base, priv = event.rsplit(':', 1)
    c = len(base) * 1000 + (5 if priv == 'u' else 0)
    return c * 2 if mode == 'upstream' else c


with tempfile.TemporaryDirectory() as tmp:
    # No counter: a VM without a PMU, a stock kernel.  Exit 3, the
    # structural figures all the same.
    d = os.path.join(tmp, 'none')
    env, knob, log = setup(d, pool=False, pmu=False)
    rc, out, err = run(env, '-n', '20', '-r', '2', '--', 'echo', 'work done', FAKE_PERF='none')
    st = results(out, 'tlb_hw_status')
    check(rc == 3, 'no PMU: exit status 3', out + err)
    check(len(st) == 1 and st[0].get('counted') == '0' and st[0].get('events') == 'none'
          and 'dTLB-load-misses:k' in st[0].get('unsupported', '').split(','),
          'no PMU: status line counted=0 with the unsupported events', st)
    check("one mode 'current'" in out and 'counts none of the dTLB events' in out,
          'no PMU: says stock kernel, one mode, and that nothing counts', out)
    dm = results(out, 'tlb_hw_dm')
    check(dm == [{'scenario': 'tlb_hw_dm', 'mode': 'current', 'l2_splits': '5', 'l3_splits': '0',
                  'dm4k_kb': '10240', 'blocks_2m': '9'}] and not results(out, 'tlb_hw'),
          'no PMU: the direct-map line, no tlb_hw lines', out)
    perf_runs = [l for l in logged(log, 'perf').splitlines() if '-- true' not in l]
    check(not perf_runs and 'longlived -n 20 -H' in logged(log, 'sp-bench'),
          'no PMU: the workload runs without perf stat', logged(log, 'perf')[-500:])
    rc, pout = run_parser(out)
    check(rc == 3 and 'no dTLB event was counted' in pout, 'no PMU: tlb_hw.py exits 3 on it', pout)

    # Intel, the pool through TLB_IMPACT_KNOB, the guest's options with
    # the default fio workload, three runs, user space too: 26 events on
    # 4 counters.
    d = os.path.join(tmp, 'intel')
    env, knob, log = setup(d, knob_in_sysfs=False)
    rc, out, err = run(env, '-n', '500', '-t', '1', '-s', '64m', '-d', os.path.join(d, 'fio'),
                       '-r', '3', '-u', FAKE_PERF='intel')
    check(rc == 0, 'intel: exit status 0', out + err)
    runs = [l for l in logged(log, 'perf').splitlines() if '-- true' not in l]
    check(len(runs) == 2 and all(' -r 3 ' in l for l in runs), 'intel: perf stat -r 3, once per mode', runs)
    evs = runs[0].split(' -e ')[1].split()[0].split(',') if runs else []
    check('dTLB-load-misses:k' in evs and 'dtlb_load_misses.walk_completed_4k:k' in evs
          and 'dtlb_store_misses.walk_completed_2m_4m:k' in evs and 'dtlb_load_misses.stlb_hit:k' in evs
          and 'dTLB-load-misses:u' in evs and not any(e.startswith('ls_') for e in evs)
          and all(e.endswith((':k', ':u')) for e in evs), 'intel: kernel (:k) and user (:u) events, no AMD ones', evs)
    tl = results(out, 'tlb_hw')
    check(len(tl) == 2 * len(evs) == 52, 'intel: a RESULT line per event and mode', len(tl))
    bad = [r for r in tl if r.get('count') != str(expected(r.get('event', 'x:k'), r.get('mode')))]
    check(tl and not bad, 'intel: each count is its event\'s (modifiers dropped by perf matched in order)', bad[:3])
    check(all(r.get('pmu') == 'cpu' and r.get('reps') == '3' and r.get('running_pct') == '15.38'
              for r in tl), 'intel: pmu, reps and running % in every line', tl[:2])
    check(all(r.get('variance_pct') == {'pool': '0.50', 'upstream': '2.25'}[r.get('mode')] for r in tl),
          'intel: perf\'s variance per mode', tl[:2])
    check(all(re.match(r'^(nan|-?[0-9]+(\.[0-9]+)?)$', r[k]) for r in tl
              for k in ('count', 'variance_pct', 'running_pct', 'reps')),
          'intel: plain numbers only', tl[:2])
    check('26 of 26 events were counted less than 100% of the time, the lowest 15.38%' in out
          and 'pass fewer events with -e' in out,
          'intel: warns that the events were multiplexed', out[-2000:])
    st = results(out, 'tlb_hw_status')
    check(st and st[0].get('counted') == '1' and st[0].get('modes') == 'pool,upstream'
          and 'ls_tablewalker.dside:k' in st[0].get('unsupported', ''), 'intel: status counted=1, two modes', st)
    dm = {r['mode']: r for r in results(out, 'tlb_hw_dm')}
    check(dm.get('pool', {}).get('l2_splits') == '0' and dm.get('upstream', {}).get('l2_splits') == '37'
          and dm.get('upstream', {}).get('blocks_2m') == '44', 'intel: direct-map lines per mode', dm)
    fio = logged(log, 'fio')
    check('FIO_SIZE=64m FIO_RUNTIME=1' in fio and fio.count('\n') == 6,
          'intel: -t 1 is fio\'s runtime, 3 runs a mode', fio)
    check(re.search(r'^seq-read-1m\s+8\s+4$', out, re.M) is not None,
          'intel: fio throughput is the mean of the runs', out)
    check(open(knob).read().strip() == 'Y', 'intel: the knob is put back')
    sb = logged(log, 'sp-bench').splitlines()
    check(sb[:1] == ['longlived -n 1 -P 0'] and len(sb) == 3 and 'memfd_secret() works' in out
          and "two modes, 'pool'" in out, 'intel: memfd_secret() checked with one secret first', sb)
    tabs = hw.tables(out.splitlines())
    h, rows = table(tabs, hw.COUNTS)
    r = row(rows, 'dtlb_load_misses.walk_completed_4k:k', 'cpu')
    check(r is not None and r[2:4] == [34000, 68000] and close(r[4], 2.0),
          'intel: tlb_hw.py reads the script\'s output', r)
    check(re.search(r'^dTLB-load-misses:u\s+16005\s+32010\s+2\.000$', out, re.M) is not None,
          'intel: the counts table with the ratio', out)

    # AMD, a stock kernel, one run: no variance.
    d = os.path.join(tmp, 'amd')
    env, knob, log = setup(d, pool=False)
    rc, out, err = run(env, '-n', '10', '-r', '1', '--', 'echo', 'work', FAKE_PERF='amd')
    tl = results(out, 'tlb_hw')
    names = [r['event'] for r in tl]
    check(rc == 0 and 'ls_l1_d_tlb_miss.tlb_reload_2m_l2_miss:k' in names
          and 'ls_tablewalker.dside:k' in names and 'dTLB-loads:k' in names
          and not any(x.startswith('dtlb_') for x in names), 'amd: AMD and generic events counted', out + err)
    check(all(r['mode'] == 'current' and r['variance_pct'] == 'nan' and r['running_pct'] == '100.00'
              and r['reps'] == '1' for r in tl), 'amd: one mode, variance nan for one run', tl[:2])
    check('upstream/pool' not in out and 'multiplexed' not in out, 'amd: no ratio, no multiplexing', out)

    # Hybrid: cpu_core and cpu_atom in the fake sysfs, the pool in it too.
    d = os.path.join(tmp, 'hybrid')
    env, knob, log = setup(d, hybrid=True)
    rc, out, err = run(env, '-n', '10', '-r', '2', '--', 'echo', 'work', FAKE_PERF='hybrid')
    tl = results(out, 'tlb_hw')
    runs = [l for l in logged(log, 'perf').splitlines() if '-- true' not in l]
    evs = runs[0].split(' -e ')[1].split()[0].split(',') if runs else []
    check(rc == 0 and 'cpu_core/dTLB-load-misses/k' in evs and 'cpu_atom/dTLB-load-misses/k' in evs
          and 'cpu_core/dtlb_load_misses.walk_completed_1g/k' in evs
          and 'cpu_atom/dtlb_load_misses.walk_completed/k' in evs
          and 'cpu_atom/dtlb_load_misses.walk_completed_4k/k' not in evs,
          'hybrid: events as cpu_core/EVENT/k and cpu_atom/EVENT/k, probed per PMU', out + err)
    pmus = {(r['event'], r['pmu']) for r in tl}
    check(('dTLB-load-misses:k', 'cpu_core') in pmus and ('dTLB-load-misses:k', 'cpu_atom') in pmus
          and all(r['count'] == str(expected(r['event'], r['mode'])) for r in tl),
          'hybrid: RESULT lines per PMU with their counts', tl[:4])
    st = results(out, 'tlb_hw_status')
    check('hybrid CPU' in out and st and st[0].get('pmus') == 'cpu_core,cpu_atom'
          and 'cpu_atom/dtlb_store_misses.walk_completed_4k/k' in st[0].get('unsupported', ''),
          'hybrid: the PMUs reported', st)
    check(open(knob).read().strip() == 'Y', 'hybrid: the knob in the fake sysfs is put back')

    # memfd_secret() off: the boot parameter, or a kernel where it fails.
    d = os.path.join(tmp, 'off')
    env, knob, log = setup(d, param='N')
    rc, out, err = run(env, '-n', '10', '--', 'true', FAKE_PERF='intel')
    check(rc == 1 and 'secretmem.enable=1' in err and not logged(log, 'sp-bench'),
          'secretmem.enable=N: exit 1 before measuring', out + err)
    d = os.path.join(tmp, 'broken')
    env, knob, log = setup(d, param=None)
    rc, out, err = run(env, '-n', '10', '--', 'true', FAKE_PERF='intel', FAKE_SECRETMEM='off')
    check(rc == 1 and 'memfd_secret() does not work' in err
          and logged(log, 'sp-bench').splitlines() == ['longlived -n 1 -P 0'],
          'memfd_secret() failing: exit 1 after the one-secret check', out + err)

    # A run that fails (fewer secrets than asked): exit 1, figures printed.
    d = os.path.join(tmp, 'fail')
    env, knob, log = setup(d)
    rc, out, err = run(env, '-n', '10', '-r', '1', '-e', 'dTLB-load-misses:k,ls_tablewalker.dside',
                       '--', 'true', FAKE_PERF='intel', FAKE_FAIL='upstream')
    check(rc == 1 and 'sp-bench longlived failed in mode upstream (secrets made: 9 of 10)' in out
          and results(out, 'tlb_hw_status'), 'a failed run: exit 1, still the RESULT lines', out + err)
    st = results(out, 'tlb_hw_status')
    check(st and st[0].get('events') == 'dTLB-load-misses:k'
          and st[0].get('unsupported') == 'ls_tablewalker.dside:k', '-e: only the events asked for', st)

    # Usage: -r takes a number of runs now.
    rc, out, err = run(env, '-r', '1s')
    check(rc == 2 and '-t  seconds per fio job' in out and '-r  repetitions' in out,
          'usage: exit 2, -r runs and -t seconds', out + err)

print('1..%d' % n)
print('# secretpool-suite-exit: tools/tlb-impact %d' % (1 if failed else 0))
sys.exit(1 if failed else 0)
