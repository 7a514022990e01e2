// SPDX-License-Identifier: GPL-2.0
/*
 * sp-bench: the guest side of the secretpool benchmarks.
 *
 *   sp-bench longlived [-n N] [-P PIN_KB] [-k] [-c K1,K2,...] [-H CMD]
 *	N one-page secrets, each followed by PIN_KB of kernel memory pinned in
 *	a pipe, all kept open; reports the direct-map splits and DirectMap*
 *	changes they caused, the 2M blocks holding them, then frees them.
 *	-c also reports the same figures (scenario=longlived_step) each time
 *	K1, K2, ... secrets exist; -k keeps going after a failed secret
 *	instead of stopping; -H runs the shell command CMD while the secrets
 *	are held (its output goes to standard output before the RESULT
 *	line).
 *   sp-bench churn [-p PROCS] [-s SECONDS] [-M MAX_PAGES]
 *	PROCS processes open, fault, hold and close secrets of random sizes.
 *   sp-bench fault -m secret|mfd|uncached|shmem [-t THREADS] [-P PAGES]
 *		   [-s SECONDS] [-a PASSES] [-A ATOMICS]
 *	fault/free throughput: each thread creates a file of PAGES pages, maps
 *	it, writes every page, unmaps and closes it, in a loop.  secret:
 *	memfd_secret(); mfd: memfd_create(MFD_SECRET), mode EXCLUSIVE;
 *	uncached: the same, mode UNCACHED; shmem: memfd_create().  -a: also
 *	PASSES passes of 8-byte writes and reads over every 64-byte line of
 *	the mapping (access_mbs); -A: also ATOMICS atomic additions to one
 *	word (atomic_mops).
 *   sp-bench leak [-P PAGES]
 *	fills PAGES secret pages, closes them, and counts the non-zero bytes
 *	of PAGES fresh secret pages (should be 0).
 *   sp-bench age [-P PERCENT] [-d DIR] [-U PAGES [-S STRIDE]]
 *	scatters free memory the way a long uptime does.  -U: PAGES pipes
 *	holding one page of unmovable kernel memory each, of which one in
 *	STRIDE (default 16) is closed again; a child process keeps the rest.
 *	-P: PERCENT of available memory in a page-cache file in DIR (a tmpfs;
 *	default /tmp/sp-age) with a hole punched in every other page.  Both
 *	stay until the next boot.  Memory ages node by node, each node by
 *	its share of the free memory (run on the node's CPUs, its pages
 *	preferred there), so which node ends up short of free 2M blocks does
 *	not depend on where the scheduler ran sp-bench.  Reports free memory
 *	and how much of it is in free 2M (order >= 9) blocks, in all and per
 *	node (free_2m_blocks_kb_nodeN); -P 0 alone only reports.
 *
 *   sp-bench kwork -w msg|sock|meta|tcp [-s SECONDS] [-g GROUPS (4)] [-f FAN (10)]
 *		   [-n FILES (5000)] [-d DIR]
 *	kernel-heavy work, for what the direct map's state costs the kernel
 *	itself: msg and sock are hackbench's shape (GROUPS groups of FAN
 *	senders and FAN receivers, 100-byte messages through pipes or unix
 *	stream sockets); meta creates, stats, renames and unlinks FILES files
 *	in DIR (a tmpfs: dentries and inodes in slab); tcp is loopback TCP,
 *	FAN clients connecting, exchanging 64-byte requests and closing.
 *	Reports operations per second (ops_s).
 *   sp-bench mark on [SEG] | mark off
 *	reads the page at the address the TLB model's QEMU plugin
 *	(tools/perf-scripts/tlbmodel/dmtrace.c) watches: "on" starts trace
 *	segment SEG (1 to 511; without it, the next one) of the guest's
 *	accesses, "off" ends it.  Harmless without the plugin.
 *
 * Each run prints one line "RESULT key=value ..." on standard output, with
 * the counters read from /proc/vmstat, /proc/meminfo and the pool's
 * debugfs statistics (when the pool is there), for benchmarks/report.py.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tools/testing/selftests/secretmem/secretmem_util.h"

static long page;

/* The RESULT line being built; printed whole by result_end(). */
static char result[8192];

static void __attribute__((format(printf, 1, 2))) out(const char *fmt, ...)
{
	size_t len = strlen(result);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(result + len, sizeof(result) - len, fmt, ap);
	va_end(ap);
}

static void result_end(void)
{
	printf("RESULT%s\n", result);
	result[0] = '\0';
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "sp-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The pool's totals, if the pool is there. */
static bool pool_read(struct pool_stats *st)
{
	return pool_present() && !pool_stats(st);
}

static void out_pool(const char *prefix, const struct pool_stats *st)
{
	out(" %sregions=%lld %sfree=%lld %sin_use=%lld %sfallback=%lld %sgrown=%lld %sreleased=%lld",
	       prefix, st->regions, prefix, st->free + st->cached, prefix,
	       st->in_use, prefix, st->fallback, prefix, st->grown, prefix,
	       st->released);
}

/* Print the pool's totals now with a prefix, if the pool is there. */
static void print_pool(const char *prefix)
{
	struct pool_stats st;

	if (pool_read(&st))
		out_pool(prefix, &st);
}

static int secret_fd(size_t bytes)
{
	int fd = sys_memfd_secret(0);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, bytes)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The direct map's changes since @before, and the 2M blocks holding the
 * first @made of @pfns.
 */
static void out_direct_map(const struct direct_map_state *before,
			   const uint64_t *pfns, int made)
{
	struct direct_map_state now_dm;

	direct_map_read(&now_dm);
	out(" l2_splits=%lld l3_splits=%lld dm4k_kb=%lld dm2m_kb=%lld dm1g_kb=%lld blocks_2m=%d",
	    now_dm.l2 - before->l2, now_dm.l3 - before->l3,
	    now_dm.dm4k - before->dm4k, now_dm.dm2m - before->dm2m,
	    now_dm.dm1g - before->dm1g, count_2m_blocks(pfns, made));
}

/* One scenario=longlived_step line: the figures with @made secrets held. */
static void longlived_step(int made, const struct direct_map_state *before,
			   const uint64_t *pfns)
{
	out(" scenario=longlived_step held=%d", made);
	out_direct_map(before, pfns, made);
	print_pool("pool_");
	result_end();
}

/* Is @n in the comma-separated list @list? */
static int in_list(const char *list, int n)
{
	while (list && *list) {
		if (atoi(list) == n)
			return 1;
		list = strchr(list, ',');
		if (list)
			list++;
	}
	return 0;
}

/* ---------------------------------------------------------------- */

static int cmd_longlived(int argc, char **argv)
{
	int n = 1000, pin_kb = 4, keep_going = 0, opt, i, made = 0;
	const char *held_cmd = NULL, *steps = NULL;
	struct rlimit nofile;
	struct direct_map_state before, after;
	struct pool_stats pool_before;
	bool have_pool;
	char **secrets;
	int *pipes, pagemap;
	uint64_t *pfns;
	char *buf;
	double t0, t1;

	while ((opt = getopt(argc, argv, "n:P:kc:H:")) != -1) {
		switch (opt) {
		case 'c': steps = optarg; break;
		case 'H': held_cmd = optarg; break;
		case 'n': n = atoi(optarg); break;
		case 'P': pin_kb = atoi(optarg); break;
		case 'k': keep_going = 1; break;
		default: return 2;
		}
	}
	nofile.rlim_cur = nofile.rlim_max = 3 * n + 4096;	/* room for -H too */
	setrlimit(RLIMIT_NOFILE, &nofile);

	secrets = calloc(n, sizeof(*secrets));
	pipes = calloc(n, sizeof(*pipes));
	pfns = calloc(n, sizeof(*pfns));
	buf = malloc(pin_kb * 1024 + 1);
	if (!secrets || !pipes || !pfns || !buf)
		die("calloc");
	memset(buf, 0x5a, pin_kb * 1024 + 1);
	pagemap = open("/proc/self/pagemap", O_RDONLY);

	direct_map_read(&before);
	have_pool = pool_read(&pool_before);
	t0 = now();
	for (i = 0; i < n; i++) {
		int fd = secret_fd(page), p[2];

		if (fd < 0) {
			if (keep_going)
				continue;
			break;
		}
		secrets[made] = mmap(NULL, page, PROT_READ | PROT_WRITE,
				     MAP_SHARED, fd, 0);
		close(fd);
		if (secrets[made] == MAP_FAILED)
			break;
		memset(secrets[made], i, page);
		pfns[made] = pagemap >= 0 ?
			pagemap_pfn(pagemap, secrets[made], page) : 0;
		pipes[made] = -1;
		/* Kernel memory allocated and kept between two secrets. */
		if (pin_kb && !pipe(p)) {
			fcntl(p[1], F_SETPIPE_SZ, pin_kb * 1024 + page);
			if (write(p[1], buf, pin_kb * 1024) < 0)
				die("pipe write");
			close(p[1]);
			pipes[made] = p[0];
		}
		made++;
		if (in_list(steps, made))
			longlived_step(made, &before, pfns);
	}
	t1 = now();
	/* The steps are printed; now this run's line. */
	out(" scenario=longlived secrets=%d pin_kb=%d", n, pin_kb);
	if (have_pool)
		out_pool("pool_before_", &pool_before);
	out(" made=%d create_s=%.3f", made, t1 - t0);
	out_direct_map(&before, pfns, made);
	print_pool("pool_during_");
	if (held_cmd) {
		fflush(stdout);
		if (system(held_cmd))
			fprintf(stderr, "sp-bench: '%s' failed\n", held_cmd);
	}

	if (pagemap >= 0)
		close(pagemap);

	for (i = 0; i < made; i++) {
		munmap(secrets[i], page);
		if (pipes[i] >= 0)
			close(pipes[i]);
	}
	usleep(100000);
	direct_map_read(&after);
	out(" freed_dm4k_kb=%lld freed_l2_splits=%lld",
	    after.dm4k - before.dm4k, after.l2 - before.l2);
	print_pool("pool_after_");
	result_end();
	return made == n ? 0 : 1;
}

/* ---------------------------------------------------------------- */

struct fault_arg {
	int secret;
	long pages;
	int passes;
	long atomics;
	double access_s, atomic_s;
	long long access_bytes, atomic_ops;
	double until;
	long long files, npages;
	double fault_s, free_s;
	int err;
};

/* Seconds all CPUs have spent not idle since boot (/proc/stat). */
static double cpu_busy_s(void)
{
	unsigned long long v[10] = { 0 }, busy = 0;
	FILE *f = fopen("/proc/stat", "r");
	int i, n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9]);
	fclose(f);
	/* user nice system idle iowait irq softirq steal (guest: in user) */
	for (i = 0; i < n && i < 8; i++)
		if (i != 3 && i != 4)
			busy += v[i];
	return (double)busy / sysconf(_SC_CLK_TCK);
}

