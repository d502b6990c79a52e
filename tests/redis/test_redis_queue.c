/* cio-test: label=redis timeout=120 */
/*
 * test_redis_queue.c - the distributed executor against a real
 * redis-server with real worker processes (queue_worker.c, spawned):
 * submit / map / as_completed, a worker killed with SIGKILL mid-job (the
 * job completes on another worker, runs == 2, result reaches the
 * submitter), a poison job dead-lettered after max_tries (its retries
 * backing off), an unknown function, cancellation of a queued job
 * (never run), graceful drain on SIGTERM, and several workers and
 * submitters at once with every job accounted for exactly once.
 * Second round: blocking jobs in the worker's thread and process pools
 * (the loop goes on meanwhile), job records released (explicitly and
 * for fire-and-forget jobs), and a
 * running job cancelled remotely (by the cio-queue tool, another process,
 * and by the submitter's own cancel). Over TLS: executor, worker
 * process and sync client on the server's TLS port. Two "hosts": a
 * worker in a network namespace of its own, reaching Redis over a veth
 * pair (skipped where namespaces cannot be made).
 */
#include <pthread.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>

#include "redis_test.h"

extern char **environ;

#define Q "tq"

static pid_t spawn_worker(const char *name, int conc, int timeout_ms, int tries)
{
    char port[16], c[16], t[16], m[16];
    snprintf(port, sizeof(port), "%d", g_srv.port);
    snprintf(c, sizeof(c), "%d", conc);
    snprintf(t, sizeof(t), "%d", timeout_ms);
    snprintf(m, sizeof(m), "%d", tries);
    char *argv[] = {
        (char *)QUEUE_WORKER, port, (char *)Q, (char *)name, c, t, m, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, QUEUE_WORKER, NULL, NULL, argv, environ),
                     0);
    return pid;
}

/* Signals the worker and waits: returns its exit status (or 128+sig). */
static int stop_worker(pid_t pid, int sig)
{
    kill(pid, sig);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static cio_redis_sync *g_rc;

static long long rint_cmd(const char *const *av)
{
    cio_redis_reply *r;
    int e = cio_redis_sync_command(g_rc, argc_of(av), av, NULL, &r);
    assert_int_equal(e, 0);
    long long v = cio_redis_reply_integer(r);
    if (cio_redis_reply_type_of(r) == CIO_REDIS_REPLY_STRING)
        v = atoll(cio_redis_reply_str(r, NULL));
    cio_redis_reply_free(r);
    return v;
}

static cio_redis_executor *new_ex(const char *name)
{
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = Q;
    o.name = name;
    cio_redis_executor *ex;
    assert_int_equal(cio_redis_executor_new("127.0.0.1", g_srv.port, &o, &ex),
                     0);
    return ex;
}

static void setup_all(void)
{
    srv_start(NULL);
    assert_int_equal(cio_redis_sync_new("127.0.0.1", g_srv.port, NULL, &g_rc),
                     0);
}

static void teardown_all(void)
{
    cio_redis_sync_free(g_rc);
    g_rc = NULL;
    tu_redis_stop(&g_srv);
}

static const cio_redis_job_result *result_of(cio_cfuture *cf)
{
    void *res = NULL;
    int e = cio_cfuture_result(cf, 20 * CIO_SEC, &res);
    if (e != 0)
        fprintf(stderr, "job failed: %s (%s)\n", cio_strerror(e),
                cio_cfuture_error_message(cf) ? cio_cfuture_error_message(cf)
                                              : "");
    assert_int_equal(e, 0);
    return res;
}

/* ---- submit, map, as_completed ---------------------------------------- */

static void submit_map_as_completed(void **state)
{
    (void)state;
    setup_all();
    pid_t w = spawn_worker("w1", 4, 2000, 3);
    cio_redis_executor *ex = new_ex("sub1");

    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "a\0b", 3, &cf), 0);
    const cio_redis_job_result *res = result_of(cf);
    assert_int_equal(res->len, 3);
    assert_memory_equal(res->data, "a\0b", 3);
    assert_int_equal(res->runs, 1);
    assert_string_equal(res->worker, "w1");
    cio_cfuture_release(cf);

    enum {
        N = 20
    };
    char bufs[N][8];
    cio_bytes ins[N];
    for (int i = 0; i < N; i++) {
        ins[i].len = (size_t)snprintf(bufs[i], sizeof(bufs[i]), "%d", i);
        ins[i].data = bufs[i];
    }
    cio_cfuture *fs[N];
    assert_int_equal(cio_redis_executor_map(ex, "square", ins, N, fs), 0);
    for (int i = 0; i < N; i++) { /* map: argument order */
        res = result_of(fs[i]);
        char want[16];
        snprintf(want, sizeof(want), "%d", i * i);
        assert_int_equal(res->len, strlen(want));
        assert_memory_equal(res->data, want, res->len);
    }
    /* as_completed over sleeps of decreasing length: shortest first. */
    const char *ms[3] = {"600", "300", "10"};
    cio_cfuture *sl[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_redis_executor_submit(ex, "sleep", ms[i],
                                                   strlen(ms[i]), &sl[i]),
                         0);
    cio_cfuture_iter *it;
    assert_int_equal(cio_cfuture_as_completed_new(sl, 3, 10 * CIO_SEC, &it), 0);
    cio_cfuture *got[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_cfuture_as_completed_next(it, &got[i]), 1);
    cio_cfuture *end;
    assert_int_equal(cio_cfuture_as_completed_next(it, &end), 0);
    assert_ptr_equal(got[0], sl[2]);
    assert_ptr_equal(got[2], sl[0]);
    cio_cfuture_as_completed_free(it);
    for (int i = 0; i < 3; i++)
        cio_cfuture_release(sl[i]);
    for (int i = 0; i < N; i++)
        cio_cfuture_release(fs[i]);

    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), N + 4);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":jobs")), 0);
    /* Results, done markers and run counters expire (result_ttl: the
     * default hour), so nothing the queue writes stays for ever. */
    long long ttl = rint_cmd(ARGV("PTTL", Q ":results:sub1"));
    assert_true(ttl > 0 && ttl <= 3600 * 1000);
    ttl = rint_cmd(ARGV("PTTL", Q ":done:sub1:0"));
    assert_true(ttl > 0 && ttl <= 3600 * 1000);
    ttl = rint_cmd(ARGV("PTTL", Q ":runs:sub1:0"));
    assert_true(ttl > 0 && ttl <= 3600 * 1000);
    /* The heartbeat names the worker. */
    assert_int_equal(rint_cmd(ARGV("HEXISTS", Q ":workers", "w1")), 1);

    /* Shut down: new submissions are refused. */
    assert_int_equal(cio_redis_executor_shutdown(ex, 1, 0), 0);
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "x", 1, NULL),
                     -ESHUTDOWN);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    /* A drained worker removes its heartbeat. */
    assert_int_equal(rint_cmd(ARGV("HEXISTS", Q ":workers", "w1")), 0);
    teardown_all();
}

