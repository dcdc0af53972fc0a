; smc.asm — a kernel that rewrites its own code.
;
; What it shows: x86 executes the bytes that are in memory when an
; instruction is fetched, even when the kernel has just written them (Intel
; SDM Vol. 3 §11.6, "Self-modifying code": a write to a code address is
; seen by the next fetch of it; no flush needed on a single processor).
; A binary translator must honour that: `bt` write-protects every page it
; has translated code from, so each of the writes below faults into the
; monitor, which drops the stale translations and translates the new bytes.
;
; Three cases, each printed and checked:
;   1. patch a function's immediate operand, call it again;
;   2. patch an instruction later in the *same* basic block as the write;
;   3. copy a routine into a buffer on a fresh page, run it, overwrite the
;      buffer with another routine, run that (a tiny JIT).
; Code and data share pages on purpose: stores beside translated code must
; work and cost only an invalidation.
;
; Exit: debug-exit 0x10 (status 33) when all three hold, 0x11 otherwise.

bits 32

%include "multiboot.inc"
%include "serial.inc"

section .text
global _start
_start:
        cli
        mov     esp, stack_top
        call    serial_init
        PRINT   `smc: self-modifying kernel code\r\n`
        xor     ebp, ebp                        ; failures

        ; ---- 1. patch an immediate operand of a function
        call    answer
        mov     ebx, eax
        mov     dword [answer.imm + 1], 42      ; the imm32 of "mov eax, 1"
        call    answer
        PRINT   `1. function patched: before `
        PDEC ebx
        PRINT   `, after `
        PDEC eax
        PRINT   `\r\n`
        cmp     eax, 42
        je      .ok1
        inc     ebp
.ok1:
        ; ---- 2. patch an instruction later in the same block
        mov     byte [.later + 1], 7            ; mov al, 0 -> mov al, 7
.later: mov     al, 0
        movzx   ebx, al
        PRINT   `2. same block patched: al = `
        PDEC ebx
        PRINT   `\r\n`
        cmp     ebx, 7
        je      .ok2
        inc     ebp
.ok2:
        ; ---- 3. a routine copied into a buffer, run, replaced, run again
        mov     esi, routine_add
        mov     ecx, routine_add.end - routine_add
        call    install
        mov     eax, 5
        call    jit_buffer
        mov     ebx, eax                        ; 5 + 3 = 8
        mov     esi, routine_mul
        mov     ecx, routine_mul.end - routine_mul
        call    install
        mov     eax, 5
        call    jit_buffer                      ; 5 * 3 = 15
        PRINT   `3. buffer rewritten: first `
        PDEC ebx
        PRINT   `, second `
        PDEC eax
        PRINT   `\r\n`
        cmp     ebx, 8
        jne     .bad3
        cmp     eax, 15
        je      .ok3
.bad3:  inc     ebp
.ok3:
        test    ebp, ebp
        jnz     .fail
        PRINT   `smc: all three ran the new bytes\r\n`
        DEBUG_EXIT 0x10
.fail:  PRINT   `smc: stale code ran\r\n`
        DEBUG_EXIT 0x11

answer:
.imm:   mov     eax, 1
        ret

; install: copy ECX bytes from ESI to jit_buffer.
install:
        push    edi
        mov     edi, jit_buffer
        cld
        rep movsb
        pop     edi
        ret

routine_add:
        add     eax, 3
        ret
.end:
routine_mul:
        imul    eax, eax, 3
        ret
.end:

section .data
align 4096
jit_buffer:     times 64 db 0xCC        ; int3 until something is installed
scratch:        dd 0                    ; data on the same page as the buffer

section .bss
alignb 4096
stack:          resb 4096
stack_top:
