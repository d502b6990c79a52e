/*
 * s09b_redis_executor.c - MISSION S9 done right: the same kind of work as
 * s09_redis_queue.c, on cio's distributed executor. Jobs are named
 * functions, arguments and results are bytes, two worker processes (this
 * program run as "worker") each run up to 4 jobs at once on their loops,
 * the submitter gets concurrent futures (map: results in order), and the
 * operator's tool prints the queue's statistics at the end. The workers
 * are stopped with SIGTERM (a graceful drain). A blocking job (it calls
 * usleep, as legacy code does) is registered with
 * cio_redis_job_register_thread, so it runs in the worker's thread pool
 * and never stalls the worker's loop; each result is released once read
 * (cio_redis_executor_release), so the submitter's memory stays bounded.
 *
 * Starts its own redis-server on a free port in a temporary directory.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s09b_redis_executor.c -o s09b_redis_executor \
 *         $(pkg-config --cflags --libs cio-redis)
 */
/* cio-test: timeout=60 */
#define _DEFAULT_SOURCE /* mkdtemp, usleep, kill... under -std=c11 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cio/redis.h>

extern char **environ;

/* The job: await asyncio.sleep(0.2); return x * x (as text). */
static int slow_square(const void *in, size_t len, cio_bytes *out)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31),
             (const char *)in);
    int r = cio_sleep(200 * CIO_MS);
    if (r < 0)
        return r;
    long x = atol(buf);
    out->data = malloc(32);
    if (!out->data)
        return -ENOMEM;
    out->len = (size_t)snprintf(out->data, 32, "%ld", x * x);
    return 0;
}

/* A blocking job: usleep stands for a legacy blocking call. Runs in a
 * thread of the worker's pool. Returns the input reversed. */
static int blocking_reverse(const void *in, size_t len, cio_bytes *out)
{
    usleep(300 * 1000);
    out->data = malloc(len ? len : 1);
    if (!out->data)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++)
        ((char *)out->data)[i] = ((const char *)in)[len - 1 - i];
    out->len = len;
    return 0;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static pid_t run(char **argv)
{
    pid_t pid = -1;
    posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
    return pid;
}

int main(int argc, char **argv)
{
    cio_redis_job_register("slow_square", slow_square);
    cio_redis_job_register_thread("blocking_reverse", blocking_reverse);
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = "s09b";
    if (argc == 4 && strcmp(argv[1], "worker") == 0) {
        o.name = argv[3];
        o.concurrency = 4;
        return cio_redis_worker_run("127.0.0.1", atoi(argv[2]), &o) < 0;
    }

    char dir[] = "/tmp/cio-s09b.XXXXXX", port[16];
    int p = free_port();
    snprintf(port, sizeof(port), "%d", p);
    if (!mkdtemp(dir))
        return 1;
    char *srv[] = {"redis-server", "--port", port,     "--bind", "127.0.0.1",
                   "--dir",        dir,      "--save", "",       "--logfile",
                   "/dev/null",    NULL};
    pid_t server = run(srv);

    cio_redis_executor *ex = NULL;
    for (int i = 0; i < 100 && !ex; i++)
        if (cio_redis_executor_new("127.0.0.1", p, &o, &ex) < 0)
            usleep(20000);
    if (!ex)
        return 1;
    char *w1[] = {"/proc/self/exe", "worker", port, "worker-1", NULL};
    char *w2[] = {"/proc/self/exe", "worker", port, "worker-2", NULL};
    pid_t workers[2] = {run(w1), run(w2)};

    enum {
        N = 12
    };
    char args[N][8];
    cio_bytes ins[N];
    for (int i = 0; i < N; i++) {
        ins[i].len = (size_t)snprintf(args[i], sizeof(args[i]), "%d", i);
        ins[i].data = args[i];
    }
    cio_cfuture *fs[N];
    int failed = cio_redis_executor_map(ex, "slow_square", ins, N, fs) < 0;
    for (int i = 0; i < N && !failed; i++) {
        void *r;
        if (cio_cfuture_result(fs[i], 20 * CIO_SEC, &r) != 0) {
            failed = 1;
            break;
        }
        const cio_redis_job_result *res = r;
        printf("slow_square(%2d) = %-4.*s on %s\n", i, (int)res->len,
               (const char *)res->data, res->worker);
    }
    for (int i = 0; i < N; i++) {
        cio_redis_executor_release(ex, fs[i]); /* result read: let it go */
        cio_cfuture_release(fs[i]);
    }
    /* Blocking jobs: four at once, in the workers' thread pools. */
    const char *words[4] = {"loop", "redis", "thread", "pool"};
    cio_cfuture *bs[4];
    for (int i = 0; i < 4; i++)
        if (cio_redis_executor_submit(ex, "blocking_reverse", words[i],
                                      strlen(words[i]), &bs[i]) < 0)
            failed = 1, bs[i] = NULL;
    for (int i = 0; i < 4; i++) {
        void *r;
        if (!bs[i] || cio_cfuture_result(bs[i], 20 * CIO_SEC, &r) != 0) {
            failed = 1;
        } else {
            const cio_redis_job_result *res = r;
            printf("blocking_reverse(%s) = %.*s on %s\n", words[i],
                   (int)res->len, (const char *)res->data, res->worker);
            cio_redis_executor_release(ex, bs[i]);
        }
        cio_cfuture_release(bs[i]);
    }
    printf("job records still held by the submitter: %zu\n",
           cio_redis_executor_records(ex));
    cio_redis_executor_free(ex);

#ifdef CIO_QUEUE_TOOL
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s -p %d -q s09b stats", CIO_QUEUE_TOOL, p);
    printf("$ cio-queue -q s09b stats\n");
    fflush(stdout);
    if (system(cmd) != 0)
        failed = 1;
#endif
    for (int i = 0; i < 2; i++) { /* SIGTERM: finish running jobs, exit */
        int st;
        kill(workers[i], SIGTERM);
        waitpid(workers[i], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            failed = 1;
    }
    kill(server, SIGTERM);
    waitpid(server, NULL, 0);
    rmdir(dir);
    printf("%s\n", failed ? "FAILED" : "all jobs done on 2 worker processes");
    return failed;
}
