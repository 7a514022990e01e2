#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""test-report.py: benchmarks/report.py on made-up boots whose figures are
known: one boot per column (stock, upstream, pool), fault runs beside a
shmem floor, kernel-heavy workloads, and TLBMODEL lines.  Checks the
medians, the confidence intervals, the ratios against the same boot's
floor, the TLB model's paired differences, the numeric CSVs and that the
whole report (plots included, when gnuplot is there) is written.  TAP."""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import report  # noqa: E402

n = 0
failed = 0


def check(ok, name, detail=''):
    global n, failed
    n += 1
    print('%s %d - %s' % ('ok' if ok else 'not ok', n, name))
    if not ok:
        failed += 1
        for line in str(detail).splitlines()[:20]:
            print('#   ' + line)


def boot(tmp, name, mode, kernel, shmem, secret, kwork, tlb=None):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    lines = ['RESULT scenario=machine memory=fresh cpus=2 nodes=2 mem_kb=4000000 '
             'kernel=%s modes=%s' % (kernel, mode),
             'RESULT memory=fresh mode=%s scenario=longlived secrets=100 pin_kb=4 '
             'l2_splits=%d l3_splits=0 dm4k_kb=0 blocks_2m=1' % (mode, 0 if mode == 'pool' else 7)]
    for rep, (a, b) in enumerate(zip(shmem, secret), 1):
        lines.append('RESULT memory=fresh rep=%d scenario=fault mode=shmem threads=1 '
                     'fault_pps=%d free_pps=%d cycle_pps=%d cycle_all_pps=%d cpu_pps=%d'
                     % (rep, a, a, a, a, a))
        lines.append('RESULT memory=fresh rep=%d scenario=fault mode=%s threads=1 '
                     'fault_pps=%d free_pps=%d cycle_pps=%d cycle_all_pps=%d cpu_pps=%d'
                     % (rep, mode, b, b, b, b, b))
    for rep, v in enumerate(kwork, 1):
        lines.append('RESULT phase=held rep=%d memory=fresh mode=%s scenario=kwork work=msg '
                     'ops=1 secs=1.0 ops_s=%d' % (rep, mode, v))
    lines.append('RESULT scenario=fio memory=fresh stage=boot job=seq read_kibs=1024 '
                 'write_kibs=0')
    with open(os.path.join(d, 'tap.log'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    paths = [os.path.join(d, 'tap.log')]
    if tlb:
        t = os.path.join(tmp, 'tlb-' + name)
        os.makedirs(t)
        with open(os.path.join(t, 'tlbmodel.txt'), 'w') as f:
            for seg, (own, base) in enumerate(tlb, 1):
                for layout, v in (('own', own), ('boot', base)):
                    f.write('TLBMODEL mode=%s memory=fresh work=msg phase=held rep=%d seg=%d '
                            'layout=%s core=zen4 walks_pka=%s l1_mpka=%s warm_walks_pka=%s\n'
                            % (mode, seg, seg, layout, v, v, v))
        paths.append(os.path.join(t, 'tlbmodel.txt'))
    return paths


def main():
    print('TAP version 13')
    tmp = tempfile.mkdtemp(prefix='report-test.')
    try:
        paths = []
        paths += boot(tmp, 'bench-fresh-stock', 'stock', '6.1-stock',
                      [100000, 100000, 100000], [20000, 25000, 30000], [100, 110, 120],
                      tlb=[(2.0, 1.0), (2.2, 1.0), (2.4, 1.2)])
        paths += boot(tmp, 'bench-fresh-upstream', 'upstream', '6.1-secretpool',
                      [90000, 90000, 90000], [18000, 18000, 18000], [100, 100, 100])
        paths += boot(tmp, 'bench-fresh-pool', 'pool', '6.1-secretpool',
                      [80000, 80000, 80000], [80000, 72727, 76190], [120, 120, 120],
                      tlb=[(1.0, 1.0), (1.0, 1.0), (1.1, 1.0)])
        # The traced reserve boot: TLBMODEL lines only, its layout the
        # same as the boot's, and no walks at all in the steady state.
        t = os.path.join(tmp, 'tlb-fresh-reserve')
        os.makedirs(t)
        with open(os.path.join(t, 'tlbmodel.txt'), 'w') as f:
            for seg in (1, 2, 3):
                for layout in ('own', 'boot'):
                    f.write('TLBMODEL mode=reserve memory=fresh work=msg phase=held rep=%d '
                            'seg=%d layout=%s core=zen4 walks_pka=1.0 l1_mpka=1.0 '
                            'warm_walks_pka=0.0\n' % (seg, seg, layout))
        paths.append(os.path.join(t, 'tlbmodel.txt'))
        rows = report.parse(paths)
        tabs = {t.name: t for t in report.tables(rows)}

        thr = tabs.get('throughput-fresh')
        check(thr is not None and thr.headers[2:] == ['shmem', 'stock', 'upstream', 'pool'],
              'throughput table: shmem floor, then stock, upstream, pool',
              thr and thr.headers)
        fault = thr.body[0] if thr else []
        # stock: median 25000 against its own boot's floor 100000 = 4.00x;
        # the CI of 20000/25000/30000: t(2)=4.303 * 5000/sqrt(3) = 12422,
        # 50% of the median.
        check(len(fault) > 3 and fault[3] == '25000 ±50% (4.00x)',
              "a mode's ratio is to its own boot's floor; CI of the mean in %", fault)
        check(len(fault) > 5 and fault[5].endswith('(1.05x)'),
              'pool: 76190 against its floor 80000 = 1.05x', fault)
        check(len(fault) > 4 and fault[4] == '18000 ±0% (5.00x)', 'upstream: no spread, 5.00x',
              fault)

        kw = tabs.get('kwork-fresh')
        # 100/110/120: sd 10, CI 4.303 * 10 / sqrt(3) = 24.8, 23% of 110.
        check(kw is not None and kw.body[0][1:] == ['110 ±23%', '100 ±0% (0.91x)',
                                                    '120 ±0% (1.09x)'],
              'kernel-heavy: medians, CIs, throughput relative to stock', kw and kw.body)

        tl = tabs.get('tlbmodel-fresh-walks')
        row = tl.body[0] if tl else []
        # stock: differences 1.0, 1.2, 1.2 -> median 1.2, mean 1.1333,
        # sd 0.11547, CI 4.303 * 0.11547 / sqrt(3) = 0.2869; excess % median
        # of 100, 120, 100 = 100.
        check(row[:3] == ['zen4', 'msg, held', '2.2000 (+1.2000 ±0.2869, +100%)'],
              'TLB model: own layout, paired difference with CI, excess in %', row)
        # pool: differences 0, 0, 0.1: sd 0.0577, CI 0.1434.
        check(len(row) > 3 and row[3] == '1.0000 (+0.0000 ±0.1434, +0%)',
              'TLB model: the pool column', row)

        check(tl is not None and tl.headers[-1] == 'reserve' and
              row[-1] == '1.0000 (+0.0000 ±0.0000, +0%)',
              'TLB model: the traced reserve boot is a column of its own', tl and tl.headers)
        tg = report.t_targets(rows)
        want = {r[0]: r[1:] for r in (tg.body if tg else [])}
        res = want.get('reserve layout: modelled walks vs the boot layout, zen4, steady state, '
                       'fresh memory', [])
        pool = want.get('pool layout: modelled walks vs the boot layout, zen4, steady state, '
                        'fresh memory', [])
        check(res[1:] == ['within 2%', 'yes'] and pool[1:] == ['within 2%', 'yes'],
              'targets: the reserve layout is judged against 2% as the pool\'s is',
              tg and tg.body)
        check(res[:1] == ['no walks on either layout in 3 traces'],
              'targets: traces without walks on either layout are said, not dropped',
              tg and tg.body)

        fio = tabs.get('fio-fresh')
        check(fio is not None and len(fio.body) == 3,
              'fio: one row per boot, none dropped', fio and fio.body)

        out = os.path.join(tmp, 'out')
        r = subprocess.run([sys.executable, os.path.join(HERE, 'report.py'), 'bench', out] + paths,
                           capture_output=True, text=True)
        md = open(os.path.join(out, 'RESULTS.md')).read() if r.returncode == 0 else ''
        check(r.returncode == 0 and '## Provenance' in md and 'TLB model, fresh memory' in md,
              'report.py bench writes RESULTS.md with provenance and the TLB model',
              r.stdout + r.stderr)
        if shutil.which('gnuplot'):
            check(os.path.isdir(os.path.join(out, 'plots')) and
                  any(p.endswith('.png') for p in os.listdir(os.path.join(out, 'plots'))),
                  'the plots are drawn', r.stdout + r.stderr)
        rows_csv = []
        p = os.path.join(out, 'csv', 'throughput-fresh.csv')
        if os.path.exists(p):
            with open(p) as f:
                rows_csv = list(csv.DictReader(f))
        stock = [x for x in rows_csv if x['row'] == '1 / fault' and x['column'] == 'stock']
        check(stock and stock[0]['value'] == '25000' and stock[0]['ci_pct'] == '50'
              and stock[0]['ratio'] == '4.00',
              'CSV cells are numbers in their own fields', rows_csv[:3])
        nonnum = [x for x in rows_csv if x['value'] and not x['value'].replace('.', '').isdigit()]
        check(rows_csv and not nonnum, 'no formatted strings in the value column', nonnum)
    finally:
        shutil.rmtree(tmp)
    print('1..%d' % n)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
