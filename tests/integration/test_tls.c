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

/* ---- contexts ---- */

static cio_tls_ctx *server_ctx(const char *cert)
{
    char pem[64], key[64];
    snprintf(pem, sizeof(pem), "%s.pem", cert);
    snprintf(key, sizeof(key), "%s.key", cert);
    cio_tls_ctx *c;
    assert_non_null(tu_certs());
    assert_int_equal(cio_tls_ctx_new(&c, CIO_TLS_SERVER), 0);
    assert_int_equal(cio_tls_ctx_use_cert_file(c, tu_cert(pem), tu_cert(key)),
                     0);
    return c;
}

static cio_tls_ctx *client_ctx(void)
{
    cio_tls_ctx *c;
    assert_non_null(tu_certs());
    assert_int_equal(cio_tls_ctx_new(&c, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(c, tu_cert("ca.pem"), NULL), 0);
    return c;
}

/* ---- the TLS echo server: lines back; "quit" closes, "abort" ends the
 * TCP connection without close_notify ---- */

static struct {
    char alpn[32];
    char sni[64];
    char peer[128];
    int handled;
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
    while ((n = cio_stream_readline(r, &line)) > 0) {
        if (n == 5 && !memcmp(line, "quit\n", 5))
            break;
        if (n == 6 && !memcmp(line, "abort\n", 6)) {
            shutdown(cio_stream_writer_fileno(w), SHUT_RDWR);
            break;
        }
        int rc = cio_stream_write(w, line, (size_t)n);
        if (rc < 0)
            return 0;
    }
    return 0;
}

static cio_server *tls_server(cio_tls_ctx *sctx, int *port)
{
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, echo_handler, NULL, "127.0.0.1",
                                      0, &so, &srv),
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
    assert_int_equal(cio_stream_write(w, msg, n), 0);
    const char *line;
    assert_int_equal(cio_stream_readline(r, &line), (ssize_t)n);
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
    cio_tls_ctx *sctx = server_ctx("srv"), *cctx = client_ctx();
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
    assert_int_equal(cio_stream_write(w, big, sizeof(big)), 0);
    static char back[sizeof(big)];
    size_t got;
    assert_int_equal(cio_stream_readexactly(r, back, sizeof(back), &got), 0);
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
    cio_tls_ctx *sctx = server_ctx(cert), *cctx = client_ctx();
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
    cio_tls_ctx *cctx = client_ctx();
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
    cio_tls_ctx *sctx = server_ctx("srv");
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
    if (cio_stream_read(r, buf, sizeof(buf)) > 0)
        cio_stream_write(w, "\x16\x03\x03\x00\x50\x02\x00", 7);
    return 0;
}

static int truncated_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_tls_ctx *sctx = server_ctx("srv");
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
    cio_tls_ctx *cctx = client_ctx();
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(tls_connect(cio_server_port(plain), cctx, "localhost",
                                 &r, &w),
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

static int silent_handler(cio_stream_reader *r, cio_stream_writer *w,
                          void *arg)
{
    (void)w;
    (void)arg;
    char buf[64];
    while (cio_stream_read(r, buf, sizeof(buf)) > 0)
        ; /* reads the ClientHello, says nothing */
    return 0;
}

static int hs_timeout_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* Client side: a plain server that never answers the hello. */
    cio_server *plain;
    assert_int_equal(cio_start_server(g_loop, silent_handler, NULL,
                                      "127.0.0.1", 0, NULL, &plain),
                     0);
    int port = cio_server_port(plain);
    cio_tls_ctx *cctx = client_ctx();
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(cctx, 200 * CIO_MS),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w),
                     CIO_ETLS_TIMEOUT);
    assert_true(cio_loop_time(g_loop) - t0 >= 190 * CIO_MS);
    cio_tls_ctx_free(cctx);
    server_done(plain);

    /* Server side: a client that connects and says nothing is dropped. */
    cio_tls_ctx *sctx = server_ctx("srv");
    assert_int_equal(cio_tls_ctx_set_handshake_timeout(sctx, 200 * CIO_MS),
                     0);
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
    cx.rc = (int)cio_stream_read(cx.r, buf, sizeof(buf));
    return cx.rc;
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    /* During the handshake. */
    cio_server *plain;
    assert_int_equal(cio_start_server(g_loop, silent_handler, NULL,
                                      "127.0.0.1", 0, NULL, &plain),
                     0);
    cx.port = cio_server_port(plain);
    cio_tls_ctx *cctx = client_ctx();
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(connect_task, cctx),
                                     NULL, &t),
                     0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    assert_null(cx.r);
    server_done(plain);

    /* During a read. */
    cio_tls_ctx *sctx = server_ctx("srv");
    int port;
    cio_server *srv = tls_server(sctx, &port);
    assert_int_equal(tls_connect(port, cctx, "localhost", &cx.r, &cx.w), 0);
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(read_task, NULL), NULL,
                                     &t),
                     0);
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
    cio_tls_ctx *sctx = server_ctx("srv"), *cctx = client_ctx();
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
    cio_tls_ctx *c2 = client_ctx();
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
    cio_tls_ctx *sctx = server_ctx("srv"), *cctx = client_ctx();
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
    cio_tls_ctx *sctx = server_ctx("srv"), *cctx = client_ctx();
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
    assert_true(cio_tls_peer_subject(cio_stream_writer_tls(w), subj,
                                     sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=other.test"));
    close_pair(r, w);
    /* localhost gets the default one. */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "default\n");
    assert_true(cio_tls_peer_subject(cio_stream_writer_tls(w), subj,
                                     sizeof(subj)) > 0);
    assert_non_null(strstr(subj, "CN=localhost"));
    close_pair(r, w);
    /* The callback picks a context for a name of its own. */
    g_other = server_ctx("other");
    assert_int_equal(cio_tls_ctx_set_sni_callback(sctx, pick, NULL), 0);
    assert_int_equal(cio_tls_ctx_set_check_hostname(cctx, 0), 0);
    assert_int_equal(tls_connect(port, cctx, "cb.other.test", &r, &w), 0);
    ping(r, w, "callback\n");
    assert_true(cio_tls_peer_subject(cio_stream_writer_tls(w), subj,
                                     sizeof(subj)) > 0);
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
    cio_tls_ctx *sctx = server_ctx("srv"), *cctx = client_ctx();
    assert_int_equal(cio_tls_ctx_set_verify(sctx, CIO_TLS_VERIFY_REQUIRED),
                     0);
    assert_int_equal(cio_tls_ctx_load_verify(sctx, tu_cert("ca.pem"), NULL),
                     0);
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    /* Without a certificate: TLS 1.3 finishes the client's handshake
     * first, so the server's refusal arrives on the first read. */
    int rc = tls_connect(port, cctx, "localhost", &r, &w);
    if (rc == 0) {
        assert_int_equal(cio_stream_write(w, "x\n", 2), 0);
        const char *line;
        rc = (int)cio_stream_readline(r, &line);
        close_pair(r, w);
    }
    char buf[256];
    cio_tls_last_error(buf, sizeof(buf));
    print_message("without a client certificate: %s (%s)\n",
                  cio_strerror(rc), buf);
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
    cio_tls_ctx *sctx = server_ctx("srv"), *cctx = client_ctx();
    int port;
    cio_server *srv = tls_server(sctx, &port);
    cio_stream_reader *r;
    cio_stream_writer *w;
    char buf[16];
    /* "quit": the handler returns, the server closes with close_notify:
     * a clean end of file. */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "one\n");
    assert_int_equal(cio_stream_write(w, "quit\n", 5), 0);
    assert_int_equal(cio_stream_read(r, buf, sizeof(buf)), 0);
    close_pair(r, w);
    /* "abort": the TCP connection ends without close_notify. */
    assert_int_equal(tls_connect(port, cctx, "localhost", &r, &w), 0);
    ping(r, w, "two\n");
    assert_int_equal(cio_stream_write(w, "abort\n", 6), 0);
    assert_int_equal(cio_stream_read(r, buf, sizeof(buf)), CIO_ETLS_UNCLEAN);
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

/* ---- context errors ---- */

static void ctx_errors(void **state)
{
    (void)state;
    cio_tls_ctx *c;
    assert_int_equal(cio_tls_ctx_new(&c, 7), -EINVAL);
    assert_int_equal(cio_tls_ctx_new(&c, CIO_TLS_SERVER), 0);
    assert_int_equal(cio_tls_ctx_use_cert_file(c, "/nonexistent.pem",
                                               "/nonexistent.key"),
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
    assert_int_equal(cio_tls_ctx_use_cert_mem(c, pem, strlen(pem), key,
                                              strlen(key)),
                     0);
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
    cmocka_unit_test(tls_cancel_handshake_and_read),
    cmocka_unit_test(tls_session_resumption),
    cmocka_unit_test(tls_alpn),
    cmocka_unit_test(tls_sni),
    cmocka_unit_test(tls_mutual),
    cmocka_unit_test(tls_close_notify_vs_unclean),
    cmocka_unit_test(ctx_errors),
};

CIO_TEST_MAIN(tests)
