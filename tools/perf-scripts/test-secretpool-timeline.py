#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Tests of secretpool-timeline.py on made-up traces whose answers are
known by hand, in the three text formats it reads (tracefs, perf script,
trace-cmd report) and in a benchmark log.  Prints one suite,
tools/secretpool-timeline, in the guest's marker format (for
scripts/check-results.py --host-tap)."""

import importlib.util
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, 'secretpool-timeline.py')
spec = importlib.util.spec_from_file_location('timeline', SCRIPT)
tl = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tl)

# Two regions grown (the second splitting a 1G entry), one released; three
# per-page unmaps: one splitting a 2M entry, one in a 2M range split
# already, one splitting a 1G entry down to 4K; a fallback; and events of
# the KUnit suite's private pool, which do not count.
EVENTS = [
    (1.0, 'secretpool_region_grow', 'pool=default nid=0 pfn=0x100000 pages=512 level_before=2M level_after=2M flag=0'),
    (1.5, 'secretpool_region_grow', 'pool=default nid=1 pfn=0x140000 pages=512 level_before=1G level_after=2M flag=1'),
    (1.6, 'secretpool_region_grow', 'pool=kunit nid=0 pfn=0x180000 pages=512 level_before=1G level_after=2M flag=0'),
    (2.0, 'secretpool_fallback', 'pool=default nid=0 reason=max_regions'),
    (2.1, 'secretmem_page_unmap', 'pfn=0x1234 nid=0 level_before=2M level_after=4K'),
    (2.2, 'secretmem_page_unmap', 'pfn=0x1235 nid=0 level_before=4K level_after=4K'),
    (2.3, 'secretmem_page_unmap', 'pfn=0x50000 nid=0 level_before=1G level_after=4K'),
    (3.0, 'secretpool_region_release', 'pool=default nid=0 pfn=0x100000 pages=512 level_before=2M level_after=2M flag=0'),
]


def tracefs(ts, ev, f):
    return '        sp-bench-231     [001] .....   %.6f: %s: %s' % (ts, ev, f)


def perf_script(ts, ev, f):
    system = ev.split('_')[0]
    return '        sp-bench   231 [001]   %.6f: %s:%s: %s' % (ts, system, ev, f)


def trace_cmd(ts, ev, f):
    return '        sp-bench-231   [001]  %.6f: %s:         %s' % (ts, ev, f)


n = 0
failed = 0


def check(ok, what, detail=''):
    global n, failed
    n += 1
    print('%s %d %s' % ('ok' if ok else 'not ok', n, what))
    if not ok:
        failed += 1
        for line in str(detail).splitlines():
            print('# ' + line)


def expect_counts(fmt, name):
    series = tl.parse([fmt(*e) for e in EVENTS])
    want = {'grow': 2, 'release': 1, 'block_add': 0, 'block_release': 0,
            'split_l2': 2, 'split_l3': 2, 'unmap': 3, 'packed': 1}
    got = series[0].counts if len(series) == 1 else None
    check(got == want, '%s: counts of grows, releases, splits, unmaps' % name,
          'got %s' % got)
    if got is None:
        return
    s = series[0]
    check((s.peak, s.held) == (1024, 512), '%s: peak and final pool memory' % name,
          'peak %d held %d' % (s.peak, s.held))
    check(s.reasons == {'max_regions': 1}, '%s: fallback reasons' % name, s.reasons)


print('# secretpool-suite: tools/secretpool-timeline')
print('TAP version 13')
expect_counts(tracefs, 'tracefs')
expect_counts(perf_script, 'perf script')
expect_counts(trace_cmd, 'trace-cmd report')

# A benchmark log: two modes, each a series.
log = ['# secretpool-suite: bench', 'RESULT scenario=churn mode=pool x=1']
log += ['TRACE memory=fresh mode=pool ' + tracefs(*e) for e in EVENTS[:2]]
log += ['TRACE memory=fresh mode=upstream ' + tracefs(*e) for e in EVENTS[4:7]]
series = tl.parse(log)
names = [s.name for s in series]
check(names == ['fresh/pool', 'fresh/upstream'], 'bench log: one series per mode', names)
if len(series) == 2:
    check(series[0].counts['grow'] == 2 and series[0].counts['unmap'] == 0,
          'bench log: the pool series has its grows only', series[0].counts)
    check(series[1].counts['split_l2'] == 2 and series[1].counts['grow'] == 0,
          'bench log: the upstream series has its splits only', series[1].counts)

# Bins: one grow a second for 10 s, then all released at once.
evs = [tracefs(float(t), 'secretpool_region_grow',
               'pool=default nid=0 pfn=0x%x pages=512 level_before=2M level_after=2M flag=0'
               % (0x1000 * t)) for t in range(10)]
evs += [tracefs(10.0, 'secretpool_region_release',
                'pool=default nid=0 pfn=0x%x pages=512 level_before=2M level_after=2M flag=0'
                % (0x1000 * t)) for t in range(10)]
b = tl.bins(tl.parse(evs)[0], 5)
check([r[2] for r in b] == [2, 2, 2, 2, 2], 'bins: grows spread evenly', b)
check([r[3] for r in b] == [0, 0, 0, 0, 10], 'bins: releases in the last bin', b)
check([r[6] for r in b] == [4, 8, 12, 16, 0], 'bins: MiB held at the end of each bin', b)

# A trace that begins with regions held: releases before any grow.
evs = [tracefs(1.0 + t, 'secretpool_region_release',
               'pool=default nid=0 pfn=0x%x pages=512 level_before=2M level_after=2M flag=0'
               % (0x1000 * t)) for t in range(3)]
s = tl.parse(evs)[0]
check((s.initial, s.held, s.peak) == (1536, 0, 1536),
      'held before the trace: inferred from the releases', (s.initial, s.held, s.peak))

# The command: text, CSV and SVG from a file; exit 1 without events.
with tempfile.TemporaryDirectory() as d:
    tr = os.path.join(d, 'trace')
    with open(tr, 'w') as f:
        f.write('\n'.join(tracefs(*e) for e in EVENTS) + '\n')
    r = subprocess.run([sys.executable, SCRIPT, '--bins', '4', '--csv',
                        os.path.join(d, 'b.csv'), '--svg', os.path.join(d, 't.svg'), tr],
                       capture_output=True, text=True)
    check(r.returncode == 0 and 'level 2 (2M to 4K) 2, level 3 (1G) 2' in r.stdout,
          'command: summary printed', r.stdout + r.stderr)
    rows = open(os.path.join(d, 'b.csv')).read().splitlines() if r.returncode == 0 else []
    check(len(rows) == 5 and rows[0].startswith('series,'), 'command: CSV of 4 bins', rows)
    svg = open(os.path.join(d, 't.svg')).read() if r.returncode == 0 else ''
    check(svg.startswith('<svg') and svg.count('stroke="red"') == 2,
          'command: SVG with a mark per level-2 split', svg[:200])
    empty = os.path.join(d, 'empty')
    open(empty, 'w').write('nothing here\n')
    r = subprocess.run([sys.executable, SCRIPT, empty], capture_output=True, text=True)
    check(r.returncode == 1 and 'no secretpool' in r.stderr, 'command: no events is an error',
          r.stderr)

print('1..%d' % n)
print('# secretpool-suite-exit: tools/secretpool-timeline %d' % (1 if failed else 0))
