; timer.asm — hardware interrupts: the 8259A PIC, the 8254 PIT and IF.
;
; The guest
;   1. loads its own GDT and IDT,
;   2. reprograms the two 8259A interrupt controllers so that IRQ 0-7
;      arrive at vectors 0x20-0x27 and IRQ 8-15 at 0x28-0x2F (the BIOS
;      default, 0x08-0x0F, collides with the CPU's exception vectors;
;      SDM Vol. 3A 6.3: vectors 0-31 are reserved),
;   3. programs 8254 channel 0 as a rate generator at about 100 Hz,
;   4. shows CLI, STI and POPF changing EFLAGS.IF (read back with PUSHF),
;      and that with IF = 0 a pending timer interrupt is held off,
;   5. waits for ten timer interrupts with HLT, printing each count.
;
; Determinism: how many instructions run between two ticks depends on the
; host (QEMU's timer follows the wall clock; Ringside's follows retired
; instructions).  So the guest prints only things that do not depend on
; it: tick numbers, IF values, and "no tick arrived while IF = 0".  If
; several ticks arrive between two looks, each number is still printed
; once, in order.
;
; Exit: debug-exit 0x10 (status 33); 0x11 (35) on an unexpected exception.

bits 32

%include "multiboot.inc"
%include "serial.inc"
%include "x86.inc"

SEL_KCODE       equ 0x08
SEL_KDATA       equ 0x10

PIC1_CMD        equ 0x20            ; master 8259A: command / status
PIC1_DATA       equ 0x21            ;               data / interrupt mask
PIC2_CMD        equ 0xA0            ; slave 8259A
PIC2_DATA       equ 0xA1
PIC_EOI         equ 0x20            ; OCW2: non-specific end of interrupt
IRQ_BASE        equ 0x20            ; vector of IRQ 0 after the remap

PIT_CH0         equ 0x40            ; 8254 channel 0 counter
PIT_CMD         equ 0x43            ; 8254 mode/command register
PIT_HZ          equ 1193182         ; input clock of the 8254 on a PC
PIT_DIVISOR     equ 11932           ; 1193182 / 11932 = 99.998 Hz

TICKS_WANTED    equ 10
SPIN_LOOPS      equ 100000

EFLAGS_IF       equ 1 << 9

; ====================================================================
section .text
global _start
_start:
        cli
        mov     esp, stack_top
        call    serial_init
        call    mask_pics           ; nothing may arrive before the IDT

        lgdt    [gdtr]
        jmp     SEL_KCODE:.cs_ok
.cs_ok: mov     ax, SEL_KDATA
        mov     ds, ax
        mov     es, ax
        mov     fs, ax
        mov     gs, ax
        mov     ss, ax

        ; --- IDT: 32 exception vectors, then the 16 IRQ vectors
        mov     edi, idt
        mov     esi, vectors
        mov     bx, SEL_KCODE
        mov     cl, GATE_INT32      ; interrupt gates: IF = 0 in handlers
        mov     edx, 48
.fill:  lodsd
        call    set_gate
        add     edi, 8
        dec     edx
        jnz     .fill
        lidt    [idtr]

        call    pic_remap
        call    pit_start
        PRINT   `timer: PIC remapped (master 0x20, slave 0x28); PIT channel 0 mode 2, divisor 11932 (100 Hz)\r\n`

; --------------------------------------------------------------------
; IF and the instructions that change it (SDM Vol. 3A 6.8.1).  The PIC
; still masks IRQ 0, so setting IF lets nothing in yet.
        cli
        PRINT   `cli: `
        call    print_if
        sti
        PRINT   `sti: `
        call    print_if
        pushfd
        and     dword [esp], ~EFLAGS_IF
        popfd
        PRINT   `popf IF=0: `
        call    print_if
        pushfd
        or      dword [esp], EFLAGS_IF
        popfd
        PRINT   `popf IF=1: `
        call    print_if
        cli

        ; --- unmask IRQ 0 (OCW1: a 0 bit enables that IRQ line)
        mov     al, 0xFE            ; master: only IRQ 0
        out     PIC1_DATA, al
        mov     al, 0xFF            ; slave: nothing
        out     PIC2_DATA, al
        PRINT   `timer: IRQ0 unmasked\r\n`

        ; --- With IF = 0 the PIC may raise INTR, but the CPU does not
        ; take it; the request waits in the PIC's IRR.
        mov     ebx, [ticks]
        mov     ecx, SPIN_LOOPS
