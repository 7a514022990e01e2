// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the secretmem pool (mm/secretpool.c).
 *
 * Every test builds a private pool with its own parameters (no background
 * work, no shrinker), so it neither disturbs nor depends on the pool behind
 * memfd_secret().  Pages a test still holds when it ends, passed or not,
 * are given back by the suite's exit hook before the pool is destroyed.
 *
 * After every step that changes the pool, sp_test_stats() has the pool
 * count its pages by walking its lists, caches and bitmaps
 * (sp_pool_audit()) and checks that the walk, the counters and the number
 * of regions agree: no page is lost.  sp_test_audit_catches_lost_page shows
 * that this check can fail.
 */

#include <kunit/test.h>
#include <linux/cpu.h>
#include <linux/highmem.h>
#include <linux/memcontrol.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/pagemap.h>
#include <linux/page_ref.h>
#include <linux/set_memory.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/swap.h>
#include <linux/vmstat.h>

#include "internal.h"
#include "secretpool.h"

#define SP_TEST_MAX_PAGES	(4 * SP_REGION_PAGES)

struct sp_test {
	struct secretpool_params params;
	struct secretpool *pool;
	struct page **pages;	/* pages the test holds */
	unsigned int nr;
};

static struct sp_test *sp_test_pool(struct kunit *test,
				    unsigned int max_regions,
				    unsigned int pcp_high)
{
	struct sp_test *t = test->priv;

	t->params = (struct secretpool_params) {
		.low_watermark = 0,
		.high_watermark = 0,
		.max_regions = max_regions,
		.pcp_high = pcp_high,
		.pcp_batch = 16,
		.background = false,
	};
	t->pool = sp_pool_create("kunit", &t->params);
	KUNIT_ASSERT_FALSE(test, IS_ERR(t->pool));
	return t;
}

static struct page *sp_test_alloc_mask(struct kunit *test, int nid,
				       const nodemask_t *mask, gfp_t gfp)
{
	struct sp_test *t = test->priv;
	struct page *page;

	KUNIT_ASSERT_LT(test, t->nr, SP_TEST_MAX_PAGES);
	page = sp_pool_alloc(t->pool, nid, mask, gfp);
	if (page)
		t->pages[t->nr++] = page;
	return page;
}

static struct page *sp_test_alloc(struct kunit *test, int nid, gfp_t gfp)
{
	return sp_test_alloc_mask(test, nid, NULL, gfp);
}

/* Give back the test's page at index @i (the last one fills the hole). */
static void sp_test_free(struct kunit *test, unsigned int i)
{
	struct sp_test *t = test->priv;

	KUNIT_EXPECT_TRUE(test, sp_pool_free(t->pool, t->pages[i]));
	t->pages[i] = t->pages[--t->nr];
}

static void sp_test_free_all(struct kunit *test)
{
	struct sp_test *t = test->priv;

	while (t->nr)
		sp_test_free(test, t->nr - 1);
}

/* Forget the test's page at index @i without giving it back. */
static struct page *sp_test_forget(struct kunit *test, unsigned int i)
{
	struct sp_test *t = test->priv;
	struct page *page = t->pages[i];

	t->pages[i] = t->pages[--t->nr];
	return page;
}

static struct secretpool_stats sp_test_stats(struct kunit *test, int nid)
{
	struct sp_test *t = test->priv;
	struct secretpool_stats st;
	struct sp_audit a;

	sp_pool_stats(t->pool, nid, &st);
	/*
	 * No page is ever lost: walking the pool finds every page of every
	 * region in exactly one state, and what it finds is what the
	 * counters say.
	 */
	KUNIT_EXPECT_EQ(test, sp_pool_audit(t->pool, nid, &a), 0);
	KUNIT_EXPECT_EQ(test, a.regions, st.regions);
	KUNIT_EXPECT_EQ(test, a.free, st.free);
	KUNIT_EXPECT_EQ(test, a.cached, st.cached);
	KUNIT_EXPECT_EQ(test, a.pending, st.pending);
	KUNIT_EXPECT_EQ(test, a.poisoned, st.poisoned);
	KUNIT_EXPECT_EQ(test, a.in_use, (long)st.in_use);
	KUNIT_EXPECT_EQ(test, st.regions * SP_REGION_PAGES,
			a.free + a.cached + a.pending + a.poisoned +
			(unsigned long)a.in_use);
	return st;
}

static int sp_test_init(struct kunit *test)
{
	struct sp_test *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);

	if (!t)
		return -ENOMEM;
	t->pages = kunit_kcalloc(test, SP_TEST_MAX_PAGES, sizeof(*t->pages),
				 GFP_KERNEL);
	if (!t->pages)
		return -ENOMEM;
	test->priv = t;
	return 0;
}

static void sp_test_moving_release(void);

static void sp_test_exit(struct kunit *test)
{
	struct sp_test *t = test->priv;

	sp_test_moving_release();
	if (!t->pool)
		return;
	while (t->nr)
		sp_pool_free(t->pool, t->pages[--t->nr]);
	sp_pool_destroy(t->pool);
}

/* Pages handed out and given back are counted exactly. */
static void sp_test_accounting(struct kunit *test)
{
	int nid = first_memory_node;
	struct secretpool_stats st;
	unsigned int i;

	sp_test_pool(test, 0, 0);

	for (i = 0; i < 100; i++) {
		struct page *page = sp_test_alloc(test, nid, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_EQ(test, page_to_nid(page), nid);
		/* The pool's reference and the caller's. */
		KUNIT_EXPECT_EQ(test, page_ref_count(page), 2);
		KUNIT_EXPECT_FALSE(test, PageCompound(page));
		KUNIT_EXPECT_FALSE(test, PageLRU(page));
	}
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.grown, 1UL);
	KUNIT_EXPECT_EQ(test, st.in_use, 100UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES - 100UL);
	KUNIT_EXPECT_EQ(test, st.fallback, 0UL);

	sp_test_free_all(test);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.in_use, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, st.empty_regions, 1UL);
}

/*
 * The audit counts by walking, so a page that went missing is noticed:
 * here one page is taken off its region's free list the way a buggy path
 * would lose it, with the free counts lowered but the page never counted
 * as in use.  (When in_use was derived from the other counts, the lost
 * page silently became "in use" and this check could not fail.)
 */
static void sp_test_audit_catches_lost_page(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct sp_nodepool *n;
	struct sp_region *r;
	struct sp_audit a;
	struct page *page;

	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	KUNIT_EXPECT_EQ(test, sp_pool_audit(t->pool, nid, &a), 0);

	r = sp_pool_region_of(t->pool, t->pages[0]);
	n = r->node;
	spin_lock(&n->lock);
	page = list_first_entry(&r->free, struct page, lru);
	list_del(&page->lru);
	r->nr_free--;
	n->nr_free--;
	spin_unlock(&n->lock);

	KUNIT_EXPECT_EQ(test, sp_pool_audit(t->pool, nid, &a), -EUCLEAN);
	KUNIT_EXPECT_EQ(test, a.free + a.cached + a.pending + a.poisoned +
			(unsigned long)a.in_use, SP_REGION_PAGES - 1UL);

	/* A page counted twice is noticed as well. */
	spin_lock(&n->lock);
	list_add(&page->lru, &r->free);
	r->nr_free++;
	n->nr_free++;
	__set_bit(page_to_pfn(page) - r->pfn, r->pending);
	r->nr_pending++;
	n->nr_pending++;
	spin_unlock(&n->lock);
	KUNIT_EXPECT_EQ(test, sp_pool_audit(t->pool, nid, &a), -EUCLEAN);
	KUNIT_EXPECT_GT(test, a.bad_regions, 0UL);

	spin_lock(&n->lock);
	__clear_bit(page_to_pfn(page) - r->pfn, r->pending);
	r->nr_pending--;
	n->nr_pending--;
	spin_unlock(&n->lock);
	KUNIT_EXPECT_EQ(test, sp_pool_audit(t->pool, nid, &a), 0);

	sp_test_free_all(test);
	sp_pool_shrink(t->pool, nid, ULONG_MAX, 0);
}

