// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the secretmem pool (mm/secretpool.c).
 *
 * Every test builds a private pool with its own parameters (no background
 * work, no shrinker), so it neither disturbs nor depends on the pool behind
 * memfd_secret().  Pages a test still holds when it ends, passed or not,
 * are given back by the suite's exit hook before the pool is destroyed.
 */

#include <kunit/test.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/set_memory.h>
#include <linux/slab.h>

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

static struct page *sp_test_alloc(struct kunit *test, int nid, gfp_t gfp)
{
	struct sp_test *t = test->priv;
	struct page *page;

	KUNIT_ASSERT_LT(test, t->nr, SP_TEST_MAX_PAGES);
	page = sp_pool_alloc(t->pool, nid, gfp);
	if (page)
		t->pages[t->nr++] = page;
	return page;
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

static struct secretpool_stats sp_test_stats(struct kunit *test, int nid)
{
	struct sp_test *t = test->priv;
	struct secretpool_stats st;

	sp_pool_stats(t->pool, nid, &st);
	/* No page is ever lost: every page of every region is somewhere. */
	KUNIT_EXPECT_EQ(test, st.regions * SP_REGION_PAGES,
			st.free + st.cached + st.pending + st.in_use +
			st.poisoned);
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

static void sp_test_exit(struct kunit *test)
{
	struct sp_test *t = test->priv;

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
		KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
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
 * pool never splits a 2M mapping into 4K ones.
 */
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
	r = sp_pool_region_of(((struct sp_test *)test->priv)->pool, page);
	KUNIT_ASSERT_NOT_NULL(test, r);
	base = pfn_to_page(r->pfn);

	KUNIT_EXPECT_EQ(test, r->pfn % SP_REGION_PAGES, 0UL);
	/* 1G mappings become 2M ones; 2M ones stay; 4K ones were split before. */
	KUNIT_EXPECT_EQ(test, (int)r->level,
			min_t(int, r->level_before, SP_LEVEL_2M));
	KUNIT_EXPECT_EQ(test, sp_direct_map_level(base), (int)r->level);
	for (i = 0; i < SP_REGION_PAGES; i++)
		KUNIT_EXPECT_FALSE(test, kernel_page_present(base + i));

	level = r->level;
	sp_test_free_all(test);
	KUNIT_EXPECT_EQ(test, sp_pool_shrink(((struct sp_test *)test->priv)->pool,
					     nid, ULONG_MAX, 0),
			SP_REGION_PAGES);

	/* Back in the direct map, with the same (large) entry. */
	KUNIT_EXPECT_EQ(test, sp_direct_map_level(base), level);
	for (i = 0; i < SP_REGION_PAGES; i++)
		KUNIT_EXPECT_TRUE(test, kernel_page_present(base + i));
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
 * is zero when it is free again.
 */
static void sp_test_pending_waits(struct kunit *test)
{
	struct sp_test *t = sp_test_pool(test, 0, 0);
	int nid = first_memory_node;
	struct secretpool_stats st;
	struct page *page;

	page = sp_pool_alloc(t->pool, nid, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, page);
	sp_page_fill(page, 0x5a);

	/* As the page cache does: another holder, then ->free_folio(). */
	get_page(page);
	KUNIT_ASSERT_TRUE(test, sp_pool_release_folio(t->pool,
						      page_folio(page)));
	put_page(page);		/* the page cache's reference */
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 2);

	sp_pool_recycle(t->pool, nid);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 1UL);
	KUNIT_EXPECT_EQ(test, st.in_use, 0UL);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0x5a));

	put_page(page);		/* the last other holder */
	sp_pool_recycle(t->pool, nid);
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.pending, 0UL);
	KUNIT_EXPECT_EQ(test, st.free, SP_REGION_PAGES);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
	KUNIT_EXPECT_TRUE(test, sp_page_is_filled(page, 0));
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
	KUNIT_EXPECT_NULL(test, sp_pool_alloc(t->pool, nid, GFP_KERNEL));

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

	KUNIT_EXPECT_NULL(test, sp_pool_alloc(t->pool, nid, GFP_NOWAIT));
	st = sp_test_stats(test, nid);
	KUNIT_EXPECT_EQ(test, st.regions, 0UL);
	KUNIT_EXPECT_EQ(test, st.fallback, 1UL);

	KUNIT_ASSERT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_KERNEL));
	KUNIT_EXPECT_NOT_NULL(test, sp_test_alloc(test, nid, GFP_NOWAIT));
	sp_test_free_all(test);
	sp_pool_shrink(t->pool, nid, ULONG_MAX, 0);
}

/*
 * Pages come from the node asked for; when that node's pool is empty, a
 * free page of another node's pool is used before the empty one grows.
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

	/* Grow a first: with b's free pages around, a would not grow itself. */
	KUNIT_ASSERT_EQ(test, sp_pool_grow(t->pool, a, GFP_KERNEL), 0);

	for (i = 0; i < SP_REGION_PAGES; i++) {
		page = sp_test_alloc(test, a, GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, page);
		KUNIT_EXPECT_EQ(test, page_to_nid(page), a);
	}

	/* a is full; b has free pages: b serves, a does not grow. */
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

static struct kunit_case secretpool_test_cases[] = {
	KUNIT_CASE(sp_test_accounting),
	KUNIT_CASE(sp_test_foreign_page),
	KUNIT_CASE(sp_test_direct_map_whole),
	KUNIT_CASE(sp_test_pcp_drain),
	KUNIT_CASE(sp_test_zero_on_free),
	KUNIT_CASE(sp_test_pending_waits),
	KUNIT_CASE(sp_test_empty_region_released),
	KUNIT_CASE(sp_test_fullest_first),
	KUNIT_CASE(sp_test_exhaustion),
	KUNIT_CASE(sp_test_atomic_no_growth),
	KUNIT_CASE(sp_test_two_nodes),
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
