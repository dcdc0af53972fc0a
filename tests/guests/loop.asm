; loop.asm — prints one line, then spins forever with IF = 0.
; Used for --max-instructions (status 4), Ctrl-C (status 130) and to check
; that serial output reaches stdout before the run ends.
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        PUTS    `loop: spinning forever\r\n`
.spin:  jmp     .spin
        GUEST_LIBRARY