static void *fault_thread(void *data)
{
	struct fault_arg *a = data;

	while (now() < a->until) {
		int fd = a->secret ? secret_fd(a->pages * page) :
				     memfd_create("sp-bench", 0);
		double t0, t1, t2;
		char *p;
		long i;

		if (fd < 0 || (!a->secret && ftruncate(fd, a->pages * page))) {
			a->err = errno;
			break;
		}
		p = mmap(NULL, a->pages * page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			a->err = errno;
			close(fd);
			break;
		}
		t0 = now();
		for (i = 0; i < a->pages; i++)
			p[i * page] = 1;
		t1 = now();
		if (a->passes) {
			volatile uint64_t *w = (volatile uint64_t *)p;
			long words = a->pages * page / 8, j;
			uint64_t sum = 0;
			int pass;

			for (pass = 0; pass < a->passes; pass++) {
				for (j = 0; j < words; j += 8)
					w[j] = j + pass;
				for (j = 0; j < words; j += 8)
					sum += w[j];
			}
			if (sum == 1)	/* keeps the reads */
				fputc(' ', stderr);
			a->access_s += now() - t1;
			a->access_bytes += 2LL * a->passes * (words / 8) * 8;
		}
		if (a->atomics) {
			double ta = now();
			long j;

			for (j = 0; j < a->atomics; j++)
				__atomic_fetch_add((uint64_t *)p, 1, __ATOMIC_SEQ_CST);
			a->atomic_s += now() - ta;
			a->atomic_ops += a->atomics;
		}
		t1 = now();
		munmap(p, a->pages * page);
		close(fd);		/* the file's pages are freed here */
		t2 = now();
		a->fault_s += t1 - t0;
		a->free_s += t2 - t1;
		a->files++;
		a->npages += a->pages;
	}
	return NULL;
}

static int cmd_fault(int argc, char **argv)
{
	int threads = 1, opt, i, secret = 1, passes = 0;
	long pages = 256, atomics = 0;
	double secs = 2, t0, wall, fault_s = 0, free_s = 0;
	double access_s = 0, atomic_s = 0, drain, busy, wall_all;
	int drain_timeout;
	long long npages = 0, access_bytes = 0, atomic_ops = 0;
	struct pool_stats st;
	struct fault_arg *args;
	pthread_t *th;
	const char *mode = "secret";

	while ((opt = getopt(argc, argv, "m:t:P:s:a:A:")) != -1) {
		switch (opt) {
		case 'm': mode = optarg; secret = strcmp(optarg, "shmem"); break;
		case 'a': passes = atoi(optarg); break;
		case 'A': atomics = atol(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'P': pages = atol(optarg); break;
		case 's': secs = atof(optarg); break;
		default: return 2;
		}
	}
	/* The kind of secret file (secretmem_util.h's sys_memfd_secret()). */
	if (!strcmp(mode, "mfd"))
		setenv("SECRETMEM_KIND", "mfd", 1);
	else if (!strcmp(mode, "uncached"))
		setenv("SECRETMEM_KIND", "uncached", 1);
	else if (secret && strcmp(mode, "secret"))
		return 2;
	args = calloc(threads, sizeof(*args));
	th = calloc(threads, sizeof(*th));
	if (!args || !th)
		die("calloc");

	busy = cpu_busy_s();
	t0 = now();
	for (i = 0; i < threads; i++) {
		args[i] = (struct fault_arg){ .secret = secret, .pages = pages,
					      .until = t0 + secs,
					      .passes = passes,
					      .atomics = atomics };
		if (pthread_create(&th[i], NULL, fault_thread, &args[i]))
			die("pthread_create");
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		if (args[i].err) {
			errno = args[i].err;
			die("fault thread");
		}
		npages += args[i].npages;
		fault_s += args[i].fault_s;
		free_s += args[i].free_s;
		access_s += args[i].access_s;
		access_bytes += args[i].access_bytes;
		atomic_s += args[i].atomic_s;
		atomic_ops += args[i].atomic_ops;
	}
	wall = now() - t0;
	/*
	 * The pool zeroes freed pages later, in its worker: wait until none
	 * is pending, so that the cycle figure includes the zeroing, and
	 * count the CPU time of every CPU (the worker's too) per page.
	 */
	drain = now();
	while (pool_read(&st) && st.pending > 0 && now() - drain < 10)
		usleep(1000);
	drain = now() - drain;
	drain_timeout = drain >= 10;
	busy = cpu_busy_s() - busy;
	wall_all = wall + drain;
	/* Per-thread times summed, so divide by threads for aggregate rates. */
	out(" scenario=fault mode=%s threads=%d pages_per_file=%ld pages=%lld fault_pps=%.0f free_pps=%.0f cycle_pps=%.0f",
	       mode, threads, pages, npages,
	       fault_s > 0 ? npages / (fault_s / threads) : 0,
	       free_s > 0 ? npages / (free_s / threads) : 0,
	       npages / wall);
	/*
	 * cycle_all_pps: pages per second of wall time until the last freed
	 * page was zeroed again (drain_s of it after the run); cpu_pps: pages
	 * per second of CPU time, all CPUs, from /proc/stat.
	 */
	out(" drain_s=%.4f drain_timeout=%d cycle_all_pps=%.0f cpu_pps=%.0f",
	    drain, drain_timeout, npages / wall_all, busy > 0 ? npages / busy : 0);
	if (passes)
		out(" access_mbs=%.1f", access_s > 0 ?
		    access_bytes / (access_s / threads) / 1e6 : 0);
	if (atomics)
		out(" atomic_mops=%.2f", atomic_s > 0 ?
		    atomic_ops / (atomic_s / threads) / 1e6 : 0);
	print_pool("pool_");
	result_end();
	return 0;
}

/* ---------------------------------------------------------------- */

static int cmd_churn(int argc, char **argv)
{
	int procs = 4, opt, i, status, failed = 0;
	double secs = 5, t0;
	long max_pages = 64;
	struct direct_map_state before, after;
	long long *shared;

	while ((opt = getopt(argc, argv, "p:s:M:")) != -1) {
		switch (opt) {
		case 'p': procs = atoi(optarg); break;
		case 's': secs = atof(optarg); break;
		case 'M': max_pages = atol(optarg); break;
		default: return 2;
		}
	}
	shared = mmap(NULL, procs * 2 * sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		die("mmap");

	direct_map_read(&before);
	t0 = now();
	for (i = 0; i < procs; i++) {
		if (!fork()) {
			unsigned int seed = 12345 + i * 7919;
			/* Up to 8 secrets held at once, replaced at random. */
			char *held[8] = { 0 };
			long held_pages[8] = { 0 };
			long long files = 0, pages = 0;

			while (now() < t0 + secs) {
				int slot = rand_r(&seed) % 8, fd;
				long n = 1 + rand_r(&seed) % max_pages, j;

				if (held[slot])
					munmap(held[slot], held_pages[slot] * page);
				held[slot] = NULL;
				fd = secret_fd(n * page);
				if (fd < 0)
					_exit(1);
				held[slot] = mmap(NULL, n * page,
						  PROT_READ | PROT_WRITE,
						  MAP_SHARED, fd, 0);
				close(fd);
				if (held[slot] == MAP_FAILED)
					_exit(2);
				held_pages[slot] = n;
				for (j = 0; j < n; j++)
					held[slot][j * page] = (char)j;
				files++;
				pages += n;
			}
			shared[2 * i] = files;
			shared[2 * i + 1] = pages;
			_exit(0);
		}
	}
	for (i = 0; i < procs; i++) {
		wait(&status);
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	direct_map_read(&after);
	{
		long long files = 0, pages = 0;

		for (i = 0; i < procs; i++) {
			files += shared[2 * i];
			pages += shared[2 * i + 1];
		}
		out(" scenario=churn procs=%d seconds=%.1f files=%lld pages=%lld pps=%.0f failed=%d l2_splits=%lld l3_splits=%lld dm4k_kb=%lld",
		       procs, secs, files, pages, pages / (now() - t0), failed,
		       after.l2 - before.l2, after.l3 - before.l3,
		       after.dm4k - before.dm4k);
	}
	print_pool("pool_");
	result_end();
	return failed ? 1 : 0;
}

/* ---------------------------------------------------------------- */

static int cmd_leak(int argc, char **argv)
{
	long pages = 1024, i, dirty = 0;
	unsigned char *p;
	int opt, fd;

	while ((opt = getopt(argc, argv, "P:")) != -1) {
		if (opt == 'P')
			pages = atol(optarg);
		else
			return 2;
	}
	fd = secret_fd(pages * page);
	if (fd < 0)
		die("memfd_secret");
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	memset(p, 0xc3, pages * page);
	munmap(p, pages * page);
	close(fd);
	usleep(50000);		/* let the pool recycle them */

	fd = secret_fd(pages * page);
	if (fd < 0)
		die("memfd_secret");
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	for (i = 0; i < pages * page; i++)
		dirty += p[i] != 0;
	printf("RESULT scenario=leak pages=%ld leaked_bytes=%ld\n", pages, dirty);
	munmap(p, pages * page);
	close(fd);
	return dirty ? 1 : 0;
}

/*
 * pin: the worst case of the pool's footprint.  A region goes back only
 * when all of its pages are free, so one long-lived page can keep a whole
 * region (2M) in the pool.  Allocation is fullest-region-first, so a
 * process alone refills the regions it has pages in; it takes a second
 * party's allocations, interleaved, to spread its pages out.  Here the
 * "filler" takes a region's worth of pages, the "pinner" one page, K
 * times over; then the filler closes everything.  The pinner's K pages
 * then hold regions that are otherwise empty (the "sparse" counter), and
 * the pool, settled, cannot give them back.
 */
static int cmd_pin(int argc, char **argv)
{
	long k = 100, i, j, filler = 512 - 1;
	struct pool_stats st0, st1, st2;
	int opt, *pins, *fills;
	char *p;

	while ((opt = getopt(argc, argv, "k:f:")) != -1) {
		if (opt == 'k')
			k = atol(optarg);
		else if (opt == 'f')
			filler = atol(optarg);
		else
			return 2;
	}
	if (!pool_present()) {
		printf("# pin: no pool\n");
		return 0;
	}
	pins = calloc(k, sizeof(*pins));
	fills = calloc(k, sizeof(*fills));
	if (!pins || !fills)
		die("calloc");
	if (pool_settle(&st0))
		die("pool stats");
	for (i = 0; i < k; i++) {
		fills[i] = secret_fd(filler * page);
		pins[i] = secret_fd(page);
		if (fills[i] < 0 || pins[i] < 0)
			die("memfd_secret");
		p = mmap(NULL, filler * page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fills[i], 0);
		if (p == MAP_FAILED)
			die("mmap");
		for (j = 0; j < filler; j++)
			p[j * page] = 1;
		munmap(p, filler * page);
		p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED,
			 pins[i], 0);
		if (p == MAP_FAILED)
			die("mmap");
		p[0] = 1;
		munmap(p, page);
	}
	if (pool_stats(&st1))
		die("pool stats");
	for (i = 0; i < k; i++)
		close(fills[i]);
	if (pool_settle(&st2))
		die("pool stats");
	out(" scenario=pin pinned_pages=%ld filler_pages=%ld", k, k * filler);
	out(" regions_before=%lld regions_held=%lld regions_after=%lld sparse_after=%lld",
	    st0.regions, st1.regions, st2.regions, st2.sparse);
	out(" in_use_after=%lld idle_kb_after=%lld", st2.in_use,
	    (st2.regions * 512 - st2.in_use) * (page / 1024));
	result_end();
	for (i = 0; i < k; i++)
		close(pins[i]);
	free(pins);
	free(fills);
	return 0;
}

/* ---------------------------------------------------------------- */

/* Free memory in /proc/buddyinfo, all of it and in blocks of 2M or more. */
/* Free memory, and of it in free 2M blocks, on node @node (-1: all). */
static void buddy_free_kb(int node, long long *all, long long *order9)
{
	char line[512], *p, *end;
	FILE *f = fopen("/proc/buddyinfo", "r");

	*all = *order9 = 0;
	if (!f)
		return;
	/* "Node 0, zone   Normal   c0 c1 ... c10" */
	while (fgets(line, sizeof(line), f)) {
		int order = 0;

		if (node >= 0 && atoi(line + strlen("Node ")) != node)
			continue;
		p = strstr(line, "zone");
		if (!p)
			continue;
		p += 4;
		while (*p == ' ')
			p++;
		while (*p && *p != ' ')	/* the zone's name */
			p++;
		for (;; order++) {
			long long n = strtoll(p, &end, 10);
			long long kb = n * (page / 1024) << order;

			if (end == p)
				break;
			p = end;
			*all += kb;
			if (order >= 9)
				*order9 += kb;
		}
	}
	fclose(f);
}

/*
 * Pin @pages pages of unmovable kernel memory, one pipe buffer each, then
 * free one in every @stride of them: sparse 4K holes in unmovable
 * pageblocks, where unmovable allocations (secretmem's, upstream) go
 * first.  A child process keeps the rest until the next boot.  Returns
 * how many pipes it made, or -1.
 */
static long age_pipes(long pages, int stride)
{
	struct rlimit nofile = { pages + 64, pages + 64 };
	int ready[2], p[2], *fds, fd;
	long made = -1, i;
	char *buf;

	if (pipe(ready))
		return -1;
	if (fork()) {
		close(ready[1]);
		if (read(ready[0], &made, sizeof(made)) != sizeof(made))
			made = -1;
		close(ready[0]);
		return made;
	}
	close(ready[0]);
	/* Not holding the caller's output open: whoever reads it sees EOF. */
	fd = open("/dev/null", O_RDWR);
	if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(1);
	close(fd);
	buf = calloc(1, page);
	fds = calloc(pages, sizeof(*fds));
	if (!buf || !fds || setrlimit(RLIMIT_NOFILE, &nofile))
		_exit(1);
	for (made = 0; made < pages; made++) {
		if (pipe(p))
			break;
		fcntl(p[1], F_SETPIPE_SZ, page);
		if (write(p[1], buf, page) != page)
			break;
		close(p[1]);
		fds[made] = p[0];
	}
	for (i = 0; i < made; i += stride)
		close(fds[i]);
	if (write(ready[1], &made, sizeof(made)) != sizeof(made))
		_exit(1);
	close(ready[1]);
	for (;;)
		pause();
}

#define AGE_MAX_NODES	64

/* The nodes this machine has (a bit each); 0 without NUMA in sysfs. */
static unsigned long age_nodes(void)
{
	unsigned long mask = 0;
	char path[64];
	int node;

	for (node = 0; node < AGE_MAX_NODES; node++) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d",
			 node);
		if (!access(path, F_OK))
			mask |= 1UL << node;
	}
	return mask;
}

