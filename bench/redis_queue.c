/*
 * redis_queue.c - the queue figure: empty jobs per second end to end
 * (submit -> worker -> result back in the submitter's future) on cio's
 * distributed executor, with 1 and with 2 worker processes (this program
 * run as "worker", concurrency WORKER_N = 64 each), against a
 * redis-server started here (unpinned, by
 * tests/redis/support/redis_server.c).
 *
 * In the same run, on the same server:
 *  - the engine's ceiling for the same commands: one hiredis connection
 *    (blocking, C) sends exactly the commands a job costs in cio's
 *    protocol, batched as cio's worker batches them at its best (a batch
 *    is what one XREADGROUP takes: up to the worker's concurrency, 64
 *    here): one EVAL of the submitter's script queueing the 256 jobs
 *    of a round trip (256 XADDs, the submitter's SEND_MAX); per batch
 *    of 64 one XREADGROUP COUNT 64, one EVALSHA of the starting script
 *    and one of the finishing script (loaded as the worker loads them,
 *    64 jobs each); the submitter's XREAD of the results. 256 jobs'
 *    commands per round trip, so the client costs next to nothing and
 *    the server's single thread is the limit;
 *  - RQ (bench/peers/rq_queue.py, Debian python3-rq) with 1 and 2
 *    workers: rq.SimpleWorker (no fork per job, RQ's fastest) for the
 *    ratio, and RQ's default forking Worker for information;
 *  - Celery (bench/peers/celery_queue.py, Debian python3-celery) with 1
 *    and 2 workers (--pool solo), Redis as broker and result backend.
 *
 * Prints: redis_queue_jobs_per_s_1w, _2w, redis_queue_ceiling_jobs_per_s,
 * rq_simple_jobs_per_s_1w, _2w, rq_fork_jobs_per_s_1w,
 * celery_jobs_per_s_1w, _2w (each with a
 * _ns_per_job cost line for bench/run's ratios).
 */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "cio/redis.h"
#include "queue_int.h"
#include "redis_server.h"

extern char **environ;

#define NJOBS 20000
/* Each worker process's concurrency (jobs run at once on its loop), for
 * 1 and 2 workers alike; the ceiling batches its worker commands by the
 * same number (WBATCH). 64 since design.md §42 (was 16). */
#define WORKER_N 64

