#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read what the guest runs and the host checks left behind and decide
whether the test run passed.

Inputs of a guest run (written by scripts/run-vm.sh):
  console.log  ttyS0: the kernel log, with KUnit's KTAP output in it;
  tap.log      ttyS1: user-space suites between "# secretpool-suite: NAME"
               and "# secretpool-suite-exit: NAME RC" markers;
  VM status    the exit status of run-vm.sh (124: the guest timed out).
The main run is given with --console, --tap and --vm-status; each further
boot with --run LABEL:CONSOLE:TAP:VMSTATUS.  The suites of a further run
are named with "LABEL/" in front ("pagealloc/secretmem/secretmem_abi",
"pagealloc/kunit: secretpool", "pagealloc/kernel log clean").  Host-side
suites (--host-tap) use the same marker format.

Counted as tests, for every run:
  * every KUnit case ("kunit: SUITE"), parsed with the tree's
    tools/testing/kunit/kunit.py; a case that never reported (the suite
    stopped) and every error the parser reports count as failures;
  * every top-level "ok"/"not ok" line of each user-space suite; a suite
    that exits non-zero without reporting a failure, reports fewer results
    than its plan, bails out, or has no exit marker counts one more
    failure;
  * "kernel log clean": fails on any report of the kernel's debugging
    machinery in the kernel log (BUG:, WARNING:, Oops, KASAN, KFENCE,
    lockdep, UBSAN, refcount_t, RCU stalls, hung tasks, lockups, OOM
    kills, kmemleak, user-space crashes, the pool's own error lines; see
    KERNEL_REPORTS), whatever the tests printed;
  * "guest finished": the guest printed its final marker, ran every job it
    was given, and the VM exited with status 0;
  * each --expect-kunit / --expect-suite that did not show up is a failure
    ("--expect-kunit LABEL/SUITE" names KUnit suite SUITE of run LABEL).
Host suites named "style/..." count as one test each: passed when every
file passed, failed otherwise (the failing files are listed).

Skipped tests (KUnit "# SKIP", TAP "ok N desc # SKIP reason", and a suite
that exits with status 4, KSFT_SKIP, without any result) are failures
unless an entry of the allowlist (--allowed-skips, by default
scripts/allowed-skips; its header describes the format) matches them.
Allowed skips are counted in the "skip" column and listed with their
reasons.

Prints a per-suite table, the failures (a failed selftest with the last
few "# FILE.c:LINE:" lines the harness printed before it), the kernel
reports, the allowed skips, a line about the style checks, and ends with
"N passed, N failed".
Exit status: 0 when nothing failed, 1 when something did, 2 on bad usage
(a malformed --run or allowlist entry).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# One pattern per kind of kernel report; any match anywhere in a kernel
# log fails "kernel log clean".  Matched after the timestamp is removed.
KERNEL_REPORTS = [
    r'\bBUG: ',                       # BUG:, BUG: KASAN:, BUG: KFENCE:, BUG: soft lockup, ...
    r'\bWARNING: ',                   # WARN*(), lockdep splats
    r'\bkernel BUG at\b',             # BUG_ON()
    r'\bOops\b',                      # oops header
    r'\bgeneral protection fault\b',  # kernel or user-space (traps:) #GP
    r'\bKernel panic\b',              # panic()
    r'\bUBSAN: ',                     # undefined behaviour sanitizer
    r'\brefcount_t: ',                # refcount saturation / underflow
    r'\bINFO: (possible|lockdep|trying to register|inconsistent)',  # lockdep
    r'\bSLUB: .*(Poison|Redzone|corrupt)',  # slab debugging
    r'\bUnable to handle kernel\b',   # bad kernel access
    r'\bINFO: rcu_',                  # RCU stall: "INFO: rcu_preempt detected stalls on CPUs/tasks"
    r'\brcu_\w+ (self-)?detected stalls?\b',  # RCU stall, also without the "INFO:" prefix
    r'\bINFO: task .* blocked for more than \d+ seconds',  # hung task
    r'\bsoft lockup - CPU#\d+ stuck',  # soft lockup (also "BUG: soft lockup")
    r'\bhard LOCKUP\b',               # hard lockup: "Watchdog detected hard LOCKUP on cpu 1"
    r'\bOut of memory: ',             # global OOM kill: "Out of memory: Killed process 123 (x)"
    r'\bOut of memory and no killable processes',  # global OOM without a victim
    r'\bMemory cgroup out of memory\b',  # memcg OOM kill
    r'\binvoked oom-killer\b',        # "x invoked oom-killer: gfp_mask=..."
    r'\bkmemleak: \d+ new suspected memory leaks?\b',  # kmemleak scan result
    r'\bunreferenced object 0x[0-9a-f]+',  # kmemleak report body
    r'\bsegfault at [0-9a-f]+ ip\b',  # user-space SIGSEGV: "sh[123]: segfault at 0 ip ..."
    r'\btraps: \S+\[\d+\] ',          # user-space trap: "traps: x[12] general protection fault ip:..."
    r'\bpotentially unexpected fatal signal \d+',  # user-space fatal signal (print-fatal-signals)
    r'\bsecret(pool|mem): .*\b(cannot|error|failed)\b',  # the pool's own error lines
    r'\ballocation from offline node \d+',  # page allocator: __alloc_pages_node() on an offline node (+ stack)
]
REPORT_RE = re.compile('|'.join('(?:%s)' % p for p in KERNEL_REPORTS))

