/*
 * s06_signal_handler.c - MISSION S6: Unix signals on the loop
 * (loop.add_signal_handler).
 *
 * In Python:
 *     def on_usr1():
 *         global count; count += 1
 *         print('SIGUSR1 #%d' % count)
 *     loop.add_signal_handler(signal.SIGUSR1, on_usr1)
 *     for _ in range(3):
 *         os.kill(os.getpid(), signal.SIGUSR1)
 *         await asyncio.sleep(0.1)
 *     loop.remove_signal_handler(signal.SIGUSR1)
 *     loop.stop()
 * The handler is not run inside the signal handler: the loop runs it as an
 * ordinary callback, on its own thread, between other callbacks.
 *
 * cio_loop_add_signal_handler works the same way. Signals delivered
 * before the loop gets round to them are coalesced into one call; the
 * program shows that too, then removes the handler (restoring SIGUSR1's
 * default disposition) and stops the loop.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s06_signal_handler.c -o s06_signal_handler \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cio.h"

static double start;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - start;
}

typedef struct state {
    cio_loop *loop;
    int count;
} state;

/* def on_usr1(): an ordinary loop callback, not a signal handler. */
static int on_usr1(void *arg)
{
    state *s = arg;
    s->count++;
    printf("[%.2fs] SIGUSR1 #%d: on the loop's thread %s, inside a task: %s\n",
           now(), s->count, cio_get_running_loop() == s->loop ? "yes" : "no",
           cio_current_task() ? "yes" : "no");
    return 0;
}

static int sender(void *arg, void **result)
{
    state *s = arg;
    (void)result;
    for (int i = 0; i < 3; i++) {
        printf("[%.2fs] kill(getpid(), SIGUSR1)\n", now());
        kill(getpid(), SIGUSR1);
        int r = cio_sleep(100 * CIO_MS);
        if (r < 0)
            return r;
    }

    int before = s->count;
    printf("[%.2fs] kill(getpid(), SIGUSR1) twice in a row\n", now());
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    cio_sleep(100 * CIO_MS);
    printf("[%.2fs] the two were coalesced into %d call(s)\n", now(),
           s->count - before);

    int r = cio_loop_remove_signal_handler(s->loop, SIGUSR1);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("[%.2fs] remove_signal_handler -> %d; SIGUSR1 disposition is "
           "back to %s\n", now(), r,
           sa.sa_handler == SIG_DFL ? "SIG_DFL" : "something else");
    printf("[%.2fs] remove again -> %d\n", now(),
           cio_loop_remove_signal_handler(s->loop, SIGUSR1));
    return cio_loop_stop(s->loop);
}

int main(void)
{
    state s = {NULL, 0};
    cio_task *t;

    start = 0;
    start = now();
    cio_loop_new(&s.loop, NULL);
    int r = cio_loop_add_signal_handler(s.loop, SIGUSR1, on_usr1, &s);
    printf("add_signal_handler(SIGUSR1) -> %d\n", r);
    printf("add_signal_handler(SIGKILL) -> %s (uncatchable)\n",
           cio_err_name(cio_loop_add_signal_handler(s.loop, SIGKILL, on_usr1,
                                                    &s)));
    if (r < 0)
        return 1;

    cio_task_create(s.loop, CIO_CORO(sender, &s), NULL, &t);
    r = cio_loop_run_forever(s.loop);
    printf("[%.2fs] run_forever -> %s; handler ran %d times; sender %s\n",
           now(), cio_err_name(r), s.count,
           cio_err_name(cio_future_error(t)));
    cio_future_release(t);
    return cio_loop_free(s.loop) < 0 || s.count < 3;
}
