// SPDX-License-Identifier: GPL-2.0
/*
 * The secretmem pool's reserved memory: 1G blocks set aside at boot with
 * secretpool.reserve=1G (every node) and changed at run time through
 * /sys/module/secretpool/parameters/reserve.
 *
 * Runs in a boot with that parameter only (./run-tests' "reserve" boot,
 * a guest large enough for a free 1G-aligned range on every node); in a
 * boot without a reservation it fails, since it could check nothing.
 *
 *  - every node with memory holds one block, removed from the direct map
 *    as one 1G entry;
 *  - 10,000 long-lived secret pages all come from the blocks, and neither
 *    they nor their release split a 2M or a 1G mapping or grow the pool;
 *  - bad values are refused with EINVAL and change nothing;
 *  - a block goes back only whole, once no page of it is in use (EBUSY
 *    before), with its 1G mapping; a new one can be taken at run time;
 *  - free reserved memory does not keep hibernation away (the hibernate
 *    suite, also run in this boot, checks that a hibernation gives the
 *    blocks back and takes them again).
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 300

#define RESERVE		SP_PARAMS "reserve"
#define LONGLIVED	10000
#define PER_FILE	100
#define MAX_BLOCKS	64
/* sp_direct_map_level() of a 1G entry (x86 PG_LEVEL_1G). */
#define LEVEL_1G	3U

/* A line of debugfs blocks. */
struct block {
	int node;
	unsigned long long phys;
	unsigned int empty, level_before, level;
};

/* The pool's blocks; their number, or -1 if debugfs cannot be read. */
static int blocks_read(struct block *b, int max)
{
	char line[256];
	int n = 0;
	FILE *f = fopen(SP_DEBUGFS "blocks", "r");

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %llx %u %u %u", &b[n].node, &b[n].phys,
			   &b[n].empty, &b[n].level_before,
			   &b[n].level) == 5)
			n++;
	fclose(f);
	return n;
}

/* Whether page frame @pfn lies in one of the @n blocks @b. */
static bool in_blocks(const struct block *b, int n, uint64_t pfn, long page)
{
	unsigned long long phys = pfn * (unsigned long long)page;
	int i;

	for (i = 0; i < n; i++)
		if (phys >= b[i].phys && phys - b[i].phys < (1ULL << 30))
			return true;
	return false;
}

/* Write @val to the reserve knob: 0 or -errno. */
static int reserve_write(const char *val)
{
	return write_str(RESERVE, val);
}

FIXTURE(reserve) {
	long page;
	int nodes;
	char boot[256];
};

FIXTURE_SETUP(reserve)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	char want[256] = "";
	int fd, nid;

	self->page = sysconf(_SC_PAGESIZE);
	REQUIRE_POOL(return);
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd) TH_LOG("memfd_secret(): %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &unlimited));
	ASSERT_EQ(0, pool_set("enabled", 1));

	self->nodes = pool_nodes();
	ASSERT_LT(0, self->nodes);
	ASSERT_EQ(0, read_str(RESERVE, self->boot, sizeof(self->boot)));
	/* The boot reservation: 1G on every node, read back node by node. */
	for (nid = 0; nid < self->nodes; nid++)
		snprintf(want + strlen(want), sizeof(want) - strlen(want),
			 "%s1G@%d", nid ? "," : "", nid);
	strcat(want, "\n");
	ASSERT_STREQ(want, self->boot)
		TH_LOG("boot with secretpool.reserve=1G, every node with room for it");
}

FIXTURE_TEARDOWN(reserve)
{
	/* Put the boot reservation back if a test changed it. */
	if (self->boot[0])
		reserve_write(self->boot);
}

