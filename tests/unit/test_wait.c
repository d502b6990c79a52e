/*
 * test_wait.c - wait, gather, as_completed, wait_for, shield, timeout
 * scopes and task groups, every timeout and cancellation path on the
 * virtual clock.
 */
#include <errno.h>

#include "cio_testutil.h"

#define V(x) ((void *)(intptr_t)(x))
#define I(p) ((int)(intptr_t)(p))

static int log_[64];
static int nlog;

/* Sleeps arg ms, then returns arg as result (or fails if arg < 0). */
static int func(void *arg, void **result)
{
    int ms = I(arg);
    int r = cio_sleep((ms < 0 ? -ms : ms) * CIO_MS);
    if (r < 0)
        return r;
    log_[nlog++] = ms;
    *result = arg;
    return ms < 0 ? -EIO : 0;
}

static cio_loop *g_loop;

/* Runs main_fn as a task on a fresh virtual-clock loop. */
static int run_main(cio_coro_fn main_fn, void *arg)
{
    g_loop = tu_loop_virtual();
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(main_fn, arg), NULL, &t),
                     0);
    int r = cio_loop_run_until_complete(g_loop, t, NULL);
    cio_future_release(t);
    tu_loop_done(g_loop);
    return r;
}

/* ---- wait ---- */

static int wait_all_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    /* The note: asyncio.wait([func(1), func(3)]) with coroutines. */
    cio_awaitable items[] = {CIO_AW_CORO(func, 30), CIO_AW_CORO(func, 10)};
    cio_future *done[2], *pend[2];
    size_t nd, np;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_wait(items, 2, -1, CIO_ALL_COMPLETED, done, &nd, pend,
                              &np),
                     0);
    assert_int_equal(cio_loop_time(g_loop) - t0, 30 * CIO_MS);
    assert_int_equal(nd, 2);
    assert_int_equal(np, 0);
    /* The done set is in completion order: 10 finished first. */
    void *r0, *r1;
    assert_int_equal(cio_future_result(done[0], &r0), 0);
    assert_int_equal(cio_future_result(done[1], &r1), 0);
    assert_int_equal(I(r0), 10);
    assert_int_equal(I(r1), 30);
    for (size_t i = 0; i < nd; i++)
        cio_future_release(done[i]);
    return 0;
}

static void wait_all_completed(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_all_main, NULL), 0);
}

static int wait_first_main(void *arg, void **result)
{
    (void)result;
    cio_return_when when = (cio_return_when)I(arg);
    cio_awaitable items[] = {CIO_AW_CORO(func, 50), CIO_AW_CORO(func, -20),
                             CIO_AW_CORO(func, 10)};
    cio_future *done[3], *pend[3];
    size_t nd, np;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_wait(items, 3, -1, when, done, &nd, pend, &np), 0);
    int64_t dt = cio_loop_time(g_loop) - t0;
    if (when == CIO_FIRST_COMPLETED) {
        assert_int_equal(dt, 10 * CIO_MS);
        assert_int_equal(nd, 1);
        assert_int_equal(np, 2);
    } else { /* FIRST_EXCEPTION: the failing one at 20 ms */
        assert_int_equal(dt, 20 * CIO_MS);
        assert_int_equal(nd, 2);
        assert_int_equal(np, 1);
        assert_int_equal(cio_future_error(done[1]), -EIO);
    }
    for (size_t i = 0; i < nd; i++)
        cio_future_release(done[i]);
    for (size_t i = 0; i < np; i++) {
        cio_future_cancel(pend[i], NULL); /* wait itself cancels nothing */
        cio_future_release(pend[i]);
    }
    return 0;
}

static void wait_first_completed_and_exception(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_first_main, V(CIO_FIRST_COMPLETED)), 0);
    assert_int_equal(run_main(wait_first_main, V(CIO_FIRST_EXCEPTION)), 0);
}

static int wait_timeout_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_awaitable items[] = {CIO_AW_CORO(func, 10), CIO_AW_CORO(func, 100)};
    cio_future *done[2], *pend[2];
    size_t nd, np;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_wait(items, 2, 40 * CIO_MS, CIO_ALL_COMPLETED, done,
                              &nd, pend, &np),
                     0);
    assert_int_equal(cio_loop_time(g_loop) - t0, 40 * CIO_MS);
    assert_int_equal(nd, 1);
    assert_int_equal(np, 1);
    assert_false(cio_future_done(pend[0])); /* not cancelled by wait */
    /* It goes on and finishes later. */
    assert_int_equal(cio_await(pend[0], NULL), 0);
    cio_future_release(done[0]);
    cio_future_release(pend[0]);
    return 0;
}

static void wait_timeout_leaves_pending(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_timeout_main, NULL), 0);
}

static int wait_cancelled_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_awaitable items[] = {CIO_AW_CORO(func, 100)};
    cio_future *done[1], *pend[1];
    size_t nd, np;
    int r = cio_wait(items, 1, -1, CIO_ALL_COMPLETED, done, &nd, pend, &np);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(np, 1);
    cio_future_cancel(pend[0], NULL);
    cio_future_release(pend[0]);
    return r;
}

static int cancel_cb(void *arg)
{
    cio_future_cancel(arg, NULL);
    return 0;
}

static void wait_cancelled(void **state)
{
    (void)state;
    g_loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(g_loop, CIO_CORO(wait_cancelled_main, NULL), NULL, &t);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, t, NULL);
    assert_int_equal(cio_loop_run_until_complete(g_loop, t, NULL), -ECANCELED);
    cio_future_release(t);
    tu_loop_done(g_loop);
}

static void wait_misuse(void **state)
{
    (void)state;
    cio_awaitable items[] = {CIO_AW_CORO(func, 1)};
    cio_future *d[1], *p[1];
    size_t nd, np;
    /* Outside a task. */
    assert_int_equal(cio_wait(items, 1, -1, CIO_ALL_COMPLETED, d, &nd, p, &np),
                     -EINVAL);
}

/* ---- gather ---- */

static int gather_main(void *arg, void **result)
{
    (void)result;
    int return_errors = I(arg);
    cio_awaitable items[] = {CIO_AW_CORO(func, 30), CIO_AW_CORO(func, -10),
                             CIO_AW_CORO(func, 20)};
    cio_future *g;
    assert_int_equal(cio_gather(g_loop, items, 3, return_errors, &g), 0);
    int64_t t0 = cio_loop_time(g_loop);
    int r = cio_await(g, NULL);
    void *res[3];
    int errs[3];
    if (!return_errors) {
        /* The first error propagates at once (10 ms)... */
        assert_int_equal(r, -EIO);
        assert_int_equal(cio_loop_time(g_loop) - t0, 10 * CIO_MS);
        assert_int_equal(cio_gather_results(g, res, errs, 3), -EAGAIN);
        cio_sleep(50 * CIO_MS); /* ...while the others keep running */
    } else {
        assert_int_equal(r, 0);
        assert_int_equal(cio_loop_time(g_loop) - t0, 30 * CIO_MS);
    }
    assert_int_equal(cio_gather_results(g, res, errs, 3), 0);
    /* Results in argument order, not completion order. */
    assert_int_equal(I(res[0]), 30);
    assert_null(res[1]);
    assert_int_equal(errs[1], -EIO);
    assert_int_equal(I(res[2]), 20);
    assert_int_equal(cio_gather_results(g, res, errs, 2), -EINVAL);
    cio_future_release(g);
    return 0;
}

static void gather_orders_results(void **state)
{
    (void)state;
    assert_int_equal(run_main(gather_main, V(0)), 0);
    assert_int_equal(run_main(gather_main, V(1)), 0);
}

static int gather_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    cio_awaitable items[] = {CIO_AW_CORO(func, 1000), CIO_AW_CORO(func, 2000)};
    cio_future *g;
    cio_gather(g_loop, items, 2, 0, &g);
    cio_sleep(CIO_MS);
    /* The note's gather(*all_tasks()).cancel(): True. */
    assert_int_equal(cio_future_cancel(g, NULL), 1);
    assert_int_equal(cio_await(g, NULL), -ECANCELED);
    assert_true(cio_future_cancelled(g));
    void *res[2];
    int errs[2];
    assert_int_equal(cio_gather_results(g, res, errs, 2), 0);
    assert_int_equal(errs[0], -ECANCELED);
    assert_int_equal(errs[1], -ECANCELED);
    assert_int_equal(nlog, 0);
    assert_int_equal(cio_future_cancel(g, NULL), 0);
    cio_future_release(g);
    return 0;
}

static void gather_cancel_cancels_children(void **state)
{
    (void)state;
    assert_int_equal(run_main(gather_cancel_main, NULL), 0);
}

static int gather_child_cancel_main(void *arg, void **result)
{
    (void)result;
    int return_errors = I(arg);
    cio_task *a;
    cio_task_create(g_loop, CIO_CORO(func, 50), NULL, &a);
    cio_awaitable items[] = {CIO_AW_FUTURE(a), CIO_AW_CORO(func, 10)};
    cio_future *g;
    cio_gather(g_loop, items, 2, return_errors, &g);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, a, NULL);
    int r = cio_await(g, NULL);
    if (return_errors) {
        /* The child's cancellation is one of the results. */
        assert_int_equal(r, 0);
        void *res[2];
        int errs[2];
        cio_gather_results(g, res, errs, 2);
        assert_int_equal(errs[0], -ECANCELED);
        assert_int_equal(errs[1], 0);
    } else {
        /* It propagates as an error, without the gather being cancelled. */
        assert_int_equal(r, -ECANCELED);
        assert_false(cio_future_cancelled(g));
        cio_sleep(20 * CIO_MS);
    }
    cio_future_release(g);
    cio_future_release(a);
    return 0;
}

static void gather_child_cancelled_by_other(void **state)
{
    (void)state;
    assert_int_equal(run_main(gather_child_cancel_main, V(0)), 0);
    assert_int_equal(run_main(gather_child_cancel_main, V(1)), 0);
}

static int awaits_gather(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_awaitable items[] = {CIO_AW_CORO(func, 1000), CIO_AW_CORO(func, 1000)};
    cio_future *g;
    cio_gather(g_loop, items, 2, 0, &g);
    int r = cio_await(g, NULL);
    cio_future_release(g);
    return r;
}

static void cancelling_awaiter_cancels_gather(void **state)
{
    (void)state;
    g_loop = tu_loop_virtual();
    nlog = 0;
    cio_task *t;
    cio_task_create(g_loop, CIO_CORO(awaits_gather, NULL), NULL, &t);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, t, NULL);
    assert_int_equal(cio_loop_run_until_complete(g_loop, t, NULL), -ECANCELED);
    assert_int_equal(cio_loop_all_tasks(g_loop, NULL, 0), 0); /* all gone */
    assert_int_equal(nlog, 0);
    cio_future_release(t);
    tu_loop_done(g_loop);
}

static void gather_empty_and_misuse(void **state)
{
    (void)state;
    cio_loop *loop = tu_loop_virtual();
    cio_future *g;
    assert_int_equal(cio_gather(loop, NULL, 0, 0, &g), 0);
    assert_true(cio_future_done(g));
    assert_int_equal(cio_gather_results(g, NULL, NULL, 0), 0);
    cio_future_release(g);
    cio_awaitable bad[] = {{NULL, {NULL, NULL}}};
    assert_int_equal(cio_gather(loop, bad, 1, 0, &g), -EINVAL);
    assert_null(g);
    cio_future *f;
    cio_future_new(loop, &f);
    assert_int_equal(cio_gather_results(f, NULL, NULL, 0), -EINVAL);
    cio_future_release(f);
    tu_loop_done(loop);
}

/* ---- as_completed ---- */

static int as_completed_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_awaitable items[] = {CIO_AW_CORO(func, 30), CIO_AW_CORO(func, 10),
                             CIO_AW_CORO(func, 20), CIO_AW_CORO(func, 500)};
    cio_as_completed *ac;
    assert_int_equal(cio_as_completed_new(g_loop, items, 4, 100 * CIO_MS, &ac),
                     0);
    int want[] = {10, 20, 30};
    cio_future *f;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cio_as_completed_next(ac, &f), 1);
        void *v;
        cio_future_result(f, &v);
        assert_int_equal(I(v), want[i]);
        cio_future_release(f);
    }
    /* The 500 ms one misses the 100 ms deadline. */
    assert_int_equal(cio_as_completed_next(ac, &f), -ETIMEDOUT);
    assert_int_equal(cio_loop_time(g_loop), 100 * CIO_MS);
    cio_as_completed_free(ac); /* releases, does not cancel */

    cio_awaitable two[] = {CIO_AW_CORO(func, 1), CIO_AW_CORO(func, 2)};
    assert_int_equal(cio_as_completed_new(g_loop, two, 2, -1, &ac), 0);
    assert_int_equal(cio_as_completed_next(ac, &f), 1);
    cio_future_release(f);
    assert_int_equal(cio_as_completed_next(ac, &f), 1);
    cio_future_release(f);
    assert_int_equal(cio_as_completed_next(ac, &f), 0); /* exhausted */
    cio_as_completed_free(ac);
    cio_sleep(CIO_SEC); /* let the leftover 500 ms task end */
    return 0;
}

static void as_completed_order_and_timeout(void **state)
{
    (void)state;
    assert_int_equal(run_main(as_completed_main, NULL), 0);
}

/* ---- wait_for and shield ---- */

static int stubborn_cleanup(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int r = cio_sleep(CIO_SEC);
    log_[nlog++] = r;
    cio_sleep(7 * CIO_MS); /* cleanup takes a while */
    log_[nlog++] = 1;
    return r;
}

static int wait_for_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    void *v;
    assert_int_equal(cio_wait_for(CIO_AW_CORO(func, 10), 50 * CIO_MS, &v), 0);
    assert_int_equal(I(v), 10);
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(
        cio_wait_for(CIO_AW_CORO(stubborn_cleanup, NULL), 20 * CIO_MS, &v),
        -ETIMEDOUT);
    /* -ETIMEDOUT only after the item finished its cleanup: 20 + 7 ms. */
    assert_int_equal(cio_loop_time(g_loop) - t0, 27 * CIO_MS);
    assert_int_equal(nlog, 3);
    assert_int_equal(log_[1], -ECANCELED);
    assert_int_equal(log_[2], 1);
    /* The timeout was withdrawn: the task is not left cancelled. */
    assert_int_equal(cio_task_cancelling(cio_current_task()), 0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    return 0;
}

static void wait_for_timeout_waits_for_cancellation(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_for_main, NULL), 0);
}

/* The caller of wait_for is cancelled 5 ms in, long before its 50 ms
 * timeout: the item must be cancelled too, and the caller must see
 * -ECANCELED (not -ETIMEDOUT) once the item has finished. */
static int wait_for_cancelled_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task *self = cio_current_task();
    void *v;

    /* A task item, with a cleanup that takes 7 ms. */
    nlog = 0;
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(stubborn_cleanup, NULL), NULL, &t),
        0);
    int64_t t0 = cio_loop_time(g_loop);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, self, NULL);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(t), 50 * CIO_MS, &v),
                     -ECANCELED);
    /* Returned only after the item's cleanup: 5 + 7 ms. */
    assert_int_equal(cio_loop_time(g_loop) - t0, 12 * CIO_MS);
    assert_int_equal(cio_task_state_get(t), CIO_TASK_CANCELLED);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0], -ECANCELED);
    assert_int_equal(log_[1], 1);
    /* An outside cancellation is not withdrawn as a timeout would be. */
    assert_int_equal(cio_task_cancelling(self), 1);
    assert_int_equal(cio_task_uncancel(self), 0);
    cio_future_release(t);

    /* A plain future: cancelled with the caller. */
    cio_future *f;
    assert_int_equal(cio_future_new(g_loop, &f), 0);
    t0 = cio_loop_time(g_loop);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, self, NULL);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(f), 50 * CIO_MS, &v),
                     -ECANCELED);
    assert_int_equal(cio_loop_time(g_loop) - t0, 5 * CIO_MS);
    assert_true(cio_future_done(f));
    assert_true(cio_future_cancelled(f));
    assert_int_equal(cio_task_uncancel(self), 0);
    cio_future_release(f);

    /* A coroutine item (wrapped as a task inside wait_for). */
    nlog = 0;
    t0 = cio_loop_time(g_loop);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, self, NULL);
    assert_int_equal(
        cio_wait_for(CIO_AW_CORO(stubborn_cleanup, NULL), 50 * CIO_MS, &v),
        -ECANCELED);
    assert_int_equal(cio_loop_time(g_loop) - t0, 12 * CIO_MS);
    assert_int_equal(nlog, 2);
    assert_int_equal(log_[0], -ECANCELED);
    assert_int_equal(cio_task_uncancel(self), 0);

    /* Nothing is left behind: the 50 ms timeouts were withdrawn. */
    assert_int_equal(cio_loop_all_tasks(g_loop, NULL, 0), 1);
    assert_int_equal(cio_sleep(100 * CIO_MS), 0);
    return 0;
}

static void wait_for_caller_cancelled_cancels_item(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_for_cancelled_main, NULL), 0);
}

static int shield_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    cio_task *inner;
    cio_task_create(g_loop, CIO_CORO(func, 30), NULL, &inner);
    cio_future *outer;
    assert_int_equal(cio_shield(inner, &outer), 0);
    /* A wait_for on the shield times out; the inner work goes on. */
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(outer), 10 * CIO_MS, NULL),
                     -ETIMEDOUT);
    assert_true(cio_future_cancelled(outer));
    assert_false(cio_future_done(inner));
    void *v;
    assert_int_equal(cio_await(inner, &v), 0);
    assert_int_equal(I(v), 30);
    cio_future_release(outer);
    /* A shield of a finished future mirrors it. */
    assert_int_equal(cio_shield(inner, &outer), 0);
    assert_int_equal(cio_await(outer, &v), 0);
    assert_int_equal(I(v), 30);
    cio_future_release(outer);
    cio_future_release(inner);
    return 0;
}

static void shield_protects_inner(void **state)
{
    (void)state;
    assert_int_equal(run_main(shield_main, NULL), 0);
}

/* ---- timeout scopes ---- */

static int scopes_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout outer, inner;
    /* Inner expires first: only the inner scope reports -ETIMEDOUT. */
    cio_timeout_begin(&outer, 100 * CIO_MS);
    cio_timeout_begin(&inner, 10 * CIO_MS);
    int r = cio_sleep(50 * CIO_MS);
    assert_int_equal(r, -ECANCELED);
    assert_true(cio_timeout_expired(&inner));
    assert_int_equal(cio_timeout_end(&inner, r), -ETIMEDOUT);
    r = cio_sleep(20 * CIO_MS); /* the outer scope is still fine */
    assert_int_equal(r, 0);
    assert_int_equal(cio_timeout_end(&outer, r), 0);

    /* Outer expires while inside the inner: the inner passes -ECANCELED
     * through, the outer turns it into -ETIMEDOUT. */
    cio_timeout_begin(&outer, 10 * CIO_MS);
    cio_timeout_begin(&inner, 100 * CIO_MS);
    r = cio_sleep(50 * CIO_MS);
    r = cio_timeout_end(&inner, r);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(cio_timeout_end(&outer, r), -ETIMEDOUT);

    /* Rescheduling: push the deadline out, then in. */
    int64_t now = cio_loop_time(g_loop);
    cio_timeout_begin(&outer, 5 * CIO_MS);
    assert_int_equal(cio_timeout_reschedule(&outer, now + 30 * CIO_MS), 0);
    assert_int_equal(cio_timeout_when(&outer), now + 30 * CIO_MS);
    assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    r = cio_sleep(20 * CIO_MS);
    assert_int_equal(cio_timeout_end(&outer, r), -ETIMEDOUT);
    assert_int_equal(cio_loop_time(g_loop) - now, 30 * CIO_MS);

    /* No deadline: never fires; reschedule from none. */
    cio_timeout_begin(&outer, -1);
    assert_int_equal(cio_timeout_when(&outer), INT64_MAX);
    assert_int_equal(cio_sleep(CIO_SEC), 0);
    assert_int_equal(cio_timeout_end(&outer, 0), 0);
    assert_int_equal(cio_task_cancelling(cio_current_task()), 0);
    return 0;
}

static void timeout_scopes_nest(void **state)
{
    (void)state;
    assert_int_equal(run_main(scopes_main, NULL), 0);
}

static int scope_vs_outside_cancel(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout to;
    cio_timeout_begin(&to, 100 * CIO_MS);
    int r = cio_sleep(CIO_SEC); /* cancelled from outside at 5 ms */
    r = cio_timeout_end(&to, r);
    assert_int_equal(r, -ECANCELED); /* not a timeout */
    return r;
}

static void outside_cancel_is_not_timeout(void **state)
{
    (void)state;
    g_loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(g_loop, CIO_CORO(scope_vs_outside_cancel, NULL), NULL, &t);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, t, NULL);
    assert_int_equal(cio_loop_run_until_complete(g_loop, t, NULL), -ECANCELED);
    cio_future_release(t);
    tu_loop_done(g_loop);
    cio_timeout to;
    assert_int_equal(cio_timeout_begin(&to, CIO_MS), -EINVAL); /* no task */
}

/* ---- wait and as_completed on the set of futures (issue 15) ---- */

static int set_result_cb(void *arg)
{
    cio_future_set_result(arg, V(5));
    return 0;
}

static int wait_set_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_future *a, *b;
    assert_int_equal(cio_future_new(g_loop, &a), 0);
    assert_int_equal(cio_future_new(g_loop, &b), 0);
    cio_loop_call_later(g_loop, 5 * CIO_MS, set_result_cb, a, NULL);
    /* [A, A, A]: one done entry. */
    cio_awaitable aaa[] = {CIO_AW_FUTURE(a), CIO_AW_FUTURE(a),
                           CIO_AW_FUTURE(a)};
    cio_future *done[3] = {NULL}, *pend[3] = {NULL};
    size_t nd = 9, np = 9;
    assert_int_equal(cio_wait(aaa, 3, -1, CIO_ALL_COMPLETED, done, &nd, pend,
                              &np),
                     0);
    assert_int_equal(nd, 1);
    assert_int_equal(np, 0);
    assert_ptr_equal(done[0], a);
    cio_future_release(done[0]);
    /* [A, B, A, B] with a timeout: A done once, B pending once. */
    cio_awaitable abab[] = {CIO_AW_FUTURE(a), CIO_AW_FUTURE(b),
                            CIO_AW_FUTURE(a), CIO_AW_FUTURE(b)};
    cio_future *done4[4], *pend4[4];
    assert_int_equal(cio_wait(abab, 4, CIO_MS, CIO_ALL_COMPLETED, done4, &nd,
                              pend4, &np),
                     0);
    assert_int_equal(nd, 1);
    assert_int_equal(np, 1);
    assert_ptr_equal(done4[0], a);
    assert_ptr_equal(pend4[0], b);
    cio_future_release(done4[0]);
    cio_future_release(pend4[0]);
    /* Many repeats (the sorting path): still the set {A, B}. */
    cio_awaitable many[40];
    for (int i = 0; i < 40; i++)
        many[i] = CIO_AW_FUTURE(i % 3 ? b : a);
    cio_future *dm[40], *pm[40];
    assert_int_equal(cio_wait(many, 40, 0, CIO_ALL_COMPLETED, dm, &nd, pm,
                              &np),
                     0);
    assert_int_equal(nd, 1);
    assert_int_equal(np, 1);
    assert_ptr_equal(dm[0], a);
    assert_ptr_equal(pm[0], b);
    cio_future_release(dm[0]);
    cio_future_release(pm[0]);
    cio_future_release(a);
    cio_future_release(b);
    return 0;
}

static void wait_same_future_counted_once(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_set_main, NULL), 0);
}

static int as_completed_set_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_future *a, *b;
    assert_int_equal(cio_future_new(g_loop, &a), 0);
    assert_int_equal(cio_future_new(g_loop, &b), 0);
    cio_loop_call_later(g_loop, 5 * CIO_MS, set_result_cb, a, NULL);
    cio_loop_call_later(g_loop, 10 * CIO_MS, set_result_cb, b, NULL);
    /* [A, A, B] yields two items: A, then B. */
    cio_awaitable aab[] = {CIO_AW_FUTURE(a), CIO_AW_FUTURE(a),
                           CIO_AW_FUTURE(b)};
    cio_as_completed *ac;
    assert_int_equal(cio_as_completed_new(g_loop, aab, 3, -1, &ac), 0);
    cio_future *f;
    assert_int_equal(cio_as_completed_next(ac, &f), 1);
    assert_ptr_equal(f, a);
    cio_future_release(f);
    assert_int_equal(cio_as_completed_next(ac, &f), 1);
    assert_ptr_equal(f, b);
    cio_future_release(f);
    assert_int_equal(cio_as_completed_next(ac, &f), 0);
    cio_as_completed_free(ac);
    /* Both done already, given five times over: still two items. */
    cio_awaitable five[] = {CIO_AW_FUTURE(b), CIO_AW_FUTURE(a),
                            CIO_AW_FUTURE(b), CIO_AW_FUTURE(a),
                            CIO_AW_FUTURE(b)};
    assert_int_equal(cio_as_completed_new(g_loop, five, 5, 0, &ac), 0);
    assert_int_equal(cio_as_completed_next(ac, &f), 1);
    cio_future_release(f);
    assert_int_equal(cio_as_completed_next(ac, &f), 1);
    cio_future_release(f);
    assert_int_equal(cio_as_completed_next(ac, &f), 0);
    cio_as_completed_free(ac);
    cio_future_release(a);
    cio_future_release(b);
    return 0;
}

static void as_completed_same_future_yielded_once(void **state)
{
    (void)state;
    assert_int_equal(run_main(as_completed_set_main, NULL), 0);
}

/* ---- asyncio's timeout semantics, exactly (issue 15) ---- */

static int body_ran;

static int mark_body(void *arg, void **result)
{
    (void)arg;
    body_ran++;
    *result = V(77);
    return 0;
}

/* asyncio 3.12+: wait_for(coro, 0) wraps the coroutine in a task and
 * cancels it before it ever runs; the body never executes. */
static int wait_for_zero_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task *self = cio_current_task();
    void *v = V(1);
    body_ran = 0;
    assert_int_equal(cio_wait_for(CIO_AW_CORO(mark_body, NULL), 0, &v),
                     -ETIMEDOUT);
    assert_null(v);
    assert_int_equal(cio_sleep(CIO_MS), 0); /* let anything queued run */
    assert_int_equal(body_ran, 0);
    assert_int_equal(cio_task_cancelling(self), 0);

    /* A task not started yet, passed as a future: cancelled, never run. */
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(mark_body, NULL), NULL, &t), 0);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(t), 0, &v), -ETIMEDOUT);
    assert_true(cio_future_cancelled(t));
    assert_int_equal(body_ran, 0);
    cio_future_release(t);

    /* A pending plain future: cancelled, -ETIMEDOUT, without waiting. */
    cio_future *f;
    assert_int_equal(cio_future_new(g_loop, &f), 0);
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(f), 0, &v), -ETIMEDOUT);
    assert_true(cio_future_cancelled(f));
    assert_int_equal(cio_loop_time(g_loop), t0);
    cio_future_release(f);
    assert_int_equal(cio_task_cancelling(self), 0);

    /* Cancelled before the call: the caller's -ECANCELED comes out (not
     * a timeout), delivered once, and the body still never runs. */
    cio_task_cancel(self, NULL);
    assert_int_equal(cio_wait_for(CIO_AW_CORO(mark_body, NULL), 0, &v),
                     -ECANCELED);
    assert_int_equal(cio_task_uncancel(self), 0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(body_ran, 0);
    return 0;
}

static void wait_for_zero_never_runs_body(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_for_zero_main, NULL), 0);
}

/* Ignores a cancellation of its sleep, cleans up for 3 ms, returns 99. */
static int swallow(void *arg, void **result)
{
    (void)arg;
    cio_sleep(CIO_SEC);
    cio_sleep(3 * CIO_MS);
    *result = V(99);
    return 0;
}

static int wait_for_zero_done_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    void *v = NULL;
    /* A future already done: its result, not a timeout. */
    cio_future *f;
    assert_int_equal(cio_future_new(g_loop, &f), 0);
    assert_int_equal(cio_future_set_result(f, V(42)), 0);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(f), 0, &v), 0);
    assert_int_equal(I(v), 42);
    cio_future_release(f);
    /* A finished task: likewise; an error comes back as the error. */
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(func, 1), NULL, &t), 0);
    assert_int_equal(cio_await(t, NULL), 0);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(t), 0, &v), 0);
    assert_int_equal(I(v), 1);
    cio_future_release(t);
    assert_int_equal(cio_future_new(g_loop, &f), 0);
    assert_int_equal(cio_future_set_error(f, -EIO, NULL), 0);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(f), 0, &v), -EIO);
    cio_future_release(f);
    /* A started task that swallows the cancellation: its result wins
     * (asyncio returns fut.result() after cancelling). */
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(swallow, NULL), NULL, &t), 0);
    assert_int_equal(cio_sleep(0), 0); /* t is now inside its sleep */
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(t), 0, &v), 0);
    assert_int_equal(I(v), 99);
    assert_int_equal(cio_loop_time(g_loop) - t0, 3 * CIO_MS);
    cio_future_release(t);
    return 0;
}

static void wait_for_zero_done_future_returns_result(void **state)
{
    (void)state;
    assert_int_equal(run_main(wait_for_zero_done_main, NULL), 0);
}

/* asyncio queues a timeout whose deadline has passed with call_soon: the
 * very next suspension, even a sleep(0), is cancelled. */
static int timeout_past_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout to;
    assert_int_equal(cio_timeout_begin(&to, 0), 0);
    int r = cio_sleep(0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(cio_timeout_end(&to, r), -ETIMEDOUT);
    assert_true(cio_timeout_expired(&to));

    int64_t now = cio_loop_time(g_loop);
    assert_int_equal(cio_timeout_begin_at(&to, now - 5 * CIO_MS), 0);
    r = cio_sleep(0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(cio_timeout_end(&to, r), -ETIMEDOUT);

    /* Rescheduled into the past: the same. */
    assert_int_equal(cio_timeout_begin(&to, CIO_SEC), 0);
    assert_int_equal(cio_timeout_reschedule(&to, now), 0);
    r = cio_sleep(0);
    assert_int_equal(r, -ECANCELED);
    assert_int_equal(cio_timeout_end(&to, r), -ETIMEDOUT);
    assert_int_equal(cio_loop_time(g_loop), now); /* no time passed */
    assert_int_equal(cio_task_cancelling(cio_current_task()), 0);
    assert_int_equal(cio_sleep(0), 0);
    return 0;
}

static void timeout_past_deadline_cancels_next_suspension(void **state)
{
    (void)state;
    assert_int_equal(run_main(timeout_past_main, NULL), 0);
}

static int expired_after_end_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout to;
    assert_int_equal(cio_timeout_begin(&to, 5 * CIO_MS), 0);
    assert_false(cio_timeout_expired(&to));
    int r = cio_sleep(CIO_SEC);
    assert_int_equal(cio_timeout_end(&to, r), -ETIMEDOUT);
    assert_true(cio_timeout_expired(&to)); /* still true after the end */
    assert_true(cio_timeout_expired(&to));
    /* A scope that did not expire reads 0 after its end. */
    assert_int_equal(cio_timeout_begin(&to, 5 * CIO_MS), 0);
    assert_int_equal(cio_timeout_end(&to, cio_sleep(CIO_MS)), 0);
    assert_false(cio_timeout_expired(&to));
    return 0;
}

static void timeout_expired_stays_true_after_end(void **state)
{
    (void)state;
    assert_int_equal(run_main(expired_after_end_main, NULL), 0);
}

static int reenter_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_timeout to, inner;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_timeout_begin(&to, 10 * CIO_MS), 0);
    /* Entering it again while open is refused and changes nothing. */
    assert_int_equal(cio_timeout_begin(&to, CIO_SEC), -EINVAL);
    assert_int_equal(cio_timeout_begin_at(&to, t0 + CIO_SEC), -EINVAL);
    assert_int_equal(cio_timeout_when(&to), t0 + 10 * CIO_MS);
    /* Also while a nested scope is open inside it. */
    assert_int_equal(cio_timeout_begin(&inner, CIO_SEC), 0);
    assert_int_equal(cio_timeout_begin(&to, 2 * CIO_SEC), -EINVAL);
    assert_int_equal(cio_timeout_begin(&inner, 2 * CIO_SEC), -EINVAL);
    int r = cio_sleep(CIO_SEC);
    r = cio_timeout_end(&inner, r);
    assert_int_equal(r, -ECANCELED);
    /* The first arming fired at 10 ms, as armed. */
    assert_int_equal(cio_timeout_end(&to, r), -ETIMEDOUT);
    assert_int_equal(cio_loop_time(g_loop) - t0, 10 * CIO_MS);
    /* Once ended, the storage may be begun again. */
    assert_int_equal(cio_timeout_begin(&to, CIO_MS), 0);
    assert_int_equal(cio_timeout_end(&to, 0), 0);
    assert_int_equal(cio_task_cancelling(cio_current_task()), 0);
    return 0;
}

static void timeout_reenter_open_scope_refused(void **state)
{
    (void)state;
    assert_int_equal(run_main(reenter_main, NULL), 0);
}

/* ---- task groups ---- */

static int group_ok_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    cio_task_group *g;
    assert_int_equal(cio_task_group_new(&g), 0);
    cio_task *t;
    assert_int_equal(cio_task_group_spawn(g, CIO_CORO(func, 20), NULL, &t), 0);
    cio_task_group_spawn(g, CIO_CORO(func, 10), NULL, NULL);
    assert_int_equal(cio_task_group_wait(g, 0), 0);
    assert_int_equal(nlog, 2); /* waited for both */
    assert_true(cio_future_done(t));
    assert_int_equal(cio_task_group_spawn(g, CIO_CORO(func, 1), NULL, NULL),
                     -EINVAL); /* closed */
    cio_future_release(t);
    cio_task_group_free(g);
    return 0;
}

static void group_waits_for_all(void **state)
{
    (void)state;
    assert_int_equal(run_main(group_ok_main, NULL), 0);
}

static int group_fail_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    cio_task_group *g;
    cio_task_group_new(&g);
    cio_task *slow;
    cio_task_group_spawn(g, CIO_CORO(func, 1000), NULL, &slow);
    cio_task_group_spawn(g, CIO_CORO(func, -10), NULL, NULL);
    cio_task_group_spawn(g, CIO_CORO(func, -10), NULL, NULL);
    /* The body is interrupted by the group when a child fails. */
    int r = cio_sleep(CIO_SEC);
    assert_int_equal(r, -ECANCELED);
    int64_t t = cio_loop_time(g_loop);
    assert_int_equal(t, 10 * CIO_MS);
    r = cio_task_group_wait(g, r);
    assert_int_equal(r, CIO_EGROUP);
    int errs[4];
    assert_int_equal(cio_task_group_errors(g, errs, 4), 2);
    assert_int_equal(errs[0], -EIO);
    assert_int_equal(errs[1], -EIO);
    assert_true(cio_future_cancelled(slow)); /* sibling cancelled */
    /* The group's own cancellation of the parent was withdrawn. */
    assert_int_equal(cio_task_cancelling(cio_current_task()), 0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    cio_future_release(slow);
    cio_task_group_free(g);
    return 0;
}

static void group_first_error_cancels_siblings(void **state)
{
    (void)state;
    assert_int_equal(run_main(group_fail_main, NULL), 0);
}

static int group_parent_cancelled(void *arg, void **result)
{
    (void)arg;
    (void)result;
    nlog = 0;
    cio_task_group *g;
    cio_task_group_new(&g);
    cio_task_group_spawn(g, CIO_CORO(stubborn_cleanup, NULL), NULL, NULL);
    cio_task_group_spawn(g, CIO_CORO(stubborn_cleanup, NULL), NULL, NULL);
    int r = cio_task_group_wait(g, 0); /* cancelled at 5 ms while waiting */
    assert_int_equal(r, -ECANCELED);
    /* Children were cancelled and awaited: both cleanups ran. */
    assert_int_equal(nlog, 4);
    assert_int_equal(cio_loop_time(g_loop), 12 * CIO_MS);
    cio_task_group_free(g);
    return r;
}

static void group_parent_cancel_cancels_children(void **state)
{
    (void)state;
    g_loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(g_loop, CIO_CORO(group_parent_cancelled, NULL), NULL, &t);
    cio_loop_call_later(g_loop, 5 * CIO_MS, cancel_cb, t, NULL);
    assert_int_equal(cio_loop_run_until_complete(g_loop, t, NULL), -ECANCELED);
    cio_future_release(t);
    tu_loop_done(g_loop);
}

static int group_body_error(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_task_group *g;
    cio_task_group_new(&g);
    cio_task *c;
    cio_task_group_spawn(g, CIO_CORO(func, 1000), NULL, &c);
    /* The block itself fails: children are cancelled, error reported. */
    assert_int_equal(cio_task_group_wait(g, -EPROTO), CIO_EGROUP);
    int e;
    assert_int_equal(cio_task_group_errors(g, &e, 1), 1);
    assert_int_equal(e, -EPROTO);
    assert_true(cio_future_cancelled(c));
    cio_future_release(c);
    cio_task_group_free(g);
    return 0;
}

/* Python 3.13: an outside cancel() arriving while a child fails is not
 * swallowed by the exception group: the parent is uncancelled and
 * re-cancelled, so its next await ends at once with -ECANCELED. */
static int cancel_task_cb(cio_future *f, void *arg)
{
    (void)f;
    cio_task_cancel(arg, NULL);
    return 0;
}

static int group_ext_cancel_body(void *arg, void **result)
{
    (void)result;
    int in_wait = I(arg);
    cio_task *self = cio_current_task();
    cio_task_group *g;
    assert_int_equal(cio_task_group_new(&g), 0);
    cio_task *bad;
    cio_task_group_spawn(g, CIO_CORO(func, -5), NULL, &bad); /* -EIO, 5 ms */
    cio_task_group_spawn(g, CIO_CORO(func, 1000), NULL, NULL);
    /* Runs right after the group has seen the failure, before the parent
     * gets to run: the outside cancel() lands in that window. */
    cio_future_add_done_callback(bad, cancel_task_cb, self);
    cio_future_release(bad);
    int r = 0;
    if (!in_wait)
        r = cio_sleep(CIO_SEC); /* the block: interrupted at 5 ms */
    r = cio_task_group_wait(g, r);
    assert_int_equal(r, CIO_EGROUP);
    int e;
    assert_int_equal(cio_task_group_errors(g, &e, 1), 1);
    assert_int_equal(e, -EIO);
    cio_task_group_free(g);
    assert_int_equal(cio_task_cancelling(self), 1);
    int64_t t0 = cio_loop_time(g_loop);
    r = cio_sleep(CIO_SEC);
    assert_int_equal(r, -ECANCELED); /* at once, not after a second */
    assert_int_equal(cio_loop_time(g_loop), t0);
    assert_int_equal(cio_task_cancelling(self), 1);
    return r;
}

static void group_outside_cancel_not_swallowed_by_child_error(void **state)
{
    (void)state;
    for (int in_wait = 0; in_wait < 2; in_wait++) {
        g_loop = tu_loop_virtual();
        cio_task *t;
        cio_task_create(g_loop, CIO_CORO(group_ext_cancel_body, V(in_wait)),
                        NULL, &t);
        assert_int_equal(cio_loop_run_until_complete(g_loop, t, NULL),
                         -ECANCELED);
        assert_int_equal(cio_loop_time(g_loop), 5 * CIO_MS);
        cio_future_release(t);
        tu_loop_done(g_loop);
    }
}

static void group_block_error(void **state)
{
    (void)state;
    assert_int_equal(run_main(group_body_error, NULL), 0);
}

static void group_misuse(void **state)
{
    (void)state;
    cio_task_group *g = (cio_task_group *)1;
    assert_int_equal(cio_task_group_new(&g), -EINVAL); /* outside a task */
    assert_null(g);
    assert_int_equal(cio_task_group_wait(NULL, 0), -EINVAL);
    assert_int_equal(cio_task_group_spawn(NULL, CIO_CORO(func, 1), NULL, NULL),
                     -EINVAL);
    cio_task_group_free(NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(wait_all_completed, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_first_completed_and_exception, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_timeout_leaves_pending, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_cancelled, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(gather_orders_results, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(gather_cancel_cancels_children, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(gather_child_cancelled_by_other, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancelling_awaiter_cancels_gather, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(gather_empty_and_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(as_completed_order_and_timeout, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_for_timeout_waits_for_cancellation, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_for_caller_cancelled_cancels_item, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(shield_protects_inner, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timeout_scopes_nest, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(outside_cancel_is_not_timeout, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_same_future_counted_once, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(as_completed_same_future_yielded_once, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_for_zero_never_runs_body, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(wait_for_zero_done_future_returns_result, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timeout_past_deadline_cancels_next_suspension, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timeout_expired_stays_true_after_end, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timeout_reenter_open_scope_refused, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(group_waits_for_all, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(group_first_error_cancels_siblings, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(group_parent_cancel_cancels_children, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(group_block_error, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(group_outside_cancel_not_swallowed_by_child_error, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(group_misuse, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
