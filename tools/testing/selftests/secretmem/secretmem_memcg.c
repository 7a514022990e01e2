// SPDX-License-Identifier: GPL-2.0
/*
 * Secret memory and memory pressure: the memory cgroup and the shrinker.
 *
 *  - a secret page is charged to the memory cgroup of the task that
 *    faults it in, and the charge goes when the file is closed;
 *  - past memory.max the fault fails with SIGBUS, as past RLIMIT_MEMLOCK:
 *    secret memory is locked memory, so the cgroup's OOM killer is never
 *    asked to make room for it;
 *  - the pool's empty regions are memory the kernel can take back: under
 *    real memory pressure the shrinker gives them back before anything is
 *    OOM-killed.
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
#include <sys/wait.h>
#include <time.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"
#include "secretmem_child.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define CG_HOME		"sp-memcg"
#define CG_DRAIN	"sp-memcg-drain"

/* charge_follows_pages, limit_gives_sigbus_not_oom: the secret's pages. */
#define NR_PAGES	256
/* limit_gives_sigbus_not_oom: memory.max above what the cgroup uses. */
#define HEADROOM_PAGES	64

/* shrinker_under_pressure: the secrets whose regions the pool keeps. */
#define PRESSURE_MB	128
#define SECRET_MB	32
#define NR_HUGEPAGES	"/proc/sys/vm/nr_hugepages"

/* High watermark that keeps every empty region (no background shrink). */
#define KEEP_ALL	1000000

static long page_size;

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

/* What the test and its child share (secretmem_child.h). */
struct handshake {
	struct hs_sync s;
	int faulted, sigbus;
};

/*
 * The child of the cgroup tests.  The test moves it from cgroup to cgroup
 * (the child never does: opening cgroup.procs would charge the cgroup it
 * leaves), and it tells the test each step it reached:
 *   1  prepared, in the test's cgroup;
 *   2  (moved to CG_HOME) its secret of NR_PAGES pages created and mapped;
 *   3  (moved to CG_DRAIN) CG_HOME's charge caches drained;
 *   4  (moved to CG_HOME) the secret faulted in: hs->faulted pages, and
 *      hs->sigbus SIGBUSes (the first one ends the loop if
 *      @stop_at_sigbus);
 *   5  (moved to CG_DRAIN) the secret closed, the caches drained again.
 */
