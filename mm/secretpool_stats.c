// SPDX-License-Identifier: GPL-2.0
/*
 * secretpool: what the pool behind memfd_secret() shows of itself
 *
 * The observability of mm/secretpool.c, apart from its mechanics: the
 * lines of /proc/meminfo and of each node's meminfo (a stable interface,
 * Documentation/ABI/testing/procfs-secretpool), and the files in
 * /sys/kernel/debug/secretpool/ (the detailed view, not an ABI: stats,
 * regions, blocks, pcp, audit, shrink).  The vmstat events are counted
 * where the pool does what they count, in mm/secretpool.c.
 *
 * Rules: everything here reads the default pool (sp_default), which
 * exists from secretpool_init() on and is never destroyed.  The meminfo
 * lines read the pool's counters without locks (figures may be off by
 * what is moving at the time); the debugfs files take the node locks
 * through sp_pool_stats() and sp_pool_audit() or for their walks of the
 * lists, and the per-CPU caches' counts are read without theirs.
 */

#define pr_fmt(fmt) "secretpool: " fmt

#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/secretpool.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/sysfs.h>

#include "secretpool.h"

/* ---------------------------------------------------------------------
 * /proc/meminfo and the nodes' meminfo
 * ---------------------------------------------------------------------
 */

struct sp_meminfo {
	unsigned long held, free, reserved;	/* pages */
};

/* What node @nid's part of the default pool holds, read without locks. */
static void sp_meminfo_node(int nid, struct sp_meminfo *mi)
{
	struct sp_nodepool *n;
	int cpu;

	if (!sp_default)
		return;
	n = sp_default->nodes[nid];
	mi->held += (READ_ONCE(n->nr_regions) + READ_ONCE(n->nr_stuck)) *
		    SP_REGION_PAGES;
	mi->free += READ_ONCE(n->nr_free);
	mi->reserved += READ_ONCE(n->nr_blocks) * SP_BLOCK_PAGES;
	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(sp_default->pcp, cpu);

		if (READ_ONCE(pcp->nid) == nid)
			mi->free += READ_ONCE(pcp->count);
	}
}

/**
 * secretpool_report_meminfo() - the pool's lines of /proc/meminfo
 * @m: the file being shown
 *
 * SecretPool: the memory the pool holds (regions and blocks, whatever
 * their pages are doing); SecretPoolFree: its free pages; and
 * SecretPoolReserved: the part of it in 1G blocks.  All zero while the
 * pool is not running.
 */
void secretpool_report_meminfo(struct seq_file *m)
{
	struct sp_meminfo mi = {};
	int nid;

	for_each_node_state(nid, N_MEMORY)
		sp_meminfo_node(nid, &mi);
	seq_printf(m, "SecretPool:     %8lu kB\n", mi.held << (PAGE_SHIFT - 10));
	seq_printf(m, "SecretPoolFree: %8lu kB\n", mi.free << (PAGE_SHIFT - 10));
	seq_printf(m, "SecretPoolReserved: %8lu kB\n",
		   mi.reserved << (PAGE_SHIFT - 10));
}

/**
 * secretpool_report_node_meminfo() - the pool's lines of a node's meminfo
 * @buf: the sysfs buffer
 * @len: what is in it already
 * @nid: the node
 *
 * Return: the number of bytes added, as sysfs_emit_at() counts them.
 */
int secretpool_report_node_meminfo(char *buf, int len, int nid)
{
	struct sp_meminfo mi = {};

	sp_meminfo_node(nid, &mi);
	return sysfs_emit_at(buf, len,
			     "Node %d SecretPool:     %8lu kB\n"
			     "Node %d SecretPoolFree: %8lu kB\n"
			     "Node %d SecretPoolReserved: %8lu kB\n",
			     nid, mi.held << (PAGE_SHIFT - 10),
			     nid, mi.free << (PAGE_SHIFT - 10),
			     nid, mi.reserved << (PAGE_SHIFT - 10));
}