/* ---- kill -9 a worker mid-job ----------------------------------------- */

static void kill9_worker_mid_job(void **state)
{
    (void)state;
    setup_all();
    /* job_timeout 1 s, so jobs idle for 1.5 s are taken over. */
    pid_t a = spawn_worker("wa", 2, 1000, 3);
    cio_redis_executor *ex = new_ex("sub2");
    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "sleep", "700", 3, &cf), 0);
    /* Wait until wa has started the job (its run counted), then kill
     * it. */
    for (int i = 0; i < 2000 && rint_cmd(ARGV("GET", Q ":runs:sub2:0")) != 1;
         i++)
        usleep(1000);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":runs:sub2:0")), 1);
    assert_int_equal(stop_worker(a, SIGKILL), 128 + SIGKILL);
    assert_false(cio_cfuture_done(cf));

    pid_t b = spawn_worker("wb", 2, 1000, 3);
    const cio_redis_job_result *res = result_of(cf);
    assert_int_equal(res->len, 5);
    assert_memory_equal(res->data, "slept", 5);
    assert_int_equal(res->runs, 2);         /* visible as a re-run */
    assert_string_equal(res->worker, "wb"); /* on the other worker */
    cio_cfuture_release(cf);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 1);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(b, SIGTERM), 0);
    teardown_all();
}

/* Runs cio-queue against the test's server; its stdout into out. */
static void tool(const char *what, char *out, size_t cap)
{
    char line[512];
    snprintf(line, sizeof(line), "%s -p %d -q %s %s", QUEUE_TOOL, g_srv.port, Q,
             what);
    FILE *p = popen(line, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
}

/* ---- poison jobs -------------------------------------------------------- */

static void poison_dead_letter(void **state)
{
    (void)state;
    setup_all();
    pid_t w = spawn_worker("wp", 2, 1000, 3);
    cio_redis_executor *ex = new_ex("sub3");
    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "fail", "p", 1, &cf), 0);
    assert_int_equal(cio_cfuture_result(cf, 20 * CIO_SEC, NULL), -EIO);
    const char *msg = cio_cfuture_error_message(cf);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "dead-lettered after 3 runs on wp"));
    cio_cfuture_release(cf);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":dead")), 1);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:retried")), 2);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:dead")), 1);

    /* A job no worker knows: dead-lettered at once with -ENOENT. */
    assert_int_equal(cio_redis_executor_submit(ex, "nosuch", NULL, 0, &cf), 0);
    assert_int_equal(cio_cfuture_result(cf, 20 * CIO_SEC, NULL), -ENOENT);
    cio_cfuture_release(cf);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":dead")), 2);
    /* A job that times out every run (job_timeout 1 s). */
    assert_int_equal(cio_redis_executor_submit(ex, "sleep", "5000", 4, &cf), 0);
    assert_int_equal(cio_cfuture_result(cf, 30 * CIO_SEC, NULL), -ETIMEDOUT);
    cio_cfuture_release(cf);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":dead")), 3);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":jobs")), 0);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);

    /* The operator's tool. */
    char out[2048];
    tool("stats", out, sizeof(out));
    assert_non_null(strstr(out, "dead-letter  3\n"));
    assert_non_null(strstr(out, "retried      4\n")); /* 2 + 0 + 2 */
    assert_non_null(strstr(out, "depth        0\n"));
    tool("requeue", out, sizeof(out));
    assert_string_equal(out, "requeued 3\n");
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":dead")), 0);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":jobs")), 3);
    tool("purge", out, sizeof(out));
    assert_int_equal(rint_cmd(ARGV("EXISTS", Q ":jobs")), 0);
    assert_int_equal(rint_cmd(ARGV("EXISTS", Q ":stat:dead")), 0);
    teardown_all();
}

