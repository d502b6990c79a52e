/*
 * test_sync.c - Lock, Event, Condition, Semaphore, BoundedSemaphore and
 * Barrier: FIFO wake-up, every cancellation race (cancelled while
 * waiting; granted, then cancelled before running), deadlines through
 * timeout scopes, and misuse (-EINVAL, -EBUSY, -EOVERFLOW), all on the
 * virtual clock with the counting allocator.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cio_testutil_task.h"

/* ====================================================================
 * Lock
 * ==================================================================== */

static cio_lock lk;

static void lock_basics(void **state)
{
    (void)state;
    cio_lock l;
    assert_int_equal(cio_lock_init(&l), 0);
    assert_int_equal(cio_lock_locked(&l), 0);
    assert_int_equal(cio_lock_try_acquire(&l), 0);
    assert_int_equal(cio_lock_locked(&l), 1);
    assert_int_equal(cio_lock_try_acquire(&l), -EAGAIN);
    assert_int_equal(cio_lock_destroy(&l), -EBUSY); /* locked */
    assert_int_equal(cio_lock_release(&l), 0);
    /* asyncio: RuntimeError('Lock is not acquired.') */
    assert_int_equal(cio_lock_release(&l), -EINVAL);
    assert_int_equal(cio_lock_destroy(&l), 0);
    /* Destroyed, or never initialised: refused, never a crash. */
    assert_int_equal(cio_lock_try_acquire(&l), -EINVAL);
    cio_lock zero = {{0}};
    assert_int_equal(cio_lock_release(&zero), -EINVAL);
    assert_int_equal(cio_lock_locked(&zero), -EINVAL);
    assert_int_equal(cio_lock_init(NULL), -EINVAL);
    assert_int_equal(cio_lock_locked(NULL), -EINVAL);
    assert_int_equal(cio_lock_destroy(NULL), -EINVAL);
    /* Outside a task: acquire may suspend, so it is refused. */
    assert_int_equal(cio_lock_init(&l), 0);
    assert_int_equal(cio_lock_acquire(&l), -EINVAL);
    assert_int_equal(cio_lock_acquire(NULL), -EINVAL);
    assert_int_equal(cio_lock_locked(&l), 0);
    assert_int_equal(cio_lock_destroy(&l), 0);
}

/* Takes the lock, logs id, holds it 1 ms, logs -id, releases. */
static int lock_worker(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    int r = cio_lock_acquire(&lk);
    if (r < 0) {
        rec(100 + id); /* did not get it */
        return r;
    }
    rec(id);
    cio_sleep(CIO_MS);
    rec(-id);
    return cio_lock_release(&lk);
}

static int lock_fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_lock_init(&lk), 0);
    assert_int_equal(cio_lock_acquire(&lk), 0); /* uncontended: no wait */
    cio_task *w[5];
    for (int i = 0; i < 5; i++)
        w[i] = spawn(lock_worker, (void *)(intptr_t)(i + 1));
    cio_sleep(CIO_MS); /* all five are queued now, in order */
    assert_int_equal(cio_lock_try_acquire(&lk), -EAGAIN);
    assert_int_equal(cio_lock_destroy(&lk), -EBUSY);
    assert_int_equal(cio_lock_release(&lk), 0);
    /* Handed to worker 1: a newcomer may not overtake the queue. */
    assert_int_equal(cio_lock_locked(&lk), 1);
    assert_int_equal(cio_lock_try_acquire(&lk), -EAGAIN);
    for (int i = 0; i < 5; i++)
        assert_int_equal(finish(w[i]), 0);
    int want[] = {1, -1, 2, -2, 3, -3, 4, -4, 5, -5};
    expect_log(want, 10);
    assert_int_equal(cio_lock_locked(&lk), 0);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(lock_fifo, lock_fifo_main)

static int lock_cancel_waiting_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    cio_lock_acquire(&lk);
    cio_task *a = spawn(lock_worker, (void *)1);
    cio_task *b = spawn(lock_worker, (void *)2);
    cio_task *c = spawn(lock_worker, (void *)3);
    cio_sleep(CIO_MS);
    cio_task_cancel(b, NULL); /* b leaves the queue at once */
    cio_sleep(CIO_MS);
    assert_int_equal(cio_lock_release(&lk), 0);
    assert_int_equal(finish(a), 0);
    assert_int_equal(finish(b), -ECANCELED);
    assert_int_equal(finish(c), 0);
    int want[] = {102, 1, -1, 3, -3};
    expect_log(want, 5);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(lock_cancel_waiting, lock_cancel_waiting_main)

/* The lock is released to a waiter that is cancelled in the same
 * iteration, before it runs: it must go on to the next waiter. */
static int lock_cancel_after_grant_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    cio_lock_acquire(&lk);
    cio_task *a = spawn(lock_worker, (void *)1);
    cio_task *b = spawn(lock_worker, (void *)2);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_lock_release(&lk), 0); /* granted to a */
    assert_int_equal(cio_task_cancel(a, NULL), 1);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), 0);
    int want[] = {101, 2, -2};
    expect_log(want, 3);
    assert_int_equal(cio_lock_locked(&lk), 0);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(lock_cancel_after_grant, lock_cancel_after_grant_main)

/* Same race with the last waiter: the lock must end up free. */
static int lock_cancel_last_after_grant_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    cio_lock_acquire(&lk);
    cio_task *a = spawn(lock_worker, (void *)1);
    cio_sleep(CIO_MS);
    cio_lock_release(&lk);
    cio_task_cancel(a, NULL);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(cio_lock_locked(&lk), 0);
    assert_int_equal(cio_lock_try_acquire(&lk), 0);
    cio_lock_release(&lk);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(lock_cancel_last_after_grant, lock_cancel_last_after_grant_main)

