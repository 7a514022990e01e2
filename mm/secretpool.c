// SPDX-License-Identifier: GPL-2.0
/*
 * secretpool: a pool of unmapped pages for memfd_secret()
 *
 * Upstream secretmem takes each secret page from the buddy allocator and
 * removes that one page from the direct map.  That splits the 1G or 2M
 * mapping around it into 4K PTEs, for good, and costs a CPA walk and a
 * global TLB flush on every fault.  The pool removes both costs.
 *
 * Design
 * ------
 * A pool has one part per NUMA node (struct sp_node).  A node's pool owns
 * regions (struct sp_region): order-9 blocks, 2M aligned, taken from the
 * buddy allocator on that node as unmovable memory.  A region is zeroed
 * while it is still in the direct map, then split into 512 independent
 * order-0 pages (split_page(): secret pages must never be compound, or
 * GUP-fast's page_is_secretmem() would not recognise them) and removed from
 * the direct map with one set_direct_map_valid_noflush() call covering the
 * block, which changes a single PMD entry, and one TLB flush.  Pages are
 * handed out one at a time; when every page of a region is free again and
 * the pool has more than it needs, the region is mapped back (again one PMD
 * entry) and its pages go back to the buddy allocator, where they merge
 * into the 2M block they came from.
 *
 * Regions sit on their node's lists by fullness (enum sp_group) and pages
 * are taken from the fullest region first, so that in-use pages crowd into
 * few regions and the others drain empty and can be given back.
 *
 * A per-CPU cache (struct sp_pcp) holds a few free pages of the CPU's node,
 * so the common fault takes only its CPU's lock: no shared lock, no CPA, no
 * TLB flush.  The order in which an allocation for node N is served is:
 *
 *   1. the CPU cache, refilled in batches from node N's regions;
 *   2. node N's regions, after recycling the pages that came back to it;
 *   3. the other nodes' regions, nearest first (the page allocator's
 *      fallback order for N);
 *   4. a new region on node N, then on the other nodes, nearest first
 *      (only if the caller may sleep and the node is under max_regions);
 *   5. nothing: the caller falls back to upstream's per-page path, and the
 *      pool counts a fallback on N.
 *
 * Below the low watermark a node's pool grows in the background; above the
 * high watermark it gives empty regions back (never going below the low
 * watermark by doing so); under memory pressure a shrinker gives back every
 * empty region.
 *
 * Zeroing
 * -------
 * A free page in the pool, whether on a region's free list or in a CPU
 * cache, is always zero.  New regions are zeroed before they leave the
 * direct map (__GFP_ZERO).  A page that comes back is zeroed before it is
 * put on a free list, through a per-CPU one-page window in vmalloc space
 * (sp_window) that is mapped, used and unmapped with preemption off and
 * flushed from the local TLB only: the page never goes back into the direct
 * map.  Pages given back to the buddy allocator are therefore zero, and no
 * byte of one owner reaches the next.
 *
 * Lifetime of a page
 * ------------------
 * free     on a region's free list or in a CPU cache; the pool holds the
 *          page's only reference (refcount 1), flags clear, zero.
 * in use   handed out by sp_pool_alloc() with that reference, which the
 *          caller owns from then on.  secretmem puts the page in its file's
 *          page cache (not on an LRU: secret pages are neither evictable nor
 *          movable, and a page that is never on an LRU cannot be found on
 *          one after it is back in the pool).
 * pending  the file let go of the page: ->free_folio() called
 *          sp_pool_release_folio(), which takes a new reference for the pool
 *          before the page cache drops its own, so the page's refcount never
 *          reaches zero and the page never reaches the buddy allocator while
 *          it is not in the direct map.  Others (the truncating task, a
 *          speculative page-cache lookup) may still hold references, so the
 *          page waits on the node's pending list until its refcount is back
 *          to the pool's one and it is unlocked; then it is uncharged from its
 *          memcg, its flags are cleared, it is zeroed and it is free again.
 *
 * A page the caller never exposed (say it lost a race to put it in the
 * page cache) goes back directly with sp_pool_free().
 *
 * Every page of every region is in exactly one of these states, so per node
 * 512 * regions == free + cached + pending + in use + poisoned, which is
 * what "no page is lost" means here (sp_pool_stats() derives in_use from
 * it, and the KUnit suite checks it both ways).
 *
 * Locking
 * -------
 * sp_node.grow_lock (mutex)  one task grows a node's pool at a time; held
 *                            across the buddy allocation and the CPA call,
 *                            never inside the locks below.
 * sp_pcp.lock (spinlock)     one CPU cache; usually taken by its own CPU,
 *                            by others only to drain it.
 * sp_node.lock (spinlock)    the node's region lists, every free list of its
 *                            regions, its pending list and its counts.
 *
 * Order: grow_lock -> sp_pcp.lock -> sp_node.lock.  No allocation, CPA or
 * TLB flush is done under a spinlock; none of these locks is taken from
 * interrupt context.  The region index (secretpool.regions, an xarray) has
 * its own lock; a region is in the index from before its first page is
 * handed out until after its last page is back, so looking up the region
 * of a page that is in use needs no further protection.
 */

#define pr_fmt(fmt) "secretpool: " fmt

#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/mmzone.h>
#include <linux/memcontrol.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/set_memory.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/pagemap.h>
#include <linux/page-flags.h>

#include <asm/tlbflush.h>

#include "internal.h"
#include "secretpool.h"

/* How region blocks are allocated: unmovable, zeroed, on the node only. */
#define SP_REGION_GFP	(GFP_KERNEL | __GFP_THISNODE | __GFP_ZERO | \
			 __GFP_NORETRY | __GFP_NOWARN)

/* Pending pages not ready yet are looked at again after this long. */
#define SP_RECYCLE_DELAY	1

/* ---------------------------------------------------------------------
 * Tunables of the default pool
 * ---------------------------------------------------------------------
 */

