/*
 * executor.c - the submitter side of the distributed executor: the shape
 * of cio's thread and process pools (submit / map / shutdown, concurrent
 * futures, as_completed through cio_cfuture_as_completed_new) over Redis.
 *
 * A loop in a private thread owns the Redis client. submit (any thread)
 * records the job under a sequence number and appends it to a pending
 * list; the first job of an empty list wakes the loop, where one sender
 * task queues every pending job with one script run (up to SEND_MAX
 * XADDs per EVAL), so a burst of submissions costs the server one
 * command per batch and the loop one task. A listener task reads this submitter's result stream with
 * XREAD BLOCK on a dedicated connection and completes the futures; a
 * duplicate result (a job re-run after a crash) finds its future already
 * done and is ignored.
 *
 * Job records (and the results they own) are reference counted: the
 * table holds one reference until the caller lets the job go
 * (cio_redis_executor_release, or at once when done for a job submitted
 * without a future), and every loop task working on the job holds one
 * while it runs. The table is an array indexed by sequence number minus
 * a base; released records leave NULL slots and the leading ones are
 * compacted away, so memory is bounded by the jobs the caller still
 * holds (8 bytes per slot between the oldest held job and the newest).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "queue_int.h"

typedef struct job {
    struct cio_redis_executor *ex;
    atomic_int refs;
    int auto_release; /* submitted without a future: released when done */
    atomic_int remote_cancel; /* a worker reported it cancelled */
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
    char *queue, *user, *pass, *sni;
    char name[128];
    char jobs_key[CIO__Q_KEYMAX], results_key[CIO__Q_KEYMAX];
    pthread_mutex_t mu;
    job **jobs;    /* jobs[i] has seq base + i; NULL once released */
    size_t njobs, cap;
    uint64_t base;
    size_t live;         /* records in the table */
    atomic_int inflight; /* loop tasks holding a job */
    job **pend;          /* submitted, not yet handed to the sender */
    size_t npend, pcap;
    int sending;         /* a sender is scheduled or running */
    int shutdown;
    atomic_int stop;
    cio_task *listener;
    int rc;
};

static void job_free(job *j)
{
    cio_cfuture_release(j->cf);
    free(j->fn);
    free(j->in);
    free(j->data);
    free(j->worker);
    free(j);
}

static void job_unref(job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) == 1)
        job_free(j);
}

/* The record of seq with a reference taken, or NULL. Locks. */
static job *job_get(cio_redis_executor *ex, uint64_t seq)
{
    job *j = NULL;
    pthread_mutex_lock(&ex->mu);
    if (seq >= ex->base && seq - ex->base < ex->njobs) {
        j = ex->jobs[seq - ex->base];
        if (j)
            atomic_fetch_add(&j->refs, 1);
    }
    pthread_mutex_unlock(&ex->mu);
    return j;
}

/* Takes j out of the table (if still there) and drops the table's
 * reference. */
static void job_drop(cio_redis_executor *ex, job *j)
{
    int had = 0;
    pthread_mutex_lock(&ex->mu);
    uint64_t i = j->seq - ex->base;
    if (j->seq >= ex->base && i < ex->njobs && ex->jobs[i] == j) {
        ex->jobs[i] = NULL;
        ex->live--;
        had = 1;
        size_t lead = 0;
        while (lead < ex->njobs && !ex->jobs[lead])
            lead++;
        if (lead >= 64) { /* amortized: one move per 64 releases */
            memmove(ex->jobs, ex->jobs + lead,
                    (ex->njobs - lead) * sizeof(*ex->jobs));
            ex->njobs -= lead;
            ex->base += lead;
            if (ex->cap > 256 && ex->njobs * 4 < ex->cap) {
                size_t cap = ex->cap / 2;
                job **p = realloc(ex->jobs, cap * sizeof(*p));
                if (p) {
                    ex->jobs = p;
                    ex->cap = cap;
                }
            }
        }
    }
    pthread_mutex_unlock(&ex->mu);
    if (had)
        job_unref(j);
}

/* ---- loop side ---- */

/* Queues jobs: XADDs of n jobs in one script run; answers their entry
 * ids. KEYS: the job stream, the submitter's result stream. ARGV: per
 * job its id, function and arguments. */
