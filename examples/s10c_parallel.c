/*
 * s10c_parallel.c - MISSION S10: 100 children in parallel, at most 8 at a
 * time (a cio semaphore, asyncio.Semaphore(8)). Each task acquires a
 * permit, runs `sh -c 'sleep 0.05; echo $((N * N))'`, reads the answer and
 * releases the permit. 100 children of 50 ms take about 100 / 8 * 50 ms =
 * 0.65 s instead of 5 s one after the other; the peak concurrency printed
 * at the end is 8.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s10c_parallel.c -o s10c_parallel \
 *         $(pkg-config --cflags --libs cio)
 */
/* cio-test: timeout=30 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdio.h>
#include <stdlib.h>

#include <cio.h>

enum {
    N = 100,
    LIMIT = 8
};

static cio_sem sem;
static int running, peak;
static long sum;

static int square(void *arg, void **result)
{
    (void)result;
    int i = (int)(intptr_t)arg;
    int r = cio_sem_acquire(&sem); /* async with sem: */
    if (r < 0)
        return r;
    if (++running > peak)
        peak = running;
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "sleep 0.05; echo $((%d * %d))", i, i);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_PIPE;
    cio_process *p;
    r = cio_create_subprocess_shell(NULL, cmd, &o, &p);
    if (r == 0) {
        const char *out;
        r = cio_process_communicate(p, NULL, 0, &out, NULL, NULL, NULL);
        if (r == 0)
            sum += strtol(out, NULL, 10);
        cio_process_free(p);
    }
    running--;
    cio_sem_release(&sem);
    return r;
}

static int run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_sem_init(&sem, LIMIT, 0);
    cio_awaitable items[N];
    for (int i = 0; i < N; i++)
        items[i] = CIO_AW_CORO(square, (intptr_t)(i + 1));
    int64_t t0 = cio_loop_time(cio_get_running_loop());
    cio_future *g;
    int r = cio_gather(cio_get_running_loop(), items, N, 0, &g);
    if (r == 0) {
        r = cio_await(g, NULL);
        cio_future_release(g);
    }
    double s = (double)(cio_loop_time(cio_get_running_loop()) - t0) / 1e9;
    printf("%d children, at most %d at a time (peak %d): sum of squares "
           "%ld (expected %d), %.2f s\n",
           N, LIMIT, peak, sum, N * (N + 1) * (2 * N + 1) / 6, s);
    cio_sem_destroy(&sem);
    return r;
}

int main(void)
{
    int r = cio_run(run, NULL, NULL);
    if (r < 0)
        fprintf(stderr, "s10c_parallel: %s\n", cio_strerror(r));
    return r < 0;
}
