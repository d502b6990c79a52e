/*
 * cio/sync.h - synchronization primitives and queues for tasks. Included
 * by cio.h; do not include directly.
 */
#ifndef CIO_SYNC_H
#define CIO_SYNC_H

#ifndef CIO_H
#error "include cio.h, not cio/sync.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Synchronization: Lock, Event, Condition, Semaphore, Barrier
 * asyncio's primitives for tasks of one loop, not for threads. Waiters
 * are served in FIFO order and a wake-up is handed to a waiter directly,
 * so a newcomer never overtakes a waiter. Cancellation-safe: a waiter
 * cancelled after it was granted the lock, a permit or a notification
 * passes it on to the next waiter before returning -ECANCELED. Deadlines
 * come from timeout scopes (cio_timeout_begin/_end), which cancel.
 *
 * Storage is the caller's: _init before use, _destroy after (a zeroed,
 * never-initialised object is refused with -EINVAL). A primitive is bound
 * to no loop while nobody waits on it; the tasks waiting on it at one
 * time must all belong to one loop (asyncio 3.10+ binds to the loop of
 * the first waiter), so a static primitive works across cio_run calls.
 * The non-suspending calls (release, set, notify...) also work from plain
 * callbacks of that loop.
 * ====================================================================== */

/* asyncio.Lock: a non-reentrant mutex with no owner (any task may release
 * it, as in asyncio). */
typedef struct cio_lock {
    void *opaque_[8];
} cio_lock;

/* Initialises an unlocked lock in caller storage (l is borrowed until
 * cio_lock_destroy). Returns: 0. Errors: -EINVAL if l is NULL. */
CIO_API int cio_lock_init(cio_lock *l);

/* Ends the lock's life. Returns: 0. Errors: -EINVAL (NULL, not
 * initialised), -EBUSY if it is locked or a task waits on it (it is then
 * left intact). */
CIO_API int cio_lock_destroy(cio_lock *l);

/* Acquires the lock, waiting in FIFO order while it is held. If the
 * calling task is cancelled after the lock was handed to it, the lock
 * goes on to the next waiter. Returns: 0, the caller holds the lock.
 * Errors: -ECANCELED (not acquired), -EINVAL (NULL, not initialised,
 * outside a task, a waiter of another loop). Suspends. */
CIO_API int cio_lock_acquire(cio_lock *l);

/* Acquires the lock if it is free and nobody waits. Never suspends.
 * Returns: 0. Errors: -EAGAIN if held or contended, -EINVAL. */
CIO_API int cio_lock_try_acquire(cio_lock *l);

/* Releases the lock; the first waiter, if any, now holds it. Returns: 0.
 * Errors: -EINVAL if not locked (asyncio's RuntimeError), NULL, not
 * initialised, or called from another loop than the waiters'. */
CIO_API int cio_lock_release(cio_lock *l);

/* Returns: 1 if locked, 0 if not. Errors: -EINVAL (NULL, not
 * initialised). */
CIO_API int cio_lock_locked(const cio_lock *l);

/* asyncio.Event: a flag that tasks can wait for. */
typedef struct cio_event {
    void *opaque_[8];
} cio_event;

/* Initialises a cleared event in caller storage (borrowed until
 * cio_event_destroy). Returns: 0. Errors: -EINVAL on NULL. */
CIO_API int cio_event_init(cio_event *e);

/* Ends the event's life. Returns: 0. Errors: -EINVAL, -EBUSY if a task
 * waits on it or is still returning from a wait. */
CIO_API int cio_event_destroy(cio_event *e);

/* Waits until the event is set; returns at once if it already is.
 * Returns: 0. Errors: -ECANCELED, -EINVAL (NULL, not initialised,
 * outside a task, a waiter of another loop). Suspends. */
CIO_API int cio_event_wait(cio_event *e);

/* Sets the flag and wakes every waiter (FIFO). Returns: 0. Errors:
 * -EINVAL. */
CIO_API int cio_event_set(cio_event *e);

