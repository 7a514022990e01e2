// SPDX-License-Identifier: GPL-2.0
/*
 * secretpool: a pool of unmapped pages for memfd_secret()
 *
 * This file is the pool's mechanics; its interfaces live beside it:
 * mm/secretpool_reserve.c (the boot reservation and its knob) and
 * mm/secretpool_stats.c (the meminfo lines and the debugfs files).  The
 * front end is mm/secretmem.c.
 *
 * Upstream secretmem takes each secret page from the buddy allocator and
 * removes that one page from the direct map.  That splits the 1G or 2M
 * mapping around it into 4K PTEs, for good, and costs a CPA walk and a
 * global TLB flush on every fault.  The pool removes both costs.
 *
 * Design
 * ------
 * A pool has one part per NUMA node (struct sp_nodepool).  A node's pool owns
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
 * Blocks
 * ------
 * A pool may also hold blocks (struct sp_block): 1G (PUD-sized) aligned
 * ranges set aside for it as a whole, at boot from memblock or at run
 * time with alloc_contig_pages() (mm/secretpool_reserve.c).  A block is
 * zeroed, removed from the direct map with one call, which changes one PUD
 * entry where the direct map uses a 1G page (nothing is split), and carved
 * into SP_BLOCK_REGIONS regions.  Its regions serve pages exactly as the
 * others do; only their empty ones sit on a list of their own, RESERVED,
 * which allocation takes from before EMPTY: reserved memory is used first,
 * and regions taken from the buddy allocator drain empty and go back.  A
 * block's regions never go back on their own: neither the high watermark
 * nor the shrinker nor switching the pool off touch them.  The whole block
 * goes back when asked (sp_pool_unreserve()) and only once every page of
 * it is free, mapped back with one call (its PUD entry restored) and
 * handed to the buddy allocator.  A hibernation gives every block back as
 * it gives every region back (the snapshot must not meet an unmapped
 * page) and takes as many back with alloc_contig_pages() when it is over,
 * in the kernel that resumes too; so reserved memory never keeps a
 * hibernation, or the resume of one, away.  Where the memory comes from
 * after that is up to the page allocator; what cannot be had is reported.
 *
 * A per-CPU cache (struct sp_pcp) holds a few free pages of one node, so
 * the common fault takes only its CPU's lock: no shared lock, no CPA, no
 * TLB flush.  An allocation names a node and, optionally, the nodes it may
 * use (the fault's memory policy and cpuset; see sp_pool_alloc()).  It is
 * served, considering allowed nodes only, from:
 *
 *   1. the CPU cache, if it holds pages of that node (refilled in batches
 *      from the node's regions);
 *   2. the node's regions, after recycling some pages that came back;
 *   3. a new region on the node (only if the caller may sleep and the
 *      node is under max_regions): like the page allocator, the pool
 *      keeps a page on the node its policy names while that node can
 *      give one;
 *   4. the other nodes' regions, then new regions on them, nearest first
 *      (the page allocator's fallback order for the node);
 *   5. nothing: the caller falls back to upstream's per-page path, and the
 *      pool counts a fallback on the node.
 *
 * An allocation whose policy names no node (the default policy) is for
 * the current CPU's node, and with keep_1g that node only grows in step 3
 * if it need not split a 1G page of the direct map to do so; step 4 comes
 * first otherwise, without such splits, and only then are they allowed
 * (see "Keeping 1G pages").
 *
 * Below the low watermark a node's pool grows in the background; above the
 * high watermark it gives empty regions back (never going below the low
 * watermark by doing so); under memory pressure a shrinker gives back
 * empty regions, as many as reclaim asks for.
 *
 * Zeroing
 * -------
 * A free page in the pool, whether on a region's free list or in a CPU
 * cache, is always zero.  New regions are zeroed before they leave the
 * direct map (__GFP_ZERO).  A page that comes back is zeroed before it is
 * put on a free list, through a per-CPU window in vmalloc space
 * (sp_window, one slot per page of a recycling batch) that is mapped, used
 * and unmapped with preemption off and flushed from the local TLB only,
 * once per batch: the page never goes back into the direct map.  Pages
 * given back to the buddy allocator are therefore zero, and no byte of one
 * owner reaches the next.
 *
 * /proc/kcore reads vmalloc space through vread(), which in 6.1 finds the
 * page behind a vmalloc address and copies from its direct-map alias.  For
 * a window that is in use, that alias is not mapped; the series makes
 * vread() copy with copy_from_kernel_nofault() and read zeros where the
 * alias is missing (patches/), as /proc/kcore already does for RAM.  So a
 * kcore reader sees zeros in the window and never a secret.
 *
 * Lifetime of a page
 * ------------------
 * The pool holds one reference to each of its pages for as long as it owns
 * the region (the region's), so a pool page's refcount never reaches zero
 * and the page never reaches the buddy allocator while it is not in the
 * direct map, on any path (including __remove_mapping(), which frees with
 * a frozen refcount and calls ->free_folio() afterwards; with the pool's
 * reference the freeze fails, so that path never takes a pool page).
 * While no file has the page, the pool holds a second one (the hold):
 * whatever looks at a free or pending page sees more than one reference,
 * so unpoison_memory() ("unpoison-pfn" in debugfs), which frees a
 * poisoned page that only one reference keeps, never gives a pool page to
 * the page allocator while it is out of the direct map.
 *
 * free     on a region's free list or in a CPU cache; refcount 2 (the
 *          region's and the hold), off every LRU, flags clear, zero.
 * in use   handed out by sp_pool_alloc(), the hold becoming the caller's
 *          reference (refcount 2 or more).  secretmem puts the page in its file's page cache
 *          and on the unevictable LRU, as upstream does, so that crash-dump
 *          tools drop it with the page cache (a makedumpfile dump level with
 *          bit 2 or 4 set, such as the usual -d 31, excludes LRU pages
 *          that are not anonymous) and memory-error
 *          handling unmaps it from its users.  While a page may be on an
 *          LRU, page->lru belongs to the LRU code: the pool tracks pages
 *          that are not free in per-region bitmaps, not on lists.
 * pending  the file let go of the page: ->free_folio() called
 *          sp_pool_release_folio(), which takes the hold again and sets
 *          the page's bit in its region's pending bitmap.  Others (the
 *          truncating task, a speculative page-cache lookup, an LRU batch)
 *          may still hold references.  Once the pool's two are the only
 *          ones left and nobody has the page locked, the page is zeroed (still on the
 *          LRU, so that it is never both secret and outside the dump
 *          filters), taken off the LRU, uncharged from its memcg, its flags
 *          are cleared (atomically: a memory error may set PG_hwpoison at
 *          any time, and with the refcount frozen: see sp_batch_recycle())
 *          and it is free again.
 * poisoned a page with PG_hwpoison, noticed when it is taken from a free
 *          list or CPU cache, given back, or recycled.  It is never handed
 *          out or zeroed again; its bit is set in the region's poisoned
 *          bitmap and it counts as free for deciding whether the region is
 *          empty.  When the region is released, the block is mapped back
 *          around its poisoned pages, which never become present again
 *          (a memory error costs the split of that 2M mapping), and they
 *          are retired: the pool keeps its references to them for good
 *          and counts them, so that neither the page allocator nor an
 *          unpoison can hand out a page that is not in the direct map.
 *          Memory offlining skips them as any PG_hwpoison page.  (Not
 *          PG_offline, which hibernation would skip but which makes a
 *          page with references block offlining for good.)  A retired
 *          page may hold a secret nobody could erase, so hibernation
 *          stays refused after one (sp_pool_busy()).
 *
 * A page the caller never exposed (say it lost a race to put it in the
 * page cache) goes back directly with sp_pool_free().
 *
 * Every page of every region is in exactly one of these states.  The pool
 * counts pages in use when it hands them out and when they come back, and
 * everything else by list or bitmap, so "no page is lost" is a check that
 * can fail: per node, 512 * regions == free + cached + pending + in use +
 * poisoned, each term counted on its own (sp_pool_audit()).
 *
 * Recycling is bounded: one pass looks at no more than SP_RECYCLE_SCAN
 * pending pages under the node's lock, starting where the previous pass
 * stopped, and makes at most SP_RECYCLE_BATCH of them free, zeroing
 * outside the lock.  The fault path does one pass of at most
 * SP_RECYCLE_FAULT_BATCH pages; the background worker repeats passes with
 * cond_resched() in between.  While pending pages stay
 * busy, the worker waits twice as long each time (up to
 * SP_RECYCLE_DELAY_MAX) and drains the LRU batches of every CPU, which may
 * hold the last references.
 *
 * Memory policy, cpusets, CPU hotplug, hibernation
 * ------------------------------------------------
 * An allocation uses only the nodes its policy and cpuset allow, as the
 * page allocator would: the pool serves from, and grows on, allowed nodes
 * only.  The background worker keeps each node's low watermark of free
 * pages whatever the tasks' policies.  When a CPU dies its cache is
 * emptied into the regions (a CPU hotplug "dead" callback).
 *
 * Hibernation must never see a pool page: a free one sits in a
 * non-present PMD, which the snapshot would split with interrupts off, and
 * a pending one has not been zeroed.  Secretmem refuses hibernation while
 * any secret file is open or the pool holds a page that is in use, pending
 * or in a region it could not map back (secretpool_busy()).  When
 * hibernation starts (PM_HIBERNATION_PREPARE or PM_RESTORE_PREPARE), the
 * pool freezes: it stops serving and growing, recycles and gives back every
 * region, and refuses the hibernation if it cannot; it thaws when the
 * hibernation is over.
 *
 * Locking
 * -------
 * sp_nodepool.grow_lock (mutex)
 *	one task grows a node's pool, or adds a block to it, at a time;
 *	held across the buddy allocation and the CPA call, never inside the
 *	locks below.
 * sp_pcp.lock (spinlock)
 *	one CPU cache; usually taken by its own CPU, by others only to drain
 *	it.
 * sp_nodepool.lock (spinlock)
 *	the node's region lists, every free list, bitmap and count of its
 *	regions, its list of blocks and their counts of empty regions, and
 *	its counts.
 *
 * Order: grow_lock -> sp_pcp.lock -> sp_nodepool.lock.  No allocation, CPA,
 * TLB flush, zeroing or LRU operation is done under a spinlock; none of
 * these locks is taken from interrupt context.  The region index
 * (secretpool.regions, an xarray) has its own lock; a region is in the
 * index from before its first page is handed out until after its last page
 * is back, so looking up the region of a page the caller holds needs no
 * further protection.  pool->frozen is written under no lock: growers read
 * it under grow_lock, and sp_pool_freeze() takes every grow_lock after
 * setting it, so no grower started before the freeze is still running when
 * it empties the pool.
 */

#define pr_fmt(fmt) "secretpool: " fmt

#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/cacheflush.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/cpuset.h>
#include <linux/mmzone.h>
#include <linux/memcontrol.h>
#include <linux/mm_inline.h>
#include <linux/moduleparam.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/secretmem.h>
#include <linux/set_memory.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <linux/swap.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>
#include <linux/fault-inject.h>
#include <linux/pagemap.h>
#include <linux/page-flags.h>
#include <linux/page-isolation.h>

#include <asm/tlbflush.h>

#include "internal.h"
#include "secretpool.h"

#define CREATE_TRACE_POINTS
#include <trace/events/secretpool.h>

/* How region blocks are allocated: unmovable, zeroed, on the node only. */
#define SP_REGION_GFP	(GFP_KERNEL | __GFP_THISNODE | __GFP_ZERO | \
			 __GFP_NORETRY | __GFP_NOWARN)

/*
 * The refcount of a free page, and of a pending one that nobody else holds
 * any more: the region's reference and the hold (see "Lifetime of a page").
 */
#define SP_REFS_IDLE	2

/* Pending pages not ready yet are looked at again after this long ... */
#define SP_RECYCLE_DELAY	1
/* ... doubling while none gets ready, up to this, ... */
#define SP_RECYCLE_DELAY_MAX	(HZ / 4)
/* ... and from this delay on, the LRU batches of every CPU are drained. */
#define SP_RECYCLE_DRAIN_AT	4
/*
 * Free pages above the high watermark go back this long after the node
 * last grew, not before: a workload that frees and faults in turns (close
 * one file, fault the next) finds its pages pending for a moment, grows a
 * region, and would otherwise give one back each time its pages are
 * recycled, paying a 2M zeroing and two TLB flushes of every CPU per
 * round.  The shrinker (memory pressure) does not wait.
 */
#define SP_SHRINK_HOLD		HZ
/*
 * How long a node that could grow only by splitting a 1G page is kept
 * (not looked over again) before it looks at its own memory again (see
 * "Keeping 1G pages").
 */
#define SP_NEAR_HOLD		HZ

/* ---------------------------------------------------------------------
 * Tunables of the default pool
 * ---------------------------------------------------------------------
 */

struct secretpool_params sp_default_params = {
	.low_watermark	= 128,
	.high_watermark	= 1024,
	.max_regions	= 0,
	.pcp_high	= 64,
	.pcp_batch	= 16,
	.background	= true,
	.keep_1g	= true,
};

bool sp_enabled = IS_ENABLED(CONFIG_SECRETMEM_POOL_DEFAULT_ON);
struct secretpool *sp_default;
/* The hibernation notifier is registered (see secretpool_busy()). */
static bool sp_pm_ready;

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
module_param_named(keep_1g, sp_default_params.keep_1g, bool, 0644);
MODULE_PARM_DESC(keep_1g,
		 "Serve default-policy allocations from another node rather than split a 1G direct-map page");

/*
 * Count @nr vmstat events of @item for the pool behind memfd_secret()
 * (/proc/vmstat); the private pools of the KUnit suite count none.
 */
static void sp_count(struct secretpool *pool, enum vm_event_item item,
		     long nr)
{
	if (pool == sp_default)
		count_vm_events(item, nr);
}

/* ---------------------------------------------------------------------
 * The per-CPU window: how the pool touches a page that is not mapped
 * ---------------------------------------------------------------------
 */

/*
 * SP_RECYCLE_BATCH slots: a recycling pass maps each page of its batch at a
 * slot of its own and flushes them all at the end, once.
 */
#define SP_WINDOW_SLOTS		SP_RECYCLE_BATCH

/*
 * More slots than this are flushed from the local TLB as a whole rather
 * than one by one: the default of x86's own ceiling for
 * flush_tlb_kernel_range() (tlb_single_page_flush_ceiling, which debugfs
 * can change at run time; Documentation/x86/tlb.rst).
 */
#define SP_WINDOW_FLUSH_ALL	33

struct sp_window {
	unsigned long addr;
	pte_t *ptep[SP_WINDOW_SLOTS];
};

static DEFINE_PER_CPU(struct sp_window, sp_window);
static DEFINE_MUTEX(sp_window_mutex);
static bool sp_window_ready;

static int sp_window_pte(pte_t *ptep, unsigned long addr, void *data)
{
	struct sp_window *w = data;

	w->ptep[(addr - w->addr) >> PAGE_SHIFT] = ptep;
	return 0;
}

/* Not inlined: /proc/vmallocinfo names the windows after this function. */
static noinline int sp_window_init(void)
{
	const unsigned long size = SP_WINDOW_SLOTS * PAGE_SIZE;
	struct vm_struct *area;
	int cpu, i, err = 0;

	mutex_lock(&sp_window_mutex);
	if (sp_window_ready)
		goto out;

	for_each_possible_cpu(cpu) {
		struct sp_window *w = per_cpu_ptr(&sp_window, cpu);

		if (w->addr)
			continue;
		area = get_vm_area(size, VM_MAP);
		if (!area) {
			err = -ENOMEM;
			goto out;
		}
		/* Builds the page tables for the slots and notes their PTEs. */
		w->addr = (unsigned long)area->addr;
		err = apply_to_page_range(&init_mm, w->addr, size,
					  sp_window_pte, w);
		for (i = 0; !err && i < SP_WINDOW_SLOTS; i++)
			if (!w->ptep[i])
				err = -ENOMEM;
		if (err) {
			free_vm_area(area);
			memset(w, 0, sizeof(*w));
			goto out;
		}
	}
	/* Pairs with secretpool_clear_page(): windows set up before seen. */
	smp_store_release(&sp_window_ready, true);
out:
	mutex_unlock(&sp_window_mutex);
	return err;
}

/*
 * Map @page at slot @slot of this CPU's window.  Preemption must be off
 * until the slot is unmapped, and the slot must not be mapped already.
 */
static void *sp_window_map_prot(unsigned int slot, struct page *page,
				pgprot_t prot)
{
	struct sp_window *w = this_cpu_ptr(&sp_window);
	unsigned long addr = w->addr + slot * PAGE_SIZE;

	set_pte_at(&init_mm, addr, w->ptep[slot], mk_pte(page, prot));
	return (void *)addr;
}

static void *sp_window_map(unsigned int slot, struct page *page)
{
	return sp_window_map_prot(slot, page, PAGE_KERNEL);
}

/* Unmap slots 0 to @nr - 1 of this CPU's window and flush them. */
static void sp_window_unmap(unsigned int nr)
{
	struct sp_window *w = this_cpu_ptr(&sp_window);
	unsigned int i;

	for (i = 0; i < nr; i++)
		pte_clear(&init_mm, w->addr + i * PAGE_SIZE, w->ptep[i]);
	/* Only this CPU ever used the addresses: a local flush is enough. */
#ifdef CONFIG_X86
	if (nr > SP_WINDOW_FLUSH_ALL) {
		__flush_tlb_all();
		return;
	}
	for (i = 0; i < nr; i++)
		flush_tlb_one_kernel(w->addr + i * PAGE_SIZE);
#else
	flush_tlb_kernel_range(w->addr, w->addr + nr * PAGE_SIZE);
#endif
}

static void sp_page_zero(struct page *page)
{
	preempt_disable();
	clear_page(sp_window_map(0, page));
	sp_window_unmap(1);
	preempt_enable();
}

#if IS_ENABLED(CONFIG_SECRETMEM_POOL_KUNIT_TEST)
/* Test helpers: write and check a page's bytes without the direct map. */
void sp_page_fill(struct page *page, u8 byte)
{
	void *addr;

	preempt_disable();
	addr = sp_window_map(0, page);
	memset(addr, byte, PAGE_SIZE);
	sp_window_unmap(1);
	preempt_enable();
}

bool sp_page_is_filled(struct page *page, u8 byte)
{
	bool ret;
	void *addr;

	preempt_disable();
	addr = sp_window_map(0, page);
	ret = !memchr_inv(addr, byte, PAGE_SIZE);
	sp_window_unmap(1);
	preempt_enable();
	return ret;
}
#endif

/* ---------------------------------------------------------------------
 * Direct map
 * ---------------------------------------------------------------------
 */

/* ---------------------------------------------------------------------
 * Regions and their lists
 * ---------------------------------------------------------------------
 */

static enum sp_group sp_group_of(const struct sp_region *r)
{
	unsigned int partial = SP_GROUP_PARTIAL_LAST - SP_GROUP_PARTIAL_FIRST + 1;

	if (r->nr_free + r->nr_poisoned == SP_REGION_PAGES)
		return r->block ? SP_GROUP_RESERVED : SP_GROUP_EMPTY;
	if (!r->nr_free)
		return SP_GROUP_FULL;
	return SP_GROUP_PARTIAL_FIRST +
	       (r->nr_free - 1) * partial / SP_REGION_PAGES;
}

/* Put @r on the list its counts call for.  Node lock held. */
static void sp_region_regroup(struct sp_nodepool *n, struct sp_region *r)
{
	enum sp_group g = sp_group_of(r);

	lockdep_assert_held(&n->lock);
	if (g == r->group)
		return;
	if (r->group == SP_GROUP_RESERVED)
		r->block->nr_empty--;
	else if (g == SP_GROUP_RESERVED)
		r->block->nr_empty++;
	r->group = g;
	list_move(&r->list, &n->lists[g]);
}

/* Count @delta more free pages on region @r of node @n.  Node lock held. */
static void sp_node_free_add(struct sp_nodepool *n, struct sp_region *r,
			     long delta)
{
	lockdep_assert_held(&n->lock);
	n->nr_free += delta;
	if (r->block)
		n->nr_free_reserved += delta;
}

/* Regions of node @n taken from the buddy allocator one at a time. */
static unsigned long sp_node_grown_regions(struct sp_nodepool *n)
{
	unsigned long grown;

	spin_lock(&n->lock);
	grown = n->nr_regions - n->nr_blocks * SP_BLOCK_REGIONS;
	spin_unlock(&n->lock);
	return grown;
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

static unsigned int sp_index(const struct sp_region *r, struct page *page)
{
	return page_to_pfn(page) - r->pfn;
}

/* Keep a page with a memory error out of use for good.  Node lock held. */
static void sp_region_poison_locked(struct sp_nodepool *n, struct sp_region *r,
				    struct page *page)
{
	lockdep_assert_held(&n->lock);
	if (__test_and_set_bit(sp_index(r, page), r->poisoned))
		return;
	r->nr_poisoned++;
	n->nr_poisoned++;
	sp_region_regroup(n, r);
}

/*
 * Return a page the pool alone holds to its region: on the free list if
 * it is sound (and zero), as poisoned otherwise.  Node lock held.
 */
static void sp_region_put_locked(struct sp_nodepool *n, struct sp_region *r,
				 struct page *page)
{
	lockdep_assert_held(&n->lock);
	if (unlikely(PageHWPoison(page))) {
		sp_region_poison_locked(n, r, page);
		return;
	}
	list_add(&page->lru, &r->free);
	r->nr_free++;
	sp_node_free_add(n, r, 1);
	sp_region_regroup(n, r);
}

/*
 * Move up to @want free pages of node @n to @out, fullest regions first.
 * Pages found poisoned on the way are kept out.  Returns how many were
 * moved.  Node lock held.
 */
static unsigned int sp_node_take_locked(struct secretpool *pool,
					struct sp_nodepool *n,
					struct list_head *out,
					unsigned int want)
{
	struct sp_region *r, *tmp;
	unsigned int got = 0;
	int g;

	lockdep_assert_held(&n->lock);
	for (g = SP_GROUP_PARTIAL_FIRST; g <= SP_GROUP_EMPTY && got < want; g++) {
		/* Regrouping moves @r to a fuller list: never seen again here. */
		list_for_each_entry_safe(r, tmp, &n->lists[g], list) {
			while (got < want && r->nr_free) {
				struct page *page = list_first_entry(&r->free,
						struct page, lru);

				list_del(&page->lru);
				r->nr_free--;
				sp_node_free_add(n, r, -1);
				if (unlikely(PageHWPoison(page))) {
					sp_region_poison_locked(n, r, page);
					continue;
				}
				list_add_tail(&page->lru, out);
				got++;
			}
			sp_region_regroup(n, r);
			if (got == want)
				break;
		}
	}
	return got;
}

static struct page *sp_node_take_one(struct secretpool *pool,
				     struct sp_nodepool *n)
{
	struct page *page = NULL;
	LIST_HEAD(one);

	spin_lock(&n->lock);
	if (sp_node_take_locked(pool, n, &one, 1)) {
		page = list_first_entry(&one, struct page, lru);
		list_del(&page->lru);
	}
	spin_unlock(&n->lock);
	return page;
}

/*
 * Packing regions into 1G ranges that are split already
 * ------------------------------------------------------
 * Where the direct map uses 1G pages, the first region taken from a 1G
 * range splits that 1G entry into 2M ones (a level-3 split, for good).
 * Later regions in the same range cost no further split, so a node grows
 * in the ranges it has split before while they have a free 2M block: the
 * node remembers the last SP_SPLIT_RANGES ranges its regions split or
 * found split, and growing looks there first: 2M blocks that look free
 * (read without the zone lock, as a hint), at most SP_PACK_TRIES of them
 * taken with alloc_contig_range(), which checks again, drains the
 * allocator's per-CPU lists and moves movable pages out of the way.
 *
 * When none of those ranges has a free block (the node's first growth,
 * or the ranges are full), the node's memory is looked over once, 1G
 * range by 1G range, counting the 2M blocks free in the buddy allocator:
 * a range the direct map does not cover with a 1G page (the boot mapped
 * it with 2M pages around a hole or the kernel image, or something split
 * it) is taken first, as nothing is split there; otherwise the 1G range
 * with the most free blocks, the one the kernel uses least, so that the
 * 1G entry the pool splits is the one whose TLB reach matters least.  The
 * page allocator would hand out the lowest free block instead, which is
 * where the node's early kernel allocations, and their hot data, are.
 * Only when that gives nothing does the page allocator choose.
 *
 * Keeping 1G pages
 * ----------------
 * Packing makes a node split at most one 1G page for good, but on a node
 * whose memory the boot mapped with 1G pages only, that one split is what
 * the whole kernel pays for in TLB reach: its data in the range now takes
 * 512 times the entries.  A default-policy allocation does not ask for its
 * node; the page allocator, too, hands out another node's page when the
 * local one is short.  So with keep_1g (the default) a growth made for such
 * an allocation, or by the background worker, may not split a 1G page
 * (sp_node_take_placed() and __sp_pool_grow() decline with -EXDEV and
 * count kept_1g); the allocation is served by the other nodes' regions,
 * or by a new region on one of them that splits nothing, nearest first,
 * and counted remote.  A declined growth marks the node kept for
 * SP_NEAR_HOLD (@kept_until): neither such allocations nor the worker
 * look over its memory again meanwhile, and while the node has no free
 * page of its own, such allocations fill the CPU cache from the node that
 * served them (@near).  Any growth of the node ends that, and a CPU cache
 * holding another node's pages empties them back into their regions
 * before it takes pages of its own node, so no page stays stranded in a
 * cache nobody takes from.  Only when no allowed node can grow without a
 * split does one split, the allocation's own node first.  Allocations
 * that name a node (bind, preferred, interleave, an explicit 'local')
 * grow there as before: the split is the price of the placement they
 * asked for.  keep_1g=0 restores that for every allocation.
 *
 * The price of keep_1g is locality: a default-policy secret may live on
 * a remote node while its own node has memory.  Secrets are small and
 * seldom touched compared with the kernel data that shares the 1G page;
 * a program that wants its secrets local says so with a policy.
 */

/*
 * Making a block
 * --------------
 * A node that has run for a while may have no free 2M block left where
 * taking one splits nothing, though most of its memory is movable: page
 * cache and anonymous memory in 4K pieces all over.  The page allocator
 * does not make a block for the pool: its compaction, for an unmovable
 * order-9 request that may not retry, looks only at unmovable pageblocks,
 * and those are the ones that hold the kernel's own allocations.  The
 * pool would then grow on another node, or, as the last resort, split a
 * 1G page of the direct map, for good.
 *
 * So before it splits a 1G page or leaves the choice to the page
 * allocator, a growth makes a block: it looks for a 2M block where the
 * direct map is not a 1G page (in the node's remembered split ranges
 * first, then all over the node), a MOVABLE pageblock and none of the
 * pool's regions, whose every page looks free or movable (on an LRU
 * list, or a driver's movable page; not a secret page), and has
 * alloc_contig_range() migrate the movable pages elsewhere, at most
 * SP_PACK_TRIES blocks per growth.  A look that makes no block is not
 * repeated for SP_NEAR_HOLD (@move_after): a node without movable blocks
 * stays cheap to fail on.  Growth is rare (once per SP_REGION_PAGES
 * pages) and the background worker does most of it, so the copying is
 * paid seldom and mostly off the fault path.  Counted in @moved.
 */

/* Most blocks one growth tries to take with alloc_contig_range(). */
#define SP_PACK_TRIES	4

/* Whether node @n remembers the 1G range @range as split.  grow_lock held. */
static bool sp_node_is_split(struct sp_nodepool *n, unsigned long range)
{
	unsigned int i;

	lockdep_assert_held(&n->grow_lock);
	for (i = 0; i < n->nr_split; i++)
		if (n->split[i] == range)
			return true;
	return false;
}

/* Remember that the 1G range of @pfn is split.  grow_lock held. */
static void sp_node_note_split(struct sp_nodepool *n, unsigned long pfn)
{
	unsigned long range = pfn >> SP_BLOCK_ORDER;

	if (sp_node_is_split(n, range))
		return;
	if (n->nr_split == SP_SPLIT_RANGES) {
		memmove(&n->split[0], &n->split[1],
			(SP_SPLIT_RANGES - 1) * sizeof(n->split[0]));
		n->nr_split--;
	}
	n->split[n->nr_split++] = range;
}

/* Whether the 2M block at @pfn is inside one free buddy block. */
static bool sp_block_in_buddy(unsigned long pfn)
{
	unsigned int order;

	for (order = SP_REGION_ORDER; order < MAX_ORDER; order++) {
		unsigned long head = pfn & ~((1UL << order) - 1);
		struct page *hp = pfn_to_online_page(head);

		if (hp && PageBuddy(hp) && buddy_order_unsafe(hp) >= order)
			return true;
	}
	return false;
}

/*
 * Whether the 2M block at @pfn looks free: inside a free buddy block, or
 * every page of it free (refcount 0: in the buddy allocator or one of its
 * per-CPU lists, where the pages of a region just given back wait).
 */
static bool sp_block_looks_free(unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn);
	unsigned int i;

	if (sp_block_in_buddy(pfn))
		return true;
	if (!page || page_count(page))
		return false;
	for (i = 1; i < SP_REGION_PAGES; i++)
		if (page_count(page + i) || PageReserved(page + i))
			return false;
	return true;
}

