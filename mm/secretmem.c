// SPDX-License-Identifier: GPL-2.0
/*
 * memfd_secret(): memory that only the processes mapping it can reach.
 *
 * This is the secretpool project's front end for secretmem.  Its user
 * interface and guarantees are upstream's:
 *
 *  - memfd_secret(flags) takes O_CLOEXEC and nothing else (EINVAL), and
 *    fails with ENOSYS unless the kernel was booted with
 *    secretmem.enable=1 and the architecture can change its direct map;
 *  - the file is sized once with ftruncate() (growing a file that has a
 *    size fails with EINVAL) and used only through MAP_SHARED mappings
 *    (EINVAL otherwise); read(), write() and friends are refused; its
 *    mount is noexec, so PROT_EXEC mappings are refused;
 *  - every page is charged to the owner's RLIMIT_MEMLOCK when it is first
 *    faulted in (SIGBUS past the limit) and is removed from the kernel's
 *    direct map, so GUP, ptrace() and process_vm_readv() cannot reach it;
 *    MAP_POPULATE and MADV_POPULATE_* fault pages in (GUP lets those
 *    through, as they hand out no page: patches/, mm/gup.c);
 *  - pages are never swapped, migrated or dumped (VM_DONTDUMP), and
 *    hibernation is refused while any secretmem file is open.
 *
 * As upstream's, the pages sit in the file's page cache and on the
 * unevictable LRU, which also keeps them out of filtered crash dumps
 * (makedumpfile drops LRU pages with -d 2 and up).  Beyond upstream:
 *
 *  - a fault follows the memory policy of the mapping (mbind(),
 *    set_mempolicy()) and the task's cpuset, for pool pages as for the
 *    others;
 *  - a page the memory cgroup cannot take is a SIGBUS, like a page past
 *    RLIMIT_MEMLOCK: secret memory is locked memory, and the fault that
 *    asks for it fails rather than the OOM killer picking a victim;
 *  - a page with a memory error is never mapped back or zeroed when it
 *    leaves its file; it stays out of the direct map and out of use;
 *  - hibernation is also refused while the pool holds pages it cannot
 *    give back at once (mm/secretpool.c empties it otherwise);
 *  - fallocate(fd, 0, offset, len) gives the file its pages up front,
 *    charged then, failing with EAGAIN or ENOMEM instead of a SIGBUS at a
 *    later fault (upstream refuses fallocate(); other modes still get
 *    EOPNOTSUPP).
 *
 * And the interface secret memory was first proposed with
 * (Documentation/userspace-api/secretmem.rst, include/uapi/linux/
 * secretmem.h): memfd_create(name, MFD_SECRET) makes the same kind of
 * file without a mode; until ioctl(SECRETMEM_SET_MODE) gives it one,
 * once, it can be neither sized nor mapped (EBADFD).  EXCLUSIVE is what
 * memfd_secret() files are from birth; UNCACHED maps the pages with an
 * uncached memory type, which no other mapping contradicts since the
 * direct map has none, after writing their cache lines back.
 * SECRETMEM_QUERY says what a mode guarantees here.  Modes change only
 * the mapping's memory type: pages, pool, accounting and every rule above
 * are the same for both kinds of file.
 *
 * What differs is where the pages come from.  With CONFIG_SECRETMEM_POOL
 * and the pool switched on (mm/secretpool.c), pages come zeroed and already
 * unmapped from whole 2M regions, so a fault changes no page table of the
 * kernel and flushes no TLB, and nothing splits the direct map.  Otherwise,
 * and whenever the pool cannot serve, a page is taken from the page
 * allocator and removed from the direct map on its own, as upstream does.
 *
 * ->free_folio() hands pool pages back to the pool (which holds a reference
 * of its own to each of them, so they never reach the page allocator from
 * here) and maps the others back into the direct map.
 */

