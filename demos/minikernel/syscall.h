/* syscall.h — the system call interface, shared by kernel and user.
 *
 * INT 0x80 (an interrupt gate with DPL 3).  EAX = number, EBX/ECX/EDX =
 * arguments, result in EAX; negative results are errors.
 *
 *   exit(status)          never returns
 *   write(buf, len)       writes len bytes (at most WRITE_MAX) to the
 *                         console as one unit: lines of different
 *                         processes never mix
 *   yield()               give up the CPU, stay runnable
 *   sleep(ticks)          block for at least `ticks` timer ticks
 *   getpid()
 *   sbrk(increment)       grow the heap; returns the old break.  The
 *                         new pages are only reserved: each is given a
 *                         zeroed frame when first touched
 *   send(pid, value)      put `value` in pid's one-word mailbox; blocks
 *                         while the mailbox is full
 *   recv()                take the word from our mailbox; blocks while
 *                         it is empty
 */
#ifndef SYSCALL_H
#define SYSCALL_H

#define SYS_EXIT    1
#define SYS_WRITE   2
#define SYS_YIELD   3
#define SYS_SLEEP   4
#define SYS_GETPID  5
#define SYS_SBRK    6
#define SYS_SEND    7
#define SYS_RECV    8

#define WRITE_MAX   256
#define T_SYSCALL   0x80

#endif
