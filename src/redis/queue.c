/*
 * queue.c - the worker side of the distributed executor (see the section
 * in cio/redis.h for the protocol), the job registry and the helpers the
 * submitter (executor.c) and the cio-queue tool share.
 *
 * A worker is one loop: `concurrency` fetch tasks, each taking one job at
 * a time with XREADGROUP ... COUNT 1 BLOCK 500 on a dedicated connection
 * (so a worker never holds jobs it has not started: nothing to give back
 * on drain), a reaper that XAUTOCLAIMs jobs idle for claim_idle (their
 * worker died), and a heartbeat. A job is acknowledged only after its
 * result (or its dead-letter entry) is written, so a crash at any point
 * means a re-run, never a loss. The done marker (SET NX) makes recording
 * a result idempotent when two runs of one job race (a worker presumed
 * dead that was only slow).
 *
 * Rejected: BLMOVE into per-worker processing lists with a reaper. It
 * needs its own bookkeeping of attempts and idle time, which consumer
 * groups keep in the server (PEL, delivery time); not measured against
 * streams (no time), so the choice rests on that simplicity.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "queue_int.h"

/* ---------------------------------------------------------------------
 * Shared helpers
 * ------------------------------------------------------------------- */

void cio__queue_opts(cio_redis_queue_opts *o, const cio_redis_queue_opts *in)
{
    cio_redis_queue_opts d = CIO_REDIS_QUEUE_OPTS_INIT;
    *o = in ? *in : d;
    if (!o->queue)
        o->queue = "cioq";
    if (!o->concurrency)
        o->concurrency = 4;
    if (o->job_timeout <= 0)
        o->job_timeout = 30 * CIO_SEC;
    if (o->claim_idle <= 0)
        o->claim_idle = o->job_timeout + 5 * CIO_SEC;
    if (o->claim_idle < o->job_timeout + 500 * CIO_MS)
        o->claim_idle = o->job_timeout + 500 * CIO_MS;
    if (!o->max_tries)
        o->max_tries = 3;
    if (o->retry_backoff <= 0)
        o->retry_backoff = 100 * CIO_MS;
    if (o->result_ttl <= 0)
        o->result_ttl = 3600 * CIO_SEC;
}

const char *cio__queue_key(char *buf, const cio_redis_queue_opts *o,
                           const char *suffix)
{
    snprintf(buf, CIO__Q_KEYMAX, "%s:%s", o->queue, suffix);
    return buf;
}

void cio__queue_name(char *buf, size_t cap)
{
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    unsigned rnd = (unsigned)t.tv_nsec ^ ((unsigned)getpid() << 16);
    snprintf(buf, cap, "%s-%d-%08x", host, (int)getpid(), rnd);
}

const cio_redis_reply *cio__field(const cio_redis_reply *fields,
                                  const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + 1 < cio_redis_reply_len(fields); i += 2) {
        size_t len;
        const char *s =
            cio_redis_reply_str(cio_redis_reply_at(fields, i), &len);
        if (s && len == n && memcmp(s, name, n) == 0)
            return cio_redis_reply_at(fields, i + 1);
    }
    return NULL;
}

int cio__cmd(cio_redis *r, cio_redis_reply **rep, const char *a0, ...)
{
    const char *av[24];
    int n = 0;
    va_list ap;
    va_start(ap, a0);
    for (const char *a = a0; a && n < 24; a = va_arg(ap, const char *))
        av[n++] = a;
    va_end(ap);
    return cio_redis_command(r, n, av, NULL, rep);
}

int cio__queue_ensure_group(cio_redis *r, const cio_redis_queue_opts *o)
{
    char jobs[CIO__Q_KEYMAX];
    cio__queue_key(jobs, o, "jobs");
    int e = cio__cmd(r, NULL, "XGROUP", "CREATE", jobs, CIO__Q_GROUP, "0",
                     "MKSTREAM", NULL);
    return e == CIO_EREDIS_BUSYGROUP ? 0 : e;
}

/* ---------------------------------------------------------------------
 * Registry
 * ------------------------------------------------------------------- */

#define MAX_FNS 256

enum { KIND_CORO, KIND_THREAD, KIND_PROCESS };

static struct {
    const char *name;
    int kind;
    cio_redis_job_fn fn;
    cio_process_fn pfn;
} fns[MAX_FNS];
static int nfns;
static int nkind[3];

static int reg(const char *name, int kind, cio_redis_job_fn fn,
               cio_process_fn pfn)
{
    if (!name || (!fn && !pfn) || !*name)
        return -EINVAL;
    for (int i = 0; i < nfns; i++)
        if (strcmp(fns[i].name, name) == 0)
            return fns[i].kind == kind && fns[i].fn == fn && fns[i].pfn == pfn
                       ? 0
                       : -EEXIST;
    if (nfns == MAX_FNS)
        return -ENOSPC;
    if (kind == KIND_PROCESS) {
        int e = cio_process_pool_register(name, pfn);
        if (e < 0)
            return e;
    }
    fns[nfns].name = name;
    fns[nfns].kind = kind;
    fns[nfns].fn = fn;
    fns[nfns].pfn = pfn;
    nfns++;
    nkind[kind]++;
    return 0;
}

CIO_API int cio_redis_job_register(const char *name, cio_redis_job_fn fn)
{
    return reg(name, KIND_CORO, fn, NULL);
}

CIO_API int cio_redis_job_register_thread(const char *name,
                                          cio_redis_job_fn fn)
{
    return reg(name, KIND_THREAD, fn, NULL);
}

CIO_API int cio_redis_job_register_process(const char *name,
                                           cio_process_fn fn)
{
    return reg(name, KIND_PROCESS, NULL, fn);
}

static int lookup(const char *name, size_t len)
{
    for (int i = 0; i < nfns; i++)
        if (strlen(fns[i].name) == len && memcmp(fns[i].name, name, len) == 0)
            return i;
    return -1;
}

/* ---------------------------------------------------------------------
 * Worker
 * ------------------------------------------------------------------- */

/* A job being run by this worker (on the stack of the task running it),
 * found by the cancel listener. */
typedef struct running {
    struct running *next;
    char job[208];
    cio_task *task;  /* the job's own task, once started */
    int cancelled;   /* cancelled remotely */
    int rc;
    const void *in;
    size_t in_len;
    int fi;          /* index in fns */
    cio_bytes out;
    struct worker *w;
} running;

typedef struct worker {
    const char *host;
    int port;
    cio_redis_queue_opts o;
    cio_redis *r;
    char name[128];
    char jobs[CIO__Q_KEYMAX], dead[CIO__Q_KEYMAX], workers[CIO__Q_KEYMAX];
    volatile int draining;
    int err;
    running *running;
    cio_thread_pool *tp;
    cio_process_pool *pp;
    cio_task *canceller;
    char sha_finish[48], sha_start[48]; /* SCRIPT LOAD'ed ("": use EVAL) */
} worker;

static void ms_str(char *buf, int64_t ns)
{
    snprintf(buf, 32, "%lld", (long long)(ns / CIO_MS));
}

static const char *sv(const cio_redis_reply *r, size_t *len)
{
    const char *s = cio_redis_reply_str(r, len);
    if (!s && len)
        *len = 0;
    return s ? s : "";
}

/* Acknowledges and deletes a stream entry (the job is finished). */
static int ack(worker *w, const char *id)
{
    int e = cio__cmd(w->r, NULL, "XACK", w->jobs, CIO__Q_GROUP, id, NULL);
    if (e == 0)
        e = cio__cmd(w->r, NULL, "XDEL", w->jobs, id, NULL);
    return e;
}

/* Finishes a job in one atomic step on the server (a Lua script): unless
 * an outcome was already recorded (the done marker, SET NX), count it,
 * append the dead-letter entry (dead), send the outcome to the
 * submitter's result stream; in every case acknowledge and delete the
 * job entry. A worker dying anywhere before this leaves the job pending
 * (re-run later); after it, nothing is left to do: never a lost result,
 * never two. */
const char cio__queue_finish_lua[] =
    "if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then\n"
    "  redis.call('INCR', KEYS[2])\n"
    "  if ARGV[10] == '1' then\n"
    "    redis.call('XADD', KEYS[5], '*', 'job', ARGV[2], 'fn', ARGV[11],\n"
    "      'args', ARGV[12], 'reply', KEYS[3], 'err', ARGV[3],\n"
    "      'msg', ARGV[6], 'runs', ARGV[4], 'worker', ARGV[5])\n"
    "  end\n"
    "  redis.call('XADD', KEYS[3], '*', 'job', ARGV[2], 'err', ARGV[3],\n"
    "    'runs', ARGV[4], 'worker', ARGV[5], 'msg', ARGV[6],\n"
    "    'data', ARGV[7])\n"
    "  redis.call('PEXPIRE', KEYS[3], ARGV[1])\n"
    "end\n"
    "redis.call('XACK', KEYS[4], ARGV[9], ARGV[8])\n"
    "redis.call('XDEL', KEYS[4], ARGV[8])\n"
    "return 1\n";

/* Starts a run in one round trip: 0 if the job already has an outcome
 * (done marker), -1 if it was cancelled before starting, else the run
 * count after incrementing it (the counter expires with results). */
const char cio__queue_start_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end\n"
    "local n = redis.call('INCR', KEYS[3])\n"
    "redis.call('PEXPIRE', KEYS[3], ARGV[1])\n"
    "return n\n";

/* Loads a script; its SHA1 into sha (48 bytes), "" on failure (then the
 * script is sent whole with EVAL). Suspends. */
static void load_script(worker *w, const char *lua, char *sha)
{
    cio_redis_reply *r;
    sha[0] = '\0';
    if (cio__cmd(w->r, &r, "SCRIPT", "LOAD", lua, NULL) == 0) {
        size_t n;
        const char *s = cio_redis_reply_str(r, &n);
        if (s && n < 48) {
            memcpy(sha, s, n);
            sha[n] = '\0';
        }
    }
    cio_redis_reply_free(r);
}

/* av[0] = "EVAL", av[1] = the script: runs it by its SHA1 when loaded,
 * falling back to EVAL when the server lost its script cache (NOSCRIPT,
 * after a restart; EVAL loads it again). Suspends. */
static int run_script(worker *w, const char *sha, int argc, const char **av,
                      size_t *lens, cio_redis_reply **rep)
{
    if (sha[0]) {
        const char *lua = av[1];
        size_t ll = lens[1];
        av[0] = "EVALSHA";
        av[1] = sha;
        lens[0] = 7;
        lens[1] = strlen(sha);
        int e = cio_redis_command(w->r, argc, av, lens, rep);
        if (e != CIO_EREDIS_NOSCRIPT)
            return e;
        if (rep) {
            cio_redis_reply_free(*rep);
            *rep = NULL;
        }
        av[0] = "EVAL";
        av[1] = lua;
        lens[0] = 4;
        lens[1] = ll;
    }
    return cio_redis_command(w->r, argc, av, lens, rep);
}

static int finish_stat(worker *w, const char *id, const cio_redis_reply *f,
                       int err, const char *msg, const void *data, size_t len,
                       long long runs, int dead, const char *statname)
{
    size_t jl, fl, al, rl;
    const char *job = sv(cio__field(f, "job"), &jl);
    const char *fn = sv(cio__field(f, "fn"), &fl);
    const char *args = sv(cio__field(f, "args"), &al);
    const char *reply = sv(cio__field(f, "reply"), &rl);
    char done[CIO__Q_KEYMAX + 256], stat[CIO__Q_KEYMAX];
    snprintf(done, sizeof(done), "%s:done:%.*s", w->o.queue, (int)jl, job);
    cio__queue_key(stat, &w->o, statname);
    char ttl[32], errs[16], runss[24];
    ms_str(ttl, w->o.result_ttl);
    snprintf(errs, sizeof(errs), "%d", err);
    snprintf(runss, sizeof(runss), "%lld", runs);
    const char *av[] = {"EVAL",
                        cio__queue_finish_lua,
                        "5",
                        done,
                        stat,
                        reply,
                        w->jobs,
                        w->dead,
                        ttl,
                        job,
                        errs,
                        runss,
                        w->name,
                        msg ? msg : "",
                        data ? (const char *)data : "",
                        id,
                        CIO__Q_GROUP,
                        dead ? "1" : "0",
                        fn,
                        args};
    enum {
        N = sizeof(av) / sizeof(av[0])
    };
    size_t lens[N];
    for (int i = 0; i < N; i++)
        lens[i] = i == 14 ? 0 : strlen(av[i]); /* data: not a C string */
    lens[5] = rl;
    lens[9] = jl;
    lens[14] = data ? len : 0;
    lens[18] = fl;
    lens[19] = al;
    return run_script(w, w->sha_finish, N, av, lens, NULL);
}

static int finish(worker *w, const char *id, const cio_redis_reply *f, int err,
                  const char *msg, const void *data, size_t len, long long runs,
                  int dead)
{
    return finish_stat(w, id, f, err, msg, data, len, runs, dead,
                       err ? "stat:dead" : "stat:done");
}

static int dead_letter(worker *w, const char *id, const cio_redis_reply *f,
                       int err, const char *msg, long long runs)
{
    return finish(w, id, f, err, msg, NULL, 0, runs, 1);
}

static int requeue(worker *w, const char *id, const cio_redis_reply *f)
{
    size_t jl, fl, al, rl;
    const char *job = sv(cio__field(f, "job"), &jl);
    const char *fn = sv(cio__field(f, "fn"), &fl);
    const char *args = sv(cio__field(f, "args"), &al);
    const char *reply = sv(cio__field(f, "reply"), &rl);
    const char *av[] = {"XADD", w->jobs, "*",  "job",   job,  "fn",
                        fn,     "args",  args, "reply", reply};
    size_t lens[11];
    for (int i = 0; i < 11; i++)
        lens[i] = strlen(av[i]);
    lens[4] = jl;
    lens[6] = fl;
    lens[8] = al;
    lens[10] = rl;
    int e = cio_redis_command(w->r, 11, av, lens, NULL);
    if (e == 0) {
        char stat[CIO__Q_KEYMAX];
        cio__queue_key(stat, &w->o, "stat:retried");
        cio__cmd(w->r, NULL, "INCR", stat, NULL);
        e = ack(w, id);
    }
    return e;
}

/* ---- running a job: on the loop, in a thread, in a process ---------- */

/* A thread job's state, shared by the thread and the job's task: the
 * last of the two to let go frees it (the task may give up on a timeout
 * while the thread still runs). */
typedef struct tjob {
    atomic_int refs;
    cio_redis_job_fn fn;
    void *in;
    size_t len;
    cio_bytes out;
    int rc;
} tjob;

static void tjob_unref(tjob *t)
{
    if (atomic_fetch_sub(&t->refs, 1) == 1) {
        free(t->in);
        free(t->out.data);
        free(t);
    }
}

static int tjob_run(void *arg, void **result)
{
    tjob *t = arg;
    *result = NULL;
    t->rc = t->fn(t->in, t->len, &t->out);
    return 0;
}

static int tjob_done(cio_cfuture *cf, void *arg)
{
    (void)cf;
    tjob_unref(arg);
    return 0;
}

static int run_thread(worker *w, running *ru)
{
    tjob *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    atomic_init(&t->refs, 2); /* this task's, the pool job's */
    t->fn = fns[ru->fi].fn;
    t->len = ru->in_len;
    t->in = malloc(ru->in_len ? ru->in_len : 1);
    if (!t->in) {
        free(t);
        return -ENOMEM;
    }
    memcpy(t->in, ru->in, ru->in_len);
    cio_cfuture *cf;
    int e = cio_thread_pool_submit(w->tp, tjob_run, t, &cf);
    if (e < 0) {
        free(t->in);
        free(t);
        return e;
    }
    if (cio_cfuture_add_done_callback(cf, tjob_done, t) < 0)
        atomic_fetch_sub(&t->refs, 1); /* cannot happen: cf is ours */
    e = cio_cfuture_await(cf, NULL);
    if (e == 0) {
        e = t->rc;
        ru->out = t->out; /* taken */
        t->out.data = NULL;
        t->out.len = 0;
    } else {
        cio_cfuture_cancel(cf); /* not started: never runs */
    }
    cio_cfuture_release(cf);
    tjob_unref(t);
    return e;
}

static int run_process(worker *w, running *ru)
{
    cio_future *fut;
    int e = cio_run_in_process_pool(cio_get_running_loop(), w->pp,
                                    fns[ru->fi].pfn, ru->in, ru->in_len, &fut);
    if (e < 0)
        return e;
    void *res = NULL;
    e = cio_await(fut, &res);
    if (e == 0) {
        const cio_bytes *b = res;
        ru->out.data = malloc(b->len ? b->len : 1);
        if (!ru->out.data) {
            e = -ENOMEM;
        } else {
            memcpy(ru->out.data, b->data, b->len);
            ru->out.len = b->len;
        }
    }
    cio_future_release(fut);
    return e;
}

/* The job's task: runs it under the job timeout. */
static int job_task(void *arg, void **result)
{
    running *ru = arg;
    worker *w = ru->w;
    (void)result;
    cio_timeout sc;
    int rc = cio_timeout_begin(&sc, w->o.job_timeout);
    if (rc == 0) {
        switch (fns[ru->fi].kind) {
        case KIND_THREAD:
            rc = run_thread(w, ru);
            break;
        case KIND_PROCESS:
            rc = run_process(w, ru);
            break;
        default:
            rc = fns[ru->fi].fn(ru->in, ru->in_len, &ru->out);
        }
        rc = cio_timeout_end(&sc, rc);
    }
    ru->rc = rc;
    return 0;
}

/* Runs ru in its own task (so a remote cancel hits the job, not the
 * worker's fetch loop) and waits for it, even if the caller is cancelled
 * meanwhile (the job's task refers to ru, on our stack). Returns: the
 * job's outcome. Suspends. */
static int run_job(worker *w, running *ru)
{
    if (ru->cancelled)
        return -ECANCELED; /* announced before it started */
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.name = "queue-run";
    int e = cio_task_create(cio_get_running_loop(), CIO_CORO(job_task, ru),
                            &to, &ru->task);
    if (e < 0)
        return e;
    int torn = 0;
    while (!cio_future_done(ru->task)) {
        cio_future *sh = NULL;
        if (cio_shield(ru->task, &sh) < 0) {
            cio_sleep(0);
            continue;
        }
        if (cio_await(sh, NULL) == -ECANCELED && !cio_future_done(ru->task)) {
            torn = 1; /* the worker is torn down: stop the job too */
            cio_task_cancel(ru->task, NULL);
        }
        cio_future_release(sh);
    }
    (void)w;
    cio_future_release(ru->task);
    ru->task = NULL;
    return torn && ru->rc == 0 ? 0 : (torn ? -ECANCELED : ru->rc);
}

/* The cancel listener: job ids announced on <queue>:cancel; a job this
 * worker runs is cancelled (its task), one about to start is marked. */
static int canceller_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    char chan[CIO__Q_KEYMAX];
    cio__queue_key(chan, &w->o, "cancel");
    cio_redis_pubsub *ps = NULL;
    int e;
    while ((e = cio_redis_pubsub_open(w->host, w->port, &w->o.redis, &ps)) <
           0) {
        if (e == -ECANCELED || cio_sleep(200 * CIO_MS) < 0)
            return -ECANCELED;
    }
    cio_redis_pubsub_set_reconnect(ps, 1);
    const char *chans[1] = {chan};
    while ((e = cio_redis_pubsub_subscribe(ps, 0, chans, 1)) < 0) {
        if (e == -ECANCELED || cio_sleep(200 * CIO_MS) < 0)
            goto out;
        cio_redis_pubsub_close(ps);
        ps = NULL;
        while (cio_redis_pubsub_open(w->host, w->port, &w->o.redis, &ps) < 0)
            if (cio_sleep(200 * CIO_MS) < 0)
                return -ECANCELED;
        cio_redis_pubsub_set_reconnect(ps, 1);
    }
    for (;;) {
        cio_redis_msg m;
        e = cio_redis_pubsub_next(ps, &m);
        if (e == -ECANCELED)
            break;
        if (e <= 0) {
            if (cio_sleep(100 * CIO_MS) < 0)
                break;
            continue;
        }
        for (running *ru = w->running; ru; ru = ru->next)
            if (strlen(ru->job) == m.data_len &&
                memcmp(ru->job, m.data, m.data_len) == 0) {
                ru->cancelled = 1;
                if (ru->task)
                    cio_task_cancel(ru->task, NULL);
            }
    }
out:
    cio_redis_pubsub_close(ps);
    return 0;
}

/* Runs one delivered entry [id, fields] to its end. Returns: 0, or an
 * error (the entry then stays pending: the reaper retries it). */
static int process_listed(worker *w, const char *id, const cio_redis_reply *f,
                          running *ru);

static int process(worker *w, const cio_redis_reply *entry)
{
    char id[64];
    size_t idl;
    const char *ids = cio_redis_reply_str(cio_redis_reply_at(entry, 0), &idl);
    if (!ids || idl >= sizeof(id))
        return 0;
    memcpy(id, ids, idl);
    id[idl] = '\0';
    const cio_redis_reply *f = cio_redis_reply_at(entry, 1);
    size_t jl, fl, rl;
    const char *job = cio_redis_reply_str(cio__field(f, "job"), &jl);
    const char *fn = cio_redis_reply_str(cio__field(f, "fn"), &fl);
    const char *reply = cio_redis_reply_str(cio__field(f, "reply"), &rl);
    if (!job || !fn || !reply || jl > 200)
        return ack(w, id); /* not a job (or deleted): drop it */
    /* Listed for the cancel listener from before the cancel marker is
     * checked: an announcement either finds it listed or comes after the
     * marker was set (the canceller sets it first), so none is missed. */
    running ru;
    memset(&ru, 0, sizeof(ru));
    memcpy(ru.job, job, jl);
    ru.job[jl] = '\0';
    ru.w = w;
    ru.next = w->running;
    w->running = &ru;
    int e = process_listed(w, id, f, &ru);
    for (running **p = &w->running; *p; p = &(*p)->next)
        if (*p == &ru) {
            *p = ru.next;
            break;
        }
    free(ru.out.data);
    return e;
}

static int record_cancel(worker *w, const char *id, const cio_redis_reply *f,
                         long long runs, const char *how)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "cancelled %s on %s", how, w->name);
    return finish_stat(w, id, f, -ECANCELED, msg, NULL, 0, runs, 0,
                       "stat:cancelled");
}

static int process_listed(worker *w, const char *id, const cio_redis_reply *f,
                          running *ru)
{
    size_t jl, fl, al;
    const char *job = cio_redis_reply_str(cio__field(f, "job"), &jl);
    const char *fn = cio_redis_reply_str(cio__field(f, "fn"), &fl);
    const char *args = sv(cio__field(f, "args"), &al);

    char dk[CIO__Q_KEYMAX + 256], ck[CIO__Q_KEYMAX + 256],
        rk[CIO__Q_KEYMAX + 256], ttl[32];
    snprintf(dk, sizeof(dk), "%s:done:%.*s", w->o.queue, (int)jl, job);
    snprintf(ck, sizeof(ck), "%s:cancel:%.*s", w->o.queue, (int)jl, job);
    snprintf(rk, sizeof(rk), "%s:runs:%.*s", w->o.queue, (int)jl, job);
    ms_str(ttl, w->o.result_ttl);
    const char *av[7] = {"EVAL", cio__queue_start_lua, "3", dk, ck, rk, ttl};
    size_t lens[7];
    for (int i = 0; i < 7; i++)
        lens[i] = strlen(av[i]);
    cio_redis_reply *rr;
    int e = run_script(w, w->sha_start, 7, av, lens, &rr);
    long long runs = cio_redis_reply_integer(rr);
    cio_redis_reply_free(rr);
    if (e < 0)
        return e;
    if (runs == 0) /* already has an outcome */
        return ack(w, id);
    if (runs < 0)
        return record_cancel(w, id, f, 0, "before it started");

    char msg[256];
    if (runs > (long long)w->o.max_tries) {
        /* Started max_tries times without an outcome: its workers died. */
        snprintf(msg, sizeof(msg),
                 "dead-lettered: started %lld times without finishing",
                 runs - 1);
        return dead_letter(w, id, f, CIO_ECHILD_DIED, msg, runs - 1);
    }
    int fi = lookup(fn, fl);
    if (fi < 0) {
        snprintf(msg, sizeof(msg), "dead-lettered: no function '%.*s' on %s",
                 (int)(fl > 64 ? 64 : fl), fn, w->name);
        return dead_letter(w, id, f, -ENOENT, msg, runs);
    }

    /* Run it in a task of its own (a remote cancel hits that task). */
    ru->in = args;
    ru->in_len = al;
    ru->fi = fi;
    int rc = run_job(w, ru);
    if (ru->cancelled && rc != 0)
        return record_cancel(w, id, f, runs, "while running");
    if (rc == -ECANCELED) /* the worker itself is being torn down */
        return rc;
    if (rc == 0)
        return finish(w, id, f, 0, NULL, ru->out.data, ru->out.len, runs, 0);
    if (rc > 0)
        rc = -EIO;
    if (runs < (long long)w->o.max_tries) {
        int64_t d = w->o.retry_backoff << (runs - 1 < 20 ? runs - 1 : 20);
        if ((e = cio_sleep(d)) < 0)
            return e;
        if (ru->cancelled)
            return record_cancel(w, id, f, runs, "while waiting to retry");
        return requeue(w, id, f);
    }
    snprintf(msg, sizeof(msg), "dead-lettered after %lld runs on %s: %s", runs,
             w->name, cio_strerror(rc));
    return dead_letter(w, id, f, rc, msg, runs);
}

/* Walks the entries of an XREADGROUP or XAUTOCLAIM entry list. */
static void process_list(worker *w, const cio_redis_reply *list)
{
    for (size_t i = 0; i < cio_redis_reply_len(list); i++)
        process(w, cio_redis_reply_at(list, i));
}

static int fetch_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    while (!w->draining) {
        const char *av[] = {"XREADGROUP", "GROUP", CIO__Q_GROUP, w->name,
                            "COUNT",      "1",     "BLOCK",      "500",
                            "STREAMS",    w->jobs, ">"};
        cio_redis_reply *r;
        int e = cio_redis_command_blocking(w->r, 11, av, NULL, &r);
        if (e == -ECANCELED)
            return e;
        if (e == CIO_EREDIS_NOGROUP)
            e = cio__queue_ensure_group(w->r, &w->o);
        if (e < 0) {
            cio_redis_reply_free(r);
            if (cio_sleep(100 * CIO_MS) < 0)
                return -ECANCELED;
            continue;
        }
        /* [[stream, [[id, fields], ...]]] or nil */
        const cio_redis_reply *s = cio_redis_reply_at(r, 0);
        process_list(w, cio_redis_reply_at(s, 1));
        cio_redis_reply_free(r);
    }
    return 0;
}

/* Sleeps up to d, waking early when the worker drains. */
static int nap(worker *w, int64_t d)
{
    while (d > 0 && !w->draining) {
        int64_t step = d < 100 * CIO_MS ? d : 100 * CIO_MS;
        if (cio_sleep(step) < 0)
            return -ECANCELED;
        d -= step;
    }
    return 0;
}

static int reaper_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    char idle[32], count[16];
    ms_str(idle, w->o.claim_idle);
    snprintf(count, sizeof(count), "%u", w->o.concurrency);
    int64_t period = w->o.claim_idle / 4;
    if (period < 100 * CIO_MS)
        period = 100 * CIO_MS;
    while (!w->draining) {
        if (nap(w, period) < 0)
            return -ECANCELED;
        if (w->draining)
            break;
        cio_redis_reply *r;
        int e = cio__cmd(w->r, &r, "XAUTOCLAIM", w->jobs, CIO__Q_GROUP, w->name,
                         idle, "0-0", "COUNT", count, NULL);
        if (e == 0)
            process_list(w, cio_redis_reply_at(r, 1));
        cio_redis_reply_free(r);
    }
    return 0;
}

static int heartbeat_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    while (!w->draining) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        char now[32];
        snprintf(now, sizeof(now), "%lld",
                 (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000);
        cio__cmd(w->r, NULL, "HSET", w->workers, w->name, now, NULL);
        if (nap(w, CIO_SEC) < 0)
            return -ECANCELED;
    }
    return 0;
}

static int drain_cb(void *arg)
{
    worker *w = arg;
    w->draining = 1;
    return 0;
}

