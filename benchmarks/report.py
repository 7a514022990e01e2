#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the RESULT lines of guest benchmark runs into tables and plots.

    report.py demo LOG [PLOTDIR]
        the main command's side-by-side tables, as text; with PLOTDIR also
        the plots (PNG, gnuplot)
    report.py bench OUTDIR LOG...
        the full report: OUTDIR/RESULTS.md (Markdown tables, plots, the
        machine), OUTDIR/csv/*.csv (one file per table, plus every RESULT
        line in results.csv) and OUTDIR/plots/*.png

LOG is a guest job's output (build/logs/*/tap.log), one per boot (fresh and
aged memory are separate boots).  Every figure comes from a RESULT line;
where one is missing the cell says "-".
"""

import csv
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys

MODES = ('upstream', 'pool', 'reserve')
# Modes with the pool on: "reserve" is the pool in a boot with
# secretpool.reserve= (1G blocks set aside at boot).
POOLED = ('pool', 'reserve')
MEMORIES = ('fresh', 'aged')


def parse(paths):
    rows = []
    for path in paths:
        with open(path, errors='replace') as f:
            for line in f:
                line = line.strip()
                if not line.startswith('RESULT '):
                    continue
                row = {}
                for word in line.split()[1:]:
                    if '=' in word:
                        k, v = word.split('=', 1)
                        row.setdefault(k, v)
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


def median_spread(values):
    vals = [v for v in (num(x) for x in values) if v is not None]
    if not vals:
        return None, None
    med = statistics.median(vals)
    spread = (max(vals) - min(vals)) / med * 100 if med else 0
    return med, spread


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
        with open(path, 'w', newline='') as f:
            w = csv.writer(f)
            w.writerow(self.headers)
            w.writerows(self.body)


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
            'entries once, one of them not present; nothing is split into 4K.')
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


def fault_stats(rows, memory):
    frows = pick(rows, scenario='fault', memory=memory)
    threads = sorted({int(r['threads']) for r in frows})
    modes = [m for m in ('shmem', 'pool', 'reserve', 'upstream') if pick(frows, mode=m)]
    stats = {}
    for t in threads:
        for m in modes:
            for metric in ('fault_pps', 'free_pps', 'cycle_pps'):
                stats[(t, m, metric)] = median_spread(
                    [r.get(metric) for r in pick(frows, mode=m, threads=t)])
    reps = max([len(pick(frows, mode=m, threads=t)) for t in threads for m in modes] or [0])
    return threads, modes, stats, reps


def t_fault(rows, memory):
    threads, modes, stats, reps = fault_stats(rows, memory)
    if not threads:
        return None
    body = []
    for t in threads:
        for metric, label in (('fault_pps', 'fault'), ('free_pps', 'free'),
                              ('cycle_pps', 'fault+free')):
            row = [t, label]
            floor = stats.get((t, 'shmem', metric), (None, None))[0]
            for m in modes:
                med, spread = stats[(t, m, metric)]
                if med is None:
                    row.append('-')
                    continue
                cell = '%d ±%d%%' % (med, spread)
                if floor and m != 'shmem':
                    cell += ' (%.2fx)' % (floor / med)
                row.append(cell)
            body.append(row)
    title = ('Fault and free throughput, %s memory, pages/s (median of %d, ± spread '
             'max-min; (Nx) = time per page relative to shmem, the floor)' % (memory, reps))
    note = ('Each thread creates a 256-page file, maps it, writes every page (fault), '
            'unmaps and closes it (free).')
    if 'reserve' in modes:
        note += (' "reserve" ran in a boot of its own (secretpool.reserve=1G); its ratio is '
                 'to the shmem floor of the first boot.')
    return Table('throughput-' + memory, title, ['threads', 'phase', *modes], body, note)


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
            med, spread = median_spread(vals)
            row.append('-' if med is None else
                       ('%.1f ±%d%%' % (med, spread) if med < 100 else '%d ±%d%%' % (med, spread)))
        body.append(row)
    title = ('Memory types, %s memory: an uncached secret against an exclusive one and '
             'shmem, 1 thread (median of %d, ± spread max-min)' % (memory, reps))
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
    stages, jobs = [], []
    for r in frows:
        if r['stage'] not in stages:
            stages.append(r['stage'])
        if r['job'] not in jobs:
            jobs.append(r['job'])
    body = []
    for s in stages:
        row = [s]
        for j in jobs:
            r = first(frows, stage=s, job=j)
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
        body.append(['free memory before the scenarios',
                     '%s kB, %s kB of it in free 2M blocks' % (
                         fmt(age.get('free_kb')), fmt(age.get('free_2m_blocks_kb')))])
        if num(age.get('percent')) or num(age.get('pipes')):
            body.append(['aging (sp-bench age -P %s -U %s -S 16)' % (
                age.get('percent'), age.get('pipes')),
                '%s pipe pages kept (unmovable, one in 16 freed), %s kB of page cache '
                'kept (every other page freed), %s s' % (
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
        for fn in (t_misc, t_longlived, t_steps, t_churn, t_fault, t_memtype, t_fio):
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
        threads, modes, stats, _ = fault_stats(rows, memory)
        if not threads:
            continue
        dat = os.path.join(outdir, 'throughput-%s.dat' % memory)
        with open(dat, 'w') as f:
            f.write('# threads ' + ' '.join(modes) + ' (fault pages/s, median)\n')
            for t in threads:
                f.write('%d %s\n' % (t, ' '.join(
                    '%.0f' % (stats[(t, m, 'fault_pps')][0] or 0) for m in modes)))
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
    return ('guest: %s vCPUs, %s NUMA nodes, %s MiB, kernel %s' % (
        m.get('cpus', '?'), m.get('nodes', '?'),
        int(num(m.get('mem_kb', 0)) or 0) // 1024, m.get('kernel', '?')))


def demo(path, plotdir=None):
    rows = parse([path])
    if not rows:
        print('no RESULT lines in %s: the guest job did not run' % path)
        return 1
    print(machine_line(rows))
    for t in tables(rows):
        print()
        print(t.text())
    text, _ = timeline([path])
    if text:
        print()
        print('churn traced (secretpool:* events, tools/perf-scripts/secretpool-timeline.py):')
        print('\n'.join(text))
    if plotdir:
        made = plots(rows, plotdir)
        made += timeline([path], plotdir)[1]
        if made:
            print()
            print('plots: ' + ', '.join(os.path.join(plotdir, p) for p in made))
    return 0


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
          'every figure below comes from a RESULT line of those runs '
          '(all of them in [csv/results.csv](csv/results.csv)).' % command, '',
          '- ' + machine_line(rows),
          '- guest: QEMU TCG (`-cpu max`), no hardware PMU; one boot with fresh '
          'memory, one with aged memory, and one (8 GiB) with `secretpool.reserve=1G` '
          'for the "reserve" column',
          '- pool and upstream (pool switched off at run time) in the same boot; '
          'shmem is a plain `memfd_create()` file, the floor', '']
    for t in tabs:
        md += [t.markdown(), '']
    tlb = tlb_block(paths)
    if tlb:
        md += ['**tools/perf-scripts/tlb-impact.sh in the guest (fresh boot)**', '',
               '```'] + tlb + ['```', '']
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
        return demo(argv[1], argv[2] if len(argv) > 2 else None)
    if len(argv) >= 3 and argv[0] == 'bench':
        return bench(argv[1], argv[2:], os.environ.get('SP_BENCH_COMMAND',
                                                      'benchmarks/run'))
    print(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