/*
 * Whether the 2M block at @pfn may become a region of node @n: online
 * memory of the node, all of it in one zone the pool's allocations may use
 * (not ZONE_MOVABLE, whose memory must stay movable, nor ZONE_DMA), and
 * no other kernel mapping covers it.
 */
static bool sp_block_usable(struct sp_nodepool *n, unsigned long pfn)
{
	struct page *page = pfn_to_online_page(pfn);
	struct zone *zone;

	if (!page || page_to_nid(page) != n->nid)
		return false;
	zone = page_zone(page);
	if (zone_idx(zone) > gfp_zone(SP_REGION_GFP) ||
	    !zone_spans_pfn(zone, pfn + SP_REGION_PAGES - 1))
		return false;
#ifdef CONFIG_ZONE_DMA
	if (zone_idx(zone) == ZONE_DMA)
		return false;
#endif
	if (n->pool->block_ok && !n->pool->block_ok(pfn))
		return false;
	return !secretmem_page_aliased(page, SP_REGION_PAGES);
}

/*
 * Whether the 2M block at @pfn of node @n looks worth migrating empty: a
 * MOVABLE pageblock (alloc_contig_range() wants one, and leaves any
 * other kind MOVABLE when it fails), not one of the pool's own regions,
 * and every page free or movable: on an LRU list (the tail pages of a THP
 * say what their head says) or a driver's movable page, but not a secret
 * page (on an LRU, yet it never migrates).  Read without locks, as
 * sp_block_looks_free(): alloc_contig_range() checks again.  Reserved,
 * slab, page-table, hugetlb and other kernel pages say no.  The block is
 * online memory of the node's zone (sp_block_usable()).
 */
static bool sp_block_looks_movable(struct sp_nodepool *n, unsigned long pfn)
{
	unsigned long end = pfn + SP_REGION_PAGES;

	if (get_pageblock_migratetype(pfn_to_page(pfn)) != MIGRATE_MOVABLE ||
	    xa_load(&n->pool->regions, pfn >> SP_REGION_ORDER))
		return false;
	while (pfn < end) {
		struct page *page = pfn_to_page(pfn);

		if (PageBuddy(page)) {
			unsigned int order = buddy_order_unsafe(page);

			pfn += order < MAX_ORDER ? 1UL << order : 1;
			continue;
		}
		if (PageReserved(page) || PageHuge(page) ||
		    page_is_secretmem(page))
			return false;
		if (page_count(page) && !PageLRU(page) && !__PageMovable(page))
			return false;
		pfn++;
	}
	return true;
}

/*
 * A zeroed 2M block of node @n, split into order-0 pages, from the 1G
 * range @range (pfn >> SP_BLOCK_ORDER); NULL if none could be had within
 * *@tries (counted up) of SP_PACK_TRIES, ERR_PTR(-ENOMEM) if fault
 * injection failed it.  Unless @move, only blocks that look free are
 * tried; with @move, blocks whose pages are free or movable and that the
 * direct map does not cover with a 1G page (see "Making a block").
 * grow_lock held.
 */
static struct page *sp_range_take(struct sp_nodepool *n, unsigned long range,
				  unsigned int *tries, bool move)
{
#ifdef CONFIG_CONTIG_ALLOC
	unsigned long base = range << SP_BLOCK_ORDER;
	unsigned int j, k;

	lockdep_assert_held(&n->grow_lock);
	for (j = 0; j < SP_BLOCK_REGIONS; j++) {
		unsigned long pfn = base + j * SP_REGION_PAGES;
		struct page *page;

		if (!sp_block_usable(n, pfn))
			continue;
		if (!move && !sp_block_looks_free(pfn))
			continue;
		if (move &&
		    (n->pool->map_level(pfn_to_page(pfn)) == SP_LEVEL_1G ||
		     !sp_block_looks_movable(n, pfn)))
			continue;
		if ((*tries)++ >= SP_PACK_TRIES)
			return NULL;
		/*
		 * An order-9 allocation as any other: page-allocation fault
		 * injection (fail_page_alloc) reaches it, once, as it would
		 * the buddy path instead.
		 */
		if (should_fail_alloc_page(SP_REGION_GFP, SP_REGION_ORDER))
			return ERR_PTR(-ENOMEM);
		if (alloc_contig_range(pfn, pfn + SP_REGION_PAGES,
				       MIGRATE_MOVABLE, GFP_KERNEL | __GFP_NOWARN))
			continue;
		page = pfn_to_page(pfn);
		/* Unmovable from now on, as the buddy path marks it. */
		set_pageblock_migratetype(page, MIGRATE_UNMOVABLE);
		for (k = 0; k < SP_REGION_PAGES; k++)
			clear_highpage(page + k);
		return page;
	}
#endif
	return NULL;
}

/*
 * The 1G range of node @n to take a block from when the remembered split
 * ones have none (see above), in *@range, and whether the direct map
 * covers it with a 1G page (which taking a block splits) in *@whole.
 * False if no range of the node has a free, usable 2M block.  Looks at
 * each 2M block of the node once, without locks (a hint, as
 * sp_block_looks_free()).  May sleep.  grow_lock held.
 */
static bool sp_node_pick_range(struct sp_nodepool *n, unsigned long *range,
			       bool *whole)
{
	unsigned long start = node_start_pfn(n->nid);
	unsigned long end = node_end_pfn(n->nid);
	unsigned long base, pfn, best_free = 0;
	bool found = false;

	lockdep_assert_held(&n->grow_lock);
	for (base = ALIGN_DOWN(start, SP_BLOCK_PAGES); base < end;
	     base += SP_BLOCK_PAGES) {
		unsigned long nr_free = 0;
		bool is_whole = false;

		for (pfn = max(base, ALIGN(start, SP_REGION_PAGES));
		     pfn + SP_REGION_PAGES <= min(base + SP_BLOCK_PAGES, end);
		     pfn += SP_REGION_PAGES) {
			if (!sp_block_in_buddy(pfn) || !sp_block_usable(n, pfn))
				continue;
			if (!nr_free++)
				is_whole = n->pool->map_level(pfn_to_page(pfn)) ==
					   SP_LEVEL_1G;
		}
		cond_resched();
		if (!nr_free)
			continue;
		/* Split ranges first, then the one with the most free blocks. */
		if (!found || (*whole && !is_whole) ||
		    (*whole == is_whole && nr_free > best_free)) {
			found = true;
			*range = base >> SP_BLOCK_ORDER;
			*whole = is_whole;
			best_free = nr_free;
		}
	}
	return found;
}

/*
 * A 2M block of node @n made by migrating the movable pages out of it,
 * where that splits no 1G page (see "Making a block"); NULL if none,
 * ERR_PTR(-ENOMEM) if fault injection failed it.  May sleep.  grow_lock
 * held.
 */
static struct page *sp_node_make_block(struct sp_nodepool *n)
{
	unsigned long start = node_start_pfn(n->nid);
	unsigned long end = node_end_pfn(n->nid);
	unsigned long range, last;
	unsigned int i, tries = 0;
	struct page *page;

	lockdep_assert_held(&n->grow_lock);
	if (start >= end || time_before(jiffies, n->move_after))
		return NULL;
	for (i = n->nr_split; i-- > 0 && tries < SP_PACK_TRIES;) {
		page = sp_range_take(n, n->split[i], &tries, true);
		if (page)
			return page;
	}
	last = (end - 1) >> SP_BLOCK_ORDER;
	for (range = start >> SP_BLOCK_ORDER;
	     range <= last && tries < SP_PACK_TRIES; range++) {
		/* Looked at above. */
		if (sp_node_is_split(n, range))
			continue;
		page = sp_range_take(n, range, &tries, true);
		if (page)
			return page;
		cond_resched();
	}
	n->move_after = jiffies + SP_NEAR_HOLD;
	return NULL;
}

/*
 * A zeroed 2M block of node @n, split into order-0 pages, taken where the
 * direct map is split already or, failing that, made there by migration,
 * or, failing that, taken where a split costs least (see above);
 * *@packed says whether it came from a range that was split already,
 * *@moved whether pages were migrated out of it.  NULL if the page
 * allocator should choose, ERR_PTR(-ENOMEM) if fault injection failed
 * it, ERR_PTR(-EXDEV) if only a range that the direct map covers with a
 * 1G page has a free block and @may_split is false.  grow_lock held.
 */
static struct page *sp_node_take_placed(struct sp_nodepool *n, bool may_split,
					bool *packed, bool *moved)
{
	unsigned int i, tries = 0;
	unsigned long range;
	struct page *page;
	bool whole, found;

	lockdep_assert_held(&n->grow_lock);
	*packed = true;
	*moved = false;
	for (i = n->nr_split; i-- > 0 && tries < SP_PACK_TRIES;) {
		page = sp_range_take(n, n->split[i], &tries, false);
		if (page)
			return page;
	}
	found = sp_node_pick_range(n, &range, &whole);
	if (found && !whole) {
		tries = 0;
		page = sp_range_take(n, range, &tries, false);
		if (page)
			return page;
	}
	page = sp_node_make_block(n);
	if (page) {
		*moved = !IS_ERR(page);
		return page;
	}
	if (!found || !whole)
		return NULL;
	if (!may_split)
		return ERR_PTR(-EXDEV);
	*packed = false;
	tries = 0;
	return sp_range_take(n, range, &tries, false);
}

/*
 * An order-9 block of node @nid from the page allocator that no other
 * kernel mapping covers (secretmem_page_aliased()): one that does is
 * held while the next one is taken, then freed.  NULL if none.
 */
static struct page *sp_alloc_block(int nid)
{
	struct page *page, *held = NULL;

	for (;;) {
		page = alloc_pages_node(nid, SP_REGION_GFP, SP_REGION_ORDER);
		if (!page || !secretmem_page_aliased(page, SP_REGION_PAGES))
			break;
		if (held) {
			__free_pages(page, SP_REGION_ORDER);
			page = NULL;
			break;
		}
		held = page;
	}
	if (held)
		__free_pages(held, SP_REGION_ORDER);
	return page;
}

/*
 * Put @nr pages that an error path took out of the direct map back in.
 * If even that fails, they must never reach the page allocator: they are
 * kept for good (leaked, with their references) and reported.  Returns
 * true if they were kept.
 */
static bool sp_map_back_or_keep(struct page *page, unsigned int nr)
{
	if (!set_direct_map_valid_noflush(page, nr, true))
		return false;
	pr_err("cannot map %u pages at pfn %#lx back after an error; keeping them\n",
	       nr, page_to_pfn(page));
	return true;
}

/*
 * Add one region to node @nid unless, once this task holds the node's
 * grow_lock, the node already has @below or more free pages (another task
 * grew it while this one waited).  Unless @may_split, a block that the
 * direct map covers with a 1G page is not taken: -EXDEV (see "Keeping 1G
 * pages").  See sp_pool_grow().
 */
