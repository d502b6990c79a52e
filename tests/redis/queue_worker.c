/*
 * queue_worker.c - a worker process for the queue tests (and a sample of
 * what a user's worker program looks like): registers its functions and
 * runs cio_redis_worker_run until SIGTERM.
 *
 * Usage: queue_worker PORT QUEUE NAME CONCURRENCY JOB_TIMEOUT_MS
 *                     MAX_TRIES
 * Functions: echo (returns its input), sleep (input: milliseconds, as
 * text; returns "slept"), square (input: an integer as text), fail
 * (always -EIO).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
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

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr,
                "usage: %s PORT QUEUE NAME CONCURRENCY "
                "JOB_TIMEOUT_MS MAX_TRIES\n",
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
    cio_redis_queue_opts o = CIO_REDIS_QUEUE_OPTS_INIT;
    o.queue = argv[2];
    o.name = argv[3];
    o.concurrency = (unsigned)atoi(argv[4]);
    o.job_timeout = atoll(argv[5]) * CIO_MS;
    o.max_tries = (unsigned)atoi(argv[6]);
    o.retry_backoff = 10 * CIO_MS;
    o.claim_idle = o.job_timeout + 500 * CIO_MS; /* the shortest allowed */
    int r = cio_redis_worker_run("127.0.0.1", atoi(argv[1]), &o);
    if (r < 0)
        fprintf(stderr, "worker %s: %s\n", argv[3], cio_redis_strerror(r));
    return r < 0 ? 1 : 0;
}
