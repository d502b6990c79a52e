/* cio-test: timeout=180 */
/*
 * test_http_client_extras_live.c - the client's options that follow
 * aiohttp's ClientSession beyond the basics (docs/design.md section 47):
 *   - response trailers: HTTP/1.1 chunked trailers from a raw cio socket
 *     server (read whole and streamed, case-insensitive lookup, iteration,
 *     the connection pooled after them), too many or too large trailers
 *     (CIO_EHTTPC_TRAILERS_TOO_LARGE), and HTTP/2 trailing HEADERS from
 *     Node's core http2 module (tests/http/h2_node/trailers_server.js;
 *     skipped, saying so, when node is absent);
 *   - session default headers (cio_http_session_opts.headers) over
 *     HTTP/1.1 and HTTP/2 (cio's own server, h2c by prior knowledge) and
 *     on the WebSocket handshake of cio_http_session_ws_connect, a
 *     request's own field replacing the default, the copy made at
 *     creation, the refused ones;
 *   - base_url, raise_for_status (session option and response call).
 * Each case runs its own loop through cio_run and stops by itself.
 */
#include "cio_test.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio/http2.h"
#include "cio/websocket.h"
#include "cio_testutil_http.h"

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            print_error("check failed at line %d: %s\n", __LINE__, #c);        \
            return -EPROTO;                                                    \
        }                                                                      \
    } while (0)

/* ---- cio's server: HTTP/1.1 and h2c on one port ------------------------- */

/* The fields a request arrived with that the cases look at, as text:
 * "name=value|" for each (repeated ones repeated), "-" when absent. */
static void fields_text(cio_http_request *req, char *out, size_t cap)
{
    static const char *const names[] = {"x-default", "x-override",
                                        "user-agent", "accept",
                                        "authorization", "x-two"};
    size_t o = 0;
    out[0] = '\0';
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        size_t n;
        const char *v = cio_http_request_header(req, names[k], 0, &n);
        o += (size_t)snprintf(out + o, cap - o, "%s=%.*s", names[k],
                              v ? (int)n : 1, v ? v : "-");
        if (cio_http_request_header(req, names[k], 1, &n))
            o += (size_t)snprintf(out + o, cap - o, "(twice)");
        o += (size_t)snprintf(out + o, cap - o, "|");
    }
}

static int h_hdr(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char t[1024];
    fields_text(req, t, sizeof(t));
    return cio_http_response_text(res, 200, t);
}

static int h_path(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *p = cio_http_request_path(req, &n);
    char t[256];
    snprintf(t, sizeof(t), "%.*s", (int)n, p);
    return cio_http_response_text(res, 200, t);
}

static int h_status(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    int st = atoi(cio_http_request_param(req, "st", NULL));
    return cio_http_response_text(res, st, "status body");
}

static int h_long(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    int n = atoi(cio_http_request_param(req, "n", NULL));
    char v[4096];
    memset(v, 'v', sizeof(v));
    v[n < (int)sizeof(v) ? n : (int)sizeof(v) - 1] = '\0';
    cio_http_response_header(res, "X-Long", v);
    return cio_http_response_text(res, 200, "long");
}

#define BIGN 300000
static char bigbody[BIGN];

static int h_big(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_raw(res, 200, bigbody, BIGN, NULL);
}

static int h_cookie(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *v = cio_http_request_header(req, "cookie", 0, &n);
    char t[512];
    snprintf(t, sizeof(t), "%.*s%s", v ? (int)n : 1, v ? v : "-",
             cio_http_request_header(req, "cookie", 1, NULL) ? " (twice)"
                                                             : "");
    return cio_http_response_text(res, 200, t);
}

static int ws_hdr(cio_ws *ws, cio_http_request *req, void *a)
{
    (void)a;
    char t[1024];
    fields_text(req, t, sizeof(t));
    cio_ws_send_text(ws, t);
    cio_ws_close(ws, 1000, "");
    return 0;
}

static cio_http_app *app;

