/*
 * test_tls.c - TLS (cio/tls.h) over loopback: stream and protocol echo,
 * start_tls on streams, transports and sockets, certificate failures
 * (self-signed, expired, wrong host), a plain-TCP client and a truncated
 * handshake on a TLS port (the server goes on), handshake timeouts,
 * cancellation during the handshake and during a read, session
 * resumption, ALPN, SNI, mutual TLS, close_notify against an unclean
 * end, and interoperation with openssl s_client / s_server, curl and
 * Python's ssl module. Certificates are made at test time
 * (cio_testutil_tls.h).
 * cio-test: timeout=120
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"
#include "cio_testutil_tls.h"

/* ---- the TLS echo server: lines back; "quit" closes, "abort" ends the
 * TCP connection without close_notify ---- */

static struct {
    char alpn[32];
    char sni[64];
    char peer[128];
    int handled;
    int err; /* the last read error the handler saw */
} seen;

static int echo_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    cio_tls_conn *t = cio_stream_writer_tls(w);
    assert_non_null(t);
    seen.handled++;
    snprintf(seen.alpn, sizeof(seen.alpn), "%s", cio_tls_alpn(t));
    const char *sni = cio_tls_server_name(t);
    snprintf(seen.sni, sizeof(seen.sni), "%s", sni ? sni : "");
    if (cio_tls_peer_subject(t, seen.peer, sizeof(seen.peer)) < 0)
        seen.peer[0] = 0;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        if (n == 5 && !memcmp(line, "quit\n", 5))
            break;
        if (n == 6 && !memcmp(line, "abort\n", 6)) {
            shutdown(cio_stream_writer_fileno(w), SHUT_RDWR);
            break;
        }
        int rc = cio_stream_writer_write(w, line, (size_t)n);
        if (rc < 0)
            return 0;
    }
    if (n < 0)
        seen.err = (int)n;
    return 0;
}

static cio_server *tls_server(cio_tls_ctx *sctx, int *port)
{
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv;
    assert_int_equal(
        cio_start_server(g_loop, echo_handler, NULL, "127.0.0.1", 0, &so, &srv),
        0);
    *port = cio_server_port(srv);
    assert_true(*port > 0);
    return srv;
}

static void server_done(cio_server *srv)
{
    assert_int_equal(cio_server_close(srv), 0);
    cio_server_close_clients(srv);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
}

static int tls_connect(int port, cio_tls_ctx *cctx, const char *name,
                       cio_stream_reader **r, cio_stream_writer **w)
{
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.tls = cctx;
    o.server_hostname = name;
    return cio_open_connection("127.0.0.1", port, &o, r, w);
}

/* One line there and back. */
static void ping(cio_stream_reader *r, cio_stream_writer *w, const char *msg)
{
    size_t n = strlen(msg);
    assert_int_equal(cio_stream_writer_write(w, msg, n), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), (ssize_t)n);
    assert_memory_equal(line, msg, n);
}

static void close_pair(cio_stream_reader *r, cio_stream_writer *w)
{
    assert_int_equal(cio_stream_writer_close(w), 0);
    cio_stream_writer_wait_closed(w);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
}

/* ---- stream echo, with the accessors ---- */

static int stream_echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_tls_ctx_free(sctx); /* the server keeps its own reference */
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    cio_tls_ctx_free(cctx);
    ping(r, w, "hello over TLS\n");
    /* 200 KiB through the record layer and back, in pieces. */
    static char big[200 * 1024];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = i % 1000 == 999 ? '\n' : (char)('a' + i % 26);
    big[sizeof(big) - 1] = '\n';
    assert_int_equal(cio_stream_writer_write(w, big, sizeof(big)), 0);
    static char back[sizeof(big)];
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, back, sizeof(back), &got),
                     0);
    assert_memory_equal(back, big, sizeof(big));

    cio_tls_conn *t = cio_stream_writer_tls(w);
    assert_non_null(t);
    assert_string_equal(cio_tls_version(t), "TLSv1.3");
    assert_non_null(cio_tls_cipher(t));
    char subj[128];
    assert_true(cio_tls_peer_subject(t, subj, sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=localhost"));
    int der = cio_tls_peer_cert_der(t, NULL, 0);
    assert_true(der > 100);
    unsigned char *d = malloc((size_t)der);
    assert_int_equal(cio_tls_peer_cert_der(t, d, (size_t)der), der);
    assert_int_equal(d[0], 0x30); /* a DER SEQUENCE */
    free(d);
    assert_int_equal(cio_tls_session_reused(t), 0);
    assert_int_equal(cio_tls_ktls(t), 0);
    assert_string_equal(cio_tls_alpn(t), "");
    assert_string_equal(seen.sni, "localhost");
    close_pair(r, w);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_stream_echo, stream_echo_main)

/* ---- certificate failures; the server goes on ---- */

static int expect_verify_fail(const char *cert, const char *name,
                              const char *why)
{
    cio_tls_ctx *sctx = tu_server_ctx(cert), *cctx = tu_client_ctx();
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    int rc = tls_connect(port, cctx, name, &r, &w);
    assert_int_equal(rc, CIO_ETLS_VERIFY);
    assert_null(r);
    assert_null(w);
    char buf[256];
    assert_true(cio_tls_last_error(buf, sizeof(buf)) > 0);
    print_message("%s: %s\n", cert, buf);
    assert_non_null(strstr(buf, why));
    /* Verification off: the same server is fine. */
    assert_int_equal(cio_tls_ctx_set_verify(cctx, CIO_TLS_VERIFY_NONE), 0);
    assert_int_equal(tls_connect(port, cctx, name, &r, &w), 0);
    ping(r, w, "still serving\n");
    close_pair(r, w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

static int self_signed_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return expect_verify_fail("self", "localhost", "self-signed");
}

static int expired_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return expect_verify_fail("exp", "localhost", "expired");
}

static int wrong_host_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    return expect_verify_fail("wrong", "localhost", "mismatch");
}

