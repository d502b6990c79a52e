/*
 * guard.c - cio_guard: holding a lock, a semaphore permit or a
 * condition's lock for the length of a C block (asyncio's `async with`).
 *
 * C has no destructor, so the CIO_WITH_* macros in cio/sync.h declare the
 * guard as the variable of a one-pass for statement with GCC/Clang's
 * cleanup attribute: the compiler calls cio_guard_release on every path
 * out of the block, break and return included. The guard is a value (the
 * primitive and its kind), so nothing is allocated.
 *
 * Rejected: a plain for-statement macro whose increment releases (leaks
 * the lock on break or return, the very paths that matter), and
 * setjmp/longjmp based scopes (no unwinding through a task's frames).
 */
#include <errno.h>

#include "sync/waitq.h"

enum { G_NONE = 0, G_LOCK, G_SEM, G_COND };

static cio_guard held(void *obj, int kind, int r, int *rc)
{
    if (rc)
        *rc = r;
    cio_guard g = {r == 0 ? obj : NULL, r == 0 ? kind : G_NONE};
    return g;
}

cio_guard cio_guard_lock(cio_lock *l, int *rc)
{
    return held(l, G_LOCK, cio_lock_acquire(l), rc);
}

cio_guard cio_guard_sem(cio_sem *s, int *rc)
{
    return held(s, G_SEM, cio_sem_acquire(s), rc);
}

cio_guard cio_guard_cond(cio_cond *c, int *rc)
{
    cio_lock *l = cio__cond_lock(c);
    if (!l)
        return held(NULL, G_NONE, -EINVAL, rc);
    return held(l, G_COND, cio_lock_acquire(l), rc);
}

int cio_guard_held(const cio_guard *g)
{
    return g && g->obj_ != NULL;
}

void cio_guard_release(cio_guard *g)
{
    if (!g || !g->obj_)
        return;
    void *obj = g->obj_;
    int kind = g->kind_;
    g->obj_ = NULL;
    g->kind_ = G_NONE;
    if (kind == G_SEM)
        cio_sem_release(obj);
    else
        cio_lock_release(obj); /* G_LOCK, and G_COND's lock */
}
