// SPDX-License-Identifier: GPL-2.0
/*
 * The secretpool:* and secretmem:* tracepoints tell what the pool did,
 * and agree with its counters.  Each test records in a tracefs instance of
 * its own (nothing else writes there) and reads it back:
 *
 *  - churn: a secret held and closed, a few times, then the pool shrunk:
 *    every region grown is released once, after it was grown, and none is
 *    left; one secretpool_alloc per page, as many as /proc/vmstat counts;
 *    the pages recycled and the pages shrunk add up to the counters; a
 *    region's direct-map level only goes down where it split a 1G entry;
 *  - fallback: with max_regions=1, the pages the pool cannot serve give a
 *    secretpool_fallback each with the reason max_regions, and each of
 *    them a secretmem_page_unmap from the per-page path;
 *  - pool off: only the per-page path reports, a page at a time, each
 *    page left mapped by a 4K entry.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define TRACEFS		"/sys/kernel/tracing"
#define INSTANCE	TRACEFS "/instances/secretmem_selftest"
#define PAGES		1200
#define ROUNDS		3
#define MAX_REGIONS	4096

/* What one read of the instance's trace held. */
struct trace {
	/* Regions of the default pool by pfn: grown, then released. */
	unsigned long long grown[MAX_REGIONS], released[MAX_REGIONS];
	int nr_grown, nr_released;
	int release_unknown;		/* released, never grown here */
	int release_twice;		/* released while not held */
	int level_bad;			/* a level that moved the wrong way */
	long long alloc, alloc_bad_source, recycled, shrunk;
	long long fallback, fallback_max_regions, unmap, unmap_not_4k;
	long long entries, written;	/* of the header: lost if different */
};

static int level_of(const char *s)
{
	if (!strcmp(s, "4K"))
		return 1;
	if (!strcmp(s, "2M"))
		return 2;
	if (!strcmp(s, "1G"))
		return 3;
	return 0;
}

static int find_pfn(const unsigned long long *set, int n, unsigned long long pfn)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i] == pfn)
			return i;
	return -1;
}

static int count_pfn(const unsigned long long *set, int n, unsigned long long pfn)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += set[i] == pfn;
	return c;
}

/* A secretpool_region_grow or _release line of the default pool. */
static void parse_region(struct trace *t, const char *rest, bool grow)
{
	char before[8], after[8];
	unsigned long long pfn;
	unsigned long pages;
	int nid;

	if (sscanf(rest, "pool=default nid=%d pfn=%llx pages=%lu level_before=%7s level_after=%7s",
		   &nid, &pfn, &pages, before, after) != 5)
		return;
	if (grow) {
		/* Below 1G, removing a region as one entry changes no level. */
		if (level_of(before) == 3 ? level_of(after) != 2 :
		    level_of(after) != level_of(before))
			t->level_bad++;
		if (t->nr_grown < MAX_REGIONS)
			t->grown[t->nr_grown++] = pfn;
		return;
	}
	/* Mapping a region back restores its entry as it was in the pool. */
	if (level_of(after) != level_of(before))
		t->level_bad++;
	if (find_pfn(t->grown, t->nr_grown, pfn) < 0) {
		t->release_unknown++;
		return;
	}
	/* Released no more often than it was grown so far. */
	if (count_pfn(t->released, t->nr_released, pfn) >=
	    count_pfn(t->grown, t->nr_grown, pfn))
		t->release_twice++;
	if (t->nr_released < MAX_REGIONS)
		t->released[t->nr_released++] = pfn;
}

/* The fields of event @name on a line of the trace, or NULL. */
static const char *event_of(const char *line, const char *name)
{
	const char *p = strstr(line, name);
	size_t len = strlen(name);

	if (!p || strncmp(p + len, ": ", 2))
		return NULL;
	return p + len + 2;
}

static void parse_line(struct trace *t, const char *line)
{
	char src[16], reason[32], before[8], after[8];
	unsigned long asked, keep, freed, pending;
	unsigned int scanned, done;
	unsigned long long pfn;
	int nid, page_nid;
	const char *p;

	p = event_of(line, "secretpool_region_grow");
	if (p) {
		parse_region(t, p, true);
		return;
	}
	p = event_of(line, "secretpool_region_release");
	if (p) {
		parse_region(t, p, false);
		return;
	}
	p = event_of(line, "secretpool_alloc");
	if (p && sscanf(p, "pool=default nid=%d pfn=%llx page_nid=%d source=%15s",
			&nid, &pfn, &page_nid, src) == 4) {
		t->alloc++;
		if (strcmp(src, "pcp") && strcmp(src, "node") &&
		    strcmp(src, "grow") && strcmp(src, "remote"))
			t->alloc_bad_source++;
		return;
	}
	p = event_of(line, "secretpool_recycle");
	if (p && sscanf(p, "pool=default nid=%d scanned=%u recycled=%u pending=%lu",
			&nid, &scanned, &done, &pending) == 4) {
		t->recycled += done;
		return;
	}
	p = event_of(line, "secretpool_shrink");
	if (p && sscanf(p, "pool=default nid=%d asked=%lu keep=%lu freed=%lu",
			&nid, &asked, &keep, &freed) == 4) {
		t->shrunk += freed;
		return;
	}
	p = event_of(line, "secretpool_fallback");
	if (p && sscanf(p, "pool=default nid=%d reason=%31s", &nid,
			reason) == 2) {
		t->fallback++;
		if (!strcmp(reason, "max_regions"))
			t->fallback_max_regions++;
		return;
	}
	p = event_of(line, "secretmem_page_unmap");
	if (p && sscanf(p, "pfn=%llx nid=%d level_before=%7s level_after=%7s",
			&pfn, &nid, before, after) == 4) {
		t->unmap++;
		if (strcmp(after, "4K"))
			t->unmap_not_4k++;
	}
}

static int trace_read(struct trace *t)
{
	char line[512];
	FILE *f;

	memset(t, 0, sizeof(*t));
	t->entries = -1;
	t->written = -1;
	f = fopen(INSTANCE "/trace", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		/* Events were lost if the header's two figures differ. */
		if (line[0] == '#')
			(void)sscanf(line, "# entries-in-buffer/entries-written: %lld/%lld",
				     &t->entries, &t->written);
		else
			parse_line(t, line);
	}
	fclose(f);
	return 0;
}

/* Regions grown and not released: every grow less every release. */
static int trace_held(const struct trace *t)
{
	int i, held = 0;

	for (i = 0; i < t->nr_grown; i++)
		if (find_pfn(t->grown, i, t->grown[i]) < 0)
			held += count_pfn(t->grown, t->nr_grown, t->grown[i]) -
				count_pfn(t->released, t->nr_released,
					  t->grown[i]);
	return held;
}

static int instance_on(bool on)
{
	const char *v = on ? "1" : "0";

	if (write_str(INSTANCE "/events/secretpool/enable", v) ||
	    write_str(INSTANCE "/events/secretmem/enable", v))
		return -1;
	return write_str(INSTANCE "/tracing_on", v);
}

FIXTURE(trace) {
	long page;
	long long saved_enabled, saved_max, saved_low;
};

FIXTURE_SETUP(trace)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	struct pool_stats st;

	self->page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	self->saved_max = -1;
	self->saved_low = -1;
	REQUIRE_POOL(return);
	self->saved_enabled = pool_get("enabled");
	self->saved_max = pool_get("max_regions");
	self->saved_low = pool_get("low_watermark");
	/*
	 * No growth in the background: the worker would otherwise refill
	 * the emptied pool between the end of a trace and the reading of
	 * the counters; regions then grow only for the faults, traced.
	 */
	ASSERT_EQ(0, pool_set("low_watermark", 0));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &unlimited));

	if (access(TRACEFS "/events", F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	ASSERT_EQ(0, access(TRACEFS "/events/secretpool", F_OK))
		TH_LOG("no secretpool events in %s: a kernel without CONFIG_TRACING?",
		       TRACEFS);
	ASSERT_EQ(0, access(TRACEFS "/events/secretmem", F_OK));
	rmdir(INSTANCE);
	ASSERT_EQ(0, mkdir(INSTANCE, 0755)) TH_LOG("mkdir %s: %s", INSTANCE,
						   strerror(errno));
	ASSERT_EQ(0, write_str(INSTANCE "/buffer_size_kb", "4096"));

	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, settle_empty(&st));
	if (st.blocks)
		SKIP(return, "a boot with reserved blocks serves without growing");
}

FIXTURE_TEARDOWN(trace)
{
	instance_on(false);
	rmdir(INSTANCE);
	if (self->saved_max >= 0)
		pool_set("max_regions", self->saved_max);
	if (self->saved_low >= 0)
		pool_set("low_watermark", self->saved_low);
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

static void drop_secret(int fd, char *p, long pages, long page)
{
	munmap(p, pages * page);
	close(fd);
}

TEST_F(trace, churn)
{
	long long alloc0, recycle0, grow0, release0;
	struct pool_stats st;
	struct trace *t;
	int round, fd;
	char *p;

	if (_metadata->skip)
		return;
	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	alloc0 = vmstat_read("secretpool_alloc");
	recycle0 = vmstat_read("secretpool_recycle");
	grow0 = vmstat_read("secretpool_region_grow");
	release0 = vmstat_read("secretpool_region_release");
	ASSERT_EQ(0, instance_on(true));

	for (round = 0; round < ROUNDS; round++) {
		p = secret_mapping(&fd, PAGES, self->page, 1);
		ASSERT_NE(MAP_FAILED, p);
		drop_secret(fd, p, PAGES, self->page);
	}
	ASSERT_EQ(0, settle_empty(&st));
	ASSERT_EQ(0, instance_on(false));
	ASSERT_EQ(0, trace_read(t));

	TH_LOG("trace: %d grown, %d released, %lld alloc, %lld recycled, %lld shrunk; %lld/%lld",
	       t->nr_grown, t->nr_released, t->alloc, t->recycled, t->shrunk,
	       t->entries, t->written);
	EXPECT_EQ(t->entries, t->written) TH_LOG("events were lost");
	EXPECT_LT(0, t->nr_grown);
	EXPECT_EQ(t->nr_grown, t->nr_released);
	EXPECT_EQ(0, t->release_unknown);
	EXPECT_EQ(0, t->release_twice);
	EXPECT_EQ(0, trace_held(t));
	EXPECT_EQ(0, t->level_bad);
	EXPECT_EQ(0, st.regions);

	EXPECT_EQ(ROUNDS * PAGES, t->alloc);
	EXPECT_EQ(0, t->alloc_bad_source);
	EXPECT_EQ(vmstat_read("secretpool_alloc") - alloc0, t->alloc);
	EXPECT_EQ(vmstat_read("secretpool_recycle") - recycle0, t->recycled);
	EXPECT_EQ(vmstat_read("secretpool_region_grow") - grow0, t->nr_grown);
	EXPECT_EQ(vmstat_read("secretpool_region_release") - release0,
		  t->nr_released);
	EXPECT_EQ(t->nr_released * 512LL, t->shrunk);
	EXPECT_EQ(0, t->fallback);
	EXPECT_EQ(0, t->unmap);
	free(t);
	EXPECT_POOL_EMPTY();
}

TEST_F(trace, fallback_reason)
{
	long long fallback0;
	struct pool_stats st;
	struct trace *t;
	int fd;
	char *p;

	if (_metadata->skip)
		return;
	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, pool_set("max_regions", 1));
	ASSERT_EQ(0, settle_empty(&st));
	fallback0 = vmstat_read("secretpool_fallback");
	ASSERT_EQ(0, instance_on(true));

	/* One region per node at most: 2048 pages need the per-page path. */
	p = secret_mapping(&fd, 2048, self->page, 1);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, instance_on(false));
	ASSERT_EQ(0, trace_read(t));
	drop_secret(fd, p, 2048, self->page);

	TH_LOG("trace: %lld alloc, %lld fallback (%lld max_regions), %lld per-page unmaps",
	       t->alloc, t->fallback, t->fallback_max_regions, t->unmap);
	EXPECT_EQ(t->entries, t->written) TH_LOG("events were lost");
	EXPECT_LT(0, t->fallback);
	EXPECT_EQ(t->fallback, t->fallback_max_regions);
	EXPECT_EQ(vmstat_read("secretpool_fallback") - fallback0, t->fallback);
	EXPECT_EQ(2048, t->alloc + t->fallback);
	EXPECT_EQ(t->fallback, t->unmap);
	EXPECT_EQ(0, t->unmap_not_4k);
	free(t);
	ASSERT_EQ(0, pool_set("max_regions", self->saved_max));
	EXPECT_POOL_EMPTY();
}

TEST_F(trace, pool_off_page_at_a_time)
{
	struct trace *t;
	int fd;
	char *p;

	if (_metadata->skip)
		return;
	t = calloc(1, sizeof(*t));
	ASSERT_NE(NULL, t);
	ASSERT_EQ(0, pool_set("enabled", 0));
	ASSERT_EQ(0, instance_on(true));
	p = secret_mapping(&fd, 64, self->page, 1);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, instance_on(false));
	ASSERT_EQ(0, trace_read(t));
	drop_secret(fd, p, 64, self->page);

	EXPECT_EQ(t->entries, t->written) TH_LOG("events were lost");
	EXPECT_EQ(0, t->alloc);
	EXPECT_EQ(0, t->fallback);
	EXPECT_EQ(64, t->unmap);
	EXPECT_EQ(0, t->unmap_not_4k);
	free(t);
	ASSERT_EQ(0, pool_set("enabled", 1));
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
