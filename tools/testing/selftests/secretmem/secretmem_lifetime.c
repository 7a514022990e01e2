// SPDX-License-Identifier: GPL-2.0
/*
 * The paths by which the rest of the kernel can reach a secret page, and
 * what each must do:
 *
 *  - dropping caches leaves secret files whole (their pseudo inodes are
 *    not on a superblock's list, so drop_caches does not reach them; the
 *    path that does evict a clean page from a file is memory-failure
 *    handling, tested in secretmem_hwpoison);
 *  - truncation and hole punching of a file with pages are refused and
 *    leave the data alone;
 *  - splice(), sendfile() and copy_file_range() in either direction are
 *    refused with their documented errno;
 *  - O_DIRECT and io_uring fixed buffers cannot pin secret memory;
 *  - every page handed to user space is absent from the direct map;
 *  - every page in a file is one that crash-dump filters leave out.
 *
 * Each runs with the pool on and off: the per-page path must hold too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup	425
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register	427
#endif

FIXTURE(lifetime) {
	long page;
	int fd;
	char *p;
	long pages;
	long long saved_enabled;
};

FIXTURE_VARIANT(lifetime) {
	int pool;
};

FIXTURE_VARIANT_ADD(lifetime, pool_on) { .pool = 1 };
FIXTURE_VARIANT_ADD(lifetime, pool_off) { .pool = 0 };

FIXTURE_SETUP(lifetime)
{
	self->page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	self->p = MAP_FAILED;
	self->pages = 8;
	REQUIRE_POOL(return);
	self->saved_enabled = pool_get("enabled");
	ASSERT_EQ(0, pool_set("enabled", variant->pool));

	self->fd = sys_memfd_secret(0);
	ASSERT_LE(0, self->fd) TH_LOG("memfd_secret() not available");
	ASSERT_EQ(0, ftruncate(self->fd, self->pages * self->page));
	self->p = mmap(NULL, self->pages * self->page, PROT_READ | PROT_WRITE,
		       MAP_SHARED, self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->p);
}

FIXTURE_TEARDOWN(lifetime)
{
	if (self->p != MAP_FAILED)
		munmap(self->p, self->pages * self->page);
	if (self->fd >= 0)
		close(self->fd);
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

/*
 * Half the pages faulted for reading only (clean), half written (dirty),
 * then unmapped while the file stays open: dropping caches keeps the file
 * whole and the kernel calm.
 */
TEST_F(lifetime, drop_caches_keeps_contents)
{
	long i, half = self->pages / 2;

	for (i = 0; i < half; i++)
		EXPECT_EQ(0, peek(self->p + i * self->page));
	for (i = half; i < self->pages; i++)
		memset(self->p + i * self->page, (int)i, self->page);
	ASSERT_EQ(0, munmap(self->p, self->pages * self->page));
	self->p = MAP_FAILED;

	ASSERT_EQ(0, write_str("/proc/sys/vm/drop_caches", "1"));
	ASSERT_EQ(0, write_str("/proc/sys/vm/drop_caches", "3"));

	self->p = mmap(NULL, self->pages * self->page, PROT_READ, MAP_SHARED,
		       self->fd, 0);
	ASSERT_NE(MAP_FAILED, self->p);
	for (i = 0; i < half; i++)
		EXPECT_EQ(0, peek(self->p + i * self->page + 7));
	for (i = half; i < self->pages; i++)
		EXPECT_EQ((char)i, peek(self->p + i * self->page + 7));
	munmap(self->p, self->pages * self->page);
	self->p = MAP_FAILED;
	close(self->fd);
	self->fd = -1;
	EXPECT_POOL_EMPTY();
}

/* A file with pages can be neither truncated nor have holes punched. */
TEST_F(lifetime, truncate_refused)
{
	long i;

	for (i = 0; i < self->pages; i++)
		poke(self->p + i * self->page, 'a' + i);
	errno = 0;
	EXPECT_EQ(-1, ftruncate(self->fd, 0));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, ftruncate(self->fd, self->page));
	EXPECT_EQ(EINVAL, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(self->fd, FALLOC_FL_PUNCH_HOLE |
				FALLOC_FL_KEEP_SIZE, 0, self->page));
	EXPECT_EQ(EOPNOTSUPP, errno);
	for (i = 0; i < self->pages; i++)
		EXPECT_EQ('a' + i, peek(self->p + i * self->page));
}