TU_NET_CASE(tls_verify_self_signed, self_signed_main)
TU_NET_CASE(tls_verify_expired, expired_main)
TU_NET_CASE(tls_verify_wrong_host, wrong_host_main)

/* ---- hostile or broken peers on a TLS port ---- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
    assert_true(rc == 0 || errno == EINPROGRESS);
    return fd;
}

/* Reads fd until EOF or error (bounded: 5 s). Returns bytes read. */
static size_t raw_drain(int fd)
{
    size_t total = 0;
    for (int i = 0; i < 5000; i++) {
        char buf[512];
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k > 0) {
            total += (size_t)k;
            continue;
        }
        if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
            return total;
        assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    fail_msg("the server did not close the connection");
    return total;
}

static void good_client(int port)
{
    cio_tls_ctx *cctx = tu_client_ctx();
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "good\n");
    close_pair(r, w);
    cio_tls_ctx_free(cctx);
}

static int plain_client_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv");
    int port;
    cio_server *srv = tls_server(sctx, &port);
    int before = seen.handled;
    int fd = raw_connect(port);
    WAIT_FOR(send(fd, "GET / HTTP/1.0\r\n\r\n", 18, MSG_NOSIGNAL) == 18);
    raw_drain(fd); /* the server answers with an alert, or nothing, and
                    * closes */
    close(fd);
    char buf[256];
    cio_tls_last_error(buf, sizeof(buf));
    print_message("server saw: %s\n", buf);
    assert_non_null(strstr(buf, "http request"));
    assert_int_equal(seen.handled, before); /* the handler never ran */
    good_client(port);
    assert_int_equal(seen.handled, before + 1);
    cio_tls_ctx_free(sctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_plain_client_on_tls_port, plain_client_main)

static int half_record_handler(cio_stream_reader *r, cio_stream_writer *w,
                               void *arg)
{
    (void)arg;
    char buf[512];
    if (cio_stream_reader_read(r, buf, sizeof(buf)) > 0)
        cio_stream_writer_write(w, "\x16\x03\x03\x00\x50\x02\x00", 7);
    return 0;
}

static int truncated_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv");
    int port;
    cio_server *srv = tls_server(sctx, &port);
    /* A ClientHello record header promising 512 bytes, then 3, then FIN. */
    int fd = raw_connect(port);
    WAIT_FOR(send(fd, "\x16\x03\x01\x02\x00\x01\x00\x01", 8, MSG_NOSIGNAL) ==
             8);
    shutdown(fd, SHUT_WR);
    raw_drain(fd);
    close(fd);
    char buf[256];
    cio_tls_last_error(buf, sizeof(buf));
    print_message("server saw: %s\n", buf);
    assert_non_null(strstr(buf, "handshake"));
    good_client(port);

    /* The client side: a "server" that answers with half a record. */
    cio_server *plain;
    assert_int_equal(cio_start_server(g_loop, half_record_handler, NULL,
                                      "127.0.0.1", 0, NULL, &plain),
                     0);
    cio_tls_ctx *cctx = tu_client_ctx();
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(
        tls_connect(cio_server_port(plain), cctx, "localhost", &r, &w),
        CIO_ETLS_HANDSHAKE);
    cio_tls_last_error(buf, sizeof(buf));
    print_message("client saw: %s\n", buf);
    cio_tls_ctx_free(cctx);
    cio_tls_ctx_free(sctx);
    server_done(plain);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_truncated_handshake, truncated_main)

/* ---- timeouts and cancellation ---- */

static int silent_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)w;
    (void)arg;
    char buf[64];
    while (cio_stream_reader_read(r, buf, sizeof(buf)) > 0)
        ; /* reads the ClientHello, says nothing */
    return 0;
}

