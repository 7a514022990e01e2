// SPDX-License-Identifier: GPL-2.0
/*
 * tlbsim.c - replay a direct-map access trace (dmtrace.c) through a model
 * of a CPU's data TLBs, for one or more direct-map layouts.
 *
 *   tlbsim [-w PERCENT] -g GEOMETRIES -c CORE -l NAME=LAYOUT [-l ...]
 *          TRACE.bin [TRACE.bin ...]
 *
 * Besides the whole trace's figures, the same pass counts the steady
 * state: the misses after the first PERCENT (default 20) of each trace's
 * records, which warm the TLBs unmeasured (warm_* below), so that most
 * compulsory misses drop out.
 *
 * GEOMETRIES is a text file (geometries.txt) of lines
 *
 *   CORE LEVEL ARRAY ENTRIES WAYS HOLDS
 *
 * LEVEL is l1 or l2; HOLDS lists the page sizes the array caches, as
 * 4k,2m,1g; "1g>2m" caches a 1G translation as the 2M piece being
 * accessed (how some cores keep 1G pages in a 2M array).  WAYS equal to
 * ENTRIES is fully associative.  Replacement is LRU within a set.
 *
 * A LAYOUT file has one line per mapped range of the direct map:
 * "START END SHIFT", offsets from the direct map's base in hex, SHIFT 12,
 * 21 or 30 (layout.py makes it from the kernel's page-table dump).  An
 * access to a page no range covers is counted as unmapped and not looked
 * up (the pool's own regions are not present in the direct map).
 *
 * Every trace file is one vCPU's stream (its own TLB); the TLBs start
 * empty for each file.  A record is a u64, (page << 2) | class, with
 * consecutive repeats already folded (a repeat hits in any LRU level):
 * class 0 is the direct map (page: 4K index from its base; the layout
 * gives the page size), class 1 other 4K pages and class 2 other 2M pages
 * (page: address >> 12), which only compete for the entries.  A sibling
 * .txt file gives the access counts before folding.
 *
 * Per layout one line is printed:
 *   layout=NAME core=CORE accesses=N records=N l1_misses=N walks=N
 *   walks_4k=N walks_2m=N walks_1g=N unmapped=N l1_mpka=X walks_pka=X
 *   all_accesses=N other_l1_misses=N other_walks=N warm_accesses=N
 *   warm_l1_misses=N warm_walks=N warm_l1_mpka=X warm_walks_pka=X
 * where accesses, records, misses and walks are the direct map's and
 * *_pka are per 1,000 direct-map accesses; other_* are the competing
 * classes' own misses and walks; warm_accesses is estimated from the
 * accesses in proportion to the direct-map records after the warm-up.
 *
 * The model's limits: no page-walk caches (every walk counts the same),
 * no prefetch, no speculative or wrong-path accesses, no TLB flushes
 * (the kernel's direct-map entries are global; flush_tlb_all() and the
 * like are not seen), no accesses outside the direct map competing for
 * the entries (user memory, vmalloc, the kernel image), separate or
 * shared arrays exactly as the geometry file says, and no
 * non-inclusive/victim subtleties: an L1 miss that hits L2 fills L1, a
 * walk fills both.  A trace without its .txt is counted per record, with
 * a warning.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARRAYS	8
#define MAX_LAYOUTS	8
#define NSIZES		3	/* 4K, 2M, 1G */

static const int size_shift[NSIZES] = { 12, 21, 30 };

struct tlb_array {
	char name[32];
	int level;		/* 0: L1, 1: L2 */
	unsigned int sets, ways;
	/* holds[s]: -1 not held, else the size index the entry is kept as */
	int holds[NSIZES];
	uint64_t *tag;		/* sets * ways; 0 = empty */
	uint64_t *stamp;
};

struct geometry {
	char core[32];
	int n;
	struct tlb_array arr[MAX_ARRAYS];
};

struct layout {
	char name[64];
	uint64_t npages;	/* 4K pages covered by the table */
	uint8_t *size;		/* per 4K page: 0 unmapped, else 1 + size index */
	uint64_t accesses, records, l1_misses, walks, unmapped;
	uint64_t walks_by[NSIZES];
	uint64_t all_accesses, other_l1_misses, other_walks;
	/* after the warm-up part of each trace */
	uint64_t warm_records, warm_l1_misses, warm_walks;
	double warm_accesses;
};

static uint64_t clock_now;