static cio_http_app *the_app(void)
{
    if (app)
        return app;
    assert_int_equal(cio_http_app_new(&app, "client-extras"), 0);
    assert_int_equal(cio_http_route(app, "/hdr", h_hdr, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/api/<x>", h_path, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/root", h_path, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/st/<st:int>", h_status, NULL, 0),
                     0);
    assert_int_equal(cio_http_websocket(app, "/ws", ws_hdr, NULL, NULL), 0);
    assert_int_equal(cio_http_route(app, "/long/<n:int>", h_long, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/big", h_big, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/cookie", h_cookie, NULL, 0), 0);
    for (size_t i = 0; i < BIGN; i++)
        bigbody[i] = (char)('a' + (i * 7 + i / 999) % 26);
    cio_http2_config h2 = CIO_HTTP2_CONFIG_INIT;
    assert_int_equal(cio_http_app_http2(app, &h2), 0);
    return app;
}

typedef struct tcase {
    int (*body)(struct tcase *t);
    cio_http_session_opts so;
    cio_http_session *s;
    cio_http_server *srv;
    int port;
    char url[256];
} tcase;

static const char *U(tcase *t, const char *path)
{
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d%s", t->port, path);
    return t->url;
}

static int case_main(void *arg, void **result)
{
    (void)result;
    tcase *t = arg;
    int r = cio_http_server_start(the_app(), "127.0.0.1", 0, &t->srv);
    if (r < 0)
        return r;
    t->port = cio_http_server_port(t->srv);
    r = cio_http_session_new(&t->s, cio_get_running_loop(), &t->so);
    if (r == 0) {
        r = t->body(t);
        int c = cio_http_session_close(t->s);
        if (r == 0)
            r = c;
    }
    cio_http_server_close(t->srv);
    return r;
}

static void run_case(int (*body)(tcase *), const cio_http_session_opts *so)
{
    tcase t;
    memset(&t, 0, sizeof(t));
    t.body = body;
    cio_http_session_opts d = CIO_HTTP_SESSION_OPTS_INIT;
    t.so = so ? *so : d;
    int r = cio_run(case_main, &t, NULL);
    if (r != 0)
        fail_msg("case failed: %d %s", r, cio_strerror(r));
}

/* ---- a raw server: the same bytes for every request, keep-alive -------- */

typedef struct raw_srv {
    cio_socket *ls;
    int port;
    int accepts;
    const char *resp;
    size_t resp_len;
    char last[4096]; /* the last request head */
    cio_task *acceptor;
} raw_srv;

typedef struct raw_conn {
    raw_srv *s;
    cio_socket *c;
} raw_conn;

static int raw_conn_task(void *arg, void **res)
{
    (void)res;
    raw_conn *rc = arg;
    cio_socket_close_on_exit(rc->c);
    char buf[4096];
    size_t len = 0;
    for (;;) {
        ssize_t n = cio_socket_recv(rc->c, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (!end) {
            if (len == sizeof(buf) - 1)
                break;
            continue;
        }
        size_t used = (size_t)(end + 4 - buf); /* GETs: no body */
        memcpy(rc->s->last, buf, used);
        rc->s->last[used] = '\0';
        memmove(buf, buf + used, len - used);
        len -= used;
        if (cio_socket_sendall(rc->c, rc->s->resp, rc->s->resp_len, 0) < 0)
            break;
    }
    free(rc);
    return 0;
}

static int raw_accept(void *arg, void **res)
{
    (void)res;
    raw_srv *s = arg;
    for (;;) {
        cio_socket *c;
        int r = cio_socket_accept(s->ls, &c, NULL);
        if (r < 0)
            return r;
        s->accepts++;
        raw_conn *rc = malloc(sizeof(*rc));
        rc->s = s;
        rc->c = c;
        cio_task_create(cio_get_running_loop(), CIO_CORO(raw_conn_task, rc),
                        NULL, NULL);
    }
}

static int raw_start(raw_srv *s, const char *resp, size_t len)
{
    memset(s, 0, sizeof(*s));
    s->resp = resp;
    s->resp_len = len ? len : strlen(resp);
    int r = cio_socket_open(&s->ls, cio_get_running_loop(), AF_INET,
                            SOCK_STREAM, 0);
    if (r < 0)
        return r;
    if ((r = cio_socket_bind_ip(s->ls, "127.0.0.1", 0)) < 0 ||
        (r = cio_socket_listen(s->ls, 64)) < 0)
        return r;
    cio_sockaddr a;
    cio_socket_sockname(s->ls, &a);
    s->port = cio_sockaddr_port(&a);
    return cio_task_create(cio_get_running_loop(), CIO_CORO(raw_accept, s),
                           NULL, &s->acceptor);
}

static void raw_stop(raw_srv *s)
{
    cio_task_cancel(s->acceptor, NULL);
    cio_await(s->acceptor, NULL);
    cio_future_release(s->acceptor);
    cio_socket_close(s->ls);
}

static const char *RU(raw_srv *s, char *buf, size_t cap, const char *path)
{
    snprintf(buf, cap, "http://127.0.0.1:%d%s", s->port, path);
    return buf;
}

/* ---- trailers over HTTP/1.1 --------------------------------------------- */

static const char chunked_trailers[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    "Trailer: X-Checksum, X-Multi\r\n\r\n"
    "5\r\nhello\r\n6\r\n world\r\n0\r\n"
    "X-Checksum:  abc123 \r\nx-multi: one\r\nX-Multi:two\r\n"
    "Content-Length: 999\r\n\r\n";

static int b_trailers_h1(tcase *t)
{
    raw_srv rs;
    CHECK(raw_start(&rs, chunked_trailers, 0) == 0);
    char u[128];
    cio_http_client_response *r;
    /* read whole */
    CHECK(cio_http_session_get(t->s, RU(&rs, u, sizeof(u), "/"), &r) == 0);
    CHECK(cio_http_client_response_ntrailers(r) == -EAGAIN); /* not yet */
    CHECK(!cio_http_client_response_trailer(r, "x-checksum", 0, NULL));
    const char *d;
    size_t n;
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0);
    CHECK(n == 11 && !memcmp(d, "hello world", 11));
    CHECK(cio_http_client_response_ntrailers(r) == 4);
    size_t vl;
    const char *v = cio_http_client_response_trailer(r, "X-CHECKSUM", 0, &vl);
    CHECK(v && vl == 6 && !strcmp(v, "abc123")); /* OWS trimmed, NUL */
    v = cio_http_client_response_trailer(r, "x-multi", 1, &vl);
    CHECK(v && !strcmp(v, "two"));
    CHECK(!cio_http_client_response_trailer(r, "x-multi", 2, NULL));
    CHECK(!cio_http_client_response_trailer(r, "trailer", 0, NULL));
    const char *tn, *tv;
    size_t tnl, tvl;
    CHECK(cio_http_client_response_trailer_at(r, 1, &tn, &tnl, &tv, &tvl) ==
          0);
    CHECK(tnl == 7 && !strcmp(tn, "x-multi") && !strcmp(tv, "one"));
    CHECK(cio_http_client_response_trailer_at(r, 4, &tn, NULL, &tv, NULL) ==
          -EINVAL);
    /* a Content-Length among the trailers changes nothing */
    CHECK(cio_http_client_response_content_length(r) == -1);
    CHECK(cio_http_client_response_header(r, "trailer", 0, NULL) != NULL);
    CHECK(!cio_http_client_response_header(r, "x-checksum", 0, NULL));
    cio_http_client_response_free(r);
    /* streamed by chunks, on the same (pooled) connection */
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    size_t got = 0;
    int k;
    while ((k = cio_http_client_response_read_chunk(r, &d, &n)) > 0) {
        CHECK(cio_http_client_response_ntrailers(r) == -EAGAIN);
        got += n;
    }
    CHECK(k == 0 && got == 11);
    CHECK(cio_http_client_response_ntrailers(r) == 4);
    CHECK(!strcmp(cio_http_client_response_trailer(r, "x-checksum", 0, NULL),
                  "abc123"));
    cio_http_client_response_free(r);
    /* by lines */
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    ssize_t ln;
    while ((ln = cio_http_client_response_readline(r, &d)) > 0)
        ;
    CHECK(ln == 0 && cio_http_client_response_ntrailers(r) == 4);
    cio_http_client_response_free(r);
    CHECK(rs.accepts == 1); /* every request on one connection */
    raw_stop(&rs);
    /* no trailers: a Content-Length body, and a chunked one without */
    CHECK(raw_start(&rs, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                    0) == 0);
    CHECK(cio_http_session_get(t->s, RU(&rs, u, sizeof(u), "/"), &r) == 0);
    CHECK(cio_http_client_response_ntrailers(r) == -EAGAIN);
    CHECK(cio_http_client_response_text(r, NULL) != NULL);
    CHECK(cio_http_client_response_ntrailers(r) == 0);
    cio_http_client_response_free(r);
    raw_stop(&rs);
    CHECK(raw_start(&rs,
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "2\r\nok\r\n0\r\n\r\n",
                    0) == 0);
    CHECK(cio_http_session_get(t->s, RU(&rs, u, sizeof(u), "/"), &r) == 0);
    CHECK(cio_http_client_response_text(r, NULL) != NULL);
    CHECK(cio_http_client_response_ntrailers(r) == 0);
    CHECK(!cio_http_client_response_trailer(r, "x", 0, NULL));
    cio_http_client_response_free(r);
    raw_stop(&rs);
    /* HEAD: no body, the trailers (none) at once */
    CHECK(raw_start(&rs, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0) ==
          0);
    CHECK(cio_http_session_request(t->s, "HEAD", RU(&rs, u, sizeof(u), "/"),
                                   NULL, &r) == 0);
    CHECK(cio_http_client_response_ntrailers(r) == 0);
    cio_http_client_response_free(r);
    raw_stop(&rs);
    CHECK(cio_http_client_response_ntrailers(NULL) == -EINVAL);
    return 0;
}

static void trailers_http1(void **state)
{
    (void)state;
    run_case(b_trailers_h1, NULL);
}

/* A chunked body followed by `count` trailer fields of `vlen` bytes. */
static char *trailer_flood(int count, size_t vlen)
{
    size_t cap = 256 + (size_t)count * (vlen + 32);
    char *p = malloc(cap);
    size_t o = (size_t)snprintf(p, cap,
                                "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                                "chunked\r\n\r\n2\r\nok\r\n0\r\n");
    for (int i = 0; i < count; i++) {
        o += (size_t)snprintf(p + o, cap - o, "X-T%d: ", i);
        memset(p + o, 'v', vlen);
        o += vlen;
        memcpy(p + o, "\r\n", 2);
        o += 2;
    }
    memcpy(p + o, "\r\n", 3);
    return p;
}

static int get_read(tcase *t, raw_srv *rs, int *ntr)
{
    char u[128];
    cio_http_client_response *r;
    int e = cio_http_session_get(t->s, RU(rs, u, sizeof(u), "/"), &r);
    if (e < 0)
        return e;
    const char *d;
    size_t n;
    e = cio_http_client_response_read(r, 0, &d, &n);
    *ntr = cio_http_client_response_ntrailers(r);
    cio_http_client_response_free(r);
    return e;
}

static int b_trailers_limits(tcase *t)
{
    /* session: max_head 2048, max_headers 16 */
    raw_srv rs;
    int ntr;
    char *ok = trailer_flood(16, 40); /* at both limits: accepted */
    CHECK(raw_start(&rs, ok, 0) == 0);
    CHECK(get_read(t, &rs, &ntr) == 0 && ntr == 16);
    raw_stop(&rs);
    char *many = trailer_flood(17, 4); /* one field too many */
    CHECK(raw_start(&rs, many, 0) == 0);
    int e = get_read(t, &rs, &ntr);
    CHECK(e == CIO_EHTTPC_TRAILERS_TOO_LARGE);
    CHECK(ntr == CIO_EHTTPC_TRAILERS_TOO_LARGE); /* the error stays */
    CHECK(rs.accepts == 1);
    CHECK(get_read(t, &rs, &ntr) == CIO_EHTTPC_TRAILERS_TOO_LARGE);
    CHECK(rs.accepts == 2); /* the failed connection was not pooled */
    raw_stop(&rs);
    char *large = trailer_flood(2, 3000); /* more bytes than max_head */
    CHECK(raw_start(&rs, large, 0) == 0);
    CHECK(get_read(t, &rs, &ntr) == CIO_EHTTPC_TRAILERS_TOO_LARGE);
    raw_stop(&rs);
    /* an endless trailer section stops at the limit too */
    char *endless = trailer_flood(4000, 10);
    CHECK(raw_start(&rs, endless, 0) == 0);
    CHECK(get_read(t, &rs, &ntr) == CIO_EHTTPC_TRAILERS_TOO_LARGE);
    raw_stop(&rs);
    free(ok);
    free(many);
    free(large);
    free(endless);
    CHECK(!strcmp(cio_strerror(CIO_EHTTPC_TRAILERS_TOO_LARGE),
                  "HTTP client: response trailers too large"));
    return 0;
}

static void trailers_too_large(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.max_head = 2048;
    so.max_headers = 16;
    run_case(b_trailers_limits, &so);
}

/* ---- trailers over HTTP/2: Node's http2 as the server ------------------- */

#define H2_SCRIPT CIO_SOURCE_DIR "/tests/http/h2_node/trailers_server.js"

static int node_port;

static int b_trailers_h2(tcase *t)
{
    (void)t;
    char u[128];
    cio_http_client_response *r;
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/trailers", node_port);
    for (int i = 0; i < 2; i++) { /* read whole, then streamed */
        CHECK(cio_http_session_get(t->s, u, &r) == 0);
        CHECK(cio_http_client_response_version(r) == 20);
        CHECK(cio_http_client_response_ntrailers(r) == -EAGAIN);
        const char *d;
        size_t n;
        if (i == 0) {
            CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0);
            CHECK(n == 5 && !memcmp(d, "hello", 5));
        } else {
            int k;
            while ((k = cio_http_client_response_read_chunk(r, &d, &n)) > 0)
                ;
            CHECK(k == 0);
        }
        CHECK(cio_http_client_response_ntrailers(r) == 2);
        size_t vl;
        const char *v =
            cio_http_client_response_trailer(r, "X-Checksum", 0, &vl);
        CHECK(v && vl == 3 && !strcmp(v, "abc"));
        v = cio_http_client_response_trailer(r, "grpc-status", 0, NULL);
        CHECK(v && !strcmp(v, "0"));
        const char *tn, *tv;
        CHECK(cio_http_client_response_trailer_at(r, 0, &tn, NULL, &tv,
                                                  NULL) == 0);
        CHECK(!strcmp(tn, "x-checksum") && !strcmp(tv, "abc"));
        cio_http_client_response_free(r);
    }
    /* more fields than max_headers (16): the stream fails, the
     * connection goes on */
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/many", node_port);
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    const char *d;
    size_t n;
    CHECK(cio_http_client_response_read(r, 0, &d, &n) ==
          CIO_EHTTPC_TRAILERS_TOO_LARGE);
    CHECK(cio_http_client_response_ntrailers(r) ==
          CIO_EHTTPC_TRAILERS_TOO_LARGE);
    cio_http_client_response_free(r);
    /* a trailer section larger than max_head (a session of its own with
     * max_head 1024; SETTINGS_MAX_HEADER_LIST_SIZE says so to the peer,
     * which sends it anyway) */
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
    so.max_head = 1024;
    cio_http_session *s2;
    CHECK(cio_http_session_new(&s2, cio_get_running_loop(), &so) == 0);
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/big", node_port);
    int e = cio_http_session_get(s2, u, &r);
    if (e == 0) {
        e = cio_http_client_response_read(r, 0, &d, &n);
        cio_http_client_response_free(r);
    }
    cio_http_session_close(s2);
    if (e != CIO_EHTTPC_TRAILERS_TOO_LARGE)
        print_error("/big: %d %s\n", e, cio_strerror(e));
    CHECK(e == CIO_EHTTPC_TRAILERS_TOO_LARGE);
    /* no trailers; and the session's default fields over HTTP/2 */
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/hdr", node_port);
    static const char *const mine[] = {"x-override", "request", NULL};
    cio_http_request_opts o = {0};
    o.headers = mine;
    CHECK(cio_http_session_request(t->s, "GET", u, &o, &r) == 0);
    cJSON *j = (cJSON *)cio_http_client_response_json(r, NULL);
    CHECK(j);
    const cJSON *x = cJSON_GetObjectItem(j, "x-default");
    CHECK(cJSON_IsString(x) && !strcmp(x->valuestring, "d1"));
    x = cJSON_GetObjectItem(j, "x-override");
    CHECK(cJSON_IsString(x) && !strcmp(x->valuestring, "request"));
    CHECK(cio_http_client_response_ntrailers(r) == 0);
    cio_http_client_response_free(r);
    long opened;
    cio_http_session_stats(t->s, &opened, NULL);
    CHECK(opened == 1); /* one HTTP/2 connection for every request */
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/quit", node_port);
    if (cio_http_session_get(t->s, u, &r) == 0)
        cio_http_client_response_free(r);
    return 0;
}

static void trailers_http2_node(void **state)
{
    (void)state;
    if (!tu_have("node")) {
        fprintf(stderr, "skipped: node not installed (its core http2 module "
                        "is the HTTP/2 peer sending trailers)\n");
        skip();
    }
    FILE *p = popen("exec timeout 60 node " H2_SCRIPT, "r");
    assert_non_null(p);
    char line[32] = "";
    assert_non_null(fgets(line, sizeof(line), p));
    node_port = atoi(line);
    assert_true(node_port > 0);
    static const char *const dflt[] = {"X-Default", "d1", "X-Override",
                                       "session", NULL};
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
    so.max_headers = 16;
    so.headers = dflt;
    run_case(b_trailers_h2, &so);
    pclose(p); /* node exits at /quit (or after 60 s) */
}

/* ---- session default headers --------------------------------------------- */

static const char *want_fields =
    "x-default=d1|x-override=request|user-agent=sess-agent|accept=*/*|"
    "authorization=-|x-two=a|";

static int b_defaults(tcase *t)
{
    static const char *const mine[] = {"X-OVERRIDE", "request", NULL};
    cio_http_request_opts o = {0};
    o.headers = mine;
    cio_http_client_response *r;
    for (int i = 0; i < 2; i++) {
        CHECK(cio_http_session_request(t->s, "GET", U(t, "/hdr"), &o, &r) ==
              0);
        CHECK(cio_http_client_response_version(r) ==
              (t->so.http_version == CIO_HTTP_CLIENT_H2_PRIOR ? 20 : 11));
        const char *x = cio_http_client_response_text(r, NULL);
        if (!x || strcmp(x, want_fields) != 0)
            print_error("got %s\n", x ? x : "(null)");
        CHECK(x && !strcmp(x, want_fields));
        cio_http_client_response_free(r);
    }
    /* without the request's own field: the default */
    CHECK(cio_http_session_get(t->s, U(t, "/hdr"), &r) == 0);
    const char *x = cio_http_client_response_text(r, NULL);
    CHECK(x && strstr(x, "x-override=session|"));
    cio_http_client_response_free(r);
    /* basic auth of the request replaces a default Authorization */
    o.user = "u";
    o.password = "p";
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/hdr"), &o, &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && strstr(x, "authorization=Basic dTpw|"));
    cio_http_client_response_free(r);
    /* the WebSocket handshake carries them too */
    if (t->so.http_version != CIO_HTTP_CLIENT_H2_PRIOR) {
        cio_ws *ws;
        o.user = o.password = NULL;
        snprintf(t->url, sizeof(t->url), "ws://127.0.0.1:%d/ws", t->port);
        CHECK(cio_http_session_ws_connect(t->s, t->url, &o, NULL, &ws) == 0);
        cio_ws_msg m;
        CHECK(cio_ws_receive(ws, &m) == 0);
        /* (the handshake sends no Accept of its own) */
        static const char want_ws[] =
            "x-default=d1|x-override=request|user-agent=sess-agent|"
            "accept=-|authorization=-|x-two=a|";
        if (m.len != strlen(want_ws) || memcmp(m.data, want_ws, m.len) != 0)
            print_error("ws got %.*s\n", (int)m.len, (const char *)m.data);
        CHECK(m.len == strlen(want_ws) && !memcmp(m.data, want_ws, m.len));
        cio_ws_free(ws);
    }
    return 0;
}

static void default_headers(void **state)
{
    (void)state;
    static const char *const dflt[] = {"X-Default",  "d1",
                                       "X-Override", "session",
                                       "User-Agent", "sess-agent",
                                       "x-two",      "a",
                                       NULL};
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.headers = dflt;
    run_case(b_defaults, &so); /* HTTP/1.1 and the WebSocket handshake */
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
    run_case(b_defaults, &so); /* HTTP/2 (h2c) */
}

/* The copy: changing the caller's strings after the session was made
 * changes nothing on the wire. */
static char cname[] = "X-Default", cvalue[] = "d1";

static int b_copied(tcase *t)
{
    strcpy(cname, "X-Changed");
    strcpy(cvalue, "zz");
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, U(t, "/hdr"), &r) == 0);
    const char *x = cio_http_client_response_text(r, NULL);
    CHECK(x && strstr(x, "x-default=d1|"));
    cio_http_client_response_free(r);
    return 0;
}