/* Only the pool's own pages are taken back. */
static void sp_test_foreign_page(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_NULL(test, sp_pool_region_of(t->pool, page));
	KUNIT_EXPECT_FALSE(test, sp_pool_free(t->pool, page));
	KUNIT_EXPECT_FALSE(test, sp_pool_release_folio(t->pool,
						       page_folio(page)));
	__free_page(page);
}

/*
 * A region leaves the direct map as one entry and comes back as one: the
 * pool never splits a 2M mapping into 4K ones.  Every page handed out is
 * absent from the direct map.
 */
/*
 * Whether the direct-map entry of @page is global; 1 if so, 0 if not, -1
 * where it cannot be told.
 */
static int sp_test_global(struct page *page)
{
#ifdef CONFIG_X86
	unsigned int level;
	pte_t *pte = lookup_address((unsigned long)page_address(page), &level);

	if (!pte)
		return -1;
	return !!(pte_flags(*pte) & _PAGE_GLOBAL);
#else
	return -1;
#endif
}

/* What the direct map's entries are, global or not, on this machine. */
static int sp_test_global_expected(void)
{
#ifdef CONFIG_X86
	return !!(_PAGE_GLOBAL & __default_kernel_pte_mask);
#else
	return -1;
#endif
}

static void sp_test_direct_map_whole(struct kunit *test)
{
	int nid = first_memory_node;
	struct sp_region *r;
	struct page *page, *base;
	unsigned int i;
	int level;

	if (!IS_ENABLED(CONFIG_X86))
		kunit_skip(test, "direct-map levels are read on x86 only");

	sp_test_pool(test, 0, 0);
	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_FALSE(test, kernel_page_present(page));
	r = sp_pool_region_of(((struct sp_test *)test->priv)->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	base = pfn_to_page(r->pfn);

	KUNIT_EXPECT_EQ(test, r->pfn % SP_REGION_PAGES, 0UL);
	/*
	 * 1G mappings become 2M ones; 2M ones stay; 4K ones were split
	 * before (or debug_pagealloc maps everything with 4K pages).
	 */
	KUNIT_EXPECT_EQ(test, (int)r->level,
			min_t(int, r->level_before, SP_LEVEL_2M));
	KUNIT_EXPECT_EQ(test, secretmem_direct_map_level(base), (int)r->level);
	for (i = 0; i < SP_REGION_PAGES; i++)
		KUNIT_EXPECT_FALSE(test, kernel_page_present(base + i));

	level = r->level;
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(((struct sp_test *)test->priv)->pool,
					     nid, ULONG_MAX, 0),
			SP_REGION_PAGES);

	/*
	 * Back in the direct map, with the same (large) entry, unless
	 * debug_pagealloc unmapped the pages as the page allocator took them.
	 */
	KUNIT_EXPECT_EQ(test, secretmem_direct_map_level(base), level);
	if (!debug_pagealloc_enabled()) {
		for (i = 0; i < SP_REGION_PAGES; i++)
			KUNIT_EXPECT_TRUE(test, kernel_page_present(base + i));
		/* Global again, as the rest of the direct map. */
		KUNIT_EXPECT_EQ(test, sp_test_global(base),
				sp_test_global_expected());
	}
}

/* CPU caches hold pages of the region until drained. */
static void sp_test_pcp_drain(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 64);
	struct secretpool_stats st;
	struct page *page;
	int nid;

	page = sp_test_alloc(test, NUMA_NO_NODE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	nid = page_to_nid(page);

	/* The first allocation grew the pool through the slow path. */
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);

	/* The next ones refill this CPU's cache in a batch. */
	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_GT(test, st.cached, 0UL);
	KUNIT_EXPECT_EQ(test, st.in_use, 2UL);

	sp_pool_drain(t->pool, nid);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.cached, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES - 2UL);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/*
 * What the CPU hotplug "dead" callback does: a CPU's cache, wherever its
 * pages came from, goes back to the regions.
 */
static void sp_test_cpu_drain(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 64);
	struct secretpool_stats st;
	unsigned int cpu;
	int nid;

	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, NUMA_NO_NODE,
						  GFP_KERNEL));
	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, NUMA_NO_NODE,
						  GFP_KERNEL));
	nid = page_to_nid(t->pages[0]);

	/* Whichever CPUs ran the test, draining each empties its cache. */
	for_each_possible_cpu(cpu)
		sp_pool_drain_cpu(t->pool, cpu);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.cached, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES - 2UL);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/* A page given back is zero before anyone can have it again. */
static void sp_test_zero_on_free(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	struct page *page;

	page = sp_test_alloc(test, first_memory_node, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));

	sp_page_fill(page, 0xa5);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0xa5));
	sp_test_free(test, 0);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));

	/* The same page comes back first, still zero. */
	KUNIT_EXPECT_PTR_EQ(test, sp_test_alloc(test, first_memory_node,
						GFP_KERNEL), page);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	sp_test_free_all(test);
	sp_pool_shrink(t->pool, first_memory_node, ULONG_MAX, 0);
}

/*
 * A page back from a file waits until every other reference is gone, and
 * is zero when it is free again.  The pool's own reference is there all
 * along: the page's refcount never drops to zero.
 */
static void sp_test_pending_waits(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct page *page;

	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	sp_test_forget(test, 0);	/* from here on, "the page cache's" */
	sp_page_fill(page, 0x5a);

	/* As the page cache does: another holder, then ->free_folio(). */
	get_page(page);
	KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool,
						      page_folio(page)));
	/* ->free_folio() takes the pool's hold on the page again. */
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 4);
	put_page(page);		/* the page cache's reference */
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 3);

	sp_pool_recycle(t->pool, nid, NULL);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 1UL);
	KUNIT_EXPECT_EQ(test, st.in_use, 0UL);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0x5a));

	put_page(page);		/* the last other holder */
	KUNIT_EXPECT_EQ(test, sp_pool_recycle(t->pool, nid, NULL), 1U);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, st.recycled, 1UL);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 2);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/*
 * Make a page of the pool look as one of a secret file does: written,
 * charged to a memory cgroup, mlocked and on its way to the unevictable
 * LRU (the caller drains the LRU batches).
 */
static void sp_test_as_file_page(struct kunit *test, struct page *page,
				 u8 byte)
{
	struct folio *folio = page_folio(page);

	sp_page_fill(page, byte);
	KUNIT_ASSERT_EQ(test, mem_cgroup_charge(folio, NULL, GFP_KERNEL), 0);
	if (!folio_test_set_mlocked(folio))
		zone_stat_mod_folio(folio, NR_MLOCK, 1);
	folio_add_lru(folio);
}

/*
 * A page of the pool that only "the page cache" holds any more (the test
 * forgot it), made to look as a secret file's page (filled with @byte)
 * and on the LRU.
 */
static struct page *sp_test_file_page(struct kunit *test, int nid, u8 byte)
{
	struct sp_test *t = test->priv;
	struct page *page;

	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	sp_test_forget(test, t->nr - 1);
	sp_test_as_file_page(test, page, byte);
	lru_add_drain();
	return page;
}

/*
 * A page that left its file stays on the LRU while it is pending, as the
 * page cache put it there (crash-dump filters drop LRU pages that are not
 * anonymous), and leaves the LRU only once it has been zeroed.  The test's
 * page is mlocked, so that it sits on the unevictable LRU as a secretmem
 * page does and reclaim leaves it alone.
 */
static void sp_test_pending_stays_on_lru(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct folio *folio;
	struct page *page;

	page = sp_test_file_page(test, nid, 0x3c);
	folio = page_folio(page);
	KUNIT_ASSERT_TRUE(test, PageLRU(page));
	KUNIT_EXPECT_TRUE(test, PageUnevictable(page));

	get_page(page);		/* somebody still holds it */
	KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool, folio));
	put_page(page);		/* the page cache's reference */
	sp_pool_recycle(t->pool, nid, NULL);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 1UL);
	KUNIT_EXPECT_TRUE(test, PageLRU(page));
	KUNIT_EXPECT_TRUE(test, PageUnevictable(page));
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0x3c));

	put_page(page);		/* the last other holder */
	KUNIT_EXPECT_EQ(test, sp_pool_recycle(t->pool, nid, NULL), 1U);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES);
	KUNIT_EXPECT_FALSE(test, PageLRU(page));
	KUNIT_EXPECT_FALSE(test, PageMlocked(page));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 2);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/*
 * A recycling pass takes a whole batch of pages that left their files at
 * once: each is zeroed through a window slot of its own, off its LRU and
 * uncharged, its flags cleared.  A page somebody still holds in the middle
 * of them is left as it was (on the LRU, not zeroed) and pending.
 */
static void sp_test_recycle_batch(struct kunit *test)
{
	const unsigned int nr = SP_RECYCLE_BATCH + 1, held = nr / 2;
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct page **pages;
	unsigned int i;

	pages = kunit_kcalloc(test, nr, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (i = 0; i < nr; i++) {
		pages[i] = sp_test_alloc(test, nid, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, pages[i]);
		sp_test_as_file_page(test, pages[i], i + 1);
	}
	t->nr = 0;		/* from here on, "the page cache's" */
	lru_add_drain();
	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);

		KUNIT_ASSERT_TRUE(test, folio_test_lru(folio));
		if (i == held)
			folio_get(folio);
		KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool, folio));
		folio_put(folio);	/* the page cache's reference */
	}

	KUNIT_EXPECT_EQ(test, sp_pool_recycle(t->pool, nid, NULL),
			(unsigned int)SP_RECYCLE_BATCH);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 1UL);
	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (i == held) {
			KUNIT_EXPECT_TRUE(test, PageLRU(pages[i]));
			KUNIT_EXPECT_TRUE(test, sp_page_is_filled(pages[i],
								  i + 1));
			continue;
		}
		KUNIT_EXPECT_FALSE(test, PageLRU(pages[i]));
		KUNIT_EXPECT_FALSE(test, PageMlocked(pages[i]));
		KUNIT_EXPECT_PTR_EQ(test, folio_memcg(folio), NULL);
		KUNIT_EXPECT_EQ(test, page_ref_count(pages[i]), 2);
		KUNIT_EXPECT_TRUE(test, sp_page_is_filled(pages[i], 0));
	}

	put_page(pages[held]);	/* the last other holder */
	KUNIT_EXPECT_EQ(test, sp_pool_recycle(t->pool, nid, NULL), 1U);
	KUNIT_EXPECT_FALSE(test, PageLRU(pages[held]));
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(pages[held], 0));
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

static struct page *sp_test_putback_page;

/*
 * What an LRU isolation that ends while a batch is being recycled leaves
 * (DAMON's pageout, memory offlining and reclaim isolate a page, put it
 * back and drop their reference): the page on its LRU again, with only
 * the pool's references, between the zeroing and the freeze.
 */
static void sp_test_putback(struct page **batch, unsigned int nr)
{
	struct folio *folio = page_folio(sp_test_putback_page);

	if (folio_test_lru(folio)) {
		if (!folio_isolate_lru(folio))
			folio_putback_lru(folio);
	} else {
		folio_get(folio);
		folio_add_lru(folio);
		folio_put(folio);
	}
	lru_add_drain();
}

/*
 * A page that is back on an LRU when its refcount is frozen is taken off
 * it: a page is never free and on an LRU at once.  (Taking pages off the
 * LRU before the freeze, and skipping those without PG_lru, freed this
 * one while it was on the unevictable LRU.)
 */
static void sp_test_recycle_lru_putback(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct folio *folio;
	struct page *page;

	page = sp_test_file_page(test, nid, 0x96);
	folio = page_folio(page);
	KUNIT_ASSERT_TRUE(test, folio_test_lru(folio));
	KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool, folio));
	folio_put(folio);	/* the page cache's reference */

	sp_test_putback_page = page;
	sp_test_recycle_hook = sp_test_putback;
	KUNIT_EXPECT_EQ(test, sp_pool_recycle(t->pool, nid, NULL), 1U);
	sp_test_recycle_hook = NULL;

	KUNIT_EXPECT_FALSE(test, PageLRU(page));
	KUNIT_EXPECT_FALSE(test, PageUnevictable(page));
	KUNIT_EXPECT_PTR_EQ(test, folio_memcg(folio), NULL);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 2);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/*
 * With the pool's reference, the refcount of a page in a file is never
 * what __remove_mapping() expects of a page only the page cache and its
 * caller hold, so it cannot freeze the refcount and free the page past
 * the pool (the old ->free_folio() took a reference on a frozen page).
 */
static void sp_test_refcount_never_frozen(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	struct page *page;

	page = sp_test_alloc(test, first_memory_node, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	get_page(page);		/* the caller of __remove_mapping() */
	/* 1 (the caller) + 1 (the page cache): what the freeze expects. */
	KUNIT_EXPECT_FALSE(test, folio_ref_freeze(page_folio(page), 2));
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 3);
	put_page(page);
	sp_test_free_all(test);
	sp_pool_shrink(t->pool, first_memory_node, ULONG_MAX, 0);
}

/*
 * One recycling pass looks at a bounded number of pending pages, and the
 * passes go round: a ready page behind many busy ones is reached.
 */
static void sp_test_recycle_bounded(struct kunit *test)
{
	const unsigned int busy = 3 * SP_RECYCLE_SCAN;
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	unsigned int i, scanned, passes = 0, done = 0;
	struct page *last, *base;

	for (i = 0; i <= busy; i++)
		KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	/* All come back from "files"; every page but the last is still held. */
	for (i = 0; i <= busy; i++) {
		struct page *page = t->pages[i];

		if (i < busy)
			get_page(page);
		KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool,
							      page_folio(page)));
		put_page(page);
	}
	last = t->pages[busy];
	t->nr = 0;
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, busy + 1UL);

	while (!done && passes < 2 * (busy / SP_RECYCLE_SCAN + 1)) {
		done = sp_pool_recycle(t->pool, nid, &scanned);
		KUNIT_EXPECT_LE(test, scanned, (unsigned int)SP_RECYCLE_SCAN);
		KUNIT_EXPECT_GT(test, scanned, 0U);
		passes++;
	}
	KUNIT_EXPECT_EQ(test, done, 1U);
	KUNIT_EXPECT_EQ(test, page_ref_count(last), 2);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, (unsigned long)busy);

	/* Let the others go; the drain recycles all of them. */
	base = pfn_to_page(page_to_pfn(last) & ~(SP_REGION_PAGES - 1UL));
	for (i = 0; i < SP_REGION_PAGES; i++)
		if (page_ref_count(base + i) == 3)
			put_page(base + i);
	sp_pool_drain(t->pool, nid);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/* An empty region goes back to the page allocator; a used one stays. */
static void sp_test_empty_region_released(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct sp_region *second;
	unsigned int i;

	for (i = 0; i < SP_REGION_PAGES + 1; i++)
		KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 2UL);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0), 0UL);

	/* Free all but the page in the second region. */
	second = sp_pool_region_of(t->pool, t->pages[SP_REGION_PAGES]);
	for (i = 0; i < t->nr; ) {
		if (sp_pool_region_of(t->pool, t->pages[i]) != second)
			sp_test_free(test, i);
		else
			i++;
	}
	KUNIT_EXPECT_EQ(test, t->nr, 1U);

	/* keep: the pool does not go below it by giving regions back. */
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX,
					     SP_REGION_PAGES), 0UL);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.released, 1UL);
	KUNIT_EXPECT_EQ(test, st.in_use, 1UL);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/* Pages come from the fullest region, so the others can drain empty. */