#include <linux/mm.h>
#include <linux/fs.h>
#include <linux/mempolicy.h>
#include <linux/swap.h>
#include <linux/mount.h>
#include <linux/memfd.h>
#include <linux/bitops.h>
#include <linux/printk.h>
#include <linux/pagemap.h>
#include <linux/syscalls.h>
#include <linux/pseudo_fs.h>
#include <linux/secretmem.h>
#include <linux/set_memory.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/cred.h>
#include <linux/slab.h>

#include <uapi/linux/magic.h>
#include <uapi/linux/memfd.h>
#include <uapi/linux/secretmem.h>

#include <asm/sections.h>
#include <asm/tlbflush.h>

#include "internal.h"
#include "secretpool.h"

#define CREATE_TRACE_POINTS
#include <trace/events/secretmem.h>

#undef pr_fmt
#define pr_fmt(fmt) "secretmem: " fmt

/* memfd_secret() has no flags of its own yet; O_CLOEXEC is the only one. */
#define SECRETMEM_FLAGS_MASK	0x0

static bool secretmem_enable __ro_after_init;
module_param_named(enable, secretmem_enable, bool, 0400);
MODULE_PARM_DESC(secretmem_enable,
		 "Enable secretmem and memfd_secret(2) system call");

/**
 * secretmem_boot_enabled() - whether memfd_secret() is on
 *
 * Known once the kernel command line has been parsed, before the page
 * allocator is up; the pool's boot reservation asks.
 *
 * Return: true if the kernel was booted with secretmem.enable=1 and the
 * architecture can change its direct map.
 */
bool __init secretmem_boot_enabled(void)
{
	return secretmem_enable && can_set_direct_map();
}

/**
 * secretmem_direct_map_level() - how the direct map maps a page
 * @page: the page
 *
 * Return: the x86 page-table level of the direct-map entry that covers
 * @page, present or not (PG_LEVEL_4K, PG_LEVEL_2M or PG_LEVEL_1G), or 0
 * where the architecture does not say.
 */
int secretmem_direct_map_level(struct page *page)
{
#ifdef CONFIG_X86
	unsigned int level;

	if (!lookup_address((unsigned long)page_address(page), &level))
		return 0;
	return level;
#else
	return 0;
#endif
}

/* Open secretmem files; hibernation is refused while there are any. */
static atomic_t secretmem_users;

/*
 * Whether a hibernation image could see a secret page: while a secretmem
 * file is open, or the pool holds pages that are not free.
 */
bool secretmem_active(void)
{
	return !!atomic_read(&secretmem_users) || secretpool_busy();
}

/**
 * struct secretmem_inode_state - per-file state
 * @user: the user whose RLIMIT_MEMLOCK the file's pages are charged to
 * @nr_pages_accounted: pages charged so far, released when the file goes
 * @mode: SECRETMEM_MODE_* bits; 0 until SECRETMEM_SET_MODE for a file made
 *	with memfd_create(MFD_SECRET).  Set once, under @lock, from 0 to its
 *	value for good: read without the lock (READ_ONCE()), a value seen is
 *	the file's for its whole life.
 * @lock: serialises setting @mode
 */
struct secretmem_inode_state {
	struct user_struct	*user;
	atomic_long_t		nr_pages_accounted;
	u32			mode;
	spinlock_t		lock;		/* serialises setting @mode */
};

static u32 secretmem_mode(struct inode *inode)
{
	struct secretmem_inode_state *state = inode->i_private;

	return READ_ONCE(state->mode);
}

/*
 * Whether this machine can map secret pages uncached: x86, where an
 * uncached (UC-) user mapping of RAM is allowed, and safe here because no
 * other mapping of the page is left to disagree on its memory type (the
 * direct map's entry is gone, and pages the kernel image's mapping still
 * covers are never used: secretmem_page_aliased()); and where the pool can
 * flush a page out of the caches through an uncached window of its own
 * (secretpool_flush_page()) before the user maps it and after.
 */
static bool secretmem_uncached_supported(void)
{
	return secretpool_can_flush();	/* false but on x86 */
}

