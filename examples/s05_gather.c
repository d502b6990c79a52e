/*
 * s05_gather.c - MISSION S5/S6: asyncio.gather, results in argument
 * order, return_exceptions, and gather(*all_tasks()).cancel().
 *
 * The note (Python), after Ctrl-C stopped the loop:
 *     print(asyncio.gather(*asyncio.Task.all_tasks()).cancel())
 * prints True and every task still pending ends cancelled.
 *
 * Part 1: gather(func(3), func(1), func(2)) (tenths of a second): the
 * children finish in the order 1, 2, 3 but the results come back in
 * argument order [3, 1, 2]. Part 2: one child fails; without
 * return_exceptions the gather fails at once with that error, with it
 * (cio's return_errors) every child's outcome is listed. Part 3: tasks
 * func(1), func(20), func(33) (seconds) run until a timer stops the loop
 * at 1.5 s, standing in for Ctrl-C; then, outside the loop as in the
 * note, the pending tasks are gathered and the gather is cancelled.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s05_gather.c -o s05_gather \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "cio.h"

/* async def func(i): await asyncio.sleep(i / 10); return i */
static int func(void *arg, void **result)
{
    intptr_t i = (intptr_t)arg;
    int r = cio_sleep(i * 100 * CIO_MS);
    if (r < 0)
        return r;
    printf("  func(%ld) finished\n", (long)i);
    *result = (void *)i;
    return 0;
}

/* async def fail(): await asyncio.sleep(0.15); raise OSError(EIO) */
static int fail(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_sleep(150 * CIO_MS);
    printf("  fail() raises EIO\n");
    return -EIO;
}

/* Like func, in seconds, telling when it is cancelled (part 3). */
static int func_s(void *arg, void **result)
{
    intptr_t i = (intptr_t)arg;
    int r = cio_sleep(i * CIO_SEC);
    if (r < 0) {
        printf("  func(%ld): cancelled\n", (long)i);
        return r;
    }
    printf("  func(%ld) done\n", (long)i);
    *result = (void *)i;
    return 0;
}

static int parts_1_2(void *arg, void **result)
{
    cio_loop *loop = arg;
    cio_future *g;
    void *res[3];
    int err[3];
    (void)result;

    printf("gather(func(3), func(1), func(2))\n");
    cio_awaitable a[3] = {CIO_AW_CORO(func, 3), CIO_AW_CORO(func, 1),
                          CIO_AW_CORO(func, 2)};
    cio_gather(loop, a, 3, 0, &g);
    int r = cio_await(g, NULL);
    cio_gather_results(g, res, err, 3);
    printf("await gather -> %s, results [%ld, %ld, %ld]\n", cio_err_name(r),
           (long)(intptr_t)res[0], (long)(intptr_t)res[1],
           (long)(intptr_t)res[2]);
    cio_future_release(g);

    printf("\ngather(func(1), fail(), func(3))\n");
    cio_awaitable b[3] = {CIO_AW_CORO(func, 1), CIO_AW_CORO(fail, 0),
                          CIO_AW_CORO(func, 3)};
    cio_gather(loop, b, 3, 0, &g);
    r = cio_await(g, NULL);
    printf("await gather -> %s (the first error, at once)\n", cio_err_name(r));
    cio_future_release(g);
    cio_sleep(300 * CIO_MS); /* the other children keep running */

    printf("\ngather(func(1), fail(), func(3), return_exceptions=True)\n");
    cio_gather(loop, b, 3, 1, &g);
    r = cio_await(g, NULL);
    cio_gather_results(g, res, err, 3);
    printf("await gather -> %s, outcomes:\n", cio_err_name(r));
    for (int i = 0; i < 3; i++) {
        if (err[i] == 0)
            printf("  [%d] %ld\n", i, (long)(intptr_t)res[i]);
        else
            printf("  [%d] error %s\n", i, cio_err_name(err[i]));
    }
    cio_future_release(g);
    return 0;
}

static int stop_cb(void *arg)
{
    printf("[1.5 s] the loop is stopped (stands in for Ctrl-C)\n");
    return cio_loop_stop(arg);
}

int main(void)
{
    cio_loop *loop;
    cio_task *t, *pending[8], *kids[3];
    cio_future *g;
    int r;

    cio_loop_new(&loop, NULL);
    cio_task_create(loop, CIO_CORO(parts_1_2, loop), NULL, &t);
    r = cio_loop_run_until_complete(loop, t, NULL);
    cio_future_release(t);
    if (r < 0)
        return 1;

    printf("\ntasks func(1), func(20), func(33); run_forever\n");
    static const char *names[3] = {"func(1)", "func(20)", "func(33)"};
    static const intptr_t secs[3] = {1, 20, 33};
    for (int i = 0; i < 3; i++) {
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = names[i];
        cio_task_create(loop, CIO_CORO(func_s, secs[i]), &o, &kids[i]);
    }
    cio_loop_call_later(loop, 1500 * CIO_MS, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);

    /* print(asyncio.gather(*asyncio.Task.all_tasks()).cancel()) */
    int n = cio_loop_all_tasks(loop, pending, 8);
    printf("all_tasks(): %d pending:", n);
    cio_awaitable aw[8];
    for (int i = 0; i < n; i++) {
        printf(" %s", cio_task_name(pending[i]));
        aw[i] = CIO_AW_FUTURE(pending[i]);
    }
    printf("\n");
    cio_gather(loop, aw, (size_t)n, 0, &g);
    printf("%d\n", cio_future_cancel(g, NULL));

    /* Let the cancelled tasks run their cleanup. */
    r = cio_loop_run_until_complete(loop, g, NULL);
    printf("run_until_complete(gather) -> %s\n", cio_err_name(r));
    for (int i = 0; i < 3; i++)
        printf("%s: done %d, cancelled %d\n", cio_task_name(kids[i]),
               cio_future_done(kids[i]), cio_future_cancelled(kids[i]));
    cio_future_release(g);
    for (int i = 0; i < 3; i++)
        cio_future_release(kids[i]);
    return cio_loop_free(loop) < 0;
}