static struct secretpool_params sp_default_params = {
	.low_watermark	= 128,
	.high_watermark	= 1024,
	.max_regions	= 0,
	.pcp_high	= 64,
	.pcp_batch	= 16,
	.background	= true,
};

static bool sp_enabled = true;
static struct secretpool *sp_default;

static int sp_param_set_enabled(const char *val, const struct kernel_param *kp);
static int sp_param_set_uint(const char *val, const struct kernel_param *kp);

static const struct kernel_param_ops sp_enabled_ops = {
	.set = sp_param_set_enabled,
	.get = param_get_bool,
};

static const struct kernel_param_ops sp_uint_ops = {
	.set = sp_param_set_uint,
	.get = param_get_uint,
};

module_param_cb(enabled, &sp_enabled_ops, &sp_enabled, 0644);
MODULE_PARM_DESC(enabled,
		 "Serve memfd_secret() pages from the pool (0: one page at a time, as upstream)");
module_param_cb(low_watermark, &sp_uint_ops,
		&sp_default_params.low_watermark, 0644);
MODULE_PARM_DESC(low_watermark,
		 "Grow a node's pool in the background below this many free pages");
module_param_cb(high_watermark, &sp_uint_ops,
		&sp_default_params.high_watermark, 0644);
MODULE_PARM_DESC(high_watermark,
		 "Give empty regions back above this many free pages on a node");
module_param_cb(max_regions, &sp_uint_ops,
		&sp_default_params.max_regions, 0644);
MODULE_PARM_DESC(max_regions,
		 "Most 2M regions a node's pool may hold (0: no limit)");

/* ---------------------------------------------------------------------
 * The per-CPU window: how the pool touches a page that is not mapped
 * ---------------------------------------------------------------------
 */

struct sp_window {
	unsigned long addr;
	pte_t *ptep;
};

static DEFINE_PER_CPU(struct sp_window, sp_window);
static DEFINE_MUTEX(sp_window_mutex);
static bool sp_window_ready;

static int sp_window_pte(pte_t *ptep, unsigned long addr, void *data)
{
	*(pte_t **)data = ptep;
	return 0;
}

static int sp_window_init(void)
{
	struct vm_struct *area;
	int cpu, err = 0;

	mutex_lock(&sp_window_mutex);
	if (sp_window_ready)
		goto out;

	for_each_possible_cpu(cpu) {
		struct sp_window *w = per_cpu_ptr(&sp_window, cpu);
		pte_t *ptep = NULL;

		if (w->ptep)
			continue;
		area = get_vm_area(PAGE_SIZE, VM_MAP);
		if (!area) {
			err = -ENOMEM;
			goto out;
		}
		/* Builds the page table for the address and hands back its PTE. */
		err = apply_to_page_range(&init_mm, (unsigned long)area->addr,
					  PAGE_SIZE, sp_window_pte, &ptep);
		if (err || !ptep) {
			free_vm_area(area);
			err = err ?: -ENOMEM;
			goto out;
		}
		w->addr = (unsigned long)area->addr;
		w->ptep = ptep;
	}
	sp_window_ready = true;
out:
	mutex_unlock(&sp_window_mutex);
	return err;
}

/* Map @page at this CPU's window.  Preemption must be off until unmapped. */
static void *sp_window_map(struct page *page)
{
	struct sp_window *w = this_cpu_ptr(&sp_window);

	set_pte_at(&init_mm, w->addr, w->ptep, mk_pte(page, PAGE_KERNEL));
	return (void *)w->addr;
}

static void sp_window_unmap(void)
{
	struct sp_window *w = this_cpu_ptr(&sp_window);

	pte_clear(&init_mm, w->addr, w->ptep);
	/* Only this CPU ever used the address: a local flush is enough. */
#ifdef CONFIG_X86
	flush_tlb_one_kernel(w->addr);
#else
	flush_tlb_kernel_range(w->addr, w->addr + PAGE_SIZE);
#endif
}

static void sp_page_zero(struct page *page)
{
	void *addr;

	preempt_disable();
	addr = sp_window_map(page);
	clear_page(addr);
	sp_window_unmap();
	preempt_enable();
}

#if IS_ENABLED(CONFIG_SECRETMEM_POOL_KUNIT_TEST)
/* Test helpers: write and check a page's bytes without the direct map. */
void sp_page_fill(struct page *page, u8 byte)
{
	void *addr;

	preempt_disable();
	addr = sp_window_map(page);
	memset(addr, byte, PAGE_SIZE);
	sp_window_unmap();
	preempt_enable();
}

bool sp_page_is_filled(struct page *page, u8 byte)
{
	bool ret;
	void *addr;

	preempt_disable();
	addr = sp_window_map(page);
	ret = !memchr_inv(addr, byte, PAGE_SIZE);
	sp_window_unmap();
	preempt_enable();
	return ret;
}
#endif

/* ---------------------------------------------------------------------
 * Direct map
 * ---------------------------------------------------------------------
 */

/**
 * sp_direct_map_level() - how the direct map maps a page
 * @page: the page
 *
 * Return: the x86 page-table level of the direct-map entry covering @page
 * (PG_LEVEL_4K, PG_LEVEL_2M or PG_LEVEL_1G), whether or not it is present;
 * 0 where the architecture cannot tell.
 */
int sp_direct_map_level(struct page *page)
{
#ifdef CONFIG_X86
	unsigned int level;

	if (!lookup_address((unsigned long)page_address(page), &level))
		return 0;
	return level;
#else
	return 0;
#endif
}

/* ---------------------------------------------------------------------
 * Regions and their lists
 * ---------------------------------------------------------------------
 */

static enum sp_group sp_group_of(unsigned int nr_free)
{
	unsigned int partial = SP_GROUP_PARTIAL_LAST - SP_GROUP_PARTIAL_FIRST + 1;

	if (!nr_free)
		return SP_GROUP_FULL;
	if (nr_free == SP_REGION_PAGES)
		return SP_GROUP_EMPTY;
	return SP_GROUP_PARTIAL_FIRST + (nr_free - 1) * partial / SP_REGION_PAGES;
}

