// SPDX-License-Identifier: GPL-2.0
/*
 * secretpool: memory set aside for secrets in whole 1G blocks
 *
 * The pool (mm/secretpool.c) grows by 2M regions taken from the buddy
 * allocator when it needs pages.  A machine known to hold many secrets can
 * have memory set aside for them instead, in blocks of 1G (PUD_SIZE),
 * each removed from the direct map as one entry and carved into regions
 * that serve pages as any other region does.  This file is the interface
 * to that: the boot reservation, and the knob that changes it at run time.
 *
 * Rules
 * -----
 * The reservation is asked for with secretpool.reserve= on the kernel
 * command line, or by CONFIG_SECRETMEM_POOL_RESERVE when the command line
 * does not say: "1G" asks for 1G on every node with memory, "1G@0,2G@1"
 * for 1G on node 0 and 2G on node 1.  Sizes are multiples of 1G.  A
 * string that cannot be parsed, names a node that has no memory or asks a
 * node for more than it has is refused whole, with a boot message, and
 * nothing is reserved; a request that is valid but cannot be met in full
 * (no free 1G-aligned range left on the node) is met in part, and the
 * boot log says how much of it.
 *
 * Blocks are taken from memblock on their node exactly, 1G aligned, from
 * mm_init() (secretpool_reserve_boot()), after the NUMA layout is known
 * and before memblock hands memory to the buddy allocator, so no other
 * allocation can be in the way yet.  Until the pool exists, the blocks are
 * linked through their own first bytes (they are still mapped then), and
 * their struct pages are initialised by memblock_free_all() as reserved
 * pages.  secretpool_init() hands them to the pool (sp_reserve_adopt()):
 * each page stops being reserved and is counted as managed memory, as if
 * it had been allocated, and the block is zeroed, unmapped and carved
 * (sp_pool_add_block()).  Nothing is reserved unless memfd_secret() is
 * enabled (secretmem.enable=1), and blocks the pool cannot take go to the
 * buddy allocator, so reserved memory is never lost.
 *
 * At run time, /sys/module/secretpool/parameters/reserve reads the
 * reservation in the same syntax ("1G@0,1G@1", "0" for none).  Writing it
 * sets the whole reservation: a node not named gets none.  Blocks go back
 * whole and only once every page of theirs is free (-EBUSY otherwise,
 * after giving back what could go); new blocks are taken with
 * alloc_contig_pages() from ZONE_NORMAL, which may fail on a fragmented
 * node (-ENOMEM).  sp_reserve_mutex serialises the writers; the pool's
 * own locks protect the blocks.  A write runs under the module
 * parameters' lock, so other parameters wait for it: taking or giving
 * back a block takes a while (zeroing 1G, moving pages).
 *
 * A block set aside at boot in ZONE_MOVABLE or across two zones goes to
 * the buddy allocator instead; so does every block when memfd_secret()
 * fails to start (secretpool_give_up()).
 */

#define pr_fmt(fmt) "secretpool: " fmt

#include <linux/ctype.h>
#include <linux/gfp.h>
#include <linux/init.h>
#include <linux/kmemleak.h>
#include <linux/memblock.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nodemask.h>
#include <linux/page-isolation.h>
#include <linux/swap.h>
#include <linux/secretpool.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "secretpool.h"

#undef MODULE_PARAM_PREFIX
#define MODULE_PARAM_PREFIX "secretpool."

/* A block set aside at boot, until the pool takes it: in its first bytes. */
struct sp_boot_block {
	struct list_head list;
};

static __initdata LIST_HEAD(sp_boot_blocks);
static u64 sp_boot_sizes[MAX_NUMNODES] __initdata;

/* What the command line asked for; NULL if it did not say. */
static const char *sp_reserve_cmdline;
/* The default pool took the boot blocks: the knob acts on it now. */
static bool sp_reserve_live;
static DEFINE_MUTEX(sp_reserve_mutex);

/*
 * A size at *@p: decimal digits and an optional suffix K, M, G, T, P or E
 * (either case), as memparse() reads them, but refused (-ERANGE) rather
 * than wrapped when it does not fit in 64 bits.  *@p moves past it.
 */