static int hs_timeout_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* Client side: a plain server that never answers the hello. */
    cio_server *plain;
    assert_int_equal(cio_start_server(g_loop, silent_handler, NULL, "127.0.0.1",
                                      0, NULL, &plain),
                     0);
    int port = cio_server_port(plain);
    cio_tls_ctx *cctx = tu_client_ctx();
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(cctx, 200 * CIO_MS), 0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w),
                     CIO_ETLS_TIMEOUT);
    assert_true(cio_loop_time(g_loop) - t0 >= 190 * CIO_MS);
    cio_tls_ctx_free(cctx);
    server_done(plain);

    /* Server side: a client that connects and says nothing is dropped. */
    cio_tls_ctx *sctx = tu_server_ctx("srv");
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(sctx, 200 * CIO_MS), 0);
    cio_server *srv = tls_server(sctx, &port);
    int fd = raw_connect(port);
    t0 = cio_loop_time(g_loop);
    raw_drain(fd);
    assert_true(cio_loop_time(g_loop) - t0 >= 150 * CIO_MS);
    close(fd);
    assert_int_equal(cio_server_connections(srv), 0);
    cio_tls_ctx_free(sctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_handshake_timeout, hs_timeout_main)

/* The same two timeouts for protocols and transports. */
static int noop_data(cio_transport *t, const void *data, size_t n, void *ctx)
{
    (void)t;
    (void)data;
    (void)n;
    (void)ctx;
    return 0;
}

static const cio_protocol noop_proto = {.data_received = noop_data};

static int noop_factory(void *arg, const cio_protocol **p, void **ctx)
{
    (void)arg;
    *p = &noop_proto;
    *ctx = NULL;
    return 0;
}

static int hs_timeout_proto_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *plain;
    assert_int_equal(cio_start_server(g_loop, silent_handler, NULL, "127.0.0.1",
                                      0, NULL, &plain),
                     0);
    cio_tls_ctx *cctx = tu_client_ctx();
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(cctx, 200 * CIO_MS), 0);
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.tls = cctx;
    o.server_hostname = "localhost";
    cio_transport *t;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_create_connection(noop_factory, NULL, "127.0.0.1",
                                           cio_server_port(plain), &o, &t),
                     CIO_ETLS_TIMEOUT);
    assert_null(t);
    assert_true(cio_loop_time(g_loop) - t0 >= 190 * CIO_MS);
    cio_tls_ctx_free(cctx);
    server_done(plain);

    cio_tls_ctx *sctx = tu_server_ctx("srv");
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(sctx, 200 * CIO_MS), 0);
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv;
    assert_int_equal(cio_create_server(g_loop, noop_factory, NULL, "127.0.0.1",
                                       0, &so, &srv),
                     0);
    int fd = raw_connect(cio_server_port(srv));
    t0 = cio_loop_time(g_loop);
    raw_drain(fd);
    assert_true(cio_loop_time(g_loop) - t0 >= 150 * CIO_MS);
    close(fd);
    WAIT_FOR(cio_server_connections(srv) == 0);
    cio_tls_ctx_free(sctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_handshake_timeout_protocol, hs_timeout_proto_main)

static struct {
    int port;
    int rc;
    cio_stream_reader *r;
    cio_stream_writer *w;
} cx;

static int connect_task(void *arg, void **result)
{
    (void)result;
    cio_tls_ctx *cctx = arg;
    cx.rc = tls_connect(cx.port, cctx, "localhost", &cx.r, &cx.w);
    return cx.rc;
}

static int read_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char buf[16];
    cx.rc = (int)cio_stream_reader_read(cx.r, buf, sizeof(buf));
    return cx.rc;
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    /* During the handshake. */
    cio_server *plain;
    assert_int_equal(cio_start_server(g_loop, silent_handler, NULL, "127.0.0.1",
                                      0, NULL, &plain),
                     0);
    cx.port = cio_server_port(plain);
    cio_tls_ctx *cctx = tu_client_ctx();
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(connect_task, cctx), NULL, &t), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    assert_null(cx.r);
    server_done(plain);

    /* During a read. */
    cio_tls_ctx *sctx = tu_server_ctx("srv");
    int port;
    cio_server *srv = tls_server(sctx, &port);
    assert_int_equal(tls_connect(port, cctx, "localhost", &cx.r, &cx.w), 0);
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(read_task, NULL), NULL, &t), 0);
    assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    /* The connection still works after the cancelled read. */
    ping(cx.r, cx.w, "after cancel\n");
    close_pair(cx.r, cx.w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    WAIT_FOR(count_fds() == fds);
    return 0;
}

TU_NET_CASE(tls_cancel_handshake_and_read, cancel_main)

/* ---- session resumption, ALPN, SNI, mutual TLS ---- */

