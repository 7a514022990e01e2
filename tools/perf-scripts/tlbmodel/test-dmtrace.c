// SPDX-License-Identifier: GPL-2.0
/*
 * test-dmtrace.c - the plugin's recording logic without QEMU: dmtrace.c is
 * included whole, the few QEMU functions it calls are stand-ins here, and
 * the memory callback is fed made-up accesses.  Run with an output prefix;
 * prints the records of each file it wrote, for test-tlbsim.py to check.
 *
 *   cc -o test-dmtrace test-dmtrace.c && ./test-dmtrace DIR/t
 */
#include "dmtrace.c"

static qemu_plugin_vcpu_mem_cb_t mem_cb;
static qemu_plugin_vcpu_tb_trans_cb_t tb_cb;
static qemu_plugin_udata_cb_t exit_cb;

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   qemu_plugin_vcpu_tb_trans_cb_t cb)
{
	(void)id;
	tb_cb = cb;
}

size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb)
{
	(void)tb;
	return 1;
}

struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx)
{
	(void)tb;
	(void)idx;
	return NULL;
}

void qemu_plugin_register_vcpu_mem_cb(struct qemu_plugin_insn *insn,
				      qemu_plugin_vcpu_mem_cb_t cb,
				      enum qemu_plugin_cb_flags flags,
				      enum qemu_plugin_mem_rw rw,
				      void *userdata)
{
	(void)insn;
	(void)flags;
	(void)rw;
	(void)userdata;
	mem_cb = cb;
}

/* Made-up meminfo: bit 0 set for a store. */
bool qemu_plugin_mem_is_store(qemu_plugin_meminfo_t info)
{
	return info & 1;
}

void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    qemu_plugin_udata_cb_t cb, void *userdata)
{
	(void)id;
	(void)userdata;
	exit_cb = cb;
}

void qemu_plugin_outs(const char *string)
{
	fputs(string, stdout);
}

#define DM	0xffff888000000000ULL

static void access(unsigned int vcpu, uint64_t addr, int store)
{
	mem_cb(vcpu, store, addr, NULL);
}

int main(int argc, char **argv)
{
	qemu_info_t info = { .target_name = "x86_64", .system_emulation = true };
	char arg[4096];
	char *args[1] = { arg };

	if (argc != 2)
		return 2;
	snprintf(arg, sizeof(arg), "out=%s", argv[1]);
	if (qemu_plugin_install(1, &info, 1, args))
		return 1;
	tb_cb(1, NULL);
	if (!mem_cb || !exit_cb)
		return 1;

	access(0, DM + 0x5000, 0);		/* before any segment: dropped */
	access(0, ON_ADDR + 3 * 8, 0);		/* segment 3 */
	access(0, ON_ADDR + 3 * 8, 0);		/* the load again after its fault */
	access(0, DM + 0x1000, 0);		/* page 1, three times: one record */
	access(0, DM + 0x1008, 1);
	access(0, DM + 0x1ff8, 0);
	access(0, DM + 0x200000, 1);		/* page 0x200 */
	access(0, 0x7f0000001000ULL, 0);	/* user space: class 1 */
	access(0, 0xffffffff81000000ULL, 0);	/* kernel image: class 2 */
	access(0, 0xffffea0000040000ULL, 0);	/* vmemmap: class 2 */
	access(0, 0xffffc90000002000ULL, 1);	/* vmalloc: class 1 */
	access(1, DM + 0x3000, 0);		/* the other vCPU, its own file */
	access(0, OFF_ADDR, 0);
	access(0, DM + 0x6000, 0);		/* after the segment: dropped */
	access(1, DM + 0x7000, 0);
	access(0, ON_ADDR, 0);			/* byte 0: the next one, 4 */
	access(0, DM + 0x9000, 0);
	exit_cb(1, NULL);			/* QEMU exits inside segment 4 */
	return 0;
}
