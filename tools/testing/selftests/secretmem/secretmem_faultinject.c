// SPDX-License-Identifier: GPL-2.0
/*
 * Allocation failures (CONFIG_FAULT_INJECTION: fail_page_alloc and
 * failslab under /sys/kernel/debug) while secrets are created, faulted,
 * checked and closed:
 *
 *  - in the faulting task (task-filter, /proc/self/make-it-fail), with
 *    the pool emptied again and again so that faults must grow it: every
 *    allocation of the task may fail, including the pool's regions.  A
 *    failed fault is a SIGBUS (caught, counted, retried) or a retried
 *    VM_FAULT_OOM, and memfd_secret(), ftruncate() and mmap() may fail with
 *    ENOMEM; nothing else may go wrong, and a page that was written reads
 *    back what was written;
 *  - in the pool's background growth: every 2M allocation in the system
 *    may fail.  The pool then serves pages one at a time (its fallback
 *    counter grows) and nothing breaks.
 *
 * Either way the pool ends with nothing in use, pending or held.  The
 * injection is switched off by the fixture teardown whatever happened.
 * The kernel may log "Huh VM_FAULT_OOM leaked out to the #PF handler.
 * Retrying PF" for the retried faults: expected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

#define FAIL_PAGE_ALLOC	"/sys/kernel/debug/fail_page_alloc/"
#define FAILSLAB	"/sys/kernel/debug/failslab/"
#define MAKE_IT_FAIL	"/proc/self/make-it-fail"

/* How long the child churns secrets, at least and at most (seconds). */
#define CHURN_SECONDS	3
#define CHURN_MAX	20
/* Largest secret of each phase (pages). */
#define PHASE1_PAGES	64
#define PHASE2_PAGES	768
/* Attempts to write one page before giving it up. */
#define WRITE_TRIES	100

/* Every fault-injection file a test writes, saved and restored. */
static const char * const attr_files[] = {
	FAIL_PAGE_ALLOC "probability",
	FAIL_PAGE_ALLOC "interval",
	FAIL_PAGE_ALLOC "times",
	FAIL_PAGE_ALLOC "verbose",
	FAIL_PAGE_ALLOC "task-filter",
	FAIL_PAGE_ALLOC "ignore-gfp-wait",
	FAIL_PAGE_ALLOC "ignore-gfp-highmem",
	FAIL_PAGE_ALLOC "min-order",
	FAILSLAB "probability",
	FAILSLAB "interval",
	FAILSLAB "times",
	FAILSLAB "verbose",
	FAILSLAB "task-filter",
	FAILSLAB "ignore-gfp-wait",
};

#define NR_ATTRS	ARRAY_SIZE(attr_files)

struct attr_setting {
	const char *file;
	const char *val;
};

/*
 * Phase 1: 20% of the allocations of tasks with make-it-fail fail, of any
 * order, whether or not they may sleep or use highmem.  Probability last,
 * so that injection starts once everything else is set.
 */
static const struct attr_setting phase1[] = {
	{ FAIL_PAGE_ALLOC "task-filter", "Y" },
	{ FAIL_PAGE_ALLOC "ignore-gfp-wait", "N" },
	{ FAIL_PAGE_ALLOC "ignore-gfp-highmem", "N" },
	{ FAIL_PAGE_ALLOC "min-order", "0" },
	{ FAIL_PAGE_ALLOC "interval", "1" },
	{ FAIL_PAGE_ALLOC "times", "-1" },
	{ FAIL_PAGE_ALLOC "verbose", "0" },
	{ FAILSLAB "task-filter", "Y" },
	{ FAILSLAB "ignore-gfp-wait", "N" },
	{ FAILSLAB "interval", "1" },
	{ FAILSLAB "times", "-1" },
	{ FAILSLAB "verbose", "0" },
	{ FAIL_PAGE_ALLOC "probability", "20" },
	{ FAILSLAB "probability", "20" },
};