/*
 * Run on node @node's CPUs and prefer its memory (MPOL_PREFERRED: another
 * node's when it is full, rather than the OOM killer), or, for -1, as
 * before: @all CPUs and the default policy.  Children inherit both.
 */
static void age_on_node(int node, const cpu_set_t *all)
{
	unsigned long mask = 1UL << (node < 0 ? 0 : node);
	char path[80], list[4096];
	cpu_set_t cpus;
	FILE *f;

	/* MPOL_DEFAULT 0, MPOL_PREFERRED 1 (include/uapi/linux/mempolicy.h) */
	if (node < 0) {
		sched_setaffinity(0, sizeof(*all), all);
		syscall(SYS_set_mempolicy, 0, NULL, 0);
		return;
	}
	if (syscall(SYS_set_mempolicy, 1, &mask, AGE_MAX_NODES + 1))
		die("set_mempolicy(MPOL_PREFERRED)");
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist",
		 node);
	f = fopen(path, "r");
	if (!f)
		return;
	if (fgets(list, sizeof(list), f)) {
		char *p = list, *end;

		/* "0-3,8" */
		CPU_ZERO(&cpus);
		while (*p >= '0' && *p <= '9') {
			long lo = strtol(p, &end, 10), hi = lo;

			if (*end == '-')
				hi = strtol(end + 1, &end, 10);
			for (; lo <= hi && lo < CPU_SETSIZE; lo++)
				CPU_SET(lo, &cpus);
			p = *end == ',' ? end + 1 : end;
		}
		/* A node without CPUs: its memory, from wherever. */
		if (CPU_COUNT(&cpus))
			sched_setaffinity(0, sizeof(cpus), &cpus);
	}
	fclose(f);
}