const char cio__queue_submit_lua[] =
    "local out = {}\n"
    "for i = 1, #ARGV, 3 do\n"
    "  out[#out + 1] = redis.call('XADD', KEYS[1], '*', 'job', ARGV[i],\n"
    "    'fn', ARGV[i + 1], 'args', ARGV[i + 2], 'reply', KEYS[2])\n"
    "end\n"
    "return out\n";

#define SEND_MAX 256

/* Fails the pending jobs (the loop could not take them). */
static void fail_pending(cio_redis_executor *ex, int e)
{
    pthread_mutex_lock(&ex->mu);
    job **p = ex->pend;
    size_t n = ex->npend;
    ex->pend = NULL;
    ex->npend = ex->pcap = 0;
    ex->sending = 0;
    pthread_mutex_unlock(&ex->mu);
    for (size_t i = 0; i < n; i++) {
        cio_cfuture_set_error(p[i]->cf, e, "the job could not be queued");
        job_unref(p[i]);
    }
    free(p);
}

/* Queues one batch of pending jobs. Returns: the number taken (0: none
 * left). Suspends. */
static size_t send_batch(cio_redis_executor *ex)
{
    job *b[SEND_MAX];
    pthread_mutex_lock(&ex->mu);
    size_t n = ex->npend < SEND_MAX ? ex->npend : SEND_MAX;
    memcpy(b, ex->pend, n * sizeof(*b));
    memmove(ex->pend, ex->pend + n, (ex->npend - n) * sizeof(*b));
    ex->npend -= n;
    if (n == 0)
        ex->sending = 0; /* the next submission schedules a sender */
    pthread_mutex_unlock(&ex->mu);
    if (n == 0)
        return 0;
    /* Jobs cancelled before they were queued are not sent. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (cio_cfuture_done(b[i]->cf))
            job_unref(b[i]);
        else
            b[m++] = b[i];
    }
    size_t argc = 5 + 3 * m;
    const char **av = malloc(argc * sizeof(*av));
    size_t *lens = malloc(argc * sizeof(*lens));
    char(*jid)[160] = malloc((m ? m : 1) * sizeof(*jid));
    int e = av && lens && jid ? 0 : -ENOMEM;
    cio_redis_reply *rep = NULL;
    if (e == 0 && m > 0) {
        size_t k = 0;
        av[k] = "EVAL", lens[k++] = 4;
        av[k] = cio__queue_submit_lua,
        lens[k++] = sizeof(cio__queue_submit_lua) - 1;
        av[k] = "2", lens[k++] = 1;
        av[k] = ex->jobs_key, lens[k++] = strlen(ex->jobs_key);
        av[k] = ex->results_key, lens[k++] = strlen(ex->results_key);
        for (size_t i = 0; i < m; i++) {
            job *j = b[i];
            int l = snprintf(jid[i], sizeof(jid[i]), "%s:%llu", ex->name,
                             (unsigned long long)j->seq);
            av[k] = jid[i], lens[k++] = (size_t)l;
            av[k] = j->fn, lens[k++] = strlen(j->fn);
            av[k] = j->in ? (const char *)j->in : "", lens[k++] = j->len;
        }
        e = cio_redis_command(ex->r, (int)k, av, lens, &rep);
        if (e == 0 && cio_redis_reply_len(rep) != m)
            e = -EPROTO;
    }
    for (size_t i = 0; i < m; i++) {
        job *j = b[i];
        if (e == 0) {
            size_t l;
            const char *s =
                cio_redis_reply_str(cio_redis_reply_at(rep, i), &l);
            if (s && l < sizeof(j->sid)) {
                memcpy(j->sid, s, l);
                j->sid[l] = '\0';
            }
        } else {
            cio_cfuture_set_error(j->cf, e, "the job could not be queued");
        }
        free(j->in); /* sent: the copy is not needed any more */
        j->in = NULL;
        job_unref(j);
    }
    cio_redis_reply_free(rep);
    free(av);
    free(lens);
    free(jid);
    return n;
}

static int sender_task(void *arg, void **result)
{
    cio_redis_executor *ex = arg;
    (void)result;
    while (send_batch(ex) > 0)
        ;
    atomic_fetch_sub(&ex->inflight, 1);
    return 0;
}

static int sender_cb(void *arg)
{
    cio_redis_executor *ex = arg;
    int e = cio_task_create(ex->loop, CIO_CORO(sender_task, ex), NULL, NULL);
    if (e < 0) {
        fail_pending(ex, e);
        atomic_fetch_sub(&ex->inflight, 1);
    }
    return e;
}