/* Put @r on the list its free count calls for.  Node lock held. */
static void sp_region_regroup(struct sp_node *n, struct sp_region *r)
{
	enum sp_group g = sp_group_of(r->nr_free);

	lockdep_assert_held(&n->lock);
	if (g == r->group)
		return;
	r->group = g;
	list_move(&r->list, &n->lists[g]);
}

/**
 * sp_pool_region_of() - the pool's region a page belongs to
 * @pool: the pool
 * @page: any page
 *
 * Return: the region, or NULL if @page is not one of the pool's.
 */
struct sp_region *sp_pool_region_of(struct secretpool *pool, struct page *page)
{
	return xa_load(&pool->regions, page_to_pfn(page) >> SP_REGION_ORDER);
}

/* Return a free, zeroed page to its region.  Node lock held. */
static void sp_region_put_locked(struct sp_node *n, struct sp_region *r,
				 struct page *page)
{
	lockdep_assert_held(&n->lock);
	list_add(&page->lru, &r->free);
	r->nr_free++;
	n->nr_free++;
	sp_region_regroup(n, r);
}

/*
 * Move up to @want free pages of node @n to @out, fullest regions first.
 * Returns how many were moved.  Node lock held.
 */
static unsigned int sp_node_take_locked(struct sp_node *n,
					struct list_head *out,
					unsigned int want)
{
	unsigned int got = 0;
	int g;

	lockdep_assert_held(&n->lock);
	for (g = SP_GROUP_PARTIAL_FIRST; g <= SP_GROUP_EMPTY && got < want; g++) {
		while (got < want && !list_empty(&n->lists[g])) {
			struct sp_region *r = list_first_entry(&n->lists[g],
					struct sp_region, list);

			while (got < want && r->nr_free) {
				struct page *page = list_first_entry(&r->free,
						struct page, lru);

				list_move_tail(&page->lru, out);
				r->nr_free--;
				n->nr_free--;
				got++;
			}
			sp_region_regroup(n, r);
		}
	}
	return got;
}

static struct page *sp_node_take_one(struct sp_node *n)
{
	struct page *page = NULL;
	LIST_HEAD(one);

	spin_lock(&n->lock);
	if (sp_node_take_locked(n, &one, 1)) {
		page = list_first_entry(&one, struct page, lru);
		list_del(&page->lru);
	}
	spin_unlock(&n->lock);
	return page;
}

/* Give a block back to the buddy allocator, mapped again. */
static void sp_block_free(struct page *base)
{
	unsigned int i;

	for (i = 0; i < SP_REGION_PAGES; i++)
		__free_page(base + i);
}

/*
 * Add one region to node @nid unless, once this task holds the node's
 * grow_lock, the node already has @below or more free pages (another task
 * grew it while this one waited).  See sp_pool_grow().
 */
static int __sp_pool_grow(struct secretpool *pool, int nid, gfp_t gfp,
			  unsigned long below)
{
	struct sp_node *n = pool->nodes[nid];
	unsigned int max = READ_ONCE(pool->params->max_regions);
	unsigned long addr;
	struct sp_region *r;
	struct page *page;
	unsigned int i;
	int err;

	if (!gfpflags_allow_blocking(gfp))
		return -EAGAIN;

	mutex_lock(&n->grow_lock);
	if (READ_ONCE(n->nr_free) >= below) {
		err = 0;
		goto out;
	}
	if (max && READ_ONCE(n->nr_regions) >= max) {
		err = -ENOSPC;
		goto out;
	}

	r = kzalloc_node(sizeof(*r), GFP_KERNEL, nid);
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	page = alloc_pages_node(nid, SP_REGION_GFP, SP_REGION_ORDER);
	if (!page) {
		atomic_long_inc(&n->grow_failed);
		kfree(r);
		err = -ENOMEM;
		goto out;
	}

	r->pfn = page_to_pfn(page);
	r->node = n;
	r->level_before = sp_direct_map_level(page);
	INIT_LIST_HEAD(&r->free);

	/* 512 independent order-0 pages, each with refcount 1: the pool's. */
	split_page(page, SP_REGION_ORDER);

	err = set_direct_map_valid_noflush(page, SP_REGION_PAGES, false);
	if (err) {
		/* Undo whatever part of the range did change. */
		set_direct_map_valid_noflush(page, SP_REGION_PAGES, true);
		goto free_block;
	}
	addr = (unsigned long)page_address(page);
	flush_tlb_kernel_range(addr, addr + SP_REGION_SIZE);
	r->level = sp_direct_map_level(page);

	err = xa_insert(&pool->regions, r->pfn >> SP_REGION_ORDER, r,
			GFP_KERNEL);
	if (err) {
		set_direct_map_valid_noflush(page, SP_REGION_PAGES, true);
		goto free_block;
	}

	for (i = 0; i < SP_REGION_PAGES; i++)
		list_add_tail(&page[i].lru, &r->free);
	r->nr_free = SP_REGION_PAGES;
	r->group = SP_GROUP_EMPTY;

	spin_lock(&n->lock);
	list_add_tail(&r->list, &n->lists[SP_GROUP_EMPTY]);
	n->nr_regions++;
	n->nr_free += SP_REGION_PAGES;
	spin_unlock(&n->lock);

	atomic_long_inc(&n->grown);
	mutex_unlock(&n->grow_lock);
	return 0;

free_block:
	sp_block_free(page);
	kfree(r);
out:
	mutex_unlock(&n->grow_lock);
	return err;
}

/**
 * sp_pool_grow() - add one region to a node's pool
 * @pool: the pool
 * @nid: the node
 * @gfp: allocation context of the caller (must allow sleeping)
 *
 * Takes a 2M block from the buddy allocator on @nid, zeroes it, splits it
 * into order-0 pages, removes it from the direct map as one entry, flushes
 * the TLB once and puts the region on the node's empty list.  One task
 * grows a node at a time.
 *
 * Return: 0 on success, -EAGAIN if @gfp may not sleep, -ENOSPC at
 * max_regions, -ENOMEM if no block (or no memory for the region's
 * bookkeeping) could be had, or the CPA error.
 */
int sp_pool_grow(struct secretpool *pool, int nid, gfp_t gfp)
{
	return __sp_pool_grow(pool, nid, gfp, ULONG_MAX);
}

/* Map a region back and give its pages to the buddy allocator. */
static bool sp_region_release(struct secretpool *pool, struct sp_region *r)
{
	struct sp_node *n = r->node;
	struct page *base = pfn_to_page(r->pfn);

	xa_erase(&pool->regions, r->pfn >> SP_REGION_ORDER);

	/* Making a range present needs no TLB flush. */
	if (set_direct_map_valid_noflush(base, SP_REGION_PAGES, true)) {
		/*
		 * Without a direct mapping the pages must not reach the buddy
		 * allocator.  Keep them; they are counted as stuck.
		 */
		pr_warn_ratelimited("cannot map region at pfn %#lx back; keeping it\n",
				    r->pfn);
		spin_lock(&n->lock);
		list_add(&r->list, &n->stuck);
		n->nr_stuck++;
		spin_unlock(&n->lock);
		return false;
	}

	sp_block_free(base);
	kfree(r);
	atomic_long_inc(&n->released);
	return true;
}

/**
 * sp_pool_shrink() - give empty regions of a node back
 * @pool: the pool
 * @nid: the node
 * @nr_pages: give back at most this many pages (rounded up to a region)
 * @keep: keep at least this many free pages on the node
 *
 * Only regions whose every page is on their free list go; pages in CPU
 * caches keep their region (sp_pool_drain() first to include them).
 *
 * Return: the number of pages given back.
 */
unsigned long sp_pool_shrink(struct secretpool *pool, int nid,
			     unsigned long nr_pages, unsigned long keep)
{
	struct sp_node *n = pool->nodes[nid];
	struct sp_region *r, *tmp;
	unsigned long freed = 0;
	LIST_HEAD(dead);

	spin_lock(&n->lock);
	while (freed < nr_pages && !list_empty(&n->lists[SP_GROUP_EMPTY]) &&
	       n->nr_free >= keep + SP_REGION_PAGES) {
		r = list_first_entry(&n->lists[SP_GROUP_EMPTY],
				     struct sp_region, list);
		list_move(&r->list, &dead);
		n->nr_regions--;
		n->nr_free -= SP_REGION_PAGES;
		freed += SP_REGION_PAGES;
	}
	spin_unlock(&n->lock);

	list_for_each_entry_safe(r, tmp, &dead, list) {
		list_del(&r->list);
		if (!sp_region_release(pool, r))
			freed -= SP_REGION_PAGES;
	}
	return freed;
}

/* ---------------------------------------------------------------------
 * Pages coming back
 * ---------------------------------------------------------------------
 */

/*
 * Make a page the pool has the only reference to free again: forget the
 * file it was in, clear its flags as the buddy allocator would on free, and
 * zero it.
 */
static void sp_page_reset(struct page *page)
{
	struct folio *folio = page_folio(page);

	mem_cgroup_uncharge(folio);
	page->mapping = NULL;
	set_page_private(page, 0);
	page->flags &= ~PAGE_FLAGS_CHECK_AT_PREP;
	sp_page_zero(page);
}

/**
 * sp_pool_recycle() - return the pending pages of a node that are ready
 * @pool: the pool
 * @nid: the node
 *
 * A pending page is ready once the pool's reference is the only one left
 * and nobody has it locked.  Ready pages are reset, zeroed and put back on
 * their regions' free lists; the others stay pending.
 */
void sp_pool_recycle(struct secretpool *pool, int nid)
{
	struct sp_node *n = pool->nodes[nid];
	struct page *page, *tmp;
	unsigned long poisoned = 0;
	LIST_HEAD(ready);

	if (!READ_ONCE(n->nr_pending))
		return;

	spin_lock(&n->lock);
	list_for_each_entry_safe(page, tmp, &n->pending, lru) {
		if (page_ref_count(page) != 1 || PageLocked(page))
			continue;
		list_move(&page->lru, &ready);
		n->nr_pending--;
	}
	spin_unlock(&n->lock);

	if (list_empty(&ready))
		return;

	list_for_each_entry_safe(page, tmp, &ready, lru) {
		if (unlikely(PageHWPoison(page))) {
			/* Never hand out a page that had a memory error. */
			list_del(&page->lru);
			poisoned++;
			continue;
		}
		sp_page_reset(page);
	}

	spin_lock(&n->lock);
	n->nr_poisoned += poisoned;
	list_for_each_entry_safe(page, tmp, &ready, lru) {
		list_del(&page->lru);
		sp_region_put_locked(n, sp_pool_region_of(pool, page), page);
	}
	spin_unlock(&n->lock);
}

/*
 * Run the node's background work: at once (@delay 0, to grow or shrink), or
 * after @delay jiffies unless it is queued already (to recycle pages).
 */
static void sp_node_kick(struct sp_node *n, unsigned long delay)
{
	if (!n->pool->params->background)
		return;
	if (delay)
		queue_delayed_work(system_unbound_wq, &n->work, delay);
	else
		mod_delayed_work(system_unbound_wq, &n->work, 0);
}

/**
 * sp_pool_release_folio() - take back a page a file let go of
 * @pool: the pool
 * @folio: the folio, just removed from its mapping (->free_folio())
 *
 * If @folio is one of the pool's pages, the pool takes a reference of its
 * own, before the page cache drops its reference, and queues the page on its
 * node's pending list; sp_pool_recycle() makes it free once the other
 * references are gone.  The page is not mapped anywhere any more, so its
 * contents stay out of reach until they are zeroed.
 *
 * Return: true if the pool took the page, false if it is not the pool's.
 */
