; bench.asm — a compute-bound guest for measuring emulation speed.
;
; It runs the loop in loop.inc (by default 32 million iterations of 16
; instructions: 512 million instructions, plus about 700 more), prints a
; checksum of the result on COM1 and exits through debug-exit.  The
; checksum depends only on the computation, so every correct CPU prints
; the same one; the time it takes is what `make bench` measures.
;
; bench_flat.asm wraps the same loop as a flat binary that ends in HLT,
; for Unicorn (bench/unicorn_bench.py) and `ringside run --flat`.
;
; Exit: debug-exit 0x10 (status 33).

bits 32

%include "params.inc"

%include "multiboot.inc"
%include "serial.inc"

section .text
global _start
_start:
        cli
        mov     esp, stack_top
        call    serial_init
        PRINT   `bench: `
        PDEC    ITERATIONS
        PRINT   ` iterations of 16 instructions\r\n`

        mov     edi, array
        call    bench_run
        PRINT   `bench: checksum `
        PHEX    eax, 8
        PRINT   `\r\n`
        DEBUG_EXIT 0x10

%include "loop.inc"

section .bss
alignb 4096                     ; data on its own page, away from the code
array:          resd    64
alignb 4096
stack:          resb    4096
stack_top:
