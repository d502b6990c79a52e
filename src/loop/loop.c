/*
 * loop.c - the event loop: ready queue, timers, run/stop/close, the
 * thread-safe call queue and the per-thread current loop.
 *
 * One iteration (docs/design.md has the full statement):
 *   1. poll timeout = 0 if anything is ready or a stop is pending, else
 *      the time to the earliest timer, else infinite;
 *   2. poll the backend: I/O watchers run and queue their work;
 *   3. drain the thread-safe queue onto the ready queue (FIFO);
 *   4. move due timers to the ready queue in (deadline, seq) order;
 *   5. run the callbacks that are ready now, at most `batch` of them;
 *      anything they schedule runs in a later iteration (asyncio's ntodo).
 * With the virtual clock, step 1 never blocks while a timer exists: if the
 * poll finds nothing, time jumps to the earliest deadline instead.
 *
 * Rejected: running I/O callbacks to completion inside poll (libuv). The
 * asyncio order (I/O -> ready queue) keeps "who runs when" one rule, and
 * the queue is intrusive, so it costs one pointer write.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coro/coro.h"
#include "loop/loop.h"

_Thread_local cio_loop *cio__tls_running;
static _Thread_local cio_loop *tls_current;

#define HFREE_MAX 4096

static int64_t mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

int64_t cio_loop_time(const cio_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (loop->clock == CIO_CLOCK_VIRTUAL)
        return loop->vnow;
    return mono_now();
}

int cio_loop_new(cio_loop **out, const cio_loop_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    if (opts)
        o = *opts;
    if (o.clock != CIO_CLOCK_MONOTONIC && o.clock != CIO_CLOCK_VIRTUAL)
        return -EINVAL;
    if ((unsigned)o.backend > CIO_BACKEND_URING)
        return -EINVAL;
    const cio__backend_ops *ops = cio__backend_select((int)o.backend);
    if (!ops)
        return -ENOSYS;
    cio_loop *loop = cio__calloc(1, sizeof(*loop));
    if (!loop)
        return -ENOMEM;
    int r = ops->init(&loop->be);
    if (r < 0) {
        cio__free(loop);
        return r;
    }
    loop->bops = ops;
    cio__heap_init(&loop->timers);
    loop->clock = o.clock;
    loop->batch = o.batch ? o.batch : 1024;
    loop->next_id = 1;
    atomic_init(&loop->sig_pending, 0);
    loop->slow_ns = 100 * CIO_MS;
    const char *dbg = getenv("CIO_DEBUG");
    loop->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
    cio__list_init(&loop->tasks);
    pthread_mutex_init(&loop->ts_lock, NULL);
    atomic_init(&loop->ts_nonempty, 0);
    *out = loop;
    return 0;
}

const char *cio_loop_backend_name(const cio_loop *loop)
{
    return loop && loop->bops ? loop->bops->name : "none";
}

int cio_loop_is_running(const cio_loop *loop)
{
    return loop && atomic_load_explicit(&loop->running, memory_order_relaxed);
}

int cio_loop_is_closed(const cio_loop *loop) { return loop && loop->closed; }

cio_loop *cio_get_event_loop(void)
{
    return cio__tls_running ? cio__tls_running : tls_current;
}

int cio_set_event_loop(cio_loop *loop)
{
    if (loop && loop->closed)
        return -EINVAL;
    tls_current = loop;
    return 0;
}

cio_loop *cio_get_running_loop(void) { return cio__tls_running; }

/* ---- handles and timers ---- */

cio__handle *cio__handle_get(cio_loop *loop)
{
    cio__handle *h = loop->hfree;
    if (h) {
        loop->hfree = h->free_next;
        loop->hfree_len--;
    } else {
        h = cio__malloc(sizeof(*h));
        if (!h)
            return NULL;
    }
    h->icb = NULL;
    h->cb = NULL;
    h->dcb = NULL;
    h->arg = h->arg2 = NULL;
    h->id = loop->next_id++;
    h->state = CIO__H_FREE;
    return h;
}

static void handle_put(cio_loop *loop, cio__handle *h)
{
    h->state = CIO__H_FREE;
    h->id = 0;
    if (loop->hfree_len < HFREE_MAX) {
        h->free_next = loop->hfree;
        loop->hfree = h;
        loop->hfree_len++;
    } else {
        cio__free(h);
    }
}

static void handle_run(cio__ready *r)
{
    cio__handle *h = cio__container_of(r, cio__handle, rd);
    cio_loop *loop = cio__tls_running;
    if (h->state == CIO__H_CANCELLED) {
        handle_put(loop, h);
        return;
    }
    h->state = CIO__H_RUNNING;
    if (h->icb) {
        h->icb(h);
    } else {
        int rc = h->cb(h->arg);
        if (rc < 0)
            cio__loop_report(loop, "callback failed", rc, NULL, NULL, NULL);
    }
    handle_put(loop, h);
}

void cio__handle_soon(cio_loop *loop, cio__handle *h)
{
    h->state = CIO__H_READY;
    h->rd.run = handle_run;
    cio__loop_push(loop, &h->rd);
}

int cio__handle_at(cio_loop *loop, cio__handle *h, int64_t when)
{
    h->hn.when = when;
    h->hn.seq = loop->timer_seq++;
    h->rd.run = handle_run;
    int r = cio__heap_insert(&loop->timers, &h->hn);
    if (r < 0) {
        handle_put(loop, h);
        return r;
    }
    h->state = CIO__H_TIMER;
    return 0;
}

int cio__handle_cancel(cio_loop *loop, cio__handle *h)
{
    if (h->state == CIO__H_TIMER) {
        cio__heap_remove(&loop->timers, &h->hn);
        handle_put(loop, h);
        return 1;
    }
    if (h->state == CIO__H_READY) {
        h->state = CIO__H_CANCELLED; /* freed when dequeued */
        return 1;
    }
    return 0;
}

static int schedule(cio_loop *loop, int64_t when, int timed, cio_cb cb,
                    void *arg, cio_handle *out)
{
    if (out)
        *out = (cio_handle){NULL, 0};
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!cb)
        return -EINVAL;
    cio__handle *h = cio__handle_get(loop);
    if (!h)
        return -ENOMEM;
    h->cb = cb;
    h->arg = arg;
    uint64_t id = h->id;
    if (timed) {
        r = cio__handle_at(loop, h, when);
        if (r < 0)
            return r;
    } else {
        cio__handle_soon(loop, h);
    }
    if (out)
        *out = (cio_handle){h, id};
    return 0;
}

int cio_loop_call_soon(cio_loop *loop, cio_cb cb, void *arg, cio_handle *out)
{
    return schedule(loop, 0, 0, cb, arg, out);
}

int cio_loop_call_at(cio_loop *loop, int64_t when, cio_cb cb, void *arg,
                     cio_handle *out)
{
    return schedule(loop, when, 1, cb, arg, out);
}

int cio_loop_call_later(cio_loop *loop, int64_t delay, cio_cb cb, void *arg,
                        cio_handle *out)
{
    if (!loop)
        return -EINVAL;
    /* A negative delay keeps its real, past deadline (asyncio orders
     * call_later(-1) after call_later(-2)); the time is never negative,
     * so only a huge positive delay needs clamping. */
    int64_t now = cio_loop_time(loop);
    int64_t when = delay > INT64_MAX - now ? INT64_MAX : now + delay;
    return schedule(loop, when, 1, cb, arg, out);
}

int cio_handle_cancel(cio_loop *loop, cio_handle hd)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    cio__handle *h = hd.p;
    /* Handles are recycled, never returned to the OS while the loop
     * lives, so reading a stale one is safe; the id tells if it is ours. */
    if (!h || hd.id == 0 || h->id != hd.id)
        return 0;
    if (h->cb == NULL) /* internal handle: not the user's to cancel */
        return 0;
    return cio__handle_cancel(loop, h);
}

/* ---- exception handler ---- */

void cio_loop_default_exception_handler(cio_loop *loop,
                                        const cio_exception_context *ctx,
                                        void *arg)
{
    (void)loop;
    (void)arg;
    if (!ctx)
        return;
    fprintf(stderr, "cio: %s", ctx->message ? ctx->message : "error");
    if (ctx->task_name)
        fprintf(stderr, " [task %s]", ctx->task_name);
    if (ctx->error)
        fprintf(stderr, ": %s (%s)", cio_err_name(ctx->error),
                cio_strerror(ctx->error));
    if (ctx->detail)
        fprintf(stderr, ": %s", ctx->detail);
    fputc('\n', stderr);
}

int cio_loop_set_exception_handler(cio_loop *loop, cio_exception_handler h,
                                   void *arg)
{
    if (!loop)
        return -EINVAL;
    loop->exc_handler = h;
    loop->exc_arg = arg;
    return 0;
}

int cio_loop_call_exception_handler(cio_loop *loop,
                                    const cio_exception_context *ctx)
{
    if (!loop || !ctx)
        return -EINVAL;
    if (loop->exc_handler)
        loop->exc_handler(loop, ctx, loop->exc_arg);
    else
        cio_loop_default_exception_handler(loop, ctx, NULL);
    return 0;
}

void cio__loop_report(cio_loop *loop, const char *message, int error,
                      const char *detail, cio_future *future,
                      const char *task_name)
{
    cio_exception_context ctx = {message, error, detail, future, task_name};
    cio_loop_call_exception_handler(loop, &ctx);
}

/* ---- thread-safe entry ---- */

int cio_loop_call_soon_threadsafe(cio_loop *loop, cio_cb cb, void *arg)
{
    if (!loop || !cb || loop->closed)
        return -EINVAL;
    cio__ts_item *it = cio__malloc(sizeof(*it));
    if (!it)
        return -ENOMEM;
    it->next = NULL;
    it->cb = cb;
    it->arg = arg;
    pthread_mutex_lock(&loop->ts_lock);
    if (loop->ts_closed) { /* closing: nothing would run or free it */
        pthread_mutex_unlock(&loop->ts_lock);
        cio__free(it);
        return -EINVAL;
    }
    if (loop->ts_tail)
        loop->ts_tail->next = it;
    else
        loop->ts_head = it;
    loop->ts_tail = it;
    atomic_store_explicit(&loop->ts_nonempty, 1, memory_order_release);
    /* The wake-up is written before the lock goes: once the item is
     * visible, the loop may run it at its next push (a posted stop, say),
     * finish and close, and cio_loop_close takes this lock (in
     * discard_pending) before it closes the eventfd. Written after the
     * unlock, it could hit a closed (or reused) descriptor; TSan caught
     * that in stop_join_with_pending_work. */
    int r = loop->bops->wakeup(loop->be);
    pthread_mutex_unlock(&loop->ts_lock);
    return r;
}

static int stop_cb(void *arg)
{
    return cio_loop_stop(arg);
}

int cio_loop_stop_threadsafe(cio_loop *loop)
{
    /* Through the call queue, so that callbacks submitted before the stop
     * by the same thread still run first. */
    return cio_loop_call_soon_threadsafe(loop, stop_cb, loop);
}

/* Moves the posted callbacks onto the ready queue, in the order posted.
 * From a push (in_push), nothing may run: an item that gets no handle
 * goes back to the front of the thread-safe queue, with what follows it,
 * for the iteration to retry. From the iteration, such an item runs at
 * once rather than be lost. */
static int drain_threadsafe(cio_loop *loop, int in_push)
{
    pthread_mutex_lock(&loop->ts_lock);
    cio__ts_item *it = loop->ts_head;
    loop->ts_head = loop->ts_tail = NULL;
    atomic_store_explicit(&loop->ts_nonempty, 0, memory_order_relaxed);
    pthread_mutex_unlock(&loop->ts_lock);
    int n = 0;
    while (it) {
        cio__ts_item *next = it->next;
        cio__handle *h = cio__handle_get(loop);
        if (h) {
            h->cb = it->cb;
            h->arg = it->arg;
            h->state = CIO__H_READY;
            h->rd.run = handle_run;
            cio__loop_push_raw(loop, &h->rd);
        } else if (in_push) {
            cio__ts_item *last = it;
            while (last->next)
                last = last->next;
            pthread_mutex_lock(&loop->ts_lock);
            last->next = loop->ts_head;
            loop->ts_head = it;
            if (!loop->ts_tail)
                loop->ts_tail = last;
            atomic_store_explicit(&loop->ts_nonempty, 1,
                                  memory_order_relaxed);
            pthread_mutex_unlock(&loop->ts_lock);
            return n;
        } else {
            /* Never drop a callback: run it now rather than lose it. */
            int rc = it->cb(it->arg);
            if (rc < 0)
                cio__loop_report(loop, "callback failed", rc, NULL, NULL,
                                 NULL);
        }
        cio__free(it);
        it = next;
        n++;
    }
    return n;
}

void cio__loop_drain_threadsafe(cio_loop *loop)
{
    drain_threadsafe(loop, 1);
}

/* Not inlined into this file's callers (cio__handle_soon), which would
 * then save registers around the drain on every push again. */
CIO_NOINLINE void cio__loop_drain_push(cio_loop *loop, cio__ready *r)
{
    drain_threadsafe(loop, 1);
    cio__loop_push_raw(loop, r);
}

/* ---- running ---- */

const char *(*cio__loop_describe_hook)(cio__ready *r);

/* Debug mode: asyncio's slow_callback_duration warning. */
static void run_timed(cio_loop *loop, cio__ready *r)
{
    const char *task = NULL;
    if (r->run != handle_run && cio__loop_describe_hook)
        task = cio__loop_describe_hook(r);
    /* One item per measurement: with batch work left, a task that ends
     * may run the next ready task on its own stack (task.c's hand-off,
     * which needs todo > 0), and that task's step would be timed, and
     * blamed, as this one's. Debug mode gives the hand-off up. */
    size_t todo = loop->todo;
    loop->todo = 0;
    int64_t t0 = mono_now();
    r->run(r);
    int64_t dt = mono_now() - t0;
    loop->todo = todo;
    if (dt > loop->slow_ns)
        fprintf(stderr,
                "cio: debug: executing %s%s took %.3f seconds (the loop was "
                "blocked)\n",
                task ? "task " : "callback", task ? task : "",
                (double)dt / CIO_SEC);
}

void cio__loop_run_once(cio_loop *loop)
{
    int64_t timeout = -1;
    cio__heap_node *top = cio__heap_min(&loop->timers);
    int n = 0;
    if (loop->rq_len && !loop->stopping &&
        ++loop->busy_iters % CIO__BUSY_POLL_EVERY != 0 &&
        !(loop->bops->pending && loop->bops->pending(loop->be))) {
        /* Work is already waiting: a zero-timeout poll would be a syscall
         * per iteration (half the cost of a queue ping-pong). Poll on
         * every CIO__BUSY_POLL_EVERY-th busy iteration so I/O is never
         * starved; thread-safe calls and signals are checked below on
         * every iteration anyway. A backend with submissions queued
         * (io_uring) is polled, or they would wait for it. */
    } else {
        if (loop->rq_len || loop->stopping) {
            timeout = 0;
        } else if (top) {
            if (loop->clock == CIO_CLOCK_VIRTUAL) {
                timeout = 0;
            } else {
                timeout = top->when - mono_now();
                if (timeout < 0)
                    timeout = 0;
            }
        }
        n = loop->bops->poll(loop->be, timeout);
        if (n < 0)
            cio__loop_report(loop, "backend poll failed", n, NULL, NULL,
                             NULL);
    }
    if (atomic_load_explicit(&loop->ts_nonempty, memory_order_acquire))
        n += drain_threadsafe(loop, 0);
    if (atomic_load_explicit(&loop->sig_pending, memory_order_relaxed)) {
        cio__loop_dispatch_signals(loop);
        n++;
    }

    if (top) {
        int64_t now;
        if (loop->clock == CIO_CLOCK_VIRTUAL) {
            /* Nothing else can happen before the next deadline: jump.
             * Also with a stop pending, where a real clock would not wait
             * (the poll timeout is 0): stop() + run_forever() is how a
             * test steps a loop one iteration at a time, and on the
             * virtual clock each such step must reach the next timer. */
            if (!loop->rq_len && n <= 0 && top->when > loop->vnow)
                loop->vnow = top->when;
            now = loop->vnow;
        } else {
            now = mono_now();
        }
        while ((top = cio__heap_min(&loop->timers)) && top->when <= now) {
            cio__heap_remove(&loop->timers, top);
            cio__handle *h = cio__container_of(top, cio__handle, hn);
            h->state = CIO__H_READY;
            cio__loop_push(loop, &h->rd);
        }
    }

    /* A loop field, not a local: a finishing task may take the next ready
     * task off the queue through cio__loop_take_ready (task.c's stack
     * hand-off). */
    loop->todo = loop->rq_len < loop->batch ? loop->rq_len : loop->batch;
    while (loop->todo) {
        loop->todo--;
        cio__ready *r = loop->rq_head;
        loop->rq_head = r->next;
        if (!loop->rq_head)
            loop->rq_tail = NULL;
        loop->rq_len--;
        if (CIO_UNLIKELY(loop->debug))
            run_timed(loop, r);
        else
            r->run(r);
    }
}

int cio_loop_run_forever(cio_loop *loop)
{
    if (!loop || loop->closed || loop->running || cio__tls_running)
        return CIO_MISUSE(!loop           ? "NULL loop"
                          : loop->closed  ? "the loop is closed"
                          : loop->running ? "the loop is already running"
                                          : "another loop runs on this thread");
    atomic_store_explicit(&loop->running, 1, memory_order_relaxed);
    cio__tls_running = loop;
    /* Someone (a test framework, a crash reporter) may have replaced the
     * guard-page handler since the last run; put it back, chaining to
     * theirs, so overflows keep their one-line report. */
    cio__coro_install_fault_handler();
    cio__loop_sigint_arm(loop);
    int rc = 0;
    for (;;) {
        cio__loop_run_once(loop);
        if (CIO_UNLIKELY(loop->interrupted)) {
            /* After Ctrl-C nothing stops the loop but the end of the last
             * task; then the caller learns why it returned. */
            if (cio__loop_interrupt_done(loop)) {
                rc = CIO_EINTERRUPTED;
                break;
            }
            loop->stopping = 0;
            continue;
        }
        if (loop->stopping)
            break;
    }
    cio__loop_sigint_disarm(loop);
    loop->stopping = 0;
    atomic_store_explicit(&loop->running, 0, memory_order_relaxed);
    cio__tls_running = NULL;
    return rc;
}

int cio_loop_stop(cio_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (cio__tls_running != loop &&
        atomic_load_explicit(&loop->running, memory_order_relaxed))
        return -EINVAL;
    loop->stopping = 1;
    return 0;
}

/* ---- closing and freeing ---- */