/* Phase 2: half of all 2M (order 9 and up) page allocations fail. */
static const struct attr_setting phase2[] = {
	{ FAILSLAB "probability", "0" },
	{ FAIL_PAGE_ALLOC "task-filter", "N" },
	{ FAIL_PAGE_ALLOC "ignore-gfp-wait", "N" },
	{ FAIL_PAGE_ALLOC "ignore-gfp-highmem", "N" },
	{ FAIL_PAGE_ALLOC "min-order", "9" },
	{ FAIL_PAGE_ALLOC "interval", "1" },
	{ FAIL_PAGE_ALLOC "times", "-1" },
	{ FAIL_PAGE_ALLOC "verbose", "0" },
	/*
	 * Most, not half: with half failing, both nodes' retries (three
	 * grows each) once served every fault for 20 s (0 fallbacks).
	 */
	{ FAIL_PAGE_ALLOC "probability", "80" },
};

/* No injection: probability first, then no task singled out. */
static const struct attr_setting off[] = {
	{ FAIL_PAGE_ALLOC "probability", "0" },
	{ FAILSLAB "probability", "0" },
	{ FAIL_PAGE_ALLOC "task-filter", "N" },
	{ FAILSLAB "task-filter", "N" },
};

static int apply(const struct attr_setting *s, size_t n)
{
	size_t i;
	int err, ret = 0;

	for (i = 0; i < n; i++) {
		err = write_str(s[i].file, s[i].val);
		ret = ret ?: err;
	}
	return ret;
}

static long page_size;

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint32_t rnd(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

/*
 * The SIGBUS handler of write_faults() runs here, on memory touched before
 * the child's allocations may fail: a signal frame pushed onto a stack
 * page not yet faulted in needs a new page, and when that allocation fails
 * the kernel kills the task with SIGSEGV (seen once in a few dozen runs).
 */
static char alt_stack[64 * 1024];

/* What the churning child did, in memory shared with the test. */
struct churn {
	int stop;		/* set by the test */
	long long iterations, pages_ok, sigbus, enomem;
	long long bad_data, unexpected;
	int last_errno;
};

static void count_error(struct churn *c, int err)
{
	if (err == ENOMEM) {
		c->enomem++;
	} else {
		c->unexpected++;
		c->last_errno = err;
	}
}

static bool ok_page[PHASE2_PAGES];

/* One secret of @pages pages: create, fault, check, close. */
static void churn_one(struct churn *c, long pages, char tag)
{
	long i, t;
	char *p;
	int fd;

	fd = sys_memfd_secret(0);
	if (fd < 0) {
		count_error(c, errno);
		return;
	}
	if (ftruncate(fd, pages * page_size)) {
		count_error(c, errno);
		close(fd);
		return;
	}
	p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED) {
		count_error(c, errno);
		close(fd);
		return;
	}
	for (i = 0; i < pages; i++) {
		ok_page[i] = false;
		for (t = 0; t < WRITE_TRIES && !ok_page[i]; t++) {
			if (write_faults(p + i * page_size, tag))
				c->sigbus++;
			else
				ok_page[i] = true;
		}
		/* The page is in now: this write cannot fault. */
		if (ok_page[i])
			poke(p + (i + 1) * page_size - 1, tag);
	}
	/* What was written is there; the rest of a fresh page is zero. */
	for (i = 0; i < pages; i++) {
		if (!ok_page[i])
			continue;
		c->pages_ok++;
		c->bad_data += peek(p + i * page_size) != tag ||
			       peek(p + (i + 1) * page_size - 1) != tag ||
			       peek(p + i * page_size + page_size / 2) != 0;
	}
	if (munmap(p, pages * page_size))
		count_error(c, errno);
	close(fd);
	c->iterations++;
}

/*
 * The churning child: secrets of 1 to @max_pages pages until the test says
 * stop (or CHURN_MAX * 3 seconds passed), with its own allocations failing
 * if @make_it_fail.  Exits 0 when it churned, 2 if it could not start.
 */
static void churn_child(struct churn *c, long max_pages,
			bool make_it_fail)
{
	uint32_t seed = 0x2545f491u ^ (uint32_t)getpid();
	double end = now() + 3 * CHURN_MAX;
	long it = 0;
	stack_t ss = { .ss_sp = alt_stack, .ss_size = sizeof(alt_stack) };

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	/* Fault in what the loop writes before anything may fail. */
	memset(ok_page, 0, sizeof(ok_page));
	memset(alt_stack, 0, sizeof(alt_stack));
	if (sigaltstack(&ss, NULL))
		_exit(2);
	/* One secret first (not counted): the stack and data the loop uses. */
	churn_one(c, 1, 1);
	c->iterations = 0;
	c->pages_ok = 0;
	if (make_it_fail && write_str(MAKE_IT_FAIL, "1"))
		_exit(2);
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST) && now() < end) {
		churn_one(c, 1 + rnd(&seed) % max_pages, (char)(1 + it % 250));
		it++;
	}
	_exit(0);
}

