// SPDX-License-Identifier: GPL-2.0
/*
 * CPU hotplug and the pool's per-CPU caches: when a CPU goes offline, the
 * free pages its cache held go back to their regions at once (a CPU
 * hotplug "dead" callback), so no memory sits with a CPU that is gone.
 * And CPUs going away and coming back while secrets are created and closed
 * lose no page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"

/* The count of @cpu's cache in debugfs pcp ("cpu online node count"). */
static long long pcp_count(int cpu)
{
	int c, online, node;
	unsigned int count;
	char line[128];
	long long ret = -1;
	FILE *f = fopen(SP_DEBUGFS "pcp", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %d %d %u", &c, &online, &node,
			   &count) == 4 && c == cpu)
			ret = count;
	fclose(f);
	return ret;
}

static int run_on(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int run_anywhere(void)
{
	cpu_set_t set;
	int cpu;

	CPU_ZERO(&set);
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

FIXTURE(cpuhp) {
	long page;
	bool offlined;
	long long saved_enabled;
};

FIXTURE_SETUP(cpuhp)
{
	int fd;

	self->page = sysconf(_SC_PAGESIZE);
	self->offlined = false;
	self->saved_enabled = -1;
	REQUIRE_POOL(return);
	ASSERT_EQ(0, access(CPU1_ONLINE, W_OK))
		TH_LOG("CPU 1 cannot be taken offline (needs 2 CPUs, CONFIG_HOTPLUG_CPU)");
	ASSERT_EQ(1, read_num(CPU1_ONLINE));
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd);
	close(fd);
	self->saved_enabled = pool_get("enabled");
	ASSERT_EQ(0, pool_set("enabled", 1));
}

FIXTURE_TEARDOWN(cpuhp)
{
	run_anywhere();
	if (read_num(CPU1_ONLINE) == 0)
		write_str(CPU1_ONLINE, "1");
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

/* A few pages faulted on CPU 1, so that its cache holds the rest of a batch. */
static int fill_cache_on_cpu1(long page)
{
	int fd, i;
	char *p;

	if (run_on(1))
		return -1;
	fd = sys_memfd_secret(0);
	if (fd < 0 || ftruncate(fd, 4 * page))
		return -1;
	p = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	for (i = 0; i < 4; i++)
		poke(p + i * page, 1);
	munmap(p, 4 * page);
	close(fd);
	return run_on(0);
}

TEST_F(cpuhp, dead_cpu_cache_emptied)
{
	struct pool_stats st;

	ASSERT_EQ(0, pool_settle(&st));
	ASSERT_EQ(0, fill_cache_on_cpu1(self->page));
	ASSERT_LT(0, pcp_count(1)) TH_LOG("CPU 1's cache did not fill");

	ASSERT_EQ(0, write_str(CPU1_ONLINE, "0"));
	EXPECT_EQ(0, pcp_count(1)) TH_LOG("a dead CPU kept its cache");
	ASSERT_EQ(0, write_str(CPU1_ONLINE, "1"));

	/* The cache of a CPU that came back works as before. */
	ASSERT_EQ(0, fill_cache_on_cpu1(self->page));
	EXPECT_LT(0, pcp_count(1));
	run_anywhere();
	EXPECT_POOL_EMPTY();
}

struct churner {
	atomic_int *stop;
	atomic_int *errors;
	long page;
	int id;
};

static void *churn(void *data)
{
	struct churner *c = data;
	unsigned int seed = 0x2545f491u * (c->id + 1);

	while (!atomic_load(c->stop)) {
		long pages = 1 + (seed = seed * 1103515245u + 12345u) % 24, i;
		int fd = sys_memfd_secret(0);
		char *p;

		if (fd < 0 || ftruncate(fd, pages * c->page)) {
			atomic_fetch_add(c->errors, 1);
			break;
		}
		p = mmap(NULL, pages * c->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			atomic_fetch_add(c->errors, 1);
			close(fd);
			break;
		}
		for (i = 0; i < pages; i++) {
			if (peek(p + i * c->page))
				atomic_fetch_add(c->errors, 1);
			poke(p + i * c->page, (char)(c->id + 1));
		}
		for (i = 0; i < pages; i++)
			if (peek(p + i * c->page) != (char)(c->id + 1))
				atomic_fetch_add(c->errors, 1);
		munmap(p, pages * c->page);
		close(fd);
	}
	return NULL;
}

/* CPU 1 goes and comes back while secrets are made and closed. */
TEST_F(cpuhp, hotplug_under_churn)
{
	atomic_int stop = 0, errors = 0;
	struct churner c[2];
	pthread_t th[2];
	int i, cycles = 0;

	for (i = 0; i < 2; i++) {
		c[i] = (struct churner){ &stop, &errors, self->page, i };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, churn, &c[i]));
	}
	for (i = 0; i < 10; i++) {
		if (write_str(CPU1_ONLINE, "0"))
			break;
		usleep(100000);
		if (write_str(CPU1_ONLINE, "1"))
			break;
		usleep(100000);
		cycles++;
	}
	atomic_store(&stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	EXPECT_EQ(10, cycles);
	EXPECT_EQ(1, read_num(CPU1_ONLINE));
	EXPECT_EQ(0, atomic_load(&errors));
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
