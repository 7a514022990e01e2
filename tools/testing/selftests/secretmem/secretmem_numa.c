// SPDX-License-Identifier: GPL-2.0
/*
 * Secret pages go where the memory policy and the cpuset say.
 *
 * The page allocator honours set_mempolicy(), mbind() and the cpuset's
 * mems; secret pages must too, whether the pool serves them or they are
 * unmapped one at a time.  Before the pool took the policy into account it
 * served any node and grew on any node.  Each test faults more pages than
 * one 2M region holds from a process pinned to a CPU of node 0, so that
 * everything local points to node 0 and only the policy points to node 1,
 * and finds each page's node from its frame (/proc/self/pagemap and the
 * zones' spans).  With the pool on, the tests that restrict the nodes
 * first leave free pool pages on node 0, which must not be used, and check
 * that node 0's pool did not grow.  Every test runs with the pool on and
 * off.  The guest has two nodes with memory; with fewer, the tests skip.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

/* No libnuma here: the policy modes of <linux/mempolicy.h>. */
#ifndef MPOL_PREFERRED
#define MPOL_DEFAULT	0
#define MPOL_PREFERRED	1
#define MPOL_BIND	2
#define MPOL_INTERLEAVE	3
#endif
#ifndef MPOL_LOCAL
#define MPOL_LOCAL	4
#endif

#define NPAGES		600	/* more than a 2M region's 512 pages */
#define WARM_PAGES	64
#define MAX_NODES	8
#define MASK_BITS	(8 * sizeof(unsigned long))
#define CG		"sp-numa"

static long sys_set_mempolicy(int mode, const unsigned long *mask)
{
	return syscall(__NR_set_mempolicy, mode, mask, MASK_BITS);
}

static long sys_mbind(void *addr, unsigned long len, int mode,
		      const unsigned long *mask)
{
	return syscall(__NR_mbind, addr, len, mode, mask, MASK_BITS, 0);
}

/* How a child places its secret pages. */
struct placement {
	const char *what;	/* for messages */
	int mode;		/* MPOL_*, or -1 to leave the policy alone */
	unsigned long nodes;	/* the policy's nodes */
	bool vma;		/* mbind() the mapping, not set_mempolicy() */
	const char *cgroup;	/* a cgroup to enter first, or NULL */
	long pages;
};

/* Where they went, as the child reports it. */
struct placed {
	int step;		/* 0, or the step of the child that failed */
	int err;		/* errno of that step */
	long on_node[MAX_NODES];
	long unknown;		/* pages without a frame or a node */
	long long in_use;	/* pool pages in use while held; -1: no pool */
	char mems[32];		/* the child's Mems_allowed_list */
};

/* The node of @pfn; frames of one 2M block share it, so remember the last. */
static int node_of(uint64_t pfn)
{
	static uint64_t last_block = UINT64_MAX;
	static int last_node = -1;

	if (pfn >> 9 != last_block) {
		last_block = pfn >> 9;
		last_node = pfn_node(pfn);
	}
	return last_node;
}

/* The first CPU of @node, -1 if it has none. */
static int node_cpu(int node)
{
	char path[128], buf[256];

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	if (read_str(path, buf, sizeof(buf)) || buf[0] < '0' || buf[0] > '9')
		return -1;
	return atoi(buf);
}

/*
 * Whether the direct map covers all of @node's memory with 1G pages, from
 * the kernel's page-table dump; -1 if it cannot tell.
 */
static int node_mapped_1g(int node)
{
	struct dm_snapshot dm;
	uint64_t lo, hi;
	int whole;

	if (node_span(node, &lo, &hi) || dm_snapshot_read(&dm))
		return -1;
	whole = dm_all_1g(&dm, lo, hi);
	dm_snapshot_free(&dm);
	return whole;
}

static void read_mems(char *out, size_t size)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Mems_allowed_list: %31s", out) == 1)
			break;
	fclose(f);
}

static int failed(struct placed *r, int step)
{
	r->err = errno;
	return step;
}

/* Place @pl->pages secret pages and count them by node; 0 or a step. */
static int place_pages(const struct placement *pl, long page, int cpu,
		       struct placed *r)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	size_t len = pl->pages * page;
	int fd, pagemap;
	cpu_set_t set;
	char *p;
	long i;

	if (pl->cgroup && cg_enter(pl->cgroup))
		return failed(r, 1);
	/* After entering the cgroup, which resets the CPUs allowed. */
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return failed(r, 2);
	}
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited))
		return failed(r, 3);
	if (pl->mode >= 0 && !pl->vma && sys_set_mempolicy(pl->mode, &pl->nodes))
		return failed(r, 4);
	fd = sys_memfd_secret(0);
	if (fd < 0 || ftruncate(fd, len))
		return failed(r, 5);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return failed(r, 6);
	if (pl->mode >= 0 && pl->vma && sys_mbind(p, len, pl->mode, &pl->nodes))
		return failed(r, 7);
	for (i = 0; i < pl->pages; i++)
		poke(p + i * page, 1);

	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0)
		return failed(r, 8);
	for (i = 0; i < pl->pages; i++) {
		uint64_t pfn = pagemap_pfn(pagemap, p + i * page, page);
		int node = pfn ? node_of(pfn) : -1;

		if (node >= 0 && node < MAX_NODES)
			r->on_node[node]++;
		else
			r->unknown++;
	}
	close(pagemap);
	if (pool_present()) {
		struct pool_stats st;

		if (!pool_stats(&st))
			r->in_use = st.in_use;
	}
	read_mems(r->mems, sizeof(r->mems));
	if (pl->cgroup && cg_enter(""))
		return failed(r, 9);
	munmap(p, len);
	close(fd);
	return 0;
}

/* In a child: place the pages, report through @out, exit. */
static void place_child(const struct placement *pl, long page, int cpu,
			int out)
{
	struct placed r = { .in_use = -1 };

	r.step = place_pages(pl, page, cpu, &r);
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(2);
	_exit(0);
}

FIXTURE(numa) {
	long page;
	int cpu0;		/* a CPU of node 0, or -1 */
	long long saved_enabled;
	bool cg_made;		/* CG exists */
	bool cpuset_enabled;	/* this test enabled cpuset in the root */
};

FIXTURE_VARIANT(numa) {
	int pool;	/* 1: pool on, 0: pool off */
};

FIXTURE_VARIANT_ADD(numa, pool_on) { .pool = 1 };
FIXTURE_VARIANT_ADD(numa, pool_off) { .pool = 0 };

FIXTURE_SETUP(numa)
{
	int fd;

	self->page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	self->cpu0 = node_cpu(0);
	if (access("/sys/devices/system/node/node1", F_OK))
		SKIP(return, "fewer than two NUMA nodes");
	fd = sys_memfd_secret(0);
	if (fd < 0)
		SKIP(return, "memfd_secret() not available");
	close(fd);
	if (!pool_present()) {
		if (variant->pool == 1)
			SKIP(return, "kernel has no secretmem pool");
		return;
	}
	self->saved_enabled = pool_get("enabled");
	ASSERT_LE(0, self->saved_enabled);
	/* Writing the knob wakes every node's pool: only when it changes. */
	if (self->saved_enabled != variant->pool)
		ASSERT_EQ(0, pool_set("enabled", variant->pool));
}

static int cg_remove(const char *cg)
{
	int i, err = 0;

	/* The last task may take a moment to leave after it was reaped. */
	for (i = 0; i < 100; i++) {
		err = cg_destroy(cg);
		if (err != -EBUSY)
			break;
		usleep(10000);
	}
	return err;
}

FIXTURE_TEARDOWN(numa)
{
	if (self->cg_made)
		cg_remove(CG);
	if (self->cpuset_enabled)
		write_str(CGROUP_ROOT "/cgroup.subtree_control", "-cpuset");
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

/* Run @pl in a child and collect its report. */
static void place(struct __test_metadata *_metadata, const struct placement *pl,
		  long page, int cpu, struct placed *r)
{
	int pfd[2], status;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close(pfd[0]);
		place_child(pl, page, cpu, pfd[1]);
	}
	close(pfd[1]);
	ASSERT_EQ((ssize_t)sizeof(*r), read(pfd[0], r, sizeof(*r)))
		TH_LOG("%s: the child died", pl->what);
	close(pfd[0]);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	ASSERT_EQ(0, r->step) TH_LOG("%s: step %d of the child failed: %s",
				     pl->what, r->step, strerror(r->err));
	TH_LOG("%s: %ld pages on node 0, %ld on node 1, %ld unknown",
	       pl->what, r->on_node[0], r->on_node[1], r->unknown);
}

/*
 * Start from an empty pool: no region left, and no growth under way from
 * an earlier test or from the knob (each write of it wakes every node).
 */
static void pool_quiet(struct __test_metadata *_metadata)
{
	struct pool_stats a, b;
	int i;

	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, pool_settle(&a));
		usleep(200000);
		ASSERT_EQ(0, pool_stats(&b));
		if (!b.regions && b.grown == a.grown)
			return;
	}
	ASSERT_EQ(0, b.regions)
		TH_LOG("not empty: in use %lld, pending %lld, cached %lld; grown %lld, %lld",
		       b.in_use, b.pending, b.cached, a.grown, b.grown);
	ASSERT_EQ(a.grown, b.grown) TH_LOG("the pool keeps growing");
}

/*
 * Leave free pool pages on node 0 (a child bound there faults some and
 * exits), and wait until node 0 has taken them back.
 */
static void warm_node0(struct __test_metadata *_metadata, long page, int cpu)
{
	const struct placement warm = {
		"warm-up bind {0}", MPOL_BIND, 1UL << 0, false, NULL, WARM_PAGES
	};
	struct pool_stats st;
	struct placed r;
	int i;

	place(_metadata, &warm, page, cpu, &r);
	EXPECT_EQ(WARM_PAGES, r.on_node[0]);
	for (i = 0; i < 500; i++) {
		ASSERT_EQ(0, pool_stats_row("0", &st));
		if (!st.pending)
			break;
		usleep(10000);
	}
	ASSERT_EQ(0, st.pending) TH_LOG("node 0 keeps pages pending");
	/* Let node 0's worker finish what the returned pages woke it for. */
	usleep(300000);
	ASSERT_EQ(0, pool_stats_row("0", &st));
	TH_LOG("node 0's pool: %lld regions, %lld free, %lld cached",
	       st.regions, st.free, st.cached);
}

/*
 * Place @pl's pages and expect every one on node 1.  With the pool on,
 * the pool must have served them, and node 0's pool must not have grown;
 * @warm first leaves free pages on node 0 that must not be used.
 */
static void expect_node1(struct __test_metadata *_metadata, long page,
			 int cpu, int pool, const struct placement *pl,
			 bool warm, struct placed *r)
{
	struct pool_stats n0 = {}, n1 = {}, a0, a1;

	if (pool_present())
		pool_quiet(_metadata);
	if (pool && warm)
		warm_node0(_metadata, page, cpu);
	if (pool) {
		ASSERT_EQ(0, pool_stats_row("0", &n0));
		ASSERT_EQ(0, pool_stats_row("1", &n1));
	}

	place(_metadata, pl, page, cpu, r);
	EXPECT_EQ(pl->pages, r->on_node[1]) TH_LOG("%s: pages off node 1",
						   pl->what);
	EXPECT_EQ(0, r->unknown);
	if (!pool)
		return;
	ASSERT_EQ(0, pool_stats_row("0", &a0));
	ASSERT_EQ(0, pool_stats_row("1", &a1));
	TH_LOG("%s: grown node 0 +%lld node 1 +%lld, remote +%lld/+%lld",
	       pl->what, a0.grown - n0.grown, a1.grown - n1.grown,
	       a0.remote - n0.remote, a1.remote - n1.remote);
	EXPECT_LE(pl->pages, r->in_use) TH_LOG("the pool did not serve");
	EXPECT_EQ(n0.grown, a0.grown) TH_LOG("node 0's pool grew");
}

/*
 * The default policy on a CPU of node 1 (this test runs first, before
 * the tests that bind pages to node 1 and so make the pool split one of
 * its 1G pages).  Without the pool, pages are local.  With it (keep_1g on,
 * as by default), they are local unless node 1 could only grow by
 * splitting a 1G page of the direct map, which the pool then declines
 * (kept_1g), serving them from node 0 instead (remote): it must decline
 * when the boot's 1G pages still cover all of node 1.  Either way nothing
 * splits a 1G page while node 0 can grow without, as it can in the test
 * guest (its memory lies below the PCI hole, mapped with 2M pages).  In
 * most boots something split one of node 1's 1G pages before (KFENCE's
 * pool, KUnit's regions), and the pool packs into it; ./run-tests' keep1g
 * boot has neither and sets SECRETMEM_NODE1_WHOLE.
 */
TEST_F(numa, default_policy_node1_cpu)
{
	const struct placement pl = {
		"default policy, CPU of node 1", -1, 0, false, NULL, NPAGES
	};
	struct pool_stats n1 = {}, a1 = {};
	struct direct_map_state dm0, dm1;
	int cpu1 = node_cpu(1), whole = -1;
	struct placed r;
	long long kept;

	if (_metadata->skip)
		return;
	if (cpu1 < 0)
		SKIP(return, "node 1 has no CPU");
	if (pool_present()) {
		pool_quiet(_metadata);
		/* Not asserted: booted with keep_1g=0, this test must fail. */
		TH_LOG("keep_1g %lld", pool_get("keep_1g"));
		ASSERT_EQ(0, pool_stats_row("1", &n1));
		whole = node_mapped_1g(1);
	}
	direct_map_read(&dm0);
	place(_metadata, &pl, self->page, cpu1, &r);
	direct_map_read(&dm1);
	EXPECT_EQ(0, r.unknown);
	if (!variant->pool) {
		EXPECT_EQ(NPAGES, r.on_node[1]);
		return;
	}
	ASSERT_EQ(0, pool_stats_row("1", &a1));
	kept = a1.kept_1g - n1.kept_1g;
	TH_LOG("node 1 %s; kept_1g +%lld, remote +%lld, grown +%lld; level3 splits +%lld",
	       whole < 0 ? "mapped as unknown" :
	       whole ? "all under 1G pages" : "split before",
	       kept, a1.remote - n1.remote, a1.grown - n1.grown,
	       dm1.l3 - dm0.l3);
	EXPECT_LE(NPAGES, r.in_use) TH_LOG("the pool did not serve");
	EXPECT_EQ(dm0.l3, dm1.l3) TH_LOG("a 1G page was split");
	/* ./run-tests' keep1g boot: nothing may have split node 1 yet. */
	if (getenv("SECRETMEM_NODE1_WHOLE"))
		EXPECT_EQ(1, whole) TH_LOG("node 1 was split before");
	/*
	 * Node 1 grows only into ranges split before (packed); whatever it
	 * declined node 0 served, counted remote.  With node 1 all under 1G
	 * pages, it cannot grow at all.
	 */
	EXPECT_EQ(NPAGES, r.on_node[0] + r.on_node[1]);
	EXPECT_EQ(r.on_node[0], a1.remote - n1.remote);
	EXPECT_EQ(a1.grown - n1.grown, a1.packed - n1.packed)
		TH_LOG("node 1 grew by a split");
	if (whole == 1) {
		EXPECT_LT(0, kept) TH_LOG("node 1 did not decline");
		EXPECT_EQ(NPAGES, r.on_node[0]);
		EXPECT_EQ(n1.grown, a1.grown);
	}
	EXPECT_POOL_EMPTY();
}

/*
 * An explicit MPOL_LOCAL names the current node: on a CPU of node 1, every
 * page is on node 1, whatever splitting its direct map costs.
 */
TEST_F(numa, local_node1_cpu)
{
	const struct placement pl = {
		"local, CPU of node 1", MPOL_LOCAL, 0, false, NULL, NPAGES
	};
	int cpu1 = node_cpu(1);
	struct placed r;

	if (_metadata->skip)
		return;
	if (cpu1 < 0)
		SKIP(return, "node 1 has no CPU");
	if (pool_present())
		pool_quiet(_metadata);
	place(_metadata, &pl, self->page, cpu1, &r);
	EXPECT_EQ(0, r.unknown);
	EXPECT_EQ(NPAGES, r.on_node[1]);
	if (variant->pool)
		EXPECT_LE(NPAGES, r.in_use) TH_LOG("the pool did not serve");
	EXPECT_POOL_EMPTY();
}

/* set_mempolicy(MPOL_BIND, {1}): every page on node 1. */
TEST_F(numa, bind_node1)
{
	const struct placement pl = {
		"bind {1}", MPOL_BIND, 1UL << 1, false, NULL, NPAGES
	};
	struct placed r;

	if (_metadata->skip)	/* SKIP() in the setup does not stop the test */
		return;
	expect_node1(_metadata, self->page, self->cpu0, variant->pool, &pl,
		     true, &r);
	EXPECT_POOL_EMPTY();
}

/* mbind(MPOL_BIND, {1}) on the mapping, default task policy: node 1. */
TEST_F(numa, mbind_vma_node1)
{
	const struct placement pl = {
		"mbind bind {1}", MPOL_BIND, 1UL << 1, true, NULL, NPAGES
	};
	struct placed r;

	if (_metadata->skip)
		return;
	expect_node1(_metadata, self->page, self->cpu0, variant->pool, &pl,
		     true, &r);
	EXPECT_POOL_EMPTY();
}

/* MPOL_PREFERRED {1}, with plenty of memory there: node 1. */
TEST_F(numa, preferred_node1)
{
	const struct placement pl = {
		"preferred {1}", MPOL_PREFERRED, 1UL << 1, false, NULL, NPAGES
	};
	struct placed r;

	if (_metadata->skip)
		return;
	expect_node1(_metadata, self->page, self->cpu0, variant->pool, &pl,
		     false, &r);
	EXPECT_POOL_EMPTY();
}

/*
 * mbind(MPOL_INTERLEAVE, {0, 1}) on the mapping: pages alternate between
 * the nodes by file offset.  Which node takes the even offsets is the
 * kernel's choice; each node must hold at least 45% of the pages.
 */
TEST_F(numa, interleave)
{
	const struct placement pl = {
		"interleave {0,1}", MPOL_INTERLEAVE, (1UL << 0) | (1UL << 1), true,
		NULL, NPAGES
	};
	struct placed r;

	if (_metadata->skip)
		return;
	if (pool_present())
		pool_quiet(_metadata);
	place(_metadata, &pl, self->page, self->cpu0, &r);
	EXPECT_LE(NPAGES * 45 / 100, r.on_node[0]);
	EXPECT_LE(NPAGES * 45 / 100, r.on_node[1]);
	EXPECT_EQ(0, r.unknown);
	if (variant->pool)
		EXPECT_LE(NPAGES, r.in_use) TH_LOG("the pool did not serve");
	EXPECT_POOL_EMPTY();
}

/*
 * A cpuset whose mems are {1}, the task policy left alone: node 1.  The
 * cpuset controller must be there (CONFIG_CPUSETS): its absence fails.
 */
TEST_F(numa, cpuset_mems)
{
	const struct placement pl = {
		"cpuset mems 1", -1, 0, false, CG, NPAGES
	};
	char buf[256];
	struct placed r;
	size_t len;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, read_str(CGROUP_ROOT "/cgroup.controllers", buf,
			      sizeof(buf)));
	ASSERT_NE(NULL, strstr(buf, "cpuset"))
		TH_LOG("no cpuset controller in cgroup v2: %s", buf);
	ASSERT_EQ(0, read_str(CGROUP_ROOT "/cgroup.subtree_control", buf,
			      sizeof(buf)));
	self->cpuset_enabled = !strstr(buf, "cpuset");
	ASSERT_EQ(0, cg_create(CG, "+cpuset"));
	self->cg_made = true;

	ASSERT_EQ(0, read_str(CGROUP_ROOT "/cpuset.cpus.effective", buf,
			      sizeof(buf)));
	len = strcspn(buf, "\n");
	buf[len] = '\0';
	ASSERT_LT((size_t)0, len);
	ASSERT_EQ(0, cg_write(CG, "cpuset.cpus", buf));
	ASSERT_EQ(0, cg_write(CG, "cpuset.mems", "1"));

	expect_node1(_metadata, self->page, self->cpu0, variant->pool, &pl,
		     true, &r);
	EXPECT_STREQ("1", r.mems) TH_LOG("the child's mems are not the cpuset's");

	EXPECT_EQ(0, cg_remove(CG));
	self->cg_made = false;
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