bool sp_pool_release_folio(struct secretpool *pool, struct folio *folio)
{
	struct sp_region *r = sp_pool_region_of(pool, &folio->page);
	struct sp_node *n;

	if (!r)
		return false;

	VM_WARN_ON_ONCE_FOLIO(folio_test_large(folio), folio);
	VM_WARN_ON_ONCE_FOLIO(folio_test_lru(folio), folio);
	VM_WARN_ON_ONCE_FOLIO(folio_mapped(folio), folio);

	n = r->node;
	folio_get(folio);
	spin_lock(&n->lock);
	list_add_tail(&folio->lru, &n->pending);
	n->nr_pending++;
	spin_unlock(&n->lock);

	sp_node_kick(n, SP_RECYCLE_DELAY);
	return true;
}

/**
 * sp_pool_free() - give back a page that was never exposed
 * @pool: the pool
 * @page: a page from sp_pool_alloc() whose only reference the caller holds
 *
 * For the caller's error paths.  The page is reset and zeroed (the caller
 * may have written to it) and is free again at once.
 *
 * Return: true if the pool took the page, false if it is not the pool's.
 */
bool sp_pool_free(struct secretpool *pool, struct page *page)
{
	struct sp_region *r = sp_pool_region_of(pool, page);
	struct sp_node *n;

	if (!r)
		return false;

	VM_WARN_ON_ONCE_PAGE(page_ref_count(page) != 1, page);
	VM_WARN_ON_ONCE_PAGE(page_mapped(page), page);

	sp_page_reset(page);
	n = r->node;
	spin_lock(&n->lock);
	sp_region_put_locked(n, r, page);
	spin_unlock(&n->lock);
	return true;
}

/* ---------------------------------------------------------------------
 * Per-CPU caches
 * ---------------------------------------------------------------------
 */

/* Move every page of a CPU cache back to its regions.  pcp lock held. */
static void sp_pcp_drain_locked(struct secretpool *pool, struct sp_pcp *pcp)
{
	struct sp_node *n;
	struct page *page, *tmp;

	if (!pcp->count)
		return;

	n = pool->nodes[pcp->nid];
	spin_lock(&n->lock);
	list_for_each_entry_safe(page, tmp, &pcp->pages, lru) {
		list_del(&page->lru);
		sp_region_put_locked(n, sp_pool_region_of(pool, page), page);
	}
	spin_unlock(&n->lock);
	pcp->count = 0;
}

/**
 * sp_pool_drain() - empty the CPU caches holding pages of a node
 * @pool: the pool
 * @nid: the node, or NUMA_NO_NODE for all of them
 *
 * Also recycles the node's pending pages that are ready.
 */
void sp_pool_drain(struct secretpool *pool, int nid)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		spin_lock(&pcp->lock);
		if (nid == NUMA_NO_NODE || pcp->nid == nid)
			sp_pcp_drain_locked(pool, pcp);
		spin_unlock(&pcp->lock);
	}

	if (nid != NUMA_NO_NODE) {
		sp_pool_recycle(pool, nid);
		return;
	}
	for_each_node(nid)
		sp_pool_recycle(pool, nid);
}

/* The fast path: a page of node @nid from this CPU's cache. */
static struct page *sp_pcp_alloc(struct secretpool *pool, int nid)
{
	unsigned int batch = READ_ONCE(pool->params->pcp_batch);
	struct page *page = NULL;
	struct sp_pcp *pcp;
	struct sp_node *n;

	if (!READ_ONCE(pool->params->pcp_high) || !batch)
		return NULL;

	/*
	 * If the task moves to another CPU after this, it uses that CPU's
	 * cache under its lock, which is still correct, only not local.
	 */
	pcp = raw_cpu_ptr(pool->pcp);
	spin_lock(&pcp->lock);
	if (pcp->count && pcp->nid != nid)
		goto out;
	if (!pcp->count) {
		n = pool->nodes[nid];
		spin_lock(&n->lock);
		pcp->count = sp_node_take_locked(n, &pcp->pages, batch);
		if (n->nr_free < READ_ONCE(pool->params->low_watermark))
			sp_node_kick(n, 0);
		spin_unlock(&n->lock);
		pcp->nid = nid;
	}
	if (pcp->count) {
		page = list_first_entry(&pcp->pages, struct page, lru);
		list_del(&page->lru);
		pcp->count--;
	}
out:
	spin_unlock(&pcp->lock);
	return page;
}

/* ---------------------------------------------------------------------
 * Allocation
 * ---------------------------------------------------------------------
 */

/*
 * Fill @order with the nodes that have memory, @nid first and the others in
 * the page allocator's fallback order for @nid.  Returns how many.
 */
static int sp_node_order(int nid, int *order)
{
	struct zonelist *zl = node_zonelist(nid, GFP_KERNEL);
	nodemask_t seen = NODE_MASK_NONE;
	struct zoneref *z;
	struct zone *zone;
	int nr = 0;

	order[nr++] = nid;
	node_set(nid, seen);
	for_each_zone_zonelist(zone, z, zl, MAX_NR_ZONES - 1) {
		int zid = zone_to_nid(zone);

		if (node_isset(zid, seen))
			continue;
		node_set(zid, seen);
		order[nr++] = zid;
	}
	return nr;
}

static struct page *sp_alloc_slow(struct secretpool *pool, int nid, gfp_t gfp)
{
	struct page *page;
	int order[MAX_NUMNODES];
	int nr, i;

	/* Pages that came back to this node may be ready by now. */
	sp_pool_recycle(pool, nid);
	page = sp_node_take_one(pool->nodes[nid]);
	if (page)
		return page;

	nr = sp_node_order(nid, order);
	for (i = 1; i < nr; i++) {
		struct sp_node *n = pool->nodes[order[i]];

		sp_pool_recycle(pool, order[i]);
		page = sp_node_take_one(n);
		if (page) {
			atomic_long_inc(&pool->nodes[nid]->remote);
			sp_node_kick(pool->nodes[nid], 0);
			return page;
		}
	}

