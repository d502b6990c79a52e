/*
 * test_impl_bstream.c - cio/impl.h's byte-stream layer: a user-defined
 * byte stream (an XOR "cipher" over the descriptor's stream, in two
 * flavours: straight through, and one that reads ahead and hands out at
 * most 7 bytes a call, so that it holds pending bytes) under cio's
 * streams (readuntil, write of 256 KiB, drain, write_eof), a protocol
 * transport (an echo) and an awaitable socket (recv, sendall, sendallv).
 * The peer is a plain cio socket on the other end of a socketpair that
 * applies the XOR itself, so every test also checks what went over the
 * wire. Failure paths: the user's read or write op failing (the code
 * reaches the stream reader, the writer's drain, the socket call and
 * connection_lost), a close while a task waits, cancellation while
 * waiting, a layer pushed twice or over buffered bytes, bad arguments.
 * The user's close op must run exactly once in every case.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/impl.h"
#include "cio_testutil_net.h"
#include "cio_testutil_tls.h"

#define KEY 0x5a

typedef struct xstate {
    int fail_read;  /* next read op returns this (negative) */
    int fail_write; /* next write op returns this */
    int zero_write; /* the write op returns 0 (a broken layer) */
    int closes;     /* the close op ran */
    size_t reads, writes;
    /* read-ahead flavour */
    char buf[256];
    size_t start, end;
} xstate;

static void xor_bytes(void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] ^= KEY;
}

static ssize_t x_read(void *st, cio_bstream *lower, void *p, size_t n)
{
    xstate *x = st;
    x->reads++;
    if (x->fail_read)
        return x->fail_read;
    ssize_t k = cio_bstream_read(lower, p, n);
    if (k > 0)
        xor_bytes(p, (size_t)k);
    return k;
}

/* Reads ahead into x->buf, hands out at most 7 bytes. */
static ssize_t xa_read(void *st, cio_bstream *lower, void *p, size_t n)
{
    xstate *x = st;
    x->reads++;
    if (x->fail_read)
        return x->fail_read;
    if (x->start == x->end) {
        ssize_t k = cio_bstream_read(lower, x->buf, sizeof(x->buf));
        if (k <= 0)
            return k;
        xor_bytes(x->buf, (size_t)k);
        x->start = 0;
        x->end = (size_t)k;
    }
    size_t m = x->end - x->start;
    if (m > n)
        m = n;
    if (m > 7)
        m = 7;
    memcpy(p, x->buf + x->start, m);
    x->start += m;
    return (ssize_t)m;
}

static size_t xa_pending(const void *st)
{
    const xstate *x = st;
    return x->end - x->start;
}

static ssize_t x_write(void *st, cio_bstream *lower, const void *p, size_t n)
{
    xstate *x = st;
    x->writes++;
    if (x->fail_write)
        return x->fail_write;
    if (x->zero_write)
        return 0;
    char tmp[4096];
    if (n > sizeof(tmp))
        n = sizeof(tmp);
    memcpy(tmp, p, n);
    xor_bytes(tmp, n);
    return cio_bstream_write(lower, tmp, n);
}

static void x_close(void *st)
{
    ((xstate *)st)->closes++;
}

/* Straight through: a short write is the descriptor's. */
static const cio_bstream_ops xor_ops = {
    .read = x_read,
    .write = x_write,
    .close = x_close,
    .flags = CIO_BSTREAM_SHORT_IS_FULL,
};

/* Read-ahead: holds decoded bytes (pending). */
static const cio_bstream_ops xor_ahead_ops = {
    .read = xa_read,
    .write = x_write,
    .close = x_close,
    .pending = xa_pending,
};

/* A socketpair: *mine for the layered side, *peer a plain cio socket. */
static void pair(int *mine, cio_socket **peer)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    *mine = sv[0];
    assert_int_equal(cio_socket_from_fd(peer, g_loop, sv[1]), 0);
}

