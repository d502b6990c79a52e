/*
 * test_future.c - plain futures: outcomes, done callbacks and their order,
 * invalid state transitions, references, never-retrieved errors.
 */
#include <errno.h>

#include "cio_testutil.h"

static int cb_log[16];
static int ncb;

static int done_cb(cio_future *f, void *arg)
{
    assert_true(cio_future_done(f));
    cb_log[ncb++] = (int)(intptr_t)arg;
    return 0;
}

static int stop_cb(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

static void run_briefly(cio_loop *loop)
{
    cio_loop_call_soon(loop, stop_cb, loop, NULL);
    cio_loop_run_forever(loop);
}

static void result_and_callbacks(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    assert_int_equal(cio_future_new(loop, &f), 0);
    assert_false(cio_future_done(f));
    void *res = (void *)1;
    assert_int_equal(cio_future_result(f, &res), -EAGAIN);
    assert_null(res);
    assert_int_equal(cio_future_error(f), -EAGAIN);
    ncb = 0;
    for (intptr_t i = 1; i <= 5; i++) /* more than the inline slots */
        assert_int_equal(cio_future_add_done_callback(f, done_cb, (void *)i),
                         0);
    assert_int_equal(cio_future_remove_done_callback(f, done_cb, (void *)3),
                     1);
    assert_int_equal(cio_future_set_result(f, (void *)42), 0);
    assert_true(cio_future_done(f));
    assert_false(cio_future_cancelled(f));
    /* Callbacks are scheduled, not run inline (asyncio). */
    assert_int_equal(ncb, 0);
    run_briefly(loop);
    assert_int_equal(ncb, 4);
    int want[] = {1, 2, 4, 5};
    for (int i = 0; i < 4; i++)
        assert_int_equal(cb_log[i], want[i]);
    assert_int_equal(cio_future_result(f, &res), 0);
    assert_ptr_equal(res, (void *)42);
    assert_int_equal(cio_future_error(f), 0);
    /* InvalidStateError equivalents. */
    assert_int_equal(cio_future_set_result(f, NULL), -EINVAL);
    assert_int_equal(cio_future_set_error(f, -EIO, NULL), -EINVAL);
    assert_int_equal(cio_future_cancel(f, NULL), 0);
    /* A callback added after completion is scheduled at once. */
    assert_int_equal(cio_future_add_done_callback(f, done_cb, (void *)7), 0);
    run_briefly(loop);
    assert_int_equal(ncb, 5);
    assert_int_equal(cb_log[4], 7);
    cio_future_release(f);
    tu_loop_done(loop);
}

static void error_with_message(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    cio_future_new(loop, &f);
    assert_int_equal(cio_future_set_error(f, 5, NULL), -EINVAL);
    assert_int_equal(cio_future_set_error(f, -ECANCELED, NULL), -EINVAL);
    assert_int_equal(cio_future_set_error(f, -EIO, "disk on fire"), 0);
    void *res;
    assert_int_equal(cio_future_result(f, &res), -EIO);
    assert_string_equal(cio_future_error_message(f), "disk on fire");
    cio_future_release(f);
    tu_loop_done(loop);
}

static void cancel_plain(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    cio_future_new(loop, &f);
    ncb = 0;
    cio_future_add_done_callback(f, done_cb, (void *)1);
    assert_int_equal(cio_future_cancel(f, "because"), 1);
    assert_true(cio_future_cancelled(f));
    assert_true(cio_future_done(f));
    assert_int_equal(cio_future_result(f, NULL), -ECANCELED);
    assert_int_equal(cio_future_error(f), -ECANCELED);
    assert_string_equal(cio_future_error_message(f), "because");
    assert_int_equal(cio_future_cancel(f, NULL), 0);
    run_briefly(loop);
    assert_int_equal(ncb, 1);
    cio_future_release(f);
    tu_loop_done(loop);
}

static int reports;
static int report_err;

static void count_handler(cio_loop *loop, const cio_exception_context *ctx,
                          void *arg)
{
    (void)loop;
    (void)arg;
    reports++;
    report_err = ctx->error;
    assert_non_null(strstr(ctx->message, "never retrieved"));
}

static void never_retrieved_error_reported(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_loop_set_exception_handler(loop, count_handler, NULL);
    reports = 0;
    cio_future *f;
    cio_future_new(loop, &f);
    cio_future_set_error(f, -EIO, NULL);
    cio_future_release(f);
    assert_int_equal(reports, 1);
    assert_int_equal(report_err, -EIO);
    /* Retrieved errors and cancellations are not reported. */
    cio_future_new(loop, &f);
    cio_future_set_error(f, -EIO, NULL);
    assert_int_equal(cio_future_error(f), -EIO);
    cio_future_release(f);
    cio_future_new(loop, &f);
    cio_future_cancel(f, NULL);
    cio_future_release(f);
    assert_int_equal(reports, 1);
    tu_loop_done(loop);
}

static int dtor_calls;
static void count_dtor(void *p)
{
    (void)p;
    dtor_calls++;
}

static void result_destructor_and_refs(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    cio_future_new(loop, &f);
    dtor_calls = 0;
    cio_future_set_result_dtor(f, count_dtor);
    cio_future_set_result(f, (void *)&dtor_calls);
    assert_ptr_equal(cio_future_retain(f), f);
    cio_future_release(f);
    assert_int_equal(dtor_calls, 0);
    cio_future_release(f);
    assert_int_equal(dtor_calls, 1);
    tu_loop_done(loop);
}

static void future_outlives_loop(void **state)
{
    (void)state;
    /* A future released after its loop was freed: the loop's memory is
     * kept until then, so this is safe (valgrind/ASan check it). */
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    cio_future_new(loop, &f);
    cio_future_set_result(f, NULL);
    tu_loop_done(loop);
    assert_true(cio_future_done(f));
    cio_future_release(f);
}

static void pending_callbacks_released_on_close(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    cio_future_new(loop, &f);
    ncb = 0;
    cio_future_add_done_callback(f, done_cb, (void *)1);
    cio_future_set_result(f, NULL);
    cio_future_release(f);
    /* The scheduled callback still holds f; close drops it without
     * running user code, and nothing leaks (teardown checks). */
    tu_loop_done(loop);
    assert_int_equal(ncb, 0);
}

static void misuse(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f = (cio_future *)1;
    assert_int_equal(cio_future_new(NULL, &f), -EINVAL);
    assert_int_equal(cio_future_new(loop, NULL), -EINVAL);
    assert_int_equal(cio_future_add_done_callback(NULL, done_cb, NULL),
                     -EINVAL);
    cio_future_new(loop, &f);
    assert_int_equal(cio_future_add_done_callback(f, NULL, NULL), -EINVAL);
    assert_int_equal(cio_await(f, NULL), -EINVAL); /* outside a task */
    assert_int_equal(cio_future_is_task(f), 0);
    assert_int_equal(cio_task_state_get(f), -EINVAL);
    assert_int_equal(cio_task_cancelling(f), -EINVAL);
    assert_null(cio_task_name(f));
    cio_future_release(NULL);
    cio_future_release(f);
    tu_fail_nth(1);
    f = (cio_future *)1;
    assert_int_equal(cio_future_new(loop, &f), -ENOMEM);
    assert_null(f);
    tu_fail_nth(0);
    tu_loop_done(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(result_and_callbacks, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(error_with_message, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_plain, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(never_retrieved_error_reported, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(result_destructor_and_refs, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(future_outlives_loop, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(pending_callbacks_released_on_close, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