static int resume_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    int port;
    cio_server *srv = tls_server(sctx, &port);
    for (int i = 0; i < 3; i++) {
        cio_stream_reader *r;
        cio_stream_writer *w;
        assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
        ping(r, w, "resume?\n"); /* reading takes the TLS 1.3 tickets */
        assert_int_equal(cio_tls_session_reused(cio_stream_writer_tls(w)),
                         i > 0);
        close_pair(r, w);
    }
    /* Tickets off on the server: no resumption. */
    assert_int_equal(cio_tls_ctx_set_session_tickets(sctx, 0), 0);
    cio_tls_ctx *c2 = tu_client_ctx();
    for (int i = 0; i < 2; i++) {
        cio_stream_reader *r;
        cio_stream_writer *w;
        assert_int_equal(tls_connect(port, c2, "localhost", &r, &w), 0);
        ping(r, w, "no tickets\n");
        assert_int_equal(cio_tls_session_reused(cio_stream_writer_tls(w)), 0);
        close_pair(r, w);
    }
    cio_tls_ctx_free(c2);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_session_resumption, resume_main)

static int alpn_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    const char *sp[] = {"h2", "http/1.1"};
    assert_int_equal(cio_tls_ctx_set_alpn(sctx, sp, 2), 0);
    const char *cp[] = {"http/1.1", "h2"};
    assert_int_equal(cio_tls_ctx_set_alpn(cctx, cp, 2), 0);
    const char *bad[] = {""};
    assert_int_equal(cio_tls_ctx_set_alpn(cctx, bad, 1), -EINVAL);
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "alpn\n");
    /* The server's preference wins. */
    assert_string_equal(cio_tls_alpn(cio_stream_writer_tls(w)), "h2");
    assert_string_equal(seen.alpn, "h2");
    close_pair(r, w);
    /* Nothing in common: no ALPN, the connection goes on. */
    const char *only[] = {"spdy/3"};
    assert_int_equal(cio_tls_ctx_set_alpn(cctx, only, 1), 0);
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "no alpn\n");
    assert_string_equal(cio_tls_alpn(cio_stream_writer_tls(w)), "");
    close_pair(r, w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_alpn, alpn_main)

static cio_tls_ctx *g_other;

static cio_tls_ctx *pick(const char *name, void *arg)
{
    (void)arg;
    return name && !strcmp(name, "cb.other.test") ? g_other : NULL;
}

static int sni_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    assert_int_equal(cio_tls_ctx_add_sni_cert_file(sctx, "other.test",
                                                   tu_cert("other.pem"),
                                                   tu_cert("other.key")),
                     0);
    assert_int_equal(cio_tls_ctx_add_sni_cert_file(cctx, "x", "y", "z"),
                     -EINVAL);
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    char subj[128];
    /* By name: other.test gets its own certificate, verified as such. */
    assert_int_equal(tls_connect(port, cctx, "other.test", &r, &w), 0);
    ping(r, w, "sni\n");
    assert_string_equal(seen.sni, "other.test");
    assert_true(
        cio_tls_peer_subject(cio_stream_writer_tls(w), subj, sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=other.test"));
    close_pair(r, w);
    /* localhost gets the default one. */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "default\n");
    assert_true(
        cio_tls_peer_subject(cio_stream_writer_tls(w), subj, sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=localhost"));
    close_pair(r, w);
    /* The callback picks a context for a name of its own. */
    g_other = tu_server_ctx("other");
    assert_int_equal(cio_tls_ctx_set_sni_callback(sctx, pick, NULL), 0);
    assert_int_equal(cio_tls_ctx_set_check_hostname(cctx, 0), 0);
    assert_int_equal(tls_connect(port, cctx, "cb.other.test", &r, &w), 0);
    ping(r, w, "callback\n");
    assert_true(
        cio_tls_peer_subject(cio_stream_writer_tls(w), subj, sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=other.test"));
    close_pair(r, w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    cio_tls_ctx_free(g_other);
    return 0;
}

TU_NET_CASE(tls_sni, sni_main)

static int mtls_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    assert_int_equal(cio_tls_ctx_set_verify(sctx, CIO_TLS_VERIFY_REQUIRED), 0);
    assert_int_equal(cio_tls_ctx_load_verify(sctx, tu_cert("ca.pem"), NULL), 0);
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    /* Without a certificate: TLS 1.3 finishes the client's handshake
     * first, so the server's refusal arrives on the first read. */
    int rc = tls_connect(port, cctx, "localhost", &r, &w);
    if (rc == 0) {
        assert_int_equal(cio_stream_writer_write(w, "x\n", 2), 0);
        const char *line;
        rc = (int)cio_stream_reader_readline(r, &line);
        close_pair(r, w);
    }
    char buf[256];
    cio_tls_last_error(buf, sizeof(buf));
    print_message("without a client certificate: %s (%s)\n", cio_strerror(rc),
                  buf);
    assert_true(rc <= CIO_ERR_TLS_FIRST && rc >= CIO_ERR_TLS_LAST);
    assert_non_null(strstr(buf, "certificate required"));
    /* With one. */
    assert_int_equal(cio_tls_ctx_use_cert_file(cctx, tu_cert("client.pem"),
                                               tu_cert("client.key")),
                     0);
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "mutual\n");
    assert_non_null(strstr(seen.peer, "CN=cio-client"));
    close_pair(r, w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_mutual, mtls_main)

/* ---- close_notify against an unclean end ---- */

static int close_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    char buf[16];
    /* "quit": the handler returns, the server closes with close_notify:
     * a clean end of file. */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "one\n");
    assert_int_equal(cio_stream_writer_write(w, "quit\n", 5), 0);
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), 0);
    close_pair(r, w);
    /* "abort": the TCP connection ends without close_notify. */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "two\n");
    assert_int_equal(cio_stream_writer_write(w, "abort\n", 6), 0);
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)),
                     CIO_ETLS_UNCLEAN);
    assert_string_equal(cio_strerror(CIO_ETLS_UNCLEAN),
                        "TLS: connection closed without close_notify "
                        "(unclean shutdown)");
    close_pair(r, w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_close_notify_vs_unclean, close_main)