/* Clears the flag; waiters already woken still return 0. Returns: 0.
 * Errors: -EINVAL. */
CIO_API int cio_event_clear(cio_event *e);

/* Returns: 1 if set, 0 if not. Errors: -EINVAL. */
CIO_API int cio_event_is_set(const cio_event *e);

/* asyncio.Condition over a cio_lock. */
typedef struct cio_cond {
    void *opaque_[8];
} cio_cond;

/* Initialises a condition variable that uses lock (borrowed: it must
 * outlive the condition; unlike asyncio there is no implicit lock).
 * Returns: 0. Errors: -EINVAL (NULL, lock not initialised). */
CIO_API int cio_cond_init(cio_cond *c, cio_lock *lock);

/* Ends the condition's life (not the lock's). Returns: 0. Errors:
 * -EINVAL, -EBUSY if a task waits on it. */
CIO_API int cio_cond_destroy(cio_cond *c);

/* Releases the lock, waits for a notify, then re-acquires the lock, also
 * when cancelled (asyncio 3.11+), so the caller holds the lock whenever
 * this returns something other than -EINVAL. A waiter cancelled after it
 * was notified passes the notification on. Returns: 0. Errors:
 * -ECANCELED, -EINVAL (NULL, not initialised, lock not held, outside a
 * task, a waiter of another loop). Suspends. */
CIO_API int cio_cond_wait(cio_cond *c);

/* Waits until pred(arg) returns nonzero: calls it first, then after
 * each wake-up, always with the lock held. pred and arg are borrowed for
 * the call. Returns: 0 once pred returned > 0. Errors: pred's own
 * negative return, and those of cio_cond_wait. Suspends. */
CIO_API int cio_cond_wait_for(cio_cond *c, int (*pred)(void *arg), void *arg);

/* Wakes up to n (>= 0) waiters in FIFO order; the caller must hold the
 * lock. Returns: the number woken. Errors: -EINVAL (NULL, not
 * initialised, n < 0, lock not held). */
CIO_API int cio_cond_notify(cio_cond *c, int n);

/* Wakes every waiter; the caller must hold the lock. Returns: the number
 * woken. Errors: -EINVAL as cio_cond_notify. */
CIO_API int cio_cond_notify_all(cio_cond *c);

/* asyncio.Semaphore and asyncio.BoundedSemaphore. */
typedef struct cio_sem {
    void *opaque_[8];
} cio_sem;

/* cio_sem_init flag: release beyond the initial value is an error. */
#define CIO_SEM_BOUNDED 1u

/* Initialises a semaphore holding value permits (>= 0). flags: 0 or
 * CIO_SEM_BOUNDED (asyncio.BoundedSemaphore). Returns: 0. Errors:
 * -EINVAL (NULL, value < 0, unknown flag). */
CIO_API int cio_sem_init(cio_sem *s, int value, unsigned flags);

/* Ends the semaphore's life. Returns: 0. Errors: -EINVAL, -EBUSY if a
 * task waits on it or is still returning from a wait. */
CIO_API int cio_sem_destroy(cio_sem *s);

/* Takes a permit, waiting in FIFO order while none is free. A waiter
 * cancelled after a permit was handed to it passes the permit on.
 * Returns: 0. Errors: -ECANCELED (no permit taken), -EINVAL (NULL, not
 * initialised, outside a task, a waiter of another loop). Suspends. */
CIO_API int cio_sem_acquire(cio_sem *s);

/* Takes a permit if one is free and nobody waits. Returns: 0. Errors:
 * -EAGAIN, -EINVAL. */
CIO_API int cio_sem_try_acquire(cio_sem *s);

/* Returns a permit: to the first waiter if any, else to the count.
 * Returns: 0. Errors: -EOVERFLOW for a bounded semaphore already at its
 * initial value (asyncio's ValueError) or a count at INT_MAX, -EINVAL. */
CIO_API int cio_sem_release(cio_sem *s);

/* Returns: the number of free permits (>= 0). Errors: -EINVAL. */
CIO_API int cio_sem_value(const cio_sem *s);

/* asyncio.Barrier: parties tasks wait until all have arrived. */
typedef struct cio_barrier {
    void *opaque_[8];
} cio_barrier;

/* Initialises a barrier for parties (>= 1) tasks. Returns: 0. Errors:
 * -EINVAL (NULL, parties == 0 or > INT_MAX). */
CIO_API int cio_barrier_init(cio_barrier *b, unsigned parties);

/* Ends the barrier's life. Returns: 0. Errors: -EINVAL, -EBUSY if a
 * task waits on it or is still returning from a wait. */
CIO_API int cio_barrier_destroy(cio_barrier *b);

/* Waits until parties tasks (this one included) are waiting, then all
 * of them pass and the barrier is ready for the next round. Returns: the
 * arrival index, 0 for the first task to arrive up to parties - 1 for the
 * one that released the others (asyncio's Barrier.wait). Errors: -EPIPE
 * if the barrier is broken or was reset or aborted while waiting
 * (asyncio's BrokenBarrierError), -ECANCELED (this task leaves; the
 * others keep waiting), -EINVAL (NULL, not initialised, outside a task, a
 * waiter of another loop). Suspends. */
CIO_API int cio_barrier_wait(cio_barrier *b);

/* Resets the barrier to its empty state: tasks waiting now return
 * -EPIPE, and a broken barrier becomes usable again. Never suspends
 * (asyncio's reset is a coroutine only because it takes a lock).
 * Returns: 0. Errors: -EINVAL. */
CIO_API int cio_barrier_reset(cio_barrier *b);

/* Breaks the barrier: tasks waiting now, and every later wait until
 * cio_barrier_reset, return -EPIPE. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_barrier_abort(cio_barrier *b);

/* Returns: the number of tasks waiting now. Errors: -EINVAL. */
CIO_API int cio_barrier_n_waiting(const cio_barrier *b);

/* Returns: 1 if broken (aborted), 0 if not. Errors: -EINVAL. */
CIO_API int cio_barrier_broken(const cio_barrier *b);

/* ======================================================================
 * Scoped acquisition: asyncio's `async with lock:` in C
 * A guard holds a lock, a semaphore permit or a condition's lock and
 * gives it back when it goes out of scope, on every path out of the block
 * (end, break, continue, return, goto), a cancellation included:
 *
 *     int rc;
 *     CIO_WITH_LOCK(&lock, &rc) {
 *         if (cio_sleep(CIO_MS) < 0)
 *             return -ECANCELED;   // the lock is released here too
 *         ...
 *     }
 *     if (rc < 0)                  // not acquired: the block did not run
 *         return rc;
 *
 * CIO_WITH_COND(&cond, &rc) takes the condition's lock, so cio_cond_wait
 * inside it, which returns holding the lock even when cancelled, can
 * leave by any path. The macros use the cleanup attribute of GCC and
 * Clang (__GNUC__) and are not defined elsewhere; cio_guard_* and
 * cio_task_defer work with any compiler. With CIO_DEBUG, a task that ends
 * while holding a cio_lock is reported to the exception handler.
 * ====================================================================== */

/* What a guard holds (a small value type; read only through the calls). */
typedef struct cio_guard {
    void *obj_; /* the primitive, NULL once released or never acquired */
    int kind_;
} cio_guard;

/* Acquires l (cio_lock_acquire) for a guard. l is borrowed while the
 * guard holds it. rc (may be NULL) receives the outcome. Returns: a guard
 * holding l, or one holding nothing if acquiring failed (*rc: -ECANCELED,
 * -EINVAL). Suspends. */
CIO_API cio_guard cio_guard_lock(cio_lock *l, int *rc);

/* Takes a permit of s (cio_sem_acquire) for a guard. As cio_guard_lock.
 * Suspends. */
CIO_API cio_guard cio_guard_sem(cio_sem *s, int *rc);

/* Acquires the lock of condition c for a guard. As cio_guard_lock.
 * Suspends. */
