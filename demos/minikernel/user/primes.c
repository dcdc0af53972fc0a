/* primes.c — CPU-bound work on a demand-paged heap and stack.
 *
 * It computes while ping and pong play (the timer shares the CPU), then
 * waits for ping to hand it the turn before it prints anything. */
#include "ulib.h"

#define LIMIT   65536u              /* 64 KiB of sieve: 16 heap pages */
#define CHECK   20000u
#define DEPTH   24

/* Each call has a 1 KiB frame, so the recursion grows the stack by
 * about 24 KiB: more pages, each mapped on its first touch. */
static unsigned deep(unsigned depth)
{
    volatile uint8_t frame[1024];
    for (unsigned i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)(depth + i);
    if (depth == 0)
        return frame[1];
    return deep(depth - 1) + frame[depth];
}

static int is_prime(unsigned n)
{
    if (n < 2)
        return 0;
    for (unsigned d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

int main(int arg)
{
    /* sbrk only moves the break: no page is mapped until touched, and a
     * fresh page reads as zeros. */
    uint8_t *composite = sbrk(LIMIT);
    unsigned count = 0, largest = 0, sum = 0, below_check = 0;
    for (unsigned i = 2; i < LIMIT; i++) {
        if (composite[i])
            continue;
        count++;
        largest = i;
        sum += i;
        if (i < CHECK)
            below_check++;
        for (unsigned j = i * i; j < LIMIT && i < 256; j += i)
            composite[j] = 1;
    }
    unsigned trial = 0;
    for (unsigned n = 0; n < CHECK; n++)
        trial += is_prime(n);
    unsigned d = deep(DEPTH);

    uint32_t token = recv();        /* wait for the turn */
    printf("primes: my turn (ping sent %u)\n", token);
    printf("primes: %u primes below %u, the largest %u, their sum %u\n",
           count, LIMIT, largest, sum);
    printf("primes: trial division %s: %u primes below %u\n",
           trial == below_check ? "agrees" : "DISAGREES", trial, CHECK);
    printf("primes: recursion %d calls deep with 1 KiB frames returned %u\n",
           DEPTH, d);
    return 0;
}
