// SPDX-License-Identifier: GPL-2.0
/*
 * The pool's standard counters agree with its own accounting (debugfs):
 *
 *  - /proc/meminfo SecretPool, SecretPoolFree and SecretPoolReserved are
 *    the memory it holds, the free part and the reserved part, and the
 *    nodes' meminfo lines add up to them;
 *  - /proc/vmstat secretpool_* events move with the pool's own counts:
 *    pages handed out, fallbacks, pages recycled, regions grown and
 *    released; with the pool switched off, nothing counts as either;
 *  - a debugfs shrink cancels the growth asked for before it, or waits
 *    for it, so what it leaves stays.
 */
#define _GNU_SOURCE
#include <glob.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 120

#define PAGES	1500

/* The vmstat events of the pool. */
struct events {
	long long alloc, fallback, recycle, grow, release;
};

static int events_read(struct events *e)
{
	e->alloc = vmstat_read("secretpool_alloc");
	e->fallback = vmstat_read("secretpool_fallback");
	e->recycle = vmstat_read("secretpool_recycle");
	e->grow = vmstat_read("secretpool_region_grow");
	e->release = vmstat_read("secretpool_region_release");
	return e->alloc < 0 || e->fallback < 0 || e->recycle < 0 ||
	       e->grow < 0 || e->release < 0 ? -1 : 0;
}

/*
 * The pool's statistics and its vmstat events at one moment: the pool's
 * worker may grow or release a region between two reads, so the events
 * are read before and after the statistics until they did not move.
 */
static int snapshot(struct pool_stats *st, struct events *e)
{
	struct events before;
	int i;

	for (i = 0; i < 20; i++) {
		if (events_read(&before) || pool_stats(st) || events_read(e))
			return -1;
		if (!memcmp(&before, e, sizeof(*e)))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* The sum of "Node N KEY: V kB" over every node's meminfo; -1 if none. */
static long long nodes_kb(const char *key)
{
	char path[256], line[256], name[64];
	long long sum = -1, val;
	glob_t g;
	size_t i;
	int node;

	if (glob("/sys/devices/system/node/node*/meminfo", 0, NULL, &g))
		return -1;
	for (i = 0; i < g.gl_pathc; i++) {
		FILE *f;

		snprintf(path, sizeof(path), "%s", g.gl_pathv[i]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Node %d %63[^:]: %lld", &node, name,
				   &val) == 3 && !strcmp(name, key))
				sum = (sum < 0 ? 0 : sum) + val;
		fclose(f);
	}
	globfree(&g);
	return sum;
}

/* Check the meminfo lines against debugfs; the pool must be quiet. */
static void check_meminfo(struct __test_metadata *_metadata, const char *when)
{
	long long held = read_keyed(SP_DEBUGFS "stats", "held_kb");
	long long reserved = read_keyed(SP_DEBUGFS "stats", "reserved_kb");
	struct pool_stats st;

	ASSERT_EQ(0, pool_stats(&st));
	TH_LOG("%s: SecretPool %lld kB, SecretPoolFree %lld kB, SecretPoolReserved %lld kB",
	       when, meminfo_kb("SecretPool"), meminfo_kb("SecretPoolFree"),
	       meminfo_kb("SecretPoolReserved"));
	EXPECT_EQ(held, meminfo_kb("SecretPool"));
	EXPECT_EQ((st.free + st.cached) * 4, meminfo_kb("SecretPoolFree"));
	EXPECT_EQ(reserved, meminfo_kb("SecretPoolReserved"));
	EXPECT_EQ(meminfo_kb("SecretPool"), nodes_kb("SecretPool"));
	EXPECT_EQ(meminfo_kb("SecretPoolFree"), nodes_kb("SecretPoolFree"));
	EXPECT_EQ(meminfo_kb("SecretPoolReserved"),
		  nodes_kb("SecretPoolReserved"));
}

FIXTURE(counters) {
	long page;
	long long saved_enabled;
};

FIXTURE_SETUP(counters)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	int fd;

	self->page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	REQUIRE_POOL(return);
	self->saved_enabled = pool_get("enabled");
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd) TH_LOG("memfd_secret(): %s", strerror(errno));
	close(fd);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &unlimited));
	ASSERT_LE(0, meminfo_kb("SecretPool")) TH_LOG("no SecretPool in /proc/meminfo");
}

