/*
 * queue.c - the worker side of the distributed executor (see the section
 * in cio/redis.h for the protocol), the job registry and the helpers the
 * submitter (executor.c) and the cio-queue tool share.
 *
 * A worker is one loop: a fetcher taking as many jobs as the worker has
 * free runners with one XREADGROUP ... COUNT <free> BLOCK 500 on a
 * dedicated connection (so a worker never holds jobs it has not started:
 * nothing to give back on drain), a task per batch taken running one
 * start script for the whole batch, `concurrency` runner tasks, a
 * finisher recording the outcomes handed to it meanwhile with one
 * finishing script (one XACK and one XDEL for the batch), a reaper that
 * XAUTOCLAIMs jobs idle for claim_idle (their worker died), and a
 * heartbeat. A job is acknowledged only by the script that writes its
 * result (or its dead-letter entry), so a crash at any point means a
 * re-run, never a loss. The done marker (SET NX) makes recording a
 * result idempotent when two runs of one job race (a worker presumed
 * dead that was only slow).
 *
 * Rejected: BLMOVE into per-worker processing lists with a reaper:
 * measured (bench/redis_queue_lists.c, design.md §40) and the lists
 * lack what the consumer group keeps in the server (delivery time and
 * count per job, XAUTOCLAIM).
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

/* A job this worker took: from its delivery (XREADGROUP or XAUTOCLAIM)
 * until its outcome is handed to the finisher, which records it with the
 * outcomes of the other jobs finished meanwhile (one script) and frees
 * it. Listed in worker.running (for the cancel listener) from before its
 * cancel marker is checked until its outcome is handed over. */
typedef struct batch {
    cio_redis_reply *r; /* the reply the jobs' fields point into */
    int refs;
} batch;

enum { OUT_ACK = 0, OUT_DONE = 1, OUT_DEAD = 2, OUT_CANCELLED = 3 };

typedef struct running {
    struct running *next;
    char job[208];
    cio_task *task;  /* the job's own task, once started */
    int cancelled;   /* cancelled remotely */
    int listed;
    int rc;
    const void *in;
    size_t in_len;
    int fi;          /* index in fns */
    cio_bytes out;
    struct worker *w;
    batch *b;
    char id[64];                /* the stream entry */
    const cio_redis_reply *f;   /* its fields (in b) */
    long long runs;
    /* The outcome, for the finisher. */
    int kind;        /* OUT_* */
    int dead;        /* also appended to the dead-letter stream */
    char errs[16], runss[24], msg[256];
} running;

typedef struct worker {
    const char *host;
    int port;
    cio_redis_queue_opts o;
    cio_redis *r;
    char name[128];
    char jobs[CIO__Q_KEYMAX], dead[CIO__Q_KEYMAX], workers[CIO__Q_KEYMAX];
    char stat_done[CIO__Q_KEYMAX], stat_dead[CIO__Q_KEYMAX],
        stat_cancelled[CIO__Q_KEYMAX];
    volatile int draining;
    int err;
    running *running;
    cio_thread_pool *tp;
    cio_process_pool *pp;
    cio_task *canceller;
    int sub_ready;      /* the cancel listener is subscribed (or gave up) */
    cio_queue *runq;    /* jobs started, for the runner tasks */
    cio_queue *finq;    /* outcomes, for the finisher */
    unsigned busy;      /* jobs taken and not yet handed to the finisher */
    unsigned starting;  /* batches taken whose start script is running */
    cio_event slot_ev;  /* set when busy drops below concurrency */
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

/* Finishes the jobs of a batch in one atomic step on the server: for
 * each job, unless an outcome was already recorded (the done marker, SET
 * NX), count it, append the dead-letter entry (dead), send the outcome
 * to the submitter's result stream; in every case acknowledge and delete
 * the job entries (one XACK and one XDEL for the batch; the counters
 * take one INCRBY each and every result stream one PEXPIRE). A worker
 * dying anywhere before this leaves its jobs pending (re-run later);
 * after it, nothing is left to do: never a lost result, never two.
 * KEYS: stat:done, stat:dead, stat:cancelled, jobs, dead, then per job
 * its done marker and its result stream. ARGV: ttl (ms), group, worker,
 * then per job: job, err, runs, msg, data, entry id, dead (0/1), fn,
 * args, kind (0: acknowledge only, 1 done, 2 dead, 3 cancelled). */
const char cio__queue_finish_lua[] =
    "local ttl, grp, wn = ARGV[1], ARGV[2], ARGV[3]\n"
    "local n = (#KEYS - 5) / 2\n"
    "local cnt, ids, exp = {0, 0, 0}, {}, {}\n"
    "for i = 0, n - 1 do\n"
    "  local k, a = 6 + 2 * i, 4 + 10 * i\n"
    "  local s = tonumber(ARGV[a + 9])\n"
    "  if s > 0 and redis.call('SET', KEYS[k], '1', 'NX', 'PX', ttl) then\n"
    "    cnt[s] = cnt[s] + 1\n"
    "    if ARGV[a + 6] == '1' then\n"
    "      redis.call('XADD', KEYS[5], '*', 'job', ARGV[a], 'fn',\n"
    "        ARGV[a + 7], 'args', ARGV[a + 8], 'reply', KEYS[k + 1],\n"
    "        'err', ARGV[a + 1], 'msg', ARGV[a + 3], 'runs', ARGV[a + 2],\n"
    "        'worker', wn)\n"
    "    end\n"
    "    redis.call('XADD', KEYS[k + 1], '*', 'job', ARGV[a], 'err',\n"
    "      ARGV[a + 1], 'runs', ARGV[a + 2], 'worker', wn, 'msg',\n"
    "      ARGV[a + 3], 'data', ARGV[a + 4])\n"
    "    exp[KEYS[k + 1]] = 1\n"
    "  end\n"
    "  ids[#ids + 1] = ARGV[a + 5]\n"
    "end\n"
    "for s = 1, 3 do\n"
    "  if cnt[s] > 0 then redis.call('INCRBY', KEYS[s], cnt[s]) end\n"
    "end\n"
    "for k in pairs(exp) do redis.call('PEXPIRE', k, ttl) end\n"
    "if #ids > 0 then\n"
    "  redis.call('XACK', KEYS[4], grp, unpack(ids))\n"
    "  redis.call('XDEL', KEYS[4], unpack(ids))\n"
    "end\n"
    "return n\n";

/* Starts the runs of a batch in one round trip: per job (KEYS: its done
 * marker, cancel marker, run counter) 0 if it already has an outcome, -1
 * if it was cancelled before starting, else its run count after
 * counting this run. The counter expires with results (ARGV[1], ms): set
 * with its expiry on a first run (the usual case: two commands per
 * job), incremented and its expiry renewed on a re-run. */
const char cio__queue_start_lua[] =
    "local out = {}\n"
    "for i = 1, #KEYS, 3 do\n"
    "  local v\n"
    "  if redis.call('EXISTS', KEYS[i], KEYS[i + 1]) == 0 then\n"
    "    if redis.call('SET', KEYS[i + 2], '1', 'NX', 'PX', ARGV[1]) then\n"
    "      v = 1\n"
    "    else\n"
    "      v = redis.call('INCR', KEYS[i + 2])\n"
    "      redis.call('PEXPIRE', KEYS[i + 2], ARGV[1])\n"
    "    end\n"
    "  elseif redis.call('EXISTS', KEYS[i]) == 1 then\n"
    "    v = 0\n"
    "  else\n"
    "    v = -1\n"
    "  end\n"
    "  out[#out + 1] = v\n"
    "end\n"
    "return out\n";

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
    /* A task cancelled before its first step never runs its body: its
     * outcome is then this, not the 0 of a job that ran. */
    ru->rc = -ECANCELED;
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
    w->sub_ready = 1; /* the fetchers may start taking jobs */
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

/* ---- taking jobs, handing outcomes over, recording them ------------- */

static void batch_unref(batch *b)
{
    if (b && --b->refs == 0) {
        cio_redis_reply_free(b->r);
        free(b);
    }
}

static void unlist(worker *w, running *ru)
{
    if (!ru->listed)
        return;
    for (running **p = &w->running; *p; p = &(*p)->next)
        if (*p == ru) {
            *p = ru->next;
            break;
        }
    ru->listed = 0;
    if (w->busy > 0 && --w->busy < w->o.concurrency)
        cio_event_set(&w->slot_ev);
}

/* Forgets a job without an outcome: its entry stays pending (the reaper
 * of some worker re-runs it after claim_idle). */
static void ru_drop(worker *w, running *ru)
{
    unlist(w, ru);
    free(ru->out.data);
    batch_unref(ru->b);
    free(ru);
}

/* Hands a job's outcome to the finisher (kind OUT_*, err, msg); the
 * output (ru->out) goes with it. */
static void hand_over(worker *w, running *ru, int kind, int err,
                      const char *msg, int dead)
{
    unlist(w, ru);
    ru->kind = kind;
    ru->dead = dead;
    snprintf(ru->errs, sizeof(ru->errs), "%d", err);
    snprintf(ru->runss, sizeof(ru->runss), "%lld", ru->runs);
    snprintf(ru->msg, sizeof(ru->msg), "%s", msg ? msg : "");
    if (cio_queue_put_nowait(w->finq, ru) < 0)
        ru_drop(w, ru);
}

static void record_cancel(worker *w, running *ru, const char *how)
{
    char msg[256];
    snprintf(msg, sizeof(msg), "cancelled %s on %s", how, w->name);
    hand_over(w, ru, OUT_CANCELLED, -ECANCELED, msg, 0);
}

static void dead_letter(worker *w, running *ru, int err, const char *msg)
{
    hand_over(w, ru, OUT_DEAD, err, msg, 1);
}

/* Records up to n outcomes with one run of the finishing script.
 * Suspends. */
static int finish_many(worker *w, running **rus, int n)
{
    size_t ql = strlen(w->o.queue);
    int argc = 11 + 12 * n;
    const char **av = malloc((size_t)argc * sizeof(*av));
    size_t *lens = malloc((size_t)argc * sizeof(*lens));
    char *dk = malloc((size_t)n * (ql + 8 + 208));
    if (!av || !lens || !dk) {
        free(av);
        free(lens);
        free(dk);
        return -ENOMEM;
    }
    char nkeys[16], ttl[32];
    snprintf(nkeys, sizeof(nkeys), "%d", 5 + 2 * n);
    ms_str(ttl, w->o.result_ttl);
    int k = 0;
#define ARG(s, l) (av[k] = (s), lens[k] = (l), k++)
#define STR(s) ARG((s), strlen(s))
    STR("EVAL");
    STR(cio__queue_finish_lua);
    STR(nkeys);
    STR(w->stat_done);
    STR(w->stat_dead);
    STR(w->stat_cancelled);
    STR(w->jobs);
    STR(w->dead);
    for (int i = 0; i < n; i++) {
        char *d = dk + (size_t)i * (ql + 8 + 208);
        snprintf(d, ql + 8 + 208, "%s:done:%s", w->o.queue, rus[i]->job);
        STR(d);
        size_t rl;
        const char *reply = sv(cio__field(rus[i]->f, "reply"), &rl);
        ARG(reply, rl);
    }
    STR(ttl);
    STR(CIO__Q_GROUP);
    STR(w->name);
    static const char *const kinds[] = {"0", "1", "2", "3"};
    for (int i = 0; i < n; i++) {
        running *ru = rus[i];
        size_t fl, al;
        const char *fn = sv(cio__field(ru->f, "fn"), &fl);
        const char *args = sv(cio__field(ru->f, "args"), &al);
        STR(ru->job);
        STR(ru->errs);
        STR(ru->runss);
        STR(ru->msg);
        ARG(ru->out.data ? (const char *)ru->out.data : "",
            ru->out.data ? ru->out.len : 0);
        STR(ru->id);
        STR(ru->dead ? "1" : "0");
        ARG(fn, fl);
        ARG(args, al);
        STR(kinds[ru->kind]);
    }
#undef ARG
#undef STR
    int e = run_script(w, w->sha_finish, argc, av, lens, NULL);
    free(av);
    free(lens);
    free(dk);
    return e;
}

#define FINISH_MAX 128

/* The finisher: records every outcome handed over, as many per script
 * run as were handed over while the previous run was in flight (at most
 * FINISH_MAX). Ends when the queue is shut down and empty. A failed run
 * leaves its jobs pending (re-run later: at least once). */
static int finisher_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    running *rus[FINISH_MAX];
    for (;;) {
        void *it;
        if (cio_queue_get(w->finq, &it) < 0)
            break;
        int n = 0;
        rus[n++] = it;
        while (n < FINISH_MAX && cio_queue_get_nowait(w->finq, &it) == 0)
            rus[n++] = it;
        finish_many(w, rus, n);
        for (int i = 0; i < n; i++)
            ru_drop(w, rus[i]);
    }
    return 0;
}

