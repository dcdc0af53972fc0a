; shadow.asm — a self-checking guest for paging as a kernel uses it, the
; behaviour a shadow-paging monitor must reproduce (Ringside's `trap`
; technique; Tests/MonitorsTests/ShadowPagingTests.swift).
;
; Built like the demos (nasm -f elf32, demos/link.ld: multiboot v1 ELF at
; 1 MiB); `make -C tests/guests shadow.elf`.  The reference output
; shadow.out is QEMU's (status 33):
;   qemu-system-i386 -kernel tests/guests/shadow.elf -display none
;     -serial stdio -monitor none -no-reboot -nic none
;     -device isa-debug-exit,iobase=0xf4,iosize=0x04
;
; Each check prints one line of hex values ending in "ok" or "FAIL", then
; the guest prints "shadow: P passed, F failed" and leaves through
; debug-exit: 0x10 (status 33) when every check passed, 0x11 (35) otherwise.
; Everything runs at CPL 0 with IF = 0; after every PTE change the guest
; executes INVLPG (SDM Vol. 3 §4.10.4.1) except where a check says why not,
; so nothing depends on what a TLB happens to retain.
;
; Checks (SDM Vol. 3 chapter 4):
;   a  a PTE write takes effect: X -> frame A, write/read through X; X ->
;      frame B + INVLPG: X reads B's content
;   b  a not-present PTE made present works without INVLPG (§4.10.2.3: no
;      TLB entry is made from a not-present entry)
;   c  CR3 switch: two directories map X to different frames; switching
;      changes what X reads, switching back restores it
;   d  accessed and dirty bits (§4.8): a read sets A only, a write sets D
;   e  a true #PF: a write to a not-present page at CPL 0 gives error code
;      0x2 and CR2 = the address; the handler maps the page, the write retries
;   f  CR0.WP = 1: a supervisor write to a read-only page gives #PF 0x3
;   g  a 4 MiB page (CR4.PSE, §4.3): two PDEs alias one 4 MiB frame
;   h  the kernel maps its own page directory at 0xC0000000 (a recursive
;      entry) and writes a PTE through that mapping; INVLPG; it takes effect
;   i  CR0.WP = 0: a supervisor write to a read-only page succeeds (§4.6.1)
;
; The #PF handler records CR2 and the error code, then, as the check asks,
; maps the faulting page (writing its PTE through the recursive mapping)
; and retries, or skips to the check's resume address.

bits 32

%include "multiboot.inc"
section .text progbits alloc exec nowrite align=16
section .rodata progbits alloc noexec nowrite align=16
section .data progbits alloc noexec write align=4096
section .bss nobits alloc noexec write align=4096
%include "serial.inc"
%include "x86.inc"

SEL_CODE        equ 0x08
SEL_DATA        equ 0x10

PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_A           equ 1 << 5
PTE_D           equ 1 << 6
PDE_PS          equ 1 << 7
CR0_WP          equ 1 << 16
CR0_PG          equ 1 << 31
CR4_PSE         equ 1 << 4

; Test pages: PDE 1 (0x00400000-0x007FFFFF) through pt_test.
PAGE_X          equ 0x00400000          ; a, c
PAGE_Y          equ 0x00401000          ; b
PAGE_D          equ 0x00402000          ; d
PAGE_Z          equ 0x00403000          ; h
PAGE_W          equ 0x00404000          ; e
PAGE_R          equ 0x00405000          ; f, i
SELFMAP         equ 0xC0000000          ; PDE 0x300 -> the directory itself
BIG1            equ 0x01000000          ; g: PDE 4 -> 4 MiB frame at 0x00400000
BIG2            equ 0x01400000          ; g: PDE 5 -> the same frame
BIG_FRAME       equ 0x00400000

; The PTE of linear address `lin`, through the recursive mapping.
%define PTE_OF(lin) (SELFMAP + ((lin) >> 10))

PF_NONE         equ 0                   ; a #PF is a failure
PF_SKIP         equ 1                   ; continue at [pf_resume]
PF_MAP          equ 2                   ; map the page to [pf_map_to], retry

; CHECK got, want — mark the current check failed when they differ.
%macro CHECK 2
        push    eax
        mov     eax, %1
        cmp     eax, %2
        pop     eax
        je      %%same
        mov     byte [cur_fail], 1
%%same:
%endmacro

; PX value — print " 0x" and 8 hex digits.
%macro PX 1
        PRINT   " "
        PHEX    %1, 8
%endmacro

; INVLPG_AT lin
%macro INVLPG_AT 1
        mov     eax, %1
        invlpg  [eax]
%endmacro