/* ---- retries back off ---------------------------------------------------- */

static double mono_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void retry_backoff(void **state)
{
    (void)state;
    setup_all();
    /* First retry after 300 ms, the second after 600 ms (doubling): a
     * job failing 3 times takes at least 0.9 s to be dead-lettered,
     * where runs without back-off take a few milliseconds. */
    setenv("CIO_QW_BACKOFF_MS", "300", 1);
    pid_t w = spawn_worker("wbo", 2, 1000, 3);
    unsetenv("CIO_QW_BACKOFF_MS");
    cio_redis_executor *ex = new_ex("sub11");
    /* Wait for the worker's heartbeat, so its start-up is not counted. */
    for (int i = 0;
         i < 2000 && rint_cmd(ARGV("HEXISTS", Q ":workers", "wbo")) != 1; i++)
        usleep(1000);
    cio_cfuture *cf;
    double t0 = mono_s();
    assert_int_equal(cio_redis_executor_submit(ex, "fail", "b", 1, &cf), 0);
    assert_int_equal(cio_cfuture_result(cf, 20 * CIO_SEC, NULL), -EIO);
    double took = mono_s() - t0;
    fprintf(stderr, "3 runs with back-off 300 ms: dead-lettered after %.3f s\n",
            took);
    assert_true(took >= 0.9);
    assert_non_null(
        strstr(cio_cfuture_error_message(cf), "dead-lettered after 3 runs"));
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:retried")), 2);
    cio_cfuture_release(cf);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- cancellation of a queued job --------------------------------------- */

static void cancel_queued_job(void **state)
{
    (void)state;
    setup_all();
    cio_redis_executor *ex = new_ex("sub4");
    cio_cfuture *cf, *cf2;
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "no", 2, &cf), 0);
    /* Queued, no worker yet. */
    for (int i = 0; i < 500 && rint_cmd(ARGV("XLEN", Q ":jobs")) != 1; i++)
        usleep(1000);
    /* The operator sees it waiting, not in flight, and no worker. */
    char out[1024];
    tool("stats", out, sizeof(out));
    assert_non_null(strstr(out, "depth        1\n"));
    assert_non_null(strstr(out, "in-flight    0\n"));
    assert_non_null(strstr(out, "workers      0\n"));
    assert_int_equal(cio_cfuture_cancel(cf), 1);
    assert_true(cio_cfuture_cancelled(cf));
    for (int i = 0;
         i < 500 && rint_cmd(ARGV("EXISTS", Q ":cancel:sub4:0")) != 1; i++)
        usleep(1000);
    assert_int_equal(rint_cmd(ARGV("EXISTS", Q ":cancel:sub4:0")), 1);
    pid_t w = spawn_worker("wc", 2, 1000, 3);
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "yes", 3, &cf2), 0);
    const cio_redis_job_result *res = result_of(cf2);
    assert_memory_equal(res->data, "yes", 3);
    /* The cancelled job never ran anywhere. */
    assert_int_equal(rint_cmd(ARGV("EXISTS", Q ":runs:sub4:0")), 0);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 1);
    cio_cfuture_release(cf);
    cio_cfuture_release(cf2);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- graceful drain ----------------------------------------------------- */

static void sigterm_drains(void **state)
{
    (void)state;
    setup_all();
    pid_t w = spawn_worker("wd", 2, 3000, 3);
    cio_redis_executor *ex = new_ex("sub5");
    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "sleep", "500", 3, &cf), 0);
    for (int i = 0; i < 500 && rint_cmd(ARGV("EXISTS", Q ":runs:sub5:0")) != 1;
         i++)
        usleep(2000);
    /* SIGTERM mid-job: the running job finishes, its result is sent, the
     * worker exits 0. */
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    assert_true(cio_cfuture_done(cf));
    const cio_redis_job_result *res = result_of(cf);
    assert_int_equal(res->runs, 1);
    cio_cfuture_release(cf);
    cio_redis_executor_free(ex);
    teardown_all();
}