/* Runs a started job to its outcome. */
static void run_one(worker *w, running *ru)
{
    char msg[256];
    int rc = run_job(w, ru);
    if (ru->cancelled && rc != 0) {
        record_cancel(w, ru, "while running");
        return;
    }
    if (rc == -ECANCELED) { /* the worker itself is being torn down */
        ru_drop(w, ru);
        return;
    }
    if (rc == 0) {
        hand_over(w, ru, OUT_DONE, 0, NULL, 0);
        return;
    }
    if (rc > 0)
        rc = -EIO;
    long long runs = ru->runs;
    if (runs < (long long)w->o.max_tries) {
        int64_t d = w->o.retry_backoff << (runs - 1 < 20 ? runs - 1 : 20);
        if (cio_sleep(d) < 0) {
            ru_drop(w, ru);
            return;
        }
        if (ru->cancelled) {
            record_cancel(w, ru, "while waiting to retry");
            return;
        }
        requeue(w, ru->id, ru->f);
        ru_drop(w, ru);
        return;
    }
    snprintf(msg, sizeof(msg), "dead-lettered after %lld runs on %s: %s", runs,
             w->name, cio_strerror(rc));
    dead_letter(w, ru, rc, msg);
}

/* A runner: runs the started jobs one after the other (the worker has
 * `concurrency` of them). Ends when the queue is shut down and empty. */
static int runner_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    for (;;) {
        void *it;
        if (cio_queue_get(w->runq, &it) < 0)
            break;
        run_one(w, it);
    }
    return 0;
}

/* A batch taken (listed, counted busy) whose runs are not started yet. */
typedef struct taken {
    worker *w;
    batch *b;
    running **rus;
    size_t m;
    char *keys;
    const char **av;
    size_t kl;
} taken;

static void taken_free(taken *t)
{
    free(t->rus);
    free(t->keys);
    free(t->av);
    batch_unref(t->b);
    free(t);
}

/* Takes the entries of an XREADGROUP or XAUTOCLAIM entry list (the
 * reply r is taken): lists them and counts them busy, at once (no
 * suspension). Returns: what start_taken needs, or NULL (nothing to
 * start; entries that could not be taken stay pending). */
static taken *take_batch(worker *w, cio_redis_reply *r,
                         const cio_redis_reply *list)
{
    size_t n = cio_redis_reply_len(list);
    taken *t = n ? calloc(1, sizeof(*t)) : NULL;
    batch *b = n ? calloc(1, sizeof(*b)) : NULL;
    running **rus = n ? calloc(n, sizeof(*rus)) : NULL;
    size_t ql = strlen(w->o.queue), kl = ql + 10 + 208;
    char *keys = n ? malloc(n * 3 * kl) : NULL;
    const char **av = n ? malloc((3 * n + 4) * sizeof(*av)) : NULL;
    if (!t || !b || !rus || !keys || !av) {
        free(t);
        free(b);
        free(rus);
        free(keys);
        free(av);
        cio_redis_reply_free(r);
        return NULL; /* left pending */
    }
    b->r = r;
    b->refs = 1; /* the taken batch's */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const cio_redis_reply *entry = cio_redis_reply_at(list, i);
        size_t idl, jl, fl, rl;
        const char *ids =
            cio_redis_reply_str(cio_redis_reply_at(entry, 0), &idl);
        if (!ids || idl >= 64)
            continue;
        running *ru = calloc(1, sizeof(*ru));
        if (!ru)
            continue; /* left pending */
        ru->w = w;
        ru->b = b;
        b->refs++;
        memcpy(ru->id, ids, idl);
        ru->f = cio_redis_reply_at(entry, 1);
        const char *job = cio_redis_reply_str(cio__field(ru->f, "job"), &jl);
        const char *fn = cio_redis_reply_str(cio__field(ru->f, "fn"), &fl);
        const char *reply =
            cio_redis_reply_str(cio__field(ru->f, "reply"), &rl);
        if (!job || !fn || !reply || jl > 200) {
            /* not a job (or deleted): drop it */
            hand_over(w, ru, OUT_ACK, 0, NULL, 0);
            continue;
        }
        memcpy(ru->job, job, jl);
        /* Listed for the cancel listener from before the cancel marker
         * is checked: an announcement either finds it listed or comes
         * after the marker was set (the canceller sets it first). */
        ru->listed = 1;
        ru->next = w->running;
        w->running = ru;
        w->busy++;
        rus[m++] = ru;
    }
    t->w = w;
    t->b = b;
    t->rus = rus;
    t->m = m;
    t->keys = keys;
    t->av = av;
    t->kl = kl;
    if (m == 0) {
        taken_free(t);
        return NULL;
    }
    return t;
}

/* Starts the runs of a taken batch with one script run and hands each
 * job to a runner, or its outcome (already recorded, cancelled before
 * starting, dead-lettered) to the finisher; frees t. Suspends. */
static void start_taken(taken *t)
{
    worker *w = t->w;
    running **rus = t->rus;
    size_t m = t->m, kl = t->kl;
    char *keys = t->keys;
    const char **av = t->av;
    {
        char nk[16], ttl[32];
        snprintf(nk, sizeof(nk), "%zu", 3 * m);
        ms_str(ttl, w->o.result_ttl);
        size_t *lens = malloc((3 * m + 4) * sizeof(*lens));
        size_t k = 0;
        av[k++] = "EVAL";
        av[k++] = cio__queue_start_lua;
        av[k++] = nk;
        for (size_t i = 0; i < m; i++) {
            static const char *const sfx[3] = {"done", "cancel", "runs"};
            for (int s = 0; s < 3; s++) {
                char *key = keys + (3 * i + (size_t)s) * kl;
                snprintf(key, kl, "%s:%s:%s", w->o.queue, sfx[s], rus[i]->job);
                av[k++] = key;
            }
        }
        av[k++] = ttl;
        cio_redis_reply *rr = NULL;
        int e = -ENOMEM;
        if (lens) {
            for (size_t i = 0; i < k; i++)
                lens[i] = strlen(av[i]);
            e = run_script(w, w->sha_start, (int)k, av, lens, &rr);
        }
        free(lens);
        if (e == 0 && cio_redis_reply_len(rr) != m)
            e = -EPROTO;
        for (size_t i = 0; i < m; i++) {
            running *ru = rus[i];
            if (e < 0) {
                ru_drop(w, ru); /* left pending */
                continue;
            }
            long long runs =
                cio_redis_reply_integer(cio_redis_reply_at(rr, i));
            char msg[256];
            ru->runs = runs > 0 ? runs : 0;
            if (runs == 0) { /* already has an outcome */
                hand_over(w, ru, OUT_ACK, 0, NULL, 0);
                continue;
            }
            if (runs < 0) {
                record_cancel(w, ru, "before it started");
                continue;
            }
            if (runs > (long long)w->o.max_tries) {
                /* Started max_tries times without an outcome: its
                 * workers died. */
                ru->runs = runs - 1;
                snprintf(msg, sizeof(msg),
                         "dead-lettered: started %lld times without "
                         "finishing",
                         runs - 1);
                dead_letter(w, ru, CIO_ECHILD_DIED, msg);
                continue;
            }
            size_t fl, al;
            const char *fn = sv(cio__field(ru->f, "fn"), &fl);
            int fi = lookup(fn, fl);
            if (fi < 0) {
                snprintf(msg, sizeof(msg),
                         "dead-lettered: no function '%.*s' on %s",
                         (int)(fl > 64 ? 64 : fl), fn, w->name);
                dead_letter(w, ru, -ENOENT, msg);
                continue;
            }
            ru->in = sv(cio__field(ru->f, "args"), &al);
            ru->in_len = al;
            ru->fi = fi;
            if (cio_queue_put_nowait(w->runq, ru) < 0)
                ru_drop(w, ru);
        }
        cio_redis_reply_free(rr);
    }
    taken_free(t);
}

/* Takes and starts a batch in the caller. Suspends. */
static void start_batch(worker *w, cio_redis_reply *r,
                        const cio_redis_reply *list)
{
    taken *t = take_batch(w, r, list);
    if (t)
        start_taken(t);
}

/* Starts a batch the fetcher took, while the fetcher fetches again. */
static int start_task(void *arg, void **result)
{
    taken *t = arg;
    worker *w = t->w;
    (void)result;
    start_taken(t);
    w->starting--;
    return 0;
}

/* The fetcher: takes as many jobs as the worker has free runners in one
 * XREADGROUP (so a worker never holds jobs it has not started: nothing
 * to give back on drain). */