/* A task cancelled before it reaches acquire gets -ECANCELED there
 * without ever being queued. */
static int lock_cancel_pending_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    cio_lock_acquire(&lk);
    cio_task *me = cio_current_task();
    cio_task_cancel(me, NULL); /* delivered at the next suspension */
    assert_int_equal(cio_lock_acquire(&lk), -ECANCELED);
    assert_int_equal(cio_task_uncancel(me), 0);
    assert_int_equal(cio_lock_release(&lk), 0);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(lock_cancel_pending, lock_cancel_pending_main)

/* ====================================================================
 * Event
 * ==================================================================== */

static cio_event ev;

static int event_waiter(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    int r = cio_event_wait(&ev);
    rec(r == 0 ? id : 100 + id);
    return r;
}

static int event_fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_event_init(&ev), 0);
    assert_int_equal(cio_event_is_set(&ev), 0);
    cio_task *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = spawn(event_waiter, (void *)(intptr_t)(i + 1));
    cio_sleep(5 * CIO_MS);
    assert_int_equal(nlog, 0);
    assert_int_equal(cio_event_destroy(&ev), -EBUSY);
    assert_int_equal(cio_event_set(&ev), 0);
    /* Cleared before the waiters run: they were woken and stay woken. */
    assert_int_equal(cio_event_clear(&ev), 0);
    assert_int_equal(cio_event_destroy(&ev), -EBUSY); /* not yet returned */
    for (int i = 0; i < 3; i++)
        assert_int_equal(finish(w[i]), 0);
    int want[] = {1, 2, 3};
    expect_log(want, 3);
    assert_int_equal(now_ms(), 5);
    /* Set: wait returns at once. */
    cio_event_set(&ev);
    assert_int_equal(cio_event_is_set(&ev), 1);
    assert_int_equal(cio_event_wait(&ev), 0);
    assert_int_equal(cio_event_destroy(&ev), 0);
    return 0;
}

TU_MAIN_CASE(event_fifo, event_fifo_main)

/* set and cancel in the same iteration, in both orders: the cancelled
 * waiter returns -ECANCELED, every other waiter is woken. */
static int event_set_while_cancelling_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_event_init(&ev);
    cio_task *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = spawn(event_waiter, (void *)(intptr_t)(i + 1));
    cio_sleep(CIO_MS);
    cio_task_cancel(w[1], NULL); /* before set: leaves the queue */
    cio_event_set(&ev);
    cio_task_cancel(w[2], NULL); /* after set, before it runs */
    assert_int_equal(finish(w[0]), 0);
    assert_int_equal(finish(w[1]), -ECANCELED);
    assert_int_equal(finish(w[2]), -ECANCELED);
    assert_int_equal(finish(w[3]), 0);
    int want[] = {102, 1, 103, 4};
    expect_log(want, 4);
    assert_int_equal(cio_event_destroy(&ev), 0);
    return 0;
}

TU_MAIN_CASE(event_set_while_cancelling, event_set_while_cancelling_main)

static int set_event_cb(void *arg)
{
    return cio_event_set(arg);
}

static void event_misuse(void **state)
{
    (void)state;
    cio_event e;
    assert_int_equal(cio_event_init(NULL), -EINVAL);
    assert_int_equal(cio_event_init(&e), 0);
    assert_int_equal(cio_event_wait(&e), -EINVAL); /* outside a task */
    assert_int_equal(cio_event_wait(NULL), -EINVAL);
    assert_int_equal(cio_event_set(NULL), -EINVAL);
    assert_int_equal(cio_event_clear(NULL), -EINVAL);
    assert_int_equal(cio_event_is_set(NULL), -EINVAL);
    assert_int_equal(cio_event_destroy(&e), 0);
    assert_int_equal(cio_event_set(&e), -EINVAL); /* destroyed */
    /* set from a plain loop callback wakes a task. */
    nlog = 0;
    cio_event_init(&ev);
    cio_loop *loop = tu_loop_virtual();
    cio_task *t;
    cio_task_create(loop, CIO_CORO(event_waiter, 7), NULL, &t);
    cio_loop_call_later(loop, 3 * CIO_MS, set_event_cb, &ev, NULL);
    assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
    assert_int_equal(cio_loop_time(loop), 3 * CIO_MS);
    cio_future_release(t);
    tu_loop_done(loop);
    assert_int_equal(cio_event_destroy(&ev), 0);
}

/* ====================================================================
 * Condition
 * ==================================================================== */

static cio_cond cv;
static int items;

static int cond_waiter(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    assert_int_equal(cio_lock_acquire(&lk), 0);
    int r = cio_cond_wait(&cv);
    /* Whatever happened, the lock is held again. */
    assert_int_equal(cio_lock_locked(&lk), 1);
    rec(r == 0 ? id : 100 + id);
    cio_lock_release(&lk);
    return r;
}

/* lk and cv, a condition over it. */
static void cond_open(void)
{
    cio_lock_init(&lk);
    cio_cond_init(&cv, &lk);
}

static void cond_close(void)
{
    cio_cond_destroy(&cv);
    cio_lock_destroy(&lk);
}

/* Notifies cv's first waiter, holding lk to do so. */
static void notify_one(void)
{
    cio_lock_acquire(&lk);
    cio_cond_notify(&cv, 1);
    cio_lock_release(&lk);
}

static int cond_fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    assert_int_equal(cio_cond_init(&cv, &lk), 0);
    cio_task *w[4];
    for (int i = 0; i < 4; i++)
        w[i] = spawn(cond_waiter, (void *)(intptr_t)(i + 1));
    cio_sleep(CIO_MS);
    assert_int_equal(cio_lock_locked(&lk), 0); /* wait released it */
    assert_int_equal(cio_cond_notify(&cv, 1), -EINVAL); /* lock not held */
    cio_lock_acquire(&lk);
    assert_int_equal(cio_cond_notify(&cv, 1), 1);
    cio_lock_release(&lk);
    cio_sleep(CIO_MS);
    int want1[] = {1};
    expect_log(want1, 1);
    cio_lock_acquire(&lk);
    assert_int_equal(cio_cond_notify_all(&cv), 3);
    assert_int_equal(cio_cond_notify_all(&cv), 0);
    cio_lock_release(&lk);
    for (int i = 0; i < 4; i++)
        assert_int_equal(finish(w[i]), 0);
    int want[] = {1, 2, 3, 4};
    expect_log(want, 4);
    assert_int_equal(cio_cond_destroy(&cv), 0);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(cond_fifo, cond_fifo_main)

static int enough_items(void *arg)
{
    return items >= (int)(intptr_t)arg;
}

static int cond_consumer(void *arg, void **result)
{
    (void)result;
    cio_lock_acquire(&lk);
    int r = cio_cond_wait_for(&cv, enough_items, arg);
    rec(items);
    cio_lock_release(&lk);
    return r;
}

static int cond_wait_for_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    items = 0;
    cond_open();
    cio_task *c = spawn(cond_consumer, (void *)3);
    for (int i = 0; i < 5; i++) {
        cio_sleep(CIO_MS);
        cio_lock_acquire(&lk);
        items++;
        cio_cond_notify_all(&cv);
        cio_lock_release(&lk);
    }
    assert_int_equal(finish(c), 0);
    int want[] = {3}; /* woken at 1 and 2 too, but the predicate said no */
    expect_log(want, 1);
    /* A true predicate returns at once; the lock must still be held. */
    cio_lock_acquire(&lk);
    assert_int_equal(cio_cond_wait_for(&cv, enough_items, (void *)1), 0);
    cio_lock_release(&lk);
    assert_int_equal(cio_cond_wait_for(&cv, enough_items, (void *)1),
                     -EINVAL);
    cond_close();
    return 0;
}

TU_MAIN_CASE(cond_wait_for, cond_wait_for_main)

/* A waiter notified and then cancelled before it runs passes the
 * notification to the next waiter. */
static int cond_cancel_after_notify_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cond_open();
    cio_task *a = spawn(cond_waiter, (void *)1);
    cio_task *b = spawn(cond_waiter, (void *)2);
    cio_task *c = spawn(cond_waiter, (void *)3);
    cio_sleep(CIO_MS);
    cio_lock_acquire(&lk);
    assert_int_equal(cio_cond_notify(&cv, 1), 1); /* a */
    cio_task_cancel(a, NULL);
    cio_lock_release(&lk);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), 0);
    int want[] = {101, 2};
    expect_log(want, 2);
    /* c was never notified. */
    assert_false(cio_future_done(c));
    notify_one();
    assert_int_equal(finish(c), 0);
    cond_close();
    return 0;
}

TU_MAIN_CASE(cond_cancel_after_notify, cond_cancel_after_notify_main)

/* Cancelled while waiting for a notify, the waiter still re-acquires the
 * lock before returning, so it waits for the holder; nobody else is
 * notified in its place. */
static int cond_cancel_waiting_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cond_open();
    cio_task *a = spawn(cond_waiter, (void *)1);
    cio_task *b = spawn(cond_waiter, (void *)2);
    cio_sleep(CIO_MS);
    cio_lock_acquire(&lk);
    cio_task_cancel(a, NULL);
    cio_sleep(5 * CIO_MS); /* a is stuck behind our lock */
    assert_int_equal(nlog, 0);
    cio_lock_release(&lk);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(now_ms(), 6);
    int want[] = {101};
    expect_log(want, 1);
    assert_false(cio_future_done(b)); /* not spuriously notified */
    notify_one();
    assert_int_equal(finish(b), 0);
    cond_close();
    return 0;
}

TU_MAIN_CASE(cond_cancel_waiting, cond_cancel_waiting_main)

/* Notified, then cancelled while queued for the lock: the notification
 * goes on, the cancellation is reported, the lock is held on return. */
static int cond_cancel_reacquiring_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cond_open();
    cio_task *a = spawn(cond_waiter, (void *)1);
    cio_task *b = spawn(cond_waiter, (void *)2);
    cio_sleep(CIO_MS);
    cio_lock_acquire(&lk);
    cio_cond_notify(&cv, 1); /* a, which now needs the lock */
    cio_sleep(CIO_MS);       /* a is queued on the lock */
    cio_task_cancel(a, NULL);
    cio_sleep(CIO_MS);
    cio_lock_release(&lk);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), 0);
    int want[] = {101, 2};
    expect_log(want, 2);
    cond_close();
    return 0;
}

TU_MAIN_CASE(cond_cancel_reacquiring, cond_cancel_reacquiring_main)

static int cond_misuse_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock l;
    cio_cond c;
    cio_lock_init(&l);
    assert_int_equal(cio_cond_init(&c, NULL), -EINVAL);
    assert_int_equal(cio_cond_init(NULL, &l), -EINVAL);
    assert_int_equal(cio_cond_init(&c, &l), 0);
    /* asyncio: RuntimeError('cannot wait on un-acquired lock') */
    assert_int_equal(cio_cond_wait(&c), -EINVAL);
    assert_int_equal(cio_cond_notify_all(&c), -EINVAL);
    cio_lock_acquire(&l);
    assert_int_equal(cio_cond_notify(&c, -1), -EINVAL);
    assert_int_equal(cio_cond_wait_for(&c, NULL, NULL), -EINVAL);
    assert_int_equal(cio_cond_wait(NULL), -EINVAL);
    cio_lock_release(&l);
    assert_int_equal(cio_cond_destroy(&c), 0);
    assert_int_equal(cio_cond_wait(&c), -EINVAL); /* destroyed */
    assert_int_equal(cio_cond_destroy(NULL), -EINVAL);
    cio_lock_destroy(&l);
    return 0;
}

