; systest.asm — a self-checking guest for the IA-32 protected-mode system
; architecture: call gates and the TSS stack switch, IRET to ring 3 and
; INT back, the silent POPF rules, IOPL and the TSS I/O permission bitmap,
; UMIP, page-fault error codes and CR2, CR0.WP, INVLPG, and the double fault.
;
; Each check prints one line, "ok N - what" or "FAIL N - what: got X want Y",
; then the guest prints "systest: P passed, F failed" and leaves through
; debug-exit: 0x10 (status 33) when every check passed, 0x11 (35) otherwise.
; The lines depend on nothing that differs between a real CPU, QEMU and
; Ringside (no timing, no error-code EXT bits, no TLB-retention behaviour).
;
; How a check runs: the kernel (CPL 0) saves its stack pointer and a
; recovery address, then either enters ring 3 with IRET (SDM Vol. 3
; §6.12.1; the user code ends with INT 0x80 or by faulting) or executes the
; faulting instruction itself.  Every exception and INT 0x80 lands in
; isr_common, which records the vector, error code, the CPU's frame and
; CR2, and continues at the recovery address on the saved stack.  The
; checks then compare the record with what the SDM says.
;
; Memory: paging on (SDM Vol. 3 §4.3), 0-4 MiB identity-mapped by one page
; table, supervisor-only except the user pages (.text.user: user read-only;
; the user stack page: user read/write; user_ro_page: user read-only).
; TESTPAGE (0x00300000) is not present until a check maps it.
;
; UMIP needs a CPU that has it: the QEMU reference is recorded with
; `-cpu qemu32,+umip` (systest/qemu-args, read by check-qemu.sh).  QEMU 7.2's
; default qemu32 model lacks UMIP and, instead of #GP(0), loops on the
; reserved CR4 bit (an SVM exit outside SVM), so the probe cannot run there.
;
; Segments: 0x08/0x10 kernel code/data, 0x1B/0x23 user code/data, 0x28 the
; TSS (SS0:ESP0 and an I/O bitmap for ports 0-0x3FF plus the trailing 0xFF
; byte: every port allowed except 0x80), 0x33 a DPL-3 call gate to
; gate_handler with two parameters (SDM Vol. 3 §5.8.3).

bits 32

%include "multiboot.inc"
section .text progbits alloc exec nowrite align=4096
section .bss nobits alloc noexec write align=4096
%include "serial.inc"
%include "x86.inc"

SEL_KCODE       equ 0x08
SEL_KDATA       equ 0x10
SEL_UCODE       equ 0x18 | 3
SEL_UDATA       equ 0x20 | 3
SEL_TSS         equ 0x28
SEL_GATE        equ 0x30 | 3

PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_U           equ 1 << 2
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_UMIP        equ 1 << 11
TESTPAGE        equ 0x00300000

IOMAP_BYTES     equ 0x80                ; ports 0-0x3FF
TSS_SIZE        equ 104 + IOMAP_BYTES + 1
NOTHING         equ 0xDEADDEAD          ; a record nobody wrote

; EXPECT got, want — compare two dwords (registers, memory, constants);
; the first mismatch of a check is kept for its FAIL line.
%macro EXPECT 2
        push    dword %2
        push    dword %1
        call    expect
%endmacro

; REPORT `what` — print the check's line and count it.
%macro REPORT 1
[section .rodata]
%%s:    db      %1, 0
__SECT__
        mov     esi, %%s
        call    report
%endmacro

; USER entry, eflags — run `entry` at CPL 3 with a fresh user stack; the
; kernel continues after the macro when the user code traps back.
%macro USER 2
        call    reset_record
        mov     dword [recover], %%back
        mov     [saved_esp], esp
        mov     ebx, %1
        mov     ecx, %2
        jmp     enter_user
%%back:
%endmacro

; KTRY — the next instruction may fault at CPL 0: continue after it either way.
%macro KTRY_BEGIN 0
        call    reset_record
        mov     dword [recover], %%back
        mov     [saved_esp], esp
%define KTRY_LABEL %%back
%endmacro
%macro KTRY_END 0
KTRY_LABEL:
%endmacro

; ====================================================================
section .text
global _start
_start:
        cli
        mov     esp, main_stack_top
        call    serial_init
        call    mask_pics

        ; --- GDT: the TSS descriptor and the call gate are built at run time
        mov     edi, gdt + SEL_TSS
        mov     eax, tss
        mov     ebx, TSS_SIZE - 1
        mov     cx, (FLAGS_BYTE << 8) | ACC_TSS32
        call    set_desc
        mov     edi, gdt + (SEL_GATE & ~3)
        mov     eax, gate_handler
        mov     bx, SEL_KCODE
        mov     cl, GATE_CALL32 | GATE_DPL3
        call    set_gate
        mov     byte [gdt + (SEL_GATE & ~3) + 4], 2     ; two dword parameters
        lgdt    [gdtr]
        jmp     SEL_KCODE:.cs
.cs:    mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax

        ; --- TSS: SS0:ESP0 and the I/O permission bitmap (SDM Vol. 1 §19.5.2)
        mov     dword [tss + 4], kstack_top
        mov     dword [tss + 8], SEL_KDATA
        mov     word [tss + 102], 104                   ; the bitmap follows the TSS
        mov     edi, tss + 104
        mov     ecx, IOMAP_BYTES
        xor     al, al
        rep stosb                                       ; every port allowed ...
        mov     byte [tss + 104 + IOMAP_BYTES], 0xFF    ; ... the trailing byte
        or      byte [tss + 104 + 0x80 / 8], 1 << (0x80 % 8)    ; ... except port 0x80
        mov     ax, SEL_TSS
        ltr     ax

        ; --- IDT: exceptions 0-31 and INT 0x81 with DPL 0, INT 0x80 with DPL 3
        mov     edi, idt
        mov     esi, exc_stubs
        mov     bx, SEL_KCODE
        mov     edx, 32
.fill:  lodsd
        mov     cl, GATE_INT32
        call    set_gate
        add     edi, 8
        dec     edx
        jnz     .fill
        mov     edi, idt + 0x80 * 8
        mov     eax, isr_0x80
        mov     cl, GATE_INT32 | GATE_DPL3
        call    set_gate
        mov     edi, idt + 0x81 * 8
        mov     eax, isr_0x81
        mov     cl, GATE_INT32
        call    set_gate
        lidt    [idtr]

        ; --- paging: identity map 0-4 MiB, supervisor read/write ...
        mov     edi, page_table
        mov     eax, PTE_P | PTE_W
        mov     ecx, 1024
.map:   stosd
        add     eax, 4096
        loop    .map
        mov     esi, user_text_start                    ; ... user code: U, read-only
        mov     edi, user_text_end
        mov     ebx, PTE_P | PTE_U
        call    set_range
        mov     esi, user_stack_page                    ; ... user stack: U, read/write
        lea     edi, [esi + 4096]
        mov     ebx, PTE_P | PTE_W | PTE_U
        call    set_range
        mov     esi, user_ro_page                       ; ... U, read-only
        lea     edi, [esi + 4096]
        mov     ebx, PTE_P | PTE_U
        call    set_range
        mov     dword [page_table + (TESTPAGE >> 12) * 4], 0
        mov     eax, page_table
        or      eax, PTE_P | PTE_W | PTE_U
        mov     [page_dir], eax
        mov     eax, page_dir
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

        PRINT   `systest: protected-mode system architecture checks\r\n`
        call    checks
        PRINT   `systest: `
        PDEC    [passed]
        PRINT   ` passed, `
        PDEC    [failed]
        PRINT   ` failed\r\n`
        cmp     dword [failed], 0
        jne     .bad
        DEBUG_EXIT 0x10
.bad:   DEBUG_EXIT 0x11

; set_range — PTE flags EBX for every page in [ESI, EDI).
set_range:
        push    esi
.next:  cmp     esi, edi
        jae     .done
        mov     eax, esi
        shr     eax, 12
        mov     edx, esi
        and     edx, ~0xFFF
        or      edx, ebx
        mov     [page_table + eax * 4], edx
        add     esi, 4096
        jmp     .next
