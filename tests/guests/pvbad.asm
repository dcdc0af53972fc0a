; pvbad.asm — a malicious paravirtual guest for `ringside run --technique pv`
; (Tests/MonitorsTests/PVTests.swift; docs/pv-abi.md).  It runs at CPL 1
; and talks to the hypervisor only with int 0x82 (EAX = number, EBX, ECX,
; EDX, ESI = arguments, result in EAX).  Each line names one hypercall the
; hypervisor must refuse and prints the result it got (as a 32-bit hex
; number: 0xffffffff = -1 EPERM, 0xffffffea = -22 EINVAL, 0xfffffff2 = -14
; EFAULT, 0xffffffda = -38 ENOSYS); then it prints the page-table entry
; it tried to poison (3: only the allowed update to its own frame 0 was
; written, never 0x10000003), and shuts down with code 0x10
; (status 33).  Under `native` (or QEMU) int 0x82 has no handler: it
; triple-faults there — it is a PV guest.
%include "guest.inc"

; REPORT "label", number, ebx, ecx, edx [, esi]: one hypercall, one line.
%macro REPORT 5-6 0x7FF0
        jmp     %%over
%%name: db      %1, 0
%%over: mov     eax, %2
        mov     ebx, %3
        mov     ecx, %4
        mov     edx, %5
        mov     esi, %6
        int     0x82
        mov     esi, %%name
        call    report
%endmacro

        MULTIBOOT_ENTRY
        cld
        REPORT  `hello through console_io`, 18, 0, 17, hello      ; a good call first
        REPORT  `bad number 99`, 99, 0, 0, 0
        REPORT  `mmu_update maps a frame beyond RAM`, 1, req_far, 1, 0
        REPORT  `mmu_update maps guest frame 0 (its own, allowed)`, 1, req_low, 1, 0
        REPORT  `mmu_update entry outside RAM`, 1, req_out, 1, 0
        REPORT  `mmu_update request in the monitor window`, 1, 0xFF800000, 1, 0
        REPORT  `mmu_update for another domain`, 1, req_ok, 1, 0, 0
        REPORT  `mmuext_op new base beyond RAM`, 26, ext_far, 1, 0
        REPORT  `update_va_mapping without tables`, 14, 0x00400000, 0x00001003, 0
        REPORT  `console_io buffer in the monitor window`, 18, 0, 16, 0xFF800000
        REPORT  `console_io buffer unmapped beyond RAM`, 18, 0, 16, 0x40000000
        REPORT  `set_trap_table takes vector 0x82`, 0, traps_bad, 0, 0
        REPORT  `stack_switch to a ring-0 stack`, 3, 0x0010, 0x00090000, 0
        REPORT  `port_io to the keyboard 0x60`, 48, 0x60, 0, 0
        REPORT  `vcpu_op vcpu_info beyond RAM`, 24, 10, 0, 0x7FFFFF00
        REPORT  `sched_op unknown command`, 29, 7, 0, 0
        ; iret to ring 0: a frame EAX, EIP, CS = 0x0008 (RPL 0), EFLAGS
        push    dword 0x202
        push    dword 0x0008
        push    dword .after
        push    eax
        mov     eax, 23
        int     0x82
.after: add     esp, 16
        mov     esi, .iretname
        call    report
        ; the entry mmu_update was asked to poison is untouched
        mov     eax, [pt]
        mov     esi, .ptname
        call    report
        mov     eax, 29             ; sched_op(shutdown, poweroff, 0x10)
        mov     ebx, 2
        xor     ecx, ecx
        mov     edx, 0x10
        int     0x82
        jmp     $
.iretname: db   `iret to ring 0`, 0
.ptname:   db   `page-table entry afterwards`, 0

; report: ESI = NUL-terminated label, EAX = result; prints "label: 0xXXXXXXXX\r\n".
report: push    eax
        mov     edx, esi
        xor     ecx, ecx
.len:   cmp     byte [esi + ecx], 0
        je      .print
        inc     ecx
        jmp     .len
.print: mov     eax, 18
        xor     ebx, ebx
        int     0x82
        pop     eax
        mov     edi, line + 4
        mov     ecx, 8
.digit: rol     eax, 4
        mov     edx, eax
        and     edx, 15
        mov     dl, [digits + edx]
        mov     [edi], dl
        inc     edi
        loop    .digit
        mov     eax, 18
        xor     ebx, ebx
        mov     ecx, line.end - line
        mov     edx, line
        int     0x82
        ret

digits: db      "0123456789abcdef"
line:   db      ": 0x00000000", 13, 10
.end:
hello:  db      "pvbad: starting", 13, 10
entry_esp: dd   0
; mmu_update_t {u64 ptr; u64 val}
align 8
req_far: dq     pt, 0x10000003      ; frame at 256 MiB: beyond the guest's RAM
req_low: dq     pt, 0x00000003      ; frame 0 is the guest's own (host 8 MiB): allowed
req_out: dq     0x7FFFF000, 0x00001003
req_ok:  dq     pt, 0x00001003
; struct mmuext_op {u32 cmd, arg1, arg2}: MMUEXT_NEW_BASEPTR, frame 0x10000 (256 MiB)
ext_far: dd     5, 0x10000, 0
; trap_info_t {u8 vector, flags; u16 cs; u32 address}, ended by address 0
traps_bad: db   0x82, 3
        dw      0xE019
        dd      0x00100000
        dd      0, 0
align 4096
pt:     times 1024 dd 0             ; a page table nobody uses
