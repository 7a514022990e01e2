#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The RESULT lines of tools/perf-scripts/tlb-impact.sh as tables.

    tlb_hw.py FILE      (FILE - for standard input)

FILE is what tlb-impact.sh printed on a host, or a guest log in which each
of its lines carries a "# " in front (the bench job's sp.tlb=1).  The lines
read are

    RESULT scenario=tlb_hw mode=M event=E pmu=P count=N variance_pct=X running_pct=Y reps=R
    RESULT scenario=tlb_hw_dm mode=M l2_splits=N l3_splits=N dm4k_kb=N blocks_2m=N
    RESULT scenario=tlb_hw_status counted=0|1 events=... unsupported=... [modes=... pmus=...]

tables(lines) gives (title, headers, rows) for each table that has figures:
the counts per event and mode (with upstream/pool where both modes are
there), perf's variance and the share of the time each event was counted,
and the direct map while the secrets were held.  A cell without a figure
(nan in the RESULT line, or no line) is None.

The command prints the tables as text.  Exit status: 0 counts were taken;
3 the status line says none could be counted (the direct-map table is
still printed); 1 no tlb-impact.sh RESULT lines; 2 usage.
"""

import re
import sys

COUNTS = 'perf stat, kernel dTLB events'
SPREAD = 'perf stat, variance and running %'
DIRECT_MAP = 'direct map while the secrets were held'
RATIO = 'upstream/pool'

# The tlb_hw_dm keys and how the table names them.
DM_KEYS = (
    ('l2_splits', '2M mappings split (level 2)'),
    ('l3_splits', '1G mappings split (level 3)'),
    ('dm4k_kb', 'DirectMap4k change, kB'),
    ('blocks_2m', '2M blocks holding the secrets'),
)

# A guest log's "# " (more than one, should a log be quoted again).
_PREFIX = re.compile(r'^(?:#[ \t]?)+')
_NUMBER = re.compile(r'^-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$')


def number(text):
    """A RESULT value as int or float; None for nan, absent or not a number."""
    if text is None or not _NUMBER.match(text):
        return None
    if re.match(r'^-?[0-9]+$', text):
        return int(text)
    return float(text)


def results(lines):
    """The tlb_hw* RESULT lines among @lines, each a dict of its words."""
    rows = []
    for line in lines:
        line = _PREFIX.sub('', line.strip()).strip()
        if not line.startswith('RESULT '):
            continue
        row = {}
        for word in line.split()[1:]:
            key, eq, value = word.partition('=')
            if eq:
                row.setdefault(key, value)
        if row.get('scenario', '').startswith('tlb_hw'):
            rows.append(row)
    return rows


def status(lines):
    """The (last) tlb_hw_status line as a dict, or None."""
    found = None
    for row in results(lines):
        if row['scenario'] == 'tlb_hw_status':
            found = row
    return found


def _ordered(values):
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen


def _modes(rows):
    """The modes in the order tlb-impact.sh measured them."""
    for row in rows:
        if row['scenario'] == 'tlb_hw_status' and row.get('modes'):
            return [m for m in row['modes'].split(',') if m]
    return _ordered(r['mode'] for r in rows if r.get('mode'))


def _ratio(upstream, pool):
    if upstream is None or not pool:
        return None
    return upstream / pool


def tables(lines):
    """The tables of tlb-impact.sh's RESULT lines: a list of (title,
    headers, rows)."""
    rows = results(lines)
    modes = _modes(rows)
    hw = [r for r in rows if r['scenario'] == 'tlb_hw']
    dm = [r for r in rows if r['scenario'] == 'tlb_hw_dm']
    out = []

    if hw:
        hw_modes = [m for m in modes if any(r.get('mode') == m for r in hw)]
        hw_modes += [m for m in _ordered(r.get('mode') for r in hw) if m not in hw_modes]
        keys = _ordered((r.get('event'), r.get('pmu')) for r in hw)
        by = {}
        for r in hw:
            by.setdefault((r.get('event'), r.get('pmu')), {})[r.get('mode')] = r
        both = 'pool' in hw_modes and 'upstream' in hw_modes

        body = []
        for key in keys:
            per = by[key]
            counts = [number(per.get(m, {}).get('count')) for m in hw_modes]
            row = [key[0], key[1]] + counts
            if both:
                row.append(_ratio(number(per.get('upstream', {}).get('count')),
                                  number(per.get('pool', {}).get('count'))))
            body.append(row)
        out.append((COUNTS, ['event', 'pmu'] + hw_modes + ([RATIO] if both else []), body))

        headers = ['event', 'pmu']
        for m in hw_modes:
            headers += [m + ' +-%', m + ' running %']
        headers.append('reps')
        body = []
        for key in keys:
            per = by[key]
            row = [key[0], key[1]]
            reps = None
            for m in hw_modes:
                r = per.get(m, {})
                row += [number(r.get('variance_pct')), number(r.get('running_pct'))]
                if reps is None:
                    reps = number(r.get('reps'))
            body.append(row + [reps])
        out.append((SPREAD, headers, body))

    if dm:
        dm_modes = [m for m in modes if any(r.get('mode') == m for r in dm)]
        dm_modes += [m for m in _ordered(r.get('mode') for r in dm) if m not in dm_modes]
        by = {r.get('mode'): r for r in dm}
        body = [[label] + [number(by[m].get(key)) for m in dm_modes] for key, label in DM_KEYS]
        out.append((DIRECT_MAP, ['figure'] + dm_modes, body))
    return out


def cell(v, header=''):
    """A cell as text: '-' for no figure; ratios with 3 decimals, other
    fractions with 2."""
    if v is None:
        return '-'
    if isinstance(v, float):
        return ('%.3f' if header == RATIO else '%.2f') % v
    return str(v)


def text(title, headers, rows):
    """One table as plain text lines, columns aligned."""
    cells = [headers] + [[cell(v, h) for v, h in zip(row, headers)] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = [title]
    for r in cells:
        lines.append('  '.join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    return lines


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ('-h', '--help'):
        print('usage: tlb_hw.py FILE (tlb-impact.sh output, - for standard input)',
              file=sys.stderr)
        return 2
    if argv[0] == '-':
        lines = sys.stdin.read().splitlines()
    else:
        with open(argv[0], errors='replace') as f:
            lines = f.read().splitlines()
    if not results(lines):
        print('no tlb-impact.sh RESULT lines in %s' % argv[0], file=sys.stderr)
        return 1

    st = status(lines) or {}
    first = True
    for t in tables(lines):
        if not first:
            print()
        first = False
        print('\n'.join(text(*t)))

    low = [r for r in results(lines) if r['scenario'] == 'tlb_hw'
           and number(r.get('running_pct')) is not None and number(r['running_pct']) < 100]
    if low:
        worst = min(number(r['running_pct']) for r in low)
        print('\nmultiplexed: %d figure%s counted less than all the time (lowest %s%%); '
              'perf scaled them' % (len(low), '' if len(low) == 1 else 's', cell(float(worst))))
    unsupported = st.get('unsupported', 'none')
    if unsupported not in ('', 'none'):
        print('\nnot counted here: %s' % unsupported.replace(',', ' '))
    if st.get('counted') == '0':
        print('\nno dTLB event was counted (no PMU, or none of the events): '
              'no TLB figures, the direct map only')
        return 3
    return 0


if __name__ == '__main__':
    sys.exit(main())
