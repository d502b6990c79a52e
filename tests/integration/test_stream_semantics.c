/*
 * test_stream_semantics.c - asyncio 3.13 stream and transport behaviours
 * of issue 15, each case named after the behaviour it shows:
 * readuntil with several separators, a StreamReader without a transport
 * driven by feed_data / feed_eof / set_exception, drain reporting a
 * closed or lost connection, and the write-buffer limits (getter, 0 as a
 * real zero, CIO_LIMIT_DEFAULT as "not given").
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* ---- readuntil with several separators ---- */

static int feed_end_cb(void *arg)
{
    assert_int_equal(cio_stream_reader_feed_data(arg, "END>tail", 8), 0);
    return 0;
}

static int several_seps_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_stream_reader *r;
    assert_int_equal(cio_stream_reader_new(g_loop, NULL, &r), 0);
    const char *in = "a\r\nbxyz\nq--!|";
    assert_int_equal(cio_stream_reader_feed_data(r, in, strlen(in)), 0);
    struct iovec seps[3] = {
        {(void *)"\r\n", 2}, {(void *)"\n", 1}, {(void *)"yz", 2}};
    const char *d;
    size_t len, which = 99;
    /* "\r\n" and "\n" both end at 3: the shorter is reported (asyncio
     * tries the separators shortest first). */
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 3, &d, &len, &which), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(d, "a\r\n", 3);
    assert_int_equal(which, 1);
    /* "bxyz\n...": "yz" ends at 4, before "\n" ends at 5. */
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 3, &d, &len, &which), 0);
    assert_int_equal(which, 2);
    assert_int_equal(len, 4);
    assert_memory_equal(d, "bxyz", 4);
    /* The earliest-ENDING match wins, not the earliest-starting one:
     * "\nq--!|" starts at 0 and ends at 6, "-!" starts at 3 and ends
     * at 5. */
    struct iovec seps2[2] = {{(void *)"\nq--!|", 6}, {(void *)"-!", 2}};
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps2, 2, &d, &len, &which), 0);
    assert_int_equal(which, 1);
    assert_int_equal(len, 5);
    assert_memory_equal(d, "\nq--!", 5);
    assert_int_equal(cio_stream_reader_buffered(r), 1);

    /* Not found yet: the reader waits for more, fed by a callback, and a
     * separator split across two feeds is found. */
    assert_int_equal(cio_stream_reader_feed_data(r, "ab<", 3), 0);
    assert_int_equal(
        cio_loop_call_later(g_loop, 5 * CIO_MS, feed_end_cb, r, NULL), 0);
    struct iovec seps3[2] = {{(void *)"<END>", 5}, {(void *)"<EN", 3}};
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps3, 2, &d, &len, &which), 0);
    assert_int_equal(which, 1);
    assert_int_equal(len, 6);
    assert_memory_equal(d, "|ab<EN", 6);

    /* Bad separators: -EINVAL. */
    struct iovec empty[1] = {{(void *)"", 0}};
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, empty, 1, &d, &len, NULL), -EINVAL);
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 0, &d, &len, NULL), -EINVAL);
    /* At EOF with no separator: CIO_EOF and the partial bytes. */
    assert_int_equal(cio_stream_reader_feed_eof(r), 0);
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 3, &d, &len, NULL), CIO_EOF);
    assert_int_equal(len, 6);
    assert_memory_equal(d, "D>tail", 6);
    assert_int_equal(cio_stream_reader_free(r), 0);
    return 0;
}

TU_NET_CASE(readuntil_several_separators_earliest_end_wins, several_seps_main)

/* Several separators over a real socket, and the limit measured where
 * the matched separator starts. */
static int several_seps_sock_main(void *arg, void **result)
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
    const char *msg = "k=v;x=y&0123456789;";
    assert_int_equal(write(sv[1], msg, strlen(msg)), (ssize_t)strlen(msg));
    struct iovec seps[2] = {{(void *)";", 1}, {(void *)"&", 1}};
    const char *d;
    size_t len, which;
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 2, &d, &len, &which), 0);
    assert_int_equal(which, 0);
    assert_int_equal(len, 4);
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 2, &d, &len, &which), 0);
    assert_int_equal(which, 1);
    assert_memory_equal(d, "x=y&", 4);
    /* "0123456789;": the separator starts at 10 > limit 8. */
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, seps, 2, &d, &len, &which),
        -ENOBUFS);
    assert_int_equal(cio_stream_reader_buffered(r), 11); /* kept */
    close(sv[1]);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    return 0;
}

TU_NET_CASE(readuntil_several_separators_limit_where_match_starts,
            several_seps_sock_main)

/* ---- a reader without a transport ---- */

typedef struct feeder {
    cio_stream_reader *r;
    int step;
} feeder;

static int feed_cb(void *arg)
{
    feeder *f = arg;
    switch (f->step++) {
    case 0:
        assert_int_equal(cio_stream_reader_feed_data(f->r, "line one\nli", 11),
                         0);
        break;
    case 1:
        assert_int_equal(cio_stream_reader_feed_data(f->r, "ne two\n1234", 11),
                         0);
        break;
    case 2:
        assert_int_equal(cio_stream_reader_feed_data(f->r, "5678tail", 8), 0);
        break;
    default:
        assert_int_equal(cio_stream_reader_feed_eof(f->r), 0);
        break;
    }
    return 0;
}

static int fed_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_stream_reader *r;
    assert_int_equal(cio_stream_reader_new(NULL, NULL, &r), 0);
    feeder f = {r, 0};
    /* Each feed comes from a callback 5 ms apart: every read below
     * suspends until its bytes are fed. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(cio_loop_call_later(g_loop, (i + 1) * 5 * CIO_MS,
                                             feed_cb, &f, NULL),
                         0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 9);
    assert_memory_equal(line, "line one\n", 9);
    assert_true(f.step >= 1);
    assert_int_equal(cio_stream_reader_readline(r, &line), 9);
    assert_memory_equal(line, "line two\n", 9);
    char buf[8];
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 8, &got), 0);
    assert_memory_equal(buf, "12345678", 8);
    assert_true(f.step >= 3);
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "tail", 4);
    assert_int_equal(cio_stream_reader_at_eof(r), f.step == 4);
    /* feed_eof from the fourth callback: the read waits for it. */
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), 0);
    assert_int_equal(f.step, 4);
    assert_int_equal(cio_stream_reader_at_eof(r), 1);
    /* asyncio asserts on feed_data after feed_eof. */
    assert_int_equal(cio_stream_reader_feed_data(r, "x", 1), -EINVAL);
    assert_int_equal(cio_stream_reader_feed_eof(r), 0); /* idempotent */
    assert_int_equal(cio_stream_reader_free(r), 0);
    return 0;
}

TU_NET_CASE(reader_without_transport_fed_by_callbacks, fed_main)

/* readexactly ending early at feed_eof: CIO_EOF with the partial bytes;
 * readuntil and the limit on a fed reader. */
static int fed_partial_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.limit = 4;
    cio_stream_reader *r;
    assert_int_equal(cio_stream_reader_new(g_loop, &o, &r), 0);
    assert_int_equal(cio_stream_reader_feed_data(r, "abcdefg", 7), 0);
    const char *d;
    size_t len;
    assert_int_equal(cio_stream_reader_readuntil(r, "|", 1, &d, &len),
                     -ENOBUFS);
    assert_int_equal(cio_stream_reader_buffered(r), 7);
    char buf[16];
    size_t got = 0;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 3, &got), 0);
    assert_int_equal(cio_stream_reader_feed_eof(r), 0);
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 10, &got), CIO_EOF);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "defg", 4);
    assert_int_equal(cio_stream_reader_free(r), 0);

    /* feed_data is only for readers made by cio_stream_reader_new. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_stream_reader *sr;
    assert_int_equal(cio_stream_reader_from_fd(g_loop, sv[0], NULL, &sr), 0);
    assert_int_equal(cio_stream_reader_feed_data(sr, "x", 1), -EINVAL);
    assert_int_equal(cio_stream_reader_feed_eof(sr), -EINVAL);
    assert_int_equal(cio_stream_reader_free(sr), 0);
    close(sv[1]);
    assert_int_equal(cio_stream_reader_new(g_loop, NULL, NULL), -EINVAL);
    return 0;
}

TU_NET_CASE(reader_without_transport_partial_reads_and_limit,
            fed_partial_main)

static int set_exc_cb(void *arg)
{
    assert_int_equal(cio_stream_reader_set_exception(arg, -ECONNRESET), 0);
    return 0;
}

static int waiting_reader(void *arg, void **result)
{
    (void)result;
    const char *line;
    return (int)cio_stream_reader_readline(arg, &line);
}

static int set_exception_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_stream_reader *r;
    assert_int_equal(cio_stream_reader_new(g_loop, NULL, &r), 0);
    assert_int_equal(cio_stream_reader_exception(r), 0);
    /* A task suspended in readline wakes with the error. */
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(waiting_reader, r), NULL, &t), 0);
    assert_int_equal(cio_stream_reader_feed_data(r, "no newline", 10), 0);
    assert_int_equal(cio_loop_call_later(g_loop, 5 * CIO_MS, set_exc_cb, r,
                                         NULL),
                     0);
    void *res;
    assert_int_equal(cio_await(t, &res), -ECONNRESET);
    cio_future_release(t);
    assert_int_equal(cio_stream_reader_exception(r), -ECONNRESET);
    /* asyncio raises before looking at the buffer: the 10 bytes stay
     * buffered but every read fails. */
    assert_int_equal(cio_stream_reader_buffered(r), 10);
    char buf[4];
    assert_int_equal(cio_stream_reader_read(r, buf, sizeof(buf)), -ECONNRESET);
    const char *d;
    size_t len;
    assert_int_equal(cio_stream_reader_readuntil(r, "n", 1, &d, &len),
                     -ECONNRESET);
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 1, NULL),
                     -ECONNRESET);
    assert_int_equal(cio_stream_reader_set_exception(r, 0), -EINVAL);
    assert_int_equal(cio_stream_reader_free(r), 0);

    /* On a reader over a socket too: a task waiting for bytes wakes. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_stream_reader *sr;
    assert_int_equal(cio_stream_reader_from_fd(g_loop, sv[0], NULL, &sr), 0);
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(waiting_reader, sr), NULL, &t), 0);
    assert_int_equal(cio_loop_call_later(g_loop, 5 * CIO_MS, set_exc_cb, sr,
                                         NULL),
                     0);
    assert_int_equal(cio_await(t, &res), -ECONNRESET);
    cio_future_release(t);
    assert_int_equal(cio_stream_reader_free(sr), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(reader_set_exception_fails_reads_at_once, set_exception_main)

static int fed_cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_stream_reader *r;
    assert_int_equal(cio_stream_reader_new(g_loop, NULL, &r), 0);
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(waiting_reader, r), NULL, &t), 0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    /* The reader is busy: another task's free is refused. */
    assert_int_equal(cio_stream_reader_free(r), -EBUSY);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    void *res;
    assert_int_equal(cio_await(t, &res), -ECANCELED);
    cio_future_release(t);
    /* Nothing was consumed; the reader still works. */
    assert_int_equal(cio_stream_reader_feed_data(r, "ok\n", 3), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 3);
    assert_int_equal(cio_stream_reader_free(r), 0);
    return 0;
}

TU_NET_CASE(reader_without_transport_cancelled_read, fed_cancel_main)

/* A custom protocol drives the reader, as asyncio's StreamReaderProtocol:
 * data_received feeds it, eof_received ends it, a task reads lines. */
typedef struct fed_conn {
    cio_stream_reader *r;
    int lost;
} fed_conn;

static int fp_data(cio_transport *t, const void *d, size_t n, void *ctx)
{
    (void)t;
    return cio_stream_reader_feed_data(((fed_conn *)ctx)->r, d, n);
}

static int fp_eof(cio_transport *t, void *ctx)
{
    (void)t;
    cio_stream_reader_feed_eof(((fed_conn *)ctx)->r);
    return 0;
}

static void fp_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    fed_conn *fc = ctx;
    if (err < 0)
        cio_stream_reader_set_exception(fc->r, err);
    else
        cio_stream_reader_feed_eof(fc->r);
    fc->lost = 1;
}

static const cio_protocol feeding_proto = {
    .data_received = fp_data,
    .eof_received = fp_eof,
    .connection_lost = fp_lost,
};

static int fp_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &feeding_proto;
    *ctx = arg;
    return 0;
}

static int custom_protocol_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_stream_reader *r;
    assert_int_equal(cio_stream_reader_new(g_loop, NULL, &r), 0);
    fed_conn fc = {r, 0};
    cio_transport *t;
    assert_int_equal(cio_transport_from_fd(g_loop, sv[0], fp_factory, &fc,
                                           NULL, &t),
                     0);
    const char *msg = "GET / HTTP/1.0\r\nHost: x\r\n\r\nbody";
    assert_int_equal(write(sv[1], msg, strlen(msg)), (ssize_t)strlen(msg));
    shutdown(sv[1], SHUT_WR);
    const char *line;
    struct iovec crlf[1] = {{(void *)"\r\n", 2}};
    const char *d;
    size_t len;
    assert_int_equal(
        cio_stream_reader_readuntil_any(r, crlf, 1, &d, &len, NULL), 0);
    assert_int_equal(len, 16);
    assert_int_equal(cio_stream_reader_readline(r, &line), 9);
    assert_memory_equal(line, "Host: x\r\n", 9);
    assert_int_equal(cio_stream_reader_readline(r, &line), 2);
    char buf[16];
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, buf, 10, &got), CIO_EOF);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "body", 4);
    assert_int_equal(cio_stream_reader_at_eof(r), 1);
    /* The transport closes itself at EOF; its connection_lost runs. */
    WAIT_FOR(fc.lost);
    assert_int_equal(cio_stream_reader_free(r), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(reader_without_transport_driven_by_custom_protocol,
            custom_protocol_main)

/* ---- drain reports a closed or lost connection ---- */

static int drain_closed_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
    assert_int_equal(cio_stream_writer_write(w, "x", 1), 0);
    assert_int_equal(cio_stream_writer_drain(w), 0);
    assert_int_equal(cio_stream_writer_close(w), 0);
    /* asyncio: drain after close raises ConnectionResetError. */
    assert_int_equal(cio_stream_writer_write(w, "y", 1), -EPIPE);
    assert_int_equal(cio_stream_writer_drain(w), -ECONNRESET);
    assert_int_equal(cio_stream_writer_wait_closed(w), 0);
    assert_int_equal(cio_stream_writer_drain(w), -ECONNRESET);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(drain_after_close_reports_connection_reset, drain_closed_main)

static int drain_lost_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* The peer goes away: the next write fails with -EPIPE (or
     * -ECONNRESET), and drain reports the same error, not 0. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
    close(sv[1]);
    int wr = cio_stream_writer_write(w, "data", 4);
    assert_true(wr == -EPIPE || wr == -ECONNRESET);
    assert_int_equal(cio_stream_writer_drain(w), wr);
    assert_int_equal(cio_stream_writer_is_closing(w), 1);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);

    /* A pipe whose reader exits while data waits above the high water
     * mark: the drain that waited fails with -EPIPE. */
    int pp[2];
    assert_int_equal(pipe2(pp, O_NONBLOCK | O_CLOEXEC), 0);
    cio_stream_writer *pw;
    assert_int_equal(cio_stream_writer_from_fd(g_loop, pp[1], NULL, &pw), 0);
    assert_int_equal(
        cio_stream_writer_set_write_buffer_limits(pw, 0, CIO_LIMIT_DEFAULT), 0);
    static char big[256 * 1024];
    assert_int_equal(cio_stream_writer_write(pw, big, sizeof(big)), 0);
    assert_true(cio_stream_writer_write_buffer_size(pw) > 0);
    close(pp[0]); /* from the loop's thread, before the drain suspends */
    assert_int_equal(cio_stream_writer_drain(pw), -EPIPE);
    assert_int_equal(cio_stream_writer_free(pw), 0);
    return 0;
}

TU_NET_CASE(drain_after_connection_lost_reports_error, drain_lost_main)

/* ---- write-buffer limits ---- */

static int drainer(void *arg, void **result)
{
    (void)result;
    return cio_stream_writer_drain(arg);
}

static int limits_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, sv[0], NULL, &r, &w), 0);
    size_t lo = 1, hi = 1;
    assert_int_equal(cio_stream_writer_write_buffer_limits(w, &lo, &hi), 0);
    assert_int_equal(lo, 16 * 1024);
    assert_int_equal(hi, 64 * 1024);
    /* asyncio's rules for "not given". */
    assert_int_equal(
        cio_stream_writer_set_write_buffer_limits(w, CIO_LIMIT_DEFAULT, 1000),
        0);
    cio_stream_writer_write_buffer_limits(w, &lo, &hi);
    assert_int_equal(lo, 1000);
    assert_int_equal(hi, 4000);
    assert_int_equal(
        cio_stream_writer_set_write_buffer_limits(w, 4000, CIO_LIMIT_DEFAULT),
        0);
    cio_stream_writer_write_buffer_limits(w, &lo, &hi);
    assert_int_equal(lo, 1000);
    assert_int_equal(hi, 4000);
    assert_int_equal(cio_stream_writer_set_write_buffer_limits(
                         w, CIO_LIMIT_DEFAULT, CIO_LIMIT_DEFAULT),
                     0);
    cio_stream_writer_write_buffer_limits(w, &lo, &hi);
    assert_int_equal(hi, 64 * 1024);
    assert_int_equal(lo, 16 * 1024);
    /* set_write_buffer_limits(0, 1): low > high, refused, unchanged. */
    assert_int_equal(cio_stream_writer_set_write_buffer_limits(w, 0, 1),
                     -EINVAL);
    cio_stream_writer_write_buffer_limits(w, &lo, &hi);
    assert_int_equal(hi, 64 * 1024);
    /* high = 0 (low then 0): drain waits until every byte is sent. */
    assert_int_equal(
        cio_stream_writer_set_write_buffer_limits(w, 0, CIO_LIMIT_DEFAULT), 0);
    cio_stream_writer_write_buffer_limits(w, &lo, &hi);
    assert_int_equal(hi, 0);
    assert_int_equal(lo, 0);
    static char big[512 * 1024];
    assert_int_equal(cio_stream_writer_write(w, big, sizeof(big)), 0);
    assert_true(cio_stream_writer_write_buffer_size(w) > 0);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(drainer, w), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(2 * CIO_MS), 0);
    assert_false(cio_future_done(t));
    /* Read all but the last byte: the drain still waits (high 0). */
    size_t left = sizeof(big);
    static char buf[65536];
    while (left > 1) { /* the peer's reads, between loop iterations */
        size_t want = left - 1 < sizeof(buf) ? left - 1 : sizeof(buf);
        ssize_t k = read(sv[1], buf, want);
        if (k > 0)
            left -= (size_t)k;
        else
            assert_true(k < 0 && errno == EAGAIN);
        assert_int_equal(cio_sleep(0), 0);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(cio_stream_writer_write_buffer_size(w), 0); /* all sent */
    /* everything sent: the flush woke the drain (the byte is in the
     * kernel, not in cio's buffer, which is what asyncio counts too). */
    void *res;
    assert_int_equal(cio_await(t, &res), 0);
    cio_future_release(t);
    assert_int_equal(read(sv[1], buf, 1), 1);
    assert_int_equal(cio_stream_writer_write_buffer_limits(NULL, &lo, &hi),
                     -EINVAL);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(write_buffer_limits_get_and_high_zero, limits_main)

/* The transport side: get_write_buffer_limits, high 0 pauses the
 * protocol as soon as anything is buffered (asyncio's
 * set_write_buffer_limits(0)). */
typedef struct wproto {
    cio_transport *t;
    int paused, resumed, lost;
} wproto;

static int wp_made(cio_transport *t, void *ctx)
{
    ((wproto *)ctx)->t = t;
    return 0;
}

static int wp_data(cio_transport *t, const void *d, size_t n, void *ctx)
{
    (void)t;
    (void)d;
    (void)n;
    (void)ctx;
    return 0;
}

static void wp_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((wproto *)ctx)->lost = 1;
}

static int wp_pause(cio_transport *t, void *ctx)
{
    (void)t;
    ((wproto *)ctx)->paused++;
    return 0;
}

static int wp_resume(cio_transport *t, void *ctx)
{
    (void)t;
    ((wproto *)ctx)->resumed++;
    return 0;
}

static const cio_protocol wp_proto = {
    .connection_made = wp_made,
    .data_received = wp_data,
    .connection_lost = wp_lost,
    .pause_writing = wp_pause,
    .resume_writing = wp_resume,
};

static int wp_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &wp_proto;
    *ctx = arg;
    return 0;
}

static int transport_limits_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    wproto wp = {0};
    cio_transport *t;
    assert_int_equal(
        cio_transport_from_fd(g_loop, sv[0], wp_factory, &wp, NULL, &t), 0);
    WAIT_FOR(wp.t != NULL);
    size_t lo, hi;
    assert_int_equal(cio_transport_write_buffer_limits(t, &lo, &hi), 0);
    assert_int_equal(lo, 16 * 1024);
    assert_int_equal(hi, 64 * 1024);
    assert_int_equal(cio_transport_set_write_buffer_limits(t, 0, 1), -EINVAL);
    assert_int_equal(
        cio_transport_set_write_buffer_limits(t, 0, CIO_LIMIT_DEFAULT), 0);
    assert_int_equal(cio_transport_write_buffer_limits(t, &lo, &hi), 0);
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 0);
    static char big[512 * 1024];
    assert_int_equal(cio_transport_write(t, big, sizeof(big)), 0);
    assert_true(cio_transport_write_buffer_size(t) > 0);
    assert_int_equal(wp.paused, 1); /* anything buffered is above 0 */
    /* The peer reads everything: resume_writing once it is all sent. */
    size_t left = sizeof(big);
    static char buf[65536];
    while (left) {
        ssize_t k = read(sv[1], buf, left < sizeof(buf) ? left : sizeof(buf));
        if (k > 0)
            left -= (size_t)k;
        else
            assert_true(k < 0 && errno == EAGAIN);
        assert_int_equal(cio_sleep(0), 0);
    }
    WAIT_FOR(wp.resumed == 1);
    assert_int_equal(cio_transport_write_buffer_size(t), 0);
    assert_int_equal(cio_transport_write_buffer_limits(NULL, &lo, &hi),
                     -EINVAL);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(wp.lost);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(transport_write_buffer_limits_get_and_high_zero,
            transport_limits_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(readuntil_several_separators_earliest_end_wins, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(readuntil_several_separators_limit_where_match_starts, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(reader_without_transport_fed_by_callbacks, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(reader_without_transport_partial_reads_and_limit, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(reader_set_exception_fails_reads_at_once, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(reader_without_transport_cancelled_read, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(reader_without_transport_driven_by_custom_protocol, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(drain_after_close_reports_connection_reset, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(drain_after_connection_lost_reports_error, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(write_buffer_limits_get_and_high_zero, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_write_buffer_limits_get_and_high_zero, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
