/*
 * test_loop.c - the event loop: call_soon order, timers, handles, run
 * modes, stop, close, current loop, virtual clock, exception handler,
 * thread-safe calls, misuse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cio_testutil.h"

static int order[64];
static int norder;

static int rec(void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
    return 0;
}

static int stop_cb(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

static void call_soon_fifo(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    for (intptr_t i = 0; i < 10; i++)
        assert_int_equal(cio_loop_call_soon(loop, rec, (void *)i, NULL), 0);
    assert_int_equal(cio_loop_call_soon(loop, stop_cb, loop, NULL), 0);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(norder, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(order[i], i);
    tu_loop_done(loop);
}

static void timers_order_and_time(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    int64_t t0 = cio_loop_time(loop);
    /* Deliberately scheduled out of order; equal deadlines keep FIFO. */
    cio_loop_call_later(loop, 30 * CIO_MS, rec, (void *)3, NULL);
    cio_loop_call_later(loop, 10 * CIO_MS, rec, (void *)1, NULL);
    cio_loop_call_later(loop, 20 * CIO_MS, rec, (void *)2, NULL);
    cio_loop_call_later(loop, 20 * CIO_MS, rec, (void *)22, NULL);
    cio_loop_call_at(loop, t0 + 5 * CIO_MS, rec, (void *)0, NULL);
    cio_loop_call_later(loop, 40 * CIO_MS, stop_cb, loop, NULL);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(norder, 5);
    int want[] = {0, 1, 2, 22, 3};
    for (int i = 0; i < 5; i++)
        assert_int_equal(order[i], want[i]);
    /* The virtual clock jumped exactly to the last deadline. */
    assert_int_equal(cio_loop_time(loop) - t0, 40 * CIO_MS);
    tu_loop_done(loop);
}

/* asyncio keeps a negative delay's real deadline: call_later(-1 s, a)
 * then call_later(-2 s, b) runs b first. */
static void call_later_negative_delay_keeps_past_deadline(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    cio_loop_call_later(loop, 0, rec, (void *)3, NULL);
    cio_loop_call_later(loop, -CIO_SEC, rec, (void *)1, NULL);
    cio_loop_call_later(loop, -2 * CIO_SEC, rec, (void *)2, NULL);
    cio_loop_call_at(loop, cio_loop_time(loop) - CIO_SEC / 2, rec,
                     (void *)4, NULL);
    cio_loop_call_later(loop, INT64_MAX, rec, (void *)5, NULL); /* never */
    cio_loop_call_soon(loop, stop_cb, loop, NULL);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(norder, 4);
    int want[] = {2, 1, 4, 3};
    for (int i = 0; i < 4; i++)
        assert_int_equal(order[i], want[i]);
    tu_loop_done(loop);
}

static void timer_cancel(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    cio_handle h1, h2, h3;
    cio_loop_call_later(loop, 10 * CIO_MS, rec, (void *)1, &h1);
    cio_loop_call_later(loop, 20 * CIO_MS, rec, (void *)2, &h2);
    cio_loop_call_soon(loop, rec, (void *)3, &h3);
    assert_int_equal(cio_handle_cancel(loop, h2), 1);
    assert_int_equal(cio_handle_cancel(loop, h2), 0); /* already */
    assert_int_equal(cio_handle_cancel(loop, h3), 1);
    cio_loop_call_later(loop, 30 * CIO_MS, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
    assert_int_equal(norder, 1);
    assert_int_equal(order[0], 1);
    /* A handle that already ran: its slot was recycled; still safe. */
    assert_int_equal(cio_handle_cancel(loop, h1), 0);
    cio_handle none = {NULL, 0};
    assert_int_equal(cio_handle_cancel(loop, none), 0);
    tu_loop_done(loop);
}

static int self_cancel_next(void *arg)
{
    cio_handle *h = arg;
    /* Cancelling a later-queued callback from an earlier one works. */
    assert_int_equal(cio_handle_cancel(cio_get_running_loop(), *h), 1);
    return 0;
}

static void cancel_from_callback(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    cio_handle h;
    cio_loop_call_soon(loop, self_cancel_next, &h, NULL);
    cio_loop_call_soon(loop, rec, (void *)9, &h);
    cio_loop_call_soon(loop, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
    assert_int_equal(norder, 0);
    tu_loop_done(loop);
}

static void real_clock_timer(void **state)
{
    (void)state;
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    /* auto is epoll unless CIO_BACKEND asks (the suite runs on both) */
    const char *want = getenv("CIO_BACKEND");
    assert_string_equal(cio_loop_backend_name(loop),
                        want && strcmp(want, "uring") == 0 ? "uring"
                                                           : "epoll");
    int64_t t0 = cio_loop_time(loop);
    cio_loop_call_later(loop, 20 * CIO_MS, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
    int64_t dt = cio_loop_time(loop) - t0;
    assert_true(dt >= 20 * CIO_MS);
    assert_true(dt < 2 * CIO_SEC); /* generous: the machine is shared */
    tu_loop_done(loop);
}

static int check_running(void *arg)
{
    cio_loop *loop = arg;
    assert_ptr_equal(cio_get_running_loop(), loop);
    assert_ptr_equal(cio_get_event_loop(), loop);
    assert_int_equal(cio_loop_is_running(loop), 1);
    /* Nested runs and closing a running loop are refused. */
    assert_int_equal(cio_loop_run_forever(loop), -EINVAL);
    assert_int_equal(cio_loop_close(loop), -EINVAL);
    cio_loop_stop(loop);
    return 0;
}

static void running_state_and_misuse(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    assert_null(cio_get_running_loop());
    assert_int_equal(cio_loop_is_running(loop), 0);
    cio_loop_call_soon(loop, check_running, loop, NULL);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_null(cio_get_running_loop());
    assert_int_equal(cio_loop_call_soon(loop, NULL, NULL, NULL), -EINVAL);
    assert_int_equal(cio_loop_call_soon(NULL, rec, NULL, NULL), -EINVAL);
    assert_int_equal(cio_loop_close(loop), 0);
    assert_int_equal(cio_loop_is_closed(loop), 1);
    assert_int_equal(cio_loop_close(loop), 0); /* idempotent */
    assert_int_equal(cio_loop_run_forever(loop), -EINVAL);
    assert_int_equal(cio_loop_call_soon(loop, rec, NULL, NULL), -EINVAL);
    assert_int_equal(cio_set_event_loop(loop), -EINVAL);
    assert_int_equal(cio_loop_free(loop), 0);
}

static void stop_before_run(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    /* asyncio: stop() before run_forever polls once, runs what is ready,
     * then returns; later callbacks wait for the next run. */
    cio_loop_call_soon(loop, rec, (void *)1, NULL);
    cio_loop_stop(loop);
    cio_loop_call_later(loop, 10 * CIO_MS, rec, (void *)2, NULL);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(norder, 1);
    cio_loop_call_later(loop, 20 * CIO_MS, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
    assert_int_equal(norder, 2);
    tu_loop_done(loop);
}

static void current_loop(void **state)
{
    (void)state;
    assert_null(cio_get_event_loop()); /* never created behind our back */
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    assert_null(cio_get_event_loop());
    assert_int_equal(cio_set_event_loop(loop), 0);
    assert_ptr_equal(cio_get_event_loop(), loop);
    tu_loop_done(loop); /* closing the current loop unsets it */
    assert_null(cio_get_event_loop());
}

static int failing_cb(void *arg)
{
    (void)arg;
    return -EPIPE;
}

static int seen_err;
static char seen_msg[128];

static void handler(cio_loop *loop, const cio_exception_context *ctx,
                    void *arg)
{
    (void)loop;
    *(int *)arg += 1;
    seen_err = ctx->error;
    snprintf(seen_msg, sizeof(seen_msg), "%s", ctx->message);
}

static void exception_handler(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    int calls = 0;
    assert_int_equal(cio_loop_set_exception_handler(loop, handler, &calls),
                     0);
    cio_loop_call_soon(loop, failing_cb, NULL, NULL);
    cio_loop_call_soon(loop, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
    assert_int_equal(calls, 1);
    assert_int_equal(seen_err, -EPIPE);
    assert_string_equal(seen_msg, "callback failed");
    tu_loop_done(loop);
}

static void *ts_thread(void *arg)
{
    cio_loop *loop = arg;
    for (intptr_t i = 0; i < 20; i++)
        cio_loop_call_soon_threadsafe(loop, rec, (void *)i);
    cio_loop_stop_threadsafe(loop);
    return NULL;
}

static void threadsafe_calls_in_order(void **state)
{
    (void)state;
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    norder = 0;
    pthread_t th;
    pthread_create(&th, NULL, ts_thread, loop);
    /* run_forever with nothing scheduled blocks until the other thread
     * wakes it through the eventfd and stops it. */
    for (;;) {
        cio_loop_run_forever(loop);
        if (norder == 20)
            break;
    }
    pthread_join(th, NULL);
    for (int i = 0; i < 20; i++)
        assert_int_equal(order[i], i);
    tu_loop_done(loop);
}

/* asyncio: run_until_complete on a done future still runs the loop until
 * the future's done callback (one iteration at least), so callbacks
 * queued before it have run when it returns. */
static void run_until_complete_done_future_runs_one_iteration(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    cio_future *f;
    assert_int_equal(cio_future_new(loop, &f), 0);
    assert_int_equal(cio_future_set_result(f, (void *)7), 0);
    cio_loop_call_soon(loop, rec, (void *)1, NULL);
    cio_loop_call_soon(loop, rec, (void *)2, NULL);
    void *v = NULL;
    assert_int_equal(cio_loop_run_until_complete(loop, f, &v), 0);
    assert_int_equal((int)(intptr_t)v, 7);
    assert_int_equal(norder, 2);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    /* Only that iteration: a callback queued by those runs later. */
    cio_loop_call_soon(loop, rec, (void *)3, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, f, &v), 0);
    assert_int_equal(norder, 3);
    assert_int_equal(cio_loop_is_running(loop), 0);
    cio_future_release(f);
    tu_loop_done(loop);
}

static void *post_one(void *arg)
{
    void **a = arg;
    cio_loop_call_soon_threadsafe(a[0], rec, a[1]);
    return NULL;
}

/* Posts v from a thread and joins it. */
static void post_from_thread(cio_loop *loop, intptr_t v)
{
    void *a[2] = {loop, (void *)v};
    pthread_t th;
    pthread_create(&th, NULL, post_one, a);
    pthread_join(th, NULL);
}

static int post_then_call_soon(void *arg)
{
    cio_loop *loop = arg;
    post_from_thread(loop, 3);
    cio_loop_call_soon(loop, rec, (void *)4, NULL);
    cio_loop_call_soon(loop, stop_cb, loop, NULL);
    return 0;
}

/* asyncio has one ready queue for all threads: a handle posted with
 * call_soon_threadsafe (the thread joined) before a call_soon runs
 * first. */
static void threadsafe_posted_before_call_soon_runs_first(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    /* Loop not running. */
    post_from_thread(loop, 1);
    cio_loop_call_soon(loop, rec, (void *)2, NULL);
    /* From a callback of the running loop. */
    cio_loop_call_soon(loop, post_then_call_soon, loop, NULL);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(norder, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(order[i], i + 1);
    tu_loop_done(loop);
}

static int step_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (intptr_t i = 1; i <= 3; i++) {
        if (cio_sleep(CIO_SEC) < 0)
            return -ECANCELED;
        rec((void *)(100 + i));
    }
    return 0;
}

/* stop() then run_forever() steps a virtual-clock loop one iteration at
 * a time; when nothing is ready, the step jumps to the next deadline. */
static void virtual_clock_jumps_when_stepping(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    norder = 0;
    cio_loop_call_later(loop, 10 * CIO_MS, rec, (void *)1, NULL);
    cio_loop_call_later(loop, 20 * CIO_MS, rec, (void *)2, NULL);
    cio_loop_stop(loop);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(cio_loop_time(loop), 10 * CIO_MS);
    assert_int_equal(norder, 1);
    cio_loop_stop(loop);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(cio_loop_time(loop), 20 * CIO_MS);
    assert_int_equal(norder, 2);
    /* Nothing scheduled: a step polls once and time stays. */
    cio_loop_stop(loop);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(cio_loop_time(loop), 20 * CIO_MS);
    /* A task sleeping 1 s three times: a step runs its first step; then
     * one step jumps to its timer, which wakes it, and the next runs it
     * (as in asyncio, the wake-up is a callback of its own). */
    cio_task *t;
    assert_int_equal(cio_task_create(loop, CIO_CORO(step_task, NULL), NULL,
                                     &t),
                     0);
    cio_loop_stop(loop);
    cio_loop_run_forever(loop); /* first step: it starts sleeping */
    assert_int_equal(cio_loop_time(loop), 20 * CIO_MS);
    for (int k = 1; k <= 3; k++) {
        cio_loop_stop(loop);
        cio_loop_run_forever(loop);
        assert_int_equal(cio_loop_time(loop), 20 * CIO_MS + k * CIO_SEC);
        assert_int_equal(norder, 2 + k - 1);
        cio_loop_stop(loop);
        cio_loop_run_forever(loop);
        assert_int_equal(cio_loop_time(loop), 20 * CIO_MS + k * CIO_SEC);
        assert_int_equal(norder, 2 + k);
        assert_int_equal(order[norder - 1], 100 + k);
    }
    cio_loop_stop(loop);
    cio_loop_run_forever(loop); /* the task's end */
    assert_true(cio_future_done(t));
    cio_future_release(t);
    tu_loop_done(loop);
}

static void alloc_failures(void **state)
{
    (void)state;
    /* Fail allocation 1, 2, ... of loop creation until it succeeds: no
     * crash and no leak at any step. */
    for (long n = 1; n < 20; n++) {
        tu_fail_nth(n);
        cio_loop *loop = (cio_loop *)1;
        int r = cio_loop_new(&loop, NULL);
        if (r == 0) {
            tu_fail_nth(0);
            tu_loop_done(loop);
            break;
        }
        assert_int_equal(r, -ENOMEM);
        assert_null(loop);
    }
    tu_fail_nth(0);
    cio_loop *loop = tu_loop_virtual();
    tu_fail_nth(1);
    assert_int_equal(cio_loop_call_soon(loop, rec, NULL, NULL), -ENOMEM);
    tu_fail_nth(0);
    tu_loop_done(loop);
}

static void bad_options(void **state)
{
    (void)state;
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    cio_loop *loop = (cio_loop *)1;
    o.clock = (cio_clock_kind)7;
    assert_int_equal(cio_loop_new(&loop, &o), -EINVAL);
    assert_null(loop);
    o.clock = CIO_CLOCK_MONOTONIC;
    o.backend = (cio_backend_kind)9;
    assert_int_equal(cio_loop_new(&loop, &o), -EINVAL);
    assert_int_equal(cio_loop_new(NULL, NULL), -EINVAL);
    assert_int_equal(cio_loop_time(NULL), -EINVAL);
}

static void strerror_names(void **state)
{
    (void)state;
    assert_string_equal(cio_err_name(-ECANCELED), "ECANCELED");
    assert_string_equal(cio_err_name(-ETIMEDOUT), "ETIMEDOUT");
    assert_string_equal(cio_err_name(CIO_EOF), "CIO_EOF");
    assert_string_equal(cio_err_name(-EHOSTUNREACH), "EHOSTUNREACH");
    assert_string_equal(cio_err_name(-99999), "UNKNOWN");
    assert_string_equal(cio_strerror(-99999), "unknown error");
    assert_non_null(cio_strerror(-ENOENT));
    assert_non_null(cio_strerror(12345));
}

/* The header's version and the library's agree, in both forms. */
static void version_numbers(void **state)
{
    (void)state;
    assert_int_equal(CIO_VERSION, CIO_VERSION_HEX);
    assert_int_equal(cio_version(), CIO_VERSION);
    assert_int_equal(cio_version() >> 16, CIO_VERSION_MAJOR);
    assert_int_equal((cio_version() >> 8) & 0xff, CIO_VERSION_MINOR);
    assert_int_equal(cio_version() & 0xff, CIO_VERSION_PATCH);
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CIO_VERSION_MAJOR,
             CIO_VERSION_MINOR, CIO_VERSION_PATCH);
    assert_string_equal(cio_version_string(), want);
}

/* A loop may be run by one thread, then by another (one at a time): on
 * io_uring the ring must not stay bound to the first thread. */
static int ticks_cb(void *arg)
{
    (*(int *)arg)++;
    return 0;
}

typedef struct run_arg {
    cio_loop *loop;
    int ticks;
    int errors; /* reports to the exception handler (a failing poll) */
} run_arg;

static void count_errors(cio_loop *loop, const cio_exception_context *ctx,
                         void *arg)
{
    (void)loop;
    (void)ctx;
    ((run_arg *)arg)->errors++;
}

static void *run_briefly(void *p)
{
    run_arg *a = p;
    cio_loop_call_soon(a->loop, ticks_cb, &a->ticks, NULL);
    cio_loop_call_later(a->loop, 2 * CIO_MS, ticks_cb, &a->ticks, NULL);
    cio_loop_call_later(a->loop, 3 * CIO_MS, stop_cb, a->loop, NULL);
    return (void *)(intptr_t)cio_loop_run_forever(a->loop);
}

static void loop_runs_in_one_thread_then_another(void **state)
{
    (void)state;
    for (int kind = CIO_BACKEND_EPOLL; kind <= CIO_BACKEND_URING; kind++) {
        cio_loop_opts o = CIO_LOOP_OPTS_INIT;
        o.backend = (cio_backend_kind)kind;
        run_arg a = {NULL, 0, 0};
        int r = cio_loop_new(&a.loop, &o);
        if (kind == CIO_BACKEND_URING && r < 0) {
            print_message("NOTE: io_uring unavailable (%s): skipped\n",
                          cio_strerror(r));
            continue;
        }
        assert_int_equal(r, 0);
        assert_int_equal(cio_loop_set_exception_handler(a.loop, count_errors, &a), 0);
        for (int round = 0; round < 3; round++) {
            pthread_t th;
            void *rc;
            assert_int_equal(pthread_create(&th, NULL, run_briefly, &a), 0);
            assert_int_equal(pthread_join(th, &rc), 0);
            assert_int_equal((intptr_t)rc, 0);
            assert_int_equal(a.ticks, 2 * (round + 1));
        }
        assert_int_equal((intptr_t)run_briefly(&a), 0); /* and this one */
        assert_int_equal(a.ticks, 8);
        assert_int_equal(a.errors, 0);
        assert_int_equal(cio_loop_free(a.loop), 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(call_soon_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timers_order_and_time, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(call_later_negative_delay_keeps_past_deadline, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timer_cancel, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_from_callback, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(real_clock_timer, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(running_state_and_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stop_before_run, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(current_loop, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(exception_handler, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(threadsafe_calls_in_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(run_until_complete_done_future_runs_one_iteration, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(threadsafe_posted_before_call_soon_runs_first, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(virtual_clock_jumps_when_stepping, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(alloc_failures, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(bad_options, tu_setup, tu_teardown),
    cmocka_unit_test(strerror_names),
    cmocka_unit_test(version_numbers),
    cmocka_unit_test_setup_teardown(loop_runs_in_one_thread_then_another, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
