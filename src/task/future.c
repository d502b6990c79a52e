/*
 * future.c - loop futures: state, outcome, done callbacks, references.
 *
 * Done callbacks are kept in an array with two inline slots, because
 * almost every future has one or two (the awaiting task, run_until_complete
 * or a gather): adding them allocates nothing. On completion each callback
 * gets its own call_soon handle from the loop's free list, exactly as
 * asyncio schedules one Handle per callback, so ordering against other
 * ready work is asyncio's. An awaiting task is not a callback but a waiter
 * entry (cb == NULL): completion queues the task itself, one step shorter
 * than asyncio's Task.__wakeup and in the same position in the queue.
 */
#include <errno.h>
#include <stdio.h>

#include "task/task.h"

void cio__future_init(cio_future *f, cio_loop *loop, int is_task)
{
    f->loop = loop;
    f->refs = 1;
    f->state = CIO__F_PENDING;
    f->is_task = (uint8_t)is_task;
    f->retrieved = 0;
    f->err = 0;
    f->result = NULL;
    f->msg = NULL;
    f->dtor = NULL;
    f->on_cancel = NULL;
    f->on_free = NULL;
    f->cbs = f->inl;
    f->ncb = 0;
    f->capcb = 2;
    cio__loop_ref(loop);
}

int cio_future_new(cio_loop *loop, cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    cio_future *f = cio__malloc(sizeof(*f));
    if (!f)
        return -ENOMEM;
    cio__future_init(f, loop, 0);
    *out = f;
    return 0;
}

cio_future *cio_future_retain(cio_future *f)
{
    if (f)
        f->refs++;
    return f;
}

static void future_free(cio_future *f)
{
    cio_loop *loop = f->loop;
    cio__task *t = cio__task_of(f);
    if (f->state == CIO__F_DONE && f->err < 0 && !f->retrieved)
        cio__loop_report(loop,
                         t ? "Task exception was never retrieved"
                           : "Future exception was never retrieved",
                         f->err, f->msg, f, t ? cio_task_name(f) : NULL);
    if (f->state == CIO__F_DONE && f->err == 0 && f->dtor && f->result)
        f->dtor(f->result);
    cio__free(f->msg);
    if (f->cbs != f->inl)
        cio__free(f->cbs);
    if (t)
        cio__task_free_mem(t);
    else if (f->on_free)
        f->on_free(f);
    else
        cio__free(f);
    cio__loop_unref(loop);
}

void cio_future_release(cio_future *f)
{
    if (!f)
        return;
    CIO_ASSERT(f->refs > 0);
    if (--f->refs == 0)
        future_free(f);
}

static void done_cb_run(cio__handle *h)
{
    cio_future *f = h->arg;
    if (!f->loop->discarding) {
        int rc = h->dcb(f, h->arg2);
        if (rc < 0)
            cio__loop_report(f->loop, "done callback failed", rc, NULL, f,
                             NULL);
    }
    cio_future_release(f);
}

/* Schedules one callback entry of a done future. */
static void schedule_entry(cio_future *f, const cio__cbent *e)
{
    if (!e->cb) {
        cio__task_wake(e->arg, 0);
        return;
    }
    cio__handle *h = cio__handle_get(f->loop);
    if (!h) {
        /* Out of memory for a handle: run the callback now rather than
         * lose it (its position in the order is the only casualty). */
        int rc = e->cb(f, e->arg);
        if (rc < 0)
            cio__loop_report(f->loop, "done callback failed", rc, NULL, f,
                             NULL);
        return;
    }
    h->icb = done_cb_run;
    h->dcb = e->cb;
    h->arg = cio_future_retain(f);
    h->arg2 = e->arg;
    cio__handle_soon(f->loop, h);
}

void cio__future_complete(cio_future *f, int state)
{
    CIO_ASSERT(f->state == CIO__F_PENDING);
    f->state = (uint8_t)state;
    uint32_t n = f->ncb;
    f->ncb = 0;
    for (uint32_t i = 0; i < n; i++)
        schedule_entry(f, &f->cbs[i]);
}

int cio__future_add_entry(cio_future *f, cio_done_cb cb, void *arg)
{
    if (f->ncb == f->capcb) {
        uint32_t cap = f->capcb * 2;
        cio__cbent *a;
        if (f->cbs == f->inl) {
            a = cio__malloc(cap * sizeof(*a));
            if (a)
                memcpy(a, f->inl, sizeof(f->inl));
        } else {
            a = cio__realloc(f->cbs, cap * sizeof(*a));
        }
        if (!a)
            return -ENOMEM;
        f->cbs = a;
        f->capcb = cap;
    }
    f->cbs[f->ncb++] = (cio__cbent){cb, arg};
    return 0;
}

static void remove_entries(cio_future *f, cio_done_cb cb, void *arg,
                           int *removed)
{
    uint32_t j = 0;
    for (uint32_t i = 0; i < f->ncb; i++) {
        if (f->cbs[i].cb == cb && f->cbs[i].arg == arg)
            (*removed)++;
        else
            f->cbs[j++] = f->cbs[i];
    }
    f->ncb = j;
}

