// SPDX-License-Identifier: GPL-2.0
/*
 * /proc/kcore and secret memory.
 *
 * kcore lets root read kernel memory: RAM through the direct map, vmalloc
 * space through vread(), and the kernel image.  Secret pages are not in
 * the direct map, so kcore reads zeros for them; the pool zeroes pages that
 * come back through a per-CPU window of a few pages in vmalloc space (areas
 * from sp_window_init() in /proc/vmallocinfo), and 6.1's vread() copies from
 * the direct-map alias of the page behind a vmalloc address, which for a
 * window in use is not mapped: unpatched, reading a window oopses and then
 * deadlocks the guest.  These tests check that
 *
 *  - reading the windows while secrets churn reads zeros and never oopses;
 *  - a marker written only into secret pages is found nowhere kcore can
 *    read (RAM, every vmalloc area, the kernel image), neither while the
 *    secret is held nor, in the frames it used, after it was closed.
 *
 * The marker never exists in ordinary memory: the test keeps only its
 * bitwise complement and writes the marker a byte at a time straight into
 * the secret pages.  A second marker planted in an ordinary page shows that
 * the same scan does find what is there.  Both run with the pool on and
 * off; with the pool off, secret pages are unmapped one at a time and
 * zeroed through the same windows when they are freed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <linux/elf.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "../kselftest_harness.h"
#include "secretmem_util.h"

/*
 * These tests do a lot of work for a guest under emulation with debug
 * options on; give each more than the harness's default 30 s.
 */
#undef TEST_TIMEOUT_DEFAULT
#define TEST_TIMEOUT_DEFAULT 180

#define KPTR_RESTRICT	"/proc/sys/kernel/kptr_restrict"
#define COMPACT_UNEVICTABLE	"/proc/sys/vm/compact_unevictable_allowed"

/* x86-64 layout: the kernel image and the modules area after it. */
#define KTEXT_BASE	0xffffffff80000000ULL
#define MODULES_BASE	0xffffffffa0000000ULL

#define MARKER_LEN	32
#define CHUNK		(1024 * 1024)
#define SECRET_PAGES	128
#define CHURN_THREADS	2
#define CHURN_SECONDS	3
#define MIN_READS	2000
#define MIN_CHURN	50

/* A PT_LOAD segment of /proc/kcore: kernel addresses at a file offset. */
struct kseg {
	uint64_t vaddr, paddr, size, off;
};

struct kcore {
	int fd;
	int nseg;
	struct kseg *seg;
};

/* An area listed in /proc/vmallocinfo. */
struct varea {
	uint64_t start, end;
	bool window;
};

struct vareas {
	int n;
	struct varea *a;
};

static int kcore_open(struct kcore *k)
{
	struct elf64_hdr eh;
	struct elf64_phdr *ph;
	size_t len;
	int i;

	k->nseg = 0;
	k->seg = NULL;
	k->fd = open("/proc/kcore", O_RDONLY);
	if (k->fd < 0)
		return -errno;
	if (pread(k->fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(*ph) || !eh.e_phnum)
		return -EINVAL;
	len = eh.e_phnum * sizeof(*ph);
	ph = malloc(len);
	k->seg = calloc(eh.e_phnum, sizeof(*k->seg));
	if (!ph || !k->seg) {
		free(ph);
		return -ENOMEM;
	}
	if (pread(k->fd, ph, len, eh.e_phoff) != (ssize_t)len) {
		free(ph);
		return -EINVAL;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD)
			continue;
		k->seg[k->nseg].vaddr = ph[i].p_vaddr;
		k->seg[k->nseg].paddr = ph[i].p_paddr;
		k->seg[k->nseg].size = ph[i].p_filesz;
		k->seg[k->nseg].off = ph[i].p_offset;
		k->nseg++;
	}
	free(ph);
	return 0;
}

static void kcore_close(struct kcore *k)
{
	if (k->fd >= 0)
		close(k->fd);
	free(k->seg);
	k->fd = -1;
	k->seg = NULL;
}

/* kcore marks segments that are not RAM or the image with p_paddr -1. */
static bool seg_is_ram(const struct kseg *s)
{
	return s->paddr != (uint64_t)-1 && s->vaddr < KTEXT_BASE;
}

