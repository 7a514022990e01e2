#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read what a guest run left behind and decide whether it passed.

Inputs (both written by scripts/run-vm.sh):
  console.log  ttyS0: the kernel log, with KUnit's KTAP output in it;
  tap.log      ttyS1: user-space suites between "# secretpool-suite: NAME"
               and "# secretpool-suite-exit: NAME RC" markers.

Counted as tests:
  * every KUnit case, parsed with the tree's tools/testing/kunit/kunit.py;
  * every top-level "ok"/"not ok" line of each user-space suite (a suite
    that exits non-zero without reporting a failure, or reports fewer
    results than its plan, counts one more failure);
  * "kernel log clean": fails on any BUG:, WARNING:, Oops, KASAN, KFENCE,
    lockdep, UBSAN or refcount_t report anywhere in the kernel log;
  * "guest finished": the guest printed its final marker;
  * each --expect-kunit / --expect-suite that did not show up is a failure.

Prints a per-suite summary and ends with "N passed, N failed".  Exit
status 0 when nothing failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

KERNEL_REPORTS = [
    r'\bBUG: ',                       # BUG:, BUG: KASAN:, BUG: KFENCE:, ...
    r'\bWARNING: ',                   # WARN*(), lockdep splats
    r'\bkernel BUG at\b',
    r'\bOops\b',
    r'\bgeneral protection fault\b',
    r'\bKernel panic\b',
    r'\bUBSAN: ',
    r'\brefcount_t: ',
    r'\bINFO: (possible|lockdep|trying to register|inconsistent)',
    r'\bSLUB: .*(Poison|Redzone|corrupt)',
    r'\bUnable to handle kernel\b',
]
REPORT_RE = re.compile('|'.join(KERNEL_REPORTS))

TAP_RESULT = re.compile(r'^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$')
TAP_PLAN = re.compile(r'^1\.\.(\d+)')


class Suite:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.failures = []

    def add(self, ok, desc, skip=False):
        if skip:
            self.skipped += 1
        elif ok:
            self.passed += 1
        else:
            self.failed += 1
            self.failures.append(desc)


def strip_console(line):
    """Drop a kernel log timestamp so patterns match at the start."""
    return re.sub(r'^\[\s*\d+\.\d+\]\s?', '', line.rstrip('\r\n'))


def check_kernel_log(lines):
    suite = Suite('kernel log clean')
    hits = []
    for n, raw in enumerate(lines, 1):
        line = strip_console(raw)
        if REPORT_RE.search(line):
            hits.append('console.log:%d: %s' % (n, line.strip()))
    if hits:
        suite.add(False, '%d kernel report line(s), first: %s'
                  % (len(hits), hits[0]))
    else:
        suite.add(True, 'no kernel reports')
    return suite, hits


def kunit_suites(console_path, kunit_py):
    """Parse KUnit results with the tree's kunit.py; returns [Suite]."""
    if not kunit_py or not os.path.exists(kunit_py):
        return [], 'kunit.py not found: %s' % kunit_py
    with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as tmp:
        json_path = tmp.name
    try:
        proc = subprocess.run(
            [sys.executable, kunit_py, 'parse', '--json=' + json_path,
             os.path.abspath(console_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        out = proc.stdout
        try:
            with open(json_path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            return [], 'kunit.py parse wrote no JSON:\n' + out
    finally:
        os.unlink(json_path)

    suites = []

    def walk(group, prefix):
        name = group.get('name', '?')
        if prefix is not None:
            full = name if not prefix else prefix + '.' + name
        else:
            full = ''
        cases = group.get('test_cases', [])
        if cases and full:
            s = Suite('kunit: ' + full)
            for c in cases:
                st = c.get('status')
                s.add(st == 'PASS', c.get('name'), skip=(st == 'SKIP'))
            suites.append(s)
        for sub in group.get('sub_groups', []):
            walk(sub, full if prefix is not None else '')

    walk(data, None)
    return suites, out


def user_suites(tap_lines):
    """Split ttyS1 into suites and count their top-level TAP results."""
    suites = []
    finished = False
    cur = None
    plan = None
    seen = 0
    for raw in tap_lines:
        line = raw.rstrip('\r\n')
        m = re.match(r'^# secretpool-suite: (\S+)', line)
        if m:
            cur = Suite(m.group(1))
            plan, seen = None, 0
            continue
        m = re.match(r'^# secretpool-suite-exit: (\S+) (\d+)', line)
        if m and cur is not None:
            rc = int(m.group(2))
            if plan is not None and seen < plan:
                cur.add(False, 'only %d of %d planned results (crashed?)'
                        % (seen, plan))
            if rc not in (0, 4) and cur.failed == 0:
                # 4 is KSFT_SKIP: a whole-suite skip.
                cur.add(False, 'exited with status %d' % rc)
            if seen == 0 and rc == 4:
                cur.add(True, 'suite skipped', skip=True)
            if seen == 0 and rc == 0 and cur.passed == 0:
                cur.add(False, 'reported no results')
            suites.append(cur)
            cur = None
            continue
        if line.startswith('# secretpool-guest: done'):
            finished = True
            continue
        if cur is None:
            continue
        # Only top-level results count: nested ones are indented or "#"-ed.
        m = TAP_PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            continue
        m = TAP_RESULT.match(line)
        if m:
            ok = m.group(1) == 'ok'
            desc = m.group(3)
            skip = bool(re.search(r'#\s*SKIP', desc, re.I))
            xfail = bool(re.search(r'#\s*XFAIL', desc, re.I))
            cur.add(ok or xfail, desc, skip=skip and ok)
            seen += 1
    if cur is not None:
        cur.add(False, 'no exit marker: the guest stopped inside this suite')
        suites.append(cur)
    return suites, finished


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--console', required=True)
    ap.add_argument('--tap', required=True)
    ap.add_argument('--kunit-py')
    ap.add_argument('--expect-kunit', action='append', default=[],
                    help='a KUnit suite that must have run')
    ap.add_argument('--expect-suite', action='append', default=[],
                    help='a user-space suite that must have run')
    ap.add_argument('--host-tap', action='append', default=[],
                    help='host-side suites in the same marker format')
    ap.add_argument('--vm-status', type=int, default=0,
                    help='exit status of the VM runner (124: timeout)')
    ap.add_argument('-v', '--verbose', action='store_true')
    args = ap.parse_args()

    def read(path):
        try:
            with open(path, errors='replace') as f:
                return f.readlines()
        except OSError:
            return []

    console = read(args.console)
    tap = read(args.tap)

    suites = []
    for path in args.host_tap:
        hs, _ = user_suites(read(path))
        suites += hs
    ku, kout = kunit_suites(args.console, args.kunit_py)
    if args.verbose and kout:
        print(kout)
    suites += ku
    us, finished = user_suites(tap)
    suites += us

    klog, hits = check_kernel_log(console)
    suites.append(klog)

    fin = Suite('guest finished')
    if finished and args.vm_status == 0:
        fin.add(True, 'final marker seen')
    elif args.vm_status == 124:
        fin.add(False, 'the VM timed out')
    else:
        fin.add(False, 'no final marker (guest crashed or hung; VM status %d)'
                % args.vm_status)
    suites.append(fin)

    names = [s.name for s in suites]
    for want in args.expect_kunit:
        if not any(n == 'kunit: ' + want or n.startswith('kunit: ' + want + '.')
                   for n in names):
            s = Suite('kunit: ' + want)
            s.add(False, 'suite did not run')
            suites.append(s)
    for want in args.expect_suite:
        if want not in names:
            s = Suite(want)
            s.add(False, 'suite did not run')
            suites.append(s)

    width = max(len(s.name) for s in suites)
    print('%-*s  %6s %6s %6s' % (width, 'suite', 'passed', 'failed', 'skip'))
    for s in suites:
        print('%-*s  %6d %6d %6d' % (width, s.name, s.passed, s.failed,
                                     s.skipped))
    failures = [(s.name, f) for s in suites for f in s.failures]
    if failures:
        print('\nfailures:')
        for name, f in failures:
            print('  %s: %s' % (name, f))
    if hits:
        print('\nkernel reports (%d lines, first 20):' % len(hits))
        for h in hits[:20]:
            print('  ' + h)
    passed = sum(s.passed for s in suites)
    failed = sum(s.failed for s in suites)
    skipped = sum(s.skipped for s in suites)
    if skipped:
        print('\n%d skipped' % skipped)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
