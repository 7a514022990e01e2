#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""tlbmodel.py: the TLB model's host side.

  tlbmodel.py layout PTDUMP [-o OUT]
      the direct map's layout from the kernel's page-table dump
      (/sys/kernel/debug/page_tables/kernel, or a snapshot directory holding
      page_tables), as tlbsim reads it: "START END SHIFT" per mapped range.

  tlbmodel.py replay [-w PERCENT] [-c CORE]... -l NAME=PTDUMP_OR_LAYOUT... TRACE.bin...
      one trace (the .bin files of one segment, a vCPU each) through each
      core's model for each layout; with two or more layouts it is the
      what-if comparison: the same accesses, only the layout differs.

  tlbmodel.py bench LOGDIR [--csv FILE]
      a bench boot run with the dmtrace plugin (scripts/guest/jobs/bench
      with sp.tlbtrace=1): its tap.log names each segment's workload, mode
      and phase and the snapshot of the layout at that moment; each segment
      is replayed against its own layout and against the boot's layout,
      per core: from empty TLBs, and in the steady state (warm_*: after
      the first 20% of the trace).  Prints "TLBMODEL key=value ..." lines,
      one per segment, core and layout, for benchmarks/report.py.  The
      replays run in parallel, one per CPU.

The simulator (tlbsim) and the plugin (dmtrace.so) are built by
"make -C tools/perf-scripts/tlbmodel" (OUT= for another directory); the
geometries and their sources are in geometries.txt.
"""
import argparse
import concurrent.futures
import glob
import importlib.util
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
GEOMETRIES = os.path.join(HERE, 'geometries.txt')
DEFAULT_CORES = ('golden-cove', 'zen4')
SHIFT = {'4K': 12, '2M': 21, '1G': 30}


def _inspect():
    spec = importlib.util.spec_from_file_location(
        'directmap_inspect', os.path.join(HERE, '..', 'directmap-inspect.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def cores_in(path=GEOMETRIES):
    """The core names of a geometry file, in order."""
    seen = []
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith('#'):
                name = line.split()[0]
                if name not in seen:
                    seen.append(name)
    return seen


def layout_lines(text):
    """tlbsim's layout lines from page-table dump text."""
    out = []
    for start, end, kind in _inspect().parse_ptdump(text):
        if kind not in SHIFT:
            continue
        # Merge with the previous range of the same size where they touch.
        if out and out[-1][2] == SHIFT[kind] and out[-1][1] == start:
            out[-1][1] = end
        else:
            out.append([start, end, SHIFT[kind]])
    return ['%x %x %d' % tuple(r) for r in out]


def read_ptdump(src):
    path = os.path.join(src, 'page_tables') if os.path.isdir(src) else src
    with open(path, errors='replace') as f:
        return f.read()


