/*
 * thread_pool.c - the thread pool executor (ThreadPoolExecutor).
 *
 * One FIFO of jobs under one mutex; a job is its concurrent future (fn,
 * arg and the queue link live in it), so submit allocates once. Workers
 * start lazily as Python's do: a submission wakes a waiting worker that no
 * other submission has claimed yet, and only when there is none (and the
 * pool is below max_workers) starts a new thread. A worker runs jobs until
 * the queue is empty and the pool is shut down; a failing job only fails
 * its future.
 *
 * map submits every item at once (as Executor.map does), then either
 * collects the results in argument order (cio_thread_pool_map) or hands
 * the futures to an ordered iterator (cio_thread_pool_map_iter, whose
 * next blocks per item; see cfuture.c).
 *
 * Shutdown sets a flag and broadcasts; cancel_futures takes the queue out
 * and cancels what was never started; wait joins every worker (a second
 * lock serialises joiners so no thread is joined twice).
 *
 * Rejected: per-worker queues with work stealing. Jobs here are blocking
 * calls (the reason to use a thread pool), so the shared queue's lock is
 * never the bottleneck, and FIFO order across the pool is what
 * ThreadPoolExecutor users expect. Rejected too: a fixed pool started
 * eagerly - a loop's default pool would then cost max_workers threads in
 * every program that calls to_thread once.
 */
#include <errno.h>
#include <stdio.h>

#include "exec/exec.h"

struct cio_thread_pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    cio_cfuture *qhead, *qtail;
    unsigned max, nthreads;
    unsigned nwaiting, nclaimed; /* waiting workers; wakeups in flight */
    int shutdown;
    pthread_mutex_t join_lock;
    unsigned njoined;
    pthread_t *threads;
    char prefix[11];
};

static _Thread_local const cio_thread_pool *tls_pool;

int cio__thread_pool_is_worker(const cio_thread_pool *p)
{
    return p && tls_pool == p;
}

int cio_thread_pool_new(cio_thread_pool **out,
                        const cio_thread_pool_opts *opts)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    unsigned max = opts ? opts->max_workers : 0;
    if (max == 0) {
        max = cio__cpu_count() + 4;
        if (max > 32)
            max = 32;
    }
    if (max > 4096)
        return -EINVAL;
    cio_thread_pool *p = cio__calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->threads = cio__calloc(max, sizeof(*p->threads));
    if (!p->threads) {
        cio__free(p);
        return -ENOMEM;
    }
    p->max = max;
    snprintf(p->prefix, sizeof(p->prefix), "%s",
             opts && opts->name_prefix ? opts->name_prefix : "cio-pool");
    pthread_mutex_init(&p->lock, NULL);
    pthread_mutex_init(&p->join_lock, NULL);
    cio__cond_init(&p->cond);
    *out = p;
    return 0;
}

static void run_job(cio_cfuture *cf)
{
    if (cio_cfuture_set_running_or_notify_cancel(cf) == 1) {
        void *res = NULL;
        int rc = cf->fn(cf->arg, &res);
        cio__cfuture_finish(cf, rc < 0 ? rc : 0, res, NULL);
    }
    cio_cfuture_release(cf); /* the queue's reference */
}

static void *worker_main(void *arg)
{
    cio_thread_pool *p = arg;
    tls_pool = p;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->qhead && !p->shutdown) {
            p->nwaiting++;
            pthread_cond_wait(&p->cond, &p->lock);
            p->nwaiting--;
            if (p->nclaimed)
                p->nclaimed--;
        }
        cio_cfuture *cf = p->qhead;
        if (!cf)
            break; /* shut down and drained */
        p->qhead = cf->qnext;
        if (!p->qhead)
            p->qtail = NULL;
        pthread_mutex_unlock(&p->lock);
        run_job(cf);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Lock held. Wakes an unclaimed waiting worker, or starts one. Returns 0,
 * or an error only when the pool has no thread at all. The signal is
 * sent with the lock held on purpose: the woken worker then waits for
 * the mutex while the submitter queues more, instead of preempting it for
 * every job (signalling after unlock measured 8x slower in a burst). */
static int adjust_workers(cio_thread_pool *p)
{
    if (p->nwaiting > p->nclaimed) {
        p->nclaimed++;
        pthread_cond_signal(&p->cond);
        return 0;
    }
    if (p->nthreads >= p->max)
        return 0;
    char name[32]; /* cio__thread_start keeps the first 15 bytes */
    snprintf(name, sizeof(name), "%s-%u", p->prefix, p->nthreads);
    int r = cio__thread_start(&p->threads[p->nthreads], worker_main, p,
                              name);
    if (r < 0)
        return p->nthreads ? 0 : r;
    p->nthreads++;
    return 0;
}

