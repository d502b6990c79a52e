/*
 * cio-queue - the operator's tool for a cio::redis work queue.
 *
 *   cio-queue [-H host] [-p port] [-a password] [-q queue] COMMAND
 *     stats    depth (jobs waiting), in flight (taken by a worker, not
 *              finished), done / retried / dead-lettered counts,
 *              dead-letter stream length, workers and their heartbeats
 *     requeue  moves every dead-lettered job back to the queue (its run
 *              count and done marker reset)
 *     purge    deletes the queue's jobs, dead letters and statistics
 *     cancel JOB
 *              cancels one job by id (as cio_redis_queue_cancel): a worker
 *              running it stops it, one that has not started it skips it
 *
 * Uses only the public blocking client (cio_redis_sync) and the key
 * layout documented in cio/redis.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cio/redis.h"

static cio_redis_sync *rc;
static char q[256];

static int cmd(cio_redis_reply **r, int argc, const char **av,
               const size_t *lens)
{
    int e = cio_redis_sync_command(rc, argc, av, lens, r);
    if (e < 0 && e != CIO_EREDIS_NOGROUP) {
        size_t n = 0;
        const char *m = r && *r ? cio_redis_reply_str(*r, &n) : NULL;
        fprintf(stderr, "cio-queue: %s: %s%s%.*s\n", av[0], cio_strerror(e),
                m ? ": " : "", (int)n, m ? m : "");
    }
    return e;
}

static long long num(const char *c, const char *key)
{
    const char *av[2] = {c, key};
    cio_redis_reply *r;
    long long v = 0;
    if (cmd(&r, 2, av, NULL) == 0) {
        if (cio_redis_reply_type_of(r) == CIO_REDIS_REPLY_STRING)
            v = atoll(cio_redis_reply_str(r, NULL));
        else
            v = cio_redis_reply_integer(r);
    }
    cio_redis_reply_free(r);
    return v;
}

static const char *key(char *buf, const char *suffix)
{
    snprintf(buf, 512, "%s:%s", q, suffix);
    return buf;
}

static int stats(void)
{
    char k[512];
    printf("queue        %s\n", q);
    /* A delivered job stays in the stream until its outcome is recorded
     * (XACK and XDEL together), so the stream's length counts the
     * in-flight jobs too: depth is what waits, length minus pending. */
    long long len = num("XLEN", key(k, "jobs"));
    const char *av[3] = {"XPENDING", key(k, "jobs"), "workers"};
    cio_redis_reply *r;
    long long inflight = 0;
    if (cio_redis_sync_command(rc, 3, av, NULL, &r) == 0)
        inflight = cio_redis_reply_integer(cio_redis_reply_at(r, 0));
    cio_redis_reply_free(r);
    printf("depth        %lld\n", len > inflight ? len - inflight : 0);
    printf("in-flight    %lld\n", inflight);
    printf("done         %lld\n", num("GET", key(k, "stat:done")));
    printf("retried      %lld\n", num("GET", key(k, "stat:retried")));
    printf("dead         %lld\n", num("GET", key(k, "stat:dead")));
    printf("cancelled    %lld\n", num("GET", key(k, "stat:cancelled")));
    printf("dead-letter  %lld\n", num("XLEN", key(k, "dead")));
    const char *hv[2] = {"HGETALL", key(k, "workers")};
    if (cmd(&r, 2, hv, NULL) == 0) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        long long now = (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
        size_t n = cio_redis_reply_len(r) / 2;
        printf("workers      %zu\n", n);
        for (size_t i = 0; i < n; i++) {
            const char *name =
                cio_redis_reply_str(cio_redis_reply_at(r, 2 * i), NULL);
            long long hb = atoll(
                cio_redis_reply_str(cio_redis_reply_at(r, 2 * i + 1), NULL));
            printf("  %-32s heartbeat %.1f s ago\n", name,
                   (double)(now - hb) / 1000.0);
        }
    }
    cio_redis_reply_free(r);
    return 0;
}

static const cio_redis_reply *field(const cio_redis_reply *f, const char *n,
                                    size_t *len)
{
    for (size_t i = 0; i + 1 < cio_redis_reply_len(f); i += 2) {
        const char *s = cio_redis_reply_str(cio_redis_reply_at(f, i), NULL);
        if (s && strcmp(s, n) == 0) {
            const cio_redis_reply *v = cio_redis_reply_at(f, i + 1);
            cio_redis_reply_str(v, len);
            return v;
        }
    }
    *len = 0;
    return NULL;
}