/* ---- protocols and transports ---- */

typedef struct pbuf {
    char data[4096];
    size_t len;
    int lost;
    int lost_err;
    int made;
    cio_transport *t;
} pbuf;

static int p_made(cio_transport *t, void *ctx)
{
    pbuf *b = ctx;
    b->made = 1;
    b->t = t;
    return 0;
}

static int p_echo_data(cio_transport *t, const void *data, size_t n, void *ctx)
{
    (void)ctx;
    assert_non_null(cio_transport_tls(t));
    return cio_transport_write(t, data, n);
}

static int p_collect(cio_transport *t, const void *data, size_t n, void *ctx)
{
    (void)t;
    pbuf *b = ctx;
    if (n > sizeof(b->data) - b->len)
        n = sizeof(b->data) - b->len;
    memcpy(b->data + b->len, data, n);
    b->len += n;
    return 0;
}

static void p_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    pbuf *b = ctx;
    b->lost = 1;
    b->lost_err = err;
}

static const cio_protocol echo_proto = {
    .data_received = p_echo_data,
};

static const cio_protocol collect_proto = {
    .connection_made = p_made,
    .data_received = p_collect,
    .connection_lost = p_lost,
};

static int factory_calls;

static int echo_factory(void *arg, const cio_protocol **p, void **ctx)
{
    (void)arg;
    factory_calls++;
    *p = &echo_proto;
    *ctx = NULL;
    return 0;
}

static int collect_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &collect_proto;
    *ctx = arg;
    return 0;
}

static int protocol_echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv;
    assert_int_equal(cio_create_server(g_loop, echo_factory, NULL, "127.0.0.1",
                                       0, &so, &srv),
                     0);
    int port = cio_server_port(srv);
    /* A plain client on the protocol server's TLS port first: no
     * protocol is ever made for it. */
    factory_calls = 0;
    int fd = raw_connect(port);
    WAIT_FOR(send(fd, "plain text\r\n\r\n", 14, MSG_NOSIGNAL) == 14);
    raw_drain(fd);
    close(fd);
    assert_int_equal(factory_calls, 0);
    /* A client that never says hello, closed by close_clients while its
     * handshake waits. */
    fd = raw_connect(port);
    WAIT_FOR(cio_server_connections(srv) == 1);
    assert_int_equal(cio_server_close_clients(srv), 1);
    WAIT_FOR(cio_server_connections(srv) == 0);
    raw_drain(fd);
    close(fd);
    assert_int_equal(factory_calls, 0);
    pbuf b = {0};
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.tls = cctx;
    o.server_hostname = "localhost";
    cio_transport *t;
    assert_int_equal(
        cio_create_connection(collect_factory, &b, "127.0.0.1", port, &o, &t),
        0);
    assert_int_equal(b.made, 1);
    cio_tls_conn *tc = cio_transport_tls(t);
    assert_non_null(tc);
    assert_string_equal(cio_tls_version(tc), "TLSv1.3");
    for (int i = 0; i < 3; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "message %d;", i);
        assert_int_equal(cio_transport_write(t, msg, (size_t)n), 0);
    }
    WAIT_FOR(b.len == 30);
    assert_int_equal(factory_calls, 1);
    assert_memory_equal(b.data, "message 0;message 1;message 2;", 30);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(b.lost);
    assert_int_equal(b.lost_err, 0);
    assert_int_equal(cio_server_close(srv), 0);
    WAIT_FOR(cio_server_connections(srv) == 0);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    /* A failing verification: no protocol is made. */
    pbuf b2 = {0};
    cio_tls_ctx *sself = tu_server_ctx("self");
    so.conn.tls = sself;
    assert_int_equal(cio_create_server(g_loop, echo_factory, NULL, "127.0.0.1",
                                       0, &so, &srv),
                     0);
    assert_int_equal(cio_create_connection(collect_factory, &b2, "127.0.0.1",
                                           cio_server_port(srv), &o, &t),
                     CIO_ETLS_VERIFY);
    assert_int_equal(b2.made, 0);
    server_done(srv);
    cio_tls_ctx_free(sself);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    return 0;
}