/* Every node holds one block, out of the direct map as one 1G entry. */
TEST_F(reserve, boot_blocks)
{
	struct block b[MAX_BLOCKS];
	struct pool_stats st;
	int n, i;

	n = blocks_read(b, MAX_BLOCKS);
	ASSERT_EQ(self->nodes, n);
	for (i = 0; i < n; i++) {
		TH_LOG("node %d: block at %#llx, level %u before, %u in the pool",
		       b[i].node, b[i].phys, b[i].level_before, b[i].level);
		EXPECT_EQ(0ULL, b[i].phys & ((1ULL << 30) - 1));
		EXPECT_EQ(LEVEL_1G, b[i].level_before);
		EXPECT_EQ(LEVEL_1G, b[i].level);
		EXPECT_EQ((unsigned int)BLOCK_REGIONS, b[i].empty);
		EXPECT_EQ(1, direct_map_present(b[i].phys / self->page) == 0)
			TH_LOG("the block is still in the direct map");
	}
	ASSERT_EQ(0, settle_empty(&st));
	EXPECT_EQ(self->nodes, st.blocks);
	EXPECT_EQ(self->nodes, st.unmap_1g);
	EXPECT_EQ(self->nodes * BLOCK_REGIONS, st.regions);
	EXPECT_EQ(self->nodes * BLOCK_PAGES, st.resv_free);
	EXPECT_EQ(0, st.in_use);
	EXPECT_LE(1024 * 1024LL * self->nodes, meminfo_kb("DirectMap1G"));
}

/*
 * 10,000 long-lived secret pages: every one from a block; no mapping of
 * the direct map split at either level, no region taken from the buddy
 * allocator, whether the pages are held or freed.
 */
TEST_F(reserve, longlived_from_blocks)
{
	int files = LONGLIVED / PER_FILE, fds[LONGLIVED / PER_FILE];
	struct direct_map_state dm0, dm1, dm2;
	struct pool_stats st0, st1, st2;
	struct block b[MAX_BLOCKS];
	int pagemap, i, j, n, outside = 0;
	uint64_t *pfns;
	char *p;

	n = blocks_read(b, MAX_BLOCKS);
	ASSERT_EQ(self->nodes, n);
	pfns = calloc(LONGLIVED, sizeof(*pfns));
	ASSERT_NE(NULL, pfns);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	ASSERT_EQ(0, settle_empty(&st0));
	direct_map_read(&dm0);

	for (i = 0; i < files; i++) {
		fds[i] = sys_memfd_secret(0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, ftruncate(fds[i], PER_FILE * self->page));
		p = mmap(NULL, PER_FILE * self->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fds[i], 0);
		ASSERT_NE(MAP_FAILED, p);
		for (j = 0; j < PER_FILE; j++) {
			poke(p + j * self->page, 0x5c);
			pfns[i * PER_FILE + j] =
				pagemap_pfn(pagemap, p + j * self->page,
					    self->page);
		}
		/* Unmapped, the file keeps its pages: long-lived secrets. */
		munmap(p, PER_FILE * self->page);
	}
	for (i = 0; i < LONGLIVED; i++) {
		ASSERT_NE((uint64_t)0, pfns[i]);
		outside += !in_blocks(b, n, pfns[i], self->page);
	}
	ASSERT_EQ(0, pool_stats(&st1));
	direct_map_read(&dm1);
	TH_LOG("%d pages held: %lld in use, %lld reserved pages free, %d outside the blocks",
	       LONGLIVED, st1.in_use, st1.resv_free, outside);
	EXPECT_EQ(0, outside);
	EXPECT_EQ(LONGLIVED, st1.in_use);
	EXPECT_EQ(st0.grown, st1.grown);
	EXPECT_EQ(st0.fallback, st1.fallback);
	EXPECT_EQ(self->nodes * BLOCK_REGIONS, st1.regions);
	EXPECT_EQ(dm0.l2, dm1.l2);
	EXPECT_EQ(dm0.l3, dm1.l3);
	EXPECT_EQ(dm0.dm1g, dm1.dm1g);

	for (i = 0; i < files; i++)
		close(fds[i]);
	ASSERT_EQ(0, settle_empty(&st2));
	direct_map_read(&dm2);
	EXPECT_EQ(0, st2.in_use);
	EXPECT_EQ(self->nodes * BLOCK_PAGES, st2.resv_free);
	EXPECT_EQ(dm0.l2, dm2.l2);
	EXPECT_EQ(dm0.l3, dm2.l3);
	EXPECT_EQ(dm0.dm1g, dm2.dm1g);
	close(pagemap);
	free(pfns);
	EXPECT_POOL_EMPTY();
}

