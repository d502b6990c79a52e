/*
 * cond.c - cio_cond, asyncio.Condition over a caller's cio_lock.
 *
 * wait releases the lock and links its node with no suspension in
 * between, so a notify from whoever takes the lock next cannot be missed
 * (the pthread race does not exist here). After the wake-up it
 * re-acquires the lock whatever happens, retrying through cancellations
 * (asyncio 3.11+): callers may rely on holding the lock when wait
 * returns, including -ECANCELED.
 *
 * A notification is a grant recorded in the waiter's node. If the waiter
 * is cancelled after being notified (before it ran, or while it waited
 * for the lock again), it passes one notification to the next waiter
 * before returning -ECANCELED. asyncio re-notifies on every error out of
 * wait, which may wake somebody spuriously; the node tells us whether a
 * notification was really consumed, so we pass one on only then.
 *
 * Rejected: an implicit lock when none is given (asyncio's default). It
 * would have to live inside cio_cond and be reachable through extra
 * acquire/release calls; in C the caller declares the cio_lock next to
 * the condition anyway.
 */
#include <errno.h>
#include <limits.h>

#include "sync/waitq.h"

typedef struct cond_impl {
    uint32_t magic;
    cio_lock *lock;
    cio__waitq wq;
} cond_impl;

_Static_assert(sizeof(cond_impl) <= sizeof(cio_cond),
               "cio_cond is too small for cond_impl");
_Static_assert(_Alignof(cond_impl) <= _Alignof(cio_cond),
               "cio_cond is not aligned enough for cond_impl");

static cond_impl *impl(cio_cond *c)
{
    cond_impl *k = (cond_impl *)(void *)c;
    return k && k->magic == CIO__MAGIC_COND ? k : NULL;
}

int cio_cond_init(cio_cond *c, cio_lock *lock)
{
    if (!c || cio_lock_locked(lock) < 0)
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    cond_impl *k = (cond_impl *)(void *)c;
    k->magic = CIO__MAGIC_COND;
    k->lock = lock;
    cio__waitq_init(&k->wq);
    return 0;
}

cio_lock *cio__cond_lock(cio_cond *c)
{
    cond_impl *k = impl(c);
    return k ? k->lock : NULL;
}

int cio_cond_destroy(cio_cond *c)
{
    cond_impl *k = impl(c);
    return k ? cio__waitq_retire(&k->wq, &k->magic) : -EINVAL;
}

static int wait_locked(cond_impl *k, cio__task *t)
{
    int r = cio__waitq_check_task(&k->wq, t);
    if (r < 0)
        return r;
    cio__waiter w;
    r = cio_lock_release(k->lock);
    if (r < 0)
        return r;
    r = cio__waitq_wait(&k->wq, &w, t, "condition");
    int cancelled = r < 0;
    for (;;) {
        int a = cio_lock_acquire(k->lock);
        if (a == 0)
            break;
        if (a != -ECANCELED)
            return a; /* misuse: the lock is shared with another loop */
        cancelled = 1;
    }
    if (!cancelled)
        return 0;
    if (w.state == CIO__W_GRANTED)
        /* A notification we will not act on: pass it on. */
        cio__waitq_wake_n(&k->wq, 1, CIO__W_GRANTED, 0);
    return -ECANCELED;
}

int cio_cond_wait(cio_cond *c)
{
    cond_impl *k = impl(c);
    cio__task *t = cio__tls_task;
    if (!k || !t || cio_lock_locked(k->lock) != 1)
        return CIO_MISUSE(!t ? "called outside a task" : "the condition's lock is not held");
    return wait_locked(k, t);
}

int cio_cond_wait_for(cio_cond *c, int (*pred)(void *arg), void *arg)
{
    cond_impl *k = impl(c);
    cio__task *t = cio__tls_task;
    if (!k || !t || !pred || cio_lock_locked(k->lock) != 1)
        return CIO_MISUSE(!t ? "called outside a task" : "NULL pred, or the condition's lock is not held");
    for (;;) {
        int p = pred(arg);
        if (p != 0)
            return p < 0 ? p : 0;
        int r = wait_locked(k, t);
        if (r < 0)
            return r;
    }
}

int cio_cond_notify(cio_cond *c, int n)
{
    cond_impl *k = impl(c);
    if (!k || n < 0 || cio_lock_locked(k->lock) != 1)
        return -EINVAL;
    int r = cio__waitq_check_waker(&k->wq);
    if (r < 0)
        return r;
    return cio__waitq_wake_n(&k->wq, n, CIO__W_GRANTED, 0);
}

int cio_cond_notify_all(cio_cond *c)
{
    return cio_cond_notify(c, INT_MAX);
}