/* No data moves in or out of a secret file through the splice family. */
TEST_F(lifetime, splice_family_refused)
{
	char tmpl[] = "/tmp/secretmem-splice-XXXXXX", buf[64] = "plain";
	int pipefd[2], tmp;
	loff_t off = 0;

	poke(self->p, 'x');
	ASSERT_EQ(0, pipe(pipefd));
	tmp = mkstemp(tmpl);
	ASSERT_LE(0, tmp);
	unlink(tmpl);
	ASSERT_EQ((ssize_t)sizeof(buf), write(tmp, buf, sizeof(buf)));

	errno = 0;
	EXPECT_EQ(-1, splice(self->fd, &off, pipefd[1], NULL, 64, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("splice out of a secret");
	ASSERT_EQ((ssize_t)sizeof(buf), write(pipefd[1], buf, sizeof(buf)));
	off = 0;
	errno = 0;
	EXPECT_EQ(-1, splice(pipefd[0], NULL, self->fd, &off, 64, 0));
	EXPECT_EQ(EINVAL, errno) TH_LOG("splice into a secret");

	/* With an offset, refused first because it cannot be read at one. */
	off = 0;
	errno = 0;
	EXPECT_EQ(-1, sendfile(tmp, self->fd, &off, 64));
	EXPECT_EQ(ESPIPE, errno) TH_LOG("sendfile out of a secret, offset");
	errno = 0;
	EXPECT_EQ(-1, sendfile(tmp, self->fd, NULL, 64));
	EXPECT_EQ(EINVAL, errno) TH_LOG("sendfile out of a secret");
	off = 0;
	errno = 0;
	EXPECT_EQ(-1, sendfile(self->fd, tmp, &off, 64));
	EXPECT_EQ(EINVAL, errno) TH_LOG("sendfile into a secret");

	/* Across file systems, refused before any data is looked at. */
	errno = 0;
	EXPECT_EQ(-1, copy_file_range(self->fd, NULL, tmp, NULL, 64, 0));
	EXPECT_EQ(EXDEV, errno);
	EXPECT_EQ('x', peek(self->p));
	close(tmp);
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * O_DIRECT I/O to or from secret memory would pin its pages for the
 * device; it is refused (EFAULT) in both directions.  A RAM disk stands
 * for the device.
 */
TEST_F(lifetime, o_direct_refused)
{
	char *plain;
	int dev;

	memset(self->p, 0x5e, self->page);
	dev = open("/dev/ram0", O_RDWR | O_DIRECT);
	ASSERT_LE(0, dev) TH_LOG("/dev/ram0: %s (CONFIG_BLK_DEV_RAM)",
				 strerror(errno));
	plain = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, plain);
	memset(plain, 0x11, self->page);
	/* The device works with ordinary memory ... */
	ASSERT_EQ(self->page, pwrite(dev, plain, self->page, 0));

	/* ... but not with secret memory, either way. */
	errno = 0;
	EXPECT_EQ(-1, pread(dev, self->p, self->page, 0));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(0x5e, peek(self->p + 100));
	errno = 0;
	EXPECT_EQ(-1, pwrite(dev, self->p, self->page, 0));
	EXPECT_EQ(EFAULT, errno);
	ASSERT_EQ(self->page, pread(dev, plain, self->page, 0));
	EXPECT_EQ(0x11, plain[100]) TH_LOG("the secret reached the device");
	munmap(plain, self->page);
	close(dev);
}

/* io_uring cannot register secret memory as a fixed buffer. */
TEST_F(lifetime, io_uring_fixed_buffer_refused)
{
	struct io_uring_params params;
	struct iovec iov;
	int ring;

	memset(self->p, 0x6f, self->page);
	memset(&params, 0, sizeof(params));
	ring = syscall(__NR_io_uring_setup, 4, &params);
	ASSERT_LE(0, ring) TH_LOG("io_uring_setup: %s", strerror(errno));
	iov.iov_base = self->p;
	iov.iov_len = self->page;
	errno = 0;
	EXPECT_EQ(-1, syscall(__NR_io_uring_register, ring,
			      IORING_REGISTER_BUFFERS, &iov, 1));
	EXPECT_EQ(EFAULT, errno);
	close(ring);
}

/* Every page user space gets is gone from the kernel's direct map. */
TEST_F(lifetime, pages_absent_from_direct_map)
{
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	struct dm_snapshot dm;
	uint64_t pfn[8];
	long i;

	ASSERT_LE(0, pagemap);
	ASSERT_GE(8, self->pages);
	for (i = 0; i < self->pages; i++) {
		poke(self->p + i * self->page, 1);
		pfn[i] = pagemap_pfn(pagemap, self->p + i * self->page,
				     self->page);
		ASSERT_NE(0ULL, (unsigned long long)pfn[i]);
	}
	close(pagemap);
	ASSERT_EQ(0, dm_snapshot_read(&dm));
	for (i = 0; i < self->pages; i++)
		EXPECT_EQ(0, dm_present(&dm, pfn[i]))
			TH_LOG("page %ld (pfn %#llx) is in the direct map", i,
			       (unsigned long long)pfn[i]);
	dm_snapshot_free(&dm);
}

/* Bits of /proc/kpageflags (include/uapi/linux/kernel-page-flags.h). */
#define KPF_LRU		5
#define KPF_ANON	12
#define KPF_UNEVICTABLE	18

static uint64_t kpageflags(int fd, uint64_t pfn)
{
	uint64_t flags;

	if (pread(fd, &flags, sizeof(flags), pfn * sizeof(flags)) !=
	    sizeof(flags))
		return ~0ULL;
	return flags;
}

/*
 * makedumpfile drops a page from a filtered vmcore (dump level 2 or 4,
 * part of the usual -d 31) when it is on an LRU list and not anonymous:
 * page cache.  Every secret page must look like that from the moment it is
 * faulted in, before a program can write a secret into it.
 */
TEST_F(lifetime, excluded_by_dump_filters)
{
	int pagemap = open("/proc/self/pagemap", O_RDONLY);
	int kpf = open("/proc/kpageflags", O_RDONLY);
	long i;

	ASSERT_LE(0, pagemap);
	ASSERT_LE(0, kpf) TH_LOG("/proc/kpageflags: %s", strerror(errno));
	for (i = 0; i < self->pages; i++) {
		uint64_t pfn, flags;

		poke(self->p + i * self->page, 1);
		pfn = pagemap_pfn(pagemap, self->p + i * self->page,
				  self->page);
		ASSERT_NE(0ULL, (unsigned long long)pfn);
		flags = kpageflags(kpf, pfn);
		ASSERT_NE(~0ULL, (unsigned long long)flags);
		EXPECT_TRUE(!!(flags & (1ULL << KPF_LRU)))
			TH_LOG("page %ld is not on an LRU: dumped (flags %#llx)",
			       i, (unsigned long long)flags);
		EXPECT_TRUE(!!(flags & (1ULL << KPF_UNEVICTABLE)));
		EXPECT_FALSE(!!(flags & (1ULL << KPF_ANON)));
	}
	close(kpf);
	close(pagemap);
}

TEST_HARNESS_MAIN
