/* SPDX-License-Identifier: GPL-2.0 */
/*
 * secretpool: the memfd_secret() page pool's entry points outside mm/: the
 * boot reservation (mm/secretpool_reserve.c) and its lines in meminfo
 * (mm/secretpool.c).
 */
#ifndef _LINUX_SECRETPOOL_H
#define _LINUX_SECRETPOOL_H

struct seq_file;

#ifdef CONFIG_SECRETMEM_POOL
void __init secretpool_reserve_boot(void);
void secretpool_report_meminfo(struct seq_file *m);
int secretpool_report_node_meminfo(char *buf, int len, int nid);
#else
static inline void secretpool_reserve_boot(void)
{
}

static inline void secretpool_report_meminfo(struct seq_file *m)
{
}

static inline int secretpool_report_node_meminfo(char *buf, int len, int nid)
{
	return 0;
}
#endif

#endif /* _LINUX_SECRETPOOL_H */
