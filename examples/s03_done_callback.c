/*
 * s03_done_callback.c - MISSION S3: add_done_callback and task.result().
 *
 * The note (Python):
 *     async def func(x):
 *         return x+1
 *     def callback(future):
 *         print('Callback: ', future.result())
 *     loop = asyncio.get_event_loop()
 *     task = asyncio.ensure_future(func(1))
 *     task.add_done_callback(callback)
 *     loop.run_until_complete(task)
 *     print(task.result())            # future == task
 * which prints "Callback:  2" then "2"; and the async/await flavour:
 *     async def func(x):
 *         await asyncio.sleep(x)
 *         return 'Done after {}s'.format(x)
 * (run here with x = 0.2 s). A third part shows that an error, like a
 * result, reaches the callback and task.result().
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s03_done_callback.c -o s03_done_callback \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cio.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* async def func(x): return x+1   (integers travel as intptr_t) */
static int func(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg + 1);
    return 0;
}

/* def callback(future): print('Callback: ', future.result()) */
static int callback(cio_future *f, void *arg)
{
    (void)arg;
    void *v = NULL;
    cio_future_result(f, &v);
    printf("Callback:  %ld\n", (long)(intptr_t)v);
    return 0;
}

/* async def func(x): await asyncio.sleep(x); return 'Done after {}s'.format(x)
 * The string is malloc'ed and owned by the task (result_dtor = free). */
static int func_sleep(void *arg, void **result)
{
    double x = *(const double *)arg;
    int r = cio_sleep((int64_t)(x * (double)CIO_SEC));
    if (r < 0)
        return r;
    char *s = malloc(32);
    if (s == NULL)
        return -ENOMEM;
    snprintf(s, 32, "Done after %gs", x);
    *result = s;
    return 0;
}

static int callback_str(cio_future *f, void *arg)
{
    void *v = NULL;
    cio_future_result(f, &v);
    printf("Callback:  %s   (at %.2fs)\n", (const char *)v,
           now_s() - *(const double *)arg);
    return 0;
}

/* A coroutine that fails: a negative return is its error. */
static int func_fail(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return -ERANGE;
}

static int callback_err(cio_future *f, void *arg)
{
    (void)arg;
    int err = cio_future_error(f);
    printf("Callback:  error %s (%s)\n", cio_err_name(err), cio_strerror(err));
    return 0;
}

int main(void)
{
    cio_loop *loop;
    cio_task *task;
    void *v = NULL;
    int r;

    cio_loop_new(&loop, NULL);
    cio_set_event_loop(loop);
    loop = cio_get_event_loop();

    /* 1. task = ensure_future(func(1)); add_done_callback; result */
    cio_ensure_future(loop, NULL, CIO_CORO(func, (intptr_t)1), &task);
    cio_future_add_done_callback(task, callback, NULL);
    cio_loop_run_until_complete(loop, task, NULL);
    cio_future_result(task, &v);
    printf("%ld\n", (long)(intptr_t)v);
    cio_future_release(task);

    /* 2. the async/await flavour: func(0.2) sleeps, returns a string */
    static double x = 0.2;
    double start = now_s();
    cio_task_opts opts = CIO_TASK_OPTS_INIT;
    opts.result_dtor = free;
    cio_task_create(loop, CIO_CORO(func_sleep, &x), &opts, &task);
    cio_future_add_done_callback(task, callback_str, &start);
    r = cio_loop_run_until_complete(loop, task, &v);
    printf("run_until_complete -> %d, result \"%s\" after %.2fs\n", r,
           (const char *)v, now_s() - start);
    cio_future_result(task, &v);
    printf("%s\n", (const char *)v);
    cio_future_release(task); /* frees the string */

    /* 3. an error is retrievable the same way */
    cio_task_create(loop, CIO_CORO(func_fail, NULL), NULL, &task);
    cio_future_add_done_callback(task, callback_err, NULL);
    r = cio_loop_run_until_complete(loop, task, NULL);
    printf("run_until_complete -> %s; task.result() -> %s\n", cio_err_name(r),
           cio_err_name(cio_future_result(task, NULL)));
    cio_future_release(task);

    cio_set_event_loop(NULL);
    return cio_loop_free(loop) < 0;
}