FIXTURE_TEARDOWN(counters)
{
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

TEST_F(counters, meminfo_matches_pool)
{
	struct pool_stats st;
	int fd;
	char *p;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, settle_empty(&st));
	check_meminfo(_metadata, "settled");

	p = secret_mapping(&fd, PAGES, self->page, 1);
	ASSERT_NE(MAP_FAILED, p);
	check_meminfo(_metadata, "secret held");
	EXPECT_LE(PAGES * 4LL, meminfo_kb("SecretPool") -
		  meminfo_kb("SecretPoolFree"));
	munmap(p, PAGES * self->page);
	close(fd);
	ASSERT_EQ(0, settle_empty(&st));
	check_meminfo(_metadata, "closed, settled");
}

TEST_F(counters, vmstat_matches_pool)
{
	struct pool_stats st0, st1, st2;
	struct events e0, e1, e2;
	int fd;
	char *p;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, settle_empty(&st0));
	ASSERT_EQ(0, events_read(&e0)) TH_LOG("no secretpool_* in /proc/vmstat");
	ASSERT_EQ(0, snapshot(&st0, &e0));

	p = secret_mapping(&fd, PAGES, self->page, 1);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, snapshot(&st1, &e1));
	EXPECT_EQ(PAGES, e1.alloc - e0.alloc);
	EXPECT_EQ(st1.in_use - st0.in_use, e1.alloc - e0.alloc);
	EXPECT_EQ(st1.fallback - st0.fallback, e1.fallback - e0.fallback);
	EXPECT_EQ(st1.grown - st0.grown, e1.grow - e0.grow);
	EXPECT_LT(0, e1.grow - e0.grow + st0.blocks)
		TH_LOG("neither a region grown nor a block to serve from");
	munmap(p, PAGES * self->page);
	close(fd);

	ASSERT_EQ(0, settle_empty(&st2));
	ASSERT_EQ(0, snapshot(&st2, &e2));
	TH_LOG("events: %lld alloc, %lld fallback, %lld recycle, %lld grow, %lld release",
	       e2.alloc - e0.alloc, e2.fallback - e0.fallback,
	       e2.recycle - e0.recycle, e2.grow - e0.grow,
	       e2.release - e0.release);
	EXPECT_EQ(st2.recycled - st0.recycled, e2.recycle - e0.recycle);
	EXPECT_LE(PAGES, e2.recycle - e0.recycle);
	EXPECT_EQ(st2.grown - st0.grown, e2.grow - e0.grow);
	EXPECT_EQ(st2.released - st0.released, e2.release - e0.release);

	/* Switched off, the pool hands out nothing and falls back from nothing. */
	ASSERT_EQ(0, pool_set("enabled", 0));
	p = secret_mapping(&fd, 64, self->page, 1);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, events_read(&e1));
	EXPECT_EQ(e2.alloc, e1.alloc);
	EXPECT_EQ(e2.fallback, e1.fallback);
	munmap(p, 64 * self->page);
	close(fd);
	ASSERT_EQ(0, pool_set("enabled", 1));
	EXPECT_POOL_EMPTY();
}

/*
 * Switching the pool on asks its worker to grow every node to the low
 * watermark.  A debugfs shrink written right after it cancels that growth,
 * or waits for it if it is under way and gives it back, so nothing lands
 * afterwards and the statistics of a settled pool mean what they say (the
 * other tests rely on it).  What grew was released: a region per node at
 * most (none where reserved blocks keep the node above its watermark).
 */
TEST_F(counters, shrink_waits_for_growth_asked_before)
{
	struct pool_stats st0, st1;

	if (_metadata->skip)
		return;
	if (pool_get("low_watermark") <= 0)
		SKIP(return, "low_watermark is 0: switching on grows nothing");
	ASSERT_EQ(0, pool_set("enabled", 0));
	ASSERT_EQ(0, settle_empty(&st0));
	ASSERT_EQ(st0.blocks * BLOCK_REGIONS, st0.regions);
	/* A page still pending would have the worker grow again later. */
	ASSERT_EQ(0, st0.pending);

	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, write_str(SP_DEBUGFS "shrink", "1"));
	/* Long enough for a growth still under way to land. */
	usleep(500000);
	ASSERT_EQ(0, pool_stats(&st1));
	TH_LOG("after switching on and one shrink: %lld regions, %lld grown, %lld released",
	       st1.regions - st1.blocks * BLOCK_REGIONS, st1.grown - st0.grown,
	       st1.released - st0.released);
	EXPECT_EQ(st1.blocks * BLOCK_REGIONS, st1.regions);
	EXPECT_EQ(st1.grown - st0.grown, st1.released - st0.released);
	EXPECT_GE(pool_nodes(), st1.grown - st0.grown);
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
