; halt.asm — prints one line, then CLI; HLT: nothing can wake the CPU.
; Expected: `ringside run` exits with status 0 ("halted").
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        PUTS    `halt: going to sleep with IF = 0\r\n`
        cli
        hlt
        jmp     $                   ; not reached
        GUEST_LIBRARY
