/* cio-test: label=core */
/*
 * test_wrong_thread.c - loop-bound calls made from a thread other than
 * the one running the loop are refused with -EINVAL and change nothing.
 *
 * Shape: a task on the loop's thread starts a foreign thread and joins it
 * (blocking the loop on purpose, so the loop is running and owned by this
 * thread for the whole call); the foreign thread makes the calls and
 * records what they returned; the task checks, after the join, that the
 * objects are untouched and still work from the right thread.
 */
#include <errno.h>
#include <pthread.h>

#include "cio_testutil.h"

typedef struct probe {
    cio_loop *loop;
    cio_future *fut;  /* plain pending future */
    cio_task *victim; /* task waiting on fut */
    cio_task *cancelled; /* a task with one cancellation request */
    int cancel_fut, cancel_task, remove_cb, uncancel, all_tasks, cancel_nomsg;
    int cancelling_after;
    int cb_runs;
} probe;

static int count_cb(cio_future *f, void *arg)
{
    (void)f;
    ((probe *)arg)->cb_runs++;
    return 0;
}

static void *foreign(void *arg)
{
    probe *p = arg;
    cio_task *list[4];
    p->cancel_fut = cio_future_cancel(p->fut, "from elsewhere");
    p->cancel_nomsg = cio_future_cancel(p->fut, NULL);
    p->cancel_task = cio_task_cancel(p->victim, NULL);
    p->remove_cb = cio_future_remove_done_callback(p->fut, count_cb, p);
    p->uncancel = cio_task_uncancel(p->cancelled);
    p->all_tasks = cio_loop_all_tasks(p->loop, list, 4);
    return NULL;
}

static int wait_fut(void *arg, void **result)
{
    (void)result;
    return cio_await(arg, NULL);
}

static int sleeper(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return cio_sleep(CIO_SEC);
}

/* Runs the foreign thread while it has one cancellation request of its
 * own pending, which the foreign uncancel must not withdraw. */
static int driver(void *arg, void **result)
{
    (void)result;
    probe *p = arg;
    cio_sleep(0); /* let the victim start and suspend in its await */
    p->cancelled = cio_current_task();
    if (cio_task_cancel(p->cancelled, NULL) != 1)
        return -EPROTO;
    pthread_t th;
    if (pthread_create(&th, NULL, foreign, p) != 0)
        return -EAGAIN;
    pthread_join(th, NULL);
    p->cancelling_after = cio_task_cancelling(p->cancelled);
    /* Withdrawn from the right thread, so the driver ends normally. */
    if (cio_task_uncancel(p->cancelled) != 0)
        return -EPROTO;
    return 0;
}

static void wrong_thread_calls_refused(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    probe p = {0};
    p.loop = loop;
    assert_int_equal(cio_future_new(loop, &p.fut), 0);
    assert_int_equal(cio_future_add_done_callback(p.fut, count_cb, &p), 0);
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(wait_fut, p.fut), NULL, &p.victim), 0);
    cio_task *d = NULL;
    assert_int_equal(cio_task_create(loop, CIO_CORO(driver, &p), NULL, &d), 0);
    assert_int_equal(cio_loop_run_until_complete(loop, d, NULL), 0);
    cio_future_release(d);

    assert_int_equal(p.cancel_fut, -EINVAL);
    assert_int_equal(p.cancel_nomsg, -EINVAL);
    assert_int_equal(p.cancel_task, -EINVAL);
    assert_int_equal(p.remove_cb, -EINVAL);
    assert_int_equal(p.uncancel, -EINVAL);
    assert_int_equal(p.all_tasks, -EINVAL);

    /* No effect: the future is pending without a message, the victim is
     * not being cancelled, the callback is still registered (below), the
     * driver's own request stood until it withdrew it. */
    assert_false(cio_future_done(p.fut));
    assert_null(cio_future_error_message(p.fut));
    assert_int_equal(cio_task_cancelling(p.victim), 0);
    assert_false(cio_future_done(p.victim));
    assert_int_equal(p.cancelling_after, 1);

    /* From the right thread (the loop is not running now) all of it
     * works. */
    cio_task *list[4];
    assert_int_equal(cio_loop_all_tasks(loop, list, 4), 1);
    assert_ptr_equal(list[0], p.victim);
    assert_int_equal(cio_future_set_result(p.fut, (void *)5L), 0);
    void *res = NULL;
    assert_int_equal(cio_loop_run_until_complete(loop, p.victim, &res), 0);
    assert_int_equal(p.cb_runs, 1);
    assert_int_equal(cio_loop_all_tasks(loop, list, 4), 0);

    cio_future_release(p.fut);
    cio_future_release(p.victim);
    tu_loop_done(loop);
}

/* The same calls from another thread while the loop is not running are
 * legal (asyncio: a loop belongs to no thread until it runs); only a
 * running loop is guarded. */
static void *idle_foreign(void *arg)
{
    probe *p = arg;
    p->remove_cb = cio_future_remove_done_callback(p->fut, count_cb, p);
    p->uncancel = cio_task_uncancel(p->cancelled);
    p->all_tasks = cio_loop_all_tasks(p->loop, NULL, 0);
    p->cancel_fut = cio_future_cancel(p->fut, NULL);
    return NULL;
}

static void other_thread_ok_when_not_running(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    probe p = {0};
    p.loop = loop;
    assert_int_equal(cio_future_new(loop, &p.fut), 0);
    assert_int_equal(cio_future_add_done_callback(p.fut, count_cb, &p), 0);
    assert_int_equal(
        cio_task_create(loop, CIO_CORO(sleeper, NULL), NULL, &p.cancelled), 0);
    assert_int_equal(cio_task_cancel(p.cancelled, NULL), 1);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, idle_foreign, &p), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(p.remove_cb, 1);
    assert_int_equal(p.uncancel, 0);
    assert_int_equal(p.all_tasks, 1);
    assert_int_equal(p.cancel_fut, 1);
    assert_true(cio_future_cancelled(p.fut));
    /* The withdrawn request: the task runs its body normally. */
    assert_int_equal(cio_loop_run_until_complete(loop, p.cancelled, NULL), 0);
    assert_int_equal(p.cb_runs, 0);
    cio_future_release(p.fut);
    cio_future_release(p.cancelled);
    tu_loop_done(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(wrong_thread_calls_refused, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(other_thread_ok_when_not_running, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
