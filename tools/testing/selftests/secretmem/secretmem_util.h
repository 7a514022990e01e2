/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the secretmem kselftests: the system call, the kernel
 * counters the tests read (/proc/vmstat, /proc/meminfo) and the secretmem
 * pool's knobs and statistics (/sys/module/secretpool/parameters/,
 * /sys/kernel/debug/secretpool/).
 */
#ifndef SECRETMEM_UTIL_H
#define SECRETMEM_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/secretmem.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define SP_PARAMS	"/sys/module/secretpool/parameters/"
#define SP_DEBUGFS	"/sys/kernel/debug/secretpool/"

static inline int memfd_secret_syscall(unsigned int flags)
{
	return syscall(__NR_memfd_secret, flags);
}

/*
 * The kind of secret memory file the suites test, from the environment:
 * SECRETMEM_KIND unset or "memfd_secret": memfd_secret(); "mfd":
 * memfd_create(MFD_SECRET) with mode EXCLUSIVE; "uncached": the same with
 * mode UNCACHED.  The guest job "tests" runs some suites once per kind.
 */
static inline unsigned int secretmem_kind_mode(void)
{
	const char *kind = getenv("SECRETMEM_KIND");

	if (!kind || !strcmp(kind, "memfd_secret"))
		return 0;
	if (!strcmp(kind, "uncached"))
		return SECRETMEM_MODE_UNCACHED;
	if (!strcmp(kind, "mfd"))
		return SECRETMEM_MODE_EXCLUSIVE;
	fprintf(stderr, "SECRETMEM_KIND=%s: memfd_secret, mfd or uncached\n",
		kind);
	exit(2);
}

/*
 * A secret memory file of the kind under test.  Flags other than
 * O_CLOEXEC go to memfd_secret() itself, whose errors the ABI suite checks.
 */
static inline int sys_memfd_secret(unsigned int flags)
{
	unsigned int mode = secretmem_kind_mode();
	int fd, err;

	if (!mode || (flags & ~O_CLOEXEC))
		return memfd_secret_syscall(flags);
	fd = syscall(__NR_memfd_create, "secretmem-test",
		     MFD_SECRET | (flags & O_CLOEXEC ? MFD_CLOEXEC : 0));
	/* Secret memory off: as memfd_secret() says it, for the skips. */
	if (fd < 0 && errno == EOPNOTSUPP)
		errno = ENOSYS;
	if (fd < 0)
		return fd;
	if (ioctl(fd, SECRETMEM_SET_MODE, &mode)) {
		err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/*
 * One byte of a secret mapping, written or read so that the compiler keeps
 * the access exactly where it is written: the tests check what the access
 * does (a fault, a SIGBUS, a value another process stored).
 */
static inline void poke(void *p, char val)
{
	__atomic_store_n((char *)p, val, __ATOMIC_SEQ_CST);
}

static inline char peek(const void *p)
{
	return __atomic_load_n((const char *)p, __ATOMIC_SEQ_CST);
}

/*
 * A secret file of @pages pages of @page bytes, each page written with
 * @byte, mapped shared; its mapping, or MAP_FAILED (*@fd may then be open).
 */
static inline char *secret_mapping(int *fd, long pages, long page, char byte)
{
	char *p;
	long i;

	*fd = sys_memfd_secret(0);
	if (*fd < 0 || ftruncate(*fd, pages * page))
		return MAP_FAILED;
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, *fd,
		 0);
	if (p == MAP_FAILED)
		return p;
	for (i = 0; i < pages; i++)
		poke(p + i * page, byte);
	return p;
}

/*
 * A value from a file of "name value" lines such as /proc/vmstat (or
 * "Name: value kB" as in /proc/meminfo); lines of another shape are
 * skipped.  -1 if absent.
 */
static inline long long read_keyed(const char *path, const char *key)
{
	char line[512], name[128];
	long long val, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t len;

		if (sscanf(line, "%127s %lld", name, &val) != 2)
			continue;
		len = strlen(name);
		if (len && name[len - 1] == ':')
			name[len - 1] = '\0';
		if (!strcmp(name, key)) {
			ret = val;
			break;
		}
	}
	fclose(f);
	return ret;
}

static inline long long vmstat_read(const char *key)
{
	return read_keyed("/proc/vmstat", key);
}

static inline long long meminfo_kb(const char *key)
{
	return read_keyed("/proc/meminfo", key);
}

/*
 * The direct map's state: mappings split since boot (/proc/vmstat) and how
 * much of it each page size maps, in kB (/proc/meminfo).
 */
struct direct_map_state {
	long long l2, l3, dm4k, dm2m, dm1g;
};

static inline void direct_map_read(struct direct_map_state *s)
{
	s->l2 = vmstat_read("direct_map_level2_splits");
	s->l3 = vmstat_read("direct_map_level3_splits");
	s->dm4k = meminfo_kb("DirectMap4k");
	s->dm2m = meminfo_kb("DirectMap2M");
	s->dm1g = meminfo_kb("DirectMap1G");
}

/*
 * Physical frame of the page mapped at @addr, from /proc/self/pagemap
 * opened as @pagemap; 0 when not known (not present, or no CAP_SYS_ADMIN).
 */
static inline uint64_t pagemap_pfn(int pagemap, const void *addr, long page)
{
	uint64_t ent = 0;
	off_t off = (uintptr_t)addr / page * sizeof(ent);

	if (pread(pagemap, &ent, sizeof(ent), off) != sizeof(ent))
		return 0;
	return (ent & (1ULL << 63)) ? ent & ((1ULL << 55) - 1) : 0;
}

static inline int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Distinct 2M blocks holding the frames @pfns (0s left out); -1: no memory. */
static inline int count_2m_blocks(const uint64_t *pfns, int n)
{
	uint64_t *b = malloc((n + 1) * sizeof(*b));
	int i, blocks = 0;

	if (!b)
		return -1;
	for (i = 0; i < n; i++)
		b[i] = pfns[i] >> 9;
	qsort(b, n, sizeof(*b), cmp_u64);
	for (i = 0; i < n; i++)
		if (b[i] && (!i || b[i] != b[i - 1]))
			blocks++;
	free(b);
	return blocks;
}

/*
 * Whether the kernel has the pool and it started: its parameters exist
 * whenever it is built in, its debugfs directory only once it is running.
 */
enum pool_state { POOL_ABSENT, POOL_BROKEN, POOL_READY };

static inline enum pool_state pool_state(void)
{
	if (access(SP_PARAMS "enabled", F_OK))
		return POOL_ABSENT;
	if (access(SP_DEBUGFS "stats", F_OK))
		return POOL_BROKEN;
	return POOL_READY;
}

static inline bool pool_present(void)
{
	return pool_state() == POOL_READY;
}

/*
 * In a test or fixture setup: skip when the kernel has no pool (the test
 * runner counts an unexpected skip as a failure), fail when it has one
 * that did not start.  @statement ends the test, as for SKIP().
 */
#define REQUIRE_POOL(statement) do {					\
	enum pool_state __ps = pool_state();				\
	ASSERT_NE((int)POOL_BROKEN, (int)__ps)			\
		TH_LOG("the secretmem pool is built in but did not start"); \
	if (__ps == POOL_ABSENT)					\
		SKIP(statement, "kernel has no secretmem pool");	\
} while (0)

static inline int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* The whole of a small file, NUL-terminated; -1 if it cannot be read. */
static inline int read_str(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Whether /sys/power/state lists "disk"; -1 if it cannot be read. */
static inline int disk_offered(void)
{
	char buf[256], *tok, *save;

	if (read_str("/sys/power/state", buf, sizeof(buf)))
		return -1;
	for (tok = strtok_r(buf, "\n ", &save); tok;
	     tok = strtok_r(NULL, "\n ", &save))
		if (!strcmp(tok, "disk"))
			return 1;
	return 0;
}

static inline long long read_num(const char *path)
{
	char buf[64];

	if (read_str(path, buf, sizeof(buf)) || !buf[0])
		return -1;
	if (buf[0] == 'Y')
		return 1;
	if (buf[0] == 'N')
		return 0;
	return strtoll(buf, NULL, 0);
}

static inline int pool_set(const char *param, long long val)
{
	char path[256], buf[32];

	snprintf(path, sizeof(path), SP_PARAMS "%s", param);
	snprintf(buf, sizeof(buf), "%lld", val);
	return write_str(path, buf);
}

static inline long long pool_get(const char *param)
{
	char path[256];

	snprintf(path, sizeof(path), SP_PARAMS "%s", param);
	return read_num(path);
}

/* The pool's totals over all nodes (or one node's): a row of debugfs stats. */
struct pool_stats {
	long long regions, free, cached, pending, in_use, poisoned, empty;
	long long unmap_2m, grown, released, grow_failed, remote, fallback;
	long long recycled, retired, blocks, unmap_1g, resv_free, sparse;
	long long packed, kept_1g, moved;
};

/* A reserved block (1G) is this many regions (2M) and pages (4K). */
#define BLOCK_REGIONS	512
#define BLOCK_PAGES	(512 * 512)

static inline long long *pool_stats_field(struct pool_stats *st,
					  const char *name)
{
	static const struct { const char *name; size_t off; } f[] = {
#define SP_FIELD(x) { #x, offsetof(struct pool_stats, x) }
		SP_FIELD(regions), SP_FIELD(free), SP_FIELD(cached),
		SP_FIELD(pending), SP_FIELD(in_use), SP_FIELD(poisoned),
		SP_FIELD(empty), SP_FIELD(unmap_2m), SP_FIELD(grown),
		SP_FIELD(released), SP_FIELD(grow_failed), SP_FIELD(remote),
		SP_FIELD(fallback), SP_FIELD(recycled), SP_FIELD(retired),
		SP_FIELD(blocks), SP_FIELD(unmap_1g), SP_FIELD(resv_free),
		SP_FIELD(sparse), SP_FIELD(packed), SP_FIELD(kept_1g),
		SP_FIELD(moved),
#undef SP_FIELD
		{ NULL, 0 }
	};
	size_t i;

	for (i = 0; f[i].name; i++)
		if (!strcmp(f[i].name, name))
			return (long long *)((char *)st + f[i].off);
	return NULL;
}

/*
 * The row @row ("all", or a node number) of debugfs stats, read by the
 * column names of its header line.  0 on success.
 */
static inline int pool_stats_row(const char *row, struct pool_stats *st)
{
	char header[512], line[512], *names[32], *vals[32], *save, *tok;
	int n = 0, m, i, ret = -1;
	FILE *f = fopen(SP_DEBUGFS "stats", "r");

	if (!f)
		return -1;
	memset(st, 0, sizeof(*st));
	if (!fgets(header, sizeof(header), f))
		goto out;
	for (tok = strtok_r(header, "\n ", &save); tok && n < 32;
	     tok = strtok_r(NULL, "\n ", &save))
		names[n++] = tok;
	while (fgets(line, sizeof(line), f)) {
		m = 0;
		for (tok = strtok_r(line, "\n ", &save); tok && m < 32;
		     tok = strtok_r(NULL, "\n ", &save))
			vals[m++] = tok;
		if (m != n || strcmp(vals[0], row))
			continue;
		for (i = 1; i < n; i++) {
			long long *field = pool_stats_field(st, names[i]);

			if (field)
				*field = strtoll(vals[i], NULL, 10);
		}
		ret = 0;
		break;
	}
out:
	fclose(f);
	return ret;
}

static inline int pool_stats(struct pool_stats *st)
{
	return pool_stats_row("all", st);
}

/* Nodes with memory: the numbered rows of debugfs stats. */
static inline int pool_nodes(void)
{
	char line[512];
	int nodes = 0;
	FILE *f = fopen(SP_DEBUGFS "stats", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (line[0] >= '0' && line[0] <= '9')
			nodes++;
	fclose(f);
	return nodes;
}

/*
 * The pool's own count of its pages, by walking its lists and bitmaps
 * (debugfs audit): 1 if every node's walk agrees with its counters and
 * regions, 0 if not (the lines are copied to @why), -1 if unreadable.
 */
static inline int pool_audit_ok(char *why, size_t size)
{
	char buf[4096];

	if (read_str(SP_DEBUGFS "audit", buf, sizeof(buf)))
		return -1;
	if (why)
		snprintf(why, size, "%s", buf);
	return strstr(buf, "MISMATCH") ? 0 : 1;
}

/*
 * Empty the CPU caches, recycle what came back and give every empty region
 * back, until nothing is pending (up to ~4 s).  Background growth that an
 * earlier allocation asked for may still land after that, so shrink once
 * more a little later.  Returns 0 with the settled statistics in @st.
 */
static inline int pool_settle(struct pool_stats *st)
{
	int i;

	for (i = 0; i < 400; i++) {
		if (write_str(SP_DEBUGFS "shrink", "1") || pool_stats(st))
			return -1;
		if (!st->pending)
			break;
		usleep(10000);
	}
	usleep(50000);
	if (write_str(SP_DEBUGFS "shrink", "1") || pool_stats(st))
		return -1;
	return 0;
}

/*
 * pool_settle() until the pool holds no region but those of its reserved
 * blocks (a few tries): a background grow asked for before a watermark was
 * lowered may still land once.
 */
static inline int settle_empty(struct pool_stats *st)
{
	int i;

	for (i = 0; i < 5; i++) {
		if (pool_settle(st))
			return -1;
		if (st->regions == st->blocks * BLOCK_REGIONS)
			break;
		usleep(100000);
	}
	return 0;
}

/*
 * In a test: after everything was closed, the pool settles with nothing in
 * use or pending, holds no region but those of its reserved blocks (every
 * page of which is free again), and its audit agrees.
 */
#define EXPECT_POOL_EMPTY() do {					\
	struct pool_stats __st;						\
	char __why[4096];						\
	if (pool_present()) {						\
		ASSERT_EQ(0, pool_settle(&__st));			\
		EXPECT_EQ(0, __st.in_use);				\
		EXPECT_EQ(0, __st.pending);				\
		EXPECT_EQ(__st.blocks * BLOCK_REGIONS, __st.regions);	\
		EXPECT_EQ(__st.blocks * BLOCK_PAGES, __st.resv_free);	\
		EXPECT_EQ(1, pool_audit_ok(__why, sizeof(__why)))	\
			TH_LOG("audit:\n%s", __why);			\
	}								\
} while (0)

/*
 * The next zone of /proc/zoneinfo (opened as @f) that spans page frames:
 * its node in *@node and its frames in [*@lo, *@hi).  False at the end.
 */
static inline bool zoneinfo_next(FILE *f, int *node, uint64_t *lo,
				 uint64_t *hi)
{
	long long start = -1, spanned = -1;
	char line[256];

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Node %d, zone", node) == 1) {
			start = -1;
			spanned = -1;
		} else if ((sscanf(line, " spanned %lld", &spanned) == 1 ||
			    sscanf(line, " start_pfn: %lld", &start) == 1) &&
			   start >= 0 && spanned > 0) {
			*lo = start;
			*hi = start + spanned;
			return true;
		}
	}
	return false;
}

