#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A timeline of the pool's regions and of direct-map splits, from a trace.

    secretpool-timeline.py [--bins N] [--svg FILE] [--csv FILE] [--pool NAME]
                           TRACE...

TRACE is the text of a trace of the secretpool:* and secretmem:* events, as
any of these print it (read from a file, or "-" for standard input):

    perf record -e 'secretpool:*' -e 'secretmem:*' -a -- WORKLOAD
    perf script                          # perf's text output
    trace-cmd record -e secretpool -e secretmem WORKLOAD; trace-cmd report
    cat /sys/kernel/tracing/trace        # tracefs, after enabling the events

or a benchmark log (build/logs/bench-*/tap.log), whose lines
"TRACE mode=M ..." hold the trace of each mode's churn scenario; each mode
is then a series of its own.

For each series it prints what happened (regions grown and released, blocks
added and released, direct-map splits, per-page unmaps, fallbacks and their
reasons, the most memory the pool held) and a table of N time bins; --svg
draws the same as a picture (one lane per series: the pool's memory as a
line, grows and releases as ticks, splits as marks), --csv writes the bins.

A split is read off the events' levels: a region or block whose entry was
1G before and smaller after split a 1G entry (a level-3 split); a page of
the per-page path whose entry was 2M (or 1G) before split it into 4K pages
(a level-2 split, and a level-3 one from 1G).  That counts the splits of
secret memory only: /proc/vmstat direct_map_level{2,3}_splits counts every
split in the kernel, and is the figure to compare with.
"""

import argparse
import re
import sys

LEVELS = {'4K': 1, '2M': 2, '1G': 3, '512G': 4}
EVENT = re.compile(r'(\d+\.\d+):\s+(?:\w+:)?((?:secretpool|secretmem)_\w+):\s+(.*)$')
FIELD = re.compile(r'(\w+)=(\S+)')


class Series:
    """What one trace (or one mode of a benchmark log) shows."""

    def __init__(self, name):
        self.name = name
        self.points = []	# (time, kind, held pages after, detail)
        self.held = 0		# pages of the pool's regions and blocks
        self.peak = 0
        self.counts = {k: 0 for k in ('grow', 'release', 'block_add',
                                      'block_release', 'split_l2',
                                      'split_l3', 'unmap', 'packed')}
        self.reasons = {}
        self.initial = 0

    def add(self, ts, kind, pages=0, detail=''):
        self.held += pages
        self.peak = max(self.peak, self.held)
        self.points.append((ts, kind, self.held, detail))

    def finish(self):
        """Memory the pool held before the trace began is not in it: take
        the least that explains the releases (0 if none went below)."""
        low = min([0] + [h for _, _, h, _ in self.points])
        self.initial = -low
        if low:
            self.points = [(t, k, h - low, d) for t, k, h, d in self.points]
            self.held -= low
            self.peak -= low


def level(fields, key):
    return LEVELS.get(fields.get(key, '?'), 0)


def feed(series, ts, event, fields, pool):
    """One event into its series."""
    if event.startswith('secretpool_') and fields.get('pool') != pool:
        return
    pages = int(fields.get('pages', '0'))
    before, after = level(fields, 'level_before'), level(fields, 'level_after')
    if event in ('secretpool_region_grow', 'secretpool_block_add'):
        kind = 'grow' if event == 'secretpool_region_grow' else 'block_add'
        series.counts[kind] += 1
        if kind == 'grow' and fields.get('flag') == '1':
            series.counts['packed'] += 1
        series.add(ts, kind, pages, fields.get('pfn', ''))
        if before == 3 and 0 < after < 3:
            series.counts['split_l3'] += 1
            series.add(ts, 'split_l3', 0, fields.get('pfn', ''))
    elif event in ('secretpool_region_release', 'secretpool_block_release'):
        kind = 'release' if event == 'secretpool_region_release' else 'block_release'
        series.counts[kind] += 1
        series.add(ts, kind, -pages, fields.get('pfn', ''))
    elif event == 'secretpool_fallback':
        r = fields.get('reason', '?')
        series.reasons[r] = series.reasons.get(r, 0) + 1
    elif event == 'secretmem_page_unmap':
        series.counts['unmap'] += 1
        if before >= 2 and after == 1:
            series.counts['split_l2'] += 1
            series.add(ts, 'split_l2', 0, fields.get('pfn', ''))
        if before == 3:
            series.counts['split_l3'] += 1
            series.add(ts, 'split_l3', 0, fields.get('pfn', ''))


def parse(lines, pool='default', default_name='trace'):
    """The series of a trace's lines, in the order they first appear."""
    series = {}
    for line in lines:
        m = EVENT.search(line)
        if not m:
            continue
        name = default_name
        if line.startswith('TRACE'):
            lm = re.match(r'TRACE((?:\s+\w+=\S+)*)', line)
            labels = dict(FIELD.findall(lm.group(1))) if lm else {}
            name = labels.get('mode', default_name)
            if 'memory' in labels:
                name = '%s/%s' % (labels['memory'], name)
        s = series.setdefault(name, Series(name))
        feed(s, float(m.group(1)), m.group(2), dict(FIELD.findall(m.group(3))), pool)
    for s in series.values():
        s.finish()
    return list(series.values())


def bins(s, n):
    """@n equal time bins over the series: (start, end, grows, releases,
    level-2 splits, level-3 splits, MiB held at the end)."""
    if not s.points:
        return []
    t0, t1 = s.points[0][0], s.points[-1][0]
    width = (t1 - t0) / n if t1 > t0 else 1.0
    out = []
    i = 0
    held = s.initial
    for b in range(n):
        lo, hi = t0 + b * width, t0 + (b + 1) * width
        c = {'grow': 0, 'release': 0, 'split_l2': 0, 'split_l3': 0}
        while i < len(s.points) and (s.points[i][0] < hi or b == n - 1):
            ts, kind, h, _ = s.points[i]
            key = {'block_add': 'grow', 'block_release': 'release'}.get(kind, kind)
            if key in c:
                c[key] += 1
            held = h
            i += 1
        out.append((lo, hi, c['grow'], c['release'], c['split_l2'],
                    c['split_l3'], held * 4 // 1024))
    return out


def summary(s):
    c = s.counts
    reasons = ', '.join('%s %d' % kv for kv in sorted(s.reasons.items())) or 'none'
    span = (s.points[-1][0] - s.points[0][0]) if s.points else 0.0
    return ['%s: %.3f s of events' % (s.name, span),
            '  regions grown %d (%d packed into split 1G ranges), released %d'
            % (c['grow'], c['packed'], c['release']),
            '  1G blocks added %d, released %d' % (c['block_add'], c['block_release']),
            '  direct-map splits: level 2 (2M to 4K) %d, level 3 (1G) %d'
            % (c['split_l2'], c['split_l3']),
            '  per-page unmaps seen %d; fallbacks: %s' % (c['unmap'], reasons),
            '  pool memory: %d MiB at the start%s, peak %d MiB, at the end %d MiB'
            % (s.initial * 4 // 1024, ' (inferred from releases)' if s.initial else '',
               s.peak * 4 // 1024, s.held * 4 // 1024)]


def table(s, n):
    rows = ['  %10s %10s %6s %8s %4s %4s %8s' % ('from_s', 'to_s', 'grows',
                                              'releases', 'L2', 'L3', 'held_MiB')]
    for lo, hi, g, r, l2, l3, held in bins(s, n):
        rows.append('  %10.3f %10.3f %6d %8d %4d %4d %8d' % (lo, hi, g, r, l2, l3, held))
    return rows


def svg(series, path):
    """One lane per series: memory held as a line, ticks and marks below."""
    width, lane, left = 900, 130, 150
    height = 40 + lane * len(series)
    out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
           'font-family="sans-serif" font-size="11">' % (width, height),
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="18" font-size="13">secretpool timeline: pool memory '
           '(line), grows (green), releases (blue), level-2 splits (red), '
           'level-3 splits (purple)</text>']
    for k, s in enumerate(series):
        top = 30 + k * lane
        out.append('<text x="10" y="%d">%s</text>' % (top + 20, s.name))
        out.append('<text x="10" y="%d">peak %d MiB</text>' % (top + 36, s.peak * 4 // 1024))
        out.append('<text x="10" y="%d">L2 %d, L3 %d</text>'
                   % (top + 52, s.counts['split_l2'], s.counts['split_l3']))
        if not s.points:
            continue
        t0, t1 = s.points[0][0], s.points[-1][0]
        span = (t1 - t0) or 1.0
        peak = max(s.peak, 1)
        plot_w, plot_h = width - left - 20, lane - 50

        def x(t):
            return left + (t - t0) / span * plot_w

        def y(pages):
            return top + 10 + plot_h - pages / peak * plot_h
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>'
                   % (left, top + 10 + plot_h, left + plot_w, top + 10 + plot_h))
        pts, held = ['%.1f,%.1f' % (x(t0), y(s.initial))], s.initial
        for ts, kind, h, _ in s.points:
            if h != held:
                pts.append('%.1f,%.1f' % (x(ts), y(held)))
                pts.append('%.1f,%.1f' % (x(ts), y(h)))
                held = h
        pts.append('%.1f,%.1f' % (x(t1), y(held)))
        out.append('<polyline fill="none" stroke="black" points="%s"/>' % ' '.join(pts))
        colour = {'grow': 'green', 'block_add': 'green', 'release': 'blue',
                  'block_release': 'blue', 'split_l2': 'red', 'split_l3': 'purple'}
        row = {'grow': 0, 'block_add': 0, 'release': 1, 'block_release': 1,
               'split_l2': 2, 'split_l3': 3}
        for ts, kind, _, _ in s.points:
            ty = top + 14 + plot_h + row[kind] * 6
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>'
                       % (x(ts), ty, x(ts), ty + 5, colour[kind]))
        out.append('<text x="%d" y="%d">%.3f s</text>' % (left, top + lane - 6, t0))
        out.append('<text x="%d" y="%d" text-anchor="end">%.3f s</text>'
                   % (left + plot_w, top + lane - 6, t1))
    out.append('</svg>')
    with open(path, 'w') as f:
        f.write('\n'.join(out) + '\n')


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('trace', nargs='+', help='trace text, or - for stdin')
    ap.add_argument('--bins', type=int, default=10, help='time bins per series')
    ap.add_argument('--svg', help='draw the timeline into this SVG file')
    ap.add_argument('--csv', help='write the bins into this CSV file')
    ap.add_argument('--pool', default='default', help='the pool to follow')
    args = ap.parse_args(argv)

    lines = []
    for path in args.trace:
        if path == '-':
            lines += sys.stdin.read().splitlines()
        else:
            with open(path, errors='replace') as f:
                lines += f.read().splitlines()
    series = parse(lines, args.pool)
    if not series:
        print('secretpool-timeline: no secretpool/secretmem events in the input '
              '(were the events enabled? see tools/perf-scripts/README.md)',
              file=sys.stderr)
        return 1
    for s in series:
        print('\n'.join(summary(s)))
        print('\n'.join(table(s, args.bins)))
    if args.csv:
        with open(args.csv, 'w') as f:
            f.write('series,from_s,to_s,grows,releases,splits_l2,splits_l3,held_mib\n')
            for s in series:
                for b in bins(s, args.bins):
                    f.write('%s,%.6f,%.6f,%d,%d,%d,%d,%d\n' % ((s.name,) + b))
    if args.svg:
        svg(series, args.svg)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
