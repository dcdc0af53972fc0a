/*
 * arch.h — the only door from the kernel to privileged machine state.
 *
 * Every instruction that needs CPL 0 (or that a hypervisor must see) is
 * behind one of these functions: CLI/STI/HLT, IN/OUT, MOV to CR3, INVLPG,
 * reading CR2, LGDT/LIDT/LTR, writing page-table entries, and building the
 * frame that IRET uses to enter user mode.  The rest of the kernel — page
 * tables, processes, the scheduler, system calls — is ordinary C.
 *
 * This is the idea of Linux's paravirt_ops and of Xen's "ported" guests:
 * arch_native.c implements the interface with the real instructions; a
 * paravirtual build replaces that one file with an implementation that
 * asks the hypervisor (hypercalls) instead, and runs the same kernel at
 * CPL 1.  Nothing outside arch_*.c may use inline assembly for privileged
 * instructions.
 */
#ifndef ARCH_H
#define ARCH_H

#include "types.h"

/* ---- CPU tables ------------------------------------------------------
 * Load the GDT (kernel and user code/data, a TSS), the TSS and the IDT.
 * Afterwards every exception, IRQ and INT 0x80 arrives at trap() with a
 * struct trapframe. */
void arch_init_cpu(void);

/* The stack the CPU switches to when user code traps (TSS.ESP0). */
void arch_set_kernel_stack(uint32_t esp0);

/* ---- Interrupt flag --------------------------------------------------
 * The kernel runs with interrupts off (all gates are interrupt gates);
 * it enables them only to wait in the idle loop. */
void arch_irq_disable(void);
void arch_irq_enable(void);
/* Enable interrupts, wait for one (HLT), disable them again.  No
 * interrupt can be lost between the enable and the wait. */
void arch_wait_for_interrupt(void);

/* ---- Port I/O ------------------------------------------------------- */
void arch_outb(uint16_t port, uint8_t value);
uint8_t arch_inb(uint16_t port);

/* ---- Paging ----------------------------------------------------------
 * Page tables are ordinary memory that the kernel reads freely, but every
 * write to a PDE or PTE goes through arch_set_pte, so that a hypervisor
 * can validate it.  After changing a live mapping, flush it. */
void arch_set_pte(pte_t *entry, pte_t value);
void arch_flush_tlb_page(uint32_t va);
void arch_switch_address_space(uint32_t pgdir_pa);  /* CR3 */
void arch_enable_paging(uint32_t pgdir_pa);         /* CR3, CR0.PG, CR0.WP */
uint32_t arch_fault_address(void);                  /* CR2 after a #PF */

/* ---- User mode -------------------------------------------------------
 * Fill a trap frame so that returning through it enters user mode at
 * `eip` with stack `esp` and interrupts enabled. */
void arch_init_user_frame(struct trapframe *tf, uint32_t eip, uint32_t esp);
/* Did this trap interrupt user code? */
int arch_trap_from_user(const struct trapframe *tf);
/* Pops a struct trapframe from the stack and returns through it (IRET).
 * A new process's first "return" lands here. */
void arch_trapret(void);

/* ---- The machine ---------------------------------------------------- */
/* Stop the machine: isa-debug-exit with `code` (exit status code*2+1). */
void arch_poweroff(uint8_t code) __attribute__((noreturn));

#endif