static int requeue(void)
{
    char dk[512], jk[512];
    key(dk, "dead");
    key(jk, "jobs");
    long moved = 0;
    for (;;) {
        const char *av[6] = {"XRANGE", dk, "-", "+", "COUNT", "100"};
        cio_redis_reply *r;
        if (cmd(&r, 6, av, NULL) < 0)
            return 1;
        size_t n = cio_redis_reply_len(r);
        for (size_t i = 0; i < n; i++) {
            const cio_redis_reply *e = cio_redis_reply_at(r, i);
            const char *id =
                cio_redis_reply_str(cio_redis_reply_at(e, 0), NULL);
            const cio_redis_reply *f = cio_redis_reply_at(e, 1);
            const char *names[4] = {"job", "fn", "args", "reply"};
            const char *xa[11] = {"XADD", jk, "*"};
            size_t xl[11] = {4, strlen(jk), 1};
            for (int k = 0; k < 4; k++) {
                size_t len;
                const cio_redis_reply *v = field(f, names[k], &len);
                const char *s = cio_redis_reply_str(v, NULL);
                xa[3 + 2 * k] = names[k];
                xl[3 + 2 * k] = strlen(names[k]);
                xa[4 + 2 * k] = s ? s : "";
                xl[4 + 2 * k] = len;
            }
            char runs[600], done[600];
            snprintf(runs, sizeof(runs), "%s:runs:%.*s", q, (int)xl[4], xa[4]);
            snprintf(done, sizeof(done), "%s:done:%.*s", q, (int)xl[4], xa[4]);
            const char *del[3] = {"DEL", runs, done};
            const char *xd[3] = {"XDEL", dk, id};
            if (cmd(NULL, 3, del, NULL) < 0 || cmd(NULL, 11, xa, xl) < 0 ||
                cmd(NULL, 3, xd, NULL) < 0) {
                cio_redis_reply_free(r);
                return 1;
            }
            moved++;
        }
        cio_redis_reply_free(r);
        if (n == 0)
            break;
    }
    printf("requeued %ld\n", moved);
    return 0;
}

/* The same two steps as cio_redis_queue_cancel: the marker (1 hour),
 * then the announcement. */
static int cancel(const char *job)
{
    char k[512], chan[512];
    if (strlen(job) > 200)
        return 2;
    snprintf(k, sizeof(k), "%s:cancel:%.200s", q, job);
    key(chan, "cancel");
    const char *set[5] = {"SET", k, "1", "PX", "3600000"};
    const char *pub[3] = {"PUBLISH", chan, job};
    cio_redis_reply *r;
    if (cmd(NULL, 5, set, NULL) < 0 || cmd(&r, 3, pub, NULL) < 0)
        return 1;
    printf("cancelled %s (%lld workers notified)\n", job,
           cio_redis_reply_integer(r));
    cio_redis_reply_free(r);
    return 0;
}

static int purge(void)
{
    char k[7][512];
    const char *av[8] = {"DEL",
                         key(k[6], "stat:cancelled"),
                         key(k[0], "jobs"),
                         key(k[1], "dead"),
                         key(k[2], "stat:done"),
                         key(k[3], "stat:retried"),
                         key(k[4], "stat:dead"),
                         key(k[5], "workers")};
    cio_redis_reply *r;
    if (cmd(&r, 8, av, NULL) < 0)
        return 1;
    printf("purged %lld keys\n", cio_redis_reply_integer(r));
    cio_redis_reply_free(r);
    /* Running workers recreate the consumer group on their next read. */
    return 0;
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1", *queue = "cioq";
    int port = 6379, opt;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.max_retries = 1;
    while ((opt = getopt(argc, argv, "H:p:a:q:")) != -1) {
        switch (opt) {
        case 'H':
            host = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'a':
            o.password = optarg;
            break;
        case 'q':
            queue = optarg;
            break;
        default:
            goto usage;
        }
    }
    int nargs = argc - optind;
    int is_cancel = nargs == 2 && strcmp(argv[optind], "cancel") == 0;
    if (nargs != 1 && !is_cancel)
        goto usage;
    snprintf(q, sizeof(q), "%s", queue);
    if (cio_redis_sync_new(host, port, &o, &rc) < 0)
        return 1;
    const char *ping[1] = {"PING"};
    if (cmd(NULL, 1, ping, NULL) < 0) {
        cio_redis_sync_free(rc);
        return 1;
    }
    int r;
    if (is_cancel)
        r = cancel(argv[optind + 1]);
    else if (strcmp(argv[optind], "stats") == 0)
        r = stats();
    else if (strcmp(argv[optind], "requeue") == 0)
        r = requeue();
    else if (strcmp(argv[optind], "purge") == 0)
        r = purge();
    else {
        cio_redis_sync_free(rc);
        goto usage;
    }
    cio_redis_sync_free(rc);
    return r;
usage:
    fprintf(stderr, "usage: cio-queue [-H host] [-p port] [-a password] "
                    "[-q queue] stats|requeue|purge|cancel JOB\n");
    return 2;
}