/*
 * Whether the memory type of an uncached mapping is the one the hardware
 * uses.  Under a hypervisor the host decides (KVM on Intel ignores the
 * guest's type for ordinary memory), so the kernel cannot promise it.
 */
static bool secretmem_uncached_effective(void)
{
#ifdef CONFIG_X86
	return !boot_cpu_has(X86_FEATURE_HYPERVISOR);
#else
	return false;
#endif
}

/*
 * Check a mode asked for by user space: EINVAL for unknown bits or none,
 * EOPNOTSUPP for a mode this machine cannot give.  UNCACHED implies
 * EXCLUSIVE whether or not that bit is given too.
 */
static int secretmem_check_mode(u32 mode)
{
	if (!mode || (mode & ~SECRETMEM_MODES))
		return -EINVAL;
	if ((mode & SECRETMEM_MODE_UNCACHED) && !secretmem_uncached_supported())
		return -EOPNOTSUPP;
	return 0;
}

/**
 * secretmem_page_aliased() - whether the kernel maps pages twice
 * @page: the first page
 * @nr: how many
 *
 * On x86-64 the kernel image has a mapping of its own besides the direct
 * map; image pages freed after boot (init memory, the gaps between
 * sections) may stay mapped there, cached and writable, and
 * set_direct_map_*() leaves that alias alone.  Secret pages never come
 * from that range.
 *
 * Return: true if one of the pages lies in the kernel image.
 */
bool secretmem_page_aliased(struct page *page, unsigned long nr)
{
#ifdef CONFIG_X86_64
	unsigned long pfn = page_to_pfn(page);

	return pfn < PFN_UP(__pa_symbol(_end)) &&
	       pfn + nr > PFN_DOWN(__pa_symbol(_text));
#else
	return false;
#endif
}

/* Charge @nr_pages to @user's locked memory, within RLIMIT_MEMLOCK. */
static bool secretmem_charge(struct user_struct *user, unsigned long nr_pages)
{
	unsigned long limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	unsigned long old = atomic_long_read(&user->locked_vm);

	do {
		if (old + nr_pages > limit)
			return false;
	} while (!atomic_long_try_cmpxchg(&user->locked_vm, &old,
					  old + nr_pages));
	return true;
}

static bool secretmem_account_page(struct secretmem_inode_state *state)
{
	if (!secretmem_charge(state->user, 1))
		return false;
	atomic_long_inc(&state->nr_pages_accounted);
	return true;
}

static void secretmem_unaccount_pages(struct secretmem_inode_state *state,
				      unsigned long nr_pages)
{
	atomic_long_sub(nr_pages, &state->user->locked_vm);
	atomic_long_sub(nr_pages, &state->nr_pages_accounted);
}

/*
 * A zeroed folio from the page allocator for the per-page path, one that
 * the kernel image's mapping does not cover (secretmem_page_aliased()):
 * such pages are held while the next is taken, then freed.  Every one of
 * them is held: freed early, the allocator hands the same ones back.  They
 * are few (init memory and section gaps), so the loop ends.
 */
static struct folio *secretmem_alloc_folio(struct vm_area_struct *vma,
					   unsigned long addr, gfp_t gfp,
					   int nid, nodemask_t *nodemask)
{
	struct folio *folio, *f, *tmp;
	LIST_HEAD(held);

	for (;;) {
		if (vma)
			folio = vma_alloc_folio(gfp | __GFP_ZERO, 0, vma, addr,
						false);
		else
			folio = __folio_alloc(gfp | __GFP_ZERO, 0,
					      nid == NUMA_NO_NODE ?
					      numa_node_id() : nid, nodemask);
		if (!folio || !secretmem_page_aliased(&folio->page, 1))
			break;
		/* A new folio: its lru belongs to nobody yet. */
		list_add(&folio->lru, &held);
	}
	list_for_each_entry_safe(f, tmp, &held, lru) {
		list_del(&f->lru);
		folio_put(f);
	}
	return folio;
}

