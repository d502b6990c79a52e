/*
 * test_server.c - the Server object: start_serving, sockets, close,
 * close_clients/abort_clients, wait_closed, serve_forever cancelled, a
 * server on an existing socket (sock=), two loops in two threads
 * serving one port with SO_REUSEPORT (50 clients, every byte echoed),
 * and the reuse_address, reuse_port and backlog options as the kernel
 * sees them.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

static int g_handled, g_eofs;

static int line_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    g_handled++;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        cio_stream_writer_write(w, line, (size_t)n);
        if (cio_stream_writer_drain(w) < 0)
            break;
    }
    if (n == 0)
        g_eofs++;
    return 0;
}

static int serving_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    o.no_start = 1;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, line_handler, NULL, "127.0.0.1",
                                      0, &o, &srv),
                     0);
    assert_int_equal(cio_server_is_serving(srv), 0);
    int fds[4];
    assert_int_equal(cio_server_sockets(srv, fds, 4), 1);
    int port = cio_server_port(srv);
    cio_stream_reader *r;
    cio_stream_writer *w;
    /* Bound, not listening: refused. */
    assert_int_equal(cio_open_connection("127.0.0.1", port, NULL, &r, &w),
                     -ECONNREFUSED);
    assert_int_equal(cio_server_start_serving(srv), 0);
    assert_int_equal(cio_server_is_serving(srv), 1);
    assert_int_equal(cio_open_connection("127.0.0.1", port, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_writer_write(w, "ping\n", 5), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 5);
    assert_int_equal(cio_server_connections(srv), 1);
    /* close stops listening; the connection goes on. */
    assert_int_equal(cio_server_close(srv), 0);
    assert_int_equal(cio_server_sockets(srv, fds, 4), 0);
    assert_int_equal(cio_server_sockname(srv, 0, &(cio_sockaddr){0}), -ENOENT);
    assert_int_equal(cio_stream_writer_write(w, "pong\n", 5), 0);
    assert_int_equal(cio_stream_reader_readline(r, &line), 5);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_connections(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(server_start_serving_close_wait_closed, serving_main)

static int clients_main(void *arg, void **result)
{
    (void)result;
    int abort = (int)(intptr_t)arg;
    g_handled = g_eofs = 0;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, line_handler, NULL, "127.0.0.1",
                                      0, NULL, &srv),
                     0);
    cio_stream_reader *r[3];
    cio_stream_writer *w[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                             NULL, &r[i], &w[i]),
                         0);
    WAIT_FOR(g_handled == 3);
    assert_int_equal(cio_server_close(srv), 0);
    int n = abort ? cio_server_abort_clients(srv)
                  : cio_server_close_clients(srv);
    assert_int_equal(n, 3);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(g_eofs, 3); /* the handlers saw EOF */
    char buf[8];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cio_stream_reader_read(r[i], buf, sizeof(buf)), 0);
        cio_stream_reader_free(r[i]);
        cio_stream_writer_free(w[i]);
    }
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

static void server_close_clients(void **state)
{
    (void)state;
    assert_int_equal(run_main(clients_main, (void *)0), 0);
}

static void server_abort_clients(void **state)
{
    (void)state;
    assert_int_equal(run_main(clients_main, (void *)1), 0);
}

static int forever(void *arg, void **result)
{
    (void)result;
    return cio_server_serve_forever(arg);
}

static int forever_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    o.no_start = 1;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, line_handler, NULL, "127.0.0.1",
                                      0, &o, &srv),
                     0);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(forever, srv), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(cio_server_is_serving(srv), 1);
    assert_int_equal(cio_server_free(srv), -EBUSY);
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    assert_int_equal(cio_server_is_serving(srv), 0);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    /* A second serve_forever after close returns at once. */
    assert_int_equal(cio_server_serve_forever(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(server_serve_forever_cancelled, forever_main)

static int sock_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    struct sockaddr_in a;
    int fd = bind_loopback(&a);
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    o.use_sock = 1;
    o.sock = fd;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, line_handler, NULL, NULL, 0, &o,
                                      &srv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     0);
    assert_int_equal(cio_stream_writer_write(w, "via sock=\n", 10), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 10);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    assert_int_equal(cio_server_free(srv), 0); /* closes fd */
    assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    return 0;
}

TU_NET_CASE(server_on_existing_socket, sock_main)

/* ---- SO_REUSEPORT: two loops, two threads, one port ---- */

