/*
 * test_net_faults.c - what goes wrong on real connections, loopback only:
 * a peer reset (connection_lost / reader error), EPIPE without SIGPIPE,
 * connect refused and a connect timeout from a timeout scope, half-close
 * in both directions, and a large write that goes out in many partial
 * writes to a slow reader, every byte in order.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* A blocking client socket connected to 127.0.0.1:port. */
static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(fd, (struct sockaddr *)&a, sizeof(a));
    return fd;
}

static void reset(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd); /* RST */
}

/* ---- peer reset ---- */

static int g_lost = 1, g_reader_rc = 1;

static void lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)ctx;
    g_lost = err;
}

static int noop_data(cio_transport *t, const void *d, size_t n, void *ctx)
{
    (void)t;
    (void)d;
    (void)n;
    (void)ctx;
    return 0;
}

static const cio_protocol P = {.data_received = noop_data,
                               .connection_lost = lost};

static int factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &P;
    *ctx = arg;
    return 0;
}

static int reading_handler(cio_stream_reader *r, cio_stream_writer *w,
                           void *arg)
{
    (void)w;
    (void)arg;
    char buf[64];
    ssize_t n;
    while ((n = cio_stream_reader_read(r, buf, sizeof(buf))) > 0)
        ;
    g_reader_rc = (int)n;
    return 0;
}

static int reset_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    g_lost = 1;
    g_reader_rc = 1;
    cio_server *ps, *ss;
    assert_int_equal(cio_create_server(g_loop, factory, NULL, "127.0.0.1", 0,
                                       NULL, &ps),
                     0);
    assert_int_equal(cio_start_server(g_loop, reading_handler, NULL,
                                      "127.0.0.1", 0, NULL, &ss),
                     0);
    int a = raw_connect(cio_server_port(ps));
    int b = raw_connect(cio_server_port(ss));
    WAIT_FOR(cio_server_connections(ps) == 1 &&
             cio_server_connections(ss) == 1);
    assert_int_equal(write(a, "x", 1), 1);
    assert_int_equal(write(b, "x", 1), 1);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    reset(a);
    reset(b);
    WAIT_FOR(g_lost != 1 && g_reader_rc != 1);
    assert_int_equal(g_lost, -ECONNRESET);
    assert_int_equal(g_reader_rc, -ECONNRESET);
    cio_server_free(ps);
    cio_server_free(ss);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    return 0;
}

TU_NET_CASE(fault_peer_reset, reset_main)

/* ---- EPIPE, never SIGPIPE ---- */

static int quiet_handler(cio_stream_reader *r, cio_stream_writer *w,
                         void *arg)
{
    (void)r;
    (void)w;
    (void)arg;
    return 0; /* closes at once */
}

static int epipe_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, quiet_handler, NULL,
                                      "127.0.0.1", 0, NULL, &srv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     0);
    char buf[8];
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)),
                     0); /* closed */
    static char chunk[65536];
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++) {
        rc = cio_stream_writer_write(w, chunk, sizeof(chunk));
        if (rc == 0)
            rc = cio_stream_writer_drain(w);
        if (rc == 0)
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    assert_true(rc == -EPIPE || rc == -ECONNRESET);
    assert_int_equal(cio_stream_writer_write(w, "x", 1), rc); /* sticky */
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);

    /* The same through a transport. */
    g_lost = 1;
    cio_transport *t;
    assert_int_equal(cio_create_connection(factory, NULL, "127.0.0.1",
                                           cio_server_port(srv), NULL, &t),
                     0);
    for (int i = 0; i < 100 && g_lost == 1; i++) {
        cio_transport_write(t, chunk, sizeof(chunk));
        assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    WAIT_FOR(g_lost != 1);
    assert_true(g_lost == -EPIPE || g_lost == -ECONNRESET || g_lost == 0);
    cio_server_free(srv);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    return 0;
}

TU_NET_CASE(fault_epipe_without_sigpipe, epipe_main)

/* ---- connect refused, connect timeout ---- */

static int refused_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct sockaddr_in a;
    int fd = bind_loopback(&a);
    socklen_t len = sizeof(a);
    getsockname(fd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    close(fd); /* nobody listens there now */
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", port, NULL, &r, &w),
                     -ECONNREFUSED);
    assert_null(r);
    cio_transport *t;
    assert_int_equal(
        cio_create_connection(factory, NULL, "127.0.0.1", port, NULL, &t),
        -ECONNREFUSED);
    assert_null(t);
    return 0;
}

TU_NET_CASE(fault_connect_refused, refused_main)

static int timeout_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* A listener that never accepts, backlog 0: once its queue is full
     * the kernel drops further SYNs and connect hangs. */
    struct sockaddr_in a;
    int lfd = bind_loopback(&a);
    socklen_t len = sizeof(a);
    assert_int_equal(listen(lfd, 0), 0);
    getsockname(lfd, (struct sockaddr *)&a, &len);
    int port = ntohs(a.sin_port);
    int fill[16], nfill = 0, rc = 0;
    for (int i = 0; i < 16 && rc != -ETIMEDOUT; i++) {
        cio_stream_reader *r;
        cio_stream_writer *w;
        cio_timeout to;
        assert_int_equal(cio_timeout_begin(&to, 100 * CIO_MS), 0);
        rc = cio_timeout_end(&to, cio_open_connection("127.0.0.1", port,
                                                      NULL, &r, &w));
        if (rc == 0) {
            fill[nfill++] = dup(cio_stream_writer_fileno(w));
            cio_stream_reader_free(r);
            cio_stream_writer_free(w);
        }
    }
    assert_int_equal(rc, -ETIMEDOUT);
    for (int i = 0; i < nfill; i++)
        close(fill[i]);
    close(lfd);
    return 0;
}

TU_NET_CASE(fault_connect_timeout, timeout_main)

/* ---- half-close both ways ---- */

static int half_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    int server_first = (int)(intptr_t)arg;
    char buf[64];
    if (server_first) {
        /* The server ends its side first, then still reads. */
        cio_stream_writer_write(w, "srv-done", 8);
        assert_int_equal(cio_stream_writer_write_eof(w), 0);
        size_t got;
        assert_int_equal(cio_stream_reader_readexactly(r, buf, 10, &got), 0);
        assert_memory_equal(buf, "cli-after!", 10);
        assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), 0);
        return 0;
    }
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 100, &got), CIO_EOF);
    assert_int_equal(got, 8);
    /* The client shut its side; we still answer. */
    assert_int_equal(cio_stream_writer_write(w, "answer", 6), 0);
    return 0;
}

static int half_main(void *arg, void **result)
{
    (void)result;
    int server_first = (int)(intptr_t)arg;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, half_handler, arg, "127.0.0.1",
                                      0, NULL, &srv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     0);
    char buf[64];
    size_t got;
    if (server_first) {
        assert_int_equal(cio_stream_reader_readexactly(r, buf, 100, &got),
                         CIO_EOF);
        assert_int_equal(got, 8);
        assert_int_equal(cio_stream_writer_write(w, "cli-after!", 10), 0);
        assert_int_equal(cio_stream_writer_write_eof(w), 0);
    } else {
        assert_int_equal(cio_stream_writer_write(w, "cli-done", 8), 0);
        assert_int_equal(cio_stream_writer_write_eof(w), 0);
        assert_int_equal(cio_stream_reader_readexactly(r, buf, 100, &got),
                         CIO_EOF);
        assert_int_equal(got, 6);
        assert_memory_equal(buf, "answer", 6);
    }
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    cio_server_close(srv);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    cio_server_free(srv);
    return 0;
}

static void fault_half_close_client_first(void **state)
{
    (void)state;
    assert_int_equal(run_main(half_main, (void *)0), 0);
}

static void fault_half_close_server_first(void **state)
{
    (void)state;
    assert_int_equal(run_main(half_main, (void *)1), 0);
}

/* ---- partial writes to a slow reader ---- */

/* Larger than loopback can hold (tcp_wmem plus the peer's tcp_rmem reach
 * 4 + 6 MiB by default): with 4 MiB the kernel sometimes took it all and
 * nothing was left to buffer. */
#define BIG (32u << 20)

static int slow_echo(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    char buf[1000];
    ssize_t n;
    int i = 0;
    while ((n = cio_stream_reader_read(r, buf, sizeof(buf))) > 0) {
        if (cio_stream_writer_write(w, buf, (size_t)n) < 0 ||
            cio_stream_writer_drain(w) < 0)
            return 0;
        if (++i % 512 == 0)
            cio_sleep(CIO_MS);
    }
    cio_stream_writer_write_eof(w);
    return 0;
}

static int feeder(void *arg, void **result)
{
    (void)result;
    cio_stream_writer *w = arg;
    char *big = malloc(BIG);
    for (size_t i = 0; i < BIG; i++)
        big[i] = (char)(i * 2654435761u >> 13);
    /* One write: partial sends, EAGAIN, the tail buffered. A small send
     * buffer makes sure of it: with the default autotuning (tcp_wmem up
     * to 4 MiB) a loaded machine sometimes took all of it in one send. */
    int sndbuf = 64 * 1024;
    assert_int_equal(setsockopt(cio_stream_writer_fileno(w), SOL_SOCKET,
                                SO_SNDBUF, &sndbuf, sizeof(sndbuf)),
                     0);
    assert_int_equal(cio_stream_writer_write(w, big, BIG), 0);
    assert_true(cio_stream_writer_write_buffer_size(w) > 0);
    assert_int_equal(cio_stream_writer_drain(w), 0);
    assert_int_equal(cio_stream_writer_write_eof(w), 0);
    free(big);
    return 0;
}

static int partial_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, slow_echo, NULL, "127.0.0.1", 0,
                                      NULL, &srv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     0);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(feeder, w), NULL, &t),
                     0);
    char buf[65536];
    size_t seen = 0;
    ssize_t n;
    while ((n = cio_stream_reader_read(r, buf, sizeof(buf))) > 0) {
        for (ssize_t j = 0; j < n; j++, seen++)
            if (buf[j] != (char)(seen * 2654435761u >> 13))
                fail_msg("byte %zu differs", seen);
    }
    assert_int_equal(n, 0);
    assert_int_equal(seen, BIG);
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    cio_server_close(srv);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    cio_server_free(srv);
    return 0;
}

TU_NET_CASE(fault_partial_writes_slow_reader, partial_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(fault_peer_reset, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fault_epipe_without_sigpipe, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fault_connect_refused, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fault_connect_timeout, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fault_half_close_client_first, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fault_half_close_server_first, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(fault_partial_writes_slow_reader, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
