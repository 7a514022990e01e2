// SPDX-License-Identifier: GPL-2.0
/*
 * Memory errors in secret memory.  /sys/kernel/debug/hwpoison/corrupt-pfn
 * (CONFIG_HWPOISON_INJECT) runs memory_failure() on a page frame, as a
 * machine check would:
 *
 *  - a free page of the pool with an error is never handed out again, is
 *    counted as poisoned, its region still counts as empty, and when the
 *    region goes back the page stays out of the direct map while its
 *    neighbours in the 2M block are mapped again; unpoison-pfn, which
 *    would give the page to the page allocator, is refused throughout;
 *    once the page is retired, hibernation is no longer offered (this
 *    suite runs after secretmem_hibernate);
 *  - an in-use secret page with an error gives its owner SIGBUS on the
 *    next touch, the file's other pages keep their data, after close the
 *    pool's counters balance with the page poisoned, and the page's
 *    memory-cgroup charge is released;
 *  - with the pool off (the per-page path), such a page stays out of the
 *    direct map after the file is closed: it is neither mapped back nor
 *    zeroed.
 *
 * Poisoned memory is lost for good: each run of this suite leaks a few
 * pages (and splits the 2M direct-map entry around each).  For every
 * injection the kernel logs "Injecting memory failure at pfn ..." and
 * "Memory failure: ...: recovery action for ...: Ignored" (or "Failed"):
 * expected, not errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"
#include "secretmem_child.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define CORRUPT_PFN	"/sys/kernel/debug/hwpoison/corrupt-pfn"
#define UNPOISON_PFN	"/sys/kernel/debug/hwpoison/unpoison-pfn"
#define KPF_HWPOISON	19

/* High watermark that keeps every empty region (no background shrink). */
#define KEEP_ALL	1000000

/* free_page_never_served: a few pages, then more than a region holds. */
#define FEW_PAGES	8
#define MANY_PAGES	2000

/* in_use_page_sigbus_and_uncharged: pages of the secret, and the poisoned. */
#define NR_PAGES	16
#define NR_POISON	6
static const int poisoned_idx[NR_POISON] = { 1, 3, 6, 9, 12, 14 };

/* memory.current may end this many pages above where it started. */
#define CHARGE_SLACK	2

#define CG_HOME		"sp-hwpoison"
#define CG_DRAIN	"sp-hwpoison-drain"

#ifndef MPOL_DEFAULT
#define MPOL_DEFAULT	0
#endif
#ifndef MPOL_BIND
#define MPOL_BIND	2
#endif

static long page_size;

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

/* --- touching pages that may raise SIGBUS --- */

static sigjmp_buf bus_jmp;
static int bus_code;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	__atomic_store_n(&bus_code, si->si_code, __ATOMIC_SEQ_CST);
	siglongjmp(bus_jmp, 1);
}

/* Read *p; returns the si_code of the SIGBUS that raised, 0 if none. */
static int read_faults(const char *p)
{
	struct sigaction sa = { .sa_sigaction = on_sigbus,
				.sa_flags = SA_SIGINFO }, old;
	int code = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(bus_jmp, 1))
		code = __atomic_load_n(&bus_code, __ATOMIC_SEQ_CST);
	else
		peek(p);
	sigaction(SIGBUS, &old, NULL);
	return code;
}

/* --- memory errors --- */

/* Run memory_failure() on @pfn; the write's error, which is not checked. */
static int poison(uint64_t pfn)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn);
	return write_str(CORRUPT_PFN, buf);
}

/* unpoison-pfn: 0 if the kernel took the error back, else -errno. */
static int unpoison(uint64_t pfn)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%#llx", (unsigned long long)pfn);
	return write_str(UNPOISON_PFN, buf);
}

