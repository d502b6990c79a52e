/*
 * test_stream.c - asyncio streams over loopback TCP, socketpairs and
 * pipes: open_connection/start_server, every read call, the limit, line
 * iteration, write/drain/back-pressure, write_eof, close/wait_closed, and
 * cancellation at each suspension point.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* ---- an echo server: lines back, then EOF back ---- */

static int echo_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        int rc = cio_stream_writer_write(w, line, (size_t)n);
        if (rc < 0)
            return rc;
        rc = cio_stream_writer_drain(w);
        if (rc < 0)
            return rc;
    }
    if (n < 0)
        return (int)n;
    cio_stream_writer_write_eof(w);
    return 0;
}

static int echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, echo_handler, NULL, "127.0.0.1",
                                      0, NULL, &srv),
                     0);
    assert_int_equal(cio_server_is_serving(srv), 1);
    int port = cio_server_port(srv);
    assert_true(port > 0);

    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", port, NULL, &r, &w), 0);
    cio_sockaddr peer;
    assert_int_equal(cio_stream_writer_peername(w, &peer), 0);
    assert_int_equal(cio_sockaddr_port(&peer), port);
    assert_true(cio_stream_writer_fileno(w) >= 0);

    assert_int_equal(cio_stream_writer_write(w, "hello\nwor", 9), 0);
    assert_int_equal(cio_stream_writer_write(w, "ld\n", 3), 0);
    struct iovec iov[2] = {{(void *)"a b ", 4}, {(void *)"c\n", 2}};
    assert_int_equal(cio_stream_writer_writelines(w, iov, 2), 0);
    assert_int_equal(cio_stream_writer_drain(w), 0);

    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 6);
    assert_memory_equal(line, "hello\n", 6);
    char buf[16];
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 6, &got), 0);
    assert_int_equal(got, 6);
    assert_memory_equal(buf, "world\n", 6);
    const char *d;
    size_t len;
    assert_int_equal(cio_stream_reader_readuntil(r, " b", 2, &d, &len), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "a b", 3);
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, " c\n", 3);

    /* Half-close: the server echoes EOF back. */
    assert_int_equal(cio_stream_writer_can_write_eof(w), 1);
    assert_int_equal(cio_stream_writer_write_eof(w), 0);
    assert_int_equal(cio_stream_writer_write(w, "x", 1), -EPIPE);
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), 0);
    assert_int_equal(cio_stream_reader_at_eof(r), 1);

    assert_int_equal(cio_stream_writer_close(w), 0);
    assert_int_equal(cio_stream_writer_is_closing(w), 1);
    assert_int_equal(cio_stream_writer_wait_closed(w), 0);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);

    assert_int_equal(cio_server_close(srv), 0);
    assert_int_equal(cio_server_is_serving(srv), 0);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_connections(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(stream_echo_roundtrip, echo_main)

/* ---- readline/readuntil limits and EOF partials, on a socketpair ---- */

static int limit_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.limit = 16;
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], &o, &r, &w), 0);
    const char *msg = "0123456789abcdefghijXYZ\nshort\nend";
    assert_int_equal(write(sv[1], msg, strlen(msg)), (ssize_t)strlen(msg));
    shutdown(sv[1], SHUT_WR);

    const char *line;
    /* A line longer than the limit: -ENOBUFS, the line dropped. */
    assert_int_equal(cio_stream_reader_readline(r, &line), -ENOBUFS);
    assert_int_equal(cio_stream_reader_readline(r, &line), 6);
    assert_memory_equal(line, "short\n", 6);
    /* The last line lacks its newline: readuntil gives it as a partial. */
    const char *d;
    size_t len;
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &len),
                     CIO_EOF);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "end", 3);
    assert_int_equal(cio_stream_reader_readline(r, &line), 0);
    assert_int_equal(cio_stream_reader_at_eof(r), 1);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(stream_limit_and_partials, limit_main)

static int readuntil_overrun_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.limit = 8;
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], &o, &r, &w), 0);
    assert_int_equal(write(sv[1], "abcdefghijk", 11), 11);
    const char *d;
    size_t len;
    /* No separator within the limit: the bytes stay buffered. */
    assert_int_equal(cio_stream_reader_readuntil(r, "|", 1, &d, &len),
                     -ENOBUFS);
    assert_true(cio_stream_reader_buffered(r) >= 8);
    char buf[32];
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 11, &got), 0);
    assert_memory_equal(buf, "abcdefghijk", 11);
    /* readexactly at EOF hands back the partial bytes. */
    assert_int_equal(write(sv[1], "xyz", 3), 3);
    close(sv[1]);
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 10, &got), CIO_EOF);
    assert_int_equal(got, 3);
    assert_memory_equal(buf, "xyz", 3);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    return 0;
}

TU_NET_CASE(stream_readuntil_overrun_readexactly_eof, readuntil_overrun_main)

/* ---- pipes: the subprocess building block ---- */

static int pipe_writer(void *arg, void **result)
{
    (void)result;
    cio_stream_writer *w = arg;
    char line[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(line, sizeof(line), "line %d\n", i);
        assert_int_equal(cio_stream_writer_write(w, line, (size_t)n), 0);
        assert_int_equal(cio_stream_writer_drain(w), 0);
        if (i % 100 == 0)
            cio_sleep(0);
    }
    assert_int_equal(cio_stream_writer_can_write_eof(w), 1);
    assert_int_equal(cio_stream_writer_write_eof(w), 0);
    assert_int_equal(cio_stream_writer_wait_closed(w), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    return 0;
}

static int pipe_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_reader_from_fd(g_loop, p[0], NULL, &r), 0);
    assert_int_equal(cio_stream_writer_from_fd(g_loop, p[1], NULL, &w), 0);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(pipe_writer, w), NULL,
                                     &t),
                     0);
    /* async for line in reader */
    const char *line;
    ssize_t n;
    int i = 0;
    char want[32];
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        int m = snprintf(want, sizeof(want), "line %d\n", i++);
        assert_int_equal(n, m);
        assert_memory_equal(line, want, (size_t)m);
    }
    assert_int_equal(n, 0);
    assert_int_equal(i, 1000);
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    assert_int_equal(cio_stream_reader_free(r), 0);
    return 0;
}

TU_NET_CASE(stream_pipe_lines, pipe_main)

static int pipe_epipe_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    cio_stream_writer *w;
    assert_int_equal(cio_stream_writer_from_fd(g_loop, p[1], NULL, &w), 0);
    close(p[0]);
    /* No SIGPIPE kills us: the write reports -EPIPE, sticky. */
    assert_int_equal(cio_stream_writer_write(w, "x", 1), -EPIPE);
    assert_int_equal(cio_stream_writer_write(w, "x", 1), -EPIPE);
    assert_int_equal(cio_stream_writer_drain(w), -EPIPE);
    assert_int_equal(cio_stream_writer_wait_closed(w), -EPIPE);
    assert_int_equal(cio_stream_writer_free(w), 0);
    return 0;
}

TU_NET_CASE(stream_pipe_epipe_no_sigpipe, pipe_epipe_main)

/* ---- back-pressure: a peer that does not read ---- */

static int drain_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
    assert_int_equal(cio_stream_writer_set_write_buffer_limits(w, 8192, 1024),
                     0);
    static char chunk[4096];
    memset(chunk, 'z', sizeof(chunk));
    size_t total = 0;
    /* Nobody reads sv[1]: the buffer grows past high, drain must block.
     * Bound the wait with a timeout scope. */
    for (int i = 0; i < 8; i++) {
        assert_int_equal(cio_stream_writer_write(w, chunk, sizeof(chunk)), 0);
        total += sizeof(chunk);
    }
    assert_true(cio_stream_writer_write_buffer_size(w) > 8192);
    cio_timeout to;
    assert_int_equal(cio_timeout_begin(&to, 50 * CIO_MS), 0);
    int rc = cio_stream_writer_drain(w);
    assert_int_equal(cio_timeout_end(&to, rc), -ETIMEDOUT);
    /* Memory stays bounded by what was written. */
    assert_true((size_t)cio_stream_writer_write_buffer_size(w) <= total);
    /* Now read everything on the other side while draining. */
    size_t seen = 0;
    char buf[65536];
    while (seen < total) {
        ssize_t k = read(sv[1], buf, sizeof(buf));
        if (k > 0) {
            for (ssize_t j = 0; j < k; j++)
                assert_int_equal(buf[j], 'z');
            seen += (size_t)k;
        } else {
            assert_int_equal(errno, EAGAIN);
            cio_sleep(CIO_MS);
        }
    }
    assert_int_equal(cio_stream_writer_drain(w), 0);
    assert_int_equal(cio_stream_writer_write_buffer_size(w), 0);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(stream_drain_backpressure, drain_main)

/* ---- cancellation at each suspension point ---- */

typedef struct cancel_arg {
    cio_stream_reader *r;
    cio_stream_writer *w;
    int what;
} cancel_arg;

static int blocked(void *arg, void **result)
{
    (void)result;
    cancel_arg *a = arg;
    char buf[8];
    const char *line;
    switch (a->what) {
    case 0:
        return (int)cio_stream_reader_read(a->r, buf, sizeof(buf));
    case 1:
        return (int)cio_stream_reader_readline(a->r, &line);
    case 2:
        return cio_stream_writer_drain(a->w);
    default:
        return cio_stream_writer_wait_closed(a->w);
    }
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int what = 0; what < 4; what++) {
        int sv[2];
        assert_int_equal(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        int small = 4096;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        cancel_arg a = {NULL, NULL, what};
        assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &a.r, &a.w),
                         0);
        if (what == 2) {
            assert_int_equal(cio_stream_writer_set_write_buffer_limits(
                                 a.w, 1024, CIO_LIMIT_DEFAULT),
                             0);
            static char big[256 * 1024];
            assert_int_equal(cio_stream_writer_write(a.w, big, sizeof(big)), 0);
        }
        cio_task *t;
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(blocked, &a), NULL, &t), 0);
        assert_int_equal(cio_sleep(CIO_MS), 0);
        assert_int_equal(cio_future_done(t), 0);
        cio_task_cancel(t, NULL);
        assert_int_equal(cio_await(t, NULL), -ECANCELED);
        cio_future_release(t);
        /* The stream still works after the cancellation. */
        if (what <= 1) {
            assert_int_equal(write(sv[1], "ok\n", 3), 3);
            const char *line;
            assert_int_equal(cio_stream_reader_readline(a.r, &line), 3);
        }
        assert_int_equal(cio_stream_reader_free(a.r), 0);
        assert_int_equal(cio_stream_writer_free(a.w), 0);
        close(sv[1]);
        if (what == 2)
            assert_int_equal(cio_sleep(CIO_MS), 0); /* the close lands */
    }
    return 0;
}

TU_NET_CASE(stream_cancel_at_suspension_points, cancel_main)

/* ---- misuse ---- */

static int misuse_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_stream_reader *r = NULL;
    cio_stream_writer *w = NULL;
    assert_int_equal(cio_open_connection("127.0.0.1", 70000, NULL, &r, &w),
                     -EINVAL);
    assert_null(r);
    assert_int_equal(cio_stream_reader_read(NULL, NULL, 0), -EINVAL);
    assert_int_equal(cio_stream_writer_write(NULL, "x", 1), -EINVAL);
    assert_int_equal(cio_stream_open_fd(g_loop, -1, NULL, &r, &w), -EINVAL);
    return 0;
}

static void stream_misuse(void **state)
{
    (void)state;
    assert_int_equal(run_main(misuse_main, NULL), 0);
    /* Outside a task. */
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("127.0.0.1", 1, NULL, &r, &w),
                     -EINVAL);
}

