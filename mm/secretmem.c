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
 */
struct secretmem_inode_state {
	struct user_struct	*user;
	atomic_long_t		nr_pages_accounted;
};

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
 * A zeroed page that is not in the direct map, on a node the memory policy
 * of the mapping @vma at @addr (of the task, for a NULL @vma) and the
 * task's cpuset allow: from the pool if it can, otherwise allocated and
 * unmapped on its own (upstream's way, which splits the direct map around
 * it and flushes every CPU's TLB).
 */
static struct page *secretmem_alloc_page(struct vm_area_struct *vma,
					 unsigned long addr, gfp_t gfp,
					 bool *from_pool)
{
	struct mempolicy *mpol;
	nodemask_t *nodemask;
	struct folio *folio;
	struct page *page;
	int level = 0;
	int nid;

	nid = vma_policy_node(vma, addr, gfp, &mpol, &nodemask);
	page = secretpool_alloc_page(nid, nodemask, gfp);
	if (page) {
		mpol_cond_put(mpol);
		*from_pool = true;
		return page;
	}

	*from_pool = false;
	/*
	 * A mapping's policy is looked up again (its interleave node comes
	 * from the address); the task's is not, so that an interleave
	 * policy moves on once per page.
	 */
	if (vma)
		folio = vma_alloc_folio(gfp | __GFP_ZERO, 0, vma, addr, false);
	else
		folio = __folio_alloc(gfp | __GFP_ZERO, 0, nid, nodemask);
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

	page = secretmem_alloc_page(vmf->vma, vmf->address, gfp, &from_pool);
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
	if (!(vma->vm_flags & (VM_SHARED | VM_MAYSHARE)))
		return -EINVAL;

	vma->vm_flags |= VM_DONTDUMP;
	vma->vm_ops = &secretmem_vm_ops;
	return 0;
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
		page = secretmem_alloc_page(NULL, 0, gfp, &from_pool);
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
	if ((iattr->ia_valid & ATTR_SIZE) && inode->i_size)
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

static int secretmem_init_inode_priv(struct inode *inode)
{
	struct secretmem_inode_state *state;

	state = kzalloc(sizeof(*state), GFP_KERNEL);
	if (!state)
		return -ENOMEM;

	state->user = get_uid(current_user());
	inode->i_private = state;
	return 0;
}

static struct file *secretmem_file_create(unsigned long flags)
{
	struct inode *inode;
	struct file *file;
	int err;

	inode = anon_inode_make_secure_inode(secretmem_mnt->mnt_sb,
					     "[secretmem]", NULL);
	if (IS_ERR(inode))
		return ERR_CAST(inode);

	err = secretmem_init_inode_priv(inode);
	if (err)
		goto err_free_inode;

	file = alloc_file_pseudo(inode, secretmem_mnt, "secretmem",
				 O_RDWR, &secretmem_fops);
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

SYSCALL_DEFINE1(memfd_secret, unsigned int, flags)
{
	struct file *file;
	int fd, err;

	/* Flags of our own must never collide with the fcntl.h ones. */
	BUILD_BUG_ON(SECRETMEM_FLAGS_MASK & O_CLOEXEC);

	if (!secretmem_enable || !can_set_direct_map())
		return -ENOSYS;

	if (flags & ~(SECRETMEM_FLAGS_MASK | O_CLOEXEC))
		return -EINVAL;
	if (atomic_read(&secretmem_users) < 0)
		return -ENFILE;

	fd = get_unused_fd_flags(flags & O_CLOEXEC);
	if (fd < 0)
		return fd;

	file = secretmem_file_create(flags);
	if (IS_ERR(file)) {
		err = PTR_ERR(file);
		goto err_put_fd;
	}

	file->f_flags |= O_LARGEFILE;

	atomic_inc(&secretmem_users);
	fd_install(fd, file);
	return fd;

err_put_fd:
	put_unused_fd(fd);
	return err;
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
