/*
 * cio_testutil_task.h - helpers for tests written as a main task on the
 * virtual clock (sync primitives, queues): an event log the tasks append
 * to and the test compares, running a main task on a fresh loop, spawning
 * and finishing child tasks, and the loop time in milliseconds.
 * Header-only like cio_testutil.h. A test that needs a longer log defines
 * TU_LOG_MAX before including it.
 */
#ifndef CIO_TESTUTIL_TASK_H
#define CIO_TESTUTIL_TASK_H

#include "cio_testutil.h"

#ifndef TU_LOG_MAX
#define TU_LOG_MAX 64
#endif

static int log_[TU_LOG_MAX];
static int nlog;

static inline void rec(int v)
{
    assert_true(nlog < TU_LOG_MAX);
    log_[nlog++] = v;
}

static inline void expect_log(const int *want, int n)
{
    assert_int_equal(nlog, n);
    for (int i = 0; i < n; i++)
        assert_int_equal(log_[i], want[i]);
}

/* Runs fn(arg) as the main task of a fresh virtual-clock loop, with an
 * empty log; it must return 0. */
static inline void run_main(cio_coro_fn fn, void *arg)
{
    nlog = 0;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    assert_int_equal(cio_task_create(loop, CIO_CORO(fn, arg), NULL, &t), 0);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
    cio_future_release(t);
    tu_loop_done(loop);
}

/* Defines the cmocka case name, which runs main_fn(NULL) with run_main.
 * The case is still listed by name in the test's CMUnitTest array. */
#define TU_MAIN_CASE(name, main_fn)                                           \
    static void name(void **state)                                            \
    {                                                                         \
        (void)state;                                                          \
        run_main(main_fn, NULL);                                              \
    }

/* Creates a task running fn(arg) on the running loop. */
static inline cio_task *spawn(cio_coro_fn fn, void *arg)
{
    cio_task *t;
    assert_int_equal(cio_task_create(cio_get_running_loop(), CIO_CORO(fn, arg),
                                     NULL, &t),
                     0);
    return t;
}

/* Awaits t and returns its outcome; releases it. */
static inline int finish(cio_task *t)
{
    int r = cio_await(t, NULL);
    cio_future_release(t);
    return r;
}

/* The running loop's time in milliseconds. */
static inline int64_t now_ms(void)
{
    return cio_loop_time(cio_get_running_loop()) / CIO_MS;
}

#endif