/* Whether @pfn has kpageflags bit @bit (/proc/kpageflags): 1, 0, -1 unknown. */
static int page_flag(uint64_t pfn, int bit)
{
	uint64_t flags;
	int fd = open("/proc/kpageflags", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = pread(fd, &flags, sizeof(flags), pfn * sizeof(flags));
	close(fd);
	if (n != sizeof(flags))
		return -1;
	return (flags >> bit) & 1;
}

static int page_hwpoisoned(uint64_t pfn)
{
	return page_flag(pfn, KPF_HWPOISON);
}

/* With debug_pagealloc, free pages are not in the direct map at all. */
static bool debug_pagealloc_on(void)
{
	char buf[4096];

	if (read_str("/proc/cmdline", buf, sizeof(buf)))
		return false;
	return strstr(buf, "debug_pagealloc=on") ||
	       strstr(buf, "debug_pagealloc=1");
}

/*
 * The poisoned count of the pool's region holding @pfn, from debugfs
 * regions; -1 if no region holds it.
 */
static int region_poisoned(uint64_t pfn)
{
	unsigned long long phys;
	unsigned int nfree, pending, poisoned;
	char line[256];
	int node, ret = -1;
	FILE *f = fopen(SP_DEBUGFS "regions", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %llx %u %u %u", &node, &phys, &nfree,
			   &pending, &poisoned) != 5)
			continue;
		if (phys / page_size >> 9 == pfn >> 9) {
			ret = poisoned;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* --- the pool --- */

/* The first node the pool has a row for in debugfs stats; -1 if none. */
static int first_pool_node(void)
{
	char line[512];
	int node = -1;
	FILE *f = fopen(SP_DEBUGFS "stats", "r");

	if (!f)
		return -1;
	while (node < 0 && fgets(line, sizeof(line), f))
		if (line[0] >= '0' && line[0] <= '9')
			node = atoi(line);
	fclose(f);
	return node;
}

/*
 * Until every page that came back has been recycled (free or poisoned
 * again), up to ~20 s.  Unlike pool_settle(), gives no region back.
 */
static int wait_recycled(struct pool_stats *st)
{
	int i;

	for (i = 0; i < 2000; i++) {
		if (pool_stats(st))
			return -1;
		if (!st->pending)
			return 0;
		usleep(10000);
	}
	return -1;
}

static int set_policy(int mode, int node)
{
	unsigned long mask = node >= 0 ? 1UL << node : 0;

	return syscall(SYS_set_mempolicy, mode, node >= 0 ? &mask : NULL,
		       node >= 0 ? 8 * sizeof(mask) : 0);
}

/* A secret of @pages pages, mapped; its fd, or -1. */
static int make_secret(long pages, char **p)
{
	int fd = sys_memfd_secret(0);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, pages * page_size)) {
		close(fd);
		return -1;
	}
	*p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		  fd, 0);
	if (*p == MAP_FAILED) {
		close(fd);
		return -1;
	}
	return fd;
}

FIXTURE(hwpoison) {
	long long saved_enabled, saved_low, saved_high;
	bool saved;
	bool cgroups;
	pid_t child;
};

FIXTURE_SETUP(hwpoison)
{
	int fd;

	self->child = -1;
	REQUIRE_POOL(return);
	ASSERT_EQ(0, access(CORRUPT_PFN, W_OK))
		TH_LOG("no %s: CONFIG_HWPOISON_INJECT and debugfs are needed",
		       CORRUPT_PFN);
	ASSERT_EQ(1, page_hwpoisoned(0) >= 0)
		TH_LOG("/proc/kpageflags is not readable");
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd) TH_LOG("memfd_secret() not available");
	close(fd);
	self->saved_enabled = pool_get("enabled");
	self->saved_low = pool_get("low_watermark");
	self->saved_high = pool_get("high_watermark");
	ASSERT_LE(0, self->saved_enabled);
	ASSERT_LE(0, self->saved_low);
	ASSERT_LE(0, self->saved_high);
	self->saved = true;
}

FIXTURE_TEARDOWN(hwpoison)
{
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->cgroups) {
		cg_destroy(CG_HOME);
		cg_destroy(CG_DRAIN);
	}
	if (self->saved) {
		pool_set("enabled", self->saved_enabled);
		pool_set("low_watermark", self->saved_low);
		pool_set("high_watermark", self->saved_high);
	}
}

/*
 * The pool switched on or off, growing only when a fault needs a page and
 * never giving an empty region back on its own (only the debugfs shrink
 * does), so that the test decides when a region goes.  Starts empty.
 */
static void pool_prepare(struct __test_metadata *_metadata, int enabled)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct pool_stats st;

	ASSERT_EQ(0, pool_set("low_watermark", 0));
	ASSERT_EQ(0, pool_set("high_watermark", KEEP_ALL));
	ASSERT_EQ(0, pool_set("enabled", enabled));
	ASSERT_EQ(0, settle_empty(&st));
	ASSERT_EQ(0, st.regions);
	ASSERT_EQ(0, st.in_use);
	/* Secret pages count against RLIMIT_MEMLOCK. */
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
}

/*
 * A free pool page with a memory error is never handed out again; it is
 * counted as poisoned, its region still counts as empty and goes back, and
 * then the page alone stays out of the direct map.
 */
TEST_F(hwpoison, free_page_never_served)
{
	struct dm_snapshot dm;
	uint64_t pfns[FEW_PAGES], victim, *many, block, near[2];
	int fd, pagemap, node, err, i, absent = 0, reused = 0, bad = 0;
	struct pool_stats st0, st;
	char why[4096], *p;

	if (_metadata->skip)
		return;
	pool_prepare(_metadata, 1);
	node = first_pool_node();
	ASSERT_LE(0, node);
	/* Every page from one node, so that the big secret drains it. */
	ASSERT_EQ(0, set_policy(MPOL_BIND, node))
		TH_LOG("set_mempolicy(): %s", strerror(errno));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);

	/* A few pages from the pool, given back: free pages of a region. */
	fd = make_secret(FEW_PAGES, &p);
	ASSERT_LE(0, fd);
	for (i = 0; i < FEW_PAGES; i++) {
		poke(p + i * page_size, (char)(i + 1));
		pfns[i] = pagemap_pfn(pagemap, p + i * page_size, page_size);
		ASSERT_NE((uint64_t)0, pfns[i]);
	}
	ASSERT_EQ(0, pool_stats(&st));
	ASSERT_EQ(FEW_PAGES, st.in_use) TH_LOG("the pages are not the pool's");
	victim = pfns[FEW_PAGES / 2];
	EXPECT_EQ(node, pfn_node(victim));
	munmap(p, FEW_PAGES * page_size);
	close(fd);
	ASSERT_EQ(0, wait_recycled(&st0));
	ASSERT_EQ(0, st0.in_use);
	ASSERT_LT(0, st0.regions);
	ASSERT_EQ(0, region_poisoned(victim));

	/* The error hits the page while it is free in the pool. */
	err = poison(victim);
	TH_LOG("corrupt-pfn %#llx: %s", (unsigned long long)victim,
	       err ? strerror(-err) : "ok");
	ASSERT_EQ(1, page_hwpoisoned(victim));

	/*
	 * Taking the error back would free the page to the page allocator
	 * while it is out of the direct map and on the pool's free list:
	 * unpoison-pfn must be refused, before the pool has noticed the
	 * error and after.
	 */
	err = unpoison(victim);
	EXPECT_NE(0, err) TH_LOG("unpoison-pfn took a free pool page");
	ASSERT_EQ(1, page_hwpoisoned(victim));

	/* More pages than a region holds: every free page of the node. */
	many = calloc(MANY_PAGES, sizeof(*many));
	ASSERT_NE(NULL, many);
	fd = make_secret(MANY_PAGES, &p);
	ASSERT_LE(0, fd);
	for (i = 0; i < MANY_PAGES; i++) {
		poke(p + i * page_size, (char)(i % 251 + 1));
		many[i] = pagemap_pfn(pagemap, p + i * page_size, page_size);
		absent += !many[i];
		reused += many[i] == victim;
	}
	for (i = 0; i < MANY_PAGES; i++)
		bad += peek(p + i * page_size) != (char)(i % 251 + 1);
	EXPECT_EQ(0, absent);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, reused)
		TH_LOG("poisoned pfn %#llx was handed out again",
		       (unsigned long long)victim);
	ASSERT_EQ(0, pool_stats(&st));
	EXPECT_EQ(st0.poisoned + 1, st.poisoned);
	EXPECT_NE(0, unpoison(victim)) TH_LOG("unpoison-pfn took a poisoned pool page");
	munmap(p, MANY_PAGES * page_size);
	close(fd);
	free(many);

	/* Everything is back: the counts balance with the page poisoned. */
	ASSERT_EQ(0, wait_recycled(&st));
	EXPECT_EQ(0, st.in_use);
	EXPECT_EQ(st0.poisoned + 1, st.poisoned);
	EXPECT_EQ(1, region_poisoned(victim));
	EXPECT_EQ(1, pool_audit_ok(why, sizeof(why))) TH_LOG("audit:\n%s", why);

	/* Free pages and the poisoned one: the region is empty and goes. */
	ASSERT_EQ(0, write_str(SP_DEBUGFS "shrink", "1"));
	ASSERT_EQ(0, pool_stats(&st));
	EXPECT_EQ(0, st.regions);
	EXPECT_EQ(st0.retired + 1, st.retired);
	EXPECT_EQ(-1, region_poisoned(victim));
	/*
	 * Retired with its region: out of the direct map and kept for good.
	 * The snapshot would copy it: hibernation is refused from now on.
	 */
	EXPECT_NE(0, unpoison(victim)) TH_LOG("unpoison-pfn took a retired page");
	EXPECT_EQ(0, disk_offered())
		TH_LOG("/sys/power/state offers disk with a retired page");
	ASSERT_EQ(0, dm_snapshot_read(&dm));
	EXPECT_EQ(0, dm_present(&dm, victim))
		TH_LOG("the poisoned page was mapped back");
	EXPECT_EQ(1, page_hwpoisoned(victim));
	block = victim & ~511ULL;
	near[0] = block | ((victim + 1) & 511);
	near[1] = block | ((victim + 256) & 511);
	if (debug_pagealloc_on()) {
		TH_LOG("debug_pagealloc: free pages are unmapped, neighbours not checked");
	} else {
		for (i = 0; i < 2; i++) {
			EXPECT_EQ(1, dm_present(&dm, near[i]))
				TH_LOG("pfn %#llx, next to the poisoned page, is not mapped back",
				       (unsigned long long)near[i]);
		}
	}
	dm_snapshot_free(&dm);

	close(pagemap);
	ASSERT_EQ(0, set_policy(MPOL_DEFAULT, -1));
	EXPECT_POOL_EMPTY();
}

/* What the test and its child share (secretmem_child.h). */
struct handshake {
	struct hs_sync s;
	int sigbus, mce_ar, bad;
	uint64_t pfns[NR_PAGES];
};

/*
 * The child of in_use_page_sigbus_and_uncharged.  The test moves it from
 * cgroup to cgroup (the child never does: opening cgroup.procs would
 * charge the cgroup it leaves), and it tells the test each step reached:
 *   1  prepared, in the test's cgroup;
 *   2  (moved to CG_HOME) its secret of NR_PAGES pages created and mapped;
 *   3  (moved to CG_DRAIN) CG_HOME's charge caches drained;
 *   4  (moved to CG_HOME) the secret written, its frames in hs->pfns;
 *   5  (moved to CG_DRAIN, some pages poisoned by the test) the poisoned
 *      pages touched (SIGBUS expected) and the others read (their data
 *      expected), the secret closed, the charge caches drained again.
 */
static void poisoned_child(struct handshake *hs)
{
	int pagemap, fd, used = 0, i, k, code;
	char *scratch, *mem;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* SIGBUS when a poisoned page is touched, not when it is poisoned. */
	if (prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE, 0, 0))
		child_fail(&hs->s, 1);
	if (pin_to_this_cpu())
		child_fail(&hs->s, 2);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	scratch = mmap(NULL, 16 * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pagemap < 0 || scratch == MAP_FAILED)
		child_fail(&hs->s, 3);
	/* Written now, so that no copy-on-write fault charges them later. */
	touch_stack();
	__atomic_store_n(&bus_code, 0, __ATOMIC_SEQ_CST);
	read_faults(scratch + 15 * page_size);
	hs->bad = 0;		/* and the shared page's page table */
	errno = 0;
	child_step(&hs->s, 1);

	fd = sys_memfd_secret(0);
	if (fd < 0 || ftruncate(fd, NR_PAGES * page_size))
		child_fail(&hs->s, 4);
	mem = map_in_one_table(fd, NR_PAGES);
	if (mem == MAP_FAILED)
		child_fail(&hs->s, 5);
	child_step(&hs->s, 2);

	drain_charge_cache(scratch, &used);
	child_step(&hs->s, 3);

	for (i = 0; i < NR_PAGES; i++) {
		poke(mem + i * page_size, (char)(i + 1));
		poke(mem + (i + 1) * page_size - 1, (char)(i + 1));
		hs->pfns[i] = pagemap_pfn(pagemap, mem + i * page_size,
					  page_size);
	}
	child_step(&hs->s, 4);

	for (k = 0; k < NR_POISON; k++) {
		code = read_faults(mem + poisoned_idx[k] * page_size);
		hs->sigbus += code != 0;
		hs->mce_ar += code == BUS_MCEERR_AR;
	}
	for (i = 0, k = 0; i < NR_PAGES; i++) {
		if (k < NR_POISON && i == poisoned_idx[k]) {
			k++;
			continue;
		}
		hs->bad += peek(mem + i * page_size) != (char)(i + 1) ||
			   peek(mem + (i + 1) * page_size - 1) != (char)(i + 1);
	}
	munmap(mem, NR_PAGES * page_size);
	close(fd);
	drain_charge_cache(scratch, &used);
	child_step(&hs->s, 5);
	_exit(0);
}

static int move_to(pid_t pid, const char *cg)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid);
	return cg_write(cg, "cgroup.procs", buf);
}

/*
 * An in-use secret page with a memory error: SIGBUS when it is touched,
 * the other pages keep their data; after close the pool has every page
 * back with the poisoned ones counted, and the memory cgroup no longer
 * charges any of them.  NR_POISON pages are poisoned so that a leaked
 * charge stands out above the slack left for unrelated allocations.
 */
TEST_F(hwpoison, in_use_page_sigbus_and_uncharged)
{
	struct dm_snapshot dm;
	long long before, faulted, after;
	struct pool_stats st0, st;
	struct handshake *hs;
	uint64_t pfn;
	char why[4096];
	int status, k;

	if (_metadata->skip)
		return;
	pool_prepare(_metadata, 1);
	ASSERT_EQ(0, cg_create(CG_HOME, "+memory"))
		TH_LOG("cgroup v2 with the memory controller is needed");
	ASSERT_EQ(0, cg_create(CG_DRAIN, "+memory"));
	self->cgroups = true;
	hs = mmap(NULL, sizeof(*hs), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, hs);
	memset(hs, 0, sizeof(*hs));
	hs->s.step = -1;

	self->child = fork();
	ASSERT_LE(0, self->child);
	if (!self->child)
		poisoned_child(hs);

	ASSERT_TRUE(wait_step(&hs->s, 1, self->child))
		TH_LOG("child failed (%d)", hs_get(&hs->s.err));
	ASSERT_EQ(0, move_to(self->child, CG_HOME));
	hs_set(&hs->s.go, 1);
	ASSERT_TRUE(wait_step(&hs->s, 2, self->child))
		TH_LOG("child failed (%d)", hs_get(&hs->s.err));
	ASSERT_EQ(0, move_to(self->child, CG_DRAIN));
	hs_set(&hs->s.go, 2);
	ASSERT_TRUE(wait_step(&hs->s, 3, self->child))
		TH_LOG("child failed (%d)", hs_get(&hs->s.err));
	ASSERT_EQ(0, move_to(self->child, CG_HOME));
	ASSERT_EQ(0, pool_stats(&st0));
	before = cg_read(CG_HOME, "memory.current");
	ASSERT_LE(0, before);
	hs_set(&hs->s.go, 3);

	ASSERT_TRUE(wait_step(&hs->s, 4, self->child))
		TH_LOG("child failed (%d)", hs_get(&hs->s.err));
	faulted = cg_read(CG_HOME, "memory.current");
	ASSERT_EQ(0, pool_stats(&st));
	ASSERT_EQ(st0.in_use + NR_PAGES, st.in_use)
		TH_LOG("the secret's pages are not the pool's");
	EXPECT_LE(before + NR_PAGES * page_size, faulted)
		TH_LOG("the secret's pages were not charged");
	for (k = 0; k < NR_POISON; k++) {
		pfn = hs->pfns[poisoned_idx[k]];
		ASSERT_NE((uint64_t)0, pfn);
		poison(pfn);
		ASSERT_EQ(1, page_hwpoisoned(pfn));
	}
	/* Nothing is charged to CG_HOME from now on. */
	ASSERT_EQ(0, move_to(self->child, CG_DRAIN));
	hs_set(&hs->s.go, 4);

	ASSERT_TRUE(wait_step(&hs->s, 5, self->child))
		TH_LOG("child failed (%d)", hs_get(&hs->s.err));
	EXPECT_EQ(NR_POISON, hs->sigbus);
	EXPECT_EQ(NR_POISON, hs->mce_ar)
		TH_LOG("SIGBUS without BUS_MCEERR_AR");
	EXPECT_EQ(0, hs->bad) TH_LOG("pages without an error lost data");

	ASSERT_EQ(0, wait_recycled(&st));
	after = cg_read(CG_HOME, "memory.current");
	TH_LOG("memory.current: %lld before, %lld with the secret, %lld after",
	       before, faulted, after);
	EXPECT_GE(before + CHARGE_SLACK * page_size, after)
		TH_LOG("the poisoned pages are still charged");
	EXPECT_EQ(st0.in_use, st.in_use);
	EXPECT_EQ(st0.poisoned + NR_POISON, st.poisoned);
	EXPECT_EQ(1, pool_audit_ok(why, sizeof(why))) TH_LOG("audit:\n%s", why);

	hs_set(&hs->s.go, 5);
	ASSERT_EQ(self->child, waitpid(self->child, &status, 0));
	self->child = -1;
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("child status %#x", status);

	/* The region goes back; the poisoned pages stay out of the map. */
	ASSERT_EQ(0, write_str(SP_DEBUGFS "shrink", "1"));
	ASSERT_EQ(0, pool_stats(&st));
	EXPECT_EQ(0, st.regions);
	ASSERT_EQ(0, dm_snapshot_read(&dm));
	for (k = 0; k < NR_POISON; k++) {
		EXPECT_EQ(0, dm_present(&dm, hs->pfns[poisoned_idx[k]]))
			TH_LOG("poisoned pfn %#llx was mapped back",
			       (unsigned long long)hs->pfns[poisoned_idx[k]]);
	}
	dm_snapshot_free(&dm);
	munmap(hs, sizeof(*hs));
	EXPECT_POOL_EMPTY();
}

/*
 * With the pool off, a secret page is unmapped on its own.  One with a
 * memory error raises SIGBUS, and when the file is closed it stays out of
 * the direct map (it is neither mapped back nor zeroed) while the file's
 * other pages are mapped back.
 */
TEST_F(hwpoison, pool_off_page_stays_unmapped)
{
	struct dm_snapshot dm;
	const int n = 4, victim = 1;
	struct pool_stats st;
	uint64_t pfns[4];
	int fd, pagemap, i, code;
	char *p;

	if (_metadata->skip)
		return;
	pool_prepare(_metadata, 0);
	ASSERT_EQ(0, prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_LATE,
			   0, 0));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	fd = make_secret(n, &p);
	ASSERT_LE(0, fd);
	for (i = 0; i < n; i++) {
		memset(p + i * page_size, i + 1, page_size);
		pfns[i] = pagemap_pfn(pagemap, p + i * page_size, page_size);
		ASSERT_NE((uint64_t)0, pfns[i]);
	}
	/* Unmapped one by one (and the page-table dump can tell). */
	ASSERT_EQ(0, dm_snapshot_read(&dm));
	ASSERT_EQ(0, dm_present(&dm, pfns[0]));
	ASSERT_EQ(0, dm_present(&dm, pfns[victim]));
	dm_snapshot_free(&dm);
	ASSERT_EQ(0, pool_stats(&st));
	ASSERT_EQ(0, st.in_use) TH_LOG("pages came from the pool");

	poison(pfns[victim]);
	ASSERT_EQ(1, page_hwpoisoned(pfns[victim]));
	code = read_faults(p + victim * page_size);
	EXPECT_EQ(BUS_MCEERR_AR, code) TH_LOG("si_code %d", code);
	for (i = 0; i < n; i++) {
		if (i == victim)
			continue;
		EXPECT_EQ(i + 1, p[(i + 1) * page_size - 1]);
	}
	munmap(p, n * page_size);
	close(fd);
	close(pagemap);

	ASSERT_EQ(0, dm_snapshot_read(&dm));
	EXPECT_EQ(0, dm_present(&dm, pfns[victim]))
		TH_LOG("the poisoned page was mapped back");
	EXPECT_EQ(1, page_hwpoisoned(pfns[victim]));
	if (debug_pagealloc_on()) {
		TH_LOG("debug_pagealloc: free pages are unmapped, others not checked");
	} else {
		EXPECT_EQ(1, dm_present(&dm, pfns[0]))
			TH_LOG("the file's other pages were not mapped back");
	}
	dm_snapshot_free(&dm);
	EXPECT_POOL_EMPTY();
}