/*
 * A zeroed page that is not in the direct map, on a node the memory policy
 * of the mapping @vma at @addr (of the task, for a NULL @vma) and the
 * task's cpuset allow: from the pool if it can, otherwise allocated and
 * unmapped on its own (upstream's way, which splits the direct map around
 * it and flushes every CPU's TLB).
 */
static struct page *secretmem_alloc_page(struct vm_area_struct *vma,
					 unsigned long addr, gfp_t gfp,
					 bool uncached, bool *from_pool)
{
	struct mempolicy *mpol;
	nodemask_t *nodemask;
	struct folio *folio;
	struct page *page;
	int level = 0;
	int nid;

	/* NUMA_NO_NODE: the policy names no node (see secretpool_alloc_page()). */
	nid = vma_policy_node(vma, addr, gfp, &mpol, &nodemask);
	page = secretpool_alloc_page(nid, nodemask, gfp);
	if (page) {
		mpol_cond_put(mpol);
		*from_pool = true;
		goto out;
	}

	*from_pool = false;
	/*
	 * A mapping's policy is looked up again (its interleave node comes
	 * from the address); the task's is not, so that an interleave
	 * policy moves on once per page.
	 */
	folio = secretmem_alloc_folio(vma, addr, gfp, nid, nodemask);
	mpol_cond_put(mpol);
	if (!folio)
		return NULL;
	page = &folio->page;
	if (trace_secretmem_page_unmap_enabled())
		level = secretmem_direct_map_level(page);
	if (set_direct_map_invalid_noflush(page)) {
		folio_put(folio);
		return NULL;
	}
	addr = (unsigned long)page_address(page);
	flush_tlb_kernel_range(addr, addr + PAGE_SIZE);
	if (trace_secretmem_page_unmap_enabled())
		trace_secretmem_page_unmap(page_to_pfn(page), page_to_nid(page),
					   level,
					   secretmem_direct_map_level(page));
out:
	/*
	 * An uncached mapping reads memory, not the caches, where the zeroes
	 * may still be: write them back now that no mapping is left.  The
	 * page is marked, so that it is cleared the same way when it goes.
	 */
	if (uncached) {
		secretpool_flush_page(page, false);
		SetPageChecked(page);
	}
	return page;
}

/*
 * Clear a page that is not in the direct map and map it back, for the page
 * allocator.  It is cleared first, through the pool's window where there
 * is one, so that its old contents are never mapped anywhere.  A page with
 * a memory error is neither touched nor mapped: it stays out for good.
 */
static void secretmem_restore_page(struct page *page)
{
	if (PageHWPoison(page))
		return;
	if (secretpool_clear_page(page)) {
		set_direct_map_default_noflush(page);
		return;
	}
	set_direct_map_default_noflush(page);
	clear_highpage(page);
}

/* Free a page from secretmem_alloc_page() that was never in a file. */
static void secretmem_free_page(struct page *page, bool from_pool)
{
	/* Never exposed: flushed, still zero, in memory as in the caches. */
	ClearPageChecked(page);
	if (from_pool && secretpool_free_page(page))
		return;
	/* Back into the direct map before the buddy allocator may reuse it. */
	secretmem_restore_page(page);
	put_page(page);
}

/*
 * Put @page, new from secretmem_alloc_page(), at @offset of @mapping: in
 * the page cache, charged to the memory cgroup, and on the unevictable
 * LRU, locked.  On error the page has been given back: -EEXIST if another
 * task put a page there first, -ENOMEM if the page cache or the memory
 * cgroup could not take it.
 */
