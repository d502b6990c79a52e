/* cio-test: timeout=240 */
/*
 * test_http_h2_live.c - cio::http over HTTP/2 (h2c), live on 127.0.0.1,
 * against real peers: curl --http2-prior-knowledge and --http2 (Upgrade:
 * h2c), nghttp and h2load (Debian nghttp2-client), and a client written
 * here on nghttp2's client side (flow control, resets) or with hand-built
 * frames (the CONTINUATION flood).
 *
 * The server runs through cio_http_run in a thread of its own (port 0,
 * reported by the on_start listener); the handlers count what they see in
 * atomics that the test thread reads.
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"
#include "cio/http2.h"

/* ---- the app under test ------------------------------------------------- */

static int h_index(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char out[64];
    snprintf(out, sizeof(out), "hello v%d", cio_http_request_version(req));
    return cio_http_response_text(res, 200, out);
}

static int h_echo(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *b = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, b, n, "application/octet-stream");
}

static int h_user(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t hl = 1, xl = 1, sl = 1;
    const char *host = cio_http_request_header(req, "host", 0, &hl);
    const char *x = cio_http_request_header(req, "x-test", 0, &xl);
    const char *sid = cio_http_request_cookie(req, "sid", &sl);
    char out[256];
    snprintf(out, sizeof(out), "id=%s host=%.*s x=%.*s sid=%.*s",
             cio_http_request_param(req, "id", NULL), (int)hl,
             host ? host : "-", (int)xl, x ? x : "-", (int)sl, sid ? sid : "-");
    cio_http_response_text(res, 200, out);
    return cio_http_response_header(res, "X-Reply", "Yes");
}

/* Counts its calls; 203 when the request has an x-test field (so a test
 * sees whether a field was dropped), else 200. */
static atomic_int count_calls;
static int h_count(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    count_calls++;
    size_t xl;
    return cio_http_response_text(
        res, cio_http_request_header(req, "x-test", 0, &xl) ? 203 : 200, "ok");
}

/* 1 MiB of a known pattern: for the small-window test. */
#define BIG (1 << 20)
static char big[BIG];

static int h_big(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_raw(res, 200, big, BIG,
                                 "application/octet-stream");
}

/* Concurrency: how many handlers run at once. */
static atomic_int conc_now, conc_max;

static int h_conc(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int n = ++conc_now;
    int m = conc_max;
    while (n > m && !atomic_compare_exchange_weak(&conc_max, &m, n))
        ;
    int r = cio_sleep(20 * CIO_MS);
    conc_now--;
    if (r < 0)
        return r;
    return cio_http_response_text(res, 200, "c");
}

/* A handler that waits 10 s unless cancelled. */
static atomic_int hang_started, hang_cancelled;

static int h_hang(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    hang_started++;
    int r = cio_sleep(10 * CIO_SEC);
    if (r == -ECANCELED) {
        hang_cancelled++;
        return r;
    }
    return cio_http_response_text(res, 200, "late");
}

/* A small streamed response and an SSE one. */
static int h_stream(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_stream(res, 200, NULL);
    for (int i = 0; r == 0 && i < 3; i++) {
        r = cio_http_response_write(res, &"abc"[i], 1);
        if (r == 0)
            r = cio_sleep(10 * CIO_MS);
    }
    return r;
}

static int h_sse(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_sse(res);
    if (r == 0)
        r = cio_http_response_sse_event(res, "tick", "1", NULL);
    if (r == 0)
        r = cio_http_response_sse_event(res, NULL, "done", "2");
    return r;
}

static int h_slow(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_sleep(300 * CIO_MS);
    if (r < 0)
        return r;
    return cio_http_response_text(res, 200, "slow done");
}

static void add_routes(cio_http_app *app)
{
    struct {
        const char *pat;
        cio_http_handler h;
        unsigned m;
    } routes[] = {
        {"/", h_index, CIO_HTTP_GET},
        {"/echo", h_echo, CIO_HTTP_POST},
        {"/user/<id:int>", h_user, 0},
        {"/big", h_big, 0},
        {"/conc", h_conc, 0},
        {"/hang", h_hang, 0},
        {"/flood", tu_h_flood, 0},
        {"/stream", h_stream, 0},
        {"/sse", h_sse, 0},
        {"/slow", h_slow, 0},
        {"/count", h_count, CIO_HTTP_GET | CIO_HTTP_POST},
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        assert_int_equal(
            cio_http_route(app, routes[i].pat, routes[i].h, NULL, routes[i].m),
            0);
}

static char g_dir[64];

static int start_server(void **state)
{
    (void)state;
    /* A directory with one 300 KB file, served by cio_http_app_static. */
    strcpy(g_dir, "/tmp/cio-h2-staticXXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char fpath[128];
    snprintf(fpath, sizeof(fpath), "%s/f.bin", g_dir);
    FILE *f = fopen(fpath, "wb");
    assert_non_null(f);
    for (int i = 0; i < 300000; i++)
        fputc('a' + i % 26, f);
    fclose(f);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
    assert_int_equal(cio_http_app_new(&g_app, "h2test"), 0);
    add_routes(g_app);
    assert_int_equal(cio_http_app_static(g_app, "/static", g_dir), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.max_body = 1 << 20;
    cfg.body_timeout = 1 * CIO_SEC;
    cfg.keep_alive_timeout = 1 * CIO_SEC;
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);
    cio_http2_config h2 = CIO_HTTP2_CONFIG_INIT;
    h2.max_concurrent_streams = 128;
    h2.max_header_list = 8192;
    h2.max_resets = 50;
    h2.reset_window = CIO_SEC;
    /* Bad values are refused. */
    cio_http2_config bad = CIO_HTTP2_CONFIG_INIT;
    bad.max_frame = 100;
    assert_int_equal(cio_http_app_http2(g_app, &bad), -EINVAL);
    assert_int_equal(cio_http_app_http2(NULL, &h2), -EINVAL);
    assert_int_equal(cio_http_app_http2(g_app, &h2), 0);
    tu_flood_limit = 64LL << 20; /* 64 MiB here */
    tu_http_start();
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    assert_int_equal(tu_http_stop(), 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
    g_app = NULL;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------
 */

/* Polls an atomic until it reaches want (<= ms). */
static int wait_for(atomic_int *v, int want, int ms)
{
    for (int i = 0; i < ms / 10 && *v < want; i++)
        usleep(10 * 1000);
    return *v;
}

/* ---- a client on nghttp2's client side -------------------------------------
 */

typedef struct cli {
    int fd;
    nghttp2_session *ng;
    int status[64]; /* by stream id / 2 */
    size_t got[64]; /* body bytes */
    int closed[64];
    uint32_t close_code[64];
    int goaway;
    uint32_t goaway_code;
    int eof;
    int read_body; /* 0: leave DATA unconsumed (the window stays shut) */
} cli;

static int cli_header(nghttp2_session *ng, const nghttp2_frame *f,
                      const uint8_t *n, size_t nl, const uint8_t *v, size_t vl,
                      uint8_t flags, void *ud)
{
    (void)ng, (void)flags;
    cli *c = ud;
    if (nl == 7 && !memcmp(n, ":status", 7) && f->hd.stream_id / 2 < 64)
        c->status[f->hd.stream_id / 2] = atoi((const char *)v);
    (void)vl;
    return 0;
}

static int cli_data(nghttp2_session *ng, uint8_t flags, int32_t id,
                    const uint8_t *d, size_t len, void *ud)
{
    (void)ng, (void)flags, (void)d;
    cli *c = ud;
    if (id / 2 < 64)
        c->got[id / 2] += len;
    return 0;
}

static int cli_close(nghttp2_session *ng, int32_t id, uint32_t code, void *ud)
{
    (void)ng;
    cli *c = ud;
    if (id / 2 < 64) {
        c->closed[id / 2] = 1;
        c->close_code[id / 2] = code;
    }
    return 0;
}

static int cli_frame(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    (void)ng;
    cli *c = ud;
    if (f->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = 1;
        c->goaway_code = f->goaway.error_code;
    }
    return 0;
}

static void cli_open(cli *c, uint32_t window, int auto_window)
{
    memset(c, 0, sizeof(*c));
    c->fd = tu_dial();
    c->read_body = 1;
    nghttp2_session_callbacks *cb;
    assert_int_equal(nghttp2_session_callbacks_new(&cb), 0);
    nghttp2_session_callbacks_set_on_header_callback(cb, cli_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, cli_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, cli_close);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, cli_frame);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    if (!auto_window)
        nghttp2_option_set_no_auto_window_update(opt, 1);
    assert_int_equal(nghttp2_session_client_new2(&c->ng, cb, c, opt), 0);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    assert_int_equal(nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, 2),
                     0);
}

static int32_t cli_get(cli *c, const char *path, const char *xname,
                       const char *xvalue)
{
    nghttp2_nv nv[5] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"127.0.0.1", 10, 9, 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
        {(uint8_t *)xname, (uint8_t *)xvalue, xname ? strlen(xname) : 0,
         xvalue ? strlen(xvalue) : 0, 0},
    };
    int32_t id =
        nghttp2_submit_request(c->ng, NULL, nv, xname ? 5 : 4, NULL, NULL);
    assert_true(id > 0);
    return id;
}

static void cli_flush(cli *c)
{
    const uint8_t *p;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(c->ng, &p)) > 0)
        if (send(c->fd, p, (size_t)n, MSG_NOSIGNAL) != n)
            break;
}

/* Sends what is queued and reads for up to ms (or until done(c) says so). */
static void cli_pump(cli *c, int ms, int (*done)(cli *, int32_t), int32_t id)
{
    for (int i = 0; i < ms / 10; i++) {
        const uint8_t *p;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(c->ng, &p)) > 0)
            if (send(c->fd, p, (size_t)n, MSG_NOSIGNAL) != n)
                break;
        if (done && done(c, id))
            return;
        struct pollfd pf = {c->fd, POLLIN, 0};
        if (poll(&pf, 1, 10) <= 0)
            continue;
        uint8_t buf[16384];
        ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
        if (r <= 0) {
            c->eof = 1;
            return;
        }
        nghttp2_session_mem_recv(c->ng, buf, (size_t)r);
    }
}

static void cli_close_all(cli *c)
{
    nghttp2_session_del(c->ng);
    close(c->fd);
}

static int stream_closed(cli *c, int32_t id)
{
    return c->closed[id / 2] || c->eof;
}

static int got_goaway(cli *c, int32_t id)
{
    (void)id;
    return c->goaway || c->eof;
}

/* ---- cases
 * --------------------------------------------------------------------- */

static void curl_prior_knowledge(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char out[8192];
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge -w ' %%{http_version}'"
                        " http://127.0.0.1:%d/",
                        g_port),
                     0);
    assert_string_equal(out, "hello v20 2");
    /* Headers (Host from :authority), a cookie, a parameter; response
     * headers lower-cased. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -si --http2-prior-knowledge -H 'X-Test: t1' "
                        "-b 'a=1; sid=s9' http://127.0.0.1:%d/user/42",
                        g_port),
                     0);
    assert_non_null(strstr(out, "HTTP/2 200"));
    assert_non_null(strstr(out, "x-reply: Yes"));
    assert_non_null(strstr(out, "content-length: "));
    assert_non_null(strstr(out, "id=42 host=127.0.0.1:"));
    assert_non_null(strstr(out, "x=t1 sid=s9"));
    /* 404 and 405 from the router, HEAD without a body. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge -o /dev/null -w "
                        "'%%{http_code} ' http://127.0.0.1:%d/nope; "
                        "curl -s --http2-prior-knowledge -o /dev/null -w "
                        "'%%{http_code}' -X DELETE http://127.0.0.1:%d/",
                        g_port, g_port),
                     0);
    assert_string_equal(out, "404 405");
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -sI --http2-prior-knowledge "
                        "http://127.0.0.1:%d/",
                        g_port),
                     0);
    assert_non_null(strstr(out, "HTTP/2 200"));
    assert_null(strstr(out, "hello"));
    /* Streamed and SSE responses. (One URL per curl: curl 7.88 with
     * --http2-prior-knowledge sends nothing for a second URL on the reused
     * connection, against Node's http2 server as well: exit 16.) */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge http://127.0.0.1:%d"
                        "/stream; curl -s --http2-prior-knowledge "
                        "http://127.0.0.1:%d/sse",
                        g_port, g_port),
                     0);
    assert_string_equal(out,
                        "abcevent: tick\ndata: 1\n\nid: 2\ndata: done\n\n");
}

static void curl_request_bodies(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char path[] = "/tmp/cio-h2-bodyXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static char body[300000];
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (char)('A' + i % 23);
    assert_int_equal(write(fd, body, sizeof(body)), (ssize_t)sizeof(body));
    close(fd);
    char out[400000];
    /* 300 KB up (more than the 64 KiB stream window), echoed back. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge --data-binary @%s "
                        "http://127.0.0.1:%d/echo",
                        path, g_port),
                     0);
    assert_int_equal(strlen(out), sizeof(body));
    assert_memory_equal(out, body, sizeof(body));
    /* Over max_body (1 MiB): 413, and the connection still serves. */
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "head -c 1200000 /dev/zero > %s", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge -o /dev/null -w "
                        "'%%{http_code} ' --data-binary @%s "
                        "http://127.0.0.1:%d/echo",
                        path, g_port),
                     0);
    assert_string_equal(out, "413 ");
    unlink(path);
}

/* A static file: DATA frames read from the file (pread in the data
 * provider), Range and HEAD. */
static void curl_static_file(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char out[8192];
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge "
                        "http://127.0.0.1:%d/static/f.bin | md5sum; "
                        "md5sum < %s/f.bin",
                        g_port, g_dir),
                     0);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_memory_equal(out, nl + 1, 32);
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --http2-prior-knowledge -r 26-51 "
                        "http://127.0.0.1:%d/static/f.bin",
                        g_port),
                     0);
    assert_string_equal(out, "abcdefghijklmnopqrstuvwxyz");
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -sI --http2-prior-knowledge "
                        "http://127.0.0.1:%d/static/f.bin",
                        g_port),
                     0);
    assert_non_null(strstr(out, "HTTP/2 200"));
    assert_non_null(strstr(out, "content-length: 300000"));
}

static void curl_upgrade(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char out[8192];
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -sv --http2 http://127.0.0.1:%d/user/7 "
                        "http://127.0.0.1:%d/ 2>&1",
                        g_port, g_port),
                     0);
    assert_non_null(strstr(out, "HTTP/1.1 101 Switching Protocols"));
    assert_non_null(strstr(out, "HTTP/2 200"));
    /* The upgrading request is answered as stream 1, then stream 3. */
    assert_non_null(strstr(out, "id=7 host=127.0.0.1:"));
    assert_non_null(strstr(out, "hello v20"));
}

static void nghttp_client(void **state)
{
    (void)state;
    if (!tu_have("nghttp"))
        skip();
    char out[8192];
    /* Prior knowledge, and -u: Upgrade from HTTP/1.1. */
    assert_int_equal(
        tu_sh(out, sizeof(out), "nghttp http://127.0.0.1:%d/user/5", g_port), 0);
    assert_non_null(strstr(out, "id=5"));
    assert_int_equal(
        tu_sh(out, sizeof(out), "nghttp -u http://127.0.0.1:%d/", g_port), 0);
    assert_string_equal(out, "hello v20");
    /* A 1 MiB response under 1 KiB stream and connection windows (-w/-W
     * 10: 2^10-1 bytes): flow control, every byte arrives. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "nghttp -w 10 -W 10 http://127.0.0.1:%d/big | "
                        "md5sum",
                        g_port),
                     0);
    char want[8192];
    char path[] = "/tmp/cio-h2-bigXXXXXX";
    int fd = mkstemp(path);
    assert_int_equal(write(fd, big, BIG), BIG);
    close(fd);
    tu_sh(want, sizeof(want), "md5sum < %s", path);
    unlink(path);
    assert_string_equal(out, want);
}

static int h2load_ok(const char *out, const char *n)
{
    char want[128];
    snprintf(want, sizeof(want),
             "requests: %s total, %s started, %s done, "
             "%s succeeded, 0 failed, 0 errored",
             n, n, n, n);
    return strstr(out, want) != NULL;
}

static void h2load_all_succeed(void **state)
{
    (void)state;
    if (!tu_have("h2load"))
        skip();
    char out[16384];
    assert_int_equal(tu_sh(out, sizeof(out),
                        "timeout 60 h2load -n 4000 -c 8 -m 10 "
                        "http://127.0.0.1:%d/ 2>&1",
                        g_port),
                     0);
    print_message("%s",
                  strstr(out, "requests:") ? strstr(out, "requests:") : out);
    assert_true(h2load_ok(out, "4000"));
    /* 100 concurrent streams on one connection run their handlers at
     * once (each sleeps 20 ms). */
    conc_max = 0;
    assert_int_equal(tu_sh(out, sizeof(out),
                        "timeout 60 h2load -n 1000 -c 1 -m 100 "
                        "http://127.0.0.1:%d/conc 2>&1",
                        g_port),
                     0);
    assert_true(h2load_ok(out, "1000"));
    print_message("most concurrent handlers on one connection: %d\n",
                  (int)conc_max);
    assert_true(conc_max >= 50);
}

/* The peer opens no window: a handler streaming 64 MiB suspends in its
 * write after the stream window and the per-stream queue; resetting the
 * stream makes the write fail. */
static void flow_control_back_pressure(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, 1024, 0);
    c.read_body = 0;
    int32_t id = cli_get(&c, "/flood", NULL, NULL);
    long long prev = -1, now = 0;
    for (int i = 0; i < 50; i++) {
        cli_pump(&c, 100, NULL, 0);
        now = tu_flood_written;
        if (now == prev && now > 0)
            break;
        prev = now;
    }
    print_message("streamed while the window is shut: %lld bytes, "
                  "received %zu\n",
                  now, c.got[id / 2]);
    assert_int_equal(c.status[id / 2], 200);
    assert_true(now == prev);
    assert_true(now < (1LL << 20));
    assert_true(c.got[id / 2] <= 1024);
    assert_int_equal(tu_flood_rc, 1); /* suspended in its write */
    /* Reset the stream: the write returns an error, the handler ends. */
    nghttp2_submit_rst_stream(c.ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    cli_pump(&c, 100, NULL, 0);
    for (int i = 0; i < 100 && tu_flood_rc == 1; i++)
        usleep(20 * 1000);
    assert_true(tu_flood_rc < 0);
    /* The same connection serves the next stream. */
    id = cli_get(&c, "/user/3", NULL, NULL);
    nghttp2_session_consume_connection(c.ng, 0);
    cli_pump(&c, 3000, stream_closed, id);
    assert_int_equal(c.status[id / 2], 200);
    cli_close_all(&c);
}

/* The peer resets a stream whose handler is running: the handler task is
 * cancelled (its cio_sleep returns -ECANCELED). */
static void reset_cancels_handler(void **state)
{
    (void)state;
    hang_started = hang_cancelled = 0;
    cli c;
    cli_open(&c, 65535, 1);
    int32_t id = cli_get(&c, "/hang", NULL, NULL);
    for (int i = 0; i < 100 && hang_started == 0; i++)
        cli_pump(&c, 20, NULL, 0);
    assert_int_equal(hang_started, 1);
    nghttp2_submit_rst_stream(c.ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    cli_pump(&c, 50, NULL, 0);
    assert_int_equal(wait_for(&hang_cancelled, 1, 3000), 1);
    cli_close_all(&c);
}

/* CVE-2023-44487: HEADERS then RST_STREAM, many times. The server counts
 * the resets, ends the connection with GOAWAY(ENHANCE_YOUR_CALM), cancels
 * the handlers that had started, and serves other connections. */
static void rapid_reset(void **state)
{
    (void)state;
    hang_started = hang_cancelled = 0;
    cli c;
    cli_open(&c, 65535, 1);
    int sent = 0;
    for (; sent < 1000 && !c.eof && !c.goaway; sent++) {
        int32_t id = cli_get(&c, "/hang", NULL, NULL);
        cli_flush(&c); /* HEADERS out first, or nghttp2 drops the stream */
        nghttp2_submit_rst_stream(c.ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
        cli_flush(&c);
        if (sent % 20 == 19)
            cli_pump(&c, 10, NULL, 0);
    }
    print_message("streams opened and reset: %d\n", sent);
    cli_pump(&c, 3000, got_goaway, 0);
    print_message("goaway %d code %u; handlers started %d cancelled %d\n",
                  c.goaway, c.goaway_code, (int)hang_started,
                  (int)hang_cancelled);
    assert_true(c.goaway);
    assert_int_equal(c.goaway_code, NGHTTP2_ENHANCE_YOUR_CALM);
    cli_pump(&c, 3000, NULL, 0); /* the server closes the connection */
    assert_true(c.eof);
    cli_close_all(&c);
    /* Every handler that started was cancelled (none waits 10 s). */
    for (int i = 0; i < 300 && hang_cancelled < hang_started; i++)
        usleep(10 * 1000);
    assert_true(hang_started > 0); /* handlers did start (eagerly) */
    assert_int_equal(hang_cancelled, hang_started);
    /* Other connections are served. */
    cli d;
    cli_open(&d, 65535, 1);
    int32_t id = cli_get(&d, "/user/9", NULL, NULL);
    cli_pump(&d, 3000, stream_closed, id);
    assert_int_equal(d.status[id / 2], 200);
    cli_close_all(&d);
}

/* A request whose body never comes: with no handler running and no byte
 * from the peer for body_timeout (1 s here), the server sends GOAWAY and
 * closes the connection. */
static ssize_t never_data(nghttp2_session *ng, int32_t id, uint8_t *buf,
                          size_t len, uint32_t *flags, nghttp2_data_source *src,
                          void *ud)
{
    (void)ng, (void)id, (void)buf, (void)len, (void)flags, (void)src;
    (void)ud;
    return NGHTTP2_ERR_DEFERRED;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static void stalled_body_times_out(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, 65535, 1);
    nghttp2_nv nv[4] = {
        {(uint8_t *)":method", (uint8_t *)"POST", 7, 4, 0},
        {(uint8_t *)":scheme", (uint8_t *)"http", 7, 4, 0},
        {(uint8_t *)":authority", (uint8_t *)"127.0.0.1", 10, 9, 0},
        {(uint8_t *)":path", (uint8_t *)"/echo", 5, 5, 0},
    };
    nghttp2_data_provider dp = {.read_callback = never_data};
    assert_true(nghttp2_submit_request(c.ng, NULL, nv, 4, &dp, NULL) > 0);
    int64_t t0 = mono_ns();
    cli_pump(&c, 6000, got_goaway, 0);
    int64_t dt = mono_ns() - t0;
    print_message("GOAWAY after %lld ms\n", (long long)(dt / CIO_MS));
    assert_true(c.goaway);
    assert_true(dt >= 900 * CIO_MS);
    cli_pump(&c, 3000, NULL, 0);
    assert_true(c.eof);
    cli_close_all(&c);
}

/* An HTTP/2 connection without open streams is closed gracefully after
 * keep_alive_timeout (1 s here): GOAWAY(NO_ERROR), then EOF. A handler
 * running longer than that (the 300 ms /slow twice, back to back on the
 * same connection, the second one starting 900 ms in) does not count as
 * idle time. */
static void idle_keep_alive_goaway(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, 65535, 1);
    int32_t id = cli_get(&c, "/slow", NULL, NULL);
    cli_pump(&c, 3000, stream_closed, id);
    assert_int_equal(c.status[id / 2], 200);
    usleep(600 * 1000);
    id = cli_get(&c, "/slow", NULL, NULL);
    cli_pump(&c, 3000, stream_closed, id);
    assert_int_equal(c.status[id / 2], 200);
    assert_false(c.goaway);
    int64_t t0 = mono_ns();
    cli_pump(&c, 5000, got_goaway, 0);
    int64_t dt = mono_ns() - t0;
    print_message("GOAWAY %d (code %u) after %lld ms idle\n", c.goaway,
                  c.goaway_code, (long long)(dt / CIO_MS));
    assert_true(c.goaway);
    assert_int_equal(c.goaway_code, NGHTTP2_NO_ERROR);
    assert_true(dt >= 800 * CIO_MS);
    cli_pump(&c, 3000, NULL, 0);
    assert_true(c.eof);
    cli_close_all(&c);
}

/* Over max_header_list (8192 here): the stream is refused, the connection
 * serves the next one. */
static void header_list_limit(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, 65535, 1);
    static char v[12000];
    memset(v, 'v', sizeof(v) - 1);
    int32_t id = cli_get(&c, "/user/1", "x-big", v);
    cli_pump(&c, 3000, stream_closed, id);
    assert_true(c.closed[id / 2]);
    assert_int_not_equal(c.status[id / 2], 200);
    int32_t id2 = cli_get(&c, "/user/2", "x-test", "small");
    cli_pump(&c, 3000, stream_closed, id2);
    assert_int_equal(c.status[id2 / 2], 200);
    cli_close_all(&c);
}

/* Request fields are checked by cio (nghttp2's HTTP messaging checks are
 * off, h2.c "request field checks"): each malformed request below is
 * reset with PROTOCOL_ERROR without reaching its handler, a regular field
 * with a bad value is dropped, and the connection goes on serving. */
typedef struct nvs {
    const char *n, *v;
} nvs;

static ssize_t body_source(nghttp2_session *ng, int32_t id, uint8_t *buf,
                           size_t len, uint32_t *flags,
                           nghttp2_data_source *src, void *ud)
{
    (void)ng, (void)id, (void)ud;
    size_t n = strlen(src->ptr);
    assert_true(n <= len);
    memcpy(buf, src->ptr, n);
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static int32_t cli_req(cli *c, const nvs *f, size_t n, const char *body)
{
    nghttp2_nv nv[12];
    assert_true(n <= 12);
    for (size_t i = 0; i < n; i++)
        nv[i] = (nghttp2_nv){(uint8_t *)f[i].n, (uint8_t *)f[i].v,
                             strlen(f[i].n), strlen(f[i].v),
                             /* as given: nghttp2 would lower-case a name
                              * it copies */
                             NGHTTP2_NV_FLAG_NO_COPY_NAME |
                                 NGHTTP2_NV_FLAG_NO_COPY_VALUE};
    nghttp2_data_provider dp = {.source.ptr = (void *)(uintptr_t)body,
                                .read_callback = body_source};
    int32_t id =
        nghttp2_submit_request(c->ng, NULL, nv, n, body ? &dp : NULL, NULL);
    assert_true(id > 0);
    return id;
}

#define M ":method", "GET"
#define S ":scheme", "http"
#define A ":authority", "127.0.0.1"
#define P ":path", "/count"

static void malformed_requests_reset(void **state)
{
    (void)state;
    static const struct {
        nvs f[8];
        size_t n;
        const char *body;
    } bad[] = {
        {{{M}, {S}, {A}, {P}, {"X-Upper", "1"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"connection", "close"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"keep-alive", "1"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"proxy-connection", "x"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"transfer-encoding", "chunked"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"upgrade", "h2c"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"te", "gzip"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {":foo", "bar"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {":protocol", "websocket"}}, 5, NULL},
        {{{M}, {S}, {A}, {"x-a", "1"}, {P}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {P}}, 5, NULL},
        {{{M}, {A}, {P}}, 3, NULL},
        {{{S}, {A}, {P}}, 3, NULL},
        {{{M}, {S}, {A}}, 3, NULL},
        {{{M}, {S}, {P}}, 3, NULL},
        {{{M}, {S}, {A}, {":path", "count"}}, 4, NULL},
        {{{M}, {S}, {A}, {":path", ""}}, 4, NULL},
        {{{M}, {S}, {A}, {":path", "/a b"}}, 4, NULL},
        {{{":method", "GE T"}, {S}, {A}, {P}}, 4, NULL},
        {{{M}, {":scheme", "1http"}, {A}, {P}}, 4, NULL},
        {{{M}, {S}, {":authority", "a b"}, {P}}, 4, NULL},
        {{{M}, {S}, {":authority", ""}, {P}}, 4, NULL},
        {{{M}, {S}, {P}, {"host", "a"}, {"host", "b"}}, 5, NULL},
        {{{M}, {S}, {P}, {"host", ""}}, 4, NULL},
        {{{":method", "CONNECT"}, {S}, {A}, {P}}, 4, NULL},
        {{{M}, {S}, {A}, {P}, {"content-length", "5"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"content-length", "x1"}}, 5, NULL},
        {{{M}, {S}, {A}, {P}, {"content-length", "1"}, {"content-length", "1"}},
         6,
         "x"},
        {{{":method", "POST"}, {S}, {A}, {P}, {"content-length", "3"}},
         5,
         "four"},
        {{{":method", "POST"}, {S}, {A}, {P}, {"content-length", "5"}},
         5,
         "four"},
    };
    count_calls = 0;
    cli c;
    cli_open(&c, 65535, 1);
    int32_t ids[sizeof(bad) / sizeof(bad[0])];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ids[i] = cli_req(&c, bad[i].f, bad[i].n, bad[i].body);
        cli_pump(&c, 3000, stream_closed, ids[i]);
        assert_true(c.closed[ids[i] / 2]);
        if (c.close_code[ids[i] / 2] != NGHTTP2_PROTOCOL_ERROR)
            fail_msg("case %zu: closed with %u, status %d", i,
                     c.close_code[ids[i] / 2], c.status[ids[i] / 2]);
        assert_int_equal(c.status[ids[i] / 2], 0);
    }
    assert_int_equal(count_calls, 0);
    assert_false(c.goaway);
    /* Accepted: a field with a bad value is dropped (200, not 203); a
     * valid x-test is kept (203); te: trailers; host instead of
     * :authority; a body matching content-length; OPTIONS "*". */
    static const struct {
        nvs f[6];
        size_t n;
        const char *body;
        int status;
    } good[] = {
        {{{M}, {S}, {A}, {P}, {"x-test", " lead"}}, 5, NULL, 200},
        {{{M}, {S}, {A}, {P}, {"x-test", "trail\t"}}, 5, NULL, 200},
        {{{M}, {S}, {A}, {P}, {"x-test", "a\001b"}}, 5, NULL, 200},
        {{{M}, {S}, {A}, {P}, {"x test", "v"}}, 5, NULL, 200},
        {{{M}, {S}, {A}, {P}, {"x-test", "fine value"}}, 5, NULL, 203},
        {{{M}, {S}, {A}, {P}, {"te", "Trailers"}}, 5, NULL, 200},
        {{{M}, {S}, {P}, {"host", "127.0.0.1:1"}}, 4, NULL, 200},
        {{{":method", "POST"}, {S}, {A}, {P}, {"content-length", "4"}},
         5,
         "four",
         200},
        {{{":method", "OPTIONS"}, {S}, {A}, {":path", "*"}}, 4, NULL, 204},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int32_t id = cli_req(&c, good[i].f, good[i].n, good[i].body);
        cli_pump(&c, 3000, stream_closed, id);
        if (c.status[id / 2] != good[i].status)
            fail_msg("good case %zu: status %d, closed with %u", i,
                     c.status[id / 2], c.close_code[id / 2]);
    }
    assert_int_equal(count_calls, 8);
    cli_close_all(&c);
}

/* Trailers: a pseudo-header in them, or trailers without END_STREAM, make
 * the request malformed; ordinary trailers are accepted (and ignored). */
static int trailer_case;
static nghttp2_nv trailer_nv;

static ssize_t trailer_source(nghttp2_session *ng, int32_t id, uint8_t *buf,
                              size_t len, uint32_t *flags,
                              nghttp2_data_source *src, void *ud)
{
    (void)buf, (void)len, (void)src, (void)ud;
    *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
    if (trailer_case != 2) /* with END_STREAM */
        assert_int_equal(nghttp2_submit_trailer(ng, id, &trailer_nv, 1), 0);
    return 0;
}

static void trailers_checked(void **state)
{
    (void)state;
    count_calls = 0;
    cli c;
    cli_open(&c, 65535, 1);
    static const nvs req[] = {{":method", "POST"}, {S}, {A}, {P}};
    nghttp2_nv nv[4];
    for (size_t i = 0; i < 4; i++)
        nv[i] = (nghttp2_nv){(uint8_t *)req[i].n, (uint8_t *)req[i].v,
                             strlen(req[i].n), strlen(req[i].v), 0};
    for (int k = 0; k < 3; k++) {
        trailer_case = k;
        trailer_nv =
            k == 1
                ? (nghttp2_nv){(uint8_t *)":path", (uint8_t *)"/", 5, 1, 0}
                : (nghttp2_nv){(uint8_t *)"x-trailer", (uint8_t *)"1", 9, 1, 0};
        nghttp2_data_provider dp = {.read_callback = trailer_source};
        int32_t id = nghttp2_submit_request(c.ng, NULL, nv, 4, &dp, NULL);
        assert_true(id > 0);
        if (k == 2) { /* the stream is open: trailers without END_STREAM */
            cli_pump(&c, 100, NULL, 0);
            assert_int_equal(nghttp2_submit_headers(c.ng, NGHTTP2_FLAG_NONE, id,
                                                    NULL, &trailer_nv, 1, NULL),
                             0);
        }
        cli_pump(&c, 3000, stream_closed, id);
        assert_true(c.closed[id / 2]);
        if (k == 0) {
            assert_int_equal(c.status[id / 2], 200);
        } else {
            assert_int_equal(c.status[id / 2], 0);
            assert_int_equal(c.close_code[id / 2], NGHTTP2_PROTOCOL_ERROR);
        }
    }
    assert_int_equal(count_calls, 1);
    cli_close_all(&c);
}
#undef M
#undef S
#undef A
#undef P

/* Answered, then reset by the client before the answer left: the
 * response's :status and content-length live in the stream object
 * (handed to nghttp2 without a copy), which is recycled or freed once
 * nghttp2 closed the stream; nghttp2 must drop the queued HEADERS of a
 * closed stream without encoding it (ASan sees it otherwise: more than
 * the 16 recycled stream objects are freed). The connection goes on. */
static void reset_after_answer(void **state)
{
    (void)state;
    cli c;
    cli_open(&c, 65535, 1);
    for (int i = 0; i < 40; i++) { /* under the test's max_resets (50) */
        int32_t id = cli_get(&c, "/count", NULL, NULL);
        cli_flush(&c); /* HEADERS out first, or nghttp2 drops the stream */
        nghttp2_submit_rst_stream(c.ng, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    }
    int32_t id = cli_get(&c, "/user/7", NULL, NULL);
    cli_pump(&c, 3000, stream_closed, id);
    if (c.status[id / 2] != 200)
        fail_msg("status %d closed %d code %u goaway %d (%u) eof %d",
                 c.status[id / 2], c.closed[id / 2], c.close_code[id / 2],
                 c.goaway, c.goaway_code, c.eof);
    assert_true(c.got[id / 2] > 0);
    assert_false(c.goaway);
    cli_close_all(&c);
}

/* Hand-built frames: a HEADERS frame without END_HEADERS followed by 2000
 * CONTINUATION frames. nghttp2 refuses the flood (CVE-2024-28182): the
 * connection ends long before the server would have taken it all. */
static void put_frame(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags,
                      uint32_t id)
{
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    p[5] = (uint8_t)(id >> 24);
    p[6] = (uint8_t)(id >> 16);
    p[7] = (uint8_t)(id >> 8);
    p[8] = (uint8_t)id;
}

static void continuation_flood(void **state)
{
    (void)state;
    int fd = tu_dial();
    static const char pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    uint8_t buf[256];
    assert_int_equal(send(fd, pre, 24, MSG_NOSIGNAL), 24);
    put_frame(buf, 0, 0x4, 0, 0); /* SETTINGS */
    assert_int_equal(send(fd, buf, 9, MSG_NOSIGNAL), 9);
    /* HEADERS (END_STREAM, no END_HEADERS): :method GET, :scheme http,
     * :path / from the static table. */
    put_frame(buf, 3, 0x1, 0x1, 1);
    buf[9] = 0x82, buf[10] = 0x86, buf[11] = 0x84;
    assert_int_equal(send(fd, buf, 12, MSG_NOSIGNAL), 12);
    /* CONTINUATION frames, each a literal "x-a: 90 bytes" field. */
    uint8_t blk[100];
    blk[0] = 0x00, blk[1] = 3, memcpy(blk + 2, "x-a", 3), blk[5] = 90;
    memset(blk + 6, 'z', 90);
    int sent = 0, refused = 0;
    for (; sent < 2000; sent++) {
        put_frame(buf, 96, 0x9, 0, 1);
        memcpy(buf + 9, blk, 96);
        if (send(fd, buf, 105, MSG_NOSIGNAL) != 105) {
            refused = 1;
            break;
        }
    }
    /* Read what the server says until it closes (<= 3 s). */
    int goaway = 0, closed = 0;
    uint32_t code = 0;
    uint8_t in[65536];
    size_t have_n = 0;
    for (int i = 0; i < 300; i++) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 10) <= 0)
            continue;
        ssize_t r = recv(fd, in + have_n, sizeof(in) - have_n, 0);
        if (r <= 0) {
            closed = 1;
            break;
        }
        have_n += (size_t)r;
        if (have_n == sizeof(in))
            have_n = 0;
    }
    for (size_t o = 0; o + 9 <= have_n;) {
        uint32_t len =
            (uint32_t)in[o] << 16 | (uint32_t)in[o + 1] << 8 | in[o + 2];
        if (in[o + 3] == 0x7 && o + 17 <= have_n) {
            goaway = 1;
            code = (uint32_t)in[o + 13] << 24 | (uint32_t)in[o + 14] << 16 |
                   (uint32_t)in[o + 15] << 8 | in[o + 16];
        }
        o += 9 + len;
    }
    print_message("CONTINUATION frames sent before refusal: %d%s; goaway %d "
                  "(code %u) closed %d\n",
                  sent, refused ? " (send failed)" : "", goaway, code, closed);
    assert_true(closed);
    assert_true(goaway);
    /* nghttp2's CONTINUATION limit (NGHTTP2_ERR_TOO_MANY_CONTINUATIONS),
     * answered ENHANCE_YOUR_CALM by h2.c. */
    assert_int_equal(code, NGHTTP2_ENHANCE_YOUR_CALM);
    close(fd);
    /* The server is healthy. */
    cli d;
    cli_open(&d, 65535, 1);
    int32_t id = cli_get(&d, "/user/8", NULL, NULL);
    cli_pump(&d, 3000, stream_closed, id);
    assert_int_equal(d.status[id / 2], 200);
    cli_close_all(&d);
}

/* HTTP/2 off (no cio_http_app_http2): the preface is not HTTP/1.1, so it
 * is refused, and Upgrade: h2c is ignored. */
static int off_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "h1only"), 0);
    assert_int_equal(cio_http_route(app, "/", h_index, NULL, 0), 0);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    int port = cio_http_server_port(srv);
    cio_socket *s;
    cio_sockaddr sa;
    cio_sockaddr_from_ip(&sa, "127.0.0.1", port);
    assert_int_equal(
        cio_socket_open(&s, cio_get_running_loop(), AF_INET, SOCK_STREAM, 0),
        0);
    assert_int_equal(cio_socket_connect(s, &sa), 0);
    const char *req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, "
                      "HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: "
                      "AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    assert_int_equal(cio_socket_sendall(s, req, strlen(req), 0), 0);
    char buf[1024];
    ssize_t n = cio_socket_recv(s, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = 0;
    assert_non_null(strstr(buf, "HTTP/1.1 200"));
    assert_non_null(strstr(buf, "hello v11"));
    cio_socket_close(s);
    /* The preface is not an HTTP/1.1 request: refused with 505. */
    assert_int_equal(
        cio_socket_open(&s, cio_get_running_loop(), AF_INET, SOCK_STREAM, 0),
        0);
    assert_int_equal(cio_socket_connect(s, &sa), 0);
    assert_int_equal(
        cio_socket_sendall(s, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24, 0), 0);
    n = cio_socket_recv(s, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = 0;
    print_message("preface without HTTP/2: %.20s\n", buf);
    assert_non_null(strstr(buf, "HTTP/1.1 505"));
    cio_socket_close(s);
    assert_int_equal(cio_http_server_close(srv), 0);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

static void http2_off_by_default(void **state)
{
    (void)state;
    assert_int_equal(cio_run(off_main, NULL, NULL), 0);
}

/* Graceful close: a stream in flight finishes, the client gets GOAWAY,
 * the connection ends. */
typedef struct gs {
    int port;
    int status, goaway, eof;
} gs;

static void *graceful_client(void *arg)
{
    gs *g = arg;
    g_port = g->port;
    cli c;
    cli_open(&c, 65535, 1);
    int32_t id = cli_get(&c, "/slow", NULL, NULL);
    cli_pump(&c, 3000, stream_closed, id);
    cli_pump(&c, 2000, got_goaway, 0);
    cli_pump(&c, 2000, NULL, 0);
    g->status = c.status[id / 2];
    g->goaway = c.goaway;
    g->eof = c.eof;
    cli_close_all(&c);
    return NULL;
}

static int graceful_main(void *arg, void **result)
{
    (void)result;
    gs *g = arg;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "graceful"), 0);
    add_routes(app);
    assert_int_equal(cio_http_app_http2(app, NULL), 0);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    g->port = cio_http_server_port(srv);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, graceful_client, g), 0);
    cio_sleep(100 * CIO_MS); /* the /slow handler runs (300 ms) */
    assert_int_equal(cio_http_server_close(srv), 0);
    pthread_join(th, NULL);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

static void graceful_shutdown_goaway(void **state)
{
    (void)state;
    int saved = g_port;
    gs g = {0};
    assert_int_equal(cio_run(graceful_main, &g, NULL), 0);
    g_port = saved;
    print_message("status %d goaway %d eof %d\n", g.status, g.goaway, g.eof);
    assert_int_equal(g.status, 200);
    assert_true(g.goaway);
    assert_true(g.eof);
}

/* Server close past shutdown_timeout: the HTTP/2 handler still running
 * is cancelled, the close returns, the client sees the connection end;
 * an idle HTTP/2 connection does not hold the close up. */
typedef struct hs {
    int port;
    int eof, idle_eof;
} hs;

static void *hang_client(void *arg)
{
    hs *g = arg;
    g_port = g->port;
    cli idle, c;
    cli_open(&idle, 65535, 1);
    int32_t id0 = cli_get(&idle, "/user/1", NULL, NULL);
    cli_pump(&idle, 3000, stream_closed, id0);
    cli_open(&c, 65535, 1);
    cli_get(&c, "/hang", NULL, NULL);
    cli_pump(&c, 5000, NULL, 0); /* until the server closes it */
    cli_pump(&idle, 1000, NULL, 0);
    g->eof = c.eof;
    g->idle_eof = idle.eof;
    cli_close_all(&c);
    cli_close_all(&idle);
    return NULL;
}

