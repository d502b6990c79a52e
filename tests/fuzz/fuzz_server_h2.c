/*
 * fuzz_server_h2.c - the HTTP/2 server's frame and request handling: the
 * input is what a client sends after the connection preface (its
 * SETTINGS, HEADERS/CONTINUATION with HPACK-coded fields, DATA,
 * RST_STREAM, WINDOW_UPDATE, PING, GOAWAY, ...), fed to a server
 * connection of cio::http (nghttp2's session, cio's request field checks
 * of RFC 9113 8.1-8.3 in h2.c, content-length, limits, streams reset
 * while their handler runs, the router and the handlers below, responses
 * with bodies and streamed ones) without a socket, inside a loop. The
 * first input byte chooses the piece size of the reads (0: all at once).
 *
 * Routes: GET / (text), POST /echo (the body back), GET /json (a JSON
 * body), GET /stream (three streamed writes), GET /yield (answers after a
 * loop turn, so a reset or the connection's end finds it running),
 * GET /<name:int> (a typed parameter).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "cio.h"
#include "cio/http.h"
#include "cio/http2.h"
#include "http/http_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int h_root(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_text(res, 200, "hello");
}

static int h_echo(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n = 0;
    const char *b = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, b, n, NULL);
}

static int h_json(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_json_text(res, 200, "{\"hello\":\"world\"}");
}

static int h_stream(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_stream(res, 200, "text/plain");
    for (int i = 0; r >= 0 && i < 3; i++)
        r = cio_http_response_write(res, "part\n", 5);
    return r < 0 ? r : 0;
}

static int h_yield(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_sleep(0);
    if (r < 0)
        return r;
    return cio_http_response_text(res, 200, "later");
}

static int h_int(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *v = cio_http_request_param(req, "name", NULL);
    return cio_http_response_text(res, 200, v ? v : "?");
}

static cio_loop *g_loop;
static cio_http_app *g_app;

static void setup(void)
{
    if (cio_loop_new(&g_loop, NULL) < 0 || cio_http_app_new(&g_app, "fuzz") < 0)
        abort();
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.max_body = 65536;
    cio_http2_config h2 = CIO_HTTP2_CONFIG_INIT;
    h2.max_concurrent_streams = 8;
    h2.max_header_list = 4096;
    h2.max_resets = 20;
    if (cio_http_app_configure(g_app, &cfg) < 0 ||
        cio_http_route(g_app, "/", h_root, NULL, CIO_HTTP_GET) < 0 ||
        cio_http_route(g_app, "/echo", h_echo, NULL, CIO_HTTP_POST) < 0 ||
        cio_http_route(g_app, "/json", h_json, NULL, CIO_HTTP_GET) < 0 ||
        cio_http_route(g_app, "/stream", h_stream, NULL, CIO_HTTP_GET) < 0 ||
        cio_http_route(g_app, "/yield", h_yield, NULL, CIO_HTTP_GET) < 0 ||
        cio_http_route(g_app, "/<name:int>", h_int, NULL, CIO_HTTP_GET) < 0 ||
        cio_http_app_http2(g_app, &h2) < 0)
        abort();
}

typedef struct {
    const uint8_t *data;
    size_t size;
} input;

static int one(void *arg, void **result)
{
    (void)result;
    input *in = arg;
    (void)cio__h2_server_fuzz(g_app, in->data + 1, in->size - 1, in->data[0]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (!g_loop)
        setup();
    input in = {data, size};
    cio_future *f = NULL;
    if (cio_task_create(g_loop, CIO_CORO(one, &in), NULL, &f) < 0 ||
        cio_loop_run_until_complete(g_loop, f, NULL) < 0)
        abort();
    cio_future_release(f);
    return 0;
}