/*
 * The page frames node @node's zones span, from /proc/zoneinfo, in
 * [*@lo, *@hi); -1 if it has none.
 */
static inline int node_span(int node, uint64_t *lo, uint64_t *hi)
{
	uint64_t zlo, zhi;
	int n;
	FILE *f = fopen("/proc/zoneinfo", "r");

	*lo = UINT64_MAX;
	*hi = 0;
	if (!f)
		return -1;
	while (zoneinfo_next(f, &n, &zlo, &zhi)) {
		if (n != node)
			continue;
		if (zlo < *lo)
			*lo = zlo;
		if (zhi > *hi)
			*hi = zhi;
	}
	fclose(f);
	return *hi > *lo ? 0 : -1;
}

/*
 * The node of a page frame, from the zones' spans in /proc/zoneinfo;
 * -1 if no zone spans it.
 */
static inline int pfn_node(uint64_t pfn)
{
	uint64_t lo, hi;
	int node, found = -1;
	FILE *f = fopen("/proc/zoneinfo", "r");

	if (!f)
		return -1;
	while (found < 0 && zoneinfo_next(f, &node, &lo, &hi))
		if (pfn >= lo && pfn < hi)
			found = node;
	fclose(f);
	return found;
}

/*
 * The direct map as the kernel's page-table dump (CONFIG_PTDUMP_DEBUGFS)
 * shows it: the ranges after "Low Kernel Mapping", each present or not (a
 * range without permission bits, only its level name after the size, is
 * not present).  Producing the dump takes seconds in an emulated debug
 * guest, so a test reads it once (dm_snapshot_read()) and looks up as
 * many page frames as it likes (dm_present()).
 */
struct dm_range {
	unsigned long long lo, hi;
	bool present;
	bool pud;	/* present, as 1G pages */
};

struct dm_snapshot {
	struct dm_range *r;
	int n;
	unsigned long long base;	/* PAGE_OFFSET */
};

static inline void dm_snapshot_free(struct dm_snapshot *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
}