static int cmd_age(int argc, char **argv)
{
	long long avail_kb = meminfo_kb("MemAvailable"), all, order9;
	long long free_kb[AGE_MAX_NODES] = { 0 }, total_kb = 0;
	const char *dir = "/tmp/sp-age";
	long pipes = 0, piped = 0, pipes_kept = 0, asked = 0;
	unsigned long nodes, present;
	cpu_set_t all_cpus;
	off_t bytes, off, start;
	int percent = 50, stride = 16, opt, fd, node;
	char path[4200];
	double t0 = now();

	while ((opt = getopt(argc, argv, "P:d:U:S:")) != -1) {
		switch (opt) {
		case 'P': percent = atoi(optarg); break;
		case 'd': dir = optarg; break;
		case 'U': pipes = atol(optarg); break;
		case 'S': stride = atoi(optarg); break;
		default: return 2;
		}
	}
	if (strlen(dir) > 4096 || percent < 0 || percent > 95 || pipes < 0 ||
	    stride < 2)
		return 2;
	bytes = (off_t)avail_kb * 1024 / 100 * percent / (2 * page) * (2 * page);
	/*
	 * Each node by its share of the free memory: node by node, so that
	 * which node ends up short of free 2M blocks does not depend on
	 * where sp-bench ran.  Without NUMA in sysfs, one share as it is.
	 */
	nodes = age_nodes();
	sched_getaffinity(0, sizeof(all_cpus), &all_cpus);
	for (node = 0; node < AGE_MAX_NODES; node++) {
		if (nodes & (1UL << node)) {
			buddy_free_kb(node, &free_kb[node], &order9);
			total_kb += free_kb[node];
		}
	}
	if (!nodes || !total_kb) {
		nodes = 1;
		free_kb[0] = total_kb = 1;
	}
	/* Unmovable first, so the page cache does not take its place. */
	for (node = 0; pipes && node < AGE_MAX_NODES; node++) {
		long share, made;

		if (!(nodes & (1UL << node)))
			continue;
		/* The last node takes what rounding left. */
		share = nodes >> node == 1 ? pipes - asked :
			(long)((double)pipes * free_kb[node] / total_kb);
		asked += share;
		age_on_node(nodes == 1 ? -1 : node, &all_cpus);
		made = share ? age_pipes(share, stride) : 0;
		if (made < 0)
			die("pipes");
		piped += made;
		pipes_kept += made - (made + stride - 1) / stride;
	}
	if (bytes) {
		mkdir(dir, 0700);
		snprintf(path, sizeof(path), "%s/aged", dir);
		fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
		if (fd < 0)
			die(path);
		/*
		 * One big page-cache file, then a hole punched in every
		 * other page of it: movable memory in 4K pieces all over.
		 */
		for (node = 0, start = 0; node < AGE_MAX_NODES; node++) {
			off_t share;

			if (!(nodes & (1UL << node)))
				continue;
			share = (off_t)((double)bytes * free_kb[node] / total_kb) /
				(2 * page) * (2 * page);
			age_on_node(nodes == 1 ? -1 : node, &all_cpus);
			if (share && fallocate(fd, 0, start, share))
				die("fallocate");
			for (off = start; off < start + share; off += 2 * page)
				if (fallocate(fd, FALLOC_FL_PUNCH_HOLE |
					      FALLOC_FL_KEEP_SIZE, off, page))
					die("fallocate(PUNCH_HOLE)");
			start += share;
		}
		bytes = start;
		close(fd);	/* the file stays until the next boot */
	}
	age_on_node(-1, &all_cpus);
	buddy_free_kb(-1, &all, &order9);
	printf("RESULT scenario=age percent=%d kept_kb=%lld pipes=%ld pipes_kept=%ld seconds=%.1f free_kb=%lld free_2m_blocks_kb=%lld",
	       percent, (long long)bytes / 2 / 1024, piped, pipes_kept,
	       now() - t0, all, order9);
	present = age_nodes();
	for (node = 0; node < AGE_MAX_NODES; node++) {
		if (!(present & (1UL << node)))
			continue;
		buddy_free_kb(node, &all, &order9);
		printf(" free_2m_blocks_kb_node%d=%lld", node, order9);
	}
	printf("\n");
	return 0;
}

/* ---------------------------------------------------------------- */

/* The TLB model's markers (tools/perf-scripts/tlbmodel/dmtrace.c). */
#define MARK_ON		0x5ec0de000000UL
#define MARK_OFF	0x5ec0de001000UL

static int cmd_mark(int argc, char **argv)
{
	unsigned long addr;
	volatile char *p;

	int seg = argc == 3 ? atoi(argv[2]) : 0;

	if (argc < 2 || argc > 3 || (strcmp(argv[1], "on") && strcmp(argv[1], "off")) ||
	    seg < 0 || seg > 511)
		return 2;
	addr = strcmp(argv[1], "on") ? MARK_OFF : MARK_ON;
	p = mmap((void *)addr, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_FIXED_NOREPLACE, -1, 0);
	if (p == MAP_FAILED || (unsigned long)p != addr)
		die("mmap at the marker address");
	(void)p[seg * 8];
	munmap((void *)p, page);
	return 0;
}

static volatile sig_atomic_t kwork_stop;