static void default_headers_copied_and_checked(void **state)
{
    (void)state;
    const char *dflt[] = {cname, cvalue, NULL};
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.headers = dflt;
    run_case(b_copied, &so);
    /* refused at creation */
    static const char *const bad[][3] = {
        {"Content-Length", "5", NULL}, {"transfer-encoding", "chunked", NULL},
        {"X-A:", "b", NULL},           {"X-A", "b\r\nX-Evil: 1", NULL},
        {"X A", "b", NULL},            {"", "b", NULL},
    };
    cio_loop *l;
    assert_int_equal(cio_loop_new(&l, NULL), 0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cio_http_session *s = (cio_http_session *)1;
        so.headers = bad[i];
        assert_int_equal(cio_http_session_new(&s, l, &so), -EINVAL);
        assert_null(s);
    }
    so.headers = NULL;
    so.base_url = "ftp://127.0.0.1/";
    cio_http_session *s;
    assert_int_equal(cio_http_session_new(&s, l, &so), -EINVAL);
    so.base_url = "not a url";
    assert_int_equal(cio_http_session_new(&s, l, &so), -EINVAL);
    cio_loop_free(l);
}

/* A default Host (and Accept-Encoding) replaces cio's own: one of each
 * on the wire, seen by the raw server. */
static int b_default_host(tcase *t)
{
    static const char *const dflt[] = {"Host", "h.example", "accept-encoding",
                                       "identity", NULL};
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.headers = dflt;
    cio_http_session *s;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    raw_srv rs;
    CHECK(raw_start(&rs, "HTTP/1.1 204 No Content\r\n\r\n", 0) == 0);
    char u[128];
    cio_http_client_response *r;
    int e = cio_http_session_get(s, RU(&rs, u, sizeof(u), "/"), &r);
    if (e == 0)
        cio_http_client_response_free(r);
    raw_stop(&rs);
    cio_http_session_close(s);
    (void)t;
    CHECK(e == 0);
    const char *h = strstr(rs.last, "\r\nHost: h.example\r\n");
    CHECK(h && !strstr(h + 2, "\r\nHost:") &&
          !strstr(rs.last, "\r\nHost: 127"));
    CHECK(strstr(rs.last, "\r\naccept-encoding: identity\r\n") &&
          !strstr(rs.last, "gzip"));
    return 0;
}

static void default_host_replaces(void **state)
{
    (void)state;
    run_case(b_default_host, NULL);
}

/* A Cookie field (default or the request's) and the jar's cookies go out
 * as one Cookie field (RFC 6265 5.4). */
static int b_cookie_merge(tcase *t)
{
    CHECK(cio_http_session_set_cookie(t->s, "127.0.0.1", "j=2; Path=/") == 0);
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, U(t, "/cookie"), &r) == 0);
    const char *x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "d=1; j=2"));
    cio_http_client_response_free(r);
    static const char *const mine[] = {"cookie", "r=3", NULL};
    cio_http_request_opts o = {0};
    o.headers = mine;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/cookie"), &o, &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "r=3; j=2"));
    cio_http_client_response_free(r);
    cio_http_session_clear_cookies(t->s);
    CHECK(cio_http_session_get(t->s, U(t, "/cookie"), &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "d=1"));
    cio_http_client_response_free(r);
    return 0;
}

static void default_cookie_joins_jar(void **state)
{
    (void)state;
    static const char *const dflt[] = {"Cookie", "d=1", NULL};
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.headers = dflt;
    run_case(b_cookie_merge, &so);
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
    run_case(b_cookie_merge, &so);
}

/* ---- base_url and raise_for_status --------------------------------------- */

static int b_base_in(tcase *t, cio_http_session *s)
{
    cio_http_client_response *r;
    static const struct {
        const char *url, *want;
    } c[] = {
        {"users", "/api/users"},          /* relative to /api/ */
        {"users?id=1", "/api/users"},     /* with a query */
        {"/root", "/root"},               /* absolute path */
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        CHECK(cio_http_session_get(s, c[i].url, &r) == 0);
        const char *x = cio_http_client_response_text(r, NULL);
        if (!x || strcmp(x, c[i].want))
            print_error("%s: got %s\n", c[i].url, x ? x : "(null)");
        size_t ul = strlen(U(t, ""));
        CHECK(!strncmp(cio_http_client_response_url(r), t->url, ul));
        CHECK(x && !strcmp(x, c[i].want));
        cio_http_client_response_free(r);
    }
    CHECK(cio_http_session_get(s, "users?id=1", &r) == 0);
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d/api/users?id=1",
             t->port);
    CHECK(!strcmp(cio_http_client_response_url(r), t->url));
    cio_http_client_response_free(r);
    /* an absolute URL is used as it is */
    CHECK(cio_http_session_get(s, U(t, "/root"), &r) == 0);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "/root"));
    cio_http_client_response_free(r);
    /* ws_connect resolves against it too */
    cio_ws *ws;
    CHECK(cio_http_session_ws_connect(s, "/ws", NULL, NULL, &ws) == 0);
    cio_ws_msg m;
    CHECK(cio_ws_receive(ws, &m) == 0 && m.len > 0);
    cio_ws_free(ws);
    return 0;
}

