/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events of the pool behind memfd_secret() (mm/secretpool.c): regions and
 * blocks entering and leaving the direct map, where each page came from,
 * why an allocation fell back to the per-page path, shrinking and
 * recycling.  The per-page path itself reports in trace/events/secretmem.h.
 *
 * Direct-map levels are the x86 page-table levels of the entry covering
 * the memory (1: 4K, 2: 2M, 3: 1G, 0: unknown), read with lookup_address():
 * a region whose level_after is lower than its level_before split a larger
 * entry when it left the direct map.  Every event names its pool, so that
 * the KUnit suite's private pools can be told from the default one.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM secretpool

#if !defined(_TRACE_SECRETPOOL_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SECRETPOOL_H

#include <linux/types.h>
#include <linux/tracepoint.h>

#ifndef _TRACE_SECRETPOOL_ENUMS
#define _TRACE_SECRETPOOL_ENUMS
/* Where secretpool_alloc found its page. */
enum secretpool_source {
	SECRETPOOL_SRC_PCP,	/* this CPU's cache */
	SECRETPOOL_SRC_NODE,	/* a region of the wanted node */
	SECRETPOOL_SRC_GROW,	/* a region the allocation grew */
	SECRETPOOL_SRC_REMOTE,	/* another node, as the fallback order goes */
};

/* Why secretpool_fallback sent an allocation to the per-page path. */
enum secretpool_reason {
	SECRETPOOL_FB_FROZEN,		/* a hibernation image is being made */
	SECRETPOOL_FB_NO_NODE,		/* the policy allows no node with memory */
	SECRETPOOL_FB_NO_SLEEP,		/* growing needs a context that may sleep */
	SECRETPOOL_FB_MAX_REGIONS,	/* every allowed node is at max_regions */
	SECRETPOOL_FB_NO_BLOCK,		/* no free 2M block (or no bookkeeping) */
	SECRETPOOL_FB_CPA,		/* the direct map could not be changed */
	SECRETPOOL_FB_RACED,		/* others took the new regions' pages */
};
#endif

TRACE_DEFINE_ENUM(SECRETPOOL_SRC_PCP);
TRACE_DEFINE_ENUM(SECRETPOOL_SRC_NODE);
TRACE_DEFINE_ENUM(SECRETPOOL_SRC_GROW);
TRACE_DEFINE_ENUM(SECRETPOOL_SRC_REMOTE);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_FROZEN);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_NO_NODE);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_NO_SLEEP);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_MAX_REGIONS);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_NO_BLOCK);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_CPA);
TRACE_DEFINE_ENUM(SECRETPOOL_FB_RACED);

#define secretpool_show_level(l)					\
	__print_symbolic(l, { 0, "?" }, { 1, "4K" }, { 2, "2M" },	\
			 { 3, "1G" }, { 4, "512G" })

#define secretpool_show_source(s)					\
	__print_symbolic(s,						\
			 { SECRETPOOL_SRC_PCP, "pcp" },			\
			 { SECRETPOOL_SRC_NODE, "node" },		\
			 { SECRETPOOL_SRC_GROW, "grow" },		\
			 { SECRETPOOL_SRC_REMOTE, "remote" })

#define secretpool_show_reason(r)					\
	__print_symbolic(r,						\
			 { SECRETPOOL_FB_FROZEN, "frozen" },		\
			 { SECRETPOOL_FB_NO_NODE, "no_node" },		\
			 { SECRETPOOL_FB_NO_SLEEP, "no_sleep" },	\
			 { SECRETPOOL_FB_MAX_REGIONS, "max_regions" },	\
			 { SECRETPOOL_FB_NO_BLOCK, "no_block" },	\
			 { SECRETPOOL_FB_CPA, "cpa" },			\
			 { SECRETPOOL_FB_RACED, "raced" })

/*
 * A 2M region or a 1G block entering the direct map's hole (grow, add) or
 * leaving it (release).  @size is in pages; @flags: packed (grow: taken
 * from a 1G range the node had split already) or boot (add: set aside by
 * secretpool.reserve=).
 */
DECLARE_EVENT_CLASS(secretpool_range,

	TP_PROTO(const char *pool, int nid, unsigned long pfn,
		 unsigned long size, int level_before, int level_after,
		 bool flag),

	TP_ARGS(pool, nid, pfn, size, level_before, level_after, flag),

	TP_STRUCT__entry(
		__string(pool, pool)
		__field(int, nid)
		__field(unsigned long, pfn)
		__field(unsigned long, size)
		__field(int, level_before)
		__field(int, level_after)
		__field(bool, flag)
	),

	TP_fast_assign(
		__assign_str(pool, pool);
		__entry->nid = nid;
		__entry->pfn = pfn;
		__entry->size = size;
		__entry->level_before = level_before;
		__entry->level_after = level_after;
		__entry->flag = flag;
	),

	TP_printk("pool=%s nid=%d pfn=0x%lx pages=%lu level_before=%s level_after=%s flag=%d",
		  __get_str(pool), __entry->nid, __entry->pfn, __entry->size,
		  secretpool_show_level(__entry->level_before),
		  secretpool_show_level(__entry->level_after),
		  __entry->flag)
);

