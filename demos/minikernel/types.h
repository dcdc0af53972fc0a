/* types.h — basic types and the trap frame. */
#ifndef TYPES_H
#define TYPES_H

#include <stdint.h>     /* freestanding headers: provided by the compiler */
#include <stddef.h>
#include <stdarg.h>

typedef uint32_t pte_t;     /* a page-directory or page-table entry */

/*
 * The trap frame: what is on the kernel stack when trap() is called.
 * From the bottom (lowest address) up: the general registers (PUSHAD),
 * the data segment registers, the vector number and error code (pushed by
 * the entry stub; a dummy 0 when the CPU pushes no error code), and the
 * part the CPU pushes itself (SDM Vol. 3A 6.12.1, Figure 6-4): EIP, CS,
 * EFLAGS, and — only when the trap came from a less privileged ring —
 * the interrupted ESP and SS.
 */
struct trapframe {
    uint32_t edi, esi, ebp, esp_unused, ebx, edx, ecx, eax;   /* PUSHAD */
    uint32_t gs, fs, es, ds;
    uint32_t trapno, err;
    uint32_t eip, cs, eflags;
    uint32_t esp, ss;           /* only valid for traps from user mode */
};

#endif
