/*
 * test_task.c - tasks: scheduling, results, await, cancellation at each
 * suspension point (before start, in sleep, in yield, awaiting a future,
 * awaiting a task, during cleanup), cancelling()/uncancel, all_tasks,
 * names, defers, eager start, cio_run, stack options.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil.h"
/* White-box: the eager-start test reads the ready queue's length. */
#include "loop/loop.h"

static int log_[32];
static int nlog;

static int add_one(void *arg, void **result)
{
    *result = (void *)((intptr_t)arg + 1);
    return 0;
}

static void create_and_run(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    assert_int_equal(cio_task_create(loop, CIO_CORO(add_one, 1), NULL, &t), 0);
    assert_int_equal(cio_future_is_task(t), 1);
    assert_int_equal(cio_task_state_get(t), CIO_TASK_PENDING);
    assert_string_equal(cio_task_name(t), "Task-1");
    void *res;
    assert_int_equal(cio_loop_run_until_complete(loop, t, &res), 0);
    assert_ptr_equal(res, (void *)2);
    assert_int_equal(cio_task_state_get(t), CIO_TASK_DONE);
    assert_int_equal(cio_future_result(t, &res), 0); /* a task is a future */
    assert_ptr_equal(res, (void *)2);
    assert_int_equal(cio_future_set_result(t, NULL), -EINVAL);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int record(void *arg, void **result)
{
    (void)result;
    log_[nlog++] = (int)(intptr_t)arg;
    return 0;
}

static void creation_does_not_switch(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *a, *b;
    cio_task_create(loop, CIO_CORO(record, 1), NULL, &a);
    cio_task_create(loop, CIO_CORO(record, 2), NULL, &b);
    assert_int_equal(nlog, 0); /* S8: they start when the loop runs */
    cio_loop_run_until_complete(loop, b, NULL);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0], 1);
    assert_int_equal(log_[1], 2);
    cio_future_release(a);
    cio_future_release(b);
    tu_loop_done(loop);
}

static int sleeper(void *arg, void **result)
{
    int64_t d = (int64_t)(intptr_t)arg;
    int r = cio_sleep(d * CIO_MS);
    log_[nlog++] = (int)d;
    *result = (void *)(intptr_t)r;
    return r;
}

static int two_sleepers(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    cio_task *a, *b;
    cio_task_create(loop, CIO_CORO(sleeper, 30), NULL, &a);
    cio_task_create(loop, CIO_CORO(sleeper, 10), NULL, &b);
    int64_t t0 = cio_loop_time(loop);
    assert_int_equal(cio_await(a, NULL), 0);
    assert_int_equal(cio_await(b, NULL), 0);
    /* Concurrent: 30 ms total, not 40, on the virtual clock. */
    assert_int_equal(cio_loop_time(loop) - t0, 30 * CIO_MS);
    cio_future_release(a);
    cio_future_release(b);
    return 0;
}

static void sleep_concurrently(void **state)
{
    (void)state;
    nlog = 0;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(loop, CIO_CORO(two_sleepers, NULL), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
    cio_future_release(t);
    tu_loop_done(loop);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0], 10);
    assert_int_equal(log_[1], 30);
}

static int yielder(void *arg, void **result)
{
    (void)result;
    for (int i = 0; i < 3; i++) {
        log_[nlog++] = (int)(intptr_t)arg;
        assert_int_equal(cio_sleep(0), 0);
    }
    return 0;
}

static void sleep_zero_interleaves(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *a, *b;
    cio_task_create(loop, CIO_CORO(yielder, 1), NULL, &a);
    cio_task_create(loop, CIO_CORO(yielder, 2), NULL, &b);
    cio_loop_run_until_complete(loop, b, NULL);
    int want[] = {1, 2, 1, 2, 1, 2};
    assert_int_equal(nlog, 6);
    for (int i = 0; i < 6; i++)
        assert_int_equal(log_[i], want[i]);
    cio_future_release(a);
    cio_future_release(b);
    tu_loop_done(loop);
}

static int fail_with(void *arg, void **result)
{
    (void)result;
    return (int)(intptr_t)arg;
}

static void task_error(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(loop, CIO_CORO(fail_with, -EPIPE), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -EPIPE);
    assert_int_equal(cio_task_state_get(t), CIO_TASK_DONE);
    assert_int_equal(cio_future_error(t), -EPIPE);
    cio_future_release(t);
    tu_loop_done(loop);
}

/* ---- cancellation at each suspension point ---- */

static void cancel_before_start_never_runs(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t;
    cio_task_create(loop, CIO_CORO(record, 1), NULL, &t);
    assert_int_equal(cio_task_cancel(t, "early"), 1);
    assert_int_equal(cio_task_cancelling(t), 1);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_int_equal(nlog, 0);
    assert_int_equal(cio_task_state_get(t), CIO_TASK_CANCELLED);
    assert_true(cio_future_cancelled(t));
    assert_string_equal(cio_future_error_message(t), "early");
    assert_int_equal(cio_task_cancel(t, NULL), 0); /* done: refused */
    cio_future_release(t);
    tu_loop_done(loop);
}

static int cancel_later(void *arg)
{
    cio_task_cancel(arg, NULL);
    return 0;
}

static void cancel_during_sleep(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t;
    cio_task_create(loop, CIO_CORO(sleeper, 1000), NULL, &t);
    cio_loop_call_later(loop, 5 * CIO_MS, cancel_later, t, NULL);
    int64_t t0 = cio_loop_time(loop);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    /* The sleep returned -ECANCELED at 5 ms, not at 1 s. */
    assert_int_equal(cio_loop_time(loop) - t0, 5 * CIO_MS);
    assert_int_equal(nlog, 1);
    assert_int_equal(cio_task_state_get(t), CIO_TASK_CANCELLED);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int yield_then_report(void *arg, void **result)
{
    (void)arg;
    int r = cio_sleep(0);
    *result = (void *)(intptr_t)r;
    log_[nlog++] = r;
    return 0; /* swallows the cancellation */
}

static int cancel_now(void *arg)
{
    cio_task_cancel(arg, NULL);
    return 0;
}

static void cancel_during_yield_and_swallow(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t;
    cio_task_create(loop, CIO_CORO(yield_then_report, NULL), NULL, &t);
    /* Runs after the task's first step, while it sits in sleep(0). */
    cio_loop_call_soon(loop, cancel_now, t, NULL);
    void *res;
    /* The body saw -ECANCELED and returned normally: asyncio then ends the
     * task with its result, and cancelling() still says 1. */
    assert_int_equal(cio_loop_run_until_complete(loop, t, &res), 0);
    assert_int_equal(log_[0], -ECANCELED);
    assert_int_equal(cio_task_cancelling(t), 1);
    assert_int_equal(cio_task_uncancel(t), 0);
    cio_future_release(t);
    tu_loop_done(loop);
}

static cio_future *shared_fut;

static int await_shared(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_await(shared_fut, NULL);
    log_[nlog++] = r;
    /* Cleanup code may suspend again after a cancellation. */
    assert_int_equal(cio_sleep(CIO_MS), 0);
    log_[nlog++] = 100;
    return r;
}

static void cancel_awaiting_task_cancels_future(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_future_new(loop, &shared_fut);
    cio_task *t;
    cio_task_create(loop, CIO_CORO(await_shared, NULL), NULL, &t);
    cio_loop_call_later(loop, CIO_MS, cancel_later, t, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_true(cio_future_cancelled(shared_fut));
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0], -ECANCELED);
    assert_int_equal(log_[1], 100);
    cio_future_release(shared_fut);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int set_shared(void *arg)
{
    cio_future_set_result(shared_fut, arg);
    return 0;
}

static int await_value(void *arg, void **result)
{
    (void)arg;
    return cio_await(shared_fut, result);
}

static void await_future_result(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future_new(loop, &shared_fut);
    cio_task *t;
    cio_task_create(loop, CIO_CORO(await_value, NULL), NULL, &t);
    cio_loop_call_later(loop, 3 * CIO_MS, set_shared, (void *)77, NULL);
    void *res;
    assert_int_equal(cio_loop_run_until_complete(loop, t, &res), 0);
    assert_ptr_equal(res, (void *)77);
    cio_future_release(shared_fut);
    cio_future_release(t);
    tu_loop_done(loop);
}

static void future_cancelled_by_other(void **state)
{
    (void)state;
    /* The awaited future is cancelled by someone else: the awaiting task
     * gets -ECANCELED although nobody cancelled the task itself, which
     * cancelling() == 0 tells apart. */
    cio_loop *loop = tu_loop_virtual();
    cio_future_new(loop, &shared_fut);
    cio_task *t;
    cio_task_create(loop, CIO_CORO(await_value, NULL), NULL, &t);
    cio_loop_call_later(loop, CIO_MS, cancel_later, shared_fut, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_int_equal(cio_task_cancelling(t), 0);
    cio_future_release(shared_fut);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int child_cleanup(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_sleep(CIO_SEC);
    assert_int_equal(r, -ECANCELED);
    log_[nlog++] = 1;
    assert_int_equal(cio_sleep(2 * CIO_MS), 0); /* slow cleanup */
    log_[nlog++] = 2;
    return r;
}

static int parent_awaits_child(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task *c;
    cio_task_create(cio_get_running_loop(), CIO_CORO(child_cleanup, NULL),
                    NULL, &c);
    int r = cio_await(c, NULL);
    /* The parent resumes only after the child finished cleaning up. */
    log_[nlog++] = 3;
    assert_true(cio_future_cancelled(c));
    cio_future_release(c);
    return r;
}

static void cancel_parent_cancels_awaited_child(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *p;
    cio_task_create(loop, CIO_CORO(parent_awaits_child, NULL), NULL, &p);
    cio_loop_call_later(loop, CIO_MS, cancel_later, p, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, p, NULL), -ECANCELED);
    assert_int_equal(nlog, 3);
    assert_int_equal(log_[0], 1);
    assert_int_equal(log_[1], 2);
    assert_int_equal(log_[2], 3);
    assert_int_equal(cio_task_cancelling(p), 1);
    cio_future_release(p);
    tu_loop_done(loop);
}

static int self_cancel(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task_cancel(cio_current_task(), NULL);
    assert_int_equal(cio_task_state_get(cio_current_task()), CIO_TASK_RUNNING);
    log_[nlog++] = 1; /* still running until the next suspension */
    int r = cio_sleep(10 * CIO_MS);
    log_[nlog++] = r;
    return r;
}

static void cancel_self_delivered_at_next_suspension(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t;
    cio_task_create(loop, CIO_CORO(self_cancel, NULL), NULL, &t);
    int64_t t0 = cio_loop_time(loop);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_int_equal(log_[1], -ECANCELED);
    assert_true(cio_loop_time(loop) - t0 < 10 * CIO_MS);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int cancel_then_return(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task_cancel(cio_current_task(), NULL);
    return 0; /* never reaches a suspension point */
}

static void cancel_right_before_return(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(loop, CIO_CORO(cancel_then_return, NULL), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_true(cio_future_cancelled(t));
    cio_future_release(t);
    tu_loop_done(loop);
}

/* ---- bookkeeping ---- */

static int check_all_tasks(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    cio_task *ts[8];
    assert_int_equal(cio_loop_all_tasks(loop, ts, 8), 3);
    int found_self = 0;
    for (int i = 0; i < 3; i++)
        if (ts[i] == cio_current_task())
            found_self = 1;
    assert_true(found_self);
    assert_int_equal(cio_loop_all_tasks(loop, NULL, 0), 3);
    return 0;
}

static void all_tasks_and_names(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "a-rather-long-task-name-that-needs-the-heap";
    cio_task *a, *b, *c;
    cio_task_create(loop, CIO_CORO(sleeper, 5), &o, &a);
    cio_task_create(loop, CIO_CORO(sleeper, 5), NULL, &b);
    cio_task_create(loop, CIO_CORO(check_all_tasks, NULL), NULL, &c);
    assert_string_equal(cio_task_name(a), o.name);
    assert_string_equal(cio_task_name(b), "Task-1");
    assert_int_equal(cio_task_set_name(b, "renamed"), 0);
    assert_string_equal(cio_task_name(b), "renamed");
    assert_int_equal(cio_task_set_name(a, "short"), 0);
    assert_int_equal(cio_loop_close(loop), -EBUSY); /* tasks pending */
    assert_int_equal(cio_loop_run_until_complete(loop, c, NULL), 0);
    cio_loop_run_until_complete(loop, a, NULL);
    cio_loop_run_until_complete(loop, b, NULL);
    assert_int_equal(cio_loop_all_tasks(loop, NULL, 0), 0);
    cio_future_release(a);
    cio_future_release(b);
    cio_future_release(c);
    tu_loop_done(loop);
}

static void defer_fn(void *arg)
{
    log_[nlog++] = (int)(intptr_t)arg;
}

static int with_defers(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task_defer(defer_fn, (void *)1);
    cio_task_defer(defer_fn, (void *)2);
    return cio_sleep(CIO_SEC);
}

static void defers_run_lifo_on_cancel(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t;
    cio_task_create(loop, CIO_CORO(with_defers, NULL), NULL, &t);
    cio_loop_call_later(loop, CIO_MS, cancel_later, t, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), -ECANCELED);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0], 2);
    assert_int_equal(log_[1], 1);
    assert_int_equal(cio_task_defer(defer_fn, NULL), -EINVAL);
    cio_future_release(t);
    tu_loop_done(loop);
}

static int eager_parent(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.eager = 1;
    nlog = 0;
    cio_task *t;
    cio_task_create(cio_get_running_loop(), CIO_CORO(record, 5), &o, &t);
    /* Ran synchronously and finished inside create. */
    assert_int_equal(nlog, 1);
    assert_true(cio_future_done(t));
    cio_future_release(t);
    cio_task_create(cio_get_running_loop(), CIO_CORO(sleeper, 2), &o, &t);
    assert_false(cio_future_done(t)); /* suspended in its sleep */
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    return 0;
}

static void eager_start(void **state)
{
    (void)state;
    assert_int_equal(cio_run(eager_parent, NULL, NULL), 0);
}

static int log_cb(void *arg)
{
    log_[nlog++] = (int)(intptr_t)arg;
    return 0;
}

static int eager_queue_parent(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.eager = 1;
    nlog = 0;
    /* Queued before the eager task is created: it must run after the
     * eager task's synchronous part, which goes through no queue. */
    assert_int_equal(cio_loop_call_soon(loop, log_cb, (void *)100, NULL), 0);
    size_t queued = loop->rq_len;
    assert_true(queued >= 1);
    cio_task *t, *s, *u;
    assert_int_equal(cio_task_create(loop, CIO_CORO(record, 5), &o, &t), 0);
    assert_int_equal(nlog, 1);
    assert_int_equal(log_[0], 5);
    assert_true(cio_future_done(t));
    assert_int_equal(loop->rq_len, queued); /* never touched the queue */
    /* Suspending in its first step: its wake-up is a timer, so the queue
     * is still untouched. */
    assert_int_equal(cio_task_create(loop, CIO_CORO(sleeper, 2), &o, &s), 0);
    assert_false(cio_future_done(s));
    assert_int_equal(loop->rq_len, queued);
    /* Control: a lazy task is queued, so the check above can fail. */
    assert_int_equal(cio_task_create(loop, CIO_CORO(record, 7), NULL, &u), 0);
    assert_int_equal(loop->rq_len, queued + 1);
    assert_int_equal(nlog, 1);
    assert_int_equal(cio_await(s, NULL), 0);
    assert_int_equal(cio_await(u, NULL), 0);
    /* The callback queued first ran before the lazy task, both after the
     * eager task's synchronous part; the sleeper woke last. */
    assert_int_equal(nlog, 4);
    assert_int_equal(log_[1], 100);
    assert_int_equal(log_[2], 7);
    assert_int_equal(log_[3], 2);
    cio_future_release(t);
    cio_future_release(s);
    cio_future_release(u);
    return 0;
}

static void eager_skips_ready_queue(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *m;
    cio_task_create(loop, CIO_CORO(eager_queue_parent, NULL), NULL, &m);
    assert_int_equal(cio_loop_run_until_complete(loop, m, NULL), 0);
    cio_future_release(m);
    tu_loop_done(loop);
}

static int spawn_and_leave(void *arg, void **result)
{
    (void)arg;
    *result = (void *)5;
    cio_loop *loop = cio_get_running_loop();
    /* Fire-and-forget tasks left running: cio_run cancels and finishes
     * them before closing the loop. */
    for (int i = 0; i < 10; i++)
        cio_task_create(loop, CIO_CORO(child_cleanup, NULL), NULL, NULL);
    return cio_sleep(CIO_MS);
}

static void run_cancels_leftovers(void **state)
{
    (void)state;
    nlog = 0;
    void *res;
    assert_int_equal(cio_run(spawn_and_leave, NULL, &res), 0);
    assert_ptr_equal(res, (void *)5);
    assert_int_equal(nlog, 20); /* each ran its cleanup to the end */
    assert_null(cio_get_event_loop());
}

static void misuse(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task *t = (cio_task *)1;
    assert_int_equal(cio_task_create(loop, CIO_CORO(NULL, NULL), NULL, &t),
                     -EINVAL);
    assert_null(t);
    assert_int_equal(cio_task_create(NULL, CIO_CORO(record, 0), NULL, &t),
                     -EINVAL);
    assert_int_equal(cio_sleep(0), -EINVAL); /* outside a task */
    assert_null(cio_current_task());
    cio_future *f;
    assert_int_equal(cio_ensure_future(loop, NULL, CIO_CORO(NULL, NULL), &f),
                     -EINVAL);
    assert_int_equal(cio_run(NULL, NULL, NULL), -EINVAL);
    tu_fail_nth(1);
    assert_int_equal(cio_task_create(loop, CIO_CORO(record, 0), NULL, &t),
                     -ENOMEM);
    tu_fail_nth(0);
    tu_loop_done(loop);
}

static void ensure_future_both_ways(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *f, *g, *t;
    cio_future_new(loop, &f);
    assert_int_equal(cio_ensure_future(loop, f, CIO_CORO(NULL, NULL), &g), 0);
    assert_ptr_equal(f, g); /* a future is returned as is */
    cio_future_release(g);
    assert_int_equal(cio_ensure_future(loop, NULL, CIO_CORO(add_one, 4), &t),
                     0);
    assert_int_equal(cio_future_is_task(t), 1);
    void *res;
    cio_loop_run_until_complete(loop, t, &res);
    assert_ptr_equal(res, (void *)5);
    cio_future_release(t);
    cio_future_release(f);
    tu_loop_done(loop);
}

static int deep_stack(void *arg, void **result)
{
    (void)result;
    size_t n = (size_t)(uintptr_t)arg;
    volatile char buf[8192];
    buf[0] = 1;
    if (n > 1)
        return deep_stack((void *)(uintptr_t)(n - 1), result) + buf[0] - 1;
    return buf[0] - 1;
}

static void stack_size_option(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.stack_size = 2 * 1024 * 1024;
    cio_task *t;
    /* About 1.6 MiB of frames: needs the bigger stack. */
    cio_task_create(loop, CIO_CORO(deep_stack, 200), &o, &t);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
    cio_future_release(t);
    tu_loop_done(loop);
}

static void handler_(cio_loop *loop, const cio_exception_context *ctx, void *arg)
{
    (void)loop;
    assert_int_equal(ctx->error, -EIO);
    assert_string_equal(ctx->task_name, "Task-1");
    assert_non_null(strstr(ctx->message, "never retrieved"));
    (*(int *)arg)++;
}

static volatile int keep_going = 1;

static int recurse_forever(void *arg, void **result)
{
    volatile char buf[1024];
    buf[0] = (char)(intptr_t)arg;
    if (!keep_going) /* always true at run time; keeps the compiler honest */
        return 0;
    return recurse_forever((void *)(intptr_t)(buf[0] + 1), result) + buf[0];
}

static int under_tool(void)
{
    /* ASan and valgrind intercept SIGSEGV themselves; the guard page still
     * stops the overflow there, but the one-line report is ours only in a
     * plain build. */
#if defined(__SANITIZE_ADDRESS__)
    return 1;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    return 1;
#endif
#endif
    const char *p = getenv("LD_PRELOAD");
    return p && strstr(p, "valgrind") != NULL;
}

static void stack_overflow_names_the_task(void **state)
{
    (void)state;
    if (under_tool())
        skip();
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        cio_loop *loop;
        cio_loop_new(&loop, NULL);
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = "deep-recursion";
        o.stack_size = 64 * 1024;
        cio_task *t;
        cio_task_create(loop, CIO_CORO(recurse_forever, 0), &o, &t);
        cio_loop_run_until_complete(loop, t, NULL);
        _exit(0); /* not reached: the guard page stops it */
    }
    close(p[1]);
    char buf[512];
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof(buf) && (k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
    assert_non_null(strstr(buf, "stack overflow"));
    assert_non_null(strstr(buf, "deep-recursion"));
}

/* ---- the stack hand-off between consecutive new tasks ---- */

static int rec_cb(void *arg)
{
    log_[nlog++] = (int)(intptr_t)arg;
    return 0;
}

static void handoff_keeps_queue_order(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t[4];
    /* Tasks and a plain callback interleaved: a finishing task may hand
     * its stack only to the task right behind it, never jump the
     * callback. */
    cio_task_create(loop, CIO_CORO(record, 1), NULL, &t[0]);
    cio_task_create(loop, CIO_CORO(record, 2), NULL, &t[1]);
    cio_loop_call_soon(loop, rec_cb, (void *)100, NULL);
    cio_task_create(loop, CIO_CORO(sleeper, 3), NULL, &t[2]);
    cio_task_create(loop, CIO_CORO(record, 4), NULL, &t[3]);
    cio_loop_run_until_complete(loop, t[2], NULL);
    int want[] = {1, 2, 100, 4, 3};
    assert_int_equal(nlog, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(log_[i], want[i]);
    for (int i = 0; i < 4; i++) {
        assert_true(cio_future_done(t[i]));
        cio_future_release(t[i]);
    }
    tu_loop_done(loop);
}

static void handoff_to_task_that_suspends(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    nlog = 0;
    cio_task *a, *b, *c;
    cio_task_create(loop, CIO_CORO(add_one, 1), NULL, &a);
    cio_task_create(loop, CIO_CORO(sleeper, 5), NULL, &b); /* suspends */
    cio_task_create(loop, CIO_CORO(add_one, 7), NULL, &c);
    cio_loop_call_later(loop, 2 * CIO_MS, cancel_later, b, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, b, NULL), -ECANCELED);
    void *r;
    assert_int_equal(cio_future_result(a, &r), 0);
    assert_ptr_equal(r, (void *)2);
    assert_int_equal(cio_future_result(c, &r), 0);
    assert_ptr_equal(r, (void *)8);
    assert_int_equal(cio_task_state_get(b), CIO_TASK_CANCELLED);
    cio_future_release(a);
    cio_future_release(b);
    cio_future_release(c);
    tu_loop_done(loop);
}

static void handoff_respects_stack_size_and_batch(void **state)
{
    (void)state;
    cio_loop_opts lo = CIO_LOOP_OPTS_INIT;
    lo.clock = CIO_CLOCK_VIRTUAL;
    lo.batch = 2; /* two ready items per iteration, hand-offs included */
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, &lo), 0);
    cio_task_opts big = CIO_TASK_OPTS_INIT;
    big.stack_size = 2 * 1024 * 1024;
    cio_task *t[6];
    for (int i = 0; i < 6; i++)
        cio_task_create(loop, CIO_CORO(deep_stack, (intptr_t)(i % 2 ? 200 : 1)),
                        i % 2 ? &big : NULL, &t[i]);
    assert_int_equal(cio_loop_run_until_complete(loop, t[5], NULL), 0);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(cio_future_error(t[i]), 0);
        cio_future_release(t[i]);
    }
    tu_loop_done(loop);
}

