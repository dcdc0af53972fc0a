/* trap.c — where every exception, interrupt and system call arrives. */
#include "arch.h"
#include "kernel.h"
#include "syscall.h"

static const char *const names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint",
    "#OF overflow", "#BR bound", "#UD invalid opcode", "#NM no FPU",
    "#DF double fault", "vector 9", "#TS invalid TSS", "#NP not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "vector 15",
    "#MF FPU error", "#AC alignment check", "#MC machine check", "#XM SIMD",
};

void trap(struct trapframe *tf)
{
    int user = arch_trap_from_user(tf);
    uint32_t v = tf->trapno;

    if (v == T_SYSCALL) {
        syscall(tf);
        return;
    }
    if (v >= T_IRQ0 && v < T_IRQ0 + 16) {
        int irq = v - T_IRQ0;
        if (pic_spurious(irq))
            return;
        pic_eoi(irq);
        if (irq == IRQ_TIMER) {
            ticks++;
            wakeup((const void *)&ticks);
            /* Preemption: user code that was running loses the CPU. */
            if (user && current)
                yield();
        }
        return;
    }

    const char *name = v < 32 && names[v] ? names[v] : "exception";
    if (v == T_PGFLT) {
        uint32_t va = arch_fault_address();
        if (!user)
            panic("page fault in the kernel at 0x%08x (err 0x%x) eip 0x%08x",
                  va, tf->err, tf->eip);
        if (vm_fault(current, va, tf->err) == 0)
            return;
        proc_kill("#PF at 0x%08x (err 0x%x) eip 0x%08x", va, tf->err, tf->eip);
    }
    if (!user)
        panic("%s in the kernel (err 0x%x) eip 0x%08x", name, tf->err, tf->eip);
    proc_kill("%s (err 0x%x) eip 0x%08x", name, tf->err, tf->eip);
}
