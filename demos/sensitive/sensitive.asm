; sensitive.asm — the instructions that made IA-32 "not virtualizable".
;
; Popek and Goldberg (1974): a machine can be virtualized by trap-and-
; emulate if every *sensitive* instruction (one that reads or changes
; privileged state, or behaves differently depending on it) is also
; *privileged* (traps when run outside ring 0).  Robin and Irvine (USENIX
; Security 2000) listed the IA-32 instructions that are sensitive but do
; NOT trap at CPL > 0 ("seventeen" in the paper; eighteen mnemonics):
;
;   SGDT SIDT SLDT SMSW PUSHF POPF LAR LSL VERR VERW POP PUSH
;   CALL JMP INT n RET STR MOV
;
; (POP, PUSH and MOV in their segment-register forms; CALL, JMP and RET
; in their far forms.)  IRET, which is not on the list, loses IF and IOPL
; changes exactly as POPF does, so it is probed too.
;
; This guest probes each of them and prints what it sees, one labelled
; line per observation.  Run on bare hardware (or QEMU) it runs at CPL 0,
; and its output is the reference.  Run as the guest kernel of a
; trap-and-emulate monitor that compresses rings (guest kernel really at
; CPL 1), the very same instructions quietly report the monitor's tables,
; the real CPL and the real IF — the lines differ, and nothing trapped.
;
; Setup: the guest loads its own GDT (flat code/data at DPL 0, flat
; code/data at DPL 3, a TSS, an LDT and two call gates), an IDT (the 32
; exception vectors, which report an unexpected fault and stop, and a
; software-interrupt gate at 0x30), and then LTR and LLDT.  All 8259A IRQ
; lines are masked, so setting IF (STI, POPF) lets nothing in.
;
; Exit: debug-exit 0x10 (status 33); 0x11 (status 35) on any exception.

bits 32

%include "multiboot.inc"
%include "serial.inc"
%include "x86.inc"

SEL_KCODE       equ 0x08            ; GDT[1] code, DPL 0
SEL_KDATA       equ 0x10            ; GDT[2] data, DPL 0
SEL_UCODE       equ 0x18 | 3        ; GDT[3] code, DPL 3, RPL 3
SEL_UDATA       equ 0x20 | 3        ; GDT[4] data, DPL 3, RPL 3
SEL_TSS         equ 0x28            ; GDT[5] 32-bit TSS
SEL_LDT         equ 0x30            ; GDT[6] LDT
SEL_CALLGATE    equ 0x38            ; GDT[7] call gate -> call_target
SEL_JMPGATE     equ 0x40            ; GDT[8] call gate -> jmp_target
SEL_LDATA       equ 0x00 | 4        ; LDT[0] data, DPL 0 (TI = 1)
INT_VECTOR      equ 0x30            ; the INT n probe

EFLAGS_IF       equ 1 << 9
EFLAGS_IOPL     equ 3 << 12

