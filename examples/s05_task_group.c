/*
 * s05_task_group.c - MISSION S5: structured concurrency (asyncio.TaskGroup)
 * with one failing child.
 *
 * In Python (3.11+):
 *     async def main():
 *         try:
 *             async with asyncio.TaskGroup() as tg:
 *                 tg.create_task(worker('slow', 1))
 *                 tg.create_task(boom())        # raises OSError after 0.2 s
 *                 tg.create_task(worker('slower', 2))
 *                 await asyncio.sleep(5)        # the block's own work
 *         except* OSError as eg:
 *             print(len(eg.exceptions), eg.exceptions)
 *         print('parent continues')
 *     asyncio.run(main())
 * boom's error cancels the two workers and interrupts the block's sleep;
 * the group waits for every child, then raises an ExceptionGroup holding
 * the one error; the parent carries on after the block.
 *
 * In cio the block ends with cio_task_group_wait(g, rc), which returns
 * CIO_EGROUP; cio_task_group_errors lists the children's errors.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s05_task_group.c -o s05_task_group \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
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

static const char *state_name(int s)
{
    switch (s) {
    case CIO_TASK_PENDING: return "pending";
    case CIO_TASK_RUNNING: return "running";
    case CIO_TASK_DONE: return "done";
    case CIO_TASK_CANCELLED: return "cancelled";
    default: return cio_err_name(s);
    }
}

/* async def worker(name, secs) */
static int worker(void *arg, void **result)
{
    intptr_t secs = (intptr_t)arg;
    const char *name = cio_task_name(cio_current_task());
    (void)result;
    printf("[%.2fs] %s: sleeping %ld s\n", now(), name, (long)secs);
    int r = cio_sleep(secs * CIO_SEC);
    printf("[%.2fs] %s: sleep -> %s\n", now(), name, cio_err_name(r));
    return r;
}

/* async def boom(): await asyncio.sleep(0.2); raise OSError(EIO) */
static int boom(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_sleep(200 * CIO_MS);
    if (r < 0)
        return r;
    printf("[%.2fs] boom: fails with EIO\n", now());
    return -EIO;
}

static int parent(void *arg, void **result)
{
    cio_task_group *g;
    cio_task *kids[3];
    static const char *names[3] = {"slow", "boom", "slower"};
    cio_coro coros[3] = {CIO_CORO(worker, 1), CIO_CORO(boom, 0),
                         CIO_CORO(worker, 2)};
    (void)arg;
    (void)result;

    /* async with asyncio.TaskGroup() as tg: */
    int r = cio_task_group_new(&g);
    if (r < 0)
        return r;
    for (int i = 0; i < 3; i++) {
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = names[i];
        cio_task_group_spawn(g, coros[i], &o, &kids[i]);
    }
    printf("[%.2fs] parent: block sleeps 5 s\n", now());
    r = cio_sleep(5 * CIO_SEC);
    printf("[%.2fs] parent: block's sleep -> %s (interrupted by the group)\n",
           now(), cio_err_name(r));
    r = cio_task_group_wait(g, r); /* the end of the async with block */

    printf("[%.2fs] parent: task_group_wait -> %s\n", now(), cio_err_name(r));
    if (r == CIO_EGROUP) {
        int errs[8];
        int n = cio_task_group_errors(g, errs, 8);
        printf("error group: %d error%s:", n, n == 1 ? "" : "s");
        for (int i = 0; i < n && i < 8; i++)
            printf(" %s (%s)", cio_err_name(errs[i]), cio_strerror(errs[i]));
        printf("\n");
    }
    for (int i = 0; i < 3; i++) {
        printf("  %-6s %-9s outcome %s\n", names[i],
               state_name(cio_task_state_get(kids[i])),
               cio_err_name(cio_future_error(kids[i])));
        cio_future_release(kids[i]);
    }
    cio_task_group_free(g);

    printf("[%.2fs] parent continues after the block, cancelling() = %d\n",
           now(), cio_task_cancelling(cio_current_task()));
    r = cio_sleep(100 * CIO_MS);
    printf("[%.2fs] parent: a later sleep -> %s, returning\n", now(),
           cio_err_name(r));
    return r;
}

int main(void)
{
    start = 0;
    start = now();
    int r = cio_run(parent, NULL, NULL);
    printf("cio_run -> %s\n", cio_err_name(r));
    return r != 0;
}
