/*
 * bridge.c - loop futures <-> concurrent futures (asyncio.wrap_future and
 * _chain_future), run_in_executor (thread pools) and its process-pool
 * twin, to_thread and the per-loop default pool.
 *
 * Every loop that bridges gets a context (cio__xloop) stored in
 * loop->default_executor, with loop->default_executor_shutdown pointing
 * at xloop_close. Other threads never touch loop objects: they post ops
 * into the context's inbox, and one call_soon_threadsafe callback per
 * batch drains the inbox on the loop thread. Bridges that hold loop-side
 * references (a loop future, a task) are linked into the context's holder
 * list. cio_loop_close runs xloop_close on the loop thread: it closes the
 * inbox (late posts fail and their senders drop only thread-safe
 * references), shuts the default pool down with wait=1, runs the ops left
 * in discard mode and lets every holder drop its loop-side references.
 * That is how a job finishing after its awaiting task was cancelled, or
 * after cio_run returned, neither touches a closed loop nor leaks.
 *
 * Each bridge is refcounted atomically: one reference for its loop side
 * (loop thread only) and one for its concurrent-future callback (any
 * thread; it travels with the posted op).
 *
 * Rejected: posting each completion with its own call_soon_threadsafe.
 * Items still queued when the loop closes are freed by the loop without
 * running, so anything they own would leak; and a batch of completions
 * would cost one eventfd write each instead of one.
 */
#include <errno.h>

#include "exec/exec.h"
#include "task/task.h"

struct cio__xloop {
    atomic_uint refs;
    pthread_mutex_t lock;
    int closed, posted;    /* under lock */
    cio__xop *head, *tail; /* under lock */
    cio_loop *loop;
    cio_thread_pool *pool; /* loop thread */
    cio__list holders;     /* loop thread */
};

static pthread_mutex_t g_xloop_lock = PTHREAD_MUTEX_INITIALIZER;

static void xloop_close(cio_loop *loop);

void cio__xloop_retain(cio__xloop *x)
{
    atomic_fetch_add_explicit(&x->refs, 1, memory_order_relaxed);
}

