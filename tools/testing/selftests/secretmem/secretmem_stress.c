// SPDX-License-Identifier: GPL-2.0
/*
 * secretmem under concurrency, including the races upstream had to fix:
 *
 *  - many threads creating, faulting, checking and closing secrets at once;
 *  - two threads faulting the same offset of a fresh file at the same time
 *    (the page that loses the race to the page cache must go back where it
 *    came from, never to the page allocator while it is not mapped);
 *  - ftruncate() racing a fault on the same file;
 *  - many forked children writing one shared secret.
 *
 * Each test runs with the pool on and with it off (upstream's per-page
 * path races the same way), and ends by checking, through the pool's
 * statistics and its audit, that every page came back: no page is lost.
 * The kernel log is checked by the test runner for any warning these
 * races may provoke.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define NR_THREADS	8

static long page_size;

static uint32_t rnd(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

FIXTURE(stress) {
	long long saved_enabled;
};

FIXTURE_VARIANT(stress) {
	int pool;
};

FIXTURE_VARIANT_ADD(stress, pool_on) { .pool = 1 };
FIXTURE_VARIANT_ADD(stress, pool_off) { .pool = 0 };

FIXTURE_SETUP(stress)
{
	int fd;

	self->saved_enabled = -1;
	REQUIRE_POOL(return);
	self->saved_enabled = pool_get("enabled");
	ASSERT_EQ(0, pool_set("enabled", variant->pool));
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd) TH_LOG("memfd_secret() not available");
	close(fd);
}

FIXTURE_TEARDOWN(stress)
{
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

struct churn_arg {
	int id;
	int iterations;
	atomic_int *errors;
};

static void *churn(void *data)
{
	struct churn_arg *a = data;
	uint32_t seed = 0x9e3779b9u * (a->id + 1);
	int it;

	for (it = 0; it < a->iterations; it++) {
		long pages = 1 + rnd(&seed) % 32, i;
		unsigned char *p, tag = (unsigned char)(a->id * 31 + it);
		int fd = sys_memfd_secret(0);

		if (fd < 0 || ftruncate(fd, pages * page_size)) {
			atomic_fetch_add(a->errors, 1);
			break;
		}
		p = mmap(NULL, pages * page_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			atomic_fetch_add(a->errors, 1);
			close(fd);
			break;
		}
		for (i = 0; i < pages; i++) {
			/* Fresh pages are zero. */
			if (p[i * page_size + (it % page_size)])
				atomic_fetch_add(a->errors, 1);
			memset(p + i * page_size, tag, page_size);
		}
		for (i = 0; i < pages; i++)
			if (p[i * page_size + page_size - 1] != tag)
				atomic_fetch_add(a->errors, 1);
		munmap(p, pages * page_size);
		close(fd);
	}
	return NULL;
}

TEST_F(stress, many_threads)
{
	struct churn_arg args[NR_THREADS];
	pthread_t th[NR_THREADS];
	atomic_int errors = 0;
	int i;

	for (i = 0; i < NR_THREADS; i++) {
		args[i] = (struct churn_arg){ i, 40, &errors };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churn, &args[i]));
	}
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(0, atomic_load(&errors));
	EXPECT_POOL_EMPTY();
}

struct race {
	pthread_barrier_t start;
	char *p;
};

struct racer {
	struct race *race;
	int offset;
};

static void *touch_same(void *data)
{
	struct racer *r = data;

	pthread_barrier_wait(&r->race->start);
	poke(r->race->p + r->offset, (char)(r->offset + 1));
	return NULL;
}