static void sp_test_fullest_first(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct sp_region *a, *b;
	struct page *page;
	unsigned int i, freed;

	for (i = 0; i < SP_REGION_PAGES + SP_REGION_PAGES / 2; i++)
		KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	a = sp_pool_region_of(t->pool, t->pages[0]);
	b = sp_pool_region_of(t->pool, t->pages[SP_REGION_PAGES]);
	KUNIT_ASSERT_PTR_NE(test, a, b);

	/* a: 1/4 free; b: 1/2 free. */
	for (i = 0, freed = 0; i < t->nr && freed < SP_REGION_PAGES / 4; ) {
		if (sp_pool_region_of(t->pool, t->pages[i]) == a) {
			sp_test_free(test, i);
			freed++;
		} else {
			i++;
		}
	}
	KUNIT_EXPECT_EQ(test, a->nr_free, SP_REGION_PAGES / 4);
	KUNIT_EXPECT_EQ(test, b->nr_free, SP_REGION_PAGES / 2);

	for (i = 0; i < SP_REGION_PAGES / 4; i++) {
		page = sp_test_alloc(test, nid, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_PTR_EQ(test, sp_pool_region_of(t->pool, page), a);
	}
	KUNIT_EXPECT_EQ(test, a->nr_free, 0U);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			2UL * SP_REGION_PAGES);
}

/* unpoison_memory(), as debugfs's unpoison-pfn calls it. */
static int sp_test_unpoison(struct page *page)
{
#ifdef CONFIG_MEMORY_FAILURE
	return unpoison_memory(page_to_pfn(page));
#else
	return -EOPNOTSUPP;
#endif
}

/*
 * A free page that gets a memory error is never handed out again; its
 * region still counts as empty, and when it goes back the poisoned page
 * stays out of the direct map, retired, while the others are mapped
 * again.  Nothing can take the error back and so free the page while it is
 * out of the direct map.
 */
static void sp_test_poisoned_free_page(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct page *bad, *base;
	unsigned int i;

	if (!IS_ENABLED(CONFIG_MEMORY_FAILURE))
		kunit_skip(test, "needs CONFIG_MEMORY_FAILURE");

	bad = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, bad);
	base = pfn_to_page(page_to_pfn(bad) & ~(SP_REGION_PAGES - 1UL));
	sp_test_free_all(test);
	/* What memory_failure() does first to a page it cannot handle. */
	SetPageHWPoison(bad);
	/* Free and unmapped: taking the error back must not free it. */
	KUNIT_EXPECT_EQ(test, sp_test_unpoison(bad), -EBUSY);
	KUNIT_EXPECT_TRUE(test, PageHWPoison(bad));

	for (i = 0; i < SP_REGION_PAGES - 1; i++) {
		struct page *page = sp_test_alloc(test, nid, GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_PTR_NE(test, page, bad);
	}
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.poisoned, 1UL);
	KUNIT_EXPECT_EQ(test, st.free, 0UL);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);

	/* The next page comes from a new region: the bad one is not served. */
	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	KUNIT_EXPECT_PTR_NE(test, sp_pool_region_of(t->pool, t->pages[t->nr - 1]),
			    sp_pool_region_of(t->pool, bad));

	sp_test_free_all(test);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.empty_regions, 2UL);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			2UL * SP_REGION_PAGES);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.poisoned, 0UL);
	KUNIT_EXPECT_EQ(test, st.retired, 1UL);

	KUNIT_EXPECT_FALSE(test, kernel_page_present(bad));
	KUNIT_EXPECT_EQ(test, sp_test_unpoison(bad), -EBUSY);
	for (i = 0; i < SP_REGION_PAGES && !debug_pagealloc_enabled(); i++)
		if (base + i != bad)
			KUNIT_EXPECT_TRUE(test, kernel_page_present(base + i));

	/*
	 * Retired: the pool kept both its references.  It was not really
	 * broken: undo the poison and hand it to the page allocator.
	 */
	KUNIT_EXPECT_EQ(test, page_ref_count(bad), 2);
	KUNIT_EXPECT_TRUE(test, sp_pool_busy(t->pool));
	ClearPageHWPoison(bad);
	set_direct_map_default_noflush(bad);
	page_ref_dec(bad);
	__free_page(bad);
}

/*
 * A page with a memory error that comes back from a file is kept out too:
 * neither zeroed nor waited for (memory_failure() holds a reference for
 * good), and it leaves the direct map for good when its region goes.
 */
static void sp_test_poisoned_pending_page(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct page *page;

	if (!IS_ENABLED(CONFIG_MEMORY_FAILURE))
		kunit_skip(test, "needs CONFIG_MEMORY_FAILURE");

	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	sp_test_forget(test, 0);	/* stands for memory_failure()'s */
	sp_page_fill(page, 0x77);
	KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool,
						      page_folio(page)));
	SetPageHWPoison(page);
	KUNIT_EXPECT_EQ(test, sp_pool_recycle(t->pool, nid, NULL), 1U);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, st.poisoned, 1UL);
	KUNIT_EXPECT_EQ(test, st.in_use, 0UL);
	KUNIT_EXPECT_EQ(test, st.empty_regions, 1UL);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0x77));

	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
	KUNIT_EXPECT_FALSE(test, kernel_page_present(page));
	/* Retired: the pool's two references and "memory_failure()'s". */
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 3);
	KUNIT_EXPECT_TRUE(test, sp_pool_busy(t->pool));

	/* It was not really broken: undo the poison and free it. */
	ClearPageHWPoison(page);
	set_direct_map_default_noflush(page);
	page_ref_sub(page, 2);
	put_page(page);
}

/*
 * When no node can grow any more, the pool says so and counts a fallback,
 * after serving what other nodes had.
 */
static void sp_test_exhaustion(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 1, 0);
	unsigned int nodes = num_node_state(N_MEMORY);
	int nid = first_memory_node;
	struct secretpool_stats st;
	unsigned int i;

	if (nodes * SP_REGION_PAGES >= SP_TEST_MAX_PAGES)
		kunit_skip(test, "too many nodes for this test");

	for (i = 0; i < nodes * SP_REGION_PAGES; i++)
		KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	KUNIT_EXPECT_NULL(test, sp_pool_alloc(t->pool, nid, NULL, GFP_KERNEL));

	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.fallback, 1UL);
	KUNIT_EXPECT_EQ(test, st.remote, (nodes - 1UL) * SP_REGION_PAGES);

	sp_test_free_all(test);
	for_each_node_state(nid, N_MEMORY)
		KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
				SP_REGION_PAGES);
}

/* A caller that may not sleep gets no growth, only what is there. */
static void sp_test_atomic_no_growth(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;

	KUNIT_EXPECT_NULL(test, sp_pool_alloc(t->pool, nid, NULL, GFP_NOWAIT));
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_EQ(test, st.fallback, 1UL);

	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	KUNIT_EXPECT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_NOWAIT));
	sp_test_free_all(test);
	sp_pool_shrink(t->pool, nid, ULONG_MAX, 0);
}

/*
 * Freezing for hibernation gives every region back and keeps the pool
 * from serving or growing until it thaws; it fails, and does not freeze,
 * while a page is in use.
 */
static void sp_test_freeze(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 64);
	int nid = first_memory_node;
	struct secretpool_stats st;

	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	KUNIT_EXPECT_TRUE(test, sp_pool_busy(t->pool));
	KUNIT_EXPECT_EQ(test, sp_pool_freeze(t->pool), -EBUSY);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(t->pool->frozen));
	KUNIT_EXPECT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));

	sp_test_free_all(test);
	KUNIT_EXPECT_FALSE(test, sp_pool_busy(t->pool));
	KUNIT_EXPECT_EQ(test, sp_pool_freeze(t->pool), 0);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_EQ(test, st.cached, 0UL);
	KUNIT_EXPECT_NULL(test, sp_pool_alloc(t->pool, nid, NULL, GFP_KERNEL));
	KUNIT_EXPECT_EQ(test, sp_pool_grow(t->pool, nid, GFP_KERNEL), -EBUSY);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);

	sp_pool_thaw(t->pool);
	KUNIT_EXPECT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	sp_test_free_all(test);
	sp_pool_drain(t->pool, nid);
	sp_pool_shrink(t->pool, nid, ULONG_MAX, 0);
}

/*
 * Pages come from the node asked for, which grows rather than use another
 * node's free pages; only when it cannot grow (max_regions here) does
 * another node serve, counted as remote.
 */
