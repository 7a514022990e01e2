// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_secret() as user space sees it: the system call's flags, the file,
 * its mappings, and every way another party might try to read the pages.
 * These hold with the secretmem pool on and off alike; the fixture runs
 * each test both ways when the pool is there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"
#include "secretmem_child.h"

FIXTURE(secretmem) {
	long page;
	int fd;
	long long saved_enabled;
};

FIXTURE_VARIANT(secretmem) {
	int pool;	/* 1: pool on, 0: pool off, -1: leave as it is */
};

FIXTURE_VARIANT_ADD(secretmem, pool_on) { .pool = 1 };
FIXTURE_VARIANT_ADD(secretmem, pool_off) { .pool = 0 };

FIXTURE_SETUP(secretmem)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	ASSERT_NE((int)POOL_BROKEN, (int)pool_state())
		TH_LOG("the secretmem pool is built in but did not start");
	if (pool_present()) {
		self->saved_enabled = pool_get("enabled");
		ASSERT_EQ(0, pool_set("enabled", variant->pool));
	} else if (variant->pool == 1) {
		SKIP(return, "kernel has no secretmem pool");
	}
	self->fd = sys_memfd_secret(0);
	if (self->fd < 0 && errno == ENOSYS)
		SKIP(return, "memfd_secret() is not enabled (secretmem.enable=1)");
	ASSERT_LE(0, self->fd);
}

FIXTURE_TEARDOWN(secretmem)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

TEST_F(secretmem, flags)
{
	int fd, bad[] = { 1, O_NONBLOCK, O_RDONLY | 2, 0x80000000u >> 1 };
	unsigned int i;

	fd = sys_memfd_secret(O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, sys_memfd_secret(bad[i]));
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", bad[i]);
	}
}

TEST_F(secretmem, file_is_regular_and_empty)
{
	struct stat st;

	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT_EQ(0, st.st_size);
	ASSERT_EQ(0, ftruncate(self->fd, 4 * self->page));
	ASSERT_EQ(0, fstat(self->fd, &st));
	EXPECT_EQ(4 * self->page, st.st_size);
}

TEST_F(secretmem, file_io_refused)
{
	char buf[64] = "";

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	EXPECT_GT(0, read(self->fd, buf, sizeof(buf)));
	EXPECT_GT(0, write(self->fd, buf, sizeof(buf)));
	EXPECT_GT(0, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_GT(0, pwrite(self->fd, buf, sizeof(buf), 0));
}

/*
 * fallocate() mode 0 gives the file its pages within its size; beyond the
 * size it is EINVAL (the size is set once), and every other mode is
 * EOPNOTSUPP, as upstream answers every fallocate().
 */
TEST_F(secretmem, fallocate_modes)
{
	static const int modes[] = {
		FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		FALLOC_FL_ZERO_RANGE,
		FALLOC_FL_COLLAPSE_RANGE,
		FALLOC_FL_INSERT_RANGE,
	};
	unsigned int i;

	ASSERT_EQ(0, ftruncate(self->fd, 2 * self->page));
	errno = 0;
	EXPECT_EQ(-1, fallocate(self->fd, 0, 0, 3 * self->page));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(self->fd, 0, 2 * self->page, 1));
	EXPECT_EQ(EINVAL, errno);
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		errno = 0;
		EXPECT_EQ(-1, fallocate(self->fd, modes[i], 0, self->page));
		EXPECT_EQ(EOPNOTSUPP, errno) TH_LOG("mode %#x", modes[i]);
	}
	EXPECT_EQ(0, fallocate(self->fd, 0, 0, 2 * self->page));
	/* Again: the pages are there already, nothing more is charged. */
	EXPECT_EQ(0, fallocate(self->fd, 0, self->page / 2, self->page));
}

/*
 * Pages given by fallocate() are charged to RLIMIT_MEMLOCK then: past the
 * limit the call fails with EAGAIN, keeping the pages it gave before, and
 * with the limit used up, faults on those pages still succeed (they find
 * the pages, zeroed) while the first fault beyond them gets SIGBUS.  With
 * the pool on, the pages come from the pool at fallocate() time, and the
 * faults take nothing more from it.
 */