static int peer_send_xor(cio_socket *s, const char *text)
{
    char tmp[256];
    size_t n = strlen(text);
    memcpy(tmp, text, n);
    xor_bytes(tmp, n);
    return cio_socket_sendall(s, tmp, n, 0);
}

/* Receives exactly n bytes from the peer socket and un-XORs them. */
static void peer_recv_exact(cio_socket *s, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = cio_socket_recv(s, buf + got, n - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
    }
    xor_bytes(buf, n);
}

#define BIG (256 * 1024)

static char pattern_at(size_t i)
{
    return (char)('a' + (i * 7) % 26);
}

typedef struct bigrd {
    cio_socket *s;
    size_t got;
    int bad;
} bigrd;

/* The peer reads BIG bytes and checks them (un-XORed). */
static int peer_big_reader(void *arg, void **result)
{
    (void)result;
    bigrd *b = arg;
    char buf[8192];
    while (b->got < BIG) {
        ssize_t k = cio_socket_recv(b->s, buf, sizeof(buf), 0);
        if (k <= 0)
            return k < 0 ? (int)k : -EPIPE;
        xor_bytes(buf, (size_t)k);
        for (ssize_t i = 0; i < k; i++)
            if (buf[i] != pattern_at(b->got + (size_t)i))
                b->bad++;
        b->got += (size_t)k;
    }
    return 0;
}

/* ---- streams ---- */

static void streams_case(const cio_bstream_ops *ops)
{
    int fd;
    cio_socket *peer;
    pair(&fd, &peer);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_stream_open_fd(g_loop, fd, NULL, &r, &w), 0);
    xstate x = {0};
    assert_int_equal(cio_stream_push_bstream(r, w, ops, &x), 0);
    assert_int_equal(cio_stream_push_bstream(r, w, ops, &x), -EBUSY);
    assert_int_equal(peer_send_xor(peer, "hello\nworld, and more\n"), 0);
    const char *d;
    size_t n;
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), 0);
    assert_int_equal(n, 6);
    assert_memory_equal(d, "hello\n", 6);
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), 0);
    assert_int_equal(n, 16);
    assert_memory_equal(d, "world, and more\n", 16);
    /* A line that arrives after the reader waited for it. */
    cio_task *t;
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(peer_send_xor(peer, "late\n"), 0);
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), 0);
    assert_memory_equal(d, "late\n", 5);
    /* 256 KiB through the layer: short writes, EAGAIN, drain. */
    char *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = pattern_at(i);
    bigrd b = {.s = peer};
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(peer_big_reader, &b), NULL, &t), 0);
    assert_int_equal(cio_stream_writer_write(w, big, BIG), 0);
    assert_int_equal(cio_stream_writer_drain(w), 0);
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    free(big);
    assert_int_equal(b.got, BIG);
    assert_int_equal(b.bad, 0);
    /* write_eof: the peer sees the end. */
    assert_int_equal(cio_stream_writer_write_eof(w), 0);
    char c;
    assert_int_equal(cio_socket_recv(peer, &c, 1, 0), 0);
    /* The peer's end: readuntil ends with CIO_EOF. */
    assert_int_equal(cio_socket_shutdown(peer, SHUT_WR), 0);
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), CIO_EOF);
    assert_int_equal(x.closes, 0);
    assert_int_equal(cio_stream_writer_close(w), 0);
    assert_int_equal(cio_stream_writer_wait_closed(w), 0);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    assert_int_equal(x.closes, 1);
    assert_true(x.reads > 0 && x.writes > 0);
    cio_socket_close(peer);
}

static int streams_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    streams_case(&xor_ops);
    streams_case(&xor_ahead_ops);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(impl_bstream_streams, streams_main)

typedef struct rdl {
    cio_stream_reader *r;
    int rc;
} rdl;

