/*
 * s19_load_url.c - MISSION S19: the note's ThreadPoolExecutor snippet made
 * real with cio's HTTP client instead of threads. A cio server on the same
 * loop answers `/?s=N` after N tenths of a second (short delays, so the
 * demo runs in about a second), and load_url fetches through one
 * cio_http_session (keep-alive pool) as tasks:
 *
 *   1. executor.map(load_url, URLS): results in argument order; the
 *      fetches overlap, so it takes ~0.4 s, not 0.6 s.
 *   2. submit + as_completed: the /?s=4 task is created first, the /?s=2
 *      one completes first, and each is printed as it completes.
 *
 *     URLS = ['http://localhost?s=2', 'http://localhost?s=4']
 *     def load_url(url, timeout=60):
 *         with urllib.request.urlopen(url, timeout=timeout) as conn:
 *             print(url, 'finished!')
 *             return conn.read()
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s19_load_url.c -o s19_load_url \
 *         $(pkg-config --cflags --libs cio-http)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cio.h>

#include "cio/http.h"

/* GET /?s=N: sleeps N tenths of a second on the loop, then answers. */
static int slow(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    const char *s = cio_http_request_arg(req, "s", 0, NULL);
    int n = s ? atoi(s) : 0;
    if (n < 0 || n > 50)
        return cio_http_response_text(res, 400, "s must be 0..50\n");
    int r = cio_sleep((int64_t)n * 100 * CIO_MS);
    if (r < 0)
        return r;
    char text[64];
    snprintf(text, sizeof(text), "page after %d00 ms", n);
    return cio_http_response_text(res, 200, text);
}

static cio_http_session *session;

typedef struct job {
    char url[128];
    char page[128];
} job;

/* load_url(url, timeout=60): one GET through the session's pool. */
static int load_url(void *arg, void **result)
{
    job *j = arg;
    cio_http_request_opts o = {0};
    o.timeout.total = 60 * CIO_SEC;
    cio_http_client_response *r;
    int e = cio_http_session_request(session, "GET", j->url, &o, &r);
    if (e < 0)
        return e;
    const char *text = cio_http_client_response_text(r, &e);
    if (text)
        snprintf(j->page, sizeof(j->page), "%s", text);
    cio_http_client_response_free(r);
    if (e < 0)
        return e;
    printf("%s finished!\n", j->url);
    *result = j;
    return 0;
}

static int demo(int port)
{
    cio_loop *loop = cio_get_running_loop();
    int r = cio_http_session_new(&session, loop, NULL);
    if (r < 0)
        return r;
    job jobs[2];
    snprintf(jobs[0].url, sizeof(jobs[0].url), "http://localhost:%d/?s=2",
             port);
    snprintf(jobs[1].url, sizeof(jobs[1].url), "http://localhost:%d/?s=4",
             port);

    /* 1. executor.map: every fetch starts now; results in URL order. */
    int64_t t0 = cio_loop_time(loop);
    cio_task *tasks[2];
    for (int i = 0; i < 2; i++)
        if ((r = cio_task_create(loop, CIO_CORO(load_url, &jobs[i]), NULL,
                                 &tasks[i])) < 0)
            return r;
    for (int i = 0; i < 2; i++) {
        void *done;
        int e = cio_await(tasks[i], &done);
        printf("map[%d]: %s\n", i,
               e == 0 ? ((job *)done)->page : cio_strerror(e));
        cio_future_release(tasks[i]);
    }
    printf("map took %.1f s (0.2 s and 0.4 s overlapped)\n",
           (double)(cio_loop_time(loop) - t0) / 1e9);

    /* 2. submit + as_completed: /?s=4 submitted first, /?s=2 done first. */
    job rev[2] = {jobs[1], jobs[0]};
    cio_awaitable aw[2] = {CIO_AW_CORO(load_url, &rev[0]),
                           CIO_AW_CORO(load_url, &rev[1])};
    cio_as_completed *ac;
    if ((r = cio_as_completed_new(loop, aw, 2, 10 * CIO_SEC, &ac)) < 0)
        return r;
    cio_future *f;
    while ((r = cio_as_completed_next(ac, &f)) == 1) {
        void *done;
        int e = cio_future_result(f, &done);
        if (e == 0)
            printf("url: %s\ndata: %s\n", ((job *)done)->url,
                   ((job *)done)->page);
        else
            printf("failed: %s\n", cio_strerror(e));
        cio_future_release(f);
    }
    cio_as_completed_free(ac);

    long opened;
    cio_http_session_stats(session, &opened, NULL);
    printf("All tasks has been finished (%ld connections for 4 fetches: "
           "two ran at once)\n",
           opened);
    cio_http_session_close(session);
    return r;
}

static int main_task(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_http_app *app;
    int r = cio_http_app_new(&app, "slow");
    if (r == 0)
        r = cio_http_route(app, "/", slow, NULL, CIO_HTTP_GET);
    cio_http_server *srv = NULL;
    if (r == 0)
        r = cio_http_server_start(app, "127.0.0.1", 0, &srv);
    if (r == 0) {
        r = demo(cio_http_server_port(srv));
        cio_http_server_close(srv);
    }
    cio_http_app_free(app);
    return r;
}

int main(void)
{
    int r = cio_run(main_task, NULL, NULL);
    if (r < 0)
        fprintf(stderr, "s19_load_url: %s\n", cio_strerror(r));
    return r < 0;
}
