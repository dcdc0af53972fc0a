/* devices.c — the 8259A interrupt controllers and the 8254 timer. */
#include "arch.h"
#include "kernel.h"

#define PIC1_CMD   0x20
#define PIC1_DATA  0x21
#define PIC2_CMD   0xA0
#define PIC2_DATA  0xA1
#define PIC_EOI    0x20

static uint8_t mask1 = 0xFF, mask2 = 0xFF;

/*
 * Remap the PICs: IRQ 0-7 -> vectors 32-39, IRQ 8-15 -> 40-47 (the BIOS
 * leaves them at 8-15, on top of CPU exceptions).  ICW1 0x11: edge
 * triggered, cascaded, ICW4 follows; ICW2: vector base; ICW3: the slave
 * hangs on master IRQ 2; ICW4 0x01: 8086 mode, normal EOI.  (Intel 8259A
 * data sheet.)  Everything stays masked until pic_unmask.
 */
void pic_init(void)
{
    arch_outb(PIC1_DATA, 0xFF);
    arch_outb(PIC2_DATA, 0xFF);
    arch_outb(PIC1_CMD, 0x11);
    arch_outb(PIC2_CMD, 0x11);
    arch_outb(PIC1_DATA, T_IRQ0);
    arch_outb(PIC2_DATA, T_IRQ0 + 8);
    arch_outb(PIC1_DATA, 0x04);
    arch_outb(PIC2_DATA, 0x02);
    arch_outb(PIC1_DATA, 0x01);
    arch_outb(PIC2_DATA, 0x01);
    arch_outb(PIC1_DATA, mask1);
    arch_outb(PIC2_DATA, mask2);
}

void pic_unmask(int irq)
{
    if (irq < 8) {
        mask1 &= ~(1u << irq);
        arch_outb(PIC1_DATA, mask1);
    } else {
        mask2 &= ~(1u << (irq - 8));
        mask1 &= ~(1u << 2);        /* the cascade line */
        arch_outb(PIC2_DATA, mask2);
        arch_outb(PIC1_DATA, mask1);
    }
}

/* End of interrupt: without it the PIC delivers nothing of equal or
 * lower priority again. */
void pic_eoi(int irq)
{
    if (irq >= 8)
        arch_outb(PIC2_CMD, PIC_EOI);
    arch_outb(PIC1_CMD, PIC_EOI);
}

/* IRQ 7 is also what the master reports for a spurious interrupt: then
 * its in-service bit (OCW3 0x0B: read ISR) is clear and no EOI is due. */
int pic_spurious(int irq)
{
    if (irq != 7)
        return 0;
    arch_outb(PIC1_CMD, 0x0B);
    return !(arch_inb(PIC1_CMD) & 0x80);
}

/* PIT channel 0, mode 2 (rate generator), binary, low then high byte:
 * control word 0x34 (Intel 8254 data sheet).  Its output is IRQ 0. */
void pit_init(unsigned hz)
{
    uint32_t divisor = 1193182 / hz;
    arch_outb(0x43, 0x34);
    arch_outb(0x40, divisor & 0xFF);
    arch_outb(0x40, divisor >> 8);
}