static void overflow_after_handoff_names_the_right_task(void **state)
{
    (void)state;
    if (under_tool())
        skip();
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 2);
        cio_loop *loop;
        cio_loop_new(&loop, NULL);
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = "first";
        cio_task_create(loop, CIO_CORO(add_one, 0), &o, NULL);
        o.name = "second";
        cio_task *t;
        cio_task_create(loop, CIO_CORO(recurse_forever, 0), &o, &t);
        cio_loop_run_until_complete(loop, t, NULL);
        _exit(0);
    }
    close(p[1]);
    char buf[512];
    size_t n = 0;
    ssize_t k;
    while (n + 1 < sizeof(buf) &&
           (k = read(p[0], buf + n, sizeof(buf) - 1 - n)) > 0)
        n += (size_t)k;
    buf[n] = 0;
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    assert_true(WIFSIGNALED(st));
    assert_non_null(strstr(buf, "'second'"));
}

static void unretrieved_task_error_reported(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    int calls = 0;
    cio_task_create(loop, CIO_CORO(fail_with, -EIO), NULL, NULL);
    cio_task *t;
    cio_task_create(loop, CIO_CORO(sleeper, 1), NULL, &t);
    cio_loop_set_exception_handler(loop, handler_, &calls);
    cio_loop_run_until_complete(loop, t, NULL);
    assert_int_equal(calls, 1);
    cio_future_release(t);
    tu_loop_done(loop);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(create_and_run, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(creation_does_not_switch, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sleep_concurrently, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sleep_zero_interleaves, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(task_error, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_before_start_never_runs, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_during_sleep, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_during_yield_and_swallow, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_awaiting_task_cancels_future, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(await_future_result, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(future_cancelled_by_other, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_parent_cancels_awaited_child, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_self_delivered_at_next_suspension, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_right_before_return, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(all_tasks_and_names, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(defers_run_lifo_on_cancel, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(eager_start, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(eager_skips_ready_queue, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(run_cancels_leftovers, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(ensure_future_both_ways, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stack_size_option, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unretrieved_task_error_reported, tu_setup, tu_teardown),
    cmocka_unit_test(stack_overflow_names_the_task),
    cmocka_unit_test_setup_teardown(handoff_keeps_queue_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(handoff_to_task_that_suspends, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(handoff_respects_stack_size_and_batch, tu_setup, tu_teardown),
    cmocka_unit_test(overflow_after_handoff_names_the_right_task),
};

CIO_TEST_MAIN(tests)