/* A region taken from the page allocator and removed from the direct map. */
DEFINE_EVENT(secretpool_range, secretpool_region_grow,
	TP_PROTO(const char *pool, int nid, unsigned long pfn,
		 unsigned long size, int level_before, int level_after,
		 bool flag),
	TP_ARGS(pool, nid, pfn, size, level_before, level_after, flag));

/* A region mapped back and given to the page allocator. */
DEFINE_EVENT(secretpool_range, secretpool_region_release,
	TP_PROTO(const char *pool, int nid, unsigned long pfn,
		 unsigned long size, int level_before, int level_after,
		 bool flag),
	TP_ARGS(pool, nid, pfn, size, level_before, level_after, flag));

/* A 1G block given to the pool and removed from the direct map. */
DEFINE_EVENT(secretpool_range, secretpool_block_add,
	TP_PROTO(const char *pool, int nid, unsigned long pfn,
		 unsigned long size, int level_before, int level_after,
		 bool flag),
	TP_ARGS(pool, nid, pfn, size, level_before, level_after, flag));

/* A 1G block mapped back and given to the page allocator. */
DEFINE_EVENT(secretpool_range, secretpool_block_release,
	TP_PROTO(const char *pool, int nid, unsigned long pfn,
		 unsigned long size, int level_before, int level_after,
		 bool flag),
	TP_ARGS(pool, nid, pfn, size, level_before, level_after, flag));

/* A page served: the node asked for, the page, and where it came from. */
TRACE_EVENT(secretpool_alloc,

	TP_PROTO(const char *pool, int nid, unsigned long pfn, int page_nid,
		 int source),

	TP_ARGS(pool, nid, pfn, page_nid, source),

	TP_STRUCT__entry(
		__string(pool, pool)
		__field(int, nid)
		__field(unsigned long, pfn)
		__field(int, page_nid)
		__field(int, source)
	),

	TP_fast_assign(
		__assign_str(pool, pool);
		__entry->nid = nid;
		__entry->pfn = pfn;
		__entry->page_nid = page_nid;
		__entry->source = source;
	),

	TP_printk("pool=%s nid=%d pfn=0x%lx page_nid=%d source=%s",
		  __get_str(pool), __entry->nid, __entry->pfn,
		  __entry->page_nid, secretpool_show_source(__entry->source))
);

/* An allocation the pool could not serve, and why. */
TRACE_EVENT(secretpool_fallback,

	TP_PROTO(const char *pool, int nid, int reason),

	TP_ARGS(pool, nid, reason),

	TP_STRUCT__entry(
		__string(pool, pool)
		__field(int, nid)
		__field(int, reason)
	),

	TP_fast_assign(
		__assign_str(pool, pool);
		__entry->nid = nid;
		__entry->reason = reason;
	),

	TP_printk("pool=%s nid=%d reason=%s", __get_str(pool), __entry->nid,
		  secretpool_show_reason(__entry->reason))
);

/* A call to give empty regions back: asked for, kept, given back (pages). */
TRACE_EVENT(secretpool_shrink,

	TP_PROTO(const char *pool, int nid, unsigned long nr_asked,
		 unsigned long keep, unsigned long freed),

	TP_ARGS(pool, nid, nr_asked, keep, freed),

	TP_STRUCT__entry(
		__string(pool, pool)
		__field(int, nid)
		__field(unsigned long, nr_asked)
		__field(unsigned long, keep)
		__field(unsigned long, freed)
	),

	TP_fast_assign(
		__assign_str(pool, pool);
		__entry->nid = nid;
		__entry->nr_asked = nr_asked;
		__entry->keep = keep;
		__entry->freed = freed;
	),

	TP_printk("pool=%s nid=%d asked=%lu keep=%lu freed=%lu",
		  __get_str(pool), __entry->nid, __entry->nr_asked,
		  __entry->keep, __entry->freed)
);

/*
 * A pass over a node's pending pages (freed by their files, zeroed and
 * put back here): looked at, put back (or retired), still pending.
 */
TRACE_EVENT(secretpool_recycle,

	TP_PROTO(const char *pool, int nid, unsigned int scanned,
		 unsigned int done, unsigned long pending),

	TP_ARGS(pool, nid, scanned, done, pending),

	TP_STRUCT__entry(
		__string(pool, pool)
		__field(int, nid)
		__field(unsigned int, scanned)
		__field(unsigned int, done)
		__field(unsigned long, pending)
	),

	TP_fast_assign(
		__assign_str(pool, pool);
		__entry->nid = nid;
		__entry->scanned = scanned;
		__entry->done = done;
		__entry->pending = pending;
	),

	TP_printk("pool=%s nid=%d scanned=%u recycled=%u pending=%lu",
		  __get_str(pool), __entry->nid, __entry->scanned,
		  __entry->done, __entry->pending)
);

#endif /* _TRACE_SECRETPOOL_H */

/* Outside the guard: define_trace.h reads this file again. */
#include <trace/define_trace.h>
