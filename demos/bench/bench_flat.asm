; bench_flat.asm — the benchmark loop as a flat binary (nasm -f bin).
;
; Layout (load address 0x00100000, entry = load address):
;   +0   JMP start             (5 bytes)
;   +8   header, 7 dwords:     "RSBE" "NCH1", ITERATIONS,
;                              instructions per iteration,
;                              fixed instructions (everything from +0 up
;                              to, not including, the HLT, except the
;                              loop iterations), offset of the HLT,
;                              offset of the array
;   start: set ESP, EDI; CALL bench_run; HLT with the checksum in EAX.
;
; So the number of instructions executed before the HLT is exactly
;   fixed + ITERATIONS * per-iteration,
; which unicorn_bench.py computes from the header instead of counting
; with a per-instruction hook (which would dominate the run time).
;
; The array and the stack lie on their own pages, away from the code, as a
; kernel's data would: a store to a page that holds code is a possible
; self-modification, which emulators (Ringside, QEMU) handle on a slow path.
;
; It needs memory from 0x00100000 to end_of_image (below 0x00104000) and
; touches nothing else; it uses no I/O, no interrupts and no segment
; loads, and it starts in any flat 32-bit protected-mode state (CPL 0
; or 3, paging off).

bits 32

%include "params.inc"
org 0x00100000

image_start:
        jmp     near start                  ; 1 instruction
        align   8, db 0
header:
        db      "RSBENCH1"
        dd      ITERATIONS
        dd      BENCH_INSNS_PER_ITER
        dd      FIXED_INSNS
        dd      halt - image_start
        dd      array - image_start

start:
        mov     esp, stack_top              ; 1
        mov     edi, array                  ; 2
        call    bench_run                   ; 3
halt:   hlt

; JMP + (MOV, MOV, CALL) + bench_run's own
FIXED_INSNS     equ 1 + 3 + BENCH_RUN_FIXED_INSNS

%include "loop.inc"

        align   4096, db 0
array:  times 64 dd 0
        align   4096, db 0
stack:  times 256 db 0
stack_top:
