/* SPDX-License-Identifier: GPL-2.0 */
/*
 * secretpool: pages for memfd_secret() carved from whole 2M regions that
 * are removed from the direct map as one PMD entry each.
 *
 * This header is internal to mm/.  The front end (mm/secretmem.c) uses the
 * secretpool_*() calls on the default pool at the top; the KUnit suite
 * (mm/secretpool_test.c) uses the instance interface below them to build
 * private pools.  The design, the locking and the lifetime rules are
 * described at the top of mm/secretpool.c.
 */
#ifndef _MM_SECRETPOOL_H
#define _MM_SECRETPOOL_H

#include <linux/types.h>
#include <linux/bitmap.h>
#include <linux/pgtable.h>
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <linux/shrinker.h>
#include <linux/atomic.h>
#include <linux/sizes.h>

struct page;
struct folio;

/* A region is one buddy block of this order, aligned to its size. */
#define SP_REGION_ORDER		(PMD_SHIFT - PAGE_SHIFT)
#define SP_REGION_SIZE		PMD_SIZE
#define SP_REGION_PAGES		(PMD_SIZE / PAGE_SIZE)

/*
 * A block is one PUD-sized (1G on x86-64) aligned range set aside for the
 * pool, at boot or at run time, and removed from the direct map as a
 * whole; it is carved into SP_BLOCK_REGIONS regions that serve pages as
 * any other region does.
 */
#define SP_BLOCK_ORDER		(PUD_SHIFT - PAGE_SHIFT)
#define SP_BLOCK_SIZE		PUD_SIZE
#define SP_BLOCK_PAGES		(PUD_SIZE / PAGE_SIZE)
#define SP_BLOCK_REGIONS	(PUD_SIZE / PMD_SIZE)

/* secretmem_direct_map_level() of a block mapped by one PMD or PUD entry. */
#ifdef CONFIG_X86
#define SP_LEVEL_2M		PG_LEVEL_2M
#define SP_LEVEL_1G		PG_LEVEL_1G
#else
#define SP_LEVEL_2M		(-1)
#define SP_LEVEL_1G		(-1)
#endif

/*
 * Regions of a node are kept on lists by how many free pages they have:
 * FULL (none), four partial groups from nearly full to nearly empty,
 * RESERVED (regions of a block with every page free or poisoned) and
 * EMPTY (other regions with every page free or poisoned).  Allocation
 * walks them from the fullest partial group to EMPTY, so pages pile up in
 * few regions, reserved memory is used before regions that could go back,
 * and those drain empty.
 */
enum sp_group {
	SP_GROUP_FULL,
	SP_GROUP_PARTIAL_FIRST,
	SP_GROUP_PARTIAL_LAST = SP_GROUP_PARTIAL_FIRST + 3,
	SP_GROUP_RESERVED,
	SP_GROUP_EMPTY,
	SP_NR_GROUPS,
};

/* A region with fewer pages in use than this, but some, is "sparse". */
#define SP_SPARSE_IN_USE	(SP_REGION_PAGES / 16)

/**
 * struct secretpool_params - tunables of one pool
 * @low_watermark: grow the node's pool in the background when it has fewer
 *	free pages than this
 * @high_watermark: give empty regions back when the node's pool has more
 *	free pages than this (and would keep at least @low_watermark)
 * @max_regions: most regions a node's pool may hold; 0 for no limit
 * @pcp_high: 0 turns the per-CPU caches off; any other value leaves them on
 * @pcp_batch: pages a per-CPU cache takes from its node when it is empty,
 *	and so the most it holds
 * @background: run the background worker and register a shrinker
 * @keep_1g: an allocation whose memory policy names no node takes another
 *	node's page rather than split a 1G page of the direct map to grow
 *	its own node, and the background worker grows no node by such a
 *	split (see "Keeping 1G pages" in mm/secretpool.c)
 */
struct secretpool_params {
	unsigned int low_watermark;
	unsigned int high_watermark;
	unsigned int max_regions;
	unsigned int pcp_high;
	unsigned int pcp_batch;
	bool background;
	bool keep_1g;
};

/**
 * struct secretpool_stats - what a node's pool holds and what it did
 * @regions: regions held
 * @free: free pages on the regions' free lists (zeroed, unmapped)
 * @cached: free pages in per-CPU caches (zeroed, unmapped)
 * @pending: pages back from files, waiting for their last user to let go
 * @in_use: pages handed out and not back yet (counted, not derived)
 * @poisoned: pages of held regions kept out of use after a memory error
 * @stuck: regions whose direct map could not be restored (kept, not lost)
 * @empty_regions: regions with every page free (or poisoned)
 * @regions_2m: regions whose direct-map entry is a single 2M one
 * @grown: regions taken from the page allocator, ever
 * @released: regions given back to the page allocator, ever
 * @grow_failed: attempts to grow that found no free 2M block
 * @remote: pages served to a task on another node
 * @fallback: allocations the pool could not serve (done per page instead)
 * @recycled: pages zeroed and made free again after a file let go, ever
 * @retired: poisoned pages kept out of use for good (out of the direct map,
 *	never freed) when their regions were given back, ever
 * @blocks: blocks held (each SP_BLOCK_REGIONS of @regions)
 * @blocks_1g: blocks whose direct-map entry is a single 1G one
 * @reserved_free: free pages on the free lists of the blocks' regions
 * @sparse: regions that are neither empty nor full enough: fewer than
 *	SP_SPARSE_IN_USE of their pages in use (pinned by a few pages)
 * @packed: regions taken, ever, from a 1G range the node had split before
 *	(see "Packing" in mm/secretpool.c)
 * @kept_1g: growths of the node declined, ever, because the block would
 *	have split a 1G page of the direct map (keep_1g)
 * @moved: regions taken, ever, from a 2M block whose movable pages were
 *	migrated away first, because no free block could be had without a
 *	split (see "Making a block" in mm/secretpool.c)
 */
struct secretpool_stats {
	unsigned long regions;
	unsigned long free;
	unsigned long cached;
	unsigned long pending;
	unsigned long in_use;
	unsigned long poisoned;
	unsigned long stuck;
	unsigned long empty_regions;
	unsigned long regions_2m;
	unsigned long grown;
	unsigned long released;
	unsigned long grow_failed;
	unsigned long remote;
	unsigned long fallback;
	unsigned long recycled;
	unsigned long retired;
	unsigned long blocks;
	unsigned long blocks_1g;
	unsigned long reserved_free;
	unsigned long sparse;
	unsigned long packed;
	unsigned long kept_1g;
	unsigned long moved;
};

/* How many split 1G ranges a node remembers to grow in first. */
#define SP_SPLIT_RANGES		8

/* In mm/secretmem.c: for the boot reservation, and for the pool. */
bool secretmem_boot_enabled(void);
int secretmem_direct_map_level(struct page *page);
bool secretmem_page_aliased(struct page *page, unsigned long nr);

#ifdef CONFIG_SECRETMEM_POOL

/* --- the front end's interface: the default pool --- */

int secretpool_init(void);
struct page *secretpool_alloc_page(int nid, const nodemask_t *nodemask,
				   gfp_t gfp);
bool secretpool_free_page(struct page *page);
bool secretpool_release_folio(struct folio *folio);
bool secretpool_busy(void);
bool secretpool_clear_page(struct page *page);
bool secretpool_can_flush(void);
void secretpool_flush_page(struct page *page, bool zero);
void secretpool_give_up(void);

/* --- the instance interface (the default pool is one instance) --- */

/**
 * struct sp_region - one 2M block owned by a pool
 * @list: on its node's list for @group (or its stuck list), under the
 *	node's lock
 * @free: free pages (linked through page->lru), under the node's lock
 * @pending_link: on the node's list of regions with pending pages while
 *	@nr_pending is not zero
 * @pfn: first page frame; the region is @pfn .. @pfn + SP_REGION_PAGES - 1
 * @node: the node's pool this region belongs to
 * @nr_free: number of pages on @free
 * @nr_pending: number of bits set in @pending
 * @nr_poisoned: number of bits set in @poisoned
 * @scan: where the next look at @pending starts (so that pages that are
 *	not ready cannot hide the others from a bounded scan)
 * @group: which of the node's lists @list is on
 * @level_before: direct-map level of the block before it was removed
 * @level: direct-map level of the block while it is in the pool
 * @block: the block this region is part of, or NULL for a region taken
 *	from the buddy allocator on its own
 * @pending: pages a file let go of that are not free yet, by index
 * @poisoned: pages with a memory error, by index; never handed out again
 *
 * Pending and poisoned pages are tracked in bitmaps, not lists: until the
 * pool takes it off the LRU, page->lru of a page that was in a file
 * belongs to the LRU code.
 */
