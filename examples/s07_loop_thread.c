/*
 * s07_loop_thread.c - MISSION S7: a loop running forever in another
 * thread, fed from the main thread.
 *
 * Blocking loop: two plain functions sent with call_soon_threadsafe each
 * sleep 3 s in the loop thread, so they run one after the other: 3 + 3 =
 * 6 s. Non-blocking loop: two coroutines sent with
 * run_coroutine_threadsafe sleep 3 s each with cio_sleep, so they overlap
 * and both finish after 3 s. Each part ends by stopping the loop from the
 * main thread and joining its thread.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s07_loop_thread.c -o s07_loop_thread \
 *         $(pkg-config --cflags --libs cio)
 */
/* cio-test: timeout=60 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cio.h>

static struct timespec start;

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start.tv_sec) +
           (double)(now.tv_nsec - start.tv_nsec) / 1e9;
}

/* ---- the blocking loop: plain functions ---- */

static atomic_int finished;

static int more_work(void *arg)
{
    int x = (int)(intptr_t)arg;
    printf("More work %d\n", x);
    fflush(stdout);
    struct timespec d = {x, 0};
    nanosleep(&d, NULL); /* time.sleep(x): the loop thread is blocked */
    printf("Finished more work %d at  %.2f\n", x, elapsed());
    fflush(stdout);
    atomic_fetch_add(&finished, 1);
    return 0;
}

/* ---- the non-blocking loop: coroutines ---- */

static int do_some_work(void *arg, void **result)
{
    (void)result;
    int x = (int)(intptr_t)arg;
    printf("Waiting %d\n", x);
    fflush(stdout);
    int r = cio_sleep(x * CIO_SEC); /* await asyncio.sleep(x) */
    printf("Finished more work %d at  %.2f\n", x, elapsed());
    fflush(stdout);
    return r;
}

int main(void)
{
    cio_loop_thread *lt;

    printf("== blocking: call_soon_threadsafe(more_work, 3) twice\n");
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (cio_loop_thread_start(&lt, NULL) < 0)
        return 1;
    printf("start_loop\n");
    cio_loop *loop = cio_loop_thread_loop(lt);
    cio_loop_call_soon_threadsafe(loop, more_work, (void *)3);
    cio_loop_call_soon_threadsafe(loop, more_work, (void *)3);
    while (atomic_load(&finished) < 2) {
        struct timespec d = {0, 10 * 1000 * 1000};
        nanosleep(&d, NULL);
    }
    cio_loop_thread_stop_join(lt);
    double blocking = elapsed();

    printf("== non-blocking: run_coroutine_threadsafe(do_some_work(3)) "
           "twice\n");
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (cio_loop_thread_start(&lt, NULL) < 0)
        return 1;
    loop = cio_loop_thread_loop(lt);
    printf("TIME: %.2f\n", elapsed());
    cio_cfuture *a, *b;
    cio_run_coroutine_threadsafe(loop, CIO_CORO(do_some_work, 3), &a);
    cio_run_coroutine_threadsafe(loop, CIO_CORO(do_some_work, 3), &b);
    int ra = cio_cfuture_result(a, -1, NULL);
    int rb = cio_cfuture_result(b, -1, NULL);
    cio_cfuture_release(a);
    cio_cfuture_release(b);
    cio_loop_thread_stop_join(lt);
    double concurrent = elapsed();

    printf("blocking took %.1f s (3 + 3), coroutines took %.1f s\n",
           blocking, concurrent);
    return ra == 0 && rb == 0 && blocking >= 6.0 && concurrent < 4.0 ? 0 : 1;
}