# User-space TAP, top level only (nested results are indented or "#"-ed).
TAP_RESULT = re.compile(r'^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$')
TAP_PLAN = re.compile(r'^1\.\.(\d+)(.*)$')
TAP_BAIL = re.compile(r'^Bail out!\s*(.*)$')
SKIP_DIRECTIVE = re.compile(r'\s*#\s*SKIP\b:?\s*(.*)$', re.I)
XFAIL_DIRECTIVE = re.compile(r'#\s*XFAIL\b', re.I)

# The guest's markers (scripts/guest/init, scripts/guest/lib.sh).
SUITE_START = re.compile(r'^# secretpool-suite: (\S+)')
SUITE_EXIT = re.compile(r'^# secretpool-suite-exit: (\S+) (\d+)')
# kselftest_harness.h's failed expectations and TH_LOG() lines:
# "# secretmem_counters.c:206:vmstat_matches_pool:Expected ...".
HARNESS_DIAG = re.compile(r'^# [\w.-]+\.c:\d+:')
DIAG_LIMIT = 6   # the last this many of them are shown with a failure
JOB_EXIT = re.compile(r'^# secretpool-job-exit: (\S+) (\d+)(.*)$')
GUEST_DONE = '# secretpool-guest: done'

KSFT_SKIP = 4            # kselftest's exit status for "skipped"
STYLE_PREFIX = 'style/'  # host suites counted as one test each
REPORT_LIMIT = 20        # kernel report lines shown per run


class UsageError(Exception):
    """Bad input from the caller: the checker exits with status 2."""


class Suite:
    """Results of one suite.

    failures: messages, one per failed test;
    skips:    (test, reason) of skipped tests, not yet judged;
    allowed:  (test, reason, entry) of skips the allowlist accepted;
    whole_skip: the reason when the suite skipped itself as a whole.
    """

    def __init__(self, name, one_case=False):
        self.name = name
        self.one_case = one_case   # style/...: all lines count as one test
        self.passed = 0
        self.results = 0           # top-level result lines seen
        self.failures = []
        self.skips = []
        self.allowed = []
        self.whole_skip = None

    def ok(self):
        self.passed += 1

    def fail(self, msg):
        self.failures.append(msg)

    def skip(self, test, reason):
        self.skips.append((test, reason))

    def judge(self, allow):
        """Turn every skip into an allowed skip or a failure."""
        for test, reason in self.skips:
            entry = allow.match_test(self.name, test)
            if entry:
                self.allowed.append((test, reason, entry))
            else:
                self.fail('%s: skipped: %s (not in %s)'
                          % (test or '(no description)', reason, allow.shown))
        self.skips = []
        if self.whole_skip is not None:
            entry = allow.match_suite(self.name)
            if entry:
                self.allowed.append(('(suite)', self.whole_skip, entry))
            else:
                self.fail('whole suite skipped: %s (not in %s)'
                          % (self.whole_skip, allow.shown))
            self.whole_skip = None

    def counts(self):
        """(passed, failed, skipped) as they enter the totals."""
        if not self.one_case:
            return self.passed, len(self.failures), len(self.allowed)
        if self.failures:
            return 0, 1, 0
        if self.passed:
            return 1, 0, 0
        return 0, 0, 1 if self.allowed else 0


class Entry:
    """One line of the allowlist."""

    def __init__(self, lineno, suite, test, reason):
        self.lineno = lineno
        self.suite = suite
        self.test = test
        self.reason = reason
        self.whole_suite = test == '(suite)'
        self.used = False
        try:
            self.suite_re = re.compile(suite)
            self.test_re = None if self.whole_suite else re.compile(test)
        except re.error as e:
            raise UsageError('bad regular expression: %s' % e)


class Allowlist:
    """scripts/allowed-skips: which skips do not fail the run."""

    def __init__(self, path, shown):
        self.shown = shown   # how failure messages name the file
        self.entries = []
        if path is None:
            return
        with open(path, errors='replace') as f:
            for n, raw in enumerate(f, 1):
                line = raw.strip()
                if not line or line.startswith('#'):
                    continue
                fields = line.split(None, 2)
                if len(fields) < 3 or not fields[2].strip():
                    raise UsageError('%s:%d: an entry is "SUITE TEST REASON..."'
                                     ' and the reason is mandatory: %s'
                                     % (shown, n, line))
                try:
                    self.entries.append(Entry(n, *fields))
                except UsageError as e:
                    raise UsageError('%s:%d: %s' % (shown, n, e))

    def _find(self, suite, test, whole_suite):
        for e in self.entries:
            if e.whole_suite != whole_suite:
                continue
            if not e.suite_re.fullmatch(suite):
                continue
            if not whole_suite and not e.test_re.fullmatch(test):
                continue
            e.used = True
            return e
        return None

    def match_test(self, suite, test):
        return self._find(suite, test, False)

    def match_suite(self, suite):
        return self._find(suite, None, True)


def strip_console(line):
    """Drop a kernel log timestamp so patterns match at the start."""
    return re.sub(r'^\[\s*\d+\.\d+\]\s?', '', line.rstrip('\r\n'))


def check_kernel_log(lines, path):
    """The "kernel log clean" suite and the report lines it found."""
    suite = Suite('kernel log clean')
    hits = []
    for n, raw in enumerate(lines, 1):
        line = strip_console(raw)
        if REPORT_RE.search(line):
            hits.append('%s:%d: %s' % (path, n, line.strip()))
    if hits:
        suite.fail('%d kernel report line(s), first: %s' % (len(hits), hits[0]))
    else:
        suite.ok()
    return suite, hits


def kunit_skip_reasons(lines):
    """Map (suite path, case) to the reason of each KUnit "# SKIP".

    kunit.py's JSON keeps only the status of a skipped case, so the
    reason is read from the KTAP lines themselves.  The suite path is
    built from the "# Subtest:" headers as kunit.py names nested suites
    ("outer.inner"): a header opens a suite at its indentation, a result
    line belongs to the suites opened at its indentation or less.
    """
    header = re.compile(r'^(\s*)# Subtest: (.*)$')
    result = re.compile(r'^(\s*)(?:not ok|ok) \d+ (?:- )?(.*?)\s*# SKIP\b\s*(.*)$')
    stack = []      # (indent, name)
    reasons = {}
    for raw in lines:
        line = strip_console(raw)
        m = header.match(line)
        if m:
            depth = len(m.group(1))
            stack = [s for s in stack if s[0] < depth] + [(depth, m.group(2).strip())]
            continue
        m = result.match(line)
        if m:
            depth = len(m.group(1))
            stack = [s for s in stack if s[0] <= depth]
            path = '.'.join(name for _, name in stack)
            reasons[(path, m.group(2).strip())] = m.group(3).strip()
    return reasons