/* ---- several workers and submitters ------------------------------------- */

#define NSUB 3
#define NJOBS 150

static void *submitter(void *arg)
{
    int id = (int)(intptr_t)arg;
    char name[16];
    snprintf(name, sizeof(name), "ms%d", id);
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = Q;
    o.name = name;
    cio_redis_executor *ex;
    if (cio_redis_executor_new("127.0.0.1", g_srv.port, &o, &ex) < 0)
        return (void *)1;
    cio_cfuture *fs[NJOBS];
    char bufs[NJOBS][32];
    intptr_t bad = 0;
    for (int i = 0; i < NJOBS; i++) {
        int n = snprintf(bufs[i], sizeof(bufs[i]), "s%d-job%d", id, i);
        if (cio_redis_executor_submit(ex, "echo", bufs[i], (size_t)n, &fs[i]) <
            0)
            return (void *)2;
    }
    for (int i = 0; i < NJOBS; i++) {
        void *r;
        if (cio_cfuture_result(fs[i], 60 * CIO_SEC, &r) != 0)
            bad++;
        else {
            const cio_redis_job_result *res = r;
            if (res->len != strlen(bufs[i]) ||
                memcmp(res->data, bufs[i], res->len) != 0)
                bad++;
        }
        cio_cfuture_release(fs[i]);
    }
    cio_redis_executor_free(ex);
    return (void *)bad;
}

static void many_workers_and_submitters(void **state)
{
    (void)state;
    setup_all();
    pid_t w[3];
    w[0] = spawn_worker("mw0", 4, 2000, 3);
    w[1] = spawn_worker("mw1", 4, 2000, 3);
    w[2] = spawn_worker("mw2", 4, 2000, 3);
    pthread_t th[NSUB];
    for (int i = 0; i < NSUB; i++)
        assert_int_equal(
            pthread_create(&th[i], NULL, submitter, (void *)(intptr_t)i), 0);
    /* One worker drains away mid-run (once it runs: its heartbeat is
     * there); the others finish the work. */
    for (int i = 0;
         i < 2000 && rint_cmd(ARGV("HEXISTS", Q ":workers", "mw2")) != 1; i++)
        usleep(1000);
    assert_int_equal(stop_worker(w[2], SIGTERM), 0);
    for (int i = 0; i < NSUB; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        assert_int_equal((intptr_t)bad, 0);
    }
    /* Every job accounted for exactly once: one result each (checked per
     * future above) and one done marker each. */
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), NSUB * NJOBS);
    cio_redis_reply *r;
    assert_int_equal(
        cio_redis_sync_command(g_rc, 2, ARGV("KEYS", Q ":done:*"), NULL, &r),
        0);
    assert_int_equal(cio_redis_reply_len(r), NSUB * NJOBS);
    cio_redis_reply_free(r);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":dead")), 0);
    assert_int_equal(stop_worker(w[0], SIGTERM), 0);
    assert_int_equal(stop_worker(w[1], SIGTERM), 0);
    teardown_all();
}

/* ---- Redis restarted mid-run (AOF): no job lost ------------------------- */

static void redis_restart_aof(void **state)
{
    (void)state;
    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.aof = 1;
    srv_start(&so);
    assert_int_equal(cio_redis_sync_new("127.0.0.1", g_srv.port, NULL, &g_rc),
                     0);
    cio_redis_executor *ex = new_ex("sub6");
    enum {
        NJ = 60
    };
    cio_cfuture *fs[NJ];
    for (int i = 0; i < NJ; i++)
        assert_int_equal(
            cio_redis_executor_submit(ex, "sleep", "20", 2, &fs[i]), 0);
    /* Every job is in the (fsynced) stream before any worker runs. */
    for (int i = 0; i < 2000 && rint_cmd(ARGV("XLEN", Q ":jobs")) != NJ; i++)
        usleep(1000);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":jobs")), NJ);
    pid_t w = spawn_worker("wr", 4, 1000, 5);
    for (int i = 0; i < 5000 && rint_cmd(ARGV("GET", Q ":stat:done")) < 10; i++)
        usleep(1000);
    /* kill -9 Redis mid-run, with jobs in flight, and bring it back. */
    assert_int_equal(tu_redis_kill(&g_srv, SIGKILL), 0);
    usleep(100000);
    assert_int_equal(tu_redis_restart(&g_srv), 0);
    int errors = 0, reruns = 0;
    for (int i = 0; i < NJ; i++) {
        void *r;
        int e = cio_cfuture_result(fs[i], 30 * CIO_SEC, &r);
        if (e != 0) {
            fprintf(stderr, "job %d: %s\n", i, cio_strerror(e));
            errors++;
        } else if (((const cio_redis_job_result *)r)->runs > 1) {
            reruns++;
        }
        cio_cfuture_release(fs[i]);
    }
    assert_int_equal(errors, 0);
    fprintf(stderr, "%d of %d jobs re-run after the restart\n", reruns, NJ);
    /* Counted exactly once each, across the crash. */
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), NJ);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- blocking jobs: thread pool, process pool ---------------------------- */

static long long wait_int(const char *const *av, long long want)
{
    long long v = 0;
    for (int i = 0; i < 5000 && (v = rint_cmd(av)) != want; i++)
        usleep(2000);
    return v;
}

static void blocking_jobs(void **state)
{
    (void)state;
    setup_all();
    pid_t w = spawn_worker("wbl", 4, 8000, 1);
    cio_redis_executor *ex = new_ex("sub7");

    /* A thread job blocks its thread for 3 s. While it does, a coroutine
     * job submitted after it is fetched, run and answered by the same
     * worker: the worker's loop is not stalled. */
    cio_cfuture *blk, *quick;
    assert_int_equal(cio_redis_executor_submit(ex, "block", "3000", 4, &blk),
                     0);
    assert_int_equal(wait_int(ARGV("GET", Q ":runs:sub7:0"), 1), 1);
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "hi", 2, &quick),
                     0);
    const cio_redis_job_result *res = result_of(quick);
    assert_memory_equal(res->data, "hi", 2);
    assert_string_equal(res->worker, "wbl");
    assert_false(cio_cfuture_done(blk)); /* still blocking its thread */
    res = result_of(blk);
    assert_int_equal(res->len, 7);
    assert_memory_equal(res->data, "blocked", 7);
    assert_string_equal(res->worker, "wbl");

    /* A process job runs in another process than the worker's loop. */
    cio_cfuture *mine, *other;
    assert_int_equal(cio_redis_executor_submit(ex, "pid", NULL, 0, &mine), 0);
    assert_int_equal(cio_redis_executor_submit(ex, "ppid", NULL, 0, &other),
                     0);
    const cio_redis_job_result *a = result_of(mine), *b = result_of(other);
    char pa[32], pb[32];
    snprintf(pa, sizeof(pa), "%.*s", (int)a->len, (const char *)a->data);
    snprintf(pb, sizeof(pb), "%.*s", (int)b->len, (const char *)b->data);
    assert_int_equal(atoi(pa), (int)w); /* coroutine job: the worker */
    assert_true(atoi(pb) > 0);
    assert_int_not_equal(atoi(pb), (int)w); /* process job: a pool child */
    assert_string_equal(b->worker, "wbl");
    cio_cfuture_release(blk);
    cio_cfuture_release(quick);
    cio_cfuture_release(mine);
    cio_cfuture_release(other);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);

    /* A thread job past its timeout fails with -ETIMEDOUT (max_tries 1:
     * dead-lettered at once) while its thread runs on; the worker still
     * answers and drains. */
    w = spawn_worker("wbt", 2, 1000, 1);
    ex = new_ex("sub8");
    cio_cfuture *slow;
    assert_int_equal(cio_redis_executor_submit(ex, "block", "2500", 4, &slow),
                     0);
    assert_int_equal(cio_cfuture_result(slow, 20 * CIO_SEC, NULL),
                     -ETIMEDOUT);
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "ok", 2, &quick),
                     0);
    res = result_of(quick);
    assert_memory_equal(res->data, "ok", 2);
    cio_cfuture_release(slow);
    cio_cfuture_release(quick);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- result memory: records released ------------------------------------ */

