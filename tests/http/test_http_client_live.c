/* cio-test: timeout=180 */
/*
 * test_http_client_live.c - cio::http's client against real servers on
 * 127.0.0.1: cio's own HTTP server (started in the test's loop), Python's
 * http.server (tests/http/client_peer.py, a subprocess bounded in time),
 * raw cio sockets sending hostile or broken responses, a CONNECT proxy
 * written here with cio, and a Unix-socket server. Each case runs its own
 * loop through cio_run and stops by itself.
 *
 * Connections are counted on the server side (the remote port a handler
 * sees, the raw server's accepts, the Python server's counter), so pool
 * reuse is checked by the servers, not by the client's own counters only.
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "cio/http.h"
#include "cio_testutil_tls.h"

/* ---- the cio app -------------------------------------------------------- */

static int h_index(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    cio_http_response_header(res, "X-Multi", "one");
    cio_http_response_header(res, "X-Multi", "two");
    return cio_http_response_text(res, 200, "hello");
}

static int h_port(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cio_sockaddr sa;
    cio_http_request_remote(req, &sa);
    char t[16];
    snprintf(t, sizeof(t), "%d", cio_sockaddr_port(&sa));
    return cio_http_response_text(res, 200, t);
}

static int h_args(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char out[512] = "";
    size_t o = 0;
    const char *v;
    for (size_t i = 0; (v = cio_http_request_arg(req, "a", i, NULL)); i++)
        o += (size_t)snprintf(out + o, sizeof(out) - o, "[%s]", v);
    v = cio_http_request_arg(req, "b", 0, NULL);
    snprintf(out + o, sizeof(out) - o, "b=%s", v ? v : "(none)");
    return cio_http_response_text(res, 200, out);
}

static int h_echo(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n, cl;
    const char *b = cio_http_request_body(req, &n);
    const char *ct = cio_http_request_header(req, "content-type", 0, &cl);
    char t[128];
    snprintf(t, sizeof(t), "%.*s", ct ? (int)cl : 0, ct ? ct : "");
    cio_http_response_header(res, "X-CT", t);
    return cio_http_response_raw(res, 200, b, n, "application/octet-stream");
}

static int h_json(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cJSON *o = cJSON_CreateObject();
    const cJSON *in = cio_http_request_json(req);
    if (in)
        cJSON_AddItemToObject(o, "got", cJSON_Duplicate(in, 1));
    cJSON_AddNumberToObject(o, "n", 42);
    int r = cio_http_response_json(res, 200, o);
    cJSON_Delete(o);
    return r;
}

static int h_form(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const char *n = cio_http_request_form(req, "name", 0, NULL);
    const char *c = cio_http_request_form(req, "city", 0, NULL);
    char out[256];
    size_t fl = 0;
    const char *fname = NULL;
    const void *f = cio_http_request_file(req, "f", 0, &fl, &fname, NULL);
    snprintf(out, sizeof(out), "name=%s city=%s file=%s:%zu:%.*s", n ? n : "-",
             c ? c : "-", fname ? fname : "-", f ? fl : 0, f ? (int)fl : 0,
             f ? (const char *)f : "");
    return cio_http_response_text(res, 200, out);
}

static int h_slow(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_sleep(300 * CIO_MS);
    if (r < 0)
        return r;
    return cio_http_response_text(res, 200, "slept");
}

static int h_redir(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    int n = atoi(cio_http_request_param(req, "n", NULL));
    if (n <= 0)
        return cio_http_response_text(res, 200, "done");
    char loc[64];
    snprintf(loc, sizeof(loc), "%d", n - 1); /* relative */
    return cio_http_response_redirect(res, loc, 302);
}

static int h_method(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t ml, bl;
    const char *m = cio_http_request_method(req, &ml);
    const char *b = cio_http_request_body(req, &bl);
    char out[256];
    snprintf(out, sizeof(out), "%.*s:%.*s", (int)ml, m, (int)bl, b ? b : "");
    return cio_http_response_text(res, 200, out);
}

static int h_to(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    int st = atoi(cio_http_request_param(req, "st", NULL));
    const char *to = cio_http_request_arg(req, "to", 0, NULL);
    return cio_http_response_redirect(res, to ? to : "/method", st);
}

static int h_hdr(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t al = 0, cl = 0;
    const char *au = cio_http_request_header(req, "authorization", 0, &al);
    const char *co = cio_http_request_header(req, "cookie", 0, &cl);
    char out[512];
    snprintf(out, sizeof(out), "auth=%.*s cookie=%.*s", au ? (int)al : 1,
             au ? au : "-", co ? (int)cl : 1, co ? co : "-");
    return cio_http_response_text(res, 200, out);
}

static int h_setcookie(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    cio_http_response_cookie(res, "sid", "abc123", "Path=/");
    cio_http_response_cookie(res, "theme", "dark", "Path=/; Max-Age=60");
    return cio_http_response_text(res, 200, "set");
}

static int h_stream(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_stream(res, 200, "text/plain");
    for (int i = 0; r == 0 && i < 10; i++) {
        char l[32];
        int n = snprintf(l, sizeof(l), "line %d\n", i);
        r = cio_http_response_write(res, l, (size_t)n);
    }
    return r;
}

static int h_big(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    size_t n = 200000;
    char *b = malloc(n);
    for (size_t i = 0; i < n; i++)
        b[i] = (char)('a' + i % 26);
    int r = cio_http_response_raw(res, 200, b, n, NULL);
    free(b);
    return r;
}

static cio_http_app *app;

static cio_http_app *the_app(void)
{
    if (app)
        return app;
    assert_int_equal(cio_http_app_new(&app, "client-test"), 0);
    unsigned gp = CIO_HTTP_GET | CIO_HTTP_POST | CIO_HTTP_PUT;
    assert_int_equal(cio_http_route(app, "/", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/port", h_port, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/args", h_args, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/echo", h_echo, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/json", h_json, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/form", h_form, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/slow", h_slow, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/redir/<n:int>", h_redir, NULL, 0),
                     0);
    assert_int_equal(cio_http_route(app, "/method", h_method, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/to/<st:int>", h_to, NULL, gp), 0);
    assert_int_equal(cio_http_route(app, "/hdr", h_hdr, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/setcookie", h_setcookie, NULL, 0),
                     0);
    assert_int_equal(cio_http_route(app, "/stream", h_stream, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/big", h_big, NULL, 0), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.max_body = 16 << 20;
    assert_int_equal(cio_http_app_configure(app, &cfg), 0);
    return app;
}

/* ---- a case = a loop with the cio server and a session ----------------- */

typedef struct tcase {
    int (*body)(struct tcase *t);
    cio_http_session_opts so;
    cio_http_session *s;
    cio_http_server *srv;
    int port;
    char url[256];
    void *arg;
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

static void run_case(int (*body)(tcase *), const cio_http_session_opts *so,
                     void *arg)
{
    tcase t;
    memset(&t, 0, sizeof(t));
    t.body = body;
    cio_http_session_opts d = CIO_HTTP_SESSION_OPTS_INIT;
    t.so = so ? *so : d;
    t.arg = arg;
    int r = cio_run(case_main, &t, NULL);
    if (r != 0)
        fail_msg("case failed: %d %s", r, cio_strerror(r));
}

/* Checks inside a task: on failure, return an error code naming the line. */
#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            print_error("check failed at line %d: %s\n", __LINE__, #c);        \
            return -EPROTO;                                                    \
        }                                                                      \
    } while (0)

static int get_text(tcase *t, const char *path, char *out, size_t cap,
                    int *status)
{
    cio_http_client_response *r;
    int e = cio_http_session_get(t->s, U(t, path), &r);
    if (e < 0)
        return e;
    int err;
    const char *x = cio_http_client_response_text(r, &err);
    if (status)
        *status = cio_http_client_response_status(r);
    if (x)
        snprintf(out, cap, "%s", x);
    cio_http_client_response_free(r);
    return err;
}

/* ---- basics ------------------------------------------------------------- */

static int b_get(tcase *t)
{
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, U(t, "/"), &r) == 0);
    CHECK(cio_http_client_response_status(r) == 200);
    size_t n;
    const char *reason = cio_http_client_response_reason(r, &n);
    CHECK(n == 2 && !memcmp(reason, "OK", 2));
    const char *v = cio_http_client_response_header(r, "x-MULTI", 0, &n);
    CHECK(v && n == 3 && !memcmp(v, "one", 3));
    v = cio_http_client_response_header(r, "X-Multi", 1, &n);
    CHECK(v && n == 3 && !memcmp(v, "two", 3));
    CHECK(!cio_http_client_response_header(r, "X-Multi", 2, &n));
    CHECK(cio_http_client_response_content_length(r) == 5);
    CHECK(cio_http_client_response_nheaders(r) >= 3);
    const char *hn, *hv;
    CHECK(cio_http_client_response_header_at(r, 0, &hn, NULL, &hv, NULL) == 0);
    CHECK(cio_http_client_response_header_at(r, 1000, &hn, NULL, &hv, NULL) ==
          -EINVAL);
    const char *txt = cio_http_client_response_text(r, NULL);
    CHECK(txt && !strcmp(txt, "hello"));
    /* read again: the same bytes; streaming after reading: refused */
    const char *d;
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0 && n == 5);
    CHECK(cio_http_client_response_read_chunk(r, &d, &n) ==
          CIO_EHTTPC_CONSUMED);
    CHECK(strstr(cio_http_client_response_url(r), "/"));
    cio_http_client_response_free(r);
    /* 404 is a response, not an error */
    char buf[64];
    int st;
    CHECK(get_text(t, "/nope", buf, sizeof(buf), &st) == 0 && st == 404);
    /* HEAD: no body even with a Content-Length */
    CHECK(cio_http_session_request(t->s, "HEAD", U(t, "/big"), NULL, &r) == 0);
    CHECK(cio_http_client_response_status(r) == 200);
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0 && n == 0);
    cio_http_client_response_free(r);
    /* a request made after HEAD reuses the connection */
    CHECK(get_text(t, "/", buf, sizeof(buf), NULL) == 0);
    long opened;
    cio_http_session_stats(t->s, &opened, NULL);
    CHECK(opened == 1);
    return 0;
}

static void get_basic(void **state)
{
    (void)state;
    run_case(b_get, NULL, NULL);
}

static int b_params(tcase *t)
{
    const char *params[] = {"a", "x y", "a", "1&2=3", "b", "é/?", NULL};
    cio_http_request_opts o = {0};
    o.params = params;
    cio_http_client_response *r;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/args?a=first"), &o,
                                   &r) == 0);
    const char *x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "[first][x y][1&2=3]b=é/?"));
    cio_http_client_response_free(r);
    /* header injection refused */
    const char *bad[] = {"X-A", "v\r\nX-Injected: 1", NULL};
    o.params = NULL;
    o.headers = bad;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/"), &o, &r) == -EINVAL);
    CHECK(cio_http_session_request(t->s, "GE T", U(t, "/"), NULL, &r) ==
          -EINVAL);
    CHECK(cio_http_session_get(t->s, "ftp://x/", &r) == CIO_EHTTPC_SCHEME);
    CHECK(cio_http_session_get(t->s, "https://127.0.0.1:1/", &r) ==
          -ECONNREFUSED);
    CHECK(cio_http_session_get(t->s, "http://", &r) == CIO_EHTTPC_BAD_URL);
    CHECK(!r);
    return 0;
}

static void query_params(void **state)
{
    (void)state;
    run_case(b_params, NULL, NULL);
}

static ssize_t src_fn(void *arg, void *buf, size_t cap)
{
    int *left = arg;
    if (*left == 0)
        return 0;
    int r = cio_sleep(1 * CIO_MS); /* a coroutine: it may suspend */
    if (r < 0)
        return r;
    size_t n = cap < 1000 ? cap : 1000;
    memset(buf, 'a' + *left % 26, n);
    (*left)--;
    return (ssize_t)n;
}

static int b_bodies(tcase *t)
{
    cio_http_client_response *r;
    cio_http_request_opts o = {0};
    const char *d;
    size_t n;
    /* bytes */
    o.body = "raw\0bytes";
    o.body_len = 9;
    o.content_type = "application/x-test";
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/echo"), &o, &r) == 0);
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0 && n == 9 &&
          !memcmp(d, "raw\0bytes", 9));
    const char *ct = cio_http_client_response_header(r, "x-ct", 0, &n);
    CHECK(ct && n == 18 && !memcmp(ct, "application/x-test", 18));
    cio_http_client_response_free(r);
    /* JSON both ways */
    memset(&o, 0, sizeof(o));
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "k", "v");
    o.json = j;
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/json"), &o, &r) == 0);
    cJSON_Delete(j);
    int err;
    const cJSON *got = cio_http_client_response_json(r, &err);
    CHECK(got && err == 0);
    CHECK(cJSON_GetObjectItem(got, "n")->valueint == 42);
    CHECK(!strcmp(
        cJSON_GetObjectItem(cJSON_GetObjectItem(got, "got"), "k")->valuestring,
        "v"));
    cio_http_client_response_free(r);
    /* not JSON */
    CHECK(cio_http_session_get(t->s, U(t, "/"), &r) == 0);
    CHECK(!cio_http_client_response_json(r, &err) && err == CIO_EHTTPC_JSON);
    cio_http_client_response_free(r);
    /* urlencoded */
    memset(&o, 0, sizeof(o));
    const char *form[] = {"name", "Jo & Al", "city", "São Paulo", NULL};
    o.form = form;
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/form"), &o, &r) == 0);
    const char *x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "name=Jo & Al city=São Paulo file=-:0:"));
    cio_http_client_response_free(r);
    /* multipart with a file part */
    memset(&o, 0, sizeof(o));
    cio_http_form_part parts[] = {
        {"name", NULL, NULL, "Ann", 3},
        {"f", "notes.txt", "text/plain", "file body", 9},
    };
    o.parts = parts;
    o.nparts = 2;
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/form"), &o, &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "name=Ann city=- file=notes.txt:9:file body"));
    cio_http_client_response_free(r);
    /* streamed from a coroutine: chunked, then with a length */
    memset(&o, 0, sizeof(o));
    int left = 50;
    o.source = src_fn;
    o.source_arg = &left;
    o.source_len = -1;
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/echo"), &o, &r) == 0);
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0 && n == 50000);
    CHECK(d[0] == 'a' + 50 % 26 && d[49999] == 'a' + 1);
    cio_http_client_response_free(r);
    left = 3;
    o.source_len = 3000;
    CHECK(cio_http_session_request(t->s, "PUT", U(t, "/echo"), &o, &r) == 0);
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0 && n == 3000);
    cio_http_client_response_free(r);
    /* a source shorter than its length fails the request */
    left = 1;
    CHECK(cio_http_session_request(t->s, "PUT", U(t, "/echo"), &o, &r) ==
          -EINVAL);
    /* a file */
    char path[] = "/tmp/cio-hc-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    char blk[4096];
    for (int i = 0; i < 40; i++) {
        memset(blk, 'A' + i % 26, sizeof(blk));
        CHECK(write(fd, blk, sizeof(blk)) == (ssize_t)sizeof(blk));
    }
    close(fd);
    memset(&o, 0, sizeof(o));
    o.file = path;
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/echo"), &o, &r) == 0);
    CHECK(cio_http_client_response_read(r, 0, &d, &n) == 0 && n == 40 * 4096 &&
          d[0] == 'A' && d[n - 1] == 'A' + 39 % 26);
    cio_http_client_response_free(r);
    unlink(path);
    o.file = "/nonexistent/file";
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/echo"), &o, &r) ==
          -ENOENT);
    /* two body kinds at once */
    o.body = "x";
    o.body_len = 1;
    CHECK(cio_http_session_request(t->s, "POST", U(t, "/echo"), &o, &r) ==
          -EINVAL);
    return 0;
}

static void request_bodies(void **state)
{
    (void)state;
    run_case(b_bodies, NULL, NULL);
}

static int b_expect(tcase *t)
{
    cio_http_client_response *r;
    cio_http_request_opts o = {0};
    size_t n = 300000;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('0' + i % 10);
    o.body = big;
    o.body_len = n;
    int e = cio_http_session_request(t->s, "POST", U(t, "/echo"), &o, &r);
    free(big);
    CHECK(e == 0);
    const char *d;
    size_t got;
    CHECK(cio_http_client_response_read(r, 0, &d, &got) == 0 && got == n &&
          d[12345] == '5');
    cio_http_client_response_free(r);
    return 0;
}

static int b_stream(tcase *t)
{
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, U(t, "/stream"), &r) == 0);
    CHECK(cio_http_client_response_content_length(r) == -1); /* chunked */
    const char *line;
    ssize_t n;
    int i = 0;
    while ((n = cio_http_client_response_readline(r, &line)) > 0) {
        char want[32];
        snprintf(want, sizeof(want), "line %d\n", i++);
        CHECK((size_t)n == strlen(want) && !memcmp(line, want, (size_t)n));
    }
    CHECK(n == 0 && i == 10);
    cio_http_client_response_free(r);
    /* chunks of a large body */
    CHECK(cio_http_session_get(t->s, U(t, "/big"), &r) == 0);
    const char *d;
    size_t dl, total = 0;
    int k;
    while ((k = cio_http_client_response_read_chunk(r, &d, &dl)) > 0) {
        CHECK(d[0] == 'a' + (char)(total % 26));
        total += dl;
    }
    CHECK(k == 0 && total == 200000);
    CHECK(cio_http_client_response_read(r, 0, &d, &dl) == CIO_EHTTPC_CONSUMED);
    cio_http_client_response_free(r);
    /* a read limit */
    CHECK(cio_http_session_get(t->s, U(t, "/big"), &r) == 0);
    CHECK(cio_http_client_response_read(r, 1000, &d, &dl) ==
          CIO_EHTTPC_BODY_TOO_LARGE);
    cio_http_client_response_free(r);
    /* the connection whose body was cut off is not pooled */
    long opened, idle;
    cio_http_session_stats(t->s, &opened, &idle);
    CHECK(opened == 1 && idle == 0);
    CHECK(cio_http_session_get(t->s, U(t, "/"), &r) == 0);
    cio_http_client_response_free(r); /* unread: closed, not pooled */
    cio_http_session_stats(t->s, &opened, &idle);
    CHECK(opened == 2 && idle == 0);
    return 0;
}

static void streaming(void **state)
{
    (void)state;
    run_case(b_stream, NULL, NULL);
}

/* ---- pool ---------------------------------------------------------------- */

static int b_pool(tcase *t)
{
    char first[32], now[32];
    CHECK(get_text(t, "/port", first, sizeof(first), NULL) == 0);
    for (int i = 0; i < 5; i++) {
        CHECK(get_text(t, "/port", now, sizeof(now), NULL) == 0);
        CHECK(!strcmp(first, now)); /* the server sees one connection */
    }
    long opened, idle;
    cio_http_session_stats(t->s, &opened, &idle);
    CHECK(opened == 1 && idle == 1);
    /* idle expiry (keepalive_timeout is 100 ms here) */
    CHECK(cio_sleep(200 * CIO_MS) == 0);
    CHECK(get_text(t, "/port", now, sizeof(now), NULL) == 0);
    CHECK(strcmp(first, now) != 0);
    cio_http_session_stats(t->s, &opened, &idle);
    CHECK(opened == 2);
    return 0;
}

static void pool_reuse_and_expiry(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.keepalive_timeout = 100 * CIO_MS;
    run_case(b_pool, &so, NULL);
}

typedef struct par {
    tcase *t;
    char port[32];
    int rc;
} par;

static int par_get(void *arg, void **res)
{
    (void)res;
    par *p = arg;
    cio_http_client_response *r;
    int e = cio_http_session_get(p->t->s, U(p->t, "/slow"), &r);
    if (e < 0)
        return p->rc = e;
    if (!cio_http_client_response_text(r, &e))
        return p->rc = e;
    cio_http_client_response_free(r);
    tcase tt = *p->t;
    return p->rc = get_text(&tt, "/port", p->port, sizeof(p->port), NULL);
}

static int b_limits(tcase *t)
{
    enum {
        N = 6
    };
    par p[N];
    cio_task *tk[N];
    for (int i = 0; i < N; i++) {
        p[i].t = t;
        p[i].rc = 1;
        CHECK(cio_task_create(cio_get_running_loop(), CIO_CORO(par_get, &p[i]),
                              NULL, &tk[i]) == 0);
    }
    for (int i = 0; i < N; i++) {
        cio_await(tk[i], NULL);
        cio_future_release(tk[i]);
        CHECK(p[i].rc == 0);
    }
    /* limit_per_host 2: the server saw at most 2 distinct ports */
    int distinct = 0;
    for (int i = 0; i < N; i++) {
        int seen = 0;
        for (int k = 0; k < i; k++)
            seen |= !strcmp(p[i].port, p[k].port);
        distinct += !seen;
    }
    long opened;
    cio_http_session_stats(t->s, &opened, NULL);
    if (distinct > 2 || opened != 2)
        print_error("distinct %d opened %ld\n", distinct, opened);
    CHECK(distinct <= 2 && opened == 2);
    return 0;
}

static void pool_limit_per_host(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.limit_per_host = 2;
    run_case(b_limits, &so, NULL);
}

/* ---- raw servers --------------------------------------------------------- */

enum {
    RAW_CLOSE,
    RAW_KEEP_THEN_CLOSE,
    RAW_NOREAD,
    RAW_SILENT,
    RAW_REPEAT,
    RAW_CONTINUE /* 100 Continue, read Content-Length bytes, answer */
};

typedef struct raw_srv {
    cio_socket *ls;
    int port;
    int accepts;
    int requests;
    const char *resp;
    size_t resp_len;
    int mode;
    char last_req[2048];
    size_t body_got;
    cio_task *acceptor;
} raw_srv;

typedef struct raw_conn {
    raw_srv *s;
    cio_socket *c;
} raw_conn;

static int read_req(raw_conn *rc)
{
    char buf[2048];
    size_t len = 0;
    for (;;) {
        ssize_t n = cio_socket_recv(rc->c, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        buf[len] = 0;
        if (strstr(buf, "\r\n\r\n") || len == sizeof(buf) - 1)
            break;
    }
    memcpy(rc->s->last_req, buf, len + 1);
    rc->s->requests++;
    return 0;
}

static int raw_conn_task(void *arg, void **res)
{
    (void)res;
    raw_conn *rc = arg;
    raw_srv *s = rc->s;
    cio_socket_close_on_exit(rc->c);
    if (s->mode == RAW_NOREAD) {
        cio_sleep(10 * CIO_SEC);
        free(rc);
        return 0;
    }
    for (int i = 0; read_req(rc) == 0; i++) {
        if (s->mode == RAW_SILENT) {
            cio_sleep(10 * CIO_SEC);
            break;
        }
        if (s->mode == RAW_CONTINUE) {
            const char *cl = strstr(s->last_req, "Content-Length: ");
            size_t want = cl ? strtoul(cl + 16, NULL, 10) : 0;
            const char *h = strstr(s->last_req, "\r\n\r\n") + 4;
            s->body_got = strlen(h); /* body bytes read with the head */
            const char *c100 = "HTTP/1.1 100 Continue\r\n\r\n";
            cio_socket_sendall(rc->c, c100, strlen(c100), 0);
            char buf[65536];
            while (s->body_got < want) {
                ssize_t n = cio_socket_recv(rc->c, buf, sizeof(buf), 0);
                if (n <= 0)
                    break;
                s->body_got += (size_t)n;
            }
        }
        cio_socket_sendall(rc->c, s->resp, s->resp_len, 0);
        if (s->mode == RAW_CLOSE ||
            (s->mode == RAW_KEEP_THEN_CLOSE && i == 0 && s->accepts == 1)) {
            /* the first connection: answered keep-alive, then closed */
            if (s->mode == RAW_KEEP_THEN_CLOSE)
                cio_socket_shutdown(rc->c, SHUT_RDWR);
            break;
        }
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

static int raw_start(raw_srv *s, const char *resp, size_t len, int mode)
{
    memset(s, 0, sizeof(*s));
    s->resp = resp;
    s->resp_len = len ? len : strlen(resp);
    s->mode = mode;
    int r = cio_socket_open(&s->ls, cio_get_running_loop(), AF_INET,
                            SOCK_STREAM, 0);
    if (r < 0)
        return r;
    cio_socket_setsockopt_int(s->ls, SOL_SOCKET, SO_REUSEADDR, 1);
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

static int raw_expect(tcase *t, const char *resp, size_t len, int want)
{
    raw_srv rs;
    CHECK(raw_start(&rs, resp, len, RAW_CLOSE) == 0);
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
    if (e != want)
        print_error("response %.40s...: got %d (%s), want %d\n", resp, e,
                    cio_strerror(e), want);
    CHECK(e == want);
    return 0;
}

static int b_expect_raw(tcase *t)
{
    cio_http_request_opts o = {0};
    size_t n = 200000;
    char *big = calloc(1, n);
    o.body = big;
    o.body_len = n;
    cio_http_client_response *r;
    char u[128];
    /* the server says 100 Continue, reads the body, answers */
    raw_srv rs;
    CHECK(raw_start(&rs, "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 0,
                    RAW_CONTINUE) == 0);
    int e = cio_http_session_request(t->s, "PUT", RU(&rs, u, sizeof(u), "/"),
                                     &o, &r);
    CHECK(e == 0 && cio_http_client_response_status(r) == 201);
    cio_http_client_response_free(r);
    CHECK(strstr(rs.last_req, "\r\nExpect: 100-continue\r\n"));
    CHECK(rs.body_got == n);
    raw_stop(&rs);
    /* the server refuses at once: the body is never sent */
    long idle0, idle;
    cio_http_session_stats(t->s, NULL, &idle0);
    CHECK(raw_start(&rs,
                    "HTTP/1.1 401 Unauthorized\r\nContent-Length: 4\r\n"
                    "\r\nnope",
                    0, RAW_REPEAT) == 0);
    e = cio_http_session_request(t->s, "PUT", RU(&rs, u, sizeof(u), "/"), &o,
                                 &r);
    free(big);
    CHECK(e == 0 && cio_http_client_response_status(r) == 401);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "nope"));
    cio_http_client_response_free(r);
    /* only the head came: nothing after its blank line */
    CHECK(strlen(strstr(rs.last_req, "\r\n\r\n")) == 4);
    /* that connection is not reused (its announced body never went) */
    cio_http_session_stats(t->s, NULL, &idle);
    CHECK(idle == idle0);
    raw_stop(&rs);
    return 0;
}

static void expect_continue(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.expect_continue_min = 1000; /* this upload sends Expect */
    run_case(b_expect, &so, NULL);
    run_case(b_expect_raw, &so, NULL);
}

static int b_hostile(tcase *t)
{
    CHECK(raw_expect(t,
                     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     0, CIO_EHTTPC_FRAMING) == 0);
    CHECK(raw_expect(t,
                     "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                     "Content-Length: 4\r\n\r\nabcd",
                     0, CIO_EHTTPC_FRAMING) == 0);
    CHECK(raw_expect(t, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0,
                     CIO_EHTTPC_DISCONNECTED) == 0);
    CHECK(raw_expect(t, "", 0, CIO_EHTTPC_DISCONNECTED) == 0);
    CHECK(raw_expect(t, "SSH-2.0-OpenSSH\r\n\r\n", 0, CIO_EHTTPC_MALFORMED) ==
          0);
    CHECK(raw_expect(t,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nabc",
                     0, CIO_EHTTPC_DISCONNECTED) == 0);
    CHECK(raw_expect(t,
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "-5\r\nabcde\r\n0\r\n\r\n",
                     0, CIO_EHTTPC_MALFORMED) == 0);
    /* a head of 100 KiB: over max_head (64 KiB) */
    size_t hn = 100000;
    char *h = malloc(hn + 64);
    strcpy(h, "HTTP/1.1 200 OK\r\n");
    size_t o = strlen(h);
    while (o < hn) {
        memcpy(h + o, "X-A: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 38);
        o += 38;
    }
    memcpy(h + o, "\r\n", 3);
    int r = raw_expect(t, h, 0, CIO_EHTTPC_HEAD_TOO_LARGE);
    free(h);
    CHECK(r == 0);
    return 0;
}

static void hostile_responses(void **state)
{
    (void)state;
    run_case(b_hostile, NULL, NULL);
}

/* an endless chunked body: a server task that never stops sending */
static int endless_conn(void *arg, void **res)
{
    (void)res;
    cio_socket *c = arg;
    cio_socket_close_on_exit(c);
    char buf[2048];
    if (cio_socket_recv(c, buf, sizeof(buf), 0) <= 0)
        return 0;
    const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (cio_socket_sendall(c, h, strlen(h), 0) < 0)
        return 0;
    char chunk[4096 + 16];
    int hl = snprintf(chunk, sizeof(chunk), "1000\r\n");
    memset(chunk + hl, 'z', 4096);
    memcpy(chunk + hl + 4096, "\r\n", 2);
    while (cio_socket_sendall(c, chunk, (size_t)hl + 4098, 0) == 0)
        ;
    return 0;
}

static int endless_accept(void *arg, void **res)
{
    (void)res;
    cio_socket *ls = arg;
    cio_socket *c;
    while (cio_socket_accept(ls, &c, NULL) == 0)
        cio_task_create(cio_get_running_loop(), CIO_CORO(endless_conn, c), NULL,
                        NULL);
    return 0;
}

static int b_endless(tcase *t)
{
    cio_socket *ls;
    CHECK(cio_socket_open(&ls, cio_get_running_loop(), AF_INET, SOCK_STREAM,
                          0) == 0);
    CHECK(cio_socket_bind_ip(ls, "127.0.0.1", 0) == 0);
    CHECK(cio_socket_listen(ls, 8) == 0);
    cio_sockaddr a;
    cio_socket_sockname(ls, &a);
    cio_task *acc;
    CHECK(cio_task_create(cio_get_running_loop(), CIO_CORO(endless_accept, ls),
                          NULL, &acc) == 0);
    char u[128];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/", cio_sockaddr_port(&a));
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    const char *d;
    size_t n;
    /* whole: stops at max_body (1 MiB here) */
    CHECK(cio_http_client_response_read(r, 0, &d, &n) ==
          CIO_EHTTPC_BODY_TOO_LARGE);
    cio_http_client_response_free(r);
    /* streamed: stops at max_body too */
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    int k;
    size_t total = 0;
    while ((k = cio_http_client_response_read_chunk(r, &d, &n)) > 0)
        total += n;
    CHECK(k == CIO_EHTTPC_BODY_TOO_LARGE && total <= (1u << 20));
    /* sticky */
    CHECK(cio_http_client_response_read_chunk(r, &d, &n) ==
          CIO_EHTTPC_BODY_TOO_LARGE);
    cio_http_client_response_free(r);
    cio_task_cancel(acc, NULL);
    cio_await(acc, NULL);
    cio_future_release(acc);
    cio_socket_close(ls);
    return 0;
}

static void endless_chunked_body(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.max_body = 1 << 20;
    run_case(b_endless, &so, NULL);
}

static int b_retry(tcase *t)
{
    raw_srv rs;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    CHECK(raw_start(&rs, ok, 0, RAW_KEEP_THEN_CLOSE) == 0);
    char u[128];
    RU(&rs, u, sizeof(u), "/");
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "ok"));
    cio_http_client_response_free(r);   /* pooled: the server said keep-alive */
    CHECK(cio_sleep(20 * CIO_MS) == 0); /* the server has closed it now */
    /* GET on the dead pooled connection: retried once on a new one */
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "ok"));
    cio_http_client_response_free(r);
    CHECK(rs.accepts == 2);
    raw_stop(&rs);
    /* POST is not idempotent: the same situation is an error */
    CHECK(raw_start(&rs, ok, 0, RAW_KEEP_THEN_CLOSE) == 0);
    RU(&rs, u, sizeof(u), "/");
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    CHECK(cio_http_client_response_text(r, NULL));
    cio_http_client_response_free(r);
    CHECK(cio_sleep(20 * CIO_MS) == 0);
    cio_http_request_opts o = {0};
    o.body = "data";
    o.body_len = 4;
    int e = cio_http_session_request(t->s, "POST", u, &o, &r);
    CHECK(e == CIO_EHTTPC_DISCONNECTED || e == -ECONNRESET || e == -EPIPE);
    CHECK(rs.accepts == 1);
    raw_stop(&rs);
    return 0;
}

static void retry_idempotent_once(void **state)
{
    (void)state;
    run_case(b_retry, NULL, NULL);
}

/* ---- timeouts and cancellation --------------------------------------------
 */

static int b_timeouts(tcase *t)
{
    cio_http_client_response *r;
    cio_http_request_opts o = {0};
    o.timeout.sock_read = 50 * CIO_MS;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/slow"), &o, &r) ==
          CIO_EHTTPC_READ_TIMEOUT);
    memset(&o, 0, sizeof(o));
    o.timeout.total = 50 * CIO_MS;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/slow"), &o, &r) ==
          CIO_EHTTPC_TIMEOUT);
    /* total < 0: no total timeout for this request */
    o.timeout.total = -1;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/slow"), &o, &r) == 0);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "slept"));
    cio_http_client_response_free(r);
    /* a silent raw server: sock_read while reading the head */
    raw_srv rs;
    CHECK(raw_start(&rs, "", 0, RAW_SILENT) == 0);
    char u[128];
    o.timeout.total = 0;
    o.timeout.sock_read = 50 * CIO_MS;
    CHECK(cio_http_session_request(t->s, "GET", RU(&rs, u, sizeof(u), "/"), &o,
                                   &r) == CIO_EHTTPC_READ_TIMEOUT);
    raw_stop(&rs);
    /* connect: waiting for a pool slot counts (limit 1, one held) */
    cio_http_client_response *held;
    CHECK(cio_http_session_get(t->s, U(t, "/"), &held) == 0);
    memset(&o, 0, sizeof(o));
    o.timeout.connect = 50 * CIO_MS;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/"), &o, &r) ==
          CIO_EHTTPC_CONNECT_TIMEOUT);
    CHECK(cio_http_client_response_text(held, NULL));
    cio_http_client_response_free(held);
    /* the slot is free again */
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/"), &o, &r) == 0);
    cio_http_client_response_free(r);
    /* a caller's own timeout scope gives -ETIMEDOUT */
    cio_timeout sc;
    CHECK(cio_timeout_begin(&sc, 50 * CIO_MS) == 0);
    int e = cio_http_session_get(t->s, U(t, "/slow"), &r);
    CHECK(cio_timeout_end(&sc, e) == -ETIMEDOUT);
    /* a read timeout while reading the body */
    CHECK(cio_http_session_get(t->s, U(t, "/"), &r) == 0);
    cio_http_client_response_free(r);
    return 0;
}

static void timeouts(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.limit = 1;
    run_case(b_timeouts, &so, NULL);
}

typedef struct creq {
    tcase *t;
    const char *method;
    const char *url;
    cio_http_request_opts o;
    int rc;
    int started;
} creq;

static int creq_task(void *arg, void **res)
{
    (void)res;
    creq *c = arg;
    cio_http_client_response *r;
    c->started = 1;
    c->rc = cio_http_session_request(c->t->s, c->method, c->url, &c->o, &r);
    if (c->rc == 0) {
        const char *d;
        size_t n;
        c->rc = cio_http_client_response_read(r, 0, &d, &n);
        cio_http_client_response_free(r);
    }
    return c->rc;
}

/* Starts the request in a task, cancels it after delay, checks it ended
 * with -ECANCELED. */
static int cancel_after(tcase *t, creq *c, int64_t delay)
{
    c->t = t;
    c->rc = 1;
    cio_task *tk;
    CHECK(cio_task_create(cio_get_running_loop(), CIO_CORO(creq_task, c), NULL,
                          &tk) == 0);
    CHECK(cio_sleep(delay) == 0);
    CHECK(c->started && c->rc == 1); /* still waiting */
    cio_task_cancel(tk, NULL);
    int e = cio_await(tk, NULL);
    cio_future_release(tk);
    CHECK(e == -ECANCELED && c->rc == -ECANCELED);
    return 0;
}

static int b_cancel(tcase *t)
{
    /* at read: the server sleeps 300 ms before answering */
    creq c;
    memset(&c, 0, sizeof(c));
    c.method = "GET";
    c.url = strdup(U(t, "/slow"));
    CHECK(cancel_after(t, &c, 50 * CIO_MS) == 0);
    free((void *)c.url);
    /* at send: a server that never reads a 32 MiB upload */
    raw_srv rs;
    CHECK(raw_start(&rs, "", 0, RAW_NOREAD) == 0);
    char u[128];
    memset(&c, 0, sizeof(c));
    c.method = "POST";
    c.url = RU(&rs, u, sizeof(u), "/");
    size_t n = 32u << 20;
    char *big = calloc(1, n);
    c.o.body = big;
    c.o.body_len = n;
    int e = cancel_after(t, &c, 100 * CIO_MS);
    free(big);
    CHECK(e == 0);
    raw_stop(&rs);
    /* at connect: waiting for a pool slot (limit 1, one response held) */
    cio_http_client_response *held;
    CHECK(cio_http_session_get(t->s, U(t, "/"), &held) == 0);
    memset(&c, 0, sizeof(c));
    c.method = "GET";
    c.url = strdup(U(t, "/"));
    CHECK(cancel_after(t, &c, 30 * CIO_MS) == 0);
    free((void *)c.url);
    cio_http_client_response_free(held);
    /* the session still works and nothing leaked a slot */
    char buf[32];
    CHECK(get_text(t, "/", buf, sizeof(buf), NULL) == 0);
    CHECK(!strcmp(buf, "hello"));
    return 0;
}

/* A listener whose accept queue is full (backlog 0, never accepting, filled
 * by non-blocking connects): the kernel drops further SYNs, so a connect
 * to it stays in progress - on 127.0.0.1, no outside network. */
static int full_listener(int *fds, int nfds)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(ls, 0) < 0 || getsockname(ls, (struct sockaddr *)&a, &al) < 0)
        return -1;
    fds[0] = ls;
    for (int i = 1; i < nfds; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        connect(fds[i], (struct sockaddr *)&a, sizeof(a));
    }
    usleep(100000); /* the handshakes of the fillers complete */
    return ntohs(a.sin_port);
}

static int b_cancel_connect(tcase *t)
{
    int fds[4];
    int port = full_listener(fds, 4);
    CHECK(port > 0);
    char u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/", port);
    /* cancelled while the TCP connect is in progress */
    creq c;
    memset(&c, 0, sizeof(c));
    c.method = "GET";
    c.url = u;
    int e = cancel_after(t, &c, 100 * CIO_MS);
    /* and the connect timeout there */
    cio_http_request_opts o = {0};
    o.timeout.connect = 100 * CIO_MS;
    cio_http_client_response *r;
    int e2 = cio_http_session_request(t->s, "GET", u, &o, &r);
    for (int i = 0; i < 4; i++)
        close(fds[i]);
    CHECK(e == 0);
    CHECK(e2 == CIO_EHTTPC_CONNECT_TIMEOUT);
    return 0;
}

static void cancellation(void **state)
{
    (void)state;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.limit = 1;
    so.expect_continue_min = SIZE_MAX;
    run_case(b_cancel, &so, NULL);
    run_case(b_cancel_connect, NULL, NULL);
}

/* ---- redirects and cookies -------------------------------------------------
 */

