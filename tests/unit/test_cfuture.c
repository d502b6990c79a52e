/*
 * test_cfuture.c - concurrent futures: states, cancel and
 * set_running_or_notify_cancel (Python's semantics), result/error with
 * timeouts, callbacks (thread that runs them, already-done case), waking
 * blocked threads, as_completed order and deadline, refcounts across
 * threads. The counting allocator is atomic, so threaded cases use it too.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cio_testutil_mt.h"

/* ---- single-threaded semantics ---- */

static int ncb;
static int count_cb(cio_cfuture *cf, void *arg)
{
    (void)cf;
    ncb += (int)(intptr_t)arg;
    return 0;
}

/* concurrent.futures: a callback that fails is logged and the next
 * still runs. A negative return is the failure; it goes to the running
 * loop's exception handler (else the default handler, on stderr). */
static int fail_cb(cio_cfuture *cf, void *arg)
{
    (void)cf;
    ncb += (int)(intptr_t)arg;
    return -EIO;
}

static int nreports;
static int last_report;

static void report_handler(cio_loop *loop, const cio_exception_context *ctx,
                           void *arg)
{
    (void)loop;
    (void)arg;
    if (strcmp(ctx->message, "concurrent future done callback failed") == 0) {
        nreports++;
        last_report = ctx->error;
    }
}

static int complete_in_loop(void *arg)
{
    cio_cfuture_set_result(arg, NULL);
    return 0;
}

static void failing_done_callback_is_reported_and_next_runs(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_loop_set_exception_handler(loop, report_handler, NULL);
    nreports = 0;
    ncb = 0;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    assert_int_equal(cio_cfuture_add_done_callback(cf, fail_cb, (void *)1),
                     0);
    assert_int_equal(cio_cfuture_add_done_callback(cf, count_cb, (void *)10),
                     0);
    assert_int_equal(cio_cfuture_add_done_callback(cf, fail_cb, (void *)100),
                     0);
    /* Completed from a callback of the loop: its handler gets both. */
    cio_loop_call_soon(loop, complete_in_loop, cf, NULL);
    cio_loop_stop(loop);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(ncb, 111); /* every callback ran */
    assert_int_equal(nreports, 2);
    assert_int_equal(last_report, -EIO);
    /* Added when already done: runs at once, in this thread, which runs
     * no loop now: reported by the default handler (stderr). */
    assert_int_equal(cio_cfuture_add_done_callback(cf, fail_cb, (void *)1000),
                     0);
    assert_int_equal(ncb, 1111);
    assert_int_equal(nreports, 2);
    /* Outside a loop: the default handler's line; the next still runs. */
    cio_cfuture *cf2;
    assert_int_equal(cio_cfuture_new(&cf2), 0);
    cio_cfuture_add_done_callback(cf2, fail_cb, (void *)1);
    cio_cfuture_add_done_callback(cf2, count_cb, (void *)1);
    assert_int_equal(cio_cfuture_set_result(cf2, NULL), 0);
    assert_int_equal(ncb, 1113);
    assert_int_equal(nreports, 2);
    cio_cfuture_release(cf2);
    cio_cfuture_release(cf);
    tu_loop_done(loop);
}

static void states_and_result(void **state)
{
    (void)state;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    assert_int_equal(cio_cfuture_done(cf), 0);
    assert_int_equal(cio_cfuture_running(cf), 0);
    void *r = (void *)1;
    assert_int_equal(cio_cfuture_result(cf, 0, &r), -ETIMEDOUT);
    assert_null(r);
    assert_int_equal(cio_cfuture_error(cf, 0), -ETIMEDOUT);
    assert_null(cio_cfuture_error_message(cf));
    assert_int_equal(cio_cfuture_set_running_or_notify_cancel(cf), 1);
    assert_int_equal(cio_cfuture_running(cf), 1);
    assert_int_equal(cio_cfuture_cancel(cf), 0); /* running: refused */
    assert_int_equal(cio_cfuture_set_running_or_notify_cancel(cf), -EINVAL);
    assert_int_equal(cio_cfuture_set_result(cf, (void *)42), 0);
    assert_int_equal(cio_cfuture_done(cf), 1);
    assert_int_equal(cio_cfuture_running(cf), 0);
    assert_int_equal(cio_cfuture_set_result(cf, NULL), -EINVAL);
    assert_int_equal(cio_cfuture_result(cf, -1, &r), 0);
    assert_ptr_equal(r, (void *)42);
    assert_int_equal(cio_cfuture_error(cf, 0), 0);
    assert_int_equal(cio_cfuture_cancel(cf), 0); /* done: refused */
    cio_cfuture_release(cf);
}