static void cond_misuse(void **state)
{
    (void)state;
    run_main(cond_misuse_main, NULL);
    cio_lock l;
    cio_cond c;
    cio_lock_init(&l);
    cio_cond_init(&c, &l);
    cio_lock_try_acquire(&l);
    assert_int_equal(cio_cond_wait(&c), -EINVAL); /* outside a task */
    assert_int_equal(cio_cond_notify(&c, 1), 0);  /* allowed: no suspension */
    cio_lock_release(&l);
    cio_cond_destroy(&c);
    cio_lock_destroy(&l);
}

/* ====================================================================
 * Semaphore
 * ==================================================================== */

static cio_sem sm;

static int sem_worker(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    int r = cio_sem_acquire(&sm);
    if (r < 0) {
        rec(100 + id);
        return r;
    }
    rec(id);
    cio_sleep(CIO_MS);
    return cio_sem_release(&sm);
}

static int sem_fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_sem_init(&sm, 2, 0), 0);
    assert_int_equal(cio_sem_value(&sm), 2);
    cio_task *w[6];
    for (int i = 0; i < 6; i++)
        w[i] = spawn(sem_worker, (void *)(intptr_t)(i + 1));
    cio_sleep(0);
    /* 1 and 2 got permits, 3..6 wait; no barging while they do. */
    assert_int_equal(cio_sem_value(&sm), 0);
    assert_int_equal(cio_sem_try_acquire(&sm), -EAGAIN);
    assert_int_equal(cio_sem_destroy(&sm), -EBUSY);
    for (int i = 0; i < 6; i++)
        assert_int_equal(finish(w[i]), 0);
    int want[] = {1, 2, 3, 4, 5, 6};
    expect_log(want, 6);
    assert_int_equal(now_ms(), 3); /* two at a time, 1 ms each */
    assert_int_equal(cio_sem_value(&sm), 2);
    /* Unbounded: releasing beyond the initial value is allowed. */
    assert_int_equal(cio_sem_release(&sm), 0);
    assert_int_equal(cio_sem_value(&sm), 3);
    assert_int_equal(cio_sem_try_acquire(&sm), 0);
    assert_int_equal(cio_sem_destroy(&sm), 0);
    return 0;
}

TU_MAIN_CASE(sem_fifo, sem_fifo_main)

/* A permit granted to a waiter that is cancelled before it runs goes to
 * the next waiter; a waiter cancelled while waiting takes nothing. */
static int sem_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_sem_init(&sm, 0, 0);
    cio_task *a = spawn(sem_worker, (void *)1);
    cio_task *b = spawn(sem_worker, (void *)2);
    cio_task *c = spawn(sem_worker, (void *)3);
    cio_task *d = spawn(sem_worker, (void *)4);
    cio_sleep(CIO_MS);
    cio_task_cancel(b, NULL);              /* waiting */
    assert_int_equal(cio_sem_release(&sm), 0); /* granted to a ... */
    cio_task_cancel(a, NULL);              /* ... cancelled before it runs */
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), -ECANCELED);
    assert_int_equal(finish(c), 0); /* got a's permit */
    /* c released it after 1 ms: d has it now, and then it comes back. */
    assert_int_equal(finish(d), 0);
    int want[] = {102, 101, 3, 4};
    expect_log(want, 4);
    assert_int_equal(cio_sem_value(&sm), 1);
    assert_int_equal(cio_sem_destroy(&sm), 0);
    return 0;
}

TU_MAIN_CASE(sem_cancel, sem_cancel_main)

static int sem_bounded_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_sem_init(&sm, 1, CIO_SEM_BOUNDED), 0);
    /* asyncio: ValueError('BoundedSemaphore released too many times') */
    assert_int_equal(cio_sem_release(&sm), -EOVERFLOW);
    assert_int_equal(cio_sem_acquire(&sm), 0);
    cio_task *a = spawn(sem_worker, (void *)1);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_sem_release(&sm), 0); /* handed to a */
    assert_int_equal(finish(a), 0);
    assert_int_equal(cio_sem_value(&sm), 1);
    assert_int_equal(cio_sem_release(&sm), -EOVERFLOW);
    assert_int_equal(cio_sem_value(&sm), 1);
    /* Granted, cancelled: the permit comes back without overflowing. */
    cio_sem_acquire(&sm);
    a = spawn(sem_worker, (void *)2);
    cio_sleep(CIO_MS);
    cio_sem_release(&sm);
    cio_task_cancel(a, NULL);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(cio_sem_value(&sm), 1);
    assert_int_equal(cio_sem_destroy(&sm), 0);
    return 0;
}

TU_MAIN_CASE(sem_bounded, sem_bounded_main)

static void sem_misuse(void **state)
{
    (void)state;
    cio_sem s;
    assert_int_equal(cio_sem_init(NULL, 1, 0), -EINVAL);
    assert_int_equal(cio_sem_init(&s, -1, 0), -EINVAL);
    assert_int_equal(cio_sem_init(&s, 1, 0x80), -EINVAL);
    assert_int_equal(cio_sem_init(&s, 1, 0), 0);
    assert_int_equal(cio_sem_acquire(&s), -EINVAL); /* outside a task */
    assert_int_equal(cio_sem_acquire(NULL), -EINVAL);
    assert_int_equal(cio_sem_try_acquire(NULL), -EINVAL);
    assert_int_equal(cio_sem_release(NULL), -EINVAL);
    assert_int_equal(cio_sem_value(NULL), -EINVAL);
    assert_int_equal(cio_sem_try_acquire(&s), 0);
    assert_int_equal(cio_sem_try_acquire(&s), -EAGAIN);
    assert_int_equal(cio_sem_release(&s), 0);
    assert_int_equal(cio_sem_destroy(&s), 0);
    assert_int_equal(cio_sem_value(&s), -EINVAL);
    assert_int_equal(cio_sem_destroy(&s), -EINVAL);
}

/* ====================================================================
 * Barrier
 * ==================================================================== */

static cio_barrier br;

/* Waits at the barrier twice; logs id*10 + index per round, or 100+id. */
static int barrier_party(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < 2; round++) {
        int r = cio_barrier_wait(&br);
        if (r < 0) {
            rec(r == -EPIPE ? 200 + id : 100 + id);
            return r;
        }
        rec(id * 10 + r);
        cio_sleep(id * CIO_MS); /* arrive in another order next round */
    }
    return 0;
}

static int barrier_rounds_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_int_equal(cio_barrier_init(&br, 3), 0);
    cio_task *w[3];
    for (int i = 0; i < 3; i++)
        w[i] = spawn(barrier_party, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < 3; i++)
        assert_int_equal(finish(w[i]), 0);
    /* Round 1: arrival 1, 2, 3 -> indexes 0, 1, 2; 3 releases the others
     * and returns first. Round 2: they arrive at 1, 2, 3 ms (1, 2, 3). */
    int want[] = {32, 10, 21, 32, 10, 21};
    expect_log(want, 6);
    assert_int_equal(cio_barrier_n_waiting(&br), 0);
    assert_int_equal(cio_barrier_broken(&br), 0);
    assert_int_equal(cio_barrier_destroy(&br), 0);
    /* One party: never waits. */
    cio_barrier_init(&br, 1);
    assert_int_equal(cio_barrier_wait(&br), 0);
    assert_int_equal(cio_barrier_wait(&br), 0);
    assert_int_equal(cio_barrier_destroy(&br), 0);
    return 0;
}

TU_MAIN_CASE(barrier_rounds, barrier_rounds_main)

static int barrier_once(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    int r = cio_barrier_wait(&br);
    rec(r >= 0 ? id * 10 + r : r == -EPIPE ? 200 + id : 100 + id);
    return r < 0 ? r : 0;
}

/* A cancelled party leaves the count at once: the barrier does not trip
 * with it. Cancelled after the barrier tripped, it takes nothing from
 * the others. */
static int barrier_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_barrier_init(&br, 3);
    cio_task *a = spawn(barrier_once, (void *)1);
    cio_task *b = spawn(barrier_once, (void *)2);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_barrier_n_waiting(&br), 2);
    cio_task_cancel(a, NULL);
    assert_int_equal(cio_barrier_n_waiting(&br), 1);
    cio_task *c = spawn(barrier_once, (void *)3);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_barrier_n_waiting(&br), 2);
    assert_false(cio_future_done(b));
    cio_task *d = spawn(barrier_once, (void *)4);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), 0);
    assert_int_equal(finish(c), 0);
    assert_int_equal(finish(d), 0);
    /* Indexes are arrival counts, as in asyncio: b came second (1), and
     * c also found one party waiting (1) once a had left. */
    int want[] = {101, 42, 21, 31};
    expect_log(want, 4);
    /* Trip, then cancel a released waiter before it runs. */
    nlog = 0;
    a = spawn(barrier_once, (void *)5);
    b = spawn(barrier_once, (void *)6);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_barrier_wait(&br), 2);
    cio_task_cancel(a, NULL);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), 0);
    int want2[] = {105, 61};
    expect_log(want2, 2);
    assert_int_equal(cio_barrier_destroy(&br), 0);
    return 0;
}

TU_MAIN_CASE(barrier_cancel, barrier_cancel_main)

static int barrier_abort_reset_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_barrier_init(&br, 3);
    cio_task *a = spawn(barrier_once, (void *)1);
    cio_task *b = spawn(barrier_once, (void *)2);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_barrier_abort(&br), 0);
    assert_int_equal(cio_barrier_broken(&br), 1);
    assert_int_equal(finish(a), -EPIPE);
    assert_int_equal(finish(b), -EPIPE);
    /* Broken until reset. */
    assert_int_equal(cio_barrier_wait(&br), -EPIPE);
    assert_int_equal(cio_barrier_reset(&br), 0);
    assert_int_equal(cio_barrier_broken(&br), 0);
    /* Reset with waiters: they get -EPIPE, the barrier stays usable. */
    a = spawn(barrier_once, (void *)3);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_barrier_reset(&br), 0);
    assert_int_equal(finish(a), -EPIPE);
    assert_int_equal(cio_barrier_broken(&br), 0);
    a = spawn(barrier_once, (void *)4);
    b = spawn(barrier_once, (void *)5);
    cio_sleep(CIO_MS);
    assert_int_equal(cio_barrier_wait(&br), 2);
    assert_int_equal(finish(a), 0);
    assert_int_equal(finish(b), 0);
    int want[] = {201, 202, 203, 40, 51};
    expect_log(want, 5);
    assert_int_equal(cio_barrier_destroy(&br), 0);
    return 0;
}

TU_MAIN_CASE(barrier_abort_reset, barrier_abort_reset_main)

static void barrier_misuse(void **state)
{
    (void)state;
    cio_barrier b;
    assert_int_equal(cio_barrier_init(&b, 0), -EINVAL);
    assert_int_equal(cio_barrier_init(NULL, 2), -EINVAL);
    assert_int_equal(cio_barrier_init(&b, 2), 0);
    assert_int_equal(cio_barrier_wait(&b), -EINVAL); /* outside a task */
    assert_int_equal(cio_barrier_wait(NULL), -EINVAL);
    assert_int_equal(cio_barrier_reset(NULL), -EINVAL);
    assert_int_equal(cio_barrier_abort(NULL), -EINVAL);
    assert_int_equal(cio_barrier_n_waiting(NULL), -EINVAL);
    assert_int_equal(cio_barrier_broken(NULL), -EINVAL);
    assert_int_equal(cio_barrier_destroy(&b), 0);
    assert_int_equal(cio_barrier_destroy(&b), -EINVAL);
}

/* ====================================================================
 * Waiters of two loops; a primitive reused across loops
 * ==================================================================== */

static int join_foreign_waiters(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* lk has a waiter of the other loop: joining it is refused. */
    assert_int_equal(cio_lock_acquire(&lk), -EINVAL);
    return 0;
}

static void primitive_across_loops(void **state)
{
    (void)state;
    nlog = 0;
    cio_lock_init(&lk);
    cio_loop *a = tu_loop_virtual();
    cio_loop *b = tu_loop_virtual();
    assert_int_equal(cio_lock_try_acquire(&lk), 0); /* held by main */
    cio_task *w, *t;
    cio_task_create(a, CIO_CORO(lock_worker, 1), NULL, &w);
    cio_loop_stop(a);
    cio_loop_run_forever(a); /* one iteration: w now waits on lk */
    assert_false(cio_future_done(w));
    cio_task_create(b, CIO_CORO(join_foreign_waiters, NULL), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(b, t, NULL), 0);
    cio_future_release(t);
    /* Released with no loop running (set-up code): allowed. */
    assert_int_equal(cio_lock_release(&lk), 0);
    assert_int_equal(cio_loop_run_until_complete(a, w, NULL), 0);
    cio_future_release(w);
    /* Idle, the lock belongs to no loop: b may use it now. */
    cio_task_create(b, CIO_CORO(lock_worker, 2), NULL, &t);
    assert_int_equal(cio_loop_run_until_complete(b, t, NULL), 0);
    cio_future_release(t);
    int want[] = {1, -1, 2, -2};
    expect_log(want, 4);
    tu_loop_done(a);
    tu_loop_done(b);
    assert_int_equal(cio_lock_destroy(&lk), 0);
}

/* ====================================================================
 * Deadlines through timeout scopes (cio/wait.h)
 * ==================================================================== */

typedef enum { P_LOCK, P_EVENT, P_COND, P_SEM, P_BARRIER } prim_kind;

/* Waits on the primitive inside a 5 ms timeout scope. */
static int timed_waiter(void *arg, void **result)
{
    (void)result;
    prim_kind k = (prim_kind)(intptr_t)arg;
    cio_timeout scope;
    assert_int_equal(cio_timeout_begin(&scope, 5 * CIO_MS), 0);
    int r = -EINVAL;
    switch (k) {
    case P_LOCK:
        r = cio_lock_acquire(&lk);
        if (r == 0)
            cio_lock_release(&lk);
        break;
    case P_EVENT: r = cio_event_wait(&ev); break;
    case P_COND:
        cio_lock_acquire(&lk);
        r = cio_cond_wait(&cv);
        assert_int_equal(cio_lock_locked(&lk), 1);
        cio_lock_release(&lk);
        break;
    case P_SEM: r = cio_sem_acquire(&sm); break;
    case P_BARRIER: r = cio_barrier_wait(&br); break;
    }
    r = cio_timeout_end(&scope, r);
    rec((int)now_ms());
    return r;
}

static int timeouts_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    cio_event_init(&ev);
    cio_cond_init(&cv, &lk);
    cio_sem_init(&sm, 0, 0);
    cio_barrier_init(&br, 2);
    for (int k = P_LOCK; k <= P_BARRIER; k++) {
        nlog = 0;
        int64_t t0 = now_ms();
        if (k == P_LOCK)
            cio_lock_acquire(&lk);
        /* Two waiters: the first times out, the second gets the grant. */
        cio_task *a = spawn(timed_waiter, (void *)(intptr_t)k);
        cio_sleep(CIO_MS);
        cio_task *b = NULL;
        if (k != P_BARRIER)
            b = spawn(timed_waiter, (void *)(intptr_t)k);
        assert_int_equal(finish(a), -ETIMEDOUT);
        assert_int_equal(log_[0] - t0, 5);
        if (k == P_BARRIER) {
            /* The timed-out party left: the barrier is empty again. */
            assert_int_equal(cio_barrier_n_waiting(&br), 0);
            continue;
        }
        switch (k) {
        case P_LOCK: cio_lock_release(&lk); break;
        case P_EVENT: cio_event_set(&ev); break;
        case P_COND:
            notify_one();
            break;
        case P_SEM: cio_sem_release(&sm); break;
        default: break;
        }
        assert_int_equal(finish(b), 0);
        assert_int_equal(log_[1] - t0, 5);
    }
    assert_int_equal(cio_lock_locked(&lk), 0);
    assert_int_equal(cio_sem_value(&sm), 0);
    assert_int_equal(cio_barrier_destroy(&br), 0);
    assert_int_equal(cio_sem_destroy(&sm), 0);
    assert_int_equal(cio_cond_destroy(&cv), 0);
    assert_int_equal(cio_event_destroy(&ev), 0);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(timeouts, timeouts_main)

/* The grant and the deadline in the same iteration: the lock is released
 * at 5 ms, exactly when the waiter's scope expires. Whichever wins, the
 * lock is never lost: afterwards it is free. */
static int lock_release_at_deadline_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock_init(&lk);
    cio_lock_acquire(&lk);
    nlog = 0;
    cio_task *a = spawn(timed_waiter, (void *)P_LOCK);
    cio_task *b = spawn(lock_worker, (void *)2);
    cio_sleep(5 * CIO_MS);
    cio_lock_release(&lk);
    int ra = finish(a);
    assert_true(ra == -ETIMEDOUT || ra == 0);
    if (ra == 0)
        cio_lock_release(&lk);
    assert_int_equal(finish(b), 0);
    assert_int_equal(cio_lock_locked(&lk), 0);
    assert_int_equal(cio_lock_destroy(&lk), 0);
    return 0;
}

TU_MAIN_CASE(lock_release_at_deadline, lock_release_at_deadline_main)

/* ====================================================================
 * Scoped acquisition (CIO_WITH_LOCK / _SEM / _COND) and debug mode's
 * report of a task that ends holding a lock (issue 15)
 * ==================================================================== */

/* Leaves the block by return, with the lock held inside it. */
static int with_lock_return(cio_lock *l)
{
    int rc;
    CIO_WITH_LOCK(l, &rc)
    {
        assert_int_equal(cio_lock_locked(l), 1);
        return 5;
    }
    return rc;
}

/* Sleeps 10 ms holding the lock; a cancellation leaves by return. */
static int with_lock_sleeper(void *arg, void **result)
{
    (void)result;
    cio_lock *l = arg;
    int rc;
    CIO_WITH_LOCK(l, &rc)
    {
        rec(1);
        int r = cio_sleep(10 * CIO_MS);
        if (r < 0) {
            rec(2);
            return r; /* released on the way out */
        }
        rec(3);
    }
    if (rc < 0)
        rec(4); /* not acquired: the block did not run */
    return rc;
}

static int scoped_lock_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_lock l;
    assert_int_equal(cio_lock_init(&l), 0);
    int rc = 99;
    /* End of block. */
    CIO_WITH_LOCK(&l, &rc)
    {
        assert_int_equal(cio_lock_locked(&l), 1);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(cio_lock_locked(&l), 0);
    /* break, continue, return. */
    CIO_WITH_LOCK(&l, &rc)
    {
        if (rc == 0)
            break;
        rec(100); /* not reached */
    }
    assert_int_equal(cio_lock_locked(&l), 0);
    CIO_WITH_LOCK(&l, NULL)
    {
        continue;
    }
    assert_int_equal(cio_lock_locked(&l), 0);
    assert_int_equal(with_lock_return(&l), 5);
    assert_int_equal(cio_lock_locked(&l), 0);
    /* Nested blocks release in reverse order. */
    cio_lock l2;
    cio_lock_init(&l2);
    CIO_WITH_LOCK(&l, &rc)
    {
        CIO_WITH_LOCK(&l2, &rc)
        {
            assert_int_equal(cio_lock_locked(&l), 1);
            assert_int_equal(cio_lock_locked(&l2), 1);
        }
        assert_int_equal(cio_lock_locked(&l2), 0);
        assert_int_equal(cio_lock_locked(&l), 1);
    }
    assert_int_equal(cio_lock_locked(&l), 0);
    /* Cancelled inside the block: released, the next waiter gets it. */
    cio_task *a = spawn(with_lock_sleeper, &l);
    cio_task *b = spawn(with_lock_sleeper, &l);
    cio_sleep(CIO_MS);
    cio_task_cancel(a, NULL);
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(finish(b), 0);
    int want[] = {1, 2, 1, 3};
    expect_log(want, 4);
    assert_int_equal(cio_lock_locked(&l), 0);
    /* Cancelled while acquiring: the block is skipped, rc says why. */
    nlog = 0;
    assert_int_equal(cio_lock_try_acquire(&l), 0);
    a = spawn(with_lock_sleeper, &l);
    cio_sleep(CIO_MS);
    cio_task_cancel(a, NULL);
    assert_int_equal(finish(a), -ECANCELED);
    int want2[] = {4};
    expect_log(want2, 1);
    assert_int_equal(cio_lock_release(&l), 0);
    /* Misuse: an uninitialised lock is never held. */
    cio_lock zero = {{0}};
    CIO_WITH_LOCK(&zero, &rc)
    {
        rec(100);
    }
    assert_int_equal(rc, -EINVAL);
    cio_guard g = cio_guard_lock(NULL, &rc);
    assert_int_equal(rc, -EINVAL);
    assert_false(cio_guard_held(&g));
    cio_guard_release(&g);
    cio_guard_release(NULL);
    assert_false(cio_guard_held(NULL));
    assert_int_equal(nlog, 1);
    assert_int_equal(cio_lock_destroy(&l), 0);
    assert_int_equal(cio_lock_destroy(&l2), 0);
    return 0;
}

TU_MAIN_CASE(lock_scoped_form_releases_on_every_path, scoped_lock_main)

static cio_lock cl;
static cio_cond cv;
static int ready_flag;

/* Waits for ready_flag under the condition's lock; cancelled, it leaves
 * by return with the lock that cio_cond_wait re-acquired. */
static int scoped_cond_waiter(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int rc;
    CIO_WITH_COND(&cv, &rc)
    {
        while (!ready_flag) {
            int r = cio_cond_wait(&cv);
            if (r < 0) {
                rec(-1);
                return r;
            }
        }
        rec(1);
    }
    return rc;
}

static int scoped_sem_cond_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_sem s;
    assert_int_equal(cio_sem_init(&s, 1, CIO_SEM_BOUNDED), 0);
    int rc;
    CIO_WITH_SEM(&s, &rc)
    {
        assert_int_equal(cio_sem_value(&s), 0);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(cio_sem_value(&s), 1);
    for (int i = 0; i < 3; i++) {
        CIO_WITH_SEM(&s, &rc)
        {
            if (i == 1)
                break;
        }
    }
    assert_int_equal(cio_sem_value(&s), 1);
    assert_int_equal(cio_sem_destroy(&s), 0);

    cio_lock_init(&cl);
    cio_cond_init(&cv, &cl);
    ready_flag = 0;
    cio_task *a = spawn(scoped_cond_waiter, NULL);
    cio_task *b = spawn(scoped_cond_waiter, NULL);
    cio_sleep(CIO_MS);
    cio_task_cancel(a, NULL); /* leaves holding the lock: released */
    assert_int_equal(finish(a), -ECANCELED);
    assert_int_equal(cio_lock_locked(&cl), 0);
    CIO_WITH_COND(&cv, &rc)
    {
        ready_flag = 1;
        cio_cond_notify_all(&cv);
    }
    assert_int_equal(finish(b), 0);
    int want[] = {-1, 1};
    expect_log(want, 2);
    assert_int_equal(cio_lock_locked(&cl), 0);
    cio_cond zc = {{0}};
    CIO_WITH_COND(&zc, &rc)
    {
        rec(100);
    }
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(cio_cond_destroy(&cv), 0);
    assert_int_equal(cio_lock_destroy(&cl), 0);
    return 0;
}

TU_MAIN_CASE(sem_and_cond_scoped_forms_release_on_every_path,
             scoped_sem_cond_main)

static int nheld_reports;
static char held_task[32];

static void held_handler(cio_loop *loop, const cio_exception_context *ctx,
                         void *arg)
{
    (void)loop;
    (void)arg;
    if (strcmp(ctx->message, "task ended while holding a lock") == 0) {
        nheld_reports++;
        snprintf(held_task, sizeof(held_task), "%s",
                 ctx->task_name ? ctx->task_name : "");
        assert_non_null(ctx->detail);
        assert_non_null(strstr(ctx->detail, "1 lock(s)"));
    }
}

static int take_and_leave(void *arg, void **result)
{
    (void)result;
    return cio_lock_acquire(arg);
}

static int take_and_release(void *arg, void **result)
{
    (void)result;
    int r = cio_lock_acquire(arg);
    if (r == 0)
        r = cio_lock_release(arg);
    return r;
}

/* A waiter handed the lock by release, then ending with it. */
static int wait_then_leave(void *arg, void **result)
{
    (void)result;
    int r = cio_lock_acquire(arg);
    cio_sleep(CIO_MS);
    return r;
}

static void debug_reports_task_ending_with_lock(void **state)
{
    (void)state;
    for (int debug = 0; debug < 2; debug++) {
        cio_loop *loop = tu_loop_virtual();
        assert_int_equal(cio_loop_set_debug(loop, debug), 0);
        cio_loop_set_exception_handler(loop, held_handler, NULL);
        nheld_reports = 0;
        held_task[0] = 0;
        cio_lock l;
        cio_lock_init(&l);
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        o.name = "keeper";
        cio_task *t;
        cio_task_create(loop, CIO_CORO(take_and_leave, &l), &o, &t);
        assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
        cio_future_release(t);
        assert_int_equal(nheld_reports, debug);
        if (debug)
            assert_string_equal(held_task, "keeper");
        assert_int_equal(cio_lock_locked(&l), 1); /* still locked */
        /* Another party releases it later: no trouble, no report. */
        assert_int_equal(cio_lock_release(&l), 0);
        /* A task that releases is not reported. */
        cio_task_create(loop, CIO_CORO(take_and_release, &l), NULL, &t);
        assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
        cio_future_release(t);
        assert_int_equal(nheld_reports, debug);
        /* Handed the lock by a release, then ending with it. */
        assert_int_equal(cio_lock_try_acquire(&l), 0);
        o.name = "heir";
        cio_task_create(loop, CIO_CORO(wait_then_leave, &l), &o, &t);
        cio_loop_stop(loop);
        cio_loop_run_forever(loop); /* t now waits for the lock */
        assert_int_equal(cio_lock_release(&l), 0);
        assert_int_equal(cio_loop_run_until_complete(loop, t, NULL), 0);
        cio_future_release(t);
        assert_int_equal(nheld_reports, 2 * debug);
        if (debug)
            assert_string_equal(held_task, "heir");
        assert_int_equal(cio_lock_release(&l), 0);
        assert_int_equal(cio_lock_destroy(&l), 0);
        tu_loop_done(loop);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(lock_basics, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_cancel_waiting, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_cancel_after_grant, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_cancel_last_after_grant, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_cancel_pending, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(event_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(event_set_while_cancelling, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(event_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cond_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cond_wait_for, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cond_cancel_after_notify, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cond_cancel_waiting, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cond_cancel_reacquiring, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cond_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sem_fifo, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sem_cancel, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sem_bounded, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sem_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(barrier_rounds, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(barrier_cancel, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(barrier_abort_reset, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(barrier_misuse, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(primitive_across_loops, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(timeouts, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_release_at_deadline, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(lock_scoped_form_releases_on_every_path, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sem_and_cond_scoped_forms_release_on_every_path, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(debug_reports_task_ending_with_lock, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