static int b_base(tcase *t)
{
    char base[128];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d/api/", t->port);
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.base_url = base;
    cio_http_session *s;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    memset(base, 'x', sizeof(base) - 1); /* copied: not used any more */
    int e = b_base_in(t, s);
    cio_http_session_close(s);
    return e;
}

static void base_url(void **state)
{
    (void)state;
    run_case(b_base, NULL); /* (the port is known inside the case only) */
}

static int b_raise(tcase *t)
{
    cio_http_client_response *r = NULL;
    /* the response call, session option off */
    CHECK(cio_http_session_get(t->s, U(t, "/st/404"), &r) == 0);
    CHECK(cio_http_client_response_raise_for_status(r) == CIO_EHTTPC_STATUS);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "status body"));
    cio_http_client_response_free(r);
    CHECK(cio_http_session_get(t->s, U(t, "/st/200"), &r) == 0);
    CHECK(cio_http_client_response_raise_for_status(r) == 0);
    cio_http_client_response_free(r);
    CHECK(cio_http_session_get(t->s, U(t, "/st/399"), &r) == 0);
    CHECK(cio_http_client_response_raise_for_status(r) == 0);
    cio_http_client_response_free(r);
    CHECK(cio_http_client_response_raise_for_status(NULL) == -EINVAL);
    return 0;
}

static int b_raise_session(tcase *t)
{
    cio_http_client_response *r = (cio_http_client_response *)1;
    CHECK(cio_http_session_get(t->s, U(t, "/st/500"), &r) ==
          CIO_EHTTPC_STATUS);
    CHECK(!r);
    CHECK(cio_http_session_get(t->s, U(t, "/st/404"), &r) ==
          CIO_EHTTPC_STATUS);
    CHECK(cio_http_session_get(t->s, U(t, "/st/201"), &r) == 0);
    CHECK(cio_http_client_response_status(r) == 201);
    cio_http_client_response_free(r);
    long opened;
    cio_http_session_stats(t->s, &opened, NULL);
    if (t->so.http_version != CIO_HTTP_CLIENT_H2_PRIOR)
        CHECK(opened == 1); /* the failed ones' connection was pooled */
    return 0;
}

static void raise_for_status(void **state)
{
    (void)state;
    run_case(b_raise, NULL);
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.raise_for_status = 1;
    run_case(b_raise_session, &so);
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
    run_case(b_raise_session, &so);
    assert_string_equal(cio_err_name(CIO_EHTTPC_STATUS), "CIO_EHTTPC_STATUS");
}

/* ---- read_into (content.read(n)), max_field ------------------------------ */

static int b_read_into(tcase *t)
{
    cio_http_client_response *r;
    static char got[BIGN + 1];
    for (int h2 = 0; h2 < 2; h2++) {
        cio_http_session *s = t->s;
        if (h2) {
            cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
            so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
            CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
        }
        CHECK(cio_http_session_get(s, U(t, "/big"), &r) == 0);
        size_t off = 0;
        ssize_t n;
        char buf[1000];
        while ((n = cio_http_client_response_read_into(r, buf, sizeof(buf))) >
               0) {
            CHECK(n <= (ssize_t)sizeof(buf) && off + (size_t)n <= BIGN);
            memcpy(got + off, buf, (size_t)n);
            off += (size_t)n;
        }
        CHECK(n == 0 && off == BIGN && !memcmp(got, bigbody, BIGN));
        CHECK(cio_http_client_response_read_into(r, buf, sizeof(buf)) == 0);
        CHECK(cio_http_client_response_read_into(r, buf, 0) == -EINVAL);
        cio_http_client_response_free(r);
        if (h2)
            CHECK(cio_http_session_close(s) == 0);
    }
    /* mixed with readline and read_chunk: each goes on where the other
     * stopped */
    raw_srv rs;
    CHECK(raw_start(&rs,
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "10\r\nline1\nline2\nrest\r\n0\r\n\r\n",
                    0) == 0);
    char u[128];
    CHECK(cio_http_session_get(t->s, RU(&rs, u, sizeof(u), "/"), &r) == 0);
    const char *d;
    CHECK(cio_http_client_response_readline(r, &d) == 6 &&
          !memcmp(d, "line1\n", 6));
    char b3[3];
    CHECK(cio_http_client_response_read_into(r, b3, 3) == 3 &&
          !memcmp(b3, "lin", 3));
    size_t dn;
    CHECK(cio_http_client_response_read_chunk(r, &d, &dn) == 1 && dn == 7 &&
          !memcmp(d, "e2\nrest", 7));
    CHECK(cio_http_client_response_read_into(r, b3, 3) == 0);
    cio_http_client_response_free(r);
    /* after a whole read: consumed */
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    CHECK(cio_http_client_response_text(r, NULL));
    CHECK(cio_http_client_response_read_into(r, b3, 3) == CIO_EHTTPC_CONSUMED);
    cio_http_client_response_free(r);
    raw_stop(&rs);
    CHECK(cio_http_client_response_read_into(NULL, b3, 3) == -EINVAL);
    return 0;
}

