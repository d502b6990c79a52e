/*
 * s18d_thread_pool_fetch.c - MISSION S18 with S11: the note's thread-pool
 * snippet made real. A cio server answers `/?s=N` after sleeping N seconds
 * (cio_sleep in the handler: the worker's loop keeps serving meanwhile),
 * and jobs of cio's thread pool fetch from it with a plain blocking
 * HTTP/1.1 request over a socket (a tiny client local to this example).
 *
 *   1. executor.map(load_url, ["/?s=1", "/?s=2"]): results in argument
 *      order; both fetches run at once, so it takes ~2 s, not 3.
 *   2. submit + as_completed: /?s=2 submitted first, /?s=1 done first.
 *
 * The jobs run in the after_server_start callback (on the thread that
 * called cio_http_run, while the server's worker serves), which then
 * stops the server.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s18d_thread_pool_fetch.c -o s18d_thread_pool_fetch \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* sockets, clock_gettime... under -std=c11 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cio.h>

#include "cio/http.h"

static int port;

/* GET /?s=N: sleeps N seconds (0..5) on the loop, then answers. */
static int slow(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    const char *s = cio_http_request_arg(req, "s", 0, NULL);
    int n = s ? atoi(s) : 0;
    if (n < 0 || n > 5)
        return cio_http_response_text(res, 400, "s must be 0..5\n");
    int r = cio_sleep((int64_t)n * CIO_SEC);
    if (r < 0)
        return r;
    char text[64];
    snprintf(text, sizeof(text), "page after %d s", n);
    return cio_http_response_text(res, 200, text);
}

/* A blocking HTTP/1.1 GET with Connection: close; the body (after the
 * blank line) into out. Returns 0 or -1. */
static int fetch(const char *target, char *out, size_t cap)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char buf[4096];
    int n = snprintf(buf, sizeof(buf),
                     "GET %s HTTP/1.1\r\nHost: localhost\r\n"
                     "Connection: close\r\n\r\n", target);
    size_t len = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        write(fd, buf, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    ssize_t g;
    while (len < sizeof(buf) - 1 &&
           (g = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)g;
    close(fd);
    buf[len] = '\0';
    const char *body = strstr(buf, "\r\n\r\n");
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !body)
        return -1;
    snprintf(out, cap, "%s", body + 4);
    return 0;
}

typedef struct url_job {
    const char *url;
    char page[128];
} url_job;

static int load_url(void *arg, void **result)
{
    url_job *j = arg;
    if (fetch(j->url, j->page, sizeof(j->page)) < 0)
        return -EIO;
    printf("load %s successful\n", j->url);
    fflush(stdout);
    *result = j->page;
    return 0;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void after_start(cio_http_app *app, int p, void *arg)
{
    (void)arg;
    port = p;
    cio_thread_pool *pool;
    cio_thread_pool_opts o = CIO_THREAD_POOL_OPTS_INIT;
    o.max_workers = 2;
    if (cio_thread_pool_new(&pool, &o) < 0) {
        cio_http_app_stop(app);
        return;
    }
    /* 1. map: argument order, the fetches overlap. */
    url_job urls[2] = {{"/?s=1", ""}, {"/?s=2", ""}};
    void *args[2] = {&urls[0], &urls[1]};
    void *pages[2];
    double t0 = now();
    int r = cio_thread_pool_map(pool, load_url, args, 2, 10 * CIO_SEC, pages,
                                NULL);
    if (r == 0)
        printf("map: ['%s', '%s'] in %.1f s (1 s + 2 s overlapped)\n",
               (char *)pages[0], (char *)pages[1], now() - t0);
    else
        printf("map failed: %s\n", cio_strerror(r));

    /* 2. submit + as_completed: the 1 s page first. */
    url_job jobs[2] = {{"/?s=2", ""}, {"/?s=1", ""}};
    cio_cfuture *fs[2];
    for (int i = 0; i < 2; i++)
        if (cio_thread_pool_submit(pool, load_url, &jobs[i], &fs[i]) < 0)
            fs[i] = NULL;
    cio_cfuture_iter *it;
    if (fs[0] && fs[1] && cio_cfuture_as_completed_new(fs, 2, 10 * CIO_SEC,
                                                        &it) == 0) {
        cio_cfuture *f;
        while (cio_cfuture_as_completed_next(it, &f) == 1) {
            void *data;
            int e = cio_cfuture_result(f, 0, &data);
            printf("url: %s -> %s\n", f == fs[0] ? jobs[0].url : jobs[1].url,
                   e == 0 ? (char *)data : cio_strerror(e));
        }
        cio_cfuture_as_completed_free(it);
    }
    for (int i = 0; i < 2; i++)
        if (fs[i])
            cio_cfuture_release(fs[i]);
    cio_thread_pool_free(pool);
    printf("All tasks has been finished\n");
    cio_http_app_stop(app);
}

int main(void)
{
    cio_http_app *app;
    int r = cio_http_app_new(&app, "slow");
    if (r == 0)
        r = cio_http_route(app, "/", slow, NULL, CIO_HTTP_GET);
    if (r == 0)
        cio_http_app_on_start(app, after_start, NULL);
    if (r == 0)
        r = cio_http_run(app, "127.0.0.1", 0, 1);
    if (r < 0)
        fprintf(stderr, "s18d_thread_pool_fetch: %s\n", cio_strerror(r));
    cio_http_app_free(app);
    return r < 0;
}
