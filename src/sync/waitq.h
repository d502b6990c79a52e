/*
 * waitq.h - the intrusive wait queue every primitive of sync/ is built on.
 *
 * A waiter node lives on the waiting task's stack and is linked into the
 * primitive's queue, so waiting and waking never allocate. Waking is a
 * hand-off: the waker unlinks the node, records what was granted in it
 * (w->state) and queues the task. The node therefore tells the task,
 * once it runs again, whether it was granted something before a
 * cancellation reached it (cio__task_suspend_on then returns -ECANCELED
 * with w->state == CIO__W_GRANTED); the primitive must then pass the
 * grant on, which is what makes every primitive cancellation-safe.
 *
 * `woken` counts nodes granted whose task has not run yet: they still
 * point at the primitive, so _destroy/_free refuse (-EBUSY) while it is
 * non-zero. The queue's loop is that of its waiters while it has any.
 *
 * Rejected: a future per waiter (asyncio's shape): one allocation and
 * one done callback per wait, and the cancel/grant race would then live
 * in the future's state instead of one byte on the stack.
 */
#ifndef CIO_SYNC_WAITQ_H
#define CIO_SYNC_WAITQ_H

#include <errno.h>
#include <limits.h>

#include "task/task.h"

enum {
    CIO__W_WAITING = 0,
    CIO__W_GRANTED,  /* woken with what it waited for */
    CIO__W_FAILED,   /* woken with an error (w->err): shutdown, broken */
    CIO__W_CANCELLED /* unlinked by its task's cancellation */
};

typedef struct cio__waitq {
    cio__list head;
    cio_loop *loop; /* of the waiters, while there are any */
    uint32_t n;     /* nodes linked */
    uint32_t woken; /* nodes granted or failed whose task has not run yet */
} cio__waitq;

typedef struct cio__waiter {
    cio__list link;
    cio__task *task;
    cio__waitq *wq;
    int state;
    int err;       /* with CIO__W_FAILED */
    uintptr_t aux; /* primitive-specific (barrier: arrival index) */
} cio__waiter;

/* Magic values in the first word of each caller-storage primitive: a
 * zeroed or destroyed object is refused with -EINVAL. */
#define CIO__MAGIC_LOCK 0x4c4f434bu    /* "LOCK" */
#define CIO__MAGIC_EVENT 0x45564e54u   /* "EVNT" */
#define CIO__MAGIC_COND 0x434f4e44u    /* "COND" */
#define CIO__MAGIC_SEM 0x53454d41u     /* "SEMA" */
#define CIO__MAGIC_BARRIER 0x42415252u /* "BARR" */
#define CIO__MAGIC_QUEUE 0x51554555u   /* "QUEU" */

/* The lock of an initialised condition, or NULL (cond.c; for guards). */
cio_lock *cio__cond_lock(cio_cond *c);

static inline void cio__waitq_init(cio__waitq *wq)
{
    cio__list_init(&wq->head);
    wq->loop = NULL;
    wq->n = 0;
    wq->woken = 0;
}

static inline int cio__waitq_busy(const cio__waitq *wq)
{
    return wq->n != 0 || wq->woken != 0;
}

/* The end of a primitive's _destroy: refused with -EBUSY while nodes
 * still point at it, else its magic is cleared so that later calls get
 * -EINVAL. */
static inline int cio__waitq_retire(const cio__waitq *wq, uint32_t *magic)
{
    if (cio__waitq_busy(wq))
        return -EBUSY;
    *magic = 0;
    return 0;
}

static inline cio__waiter *cio__waitq_first(cio__waitq *wq)
{
    if (wq->n == 0)
        return NULL;
    return cio__container_of(wq->head.next, cio__waiter, link);
}

/* May a caller that is not a waiter (a releaser, a setter) touch wq? Only
 * from the waiters' loop, when there are waiters; a plain callback with
 * no loop running (set-up code in main) is let through. */
static inline int cio__waitq_check_waker(const cio__waitq *wq)
{
    if (CIO_UNLIKELY(wq->n != 0 && cio__tls_running &&
                     cio__tls_running != wq->loop))
        return -EINVAL;
    return 0;
}

/* May task t wait on wq? Its loop must be the current waiters' loop. */
static inline int cio__waitq_check_task(const cio__waitq *wq,
                                        const cio__task *t)
{
    if (CIO_UNLIKELY(wq->n != 0 && wq->loop != t->f.loop))
        return -EINVAL;
    return 0;
}

/* Wakes w's task with state (CIO__W_GRANTED or CIO__W_FAILED + err). */
static inline void cio__waitq_wake(cio__waiter *w, int state, int err)
{
    cio__waitq *wq = w->wq;
    cio__list_remove(&w->link);
    wq->n--;
    wq->woken++;
    w->state = state;
    w->err = err;
    cio__unpark(w->task, 0);
}

/* Wakes up to n waiters of wq in FIFO order. Returns how many. */
static inline int cio__waitq_wake_n(cio__waitq *wq, int n, int state, int err)
{
    int k = 0;
    cio__waiter *w;
    while (k < n && (w = cio__waitq_first(wq)) != NULL) {
        cio__waitq_wake(w, state, err);
        k++;
    }
    return k;
}

/* Wakes every waiter of wq in FIFO order. Returns how many. */
static inline int cio__waitq_wake_all(cio__waitq *wq, int state, int err)
{
    return cio__waitq_wake_n(wq, INT_MAX, state, err);
}

/* Suspends task t (the caller, checked with cio__waitq_check_task) at the
 * tail of wq until a waker hands it something or it is cancelled.
 * Returns: what cio__task_suspend_on returns; the outcome is in
 * w->state: GRANTED or FAILED (also possible with -ECANCELED: granted,
 * then cancelled before it ran) or CANCELLED (unlinked, nothing
 * granted). */
static inline int cio__waitq_cancel(cio__task *t)
{
    cio__waiter *w = cio__park_arg(t);
    cio__list_remove(&w->link);
    w->wq->n--;
    w->state = CIO__W_CANCELLED;
    cio__unpark(t, -ECANCELED);
    return 1;
}

static inline int cio__waitq_wait(cio__waitq *wq, cio__waiter *w, cio__task *t,
                                  const char *what)
{
    if (wq->n == 0)
        wq->loop = t->f.loop;
    w->task = t;
    w->wq = wq;
    w->state = CIO__W_WAITING;
    w->err = 0;
    cio__list_insert_tail(&wq->head, &w->link);
    wq->n++;
    int r = cio__park(t, cio__waitq_cancel, w, what);
    CIO_ASSERT(w->state != CIO__W_WAITING);
    if (w->state != CIO__W_CANCELLED)
        wq->woken--;
    return r;
}

#endif
