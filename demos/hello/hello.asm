; hello.asm — the smallest Ringside guest.
;
; What it shows: a multiboot v1 kernel needs only a 12-byte header and an
; entry point.  It prints two lines on the first serial port (COM1) and asks
; the machine to stop through the isa-debug-exit device.
;
; Machine state on entry (Multiboot Specification 0.6.96, section 3.2,
; "Machine state"): 32-bit protected mode, CS/DS/ES/SS flat 4 GiB, paging
; off, IF = 0, EAX = 0x2BADB002, EBX = multiboot information.  ESP is
; undefined, so this guest uses no stack at all: no CALL, no PUSH.
;
; Devices:
;   COM1, a 16550 UART at I/O ports 0x3F8..0x3FF.  Port 0x3F8 is the
;     transmit holding register (THR); port 0x3FD is the line status
;     register (LSR), whose bit 5 (THRE) is set when THR can take a byte.
;     A real UART needs its baud rate programmed first; QEMU's and
;     Ringside's accept bytes at reset, so the smallest guest skips it
;     (see ../include/serial.inc for the full initialisation).
;   isa-debug-exit at port 0xF4: writing v ends the run with exit status
;     (v << 1) | 1, so 0x10 gives 33, the demos' "success".
;
; Instructions used: CLD, MOV, LODSB, TEST, JZ, IN, OUT, JMP, CLI, HLT —
; see Intel SDM Vol. 2 for each, and Vol. 1 section 18.2 "I/O ports".

bits 32

; ---------------------------------------------------------------- header
MB_MAGIC    equ 0x1BADB002          ; multiboot v1 header magic
MB_FLAGS    equ 0                   ; no requests: the ELF headers say where to load

section .multiboot progbits alloc noexec nowrite align=4
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)   ; checksum: the three fields sum to 0

; ---------------------------------------------------------------- code
COM1_THR    equ 0x3F8               ; transmit holding register
COM1_LSR    equ 0x3FD               ; line status register
LSR_THRE    equ 0x20                ; bit 5: THR empty
DEBUG_EXIT  equ 0xF4

section .text
global _start
_start:
        cld                         ; LODSB must walk forwards (DF is not
                                    ; part of the multiboot contract)
        mov     esi, message
.next:
        lodsb                       ; AL = [ESI], ESI += 1
        test    al, al
        jz      .done               ; NUL ends the message
        mov     ah, al              ; keep the character while we poll
        mov     dx, COM1_LSR
.wait:
        in      al, dx              ; read the line status register
        test    al, LSR_THRE
        jz      .wait               ; transmitter busy: poll again
        mov     al, ah
        mov     dx, COM1_THR
        out     dx, al              ; send the character
        jmp     .next

.done:
        mov     al, 0x10
        out     DEBUG_EXIT, al      ; QEMU/Ringside exit with status 33
.hang:                              ; not reached when the device is present
        cli
        hlt
        jmp     .hang

; ---------------------------------------------------------------- data
section .rodata
message:
        db      "Hello from Ringside!", 13, 10
        db      "This line went out through COM1, one byte per LSR poll.", 13, 10
        db      0