static void read_into(void **state)
{
    (void)state;
    run_case(b_read_into, NULL);
}

static int raw_get(tcase *t, const char *resp)
{
    raw_srv rs;
    CHECK(raw_start(&rs, resp, 0) == 0);
    char u[128];
    cio_http_client_response *r;
    int e = cio_http_session_get(t->s, RU(&rs, u, sizeof(u), "/"), &r);
    if (e == 0) {
        const char *d;
        size_t n;
        e = cio_http_client_response_read(r, 0, &d, &n);
        cio_http_client_response_free(r);
    }
    raw_stop(&rs);
    return e;
}

static int b_max_field(tcase *t)
{
    /* session: max_field 100 */
    char resp[1024], v[200];
    memset(v, 'v', sizeof(v));
    /* "X-F: " + 95 bytes = 100: accepted; 96: refused */
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 200 OK\r\nX-F: %.95s\r\nContent-Length: 0\r\n\r\n", v);
    CHECK(raw_get(t, resp) == 0);
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 200 OK\r\nX-F: %.96s\r\nContent-Length: 0\r\n\r\n", v);
    CHECK(raw_get(t, resp) == CIO_EHTTPC_HEAD_TOO_LARGE);
    /* a status line too long */
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 200 %.150s\r\nContent-Length: 0\r\n\r\n", v);
    CHECK(raw_get(t, resp) == CIO_EHTTPC_HEAD_TOO_LARGE);
    /* a trailer field too long (the section is small) */
    snprintf(resp, sizeof(resp),
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
             "0\r\nX-T: %.150s\r\n\r\n", v);
    CHECK(raw_get(t, resp) == CIO_EHTTPC_TRAILERS_TOO_LARGE);
    /* HTTP/2: a field of cio's h2 server */
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.http_version = CIO_HTTP_CLIENT_H2_PRIOR;
    so.max_field = 100;
    cio_http_session *s;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    cio_http_client_response *r;
    int e1 = cio_http_session_get(s, U(t, "/long/80"), &r);
    if (e1 == 0)
        cio_http_client_response_free(r);
    int e2 = cio_http_session_get(s, U(t, "/long/300"), &r);
    if (e2 == 0)
        cio_http_client_response_free(r);
    cio_http_session_close(s);
    CHECK(e1 == 0);
    CHECK(e2 == CIO_EHTTPC_HEAD_TOO_LARGE);
    return 0;
}

static void max_field(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.max_field = 100;
    run_case(b_max_field, &so);
}

/* ---- trust_env: proxies from the environment ----------------------------- */

typedef struct proxy {
    cio_socket *ls;
    int port;
    int connects;
    char last[256]; /* host:port of the last CONNECT */
    char auth[128]; /* its Proxy-Authorization, or "" */
    cio_task *acc;
} proxy;

typedef struct pump {
    cio_socket *from, *to;
} pump;

static int pump_task(void *arg, void **res)
{
    (void)res;
    pump *p = arg;
    char buf[16384];
    ssize_t n;
    while ((n = cio_socket_recv(p->from, buf, sizeof(buf), 0)) > 0)
        if (cio_socket_sendall(p->to, buf, (size_t)n, 0) < 0)
            break;
    cio_socket_shutdown(p->to, SHUT_WR);
    return 0;
}

typedef struct pconn {
    proxy *px;
    cio_socket *c;
} pconn;

static int proxy_conn(void *arg, void **res)
{
    (void)res;
    pconn pc = *(pconn *)arg;
    free(arg);
    cio_socket_close_on_exit(pc.c);
    char buf[1024];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t n = cio_socket_recv(pc.c, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    char host[128];
    int port;
    if (sscanf(buf, "CONNECT %127[^:]:%d HTTP/1.1", host, &port) != 2)
        return 0;
    pc.px->connects++;
    snprintf(pc.px->last, sizeof(pc.px->last), "%s:%d", host, port);
    const char *a = strstr(buf, "\r\nProxy-Authorization: ");
    pc.px->auth[0] = '\0';
    if (a)
        sscanf(a + 23, "%127[^\r]", pc.px->auth);
    cio_socket *up;
    if (cio_socket_create_connection(&up, host, port) < 0)
        return 0;
    cio_socket_close_on_exit(up);
    const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    cio_socket_sendall(pc.c, ok, strlen(ok), 0);
    pump back = {up, pc.c};
    cio_task *bt;
    cio_task_create(cio_get_running_loop(), CIO_CORO(pump_task, &back), NULL,
                    &bt);
    pump fwd = {pc.c, up};
    pump_task(&fwd, NULL);
    cio_await(bt, NULL);
    cio_future_release(bt);
    return 0;
}

static int proxy_accept(void *arg, void **res)
{
    (void)res;
    proxy *px = arg;
    cio_socket *c;
    while (cio_socket_accept(px->ls, &c, NULL) == 0) {
        pconn *pc = malloc(sizeof(*pc));
        pc->px = px;
        pc->c = c;
        cio_task_create(cio_get_running_loop(), CIO_CORO(proxy_conn, pc), NULL,
                        NULL);
    }
    return 0;
}

/* A GET of /hdr (or the WebSocket) on a session made now, from the
 * environment. Returns 0 or the error. */
static int env_get(tcase *t, int trust, int ws)
{
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.trust_env = trust;
    cio_http_session *s;
    int e = cio_http_session_new(&s, cio_get_running_loop(), &so);
    if (e < 0)
        return e;
    if (ws) {
        cio_ws *w;
        snprintf(t->url, sizeof(t->url), "ws://127.0.0.1:%d/ws", t->port);
        e = cio_http_session_ws_connect(s, t->url, NULL, NULL, &w);
        if (e == 0) {
            cio_ws_msg m;
            e = cio_ws_receive(w, &m);
            cio_ws_free(w);
        }
    } else {
        cio_http_client_response *r;
        e = cio_http_session_get(s, U(t, "/hdr"), &r);
        if (e == 0) {
            if (!cio_http_client_response_text(r, NULL))
                e = -EPROTO;
            cio_http_client_response_free(r);
        }
    }
    cio_http_session_close(s);
    return e;
}

static int b_trust_env(tcase *t)
{
    proxy px;
    memset(&px, 0, sizeof(px));
    CHECK(cio_socket_open(&px.ls, cio_get_running_loop(), AF_INET,
                          SOCK_STREAM, 0) == 0);
    CHECK(cio_socket_bind_ip(px.ls, "127.0.0.1", 0) == 0);
    CHECK(cio_socket_listen(px.ls, 16) == 0);
    cio_sockaddr a;
    cio_socket_sockname(px.ls, &a);
    px.port = cio_sockaddr_port(&a);
    CHECK(cio_task_create(cio_get_running_loop(),
                          CIO_CORO(proxy_accept, &px), NULL, &px.acc) == 0);
    char v[128], want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", t->port);
    /* http_proxy with credentials (scheme-less, as curl takes it) */
    snprintf(v, sizeof(v), "user:pw@127.0.0.1:%d", px.port);
    setenv("http_proxy", v, 1);
    int e = env_get(t, 1, 0);
    CHECK(e == 0 && px.connects == 1 && !strcmp(px.last, want));
    CHECK(!strcmp(px.auth, "Basic dXNlcjpwdw==")); /* user:pw */
    /* trust_env off: the environment is not read */
    CHECK(env_get(t, 0, 0) == 0 && px.connects == 1);
    /* ws:// goes through http_proxy too */
    CHECK(env_get(t, 1, 1) == 0 && px.connects == 2);
    /* no_proxy: matching entries go direct, others do not */
    static const struct {
        const char *list;
        int direct;
    } np[] = {
        {"*", 1},
        {"localhost, 127.0.0.1", 1},
        {".example.com,127.0.0.1:%d", 1}, /* this port */
        {"127.0.0.1:1", 0},               /* another port */
        {"example.com,0.0.1", 0},         /* no partial label match */
    };
    for (size_t i = 0; i < sizeof(np) / sizeof(np[0]); i++) {
        snprintf(v, sizeof(v), np[i].list, t->port);
        setenv("NO_PROXY", v, 1);
        int before = px.connects;
        e = env_get(t, 1, 0);
        if (e != 0 || px.connects != before + !np[i].direct)
            print_error("no_proxy %s: %d, %d connects\n", v, e,
                        px.connects - before);
        CHECK(e == 0 && px.connects == before + !np[i].direct);
    }
    unsetenv("NO_PROXY");
    /* https_proxy is for https:// only: http:// goes direct without
     * http_proxy */
    unsetenv("http_proxy");
    snprintf(v, sizeof(v), "http://127.0.0.1:%d", px.port);
    setenv("HTTPS_PROXY", v, 1);
    int before = px.connects;
    CHECK(env_get(t, 1, 0) == 0 && px.connects == before);
    /* HTTP_PROXY (upper case) is read, except in a CGI program */
    setenv("HTTP_PROXY", v, 1);
    CHECK(env_get(t, 1, 0) == 0 && px.connects == before + 1);
    setenv("REQUEST_METHOD", "GET", 1);
    CHECK(env_get(t, 1, 0) == 0 && px.connects == before + 1);
    unsetenv("REQUEST_METHOD");
    unsetenv("HTTP_PROXY");
    unsetenv("HTTPS_PROXY");
    /* a variable that does not parse */
    setenv("http_proxy", "ftp://127.0.0.1:21", 1);
    e = env_get(t, 1, 0);
    unsetenv("http_proxy");
    CHECK(e == -EINVAL);
    cio_task_cancel(px.acc, NULL);
    cio_await(px.acc, NULL);
    cio_future_release(px.acc);
    cio_socket_close(px.ls);
    return 0;
}

static void trust_env(void **state)
{
    (void)state;
    run_case(b_trust_env, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(trailers_http1),
    cmocka_unit_test(trailers_too_large),
    cmocka_unit_test(trailers_http2_node),
    cmocka_unit_test(default_headers),
    cmocka_unit_test(default_headers_copied_and_checked),
    cmocka_unit_test(default_host_replaces),
    cmocka_unit_test(default_cookie_joins_jar),
    cmocka_unit_test(base_url),
    cmocka_unit_test(raise_for_status),
    cmocka_unit_test(read_into),
    cmocka_unit_test(max_field),
    cmocka_unit_test(trust_env),
};

CIO_TEST_MAIN(tests)