TU_NET_CASE(tls_protocol_echo, protocol_echo_main)

/* ---- start_tls: a plain line protocol upgraded (STARTTLS) ---- */

static cio_tls_ctx *g_sctx;

static int starttls_handler(cio_stream_reader *r, cio_stream_writer *w,
                            void *arg)
{
    (void)arg;
    const char *line;
    ssize_t n = cio_stream_reader_readline(r, &line);
    if (n != 9 || memcmp(line, "STARTTLS\n", 9))
        return 0;
    assert_null(cio_stream_writer_tls(w));
    if (cio_stream_writer_write(w, "GO\n", 3) < 0)
        return 0;
    int rc = cio_stream_start_tls(r, w, g_sctx, NULL);
    if (rc < 0)
        return 0;
    return echo_handler(r, w, NULL);
}

static int starttls_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    g_sctx = tu_server_ctx("srv");
    cio_tls_ctx *cctx = tu_client_ctx();
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, starttls_handler, NULL,
                                      "127.0.0.1", 0, NULL, &srv),
                     0);
    int port = cio_server_port(srv);
    const char *line;

    /* Streams. */
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", port, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_writer_write(w, "STARTTLS\n", 9), 0);
    assert_int_equal(cio_stream_reader_readline(r, &line), 3);
    assert_int_equal(cio_stream_start_tls(r, w, cctx, "localhost"), 0);
    assert_int_equal(cio_stream_start_tls(r, w, cctx, "localhost"), -EINVAL);
    assert_string_equal(cio_tls_version(cio_stream_writer_tls(w)), "TLSv1.3");
    ping(r, w, "upgraded stream\n");
    close_pair(r, w);

    /* A transport (on io_uring, switched from completion mode). */
    pbuf b = {0};
    cio_transport *t;
    assert_int_equal(
        cio_create_connection(collect_factory, &b, "127.0.0.1", port, NULL, &t),
        0);
    assert_null(cio_transport_tls(t));
    assert_int_equal(cio_transport_write(t, "STARTTLS\n", 9), 0);
    WAIT_FOR(b.len == 3);
    b.len = 0;
    assert_int_equal(cio_transport_start_tls(t, cctx, "localhost"), 0);
    assert_non_null(cio_transport_tls(t));
    assert_int_equal(cio_transport_write(t, "upgraded transport\n", 19), 0);
    WAIT_FOR(b.len == 19);
    assert_memory_equal(b.data, "upgraded transport\n", 19);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(b.lost);

    /* An awaitable socket. */
    cio_socket *s;
    assert_int_equal(cio_socket_create_connection(&s, "127.0.0.1", port), 0);
    assert_int_equal(cio_socket_sendall(s, "STARTTLS\n", 9, 0), 0);
    char buf[64];
    assert_int_equal(cio_socket_recv(s, buf, sizeof(buf), 0), 3);
    assert_int_equal(cio_socket_start_tls(s, cctx, "localhost"), 0);
    assert_non_null(cio_socket_tls(s));
    assert_int_equal(cio_socket_sendall(s, "upgraded socket\n", 16, 0), 0);
    size_t got = 0;
    while (got < 16) {
        ssize_t k = cio_socket_recv(s, buf + got, sizeof(buf) - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
    }
    assert_memory_equal(buf, "upgraded socket\n", 16);
    assert_int_equal(cio_socket_recv(s, buf, 1, MSG_PEEK), -EINVAL);
    assert_int_equal(cio_socket_sendall(s, "quit\n", 5, 0), 0);
    /* the server's close_notify: a clean end of file */
    assert_int_equal(cio_socket_recv(s, buf, sizeof(buf), 0), 0);
    assert_int_equal(cio_socket_close(s), 0);

    cio_tls_ctx_free(g_sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_start_tls, starttls_main)

/* ---- real peers: openssl s_client / s_server, curl, Python ---- */

static int run_shell(const char *cmd, char *out, size_t cap)
{
    cio_process_opts po = CIO_PROCESS_OPTS_INIT;
    po.stdout_mode = CIO_PROCESS_PIPE;
    po.stderr_mode = CIO_PROCESS_DEVNULL;
    cio_process *p;
    assert_int_equal(cio_create_subprocess_shell(g_loop, cmd, &po, &p), 0);
    const char *o;
    size_t ol;
    assert_int_equal(cio_process_communicate(p, NULL, 0, &o, &ol, NULL, NULL),
                     0);
    snprintf(out, cap, "%s", o ? o : "");
    int rc;
    assert_int_equal(cio_process_returncode(p, &rc), 1);
    cio_process_free(p);
    return rc;
}

static int http_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    const char *d;
    size_t len;
    if (cio_stream_reader_readuntil(r, "\r\n\r\n", 4, &d, &len) < 0)
        return 0;
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"
                               "Connection: close\r\n\r\nhello tls\n";
    cio_stream_writer_write(w, resp, sizeof(resp) - 1);
    return 0;
}