/*
 * A memory error on a clean page of a secret file that nobody maps: the
 * kernel's memory-failure handling tries to evict it from the file the
 * way it evicts clean page cache (invalidate_inode_page(), which frees
 * through __remove_mapping() with the page's refcount frozen to zero and
 * then calls ->free_folio()).  The pool's own reference keeps that from
 * succeeding: the page stays in the file, poisoned; the file's other pages
 * keep their data, and after close every page is accounted for.  When
 * ->free_folio() took a reference instead, this was a VM_BUG_ON.
 */
TEST_F(hwpoison, clean_unmapped_page)
{
	const long n = 4, victim = 1;
	struct pool_stats st0, st;
	int pagemap, fd, code;
	uint64_t pfn;
	long i;
	char *p;

	if (_metadata->skip)
		return;
	pool_prepare(_metadata, 1);
	ASSERT_EQ(0, pool_stats(&st0));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	fd = make_secret(n, &p);
	ASSERT_LE(0, fd);
	/* The victim is only read (clean); the others are written. */
	for (i = 0; i < n; i++) {
		if (i != victim)
			memset(p + i * page_size, (int)(i + 1), page_size);
	}
	ASSERT_EQ(0, peek(p + victim * page_size));
	pfn = pagemap_pfn(pagemap, p + victim * page_size, page_size);
	ASSERT_NE((uint64_t)0, pfn);
	close(pagemap);
	ASSERT_EQ(0, munmap(p, n * page_size));

	poison(pfn);
	ASSERT_EQ(1, page_hwpoisoned(pfn));

	p = mmap(NULL, n * page_size, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < n; i++) {
		if (i == victim)
			continue;
		EXPECT_EQ((char)(i + 1), p[(i + 1) * page_size - 1]);
	}
	code = read_faults(p + victim * page_size);
	TH_LOG("reading the poisoned page: si_code %d", code);
	munmap(p, n * page_size);
	close(fd);

	ASSERT_EQ(0, wait_recycled(&st));
	EXPECT_EQ(st0.in_use, st.in_use);
	EXPECT_EQ(st0.poisoned + 1, st.poisoned);
	EXPECT_EQ(1, region_poisoned(pfn));
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