#ifdef CONFIG_DEBUG_FS
static int sp_stats_show(struct seq_file *m, void *v)
{
	struct secretpool_stats st, sum = {};
	int nid;

	seq_printf(m, "%-5s %8s %8s %7s %8s %8s %8s %6s %9s %7s %9s %12s %7s %9s %9s %8s %7s %9s %10s %7s %7s %8s %6s\n",
		   "node", "regions", "free", "cached", "pending", "in_use",
		   "poisoned", "empty", "unmap_2m", "grown", "released",
		   "grow_failed", "remote", "fallback", "recycled", "retired",
		   "blocks", "unmap_1g", "resv_free", "sparse", "packed",
		   "kept_1g", "moved");
	for_each_node_state(nid, N_MEMORY) {
		sp_pool_stats(sp_default, nid, &st);
		seq_printf(m, "%-5d %8lu %8lu %7lu %8lu %8lu %8lu %6lu %9lu %7lu %9lu %12lu %7lu %9lu %9lu %8lu %7lu %9lu %10lu %7lu %7lu %8lu %6lu\n",
			   nid, st.regions, st.free, st.cached, st.pending,
			   st.in_use, st.poisoned, st.empty_regions,
			   st.regions_2m, st.grown, st.released,
			   st.grow_failed, st.remote, st.fallback, st.recycled,
			   st.retired, st.blocks, st.blocks_1g,
			   st.reserved_free, st.sparse, st.packed, st.kept_1g,
			   st.moved);
		sum.regions += st.regions;
		sum.free += st.free;
		sum.cached += st.cached;
		sum.pending += st.pending;
		sum.in_use += st.in_use;
		sum.poisoned += st.poisoned;
		sum.empty_regions += st.empty_regions;
		sum.regions_2m += st.regions_2m;
		sum.grown += st.grown;
		sum.released += st.released;
		sum.grow_failed += st.grow_failed;
		sum.remote += st.remote;
		sum.fallback += st.fallback;
		sum.recycled += st.recycled;
		sum.retired += st.retired;
		sum.stuck += st.stuck;
		sum.blocks += st.blocks;
		sum.blocks_1g += st.blocks_1g;
		sum.reserved_free += st.reserved_free;
		sum.sparse += st.sparse;
		sum.packed += st.packed;
		sum.kept_1g += st.kept_1g;
		sum.moved += st.moved;
	}
	seq_printf(m, "%-5s %8lu %8lu %7lu %8lu %8lu %8lu %6lu %9lu %7lu %9lu %12lu %7lu %9lu %9lu %8lu %7lu %9lu %10lu %7lu %7lu %8lu %6lu\n",
		   "all", sum.regions, sum.free, sum.cached, sum.pending,
		   sum.in_use, sum.poisoned, sum.empty_regions, sum.regions_2m,
		   sum.grown, sum.released, sum.grow_failed, sum.remote,
		   sum.fallback, sum.recycled, sum.retired, sum.blocks,
		   sum.blocks_1g, sum.reserved_free, sum.sparse, sum.packed,
		   sum.kept_1g, sum.moved);
	seq_printf(m, "\nenabled %d\nfrozen %d\nlow_watermark %u\nhigh_watermark %u\nmax_regions %u\nkeep_1g %d\npoisoned %lu\nstuck %lu\nheld_kb %lu\nreserved_kb %lu\n",
		   READ_ONCE(sp_enabled), READ_ONCE(sp_default->frozen),
		   READ_ONCE(sp_default_params.low_watermark),
		   READ_ONCE(sp_default_params.high_watermark),
		   READ_ONCE(sp_default_params.max_regions),
		   READ_ONCE(sp_default_params.keep_1g),
		   sum.poisoned, sum.stuck,
		   (sum.regions + sum.stuck) * (SP_REGION_SIZE >> 10),
		   sum.blocks * (SP_BLOCK_SIZE >> 10));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_stats);

