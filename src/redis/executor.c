/*
 * executor.c - the submitter side of the distributed executor: the shape
 * of cio's thread and process pools (submit / map / shutdown, concurrent
 * futures, as_completed through cio_cfuture_as_completed_new) over Redis.
 *
 * A loop in a private thread owns the Redis client. submit (any thread)
 * records the job under a sequence number, then hands it to the loop,
 * where a small task XADDs it (tasks of one iteration pipeline on one
 * connection). A listener task reads this submitter's result stream with
 * XREAD BLOCK on a dedicated connection and completes the futures; a
 * duplicate result (a job re-run after a crash) finds its future already
 * done and is ignored. Job records, and the results they own, live until
 * cio_redis_executor_free: a concurrent future has no result destructor
 * in the public API, so that is the only moment no reader can remain.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "queue_int.h"

typedef struct job {
    struct cio_redis_executor *ex;
    uint64_t seq;
    cio_cfuture *cf;
    char *fn;
    void *in;
    size_t len;
    char sid[64]; /* the stream entry id, once queued */
    cio_redis_job_result res;
    void *data;
    char *worker;
} job;

struct cio_redis_executor {
    cio_loop_thread *lt;
    cio_loop *loop;
    cio_redis *r;
    char *host;
    int port;
    cio_redis_queue_opts o;
    char *queue, *user, *pass;
    char name[128];
    char jobs_key[CIO__Q_KEYMAX], results_key[CIO__Q_KEYMAX];
    pthread_mutex_t mu;
    job **jobs;
    size_t njobs, cap;
    int shutdown;
    atomic_int stop;
    cio_task *listener;
    int rc;
};

/* ---- loop side ---- */

static int xadd_task(void *arg, void **result)
{
    job *j = arg;
    cio_redis_executor *ex = j->ex;
    (void)result;
    if (cio_cfuture_done(j->cf))
        return 0; /* cancelled before it was queued */
    char jid[160];
    snprintf(jid, sizeof(jid), "%s:%llu", ex->name, (unsigned long long)j->seq);
    const char *av[] = {"XADD",
                        ex->jobs_key,
                        "*",
                        "job",
                        jid,
                        "fn",
                        j->fn,
                        "args",
                        j->in ? (const char *)j->in : "",
                        "reply",
                        ex->results_key};
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = i == 8 ? j->len : strlen(av[i]);
    cio_redis_reply *rep;
    int e = cio_redis_command(ex->r, 11, av, lens, &rep);
    if (e == 0) {
        size_t n;
        const char *s = cio_redis_reply_str(rep, &n);
        if (s && n < sizeof(j->sid)) {
            memcpy(j->sid, s, n);
            j->sid[n] = '\0';
        }
    } else {
        cio_cfuture_set_error(j->cf, e, "the job could not be queued");
    }
    cio_redis_reply_free(rep);
    return 0;
}

static int cancel_task(void *arg, void **result)
{
    job *j = arg;
    cio_redis_executor *ex = j->ex;
    (void)result;
    char key[CIO__Q_KEYMAX + 200], ttl[32];
    snprintf(key, sizeof(key), "%s:cancel:%s:%llu", ex->o.queue, ex->name,
             (unsigned long long)j->seq);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)(ex->o.result_ttl / CIO_MS));
    cio__cmd(ex->r, NULL, "SET", key, "1", "PX", ttl, NULL);
    if (j->sid[0])
        cio__cmd(ex->r, NULL, "XDEL", ex->jobs_key, j->sid, NULL);
    return 0;
}

static int spawn_cb(void *arg, cio_coro_fn fn)
{
    job *j = arg;
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.stack_size = 64 * 1024;
    return cio_task_create(j->ex->loop, CIO_CORO(fn, j), &to, NULL);
}

static int queue_cb(void *arg)
{
    return spawn_cb(arg, xadd_task);
}

static int cancel_cb(void *arg)
{
    return spawn_cb(arg, cancel_task);
}

static int on_done(cio_cfuture *cf, void *arg)
{
    job *j = arg;
    if (cio_cfuture_cancelled(cf))
        return cio_loop_call_soon_threadsafe(j->ex->loop, cancel_cb, j);
    return 0;
}

static job *find(cio_redis_executor *ex, const char *jid, size_t n)
{
    size_t nl = strlen(ex->name);
    if (n <= nl + 1 || memcmp(jid, ex->name, nl) != 0 || jid[nl] != ':')
        return NULL;
    uint64_t seq = 0;
    for (size_t i = nl + 1; i < n; i++) {
        if (jid[i] < '0' || jid[i] > '9')
            return NULL;
        seq = seq * 10 + (uint64_t)(jid[i] - '0');
    }
    pthread_mutex_lock(&ex->mu);
    job *j = seq < ex->njobs ? ex->jobs[seq] : NULL;
    pthread_mutex_unlock(&ex->mu);
    return j;
}

static void deliver(cio_redis_executor *ex, const cio_redis_reply *f)
{
    size_t n;
    const char *jid = cio_redis_reply_str(cio__field(f, "job"), &n);
    job *j = jid ? find(ex, jid, n) : NULL;
    if (!j || cio_cfuture_done(j->cf))
        return; /* a duplicate, or cancelled */
    const char *es = cio_redis_reply_str(cio__field(f, "err"), NULL);
    int err = es ? atoi(es) : -EPROTO;
    const char *msg = cio_redis_reply_str(cio__field(f, "msg"), NULL);
    const char *runs = cio_redis_reply_str(cio__field(f, "runs"), NULL);
    const char *worker = cio_redis_reply_str(cio__field(f, "worker"), NULL);
    if (err < 0) {
        cio_cfuture_set_error(j->cf, err, msg && *msg ? msg : NULL);
        return;
    }
    size_t dl;
    const char *data = cio_redis_reply_str(cio__field(f, "data"), &dl);
    j->data = malloc(dl ? dl : 1);
    j->worker = strdup(worker ? worker : "");
    if (!j->data || !j->worker) {
        cio_cfuture_set_error(j->cf, -ENOMEM, NULL);
        return;
    }
    if (dl)
        memcpy(j->data, data, dl);
    j->res.data = j->data;
    j->res.len = dl;
    j->res.runs = runs ? (unsigned)atoi(runs) : 1;
    j->res.worker = j->worker;
    cio_cfuture_set_result(j->cf, &j->res);
}

static int listener_task(void *arg, void **result)
{
    cio_redis_executor *ex = arg;
    (void)result;
    char last[64] = "0-0";
    while (!atomic_load(&ex->stop)) {
        const char *av[] = {"XREAD", "COUNT",   "256",           "BLOCK",
                            "200",   "STREAMS", ex->results_key, last};
        cio_redis_reply *r;
        int e = cio_redis_command_blocking(ex->r, 8, av, NULL, &r);
        if (e == -ECANCELED)
            return e;
        if (e < 0) {
            cio_redis_reply_free(r);
            if (cio_sleep(100 * CIO_MS) < 0)
                return -ECANCELED;
            continue;
        }
        const cio_redis_reply *entries =
            cio_redis_reply_at(cio_redis_reply_at(r, 0), 1);
        for (size_t i = 0; i < cio_redis_reply_len(entries); i++) {
            const cio_redis_reply *en = cio_redis_reply_at(entries, i);
            size_t n;
            const char *id = cio_redis_reply_str(cio_redis_reply_at(en, 0), &n);
            if (id && n < sizeof(last)) {
                memcpy(last, id, n);
                last[n] = '\0';
            }
            deliver(ex, cio_redis_reply_at(en, 1));
        }
        cio_redis_reply_free(r);
    }
    return 0;
}

static int start_coro(void *arg, void **result)
{
    cio_redis_executor *ex = arg;
    (void)result;
    int e = cio_redis_new(cio_get_running_loop(), ex->host, ex->port,
                          &ex->o.redis, &ex->r);
    if (e == 0)
        e = cio__queue_ensure_group(ex->r, &ex->o);
    if (e == 0) {
        cio_task_opts to = CIO_TASK_OPTS_INIT;
        to.name = "queue-results";
        e = cio_task_create(cio_get_running_loop(), CIO_CORO(listener_task, ex),
                            &to, &ex->listener);
    }
    ex->rc = e;
    return 0;
}

static int stop_coro(void *arg, void **result)
{
    cio_redis_executor *ex = arg;
    (void)result;
    atomic_store(&ex->stop, 1);
    if (ex->listener) {
        cio_await(ex->listener, NULL);
        cio_future_release(ex->listener);
        ex->listener = NULL;
    }
    if (ex->r) {
        cio__cmd(ex->r, NULL, "DEL", ex->results_key, NULL);
        /* Retry until no command of ours is in flight (cancel tasks). */
        while (cio_redis_free(ex->r) == -EBUSY)
            cio_sleep(10 * CIO_MS);
        ex->r = NULL;
    }
    return 0;
}

static int run_on_loop(cio_redis_executor *ex, cio_coro_fn fn)
{
    cio_cfuture *cf;
    int e = cio_run_coroutine_threadsafe(ex->loop, CIO_CORO(fn, ex), &cf);
    if (e < 0)
        return e;
    e = cio_cfuture_result(cf, -1, NULL);
    cio_cfuture_release(cf);
    return e;
}

/* ---- caller side ---- */

static void ex_destroy(cio_redis_executor *ex)
{
    for (size_t i = 0; i < ex->njobs; i++) {
        job *j = ex->jobs[i];
        cio_cfuture_release(j->cf);
        free(j->fn);
        free(j->in);
        free(j->data);
        free(j->worker);
        free(j);
    }
    free(ex->jobs);
    pthread_mutex_destroy(&ex->mu);
    free(ex->host);
    free(ex->queue);
    free(ex->user);
    free(ex->pass);
    free(ex);
}