static int interop_server_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv");
    const char *alpn[] = {"h2", "http/1.1"};
    assert_int_equal(cio_tls_ctx_set_alpn(sctx, alpn, 2), 0);
    int port;
    cio_server *srv = tls_server(sctx, &port);
    char cmd[1024], out[4096];

    /* openssl s_client: verifies us, sends two lines, we echo and close. */
    snprintf(cmd, sizeof(cmd),
             "printf 'hello s_client\\nquit\\n' | timeout 20 openssl s_client "
             "-connect 127.0.0.1:%d -CAfile %s -verify_return_error "
             "-servername localhost -alpn http/1.1 -quiet",
             port, tu_cert("ca.pem"));
    assert_int_equal(run_shell(cmd, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "hello s_client\n"));
    assert_string_equal(seen.alpn, "http/1.1");

    /* Python's ssl module: checks the version and our close_notify (an
     * unclean end would raise SSLEOFError). */
    snprintf(cmd, sizeof(cmd),
             "timeout 20 python3 -c \""
             "import socket, ssl\n"
             "c = ssl.create_default_context(cafile='%s')\n"
             "s = c.wrap_socket(socket.create_connection(('127.0.0.1', %d)), "
             "server_hostname='localhost')\n"
             "s.sendall(b'hello python\\n')\n"
             "d = b''\n"
             "while not d.endswith(b'\\n'): d += s.recv(100)\n"
             "s.sendall(b'quit\\n')\n"
             "assert s.recv(100) == b''\n"
             "print(d.decode().strip(), s.version())\"",
             tu_cert("ca.pem"), port);
    assert_int_equal(run_shell(cmd, out, sizeof(out)), 0);
    assert_string_equal(out, "hello python TLSv1.3\n");
    server_done(srv);

    /* curl over HTTPS. */
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    assert_int_equal(
        cio_start_server(g_loop, http_handler, NULL, "127.0.0.1", 0, &so, &srv),
        0);
    snprintf(cmd, sizeof(cmd),
             "timeout 20 curl -sS --http1.1 --cacert %s "
             "--resolve localhost:%d:127.0.0.1 https://localhost:%d/",
             tu_cert("ca.pem"), cio_server_port(srv), cio_server_port(srv));
    assert_int_equal(run_shell(cmd, out, sizeof(out)), 0);
    assert_string_equal(out, "hello tls\n");
    server_done(srv);
    cio_tls_ctx_free(sctx);
    return 0;
}

TU_NET_CASE(tls_interop_server_side, interop_server_main)

static int free_port(void)
{
    struct sockaddr_in a;
    int fd = bind_loopback(&a);
    socklen_t l = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int interop_client_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int port = free_port();
    char ps[16];
    snprintf(ps, sizeof(ps), "127.0.0.1:%d", port);
    assert_non_null(tu_certs());
    char *argv[] = {"timeout", "20",
                    "openssl", "s_server",
                    "-accept", ps,
                    "-cert",   (char *)tu_cert("srv.pem"),
                    "-key",    (char *)tu_cert("srv.key"),
                    "-rev",    "-naccept",
                    "1",       "-quiet",
                    NULL};
    cio_process_opts po = CIO_PROCESS_OPTS_INIT;
    po.stdout_mode = CIO_PROCESS_DEVNULL;
    po.stderr_mode = CIO_PROCESS_DEVNULL;
    cio_process *p;
    assert_int_equal(cio_create_subprocess_exec(g_loop, argv, &po, &p), 0);
    cio_tls_ctx *cctx = tu_client_ctx();
    cio_stream_reader *r = NULL;
    cio_stream_writer *w = NULL;
    int rc = -ECONNREFUSED;
    for (int i = 0; i < 500 && rc == -ECONNREFUSED; i++) {
        rc = tls_connect(port, cctx, "localhost", &r, &w);
        if (rc == -ECONNREFUSED)
            assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(cio_stream_writer_write(w, "hello s_server\n", 15), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 15);
    assert_memory_equal(line, "revres_s olleh\n", 15);
    close_pair(r, w);
    int status;
    assert_int_equal(cio_process_wait(p, &status), 0);
    cio_process_free(p);
    cio_tls_ctx_free(cctx);
    return 0;
}

TU_NET_CASE(tls_interop_client_side, interop_client_main)

/* ---- a TLS 1.2 renegotiation is refused with its own error ---- */

static int reneg_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = tu_server_ctx("srv");
    int port;
    cio_server *srv = tls_server(sctx, &port);
    seen.err = 0;
    char cmd[1024], out[4096];
    /* s_client's interactive "R" renegotiates (TLS 1.2 and below). */
    snprintf(cmd, sizeof(cmd),
             "(printf 'before\\n'; sleep 0.5; printf 'R\\n'; sleep 1) | "
             "timeout 20 openssl s_client -connect 127.0.0.1:%d -tls1_2 "
             "-CAfile %s -servername localhost 2>&1",
             port, tu_cert("ca.pem"));
    run_shell(cmd, out, sizeof(out));
    assert_non_null(strstr(out, "before\n"));
    assert_non_null(strstr(out, "RENEGOTIATING"));
    WAIT_FOR(seen.err != 0);
    assert_int_equal(seen.err, CIO_ETLS_RENEGOTIATION);
    good_client(port); /* the server goes on */
    cio_tls_ctx_free(sctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_renegotiation_refused, reneg_main)

/* ---- kernel TLS: used when the kernel has it, reported when not ---- */

static int ktls_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int avail = cio_tls_ktls_available();
    char why[256];
    cio_tls_last_error(why, sizeof(why));
    print_message("kernel TLS: %s\n", avail == 1 ? "available" : why);
    cio_tls_ctx *sctx = tu_server_ctx("srv"), *cctx = tu_client_ctx();
    assert_int_equal(
        cio_tls_ctx_set_ciphers(sctx, NULL, "TLS_AES_128_GCM_SHA256"), 0);
    assert_int_equal(cio_tls_ctx_set_ktls(sctx, 1), avail == 1 ? 0 : avail);
    assert_int_equal(cio_tls_ctx_set_ktls(cctx, 1), avail == 1 ? 0 : avail);
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    /* Either way the connection works (OpenSSL's socket BIO under it). */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "ktls?\n");
    int k = cio_tls_ktls(cio_stream_writer_tls(w));
    print_message("this connection: kernel TLS send %d, receive %d\n", k & 1,
                  (k >> 1) & 1);
    if (avail != 1)
        assert_int_equal(k, 0);
    close_pair(r, w);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    server_done(srv);
    return 0;
}

