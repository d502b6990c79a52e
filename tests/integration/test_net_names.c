/*
 * test_net_names.c - addresses seen through streams and protocols: a
 * server (cio_start_server / cio_create_server) and a client
 * (cio_open_connection / cio_create_connection) on 127.0.0.1, on
 * "localhost" (a name, resolved on the executor, which may give one
 * listener per family) and on ::1 (skipped where the machine has no IPv6
 * loopback). Each exchange echoes a line, and the peer and socket names
 * of both ends (cio_stream_writer_peername/_sockname,
 * cio_transport_peername/_sockname) must be each other's mirror and the
 * listener's real address.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

#define V(x) ((void *)(intptr_t)(x))
#define I(p) ((int)(intptr_t)(p))

enum { MAXC = 4 };

/* What the server side saw, per connection in accept order. */
static cio_sockaddr g_srv_peer[MAXC], g_srv_sock[MAXC];
static int g_nsrv;

static void fmt(const cio_sockaddr *a, char *buf)
{
    assert_true(cio_sockaddr_format(a, buf, CIO_ADDRSTRLEN) > 0);
}

/* The two addresses are the same (family, host and port). */
static void assert_same(const cio_sockaddr *a, const cio_sockaddr *b)
{
    char x[CIO_ADDRSTRLEN], y[CIO_ADDRSTRLEN];
    fmt(a, x);
    fmt(b, y);
    assert_string_equal(x, y);
}

static int is_loopback(const cio_sockaddr *a)
{
    char x[CIO_ADDRSTRLEN];
    fmt(a, x);
    return strncmp(x, "127.", 4) == 0 || strncmp(x, "[::1]:", 6) == 0;
}

/* ---- the streams side ---- */

static int echo_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    assert_true(g_nsrv < MAXC);
    assert_int_equal(cio_stream_writer_peername(w, &g_srv_peer[g_nsrv]), 0);
    assert_int_equal(cio_stream_writer_sockname(w, &g_srv_sock[g_nsrv]), 0);
    g_nsrv++;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        cio_stream_writer_write(w, line, (size_t)n);
        if (cio_stream_writer_drain(w) < 0)
            break;
    }
    return 0;
}

/* One client to host:port; its names against the server's. */
static void streams_client(const char *host, int port,
                           const cio_sockaddr *listen_addr)
{
    cio_stream_reader *r;
    cio_stream_writer *w;
    int k = g_nsrv;
    assert_int_equal(cio_open_connection(host, port, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_writer_write(w, "ping\n", 5), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 5);
    assert_memory_equal(line, "ping\n", 5);
    assert_int_equal(g_nsrv, k + 1);
    cio_sockaddr peer, sock;
    assert_int_equal(cio_stream_writer_peername(w, &peer), 0);
    assert_int_equal(cio_stream_writer_sockname(w, &sock), 0);
    assert_same(&peer, listen_addr);    /* the listener itself */
    assert_same(&peer, &g_srv_sock[k]); /* = the server end's own name */
    assert_same(&sock, &g_srv_peer[k]); /* the server saw this client */
    assert_int_equal(cio_sockaddr_family(&sock),
                     cio_sockaddr_family(listen_addr));
    assert_true(cio_sockaddr_port(&sock) > 0);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
}

/* ---- the protocol side ---- */

static int srv_made(cio_transport *t, void *ctx)
{
    (void)ctx;
    assert_true(g_nsrv < MAXC);
    assert_int_equal(cio_transport_peername(t, &g_srv_peer[g_nsrv]), 0);
    assert_int_equal(cio_transport_sockname(t, &g_srv_sock[g_nsrv]), 0);
    g_nsrv++;
    return 0;
}

static int srv_data(cio_transport *t, const void *data, size_t len, void *ctx)
{
    (void)ctx;
    return cio_transport_write(t, data, len);
}

static void no_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    (void)ctx;
}

static const cio_protocol SRV = {
    .connection_made = srv_made,
    .data_received = srv_data,
    .connection_lost = no_lost,
};

static int srv_factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    *proto = &SRV;
    *ctx = NULL;
    return 0;
}

static char g_cli_buf[16];
static size_t g_cli_len;
static int g_cli_lost;

static int cli_made(cio_transport *t, void *ctx)
{
    (void)t;
    (void)ctx;
    return 0;
}

static int cli_data(cio_transport *t, const void *data, size_t len, void *ctx)
{
    (void)t;
    (void)ctx;
    assert_true(g_cli_len + len <= sizeof(g_cli_buf));
    memcpy(g_cli_buf + g_cli_len, data, len);
    g_cli_len += len;
    return 0;
}

static void cli_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)ctx;
    assert_int_equal(err, 0);
    g_cli_lost = 1;
}

static const cio_protocol CLI = {
    .connection_made = cli_made,
    .data_received = cli_data,
    .connection_lost = cli_lost,
};

static int cli_factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    *proto = &CLI;
    *ctx = NULL;
    return 0;
}

static void protocol_client(const char *host, int port,
                            const cio_sockaddr *listen_addr)
{
    g_cli_len = 0;
    g_cli_lost = 0;
    int k = g_nsrv;
    cio_transport *t;
    assert_int_equal(cio_create_connection(cli_factory, NULL, host, port,
                                           NULL, &t),
                     0);
    assert_int_equal(cio_transport_write(t, "ping\n", 5), 0);
    WAIT_FOR(g_cli_len == 5);
    assert_memory_equal(g_cli_buf, "ping\n", 5);
    assert_int_equal(g_nsrv, k + 1);
    cio_sockaddr peer, sock;
    assert_int_equal(cio_transport_peername(t, &peer), 0);
    assert_int_equal(cio_transport_sockname(t, &sock), 0);
    assert_same(&peer, listen_addr);
    assert_same(&peer, &g_srv_sock[k]);
    assert_same(&sock, &g_srv_peer[k]);
    assert_int_equal(cio_sockaddr_family(&sock),
                     cio_sockaddr_family(listen_addr));
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(g_cli_lost);
}

/* ---- the cases ---- */

typedef struct names_case {
    int protocol;
    const char *host;
    int family; /* every listener's, or AF_UNSPEC for any loopback */
} names_case;

static int names_main(void *arg, void **result)
{
    (void)result;
    const names_case *c = arg;
    g_nsrv = 0;
    cio_server *srv;
    if (c->protocol)
        assert_int_equal(cio_create_server(g_loop, srv_factory, NULL, c->host,
                                           0, NULL, &srv),
                         0);
    else
        assert_int_equal(cio_start_server(g_loop, echo_handler, NULL, c->host,
                                          0, NULL, &srv),
                         0);
    int n = cio_server_sockets(srv, NULL, 0);
    assert_true(n >= 1 && n <= MAXC);
    if (c->family != AF_UNSPEC)
        assert_int_equal(n, 1);
    /* Port 0 gives each listener its own port: reach each through it. */
    for (int i = 0; i < n; i++) {
        cio_sockaddr la;
        assert_int_equal(cio_server_sockname(srv, (size_t)i, &la), 0);
        assert_true(is_loopback(&la));
        if (c->family != AF_UNSPEC)
            assert_int_equal(cio_sockaddr_family(&la), c->family);
        int port = cio_sockaddr_port(&la);
        assert_true(port > 0);
        if (c->protocol)
            protocol_client(c->host, port, &la);
        else
            streams_client(c->host, port, &la);
    }
    assert_int_equal(g_nsrv, n);
    assert_int_equal(cio_server_close(srv), 0);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

static int have_ipv6(void)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in6 a = {.sin6_family = AF_INET6};
    a.sin6_addr = in6addr_loopback;
    int ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

static void run_case(int protocol, const char *host, int family)
{
    if (family == AF_INET6 && !have_ipv6())
        skip();
    names_case c = {protocol, host, family};
    assert_int_equal(run_main(names_main, &c), 0);
}

static void names_streams_ipv4(void **state)
{
    (void)state;
    run_case(0, "127.0.0.1", AF_INET);
}

static void names_protocol_ipv4(void **state)
{
    (void)state;
    run_case(1, "127.0.0.1", AF_INET);
}

static void names_streams_ipv6(void **state)
{
    (void)state;
    run_case(0, "::1", AF_INET6);
}

static void names_protocol_ipv6(void **state)
{
    (void)state;
    run_case(1, "::1", AF_INET6);
}

static void names_streams_localhost(void **state)
{
    (void)state;
    run_case(0, "localhost", AF_UNSPEC);
}

static void names_protocol_localhost(void **state)
{
    (void)state;
    run_case(1, "localhost", AF_UNSPEC);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(names_streams_ipv4, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(names_protocol_ipv4, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(names_streams_ipv6, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(names_protocol_ipv6, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(names_streams_localhost, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(names_protocol_localhost, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