static bool seg_is_text(const struct kseg *s)
{
	return s->paddr != (uint64_t)-1 && s->vaddr >= KTEXT_BASE &&
	       s->vaddr < MODULES_BASE;
}

/* File offset of [@vaddr, @vaddr + @len) in kcore; -1 if not in one segment. */
static off_t kcore_off(const struct kcore *k, uint64_t vaddr, uint64_t len)
{
	int i;

	for (i = 0; i < k->nseg; i++) {
		const struct kseg *s = &k->seg[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->size &&
		    len <= s->size - (vaddr - s->vaddr))
			return s->off + (vaddr - s->vaddr);
	}
	return -1;
}

/*
 * Where the direct map starts: a RAM segment's virtual address less its
 * physical one.  0 if there is no RAM segment or they disagree.
 */
static uint64_t direct_map_base(const struct kcore *k)
{
	uint64_t base = 0;
	int i;

	for (i = 0; i < k->nseg; i++) {
		const struct kseg *s = &k->seg[i];

		if (!seg_is_ram(s))
			continue;
		if (base && base != s->vaddr - s->paddr)
			return 0;
		base = s->vaddr - s->paddr;
	}
	return base;
}

/*
 * Whether a vmallocinfo line is one of the pool's zeroing windows: the
 * caller of get_vm_area() is sp_window_init(), or sp_pool_create() where
 * the compiler inlined the former into it (its only caller).
 */
static bool is_window(const char *line)
{
	return strstr(line, " sp_window_init+") ||
	       strstr(line, " sp_pool_create+");
}

/*
 * Every area of /proc/vmallocinfo.  Its addresses are printed with %pK, so
 * the caller sets kptr_restrict to 1 first (0 hashes them).  0 on success.
 */
static int vareas_read(struct vareas *v)
{
	unsigned long long start, end;
	char line[512];
	int cap = 0;
	FILE *f;

	v->n = 0;
	v->a = NULL;
	f = fopen("/proc/vmallocinfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "0x%llx-0x%llx", &start, &end) != 2 ||
		    end <= start)
			continue;
		if (v->n == cap) {
			struct varea *a;

			cap = cap ? 2 * cap : 1024;
			a = realloc(v->a, cap * sizeof(*a));
			if (!a) {
				fclose(f);
				return -ENOMEM;
			}
			v->a = a;
		}
		v->a[v->n].start = start;
		v->a[v->n].end = end;
		v->a[v->n].window = is_window(line);
		v->n++;
	}
	fclose(f);
	return 0;
}

/* How many CPUs a list such as "0-1,4" names; -1 if it cannot be read. */
static int cpulist_count(const char *path)
{
	char buf[256], *p;
	int count = 0;

	if (read_str(path, buf, sizeof(buf)))
		return -1;
	for (p = buf; *p && *p != '\n';) {
		long lo = strtol(p, &p, 10), hi = lo;

		if (*p == '-')
			hi = strtol(p + 1, &p, 10);
		count += hi - lo + 1;
		if (*p == ',')
			p++;
		else
			break;
	}
	return count;
}

/*
 * The marker's byte @i, computed from its complement in @comp.  The load is
 * atomic so that the compiler cannot vectorise the complement of the whole
 * array into a register, whose contents a context switch would save in
 * kernel memory: only one byte of the marker is ever outside a secret page.
 */
static inline unsigned char marker_byte(const unsigned char *comp, int i)
{
	return (unsigned char)~__atomic_load_n(&comp[i], __ATOMIC_RELAXED);
}

/* A first byte that ordinary memory rarely holds, so memchr() skips fast. */
static bool rare_byte(unsigned char b)
{
	return b > 0x80 && b != 0xa5 && b != 0xbb && b != 0xcc && b != 0xff;
}

/* The complement of a fresh random marker; 0 on success. */
static int marker_make(unsigned char *comp)
{
	if (getrandom(comp, MARKER_LEN, 0) != MARKER_LEN)
		return -1;
	while (!rare_byte(marker_byte(comp, 0)))
		comp[0] = (unsigned char)rand();
	return 0;
}

/* How often the marker whose complement is @comp occurs in @buf. */
static long marker_count(const unsigned char *buf, size_t len,
			 const unsigned char *comp)
{
	const unsigned char *p = buf, *end = buf + len;
	unsigned char first = marker_byte(comp, 0);
	long hits = 0;
	int j;

	while ((size_t)(end - p) >= MARKER_LEN) {
		p = memchr(p, first, end - p - (MARKER_LEN - 1));
		if (!p)
			break;
		for (j = 1; j < MARKER_LEN; j++)
			if (p[j] != marker_byte(comp, j))
				break;
		hits += j == MARKER_LEN;
		p++;
	}
	return hits;
}

#define NR_MARKERS	2

/* A scan of kcore for markers, and what it read. */
struct scan {
	const struct kcore *k;
	unsigned char *buf;		/* CHUNK + MARKER_LEN - 1 bytes */
	const unsigned char *comp[NR_MARKERS];
	long hits[NR_MARKERS];
	unsigned long long bytes;	/* read from kcore */
	long read_errors;		/* reads that failed or came short */
	long outside;			/* ranges in no kcore segment */
	bool nonzero;			/* some byte read was not zero */
};

static void scan_count(struct scan *s, size_t len)
{
	int m;

	for (m = 0; m < NR_MARKERS; m++)
		s->hits[m] += marker_count(s->buf, len, s->comp[m]);
	if (!s->nonzero) {
		size_t i;

		for (i = 0; i < len; i++)
			if (s->buf[i]) {
				s->nonzero = true;
				break;
			}
	}
}

/*
 * Scan kernel addresses [@vaddr, @vaddr + @len) in 1 MiB reads.  The last
 * MARKER_LEN - 1 bytes of a read are kept in front of the next one, so a
 * marker across two reads is found; one that does not fit whole in what
 * was kept has not been counted yet, so none is counted twice.
 */