static void die(const char *msg, const char *arg)
{
	fprintf(stderr, "tlbsim: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	exit(2);
}

static int size_index(const char *s, size_t len)
{
	if (len == 2 && !strncmp(s, "4k", 2))
		return 0;
	if (len == 2 && !strncmp(s, "2m", 2))
		return 1;
	if (len == 2 && !strncmp(s, "1g", 2))
		return 2;
	return -1;
}

static void parse_holds(struct tlb_array *a, const char *holds)
{
	const char *p = holds;
	int i;

	for (i = 0; i < NSIZES; i++)
		a->holds[i] = -1;
	while (*p) {
		const char *end = strchr(p, ',');
		const char *gt;
		size_t len = end ? (size_t)(end - p) : strlen(p);
		int from, as;

		gt = memchr(p, '>', len);
		if (gt) {
			from = size_index(p, (size_t)(gt - p));
			as = size_index(gt + 1, len - (size_t)(gt - p) - 1);
		} else {
			from = size_index(p, len);
			as = from;
		}
		if (from < 0 || as < 0 || as > from)
			die("bad page-size list", holds);
		a->holds[from] = as;
		p += len;
		if (*p == ',')
			p++;
	}
}

static void load_geometry(struct geometry *g, const char *path, const char *core)
{
	char line[512], c[64], level[8], name[32], holds[64];
	unsigned int entries, ways;
	FILE *f = fopen(path, "r");

	if (!f)
		die("cannot open geometry file", path);
	memset(g, 0, sizeof(*g));
	snprintf(g->core, sizeof(g->core), "%s", core);
	while (fgets(line, sizeof(line), f)) {
		struct tlb_array *a;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%63s %7s %31s %u %u %63s", c, level, name,
			   &entries, &ways, holds) != 6)
			die("bad geometry line", line);
		if (strcmp(c, core))
			continue;
		if (g->n == MAX_ARRAYS)
			die("too many arrays for", core);
		if (!ways || entries % ways)
			die("entries must be a multiple of ways", line);
		a = &g->arr[g->n++];
		snprintf(a->name, sizeof(a->name), "%s", name);
		if (!strcmp(level, "l1"))
			a->level = 0;
		else if (!strcmp(level, "l2"))
			a->level = 1;
		else
			die("level must be l1 or l2", line);
		a->ways = ways;
		a->sets = entries / ways;
		parse_holds(a, holds);
	}
	fclose(f);
	if (!g->n)
		die("no such core in the geometry file", core);
}

static void reset_geometry(struct geometry *g)
{
	int i;

	for (i = 0; i < g->n; i++) {
		struct tlb_array *a = &g->arr[i];
		size_t n = (size_t)a->sets * a->ways;

		free(a->tag);
		free(a->stamp);
		a->tag = calloc(n, sizeof(*a->tag));
		a->stamp = calloc(n, sizeof(*a->stamp));
		if (!a->tag || !a->stamp)
			die("out of memory", NULL);
	}
}

/*
 * Look the page up in array @a; on a miss with @fill, put it in the LRU
 * way of its set.  Returns 1 on a hit.
 */
static int tlb_access(struct tlb_array *a, uint64_t page, int cls, int size,
		      int fill)
{
	int as = a->holds[size];
	uint64_t vpn, tag, *t, *st;
	unsigned int set, w, victim = 0;

	if (as < 0)
		return 0;
	vpn = page >> (size_shift[as] - 12);
	/* Tag 0 means empty, so the size code starts at 1. */
	tag = (vpn << 4) | ((uint64_t)cls << 2) | (uint64_t)(as + 1);
	set = (unsigned int)(vpn % a->sets);
	t = &a->tag[(size_t)set * a->ways];
	st = &a->stamp[(size_t)set * a->ways];
	for (w = 0; w < a->ways; w++) {
		if (t[w] == tag) {
			st[w] = ++clock_now;
			return 1;
		}
		if (st[w] < st[victim])
			victim = w;
	}
	if (fill) {
		t[victim] = tag;
		st[victim] = ++clock_now;
	}
	return 0;
}

/* The LRU stamp of the way a fill of @page would take in @a (0: empty). */
static uint64_t tlb_victim_stamp(struct tlb_array *a, uint64_t page, int size)
{
	int as = a->holds[size];
	uint64_t vpn = page >> (size_shift[as] - 12), *st, min;
	unsigned int w;

	st = &a->stamp[(size_t)(vpn % a->sets) * a->ways];
	min = st[0];
	for (w = 1; w < a->ways; w++)
		if (st[w] < min)
			min = st[w];
	return min;
}

