/*
 * task.c - tasks: stackful coroutines wrapped as futures.
 *
 * A task's first step is queued at creation and never run inline (unless
 * the caller opts into eager start), as asyncio does. The stack is taken
 * only when the first step runs and returned as soon as the body ends, so
 * a task that finishes without suspending (the common case in a gather of
 * trivial work) reuses one pooled stack, and a million created-but-not-
 * started tasks cost no mappings.
 *
 * Control flow: whoever runs a step (the loop, or the creator of an eager
 * task) switches into the task and is recorded as its resumer; the task
 * switches back there when it suspends or ends. A finished task cannot
 * free its own stack while standing on it, so the resumer reaps it.
 *
 * Cancellation follows asyncio's Task.cancel: a request is offered to the
 * current wait (the awaited future, or the suspension's cancel hook); if
 * the wait cannot take it, must_cancel delivers -ECANCELED at the next
 * resumption. A task cancelled before its first step never runs its body.
 */
#include <errno.h>
#include <stdio.h>

#include "task/task.h"

_Thread_local cio__task *cio__tls_task;

#define TASK_FREE_MAX 1024

static void task_step(cio__task *t, int from_loop);

static void task_run(cio__ready *r)
{
    cio__task *t = cio__container_of(r, cio__task, rd);
    t->queued = 0;
    task_step(t, 1);
}

const char *cio__task_describe(cio__ready *r)
{
    if (r->run != task_run)
        return NULL;
    return cio_task_name(&cio__container_of(r, cio__task, rd)->f);
}

void cio__task_wake(cio__task *t, int v)
{
    t->wake = v;
    if (!t->queued) {
        t->queued = 1;
        cio__loop_push(t->f.loop, &t->rd);
    }
}

static void drain_task_free(cio_loop *loop)
{
    while (loop->coro_free) {
        void *c = loop->coro_free;
        loop->coro_free = *(void **)c;
        cio__free(c);
    }
    loop->coro_free_len = 0;
    cio__task *t = loop->task_free;
    while (t) {
        cio__task *n = t->free_next;
        cio__free(t);
        t = n;
    }
    loop->task_free = NULL;
    loop->task_free_len = 0;
}

void cio__task_free_mem(cio__task *t)
{
    cio_loop *loop = t->f.loop;
    if (t->name && t->name != t->name_buf)
        cio__free(t->name);
    cio__free(t->cancel_msg);
    cio__ctx_release(t->ctx);
    if (loop->task_free_len < TASK_FREE_MAX && !loop->freed) {
        t->free_next = loop->task_free;
        loop->task_free = t;
        loop->task_free_len++;
    } else {
        cio__free(t);
    }
}

/* The body ended (or never started): record the future's outcome, leave
 * the live-task list and drop the loop's reference. */
static void task_complete(cio__task *t)
{
    cio_loop *loop = t->f.loop;
    int rc = t->outcome;
    cio_future *f = &t->f;
    if (rc == -ECANCELED) {
        f->err = -ECANCELED;
        if (t->cancel_msg) {
            f->msg = t->cancel_msg;
            t->cancel_msg = NULL;
        }
        if (t->out_result && t->result_dtor)
            t->result_dtor(t->out_result);
        cio__future_complete(f, CIO__F_CANCELLED);
    } else if (rc < 0) {
        f->err = rc;
        if (t->out_result && t->result_dtor)
            t->result_dtor(t->out_result);
        cio__future_complete(f, CIO__F_DONE);
    } else {
        f->err = 0;
        f->result = t->out_result;
        f->dtor = t->result_dtor;
        cio__future_complete(f, CIO__F_DONE);
    }
    cio__list_remove(&t->link);
    loop->ntasks--;
    cio_future_release(f); /* the loop's reference */
}

/* Coroutine objects (context + stack) live apart from tasks so that a
 * finishing task can hand its running stack to the next one; they are
 * recycled through a per-loop free list with their stacks released. */
#define CORO_FREE_MAX 1024

static cio__coro *coro_get(cio_loop *loop)
{
    cio__coro *c = loop->coro_free;
    if (c) {
        loop->coro_free = *(cio__coro **)c;
        loop->coro_free_len--;
        return c;
    }
    return cio__malloc(sizeof(cio__coro));
}

static void coro_put(cio_loop *loop, cio__coro *c)
{
    if (loop->coro_free_len < CORO_FREE_MAX && !loop->freed) {
        *(cio__coro **)c = loop->coro_free;
        loop->coro_free = c;
        loop->coro_free_len++;
    } else {
        cio__free(c);
    }
}

