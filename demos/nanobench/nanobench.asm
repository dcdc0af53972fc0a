; nanobench.asm — the virtualization nanobenchmarks of Adams & Agesen,
; "A Comparison of Software and Hardware Techniques for x86
; Virtualization" (ASPLOS 2006, §6.1; reference/virtualization.md §3.4).
;
; One source, one image per operation: `nasm -DOP=NAME` builds
; build/nano-NAME.elf, which performs its operation N times in a loop and
; prints one line.  N is ITERATIONS (10000) unless the multiboot command
; line says `iterations=N` (`ringside run --append`, `qemu -append`): the
; table of `make nanobench` runs each image twice, with two counts, so that
; whatever is done once per run cancels exactly.  The operations:
;
;   none     nothing: the empty loop, the baseline the others are measured
;            against (its cost is subtracted from theirs)
;   syscall  a system call round trip: INT 0x80 from ring 3 into a DPL-3
;            interrupt gate, whose handler returns at once with IRET
;   in       a port read: IN AL, 0x80 (the POST port: no device answers
;            it on a PC, so the instruction costs only the I/O bus)
;   cr       a control-register write: MOV CR0, EAX with CR0's own value.
;            IA-32 has no CR8 (the paper's `cr8wr`): CR0 is the register
;            every technique must handle — trap-and-emulate traps it, a
;            binary translator rewrites it, VT-x lets it through when the
;            guest/host mask bits match the read shadow
;   callret  a near CALL to a function that only RETurns
;   pgfault  a true page fault: a kernel read of a not-present page; the
;            #PF handler skips the 5-byte load and returns with IRET
;   divzero  a divide error: DIV by zero; the #DE handler skips the
;            2-byte DIV and returns
;   ptemod   a page-table-entry write: toggle the writable bit of a live
;            PTE (its table maps a page the kernel has touched), then
;            INVLPG that page, as a kernel must (SDM Vol. 3A §4.10.4)
;
; Everything but the loop is the same in every image — the set-up, the
; handlers, and the report, whose operation names are padded to one width
; — so every image prints the same number of bytes and the instructions
; and monitor events outside the loop cancel against `none`.  The kernel
; loop runs at CPL 0 (a binary translator translates it; the paper's
; kernel-mode nanobenchmarks); only `syscall` runs its loop at CPL 3.
;
; Memory (paging on, 4 KiB pages):
;   0x00000000-0x003FFFFF  identity-mapped by page_table0, user-accessible
;                          (the ring-3 loop runs from the same image)
;   0x00400000             identity-mapped by page_table1: the live page
;                          whose PTE `ptemod` rewrites
;   0x00401000             not present: `pgfault` reads it
; Segments: 0x08/0x10 kernel code/data, 0x1B/0x23 user code/data, 0x28
; the TSS (SS0:ESP0 for INT 0x80 from ring 3: a stack of its own, since
; op_loop's caller still lives on the kernel stack).  Interrupts stay off (no
; PIT, PICs masked): nothing but the operation happens in the loop.
;
; Exit: debug-exit 0x10 (status 33); an unexpected exception prints its
; vector and exits 0x11 (status 35).

bits 32

%include "multiboot.inc"
section .text progbits alloc exec nowrite align=4096
section .bss nobits alloc noexec write align=4096
%include "serial.inc"
%include "x86.inc"

%ifndef ITERATIONS
%define ITERATIONS 10000
%endif
%ifndef OP
%define OP none
%endif

SEL_KCODE       equ 0x08
SEL_KDATA       equ 0x10
SEL_UCODE       equ 0x18 | 3
SEL_UDATA       equ 0x20 | 3
SEL_TSS         equ 0x28

PTE_P           equ 1 << 0
PTE_W           equ 1 << 1
PTE_U           equ 1 << 2
CR0_PG          equ 1 << 31

LIVE_PAGE       equ 0x00400000      ; mapped through page_table1
ABSENT_PAGE     equ 0x00401000      ; not present

; ====================================================================
section .text
global _start
_start:
        cli
        mov     esp, kstack_top
        mov     dword [iterations], ITERATIONS
        cmp     eax, MB_BOOT_MAGIC
        jne     .no_cmdline
        test    dword [ebx], 1 << 2             ; multiboot info: cmdline valid
        jz      .no_cmdline
        mov     esi, [ebx + 16]                 ; paging is still off: physical = linear
        call    parse_iterations
.no_cmdline:
        call    serial_init
        call    mask_pics

        ; --- GDT with the TSS, segment registers reloaded
        mov     edi, gdt + SEL_TSS
        mov     eax, tss
        mov     ebx, TSS_SIZE - 1
        mov     cx, (FLAGS_BYTE << 8) | ACC_TSS32
        call    set_desc
        lgdt    [gdtr]
        jmp     SEL_KCODE:.cs_ok
.cs_ok: call    kernel_segments
        mov     dword [tss + 4], istack_top     ; ESP0: not the kernel's own stack
        mov     dword [tss + 8], SEL_KDATA      ; SS0
        mov     word [tss + 102], TSS_SIZE      ; no I/O permission bitmap
        mov     ax, SEL_TSS
        ltr     ax

        ; --- IDT: every exception to `unexpected`, then #DE, #PF, the
        ; system call (INT 0x80) and the way back from ring 3 (INT 0x81).
        mov     bx, SEL_KCODE
        mov     cl, GATE_INT32
        mov     eax, unexpected
        mov     edi, idt
.fill:  call    set_gate
        add     edi, 8
        cmp     edi, idt + 32 * 8
        jne     .fill
        mov     eax, de_handler
        mov     edi, idt + 0 * 8
        call    set_gate
        mov     eax, pf_handler
        mov     edi, idt + 14 * 8
        call    set_gate
        mov     cl, GATE_INT32 | GATE_DPL3
        mov     eax, syscall_handler
        mov     edi, idt + 0x80 * 8
        call    set_gate
        mov     eax, back_to_kernel
        mov     edi, idt + 0x81 * 8
        call    set_gate
        lidt    [idtr]

        ; --- paging: page_table0 identity-maps 0-4 MiB; page_table1 maps
        ; the live page only
        mov     edi, page_table0
        mov     eax, PTE_P | PTE_W | PTE_U
        mov     ecx, 1024
.map:   stosd
        add     eax, 4096
        loop    .map
        mov     dword [page_table1 + 0], LIVE_PAGE | PTE_P | PTE_W
        mov     eax, page_table0
        or      eax, PTE_P | PTE_W | PTE_U
        mov     [page_dir + 0], eax
        mov     eax, page_table1
        or      eax, PTE_P | PTE_W | PTE_U
        mov     [page_dir + 4], eax
        mov     eax, page_dir
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax
        ; Touch the live page: its page table is now in use (a shadow-paging
        ; monitor has shadowed it and traces writes to it).
        mov     eax, [LIVE_PAGE]

        ; --- the measured loop
        mov     ecx, [iterations]
        call    op_loop

        ; --- the report: the same length for every operation
        PRINT   `nanobench `
        mov     esi, op_name
        call    serial_puts
        PRINT   `: `
        PDEC    [iterations]
        PRINT   ` iterations\r\n`
        DEBUG_EXIT 0x10

; parse_iterations — N from `iterations=N` in the NUL-terminated string at
; ESI, if it is there (and N > 0).  Clobbers EAX, EDX, ESI, EDI.
parse_iterations:
.scan:  mov     edi, iterations_key
        push    esi
.same:  mov     al, [edi]
        test    al, al
        jz      .found                          ; the whole key matched
        cmp     al, [esi]
        jne     .miss
        inc     esi
        inc     edi
        jmp     .same
.miss:  pop     esi
        cmp     byte [esi], 0
        je      .done
        inc     esi
        jmp     .scan
.found: add     esp, 4
        xor     eax, eax
.digit: movzx   edx, byte [esi]
        sub     edx, '0'
        cmp     edx, 9
        ja      .end                            ; not a digit (unsigned compare)
        imul    eax, eax, 10
        add     eax, edx
        inc     esi
        jmp     .digit
.end:   test    eax, eax
        jz      .done
        mov     [iterations], eax
.done:  ret

kernel_segments:
        mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax
        ret

; ====================================================================
; The loop, one per operation: ECX iterations, then RET.

%ifidn OP, none
op_loop:
.next:  dec     ecx
        jnz     .next
        ret

%elifidn OP, syscall
; Into ring 3 with IRET (SS, ESP, EFLAGS, CS, EIP), loop there, and come
; back with INT 0x81, whose handler drops the frame and returns from op_loop.
op_loop:
        mov     [kernel_esp], esp
        push    SEL_UDATA
        push    ustack_top
        push    0x00000002                      ; EFLAGS: IF = 0
        push    SEL_UCODE
        push    .user
        iretd
.user:  int     0x80
        dec     ecx
        jnz     .user
        int     0x81

%elifidn OP, in
op_loop:
.next:  in      al, 0x80
        dec     ecx
        jnz     .next
        ret

%elifidn OP, cr
op_loop:
        mov     eax, cr0
.next:  mov     cr0, eax
        dec     ecx
        jnz     .next
        ret

%elifidn OP, callret
op_loop:
.next:  call    nothing
        dec     ecx
        jnz     .next
        ret
nothing:
        ret

%elifidn OP, pgfault
op_loop:
.next:
faulting_load:
        mov     eax, [ABSENT_PAGE]              ; A1 imm32: 5 bytes
        dec     ecx
        jnz     op_loop.next
        ret

%elifidn OP, divzero
op_loop:
        xor     ebx, ebx
.next:
faulting_div:
        div     ebx                             ; F7 F3: 2 bytes
        dec     ecx
        jnz     op_loop.next
        ret

%elifidn OP, ptemod
op_loop:
        mov     eax, [page_table1 + 0]
.next:  xor     eax, PTE_W                      ; writable <-> read-only
        mov     [page_table1 + 0], eax          ; a store to a live page table
        invlpg  [LIVE_PAGE]                     ; and the TLB entry it made stale
        dec     ecx
        jnz     .next
        ret

%else
%error "unknown OP"
%endif

%ifnidn OP, pgfault
faulting_load equ 0                             ; no #PF is expected
%endif
%ifnidn OP, divzero
faulting_div equ 0                              ; no #DE is expected
%endif

; ====================================================================
; Handlers (interrupt gates, DPL 0 unless noted).

; INT 0x80 (DPL 3): the system call that does nothing.
syscall_handler:
        iretd

; INT 0x81 (DPL 3): back from ring 3 — restore the kernel's segments and
; stack and return from op_loop.
back_to_kernel:
        call    kernel_segments
        mov     esp, [kernel_esp]
        ret

; #DE: skip the DIV of `divzero`; anything else is unexpected.
de_handler:
        cmp     dword [esp], faulting_div       ; the faulting EIP
        jne     unexpected
        add     dword [esp], 2
        iretd

; #PF: skip the load of `pgfault` (a true fault: nothing is mapped).
pf_handler:
        cmp     dword [esp + 4], faulting_load  ; above the error code
        jne     unexpected
        add     dword [esp + 4], 5
        add     esp, 4
        iretd

unexpected:
        call    kernel_segments
        PRINT   `nanobench: unexpected exception\r\n`
        DEBUG_EXIT 0x11

; ====================================================================
section .rodata
iterations_key: db      "iterations=", 0
; Padded to one width, so that every image's report has the same length.
op_name:
%defstr OP_STRING OP
        db      OP_STRING
        times 8 - %strlen(OP_STRING) db ' '
        db      0

section .data
align 16
gdt:
        dq      0                                       ; 0x00
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL0, FLAGS_4K_32  ; 0x08 kernel code
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL0, FLAGS_4K_32  ; 0x10 kernel data
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL3, FLAGS_4K_32  ; 0x18 user code
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL3, FLAGS_4K_32  ; 0x20 user data
        dq      0                                       ; 0x28 TSS
gdt_end:
align 4
        dw      0
gdtr:   dw      gdt_end - gdt - 1
        dd      gdt
align 4
        dw      0
idtr:   dw      256 * 8 - 1
        dd      idt

section .bss
alignb 4096
page_dir:       resb    4096
page_table0:    resb    4096
page_table1:    resb    4096
idt:            resb    256 * 8
TSS_SIZE        equ 104
tss:            resb    TSS_SIZE
kernel_esp:     resd    1
iterations:     resd    1
alignb 16
kstack:         resb    4096
kstack_top:
istack:         resb    4096            ; ring 3 -> 0 transfers land here
istack_top:
ustack:         resb    4096
ustack_top:
