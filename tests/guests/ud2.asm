; ud2.asm — a flat binary that faults: `ringside run --flat ud2.bin
; --load-address 0x10000 --dump-state json` stops with "exception 0x06"
; (#UD) and EIP at the UD2 (0x10005), EAX = 0xABCD.
bits 32
org 0x00010000

        mov     eax, 0xABCD
        ud2
        hlt                         ; not reached
