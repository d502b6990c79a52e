/*
 * barrier.c - cio_barrier, asyncio.Barrier.
 *
 * The last party to arrive grants every waiting node at once (each node
 * holds its arrival index) and the barrier is immediately empty and
 * ready for the next round. asyncio instead goes through a "draining"
 * state in which new arrivals wait until every released task has run,
 * because its waiters learn their fate only when they run; here the fate
 * is fixed in the node when the barrier trips, so draining buys nothing
 * and tasks of the next round need not wait for stragglers.
 *
 * The waiting parties are the nodes in the queue, so a cancelled waiter
 * leaves the count the moment its cancellation is requested (the cancel
 * hook unlinks it): a barrier never trips with a party that is no longer
 * there. A waiter cancelled after the barrier tripped returns -ECANCELED
 * and takes nothing from the others.
 *
 * reset and abort never suspend (asyncio's are coroutines only because
 * they take the barrier's condition lock). A broken barrier is -EPIPE:
 * errno has no closer word for "the other side is gone", and a new
 * CIO_E code would need error.c; see docs/design.md.
 */
#include <errno.h>
#include <limits.h>

#include "sync/waitq.h"

typedef struct barrier_impl {
    uint32_t magic;
    int broken;
    unsigned parties;
    cio__waitq wq;
} barrier_impl;

_Static_assert(sizeof(barrier_impl) <= sizeof(cio_barrier),
               "cio_barrier is too small for barrier_impl");
_Static_assert(_Alignof(barrier_impl) <= _Alignof(cio_barrier),
               "cio_barrier is not aligned enough for barrier_impl");

static barrier_impl *impl(cio_barrier *b)
{
    barrier_impl *k = (barrier_impl *)(void *)b;
    return k && k->magic == CIO__MAGIC_BARRIER ? k : NULL;
}

static const barrier_impl *impl_c(const cio_barrier *b)
{
    const barrier_impl *k = (const barrier_impl *)(const void *)b;
    return k && k->magic == CIO__MAGIC_BARRIER ? k : NULL;
}

int cio_barrier_init(cio_barrier *b, unsigned parties)
{
    if (!b || parties == 0 || parties > INT_MAX)
        return -EINVAL;
    memset(b, 0, sizeof(*b));
    barrier_impl *k = (barrier_impl *)(void *)b;
    k->magic = CIO__MAGIC_BARRIER;
    k->parties = parties;
    cio__waitq_init(&k->wq);
    return 0;
}

int cio_barrier_destroy(cio_barrier *b)
{
    barrier_impl *k = impl(b);
    return k ? cio__waitq_retire(&k->wq, &k->magic) : -EINVAL;
}

int cio_barrier_wait(cio_barrier *b)
{
    barrier_impl *k = impl(b);
    cio__task *t = cio__tls_task;
    if (!k || !t)
        return CIO_MISUSE(t ? "NULL barrier" : "called outside a task");
    if (k->broken)
        return -EPIPE;
    int r = cio__waitq_check_task(&k->wq, t);
    if (r < 0)
        return r;
    unsigned index = k->wq.n;
    if (index + 1 == k->parties) {
        cio__waitq_wake_all(&k->wq, CIO__W_GRANTED, 0);
        return (int)index;
    }
    cio__waiter w;
    w.aux = index;
    r = cio__waitq_wait(&k->wq, &w, t, "barrier");
    if (r < 0)
        return r;
    if (w.state == CIO__W_FAILED)
        return w.err;
    return (int)w.aux;
}

/* reset and abort: every waiter fails with -EPIPE; the barrier is left
 * broken or not. */
static int break_waiters(cio_barrier *b, int broken)
{
    barrier_impl *k = impl(b);
    if (!k)
        return -EINVAL;
    int r = cio__waitq_check_waker(&k->wq);
    if (r < 0)
        return r;
    k->broken = broken;
    cio__waitq_wake_all(&k->wq, CIO__W_FAILED, -EPIPE);
    return 0;
}

int cio_barrier_reset(cio_barrier *b)
{
    return break_waiters(b, 0);
}

int cio_barrier_abort(cio_barrier *b)
{
    return break_waiters(b, 1);
}

int cio_barrier_n_waiting(const cio_barrier *b)
{
    const barrier_impl *k = impl_c(b);
    return k ? (int)k->wq.n : -EINVAL;
}

int cio_barrier_broken(const cio_barrier *b)
{
    const barrier_impl *k = impl_c(b);
    return k ? k->broken : -EINVAL;
}