static atomic_int g_port;
static atomic_int g_ready;
static atomic_int g_conns[2];
static cio_loop *g_srv_loops[2];

static int count_handler(cio_stream_reader *r, cio_stream_writer *w,
                         void *arg)
{
    atomic_fetch_add(&g_conns[(int)(intptr_t)arg], 1);
    char buf[8192];
    ssize_t n;
    while ((n = cio_stream_reader_read(r, buf, sizeof(buf))) > 0) {
        if (cio_stream_writer_write(w, buf, (size_t)n) < 0 ||
            cio_stream_writer_drain(w) < 0)
            break;
    }
    return 0;
}

static void *server_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    cio_loop *loop;
    if (cio_loop_new(&loop, NULL) < 0)
        abort();
    g_srv_loops[id] = loop;
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    o.reuse_port = 1;
    /* The first thread picks the port, the second joins it. */
    while (id == 1 && atomic_load(&g_port) == 0)
        usleep(1000);
    cio_server *srv;
    if (cio_start_server(loop, count_handler, arg, "127.0.0.1",
                         atomic_load(&g_port), &o, &srv) < 0)
        abort();
    if (id == 0)
        atomic_store(&g_port, cio_server_port(srv));
    atomic_fetch_add(&g_ready, 1);
    cio_loop_run_forever(loop);
    cio_server_close(srv);
    cio_server_abort_clients(srv);
    cio_server_free(srv);
    /* Let the handlers see their end. */
    for (int i = 0; i < 100; i++) {
        cio_loop_stop(loop);
        cio_loop_run_forever(loop);
    }
    if (cio_loop_free(loop) != 0)
        abort();
    return NULL;
}

typedef struct echo_client {
    int id;
    int ok;
} echo_client;

static int client_task(void *arg, void **result)
{
    (void)result;
    echo_client *c = arg;
    cio_stream_reader *r;
    cio_stream_writer *w;
    int rc = cio_open_connection("127.0.0.1", atomic_load(&g_port), NULL, &r,
                                 &w);
    if (rc < 0)
        return rc;
    static char out[50][4096];
    char in[4096];
    for (size_t i = 0; i < sizeof(in); i++)
        out[c->id][i] = (char)(c->id * 31 + i * 7);
    for (int round = 0; round < 4 && rc == 0; round++) {
        rc = cio_stream_writer_write(w, out[c->id], sizeof(in));
        if (rc == 0)
            rc = cio_stream_writer_drain(w);
        size_t got;
        if (rc == 0)
            rc = cio_stream_reader_readexactly(r, in, sizeof(in), &got);
        if (rc == 0 && memcmp(in, out[c->id], sizeof(in)) != 0)
            rc = -EIO;
    }
    c->ok = rc == 0;
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    return rc;
}

static int reuseport_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static echo_client cl[50];
    cio_awaitable items[50];
    for (int i = 0; i < 50; i++) {
        cl[i] = (echo_client){i, 0};
        items[i] = CIO_AW_CORO(client_task, &cl[i]);
    }
    cio_future *g;
    assert_int_equal(cio_gather(g_loop, items, 50, 0, &g), 0);
    assert_int_equal(cio_await(g, NULL), 0);
    cio_future_release(g);
    for (int i = 0; i < 50; i++)
        assert_true(cl[i].ok);
    return 0;
}

static void server_reuseport_two_loops_two_threads(void **state)
{
    (void)state;
    atomic_store(&g_port, 0);
    atomic_store(&g_ready, 0);
    atomic_store(&g_conns[0], 0);
    atomic_store(&g_conns[1], 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, server_thread,
                                        (void *)(intptr_t)i),
                         0);
    while (atomic_load(&g_ready) < 2)
        usleep(1000);
    assert_int_equal(run_main(reuseport_main, NULL), 0);
    for (int i = 0; i < 2; i++)
        cio_loop_stop_threadsafe(g_srv_loops[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(atomic_load(&g_conns[0]) + atomic_load(&g_conns[1]), 50);
    /* The kernel spread them: 2^-49 odds that one loop got all 50. */
    assert_true(atomic_load(&g_conns[0]) > 0);
    assert_true(atomic_load(&g_conns[1]) > 0);
}

/* ---- options: what the listening socket really got ---- */

static int sockopt(int fd, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);
    assert_int_equal(getsockopt(fd, SOL_SOCKET, name, &v, &len), 0);
    return v;
}

