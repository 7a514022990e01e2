// SPDX-License-Identifier: GPL-2.0
/*
 * dmtrace.c - a QEMU TCG plugin that records the guest kernel's data
 * accesses to the x86-64 direct map, for the TLB model (tlbsim.c).
 *
 * Usage (QEMU 7.2, system emulation, guest booted with "nokaslr"):
 *
 *   qemu-system-x86_64 ... -plugin build/dmtrace.so,out=DIR/trace
 *
 * Options (plugin arguments, name=value):
 *   out=PREFIX   where the segments go (default "dmtrace")
 *   base=ADDR    the direct map's first address (default
 *                0xffff888000000000, its place without KASLR)
 *   size=BYTES   how far it reaches (default 64 TiB)
 *
 * Nothing is recorded until a guest program reads the page at ON_ADDR
 * (byte 8 * K of it starts segment K); reading the page at OFF_ADDR ends
 * the segment (benchmarks/src/sp-bench "mark on K" / "mark off").  Each segment K is written per vCPU V as
 * PREFIX.K.V.bin, an array of little-endian u64 records, one per data
 * access (load or store) whose 4K page differs from the vCPU's previous
 * access: runs of accesses to one page are one record, which loses nothing
 * an LRU TLB can see (a repeat of the last page hits in every level that
 * holds it).  A record is (page << 2) | class:
 *   class 0  the direct map; page = (address - base) >> 12, the page size
 *            comes from the layout the simulator is given;
 *   class 1  user space and the rest of the kernel (vmalloc, vmapped
 *            stacks, fixmap, ...), modelled as 4K pages; page = address >> 12;
 *   class 2  the kernel image and the vmemmap (struct pages), which the
 *            kernel maps with 2M pages; page = address >> 12.
 * The other classes are there because their entries compete with the
 * direct map's for the same TLB; the figures are about class 0.
 * PREFIX.K.V.txt counts all accesses and the direct map's, before folding.
 *
 * The plugin API header is not packaged by Debian, so the handful of
 * version-1 types and functions used here are declared below.  Callbacks
 * run on the vCPU threads (multi-threaded TCG): each vCPU's buffer is its
 * own; the segment number and the on/off state are shared atomics.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- QEMU plugin API, version 1 (QEMU 7.2), the part used here --- */
typedef uint64_t qemu_plugin_id_t;
typedef uint32_t qemu_plugin_meminfo_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;

typedef struct {
	const char *target_name;
	struct {
		int min;
		int cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus;
			int max_vcpus;
		} system;
	};
} qemu_info_t;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

enum qemu_plugin_mem_rw {
	QEMU_PLUGIN_MEM_R = 1,
	QEMU_PLUGIN_MEM_W,
	QEMU_PLUGIN_MEM_RW,
};

typedef void (*qemu_plugin_vcpu_tb_trans_cb_t)(qemu_plugin_id_t id,
					       struct qemu_plugin_tb *tb);
typedef void (*qemu_plugin_vcpu_mem_cb_t)(unsigned int vcpu_index,
					  qemu_plugin_meminfo_t info,
					  uint64_t vaddr, void *userdata);
typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn,
				      qemu_plugin_vcpu_mem_cb_t cb,
				      enum qemu_plugin_cb_flags flags,
				      enum qemu_plugin_mem_rw rw,
				      void *userdata);
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata);
void qemu_plugin_outs(const char *string);

#define QEMU_PLUGIN_EXPORT __attribute__((visibility("default")))
QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;
/* --- end of the API declarations --- */

/* The guest's markers: user addresses nothing else maps (sp-bench mark). */
#define ON_ADDR		0x5ec0de000000ULL
#define OFF_ADDR	0x5ec0de001000ULL
#define MAX_VCPUS	64
#define BUF_RECORDS	(1 << 20)
/* Kernel ranges mapped with 2M pages (x86-64, 4-level, without KASLR). */
#define KIMAGE_START	0xffffffff80000000ULL
#define KIMAGE_END	0xffffffffa0000000ULL
#define VMEMMAP_START	0xffffea0000000000ULL
#define VMEMMAP_END	0xffffeb0000000000ULL

struct vcpu_trace {
	int seg;		/* segment this vCPU writes, 0: none */
	FILE *f;
	uint64_t last;		/* record of the previous access */
	bool have_last;
	uint64_t accesses, dm_accesses, records, stores;
	size_t used;
	uint64_t buf[BUF_RECORDS];
};

static const char *prefix = "dmtrace";
static uint64_t dm_base = 0xffff888000000000ULL;
static uint64_t dm_size = 64ULL << 40;
static int cur_seg;		/* last segment started */
static int recording;		/* 1 between "on" and "off" */
static struct vcpu_trace *vcpus[MAX_VCPUS];

static void flush_buf(struct vcpu_trace *t)
{
	if (t->used && t->f)
		fwrite(t->buf, sizeof(t->buf[0]), t->used, t->f);
	t->used = 0;
}

static void end_segment(struct vcpu_trace *t, unsigned int vcpu)
{
	char path[4096];
	FILE *s;

	if (!t->seg)
		return;
	flush_buf(t);
	if (t->f)
		fclose(t->f);
	t->f = NULL;
	snprintf(path, sizeof(path), "%s.%d.%u.txt", prefix, t->seg, vcpu);
	s = fopen(path, "w");
	if (s) {
		fprintf(s, "segment %d\nvcpu %u\naccesses %" PRIu64
			"\ndm_accesses %" PRIu64 "\nrecords %" PRIu64
			"\nstores %" PRIu64 "\nbase 0x%" PRIx64 "\n", t->seg,
			vcpu, t->accesses, t->dm_accesses, t->records,
			t->stores, dm_base);
		fclose(s);
	}
	t->seg = 0;
}

static void start_segment(struct vcpu_trace *t, unsigned int vcpu, int seg)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s.%d.%u.bin", prefix, seg, vcpu);
	t->f = fopen(path, "wb");
	if (!t->f) {
		fprintf(stderr, "dmtrace: cannot write %s\n", path);
		__atomic_store_n(&recording, 0, __ATOMIC_RELEASE);
		return;
	}
	t->seg = seg;
	t->have_last = false;
	t->accesses = t->dm_accesses = t->records = t->stores = 0;
	t->used = 0;
}

static void on_mem(unsigned int vcpu, qemu_plugin_meminfo_t info,
		   uint64_t vaddr, void *udata)
{
	struct vcpu_trace *t;
	uint64_t off = vaddr - dm_base, rec;
	int seg;

	(void)udata;
	if (vcpu >= MAX_VCPUS)
		return;
	if ((vaddr & ~0xfffULL) == ON_ADDR) {
		/*
		 * The guest names the segment: byte 8 * K of the page starts
		 * segment K (1 to 511), so the two sides cannot drift apart;
		 * byte 0 starts the next one.  Idempotent: the load may run
		 * twice around its page fault.
		 */
		seg = (int)((vaddr & 0xfff) / 8);
		if (!seg) {
			if (__atomic_load_n(&recording, __ATOMIC_ACQUIRE))
				return;
			seg = __atomic_load_n(&cur_seg, __ATOMIC_ACQUIRE) + 1;
		}
		__atomic_store_n(&cur_seg, seg, __ATOMIC_RELEASE);
		__atomic_store_n(&recording, 1, __ATOMIC_RELEASE);
		return;
	}
	if ((vaddr & ~0xfffULL) == OFF_ADDR) {
		__atomic_store_n(&recording, 0, __ATOMIC_RELEASE);
		return;
	}
	t = vcpus[vcpu];
	if (!__atomic_load_n(&recording, __ATOMIC_ACQUIRE)) {
		if (t && t->seg)
			end_segment(t, vcpu);
		return;
	}
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			return;
		vcpus[vcpu] = t;
	}
	seg = __atomic_load_n(&cur_seg, __ATOMIC_ACQUIRE);
	if (t->seg != seg) {
		end_segment(t, vcpu);
		start_segment(t, vcpu, seg);
		if (!t->seg)
			return;
	}
	t->accesses++;
	if (qemu_plugin_mem_is_store(info))
		t->stores++;
	if (off < dm_size) {
		t->dm_accesses++;
		rec = (off >> 12) << 2;
	} else if ((vaddr >= KIMAGE_START && vaddr < KIMAGE_END) ||
		   (vaddr >= VMEMMAP_START && vaddr < VMEMMAP_END)) {
		rec = ((vaddr >> 12) << 2) | 2;
	} else {
		rec = ((vaddr >> 12) << 2) | 1;
	}
	if (t->have_last && rec == t->last)
		return;
	t->last = rec;
	t->have_last = true;
	t->records++;
	t->buf[t->used++] = rec;
	if (t->used == BUF_RECORDS)
		flush_buf(t);
}

static void on_tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	size_t i;

	(void)id;
	for (i = 0; i < n; i++)
		qemu_plugin_register_vcpu_mem_cb(qemu_plugin_tb_get_insn(tb, i),
						 on_mem, QEMU_PLUGIN_CB_NO_REGS,
						 QEMU_PLUGIN_MEM_RW, NULL);
}

static void dmtrace_exit(qemu_plugin_id_t id, void *udata)
{
	char msg[128];
	unsigned int v;

	(void)id;
	(void)udata;
	for (v = 0; v < MAX_VCPUS; v++) {
		if (vcpus[v]) {
			end_segment(vcpus[v], v);
			free(vcpus[v]);
			vcpus[v] = NULL;
		}
	}
	snprintf(msg, sizeof(msg), "dmtrace: last segment %d\n",
		 __atomic_load_n(&cur_seg, __ATOMIC_ACQUIRE));
	qemu_plugin_outs(msg);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
					   const qemu_info_t *info,
					   int argc, char **argv)
{
	int i;

	if (!info->system_emulation || strcmp(info->target_name, "x86_64")) {
		fprintf(stderr, "dmtrace: x86_64 system emulation only\n");
		return -1;
	}
	for (i = 0; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "dmtrace: bad argument %s\n", argv[i]);
			return -1;
		}
		*eq = '\0';
		if (!strcmp(argv[i], "out")) {
			prefix = strdup(eq + 1);
		} else if (!strcmp(argv[i], "base")) {
			dm_base = strtoull(eq + 1, NULL, 0);
		} else if (!strcmp(argv[i], "size")) {
			dm_size = strtoull(eq + 1, NULL, 0);
		} else {
			fprintf(stderr, "dmtrace: unknown option %s\n", argv[i]);
			return -1;
		}
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, on_tb_trans);
	qemu_plugin_register_atexit_cb(id, dmtrace_exit, NULL);
	return 0;
}
