/*
 * test_tls_sock.c - TLS on awaitable sockets (curio style, issue 11):
 * cio_socket_create_connection_tls against a server of awaitable sockets
 * that accepts and calls cio_socket_start_tls with a server context;
 * a wrong-host certificate (the client gets CIO_ETLS_VERIFY, the server
 * goes on), a server context refused on the client call, the handshake
 * timeout, and cancellation in the middle of the handshake on both
 * sides (nothing leaks: descriptors counted). Certificates are made at
 * test time (cio_testutil_tls.h).
 * cio-test: timeout=120
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"
#include "cio_testutil_tls.h"

/* A listening awaitable socket on 127.0.0.1; *port is its port. */
static cio_socket *listener(int *port)
{
    cio_socket *l;
    assert_int_equal(cio_socket_open(&l, g_loop, AF_INET, SOCK_STREAM, 0), 0);
    assert_int_equal(cio_socket_bind_ip(l, "127.0.0.1", 0), 0);
    assert_int_equal(cio_socket_listen(l, 16), 0);
    cio_sockaddr a;
    assert_int_equal(cio_socket_sockname(l, &a), 0);
    *port = cio_sockaddr_port(&a);
    assert_true(*port > 0);
    return l;
}

/* ---- the server: accepts `conns` connections one after the other,
 * upgrades each with start_tls and echoes until the client's
 * close_notify; records each handshake's outcome ---- */

static struct {
    cio_socket *l;
    cio_tls_ctx *ctx;
    int conns;
    int hs[4];    /* start_tls result per connection */
    char sni[64]; /* of the last good one */
    int echoed;   /* bytes echoed in all */
    int eof;      /* clean ends (recv 0 after close_notify) */
} srv;

static int server_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int i = 0; i < srv.conns; i++) {
        cio_socket *c;
        int r = cio_socket_accept(srv.l, &c, NULL);
        if (r < 0)
            return r;
        srv.hs[i] = cio_socket_start_tls(c, srv.ctx, NULL);
        if (srv.hs[i] == 0) {
            const char *sni = cio_tls_server_name(cio_socket_tls(c));
            snprintf(srv.sni, sizeof(srv.sni), "%s", sni ? sni : "");
            char buf[256];
            ssize_t n;
            while ((n = cio_socket_recv(c, buf, sizeof(buf), 0)) > 0) {
                if (cio_socket_sendall(c, buf, (size_t)n, 0) < 0)
                    break;
                srv.echoed += (int)n;
            }
            if (n == 0) {
                srv.eof++;
                cio_socket_shutdown(c, SHUT_WR); /* our close_notify */
            }
        }
        cio_socket_close(c);
    }
    return 0;
}

static cio_task *start_server(cio_tls_ctx *sctx, int conns, int *port)
{
    memset(&srv, 0, sizeof(srv));
    srv.l = listener(port);
    srv.ctx = sctx;
    srv.conns = conns;
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(server_task, NULL), NULL, &t), 0);
    return t;
}

static void end_server(cio_task *t)
{
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    assert_int_equal(cio_socket_close(srv.l), 0);
}

