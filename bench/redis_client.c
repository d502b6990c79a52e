/*
 * redis_client.c - the Redis client figure: pipelined GET/SET per second
 * of client CPU, cio::redis against redis-benchmark -P 16 (C, hiredis,
 * the practical limit of the engine here), both against the same
 * redis-server started here (free port, temporary directory; or the one
 * on $REDIS_PORT).
 *
 * cio: one connection, 50 tasks each issuing SET then GET in a loop
 * (automatic pipelining: whatever the tasks issue in one loop iteration
 * goes out in one write). redis-benchmark: -c 50 -P 16 -t set,get with
 * the same request count and 3-byte values. Client CPU is user + system
 * time: getrusage(RUSAGE_SELF) around cio's run; wait4's rusage for
 * redis-benchmark. The server runs unpinned (its CPU is not counted),
 * started by tests/redis/support/redis_server.c like the tests' servers.
 *
 * redis-py: bench/peers/redis_py_client.py, the same 50-task workload on
 * redis.asyncio (20,000 SETs and GETs: Python is slow), run on the same
 * server after the two above; its CPU per command is measured by the
 * script around the run.
 *
 * Prints: redis_client_ops_per_cpu_s, redis_benchmark_ops_per_cpu_s,
 * redis_client_ratio_vs_benchmark (cio / redis-benchmark: > 1 means cio
 * needs less CPU per request), and wall-clock rates for information.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio/redis.h"
#include "redis_server.h"

#define TASKS 50
/* The value every SET writes: redis-benchmark\'s default payload (3 bytes,
 * "xxx"), so all clients move the same bytes as the -P 16 peer. */
#define VALUE "xxx"
#define N 200000 /* SETs, and as many GETs */

static int port;
static cio_redis_conn *conn;
static int failures;

static double cpu_s(const struct rusage *u)
{
    return (double)u->ru_utime.tv_sec + (double)u->ru_utime.tv_usec / 1e6 +
           (double)u->ru_stime.tv_sec + (double)u->ru_stime.tv_usec / 1e6;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int worker(void *arg, void **result)
{
    (void)result;
    long id = (long)(intptr_t)arg;
    char key[32];
    for (long i = id; i < N; i += TASKS) {
        int n = snprintf(key, sizeof(key), "key:%06ld", i % 100000);
        const char *set[3] = {"SET", key, VALUE};
        size_t sl[3] = {3, (size_t)n, sizeof(VALUE) - 1};
        if (cio_redis_conn_command(conn, 3, set, sl, NULL) != 0)
            failures++;
        const char *get[2] = {"GET", key};
        cio_redis_reply *r;
        if (cio_redis_conn_command(conn, 2, get, sl, &r) != 0)
            failures++;
        cio_redis_reply_free(r);
    }
    return 0;
}

static int bench_main(void *arg, void **result)
{
    (void)arg, (void)result;
    int e = -1;
    for (int i = 0; i < 500 && e != 0; i++) {
        e = cio_redis_conn_open("127.0.0.1", port, NULL, &conn);
        if (e != 0)
            cio_sleep(10 * CIO_MS);
    }
    if (e != 0)
        return e;
    cio_task *t[TASKS];
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.stack_size = 64 * 1024;
    for (long i = 0; i < TASKS; i++)
        cio_task_create(cio_get_running_loop(), CIO_CORO(worker, (intptr_t)i),
                        &o, &t[i]);
    for (int i = 0; i < TASKS; i++) {
        cio_await(t[i], NULL);
        cio_future_release(t[i]);
    }
    return cio_redis_conn_close(conn);
}

static pid_t spawn(char *const argv[], int unpin, int quiet)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (unpin) {
            cpu_set_t all;
            CPU_ZERO(&all);
            for (int i = 0; i < CPU_SETSIZE; i++)
                CPU_SET(i, &all);
            sched_setaffinity(0, sizeof(all), &all);
        }
        if (quiet) {
            FILE *f = freopen("/dev/null", "w", stdout);
            (void)f;
        }
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

int main(void)
{
    tu_redis srv = {0};
    const char *env = getenv("REDIS_PORT");
    if (env) {
        port = atoi(env);
    } else {
        tu_redis_opts so = TU_REDIS_OPTS_INIT;
        so.unpin = 1; /* this process is pinned; the engine is not */
        if (tu_redis_start(&srv, &so) < 0) {
            fprintf(stderr, "redis-server did not start\n");
            return 1;
        }
        port = srv.port;
    }

    struct rusage u0, u1;
    getrusage(RUSAGE_SELF, &u0);
    double w0 = now_s();
    int r = cio_run(bench_main, NULL, NULL);
    double wall = now_s() - w0;
    getrusage(RUSAGE_SELF, &u1);
    double cio_cpu = cpu_s(&u1) - cpu_s(&u0);

    char p[16], n[16];
    snprintf(p, sizeof(p), "%d", port);
    snprintf(n, sizeof(n), "%d", N);
    char *bav[] = {"redis-benchmark",
                   "-h",
                   "127.0.0.1",
                   "-p",
                   p,
                   "-t",
                   "set,get",
                   "-n",
                   n,
                   "-P",
                   "16",
                   "-c",
                   "50",
                   "-q",
                   NULL};
    double b0 = now_s();
    pid_t b = spawn(bav, 0, 1);
    int st = 0;
    struct rusage bu;
    memset(&bu, 0, sizeof(bu));
    wait4(b, &st, 0, &bu);
    double bwall = now_s() - b0;
    double bench_cpu = cpu_s(&bu);

    /* redis-py's asyncio client on the same server (its own CPU count,
     * printed by the script). Skipped with a note if python3-redis is
     * missing. */
    double py_ns = -1;
    {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "%s %s/redis_py_client.py %d 20000 %d 2>/dev/null",
                 getenv("PYTHON") ? getenv("PYTHON") : "/usr/bin/python3",
                 CIO_BENCH_PEERS, port, TASKS);
        FILE *f = popen(cmd, "r");
        char line[256];
        while (f && fgets(line, sizeof(line), f))
            if (sscanf(line, "redis_py_cpu_ns %lf", &py_ns) == 1)
                break;
        if (f)
            pclose(f);
        if (py_ns <= 0)
            fprintf(stderr, "redis-py peer not measured (python3-redis "
                            "missing or failed)\n");
    }
    tu_redis_stop(&srv);
    if (r != 0 || failures) {
        fprintf(stderr, "cio run failed: %s, %d failed commands\n",
                cio_strerror(r), failures);
        return 1;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || bench_cpu <= 0) {
        fprintf(stderr, "redis-benchmark failed (status %d)\n", st);
        return 1;
    }
    double ops = 2.0 * N;
    printf("redis_client_ops_per_cpu_s %.0f\n", ops / cio_cpu);
    printf("redis_benchmark_ops_per_cpu_s %.0f\n", ops / bench_cpu);
    printf("redis_client_cpu_ns %.1f\n", cio_cpu * 1e9 / ops);
    printf("redis_benchmark_cpu_ns %.1f\n", bench_cpu * 1e9 / ops);
    printf("redis_client_ratio_vs_benchmark %.3f\n",
           (ops / cio_cpu) / (ops / bench_cpu));
    if (py_ns > 0) {
        printf("redis_py_cpu_ns %.1f\n", py_ns);
        printf("redis_client_ratio_vs_redis_py %.3f\n",
               py_ns / (cio_cpu * 1e9 / ops));
    }
    printf("redis_client_ops_per_s %.0f\n", ops / wall);
    printf("redis_benchmark_ops_per_s %.0f\n", ops / bwall);
    return 0;
}