static void discard_pending(cio_loop *loop)
{
    while (loop->rq_head) {
        cio__ready *r = loop->rq_head;
        loop->rq_head = r->next;
        /* Only handles can be on the queue once no task is pending. */
        cio__handle *h = cio__container_of(r, cio__handle, rd);
        handle_put(loop, h);
    }
    loop->rq_tail = NULL;
    loop->rq_len = 0;
    cio__heap_node *top;
    while ((top = cio__heap_min(&loop->timers))) {
        cio__heap_remove(&loop->timers, top);
        handle_put(loop, cio__container_of(top, cio__handle, hn));
    }
    pthread_mutex_lock(&loop->ts_lock);
    cio__ts_item *it = loop->ts_head;
    loop->ts_head = loop->ts_tail = NULL;
    loop->ts_closed = 1; /* later posts are refused, not leaked */
    pthread_mutex_unlock(&loop->ts_lock);
    while (it) {
        cio__ts_item *next = it->next;
        cio__free(it);
        it = next;
    }
}

int cio_loop_close(cio_loop *loop)
{
    if (!loop)
        return -EINVAL;
    if (loop->closed)
        return 0;
    if (atomic_load_explicit(&loop->running, memory_order_relaxed))
        return -EINVAL;
    if (loop->ntasks) {
        if (loop->debug) {
            fprintf(stderr, "cio: debug: cio_loop_close refused: %zu task(s) "
                            "still pending:\n",
                    loop->ntasks);
            if (cio__loop_dump_hook)
                cio__loop_dump_hook(loop, 2);
        }
        return -EBUSY;
    }
    if (loop->resolver_close) {
        loop->resolver_close(loop);
        loop->resolver_close = NULL;
        loop->resolver = NULL;
    }
    if (loop->default_executor_shutdown) {
        loop->default_executor_shutdown(loop);
        loop->default_executor_shutdown = NULL;
        loop->default_executor = NULL;
    }
    /* Done callbacks of finished futures may still be queued. asyncio's
     * close drops its ready queue; here the internal ones hold future
     * references, so they run once in discard mode (they release what
     * they hold and call no user code) instead of being forgotten. */
    loop->discarding = 1;
    /* Closing one loop from a task of another, running loop is allowed:
     * put that loop back afterwards. */
    cio_loop *outer = cio__tls_running;
    cio__tls_running = loop;
    /* Operations still in the kernel (io_uring) end now: their owners
     * release what the operations held, in discard mode. */
    if (loop->bops->drain)
        loop->bops->drain(loop->be);
    while (loop->rq_head) {
        cio__ready *r = loop->rq_head;
        loop->rq_head = r->next;
        if (!loop->rq_head)
            loop->rq_tail = NULL;
        loop->rq_len--;
        cio__handle *h = cio__container_of(r, cio__handle, rd);
        if (h->state == CIO__H_READY && h->icb) {
            h->state = CIO__H_RUNNING;
            h->icb(h);
        }
        handle_put(loop, h);
    }
    cio__tls_running = outer;
    discard_pending(loop);
    cio__loop_signals_close(loop);
    cio__loop_fds_close(loop);
    loop->closed = 1;
    if (tls_current == loop)
        tls_current = NULL;
    loop->bops->fini(loop->be);
    loop->be = NULL;
    return 0;
}

static void loop_destroy(cio_loop *loop)
{
    while (loop->hfree) {
        cio__handle *h = loop->hfree;
        loop->hfree = h->free_next;
        cio__free(h);
    }
    if (loop->task_free_fn)
        loop->task_free_fn(loop);
    cio__heap_fini(&loop->timers);
    pthread_mutex_destroy(&loop->ts_lock);
    cio__free(loop);
}

int cio_loop_free(cio_loop *loop)
{
    if (!loop)
        return 0;
    int r = cio_loop_close(loop);
    if (r < 0)
        return r;
    loop->freed = 1;
    if (loop->nlive == 0)
        loop_destroy(loop);
    return 0;
}

void cio__loop_unref(cio_loop *loop)
{
    CIO_ASSERT(loop->nlive > 0);
    if (--loop->nlive == 0 && loop->freed)
        loop_destroy(loop);
}
