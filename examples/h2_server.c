/*
 * h2_server.c - issue 13: an HTTP/2 server on cio::http, queried by curl.
 *
 * The app is an ordinary cio::http app (routes, handlers, a streamed
 * response); cio_http_app_http2() makes its listener speak HTTP/2 as
 * well: h2c by prior knowledge (curl --http2-prior-knowledge) and by
 * Upgrade from HTTP/1.1 (curl --http2). Each stream runs its handler in a
 * task of its own.
 *
 * So that the demo ends by itself, it listens on 127.0.0.1 and a free
 * port (or argv[1]); its after_server_start listener runs curl against
 * it, shows the answers (with the HTTP version curl used), then stops the
 * server as Ctrl-C would. Without curl it says so and stops.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic h2_server.c -o h2_server \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* popen under -std=c11 */
#include <stdio.h>
#include <stdlib.h>

#include "cio/http.h"
#include "cio/http2.h"

static int index_page(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    char out[64];
    int v = cio_http_request_version(req);
    snprintf(out, sizeof(out), "Hello over HTTP/%d.%d!\n", v / 10, v % 10);
    return cio_http_response_text(res, 200, out);
}

static int user(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    char out[128];
    snprintf(out, sizeof(out), "user %s\n",
             cio_http_request_param(req, "id", NULL));
    return cio_http_response_text(res, 200, out);
}

static int echo(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    size_t n;
    const char *body = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, body, n, "text/plain");
}

/* A streamed response: three lines, 50 ms apart (DATA frames as they
 * come). */
static int countdown(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    int r = cio_http_response_stream(res, 200, NULL);
    for (int i = 3; r == 0 && i > 0; i--) {
        char line[16];
        int n = snprintf(line, sizeof(line), "%d...\n", i);
        r = cio_http_response_write(res, line, (size_t)n);
        if (r == 0)
            r = cio_sleep(50 * CIO_MS);
    }
    return r;
}

static int query(int port, const char *opts, const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "curl -s -w '[HTTP/%%{http_version} %%{http_code}]\\n' %s "
             "http://127.0.0.1:%d%s",
             opts, port, path);
    printf("$ curl %s %s\n", opts, path);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    while (fgets(line, sizeof(line), p))
        printf("  %s", line);
    return pclose(p) == 0 ? 0 : -1;
}

static int failed;

static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    printf("HTTP/2 (h2c) server on http://127.0.0.1:%d\n", port);
    if (system("command -v curl >/dev/null 2>&1") != 0) {
        printf("curl is not installed: nothing to query it with, "
               "stopping\n");
    } else {
        const char *pk = "--http2-prior-knowledge";
        failed |= query(port, pk, "/");
        failed |= query(port, pk, "/user/42");
        failed |= query(port, pk, "/countdown");
        failed |= query(port, "--http2-prior-knowledge -d 'echo me'", "/echo");
        /* HTTP/1.1 first, Upgrade: h2c, then HTTP/2 on the same
         * connection (the upgrading request is stream 1). */
        failed |= query(port, "--http2", "/");
        /* Plain HTTP/1.1 still works on the same listener. */
        failed |= query(port, "--http1.1", "/");
    }
    printf("stopping the server (Ctrl-C)\n");
    cio_http_app_stop(app);
}

int main(int argc, char **argv)
{
    cio_http_app *app;
    if (cio_http_app_new(&app, "h2") < 0)
        return 1;
    int r = 0;
    r |= cio_http_route(app, "/", index_page, NULL, CIO_HTTP_GET);
    r |= cio_http_route(app, "/user/<id:int>", user, NULL, 0);
    r |= cio_http_route(app, "/echo", echo, NULL, CIO_HTTP_POST);
    r |= cio_http_route(app, "/countdown", countdown, NULL, 0);
    /* HTTP/2 with the defaults (100 concurrent streams per connection). */
    r |= cio_http_app_http2(app, NULL);
    if (r < 0) {
        fprintf(stderr, "h2_server: %s\n", cio_http_app_error(app));
        return 1;
    }
    cio_http_app_on_start(app, after_start, NULL);
    r = cio_http_run(app, "127.0.0.1", argc > 1 ? atoi(argv[1]) : 0, 1);
    cio_http_app_free(app);
    if (r < 0) {
        fprintf(stderr, "h2_server: %s\n", cio_strerror(r));
        return 1;
    }
    return failed ? 1 : 0;
}
