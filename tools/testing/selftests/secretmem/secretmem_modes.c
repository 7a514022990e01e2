// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_create(MFD_SECRET) and the secrecy modes (include/uapi/linux/
 * secretmem.h, Documentation/userspace-api/secretmem.rst):
 *
 *  - flags: MFD_SECRET with MFD_CLOEXEC only; MFD_HUGETLB, sealing or an
 *    unknown bit: EINVAL;
 *  - no mode yet: ftruncate(), fallocate() and mmap() fail with EBADFD;
 *  - SECRETMEM_SET_MODE: unknown bits or none: EINVAL; set once (EBUSY
 *    after, and for memfd_secret() files, which are EXCLUSIVE from birth);
 *  - SECRETMEM_QUERY: what each mode guarantees, checked against what the
 *    kernel does: the pages are out of the direct map, the user PTEs of
 *    an UNCACHED file carry the uncached memory type (PCD, from the page
 *    table dump) and keep it across mprotect(), ptrace-style access and
 *    GUP fail, the mapping is left out of core dumps (VmFlags dd);
 *  - what secret memory allows and refuses that a user must know:
 *    copying through the user's own mapping (read(), write()) works; GUP
 *    users (vmsplice(), shared futexes) fail with EFAULT; private futexes
 *    work.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * A guarantees case reads the kernel's page-table dump three times, each
 * taking seconds in an emulated guest with debug options: more than the
 * harness's default 30 s on a loaded host.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define PTDUMP	"/sys/kernel/debug/page_tables/current_kernel"
#define PAGES	16

static int mfd_secret(unsigned int flags)
{
	return syscall(__NR_memfd_create, "secret", flags);
}

static int set_mode(int fd, unsigned int mode)
{
	return ioctl(fd, SECRETMEM_SET_MODE, &mode);
}

/*
 * The flags of the page-table dump's entry for @addr in this process
 * (the dump of the reading task's page tables), or "" if none maps it.
 */
static int pte_flags(unsigned long addr, char *out, size_t size)
{
	unsigned long start, end;
	char line[512];
	FILE *f;

	out[0] = '\0';
	f = fopen(PTDUMP, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "0x%lx-0x%lx", &start, &end) != 2)
			continue;
		if (addr >= start && addr < end) {
			snprintf(out, size, "%s", line);
			break;
		}
	}
	fclose(f);
	return 0;
}

/* Whether the CPU says it runs under a hypervisor (/proc/cpuinfo). */
static bool under_hypervisor(void)
{
	char line[4096];
	bool found = false;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (!strncmp(line, "flags", 5) && strstr(line, " hypervisor"))
			found = true;
	fclose(f);
	return found;
}

static bool has_word(const char *s, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	for (p = strstr(s, word); p; p = strstr(p + 1, word))
		if ((p == s || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' ||
						 !p[n]))
			return true;
	return false;
}

/* The VmFlags line of the smaps entry that contains @addr. */
static int vm_flags(void *addr, char *out, size_t size)
{
	unsigned long start, end, a = (unsigned long)addr;
	char line[512];
	bool in = false;
	FILE *f;

	out[0] = '\0';
	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			in = a >= start && a < end;
			continue;
		}
		if (in && !strncmp(line, "VmFlags:", 8)) {
			snprintf(out, size, "%s", line + 8);
			break;
		}
	}
	fclose(f);
	return 0;
}

FIXTURE(modes) {
	long page;
	bool uncached;
};

FIXTURE_SETUP(modes)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };
	int fd;

	self->page = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &unlimited));
	fd = memfd_secret_syscall(0);
	if (fd < 0 && errno == ENOSYS)
		SKIP(return, "secretmem is off (boot with secretmem.enable=1)");
	ASSERT_LE(0, fd);
	close(fd);
	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd) TH_LOG("memfd_create(MFD_SECRET): %s", strerror(errno));
	self->uncached = !set_mode(fd, SECRETMEM_MODE_UNCACHED);
	close(fd);
}

FIXTURE_TEARDOWN(modes)
{
}

TEST_F(modes, flags)
{
	static const unsigned int bad[] = {
		MFD_SECRET | MFD_HUGETLB, MFD_SECRET | MFD_ALLOW_SEALING,
		MFD_SECRET | 0x0200, MFD_SECRET | MFD_HUGETLB | (21U << 26),
		MFD_SECRET | 0x8, MFD_SECRET | 0x10,
	};
	unsigned int i;
	int fd;

	if (_metadata->skip)
		return;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, mfd_secret(bad[i])) TH_LOG("flags %#x", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("flags %#x", bad[i]);
	}
	fd = mfd_secret(MFD_SECRET | MFD_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
}

TEST_F(modes, no_mode_refuses_use)
{
	void *p;
	int fd;

	if (_metadata->skip)
		return;
	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, ftruncate(fd, PAGES * self->page));
	EXPECT_EQ(EBADFD, errno);
	errno = 0;
	EXPECT_EQ(-1, fallocate(fd, 0, 0, self->page));
	EXPECT_EQ(EBADFD, errno);
	errno = 0;
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EBADFD, errno);
	/* Once a mode is set, the same calls work. */
	ASSERT_EQ(0, set_mode(fd, SECRETMEM_MODE_EXCLUSIVE));
	EXPECT_EQ(0, ftruncate(fd, PAGES * self->page));
	p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	poke(p, 7);
	EXPECT_EQ(7, peek(p));
	/* Sized and mapped: the mode stays. */
	errno = 0;
	EXPECT_EQ(-1, set_mode(fd, SECRETMEM_MODE_EXCLUSIVE));
	EXPECT_EQ(EBUSY, errno);
	if (self->uncached) {
		errno = 0;
		EXPECT_EQ(-1, set_mode(fd, SECRETMEM_MODE_UNCACHED));
		EXPECT_EQ(EBUSY, errno);
	}
	munmap(p, self->page);
	close(fd);
}

TEST_F(modes, set_mode_errors)
{
	static const unsigned int bad[] = { 0, 0x4, 0x80000000, 0x7 };
	unsigned int i, mode;
	int fd;

	if (_metadata->skip)
		return;
	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd);
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, set_mode(fd, bad[i])) TH_LOG("mode %#x", bad[i]);
		EXPECT_EQ(EINVAL, errno) TH_LOG("mode %#x", bad[i]);
	}
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, SECRETMEM_SET_MODE, NULL));
	EXPECT_EQ(EFAULT, errno);
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, _IOW(SECRETMEM_IOCTL_BASE, 0x0f, __u32), &mode));
	EXPECT_EQ(ENOTTY, errno);

	ASSERT_EQ(0, set_mode(fd, SECRETMEM_MODE_EXCLUSIVE));
	errno = 0;
	EXPECT_EQ(-1, set_mode(fd, SECRETMEM_MODE_EXCLUSIVE));
	EXPECT_EQ(EBUSY, errno);
	errno = 0;
	EXPECT_EQ(-1, set_mode(fd, SECRETMEM_MODE_UNCACHED));
	EXPECT_EQ(self->uncached ? EBUSY : EOPNOTSUPP, errno);
	close(fd);

	/* memfd_secret() files are EXCLUSIVE from the start. */
	fd = memfd_secret_syscall(0);
	ASSERT_LE(0, fd);
	errno = 0;
	EXPECT_EQ(-1, set_mode(fd, SECRETMEM_MODE_EXCLUSIVE));
	EXPECT_EQ(EBUSY, errno);
	close(fd);
}

