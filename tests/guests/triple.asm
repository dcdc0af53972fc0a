; triple.asm — an empty IDT (limit 0) and then UD2: #UD cannot be
; delivered (#GP), nor can that #GP (a second #GP: double fault), nor the
; double fault: the CPU shuts down.  Expected: status 2, reason on stderr.
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        PUTS    `triple: loading an empty IDT, then UD2\r\n`
        lidt    [empty_idt]
        ud2
        jmp     $                   ; not reached
empty_idt:
        dw      0                   ; limit 0: no gate is usable
        dd      0
        GUEST_LIBRARY
