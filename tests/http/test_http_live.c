/* cio-test: timeout=180 */
/*
 * test_http_live.c - cio::http's server, live on 127.0.0.1, against real
 * clients: a raw-request conformance suite (each case names the RFC clause
 * it checks: request line, fields, framing, chunked, pipelining,
 * connection handling), curl (keep-alive, chunked upload, 100-continue,
 * HEAD), Python's http.client, timeouts, handler errors and cancellation at
 * server close.
 *
 * The server runs through cio_http_run in a thread of its own (port 0,
 * reported by the on_start listener); the clients are blocking sockets and
 * child processes of the test thread.
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"
#include "http/parse.h"

/* ---- the app under test ------------------------------------------------- */

static int h_index(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_text(res, 200, "hello");
}

static int h_echo(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *b = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, b, n, "text/plain");
}

static int h_user(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    return cio_http_response_text(res, 200,
                                  cio_http_request_param(req, "id", NULL));
}

static int h_json(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cJSON *o = cJSON_CreateObject();
    const cJSON *in = cio_http_request_json(req);
    cJSON_AddStringToObject(o, "hello", "world");
    if (in)
        cJSON_AddItemToObject(o, "got", cJSON_Duplicate(in, 1));
    int r = cio_http_response_json(res, 200, o);
    cJSON_Delete(o);
    return r;
}

static int h_args(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char out[256] = "";
    size_t o = 0;
    const char *v;
    for (size_t i = 0; (v = cio_http_request_arg(req, "a", i, NULL)); i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "[%s]", v);
    return cio_http_response_text(res, 200, out);
}

static int h_hdr(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char out[256] = "";
    size_t o = 0, n;
    const char *v;
    for (size_t i = 0; (v = cio_http_request_header(req, "x-test", i, &n));
         i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "[%.*s]", (int)n, v);
    v = cio_http_request_cookie(req, "sid", &n);
    if (v)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "sid=%.*s", (int)n,
                              v);
    return cio_http_response_text(res, 200, out);
}

static int h_fail(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)res, (void)a;
    return -EIO;
}

static int h_slow(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_sleep(200 * CIO_MS);
    if (r < 0)
        return r;
    return cio_http_response_text(res, 200, "slept");
}

static int h_form(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *v = cio_http_request_form(req, "name", 0, NULL);
    return cio_http_response_text(res, 200, v ? v : "(none)");
}

static int h_misc(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *what = cio_http_request_param(req, "what", NULL);
    if (strcmp(what, "redirect") == 0)
        return cio_http_response_redirect(res, "/", 0);
    if (strcmp(what, "empty") == 0)
        return cio_http_response_empty(res, 0);
    if (strcmp(what, "cookie") == 0) {
        cio_http_response_text(res, 200, "set");
        return cio_http_response_cookie(res, "sid", "abc",
                                        "Path=/; HttpOnly");
    }
    if (strcmp(what, "html") == 0)
        return cio_http_response_html(res, 201, "<b>hi</b>");
    if (strcmp(what, "remote") == 0) {
        cio_sockaddr peer;
        char text[CIO_ADDRSTRLEN];
        cio_http_request_remote(req, &peer);
        cio_sockaddr_format(&peer, text, sizeof(text));
        return cio_http_response_text(res, 200, text);
    }
    if (strcmp(what, "none") == 0)
        return 0; /* no response: 500 */
    return cio_http_response_text(res, 404, "no");
}

static int h_upload(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *title = cio_http_request_form(req, "title", 0, NULL);
    const char *title2 = cio_http_request_form(req, "title", 1, NULL);
    size_t n;
    const char *fn, *ty;
    const char *data = cio_http_request_file(req, "up", 0, &n, &fn, &ty);
    char out[512];
    snprintf(out, sizeof(out), "title=%s title2=%s file=%s/%s/%zu/%.*s",
             title ? title : "-", title2 ? title2 : "-", data ? fn : "-",
             data ? ty : "-", data ? n : 0, data ? (int)n : 0,
             data ? data : "");
    return cio_http_response_text(res, 200, out);
}

/* ---- streaming ----------------------------------------------------------- */

static int h_stream(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_header(res, "X-Streamed", "yes");
    if (r == 0)
        r = cio_http_response_stream(res, 200, NULL);
    /* The head left: these fail (a wrong answer truncates the body, which
     * the client checks; no cmocka assertion on the server's thread). */
    if (r == 0 && (cio_http_response_text(res, 200, "late") != -EBUSY ||
                   cio_http_response_header(res, "X-Late", "1") != -EBUSY))
        return -EIO;
    for (int i = 0; r == 0 && i < 3; i++) {
        r = cio_http_response_write(res, &"abc"[i], 1);
        if (r == 0)
            r = cio_sleep(20 * CIO_MS);
    }
    return r;
}

/* SSE: one event, then waits (up to 5 s) for GET /sse-go before the
 * others, so a client that sees the first event before calling /sse-go
 * proves the events are not buffered until the end. */
static atomic_int sse_go;

static int h_sse(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    sse_go = 0;
    int r = cio_http_response_sse(res);
    if (r == 0)
        r = cio_http_response_sse_event(res, "tick", "1", NULL);
    for (int i = 0; r == 0 && !sse_go && i < 500; i++)
        r = cio_sleep(10 * CIO_MS);
    if (r == 0)
        r = cio_http_response_sse_event(res, "tick", "2\nline", "7");
    if (r == 0 && cio_http_response_sse_event(res, "a\nb", "x", NULL) !=
                      -EINVAL)
        return -EIO;
    if (r == 0)
        r = cio_http_response_sse_event(res, NULL, "done", NULL);
    return r;
}

static int h_sse_go(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    sse_go = 1;
    return cio_http_response_text(res, 200, "go");
}

static int start_server(void **state)
{
    (void)state;
    assert_int_equal(cio_http_app_new(&g_app, "test"), 0);
    struct {
        const char *pat;
        cio_http_handler h;
        unsigned m;
    } routes[] = {
        {"/", h_index, CIO_HTTP_GET},
        {"/echo", h_echo, CIO_HTTP_POST | CIO_HTTP_PUT},
        {"/user/<id:int>", h_user, 0},
        {"/json", h_json, CIO_HTTP_GET | CIO_HTTP_POST},
        {"/args", h_args, 0},
        {"/hdr", h_hdr, 0},
        {"/fail", h_fail, 0},
        {"/slow", h_slow, 0},
        {"/form", h_form, CIO_HTTP_POST},
        {"/misc/<what>", h_misc, 0},
        {"/stream", h_stream, 0},
        {"/upload", h_upload, CIO_HTTP_POST},
        {"/sse", h_sse, 0},
        {"/sse-go", h_sse_go, 0},
        {"/flood", tu_h_flood, 0},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        assert_int_equal(cio_http_route(g_app, routes[i].pat, routes[i].h,
                                        NULL, routes[i].m), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.head_timeout = 1 * CIO_SEC;
    cfg.keep_alive_timeout = 2 * CIO_SEC;
    cfg.body_timeout = 1 * CIO_SEC;
    cfg.max_body = 1 << 20;
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);
    tu_http_start();
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    assert_int_equal(tu_http_stop(), 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
    g_app = NULL;
    return 0;
}

/* ---- a raw client ---------------------------------------------------------- */

/* Reads until n responses are complete (or EOF / 3 s). Writes the
 * statuses ("200 404") into got and the bodies into bodies (joined by
 * '|'). Returns the number of responses. */
static int read_responses(int fd, int n, int head_first, char *got,
                          size_t gcap, char *bodies, size_t bcap)
{
    static char buf[1 << 20];
    size_t len = 0, start = 0, go = 0, bo = 0;
    int count = 0;
    got[0] = bodies[0] = '\0';
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[64];
    while (count < n) {
        cio__http_msg m = {.headers = hdrs, .headers_cap = 64};
        int flags = CIO__HTTP_PARSE_RESPONSE |
                    (head_first && count == 0 ? CIO__HTTP_PARSE_HEAD_REQ : 0);
        int r = cio__http_parse_head(buf + start, len - start, flags, &lim,
                                     &m);
        if (r > 0) {
            cio__http_body b;
            cio__http_body_init(&b, &m, &lim);
            size_t p = start + (size_t)r;
            while (!b.done) {
                const char *d;
                size_t dl;
                long k = cio__http_body_decode(&b, buf + p, len - p, &d, &dl);
                assert_true(k >= 0);
                if (dl && bo + dl + 2 < bcap) {
                    memcpy(bodies + bo, d, dl);
                    bo += dl;
                }
                p += (size_t)k;
                if (!b.done && p == len) {
                    struct pollfd pf = {fd, POLLIN, 0};
                    if (poll(&pf, 1, 3000) <= 0)
                        return count;
                    ssize_t g = read(fd, buf + len, sizeof(buf) - len);
                    if (g <= 0)
                        break;
                    len += (size_t)g;
                }
            }
            go += (size_t)snprintf(got + go, gcap - go, "%s%d",
                                   count ? " " : "", m.status);
            if (bo + 1 < bcap)
                bodies[bo++] = '|';
            bodies[bo] = '\0';
            start = p;
            count++;
            continue;
        }
        assert_true(r == 0);
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 3000) <= 0)
            break;
        ssize_t g = read(fd, buf + len, sizeof(buf) - len);
        if (g <= 0)
            break;
        len += (size_t)g;
    }
    return count;
}

/* 1 if the peer closed within ms (reading and discarding), 0 if still
 * open. */
static int closed_within(int fd, int ms)
{
    char tmp[4096];
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) <= 0)
            return 0;
        ssize_t g = read(fd, tmp, sizeof(tmp));
        if (g <= 0)
            return 1;
    }
}

typedef struct conf {
    const char *clause; /* the RFC section it checks */
    const char *req;
    const char *want; /* the statuses, in order */
    int closes;       /* 1: the server must close after them */
    const char *body; /* if set: the bodies, each followed by '|' */
    size_t len;       /* of req, when it holds a NUL (0: strlen) */
} conf;

