/*
 * group.c - task groups (asyncio.TaskGroup): structured concurrency.
 *
 * The group belongs to the task that created it (the parent). Children
 * report to it through a done callback. The first child that fails aborts
 * the group: every sibling is cancelled, and if the parent is still inside
 * the group's block it is cancelled too, so whatever it awaits there is
 * interrupted; cio_task_group_wait withdraws that cancellation again, so
 * the parent goes on after the block as asyncio's __aexit__ lets it.
 *
 * While the parent waits in cio_task_group_wait, an outside cancellation
 * is absorbed by the wait (the children are cancelled and still awaited)
 * and reported as -ECANCELED at the end, unless children failed, in which
 * case CIO_EGROUP wins, as asyncio lets the exception group win; the
 * outside request is then re-armed (uncancel + cancel, as Python 3.13),
 * so it is delivered at the parent's next suspension, not lost.
 */
#include <errno.h>

#include "task/task.h"

struct cio_task_group {
    cio__task *parent;
    cio_loop *loop;
    cio_future **kids; /* retained */
    size_t nkids, capkids, nactive;
    int *errs;
    size_t nerrs, caperrs;
    int aborting;
    int parent_cancel_requested;
    int waiting;      /* parent suspended in cio_task_group_wait */
    int ext_cancel;   /* the parent was cancelled from outside */
    int closed;
    int refs;         /* 1 for the owner + 1 per running child */
};

static void group_unref(cio_task_group *g)
{
    if (--g->refs > 0)
        return;
    for (size_t i = 0; i < g->nkids; i++)
        cio_future_release(g->kids[i]);
    cio__free(g->kids);
    cio__free(g->errs);
    cio__free(g);
}

int cio_task_group_new(cio_task_group **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio__task *t = cio__tls_task;
    if (!t)
        return CIO_MISUSE("called outside a task");
    cio_task_group *g = cio__calloc(1, sizeof(*g));
    if (!g)
        return -ENOMEM;
    g->parent = t;
    g->loop = t->f.loop;
    g->refs = 1;
    *out = g;
    return 0;
}

static void abort_children(cio_task_group *g)
{
    g->aborting = 1;
    for (size_t i = 0; i < g->nkids; i++)
        if (g->kids[i]->state == CIO__F_PENDING)
            cio_future_cancel(g->kids[i], NULL);
}

static void record_error(cio_task_group *g, int e)
{
    if (g->nerrs == g->caperrs) {
        size_t cap = g->caperrs ? g->caperrs * 2 : 4;
        int *a = cio__realloc(g->errs, cap * sizeof(*a));
        if (!a)
            return; /* the count below still says a child failed */
        g->errs = a;
        g->caperrs = cap;
    }
    g->errs[g->nerrs++] = e;
}

static int child_done(cio_future *f, void *arg)
{
    cio_task_group *g = arg;
    g->nactive--;
    int e = cio_future_error(f); /* reported through the group */
    if (e < 0 && e != -ECANCELED && !g->closed) {
        record_error(g, e);
        if (!g->aborting) {
            abort_children(g);
            if (!g->waiting && !g->parent_cancel_requested &&
                g->parent->f.state == CIO__F_PENDING) {
                g->parent_cancel_requested = 1;
                cio__task_cancel(g->parent, NULL);
            }
        }
    }
    if (g->nactive == 0 && g->waiting && cio__park_arg(g->parent) == g)
        cio__unpark(g->parent, 0);
    group_unref(g);
    return 0;
}

int cio_task_group_spawn(cio_task_group *g, cio_coro coro,
                         const cio_task_opts *opts, cio_task **out)
{
    if (out)
        *out = NULL;
    if (!g || g->closed || g->aborting)
        return -EINVAL;
    if (g->nkids == g->capkids) {
        size_t cap = g->capkids ? g->capkids * 2 : 8;
        cio_future **a = cio__realloc(g->kids, cap * sizeof(*a));
        if (!a)
            return -ENOMEM;
        g->kids = a;
        g->capkids = cap;
    }
    cio_task *t;
    int r = cio_task_create(g->loop, coro, opts, &t);
    if (r < 0)
        return r;
    r = cio__future_add_entry(t, child_done, g);
    if (r < 0) {
        cio_future_cancel(t, NULL);
        cio_future_release(t);
        return r;
    }
    g->refs++;
    g->nactive++;
    g->kids[g->nkids++] = t;
    if (out)
        *out = cio_future_retain(t);
    return 0;
}

static int wait_cancel(cio__task *t)
{
    cio_task_group *g = cio__park_arg(t);
    /* Absorb the request: cancel the children and keep waiting for them;
     * the wait reports -ECANCELED at the end. */
    g->ext_cancel = 1;
    if (!g->aborting)
        abort_children(g);
    return 1;
}

int cio_task_group_wait(cio_task_group *g, int rc)
{
    cio__task *t = cio__tls_task;
    if (!g || !t || t != g->parent || g->closed)
        return CIO_MISUSE(!t ? "called outside a task" : "not the group's parent task, or the group is closed");
    if (rc < 0 && !g->aborting)
        abort_children(g);
    int ext = rc == -ECANCELED;
    if (g->parent_cancel_requested) {
        g->parent_cancel_requested = 0;
        if (cio_task_uncancel(&t->f) == 0)
            ext = 0; /* the only cancellation was the group's own */
    }
    g->waiting = 1;
    while (g->nactive > 0) {
        int r = cio__park(t, wait_cancel, g, "task group");
        if (r == -ECANCELED) { /* delivered at resumption */
            g->ext_cancel = 1;
            if (!g->aborting)
                abort_children(g);
        }
    }
    g->waiting = 0;
    g->closed = 1;
    if (rc < 0 && rc != -ECANCELED)
        record_error(g, rc);
    if (g->nerrs) {
        /* The errors win over a cancellation from outside, but must not
         * swallow it (Python 3.13): uncancel and re-cancel, so the count
         * stays and the parent's next suspension returns -ECANCELED. */
        if (t->ncancel > 0) {
            cio_task_uncancel(&t->f);
            cio__task_cancel(t, NULL);
        }
        return CIO_EGROUP;
    }
    if (ext || g->ext_cancel)
        return -ECANCELED;
    return 0;
}

int cio_task_group_errors(const cio_task_group *g, int *errs, size_t cap)
{
    if (!g || (cap && !errs))
        return -EINVAL;
    for (size_t i = 0; i < g->nerrs && i < cap; i++)
        errs[i] = g->errs[i];
    return (int)g->nerrs;
}

void cio_task_group_free(cio_task_group *g)
{
    if (!g)
        return;
    if (g->nactive)
        abort_children(g);
    g->closed = 1;
    group_unref(g);
}