/* 0 on success; -1 if the dump cannot be read or has no direct map. */
static inline int dm_snapshot_read(struct dm_snapshot *s)
{
	unsigned long long lo, hi;
	bool in_dm = false;
	char line[512];
	int cap = 0;
	FILE *f = fopen("/sys/kernel/debug/page_tables/kernel", "r");

	memset(s, 0, sizeof(*s));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char size[32], next[32], *last;

		if (strstr(line, "---[")) {
			if (in_dm)
				break;
			in_dm = !!strstr(line, "Low Kernel Mapping");
			continue;
		}
		if (!in_dm ||
		    sscanf(line, "0x%llx-0x%llx %31s %31s", &lo, &hi, size,
			   next) != 4)
			continue;
		if (s->n == cap) {
			struct dm_range *r;

			cap = cap ? 2 * cap : 1024;
			r = realloc(s->r, cap * sizeof(*r));
			if (!r)
				break;
			s->r = r;
		}
		s->r[s->n].lo = lo;
		s->r[s->n].hi = hi;
		s->r[s->n].present = !(!strcmp(next, "pte") ||
				       !strcmp(next, "pmd") ||
				       !strcmp(next, "pud") ||
				       !strcmp(next, "p4d") ||
				       !strcmp(next, "pgd"));
		line[strcspn(line, "\n")] = '\0';
		last = strrchr(line, ' ');
		s->r[s->n].pud = s->r[s->n].present && last &&
				 !strcmp(last + 1, "pud");
		s->n++;
	}
	fclose(f);
	if (!s->n) {
		dm_snapshot_free(s);
		return -1;
	}
	/* The first page frame is not mapped: PAGE_OFFSET is 1G aligned. */
	s->base = s->r[0].lo & ~((1ULL << 30) - 1);
	return 0;
}

/*
 * Whether the direct map covers page frames [@lo, @hi) with present 1G
 * pages only.
 */
static inline bool dm_all_1g(const struct dm_snapshot *s, uint64_t lo,
			     uint64_t hi)
{
	unsigned long long page = sysconf(_SC_PAGESIZE);
	unsigned long long a = s->base + lo * page, b = s->base + hi * page;
	bool covered = false;
	int i;

	for (i = 0; i < s->n; i++) {
		if (s->r[i].hi <= a || s->r[i].lo >= b)
			continue;
		if (!s->r[i].pud)
			return false;
		covered = true;
	}
	return covered;
}

/* 1 mapped, 0 not mapped, -1 not in the dump (a hole). */
static inline int dm_present(const struct dm_snapshot *s, uint64_t pfn)
{
	unsigned long long addr = s->base +
		pfn * (unsigned long long)sysconf(_SC_PAGESIZE);
	int lo = 0, hi = s->n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2;

		if (addr < s->r[mid].lo)
			hi = mid - 1;
		else if (addr >= s->r[mid].hi)
			lo = mid + 1;
		else
			return s->r[mid].present;
	}
	return -1;
}

/* One look-up with a dump of its own: slow, for a single page only. */
static inline int direct_map_present(uint64_t pfn)
{
	struct dm_snapshot s;
	int ret;

	if (dm_snapshot_read(&s))
		return -1;
	ret = dm_present(&s, pfn);
	dm_snapshot_free(&s);
	return ret;
}

/* --- cgroup v2, mounted at /sys/fs/cgroup by the guest --- */

#define CGROUP_ROOT	"/sys/fs/cgroup"

static inline int cg_write(const char *cg, const char *file, const char *val)
{
	char path[512];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s/%s", cg, file);
	return write_str(path, val);
}

static inline long long cg_read(const char *cg, const char *file)
{
	char path[512], buf[128];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s/%s", cg, file);
	if (read_str(path, buf, sizeof(buf)))
		return -1;
	if (!strncmp(buf, "max", 3))
		return LLONG_MAX;
	return strtoll(buf, NULL, 10);
}

/* The value of @key in a flat-keyed cgroup file (memory.events, ...). */
static inline long long cg_read_key(const char *cg, const char *file,
				    const char *key)
{
	char path[512];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s/%s", cg, file);
	return read_keyed(path, key);
}

/*
 * Create child cgroup @cg with the controllers in @controllers (e.g.
 * "+memory +cpuset") enabled for it; 0 on success.
 */
static inline int cg_create(const char *cg, const char *controllers)
{
	char path[512];

	if (access(CGROUP_ROOT "/cgroup.subtree_control", W_OK))
		return -ENOENT;
	if (controllers &&
	    write_str(CGROUP_ROOT "/cgroup.subtree_control", controllers))
		return -EINVAL;
	snprintf(path, sizeof(path), CGROUP_ROOT "/%s", cg);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

/* Move the calling process into @cg ("" for the root). */
static inline int cg_enter(const char *cg)
{
	char path[512], pid[32];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s/cgroup.procs", cg);
	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_str(path, pid);
}

static inline int cg_destroy(const char *cg)
{
	char path[512];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s", cg);
	return rmdir(path) ? -errno : 0;
}

#endif /* SECRETMEM_UTIL_H */
