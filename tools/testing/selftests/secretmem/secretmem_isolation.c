// SPDX-License-Identifier: GPL-2.0
/*
 * No secret byte reaches another owner.
 *
 * One process fills its secret pages and exits; the next process's fresh
 * secret pages must read as zero, every byte, even though (with the pool)
 * they are largely the very same physical pages: the test checks through
 * /proc/self/pagemap that pages are in fact reused, so it cannot pass by
 * never meeting an old page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define NR_PAGES	256
#define ROUNDS		6

/*
 * In a child: map NR_PAGES secret pages, check they are all zero (reports
 * the number of non-zero bytes), fill them with @fill, record their frames
 * in @pfns (shared memory), and exit, which frees the pages.
 */
static void owner(long page, unsigned char fill, uint64_t *pfns,
		  long *dirty)
{
	unsigned char *p;
	int fd, pagemap;
	long i, bad = 0;

	fd = sys_memfd_secret(0);
	if (fd < 0 || ftruncate(fd, NR_PAGES * page))
		_exit(1);
	p = mmap(NULL, NR_PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED)
		_exit(2);
	for (i = 0; i < NR_PAGES * page; i++)
		bad += p[i] != 0;
	*dirty = bad;

	memset(p, fill, NR_PAGES * page);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	for (i = 0; i < NR_PAGES; i++)
		pfns[i] = pagemap < 0 ? 0 : pagemap_pfn(pagemap, p + i * page, page);
	_exit(0);
}

static long shared_pages(const uint64_t *a, const uint64_t *b)
{
	long i, j, n = 0;

	for (i = 0; i < NR_PAGES; i++)
		for (j = 0; j < NR_PAGES; j++)
			if (a[i] && a[i] == b[j]) {
				n++;
				break;
			}
	return n;
}

static void isolation(struct __test_metadata *_metadata, int pool)
{
	long page = sysconf(_SC_PAGESIZE), reused = 0;
	long long saved = pool_present() ? pool_get("enabled") : -1;
	uint64_t *pfns;
	long *dirty;
	int round, status, fd;
	pid_t child;

	ASSERT_NE((int)POOL_BROKEN, (int)pool_state())
		TH_LOG("the secretmem pool is built in but did not start");
	fd = sys_memfd_secret(0);
	if (fd < 0)
		SKIP(return, "memfd_secret() not available");
	close(fd);
	if (pool >= 0) {
		if (saved < 0)
			SKIP(return, "kernel has no secretmem pool");
		ASSERT_EQ(0, pool_set("enabled", pool));
	}

	pfns = mmap(NULL, (ROUNDS * NR_PAGES) * sizeof(*pfns) +
		    ROUNDS * sizeof(*dirty), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, pfns);
	dirty = (long *)(pfns + ROUNDS * NR_PAGES);

	for (round = 0; round < ROUNDS; round++) {
		child = fork();
		ASSERT_LE(0, child);
		if (!child)
			owner(page, 0xa0 + round, pfns + round * NR_PAGES,
			      dirty + round);
		ASSERT_EQ(child, waitpid(child, &status, 0));
		ASSERT_TRUE(WIFEXITED(status));
		ASSERT_EQ(0, WEXITSTATUS(status));
		EXPECT_EQ(0, dirty[round])
			TH_LOG("round %d: %ld bytes of an earlier owner visible",
			       round, dirty[round]);
		if (round) {
			long n = shared_pages(pfns + round * NR_PAGES,
					      pfns + (round - 1) * NR_PAGES);

			reused += n;
			TH_LOG("round %d: %ld of %d pages were the previous owner's",
			       round, n, NR_PAGES);
		}
		/* Give the pool a moment to recycle the pages that came back. */
		usleep(20000);
	}

	/* With the pool, pages must actually have been reused. */
	if (pool == 1)
		EXPECT_LT(0, reused);
	if (saved >= 0)
		pool_set("enabled", saved);
}

TEST(pool_on)
{
	isolation(_metadata, 1);
}

TEST(pool_off)
{
	isolation(_metadata, 0);
}

TEST_HARNESS_MAIN