void cio__xloop_release(cio__xloop *x)
{
    if (atomic_fetch_sub_explicit(&x->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&x->lock);
    cio__free(x);
}

cio__xloop *cio__xloop_get(cio_loop *loop)
{
    pthread_mutex_lock(&g_xloop_lock);
    cio__xloop *x = NULL;
    if (loop->closed) {
        /* nothing: a closed loop takes no new bridges */
    } else if (loop->default_executor_shutdown == xloop_close) {
        x = loop->default_executor;
    } else if ((x = cio__calloc(1, sizeof(*x)))) {
        atomic_init(&x->refs, 1); /* the loop's */
        pthread_mutex_init(&x->lock, NULL);
        x->loop = loop;
        cio__list_init(&x->holders);
        loop->default_executor = x;
        loop->default_executor_shutdown = xloop_close;
    }
    pthread_mutex_unlock(&g_xloop_lock);
    return x;
}

void cio__xloop_hold(cio__xloop *x, cio__xhold *h)
{
    cio__list_insert_tail(&x->holders, &h->link);
}

void cio__xloop_unhold(cio__xhold *h) { cio__list_remove(&h->link); }

static int xloop_drain(void *arg)
{
    cio__xloop *x = arg;
    pthread_mutex_lock(&x->lock);
    cio__xop *op = x->head;
    x->head = x->tail = NULL;
    x->posted = 0;
    pthread_mutex_unlock(&x->lock);
    while (op) {
        cio__xop *next = op->next;
        op->run(op, 0);
        op = next;
    }
    return 0;
}

int cio__xloop_post(cio__xloop *x, cio__xop *op)
{
    op->next = NULL;
    pthread_mutex_lock(&x->lock);
    if (x->closed) {
        pthread_mutex_unlock(&x->lock);
        return -ESHUTDOWN;
    }
    if (x->tail)
        x->tail->next = op;
    else
        x->head = op;
    x->tail = op;
    /* Posting under the lock is what makes this safe against close: the
     * loop cannot pass xloop_close (which takes the lock) while another
     * thread is inside call_soon_threadsafe on it. */
    if (!x->posted &&
        cio_loop_call_soon_threadsafe(x->loop, xloop_drain, x) == 0)
        x->posted = 1; /* on ENOMEM the next post (or close) takes it */
    pthread_mutex_unlock(&x->lock);
    return 0;
}

cio_thread_pool *cio__xloop_default_pool(cio__xloop *x, int *err)
{
    *err = 0;
    if (!x->pool) {
        cio_thread_pool_opts o = CIO_THREAD_POOL_OPTS_INIT;
        o.name_prefix = "cio-exec";
        *err = cio_thread_pool_new(&x->pool, &o);
    }
    return x->pool;
}

static void xloop_close(cio_loop *loop)
{
    cio__xloop *x = loop->default_executor;
    pthread_mutex_lock(&x->lock);
    x->closed = 1;
    pthread_mutex_unlock(&x->lock);
    /* asyncio's shutdown_default_executor: wait for the running jobs.
     * Their completions find the inbox closed. */
    cio_thread_pool_free(x->pool);
    x->pool = NULL;
    pthread_mutex_lock(&x->lock);
    cio__xop *op = x->head;
    x->head = x->tail = NULL;
    pthread_mutex_unlock(&x->lock);
    while (op) {
        cio__xop *next = op->next;
        op->run(op, 1);
        op = next;
    }
    while (!cio__list_empty(&x->holders)) {
        cio__xhold *h = cio__container_of(x->holders.next, cio__xhold, link);
        cio__list_remove(&h->link);
        h->close(h);
    }
    cio__xloop_release(x);
}

/* ---- wrap: concurrent future -> loop future ---- */

typedef struct wrap {
    cio__xop op; /* posted when cf is done */
    cio__xhold hold;
    atomic_uint refs;
    cio__xloop *x;
    cio_cfuture *cf;
    cio_future *fut; /* loop side; NULL once released */
    int fut_cb;      /* wrap_fut_done registered and not yet run */
} wrap;

static void wrap_unref(wrap *w)
{
    if (atomic_fetch_sub_explicit(&w->refs, 1, memory_order_acq_rel) != 1)
        return;
    cio_cfuture_release(w->cf);
    cio__xloop_release(w->x);
    cio__free(w);
}

/* Loop side done? Then unlink and drop its reference. */
static void wrap_loop_side_check(wrap *w)
{
    if (w->fut || w->fut_cb)
        return;
    cio__xloop_unhold(&w->hold);
    wrap_unref(w);
}

static void release_bytes_owner(void *result)
{
    cio_cfuture_release(cio__container_of(result, cio_cfuture, out));
}

static void wrap_copy(wrap *w)
{
    cio_future *f = w->fut;
    cio_cfuture *cf = w->cf;
    if (cio_future_done(f))
        return;
    if (cio_cfuture_cancelled(cf)) {
        cio_future_cancel(f, NULL);
        return;
    }
    if (cf->err < 0) {
        cio_future_set_error(f, cf->err, cf->msg);
        return;
    }
    if (cf->result == (void *)&cf->out) {
        /* A process result lives in the cfuture: keep it alive as long
         * as the loop future holds the pointer. */
        cio_cfuture_retain(cf);
        cio_future_set_result_dtor(f, release_bytes_owner);
    }
    cio_future_set_result(f, cf->result);
}

static int wrap_fut_done(cio_future *f, void *arg);

static void wrap_op_run(cio__xop *op, int discard)
{
    wrap *w = cio__container_of(op, wrap, op);
    if (!discard && w->fut) {
        if (w->fut_cb && !cio_future_done(w->fut) &&
            cio_future_remove_done_callback(w->fut, wrap_fut_done, w) > 0)
            w->fut_cb = 0;
        wrap_copy(w);
        cio_future_release(w->fut);
        w->fut = NULL;
        wrap_loop_side_check(w);
    }
    wrap_unref(w); /* the cfuture callback's reference */
}

static int wrap_cf_done(cio_cfuture *cf, void *arg)
{
    (void)cf;
    wrap *w = arg;
    if (cio__xloop_post(w->x, &w->op) < 0)
        wrap_unref(w);
    return 0;
}

static int wrap_fut_done(cio_future *f, void *arg)
{
    wrap *w = arg;
    w->fut_cb = 0;
    if (cio_future_cancelled(f))
        cio_cfuture_cancel(w->cf); /* only stops a job not yet started */
    wrap_loop_side_check(w);
    return 0;
}

static void wrap_hold_close(cio__xhold *h)
{
    wrap *w = cio__container_of(h, wrap, hold);
    /* Runs inside cio_loop_close: a done callback still queued is about
     * to be discarded unrun, so it no longer counts. */
    if (w->fut_cb) {
        if (!cio_future_done(w->fut))
            cio_future_remove_done_callback(w->fut, wrap_fut_done, w);
        w->fut_cb = 0;
    }
    if (w->fut) {
        cio_future_release(w->fut);
        w->fut = NULL;
    }
    if (cio_cfuture_remove_done_callback(w->cf, wrap_cf_done, w) > 0)
        wrap_unref(w);
    wrap_unref(w);
}

int cio_cfuture_wrap(cio_loop *loop, cio_cfuture *cf, cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!cf)
        return -EINVAL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    cio__xloop *x = cio__xloop_get(loop);
    if (!x)
        return -ENOMEM;
    wrap *w = cio__calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    r = cio_future_new(loop, &w->fut);
    if (r == 0 && (r = cio_future_add_done_callback(w->fut, wrap_fut_done,
                                                    w)) < 0)
        cio_future_release(w->fut);
    if (r < 0) {
        cio__free(w);
        return r;
    }
    w->fut_cb = 1;
    w->op.run = wrap_op_run;
    w->hold.close = wrap_hold_close;
    atomic_init(&w->refs, 2);
    cio__xloop_retain(x);
    w->x = x;
    w->cf = cio_cfuture_retain(cf);
    cio__xloop_hold(x, &w->hold);
    *out = cio_future_retain(w->fut);
    r = cio_cfuture_add_done_callback(cf, wrap_cf_done, w);
    if (r < 0) {
        /* The copy can never happen: undo the loop side. */
        cio_future_remove_done_callback(w->fut, wrap_fut_done, w);
        w->fut_cb = 0;
        cio_future_release(w->fut);
        w->fut = NULL;
        cio_future_release(*out);
        *out = NULL;
        wrap_loop_side_check(w);
        wrap_unref(w);
        return r;
    }
    return 0;
}