section .text
global _start
_start:
        cli
        mov     esp, stack_top
        call    serial_init
        lgdt    [gdt_ptr]
        jmp     SEL_CODE:.cs
.cs:    mov     ax, SEL_DATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        call    build_idt
        lidt    [idt_ptr]
        call    build_tables

        mov     eax, pd_a
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG | CR0_WP
        mov     cr0, eax
        jmp     .paged
.paged: PRINT   `shadow: paging on\r\n`

        call    check_a
        call    check_b
        call    check_c
        call    check_d
        call    check_e
        call    check_f
        call    check_g
        call    check_h
        call    check_i

        PRINT   "shadow: "
        PDEC    [passed]
        PRINT   " passed, "
        PDEC    [failed]
        PRINT   ` failed\r\n`
        cmp     dword [failed], 0
        jne     .bad
        DEBUG_EXIT 0x10
.bad:   DEBUG_EXIT 0x11

; end_check — finish the current line with "ok"/"FAIL" and count it.
end_check:
        cmp     byte [cur_fail], 0
        jne     .fail
        PRINT   ` ok\r\n`
        inc     dword [passed]
        ret
.fail:  PRINT   ` FAIL\r\n`
        inc     dword [failed]
        mov     byte [cur_fail], 0
        ret

; ---------------------------------------------------------------- a
check_a:
        mov     dword [pt_test + 0*4], frame_a + (PTE_P | PTE_W)
        INVLPG_AT PAGE_X
        mov     dword [PAGE_X], 0xaaaa0001
        PRINT   "a pte write: X->A reads"
        mov     ebx, [PAGE_X]
        PX      ebx
        CHECK   ebx, 0xaaaa0001
        PRINT   ", frame A holds"
        mov     ebx, [frame_a]
        PX      ebx
        CHECK   ebx, 0xaaaa0001
        mov     dword [pt_test + 0*4], frame_b + (PTE_P | PTE_W)
        INVLPG_AT PAGE_X
        PRINT   "; X->B + invlpg reads"
        mov     ebx, [PAGE_X]
        PX      ebx
        CHECK   ebx, 0xbbbb0002
        jmp     end_check

; ---------------------------------------------------------------- b
check_b:
        mov     dword [pf_mode], PF_SKIP
        mov     dword [pf_resume], .after
        mov     ebx, 0x11111111
        mov     ebx, [PAGE_Y]           ; not present: #PF, skipped
.after: mov     dword [pf_mode], PF_NONE
        PRINT   "b not-present Y faults: cr2"
        PX      [pf_cr2]
        CHECK   [pf_cr2], PAGE_Y
        PRINT   " err"
        PX      [pf_err]
        CHECK   [pf_err], 0
        CHECK   ebx, 0x11111111
        ; Present now, and no INVLPG: a not-present entry is never cached.
        mov     dword [pt_test + 1*4], frame_c + (PTE_P | PTE_W)
        PRINT   "; made present, no invlpg, reads"
        mov     ebx, [PAGE_Y]
        PX      ebx
        CHECK   ebx, 0xcccc0003
        jmp     end_check

; ---------------------------------------------------------------- c
check_c:
        PRINT   "c cr3 switch: X under A reads"
        mov     ebx, [PAGE_X]
        PX      ebx
        CHECK   ebx, 0xbbbb0002
        mov     eax, pd_b
        mov     cr3, eax
        PRINT   ", under B"
        mov     ebx, [PAGE_X]
        PX      ebx
        CHECK   ebx, 0xcccc0003
        mov     eax, cr3
        CHECK   eax, pd_b
        mov     eax, pd_a
        mov     cr3, eax
        PRINT   ", under A again"
        mov     ebx, [PAGE_X]
        PX      ebx
        CHECK   ebx, 0xbbbb0002
        jmp     end_check

; ---------------------------------------------------------------- d
check_d:
        mov     dword [pt_test + 2*4], frame_d + (PTE_P | PTE_W)
        INVLPG_AT PAGE_D
        PRINT   "d accessed/dirty: pte"
        PX      [pt_test + 2*4]
        mov     ebx, [PAGE_D]
        PRINT   ", after a read"
        mov     ebx, [pt_test + 2*4]
        PX      ebx
        and     ebx, PTE_A | PTE_D
        CHECK   ebx, PTE_A
        mov     dword [PAGE_D], 0xdddd0004
        PRINT   ", after a write"
        mov     ebx, [pt_test + 2*4]
        PX      ebx
        and     ebx, PTE_A | PTE_D
        CHECK   ebx, PTE_A | PTE_D
        CHECK   [frame_d], 0xdddd0004
        jmp     end_check

; ---------------------------------------------------------------- e
check_e:
        mov     dword [pf_mode], PF_MAP
        mov     dword [pf_map_to], frame_e + (PTE_P | PTE_W)
        mov     dword [pf_count], 0
        mov     dword [PAGE_W], 0xeeee0005   ; not present: #PF, mapped, retried
        mov     dword [pf_mode], PF_NONE
        PRINT   "e write to not-present W: cr2"
        PX      [pf_cr2]
        CHECK   [pf_cr2], PAGE_W
        PRINT   " err"
        PX      [pf_err]
        CHECK   [pf_err], 0x2
        PRINT   " faults"
        PX      [pf_count]
        CHECK   [pf_count], 1
        PRINT   "; retried, frame holds"
        PX      [frame_e]
        CHECK   [frame_e], 0xeeee0005
        jmp     end_check

; ---------------------------------------------------------------- f
check_f:
        mov     dword [pt_test + 5*4], frame_a + PTE_P      ; read-only
        INVLPG_AT PAGE_R
        PRINT   "f wp=1 write to read-only R: reads"
        mov     ebx, [PAGE_R]
        PX      ebx
        CHECK   ebx, 0xaaaa0001
        mov     dword [pf_mode], PF_SKIP
        mov     dword [pf_resume], .after
        mov     dword [PAGE_R], 0x12345678   ; #PF, skipped
.after: mov     dword [pf_mode], PF_NONE
        PRINT   ", cr2"
        PX      [pf_cr2]
        CHECK   [pf_cr2], PAGE_R
        PRINT   " err"
        PX      [pf_err]
        CHECK   [pf_err], 0x3
        PRINT   ", frame holds"
        PX      [frame_a]
        CHECK   [frame_a], 0xaaaa0001
        jmp     end_check

; ---------------------------------------------------------------- g
check_g:
        mov     eax, cr4
        or      eax, CR4_PSE
        mov     cr4, eax
        mov     dword [pd_a + (BIG1 >> 22) * 4], BIG_FRAME + (PDE_PS | PTE_P | PTE_W)
        mov     dword [pd_a + (BIG2 >> 22) * 4], BIG_FRAME + (PDE_PS | PTE_P | PTE_W)
        INVLPG_AT BIG1 + 0x1238
        INVLPG_AT BIG2 + 0x1238
        mov     dword [BIG1 + 0x1238], 0x99990007
        PRINT   "g 4 MiB pages: read through the alias"
        mov     ebx, [BIG2 + 0x1238]
        PX      ebx
        CHECK   ebx, 0x99990007
        PRINT   ", pdes"
        mov     ebx, [pd_a + (BIG1 >> 22) * 4]
        PX      ebx
        CHECK   ebx, BIG_FRAME + (PDE_PS | PTE_P | PTE_W | PTE_A | PTE_D)
        mov     ebx, [pd_a + (BIG2 >> 22) * 4]
        PX      ebx
        CHECK   ebx, BIG_FRAME + (PDE_PS | PTE_P | PTE_W | PTE_A)
        jmp     end_check

; ---------------------------------------------------------------- h
check_h:
        mov     dword [PTE_OF(PAGE_Z)], frame_c + (PTE_P | PTE_W)
        INVLPG_AT PAGE_Z
        PRINT   "h pte written through the recursive map: Z->C reads"
        mov     ebx, [PAGE_Z]
        PX      ebx
        CHECK   ebx, 0xcccc0003
        mov     dword [PTE_OF(PAGE_Z)], frame_b + (PTE_P | PTE_W)
        INVLPG_AT PAGE_Z
        PRINT   ", Z->B reads"
        mov     ebx, [PAGE_Z]
        PX      ebx
        CHECK   ebx, 0xbbbb0002
        PRINT   ", pte"
        mov     ebx, [pt_test + 3*4]
        PX      ebx
        CHECK   ebx, frame_b + (PTE_P | PTE_W | PTE_A)
        PRINT   " ="
        PX      [PTE_OF(PAGE_Z)]
        CHECK   [PTE_OF(PAGE_Z)], ebx
        jmp     end_check

; ---------------------------------------------------------------- i
check_i:
        mov     eax, cr0
        and     eax, ~CR0_WP
        mov     cr0, eax
        mov     dword [pf_count], 0
        mov     dword [PAGE_R], 0x5a5a0008   ; read-only, but WP = 0: no fault
        mov     eax, cr0
        or      eax, CR0_WP
        mov     cr0, eax
        PRINT   "i wp=0 write to read-only R: frame holds"
        PX      [frame_a]
        CHECK   [frame_a], 0x5a5a0008
        PRINT   ", faults"
        PX      [pf_count]
        CHECK   [pf_count], 0
        PRINT   ", pte"
        mov     ebx, [pt_test + 5*4]
        PX      ebx
        CHECK   ebx, frame_a + (PTE_P | PTE_A | PTE_D)
        jmp     end_check

; ---------------------------------------------------------------- setup

; build_tables — pd_a: PDE 0 identity-maps 0-4 MiB (pt0), PDE 1 the test
; pages (pt_test, all not present), PDE 0x300 the directory itself; pd_b:
; the same PDE 0, and PDE 1 -> pt_test_b, which maps X to frame C.
build_tables:
        mov     edi, tables_start
        mov     ecx, (tables_end - tables_start) / 4
        xor     eax, eax
        cld
        rep stosd
        mov     edi, pt0
        mov     eax, PTE_P | PTE_W
.ident: stosd
        add     eax, 0x1000
        cmp     edi, pt0 + 4096
        jb      .ident
        mov     dword [pd_a + 0*4], pt0 + (PTE_P | PTE_W)
        mov     dword [pd_a + 1*4], pt_test + (PTE_P | PTE_W)
        mov     dword [pd_a + (SELFMAP >> 22) * 4], pd_a + (PTE_P | PTE_W)
        mov     dword [pd_b + 0*4], pt0 + (PTE_P | PTE_W)
        mov     dword [pd_b + 1*4], pt_test_b + (PTE_P | PTE_W)
        mov     dword [pt_test_b + 0*4], frame_c + (PTE_P | PTE_W)
        mov     dword [frame_b], 0xbbbb0002
        mov     dword [frame_c], 0xcccc0003
        ret

; build_idt — vectors 0-31: interrupt gates; 14 to pf_handler, the rest to
; a stub that reports the vector and fails.
build_idt:
        mov     edi, idt
        mov     bx, SEL_CODE
        mov     cl, GATE_INT32
        mov     esi, stubs
        xor     edx, edx
.gate:  mov     eax, esi
        cmp     edx, 14
        jne     .set
        mov     eax, pf_handler
.set:   call    set_gate
        add     edi, 8
        add     esi, STUB_SIZE
        inc     edx
        cmp     edx, 32
        jb      .gate
        ret

pf_handler:
        push    eax
        push    ebx
        mov     eax, cr2
        mov     [pf_cr2], eax
        mov     ebx, [esp + 8]          ; the error code
        mov     [pf_err], ebx
        inc     dword [pf_count]
        cmp     dword [pf_mode], PF_MAP
        je      .map
        cmp     dword [pf_mode], PF_SKIP
        jne     .unexpected
        mov     eax, [pf_resume]
        mov     [esp + 12], eax         ; return EIP
        jmp     .ret
.map:   shr     eax, 10                 ; the PTE's offset in the recursive map
        and     eax, ~3
        mov     ebx, [pf_map_to]
        mov     [SELFMAP + eax], ebx
        mov     dword [pf_mode], PF_NONE  ; one shot: a second fault fails
.ret:   pop     ebx
        pop     eax
        add     esp, 4
        iret
.unexpected:
        PRINT   "unexpected #PF: cr2"
        PX      [pf_cr2]
        PRINT   " err"
        PX      [pf_err]
        PRINT   `\r\n`
        DEBUG_EXIT 0x11

STUB_SIZE equ 16
        align   16
stubs:
%assign v 0
%rep 32
        align   16
        push    dword v
        jmp     unexpected
%assign v v + 1
%endrep

unexpected:
        pop     eax
        PRINT   "unexpected exception"
        PX      eax
        PRINT   `\r\n`
        DEBUG_EXIT 0x11

; ---------------------------------------------------------------- data
section .data
        align   8
gdt:    dq      0
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL0, FLAGS_4K_32
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL0, FLAGS_4K_32
gdt_end:
gdt_ptr:
        dw      gdt_end - gdt - 1
        dd      gdt
        align   4
idt_ptr:
        dw      32 * 8 - 1
        dd      idt
        align   4
passed:     dd  0
failed:     dd  0
cur_fail:   dd  0
pf_mode:    dd  PF_NONE
pf_resume:  dd  0
pf_map_to:  dd  0
pf_cr2:     dd  0
pf_err:     dd  0
pf_count:   dd  0
        align   8
idt:    times 32 dq 0

section .bss
alignb 4096
tables_start:
pd_a:       resb 4096
pd_b:       resb 4096
pt0:        resb 4096
pt_test:    resb 4096
pt_test_b:  resb 4096
frame_a:    resb 4096
frame_b:    resb 4096
frame_c:    resb 4096
frame_d:    resb 4096
frame_e:    resb 4096
tables_end:
stack:      resb 8192
stack_top:
