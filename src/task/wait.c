/*
 * wait.c - composing futures: wait, gather, as_completed, wait_for, shield
 * and timeout scopes.
 *
 * wait and as_completed share one mechanism, the "collector": a small
 * refcounted object that registers a done callback on every pending item
 * and records completions in order. It is refcounted rather than living
 * on the waiting task's stack because a done callback that was already
 * scheduled when the waiter gives up can no longer be withdrawn (it sits
 * on the ready queue); it must find the collector still alive and simply
 * do nothing.
 *
 * wait_for is a timeout scope around cio_await, as asyncio 3.12 builds it:
 * on expiry the task is cancelled, the await cancels the item and waits
 * until it has finished, and only then does the scope turn the -ECANCELED
 * into -ETIMEDOUT.
 *
 * Gather follows asyncio 3.11's _GatheringFuture: cancelling it cancels
 * the children and it completes (cancelled) once they are all done; in
 * the default mode the first failing child completes it at once.
 */
#include <errno.h>
#include <stdint.h>

#include "task/task.h"

/* ---- resolving items ---- */

/* Turns an awaitable into a future reference (creating a task for a
 * coroutine). Returns 0 or an error. */
static int resolve(cio_loop *loop, const cio_awaitable *it, cio_future **out)
{
    *out = NULL;
    if ((it->future != NULL) == (it->coro.fn != NULL))
        return -EINVAL;
    if (it->future) {
        if (it->future->loop != loop)
            return -EINVAL;
        *out = cio_future_retain(it->future);
        return 0;
    }
    return cio_task_create(loop, it->coro, NULL, out);
}

static int resolve_all(cio_loop *loop, const cio_awaitable *items, size_t n,
                       cio_future **fs)
{
    for (size_t i = 0; i < n; i++) {
        int r = resolve(loop, &items[i], &fs[i]);
        if (r < 0) {
            /* Undo: tasks already created are cancelled, not leaked. */
            for (size_t j = 0; j < i; j++) {
                if (!items[j].future)
                    cio_future_cancel(fs[j], NULL);
                cio_future_release(fs[j]);
            }
            return r;
        }
    }
    return 0;
}

static const void *fut_at(const void *arr, size_t i)
{
    return ((cio_future *const *)arr)[i];
}

/* asyncio's wait and as_completed work on set(fs): keeps the first
 * occurrence of each future, in argument order, and drops the references
 * resolve_all took for the repeats. Coroutine items are distinct tasks
 * anyway. Returns the number of distinct futures, or -ENOMEM (fs is then
 * unchanged). */
static ssize_t distinct(cio_future **fs, size_t n)
{
    unsigned char small[64];
    unsigned char *dup = n <= sizeof(small) ? small : cio__malloc(n);
    if (!dup)
        return -ENOMEM;
    size_t k = cio__mark_dups(fs, n, fut_at, dup);
    if (k != n) {
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
            if (dup[i])
                cio_future_release(fs[i]);
            else
                fs[j++] = fs[i];
        }
    }
    if (dup != small)
        cio__free(dup);
    return (ssize_t)k;
}

static void release_all(cio_future **fs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        cio_future_release(fs[i]);
}

/* ---- the collector ---- */

typedef struct collector {
    int refs;
    cio_loop *loop;
    cio__task *waiter;   /* the task suspended on it, or NULL */
    cio__handle *timer;  /* deadline of the current suspension */
    size_t n;
    cio_future **fs;     /* retained items */
    cio_future **order;  /* completed items in completion order */
    size_t ndone, nerr, taken;
    cio_return_when when; /* for wait; as_completed wakes on any */
    int expired;
} collector;

static void coll_unref(collector *c)
{
    if (--c->refs > 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        cio_future_release(c->fs[i]);
    cio__free(c->fs);
    cio__free(c->order);
    cio__free(c);
}

static int satisfied(const collector *c)
{
    switch (c->when) {
    case CIO_FIRST_COMPLETED:
        return c->ndone > 0;
    case CIO_FIRST_EXCEPTION:
        return c->nerr > 0 || c->ndone == c->n;
    default:
        return c->ndone == c->n;
    }
}

static void coll_wake(collector *c, int v)
{
    cio__task *t = c->waiter;
    if (!t)
        return;
    c->waiter = NULL;
    if (c->timer) {
        cio__handle_cancel(c->loop, c->timer);
        c->timer = NULL;
    }
    cio__unpark(t, v);
}

static int coll_on_done(cio_future *f, void *arg)
{
    collector *c = arg;
    if (c->fs) { /* still collecting */
        c->order[c->ndone++] = f;
        if (f->state == CIO__F_DONE && f->err < 0)
            c->nerr++;
        if (satisfied(c))
            coll_wake(c, 0);
    }
    coll_unref(c);
    return 0;
}

static void coll_timer_fire(cio__handle *h)
{
    collector *c = h->arg;
    c->timer = NULL;
    c->expired = 1;
    coll_wake(c, -ETIMEDOUT);
}

static int coll_cancel(cio__task *t)
{
    collector *c = cio__park_arg(t);
    coll_wake(c, -ECANCELED);
    return 1;
}

static int coll_new(cio_loop *loop, cio_future **fs, size_t n,
                    collector **out)
{
    collector *c = cio__calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->order = cio__malloc(n * sizeof(*c->order));
    if (!c->order) {
        cio__free(c);
        return -ENOMEM;
    }
    c->refs = 1;
    c->loop = loop;
    c->fs = fs;
    c->n = n;
    for (size_t i = 0; i < n; i++) {
        cio_future *f = fs[i];
        if (f->state != CIO__F_PENDING) {
            c->order[c->ndone++] = f;
            if (f->state == CIO__F_DONE && f->err < 0)
                c->nerr++;
        } else if (cio__future_add_entry(f, coll_on_done, c) == 0) {
            c->refs++;
        } else {
            /* Out of memory: detach what we registered and give up. */
            for (size_t j = 0; j < i; j++)
                if (cio_future_remove_done_callback(fs[j], coll_on_done, c))
                    c->refs--;
            c->fs = NULL;
            c->n = 0;
            coll_unref(c);
            return -ENOMEM;
        }
    }
    *out = c;
    return 0;
}

/* Stops collecting: withdraws callbacks still registered and drops the
 * owner's reference. Callbacks already scheduled see fs == NULL. */
static void coll_close(collector *c, int keep_items)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->fs[i]->state == CIO__F_PENDING &&
            cio_future_remove_done_callback(c->fs[i], coll_on_done, c))
            c->refs--;
    if (c->timer) {
        cio__handle_cancel(c->loop, c->timer);
        c->timer = NULL;
    }
    if (keep_items) { /* the caller took the references */
        cio__free(c->fs);
        c->fs = NULL;
        c->n = 0;
    } else {
        for (size_t i = 0; i < c->n; i++)
            cio_future_release(c->fs[i]);
        cio__free(c->fs);
        c->fs = NULL;
        c->n = 0;
    }
    coll_unref(c);
}

/* Suspends the current task on c until woken or deadline (absolute;
 * INT64_MAX: none). Returns the wake value. */
static int coll_suspend(collector *c, cio__task *t, int64_t deadline)
{
    if (deadline != INT64_MAX) {
        cio__handle *h = cio__handle_get(c->loop);
        if (!h)
            return -ENOMEM;
        h->icb = coll_timer_fire;
        h->arg = c;
        int r = cio__handle_at(c->loop, h, deadline);
        if (r < 0)
            return r;
        c->timer = h;
    }
    c->waiter = t;
    int r = cio__park(t, coll_cancel, c, "wait");
    if (c->waiter == t) { /* resumed by a late must_cancel */
        c->waiter = NULL;
        if (c->timer) {
            cio__handle_cancel(c->loop, c->timer);
            c->timer = NULL;
        }
    }
    return r;
}

static int64_t deadline_of(cio_loop *loop, int64_t timeout)
{
    if (timeout < 0)
        return INT64_MAX;
    int64_t now = cio_loop_time(loop);
    return timeout > INT64_MAX - now ? INT64_MAX : now + timeout;
}

/* ---- wait ---- */

int cio_wait(const cio_awaitable *items, size_t n, int64_t timeout,
             cio_return_when when, cio_future **done, size_t *ndone,
             cio_future **pending, size_t *npending)
{
    if (ndone)
        *ndone = 0;
    if (npending)
        *npending = 0;
    cio__task *t = cio__tls_task;
    if (!t || !items || n == 0 || !done || !pending || !ndone || !npending ||
        (unsigned)when > CIO_FIRST_EXCEPTION)
        return CIO_MISUSE(t ? "bad items, outputs or when" : "called outside a task");
    cio_loop *loop = t->f.loop;
    cio_future **fs = cio__malloc(n * sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    int r = resolve_all(loop, items, n, fs);
    if (r < 0) {
        cio__free(fs);
        return r;
    }
    ssize_t k = distinct(fs, n);
    if (k < 0) {
        release_all(fs, n);
        cio__free(fs);
        return (int)k;
    }
    n = (size_t)k;
    collector *c;
    r = coll_new(loop, fs, n, &c);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            cio_future_release(fs[i]);
        cio__free(fs);
        return r;
    }
    c->when = when;
    r = 0;
    if (!satisfied(c)) {
        r = coll_suspend(c, t, deadline_of(loop, timeout));
        if (r == -ETIMEDOUT)
            r = 0; /* asyncio.wait reports a timeout by what is pending */
    }
    /* Completion order first, then anything done whose callback has not
     * run yet, then the pending ones. */
    size_t nd = 0, np = 0;
    for (size_t i = 0; i < c->ndone; i++)
        done[nd++] = c->order[i];
    for (size_t i = 0; i < n; i++) {
        cio_future *f = fs[i];
        int seen = 0;
        for (size_t j = 0; j < c->ndone && !seen; j++)
            seen = c->order[j] == f;
        if (seen)
            continue;
        if (f->state != CIO__F_PENDING)
            done[nd++] = f;
        else
            pending[np++] = f;
    }
    *ndone = nd;
    *npending = np;
    coll_close(c, 1); /* the references move to done[] and pending[] */
    return r;
}

/* ---- as_completed ---- */

struct cio_as_completed {
    collector *c;
    cio_loop *loop;
    int64_t deadline;
    size_t next;
};

int cio_as_completed_new(cio_loop *loop, const cio_awaitable *items,
                         size_t n, int64_t timeout, cio_as_completed **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!items && n)
        return -EINVAL;
    cio_as_completed *ac = cio__calloc(1, sizeof(*ac));
    cio_future **fs = cio__malloc((n ? n : 1) * sizeof(*fs));
    if (!ac || !fs) {
        cio__free(ac);
        cio__free(fs);
        return -ENOMEM;
    }
    r = resolve_all(loop, items, n, fs);
    if (r == 0) {
        ssize_t k = distinct(fs, n);
        if (k < 0) {
            release_all(fs, n);
            cio__free(fs);
            cio__free(ac);
            return (int)k;
        }
        n = (size_t)k;
        r = coll_new(loop, fs, n, &ac->c);
        if (r < 0)
            for (size_t i = 0; i < n; i++)
                cio_future_release(fs[i]);
    }
    if (r < 0) {
        cio__free(fs);
        cio__free(ac);
        return r;
    }
    ac->c->when = CIO_FIRST_COMPLETED;
    ac->loop = loop;
    ac->deadline = deadline_of(loop, timeout);
    *out = ac;
    return 0;
}

int cio_as_completed_next(cio_as_completed *ac, cio_future **f)
{
    if (f)
        *f = NULL;
    cio__task *t = cio__tls_task;
    if (!ac || !f || !t || t->f.loop != ac->loop)
        return CIO_MISUSE(t ? "NULL argument, or an iterator of another loop" : "called outside a task");
    collector *c = ac->c;
    if (ac->next == c->n)
        return 0;
    while (ac->next == c->ndone) {
        if (c->expired || cio_loop_time(ac->loop) >= ac->deadline)
            return -ETIMEDOUT;
        int r = coll_suspend(c, t, ac->deadline);
        if (r < 0)
            return r;
    }
    *f = cio_future_retain(c->order[ac->next++]);
    return 1;
}

void cio_as_completed_free(cio_as_completed *ac)
{
    if (!ac)
        return;
    coll_close(ac->c, 0);
    cio__free(ac);
}

/* ---- gather ---- */

typedef struct gather {
    cio_future f;
    size_t n, nfinished;
    int return_errors;
    int cancel_requested;
    cio_future **children;
} gather;

static void gather_free(cio_future *f)
{
    gather *g = (gather *)(void *)f;
    for (size_t i = 0; i < g->n; i++)
        cio_future_release(g->children[i]);
    cio__free(g->children);
    cio__free(g);
}

static int gather_cancel(cio_future *f, const char *msg)
{
    gather *g = (gather *)(void *)f;
    int any = 0;
    for (size_t i = 0; i < g->n; i++)
        if (cio_future_cancel(g->children[i], msg) == 1)
            any = 1;
    if (any)
        g->cancel_requested = 1;
    return any;
}

static int gather_child_done(cio_future *child, void *arg)
{
    gather *g = arg;
    cio_future *outer = &g->f;
    if (outer->state != CIO__F_PENDING) {
        /* Mark the child's error retrieved, as asyncio does, so it is not
         * reported twice. */
        cio_future_error(child);
        cio_future_release(outer);
        return 0;
    }
    if (!g->return_errors) {
        int e = cio_future_error(child);
        if (e == -ECANCELED && g->cancel_requested) {
            /* The gather itself was cancelled: it ends cancelled. */
            outer->err = -ECANCELED;
            cio__future_complete(outer, CIO__F_CANCELLED);
            cio_future_release(outer);
            return 0;
        }
        if (e < 0) {
            cio__future_set_error(outer, e, cio_future_error_message(child));
            cio_future_release(outer);
            return 0;
        }
    }
    if (++g->nfinished == g->n) {
        if (g->cancel_requested) {
            outer->err = -ECANCELED;
            cio__future_complete(outer, CIO__F_CANCELLED);
        } else {
            for (size_t i = 0; i < g->n; i++)
                cio_future_error(g->children[i]); /* reported via results */
            outer->err = 0;
            cio__future_complete(outer, CIO__F_DONE);
        }
    }
    cio_future_release(outer);
    return 0;
}

int cio_gather(cio_loop *loop, const cio_awaitable *items, size_t n,
               int return_errors, cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!items && n)
        return -EINVAL;
    gather *g = cio__calloc(1, sizeof(*g));
    cio_future **ch = cio__malloc((n ? n : 1) * sizeof(*ch));
    if (!g || !ch) {
        cio__free(g);
        cio__free(ch);
        return -ENOMEM;
    }
    r = resolve_all(loop, items, n, ch);
    if (r < 0) {
        cio__free(g);
        cio__free(ch);
        return r;
    }
    cio__future_init(&g->f, loop, 0);
    g->f.on_cancel = gather_cancel;
    g->f.on_free = gather_free;
    g->n = n;
    g->children = ch;
    g->return_errors = return_errors != 0;
    for (size_t i = 0; i < n; i++) {
        /* Each registration holds a reference to the gather future. */
        cio_future_retain(&g->f);
        r = cio_future_add_done_callback(ch[i], gather_child_done, g);
        if (r < 0) {
            cio_future_release(&g->f);
            for (size_t j = i; j < n; j++)
                cio_future_cancel(ch[j], NULL);
            /* Children already registered will complete it; mark it
             * failed now so they only drop their references. */
            cio__future_set_error(&g->f, r, NULL);
            cio_future_error(&g->f);
            break;
        }
    }
    if (n == 0) {
        g->f.err = 0;
        cio__future_complete(&g->f, CIO__F_DONE);
    }
    *out = &g->f;
    return 0;
}

int cio_gather_results(cio_future *f, void **results, int *errors, size_t n)
{
    if (!f || f->on_free != gather_free)
        return -EINVAL;
    gather *g = (gather *)(void *)f;
    if (n != g->n || (n && !results))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (g->children[i]->state == CIO__F_PENDING)
            return -EAGAIN;
    for (size_t i = 0; i < n; i++) {
        int e = cio_future_result(g->children[i], &results[i]);
        if (errors)
            errors[i] = e;
    }
    return 0;
}

/* ---- shield ---- */

static int shield_copy(cio_future *inner, void *arg)
{
    cio_future *outer = arg;
    if (outer->state == CIO__F_PENDING) {
        if (inner->state == CIO__F_CANCELLED) {
            outer->err = -ECANCELED;
            cio__future_complete(outer, CIO__F_CANCELLED);
        } else {
            void *res;
            int e = cio_future_result(inner, &res);
            if (e < 0) {
                cio__future_set_error(outer, e,
                                      cio_future_error_message(inner));
            } else {
                outer->result = res;
                outer->err = 0;
                cio__future_complete(outer, CIO__F_DONE);
            }
        }
    } else if (inner->state == CIO__F_DONE) {
        cio_future_error(inner); /* nobody will ask: the outer was cancelled */
    }
    cio_future_release(outer);
    return 0;
}

int cio_shield(cio_future *inner, cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!inner)
        return -EINVAL;
    cio_future *outer;
    int r = cio_future_new(inner->loop, &outer);
    if (r < 0)
        return r;
    if (inner->state != CIO__F_PENDING) {
        cio_future_retain(outer);
        shield_copy(inner, outer);
    } else {
        r = cio__future_add_entry(inner, shield_copy, outer);
        if (r < 0) {
            cio_future_release(outer);
            return r;
        }
        cio_future_retain(outer);
    }
    *out = outer;
    return 0;
}

/* ---- timeout scopes ---- */

enum { TS_ACTIVE = 1, TS_EXPIRED, TS_CLOSED };

/* Open scopes are linked per task (innermost first) so that a second
 * cio_timeout_begin on a scope that is still open is recognised without
 * reading the caller's storage, which is uninitialised before its first
 * begin: only scopes found on the list are ever dereferenced. */
typedef struct scope {
    cio__task *task;
    cio__handle *h;
    int64_t when;
    int state;
    int saved_cancelling;
    int expired; /* stays set after end (asyncio's expired()) */
    struct scope *outer; /* next open scope of the same task */
} scope;

_Static_assert(sizeof(scope) <= sizeof(cio_timeout),
               "cio_timeout too small for its implementation");
_Static_assert(_Alignof(scope) <= _Alignof(cio_timeout),
               "cio_timeout under-aligned");

static int scope_is_open(const cio__task *t, const scope *s)
{
    for (const scope *o = t->tscopes; o; o = o->outer)
        if (o == s)
            return 1;
    return 0;
}

static void scope_unlink(scope *s)
{
    for (scope **pp = (scope **)&s->task->tscopes; *pp; pp = &(*pp)->outer)
        if (*pp == s) {
            *pp = s->outer;
            return;
        }
}

static void scope_fire(cio__handle *h)
{
    scope *s = h->arg;
    s->h = NULL;
    s->state = TS_EXPIRED;
    s->expired = 1;
    cio__task_cancel(s->task, NULL);
}

/* A deadline already reached is queued with call_soon, as asyncio's
 * Timeout.reschedule does: the cancellation then lands ahead of the
 * task's own next wake-up (a sleep(0) included), so the very next
 * suspension is cancelled. A timer at a past deadline would only join
 * the ready queue behind work queued already. */
static int scope_arm(scope *s)
{
    if (s->when == INT64_MAX)
        return 0;
    cio_loop *loop = s->task->f.loop;
    cio__handle *h = cio__handle_get(loop);
    if (!h)
        return -ENOMEM;
    h->icb = scope_fire;
    h->arg = s;
    if (s->when <= cio_loop_time(loop)) {
        cio__handle_soon(loop, h);
    } else {
        int r = cio__handle_at(loop, h, s->when);
        if (r < 0)
            return r;
    }
    s->h = h;
    return 0;
}