static int run_case(const conf *c, size_t req_len)
{
    int fd = tu_dial();
    size_t off = 0;
    while (off < req_len) {
        ssize_t w = write(fd, c->req + off, req_len - off);
        if (w <= 0)
            break; /* the server may close early on a bad request */
        off += (size_t)w;
    }
    int n = 1;
    for (const char *p = c->want; *p; p++)
        n += *p == ' ';
    char got[256], bodies[4096];
    read_responses(fd, n, strncmp(c->req, "HEAD", 4) == 0, got, sizeof(got),
                   bodies, sizeof(bodies));
    int ok = strcmp(got, c->want) == 0;
    if (!ok)
        print_error("  %s: got \"%s\", want \"%s\"\n", c->clause, got,
                    c->want);
    if (ok && c->body && strcmp(bodies, c->body) != 0) {
        print_error("  %s: bodies \"%s\", want \"%s\"\n", c->clause, bodies,
                    c->body);
        ok = 0;
    }
    int closed = closed_within(fd, c->closes ? 3000 : 50);
    if (ok && closed != c->closes) {
        print_error("  %s: %s\n", c->clause,
                    c->closes ? "connection left open" : "connection closed");
        ok = 0;
    }
    close(fd);
    return ok;
}

static void run_table(const conf *cases, size_t n)
{
    int bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += !run_case(&cases[i], cases[i].len ? cases[i].len
                                                 : strlen(cases[i].req));
    print_message("%zu cases, %d failed\n", n, bad);
    assert_int_equal(bad, 0);
}

#define H "Host: t\r\n"

/* ---- request line (RFC 9112 section 3) ----------------------------------- */
static const conf request_line_cases[] = {
    {"9112 3: GET origin-form", "GET / HTTP/1.1\r\n" H "\r\n", "200", 0,
     "hello|"},
    {"9112 3.2.1: origin-form with query", "GET /args?a=1 HTTP/1.1\r\n" H
     "\r\n", "200", 0, "[1]|"},
    {"9112 3.2.2: absolute-form", "GET http://t/user/5 HTTP/1.1\r\n" H "\r\n",
     "200", 0, "5|"},
    {"9112 3.2.4: asterisk-form OPTIONS", "OPTIONS * HTTP/1.1\r\n" H "\r\n",
     "204", 0, NULL},
    {"9112 3.2.4: asterisk-form with GET", "GET * HTTP/1.1\r\n" H "\r\n",
     "400", 1, NULL},
    {"9112 3.2: target not starting with /", "GET user HTTP/1.1\r\n" H
     "\r\n", "400", 1, NULL},
    {"9112 3: two spaces after method", "GET  / HTTP/1.1\r\n" H "\r\n", "400",
     1, NULL},
    {"9112 3: tab as separator", "GET\t/ HTTP/1.1\r\n" H "\r\n", "400", 1,
     NULL},
    {"9112 3: trailing space after version", "GET / HTTP/1.1 \r\n" H "\r\n",
     "400", 1, NULL},
    {"9112 3: space inside the target", "GET /a b HTTP/1.1\r\n" H "\r\n",
     "400", 1, NULL},
    {"9112 3: missing version", "GET /\r\n" H "\r\n", "400", 1, NULL},
    {"9112 2.3: lower-case HTTP name", "GET / http/1.1\r\n" H "\r\n", "400",
     1, NULL},
    {"9112 2.3: HTTP/1.10", "GET / HTTP/1.10\r\n" H "\r\n", "400", 1, NULL},
    {"9110 15.6.6: HTTP/2.0 request line", "GET / HTTP/2.0\r\n" H "\r\n",
     "505", 1, NULL},
    {"9110 15.6.6: HTTP/1.2", "GET / HTTP/1.2\r\n" H "\r\n", "505", 1, NULL},
    {"9110 15.6.6: HTTP/3.0", "GET / HTTP/3.0\r\n" H "\r\n", "505", 1, NULL},
    {"9110 15.6.6: HTTP/0.9", "GET / HTTP/0.9\r\n" H "\r\n", "505", 1, NULL},
    {"9112 3.1: method with '('", "G(T / HTTP/1.1\r\n" H "\r\n", "400", 1,
     NULL},
    {"9112 3.1: method with '@'", "G@T / HTTP/1.1\r\n" H "\r\n", "400", 1,
     NULL},
    {"9112 3.1: method with ':'", "GET: / HTTP/1.1\r\n" H "\r\n", "400", 1,
     NULL},
    {"9112 3.1: empty method", " / HTTP/1.1\r\n" H "\r\n", "400", 1, NULL},
    {"9110 9.1: method is case-sensitive (get)", "get / HTTP/1.1\r\n" H
     "\r\n", "501", 0, NULL},
    {"9110 15.6.2: unknown method", "BREW / HTTP/1.1\r\n" H "\r\n", "501", 0,
     NULL},
    {"9112 2.2: bare LF ends request line", "GET / HTTP/1.1\n" H "\r\n",
     "400", 1, NULL},
    {"9112 2.2: bare CR in request line", "GET /\r HTTP/1.1\r\n" H "\r\n",
     "400", 1, NULL},
    {"9112 2.2: one empty line before request", "\r\nGET / HTTP/1.1\r\n" H
     "\r\n", "200", 0, NULL},
    {"9112 2.2: bare LF before request", "\nGET / HTTP/1.1\r\n" H "\r\n",
     "400", 1, NULL},
    {"9112 3: DEL in target", "GET /\x7f HTTP/1.1\r\n" H "\r\n", "400", 1,
     NULL},
    {"9112 3: NUL in target", "GET /\0 HTTP/1.1\r\n" H "\r\n", "400", 1,
     NULL, sizeof("GET /\0 HTTP/1.1\r\n" H "\r\n") - 1},
    {"9112 3: raw UTF-8 in target", "GET /\xc3\xa9 HTTP/1.1\r\n" H "\r\n",
     "400", 1, NULL},
    {"3986 2.1: percent-encoded target", "GET /user/%34%32 HTTP/1.1\r\n" H
     "\r\n", "404", 0, NULL},
    {"9112 3: HTTP/1.0 request", "GET / HTTP/1.0\r\n\r\n", "200", 1, NULL},
};

/* ---- fields (RFC 9112 section 5, RFC 9110 section 5) ---------------------- */
static const conf field_cases[] = {
    {"9112 3.2: HTTP/1.1 without Host", "GET / HTTP/1.1\r\n\r\n", "400", 1,
     NULL},
    {"9112 3.2: two Host fields", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n"
     "\r\n", "400", 1, NULL},
    {"9110 7.2: Host with a space", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
     "400", 1, NULL},
    {"9110 7.2: Host with a slash", "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n",
     "400", 1, NULL},
    {"9110 7.2: Host with a port", "GET / HTTP/1.1\r\nHost: a:80\r\n\r\n",
     "200", 0, NULL},
    {"9110 7.2: IPv6 literal Host", "GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
     "200", 0, NULL},
    {"9110 7.2: empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", "200", 0,
     NULL},
    {"9112 3.2: HTTP/1.0 without Host", "GET / HTTP/1.0\r\n\r\n", "200", 1,
     NULL},
    {"9112 5.1: space before colon", "GET / HTTP/1.1\r\nHost : t\r\n\r\n",
     "400", 1, NULL},
    {"9112 5.1: tab before colon", "GET / HTTP/1.1\r\n" H "X\t: 1\r\n\r\n",
     "400", 1, NULL},
    {"9112 5.2: obs-fold with space", "GET / HTTP/1.1\r\n" H "X: a\r\n b\r\n"
     "\r\n", "400", 1, NULL},
    {"9112 5.2: obs-fold with tab", "GET / HTTP/1.1\r\n" H "X: a\r\n\tb\r\n"
     "\r\n", "400", 1, NULL},
    {"9112 2.2: whitespace before first field", "GET / HTTP/1.1\r\n " H
     "\r\n", "400", 1, NULL},
    {"9110 5.1: empty field name", "GET / HTTP/1.1\r\n" H ": x\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.1: field without colon", "GET / HTTP/1.1\r\n" H "Nope\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.6.2: '(' in field name", "GET / HTTP/1.1\r\n" H "X(: 1\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.6.2: '\"' in field name", "GET / HTTP/1.1\r\n" H "X\": 1\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.6.2: '@' in field name", "GET / HTTP/1.1\r\n" H "X@: 1\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.6.2: '/' in field name", "GET / HTTP/1.1\r\n" H "X/: 1\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.6.2: '{' in field name", "GET / HTTP/1.1\r\n" H "X{: 1\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.6.2: UTF-8 in field name", "GET / HTTP/1.1\r\n" H
     "X\xc3\xa9: 1\r\n\r\n", "400", 1, NULL},
    {"9110 5.5: NUL in value", "GET / HTTP/1.1\r\n" H "X: a\0b\r\n\r\n",
     "400", 1, NULL, sizeof("GET / HTTP/1.1\r\n" H "X: a\0b\r\n\r\n") - 1},
    {"9110 5.5: 0x01 in value", "GET / HTTP/1.1\r\n" H "X: a\x01" "b\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.5: 0x1f in value", "GET / HTTP/1.1\r\n" H "X: a\x1f" "b\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.5: DEL in value", "GET / HTTP/1.1\r\n" H "X: a\x7f" "b\r\n\r\n",
     "400", 1, NULL},
    {"9110 5.5: ESC in value", "GET / HTTP/1.1\r\n" H "X: a\x1b" "b\r\n\r\n",
     "400", 1, NULL},
    {"9112 2.2: bare CR in value", "GET / HTTP/1.1\r\n" H "X: a\rb\r\n\r\n",
     "400", 1, NULL},
    {"9112 2.2: bare LF between fields", "GET / HTTP/1.1\r\n" H "X: a\nY: b"
     "\r\n\r\n", "400", 1, NULL},
    {"9112 2.2: bare LF ending the head", "GET / HTTP/1.1\r\n" H "\n", "400",
     1, NULL},
    {"9110 5.5: obs-text in value allowed", "GET /hdr HTTP/1.1\r\n" H
     "X-Test: caf\xc3\xa9\r\n\r\n", "200", 0, "[caf\xc3\xa9]|"},
    {"9110 5.5: tab inside value allowed", "GET /hdr HTTP/1.1\r\n" H
     "X-Test: a\tb\r\n\r\n", "200", 0, "[a\tb]|"},
    {"9110 5.5: OWS trimmed", "GET /hdr HTTP/1.1\r\n" H
     "X-Test: \t x y \t\r\n\r\n", "200", 0, "[x y]|"},
    {"9110 5.1: names case-insensitive", "GET /hdr HTTP/1.1\r\n" H
     "x-TEST: 1\r\n\r\n", "200", 0, "[1]|"},
    {"9110 5.3: repeated fields kept in order", "GET /hdr HTTP/1.1\r\n" H
     "X-Test: 1\r\nX-Test: 2\r\n\r\n", "200", 0, "[1][2]|"},
    {"9110 5.5: empty value", "GET /hdr HTTP/1.1\r\n" H "X-Test:\r\n\r\n",
     "200", 0, "[]|"},
    {"6265 5.4: cookie read", "GET /hdr HTTP/1.1\r\n" H
     "Cookie: a=1; sid=xyz; b=2\r\n\r\n", "200", 0, "sid=xyz|"},
    {"9110 10.1.1: unknown expectation", "GET / HTTP/1.1\r\n" H
     "Expect: 200-ok\r\n\r\n", "417", 1, NULL},
};

