/*
 * s05c_with_lock.c - asyncio's `async with lock:` and `async with cond:`
 * in C: CIO_WITH_LOCK and CIO_WITH_COND release on every path out of the
 * block, a return on cancellation included.
 *
 * The Python this mirrors:
 *     async def worker(name, lock):
 *         async with lock:
 *             print(name, 'has the lock'); await asyncio.sleep(0.02)
 *     async def waiter(cond, box):
 *         async with cond:
 *             await cond.wait_for(lambda: box)   # cancelled after 50 ms
 *     async def main():
 *         lock = asyncio.Lock()
 *         await asyncio.gather(*(worker(n, lock) for n in 'abc'))
 *         t = asyncio.create_task(waiter(cond, box))
 *         await asyncio.sleep(0.05); t.cancel()
 *         # the waiter left holding the condition's lock, and released it
 *
 * Three workers take the lock in turn (about 60 ms), then a waiter is
 * cancelled inside a condition block and the lock is found free.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s05c_with_lock.c -o s05c_with_lock \
 *         $(pkg-config --cflags --libs cio)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "cio.h"

static cio_lock lock;
static cio_cond cond;
static int box; /* the condition's predicate: box != 0 */

static int worker(void *arg, void **result)
{
    (void)result;
    int rc;
    CIO_WITH_LOCK(&lock, &rc)
    {
        printf("%s has the lock\n", (const char *)arg);
        if (cio_sleep(20 * CIO_MS) < 0)
            return -ECANCELED; /* released on the way out */
    }
    return rc;
}

static int box_full(void *arg)
{
    (void)arg;
    return box != 0;
}

static int waiter(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int rc;
    CIO_WITH_COND(&cond, &rc)
    {
        /* cio_cond_wait_for returns holding the lock, also when
         * cancelled: the block releases it whichever way it is left. */
        rc = cio_cond_wait_for(&cond, box_full, NULL);
        if (rc < 0) {
            printf("waiter: %s inside the condition block\n",
                   cio_err_name(rc));
            return rc;
        }
    }
    return rc;
}

static int run(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lock);
    cio_cond_init(&cond, &lock);
    cio_loop *loop = cio_get_running_loop();
    cio_awaitable items[] = {CIO_AW_CORO(worker, "a"), CIO_AW_CORO(worker, "b"),
                             CIO_AW_CORO(worker, "c")};
    cio_future *g;
    int r = cio_gather(loop, items, 3, 0, &g);
    if (r == 0) {
        r = cio_await(g, NULL);
        cio_future_release(g);
    }
    if (r < 0)
        return r;
    cio_task *t;
    r = cio_task_create(loop, CIO_CORO(waiter, NULL), NULL, &t);
    if (r < 0)
        return r;
    cio_sleep(50 * CIO_MS);
    cio_task_cancel(t, NULL);
    int w = cio_await(t, NULL);
    cio_future_release(t);
    printf("waiter ended with %s; the lock is %s\n", cio_err_name(w),
           cio_lock_locked(&lock) ? "still held (a leak)" : "free");
    cio_cond_destroy(&cond);
    return cio_lock_destroy(&lock);
}

int main(void)
{
    int r = cio_run(run, NULL, NULL);
    if (r < 0) {
        fprintf(stderr, "s05c_with_lock: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