static void kwork_alarm(int sig)
{
	kwork_stop = 1;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/*
 * The processes of a kernel-heavy workload start together: each blocks
 * reading the "go" pipe until the parent closes its end, once all exist,
 * so fork and exec stay out of the measured time.
 */
static void kwork_wait_go(int go[2])
{
	char c;

	close(go[1]);
	if (read(go[0], &c, 1) < 0)
		_exit(1);
	close(go[0]);
}

/* Reap every child; any that failed fails the run.  @except: not checked. */
static void kwork_reap(pid_t except)
{
	int status, bad = 0;
	pid_t pid;

	while ((pid = wait(&status)) > 0)
		if (pid != except && (!WIFEXITED(status) || WEXITSTATUS(status)))
			bad++;
	if (bad) {
		fprintf(stderr, "sp-bench: %d kwork processes failed\n", bad);
		exit(1);
	}
}

/*
 * In the parent, once every child exists: start them all (close "go"),
 * then sum the counts they write to the report pipe until all have closed
 * it.  @elapsed: from the start to the last report.
 */
static long kwork_go_collect(int report[2], int go[2], double *elapsed)
{
	long total = 0, n;
	double t0;

	close(report[1]);
	close(go[0]);
	t0 = now();
	close(go[1]);
	while (read(report[0], &n, sizeof(n)) == sizeof(n))
		total += n;
	close(report[0]);
	*elapsed = now() - t0;
	return total;
}

/* In a child: report its count and exit. */
static void __attribute__((noreturn)) kwork_report_exit(int fd, long count)
{
	_exit(write_all(fd, (char *)&count, sizeof(count)) ? 1 : 0);
}

static void kwork_timer(double secs)
{
	struct itimerval it = {
		.it_value.tv_sec = (time_t)secs,
		.it_value.tv_usec = (suseconds_t)((secs - (time_t)secs) * 1e6),
	};

	signal(SIGALRM, kwork_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
}

/*
 * msg/sock: per group FAN receivers, each with one channel (a pipe, or a
 * unix stream socket pair), and FAN senders writing 100-byte messages to
 * every receiver of their group in turn, until the time is up.  Senders
 * report their message counts through a pipe; a receiver reads until all
 * writers of its channel are gone.  @elapsed: from the start to the last
 * sender's report.
 */
static long kwork_messaging(int sock, int groups, int fan, double secs,
			    double *elapsed)
{
	int ng = groups * fan, g, i, r, report[2], go[2];
	int (*ch)[2] = calloc(ng, sizeof(*ch));
	long total;

	if (!ch || pipe(report) || pipe(go))
		die("kwork setup");
	for (i = 0; i < ng; i++) {
		if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, ch[i]) : pipe(ch[i]))
			die("kwork channel");
	}
	for (i = 0; i < ng; i++) {		/* receivers */
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			char buf[4096];

			close(report[0]);
			close(report[1]);
			close(go[0]);
			close(go[1]);
			for (r = 0; r < ng; r++) {
				close(ch[r][1]);
				if (r != i)
					close(ch[r][0]);
			}
			while (read(ch[i][0], buf, sizeof(buf)) > 0)
				;
			_exit(0);
		}
	}
	for (g = 0; g < groups; g++) {		/* senders */
		for (i = 0; i < fan; i++) {
			pid_t pid = fork();

			if (pid < 0)
				die("fork");
			if (pid == 0) {
				char msg[100] = { 0 };
				long sent = 0;

				close(report[0]);
				for (r = 0; r < ng; r++)
					close(ch[r][0]);
				kwork_wait_go(go);
				kwork_timer(secs);
				while (!kwork_stop) {
					for (r = 0; r < fan && !kwork_stop; r++) {
						if (write_all(ch[g * fan + r][1], msg, sizeof(msg)))
							_exit(1);
						sent++;
					}
				}
				kwork_report_exit(report[1], sent);
			}
		}
	}
	for (i = 0; i < ng; i++) {
		close(ch[i][0]);
		close(ch[i][1]);
	}
	total = kwork_go_collect(report, go, elapsed);
	kwork_reap(0);
	free(ch);
	return total;
}

/* meta: create, stat, rename and unlink @files files, round after round. */
static long kwork_meta(const char *dir, int files, double secs, double *elapsed)
{
	char a[4096], b[4096];
	double t0 = now(), until = t0 + secs;
	struct stat stb;
	long ops = 0;
	int i, fd;

	if (mkdir(dir, 0700) && errno != EEXIST)
		die("mkdir");
	while (now() < until) {
		for (i = 0; i < files; i++) {
			snprintf(a, sizeof(a), "%s/f%d", dir, i);
			fd = open(a, O_CREAT | O_EXCL | O_WRONLY, 0600);
			if (fd < 0)
				die("create");
			close(fd);
		}
		for (i = 0; i < files; i++) {
			snprintf(a, sizeof(a), "%s/f%d", dir, i);
			snprintf(b, sizeof(b), "%s/g%d", dir, i);
			if (stat(a, &stb) || rename(a, b))
				die("stat/rename");
		}
		for (i = 0; i < files; i++) {
			snprintf(b, sizeof(b), "%s/g%d", dir, i);
			if (unlink(b))
				die("unlink");
		}
		ops += 4L * files;
	}
	*elapsed = now() - t0;
	rmdir(dir);
	return ops;
}

/* Bring the loopback interface up (a fresh guest has it down). */
static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0)
		die("socket");
	strcpy(ifr.ifr_name, "lo");
	if (!ioctl(s, SIOCGIFFLAGS, &ifr) && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			die("bring lo up");
	}
	close(s);
}