TEST_F(secretmem, fallocate_reserves_pages)
{
	struct rlimit rl = { .rlim_cur = 8 * self->page,
			     .rlim_max = 8 * self->page };
	int status;
	pid_t child;

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		struct pool_stats st0, st1, st2;
		bool pool = variant->pool == 1;
		int fd, i;
		char *p;

		/* In a child, so the limit does not outlive the test. */
		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		fd = sys_memfd_secret(0);
		if (fd < 0 || ftruncate(fd, 16 * self->page))
			_exit(11);
		if (pool && pool_stats(&st0))
			_exit(12);
		errno = 0;
		if (fallocate(fd, 0, 0, 12 * self->page) != -1 || errno != EAGAIN)
			_exit(13);
		if (pool && pool_stats(&st1))
			_exit(12);
		p = mmap(NULL, 16 * self->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(14);
		for (i = 0; i < 8; i++) {
			if (peek(p + i * self->page + 5))
				_exit(30 + i);
			if (write_faults(p + i * self->page, 1))
				_exit(40 + i);
		}
		if (!write_faults(p + 8 * self->page, 1))
			_exit(15);
		if (pool) {
			if (pool_stats(&st2))
				_exit(12);
			/* Other tasks may take pages meanwhile: at least. */
			if (st1.in_use - st0.in_use < 8)
				_exit(16);
			if (st2.in_use != st1.in_use)
				_exit(17);
		}
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("step %d (see the test)", WEXITSTATUS(status));
}

/* How many of the @pages pages at @p are in memory (mincore()); -1 on error. */
static int resident(void *p, long pages, long page)
{
	unsigned char vec[64];
	int i, n = 0;

	if (pages > 64 || mincore(p, pages * page, vec))
		return -1;
	for (i = 0; i < pages; i++)
		n += vec[i] & 1;
	return n;
}

/*
 * MAP_POPULATE and MADV_POPULATE_WRITE fault a secret mapping's pages in
 * up front, as they do other mappings (upstream's GUP refuses secret
 * mappings, so they used to do nothing): the pages are there, zero,
 * before the program touches them.
 */
TEST_F(secretmem, populate_faults_in)
{
	char *p;
	int i;

	ASSERT_EQ(0, ftruncate(self->fd, 32 * self->page));
	p = mmap(NULL, 16 * self->page, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_POPULATE, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(16, resident(p, 16, self->page));
	for (i = 0; i < 16; i++)
		EXPECT_EQ(0, peek(p + i * self->page + 7));
	munmap(p, 16 * self->page);

	p = mmap(NULL, 16 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 16 * self->page);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(0, resident(p, 16, self->page));
	EXPECT_EQ(0, madvise(p, 16 * self->page, MADV_POPULATE_WRITE));
	EXPECT_EQ(16, resident(p, 16, self->page));
	munmap(p, 16 * self->page);
}

TEST_F(secretmem, size_set_once)
{
	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	errno = 0;
	EXPECT_EQ(-1, ftruncate(self->fd, 2 * self->page));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ftruncate(self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(secretmem, map_private_refused)
{
	void *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	errno = 0;
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
}

TEST_F(secretmem, exec_refused)
{
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	errno = 0;
	p = mmap(NULL, self->page, PROT_READ | PROT_EXEC, MAP_SHARED,
		 self->fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);

	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	errno = 0;
	EXPECT_EQ(-1, mprotect(p, self->page, PROT_READ | PROT_EXEC));
	EXPECT_EQ(EACCES, errno);
	munmap(p, self->page);
}

TEST_F(secretmem, read_write_and_zero_fill)
{
	const long n = 64;
	unsigned char *p;
	long i, j;

	ASSERT_EQ(0, ftruncate(self->fd, n * self->page));
	p = mmap(NULL, n * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);

	/* Fresh pages read as zero, every byte. */
	for (i = 0; i < n * self->page; i++)
		if (p[i])
			break;
	EXPECT_EQ(n * self->page, i);

	for (i = 0; i < n; i++)
		memset(p + i * self->page, (int)(i + 1), self->page);
	munmap(p, n * self->page);

	/* The file keeps its contents across mappings. */
	p = mmap(NULL, n * self->page, PROT_READ, MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < n; i++)
		for (j = 0; j < self->page; j += 511)
			ASSERT_EQ((unsigned char)(i + 1), p[i * self->page + j]);
	munmap(p, n * self->page);
}

TEST_F(secretmem, dontneed_keeps_contents)
{
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x42, self->page);
	ASSERT_EQ(0, madvise(p, self->page, MADV_DONTNEED));
	EXPECT_EQ(0x42, p[self->page - 1]);
	munmap(p, self->page);
}

TEST_F(secretmem, fault_past_end_sigbus)
{
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	p = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_FALSE(write_faults(p, 1));
	EXPECT_TRUE(write_faults(p + self->page, 1));
	munmap(p, 2 * self->page);
}

TEST_F(secretmem, not_dumped)
{
	char line[256], want[64];
	bool in_vma = false, dd = false;
	FILE *f;
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	p[0] = 1;

	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	f = fopen("/proc/self/smaps", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, ' ') &&
		    strchr(line, '-') < strchr(line, ' '))
			in_vma = !strncmp(line, want, strlen(want));
		if (in_vma && !strncmp(line, "VmFlags:", 8))
			dd = !!strstr(line, " dd");
	}
	fclose(f);
	EXPECT_TRUE(dd) TH_LOG("secret mapping without VM_DONTDUMP");
	munmap(p, self->page);
}

/* A secret page handed to vmsplice() must not be pinned (GUP-fast). */
TEST_F(secretmem, vmsplice_refused)
{
	struct iovec iov;
	int pipefd[2];
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x33, self->page);	/* freshly faulted */

	ASSERT_EQ(0, pipe(pipefd));
	iov.iov_base = p;
	iov.iov_len = self->page;
	errno = 0;
	EXPECT_EQ(-1, vmsplice(pipefd[1], &iov, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	close(pipefd[0]);
	close(pipefd[1]);
	munmap(p, self->page);
}

static void child_peek(pid_t parent, unsigned long addr, int res_fd)
{
	int status, result[2];
	long word;

	if (ptrace(PTRACE_ATTACH, parent, 0, 0))
		_exit(2);
	if (waitpid(parent, &status, 0) != parent || !WIFSTOPPED(status))
		_exit(3);
	errno = 0;
	word = ptrace(PTRACE_PEEKDATA, parent, (void *)addr, 0);
	/* -1 is also a valid word: only errno tells a failed read apart. */
	result[0] = word == -1 && errno != 0;
	result[1] = errno;
	ptrace(PTRACE_DETACH, parent, 0, 0);
	if (write(res_fd, result, sizeof(result)) != sizeof(result))
		_exit(4);
	_exit(0);
}

TEST_F(secretmem, ptrace_peek_refused)
{
	int res_pipe[2], result[2] = { -1, -1 }, status;
	pid_t child, me = getpid();
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	/* All ones, so a successful read of data would return -1 too. */
	memset(p, 0xff, self->page);

	ASSERT_EQ(0, pipe(res_pipe));
	child = fork();
	ASSERT_LE(0, child);
	if (!child)
		child_peek(me, (unsigned long)p, res_pipe[1]);

	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	ASSERT_EQ((ssize_t)sizeof(result),
		  read(res_pipe[0], result, sizeof(result)));
	EXPECT_EQ(1, result[0]) TH_LOG("PEEKDATA read secret memory");
	EXPECT_EQ(EIO, result[1]);
	close(res_pipe[0]);
	close(res_pipe[1]);
	munmap(p, self->page);
}

TEST_F(secretmem, process_vm_readv_refused)
{
	int ready[2], done[2], status;
	struct iovec local, remote;
	char buf[64], c;
	pid_t child;
	char *p;

	ASSERT_EQ(0, ftruncate(self->fd, self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	memset(p, 0x77, self->page);

	/* The child holds the secret; the parent tries to read it. */
	ASSERT_EQ(0, pipe(ready));
	ASSERT_EQ(0, pipe(done));
	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		p[0] = 0x78;
		if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	ASSERT_EQ(1, read(ready[0], &c, 1));
	local.iov_base = buf;
	local.iov_len = sizeof(buf);
	remote.iov_base = p;
	remote.iov_len = sizeof(buf);
	errno = 0;
	EXPECT_EQ(-1, process_vm_readv(child, &local, 1, &remote, 1, 0));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(1, write(done[1], "x", 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(ready[0]);
	close(ready[1]);
	close(done[0]);
	close(done[1]);
	munmap(p, self->page);
}

/* A shared secret mapping is shared with a forked child, both ways. */
TEST_F(secretmem, fork_shares)
{
	char *p;
	int status;
	pid_t child;

	ASSERT_EQ(0, ftruncate(self->fd, 2 * self->page));
	p = mmap(NULL, 2 * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	poke(p, 'p');

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		if (peek(p) != 'p')
			_exit(1);
		poke(p, 'c');
		poke(p + self->page, 'n');	/* a page the parent never touched */
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ('c', peek(p));
	EXPECT_EQ('n', peek(p + self->page));
	munmap(p, 2 * self->page);
}

/* Pages are charged to RLIMIT_MEMLOCK when faulted: SIGBUS past it. */
TEST_F(secretmem, memlock_limit_sigbus)
{
	struct rlimit rl = { .rlim_cur = 4 * self->page,
			     .rlim_max = 4 * self->page };
	int status;
	pid_t child;

	child = fork();
	ASSERT_LE(0, child);
	if (!child) {
		int fd, n = 0;
		char *p;

		/* In a child, so the limit does not outlive the test. */
		if (setrlimit(RLIMIT_MEMLOCK, &rl))
			_exit(10);
		fd = sys_memfd_secret(0);
		if (fd < 0 || ftruncate(fd, 8 * self->page))
			_exit(11);
		p = mmap(NULL, 8 * self->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED)
			_exit(12);
		while (n < 8 && !write_faults(p + n * self->page, 1))
			n++;
		/* Exactly the limit's worth, then SIGBUS. */
		if (n != 4)
			_exit(20 + n);
		/* Closing gives the charge back: a new file can have pages. */
		munmap(p, 8 * self->page);
		close(fd);
		fd = sys_memfd_secret(0);
		if (fd < 0 || ftruncate(fd, self->page))
			_exit(13);
		p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED || write_faults(p, 1))
			_exit(14);
		_exit(0);
	}
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
