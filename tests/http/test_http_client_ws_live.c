/* cio-test: timeout=180 */
/*
 * test_http_client_ws_live.c - the WebSocket client over TLS (wss://) and
 * on the HTTP client's session (cio_http_session_ws_connect), against
 * Node's `ws` package (npm) as the server: over https with a certificate
 * made at test time (tests/support/cio_testutil_tls.h), over plain http,
 * and on a Unix socket (the session's Unix connector). The server answers
 * "headers" with the fields of the Upgrade request it got, so what the
 * session sent (cookies, auth, User-Agent, the caller's fields, query
 * parameters) is checked by the peer. A case skips, saying why, when node
 * or npm is missing or npm cannot install `ws`.
 */
#include "cio_test.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"
#include "cio_testutil_tls.h"

#define NODE_DIR CIO_BINARY_DIR "/node_ws"
#define SCRIPT CIO_SOURCE_DIR "/tests/http/ws_node/wss_echo_server.js"

/* Starts the Node server (env: extra variables). Returns its pipe; *port
 * the port it printed (0 for a Unix socket). */
static FILE *node_start(const char *env, int *port)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s NODE_PATH=" NODE_DIR "/node_modules node "
             SCRIPT, env);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[32] = "";
    assert_non_null(fgets(line, sizeof(line), p));
    *port = atoi(line);
    if (strncmp(line, "unix", 4) != 0)
        assert_true(*port > 0);
    return p;
}

static int port;
static cio_tls_ctx *cctx;
static int failed;

#define CHECK(x)                                                              \
    do {                                                                      \
        if (!(x)) {                                                           \
            fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,  \
                    #x);                                                      \
            failed = 1;                                                       \
            goto out;                                                         \
        }                                                                     \
    } while (0)

static int echo(cio_ws *ws, int type, const void *d, size_t n)
{
    if (cio_ws_send(ws, type, d, n) != 0)
        return -1;
    cio_ws_msg m;
    if (cio_ws_receive(ws, &m) != 0 || m.type != type || m.len != n ||
        (n && memcmp(m.data, d, n)))
        return -1;
    return 0;
}

/* The request's fields as the server saw them (a cJSON the caller frees). */
static cJSON *ask_headers(cio_ws *ws)
{
    cio_ws_msg m;
    if (cio_ws_send_text(ws, "headers") != 0 || cio_ws_receive(ws, &m) != 0)
        return NULL;
    return cJSON_ParseWithLength(m.data, m.len);
}

static const char *field(cJSON *j, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    return cJSON_IsString(v) ? v->valuestring : "(absent)";
}

/* ---- wss:// with cio_ws_connect ------------------------------------------ */

static int wss_main(void *arg, void **res)
{
    (void)arg, (void)res;
    static char big[300001];
    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = "wss through TLS "[i % 16];
    cio_ws *ws = NULL;
    char url[128];
    cio_ws_options o = CIO_WS_OPTIONS_INIT;
    o.tls = cctx;
    snprintf(url, sizeof(url), "wss://localhost:%d/tls", port);
    CHECK(cio_ws_connect_url(&ws, url, &o) == 0);
    CHECK(echo(ws, CIO_WS_TEXT, "hello over tls", 14) == 0);
    CHECK(echo(ws, CIO_WS_BINARY, big, sizeof(big) - 1) == 0);
    CHECK(cio_ws_close(ws, 1000, NULL) == 0);
    cio_ws_free(ws);
    ws = NULL;
    /* compressed too */
    o.compress = 1;
    CHECK(cio_ws_connect(&ws, "127.0.0.1", port, "/z", &o) == 0);
    CHECK(echo(ws, CIO_WS_TEXT, big, sizeof(big) - 1) == 0);
    cio_ws_free(ws);
    ws = NULL;
    o.compress = 0;
    /* verification by default: the system store does not know our CA */
    int r = cio_ws_connect_url(&ws, url, NULL);
    CHECK(r == CIO_ETLS_VERIFY && !ws);
    /* the name checked: the certificate is not for wrong.example */
    o.server_name = "wrong.example";
    r = cio_ws_connect_url(&ws, url, &o);
    CHECK(r == CIO_ETLS_VERIFY && !ws);
    /* plain ws:// to a TLS server: the handshake fails cleanly */
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", port);
    r = cio_ws_connect_url(&ws, url, NULL);
    CHECK(r < 0 && !ws);
    /* tell node to go */
    o.server_name = NULL;
    snprintf(url, sizeof(url), "wss://127.0.0.1:%d/", port);
    CHECK(cio_ws_connect_url(&ws, url, &o) == 0);
    CHECK(cio_ws_send_text(ws, "exit") == 0);
out:
    cio_ws_free(ws);
    return 0;
}