static int secretmem_insert_page(struct address_space *mapping,
				 struct page *page, bool from_pool,
				 pgoff_t offset, gfp_t gfp)
{
	struct folio *folio = page_folio(page);
	int err;

	/*
	 * Atomic flag updates: a memory error may mark the page at any time
	 * (a pool page is not new to the system the way a page fresh from
	 * the page allocator is).
	 */
	folio_mark_uptodate(folio);
	if (WARN_ON_ONCE(!folio_trylock(folio))) {
		secretmem_free_page(page, from_pool);
		return -EBUSY;
	}
	/*
	 * The memory cgroup gets no say in who else should go: past its
	 * limit the charge fails (__GFP_RETRY_MAYFAIL) and so does the fault.
	 */
	err = __filemap_add_folio(mapping, folio, offset,
				  gfp | __GFP_RETRY_MAYFAIL, NULL);
	if (unlikely(err)) {
		folio_unlock(folio);
		/*
		 * This page was never mapped, so it goes straight back where
		 * it came from.
		 */
		secretmem_free_page(page, from_pool);
		return err;
	}
	/*
	 * On the unevictable LRU before anyone can write a secret into it,
	 * not only once this CPU's LRU batch fills up: dump filters skip LRU
	 * pages.
	 */
	migrate_disable();
	folio_add_lru(folio);
	lru_add_drain();
	migrate_enable();
	return 0;
}

static vm_fault_t secretmem_fault(struct vm_fault *vmf)
{
	struct address_space *mapping = vmf->vma->vm_file->f_mapping;
	struct inode *inode = file_inode(vmf->vma->vm_file);
	struct secretmem_inode_state *state = inode->i_private;
	pgoff_t offset = vmf->pgoff;
	gfp_t gfp = vmf->gfp_mask;
	struct page *page;
	bool from_pool;
	vm_fault_t ret;
	int err;

	if (((loff_t)vmf->pgoff << PAGE_SHIFT) >= i_size_read(inode))
		return vmf_error(-EINVAL);

	/* Keeps ftruncate() and hole punching out while the page goes in. */
	filemap_invalidate_lock_shared(mapping);

retry:
	/* A page reserved with fallocate() is found here: no failure. */
	page = find_lock_page(mapping, offset);
	if (page)
		goto found;

	if (!secretmem_account_page(state)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}

	page = secretmem_alloc_page(vmf->vma, vmf->address, gfp,
				    secretmem_mode(inode) & SECRETMEM_MODE_UNCACHED,
				    &from_pool);
	if (!page) {
		secretmem_unaccount_pages(state, 1);
		ret = VM_FAULT_OOM;
		goto out;
	}

	err = secretmem_insert_page(mapping, page, from_pool, offset, gfp);
	if (unlikely(err)) {
		secretmem_unaccount_pages(state, 1);
		if (err == -EEXIST)
			goto retry;
		ret = err == -ENOMEM ? VM_FAULT_SIGBUS : vmf_error(err);
		goto out;
	}

found:
	vmf->page = page;
	ret = VM_FAULT_LOCKED;
out:
	filemap_invalidate_unlock_shared(mapping);
	return ret;
}

static const struct vm_operations_struct secretmem_vm_ops = {
	.fault = secretmem_fault,
};

static void secretmem_destroy_inode_priv(struct inode *inode)
{
	struct secretmem_inode_state *state = inode->i_private;

	secretmem_unaccount_pages(state,
				  atomic_long_read(&state->nr_pages_accounted));
	free_uid(state->user);
	kfree(state);
	inode->i_private = NULL;
}

static int secretmem_release(struct inode *inode, struct file *file)
{
	atomic_dec(&secretmem_users);
	secretmem_destroy_inode_priv(inode);
	return 0;
}

static int secretmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	u32 mode = secretmem_mode(file_inode(file));

	if (!mode)
		return -EBADFD;
	if (!(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;

	vma->vm_flags |= VM_DONTDUMP;
	vma->vm_ops = &secretmem_vm_ops;
	/*
	 * mprotect() and the mmap code keep the memory-type bits when they
	 * recompute the protection from the flags (pgprot_modify()).
	 */
	if (mode & SECRETMEM_MODE_UNCACHED)
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	return 0;
}

/* SECRETMEM_SET_MODE: once, before the file is sized or mapped. */
static long secretmem_set_mode(struct inode *inode, u32 __user *arg)
{
	struct secretmem_inode_state *state = inode->i_private;
	u32 mode;
	int err;

	if (get_user(mode, arg))
		return -EFAULT;
	err = secretmem_check_mode(mode);
	if (err)
		return err;

	spin_lock(&state->lock);
	if (state->mode) {
		spin_unlock(&state->lock);
		return -EBUSY;
	}
	WRITE_ONCE(state->mode, mode);
	spin_unlock(&state->lock);
	return 0;
}

/* What every mode guarantees, on every machine that has secretmem. */
#define SECRETMEM_G_ALWAYS	(SECRETMEM_G_NO_DIRECT_MAP |		\
				 SECRETMEM_G_NO_SWAP |			\
				 SECRETMEM_G_NO_COREDUMP |		\
				 SECRETMEM_G_NO_HIBERNATION |		\
				 SECRETMEM_G_NO_GUP |			\
				 SECRETMEM_G_ZEROED_ON_FREE)

/* SECRETMEM_QUERY: what a mode guarantees here, and the file's mode. */
static long secretmem_query(struct inode *inode,
			    struct secretmem_query __user *arg)
{
	struct secretmem_query q;
	int err;

	if (copy_from_user(&q, arg, sizeof(q)))
		return -EFAULT;
	if (q.flags)
		return -EINVAL;
	err = secretmem_check_mode(q.mode);
	if (err)
		return err;

	q.guarantees = SECRETMEM_G_ALWAYS;
	if (q.mode & SECRETMEM_MODE_UNCACHED) {
		q.guarantees |= SECRETMEM_G_UNCACHED;
		if (secretmem_uncached_effective())
			q.guarantees |= SECRETMEM_G_UNCACHED_HW;
	}
	q.current_mode = secretmem_mode(inode);
	q.reserved = 0;
	return copy_to_user(arg, &q, sizeof(q)) ? -EFAULT : 0;
}

static long secretmem_ioctl(struct file *file, unsigned int cmd,
			    unsigned long arg)
{
	struct inode *inode = file_inode(file);

	switch (cmd) {
	case SECRETMEM_SET_MODE:
		return secretmem_set_mode(inode, (u32 __user *)arg);
	case SECRETMEM_QUERY:
		return secretmem_query(inode,
				       (struct secretmem_query __user *)arg);
	default:
		return -ENOTTY;
	}
}

bool vma_is_secretmem(struct vm_area_struct *vma)
{
	return vma->vm_ops == &secretmem_vm_ops;
}

/*
 * fallocate(fd, 0, offset, len): give the file its pages in that range now,
 * so that faults there find them and cannot fail later.  Each page is
 * charged as a fault would charge it (RLIMIT_MEMLOCK, the memory cgroup)
 * and placed by the task's memory policy.  The range must lie within the
 * size set by ftruncate() (EINVAL otherwise: the size is set once).  Fails
 * with EAGAIN past RLIMIT_MEMLOCK and ENOMEM without memory, EINTR on a
 * fatal signal; pages given before the failure stay in the file.  Other
 * modes: EOPNOTSUPP, as before.
 */
static long secretmem_fallocate(struct file *file, int mode, loff_t offset,
				loff_t len)
{
	struct address_space *mapping = file->f_mapping;
	struct inode *inode = file_inode(file);
	struct secretmem_inode_state *state = inode->i_private;
	gfp_t gfp = mapping_gfp_mask(mapping);
	pgoff_t index, last;
	struct page *page;
	bool from_pool;
	int err = 0;

	if (mode)
		return -EOPNOTSUPP;
	if (!secretmem_mode(inode))
		return -EBADFD;

	filemap_invalidate_lock_shared(mapping);
	if (offset + len > i_size_read(inode)) {
		err = -EINVAL;
		goto out;
	}
	last = (offset + len - 1) >> PAGE_SHIFT;
	for (index = offset >> PAGE_SHIFT; index <= last; index++) {
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		page = find_get_page(mapping, index);
		if (page) {
			put_page(page);
			continue;
		}
		if (!secretmem_account_page(state)) {
			err = -EAGAIN;
			break;
		}
		page = secretmem_alloc_page(NULL, 0, gfp,
					    secretmem_mode(inode) &
					    SECRETMEM_MODE_UNCACHED,
					    &from_pool);
		if (!page) {
			secretmem_unaccount_pages(state, 1);
			err = -ENOMEM;
			break;
		}
		err = secretmem_insert_page(mapping, page, from_pool, index,
					    gfp);
		if (err) {
			secretmem_unaccount_pages(state, 1);
			/* A fault put a page there meanwhile: as good. */
			if (err == -EEXIST) {
				err = 0;
				continue;
			}
			break;
		}
		/* The page cache holds it now; this was the allocation's. */
		unlock_page(page);
		put_page(page);
		cond_resched();
	}
out:
	filemap_invalidate_unlock_shared(mapping);
	return err;
}

/* No .read_iter, .write_iter or .splice_*: file I/O is refused. */
static const struct file_operations secretmem_fops = {
	.release	= secretmem_release,
	.mmap		= secretmem_mmap,
	.fallocate	= secretmem_fallocate,
	.unlocked_ioctl	= secretmem_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static int secretmem_migrate_folio(struct address_space *mapping,
				   struct folio *dst, struct folio *src,
				   enum migrate_mode mode)
{
	return -EBUSY;
}

/*
 * The folio has left the page cache and no process maps it.  A pool page
 * goes back to the pool, which zeroes it once nobody holds it any more; any
 * other page is zeroed and mapped back into the direct map here, before the
 * page allocator can hand it to anyone else.
 */
static void secretmem_free_folio(struct folio *folio)
{
	/*
	 * A page of an uncached file holds its data in memory itself:
	 * zeroing it through a cached mapping, as below, would leave the
	 * zeroes in a cache and the data in memory until the line is
	 * evicted.  Zero it in memory first.
	 */
	if (folio_test_checked(folio)) {
		folio_clear_checked(folio);
		if (!folio_test_hwpoison(folio))
			secretpool_flush_page(&folio->page, true);
	}
	if (secretpool_release_folio(folio))
		return;
	secretmem_restore_page(&folio->page);
}

const struct address_space_operations secretmem_aops = {
	.dirty_folio	= noop_dirty_folio,
	.free_folio	= secretmem_free_folio,
	.migrate_folio	= secretmem_migrate_folio,
};

static int secretmem_setattr(struct user_namespace *mnt_userns,
			     struct dentry *dentry, struct iattr *iattr)
{
	struct inode *inode = d_inode(dentry);
	struct address_space *mapping = inode->i_mapping;
	int ret;

	filemap_invalidate_lock(mapping);
	/* The size is set once; a secretmem file never grows or shrinks. */
	if ((iattr->ia_valid & ATTR_SIZE) && !secretmem_mode(inode))
		ret = -EBADFD;
	else if ((iattr->ia_valid & ATTR_SIZE) && inode->i_size)
		ret = -EINVAL;
	else
		ret = simple_setattr(mnt_userns, dentry, iattr);
	filemap_invalidate_unlock(mapping);

	return ret;
}

static const struct inode_operations secretmem_iops = {
	.setattr = secretmem_setattr,
};

static struct vfsmount *secretmem_mnt;

static int secretmem_init_inode_priv(struct inode *inode, u32 mode)
{
	struct secretmem_inode_state *state;

	state = kzalloc(sizeof(*state), GFP_KERNEL);
	if (!state)
		return -ENOMEM;

	spin_lock_init(&state->lock);
	state->mode = mode;
	state->user = get_uid(current_user());
	inode->i_private = state;
	return 0;
}

static struct file *secretmem_file_create(const char *name, u32 mode)
{
	struct inode *inode;
	struct file *file;
	int err;

	inode = anon_inode_make_secure_inode(secretmem_mnt->mnt_sb,
					     "[secretmem]", NULL);
	if (IS_ERR(inode))
		return ERR_CAST(inode);

	err = secretmem_init_inode_priv(inode, mode);
	if (err)
		goto err_free_inode;

	file = alloc_file_pseudo(inode, secretmem_mnt, name, O_RDWR,
				 &secretmem_fops);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_free_priv;
	}

	mapping_set_gfp_mask(inode->i_mapping, GFP_HIGHUSER);
	mapping_set_unevictable(inode->i_mapping);

	inode->i_op = &secretmem_iops;
	inode->i_mapping->a_ops = &secretmem_aops;

	/* A regular file of size zero until ftruncate() sets its size. */
	inode->i_mode |= S_IFREG;
	inode->i_size = 0;

	return file;

err_free_priv:
	secretmem_destroy_inode_priv(inode);
err_free_inode:
	iput(inode);
	return ERR_PTR(err);
}

