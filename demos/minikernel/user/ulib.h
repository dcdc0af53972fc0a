/* ulib.h — the user programs' whole C library. */
#ifndef ULIB_H
#define ULIB_H

#include "types.h"
#include "lib.h"
#include "syscall.h"

void exit(int status) __attribute__((noreturn));
int write(const void *buf, size_t len);
void yield(void);
void sleep(unsigned ticks);
int getpid(void);
void *sbrk(int increment);
int send(int pid, uint32_t value);
uint32_t recv(void);

/* Format one line (or several) and write it with ONE system call, so
 * that it reaches the console in one piece. */
int printf(const char *fmt, ...);

#endif
