/*
 * sem.c - cio_sem: asyncio.Semaphore and BoundedSemaphore in one type.
 *
 * A release with waiters hands its permit to the first waiter directly,
 * so the count stays at 0 and a newcomer cannot take the permit first;
 * asyncio reaches the same FIFO result by waking a waiter and refusing
 * fast-path acquires while any waiter is not cancelled. The permit
 * handed to a waiter that is cancelled before it runs is released again
 * by that waiter, which gives it to the next one (or back to the count).
 *
 * Bounded: the permits in use are (initial - value), and a hand-off keeps
 * that number unchanged, so a release is an over-release exactly when
 * value == initial. Reported as -EOVERFLOW (asyncio: ValueError) rather
 * than -EINVAL, which is kept for releasing an unlocked lock: the caller
 * can tell "misuse of the API" from "more releases than acquires".
 *
 * Rejected: two types (cio_sem, cio_bounded_sem) with duplicated calls;
 * the flag changes one check in release.
 */
#include <errno.h>
#include <limits.h>

#include "sync/waitq.h"

typedef struct sem_impl {
    uint32_t magic;
    unsigned flags;
    int value;
    int initial;
    cio__waitq wq;
} sem_impl;

_Static_assert(sizeof(sem_impl) <= sizeof(cio_sem),
               "cio_sem is too small for sem_impl");
_Static_assert(_Alignof(sem_impl) <= _Alignof(cio_sem),
               "cio_sem is not aligned enough for sem_impl");

static sem_impl *impl(cio_sem *s)
{
    sem_impl *k = (sem_impl *)(void *)s;
    return k && k->magic == CIO__MAGIC_SEM ? k : NULL;
}

int cio_sem_init(cio_sem *s, int value, unsigned flags)
{
    if (!s || value < 0 || (flags & ~CIO_SEM_BOUNDED))
        return -EINVAL;
    memset(s, 0, sizeof(*s));
    sem_impl *k = (sem_impl *)(void *)s;
    k->magic = CIO__MAGIC_SEM;
    k->flags = flags;
    k->value = value;
    k->initial = value;
    cio__waitq_init(&k->wq);
    return 0;
}

int cio_sem_destroy(cio_sem *s)
{
    sem_impl *k = impl(s);
    return k ? cio__waitq_retire(&k->wq, &k->magic) : -EINVAL;
}

/* Gives a permit back: to the first waiter, else to the count. */
static int put_permit(sem_impl *k)
{
    cio__waiter *w = cio__waitq_first(&k->wq);
    if (w) {
        cio__waitq_wake(w, CIO__W_GRANTED, 0);
        return 0;
    }
    if ((k->flags & CIO_SEM_BOUNDED) && k->value >= k->initial)
        return -EOVERFLOW;
    if (k->value == INT_MAX)
        return -EOVERFLOW;
    k->value++;
    return 0;
}

int cio_sem_acquire(cio_sem *s)
{
    sem_impl *k = impl(s);
    cio__task *t = cio__tls_task;
    if (!k || !t)
        return CIO_MISUSE(t ? "NULL semaphore" : "called outside a task");
    if (k->value > 0) {
        /* value > 0 implies nobody waits: permits go to waiters first. */
        k->value--;
        return 0;
    }
    int r = cio__waitq_check_task(&k->wq, t);
    if (r < 0)
        return r;
    cio__waiter w;
    r = cio__waitq_wait(&k->wq, &w, t, "semaphore");
    if (w.state == CIO__W_GRANTED && r < 0)
        put_permit(k); /* cancelled holding a permit: the next one gets it */
    return r;
}

int cio_sem_try_acquire(cio_sem *s)
{
    sem_impl *k = impl(s);
    if (!k)
        return -EINVAL;
    if (k->value == 0)
        return -EAGAIN;
    k->value--;
    return 0;
}

int cio_sem_release(cio_sem *s)
{
    sem_impl *k = impl(s);
    if (!k)
        return -EINVAL;
    int r = cio__waitq_check_waker(&k->wq);
    if (r < 0)
        return r;
    return put_permit(k);
}

int cio_sem_value(const cio_sem *s)
{
    const sem_impl *k = (const sem_impl *)(const void *)s;
    if (!k || k->magic != CIO__MAGIC_SEM)
        return -EINVAL;
    return k->value;
}