FIXTURE(faultinject) {
	char saved[NR_ATTRS][32];
	bool attrs_saved;
	long long saved_enabled, saved_low, saved_high;
	bool knobs_saved;
	pid_t child;
	struct churn *c;
};

FIXTURE_SETUP(faultinject)
{
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	char *nl;
	size_t i;
	int fd;

	self->child = -1;
	self->c = MAP_FAILED;
	REQUIRE_POOL(return);
	ASSERT_EQ(0, access(FAIL_PAGE_ALLOC, F_OK))
		TH_LOG("no %s: CONFIG_FAIL_PAGE_ALLOC and its debugfs needed",
		       FAIL_PAGE_ALLOC);
	ASSERT_EQ(0, access(FAILSLAB, F_OK))
		TH_LOG("no %s: CONFIG_FAILSLAB and its debugfs needed",
		       FAILSLAB);
	ASSERT_EQ(0, access(MAKE_IT_FAIL, W_OK))
		TH_LOG("no %s: CONFIG_FAULT_INJECTION is needed", MAKE_IT_FAIL);
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd) TH_LOG("memfd_secret() not available");
	close(fd);
	/* Secrets of PHASE2_PAGES pages and more, in several files. */
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));

	for (i = 0; i < NR_ATTRS; i++) {
		ASSERT_EQ(0, read_str(attr_files[i], self->saved[i],
				      sizeof(self->saved[i])))
			TH_LOG("cannot read %s", attr_files[i]);
		nl = strchr(self->saved[i], '\n');
		if (nl)
			*nl = '\0';
	}
	self->attrs_saved = true;
	self->saved_enabled = pool_get("enabled");
	self->saved_low = pool_get("low_watermark");
	self->saved_high = pool_get("high_watermark");
	ASSERT_LE(0, self->saved_enabled);
	ASSERT_LE(0, self->saved_low);
	ASSERT_LE(0, self->saved_high);
	self->knobs_saved = true;

	self->c = mmap(NULL, sizeof(*self->c), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->c);
	memset(self->c, 0, sizeof(*self->c));
}

FIXTURE_TEARDOWN(faultinject)
{
	size_t i;

	/* Injection off first, whatever state the test left. */
	if (self->attrs_saved)
		apply(off, ARRAY_SIZE(off));
	if (self->child > 0) {
		kill(self->child, SIGKILL);
		waitpid(self->child, NULL, 0);
	}
	if (self->attrs_saved)
		for (i = 0; i < NR_ATTRS; i++)
			write_str(attr_files[i], self->saved[i]);
	if (self->knobs_saved) {
		pool_set("enabled", self->saved_enabled);
		pool_set("low_watermark", self->saved_low);
		pool_set("high_watermark", self->saved_high);
	}
	if (self->c != MAP_FAILED)
		munmap(self->c, sizeof(*self->c));
}

/*
 * Run the churning child until it stopped: at least CHURN_SECONDS, and on
 * until @until_fallback_above is exceeded by the pool's fallback count (if
 * not negative) or CHURN_MAX seconds passed.  Meanwhile the pool's empty
 * regions are given back every 20 ms so that it has to grow again.  The
 * injection is off again on return; the child's status in @status.
 */
static void churn(struct __test_metadata *_metadata, pid_t *child,
		  struct churn *c, long max_pages, bool make_it_fail,
		  long long until_fallback_above, int *status)
{
	struct pool_stats st;
	double start;
	bool more;
	pid_t got;

	*child = fork();
	ASSERT_LE(0, *child);
	if (!*child)
		churn_child(c, max_pages, make_it_fail);

	start = now();
	for (;;) {
		got = waitpid(*child, status, WNOHANG);
		if (got == *child)
			break;
		ASSERT_EQ(0, got);
		ASSERT_EQ(0, write_str(SP_DEBUGFS "shrink", "1"));
		ASSERT_EQ(0, pool_stats(&st));
		more = now() - start < CHURN_SECONDS ||
		       (until_fallback_above >= 0 &&
			st.fallback <= until_fallback_above &&
			now() - start < CHURN_MAX);
		if (!more)
			__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
		ASSERT_GT(3 * CHURN_MAX + 30, now() - start)
			TH_LOG("the child does not stop");
		usleep(20000);
	}
	*child = -1;
	ASSERT_EQ(0, apply(off, ARRAY_SIZE(off)));
	TH_LOG("%.1f s: %lld secrets, %lld pages written, %lld SIGBUS, %lld ENOMEM",
	       now() - start, c->iterations, c->pages_ok,
	       c->sigbus, c->enomem);
}