/* Appends j (a reference taken) to the pending list; the first one of
 * an empty list schedules the sender. */
static int enqueue(cio_redis_executor *ex, job *j)
{
    int e = 0, kick = 0;
    atomic_fetch_add(&j->refs, 1);
    pthread_mutex_lock(&ex->mu);
    if (ex->npend == ex->pcap) {
        size_t cap = ex->pcap ? ex->pcap * 2 : 64;
        job **p = realloc(ex->pend, cap * sizeof(*p));
        if (p) {
            ex->pend = p;
            ex->pcap = cap;
        } else {
            e = -ENOMEM;
        }
    }
    if (e == 0) {
        ex->pend[ex->npend++] = j;
        kick = !ex->sending;
        ex->sending = 1;
    }
    pthread_mutex_unlock(&ex->mu);
    if (e < 0) {
        job_unref(j);
        return e;
    }
    if (kick) {
        atomic_fetch_add(&ex->inflight, 1);
        e = cio_loop_call_soon_threadsafe(ex->loop, sender_cb, ex);
        if (e < 0) {
            fail_pending(ex, e);
            atomic_fetch_sub(&ex->inflight, 1);
            return 0; /* j's future carries the error */
        }
    }
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
    /* A worker running it stops it (its task is cancelled). */
    char chan[CIO__Q_KEYMAX];
    cio__queue_key(chan, &ex->o, "cancel");
    cio__cmd(ex->r, NULL, "PUBLISH", chan, key + strlen(ex->o.queue) + 8,
             NULL);
    atomic_fetch_sub(&ex->inflight, 1);
    job_unref(j);
    return 0;
}

/* On the loop: starts fn(j), which owns the reference and the inflight
 * count taken by whoever scheduled this. */
static int spawn_cb(void *arg, cio_coro_fn fn)
{
    job *j = arg;
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.stack_size = 64 * 1024;
    int e = cio_task_create(j->ex->loop, CIO_CORO(fn, j), &to, NULL);
    if (e < 0) {
        atomic_fetch_sub(&j->ex->inflight, 1);
        job_unref(j);
    }
    return e;
}

/* Schedules cb(j) on the loop with a reference and an inflight count. */
static int schedule(job *j, cio_cb cb)
{
    atomic_fetch_add(&j->refs, 1);
    atomic_fetch_add(&j->ex->inflight, 1);
    int e = cio_loop_call_soon_threadsafe(j->ex->loop, cb, j);
    if (e < 0) {
        atomic_fetch_sub(&j->ex->inflight, 1);
        job_unref(j);
    }
    return e;
}

static int cancel_cb(void *arg)
{
    return spawn_cb(arg, cancel_task);
}

static int on_done(cio_cfuture *cf, void *arg)
{
    job *j = arg;
    int e = 0;
    if (cio_cfuture_cancelled(cf) && !atomic_load(&j->remote_cancel))
        e = schedule(j, cancel_cb);
    if (j->auto_release)
        job_drop(j->ex, j);
    return e;
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
    return job_get(ex, seq);
}

static void deliver_job(job *j, const cio_redis_reply *f);

static void deliver(cio_redis_executor *ex, const cio_redis_reply *f)
{
    size_t n;
    const char *jid = cio_redis_reply_str(cio__field(f, "job"), &n);
    job *j = jid ? find(ex, jid, n) : NULL;
    if (!j)
        return; /* released, or not ours */
    if (!cio_cfuture_done(j->cf)) /* else a duplicate, or cancelled */
        deliver_job(j, f);
    job_unref(j);
}