	for (i = 0; i < nr; i++) {
		struct sp_node *n = pool->nodes[order[i]];
		int tries;

		/*
		 * Other tasks may take the new region's pages before this one
		 * does; grow again then, a few times, before moving on.
		 */
		for (tries = 0; tries < 3; tries++) {
			if (__sp_pool_grow(pool, order[i], gfp, 1))
				break;
			page = sp_node_take_one(n);
			if (page) {
				if (i)
					atomic_long_inc(&pool->nodes[nid]->remote);
				return page;
			}
		}
	}

	atomic_long_inc(&pool->nodes[nid]->fallback);
	return NULL;
}

/**
 * sp_pool_alloc() - a zeroed page that is not in the direct map
 * @pool: the pool
 * @nid: the node to allocate on, or NUMA_NO_NODE for the current CPU's
 * @gfp: allocation context; growing the pool needs one that may sleep
 *
 * The page is order 0, not compound, zero, absent from the direct map and
 * off every LRU, with refcount 1 that now belongs to the caller.  See the
 * top of this file for the order in which nodes and sources are tried.
 *
 * Return: the page, or NULL if the pool could not serve (counted as a
 * fallback on @nid).
 */
struct page *sp_pool_alloc(struct secretpool *pool, int nid, gfp_t gfp)
{
	struct page *page;

	if (nid == NUMA_NO_NODE || !node_state(nid, N_MEMORY))
		nid = numa_mem_id();

	page = sp_pcp_alloc(pool, nid);
	if (!page)
		page = sp_alloc_slow(pool, nid, gfp);
	if (page)
		VM_WARN_ON_ONCE_PAGE(page_ref_count(page) != 1, page);
	return page;
}

/* ---------------------------------------------------------------------
 * Background work and the shrinker
 * ---------------------------------------------------------------------
 */

static void sp_node_work(struct work_struct *work)
{
	struct sp_node *n = container_of(to_delayed_work(work), struct sp_node,
					 work);
	struct secretpool *pool = n->pool;
	struct secretpool_params *p = pool->params;
	unsigned int low = READ_ONCE(p->low_watermark);
	unsigned int high = READ_ONCE(p->high_watermark);
	unsigned int max = READ_ONCE(p->max_regions);
	bool enabled = pool != sp_default || READ_ONCE(sp_enabled);

	sp_pool_recycle(pool, n->nid);

	if (!enabled) {
		/* Switched off: keep nothing idle. */
		sp_pool_drain(pool, n->nid);
		sp_pool_shrink(pool, n->nid, ULONG_MAX, 0);
	} else if (READ_ONCE(n->nr_free) < low) {
		while (READ_ONCE(n->nr_free) < low &&
		       !__sp_pool_grow(pool, n->nid, GFP_KERNEL, low))
			;
	} else {
		if (READ_ONCE(n->nr_free) > high)
			sp_pool_shrink(pool, n->nid,
				       READ_ONCE(n->nr_free) - high, low);
		/* max_regions may have been lowered. */
		if (max && READ_ONCE(n->nr_regions) > max)
			sp_pool_shrink(pool, n->nid,
				       (READ_ONCE(n->nr_regions) - max) *
				       SP_REGION_PAGES, 0);
	}

	if (READ_ONCE(n->nr_pending))
		sp_node_kick(n, SP_RECYCLE_DELAY);
}

static unsigned long sp_shrink_count(struct shrinker *s,
				     struct shrink_control *sc)
{
	struct secretpool *pool = container_of(s, struct secretpool, shrinker);
	struct sp_node *n = pool->nodes[sc->nid];
	unsigned long idle = READ_ONCE(n->nr_free);
	int cpu;

	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		if (READ_ONCE(pcp->nid) == sc->nid)
			idle += READ_ONCE(pcp->count);
	}
	return idle ?: SHRINK_EMPTY;
}

static unsigned long sp_shrink_scan(struct shrinker *s,
				    struct shrink_control *sc)
{
	struct secretpool *pool = container_of(s, struct secretpool, shrinker);
	unsigned long freed;

	sp_pool_drain(pool, sc->nid);
	freed = sp_pool_shrink(pool, sc->nid, sc->nr_to_scan, 0);
	return freed ?: SHRINK_STOP;
}

/* ---------------------------------------------------------------------
 * Statistics
 * ---------------------------------------------------------------------
 */

/**
 * sp_pool_stats() - what a node's pool holds and what it did
 * @pool: the pool
 * @nid: the node
 * @st: filled in
 *
 * The counts of the lists are read under the node's lock; the CPU caches
 * are read without their locks, so @cached and @in_use may be off by what
 * is moving between CPU caches and regions at the time (sp_pool_drain()
 * first for exact figures).
 */
void sp_pool_stats(struct secretpool *pool, int nid,
		   struct secretpool_stats *st)
{
	struct sp_node *n = pool->nodes[nid];
	struct sp_region *r;
	unsigned long held;
	int cpu, g;

	memset(st, 0, sizeof(*st));

	spin_lock(&n->lock);
	st->regions = n->nr_regions;
	st->free = n->nr_free;
	st->pending = n->nr_pending;
	st->poisoned = n->nr_poisoned;
	st->stuck = n->nr_stuck;
	list_for_each_entry(r, &n->lists[SP_GROUP_EMPTY], list)
		st->empty_regions++;
	for (g = 0; g < SP_NR_GROUPS; g++) {
		list_for_each_entry(r, &n->lists[g], list)
			if (r->level == SP_LEVEL_2M)
				st->regions_2m++;
	}
	spin_unlock(&n->lock);

	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		if (READ_ONCE(pcp->nid) == nid)
			st->cached += READ_ONCE(pcp->count);
	}

	held = st->free + st->cached + st->pending + st->poisoned;
	st->in_use = st->regions * SP_REGION_PAGES;
	st->in_use = st->in_use > held ? st->in_use - held : 0;

	st->grown = atomic_long_read(&n->grown);
	st->released = atomic_long_read(&n->released);
	st->grow_failed = atomic_long_read(&n->grow_failed);
	st->remote = atomic_long_read(&n->remote);
	st->fallback = atomic_long_read(&n->fallback);
}