CIO_API cio_guard cio_guard_cond(cio_cond *c, int *rc);

/* Returns: 1 if g holds something, 0 if not (or g is NULL). */
CIO_API int cio_guard_held(const cio_guard *g);

/* Gives back what g holds (cio_lock_release, cio_sem_release) and empties
 * it; an empty guard or NULL is ignored, so it may be called twice. Never
 * suspends. It is the cleanup function of the CIO_WITH_* macros. */
CIO_API void cio_guard_release(cio_guard *g);

#if defined(__GNUC__)
#define CIO_GUARD_CAT2_(a, b) a##b
#define CIO_GUARD_CAT_(a, b) CIO_GUARD_CAT2_(a, b)
#define CIO_WITH_GUARD_(g, init)                                               \
    for (cio_guard g __attribute__((cleanup(cio_guard_release))) = (init);     \
         cio_guard_held(&g); cio_guard_release(&g))
/* Runs the following statement holding l; rc (int *, may be NULL) gets
 * the acquire's outcome: 0, or an error, and the statement is skipped. */
#define CIO_WITH_LOCK(l, rc)                                                   \
    CIO_WITH_GUARD_(CIO_GUARD_CAT_(cio_guard_l_, __LINE__),                    \
                    cio_guard_lock((l), (rc)))
/* Runs the following statement holding a permit of s. As CIO_WITH_LOCK. */
#define CIO_WITH_SEM(s, rc)                                                    \
    CIO_WITH_GUARD_(CIO_GUARD_CAT_(cio_guard_s_, __LINE__),                    \
                    cio_guard_sem((s), (rc)))
/* Runs the following statement holding c's lock. As CIO_WITH_LOCK. */
#define CIO_WITH_COND(c, rc)                                                   \
    CIO_WITH_GUARD_(CIO_GUARD_CAT_(cio_guard_c_, __LINE__),                    \
                    cio_guard_cond((c), (rc)))
#endif

/* ======================================================================
 * Queues: FIFO, LIFO, priority
 * asyncio.Queue, LifoQueue and PriorityQueue with Python 3.13's shutdown.
 * Items are void * carried as is; the queue frees nothing unless it was
 * given an item destructor. Waiting getters and putters are served in
 * FIFO order; a woken waiter's item (or free slot) is reserved for it, so
 * a *_nowait call never takes it, and a waiter cancelled after it was
 * woken passes the reservation on. The item store is a ring buffer (a
 * binary heap for priority queues) that grows geometrically: put
 * allocates only when it grows the store.
 * ====================================================================== */

typedef struct cio_queue cio_queue;

typedef enum cio_queue_kind {
    CIO_QUEUE_FIFO = 0,    /* asyncio.Queue */
    CIO_QUEUE_LIFO = 1,    /* asyncio.LifoQueue */
    CIO_QUEUE_PRIORITY = 2 /* asyncio.PriorityQueue, ordered by cmp */
} cio_queue_kind;

/* Orders items of a priority queue: < 0 if a comes out before b, 0 if
 * equal (equal items come out in FIFO order), > 0 otherwise. */
typedef int (*cio_queue_cmp)(const void *a, const void *b, void *arg);

typedef struct cio_queue_opts {
    cio_queue_kind kind;
    cio_queue_cmp cmp; /* required for CIO_QUEUE_PRIORITY */
    void *cmp_arg;     /* borrowed until cio_queue_free */
    /* If set, the queue takes the items it holds: those dropped by an
     * immediate shutdown or left at cio_queue_free are passed to it. */
    void (*item_dtor)(void *item);
} cio_queue_opts;

#define CIO_QUEUE_OPTS_INIT                                                    \
    {                                                                          \
        CIO_QUEUE_FIFO, NULL, NULL, NULL                                       \
    }

/* Creates a queue holding at most maxsize items (0: unbounded). loop is
 * borrowed until cio_queue_free: only its tasks may wait on the queue;
 * NULL binds it, like the primitives above, to the loop of its waiters.
 * opts is borrowed for the call (NULL: a FIFO queue). Returns: 0 and *out.
 * Errors: -EINVAL (NULL out, bad kind, priority without cmp, closed
 * loop), -ENOMEM; *out is NULL on failure. */
CIO_API int cio_queue_new(cio_queue **out, cio_loop *loop, size_t maxsize,
                          const cio_queue_opts *opts);

/* Frees the queue. Items still queued go to opts.item_dtor if set (else
 * they are simply forgotten). NULL is ignored. Returns: 0. Errors:
 * -EBUSY if a task waits on the queue or is still returning from a wait
 * (the queue is then left intact). */
CIO_API int cio_queue_free(cio_queue *q);

/* Adds item, waiting in FIFO order while the queue is full. item is
 * carried as is (taken if opts.item_dtor is set); on failure it stays the
 * caller's. Returns: 0. Errors: -ESHUTDOWN (shut down before or while
 * waiting), -ECANCELED (not added), -ENOMEM (growing the store), -EINVAL
 * (NULL q, outside a task, a task of another loop). Suspends. */
CIO_API int cio_queue_put(cio_queue *q, void *item);

/* Removes and returns the next item in *item, waiting in FIFO order
 * while the queue is empty. The item is taken by the caller: the queue
 * forgets it (opts.item_dtor no longer applies to it). Returns: 0. Errors: -ESHUTDOWN (shut down
 * and no item left for this caller), -ECANCELED (nothing removed),
 * -EINVAL (NULL, outside a task, a task of another loop). Suspends. */
CIO_API int cio_queue_get(cio_queue *q, void **item);

/* Adds item without waiting. Returns: 0. Errors: -EAGAIN if full,
 * -ESHUTDOWN, -ENOMEM, -EINVAL (NULL, called from another loop than the
 * waiters'). */
CIO_API int cio_queue_put_nowait(cio_queue *q, void *item);

/* Removes the next item without waiting (items reserved for woken
 * getters are not available). Returns: 0 and *item. Errors: -EAGAIN if
 * empty, -ESHUTDOWN if empty and shut down, -EINVAL. */
CIO_API int cio_queue_get_nowait(cio_queue *q, void **item);

/* Marks one item obtained by a get as processed; when every item put has
 * been marked, join returns. Returns: 0. Errors: -EINVAL if called more
 * times than items were put (asyncio's ValueError), or on NULL. */
CIO_API int cio_queue_task_done(cio_queue *q);

/* Waits until every item put has been marked done (or dropped by an
 * immediate shutdown). Returns: 0. Errors: -ECANCELED, -EINVAL (NULL,
 * outside a task, a task of another loop). Suspends. */
CIO_API int cio_queue_join(cio_queue *q);

/* Shuts the queue down (Python 3.13): puts fail with -ESHUTDOWN from now
 * on, waiting putters are woken with -ESHUTDOWN, and gets return the
 * remaining items, then -ESHUTDOWN (waiting getters at once). With
 * immediate, the remaining items are dropped too (passed to
 * opts.item_dtor if set) and counted as done, which unblocks join once
 * the count reaches zero. Calling it again is allowed. Returns: 0.
 * Errors: -EINVAL. */
CIO_API int cio_queue_shutdown(cio_queue *q, int immediate);

/* Returns: the number of items in the queue (including those reserved
 * for woken getters). Errors: -EINVAL on NULL. */
CIO_API ssize_t cio_queue_qsize(const cio_queue *q);

/* Returns: 1 if the queue holds no item, 0 if not. Errors: -EINVAL. */
CIO_API int cio_queue_empty(const cio_queue *q);

/* Returns: 1 if a put would wait (maxsize items, counting slots reserved
 * for woken putters), 0 if not (always 0 when unbounded). Errors:
 * -EINVAL. */
CIO_API int cio_queue_full(const cio_queue *q);

/* Returns: maxsize as given to cio_queue_new (0: unbounded). */
CIO_API size_t cio_queue_maxsize(const cio_queue *q);

#ifdef __cplusplus
}
#endif

#endif