static void deliver_job(job *j, const cio_redis_reply *f)
{
    const char *es = cio_redis_reply_str(cio__field(f, "err"), NULL);
    int err = es ? atoi(es) : -EPROTO;
    const char *msg = cio_redis_reply_str(cio__field(f, "msg"), NULL);
    const char *runs = cio_redis_reply_str(cio__field(f, "runs"), NULL);
    const char *worker = cio_redis_reply_str(cio__field(f, "worker"), NULL);
    if (err == -ECANCELED) { /* cancelled by another client */
        atomic_store(&j->remote_cancel, 1);
        cio_cfuture_cancel(j->cf);
        return;
    }
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
    /* Let the job tasks already scheduled finish (they hold records). */
    while (atomic_load(&ex->inflight) > 0)
        cio_sleep(5 * CIO_MS);
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
    for (size_t i = 0; i < ex->njobs; i++)
        if (ex->jobs[i])
            job_unref(ex->jobs[i]);
    free(ex->jobs);
    free(ex->pend);
    pthread_mutex_destroy(&ex->mu);
    free(ex->host);
    free(ex->queue);
    free(ex->user);
    free(ex->pass);
    free(ex->sni);
    cio_tls_ctx_free(ex->o.redis.tls);
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
    ex->sni = ex->o.redis.tls_server_name ? strdup(ex->o.redis.tls_server_name)
                                          : NULL;
    ex->o.redis.tls_server_name = ex->sni;
    ex->o.redis.tls = cio_tls_ctx_ref(ex->o.redis.tls);
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
    if (!ex->host || !ex->queue ||
        (opts && opts->redis.tls_server_name && !ex->sni)) {
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
    atomic_init(&j->refs, 1); /* the table's */
    j->auto_release = out == NULL;
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
        j->seq = ex->base + ex->njobs;
        ex->jobs[ex->njobs++] = j;
        ex->live++;
    }
    pthread_mutex_unlock(&ex->mu);
    if (e < 0) {
        job_free(j);
        return e;
    }
    /* From here the job is the table's (freed when released or with the
     * executor). The caller's reference first: a fire-and-forget job may
     * be released by on_done as soon as it is done. */
    if (out)
        *out = cio_cfuture_retain(j->cf);
    cio_cfuture_add_done_callback(j->cf, on_done, j);
    e = enqueue(ex, j);
    if (e < 0) {
        cio_cfuture_set_error(j->cf, e, "the job could not be queued");
        if (out) {
            cio_cfuture_release(*out);
            *out = NULL;
        }
        return e;
    }
    return 0;
}

/* The record holding cf (a reference taken), or NULL. */
static job *job_of(cio_redis_executor *ex, const cio_cfuture *cf)
{
    job *j = NULL;
    pthread_mutex_lock(&ex->mu);
    /* From the oldest: jobs are mostly released in submission order, and
     * fewer than 64 released slots ever lead the table. */
    for (size_t i = 0; i < ex->njobs; i++)
        if (ex->jobs[i] && ex->jobs[i]->cf == cf) {
            j = ex->jobs[i];
            atomic_fetch_add(&j->refs, 1);
            break;
        }
    pthread_mutex_unlock(&ex->mu);
    return j;
}

CIO_API int cio_redis_executor_release(cio_redis_executor *ex,
                                       cio_cfuture *cf)
{
    if (!ex || !cf)
        return -EINVAL;
    job *j = job_of(ex, cf);
    if (!j)
        return -ENOENT;
    cio_cfuture_cancel(j->cf); /* a job not done yet: cancelled */
    job_drop(ex, j);
    job_unref(j);
    return 0;
}

CIO_API size_t cio_redis_executor_records(cio_redis_executor *ex)
{
    if (!ex)
        return 0;
    pthread_mutex_lock(&ex->mu);
    size_t n = ex->live;
    pthread_mutex_unlock(&ex->mu);
    return n;
}

CIO_API int cio_redis_executor_job_id(cio_redis_executor *ex,
                                      const cio_cfuture *cf, char *buf,
                                      size_t cap)
{
    if (!ex || !cf || !buf || !cap)
        return -EINVAL;
    job *j = job_of(ex, cf);
    if (!j)
        return -ENOENT;
    int n = snprintf(buf, cap, "%s:%llu", ex->name,
                     (unsigned long long)j->seq);
    job_unref(j);
    return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
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
    /* Walk by sequence number: records may be released meanwhile (then
     * skipped); job_get holds each one while it is used. */
    pthread_mutex_lock(&ex->mu);
    uint64_t first = ex->base, end = ex->base + n;
    pthread_mutex_unlock(&ex->mu);
    for (uint64_t seq = first; seq < end; seq++) {
        job *j = job_get(ex, seq);
        if (!j)
            continue;
        if (cancel_futures)
            cio_cfuture_cancel(j->cf);
        if (wait)
            cio_cfuture_result(j->cf, -1, NULL);
        job_unref(j);
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