/* Two threads fault the same fresh page at once; both writes land in it. */
TEST_F(stress, same_offset_race)
{
	struct race race;
	struct racer ra = { &race, 1 }, rb = { &race, 2 };
	pthread_t ta, tb;
	int it, fd, lost = 0;

	for (it = 0; it < 80; it++) {
		fd = sys_memfd_secret(0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, ftruncate(fd, page_size));
		race.p = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
			      MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, race.p);
		close(fd);

		ASSERT_EQ(0, pthread_barrier_init(&race.start, NULL, 2));
		ASSERT_EQ(0, pthread_create(&ta, NULL, touch_same, &ra));
		ASSERT_EQ(0, pthread_create(&tb, NULL, touch_same, &rb));
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&race.start);

		lost += peek(race.p + 1) != 2 || peek(race.p + 2) != 3;
		munmap(race.p, page_size);
	}
	EXPECT_EQ(0, lost);
	EXPECT_POOL_EMPTY();
}

static __thread sigjmp_buf bus_jmp;
static __thread int bus_armed;	/* read by the handler: __atomic */

static void on_sigbus(int sig)
{
	if (__atomic_load_n(&bus_armed, __ATOMIC_SEQ_CST))
		siglongjmp(bus_jmp, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

struct trunc_race {
	pthread_barrier_t start;
	char *p;
	int fd;
	int sigbus;
};

static void *fault_until_sized(void *data)
{
	struct trunc_race *r = data;

	/*
	 * Only memory reached through @r is used after siglongjmp(): no local
	 * changes between sigsetjmp() and the fault.
	 */
	pthread_barrier_wait(&r->start);
	for (;;) {
		__atomic_store_n(&bus_armed, 1, __ATOMIC_SEQ_CST);
		if (sigsetjmp(bus_jmp, 1)) {
			/* Past the end: the size is not there yet. */
			if (++r->sigbus > 1000000)
				break;
			continue;
		}
		poke(r->p, 'f');
		break;
	}
	__atomic_store_n(&bus_armed, 0, __ATOMIC_SEQ_CST);
	return NULL;
}

/* A fault and ftruncate() on the same file at the same time. */
TEST_F(stress, truncate_race)
{
	struct sigaction sa = { .sa_handler = on_sigbus };
	struct trunc_race r;
	int it, bad = 0;
	pthread_t t;

	sigaction(SIGBUS, &sa, NULL);
	for (it = 0; it < 80; it++) {
		r.fd = sys_memfd_secret(0);
		ASSERT_LE(0, r.fd);
		/* Mapped while the file still has no size. */
		r.p = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   r.fd, 0);
		ASSERT_NE(MAP_FAILED, r.p);
		r.sigbus = 0;
		pthread_barrier_init(&r.start, NULL, 2);
		ASSERT_EQ(0, pthread_create(&t, NULL, fault_until_sized, &r));
		pthread_barrier_wait(&r.start);
		usleep(it % 7);
		ASSERT_EQ(0, ftruncate(r.fd, page_size));
		pthread_join(t, NULL);
		pthread_barrier_destroy(&r.start);
		bad += peek(r.p) != 'f';
		munmap(r.p, page_size);
		close(r.fd);
	}
	EXPECT_EQ(0, bad);
	EXPECT_POOL_EMPTY();
}

/* Many children write their byte of one shared secret page. */
TEST_F(stress, fork_many)
{
	const int children = 16;
	char *p;
	int fd, i, status;

	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 4 * page_size));
	p = mmap(NULL, 4 * page_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 0);
	ASSERT_NE(MAP_FAILED, p);
	close(fd);

	for (i = 0; i < children; i++) {
		pid_t c = fork();

		ASSERT_LE(0, c);
		if (!c) {
			/* Spread over the pages so some are faulted by children. */
			poke(p + (i % 4) * page_size + i, (char)(i + 1));
			_exit(0);
		}
	}
	for (i = 0; i < children; i++) {
		ASSERT_LT(0, wait(&status));
		EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	}
	for (i = 0; i < children; i++)
		EXPECT_EQ(i + 1, peek(p + (i % 4) * page_size + i));
	munmap(p, 4 * page_size);
	EXPECT_POOL_EMPTY();
}

static void __attribute__((constructor)) init_page_size(void)
{
	page_size = sysconf(_SC_PAGESIZE);
}

TEST_HARNESS_MAIN