/* ---------------------------------------------------------------------
 * Creating and destroying pools
 * ---------------------------------------------------------------------
 */

/**
 * sp_pool_create() - set up an empty pool
 * @name: name for messages and the shrinker (not copied)
 * @params: tunables; read on every use, so they may change later
 *
 * The pool holds no region yet; it grows on demand.  With
 * @params->background it has a background worker per node and a shrinker.
 *
 * Return: the pool, or an ERR_PTR().
 */
struct secretpool *sp_pool_create(const char *name,
				  struct secretpool_params *params)
{
	struct secretpool *pool;
	int cpu, nid, g, err;

	err = sp_window_init();
	if (err)
		return ERR_PTR(err);

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool)
		return ERR_PTR(-ENOMEM);
	pool->name = name;
	pool->params = params;
	xa_init(&pool->regions);

	err = -ENOMEM;
	pool->nodes = kcalloc(nr_node_ids, sizeof(*pool->nodes), GFP_KERNEL);
	if (!pool->nodes)
		goto fail;
	for_each_node(nid) {
		struct sp_node *n = kzalloc_node(sizeof(*n), GFP_KERNEL,
						 node_state(nid, N_MEMORY) ?
						 nid : NUMA_NO_NODE);

		if (!n)
			goto fail;
		n->pool = pool;
		n->nid = nid;
		spin_lock_init(&n->lock);
		for (g = 0; g < SP_NR_GROUPS; g++)
			INIT_LIST_HEAD(&n->lists[g]);
		INIT_LIST_HEAD(&n->pending);
		INIT_LIST_HEAD(&n->stuck);
		mutex_init(&n->grow_lock);
		INIT_DELAYED_WORK(&n->work, sp_node_work);
		pool->nodes[nid] = n;
	}

	pool->pcp = alloc_percpu(struct sp_pcp);
	if (!pool->pcp)
		goto fail;
	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		spin_lock_init(&pcp->lock);
		INIT_LIST_HEAD(&pcp->pages);
		pcp->nid = cpu_to_mem(cpu);
	}

	if (params->background) {
		pool->shrinker.count_objects = sp_shrink_count;
		pool->shrinker.scan_objects = sp_shrink_scan;
		pool->shrinker.seeks = DEFAULT_SEEKS;
		pool->shrinker.batch = SP_REGION_PAGES;
		pool->shrinker.flags = SHRINKER_NUMA_AWARE;
		err = register_shrinker(&pool->shrinker, "secretpool-%s", name);
		if (err)
			goto fail;
		pool->shrinker_registered = true;
	}
	return pool;

fail:
	sp_pool_destroy(pool);
	return ERR_PTR(err);
}

/**
 * sp_pool_destroy() - give everything back and free a pool
 * @pool: the pool; nothing may use it any more
 *
 * Every page must be free: a page still in use or pending is reported and
 * its region kept (leaked) rather than given to the buddy allocator
 * unmapped.
 */
void sp_pool_destroy(struct secretpool *pool)
{
	int nid;

	if (pool->shrinker_registered)
		unregister_shrinker(&pool->shrinker);

	if (pool->nodes) {
		for_each_node(nid)
			if (pool->nodes[nid])
				cancel_delayed_work_sync(&pool->nodes[nid]->work);
	}

	if (pool->pcp && pool->nodes) {
		sp_pool_drain(pool, NUMA_NO_NODE);
		for_each_node(nid) {
			struct sp_node *n = pool->nodes[nid];

			if (!n)
				continue;
			sp_pool_shrink(pool, nid, ULONG_MAX, 0);
			WARN(n->nr_regions || n->nr_pending,
			     "pool %s destroyed with %lu regions and %lu pending pages on node %d\n",
			     pool->name, n->nr_regions, n->nr_pending, nid);
		}
	}
	free_percpu(pool->pcp);

	if (pool->nodes) {
		for_each_node(nid)
			kfree(pool->nodes[nid]);
		kfree(pool->nodes);
	}
	xa_destroy(&pool->regions);
	kfree(pool);
}

/* ---------------------------------------------------------------------
 * The default pool, behind memfd_secret()
 * ---------------------------------------------------------------------
 */

/**
 * secretpool_alloc_page() - a page for a secretmem file
 * @gfp: allocation context of the fault
 *
 * Return: a zeroed, unmapped page from the default pool on the current
 * CPU's node (see sp_pool_alloc()), or NULL if the pool is off or could not
 * serve; the caller then takes the per-page path.
 */
struct page *secretpool_alloc_page(gfp_t gfp)
{
	struct page *page;

	if (!sp_default || !READ_ONCE(sp_enabled))
		return NULL;
	page = sp_pool_alloc(sp_default, NUMA_NO_NODE, gfp);
	if (!page)
		pr_info_once("no free 2M block (or max_regions reached): unmapping secret pages one at a time until the pool can grow; see the fallback counter\n");
	return page;
}

/**
 * secretpool_free_page() - give back a page that was never exposed
 * @page: a page from secretpool_alloc_page(), only reference held
 *
 * Return: true if the page was the pool's (it is free again), false if the
 * caller must free it itself.
 */
bool secretpool_free_page(struct page *page)
{
	return sp_default && sp_pool_free(sp_default, page);
}

/**
 * secretpool_release_folio() - ->free_folio() of secretmem files
 * @folio: a folio just removed from a secretmem file
 *
 * Return: true if the folio is the pool's (the pool takes it back), false
 * if the caller must put it back in the direct map itself.
 */
bool secretpool_release_folio(struct folio *folio)
{
	return sp_default && sp_pool_release_folio(sp_default, folio);
}