static void results_released(void **state)
{
    (void)state;
    setup_all();
    pid_t w = spawn_worker("wr", 4, 5000, 3);
    cio_redis_executor *ex = new_ex("sub9");
    enum {
        N = 200
    };
    cio_cfuture *fs[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(cio_redis_executor_submit(ex, "echo", "x", 1, &fs[i]),
                         0);
    assert_int_equal(cio_redis_executor_records(ex), N);
    char id[64];
    assert_true(cio_redis_executor_job_id(ex, fs[7], id, sizeof(id)) > 0);
    assert_string_equal(id, "sub9:7");
    assert_int_equal(cio_redis_executor_job_id(ex, fs[7], id, 4), -ENOSPC);
    for (int i = 0; i < N; i++) {
        const cio_redis_job_result *res = result_of(fs[i]);
        assert_memory_equal(res->data, "x", 1);
        /* Read: let it go. The future stays valid, the result does not. */
        assert_int_equal(cio_redis_executor_release(ex, fs[i]), 0);
        assert_true(cio_cfuture_done(fs[i]));
    }
    assert_int_equal(cio_redis_executor_records(ex), 0);
    assert_int_equal(cio_redis_executor_release(ex, fs[0]), -ENOENT);
    assert_int_equal(cio_redis_executor_job_id(ex, fs[0], id, sizeof(id)),
                     -ENOENT);
    assert_int_equal(cio_redis_executor_release(NULL, fs[0]), -EINVAL);
    for (int i = 0; i < N; i++)
        cio_cfuture_release(fs[i]);

    /* Fire-and-forget jobs release themselves once done. */
    for (int i = 0; i < N; i++)
        assert_int_equal(cio_redis_executor_submit(ex, "echo", "y", 1, NULL),
                         0);
    assert_int_equal(wait_int(ARGV("GET", Q ":stat:done"), 2 * N), 2 * N);
    for (int i = 0; i < 5000 && cio_redis_executor_records(ex) != 0; i++)
        usleep(2000);
    assert_int_equal(cio_redis_executor_records(ex), 0);

    /* Releasing a job not done yet cancels it: started, it is recorded as
     * cancelled on the worker, never done. */
    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "sleep", "3000", 4, &cf),
                     0);
    char runs[128];
    assert_true(cio_redis_executor_job_id(ex, cf, id, sizeof(id)) > 0);
    snprintf(runs, sizeof(runs), Q ":runs:%s", id);
    assert_int_equal(wait_int(ARGV("GET", runs), 1), 1); /* running */
    assert_int_equal(cio_redis_executor_release(ex, cf), 0);
    assert_true(cio_cfuture_cancelled(cf));
    assert_int_equal(cio_redis_executor_records(ex), 0);
    assert_int_equal(wait_int(ARGV("GET", Q ":stat:cancelled"), 1), 1);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 2 * N);
    cio_cfuture_release(cf);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- remote cancellation of a running job -------------------------------- */

/* Whether the last entry of a result stream has msg containing want. */
static int last_result_says(const char *stream, const char *want)
{
    cio_redis_reply *r;
    const char *const *av = ARGV("XREVRANGE", stream, "+", "-", "COUNT", "1");
    assert_int_equal(cio_redis_sync_command(g_rc, argc_of(av), av, NULL, &r),
                     0);
    const cio_redis_reply *f =
        cio_redis_reply_at(cio_redis_reply_at(r, 0), 1);
    int found = 0;
    for (size_t i = 0; i + 1 < cio_redis_reply_len(f); i += 2) {
        const char *k = cio_redis_reply_str(cio_redis_reply_at(f, i), NULL);
        const char *v =
            cio_redis_reply_str(cio_redis_reply_at(f, i + 1), NULL);
        if (k && v && strcmp(k, "msg") == 0 && strstr(v, want))
            found = 1;
    }
    cio_redis_reply_free(r);
    return found;
}

static void cancel_running_job(void **state)
{
    (void)state;
    setup_all();
    pid_t w = spawn_worker("wx", 2, 20000, 3);
    cio_redis_executor *ex = new_ex("sub10");

    /* Cancelled by another process: the operator's tool. */
    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "sleep", "15000", 5, &cf),
                     0);
    char id[64], cmd[128], out[512];
    assert_true(cio_redis_executor_job_id(ex, cf, id, sizeof(id)) > 0);
    char runs[128];
    snprintf(runs, sizeof(runs), Q ":runs:%s", id);
    assert_int_equal(wait_int(ARGV("GET", runs), 1), 1); /* running */
    /* The operator sees it in flight (not waiting) and the worker's
     * heartbeat. */
    tool("stats", out, sizeof(out));
    assert_non_null(strstr(out, "depth        0\n"));
    assert_non_null(strstr(out, "in-flight    1\n"));
    assert_non_null(strstr(out, "workers      1\n"));
    assert_non_null(strstr(out, "  wx "));
    assert_non_null(strstr(out, " heartbeat "));
    snprintf(cmd, sizeof(cmd), "cancel %s", id);
    tool(cmd, out, sizeof(out));
    if (!strstr(out, "(1 workers notified)")) /* say why if it fails */
        fprintf(stderr, "cio-queue said: %s\n", out);
    assert_non_null(strstr(out, "(1 workers notified)"));
    /* The job's task was cancelled on the worker: its run failed with
     * -ECANCELED (a sleep left alone would have succeeded) and the worker
     * recorded it; the outcome reached the submitter (its future is
     * cancelled) and the statistics. */
    int rc = cio_cfuture_result(cf, 10 * CIO_SEC, NULL);
    if (rc != -ECANCELED)
        fprintf(stderr, "cancelled job: %s (%s)\n", cio_strerror(rc),
                cio_cfuture_error_message(cf) ? cio_cfuture_error_message(cf)
                                              : "");
    assert_int_equal(rc, -ECANCELED);
    assert_true(cio_cfuture_cancelled(cf));
    assert_true(last_result_says(Q ":results:sub10",
                                 "cancelled while running on wx"));
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:cancelled")), 1);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 0);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":dead")), 0);
    assert_int_equal(rint_cmd(ARGV("XLEN", Q ":jobs")), 0);
    assert_int_equal(rint_cmd(ARGV("GET", runs)), 1); /* not retried */
    cio_cfuture_release(cf);

    /* Cancelled by the submitter itself while running (a thread job: the
     * task gives up, the thread finishes on its own). */
    assert_int_equal(cio_redis_executor_submit(ex, "block", "2000", 4, &cf),
                     0);
    assert_true(cio_redis_executor_job_id(ex, cf, id, sizeof(id)) > 0);
    snprintf(runs, sizeof(runs), Q ":runs:%s", id);
    assert_int_equal(wait_int(ARGV("GET", runs), 1), 1);
    assert_int_equal(cio_cfuture_cancel(cf), 1);
    assert_int_equal(wait_int(ARGV("GET", Q ":stat:cancelled"), 2), 2);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 0);
    cio_cfuture_release(cf);

    /* The worker goes on: a normal job still completes. */
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "z", 1, &cf), 0);
    assert_memory_equal(result_of(cf)->data, "z", 1);
    cio_cfuture_release(cf);
    tool("stats", out, sizeof(out));
    assert_non_null(strstr(out, "cancelled    2\n"));
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- the whole queue over TLS ----------------------------------------- */

/* The executor, a worker process and the sync client all on the server's
 * TLS port (cio_redis_queue_opts.redis.tls), verified against its CA. */
static void queue_over_tls(void **state)
{
    (void)state;
    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.tls = 1;
    srv_start(&so);
    char ca[300];
    tu_redis_path(&g_srv, "ca.pem", ca, sizeof(ca));
    cio_tls_ctx *ctx;
    assert_int_equal(cio_tls_ctx_new(&ctx, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(ctx, ca, NULL), 0);
    cio_redis_opts ro = CIO_REDIS_OPTS_INIT;
    ro.tls = ctx;
    assert_int_equal(
        cio_redis_sync_new("127.0.0.1", g_srv.tls_port, &ro, &g_rc), 0);

    char port[16];
    snprintf(port, sizeof(port), "%d", g_srv.tls_port);
    char *argv[] = {(char *)QUEUE_WORKER, port, (char *)Q, (char *)"tw",
                    (char *)"2", (char *)"2000", (char *)"3", ca, NULL};
    pid_t w;
    assert_int_equal(posix_spawn(&w, QUEUE_WORKER, NULL, NULL, argv, environ),
                     0);
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = Q;
    o.name = "tlssub";
    o.redis.tls = ctx;
    cio_redis_executor *ex;
    assert_int_equal(
        cio_redis_executor_new("127.0.0.1", g_srv.tls_port, &o, &ex), 0);
    cio_tls_ctx_free(ctx); /* the executor and the sync client keep theirs */

    cio_cfuture *cf;
    assert_int_equal(cio_redis_executor_submit(ex, "echo", "t\0s", 3, &cf), 0);
    const cio_redis_job_result *res = result_of(cf);
    assert_int_equal(res->len, 3);
    assert_memory_equal(res->data, "t\0s", 3);
    assert_string_equal(res->worker, "tw");
    cio_cfuture_release(cf);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 1);
    assert_int_equal(cio_redis_executor_shutdown(ex, 1, 0), 0);
    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
}

/* ---- two "hosts": a worker in another network namespace ---------------- */

static char g_ns[32], g_va[16];