int cio_timeout_begin_at(cio_timeout *to, int64_t when)
{
    cio__task *t = cio__tls_task;
    if (!to || !t)
        return CIO_MISUSE(t ? "NULL scope" : "called outside a task");
    scope *s = (scope *)(void *)to;
    if (scope_is_open(t, s))
        return -EINVAL; /* asyncio: "Timeout has already been entered" */
    s->task = t;
    s->h = NULL;
    s->when = when;
    s->state = TS_ACTIVE;
    s->expired = 0;
    s->saved_cancelling = t->ncancel;
    int r = scope_arm(s);
    if (r < 0) {
        s->state = TS_CLOSED;
        return r;
    }
    s->outer = t->tscopes;
    t->tscopes = s;
    return 0;
}

int cio_timeout_begin(cio_timeout *to, int64_t timeout)
{
    cio__task *t = cio__tls_task;
    if (!to || !t)
        return CIO_MISUSE(t ? "NULL scope" : "called outside a task");
    return cio_timeout_begin_at(to, deadline_of(t->f.loop, timeout));
}

int cio_timeout_reschedule(cio_timeout *to, int64_t when)
{
    scope *s = (scope *)(void *)to;
    if (!s || s->state != TS_ACTIVE)
        return -EINVAL;
    if (s->h) {
        cio__handle_cancel(s->task->f.loop, s->h);
        s->h = NULL;
    }
    s->when = when;
    return scope_arm(s);
}

int64_t cio_timeout_when(const cio_timeout *to)
{
    const scope *s = (const scope *)(const void *)to;
    return s ? s->when : INT64_MAX;
}

int cio_timeout_expired(const cio_timeout *to)
{
    const scope *s = (const scope *)(const void *)to;
    return s && s->expired;
}

int cio_timeout_end(cio_timeout *to, int rc)
{
    scope *s = (scope *)(void *)to;
    if (!s || (s->state != TS_ACTIVE && s->state != TS_EXPIRED))
        return rc;
    if (s->h) {
        cio__handle_cancel(s->task->f.loop, s->h);
        s->h = NULL;
    }
    if (s->state == TS_EXPIRED) {
        int left = cio_task_uncancel(&s->task->f);
        if (left <= s->saved_cancelling && rc == -ECANCELED)
            rc = -ETIMEDOUT;
    }
    scope_unlink(s);
    s->state = TS_CLOSED;
    return rc;
}

/* ---- wait_for ---- */

/* wait_for with no time at all (asyncio 3.12's timeout <= 0 branch): a
 * done item gives its outcome; anything else is cancelled and awaited,
 * so a coroutine item, whose task has not had its first step yet, never
 * runs its body. The item's own result still wins if it finishes with
 * one instead of ending cancelled (a task that swallowed the request). */
static int wait_for_expired(cio__task *t, cio_future *f, void **result)
{
    if (f->state != CIO__F_PENDING)
        return cio_future_result(f, result);
    int before = t->ncancel;
    int pending = t->must_cancel;
    cio_future_cancel(f, NULL);
    int r = cio_await(f, result);
    /* -ECANCELED is the caller's own if it was cancelled meanwhile, or if
     * a request pending at entry was delivered by this await (consumed);
     * otherwise it is the item's, i.e. the timeout. */
    if (r == -ECANCELED && t->ncancel <= before &&
        !(pending && !t->must_cancel))
        r = -ETIMEDOUT;
    return r;
}

int cio_wait_for(cio_awaitable item, int64_t timeout, void **result)
{
    if (result)
        *result = NULL;
    cio__task *t = cio__tls_task;
    if (!t)
        return CIO_MISUSE("called outside a task");
    cio_future *f;
    int r = resolve(t->f.loop, &item, &f);
    if (r < 0)
        return r;
    if (timeout == 0) {
        r = wait_for_expired(t, f, result);
        cio_future_release(f);
        return r;
    }
    cio_timeout to;
    r = cio_timeout_begin(&to, timeout);
    if (r == 0) {
        r = cio_await(f, result);
        r = cio_timeout_end(&to, r);
        if (r == -ETIMEDOUT && result)
            *result = NULL;
    } else if (!item.future) {
        cio_future_cancel(f, NULL);
    }
    cio_future_release(f);
    return r;
}
