/* syscall.c — INT 0x80: EAX = number, EBX/ECX/EDX = arguments. */
#include "arch.h"
#include "kernel.h"
#include "syscall.h"

static uint32_t sys_write(uint32_t buf, uint32_t len)
{
    char kbuf[WRITE_MAX];
    if (len > WRITE_MAX)
        len = WRITE_MAX;
    if (copyin(current, kbuf, buf, len) < 0)
        return (uint32_t)-1;
    console_write(kbuf, len);       /* interrupts are off: atomic */
    return len;
}

static uint32_t sys_sleep(uint32_t n)
{
    uint32_t wake = ticks + n;
    while ((int32_t)(ticks - wake) < 0)
        sleep_on((const void *)&ticks);
    return 0;
}

static uint32_t sys_sbrk(int32_t increment)
{
    uint32_t old = current->brk;
    uint32_t new = old + increment;
    if ((increment > 0 && new < old) || (increment < 0 && new > old) ||
        new < current->heap_start || new > USER_HEAP_END)
        return (uint32_t)-1;
    current->brk = new;             /* no frames yet: see vm_fault */
    return old;
}

void syscall(struct trapframe *tf)
{
    uint32_t a = tf->ebx, b = tf->ecx;
    uint32_t r;
    switch (tf->eax) {
    case SYS_EXIT:   proc_exit((int)a);
    case SYS_WRITE:  r = sys_write(a, b); break;
    case SYS_YIELD:  yield(); r = 0; break;
    case SYS_SLEEP:  r = sys_sleep(a); break;
    case SYS_GETPID: r = current->pid; break;
    case SYS_SBRK:   r = sys_sbrk((int32_t)a); break;
    case SYS_SEND:   r = ipc_send((int)a, b); break;
    case SYS_RECV:   r = ipc_recv(); break;
    default:         r = (uint32_t)-1;
    }
    tf->eax = r;
}