static int sh(const char *cmd)
{
    char line[512];
    snprintf(line, sizeof(line), "%s >/dev/null 2>&1", cmd);
    int st = system(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void netns_cleanup(void)
{
    char cmd[128];
    if (g_va[0]) {
        snprintf(cmd, sizeof(cmd), "ip link del %s", g_va);
        sh(cmd);
        g_va[0] = '\0';
    }
    if (g_ns[0]) {
        snprintf(cmd, sizeof(cmd), "ip netns del %s", g_ns);
        sh(cmd);
        g_ns[0] = '\0';
    }
}

/* A second "host": a network namespace joined to this one by a veth pair
 * (a /30 of 10.0.0.0/8 derived from the pid, so concurrent runs do not
 * collide). Redis listens on this side's address too; the worker runs in
 * the namespace (ip netns exec) and reaches Redis only through the veth;
 * the submitter uses 127.0.0.1. Skipped (not failed) where namespaces
 * cannot be made (not root, no ip, a sandbox that refuses). */
/* Skipped, not passed: exit 77 (CTest's skip), after cleaning up. */
static void netns_skip(const char *why)
{
    fprintf(stderr, "two_hosts_netns skipped: %s\n", why);
    netns_cleanup();
    exit(77);
}

static void two_hosts_netns(void **state)
{
    (void)state;
    unsigned id = (unsigned)getpid();
    char a[32], b[32], cmd[256];
    snprintf(a, sizeof(a), "10.%u.%u.%u", 100 + ((id >> 14) & 127),
             (id >> 6) & 255, (id & 63) * 4 + 1);
    snprintf(b, sizeof(b), "10.%u.%u.%u", 100 + ((id >> 14) & 127),
             (id >> 6) & 255, (id & 63) * 4 + 2);
    snprintf(g_ns, sizeof(g_ns), "cioq%u", id);
    char vb[16];
    snprintf(g_va, sizeof(g_va), "cqa%u", id % 100000000u);
    snprintf(vb, sizeof(vb), "cqb%u", id % 100000000u);
    if (geteuid() != 0 || sh("ip -V") != 0) {
        g_ns[0] = g_va[0] = '\0';
        netns_skip("not root, or no ip(8)");
    }
    snprintf(cmd, sizeof(cmd), "ip netns add %s", g_ns);
    if (sh(cmd) != 0) {
        g_ns[0] = g_va[0] = '\0';
        netns_skip("ip netns add refused");
    }
    snprintf(cmd, sizeof(cmd), "ip link add %s type veth peer name %s", g_va,
             vb);
    if (sh(cmd) != 0) {
        g_va[0] = '\0';
        netns_skip("no veth pair");
    }
    const char *steps[] = {"ip link set %2$s netns %3$s",
                           "ip addr add %4$s/30 dev %1$s",
                           "ip link set %1$s up",
                           "ip netns exec %3$s ip addr add %5$s/30 dev %2$s",
                           "ip netns exec %3$s ip link set %2$s up",
                           "ip netns exec %3$s ip link set lo up"};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        snprintf(cmd, sizeof(cmd), steps[i], g_va, vb, g_ns, a, b);
        if (sh(cmd) != 0) {
            netns_skip(cmd);
        }
    }

    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.bind_also = a;
    srv_start(&so);
    assert_int_equal(cio_redis_sync_new("127.0.0.1", g_srv.port, NULL, &g_rc),
                     0);
    char port[16];
    snprintf(port, sizeof(port), "%d", g_srv.port);
    char *argv[] = {(char *)"ip", (char *)"netns", (char *)"exec", g_ns,
                    (char *)QUEUE_WORKER, port, (char *)Q, (char *)"nsw",
                    (char *)"2", (char *)"5000", (char *)"3", NULL};
    setenv("CIO_QW_HOST", a, 1); /* the worker's way to Redis */
    pid_t w;
    int sp = posix_spawnp(&w, "ip", NULL, NULL, argv, environ);
    unsetenv("CIO_QW_HOST");
    assert_int_equal(sp, 0);
    cio_redis_executor *ex = new_ex("subns");

    cio_cfuture *fs[8];
    char in[8][16];
    for (int i = 0; i < 8; i++) {
        snprintf(in[i], sizeof(in[i]), "n%d", i);
        assert_int_equal(
            cio_redis_executor_submit(ex, "echo", in[i], strlen(in[i]), &fs[i]),
            0);
    }
    for (int i = 0; i < 8; i++) {
        const cio_redis_job_result *res = result_of(fs[i]);
        assert_int_equal(res->len, strlen(in[i]));
        assert_memory_equal(res->data, in[i], res->len);
        assert_string_equal(res->worker, "nsw");
        cio_cfuture_release(fs[i]);
    }
    /* The worker's connections come from the namespace's address: it
     * reached Redis over the veth, not over a loopback. */
    cio_redis_reply *r;
    const char *cl[] = {"CLIENT", "LIST", NULL};
    assert_int_equal(cio_redis_sync_command(g_rc, 2, cl, NULL, &r), 0);
    char want[48];
    snprintf(want, sizeof(want), "addr=%s:", b);
    const char *list = cio_redis_reply_str(r, NULL);
    assert_non_null(list);
    assert_non_null(strstr(list, want));
    cio_redis_reply_free(r);
    assert_int_equal(rint_cmd(ARGV("GET", Q ":stat:done")), 8);

    cio_redis_executor_free(ex);
    assert_int_equal(stop_worker(w, SIGTERM), 0);
    teardown_all();
    netns_cleanup();
}

static int netns_teardown(void **state)
{
    (void)state;
    netns_cleanup();
    return 0;
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(submit_map_as_completed),
    cmocka_unit_test(kill9_worker_mid_job),
    cmocka_unit_test(poison_dead_letter),
    cmocka_unit_test(retry_backoff),
    cmocka_unit_test(cancel_queued_job),
    cmocka_unit_test(sigterm_drains),
    cmocka_unit_test(many_workers_and_submitters),
    cmocka_unit_test(redis_restart_aof),
    cmocka_unit_test(blocking_jobs),
    cmocka_unit_test(results_released),
    cmocka_unit_test(cancel_running_job),
    cmocka_unit_test(queue_over_tls),
    cmocka_unit_test_teardown(two_hosts_netns, netns_teardown),
};

CIO_TEST_MAIN(tests)