.done:  pop     esi
        ret

; enter_user — IRET to CPL 3 at EBX with EFLAGS ECX on the fresh user stack.
enter_user:
        push    dword SEL_UDATA
        push    dword user_stack_top
        push    ecx
        push    dword SEL_UCODE
        push    ebx
        mov     ax, SEL_UDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        iretd

; ====================================================================
; The checks.

checks:
        ; ---- call gate inward, RETF outward (SDM Vol. 3 §5.8.5, Figure 5-13; RET)
        USER    u_gate, 0x202
        EXPECT  [g_ss], SEL_KDATA
        EXPECT  [g_esp], kstack_top - 24
        EXPECT  [g_frame + 0], u_gate.ret
        EXPECT  [g_frame + 4], SEL_UCODE
        EXPECT  [g_frame + 8], 0x22222222
        EXPECT  [g_frame + 12], 0x11111111
        EXPECT  [g_frame + 16], user_stack_top - 8
        EXPECT  [g_frame + 20], SEL_UDATA
        REPORT  "call gate from CPL 3: SS0:ESP0 from the TSS; SS, ESP, 2 parameters, CS, EIP pushed"
        EXPECT  [rec_vec], 0x80
        EXPECT  [rec_eip], u_gate.back
        EXPECT  [rec_esp], user_stack_top
        EXPECT  [rec_ebx], 0
        REPORT  "RETF 8 to CPL 3: SS:ESP popped, parameters released, DPL-0 DS nulled"

        ; ---- IRET to ring 3 and INT 0x80 back (SDM Vol. 3 §6.12.1, Figure 6-4)
        USER    u_int80, 0x202
        EXPECT  [rec_vec], 0x80
        EXPECT  [rec_eip], u_int80.after
        EXPECT  [rec_cs], SEL_UCODE
        EXPECT  [rec_eflags], 0x202
        EXPECT  [rec_esp], user_stack_top
        EXPECT  [rec_ss], SEL_UDATA
        REPORT  "IRET to CPL 3, INT 0x80 back: EIP, CS, EFLAGS, ESP, SS on the ring-0 stack"

        USER    u_int81, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_err], 0x81 * 8 + 2
        EXPECT  [rec_eip], u_int81
        REPORT  "INT 0x81 through a DPL-0 gate at CPL 3: #GP(0x40a) at the INT"

        ; ---- the silent flag rules and IOPL (SDM POPF, CLI)
        USER    u_popf, 0x202
        EXPECT  [rec_vec], 0x80
        EXPECT  [rec_ebx], 0x202
        EXPECT  [rec_ecx], 0x203
        REPORT  "POPF at CPL 3, IOPL 0: CF loaded, IF and IOPL silently kept"

        USER    u_cli, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_err], 0
        EXPECT  [rec_eip], u_cli
        REPORT  "CLI at CPL 3, IOPL 0: #GP(0)"

        USER    u_iopl3, 0x3202
        EXPECT  [rec_vec], 0x80
        EXPECT  [rec_ebx], 0x3002
        EXPECT  [rec_ecx], 0x3002
        REPORT  "IOPL 3: CLI allowed at CPL 3, POPF still cannot change IOPL"

        ; ---- the I/O permission bitmap (SDM Vol. 1 §19.5)
        USER    u_in_lsr, 0x202
        EXPECT  [rec_vec], 0x80
        REPORT  "I/O bitmap: IN from port 0x3fd allowed at CPL 3"

        USER    u_out80, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_err], 0
        EXPECT  [rec_eip], u_out80
        REPORT  "I/O bitmap: OUT to port 0x80 (bit set) is #GP(0)"

        USER    u_in3ff, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_eip], u_in3ff.in
        REPORT  "I/O bitmap: word IN at 0x3ff reaches the trailing 0xff byte: #GP(0)"

        USER    u_in400, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_eip], u_in400.in
        REPORT  "I/O bitmap: port 0x400 lies beyond the bitmap: #GP(0)"

        USER    u_out80, 0x3202
        EXPECT  [rec_vec], 0x80
        REPORT  "IOPL 3: OUT to port 0x80 allowed, the bitmap is not consulted"

        ; ---- UMIP (SDM Vol. 3 §2.5): only when CR4.UMIP can be set
        KTRY_BEGIN
        mov     eax, cr4
        or      eax, CR4_UMIP
        mov     cr4, eax
        KTRY_END
        cmp     dword [rec_vec], NOTHING
        jne     .no_umip
        USER    u_sgdt, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_eip], u_sgdt
        USER    u_str, 0x202
        EXPECT  [rec_vec], 13
        EXPECT  [rec_eip], u_str
        mov     eax, cr4
        and     eax, ~CR4_UMIP
        mov     cr4, eax
        USER    u_sgdt, 0x202
        EXPECT  [rec_vec], 0x80
        REPORT  "UMIP: SGDT and STR at CPL 3 are #GP(0) with CR4.UMIP set, allowed again without it"
        jmp     .umip_done