/*
 * Allocations of the faulting task fail: region growth in the fault path,
 * the per-page fallback, page tables, the page cache, the file itself.
 * Failures surface as SIGBUS or ENOMEM and nothing else; written data is
 * intact; the pool accounts for every page.
 */
TEST_F(faultinject, faults_and_growth)
{
	struct pool_stats st0, st;
	int status;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, pool_set("enabled", 1));
	/* No background growth: the faulting task grows the pool. */
	ASSERT_EQ(0, pool_set("low_watermark", 0));
	ASSERT_EQ(0, settle_empty(&st0));
	ASSERT_EQ(0, st0.regions);

	ASSERT_EQ(0, apply(phase1, ARRAY_SIZE(phase1)));
	churn(_metadata, &self->child, self->c, PHASE1_PAGES, true, -1,
	      &status);
	ASSERT_EQ(0, pool_stats(&st));

	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("child killed by signal %d", WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status))
		TH_LOG("child could not set %s", MAKE_IT_FAIL);
	EXPECT_EQ(0, self->c->bad_data)
		TH_LOG("pages read back something else than was written");
	EXPECT_EQ(0, self->c->unexpected)
		TH_LOG("%lld failures with errno %d (%s)", self->c->unexpected,
		       self->c->last_errno, strerror(self->c->last_errno));
	EXPECT_LT(0, self->c->pages_ok);
	/* Injection did happen, and so did the pool's growth. */
	EXPECT_LT(0, self->c->sigbus + self->c->enomem);
	EXPECT_LT(st0.grown + st0.grow_failed, st.grown + st.grow_failed);
	TH_LOG("pool: %lld regions grown, %lld failed, %lld fallbacks",
	       st.grown - st0.grown, st.grow_failed - st0.grow_failed,
	       st.fallback - st0.fallback);
	EXPECT_POOL_EMPTY();
}

/*
 * Most of the 2M allocations fail, whoever makes them: the background
 * worker growing the pool to its low watermark and the faults that grow
 * it.  The pool falls back to single pages, and the secrets work as usual:
 * no SIGBUS, no ENOMEM, data intact.
 */
TEST_F(faultinject, background_growth)
{
	struct pool_stats st0, st;
	int status;

	if (_metadata->skip)
		return;
	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, pool_set("low_watermark", 128));
	ASSERT_EQ(0, pool_set("high_watermark", 1024));
	ASSERT_EQ(0, pool_settle(&st0));

	ASSERT_EQ(0, apply(phase2, ARRAY_SIZE(phase2)));
	churn(_metadata, &self->child, self->c, PHASE2_PAGES, false,
	      st0.fallback, &status);
	ASSERT_EQ(0, pool_stats(&st));

	ASSERT_TRUE(WIFEXITED(status))
		TH_LOG("child killed by signal %d", WTERMSIG(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	EXPECT_EQ(0, self->c->bad_data)
		TH_LOG("pages read back something else than was written");
	EXPECT_EQ(0, self->c->unexpected)
		TH_LOG("%lld failures with errno %d (%s)", self->c->unexpected,
		       self->c->last_errno, strerror(self->c->last_errno));
	EXPECT_EQ(0, self->c->sigbus);
	EXPECT_EQ(0, self->c->enomem);
	EXPECT_LT(0, self->c->pages_ok);
	TH_LOG("pool: %lld regions grown, %lld failed, %lld fallbacks",
	       st.grown - st0.grown, st.grow_failed - st0.grow_failed,
	       st.fallback - st0.fallback);
	EXPECT_LT(st0.grow_failed, st.grow_failed);
	EXPECT_LT(st0.fallback, st.fallback);
	/* No background growth while the pool is checked empty. */
	ASSERT_EQ(0, pool_set("low_watermark", 0));
	ASSERT_EQ(0, settle_empty(&st));
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
