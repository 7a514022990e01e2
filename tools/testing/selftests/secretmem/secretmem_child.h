/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the suites that fault secret pages in a child process and
 * step it through a test (memcg, hwpoison) or churn in one (faultinject):
 * writes that may raise SIGBUS, and a handshake in a shared page.
 */
#ifndef SECRETMEM_CHILD_H
#define SECRETMEM_CHILD_H

#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "secretmem_util.h"

static sigjmp_buf write_fault_jmp;

static inline void write_fault_sigbus(int sig)
{
	siglongjmp(write_fault_jmp, 1);
}

/*
 * Touch *p for writing; returns true if that raised SIGBUS.  The handler
 * runs on the alternate signal stack when the caller set one up.
 */
static inline bool write_faults(char *p, char val)
{
	struct sigaction sa = {
		.sa_handler = write_fault_sigbus,
		.sa_flags = SA_ONSTACK,
	};
	struct sigaction old;
	bool faulted = false;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(write_fault_jmp, 1))
		faulted = true;
	else
		poke(p, val);
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

/*
 * The test and its child meet in a shared page: the child says which step
 * it reached, the test lets it go on.  Neither allocates anything for it.
 * A suite's own shared data embeds this as its member "s".
 */
struct hs_sync {
	int step, go, err;
};

static inline int hs_get(int *v)
{
	return __atomic_load_n(v, __ATOMIC_SEQ_CST);
}

static inline void hs_set(int *v, int val)
{
	__atomic_store_n(v, val, __ATOMIC_SEQ_CST);
}

/* Child: report @step, then wait until the test lets it go on (~2 min). */
static inline void child_step(struct hs_sync *hs, int step)
{
	int i;

	hs_set(&hs->step, step);
	for (i = 0; i < 120000 && hs_get(&hs->go) < step; i++)
		usleep(1000);
	if (hs_get(&hs->go) < step)
		_exit(99);
}

static inline void child_fail(struct hs_sync *hs, int err)
{
	hs_set(&hs->err, err);
	_exit(1);
}

/*
 * Test: wait until the child reached @step (at most ~1 min); false if it
 * died first, in which case its status is left for waitpid().
 */
static inline bool wait_step(struct hs_sync *hs, int step, pid_t child)
{
	siginfo_t info;
	int i;

	for (i = 0; i < 60000; i++) {
		if (hs_get(&hs->step) >= step)
			return true;
		memset(&info, 0, sizeof(info));
		if (!waitid(P_PID, child, &info, WEXITED | WNOHANG | WNOWAIT) &&
		    info.si_pid == child)
			return false;
		usleep(1000);
	}
	return false;
}

/* Fault in the stack the child will use, so no later fault charges it. */
static inline void touch_stack(void)
{
	char buf[64 * 1024];

	memset(buf, 0, sizeof(buf));
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

/*
 * Map @pages (< 512) of secret @fd next to an anonymous page that has
 * already been touched in the same 2M range, so that the page table the
 * secret needs exists before its first fault and outlives its munmap():
 * no page-table page is charged or uncharged along with the secret, and
 * none is needed at a cgroup's limit.
 */
static inline char *map_in_one_table(int fd, long pages)
{
	const size_t span = 2UL << 20;
	long page = sysconf(_SC_PAGESIZE);
	char *res, *base;

	res = mmap(NULL, 2 * span, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	madvise(res, 2 * span, MADV_NOHUGEPAGE);
	base = (char *)(((uintptr_t)res + span - 1) & ~(span - 1));
	poke(base, 1);
	return mmap(base + page, pages * page, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, fd, 0);
}

/*
 * The memory cgroup keeps a per-CPU cache of pages charged ahead (its
 * "stock", up to 64 pages), and one of bytes for kernel objects;
 * memory.current counts both.  A charge from another cgroup on the same
 * CPU gives them back.  The child, pinned to one CPU and moved to the
 * other cgroup by the test, does that with a file (the object cache) and
 * then a page fault (the page cache): its previous cgroup's memory.current
 * is then what that cgroup really uses.
 */
static inline void drain_charge_cache(char *scratch, int *used)
{
	int fd = open("/", O_RDONLY);

	if (fd >= 0)
		close(fd);
	poke(scratch + (*used)++ * sysconf(_SC_PAGESIZE), 1);
}

static inline int pin_to_this_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	if (cpu < 0)
		return -1;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

#endif /* SECRETMEM_CHILD_H */