.no_umip:
        ; A CPU without UMIP rejects the CR4 bit with #GP(0); the line says so.
        EXPECT  [rec_vec], 13
        EXPECT  [rec_err], 0
        REPORT  "UMIP: not supported, MOV to CR4.UMIP is #GP(0)"
.umip_done:

        ; ---- page faults from CPL 3 (SDM Vol. 3 §4.6, §4.7)
        USER    u_pf_np, 0x202
        EXPECT  [rec_vec], 14
        EXPECT  [rec_err], 4
        EXPECT  [rec_cr2], TESTPAGE + 0x10
        EXPECT  [rec_eip], u_pf_np
        REPORT  "#PF: user read of a not-present page: error 4, CR2, EIP of the access"

        USER    u_pf_ro, 0x202
        EXPECT  [rec_vec], 14
        EXPECT  [rec_err], 7
        EXPECT  [rec_cr2], user_ro_page + 8
        REPORT  "#PF: user write to a read-only user page: error 7"

        USER    u_pf_sup, 0x202
        EXPECT  [rec_vec], 14
        EXPECT  [rec_err], 5
        EXPECT  [rec_cr2], passed
        REPORT  "#PF: user read of a supervisor page: error 5"

        ; ---- CR0.WP (SDM Vol. 3 §4.6.1)
        KTRY_BEGIN
        mov     dword [user_ro_page], 0x600df00d
        KTRY_END
        EXPECT  [rec_vec], NOTHING
        EXPECT  [user_ro_page], 0x600df00d
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        KTRY_BEGIN
.wp:    mov     dword [user_ro_page], 0xbad
        KTRY_END
        EXPECT  [rec_vec], 14
        EXPECT  [rec_err], 3
        EXPECT  [rec_eip], .wp
        EXPECT  [user_ro_page], 0x600df00d
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
        REPORT  "CR0.WP: supervisor write to a read-only page allowed with WP=0, #PF error 3 with WP=1"

        ; ---- INVLPG after a remap (SDM INVLPG, Vol. 3 §4.10.4.1)
        mov     dword [frame_a + 0x10], 0xaaaa0001
        mov     dword [frame_b + 0x10], 0xbbbb0002
        mov     eax, frame_a
        or      eax, PTE_P | PTE_W
        mov     [page_table + (TESTPAGE >> 12) * 4], eax
        invlpg  [TESTPAGE]
        mov     ebx, [TESTPAGE + 0x10]
        mov     eax, frame_b
        or      eax, PTE_P | PTE_W
        mov     [page_table + (TESTPAGE >> 12) * 4], eax
        invlpg  [TESTPAGE]
        mov     ecx, [TESTPAGE + 0x10]
        mov     dword [page_table + (TESTPAGE >> 12) * 4], 0
        invlpg  [TESTPAGE]
        EXPECT  ebx, 0xaaaa0001
        EXPECT  ecx, 0xbbbb0002
        KTRY_BEGIN