static int __sp_pool_grow(struct secretpool *pool, int nid, gfp_t gfp,
			  unsigned long below, bool may_split)
{
	struct sp_nodepool *n = pool->nodes[nid];
	unsigned int max = READ_ONCE(pool->params->max_regions);
	bool placed = false, packed = false, moved = false;
	unsigned long addr;
	struct sp_region *r;
	struct page *page;
	unsigned int i;
	int err;

	if (!gfpflags_allow_blocking(gfp))
		return -EAGAIN;
	/*
	 * A possible node may have no memory (yet): CPUs or hot-pluggable
	 * memory announced by the firmware for later.  The page allocator
	 * complains about allocations there; there is nothing to take.
	 */
	if (!node_state(nid, N_MEMORY))
		return -ENODEV;

	mutex_lock(&n->grow_lock);
	if (READ_ONCE(pool->frozen)) {
		err = -EBUSY;
		goto out;
	}
	if (READ_ONCE(n->nr_free) >= below) {
		err = 0;
		goto out;
	}
	if (max && sp_node_grown_regions(n) >= max) {
		err = -ENOSPC;
		goto out;
	}

	r = kzalloc_node(sizeof(*r), GFP_KERNEL, nid);
	if (!r) {
		err = -ENOMEM;
		goto out;
	}
	page = sp_node_take_placed(n, may_split, &packed, &moved);
	if (PTR_ERR_OR_ZERO(page) == -EXDEV)
		goto keep_1g;
	if (IS_ERR(page))
		page = NULL;
	else if (page)
		placed = true;
	else
		page = sp_alloc_block(nid);
	if (page && !placed && !may_split &&
	    pool->map_level(page) == SP_LEVEL_1G) {
		__free_pages(page, SP_REGION_ORDER);
		goto keep_1g;
	}
	if (!page) {
		atomic_long_inc(&n->grow_failed);
		kfree(r);
		err = -ENOMEM;
		goto out;
	}

	r->pfn = page_to_pfn(page);
	r->node = n;
	r->level_before = secretmem_direct_map_level(page);
	INIT_LIST_HEAD(&r->free);
	INIT_LIST_HEAD(&r->pending_link);

	/*
	 * 512 independent order-0 pages, each with refcount 1: the region's
	 * (alloc_contig_range() hands them out so already).
	 */
	if (!placed)
		split_page(page, SP_REGION_ORDER);

	err = set_direct_map_valid_noflush(page, SP_REGION_PAGES, false);
	if (err) {
		/* Undo whatever part of the range did change. */
		if (sp_map_back_or_keep(page, SP_REGION_PAGES))
			goto keep_block;
		goto free_block;
	}
	addr = (unsigned long)page_address(page);
	flush_tlb_kernel_range(addr, addr + SP_REGION_SIZE);
	r->level = secretmem_direct_map_level(page);
	if (r->level < SP_LEVEL_1G)
		sp_node_note_split(n, r->pfn);

	err = xa_insert(&pool->regions, r->pfn >> SP_REGION_ORDER, r,
			GFP_KERNEL);
	if (err) {
		if (sp_map_back_or_keep(page, SP_REGION_PAGES))
			goto keep_block;
		goto free_block;
	}

	/* Free pages: the region's reference and the hold. */
	for (i = 0; i < SP_REGION_PAGES; i++) {
		page_ref_inc(page + i);
		list_add_tail(&page[i].lru, &r->free);
	}
	r->nr_free = SP_REGION_PAGES;
	r->group = SP_GROUP_EMPTY;
	trace_secretpool_region_grow(pool->name, nid, r->pfn, SP_REGION_PAGES,
				     r->level_before, r->level, packed);

	spin_lock(&n->lock);
	list_add_tail(&r->list, &n->lists[SP_GROUP_EMPTY]);
	n->nr_regions++;
	n->nr_free += SP_REGION_PAGES;
	spin_unlock(&n->lock);

	WRITE_ONCE(n->last_grow, jiffies);
	/* The node can serve for itself again. */
	WRITE_ONCE(n->kept_until, jiffies);
	WRITE_ONCE(n->near, NUMA_NO_NODE);
	atomic_long_inc(&n->grown);
	sp_count(pool, SECRETPOOL_REGION_GROW, 1);
	if (packed)
		atomic_long_inc(&n->packed);
	if (moved)
		atomic_long_inc(&n->moved);
	mutex_unlock(&n->grow_lock);
	return 0;

keep_1g:
	/*
	 * Neither faults nor the worker look again for a while; the node
	 * that serves meanwhile is the one the next fault finds.
	 */
	WRITE_ONCE(n->near, NUMA_NO_NODE);
	WRITE_ONCE(n->kept_until, jiffies + SP_NEAR_HOLD);
	atomic_long_inc(&n->kept_1g);
	kfree(r);
	err = -EXDEV;
	goto out;
free_block:
	for (i = 0; i < SP_REGION_PAGES; i++)
		__free_page(page + i);
keep_block:
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
 * Return: 0 on success, -EAGAIN if @gfp may not sleep, -ENODEV if @nid has
 * no memory, -EBUSY while the pool is frozen, -ENOSPC at max_regions, -ENOMEM if no block (or no
 * memory for the region's bookkeeping) could be had, or the CPA error.
 */
int sp_pool_grow(struct secretpool *pool, int nid, gfp_t gfp)
{
	return __sp_pool_grow(pool, nid, gfp, ULONG_MAX, true);
}

/*
 * Make a region's pages present in the direct map again, except the
 * poisoned ones: the runs between them, one call each (one call, one PMD
 * entry, for a region without errors).  Making pages present needs no TLB
 * flush.  Returns 0 or the first CPA error.
 */
static int sp_region_map_back(struct sp_region *r)
{
	struct page *base = pfn_to_page(r->pfn);
	unsigned int start = 0, end;
	int err;

	for (;;) {
		start = find_next_zero_bit(r->poisoned, SP_REGION_PAGES, start);
		if (start >= SP_REGION_PAGES)
			return 0;
		end = find_next_bit(r->poisoned, SP_REGION_PAGES, start);
		err = set_direct_map_valid_noflush(base + start, end - start,
						   true);
		if (err)
			return err;
		start = end;
	}
}

/*
 * A region on its way out of the pool, and out of the region index: errors
 * on free pages that nobody took since they happened are found here.
 */
static void sp_region_unindex(struct secretpool *pool, struct sp_region *r)
{
	struct page *base = pfn_to_page(r->pfn);
	unsigned int i;

	xa_erase(&pool->regions, r->pfn >> SP_REGION_ORDER);
	for (i = 0; i < SP_REGION_PAGES; i++)
		if (PageHWPoison(base + i))
			__set_bit(i, r->poisoned);
}

/*
 * Give the pages of a region that left the pool and is mapped back to the
 * buddy allocator, all but the poisoned ones, which are retired.  Returns
 * the number retired.
 */
static unsigned int sp_region_free_pages(struct sp_region *r)
{
	struct page *base = pfn_to_page(r->pfn);
	unsigned int i, retired = 0;

	for (i = 0; i < SP_REGION_PAGES; i++) {
		if (test_bit(i, r->poisoned)) {
			/*
			 * Kept as the kernel keeps pages with memory errors
			 * (PG_hwpoison, which memory offlining skips), only
			 * with the pool's references.  It may hold a secret
			 * nobody could erase: see sp_pool_busy().
			 */
			retired++;
			continue;
		}
		/* The hold, then the region's reference. */
		page_ref_dec(base + i);
		put_page(base + i);
	}
	return retired;
}

/*
 * Map a region back and give its pages to the buddy allocator; every page
 * is free or poisoned.  Poisoned pages stay out of the direct map and are
 * retired (see "Lifetime of a page").  A region that cannot be mapped back
 * is kept on the node's stuck list instead.
 */
static bool sp_region_release(struct secretpool *pool, struct sp_region *r)
{
	struct sp_nodepool *n = r->node;
	unsigned int retired;

	sp_region_unindex(pool, r);
	if (sp_region_map_back(r)) {
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

	if (trace_secretpool_region_release_enabled())
		trace_secretpool_region_release(pool->name, n->nid, r->pfn,
						SP_REGION_PAGES, r->level,
						secretmem_direct_map_level(pfn_to_page(r->pfn)),
						!bitmap_empty(r->poisoned,
							      SP_REGION_PAGES));
	retired = sp_region_free_pages(r);
	kfree(r);
	atomic_long_add(retired, &n->retired);
	atomic_long_inc(&n->released);
	sp_count(pool, SECRETPOOL_REGION_RELEASE, 1);
	return true;
}

/**
 * sp_pool_shrink() - give empty regions of a node back
 * @pool: the pool
 * @nid: the node
 * @nr_pages: give back at most this many pages (rounded up to a region)
 * @keep: keep at least this many free pages on the node
 *
 * Only regions whose every page is on their free list (or poisoned) go;
 * pages in CPU caches keep their region (sp_pool_drain() first to include
 * them).  May sleep.
 *
 * Return: the number of pages given back.
 */
unsigned long sp_pool_shrink(struct secretpool *pool, int nid,
			     unsigned long nr_pages, unsigned long keep)
{
	struct sp_nodepool *n = pool->nodes[nid];
	struct sp_region *r, *tmp;
	unsigned long freed = 0;
	LIST_HEAD(dead);

	spin_lock(&n->lock);
	list_for_each_entry_safe(r, tmp, &n->lists[SP_GROUP_EMPTY], list) {
		if (freed >= nr_pages || n->nr_free < keep + r->nr_free)
			break;
		list_move(&r->list, &dead);
		n->nr_regions--;
		n->nr_releasing++;
		sp_node_free_add(n, r, -(long)r->nr_free);
		n->nr_poisoned -= r->nr_poisoned;
		freed += SP_REGION_PAGES;
	}
	spin_unlock(&n->lock);

	list_for_each_entry_safe(r, tmp, &dead, list) {
		list_del(&r->list);
		if (!sp_region_release(pool, r))
			freed -= SP_REGION_PAGES;
		spin_lock(&n->lock);
		n->nr_releasing--;
		spin_unlock(&n->lock);
		cond_resched();
	}
	trace_secretpool_shrink(pool->name, nid, nr_pages, keep, freed);
	return freed;
}

/* ---------------------------------------------------------------------
 * Blocks: 1G set aside at once
 * ---------------------------------------------------------------------
 */

/**
 * sp_pool_add_block() - give a pool a 1G block
 * @pool: the pool
 * @page: the first of SP_BLOCK_PAGES order-0 pages, SP_BLOCK_SIZE aligned,
 *	in the direct map, each with refcount 1 and owned by the caller
 * @boot: the block was set aside at boot (for the counters)
 *
 * Zeroes the block while it is still mapped, removes it from the direct
 * map with one call, which changes its one PUD entry where the direct map
 * uses a 1G page there (its 512 PMD entries where it uses 2M pages, its
 * PTEs where it uses 4K pages: nothing is split), flushes the TLB once and
 * puts the block's regions on the node's RESERVED list.  From then on the
 * pool owns the pages; they go back to the buddy allocator only with the
 * whole block (sp_pool_unreserve()).  May sleep.
 *
 * Return: 0, -EINVAL if @page is not aligned, -EBUSY while the pool is
 * frozen, -ENOMEM, or the CPA error; the pages are the caller's again, in
 * the direct map.  -EFAULT if the block could not even be mapped back
 * after an error: the pool keeps its pages for good (reported), and the
 * caller must not touch them.
 */
int sp_pool_add_block(struct secretpool *pool, struct page *page, bool boot)
{
	unsigned long pfn = page_to_pfn(page), addr;
	int nid = page_to_nid(page);
	struct sp_nodepool *n = pool->nodes[nid];
	struct sp_block *b;
	unsigned int i, j;
	int err;

	if (WARN_ON_ONCE(!IS_ALIGNED(pfn, SP_BLOCK_PAGES)))
		return -EINVAL;

	b = kzalloc_node(sizeof(*b), GFP_KERNEL, nid);
	if (!b)
		return -ENOMEM;
	b->regions = kvzalloc_node(array_size(SP_BLOCK_REGIONS,
					      sizeof(*b->regions)),
				   GFP_KERNEL, nid);
	if (!b->regions) {
		kfree(b);
		return -ENOMEM;
	}
	b->pfn = pfn;
	b->node = n;
	b->boot = boot;

	/* Free pages are zero; this is the last time the block is mapped. */
	for (i = 0; i < SP_BLOCK_PAGES; i++) {
		clear_highpage(page + i);
		if (!(i % SP_REGION_PAGES))
			cond_resched();
	}

	mutex_lock(&n->grow_lock);
	if (READ_ONCE(pool->frozen)) {
		err = -EBUSY;
		goto unlock;
	}

	b->level_before = secretmem_direct_map_level(page);
	err = set_direct_map_valid_noflush(page, SP_BLOCK_PAGES, false);
	if (err) {
		if (sp_map_back_or_keep(page, SP_BLOCK_PAGES))
			err = -EFAULT;
		goto unlock;
	}
	addr = (unsigned long)page_address(page);
	flush_tlb_kernel_range(addr, addr + SP_BLOCK_SIZE);
	b->level = secretmem_direct_map_level(page);

	for (i = 0; i < SP_BLOCK_REGIONS; i++) {
		struct sp_region *r = &b->regions[i];

		r->pfn = pfn + i * SP_REGION_PAGES;
		r->node = n;
		r->block = b;
		r->level_before = b->level_before;
		r->level = b->level;
		INIT_LIST_HEAD(&r->free);
		INIT_LIST_HEAD(&r->pending_link);
		err = xa_insert(&pool->regions, r->pfn >> SP_REGION_ORDER, r,
				GFP_KERNEL);
		if (err)
			goto unindex;
	}

	for (i = 0; i < SP_BLOCK_REGIONS; i++) {
		struct sp_region *r = &b->regions[i];
		struct page *base = pfn_to_page(r->pfn);

		/* Free pages: the region's reference and the hold. */
		for (j = 0; j < SP_REGION_PAGES; j++) {
			page_ref_inc(base + j);
			list_add_tail(&base[j].lru, &r->free);
		}
		r->nr_free = SP_REGION_PAGES;
		r->group = SP_GROUP_RESERVED;
	}
	trace_secretpool_block_add(pool->name, n->nid, pfn, SP_BLOCK_PAGES,
				   b->level_before, b->level, boot);

	spin_lock(&n->lock);
	for (i = 0; i < SP_BLOCK_REGIONS; i++)
		list_add_tail(&b->regions[i].list,
			      &n->lists[SP_GROUP_RESERVED]);
	b->nr_empty = SP_BLOCK_REGIONS;
	list_add_tail(&b->list, &n->blocks);
	n->nr_regions += SP_BLOCK_REGIONS;
	n->nr_blocks++;
	n->nr_free += SP_BLOCK_PAGES;
	n->nr_free_reserved += SP_BLOCK_PAGES;
	spin_unlock(&n->lock);
	mutex_unlock(&n->grow_lock);
	sp_count(pool, SECRETPOOL_BLOCK_ADD, 1);
	return 0;

unindex:
	while (i--)
		xa_erase(&pool->regions, b->regions[i].pfn >> SP_REGION_ORDER);
	if (sp_map_back_or_keep(page, SP_BLOCK_PAGES))
		err = -EFAULT;
unlock:
	mutex_unlock(&n->grow_lock);
	kvfree(b->regions);
	kfree(b);
	return err;
}

/*
 * Put a block that left the pool back in the direct map, all but its
 * poisoned pages.  Without poisoned pages that is one call for the whole
 * block, which restores its PUD entry as it was; with some, region by
 * region around them (the 1G mapping is lost then, as with any memory
 * error).  Returns 0 or the first CPA error.
 */
static int sp_block_map_back(struct sp_block *b)
{
	unsigned int i;
	int err;

	for (i = 0; i < SP_BLOCK_REGIONS; i++)
		if (!bitmap_empty(b->regions[i].poisoned, SP_REGION_PAGES))
			break;
	if (i == SP_BLOCK_REGIONS)
		return set_direct_map_valid_noflush(pfn_to_page(b->pfn),
						    SP_BLOCK_PAGES, true);

	for (i = 0; i < SP_BLOCK_REGIONS; i++) {
		err = sp_region_map_back(&b->regions[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Map a block back and give its pages to the buddy allocator; every page
 * is free or poisoned, and its regions are off the node's lists.  A block
 * that cannot be mapped back is kept, its regions on the stuck list.
 */
static bool sp_block_release(struct secretpool *pool, struct sp_block *b)
{
	struct sp_nodepool *n = b->node;
	unsigned long retired = 0;
	unsigned int i;

	for (i = 0; i < SP_BLOCK_REGIONS; i++)
		sp_region_unindex(pool, &b->regions[i]);

	if (sp_block_map_back(b)) {
		pr_warn_ratelimited("cannot map block at pfn %#lx back; keeping it\n",
				    b->pfn);
		spin_lock(&n->lock);
		for (i = 0; i < SP_BLOCK_REGIONS; i++)
			list_add(&b->regions[i].list, &n->stuck);
		n->nr_stuck += SP_BLOCK_REGIONS;
		spin_unlock(&n->lock);
		return false;
	}

	if (trace_secretpool_block_release_enabled()) {
		bool poisoned = false;

		for (i = 0; i < SP_BLOCK_REGIONS; i++)
			poisoned |= !bitmap_empty(b->regions[i].poisoned,
						  SP_REGION_PAGES);
		trace_secretpool_block_release(pool->name, n->nid, b->pfn,
					       SP_BLOCK_PAGES, b->level,
					       secretmem_direct_map_level(pfn_to_page(b->pfn)),
					       poisoned);
	}
	for (i = 0; i < SP_BLOCK_REGIONS; i++) {
		retired += sp_region_free_pages(&b->regions[i]);
		cond_resched();
	}
	atomic_long_add(retired, &n->retired);
	kvfree(b->regions);
	kfree(b);
	sp_count(pool, SECRETPOOL_BLOCK_RELEASE, 1);
	return true;
}

/**
 * sp_pool_unreserve() - give blocks of a node back
 * @pool: the pool
 * @nid: the node
 * @nr: give back at most this many blocks
 *
 * Only blocks whose every page is on a free list (or poisoned) go; pages
 * in CPU caches keep their block (sp_pool_drain() first to include them).
 * A block goes back whole: mapped back with one call, which restores its
 * 1G entry (around poisoned pages, which stay out, region by region), and
 * its pages given to the buddy allocator.  May sleep.
 *
 * Return: the number of blocks given back.
 */
unsigned int sp_pool_unreserve(struct secretpool *pool, int nid,
			       unsigned int nr)
{
	struct sp_nodepool *n = pool->nodes[nid];
	struct sp_block *b, *tmp;
	unsigned int picked = 0, done = 0, i;
	LIST_HEAD(dead);

	spin_lock(&n->lock);
	list_for_each_entry_safe(b, tmp, &n->blocks, list) {
		if (picked >= nr)
			break;
		if (b->nr_empty != SP_BLOCK_REGIONS)
			continue;
		list_move(&b->list, &dead);
		for (i = 0; i < SP_BLOCK_REGIONS; i++) {
			struct sp_region *r = &b->regions[i];

			list_del(&r->list);
			sp_node_free_add(n, r, -(long)r->nr_free);
			n->nr_poisoned -= r->nr_poisoned;
		}
		n->nr_regions -= SP_BLOCK_REGIONS;
		n->nr_blocks--;
		n->nr_releasing += SP_BLOCK_REGIONS;
		picked++;
	}
	spin_unlock(&n->lock);

	list_for_each_entry_safe(b, tmp, &dead, list) {
		list_del(&b->list);
		done += sp_block_release(pool, b);
		spin_lock(&n->lock);
		n->nr_releasing -= SP_BLOCK_REGIONS;
		spin_unlock(&n->lock);
	}
	return done;
}

/**
 * sp_pool_take_block() - take a new block for a node from the page allocator
 * @pool: the pool
 * @nid: the node
 *
 * Takes a free 1G-aligned range of the node's ZONE_NORMAL with
 * alloc_contig_pages() (which moves movable pages out of the way) and
 * gives it to the pool with sp_pool_add_block().  The low zones are left
 * alone: a block is 1G of them for good.  May sleep, for long.
 *
 * Return: 0, -EOPNOTSUPP without CONFIG_CONTIG_ALLOC or where blocks are
 * not 1G, -ENOMEM if no range could be had, or sp_pool_add_block()'s
 * error.
 */
int sp_pool_take_block(struct secretpool *pool, int nid)
{
#ifdef CONFIG_CONTIG_ALLOC
	struct page *page;
	int err;

	if (!sp_blocks_supported())
		return -EOPNOTSUPP;
	page = alloc_contig_pages(SP_BLOCK_PAGES, GFP_KERNEL | __GFP_THISNODE |
				  __GFP_NOWARN, nid, NULL);
	if (!page)
		return -ENOMEM;
	if (page_zonenum(page) != ZONE_NORMAL) {
		free_contig_range(page_to_pfn(page), SP_BLOCK_PAGES);
		return -ENOMEM;
	}
	err = sp_pool_add_block(pool, page, false);
	if (err && err != -EFAULT)
		free_contig_range(page_to_pfn(page), SP_BLOCK_PAGES);
	return err;
#else
	return -EOPNOTSUPP;
#endif
}

/**
 * sp_pool_nr_blocks() - how many blocks a node's pool holds
 * @pool: the pool
 * @nid: the node
 *
 * Return: the number of blocks on the node's list.
 */
unsigned long sp_pool_nr_blocks(struct secretpool *pool, int nid)
{
	return READ_ONCE(pool->nodes[nid]->nr_blocks);
}

/* ---------------------------------------------------------------------
 * Pages coming back
 * ---------------------------------------------------------------------
 */

/*
 * Clear what a page's time in a file left in struct page, as the page
 * allocator does on free.  The flags are cleared with one atomic update,
 * so that a PG_hwpoison set meanwhile by memory_failure() is kept.
 */
static void sp_page_clear_state(struct page *page)
{
	struct folio *folio = page_folio(page);
	unsigned long flags;

	if (folio_test_clear_mlocked(folio)) {
		zone_stat_mod_folio(folio, NR_MLOCK, -1);
		count_vm_event(UNEVICTABLE_PGCLEARED);
	}
	page->mapping = NULL;
	set_page_private(page, 0);
	flags = READ_ONCE(page->flags);
	while (!try_cmpxchg(&page->flags, &flags,
			    flags & ~PAGE_FLAGS_CHECK_AT_PREP))
		;
}

enum sp_verdict {
	SP_NOT_READY,		/* someone else still has it: stays pending */
	SP_FREED,		/* zero and clean: back on the free list */
	SP_POISONED,		/* memory error: kept out for good */
};

/* Take a page the pool owns off the LRU; false if someone else has it. */
static bool sp_page_off_lru(struct folio *folio)
{
	if (!folio_test_lru(folio))
		return true;
	if (folio_isolate_lru(folio))
		return false;
	/* The LRU code's reference from the isolation. */
	folio_put(folio);
	return true;
}

/* The verdict on a pending page with PG_hwpoison. */
static enum sp_verdict sp_page_recycle_poisoned(struct page *page)
{
	struct folio *folio = page_folio(page);
	bool off;

	/*
	 * Never zero a poisoned page or wait for its refcount:
	 * memory_failure() keeps a reference to it for good.  The page lock
	 * keeps memory_failure()'s own taking the page off the LRU and
	 * uncharging it from running at the same time.
	 */
	if (!folio_trylock(folio))
		return SP_NOT_READY;
	off = sp_page_off_lru(folio);
	if (off)
		mem_cgroup_uncharge(folio);
	folio_unlock(folio);
	return off ? SP_POISONED : SP_NOT_READY;
}

#if IS_ENABLED(CONFIG_SECRETMEM_POOL_KUNIT_TEST)
/* KUnit: what others do to a batch's pages between zeroing and freezing. */
void (*sp_test_recycle_hook)(struct page **batch, unsigned int nr);
#endif

/*
 * Make the pending pages of @batch free that only the pool's references
 * hold any more, and say in @verdict what became of each.
 *
 * In steps, each over the whole batch, so that the local TLB is flushed
 * and the LRU lock taken once per batch rather than once per page:
 *
 *   1. a page nobody else holds or has locked is zeroed, still on the LRU
 *      (see "Lifetime of a page"), through a slot of the window of its own;
 *   2. its refcount is frozen to zero, which keeps out anyone who would
 *      get the page speculatively (compaction, memory_failure(), an LRU
 *      isolation; some lock it); a page somebody got since step 1 stays
 *      pending, zeroed, and is looked at again;
 *   3. the frozen pages leave the LRU, under one lruvec lock as long as
 *      they share one.  Only after the freeze: before it, an isolation
 *      could have cleared PG_lru, put the page back and dropped its
 *      reference in between, and the page would be freed while on an LRU;
 *   4. their memcg charges (one batch) and their flags (PG_locked
 *      included) are cleared, and they are unfrozen.
 *
 * A poisoned page is never zeroed; it is dealt with on its own, after the
 * lruvec lock is dropped (sp_page_recycle_poisoned() may take it).
 * Preemption is off while the batch is zeroed: up to SP_RECYCLE_BATCH
 * clear_page() calls.
 */
static void sp_batch_recycle(struct page **batch, u8 *verdict,
			     unsigned int nr)
{
	struct lruvec *lruvec = NULL;
	unsigned int i, slot = 0;
	LIST_HEAD(uncharge);

	preempt_disable();
	for (i = 0; i < nr; i++) {
		struct page *page = batch[i];

		if (unlikely(PageHWPoison(page))) {
			verdict[i] = SP_POISONED;
			continue;
		}
		if (page_ref_count(page) != SP_REFS_IDLE || PageLocked(page)) {
			verdict[i] = SP_NOT_READY;
			continue;
		}
		clear_page(sp_window_map(slot++, page));
		verdict[i] = SP_FREED;
	}
	if (slot)
		sp_window_unmap(slot);
	preempt_enable();

#if IS_ENABLED(CONFIG_SECRETMEM_POOL_KUNIT_TEST)
	if (sp_test_recycle_hook)
		sp_test_recycle_hook(batch, nr);
#endif
	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(batch[i]);

		if (verdict[i] != SP_FREED)
			continue;
		if (!page_ref_freeze(batch[i], SP_REFS_IDLE)) {
			verdict[i] = SP_NOT_READY;
			continue;
		}
		/* Frozen: nobody else can isolate it, or have isolated it. */
		if (folio_test_clear_lru(folio)) {
			lruvec = folio_lruvec_relock_irq(folio, lruvec);
			lruvec_del_folio(lruvec, folio);
		}
		list_add_tail(&folio->lru, &uncharge);
	}
	if (lruvec)
		unlock_page_lruvec_irq(lruvec);
	mem_cgroup_uncharge_list(&uncharge);
	for (i = 0; i < nr; i++) {
		if (verdict[i] != SP_FREED)
			continue;
		sp_page_clear_state(batch[i]);
		page_ref_unfreeze(batch[i], SP_REFS_IDLE);
	}

	for (i = 0; i < nr; i++)
		if (verdict[i] == SP_POISONED)
			verdict[i] = sp_page_recycle_poisoned(batch[i]);
}

/*
 * Pick up to @max pending pages of node @n that look ready (or poisoned),
 * looking at no more than SP_RECYCLE_SCAN of them, and clear their pending
 * bits.  Each region is looked at from where the previous look stopped,
 * and goes to the back of the node's list afterwards.
 */
static unsigned int sp_node_collect(struct sp_nodepool *n, struct page **batch,
				    unsigned int max, unsigned int *scanned)
{
	unsigned int got = 0, seen = 0;

	spin_lock(&n->lock);
	while (got < max && seen < SP_RECYCLE_SCAN && !list_empty(&n->pending)) {
		struct sp_region *r = list_first_entry(&n->pending,
				struct sp_region, pending_link);
		unsigned int look = min(r->nr_pending, SP_RECYCLE_SCAN - seen);
		unsigned int i = r->scan;

		list_move_tail(&r->pending_link, &n->pending);
		while (look-- && got < max) {
			struct page *page;

			i = find_next_bit(r->pending, SP_REGION_PAGES, i);
			if (i >= SP_REGION_PAGES)
				i = find_first_bit(r->pending, SP_REGION_PAGES);
			page = pfn_to_page(r->pfn + i);
			seen++;
			if (PageHWPoison(page) ||
			    (page_ref_count(page) == SP_REFS_IDLE &&
			     !PageLocked(page))) {
				/*
				 * Out of the bitmap, but still counted in
				 * n->nr_pending until its verdict is in.
				 */
				__clear_bit(i, r->pending);
				r->nr_pending--;
				batch[got++] = page;
			}
			i = (i + 1) % SP_REGION_PAGES;
		}
		r->scan = i;
		if (!r->nr_pending)
			list_del_init(&r->pending_link);
	}
	spin_unlock(&n->lock);
	if (scanned)
		*scanned = seen;
	return got;
}

/* Set a page's bit in its region's pending bitmap.  Node lock held. */
static bool sp_region_set_pending(struct sp_nodepool *n, struct sp_region *r,
				  struct page *page)
{
	lockdep_assert_held(&n->lock);
	if (WARN_ON_ONCE(__test_and_set_bit(sp_index(r, page), r->pending)))
		return false;
	r->nr_pending++;
	if (r->nr_pending == 1)
		list_add_tail(&r->pending_link, &n->pending);
	return true;
}

/* Mark a page pending.  Node lock held. */
static void sp_region_pend_locked(struct sp_nodepool *n, struct sp_region *r,
				  struct page *page)
{
	if (sp_region_set_pending(n, r, page))
		n->nr_pending++;
}

/* One pass making at most @max pages free; @batch and @verdict hold @max. */
static unsigned int __sp_pool_recycle(struct secretpool *pool, int nid,
				      struct page **batch, u8 *verdict,
				      unsigned int max, unsigned int *scanned)
{
	struct sp_nodepool *n = pool->nodes[nid];
	unsigned int got, i, done = 0;

	if (!READ_ONCE(n->nr_pending)) {
		if (scanned)
			*scanned = 0;
		return 0;
	}

	got = sp_node_collect(n, batch, max, scanned);
	sp_batch_recycle(batch, verdict, got);

	spin_lock(&n->lock);
	for (i = 0; i < got; i++) {
		struct sp_region *r = sp_pool_region_of(pool, batch[i]);

		/* Counted as pending all along (see sp_node_collect()). */
		switch (verdict[i]) {
		case SP_NOT_READY:
			/* Not counted twice, should its bit be set again. */
			if (!sp_region_set_pending(n, r, batch[i]))
				n->nr_pending--;
			break;
		case SP_FREED:
			n->nr_pending--;
			sp_region_put_locked(n, r, batch[i]);
			done++;
			break;
		case SP_POISONED:
			n->nr_pending--;
			sp_region_poison_locked(n, r, batch[i]);
			done++;
			break;
		}
	}
	spin_unlock(&n->lock);
	atomic_long_add(done, &n->recycled);
	sp_count(pool, SECRETPOOL_RECYCLE, done);
	trace_secretpool_recycle(pool->name, nid, got, done,
				 READ_ONCE(n->nr_pending));
	return done;
}

/**
 * sp_pool_recycle() - one bounded pass over a node's pending pages
 * @pool: the pool
 * @nid: the node
 * @scanned: if not NULL, set to the number of pending pages looked at
 *
 * Looks at no more than SP_RECYCLE_SCAN pending pages under the node's
 * lock and makes at most SP_RECYCLE_BATCH of them free (reset, zeroed, on
 * their regions' free lists) or poisoned; the others stay pending.  Does
 * not sleep.
 *
 * Return: the number of pages that stopped being pending.
 */
unsigned int sp_pool_recycle(struct secretpool *pool, int nid,
			     unsigned int *scanned)
{
	struct page *batch[SP_RECYCLE_BATCH];
	u8 verdict[SP_RECYCLE_BATCH];

	return __sp_pool_recycle(pool, nid, batch, verdict, SP_RECYCLE_BATCH,
				 scanned);
}

/*
 * The fault path's pass: enough for a CPU cache's refill, on a smaller
 * stack, and a shorter stretch without preemption, than the worker's.
 */
static unsigned int sp_fault_recycle(struct secretpool *pool, int nid)
{
	struct page *batch[SP_RECYCLE_FAULT_BATCH];
	u8 verdict[SP_RECYCLE_FAULT_BATCH];

	return __sp_pool_recycle(pool, nid, batch, verdict,
				 SP_RECYCLE_FAULT_BATCH, NULL);
}

/*
 * Recycle what is ready on a node: bounded passes, with cond_resched() in
 * between, until every page that was pending at the start has been looked
 * at once.  May sleep.  Returns the number of pages no longer pending.
 */
static unsigned long sp_node_recycle_all(struct secretpool *pool, int nid)
{
	unsigned long todo = READ_ONCE(pool->nodes[nid]->nr_pending);
	unsigned long seen = 0, done = 0;
	unsigned int scanned;

	while (seen < todo) {
		done += sp_pool_recycle(pool, nid, &scanned);
		if (!scanned)
			break;
		seen += scanned;
		cond_resched();
	}
	return done;
}

/*
 * Run the node's background work: at once (@delay 0, to grow or shrink), or
 * after @delay jiffies unless it is queued already (to recycle pages).
 */
static void sp_node_kick(struct sp_nodepool *n, unsigned long delay)
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
 * If @folio is one of the pool's pages, the pool takes its hold on the page
 * again and marks it pending; sp_pool_recycle() makes it free once the
 * pool's references are the only ones left.  The page is not mapped
 * anywhere any more, so its contents stay out of reach until they are
 * zeroed.
 *
 * Return: true if the pool took the page, false if it is not the pool's.
 */
bool sp_pool_release_folio(struct secretpool *pool, struct folio *folio)
{
	struct sp_region *r = sp_pool_region_of(pool, &folio->page);
	struct sp_nodepool *n;

	if (!r)
		return false;

	VM_WARN_ON_ONCE_FOLIO(folio_test_large(folio), folio);
	VM_WARN_ON_ONCE_FOLIO(folio_mapped(folio), folio);
	/* The region's reference and the page cache's, which goes next. */
	VM_WARN_ON_ONCE_FOLIO(folio_ref_count(folio) < 2, folio);
	folio_get(folio);

	n = r->node;
	spin_lock(&n->lock);
	sp_region_pend_locked(n, r, &folio->page);
	spin_unlock(&n->lock);
	atomic_long_dec(&n->in_use);

	/* New pages are looked at soon, whatever the backoff was. */
	if (n->pool->params->background &&
	    READ_ONCE(n->recycle_delay) > SP_RECYCLE_DELAY) {
		WRITE_ONCE(n->recycle_delay, SP_RECYCLE_DELAY);
		mod_delayed_work(system_unbound_wq, &n->work, SP_RECYCLE_DELAY);
	} else {
		sp_node_kick(n, SP_RECYCLE_DELAY);
	}
	return true;
}

/**
 * sp_pool_free() - give back a page that was never exposed
 * @pool: the pool
 * @page: a page from sp_pool_alloc(), never mapped, whose reference from
 *	sp_pool_alloc() the caller gives back
 *
 * For the caller's error paths.  The page is reset and zeroed (the caller
 * may have written to it) and is free again at once.
 *
 * Return: true if the pool took the page, false if it is not the pool's.
 */
bool sp_pool_free(struct secretpool *pool, struct page *page)
{
	struct sp_region *r = sp_pool_region_of(pool, page);
	struct sp_nodepool *n;

	if (!r)
		return false;

	/* The caller's reference becomes the hold again. */
	VM_WARN_ON_ONCE_PAGE(page_ref_count(page) != SP_REFS_IDLE, page);
	VM_WARN_ON_ONCE_PAGE(page_mapped(page) || PageLRU(page), page);

	n = r->node;
	atomic_long_dec(&n->in_use);
	mem_cgroup_uncharge(page_folio(page));
	sp_page_clear_state(page);
	if (!PageHWPoison(page))
		sp_page_zero(page);

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
	struct sp_nodepool *n;
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
 * sp_pool_drain_cpu() - empty one CPU's cache into its regions
 * @pool: the pool
 * @cpu: the CPU (online or not)
 */
void sp_pool_drain_cpu(struct secretpool *pool, unsigned int cpu)
{
	struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

	spin_lock(&pcp->lock);
	sp_pcp_drain_locked(pool, pcp);
	spin_unlock(&pcp->lock);
}

/**
 * sp_pool_drain() - empty the CPU caches and recycle what is ready
 * @pool: the pool
 * @nid: the node whose pages to drain, or NUMA_NO_NODE for all of them
 *
 * Empties every CPU cache holding pages of @nid and recycles every pending
 * page of @nid that is ready.  May sleep.
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
		sp_node_recycle_all(pool, nid);
		return;
	}
	for_each_node(nid)
		sp_node_recycle_all(pool, nid);
}

/* Take a page that turned out poisoned in a CPU cache out of use. */
static void sp_pcp_poisoned(struct secretpool *pool, struct sp_pcp *pcp,
			    struct page *page)
{
	struct sp_nodepool *n = pool->nodes[pcp->nid];

	spin_lock(&n->lock);
	sp_region_poison_locked(n, sp_pool_region_of(pool, page), page);
	spin_unlock(&n->lock);
}

/* The fast path: a page of node @nid from this CPU's cache. */
static struct page *sp_pcp_alloc(struct secretpool *pool, int nid)
{
	unsigned int batch = READ_ONCE(pool->params->pcp_batch);
	struct page *page = NULL;
	struct sp_pcp *pcp;
	struct sp_nodepool *n;
	unsigned int cpu;

	if (!READ_ONCE(pool->params->pcp_high) || !batch)
		return NULL;

	/*
	 * If the task moves to another CPU after this, it uses that CPU's
	 * cache under its lock, which is still correct, only not local; but
	 * it must not fill the cache of a CPU that went offline meanwhile
	 * (its cache was emptied when it died, under this lock).
	 */
	cpu = raw_smp_processor_id();
	pcp = per_cpu_ptr(pool->pcp, cpu);
	spin_lock(&pcp->lock);
	if (unlikely(!cpu_online(cpu)))
		goto out;
	/*
	 * Pages of another node (another policy ran on this CPU, or keep_1g
	 * served this CPU's node from elsewhere for a while) go back to
	 * their regions rather than stay here, where nothing would take
	 * them and their regions could never be given back.
	 */
	if (pcp->count && pcp->nid != nid)
		sp_pcp_drain_locked(pool, pcp);
	if (!pcp->count) {
		n = pool->nodes[nid];
		spin_lock(&n->lock);
		pcp->count = sp_node_take_locked(pool, n, &pcp->pages, batch);
		if (n->nr_free < READ_ONCE(pool->params->low_watermark))
			sp_node_kick(n, 0);
		spin_unlock(&n->lock);
		pcp->nid = nid;
	}
	while (pcp->count) {
		page = list_first_entry(&pcp->pages, struct page, lru);
		list_del(&page->lru);
		pcp->count--;
		if (likely(!PageHWPoison(page)))
			break;
		sp_pcp_poisoned(pool, pcp, page);
		page = NULL;
	}
out:
	spin_unlock(&pcp->lock);
	return page;
}

/* ---------------------------------------------------------------------
 * Allocation
 * ---------------------------------------------------------------------
 */

/* May an allocation with @nodemask and @gfp use node @nid? */
static bool sp_node_allowed(int nid, const nodemask_t *nodemask, gfp_t gfp)
{
	if (!node_state(nid, N_MEMORY))
		return false;
	if (nodemask && !node_isset(nid, *nodemask))
		return false;
	return cpuset_node_allowed(nid, gfp);
}

/*
 * A walk over the nodes of @nid's fallback order other than @nid, each
 * once, nearest first.  The zonelist lists a node's zones next to each
 * other, so a node is skipped when it is the one just seen: nothing of
 * size MAX_NUMNODES goes on the stack.
 */
struct sp_fallback {
	struct zoneref *z;
	int nid;
	int last;
};

static void sp_fallback_start(struct sp_fallback *it, int nid)
{
	it->z = first_zones_zonelist(node_zonelist(nid, GFP_KERNEL),
				     MAX_NR_ZONES - 1, NULL);
	it->nid = nid;
	it->last = nid;
}

static int sp_fallback_next(struct sp_fallback *it)
{
	struct zone *zone;

	while ((zone = zonelist_zone(it->z))) {
		int other = zone_to_nid(zone);

		it->z = next_zones_zonelist(it->z + 1, MAX_NR_ZONES - 1, NULL);
		if (other == it->last)
			continue;
		it->last = other;
		if (other != it->nid)
			return other;
	}
	return NUMA_NO_NODE;
}

/*
 * Why growing a node failed, for the fallback event: @err of
 * __sp_pool_grow(), or 0 when it grew but others took the pages.
 */
static int sp_fallback_reason(int err)
{
	switch (err) {
	case 0:
		return SECRETPOOL_FB_RACED;
	case -EAGAIN:
		return SECRETPOOL_FB_NO_SLEEP;
	case -EBUSY:
		return SECRETPOOL_FB_FROZEN;
	case -ENOSPC:
		return SECRETPOOL_FB_MAX_REGIONS;
	case -ENOMEM:
	case -ENODEV:
		return SECRETPOOL_FB_NO_BLOCK;
	default:
		return SECRETPOOL_FB_CPA;
	}
}

/*
 * Try to grow node @nid (splitting a 1G page of the direct map only if
 * @may_split) and take a page of the new region.  On failure *@err is
 * what __sp_pool_grow() said, or 0 if others took the new pages.
 */
static struct page *sp_grow_and_take(struct secretpool *pool, int nid,
				     gfp_t gfp, bool may_split, int *err)
{
	struct page *page;
	int tries;

	/*
	 * Other tasks may take the new region's pages before this one
	 * does; grow again then, a few times, before moving on.
	 */
	for (tries = 0; tries < 3; tries++) {
		*err = __sp_pool_grow(pool, nid, gfp, 1, may_split);
		if (*err)
			break;
		page = sp_node_take_one(pool, pool->nodes[nid]);
		if (page)
			return page;
	}
	return NULL;
}

/*
 * Whether node @n was found, less than SP_NEAR_HOLD ago, to be able to
 * grow only by splitting a 1G page (see "Keeping 1G pages").
 */
static bool sp_node_kept(struct sp_nodepool *n)
{
	return time_before(jiffies, READ_ONCE(n->kept_until));
}

/*
 * The node that serves @n's allocations naming no node, or NUMA_NO_NODE:
 * only while @n is kept and has no free page of its own (one that a named
 * allocation's growth left, say, or that came back).
 */
static int sp_node_near(struct sp_nodepool *n)
{
	if (READ_ONCE(n->nr_free) || !sp_node_kept(n))
		return NUMA_NO_NODE;
	return READ_ONCE(n->near);
}

/*
 * Another allowed node's page for an allocation on @nid: from their
 * regions, then from a new region on one of them (one that splits no 1G
 * page unless @may_split), nearest first.  Counted remote on @nid.
 */
static struct page *sp_alloc_remote(struct secretpool *pool, int nid,
				    const nodemask_t *nodemask, gfp_t gfp,
				    bool may_split)
{
	struct sp_fallback it;
	struct page *page;
	int other, err;

	sp_fallback_start(&it, nid);
	while ((other = sp_fallback_next(&it)) != NUMA_NO_NODE) {
		if (!sp_node_allowed(other, nodemask, gfp))
			continue;
		sp_fault_recycle(pool, other);
		page = sp_node_take_one(pool, pool->nodes[other]);
		if (page)
			goto found;
	}

	sp_fallback_start(&it, nid);
	while ((other = sp_fallback_next(&it)) != NUMA_NO_NODE) {
		if (!sp_node_allowed(other, nodemask, gfp))
			continue;
		page = sp_grow_and_take(pool, other, gfp, may_split, &err);
		if (page)
			goto found;
	}
	return NULL;
found:
	atomic_long_inc(&pool->nodes[nid]->remote);
	return page;
}

/*
 * Everything but this CPU's cache.  With @keep, growths split no 1G page
 * until no allowed node can grow otherwise (see "Keeping 1G pages").
 * *@src says where the page came from; without one, *@reason says why
 * the wanted node could not grow.
 */
static struct page *sp_alloc_slow(struct secretpool *pool, int nid,
				  const nodemask_t *nodemask, gfp_t gfp,
				  bool keep, int *src, int *reason)
{
	struct sp_nodepool *n = pool->nodes[nid];
	bool kept = false;
	struct page *page;
	int err = -EXDEV;

	/* Some pages that came back to this node may be ready by now. */
	sp_fault_recycle(pool, nid);
	*src = SECRETPOOL_SRC_NODE;
	page = sp_node_take_one(pool, n);
	if (page)
		return page;

	/*
	 * The node first, as the page allocator would: another node's
	 * pages only when this one cannot grow (no 2M block, max_regions,
	 * or a caller that may not sleep; with @keep, a 1G split).  While
	 * the node is kept, it is known to need one: not looked at again.
	 */
	*src = SECRETPOOL_SRC_GROW;
	if (!keep || !sp_node_kept(n)) {
		page = sp_grow_and_take(pool, nid, gfp, !keep, &err);
		if (page)
			return page;
	}
	kept = keep && sp_node_kept(n);
	*reason = sp_fallback_reason(err);

	*src = SECRETPOOL_SRC_REMOTE;
	page = sp_alloc_remote(pool, nid, nodemask, gfp, !keep);
	if (page) {
		/* The CPU cache fills from there while the node is kept. */
		if (kept)
			WRITE_ONCE(n->near, page_to_nid(page));
		return page;
	}
	if (!keep)
		return NULL;

	/* No node can grow without a split: this one splits first. */
	*src = SECRETPOOL_SRC_GROW;
	page = sp_grow_and_take(pool, nid, gfp, true, &err);
	if (page)
		return page;
	*reason = sp_fallback_reason(err);
	*src = SECRETPOOL_SRC_REMOTE;
	return sp_alloc_remote(pool, nid, nodemask, gfp, true);
}

/* The first node an allocation for @nid may use, or NUMA_NO_NODE. */
static int sp_first_allowed(int nid, const nodemask_t *nodemask, gfp_t gfp)
{
	struct sp_fallback it;
	int other;

	if (sp_node_allowed(nid, nodemask, gfp))
		return nid;
	sp_fallback_start(&it, nid);
	while ((other = sp_fallback_next(&it)) != NUMA_NO_NODE)
		if (sp_node_allowed(other, nodemask, gfp))
			return other;
	return NUMA_NO_NODE;
}

/**
 * sp_pool_alloc() - a zeroed page that is not in the direct map
 * @pool: the pool
 * @nid: the node to allocate on, or NUMA_NO_NODE for the current CPU's
 *	(the caller names none: with keep_1g, another node's page is
 *	taken rather than a 1G page of the direct map split, see
 *	"Keeping 1G pages")
 * @nodemask: the nodes the allocation may use, or NULL for any node; the
 *	caller's cpuset narrows it further for __GFP_HARDWALL allocations
 * @gfp: allocation context; growing the pool needs one that may sleep
 *
 * If @nid itself may not be used, the allocation is for the first node in
 * @nid's fallback order that may, as the page allocator does.  The page is
 * order 0, not compound, zero, absent from the direct map and off every
 * LRU, with refcount 2: the pool keeps one reference for the page's whole
 * life, the other now belongs to the caller.  See the top of this file for
 * the order in which nodes and sources are tried.
 *
 * Return: the page, or NULL if the pool could not serve (counted as a
 * fallback on the node).
 */
struct page *sp_pool_alloc(struct secretpool *pool, int nid,
			   const nodemask_t *nodemask, gfp_t gfp)
{
	int src = SECRETPOOL_SRC_PCP, reason = SECRETPOOL_FB_RACED;
	bool keep = nid == NUMA_NO_NODE && READ_ONCE(pool->params->keep_1g);
	struct page *page = NULL;
	int want, near;

	if (nid == NUMA_NO_NODE || !node_state(nid, N_MEMORY))
		nid = numa_mem_id();
	want = sp_first_allowed(nid, nodemask, gfp);

	if (want == NUMA_NO_NODE) {
		reason = SECRETPOOL_FB_NO_NODE;
	} else if (READ_ONCE(pool->frozen)) {
		reason = SECRETPOOL_FB_FROZEN;
	} else {
		nid = want;
		near = keep ? sp_node_near(pool->nodes[nid]) : NUMA_NO_NODE;
		if (near != NUMA_NO_NODE && sp_node_allowed(near, nodemask, gfp)) {
			/* From the CPU cache, filled from the node serving. */
			page = sp_pcp_alloc(pool, near);
			if (page) {
				atomic_long_inc(&pool->nodes[nid]->remote);
				src = SECRETPOOL_SRC_REMOTE;
			}
		} else {
			page = sp_pcp_alloc(pool, nid);
		}
		if (!page)
			page = sp_alloc_slow(pool, nid, nodemask, gfp, keep,
					     &src, &reason);
	}
	if (!page) {
		atomic_long_inc(&pool->nodes[nid]->fallback);
		trace_secretpool_fallback(pool->name, nid, reason);
		return NULL;
	}
	trace_secretpool_alloc(pool->name, nid, page_to_pfn(page),
			       page_to_nid(page), src);

	/*
	 * The hold is the caller's reference from now on.  Nothing takes a
	 * speculative reference to a page off every LRU and out of the
	 * buddy allocator: anything more is a leaked one.
	 */
	VM_WARN_ON_ONCE_PAGE(page_ref_count(page) != SP_REFS_IDLE, page);
	atomic_long_inc(&pool->nodes[page_to_nid(page)]->in_use);
	return page;
}

/* ---------------------------------------------------------------------
 * Hibernation
 * ---------------------------------------------------------------------
 */

/**
 * sp_pool_busy() - whether a pool holds pages it cannot give back now
 * @pool: the pool
 *
 * Return: true if a page is in use or pending, a region could not be
 * mapped back, or a poisoned page was retired; free pages do not count,
 * reserved ones included (sp_pool_freeze() gives them back).
 */
bool sp_pool_busy(struct secretpool *pool)
{
	int nid;

	for_each_node(nid) {
		struct sp_nodepool *n = pool->nodes[nid];

		/*
		 * A retired page may hold a secret that could not be erased,
		 * and the snapshot copies every page it finds, mapped or not
		 * (saveable_page() skips neither PG_hwpoison nor pages out of
		 * the direct map): after a memory error in the pool,
		 * hibernation is refused until the next boot.
		 */
		if (atomic_long_read(&n->in_use) > 0 ||
		    READ_ONCE(n->nr_pending) || READ_ONCE(n->nr_stuck) ||
		    atomic_long_read(&n->retired))
			return true;
	}
	return false;
}

/**
 * sp_pool_freeze() - empty a pool and keep it empty
 * @pool: the pool
 *
 * Stops the pool from serving and growing, waits for growers that started
 * before, empties the CPU caches, recycles every pending page that can be
 * and gives back every empty region and every block, counting the blocks
 * to take back when it thaws.  If the pool still holds anything, it thaws
 * again.  May sleep.
 *
 * Return: 0 if the pool is empty and frozen (sp_pool_thaw() ends it),
 * -EBUSY if it holds pages it could not give back.
 */
int sp_pool_freeze(struct secretpool *pool)
{
	int nid;

	WRITE_ONCE(pool->frozen, true);
	for_each_node(nid) {
		mutex_lock(&pool->nodes[nid]->grow_lock);
		mutex_unlock(&pool->nodes[nid]->grow_lock);
		/* A worker that saw the pool thawed may be shrinking it. */
		flush_delayed_work(&pool->nodes[nid]->work);
		flush_delayed_work(&pool->nodes[nid]->shrink_work);
	}
	/* LRU batches may hold the last other references to pending pages. */
	lru_add_drain_all();
	sp_pool_drain(pool, NUMA_NO_NODE);
	for_each_node(nid) {
		sp_pool_shrink(pool, nid, ULONG_MAX, 0);
		pool->nodes[nid]->retake += sp_pool_unreserve(pool, nid,
							      UINT_MAX);
	}

	for_each_node(nid) {
		struct sp_nodepool *n = pool->nodes[nid];
		bool busy;

		/*
		 * Under the lock: the shrinker moves a region from
		 * @nr_releasing to @nr_stuck in two steps.
		 */
		spin_lock(&n->lock);
		busy = n->nr_regions || n->nr_stuck || n->nr_releasing ||
		       n->nr_pending || atomic_long_read(&n->in_use) ||
		       atomic_long_read(&n->retired);
		spin_unlock(&n->lock);
		if (busy) {
			sp_pool_thaw(pool);
			return -EBUSY;
		}
	}
	return 0;
}

/**
 * sp_pool_thaw() - let a frozen pool serve and grow again
 * @pool: the pool
 *
 * Takes back as many blocks as sp_pool_freeze() gave back, from the page
 * allocator (sp_pool_take_block()); what cannot be had is reported.  May
 * sleep.
 */
void sp_pool_thaw(struct secretpool *pool)
{
	int nid;

	WRITE_ONCE(pool->frozen, false);
	for_each_node(nid) {
		struct sp_nodepool *n = pool->nodes[nid];
		unsigned long want = n->retake, got = 0;

		n->retake = 0;
		while (got < want && !sp_pool_take_block(pool, nid))
			got++;
		if (got < want)
			pr_warn("node %d: %lu of %lu reserved blocks given back for hibernation could not be taken back\n",
				nid, want - got, want);
		sp_node_kick(n, 0);
	}
}

/* ---------------------------------------------------------------------
 * Background work and the shrinker
 * ---------------------------------------------------------------------
 */

static void sp_node_work(struct work_struct *work)
{
	struct sp_nodepool *n = container_of(to_delayed_work(work), struct sp_nodepool,
					 work);
	struct secretpool *pool = n->pool;
	struct secretpool_params *p = pool->params;
	unsigned int low = READ_ONCE(p->low_watermark);
	unsigned int high = READ_ONCE(p->high_watermark);
	unsigned int max = READ_ONCE(p->max_regions);
	bool enabled = pool != sp_default || READ_ONCE(sp_enabled);
	unsigned long done;
	unsigned int delay;

	done = sp_node_recycle_all(pool, n->nid);

	if (READ_ONCE(pool->frozen)) {
		/* Nothing grows or shrinks while a hibernation is made. */
	} else if (!enabled) {
		/* Switched off: keep nothing idle. */
		sp_pool_drain(pool, n->nid);
		sp_pool_shrink(pool, n->nid, ULONG_MAX, 0);
	} else if (READ_ONCE(n->nr_free) < low) {
		bool keep = READ_ONCE(p->keep_1g);

		/* A node kept whole is not looked over again for a while. */
		while (READ_ONCE(n->nr_free) < low && !(keep && sp_node_kept(n)) &&
		       !__sp_pool_grow(pool, n->nid, GFP_KERNEL, low, !keep))
			cond_resched();
	} else {
		unsigned long grown;

		/* Given back by sp_node_shrink_work(), after the hold. */
		if (READ_ONCE(n->nr_free) > high)
			queue_delayed_work(system_unbound_wq, &n->shrink_work, 0);
		/* max_regions may have been lowered. */
		grown = sp_node_grown_regions(n);
		if (max && grown > max)
			sp_pool_shrink(pool, n->nid,
				       (grown - max) * SP_REGION_PAGES, 0);
	}

	if (!READ_ONCE(n->nr_pending)) {
		WRITE_ONCE(n->recycle_delay, SP_RECYCLE_DELAY);
		return;
	}
	/* Some pages are still held elsewhere: look again later. */
	delay = READ_ONCE(n->recycle_delay);
	if (done)
		delay = SP_RECYCLE_DELAY;
	else
		delay = min_t(unsigned int, delay * 2, SP_RECYCLE_DELAY_MAX);
	if (delay >= SP_RECYCLE_DRAIN_AT)
		lru_add_drain_all();
	WRITE_ONCE(n->recycle_delay, delay);
	queue_delayed_work(system_unbound_wq, &n->work, delay);
}

/**
 * sp_pool_empty() - give back everything the pool holds idle, now
 * @pool: the pool
 *
 * What writing the debugfs file "shrink" does.  Every node's background
 * work queued so far is cancelled, after waiting for the one that runs (a
 * growth under way lands before the pool is emptied, not after it); the
 * pending pages that are ready are recycled, the CPU caches emptied and
 * every empty region given back.  If pages are still pending, a recycle
 * pass is queued again; when it runs, it grows the node to its low
 * watermark, as every pass does.  Not from the pool's own works.  May
 * sleep.
 */
void sp_pool_empty(struct secretpool *pool)
{
	int nid;

	for_each_node(nid) {
		cancel_delayed_work_sync(&pool->nodes[nid]->work);
		cancel_delayed_work_sync(&pool->nodes[nid]->shrink_work);
		sp_node_recycle_all(pool, nid);
	}
	sp_pool_drain(pool, NUMA_NO_NODE);
	for_each_node_state(nid, N_MEMORY)
		sp_pool_shrink(pool, nid, ULONG_MAX, 0);
	for_each_node(nid)
		if (READ_ONCE(pool->nodes[nid]->nr_pending))
			sp_node_kick(pool->nodes[nid], SP_RECYCLE_DELAY);
}

/*
 * A node's deferred giving back (see SP_SHRINK_HOLD): what is above the
 * high watermark once the node has not grown for SP_SHRINK_HOLD.  It grows
 * nothing, so a pool emptied meanwhile (the shrinker, debugfs, switched
 * off) stays empty.
 */
static void sp_node_shrink_work(struct work_struct *work)
{
	struct sp_nodepool *n = container_of(to_delayed_work(work),
					     struct sp_nodepool, shrink_work);
	struct secretpool *pool = n->pool;
	unsigned int low = READ_ONCE(pool->params->low_watermark);
	unsigned int high = READ_ONCE(pool->params->high_watermark);
	unsigned long until = READ_ONCE(n->last_grow) + SP_SHRINK_HOLD;
	unsigned long free = READ_ONCE(n->nr_free);

	if (READ_ONCE(pool->frozen) || free <= high)
		return;
	if (time_before(jiffies, until)) {
		/* It grew again meanwhile. */
		queue_delayed_work(system_unbound_wq, &n->shrink_work,
				   until - jiffies);
		return;
	}
	sp_pool_shrink(pool, n->nid, free - high, low);
}

static unsigned long sp_shrink_count(struct shrinker *s,
				     struct shrink_control *sc)
{
	struct secretpool *pool = container_of(s, struct secretpool, shrinker);
	struct sp_nodepool *n = pool->nodes[sc->nid];
	unsigned long idle = READ_ONCE(n->nr_free);
	unsigned long reserved = READ_ONCE(n->nr_free_reserved);
	int cpu;

	/* Reserved memory is not the shrinker's to give back. */
	idle = idle > reserved ? idle - reserved : 0;

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
	/*
	 * The pages are not credited to reclaim (reclaim_state), unlike
	 * slab pages: measured with 2M allocations under pressure, crediting
	 * them made reclaim stop after a region or two and the allocations
	 * fail while empty regions stayed idle; uncredited, reclaim goes on
	 * to higher priorities and empties the pool when memory runs out.
	 */
	return freed ?: SHRINK_STOP;
}

/* ---------------------------------------------------------------------
 * Statistics and the audit
 * ---------------------------------------------------------------------
 */

/**
 * sp_pool_stats() - what a node's pool holds and what it did
 * @pool: the pool
 * @nid: the node
 * @st: filled in
 *
 * The counts of the lists are read under the node's lock; the CPU caches
 * and @in_use are read without locks, so they may be off by what is
 * moving at the time (sp_pool_drain() first for exact figures).
 */
void sp_pool_stats(struct secretpool *pool, int nid,
		   struct secretpool_stats *st)
{
	struct sp_nodepool *n = pool->nodes[nid];
	struct sp_region *r;
	struct sp_block *b;
	long in_use;
	int cpu, g;

	memset(st, 0, sizeof(*st));

	spin_lock(&n->lock);
	st->regions = n->nr_regions;
	st->free = n->nr_free;
	st->pending = n->nr_pending;
	st->poisoned = n->nr_poisoned;
	st->stuck = n->nr_stuck;
	st->blocks = n->nr_blocks;
	st->reserved_free = n->nr_free_reserved;
	for (g = 0; g < SP_NR_GROUPS; g++) {
		list_for_each_entry(r, &n->lists[g], list) {
			unsigned int busy = SP_REGION_PAGES - r->nr_free -
					    r->nr_poisoned;

			if (r->level == SP_LEVEL_2M)
				st->regions_2m++;
			if (g == SP_GROUP_EMPTY || g == SP_GROUP_RESERVED)
				st->empty_regions++;
			else if (busy && busy < SP_SPARSE_IN_USE)
				st->sparse++;
		}
	}
	list_for_each_entry(b, &n->blocks, list)
		if (b->level == SP_LEVEL_1G)
			st->blocks_1g++;
	spin_unlock(&n->lock);

	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);

		if (READ_ONCE(pcp->nid) == nid)
			st->cached += READ_ONCE(pcp->count);
	}

	in_use = atomic_long_read(&n->in_use);
	st->in_use = in_use > 0 ? in_use : 0;
	st->grown = atomic_long_read(&n->grown);
	st->released = atomic_long_read(&n->released);
	st->grow_failed = atomic_long_read(&n->grow_failed);
	st->remote = atomic_long_read(&n->remote);
	st->fallback = atomic_long_read(&n->fallback);
	st->recycled = atomic_long_read(&n->recycled);
	st->retired = atomic_long_read(&n->retired);
	st->packed = atomic_long_read(&n->packed);
	st->kept_1g = atomic_long_read(&n->kept_1g);
	st->moved = atomic_long_read(&n->moved);
}

/* Count one region's pages by walking it; false if its counts disagree. */
static bool sp_region_audit(struct sp_region *r, struct sp_audit *a)
{
	unsigned int nr_free = 0, pending, poisoned;
	bool ok = true;
	struct page *page;

	list_for_each_entry(page, &r->free, lru) {
		unsigned int i = page_to_pfn(page) - r->pfn;

		/* A free page belongs to this region and to no other state. */
		if (i >= SP_REGION_PAGES || test_bit(i, r->pending) ||
		    test_bit(i, r->poisoned))
			ok = false;
		if (++nr_free > SP_REGION_PAGES)
			return false;
	}
	pending = bitmap_weight(r->pending, SP_REGION_PAGES);
	poisoned = bitmap_weight(r->poisoned, SP_REGION_PAGES);
	if (bitmap_intersects(r->pending, r->poisoned, SP_REGION_PAGES))
		ok = false;
	if (nr_free != r->nr_free || pending != r->nr_pending ||
	    poisoned != r->nr_poisoned || r->group != sp_group_of(r))
		ok = false;
	a->free += nr_free;
	if (r->block)
		a->free_reserved += nr_free;
	a->pending += pending;
	a->poisoned += poisoned;
	return ok;
}

/*
 * Check a block's own count of empty regions against its regions; false
 * if they disagree.
 */
static bool sp_block_audit(struct sp_block *b)
{
	unsigned int i, empty = 0;

	for (i = 0; i < SP_BLOCK_REGIONS; i++)
		empty += b->regions[i].group == SP_GROUP_RESERVED;
	return empty == b->nr_empty;
}

/**
 * sp_pool_audit() - count a node's pages by state, independently
 * @pool: the pool
 * @nid: the node
 * @a: filled in with what was counted
 *
 * Walks every free list, CPU cache and bitmap of node @nid and compares
 * what it finds with the node's counters and with the regions' size: the
 * pages of the node's regions must all be free, cached, pending, in use
 * or poisoned, each exactly once.  The CPU caches are walked before the
 * node's lists, so the pool must be quiet for an exact answer.
 *
 * Return: 0 if everything agrees, -EUCLEAN if not.
 */
int sp_pool_audit(struct secretpool *pool, int nid, struct sp_audit *a)
{
	struct sp_nodepool *n = pool->nodes[nid];
	unsigned long total;
	struct sp_region *r;
	struct sp_block *b;
	bool ok = true;
	int cpu, g;

	memset(a, 0, sizeof(*a));

	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(pool->pcp, cpu);
		unsigned int count = 0;
		struct page *page;

		spin_lock(&pcp->lock);
		if (pcp->nid == nid) {
			list_for_each_entry(page, &pcp->pages, lru)
				count++;
			if (count != pcp->count)
				ok = false;
			a->cached += count;
		}
		spin_unlock(&pcp->lock);
	}

	spin_lock(&n->lock);
	for (g = 0; g < SP_NR_GROUPS; g++) {
		list_for_each_entry(r, &n->lists[g], list) {
			a->regions++;
			if (r->group != g || !sp_region_audit(r, a) ||
			    (g == SP_GROUP_RESERVED && !r->block) ||
			    (g == SP_GROUP_EMPTY && r->block))
				a->bad_regions++;
		}
	}
	list_for_each_entry(b, &n->blocks, list) {
		a->blocks++;
		if (!sp_block_audit(b))
			ok = false;
	}
	if (a->regions != n->nr_regions || a->free != n->nr_free ||
	    a->pending != n->nr_pending || a->poisoned != n->nr_poisoned ||
	    a->free_reserved != n->nr_free_reserved ||
	    a->blocks != n->nr_blocks)
		ok = false;
	a->in_use = atomic_long_read(&n->in_use);
	spin_unlock(&n->lock);

	total = a->free + a->cached + a->pending + a->poisoned;
	if (a->in_use < 0 || total + a->in_use != a->regions * SP_REGION_PAGES ||
	    a->bad_regions)
		ok = false;
	return ok ? 0 : -EUCLEAN;
}

/* ---------------------------------------------------------------------
 * CPU hotplug
 * ---------------------------------------------------------------------
 */

static enum cpuhp_state sp_cpuhp_state;
static DEFINE_MUTEX(sp_cpuhp_mutex);

/* A CPU is gone: its cache goes back to the regions. */
static int sp_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct secretpool *pool = hlist_entry_safe(node, struct secretpool,
						   cpuhp);

	sp_pool_drain_cpu(pool, cpu);
	return 0;
}

static int sp_cpuhp_add(struct secretpool *pool)
{
	int ret = 0;

	mutex_lock(&sp_cpuhp_mutex);
	if (!sp_cpuhp_state) {
		ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN,
					      "mm/secretpool:dead", NULL,
					      sp_cpu_dead);
		if (ret > 0)
			sp_cpuhp_state = ret;
	}
	mutex_unlock(&sp_cpuhp_mutex);
	if (ret < 0)
		return ret;
	ret = cpuhp_state_add_instance_nocalls(sp_cpuhp_state, &pool->cpuhp);
	if (!ret)
		pool->cpuhp_registered = true;
	return ret;
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
 * Every pool has its CPU caches emptied when a CPU dies.
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
	pool->map_level = secretmem_direct_map_level;
	xa_init(&pool->regions);

	err = -ENOMEM;
	pool->nodes = kcalloc(nr_node_ids, sizeof(*pool->nodes), GFP_KERNEL);
	if (!pool->nodes)
		goto fail;
	for_each_node(nid) {
		struct sp_nodepool *n = kzalloc_node(sizeof(*n), GFP_KERNEL,
						 node_state(nid, N_MEMORY) ?
						 nid : NUMA_NO_NODE);

		if (!n)
			goto fail;
		n->pool = pool;
		n->nid = nid;
		n->near = NUMA_NO_NODE;
		n->kept_until = jiffies;
		n->move_after = jiffies;
		spin_lock_init(&n->lock);
		for (g = 0; g < SP_NR_GROUPS; g++)
			INIT_LIST_HEAD(&n->lists[g]);
		INIT_LIST_HEAD(&n->pending);
		INIT_LIST_HEAD(&n->stuck);
		INIT_LIST_HEAD(&n->blocks);
		mutex_init(&n->grow_lock);
		INIT_DELAYED_WORK(&n->work, sp_node_work);
		INIT_DELAYED_WORK(&n->shrink_work, sp_node_shrink_work);
		n->recycle_delay = SP_RECYCLE_DELAY;
		n->last_grow = jiffies - SP_SHRINK_HOLD;
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

	err = sp_cpuhp_add(pool);
	if (err)
		goto fail;

	if (params->background) {
		pool->shrinker.count_objects = sp_shrink_count;
		pool->shrinker.scan_objects = sp_shrink_scan;
		/*
		 * Empty regions are worth as much as any cache: getting one
		 * again needs a free 2M block, which may be gone by then.
		 */
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
	if (pool->cpuhp_registered)
		cpuhp_state_remove_instance_nocalls(sp_cpuhp_state,
						    &pool->cpuhp);

	if (pool->nodes) {
		for_each_node(nid)
			if (pool->nodes[nid]) {
				cancel_delayed_work_sync(&pool->nodes[nid]->work);
				cancel_delayed_work_sync(&pool->nodes[nid]->shrink_work);
			}
	}

	if (pool->pcp && pool->nodes) {
		sp_pool_drain(pool, NUMA_NO_NODE);
		for_each_node(nid) {
			struct sp_nodepool *n = pool->nodes[nid];

			if (!n)
				continue;
			sp_pool_unreserve(pool, nid, UINT_MAX);
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
 * @nid: the node the fault's memory policy prefers, or NUMA_NO_NODE if it
 *	names none (the default policy: the current CPU's node first; with
 *	keep_1g, another node's page rather than a 1G split, see
 *	sp_pool_alloc())
 * @nodemask: the nodes the policy allows, or NULL for any
 * @gfp: allocation context of the fault
 *
 * Return: a zeroed, unmapped page from the default pool (see
 * sp_pool_alloc(); the caller owns one of its two references), or NULL if
 * the pool is off or could not serve; the caller then takes the per-page
 * path.
 */
struct page *secretpool_alloc_page(int nid, const nodemask_t *nodemask,
				   gfp_t gfp)
{
	struct page *page;

	if (!sp_default || !READ_ONCE(sp_enabled))
		return NULL;
	page = sp_pool_alloc(sp_default, nid, nodemask, gfp);
	if (page) {
		count_vm_event(SECRETPOOL_ALLOC);
		return page;
	}
	count_vm_event(SECRETPOOL_FALLBACK);
	if (!READ_ONCE(sp_default->frozen))
		pr_info_once("no free 2M block (or max_regions reached): unmapping secret pages one at a time until the pool can grow; see the fallback counter\n");
	return NULL;
}

/**
 * secretpool_free_page() - give back a page that was never exposed
 * @page: a page from secretpool_alloc_page(); its caller's reference
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

/**
 * secretpool_busy() - whether the default pool keeps hibernation away
 *
 * Return: true while the pool holds a page in use or pending, a region it
 * could not map back or a retired page (see sp_pool_busy()).
 */
bool secretpool_busy(void)
{
	int nid;

	if (!sp_default)
		return false;
	if (sp_pool_busy(sp_default))
		return true;
	if (READ_ONCE(sp_pm_ready))
		return false;
	/* Nobody empties the pool before a snapshot: any region is too many. */
	for_each_node(nid)
		if (READ_ONCE(sp_default->nodes[nid]->nr_regions))
			return true;
	return false;
}

/**
 * secretpool_clear_page() - zero a page that is not in the direct map
 * @page: the page; the caller has it to itself
 *
 * Zeroes @page through the pool's per-CPU window, so that a page leaving
 * secretmem can be cleared before it is mapped again.
 *
 * Return: true if the page was zeroed, false if the window is not set up
 * (the caller must map the page and clear it itself).
 */
bool secretpool_clear_page(struct page *page)
{
	/* Pairs with sp_window_init(): the windows are set up once seen. */
	if (!smp_load_acquire(&sp_window_ready))
		return false;
	sp_page_zero(page);
	return true;
}

/**
 * secretpool_can_flush() - whether secretpool_flush_page() works here
 *
 * Return: true on x86 with CLFLUSH once the per-CPU windows are set up.
 */
bool secretpool_can_flush(void)
{
#ifdef CONFIG_X86
	if (!boot_cpu_has(X86_FEATURE_CLFLUSH))
		return false;
	/* Pairs with sp_window_init(): the windows are set up once seen. */
	return smp_load_acquire(&sp_window_ready);
#else
	return false;
#endif
}

/**
 * secretpool_flush_page() - put a page that is not in the direct map in
 *	memory, out of every CPU cache
 * @page: the page; the caller has it to itself, and no mapping of it is
 *	left (the direct map's entry is gone and flushed from the TLBs)
 * @zero: zero it first
 *
 * For a page that user space maps, or has mapped, with an uncached memory
 * type.  Maps @page through this CPU's window with an uncached type,
 * which nothing speculates through, zeroes it if asked (the stores go to
 * memory) and flushes its lines from the caches (CLFLUSH acts on the
 * physical line, whichever mapping cached it): after this the page's
 * content is in memory and nowhere else.  Needs secretpool_can_flush().
 */
void secretpool_flush_page(struct page *page, bool zero)
{
#ifdef CONFIG_X86
	void *addr;

	preempt_disable();
	addr = sp_window_map_prot(0, page, PAGE_KERNEL_NOCACHE);
	if (zero)
		memset(addr, 0, PAGE_SIZE);
	clflush_cache_range(addr, PAGE_SIZE);
	sp_window_unmap(1);
	preempt_enable();
#endif
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

#ifdef CONFIG_HIBERNATION
static int sp_pm_notify(struct notifier_block *nb, unsigned long action,
			void *data)
{
	int err;

	switch (action) {
	case PM_HIBERNATION_PREPARE:
	case PM_RESTORE_PREPARE:
		err = sp_pool_freeze(sp_default);
		if (err) {
			pr_info("hibernation refused: secret pages are still in use or pending\n");
			return notifier_from_errno(err);
		}
		pr_info("hibernation: the pool gave every region and reserved block back and is frozen\n");
		return NOTIFY_OK;
	case PM_POST_HIBERNATION:
	case PM_POST_RESTORE:
		sp_pool_thaw(sp_default);
		return NOTIFY_OK;
	}
	return NOTIFY_DONE;
}

static struct notifier_block sp_pm_nb = {
	.notifier_call = sp_pm_notify,
};

static int sp_pm_init(void)
{
	return register_pm_notifier(&sp_pm_nb);
}
#else
static inline int sp_pm_init(void)
{
	return 0;
}
#endif

/**
 * secretpool_init() - create the default pool
 *
 * Called by secretmem's initcall when memfd_secret() is enabled.  The
 * blocks set aside at boot (secretpool.reserve=) become the pool's; if the
 * pool cannot be created, they go to the page allocator instead.
 *
 * Return: 0, or a negative errno (secretmem then works without the pool).
 */
int __init secretpool_init(void)
{
	struct secretpool *pool;
	int err;

	pool = sp_pool_create("default", &sp_default_params);
	if (IS_ERR(pool)) {
		pr_err("cannot create the pool (%ld); memfd_secret() pages will be unmapped one at a time\n",
		       PTR_ERR(pool));
		sp_reserve_adopt(NULL);
		return PTR_ERR(pool);
	}
	sp_default = pool;
	sp_reserve_adopt(pool);
	err = sp_pm_init();
	if (err)
		pr_warn("cannot register the hibernation notifier (%d): hibernation stays refused while the pool holds memory\n",
			err);
	else
		WRITE_ONCE(sp_pm_ready, true);
	sp_debugfs_init();

	pr_info("%s: %lu kB regions on %u node(s), watermarks %u/%u pages, max %u regions per node%s\n",
		READ_ONCE(sp_enabled) ? "enabled" :
		"disabled (secretpool.enabled=1 or its parameter file turns it on)",
		SP_REGION_SIZE >> 10, num_node_state(N_MEMORY),
		sp_default_params.low_watermark,
		sp_default_params.high_watermark,
		sp_default_params.max_regions,
		sp_default_params.max_regions ? "" : " (no limit)");
	return 0;
}