static int reader_line(void *arg, void **result)
{
    (void)result;
    rdl *l = arg;
    const char *d;
    size_t n;
    l->rc = cio_stream_reader_readuntil(l->r, "\n", 1, &d, &n);
    return l->rc;
}

static int streams_errors_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    int fd;
    cio_socket *peer;
    cio_stream_reader *r;
    cio_stream_writer *w;
    xstate x = {0};
    /* Bad arguments; the state stays the caller's (no close). */
    pair(&fd, &peer);
    assert_int_equal(cio_stream_open_fd(g_loop, fd, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_push_bstream(NULL, NULL, &xor_ops, &x),
                     -EINVAL);
    assert_int_equal(cio_stream_push_bstream(r, w, NULL, &x), -EINVAL);
    cio_bstream_ops no_read = xor_ops;
    no_read.read = NULL;
    assert_int_equal(cio_stream_push_bstream(r, w, &no_read, &x), -EINVAL);
    /* Bytes already buffered would bypass the layer. */
    assert_int_equal(cio_socket_sendall(peer, "ab\ncd", 5, 0), 0);
    const char *d;
    size_t n;
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), 0);
    assert_int_equal(cio_stream_push_bstream(r, w, &xor_ops, &x), -EBUSY);
    assert_int_equal(cio_stream_reader_readexactly(r, (char[2]){0}, 2, NULL),
                     0);
    assert_int_equal(cio_stream_push_bstream(r, w, &xor_ops, &x), 0);
    /* The user's read op fails: the reader gets its code, sticky. */
    x.fail_read = -EPROTO;
    assert_int_equal(peer_send_xor(peer, "x\n"), 0);
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), -EPROTO);
    assert_int_equal(cio_stream_reader_readuntil(r, "\n", 1, &d, &n), -EPROTO);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    assert_int_equal(x.closes, 1);
    cio_socket_close(peer);

    /* The user's write op fails: write or drain gets its code. */
    memset(&x, 0, sizeof(x));
    pair(&fd, &peer);
    assert_int_equal(cio_stream_open_fd(g_loop, fd, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_push_bstream(r, w, &xor_ops, &x), 0);
    x.fail_write = -EMSGSIZE;
    int rc = cio_stream_writer_write(w, "abc", 3);
    if (rc == 0)
        rc = cio_stream_writer_drain(w);
    assert_int_equal(rc, -EMSGSIZE);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    assert_int_equal(x.closes, 1);
    cio_socket_close(peer);

    /* Cancelled while waiting in readuntil, then closed while waiting. */
    memset(&x, 0, sizeof(x));
    pair(&fd, &peer);
    assert_int_equal(cio_stream_open_fd(g_loop, fd, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_push_bstream(r, w, &xor_ahead_ops, &x), 0);
    rdl l = {.r = r};
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(reader_line, &l), NULL, &t), 0);
    assert_int_equal(peer_send_xor(peer, "partial"), 0);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    assert_false(cio_future_done(t));
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    /* The partial line is still there: the rest completes it. */
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(reader_line, &l), NULL, &t), 0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(peer_send_xor(peer, " line\n"), 0);
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    /* Waiting again; the writer closes the stream meanwhile. */
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(reader_line, &l), NULL, &t), 0);
    assert_int_equal(cio_sleep(2 * CIO_MS), 0);
    assert_false(cio_future_done(t));
    assert_int_equal(cio_stream_writer_close(w), 0);
    rc = cio_await(t, NULL);
    assert_true(rc == CIO_EOF || rc == -EPIPE || rc == -EBADF);
    cio_future_release(t);
    assert_int_equal(x.closes, 1);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    assert_int_equal(x.closes, 1);
    cio_socket_close(peer);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(impl_bstream_streams_errors, streams_errors_main)

/* ---- a protocol transport ---- */

typedef struct echo {
    int made, eof, lost, lost_err;
    size_t bytes;
} echo;

static int e_made(cio_transport *t, void *ctx)
{
    (void)t;
    ((echo *)ctx)->made++;
    return 0;
}

