; echo.asm — reads COM1 and writes every byte back until it reads '.',
; then says goodbye and halts (status 0).  For --serial-input.
%include "guest.inc"
        MULTIBOOT_ENTRY
        cld
        PUTS    `echo: ready\r\n`
.next:  call    getc
        cmp     al, '.'
        je      .bye
        call    putc
        jmp     .next
.bye:   PUTS    `\r\necho: bye\r\n`
        cli
        hlt
        GUEST_LIBRARY
