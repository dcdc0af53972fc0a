; entry.asm — the minikernel's first instructions, swtch, and the user
; programs' images.

bits 32

MB_MAGIC        equ 0x1BADB002
MB_FLAGS        equ 0

; Multiboot v1 header (Multiboot Specification 0.6.96, 3.1.1): within the
; first 8 KiB of the file; link.ld puts .multiboot first.
section .multiboot progbits alloc noexec nowrite align=4
        dd      MB_MAGIC
        dd      MB_FLAGS
        dd      -(MB_MAGIC + MB_FLAGS)

section .text
global _start
extern kmain
; The loader leaves EAX = 0x2BADB002, EBX = multiboot information, flat
; segments, paging off, IF = 0, and no stack.  (No privileged instruction
; here: everything privileged is behind arch.h.)
_start:
        mov     esp, boot_stack_top
        xor     ebp, ebp            ; end of the frame-pointer chain
        push    ebx
        push    eax
        call    kmain               ; kmain(magic, mbi) never returns
.hang:  jmp     .hang

; void swtch(struct context **old, struct context *new)
;
; Save the callee-saved registers (the C calling convention lets the
; compiler assume EBX, ESI, EDI, EBP survive a call) on the current
; stack, store ESP in *old, load `new` as ESP, restore the registers
; saved there, and RET to the EIP saved there.  The layout must match
; struct context in kernel.h: EDI, ESI, EBX, EBP, EIP from low to high.
global swtch
swtch:
        mov     eax, [esp + 4]      ; old
        mov     edx, [esp + 8]      ; new
        push    ebp
        push    ebx
        push    esi
        push    edi
        mov     [eax], esp
        mov     esp, edx
        pop     edi
        pop     esi
        pop     ebx
        pop     ebp
        ret

; The user programs: ELF32 executables built from user/*.c, included
; byte for byte.  program_load() in vm.c reads their program headers.
section .rodata
%macro PROGRAM 2
global user_%1, user_%1_end
align 16
user_%1:
        incbin  %2
user_%1_end:
%endmacro
        PROGRAM pingpong, "pingpong.elf"
        PROGRAM primes,   "primes.elf"
        PROGRAM spin,     "spin.elf"
        PROGRAM crash,    "crash.elf"

section .bss
align 16
boot_stack:     resb    16384       ; also the scheduler's stack
boot_stack_top:
