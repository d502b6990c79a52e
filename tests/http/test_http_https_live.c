/* cio-test: timeout=240 */
/*
 * test_http_https_live.c - HTTPS on cio::http's server (cio_http_app_tls),
 * live on 127.0.0.1, against real peers: curl over TLS (HTTP/1.1 and
 * --http2 by ALPN), nghttp and h2load over TLS (Debian nghttp2-client),
 * Python's http.client with ssl, Node's `ws` as a wss:// client, a
 * plain-TCP client on the TLS port and a client that stalls in the
 * handshake. Certificates are made at test time with the openssl CLI
 * (tests/support/cio_testutil_tls.h: a CA and a server certificate for
 * localhost / 127.0.0.1; nothing committed).
 *
 * The server runs through cio_http_run with two worker threads sharing
 * one TLS context (port 0, reported by the on_start listener).
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio/http2.h"
#include "cio/websocket.h"
#include "cio_testutil_http.h"
#include "cio_testutil_tls.h"

#define NODE_DIR CIO_BINARY_DIR "/node_ws"
#define SCRIPTS CIO_SOURCE_DIR "/tests/http/ws_node"

/* ---- the app under test ------------------------------------------------- */

static int h_index(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    char out[64];
    snprintf(out, sizeof(out), "hello v%d", cio_http_request_version(req));
    return cio_http_response_text(res, 200, out);
}

/* What the handler sees of TLS: version, ALPN, SNI. */
static int h_tls(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cio_tls_conn *t = cio_http_request_tls(req);
    char out[256];
    if (!t)
        snprintf(out, sizeof(out), "no tls");
    else {
        char peer[96] = "-";
        cio_tls_peer_subject(t, peer, sizeof(peer));
        snprintf(out, sizeof(out), "tls %s alpn=%s sni=%s v%d peer=%s",
                 cio_tls_version(t), cio_tls_alpn(t),
                 cio_tls_server_name(t) ? cio_tls_server_name(t) : "-",
                 cio_http_request_version(req), peer);
    }
    return cio_http_response_text(res, 200, out);
}

static int h_echo(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *b = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, b, n, "application/octet-stream");
}

static int h_stream(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_http_response_stream(res, 200, NULL);
    for (int i = 0; r == 0 && i < 3; i++)
        r = cio_http_response_write(res, &"xyz"[i], 1);
    return r;
}

static int h_pid(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    char b[32];
    snprintf(b, sizeof(b), "pid=%ld;", (long)getpid());
    return cio_http_response_text(res, 200, b);
}

static atomic_int ws_done, ws_msgs;

static int h_ws(cio_ws *ws, cio_http_request *req, void *arg)
{
    (void)arg;
    int tls = cio_http_request_tls(req) != NULL;
    cio_ws_msg m;
    int r, n = 0;
    while ((r = cio_ws_receive(ws, &m)) == 0) {
        n++;
        if ((r = cio_ws_send(ws, m.type, m.data, m.len)) < 0)
            break;
    }
    ws_msgs = tls ? n : -1;
    ws_done++;
    return 0;
}

static char g_dir[64];
static const char *g_ca;
static int g_procs; /* serve with cio_http_run_processes */
static int64_t g_head_timeout = 1 * CIO_SEC;
static int g_mtls; /* require a client certificate signed by the CA */

static int start(int h2)
{
    g_ca = tu_cert("ca.pem");
    assert_non_null(tu_certs());
    strcpy(g_dir, "/tmp/cio-https-staticXXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char fpath[128];
    snprintf(fpath, sizeof(fpath), "%s/f.bin", g_dir);
    FILE *f = fopen(fpath, "wb");
    assert_non_null(f);
    for (int i = 0; i < 300000; i++)
        fputc('a' + i % 26, f);
    fclose(f);

    assert_int_equal(cio_http_app_new(&g_app, "httpstest"), 0);
    assert_int_equal(cio_http_route(g_app, "/", h_index, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/tls", h_tls, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/pid", h_pid, NULL, 0), 0);
    assert_int_equal(
        cio_http_route(g_app, "/echo", h_echo, NULL, CIO_HTTP_POST), 0);
    assert_int_equal(cio_http_route(g_app, "/stream", h_stream, NULL, 0), 0);
    assert_int_equal(cio_http_websocket(g_app, "/ws", h_ws, NULL, NULL), 0);
    assert_int_equal(cio_http_app_static(g_app, "/static", g_dir), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.head_timeout = g_head_timeout; /* bounds the handshake too */
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);

    cio_tls_ctx *ctx;
    assert_int_equal(cio_tls_ctx_new(&ctx, CIO_TLS_SERVER), 0);
    assert_int_equal(
        cio_tls_ctx_use_cert_file(ctx, tu_cert("srv.pem"), tu_cert("srv.key")),
        0);
    if (g_mtls) {
        assert_int_equal(cio_tls_ctx_load_verify(ctx, g_ca, NULL), 0);
        assert_int_equal(cio_tls_ctx_set_verify(ctx, CIO_TLS_VERIFY_REQUIRED),
                         0);
    }
    assert_int_equal(cio_http_app_tls(NULL, ctx), -EINVAL);
    assert_int_equal(cio_http_app_tls(g_app, ctx), 0);
    cio_tls_ctx_free(ctx); /* the app keeps its own reference */
    /* HTTP/2 after TLS: the context's ALPN list gains "h2" (the example
     * h2_tls_server does it the other way round). */
    if (h2)
        assert_int_equal(cio_http_app_http2(g_app, NULL), 0);

    tu_http_start_on("127.0.0.1", 2, g_procs);
    /* Running: the context cannot be changed. */
    assert_int_equal(cio_http_app_tls(g_app, NULL), -EBUSY);
    return 0;
}

static int start_h2(void **state)
{
    (void)state;
    g_procs = 0;
    return start(1);
}

static int start_procs(void **state)
{
    (void)state;
    g_procs = 1;
    return start(1);
}

static int start_mtls(void **state)
{
    (void)state;
    g_procs = 0;
    g_mtls = 1;
    int r = start(1);
    g_mtls = 0;
    return r;
}

/* head_timeout 30 s: handshakes are not cut short by it. */
static int start_long(void **state)
{
    (void)state;
    g_procs = 0;
    g_head_timeout = 30 * CIO_SEC;
    int r = start(1);
    g_head_timeout = 1 * CIO_SEC;
    return r;
}

static int start_h1(void **state)
{
    (void)state;
    g_procs = 0;
    return start(0);
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

/* ---- helpers --------------------------------------------------------------
 */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads until EOF or an error (<= ms). Returns the bytes read, or -1 if
 * the connection was still open at the end. */
static long read_to_eof(int fd, char *buf, size_t cap, int ms)
{
    size_t got = 0;
    double until = now_s() + ms / 1000.0;
    for (;;) {
        int left = (int)((until - now_s()) * 1000);
        if (left <= 0)
            return -1;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            continue;
        char tmp[4096];
        ssize_t n = recv(fd, tmp, sizeof(tmp), 0);
        if (n <= 0)
            return (long)got; /* EOF or reset: closed */
        if (got + (size_t)n <= cap) {
            memcpy(buf + got, tmp, (size_t)n);
            got += (size_t)n;
        }
    }
}

/* The curl options of every call: verify against the test CA, by name. */
#define CURL "timeout 30 curl -sS --cacert %s --resolve localhost:%d:127.0.0.1 "

/* ---- cases ----------------------------------------------------------------
 */

static void curl_https_http11(void **state)
{
    (void)state;
    char out[1024];
    /* Two requests on one kept-alive TLS connection; the certificate is
     * verified against the CA. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http1.1 https://localhost:%d/ "
                             "https://localhost:%d/tls -w ' %%{num_connects}'",
                        g_ca, g_port, g_port, g_port),
                     0);
    print_message("curl: %s\n", out);
    assert_non_null(strstr(out, "hello v11"));
    assert_non_null(strstr(out, "alpn=http/1.1 sni=localhost v11"));
    assert_non_null(strstr(out, " 0")); /* the second reused the first */
    /* A request body and a streamed (chunked) response. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http1.1 -d 'posted body' "
                             "https://localhost:%d/echo",
                        g_ca, g_port, g_port),
                     0);
    assert_string_equal(out, "posted body");
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http1.1 https://localhost:%d/stream", g_ca,
                        g_port, g_port),
                     0);
    assert_string_equal(out, "xyz");
    /* A static file: sendfile cannot encrypt, the copy path does. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http1.1 https://localhost:%d/static/f.bin | "
                             "md5sum; md5sum < %s/f.bin",
                        g_ca, g_port, g_port, g_dir),
                     0);
    print_message("md5: %s", out);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(strncmp(out, nl + 1, 32), 0);
}

static void curl_https_http2_alpn(void **state)
{
    (void)state;
    if (system("curl -V | grep -q HTTP2") != 0) {
        print_message("skipped: curl without HTTP2\n");
        skip();
    }
    char out[1024];
    assert_int_equal(
        tu_sh(out, sizeof(out),
           CURL "--http2 https://localhost:%d/tls https://localhost:%d/ "
                "-w ' %%{http_version}'",
           g_ca, g_port, g_port, g_port),
        0);
    print_message("curl --http2: %s\n", out);
    assert_non_null(strstr(out, "alpn=h2 sni=localhost v20"));
    assert_non_null(strstr(out, "hello v20 2"));
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http2 -d 'h2 body' https://localhost:%d/echo",
                        g_ca, g_port, g_port),
                     0);
    assert_string_equal(out, "h2 body");
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http2 https://localhost:%d/static/f.bin | "
                             "md5sum; md5sum < %s/f.bin",
                        g_ca, g_port, g_port, g_dir),
                     0);
    char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_int_equal(strncmp(out, nl + 1, 32), 0);
}

/* An app without HTTP/2 offers only http/1.1: curl --http2 falls back. */
static void alpn_without_h2(void **state)
{
    (void)state;
    char out[1024];
    assert_int_equal(tu_sh(out, sizeof(out),
                        CURL "--http2 https://localhost:%d/tls "
                             "-w ' %%{http_version}'",
                        g_ca, g_port, g_port),
                     0);
    print_message("curl --http2, h2 off: %s\n", out);
    assert_non_null(strstr(out, "alpn=http/1.1 sni=localhost v11 peer=- 1.1"));
}

static void nghttp_tls(void **state)
{
    (void)state;
    if (!tu_have("nghttp")) {
        print_message("skipped: nghttp not installed (nghttp2-client)\n");
        skip();
    }
    static char out[65536];
    int st = tu_sh(out, sizeof(out),
                "timeout 30 nghttp -v https://127.0.0.1:%d/tls 2>&1", g_port);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "The negotiated protocol: h2"));
    assert_non_null(strstr(out, ":status: 200"));
    assert_non_null(strstr(out, "alpn=h2 sni=-"));
    /* Several streams on one connection (-m 5). */
    st = tu_sh(out, sizeof(out),
            "timeout 30 nghttp -n -s -m 5 https://127.0.0.1:%d/ 2>&1", g_port);
    assert_int_equal(st, 0);
    int ok = 0;
    for (const char *p = out; (p = strstr(p, " 200 ")); p++)
        ok++;
    print_message("nghttp -s: %d responses 200\n", ok);
    assert_int_equal(ok, 5);
}

static void h2load_tls(void **state)
{
    (void)state;
    if (!tu_have("h2load")) {
        print_message("skipped: h2load not installed (nghttp2-client)\n");
        skip();
    }
    char out[8192];
    int st = tu_sh(out, sizeof(out),
                "timeout 60 h2load -n 2000 -c 8 -m 10 https://127.0.0.1:%d/ "
                "2>&1",
                g_port);
    assert_int_equal(st, 0);
    print_message("%s", strstr(out, "Application protocol") ?: out);
    assert_non_null(strstr(out, "Application protocol: h2"));
    assert_non_null(strstr(out, "2000 succeeded, 0 failed, 0 errored"));
}

static void python_https(void **state)
{
    (void)state;
    char out[2048];
    int st = tu_sh(out, sizeof(out),
                "timeout 30 python3 -c \""
                "import http.client, ssl\n"
                "c = ssl.create_default_context(cafile='%s')\n"
                "h = http.client.HTTPSConnection('127.0.0.1', %d, context=c)\n"
                "for i in range(3):\n"
                "    h.request('POST', '/echo', body=b'py%%d' %% i)\n"
                "    r = h.getresponse()\n"
                "    print(r.status, r.read().decode(), end=' ')\n"
                "h.request('GET', '/tls')\n"
                "print(h.getresponse().read().decode())\n"
                "print(h.sock.version())\n"
                "h.request('GET', '/', headers={'Connection': "
                "'Upgrade, HTTP2-Settings', 'Upgrade': 'h2c', "
                "'HTTP2-Settings': 'AAMAAABkAAQAAP__'})\n"
                "r = h.getresponse()\n"
                "print('upgrade:', r.status, r.read().decode())\n"
                "\" 2>&1",
                g_ca, g_port);
    print_message("python: %s\n", out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "200 py0 200 py1 200 py2 tls TLSv1.3"));
    assert_non_null(strstr(out, "TLSv1.3\n"));
    /* Upgrade: h2c is cleartext only (RFC 9113 3.1): answered as
     * HTTP/1.1 on TLS, not 101. */
    assert_non_null(strstr(out, "upgrade: 200 hello v11"));
}