/*
 * Fill one array of @level that holds pages of @size: where several do
 * (Golden Cove's STLB keeps 4K pages in both halves), the one whose set
 * has an empty way or else the least recently used entry.
 */
static void tlb_fill(struct geometry *g, int level, uint64_t page, int cls,
		     int size)
{
	struct tlb_array *best = NULL;
	uint64_t best_stamp = 0;
	int i;

	for (i = 0; i < g->n; i++) {
		struct tlb_array *a = &g->arr[i];
		uint64_t st;

		if (a->level != level || a->holds[size] < 0)
			continue;
		st = tlb_victim_stamp(a, page, size);
		if (!best || st < best_stamp) {
			best = a;
			best_stamp = st;
		}
	}
	if (best)
		tlb_access(best, page, cls, size, 1);
}

static int tlb_lookup(struct geometry *g, int level, uint64_t page, int cls,
		      int size)
{
	int i;

	for (i = 0; i < g->n; i++)
		if (g->arr[i].level == level &&
		    tlb_access(&g->arr[i], page, cls, size, 0))
			return 1;
	return 0;
}

/*
 * One access through the levels; a miss fills on the way back.  @warm:
 * the access is past the warm-up part and counts in the warm_* figures.
 */
static void simulate(struct geometry *g, struct layout *l, uint64_t rec,
		     int warm)
{
	int cls = (int)(rec & 3), size;
	uint64_t page = rec >> 2;

	if (cls == 0) {
		if (page >= l->npages || !l->size[page]) {
			l->unmapped++;
			return;
		}
		size = l->size[page] - 1;
		l->records++;
		l->warm_records += warm;
	} else {
		size = cls == 2 ? 1 : 0;
	}
	if (tlb_lookup(g, 0, page, cls, size))
		return;
	if (cls) {
		l->other_l1_misses++;
	} else {
		l->l1_misses++;
		l->warm_l1_misses += warm;
	}
	if (!tlb_lookup(g, 1, page, cls, size)) {
		if (cls) {
			l->other_walks++;
		} else {
			l->walks++;
			l->walks_by[size]++;
			l->warm_walks += warm;
		}
		tlb_fill(g, 1, page, cls, size);
	}
	tlb_fill(g, 0, page, cls, size);
}

static void load_layout(struct layout *l, const char *arg)
{
	const char *eq = strchr(arg, '=');
	const char *path = eq ? eq + 1 : arg;
	unsigned long long start, end;
	unsigned int shift;
	char line[256];
	FILE *f;

	memset(l, 0, sizeof(*l));
	snprintf(l->name, sizeof(l->name), "%.*s",
		 eq ? (int)(eq - arg) : (int)strlen(arg), arg);
	f = fopen(path, "r");
	if (!f)
		die("cannot open layout", path);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llx %llx %u", &start, &end, &shift) != 3)
			die("bad layout line", line);
		if (end >> 12 > l->npages)
			l->npages = end >> 12;
	}
	l->size = calloc(l->npages ? l->npages : 1, 1);
	if (!l->size)
		die("out of memory", NULL);
	rewind(f);
	while (fgets(line, sizeof(line), f)) {
		uint64_t p;
		int s;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%llx %llx %u", &start, &end, &shift) != 3)
			continue;
		for (s = 0; s < NSIZES && size_shift[s] != (int)shift; s++)
			;
		if (s == NSIZES)
			die("shift must be 12, 21 or 30", line);
		if ((start | end) & ((1ULL << shift) - 1))
			die("range not aligned to its page size", line);
		for (p = start >> 12; p < end >> 12; p++)
			l->size[p] = (uint8_t)(s + 1);
	}
	fclose(f);
}

/*
 * An access count of a trace (@what: "accesses" or "dm_accesses") from its
 * .txt sibling, else @records.
 */
static uint64_t trace_count(const char *bin, const char *what, uint64_t records)
{
	char path[4096], key[32];
	unsigned long long v;
	size_t n = strlen(bin);
	FILE *f;

	if (n < 4 || strcmp(bin + n - 4, ".bin") || n >= sizeof(path))
		return records;
	memcpy(path, bin, n - 4);
	strcpy(path + n - 4, ".txt");
	f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "tlbsim: %s missing: counting %s per record\n",
			path, what);
		return records;
	}
	while (fscanf(f, "%31s %llu", key, &v) == 2) {
		if (!strcmp(key, what)) {
			fclose(f);
			return v;
		}
	}
	fclose(f);
	return records;
}

