/*
 * test_threadsafe.c - crossing into a loop from other threads: loop
 * threads (start, stop from another thread, join), the note's two timings
 * (plain blocking callbacks run serially, coroutines concurrently),
 * run_coroutine_threadsafe results, errors and cancellation both ways,
 * and a loop stopped with work still pending (tasks cancelled, futures
 * completed, nothing leaked).
 */
#include <errno.h>
#include <signal.h>

#include "cio_testutil_mt.h"

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

/* Starts a loop thread and submits fn(arg) to it. */
static cio_loop_thread *start_with(cio_coro_fn fn, void *arg,
                                   cio_cfuture **cf)
{
    cio_loop_thread *lt;
    assert_int_equal(cio_loop_thread_start(&lt, NULL), 0);
    assert_int_equal(cio_run_coroutine_threadsafe(cio_loop_thread_loop(lt),
                                                  CIO_CORO(fn, arg), cf),
                     0);
    return lt;
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
    cio_cfuture *cf;
    cio_loop_thread *lt = start_with(raise_with_message, NULL, &cf);
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

/* A loop thread whose task sleeps for a minute, given 20 ms to start. */
static cio_loop_thread *start_sleeper(cio_cfuture **cf)
{
    atomic_store(&saw_cancel, 0);
    cio_loop_thread *lt = start_with(long_sleeper, NULL, cf);
    sleep_ns(20 * CIO_MS);
    return lt;
}

static void cancelling_cfuture_cancels_task(void **state)
{
    (void)state;
    cio_cfuture *cf;
    cio_loop_thread *lt = start_sleeper(&cf);
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
    cio_cfuture *cf;
    cio_loop_thread *lt = start_sleeper(&cf);
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
    cio_cfuture *cf;
    cio_loop_thread *lt = start_with(report_mask, NULL, &cf);
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
    cmocka_unit_test_setup_teardown(plain_callbacks_run_serially, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(coroutines_run_concurrently, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_error_reaches_the_thread, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancelling_cfuture_cancels_task, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stop_join_with_pending_work, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(loop_closed_before_start_cancels, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancelled_before_start_never_runs, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(loop_thread_blocks_signals, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(four_threads_feed_one_loop, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