/* Node's `ws` as a wss:// client of a cio_http_websocket route. */
static void node_wss(void **state)
{
    (void)state;
    if (!tu_have_node_ws())
        skip();
    ws_done = 0;
    char out[512];
    int st = tu_sh(out, sizeof(out),
                "NODE_EXTRA_CA_CERTS=%s NODE_PATH=" NODE_DIR
                "/node_modules timeout 60 node " SCRIPTS
                "/echo_client.js wss://localhost:%d/ws deflate 2>&1",
                g_ca, g_port);
    print_message("node wss: %s", out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "OK"));
    for (int i = 0; i < 300 && !ws_done; i++)
        usleep(10 * 1000);
    assert_int_equal(ws_done, 1);
    assert_int_equal(ws_msgs, 6); /* echoed over TLS (-1: not TLS) */
}

/* A plain-HTTP client on the TLS port: no HTTP answer, the connection is
 * closed, and the server goes on serving. */
static void plain_client_closed(void **state)
{
    (void)state;
    for (int k = 0; k < 3; k++) {
        int fd = tu_dial();
        const char req[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        assert_int_equal(send(fd, req, sizeof(req) - 1, 0),
                         (ssize_t)sizeof(req) - 1);
        char buf[4096];
        long n = read_to_eof(fd, buf, sizeof(buf), 5000);
        close(fd);
        print_message("plain client: closed after %ld bytes\n", n);
        assert_true(n >= 0); /* closed, not left hanging */
        assert_true(n < 5 || memcmp(buf, "HTTP/", 5) != 0);
    }
    char out[256];
    assert_int_equal(tu_sh(out, sizeof(out), CURL "https://localhost:%d/", g_ca,
                        g_port, g_port),
                     0);
    assert_non_null(strstr(out, "hello v"));
}

/* A client that stalls in the handshake (connects and sends nothing, or
 * half a ClientHello) is closed after head_timeout (1 s here), and others
 * are served meanwhile. */
static void stalled_handshake_times_out(void **state)
{
    (void)state;
    int idle = tu_dial();
    int half = tu_dial();
    /* The first bytes of a TLS record header announcing a ClientHello. */
    const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    assert_int_equal(send(half, hello, sizeof(hello), 0),
                     (ssize_t)sizeof(hello));
    double t0 = now_s();
    char out[256];
    assert_int_equal(tu_sh(out, sizeof(out), CURL "https://localhost:%d/", g_ca,
                        g_port, g_port),
                     0);
    assert_non_null(strstr(out, "hello v"));
    char buf[64];
    long a = read_to_eof(idle, buf, sizeof(buf), 6000);
    double t1 = now_s() - t0;
    long b = read_to_eof(half, buf, sizeof(buf), 6000);
    double t2 = now_s() - t0;
    print_message("stalled: idle closed after %.2f s, half hello %.2f s\n", t1,
                  t2);
    close(idle);
    close(half);
    assert_true(a >= 0);
    assert_true(b >= 0);
    assert_true(t1 >= 0.5 && t1 < 5.0);
    assert_true(t2 < 5.0);
}

/* Process mode: two forked workers, each with the app's context, both
 * serve HTTPS (HTTP/1.1 and h2) on the one port. */
static void processes_https(void **state)
{
    (void)state;
    char urls[2048] = "";
    for (int i = 0; i < 40; i++) {
        char u[64];
        snprintf(u, sizeof(u), " https://localhost:%d/pid", g_port);
        strcat(urls, u);
    }
    static char out[8192];
    for (int h2 = 0; h2 < 2; h2++) {
        /* New connections (Connection: close / --no-keepalive), which the
         * kernel spreads over the two SO_REUSEPORT listeners. */
        assert_int_equal(tu_sh(out, sizeof(out),
                            CURL "%s -H 'Connection: close' %s", g_ca, g_port,
                            h2 ? "--http2" : "--http1.1", urls),
                         0);
        long first = 0, other = 0;
        int n = 0;
        for (const char *p = out; (p = strstr(p, "pid=")); p += 4, n++) {
            long pid = atol(p + 4);
            assert_true(pid > 0 && pid != (long)getpid());
            if (!first)
                first = pid;
            else if (pid != first)
                other = pid;
        }
        print_message("%s: %d answers, workers %ld and %ld\n",
                      h2 ? "h2" : "http/1.1", n, first, other);
        assert_int_equal(n, 40);
        if (!h2) /* with h2, curl may reuse one connection for all */
            assert_true(other != 0);
    }
}

/* A graceful close does not wait for connections still in their
 * handshake (they count as idle): the server stops at once, well before
 * head_timeout (30 s) or shutdown_timeout (5 s), and closes them. */
static void close_cancels_handshakes(void **state)
{
    (void)state;
    int fd = tu_dial();
    const unsigned char hello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    assert_int_equal(send(fd, hello, sizeof(hello), 0), (ssize_t)sizeof(hello));
    int idle = tu_dial();
    usleep(200 * 1000); /* accepted, handshakes parked */
    double t0 = now_s();
    int rc = tu_http_stop();
    double took = now_s() - t0;
    assert_int_equal(rc, 0);
    char buf[64];
    long a = read_to_eof(fd, buf, sizeof(buf), 2000);
    long b = read_to_eof(idle, buf, sizeof(buf), 2000);
    close(fd);
    close(idle);
    print_message("server stopped in %.2f s with two handshakes pending\n",
                  took);
    assert_true(took < 3.0);
    assert_true(a >= 0 && b >= 0); /* both closed */
    assert_int_equal(cio_http_app_free(g_app), 0);
    g_app = NULL;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
}

/* Mutual TLS through the app's context: without a client certificate
 * the handshake fails (and the server goes on); with one signed by the
 * CA the handler sees its subject, over HTTP/1.1 and h2. */
static void mutual_tls(void **state)
{
    (void)state;
    char out[1024];
    int st = tu_sh(out, sizeof(out), CURL "https://localhost:%d/tls 2>&1", g_ca,
                g_port, g_port);
    print_message("no client certificate: status %d: %s\n", st, out);
    assert_int_not_equal(st, 0);
    assert_null(strstr(out, "tls TLS"));
    for (int h2 = 0; h2 < 2; h2++) {
        assert_int_equal(tu_sh(out, sizeof(out),
                            CURL "%s --cert %s --key %s "
                                 "https://localhost:%d/tls",
                            g_ca, g_port, h2 ? "--http2" : "--http1.1",
                            tu_cert("client.pem"), tu_cert("client.key"),
                            g_port),
                         0);
        print_message("client certificate: %s\n", out);
        assert_non_null(strstr(out, h2 ? "v20 peer=" : "v11 peer="));
        assert_non_null(strstr(out, "CN=cio-client"));
    }
}

/* Large bodies both ways through TLS: a 3 MB upload echoed back, over
 * HTTP/1.1 and h2 (TLS records, partial writes and flow control). */
static void large_bodies(void **state)
{
    (void)state;
    char path[128], out[512];
    snprintf(path, sizeof(path), "%s/up.bin", g_dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 3000000; i++)
        fputc((i * 131 + i / 7) & 0xff, f);
    fclose(f);
    for (int h2 = 0; h2 < 2; h2++) {
        assert_int_equal(
            tu_sh(out, sizeof(out),
               CURL "%s --data-binary @%s https://localhost:%d/echo | md5sum; "
                    "md5sum < %s",
               g_ca, g_port, h2 ? "--http2" : "--http1.1", path, g_port, path),
            0);
        print_message("%s echo md5: %s", h2 ? "h2" : "http/1.1", out);
        char *nl = strchr(out, '\n');
        assert_non_null(nl);
        assert_int_equal(strncmp(out, nl + 1, 32), 0);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(curl_https_http11, start_h2, stop_server),
    cmocka_unit_test_setup_teardown(curl_https_http2_alpn, start_h2,
                                    stop_server),
    cmocka_unit_test_setup_teardown(alpn_without_h2, start_h1, stop_server),
    cmocka_unit_test_setup_teardown(nghttp_tls, start_h2, stop_server),
    cmocka_unit_test_setup_teardown(h2load_tls, start_h2, stop_server),
    cmocka_unit_test_setup_teardown(python_https, start_h2, stop_server),
    cmocka_unit_test_setup_teardown(node_wss, start_h2, stop_server),
    cmocka_unit_test_setup_teardown(plain_client_closed, start_h2, stop_server),
    cmocka_unit_test_setup_teardown(stalled_handshake_times_out, start_h2,
                                    stop_server),
    cmocka_unit_test_setup_teardown(processes_https, start_procs, stop_server),
    cmocka_unit_test_setup(close_cancels_handshakes, start_long),
    cmocka_unit_test_setup_teardown(mutual_tls, start_mtls, stop_server),
    cmocka_unit_test_setup_teardown(large_bodies, start_h2, stop_server),
};

CIO_TEST_MAIN(tests)