void cio__future_remove_waiter(cio_future *f, cio__task *t)
{
    int n = 0;
    remove_entries(f, NULL, t, &n);
}

int cio_future_add_done_callback(cio_future *f, cio_done_cb cb, void *arg)
{
    if (!f || !cb)
        return -EINVAL;
    int r = cio__loop_check(f->loop);
    if (r < 0)
        return r;
    if (f->state != CIO__F_PENDING) {
        cio__cbent e = {cb, arg};
        schedule_entry(f, &e);
        return 0;
    }
    return cio__future_add_entry(f, cb, arg);
}

int cio_future_remove_done_callback(cio_future *f, cio_done_cb cb, void *arg)
{
    if (!f || !cb)
        return -EINVAL;
    int r = cio__thread_check(f->loop);
    if (r < 0)
        return r;
    int n = 0;
    remove_entries(f, cb, arg, &n);
    return n;
}

int cio_future_set_result(cio_future *f, void *result)
{
    if (!f || f->is_task || f->state != CIO__F_PENDING)
        return -EINVAL;
    int r = cio__loop_check(f->loop);
    if (r < 0)
        return r;
    f->result = result;
    f->err = 0;
    cio__future_complete(f, CIO__F_DONE);
    return 0;
}

int cio_future_set_result_dtor(cio_future *f, void (*dtor)(void *))
{
    if (!f)
        return -EINVAL;
    f->dtor = dtor;
    return 0;
}

void cio__future_set_error(cio_future *f, int err, const char *msg)
{
    f->err = err;
    if (msg)
        f->msg = cio__strdup(msg); /* ENOMEM: the error stays, bare */
    cio__future_complete(f, CIO__F_DONE);
}

int cio_future_set_error(cio_future *f, int err, const char *msg)
{
    if (!f || f->is_task || f->state != CIO__F_PENDING || err >= 0 ||
        err == -ECANCELED)
        return -EINVAL;
    int r = cio__loop_check(f->loop);
    if (r < 0)
        return r;
    f->err = err;
    int rc = 0;
    if (msg) {
        f->msg = cio__strdup(msg);
        if (!f->msg)
            rc = -ENOMEM;
    }
    cio__future_complete(f, CIO__F_DONE);
    return rc;
}

int cio_future_cancel(cio_future *f, const char *msg)
{
    if (!f)
        return -EINVAL;
    int r = cio__thread_check(f->loop);
    if (r < 0)
        return r;
    if (f->state != CIO__F_PENDING)
        return 0;
    if (f->is_task)
        return cio__task_cancel((cio__task *)(void *)f, msg);
    if (f->on_cancel)
        return f->on_cancel(f, msg);
    f->err = -ECANCELED;
    if (msg)
        f->msg = cio__strdup(msg); /* ENOMEM: cancelled without message */
    cio__future_complete(f, CIO__F_CANCELLED);
    return 1;
}

int cio_future_done(const cio_future *f)
{
    return f && f->state != CIO__F_PENDING;
}

int cio_future_cancelled(const cio_future *f)
{
    return f && f->state == CIO__F_CANCELLED;
}

int cio_future_result(cio_future *f, void **result)
{
    if (result)
        *result = NULL;
    if (!f)
        return -EINVAL;
    if (f->state == CIO__F_PENDING)
        return -EAGAIN;
    f->retrieved = 1;
    if (f->state == CIO__F_CANCELLED)
        return -ECANCELED;
    if (f->err < 0)
        return f->err;
    if (result)
        *result = f->result;
    return 0;
}

int cio_future_error(cio_future *f)
{
    if (!f)
        return -EINVAL;
    if (f->state == CIO__F_PENDING)
        return -EAGAIN;
    f->retrieved = 1;
    return f->state == CIO__F_CANCELLED ? -ECANCELED : f->err;
}

const char *cio_future_error_message(const cio_future *f)
{
    return f ? f->msg : NULL;
}

cio_loop *cio_future_loop(const cio_future *f) { return f ? f->loop : NULL; }

int cio_future_is_task(const cio_future *f) { return f && f->is_task; }

int cio_await(cio_future *f, void **result)
{
    if (result)
        *result = NULL;
    cio__task *t = cio__tls_task;
    if (!t || !f || f->loop != t->f.loop || f == &t->f)
        return CIO_MISUSE(!t ? "called outside a task" : f == &t->f ? "a task cannot await itself" : "NULL future, or a future of another loop");
    if (f->state != CIO__F_PENDING)
        return cio_future_result(f, result);
    int r = cio__future_add_entry(f, NULL, t);
    if (r < 0)
        return r;
    cio_future_retain(f);
    t->fut_waiter = f;
    r = cio__park(t, NULL, NULL, "future");
    t->fut_waiter = NULL;
    if (f->state == CIO__F_PENDING)
        cio__future_remove_waiter(f, t);
    if (r == 0)
        r = cio_future_result(f, result);
    cio_future_release(f);
    return r;
}
