/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events of memfd_secret()'s per-page path (mm/secretmem.c): a page taken
 * from the page allocator and removed from the direct map on its own, as
 * upstream secretmem does for every page, when the pool is off or could
 * not serve (trace/events/secretpool.h says why).  level_before is the
 * x86 page-table level of the direct-map entry that covered the page
 * (1: 4K, 2: 2M, 3: 1G, 0: unknown): above 1, removing the page split it.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM secretmem

#if !defined(_TRACE_SECRETMEM_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_SECRETMEM_H

#include <linux/types.h>
#include <linux/tracepoint.h>

TRACE_EVENT(secretmem_page_unmap,

	TP_PROTO(unsigned long pfn, int nid, int level_before, int level_after),

	TP_ARGS(pfn, nid, level_before, level_after),

	TP_STRUCT__entry(
		__field(unsigned long, pfn)
		__field(int, nid)
		__field(int, level_before)
		__field(int, level_after)
	),

	TP_fast_assign(
		__entry->pfn = pfn;
		__entry->nid = nid;
		__entry->level_before = level_before;
		__entry->level_after = level_after;
	),

	TP_printk("pfn=0x%lx nid=%d level_before=%s level_after=%s",
		  __entry->pfn, __entry->nid,
		  __print_symbolic(__entry->level_before, { 0, "?" },
				   { 1, "4K" }, { 2, "2M" }, { 3, "1G" }),
		  __print_symbolic(__entry->level_after, { 0, "?" },
				   { 1, "4K" }, { 2, "2M" }, { 3, "1G" }))
);

#endif /* _TRACE_SECRETMEM_H */

/* Outside the guard: define_trace.h reads this file again. */
#include <trace/define_trace.h>