/* The next ready item, if it is a task that has never run and may take
 * over the calling task's stack as it stands: same loop batch, same stack
 * size, nothing to deliver before its body. Popping it here is exactly
 * what the loop would do next, so the order of work is unchanged; what
 * goes away is the exit switch, the stack release and re-take, the
 * context preparation and the switch in. */
static cio__task *handoff_next(cio__task *t)
{
    cio_loop *loop = t->f.loop;
    cio__ready *r = loop->rq_head;
    if (!t->from_loop || loop->todo == 0 || !r || r->run != task_run)
        return NULL;
    cio__task *n = cio__container_of(r, cio__task, rd);
    if (n->started || n->must_cancel || n->stack_size != t->stack_size)
        return NULL;
    loop->rq_head = r->next;
    if (!loop->rq_head)
        loop->rq_tail = NULL;
    loop->rq_len--;
    loop->todo--;
    n->queued = 0;
    return n;
}

static _Noreturn void task_entry(void *arg)
{
    cio__coro *co = arg;
    cio__task *t = cio__tls_task;
    for (;;) {
        void *res = NULL;
        int rc = t->body.fn(t->body.arg, &res);
        /* Deferred cleanups run in the task, so they may suspend too. */
        while (t->defers) {
            cio__defer *d = t->defers;
            t->defers = d->next;
            d->fn(d->arg);
            cio__free(d);
        }
        if (rc >= 0 && t->must_cancel) {
            /* Cancelled right before the body returned: asyncio reports
             * the task cancelled, and so do we. */
            t->must_cancel = 0;
            rc = -ECANCELED;
        }
        if (rc > 0)
            rc = 0;
        t->outcome = rc;
        t->out_result = res;
        cio__task *n = handoff_next(t);
        if (!n)
            break;
        /* n inherits this stack; t is finished and can be completed from
         * here, since nothing of it is on the stack any more. */
        n->co = co;
        n->started = 1;
        n->from_loop = 1;
        n->resumer = t->resumer;
        n->tstate = CIO__T_RUNNING;
        cio__coro_set_name(co, n->name);
        co->name_num = n->num;
        t->co = NULL;
        t->tstate = CIO__T_FINISHED;
        cio__tls_task = n;
        task_complete(t);
        t = n;
    }
    t->tstate = CIO__T_FINISHED;
    cio__coro_exit(co, t->resumer);
}

static void task_step(cio__task *t, int from_loop)
{
    cio_loop *loop = t->f.loop;
    if (!t->started) {
        if (t->must_cancel) {
            t->must_cancel = 0;
            t->outcome = -ECANCELED;
            t->tstate = CIO__T_FINISHED;
            task_complete(t);
            return;
        }
        cio__coro *co = coro_get(loop);
        int r = -ENOMEM;
        if (co) {
            cio__coro_opts o = {t->stack_size, -1};
            r = cio__coro_create(co, &o, task_entry, co);
            if (r < 0)
                coro_put(loop, co);
        }
        if (r < 0) {
            t->outcome = r;
            t->tstate = CIO__T_FINISHED;
            task_complete(t);
            return;
        }
        cio__coro_set_name(co, t->name);
        co->name_num = t->num;
        t->co = co;
        t->started = 1;
    }
    cio__task *prev = cio__tls_task;
    cio__tls_task = t;
    t->tstate = CIO__T_RUNNING;
    t->from_loop = (uint8_t)from_loop;
    t->resumer = cio__coro_current();
    cio__coro_switch(t->resumer, t->co);
    /* Whoever switched back: t, or a task t handed its stack to. */
    cio__task *y = cio__tls_task;
    cio__tls_task = prev;
    if (y->tstate == CIO__T_FINISHED) {
        cio__coro *co = y->co;
        y->co = NULL;
        cio__coro_destroy(co);
        coro_put(loop, co);
        task_complete(y);
    }
}

int cio__task_suspend_on(cio__task *t)
{
    if (t->must_cancel) {
        int taken = 0;
        if (t->fut_waiter)
            taken = cio_future_cancel(t->fut_waiter, t->cancel_msg) == 1;
        else if (t->susp_cancel)
            taken = t->susp_cancel(t);
        if (taken)
            t->must_cancel = 0;
    }
    t->tstate = CIO__T_SUSPENDED;
    cio__coro_switch(t->co, t->resumer);
    if (t->must_cancel) {
        t->must_cancel = 0;
        return -ECANCELED;
    }
    return t->wake;
}