.spin1: loop    .spin1
        mov     eax, [ticks]
        sub     eax, ebx
        PRINT   `cli: `
        call    print_if_no_nl
        PRINT   `, ticks during a spin: `
        PDEC    eax
        PRINT   `\r\n`

        sti                         ; a pending tick is taken here
        pushfd                      ; ... and now POPF turns IF off again
        and     dword [esp], ~EFLAGS_IF
        popfd
        mov     ebx, [ticks]
        mov     ecx, SPIN_LOOPS
.spin2: loop    .spin2
        mov     eax, [ticks]
        sub     eax, ebx
        PRINT   `popf IF=0: `
        call    print_if_no_nl
        PRINT   `, ticks during a spin: `
        PDEC    eax
        PRINT   `\r\n`

; --------------------------------------------------------------------
; Count ticks.  Reading `ticks` with IF = 0 cannot race the handler.
; STI; HLT is the classic idle idiom: STI takes effect only after the
; next instruction (SDM Vol. 2B, STI), so an interrupt cannot slip in
; between them and leave HLT waiting for the next one.
        mov     dword [ticks], 0
        xor     ebx, ebx            ; EBX = last tick number printed
.wait:
        cli
        mov     eax, [ticks]
.show:  cmp     ebx, eax
        jae     .shown
        cmp     ebx, TICKS_WANTED
        jae     .done
        inc     ebx
        PRINT   `tick `
        PDEC    ebx
        PRINT   `\r\n`
        jmp     .show
.shown: cmp     ebx, TICKS_WANTED
        jae     .done
        sti
        hlt                         ; sleep until an interrupt
        jmp     .wait

.done:  cli
        mov     al, 0xFF
        out     PIC1_DATA, al       ; mask IRQ 0 again
        PRINT   `timer: 10 ticks counted, IRQ0 masked\r\n`
        DEBUG_EXIT 0x10

; ====================================================================
; pic_remap — the 8259A initialisation sequence (Intel 8259A data sheet,
; "Initialization command words"), for both controllers:
;   ICW1 (command port)  0x11  edge triggered, cascade, ICW4 follows
;   ICW2 (data port)     vector base: 0x20 master, 0x28 slave
;   ICW3 (data port)     master: slave on IRQ 2 (bit mask 0x04);
;                        slave: its cascade identity, 2
;   ICW4 (data port)     0x01  8086 mode, normal (not automatic) EOI
; After ICW4 the data port is the interrupt mask register (OCW1).
; Writes to port 0x80 (the POST port) give an old PIC time to settle.
pic_remap:
        mov     al, 0x11
        out     PIC1_CMD, al
        out     0x80, al
        out     PIC2_CMD, al
        out     0x80, al
        mov     al, IRQ_BASE
        out     PIC1_DATA, al
        out     0x80, al
        mov     al, IRQ_BASE + 8
        out     PIC2_DATA, al
        out     0x80, al
        mov     al, 0x04
        out     PIC1_DATA, al
        out     0x80, al
        mov     al, 0x02
        out     PIC2_DATA, al
        out     0x80, al
        mov     al, 0x01
        out     PIC1_DATA, al
        out     0x80, al
        out     PIC2_DATA, al
        out     0x80, al
        mov     al, 0xFF            ; all masked until we are ready
        out     PIC1_DATA, al
        out     PIC2_DATA, al
        ret

; pit_start — 8254 control word (Intel 8254 data sheet):
;   bits 7-6 = 00 channel 0, bits 5-4 = 11 low byte then high byte,
;   bits 3-1 = 010 mode 2 (rate generator), bit 0 = 0 binary  -> 0x34.
; Channel 0's output drives IRQ 0.
pit_start:
        mov     al, 0x34
        out     PIT_CMD, al
        mov     al, PIT_DIVISOR & 0xFF
        out     PIT_CH0, al
        mov     al, PIT_DIVISOR >> 8
        out     PIT_CH0, al
        ret

; print_if — "IF=n\r\n" from PUSHF; print_if_no_nl — without the newline.
print_if:
        call    print_if_no_nl
        PRINT   `\r\n`
        ret
print_if_no_nl:
        push    eax
        pushfd
        pop     eax
        shr     eax, 9
        and     eax, 1
        PRINT   `IF=`
        PDEC    eax
        pop     eax
        ret

; ====================================================================
; Interrupt handlers.

; IRQ 0: count, then tell the PIC the interrupt is done.  Without the
; EOI the PIC's in-service bit stays set and no further IRQ 0 (or any
; lower-priority IRQ) is delivered.
irq0:
        inc     dword [ticks]
        push    eax
        mov     al, PIC_EOI
        out     PIC1_CMD, al
        pop     eax
        iretd

; IRQ 7: also what a master 8259A reports for a *spurious* interrupt.
; Read the in-service register (OCW3 0x0B, then read the command port):
; if bit 7 is clear, nothing was in service, so send no EOI.
irq7:
        push    eax
        mov     al, 0x0B
        out     PIC1_CMD, al
        in      al, PIC1_CMD
        test    al, 0x80
        jz      .spurious
        mov     al, PIC_EOI
        out     PIC1_CMD, al
.spurious:
        pop     eax
        iretd

; Any other IRQ (all masked: should not happen) — acknowledge and go on.
irq_other_slave:
        push    eax
        mov     al, PIC_EOI
        out     PIC2_CMD, al
        out     PIC1_CMD, al
        pop     eax
        iretd
irq_other_master:
        push    eax
        mov     al, PIC_EOI
        out     PIC1_CMD, al
        pop     eax
        iretd

; Exceptions: none is expected.
%macro EXC_STUB 1
exc_%1:
%if (%1 == 8) || (%1 >= 10 && %1 <= 14) || (%1 == 17)
%else
        push    dword 0
%endif
        push    dword %1
        jmp     unexpected
%endmacro
%assign v 0
%rep 32
        EXC_STUB v
%assign v v + 1
%endrep

unexpected:
        mov     ebx, [esp]
        mov     edx, [esp + 4]
        mov     edi, [esp + 8]
        PRINT   `unexpected exception: vector=`
        PHEX    ebx, 2
        PRINT   ` err=`
        PHEX    edx, 8
        PRINT   ` eip=`
        PHEX    edi, 8
        PRINT   `\r\n`
        DEBUG_EXIT 0x11

; ====================================================================
section .rodata
align 4
vectors:
%assign v 0
%rep 32
        dd      exc_ %+ v
%assign v v + 1
%endrep
        dd      irq0,  irq_other_master, irq_other_master, irq_other_master
        dd      irq_other_master, irq_other_master, irq_other_master, irq7
        times 8 dd irq_other_slave

section .data
align 16
gdt:
        dq      0
        SEGDESC 0, 0xFFFFF, ACC_CODE_DPL0, FLAGS_4K_32  ; 0x08
        SEGDESC 0, 0xFFFFF, ACC_DATA_DPL0, FLAGS_4K_32  ; 0x10
gdt_end:
align 4
        dw      0
gdtr:   dw      gdt_end - gdt - 1
        dd      gdt
        dw      0
idtr:   dw      48 * 8 - 1
        dd      idt
ticks:  dd      0                   ; incremented by irq0

section .bss
align 8
idt:            resb    48 * 8
align 16
stack:          resb    4096
stack_top:
