/*
 * http_server.c - the cio::http server the HTTP benchmarks run through
 * ../shared/bench/run-peers --http-target: the framework itself (router,
 * request and response objects, cJSON), not a hard-coded responder.
 *
 *   GET /      -> 200 "Hello, World!" (text/plain)
 *   GET /json  -> {"hello":"world"}  (built with cJSON per request)
 *
 * Usage: http_server [--port N] [--workers W]   (PORT env also read;
 * default 8080, 1 worker: run-peers pins the server to one CPU). Stops on
 * SIGINT/SIGTERM.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cio/http.h"

static int hello(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    return cio_http_response_raw(res, 200, "Hello, World!", 13, "text/plain");
}

static int json(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    cJSON_AddStringToObject(o, "hello", "world");
    int r = cio_http_response_json(res, 200, o);
    cJSON_Delete(o);
    return r;
}

int main(int argc, char **argv)
{
    int port = getenv("PORT") ? atoi(getenv("PORT")) : 8080, workers = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--port") == 0)
            port = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--workers") == 0)
            workers = atoi(argv[i + 1]);
    }
    cio_http_app *app;
    if (cio_http_app_new(&app, "bench") < 0 ||
        cio_http_route(app, "/", hello, NULL, 0) < 0 ||
        cio_http_route(app, "/json", json, NULL, 0) < 0)
        return 1;
    int r = cio_http_run(app, "127.0.0.1", port, workers);
    cio_http_app_free(app);
    if (r < 0) {
        fprintf(stderr, "http_server: %s\n", cio_strerror(r));
        return 1;
    }
    return 0;
}
