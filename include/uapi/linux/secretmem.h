/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Secret memory: memfd_secret(2), and memfd_create(2) with MFD_SECRET.
 *
 * A secret memory file holds pages that the kernel removes from its own
 * mapping of all memory (the direct map), so that only the processes that
 * map the file can reach them.  Two ways make one:
 *
 *	fd = memfd_secret(0);				mode EXCLUSIVE, set
 *	fd = memfd_create("name", MFD_SECRET);		no mode yet
 *	ioctl(fd, SECRETMEM_SET_MODE, &mode);		choose one, once
 *
 * and then ftruncate(fd, size) and mmap(MAP_SHARED) as for any memfd.  A
 * file made with MFD_SECRET cannot be sized, given pages or mapped until
 * its mode is set (EBADFD); the mode is set once (EBUSY after that).
 * SECRETMEM_QUERY tells what a mode guarantees on this kernel and machine.
 * Documentation/userspace-api/secretmem.rst is the contract.
 */
#ifndef _UAPI_LINUX_SECRETMEM_H
#define _UAPI_LINUX_SECRETMEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * memfd_create() flag: a secret memory file.  Combines with MFD_CLOEXEC
 * only (EINVAL with MFD_ALLOW_SEALING, MFD_HUGETLB or anything else).  The
 * bit is clear of the flags later kernels gave memfd_create()
 * (MFD_NOEXEC_SEAL 0x8, MFD_EXEC 0x10) and of the MFD_HUGETLB size field
 * (bits 26 to 31).
 */
#define MFD_SECRET			0x0100U

/*
 * Modes.  EXCLUSIVE: the pages are out of the direct map; only the
 * processes mapping the file reach them.  UNCACHED: EXCLUSIVE, and the
 * file is mapped with an uncached memory type (x86: UC-), so the data
 * does not sit in CPU caches; it implies EXCLUSIVE, with or without that
 * bit.  A file's mode reads back as it was set.
 */
#define SECRETMEM_MODE_EXCLUSIVE	(1U << 0)
#define SECRETMEM_MODE_UNCACHED		(1U << 1)
#define SECRETMEM_MODES			(SECRETMEM_MODE_EXCLUSIVE | \
					 SECRETMEM_MODE_UNCACHED)

/*
 * What a mode guarantees, as SECRETMEM_QUERY reports it for this kernel
 * on this machine.  A bit that is clear is not promised.
 */
/* The pages are not in the kernel's direct map while the file has them. */
#define SECRETMEM_G_NO_DIRECT_MAP	(1ULL << 0)
/* User mappings have an uncached memory type; no cached alias exists. */
#define SECRETMEM_G_UNCACHED		(1ULL << 1)
/* The pages are never swapped out (or migrated). */
#define SECRETMEM_G_NO_SWAP		(1ULL << 2)
/* Mappings are left out of core dumps. */
#define SECRETMEM_G_NO_COREDUMP		(1ULL << 3)
/* No hibernation image holds the pages (hibernation is refused). */
#define SECRETMEM_G_NO_HIBERNATION	(1ULL << 4)
/*
 * Nothing takes a reference to the pages (GUP): ptrace(PTRACE_PEEKDATA),
 * process_vm_readv(), /proc/PID/mem, O_DIRECT, vmsplice() fail.  Copies
 * the kernel makes in the task's own context, through its mapping, work.
 */
#define SECRETMEM_G_NO_GUP		(1ULL << 5)
/* The pages are zeroed before anyone else can get them. */
#define SECRETMEM_G_ZEROED_ON_FREE	(1ULL << 6)
/*
 * The hardware uses the uncached type of SECRETMEM_G_UNCACHED: not given
 * under a hypervisor, which decides the memory type of guest memory.
 */
#define SECRETMEM_G_UNCACHED_HW		(1ULL << 7)

/**
 * struct secretmem_query - what a mode guarantees
 * @mode: in: a mode (SECRETMEM_MODE_*)
 * @flags: in: 0
 * @guarantees: out: SECRETMEM_G_* bits this kernel gives @mode here
 * @current_mode: out: the mode of the file queried, 0 if none is set
 * @reserved: out: 0
 */
struct secretmem_query {
	__u32 mode;
	__u32 flags;
	__u64 guarantees;
	__u32 current_mode;
	__u32 reserved;
};

/* 0xC3 in Documentation/userspace-api/ioctl/ioctl-number.rst */
#define SECRETMEM_IOCTL_BASE		0xC3

/* Set the file's mode (a __u32): EINVAL unknown, EOPNOTSUPP unavailable. */
#define SECRETMEM_SET_MODE	_IOW(SECRETMEM_IOCTL_BASE, 0x00, __u32)
/* What @mode guarantees: EINVAL unknown, EOPNOTSUPP unavailable. */
#define SECRETMEM_QUERY		_IOWR(SECRETMEM_IOCTL_BASE, 0x01, \
				      struct secretmem_query)

#endif /* _UAPI_LINUX_SECRETMEM_H */