int cio_cfuture_await(cio_cfuture *cf, void **result)
{
    if (result)
        *result = NULL;
    if (!cio__tls_task || !cf)
        return CIO_MISUSE(cio__tls_task ? "NULL cf" : "called outside a task");
    cio_future *f;
    int r = cio_cfuture_wrap(cio__tls_task->f.loop, cf, &f);
    if (r < 0)
        return r;
    r = cio_await(f, result);
    cio_future_release(f);
    return r;
}

/* ---- chain: loop future (or task) -> concurrent future ---- */

typedef struct chain {
    cio__xop op; /* posted when cf is cancelled: cancel src */
    cio__xhold hold;
    atomic_uint refs;
    atomic_int src_finished;
    cio__xloop *x;
    cio_cfuture *cf;
    cio_future *src; /* loop side; NULL once released */
} chain;

static void chain_unref(chain *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    cio_cfuture_release(c->cf);
    cio__xloop_release(c->x);
    cio__free(c);
}

/* Copies src's outcome into cf (loop thread; src done). */
static void chain_copy(chain *c)
{
    cio_future *src = c->src;
    cio_cfuture *cf = c->cf;
    atomic_store(&c->src_finished, 1);
    if (cio_future_cancelled(src)) {
        cio_cfuture_cancel(cf);
        return;
    }
    void *res = NULL;
    int e = cio_future_result(src, &res);
    if (cio_cfuture_set_running_or_notify_cancel(cf) != 1)
        return; /* cancelled meanwhile: the cancel op is on its way */
    char *msg = NULL;
    const char *m = cio_future_error_message(src);
    if (e < 0 && m)
        msg = cio__strdup(m);
    cio__cfuture_finish(cf, e, res, msg);
}

static int chain_src_done(cio_future *f, void *arg)
{
    (void)f;
    chain *c = arg;
    if (!c->src)
        return 0;
    chain_copy(c);
    cio_future_release(c->src);
    c->src = NULL;
    cio__xloop_unhold(&c->hold);
    chain_unref(c);
    return 0;
}

static void chain_op_run(cio__xop *op, int discard)
{
    chain *c = cio__container_of(op, chain, op);
    if (!discard && c->src && !cio_future_done(c->src))
        cio_future_cancel(c->src, NULL);
    chain_unref(c);
}

static int chain_cf_done(cio_cfuture *cf, void *arg)
{
    chain *c = arg;
    if (cio_cfuture_cancelled(cf) && !atomic_load(&c->src_finished) &&
        cio__xloop_post(c->x, &c->op) == 0)
        return 0; /* the op carries the reference */
    chain_unref(c);
    return 0;
}

static void chain_hold_close(cio__xhold *h)
{
    chain *c = cio__container_of(h, chain, hold);
    if (c->src) {
        if (cio_future_done(c->src)) {
            chain_copy(c); /* its callback is queued and will be dropped */
        } else {
            cio_future_remove_done_callback(c->src, chain_src_done, c);
            atomic_store(&c->src_finished, 1);
            cio_cfuture_cancel(c->cf); /* the loop closed under it */
        }
        cio_future_release(c->src);
        c->src = NULL;
    }
    if (cio_cfuture_remove_done_callback(c->cf, chain_cf_done, c) > 0)
        chain_unref(c);
    chain_unref(c);
}

/* Links src (retained) to cf (retained) on x's loop. Loop thread. */
static int chain_new(cio__xloop *x, cio_future *src, cio_cfuture *cf)
{
    chain *c = cio__calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    int r = cio_future_add_done_callback(src, chain_src_done, c);
    if (r < 0) {
        cio__free(c);
        return r;
    }
    c->op.run = chain_op_run;
    c->hold.close = chain_hold_close;
    atomic_init(&c->refs, 2);
    atomic_init(&c->src_finished, 0);
    cio__xloop_retain(x);
    c->x = x;
    c->cf = cio_cfuture_retain(cf);
    c->src = cio_future_retain(src);
    cio__xloop_hold(x, &c->hold);
    if (cio_cfuture_add_done_callback(cf, chain_cf_done, c) < 0)
        chain_unref(c); /* cancellation will not propagate; copy still will */
    return 0;
}

int cio_cfuture_from_future(cio_future *f, cio_cfuture **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!f)
        return -EINVAL;
    int r = cio__loop_check(f->loop);
    if (r < 0)
        return r;
    cio__xloop *x = cio__xloop_get(f->loop);
    if (!x)
        return -ENOMEM;
    cio_cfuture *cf;
    if ((r = cio__cfuture_alloc(&cf)) < 0)
        return r;
    if ((r = chain_new(x, f, cf)) < 0) {
        cio_cfuture_release(cf);
        return r;
    }
    *out = cf;
    return 0;
}

/* ---- run_coroutine_threadsafe ---- */

typedef struct start_op {
    cio__xop op;
    cio__xloop *x;
    cio_coro coro;
    cio_cfuture *cf;
} start_op;