def kunit_suites(console_path, lines, kunit_py):
    """Parse KUnit results with the tree's kunit.py.

    Returns ([Suite], kunit.py's output).  A case kunit.py could not see
    the result of (the suite stopped early) has status ERROR and no name;
    every "[ERROR] Test: NAME: message" kunit.py prints (missing result
    lines, wrong numbering, no tests run) is a failure of the suite NAME
    belongs to.
    """
    if not os.path.exists(kunit_py):
        s = Suite('kunit')
        s.fail('kunit.py not found: %s' % kunit_py)
        return [s], ''
    with tempfile.NamedTemporaryFile(suffix='.json', delete=False) as tmp:
        json_path = tmp.name
    try:
        # kunit.py changes directory: give it absolute paths.
        proc = subprocess.run(
            [sys.executable, kunit_py, 'parse', '--json=' + json_path,
             os.path.abspath(console_path)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out = proc.stdout
        try:
            with open(json_path) as f:
                data = json.load(f)
        except (OSError, ValueError):
            s = Suite('kunit')
            s.fail('kunit.py parse wrote no JSON (exit %d): %s'
                   % (proc.returncode, ' | '.join(out.strip().splitlines()[-3:])))
            return [s], out
    finally:
        os.unlink(json_path)

    reasons = kunit_skip_reasons(lines)
    suites = []
    owners = {}     # suite path or case name -> Suite, for kunit.py's errors

    def walk(group, path):
        cases = group.get('test_cases', [])
        if cases:
            s = Suite('kunit: ' + path)
            owners[path] = owners[path.split('.')[-1]] = s
            for i, c in enumerate(cases, 1):
                name = c.get('name') or ''
                owners.setdefault(name, s)
                status = c.get('status')
                s.results += 1
                if status == 'PASS':
                    s.ok()
                elif status == 'SKIP':
                    s.skip(name, reasons.get((path, name), '(no reason given)'))
                elif not name:
                    s.fail('case %d: no result (the suite stopped here)' % i)
                elif status == 'ERROR':
                    s.fail('%s: crashed' % name)
                else:
                    s.fail(name)
            suites.append(s)
        for sub in group.get('sub_groups', []):
            walk(sub, path + '.' + sub['name'] if path else sub['name'])

    for top in data.get('sub_groups', []):
        walk(top, top.get('name', '?'))
    for c in data.get('test_cases', []):
        # A top-level result without "# Subtest:" lines: a lone case.
        s = Suite('kunit: ' + (c.get('name') or '?'))
        s.results += 1
        if c.get('status') == 'PASS':
            s.ok()
        else:
            s.fail('%s: %s' % (c.get('name') or '?', c.get('status')))
        suites.append(s)

    # kunit.py's own errors.  "missing expected subtest!" is already a
    # failed case above; "could not find any KTAP output!" is left to
    # --expect-kunit (a console without KUnit is not wrong by itself).
    parser_errors = None
    for m in re.finditer(r'\[ERROR\] Test: (.*?): (.*)$', out, re.M):
        test, msg = m.group(1), m.group(2).strip()
        if msg == 'missing expected subtest!' or test == '<missing>':
            continue
        owner = owners.get(test)
        if owner is None:
            if parser_errors is None:
                parser_errors = Suite('kunit: (parser)')
                suites.append(parser_errors)
            owner = parser_errors
        owner.fail('kunit.py: %s: %s' % (test, msg))
    return suites, out


def user_suites(tap_lines, one_case_prefix=None):
    """Split a marker stream into suites and count their top-level TAP
    results.  Returns ([Suite], finished, [missing job names]).

    one_case_prefix: suites whose name starts with it count as one test.
    """
    suites = []
    finished = False
    missing_jobs = []
    cur = None
    plan = None
    plan_skip = None
    diag = []   # the harness's "# FILE.c:LINE:..." lines since the last result

    def close(suite, msg):
        suite.fail(msg)
        suites.append(suite)

    for raw in tap_lines:
        line = raw.rstrip('\r\n')
        m = SUITE_START.match(line)
        if m:
            if cur is not None:
                close(cur, 'no exit marker: another suite started inside it')
            one = bool(one_case_prefix) and m.group(1).startswith(one_case_prefix)
            cur = Suite(m.group(1), one_case=one)
            plan, plan_skip = None, None
            diag = []
            continue
        m = SUITE_EXIT.match(line)
        if m and cur is not None:
            rc = int(m.group(2))
            if m.group(1) != cur.name:
                cur.fail('exit marker names another suite: %s' % m.group(1))
            seen = cur.results
            if plan is not None and seen < plan:
                cur.fail('\n      '.join(['only %d of %d planned results (crashed?)'
                                            % (seen, plan)] + diag))
            if seen == 0 and rc == KSFT_SKIP:
                # The whole suite skipped itself: judged by the allowlist.
                cur.whole_skip = plan_skip or 'exit status 4 (KSFT_SKIP), no results'
            elif rc not in (0, KSFT_SKIP) and not cur.failures:
                cur.fail('exited with status %d' % rc)
            elif seen == 0 and rc == 0:
                cur.fail('reported no results')
            suites.append(cur)
            cur = None
            continue
        if line.startswith(GUEST_DONE):
            finished = True
            continue
        m = JOB_EXIT.match(line)
        if m and 'no such job' in m.group(3):
            missing_jobs.append(m.group(1))
            continue
        if cur is None:
            continue
        m = TAP_PLAN.match(line)
        if m and plan is None:
            plan = int(m.group(1))
            sm = SKIP_DIRECTIVE.search(m.group(2))
            if sm:
                plan_skip = sm.group(1).strip() or '(no reason given)'
            continue
        m = TAP_BAIL.match(line)
        if m:
            cur.fail('bailed out: %s' % (m.group(1) or '(no reason given)'))
            continue
        m = TAP_RESULT.match(line)
        if m:
            ok = m.group(1) == 'ok'
            desc = m.group(3)
            cur.results += 1
            skip = SKIP_DIRECTIVE.search(desc)
            if ok and skip:
                cur.skip(desc[:skip.start()].strip(),
                         skip.group(1).strip() or '(no reason given)')
            elif ok or XFAIL_DIRECTIVE.search(desc):
                cur.ok()
            else:
                # Why it failed, as the harness said it (CI shows only
                # this output, not the guest's log).
                cur.fail('\n      '.join([desc] + diag))
            diag = []
            continue
        if HARNESS_DIAG.match(line):
            diag = diag[1 - DIAG_LIMIT:] + [line[2:]]
    if cur is not None:
        close(cur, 'no exit marker: the guest stopped inside this suite')
    return suites, finished, missing_jobs


def read_lines(path):
    """A file's lines, or [] when it cannot be read (the checks that need
    it then fail: no results, no final marker)."""
    try:
        with open(path, errors='replace') as f:
            return f.readlines()
    except OSError:
        return []


def check_run(label, console_path, tap_path, vm_status, kunit_py, verbose):
    """All suites of one guest boot, named with "LABEL/" in front for the
    further runs.  Returns ([Suite], kernel report lines)."""
    console = read_lines(console_path)
    suites = []
    if kunit_py:
        ku, kout = kunit_suites(console_path, console, kunit_py)
        if verbose and kout:
            print(kout)
        suites += ku
    us, finished, missing_jobs = user_suites(read_lines(tap_path))
    suites += us

    klog, hits = check_kernel_log(console, console_path)
    suites.append(klog)

    fin = Suite('guest finished')
    if vm_status == 124:
        fin.fail('the VM timed out')
    elif not finished or vm_status != 0:
        fin.fail('no final marker (guest crashed or hung; VM status %d)' % vm_status)
    elif missing_jobs:
        fin.fail('job(s) not in the initramfs: %s' % ', '.join(missing_jobs))
    else:
        fin.ok()
    suites.append(fin)

    if label:
        for s in suites:
            s.name = label + '/' + s.name
    return suites, hits


def parse_run(spec):
    """--run LABEL:CONSOLE:TAP:VMSTATUS (paths without ':')."""
    fields = spec.split(':')
    if len(fields) != 4 or not all(fields[:3]):
        raise UsageError('--run %s: want LABEL:CONSOLE:TAP:VMSTATUS' % spec)
    label, console, tap, status = fields
    if not re.fullmatch(r'[A-Za-z0-9_.-]+', label):
        raise UsageError('--run %s: the label may only hold letters, digits, '
                         '"_", "." and "-"' % spec)
    try:
        status = int(status)
    except ValueError:
        raise UsageError('--run %s: VMSTATUS is not a number' % spec)
    return label, console, tap, status


def expected_missing(suites, expect_kunit, expect_suite):
    """A failing suite for each expected suite that did not run."""
    names = [s.name for s in suites]
    missing = []
    for want in expect_kunit:
        # "LABEL/SUITE" is KUnit suite SUITE of the run LABEL.
        label, _, ksuite = want.rpartition('/')
        name = (label + '/' if label else '') + 'kunit: ' + ksuite
        if not any(n == name or n.startswith(name + '.') for n in names):
            missing.append(name)
    for want in expect_suite:
        if want not in names:
            missing.append(want)
    out = []
    for name in missing:
        s = Suite(name)
        s.fail('suite did not run')
        out.append(s)
    return out


def report(suites, hits_by_run, allow):
    """Print the table and the details; return (passed, failed)."""
    width = max(len(s.name) for s in suites)
    print('%-*s  %6s %6s %6s' % (width, 'suite', 'passed', 'failed', 'skip'))
    for s in suites:
        p, f, k = s.counts()
        print('%-*s  %6d %6d %6d' % (width, s.name, p, f, k))

    failures = [(s.name, f) for s in suites for f in s.failures]
    if failures:
        print('\nfailures:')
        for name, f in failures:
            print('  %s: %s' % (name, f))

    for console, hits in hits_by_run:
        if hits:
            print('\nkernel reports in %s (%d lines, first %d):'
                  % (console, len(hits), min(len(hits), REPORT_LIMIT)))
            for h in hits[:REPORT_LIMIT]:
                print('  ' + h)

    allowed = [(s.name, a) for s in suites for a in s.allowed]
    if allowed:
        print('\nallowed skips:')
        for name, (test, reason, entry) in allowed:
            print('  %s: %s: %s (allowed by %s:%d: %s)'
                  % (name, test, reason, allow.shown, entry.lineno, entry.reason))
    unused = [e for e in allow.entries if not e.used]
    if unused:
        print('\nnote: %s entries that matched nothing: %s'
              % (allow.shown, ', '.join('line %d' % e.lineno for e in unused)))

    style = [s for s in suites if s.one_case]
    print('\nstyle checks: %d files checked, %d problems (counted as %d tests above)'
          % (sum(s.results for s in style), sum(len(s.failures) for s in style),
             len(style)))
    passed = sum(s.counts()[0] for s in suites)
    failed = sum(s.counts()[1] for s in suites)
    print('%d passed, %d failed' % (passed, failed))
    return passed, failed


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_allow = os.path.join(here, 'allowed-skips')
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--console', required=True,
                    help="main run: the kernel log (ttyS0)")
    ap.add_argument('--tap', required=True,
                    help="main run: the user-space suites (ttyS1)")
    ap.add_argument('--vm-status', type=int, default=0,
                    help='main run: exit status of the VM runner (124: timeout)')
    ap.add_argument('--run', action='append', default=[],
                    metavar='LABEL:CONSOLE:TAP:VMSTATUS',
                    help='a further boot; its suites are named "LABEL/..." '
                    '(repeatable)')
    ap.add_argument('--kunit-py',
                    help="the tree's tools/testing/kunit/kunit.py; without "
                    "it KUnit results are not read")
    ap.add_argument('--expect-kunit', action='append', default=[],
                    metavar='[LABEL/]SUITE',
                    help='a KUnit suite that must have run (repeatable)')
    ap.add_argument('--expect-suite', action='append', default=[],
                    metavar='NAME',
                    help='a suite, as named in the table, that must have run '
                    '(repeatable)')
    ap.add_argument('--host-tap', action='append', default=[], metavar='FILE',
                    help='host-side suites in the same marker format '
                    '(repeatable; "style/..." suites count as one test each)')
    ap.add_argument('--allowed-skips', metavar='FILE',
                    help='allowlist of skipped tests (default: %s)' % default_allow)
    ap.add_argument('-v', '--verbose', action='store_true',
                    help="also print kunit.py's output")
    args = ap.parse_args()

    try:
        if args.allowed_skips:
            if not os.path.isfile(args.allowed_skips):
                raise UsageError('no allowlist at %s' % args.allowed_skips)
            allow = Allowlist(args.allowed_skips, args.allowed_skips)
        else:
            # A missing default file allows nothing.
            allow = Allowlist(default_allow if os.path.isfile(default_allow) else None,
                              'scripts/allowed-skips')
        runs = [('', args.console, args.tap, args.vm_status)]
        runs += [parse_run(spec) for spec in args.run]
        labels = [r[0] for r in runs]
        if len(set(labels)) != len(labels):
            raise UsageError('two runs with the same label')
    except UsageError as e:
        print('check-results.py: %s' % e, file=sys.stderr)
        return 2

    suites = []
    for path in args.host_tap:
        hs, _, _ = user_suites(read_lines(path), one_case_prefix=STYLE_PREFIX)
        suites += hs
    hits_by_run = []
    for label, console, tap, status in runs:
        rs, hits = check_run(label, console, tap, status, args.kunit_py,
                             args.verbose)
        suites += rs
        hits_by_run.append((console, hits))
    suites += expected_missing(suites, args.expect_kunit, args.expect_suite)

    for s in suites:
        s.judge(allow)
    _, failed = report(suites, hits_by_run, allow)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