static int b_redirects(tcase *t)
{
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, U(t, "/redir/3"), &r) == 0);
    CHECK(cio_http_client_response_status(r) == 200);
    CHECK(cio_http_client_response_redirects(r) == 3);
    CHECK(strstr(cio_http_client_response_url(r), "/redir/0"));
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "done"));
    cio_http_client_response_free(r);
    long opened;
    cio_http_session_stats(t->s, &opened, NULL);
    CHECK(opened == 1); /* redirects drained and reused the connection */
    CHECK(cio_http_session_get(t->s, U(t, "/redir/11"), &r) ==
          CIO_EHTTPC_TOO_MANY_REDIRECTS);
    cio_http_request_opts o = {0};
    o.max_redirects = 2;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/redir/3"), &o, &r) ==
          CIO_EHTTPC_TOO_MANY_REDIRECTS);
    o.max_redirects = 0;
    o.no_redirects = 1;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/redir/3"), &o, &r) == 0);
    CHECK(cio_http_client_response_status(r) == 302);
    size_t ll;
    const char *loc = cio_http_client_response_header(r, "location", 0, &ll);
    CHECK(loc && ll == 1 && loc[0] == '2');
    cio_http_client_response_free(r);
    /* method rewriting (RFC 9110 15.4) */
    struct {
        int st;
        const char *method, *want;
    } cases[] = {
        {303, "POST", "GET:"},      {303, "PUT", "GET:"},
        {302, "POST", "GET:"},      {301, "POST", "GET:"},
        {307, "POST", "POST:body"}, {308, "PUT", "PUT:body"},
        {302, "PUT", "PUT:body"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.body = "body";
        o.body_len = 4;
        char p[64];
        snprintf(p, sizeof(p), "/to/%d", cases[i].st);
        CHECK(cio_http_session_request(t->s, cases[i].method, U(t, p), &o,
                                       &r) == 0);
        const char *x = cio_http_client_response_text(r, NULL);
        if (!x || strcmp(x, cases[i].want))
            print_error("%d %s: %s\n", cases[i].st, cases[i].method,
                        x ? x : "(null)");
        CHECK(x && !strcmp(x, cases[i].want));
        cio_http_client_response_free(r);
    }
    /* credentials stay on the original host: 127.0.0.1 -> localhost */
    memset(&o, 0, sizeof(o));
    o.user = "Aladdin";
    o.password = "open sesame";
    const char *hdrs[] = {"Cookie", "mine=1", NULL};
    o.headers = hdrs;
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/hdr"), &o, &r) == 0);
    const char *x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "auth=Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== "
                          "cookie=mine=1"));
    cio_http_client_response_free(r);
    char p[128];
    snprintf(p, sizeof(p), "/to/302?to=http://localhost:%d/hdr", t->port);
    CHECK(cio_http_session_request(t->s, "GET", U(t, p), &o, &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && !strcmp(x, "auth=- cookie=-"));
    cio_http_client_response_free(r);
    /* same host, other path: kept */
    CHECK(cio_http_session_request(t->s, "GET", U(t, "/to/302?to=/hdr"), &o,
                                   &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && strstr(x, "auth=Basic") && strstr(x, "mine=1"));
    cio_http_client_response_free(r);
    /* credentials from the URL */
    snprintf(p, sizeof(p), "http://Aladdin:open%%20sesame@127.0.0.1:%d/hdr",
             t->port);
    CHECK(cio_http_session_get(t->s, p, &r) == 0);
    x = cio_http_client_response_text(r, NULL);
    CHECK(x && strstr(x, "auth=Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== "));
    cio_http_client_response_free(r);
    return 0;
}

static void redirects(void **state)
{
    (void)state;
    run_case(b_redirects, NULL, NULL);
}

static int b_cookies(tcase *t)
{
    char buf[256];
    CHECK(get_text(t, "/setcookie", buf, sizeof(buf), NULL) == 0);
    CHECK(!strcmp(cio_http_session_cookie(t->s, "127.0.0.1", "/", "sid"),
                  "abc123"));
    CHECK(get_text(t, "/hdr", buf, sizeof(buf), NULL) == 0);
    CHECK(strstr(buf, "sid=abc123") && strstr(buf, "theme=dark"));
    /* host-only cookies are not sent to another host name */
    char u[128];
    snprintf(u, sizeof(u), "http://localhost:%d/hdr", t->port);
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    CHECK(!strcmp(cio_http_client_response_text(r, NULL), "auth=- cookie=-"));
    cio_http_client_response_free(r);
    cio_http_session_clear_cookies(t->s);
    CHECK(get_text(t, "/hdr", buf, sizeof(buf), NULL) == 0);
    CHECK(!strcmp(buf, "auth=- cookie=-"));
    return 0;
}

static void cookies(void **state)
{
    (void)state;
    run_case(b_cookies, NULL, NULL);
}

/* ---- gzip, chunked, close-delimited: Python's http.server
 * -------------------- */

static pid_t py_pid;
static int py_port;

static int py_start(void)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        return -1;
    int p[2];
    if (pipe(p) < 0)
        return -1;
    py_pid = fork();
    if (py_pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        execl("/usr/bin/python3", "python3",
              CIO_SOURCE_DIR "/tests/http/client_peer.py", (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    char line[32] = "";
    ssize_t n = read(p[0], line, sizeof(line) - 1);
    close(p[0]);
    if (n <= 0)
        return -1;
    line[n] = 0;
    py_port = atoi(line);
    return py_port > 0 ? 0 : -1;
}

static void py_stop(void)
{
    if (py_pid > 0) {
        kill(py_pid, SIGTERM);
        waitpid(py_pid, NULL, 0);
        py_pid = 0;
    }
}

static int py_get(tcase *t, const char *path, char *out, size_t cap)
{
    char u[128];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d%s", py_port, path);
    cio_http_client_response *r;
    int e = cio_http_session_get(t->s, u, &r);
    if (e < 0)
        return e;
    const char *x = cio_http_client_response_text(r, &e);
    if (x)
        snprintf(out, cap, "%s", x);
    cio_http_client_response_free(r);
    return e;
}

static int b_python(tcase *t)
{
    char buf[4096];
    CHECK(py_get(t, "/gzip", buf, sizeof(buf)) == 0);
    CHECK(strlen(buf) == 3000 && buf[0] == 'g' && buf[2999] == 'g');
    CHECK(py_get(t, "/deflate", buf, sizeof(buf)) == 0);
    CHECK(!strcmp(buf, "deflated hello\n"));
    CHECK(py_get(t, "/chunked", buf, sizeof(buf)) == 0);
    CHECK(!strcmp(buf, "chunk one;chunk two;"));
    CHECK(py_get(t, "/close", buf, sizeof(buf)) == 0);
    CHECK(!strcmp(buf, "until the connection closes"));
    CHECK(py_get(t, "/json", buf, sizeof(buf)) == 0);
    CHECK(strstr(buf, "\"py\": true"));
    /* keep-alive with a real server: its own count of connections */
    for (int i = 0; i < 5; i++)
        CHECK(py_get(t, "/plain", buf, sizeof(buf)) == 0);
    CHECK(py_get(t, "/connections", buf, sizeof(buf)) == 0);
    /* gzip, deflate, chunked, json, plain x6: one connection; /close: 2nd
     * (it closed); the /gzip.. ones before it: the 1st */
    CHECK(atoi(buf) == 2);
    return 0;
}

static void python_server(void **state)
{
    (void)state;
    if (py_start() < 0) {
        py_stop();
        skip();
    }
    run_case(b_python, NULL, NULL);
    py_stop();
}

/* ---- proxy ------------------------------------------------------------------
 */

typedef struct proxy {
    cio_socket *ls;
    int port;
    int connects;
    char last[256];
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
    if (sscanf(buf, "CONNECT %127[^:]:%d HTTP/1.1", host, &port) != 2) {
        const char *no = "HTTP/1.1 405 Method Not Allowed\r\n"
                         "Content-Length: 0\r\n\r\n";
        cio_socket_sendall(pc.c, no, strlen(no), 0);
        return 0;
    }
    pc.px->connects++;
    snprintf(pc.px->last, sizeof(pc.px->last), "%s:%d", host, port);
    cio_socket *up;
    if (cio_socket_create_connection(&up, host, port) < 0) {
        const char *bad = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
        cio_socket_sendall(pc.c, bad, strlen(bad), 0);
        return 0;
    }
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

static int b_proxy(tcase *t)
{
    proxy *px = t->arg;
    char buf[64];
    CHECK(get_text(t, "/", buf, sizeof(buf), NULL) == 0);
    CHECK(!strcmp(buf, "hello"));
    CHECK(get_text(t, "/port", buf, sizeof(buf), NULL) == 0);
    CHECK(px->connects == 1); /* the tunnel is pooled like a connection */
    char want[64];
    snprintf(want, sizeof(want), "127.0.0.1:%d", t->port);
    CHECK(!strcmp(px->last, want));
    /* a refused tunnel */
    cio_http_client_response *r;
    CHECK(cio_http_session_get(t->s, "http://127.0.0.1:1/", &r) ==
          CIO_EHTTPC_PROXY);
    return 0;
}

static int proxy_case(void *arg, void **res)
{
    (void)res;
    proxy *px = arg;
    int r = cio_socket_open(&px->ls, cio_get_running_loop(), AF_INET,
                            SOCK_STREAM, 0);
    if (r < 0)
        return r;
    cio_socket_bind_ip(px->ls, "127.0.0.1", 0);
    cio_socket_listen(px->ls, 16);
    cio_sockaddr a;
    cio_socket_sockname(px->ls, &a);
    px->port = cio_sockaddr_port(&a);
    return cio_task_create(cio_get_running_loop(), CIO_CORO(proxy_accept, px),
                           NULL, &px->acc);
}

static int proxy_main(void *arg, void **result)
{
    proxy *px = ((tcase *)arg)->arg;
    int r = proxy_case(px, NULL);
    if (r < 0)
        return r;
    tcase *t = arg;
    char pu[64];
    snprintf(pu, sizeof(pu), "http://127.0.0.1:%d", px->port);
    t->so.proxy = pu;
    r = case_main(arg, result);
    cio_task_cancel(px->acc, NULL);
    cio_await(px->acc, NULL);
    cio_future_release(px->acc);
    cio_socket_close(px->ls);
    return r;
}

static void connect_proxy(void **state)
{
    (void)state;
    proxy px;
    memset(&px, 0, sizeof(px));
    tcase t;
    memset(&t, 0, sizeof(t));
    t.body = b_proxy;
    cio_http_session_opts d = CIO_HTTP_SESSION_OPTS_INIT;
    t.so = d;
    t.arg = &px;
    int r = cio_run(proxy_main, &t, NULL);
    if (r != 0)
        fail_msg("case failed: %d %s", r, cio_strerror(r));
}

/* ---- Unix connector
 * ------------------------------------------------------------ */

static int b_unix(tcase *t)
{
    raw_srv *rs = t->arg;
    char buf[64];
    cio_http_client_response *r;
    for (int i = 0; i < 3; i++) {
        CHECK(cio_http_session_get(t->s, "http://unix.local/path?q=1", &r) ==
              0);
        const char *x = cio_http_client_response_text(r, NULL);
        CHECK(x && !strcmp(x, "via unix"));
        cio_http_client_response_free(r);
    }
    CHECK(strstr(rs->last_req, "GET /path?q=1 HTTP/1.1\r\n"));
    CHECK(strstr(rs->last_req, "\r\nHost: unix.local\r\n"));
    CHECK(rs->accepts == 1 && rs->requests == 3); /* pooled */
    (void)buf;
    return 0;
}

static int unix_main(void *arg, void **result)
{
    tcase *t = arg;
    raw_srv *rs = t->arg;
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nvia unix";
    memset(rs, 0, sizeof(*rs));
    rs->resp = ok;
    rs->resp_len = strlen(ok);
    rs->mode = RAW_REPEAT;
    int r = cio_unix_listen(&rs->ls, cio_get_running_loop(), t->so.unix_path,
                            SOCK_STREAM, 0600, 16, CIO_UNIX_REMOVE_STALE);
    if (r < 0)
        return r;
    r = cio_task_create(cio_get_running_loop(), CIO_CORO(raw_accept, rs), NULL,
                        &rs->acceptor);
    if (r < 0)
        return r;
    r = case_main(arg, result);
    raw_stop(rs);
    unlink(t->so.unix_path);
    return r;
}

static void unix_connector(void **state)
{
    (void)state;
    raw_srv rs;
    tcase t;
    memset(&t, 0, sizeof(t));
    t.body = b_unix;
    cio_http_session_opts d = CIO_HTTP_SESSION_OPTS_INIT;
    t.so = d;
    char path[64];
    snprintf(path, sizeof(path), "/tmp/cio-hc-%d.sock", (int)getpid());
    t.so.unix_path = path;
    t.arg = &rs;
    int r = cio_run(unix_main, &t, NULL);
    if (r != 0)
        fail_msg("case failed: %d %s", r, cio_strerror(r));
}

/* ---- HTTPS: cio's TLS server (cio_start_server with a server context)
 * answering HTTP/1.1 keep-alive ---- */

static int tls_accepts;

static int https_handler(cio_stream_reader *r, cio_stream_writer *w, void *a)
{
    (void)a;
    tls_accepts++;
    const char *head;
    size_t len;
    while (cio_stream_reader_readuntil(r, "\r\n\r\n", 4, &head, &len) == 0) {
        const char *resp = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n"
                           "Content-Type: text/plain\r\n\r\nover TLS ok\n";
        if (cio_stream_writer_write(w, resp, strlen(resp)) < 0 ||
            cio_stream_writer_drain(w) < 0)
            break;
    }
    return 0;
}

static int b_https(tcase *t)
{
    cio_tls_ctx *sctx;
    CHECK(cio_tls_ctx_new(&sctx, CIO_TLS_SERVER) == 0);
    CHECK(cio_tls_ctx_use_cert_file(sctx, tu_cert("srv.pem"),
                                    tu_cert("srv.key")) == 0);
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv;
    CHECK(cio_start_server(cio_get_running_loop(), https_handler, NULL,
                           "127.0.0.1", 0, &so, &srv) == 0);
    cio_tls_ctx_free(sctx);
    int port = cio_server_port(srv);
    char u[128];
    cio_http_client_response *r;
    tls_accepts = 0;
    /* verified against the test CA (t->s was made with it), pooled */
    for (int i = 0; i < 3; i++) {
        snprintf(u, sizeof(u), "https://localhost:%d/x", port);
        CHECK(cio_http_session_get(t->s, u, &r) == 0);
        const char *x = cio_http_client_response_text(r, NULL);
        CHECK(x && !strcmp(x, "over TLS ok\n"));
        cio_http_client_response_free(r);
    }
    CHECK(tls_accepts == 1);
    /* the IP address is in the certificate too */
    snprintf(u, sizeof(u), "https://127.0.0.1:%d/", port);
    CHECK(cio_http_session_get(t->s, u, &r) == 0);
    cio_http_client_response_free(r);
    /* a session with the default context (system trust store) refuses
     * the test CA's certificate */
    cio_http_session *def;
    CHECK(cio_http_session_new(&def, cio_get_running_loop(), NULL) == 0);
    int e = cio_http_session_get(def, u, &r);
    cio_http_session_close(def);
    if (e != CIO_ETLS_VERIFY)
        print_error("default context: %d %s\n", e, cio_strerror(e));
    CHECK(e == CIO_ETLS_VERIFY);
    /* plain HTTP to the TLS port: not an HTTP response */
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/", port);
    e = cio_http_session_get(t->s, u, &r);
    CHECK(e < 0);
    cio_server_close(srv);
    cio_server_close_clients(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    return 0;
}

static void https(void **state)
{
    (void)state;
    if (!tu_certs())
        skip(); /* no openssl command to make the certificates */
    cio_tls_ctx *cctx;
    assert_int_equal(cio_tls_ctx_new(&cctx, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(cctx, tu_cert("ca.pem"), NULL),
                     0);
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.tls = cctx;
    run_case(b_https, &so, NULL);
    cio_tls_ctx_free(cctx);
}

static int b_refused(tcase *t)
{
    cio_http_client_response *r;
    /* a port nobody listens on (the raw server's, after it stopped) */
    raw_srv rs;
    CHECK(raw_start(&rs, "", 0, RAW_CLOSE) == 0);
    int port = rs.port;
    raw_stop(&rs);
    char u[64];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/", port);
    CHECK(cio_http_session_get(t->s, u, &r) == -ECONNREFUSED);
    /* a name that does not resolve: the resolver's error (a name server
     * that refuses, so no real DNS is asked) */
    cio_resolver_opts ro = CIO_RESOLVER_OPTS_INIT;
    ro.servers = "127.0.0.1:9";
    ro.timeout_ms = 200;
    ro.tries = 1;
    CHECK(cio_resolver_configure(cio_get_running_loop(), &ro) == 0);
    int e = cio_http_session_get(t->s, "http://no-such-host.invalid/", &r);
    CHECK(e <= CIO_ERR_DNS_FIRST && e >= CIO_ERR_DNS_LAST);
    return 0;
}

static void connect_errors(void **state)
{
    (void)state;
    run_case(b_refused, NULL, NULL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(get_basic),
    cmocka_unit_test(query_params),
    cmocka_unit_test(request_bodies),
    cmocka_unit_test(expect_continue),
    cmocka_unit_test(streaming),
    cmocka_unit_test(pool_reuse_and_expiry),
    cmocka_unit_test(pool_limit_per_host),
    cmocka_unit_test(hostile_responses),
    cmocka_unit_test(endless_chunked_body),
    cmocka_unit_test(retry_idempotent_once),
    cmocka_unit_test(timeouts),
    cmocka_unit_test(cancellation),
    cmocka_unit_test(redirects),
    cmocka_unit_test(cookies),
    cmocka_unit_test(python_server),
    cmocka_unit_test(connect_proxy),
    cmocka_unit_test(unix_connector),
    cmocka_unit_test(connect_errors),
    cmocka_unit_test(https),
};

CIO_TEST_MAIN(tests)
