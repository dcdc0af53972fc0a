; rings.asm — protection rings, gates, exceptions and paging in one guest.
;
; A tiny kernel at CPL 0 runs a series of small ring-3 tests.  Each test
; starts fresh: the kernel builds an interrupt-return frame and executes
; IRET, which is how every x86 kernel enters user mode (SDM Vol. 3A
; 6.12.1, "Interrupt procedures" / IRET in Vol. 2A).  A test ends in one
; of two ways:
;   - it asks to exit with the `exit` system call (INT 0x80), or
;   - it causes an exception the kernel cannot repair, and is "killed".
; Some exceptions are repaired and the test resumes: a page fault on a
; not-present page (demand paging), a write to a read-only page (the
; kernel makes it writable, as copy-on-write would), and INT3.
;
; Every exception handler prints one line: the vector, the error code,
; the CPL of the interrupted code (the low two bits of the CS the CPU
; pushed) and the faulting EIP (plus CR2 for #PF).  The tests, and where
; each resumes, are fixed, so the output is the same on every run.
;
; Memory (paging on, SDM Vol. 3A 4.3 "32-bit paging", 4 KiB pages only):
;   0x00000000-0x003FFFFF identity-mapped by one page table; supervisor
;     only (U/S = 0) except the user pages below; page 0 not present.
;   .text.user    user code + strings: user, read-only
;   .bss.user     user stack page: user, read/write; one page user,
;                 read-only (the copy-on-write test)
;   0x00300000    not present until a user access faults it in.
;
; Segments (GDT): 0x08 kernel code, 0x10 kernel data (DPL 0), 0x1B user
; code, 0x23 user data (DPL 3), 0x28 TSS (ESP0/SS0 for the ring 3 -> 0
; stack switch; no I/O bitmap, so IN/OUT at CPL 3 > IOPL 0 raise #GP).
;
; System calls (INT 0x80, interrupt gate with DPL 3; Linux i386 numbers):
;   EAX = 1  exit(EBX = status)
;   EAX = 4  write(ECX = buffer, EDX = length) -> EAX = bytes written
; INT 0x81 has a DPL-0 gate: from ring 3 it raises #GP with error code
; (0x81 << 3) | 2 (IDT bit set; SDM Vol. 3A 6.13, Figure 6-7).
;
; Exit: debug-exit 0x10 (status 33) after the last test; 0x11 (35) if the
; kernel itself faults.

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

PTE_P           equ 1 << 0          ; present
PTE_W           equ 1 << 1          ; writable
PTE_U           equ 1 << 2          ; user (CPL 3) may access
CR0_PG          equ 1 << 31

DEMAND_PAGE     equ 0x00300000      ; mapped on the first touch
EFLAGS_IF       equ 1 << 9

SYS_EXIT        equ 1
SYS_WRITE       equ 4

; Trap frame built by the stubs and isr_common (offsets from EBP = ESP
; after the pushes; SDM Vol. 3A Figure 6-4 for the CPU's part).
TF_EDI          equ 0               ; PUSHAD block
TF_ESI          equ 4
TF_EBP          equ 8
TF_EBX          equ 16
TF_EDX          equ 20
TF_ECX          equ 24
TF_EAX          equ 28
TF_ES           equ 32
TF_DS           equ 36
TF_VECTOR       equ 40              ; pushed by the stub
TF_ERR          equ 44              ; pushed by the CPU or a dummy 0
TF_EIP          equ 48              ; --- pushed by the CPU from here
TF_CS           equ 52
TF_EFLAGS       equ 56
TF_ESP          equ 60              ; only when the privilege level changed
TF_SS           equ 64

; ====================================================================
section .text
global _start
_start:
        cli
        mov     esp, kstack_top
        call    serial_init
        call    mask_pics           ; user code runs with IF = 1

        ; --- GDT with a TSS descriptor, then reload the segment registers
        mov     edi, gdt + SEL_TSS
        mov     eax, tss
        mov     ebx, TSS_SIZE - 1
        mov     cx, (FLAGS_BYTE << 8) | ACC_TSS32
        call    set_desc
        lgdt    [gdtr]
        jmp     SEL_KCODE:.cs_ok
.cs_ok: mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax

        ; --- TSS: the stack the CPU switches to on a ring 3 -> 0 transfer
        ; (SDM Vol. 3A 6.12.1 and 7.2.1).
        mov     dword [tss + 4], kstack_top     ; ESP0
        mov     dword [tss + 8], SEL_KDATA      ; SS0
        mov     word [tss + 102], TSS_SIZE      ; no I/O permission bitmap
        mov     ax, SEL_TSS
        ltr     ax

        ; --- IDT: exceptions 0-31 (DPL 0, except #BP which ring 3 may
        ; raise with INT3), INT 0x80 (DPL 3), INT 0x81 (DPL 0).
        mov     edi, idt
        mov     esi, exc_stubs
        mov     bx, SEL_KCODE
        mov     edx, 0
.fill:  lodsd
        mov     cl, GATE_INT32
        cmp     edx, 3
        jne     .dpl0
        or      cl, GATE_DPL3
.dpl0:  call    set_gate
        add     edi, 8
        inc     edx
        cmp     edx, 32
        jne     .fill
        mov     edi, idt + 0x80 * 8
        mov     eax, isr_syscall
        mov     cl, GATE_INT32 | GATE_DPL3
        call    set_gate
        mov     edi, idt + 0x81 * 8
        mov     eax, isr_0x81
        mov     cl, GATE_INT32      ; DPL 0: INT 0x81 at CPL 3 -> #GP
        call    set_gate
        lidt    [idtr]

        ; --- paging: identity-map 0-4 MiB with one page table
        mov     edi, page_table
        mov     eax, PTE_P | PTE_W  ; frame 0, supervisor
        mov     ecx, 1024
.map:   stosd
        add     eax, 4096
        loop    .map
        mov     dword [page_table], 0           ; page 0 not present
        mov     esi, user_text_start            ; user code: U, read-only
        mov     edi, user_text_end
        mov     ebx, PTE_P | PTE_U
        call    set_range
        mov     esi, user_stack_page            ; user stack: U, writable
        mov     edi, user_stack_top
        mov     ebx, PTE_P | PTE_W | PTE_U
        call    set_range
        mov     esi, user_ro_page               ; U, read-only
        lea     edi, [esi + 4096]
        mov     ebx, PTE_P | PTE_U
        call    set_range
        mov     dword [page_table + (DEMAND_PAGE >> 12) * 4], 0

        ; The page directory entry allows everything; the page table
        ; entries restrict (SDM Vol. 3A 4.6: the stricter of the two wins).
        mov     eax, page_table
        or      eax, PTE_P | PTE_W | PTE_U
        mov     [page_dir], eax
        mov     eax, page_dir
        mov     cr3, eax
        mov     eax, cr0
        or      eax, CR0_PG
        mov     cr0, eax

        PRINT   `rings: GDT, IDT, TSS and paging ready; kernel at cpl=0\r\n`
        mov     dword [current_test], 0
        jmp     next_test

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

; ====================================================================
; The test runner.  Each test starts on a fresh kernel stack and a fresh
; user stack; IRET pops EIP, CS, EFLAGS and — because CS.RPL = 3 is less
; privileged than the current CPL 0 — ESP and SS too.

next_test:
        mov     esp, kstack_top     ; whatever the last test left is gone
        mov     eax, [current_test]
        inc     eax
        mov     [current_test], eax
        cmp     eax, NTESTS
        ja      all_done
        PRINT   `--- test `
        PDEC    eax
        PRINT   `: `
        mov     esi, [tests + eax * 8 - 8 + 4]
        call    serial_puts
        PRINT   `\r\n`

        mov     ebx, [tests + eax * 8 - 8]      ; entry point
        push    dword SEL_UDATA                 ; SS
        push    dword user_stack_top            ; ESP
        push    dword 0x00000002 | EFLAGS_IF    ; EFLAGS: IF = 1, IOPL = 0
        push    dword SEL_UCODE                 ; CS (RPL 3 -> ring 3)
        push    ebx                             ; EIP
        mov     ax, SEL_UDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        iretd

all_done:
        PRINT   `rings: all tests done\r\n`
        DEBUG_EXIT 0x10

; ====================================================================
; Exception and interrupt entry.  Every stub leaves the same frame:
; an error code (the CPU's, or a dummy 0) and the vector number.

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

isr_syscall:
        push    dword 0
        push    dword 0x80
        jmp     isr_common
isr_0x81:                           ; only reachable from CPL 0
        push    dword 0
        push    dword 0x81
        jmp     isr_common

isr_common:
        push    ds
        push    es
        pushad
        mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        mov     ebp, esp            ; EBP -> trap frame
        cld

        mov     eax, [ebp + TF_VECTOR]
        cmp     eax, 0x80
        je      syscall
        call    print_trap          ; one line for every exception

        test    dword [ebp + TF_CS], 3
        jz      kernel_panic        ; a fault at CPL 0 is a kernel bug

        mov     eax, [ebp + TF_VECTOR]
        cmp     eax, 14
        je      page_fault
        cmp     eax, 3
        je      resume              ; INT3 is a trap: EIP is already past it
        jmp     kill

; resume — return to the interrupted code with the (possibly edited) frame.
resume:
        popad
        pop     es
        pop     ds
        add     esp, 8              ; vector and error code
        iretd

kill:
        PRINT   `kernel: test `
        PDEC    [current_test]
        PRINT   ` killed\r\n`
        jmp     next_test

kernel_panic:
        PRINT   `kernel panic: exception at cpl 0\r\n`
        DEBUG_EXIT 0x11

; print_trap — "trap: #GP vector=13 err=0x... cpl=3 eip=0x..." [cr2=...]
print_trap:
        mov     eax, [ebp + TF_VECTOR]
        PRINT   `trap: `
        mov     esi, [exc_names + eax * 4]
        call    serial_puts
        PRINT   ` vector=`
        PDEC    eax
        PRINT   ` err=`
        bt      dword [has_error_code], eax
        jnc     .no_err
        PHEX    [ebp + TF_ERR], 8
        jmp     .cpl
.no_err:
        PRINT   `none`
.cpl:   PRINT   ` cpl=`
        mov     eax, [ebp + TF_CS]
        and     eax, 3              ; CPL of the interrupted code
        PDEC    eax
        PRINT   ` eip=`
        PHEX    [ebp + TF_EIP], 8
        cmp     dword [ebp + TF_VECTOR], 14
        jne     .end
        PRINT   ` cr2=`
        mov     eax, cr2            ; the linear address that faulted
        PHEX    eax, 8
.end:   PRINT   `\r\n`
        ret

; page_fault — #PF error code (SDM Vol. 3A 4.7, Figure 4-12):
;   bit 0 P    0 = page not present, 1 = protection violation
;   bit 1 W/R  1 = the access was a write
;   bit 2 U/S  1 = the access came from CPL 3
page_fault:
        mov     ebx, cr2
        mov     edx, [ebp + TF_ERR]
        and     ebx, ~0xFFF
        cmp     ebx, DEMAND_PAGE
        jne     .not_demand
        test    edx, 1
        jnz     kill
        ; Demand paging: give the page a frame (here its identity frame),
        ; clear it, and return to re-execute the faulting instruction.
        mov     dword [page_table + (DEMAND_PAGE >> 12) * 4], DEMAND_PAGE | PTE_P | PTE_W | PTE_U
        invlpg  [ebx]               ; 486+: drop any stale TLB entry
        mov     edi, ebx
        xor     eax, eax
        mov     ecx, 1024
        rep stosd
        PRINT   `kernel: mapped a zeroed page at `
        PHEX    ebx, 8
        PRINT   `, resuming\r\n`
        jmp     resume
.not_demand:
        cmp     ebx, user_ro_page
        jne     kill
        cmp     edx, 7              ; present, write, user
        jne     kill
        ; A write to a read-only user page: this kernel decides to allow
        ; it (as a copy-on-write handler would after copying) and retries.
        mov     eax, ebx
        shr     eax, 12
        or      dword [page_table + eax * 4], PTE_W
        invlpg  [ebx]
        PRINT   `kernel: made page `
        PHEX    ebx, 8
        PRINT   ` writable, resuming\r\n`
        jmp     resume

; syscall — INT 0x80.  No line is printed for it: it is the normal path.
syscall:
        mov     eax, [ebp + TF_EAX]
        cmp     eax, SYS_WRITE
        je      .write
        cmp     eax, SYS_EXIT
        je      .exit
        mov     dword [ebp + TF_EAX], -38       ; -ENOSYS
        jmp     resume
.exit:
        PRINT   `kernel: test `
        PDEC    [current_test]
        PRINT   ` exited with status `
        PDEC    [ebp + TF_EBX]
        PRINT   `\r\n`
        jmp     next_test
.write:
        ; Never trust a user pointer: every page of the buffer must be
        ; present and user-accessible in the page table.
        mov     esi, [ebp + TF_ECX]
        mov     ecx, [ebp + TF_EDX]
        mov     edi, esi
        add     edi, ecx
        jc      .efault             ; wraps around
        cmp     edi, 0x00400000
        ja      .efault             ; beyond the mapped 4 MiB
        mov     ebx, esi
        and     ebx, ~0xFFF
.check: cmp     ebx, edi
        jae     .ok
        mov     eax, ebx
        shr     eax, 12
        mov     eax, [page_table + eax * 4]
        and     eax, PTE_P | PTE_U
        cmp     eax, PTE_P | PTE_U
        jne     .efault
        add     ebx, 4096
        jmp     .check
.ok:    mov     [ebp + TF_EAX], ecx
        jecxz   .done
.out:   lodsb
        call    serial_putc
        loop    .out
.done:  jmp     resume
.efault:
        mov     dword [ebp + TF_EAX], -14       ; -EFAULT
        jmp     resume

; ====================================================================
; User mode: everything below runs at CPL 3.  It may touch only pages
; with U/S = 1 and may not call the kernel's routines: it talks to the
; kernel through INT 0x80 only.

section .text.user progbits alloc exec nowrite align=4096
user_text_start:

%macro UPRINT 1                     ; print a literal from ring 3
        jmp     %%after
%%str:  db      %1
%%after:
        push    ecx
        push    edx
        mov     ecx, %%str
        mov     edx, %%after - %%str
        call    u_write
        pop     edx
        pop     ecx
%endmacro

%macro UEXIT 1
        mov     eax, SYS_EXIT
        mov     ebx, %1
        int     0x80
%endmacro

; u_write — write(ECX, EDX) through INT 0x80.
u_write:
        push    eax
        mov     eax, SYS_WRITE
        int     0x80
        pop     eax
        ret

; u_hex — print "0x" and the low ECX (1..8) hex digits of EAX.
u_hex:
        pushad
        mov     word [u_hexbuf], '0x'
        lea     edi, [u_hexbuf + 2 + ecx]
        mov     edx, ecx
.dig:   dec     edi
        mov     ebx, eax
        and     ebx, 0x0F
        mov     bl, [u_hexchars + ebx]
        mov     [edi], bl
        shr     eax, 4
        loop    .dig
        mov     ecx, u_hexbuf
        add     edx, 2
        call    u_write
        popad
        ret
u_hexchars:
        db      "0123456789abcdef"

; --- test 1
t_syscall:
        UPRINT  `user: hello from ring 3, cs=`
        mov     ecx, 4              ; print selectors as 4 digits
        xor     eax, eax
        mov     ax, cs
        call    u_hex
        UPRINT  ` ss=`
        mov     ax, ss
        call    u_hex
        UPRINT  `\r\n`
        UEXIT   0

; --- test 2: CLI is IOPL-sensitive: CPL 3 > IOPL 0 -> #GP(0)
t_cli:
        cli
        UEXIT   1                   ; not reached

; --- test 3: IN with CPL > IOPL and no I/O bitmap -> #GP(0)
t_in:
        mov     dx, COM1_LSR
        in      al, dx
        UEXIT   1

; --- test 4: INT n through a gate whose DPL < CPL -> #GP(vector*8 + 2)
t_int81:
        int     0x81
        UEXIT   1

; --- test 5: POPF cannot clear IF at CPL 3 > IOPL — and does not trap
t_popf:
        pushfd
        and     dword [esp], ~EFLAGS_IF
        popfd                       ; silently keeps IF = 1
        pushfd
        pop     eax
        mov     ecx, 8
        UPRINT  `user: popf tried to clear IF; eflags now `
        call    u_hex
        UPRINT  ` (IF still 1, no fault)\r\n`
        UEXIT   0

; --- test 6: divide by zero -> #DE (a fault: EIP points at the DIV)
t_div:
        xor     edx, edx
        mov     eax, 1
        xor     ecx, ecx
        div     ecx
        UEXIT   1

; --- test 7: UD2 -> #UD
t_ud:
        ud2
        UEXIT   1

; --- test 8: INT3 -> #BP, a trap: the kernel returns past it
t_int3:
        int3
        UPRINT  `user: resumed after int3\r\n`
        UEXIT   0

; --- test 9: a not-present page, filled in on demand
t_demand:
        mov     ecx, 8
        mov     eax, [DEMAND_PAGE]  ; #PF err=4 (read, user, not present)
        call    u_hex_line_read
        mov     dword [DEMAND_PAGE], 0xC0FFEE
        mov     eax, [DEMAND_PAGE]
        UPRINT  `user: after writing, it reads `
        call    u_hex
        UPRINT  `\r\n`
        UEXIT   0
u_hex_line_read:
        UPRINT  `user: demand page reads `
        call    u_hex
        UPRINT  `\r\n`
        ret

; --- test 10: a write to a read-only user page -> #PF err=7
t_readonly:
        mov     ecx, 8
        mov     dword [user_ro_page], 0x1234
        mov     eax, [user_ro_page]
        UPRINT  `user: read-only page now holds `
        call    u_hex
        UPRINT  `\r\n`
        UEXIT   0

; --- test 11: reading a supervisor page -> #PF err=5
t_kernel_read:
        mov     eax, [gdt]
        UEXIT   1

; --- test 12: exit with a status of its own choosing
t_exit:
        UEXIT   42

        align   4096, db 0xCC       ; nothing else shares the last user page
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

; Vectors that push an error code (SDM Vol. 3A Table 6-1), as a bitmap.
has_error_code:
        dd      (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17)

; Mnemonics of the exception vectors (SDM Vol. 3A Table 6-1).
exc_names:
        dd      exc_name_0
        dd      exc_name_1
        dd      exc_name_2
        dd      exc_name_3
        dd      exc_name_4
        dd      exc_name_5
        dd      exc_name_6
        dd      exc_name_7
        dd      exc_name_8
        dd      exc_name_9
        dd      exc_name_10
        dd      exc_name_11
        dd      exc_name_12
        dd      exc_name_13
        dd      exc_name_14
        dd      exc_name_15
        dd      exc_name_16
        dd      exc_name_17
        dd      exc_name_18
        dd      exc_name_19
        dd      exc_name_20
        dd      exc_name_21
        dd      exc_name_22
        dd      exc_name_23
        dd      exc_name_24
        dd      exc_name_25
        dd      exc_name_26
        dd      exc_name_27
        dd      exc_name_28
        dd      exc_name_29
        dd      exc_name_30
        dd      exc_name_31
exc_name_0: db "#DE", 0
exc_name_1: db "#DB", 0
exc_name_2: db "NMI", 0
exc_name_3: db "#BP", 0
exc_name_4: db "#OF", 0
exc_name_5: db "#BR", 0
exc_name_6: db "#UD", 0
exc_name_7: db "#NM", 0
exc_name_8: db "#DF", 0
exc_name_9: db "#09", 0
exc_name_10: db "#TS", 0
exc_name_11: db "#NP", 0
exc_name_12: db "#SS", 0
exc_name_13: db "#GP", 0
exc_name_14: db "#PF", 0
exc_name_15: db "#15", 0
exc_name_16: db "#MF", 0
exc_name_17: db "#AC", 0
exc_name_18: db "#MC", 0
exc_name_19: db "#XM", 0
exc_name_20: db "#20", 0
exc_name_21: db "#21", 0
exc_name_22: db "#22", 0
exc_name_23: db "#23", 0
exc_name_24: db "#24", 0
exc_name_25: db "#25", 0
exc_name_26: db "#26", 0
exc_name_27: db "#27", 0
exc_name_28: db "#28", 0
exc_name_29: db "#29", 0
exc_name_30: db "#30", 0
exc_name_31: db "#31", 0

%macro TEST 2
        dd      %1, %%d
[section .rodata.str]
%%d:    db      %2, 0
__SECT__
%endmacro
align 4
tests:
        TEST    t_syscall,     "write and exit system calls through int 0x80 (DPL-3 gate)"
        TEST    t_cli,         "cli at cpl 3"
        TEST    t_in,          "in from port 0x3fd at cpl 3"
        TEST    t_int81,       "int 0x81 through a DPL-0 gate"
        TEST    t_popf,        "popf clearing IF at cpl 3"
        TEST    t_div,         "divide by zero"
        TEST    t_ud,          "ud2"
        TEST    t_int3,        "int3 (a trap, resumed)"
        TEST    t_demand,      "read a not-present page (demand paging)"
        TEST    t_readonly,    "write a read-only user page"
        TEST    t_kernel_read, "read a supervisor page"
        TEST    t_exit,        "exit with status 42"
NTESTS          equ ($ - tests) / 8

; ====================================================================
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
        dw      0
idtr:   dw      256 * 8 - 1
        dd      idt
current_test:
        dd      0

; ====================================================================
section .bss
alignb 4096
page_dir:       resb    4096
page_table:     resb    4096
idt:            resb    256 * 8
TSS_SIZE        equ 104
tss:            resb    TSS_SIZE
alignb 16
kstack:         resb    4096
kstack_top:

section .bss.user nobits alloc noexec write align=4096
user_stack_page: resb   4096
user_stack_top:
user_ro_page:   resb    4096

; a user-writable buffer for u_hex lives on the user stack page's bottom
u_hexbuf        equ user_stack_page
