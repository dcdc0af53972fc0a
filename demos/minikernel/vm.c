/*
 * vm.c — physical frames, page tables, program images and page faults.
 *
 * Every process has its own page directory.  Its first two entries point
 * at the kernel's two page tables, which identity-map 0-8 MiB for the
 * kernel only (U/S = 0), so the kernel is present in every address space
 * and a system call needs no CR3 switch.  Everything from 0x40000000 up
 * is the process's own and starts out EMPTY: no page of a new process is
 * mapped.  Each first touch is a page fault that vm_fault() serves:
 *
 *   program text  -> the program's shared, read-only frame (page cache)
 *   program data  -> the shared frame, read-only and marked copy-on-
 *                    write; the first write copies it into a private
 *                    frame (so two processes running one program share
 *                    its data until one of them writes)
 *   bss, heap     -> a fresh zeroed frame ("demand-zero")
 *   stack         -> a fresh zeroed frame, anywhere in the 64 KiB below
 *                    USTACK_TOP
 *   anything else -> the process is killed (a segmentation fault)
 *
 * The counts of these faults depend only on what each program touches,
 * never on timing, so the kernel can print them in its final summary.
 */
#include "arch.h"
#include "kernel.h"

/* ---- ELF32 (System V ABI, Intel386 supplement) ---------------------- */
struct elf_header {
    uint8_t  ident[16];
    uint16_t type, machine;
    uint32_t version, entry, phoff, shoff, flags;
    uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf_phdr {
    uint32_t type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define PT_LOAD  1
#define PF_W     2
#define EM_386   3

extern char _end[];                 /* end of the kernel image (link.ld) */

static pte_t kernel_pgdir[1024] __attribute__((aligned(4096)));
static pte_t kernel_pt[2][1024] __attribute__((aligned(4096)));
uint32_t kernel_pgdir_pa;

/* ---- Frames: a stack of free physical pages ------------------------- */
static uint32_t free_frames[NFRAMES];
static unsigned nfree;

void vm_init(void)
{
    if ((uint32_t)_end > FRAME_POOL_START)
        panic("kernel image ends at 0x%08x, inside the frame pool", (uint32_t)_end);

    /* Push in descending order so that allocation starts at the bottom. */
    for (uint32_t pa = FRAME_POOL_END; pa > FRAME_POOL_START; pa -= PAGE_SIZE)
        free_frames[nfree++] = pa - PAGE_SIZE;

    /* Identity-map 0-8 MiB for the kernel, except page 0. */
    for (uint32_t va = PAGE_SIZE; va < KERNEL_MAP_END; va += PAGE_SIZE)
        arch_set_pte(&kernel_pt[va >> 22][PTX(va)], va | PTE_P | PTE_W);
    for (int i = 0; i < 2; i++)
        arch_set_pte(&kernel_pgdir[i], (uint32_t)kernel_pt[i] | PTE_P | PTE_W);
    kernel_pgdir_pa = (uint32_t)kernel_pgdir;
    arch_enable_paging(kernel_pgdir_pa);
}

uint32_t frame_alloc(void)
{
    if (nfree == 0)
        panic("out of physical memory");
    uint32_t pa = free_frames[--nfree];
    memset((void *)pa, 0, PAGE_SIZE);   /* frames are identity-mapped */
    return pa;
}

void frame_free(uint32_t pa)
{
    if (pa < FRAME_POOL_START || pa >= FRAME_POOL_END || (pa & (PAGE_SIZE - 1)))
        panic("frame_free: bad frame 0x%08x", pa);
    free_frames[nfree++] = pa;
}

unsigned frames_free(void)
{
    return nfree;
}

/* ---- Programs ------------------------------------------------------- */

/* Copy a program's loadable segments into frames once, at boot.  These
 * "master" frames play the part of a file's page cache: processes map
 * them, and never free them. */
int program_load(struct program *prog, const char *name,
                 const uint8_t *elf, size_t size)
{
    const struct elf_header *eh = (const void *)elf;
    memset(prog, 0, sizeof *prog);
    prog->name = name;
    if (size < sizeof *eh || eh->ident[0] != 0x7F || eh->ident[1] != 'E' ||
        eh->ident[2] != 'L' || eh->ident[3] != 'F' || eh->machine != EM_386)
        return -1;
    prog->entry = eh->entry;
    for (int i = 0; i < eh->phnum; i++) {
        const struct elf_phdr *ph =
            (const void *)(elf + eh->phoff + i * eh->phentsize);
        if (ph->type != PT_LOAD || ph->memsz == 0)
            continue;
        if (prog->nsegs == 2 || (ph->vaddr & (PAGE_SIZE - 1)) ||
            ph->vaddr < USER_BASE || ph->vaddr + ph->memsz > USER_HEAP_END ||
            ph->offset + ph->filesz > size || ph->filesz > ph->memsz)
            return -1;
        struct segment *s = &prog->seg[prog->nsegs++];
        s->vaddr = ph->vaddr;
        s->filesz = ph->filesz;
        s->memsz = ph->memsz;
        s->writable = (ph->flags & PF_W) != 0;
        s->npages = PAGE_UP(ph->filesz) / PAGE_SIZE;
        if (s->npages > sizeof s->master / sizeof s->master[0])
            return -1;
        for (uint32_t p = 0; p < s->npages; p++) {
            uint32_t off = p * PAGE_SIZE;
            uint32_t n = ph->filesz - off < PAGE_SIZE ? ph->filesz - off : PAGE_SIZE;
            s->master[p] = frame_alloc();       /* zeroed: the tail is bss */
            memcpy((void *)s->master[p], elf + ph->offset + off, n);
        }
        if (ph->vaddr + ph->memsz > prog->image_end)
            prog->image_end = ph->vaddr + ph->memsz;
    }
    return prog->nsegs ? 0 : -1;
}

/* ---- Page tables ---------------------------------------------------- */

uint32_t vm_new_address_space(void)
{
    uint32_t pa = frame_alloc();
    pte_t *pd = (pte_t *)pa;
    for (int i = 0; i < 2; i++)
        arch_set_pte(&pd[i], kernel_pgdir[i]);
    return pa;
}

/* The PTE for va, or NULL; with create, allocate the page table. */
static pte_t *walk(uint32_t pgdir_pa, uint32_t va, int create)
{
    pte_t *pde = &((pte_t *)pgdir_pa)[PDX(va)];
    if (!(*pde & PTE_P)) {
        if (!create)
            return NULL;
        /* The directory entry allows user and write; each PTE decides. */
        arch_set_pte(pde, frame_alloc() | PTE_P | PTE_W | PTE_U);
    }
    return &((pte_t *)PTE_ADDR(*pde))[PTX(va)];
}

static void map(struct proc *p, uint32_t va, pte_t entry)
{
    arch_set_pte(walk(p->pgdir, va, 1), entry);
    arch_flush_tlb_page(va);
}

void vm_free_address_space(uint32_t pgdir_pa)
{
    pte_t *pd = (pte_t *)pgdir_pa;
    for (int i = PDX(USER_BASE); i < 1024; i++) {
        if (!(pd[i] & PTE_P))
            continue;
        pte_t *pt = (pte_t *)PTE_ADDR(pd[i]);
        for (int j = 0; j < 1024; j++)
            if ((pt[j] & PTE_P) && !(pt[j] & (PTE_COW | PTE_SHARED)))
                frame_free(PTE_ADDR(pt[j]));
        frame_free((uint32_t)pt);
    }
    frame_free(pgdir_pa);
}

/* A private copy of a shared frame, mapped writable. */
static void copy_on_write(struct proc *p, uint32_t va, uint32_t shared)
{
    uint32_t copy = frame_alloc();
    memcpy((void *)copy, (const void *)shared, PAGE_SIZE);
    map(p, va, copy | PTE_P | PTE_W | PTE_U);
    p->cow_copies++;
}

/*
 * vm_fault — serve a page fault of process p at va.  err is the #PF error
 * code (SDM Vol. 3A 4.7): P = 0 for a missing page, 1 for a protection
 * violation; W = 1 for a write.  Returns 0 if the access can be retried,
 * -1 if it was illegal.
 */
int vm_fault(struct proc *p, uint32_t va, uint32_t err)
{
    uint32_t page = PAGE_DOWN(va);
    int write = (err & PF_WRITE) != 0;

    if (err & PF_PRESENT) {
        /* Present but not allowed: only a write to a COW page is legal. */
        pte_t *pte = walk(p->pgdir, page, 0);
        if (write && pte && (*pte & PTE_COW)) {
            copy_on_write(p, page, PTE_ADDR(*pte));
            return 0;
        }
        return -1;
    }

    /* Not present: which region is it in? */
    for (int i = 0; i < p->prog->nsegs; i++) {
        const struct segment *s = &p->prog->seg[i];
        if (page < s->vaddr || page >= PAGE_UP(s->vaddr + s->memsz))
            continue;
        uint32_t n = (page - s->vaddr) / PAGE_SIZE;
        p->demand_faults++;
        if (n >= s->npages)                             /* bss */
            map(p, page, frame_alloc() | PTE_P | PTE_W | PTE_U);
        else if (!s->writable)                          /* text */
            map(p, page, s->master[n] | PTE_P | PTE_U | PTE_SHARED);
        else if (write)                                 /* data, written */
            copy_on_write(p, page, s->master[n]);
        else                                            /* data, read */
            map(p, page, s->master[n] | PTE_P | PTE_U | PTE_COW);
        return 0;
    }
    if ((page >= p->heap_start && page < PAGE_UP(p->brk)) ||
        (page >= USTACK_TOP - USTACK_MAX && page < USTACK_TOP)) {
        p->demand_faults++;
        map(p, page, frame_alloc() | PTE_P | PTE_W | PTE_U);
        return 0;
    }
    return -1;
}

/* copyin — copy len bytes from user address src of p.  Pages not yet
 * touched are faulted in exactly as if the process had read them; any
 * address the process may not read fails with -1. */
int copyin(struct proc *p, void *dst, uint32_t src, size_t len)
{
    if (src + len < src)
        return -1;
    while (len > 0) {
        uint32_t page = PAGE_DOWN(src);
        pte_t *pte = walk(p->pgdir, page, 0);
        if (!pte || !(*pte & PTE_P)) {
            if (vm_fault(p, src, PF_USER) < 0)
                return -1;
            pte = walk(p->pgdir, page, 0);
        }
        if (!(*pte & PTE_U))
            return -1;
        uint32_t off = src - page;
        uint32_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
        memcpy(dst, (const void *)(PTE_ADDR(*pte) + off), n);
        dst = (uint8_t *)dst + n;
        src += n;
        len -= n;
    }
    return 0;
}
