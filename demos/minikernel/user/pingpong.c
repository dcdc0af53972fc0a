/* pingpong.c — two processes, one program, taking turns by message.
 *
 * The kernel starts this program twice.  Its argument says which part
 * to play (role 0 = ping, 1 = pong), who the partner is, and (for ping)
 * whom to hand the turn to at the end.  Every line is printed by the
 * process that holds the turn, so the order of the lines never depends on
 * when the timer preempts whom. */
#include "ulib.h"

#define ROUNDS 4

/* Initialised, so in .data: both processes map the program's one copy,
 * read-only and copy-on-write; the first write makes a private copy. */
static int answers[ROUNDS + 1] = { -1, -1, -1, -1, -1 };

int main(int arg)
{
    int role = arg & 0xFF, peer = (arg >> 8) & 0xFF, next = (arg >> 16) & 0xFF;

    if (role == 0) {
        printf("ping: pid %d, playing with pid %d\n", getpid(), peer);
        int sum = 0;
        for (int r = 1; r <= ROUNDS; r++) {
            int v = r + 2;
            printf("ping: round %d: sending %d\n", r, v);
            send(peer, v);
            yield();                /* let pong run now; recv() would too */
            answers[r] = recv();
            printf("ping: round %d: pid %d answered %d\n", r, peer, answers[r]);
            sum += answers[r];
        }
        printf("ping: done, the answers add up to %d; handing the turn to pid %d\n",
               sum, next);
        send(next, sum);
    } else {
        for (int r = 1; r <= ROUNDS; r++) {
            int v = recv();
            answers[r] = v * v;
            printf("pong: round %d: got %d, answering %d after a nap\n", r, v, answers[r]);
            sleep(2);               /* ticks: timing only, never output */
            send(peer, answers[r]);
        }
    }
    return 0;
}
