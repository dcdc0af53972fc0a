/*
 * arch_pv.c — arch.h for Ringside's `pv` technique: a paravirtual kernel
 * after Xen.  The kernel runs at CPL 1 and executes no privileged
 * instruction: everything arch_native.c does with one goes through a
 * hypercall, `int $0x82` with EAX = number, EBX, ECX, EDX, ESI, EDI =
 * arguments and the result in EAX (docs/pv-abi.md).  The interrupt flag is
 * the event mask in the vcpu_info this file shares with the hypervisor;
 * CLI/STI are writes to it, HLT is sched_op(block), IRET is the iret
 * hypercall, CR2 is read from vcpu_info.  Only this file differs from the
 * native build.
 */
#include "arch.h"
#include "kernel.h"
#include "syscall.h"

/* Hypercall numbers (Xen's xen/include/public/xen.h; 48 is Ringside's). */
#define HC_set_trap_table     0
#define HC_mmu_update         1
#define HC_stack_switch       3
#define HC_xen_version       17
#define HC_console_io        18
#define HC_iret              23
#define HC_vcpu_op           24
#define HC_mmuext_op         26
#define HC_sched_op          29
#define HC_port_io           48

#define CONSOLEIO_write       0
#define SCHEDOP_block         1
#define SCHEDOP_shutdown      2
#define SHUTDOWN_poweroff     0
#define VCPUOP_register_vcpu_info 10
#define MMUEXT_NEW_BASEPTR    5
#define MMUEXT_INVLPG_LOCAL   7
#define DOMID_SELF       0x7FF0u

/* Xen's flat selectors (xen-x86_32.h): the hypervisor's GDT provides them. */
#define FLAT_RING1_CS  0xE019
#define FLAT_RING1_DS  0xE021
#define FLAT_RING3_CS  0xE02B
#define FLAT_RING3_DS  0xE033

#define EFLAGS_RESERVED 0x002u
#define EFLAGS_IF       0x200u
#define TI_MASK_EVENTS  4           /* trap_info flags bit 2: interrupt-gate semantics */

static inline int32_t hypercall(uint32_t n, uint32_t a1, uint32_t a2, uint32_t a3, uint32_t a4)
{
    int32_t r;
    __asm__ volatile("int $0x82"
                     : "=a"(r), "+b"(a1), "+c"(a2), "+d"(a3), "+S"(a4)
                     : "0"(n)
                     : "memory");
    return r;
}

/* The vcpu_info shared with the hypervisor (xen.h, x86_32 layout). */
static struct vcpu_info {
    volatile uint8_t evtchn_upcall_pending;
    volatile uint8_t evtchn_upcall_mask;
    uint16_t pad0;
    uint32_t evtchn_pending_sel;
    volatile uint32_t cr2;          /* arch_vcpu_info.cr2 */
    uint32_t pad[13];
} vcpu_info __attribute__((aligned(64)));

struct trap_info {                  /* Xen's trap_info_t (arch-x86/xen.h) */
    uint8_t vector, flags;
    uint16_t cs;
    uint32_t address;
};
static struct trap_info traps[48 + 2];

struct mmu_update { uint64_t ptr, val; };           /* xen.h */
struct mmuext_op { uint32_t cmd, arg1, arg2; };     /* xen.h, x86_32 */

/*
 * Entry stubs, as in arch_native.c: 16 bytes each for vectors 0-47, then
 * the system-call stub; alltraps builds the struct trapframe and calls
 * trap().  The way back ends in the iret hypercall instead of IRET: push
 * EAX, EAX = 23, int $0x82 — Xen's hypercall-page iret slot; the
 * hypervisor pops EAX, EIP, CS, EFLAGS (and ESP, SS to ring 3) and sets the
 * event mask from EFLAGS.IF.
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
    "alltraps:\n"
    "  pushl %ds\n"
    "  pushl %es\n"
    "  pushl %fs\n"
    "  pushl %gs\n"
    "  pushal\n"
    "  movw $0xE021, %ax\n"         /* FLAT_RING1_DS */
    "  movw %ax, %ds\n"
    "  movw %ax, %es\n"
    "  cld\n"
    "  pushl %esp\n"
    "  call trap\n"
    "  addl $4, %esp\n"
    ".globl arch_trapret\n"
    "arch_trapret:\n"
    "  popal\n"
    "  popl %gs\n"
    "  popl %fs\n"
    "  popl %es\n"
    "  popl %ds\n"
    "  addl $8, %esp\n"
    "  pushl %eax\n"
    "  movl $23, %eax\n"            /* HC_iret */
    "  int $0x82\n"
);
extern char vector_stubs[], syscall_stub[];

void arch_init_cpu(void)
{
    /* No GDT, TSS or IDT of our own: the hypervisor's flat segments are
     * already loaded; what the kernel registers is where its events go. */
    if (hypercall(HC_vcpu_op, VCPUOP_register_vcpu_info, 0, (uint32_t)&vcpu_info, 0) < 0)
        panic("vcpu_op(register_vcpu_info) failed");

    for (int v = 0; v < 48; v++)
        traps[v] = (struct trap_info){ v, TI_MASK_EVENTS | 0, FLAT_RING1_CS,
                                       (uint32_t)vector_stubs + 16 * v };
    /* Only INT 0x80 may be raised by user code: DPL 3. */
    traps[48] = (struct trap_info){ T_SYSCALL, TI_MASK_EVENTS | 3, FLAT_RING1_CS,
                                    (uint32_t)syscall_stub };
    traps[49] = (struct trap_info){ 0, 0, 0, 0 };
    if (hypercall(HC_set_trap_table, (uint32_t)traps, 0, 0, 0) < 0)
        panic("set_trap_table failed");
}

void arch_set_kernel_stack(uint32_t esp0)
{
    hypercall(HC_stack_switch, FLAT_RING1_DS, esp0, 0, 0);
}

/* ---- Interrupt flag: the event mask ---------------------------------- */

void arch_irq_disable(void)
{
    vcpu_info.evtchn_upcall_mask = 1;
    __asm__ volatile("" ::: "memory");
}

void arch_irq_enable(void)
{
    __asm__ volatile("" ::: "memory");
    vcpu_info.evtchn_upcall_mask = 0;
    __asm__ volatile("" ::: "memory");
    /* An event that arrived while masked waits for the hypervisor to look
     * again: any hypercall makes it (Linux's xen_force_evtchn_callback). */
    if (vcpu_info.evtchn_upcall_pending)
        hypercall(HC_xen_version, 0, 0, 0, 0);
}

void arch_wait_for_interrupt(void)
{
    /* sched_op(block) unmasks events and waits for one, atomically: an
     * event already pending is delivered at once. */
    hypercall(HC_sched_op, SCHEDOP_block, 0, 0, 0);
    arch_irq_disable();
}

/* ---- Port I/O -------------------------------------------------------- */

#define COM1 0x3F8
static int com1_dlab;               /* LCR.DLAB: COM1+0 is the divisor latch */

void arch_outb(uint16_t port, uint8_t value)
{
    if (port == COM1 + 3)
        com1_dlab = value & 0x80;
    if (port == COM1 && !com1_dlab) {
        char c = (char)value;
        hypercall(HC_console_io, CONSOLEIO_write, 1, (uint32_t)&c, 0);
        return;
    }
    hypercall(HC_port_io, port, 1, value, 0);
}

uint8_t arch_inb(uint16_t port)
{
    return (uint8_t)hypercall(HC_port_io, port, 0, 0, 0);
}

/* ---- Paging ---------------------------------------------------------- */

void arch_set_pte(pte_t *entry, pte_t value)
{
    /* Kernel virtual = guest-physical (identity map), so the entry's own
     * address is what mmu_update wants. */
    struct mmu_update req = { (uint32_t)entry, value };
    int32_t r = hypercall(HC_mmu_update, (uint32_t)&req, 1, 0, DOMID_SELF);
    if (r < 0)
        panic("mmu_update(0x%08x, 0x%08x) = %d", (uint32_t)entry, value, (int)r);
}

static void mmuext(uint32_t cmd, uint32_t arg1)
{
    struct mmuext_op op = { cmd, arg1, 0 };
    int32_t r = hypercall(HC_mmuext_op, (uint32_t)&op, 1, 0, DOMID_SELF);
    if (r < 0)
        panic("mmuext_op(%u, 0x%08x) = %d", cmd, arg1, (int)r);
}

void arch_flush_tlb_page(uint32_t va)
{
    mmuext(MMUEXT_INVLPG_LOCAL, va);
}

void arch_switch_address_space(uint32_t pgdir_pa)
{
    mmuext(MMUEXT_NEW_BASEPTR, pgdir_pa >> 12);
}

void arch_enable_paging(uint32_t pgdir_pa)
{
    /* The first base pointer turns the guest's paging on (CR0.PG, CR0.WP). */
    arch_switch_address_space(pgdir_pa);
}

uint32_t arch_fault_address(void)
{
    return vcpu_info.cr2;
}

/* ---- User mode ------------------------------------------------------- */

void arch_init_user_frame(struct trapframe *tf, uint32_t eip, uint32_t esp)
{
    memset(tf, 0, sizeof *tf);
    tf->cs = FLAT_RING3_CS;
    tf->ds = tf->es = tf->fs = tf->gs = tf->ss = FLAT_RING3_DS;
    tf->eflags = EFLAGS_RESERVED | EFLAGS_IF;
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
    hypercall(HC_sched_op, SCHEDOP_shutdown, SHUTDOWN_poweroff, code, 0);
    for (;;)
        hypercall(HC_sched_op, SCHEDOP_block, 0, 0, 0);
}