static void sp_test_two_nodes(struct kunit *test)
{
	struct sp_test *t;
	struct secretpool_stats st;
	struct page *page;
	int a, b;
	unsigned int i;

	if (num_node_state(N_MEMORY) < 2)
		kunit_skip(test, "needs two nodes with memory");
	a = first_memory_node;
	b = next_memory_node(a);

	t = sp_test_pool(test, 0, 0);
	page = sp_test_alloc(test, b, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, page_to_nid(page), b);

	/* b has free pages; a asks and grows its own region. */
	for (i = 0; i < SP_REGION_PAGES; i++) {
		page = sp_test_alloc(test, a, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_EQ(test, page_to_nid(page), a);
	}
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.remote, 0UL);

	/* a is full and may not grow: b's free pages serve it. */
	t->params.max_regions = 1;
	page = sp_test_alloc(test, a, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, page_to_nid(page), b);
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.remote, 1UL);
	st = sp_test_stats(test, b);
	KUNIT_EXPECT_EQ(test, st.in_use, 2UL);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, a, ULONG_MAX, 0),
			SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, b, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/* The nodes a keep_1g test makes look mapped with 1G pages only. */
static nodemask_t sp_test_whole;
/*
 * The two nodes a keep_1g test allocates from (a machine may have more,
 * and the nearest to the test's CPU need not be the one it picked).
 */
static nodemask_t sp_test_ab;

static int sp_test_map_level(struct page *page)
{
	return node_isset(page_to_nid(page), sp_test_whole) ? SP_LEVEL_1G :
							      SP_LEVEL_2M;
}

/*
 * Keep this test's task on a CPU of a node with memory, in *@b, and find
 * another node with memory, in *@a; sp_test_ab holds the two.  False (the
 * test skipped) if there are not two such nodes.  The test's thread dies
 * with the test, and its CPU affinity with it.
 */
static bool sp_test_pin_node(struct kunit *test, int *a, int *b)
{
	unsigned int cpu;
	int nid;

	if (num_node_state(N_MEMORY) < 2) {
		kunit_skip(test, "needs two nodes with memory");
		return false;
	}
	for_each_online_cpu(cpu) {
		if (!node_state(cpu_to_node(cpu), N_MEMORY))
			continue;
		KUNIT_ASSERT_EQ(test, set_cpus_allowed_ptr(current, cpumask_of(cpu)), 0);
		*b = cpu_to_node(cpu);
		for_each_node_state(nid, N_MEMORY)
			if (nid != *b)
				break;
		*a = nid;
		nodes_clear(sp_test_ab);
		node_set(*a, sp_test_ab);
		node_set(*b, sp_test_ab);
		KUNIT_ASSERT_EQ(test, numa_mem_id(), *b);
		return true;
	}
	kunit_skip(test, "no online CPU on a node with memory");
	return false;
}

/*
 * An allocation that names no node, within sp_test_ab: it must succeed and
 * come from node @nid.
 */
static void sp_test_alloc_default(struct kunit *test, int nid)
{
	struct page *page = sp_test_alloc_mask(test, NUMA_NO_NODE, &sp_test_ab,
					       GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, page_to_nid(page), nid);
}

/* A pool with keep_1g @keep, placing by sp_test_whole (set no node yet). */
static struct sp_test *sp_test_keep_pool(struct kunit *test,
					 unsigned int pcp_high, bool keep)
{
	struct sp_test *t = sp_test_pool(test, 0, pcp_high);

	t->params.keep_1g = keep;
	t->pool->map_level = sp_test_map_level;
	nodes_clear(sp_test_whole);
	return t;
}

/*
 * keep_1g: an allocation that names no node, on a node that could only
 * grow by splitting a 1G page, is served by another node that splits
 * nothing (counted remote on the node, the declined growth kept_1g), and
 * keeps being served from there through the CPU cache without looking
 * over the node's memory again.  An allocation that names the node grows
 * it; after that the node serves for itself, and the CPU cache does not
 * keep the other node's pages.
 */
static void sp_test_keep_1g_remote(struct kunit *test)
{
	struct secretpool_stats st;
	struct sp_test *t;
	struct page *page;
	unsigned int i;
	int a, b;

	if (!sp_test_pin_node(test, &a, &b))
		return;
	t = sp_test_keep_pool(test, 16, true);
	node_set(b, sp_test_whole);

	for (i = 0; i < 40; i++)
		sp_test_alloc_default(test, a);
	st = sp_test_stats(test, b);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_EQ(test, st.grown, 0UL);
	KUNIT_EXPECT_EQ(test, st.remote, 40UL);
	/* Once, or again if the hold ran out under a slow emulator. */
	KUNIT_EXPECT_GE(test, st.kept_1g, 1UL);
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.kept_1g, 0UL);
	KUNIT_EXPECT_EQ(test, st.remote, 0UL);

	/* Named, the node grows: the placement was asked for. */
	page = sp_test_alloc(test, b, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, page_to_nid(page), b);
	sp_test_alloc_default(test, b);
	st = sp_test_stats(test, b);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.remote, 40UL);
	KUNIT_EXPECT_GE(test, st.kept_1g, 1UL);
	/* The CPU cache gave a's pages back rather than keep them. */
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.cached, 0UL);
	KUNIT_EXPECT_EQ(test, st.free + st.in_use, (unsigned long)SP_REGION_PAGES);

	sp_test_free_all(test);
	sp_pool_drain(t->pool, a);
	sp_pool_drain(t->pool, b);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, a, ULONG_MAX, 0),
			SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, b, ULONG_MAX, 0),
			SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, set_cpus_allowed_ptr(current, cpu_possible_mask), 0);
}

/*
 * keep_1g only defers a 1G split: when no node can grow without one, the
 * allocation's own node splits.  Without keep_1g, it splits at once.
 */
static void sp_test_keep_1g_split_last(struct kunit *test)
{
	struct secretpool_stats st;
	struct sp_test *t;
	int a, b;

	if (!sp_test_pin_node(test, &a, &b))
		return;
	t = sp_test_keep_pool(test, 0, true);
	node_set(a, sp_test_whole);
	node_set(b, sp_test_whole);
	sp_test_alloc_default(test, b);
	st = sp_test_stats(test, b);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	KUNIT_EXPECT_EQ(test, st.remote, 0UL);
	KUNIT_EXPECT_EQ(test, st.kept_1g, 1UL);
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_EQ(test, st.kept_1g, 1UL);
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, b, ULONG_MAX, 0),
			SP_REGION_PAGES);
	sp_pool_destroy(t->pool);

	t = sp_test_keep_pool(test, 0, false);
	node_set(b, sp_test_whole);
	sp_test_alloc_default(test, b);
	st = sp_test_stats(test, b);
	KUNIT_EXPECT_EQ(test, st.remote, 0UL);
	KUNIT_EXPECT_EQ(test, st.kept_1g, 0UL);
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, b, ULONG_MAX, 0),
			SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, set_cpus_allowed_ptr(current, cpu_possible_mask), 0);
}

/*
 * A nodemask is a limit: pages come from allowed nodes only, the pool
 * grows on allowed nodes only, and a request for a node outside the mask
 * is a request for the nearest allowed one (not a remote page).
 */
static void sp_test_nodemask(struct kunit *test)
{
	struct secretpool_stats st;
	nodemask_t only_b = NODE_MASK_NONE;
	struct sp_test *t;
	unsigned int i;
	int a, b;

	if (num_node_state(N_MEMORY) < 2)
		kunit_skip(test, "needs two nodes with memory");
	a = first_memory_node;
	b = next_memory_node(a);
	node_set(b, only_b);

	t = sp_test_pool(test, 0, 0);
	/* a has free pages, but the mask does not allow them. */
	KUNIT_ASSERT_EQ(test, sp_pool_grow(t->pool, a, GFP_KERNEL), 0);
	for (i = 0; i < 10; i++) {
		struct page *page = sp_test_alloc_mask(test, a, &only_b,
						       GFP_KERNEL);

		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_EQ(test, page_to_nid(page), b);
	}
	st = sp_test_stats(test, a);
	KUNIT_EXPECT_EQ(test, st.in_use, 0UL);
	KUNIT_EXPECT_EQ(test, st.remote, 0UL);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);
	st = sp_test_stats(test, b);
	KUNIT_EXPECT_EQ(test, st.in_use, 10UL);
	KUNIT_EXPECT_EQ(test, st.regions, 1UL);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, a, ULONG_MAX, 0),
			SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, b, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/*
 * A node grows again in a 1G range it split before while that range has a
 * free 2M block: the region a pool gave back is free, so the next one
 * comes from the same range (counted as packed), not from a 1G page that
 * a new region would split.
 */
static void sp_test_packed(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct sp_region *r;
	struct page *page;
	unsigned long range, first;

	if (!IS_ENABLED(CONFIG_CONTIG_ALLOC))
		kunit_skip(test, "packing needs CONFIG_CONTIG_ALLOC");
	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	r = sp_pool_region_of(t->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	range = r->pfn >> SP_BLOCK_ORDER;
	/* The first counts as packed if its range was split already. */
	first = r->level_before != SP_LEVEL_1G;
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.packed, first);

	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
	/* The region's pages may wait in per-CPU lists of the allocator. */
	drain_all_pages(NULL);

	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	r = sp_pool_region_of(t->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_EQ(test, r->pfn >> SP_BLOCK_ORDER, range);
	KUNIT_EXPECT_LT(test, (int)r->level, SP_LEVEL_1G);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.packed, first + 1);
	KUNIT_EXPECT_EQ(test, st.grown, 2UL);
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/*
 * A 2M block of the test's own, whose pages are a driver's movable pages
 * (as zsmalloc's and the balloon's are): migration hands each to
 * sp_test_moving_migrate(), which copies it and keeps the copy in its place in
 * sp_test_moving[].  sp_test_moving_pfn is the block placed growth of the
 * test's pool may take (its block_ok); every other block looks unusable.
 */
static struct page *sp_test_moving[SP_REGION_PAGES];
static unsigned long sp_test_moving_pfn;
static DEFINE_SPINLOCK(sp_test_moving_lock);
static const struct movable_operations sp_test_movable_ops;

static bool sp_test_only_moving(unsigned long pfn)
{
	return pfn == sp_test_moving_pfn;
}

static bool sp_test_moving_isolate(struct page *page, isolate_mode_t mode)
{
	return true;
}

/* @dst and @src are locked by the migration core. */
static int sp_test_moving_migrate(struct page *dst, struct page *src,
				  enum migrate_mode mode)
{
	unsigned int i;

	spin_lock(&sp_test_moving_lock);
	for (i = 0; i < SP_REGION_PAGES; i++)
		if (sp_test_moving[i] == src)
			break;
	if (i == SP_REGION_PAGES) {
		spin_unlock(&sp_test_moving_lock);
		return -EAGAIN;
	}
	copy_highpage(dst, src);
	get_page(dst);
	__SetPageMovable(dst, &sp_test_movable_ops);
	sp_test_moving[i] = dst;
	spin_unlock(&sp_test_moving_lock);
	/* The test's reference moves to @dst; migration drops its own. */
	__ClearPageMovable(src);
	put_page(src);
	return MIGRATEPAGE_SUCCESS;
}

static void sp_test_moving_putback(struct page *page)
{
}

static const struct movable_operations sp_test_movable_ops = {
	.isolate_page = sp_test_moving_isolate,
	.migrate_page = sp_test_moving_migrate,
	.putback_page = sp_test_moving_putback,
};

/* Give back the test block's pages, wherever they are now. */
static void sp_test_moving_release(void)
{
	unsigned int i;

	for (i = 0; i < SP_REGION_PAGES; i++) {
		struct page *page;

		spin_lock(&sp_test_moving_lock);
		page = sp_test_moving[i];
		sp_test_moving[i] = NULL;
		spin_unlock(&sp_test_moving_lock);
		if (!page)
			continue;
		lock_page(page);
		if (PageMovable(page))
			__ClearPageMovable(page);
		unlock_page(page);
		put_page(page);
	}
}

/*
 * Fill a 2M block of node @nid with pages the test holds, page i holding
 * i in its first word, each of them movable unless it is @pinned (an
 * index, or SP_REGION_PAGES for none).  Placed growth may take that block
 * only.  Its pfn, or 0 if the page allocator had no free 2M block.
 */
static unsigned long sp_test_moving_fill(int nid, unsigned int pinned)
{
	struct page *page;
	unsigned int i;

	/* Movable, so that its pageblock is a MOVABLE one. */
	page = alloc_pages_node(nid, GFP_HIGHUSER_MOVABLE | __GFP_THISNODE |
				__GFP_NOWARN, SP_REGION_ORDER);
	if (!page)
		return 0;
	split_page(page, SP_REGION_ORDER);
	for (i = 0; i < SP_REGION_PAGES; i++) {
		*(unsigned long *)page_address(page + i) = i;
		if (i != pinned) {
			lock_page(page + i);
			__SetPageMovable(page + i, &sp_test_movable_ops);
			unlock_page(page + i);
		}
		spin_lock(&sp_test_moving_lock);
		sp_test_moving[i] = page + i;
		spin_unlock(&sp_test_moving_lock);
	}
	sp_test_moving_pfn = page_to_pfn(page);
	return sp_test_moving_pfn;
}

/*
 * How many of the test block's pages are still inside [@pfn, @pfn + 2M),
 * and whether every page, wherever it is, still holds its index.
 */
static unsigned int sp_test_moving_left(unsigned long pfn, bool *intact)
{
	unsigned int i, left = 0;

	*intact = true;
	spin_lock(&sp_test_moving_lock);
	for (i = 0; i < SP_REGION_PAGES; i++) {
		struct page *page = sp_test_moving[i];

		if (page_to_pfn(page) - pfn < SP_REGION_PAGES)
			left++;
		if (*(unsigned long *)page_address(page) != i)
			*intact = false;
	}
	spin_unlock(&sp_test_moving_lock);
	return left;
}

/*
 * Making a block: when no 2M block that splits nothing is free, a growth
 * migrates the movable pages out of one (counted as moved) rather than
 * leave the choice to the page allocator.  The pages keep their contents
 * elsewhere, and the region is the block they were in.  A block with one
 * page that cannot move is left alone: the page allocator chooses.
 */
static void sp_test_make_block(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	unsigned long pfn;
	struct sp_region *r;
	struct page *page;
	bool intact;

	if (!IS_ENABLED(CONFIG_CONTIG_ALLOC) || !IS_ENABLED(CONFIG_COMPACTION))
		kunit_skip(test, "making a block needs CONFIG_CONTIG_ALLOC and CONFIG_COMPACTION");
	/* Whatever the direct map is here, the block does not split it. */
	t->pool->map_level = sp_test_map_level;
	t->pool->block_ok = sp_test_only_moving;
	nodes_clear(sp_test_whole);

	pfn = sp_test_moving_fill(nid, SP_REGION_PAGES);
	if (!pfn)
		kunit_skip(test, "no free 2M block on node %d", nid);
	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	r = sp_pool_region_of(t->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_EQ(test, r->pfn, pfn);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	KUNIT_EXPECT_EQ(test, sp_test_moving_left(pfn, &intact), 0U);
	KUNIT_EXPECT_TRUE(test, intact);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.grown, 1UL);
	KUNIT_EXPECT_EQ(test, st.moved, 1UL);
	KUNIT_EXPECT_EQ(test, st.grow_failed, 0UL);
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
	sp_test_moving_release();

	/* One page that cannot move: the block stays as it is. */
	pfn = sp_test_moving_fill(nid, SP_REGION_PAGES / 2);
	if (!pfn)
		kunit_skip(test, "no free 2M block on node %d", nid);
	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	r = sp_pool_region_of(t->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_NE(test, r->pfn, pfn);
	KUNIT_EXPECT_EQ(test, get_pageblock_migratetype(pfn_to_page(pfn)),
			MIGRATE_MOVABLE);
	KUNIT_EXPECT_EQ(test, sp_test_moving_left(pfn, &intact),
			(unsigned int)SP_REGION_PAGES);
	KUNIT_EXPECT_TRUE(test, intact);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.grown, 2UL);
	KUNIT_EXPECT_EQ(test, st.moved, 1UL);
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
}

/* What a node's 1G ranges hold, counted by the test on its own. */
#define SP_TEST_RANGES	64

struct sp_test_census {
	unsigned long base;			/* first pfn of range 0 */
	unsigned int nr;			/* ranges counted */
	unsigned int free[SP_TEST_RANGES];	/* free usable 2M blocks */
	bool whole[SP_TEST_RANGES];		/* under one 1G page */
};

/* A free 2M block at @pfn of node @nid that the pool may take. */
static bool sp_test_block_free(int nid, unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn);
	unsigned int order;

	if (!page || page_to_nid(page) != nid ||
	    zone_idx(page_zone(page)) > ZONE_NORMAL ||
	    !zone_spans_pfn(page_zone(page), pfn + SP_REGION_PAGES - 1) ||
	    secretmem_page_aliased(page, SP_REGION_PAGES))
		return false;
#ifdef CONFIG_ZONE_DMA
	if (zone_idx(page_zone(page)) == ZONE_DMA)
		return false;
#endif
	for (order = SP_REGION_ORDER; order < MAX_ORDER; order++) {
		struct page *head = pfn_to_online_page(pfn & ~((1UL << order) - 1));

		if (head && PageBuddy(head) && buddy_order_unsafe(head) >= order)
			return true;
	}
	return false;
}

