/*
 * s08_tasks_before_run.c - MISSION S8: tasks created before the loop runs
 * start when it runs.
 *
 * The note (Python):
 *     start = now()
 *     async def worker(task=1):
 *         print('Start worker')
 *         await asyncio.sleep(task)
 *         print('Done ', task, now() - start)
 *     loop = asyncio.get_event_loop()
 *     asyncio.ensure_future(worker())
 *     asyncio.ensure_future(worker())
 *     loop.create_task(worker())
 *     try:
 *         loop.run_forever()
 *     except KeyboardInterrupt as e:
 *         print(asyncio.gather(*asyncio.Task.all_tasks()).cancel())
 * It prints "Start worker" three times, then "Done  1 1.00..." three
 * times about one second later (the workers sleep concurrently).
 *
 * The Python version then runs forever, until Ctrl-C. Here a done callback
 * counts the finished workers and stops the loop after the third, so the
 * program ends by itself.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s08_tasks_before_run.c -o s08_tasks_before_run \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cio.h"

#define NWORKERS 3

static double start;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* async def worker(task=1) */
static int worker(void *arg, void **result)
{
    (void)result;
    intptr_t task = (intptr_t)arg;
    printf("Start worker\n");
    int r = cio_sleep(task * CIO_SEC);
    if (r < 0)
        return r;
    printf("Done  %ld %f\n", (long)task, now() - start);
    return 0;
}

/* Stands in for Ctrl-C: stop the loop once every worker is done. */
static int count_done(cio_future *f, void *arg)
{
    int *done = arg;
    if (++*done == NWORKERS)
        cio_loop_stop(cio_future_loop(f));
    return 0;
}

int main(void)
{
    cio_loop *loop;
    cio_task *t[NWORKERS];
    int done = 0, r;

    start = now();
    cio_loop_new(&loop, NULL);
    cio_set_event_loop(loop);
    loop = cio_get_event_loop();

    cio_ensure_future(loop, NULL, CIO_CORO(worker, (intptr_t)1), &t[0]);
    cio_ensure_future(loop, NULL, CIO_CORO(worker, (intptr_t)1), &t[1]);
    cio_task_create(loop, CIO_CORO(worker, (intptr_t)1), NULL, &t[2]);
    for (int i = 0; i < NWORKERS; i++)
        cio_future_add_done_callback(t[i], count_done, &done);

    cio_task *pending[NWORKERS];
    printf("(3 tasks created, loop not running yet: %d pending tasks, "
           "none started)\n", cio_loop_all_tasks(loop, pending, NWORKERS));

    r = cio_loop_run_forever(loop);
    printf("(run_forever -> %d after %.2fs, %d workers done)\n", r,
           now() - start, done);

    for (int i = 0; i < NWORKERS; i++)
        cio_future_release(t[i]);
    cio_set_event_loop(NULL);
    return cio_loop_free(loop) < 0;
}