struct sp_region {
	struct list_head list;
	struct list_head free;
	struct list_head pending_link;
	unsigned long pfn;
	struct sp_nodepool *node;
	unsigned int nr_free;
	unsigned int nr_pending;
	unsigned int nr_poisoned;
	unsigned int scan;
	enum sp_group group;
	u8 level_before;
	u8 level;
	struct sp_block *block;
	DECLARE_BITMAP(pending, SP_REGION_PAGES);
	DECLARE_BITMAP(poisoned, SP_REGION_PAGES);
};

/**
 * struct sp_block - a 1G block set aside for a pool
 * @list: on its node's @blocks list, under the node's lock
 * @node: the node's pool the block belongs to
 * @pfn: first page frame; SP_BLOCK_PAGES aligned
 * @nr_empty: regions of the block on the node's RESERVED list, under the
 *	node's lock; the block can go back when all of them are
 * @level_before: direct-map level of the block before it was removed
 * @level: direct-map level of the block while it is in the pool
 * @boot: set aside at boot (secretpool.reserve=) rather than at run time
 * @regions: the block's SP_BLOCK_REGIONS regions, in address order
 *
 * A block never goes back in part: its regions stay in the pool, empty or
 * not, until sp_pool_unreserve() gives back the whole block at once.
 */
struct sp_block {
	struct list_head list;
	struct sp_nodepool *node;
	unsigned long pfn;
	unsigned int nr_empty;
	u8 level_before;
	u8 level;
	bool boot;
	struct sp_region *regions;
};

/**
 * struct sp_nodepool - the part of a pool on one NUMA node
 * @pool: the pool
 * @nid: the node
 * @lock: protects the lists, the regions' free lists, bitmaps and counts,
 *	and the counts below
 * @lists: regions by fullness (enum sp_group)
 * @pending: regions with pending pages, the next one to look at first
 * @stuck: regions that could not be mapped back
 * @blocks: blocks held, whose regions are on @lists
 * @nr_regions: regions on @lists, the blocks' included
 * @nr_blocks: blocks on @blocks
 * @nr_free: free pages on the regions of @lists
 * @nr_free_reserved: the part of @nr_free on the blocks' regions
 * @nr_pending: pending pages of the regions of @lists, including those a
 *	recycling pass took out of their bitmaps and is still looking at
 * @nr_poisoned: poisoned pages of the regions of @lists
 * @nr_stuck: regions on @stuck
 * @nr_releasing: regions taken off @lists by sp_pool_shrink() and not yet
 *	mapped back and freed (or put on @stuck)
 * @retake: blocks sp_pool_freeze() gave back, for sp_pool_thaw() to take
 *	again (only those two touch it; the PM core runs them one at a time)
 * @in_use: pages of this node's regions handed out and not back yet
 * @grow_lock: one grower per node at a time; taken before @lock
 * @split: 1G ranges (pfn >> SP_BLOCK_ORDER) the node's regions split or
 *	found split, oldest first, under @grow_lock
 * @nr_split: entries of @split
 * @work: background recycling, growing and shrinking
 * @shrink_work: gives back regions above the high watermark once the
 *	node has not grown for SP_SHRINK_HOLD
 * @last_grow: jiffies when the node last grew
 * @kept_until: until then (jiffies), the node is known to grow only by
 *	splitting a 1G page (keep_1g): neither allocations that name no
 *	node nor the background worker try to grow it.  Set when such a
 *	growth is declined, ended by any growth of the node.  A hint,
 *	written and read without a lock
 * @near: the node whose pages served this one's allocations that name no
 *	node while it is kept; NUMA_NO_NODE if none.  A hint, as @kept_until
 * @move_after: until then (jiffies), growing does not look for a block to
 *	make by migration: the last look found none.  Under @grow_lock
 * @recycle_delay: how long the worker waits before looking at pending
 *	pages that were not ready, in jiffies; doubles while none is
 * @grown: see struct secretpool_stats, as are the counters below
 * @released: see struct secretpool_stats
 * @grow_failed: see struct secretpool_stats
 * @remote: see struct secretpool_stats
 * @fallback: see struct secretpool_stats
 * @recycled: see struct secretpool_stats
 * @retired: see struct secretpool_stats
 * @packed: see struct secretpool_stats
 * @kept_1g: see struct secretpool_stats
 * @moved: see struct secretpool_stats
 */
struct sp_nodepool {
	struct secretpool *pool;
	int nid;
	spinlock_t lock;		/* the lists, bitmaps and counts */
	struct list_head lists[SP_NR_GROUPS];
	struct list_head pending;
	struct list_head stuck;
	struct list_head blocks;
	unsigned long nr_regions;
	unsigned long nr_blocks;
	unsigned long nr_free;
	unsigned long nr_free_reserved;
	unsigned long nr_pending;
	unsigned long nr_poisoned;
	unsigned long nr_stuck;
	unsigned long nr_releasing;
	unsigned long retake;
	atomic_long_t in_use;
	struct mutex grow_lock;		/* one grower; before @lock */
	unsigned long split[SP_SPLIT_RANGES];
	unsigned int nr_split;
	struct delayed_work work;
	struct delayed_work shrink_work;
	unsigned long last_grow;
	unsigned long kept_until;
	unsigned long move_after;
	int near;
	unsigned int recycle_delay;
	atomic_long_t grown;
	atomic_long_t released;
	atomic_long_t grow_failed;
	atomic_long_t remote;
	atomic_long_t fallback;
	atomic_long_t recycled;
	atomic_long_t retired;
	atomic_long_t packed;
	atomic_long_t kept_1g;
	atomic_long_t moved;
};

/**
 * struct sp_pcp - a per-CPU cache of free pages
 * @lock: protects the fields below; taken before the node's lock
 * @nid: node of the pages in @pages
 * @count: pages in @pages
 * @pages: free pages, linked through page->lru
 */
struct sp_pcp {
	spinlock_t lock;		/* the fields below */
	int nid;
	unsigned int count;
	struct list_head pages;
};

/**
 * struct secretpool - a pool: its nodes, CPU caches and region index
 * @name: for messages and the shrinker
 * @params: tunables (the default pool's are its module parameters)
 * @regions: region of each pfn >> SP_REGION_ORDER the pool holds
 * @pcp: per-CPU caches
 * @nodes: per-node pools, for every possible node
 * @shrinker: gives empty regions back under memory pressure
 * @shrinker_registered: whether @shrinker is registered
 * @cpuhp: on the CPU hotplug state that empties a dead CPU's cache
 * @cpuhp_registered: whether @cpuhp is
 * @frozen: a hibernation is being prepared or made: the pool neither
 *	grows nor serves (see sp_pool_freeze())
 * @map_level: the direct-map level that placing regions goes by (whether
 *	a block lies under a 1G page): secretmem_direct_map_level(); the
 *	KUnit suite replaces it to make a node look mapped with 1G pages
 * @block_ok: KUnit only: if set, the 2M blocks (by first pfn) that placed
 *	growth of this pool may take; NULL (always, outside KUnit) for all
 */
struct secretpool {
	const char *name;
	struct secretpool_params *params;
	struct xarray regions;
	struct sp_pcp __percpu *pcp;
	struct sp_nodepool **nodes;
	struct shrinker shrinker;
	bool shrinker_registered;
	struct hlist_node cpuhp;
	bool cpuhp_registered;
	bool frozen;
	int (*map_level)(struct page *page);
	bool (*block_ok)(unsigned long pfn);
};

/**
 * struct sp_audit - a node's pages counted by walking its structures
 * @regions: regions on the node's lists
 * @free: entries on the regions' free lists
 * @free_reserved: the part of @free on the blocks' regions
 * @blocks: blocks on the node's list
 * @cached: entries on the CPU caches holding this node's pages
 * @pending: bits set in the regions' pending bitmaps
 * @poisoned: bits set in the regions' poisoned bitmaps
 * @in_use: the node's in_use counter (pages in files are not listed
 *	anywhere, so this one is a counter, kept at hand-out and return)
 * @bad_regions: regions whose own counts disagree with what was walked
 */
struct sp_audit {
	unsigned long regions;
	unsigned long free;
	unsigned long free_reserved;
	unsigned long blocks;
	unsigned long cached;
	unsigned long pending;
	unsigned long poisoned;
	long in_use;
	unsigned long bad_regions;
};

struct secretpool *sp_pool_create(const char *name,
				  struct secretpool_params *params);
void sp_pool_destroy(struct secretpool *pool);
struct page *sp_pool_alloc(struct secretpool *pool, int nid,
			   const nodemask_t *nodemask, gfp_t gfp);
bool sp_pool_free(struct secretpool *pool, struct page *page);
bool sp_pool_release_folio(struct secretpool *pool, struct folio *folio);
struct sp_region *sp_pool_region_of(struct secretpool *pool,
				    struct page *page);
void sp_pool_drain(struct secretpool *pool, int nid);
void sp_pool_empty(struct secretpool *pool);
unsigned int sp_pool_recycle(struct secretpool *pool, int nid,
			     unsigned int *scanned);
int sp_pool_grow(struct secretpool *pool, int nid, gfp_t gfp);
unsigned long sp_pool_shrink(struct secretpool *pool, int nid,
			     unsigned long nr_pages, unsigned long keep);
void sp_pool_stats(struct secretpool *pool, int nid,
		   struct secretpool_stats *st);
int sp_pool_audit(struct secretpool *pool, int nid, struct sp_audit *a);
int sp_pool_freeze(struct secretpool *pool);
void sp_pool_thaw(struct secretpool *pool);
bool sp_pool_busy(struct secretpool *pool);
void sp_pool_drain_cpu(struct secretpool *pool, unsigned int cpu);
int sp_pool_add_block(struct secretpool *pool, struct page *page, bool boot);
unsigned int sp_pool_unreserve(struct secretpool *pool, int nid,
			       unsigned int nr);
unsigned long sp_pool_nr_blocks(struct secretpool *pool, int nid);
int sp_pool_take_block(struct secretpool *pool, int nid);

/*
 * Blocks are 1G and hold regions: what the reservation's syntax assumes
 * (x86-64 with 4K pages; not a folded PUD, nor arm64's 64G or 4T ones).
 */
#if PUD_SHIFT == 30 && PUD_SHIFT > PMD_SHIFT
#define SP_BLOCKS_SUPPORTED	true
#else
#define SP_BLOCKS_SUPPORTED	false
#endif

static inline bool sp_blocks_supported(void)
{
	return SP_BLOCKS_SUPPORTED;
}

/* --- the boot reservation and its knob (mm/secretpool_reserve.c) --- */

int sp_reserve_parse(const char *str, u64 *sizes, unsigned int nr,
		     bool *every, const char **why);
void sp_reserve_adopt(struct secretpool *pool);

/* The pool behind memfd_secret(), once secretpool_init() made it. */
extern struct secretpool *sp_default;
/* Its switch and tunables: the module parameters. */
extern bool sp_enabled;
extern struct secretpool_params sp_default_params;

/* --- what it shows of itself (mm/secretpool_stats.c) --- */

#ifdef CONFIG_DEBUG_FS
void sp_debugfs_init(void);
#else
static inline void sp_debugfs_init(void)
{
}
#endif

/* Most pending pages one call of sp_pool_recycle() looks at. */
#define SP_RECYCLE_SCAN		128
/* Most pending pages one call of sp_pool_recycle() makes free. */
#define SP_RECYCLE_BATCH	64
/* ... and of them, when a fault found no free page: a CPU cache's refill. */
#define SP_RECYCLE_FAULT_BATCH	16

#if IS_ENABLED(CONFIG_SECRETMEM_POOL_KUNIT_TEST)
void sp_page_fill(struct page *page, u8 byte);
extern void (*sp_test_recycle_hook)(struct page **batch, unsigned int nr);
bool sp_page_is_filled(struct page *page, u8 byte);
#endif

#else /* !CONFIG_SECRETMEM_POOL */

static inline int secretpool_init(void)
{
	return 0;
}

static inline struct page *secretpool_alloc_page(int nid,
						 const nodemask_t *nodemask,
						 gfp_t gfp)
{
	return NULL;
}

static inline bool secretpool_free_page(struct page *page)
{
	return false;
}

static inline bool secretpool_release_folio(struct folio *folio)
{
	return false;
}

static inline bool secretpool_busy(void)
{
	return false;
}

static inline bool secretpool_clear_page(struct page *page)
{
	return false;
}

static inline bool secretpool_can_flush(void)
{
	return false;
}

static inline void secretpool_flush_page(struct page *page, bool zero)
{
}

static inline void secretpool_give_up(void)
{
}

#endif /* CONFIG_SECRETMEM_POOL */

#endif /* _MM_SECRETPOOL_H */
