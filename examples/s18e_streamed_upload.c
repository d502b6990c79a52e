/*
 * s18e_streamed_upload.c - MISSION S18: streamed request bodies (sanic's
 * `@app.post("/upload", stream=True)` with `await request.stream.read()`),
 * a multipart upload whose file part goes to a temporary file as it
 * arrives, and the access log in a format of our own.
 *
 * POST /count reads the body piece by piece (it is never held whole) and
 * answers its size and piece count; POST /upload reads a form whose file
 * parts above 64 KiB are written to disk while they arrive. The access log
 * writes one line per request to stdout. The app queries itself with curl
 * from its on_start listener (a 5 MB chunked upload, a 200 KB form
 * upload), then stops.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s18e_streamed_upload.c -o s18e_streamed_upload \
 *         $(pkg-config --cflags --libs cio-http)
 */
#define _DEFAULT_SOURCE /* mkstemp, popen... under -std=c11 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cio/http.h"

/* sanic: async def count(request): while (chunk := await request.stream.read()) */
static int count(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    unsigned long long total = 0, pieces = 0;
    const void *piece;
    ssize_t n;
    while ((n = cio_http_request_read(req, &piece)) > 0) {
        total += (unsigned long long)n; /* a real handler would hash or store it */
        pieces++;
    }
    if (n < 0)
        return (int)n; /* too large: 413, too slow: 408 */
    char out[96];
    snprintf(out, sizeof(out), "%llu bytes in %llu pieces\n", total, pieces);
    return cio_http_response_text(res, 200, out);
}

static int upload(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)arg;
    cio_http_form_opts opts = {0};
    opts.memory_limit = 64 * 1024;    /* larger file parts go to disk */
    opts.max_file_size = 1024 * 1024; /* a larger one: 413 */
    int r = cio_http_request_read_form(req, &opts);
    if (r < 0)
        return r;
    const char *who = cio_http_request_form(req, "who", 0, NULL);
    cio_http_upload up;
    char out[256];
    if (cio_http_request_upload(req, "file", 0, &up) < 0)
        return cio_http_response_text(res, 400, "no file\n");
    snprintf(out, sizeof(out), "%s sent %s (%s), %llu bytes, kept %s\n",
             who ? who : "someone", up.filename, up.content_type,
             (unsigned long long)up.size,
             up.path ? "in a temporary file" : "in memory");
    return cio_http_response_text(res, 200, out);
}

static void run(const char *what, const char *cmd)
{
    printf("$ %s\n", what);
    fflush(stdout);
    if (system(cmd) != 0)
        printf("(curl failed)\n");
    fflush(stdout);
}

static void after_start(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "head -c 5000000 /dev/zero | curl -s -H 'Transfer-Encoding: "
             "chunked' --data-binary @- http://127.0.0.1:%d/count",
             port);
    run("5 MB, chunked, to POST /count", cmd);
    snprintf(cmd, sizeof(cmd),
             "f=$(mktemp); head -c 200000 /dev/zero > $f; curl -s -F who=ana "
             "-F \"file=@$f;filename=zeros.bin;type=application/x-zeros\" "
             "http://127.0.0.1:%d/upload; rm -f $f",
             port);
    run("a 200 KB file to POST /upload", cmd);
    cio_http_app_stop(app);
}

int main(void)
{
    cio_http_app *app;
    int r = cio_http_app_new(&app, "uploads");
    if (r == 0)
        r = cio_http_route(app, "/count", count, NULL,
                           CIO_HTTP_POST | CIO_HTTP_STREAM);
    if (r == 0)
        r = cio_http_route(app, "/upload", upload, NULL,
                           CIO_HTTP_POST | CIO_HTTP_STREAM);
    /* "127.0.0.1 POST /count 200 29 B 12345 us" */
    if (r == 0)
        r = cio_http_app_access_log(app, "log: %a %m %U %s %b B %D us", -1);
    if (r == 0)
        cio_http_app_on_start(app, after_start, NULL);
    if (r == 0)
        r = cio_http_run(app, "127.0.0.1", 0, 1);
    if (r < 0)
        fprintf(stderr, "s18e_streamed_upload: %s\n", cio_strerror(r));
    cio_http_app_free(app);
    return r < 0;
}
