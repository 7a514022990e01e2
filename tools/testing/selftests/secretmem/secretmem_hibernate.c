// SPDX-License-Identifier: GPL-2.0
/*
 * Hibernation must never see a secret page.  The kernel offers "disk" in
 * /sys/power/state exactly when hibernating is safe: no secretmem file is
 * open and the pool holds no page in use or waiting to be zeroed.  Free
 * regions do not stop it, reserved 1G blocks (secretpool.reserve=) neither:
 * when a hibernation starts, the pool gives every region and block back
 * and stays empty until it is over, then takes its blocks back.
 *
 * A hibernation is started here without freezing anything or writing an
 * image: opening /dev/snapshot for reading (the user-space hibernation
 * interface) runs the same preparation notifiers as "echo disk", and
 * closing it runs the ones that end it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define SNAPSHOT	"/dev/snapshot"

static long long pool_frozen(void)
{
	return read_keyed(SP_DEBUGFS "stats", "frozen");
}

/* Wait until nothing is pending, without giving regions back. */
static int wait_recycled(void)
{
	struct pool_stats st;
	int i;

	for (i = 0; i < 400; i++) {
		if (pool_stats(&st))
			return -1;
		if (!st.pending)
			return 0;
		usleep(10000);
	}
	return -1;
}

FIXTURE(hibernate) {
	long page;
	long long saved_high, saved_low, saved_enabled;
};

FIXTURE_SETUP(hibernate)
{
	struct pool_stats st;
	int fd;

	self->page = sysconf(_SC_PAGESIZE);
	self->saved_high = -1;
	REQUIRE_POOL(return);
	ASSERT_EQ(0, access("/sys/power/state", R_OK))
		TH_LOG("no /sys/power/state (CONFIG_PM_SLEEP)");
	ASSERT_EQ(0, access(SNAPSHOT, R_OK))
		TH_LOG("no " SNAPSHOT " (CONFIG_HIBERNATION_SNAPSHOT_DEV)");
	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd) TH_LOG("memfd_secret() not available");
	close(fd);

	self->saved_high = pool_get("high_watermark");
	self->saved_low = pool_get("low_watermark");
	self->saved_enabled = pool_get("enabled");
	ASSERT_EQ(0, pool_set("enabled", 1));
	ASSERT_EQ(0, pool_settle(&st));
}

FIXTURE_TEARDOWN(hibernate)
{
	struct pool_stats st;

	if (self->saved_high < 0)
		return;
	pool_set("high_watermark", self->saved_high);
	pool_set("low_watermark", self->saved_low);
	pool_set("enabled", self->saved_enabled);
	pool_settle(&st);
}

/* An idle system with an empty pool may hibernate. */
TEST_F(hibernate, offered_when_idle)
{
	EXPECT_EQ(1, disk_offered());
	EXPECT_POOL_EMPTY();
}

/*
 * An open secret file keeps hibernation away, even before it has pages,
 * and so does a mapping that outlives its file descriptor.
 */
TEST_F(hibernate, refused_while_secrets_live)
{
	int fd, snap;
	char *p;

	fd = sys_memfd_secret(0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, disk_offered());
	errno = 0;
	snap = open(SNAPSHOT, O_RDONLY);
	EXPECT_EQ(-1, snap);
	EXPECT_EQ(EPERM, errno);
	if (snap >= 0)
		close(snap);
	close(fd);

	p = secret_mapping(&fd, 8, self->page, 's');
	ASSERT_NE(MAP_FAILED, p);
	close(fd);
	EXPECT_EQ(0, disk_offered()) TH_LOG("mapped secret, file closed");
	munmap(p, 8 * self->page);

	ASSERT_EQ(0, wait_recycled());
	EXPECT_EQ(1, disk_offered());
	EXPECT_POOL_EMPTY();
}

/*
 * Free regions do not stop a hibernation, but none may be there when the
 * snapshot is taken: preparing one empties the pool, which then neither
 * grows nor serves (secrets made meanwhile get pages one at a time) until
 * the hibernation is over.
 */
TEST_F(hibernate, preparing_empties_the_pool)
{
	struct pool_stats st0, st1, st2;
	int fd, snap;
	char *p;

	/* Keep the regions of a closed secret in the pool. */
	ASSERT_EQ(0, pool_set("high_watermark", 1000000));
	p = secret_mapping(&fd, 600, self->page, 's');
	ASSERT_NE(MAP_FAILED, p);
	munmap(p, 600 * self->page);
	close(fd);
	ASSERT_EQ(0, wait_recycled());
	ASSERT_EQ(0, pool_stats(&st0));
	ASSERT_LT(0, st0.regions);
	EXPECT_EQ(0, st0.in_use);
	TH_LOG("%lld regions, %lld of them in %lld reserved blocks",
	       st0.regions, st0.blocks * BLOCK_REGIONS, st0.blocks);

	EXPECT_EQ(1, disk_offered()) TH_LOG("only free regions are held");
	snap = open(SNAPSHOT, O_RDONLY);
	ASSERT_LE(0, snap) TH_LOG("open(%s): %s", SNAPSHOT, strerror(errno));

	ASSERT_EQ(0, pool_stats(&st1));
	EXPECT_EQ(0, st1.regions) TH_LOG("regions left for the snapshot");
	EXPECT_EQ(0, st1.blocks) TH_LOG("blocks left for the snapshot");
	EXPECT_EQ(0, st1.cached);
	EXPECT_EQ(1, pool_frozen());

	/* Meanwhile a secret still works, one page at a time. */
	p = secret_mapping(&fd, 4, self->page, 's');
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ('s', peek(p + 3 * self->page));
	ASSERT_EQ(0, pool_stats(&st2));
	EXPECT_EQ(0, st2.regions);
	EXPECT_EQ(0, st2.grown - st1.grown);
	EXPECT_LE(4, st2.fallback - st1.fallback);
	munmap(p, 4 * self->page);
	close(fd);

	close(snap);
	EXPECT_EQ(0, pool_frozen());

	/*
	 * Over: the pool has its blocks back, and serves and grows again
	 * (st2 is from while frozen); with blocks it serves from them.
	 */
	p = secret_mapping(&fd, 4, self->page, 's');
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(0, pool_stats(&st1));
	EXPECT_EQ(st0.blocks, st1.blocks) TH_LOG("blocks not taken back");
	EXPECT_LT(0, st1.in_use);
	if (!st0.blocks)
		EXPECT_LT(0, st1.grown - st2.grown);
	munmap(p, 4 * self->page);
	close(fd);
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