/* ---- framing (RFC 9112 section 6, RFC 9110 section 8.6) ----------------- */
static const conf framing_cases[] = {
    {"9112 6.2: Content-Length body", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 5\r\n\r\nhello", "200", 0, "hello|"},
    {"9112 6.3(6): no length: no body", "POST /echo HTTP/1.1\r\n" H "\r\n",
     "200", 0, "|"},
    {"9110 8.6: Content-Length 0", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 0\r\n\r\n", "200", 0, "|"},
    {"9110 8.6: identical duplicate Content-Length", "POST /echo HTTP/1.1\r\n"
     H "Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc", "200", 0, "abc|"},
    {"9110 8.6: identical Content-Length list", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 3, 3\r\n\r\nabc", "200", 0, "abc|"},
    {"9112 6.3(5): differing duplicate Content-Length", "POST /echo HTTP/1.1"
     "\r\n" H "Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "400", 1,
     NULL},
    {"9112 6.3(5): differing Content-Length list", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 3, 4\r\n\r\nabcd", "400", 1, NULL},
    {"9110 8.6: Content-Length with '+'", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: +3\r\n\r\nabc", "400", 1, NULL},
    {"9110 8.6: negative Content-Length", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: -3\r\n\r\nabc", "400", 1, NULL},
    {"9110 8.6: hex Content-Length", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 0x3\r\n\r\nabc", "400", 1, NULL},
    {"9110 8.6: Content-Length with inner space", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 1 2\r\n\r\nabc", "400", 1, NULL},
    {"9110 8.6: empty Content-Length", "POST /echo HTTP/1.1\r\n" H
     "Content-Length:\r\n\r\n", "400", 1, NULL},
    {"9110 8.6: Content-Length overflow", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 184467440737095516160\r\n\r\n", "400", 1, NULL},
    {"9110 15.5.14: body over the limit", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 2000000\r\n\r\n", "413", 1, NULL},
    {"9112 6.1: TE and CL together", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0"
     "\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: CL and TE together", "POST /echo HTTP/1.1\r\n" H
     "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400", 1,
     NULL},
    {"9112 6.3(4): TE gzip only", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: gzip\r\n\r\n", "400", 1, NULL},
    {"9112 6.3(4): TE chunked then gzip", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: chunked, gzip\r\n\r\n", "400", 1, NULL},
    {"9112 6.3(4): TE identity", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: identity\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: TE chunked twice", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: chunked, chunked\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: TE across two fields, chunked not last", "POST /echo HTTP/1.1"
     "\r\n" H "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
     "400", 1, NULL},
    {"9112 6.1: TE quoted", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: \"chunked\"\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: TE with parameter", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding: chunked;q=1\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: empty TE", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding:\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: TE in HTTP/1.0", "POST /echo HTTP/1.0\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: gzip before chunked (not implemented)", "POST /echo HTTP/1.1"
     "\r\n" H "Transfer-Encoding: gzip, chunked\r\n\r\n", "501", 1, NULL},
    {"9112 6.1: TE name case-insensitive", "POST /echo HTTP/1.1\r\n" H
     "transfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "200", 0,
     "abc|"},
    {"9112 6.1: TE with space before colon (smuggling)", "POST /echo "
     "HTTP/1.1\r\n" H "Transfer-Encoding : chunked\r\n\r\n", "400", 1, NULL},
    {"9112 6.1: TE with obs-fold (smuggling)", "POST /echo HTTP/1.1\r\n" H
     "Transfer-Encoding:\r\n chunked\r\n\r\n", "400", 1, NULL},
    {"9112 6.3: unread body of a 404 is drained", "POST /nowhere HTTP/1.1\r\n"
     H "Content-Length: 4\r\n\r\nGET GET / HTTP/1.1\r\n" H "\r\n", "404 200", 0,
     NULL},
    {"9112 6.3: unread body of a 405 is drained", "POST / HTTP/1.1\r\n" H
     "Content-Length: 5\r\n\r\nxxxxxGET / HTTP/1.1\r\n" H "\r\n", "405 200", 0,
     NULL},
};

/* ---- chunked (RFC 9112 section 7.1) ----------------------------------------- */
#define CH "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
static const conf chunked_cases[] = {
    {"9112 7.1: two chunks", CH "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "200", 0,
     "abcde|"},
    {"9112 7.1: upper-case hex size", CH "A\r\n0123456789\r\n0\r\n\r\n",
     "200", 0, "0123456789|"},
    {"9112 7.1: leading zeros in size", CH "0003\r\nabc\r\n0\r\n\r\n", "200",
     0, "abc|"},
    {"9112 7.1.1: chunk extension", CH "3;name=val\r\nabc\r\n0\r\n\r\n",
     "200", 0, "abc|"},
    {"9112 7.1.1: quoted extension", CH "3;n=\"a b\"\r\nabc\r\n0\r\n\r\n",
     "200", 0, "abc|"},
    {"9112 7.1.1: BWS before ';'", CH "3 ;n\r\nabc\r\n0\r\n\r\n", "200", 0,
     "abc|"},
    {"9112 7.1.1: extension on last chunk", CH "3\r\nabc\r\n0;x=y\r\n\r\n",
     "200", 0, "abc|"},
    {"9112 7.1.2: trailer fields", CH "3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\n",
     "200", 0, "abc|"},
    {"9112 7.1: empty chunked body", CH "0\r\n\r\n", "200", 0, "|"},
    {"9112 7.1: size with '+'", CH "+3\r\nabc\r\n0\r\n\r\n", "400", 1, NULL},
    {"9112 7.1: size with '-'", CH "-3\r\nabc\r\n0\r\n\r\n", "400", 1, NULL},
    {"9112 7.1: size with 0x", CH "0x3\r\nabc\r\n0\r\n\r\n", "400", 1, NULL},
    {"9112 7.1: space before size", CH " 3\r\nabc\r\n0\r\n\r\n", "400", 1,
     NULL},
    {"9112 7.1: space after size without extension", CH "3 \r\nabc\r\n0\r\n"
     "\r\n", "400", 1, NULL},
    {"9112 7.1: size overflow", CH "fffffffffffffffff\r\nabc\r\n", "400", 1,
     NULL},
    {"9112 7.1: non-hex size", CH "g\r\nabc\r\n", "400", 1, NULL},
    {"9112 7.1: missing size", CH "\r\nabc\r\n", "400", 1, NULL},
    {"9112 7.1: bare LF after size", CH "3\nabc\r\n0\r\n\r\n", "400", 1,
     NULL},
    {"9112 7.1: bare CR after size", CH "3\rabc\r\n0\r\n\r\n", "400", 1,
     NULL},
    {"9112 7.1: data longer than size", CH "3\r\nabcd\r\n0\r\n\r\n", "400", 1,
     NULL},
    {"9112 7.1: bare LF after data", CH "3\r\nabc\n0\r\n\r\n", "400", 1,
     NULL},
    {"9112 7.1.1: control char in extension", CH "3;a\x01\r\nabc\r\n0\r\n\r\n",
     "400", 1, NULL},
    {"9112 7.1.2: obs-fold in trailer", CH "0\r\nX: a\r\n b\r\n\r\n", "400", 1,
     NULL},
    {"9112 7.1.2: space before colon in trailer", CH "0\r\nX : a\r\n\r\n",
     "400", 1, NULL},
    {"9112 7.1.2: control char in trailer value", CH "0\r\nX: a\x01\r\n\r\n",
     "400", 1, NULL},
    {"9112 7.1: chunks over the body limit", CH "100001\r\n", "413", 1, NULL},
    {"9112 7.1: chunked then pipelined GET", CH "1\r\na\r\n0\r\n\r\n"
     "GET / HTTP/1.1\r\n" H "\r\n", "200 200", 0, "a|hello|"},
};

/* ---- pipelining and connection management (RFC 9112 9.3, 9.6, 9.8) ------ */
static const conf conn_cases[] = {
    {"9112 9.3: 1.1 is persistent", "GET / HTTP/1.1\r\n" H "\r\n", "200", 0,
     NULL},
    {"9112 9.6: Connection: close", "GET / HTTP/1.1\r\n" H
     "Connection: close\r\n\r\n", "200", 1, NULL},
    {"9112 9.6: close among other options", "GET / HTTP/1.1\r\n" H
     "Connection: foo, Close\r\n\r\n", "200", 1, NULL},
    {"9112 9.3: 1.0 closes by default", "GET / HTTP/1.0\r\n\r\n", "200", 1,
     NULL},
    {"9112 9.3: 1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive"
     "\r\n\r\n", "200", 0, NULL},
    {"9112 9.3.2: two pipelined GETs", "GET / HTTP/1.1\r\n" H "\r\nGET "
     "/user/7 HTTP/1.1\r\n" H "\r\n", "200 200", 0, "hello|7|"},
    {"9112 9.3.2: ten pipelined GETs",
     "GET / HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n"
     "GET / HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n"
     "GET / HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n"
     "GET / HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n"
     "GET / HTTP/1.1\r\n" H "\r\nGET /user/1 HTTP/1.1\r\n" H "\r\n",
     "200 200 200 200 200 200 200 200 200 200", 0, NULL},
    {"9112 9.3.2: pipelined mixed statuses in order", "GET /nope HTTP/1.1\r\n"
     H "\r\nPOST /echo HTTP/1.1\r\n" H "Content-Length: 2\r\n\r\nokGET /fail "
     "HTTP/1.1\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n", "404 200 500 200", 0,
     "Not Found\n|ok|Internal Server Error\n|hello|"},
    {"9112 9.3.2: slow handler keeps the order", "GET /slow HTTP/1.1\r\n" H
     "\r\nGET / HTTP/1.1\r\n" H "\r\n", "200 200", 0, "slept|hello|"},
    {"9112 9.6: close in the middle of a pipeline", "GET / HTTP/1.1\r\n" H
     "Connection: close\r\n\r\nGET / HTTP/1.1\r\n" H "\r\n", "200", 1, NULL},
    {"9112 9.3.2: error in pipeline stops it", "GET / HTTP/1.1\r\n" H "\r\n"
     "GET / HTTP/9.9\r\n" H "\r\nGET / HTTP/1.1\r\n" H "\r\n", "200 505", 1,
     NULL},
    {"9110 10.1.1: 100-continue with body", "POST /echo HTTP/1.1\r\n" H
     "Expect: 100-continue\r\nContent-Length: 2\r\n\r\nhi", "200", 0, "hi|"},
    {"9110 9.3.2: HEAD has no body", "HEAD / HTTP/1.1\r\n" H "\r\n", "200", 0,
     "|"},
    {"9110 9.3.7: OPTIONS answered with 204", "OPTIONS / HTTP/1.1\r\n" H
     "\r\n", "204", 0, NULL},
    {"9110 15.5.6: 405 on wrong method", "DELETE / HTTP/1.1\r\n" H "\r\n",
     "405", 0, NULL},
    {"9110 15.5.5: 404 on typed mismatch", "GET /user/abc HTTP/1.1\r\n" H
     "\r\n", "404", 0, NULL},
    {"9110 15.6.1: handler error is 500", "GET /fail HTTP/1.1\r\n" H "\r\n",
     "500", 0, "Internal Server Error\n|"},
    {"9110 15.6.1: handler without response is 500", "GET /misc/none "
     "HTTP/1.1\r\n" H "\r\n", "500", 0, NULL},
    {"9110 15.3.5: empty response", "GET /misc/empty HTTP/1.1\r\n" H "\r\n",
     "204", 0, "|"},
    {"9110 15.4.3: redirect", "GET /misc/redirect HTTP/1.1\r\n" H "\r\n",
     "302", 0, "|"},
    {"9110 15.3.2: html with 201", "GET /misc/html HTTP/1.1\r\n" H "\r\n",
     "201", 0, "<b>hi</b>|"},
    {"8259: JSON response", "GET /json HTTP/1.1\r\n" H "\r\n", "200", 0,
     "{\"hello\":\"world\"}|"},
    {"8259: JSON request body", "POST /json HTTP/1.1\r\n" H
     "Content-Length: 7\r\n\r\n[1,2,3]", "200", 0,
     "{\"hello\":\"world\",\"got\":[1,2,3]}|"},
    {"WHATWG urlencoded: repeated args", "GET /args?a=1&b=2&a=x+y&a=%41 "
     "HTTP/1.1\r\n" H "\r\n", "200", 0, "[1][x y][A]|"},
    {"WHATWG urlencoded: form body", "POST /form HTTP/1.1\r\n" H
     "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 16"
     "\r\n\r\nname=J%C3%B6rg+M", "200", 0, "J\xc3\xb6rg M|"},
    {"9112 3.2: trailing slash ignored (strict_slashes=False)", "GET /user/5/"
     " HTTP/1.1\r\n" H "\r\n", "200", 0, "5|"},
};

static void conformance_request_line(void **state)
{
    (void)state;
    run_table(request_line_cases,
              sizeof(request_line_cases) / sizeof(request_line_cases[0]));
}

static void conformance_fields(void **state)
{
    (void)state;
    run_table(field_cases, sizeof(field_cases) / sizeof(field_cases[0]));
}

static void conformance_framing(void **state)
{
    (void)state;
    run_table(framing_cases, sizeof(framing_cases) / sizeof(framing_cases[0]));
}

static void conformance_chunked(void **state)
{
    (void)state;
    run_table(chunked_cases, sizeof(chunked_cases) / sizeof(chunked_cases[0]));
}

static void conformance_connection(void **state)
{
    (void)state;
    run_table(conn_cases, sizeof(conn_cases) / sizeof(conn_cases[0]));
}

/* ---- limits (RFC 9110 15.5.15, RFC 6585 5) --------------------------------- */
static void limits_live(void **state)
{
    (void)state;
    static char big[70000];
    conf c = {"9110 15.5.15: request line over 8190 bytes", big, "414", 1,
              NULL};
    int n = snprintf(big, sizeof(big), "GET /%09000d HTTP/1.1\r\n" H "\r\n",
                     0);
    assert_true(run_case(&c, (size_t)n));
    c.clause = "6585 5: one field over 8190 bytes";
    c.want = "431";
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n" H "X: %09000d\r\n\r\n",
                 0);
    assert_true(run_case(&c, (size_t)n));
    c.clause = "6585 5: head over 16 KiB";
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n" H);
    for (int i = 0; i < 5; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: %04000d\r\n", i,
                      0);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    assert_true(run_case(&c, (size_t)n));
    c.clause = "6585 5: 101 fields";
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n" H);
    for (int i = 0; i < 101; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: y\r\n", i);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    assert_true(run_case(&c, (size_t)n));
    c.clause = "6585 5: 100 fields are fine";
    c.want = "200";
    c.closes = 0;
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\n" H);
    for (int i = 0; i < 99; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: y\r\n", i);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    assert_true(run_case(&c, (size_t)n));
}

/* ---- timeouts -------------------------------------------------------------- */
static void head_timeout_408(void **state)
{
    (void)state;
    int fd = tu_dial();
    assert_int_equal(write(fd, "GET / HT", 8), 8);
    char got[64], bodies[256];
    /* head_timeout is 1 s: a 408 and the close arrive within 3 s. */
    assert_int_equal(read_responses(fd, 1, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 1);
    assert_string_equal(got, "408");
    assert_true(closed_within(fd, 3000));
    close(fd);
}

static void slow_head_gets_no_extension(void **state)
{
    (void)state;
    /* One byte every 300 ms: the deadline counts from the first byte, so
     * the server answers 408 after about 1 s, not never. */
    int fd = tu_dial();
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    int answered = 0;
    for (size_t i = 0; i < strlen(req); i++) {
        if (write(fd, req + i, 1) != 1)
            break;
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 300) > 0) {
            answered = 1;
            break;
        }
    }
    assert_true(answered);
    char got[64], bodies[256];
    assert_int_equal(read_responses(fd, 1, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 1);
    assert_string_equal(got, "408");
    gettimeofday(&t1, NULL);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_usec - t0.tv_usec) / 1000;
    assert_true(ms >= 800 && ms < 4000);
    close(fd);
}

static void idle_keep_alive_closed(void **state)
{
    (void)state;
    int fd = tu_dial();
    const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char got[64], bodies[256];
    assert_int_equal(read_responses(fd, 1, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 1);
    assert_false(closed_within(fd, 500));  /* still open after 0.5 s */
    assert_true(closed_within(fd, 4000));  /* closed by 2 s of idleness */
    close(fd);
}

static void body_timeout_408(void **state)
{
    (void)state;
    int fd = tu_dial();
    const char *req = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10"
                      "\r\n\r\nabc";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char got[64], bodies[256];
    assert_int_equal(read_responses(fd, 1, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 1);
    assert_string_equal(got, "408");
    close(fd);
}

/* ---- real clients ------------------------------------------------------------ */
static void curl_keep_alive_and_head(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char out[8192];
    /* Two URLs in one curl: the second reuses the connection. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -sv http://127.0.0.1:%d/ "
                        "http://127.0.0.1:%d/user/42 2>&1",
                        g_port, g_port), 0);
    assert_non_null(strstr(out, "hello"));
    assert_non_null(strstr(out, "42"));
    assert_true(strstr(out, "Re-using existing connection") ||
                strstr(out, "Reusing existing connection"));
    /* HEAD: headers with the GET's Content-Length, no body. */
    assert_int_equal(tu_sh(out, sizeof(out), "curl -sI http://127.0.0.1:%d/",
                        g_port), 0);
    assert_non_null(strstr(out, "HTTP/1.1 200 OK"));
    assert_non_null(strstr(out, "Content-Length: 5"));
    assert_null(strstr(out, "hello"));
    /* Cookies with attributes. */
    assert_int_equal(tu_sh(out, sizeof(out), "curl -si http://127.0.0.1:%d"
                        "/misc/cookie", g_port), 0);
    assert_non_null(strstr(out, "Set-Cookie: sid=abc; Path=/; HttpOnly"));
    /* Remote address. */
    assert_int_equal(tu_sh(out, sizeof(out), "curl -s http://127.0.0.1:%d"
                        "/misc/remote", g_port), 0);
    assert_non_null(strstr(out, "127.0.0.1"));
}

static void curl_chunked_upload_and_continue(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char out[300000];
    /* 200 KB chunked upload (curl reads stdin with chunked encoding). */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "head -c 200000 /dev/zero | tr '\\0' x | "
                        "curl -s -H 'Transfer-Encoding: chunked' "
                        "--data-binary @- http://127.0.0.1:%d/echo | wc -c",
                        g_port), 0);
    assert_int_equal(atoi(out), 200000);
    /* Expect: 100-continue: curl waits for the interim response. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -sv -H 'Expect: 100-continue' -d 'abc' "
                        "http://127.0.0.1:%d/echo 2>&1", g_port), 0);
    assert_non_null(strstr(out, "HTTP/1.1 100 Continue"));
    assert_non_null(strstr(out, "abc"));
}

static void python_http_client(void **state)
{
    (void)state;
    if (!tu_have("python3"))
        skip();
    char out[4096];
    int rc = tu_sh(out, sizeof(out),
                "python3 -c '"
                "import http.client, json\n"
                "c = http.client.HTTPConnection(\"127.0.0.1\", %d, timeout=5)\n"
                "for i in range(3):\n"
                "    c.request(\"GET\", \"/user/%%d\" %% i)\n"
                "    r = c.getresponse(); print(r.status, r.read().decode())\n"
                "c.request(\"POST\", \"/json\", body=json.dumps({\"k\": [1]}),"
                " headers={\"Content-Type\": \"application/json\"})\n"
                "r = c.getresponse(); print(r.status, json.loads(r.read()))\n"
                "c.request(\"PUT\", \"/echo\", body=iter([b\"ab\", b\"cd\"]),"
                " encode_chunked=True)\n"
                "r = c.getresponse(); print(r.status, r.read().decode())\n"
                "c.request(\"GET\", \"/nope\")\n"
                "r = c.getresponse(); print(r.status, r.read().decode().strip())\n"
                "' 2>&1", g_port);
    print_message("%s", out);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "200 0\n200 1\n200 2\n"
                             "200 {'hello': 'world', 'got': {'k': [1]}}\n"
                             "200 abcd\n404 Not Found\n");
}

static void many_connections(void **state)
{
    (void)state;
    enum { N = 200 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = tu_dial();
    const char *req = "GET /user/9 HTTP/1.1\r\nHost: t\r\n\r\n";
    for (int i = 0; i < N; i++)
        assert_int_equal(write(fds[i], req, strlen(req)),
                         (ssize_t)strlen(req));
    for (int i = 0; i < N; i++) {
        char got[64], bodies[256];
        assert_int_equal(read_responses(fds[i], 1, 0, got, sizeof(got),
                                        bodies, sizeof(bodies)), 1);
        assert_string_equal(bodies, "9|");
        close(fds[i]);
    }
}

static void streaming_chunked_and_sse(void **state)
{
    (void)state;
    /* Raw HTTP/1.1: chunked, then the connection is reusable. */
    int fd = tu_dial();
    const char *req = "GET /stream HTTP/1.1\r\nHost: t\r\n\r\n"
                      "GET /user/3 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char got[64], bodies[256];
    assert_int_equal(read_responses(fd, 2, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 2);
    assert_string_equal(got, "200 200");
    assert_string_equal(bodies, "abc|3|");
    close(fd);
    /* HTTP/1.0: no chunked coding, the body ends with the connection. */
    fd = tu_dial();
    req = "GET /stream HTTP/1.0\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char all[1024];
    size_t n = 0;
    ssize_t g;
    while (n < sizeof(all) - 1 && (g = read(fd, all + n, sizeof(all) - 1 - n)) > 0)
        n += (size_t)g;
    all[n] = '\0';
    close(fd);
    assert_null(strstr(all, "chunked"));
    assert_non_null(strstr(all, "Connection: close"));
    assert_non_null(strstr(all, "X-Streamed: yes"));
    assert_non_null(strstr(all, "\r\n\r\nabc"));
    /* HEAD: the head only. */
    fd = tu_dial();
    req = "HEAD /stream HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    assert_int_equal(read_responses(fd, 1, 1, got, sizeof(got), bodies,
                                    sizeof(bodies)), 1);
    assert_string_equal(bodies, "|");
    close(fd);
    if (!tu_have("curl"))
        skip();
    char out[4096];
    /* curl -N (no buffering) on the SSE endpoint, released by a second
     * curl once the first event is out. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "f=$(mktemp); (curl -sN --max-time 10 "
                        "http://127.0.0.1:%d/sse > $f &) ; for i in "
                        "$(seq 100); do grep -q 'data: 1' $f && break; "
                        "sleep 0.05; done; grep -c 'data: 1' $f; "
                        "curl -s http://127.0.0.1:%d/sse-go >/dev/null; "
                        "for i in $(seq 100); do grep -q done $f && "
                        "break; sleep 0.05; done; cat $f; rm -f $f",
                        g_port, g_port), 0);
    print_message("%s", out);
    assert_string_equal(out, "1\n"
                             "event: tick\ndata: 1\n\n"
                             "event: tick\nid: 7\ndata: 2\ndata: line\n\n"
                             "data: done\n\n");
    assert_int_equal(tu_sh(out, sizeof(out), "curl -siN http://127.0.0.1:%d"
                        "/stream", g_port), 0);
    assert_non_null(strstr(out, "Transfer-Encoding: chunked"));
    assert_non_null(strstr(out, "\r\n\r\nabc"));
}

static void curl_multipart_form(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char out[4096];
    assert_int_equal(tu_sh(out, sizeof(out),
                        "f=$(mktemp); printf 'line1\\r\\n--not a "
                        "boundary\\n' > $f; curl -s -F 'title=Hi there' "
                        "-F 'title=again' -F \"up=@$f;type=text/x-demo;"
                        "filename=notes.txt\" http://127.0.0.1:%d/upload; "
                        "rm -f $f", g_port), 0);
    print_message("%s\n", out);
    assert_string_equal(out, "title=Hi there title2=again "
                             "file=notes.txt/text/x-demo/24/"
                             "line1\r\n--not a boundary\n");
    /* A field named like the file is not a file, and the reverse. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s -F 'up=text only' "
                        "http://127.0.0.1:%d/upload", g_port), 0);
    assert_string_equal(out, "title=- title2=- file=-/-/0/");
}

static void python_reads_sse_as_it_comes(void **state)
{
    (void)state;
    if (!tu_have("python3"))
        skip();
    char out[4096];
    /* The first event is read while the handler waits for /sse-go: it was
     * sent before the end of the response. */
    int rc = tu_sh(out, sizeof(out),
                "python3 -c '"
                "import http.client\n"
                "c = http.client.HTTPConnection(\"127.0.0.1\", %d, timeout=5)\n"
                "c.request(\"GET\", \"/sse\")\n"
                "r = c.getresponse()\n"
                "print(r.status, r.getheader(\"Content-Type\"),"
                " r.getheader(\"Cache-Control\"))\n"
                "print(repr(r.readline()), repr(r.readline()),"
                " repr(r.readline()))\n"
                "g = http.client.HTTPConnection(\"127.0.0.1\", %d, timeout=5)\n"
                "g.request(\"GET\", \"/sse-go\"); g.getresponse().read()\n"
                "print(repr(r.read()))\n"
                "c.request(\"GET\", \"/stream\")\n"
                "r = c.getresponse(); print(r.status, r.read().decode())\n"
                "' 2>&1", g_port, g_port);
    print_message("%s", out);
    assert_int_equal(rc, 0);
    assert_string_equal(out,
                        "200 text/event-stream no-cache\n"
                        "b'event: tick\\n' b'data: 1\\n' b'\\n'\n"
                        "b'event: tick\\nid: 7\\ndata: 2\\ndata: line\\n\\n"
                        "data: done\\n\\n'\n"
                        "200 abc\n");
}

/* A client that never reads: the streaming handler is suspended in its
 * write, so what it produced (and what the server holds) stays bounded by
 * the socket buffers and one chunk, not the 256 MiB it wants to send. */
static void stream_back_pressure(void **state)
{
    (void)state;
    int fd = tu_dial();
    int small = 65536;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    const char *req = "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    long long prev = -1, now = 0;
    for (int i = 0; i < 50; i++) { /* until it stops growing, <= 5 s */
        usleep(100 * 1000);
        now = tu_flood_written;
        if (now == prev && now > 0)
            break;
        prev = now;
    }
    print_message("written while the client does not read: %lld bytes\n",
                  now);
    assert_true(now == prev);
    assert_true(now < (32LL << 20));
    assert_int_equal(tu_flood_rc, 1); /* still writing: suspended */
    /* The client goes away: the write fails and the handler ends. */
    close(fd);
    for (int i = 0; i < 100 && tu_flood_rc == 1; i++)
        usleep(50 * 1000);
    assert_true(tu_flood_rc < 0);
    /* The server still serves. */
    fd = tu_dial();
    req = "GET /user/4 HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    char got[64], bodies[256];
    assert_int_equal(read_responses(fd, 1, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 1);
    assert_string_equal(bodies, "4|");
    close(fd);
}

/* ---- server close while handlers run ---------------------------------------- */
static int cancelled;

static int h_forever(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)res, (void)a;
    int r = cio_sleep(60 * CIO_SEC);
    if (r == -ECANCELED)
        cancelled++;
    return r;
}

typedef struct close_state {
    int port;
    int done;
} close_state;

static void *client_forever(void *arg)
{
    close_state *s = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)s->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) {
        const char *req = "GET /forever HTTP/1.1\r\nHost: t\r\n\r\n";
        if (write(fd, req, strlen(req)) > 0) {
            char b[256];
            while (read(fd, b, sizeof(b)) > 0)
                ;
        }
    }
    close(fd);
    s->done = 1;
    return NULL;
}

static int close_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "close"), 0);
    assert_int_equal(cio_http_route(app, "/forever", h_forever, NULL, 0), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.shutdown_timeout = 300 * CIO_MS; /* then the handler is cancelled */
    assert_int_equal(cio_http_app_configure(app, &cfg), 0);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    assert_int_equal(cio_http_route(app, "/x", h_forever, NULL, 0), -EBUSY);
    close_state s = {cio_http_server_port(srv), 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_forever, &s), 0);
    for (int i = 0; i < 5000 && cancelled == 0; i++) {
        cio_sleep(CIO_MS);
        if (i == 300)
            break; /* the handler is surely sleeping by now */
    }
    assert_int_equal(cio_http_server_close(srv), 0);
    assert_int_equal(cancelled, 1);
    pthread_join(th, NULL);
    assert_true(s.done);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

static void server_close_cancels_handlers(void **state)
{
    (void)state;
    cancelled = 0;
    assert_int_equal(cio_run(close_main, NULL, NULL), 0);
}

/* ---- middleware, blueprints, error handlers ---------------------------------- */
static int mw_req(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cio_http_request_set_ctx(req, "app");
    if (cio_http_request_header(req, "x-block", 0, NULL))
        return cio_http_response_text(res, 403, "blocked");
    return 0;
}

static int mw_res(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req;
    return cio_http_response_header(res, "X-Mw", a);
}

static int bp_req(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)res, (void)a;
    /* Runs after the app's request middleware: sees its context. */
    const char *prev = cio_http_request_ctx(req);
    cio_http_request_set_ctx(req, prev && strcmp(prev, "app") == 0
                                      ? "app+bp" : "bp-only");
    return 0;
}

static int bp_item(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char out[128];
    snprintf(out, sizeof(out), "item %s ctx=%s",
             cio_http_request_param(req, "id", NULL),
             (const char *)cio_http_request_ctx(req));
    return cio_http_response_text(res, 200, out);
}

static int on_404(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_json_text(res, 404, "{\"error\":\"not found\"}");
}

typedef struct fetch_job {
    int port;
    const char *reqs[12];
    char out[12][2048];
    int done;
} fetch_job;

static void *fetcher(void *arg)
{
    fetch_job *j = arg;
    for (int i = 0; j->reqs[i]; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET,
                                .sin_port = htons((uint16_t)j->port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        size_t o = 0;
        if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
            write(fd, j->reqs[i], strlen(j->reqs[i])) > 0) {
            ssize_t n;
            while (o + 1 < sizeof(j->out[i]) &&
                   (n = read(fd, j->out[i] + o, sizeof(j->out[i]) - 1 - o)) >
                       0)
                o += (size_t)n;
        }
        j->out[i][o] = '\0';
        close(fd);
    }
    __atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int mw_main(void *arg, void **result)
{
    (void)result;
    fetch_job *j = arg;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "mw"), 0);
    assert_int_equal(cio_http_route(app, "/", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/fail", h_fail, NULL, 0), 0);
    assert_int_equal(cio_http_app_middleware(app, CIO_HTTP_MW_REQUEST, mw_req,
                                             NULL), 0);
    assert_int_equal(cio_http_app_middleware(app, CIO_HTTP_MW_RESPONSE,
                                             mw_res, "app"), 0);
    assert_int_equal(cio_http_app_middleware(app, 7, mw_res, NULL), -EINVAL);
    cio_http_blueprint *bp;
    assert_int_equal(cio_http_blueprint_new(&bp, "api", "/api/"), -EINVAL);
    assert_int_equal(cio_http_blueprint_new(&bp, "api", "/api"), 0);
    assert_int_equal(cio_http_blueprint_route(bp, "/items/<id:int>", bp_item,
                                              NULL, 0), 0);
    assert_int_equal(cio_http_blueprint_route(bp, "/", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_blueprint_middleware(bp, CIO_HTTP_MW_REQUEST,
                                                   bp_req, NULL), 0);
    assert_int_equal(cio_http_blueprint_middleware(bp, CIO_HTTP_MW_RESPONSE,
                                                   mw_res, "bp"), 0);
    assert_int_equal(cio_http_app_blueprint(app, bp), 0);
    assert_int_equal(cio_http_app_blueprint(app, bp), -EBUSY);
    /* A second blueprint clashing with the first: refused, named. */
    cio_http_blueprint *bp2;
    assert_int_equal(cio_http_blueprint_new(&bp2, "dup", "/api"), 0);
    assert_int_equal(cio_http_blueprint_route(bp2, "/items/<n:int>", bp_item,
                                              NULL, 0), 0);
    assert_int_equal(cio_http_app_blueprint(app, bp2), -EEXIST);
    assert_non_null(strstr(cio_http_app_error(app), "/api/items/<n:int>"));
    assert_int_equal(cio_http_app_error_handler(app, 404, on_404, NULL), 0);
    assert_int_equal(cio_http_app_error_handler(app, 399, on_404, NULL),
                     -EINVAL);
    assert_int_equal(cio_http_app_error_handler(app, 600, on_404, NULL),
                     -EINVAL);
    assert_int_equal(cio_http_app_error_handler(app, 404, NULL, NULL),
                     -EINVAL);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    j->port = cio_http_server_port(srv);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fetcher, j), 0);
    while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
        cio_sleep(CIO_MS);
    pthread_join(th, NULL);
    assert_int_equal(cio_http_server_close(srv), 0);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

#define CLOSE_REQ(path, extra)                                                \
    "GET " path " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" extra "\r\n"

static void middleware_blueprints_errors(void **state)
{
    (void)state;
    static fetch_job j;
    memset(&j, 0, sizeof(j));
    j.reqs[0] = CLOSE_REQ("/", "");
    j.reqs[1] = CLOSE_REQ("/", "X-Block: 1\r\n");
    j.reqs[2] = CLOSE_REQ("/api/items/7", "");
    j.reqs[3] = CLOSE_REQ("/api", "");
    j.reqs[4] = CLOSE_REQ("/nothing/here", "");
    j.reqs[5] = CLOSE_REQ("/fail", "");
    assert_int_equal(cio_run(mw_main, &j, NULL), 0);
    /* App middleware on an app route. */
    assert_non_null(strstr(j.out[0], "200 OK"));
    assert_non_null(strstr(j.out[0], "X-Mw: app"));
    assert_null(strstr(j.out[0], "X-Mw: bp"));
    /* A request middleware answered: no handler, response mw still ran. */
    assert_non_null(strstr(j.out[1], "403 Forbidden"));
    assert_non_null(strstr(j.out[1], "blocked"));
    assert_non_null(strstr(j.out[1], "X-Mw: app"));
    /* Blueprint route: app then bp request mw; bp then app response mw
     * (bp's header first, the app's appended after it). */
    assert_non_null(strstr(j.out[2], "item 7 ctx=app+bp"));
    char *bph = strstr(j.out[2], "X-Mw: bp"), *apph = strstr(j.out[2],
                                                            "X-Mw: app");
    assert_non_null(bph);
    assert_non_null(apph);
    assert_true(bph < apph);
    assert_non_null(strstr(j.out[3], "hello"));
    /* Custom 404. */
    assert_non_null(strstr(j.out[4], "404 Not Found"));
    assert_non_null(strstr(j.out[4], "{\"error\":\"not found\"}"));
    assert_non_null(strstr(j.out[4], "X-Mw: app"));
    /* Handler failure: 500 without detail. */
    assert_non_null(strstr(j.out[5], "500 Internal Server Error"));
    assert_null(strstr(j.out[5], "input/output"));
}

/* ---- error handlers for every status ---------------------------------------- */
/* The catch-all: "<label> <status> m=<method> p=<path>", after a
 * suspension (error handlers run on the connection's task). */
static int eh_any(cio_http_request *req, cio_http_response *res, void *a)
{
    if (cio_sleep(0) < 0)
        return -ECANCELED;
    size_t ml = 0, pl = 0;
    const char *m = cio_http_request_method(req, &ml);
    const char *p = cio_http_request_path(req, &pl);
    int st = cio_http_response_get_status(res);
    char out[256];
    snprintf(out, sizeof(out), "%s %d m=%.*s p=%.*s", (const char *)a, st,
             (int)ml, m, (int)pl, p);
    int r = cio_http_response_text(res, st, out);
    if (r == 0)
        r = cio_http_response_header(res, "X-Errh", a);
    return r;
}

static int eh_fails(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    cio_http_response_text(res, 401, "half-set");
    return -EIO; /* the default goes out instead */
}

static int eh_nothing(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)res, (void)a;
    return 0; /* sets nothing: the default goes out */
}

static int h_abort(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cio_http_response_text(res, 200, "not this");
    return -atoi(cio_http_request_param(req, "code", NULL));
}

static int start_errh_server(void **state)
{
    (void)state;
    assert_int_equal(cio_http_app_new(&g_app, "errh"), 0);
    assert_int_equal(cio_http_route(g_app, "/", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/abort/<code:int>", h_abort,
                                    NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/fail", h_fail, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/echo", h_echo, NULL,
                                    CIO_HTTP_POST), 0);
    assert_int_equal(cio_http_app_error_handler(g_app, 404, on_404, NULL), 0);
    assert_int_equal(cio_http_app_error_handler(g_app, 401, eh_fails, NULL),
                     0);
    assert_int_equal(cio_http_app_error_handler(g_app, 503, eh_nothing,
                                                NULL), 0);
    assert_int_equal(cio_http_app_error_handler(g_app, CIO_HTTP_ERROR_ANY,
                                                eh_any, "app"), 0);
    cio_http_blueprint *bp;
    assert_int_equal(cio_http_blueprint_new(&bp, "bp", "/bp"), 0);
    assert_int_equal(cio_http_blueprint_route(bp, "/abort/<code:int>",
                                              h_abort, NULL, 0), 0);
    assert_int_equal(cio_http_blueprint_route(bp, "/fail", h_fail, NULL, 0),
                     0);
    assert_int_equal(cio_http_blueprint_error_handler(bp, 403, eh_any,
                                                      "bp403"), 0);
    assert_int_equal(cio_http_blueprint_error_handler(bp, 0, eh_any,
                                                      "bpany"), 0);
    assert_int_equal(cio_http_blueprint_error_handler(bp, 700, eh_any, NULL),
                     -EINVAL);
    assert_int_equal(cio_http_app_blueprint(g_app, bp), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.head_timeout = 1 * CIO_SEC;
    cfg.body_timeout = 1 * CIO_SEC;
    cfg.max_body = 100;
    cfg.max_request_line = 200;
    cfg.max_headers = 10;
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);
    tu_http_start();
    /* Registration while running is refused. */
    assert_int_equal(cio_http_app_error_handler(g_app, 400, eh_any, "x"),
                     -EBUSY);
    return 0;
}

/* Sends req, reads the answer until the server closes (3 s at most). */
static void exchange(const char *req, size_t len, char *out, size_t cap)
{
    int fd = tu_dial();
    size_t o = 0;
    if (write(fd, req, len) == (ssize_t)len) {
        for (;;) {
            struct pollfd pf = {fd, POLLIN, 0};
            if (poll(&pf, 1, 3000) <= 0 || o + 1 >= cap)
                break;
            ssize_t n = read(fd, out + o, cap - 1 - o);
            if (n <= 0)
                break;
            o += (size_t)n;
        }
    }
    out[o] = '\0';
    close(fd);
}

typedef struct errh_case {
    const char *what;
    const char *req; /* NULL: built in the test */
    const char *status_line;
    const char *body; /* must appear */
    const char *absent; /* must not appear (NULL: nothing) */
} errh_case;

#define CL "Connection: close\r\n"

static void error_handlers_every_status(void **state)
{
    (void)state;
    static char longline[400], manyhdrs[600];
    snprintf(longline, sizeof(longline), "GET /%0300d HTTP/1.1\r\n" H "\r\n",
             0);
    int n = snprintf(manyhdrs, sizeof(manyhdrs), "GET / HTTP/1.1\r\n" H);
    for (int i = 0; i < 12; i++)
        n += snprintf(manyhdrs + n, sizeof(manyhdrs) - (size_t)n,
                      "X%d: y\r\n", i);
    snprintf(manyhdrs + n, sizeof(manyhdrs) - (size_t)n, "\r\n");
    const errh_case cases[] = {
        /* The server's rejections before routing (Connection: close). */
        {"400 malformed field", "GET / HTTP/1.1\r\n" H "Bad Field\r\n\r\n",
         "HTTP/1.1 400 Bad Request", "app 400 m= p=", NULL},
        {"408 head too slow", "GET / HT", "HTTP/1.1 408 Request Timeout",
         "app 408 m= p=", NULL},
        {"408 body too slow",
         "POST /echo HTTP/1.1\r\n" H "Content-Length: 10\r\n\r\nabc",
         "HTTP/1.1 408 Request Timeout", "app 408 m=POST p=/echo", NULL},
        {"413 declared length",
         "POST /echo HTTP/1.1\r\n" H "Content-Length: 1000\r\n\r\n",
         "HTTP/1.1 413 Content Too Large", "app 413 m= p=", NULL},
        {"413 chunked body",
         "POST /echo HTTP/1.1\r\n" H "Transfer-Encoding: chunked\r\n\r\n"
         "c8\r\n"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n"
         "0\r\n\r\n",
         "HTTP/1.1 413 Content Too Large", "app 413 m=POST p=/echo", NULL},
        {"414 request line", longline, "HTTP/1.1 414 URI Too Long",
         "app 414 m= p=", NULL},
        {"431 field count", manyhdrs,
         "HTTP/1.1 431 Request Header Fields Too Large", "app 431 m= p=",
         NULL},
        {"505 version", "GET / HTTP/3.0\r\n" H "\r\n",
         "HTTP/1.1 505 HTTP Version Not Supported", "app 505 m= p=", NULL},
        /* Found while dispatching (the connection stays usable). */
        {"404 per-status handler", "GET /nothing HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 404 Not Found", "{\"error\":\"not found\"}", "X-Errh"},
        {"405 with Allow", "POST / HTTP/1.1\r\n" H CL
         "Content-Length: 0\r\n\r\n",
         "HTTP/1.1 405 Method Not Allowed", "app 405 m=POST p=/", NULL},
        {"405 keeps Allow", "POST / HTTP/1.1\r\n" H CL
         "Content-Length: 0\r\n\r\n", "Allow: GET, HEAD", "X-Errh: app",
         NULL},
        {"500 handler failed", "GET /fail HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 500 Internal Server Error", "app 500 m=GET p=/fail",
         NULL},
        {"501 unknown method", "BREW / HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 501 Not Implemented", "app 501 m=BREW p=/", NULL},
        {"403 by -status", "GET /abort/403 HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 403 Forbidden", "app 403 m=GET p=/abort/403", "not this"},
        {"401 handler fails: default", "GET /abort/401 HTTP/1.1\r\n" H CL
         "\r\n", "HTTP/1.1 401 Unauthorized", "\r\n\r\nUnauthorized",
         "half-set"},
        {"503 handler sets nothing: default",
         "GET /abort/503 HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 503 Service Unavailable", "\r\n\r\nService Unavailable",
         "X-Errh"},
        {"422 by -status, catch-all", "GET /abort/422 HTTP/1.1\r\n" H CL
         "\r\n", "HTTP/1.1 422 Unprocessable Content",
         "app 422 m=GET p=/abort/422", NULL},
        /* Blueprint handlers first on its routes, then the app's. */
        {"blueprint 403", "GET /bp/abort/403 HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 403 Forbidden", "bp403 403 m=GET p=/bp/abort/403", NULL},
        {"blueprint catch-all 500", "GET /bp/fail HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 500 Internal Server Error", "bpany 500 m=GET p=/bp/fail",
         NULL},
        {"blueprint catch-all before the app's 401",
         "GET /bp/abort/401 HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 401 Unauthorized", "bpany 401", NULL},
        {"no route under the blueprint: the app's 404",
         "GET /bp/none HTTP/1.1\r\n" H CL "\r\n", "HTTP/1.1 404 Not Found",
         "{\"error\":\"not found\"}", "X-Errh"},
        {"success untouched", "GET / HTTP/1.1\r\n" H CL "\r\n",
         "HTTP/1.1 200 OK", "hello", "X-Errh"},
    };
    int bad = 0;
    static char out[8192];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const errh_case *c = &cases[i];
        exchange(c->req, strlen(c->req), out, sizeof(out));
        int ok = strncmp(out, c->status_line, strlen(c->status_line)) == 0 ||
                 (strncmp(c->status_line, "HTTP/", 5) != 0 &&
                  strstr(out, c->status_line));
        ok = ok && strstr(out, c->body) &&
             (!c->absent || !strstr(out, c->absent));
        if (!ok) {
            print_error("  %s: got \"%.300s\"\n", c->what, out);
            bad++;
        }
    }
    /* A keep-alive connection survives a dispatch-time error answer. */
    int fd = tu_dial();
    const char *two = "GET /abort/403 HTTP/1.1\r\n" H "\r\n"
                      "GET / HTTP/1.1\r\n" H "\r\n";
    assert_int_equal(write(fd, two, strlen(two)), (ssize_t)strlen(two));
    char got[64], bodies[512];
    assert_int_equal(read_responses(fd, 2, 0, got, sizeof(got), bodies,
                                    sizeof(bodies)), 2);
    assert_string_equal(got, "403 200");
    assert_non_null(strstr(bodies, "app 403"));
    close(fd);
    print_message("%zu cases, %d failed\n", sizeof(cases) / sizeof(cases[0]),
                  bad);
    assert_int_equal(bad, 0);
}

/* ---- static files ------------------------------------------------------------ */
static char static_dir[64];

static int static_main(void *arg, void **result)
{
    (void)result;
    fetch_job *j = arg;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "static"), 0);
    assert_int_equal(cio_http_app_static(app, "/static", static_dir), 0);
    assert_int_equal(cio_http_app_static(app, "/x", "/no/such/dir"), -ENOENT);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    j->port = cio_http_server_port(srv);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fetcher, j), 0);
    while (!__atomic_load_n(&j->done, __ATOMIC_ACQUIRE))
        cio_sleep(CIO_MS);
    pthread_join(th, NULL);
    assert_int_equal(cio_http_server_close(srv), 0);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

static void static_files(void **state)
{
    (void)state;
    char path[128];
    snprintf(static_dir, sizeof(static_dir), "/tmp/cio-http-static.XXXXXX");
    assert_non_null(mkdtemp(static_dir));
    snprintf(path, sizeof(path), "%s/hello.txt", static_dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("0123456789abcdef", f);
    fclose(f);
    snprintf(path, sizeof(path), "%s/index.html", static_dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("<h1>index</h1>", f);
    fclose(f);
    /* A symbolic link leading out of the directory. */
    snprintf(path, sizeof(path), "%s/escape", static_dir);
    assert_int_equal(symlink("/etc/hostname", path), 0);

    static fetch_job j;
    memset(&j, 0, sizeof(j));
    j.reqs[0] = CLOSE_REQ("/static/hello.txt", "");
    j.reqs[1] = CLOSE_REQ("/static/hello.txt", "Range: bytes=2-5\r\n");
    j.reqs[2] = CLOSE_REQ("/static/hello.txt", "Range: bytes=-3\r\n");
    j.reqs[3] = CLOSE_REQ("/static/hello.txt", "Range: bytes=99-\r\n");
    j.reqs[4] = CLOSE_REQ("/static/%2e%2e/%2e%2e/etc/passwd", "");
    j.reqs[5] = CLOSE_REQ("/static/escape", "");
    j.reqs[6] = CLOSE_REQ("/static", "");
    j.reqs[7] = "HEAD /static/hello.txt HTTP/1.1\r\nHost: t\r\n"
                "Connection: close\r\n\r\n";
    assert_int_equal(cio_run(static_main, &j, NULL), 0);
    assert_non_null(strstr(j.out[0], "200 OK"));
    assert_non_null(strstr(j.out[0], "Content-Type: text/plain"));
    assert_non_null(strstr(j.out[0], "Accept-Ranges: bytes"));
    assert_non_null(strstr(j.out[0], "\r\n\r\n0123456789abcdef"));
    char *etag = strstr(j.out[0], "ETag: ");
    assert_non_null(etag);
    assert_non_null(strstr(j.out[1], "206 Partial Content"));
    assert_non_null(strstr(j.out[1], "Content-Range: bytes 2-5/16"));
    assert_non_null(strstr(j.out[1], "\r\n\r\n2345"));
    assert_non_null(strstr(j.out[2], "Content-Range: bytes 13-15/16"));
    assert_non_null(strstr(j.out[2], "\r\n\r\ndef"));
    assert_non_null(strstr(j.out[3], "416"));
    assert_non_null(strstr(j.out[3], "Content-Range: bytes */16"));
    assert_non_null(strstr(j.out[4], "404 Not Found"));
    assert_non_null(strstr(j.out[5], "404 Not Found"));
    assert_non_null(strstr(j.out[6], "<h1>index</h1>"));
    assert_non_null(strstr(j.out[7], "Content-Length: 16"));
    assert_null(strstr(j.out[7], "0123"));

    /* Conditional: the ETag just received gives a 304. */
    char *eol = strstr(etag, "\r\n");
    assert_non_null(eol);
    static char cond[256], ims[256];
    snprintf(cond, sizeof(cond), "GET /static/hello.txt HTTP/1.1\r\nHost: t"
             "\r\nConnection: close\r\nIf-None-Match: %.*s\r\n\r\n",
             (int)(eol - etag - 6), etag + 6);
    char *lm = strstr(j.out[0], "Last-Modified: ");
    assert_non_null(lm);
    char *lme = strstr(lm, "\r\n");
    snprintf(ims, sizeof(ims), "GET /static/hello.txt HTTP/1.1\r\nHost: t"
             "\r\nConnection: close\r\nIf-Modified-Since: %.*s\r\n\r\n",
             (int)(lme - lm - 15), lm + 15);
    memset(&j, 0, sizeof(j));
    j.reqs[0] = cond;
    j.reqs[1] = ims;
    j.reqs[2] = CLOSE_REQ("/static/hello.txt", "If-None-Match: \"other\"\r\n");
    assert_int_equal(cio_run(static_main, &j, NULL), 0);
    assert_non_null(strstr(j.out[0], "304 Not Modified"));
    assert_null(strstr(j.out[0], "0123"));
    assert_non_null(strstr(j.out[1], "304 Not Modified"));
    assert_non_null(strstr(j.out[2], "200 OK"));

    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", static_dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- Ctrl-C stops cio_http_run (2 workers) ----------------------------------- */
static int port_pipe[2];

static void report_port(cio_http_app *app, int port, void *arg)
{
    (void)app, (void)arg;
    if (write(port_pipe[1], &port, sizeof(port)) != sizeof(port))
        _exit(3);
}

static void ctrl_c_stops_run(void **state)
{
    (void)state;
    int log_pipe[2];
    assert_int_equal(pipe(port_pipe), 0);
    assert_int_equal(pipe(log_pipe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* The access log (stdout) goes to the parent through a pipe. */
        dup2(log_pipe[1], 1);
        close(log_pipe[0]);
        cio_http_app *app;
        cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
        cfg.access_log = 1;
        if (cio_http_app_new(&app, "child") < 0 ||
            cio_http_route(app, "/", h_index, NULL, 0) < 0 ||
            cio_http_app_configure(app, &cfg) < 0)
            _exit(2);
        cio_http_app_on_start(app, report_port, NULL);
        int r = cio_http_run(app, "127.0.0.1", 0, 2);
        cio_http_app_free(app);
        _exit(r == 0 ? 0 : 1);
    }
    int port = 0;
    struct pollfd pf = {port_pipe[0], POLLIN, 0};
    assert_true(poll(&pf, 1, 10000) == 1);
    assert_int_equal(read(port_pipe[0], &port, sizeof(port)), sizeof(port));
    g_port = port;
    /* Both workers answer (several connections spread over them). */
    for (int i = 0; i < 8; i++) {
        int fd = tu_dial();
        const char *req = "GET / HTTP/1.1\r\nHost: t\r\n\r\n";
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
        char got[64], bodies[256];
        assert_int_equal(read_responses(fd, 1, 0, got, sizeof(got), bodies,
                                        sizeof(bodies)), 1);
        assert_string_equal(bodies, "hello|");
        close(fd);
    }
    /* An idle keep-alive connection must not hold the stop up. */
    int idle = tu_dial();
    assert_int_equal(kill(pid, SIGINT), 0);
    int status = 0;
    for (int i = 0; i < 100; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            break;
        usleep(50 * 1000);
        if (i == 99) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            fail_msg("cio_http_run did not stop within 5 s of SIGINT");
        }
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(closed_within(idle, 1000));
    close(idle);
    close(port_pipe[0]);
    close(port_pipe[1]);
    /* One common-log line per request. */
    close(log_pipe[1]);
    char log[8192];
    size_t ln = 0;
    ssize_t k;
    while (ln + 1 < sizeof(log) &&
           (k = read(log_pipe[0], log + ln, sizeof(log) - 1 - ln)) > 0)
        ln += (size_t)k;
    log[ln] = '\0';
    close(log_pipe[0]);
    int lines = 0;
    for (char *p = log; (p = strstr(p, "\"GET / HTTP/1.1\" 200 5\n")); p++)
        lines++;
    assert_int_equal(lines, 8);
    /* The common format's %a: the address without the port. */
    assert_true(strncmp(log, "127.0.0.1 - - [", 15) == 0);
}

/* ---- graceful close: a request in flight finishes ------------------------------ */
static int graceful_main(void *arg, void **result)
{
    (void)result;
    fetch_job *j = arg;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "graceful"), 0);
    assert_int_equal(cio_http_route(app, "/slow", h_slow, NULL, 0), 0);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    j->port = cio_http_server_port(srv);
    /* An idle keep-alive connection too: closed at once by the close. */
    int idle = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)j->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(idle, (struct sockaddr *)&a, sizeof(a)), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, fetcher, j), 0);
    cio_sleep(100 * CIO_MS); /* /slow (200 ms) is in its handler now */
    int64_t t0 = cio_loop_time(cio_get_running_loop());
    assert_int_equal(cio_http_server_close(srv), 0);
    int64_t took = cio_loop_time(cio_get_running_loop()) - t0;
    assert_true(took < 2 * CIO_SEC); /* not the 5 s deadline */
    pthread_join(th, NULL);
    char b;
    assert_int_equal(read(idle, &b, 1), 0); /* the idle one was closed */
    close(idle);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

static void graceful_close_finishes_in_flight(void **state)
{
    (void)state;
    static fetch_job j;
    memset(&j, 0, sizeof(j));
    j.reqs[0] = "GET /slow HTTP/1.1\r\nHost: t\r\n\r\n";
    assert_int_equal(cio_run(graceful_main, &j, NULL), 0);
    assert_non_null(strstr(j.out[0], "200 OK"));
    assert_non_null(strstr(j.out[0], "Connection: close"));
    assert_non_null(strstr(j.out[0], "slept"));
}

static void route_errors(void **state)
{
    (void)state;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, NULL), 0);
    assert_int_equal(cio_http_route(app, "/a/<x:int>", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/a/<y:int>", h_index, NULL, 0),
                     -EEXIST);
    assert_non_null(strstr(cio_http_app_error(app), "conflicts"));
    assert_int_equal(cio_http_route(app, "/b/<x:[>", h_index, NULL, 0),
                     -EINVAL);
    assert_non_null(strstr(cio_http_app_error(app), "regex"));
    assert_int_equal(cio_http_route(app, "/c", h_index, NULL, 1u << 12),
                     -EINVAL);
    assert_int_equal(cio_http_route(NULL, "/c", h_index, NULL, 0), -EINVAL);
    assert_int_equal(cio_http_app_port(app), -EAGAIN);
    cio_http_config bad = CIO_HTTP_CONFIG_INIT;
    bad.head_timeout = -1;
    assert_int_equal(cio_http_app_configure(app, &bad), -EINVAL);
    cio_http_server *srv = (cio_http_server *)1;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv),
                     -EINVAL); /* outside a task */
    assert_null(srv);
    assert_int_equal(cio_http_app_free(app), 0);
}

/* ---- listeners ---------------------------------------------------------------- */
static char lis_log[512];
static size_t lis_len;
static pthread_mutex_t lis_mu = PTHREAD_MUTEX_INITIALIZER;

static int can_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static int lis(cio_http_app *app, int port, void *arg)
{
    (void)app;
    /* A coroutine on the worker's loop: it may await. */
    int r = cio_sleep(5 * CIO_MS);
    if (r < 0)
        return r;
    const char *name = arg;
    int listening = port > 0 && can_connect(port);
    pthread_mutex_lock(&lis_mu);
    lis_len += (size_t)snprintf(lis_log + lis_len, sizeof(lis_log) - lis_len,
                                "%s:%s ", name,
                                port == 0 ? "-" : listening ? "up" : "down");
    pthread_mutex_unlock(&lis_mu);
    return strcmp(name, "refuse") == 0 ? -EPERM : 0;
}

static void listener_port(cio_http_app *app, int port, void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lis_mu);
    lis_len += (size_t)snprintf(lis_log + lis_len, sizeof(lis_log) - lis_len,
                                "run:%s ", port > 0 ? "up" : "-");
    pthread_mutex_unlock(&lis_mu);
    cio_http_app_stop(app);
}

static void listeners(void **state)
{
    (void)state;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "lis"), 0);
    assert_int_equal(cio_http_route(app, "/", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_app_listener(app, 4, lis, "x"), -EINVAL);
    assert_int_equal(cio_http_app_listener(app, 0, NULL, "x"), -EINVAL);
    static const struct {
        int kind;
        const char *name;
    } ls[] = {
        {CIO_HTTP_AFTER_SERVER_STOP, "ass1"},
        {CIO_HTTP_BEFORE_SERVER_START, "bss1"},
        {CIO_HTTP_BEFORE_SERVER_STOP, "bst1"},
        {CIO_HTTP_AFTER_SERVER_START, "as1"},
        {CIO_HTTP_BEFORE_SERVER_START, "bss2"},
        {CIO_HTTP_BEFORE_SERVER_STOP, "bst2"},
        {CIO_HTTP_AFTER_SERVER_STOP, "ass2"},
    };
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++)
        assert_int_equal(cio_http_app_listener(app, ls[i].kind, lis,
                                               (void *)ls[i].name), 0);
    cio_http_app_on_start(app, listener_port, NULL);
    lis_len = 0;
    lis_log[0] = '\0';
    assert_int_equal(cio_http_run(app, "127.0.0.1", 0, 1), 0);
    print_message("%s\n", lis_log);
    /* Start kinds in registration order, stop kinds reversed; before the
     * start nothing listens; after the stop the port refuses. */
    assert_string_equal(lis_log, "bss1:- bss2:- as1:up run:up bst2:up "
                                 "bst1:up ass2:down ass1:down ");
    assert_int_equal(cio_http_app_free(app), 0);

    /* A failing before_server_start listener: the worker does not start
     * and cio_http_run returns its error. */
    assert_int_equal(cio_http_app_new(&app, "lis2"), 0);
    assert_int_equal(cio_http_app_listener(app, CIO_HTTP_BEFORE_SERVER_START,
                                           lis, "refuse"), 0);
    assert_int_equal(cio_http_app_listener(app, CIO_HTTP_AFTER_SERVER_START,
                                           lis, "never"), 0);
    lis_len = 0;
    lis_log[0] = '\0';
    assert_int_equal(cio_http_run(app, "127.0.0.1", 0, 1), -EPERM);
    assert_string_equal(lis_log, "refuse:- ");
    assert_int_equal(cio_http_app_free(app), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(conformance_request_line, start_server, stop_server),
    cmocka_unit_test_setup_teardown(conformance_fields, start_server, stop_server),
    cmocka_unit_test_setup_teardown(conformance_framing, start_server, stop_server),
    cmocka_unit_test_setup_teardown(conformance_chunked, start_server, stop_server),
    cmocka_unit_test_setup_teardown(conformance_connection, start_server, stop_server),
    cmocka_unit_test_setup_teardown(limits_live, start_server, stop_server),
    cmocka_unit_test_setup_teardown(head_timeout_408, start_server, stop_server),
    cmocka_unit_test_setup_teardown(slow_head_gets_no_extension, start_server, stop_server),
    cmocka_unit_test_setup_teardown(idle_keep_alive_closed, start_server, stop_server),
    cmocka_unit_test_setup_teardown(body_timeout_408, start_server, stop_server),
    cmocka_unit_test_setup_teardown(curl_keep_alive_and_head, start_server, stop_server),
    cmocka_unit_test_setup_teardown(curl_chunked_upload_and_continue, start_server, stop_server),
    cmocka_unit_test_setup_teardown(python_http_client, start_server, stop_server),
    cmocka_unit_test_setup_teardown(many_connections, start_server, stop_server),
    cmocka_unit_test_setup_teardown(streaming_chunked_and_sse, start_server, stop_server),
    cmocka_unit_test_setup_teardown(python_reads_sse_as_it_comes, start_server, stop_server),
    cmocka_unit_test_setup_teardown(curl_multipart_form, start_server, stop_server),
    cmocka_unit_test_setup_teardown(stream_back_pressure, start_server, stop_server),
    cmocka_unit_test(server_close_cancels_handlers),
    cmocka_unit_test(middleware_blueprints_errors),
    cmocka_unit_test_setup_teardown(error_handlers_every_status, start_errh_server, stop_server),
    cmocka_unit_test(static_files),
    cmocka_unit_test(ctrl_c_stops_run),
    cmocka_unit_test(graceful_close_finishes_in_flight),
    cmocka_unit_test(route_errors),
    cmocka_unit_test(listeners),
};

CIO_TEST_MAIN(tests)