static int noop(const void *in, size_t len, cio_bytes *out)
{
    (void)in, (void)len;
    out->data = NULL;
    out->len = 0;
    return 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU time (user + system, seconds) pid has used so far. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* after the command name */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static pid_t run(char **argv)
{
    pid_t pid = -1;
    posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    return pid;
}

/* One cio round; *srv_us: the server's CPU per job (microseconds);
 * *cli_us: the submitter's and the workers' CPU per job. */
static double round_jobs_per_s(int port, const char *queue, int workers,
                               pid_t srv, double *srv_us, double *cli_us)
{
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = queue;
    cio_redis_executor *ex;
    if (cio_redis_executor_new("127.0.0.1", port, &o, &ex) < 0)
        return -1;
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    pid_t w[2];
    for (int i = 0; i < workers; i++) {
        char *av[] = {"/proc/self/exe", "worker", p, (char *)queue, NULL};
        w[i] = run(av);
    }
    /* Warm-up: one job through each worker's start-up. */
    cio_cfuture *f;
    cio_redis_executor_submit(ex, "noop", NULL, 0, &f);
    cio_cfuture_result(f, 30 * CIO_SEC, NULL);
    cio_cfuture_release(f);

    static cio_cfuture *fs[NJOBS];
    double t0 = now_s(), c0 = cpu_s(srv), k0 = cpu_s(getpid());
    for (int i = 0; i < workers; i++)
        k0 += cpu_s(w[i]);
    int bad = 0;
    for (int i = 0; i < NJOBS; i++)
        if (cio_redis_executor_submit(ex, "noop", NULL, 0, &fs[i]) < 0)
            bad++, fs[i] = NULL;
    for (int i = 0; i < NJOBS; i++) {
        if (fs[i] && cio_cfuture_result(fs[i], 60 * CIO_SEC, NULL) != 0)
            bad++;
        cio_cfuture_release(fs[i]);
    }
    double dt = now_s() - t0;
    *srv_us = (cpu_s(srv) - c0) / NJOBS * 1e6;
    double k1 = cpu_s(getpid());
    for (int i = 0; i < workers; i++)
        k1 += cpu_s(w[i]);
    *cli_us = (k1 - k0) / NJOBS * 1e6;
    cio_redis_executor_free(ex);
    for (int i = 0; i < workers; i++) {
        kill(w[i], SIGTERM);
        waitpid(w[i], NULL, 0);
    }
    return bad ? -1 : NJOBS / dt;
}

/* The engine's ceiling: the commands of CEIL_BATCH jobs per round trip,
 * taken by the "worker" in batches of WBATCH (its concurrency: the most
 * one XREADGROUP takes), as cio's worker sends them. */
#define CEIL_JOBS 38400
#define CEIL_BATCH 256
#define WBATCH WORKER_N

static int drain(redisContext *c, int n)
{
    for (int i = 0; i < n; i++) {
        void *r;
        if (redisGetReply(c, &r) != REDIS_OK)
            return -1;
        int bad = ((redisReply *)r)->type == REDIS_REPLY_ERROR;
        if (bad)
            fprintf(stderr, "ceiling: %s\n", ((redisReply *)r)->str);
        freeReplyObject(r);
        if (bad)
            return -1;
    }
    return 0;
}

/* Returns: jobs per second of server CPU (the server's single thread
 * doing nothing else); *wall: jobs per second of this run's wall time
 * (information: it includes this client's round trips). */
static double ceiling_jobs_per_s(int port, pid_t srv, double *wall)
{
    redisContext *c = redisConnect("127.0.0.1", port);
    if (!c || c->err)
        return -1;
    const char *jobs = "bc:jobs", *res = "bc:results:s";
    redisReply *r = redisCommand(c, "XGROUP CREATE %s workers 0 MKSTREAM",
                                 jobs);
    freeReplyObject(r);
    /* The worker's two scripts, loaded as the worker loads them. */
    char sha_start[48] = "", sha_finish[48] = "";
    r = redisCommand(c, "SCRIPT LOAD %s", cio__queue_start_lua);
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(sha_start, sizeof(sha_start), "%s", r->str);
    freeReplyObject(r);
    r = redisCommand(c, "SCRIPT LOAD %s", cio__queue_finish_lua);
    if (r && r->type == REDIS_REPLY_STRING)
        snprintf(sha_finish, sizeof(sha_finish), "%s", r->str);
    freeReplyObject(r);
    if (!sha_start[0] || !sha_finish[0])
        return -1;
    /* argv of one script run for WBATCH jobs: at most 11 + 12 * WBATCH. */
    enum { AMAX = 11 + 12 * WBATCH };
    static char keys[3 * WBATCH][64];
    const char *av[AMAX];
    size_t lens[AMAX];
    double t0 = now_s(), c0 = cpu_s(srv);
    for (int b = 0; b < CEIL_JOBS; b += CEIL_BATCH) {
        /* The submitter's script: CEIL_BATCH XADDs in one EVAL. */
        static const char *sav[5 + 3 * CEIL_BATCH];
        static size_t slens[5 + 3 * CEIL_BATCH];
        char jid[CEIL_BATCH][32];
        int k = 0;
        sav[k++] = "EVAL";
        sav[k++] = cio__queue_submit_lua;
        sav[k++] = "2";
        sav[k++] = jobs;
        sav[k++] = res;
        for (int i = 0; i < CEIL_BATCH; i++) {
            snprintf(jid[i], sizeof(jid[i]), "s:%d", b + i);
            sav[k++] = jid[i];
            sav[k++] = "noop";
            sav[k++] = "";
        }
        for (int i = 0; i < k; i++)
            slens[i] = strlen(sav[i]);
        redisAppendCommandArgv(c, k, sav, slens);
        if (drain(c, 1) < 0)
            return -1;
        for (int i = 0; i < CEIL_BATCH / WBATCH; i++)
            redisAppendCommand(c, "XREADGROUP GROUP workers w COUNT %d "
                                  "STREAMS %s >",
                               WBATCH, jobs);
        /* Keep the ids the group delivered, for the finishing script. */
        char ids[CEIL_BATCH][64];
        int got = 0;
        for (int i = 0; i < CEIL_BATCH / WBATCH; i++) {
            void *v;
            if (redisGetReply(c, &v) != REDIS_OK)
                return -1;
            redisReply *x = v;
            if (x->type == REDIS_REPLY_ARRAY && x->elements == 1) {
                redisReply *ents = x->element[0]->element[1];
                for (size_t e = 0; e < ents->elements && got < CEIL_BATCH;
                     e++)
                    snprintf(ids[got++], sizeof(ids[0]), "%s",
                             ents->element[e]->element[0]->str);
            }
            freeReplyObject(v);
        }
        if (got != CEIL_BATCH)
            return -1;
        for (int g = 0; g < CEIL_BATCH; g += WBATCH) {
            /* The start script for WBATCH jobs. */
            k = 0;
            char nk[16];
            snprintf(nk, sizeof(nk), "%d", 3 * WBATCH);
            av[k++] = "EVALSHA";
            av[k++] = sha_start;
            av[k++] = nk;
            for (int i = 0; i < WBATCH; i++) {
                snprintf(keys[3 * i], 64, "bc:done:%.31s", jid[g + i]);
                snprintf(keys[3 * i + 1], 64, "bc:cancel:%.31s", jid[g + i]);
                snprintf(keys[3 * i + 2], 64, "bc:runs:%.31s", jid[g + i]);
                av[k++] = keys[3 * i];
                av[k++] = keys[3 * i + 1];
                av[k++] = keys[3 * i + 2];
            }
            av[k++] = "3600000";
            for (int i = 0; i < k; i++)
                lens[i] = strlen(av[i]);
            redisAppendCommandArgv(c, k, av, lens);
            /* The finishing script for the same WBATCH jobs. */
            char nk2[16];
            snprintf(nk2, sizeof(nk2), "%d", 5 + 2 * WBATCH);
            k = 0;
            av[k++] = "EVALSHA";
            av[k++] = sha_finish;
            av[k++] = nk2;
            av[k++] = "bc:stat:done";
            av[k++] = "bc:stat:dead";
            av[k++] = "bc:stat:cancelled";
            av[k++] = jobs;
            av[k++] = "bc:dead";
            for (int i = 0; i < WBATCH; i++) {
                av[k++] = keys[3 * i]; /* the done marker */
                av[k++] = res;
            }
            av[k++] = "3600000";
            av[k++] = "workers";
            av[k++] = "w";
            for (int i = 0; i < WBATCH; i++) {
                av[k++] = jid[g + i];
                av[k++] = "0";  /* err */
                av[k++] = "1";  /* runs */
                av[k++] = "";   /* msg */
                av[k++] = "";   /* data */
                av[k++] = ids[g + i];
                av[k++] = "0";  /* not dead */
                av[k++] = "noop";
                av[k++] = "";   /* args */
                av[k++] = "1";  /* done */
            }
            for (int i = 0; i < k; i++)
                lens[i] = strlen(av[i]);
            redisAppendCommandArgv(c, k, av, lens);
        }
        if (drain(c, 2 * (CEIL_BATCH / WBATCH)) < 0)
            return -1;
        redisAppendCommand(c, "XREAD COUNT %d STREAMS %s 0-0", CEIL_BATCH,
                           res);
        redisAppendCommand(c, "DEL %s", res);
        if (drain(c, 2) < 0)
            return -1;
    }
    double dt = now_s() - t0, cpu = cpu_s(srv) - c0;
    redisFree(c);
    *wall = CEIL_JOBS / dt;
    return cpu > 0 ? CEIL_JOBS / cpu : -1;
}

/* Runs bench/peers/celery_queue.py; returns its jobs/s or -1. */
static double celery_jobs_per_s(int port, int workers, int n)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s/celery_queue.py %d %d %d 2>/dev/null",
             getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3",
             CIO_BENCH_PEERS, port, workers, n);
    FILE *f = popen(cmd, "r");
    double v = -1;
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "celery_jobs_per_s %lf", &v) == 1)
            break;
    if (f)
        pclose(f);
    return v;
}

