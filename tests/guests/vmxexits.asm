; vmxexits.asm — one of each instruction and event a VMCS control can turn
; into a VM exit (SDM Vol. 3C §25.1-25.2), in a row, for
; Tests/MonitorsTests/VTxControlTests.swift: each test runs this guest
; under `vtx` with one control on and then off, and looks for the exit
; with the SDM's basic reason and qualification (Appendix C, §27.2.1).
;
; In order: CPUID; RDTSC; INVLPG 0x200000; MOV CR0 setting then clearing
; TS; MOV from and to CR3; MOV to CR4 (its own value); IN and OUT on port
; 0x80; RDMSR and WRMSR of IA32_SYSENTER_CS (0x174); UD2 (#UD, vector 6,
; skipped by the handler); VMCALL (#UD on a CPU without VMX: skipped
; too); SGDT, SIDT, SLDT, STR, LGDT, LIDT, LLDT; then interrupts: the PIT
; at about 10 kHz on IRQ0 (vector 0x20), STI;HLT until a tick, then IF = 0
; for longer than a tick, so IRQ0 is pending when STI opens the window.
;
; The output is the same on any x86 and under every technique: nothing
; printed depends on timing or on the CPU (CPUID, RDTSC values are not
; printed).  Exit: debug-exit 0x10 (status 33); an unexpected #UD 0x11.
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        lgdt    [gdtr]
        jmp     0x08:.cs
.cs:    mov     ax, 0x10
        mov     ds, ax
        mov     es, ax
        mov     ss, ax
        mov     fs, ax
        mov     gs, ax
        mov     eax, ud_handler                 ; IDT gate 6: #UD
        mov     edi, idt + 6 * 8
        call    gate
        mov     eax, irq0_handler               ; IDT gate 0x20: IRQ0 after the remap
        mov     edi, idt + 0x20 * 8
        call    gate
        lidt    [idtr]
        PUTS    `vmxexits: start\r\n`

        xor     eax, eax
        cpuid                                   ; reason 10, always
        rdtsc                                   ; reason 16 with RDTSC exiting
        invlpg  [0x200000]                      ; reason 14 with INVLPG exiting
        mov     eax, cr0
        or      eax, 8                          ; CR0.TS: reason 28 when the
        mov     cr0, eax                        ; guest/host mask owns TS
        and     eax, ~8
        mov     cr0, eax
        mov     eax, cr3                        ; reason 28 with CR3-store exiting
        mov     cr3, eax                        ; reason 28 with CR3-load exiting
        mov     eax, cr4
        mov     cr4, eax                        ; no exit: masked bits unchanged
        in      al, 0x80                        ; reason 30 by the I/O bitmap
        out     0x80, al
        mov     ecx, 0x174                      ; IA32_SYSENTER_CS
        rdmsr                                   ; reason 31 by the MSR bitmap
        wrmsr                                   ; reason 32
        ud2                                     ; reason 0 if bit 6 is in the exception bitmap
        vmcall                                  ; reason 18, always (#UD natively)
        sgdt    [scratch]                       ; reason 46 with descriptor-table exiting
        sidt    [scratch]
        sldt    ax                              ; reason 47
        str     ax
        lgdt    [gdtr]
        lidt    [idtr]
        xor     eax, eax
        lldt    ax
        PUTS    `vmxexits: instructions done\r\n`

        ; --- interrupts: PICs remapped to 0x20/0x28, only IRQ0 unmasked
        mov     al, 0x11                        ; ICW1: edge, cascade, ICW4
        out     0x20, al
        out     0xA0, al
        mov     al, 0x20                        ; ICW2: vector bases
        out     0x21, al
        mov     al, 0x28
        out     0xA1, al
        mov     al, 4                           ; ICW3: slave on IRQ2
        out     0x21, al
        mov     al, 2
        out     0xA1, al
        mov     al, 1                           ; ICW4: 8086 mode
        out     0x21, al
        out     0xA1, al
        mov     al, 0xFE                        ; OCW1: IRQ0 only
        out     0x21, al
        mov     al, 0xFF
        out     0xA1, al
        mov     al, 0x34                        ; PIT channel 0, lo/hi, mode 2
        out     0x43, al
        mov     al, 119                         ; 1193182 / 119: about 10 kHz
        out     0x40, al
        xor     al, al
        out     0x40, al

        sti
        hlt                                     ; reason 12 with HLT exiting; IRQ0: reason 1
        cli
        mov     ecx, 20000                      ; IF = 0 for 40000 instructions: IRQ0 pends
.spin:  dec     ecx
        jnz     .spin
        sti                                     ; blocks interrupts for one instruction
        nop
        cli                                     ; reason 7 here: the window opened
        mov     al, 0xFF
        out     0x21, al
        cmp     dword [ticks], 2
        jb      .few
        PUTS    `vmxexits: interrupts done\r\n`
        mov     al, 0x10
        out     DEBUG_EXIT, al
.few:   PUTS    `vmxexits: fewer than two ticks\r\n`
        mov     al, 0x11
        out     DEBUG_EXIT, al
        jmp     $

; gate — a 32-bit interrupt gate, DPL 0, selector 0x08, to EAX, at [EDI].
gate:   mov     [edi], ax
        mov     word [edi + 2], 0x08
        mov     word [edi + 4], 0x8E00
        shr     eax, 16
        mov     [edi + 6], ax
        ret

; #UD: skip UD2 (0F 0B) or VMCALL (0F 01 C1); anything else is a failure.
ud_handler:
        push    esi
        mov     esi, [esp + 4]                  ; the faulting EIP
        cmp     word [esi], 0x0B0F
        je      .two
        cmp     word [esi], 0x010F
        jne     .bad
        cmp     byte [esi + 2], 0xC1
        jne     .bad
        add     dword [esp + 4], 3
        pop     esi
        iretd
.two:   add     dword [esp + 4], 2
        pop     esi
        iretd
.bad:   PUTS    `vmxexits: unexpected #UD\r\n`
        mov     al, 0x11
        out     DEBUG_EXIT, al
        jmp     $

irq0_handler:
        push    eax
        inc     dword [ticks]
        mov     al, 0x20                        ; EOI
        out     0x20, al
        pop     eax
        iretd

align 8
gdt:    dq      0
        dq      0x00CF9A000000FFFF              ; 0x08 flat code
        dq      0x00CF92000000FFFF              ; 0x10 flat data
gdtr:   dw      gdtr - gdt - 1
        dd      gdt
idtr:   dw      idt_end - idt - 1
        dd      idt
ticks:  dd      0
scratch: dq     0
align 8
idt:    times 0x21 dq 0
idt_end:
        GUEST_LIBRARY
