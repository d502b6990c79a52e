/*
 * cio/wait.h - composing tasks: wait, gather, as_completed, wait_for,
 * shield, timeout scopes and task groups. Included by cio.h; do not
 * include directly.
 *
 * Items to wait on are cio_awaitable values: a future (retained by the
 * call) or a coroutine value, which is wrapped as a task on the running
 * loop, as asyncio.wait([func(1), func(3)]) does.
 */
#ifndef CIO_WAIT_H
#define CIO_WAIT_H

#ifndef CIO_H
#error "include cio.h, not cio/wait.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* A future, or a coroutine to wrap as a task (exactly one of the two). */
typedef struct cio_awaitable {
    cio_future *future;
    cio_coro coro;
} cio_awaitable;

/* CIO_AW_FUTURE(f) / CIO_AW_CORO(fn, arg): the two kinds of awaitable.
 * Compound literals in C; in C++ the inline functions below. */
#ifdef __cplusplus
/* C++ form of CIO_AW_FUTURE: returns the awaitable of future f
 * (borrowed). */
static inline cio_awaitable cio_awaitable_future(cio_future *f)
{
    cio_awaitable a;
    a.future = f;
    a.coro.fn = NULL;
    a.coro.arg = NULL;
    return a;
}
/* C++ form of CIO_AW_CORO: returns the awaitable of coroutine fn(arg). */
static inline cio_awaitable cio_awaitable_coro(cio_coro_fn fn, void *arg)
{
    cio_awaitable a;
    a.future = NULL;
    a.coro.fn = fn;
    a.coro.arg = arg;
    return a;
}
#define CIO_AW_FUTURE(f) cio_awaitable_future((f))
#define CIO_AW_CORO(fn, arg) cio_awaitable_coro((fn), (void *)(arg))
#else
#define CIO_AW_FUTURE(f) ((cio_awaitable){(f), {NULL, NULL}})
#define CIO_AW_CORO(fn, arg) ((cio_awaitable){NULL, {(fn), (void *)(arg)}})
#endif

typedef enum cio_return_when {
    CIO_ALL_COMPLETED = 0,
    CIO_FIRST_COMPLETED = 1,
    CIO_FIRST_EXCEPTION = 2 /* first error (cancellation is not one) */
} cio_return_when;

/* asyncio.wait: waits until `when` is satisfied or timeout ns pass
 * (timeout < 0: no timeout). Coroutines are wrapped as tasks. Like
 * asyncio, it works on the set of distinct futures: a future given more
 * than once counts, and is reported, once. done and pending must each
 * have room for n entries; they receive one reference per distinct
 * future (the caller releases each), done in completion order. Nothing
 * is cancelled on timeout. ndone/npending receive the counts.
 * Returns: 0 (also on timeout). Errors: -EINVAL (outside a task, n == 0,
 * a bad item), -ENOMEM, -ECANCELED (the caller was cancelled; the items
 * are left running and both arrays are still filled). Suspends. */
CIO_API int cio_wait(const cio_awaitable *items, size_t n, int64_t timeout,
                     cio_return_when when, cio_future **done, size_t *ndone,
                     cio_future **pending, size_t *npending);

/* asyncio.gather: a future that completes when every item has. Coroutines
 * are wrapped as tasks on loop. Without return_errors, the first child
 * error completes the gather future with that error at once (the other
 * children keep running); with it, the gather future completes with 0
 * once all are done and each child's error is reported by
 * cio_gather_results. A child cancelled by someone else counts as an
 * error (-ECANCELED) in both modes, as in asyncio. Cancelling the gather
 * future cancels every child that is not done; it then ends cancelled.
 * items is borrowed for the call only (the gather keeps its own copy):
 * each future in it is retained by the gather, each coroutine becomes a
 * task the gather owns. Returns: 0 and one reference in *out (the caller
 * releases it). Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_gather(cio_loop *loop, const cio_awaitable *items, size_t n,
                       int return_errors, cio_future **out);

/* Results of a done gather future, in argument order: results[i] gets
 * child i's result (NULL if it failed), errors[i] (may be NULL) its
 * outcome (0, error, -ECANCELED). n must equal the number of children.
 * Returns: 0. Errors: -EINVAL (not a gather future, wrong n), -EAGAIN if
 * children are still running. */
CIO_API int cio_gather_results(cio_future *gather, void **results,
                               int *errors, size_t n);

/* asyncio.as_completed: an iterator yielding futures as they complete. */
typedef struct cio_as_completed cio_as_completed;

/* Starts iterating (coroutines are wrapped as tasks on loop) over the
 * distinct futures: one given more than once is yielded once, as
 * asyncio's set(fs). timeout < 0: none; otherwise a deadline for the
 * whole iteration. Returns: 0. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_as_completed_new(cio_loop *loop, const cio_awaitable *items,
                                 size_t n, int64_t timeout,
                                 cio_as_completed **out);

/* Waits for the next completed future. Returns: 1 and *f (one reference,
 * the caller releases it), or 0 when all were returned. Errors:
 * -ETIMEDOUT once the deadline passed (nothing is cancelled),
 * -ECANCELED, -EINVAL. Suspends. */
CIO_API int cio_as_completed_next(cio_as_completed *ac, cio_future **f);

/* Frees the iterator (futures not yet returned are released, not
 * cancelled). */
CIO_API void cio_as_completed_free(cio_as_completed *ac);

/* asyncio.wait_for: awaits the item with a timeout. On timeout the item
 * is cancelled and this returns -ETIMEDOUT only after it has really
 * finished. If the caller is cancelled, the item is cancelled too.
 * timeout < 0: no timeout. timeout 0 (asyncio 3.12+'s timeout <= 0): an
 * item already done gives its outcome; any other item is cancelled
 * before it is awaited, so a coroutine item never runs its body, and
 * this returns -ETIMEDOUT once it has finished (or its result, if it
 * finished with one anyway). Returns: as cio_await. Errors: -ETIMEDOUT,
 * -ECANCELED, -EINVAL. Suspends. */
CIO_API int cio_wait_for(cio_awaitable item, int64_t timeout, void **result);

/* asyncio.shield: a new future that completes like inner, except that
 * cancelling it leaves inner running. inner is retained. Returns: 0 and
 * one reference in *out. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_shield(cio_future *inner, cio_future **out);

/* A timeout scope (asyncio.timeout / timeout_at) in caller storage. */
typedef struct cio_timeout {
    void *opaque_[8];
} cio_timeout;

/* Opens a scope in the calling task that cancels it timeout ns from now
 * (timeout < 0: no deadline yet). Scopes nest; close them in reverse
 * order. A deadline already reached (timeout 0, a past time) is queued
 * like call_soon, as asyncio does: the very next suspension of the task,
 * a cio_sleep(0) included, is cancelled and the scope ends in
 * -ETIMEDOUT. scope is borrowed until cio_timeout_end; its storage may be
 * begun again once the scope has ended. Returns: 0. Errors: -EINVAL
 * outside a task or when scope is already open in this task (asyncio's
 * RuntimeError "already entered"; the open scope and its armed deadline
 * are left untouched), -ENOMEM. */
CIO_API int cio_timeout_begin(cio_timeout *scope, int64_t timeout);

/* Like cio_timeout_begin with an absolute loop time (INT64_MAX: none). */
CIO_API int cio_timeout_begin_at(cio_timeout *scope, int64_t when);

/* Moves the deadline (absolute loop time, INT64_MAX: none); a time
 * already reached is queued like call_soon, as in cio_timeout_begin.
 * Returns: 0. Errors: -EINVAL (scope closed, or already expired),
 * -ENOMEM. */
CIO_API int cio_timeout_reschedule(cio_timeout *scope, int64_t when);

/* The scope's deadline (INT64_MAX if none). */
CIO_API int64_t cio_timeout_when(const cio_timeout *scope);

/* Returns: 1 if the deadline passed and the scope cancelled its task,
 * also after cio_timeout_end (asyncio's expired(), which tells a timeout
 * from another cancellation), until the storage is begun again. */
CIO_API int cio_timeout_expired(const cio_timeout *scope);

/* Closes the scope. rc is the outcome of the code inside it. Returns rc,
 * except that a -ECANCELED caused by this scope's own expiry becomes
 * -ETIMEDOUT (and the cancellation is withdrawn); a cancellation from
 * anywhere else (an outer scope, cio_task_cancel) stays -ECANCELED. */
CIO_API int cio_timeout_end(cio_timeout *scope, int rc);

/* Structured concurrency (asyncio.TaskGroup). */
typedef struct cio_task_group cio_task_group;

/* Creates a group owned by the calling task (the parent). Returns: 0.
 * Errors: -EINVAL outside a task, -ENOMEM. */
CIO_API int cio_task_group_new(cio_task_group **out);

/* Starts a child in the group. opts is borrowed for the call. out may be
 * NULL; else *out receives a new reference to the child task that the
 * caller must release with cio_future_release (the group keeps its own).
 * The first child that
 * fails (error other than -ECANCELED) cancels every sibling and the
 * parent's pending cio_task_group_wait. Returns: 0. Errors: -EINVAL (group
 * closed or shutting down after an error), -ENOMEM. */
CIO_API int cio_task_group_spawn(cio_task_group *g, cio_coro coro,
                                 const cio_task_opts *opts, cio_task **out);

/* Closes the group's block and waits until every child is done (the end
 * of asyncio's `async with TaskGroup()`). rc is the outcome of the code
 * inside the block: if it is an error, the children are cancelled first.
 * If the parent is cancelled while waiting, the children are cancelled and
 * still awaited. A cancellation the group itself sent to the parent (to
 * interrupt the block when a child failed) is withdrawn here.
 * Returns: 0 if the block and every child succeeded. Errors: CIO_EGROUP if
 * children failed or rc was an error other than -ECANCELED (each error is
 * listed by cio_task_group_errors); -ECANCELED if the parent was cancelled
 * from outside and nothing failed; -EINVAL (not the parent task, or
 * called twice). When CIO_EGROUP is returned while a cancellation from
 * outside is pending (cancelling() > 0), that request is re-armed
 * (uncancel + cancel, as Python 3.13), so the parent's next suspension
 * returns -ECANCELED: the errors win, the cancellation is not lost.
 * Suspends. */
CIO_API int cio_task_group_wait(cio_task_group *g, int rc);

/* Child errors in the order they happened: writes up to cap into errs.
 * Returns: the total number of failed children. */
CIO_API int cio_task_group_errors(const cio_task_group *g, int *errs,
                                  size_t cap);

/* Frees the group. Children still running are cancelled first (they are
 * not waited for: wait first). */
CIO_API void cio_task_group_free(cio_task_group *g);

#ifdef __cplusplus
}
#endif

#endif