TU_NET_CASE(tls_ktls_option, ktls_main)

/* ---- context errors ---- */

static void ctx_errors(void **state)
{
    (void)state;
    cio_tls_ctx *c;
    assert_int_equal(cio_tls_ctx_new(&c, 7), -EINVAL);
    assert_int_equal(cio_tls_ctx_new(&c, CIO_TLS_SERVER), 0);
    assert_int_equal(
        cio_tls_ctx_use_cert_file(c, "/nonexistent.pem", "/nonexistent.key"),
        CIO_ETLS_CONFIG);
    char buf[256];
    assert_true(cio_tls_last_error(buf, sizeof(buf)) > 0);
    assert_int_equal(cio_tls_ctx_use_cert_mem(c, "junk", 4, "junk", 4),
                     CIO_ETLS_CONFIG);
    assert_int_equal(cio_tls_ctx_set_ciphers(c, "NO-SUCH-CIPHER", NULL),
                     CIO_ETLS_CONFIG);
    assert_int_equal(cio_tls_ctx_set_min_version(c, 0x0301), -EINVAL);
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(c, -1), -EINVAL);
    /* From memory. */
    assert_non_null(tu_certs());
    char *pem = NULL, *key = NULL;
    size_t pl = 0, kl = 0;
    FILE *f = fopen(tu_cert("srv.pem"), "r");
    assert_true(getdelim(&pem, &pl, 0, f) > 0);
    fclose(f);
    f = fopen(tu_cert("srv.key"), "r");
    assert_true(getdelim(&key, &kl, 0, f) > 0);
    fclose(f);
    assert_int_equal(
        cio_tls_ctx_use_cert_mem(c, pem, strlen(pem), key, strlen(key)), 0);
    free(pem);
    free(key);
    cio_tls_ctx_free(c);
    cio_tls_ctx_free(NULL);
    int k = cio_tls_ktls_available();
    assert_true(k == 1 || k == CIO_ETLS_NOKTLS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(tls_stream_echo),
    cmocka_unit_test(tls_verify_self_signed),
    cmocka_unit_test(tls_verify_expired),
    cmocka_unit_test(tls_verify_wrong_host),
    cmocka_unit_test(tls_plain_client_on_tls_port),
    cmocka_unit_test(tls_truncated_handshake),
    cmocka_unit_test(tls_handshake_timeout),
    cmocka_unit_test(tls_handshake_timeout_protocol),
    cmocka_unit_test(tls_cancel_handshake_and_read),
    cmocka_unit_test(tls_session_resumption),
    cmocka_unit_test(tls_alpn),
    cmocka_unit_test(tls_sni),
    cmocka_unit_test(tls_mutual),
    cmocka_unit_test(tls_close_notify_vs_unclean),
    cmocka_unit_test(tls_protocol_echo),
    cmocka_unit_test(tls_start_tls),
    cmocka_unit_test(tls_interop_server_side),
    cmocka_unit_test(tls_interop_client_side),
    cmocka_unit_test(tls_renegotiation_refused),
    cmocka_unit_test(tls_ktls_option),
    cmocka_unit_test(ctx_errors),
};

CIO_TEST_MAIN(tests)
