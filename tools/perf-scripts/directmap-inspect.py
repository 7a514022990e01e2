#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""How the kernel maps its direct map: 1G, 2M, 4K pages, and what is missing.

Reads, from the running kernel (root, debugfs mounted) or from a snapshot
directory of the same files (--snapshot DIR, as capture-directmap.sh or the
VM jobs leave them):

  page_tables   /sys/kernel/debug/page_tables/kernel  (CONFIG_PTDUMP_DEBUGFS)
  meminfo       /proc/meminfo                         (DirectMap4k/2M/1G)
  vmstat        /proc/vmstat                          (direct_map_level*_splits)
  zoneinfo      /proc/zoneinfo                        (each node's physical range)
  regions       /sys/kernel/debug/secretpool/regions  (the pool's 2M regions; optional)
  iomem         /proc/iomem                           (System RAM, to leave holes out)

and prints, per NUMA node, how much of its memory the direct map maps with
1G, 2M and 4K pages and how much is not present, cross-checked against
DirectMap* in /proc/meminfo.  --picture draws the direct map as text, one
character per 2M; --png FILE draws it as an image, one cell per 2M, with
a legend (with gnuplot; without it, bare cells in the same colours):

  G  part of a 1G mapping          M  a 2M mapping
  4  split into 4K pages           P  a secretmem pool region (removed whole)
  x  not present, not the pool's   .  no memory there

Only the x86-64 page-table dump format is understood.
"""

import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

LIVE = {
    'page_tables': '/sys/kernel/debug/page_tables/kernel',
    'meminfo': '/proc/meminfo',
    'vmstat': '/proc/vmstat',
    'zoneinfo': '/proc/zoneinfo',
    'regions': '/sys/kernel/debug/secretpool/regions',
    'iomem': '/proc/iomem',
}

SZ_4K, SZ_2M, SZ_1G = 4096, 2 << 20, 1 << 30
KINDS = ('1G', '2M', '4K', 'not present')
CELL = {'1G': 'G', '2M': 'M', '4K': '4', 'np': 'x', 'pool': 'P', 'none': '.'}
COLOUR = {'G': (46, 125, 50), 'M': (129, 199, 132), '4': (229, 57, 53),
          'P': (30, 136, 229), 'x': (255, 179, 0), '.': (224, 224, 224)}


def read(src, name):
    path = os.path.join(src, name) if src else LIVE[name]
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return None


def parse_ptdump(text):
    """Ranges of the direct map: (phys_start, phys_end, kind)."""
    line_re = re.compile(r'^0x([0-9a-f]+)-0x([0-9a-f]+)\s+\S+\s*(.*?)\s*(pte|pmd|pud|p4d|pgd)\s*$')
    lines, section, dm_start = [], None, None
    for line in text.splitlines():
        if line.startswith('---['):
            section = line
            continue
        m = line_re.match(line)
        if not m:
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        lines.append((start, end, m.group(3).split(), m.group(4), section))
        if dm_start is None and section and 'Low Kernel Mapping' in section:
            dm_start = start
    if dm_start is None:
        return []
    # The direct map starts at PAGE_OFFSET, which is 1G aligned; the dump
    # prints a section's header when the range after the first one begins,
    # so the first range can sit above the header.
    base = dm_start & ~(SZ_1G - 1)
    ranges = []
    for start, end, flags, level, section in lines:
        if start < base:
            continue
        if section and 'Low Kernel Mapping' not in section and start >= dm_start:
            break
        present = 'RW' in flags or 'ro' in flags
        if not present:
            kind = 'np'
        elif level == 'pud':
            kind = '1G'
        elif level == 'pmd':
            kind = '2M'
        else:
            kind = '4K'
        ranges.append((start - base, end - base, kind))
    return ranges


def parse_keyed(text):
    out = {}
    for line in (text or '').splitlines():
        parts = line.replace(':', ' ').split()
        if len(parts) >= 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                pass
    return out


def parse_nodes(text):
    """{nid: (phys_start, phys_end)} from /proc/zoneinfo."""
    nodes, nid = {}, None
    start = spanned = None
    for line in (text or '').splitlines():
        m = re.match(r'^Node (\d+), zone\s+(\S+)', line)
        if m:
            nid, start, spanned = int(m.group(1)), None, None
            continue
        m = re.match(r'^\s+spanned\s+(\d+)', line)
        if m:
            spanned = int(m.group(1))
        m = re.match(r'^\s+start_pfn:\s+(\d+)', line)
        if m and nid is not None:
            start = int(m.group(1))
            if spanned:
                lo, hi = start * SZ_4K, (start + spanned) * SZ_4K
                old = nodes.get(nid)
                nodes[nid] = (min(lo, old[0]), max(hi, old[1])) if old else (lo, hi)
    return nodes


def parse_ram(text):
    """[(start, end)] of top-level "System RAM" in /proc/iomem, or []."""
    ram = []
    for line in (text or '').splitlines():
        m = re.match(r'^([0-9a-f]+)-([0-9a-f]+) : System RAM', line)
        if m:
            ram.append((int(m.group(1), 16), int(m.group(2), 16) + 1))
    # All zeros: read without root, addresses hidden.
    return ram if any(e > 1 for _, e in ram) else []


def clip(ranges, ram):
    """The parts of ranges that lie in RAM."""
    if not ram:
        return ranges
    out = []
    for s, e, kind in ranges:
        for r0, r1 in ram:
            lo, hi = max(s, r0), min(e, r1)
            if lo < hi:
                out.append((lo, hi, kind))
    return out


def parse_regions(text):
    regions = set()
    for line in (text or '').splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].startswith('0x'):
            regions.add(int(parts[1], 16) // SZ_2M)
    return regions


def overlap(a0, a1, b0, b1):
    return max(0, min(a1, b1) - max(a0, b0))


def summarise(ranges, nodes, regions):
    rows = []
    for nid in sorted(nodes) or [None]:
        lo, hi = nodes[nid] if nid is not None else (0, 1 << 62)
        tot = dict.fromkeys(KINDS, 0)
        pool = 0
        for s, e, kind in ranges:
            n = overlap(s, e, lo, hi)
            if not n:
                continue
            tot['not present' if kind == 'np' else kind] += n
            if kind == 'np':
                for blk in range(max(s, lo) // SZ_2M, (min(e, hi) + SZ_2M - 1) // SZ_2M):
                    if blk in regions:
                        pool += overlap(s, e, blk * SZ_2M, (blk + 1) * SZ_2M)
        rows.append((nid, lo, hi, tot, pool))
    return rows


def cells(ranges, regions, limit):
    """One character per 2M of physical address space up to limit."""
    grid = ['.'] * (limit // SZ_2M)
    for s, e, kind in ranges:
        for blk in range(s // SZ_2M, min((e + SZ_2M - 1) // SZ_2M, len(grid))):
            if kind == '4K' or (kind == 'np' and (e - s) < SZ_2M):
                # any 4K piece inside a 2M block makes it a split block
                if grid[blk] != 'P':
                    grid[blk] = '4'
            elif kind == 'np':
                grid[blk] = 'P' if blk in regions else 'x'
            elif grid[blk] == '.':
                grid[blk] = CELL[kind]
    for blk in regions:
        if blk < len(grid):
            grid[blk] = 'P'
    return grid


def write_png(path, grid, width, scale=4):
    rows = [grid[i:i + width] for i in range(0, len(grid), width)]
    w, h = width * scale, len(rows) * scale
    raw = bytearray()
    for r in rows:
        line = bytearray()
        for c in r + ['.'] * (width - len(r)):
            line += bytes(COLOUR[c]) * scale
        for _ in range(scale):
            raw += b'\x00' + line

    def chunk(kind, data):
        c = struct.pack('>I', len(data)) + kind + data
        return c + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)

    png = b'\x89PNG\r\n\x1a\n'
    png += chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
    png += chunk(b'IDAT', zlib.compress(bytes(raw), 9))
    png += chunk(b'IEND', b'')
    with open(path, 'wb') as f:
        f.write(png)


LEGEND = (('G', 'part of a 1G mapping'), ('M', '2M mapping'),
          ('4', '2M split into 4K pages'), ('P', 'secretmem pool region'),
          ('x', 'not present (other)'), ('.', 'no memory'))


def plot_png(path, grid, width, title):
    """Draw the grid with gnuplot: cells, legend, address axis."""
    order = [c for c, _ in LEGEND]
    rows = [grid[i:i + width] for i in range(0, len(grid), width)]
    cell = 12
    with tempfile.TemporaryDirectory() as tmp:
        dat = os.path.join(tmp, 'grid.dat')
        with open(dat, 'w') as f:
            for r in rows:
                r = r + ['.'] * (width - len(r))
                f.write(' '.join(str(order.index(c)) for c in r) + '\n')
        row_bytes = width * SZ_2M
        ytics = ', '.join('"%d GiB" %d' % (r * row_bytes >> 30, r)
                          for r in range(len(rows)) if (r * row_bytes) % SZ_1G == 0)
        xtics = ', '.join('"%d" %d' % (c * 2, c) for c in range(0, width + 1, 8))
        colours = ['#%02x%02x%02x' % COLOUR[c] for c in order]
        script = [
            'set terminal pngcairo size %d,%d font "sans,10"' % (
                width * cell + 330, len(rows) * cell + 120),
            'set output "%s"' % path,
            'set title "%s"' % title.replace('"', "'"),
            'unset colorbox',
            'set palette maxcolors %d' % len(order),
            'set palette defined (%s)' % ', '.join(
                '%d "%s"' % (i, c) for i, c in enumerate(colours)),
            'set cbrange [-0.5:%f]' % (len(order) - 0.5),
            'set xrange [-0.5:%f]' % (width - 0.5),
            'set yrange [%f:-0.5]' % (len(rows) - 0.5),
            'set xtics (%s) out nomirror' % xtics,
            'set ytics (%s) out nomirror' % ytics,
            'set xlabel "MiB into the row (one cell = 2 MiB, one row = %d MiB)"'
            % (row_bytes >> 20),
            'set ylabel "physical address"',
            'set key outside right top',
            'plot "%s" matrix with image notitle, ' % dat + ', '.join(
                'keyentry with boxes fill solid fc rgb "%s" title "%s"' % (colours[i], label)
                for i, (_, label) in enumerate(LEGEND)),
        ]
        gp = os.path.join(tmp, 'grid.gp')
        with open(gp, 'w') as f:
            f.write('\n'.join(script) + '\n')
        r = subprocess.run(['gnuplot', gp], capture_output=True, text=True)
        if r.returncode:
            sys.stderr.write('gnuplot failed: %s\n' % r.stderr)
            return False
    return True


def mib(n):
    return '%d MiB' % (n >> 20) if n >= (1 << 20) or n == 0 else '%d KiB' % (n >> 10)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--snapshot', metavar='DIR',
                    help='read the files from DIR instead of the running kernel')
    ap.add_argument('--picture', action='store_true',
                    help='draw the direct map as text, one character per 2M')
    ap.add_argument('--png', metavar='FILE', help='draw it as a PNG image')
    ap.add_argument('--width', type=int, default=64,
                    help='cells per row of the picture (default 64 = 128 MiB)')
    args = ap.parse_args()

    pt = read(args.snapshot, 'page_tables')
    if pt is None:
        print('cannot read the kernel page-table dump (%s): needs root, debugfs '
              'and CONFIG_PTDUMP_DEBUGFS' % (os.path.join(args.snapshot, 'page_tables')
                                              if args.snapshot else LIVE['page_tables']))
        return 1
    ram = parse_ram(read(args.snapshot, 'iomem'))
    ranges = clip(parse_ptdump(pt), ram)
    meminfo = parse_keyed(read(args.snapshot, 'meminfo'))
    vmstat = parse_keyed(read(args.snapshot, 'vmstat'))
    nodes = parse_nodes(read(args.snapshot, 'zoneinfo'))
    regions = parse_regions(read(args.snapshot, 'regions'))

    print('%-5s %-24s %10s %10s %10s %12s %10s' % ('node', 'physical range', '1G', '2M',
                                                  '4K', 'not present', 'pool'))
    sums = dict.fromkeys(KINDS, 0)
    for nid, lo, hi, tot, pool in summarise(ranges, nodes, regions):
        print('%-5s %#011x-%#011x %10s %10s %10s %12s %10s' % (
            nid if nid is not None else 'all', lo, hi, mib(tot['1G']), mib(tot['2M']),
            mib(tot['4K']), mib(tot['not present']), mib(pool)))
        for k in KINDS:
            sums[k] += tot[k]
    all_tot = dict.fromkeys(KINDS, 0)
    for s, e, kind in ranges:
        all_tot['not present' if kind == 'np' else kind] += e - s
    print('%-5s %-24s %10s %10s %10s %12s' % ('all', 'RAM' if ram else 'whole direct map',
                                             mib(all_tot['1G']),
                                             mib(all_tot['2M']), mib(all_tot['4K']),
                                             mib(all_tot['not present'])))
    if meminfo:
        print('%-5s %-24s %10s %10s %10s' % ('meminfo', 'DirectMap*',
                                            mib(meminfo.get('DirectMap1G', 0) << 10),
                                            mib(meminfo.get('DirectMap2M', 0) << 10),
                                            mib(meminfo.get('DirectMap4k', 0) << 10)))
    if vmstat:
        print('\nsplits since boot: 2M->4K %s, 1G->2M %s (/proc/vmstat)' % (
            vmstat.get('direct_map_level2_splits', '-'),
            vmstat.get('direct_map_level3_splits', '-')))
    if regions:
        print('secretmem pool: %d regions of 2M removed from the direct map' % len(regions))

    if args.picture or args.png:
        limit = max((hi for _, hi in nodes.values()), default=0) or max(e for _, e, _ in ranges)
        grid = cells(ranges, regions, limit)
        if args.picture:
            print('\none character per 2M, %d per row (%s); G 1G, M 2M, 4 split to 4K, '
                  'P pool region, x not present, . no memory' % (args.width,
                                                                  mib(args.width * SZ_2M)))
            for i in range(0, len(grid), args.width):
                print('%#011x %s' % (i * SZ_2M, ''.join(grid[i:i + args.width])))
        if args.png:
            title = 'Direct map, one cell per 2M: %s' % (
                os.path.basename(os.path.normpath(args.snapshot)) if args.snapshot
                else 'running kernel')
            if not (shutil.which('gnuplot') and plot_png(args.png, grid, args.width, title)):
                write_png(args.png, grid, args.width)	# plain cells, no legend
            print('wrote %s' % args.png)
    return 0


if __name__ == '__main__':
    sys.exit(main())
