/*
 * proc.c — processes, the scheduler, sleeping and message passing.
 *
 * The shape is xv6's: each process has its own kernel stack; the
 * scheduler runs on the boot stack in a loop, and switches to a process
 * with swtch(); a process gives the CPU back by swtch()ing to the
 * scheduler (sched()).  Switching stacks is switching processes.
 *
 * Preemption: every timer interrupt that arrives while user code runs
 * calls yield() (see trap.c), so a process that never makes a system call
 * still loses the CPU after one tick — the "spin" process proves it: the
 * run could not finish without preemption.
 *
 * The kernel itself is never preempted: it runs with interrupts disabled
 * (all IDT entries are interrupt gates) except while the scheduler idles.
 * With one CPU that is all the locking it needs.
 */
#include "arch.h"
#include "kernel.h"

struct proc procs[NPROC];
struct proc *current;
volatile uint32_t ticks;

static uint8_t kstacks[NPROC][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static struct context *scheduler_context;

static void summary(void) __attribute__((noreturn));

/* A new process's first swtch() "returns" into this function, whose own
 * return address is arch_trapret: it leaves the kernel through the trap
 * frame that proc_create built, as if returning from an interrupt. */
static void first_run(void)
{
}

struct proc *proc_create(const struct program *prog, const char *name,
                         uint32_t arg, int daemon)
{
    struct proc *p = NULL;
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == UNUSED) {
            p = &procs[i];
            break;
        }
    if (!p)
        panic("no free process slot for %s", name);

    memset(p, 0, sizeof *p);
    p->pid = p - procs + 1;
    for (int i = 0; i < (int)sizeof p->name - 1 && name[i]; i++)
        p->name[i] = name[i];
    p->prog = prog;
    p->daemon = daemon;
    p->pgdir = vm_new_address_space();
    p->heap_start = p->brk = PAGE_UP(prog->image_end);

    /* The kernel stack, top down: the trap frame, arch_trapret as a
     * return address, then a context whose EIP is first_run. */
    p->kstack = kstacks[p - procs];
    uint8_t *sp = p->kstack + PAGE_SIZE;
    sp -= sizeof *p->tf;
    p->tf = (struct trapframe *)sp;
    arch_init_user_frame(p->tf, prog->entry, USTACK_TOP);
    p->tf->eax = arg;               /* crt0 passes EAX to main() */
    sp -= 4;
    *(uint32_t *)sp = (uint32_t)arch_trapret;
    sp -= sizeof *p->context;
    p->context = (struct context *)sp;
    memset(p->context, 0, sizeof *p->context);
    p->context->eip = (uint32_t)first_run;

    p->state = RUNNABLE;
    return p;
}

static int live_processes(void)
{
    int n = 0;
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state != UNUSED && procs[i].state != ZOMBIE && !procs[i].daemon)
            n++;
    return n;
}

static int timer_sleepers(void)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == SLEEPING && procs[i].chan == (const void *)&ticks)
            return 1;
    return 0;
}

/* scheduler — round robin over the runnable processes, forever. */
void scheduler(void)
{
    int last = NPROC - 1;
    for (;;) {
        if (live_processes() == 0)
            summary();

        struct proc *p = NULL;
        for (int k = 1; k <= NPROC; k++) {
            int i = (last + k) % NPROC;
            if (procs[i].state == RUNNABLE) {
                p = &procs[i];
                last = i;
                break;
            }
        }
        if (!p) {
            if (!timer_sleepers())
                panic("deadlock: every process waits for a message");
            arch_wait_for_interrupt();      /* idle until the next tick */
            continue;
        }

        current = p;
        p->state = RUNNING;
        arch_set_kernel_stack((uint32_t)(p->kstack + PAGE_SIZE));
        arch_switch_address_space(p->pgdir);
        swtch(&scheduler_context, p->context);
        /* ... back here when p gives up the CPU. */
        arch_switch_address_space(kernel_pgdir_pa);
        current = NULL;
    }
}

static void sched(void)
{
    swtch(&current->context, scheduler_context);
}

void yield(void)
{
    current->state = RUNNABLE;
    sched();
}

/* Sleep on a channel (any address) until wakeup(chan).  Callers loop,
 * re-checking their condition: a wakeup means "look again". */
void sleep_on(const void *chan)
{
    current->chan = chan;
    current->state = SLEEPING;
    sched();
    current->chan = NULL;
}

void wakeup(const void *chan)
{
    for (int i = 0; i < NPROC; i++)
        if (procs[i].state == SLEEPING && procs[i].chan == chan)
            procs[i].state = RUNNABLE;
}

static void release(struct proc *p)
{
    if (p == current)
        arch_switch_address_space(kernel_pgdir_pa);
    vm_free_address_space(p->pgdir);
    p->pgdir = 0;
    p->state = ZOMBIE;
    wakeup(&p->mailbox);            /* senders waiting for room: give up */
}

void proc_exit(int status)
{
    current->exit_status = status;
    release(current);
    sched();
    panic("a zombie ran");
}

void proc_kill(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vformat(current->why, sizeof current->why, fmt, ap);
    va_end(ap);
    current->killed = 1;
    proc_exit(-1);
}

/* ---- Messages: one word per process, blocking both ways ------------- */

int ipc_send(int pid, uint32_t value)
{
    if (pid < 1 || pid > NPROC)
        return -1;
    struct proc *q = &procs[pid - 1];
    for (;;) {
        if (q->state == UNUSED || q->state == ZOMBIE)
            return -1;
        if (!q->mailbox_full)
            break;
        sleep_on(&q->mailbox);      /* wait for room */
    }
    q->mailbox = value;
    q->mailbox_full = 1;
    wakeup(&q->mailbox_full);       /* a receiver waiting for data */
    return 0;
}

uint32_t ipc_recv(void)
{
    while (!current->mailbox_full)
        sleep_on(&current->mailbox_full);
    current->mailbox_full = 0;
    wakeup(&current->mailbox);
    return current->mailbox;
}

/* ---- The end -------------------------------------------------------- */

/* Every ordinary process has finished: stop the daemons, report, power
 * off.  Everything printed here is independent of timing. */
static void summary(void)
{
    for (int i = 0; i < NPROC; i++) {
        struct proc *p = &procs[i];
        if (p->state != UNUSED && p->state != ZOMBIE) {
            format(p->why, sizeof p->why,
                   "still running; it never yields, so only the timer preempted it");
            p->killed = 1;
            release(p);
        }
    }
    kprintf("minikernel: all processes have finished\n");
    kprintf("  pid  name        demand  cow  end\n");
    for (int i = 0; i < NPROC; i++) {
        struct proc *p = &procs[i];
        if (p->state == UNUSED)
            continue;
        if (p->daemon)
            kprintf("  %3d  %-10s       -    -  killed: %s\n", p->pid, p->name, p->why);
        else if (p->killed)
            kprintf("  %3d  %-10s  %6u  %3u  killed: %s\n", p->pid, p->name,
                    p->demand_faults, p->cow_copies, p->why);
        else
            kprintf("  %3d  %-10s  %6u  %3u  exit %d\n", p->pid, p->name,
                    p->demand_faults, p->cow_copies, p->exit_status);
    }
    kprintf("minikernel: %u of %u frames free; the others hold program images\n",
            frames_free(), (unsigned)NFRAMES);
    kprintf("minikernel: halting\n");
    arch_poweroff(0x10);
}