static void scan_range(struct scan *s, uint64_t vaddr, uint64_t len)
{
	off_t off = kcore_off(s->k, vaddr, len);
	size_t keep = 0, tail;

	if (off < 0) {
		s->outside++;
		return;
	}
	while (len) {
		size_t want = len < CHUNK ? len : CHUNK;
		ssize_t got = pread(s->k->fd, s->buf + keep, want, off);

		if (got != (ssize_t)want) {
			s->read_errors++;
			return;
		}
		s->bytes += got;
		scan_count(s, keep + got);
		tail = keep + got < MARKER_LEN - 1 ? keep + got : MARKER_LEN - 1;
		memmove(s->buf, s->buf + keep + got - tail, tail);
		keep = tail;
		off += got;
		len -= got;
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void kptr_restore(long long val)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", val);
	write_str(KPTR_RESTRICT, buf);
}

FIXTURE(kcore) {
	long page;
	long long saved_enabled;
	long long saved_kptr;
	long long saved_compact;
	struct kcore k;
	struct vareas v;
};

FIXTURE_SETUP(kcore)
{
	int fd, err;

	self->page = sysconf(_SC_PAGESIZE);
	self->saved_enabled = -1;
	self->saved_kptr = -1;
	self->saved_compact = -1;
	self->k.fd = -1;
	REQUIRE_POOL(return);
	self->saved_enabled = pool_get("enabled");
	fd = sys_memfd_secret(0);
	if (fd < 0)
		SKIP(return, "memfd_secret() not available");
	close(fd);
	if (access("/proc/kcore", F_OK))
		SKIP(return, "no /proc/kcore (CONFIG_PROC_KCORE)");

	err = kcore_open(&self->k);
	ASSERT_EQ(0, err) TH_LOG("/proc/kcore: %s", strerror(-err));

	/* Real addresses in /proc/vmallocinfo for root (CAP_SYSLOG). */
	self->saved_kptr = read_num(KPTR_RESTRICT);
	ASSERT_LE(0, self->saved_kptr);
	ASSERT_EQ(0, write_str(KPTR_RESTRICT, "1"));
	/*
	 * The control page of marker_never_in_kcore is mlocked; compaction
	 * (the pool's own order-9 allocations start it) may still move such
	 * pages, and one moved during the scan from a part not read yet to
	 * a part already read is missed.  Not while this suite runs.
	 */
	self->saved_compact = read_num(COMPACT_UNEVICTABLE);
	if (self->saved_compact >= 0)
		write_str(COMPACT_UNEVICTABLE, "0");
	/* Writing "enabled" wakes every node's pool: only when it changes. */
	if (self->saved_enabled >= 0 && self->saved_enabled != 1) {
		err = pool_set("enabled", 1);
		if (err)	/* a failed ASSERT() here skips the teardown */
			kptr_restore(self->saved_kptr);
		ASSERT_EQ(0, err);
	}
}

FIXTURE_TEARDOWN(kcore)
{
	kcore_close(&self->k);
	free(self->v.a);
	if (self->saved_kptr >= 0)
		kptr_restore(self->saved_kptr);
	if (self->saved_compact >= 0)
		write_str(COMPACT_UNEVICTABLE, self->saved_compact ? "1" : "0");
	if (self->saved_enabled >= 0)
		pool_set("enabled", self->saved_enabled);
}

/* The kernel addresses of vmallocinfo are real ones, not hashes or zeros. */
static bool vareas_real(const struct vareas *v)
{
	int i;

	for (i = 0; i < v->n; i++)
		if (v->a[i].start < 0xffff800000000000ULL)
			return false;
	return v->n > 0;
}

struct churn_arg {
	long page;
	atomic_int *stop;
	atomic_long *iterations;
	atomic_long *errors;
};

/* Secrets made, written and closed as fast as possible: closing zeroes. */
static void *churn(void *data)
{
	struct churn_arg *a = data;
	uint32_t seed = (uint32_t)(uintptr_t)&seed;

	while (!atomic_load(a->stop)) {
		long pages, i;
		char *p;
		int fd;

		seed = seed * 1103515245u + 12345u;
		pages = 1 + (seed >> 16) % 16;
		fd = sys_memfd_secret(0);
		if (fd < 0 || ftruncate(fd, pages * a->page)) {
			atomic_fetch_add(a->errors, 1);
			if (fd >= 0)
				close(fd);
			break;
		}
		p = mmap(NULL, pages * a->page, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (p == MAP_FAILED) {
			atomic_fetch_add(a->errors, 1);
			close(fd);
			break;
		}
		for (i = 0; i < pages; i++) {
			/* Fresh pages are zero; then they hold data. */
			if (peek(p + i * a->page + a->page - 1))
				atomic_fetch_add(a->errors, 1);
			memset(p + i * a->page, 0x5e, a->page);
		}
		munmap(p, pages * a->page);
		close(fd);
		atomic_fetch_add(a->iterations, 1);
	}
	return NULL;
}

/*
 * Read every page of every zeroing window through kcore, thousands of
 * times, while two threads make the pool zero pages through them.  Every
 * byte must read as zero and every read must succeed; an unpatched kernel
 * oopses in vread() instead (and the guest dies, which the runner sees).
 */
TEST_F(kcore, window_reads_zero_under_churn)
{
	struct churn_arg arg = { .page = self->page };
	atomic_long iterations = 0, errors = 0;
	long reads = 0, bad_reads = 0, nonzero = 0, filled = 0, probed = 0;
	int i, windows = 0, cpus, t;
	pthread_t th[CHURN_THREADS];
	long size;
	struct pool_stats st0, st1;
	atomic_int stop = 0;
	unsigned char *buf;
	double end;

	if (_metadata->skip)	/* SKIP() in the setup does not stop the test */
		return;
	REQUIRE_POOL();
	buf = malloc(self->page);
	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, vareas_read(&self->v));
	ASSERT_TRUE(vareas_real(&self->v))
		TH_LOG("/proc/vmallocinfo shows no kernel addresses");

	for (i = 0; i < self->v.n; i++) {
		const struct varea *a = &self->v.a[i];

		if (!a->window)
			continue;
		windows++;
		size = a->end - a->start;
		EXPECT_TRUE(size >= 2 * self->page && !(size % self->page))
			TH_LOG("window %#llx-%#llx: pages and a guard page",
			       (unsigned long long)a->start,
			       (unsigned long long)a->end);
		ASSERT_LE(0, kcore_off(&self->k, a->start, size - self->page))
			TH_LOG("window %#llx in no kcore segment",
			       (unsigned long long)a->start);
	}
	ASSERT_LT(0, windows) TH_LOG("no window area in /proc/vmallocinfo");
	cpus = cpulist_count("/sys/devices/system/cpu/possible");
	EXPECT_EQ(cpus, windows) TH_LOG("one window per possible CPU");

	/*
	 * The same translation reads real data elsewhere in vmalloc space (a
	 * thread stack starts with STACK_END_MAGIC, for one): zeros from the
	 * windows are not zeros from a wrong offset.
	 */
	for (i = 0; i < self->v.n; i++) {
		off_t off = kcore_off(&self->k, self->v.a[i].start, self->page);
		long j;

		if (self->v.a[i].window || off < 0)
			continue;
		if (pread(self->k.fd, buf, self->page, off) != self->page)
			continue;
		probed++;
		for (j = 0; j < self->page && !buf[j]; j++)
			;
		filled += j < self->page;
	}
	TH_LOG("%ld of %ld other vmalloc areas read non-zero", filled, probed);
	EXPECT_LT(0, filled);

	ASSERT_EQ(0, pool_stats(&st0));
	arg.stop = &stop;
	arg.iterations = &iterations;
	arg.errors = &errors;
	for (t = 0; t < CHURN_THREADS; t++)
		ASSERT_EQ(0, pthread_create(&th[t], NULL, churn, &arg));

	/*
	 * For CHURN_SECONDS and at least MIN_READS reads while the threads
	 * made and closed secrets; a bound on the loop, not a check of speed.
	 */
	end = now() + CHURN_SECONDS;
	while ((now() < end || reads < MIN_READS ||
		atomic_load(&iterations) < MIN_CHURN) &&
	       !atomic_load(&errors) && now() < end + 50) {
		for (i = 0; i < self->v.n; i++) {
			const struct varea *a = &self->v.a[i];
			uint64_t addr;
			long j;

			if (!a->window)
				continue;
			/* Every slot; the last page is the guard. */
			for (addr = a->start; addr + self->page < a->end;
			     addr += self->page) {
				reads++;
				if (pread(self->k.fd, buf, self->page,
					  kcore_off(&self->k, addr,
						    self->page)) !=
				    self->page) {
					bad_reads++;
					continue;
				}
				for (j = 0; j < self->page; j++)
					nonzero += buf[j] != 0;
			}
		}
	}
	atomic_store(&stop, 1);
	for (t = 0; t < CHURN_THREADS; t++)
		pthread_join(th[t], NULL);

	TH_LOG("%ld window reads, %ld secrets made and closed",
	       reads, atomic_load(&iterations));
	EXPECT_EQ(0, atomic_load(&errors));
	EXPECT_LE(MIN_READS, reads);
	EXPECT_LE(MIN_CHURN, atomic_load(&iterations));
	EXPECT_EQ(0, bad_reads);
	EXPECT_EQ(0, nonzero) TH_LOG("kcore read non-zero bytes in a window");
	/* The pool did zero pages through the windows meanwhile. */
	ASSERT_EQ(0, pool_stats(&st1));
	EXPECT_LT(st0.recycled, st1.recycled);
	free(buf);
	EXPECT_POOL_EMPTY();
}

/* The second half of every RAM segment, scanned by a second thread. */
struct half_scan {
	struct scan s;
	uint64_t vaddr[64], len[64];
	int n;
};

static void *scan_halves(void *data)
{
	struct half_scan *h = data;
	int i;

	for (i = 0; i < h->n; i++)
		scan_range(&h->s, h->vaddr[i], h->len[i]);
	return NULL;
}

/*
 * Scan RAM, every vmalloc area and the kernel image for the markers.  RAM
 * is most of it: each segment is split in two, the halves scanned by two
 * threads (the guest has two CPUs).  The second half starts MARKER_LEN - 1
 * bytes early, so a marker across the split is found by it alone.
 *
 * Each thread reads through a file of its own: read_kcore() copies through
 * one bounce buffer per open file, without a lock, so two threads reading
 * one file may each get what the other read.
 */
static int scan_all(struct scan *s, const struct vareas *v, bool *text_nonzero,
		    bool *vmalloc_nonzero)
{
	struct kcore k2 = *s->k;
	struct half_scan h = { .s = { .k = &k2 } };
	pthread_t th;
	int i, m;

	k2.fd = open("/proc/kcore", O_RDONLY);
	if (k2.fd < 0)
		return -1;
	memcpy(h.s.comp, s->comp, sizeof(h.s.comp));
	h.s.buf = malloc(CHUNK + MARKER_LEN - 1);
	if (!h.s.buf) {
		close(k2.fd);
		return -1;
	}
	for (i = 0; i < s->k->nseg; i++) {
		const struct kseg *seg = &s->k->seg[i];
		uint64_t first = seg->size / 2 & ~(uint64_t)4095;

		if (!seg_is_ram(seg))
			continue;
		if (h.n == 64) {
			free(h.s.buf);
			close(k2.fd);
			return -1;
		}
		if (first < MARKER_LEN)
			first = 0;
		h.vaddr[h.n] = seg->vaddr + (first ? first - (MARKER_LEN - 1) : 0);
		h.len[h.n] = seg->size - (first ? first - (MARKER_LEN - 1) : 0);
		h.n++;
	}
	if (pthread_create(&th, NULL, scan_halves, &h)) {
		free(h.s.buf);
		close(k2.fd);
		return -1;
	}
	for (i = 0; i < s->k->nseg; i++) {
		const struct kseg *seg = &s->k->seg[i];
		uint64_t first = seg->size / 2 & ~(uint64_t)4095;

		if (seg_is_ram(seg) && first >= MARKER_LEN)
			scan_range(s, seg->vaddr, first);
	}
	pthread_join(th, NULL);
	for (m = 0; m < NR_MARKERS; m++)
		s->hits[m] += h.s.hits[m];
	s->bytes += h.s.bytes;
	s->read_errors += h.s.read_errors;
	s->outside += h.s.outside;
	free(h.s.buf);
	close(k2.fd);

	s->nonzero = false;
	for (i = 0; i < v->n; i++)
		scan_range(s, v->a[i].start, v->a[i].end - v->a[i].start);
	*vmalloc_nonzero = s->nonzero;

	s->nonzero = false;
	for (i = 0; i < s->k->nseg; i++)
		if (seg_is_text(&s->k->seg[i]))
			scan_range(s, s->k->seg[i].vaddr, s->k->seg[i].size);
	*text_nonzero = s->nonzero;
	return 0;
}

/*
 * Write the marker into @pages new secret pages, served with the pool on
 * or off; record their frames in @pfns.  Returns the file or -1.
 */
static int marker_secret(const unsigned char *comp, long page, int pages,
			 bool pool, char **mem, uint64_t *pfns)
{
	int fd, pagemap, i, j;
	char *p;

	if (pool_set("enabled", pool))
		return -1;
	fd = sys_memfd_secret(0);
	if (fd < 0 || ftruncate(fd, pages * page))
		return -1;
	p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return -1;
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (pagemap < 0)
		return -1;
	for (i = 0; i < pages; i++) {
		char *at = p + i * page + (i % 127) * MARKER_LEN;

		for (j = 0; j < MARKER_LEN; j++)
			poke(at + j, (char)marker_byte(comp, j));
		for (j = 0; j < MARKER_LEN; j++)
			if ((unsigned char)peek(at + j) != marker_byte(comp, j))
				return -1;
		pfns[i] = pagemap_pfn(pagemap, p + i * page, page);
		if (!pfns[i])
			return -1;
	}
	close(pagemap);
	*mem = p;
	return fd;
}

/*
 * A random marker written into secret pages, some served by the pool and
 * some unmapped one by one, must appear nowhere kcore can read while the
 * secrets are held (one scan of all of it: RAM, every vmalloc area, the
 * kernel image), nor in the frames the secrets used once they are closed
 * and the pool settled.  A second marker, planted in an ordinary page,
 * must be found by the same scans: they can fail.
 */
TEST_F(kcore, marker_never_in_kcore)
{
	unsigned char comp[MARKER_LEN], ctl_comp[MARKER_LEN];
	uint64_t pfns[2 * SECRET_PAGES + 1], dm_base;
	bool text_nonzero, vmalloc_nonzero;
	struct pool_stats st0, st1;
	int fd[2], pagemap, i, j, ram = 0;
	unsigned char *ctl;
	uint64_t ctl_pfn;
	struct scan s = {};
	char *p[2];
	double t0;

	if (_metadata->skip)	/* SKIP() in the setup does not stop the test */
		return;
	ASSERT_EQ(0, vareas_read(&self->v));
	ASSERT_TRUE(vareas_real(&self->v))
		TH_LOG("/proc/vmallocinfo shows no kernel addresses");
	for (i = 0; i < self->k.nseg; i++)
		ram += seg_is_ram(&self->k.seg[i]);
	ASSERT_LT(0, ram) TH_LOG("no RAM segment in /proc/kcore");
	dm_base = direct_map_base(&self->k);
	ASSERT_NE((uint64_t)0, dm_base) TH_LOG("RAM segments disagree on the direct map");

	s.k = &self->k;
	s.buf = malloc(CHUNK + MARKER_LEN - 1);
	ASSERT_NE(NULL, s.buf);
	srand(getpid());
	ASSERT_EQ(0, marker_make(comp));
	do {
		ASSERT_EQ(0, marker_make(ctl_comp));
	} while (ctl_comp[0] == comp[0]);
	s.comp[0] = comp;
	s.comp[1] = ctl_comp;

	/* The control: an ordinary page that does hold its marker. */
	ctl = mmap(NULL, self->page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ctl);
	for (j = 0; j < MARKER_LEN; j++)
		ctl[100 + j] = marker_byte(ctl_comp, j);
	ASSERT_EQ(0, mlock(ctl, self->page));
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	pfns[2 * SECRET_PAGES] = pagemap_pfn(pagemap, ctl, self->page);
	ASSERT_NE((uint64_t)0, pfns[2 * SECRET_PAGES]);
	close(pagemap);

	/* Pool pages, then pages unmapped one by one (upstream's way). */
	ASSERT_EQ(0, pool_stats(&st0));
	fd[0] = marker_secret(comp, self->page, SECRET_PAGES, true, &p[0],
			      pfns);
	ASSERT_LE(0, fd[0]);
	ASSERT_EQ(0, pool_stats(&st1));
	EXPECT_LE(SECRET_PAGES, st1.in_use - st0.in_use)
		TH_LOG("the pool did not serve");
	fd[1] = marker_secret(comp, self->page, SECRET_PAGES, false, &p[1],
			      pfns + SECRET_PAGES);
	ASSERT_LE(0, fd[1]);
	ASSERT_EQ(0, pool_stats(&st0));
	EXPECT_EQ(st1.in_use, st0.in_use) TH_LOG("the pool served with enabled=0");
	ASSERT_EQ(0, pool_set("enabled", 1));

	t0 = now();
	ASSERT_EQ(0, scan_all(&s, &self->v, &text_nonzero, &vmalloc_nonzero));
	TH_LOG("scanned %llu MiB of kcore in %.1f s", s.bytes >> 20,
	       now() - t0);
	EXPECT_EQ(0, s.hits[0]) TH_LOG("the secret marker is readable in kcore");
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	ASSERT_LE(0, pagemap);
	ctl_pfn = pagemap_pfn(pagemap, ctl, self->page);
	close(pagemap);
	EXPECT_LE(1, s.hits[1])
		TH_LOG("the scan missed the control marker (pfn %#llx, %#llx after)",
		       (unsigned long long)pfns[2 * SECRET_PAGES],
		       (unsigned long long)ctl_pfn);
	EXPECT_EQ(0, s.read_errors);
	EXPECT_EQ(0, s.outside) TH_LOG("vmalloc areas outside kcore");
	EXPECT_TRUE(text_nonzero);
	EXPECT_TRUE(vmalloc_nonzero);

	for (i = 0; i < 2; i++) {
		munmap(p[i], SECRET_PAGES * self->page);
		close(fd[i]);
	}
	ASSERT_EQ(0, pool_settle(&st0));

	/* The frames the secrets used, and the control's, after the close. */
	memset(s.hits, 0, sizeof(s.hits));
	for (i = 0; i <= 2 * SECRET_PAGES; i++)
		scan_range(&s, dm_base + pfns[i] * self->page, self->page);
	EXPECT_EQ(0, s.hits[0]) TH_LOG("a freed secret frame holds the marker");
	EXPECT_LE(1, s.hits[1]) TH_LOG("the frame scan missed the control");
	EXPECT_EQ(0, s.read_errors);
	EXPECT_EQ(0, s.outside) TH_LOG("a frame outside kcore's RAM");

	munmap(ctl, self->page);
	free(s.buf);
	EXPECT_POOL_EMPTY();
}

TEST_HARNESS_MAIN