/* Count node @nid's free blocks per 1G range; the range with the most. */
static unsigned int sp_test_count_ranges(int nid, struct sp_test_census *c)
{
	unsigned long start = node_start_pfn(nid), end = node_end_pfn(nid);
	unsigned int i, best = 0;
	unsigned long pfn;

	memset(c, 0, sizeof(*c));
	c->base = ALIGN_DOWN(start, SP_BLOCK_PAGES);
	for (pfn = ALIGN(start, SP_REGION_PAGES); pfn + SP_REGION_PAGES <= end;
	     pfn += SP_REGION_PAGES) {
		i = (pfn - c->base) >> SP_BLOCK_ORDER;
		if (i >= SP_TEST_RANGES)
			break;
		c->nr = i + 1;
		if (!sp_test_block_free(nid, pfn))
			continue;
		if (!c->free[i]++)
			c->whole[i] = secretmem_direct_map_level(pfn_to_page(pfn)) ==
				      SP_LEVEL_1G;
	}
	for (i = 0; i < c->nr; i++)
		if (c->free[i] > c->free[best])
			best = i;
	return best;
}

/*
 * Hold 2M blocks of node @nid from the page allocator (at most @max, in
 * @held) until the 1G range it hands them out from has clearly fewer free
 * blocks than another one.  Returns how many are held.
 */
static unsigned int sp_test_skew_ranges(int nid, struct sp_test_census *c,
					struct page **held, unsigned int max)
{
	unsigned int nr = 0, from, best;
	struct page *page;

	while (nr < max) {
		page = alloc_pages_node(nid, GFP_KERNEL | __GFP_THISNODE |
					__GFP_NORETRY | __GFP_NOWARN,
					SP_REGION_ORDER);
		if (!page)
			break;
		held[nr++] = page;
		from = (page_to_pfn(page) - c->base) >> SP_BLOCK_ORDER;
		best = sp_test_count_ranges(nid, c);
		if (best != from && c->free[best] >= c->free[from] + 32)
			break;
	}
	return nr;
}

/*
 * Where a node's first region goes: into a range the direct map already
 * maps without a 1G page, when one has a free 2M block (nothing is split);
 * otherwise into the 1G range with the most free blocks, whose TLB entry
 * the kernel needs least.  On a node whose free memory is all under 1G
 * pages, in two ranges or more, the test first holds 2M blocks from the
 * page allocator until the range it hands them out from has fewer free
 * blocks than another, so that the page allocator's own choice is the
 * wrong one.
 */
static void sp_test_placement(struct kunit *test)
{
	unsigned int checked = 0, max = SP_BLOCK_REGIONS / 2;
	struct sp_test_census *c;
	struct page **held;
	int nid;

	if (!IS_ENABLED(CONFIG_X86) || !IS_ENABLED(CONFIG_CONTIG_ALLOC))
		kunit_skip(test, "needs x86 direct-map levels and CONFIG_CONTIG_ALLOC");
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	held = kunit_kcalloc(test, max, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, held);

	for_each_node_state(nid, N_MEMORY) {
		struct sp_test *t = sp_test_pool(test, 0, 0);
		unsigned int i, best, got, nr_held = 0, ranges = 0;
		bool any_split = false;
		struct sp_region *r;
		struct page *page;

		sp_test_count_ranges(nid, c);
		for (i = 0; i < c->nr; i++) {
			ranges += !!c->free[i];
			any_split |= c->free[i] && !c->whole[i];
		}
		if (!any_split && ranges >= 2)
			nr_held = sp_test_skew_ranges(nid, c, held, max);
		best = sp_test_count_ranges(nid, c);

		page = sp_test_alloc(test, nid, GFP_KERNEL);
		r = page ? sp_pool_region_of(t->pool, page) : NULL;
		KUNIT_EXPECT_NOT_NULL(test, r);
		if (r) {
			got = (r->pfn - c->base) >> SP_BLOCK_ORDER;
			kunit_info(test, "node %d: region in 1G range %u (%u free 2M blocks, %s), most free: range %u (%u), %u blocks held\n",
				   nid, got, got < c->nr ? c->free[got] : 0,
				   r->level_before == SP_LEVEL_1G ? "under a 1G page" : "split",
				   best, c->free[best], nr_held);
			if (any_split)
				KUNIT_EXPECT_NE(test, (int)r->level_before, SP_LEVEL_1G);
			/* Counted a moment apart: a few blocks may have moved. */
			else
				KUNIT_EXPECT_GE(test, got < c->nr ? c->free[got] + 8 : 0,
						c->free[best]);
			checked++;
		}
		sp_test_free_all(test);
		sp_pool_shrink(t->pool, nid, ULONG_MAX, 0);
		sp_pool_destroy(t->pool);
		t->pool = NULL;
		while (nr_held)
			__free_pages(held[--nr_held], SP_REGION_ORDER);
	}
	KUNIT_EXPECT_GT(test, checked, 0U);
}

/* A reservation string, and what it should parse into on 4 nodes. */
struct sp_test_resv {
	const char *str;
	int err;
	bool every;
	u64 gib[4];
};

static const struct sp_test_resv sp_test_resvs[] = {
	{ "", 0, false, { 0, 0, 0, 0 } },
	{ "0", 0, true, { 0, 0, 0, 0 } },
	{ "1G", 0, true, { 1, 1, 1, 1 } },
	{ "2G\n", 0, true, { 2, 2, 2, 2 } },
	{ "1024M", 0, true, { 1, 1, 1, 1 } },
	{ "1G@0,2G@1", 0, false, { 1, 2, 0, 0 } },
	{ "3G@3", 0, false, { 0, 0, 0, 3 } },
	{ "0@2,1G@0\n", 0, false, { 1, 0, 0, 0 } },
	{ "1048576K@1", 0, false, { 0, 1, 0, 0 } },
	{ "1g@2", 0, false, { 0, 0, 1, 0 } },
	{ "16777216T", -EINVAL },	/* 2^64: would wrap to 0 */
	{ "99999999999999999999", -EINVAL },
	{ "1", -EINVAL },		/* not a multiple of 1G */
	{ "1500M", -EINVAL },
	{ "1G@", -EINVAL },
	{ "1G@x", -EINVAL },
	{ "1G@4", -EINVAL },		/* no such node */
	{ "1G@99999999999", -EINVAL },
	{ "1G@0,1G@0", -EINVAL },	/* named twice */
	{ "1G,2G", -EINVAL },		/* "every node" twice */
	{ "1G@0,2G", -EINVAL },		/* both forms */
	{ "1G@0,", -EINVAL },
	{ ",1G", -EINVAL },
	{ "-1G", -EINVAL },
	{ "G", -EINVAL },
	{ "1Gx", -EINVAL },
	{ "1G@0;1G@1", -EINVAL },
	{ "1G\nx", -EINVAL },
};

