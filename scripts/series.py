#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The patch series a kernel builder takes home, and its checks.

    scripts/series.py export   write build/series/: git format-patch output
                               for 6.1.y, a cover letter and one patch per
                               commit of patches/export/plan
    scripts/series.py check    export, then "git am" the series onto the
                               pristine files it touches (from the
                               tarball) and check that every file is the
                               one build/linux holds: TAP on stdout (the
                               suite series/git-am of ./run-tests)
    scripts/series.py full     the same against a git repository of the
                               whole tarball, and a diff of the whole tree
                               against build/linux
    scripts/series.py bisect   full, then build the test kernel's
                               configuration at every commit of the series
                               (ccache; O=build/obj-bisect)

build/linux must have been prepared (scripts/prepare-tree.sh): it is the
tree ./run-tests builds, Debian's linux-source-6.1 with the quilt series in
patches/ applied and our files linked in.  The series is made from the same
inputs (patches/*.patch and our files), grouped into commits by
patches/export/plan, starting from the tarball's own files: so the check
compares two independent routes from the same tarball.

Environment: LINUX_TARBALL (default /usr/src/linux-source-6.1.tar.xz).
"""

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, 'build')
SRC = os.path.join(BUILD, 'linux')
PATCHES = os.path.join(ROOT, 'patches')
EXPORT = os.path.join(PATCHES, 'export')
OUT = os.path.join(BUILD, 'series')
TARBALL = os.environ.get('LINUX_TARBALL', '/usr/src/linux-source-6.1.tar.xz')

# Our files at kernel paths: what scripts/prepare-tree.sh links in.
OWNED_DIRS = ['mm', 'include', 'arch', 'lib', 'Documentation',
              'tools/testing/selftests/secretmem']


class SeriesError(Exception):
    pass


def log(msg):
    print('[series] %s' % msg, file=sys.stderr)


def run(cmd, cwd=None, env=None, stdin=None, quiet=True):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdin=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if p.returncode:
        raise SeriesError('%s (in %s) failed:\n%s' %
                          (' '.join(cmd), cwd or '.', p.stdout.strip()))
    return p.stdout


# --- the plan --------------------------------------------------------------

class Commit:
    def __init__(self, lineno):
        self.lineno = lineno
        self.msg = None
        self.quilt = []
        self.files = []


def read_plan():
    commits = []
    path = os.path.join(EXPORT, 'plan')
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            words = line.split()
            if words[0] == 'commit' and len(words) == 1:
                commits.append(Commit(n))
            elif not commits:
                raise SeriesError('%s:%d: "%s" before any "commit"'
                                  % (path, n, line))
            elif words[0] == 'msg' and len(words) == 2:
                commits[-1].msg = words[1]
            elif words[0] == 'quilt' and len(words) == 2:
                commits[-1].quilt.append(words[1])
            elif words[0] == 'file' and len(words) == 2:
                commits[-1].files.append(words[1])
            else:
                raise SeriesError('%s:%d: cannot read "%s"' % (path, n, line))
    return commits


def tracked_files(path):
    """Our files under @path (a file or a directory), as git knows them."""
    out = run(['git', 'ls-files', '--', path], cwd=ROOT)
    return sorted(out.split())


def quilt_series():
    with open(os.path.join(PATCHES, 'series')) as f:
        return [l.strip() for l in f
                if l.strip() and not l.lstrip().startswith('#')]


def owned_files():
    files = []
    for d in OWNED_DIRS:
        if os.path.isdir(os.path.join(ROOT, d)):
            files += tracked_files(d)
    return sorted(files)


def check_plan(commits):
    """Every quilt patch and every file of ours exactly once."""
    problems = []
    seen_q, seen_f = {}, {}
    for c in commits:
        if not c.quilt and not c.files:
            problems.append('plan line %d: an empty commit' % c.lineno)
        if not c.msg and not c.quilt:
            problems.append('plan line %d: no message' % c.lineno)
        for q in c.quilt:
            if q in seen_q:
                problems.append('%s is in two commits' % q)
            seen_q[q] = c
        for p in c.files:
            expanded = tracked_files(p)
            if not expanded:
                problems.append('plan line %d: no file of ours at %s'
                                % (c.lineno, p))
            for f in expanded:
                if f in seen_f:
                    problems.append('%s is in two commits' % f)
                seen_f[f] = c
    for q in quilt_series():
        if q not in seen_q:
            problems.append('patches/%s is in no commit' % q)
    for q in seen_q:
        if q not in quilt_series():
            problems.append('%s is not in patches/series' % q)
    for f in owned_files():
        if f not in seen_f:
            problems.append('%s is in no commit' % f)
    return problems


# --- messages --------------------------------------------------------------

def parse_header(text, where):
    """(author, subject, body) from a From:/Subject: header and body."""
    m = re.match(r'From: (.+?)\nSubject: (?:\[PATCH[^\]]*\] )?(.+?)\n\n(.*)',
                 text, re.S)
    if not m:
        raise SeriesError('%s: want "From:", "Subject:", a blank line and '
                          'a body' % where)
    author, subject, body = m.group(1), m.group(2), m.group(3).strip()
    if 'Signed-off-by:' not in body:
        raise SeriesError('%s: no Signed-off-by' % where)
    return author, subject, body + '\n'


def commit_message(c):
    if c.msg:
        path = os.path.join(EXPORT, c.msg)
        with open(path) as f:
            return parse_header(f.read(), path)
    path = os.path.join(PATCHES, c.quilt[0])
    with open(path) as f:
        text = f.read()
    head = text.split('\n---\n', 1)[0] + '\n'
    return parse_header(head, path)


def patch_paths(patch):
    """The files a quilt patch changes ("+++ b/PATH" lines)."""
    paths = []
    with open(os.path.join(PATCHES, patch)) as f:
        for line in f:
            m = re.match(r'\+\+\+ b/(\S+)', line)
            if m:
                paths.append(m.group(1))
    return paths


# --- the pristine files ----------------------------------------------------

def touched_paths(commits):
    paths = set()
    for c in commits:
        for q in c.quilt:
            paths.update(patch_paths(q))
        for p in c.files:
            paths.update(tracked_files(p))
    return sorted(paths)


def extract_pristine(paths, dest):
    """The tarball's versions of @paths (those it has) into @dest."""
    key = hashlib.sha256()
    st = os.stat(TARBALL)
    key.update(('%s %d %d\n' % (TARBALL, st.st_size, st.st_mtime)).encode())
    key.update('\n'.join(paths).encode())
    stamp = os.path.join(dest, '.series-stamp')
    if os.path.exists(stamp) and open(stamp).read() == key.hexdigest():
        return
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    want = set(paths)
    log('reading the pristine files from %s' % os.path.basename(TARBALL))
    with tarfile.open(TARBALL, 'r|xz') as tar:
        for m in tar:
            name = m.name.split('/', 1)[1] if '/' in m.name else ''
            if name in want and m.isfile():
                target = os.path.join(dest, name)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(m) as src, open(target, 'wb') as out:
                    shutil.copyfileobj(src, out)
                want.discard(name)
    with open(stamp, 'w') as f:
        f.write(key.hexdigest())


def git_env(date):
    env = dict(os.environ)
    env.update({'GIT_CONFIG_GLOBAL': '/dev/null', 'GIT_CONFIG_SYSTEM':
                '/dev/null', 'GIT_AUTHOR_DATE': date,
                'GIT_COMMITTER_DATE': date})
    return env


def split_ident(ident):
    m = re.match(r'(.+?) <(.+)>$', ident)
    if not m:
        raise SeriesError('not a "Name <email>": %s' % ident)
    return m.group(1), m.group(2)


def new_repo(path, base_dir, env, who):
    """A git repository at @path holding the files of @base_dir."""
    shutil.rmtree(path, ignore_errors=True)
    if base_dir:
        shutil.copytree(base_dir, path, symlinks=True,
                        ignore=shutil.ignore_patterns('.series-stamp'))
    else:
        os.makedirs(path)
    name, email = split_ident(who)
    run(['git', 'init', '-q'], cwd=path, env=env)
    run(['git', 'config', 'user.name', name], cwd=path, env=env)
    run(['git', 'config', 'user.email', email], cwd=path, env=env)
    # -f: Debian's .gitignore ignores everything at the top level.
    run(['git', 'add', '-f', '-A'], cwd=path, env=env)
    run(['git', 'commit', '-q', '--allow-empty', '-m',
         'Linux 6.1.y as in %s' % os.path.basename(TARBALL)],
        cwd=path, env=env)
    return run(['git', 'rev-parse', 'HEAD'], cwd=path, env=env).strip()


def source_date():
    return run(['git', 'log', '-1', '--format=%cI'], cwd=ROOT).strip()


# --- export ------------------------------------------------------------------

def make_commits(repo, commits, env):
    for c in commits:
        author, subject, body = commit_message(c)
        for q in c.quilt:
            with open(os.path.join(PATCHES, q)) as f:
                run(['patch', '-p1', '-s', '--no-backup-if-mismatch',
                     '-r', '-'], cwd=repo, stdin=f)
        for p in c.files:
            for f in tracked_files(p):
                dst = os.path.join(repo, f)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(os.path.join(ROOT, f), dst)
        run(['git', 'add', '-A'], cwd=repo, env=env)
        name, email = split_ident(author)
        cenv = dict(env, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
                    GIT_COMMITTER_NAME=name, GIT_COMMITTER_EMAIL=email)
        p = subprocess.run(['git', 'commit', '-q', '-F', '-'], cwd=repo,
                           env=cenv, input=subject + '\n\n' + body,
                           text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if p.returncode:
            raise SeriesError('commit "%s": %s' % (subject, p.stdout))


def figures():
    """Headline tables of benchmarks/RESULTS.md for the cover letter."""
    path = os.path.join(ROOT, 'benchmarks', 'RESULTS.md')
    if not os.path.exists(path):
        return '(no benchmarks/RESULTS.md)'
    lines = open(path).read().splitlines()
    out = []
    for head in ('**Long-lived secrets, aged memory',
                 '**Fault and free throughput, fresh memory'):
        for i, l in enumerate(lines):
            if l.startswith(head):
                out.append(l.strip('*'))
                out.append('')
                j = i + 1
                while j < len(lines) and not lines[j].startswith('|'):
                    j += 1
                while j < len(lines) and lines[j].startswith('|'):
                    out.append('  ' + lines[j])
                    j += 1
                out.append('')
                break
    return '\n'.join(out).rstrip() or '(no figures found)'


def export(commits):
    """Build the series in a repository of pristine files; (repo, base)."""
    problems = check_plan(commits)
    if problems:
        raise SeriesError('patches/export/plan:\n  ' + '\n  '.join(problems))
    paths = touched_paths(commits)
    base_dir = os.path.join(BUILD, 'series-base')
    extract_pristine(paths, base_dir)
    env = git_env(source_date())
    who = commit_message(commits[0])[0]
    repo = os.path.join(BUILD, 'series-work')
    base = new_repo(repo, base_dir, env, who)
    make_commits(repo, commits, env)

    shutil.rmtree(OUT, ignore_errors=True)
    run(['git', 'format-patch', '-q', '--cover-letter', '-o', OUT,
         '--no-signature', base], cwd=repo, env=env)
    cover = os.path.join(OUT, '0000-cover-letter.patch')
    text = open(cover).read()
    with open(os.path.join(EXPORT, 'cover.txt')) as f:
        tmpl = f.read()
    tmpl = tmpl.replace('@N@', str(len(commits)))
    tmpl = tmpl.replace('@FIGURES@', figures())
    subject, blurb = tmpl.split('\n', 1)
    text = re.sub(r'Subject: \[PATCH 0/\d+\] \*\*\* SUBJECT HERE \*\*\*',
                  lambda m: subject, text)
    text = text.replace('*** BLURB HERE ***', blurb.strip())
    with open(cover, 'w') as f:
        f.write(text)
    return repo, base, paths


# --- checks ----------------------------------------------------------------

def same_file(a, b):
    try:
        with open(a, 'rb') as fa, open(b, 'rb') as fb:
            return fa.read() == fb.read()
    except FileNotFoundError:
        return os.path.exists(a) == os.path.exists(b)


def patches_out():
    return sorted(os.path.join(OUT, f) for f in os.listdir(OUT)
                  if f.endswith('.patch') and not f.startswith('0000-'))


def git_am(repo, env):
    pats = patches_out()
    run(['git', 'am', '-q', '--whitespace=error-all'] + pats, cwd=repo,
        env=env)
    return len(pats)


class Tap:
    def __init__(self, suite):
        self.suite = suite
        self.n = 0
        self.failed = 0
        print('# secretpool-suite: %s' % suite)
        print('TAP version 13')

    def result(self, ok, desc, detail=''):
        self.n += 1
        print('%s %d %s' % ('ok' if ok else 'not ok', self.n, desc))
        if not ok:
            self.failed += 1
            for l in detail.strip().splitlines()[:40]:
                print('# ' + l)

    def end(self):
        print('1..%d' % self.n)
        print('# secretpool-suite-exit: %s 0' % self.suite)


def cmd_check(full=False):
    tap = Tap('series/git-am')
    t0 = time.time()
    try:
        commits = read_plan()
    except SeriesError as e:
        tap.result(False, 'read patches/export/plan', str(e))
        tap.end()
        return 1
    problems = check_plan(commits)
    tap.result(not problems, 'the plan has every quilt patch and file of '
               'ours exactly once', '\n'.join(problems))
    if problems:
        tap.end()
        return 1
    try:
        repo, base, paths = export(commits)
        tap.result(True, 'exported %d patches and a cover letter to '
                   'build/series' % len(commits))
    except SeriesError as e:
        tap.result(False, 'export the series', str(e))
        tap.end()
        return 1

    env = git_env(source_date())
    who = commit_message(commits[0])[0]
    bad = []
    for p in patches_out():
        text = open(p).read()
        body = text.split('\n---\n', 1)[0]
        if 'Signed-off-by:' not in body or len(body.splitlines()) < 8:
            bad.append(os.path.basename(p))
    tap.result(not bad, 'every patch has a description and a '
               'Signed-off-by', ' '.join(bad))

    if full:
        am = os.path.join(BUILD, 'series-full')
        log('unpacking the whole tarball into a git repository (slow)')
        tree = os.path.join(BUILD, 'series-tree')
        shutil.rmtree(tree, ignore_errors=True)
        os.makedirs(tree)
        run(['tar', '-xf', TARBALL, '-C', tree, '--strip-components=1'])
        base_dir = tree
    else:
        am = os.path.join(BUILD, 'series-am')
        base_dir = os.path.join(BUILD, 'series-base')
    new_repo(am, base_dir, env, who)
    try:
        n = git_am(am, env)
        tap.result(True, 'git am applies all %d patches' % n)
    except SeriesError as e:
        tap.result(False, 'git am applies every patch', str(e))
        tap.end()
        return 1

    # The files the series changed, and those the quilt route changed.
    changed = run(['git', 'diff', '--name-only', 'HEAD~%d' % len(commits),
                   'HEAD'], cwd=am).split()
    differ = [f for f in sorted(set(paths) | set(changed))
              if not same_file(os.path.join(am, f), os.path.join(SRC, f))]
    tap.result(not differ, 'the tree git am gives is the tree the kernel is '
               'built from (%d files compared)' % len(set(paths) |
                                                     set(changed)),
               'differ: ' + ' '.join(differ))
    if full:
        out = subprocess.run(
            ['diff', '-rq', '-x', '.pc', '-x', '.git', '-x', '.secretpool-*',
             '-x', '*.secretpool-orig', am, SRC], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True).stdout
        tap.result(not out.strip(), 'the whole tree is identical', out)
        shutil.rmtree(tree, ignore_errors=True)
    log('series checked in %d s' % (time.time() - t0))
    tap.end()
    return 1 if tap.failed else 0


def cmd_bisect():
    if cmd_check(full=True):
        return 1
    repo = os.path.join(BUILD, 'series-full')
    obj = os.path.join(BUILD, 'obj-bisect')
    config = os.path.join(BUILD, 'obj-test', '.config')
    if not os.path.exists(config):
        raise SeriesError('build the test kernel first (%s)' % config)
    env = dict(os.environ, CCACHE_DIR=os.environ.get(
        'CCACHE_DIR', os.path.join(BUILD, 'ccache')))
    n = len(read_plan())
    tap = Tap('series/bisect')
    t0 = time.time()
    # The tip by its hash: HEAD moves with every checkout below.
    tip = run(['git', 'rev-parse', 'HEAD'], cwd=repo).strip()
    for i in range(n, -1, -1):
        rev = '%s~%d' % (tip, i)
        subj = run(['git', 'log', '-1', '--format=%s', rev], cwd=repo).strip()
        run(['git', 'checkout', '-q', rev], cwd=repo)
        os.makedirs(obj, exist_ok=True)
        shutil.copyfile(config, os.path.join(obj, '.config'))
        t = time.time()
        p = subprocess.run(
            ['make', '-C', repo, 'O=' + obj, 'CC=ccache gcc',
             '-j%d' % (os.cpu_count() or 2), 'olddefconfig', 'bzImage'],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        tap.result(p.returncode == 0, '%s builds (%d s)' %
                   (subj if i < n else 'the base', time.time() - t),
                   p.stdout[-3000:])
    log('every commit built in %d s' % (time.time() - t0))
    tap.end()
    return 1 if tap.failed else 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    try:
        if cmd == 'export':
            commits = read_plan()
            export(commits)
            log('wrote %s' % OUT)
            return 0
        if cmd == 'check':
            return cmd_check()
        if cmd == 'full':
            return cmd_check(full=True)
        if cmd == 'bisect':
            return cmd_bisect()
    except SeriesError as e:
        log('error: %s' % e)
        return 1
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
