/* console.c — the serial console (COM1) and kprintf/panic.
 *
 * The kernel writes with interrupts disabled and polls the UART, so a
 * call to console_write finishes before anything else can print: that is
 * what makes each write() system call atomic. */
#include "arch.h"
#include "kernel.h"

#define COM1      0x3F8
#define LSR_THRE  0x20

void console_init(void)
{
    arch_outb(COM1 + 1, 0x00);      /* IER: no UART interrupts, we poll */
    arch_outb(COM1 + 3, 0x80);      /* LCR: DLAB = 1 */
    arch_outb(COM1 + 0, 0x01);      /* divisor 1: 115200 baud */
    arch_outb(COM1 + 1, 0x00);
    arch_outb(COM1 + 3, 0x03);      /* 8N1, DLAB = 0 */
    arch_outb(COM1 + 2, 0xC7);      /* FIFOs on and cleared */
    arch_outb(COM1 + 4, 0x03);      /* DTR, RTS */
}

static void putc_raw(char c)
{
    while (!(arch_inb(COM1 + 5) & LSR_THRE))
        ;
    arch_outb(COM1, (uint8_t)c);
}

/* Like a terminal driver's ONLCR: '\n' goes out as "\r\n". */
void console_write(const char *s, size_t n)
{
    while (n--) {
        if (*s == '\n')
            putc_raw('\r');
        putc_raw(*s++);
    }
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    console_write(buf, n);
}

/* panic — the kernel found itself in a state it cannot continue from.
 * Print why and stop the machine with exit code 0x11 (status 35). */
void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    arch_irq_disable();
    va_start(ap, fmt);
    int n = vformat(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kprintf("minikernel: panic: ");
    console_write(buf, n);
    kprintf("\n");
    arch_poweroff(0x11);
}
