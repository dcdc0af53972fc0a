/*
 * minikernel — a small preemptive, paging, multi-process kernel in C.
 *
 *   main.c       boot: console, CPU tables, paging, programs, processes
 *   arch.h       the interface to everything privileged ...
 *   arch_native.c  ... implemented with the real instructions
 *   vm.c         frames, per-process page tables, demand paging, COW
 *   proc.c       processes, round-robin scheduler, sleep, messages
 *   trap.c       exceptions, the timer interrupt, preemption
 *   syscall.c    the system calls (syscall.h lists them)
 *   devices.c    8259A PIC and 8254 PIT; console.c: COM1, kprintf, panic
 *   entry.asm    multiboot header, boot stack, swtch, the user programs
 *   user/        the programs: crt0, a tiny libc, four programs
 *
 * The processes (each in its own address space, at CPL 3):
 *   1 ping, 2 pong   one program run twice; they exchange numbers by
 *                    message, pong naps with sleep() each round
 *   3 primes         a sieve on the heap, a deep recursion on the
 *                    stack — both served by demand paging — then it waits
 *                    for its turn to print
 *   4 spin           loops forever without a system call
 *   5-7 crash        a null write, a write to its own code, a CLI:
 *                    each is killed by the kernel
 *
 * Deterministic output, whatever the timer does.  The timer runs on the
 * host's clock under QEMU and on retired instructions under Ringside, so
 * preemption falls at different places.  The output is the same anyway:
 *   - a process prints whole lines with one write() each, and the kernel
 *     writes them with interrupts off, so lines never mix;
 *   - the ORDER of the lines is fixed by messages: ping prints, then
 *     sends; pong prints only after it received, and so on; primes
 *     prints only after ping hands it the turn at the very end;
 *   - the kernel prints nothing while processes run — deaths and fault
 *     counts are kept and printed in one summary after everyone is done,
 *     and they depend only on what each program does;
 *   - spin is a daemon: when the others are done the kernel stops it.
 *     That the run ends at all shows that the timer preempted it.
 * Never printed: tick counts, times, how often anyone was preempted.
 *
 * Exit: debug-exit 0x10 (status 33) after the summary; 0x11 (status 35)
 * from panic().  Built with -DPANIC_DEMO, the kernel writes through a
 * null pointer just before starting the scheduler, to show the panic.
 */
#include "arch.h"
#include "kernel.h"

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002

/* The user programs, linked into the kernel image by entry.asm. */
extern const uint8_t user_pingpong[], user_pingpong_end[];
extern const uint8_t user_primes[], user_primes_end[];
extern const uint8_t user_spin[], user_spin_end[];
extern const uint8_t user_crash[], user_crash_end[];

static struct program programs[4];

static const struct program *load(int i, const char *name,
                                  const uint8_t *start, const uint8_t *end)
{
    struct program *prog = &programs[i];
    if (program_load(prog, name, start, end - start) < 0)
        panic("program %s: not a loadable ELF32 i386 image", name);
    unsigned pages = 0;
    for (int s = 0; s < prog->nsegs; s++)
        pages += prog->seg[s].npages;
    kprintf("minikernel: program %-8s entry 0x%08x, %u segment%s, %u page%s in memory\n",
            name, prog->entry, prog->nsegs, prog->nsegs == 1 ? "" : "s",
            pages, pages == 1 ? "" : "s");
    return prog;
}

/* ping's argument: role 0, peer pid, and who gets the turn after it. */
#define PINGPONG_ARG(role, peer, next) ((role) | (peer) << 8 | (next) << 16)

void kmain(uint32_t magic, uint32_t mbi)
{
    console_init();
    kprintf("minikernel: booting\n");
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        panic("not started by a multiboot loader (eax=0x%08x)", magic);

    arch_init_cpu();
    vm_init();
    kprintf("minikernel: paging on; %u frames of 4 KiB at 0x%08x-0x%08x\n",
            (unsigned)NFRAMES, FRAME_POOL_START, FRAME_POOL_END - 1);

    const struct program *pingpong = load(0, "pingpong", user_pingpong, user_pingpong_end);
    const struct program *primes = load(1, "primes", user_primes, user_primes_end);
    const struct program *spin = load(2, "spin", user_spin, user_spin_end);
    const struct program *crash = load(3, "crash", user_crash, user_crash_end);

    proc_create(pingpong, "ping", PINGPONG_ARG(0, 2, 3), 0);
    proc_create(pingpong, "pong", PINGPONG_ARG(1, 1, 0), 0);
    proc_create(primes, "primes", 0, 0);
    proc_create(spin, "spin", 0, 1);
    proc_create(crash, "crash-null", 0, 0);
    proc_create(crash, "crash-text", 1, 0);
    proc_create(crash, "crash-cli", 2, 0);

    pic_init();
    pit_init(TIMER_HZ);
    pic_unmask(IRQ_TIMER);
    kprintf("minikernel: 7 processes; timer at %u Hz; starting the scheduler\n",
            (unsigned)TIMER_HZ);

#ifdef PANIC_DEMO
    kprintf("minikernel: PANIC_DEMO: writing through a null pointer\n");
    *(volatile uint32_t *)0 = 0;
#endif

    scheduler();
}
