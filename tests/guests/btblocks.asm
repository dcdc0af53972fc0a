; btblocks.asm — tricky blocks for the binary translator's golden listing
; (Tests/MonitorsTests/BTBlocksTests.swift): every sensitive instruction,
; far transfers, an 8-bit LOOP and JECXZ, self-modifying code, and a block
; whose instruction straddles a page boundary.  It prints one line per
; part and ends with debug-exit 0x10 (status 33) under every technique.
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        call    sensitive
        PUTS    `btblocks: sensitive ok\r\n`
        call    far_transfers
        PUTS    `btblocks: far ok\r\n`
        call    loops
        call    hex32
        PUTS    ` loops\r\n`
        call    smc
        call    hex32
        PUTS    ` smc\r\n`
        call    cross
        call    hex32
        PUTS    ` cross\r\n`
        mov     al, 0x10
        out     DEBUG_EXIT, al
        cli
        hlt

; Robin & Irvine's sensitive instructions and the privileged ones beside them.
sensitive:
        sgdt    [table_save]
        sidt    [table_save]
        sldt    ax
        str     ax
        smsw    ax
        mov     eax, cr0
        mov     ebx, cr3
        push    cs
        pop     eax
        mov     eax, cs
        mov     ebx, ss
        push    ss
        pop     edx
        lar     eax, ebx
        lsl     eax, ebx
        verr    bx
        verw    bx
        cli
        in      al, 0x80
        out     0x80, al
        pushf
        popf
        sti
        cli
        ret

; A far jump, a far call and a far return to the guest's own code segment.
far_transfers:
        mov     [far_ptr + 4], cs
        mov     dword [far_ptr], .after_jump
        jmp     far [far_ptr]
.after_jump:
        mov     dword [far_ptr], far_callee
        call    far [far_ptr]
        ret
far_callee:
        retf

; LOOP and JECXZ have only 8-bit forms; Jcc both ways.
loops:
        xor     eax, eax
        mov     ecx, 5
.again: add     eax, ecx
        loop    .again
        jecxz   .zero
        mov     eax, -1
.zero:  cmp     eax, 15
        jne     .bad
        ret
.bad:   mov     eax, 0xBAD
        ret

; Patch an instruction later in the same block.
smc:
        mov     byte [.imm + 1], 0x2A
.imm:   mov     al, 0
        movzx   eax, al
        ret

; `cross` starts 6 bytes before the page at 0x102000: its ADD straddles it.
        times (0x2000 - 6) - ($ - $$) db 0x90
cross:
        mov     eax, 1                  ; 5 bytes: 0x101ffa-0x101ffe
        add     eax, 0x41               ; 3 bytes: 0x101fff-0x102001
        ret

        GUEST_LIBRARY

; Data on a page of its own, so that writing it leaves translated code alone.
        times 0x3000 - ($ - $$) db 0
table_save:     dw 0
                dd 0
far_ptr:        dd 0
                dw 0
