/* crash.c — three ways for a user program to be killed by the kernel. */
#include "ulib.h"

int main(int arg)
{
    switch (arg) {
    case 0:     /* page 0 is never mapped: #PF, not present, write, user */
        *(volatile uint32_t *)0 = 1;
        break;
    case 1:     /* text is mapped read-only: #PF, present, write, user */
        *(volatile uint8_t *)(uintptr_t)main = 0xC3;
        break;
    case 2:     /* CLI at CPL 3 > IOPL 0: #GP(0) */
        __asm__ volatile("cli");
        break;
    }
    return 1;
}