static void errors_and_messages(void **state)
{
    (void)state;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    assert_int_equal(cio_cfuture_set_error(cf, 5, NULL), -EINVAL);
    assert_int_equal(cio_cfuture_set_error(cf, -ECANCELED, NULL), -EINVAL);
    assert_int_equal(cio_cfuture_set_error(cf, -EIO, "disk on fire"), 0);
    assert_int_equal(cio_cfuture_result(cf, 0, NULL), -EIO);
    assert_int_equal(cio_cfuture_error(cf, -1), -EIO);
    assert_string_equal(cio_cfuture_error_message(cf), "disk on fire");
    assert_int_equal(cio_cfuture_set_error(cf, -EIO, NULL), -EINVAL);
    cio_cfuture_release(cf);
    assert_int_equal(cio_cfuture_new(NULL), -EINVAL);
    assert_int_equal(cio_cfuture_cancel(NULL), -EINVAL);
    assert_int_equal(cio_cfuture_result(NULL, 0, NULL), -EINVAL);
    cio_cfuture_release(NULL);
}

static void cancel_semantics(void **state)
{
    (void)state;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    ncb = 0;
    assert_int_equal(cio_cfuture_add_done_callback(cf, count_cb, (void *)1),
                     0);
    assert_int_equal(cio_cfuture_cancel(cf), 1);
    assert_int_equal(ncb, 1); /* callbacks ran in the cancelling thread */
    assert_int_equal(cio_cfuture_cancel(cf), 1); /* still cancelled: True */
    assert_int_equal(cio_cfuture_cancelled(cf), 1);
    assert_int_equal(cio_cfuture_done(cf), 1);
    assert_int_equal(cio_cfuture_result(cf, -1, NULL), -ECANCELED);
    assert_int_equal(cio_cfuture_error(cf, -1), -ECANCELED);
    /* The executor sees the cancellation and skips the job. */
    assert_int_equal(cio_cfuture_set_running_or_notify_cancel(cf), 0);
    assert_int_equal(cio_cfuture_cancelled(cf), 1);
    assert_int_equal(cio_cfuture_set_result(cf, NULL), -EINVAL);
    assert_int_equal(ncb, 1);
    cio_cfuture_release(cf);
}

static void callbacks_order_remove_and_done(void **state)
{
    (void)state;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    ncb = 0;
    for (int i = 0; i < 5; i++) /* past the inline slots */
        assert_int_equal(
            cio_cfuture_add_done_callback(cf, count_cb, (void *)10), 0);
    assert_int_equal(cio_cfuture_add_done_callback(cf, count_cb, (void *)1),
                     0);
    assert_int_equal(cio_cfuture_remove_done_callback(cf, count_cb,
                                                      (void *)10),
                     5);
    assert_int_equal(cio_cfuture_set_result(cf, NULL), 0);
    assert_int_equal(ncb, 1);
    /* Added after completion: runs at once, in this thread. */
    assert_int_equal(cio_cfuture_add_done_callback(cf, count_cb, (void *)7),
                     0);
    assert_int_equal(ncb, 8);
    assert_int_equal(cio_cfuture_add_done_callback(cf, NULL, NULL), -EINVAL);
    cio_cfuture_release(cf);
}

static void result_timeout_elapses(void **state)
{
    (void)state;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    int64_t t0 = now_ns();
    assert_int_equal(cio_cfuture_result(cf, 30 * CIO_MS, NULL), -ETIMEDOUT);
    int64_t dt = now_ns() - t0;
    assert_true(dt >= 30 * CIO_MS);
    assert_true(dt < 2 * CIO_SEC);
    cio_cfuture_release(cf);
}

/* ---- across threads ---- */

typedef struct {
    cio_cfuture *cf;
    int64_t delay;
    pthread_t cb_thread;
    atomic_int cb_ran;
} setter;

static int record_thread(cio_cfuture *cf, void *arg)
{
    (void)cf;
    setter *s = arg;
    s->cb_thread = pthread_self();
    atomic_store(&s->cb_ran, 1);
    return 0;
}

static void *set_later(void *arg)
{
    setter *s = arg;
    sleep_ns(s->delay);
    cio_cfuture_set_result(s->cf, (void *)7);
    cio_cfuture_release(s->cf);
    return NULL;
}

static void blocked_waiter_wakes_callback_in_completer(void **state)
{
    (void)state;
    setter s = {0};
    assert_int_equal(cio_cfuture_new(&s.cf), 0);
    s.delay = 20 * CIO_MS;
    assert_int_equal(cio_cfuture_add_done_callback(s.cf, record_thread, &s),
                     0);
    cio_cfuture *mine = cio_cfuture_retain(s.cf);
    pthread_t t;
    pthread_create(&t, NULL, set_later, &s);
    void *r;
    assert_int_equal(cio_cfuture_result(mine, -1, &r), 0);
    assert_ptr_equal(r, (void *)7);
    pthread_join(t, NULL);
    assert_int_equal(atomic_load(&s.cb_ran), 1);
    assert_true(pthread_equal(s.cb_thread, t)); /* Python's rule */
    cio_cfuture_release(mine);
}

static void *cancel_later(void *arg)
{
    setter *s = arg;
    sleep_ns(s->delay);
    cio_cfuture_cancel(s->cf);
    return NULL;
}

static void cancel_wakes_waiter(void **state)
{
    (void)state;
    setter s = {0};
    assert_int_equal(cio_cfuture_new(&s.cf), 0);
    s.delay = 10 * CIO_MS;
    pthread_t t;
    pthread_create(&t, NULL, cancel_later, &s);
    assert_int_equal(cio_cfuture_result(s.cf, 5 * CIO_SEC, NULL),
                     -ECANCELED);
    pthread_join(t, NULL);
    cio_cfuture_release(s.cf);
}

/* One thread completes the futures in the order 1, 2, 0 (a short pause
 * between each, so the iterator is usually waiting): the order cannot
 * depend on scheduling, so the test is exact under valgrind too. */
static void *complete_in_order(void *arg)
{
    cio_cfuture **fs = arg;
    int seq[3] = {1, 2, 0};
    for (int k = 0; k < 3; k++) {
        sleep_ms(5);
        cio_cfuture_set_result(fs[seq[k]], (void *)(intptr_t)seq[k]);
    }
    return NULL;
}

static void as_completed_in_completion_order(void **state)
{
    (void)state;
    cio_cfuture *fs[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_cfuture_new(&fs[i]), 0);
    cio_cfuture_iter *it;
    assert_int_equal(cio_cfuture_as_completed_new(fs, 3, -1, &it), 0);
    pthread_t th;
    pthread_create(&th, NULL, complete_in_order, fs);
    int order[3];
    cio_cfuture *f;
    for (int k = 0; k < 3; k++) {
        assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
        void *r;
        assert_int_equal(cio_cfuture_result(f, 0, &r), 0);
        order[k] = (int)(intptr_t)r;
    }
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 0);
    assert_int_equal(order[0], 1);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 0);
    pthread_join(th, NULL);
    cio_cfuture_as_completed_free(it);
    for (int i = 0; i < 3; i++)
        cio_cfuture_release(fs[i]);
}

/* Python works on set(fs): {done, f1, pending, pending, done} yields
 * done and f1 once each, then times out on the next call with
 * "1 (of 3) futures unfinished". */
static void as_completed_distinct_futures_and_unfinished_count(void **state)
{
    (void)state;
    cio_cfuture *d, *f1, *p;
    assert_int_equal(cio_cfuture_new(&d), 0);
    assert_int_equal(cio_cfuture_new(&f1), 0);
    assert_int_equal(cio_cfuture_new(&p), 0);
    cio_cfuture_set_result(d, (void *)1);
    cio_cfuture_set_result(f1, (void *)2);
    cio_cfuture *fs[] = {d, f1, p, p, d};
    cio_cfuture_iter *it;
    int64_t t0 = now_ns();
    assert_int_equal(cio_cfuture_as_completed_new(fs, 5, 20 * CIO_MS, &it),
                     0);
    size_t total = 99;
    assert_int_equal(cio_cfuture_as_completed_unfinished(it, &total), 3);
    assert_int_equal(total, 3);
    assert_null(cio_cfuture_as_completed_error_message(it));
    cio_cfuture *f;
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, d);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, f1);
    /* The third call is the timeout, at the deadline, not a repeat. */
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), -ETIMEDOUT);
    assert_null(f);
    int64_t dt = now_ns() - t0;
    assert_true(dt >= 20 * CIO_MS);
    assert_true(dt < 5 * CIO_SEC);
    assert_string_equal(cio_cfuture_as_completed_error_message(it),
                        "1 (of 3) futures unfinished");
    assert_int_equal(cio_cfuture_as_completed_unfinished(it, &total), 1);
    assert_int_equal(total, 3);
    /* Nothing was cancelled; p finishing later is still returned, once. */
    assert_int_equal(cio_cfuture_cancelled(p), 0);
    cio_cfuture_set_result(p, (void *)3);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, p);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 0);
    assert_int_equal(cio_cfuture_as_completed_unfinished(it, NULL), 0);
    cio_cfuture_as_completed_free(it);
    /* The same set given with no deadline at all (timeout 0). */
    assert_int_equal(cio_cfuture_as_completed_new(fs, 5, 0, &it), 0);
    for (int k = 0; k < 3; k++)
        assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 0);
    cio_cfuture_as_completed_free(it);
    assert_int_equal(cio_cfuture_as_completed_unfinished(NULL, NULL),
                     -EINVAL);
    assert_null(cio_cfuture_as_completed_error_message(NULL));
    cio_cfuture_release(d);
    cio_cfuture_release(f1);
    cio_cfuture_release(p);
}

static void as_completed_deadline(void **state)
{
    (void)state;
    cio_cfuture *fs[2];
    assert_int_equal(cio_cfuture_new(&fs[0]), 0);
    assert_int_equal(cio_cfuture_new(&fs[1]), 0);
    cio_cfuture_set_result(fs[1], NULL); /* done before iteration */
    cio_cfuture_iter *it;
    assert_int_equal(cio_cfuture_as_completed_new(fs, 2, 20 * CIO_MS, &it),
                     0);
    cio_cfuture *f;
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), 1);
    assert_ptr_equal(f, fs[1]);
    int64_t t0 = now_ns();
    assert_int_equal(cio_cfuture_as_completed_next(it, &f), -ETIMEDOUT);
    assert_true(now_ns() - t0 < 2 * CIO_SEC);
    /* Nothing was cancelled; the iterator is freed with a future pending,
     * and completing it afterwards must not touch the iterator. */
    assert_int_equal(cio_cfuture_cancelled(fs[0]), 0);
    cio_cfuture_as_completed_free(it);
    cio_cfuture_set_result(fs[0], NULL);
    cio_cfuture_release(fs[0]);
    cio_cfuture_release(fs[1]);
    assert_int_equal(cio_cfuture_as_completed_new(NULL, 1, -1, &it),
                     -EINVAL);
}

/* Many threads retain, wait on and release one future while another
 * completes it: the refcount and the wakeup must hold. */
static void *waiter_thread(void *arg)
{
    cio_cfuture *cf = arg;
    for (int i = 0; i < 1000; i++)
        cio_cfuture_release(cio_cfuture_retain(cf));
    void *r;
    int rc = cio_cfuture_result(cf, 5 * CIO_SEC, &r);
    cio_cfuture_release(cf);
    return (void *)(intptr_t)(rc == 0 && r == (void *)9);
}

static void many_waiters_one_completer(void **state)
{
    (void)state;
    cio_cfuture *cf;
    assert_int_equal(cio_cfuture_new(&cf), 0);
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, waiter_thread, cio_cfuture_retain(cf));
    sleep_ns(5 * CIO_MS);
    cio_cfuture_set_result(cf, (void *)9);
    for (int i = 0; i < 8; i++) {
        void *ok;
        pthread_join(th[i], &ok);
        assert_int_equal((intptr_t)ok, 1);
    }
    cio_cfuture_release(cf);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(states_and_result, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(failing_done_callback_is_reported_and_next_runs, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(as_completed_distinct_futures_and_unfinished_count, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(errors_and_messages, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_semantics, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(callbacks_order_remove_and_done, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(result_timeout_elapses, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(blocked_waiter_wakes_callback_in_completer, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_wakes_waiter, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(as_completed_in_completion_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(as_completed_deadline, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(many_waiters_one_completer, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