static int hang_main(void *arg, void **result)
{
    (void)result;
    hs *g = arg;
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "hang"), 0);
    add_routes(app);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.shutdown_timeout = 300 * CIO_MS;
    assert_int_equal(cio_http_app_configure(app, &cfg), 0);
    assert_int_equal(cio_http_app_http2(app, NULL), 0);
    cio_http_server *srv;
    assert_int_equal(cio_http_server_start(app, "127.0.0.1", 0, &srv), 0);
    g->port = cio_http_server_port(srv);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hang_client, g), 0);
    for (int i = 0; i < 300 && hang_started == 0; i++)
        cio_sleep(10 * CIO_MS);
    int64_t t0 = cio_loop_time(cio_get_running_loop());
    assert_int_equal(cio_http_server_close(srv), 0);
    int64_t dt = cio_loop_time(cio_get_running_loop()) - t0;
    assert_true(dt < 3 * CIO_SEC);
    pthread_join(th, NULL);
    assert_int_equal(cio_http_app_free(app), 0);
    return 0;
}

static void close_cancels_h2_handlers(void **state)
{
    (void)state;
    int saved = g_port;
    hang_started = hang_cancelled = 0;
    hs g = {0};
    assert_int_equal(cio_run(hang_main, &g, NULL), 0);
    g_port = saved;
    print_message("handler started %d cancelled %d; eof %d idle eof %d\n",
                  (int)hang_started, (int)hang_cancelled, g.eof, g.idle_eof);
    assert_int_equal(hang_started, 1);
    assert_int_equal(hang_cancelled, 1);
    assert_true(g.eof);
    assert_true(g.idle_eof);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(curl_prior_knowledge, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(curl_request_bodies, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(curl_static_file, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(curl_upgrade, start_server, stop_server),
    cmocka_unit_test_setup_teardown(nghttp_client, start_server, stop_server),
    cmocka_unit_test_setup_teardown(h2load_all_succeed, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(flow_control_back_pressure, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(reset_cancels_handler, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(rapid_reset, start_server, stop_server),
    cmocka_unit_test_setup_teardown(header_list_limit, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(stalled_body_times_out, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(idle_keep_alive_goaway, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(malformed_requests_reset, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(trailers_checked, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(reset_after_answer, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(continuation_flood, start_server,
                                    stop_server),
    cmocka_unit_test(http2_off_by_default),
    cmocka_unit_test(graceful_shutdown_goaway),
    cmocka_unit_test(close_cancels_h2_handlers),
};

CIO_TEST_MAIN(tests)
