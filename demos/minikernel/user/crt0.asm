; crt0.asm — where a user program starts.
;
; The kernel enters user mode with ESP = 0x80000000 (the top of a stack
; that has no page yet: the PUSH below is this process's first page
; fault) and EAX = the argument the kernel chose for this process.

bits 32
section .text
global _start
extern main, exit
_start:
        push    eax                 ; main(arg)
        call    main
        push    eax                 ; exit(main's result)
        call    exit
.hang:  jmp     .hang               ; exit does not return
