#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the RESULT lines a guest run printed into tables.

    report.py demo LOG          the main command's side-by-side table
    report.py bench LOG OUTDIR  full benchmark report: RESULTS tables as
                                Markdown and CSV, and gnuplot plots (PNG)

LOG is the guest's job output (build/logs/*/tap.log).  Every figure comes
from a RESULT line; nothing is filled in when a line is missing ("-").
"""

import csv
import os
import shutil
import statistics
import subprocess
import sys


def parse(path):
    rows = []
    with open(path, errors='replace') as f:
        for line in f:
            line = line.strip()
            if not line.startswith('RESULT '):
                continue
            row = {}
            for word in line.split()[1:]:
                if '=' in word:
                    k, v = word.split('=', 1)
                    row[k] = v
            rows.append(row)
    return rows


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def pick(rows, **want):
    return [r for r in rows if all(r.get(k) == str(v) for k, v in want.items())]


def first(rows, **want):
    got = pick(rows, **want)
    return got[0] if got else {}


def fmt(v, unit='', signed=False):
    v = num(v)
    if v is None:
        return '-'
    s = ('%+d' if signed else '%d') % round(v)
    return s + unit


def median_spread(values):
    vals = [v for v in (num(x) for x in values) if v is not None]
    if not vals:
        return None, None
    med = statistics.median(vals)
    spread = (max(vals) - min(vals)) / med * 100 if med else 0
    return med, spread


def table(headers, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]
    out = ['  '.join(str(h).ljust(w) for h, w in zip(headers, widths))]
    out.append('  '.join('-' * w for w in widths))
    for r in rows:
        out.append('  '.join(str(c).ljust(w) for c, w in zip(r, widths)))
    return '\n'.join(out)


def markdown(headers, rows):
    out = ['| ' + ' | '.join(headers) + ' |',
           '|' + '|'.join('---' for _ in headers) + '|']
    for r in rows:
        out.append('| ' + ' | '.join(str(c) for c in r) + ' |')
    return '\n'.join(out)


# ---------------------------------------------------------------------------

def longlived_table(rows, n_label=None):
    modes = [m for m in ('upstream', 'pool') if pick(rows, scenario='longlived', mode=m)]
    if not modes:
        return None, None
    res = {m: first(rows, scenario='longlived', mode=m) for m in modes}
    n = res[modes[0]].get('secrets', '?')
    lines = [
        ('2M mappings split into 4K (level2 splits)', 'l2_splits', '', False),
        ('1G mappings split into 2M (level3 splits)', 'l3_splits', '', False),
        ('DirectMap4k change while held', 'dm4k_kb', ' kB', True),
        ('DirectMap2M change while held', 'dm2m_kb', ' kB', True),
        ('DirectMap1G change while held', 'dm1g_kb', ' kB', True),
        ('2M blocks holding the secrets', 'blocks_2m', '', False),
        ('DirectMap4k change after freeing', 'freed_dm4k_kb', ' kB', True),
        ('seconds to create them', 'create_s', '', False),
    ]
    body = []
    for label, key, unit, signed in lines:
        row = [label]
        for m in modes:
            v = res[m].get(key)
            row.append(v if key == 'create_s' and v else fmt(v, unit, signed))
        body.append(row)
    if 'pool' in res:
        body.append(['pool fallbacks (pages served one by one)',
                     '', fmt(num(res['pool'].get('pool_during_fallback', 0)) -
                             num(res['pool'].get('pool_before_fallback', 0)))
                     if res['pool'].get('pool_during_fallback') else '-'])
        body.append(['pool regions while held', '',
                     fmt(res['pool'].get('pool_during_regions'))])
    title = '%s long-lived one-page secrets, %s KiB of kernel memory pinned after each' % (
        n, res[modes[0]].get('pin_kb', '?'))
    return title, (['', *modes], body)


def fault_table(rows):
    frows = pick(rows, scenario='fault')
    if not frows:
        return None, None, []
    threads = sorted({int(r['threads']) for r in frows})
    modes = [m for m in ('shmem', 'pool', 'upstream') if pick(frows, mode=m)]
    body, data = [], []
    for t in threads:
        base = {}
        for metric in ('fault_pps', 'free_pps', 'cycle_pps'):
            for m in modes:
                med, spread = median_spread(
                    [r.get(metric) for r in pick(frows, mode=m, threads=t)])
                base[(m, metric)] = (med, spread)
        for metric, label in (('fault_pps', 'fault'), ('free_pps', 'free'),
                              ('cycle_pps', 'fault+free')):
            row = [t, label]
            floor = base[('shmem', metric)][0] if 'shmem' in modes else None
            for m in modes:
                med, spread = base[(m, metric)]
                if med is None:
                    row.append('-')
                    continue
                cell = '%d ±%d%%' % (med, spread)
                if floor and m != 'shmem':
                    cell += ' (%.2fx)' % (floor / med)
                row.append(cell)
                data.append({'threads': t, 'metric': metric, 'mode': m,
                             'median_pps': round(med), 'spread_pct': round(spread, 1),
                             'time_vs_shmem': round(floor / med, 3) if floor else ''})
            body.append(row)
    reps = max(len(pick(frows, mode=modes[0], threads=t)) for t in threads)
    title = ('Fault and free throughput, pages/s (median of %d, ± spread; '
             '(Nx) = time per page relative to shmem)' % reps)
    return title, (['threads', 'phase', *modes], body), data


def demo(path):
    rows = parse(path)
    if not rows:
        print('no RESULT lines in %s: the guest job did not run' % path)
        return 1
    m = first(rows, scenario='machine')
    print('Guest: %s vCPUs, %s NUMA nodes, %s MiB, kernel %s' % (
        m.get('cpus', '?'), m.get('nodes', '?'),
        int(num(m.get('mem_kb', 0)) or 0) // 1024, m.get('kernel', '?')))
    print()
    title, t = longlived_table(rows)
    if t:
        print(title)
        print(table(*t))
        print()
    title, t, _ = fault_table(rows)
    if t:
        print(title)
        print(table(*t))
        print()
    leaks = pick(rows, scenario='leak')
    if leaks:
        print('Bytes of a closed secret seen by the next owner: ' + ', '.join(
            '%s %s' % (r.get('mode'), r.get('leaked_bytes')) for r in leaks))
    idle = first(rows, scenario='idle')
    if idle:
        print('Memory the pool holds idle: %s kB after everything closed, '
              '%s kB after the shrinker ran' % (idle.get('after_close_kb'),
                                                idle.get('after_shrinker_kb')))
    return 0


# ---------------------------------------------------------------------------

def bench(path, outdir):
    rows = parse(path)
    if not rows:
        print('no RESULT lines in %s' % path)
        return 1
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, 'results.csv'), 'w', newline='') as f:
        keys = sorted({k for r in rows for k in r})
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    print('wrote %s' % os.path.join(outdir, 'results.csv'))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == 'demo':
        return demo(argv[1])
    if len(argv) >= 3 and argv[0] == 'bench':
        return bench(argv[1], argv[2])
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
