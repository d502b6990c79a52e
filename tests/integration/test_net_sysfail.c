/*
 * test_net_sysfail.c - net/'s error paths driven through the system-call
 * seam (src/core/sys.h): the Nth recv / send / accept / connect / write /
 * epoll_ctl / io_uring_submit of the loop's thread fails with a chosen
 * errno on a real loopback connection, and each call reports that error
 * for its own connection only. CTest runs every case on epoll and on
 * io_uring; where the two backends reach the kernel differently (a
 * transport on io_uring moves its bytes by completions, epoll_ctl exists
 * only on epoll), the case says which path it drives on which backend.
 */
#include <errno.h>
#include <string.h>

#include "cio_testutil_net.h"
#include "core/sys.h"

static int is_uring(void)
{
    return strcmp(cio_loop_backend_name(g_loop), "uring") == 0;
}

/* A server whose handler sends "hello" and then reads until EOF (the
 * cases that need a server fail only calls the server side never makes
 * first: connect, accept). */
static int hello_handler(cio_stream_reader *r, cio_stream_writer *w,
                         void *arg)
{
    (void)arg;
    cio_stream_writer_write(w, "hello", 5);
    char buf[256];
    while (cio_stream_reader_read(r, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

/* An echo handler. */
static int echo_handler(cio_stream_reader *r, cio_stream_writer *w,
                        void *arg)
{
    (void)arg;
    char buf[4096];
    ssize_t n;
    while ((n = cio_stream_reader_read(r, buf, sizeof(buf))) > 0)
        if (cio_stream_writer_write(w, buf, (size_t)n) < 0)
            break;
    return 0;
}

static cio_server *serve(cio_stream_handler h)
{
    cio_server *srv;
    assert_int_equal(
        cio_start_server(g_loop, h, NULL, "127.0.0.1", 0, NULL, &srv), 0);
    return srv;
}

static void unserve(cio_server *srv)
{
    cio_server_close(srv);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    cio_server_free(srv);
}

/* ---- connect ---- */

static int connect_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv = serve(hello_handler);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio__sys_fail(CIO__SYS_CONNECT, 1, ECONNREFUSED, 1), 0);
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     -ECONNREFUSED);
    assert_int_equal(cio__sys_calls(CIO__SYS_CONNECT), 1);
    /* The next connect is the kernel's: the failure was that call's. */
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     0);
    cio__sys_fail_reset();
    char buf[5];
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 5, NULL), 0);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    unserve(srv);
    return 0;
}
TU_NET_CASE(sysfail_connect_refused, connect_main)

/* A connected socket pair: sv[0] for cio, sv[1] the raw peer the test
 * drives with plain system calls (outside the seam), so an armed fault
 * can only hit the cio side. */
static void pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
                                             SOCK_CLOEXEC,
                                0, sv),
                     0);
}

/* ---- a stream's recv: an error, then EINTR (retried) ---- */

static int stream_recv_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int round = 0; round < 2; round++) {
        int sv[2];
        pair(sv);
        cio_stream_reader *r;
        cio_stream_writer *w;
        assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
        assert_int_equal(send(sv[1], "hello", 5, 0), 5);
        int err = round == 0 ? ECONNRESET : EINTR;
        assert_int_equal(cio__sys_fail(CIO__SYS_RECV, 1, err, 1), 0);
        char buf[5];
        if (err == ECONNRESET) {
            assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)),
                             -ECONNRESET);
            /* The stream stays failed: the error is not forgotten. */
            assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)),
                             -ECONNRESET);
            assert_int_equal(cio__sys_calls(CIO__SYS_RECV), 1);
        } else {
            assert_int_equal(cio_stream_reader_readexactly(r, buf, 5, NULL), 0);
            assert_memory_equal(buf, "hello", 5);
            assert_true(cio__sys_calls(CIO__SYS_RECV) >= 2);
        }
        cio__sys_fail_reset();
        cio_stream_reader_free(r);
        cio_stream_writer_free(w);
        close(sv[1]);
    }
    return 0;
}
TU_NET_CASE(sysfail_stream_recv, stream_recv_main)

/* ---- a stream's send ---- */

static int stream_send_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2], sv2[2];
    pair(sv);
    pair(sv2);
    cio_stream_reader *r, *r2;
    cio_stream_writer *w, *w2;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
    assert_int_equal(cio_stream_open_fd(g_loop, sv2[0], NULL, &r2, &w2), 0);
    assert_int_equal(cio__sys_fail(CIO__SYS_SEND, 1, EPIPE, 1), 0);
    assert_int_equal(cio_stream_writer_write(w, "ping", 4), -EPIPE);
    assert_int_equal(cio_stream_writer_write(w, "ping", 4), -EPIPE);
    assert_int_equal(cio_stream_writer_drain(w), -EPIPE);
    assert_int_equal(cio__sys_calls(CIO__SYS_SEND), 1);
    /* Another connection is unharmed. */
    assert_int_equal(cio_stream_writer_write(w2, "pong", 4), 0);
    assert_int_equal(cio_stream_writer_drain(w2), 0);
    cio__sys_fail_reset();
    char buf[4];
    assert_int_equal(recv(sv2[1], buf, 4, 0), 4);
    assert_memory_equal(buf, "pong", 4);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    cio_stream_reader_free(r2);
    cio_stream_writer_free(w2);
    close(sv[1]);
    close(sv2[1]);
    return 0;
}
TU_NET_CASE(sysfail_stream_send, stream_send_main)

/* ---- the server's accept: a transient error is skipped ---- */

static int accept_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv = serve(echo_handler);
    assert_int_equal(cio__sys_fail(CIO__SYS_ACCEPT, 1, ECONNABORTED, 1), 0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", cio_server_port(srv),
                                         NULL, &r, &w),
                     0);
    assert_int_equal(cio_stream_writer_write(w, "abc", 3), 0);
    char buf[3];
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 3, NULL), 0);
    assert_memory_equal(buf, "abc", 3);
    /* The failed accept happened, and a later one took the connection. */
    assert_true(cio__sys_calls(CIO__SYS_ACCEPT) >= 2);
    cio__sys_fail_reset();
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    unserve(srv);
    return 0;
}
TU_NET_CASE(sysfail_accept_aborted_is_skipped, accept_main)

/* ---- an awaitable socket's recv and send ---- */

static int sock_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    pair(sv);
    cio_socket *s;
    assert_int_equal(cio_socket_from_fd(&s, g_loop, sv[0]), 0);
    assert_int_equal(cio__sys_fail(CIO__SYS_SEND, 1, ENOBUFS, 1), 0);
    assert_int_equal(cio_socket_send(s, "xy", 2, 0), -ENOBUFS);
    assert_int_equal(cio_socket_send(s, "xy", 2, 0), 2);
    char buf[2];
    assert_int_equal(recv(sv[1], buf, 2, 0), 2);
    assert_memory_equal(buf, "xy", 2);
    assert_int_equal(send(sv[1], "zw", 2, 0), 2);
    assert_int_equal(cio__sys_fail(CIO__SYS_RECV, 1, ECONNRESET, 1), 0);
    assert_int_equal(cio_socket_recv(s, buf, 2, 0), -ECONNRESET);
    assert_int_equal(cio__sys_fail(CIO__SYS_RECV, 1, EINTR, 1), 0);
    assert_int_equal(cio_socket_recv(s, buf, 2, 0), 2);
    assert_memory_equal(buf, "zw", 2);
    assert_int_equal(cio__sys_calls(CIO__SYS_RECV), 2);
    cio__sys_fail_reset();
    assert_int_equal(cio_socket_close(s), 0);
    close(sv[1]);
    return 0;
}
TU_NET_CASE(sysfail_socket_recv_send, sock_main)

/* ---- a transport: its read path on each backend ---- */

static int g_lost_err = 1, g_got;

static int t_data(cio_transport *t, const void *d, size_t n, void *ctx)
{
    (void)t;
    (void)d;
    (void)ctx;
    g_got += (int)n;
    return 0;
}

static void t_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)ctx;
    g_lost_err = err;
}

static const cio_protocol TP = {.data_received = t_data,
                                 .connection_lost = t_lost};

static int t_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &TP;
    *ctx = arg;
    return 0;
}

static int g_reports, g_report_err;

static void on_exc(cio_loop *loop, const cio_exception_context *c, void *a)
{
    (void)loop;
    (void)a;
    g_reports++;
    g_report_err = c->error;
}

static int transport_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    g_lost_err = 1;
    g_got = 0;
    g_reports = 0;
    int sv[2];
    pair(sv);
    cio_transport *t;
    assert_int_equal(cio_loop_set_exception_handler(g_loop, on_exc, NULL), 0);
    if (!is_uring()) {
        /* Readiness: the transport's recv fails; the connection is lost
         * with that error and nothing was delivered. */
        assert_int_equal(cio_transport_from_fd(g_loop, sv[0], t_factory, NULL,
                                               NULL, &t),
                         0);
        assert_int_equal(send(sv[1], "hello", 5, 0), 5);
        assert_int_equal(cio__sys_fail(CIO__SYS_RECV, 1, ECONNRESET, 1), 0);
        WAIT_FOR(g_lost_err != 1);
        assert_int_equal(g_lost_err, -ECONNRESET);
        assert_int_equal(g_got, 0);
        assert_int_equal(cio__sys_calls(CIO__SYS_RECV), 1);
    } else {
        /* Completions (no recv system call): the loop's io_uring_enter
         * fails once; the failure is reported, the queued recv goes in
         * with the next one and the bytes arrive, nothing lost. */
        assert_int_equal(cio__sys_fail(CIO__SYS_URING_SUBMIT, 1, ENOMEM, 1),
                         0);
        assert_int_equal(cio_transport_from_fd(g_loop, sv[0], t_factory, NULL,
                                               NULL, &t),
                         0);
        assert_int_equal(send(sv[1], "hello", 5, 0), 5);
        WAIT_FOR(g_got == 5);
        assert_true(cio__sys_calls(CIO__SYS_URING_SUBMIT) >= 2);
        assert_int_equal(cio__sys_calls(CIO__SYS_RECV), 0);
        assert_int_equal(g_reports, 1);
        assert_int_equal(g_report_err, -ENOMEM);
        cio_transport_close(t);
        WAIT_FOR(g_lost_err != 1);
        assert_int_equal(g_lost_err, 0);
    }
    cio__sys_fail_reset();
    assert_int_equal(cio_loop_set_exception_handler(g_loop, NULL, NULL), 0);
    close(sv[1]);
    return 0;
}
TU_NET_CASE(sysfail_transport_read_path, transport_main)

/* ---- a transport on a pipe: write fails ---- */

static int pipe_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    g_lost_err = 1;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    cio_transport *t;
    assert_int_equal(
        cio_transport_from_fd(g_loop, p[1], t_factory, NULL, NULL, &t), 0);
    assert_int_equal(cio_sleep(0), 0); /* connection_made */
    assert_int_equal(cio__sys_fail(CIO__SYS_WRITE, 1, EIO, 1), 0);
    assert_int_equal(cio_transport_write(t, "data", 4), -EIO);
    WAIT_FOR(g_lost_err != 1);
    assert_int_equal(g_lost_err, -EIO);
    cio__sys_fail_reset();
    close(p[0]);
    return 0;
}
TU_NET_CASE(sysfail_pipe_transport_write, pipe_main)

/* ---- registering a descriptor ---- */

static int register_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    pair(sv);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio__sys_fail(CIO__SYS_EPOLL_CTL, 1, ENOMEM, 1), 0);
    int rc = cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w);
    if (!is_uring()) {
        /* epoll: the descriptor cannot be watched; the call fails with
         * that error, leaves fd the caller's and leaks nothing (the loop
         * ends clean). */
        assert_int_equal(rc, -ENOMEM);
        assert_int_equal(cio__sys_calls(CIO__SYS_EPOLL_CTL), 1);
        close(sv[0]);
    } else {
        /* io_uring: no layer above the backend calls epoll_ctl. */
        assert_int_equal(rc, 0);
        assert_int_equal(cio__sys_calls(CIO__SYS_EPOLL_CTL), 0);
        cio_stream_reader_free(r);
        cio_stream_writer_free(w);
    }
    cio__sys_fail_reset();
    close(sv[1]);
    return 0;
}
TU_NET_CASE(sysfail_register_fails, register_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(sysfail_connect_refused, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_stream_recv, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_stream_send, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_accept_aborted_is_skipped, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_socket_recv_send, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_transport_read_path, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_pipe_transport_write, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(sysfail_register_fails, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