/* ---- the write-buffer hard cap against a peer that never reads ---- */

static void read_until(int fd, char *buf, size_t cap, size_t *seen,
                       size_t want)
{
    while (*seen < want) {
        ssize_t k = read(fd, buf + *seen, cap - *seen);
        if (k > 0)
            *seen += (size_t)k;
        else
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    assert_int_equal(*seen, want);
}

static int write_cap_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
    const size_t cap = 64 * 1024;
    assert_int_equal(cio_stream_writer_set_write_buffer_cap(w, cap), 0);
    static char chunk[8192];
    size_t total = 0;
    int i = 0, rc;
    /* A broadcaster that never drains: the cap stops the growth. */
    for (;;) {
        memset(chunk, 'a' + i % 26, sizeof(chunk));
        rc = cio_stream_writer_write(w, chunk, sizeof(chunk));
        if (rc == -ENOBUFS)
            break;
        assert_int_equal(rc, 0);
        i++;
        total += sizeof(chunk);
        assert_true(total < (8u << 20));
    }
    ssize_t buffered = cio_stream_writer_write_buffer_size(w);
    assert_true(buffered <= (ssize_t)cap);
    assert_true(buffered + (ssize_t)sizeof(chunk) > (ssize_t)cap);
    /* Refused whole, writelines too; the writer is not broken. */
    struct iovec iov[2] = {{chunk, 4096}, {chunk, 4096}};
    assert_int_equal(cio_stream_writer_writelines(w, iov, 2), -ENOBUFS);
    assert_int_equal(cio_stream_writer_write_buffer_size(w), buffered);
    assert_int_equal(cio_stream_writer_is_closing(w), 0);
    /* A write larger than the cap is refused even when nothing waits. */
    static char huge[128 * 1024];
    assert_int_equal(cio_stream_writer_write(w, huge, sizeof(huge)), -ENOBUFS);
    /* The peer reads: drain returns, the refused write goes through. */
    static char got[1 << 20];
    size_t seen = 0;
    read_until(sv[1], got, sizeof(got), &seen, total);
    assert_int_equal(cio_stream_writer_drain(w), 0);
    WAIT_FOR(cio_stream_writer_write_buffer_size(w) == 0);
    assert_int_equal(cio_stream_writer_write(w, chunk, sizeof(chunk)), 0);
    memset(chunk, 'a' + (i + 1) % 26, sizeof(chunk));
    assert_int_equal(cio_stream_writer_writelines(w, iov, 2), 0);
    read_until(sv[1], got, sizeof(got), &seen, total + 2 * sizeof(chunk));
    for (size_t j = 0; j < seen; j++)
        assert_int_equal(got[j], 'a' + (int)(j / sizeof(chunk)) % 26);
    /* Through the options as well. */
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.write_cap = 16;
    int sv2[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv2),
                     0);
    cio_stream_reader *r2;
    cio_stream_writer *w2;
    assert_int_equal(cio_stream_open_fd(g_loop, sv2[0], &o, &r2, &w2), 0);
    assert_int_equal(cio_stream_writer_write(w2, huge, 17), -ENOBUFS);
    assert_int_equal(cio_stream_writer_write(w2, "0123456789abcdef", 16), 0);
    assert_int_equal(cio_stream_writer_drain(w2), 0);
    assert_int_equal(cio_stream_writer_set_write_buffer_cap(NULL, 1), -EINVAL);
    assert_int_equal(cio_stream_reader_free(r2), 0);
    assert_int_equal(cio_stream_writer_free(w2), 0);
    close(sv2[1]);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(stream_write_buffer_cap, write_cap_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(stream_echo_roundtrip, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_limit_and_partials, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_readuntil_overrun_readexactly_eof, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_pipe_lines, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_pipe_epipe_no_sigpipe, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_drain_backpressure, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_write_buffer_cap, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_cancel_at_suspension_points, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(stream_misuse, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
