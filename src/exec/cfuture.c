/*
 * cfuture.c - concurrent futures (concurrent.futures.Future), the blocking
 * as_completed iterator over them, and the small thread helpers every
 * executor shares (signal-blocked thread start, monotonic deadlines).
 *
 * A cfuture is a mutex, a CLOCK_MONOTONIC condvar and an atomic state.
 * Transitions happen under the mutex; the state is also published with
 * release stores so done()/cancelled() and the fast path of result() read
 * it without locking. The condvar is broadcast only when a thread is
 * blocked in result() (nwait), so a job nobody waits for completes
 * without a futex call. Done callbacks are taken out of the future under
 * the lock and run after it is dropped, in the completing thread, exactly
 * as Python invokes them; a callback may therefore release the last
 * reference, cancel other futures or submit more work.
 *
 * The future doubles as its executor's job record (fn, arg, queue link,
 * payload), so a submission costs one allocation.
 *
 * Rejected: a lock-free state machine with a waiter list (futex-based,
 * like folly's). It saves one uncontended mutex round trip per operation,
 * which is noise beside the wakeup a cross-thread completion costs
 * anyway, and Python's semantics (cancel only while pending, callbacks
 * after the state is visible) are easy to get right under one lock.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#include "exec/exec.h"

#include <sched.h>
#include <unistd.h>

/* ---- time and threads ---- */

int64_t cio__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

/* Spinning helps only if the thread we wait for can run at the same
 * time, i.e. this process may use more than one CPU (its affinity, not
 * the machine's count: taskset -c 1 makes it one). Asked once. */
int cio__spin_useful(void)
{
    static atomic_int ncpu; /* 0: not asked yet */
    int n = atomic_load_explicit(&ncpu, memory_order_relaxed);
    if (!n) {
        cpu_set_t set;
        n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set)
                                                           : 1;
        if (n < 1)
            n = 1;
        atomic_store_explicit(&ncpu, n, memory_order_relaxed);
    }
    return n > 1;
}

int64_t cio__deadline(int64_t timeout)
{
    if (timeout < 0)
        return INT64_MAX;
    int64_t now = cio__mono_ns();
    return timeout > INT64_MAX - now ? INT64_MAX : now + timeout;
}

static pthread_condattr_t g_condattr;
static pthread_once_t g_condattr_once = PTHREAD_ONCE_INIT;

static void condattr_init(void)
{
    pthread_condattr_init(&g_condattr);
    pthread_condattr_setclock(&g_condattr, CLOCK_MONOTONIC);
}

void cio__cond_init(pthread_cond_t *c)
{
    pthread_once(&g_condattr_once, condattr_init);
    pthread_cond_init(c, &g_condattr);
}

int cio__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m,
                         int64_t deadline)
{
    if (deadline == INT64_MAX)
        return pthread_cond_wait(c, m);
    struct timespec ts = {(time_t)(deadline / CIO_SEC),
                          (long)(deadline % CIO_SEC)};
    return pthread_cond_timedwait(c, m, &ts);
}

int cio__thread_start(pthread_t *t, void *(*fn)(void *), void *arg,
                      const char *name)
{
    /* The new thread inherits the creator's mask, so blocking here and
     * restoring afterwards leaves no window in which it could take a
     * signal. Synchronous faults stay deliverable: a blocked SIGSEGV from
     * a real fault kills the process without running any handler, which
     * would hide guard-page reports. */
    sigset_t all, old;
    sigfillset(&all);
    sigdelset(&all, SIGSEGV);
    sigdelset(&all, SIGBUS);
    sigdelset(&all, SIGFPE);
    sigdelset(&all, SIGILL);
    sigdelset(&all, SIGTRAP);
    sigdelset(&all, SIGSYS);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(t, NULL, fn, arg);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0)
        return r == ENOMEM ? -ENOMEM : -EAGAIN;
    if (name) {
        char buf[16];
        snprintf(buf, sizeof(buf), "%s", name);
        pthread_setname_np(*t, buf);
    }
    return 0;
}

unsigned cio__cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0)
            return (unsigned)n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1;
}

/* ---- the future ---- */

static int is_done(int st)
{
    return st >= CIO__CF_CANCELLED;
}

static int is_cancelled(int st)
{
    return st == CIO__CF_CANCELLED || st == CIO__CF_CANCELLED_NOTIFIED;
}

int cio__cfuture_alloc(cio_cfuture **out)
{
    cio_cfuture *cf = cio__malloc(sizeof(*cf));
    *out = cf;
    if (!cf)
        return -ENOMEM;
    pthread_mutex_init(&cf->lock, NULL);
    cio__cond_init(&cf->cond);
    atomic_init(&cf->refs, 1);
    atomic_init(&cf->state, CIO__CF_PENDING);
    cf->err = 0;
    cf->nwait = 0;
    cf->result = NULL;
    cf->msg = NULL;
    cf->cbs = cf->inl;
    cf->ncb = 0;
    cf->capcb = 2;
    cf->qnext = NULL;
    cf->fn = NULL;
    cf->arg = NULL;
    cf->job = NULL;
    cf->xfree = NULL;
    cf->out = (cio_bytes){NULL, 0};
    return 0;
}

int cio_cfuture_new(cio_cfuture **out)
{
    if (!out)
        return -EINVAL;
    return cio__cfuture_alloc(out);
}

cio_cfuture *cio_cfuture_retain(cio_cfuture *cf)
{
    if (cf)
        atomic_fetch_add_explicit(&cf->refs, 1, memory_order_relaxed);
    return cf;
}

void cio_cfuture_release(cio_cfuture *cf)
{
    if (!cf)
        return;
    unsigned old = atomic_fetch_sub_explicit(&cf->refs, 1,
                                             memory_order_acq_rel);
    CIO_ASSERT(old > 0);
    if (old != 1)
        return;
    if (cf->xfree)
        cf->xfree(cf->job);
    cio__free(cf->out.data);
    cio__free(cf->msg);
    if (cf->cbs != cf->inl)
        cio__free(cf->cbs);
    pthread_cond_destroy(&cf->cond);
    pthread_mutex_destroy(&cf->lock);
    cio__free(cf);
}

/* Moves cf to a done state (lock held): takes the callbacks out into
 * *run (inline copy in buf, or the heap array) and wakes waiters. */
static size_t complete_locked(cio_cfuture *cf, int state, cio__cfent *buf,
                              cio__cfent **run)
{
    atomic_store_explicit(&cf->state, state, memory_order_release);
    size_t n = cf->ncb;
    if (cf->cbs == cf->inl) {
        memcpy(buf, cf->inl, n * sizeof(*buf));
        *run = buf;
    } else {
        *run = cf->cbs;
        cf->cbs = cf->inl;
        cf->capcb = 2;
    }
    cf->ncb = 0;
    if (cf->nwait)
        pthread_cond_broadcast(&cf->cond);
    return n;
}

/* A callback returned an error: Python logs it and goes on. A loop
 * running on this thread gets it through its exception handler; other
 * threads (pool workers) have no loop of their own, so it goes to the
 * default handler's one line on stderr, Python's logger in C. Rejected:
 * posting it to some loop's handler from a worker (which loop? a pool
 * is not bound to one). */
static void report_cb_error(cio_cfuture *cf, int rc)
{
    (void)cf;
    cio_exception_context ctx = {"concurrent future done callback failed", rc,
                                 NULL, NULL, NULL};
    cio_loop *loop = cio_get_running_loop();
    if (loop)
        cio_loop_call_exception_handler(loop, &ctx);
    else
        cio_loop_default_exception_handler(NULL, &ctx, NULL);
}

static void run_callbacks(cio_cfuture *cf, cio__cfent *run, size_t n,
                          const cio__cfent *buf)
{
    for (size_t i = 0; i < n; i++) {
        int rc = run[i].cb(cf, run[i].arg);
        if (rc < 0)
            report_cb_error(cf, rc);
    }
    if (run != buf)
        cio__free(run);
}

int cio__cfuture_finish(cio_cfuture *cf, int err, void *result, char *msg)
{
    cio__cfent buf[2], *run;
    pthread_mutex_lock(&cf->lock);
    int st = atomic_load_explicit(&cf->state, memory_order_relaxed);
    if (is_done(st)) {
        pthread_mutex_unlock(&cf->lock);
        cio__free(msg);
        return -EINVAL;
    }
    cf->err = err;
    cf->result = err ? NULL : result;
    cf->msg = msg;
    size_t n = complete_locked(cf, CIO__CF_FINISHED, buf, &run);
    pthread_mutex_unlock(&cf->lock);
    run_callbacks(cf, run, n, buf);
    return 0;
}

int cio_cfuture_set_result(cio_cfuture *cf, void *result)
{
    if (!cf)
        return -EINVAL;
    return cio__cfuture_finish(cf, 0, result, NULL);
}

int cio_cfuture_set_error(cio_cfuture *cf, int err, const char *msg)
{
    if (!cf || err >= 0 || err == -ECANCELED)
        return -EINVAL;
    char *m = NULL;
    int rc = 0;
    if (msg && !(m = cio__strdup(msg)))
        rc = -ENOMEM;
    int r = cio__cfuture_finish(cf, err, NULL, m);
    return r < 0 ? r : rc;
}

int cio_cfuture_cancel(cio_cfuture *cf)
{
    if (!cf)
        return -EINVAL;
    cio__cfent buf[2], *run;
    pthread_mutex_lock(&cf->lock);
    int st = atomic_load_explicit(&cf->state, memory_order_relaxed);
    if (st != CIO__CF_PENDING) {
        pthread_mutex_unlock(&cf->lock);
        return is_cancelled(st);
    }
    cf->err = -ECANCELED;
    size_t n = complete_locked(cf, CIO__CF_CANCELLED, buf, &run);
    pthread_mutex_unlock(&cf->lock);
    run_callbacks(cf, run, n, buf);
    return 1;
}

int cio_cfuture_set_running_or_notify_cancel(cio_cfuture *cf)
{
    if (!cf)
        return -EINVAL;
    pthread_mutex_lock(&cf->lock);
    int st = atomic_load_explicit(&cf->state, memory_order_relaxed);
    int r;
    if (st == CIO__CF_PENDING) {
        atomic_store_explicit(&cf->state, CIO__CF_RUNNING,
                              memory_order_release);
        r = 1;
    } else if (st == CIO__CF_CANCELLED) {
        atomic_store_explicit(&cf->state, CIO__CF_CANCELLED_NOTIFIED,
                              memory_order_release);
        r = 0;
    } else {
        r = -EINVAL;
    }
    pthread_mutex_unlock(&cf->lock);
    return r;
}

int cio_cfuture_cancelled(const cio_cfuture *cf)
{
    return cf && is_cancelled(atomic_load_explicit(
                     &((cio_cfuture *)cf)->state, memory_order_acquire));
}

int cio_cfuture_running(const cio_cfuture *cf)
{
    return cf && atomic_load_explicit(&((cio_cfuture *)cf)->state,
                                      memory_order_acquire) ==
                     CIO__CF_RUNNING;
}

int cio_cfuture_done(const cio_cfuture *cf)
{
    return cf && is_done(atomic_load_explicit(&((cio_cfuture *)cf)->state,
                                              memory_order_acquire));
}

/* Blocks until cf is done or the deadline. Returns the state or
 * -ETIMEDOUT. */
static int wait_done(cio_cfuture *cf, int64_t timeout)
{
    int st = atomic_load_explicit(&cf->state, memory_order_acquire);
    if (is_done(st))
        return st;
    if (timeout == 0)
        return -ETIMEDOUT;
    /* Spin briefly first: a small job on another core finishes in a few
     * microseconds, less than it costs to put this thread to sleep and
     * wake it (tens of microseconds on a virtual machine). The budget is
     * small and fixed, and there is no spinning on a single CPU. */
    if (cio__spin_useful()) {
        for (int i = 0; i < CIO__SPIN_ITERS; i++) {
            cio__cpu_relax();
            st = atomic_load_explicit(&cf->state, memory_order_acquire);
            if (is_done(st))
                return st;
        }
    }
    int64_t deadline = cio__deadline(timeout);
    pthread_mutex_lock(&cf->lock);
    cf->nwait++;
    while (!is_done(st = atomic_load_explicit(&cf->state,
                                              memory_order_relaxed))) {
        if (cio__cond_wait_until(&cf->cond, &cf->lock, deadline) ==
                ETIMEDOUT &&
            !is_done(st = atomic_load_explicit(&cf->state,
                                               memory_order_relaxed))) {
            st = -ETIMEDOUT;
            break;
        }
    }
    cf->nwait--;
    pthread_mutex_unlock(&cf->lock);
    return st;
}

int cio_cfuture_result(cio_cfuture *cf, int64_t timeout, void **result)
{
    if (result)
        *result = NULL;
    if (!cf)
        return -EINVAL;
    int st = wait_done(cf, timeout);
    if (st < 0)
        return st;
    if (is_cancelled(st))
        return -ECANCELED;
    if (cf->err < 0)
        return cf->err;
    if (result)
        *result = cf->result;
    return 0;
}

int cio_cfuture_error(cio_cfuture *cf, int64_t timeout)
{
    if (!cf)
        return -EINVAL;
    int st = wait_done(cf, timeout);
    if (st < 0)
        return st;
    return is_cancelled(st) ? -ECANCELED : cf->err;
}

const char *cio_cfuture_error_message(const cio_cfuture *cf)
{
    if (!cf || !cio_cfuture_done(cf))
        return NULL;
    return cf->msg;
}

int cio_cfuture_add_done_callback(cio_cfuture *cf, cio_cfuture_cb cb,
                                  void *arg)
{
    if (!cf || !cb)
        return -EINVAL;
    pthread_mutex_lock(&cf->lock);
    if (is_done(atomic_load_explicit(&cf->state, memory_order_relaxed))) {
        pthread_mutex_unlock(&cf->lock);
        int rc = cb(cf, arg);
        if (rc < 0)
            report_cb_error(cf, rc);
        return 0;
    }
    if (cf->ncb == cf->capcb) {
        uint32_t cap = cf->capcb * 2;
        cio__cfent *a;
        if (cf->cbs == cf->inl) {
            a = cio__malloc(cap * sizeof(*a));
            if (a)
                memcpy(a, cf->inl, sizeof(cf->inl));
        } else {
            a = cio__realloc(cf->cbs, cap * sizeof(*a));
        }
        if (!a) {
            pthread_mutex_unlock(&cf->lock);
            return -ENOMEM;
        }
        cf->cbs = a;
        cf->capcb = cap;
    }
    cf->cbs[cf->ncb++] = (cio__cfent){cb, arg};
    pthread_mutex_unlock(&cf->lock);
    return 0;
}

int cio_cfuture_remove_done_callback(cio_cfuture *cf, cio_cfuture_cb cb,
                                     void *arg)
{
    if (!cf || !cb)
        return -EINVAL;
    int n = 0;
    pthread_mutex_lock(&cf->lock);
    uint32_t j = 0;
    for (uint32_t i = 0; i < cf->ncb; i++) {
        if (cf->cbs[i].cb == cb && cf->cbs[i].arg == arg)
            n++;
        else
            cf->cbs[j++] = cf->cbs[i];
    }
    cf->ncb = j;
    pthread_mutex_unlock(&cf->lock);
    return n;
}

/* ---- as_completed and the executors' map iterators ---- */

typedef struct iter_ent {
    cio_cfuture_iter *it;
    size_t idx;
} iter_ent;

/* One type for both orders. as_completed (ordered == 0) learns of
 * completions through done callbacks and queues them; a map iterator
 * (ordered == 1) needs no callback at all: it simply waits on fs[returned]
 * in turn, owns its futures (submitted by the executor's map) and
 * releases each one on the following call, as Python's map pops them, so
 * a long map does not keep every result alive until the end. */
struct cio_cfuture_iter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_uint refs; /* the iterator + one per registered callback */
    size_t n, qhead, qlen, returned;
    int waiting;
    int ordered, timed_out; /* map iterator; its deadline passed */
    int64_t deadline;
    char msg[64]; /* as_completed's "N (of M) futures unfinished" */
    cio_cfuture **fs;
    size_t *q;    /* indexes in completion order, capacity n */
    iter_ent *ents;
};

static void iter_unref(cio_cfuture_iter *it)
{
    if (atomic_fetch_sub_explicit(&it->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_cond_destroy(&it->cond);
    pthread_mutex_destroy(&it->lock);
    cio__free(it->fs);
    cio__free(it->q);
    cio__free(it->ents);
    cio__free(it);
}

static int iter_cb(cio_cfuture *cf, void *arg)
{
    (void)cf;
    iter_ent *e = arg;
    cio_cfuture_iter *it = e->it;
    pthread_mutex_lock(&it->lock);
    it->q[(it->qhead + it->qlen) % it->n] = e->idx;
    it->qlen++;
    if (it->waiting)
        pthread_cond_signal(&it->cond);
    pthread_mutex_unlock(&it->lock);
    iter_unref(it);
    return 0;
}

static const void *cf_at(const void *arr, size_t i)
{
    return ((cio_cfuture *const *)arr)[i];
}

int cio_cfuture_as_completed_new(cio_cfuture *const *fs, size_t n,
                                 int64_t timeout, cio_cfuture_iter **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if ((n && !fs))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!fs[i])
            return -EINVAL;
    /* Python works on set(fs): each distinct future is yielded once and
     * counted once in the timeout's "N (of M)". */
    int64_t deadline = cio__deadline(timeout);
    cio_cfuture_iter *it = cio__calloc(1, sizeof(*it));
    if (!it)
        return -ENOMEM;
    size_t cap = n ? n : 1;
    unsigned char *dup = cio__malloc(cap);
    it->fs = cio__calloc(cap, sizeof(*it->fs));
    it->q = cio__calloc(cap, sizeof(*it->q));
    it->ents = cio__calloc(cap, sizeof(*it->ents));
    if (!dup || !it->fs || !it->q || !it->ents) {
        cio__free(dup);
        cio__free(it->fs);
        cio__free(it->q);
        cio__free(it->ents);
        cio__free(it);
        return -ENOMEM;
    }
    /* n becomes the number of distinct futures before any callback can
     * run: iter_cb sizes its ring by it. */
    size_t ndistinct = cio__mark_dups(fs, n, cf_at, dup);
    pthread_mutex_init(&it->lock, NULL);
    cio__cond_init(&it->cond);
    it->deadline = deadline;
    it->n = ndistinct;
    atomic_init(&it->refs, 1);
    int rc = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (dup[i])
            continue;
        it->fs[k] = cio_cfuture_retain(fs[i]);
        it->ents[k] = (iter_ent){it, k};
        atomic_fetch_add(&it->refs, 1);
        if (cio_cfuture_add_done_callback(fs[i], iter_cb, &it->ents[k]) <
            0) {
            atomic_fetch_sub(&it->refs, 1);
            rc = -ENOMEM;
            pthread_mutex_lock(&it->lock);
            it->n = k + 1; /* free releases what was retained */
            pthread_mutex_unlock(&it->lock);
            break;
        }
        k++;
    }
    cio__free(dup);
    if (rc < 0) {
        cio_cfuture_as_completed_free(it);
        return rc;
    }
    *out = it;
    return 0;
}

/* Cancels fs[from..n): Python's map does so when its generator ends
 * early; only the jobs not yet started are affected. */
static void map_cancel_rest(cio_cfuture_iter *it, size_t from)
{
    for (size_t i = from; i < it->n; i++)
        if (it->fs[i])
            cio_cfuture_cancel(it->fs[i]);
}

/* The map iterator's next (lock held across the wait: callers of one
 * iterator are served in turn, which is what argument order asks). */