int main(int argc, char **argv)
{
	static struct layout layouts[MAX_LAYOUTS];
	const char *geo_path = NULL, *core = NULL;
	struct geometry g;
	int nl = 0, i, opt;
	double warm_pct = 20;
	uint64_t *buf;
	size_t bufn = 1 << 20;

	for (opt = 1; opt < argc; opt++) {
		if (!strcmp(argv[opt], "-g") && opt + 1 < argc) {
			geo_path = argv[++opt];
		} else if (!strcmp(argv[opt], "-w") && opt + 1 < argc) {
			warm_pct = atof(argv[++opt]);
			if (warm_pct < 0 || warm_pct >= 100)
				die("-w wants a percentage from 0 to 99", argv[opt]);
		} else if (!strcmp(argv[opt], "-c") && opt + 1 < argc) {
			core = argv[++opt];
		} else if (!strcmp(argv[opt], "-l") && opt + 1 < argc) {
			if (nl == MAX_LAYOUTS)
				die("too many layouts", NULL);
			load_layout(&layouts[nl++], argv[++opt]);
		} else if (argv[opt][0] == '-') {
			die("usage: tlbsim [-w PERCENT] -g GEOMETRIES -c CORE -l NAME=LAYOUT... TRACE.bin...", NULL);
		} else {
			break;
		}
	}
	if (!geo_path || !core || !nl || opt == argc)
		die("usage: tlbsim [-w PERCENT] -g GEOMETRIES -c CORE -l NAME=LAYOUT... TRACE.bin...", NULL);
	load_geometry(&g, geo_path, core);
	buf = malloc(bufn * sizeof(*buf));
	if (!buf)
		die("out of memory", NULL);

	for (i = 0; i < nl; i++) {
		struct layout *l = &layouts[i];
		int t;

		for (t = opt; t < argc; t++) {
			FILE *f = fopen(argv[t], "rb");
			uint64_t records = 0, dm_before = l->records;
			uint64_t warm_before = l->warm_records, dm, acc, from;
			long size;
			size_t n, k;

			if (!f)
				die("cannot open trace", argv[t]);
			if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0)
				die("cannot size trace", argv[t]);
			rewind(f);
			/* Records before @from warm the TLBs unmeasured. */
			from = (uint64_t)((size / sizeof(*buf)) * warm_pct / 100);
			reset_geometry(&g);
			while ((n = fread(buf, sizeof(*buf), bufn, f)) > 0) {
				for (k = 0; k < n; k++)
					simulate(&g, l, buf[k], records + k >= from);
				records += n;
			}
			if (ferror(f))
				die("read error", argv[t]);
			fclose(f);
			dm = l->records - dm_before;
			acc = trace_count(argv[t], "dm_accesses", dm);
			l->all_accesses += trace_count(argv[t], "accesses", records);
			l->accesses += acc;
			if (dm)
				l->warm_accesses += (double)acc *
					(l->warm_records - warm_before) / dm;
		}
		printf("layout=%s core=%s accesses=%llu records=%llu l1_misses=%llu walks=%llu walks_4k=%llu walks_2m=%llu walks_1g=%llu unmapped=%llu l1_mpka=%.4f walks_pka=%.4f all_accesses=%llu other_l1_misses=%llu other_walks=%llu warm_accesses=%.0f warm_l1_misses=%llu warm_walks=%llu warm_l1_mpka=%.4f warm_walks_pka=%.4f\n",
		       l->name, core, (unsigned long long)l->accesses,
		       (unsigned long long)l->records,
		       (unsigned long long)l->l1_misses,
		       (unsigned long long)l->walks,
		       (unsigned long long)l->walks_by[0],
		       (unsigned long long)l->walks_by[1],
		       (unsigned long long)l->walks_by[2],
		       (unsigned long long)l->unmapped,
		       l->accesses ? 1000.0 * l->l1_misses / l->accesses : 0.0,
		       l->accesses ? 1000.0 * l->walks / l->accesses : 0.0,
		       (unsigned long long)l->all_accesses,
		       (unsigned long long)l->other_l1_misses,
		       (unsigned long long)l->other_walks, l->warm_accesses,
		       (unsigned long long)l->warm_l1_misses,
		       (unsigned long long)l->warm_walks,
		       l->warm_accesses > 0 ?
		       1000.0 * l->warm_l1_misses / l->warm_accesses : 0.0,
		       l->warm_accesses > 0 ?
		       1000.0 * l->warm_walks / l->warm_accesses : 0.0);
	}
	free(buf);
	return 0;
}
