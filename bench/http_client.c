/*
 * http_client.c - cio's HTTP client under keep-alive load: `conns` tasks
 * (default 50) share one cio_http_session (limit = conns) and each loops
 * GET http://127.0.0.1:PORT/ reading the whole body, against any HTTP/1.1
 * keep-alive server (bench/run uses the c-epoll server of the shared
 * harness, pinned to another CPU). After a warm-up it measures the
 * client's own CPU time (getrusage: user + system) over `requests`
 * requests and prints
 *     http_client_cpu_ns_per_req <ns>    client CPU per request
 *     http_client_req_per_cpu_s <n>      requests per second of client CPU
 * Every body is checked to be "Hello, World!"; a wrong one is an error.
 *
 * Usage: http_client --port P [--conns 50] [--requests 200000]
 *                    [--warmup 20000]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench_util.h"
#include "cio/http.h"

static int port, conns = 50;
static long requests = 200000, warmup = 20000;
static long issued, done_count;
static cio_http_session *session;
static char url[64];
static int failed;

static int64_t cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * CIO_SEC +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static int worker(void *arg, void **res)
{
    long *limit = arg;
    (void)res;
    while (issued < *limit && !failed) {
        issued++;
        cio_http_client_response *r;
        int e = cio_http_session_request(session, "GET", url, NULL, &r);
        if (e < 0) {
            fprintf(stderr, "http_client: %s\n", cio_strerror(e));
            failed = 1;
            return e;
        }
        const char *body;
        size_t n;
        e = cio_http_client_response_read(r, 0, &body, &n);
        if (e < 0 || n != 13 || memcmp(body, "Hello, World!", 13) != 0) {
            fprintf(stderr, "http_client: bad body (%s)\n",
                    e < 0 ? cio_strerror(e) : "content");
            cio_http_client_response_free(r);
            failed = 1;
            return e < 0 ? e : -EPROTO;
        }
        cio_http_client_response_free(r);
        done_count++;
    }
    return 0;
}

static int run_batch(long count)
{
    long limit = issued + count;
    cio_task **t = calloc((size_t)conns, sizeof(*t));
    if (!t)
        return -ENOMEM;
    for (int i = 0; i < conns; i++)
        if (cio_task_create(cio_get_running_loop(), CIO_CORO(worker, &limit),
                            NULL, &t[i]) < 0)
            return -ENOMEM;
    int rc = 0;
    for (int i = 0; i < conns; i++) {
        int e = cio_await(t[i], NULL);
        if (e < 0)
            rc = e;
        cio_future_release(t[i]);
    }
    free(t);
    return rc;
}

static int main_task(void *arg, void **res)
{
    (void)arg, (void)res;
    cio_http_session_opts o = CIO_HTTP_SESSION_OPTS_INIT;
    o.limit = conns;
    int e = cio_http_session_new(&session, cio_get_running_loop(), &o);
    if (e < 0)
        return e;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    e = run_batch(warmup);
    if (e == 0) {
        long before = done_count;
        int64_t c0 = cpu_ns(), w0 = bench_now_ns();
        e = run_batch(requests);
        int64_t c1 = cpu_ns(), w1 = bench_now_ns();
        long n = done_count - before;
        if (e == 0 && n > 0) {
            double per = (double)(c1 - c0) / (double)n;
            printf("http_client_cpu_ns_per_req %.1f\n", per);
            printf("http_client_req_per_cpu_s %.0f\n", 1e9 / per);
            printf("http_client_req_per_s %.0f\n",
                   (double)n * 1e9 / (double)(w1 - w0));
        }
    }
    long opened;
    cio_http_session_stats(session, &opened, NULL);
    if (opened > conns) {
        fprintf(stderr, "http_client: %ld connections opened for %d\n", opened,
                conns);
        e = -EPROTO;
    }
    cio_http_session_close(session);
    return e;
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--conns"))
            conns = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--requests"))
            requests = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--warmup"))
            warmup = atol(argv[i + 1]);
    }
    if (port <= 0 || conns <= 0 || requests <= 0 || warmup < 0) {
        fprintf(stderr, "usage: http_client --port P [--conns 50] "
                        "[--requests N] [--warmup N]\n");
        return 2;
    }
    int e = cio_run(main_task, NULL, NULL);
    if (e < 0) {
        fprintf(stderr, "http_client: %s\n", cio_strerror(e));
        return 1;
    }
    return 0;
}