static int sp_reserve_size(const char **p, u64 *size)
{
	static const char suffixes[] = "kmgtpe";
	const char *s = *p, *suffix;
	unsigned int shift = 0;
	u64 num = 0;

	while (isdigit(*s)) {
		if (num > div_u64(U64_MAX - (*s - '0'), 10))
			return -ERANGE;
		num = num * 10 + (*s++ - '0');
	}
	suffix = *s ? strchr(suffixes, tolower(*s)) : NULL;
	if (suffix) {
		shift = 10 * (suffix - suffixes + 1);
		s++;
	}
	if (num > U64_MAX >> shift)
		return -ERANGE;
	*size = num << shift;
	*p = s;
	return 0;
}

/**
 * sp_reserve_parse() - parse a reservation such as "1G" or "1G@0,2G@1"
 * @str: the string; a newline at its end is allowed
 * @sizes: filled in with the bytes asked for on each node
 * @nr: number of entries of @sizes; node numbers must be below it
 * @every: set if one size was given for every node (every entry of @sizes)
 * @why: set to the reason when the string is refused
 *
 * An empty string or "0" asks for nothing.  Sizes take the suffixes of
 * memparse() (K, M, G, T, P, E) and must be multiples of SP_BLOCK_SIZE;
 * one that does not fit in 64 bits is refused.  Either one size
 * without a node, or any number of SIZE@NODE entries separated by commas,
 * each node at most once.
 *
 * Return: 0, or -EINVAL with @why set.
 */
int sp_reserve_parse(const char *str, u64 *sizes, unsigned int nr,
		     bool *every, const char **why)
{
	const char *p = str;
	bool per_node = false;
	unsigned int i;

	*every = false;
	*why = NULL;
	for (i = 0; i < nr; i++)
		sizes[i] = U64_MAX;	/* not named yet */

	while (*p && *p != '\n') {
		unsigned int nid = 0;
		u64 size;

		if (p != str) {
			if (*p != ',') {
				*why = "entries are separated by ','";
				return -EINVAL;
			}
			p++;
		}
		if (!isdigit(*p)) {
			*why = "a size such as 1G is expected";
			return -EINVAL;
		}
		if (sp_reserve_size(&p, &size)) {
			*why = "a size is too large";
			return -EINVAL;
		}
		if (size % SP_BLOCK_SIZE) {
			*why = "sizes are multiples of 1G";
			return -EINVAL;
		}
		if (*p != '@') {
			/* One size for every node: the whole string. */
			if (per_node || *p == ',') {
				*why = "a size for every node must be the only entry";
				return -EINVAL;
			}
			if (*p && *p != '\n') {
				*why = "a size is followed by '@node', ',' or nothing";
				return -EINVAL;
			}
			for (i = 0; i < nr; i++)
				sizes[i] = size;
			*every = true;
			continue;
		}
		p++;
		if (!isdigit(*p)) {
			*why = "a node number is expected after '@'";
			return -EINVAL;
		}
		while (isdigit(*p)) {
			nid = nid * 10 + (*p++ - '0');
			if (nid >= nr) {
				*why = "no such node";
				return -EINVAL;
			}
		}
		if (sizes[nid] != U64_MAX) {
			*why = "a node is named twice";
			return -EINVAL;
		}
		sizes[nid] = size;
		per_node = true;
	}
	if (*p == '\n' && p[1]) {
		*why = "text after the end of the line";
		return -EINVAL;
	}
	for (i = 0; i < nr; i++)
		if (sizes[i] == U64_MAX)
			sizes[i] = 0;
	return 0;
}

/*
 * Check a parsed reservation against the machine: every node it names
 * must have memory, and at least as much as it asks for.  A size for
 * every node applies to the nodes with memory only.
 */
static int sp_reserve_check(u64 *sizes, bool every, const char **why)
{
	int nid;

	for_each_node(nid) {
		if (!sizes[nid])
			continue;
		if (!node_state(nid, N_MEMORY)) {
			if (every) {
				sizes[nid] = 0;
				continue;
			}
			*why = "a node has no memory";
			return -EINVAL;
		}
		if (sizes[nid] > (u64)node_present_pages(nid) << PAGE_SHIFT) {
			*why = "more than a node has";
			return -EINVAL;
		}
	}
	return 0;
}

