/* kernel.h — the minikernel's internal interfaces. */
#ifndef KERNEL_H
#define KERNEL_H

#include "types.h"
#include "lib.h"

/* ---- Memory layout ---------------------------------------------------
 *
 *  physical = kernel virtual (identity map, supervisor only):
 *    0x00000000 - 0x00000FFF  not mapped: catches null pointers
 *    0x00001000 - 0x003FFFFF  low memory and the kernel image (at 1 MiB)
 *    0x00400000 - 0x007FFFFF  frame pool: page tables, user pages
 *  user virtual (per process):
 *    0x40000000 - ...         the program (ELF segments), then the heap
 *    0x7FFF0000 - 0x7FFFFFFF  the stack (grows down, at most 64 KiB)
 *
 * 4 KiB pages only (the 486 has no 4 MiB pages; SDM Vol. 3A 4.3).
 */
#define PAGE_SIZE        4096u
#define KERNEL_MAP_END   0x00800000u
#define FRAME_POOL_START 0x00400000u
#define FRAME_POOL_END   0x00800000u
#define NFRAMES          ((FRAME_POOL_END - FRAME_POOL_START) / PAGE_SIZE)
#define USER_BASE        0x40000000u
#define USER_HEAP_END    0x50000000u
#define USTACK_TOP       0x80000000u
#define USTACK_MAX       (64u * 1024)

#define PAGE_DOWN(a)     ((uint32_t)(a) & ~(PAGE_SIZE - 1))
#define PAGE_UP(a)       PAGE_DOWN((uint32_t)(a) + PAGE_SIZE - 1)
#define PDX(va)          (((uint32_t)(va) >> 22) & 0x3FF)
#define PTX(va)          (((uint32_t)(va) >> 12) & 0x3FF)

/* Page-table entry bits (SDM Vol. 3A 4.3, Table 4-6). */
#define PTE_P            0x001u     /* present */
#define PTE_W            0x002u     /* writable */
#define PTE_U            0x004u     /* user (CPL 3) may access */
#define PTE_COW          0x200u     /* software (AVL bit 9): copy on write */
#define PTE_SHARED       0x400u     /* software (AVL bit 10): frame not ours */
#define PTE_ADDR(e)      ((e) & ~0xFFFu)

/* Page-fault error code bits (SDM Vol. 3A 4.7). */
#define PF_PRESENT       0x1u
#define PF_WRITE         0x2u
#define PF_USER          0x4u

/* Vectors. */
#define T_DIVIDE   0
#define T_BRKPT    3
#define T_ILLOP    6
#define T_GPFLT   13
#define T_PGFLT   14
#define T_IRQ0    32                /* the PICs are remapped to 32..47 */
#define IRQ_TIMER  0
#define IRQ_SPURIOUS 7

#define TIMER_HZ  1000
#define NPROC     8

/* ---- console.c ------------------------------------------------------ */
void console_init(void);
void console_write(const char *s, size_t n);     /* '\n' -> "\r\n" */
void kprintf(const char *fmt, ...);
void panic(const char *fmt, ...) __attribute__((noreturn));

/* ---- devices.c ------------------------------------------------------ */
void pic_init(void);
void pic_unmask(int irq);
void pic_eoi(int irq);
int  pic_spurious(int irq);
void pit_init(unsigned hz);

/* ---- vm.c ----------------------------------------------------------- */
struct segment {                    /* one ELF PT_LOAD, kept in memory */
    uint32_t vaddr, filesz, memsz;
    int writable;
    uint32_t npages;                /* pages holding file bytes */
    uint32_t master[8];             /* their frames ("page cache") */
};
struct program {
    const char *name;
    uint32_t entry;
    int nsegs;
    struct segment seg[2];
    uint32_t image_end;             /* end of the highest segment */
};
struct proc;

void vm_init(void);
uint32_t frame_alloc(void);
void frame_free(uint32_t pa);
unsigned frames_free(void);
int  program_load(struct program *prog, const char *name,
                  const uint8_t *elf, size_t size);
uint32_t vm_new_address_space(void);
void vm_free_address_space(uint32_t pgdir_pa);
int  vm_fault(struct proc *p, uint32_t va, uint32_t err);
int  copyin(struct proc *p, void *dst, uint32_t src, size_t len);
extern uint32_t kernel_pgdir_pa;

/* ---- proc.c --------------------------------------------------------- */
enum procstate { UNUSED, RUNNABLE, RUNNING, SLEEPING, ZOMBIE };

struct context {                    /* callee-saved registers, see swtch */
    uint32_t edi, esi, ebx, ebp, eip;
};

struct proc {
    enum procstate state;
    int pid;
    char name[12];
    const struct program *prog;
    int daemon;                     /* the kernel stops it at the end */
    uint32_t pgdir;                 /* physical address of its page directory */
    uint8_t *kstack;                /* bottom of its kernel stack */
    struct trapframe *tf;
    struct context *context;
    const void *chan;               /* what it sleeps on */
    uint32_t wake_tick;
    uint32_t mailbox;
    int mailbox_full;
    uint32_t heap_start, brk;
    unsigned demand_faults, cow_copies;
    int killed;
    int exit_status;
    char why[72];                   /* why it was killed */
};

extern struct proc procs[NPROC];
extern struct proc *current;
extern volatile uint32_t ticks;

struct proc *proc_create(const struct program *prog, const char *name,
                         uint32_t arg, int daemon);
void scheduler(void) __attribute__((noreturn));
void yield(void);
void sleep_on(const void *chan);
void wakeup(const void *chan);
void proc_exit(int status) __attribute__((noreturn));
void proc_kill(const char *fmt, ...) __attribute__((noreturn));
int  ipc_send(int pid, uint32_t value);
uint32_t ipc_recv(void);

/* swtch (entry.asm): save callee-saved registers on the current stack,
 * store the stack pointer in *old, load `new` and return there. */
void swtch(struct context **old, struct context *new);

/* ---- syscall.c / trap.c --------------------------------------------- */
void syscall(struct trapframe *tf);
void trap(struct trapframe *tf);

#endif
