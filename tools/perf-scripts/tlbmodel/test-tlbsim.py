#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""test-tlbsim.py [BUILD_DIR]: the TLB model on synthetic traces whose
answers are known by hand, the page-table dump to layout conversion, the
shipped geometries, and the plugin's loading into QEMU.  TAP output;
exit status 1 on any failure.  Builds tlbsim and dmtrace.so into BUILD_DIR
(default: a temporary directory)."""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tlbmodel  # noqa: E402

results = []


def check(name, ok, detail=''):
    results.append(ok)
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(results), name))
    if not ok and detail:
        for line in str(detail).splitlines():
            print('#   ' + line)


def write_trace(path, pages):
    """A trace file as the plugin writes it: PAGES are direct-map 4K page
    indexes, or (page, class) pairs; consecutive repeats are folded, and
    the .txt counts the accesses before folding."""
    recs = [(p << 2) | c for p, c in (x if isinstance(x, tuple) else (x, 0) for x in pages)]
    folded = [r for i, r in enumerate(recs) if i == 0 or recs[i - 1] != r]
    with open(path, 'wb') as f:
        f.write(struct.pack('<%dQ' % len(folded), *folded))
    with open(path[:-4] + '.txt', 'w') as f:
        f.write('segment 1\nvcpu 0\naccesses %d\ndm_accesses %d\nrecords %d\n'
                % (len(recs), sum(1 for r in recs if r & 3 == 0), len(folded)))
    return path


def write(path, text):
    with open(path, 'w') as f:
        f.write(text)
    return path


def sim(tmp, geometry, layouts, traces, core='t'):
    geo = write(os.path.join(tmp, 'geo.txt'), geometry)
    return tlbmodel.run_tlbsim(core, layouts, traces, geo)


def main():
    print('TAP version 13')
    build = sys.argv[1] if len(sys.argv) > 1 else None
    tmp = tempfile.mkdtemp(prefix='tlbsim-test.')
    try:
        out = build or tmp
        os.makedirs(out, exist_ok=True)
        r = subprocess.run(['make', '-s', '-C', HERE, 'OUT=' + os.path.abspath(out)],
                           capture_output=True, text=True)
        check('tlbsim and dmtrace.so build without warnings',
              r.returncode == 0 and not r.stderr.strip(), r.stderr)
        if r.returncode:
            print('1..%d' % len(results))
            return 1
        os.environ['TLBSIM'] = os.path.join(os.path.abspath(out), 'tlbsim')
        run(tmp, os.path.abspath(out))
    finally:
        shutil.rmtree(tmp)
    print('1..%d' % len(results))
    return 0 if all(results) else 1


def run(tmp, out):
    # Layouts: 8 MiB as 4K pages, or as four 2M pages; 2 GiB as 1G pages.
    l4k = write(os.path.join(tmp, '4k.layout'), '0 800000 12\n')
    l2m = write(os.path.join(tmp, '2m.layout'), '0 800000 21\n')
    l1g = write(os.path.join(tmp, '1g.layout'), '0 80000000 30\n')
    fa4 = 't l1 a 4 4 4k,2m,1g\n'

    # 1. A cyclic working set one larger than a fully associative LRU
    #    level misses every time; one smaller than it, only the first time.
    t = write_trace(os.path.join(tmp, 'cyc5.bin'), list(range(5)) * 100)
    res = sim(tmp, fa4, [('4k', l4k)], [t])[0]
    check('cyclic 5 pages over 4 LRU entries: 500 misses of 500',
          res['l1_misses'] == '500' and res['walks'] == '500', res)
    t = write_trace(os.path.join(tmp, 'cyc4.bin'), list(range(4)) * 100)
    res = sim(tmp, fa4, [('4k', l4k)], [t])[0]
    check('cyclic 4 pages over 4 LRU entries: 4 cold misses',
          res['l1_misses'] == '4' and res['walks'] == '4', res)

    # 2. Two levels: the L2 catches what the L1 loses, until it too is
    #    one short.
    two = fa4 + 't l2 b 8 8 4k,2m,1g\n'
    t = write_trace(os.path.join(tmp, 'cyc5.bin'), list(range(5)) * 100)
    res = sim(tmp, two, [('4k', l4k)], [t])[0]
    check('5 pages, L1 4 + L2 8: every access misses L1, 5 walks',
          res['l1_misses'] == '500' and res['walks'] == '5', res)
    t = write_trace(os.path.join(tmp, 'cyc9.bin'), list(range(9)) * 100)
    res = sim(tmp, two, [('4k', l4k)], [t])[0]
    check('9 pages, L1 4 + L2 8: 900 walks', res['walks'] == '900', res)

    # 3. The layout's effect: 512 pages of one 2M range; the same trace,
    #    two layouts (the what-if), and a 1G layout.
    t = write_trace(os.path.join(tmp, 'span.bin'), list(range(512)) * 4)
    res = sim(tmp, fa4, [('4k', l4k), ('2m', l2m), ('1g', l1g)], [t])
    check('512 pages as 4K: 2048 misses; as one 2M page: 1; as 1G: 1',
          [r['l1_misses'] for r in res] == ['2048', '1', '1']
          and [r['layout'] for r in res] == ['4k', '2m', '1g'], res)
    check('walks by page size follow the layout',
          res[0]['walks_4k'] == '2048' and res[1]['walks_2m'] == '1'
          and res[2]['walks_1g'] == '1', res)

    # 4. Set associativity: 2 sets x 2 ways.  Pages 0, 2, 4 share set 0 and
    #    thrash it although 4 entries exist; 0..3 spread and fit.
    sa = 't l1 a 4 2 4k\n'
    t = write_trace(os.path.join(tmp, 'set.bin'), [0, 2, 4] * 50)
    res = sim(tmp, sa, [('4k', l4k)], [t])[0]
    check('3 pages in one 2-way set: 150 misses of 150', res['l1_misses'] == '150', res)
    t = write_trace(os.path.join(tmp, 'spread.bin'), [0, 1, 2, 3] * 50)
    res = sim(tmp, sa, [('4k', l4k)], [t])[0]
    check('4 pages over 2 sets of 2 ways: 4 cold misses', res['l1_misses'] == '4', res)

    # 5. Separate arrays per page size (Intel's L1): 2 entries of each
    #    hold 2 4K and 2 2M pages together.
    mixed = write(os.path.join(tmp, 'mixed.layout'), '0 400000 12\n400000 800000 21\n')
    sep = 't l1 a4k 2 2 4k\nt l1 a2m 2 2 2m\n'
    pages = [0, 1, 0x400, 0x600] * 50     # 4K, 4K, 2M page A, 2M page B
    t = write_trace(os.path.join(tmp, 'mix.bin'), pages)
    res = sim(tmp, sep, [('mixed', mixed)], [t])[0]
    check('2 4K + 2 2M pages in separate 2-entry arrays: 4 misses',
          res['l1_misses'] == '4', res)
    shared = 't l1 a 2 2 4k,2m\n'
    res = sim(tmp, shared, [('mixed', mixed)], [t])[0]
    check('the same in one shared 2-entry array: 200 misses', res['l1_misses'] == '200', res)

    # 5b. Two arrays of a level holding 4K (Golden Cove's STLB halves)
    #     hold 4K pages together: 2 + 2 entries keep a 4-page cycle, not 5.
    halves = 't l1 a 1 1 2m\nt l2 h1 2 2 4k,2m\nt l2 h2 2 2 4k,1g\n'
    t = write_trace(os.path.join(tmp, 'h4.bin'), list(range(4)) * 10)
    r4 = sim(tmp, halves, [('4k', l4k)], [t])[0]
    t = write_trace(os.path.join(tmp, 'h5.bin'), list(range(5)) * 10)
    r5 = sim(tmp, halves, [('4k', l4k)], [t])[0]
    check('4K pages fill both arrays that hold them: 4 pages 4 walks, 5 pages 50',
          r4['walks'] == '4' and r5['walks'] == '50', (r4, r5))

    # 6. A 1G page kept as 2M pieces ("1g>2m"): two pieces of one 1G page
    #    alternate in a 1-entry L2 and miss every time; kept whole, once.
    smash = 't l1 a 1 1 4k\nt l2 b 1 1 1g>2m\n'
    whole = 't l1 a 1 1 4k\nt l2 b 1 1 1g\n'
    t = write_trace(os.path.join(tmp, 'pieces.bin'), [0, 0x200] * 10)
    res_s = sim(tmp, smash, [('1g', l1g)], [t])[0]
    res_w = sim(tmp, whole, [('1g', l1g)], [t])[0]
    check('1G as 2M pieces: 20 walks; as one 1G entry: 1 walk',
          res_s['walks'] == '20' and res_w['walks'] == '1', (res_s, res_w))

    # 7. Pages no range maps (the pool's regions) are counted, not looked up.
    holes = write(os.path.join(tmp, 'holes.layout'), '0 200000 21\n400000 600000 21\n')
    t = write_trace(os.path.join(tmp, 'holes.bin'), [0, 0x200, 0x201, 0x400, 0x9000])
    res = sim(tmp, fa4, [('holes', holes)], [t])[0]
    check('unmapped pages counted apart: 3 unmapped, 2 misses',
          res['unmapped'] == '3' and res['l1_misses'] == '2', res)

    # 8. Rates per 1,000 accesses count the folded repeats (from the .txt).
    t = write_trace(os.path.join(tmp, 'rep.bin'), [0] * 10 + [1] * 10 + [2] * 10 + [3] * 10 + [4] * 10)
    res = sim(tmp, fa4, [('4k', l4k)], [t])[0]
    check('50 accesses, 5 records, 5 misses: 100 per 1000',
          res['accesses'] == '50' and res['records'] == '5' and res['l1_mpka'] == '100.0000', res)

    # 8b. Other pages compete for the entries but are counted apart: four
    #     user pages between two uses of a direct-map page evict it from 4
    #     LRU entries; a user page and a direct-map page with the same
    #     number are different entries.
    t = write_trace(os.path.join(tmp, 'comp.bin'),
                    [0, (1, 1), (2, 1), (3, 1), (4, 1)] * 10)
    res = sim(tmp, fa4, [('4k', l4k)], [t])[0]
    check('user pages evict the direct map: 10 misses in 10, other 40',
          res['l1_misses'] == '10' and res['other_l1_misses'] == '40'
          and res['accesses'] == '10' and res['all_accesses'] == '50', res)
    t = write_trace(os.path.join(tmp, 'alias.bin'), [5, (5, 1), (5, 2)] * 10)
    res = sim(tmp, fa4, [('4k', l4k)], [t])[0]
    check('page 5 of the direct map, of user space and as a 2M page: 3 entries',
          res['l1_misses'] == '1' and res['other_l1_misses'] == '2', res)

    # 9. Each trace file is a vCPU with a TLB of its own.
    a = write_trace(os.path.join(tmp, 'v0.bin'), list(range(4)) * 10)
    b = write_trace(os.path.join(tmp, 'v1.bin'), list(range(4)) * 10)
    res = sim(tmp, fa4, [('4k', l4k)], [a, b])[0]
    check('two vCPUs, 4 pages each: 8 cold misses', res['l1_misses'] == '8', res)

    # 9b. The steady state: the first 20% of the records warm the TLBs
    #     unmeasured, so a working set that fits has no misses left and
    #     one that thrashes still misses every time.
    t = write_trace(os.path.join(tmp, 'w4.bin'), list(range(4)) * 10)
    res = sim(tmp, fa4, [('4k', l4k)], [t])[0]
    t5 = write_trace(os.path.join(tmp, 'w5.bin'), list(range(5)) * 10)
    res5 = sim(tmp, fa4, [('4k', l4k)], [t5])[0]
    check('steady state: 4 pages in 4 entries miss 0 times, 5 pages 40 of 40',
          res['warm_l1_misses'] == '0' and res['l1_misses'] == '4'
          and res5['warm_l1_misses'] == '40' and res5['warm_accesses'] == '40'
          and res5['warm_l1_mpka'] == '1000.0000', (res, res5))
    r = subprocess.run([os.environ['TLBSIM'], '-w', '50', '-g', os.path.join(tmp, 'geo.txt'),
                        '-c', 't', '-l', 'x=' + l4k, t5], capture_output=True, text=True)
    check('-w 50: the second half of the records counts', 'warm_l1_misses=25 ' in r.stdout,
          r.stdout + r.stderr)

    # 10. Bad input is refused, not simulated.
    r = subprocess.run([os.environ['TLBSIM'], '-g', write(os.path.join(tmp, 'bad.txt'), 't l1 a 6 4 4k\n'),
                        '-c', 't', '-l', 'x=' + l4k, a], capture_output=True, text=True)
    check('a geometry whose entries are not a multiple of its ways is refused',
          r.returncode == 2 and 'multiple' in r.stderr, r.stderr)
    bad = write(os.path.join(tmp, 'bad.layout'), '1000 201000 21\n')
    r = subprocess.run([os.environ['TLBSIM'], '-g', write(os.path.join(tmp, 'g.txt'), fa4),
                        '-c', 't', '-l', 'x=' + bad, a], capture_output=True, text=True)
    check('a 2M range not aligned to 2M is refused', r.returncode == 2 and 'aligned' in r.stderr,
          r.stderr)

    # 11. The page-table dump becomes a layout: 1G, 2M and 4K ranges,
    #     not-present ones left out, other sections ignored.
    dump = '''---[ User Space ]---
0x0000000000000000-0xffff888000000000   17179869184G                               pgd
---[ Kernel Space ]---
0xffff800000000000-0xffff888000000000        8704G                               pgd
---[ Low Kernel Mapping ]---
0xffff888000000000-0xffff888000200000           2M     RW                 GLB NX pte
0xffff888000200000-0xffff888040000000        1022M     RW         PSE     GLB NX pmd
0xffff888040000000-0xffff888080000000           1G     RW         PSE     GLB NX pud
0xffff888080000000-0xffff888080400000           4M     RW         PSE     GLB NX pmd
0xffff888080400000-0xffff888080600000           2M                               pmd
0xffff888080600000-0xffff8880c0000000        1018M     RW         PSE     GLB NX pmd
0xffff8880c0000000-0xffff888100000000           1G     RW         PSE     GLB NX pud
---[ vmalloc() Area ]---
0xffffc90000000000-0xffffc90000004000          16K     RW                 GLB NX pte
'''
    lines = tlbmodel.layout_lines(dump)
    want = ['0 200000 12', '200000 40000000 21', '40000000 80000000 30',
            '80000000 80400000 21', '80600000 c0000000 21', 'c0000000 100000000 30']
    check('page-table dump to layout: sizes, holes and sections', lines == want,
          '\n'.join(lines))

    # 12. The shipped geometries load, and the documented ones are there.
    cores = tlbmodel.cores_in()
    check('geometries.txt has golden-cove, skylake and zen4',
          all(c in cores for c in ('golden-cove', 'skylake', 'zen4')), cores)
    t = write_trace(os.path.join(tmp, 'g.bin'), list(range(0, 2048, 3)) * 3)
    ok, detail = True, []
    for core in cores:
        res = tlbmodel.run_tlbsim(core, [('4k', l4k), ('2m', l2m)], [t])
        detail.append((core, res[0]['walks'], res[1]['walks']))
        ok &= int(res[0]['walks']) >= int(res[1]['walks']) and res[1]['walks'] == '4'
    check('every shipped core: 4K layout walks >= 2M layout walks; 2M: 4 cold walks', ok, detail)

    # 12b. The plugin's recording logic, without QEMU (test-dmtrace.c
    #      includes dmtrace.c with stand-ins for QEMU's functions): markers
    #      name the segments, repeats fold, classes, a file per vCPU, the
    #      counts, nothing outside a segment.
    exe = os.path.join(tmp, 'test-dmtrace')
    r = subprocess.run(['cc', '-O1', '-Wall', '-Wextra', '-o', exe,
                        os.path.join(HERE, 'test-dmtrace.c')], capture_output=True, text=True)
    if r.returncode == 0:
        r = subprocess.run([exe, os.path.join(tmp, 'dm')], capture_output=True, text=True)

    def recs(name):
        try:
            with open(os.path.join(tmp, name), 'rb') as f:
                d = f.read()
            return list(struct.unpack('<%dQ' % (len(d) // 8), d))
        except OSError:
            return None

    def txt(name):
        try:
            with open(os.path.join(tmp, name)) as f:
                return dict(l.split() for l in f)
        except OSError:
            return {}
    want = [1 << 2, 0x200 << 2, (0x7f0000001 << 2) | 1, (0xffffffff81000 << 2) | 2,
            (0xffffea0000040 << 2) | 2, (0xffffc90000002 << 2) | 1]
    t3 = txt('dm.3.0.txt')
    check('plugin: segment 3 named by the marker, repeats folded, classes, counts',
          r.returncode == 0 and recs('dm.3.0.bin') == want and t3.get('accesses') == '8'
          and t3.get('dm_accesses') == '4' and t3.get('records') == '6'
          and t3.get('stores') == '3', (r.stdout, r.stderr, recs('dm.3.0.bin'), t3))
    check('plugin: a file per vCPU; nothing outside a segment; a marker at byte 0 starts '
          'the next; a segment open at exit is closed',
          recs('dm.3.1.bin') == [3 << 2] and recs('dm.4.0.bin') == [9 << 2]
          and txt('dm.4.0.txt').get('accesses') == '1'
          and not os.path.exists(os.path.join(tmp, 'dm.1.0.bin'))
          and not os.path.exists(os.path.join(tmp, 'dm.4.1.bin')),
          sorted(f for f in os.listdir(tmp) if f.startswith('dm.')))

    # 13. QEMU loads the plugin (it would refuse a wrong API version or a
    #     missing symbol at once); it is killed after 3 s of running.
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        check('qemu-system-x86_64 loads dmtrace.so # SKIP no qemu-system-x86_64', True)
        return
    r = subprocess.run(['timeout', '3', qemu, '-nodefaults', '-display', 'none', '-machine',
                        'q35', '-accel', 'tcg', '-cpu', 'max', '-m', '64', '-S',
                        '-plugin', os.path.join(out, 'dmtrace.so') + ',out=' +
                        os.path.join(tmp, 'qtrace')], capture_output=True, text=True)
    check('qemu-system-x86_64 loads dmtrace.so (still running after 3 s)',
          r.returncode == 124, 'exit %d: %s' % (r.returncode, r.stderr))


if __name__ == '__main__':
    sys.exit(main())