/* Runs bench/peers/rq_queue.py; returns its jobs/s or -1. */
static double rq_jobs_per_s(int port, int workers, int n, int simple)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s/rq_queue.py %d %d %d %s 2>/dev/null",
             getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3",
             CIO_BENCH_PEERS, port, workers, n, simple ? "--simple" : "");
    FILE *f = popen(cmd, "r");
    double v = -1;
    char line[256];
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "rq_jobs_per_s %lf", &v) == 1)
            break;
    if (f)
        pclose(f);
    return v;
}

static void print_rate(const char *name, double v)
{
    if (v <= 0) {
        fprintf(stderr, "%s not measured\n", name);
        return;
    }
    printf("%s %.1f\n", name, v);
    printf("%s_ns_per_job %.0f\n", name, 1e9 / v);
}

int main(int argc, char **argv)
{
    cio_redis_job_register("noop", noop);
    if (argc == 4 && strcmp(argv[1], "worker") == 0) {
        cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
        o.queue = argv[3];
        o.concurrency = WORKER_N;
        return cio_redis_worker_run("127.0.0.1", atoi(argv[2]), &o) < 0;
    }
    tu_redis srv;
    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.unpin = 1;
    if (tu_redis_start(&srv, &so) < 0) {
        fprintf(stderr, "redis-server did not start\n");
        return 1;
    }
    int port = srv.port;
    const char *only = getenv("REDIS_QUEUE_ONLY"); /* "cio" for a quick look */
    int peers = !only || strcmp(only, "cio") != 0;
    double s1 = 0, s2 = 0, k1 = 0, k2 = 0, wall = -1;
    double r1 = round_jobs_per_s(port, "bq1", 1, srv.pid, &s1, &k1);
    double r2 = round_jobs_per_s(port, "bq2", 2, srv.pid, &s2, &k2);
    double ceil = peers ? ceiling_jobs_per_s(port, srv.pid, &wall) : -1;
    double rq1 = peers ? rq_jobs_per_s(port, 1, 300, 1) : -1;
    double rq2 = peers ? rq_jobs_per_s(port, 2, 300, 1) : -1;
    double rqf = peers ? rq_jobs_per_s(port, 1, 20, 0) : -1;
    double ce1 = peers ? celery_jobs_per_s(port, 1, 300) : -1;
    double ce2 = peers ? celery_jobs_per_s(port, 2, 300) : -1;
    tu_redis_stop(&srv);
    if (r1 <= 0 || r2 <= 0) {
        fprintf(stderr, "queue round failed\n");
        return 1;
    }
    print_rate("redis_queue_jobs_per_s_1w", r1);
    print_rate("redis_queue_jobs_per_s_2w", r2);
    print_rate("redis_queue_ceiling_jobs_per_s", ceil);
    /* Information: the server's CPU per job in each round, and the
     * ceiling replay's own wall-clock rate. */
    printf("redis_queue_server_us_per_job_1w %.1f\n", s1);
    printf("redis_queue_server_us_per_job_2w %.1f\n", s2);
    printf("redis_queue_client_us_per_job_1w %.1f\n", k1);
    printf("redis_queue_client_us_per_job_2w %.1f\n", k2);
    if (ceil > 0)
        printf("redis_queue_ceiling_server_us_per_job %.1f\n", 1e6 / ceil);
    print_rate("redis_queue_ceiling_wall_jobs_per_s", wall);
    print_rate("rq_simple_jobs_per_s_1w", rq1);
    print_rate("rq_simple_jobs_per_s_2w", rq2);
    print_rate("rq_fork_jobs_per_s_1w", rqf);
    print_rate("celery_jobs_per_s_1w", ce1);
    print_rate("celery_jobs_per_s_2w", ce2);
    return 0;
}
