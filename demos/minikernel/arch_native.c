/*
 * arch_native.c — arch.h on the bare machine (CPL 0, real instructions).
 *
 * Everything privileged that the kernel does is here: the descriptor
 * tables (GDT, IDT, TSS), the interrupt entry stubs and IRET, CLI/STI/HLT,
 * IN/OUT, CR0/CR2/CR3 and INVLPG.  A paravirtual build replaces this one
 * file (see arch.h).
 */
#include "arch.h"
#include "kernel.h"
#include "syscall.h"

/* Segment selectors (SDM Vol. 3A 3.4.2): index << 3 | TI | RPL. */
#define SEL_KCODE  0x08
#define SEL_KDATA  0x10
#define SEL_UCODE  (0x18 | 3)
#define SEL_UDATA  (0x20 | 3)
#define SEL_TSS    0x28

#define EFLAGS_RESERVED 0x002u
#define EFLAGS_IF       0x200u
#define CR0_WP          (1u << 16)  /* supervisor writes honour R/W (486+) */
#define CR0_PG          (1u << 31)

/* ---- Descriptors ----------------------------------------------------- */

struct tss {                        /* SDM Vol. 3A 7.2.1, Figure 7-2 */
    uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
    uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
    uint32_t es, cs, ss, ds, fs, gs, ldt;
    uint16_t trap, iomap_base;
};

static uint64_t gdt[6] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static struct tss tss;

/* A segment descriptor (SDM Vol. 3A 3.4.5, Figure 3-8). */
static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (uint64_t)(limit & 0xFFFF)
         | (uint64_t)(base & 0xFFFFFF) << 16
         | (uint64_t)access << 40
         | (uint64_t)((limit >> 16) & 0xF) << 48
         | (uint64_t)(flags & 0xF) << 52
         | (uint64_t)(base >> 24) << 56;
}

/* An interrupt gate (SDM Vol. 3A 6.11, Figure 6-2). */
static uint64_t int_gate(uint32_t offset, uint16_t sel, int dpl)
{
    uint8_t type = 0x8E | (dpl << 5);   /* present, 32-bit interrupt gate */
    return (uint64_t)(offset & 0xFFFF)
         | (uint64_t)sel << 16
         | (uint64_t)type << 40
         | (uint64_t)(offset >> 16) << 48;
}

/*
 * Entry stubs.  Each of the 48 stubs (exceptions 0-31, IRQs 32-47) is 16
 * bytes long, so stub n is at vector_stubs + 16 * n.  A stub pushes a 0
 * where the CPU pushes no error code (SDM Vol. 3A Table 6-1: vectors 8,
 * 10-14 and 17 have one), then the vector number, and joins alltraps,
 * which completes the struct trapframe and calls trap().
 */
__asm__(
    ".text\n"
    ".p2align 4\n"
    "vector_stubs:\n"
    ".set vec, 0\n"
    ".rept 48\n"
    "  .p2align 4\n"
    "  .if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17)\n"
    "  .else\n"
    "    pushl $0\n"
    "  .endif\n"
    "  pushl $vec\n"
    "  jmp alltraps\n"
    "  .set vec, vec + 1\n"
    ".endr\n"
    "\n"
    "syscall_stub:\n"
    "  pushl $0\n"
    "  pushl $0x80\n"
    "  jmp alltraps\n"
    "\n"
    /* Save the rest of the interrupted state, switch to kernel data
     * segments, call trap(tf) with ESP pointing at the frame. */
    "alltraps:\n"
    "  pushl %ds\n"
    "  pushl %es\n"
    "  pushl %fs\n"
    "  pushl %gs\n"
    "  pushal\n"
    "  movw $0x10, %ax\n"
    "  movw %ax, %ds\n"
    "  movw %ax, %es\n"
    "  cld\n"
    "  pushl %esp\n"
    "  call trap\n"
    "  addl $4, %esp\n"
    /* Return through a trap frame: the reverse, then IRET, which pops
     * EIP, CS, EFLAGS and — when returning to ring 3 — ESP and SS. */
    ".globl arch_trapret\n"
    "arch_trapret:\n"
    "  popal\n"
    "  popl %gs\n"
    "  popl %fs\n"
    "  popl %es\n"
    "  popl %ds\n"
    "  addl $8, %esp\n"
    "  iret\n"
);
extern char vector_stubs[], syscall_stub[];

void arch_init_cpu(void)
{
    gdt[0] = 0;
    gdt[1] = seg_desc(0, 0xFFFFF, 0x9A, 0xC);   /* kernel code, DPL 0 */
    gdt[2] = seg_desc(0, 0xFFFFF, 0x92, 0xC);   /* kernel data, DPL 0 */
    gdt[3] = seg_desc(0, 0xFFFFF, 0xFA, 0xC);   /* user code, DPL 3 */
    gdt[4] = seg_desc(0, 0xFFFFF, 0xF2, 0xC);   /* user data, DPL 3 */
    gdt[5] = seg_desc((uint32_t)&tss, sizeof tss - 1, 0x89, 0x0);  /* TSS */

    struct { uint16_t limit; uint32_t base; } __attribute__((packed))
        gdtr = { sizeof gdt - 1, (uint32_t)gdt },
        idtr = { sizeof idt - 1, (uint32_t)idt };

    /* LGDT, then reload CS with a far jump and the data segments with
     * MOVs: the hidden descriptor caches keep the old values until then
     * (SDM Vol. 3A 3.4.3). */
    __asm__ volatile(
        "lgdt %0\n"
        "ljmp %1, $1f\n"
        "1:\n"
        "movw %w2, %%ds\n"
        "movw %w2, %%es\n"
        "movw %w2, %%fs\n"
        "movw %w2, %%gs\n"
        "movw %w2, %%ss\n"
        : : "m"(gdtr), "i"(SEL_KCODE), "r"(SEL_KDATA) : "memory");

    /* The TSS matters for one thing only: ESP0/SS0, the stack loaded when
     * a trap leaves ring 3.  An I/O map base beyond the limit means "no
     * I/O permission bitmap", so IN/OUT at CPL 3 raise #GP. */
    tss.ss0 = SEL_KDATA;
    tss.iomap_base = sizeof tss;
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));

    for (int v = 0; v < 48; v++)
        idt[v] = int_gate((uint32_t)vector_stubs + 16 * v, SEL_KCODE, 0);
    /* Only INT 0x80 may be raised by user code: DPL 3.  INT n on any
     * other vector from ring 3 is a #GP. */
    idt[T_SYSCALL] = int_gate((uint32_t)syscall_stub, SEL_KCODE, 3);
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void arch_set_kernel_stack(uint32_t esp0)
{
    tss.esp0 = esp0;
}

/* ---- Interrupt flag -------------------------------------------------- */

void arch_irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
void arch_irq_enable(void)  { __asm__ volatile("sti" ::: "memory"); }

void arch_wait_for_interrupt(void)
{
    /* STI delays interrupts by one instruction (SDM Vol. 2B, STI), so an
     * interrupt that is already pending is taken after HLT has started
     * waiting — it wakes HLT instead of being missed. */
    __asm__ volatile("sti\n\thlt\n\tcli" ::: "memory");
}

/* ---- Port I/O -------------------------------------------------------- */

void arch_outb(uint16_t port, uint8_t value)
{
    __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

uint8_t arch_inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/* ---- Paging ---------------------------------------------------------- */

void arch_set_pte(pte_t *entry, pte_t value)
{
    *(volatile pte_t *)entry = value;
}

void arch_flush_tlb_page(uint32_t va)
{
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

void arch_switch_address_space(uint32_t pgdir_pa)
{
    __asm__ volatile("movl %0, %%cr3" : : "r"(pgdir_pa) : "memory");
}

void arch_enable_paging(uint32_t pgdir_pa)
{
    uint32_t cr0;
    arch_switch_address_space(pgdir_pa);
    __asm__ volatile("movl %%cr0, %0" : "=r"(cr0));
    cr0 |= CR0_PG | CR0_WP;
    __asm__ volatile("movl %0, %%cr0" : : "r"(cr0) : "memory");
}

uint32_t arch_fault_address(void)
{
    uint32_t va;
    __asm__ volatile("movl %%cr2, %0" : "=r"(va));
    return va;
}

/* ---- User mode ------------------------------------------------------- */

void arch_init_user_frame(struct trapframe *tf, uint32_t eip, uint32_t esp)
{
    memset(tf, 0, sizeof *tf);
    tf->cs = SEL_UCODE;             /* RPL 3: IRET drops to ring 3 */
    tf->ds = tf->es = tf->fs = tf->gs = tf->ss = SEL_UDATA;
    tf->eflags = EFLAGS_RESERVED | EFLAGS_IF;   /* IOPL 0 */
    tf->eip = eip;
    tf->esp = esp;
}

int arch_trap_from_user(const struct trapframe *tf)
{
    return (tf->cs & 3) == 3;
}

/* ---- The machine ----------------------------------------------------- */

void arch_poweroff(uint8_t code)
{
    arch_outb(0xF4, code);          /* isa-debug-exit */
    for (;;)
        __asm__ volatile("cli\n\thlt");
}
