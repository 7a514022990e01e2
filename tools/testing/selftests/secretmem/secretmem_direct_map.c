// SPDX-License-Identifier: GPL-2.0
/*
 * What memfd_secret() does to the kernel's direct map.
 *
 * Many long-lived one-page secrets are created while other kernel memory is
 * pinned between them (a pipe buffer per secret), the way a busy machine
 * interleaves allocations.  With the secretmem pool no 2M direct-map entry
 * is split into 4K ones (direct_map_level2_splits does not move, nor does
 * DirectMap4k), every secret page lies in one of the pool's regions, and
 * once everything is closed and the pool is shrunk it holds no memory.
 * With the pool off, the same workload does split 2M mappings: that is the
 * problem the pool exists to solve, and the test shows it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define NR_SECRETS	200

/* The secrets of one test, each followed by a pipe holding a kernel page. */
struct secret_set {
	long page;
	char *mem[NR_SECRETS];
	int pipes[NR_SECRETS];
};

FIXTURE(direct_map) {
	struct secret_set set;
	long long saved_enabled;
};

FIXTURE_SETUP(direct_map)
{
	struct rlimit nofile = { NR_SECRETS + 64, NR_SECRETS + 64 };
	int fd;

	self->set.page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	REQUIRE_POOL(return);
	if (vmstat_read("direct_map_level2_splits") < 0)
		SKIP(return, "no direct_map_level2_splits in /proc/vmstat");
	fd = sys_memfd_secret(0);
	if (fd < 0)
		SKIP(return, "memfd_secret() not available");
	close(fd);
	ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &nofile));
	self->saved_enabled = pool_get("enabled");
}

FIXTURE_TEARDOWN(direct_map)
{
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

/* Create the secrets, a pinned pipe page after each.  Returns how many. */
static int make_secrets(struct __test_metadata *_metadata,
			struct secret_set *set)
{
	char buf[4096];
	int i, fd, p[2];

	memset(buf, 0x11, sizeof(buf));
	for (i = 0; i < NR_SECRETS; i++) {
		fd = sys_memfd_secret(0);
		if (fd < 0 || ftruncate(fd, set->page))
			break;
		set->mem[i] = mmap(NULL, set->page, PROT_READ | PROT_WRITE,
				   MAP_SHARED, fd, 0);
		close(fd);	/* the mapping keeps the file */
		if (set->mem[i] == MAP_FAILED)
			break;
		memset(set->mem[i], i & 0xff, set->page);

		/* Kernel memory allocated between two secrets, kept. */
		if (pipe(p))
			break;
		if (write(p[1], buf, sizeof(buf)) != sizeof(buf))
			break;
		close(p[1]);
		set->pipes[i] = p[0];
	}
	EXPECT_EQ(NR_SECRETS, i);
	return i;
}

static void free_secrets(struct secret_set *set, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		munmap(set->mem[i], set->page);
		close(set->pipes[i]);
	}
}

static int blocks_of(struct secret_set *set, int n)
{
	uint64_t *pfns = calloc(n, sizeof(*pfns));
	int i, pagemap, blocks = -1;

	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pfns && pagemap >= 0) {
		for (i = 0; i < n; i++)
			pfns[i] = pagemap_pfn(pagemap, set->mem[i], set->page);
		if (n && pfns[0])
			blocks = count_2m_blocks(pfns, n);
	}
	if (pagemap >= 0)
		close(pagemap);
	free(pfns);
	return blocks;
}

TEST_F(direct_map, pool_on_no_2m_split)
{
	struct direct_map_state before, during, after;
	struct pool_stats st0, st1, st2;
	int n, i, blocks;

	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, pool_settle(&st0));
	direct_map_read(&before);

	n = make_secrets(_metadata, &self->set);
	direct_map_read(&during);
	ASSERT_EQ(0, pool_stats(&st1));
	blocks = blocks_of(&self->set, n);

	TH_LOG("pool on, %d secrets: level2 splits +%lld, level3 +%lld",
	       n, during.l2 - before.l2, during.l3 - before.l3);
	TH_LOG("DirectMap4k %+lld kB, regions %lld, 2M blocks with secrets %d",
	       during.dm4k - before.dm4k, st1.regions, blocks);
	EXPECT_EQ(0, st1.fallback - st0.fallback);
	EXPECT_EQ(before.l2, during.l2);
	EXPECT_EQ(before.dm4k, during.dm4k);
	/* Every secret page lies in one of the pool's regions. */
	EXPECT_LE(blocks, st1.regions);
	EXPECT_LE(1, blocks);

	for (i = 0; i < n; i++)
		ASSERT_EQ((char)(i & 0xff), self->set.mem[i][self->set.page - 1]);

	free_secrets(&self->set, n);
	ASSERT_EQ(0, pool_settle(&st2));
	direct_map_read(&after);
	TH_LOG("after close and shrink: regions %lld, in use %lld, released %lld",
	       st2.regions, st2.in_use, st2.released - st0.released);
	TH_LOG("after close and shrink: DirectMap4k %+lld kB",
	       after.dm4k - before.dm4k);
	/* Nothing held idle, nothing split, nothing lost. */
	EXPECT_EQ(0, st2.regions);
	EXPECT_EQ(0, st2.in_use);
	EXPECT_EQ(before.l2, after.l2);
	EXPECT_EQ(before.dm4k, after.dm4k);
	EXPECT_EQ(st2.grown - st0.grown, st2.released - st0.released);
}

/*
 * Growing again after the regions went back splits no further 1G page:
 * the node grows in the 1G ranges it split the first time (where the
 * blocks it gave back are free again), and says so (packed).
 */
TEST_F(direct_map, pool_on_regrows_in_split_ranges)
{
	struct direct_map_state before, first, second;
	struct pool_stats st0, st1, st2;
	int n;

	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, pool_settle(&st0));
	direct_map_read(&before);
	n = make_secrets(_metadata, &self->set);
	direct_map_read(&first);
	free_secrets(&self->set, n);
	ASSERT_EQ(0, pool_settle(&st1));
	ASSERT_EQ(0, st1.regions);

	n = make_secrets(_metadata, &self->set);
	direct_map_read(&second);
	ASSERT_EQ(0, pool_stats(&st2));
	free_secrets(&self->set, n);
	TH_LOG("level3 splits: +%lld the first time, +%lld the second; %lld of %lld regions packed",
	       first.l3 - before.l3, second.l3 - first.l3,
	       st2.packed - st1.packed, st2.grown - st1.grown);
	EXPECT_EQ(first.l3, second.l3);
	EXPECT_EQ(before.l2, second.l2);
	EXPECT_LT(0, st2.packed - st1.packed);
	EXPECT_POOL_EMPTY();
}

TEST_F(direct_map, pool_off_splits)
{
	struct direct_map_state before, during;
	struct pool_stats st;
	int n, blocks;

	/*
	 * What upstream splits stays split for the boot: a later run of this
	 * suite (the tests job runs it again per kind of file) finds its
	 * pages in 2M ranges the first run split, and splits nothing new.
	 */
	if (secretmem_kind_mode())
		SKIP(return, "per-page splits are checked once per boot, on memfd_secret() files");
	ASSERT_EQ(0, pool_set("enabled", 0));
	ASSERT_EQ(0, pool_settle(&st));
	direct_map_read(&before);

	n = make_secrets(_metadata, &self->set);
	direct_map_read(&during);
	blocks = blocks_of(&self->set, n);
	TH_LOG("pool off, %d secrets: level2 splits +%lld, level3 +%lld",
	       n, during.l2 - before.l2, during.l3 - before.l3);
	TH_LOG("DirectMap4k %+lld kB, 2M blocks with secrets %d",
	       during.dm4k - before.dm4k, blocks);
	/* Upstream behaviour: 2M mappings are split into 4K pages. */
	EXPECT_LT(before.l2, during.l2);
	EXPECT_LT(before.dm4k, during.dm4k);
	free_secrets(&self->set, n);
}

TEST_HARNESS_MAIN