/* A server with the given options; its one listening descriptor. */
static int opts_server(const cio_server_opts *o, cio_server **srv)
{
    assert_int_equal(cio_start_server(g_loop, line_handler, NULL, "127.0.0.1",
                                      0, o, srv),
                     0);
    int fd = -1;
    assert_int_equal(cio_server_sockets(*srv, &fd, 1), 1);
    return fd;
}

static int reuse_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    /* Default: SO_REUSEADDR on (asyncio on Unix), SO_REUSEPORT off. */
    int fd = opts_server(NULL, &srv);
    assert_int_not_equal(sockopt(fd, SO_REUSEADDR), 0);
    assert_int_equal(sockopt(fd, SO_REUSEPORT), 0);
    assert_int_equal(cio_server_free(srv), 0);
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    o.reuse_address = 1;
    fd = opts_server(&o, &srv);
    assert_int_not_equal(sockopt(fd, SO_REUSEADDR), 0);
    assert_int_equal(cio_server_free(srv), 0);
    o.reuse_address = -1;
    o.reuse_port = 1;
    fd = opts_server(&o, &srv);
    assert_int_equal(sockopt(fd, SO_REUSEADDR), 0);
    assert_int_not_equal(sockopt(fd, SO_REUSEPORT), 0);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(server_reuse_address_option, reuse_main)

enum { BL_CLIENTS = 6 };

/* Connects BL_CLIENTS non-blocking clients to srv while the loop does not
 * run (so nothing is accepted) and counts those the kernel let through
 * its accept queue within 200 ms: a full queue drops the SYN, leaving
 * the client waiting to retransmit. */
static int backlog_admitted(cio_server *srv, int *cfd)
{
    cio_sockaddr a;
    assert_int_equal(cio_server_sockname(srv, 0, &a), 0);
    for (int i = 0; i < BL_CLIENTS; i++) {
        cfd[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0);
        assert_true(cfd[i] >= 0);
        int r = connect(cfd[i], (struct sockaddr *)&a.ss, a.len);
        assert_true(r == 0 || errno == EINPROGRESS);
    }
    usleep(200 * 1000); /* blocks the loop on purpose */
    int n = 0;
    for (int i = 0; i < BL_CLIENTS; i++) {
        struct pollfd p = {.fd = cfd[i], .events = POLLOUT};
        if (poll(&p, 1, 0) == 1 && (p.revents & POLLOUT) &&
            !(p.revents & (POLLERR | POLLHUP)))
            n++;
    }
    return n;
}

static int refuse_factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    (void)proto;
    (void)ctx;
    return -ECONNREFUSED;
}

static int backlog_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    cio_server *srv = (cio_server *)1;
    o.backlog = -1;
    assert_int_equal(cio_start_server(g_loop, line_handler, NULL, "127.0.0.1",
                                      0, &o, &srv),
                     -EINVAL);
    assert_null(srv);
    assert_int_equal(cio_create_server(g_loop, refuse_factory, NULL,
                                       "127.0.0.1", 0, &o, &srv),
                     -EINVAL);
    /* Linux queues backlog + 1 established connections: 2 of 6 get in
     * with backlog 1; the default (100) takes all of them. */
    int cfd[BL_CLIENTS];
    for (int pass = 0; pass < 2; pass++) {
        o.backlog = pass == 0 ? 1 : 0;
        opts_server(&o, &srv);
        int n = backlog_admitted(srv, cfd);
        fprintf(stderr, "backlog %d: %d of %d clients queued\n", o.backlog, n,
                BL_CLIENTS);
        if (pass == 0)
            assert_true(n >= 1 && n < BL_CLIENTS);
        else
            assert_int_equal(n, BL_CLIENTS);
        for (int i = 0; i < BL_CLIENTS; i++)
            close(cfd[i]);
        assert_int_equal(cio_server_close(srv), 0);
        assert_int_equal(cio_server_abort_clients(srv) >= 0, 1);
        assert_int_equal(cio_server_wait_closed(srv), 0);
        assert_int_equal(cio_server_free(srv), 0);
    }
    return 0;
}

TU_NET_CASE(server_backlog_option, backlog_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(server_start_serving_close_wait_closed, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_close_clients, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_abort_clients, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_serve_forever_cancelled, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_on_existing_socket, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_reuseport_two_loops_two_threads, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_reuse_address_option, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_backlog_option, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