static int e_data(cio_transport *t, const void *d, size_t n, void *ctx)
{
    ((echo *)ctx)->bytes += n;
    return cio_transport_write(t, d, n);
}

static int e_eof(cio_transport *t, void *ctx)
{
    (void)t;
    ((echo *)ctx)->eof++;
    return 0;
}

static void e_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    echo *e = ctx;
    e->lost++;
    e->lost_err = err;
}

static const cio_protocol echo_proto = {
    .connection_made = e_made,
    .data_received = e_data,
    .eof_received = e_eof,
    .connection_lost = e_lost,
};

static int echo_factory(void *arg, const cio_protocol **proto, void **ctx)
{
    *proto = &echo_proto;
    *ctx = arg;
    return 0;
}

static int transport_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    for (int flavour = 0; flavour < 2; flavour++) {
        int fd;
        cio_socket *peer;
        pair(&fd, &peer);
        xstate x = {0};
        echo e = {0};
        cio_transport *t;
        assert_int_equal(cio_transport_from_bstream(
                             g_loop, fd, flavour ? &xor_ahead_ops : &xor_ops,
                             &x, echo_factory, &e, NULL, &t),
                         0);
        const char *msg = "through the layer and back\n";
        size_t n = strlen(msg);
        for (int i = 0; i < 50; i++) {
            char back[64];
            assert_int_equal(peer_send_xor(peer, msg), 0);
            peer_recv_exact(peer, back, n);
            assert_memory_equal(back, msg, n);
        }
        assert_int_equal(e.made, 1);
        assert_int_equal(e.bytes, 50 * n);
        /* The peer's end: eof_received, connection_lost(0), close op. */
        assert_int_equal(cio_socket_shutdown(peer, SHUT_WR), 0);
        WAIT_FOR(e.lost == 1);
        assert_int_equal(e.eof, 1);
        assert_int_equal(e.lost_err, 0);
        WAIT_FOR(x.closes == 1);
        cio_socket_close(peer);
    }

    /* The user's read op fails: connection_lost gets its code. */
    int fd;
    cio_socket *peer;
    pair(&fd, &peer);
    xstate x = {.fail_read = -EPROTO};
    echo e = {0};
    cio_transport *t;
    assert_int_equal(cio_transport_from_bstream(g_loop, fd, &xor_ops, &x,
                                                echo_factory, &e, NULL, &t),
                     0);
    assert_int_equal(peer_send_xor(peer, "boom"), 0);
    WAIT_FOR(e.lost == 1);
    assert_int_equal(e.lost_err, -EPROTO);
    WAIT_FOR(x.closes == 1);
    cio_socket_close(peer);

    /* The user's write op fails: the transport is lost with its code. */
    pair(&fd, &peer);
    memset(&x, 0, sizeof(x));
    x.fail_write = -EMSGSIZE;
    memset(&e, 0, sizeof(e));
    assert_int_equal(cio_transport_from_bstream(g_loop, fd, &xor_ops, &x,
                                                echo_factory, &e, NULL, &t),
                     0);
    assert_int_equal(peer_send_xor(peer, "echo me"), 0);
    WAIT_FOR(e.lost == 1);
    assert_int_equal(e.lost_err, -EMSGSIZE);
    WAIT_FOR(x.closes == 1);
    cio_socket_close(peer);

    /* Closed by the owner while the peer is quiet. */
    pair(&fd, &peer);
    memset(&x, 0, sizeof(x));
    memset(&e, 0, sizeof(e));
    assert_int_equal(cio_transport_from_bstream(g_loop, fd, &xor_ops, &x,
                                                echo_factory, &e, NULL, &t),
                     0);
    WAIT_FOR(e.made == 1);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(e.lost == 1);
    assert_int_equal(e.lost_err, 0);
    WAIT_FOR(x.closes == 1);
    char c;
    assert_int_equal(cio_socket_recv(peer, &c, 1, 0), 0);
    cio_socket_close(peer);

    /* Bad arguments: the state and fd stay the caller's. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    memset(&x, 0, sizeof(x));
    assert_int_equal(cio_transport_from_bstream(g_loop, sv[0], NULL, &x,
                                                echo_factory, &e, NULL, &t),
                     -EINVAL);
    assert_null(t);
    cio_bstream_ops no_write = xor_ops;
    no_write.write = NULL;
    assert_int_equal(cio_transport_from_bstream(g_loop, sv[0], &no_write, &x,
                                                echo_factory, &e, NULL, &t),
                     -EINVAL);
    assert_int_equal(x.closes, 0);
    assert_int_equal(fcntl(sv[0], F_GETFD) >= 0, 1);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(impl_bstream_transport, transport_main)

/* ---- an awaitable socket ---- */

typedef struct srd {
    cio_socket *s;
    char buf[64];
    ssize_t got;
} srd;

static int sock_reader(void *arg, void **result)
{
    (void)result;
    srd *x = arg;
    x->got = cio_socket_recv(x->s, x->buf, sizeof(x->buf), 0);
    return x->got < 0 ? (int)x->got : 0;
}

static int socket_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    for (int flavour = 0; flavour < 2; flavour++) {
        int fd;
        cio_socket *peer, *s;
        pair(&fd, &peer);
        assert_int_equal(cio_socket_from_fd(&s, g_loop, fd), 0);
        xstate x = {0};
        const cio_bstream_ops *ops = flavour ? &xor_ahead_ops : &xor_ops;
        assert_int_equal(cio_socket_push_bstream(s, ops, &x), 0);
        assert_int_equal(cio_socket_push_bstream(s, ops, &x), -EBUSY);
        /* recv through the layer (the read-ahead one hands out 7 bytes a
         * call and keeps the rest pending: no wait for the kernel). */
        assert_int_equal(peer_send_xor(peer, "0123456789abcdef"), 0);
        char buf[64];
        size_t got = 0;
        while (got < 16) {
            ssize_t k = cio_socket_recv(s, buf + got, sizeof(buf) - got, 0);
            assert_true(k > 0);
            got += (size_t)k;
        }
        assert_memory_equal(buf, "0123456789abcdef", 16);
        /* sendall of 256 KiB and sendallv through the layer. */
        char *big = malloc(BIG);
        assert_non_null(big);
        for (size_t i = 0; i < BIG; i++)
            big[i] = pattern_at(i);
        bigrd b = {.s = peer};
        cio_task *t;
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(peer_big_reader, &b), NULL, &t),
            0);
        assert_int_equal(cio_socket_sendall(s, big, BIG / 2, 0), 0);
        struct iovec iov[2] = {{big + BIG / 2, BIG / 4},
                               {big + BIG / 2 + BIG / 4, BIG / 4}};
        assert_int_equal(cio_socket_sendallv(s, iov, 2), 0);
        assert_int_equal(cio_await(t, NULL), 0);
        cio_future_release(t);
        free(big);
        assert_int_equal(b.bad, 0);
        /* Plain-descriptor calls would bypass the layer. */
        assert_int_equal(cio_socket_send(s, "x", 1, MSG_MORE), -EINVAL);
        assert_int_equal(cio_socket_recv(s, buf, 1, MSG_PEEK), -EINVAL);
        off_t off = 0;
        assert_int_equal(cio_socket_sendfile(s, 0, &off, 1), -ENOTSUP);
        /* shutdown(SHUT_WR) reaches the peer. */
        assert_int_equal(cio_socket_shutdown(s, SHUT_WR), 0);
        assert_int_equal(cio_socket_recv(peer, buf, 1, 0), 0);
        /* Cancelled while waiting in recv. */
        srd r = {.s = s};
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(sock_reader, &r), NULL, &t), 0);
        assert_int_equal(cio_sleep(2 * CIO_MS), 0);
        assert_false(cio_future_done(t));
        cio_task_cancel(t, NULL);
        assert_int_equal(cio_await(t, NULL), -ECANCELED);
        cio_future_release(t);
        /* The user's read op fails: recv returns its code. */
        x.fail_read = -EPROTO;
        assert_int_equal(peer_send_xor(peer, "z"), 0);
        assert_int_equal(cio_socket_recv(s, buf, sizeof(buf), 0), -EPROTO);
        x.fail_read = 0; /* the "z" is still there, the layer unharmed */
        assert_int_equal(cio_socket_recv(s, buf, sizeof(buf), 0), 1);
        assert_int_equal(buf[0], 'z');
        /* Closed while a task waits in recv: -EBADF, close op once. */
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(sock_reader, &r), NULL, &t), 0);
        assert_int_equal(cio_sleep(2 * CIO_MS), 0);
        assert_false(cio_future_done(t));
        assert_int_equal(x.closes, 0);
        assert_int_equal(cio_socket_close(s), 0);
        assert_int_equal(cio_await(t, NULL), -EBADF);
        cio_future_release(t);
        assert_int_equal(x.closes, 1);
        cio_socket_close(peer);
    }
    /* The user's write op fails: sendall returns its code. */
    int fd;
    cio_socket *peer, *s;
    pair(&fd, &peer);
    assert_int_equal(cio_socket_from_fd(&s, g_loop, fd), 0);
    xstate x = {.fail_write = -EMSGSIZE};
    assert_int_equal(cio_socket_push_bstream(s, &xor_ops, &x), 0);
    assert_int_equal(cio_socket_sendall(s, "abc", 3, 0), -EMSGSIZE);
    /* A write op that takes nothing without -EAGAIN: -EIO, not a spin. */
    x.fail_write = 0;
    x.zero_write = 1;
    assert_int_equal(cio_socket_sendall(s, "abc", 3, 0), -EIO);
    struct iovec v1 = {"abc", 3};
    assert_int_equal(cio_socket_sendallv(s, &v1, 1), -EIO);
    cio_socket_close(s);
    assert_int_equal(x.closes, 1);
    /* Bad arguments. */
    assert_int_equal(cio_socket_push_bstream(NULL, &xor_ops, &x), -EINVAL);
    cio_socket *d;
    assert_int_equal(cio_socket_open(&d, g_loop, AF_INET, SOCK_DGRAM, 0), 0);
    assert_int_equal(cio_socket_push_bstream(d, &xor_ops, &x), -EINVAL);
    cio_socket_close(d);
    assert_int_equal(cio_bstream_read(NULL, (char[1]){0}, 1), -EINVAL);
    assert_int_equal(cio_bstream_write(NULL, "a", 1), -EINVAL);
    assert_int_equal(cio_bstream_writev(NULL, NULL, 1), -EINVAL);
    assert_int_equal(cio_bstream_shutdown_write(NULL), -EINVAL);
    assert_int_equal(cio_bstream_pending(NULL), 0);
    assert_int_equal(cio_bstream_fileno(NULL), -EINVAL);
    assert_int_equal(x.closes, 1);
    cio_socket_close(peer);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(impl_bstream_socket, socket_main)

