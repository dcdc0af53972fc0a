; flat.asm — a flat binary for `ringside run --flat flat.bin --load-address
; 0x10000 --dump-state json` (tools/check-cli.sh).  Started at CPL 0 in flat
; 32-bit protected mode with EFLAGS = 0x2, every general register 0 and
; ESP = top of RAM; it ends in HLT.  Expected at the HLT:
;   EAX = 0x12345678, EBX = 1, ECX = 0, EDX = 10, ESP = top - 4,
;   EFLAGS = 0x13 (CF, AF from 0xFFFFFFFF + 2; reserved bit 1),
;   0x20000: ef be ad de 34 12, [top - 4] = 78 56 34 12,
;   29 instructions retired (the HLT included), EIP just past the HLT.
bits 32
org 0x00010000

        jmp     start               ; entry = load address
        align   16
start:  mov     eax, 0x12345678
        mov     ecx, 10
.count: inc     edx                 ; EDX counts to 10
        loop    .count
        mov     ebx, 0xFFFFFFFF
        add     ebx, 2              ; EBX = 1, CF = 1, AF = 1
        mov     dword [0x20000], 0xDEADBEEF
        mov     word [0x20004], 0x1234
        push    eax                 ; [top - 4] = EAX
        hlt