int cio__task_cancel(cio__task *t, const char *msg)
{
    if (t->f.state != CIO__F_PENDING || t->tstate == CIO__T_FINISHED)
        return 0;
    t->ncancel++;
    if (msg) {
        char *m = cio__strdup(msg);
        if (m) {
            cio__free(t->cancel_msg);
            t->cancel_msg = m;
        }
    }
    if (t->tstate == CIO__T_SUSPENDED) {
        if (t->fut_waiter) {
            if (cio_future_cancel(t->fut_waiter, t->cancel_msg) == 1)
                return 1;
        } else if (t->susp_cancel) {
            if (t->susp_cancel(t))
                return 1;
        }
    }
    t->must_cancel = 1;
    return 1;
}

int cio_task_cancel(cio_task *t, const char *msg)
{
    return cio_future_cancel(t, msg);
}

/* The default "Task-N" is only a number until someone reads it: naming
 * is on the spawn path, and formatting it there cost a quarter of a
 * trivial task's life. The overflow report formats it itself. */
static void set_default_name(cio__task *t, cio_loop *loop)
{
    t->num = ++loop->task_counter;
    t->name = NULL;
}

int cio_task_create(cio_loop *loop, cio_coro coro, const cio_task_opts *opts,
                    cio_task **out)
{
    if (out)
        *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!coro.fn)
        return -EINVAL;
    if (CIO_UNLIKELY(!cio__loop_dump_hook))
        cio__task_install_hooks();
    cio__task *t = loop->task_free;
    if (t) {
        loop->task_free = t->free_next;
        loop->task_free_len--;
    } else {
        t = cio__malloc(sizeof(*t));
        if (!t)
            return -ENOMEM;
        loop->task_free_fn = drain_task_free;
    }
    /* Field by field rather than memset: the embedded coroutine is set up
     * by cio__coro_create when the task first runs, and zeroing ~300
     * bytes with rep stos was the largest single cost of a spawn. */
    cio__future_init(&t->f, loop, 1);
    t->queued = 0;
    t->started = 0;
    t->must_cancel = 0;
    t->tstate = CIO__T_NEW;
    t->ncancel = 0;
    t->cancel_msg = NULL;
    t->outcome = 0;
    t->out_result = NULL;
    t->fut_waiter = NULL;
    t->susp_cancel = NULL;
    t->susp_arg = NULL;
    t->wait_what = NULL;
    t->defers = NULL;
    t->co = NULL;
    t->from_loop = 0;
    t->name = NULL;
    t->num = 0;
    if (opts && opts->name) {
        size_t n = strlen(opts->name);
        if (n < sizeof(t->name_buf)) {
            memcpy(t->name_buf, opts->name, n + 1);
            t->name = t->name_buf;
        } else if (!(t->name = cio__strdup(opts->name))) {
            t->f.refs = 0;
            cio__loop_unref(loop);
            cio__task_free_mem(t);
            return -ENOMEM;
        }
    } else {
        set_default_name(t, loop);
    }
    t->body = coro;
    t->rd.run = task_run;
    t->stack_size = opts ? opts->stack_size : 0;
    t->result_dtor = opts ? opts->result_dtor : NULL;
    t->ctx = cio__ctx_retain(cio__ctx_current());
    cio__list_insert_tail(&loop->tasks, &t->link);
    loop->ntasks++;
    if (out) {
        t->f.refs++;
        *out = &t->f;
    }
    if (opts && opts->eager && cio__tls_running == loop) {
        task_step(t, 0);
    } else {
        t->queued = 1;
        cio__loop_push(loop, &t->rd);
    }
    return 0;
}

int cio_ensure_future(cio_loop *loop, cio_future *f, cio_coro coro,
                      cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if ((f != NULL) == (coro.fn != NULL))
        return -EINVAL;
    if (f) {
        if (loop && f->loop != loop)
            return -EINVAL;
        *out = cio_future_retain(f);
        return 0;
    }
    return cio_task_create(loop, coro, NULL, out);
}

cio_task *cio_current_task(void)
{
    return cio__tls_task ? &cio__tls_task->f : NULL;
}