/* Values the knob does not take: EINVAL, and nothing changes. */
TEST_F(reserve, bad_values)
{
	static const char * const bad[] = {
		"1500M", "1", "1G@", "1G@x", "1G@999", "1G,1G", "1G@0,1G@0",
		"1G@0,1G", "x", "-1G", "1G@0;1G@1", "4096G", "4096G@0",
	};
	struct pool_stats st0, st1;
	char now[256];
	size_t i;

	ASSERT_EQ(0, pool_stats(&st0));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *val = bad[i];

		EXPECT_EQ(-EINVAL, reserve_write(val)) TH_LOG("\"%s\"", val);
	}
	ASSERT_EQ(0, read_str(RESERVE, now, sizeof(now)));
	EXPECT_STREQ(self->boot, now);
	ASSERT_EQ(0, pool_stats(&st1));
	EXPECT_EQ(st0.blocks, st1.blocks);
	EXPECT_EQ(st0.regions, st1.regions);
}

/*
 * Free reserved memory leaves hibernation offered.  A block with a page in
 * use stays (EBUSY), the others go; once that page is free, its block goes
 * too, with its 1G mapping back; a block can be taken again at run time.
 * Last: the other tests need the boot reservation, which this one may not
 * get back whole.
 */
TEST_F(reserve, give_back_whole_and_take_again)
{
	struct direct_map_state dm0, dm1;
	struct block b[MAX_BLOCKS];
	struct pool_stats st;
	char now[256], want[64];
	int fd, pagemap, node, n, i;
	uint64_t pfn;
	char *p;

	ASSERT_EQ(0, settle_empty(&st));
	EXPECT_EQ(1, disk_offered()) TH_LOG("free reserved memory keeps \"disk\" away");
	direct_map_read(&dm0);
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	poke(p, 1);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	pfn = pagemap_pfn(pagemap, p, self->page);
	close(pagemap);
	ASSERT_NE((uint64_t)0, pfn);
	node = pfn_node(pfn);
	ASSERT_LE(0, node);

	EXPECT_EQ(-EBUSY, reserve_write("0"));
	ASSERT_EQ(0, read_str(RESERVE, now, sizeof(now)));
	snprintf(want, sizeof(want), "1G@%d\n", node);
	EXPECT_STREQ(want, now) TH_LOG("only the busy block stays");

	munmap(p, self->page);
	close(fd);
	ASSERT_EQ(0, pool_settle(&st));
	ASSERT_EQ(0, reserve_write("0\n"));
	ASSERT_EQ(0, read_str(RESERVE, now, sizeof(now)));
	EXPECT_STREQ("0\n", now);
	ASSERT_EQ(0, settle_empty(&st));
	EXPECT_EQ(0, st.blocks);
	EXPECT_EQ(0, st.regions);
	EXPECT_EQ(0, blocks_read(b, MAX_BLOCKS));
	EXPECT_EQ(1, direct_map_present(pfn)) TH_LOG("not mapped back");
	direct_map_read(&dm1);
	EXPECT_EQ(dm0.l2, dm1.l2);
	EXPECT_EQ(dm0.l3, dm1.l3) TH_LOG("giving a block back split its 1G mapping");
	EXPECT_EQ(dm0.dm1g, dm1.dm1g);

	/* Taken at run time: from the page allocator, still as one entry. */
	snprintf(want, sizeof(want), "1G@%d", self->nodes - 1);
	ASSERT_EQ(0, reserve_write(want));
	n = blocks_read(b, MAX_BLOCKS);
	ASSERT_EQ(1, n);
	EXPECT_EQ(self->nodes - 1, b[0].node);
	EXPECT_EQ(b[0].level_before, b[0].level);
	for (i = 0; i < n; i++)
		TH_LOG("taken again: node %d, %#llx, level %u", b[i].node,
		       b[i].phys, b[i].level);
	direct_map_read(&dm1);
	EXPECT_EQ(dm0.l2, dm1.l2);
	EXPECT_EQ(dm0.l3, dm1.l3);
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