/* A new secretmem file of mode @mode (0: none yet) and its descriptor. */
static int secretmem_new_fd(const char *name, u32 mode, bool cloexec)
{
	struct file *file;
	int fd;

	if (atomic_read(&secretmem_users) < 0)
		return -ENFILE;

	fd = get_unused_fd_flags(cloexec ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;

	file = secretmem_file_create(name, mode);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}

	file->f_flags |= O_LARGEFILE;

	atomic_inc(&secretmem_users);
	fd_install(fd, file);
	return fd;
}

SYSCALL_DEFINE1(memfd_secret, unsigned int, flags)
{
	/* Flags of our own must never collide with the fcntl.h ones. */
	BUILD_BUG_ON(SECRETMEM_FLAGS_MASK & O_CLOEXEC);

	if (!secretmem_enable || !can_set_direct_map())
		return -ENOSYS;

	if (flags & ~(SECRETMEM_FLAGS_MASK | O_CLOEXEC))
		return -EINVAL;

	return secretmem_new_fd("secretmem", SECRETMEM_MODE_EXCLUSIVE,
				flags & O_CLOEXEC);
}

/**
 * memfd_secret_create() - memfd_create(@name, MFD_SECRET | @flags)
 * @name: the file's name, "memfd:" and what user space gave
 * @flags: the memfd_create() flags; MFD_CLOEXEC is the only other one
 *
 * A secretmem file as memfd_secret() makes, but without a mode: it can be
 * neither sized nor mapped until SECRETMEM_SET_MODE gives it one.
 *
 * Return: a new file descriptor, or EINVAL for other flags, EOPNOTSUPP
 * when secretmem is off (see memfd_secret()), ENFILE, EMFILE, ENOMEM.
 */
int memfd_secret_create(const char *name, unsigned int flags)
{
	if (flags & ~(MFD_SECRET | MFD_CLOEXEC))
		return -EINVAL;
	if (!secretmem_enable || !can_set_direct_map())
		return -EOPNOTSUPP;

	return secretmem_new_fd(name, 0, flags & MFD_CLOEXEC);
}

static int secretmem_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, SECRETMEM_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type secretmem_fs = {
	.name		= "secretmem",
	.init_fs_context = secretmem_init_fs_context,
	.kill_sb	= kill_anon_super,
};

static int __init secretmem_init(void)
{
	if (!secretmem_enable || !can_set_direct_map())
		return 0;

	secretmem_mnt = kern_mount(&secretmem_fs);
	if (IS_ERR(secretmem_mnt)) {
		/* No pool either: memory set aside for it is let go. */
		secretpool_give_up();
		return PTR_ERR(secretmem_mnt);
	}

	/* No secretmem mapping may ever be executable. */
	secretmem_mnt->mnt_flags |= MNT_NOEXEC;

	/* Without the pool, memfd_secret() still works, page by page. */
	secretpool_init();
	return 0;
}
fs_initcall(secretmem_init);
