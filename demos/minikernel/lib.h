/* lib.h — string and formatting helpers shared by the kernel and the user
 * programs (both are freestanding: there is no C library). */
#ifndef LIB_H
#define LIB_H

#include "types.h"

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

/* A small vsnprintf: %d %u %x %s %c %%, with optional '-' (left-align),
 * '0' (zero-pad) and a width, e.g. "%08x", "%-10s", "%5u".  Always
 * NUL-terminates; returns the length written (truncated to size-1). */
int vformat(char *buf, size_t size, const char *fmt, va_list ap);
int format(char *buf, size_t size, const char *fmt, ...);

#endif
