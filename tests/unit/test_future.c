/*
 * test_future.c - plain futures: outcomes, done callbacks and their order,
 * invalid state transitions, references, never-retrieved errors, and what
 * reaches the exception handler (the default one's stderr line included).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

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


/* ---- exception handler: the default one's output, failing callbacks --- */

/* stderr (fd 2) redirected to a temporary file between capture_begin and
 * capture_end, which returns what was written. */
static int saved_fd = -1;
static FILE *capture_file;

static void capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    assert_non_null(capture_file);
    saved_fd = dup(STDERR_FILENO);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(capture_file), STDERR_FILENO) >= 0);
}

static void capture_end(char *buf, size_t cap)
{
    fflush(stderr);
    assert_true(dup2(saved_fd, STDERR_FILENO) >= 0);
    close(saved_fd);
    saved_fd = -1;
    rewind(capture_file);
    size_t n = fread(buf, 1, cap - 1, capture_file);
    buf[n] = '\0';
    fclose(capture_file);
    capture_file = NULL;
}

static int failing_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return -EPIPE;
}

static int failing_soon(void *arg)
{
    (void)arg;
    return -ENOTCONN;
}

static void default_handler_output(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f;
    assert_int_equal(cio_future_new(loop, &f), 0);
    assert_int_equal(cio_future_set_error(f, -EIO, "disk on fire"), 0);
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "worker";
    cio_task *t;
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(failing_task, NULL), &o, &t), 0);
    char buf[1024];
    capture_begin();
    /* A never-retrieved future error, with its message. */
    cio_future_release(f);
    /* A never-retrieved task error, named after the task. */
    run_briefly(loop);
    cio_future_release(t);
    /* A failing callback. */
    cio_loop_call_soon(loop, failing_soon, NULL, NULL);
    run_briefly(loop);
    /* A direct report without error or detail. */
    cio_exception_context ctx = {"just a note", 0, NULL, NULL, NULL};
    assert_int_equal(cio_loop_call_exception_handler(loop, &ctx), 0);
    capture_end(buf, sizeof buf);

    char want[1024];
    snprintf(want, sizeof want,
             "cio: Future exception was never retrieved: %s (%s): disk on "
             "fire\n"
             "cio: Task exception was never retrieved [task worker]: %s "
             "(%s)\n"
             "cio: callback failed: %s (%s)\n"
             "cio: just a note\n",
             cio_err_name(-EIO), cio_strerror(-EIO), cio_err_name(-EPIPE),
             cio_strerror(-EPIPE), cio_err_name(-ENOTCONN),
             cio_strerror(-ENOTCONN));
    assert_string_equal(buf, want);
    /* The error names are the symbolic ones. */
    assert_non_null(strstr(buf, "EIO"));
    assert_non_null(strstr(buf, "EPIPE"));
    tu_loop_done(loop);
}

static int nreports;
static cio_exception_context last_report;
static char last_message[64];

static void record_handler(cio_loop *loop, const cio_exception_context *ctx,
                           void *arg)
{
    (void)loop;
    (void)arg;
    nreports++;
    last_report = *ctx;
    snprintf(last_message, sizeof last_message, "%s", ctx->message);
    last_report.message = last_message;
}

static int bad_done_cb(cio_future *f, void *arg)
{
    (void)f;
    (*(int *)arg)++;
    return -EBADMSG;
}

static int quick_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return 0;
}

static void failing_done_callback_reported(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    assert_int_equal(cio_loop_set_exception_handler(loop, record_handler,
                                                    NULL),
                     0);
    nreports = 0;
    int runs = 0;
    cio_future *f;
    assert_int_equal(cio_future_new(loop, &f), 0);
    assert_int_equal(cio_future_add_done_callback(f, bad_done_cb, &runs), 0);
    assert_int_equal(cio_future_set_result(f, NULL), 0);
    assert_int_equal(nreports, 0); /* scheduled, not run yet */
    run_briefly(loop);
    assert_int_equal(runs, 1);
    assert_int_equal(nreports, 1);
    assert_string_equal(last_report.message, "done callback failed");
    assert_int_equal(last_report.error, -EBADMSG);
    assert_ptr_equal(last_report.future, f);
    assert_null(last_report.detail);

    /* On a task too. */
    cio_task *t;
    assert_int_equal(cio_task_create(loop, CIO_CORO(quick_task, NULL), NULL,
                                     &t),
                     0);
    assert_int_equal(cio_future_add_done_callback(t, bad_done_cb, &runs), 0);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
    run_briefly(loop);
    assert_int_equal(runs, 2);
    assert_int_equal(nreports, 2);
    assert_string_equal(last_report.message, "done callback failed");
    assert_int_equal(last_report.error, -EBADMSG);
    assert_ptr_equal(last_report.future, t);
    cio_future_release(t);

    /* Out of memory for the call_soon handle: the callback runs at once
     * and its failure is still reported. */
    cio_future *g;
    assert_int_equal(cio_future_new(loop, &g), 0);
    assert_int_equal(cio_future_add_done_callback(g, bad_done_cb, &runs), 0);
    /* Use up the loop's free handles so the next one is allocated. */
    cio_handle h[64];
    for (int i = 0; i < 64; i++)
        assert_int_equal(cio_loop_call_soon(loop, failing_soon, NULL, &h[i]),
                         0);
    tu_fail_nth(1);
    assert_int_equal(cio_future_set_result(g, NULL), 0);
    tu_fail_nth(0);
    assert_int_equal(runs, 3);
    assert_int_equal(nreports, 3);
    assert_int_equal(last_report.error, -EBADMSG);
    assert_ptr_equal(last_report.future, g);
    for (int i = 0; i < 64; i++)
        assert_int_equal(cio_handle_cancel(loop, h[i]), 1);
    run_briefly(loop);
    assert_int_equal(nreports, 3);

    cio_future_release(f);
    cio_future_release(g);
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
    cmocka_unit_test_setup_teardown(default_handler_output, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(failing_done_callback_reported, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