static int worker_main(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    int e = cio_redis_new(loop, w->host, w->port, &w->o.redis, &w->r);
    if (e < 0)
        return e;
    if ((e = cio__queue_ensure_group(w->r, &w->o)) < 0) {
        cio_redis_free(w->r);
        return e;
    }
    load_script(w, cio__queue_finish_lua, w->sha_finish);
    load_script(w, cio__queue_start_lua, w->sha_start);
    cio_loop_add_signal_handler(loop, SIGTERM, drain_cb, w);
    cio_loop_add_signal_handler(loop, SIGINT, drain_cb, w);
    cio_task_opts co = CIO_TASK_OPTS_INIT;
    co.name = "queue-cancel";
    if (cio_task_create(loop, CIO_CORO(canceller_task, w), &co,
                        &w->canceller) < 0)
        w->canceller = NULL; /* remote cancel of running jobs unavailable */
    cio_task_group *g;
    e = cio_task_group_new(&g);
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.name = "queue-job";
    for (unsigned i = 0; e == 0 && i < w->o.concurrency; i++)
        e = cio_task_group_spawn(g, CIO_CORO(fetch_task, w), &to, NULL);
    to.name = "queue-reaper";
    if (e == 0)
        e = cio_task_group_spawn(g, CIO_CORO(reaper_task, w), &to, NULL);
    to.name = "queue-heartbeat";
    if (e == 0)
        e = cio_task_group_spawn(g, CIO_CORO(heartbeat_task, w), &to, NULL);
    if (e < 0)
        w->draining = 1;
    int we = g ? cio_task_group_wait(g, e) : e;
    cio_task_group_free(g);
    if (w->canceller) {
        cio_task_cancel(w->canceller, NULL);
        cio_await(w->canceller, NULL);
        cio_future_release(w->canceller);
    }
    cio__cmd(w->r, NULL, "HDEL", w->workers, w->name, NULL);
    cio_loop_remove_signal_handler(loop, SIGTERM);
    cio_loop_remove_signal_handler(loop, SIGINT);
    cio_redis_free(w->r);
    return e < 0 ? e : we;
}

CIO_API int cio_redis_worker_run(const char *host, int port,
                                 const cio_redis_queue_opts *opts)
{
    if (!host || port <= 0)
        return -EINVAL;
    worker *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->host = host;
    w->port = port;
    cio__queue_opts(&w->o, opts);
    if (w->o.name)
        snprintf(w->name, sizeof(w->name), "%s", w->o.name);
    else
        cio__queue_name(w->name, sizeof(w->name));
    cio__queue_key(w->jobs, &w->o, "jobs");
    cio__queue_key(w->dead, &w->o, "dead");
    cio__queue_key(w->workers, &w->o, "workers");
    int r = 0;
    if (nkind[KIND_PROCESS]) { /* first: no thread may exist at the fork */
        cio_process_pool_opts po = CIO_PROCESS_POOL_OPTS_INIT;
        po.max_workers = w->o.concurrency;
        r = cio_process_pool_new(&w->pp, &po);
    }
    if (r == 0 && nkind[KIND_THREAD]) {
        cio_thread_pool_opts to = CIO_THREAD_POOL_OPTS_INIT;
        to.max_workers = w->o.concurrency;
        to.name_prefix = "cioq-job";
        r = cio_thread_pool_new(&w->tp, &to);
    }
    if (r == 0)
        r = cio_run(worker_main, w, NULL);
    cio_thread_pool_free(w->tp); /* waits for threads still running */
    cio_process_pool_free(w->pp);
    free(w);
    return r;
}

CIO_API int cio_redis_queue_cancel(cio_redis *r, const char *queue,
                                   const char *job, int64_t ttl)
{
    if (!r || !job || !*job || strlen(job) > 200)
        return -EINVAL;
    cio_redis_queue_opts in = CIO_REDIS_QUEUE_OPTS_INIT, o;
    in.queue = queue;
    in.result_ttl = ttl;
    cio__queue_opts(&o, &in);
    char key[CIO__Q_KEYMAX + 256], chan[CIO__Q_KEYMAX], ms[32];
    snprintf(key, sizeof(key), "%s:cancel:%s", o.queue, job);
    cio__queue_key(chan, &o, "cancel");
    ms_str(ms, o.result_ttl);
    /* The marker first: a worker that lists the job after the
     * announcement still finds it. */
    int e = cio__cmd(r, NULL, "SET", key, "1", "PX", ms, NULL);
    if (e < 0)
        return e;
    cio_redis_reply *rep;
    e = cio__cmd(r, &rep, "PUBLISH", chan, job, NULL);
    long long n = cio_redis_reply_integer(rep);
    cio_redis_reply_free(rep);
    return e < 0 ? e : (int)(n > INT_MAX ? INT_MAX : n);
}
