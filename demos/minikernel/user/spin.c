/* spin.c — never makes a system call, never stops.
 *
 * Without preemption this process would keep the CPU forever and the
 * run would never end.  The kernel stops it once every other process has
 * finished; it prints nothing (how far it counted depends on timing). */
#include "ulib.h"

int main(int arg)
{
    volatile uint32_t n = 0;
    for (;;)
        n++;
}
