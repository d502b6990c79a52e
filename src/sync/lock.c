/*
 * lock.c - cio_lock, asyncio.Lock for tasks.
 *
 * Release hands the lock straight to the first waiter: the lock never
 * looks free while somebody waits, so a task calling acquire (or
 * try_acquire) at that moment queues behind the waiters instead of
 * overtaking them. asyncio gets the same fairness differently (release
 * marks the lock free, the woken waiter re-takes it, and acquire refuses
 * to barge while uncancelled waiters exist); hand-off needs no such scan
 * and leaves exactly one place where a cancellation can race a grant:
 * the waiter that was handed the lock and cancelled before it ran, which
 * releases it again, so the next waiter gets it (the wake-up is neither
 * lost nor stolen).
 *
 * No owner is recorded, as in asyncio: any task (or a callback) may
 * release. Rejected: a recursive lock and owner checks; asyncio has
 * neither and code ported from it does not expect them.
 */
#include <errno.h>

#include "sync/waitq.h"

typedef struct lock_impl {
    uint32_t magic;
    int locked;
    cio__waitq wq;
    cio__held held; /* debug mode: who holds it (see task.h) */
} lock_impl;

_Static_assert(sizeof(lock_impl) <= sizeof(cio_lock),
               "cio_lock is too small for lock_impl");
_Static_assert(_Alignof(lock_impl) <= _Alignof(cio_lock),
               "cio_lock is not aligned enough for lock_impl");

/* Debug mode only: the holder is recorded so that a task ending with
 * the lock is reported. Any task may still release it (asyncio has no
 * owner); the record just follows the lock. */
static void track(lock_impl *k, cio__task *t)
{
    if (t && CIO_UNLIKELY(t->f.loop->debug)) {
        k->held.holder = t;
        cio__list_insert_tail(&t->held_locks, &k->held.link);
    }
}

static void untrack(lock_impl *k)
{
    if (CIO_UNLIKELY(k->held.holder != NULL)) {
        cio__list_remove(&k->held.link);
        k->held.holder = NULL;
    }
}

static lock_impl *impl(cio_lock *l)
{
    lock_impl *k = (lock_impl *)(void *)l;
    return k && k->magic == CIO__MAGIC_LOCK ? k : NULL;
}

int cio_lock_init(cio_lock *l)
{
    if (!l)
        return -EINVAL;
    memset(l, 0, sizeof(*l));
    lock_impl *k = (lock_impl *)(void *)l;
    k->magic = CIO__MAGIC_LOCK;
    cio__waitq_init(&k->wq);
    cio__list_init(&k->held.link);
    k->held.holder = NULL;
    return 0;
}

int cio_lock_destroy(cio_lock *l)
{
    lock_impl *k = impl(l);
    if (!k)
        return -EINVAL;
    if (k->locked)
        return -EBUSY;
    return cio__waitq_retire(&k->wq, &k->magic);
}

/* The lock is held: hand it on, or mark it free. */
static void release_held(lock_impl *k)
{
    untrack(k);
    cio__waiter *w = cio__waitq_first(&k->wq);
    if (w) {
        track(k, w->task);
        cio__waitq_wake(w, CIO__W_GRANTED, 0);
    } else {
        k->locked = 0;
    }
}

int cio_lock_acquire(cio_lock *l)
{
    lock_impl *k = impl(l);
    cio__task *t = cio__tls_task;
    if (!k || !t)
        return CIO_MISUSE(t ? "NULL lock" : "called outside a task");
    if (!k->locked) {
        k->locked = 1;
        track(k, t);
        return 0;
    }
    int r = cio__waitq_check_task(&k->wq, t);
    if (r < 0)
        return r;
    cio__waiter w;
    r = cio__waitq_wait(&k->wq, &w, t, "lock");
    if (w.state == CIO__W_GRANTED && r < 0) {
        /* Handed the lock, then cancelled before running: pass it on. */
        release_held(k);
    }
    return r;
}

int cio_lock_try_acquire(cio_lock *l)
{
    lock_impl *k = impl(l);
    if (!k)
        return -EINVAL;
    if (k->locked)
        return -EAGAIN;
    k->locked = 1;
    track(k, cio__tls_task);
    return 0;
}

int cio_lock_release(cio_lock *l)
{
    lock_impl *k = impl(l);
    if (!k || !k->locked)
        return -EINVAL;
    int r = cio__waitq_check_waker(&k->wq);
    if (r < 0)
        return r;
    release_held(k);
    return 0;
}

int cio_lock_locked(const cio_lock *l)
{
    const lock_impl *k = (const lock_impl *)(const void *)l;
    if (!k || k->magic != CIO__MAGIC_LOCK)
        return -EINVAL;
    return k->locked;
}
