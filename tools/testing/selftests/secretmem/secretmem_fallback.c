// SPDX-License-Identifier: GPL-2.0
/*
 * When the secretmem pool cannot grow, memfd_secret() still works: pages
 * the pool cannot serve are unmapped one at a time as upstream does, and
 * the pool counts every such fallback.  The pool is kept from growing with
 * its max_regions knob (one region per node), then asked for more pages
 * than its regions hold.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

FIXTURE(fallback) {
	long page;
	long long saved_max, saved_enabled;
};

FIXTURE_SETUP(fallback)
{
	int fd;

	self->page = sysconf(_SC_PAGESIZE);
	self->saved_max = -1;
	REQUIRE_POOL(return);
	fd = sys_memfd_secret(0);
	if (fd < 0)
		SKIP(return, "memfd_secret() not available");
	close(fd);
	self->saved_max = pool_get("max_regions");
	self->saved_enabled = pool_get("enabled");
	ASSERT_EQ(0, pool_set("enabled", 1));
}

FIXTURE_TEARDOWN(fallback)
{
	struct pool_stats st;

	if (self->saved_max < 0)
		return;
	pool_set("max_regions", self->saved_max);
	pool_set("enabled", self->saved_enabled);
	pool_settle(&st);
}

TEST_F(fallback, pool_full_serves_per_page)
{
	struct pool_stats st0, st1, st2;
	long nodes, pages, i;
	unsigned char *p;
	int fd;

	ASSERT_EQ(0, pool_set("max_regions", 1));
	ASSERT_EQ(0, pool_settle(&st0));
	ASSERT_EQ(0, st0.regions);

	/* Count the nodes with memory from the stats file's rows. */
	nodes = 0;
	{
		char line[512];
		FILE *f = fopen(SP_DEBUGFS "stats", "r");

		ASSERT_NE(NULL, f);
		while (fgets(line, sizeof(line), f))
			if (line[0] >= '0' && line[0] <= '9')
				nodes++;
		fclose(f);
	}
	ASSERT_LT(0, nodes);
	/* What the regions hold, and 256 pages more. */
	pages = nodes * 512 + 256;

	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, pages * self->page));
	p = mmap(NULL, pages * self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < pages; i++)
		memset(p + i * self->page, (int)(i % 251), self->page);
	for (i = 0; i < pages; i++)
		ASSERT_EQ((unsigned char)(i % 251), p[i * self->page + 17]);

	ASSERT_EQ(0, pool_stats(&st1));
	TH_LOG("%ld nodes, %ld pages: %lld regions, %lld in use, %lld fallbacks",
	       nodes, pages, st1.regions, st1.in_use,
	       st1.fallback - st0.fallback);
	EXPECT_EQ(nodes, st1.regions);
	EXPECT_LE(256, st1.fallback - st0.fallback);
	EXPECT_EQ(pages, st1.in_use + (st1.fallback - st0.fallback));

	munmap(p, pages * self->page);
	close(fd);

	/* Pool pages came back; fallback pages went back to the allocator. */
	ASSERT_EQ(0, pool_settle(&st2));
	EXPECT_EQ(0, st2.in_use);
	EXPECT_EQ(0, st2.regions);
}

TEST_HARNESS_MAIN
