/*
 * test_threadsafe.c - crossing into a loop from other threads: loop
 * threads (start, stop from another thread, join), the note's two timings
 * (plain blocking callbacks run serially, coroutines concurrently),
 * run_coroutine_threadsafe results, errors and cancellation both ways,
 * and a loop stopped with work still pending (tasks cancelled, futures
 * completed, nothing leaked).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>

#include "cio_testutil.h"

static atomic_long xa_live;

static void *xa_malloc(size_t n, void *ud)
{
    (void)ud;
    void *p = malloc(n);
    if (p)
        atomic_fetch_add(&xa_live, 1);
    return p;
}

static void *xa_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    void *q = realloc(p, n);
    if (q && !p)
        atomic_fetch_add(&xa_live, 1);
    return q;
}

static void xa_free(void *p, void *ud)
{
    (void)ud;
    if (p)
        atomic_fetch_sub(&xa_live, 1);
    free(p);
}

static const cio_allocator xa_allocator = {xa_malloc, xa_realloc, xa_free,
                                           NULL};

static int xa_setup(void **state)
{
    (void)state;
    atomic_store(&xa_live, 0);
    return cio_set_allocator(&xa_allocator);
}

static int xa_teardown(void **state)
{
    (void)state;
    long live = atomic_load(&xa_live);
    cio_set_allocator(NULL);
    if (live) {
        fprintf(stderr, "leak: %ld live blocks at teardown\n", live);
        return -1;
    }
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / CIO_SEC), (long)(ns % CIO_SEC)};
    nanosleep(&ts, NULL);
}

#define STEP (200 * CIO_MS)

/* ---- the note's blocking loop: plain functions run one after another */

static atomic_int ndone;
static int64_t t_start;
static atomic_llong last_done;

static int more_work(void *arg)
{
    (void)arg;
    sleep_ns(STEP); /* time.sleep: blocks the loop */
    atomic_store(&last_done, now_ns() - t_start);
    atomic_fetch_add(&ndone, 1);
    return 0;
}

static void plain_callbacks_run_serially(void **state)
{
    (void)state;
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    cio_loop *loop = cio_loop_thread_loop(lt);
    atomic_store(&ndone, 0);
    t_start = now_ns();
    assert_int_equal(cio_loop_call_soon_threadsafe(loop, more_work, NULL), 0);
    assert_int_equal(cio_loop_call_soon_threadsafe(loop, more_work, NULL), 0);
    while (atomic_load(&ndone) < 2)
        sleep_ns(CIO_MS);
    int64_t took = atomic_load(&last_done);
    assert_true(took >= 2 * STEP);     /* 3 + 3 = 6 s in the note */
    assert_true(took < 2 * STEP + 2 * CIO_SEC);
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
}

/* ---- the note's non-blocking loop: coroutines overlap */

static int do_some_work(void *arg, void **result)
{
    int r = cio_sleep(STEP);
    *result = arg;
    return r;
}

static void coroutines_run_concurrently(void **state)
{
    (void)state;
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    cio_loop *loop = cio_loop_thread_loop(lt);
    int64_t t0 = now_ns();
    cio_cfuture *a, *b;
    assert_int_equal(cio_run_coroutine_threadsafe(
                         loop, CIO_CORO(do_some_work, 1), &a),
                     0);
    assert_int_equal(cio_run_coroutine_threadsafe(
                         loop, CIO_CORO(do_some_work, 2), &b),
                     0);
    void *ra, *rb;
    assert_int_equal(cio_cfuture_result(a, 5 * CIO_SEC, &ra), 0);
    assert_int_equal(cio_cfuture_result(b, 5 * CIO_SEC, &rb), 0);
    int64_t took = now_ns() - t0;
    assert_ptr_equal(ra, (void *)1);
    assert_ptr_equal(rb, (void *)2);
    assert_true(took >= STEP);        /* 3 s in the note, not 6 */
    assert_true(took < 2 * STEP);
    cio_cfuture_release(a);
    cio_cfuture_release(b);
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
}

static int raise_with_message(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return -ENOENT;
}

static void task_error_reaches_the_thread(void **state)
{
    (void)state;
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    cio_cfuture *cf;
    assert_int_equal(cio_run_coroutine_threadsafe(
                         cio_loop_thread_loop(lt),
                         CIO_CORO(raise_with_message, NULL), &cf),
                     0);
    assert_int_equal(cio_cfuture_result(cf, 5 * CIO_SEC, NULL), -ENOENT);
    cio_cfuture_release(cf);
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
    assert_int_equal(cio_run_coroutine_threadsafe(NULL, CIO_CORO(do_some_work,
                                                                 0),
                                                  &cf),
                     -EINVAL);
}

static atomic_int saw_cancel;

static int long_sleeper(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_sleep(60 * CIO_SEC);
    if (r == -ECANCELED)
        atomic_store(&saw_cancel, 1);
    return r;
}

static void cancelling_cfuture_cancels_task(void **state)
{
    (void)state;
    atomic_store(&saw_cancel, 0);
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    cio_cfuture *cf;
    assert_int_equal(cio_run_coroutine_threadsafe(cio_loop_thread_loop(lt),
                                                  CIO_CORO(long_sleeper, 0),
                                                  &cf),
                     0);
    sleep_ns(20 * CIO_MS);
    /* The concurrent future stays pending while the task runs, so it can
     * be cancelled (asyncio), and that cancels the task. */
    assert_int_equal(cio_cfuture_cancel(cf), 1);
    assert_int_equal(cio_cfuture_result(cf, 0, NULL), -ECANCELED);
    int64_t t0 = now_ns();
    while (!atomic_load(&saw_cancel) && now_ns() - t0 < 5 * CIO_SEC)
        sleep_ns(CIO_MS);
    assert_int_equal(atomic_load(&saw_cancel), 1);
    cio_cfuture_release(cf);
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
}

static void stop_join_with_pending_work(void **state)
{
    (void)state;
    atomic_store(&saw_cancel, 0);
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    cio_cfuture *cf;
    assert_int_equal(cio_run_coroutine_threadsafe(cio_loop_thread_loop(lt),
                                                  CIO_CORO(long_sleeper, 0),
                                                  &cf),
                     0);
    sleep_ns(20 * CIO_MS);
    int64_t t0 = now_ns();
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
    assert_true(now_ns() - t0 < 2 * CIO_SEC);
    assert_int_equal(atomic_load(&saw_cancel), 1);
    /* The task was cancelled at stop: its future is cancelled too. */
    assert_int_equal(cio_cfuture_result(cf, 0, NULL), -ECANCELED);
    cio_cfuture_release(cf);
}

static void loop_closed_before_start_cancels(void **state)
{
    (void)state;
    /* A loop that is not running: the submission waits in the inbox
     * and the close cancels it. */
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    cio_cfuture *cf;
    assert_int_equal(cio_run_coroutine_threadsafe(
                         loop, CIO_CORO(do_some_work, 0), &cf),
                     0);
    assert_int_equal(cio_loop_free(loop), 0);
    assert_int_equal(cio_cfuture_result(cf, 0, NULL), -ECANCELED);
    cio_cfuture_release(cf);
}

static void cancelled_before_start_never_runs(void **state)
{
    (void)state;
    atomic_store(&saw_cancel, 0);
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    cio_cfuture *cf;
    assert_int_equal(cio_run_coroutine_threadsafe(
                         loop, CIO_CORO(long_sleeper, 0), &cf),
                     0);
    assert_int_equal(cio_cfuture_cancel(cf), 1);
    cio_loop_stop(loop);
    assert_int_equal(cio_loop_run_forever(loop), 0); /* one iteration */
    assert_int_equal(cio_loop_all_tasks(loop, NULL, 0), 0);
    assert_int_equal(cio_loop_free(loop), 0);
    cio_cfuture_release(cf);
    assert_int_equal(atomic_load(&saw_cancel), 0);
}

static int report_mask(void *arg, void **result)
{
    (void)arg;
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    *result = (void *)(intptr_t)(sigismember(&cur, SIGINT) &&
                                 !sigismember(&cur, SIGSEGV));
    return 0;
}

static void loop_thread_blocks_signals(void **state)
{
    (void)state;
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    cio_cfuture *cf;
    assert_int_equal(cio_run_coroutine_threadsafe(cio_loop_thread_loop(lt),
                                                  CIO_CORO(report_mask, 0),
                                                  &cf),
                     0);
    void *r;
    assert_int_equal(cio_cfuture_result(cf, 5 * CIO_SEC, &r), 0);
    assert_ptr_equal(r, (void *)1);
    cio_cfuture_release(cf);
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
    assert_int_equal(cio_loop_thread_stop_join(NULL), -EINVAL);
}

/* Many threads feed one loop at once. */
static int add_one(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg + 1);
    return 0;
}

static void *feeder(void *arg)
{
    cio_loop *loop = arg;
    intptr_t ok = 1;
    for (int i = 0; i < 200; i++) {
        cio_cfuture *cf;
        void *r;
        if (cio_run_coroutine_threadsafe(loop, CIO_CORO(add_one, (intptr_t)i), &cf) < 0)
            return NULL;
        if (cio_cfuture_result(cf, 5 * CIO_SEC, &r) != 0 ||
            r != (void *)(intptr_t)(i + 1))
            ok = 0;
        cio_cfuture_release(cf);
    }
    return (void *)ok;
}

static void four_threads_feed_one_loop(void **state)
{
    (void)state;
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, feeder, cio_loop_thread_loop(lt));
    for (int i = 0; i < 4; i++) {
        void *ok;
        pthread_join(th[i], &ok);
        assert_ptr_equal(ok, (void *)1);
    }
    assert_int_equal(cio_loop_thread_stop_join(lt), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(plain_callbacks_run_serially, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(coroutines_run_concurrently, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(task_error_reaches_the_thread, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(cancelling_cfuture_cancels_task, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(stop_join_with_pending_work, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(loop_closed_before_start_cancels, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(cancelled_before_start_never_runs, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(loop_thread_blocks_signals, xa_setup, xa_teardown),
    cmocka_unit_test_setup_teardown(four_threads_feed_one_loop, xa_setup, xa_teardown),
};

CIO_TEST_MAIN(tests)