static void start_free(start_op *s)
{
    cio_cfuture_release(s->cf);
    cio__xloop_release(s->x);
    cio__free(s);
}

static void start_run(cio__xop *op, int discard)
{
    start_op *s = cio__container_of(op, start_op, op);
    if (discard) {
        cio_cfuture_cancel(s->cf); /* the loop closed before it started */
        start_free(s);
        return;
    }
    if (cio_cfuture_cancelled(s->cf)) {
        cio_cfuture_set_running_or_notify_cancel(s->cf);
        start_free(s);
        return;
    }
    cio_task *t;
    int r = cio_task_create(s->x->loop, s->coro, NULL, &t);
    if (r == 0) {
        r = chain_new(s->x, t, s->cf);
        if (r < 0)
            cio_task_cancel(t, NULL);
        cio_future_release(t);
    }
    if (r < 0 && cio_cfuture_set_running_or_notify_cancel(s->cf) == 1)
        cio__cfuture_finish(s->cf, r, NULL, NULL);
    start_free(s);
}

int cio_run_coroutine_threadsafe(cio_loop *loop, cio_coro coro,
                                 cio_cfuture **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!loop || !coro.fn)
        return -EINVAL;
    cio__xloop *x = cio__xloop_get(loop);
    if (!x)
        return loop->closed ? -EINVAL : -ENOMEM;
    start_op *s = cio__calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    int r = cio__cfuture_alloc(&s->cf);
    if (r < 0) {
        cio__free(s);
        return r;
    }
    cio__xloop_retain(x);
    s->x = x;
    s->coro = coro;
    s->op.run = start_run;
    cio_cfuture *cf = cio_cfuture_retain(s->cf);
    if ((r = cio__xloop_post(x, &s->op)) < 0) {
        start_free(s);
        cio_cfuture_release(cf);
        return -EINVAL; /* the loop is closed */
    }
    *out = cf;
    return 0;
}

/* ---- run_in_executor, to_thread ---- */

/* The loop side of a submitted job: a loop future for cf (whose
 * reference is consumed). If that cannot be made the job is cancelled,
 * so a job nobody can await does not run. */
static int wrap_job(cio_loop *loop, cio_cfuture *cf, cio_future **out)
{
    int r = cio_cfuture_wrap(loop, cf, out);
    if (r < 0)
        cio_cfuture_cancel(cf);
    cio_cfuture_release(cf);
    return r;
}

int cio_run_in_executor(cio_loop *loop, cio_thread_pool *pool,
                        cio_job_fn fn, void *arg, cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!fn)
        return -EINVAL;
    if (!pool) {
        cio__xloop *x = cio__xloop_get(loop);
        if (!x)
            return -ENOMEM;
        pool = cio__xloop_default_pool(x, &r);
        if (!pool)
            return r;
    }
    cio_cfuture *cf;
    if ((r = cio_thread_pool_submit(pool, fn, arg, &cf)) < 0)
        return r;
    return wrap_job(loop, cf, out);
}

int cio_run_in_process_pool(cio_loop *loop, cio_process_pool *pool,
                            cio_process_fn fn, const void *in, size_t len,
                            cio_future **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!pool || !fn)
        return -EINVAL;
    cio_cfuture *cf;
    if ((r = cio_process_pool_submit(pool, fn, in, len, &cf)) < 0)
        return r;
    return wrap_job(loop, cf, out);
}

int cio_to_thread(cio_job_fn fn, void *arg, void **result)
{
    if (result)
        *result = NULL;
    if (!cio__tls_task || !fn)
        return CIO_MISUSE(cio__tls_task ? "NULL fn" : "called outside a task");
    cio_future *f;
    int r = cio_run_in_executor(cio__tls_task->f.loop, NULL, fn, arg, &f);
    if (r < 0)
        return r;
    r = cio_await(f, result);
    cio_future_release(f);
    return r;
}