.np:    mov     eax, [TESTPAGE + 0x10]
        KTRY_END
        EXPECT  [rec_vec], 14
        EXPECT  [rec_err], 0
        EXPECT  [rec_eip], .np
        EXPECT  [rec_cr2], TESTPAGE + 0x10
        REPORT  "INVLPG: a remapped page reads its new frame, an unmapped one faults (error 0)"

        ; ---- double fault (SDM Vol. 3 §6.15 interrupt 8, Table 6-5)
        and     byte [idt + 13 * 8 + 5], 0x7F           ; #GP gate not present
        KTRY_BEGIN
        mov     ax, 0xFFF8                              ; beyond the GDT: #GP(0xfff8)
        mov     ds, ax
        KTRY_END
        or      byte [idt + 13 * 8 + 5], 0x80
        mov     ax, SEL_KDATA
        mov     ds, ax
        EXPECT  [rec_vec], 8
        EXPECT  [rec_err], 0
        REPORT  "#GP while delivering #GP (gate not present, #NP): #DF with error code 0"
        ret

; ====================================================================
; gate_handler — the call gate's target at CPL 0: record SS, ESP and the
; frame, load a DPL-0 DS, and return to CPL 3 releasing the parameters.
gate_handler:
        mov     [g_esp], esp
        xor     eax, eax
        mov     ax, ss
        mov     [g_ss], eax
        mov     ecx, 6
        xor     esi, esi
.copy:  mov     eax, [esp + esi * 4]
        mov     [g_frame + esi * 4], eax
        inc     esi
        loop    .copy
        mov     ax, SEL_KDATA
        mov     ds, ax
        retf    8

; ====================================================================
; Exception and interrupt entry: one frame for all, then isr_common.

%macro EXC_STUB 1
exc_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17)
%else
        push    dword 0
%endif
        push    dword %1
        jmp     isr_common
%endmacro
%assign v 0
%rep 32
        EXC_STUB v
%assign v v + 1
%endrep
isr_0x80:
        push    dword 0
        push    dword 0x80
        jmp     isr_common
isr_0x81:
        push    dword 0
        push    dword 0x81
        jmp     isr_common

; isr_common — record the event and continue at [recover] on [saved_esp].
; Stack: vector, error code, EIP, CS, EFLAGS, and ESP, SS from CPL 3.
isr_common:
        mov     [ss:rec_ebx], ebx       ; SS is the kernel's: DS may be null
        mov     [ss:rec_ecx], ecx
        mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        pop     dword [rec_vec]
        pop     dword [rec_err]
        pop     dword [rec_eip]
        pop     dword [rec_cs]
        pop     dword [rec_eflags]
        test    byte [rec_cs], 3
        jz      .same
        pop     dword [rec_esp]
        pop     dword [rec_ss]
.same:  mov     eax, cr2
        mov     [rec_cr2], eax
        mov     esp, [saved_esp]
        jmp     [recover]

; reset_record — every field to NOTHING.
reset_record:
        push    eax
        push    ecx
        push    edi
        mov     edi, record
        mov     ecx, RECORD_DWORDS
        mov     eax, NOTHING
        rep stosd
        pop     edi
        pop     ecx
        pop     eax
        ret

; expect — [ESP+4] got, [ESP+8] want; keeps the first mismatch.
expect:
        push    eax
        mov     eax, [esp + 8]
        cmp     eax, [esp + 12]
        je      .same
        cmp     byte [check_failed], 0
        jne     .same
        mov     byte [check_failed], 1
        mov     [fail_got], eax
        mov     eax, [esp + 12]
        mov     [fail_want], eax
.same:  pop     eax
        ret     8

; report — print "ok N - text" or "FAIL N - text: got X want Y" (ESI = text).
report:
        inc     dword [check_no]
        cmp     byte [check_failed], 0
        jne     .fail
        inc     dword [passed]
        PRINT   `ok `
        PDEC    [check_no]
        PRINT   ` - `
        call    serial_puts
        PRINT   `\r\n`
        ret
.fail:  inc     dword [failed]
        mov     byte [check_failed], 0
        PRINT   `FAIL `
        PDEC    [check_no]
        PRINT   ` - `
        call    serial_puts
        PRINT   `: got `
        PHEX    [fail_got], 8
        PRINT   ` want `
        PHEX    [fail_want], 8
        PRINT   `\r\n`
        ret

; ====================================================================
; User code: runs at CPL 3, ends with INT 0x80 or a fault.

section .text.user progbits alloc exec nowrite align=4096
user_text_start:

u_gate:
        push    dword 0x11111111
        push    dword 0x22222222
        call    SEL_GATE:0
.ret:   mov     ebx, ds                 ; 0: RETF nulled the DPL-0 DS
        int     0x80
.back:

u_int80:
        int     0x80
.after:

u_int81:
        int     0x81

u_popf:
        pushfd
        pop     ebx                     ; 0x202
        mov     eax, ebx
        xor     eax, 0x3200             ; IF 1 -> 0, IOPL 0 -> 3 ...
        or      eax, 1                  ; ... and CF
        push    eax
        popfd
        pushfd
        pop     ecx                     ; 0x203: only CF changed
        int     0x80

u_cli:
        cli

u_iopl3:
        cli
        pushfd
        pop     ebx                     ; 0x3002: IF cleared, IOPL 3
        push    dword 0x0202            ; try IOPL 0, IF 1
        popfd
        cli
        pushfd
        pop     ecx                     ; 0x3002: IOPL still 3
        int     0x80

u_in_lsr:
        mov     dx, 0x3FD
        in      al, dx
        int     0x80

u_out80:
        out     0x80, al
        int     0x80

u_in3ff:
        mov     dx, 0x3FF
.in:    in      ax, dx

u_in400:
        mov     dx, 0x400
.in:    in      al, dx

u_sgdt:
        sgdt    [user_stack_top - 8]
        int     0x80

u_str:
        str     eax
        int     0x80

u_pf_np:
        mov     eax, [TESTPAGE + 0x10]

u_pf_ro:
        mov     [user_ro_page + 8], eax

u_pf_sup:
        mov     eax, [passed]

        align   4096, db 0xCC
user_text_end:

; ====================================================================
section .rodata
align 4
exc_stubs:
%assign v 0
%rep 32
        dd      exc_ %+ v
%assign v v + 1
%endrep

section .data
align 16
gdt:
        dq      0                                       ; 0x00
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL0, FLAGS_4K_32  ; 0x08 kernel code
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL0, FLAGS_4K_32  ; 0x10 kernel data
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL3, FLAGS_4K_32  ; 0x18 user code
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL3, FLAGS_4K_32  ; 0x20 user data
        dq      0                                       ; 0x28 TSS
        dq      0                                       ; 0x30 call gate
gdt_end:
align 4
        dw      0
gdtr:   dw      gdt_end - gdt - 1
        dd      gdt
        dw      0
idtr:   dw      256 * 8 - 1
        dd      idt
passed:         dd      0
failed:         dd      0
check_no:       dd      0
check_failed:   db      0

; ====================================================================
section .bss
alignb 4096
page_dir:       resb    4096
page_table:     resb    4096
frame_a:        resb    4096
frame_b:        resb    4096
idt:            resb    256 * 8
tss:            resb    TSS_SIZE
alignb 4
record:
rec_vec:        resd    1
rec_err:        resd    1
rec_eip:        resd    1
rec_cs:         resd    1
rec_eflags:     resd    1
rec_esp:        resd    1
rec_ss:         resd    1
rec_cr2:        resd    1
rec_ebx:        resd    1
rec_ecx:        resd    1
RECORD_DWORDS   equ ($ - record) / 4
g_ss:           resd    1
g_esp:          resd    1
g_frame:        resd    6
recover:        resd    1
saved_esp:      resd    1
fail_got:       resd    1
fail_want:      resd    1
alignb 16
main_stack:     resb    4096
main_stack_top:
kstack:         resb    4096
kstack_top:

section .bss.user nobits alloc noexec write align=4096
user_stack_page: resb   4096
user_stack_top:
user_ro_page:   resb    4096
