/*
 * s01_loop.c - MISSION S1: the event loop and the four ways to drive it.
 *
 * The note (Python):
 *     loop.run_until_complete()
 *     loop.stop()
 *     loop.run_forever()  # keeps running even when every task is done,
 *                         # until loop.stop() is called
 *     loop.close()
 * plus asyncio.get_event_loop / new_event_loop / set_event_loop.
 *
 * This program gets/creates/sets a loop, runs a task with
 * run_until_complete, then runs the loop forever: a task finishes at once,
 * the loop keeps running with nothing scheduled, and a timer 0.5 s later
 * calls stop. close is refused while the loop runs; afterwards it succeeds.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s01_loop.c -o s01_loop \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cio.h"

static double t0;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - t0;
}

static void show(const char *what, int r)
{
    printf("  %-34s -> %d %s (%s)\n", what, r, cio_err_name(r), cio_strerror(r));
}

/* async def hello(): await asyncio.sleep(0.1); return 42 */
static int hello(void *arg, void **result)
{
    (void)arg;
    printf("[%.2fs] hello: running; running loop is the current loop: %s\n",
           now_s(), cio_get_running_loop() == cio_get_event_loop() ? "yes" : "no");
    int r = cio_sleep(100 * CIO_MS);
    if (r < 0)
        return r;
    *result = (void *)(intptr_t)42;
    return 0;
}

/* A task that ends at once: run_forever must not stop because of it. */
static int quick(void *arg, void **result)
{
    (void)arg;
    (void)result;
    printf("[%.2fs] quick: task done (run_forever goes on)\n",
           now_s());
    return 0;
}

static int try_close(void *arg)
{
    cio_loop *loop = arg;
    printf("[%.2fs] callback: is_running=%d, trying close:\n", now_s(),
           cio_loop_is_running(loop));
    show("cio_loop_close(running loop)", cio_loop_close(loop));
    printf("[%.2fs] callback: now nothing is scheduled but the stop timer\n",
           now_s());
    return 0;
}

static int stop_cb(void *arg)
{
    cio_loop *loop = arg;
    printf("[%.2fs] timer: is_running=%d, calling cio_loop_stop\n", now_s(),
           cio_loop_is_running(loop));
    return cio_loop_stop(loop);
}

int main(void)
{
    cio_loop *loop;
    cio_task *t;
    void *res = NULL;
    int r;

    t0 = now_s();
    /* get_event_loop never creates a loop in cio: new + set first. */
    printf("get_event_loop() before set: %s\n",
           cio_get_event_loop() ? "a loop" : "NULL");
    if ((r = cio_loop_new(&loop, NULL)) < 0 ||
        (r = cio_set_event_loop(loop)) < 0) {
        show("new/set event loop", r);
        return 1;
    }
    printf("new_event_loop + set_event_loop: get_event_loop() is it: %s, backend %s\n",
           cio_get_event_loop() == loop ? "yes" : "no", cio_loop_backend_name(loop));

    /* 1. run_until_complete(task) */
    printf("\n== run_until_complete ==\n");
    cio_task_create(loop, CIO_CORO(hello, NULL), NULL, &t);
    r = cio_loop_run_until_complete(loop, t, &res);
    printf("[%.2fs] run_until_complete -> %d, result %ld\n", now_s(), r,
           (long)(intptr_t)res);
    cio_future_release(t);

    /* 2. stop before run_forever: the next run polls once and returns. */
    printf("\n== stop, then run_forever ==\n");
    double before = now_s();
    cio_loop_stop(loop);
    r = cio_loop_run_forever(loop);
    printf("run_forever after an early stop -> %d, returned after %.2fs\n", r,
           now_s() - before);

    /* 3. run_forever with nothing to do until a timer calls stop. */
    printf("\n== run_forever until stop ==\n");
    before = now_s();
    cio_task_create(loop, CIO_CORO(quick, NULL), NULL, NULL);
    cio_loop_call_soon(loop, try_close, loop, NULL);
    cio_loop_call_later(loop, 500 * CIO_MS, stop_cb, loop, NULL);
    r = cio_loop_run_forever(loop);
    printf("[%.2fs] run_forever -> %d after %.2fs (the loop idled until stop)\n",
           now_s(), r, now_s() - before);
    printf("is_running=%d is_closed=%d\n", cio_loop_is_running(loop),
           cio_loop_is_closed(loop));

    /* 4. close */
    printf("\n== close ==\n");
    show("cio_loop_close(loop)", cio_loop_close(loop));
    printf("is_closed=%d\n", cio_loop_is_closed(loop));
    show("cio_loop_close again", cio_loop_close(loop));
    show("cio_loop_run_forever(closed)", cio_loop_run_forever(loop));
    show("cio_set_event_loop(closed)", cio_set_event_loop(loop));
    cio_set_event_loop(NULL);
    cio_loop_free(loop);
    return 0;
}