static void charge_child(struct handshake *hs, bool stop_at_sigbus)
{
	int fd, used = 0, i;
	char *scratch, *mem;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (pin_to_this_cpu())
		child_fail(&hs->s, 1);
	scratch = mmap(NULL, 16 * page_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (scratch == MAP_FAILED)
		child_fail(&hs->s, 2);
	/* Written now, so that no copy-on-write fault charges them later. */
	touch_stack();
	write_faults(scratch + 15 * page_size, 0);
	hs->sigbus = 0;		/* and the shared page's page table */
	errno = 0;
	child_step(&hs->s, 1);

	fd = sys_memfd_secret(0);
	if (fd < 0 || ftruncate(fd, NR_PAGES * page_size))
		child_fail(&hs->s, 3);
	mem = map_in_one_table(fd, NR_PAGES);
	if (mem == MAP_FAILED)
		child_fail(&hs->s, 4);
	child_step(&hs->s, 2);

	drain_charge_cache(scratch, &used);
	child_step(&hs->s, 3);

	for (i = 0; i < NR_PAGES; i++) {
		if (!write_faults(mem + i * page_size, 1))
			continue;
		hs->sigbus++;
		if (stop_at_sigbus)
			break;
	}
	hs->faulted = i;
	child_step(&hs->s, 4);

	munmap(mem, NR_PAGES * page_size);
	close(fd);
	drain_charge_cache(scratch, &used);
	child_step(&hs->s, 5);
	_exit(0);
}

/* A test's child, its shared page, and whether the cgroups were made. */
struct cg_child {
	pid_t pid;
	struct handshake *hs;
	bool cgroups;
};

FIXTURE(memcg) {
	long long saved_enabled, saved_low, saved_high;
	bool saved;
	struct cg_child run;
};

FIXTURE_SETUP(memcg)
{
	int fd;

	self->run.pid = -1;
	self->run.hs = MAP_FAILED;
	REQUIRE_POOL(return);
	ASSERT_EQ(0, access(CGROUP_ROOT "/cgroup.subtree_control", W_OK))
		TH_LOG("cgroup v2 is not mounted at %s", CGROUP_ROOT);
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

FIXTURE_TEARDOWN(memcg)
{
	/* shrinker_under_pressure may have left huge pages on failure. */
	if (read_num(NR_HUGEPAGES) > 0)
		write_str(NR_HUGEPAGES, "0");
	if (self->run.pid > 0) {
		kill(self->run.pid, SIGKILL);
		waitpid(self->run.pid, NULL, 0);
	}
	if (self->run.cgroups) {
		cg_destroy(CG_HOME);
		cg_destroy(CG_DRAIN);
	}
	if (self->run.hs != MAP_FAILED)
		munmap(self->run.hs, sizeof(*self->run.hs));
	if (self->saved) {
		pool_set("enabled", self->saved_enabled);
		pool_set("low_watermark", self->saved_low);
		pool_set("high_watermark", self->saved_high);
	}
}

static int move_to(pid_t pid, const char *cg)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d", pid);
	return cg_write(cg, "cgroup.procs", buf);
}

/* The pool on, the two cgroups, and the child started. */
static void start_child(struct __test_metadata *_metadata,
			struct cg_child *run, bool stop_at_sigbus)
{
	struct pool_stats st;

	ASSERT_EQ(0, pool_set("enabled", 1));
	/* No background growth: the pool settles empty at the end. */
	ASSERT_EQ(0, pool_set("low_watermark", 0));
	ASSERT_EQ(0, settle_empty(&st));
	ASSERT_EQ(0, cg_create(CG_HOME, "+memory"))
		TH_LOG("no memory controller in cgroup v2");
	ASSERT_EQ(0, cg_create(CG_DRAIN, "+memory"));
	run->cgroups = true;
	ASSERT_EQ(0, cg_read(CG_HOME, "cgroup.procs"))
		TH_LOG("%s already has processes", CG_HOME);
	run->hs = mmap(NULL, sizeof(*run->hs), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, run->hs);
	memset(run->hs, 0, sizeof(*run->hs));

	run->pid = fork();
	ASSERT_LE(0, run->pid);
	if (!run->pid)
		charge_child(run->hs, stop_at_sigbus);
}

/* Wait for the child at @step; fail with its error or fate if it died. */
static void child_at(struct __test_metadata *_metadata,
		     struct cg_child *run, int step)
{
	int status = 0;

	if (wait_step(&run->hs->s, step, run->pid))
		return;
	if (waitpid(run->pid, &status, WNOHANG) == run->pid)
		run->pid = -1;
	ASSERT_LE(step, hs_get(&run->hs->s.step))
		TH_LOG("child did not reach step %d: error %d, status %#x",
		       step, hs_get(&run->hs->s.err), status);
}

/* Move the child to @cg and let it go past @step. */
static void child_go(struct __test_metadata *_metadata,
		     struct cg_child *run, const char *cg, int step)
{
	ASSERT_EQ(0, move_to(run->pid, cg));
	hs_set(&run->hs->s.go, step);
}

/*
 * Take the child through steps 1 to 3: in CG_HOME when this returns, with
 * the secret created and nothing of it charged yet, and no charge cached
 * ahead for CG_HOME.
 */
static void child_ready(struct __test_metadata *_metadata,
			struct cg_child *run)
{
	child_at(_metadata, run, 1);
	child_go(_metadata, run, CG_HOME, 1);
	child_at(_metadata, run, 2);
	child_go(_metadata, run, CG_DRAIN, 2);
	child_at(_metadata, run, 3);
	ASSERT_EQ(0, move_to(run->pid, CG_HOME));
}

/* Let the child finish; it must exit 0, not be killed. */
static void child_done(struct __test_metadata *_metadata,
		       struct cg_child *run)
{
	int status;

	hs_set(&run->hs->s.go, 5);
	ASSERT_EQ(run->pid, waitpid(run->pid, &status, 0));
	run->pid = -1;
	EXPECT_TRUE(WIFEXITED(status))
		TH_LOG("child killed by signal %d", WTERMSIG(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child error %d", hs_get(&run->hs->s.err));
}

/*
 * memory.current of a cgroup holding only the child rises by at least the
 * secret's size while its pages are faulted in, and falls by at least as
 * much once the file is closed and the pool has its pages back.  (After
 * the faults the child leaves the cgroup, so that nothing can be charged
 * to it any more: memory.current can only fall.)
 */
TEST_F(memcg, charge_follows_pages)
{
	long long before, faulted, after;
	struct pool_stats st0, st;

	if (_metadata->skip)
		return;
	start_child(_metadata, &self->run, false);
	child_ready(_metadata, &self->run);
	before = cg_read(CG_HOME, "memory.current");
	ASSERT_LE(0, before);
	ASSERT_EQ(0, pool_stats(&st0));
	hs_set(&self->run.hs->s.go, 3);

	child_at(_metadata, &self->run, 4);
	faulted = cg_read(CG_HOME, "memory.current");
	ASSERT_EQ(0, pool_stats(&st));
	ASSERT_EQ(NR_PAGES, self->run.hs->faulted);
	ASSERT_EQ(0, self->run.hs->sigbus);
	EXPECT_EQ(st0.in_use + NR_PAGES, st.in_use)
		TH_LOG("the secret's pages are not (all) the pool's");
	EXPECT_LE(before + NR_PAGES * page_size, faulted)
		TH_LOG("charged %lld bytes for %d pages", faulted - before,
		       NR_PAGES);
	child_go(_metadata, &self->run, CG_DRAIN, 4);

	child_at(_metadata, &self->run, 5);
	ASSERT_EQ(0, pool_settle(&st));
	after = cg_read(CG_HOME, "memory.current");
	TH_LOG("memory.current: %lld before, %lld with the secret, %lld after",
	       before, faulted, after);
	EXPECT_LE(after + NR_PAGES * page_size, faulted)
		TH_LOG("uncharged %lld bytes for %d pages", faulted - after,
		       NR_PAGES);
	child_done(_metadata, &self->run);
	EXPECT_POOL_EMPTY();
}

/*
 * Past memory.max a secret page cannot be charged: the fault gets SIGBUS
 * before the end of the secret, and nobody is OOM-killed (the cgroup's
 * oom_kill event stays 0 and the child lives on to exit normally).
 */
TEST_F(memcg, limit_gives_sigbus_not_oom)
{
	long long current, events_max, oom, oom_kill;
	char max[32];

	if (_metadata->skip)
		return;
	start_child(_metadata, &self->run, true);
	child_ready(_metadata, &self->run);
	current = cg_read(CG_HOME, "memory.current");
	ASSERT_LE(0, current);
	snprintf(max, sizeof(max), "%lld",
		 current + HEADROOM_PAGES * page_size);
	ASSERT_EQ(0, cg_write(CG_HOME, "memory.max", max));
	hs_set(&self->run.hs->s.go, 3);

	child_at(_metadata, &self->run, 4);
	events_max = cg_read_key(CG_HOME, "memory.events", "max");
	oom = cg_read_key(CG_HOME, "memory.events", "oom");
	TH_LOG("memory.max %s: SIGBUS after %d pages; events max %lld, oom %lld",
	       max, self->run.hs->faulted, events_max, oom);
	EXPECT_EQ(1, self->run.hs->sigbus);
	EXPECT_LT(0, self->run.hs->faulted);
	EXPECT_GT(NR_PAGES, self->run.hs->faulted);
	EXPECT_LT(0, events_max) TH_LOG("the limit was never reached");
	child_go(_metadata, &self->run, CG_DRAIN, 4);

	child_at(_metadata, &self->run, 5);
	child_done(_metadata, &self->run);
	oom_kill = cg_read_key(CG_HOME, "memory.events", "oom_kill");
	EXPECT_EQ(0, oom_kill);
	ASSERT_EQ(0, cg_write(CG_HOME, "memory.max", "max"));
	EXPECT_POOL_EMPTY();
}

/* Until every page that came back is recycled (~60 s at most). */
static int wait_recycled(struct pool_stats *st)
{
	int i;

	for (i = 0; i < 6000; i++) {
		if (pool_stats(st))
			return -1;
		if (!st->pending)
			return 0;
		usleep(10000);
	}
	return -1;
}

/*
 * With watermarks that keep every empty region, the pool holds the
 * regions of 128 MiB of closed secrets.  Then the hugetlb pool is asked
 * for more 2M blocks than are free: the page allocator has to reclaim for
 * them, and with no swap only page cache, slab and the pool's empty
 * regions can be reclaimed.  (Filling memory with anonymous pages would
 * do the same, but takes minutes in an emulated debug guest.)  The pool
 * must give regions back that way (how many depends on what else reclaim
 * finds: its shrinker is proportional, like any cache's; without it, none
 * would go, since the watermarks keep them all), and while memory is that
 * short, an ordinary page fault of ours still succeeds and nothing is
 * OOM-killed.
 */
TEST_F(memcg, shrinker_under_pressure)
{
	const long per_secret = ((long)SECRET_MB << 20) / page_size;
	const int secrets = PRESSURE_MB / SECRET_MB;
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	long long oom0, held, free_kb, want, got, saved;
	char *maps[PRESSURE_MB / SECRET_MB], num[32], *p;
	int fds[PRESSURE_MB / SECRET_MB];
	struct pool_stats st;
	int i;
	long j;

	if (_metadata->skip)
		return;
	saved = read_num(NR_HUGEPAGES);
	ASSERT_EQ(0, saved) TH_LOG("needs CONFIG_HUGETLBFS and no huge pages");
	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, pool_set("low_watermark", 0));
	ASSERT_EQ(0, pool_set("high_watermark", KEEP_ALL));
	ASSERT_EQ(0, settle_empty(&st));
	ASSERT_EQ(0, st.regions);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));

	/* All the secrets at once, so that they take distinct pages. */
	for (i = 0; i < secrets; i++) {
		fds[i] = sys_memfd_secret(0);
		ASSERT_LE(0, fds[i]);
		ASSERT_EQ(0, ftruncate(fds[i], per_secret * page_size));
		maps[i] = mmap(NULL, per_secret * page_size,
			       PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
		ASSERT_NE(MAP_FAILED, maps[i]);
		for (j = 0; j < per_secret; j++)
			poke(maps[i] + j * page_size, 1);
	}
	for (i = 0; i < secrets; i++) {
		munmap(maps[i], per_secret * page_size);
		close(fds[i]);
	}
	ASSERT_EQ(0, wait_recycled(&st));
	held = st.regions;
	TH_LOG("%d MiB of secrets closed: the pool holds %lld regions",
	       PRESSURE_MB, held);
	ASSERT_LE((long long)secrets * per_secret * 9 / 10, held * 512)
		TH_LOG("the pool did not keep the secrets' regions");

	/* More huge pages than there is free memory for. */
	oom0 = vmstat_read("oom_kill");
	ASSERT_LE(0, oom0);
	free_kb = meminfo_kb("MemFree");
	want = free_kb / 2048 + held;
	snprintf(num, sizeof(num), "%lld", want);
	ASSERT_EQ(0, write_str(NR_HUGEPAGES, num));
	got = read_num(NR_HUGEPAGES);
	ASSERT_EQ(0, pool_stats(&st));
	TH_LOG("%lld MiB free; %lld huge pages asked for, %lld given",
	       free_kb >> 10, want, got);
	TH_LOG("the pool went from %lld to %lld regions", held, st.regions);

	/* Memory is short; a fault still gets its page, by reclaim. */
	p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	EXPECT_NE(MAP_FAILED, p);
	if (p != MAP_FAILED)
		munmap(p, 1 << 20);

	ASSERT_EQ(0, write_str(NR_HUGEPAGES, "0"));
	EXPECT_LT(0, got);
	EXPECT_GT(held, st.regions) TH_LOG("the shrinker gave nothing back");
	EXPECT_EQ(oom0, vmstat_read("oom_kill"));
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
