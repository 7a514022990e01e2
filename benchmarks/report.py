#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the RESULT lines of guest benchmark runs into tables and plots.

    report.py demo [-p PLOTDIR] LOG...
        the main command's side-by-side tables, as text; with PLOTDIR also
        the plots (PNG, gnuplot)
    report.py tlb FILE...
        the tables of a tools/perf-scripts/tlb-impact.sh run on real
        hardware (its RESULT lines; benchmarks/tlb_hw.py), exit status 3
        when the PMU counted nothing
    report.py bench OUTDIR LOG...
        the full report: OUTDIR/RESULTS.md (provenance, Markdown tables,
        plots), OUTDIR/csv/*.csv (one file per table, numbers only, plus
        every RESULT line in results.csv) and OUTDIR/plots/*.png

LOG is a guest job's output (build/logs/*/tap.log), one per boot: each
kernel, mode and memory state boots on its own, so a column never inherits
another's direct map; or the TLB model's replay (tlbmodel.txt, TLBMODEL
lines).  Every figure comes from a RESULT or TLBMODEL line; where one is
missing the cell says "-".  Repeated figures are given as the median of n
with a 95% confidence interval of the mean (Student's t), as a percentage
of the median, rounded.
"""

import csv
import datetime
import hashlib
import importlib.util
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

# stock: the unpatched 6.1 kernel; upstream: ours with the pool off.
MODES = ('stock', 'upstream', 'pool', 'reserve')
# Modes with the pool on: "reserve" is the pool in a boot with
# secretpool.reserve= (1G blocks set aside at boot).
POOLED = ('pool', 'reserve')
MEMORIES = ('fresh', 'aged')


def parse(paths):
    """RESULT and TLBMODEL lines as dicts; "boot" names the log's boot
    (its directory), TLBMODEL rows get scenario=tlbmodel."""
    rows = []
    for path in paths:
        boot = os.path.basename(os.path.dirname(os.path.abspath(path)))
        with open(path, errors='replace') as f:
            for line in f:
                line = line.strip()
                if line.startswith('TLBMODEL '):
                    row = {'scenario': 'tlbmodel'}
                elif line.startswith('RESULT '):
                    row = {}
                else:
                    continue
                for word in line.split()[1:]:
                    if '=' in word:
                        k, v = word.split('=', 1)
                        row.setdefault(k, v)
                row.setdefault('boot', boot)
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


def fmt(v, unit='', signed=False, digits=0):
    v = num(v)
    if v is None:
        return '-'
    if digits:
        s = ('%+.*f' if signed else '%.*f') % (digits, v)
    else:
        s = ('%+d' if signed else '%d') % round(v)
    return s + unit


def diff(row, a, b):
    x, y = num(row.get(a)), num(row.get(b))
    return None if x is None or y is None else x - y


# Student's t, two-sided 95%, by degrees of freedom (then 1.96).
T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
       2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
       2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042)


def ci95(vals):
    """Half-width of the 95% confidence interval of the mean (None if n < 2)."""
    if len(vals) < 2:
        return None
    t = T95[len(vals) - 2] if len(vals) - 2 < len(T95) else 2.0
    return t * statistics.stdev(vals) / math.sqrt(len(vals))


def stats(values):
    """(n, median, 95% CI half-width as % of the median) of the numbers."""
    vals = [v for v in (num(x) for x in values) if v is not None]
    if not vals:
        return 0, None, None
    med = statistics.median(vals)
    half = ci95(vals)
    return len(vals), med, (half / abs(med) * 100 if half is not None and med else None)


def ci_text(ci):
    return '' if ci is None else ' ±%d%%' % round(ci)


class Table:
    """A titled table: text for the terminal, Markdown and CSV for files."""

    def __init__(self, name, title, headers, body, note=''):
        self.name, self.title, self.headers = name, title, headers
        self.body, self.note = body, note

    def text(self):
        cols = list(zip(self.headers, *self.body))
        widths = [max(len(str(x)) for x in col) for col in cols]
        out = [self.title]
        out.append('  '.join(str(h).ljust(w) for h, w in zip(self.headers, widths)).rstrip())
        out.append('  '.join('-' * w for w in widths))
        for r in self.body:
            out.append('  '.join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
        if self.note:
            out.append(self.note)
        return '\n'.join(out)

    def markdown(self):
        out = ['**' + self.title + '**', '',
               '| ' + ' | '.join(self.headers) + ' |',
               '|' + '|'.join('---' for _ in self.headers) + '|']
        for r in self.body:
            out.append('| ' + ' | '.join(str(c) for c in r) + ' |')
        if self.note:
            out += ['', self.note]
        return '\n'.join(out)

    def write_csv(self, path):
        """Numbers only, one line per cell: the row's label, the column, and
        the cell's value, CI (%), ratio and unit as separate fields."""
        with open(path, 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(['row', 'column', 'value', 'ci_pct', 'ratio', 'excess',
                        'excess_ci', 'excess_pct', 'unit', 'text'])
            nlabel = 2 if self.headers[:1] in (['threads'], ['core']) else 1
            for r in self.body:
                label = ' / '.join(str(c) for c in r[:nlabel])
                for h, c in zip(self.headers[nlabel:], r[nlabel:]):
                    w.writerow([label, h] + cell_numbers(str(c)))


CELL_RE = re.compile(r'^\s*([-+]?[0-9.]+)(?:\s*(kB|%|s))?'
                     r'(?:\s*±([0-9.]+)%)?'
                     r'(?:\s*\(([-+]?[0-9.]+)x\))?'
                     r'(?:\s*\(([-+][0-9.]+)(?:\s*±([0-9.]+))?(?:,\s*([-+][0-9.]+)%)?\))?\s*$')


def cell_numbers(text):
    """[value, ci_pct, ratio, excess, excess_ci, excess_pct, unit, text] of a
    table cell ("81465 ±4% (1.14x)", "0.0035 (+0.0004 ±0.0001, +13%)",
    "-96 kB"); empty fields where the cell has none; a cell that is no
    number keeps only its text."""
    m = CELL_RE.match(text)
    if not m:
        return ['', '', '', '', '', '', '', '' if text.strip() == '-' else text]
    value, unit, ci, ratio, excess, excess_ci, excess_pct = m.groups()
    return [value, ci or '', ratio or '', excess or '', excess_ci or '', excess_pct or '',
            unit or '', '']


# --------------------------------------------------------------------------
# The tables.

RESERVE_NOTE = (' "reserve" is the pool in a boot of its own with secretpool.reserve=1G '
                '(a 1G block per node set aside at boot; a larger guest, as the block '
                'needs a free 1G-aligned range on each node); its regions count the '
                "blocks' 512 each.")


def per_mode(rows, scenario, memory):
    """The first RESULT of @scenario per mode, and the modes that have one."""
    res = {m: first(rows, scenario=scenario, memory=memory, mode=m) for m in MODES}
    return res, [m for m in MODES if res[m]]


def t_longlived(rows, memory):
    res, modes = per_mode(rows, 'longlived', memory)
    if not modes:
        return None
    some = res[modes[0]]
    lines = (
        ('2M mappings split into 4K (level2 splits)', 'l2_splits', '', False),
        ('1G mappings split into 2M (level3 splits)', 'l3_splits', '', False),
        ('DirectMap4k change while held', 'dm4k_kb', ' kB', True),
        ('DirectMap2M change while held', 'dm2m_kb', ' kB', True),
        ('DirectMap1G change while held', 'dm1g_kb', ' kB', True),
        ('2M blocks holding the secrets', 'blocks_2m', '', False),
        ('DirectMap4k change after freeing (vs before)', 'freed_dm4k_kb', ' kB', True),
        ('seconds to create them', 'create_s', '', False),
    )
    body = []
    for label, key, unit, signed in lines:
        row = [label]
        for m in modes:
            v = res[m].get(key)
            row.append(fmt(v, digits=2) if key == 'create_s' else fmt(v, unit, signed))
        body.append(row)
    for label, value in (
            ('pool fallbacks (pages served one by one)',
             lambda p: fmt(diff(p, 'pool_during_fallback', 'pool_before_fallback'))),
            ('pool regions while held', lambda p: fmt(p.get('pool_during_regions'))),
            ('pool regions right after freeing (before shrinking)',
             lambda p: fmt(p.get('pool_after_regions')))):
        if any(m in POOLED for m in modes):
            body.append([label] + [value(res[m]) if m in POOLED else '-'
                                   for m in modes])
    title = ('Long-lived secrets, %s memory: %s one-page secrets, %s KiB of kernel '
             'memory pinned (a pipe) after each' % (memory, some.get('secrets', '?'),
                                                   some.get('pin_kb', '?')))
    note = ('A level-3 split with the pool is a pool region taken from memory the '
            'direct map still covered with a 1G page: that page becomes 512 2M '
            'entries once, one of them not present; nothing is split into 4K.'
            if any(m in POOLED for m in modes) else '')
    if len({res[m].get('boot') for m in modes}) > 1:
        note += ' Each column is a boot of its own.'
    if 'reserve' in modes:
        note += RESERVE_NOTE
    return Table('longlived-' + memory, title, ['', *modes], body, note)


def steps(rows, memory, mode):
    got = pick(rows, scenario='longlived_step', memory=memory, mode=mode)
    return sorted(got, key=lambda r: int(r['held']))


def t_steps(rows, memory):
    per = {m: {r['held']: r for r in steps(rows, memory, m)} for m in MODES}
    modes = [m for m in MODES if per[m]]
    if not modes:
        return None
    held = sorted({int(k) for m in modes for k in per[m]})
    headers = ['secrets held']
    for m in modes:
        headers += ['%s level2 splits' % m, '%s DirectMap4k' % m, '%s 2M blocks' % m]
    body = []
    for k in held:
        row = [k]
        for m in modes:
            r = per[m].get(str(k), {})
            row += [fmt(r.get('l2_splits')), fmt(r.get('dm4k_kb'), ' kB', True),
                    fmt(r.get('blocks_2m'))]
        body.append(row)
    return Table('steps-' + memory,
                 'Direct map against the number of long-lived secrets, %s memory' % memory,
                 headers, body)


def t_churn(rows, memory):
    res, modes = per_mode(rows, 'churn', memory)
    if not modes:
        return None
    some = res[modes[0]]
    body = []
    for label, key, unit, signed in (
            ('secrets opened and closed', 'files', '', False),
            ('pages faulted', 'pages', '', False),
            ('pages/s (all processes)', 'pps', '', False),
            ('2M mappings split (level2 splits)', 'l2_splits', '', False),
            ('1G mappings split (level3 splits)', 'l3_splits', '', False),
            ('DirectMap4k change', 'dm4k_kb', ' kB', True),
            ('processes that failed', 'failed', '', False)):
        body.append([label] + [fmt(res[m].get(key), unit, signed) for m in modes])
    idle = {m: first(rows, scenario='churn_idle', memory=memory, mode=m) for m in modes}
    if any(idle.values()):
        body.append(['pool memory held idle after the churn'] +
                    ['%s kB, %s kB after shrinking' % (idle[m].get('after_close_kb', '-'),
                                                      idle[m].get('after_shrink_kb', '-'))
                     if idle[m] else '-' for m in modes])
    title = ('Churn, %s memory: %s processes, %s s each mode, up to 8 secrets of '
             '1-64 pages held per process' % (memory, some.get('procs', '?'),
                                              some.get('seconds', '?')))
    note = ('Split counts are new splits only: upstream already split the direct map '
            'in the long-lived scenario of the same boot.')
    if 'reserve' in modes:
        note += RESERVE_NOTE
    return Table('churn-' + memory, title, ['', *modes], body, note)


FAULT_METRICS = (('fault_pps', 'fault'), ('free_pps', 'free (close)'),
                 ('cycle_pps', 'fault+free'),
                 ('cycle_all_pps', 'fault+free+zeroing'),
                 ('cpu_pps', 'per CPU-second, all CPUs'))


def fault_stats(rows, memory):
    frows = pick(rows, scenario='fault', memory=memory)
    threads = sorted({int(r['threads']) for r in frows})
    modes = [m for m in ('shmem',) + MODES if pick(frows, mode=m)]
    res = {}
    for t in threads:
        for m in modes:
            mine = pick(frows, mode=m, threads=t)
            boots = {r['boot'] for r in mine}
            # The floor of the same boot(s): shmem ran beside each mode.
            floor = [r for r in pick(frows, mode='shmem', threads=t) if r['boot'] in boots]
            for metric, _ in FAULT_METRICS:
                res[(t, m, metric)] = stats([r.get(metric) for r in mine])
                res[(t, m, metric, 'floor')] = stats([r.get(metric) for r in floor])[1]
    return threads, modes, res


def t_fault(rows, memory):
    threads, modes, res = fault_stats(rows, memory)
    if not threads:
        return None
    for t in threads:
        for metric, _ in FAULT_METRICS:
            key = (t, 'reserve', metric, 'floor')
            if 'reserve' in modes and res.get(key) is None:
                res[key] = res.get((t, 'shmem', metric), (0, None, None))[1]
    body = []
    reps = nshmem = 0
    for t in threads:
        for metric, label in FAULT_METRICS:
            row = [t, label]
            for m in modes:
                n, med, ci = res[(t, m, metric)]
                if m == 'shmem':
                    nshmem = max(nshmem, n)
                else:
                    reps = max(reps, n)
                if med is None:
                    row.append('-')
                    continue
                cell = '%d%s' % (med, ci_text(ci))
                floor = res[(t, m, metric, 'floor')]
                if floor and m != 'shmem' and med:
                    cell += ' (%.2fx)' % (floor / med)
                row.append(cell)
            body.append(row)
    title = ('Fault and free throughput, %s memory, pages/s (median of %d runs per mode, '
             'shmem %d over all boots; ± is the 95%% confidence interval of the mean; (Nx) = '
             'time per page relative to shmem in the same boot, the floor)'
             % (memory, reps, nshmem))
    note = ('Each thread creates a 256-page file, maps it, writes every page (fault), '
            'unmaps and closes it (free).  The pool zeroes freed pages later, in its '
            'worker: "free (close)" stops at close(); "fault+free+zeroing" is wall time '
            'until no freed page is left pending (drain_s after the run), the fair '
            'figure against shmem, which zeroes at fault time; "per CPU-second" divides '
            'by the busy time of every CPU (the worker\'s included, /proc/stat).  '
            'The modes ran in boots of their own, each beside its shmem floor, in '
            'alternating order.  Under TCG the per-page path\'s TLB shootdown is an '
            'emulated IPI and a software-TLB flush: its cost here is neither a lower '
            'nor an upper bound for hardware.')
    if 'reserve' in modes:
        note += (' "reserve" ran in a boot of its own (secretpool.reserve=1G) without a '
                 'shmem floor; its ratio is to the other boots\' floor.')
    return Table('throughput-' + memory, title, ['threads', 'phase', *modes], body, note)


def t_kwork(rows, memory):
    """The kernel-heavy workloads, with the secrets held and after."""
    krows = [r for r in pick(rows, scenario='kwork', memory=memory) if 'phase' in r]
    modes = [m for m in MODES if pick(krows, mode=m)]
    if not modes:
        return None
    works = [w for w in ('msg', 'sock', 'meta', 'tcp') if pick(krows, work=w)]
    body, reps = [], 0
    for w in works:
        for ph in ('held', 'after'):
            row = ['%s, %s' % (w, 'secrets held' if ph == 'held' else 'after freeing')]
            ref = stats([r.get('ops_s') for r in pick(krows, mode=modes[0], work=w,
                                                         phase=ph)])[1]
            for m in modes:
                n, med, ci = stats([r.get('ops_s') for r in pick(krows, mode=m, work=w,
                                                                    phase=ph)])
                reps = max(reps, n)
                cell = '-' if med is None else '%d%s' % (med, ci_text(ci))
                if med and ref and m != modes[0]:
                    cell += ' (%.2fx)' % (med / ref)
                row.append(cell)
            body.append(row)
    some = first(rows, scenario='longlived_kwork', memory=memory)
    title = ('Kernel-heavy workloads, %s memory, operations/s (median of %d, ± 95%% CI; '
             '(Nx) = throughput relative to %s)' % (memory, reps, modes[0]))
    note = ('sp-bench kwork, runs of about %s s (rates use the measured time): msg and sock are hackbench\'s shape (4 groups '
            'of 10 senders and 10 receivers, 100-byte messages through pipes / unix '
            'stream sockets), meta creates, stats, renames and unlinks 5000 files on tmpfs '
            '(dentries and inodes in slab), tcp is 10 loopback clients connecting, making 16 '
            '64-byte requests and closing; with %s long-lived secrets held, then after '
            'they were freed (per-page splits stay).  TCG cannot show what a split direct '
            'map costs these (its software TLB is 4K whatever the guest maps): see the TLB '
            'model below for that.' % (fmt(first(krows).get('secs'), digits=1),
                                        some.get('secrets', '?')))
    return Table('kwork-' + memory, title, ['workload', *modes], body, note)


def tlb_pairs(rows, key, **want):
    """{segment: (own layout's figure, boot layout's)} of the TLBMODEL rows
    matching @want, for the segments that have both."""
    def fig(layout):
        return {r['seg']: num(r.get(key)) for r in rows if r.get('layout') == layout
                and all(r.get(k) == v for k, v in want.items())}
    own, boot = fig('own'), fig('boot')
    return {k: (own[k], boot[k]) for k in own
            if k in boot and own[k] is not None and boot[k] is not None}


def tlb_rel(pairs):
    """The excess in % of the boot figure, for the pairs whose boot figure is not 0."""
    return [100.0 * (o - b) / b for o, b in pairs.values() if b]


def tlb_excess(rows, mode, work, phase, core, key):
    """Per trace segment, the own layout's figure and the boot layout's
    (the same trace); returns n, the medians, the median difference, the
    95% CI of the mean difference (paired), and the median excess in %
    over the segments whose boot figure is not 0 (None if none)."""
    pairs = tlb_pairs(rows, key, mode=mode, work=work, phase=phase, core=core)
    if not pairs:
        return None
    d = [o - b for o, b in pairs.values()]
    rel = tlb_rel(pairs)
    return (len(pairs), statistics.median([o for o, _ in pairs.values()]),
            statistics.median([b for _, b in pairs.values()]), statistics.median(d), ci95(d),
            statistics.median(rel) if rel else None)


def t_tlbmodel(rows, memory, key='walks_pka'):
    trows = pick(rows, scenario='tlbmodel', memory=memory)
    if not trows:
        return None
    modes = [m for m in MODES if pick(trows, mode=m)]
    cores = []
    for r in trows:
        if r['core'] not in cores:
            cores.append(r['core'])
    body, n = [], 0
    for core in cores:
        for w in ('msg', 'sock', 'meta', 'tcp'):
            for ph in ('held', 'after'):
                row = [core, '%s, %s' % (w, 'held' if ph == 'held' else 'after freeing')]
                for m in modes:
                    e = tlb_excess(trows, m, w, ph, core, key)
                    if not e:
                        row.append('-')
                        continue
                    n = max(n, e[0])
                    cell = '%.4f (%+.4f' % (e[1], e[3])
                    if e[4] is not None:
                        cell += ' ±%.4f' % e[4]
                    cell += ', %+.0f%%)' % e[5] if e[5] is not None else ')'
                    row.append(cell)
                body.append(row)
    what = {'walks_pka': 'page walks', 'l1_mpka': 'L1 dTLB misses',
            'warm_walks_pka': 'page walks', 'warm_l1_mpka': 'L1 dTLB misses'}[key]
    state = ('steady state (after the first 20% of each trace warmed the TLBs)'
             if key.startswith('warm_') else 'TLBs empty at the start of each trace')
    title = ('TLB model, %s memory: %s per 1,000 direct-map accesses, %s; in brackets the '
             'excess over the same trace replayed on the boot\'s layout: per 1,000 accesses '
             '(median of %d traces, ± 95%% CI of the mean difference, paired) and in %% of '
             'the boot layout\'s figure' % (memory, what, state, n))
    note = ('tools/perf-scripts/tlbmodel: the QEMU plugin dmtrace.so records the guest '
            'kernel\'s data accesses (user space and other kernel memory too, as they '
            'compete for entries) while the kernel-heavy workloads run, one trace per run; '
            'tlbsim replays each through the core\'s documented dTLB geometry '
            '(geometries.txt, with sources) against the direct-map layout of that moment '
            '(the page-table dump) and, as the what-if, against the layout the same boot '
            'had before any secret existed.  Limits: no page-walk caches, no prefetch, no '
            'TLB flushes, LRU replacement, user pages taken as 4K (see the README).')
    return Table('tlbmodel-%s-%s' % (memory, key.replace('_pka', '').replace('_mpka', '')),
                 title, ['core', 'workload', *modes], body, note)


def t_memtype(rows, memory):
    """Uncached against exclusive secrets and shmem (scenario=memtype)."""
    mrows = pick(rows, scenario='memtype', memory=memory)
    if not mrows:
        return None
    kinds = [k for k in ('shmem', 'mfd', 'uncached') if pick(mrows, mode=k)]
    names = {'shmem': 'shmem', 'mfd': 'exclusive', 'uncached': 'uncached'}
    body = []
    reps = 0
    for metric, label in (('fault_pps', 'fault, pages/s'), ('free_pps', 'free, pages/s'),
                          ('access_mbs', 'access, MB/s'), ('atomic_mops', 'atomics, M/s')):
        row = [label]
        for k in kinds:
            vals = [r.get(metric) for r in pick(mrows, mode=k)]
            reps = max(reps, len(vals))
            _, med, ci = stats(vals)
            row.append('-' if med is None else
                       ('%.1f%s' % (med, ci_text(ci)) if med < 100 else '%d%s' % (med, ci_text(ci))))
        body.append(row)
    title = ('Memory types, %s memory: an uncached secret against an exclusive one and '
             'shmem, 1 thread (median of %d, ± 95%% CI of the mean)' % (memory, reps))
    note = ('Files of 64 pages: fault every page, 4 passes of 8-byte writes and reads '
            'over every 64-byte line, 200,000 atomic additions to one word, close.  '
            '"exclusive" and "uncached" are memfd_create(MFD_SECRET) files in those '
            'modes.  QEMU TCG does not model memory types: here uncached costs nothing, '
            'which on hardware is far from true.  On a real machine: '
            'sp-bench fault -m uncached -t 1 -s 5 -P 64 -a 4 -A 200000 (and -m mfd, '
            '-m shmem) as root, on the pool kernel booted with secretmem.enable=1.')
    return Table('memtype-' + memory, title, ['', *[names[k] for k in kinds]], body, note)


def t_fio(rows, memory):
    frows = pick(rows, scenario='fio', memory=memory)
    if not frows:
        return None
    boots = []
    for r in frows:
        if r['boot'] not in boots:
            boots.append(r['boot'])
    # One row per stage of each boot; the boot's mode names it when each
    # column had a boot of its own.
    mode_of = {b: first(rows, scenario='machine', boot=b).get('modes', b) for b in boots}
    stages, jobs = [], []
    for r in frows:
        key = (r['boot'], r['stage'])
        if key not in stages:
            stages.append(key)
        if r['job'] not in jobs:
            jobs.append(r['job'])
    body = []
    for b, st in stages:
        row = ['%s (%s)' % (st, mode_of[b]) if len(boots) > 1 else st]
        for j in jobs:
            r = first(frows, boot=b, stage=st, job=j)
            kibs = (num(r.get('read_kibs')) or 0) + (num(r.get('write_kibs')) or 0)
            row.append(fmt(kibs / 1024) if r else '-')
        body.append(row)
    note = ('fio throughput in MiB/s (benchmarks/fio/directmap-traffic.fio, buffered '
            'I/O on tmpfs) after each scenario.  Under QEMU TCG these figures cannot '
            'show the TLB cost of a split direct map: TCG translates guest memory '
            'accesses through its own software TLB, in 4K entries whatever the guest '
            'page size, and there is no PMU to count dTLB misses.  On real hardware '
            'run tools/perf-scripts/tlb-impact.sh.')
    return Table('fio-' + memory, 'fio after each scenario, %s memory, MiB/s' % memory,
                 ['after', *jobs], body, note)


def t_misc(rows, memory):
    body = []
    age = first(rows, scenario='age', memory=memory)
    if age:
        pernode = sorted((int(k[len('free_2m_blocks_kb_node'):]), v)
                         for k, v in age.items()
                         if k.startswith('free_2m_blocks_kb_node'))
        body.append(['free memory before the scenarios',
                     '%s kB, %s kB of it in free 2M blocks%s' % (
                         fmt(age.get('free_kb')), fmt(age.get('free_2m_blocks_kb')),
                         ' (%s)' % ', '.join('node %d: %s kB' % (n, fmt(v))
                                             for n, v in pernode)
                         if pernode else '')])
        if num(age.get('percent')) or num(age.get('pipes')):
            body.append(['aging (sp-bench age -P %s -U %s -S 16)' % (
                age.get('percent'), age.get('pipes')),
                '%s pipe pages kept (unmovable, one in 16 freed), %s kB of page cache '
                'kept (every other page freed), aged node by node, %s s' % (
                    age.get('pipes_kept', '-'), age.get('kept_kb'), age.get('seconds'))])
    for r in pick(rows, scenario='leak', memory=memory):
        body.append(['bytes of a closed secret seen by the next owner (%s)' % r.get('mode'),
                     r.get('leaked_bytes', '-')])
    for pin in pick(rows, scenario='pin', memory=memory):
        body.append(['worst-case pinning (%s): %s one-page secrets, each taken after '
                     'a filler\'s %s pages, filler closed' % (
                         pin.get('mode', 'pool'), pin.get('pinned_pages'),
                         int(num(pin.get('filler_pages')) or 0) //
                         max(1, int(num(pin.get('pinned_pages')) or 1))),
                     '%s regions held (%s sparse), %s kB idle in them' % (
                         fmt(pin.get('regions_after')), fmt(pin.get('sparse_after')),
                         fmt(pin.get('idle_kb_after')))])
    for idle in pick(rows, scenario='idle', memory=memory):
        body.append(['memory the pool holds idle (%s)' % idle.get('mode', 'pool'),
                     '%s kB after everything closed, %s kB after the shrinker ran' % (
                         idle.get('after_close_kb', '-'), idle.get('after_shrinker_kb', '-'))])
    if not body:
        return None
    return Table('other-' + memory, 'Other figures, %s memory' % memory,
                 ['figure', 'value'], body)


def tables(rows):
    out = []
    for memory in MEMORIES:
        for fn in (t_misc, t_longlived, t_steps, t_churn, t_fault, t_kwork,
                   lambda r, m: t_tlbmodel(r, m, 'walks_pka'),
                   lambda r, m: t_tlbmodel(r, m, 'l1_mpka'),
                   lambda r, m: t_tlbmodel(r, m, 'warm_walks_pka'),
                   t_memtype, t_fio):
            t = fn(rows, memory)
            if t:
                out.append(t)
    return out


# --------------------------------------------------------------------------
# Plots (gnuplot, PNG).

def plots(rows, outdir):
    """Write the plots into outdir; return their file names."""
    if not shutil.which('gnuplot'):
        print('report.py: gnuplot not found; no plots (apt-get install gnuplot-nox)')
        return []
    os.makedirs(outdir, exist_ok=True)
    made, script = [], ['set terminal pngcairo size 900,560 font "sans,11"',
                        'set grid', 'set key top left']
    series = []
    for memory in MEMORIES:
        for m in MODES:
            st = steps(rows, memory, m)
            if not st:
                continue
            dat = os.path.join(outdir, 'steps-%s-%s.dat' % (memory, m))
            with open(dat, 'w') as f:
                f.write('# held l2_splits dm4k_mib blocks_2m\n')
                for r in st:
                    f.write('%s %s %.1f %s\n' % (r['held'], r.get('l2_splits', 0),
                                                  (num(r.get('dm4k_kb')) or 0) / 1024,
                                                  r.get('blocks_2m', 0)))
            series.append((dat, '%s, %s memory' % (m, memory)))
    if series:
        for name, col, ylabel, title in (
                ('splits.png', 2, '2M direct-map mappings split into 4K',
                 'Direct-map level-2 splits against long-lived secrets'),
                ('directmap-4k.png', 3, 'direct map mapped with 4K pages (MiB, change)',
                 '4K-mapped direct map against long-lived secrets')):
            script += ['set output "%s"' % os.path.join(outdir, name),
                       'set title "%s"' % title, 'set xlabel "secrets held"',
                       'set ylabel "%s"' % ylabel, 'set logscale x', 'unset logscale y',
                       'plot ' + ', '.join('"%s" using 1:%d with linespoints lw 2 title "%s"'
                                           % (d, col, t) for d, t in series)]
            made.append(name)
    for memory in MEMORIES:
        threads, modes, res = fault_stats(rows, memory)
        if not threads:
            continue
        dat = os.path.join(outdir, 'throughput-%s.dat' % memory)
        with open(dat, 'w') as f:
            f.write('# threads ' + ' '.join(modes) + ' (fault pages/s, median)\n')
            for t in threads:
                f.write('%d %s\n' % (t, ' '.join(
                    '%.0f' % (res[(t, m, 'fault_pps')][1] or 0) for m in modes)))
        name = 'throughput-%s.png' % memory
        script += ['set output "%s"' % os.path.join(outdir, name),
                   'set title "Secret page faults against threads (%s memory)"' % memory,
                   'set xlabel "threads"', 'set ylabel "pages/s"', 'unset logscale x',
                   'set xtics 1', 'set yrange [0:*]',
                   'plot ' + ', '.join('"%s" using 1:%d with linespoints lw 2 title "%s"'
                                       % (dat, i + 2, m) for i, m in enumerate(modes)),
                   'unset xtics', 'set xtics', 'set autoscale y']
        made.append(name)
    gp = os.path.join(outdir, 'plots.gp')
    with open(gp, 'w') as f:
        f.write('\n'.join(script) + '\n')
    r = subprocess.run(['gnuplot', gp], capture_output=True, text=True)
    if r.returncode:
        print('report.py: gnuplot failed:\n' + r.stderr)
        return []
    return made


# --------------------------------------------------------------------------

def tlb_block(paths):
    """What tlb-impact.sh printed in the guest (between its markers)."""
    out = []
    for path in paths:
        keep = False
        with open(path, errors='replace') as f:
            for line in f:
                if line.startswith('# tlb-impact.sh'):
                    keep = True
                    continue
                if keep and (line.startswith('# secretpool-') or not line.startswith('#')):
                    keep = False
                if keep:
                    out.append(line[2:].rstrip())
    return out


def t_targets(rows):
    """The issue's figures to reach, read off the same rows as the tables:
    the pool's fault+free+zeroing against shmem, and the TLB model's pool
    and stock layouts against the boot layout."""
    body = []
    for memory in MEMORIES:
        threads, modes, res = fault_stats(rows, memory)
        for t in threads:
            for m in ('pool', 'stock'):
                if m not in modes:
                    continue
                n, med, ci = res[(t, m, 'cycle_all_pps')]
                floor = res[(t, m, 'cycle_all_pps', 'floor')]
                if not med or not floor:
                    continue
                ratio = floor / med
                body.append(['%s fault+free+zeroing vs shmem, %d thread%s, %s memory'
                             % (m, t, 's' if t > 1 else '', memory),
                             '%.2fx (n=%d, ±%d%%)' % (ratio, n, round(ci or 0)),
                             'within 1.15x' if m == 'pool' else 'reported',
                             ('yes' if ratio <= 1.15 else 'no') if m == 'pool' else '-'])
        trows = pick(rows, scenario='tlbmodel', memory=memory)
        cores = sorted({r['core'] for r in trows})
        for core in cores:
            for key, state in (('warm_walks_pka', 'steady state'), ('walks_pka', 'empty TLBs')):
                for m in ('pool', 'reserve', 'stock'):
                    worst = None
                    for w in ('msg', 'sock', 'meta', 'tcp'):
                        for ph in ('held', 'after'):
                            e = tlb_excess(trows, m, w, ph, core, key)
                            if e and e[5] is not None:
                                worst = e[5] if worst is None else max(worst, e[5])
                    pairs = tlb_pairs(trows, key, mode=m, core=core)
                    if not pairs:
                        continue
                    rel = tlb_rel(pairs)
                    # Traces without a walk on the boot layout have no
                    # excess in %: said, not dropped silently.
                    zero = [o for o, b in pairs.values() if not b]
                    busy = sum(1 for o in zero if o)
                    left = ''
                    if zero:
                        left = '; %d trace%s without walks on the boot layout left out (%d with walks on this one)' % (
                            len(zero), '' if len(zero) == 1 else 's', busy)
                    if rel:
                        half = ci95(rel)
                        cell = 'median %+.1f%% over %d traces (mean %+.1f%% ±%.1f), worst workload %+.1f%%%s' % (
                            statistics.median(rel), len(rel), statistics.mean(rel), half or 0,
                            worst if worst is not None else float('nan'), left)
                        met = statistics.median(rel) <= 2
                    else:
                        cell = ('no walks on either layout in %d traces' % len(zero) if not busy else
                                'no walks on the boot layout; walks on this one in %d of %d traces'
                                % (busy, len(zero)))
                        met = not busy
                    body.append(['%s layout: modelled walks vs the boot layout, %s, %s, %s memory'
                                 % (m, core, state, memory), cell,
                                 'within 2%' if m in POOLED else 'reported',
                                 ('yes' if met else 'no') if m in POOLED else '-'])
    if not body:
        return None
    return Table('targets', 'Figures to reach (issue 11), read off the tables below',
                 ['figure', 'measured', 'target', 'met'], body,
                 'The pool\'s layout differs from the boot layout by its regions, which are '
                 'not present, and by any 1G page its regions split into 2M entries.  In the '
                 '4 GiB guest node 0 lies below the PCI hole and is mapped with 2M pages, node 1 '
                 'with two 1G pages; with secretpool.keep_1g (the default) the pool serves '
                 'default-policy faults on node 1\'s CPU from node 0 rather than split one of '
                 'them (the longlived rows\' level-3 splits say whether it did).  The per-page '
                 'path\'s 4K splits are what makes the stock and upstream layouts cost more.  '
                 'The reserve layout (8 GiB, secretpool.reserve=1G, fresh memory) '
                 'serves the secrets from 1G blocks that left the direct map at boot as whole '
                 '1G entries, before the boot layout was taken: it splits nothing, and the '
                 'kernel does not reach into those blocks through the direct map (no access '
                 'to an unmapped address in its traces).  Its geometry is not the 4 GiB '
                 'columns\': there the workloads\' kernel memory lies under 1G pages, with a '
                 'handful of walks per trace, so its figure says what the reservation costs, '
                 'not how 2M regions would do in that boot.')


def tlb_hw_tables(paths):
    """Tables of tools/perf-scripts/tlb-impact.sh's RESULT lines in these
    files (a guest log's "# " prefixed block, or a bare-metal run's output),
    through benchmarks/tlb_hw.py; and whether the PMU counted anything."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location('tlb_hw', os.path.join(here, 'tlb_hw.py'))
    hw = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hw)
    lines = []
    for path in paths:
        with open(path, errors='replace') as f:
            lines += [l for l in f if 'scenario=tlb_hw' in l]
    if not lines:
        return [], None
    counted = None
    for l in lines:
        if 'scenario=tlb_hw_status' in l:
            counted = ' counted=1' in l
    out = []
    for i, (title, headers, rows) in enumerate(hw.tables(lines)):
        body = [['-' if c is None else
                 (int(c) if isinstance(c, float) and c.is_integer() else
                  ('%.2f' % c if isinstance(c, float) else c)) for c in r] for r in rows]
        out.append(Table('tlb-hw-%d' % i, title, [str(h) for h in headers], body))
    return out, counted


def timeline(paths, plotdir=None):
    """The churn scenario's trace (TRACE lines) through
    tools/perf-scripts/secretpool-timeline.py: its summary lines, and the
    SVG files written into plotdir (one per log)."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = os.path.join(here, '..', 'tools', 'perf-scripts', 'secretpool-timeline.py')
    spec = importlib.util.spec_from_file_location('secretpool_timeline', script)
    tl = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tl)
    text, made = [], []
    for path in paths:
        with open(path, errors='replace') as f:
            lines = [l for l in f if l.startswith('TRACE ')]
        series = tl.parse(lines)
        if not series:
            continue
        for ser in series:
            text += tl.summary(ser)
        if plotdir:
            name = 'timeline-%s.svg' % series[0].name.split('/')[0]
            os.makedirs(plotdir, exist_ok=True)
            tl.svg(series, os.path.join(plotdir, name))
            made.append(name)
    return text, made


def machine_line(rows):
    m = first(rows, scenario='machine')
    kernels = []
    for r in pick(rows, scenario='machine'):
        if r.get('kernel') not in kernels:
            kernels.append(r.get('kernel'))
    return ('guest: %s vCPUs, %s NUMA nodes, %s MiB, kernel%s %s' % (
        m.get('cpus', '?'), m.get('nodes', '?'),
        int(num(m.get('mem_kb', 0)) or 0) // 1024, 's' if len(kernels) > 1 else '',
        ', '.join(k or '?' for k in kernels)))


def demo(paths, plotdir=None):
    rows = parse(paths)
    if not rows:
        print('no RESULT lines in %s: the guest jobs did not run' % ' '.join(paths))
        return 1
    print(machine_line(rows))
    for t in tables(rows):
        print()
        print(t.text())
    text, _ = timeline(paths)
    if text:
        print()
        print('churn traced (secretpool:* events, tools/perf-scripts/secretpool-timeline.py):')
        print('\n'.join(text))
    if plotdir:
        made = plots(rows, plotdir)
        made += timeline(paths, plotdir)[1]
        if made:
            print()
            print('plots: ' + ', '.join(os.path.join(plotdir, p) for p in made))
    return 0


def run_out(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return r.stdout.strip() if r.returncode == 0 else ''
    except (OSError, subprocess.SubprocessError):
        return ''


def provenance(rows, command, paths):
    """Where the figures come from: commit, configs, QEMU, host, date."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    commit = run_out(['git', '-C', root, 'rev-parse', '--short=12', 'HEAD']) or '?'
    # Code changes only: the report's own outputs do not count.
    dirty = run_out(['git', '-C', root, 'status', '--porcelain', '--untracked-files=no', '--',
                     '.', ':!benchmarks/RESULTS.md', ':!benchmarks/csv', ':!benchmarks/plots',
                     ':!benchmarks/raw'])
    cpu = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    out = ['## Provenance', '',
           '- command: `%s`' % command,
           '- date: the run ended %s (its newest log); this report written %s' % (
               datetime.datetime.fromtimestamp(
                   max(os.path.getmtime(p) for p in paths),
                   datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
               datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')),
           '- commit (of the report): %s%s' % (commit, ' (with uncommitted changes)' if dirty else ''),
           '- host: %s, %d CPUs; %s' % (cpu, os.cpu_count() or 0,
                                       run_out(['qemu-system-x86_64', '--version']).split('\n')[0]
                                       or 'qemu-system-x86_64 ?')]
    kernels = sorted({(r.get('kernel'), r.get('boot')) for r in rows
                      if r.get('scenario') == 'machine'})
    for flavour in ('bench', 'stock'):
        cfg = os.path.join(root, 'build', 'obj-' + flavour, '.config')
        if os.path.exists(cfg):
            with open(cfg, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()[:16]
            frags = {'bench': 'base + secretpool + trace', 'stock': 'base + trace + stock'}
            src = os.path.join(root, 'build', 'obj-' + flavour, '.secretpool-source')
            built = ''
            if os.path.exists(src):
                with open(src) as f:
                    built = '; built at our commit %s' % f.read().strip()
                if flavour == 'stock':
                    built += ' (the tarball unpatched)'
            out.append('- kernel config `%s` (kconfig/ %s): build/obj-%s/.config, sha256 %s%s'
                       % (flavour, frags[flavour], flavour, digest, built))
    if kernels:
        out.append('- boots: ' + ', '.join('%s (%s)' % (b, k) for k, b in kernels))
    traced = sorted({r['boot'] for r in rows if r.get('scenario') == 'tlbmodel'})
    if traced:
        out.append('- the TLB model\'s traced boots (QEMU plugin dmtrace.so, `nokaslr`): '
                   + ', '.join(traced))
    out += ['- raw data: [raw/](raw/) holds every RESULT, TRACE and TLBMODEL line of each '
            'boot and its kernel command line; [csv/](csv/) the tables as numbers', '']
    return out


def bench(outdir, paths, command):
    rows = parse(paths)
    if not rows:
        print('no RESULT lines in %s' % ' '.join(paths))
        return 1
    csvdir = os.path.join(outdir, 'csv')
    os.makedirs(csvdir, exist_ok=True)
    with open(os.path.join(csvdir, 'results.csv'), 'w', newline='') as f:
        keys = sorted({k for r in rows for k in r})
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)
    tabs = tables(rows)
    for t in tabs:
        t.write_csv(os.path.join(csvdir, t.name + '.csv'))
    made = plots(rows, os.path.join(outdir, 'plots'))
    md = ['# secretpool benchmark results', '',
          'Generated by `benchmarks/report.py` from the guest logs of `%s`; '
          'every figure below comes from a RESULT or TLBMODEL line of those runs '
          '(all of them in [csv/results.csv](csv/results.csv)).' % command, '',
          '- ' + machine_line(rows),
          '- guest: QEMU TCG (`-cpu max`), no hardware PMU',
          '- columns: **stock** is the unpatched Debian 6.1 kernel built from the same '
          'tarball with the same configuration minus the pool; **upstream** is ours with '
          'the pool off (the per-page path); **pool** ours with the pool on; **reserve** '
          'the pool in an 8 GiB boot with `secretpool.reserve=1G`; shmem is a plain '
          '`memfd_create()` file, the floor',
          '- every column ran in a boot of its own (per memory state: fresh, then aged '
          'with the boot order reversed), so no column inherits another\'s direct map', '']
    md += provenance(rows, command, paths)
    tgt = t_targets(rows)
    if tgt:
        tgt.write_csv(os.path.join(csvdir, 'targets.csv'))
        md += [tgt.markdown(), '']
    for t in tabs:
        md += [t.markdown(), '']
    tlb = [l for l in tlb_block(paths) if not l.startswith('RESULT ')]
    if tlb:
        md += ['**tools/perf-scripts/tlb-impact.sh in the guest (fresh boot)**', '',
               '```'] + tlb + ['```', '']
    hw, counted = tlb_hw_tables(paths)
    for t in hw:
        t.write_csv(os.path.join(csvdir, t.name + '.csv'))
        md += [t.markdown(), '']
    if counted is False:
        md += ['(tlb-impact.sh exited 3 there: this PMU counted none of the dTLB events; '
               'the TLB model above stands in for it.)', '']
    plotdir = os.path.join(outdir, 'plots')
    text, svgs = timeline(paths, plotdir)
    if text:
        md += ['**The churn scenario, traced** (tracepoints secretpool:* and '
               'secretmem:secretmem_page_unmap, read by '
               '`tools/perf-scripts/secretpool-timeline.py`; splits are those of '
               'secret memory; pictures: plots/timeline-*.svg)', '',
               '```'] + text + ['```', '']
        made += svgs
    if os.path.isdir(plotdir):
        made += sorted(p for p in os.listdir(plotdir)
                       if p.startswith('directmap-') and p.endswith('.png') and p not in made)
    if made:
        md += ['## Plots', '',
               'Pictures named directmap-*: the direct map while the secrets were held '
               '(aged memory), one cell per 2M: red is a 2M mapping split into 4K pages, '
               'blue a pool region removed whole (tools/perf-scripts/directmap-inspect.py).',
               '']
        md += ['![%s](plots/%s)' % (p, p) for p in made]
        md.append('')
    with open(os.path.join(outdir, 'RESULTS.md'), 'w') as f:
        f.write('\n'.join(md))
    print('wrote %s, %d tables in %s, %d plots' % (os.path.join(outdir, 'RESULTS.md'),
                                                   len(tabs) + 1, csvdir, len(made)))
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == 'demo':
        plotdir = None
        logs = argv[1:]
        if logs[0] == '-p' and len(logs) >= 3:
            plotdir, logs = logs[1], logs[2:]
        return demo(logs, plotdir)
    if len(argv) >= 2 and argv[0] == 'tlb':
        # A bare-metal tools/perf-scripts/tlb-impact.sh run's output.
        hw, counted = tlb_hw_tables(argv[1:])
        if not hw:
            print('no tlb-impact.sh RESULT lines in %s' % ' '.join(argv[1:]))
            return 1
        for t in hw:
            print(t.text())
            print()
        if counted is False:
            print('the PMU counted none of the dTLB events (tlb-impact.sh exit 3)')
            return 3
        return 0
    if len(argv) >= 3 and argv[0] == 'bench':
        return bench(argv[1], argv[2:], os.environ.get('SP_BENCH_COMMAND',
                                                      'benchmarks/run'))
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
