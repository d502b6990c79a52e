/*
 * s05_wait.c - MISSION S5: asyncio.wait returns (done, pending);
 * coroutines are wrapped as tasks automatically.
 *
 * The note (Python):
 *     async def func(i=2):
 *         print('sleep: ',i)
 *         await asyncio.sleep(i)
 *         return i
 *     loop = asyncio.get_event_loop()
 *     tasks_coroutine = asyncio.wait([func(1), func(3)])
 *     dones, pendings = loop.run_until_complete(tasks_coroutine)
 *     for task in dones:
 *         print(task.result())  # order not fixed; pendings == set()
 * It prints "sleep:  1", "sleep:  3", then 1 and 3 after 3 seconds.
 *
 * cio_wait must run inside a task, so run_until_complete gets a wrapper
 * task (as run_until_complete wraps asyncio.wait's coroutine in a task).
 * cio's done array is in completion order, so 1 comes before 3. The
 * program then shows return_when=FIRST_COMPLETED and a timeout that
 * leaves a task pending, which is then cancelled (wait never cancels).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s05_wait.c -o s05_wait \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cio.h"

static double start;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - start;
}

/* async def func(i=2) */
static int func(void *arg, void **result)
{
    intptr_t i = (intptr_t)arg;
    printf("sleep:  %ld\n", (long)i);
    int r = cio_sleep(i * CIO_SEC);
    if (r < 0) {
        printf("  func(%ld): cancelled while sleeping\n", (long)i);
        return r;
    }
    *result = (void *)i;
    return 0;
}

static void print_sets(const char *what, cio_future **done, size_t ndone,
                       size_t npending)
{
    printf("[%.2fs] %s: %zu done, %zu pending\n", now(), what, ndone, npending);
    for (size_t k = 0; k < ndone; k++) {
        void *v = NULL;
        int r = cio_future_result(done[k], &v);
        if (r == 0)
            printf("%ld\n", (long)(intptr_t)v); /* print(task.result()) */
        else
            printf("  a done task failed: %s\n", cio_err_name(r));
    }
}

static void release_all(cio_future **fs, size_t n)
{
    for (size_t k = 0; k < n; k++)
        cio_future_release(fs[k]);
}

/* The coroutine that run_until_complete drives. */
static int wrapper(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_future *done[2], *pending[2];
    size_t nd, np;
    void *v = NULL;

    /* asyncio.wait([func(1), func(3)]) */
    cio_awaitable items[2] = {CIO_AW_CORO(func, 1), CIO_AW_CORO(func, 3)};
    int r = cio_wait(items, 2, -1, CIO_ALL_COMPLETED, done, &nd, pending, &np);
    if (r < 0)
        return r;
    print_sets("wait(ALL_COMPLETED)", done, nd, np);
    release_all(done, nd);
    release_all(pending, np);

    /* asyncio.wait([func(1), func(2)], return_when=FIRST_COMPLETED) */
    printf("\n[%.2fs] wait([func(1), func(2)], FIRST_COMPLETED)\n", now());
    items[0] = CIO_AW_CORO(func, 1);
    items[1] = CIO_AW_CORO(func, 2);
    r = cio_wait(items, 2, -1, CIO_FIRST_COMPLETED, done, &nd, pending, &np);
    if (r < 0)
        return r;
    print_sets("wait(FIRST_COMPLETED)", done, nd, np);
    for (size_t k = 0; k < np; k++) {
        r = cio_await(pending[k], &v); /* the pending one keeps running */
        printf("[%.2fs] the pending task finished later: %s, result %ld\n",
               now(), cio_err_name(r), (long)(intptr_t)v);
    }
    release_all(done, nd);
    release_all(pending, np);

    /* asyncio.wait([func(1), func(2)], timeout=1.5) */
    printf("\n[%.2fs] wait([func(1), func(2)], timeout=1.5)\n", now());
    items[0] = CIO_AW_CORO(func, 1);
    items[1] = CIO_AW_CORO(func, 2);
    r = cio_wait(items, 2, 1500 * CIO_MS, CIO_ALL_COMPLETED, done, &nd,
                 pending, &np);
    if (r < 0)
        return r;
    print_sets("wait(timeout=1.5)", done, nd, np);
    for (size_t k = 0; k < np; k++) {
        printf("cancel: %d\n", cio_task_cancel(pending[k], NULL));
        r = cio_await(pending[k], NULL);
        printf("[%.2fs] pending task awaited: %s, cancelled() %d\n", now(),
               cio_err_name(r), cio_future_cancelled(pending[k]));
    }
    release_all(done, nd);
    release_all(pending, np);
    return 0;
}

int main(void)
{
    cio_loop *loop;
    cio_task *t;

    start = 0;
    start = now();
    cio_loop_new(&loop, NULL);
    cio_set_event_loop(loop);
    loop = cio_get_event_loop();

    cio_task_create(loop, CIO_CORO(wrapper, NULL), NULL, &t);
    int r = cio_loop_run_until_complete(loop, t, NULL);
    printf("\n[%.2fs] run_until_complete -> %s\n", now(), cio_err_name(r));
    cio_future_release(t);
    cio_set_event_loop(NULL);
    return cio_loop_free(loop) < 0 || r < 0;
}