static int map_next(cio_cfuture_iter *it, cio_cfuture **cf)
{
    pthread_mutex_lock(&it->lock);
    int r;
    if (it->returned) { /* the previous one was borrowed until now */
        cio_cfuture_release(it->fs[it->returned - 1]);
        it->fs[it->returned - 1] = NULL;
    }
    if (it->timed_out) {
        r = -ETIMEDOUT;
    } else if (it->returned == it->n) {
        r = 0;
    } else {
        cio_cfuture *f = it->fs[it->returned];
        int64_t left = -1;
        if (it->deadline != INT64_MAX) {
            left = it->deadline - cio__mono_ns();
            if (left < 0)
                left = 0; /* a done future is still returned */
        }
        if (wait_done(f, left) == -ETIMEDOUT) {
            it->timed_out = 1;
            map_cancel_rest(it, it->returned);
            r = -ETIMEDOUT;
        } else {
            *cf = f;
            it->returned++;
            r = 1;
        }
    }
    pthread_mutex_unlock(&it->lock);
    return r;
}

int cio__cfuture_map_iter_new(size_t n, int64_t timeout,
                              cio_cfuture_iter **out)
{
    cio_cfuture_iter *it = cio__calloc(1, sizeof(*it));
    if (it && !(it->fs = cio__calloc(n ? n : 1, sizeof(*it->fs)))) {
        cio__free(it);
        it = NULL;
    }
    *out = it;
    if (!it)
        return -ENOMEM;
    pthread_mutex_init(&it->lock, NULL);
    cio__cond_init(&it->cond);
    atomic_init(&it->refs, 1);
    it->ordered = 1;
    it->deadline = cio__deadline(timeout);
    return 0;
}

void cio__cfuture_map_iter_push(cio_cfuture_iter *it, cio_cfuture *cf)
{
    it->fs[it->n++] = cf;
}

int cio_cfuture_as_completed_next(cio_cfuture_iter *it, cio_cfuture **cf)
{
    if (cf)
        *cf = NULL;
    if (!it || !cf)
        return -EINVAL;
    if (it->ordered)
        return map_next(it, cf);
    pthread_mutex_lock(&it->lock);
    while (!it->qlen) {
        if (it->returned == it->n) {
            pthread_mutex_unlock(&it->lock);
            return 0;
        }
        it->waiting = 1;
        int r = cio__cond_wait_until(&it->cond, &it->lock, it->deadline);
        it->waiting = 0;
        if (r == ETIMEDOUT && !it->qlen) {
            snprintf(it->msg, sizeof(it->msg),
                     "%zu (of %zu) futures unfinished", it->n - it->returned,
                     it->n);
            pthread_mutex_unlock(&it->lock);
            return -ETIMEDOUT;
        }
    }
    size_t i = it->q[it->qhead];
    it->qhead = (it->qhead + 1) % it->n;
    it->qlen--;
    it->returned++;
    pthread_mutex_unlock(&it->lock);
    *cf = it->fs[i];
    return 1;
}

ssize_t cio_cfuture_as_completed_unfinished(cio_cfuture_iter *it,
                                            size_t *total)
{
    if (total)
        *total = 0;
    if (!it)
        return -EINVAL;
    pthread_mutex_lock(&it->lock);
    size_t n = it->n, left = it->n - it->returned;
    pthread_mutex_unlock(&it->lock);
    if (total)
        *total = n;
    return (ssize_t)left;
}

const char *cio_cfuture_as_completed_error_message(cio_cfuture_iter *it)
{
    if (!it || it->ordered)
        return NULL;
    pthread_mutex_lock(&it->lock);
    const char *m = it->msg[0] ? it->msg : NULL;
    pthread_mutex_unlock(&it->lock);
    return m;
}

void cio_cfuture_as_completed_free(cio_cfuture_iter *it)
{
    if (!it)
        return;
    if (it->ordered) {
        map_cancel_rest(it, it->returned);
        for (size_t i = 0; i < it->n; i++)
            cio_cfuture_release(it->fs[i]); /* NULL once returned */
        iter_unref(it);
        return;
    }
    for (size_t i = 0; i < it->n; i++) {
        int k = cio_cfuture_remove_done_callback(it->fs[i], iter_cb,
                                                 &it->ents[i]);
        while (k-- > 0)
            iter_unref(it);
        cio_cfuture_release(it->fs[i]);
    }
    iter_unref(it);
}