/**
 * secretpool_reserve_boot() - set aside the boot reservation
 *
 * Called from mm_init() before memblock_free_all(): takes the blocks
 * secretpool.reserve= (or CONFIG_SECRETMEM_POOL_RESERVE) asks for from
 * memblock, on their nodes, and keeps them for secretpool_init().
 */
void __init secretpool_reserve_boot(void)
{
	const char *str = sp_reserve_cmdline ?: CONFIG_SECRETMEM_POOL_RESERVE;
	const char *why;
	bool every;
	int nid;

	if (!*str || !strcmp(str, "0"))
		return;
	if (!sp_blocks_supported()) {
		pr_info("reserve=%s ignored: blocks of the page-table level above PMDs are not 1G here\n",
			str);
		return;
	}
	if (!secretmem_boot_enabled()) {
		pr_info("reserve=%s ignored: memfd_secret() is off (boot with secretmem.enable=1)\n",
			str);
		return;
	}
	if (sp_reserve_parse(str, sp_boot_sizes, nr_node_ids, &every, &why) ||
	    sp_reserve_check(sp_boot_sizes, every, &why)) {
		pr_err("reserve=%s refused: %s; nothing reserved\n", str, why);
		return;
	}

	for_each_node_state(nid, N_MEMORY) {
		u64 want = sp_boot_sizes[nid] / SP_BLOCK_SIZE, got = 0;

		while (got < want) {
			struct sp_boot_block *bb;

			bb = memblock_alloc_exact_nid_raw(SP_BLOCK_SIZE,
							  SP_BLOCK_SIZE, 0,
							  MEMBLOCK_ALLOC_ACCESSIBLE,
							  nid);
			if (!bb)
				break;
			/*
			 * Not an object of kmemleak's: it would scan the
			 * block, which leaves the direct map.
			 */
			kmemleak_free_part_phys(__pa(bb), SP_BLOCK_SIZE);
			list_add_tail(&bb->list, &sp_boot_blocks);
			got++;
		}
		if (got < want)
			pr_warn("node %d: reserved %llu of the %llu GiB asked for (no free 1G-aligned range left)\n",
				nid, got, want);
	}
}

/*
 * Hand one boot block to @pool, or to the buddy allocator if @pool is
 * NULL or cannot take it.  Either way its pages stop being reserved and
 * count as managed memory.
 */
static void __init sp_reserve_adopt_one(struct secretpool *pool,
					struct page *page)
{
	struct page *last = page + SP_BLOCK_PAGES - 1;
	phys_addr_t phys = page_to_phys(page);
	unsigned long i;
	int err = -ENODEV;

	for (i = 0; i < SP_BLOCK_PAGES; i++)
		ClearPageReserved(page + i);
	for (i = 0; i < SP_BLOCK_PAGES; i += SP_REGION_PAGES)
		adjust_managed_page_count(page + i, SP_REGION_PAGES);
	/*
	 * memblock marks no migrate type where it did not free: movable,
	 * so that the block, when it goes to the buddy allocator, is not
	 * 1G of free lists for unmovable allocations.
	 */
	for (i = 0; i < SP_BLOCK_PAGES; i += pageblock_nr_pages)
		set_pageblock_migratetype(page + i, MIGRATE_MOVABLE);

	/*
	 * memblock knows no ZONE_MOVABLE (kernelcore=, movablecore=): a
	 * block there would keep its memory from going offline for good.
	 */
	if (page_zone(page) != page_zone(last) ||
	    zone_idx(page_zone(page)) == ZONE_MOVABLE)
		err = -EXDEV;
	else if (pool)
		err = sp_pool_add_block(pool, page, true);
	if (!err)
		return;
	if (err == -EFAULT)	/* kept by the pool, unmapped */
		return;

	pr_err("cannot keep the reserved block at %pa (%d); it goes to the page allocator\n",
	       &phys, err);
	for (i = 0; i < SP_BLOCK_PAGES; i++) {
		__free_page(page + i);
		if (!(i % SP_REGION_PAGES))
			cond_resched();
	}
}