static int sp_regions_show(struct seq_file *m, void *v)
{
	static const char * const names[SP_NR_GROUPS] = {
		"full", "partial", "partial", "partial", "partial", "reserved",
		"empty",
	};
	struct sp_region *r;
	int nid, g;

	seq_printf(m, "%-5s %-18s %5s %7s %8s %-8s %12s %12s\n", "node", "phys",
		   "free", "pending", "poisoned", "group", "level_before",
		   "level");
	for_each_node_state(nid, N_MEMORY) {
		struct sp_nodepool *n = sp_default->nodes[nid];

		spin_lock(&n->lock);
		for (g = 0; g < SP_NR_GROUPS; g++) {
			list_for_each_entry(r, &n->lists[g], list)
				seq_printf(m, "%-5d %#018llx %5u %7u %8u %-8s %12u %12u\n",
					   nid, (u64)PFN_PHYS(r->pfn),
					   r->nr_free, r->nr_pending,
					   r->nr_poisoned, names[g],
					   r->level_before, r->level);
		}
		spin_unlock(&n->lock);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_regions);

/* One line per block: where it is, how much of it is empty, its mapping. */
static int sp_blocks_show(struct seq_file *m, void *v)
{
	struct sp_block *b;
	int nid;

	seq_printf(m, "%-5s %-18s %6s %12s %12s %-4s\n", "node", "phys",
		   "empty", "level_before", "level", "boot");
	for_each_node_state(nid, N_MEMORY) {
		struct sp_nodepool *n = sp_default->nodes[nid];

		spin_lock(&n->lock);
		list_for_each_entry(b, &n->blocks, list)
			seq_printf(m, "%-5d %#018llx %6u %12u %12u %-4d\n",
				   nid, (u64)PFN_PHYS(b->pfn), b->nr_empty,
				   b->level_before, b->level, b->boot);
		spin_unlock(&n->lock);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_blocks);

/* One line per CPU: whether it is online, its cache's node and size. */
static int sp_pcp_show(struct seq_file *m, void *v)
{
	int cpu;

	seq_printf(m, "%-5s %6s %5s %6s\n", "cpu", "online", "node", "count");
	for_each_possible_cpu(cpu) {
		struct sp_pcp *pcp = per_cpu_ptr(sp_default->pcp, cpu);

		seq_printf(m, "%-5d %6d %5d %6u\n", cpu, cpu_online(cpu),
			   READ_ONCE(pcp->nid), READ_ONCE(pcp->count));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_pcp);

/* Every node's pages counted by walking; "ok" or "MISMATCH" per node. */
static int sp_audit_show(struct seq_file *m, void *v)
{
	struct sp_audit a;
	int nid, err;

	for_each_node_state(nid, N_MEMORY) {
		err = sp_pool_audit(sp_default, nid, &a);
		seq_printf(m, "node %d regions %lu free %lu cached %lu pending %lu poisoned %lu in_use %ld bad_regions %lu %s\n",
			   nid, a.regions, a.free, a.cached, a.pending,
			   a.poisoned, a.in_use, a.bad_regions,
			   err ? "MISMATCH" : "ok");
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(sp_audit);

/* Writing anything gives back everything idle: sp_pool_empty(). */
static ssize_t sp_shrink_write(struct file *file, const char __user *buf,
			       size_t count, loff_t *ppos)
{
	sp_pool_empty(sp_default);
	return count;
}

static const struct file_operations sp_shrink_fops = {
	.write = sp_shrink_write,
	.llseek = noop_llseek,
};

/**
 * sp_debugfs_init() - the pool's files in /sys/kernel/debug/secretpool/
 */
void sp_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("secretpool", NULL);

	debugfs_create_file("stats", 0444, dir, NULL, &sp_stats_fops);
	debugfs_create_file("regions", 0400, dir, NULL, &sp_regions_fops);
	debugfs_create_file("blocks", 0400, dir, NULL, &sp_blocks_fops);
	debugfs_create_file("pcp", 0444, dir, NULL, &sp_pcp_fops);
	debugfs_create_file("audit", 0400, dir, NULL, &sp_audit_fops);
	debugfs_create_file("shrink", 0200, dir, NULL, &sp_shrink_fops);
}
#endif /* CONFIG_DEBUG_FS */
