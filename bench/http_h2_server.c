/*
 * http_h2_server.c - the cio::http server of the HTTP/2 benchmark
 * (bench/sections/h2.sh): the framework itself (router, request and
 * response objects, one handler task per stream) with HTTP/2 enabled,
 * served as h2c (prior knowledge) on one loop.
 *
 *   GET /      -> 200 "Hello, World!" (text/plain)
 *
 * Usage: http_h2_server [--port N]   (PORT env also read; default 8080).
 * Stops on SIGINT/SIGTERM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio/http.h"
#include "cio/http2.h"

static int hello(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    return cio_http_response_raw(res, 200, "Hello, World!", 13, "text/plain");
}

int main(int argc, char **argv)
{
    int port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
    cio_http_app *app;
    cio_http2_config h2 = CIO_HTTP2_CONFIG_INIT;
    h2.max_concurrent_streams = 100;
    if (cio_http_app_new(&app, "bench-h2") < 0 ||
        cio_http_route(app, "/", hello, NULL, 0) < 0 ||
        cio_http_app_http2(app, &h2) < 0)
        return 1;
    int r = cio_http_run(app, "127.0.0.1", port, 1);
    cio_http_app_free(app);
    if (r < 0) {
        fprintf(stderr, "http_h2_server: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