/* Reservation strings: what each good one asks for, and why bad ones fail. */
static void sp_test_reserve_parse(struct kunit *test)
{
	unsigned int i, j;

	for (i = 0; i < ARRAY_SIZE(sp_test_resvs); i++) {
		const struct sp_test_resv *c = &sp_test_resvs[i];
		u64 sizes[4];
		const char *why;
		bool every;
		int err;

		err = sp_reserve_parse(c->str, sizes, 4, &every, &why);
		KUNIT_EXPECT_EQ_MSG(test, err, c->err, "\"%s\"", c->str);
		if (err) {
			KUNIT_EXPECT_NOT_NULL_MSG(test, why, "\"%s\"", c->str);
			continue;
		}
		KUNIT_EXPECT_EQ_MSG(test, every, c->every, "\"%s\"", c->str);
		for (j = 0; j < 4; j++)
			KUNIT_EXPECT_EQ_MSG(test, sizes[j], c->gib[j] * SZ_1G,
					    "\"%s\" node %u", c->str, j);
	}
}

/*
 * A 1G block for a test: a PUD-aligned run of free pages on some node, as
 * the run-time reservation takes one.  NULL if no node has one free.
 */
static struct page *sp_test_get_block(struct kunit *test)
{
#ifdef CONFIG_CONTIG_ALLOC
	struct page *page;
	int nid;

	for_each_node_state(nid, N_MEMORY) {
		page = alloc_contig_pages(SP_BLOCK_PAGES, GFP_KERNEL |
					  __GFP_THISNODE | __GFP_NOWARN, nid,
					  NULL);
		if (page)
			return page;
	}
#endif
	return NULL;
}

/*
 * A block goes into the pool with its direct-map entry unchanged in size,
 * only not present; it serves pages before an empty grown region does;
 * max_regions does not count it and the shrinker's path does not touch
 * it; it keeps no hibernation away while free, and a hibernation gives it
 * back and takes one back after; it goes back only whole, once every page
 * is free, and its mapping comes back as it was, global again.
 */
static void sp_test_block(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 1, 0);
	struct secretpool_stats st;
	struct sp_region *r;
	struct page *block, *page;
	int nid, level, global;
	int err;

	block = sp_test_get_block(test);
	if (!block)
		kunit_skip(test, "no free 1G-aligned range on any node");
	nid = page_to_nid(block);
	level = secretmem_direct_map_level(block);
	global = sp_test_global(block);
	KUNIT_EXPECT_TRUE(test, kernel_page_present(block));
	err = sp_pool_add_block(t->pool, block, false);
	if (err && err != -EFAULT)
		free_contig_range(page_to_pfn(block), SP_BLOCK_PAGES);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_EXPECT_FALSE(test, kernel_page_present(block));
	KUNIT_EXPECT_FALSE(test, kernel_page_present(block + SP_BLOCK_PAGES - 1));
	KUNIT_EXPECT_EQ(test, secretmem_direct_map_level(block), level);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.blocks, 1UL);
	KUNIT_EXPECT_EQ(test, st.blocks_1g, level == SP_LEVEL_1G ? 1UL : 0UL);
	KUNIT_EXPECT_EQ(test, st.regions, (unsigned long)SP_BLOCK_REGIONS);
	KUNIT_EXPECT_EQ(test, st.reserved_free, SP_BLOCK_PAGES);

	/* An empty grown region: reserved memory is served first. */
	KUNIT_ASSERT_EQ(test, sp_pool_grow(t->pool, nid, GFP_KERNEL), 0);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.free, SP_BLOCK_PAGES + SP_REGION_PAGES);
	page = sp_test_alloc(test, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	r = sp_pool_region_of(t->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_EXPECT_PTR_EQ(test, r->block, sp_pool_region_of(t->pool, block)->block);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, (unsigned long)SP_BLOCK_REGIONS);
	KUNIT_EXPECT_EQ(test, st.in_use, 1UL);
	KUNIT_EXPECT_EQ(test, st.sparse, 1UL);
	KUNIT_EXPECT_TRUE(test, sp_pool_busy(t->pool));

	/* max_regions (1) counts grown regions: the pool may still grow. */
	KUNIT_EXPECT_EQ(test, sp_pool_grow(t->pool, nid, GFP_KERNEL), 0);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0),
			SP_REGION_PAGES);

	/* Not while a page is in use. */
	KUNIT_EXPECT_EQ(test, sp_pool_unreserve(t->pool, nid, 1), 0U);
	sp_page_fill(page, 0xa5);
	sp_test_free_all(test);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(t->pool, nid, ULONG_MAX, 0), 0UL);
	/* Free reserved memory does not keep a hibernation away. */
	KUNIT_EXPECT_FALSE(test, sp_pool_busy(t->pool));

	/*
	 * A hibernation gives the block back, as every region, and takes
	 * one back when it is over (from the page allocator: it may be
	 * elsewhere).
	 */
	KUNIT_ASSERT_EQ(test, sp_pool_freeze(t->pool), 0);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.blocks, 0UL);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_TRUE(test, kernel_page_present(block));
	KUNIT_EXPECT_EQ(test, secretmem_direct_map_level(block), level);
	sp_pool_thaw(t->pool);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.blocks, 1UL);
	KUNIT_EXPECT_EQ(test, st.reserved_free, SP_BLOCK_PAGES);

	/* Whole, its mapping as it was, global again. */
	KUNIT_EXPECT_EQ(test, sp_pool_unreserve(t->pool, nid, 1), 1U);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.blocks, 0UL);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, 0UL);
	KUNIT_EXPECT_EQ(test, st.reserved_free, 0UL);
	KUNIT_EXPECT_FALSE(test, sp_pool_busy(t->pool));
	KUNIT_EXPECT_NULL(test, sp_pool_region_of(t->pool, block));
	KUNIT_EXPECT_TRUE(test, kernel_page_present(block));
	KUNIT_EXPECT_TRUE(test, kernel_page_present(block + SP_BLOCK_PAGES - 1));
	KUNIT_EXPECT_EQ(test, secretmem_direct_map_level(block), level);
	KUNIT_EXPECT_EQ(test, sp_test_global(block), global);
	KUNIT_EXPECT_EQ(test, global, sp_test_global_expected());
}

static struct kunit_case secretpool_test_cases[] = {
	KUNIT_CASE(sp_test_accounting),
	KUNIT_CASE(sp_test_audit_catches_lost_page),
	KUNIT_CASE(sp_test_foreign_page),
	KUNIT_CASE(sp_test_direct_map_whole),
	KUNIT_CASE(sp_test_pcp_drain),
	KUNIT_CASE(sp_test_cpu_drain),
	KUNIT_CASE(sp_test_zero_on_free),
	KUNIT_CASE(sp_test_pending_waits),
	KUNIT_CASE(sp_test_pending_stays_on_lru),
	KUNIT_CASE(sp_test_recycle_batch),
	KUNIT_CASE(sp_test_recycle_lru_putback),
	KUNIT_CASE(sp_test_refcount_never_frozen),
	KUNIT_CASE(sp_test_recycle_bounded),
	KUNIT_CASE(sp_test_empty_region_released),
	KUNIT_CASE(sp_test_fullest_first),
	KUNIT_CASE(sp_test_poisoned_free_page),
	KUNIT_CASE(sp_test_poisoned_pending_page),
	KUNIT_CASE(sp_test_exhaustion),
	KUNIT_CASE(sp_test_atomic_no_growth),
	KUNIT_CASE(sp_test_freeze),
	KUNIT_CASE(sp_test_two_nodes),
	KUNIT_CASE(sp_test_keep_1g_remote),
	KUNIT_CASE(sp_test_keep_1g_split_last),
	KUNIT_CASE(sp_test_nodemask),
	KUNIT_CASE(sp_test_packed),
	KUNIT_CASE(sp_test_make_block),
	KUNIT_CASE(sp_test_placement),
	KUNIT_CASE(sp_test_reserve_parse),
	KUNIT_CASE(sp_test_block),
	{}
};

static struct kunit_suite secretpool_test_suite = {
	.name = "secretpool",
	.init = sp_test_init,
	.exit = sp_test_exit,
	.test_cases = secretpool_test_cases,
};

kunit_test_suite(secretpool_test_suite);

MODULE_LICENSE("GPL");