/**
 * secretpool_give_up() - memfd_secret() could not start: no pool
 *
 * The blocks set aside at boot go to the page allocator.
 */
void __init secretpool_give_up(void)
{
	sp_reserve_adopt(NULL);
}

/**
 * sp_reserve_adopt() - hand the boot blocks to the default pool
 * @pool: the default pool, or NULL if it could not be created
 *
 * Called once, by secretpool_init().  Blocks @pool cannot take go to the
 * buddy allocator.
 */
void __init sp_reserve_adopt(struct secretpool *pool)
{
	struct sp_boot_block *bb, *tmp;
	int nid;

	list_for_each_entry_safe(bb, tmp, &sp_boot_blocks, list) {
		list_del(&bb->list);
		sp_reserve_adopt_one(pool, virt_to_page(bb));
	}
	if (!pool)
		return;
	for_each_node_state(nid, N_MEMORY) {
		unsigned long blocks = sp_pool_nr_blocks(pool, nid);

		if (blocks)
			pr_info("node %d: %lu GiB reserved for secrets, removed from the direct map in 1G blocks\n",
				nid, blocks);
	}
	WRITE_ONCE(sp_reserve_live, true);
}

/* Bring node @nid of the default pool to @want blocks.  Reserve mutex held. */
static int sp_reserve_set_node(int nid, unsigned long want)
{
	unsigned long have = sp_pool_nr_blocks(sp_default, nid);
	int err;

	if (want < have) {
		/* Pages back from files may wait in LRU batches or caches. */
		lru_add_drain_all();
		sp_pool_drain(sp_default, nid);
		sp_pool_unreserve(sp_default, nid, have - want);
		return sp_pool_nr_blocks(sp_default, nid) > want ? -EBUSY : 0;
	}
	for (; have < want; have++) {
		err = sp_pool_take_block(sp_default, nid);
		if (err)
			return err;
	}
	return 0;
}

static int sp_reserve_set(const char *val, const struct kernel_param *kp)
{
	const char *why;
	bool every;
	u64 *sizes;
	int nid, err, ret = 0;

	/* On the command line, before the pool exists: kept for later. */
	if (!slab_is_available()) {
		sp_reserve_cmdline = val;
		return 0;
	}
	if (!READ_ONCE(sp_reserve_live))
		return -ENODEV;
	if (!sp_blocks_supported())
		return -EOPNOTSUPP;

	sizes = kcalloc(nr_node_ids, sizeof(*sizes), GFP_KERNEL);
	if (!sizes)
		return -ENOMEM;
	err = sp_reserve_parse(val, sizes, nr_node_ids, &every, &why);
	if (!err)
		err = sp_reserve_check(sizes, every, &why);
	if (err)
		goto out;

	mutex_lock(&sp_reserve_mutex);
	for_each_node_state(nid, N_MEMORY) {
		err = sp_reserve_set_node(nid, sizes[nid] / SP_BLOCK_SIZE);
		if (err && !ret)
			ret = err;
	}
	mutex_unlock(&sp_reserve_mutex);
	err = ret;
out:
	kfree(sizes);
	return err;
}

static int sp_reserve_get(char *buf, const struct kernel_param *kp)
{
	int nid, len = 0;

	if (READ_ONCE(sp_reserve_live)) {
		for_each_node_state(nid, N_MEMORY) {
			unsigned long blocks = sp_pool_nr_blocks(sp_default, nid);

			if (blocks)
				len += scnprintf(buf + len, PAGE_SIZE - len,
						 "%s%luG@%d", len ? "," : "",
						 blocks * (SP_BLOCK_SIZE >> 30),
						 nid);
		}
	}
	if (!len)
		len = scnprintf(buf, PAGE_SIZE, "0");
	len += scnprintf(buf + len, PAGE_SIZE - len, "\n");
	return len;
}

static const struct kernel_param_ops sp_reserve_ops = {
	.set = sp_reserve_set,
	.get = sp_reserve_get,
};

module_param_cb(reserve, &sp_reserve_ops, NULL, 0644);
MODULE_PARM_DESC(reserve,
		 "Memory set aside for secrets in 1G blocks: 1G (every node) or 1G@0,2G@1");