/* ---- a layer over TLS: start TLS, then push ---- */

static xstate tls_srv_x;

/* The server's handler: XOR over the TLS stream, lines echoed. */
static int tls_xor_handler(cio_stream_reader *r, cio_stream_writer *w,
                           void *arg)
{
    (void)arg;
    if (!cio_stream_writer_tls(w) ||
        cio_stream_push_bstream(r, w, &xor_ahead_ops, &tls_srv_x) < 0)
        return -EINVAL;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0)
        if (cio_stream_writer_write(w, line, (size_t)n) < 0)
            break;
    return 0;
}

static int tls_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    assert_non_null(tu_certs());
    cio_tls_ctx *sctx, *cctx;
    assert_int_equal(cio_tls_ctx_new(&sctx, CIO_TLS_SERVER), 0);
    assert_int_equal(
        cio_tls_ctx_use_cert_file(sctx, tu_cert("srv.pem"), tu_cert("srv.key")),
        0);
    assert_int_equal(cio_tls_ctx_new(&cctx, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(cctx, tu_cert("ca.pem"), NULL), 0);
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.conn.tls = sctx;
    cio_server *srv;
    memset(&tls_srv_x, 0, sizeof(tls_srv_x));
    assert_int_equal(cio_start_server(g_loop, tls_xor_handler, NULL,
                                      "127.0.0.1", 0, &so, &srv),
                     0);
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.tls = cctx;
    o.server_hostname = "localhost";
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(
        cio_open_connection("127.0.0.1", cio_server_port(srv), &o, &r, &w), 0);
    xstate x = {0};
    assert_int_equal(cio_stream_push_bstream(r, w, &xor_ops, &x), 0);
    /* TLS cannot go under a layer once one is pushed (here, and on a
     * plain stream with a layer). */
    assert_int_equal(cio_stream_start_tls(r, w, cctx, "localhost"), -EINVAL);
    {
        int fd;
        cio_socket *peer, *s;
        pair(&fd, &peer);
        cio_stream_reader *pr;
        cio_stream_writer *pw;
        assert_int_equal(cio_stream_open_fd(g_loop, fd, NULL, &pr, &pw), 0);
        xstate px = {0};
        assert_int_equal(cio_stream_push_bstream(pr, pw, &xor_ops, &px), 0);
        assert_int_equal(cio_stream_start_tls(pr, pw, cctx, "localhost"),
                         -EINVAL);
        assert_int_equal(cio_stream_reader_free(pr), 0);
        assert_int_equal(cio_stream_writer_free(pw), 0);
        assert_int_equal(px.closes, 1);
        int sv[2];
        assert_int_equal(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        assert_int_equal(cio_socket_from_fd(&s, g_loop, sv[0]), 0);
        assert_int_equal(cio_socket_push_bstream(s, &xor_ops, &px), 0);
        assert_int_equal(cio_socket_start_tls(s, cctx, "localhost"), -EINVAL);
        cio_socket_close(s);
        close(sv[1]);
        assert_int_equal(px.closes, 2);
        cio_socket_close(peer);
    }
    for (int i = 0; i < 20; i++) {
        char msg[64];
        int n = snprintf(msg, sizeof(msg), "line %d through XOR and TLS\n", i);
        assert_int_equal(cio_stream_writer_write(w, msg, (size_t)n), 0);
        const char *line;
        assert_int_equal(cio_stream_reader_readline(r, &line), n);
        assert_memory_equal(line, msg, (size_t)n);
    }
    assert_true(x.reads > 0 && x.writes > 0);
    assert_true(tls_srv_x.reads > 0 && tls_srv_x.writes > 0);
    assert_int_equal(cio_stream_writer_close(w), 0);
    cio_stream_writer_wait_closed(w);
    assert_int_equal(cio_stream_reader_free(r), 0);
    assert_int_equal(cio_stream_writer_free(w), 0);
    assert_int_equal(x.closes, 1);
    assert_int_equal(cio_server_close(srv), 0);
    cio_server_close_clients(srv);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    WAIT_FOR(tls_srv_x.closes == 1);
    cio_tls_ctx_free(sctx);
    cio_tls_ctx_free(cctx);
    return 0;
}

TU_NET_CASE(impl_bstream_over_tls, tls_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(impl_bstream_streams, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(impl_bstream_streams_errors, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(impl_bstream_transport, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(impl_bstream_socket, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(impl_bstream_over_tls, tu_setup,
                                    tu_teardown),
};

CIO_TEST_MAIN(tests)