; ====================================================================
section .text
global _start
_start:
        cli
        mov     esp, stack_top
        call    serial_init
        call    mask_pics

        ; --- descriptors whose base is a label are filled in at run time
        mov     edi, gdt + SEL_TSS
        mov     eax, tss
        mov     ebx, TSS_SIZE - 1   ; limit 0x67: no I/O permission bitmap
        mov     cx, (FLAGS_BYTE << 8) | ACC_TSS32
        call    set_desc
        mov     edi, gdt + SEL_LDT
        mov     eax, ldt
        mov     ebx, LDT_SIZE - 1
        mov     cx, (FLAGS_BYTE << 8) | ACC_LDT
        call    set_desc
        mov     edi, gdt + SEL_CALLGATE
        mov     eax, call_target
        mov     bx, SEL_KCODE
        mov     cl, GATE_CALL32     ; DPL 0: reachable from CPL 0 only
        call    set_gate
        mov     edi, gdt + SEL_JMPGATE
        mov     eax, jmp_target
        call    set_gate

        ; --- load the GDT, then reload every segment register from it
        ; (SDM Vol. 3A 9.9.1: after LGDT the hidden parts still hold the
        ; loader's descriptors until each register is reloaded).
        lgdt    [gdtr]
        jmp     SEL_KCODE:.reload_cs
.reload_cs:
        mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax

        ; --- IDT: exception stubs 0..31, the probe gate at 0x30
        mov     edi, idt
        mov     esi, exc_stubs
        mov     bx, SEL_KCODE
        mov     cl, GATE_INT32
        mov     edx, 32
.fill:  lodsd
        call    set_gate
        add     edi, 8
        dec     edx
        jnz     .fill
        mov     edi, idt + INT_VECTOR * 8
        mov     eax, int_target
        call    set_gate            ; interrupt gate, DPL 0
        lidt    [idtr]

        ; --- TSS and LDT (SDM Vol. 3A 7.2.4 and 3.5.1)
        mov     dword [tss + 4], stack_top      ; ESP0
        mov     dword [tss + 8], SEL_KDATA      ; SS0
        mov     word [tss + 102], TSS_SIZE      ; I/O map base beyond limit
        mov     ax, SEL_TSS
        ltr     ax                  ; marks the TSS descriptor busy
        mov     ax, SEL_LDT
        lldt    ax

        PRINT   `sensitive: Robin & Irvine's sensitive unprivileged instructions\r\n`

; --------------------------------------------------------------------
; SGDT / SIDT (SDM Vol. 2B): store the 6-byte GDTR / IDTR at any CPL.
; A guest under a monitor sees the monitor's table here, not its own.
        sgdt    [scratch]
        PRINT   `sgdt: base=`
        PHEX    [scratch + 2], 8
        PRINT   ` limit=`
        PHEX    [scratch], 4
        PRINT   `\r\n`

        sidt    [scratch]
        PRINT   `sidt: base=`
        PHEX    [scratch + 2], 8
        PRINT   ` limit=`
        PHEX    [scratch], 4
        PRINT   `\r\n`

; SLDT / STR: the LDTR and TR selectors.  With a 16-bit destination the
; upper half of a 32-bit register is not involved (SDM says it is
; undefined on older processors), so read them into AX.
        xor     eax, eax
        sldt    ax
        PRINT   `sldt: selector=`
        PHEX    eax, 4
        PRINT   `\r\n`

        xor     eax, eax
        str     ax
        PRINT   `str: selector=`
        PHEX    eax, 4
        PRINT   `\r\n`

; SMSW: the low 16 bits of CR0 (PE, MP, EM, TS, ET, NE) at any CPL.
; Compare MOV EAX,CR0, which is privileged and so traps to a monitor
; that can show the guest its own, virtual CR0.
        xor     eax, eax
        smsw    ax
        PRINT   `smsw: msw=`
        PHEX    eax, 4
        PRINT   `\r\n`
        mov     eax, cr0
        PRINT   `mov eax,cr0: cr0=`
        PHEX    eax, 8
        PRINT   ` (privileged, for comparison)\r\n`

; --------------------------------------------------------------------
; PUSHF (SDM Vol. 2B): pushes EFLAGS, including IF and IOPL, at any CPL.
; The flags are first set to a known value (only the reserved bit 1)
; so that nothing left over from earlier code shows up.
        push    dword 0x00000002
        popfd
        cli
        pushfd
        pop     eax
        PRINT   `pushf after cli: `
        call    print_eflags

        push    dword 0x00000002
        popfd
        sti                         ; all IRQs are masked at the PICs
        pushfd
        pop     eax
        cli
        PRINT   `pushf after sti: `
        call    print_eflags

; POPF: at CPL 0 it may change IF and IOPL.  At CPL > IOPL it leaves IF
; unchanged, and at CPL > 0 it leaves IOPL unchanged — silently, no fault
; (SDM Vol. 2B, POPF, "Operation").  That silence is the classic hole.
        push    dword 0x00000002    ; start with IF = 0, IOPL = 0
        popfd
        push    dword 0x00000002 | EFLAGS_IF | EFLAGS_IOPL
        popfd                       ; ask for IF = 1, IOPL = 3
        pushfd
        pop     eax
        PRINT   `popf set IF=1 IOPL=3: `
        call    print_eflags

        push    dword 0x00000002    ; now ask for IF = 0, IOPL = 0
        popfd
        pushfd
        pop     eax
        PRINT   `popf set IF=0 IOPL=0: `
        call    print_eflags

; IRET pops EFLAGS with the same rules as POPF (SDM Vol. 2A, IRET,
; "Operation"): at CPL 0 it sets IF and IOPL, at CPL > IOPL it keeps IF.
; A same-privilege IRET pops EIP, CS and EFLAGS only.
        push    dword 0x00000002 | EFLAGS_IF | EFLAGS_IOPL  ; EFLAGS image
        push    cs
        push    dword .after_iret
        iretd
.after_iret:
        pushfd
        pop     eax
        PRINT   `iret set IF=1 IOPL=3: `
        call    print_eflags
        push    dword 0x00000002    ; back to IF = 0, IOPL = 0
        popfd

; --------------------------------------------------------------------
; LAR, LSL, VERR, VERW (SDM Vol. 2A/2B): they read a descriptor and set
; ZF when it is accessible at the current CPL and RPL — so they reveal
; the real privilege level.  LAR's result is masked with 0x00F0FF00
; (SDM: bits 16-19 are undefined).
        mov     esi, probe_selectors
.probe:
        movzx   ebx, word [esi]
        test    ebx, ebx
        jz      .probed
        add     esi, 2

        PRINT   `lar  `
        PHEX    ebx, 4
        xor     eax, eax
        lar     eax, ebx
        call    print_zf
        jnz     .lar_fail
        and     eax, 0x00F0FF00
        PRINT   ` ar=`
        PHEX    eax, 8
.lar_fail:
        PRINT   `\r\n`

        PRINT   `lsl  `
        PHEX    ebx, 4
        xor     eax, eax
        lsl     eax, ebx
        call    print_zf
        jnz     .lsl_fail
        PRINT   ` limit=`
        PHEX    eax, 8
.lsl_fail:
        PRINT   `\r\n`

        PRINT   `verr `
        PHEX    ebx, 4
        verr    bx
        call    print_zf
        PRINT   `\r\n`

        PRINT   `verw `
        PHEX    ebx, 4
        verw    bx
        call    print_zf
        PRINT   `\r\n`
        jmp     .probe
.probed:

; --------------------------------------------------------------------
; PUSH CS / PUSH SS / MOV r/m,Sreg: the selectors, whose low two bits are
; the RPL — and for CS, the CPL (SDM Vol. 3A 5.5).  Pushing a segment
; register with a 32-bit operand writes either a zero-extended value or
; only the low 16 bits (SDM Vol. 2B, PUSH), so only those are printed.
        push    cs
        pop     eax
        PRINT   `push cs: `
        PHEX    eax, 4
        PRINT   `\r\n`

        push    ss
        pop     eax
        PRINT   `push ss: `
        PHEX    eax, 4
        PRINT   `\r\n`

        xor     eax, eax
        mov     ax, cs
        PRINT   `mov ax,cs: `
        PHEX    eax, 4
        and     eax, 3
        PRINT   ` cpl=`
        PDEC    eax
        PRINT   `\r\n`

        xor     eax, eax
        mov     ax, ss
        PRINT   `mov ax,ss: `
        PHEX    eax, 4
        PRINT   `\r\n`

; MOV DS / POP DS: loading a data segment register checks the descriptor
; against CPL and RPL (SDM Vol. 3A 5.7: DPL >= max(CPL, RPL)).  Reading
; the register back shows the selector the CPU accepted.
        mov     ax, SEL_UDATA       ; DPL 3 data, RPL 3: allowed at CPL 0
        mov     ds, ax
        xor     eax, eax
        mov     ax, ds
        mov     cx, SEL_KDATA
        mov     ds, cx
        PRINT   `mov ds,ax: loaded 0x0023 read `
        PHEX    eax, 4
        PRINT   `\r\n`

        push    dword SEL_LDATA     ; an LDT selector (TI = 1)
        pop     ds
        xor     eax, eax
        mov     ax, ds
        mov     cx, SEL_KDATA
        mov     ds, cx
        PRINT   `pop ds: loaded 0x0004 read `
        PHEX    eax, 4
        PRINT   `\r\n`

; --------------------------------------------------------------------
; Far CALL, JMP and RET through call gates (SDM Vol. 3A 5.8.4-5.8.6).
; The gates have DPL 0 and lead to a DPL-0 code segment, so at CPL 0 the
; transfer stays at the same privilege level: no stack switch.  At CPL 1
; a DPL-0 gate raises #GP — one of the few cases that does trap.
        call    SEL_CALLGATE:0      ; the offset is ignored for a gate
        xor     eax, eax
        mov     ax, cs
        PRINT   `retf: back at cs=`
        PHEX    eax, 4
        PRINT   `\r\n`

        jmp     SEL_JMPGATE:0
after_jmp:
        xor     eax, eax
        mov     ax, cs
        PRINT   `jmp far 0x0008: back at cs=`
        PHEX    eax, 4
        PRINT   `\r\n`

; INT n through an interrupt gate with DPL 0 (SDM Vol. 3A 6.12.1): the
; handler sees the CS of the interrupted code in the frame.
        int     INT_VECTOR
        xor     eax, eax
        mov     ax, cs
        PRINT   `iret: back at cs=`
        PHEX    eax, 4
        PRINT   `\r\n`

        PRINT   `sensitive: done\r\n`
        DEBUG_EXIT 0x10

; ====================================================================
; Targets of the gates.

; call_target — reached by CALL 0x38:0.  A same-privilege far call pushes
; CS and EIP: [ESP] = return EIP, [ESP+4] = caller's CS (low 16 bits).
call_target:
        push    eax
        xor     eax, eax
        mov     ax, cs
        PRINT   `call far 0x0038 (call gate): arrived cs=`
        PHEX    eax, 4
        mov     eax, [esp + 8]      ; (after our PUSH EAX) caller's CS
        and     eax, 0xFFFF
        PRINT   ` pushed cs=`
        PHEX    eax, 4
        PRINT   `\r\n`
        pop     eax
        retf

; jmp_target — reached by JMP 0x40:0.  A JMP through a gate pushes
; nothing; it returns with a direct far JMP.
jmp_target:
        xor     eax, eax
        mov     ax, cs
        PRINT   `jmp far 0x0040 (call gate): arrived cs=`
        PHEX    eax, 4
        PRINT   `\r\n`
        jmp     SEL_KCODE:after_jmp

; int_target — INT 0x30.  Frame: [ESP] = EIP, [ESP+4] = CS, [ESP+8] = EFLAGS.
int_target:
        push    eax
        xor     eax, eax
        mov     ax, cs
        PRINT   `int 0x30: arrived cs=`
        PHEX    eax, 4
        mov     eax, [esp + 8]
        and     eax, 0xFFFF
        PRINT   ` pushed cs=`
        PHEX    eax, 4
        PRINT   `\r\n`
        pop     eax
        iretd

; ====================================================================
; Helpers.

; print_eflags — "eflags=0x... IF=n IOPL=n\r\n" for EAX.
print_eflags:
        push    eax
        PRINT   `eflags=`
        PHEX    eax, 8
        PRINT   ` IF=`
        shr     eax, 9
        and     eax, 1
        PDEC    eax
        mov     eax, [esp]
        PRINT   ` IOPL=`
        shr     eax, 12
        and     eax, 3
        PDEC    eax
        PRINT   `\r\n`
        pop     eax
        ret

; print_zf — print ": ZF=n" for the current ZF; flags are preserved.
print_zf:
        pushfd
        jz      .one
        PRINT   `: ZF=0`
        popfd
        ret
.one:   PRINT   `: ZF=1`
        popfd
        ret

; Exception stubs: any exception is unexpected here.  Each stub pushes a
; dummy error code when the CPU does not push one (SDM Vol. 3A Table 6-1:
; vectors 8, 10-14 and 17 have one), then its vector number.
%macro EXC_STUB 1
exc_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17)
%else
        push    dword 0
%endif
        push    dword %1
        jmp     unexpected
%endmacro
%assign v 0
%rep 32
        EXC_STUB v
%assign v v + 1
%endrep

unexpected:
        mov     ebx, [esp]          ; vector
        mov     edx, [esp + 4]      ; error code
        mov     edi, [esp + 8]      ; EIP of the faulting instruction
        PRINT   `unexpected exception: vector=`
        PHEX    ebx, 2
        PRINT   ` err=`
        PHEX    edx, 8
        PRINT   ` eip=`
        PHEX    edi, 8
        PRINT   `\r\n`
        DEBUG_EXIT 0x11

; ====================================================================
section .rodata
align 4
exc_stubs:
%assign v 0
%rep 32
        dd      exc_ %+ v
%assign v v + 1
%endrep

; Selectors for LAR/LSL/VERR/VERW, ending with 0.
probe_selectors:
        dw      SEL_KCODE, SEL_KDATA, SEL_UCODE, SEL_UDATA, SEL_TSS, SEL_LDT, 0

; ====================================================================
section .data
align 16
gdt:
        dq      0                                       ; 0x00 null
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL0, FLAGS_4K_32  ; 0x08 kernel code
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL0, FLAGS_4K_32  ; 0x10 kernel data
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL3, FLAGS_4K_32  ; 0x18 user code
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL3, FLAGS_4K_32  ; 0x20 user data
        dq      0                                       ; 0x28 TSS (run time)
        dq      0                                       ; 0x30 LDT (run time)
        dq      0                                       ; 0x38 call gate
        dq      0                                       ; 0x40 call gate
gdt_end:

align 4
        dw      0                   ; so that the base below is 4-aligned
gdtr:   dw      gdt_end - gdt - 1
        dd      gdt
        dw      0
idtr:   dw      256 * 8 - 1
        dd      idt

align 8
ldt:
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL0, FLAGS_4K_32  ; 0x04 LDT data
ldt_end:
LDT_SIZE        equ ldt_end - ldt

; ====================================================================
section .bss
align 4096
idt:            resb    256 * 8
TSS_SIZE        equ 104
tss:            resb    TSS_SIZE
align 4
scratch:        resb    8
align 16
stack:          resb    4096
stack_top:
