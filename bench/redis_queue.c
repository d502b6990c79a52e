/*
 * redis_queue.c - the queue figure: empty jobs per second end to end
 * (submit -> worker -> result back in the submitter's future) on cio's
 * distributed executor, with 1 and with 2 worker processes (this program
 * run as "worker", concurrency 16 each), against a redis-server started
 * here (unpinned). Prints redis_queue_jobs_per_s_1w and _2w. The
 * issue's comparisons (the engine's ceiling for the same commands, RQ,
 * Celery) are not measured here.
 */
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio/redis.h"

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

int main(int argc, char **argv)
{
    cio_redis_job_register("noop", noop);
    if (argc == 4 && strcmp(argv[1], "worker") == 0) {
        cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
        o.queue = argv[3];
        o.concurrency = 16;
        return cio_redis_worker_run("127.0.0.1", atoi(argv[2]), &o) < 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    int port = ntohs(a.sin_port);
    char dir[] = "/tmp/cio-bench-queue.XXXXXX", p[16];
    if (!mkdtemp(dir))
        return 1;
    snprintf(p, sizeof(p), "%d", port);
    char *srv[] = {"taskset", "-c",     "0-63",      "redis-server", "--port",
                   p,         "--bind", "127.0.0.1", "--dir",        dir,
                   "--save",  "",       "--logfile", "/dev/null",    NULL};
    pid_t server = run(srv);
    usleep(200000);
    double r1 = round_jobs_per_s(port, "bq1", 1);
    double r2 = round_jobs_per_s(port, "bq2", 2);
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    rmdir(dir);
    if (r1 <= 0 || r2 <= 0) {
        fprintf(stderr, "queue round failed\n");
        return 1;
    }
    printf("redis_queue_jobs_per_s_1w %.0f\n", r1);
    printf("redis_queue_jobs_per_s_2w %.0f\n", r2);
    return 0;
}