/*
 * tcp: a forking server on 127.0.0.1 echoing 64-byte requests (a process
 * per connection, as classic servers do: fork and exit are part of the
 * kernel's work here); @fan clients each connect, make 16 requests and
 * close, round after round.
 */
static long kwork_tcp(int fan, double secs, double *elapsed)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t len = sizeof(sa);
	int ls, i, report[2], go[2], one = 1;
	long total;
	pid_t server;

	loopback_up();
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(ls, 128) || getsockname(ls, (struct sockaddr *)&sa, &len) ||
	    pipe(report) || pipe(go))
		die("tcp server");
	server = fork();
	if (server < 0)
		die("fork");
	if (server == 0) {
		close(report[0]);
		close(report[1]);
		close(go[0]);
		close(go[1]);
		signal(SIGCHLD, SIG_IGN);	/* no zombies */
		for (;;) {
			int c = accept(ls, NULL, NULL);
			char buf[64];

			if (c < 0)
				continue;
			if (fork() == 0) {
				close(ls);
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				while (recv(c, buf, sizeof(buf), MSG_WAITALL) == sizeof(buf) &&
				       !write_all(c, buf, sizeof(buf)))
					;
				_exit(0);
			}
			close(c);
		}
	}
	close(ls);
	for (i = 0; i < fan; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			char buf[64] = { 0 };
			long ops = 0;
			int k;

			close(report[0]);
			kwork_wait_go(go);
			kwork_timer(secs);
			while (!kwork_stop) {
				int c = socket(AF_INET, SOCK_STREAM, 0);

				if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
					_exit(1);
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
				for (k = 0; k < 16; k++) {
					if (write_all(c, buf, sizeof(buf)) ||
					    recv(c, buf, sizeof(buf), MSG_WAITALL) != sizeof(buf))
						_exit(1);
					ops++;
				}
				close(c);
				ops++;		/* the connection itself */
			}
			kwork_report_exit(report[1], ops);
		}
	}
	total = kwork_go_collect(report, go, elapsed);
	kill(server, SIGKILL);
	kwork_reap(server);
	return total;
}

static int cmd_kwork(int argc, char **argv)
{
	int groups = 4, fan = 10, files = 5000, opt;
	const char *work = "msg", *dir = "/tmp/sp-kwork";
	struct rlimit nofile;
	double secs = 2, t = 0;
	long ops;

	while ((opt = getopt(argc, argv, "w:s:g:f:n:d:")) != -1) {
		switch (opt) {
		case 'w': work = optarg; break;
		case 's': secs = atof(optarg); break;
		case 'g': groups = atoi(optarg); break;
		case 'f': fan = atoi(optarg); break;
		case 'n': files = atoi(optarg); break;
		case 'd': dir = optarg; break;
		default: return 2;
		}
	}
	if (groups < 1 || fan < 1 || files < 1 || secs <= 0)
		return 2;
	/*
	 * Run from sp-bench longlived -H, it inherits the secrets' and pipes'
	 * files: close them, or every fork copies thousands of them.
	 */
	if (syscall(SYS_close_range, 3, ~0U, 0)) {
		int fd, max = (int)sysconf(_SC_OPEN_MAX);

		for (fd = 3; fd < max; fd++)
			close(fd);
	}
	if (!getrlimit(RLIMIT_NOFILE, &nofile) && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (!strcmp(work, "msg") || !strcmp(work, "sock"))
		ops = kwork_messaging(!strcmp(work, "sock"), groups, fan, secs, &t);
	else if (!strcmp(work, "meta"))
		ops = kwork_meta(dir, files, secs, &t);
	else if (!strcmp(work, "tcp"))
		ops = kwork_tcp(fan, secs, &t);
	else
		return 2;
	out(" scenario=kwork work=%s ops=%ld secs=%.3f ops_s=%.0f", work, ops,
	    t, t > 0 ? ops / t : 0);
	result_end();
	return 0;
}

int main(int argc, char **argv)
{
	struct rlimit unlimited = { RLIM_INFINITY, RLIM_INFINITY };

	page = sysconf(_SC_PAGESIZE);
	/* Secret pages count against RLIMIT_MEMLOCK; lift it where allowed. */
	if (setrlimit(RLIMIT_MEMLOCK, &unlimited))
		fprintf(stderr, "sp-bench: RLIMIT_MEMLOCK stays as it is: %s\n",
			strerror(errno));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		fprintf(stderr, "usage: sp-bench longlived|churn|fault|leak|age|pin|kwork|mark [options]\n");
		return 2;
	}
	argv++;
	argc--;
	if (!strcmp(argv[0], "longlived"))
		return cmd_longlived(argc, argv);
	if (!strcmp(argv[0], "churn"))
		return cmd_churn(argc, argv);
	if (!strcmp(argv[0], "fault"))
		return cmd_fault(argc, argv);
	if (!strcmp(argv[0], "leak"))
		return cmd_leak(argc, argv);
	if (!strcmp(argv[0], "age"))
		return cmd_age(argc, argv);
	if (!strcmp(argv[0], "pin"))
		return cmd_pin(argc, argv);
	if (!strcmp(argv[0], "kwork"))
		return cmd_kwork(argc, argv);
	if (!strcmp(argv[0], "mark"))
		return cmd_mark(argc, argv);
	fprintf(stderr, "sp-bench: unknown command %s\n", argv[0]);
	return 2;
}
