#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""extract-files.py LOG DIR: save the files a guest job printed between
"# secretpool-file-begin: NAME" and "# secretpool-file-end: NAME" markers
(scripts/guest/lib.sh: snapshot) as DIR/NAME."""
import os
import sys


def main(log, outdir):
    cur, lines, n = None, [], 0
    with open(log, errors='replace') as f:
        for line in f:
            if line.startswith('# secretpool-file-begin: '):
                cur, lines = line.split(': ', 1)[1].strip(), []
            elif line.startswith('# secretpool-file-end: ') and cur:
                path = os.path.join(outdir, cur)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, 'w') as out:
                    out.writelines(lines)
                cur, n = None, n + 1
            elif cur is not None:
                lines.append(line.replace('\r\n', '\n'))
    return n


if __name__ == '__main__':
    if len(sys.argv) != 3:
        print(__doc__)
        sys.exit(2)
    print('%d files saved under %s' % (main(sys.argv[1], sys.argv[2]), sys.argv[2]))
