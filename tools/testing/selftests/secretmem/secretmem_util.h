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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/types.h>

#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif

#define SP_PARAMS	"/sys/module/secretpool/parameters/"
#define SP_DEBUGFS	"/sys/kernel/debug/secretpool/"

static inline int sys_memfd_secret(unsigned int flags)
{
	return syscall(__NR_memfd_secret, flags);
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

/* A value from a "name value" file such as /proc/vmstat; -1 if absent. */
static inline long long read_keyed(const char *path, const char *key)
{
	char name[128];
	long long val, ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	/* /proc/meminfo has "Name:   123 kB"; /proc/vmstat "name 123". */
	while (fscanf(f, "%127s %lld%*[^\n]", name, &val) == 2) {
		size_t len = strlen(name);

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

static inline bool pool_present(void)
{
	return access(SP_PARAMS "enabled", F_OK) == 0 &&
	       access(SP_DEBUGFS "stats", F_OK) == 0;
}

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

static inline long long read_num(const char *path)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
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

/* The pool's totals over all nodes: the "all" row of debugfs stats. */
struct pool_stats {
	long long regions, free, cached, pending, in_use, empty, unmap_2m;
	long long grown, released, grow_failed, remote, fallback;
};

static inline int pool_stats(struct pool_stats *st)
{
	char line[512];
	int ret = -1;
	FILE *f = fopen(SP_DEBUGFS "stats", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "all ", 4))
			continue;
		if (sscanf(line + 4, "%lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld",
			   &st->regions, &st->free, &st->cached, &st->pending,
			   &st->in_use, &st->empty, &st->unmap_2m, &st->grown,
			   &st->released, &st->grow_failed, &st->remote,
			   &st->fallback) == 12)
			ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/*
 * Empty the CPU caches, recycle what came back and give every empty region
 * back, until nothing is pending (up to ~2 s).  Background growth that an
 * earlier allocation asked for may still land after that, so shrink once
 * more a little later.  Returns 0 with the settled statistics in @st.
 */
static inline int pool_settle(struct pool_stats *st)
{
	int i;

	for (i = 0; i < 200; i++) {
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

#endif /* SECRETMEM_UTIL_H */
