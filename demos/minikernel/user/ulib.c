/* ulib.c — system call stubs and printf for user programs. */
#include "ulib.h"

/* INT 0x80: EAX = number, EBX/ECX/EDX = arguments, EAX = result. */
static inline uint32_t syscall3(uint32_t n, uint32_t a, uint32_t b, uint32_t c)
{
    uint32_t r;
    __asm__ volatile("int $0x80"
                     : "=a"(r)
                     : "a"(n), "b"(a), "c"(b), "d"(c)
                     : "memory");
    return r;
}

void exit(int status)
{
    syscall3(SYS_EXIT, status, 0, 0);
    for (;;)
        ;
}

int write(const void *buf, size_t len) { return syscall3(SYS_WRITE, (uint32_t)buf, len, 0); }
void yield(void)                       { syscall3(SYS_YIELD, 0, 0, 0); }
void sleep(unsigned ticks)             { syscall3(SYS_SLEEP, ticks, 0, 0); }
int getpid(void)                       { return syscall3(SYS_GETPID, 0, 0, 0); }
void *sbrk(int increment)              { return (void *)syscall3(SYS_SBRK, increment, 0, 0); }
int send(int pid, uint32_t value)      { return syscall3(SYS_SEND, pid, value, 0); }
uint32_t recv(void)                    { return syscall3(SYS_RECV, 0, 0, 0); }

int printf(const char *fmt, ...)
{
    char buf[WRITE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return write(buf, n);
}