CIO_API int cio_redis_executor_new(const char *host, int port,
                                   const cio_redis_queue_opts *opts,
                                   cio_redis_executor **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!host || port <= 0)
        return -EINVAL;
    cio_redis_executor *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return -ENOMEM;
    pthread_mutex_init(&ex->mu, NULL);
    cio__queue_opts(&ex->o, opts);
    ex->host = strdup(host);
    ex->queue = strdup(ex->o.queue);
    ex->user = ex->o.redis.username ? strdup(ex->o.redis.username) : NULL;
    ex->pass = ex->o.redis.password ? strdup(ex->o.redis.password) : NULL;
    ex->o.queue = ex->queue;
    ex->o.redis.username = ex->user;
    ex->o.redis.password = ex->pass;
    ex->o.redis.client_name = NULL;
    ex->port = port;
    if (ex->o.name)
        snprintf(ex->name, sizeof(ex->name), "%s", ex->o.name);
    else
        cio__queue_name(ex->name, sizeof(ex->name));
    ex->o.name = NULL;
    cio__queue_key(ex->jobs_key, &ex->o, "jobs");
    char suffix[160];
    snprintf(suffix, sizeof(suffix), "results:%s", ex->name);
    cio__queue_key(ex->results_key, &ex->o, suffix);
    if (!ex->host || !ex->queue) {
        ex_destroy(ex);
        return -ENOMEM;
    }
    int e = cio_loop_thread_start(&ex->lt, NULL);
    if (e < 0) {
        ex_destroy(ex);
        return e;
    }
    ex->loop = cio_loop_thread_loop(ex->lt);
    e = run_on_loop(ex, start_coro);
    if (e == 0)
        e = ex->rc;
    if (e < 0) {
        run_on_loop(ex, stop_coro);
        cio_loop_thread_stop_join(ex->lt);
        ex_destroy(ex);
        return e;
    }
    *out = ex;
    return 0;
}

CIO_API int cio_redis_executor_submit(cio_redis_executor *ex, const char *fn,
                                      const void *in, size_t len,
                                      cio_cfuture **out)
{
    if (out)
        *out = NULL;
    if (!ex || !fn || !*fn || (!in && len))
        return -EINVAL;
    job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->ex = ex;
    j->fn = strdup(fn);
    j->in = len ? malloc(len) : NULL;
    j->len = len;
    int e = (!j->fn || (len && !j->in)) ? -ENOMEM : cio_cfuture_new(&j->cf);
    if (e < 0) {
        free(j->fn);
        free(j->in);
        free(j);
        return e;
    }
    if (len)
        memcpy(j->in, in, len);
    pthread_mutex_lock(&ex->mu);
    if (ex->shutdown) {
        e = -ESHUTDOWN;
    } else if (ex->njobs == ex->cap) {
        size_t cap = ex->cap ? ex->cap * 2 : 64;
        job **p = realloc(ex->jobs, cap * sizeof(*p));
        if (p) {
            ex->jobs = p;
            ex->cap = cap;
        } else {
            e = -ENOMEM;
        }
    }
    if (e == 0) {
        j->seq = ex->njobs;
        ex->jobs[ex->njobs++] = j;
    }
    pthread_mutex_unlock(&ex->mu);
    if (e < 0) {
        cio_cfuture_release(j->cf);
        free(j->fn);
        free(j->in);
        free(j);
        return e;
    }
    /* From here the job is the executor's (freed with it). */
    cio_cfuture_add_done_callback(j->cf, on_done, j);
    e = cio_loop_call_soon_threadsafe(ex->loop, queue_cb, j);
    if (e < 0) {
        cio_cfuture_set_error(j->cf, e, "the job could not be queued");
        return e;
    }
    if (out)
        *out = cio_cfuture_retain(j->cf);
    return 0;
}

CIO_API int cio_redis_executor_map(cio_redis_executor *ex, const char *fn,
                                   const cio_bytes *ins, size_t n,
                                   cio_cfuture **outs)
{
    if (!outs || (!ins && n))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        outs[i] = NULL;
    for (size_t i = 0; i < n; i++) {
        int e = cio_redis_executor_submit(ex, fn, ins[i].data, ins[i].len,
                                          &outs[i]);
        if (e < 0)
            return e;
    }
    return 0;
}

CIO_API int cio_redis_executor_shutdown(cio_redis_executor *ex, int wait,
                                        int cancel_futures)
{
    if (!ex)
        return -EINVAL;
    pthread_mutex_lock(&ex->mu);
    ex->shutdown = 1;
    size_t n = ex->njobs;
    pthread_mutex_unlock(&ex->mu);
    /* Jobs are only appended, never removed, before free: indexes below
     * n stay valid without the lock (the array may move: re-read it). */
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&ex->mu);
        job *j = ex->jobs[i];
        pthread_mutex_unlock(&ex->mu);
        if (cancel_futures)
            cio_cfuture_cancel(j->cf);
        if (wait)
            cio_cfuture_result(j->cf, -1, NULL);
    }
    return 0;
}

CIO_API void cio_redis_executor_free(cio_redis_executor *ex)
{
    if (!ex)
        return;
    cio_redis_executor_shutdown(ex, 1, 0);
    run_on_loop(ex, stop_coro);
    cio_loop_thread_stop_join(ex->lt);
    ex_destroy(ex);
}