/* Sends msg, reads it back. */
static void ping(cio_socket *s, const char *msg)
{
    size_t n = strlen(msg), got = 0;
    char buf[256];
    assert_int_equal(cio_socket_sendall(s, msg, n, 0), 0);
    while (got < n) {
        ssize_t k = cio_socket_recv(s, buf + got, sizeof(buf) - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
    }
    assert_int_equal(got, n);
    assert_memory_equal(buf, msg, n);
}

/* close_notify both ways, then close. */
static void finish(cio_socket *s)
{
    char b[8];
    assert_int_equal(cio_socket_shutdown(s, SHUT_WR), 0);
    assert_int_equal(cio_socket_recv(s, b, sizeof(b), 0), 0);
    assert_int_equal(cio_socket_close(s), 0);
}

/* ---- echo through create_connection_tls and an accepting server ---- */

static int echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    int port;
    cio_task *st = start_server(sctx, 2, &port);

    /* By name: SNI "localhost", checked against DNS:localhost. */
    cio_socket *s;
    assert_int_equal(
        cio_socket_create_connection_tls(&s, "127.0.0.1", port, cctx,
                                         "localhost"),
        0);
    cio_tls_conn *t = cio_socket_tls(s);
    assert_non_null(t);
    assert_string_equal(cio_tls_version(t), "TLSv1.3");
    char subj[128];
    assert_true(cio_tls_peer_subject(t, subj, sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=localhost"));
    /* TLS sockets take no flags. */
    char b[4];
    assert_int_equal(cio_socket_recv(s, b, 1, MSG_PEEK), -EINVAL);
    ping(s, "hello over tls\n");
    ping(s, "twice\n");
    finish(s);
    WAIT_FOR(srv.eof == 1);
    assert_string_equal(srv.sni, "localhost");

    /* server_hostname NULL: the host, an IP, checked against
     * IP:127.0.0.1, no SNI sent. */
    assert_int_equal(
        cio_socket_create_connection_tls(&s, "127.0.0.1", port, cctx, NULL),
        0);
    ping(s, "by address\n");
    finish(s);
    end_server(st);
    assert_int_equal(srv.hs[0], 0);
    assert_int_equal(srv.hs[1], 0);
    assert_int_equal(srv.eof, 2);
    assert_string_equal(srv.sni, "");
    assert_int_equal(srv.echoed, 15 + 6 + 11);

    /* A server context on the client call: refused before connecting;
     * ctx NULL: plain TCP as cio_socket_create_connection. */
    assert_int_equal(
        cio_socket_create_connection_tls(&s, "127.0.0.1", port, sctx, NULL),
        -EINVAL);
    assert_null(s);

    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    assert_int_equal(count_fds(), fds);
    return 0;
}

TU_NET_CASE(tls_sock_echo, echo_main)

/* ---- a wrong-host certificate: the client refuses it, the server's
 * start_tls fails for that connection only and serves the next ---- */

static int wrong_host_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    cio_tls_ctx *sctx = tu_server_ctx("wrong"), *cctx = tu_client_ctx();
    int port;
    cio_task *st = start_server(sctx, 2, &port);
    cio_socket *s = (cio_socket *)1;
    assert_int_equal(
        cio_socket_create_connection_tls(&s, "127.0.0.1", port, cctx,
                                         "localhost"),
        CIO_ETLS_VERIFY);
    assert_null(s);
    char why[256];
    assert_true(cio_tls_last_error(why, sizeof(why)) > 0);
    print_message("wrong host: %s\n", why);
    assert_non_null(strstr(why, "mismatch"));
    /* The server saw that handshake fail (the client's alert). */
    WAIT_FOR(srv.hs[0] != 0);
    assert_true(srv.hs[0] < 0);
    /* The name it does carry is accepted by the same server. */
    assert_int_equal(
        cio_socket_create_connection_tls(&s, "127.0.0.1", port, cctx,
                                         "wrong.example"),
        0);
    ping(s, "right name\n");
    finish(s);
    end_server(st);
    assert_int_equal(srv.hs[1], 0);
    assert_string_equal(srv.sni, "wrong.example");
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    assert_int_equal(count_fds(), fds);
    return 0;
}

TU_NET_CASE(tls_sock_verify_wrong_host, wrong_host_main)

/* ---- cancellation mid-handshake, and the handshake timeout ---- */

static struct {
    int port;
    cio_tls_ctx *ctx;
    cio_socket *s;
    int rc;
} cx;

static int connect_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cx.rc = cio_socket_create_connection_tls(&cx.s, "127.0.0.1", cx.port,
                                             cx.ctx, "localhost");
    return cx.rc;
}

static int accept_tls_task(void *arg, void **result)
{
    (void)result;
    cio_socket *l = arg, *c;
    int r = cio_socket_accept(l, &c, NULL);
    if (r < 0)
        return r;
    cx.rc = cio_socket_start_tls(c, cx.ctx, NULL);
    cio_socket_close(c);
    return cx.rc;
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    /* Client side: a listener that never answers (the kernel completes
     * the TCP connect from its backlog; no ServerHello ever comes). */
    cio_socket *l = listener(&cx.port);
    cx.ctx = tu_client_ctx();
    cx.s = NULL;
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(connect_task, NULL), NULL, &t), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    assert_null(cx.s);

    /* The same through a cio_timeout scope around the call. */
    cio_timeout to;
    assert_int_equal(cio_timeout_begin(&to, 50 * CIO_MS), 0);
    cio_socket *s = (cio_socket *)1;
    int r = cio_socket_create_connection_tls(&s, "127.0.0.1", cx.port, cx.ctx,
                                             "localhost");
    assert_int_equal(cio_timeout_end(&to, r), -ETIMEDOUT);
    assert_null(s);

    /* The context's handshake timeout. */
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(cx.ctx, 50 * CIO_MS),
                     0);
    assert_int_equal(cio_socket_create_connection_tls(&s, "127.0.0.1", cx.port,
                                                      cx.ctx, "localhost"),
                     CIO_ETLS_TIMEOUT);
    assert_null(s);
    cio_tls_ctx_free(cx.ctx);

    /* Server side: start_tls on an accepted socket whose client sends no
     * hello; the accepting task is cancelled in the handshake. */
    assert_int_equal(cio_socket_close(l), 0); /* and its backlog */
    l = listener(&cx.port);
    cx.ctx = tu_server_ctx("srv");
    cx.rc = 1;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(accept_tls_task, l), NULL, &t), 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)cx.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    assert_int_equal(cx.rc, -ECANCELED);
    cio_future_release(t);
    close(fd);
    cio_tls_ctx_free(cx.ctx);
    assert_int_equal(cio_socket_close(l), 0);
    assert_int_equal(count_fds(), fds);
    return 0;
}

TU_NET_CASE(tls_sock_cancel_and_timeout, cancel_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tls_sock_echo),
    cmocka_unit_test(tls_sock_verify_wrong_host),
    cmocka_unit_test(tls_sock_cancel_and_timeout),
};

CIO_TEST_MAIN(tests)