TEST_F(modes, query)
{
	const __u64 always = SECRETMEM_G_NO_DIRECT_MAP | SECRETMEM_G_NO_SWAP |
			     SECRETMEM_G_NO_COREDUMP | SECRETMEM_G_NO_HIBERNATION |
			     SECRETMEM_G_NO_GUP | SECRETMEM_G_ZEROED_ON_FREE;
	__u64 hw = under_hypervisor() ? 0 : SECRETMEM_G_UNCACHED_HW;
	struct secretmem_query q;
	int fd;

	if (_metadata->skip)
		return;
	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd);

	memset(&q, 0xff, sizeof(q));
	q.mode = SECRETMEM_MODE_EXCLUSIVE;
	q.flags = 0;
	ASSERT_EQ(0, ioctl(fd, SECRETMEM_QUERY, &q));
	EXPECT_EQ(always, q.guarantees);
	EXPECT_EQ(0U, q.current_mode);
	EXPECT_EQ(0U, q.reserved);

	memset(&q, 0, sizeof(q));
	q.mode = SECRETMEM_MODE_UNCACHED;
	if (self->uncached) {
		ASSERT_EQ(0, ioctl(fd, SECRETMEM_QUERY, &q));
		TH_LOG("UNCACHED: guarantees %#llx%s",
		       (unsigned long long)q.guarantees,
		       hw ? "" : " (under a hypervisor: no G_UNCACHED_HW)");
		EXPECT_EQ(always | SECRETMEM_G_UNCACHED | hw, q.guarantees);
	} else {
		EXPECT_EQ(-1, ioctl(fd, SECRETMEM_QUERY, &q));
		EXPECT_EQ(EOPNOTSUPP, errno);
	}

	memset(&q, 0, sizeof(q));
	q.mode = 0x4;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, SECRETMEM_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);
	q.mode = SECRETMEM_MODE_EXCLUSIVE;
	q.flags = 1;
	errno = 0;
	EXPECT_EQ(-1, ioctl(fd, SECRETMEM_QUERY, &q));
	EXPECT_EQ(EINVAL, errno);

	ASSERT_EQ(0, set_mode(fd, SECRETMEM_MODE_EXCLUSIVE));
	memset(&q, 0, sizeof(q));
	q.mode = SECRETMEM_MODE_EXCLUSIVE;
	ASSERT_EQ(0, ioctl(fd, SECRETMEM_QUERY, &q));
	EXPECT_EQ(SECRETMEM_MODE_EXCLUSIVE, q.current_mode);
	close(fd);

	/* A mode reads back as it was set. */
	if (self->uncached) {
		unsigned int modes[] = { SECRETMEM_MODE_UNCACHED,
					 SECRETMEM_MODES };
		unsigned int i;

		for (i = 0; i < ARRAY_SIZE(modes); i++) {
			fd = mfd_secret(MFD_SECRET);
			ASSERT_LE(0, fd);
			ASSERT_EQ(0, set_mode(fd, modes[i]));
			memset(&q, 0, sizeof(q));
			q.mode = SECRETMEM_MODE_EXCLUSIVE;
			ASSERT_EQ(0, ioctl(fd, SECRETMEM_QUERY, &q));
			EXPECT_EQ(modes[i], q.current_mode);
			close(fd);
		}
	}
}

/* What the query promised, checked on a mapping of mode @mode. */
static void check_guarantees(struct __test_metadata *_metadata, long page,
			     unsigned int mode)
{
	char flags[512], buf[64];
	struct iovec local, remote;
	uint64_t pfn;
	int fd, mem, pagemap;
	char *p;
	long i;

	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_mode(fd, mode));
	ASSERT_EQ(0, ftruncate(fd, PAGES * page));
	p = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	for (i = 0; i < PAGES; i++) {
		EXPECT_EQ(0, peek(p + i * page)) TH_LOG("page %ld not zero", i);
		poke(p + i * page, (char)(i + 1));
	}
	for (i = 0; i < PAGES; i++)
		EXPECT_EQ((char)(i + 1), peek(p + i * page));

	/* Out of the direct map. */
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	pfn = pagemap_pfn(pagemap, p, page);
	close(pagemap);
	ASSERT_NE(0ULL, (unsigned long long)pfn);
	EXPECT_EQ(0, direct_map_present(pfn)) TH_LOG("pfn %#llx is mapped",
						     (unsigned long long)pfn);

	/* The memory type of the user mapping, before and after mprotect(). */
	if (access(PTDUMP, R_OK))
		SKIP(goto out, "no %s (CONFIG_PTDUMP_DEBUGFS, debugfs)", PTDUMP);
	ASSERT_EQ(0, pte_flags((unsigned long)p, flags, sizeof(flags)));
	TH_LOG("mode %#x: PTE %s", mode, flags);
	EXPECT_EQ(!!(mode & SECRETMEM_MODE_UNCACHED), has_word(flags, "PCD"));
	ASSERT_EQ(0, mprotect(p, PAGES * page, PROT_READ));
	EXPECT_EQ(1, peek(p));
	ASSERT_EQ(0, pte_flags((unsigned long)p, flags, sizeof(flags)));
	EXPECT_EQ(!!(mode & SECRETMEM_MODE_UNCACHED), has_word(flags, "PCD"));
	EXPECT_FALSE(has_word(flags, "RW"));
	ASSERT_EQ(0, mprotect(p, PAGES * page, PROT_READ | PROT_WRITE));
out:
	/* Out of core dumps. */
	ASSERT_EQ(0, vm_flags(p, flags, sizeof(flags)));
	EXPECT_TRUE(has_word(flags, "dd")) TH_LOG("VmFlags:%s", flags);

	/* Nothing reaches it through the kernel. */
	local.iov_base = buf;
	local.iov_len = sizeof(buf);
	remote.iov_base = p;
	remote.iov_len = sizeof(buf);
	EXPECT_EQ(-1, process_vm_readv(getpid(), &local, 1, &remote, 1, 0));
	mem = open("/proc/self/mem", O_RDONLY);
	ASSERT_LE(0, mem);
	EXPECT_GT(0, pread(mem, buf, sizeof(buf), (off_t)(unsigned long)p));
	close(mem);

	EXPECT_EQ(0, munmap(p, PAGES * page));
	close(fd);
}

TEST_F(modes, exclusive_guarantees)
{
	if (_metadata->skip)
		return;
	check_guarantees(_metadata, self->page, SECRETMEM_MODE_EXCLUSIVE);
}

TEST_F(modes, uncached_guarantees)
{
	if (_metadata->skip)
		return;
	if (!self->uncached)
		SKIP(return, "this machine cannot map secret memory uncached");
	check_guarantees(_metadata, self->page, SECRETMEM_MODE_UNCACHED);
}

/* A private mapping, copy-on-write, is refused in every mode. */
TEST_F(modes, uncached_shared_only)
{
	int fd;

	if (_metadata->skip)
		return;
	if (!self->uncached)
		SKIP(return, "this machine cannot map secret memory uncached");
	fd = mfd_secret(MFD_SECRET);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_mode(fd, SECRETMEM_MODE_UNCACHED));
	ASSERT_EQ(0, ftruncate(fd, self->page));
	errno = 0;
	EXPECT_EQ(MAP_FAILED, mmap(NULL, self->page, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/*
 * Copies through the process's own mapping work (read() into a secret,
 * write() from one); what takes a page reference (GUP) does not:
 * vmsplice() and shared futexes fail with EFAULT, private futexes work.
 */
TEST_F(modes, what_works)
{
	static const unsigned int kinds[] = {
		SECRETMEM_MODE_EXCLUSIVE, SECRETMEM_MODE_UNCACHED,
	};
	struct iovec iov;
	int fd, pipefd[2];
	unsigned int k;
	char *p;

	if (_metadata->skip)
		return;
	for (k = 0; k < 2; k++) {
		if (kinds[k] == SECRETMEM_MODE_UNCACHED && !self->uncached)
			continue;
		fd = mfd_secret(MFD_SECRET);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, set_mode(fd, kinds[k]));
		ASSERT_EQ(0, ftruncate(fd, self->page));
		p = mmap(NULL, self->page, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		ASSERT_EQ(0, pipe(pipefd));

		memcpy(p, "secret", 7);
		EXPECT_EQ(7, write(pipefd[1], p, 7));
		EXPECT_EQ(7, read(pipefd[0], p + 100, 7));
		EXPECT_EQ(0, memcmp(p + 100, "secret", 7));

		iov.iov_base = p;
		iov.iov_len = 7;
		errno = 0;
		EXPECT_EQ(-1, vmsplice(pipefd[1], &iov, 1, 0));
		EXPECT_EQ(EFAULT, errno);

		*(int *)(p + 256) = 0;
		EXPECT_EQ(0, syscall(__NR_futex, p + 256, FUTEX_WAKE_PRIVATE, 1,
				     NULL, NULL, 0));
		errno = 0;
		EXPECT_EQ(-1, syscall(__NR_futex, p + 256, FUTEX_WAKE, 1, NULL,
				      NULL, 0));
		EXPECT_EQ(EFAULT, errno);

		close(pipefd[0]);
		close(pipefd[1]);
		munmap(p, self->page);
		close(fd);
	}
}

TEST_HARNESS_MAIN