int cio__thread_pool_submit_cf(cio_thread_pool *p, cio_cfuture *cf)
{
    pthread_mutex_lock(&p->lock);
    int r;
    if (p->shutdown) {
        r = -ESHUTDOWN;
    } else {
        if (p->qtail)
            p->qtail->qnext = cf;
        else
            p->qhead = cf;
        p->qtail = cf;
        r = adjust_workers(p);
        if (r < 0) /* no thread at all, so the queue held only this job */
            p->qhead = p->qtail = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    return r;
}

int cio_thread_pool_submit(cio_thread_pool *p, cio_job_fn fn, void *arg,
                           cio_cfuture **out)
{
    if (out)
        *out = NULL;
    if (!p || !fn)
        return -EINVAL;
    cio_cfuture *cf;
    int r = cio__cfuture_alloc(&cf);
    if (r < 0)
        return r;
    cf->fn = fn;
    cf->arg = arg;
    if (out)
        cio_cfuture_retain(cf);
    r = cio__thread_pool_submit_cf(p, cf);
    if (r < 0) {
        if (out)
            cio_cfuture_release(cf);
        cio_cfuture_release(cf);
        return r;
    }
    if (out)
        *out = cf;
    return 0;
}

int cio_thread_pool_shutdown(cio_thread_pool *p, int wait, int cancel_futures)
{
    if (!p)
        return -EINVAL;
    if (wait && cio__thread_pool_is_worker(p))
        return -EDEADLK;
    pthread_mutex_lock(&p->lock);
    p->shutdown = 1;
    cio_cfuture *q = NULL;
    if (cancel_futures) {
        q = p->qhead;
        p->qhead = p->qtail = NULL;
    }
    pthread_cond_broadcast(&p->cond);
    unsigned n = p->nthreads;
    pthread_mutex_unlock(&p->lock);
    while (q) {
        cio_cfuture *next = q->qnext;
        cio_cfuture_cancel(q);
        cio_cfuture_set_running_or_notify_cancel(q);
        cio_cfuture_release(q);
        q = next;
    }
    if (wait) {
        pthread_mutex_lock(&p->join_lock);
        for (; p->njoined < n; p->njoined++)
            pthread_join(p->threads[p->njoined], NULL);
        pthread_mutex_unlock(&p->join_lock);
    }
    return 0;
}

void cio_thread_pool_free(cio_thread_pool *p)
{
    if (!p)
        return;
    if (cio_thread_pool_shutdown(p, 1, 0) < 0)
        return; /* from its own worker: leaking beats deadlocking */
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
    pthread_mutex_destroy(&p->join_lock);
    cio__free(p->threads);
    cio__free(p);
}

int cio_thread_pool_map(cio_thread_pool *p, cio_job_fn fn,
                        void *const *args, size_t n, int64_t timeout,
                        void **results, int *errors)
{
    if (!p || !fn || (n && (!args || !results)))
        return -EINVAL;
    int64_t deadline = cio__deadline(timeout);
    cio_cfuture **fs = cio__calloc(n ? n : 1, sizeof(*fs));
    if (!fs)
        return -ENOMEM;
    int r = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        r = cio_thread_pool_submit(p, fn, args[i], &fs[i]);
        if (r < 0)
            break;
    }
    if (r < 0) { /* could not submit everything: undo what was */
        for (size_t j = 0; j < i; j++) {
            cio_cfuture_cancel(fs[j]);
            cio_cfuture_release(fs[j]);
        }
        cio__free(fs);
        return r;
    }
    int first = 0, timed_out = 0;
    for (i = 0; i < n; i++) {
        int64_t left = 0;
        if (!timed_out) {
            left = deadline == INT64_MAX ? -1 : deadline - cio__mono_ns();
            if (left < 0 && deadline != INT64_MAX)
                left = 0;
        }
        if (timed_out)
            cio_cfuture_cancel(fs[i]);
        int e = cio_cfuture_result(fs[i], timed_out ? 0 : left, &results[i]);
        if (e == -ETIMEDOUT && !timed_out) {
            timed_out = 1;
            cio_cfuture_cancel(fs[i]);
            e = cio_cfuture_result(fs[i], 0, &results[i]);
        }
        if (errors)
            errors[i] = e;
        if (e < 0 && !first)
            first = e;
        cio_cfuture_release(fs[i]);
    }
    cio__free(fs);
    return timed_out ? -ETIMEDOUT : first;
}

int cio_thread_pool_map_iter(cio_thread_pool *p, cio_job_fn fn,
                             void *const *args, size_t n, int64_t timeout,
                             cio_cfuture_iter **out)
{
    if (out)
        *out = NULL;
    if (!p || !fn || !out || (n && !args))
        return -EINVAL;
    cio_cfuture_iter *it;
    int r = cio__cfuture_map_iter_new(n, timeout, &it);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        cio_cfuture *cf;
        if ((r = cio_thread_pool_submit(p, fn, args[i], &cf)) < 0) {
            cio_cfuture_as_completed_free(it); /* cancels what was queued */
            return r;
        }
        cio__cfuture_map_iter_push(it, cf);
    }
    *out = it;
    return 0;
}
