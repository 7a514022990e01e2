/* SPDX-License-Identifier: GPL-2.0 */
/*
 * secretpool: the memfd_secret() page pool's one entry point outside mm/
 * (see mm/secretpool.c and mm/secretpool_reserve.c).
 */
#ifndef _LINUX_SECRETPOOL_H
#define _LINUX_SECRETPOOL_H

#ifdef CONFIG_SECRETMEM_POOL
void __init secretpool_reserve_boot(void);
#else
static inline void secretpool_reserve_boot(void)
{
}
#endif

#endif /* _LINUX_SECRETPOOL_H */
