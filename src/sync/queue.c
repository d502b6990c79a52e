/*
 * queue.c - cio_queue: asyncio.Queue, LifoQueue and PriorityQueue, with
 * task_done/join and Python 3.13's shutdown.
 *
 * Waiting is by reservation, not by hand-off of items. A put that finds
 * getters waiting stores the item and wakes the first getter with a
 * reservation on one item (want_items); a get that frees a slot wakes the
 * first putter with a reservation on one slot (want_slots). The *_nowait
 * calls and fast paths only use what is not reserved, so nobody
 * overtakes a waiter, and the woken task takes its item (or fills its
 * slot) when it runs. A waiter cancelled after it was woken drops its
 * reservation and the next waiter is woken instead.
 *   Rejected: handing the item itself to the getter (what the lock does
 * with ownership). A getter cancelled after the hand-off would have to
 * put its item back at the head of the queue, which can need memory at a
 * moment where failing is not an option and can overfill a bounded
 * queue; handing a slot to a putter that is then cancelled would have
 * enqueued an item whose put reports failure.
 *
 * Invariants (checked by the tests, relied on here): want_items <= n;
 * getters wait only when every item is reserved; putters wait only when
 * every slot is taken or reserved. An immediate shutdown empties the
 * store and dissolves every item reservation, so a woken getter that
 * finds n == 0 knows it was shut down.
 *
 * Storage: one power-of-two ring buffer of void * for FIFO (pop at the
 * head) and LIFO (pop at the tail), a binary min-heap of (item, sequence)
 * for priority queues; the sequence makes equal priorities FIFO (Python's
 * heapq is not stable, but tuples with a counter are the documented
 * idiom). Both grow by doubling and never shrink: a queue's peak is
 * usually its steady state.
 */
#include <errno.h>

#include "sync/waitq.h"

typedef struct pq_ent {
    void *item;
    uint64_t seq;
} pq_ent;

struct cio_queue {
    uint32_t magic;
    cio_queue_kind kind;
    cio_loop *loop; /* pinned by cio_queue_new, or NULL */
    size_t maxsize;
    void **ring;
    pq_ent *heap;
    size_t cap, head, n;
    uint64_t seq;
    cio_queue_cmp cmp;
    void *cmp_arg;
    void (*item_dtor)(void *);
    size_t want_items; /* items reserved for woken getters */
    size_t want_slots; /* slots reserved for woken putters */
    size_t unfinished; /* items put and not yet task_done */
    int shutdown;
    cio__waitq getters, putters, joiners;
};

#define QUEUE_MIN_CAP 8

static cio_queue *impl(cio_queue *q)
{
    return q && q->magic == CIO__MAGIC_QUEUE ? q : NULL;
}

static const cio_queue *impl_c(const cio_queue *q)
{
    return q && q->magic == CIO__MAGIC_QUEUE ? q : NULL;
}

/* ---- store ---- */

static int pq_less(const cio_queue *q, const pq_ent *a, const pq_ent *b)
{
    int c = q->cmp(a->item, b->item, q->cmp_arg);
    return c < 0 || (c == 0 && a->seq < b->seq);
}

static int grow(cio_queue *q)
{
    if (q->n < q->cap)
        return 0;
    size_t ncap = q->cap ? q->cap * 2 : QUEUE_MIN_CAP;
    if (ncap < q->cap || ncap > SIZE_MAX / sizeof(pq_ent))
        return -ENOMEM;
    if (q->kind == CIO_QUEUE_PRIORITY) {
        pq_ent *h = cio__realloc(q->heap, ncap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        q->heap = h;
    } else {
        /* Unwrap into the new ring so that head is 0 again. */
        void **r = cio__malloc(ncap * sizeof(*r));
        if (!r)
            return -ENOMEM;
        for (size_t i = 0; i < q->n; i++)
            r[i] = q->ring[(q->head + i) & (q->cap - 1)];
        cio__free(q->ring);
        q->ring = r;
        q->head = 0;
    }
    q->cap = ncap;
    return 0;
}

static int store_push(cio_queue *q, void *item)
{
    if (CIO_UNLIKELY(q->n == q->cap)) {
        int r = grow(q);
        if (r < 0)
            return r;
    }
    if (q->kind != CIO_QUEUE_PRIORITY) {
        q->ring[(q->head + q->n) & (q->cap - 1)] = item;
        q->n++;
        return 0;
    }
    pq_ent e = {item, q->seq++};
    size_t i = q->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!pq_less(q, &e, &q->heap[p]))
            break;
        q->heap[i] = q->heap[p];
        i = p;
    }
    q->heap[i] = e;
    return 0;
}

static void *store_pop(cio_queue *q)
{
    CIO_ASSERT(q->n > 0);
    if (q->kind == CIO_QUEUE_FIFO) {
        void *item = q->ring[q->head];
        q->head = (q->head + 1) & (q->cap - 1);
        q->n--;
        return item;
    }
    if (q->kind == CIO_QUEUE_LIFO) {
        q->n--;
        return q->ring[(q->head + q->n) & (q->cap - 1)];
    }
    void *item = q->heap[0].item;
    pq_ent last = q->heap[--q->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && pq_less(q, &q->heap[c + 1], &q->heap[c]))
            c++;
        if (!pq_less(q, &q->heap[c], &last))
            break;
        q->heap[i] = q->heap[c];
        i = c;
    }
    if (q->n > 0)
        q->heap[i] = last;
    return item;
}

/* Empties the store, freeing each item with item_dtor; a dropped item
 * counts as done for join. */
static void drop_items(cio_queue *q)
{
    while (q->n > 0) {
        void *item = store_pop(q);
        if (q->item_dtor)
            q->item_dtor(item);
        if (q->unfinished > 0)
            q->unfinished--;
    }
}

/* ---- reservations ---- */

static int has_slot(const cio_queue *q)
{
    return q->maxsize == 0 || q->n + q->want_slots < q->maxsize;
}

/* Items became available (a put, a dropped reservation): wake getters. */
static void serve_getters(cio_queue *q)
{
    cio__waiter *w;
    while (q->n > q->want_items && (w = cio__waitq_first(&q->getters))) {
        q->want_items++;
        cio__waitq_wake(w, CIO__W_GRANTED, 0);
    }
}

/* Slots became available (a get, a dropped reservation): wake putters. */
static void serve_putters(cio_queue *q)
{
    cio__waiter *w;
    while (has_slot(q) && (w = cio__waitq_first(&q->putters))) {
        q->want_slots++;
        cio__waitq_wake(w, CIO__W_GRANTED, 0);
    }
}

static int add_item(cio_queue *q, void *item)
{
    int r = store_push(q, item);
    if (r < 0)
        return r;
    q->unfinished++;
    serve_getters(q);
    return 0;
}

static void *take_item(cio_queue *q)
{
    void *item = store_pop(q);
    serve_putters(q);
    return item;
}

/* ---- loop binding ---- */

static cio_loop *waiters_loop(const cio_queue *q)
{
    if (q->loop)
        return q->loop;
    if (q->getters.n)
        return q->getters.loop;
    if (q->putters.n)
        return q->putters.loop;
    if (q->joiners.n)
        return q->joiners.loop;
    return NULL;
}

/* May t, the caller, wait on q (NULL if q is no queue)? Only a task of
 * the queue's loop may. */
static int check_task(const cio_queue *q, const cio__task *t)
{
    if (!q || !t)
        return -EINVAL;
    cio_loop *l = waiters_loop(q);
    return !l || l == t->f.loop ? 0 : -EINVAL;
}

/* May the caller, task or callback, touch q (NULL if q is no queue)?
 * Not from a loop other than the queue's (pinned, or its waiters'). */
static int check_waker(const cio_queue *q)
{
    if (!q)
        return -EINVAL;
    cio_loop *l = waiters_loop(q);
    if (CIO_UNLIKELY(l && cio__tls_running && cio__tls_running != l))
        return -EINVAL;
    return 0;
}

/* ---- API ---- */

int cio_queue_new(cio_queue **out, cio_loop *loop, size_t maxsize,
                  const cio_queue_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_queue_opts o = CIO_QUEUE_OPTS_INIT;
    if (opts)
        o = *opts;
    if (o.kind != CIO_QUEUE_FIFO && o.kind != CIO_QUEUE_LIFO &&
        o.kind != CIO_QUEUE_PRIORITY)
        return -EINVAL;
    if (o.kind == CIO_QUEUE_PRIORITY && !o.cmp)
        return -EINVAL;
    if (loop && cio__loop_check(loop) < 0)
        return -EINVAL;
    cio_queue *q = cio__calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->magic = CIO__MAGIC_QUEUE;
    q->kind = o.kind;
    q->loop = loop;
    q->maxsize = maxsize;
    q->cmp = o.cmp;
    q->cmp_arg = o.cmp_arg;
    q->item_dtor = o.item_dtor;
    cio__waitq_init(&q->getters);
    cio__waitq_init(&q->putters);
    cio__waitq_init(&q->joiners);
    *out = q;
    return 0;
}

int cio_queue_free(cio_queue *q)
{
    if (!q)
        return 0;
    if (!impl(q))
        return -EINVAL;
    if (cio__waitq_busy(&q->getters) || cio__waitq_busy(&q->putters) ||
        cio__waitq_busy(&q->joiners))
        return -EBUSY;
    drop_items(q);
    q->magic = 0;
    cio__free(q->ring);
    cio__free(q->heap);
    cio__free(q);
    return 0;
}

int cio_queue_put_nowait(cio_queue *q, void *item)
{
    q = impl(q);
    int r = check_waker(q);
    if (r < 0)
        return r;
    if (q->shutdown)
        return -ESHUTDOWN;
    if (!has_slot(q))
        return -EAGAIN;
    return add_item(q, item);
}

int cio_queue_get_nowait(cio_queue *q, void **item)
{
    q = impl(q);
    if (!q || !item)
        return -EINVAL;
    int r = check_waker(q);
    if (r < 0)
        return r;
    if (q->n == q->want_items)
        return q->shutdown ? -ESHUTDOWN : -EAGAIN;
    *item = take_item(q);
    return 0;
}

int cio_queue_put(cio_queue *q, void *item)
{
    q = impl(q);
    cio__task *t = cio__tls_task;
    int r = check_task(q, t);
    if (r < 0)
        return r;
    if (q->shutdown)
        return -ESHUTDOWN;
    if (has_slot(q))
        return add_item(q, item);
    cio__waiter w;
    r = cio__waitq_wait(&q->putters, &w, t, "queue put");
    if (w.state == CIO__W_FAILED)
        return r < 0 ? r : w.err; /* a cancellation is never swallowed */
    if (w.state == CIO__W_CANCELLED)
        return r;
    q->want_slots--;
    if (r == 0 && q->shutdown)
        r = -ESHUTDOWN; /* woken, then shut down before it ran */
    if (r == 0)
        r = add_item(q, item);
    if (r < 0)
        serve_putters(q); /* the slot was not used: pass it on */
    return r;
}

int cio_queue_get(cio_queue *q, void **item)
{
    q = impl(q);
    cio__task *t = cio__tls_task;
    int r = item ? check_task(q, t) : -EINVAL;
    if (r < 0)
        return r;
    if (q->n > q->want_items) {
        *item = take_item(q);
        return 0;
    }
    if (q->shutdown)
        return -ESHUTDOWN;
    cio__waiter w;
    r = cio__waitq_wait(&q->getters, &w, t, "queue get");
    if (w.state == CIO__W_FAILED)
        return r < 0 ? r : w.err;
    if (w.state == CIO__W_CANCELLED)
        return r;
    if (q->n == 0) {
        /* An immediate shutdown dropped the reserved item. */
        return r < 0 ? r : -ESHUTDOWN;
    }
    q->want_items--;
    if (r < 0) {
        serve_getters(q); /* the item was not taken: pass it on */
        return r;
    }
    *item = take_item(q);
    return 0;
}

int cio_queue_task_done(cio_queue *q)
{
    q = impl(q);
    if (!q || q->unfinished == 0)
        return -EINVAL;
    int r = check_waker(q);
    if (r < 0)
        return r;
    if (--q->unfinished == 0)
        cio__waitq_wake_all(&q->joiners, CIO__W_GRANTED, 0);
    return 0;
}

int cio_queue_join(cio_queue *q)
{
    q = impl(q);
    cio__task *t = cio__tls_task;
    int r = check_task(q, t);
    if (r < 0)
        return r;
    if (q->unfinished == 0)
        return 0;
    cio__waiter w;
    return cio__waitq_wait(&q->joiners, &w, t, "queue join");
}

int cio_queue_shutdown(cio_queue *q, int immediate)
{
    q = impl(q);
    int r = check_waker(q);
    if (r < 0)
        return r;
    q->shutdown = 1;
    if (immediate) {
        drop_items(q);
        q->want_items = 0;
        if (q->unfinished == 0)
            cio__waitq_wake_all(&q->joiners, CIO__W_GRANTED, 0);
    }
    cio__waitq_wake_all(&q->getters, CIO__W_FAILED, -ESHUTDOWN);
    cio__waitq_wake_all(&q->putters, CIO__W_FAILED, -ESHUTDOWN);
    return 0;
}

ssize_t cio_queue_qsize(const cio_queue *q)
{
    q = impl_c(q);
    return q ? (ssize_t)q->n : -EINVAL;
}

int cio_queue_empty(const cio_queue *q)
{
    q = impl_c(q);
    return q ? q->n == 0 : -EINVAL;
}

int cio_queue_full(const cio_queue *q)
{
    q = impl_c(q);
    return q ? !has_slot(q) : -EINVAL;
}

size_t cio_queue_maxsize(const cio_queue *q)
{
    q = impl_c(q);
    return q ? q->maxsize : 0;
}