static int fetch_task(void *arg, void **result)
{
    worker *w = arg;
    (void)result;
    /* Not before the cancel listener is subscribed (at most 5 s): a
     * cancel announced while a job runs must reach it. */
    for (int i = 0; i < 50 && w->canceller && !w->sub_ready && !w->draining;
         i++)
        if (cio_sleep(100 * CIO_MS) < 0)
            return -ECANCELED;
    while (!w->draining) {
        if (w->busy >= w->o.concurrency) {
            cio_event_clear(&w->slot_ev);
            if (cio_event_wait(&w->slot_ev) < 0)
                return -ECANCELED;
            continue;
        }
        char count[16];
        snprintf(count, sizeof(count), "%u", w->o.concurrency - w->busy);
        const char *av[] = {"XREADGROUP", "GROUP", CIO__Q_GROUP, w->name,
                            "COUNT",      count,   "BLOCK",      "500",
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
        /* [[stream, [[id, fields], ...]]] or nil. Taken (counted busy)
         * here, started by a task of its own: the next XREADGROUP does
         * not wait for this batch's start script. */
        const cio_redis_reply *s = cio_redis_reply_at(r, 0);
        taken *t = take_batch(w, r, cio_redis_reply_at(s, 1));
        if (t) {
            w->starting++;
            if (cio_task_create(cio_get_running_loop(),
                                CIO_CORO(start_task, t), NULL, NULL) < 0) {
                w->starting--;
                start_taken(t);
            }
        }
    }
    /* The runners are stopped after this task: batches still starting
     * must reach them first. */
    while (w->starting > 0)
        cio_sleep(CIO_MS);
    cio_event_set(&w->slot_ev);
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
            start_batch(w, r, cio_redis_reply_at(r, 1));
        else
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
    cio_event_set(&w->slot_ev); /* a fetcher waiting for a free runner */
    return 0;
}

/* Stage by stage: the fetcher, reaper and heartbeat end (draining);
 * then the runners finish the jobs they have; then the finisher records
 * the last outcomes. */
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
    if ((e = cio_queue_new(&w->runq, loop, 0, NULL)) < 0 ||
        (e = cio_queue_new(&w->finq, loop, 0, NULL)) < 0) {
        cio_queue_free(w->runq);
        cio_redis_free(w->r);
        return e;
    }
    cio_event_init(&w->slot_ev);
    load_script(w, cio__queue_finish_lua, w->sha_finish);
    load_script(w, cio__queue_start_lua, w->sha_start);
    cio_loop_add_signal_handler(loop, SIGTERM, drain_cb, w);
    cio_loop_add_signal_handler(loop, SIGINT, drain_cb, w);
    cio_task_opts co = CIO_TASK_OPTS_INIT;
    co.name = "queue-cancel";
    if (cio_task_create(loop, CIO_CORO(canceller_task, w), &co,
                        &w->canceller) < 0)
        w->canceller = NULL; /* remote cancel of running jobs unavailable */
    cio_task *fin = NULL;
    co.name = "queue-finish";
    e = cio_task_create(loop, CIO_CORO(finisher_task, w), &co, &fin);
    cio_task_group *g = NULL, *rg = NULL;
    if (e == 0)
        e = cio_task_group_new(&rg);
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.name = "queue-run";
    for (unsigned i = 0; e == 0 && i < w->o.concurrency; i++)
        e = cio_task_group_spawn(rg, CIO_CORO(runner_task, w), &to, NULL);
    if (e == 0)
        e = cio_task_group_new(&g);
    to.name = "queue-fetch";
    if (e == 0)
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
    cio_queue_shutdown(w->runq, 0); /* runners: finish what is queued */
    int re = rg ? cio_task_group_wait(rg, 0) : 0;
    cio_task_group_free(rg);
    cio_queue_shutdown(w->finq, 0); /* finisher: record what is left */
    if (fin) {
        cio_await(fin, NULL);
        cio_future_release(fin);
    }
    if (w->canceller) {
        cio_task_cancel(w->canceller, NULL);
        cio_await(w->canceller, NULL);
        cio_future_release(w->canceller);
    }
    /* Whatever is still queued (a runner group that failed) stays
     * pending on the server. */
    void *it;
    while (cio_queue_get_nowait(w->runq, &it) == 0)
        ru_drop(w, it);
    while (cio_queue_get_nowait(w->finq, &it) == 0)
        ru_drop(w, it);
    cio_queue_free(w->runq);
    cio_queue_free(w->finq);
    cio_event_destroy(&w->slot_ev);
    cio__cmd(w->r, NULL, "HDEL", w->workers, w->name, NULL);
    cio_loop_remove_signal_handler(loop, SIGTERM);
    cio_loop_remove_signal_handler(loop, SIGINT);
    cio_redis_free(w->r);
    if (e < 0)
        return e;
    return we < 0 ? we : re;
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
    cio__queue_key(w->stat_done, &w->o, "stat:done");
    cio__queue_key(w->stat_dead, &w->o, "stat:dead");
    cio__queue_key(w->stat_cancelled, &w->o, "stat:cancelled");
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