static void sp_kick_all(void)
{
	int nid;

	if (!sp_default)
		return;
	for_each_node(nid)
		sp_node_kick(sp_default->nodes[nid], 0);
}

static int sp_param_set_enabled(const char *val, const struct kernel_param *kp)
{
	int err = param_set_bool(val, kp);

	if (!err)
		sp_kick_all();
	return err;
}

static int sp_param_set_uint(const char *val, const struct kernel_param *kp)
{
	int err = param_set_uint(val, kp);

	if (!err)
		sp_kick_all();
	return err;
}

#ifdef CONFIG_DEBUG_FS
static int sp_stats_show(struct seq_file *m, void *v)
{
	struct secretpool_stats st, sum = {};
	int nid;

	seq_printf(m, "%-5s %8s %8s %7s %8s %8s %6s %9s %7s %9s %12s %7s %9s\n",
		   "node", "regions", "free", "cached", "pending", "in_use",
		   "empty", "unmap_2m", "grown", "released", "grow_failed",
		   "remote", "fallback");
	for_each_node_state(nid, N_MEMORY) {
		sp_pool_stats(sp_default, nid, &st);
		seq_printf(m, "%-5d %8lu %8lu %7lu %8lu %8lu %6lu %9lu %7lu %9lu %12lu %7lu %9lu\n",
			   nid, st.regions, st.free, st.cached, st.pending,
			   st.in_use, st.empty_regions, st.regions_2m, st.grown,
			   st.released, st.grow_failed, st.remote, st.fallback);
		sum.regions += st.regions;
		sum.free += st.free;
		sum.cached += st.cached;
		sum.pending += st.pending;
		sum.in_use += st.in_use;
		sum.empty_regions += st.empty_regions;
		sum.regions_2m += st.regions_2m;
		sum.grown += st.grown;
		sum.released += st.released;
		sum.grow_failed += st.grow_failed;
		sum.remote += st.remote;
		sum.fallback += st.fallback;
		sum.poisoned += st.poisoned;
		sum.stuck += st.stuck;
	}
	seq_printf(m, "%-5s %8lu %8lu %7lu %8lu %8lu %6lu %9lu %7lu %9lu %12lu %7lu %9lu\n",
		   "all", sum.regions, sum.free, sum.cached, sum.pending,
		   sum.in_use, sum.empty_regions, sum.regions_2m, sum.grown,
		   sum.released, sum.grow_failed, sum.remote, sum.fallback);
	seq_printf(m, "\nenabled %d\nlow_watermark %u\nhigh_watermark %u\nmax_regions %u\npoisoned %lu\nstuck %lu\nheld_kb %lu\n",
		   READ_ONCE(sp_enabled),
		   READ_ONCE(sp_default_params.low_watermark),
		   READ_ONCE(sp_default_params.high_watermark),
		   READ_ONCE(sp_default_params.max_regions),
		   sum.poisoned, sum.stuck,
		   (sum.regions + sum.stuck) * (SP_REGION_SIZE >> 10));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_stats);

static int sp_regions_show(struct seq_file *m, void *v)
{
	static const char * const names[SP_NR_GROUPS] = {
		"full", "partial", "partial", "partial", "partial", "empty",
	};
	struct sp_region *r;
	int nid, g;

	seq_printf(m, "%-5s %-18s %5s %-8s %12s %12s\n", "node", "phys",
		   "free", "group", "level_before", "level");
	for_each_node_state(nid, N_MEMORY) {
		struct sp_node *n = sp_default->nodes[nid];

		spin_lock(&n->lock);
		for (g = 0; g < SP_NR_GROUPS; g++) {
			list_for_each_entry(r, &n->lists[g], list)
				seq_printf(m, "%-5d %#018llx %5u %-8s %12u %12u\n",
					   nid, (u64)PFN_PHYS(r->pfn),
					   r->nr_free, names[g],
					   r->level_before, r->level);
		}
		spin_unlock(&n->lock);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_regions);

/* Writing anything empties the CPU caches and gives every empty region back. */
static ssize_t sp_shrink_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	int nid;

	sp_pool_drain(sp_default, NUMA_NO_NODE);
	for_each_node_state(nid, N_MEMORY)
		sp_pool_shrink(sp_default, nid, ULONG_MAX, 0);
	return count;
}

static const struct file_operations sp_shrink_fops = {
	.write = sp_shrink_write,
	.llseek = noop_llseek,
};

static void sp_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("secretpool", NULL);

	debugfs_create_file("stats", 0444, dir, NULL, &sp_stats_fops);
	debugfs_create_file("regions", 0400, dir, NULL, &sp_regions_fops);
	debugfs_create_file("shrink", 0200, dir, NULL, &sp_shrink_fops);
}
#else
static inline void sp_debugfs_init(void) { }
#endif

/**
 * secretpool_init() - create the default pool
 *
 * Called by secretmem's initcall when memfd_secret() is enabled.
 *
 * Return: 0, or a negative errno (secretmem then works without the pool).
 */
int secretpool_init(void)
{
	struct secretpool *pool;

	pool = sp_pool_create("default", &sp_default_params);
	if (IS_ERR(pool)) {
		pr_err("cannot create the pool (%ld); memfd_secret() pages will be unmapped one at a time\n",
		       PTR_ERR(pool));
		return PTR_ERR(pool);
	}
	sp_default = pool;
	sp_debugfs_init();

	pr_info("%s: %lu kB regions on %u node(s), watermarks %u/%u pages, max %u regions per node%s\n",
		READ_ONCE(sp_enabled) ? "enabled" : "disabled (secretpool.enabled=0)",
		SP_REGION_SIZE >> 10, num_node_state(N_MEMORY),
		sp_default_params.low_watermark,
		sp_default_params.high_watermark,
		sp_default_params.max_regions,
		sp_default_params.max_regions ? "" : " (no limit)");
	return 0;
}