static void wss_connect_node(void **state)
{
    (void)state;
    if (!tu_have_node_ws())
        skip();
    assert_non_null(tu_certs());
    char env[512];
    snprintf(env, sizeof(env), "TLS_KEY=%s TLS_CERT=%s", tu_cert("srv.key"),
             tu_cert("srv.pem"));
    FILE *p = node_start(env, &port);
    assert_int_equal(cio_tls_ctx_new(&cctx, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(cctx, tu_cert("ca.pem"), NULL),
                     0);
    failed = 0;
    assert_int_equal(cio_run(wss_main, NULL, NULL), 0);
    cio_tls_ctx_free(cctx);
    cctx = NULL;
    int st = pclose(p);
    assert_false(failed);
    assert_int_equal(st, 0);
}

/* ---- the session's ws_connect -------------------------------------------- */

static int tls_case;

/* ---- a CONNECT proxy written with cio (for the session's proxy) ---------- */

static int proxy_connects;

typedef struct pipe_arg {
    cio_socket *from, *to;
} pipe_arg;

static int pipe_main(void *arg, void **res)
{
    (void)res;
    pipe_arg *p = arg;
    char buf[16384];
    ssize_t n;
    while ((n = cio_socket_recv(p->from, buf, sizeof(buf), 0)) > 0)
        if (cio_socket_sendall(p->to, buf, (size_t)n, MSG_NOSIGNAL) < 0)
            break;
    cio_socket_shutdown(p->to, SHUT_WR);
    return 0;
}

static int proxy_conn(void *arg, void **res)
{
    (void)res;
    cio_socket *c = arg, *up = NULL;
    char head[2048];
    size_t len = 0;
    while (len < sizeof(head) - 1) {
        ssize_t n = cio_socket_recv(c, head + len, sizeof(head) - 1 - len, 0);
        if (n <= 0)
            goto done;
        len += (size_t)n;
        head[len] = 0;
        if (strstr(head, "\r\n\r\n"))
            break;
    }
    char host[256];
    int pt;
    if (sscanf(head, "CONNECT %255[^:]:%d HTTP/1.1", host, &pt) != 2)
        goto done;
    proxy_connects++;
    if (cio_socket_create_connection(&up, host, pt) < 0)
        goto done;
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (cio_socket_sendall(c, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
        goto done;
    pipe_arg a = {c, up}, b = {up, c};
    cio_task *t;
    if (cio_task_create(cio_get_running_loop(), (cio_coro){pipe_main, &b},
                        NULL, &t) < 0)
        goto done;
    pipe_main(&a, NULL);
    cio_await(t, NULL);
    cio_future_release(t);
done:
    if (up)
        cio_socket_close(up);
    cio_socket_close(c);
    return 0;
}

static int proxy_accept(void *arg, void **res)
{
    (void)res;
    cio_socket *ls = arg;
    for (;;) {
        cio_socket *c;
        if (cio_socket_accept(ls, &c, NULL) < 0)
            return 0;
        cio_task_create(cio_get_running_loop(), (cio_coro){proxy_conn, c},
                        NULL, NULL);
    }
}

/* Through the session's CONNECT proxy (ws:// or wss:// in the tunnel). */
static int via_proxy(void)
{
    cio_socket *ls = NULL;
    cio_task *acc = NULL;
    cio_http_session *s = NULL;
    cio_ws *ws = NULL;
    cJSON *j = NULL;
    int ok = 0;
    if (cio_socket_open(&ls, cio_get_running_loop(), AF_INET, SOCK_STREAM,
                        0) < 0 ||
        cio_socket_bind_ip(ls, "127.0.0.1", 0) < 0 ||
        cio_socket_listen(ls, 8) < 0)
        goto out;
    cio_sockaddr a;
    cio_socket_sockname(ls, &a);
    if (cio_task_create(cio_get_running_loop(), (cio_coro){proxy_accept, ls},
                        NULL, &acc) < 0)
        goto out;
    char proxy[64], url[128];
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d",
             cio_sockaddr_port(&a));
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.proxy = proxy;
    so.tls = cctx;
    if (cio_http_session_new(&s, cio_get_running_loop(), &so) < 0)
        goto out;
    snprintf(url, sizeof(url), "%s://localhost:%d/proxied",
             tls_case ? "wss" : "ws", port);
    proxy_connects = 0;
    if (cio_http_session_ws_connect(s, url, NULL, NULL, &ws) < 0)
        goto out;
    if (!(j = ask_headers(ws)) || strcmp(field(j, "url"), "/proxied") ||
        echo(ws, CIO_WS_TEXT, "tunnelled", 9) < 0)
        goto out;
    ok = proxy_connects == 1;
out:
    cJSON_Delete(j);
    cio_ws_free(ws);
    if (s)
        cio_http_session_close(s);
    if (acc) {
        cio_task_cancel(acc, NULL);
        cio_await(acc, NULL);
        cio_future_release(acc);
    }
    if (ls)
        cio_socket_close(ls);
    cio_sleep(20 * CIO_MS); /* the tunnel's tasks end */
    return ok;
}

static int session_main(void *arg, void **res)
{
    (void)arg, (void)res;
    cio_http_session *s = NULL;
    cio_ws *ws = NULL;
    cJSON *j = NULL;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.tls = cctx;
    so.user_agent = "cio-ws-test/1";
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    CHECK(cio_http_session_set_cookie(s, "localhost", "sid=abc; Path=/") ==
          0);
    char url[160];
    snprintf(url, sizeof(url), "%s://user:pw@localhost:%d/chat?x=1",
             tls_case ? "wss" : "ws", port);
    static const char *const hdrs[] = {"X-Test", "yes", "Host", "evil", NULL};
    static const char *const params[] = {"y", "2 3", NULL};
    cio_http_request_opts ro = {0};
    ro.headers = hdrs;
    ro.params = params;
    CHECK(cio_http_session_ws_connect(s, url, &ro, NULL, &ws) == 0);
    CHECK((j = ask_headers(ws)) != NULL);
    CHECK(!strcmp(field(j, "url"), "/chat?x=1&y=2+3"));
    CHECK(!strcmp(field(j, "authorization"), "Basic dXNlcjpwdw=="));
    CHECK(!strcmp(field(j, "cookie"), "sid=abc"));
    CHECK(!strcmp(field(j, "user-agent"), "cio-ws-test/1"));
    CHECK(!strcmp(field(j, "x-test"), "yes"));
    CHECK(!strncmp(field(j, "host"), "localhost:", 10));
    cJSON_Delete(j);
    j = NULL;
    /* the answer's Set-Cookie went into the jar */
    const char *c = cio_http_session_cookie(s, "localhost", "/", "wsid");
    CHECK(c && !strcmp(c, "node1"));
    CHECK(echo(ws, CIO_WS_TEXT, "via the session", 15) == 0);
    CHECK(cio_ws_close(ws, 1000, "bye") == 0);
    cio_ws_free(ws);
    ws = NULL;
    /* the next connection sends the cookie the first one got */
    snprintf(url, sizeof(url), "%s://localhost:%d/again",
             tls_case ? "https" : "http", port);
    CHECK(cio_http_session_ws_connect(s, url, NULL, NULL, &ws) == 0);
    CHECK((j = ask_headers(ws)) != NULL);
    CHECK(strstr(field(j, "cookie"), "wsid=node1") != NULL);
    CHECK(!strcmp(field(j, "authorization"), "(absent)"));
    cJSON_Delete(j);
    j = NULL;
    /* the session may close while the ws lives on */
    CHECK(cio_http_session_close(s) == 0);
    s = NULL;
    CHECK(echo(ws, CIO_WS_BINARY, "\1\2\3", 3) == 0);
    cio_ws_free(ws);
    ws = NULL;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    /* refused upgrade */
    snprintf(url, sizeof(url), "%s://localhost:%d/deny",
             tls_case ? "wss" : "ws", port);
    CHECK(cio_http_session_ws_connect(s, url, NULL, NULL, &ws) ==
              CIO_EWS_HANDSHAKE &&
          !ws);
    /* bad arguments */
    CHECK(cio_http_session_ws_connect(s, "ftp://x/", NULL, NULL, &ws) ==
          CIO_EHTTPC_SCHEME);
    static const char *const bad[] = {"X-A", "b\r\nX-Evil: 1", NULL};
    ro.headers = bad;
    ro.params = NULL;
    snprintf(url, sizeof(url), "%s://localhost:%d/",
             tls_case ? "wss" : "ws", port);
    CHECK(cio_http_session_ws_connect(s, url, &ro, NULL, &ws) == -EINVAL);
    if (tls_case) { /* the session without the CA: verification fails */
        cio_http_session *s2;
        CHECK(cio_http_session_new(&s2, cio_get_running_loop(), NULL) == 0);
        int r = cio_http_session_ws_connect(s2, url, NULL, NULL, &ws);
        cio_http_session_close(s2);
        CHECK(r == CIO_ETLS_VERIFY && !ws);
    }
    CHECK(via_proxy());
    CHECK(cio_http_session_ws_connect(s, url, NULL, NULL, &ws) == 0);
    CHECK(cio_ws_send_text(ws, "exit") == 0);
out:
    cJSON_Delete(j);
    cio_ws_free(ws);
    if (s)
        cio_http_session_close(s);
    return 0;
}

static void session_ws_connect(int tls)
{
    if (!tu_have_node_ws())
        skip();
    assert_non_null(tu_certs());
    char env[512] = "";
    if (tls)
        snprintf(env, sizeof(env), "TLS_KEY=%s TLS_CERT=%s",
                 tu_cert("srv.key"), tu_cert("srv.pem"));
    FILE *p = node_start(env, &port);
    cctx = NULL;
    if (tls) {
        assert_int_equal(cio_tls_ctx_new(&cctx, CIO_TLS_CLIENT), 0);
        assert_int_equal(
            cio_tls_ctx_load_verify(cctx, tu_cert("ca.pem"), NULL), 0);
    }
    tls_case = tls;
    failed = 0;
    assert_int_equal(cio_run(session_main, NULL, NULL), 0);
    cio_tls_ctx_free(cctx);
    cctx = NULL;
    int st = pclose(p);
    assert_false(failed);
    assert_int_equal(st, 0);
}

static void session_ws_connect_plain(void **state)
{
    (void)state;
    session_ws_connect(0);
}

static void session_ws_connect_wss(void **state)
{
    (void)state;
    session_ws_connect(1);
}

/* ---- the session's Unix connector ---------------------------------------- */

static char unix_path[64];

static int unix_main(void *arg, void **res)
{
    (void)arg, (void)res;
    cio_http_session *s = NULL;
    cio_ws *ws = NULL;
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.unix_path = unix_path;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    CHECK(cio_http_session_ws_connect(s, "ws://localhost/over-unix", NULL,
                                      NULL, &ws) == 0);
    CHECK(echo(ws, CIO_WS_TEXT, "unix", 4) == 0);
    CHECK(cio_ws_send_text(ws, "exit") == 0);
out:
    cio_ws_free(ws);
    if (s)
        cio_http_session_close(s);
    return 0;
}

static void session_ws_connect_unix(void **state)
{
    (void)state;
    if (!tu_have_node_ws())
        skip();
    snprintf(unix_path, sizeof(unix_path), "/tmp/cio-wsu-%d.sock",
             (int)getpid());
    unlink(unix_path);
    char env[128];
    snprintf(env, sizeof(env), "UNIX=%s", unix_path);
    int pt;
    FILE *p = node_start(env, &pt);
    failed = 0;
    assert_int_equal(cio_run(unix_main, NULL, NULL), 0);
    int st = pclose(p);
    unlink(unix_path);
    assert_false(failed);
    assert_int_equal(st, 0);
}

/* ---- timeouts and cancellation (a server that never answers) ------------- */

static int silent_main(void *arg, void **res)
{
    (void)arg, (void)res;
    cio_http_session *s = NULL;
    cio_socket *ls = NULL;
    cio_ws *ws = NULL;
    CHECK(cio_socket_open(&ls, cio_get_running_loop(), AF_INET, SOCK_STREAM,
                          0) == 0);
    CHECK(cio_socket_bind_ip(ls, "127.0.0.1", 0) == 0);
    CHECK(cio_socket_listen(ls, 8) == 0);
    cio_sockaddr a;
    CHECK(cio_socket_sockname(ls, &a) == 0);
    char url[96];
    snprintf(url, sizeof(url), "ws://127.0.0.1:%d/", cio_sockaddr_port(&a));
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.timeout.total = 150 * CIO_MS;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    int64_t t0 = cio_loop_time(cio_get_running_loop());
    CHECK(cio_http_session_ws_connect(s, url, NULL, NULL, &ws) ==
          CIO_EHTTPC_TIMEOUT);
    CHECK(cio_loop_time(cio_get_running_loop()) - t0 >= 140 * CIO_MS);
    /* ws_opts->handshake_timeout shortens it, the request's total too */
    cio_ws_options wo = CIO_WS_OPTIONS_INIT;
    wo.handshake_timeout = 50 * CIO_MS;
    CHECK(cio_http_session_ws_connect(s, url, NULL, &wo, &ws) ==
          CIO_EHTTPC_TIMEOUT);
    /* a caller's timeout scope cancels it: the scope's -ETIMEDOUT */
    cio_http_request_opts ro = {0};
    ro.timeout.total = -1;
    cio_timeout to;
    CHECK(cio_timeout_begin(&to, 60 * CIO_MS) == 0);
    int r = cio_http_session_ws_connect(s, url, &ro, NULL, &ws);
    r = cio_timeout_end(&to, r);
    CHECK(r == -ETIMEDOUT && !ws);
    /* refused */
    cio_socket_close(ls);
    ls = NULL;
    CHECK(cio_http_session_ws_connect(s, url, NULL, NULL, &ws) ==
          -ECONNREFUSED);
out:
    cio_ws_free(ws);
    if (ls)
        cio_socket_close(ls);
    if (s)
        cio_http_session_close(s);
    return 0;
}

static void session_ws_connect_timeouts(void **state)
{
    (void)state;
    failed = 0;
    assert_int_equal(cio_run(silent_main, NULL, NULL), 0);
    assert_false(failed);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(wss_connect_node),
    cmocka_unit_test(session_ws_connect_plain),
    cmocka_unit_test(session_ws_connect_wss),
    cmocka_unit_test(session_ws_connect_unix),
    cmocka_unit_test(session_ws_connect_timeouts),
};

CIO_TEST_MAIN(tests)
