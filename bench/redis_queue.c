/*
 * redis_queue.c - the queue figure: empty jobs per second end to end
 * (submit -> worker -> result back in the submitter's future) on cio's
 * distributed executor, with 1 and with 2 worker processes (this program
 * run as "worker", concurrency 16 each), against a redis-server started
 * here (unpinned, by tests/redis/support/redis_server.c).
 *
 * In the same run, on the same server:
 *  - the engine's ceiling for the same commands: one hiredis connection
 *    (blocking, C) sends exactly the commands a job costs in cio's
 *    protocol (XADD; XREADGROUP COUNT 1; EVALSHA of the starting script
 *    and of the finishing script, loaded as the worker loads them; the
 *    XREAD of the result), pipelined 100 jobs at a time, so the client costs next to
 *    nothing and the server's single thread is the limit;
 *  - RQ (bench/peers/rq_queue.py, Debian python3-rq) with 1 and 2
 *    workers: rq.SimpleWorker (no fork per job, RQ's fastest) for the
 *    ratio, and RQ's default forking Worker for information.
 * Celery is not measured.
 *
 * Prints: redis_queue_jobs_per_s_1w, _2w, redis_queue_ceiling_jobs_per_s,
 * rq_simple_jobs_per_s_1w, _2w, rq_fork_jobs_per_s_1w (each with a
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

#define NJOBS 5000

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

static pid_t run(char **argv)
{
    pid_t pid = -1;
    posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    return pid;
}

static double round_jobs_per_s(int port, const char *queue, int workers)
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
    double t0 = now_s();
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
    cio_redis_executor_free(ex);
    for (int i = 0; i < workers; i++) {
        kill(w[i], SIGTERM);
        waitpid(w[i], NULL, 0);
    }
    return bad ? -1 : NJOBS / dt;
}

/* The engine's ceiling: the commands of B jobs per round trip batch. */
#define CEIL_JOBS 20000
#define CEIL_BATCH 100

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

static double ceiling_jobs_per_s(int port)
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
    double t0 = now_s();
    for (int b = 0; b < CEIL_JOBS; b += CEIL_BATCH) {
        char jid[CEIL_BATCH][32];
        for (int i = 0; i < CEIL_BATCH; i++) {
            snprintf(jid[i], sizeof(jid[i]), "s:%d", b + i);
            redisAppendCommand(c, "XADD %s * job %s fn noop args %b reply %s",
                               jobs, jid[i], "", (size_t)0, res);
        }
        if (drain(c, CEIL_BATCH) < 0)
            return -1;
        for (int i = 0; i < CEIL_BATCH; i++)
            redisAppendCommand(c, "XREADGROUP GROUP workers w COUNT 1 "
                                  "STREAMS %s >",
                               jobs);
        /* Keep the ids the group delivered, for the finishing script. */
        char ids[CEIL_BATCH][64];
        for (int i = 0; i < CEIL_BATCH; i++) {
            void *v;
            if (redisGetReply(c, &v) != REDIS_OK)
                return -1;
            redisReply *x = v;
            const char *id = "0-0";
            if (x->type == REDIS_REPLY_ARRAY && x->elements == 1) {
                redisReply *ents = x->element[0]->element[1];
                if (ents->elements)
                    id = ents->element[0]->element[0]->str;
            }
            snprintf(ids[i], sizeof(ids[i]), "%s", id);
            freeReplyObject(v);
        }
        for (int i = 0; i < CEIL_BATCH; i++) {
            redisAppendCommand(c,
                               "EVALSHA %s 3 bc:done:%s bc:cancel:%s "
                               "bc:runs:%s 3600000",
                               sha_start, jid[i], jid[i], jid[i]);
            redisAppendCommand(
                c,
                "EVALSHA %s 5 bc:done:%s bc:stat:done %s %s bc:dead 3600000 %s "
                "0 1 w %b %b %s workers 0 noop %b",
                sha_finish, jid[i], res, jobs, jid[i], "", (size_t)0, "",
                (size_t)0, ids[i], "", (size_t)0);
        }
        if (drain(c, 2 * CEIL_BATCH) < 0)
            return -1;
        redisAppendCommand(c, "XREAD COUNT %d STREAMS %s 0-0", CEIL_BATCH,
                           res);
        redisAppendCommand(c, "DEL %s", res);
        if (drain(c, 2) < 0)
            return -1;
    }
    double dt = now_s() - t0;
    redisFree(c);
    return CEIL_JOBS / dt;
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
        o.concurrency = 16;
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
    double r1 = round_jobs_per_s(port, "bq1", 1);
    double r2 = round_jobs_per_s(port, "bq2", 2);
    double ceil = peers ? ceiling_jobs_per_s(port) : -1;
    double rq1 = peers ? rq_jobs_per_s(port, 1, 300, 1) : -1;
    double rq2 = peers ? rq_jobs_per_s(port, 2, 300, 1) : -1;
    double rqf = peers ? rq_jobs_per_s(port, 1, 20, 0) : -1;
    tu_redis_stop(&srv);
    if (r1 <= 0 || r2 <= 0) {
        fprintf(stderr, "queue round failed\n");
        return 1;
    }
    print_rate("redis_queue_jobs_per_s_1w", r1);
    print_rate("redis_queue_jobs_per_s_2w", r2);
    print_rate("redis_queue_ceiling_jobs_per_s", ceil);
    print_rate("rq_simple_jobs_per_s_1w", rq1);
    print_rate("rq_simple_jobs_per_s_2w", rq2);
    print_rate("rq_fork_jobs_per_s_1w", rqf);
    return 0;
}