def layout_file(src, tmpdir):
    """A layout file for SRC (a layout already, a dump, or a snapshot)."""
    if not os.path.isdir(src):
        with open(src, errors='replace') as f:
            head = f.read(4096)
        if re.match(r'^(#.*\n)*[0-9a-f]+ [0-9a-f]+ (12|21|30)\n', head):
            return src
    lines = layout_lines(read_ptdump(src))
    if not lines:
        raise SystemExit('tlbmodel: no direct map in %s' % src)
    fd, path = tempfile.mkstemp(suffix='.layout', dir=tmpdir)
    with os.fdopen(fd, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def tlbsim_binary():
    for cand in (os.environ.get('TLBSIM'),
                 os.path.join(HERE, 'tlbsim'),
                 os.path.join(HERE, '..', '..', '..', 'build', 'tlbmodel', 'tlbsim')):
        if cand and os.access(cand, os.X_OK):
            return cand
    raise SystemExit('tlbmodel: tlbsim not built (make -C tools/perf-scripts/tlbmodel, '
                     'or set TLBSIM)')


def parse_kv(line):
    return dict(w.split('=', 1) for w in line.split() if '=' in w)


def run_tlbsim(core, layouts, traces, geometries=GEOMETRIES, warm_pct=None):
    """[{key: value}] per layout, from tlbsim (warm_pct: the part of each
    trace that warms the TLBs before the warm_* figures count; tlbsim's
    default 20 when None)."""
    cmd = [tlbsim_binary(), '-g', geometries, '-c', core]
    if warm_pct is not None:
        cmd += ['-w', str(warm_pct)]
    for name, path in layouts:
        cmd += ['-l', '%s=%s' % (name, path)]
    cmd += traces
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit('tlbmodel: tlbsim failed: %s' % r.stderr.strip())
    return [parse_kv(line) for line in r.stdout.splitlines() if line.startswith('layout=')]


def cmd_layout(args):
    lines = layout_lines(read_ptdump(args.src))
    if not lines:
        print('tlbmodel: no direct map in %s' % args.src, file=sys.stderr)
        return 1
    text = '# direct-map layout from %s\n' % args.src + '\n'.join(lines) + '\n'
    if args.o:
        with open(args.o, 'w') as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


def cmd_replay(args):
    with tempfile.TemporaryDirectory() as tmp:
        layouts = []
        for spec in args.l:
            name, _, src = spec.partition('=')
            if not src:
                name, src = os.path.basename(spec.rstrip('/')), spec
            layouts.append((name, layout_file(src, tmp)))
        for core in args.c or DEFAULT_CORES:
            res = run_tlbsim(core, layouts, args.traces, args.g, args.warm)
            base = None
            for r in res:
                walks = float(r['walks_pka'])
                line = ('%-12s %-16s accesses=%s l1_misses/1000=%s walks/1000=%s '
                        'steady state: %s %s unmapped=%s'
                        % (core, r['layout'], r['accesses'], r['l1_mpka'],
                           r['walks_pka'], r['warm_l1_mpka'], r['warm_walks_pka'],
                           r['unmapped']))
                if base is None:
                    base = (float(r['l1_mpka']), walks)
                else:
                    line += '  (vs %s: l1 %+.2f%%, walks %+.2f%%)' % (
                        res[0]['layout'], pct(float(r['l1_mpka']), base[0]),
                        pct(walks, base[1]))
                print(line)
    return 0


def pct(v, ref):
    return 100.0 * (v - ref) / ref if ref else float('nan')


def segments(tap):
    """The TLBTRACE lines of a bench log: segment number -> fields."""
    segs = {}
    with open(tap, errors='replace') as f:
        for line in f:
            if line.startswith('RESULT ') and 'scenario=tlbtrace' in line:
                kv = parse_kv(line)
                segs[int(kv['seg'])] = kv
    return segs


def cmd_bench(args):
    logdir = args.logdir
    tap = os.path.join(logdir, 'tap.log')
    snapdir = os.path.join(logdir, 'snapshots')
    tracedir = os.path.join(logdir, 'traces')
    subprocess.run([sys.executable, os.path.join(HERE, '..', '..', '..', 'scripts',
                                                 'extract-files.py'), tap, snapdir],
                   check=True, stdout=subprocess.DEVNULL)
    segs = segments(tap)
    if not segs:
        print('tlbmodel: no trace segments named in %s' % tap, file=sys.stderr)
        return 1
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = {}

        def lay(snap):
            if snap not in cache:
                cache[snap] = layout_file(os.path.join(snapdir, snap), tmp)
            return cache[snap]

        jobs = []
        for seg in sorted(segs):
            kv = segs[seg]
            traces = sorted(glob.glob(os.path.join(tracedir, 'trace.%d.*.bin' % seg)))
            if not traces:
                print('tlbmodel: segment %d (%s) has no trace files' % (seg, kv.get('work')),
                      file=sys.stderr)
                return 1
            layouts = [('own', lay(kv['layout'])), ('boot', lay(kv['boot']))]
            for core in args.c or DEFAULT_CORES:
                jobs.append((kv, core, layouts, traces))
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as ex:
            results = list(ex.map(lambda j: run_tlbsim(j[1], j[2], j[3]), jobs))
        for (kv, core, _, _), res in zip(jobs, results):
            for r in res:
                row = dict(kv)
                row.update(r)
                row.pop('scenario', None)
                rows.append(row)
    keys = ('mode', 'memory', 'work', 'phase', 'rep', 'seg', 'layout', 'core',
            'accesses', 'records', 'l1_misses', 'walks', 'walks_4k', 'walks_2m',
            'walks_1g', 'unmapped', 'l1_mpka', 'walks_pka', 'all_accesses',
            'other_l1_misses', 'other_walks', 'warm_accesses', 'warm_l1_misses',
            'warm_walks', 'warm_l1_mpka', 'warm_walks_pka')
    for row in rows:
        print('TLBMODEL ' + ' '.join('%s=%s' % (k, row.get(k, '')) for k in keys))
    if args.csv:
        with open(args.csv, 'w') as f:
            f.write(','.join(keys) + '\n')
            for row in rows:
                f.write(','.join(str(row.get(k, '')) for k in keys) + '\n')
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('layout')
    p.add_argument('src')
    p.add_argument('-o')
    p = sub.add_parser('replay')
    p.add_argument('-c', action='append', help='core (geometries.txt); default: %s'
                   % ', '.join(DEFAULT_CORES))
    p.add_argument('-l', action='append', required=True, help='NAME=PTDUMP|SNAPSHOT|LAYOUT')
    p.add_argument('-g', default=GEOMETRIES)
    p.add_argument('-w', '--warm', type=float, default=None,
                   help='percent of each trace that warms the TLBs before the '
                   'steady-state (warm_*) figures count (default 20)')
    p.add_argument('traces', nargs='+')
    p = sub.add_parser('bench')
    p.add_argument('logdir')
    p.add_argument('-c', action='append')
    p.add_argument('--csv')
    args = ap.parse_args(argv)
    return {'layout': cmd_layout, 'replay': cmd_replay, 'bench': cmd_bench}[args.cmd](args)


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