int cio_task_state_get(const cio_task *f)
{
    if (!f || !f->is_task)
        return -EINVAL;
    const cio__task *t = (const cio__task *)(const void *)f;
    if (f->state == CIO__F_CANCELLED)
        return CIO_TASK_CANCELLED;
    if (f->state == CIO__F_DONE)
        return CIO_TASK_DONE;
    return t->tstate == CIO__T_RUNNING ? CIO_TASK_RUNNING : CIO_TASK_PENDING;
}

const char *cio_task_name(const cio_task *f)
{
    if (!f || !f->is_task)
        return NULL;
    /* Formatting the default name on first read writes into the task;
     * the object is the caller's anyway, const only promises no change
     * visible through the API. */
    cio__task *t = (cio__task *)(void *)(uintptr_t)f;
    if (!t->name && t->num) {
        char digits[24];
        int n = 0;
        uint64_t v = t->num;
        do {
            digits[n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        char *p = t->name_buf;
        memcpy(p, "Task-", 5);
        p += 5;
        while (n)
            *p++ = digits[--n];
        *p = 0;
        t->name = t->name_buf;
    }
    return t->name;
}

int cio_task_set_name(cio_task *f, const char *name)
{
    cio__task *t = cio__task_of(f);
    if (!t || !name)
        return -EINVAL;
    size_t n = strlen(name);
    char *old = t->name != t->name_buf ? t->name : NULL;
    if (n < sizeof(t->name_buf)) {
        memcpy(t->name_buf, name, n + 1);
        t->name = t->name_buf;
    } else {
        char *d = cio__strdup(name);
        if (!d)
            return -ENOMEM;
        t->name = d;
    }
    cio__free(old);
    if (t->co)
        cio__coro_set_name(t->co, t->name);
    return 0;
}

int cio_task_cancelling(const cio_task *f)
{
    if (!f || !f->is_task)
        return -EINVAL;
    return ((const cio__task *)(const void *)f)->ncancel;
}

int cio_task_uncancel(cio_task *f)
{
    cio__task *t = cio__task_of(f);
    if (!t)
        return -EINVAL;
    if (t->ncancel > 0)
        t->ncancel--;
    if (t->ncancel == 0)
        t->must_cancel = 0;
    return t->ncancel;
}

int cio_loop_all_tasks(cio_loop *loop, cio_task **out, size_t cap)
{
    if (!loop || (cap && !out))
        return -EINVAL;
    size_t n = 0;
    for (cio__list *l = loop->tasks.next; l != &loop->tasks; l = l->next) {
        cio__task *t = cio__container_of(l, cio__task, link);
        if (n < cap)
            out[n] = &t->f;
        n++;
    }
    return (int)n;
}

int cio_task_defer(void (*fn)(void *), void *arg)
{
    cio__task *t = cio__tls_task;
    if (!t || !fn)
        return -EINVAL;
    cio__defer *d = cio__malloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->fn = fn;
    d->arg = arg;
    d->next = t->defers;
    t->defers = d;
    return 0;
}

/* ---- sleep ---- */

static void sleep_fire(cio__handle *h)
{
    cio__task *t = h->arg;
    t->susp_cancel = NULL;
    t->susp_arg = NULL;
    cio__task_wake(t, 0);
}

static int sleep_cancel(cio__task *t)
{
    cio__handle *h = t->susp_arg;
    t->susp_cancel = NULL;
    t->susp_arg = NULL;
    cio__handle_cancel(t->f.loop, h);
    cio__task_wake(t, -ECANCELED);
    return 1;
}

int cio_sleep(int64_t duration)
{
    cio__task *t = cio__tls_task;
    if (!t)
        return -EINVAL;
    cio_loop *loop = t->f.loop;
    if (duration <= 0) {
        cio__task_wake(t, 0);
        t->wait_what = "yield";
        int r = cio__task_suspend_on(t);
        t->wait_what = NULL;
        return r;
    }
    cio__handle *h = cio__handle_get(loop);
    if (!h)
        return -ENOMEM;
    h->icb = sleep_fire;
    h->arg = t;
    int r = cio__handle_at(loop, h, cio_loop_time(loop) + duration);
    if (r < 0)
        return r;
    t->susp_cancel = sleep_cancel;
    t->susp_arg = h;
    t->wait_what = "sleep";
    r = cio__task_suspend_on(t);
    t->wait_what = NULL;
    if (t->susp_cancel == sleep_cancel) {
        /* Resumed by a late must_cancel while the timer is armed. */
        cio__handle_cancel(loop, h);
        t->susp_cancel = NULL;
        t->susp_arg = NULL;
    }
    return r;
}
