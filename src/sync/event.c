/*
 * event.c - cio_event, asyncio.Event for tasks.
 *
 * set wakes every waiter at once and each waiter's outcome is fixed
 * there (its node says granted), so clearing the event before they run
 * does not un-wake them, as in asyncio where set resolves the waiters'
 * futures. A waiter cancelled before set is unlinked and never counted; a
 * waiter cancelled after set but before it ran returns -ECANCELED (the
 * cancellation is never swallowed) and takes nothing from the others: an
 * event is level-triggered, there is no wake-up to pass on.
 *
 * Rejected: a wake-up counter or generation number instead of per-node
 * state; the node already carries it and a generation would need a
 * wrap-around argument.
 */
#include <errno.h>

#include "sync/waitq.h"

typedef struct event_impl {
    uint32_t magic;
    int flag;
    cio__waitq wq;
} event_impl;

_Static_assert(sizeof(event_impl) <= sizeof(cio_event),
               "cio_event is too small for event_impl");
_Static_assert(_Alignof(event_impl) <= _Alignof(cio_event),
               "cio_event is not aligned enough for event_impl");

static event_impl *impl(cio_event *e)
{
    event_impl *k = (event_impl *)(void *)e;
    return k && k->magic == CIO__MAGIC_EVENT ? k : NULL;
}

int cio_event_init(cio_event *e)
{
    if (!e)
        return -EINVAL;
    memset(e, 0, sizeof(*e));
    event_impl *k = (event_impl *)(void *)e;
    k->magic = CIO__MAGIC_EVENT;
    cio__waitq_init(&k->wq);
    return 0;
}

int cio_event_destroy(cio_event *e)
{
    event_impl *k = impl(e);
    return k ? cio__waitq_retire(&k->wq, &k->magic) : -EINVAL;
}

int cio_event_wait(cio_event *e)
{
    event_impl *k = impl(e);
    cio__task *t = cio__tls_task;
    if (!k || !t)
        return CIO_MISUSE(t ? "NULL event" : "called outside a task");
    if (k->flag)
        return 0;
    int r = cio__waitq_check_task(&k->wq, t);
    if (r < 0)
        return r;
    cio__waiter w;
    return cio__waitq_wait(&k->wq, &w, t, "event");
}

int cio_event_set(cio_event *e)
{
    event_impl *k = impl(e);
    if (!k)
        return -EINVAL;
    int r = cio__waitq_check_waker(&k->wq);
    if (r < 0)
        return r;
    k->flag = 1;
    cio__waitq_wake_all(&k->wq, CIO__W_GRANTED, 0);
    return 0;
}

int cio_event_clear(cio_event *e)
{
    event_impl *k = impl(e);
    if (!k)
        return -EINVAL;
    k->flag = 0;
    return 0;
}

int cio_event_is_set(const cio_event *e)
{
    const event_impl *k = (const event_impl *)(const void *)e;
    if (!k || k->magic != CIO__MAGIC_EVENT)
        return -EINVAL;
    return k->flag;
}
