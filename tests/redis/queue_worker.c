/*
 * queue_worker.c - a worker process for the queue tests (and a sample of
 * what a user's worker program looks like): registers its functions and
 * runs cio_redis_worker_run until SIGTERM.
 *
 * Usage: queue_worker PORT QUEUE NAME CONCURRENCY JOB_TIMEOUT_MS
 *                     MAX_TRIES [TLS_CA_FILE]
 * With TLS_CA_FILE, PORT is a TLS port and the server's certificate is
 * verified against that CA (cio_redis_queue_opts.redis.tls).
 * Functions: echo (returns its input), sleep (input: milliseconds, as
 * text; returns "slept"), square (input: an integer as text), fail
 * (always -EIO), pid (this process's pid, as text). Blocking ones:
 * block (a thread job: blocks the thread for the given milliseconds
 * with nanosleep; returns "blocked"), ppid (a process job: the pid of
 * the pool process that ran it).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "cio/redis.h"

static int echo(const void *in, size_t len, cio_bytes *out)
{
    out->data = malloc(len ? len : 1);
    if (!out->data)
        return -ENOMEM;
    memcpy(out->data, in, len);
    out->len = len;
    return 0;
}

static int sleep_fn(const void *in, size_t len, cio_bytes *out)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31),
             (const char *)in);
    int r = cio_sleep(atoll(buf) * CIO_MS);
    if (r < 0)
        return r;
    out->data = strdup("slept");
    out->len = 5;
    return 0;
}

static int square(const void *in, size_t len, cio_bytes *out)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31),
             (const char *)in);
    long long v = atoll(buf);
    out->data = malloc(32);
    if (!out->data)
        return -ENOMEM;
    out->len = (size_t)snprintf(out->data, 32, "%lld", v * v);
    return 0;
}

static int fail(const void *in, size_t len, cio_bytes *out)
{
    (void)in, (void)len, (void)out;
    return -EIO;
}

static long long num_arg(const void *in, size_t len)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.*s", (int)(len < 31 ? len : 31),
             (const char *)in);
    return atoll(buf);
}

static int pid_fn(const void *in, size_t len, cio_bytes *out)
{
    (void)in, (void)len;
    out->data = malloc(24);
    if (!out->data)
        return -ENOMEM;
    out->len = (size_t)snprintf(out->data, 24, "%d", (int)getpid());
    return 0;
}

/* Runs in a pool thread: a real blocking call, no cio function. */
static int block(const void *in, size_t len, cio_bytes *out)
{
    long long ms = num_arg(in, len);
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    out->data = strdup("blocked");
    out->len = 7;
    return out->data ? 0 : -ENOMEM;
}

/* Runs in a pool process. */
static int ppid(const void *in, size_t in_len, void *out, size_t *out_len)
{
    (void)in, (void)in_len;
    int n = snprintf(out, *out_len, "%d", (int)getpid());
    if (n < 0 || (size_t)n >= *out_len)
        return -EMSGSIZE;
    *out_len = (size_t)n;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7 && argc != 8) {
        fprintf(stderr,
                "usage: %s PORT QUEUE NAME CONCURRENCY "
                "JOB_TIMEOUT_MS MAX_TRIES [TLS_CA_FILE]\n",
                argv[0]);
        return 2;
    }
    /* A test that fails must not leave workers behind. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        return 1;
    cio_redis_job_register("echo", echo);
    cio_redis_job_register("sleep", sleep_fn);
    cio_redis_job_register("square", square);
    cio_redis_job_register("fail", fail);
    cio_redis_job_register("pid", pid_fn);
    cio_redis_job_register_thread("block", block);
    if (cio_redis_job_register_process("ppid", ppid) < 0)
        return 1;
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = argv[2];
    o.name = argv[3];
    o.concurrency = (unsigned)atoi(argv[4]);
    o.job_timeout = atoll(argv[5]) * CIO_MS;
    o.max_tries = (unsigned)atoi(argv[6]);
    o.retry_backoff = 10 * CIO_MS;
    /* A test of the retry back-off asks for a longer first delay. */
    if (getenv("CIO_QW_BACKOFF_MS"))
        o.retry_backoff = atoll(getenv("CIO_QW_BACKOFF_MS")) * CIO_MS;
    o.claim_idle = o.job_timeout + 500 * CIO_MS; /* the shortest allowed */
    if (argc == 8) {
        if (cio_tls_ctx_new(&o.redis.tls, CIO_TLS_CLIENT) < 0 ||
            cio_tls_ctx_load_verify(o.redis.tls, argv[7], NULL) < 0)
            return 1;
    }
    /* The server's address: 127.0.0.1 unless the test runs this worker
     * in another network namespace. */
    const char *host = getenv("CIO_QW_HOST") ? getenv("CIO_QW_HOST")
                                              : "127.0.0.1";
    int r = cio_redis_worker_run(host, atoi(argv[1]), &o);
    cio_tls_ctx_free(o.redis.tls);
    if (r < 0)
        fprintf(stderr, "worker %s: %s\n", argv[3], cio_strerror(r));
    return r < 0 ? 1 : 0;
}
