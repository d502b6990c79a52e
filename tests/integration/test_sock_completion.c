/*
 * test_sock_completion.c - awaitable TCP sockets whose bytes move through
 * the backend's completion operations (io_uring: multishot recv into
 * provided buffers, sends from the socket's buffers; docs/design.md
 * section 45), and the same cases on epoll, where they check that both
 * paths keep one semantics: a reader cancelled at its suspension loses no
 * byte, bytes that arrive while nobody reads are handed to the next recv
 * (also in pieces, with MSG_PEEK, MSG_DONTWAIT and MSG_WAITALL), close
 * under a waiting reader or writer, peer reset, EOF after held bytes,
 * large transfers both ways at once, writes then close or shutdown (the
 * peer gets every byte, then EOF), back-pressure from a reader that
 * stops reading, and the bounded wait of a closed socket whose last
 * bytes the peer never takes. Loopback TCP only (AF_UNIX sockets stay on
 * readiness).
 * cio-test: label=core
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

static cio_task *spawn(cio_coro_fn fn, void *arg)
{
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(fn, arg), NULL, &t), 0);
    return t;
}

static int join(cio_task *t)
{
    int r = cio_await(t, NULL);
    cio_future_release(t);
    return r;
}

/* A listener on 127.0.0.1, port chosen by the kernel, in *addr. */
static cio_socket *listen_loopback(cio_sockaddr *addr)
{
    cio_socket *ls;
    assert_int_equal(cio_sockaddr_from_ip(addr, "127.0.0.1", 0), 0);
    assert_int_equal(cio_socket_open(&ls, g_loop, AF_INET, SOCK_STREAM, 0),
                     0);
    assert_int_equal(cio_socket_bind(ls, addr), 0);
    assert_int_equal(cio_socket_listen(ls, 4), 0);
    assert_int_equal(cio_socket_sockname(ls, addr), 0);
    return ls;
}

/* A connected TCP pair over 127.0.0.1: *a the connecting end, *b the
 * accepted one. */
static void tcp_pair(cio_socket **a, cio_socket **b)
{
    cio_sockaddr addr;
    cio_socket *ls = listen_loopback(&addr);
    assert_int_equal(cio_socket_open(a, g_loop, AF_INET, SOCK_STREAM, 0), 0);
    assert_int_equal(cio_socket_connect(*a, &addr), 0);
    assert_int_equal(cio_socket_accept(ls, b, NULL), 0);
    cio_socket_close(ls);
}

/* Reads exactly n bytes (or fails the test). */
static void recv_exact(cio_socket *s, char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = cio_socket_recv(s, p + got, n - got, 0);
        assert_true(k > 0);
        got += (size_t)k;
    }
}

static char pat(size_t i)
{
    return (char)(i * 31 % 253);
}

/* ---- cancel a reader at its suspension: no byte lost ---- */

static cio_socket *g_r;
static char g_buf[64];
static ssize_t g_n;

/* The task's outcome is its recv's error, or 0 with the count in g_n. */
static int reader(void *arg, void **result)
{
    (void)arg;
    (void)result;
    g_n = cio_socket_recv(g_r, g_buf, sizeof(g_buf), 0);
    return g_n < 0 ? (int)g_n : 0;
}

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *a, *b;
    tcp_pair(&a, &b);
    g_r = b;
    /* first recv on b: nothing there, cancelled while parked */
    cio_task *t = spawn(reader, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(cio_sleep(0), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(join(t), -ECANCELED);
    /* data arrives; the reader is cancelled before it runs again */
    for (int round = 0; round < 20; round++) {
        t = spawn(reader, NULL);
        for (int i = 0; i < 3; i++)
            assert_int_equal(cio_sleep(0), 0);
        assert_int_equal(cio_socket_sendall(a, "abcdef", 6, 0), 0);
        if (round & 1)
            assert_int_equal(cio_sleep(CIO_MS), 0); /* the bytes landed */
        cio_task_cancel(t, NULL);
        int r = join(t);
        char got[6];
        if (r == -ECANCELED) {
            recv_exact(b, got, 6);
        } else {
            assert_int_equal(r, 0);
            assert_int_equal(g_n, 6);
            memcpy(got, g_buf, 6);
        }
        assert_memory_equal(got, "abcdef", 6);
    }
    /* nothing extra is left: the next recv waits (a timeout shows it) */
    cio_timeout sc;
    assert_int_equal(cio_timeout_begin(&sc, 20 * CIO_MS), 0);
    int r = (int)cio_socket_recv(b, g_buf, sizeof(g_buf), 0);
    assert_int_equal(cio_timeout_end(&sc, r), -ETIMEDOUT);
    cio_socket_close(a);
    cio_socket_close(b);
    return 0;
}

TU_NET_CASE(cancel_mid_recv, cancel_main)

/* ---- bytes held between recv calls ---- */

static int held_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *a, *b;
    tcp_pair(&a, &b);
    enum { N = 3 * 10000 };
    static char out[N], in[N];
    for (size_t i = 0; i < N; i++)
        out[i] = pat(i);
    /* b starts reading (completion mode on io_uring), then everything
     * arrives while nobody reads */
    assert_int_equal(cio_socket_recv(b, in, 4, MSG_DONTWAIT), -EAGAIN);
    for (int m = 0; m < 3; m++)
        assert_int_equal(cio_socket_sendall(a, out + m * 10000, 10000, 0), 0);
    assert_int_equal(cio_socket_shutdown(a, SHUT_WR), 0);
    assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    size_t got = 0;
    /* peek does not consume */
    ssize_t k = cio_socket_recv(b, in, 5, MSG_PEEK);
    assert_int_equal(k, 5);
    assert_memory_equal(in, out, 5);
    /* small pieces across the held chunks */
    while (got < 1000) {
        k = cio_socket_recv(b, in + got, 7, 0);
        assert_true(k > 0 && k <= 7);
        got += (size_t)k;
    }
    /* MSG_WAITALL across chunk boundaries */
    k = cio_socket_recv(b, in + got, 15000, MSG_WAITALL);
    assert_int_equal(k, 15000);
    got += 15000;
    /* the rest without waiting */
    while (got < N) {
        k = cio_socket_recv(b, in + got, N - got, MSG_DONTWAIT);
        if (k == -EAGAIN) {
            assert_int_equal(cio_sleep(CIO_MS), 0);
            continue;
        }
        assert_true(k > 0);
        got += (size_t)k;
    }
    assert_memory_equal(in, out, N);
    /* then EOF, again and again */
    assert_int_equal(cio_socket_recv(b, in, 10, 0), 0);
    assert_int_equal(cio_socket_recv(b, in, 10, 0), 0);
    assert_int_equal(cio_socket_recv(b, in, 10, MSG_DONTWAIT), 0);
    cio_socket_close(a);
    cio_socket_close(b);
    return 0;
}

TU_NET_CASE(held_across_recv, held_main)

/* ---- close under a waiting reader and writer; unread bytes at close ---- */

static int closer(void *arg, void **result)
{
    (void)result;
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(cio_socket_close(arg), 0);
    return 0;
}

static cio_socket *g_w;

static int big_writer(void *arg, void **result)
{
    (void)arg;
    (void)result;
    size_t n = 16u << 20;
    char *p = calloc(1, n);
    assert_non_null(p);
    int r = cio_socket_sendall(g_w, p, n, 0);
    free(p);
    return r;
}

static int close_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *a, *b;
    /* a reader parked in recv */
    tcp_pair(&a, &b);
    g_r = b;
    cio_task *t = spawn(reader, NULL);
    cio_task *c = spawn(closer, b);
    assert_int_equal(join(t), -EBADF);
    assert_int_equal(join(c), 0);
    /* the peer sees EOF at once */
    char buf[8];
    assert_int_equal(cio_socket_recv(a, buf, sizeof(buf), 0), 0);
    cio_socket_close(a);

    /* unread bytes held at close are given back (the loop's teardown
     * checks for leaks) */
    tcp_pair(&a, &b);
    assert_int_equal(cio_socket_recv(b, buf, 1, MSG_DONTWAIT), -EAGAIN);
    assert_int_equal(cio_socket_sendall(a, "unread bytes", 12, 0), 0);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    cio_socket_close(b);
    cio_socket_close(a);

    /* a writer parked in sendall to a peer that never reads */
    tcp_pair(&a, &b);
    assert_int_equal(cio_socket_recv(b, buf, 1, MSG_DONTWAIT), -EAGAIN);
    g_w = b;
    t = spawn(big_writer, NULL);
    c = spawn(closer, b);
    assert_int_equal(join(t), -EBADF);
    assert_int_equal(join(c), 0);
    cio_socket_close(a);
    return 0;
}

TU_NET_CASE(close_while_waiting, close_main)

/* ---- peer reset ---- */

static int reset_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *a, *b;
    tcp_pair(&a, &b);
    g_r = b;
    cio_task *t = spawn(reader, NULL); /* parked when the RST comes */
    assert_int_equal(cio_sleep(CIO_MS), 0);
    struct linger lg = {1, 0};
    assert_int_equal(
        cio_socket_setsockopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    cio_socket_close(a); /* sends RST */
    assert_int_equal(join(t), -ECONNRESET);
    assert_int_equal(cio_socket_recv(b, g_buf, sizeof(g_buf), 0), 0);
    /* writes to it fail, without SIGPIPE, at the latest on the next call */
    int r = 0;
    for (int i = 0; i < 100 && r >= 0; i++) {
        r = cio_socket_sendall(b, "x", 1, 0);
        if (r >= 0)
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    assert_true(r == -EPIPE || r == -ECONNRESET);
    cio_socket_close(b);
    return 0;
}

TU_NET_CASE(peer_reset, reset_main)

/* ---- large transfers both ways at once ---- */

#define BIG (8u << 20)

typedef struct xfer {
    cio_socket *s;
    size_t piece; /* recv buffer size */
} xfer;

static int big_send(void *arg, void **result)
{
    (void)result;
    xfer *x = arg;
    char *p = malloc(BIG);
    assert_non_null(p);
    for (size_t i = 0; i < BIG; i++)
        p[i] = pat(i);
    /* in uneven pieces, through send, sendall and sendallv */
    size_t off = 0;
    int k = 0;
    while (off < BIG) {
        size_t n = 70001 + (size_t)(k++ % 7) * 3001;
        if (n > BIG - off)
            n = BIG - off;
        int r;
        if (k % 3 == 0) {
            struct iovec v[2] = {{p + off, n / 2}, {p + off + n / 2, n - n / 2}};
            r = cio_socket_sendallv(x->s, v, 2);
        } else if (k % 3 == 1) {
            r = cio_socket_sendall(x->s, p + off, n, 0);
        } else {
            ssize_t w = cio_socket_send(x->s, p + off, n, 0);
            assert_true(w > 0);
            n = (size_t)w;
            r = 0;
        }
        assert_int_equal(r, 0);
        off += n;
    }
    free(p);
    return cio_socket_shutdown(x->s, SHUT_WR);
}

static int big_recv(void *arg, void **result)
{
    (void)result;
    xfer *x = arg;
    char *p = malloc(x->piece);
    assert_non_null(p);
    size_t got = 0;
    int bad = 0;
    for (;;) {
        ssize_t n = cio_socket_recv(x->s, p, x->piece, 0);
        assert_true(n >= 0);
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++)
            bad += p[i] != pat(got + (size_t)i);
        got += (size_t)n;
    }
    free(p);
    assert_int_equal(bad, 0);
    assert_int_equal(got, BIG);
    return 0;
}

static int large_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *a, *b;
    tcp_pair(&a, &b);
    xfer xa_s = {a, 0}, xb_s = {b, 0}, xa_r = {a, 1000}, xb_r = {b, 65536};
    cio_task *t[4] = {spawn(big_recv, &xb_r), spawn(big_recv, &xa_r),
                      spawn(big_send, &xa_s), spawn(big_send, &xb_s)};
    for (int i = 0; i < 4; i++)
        assert_int_equal(join(t[i]), 0);
    cio_socket_close(a);
    cio_socket_close(b);
    return 0;
}

TU_NET_CASE(large_transfers, large_main)

/* ---- writes then close or shutdown: every byte, then EOF ---- */

enum { WC_N = 300000 };
static char out[WC_N], in[WC_N];

/* Reads WC_N bytes equal to out, then EOF. */
static int read_all(void *arg, void **result)
{
    (void)result;
    static char got[WC_N];
    recv_exact(arg, got, WC_N);
    assert_memory_equal(got, out, WC_N);
    char b[10];
    return (int)cio_socket_recv(arg, b, sizeof(b), 0);
}

static int write_close_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    enum { N = WC_N };
    for (size_t i = 0; i < N; i++)
        out[i] = pat(i);
    cio_socket *a, *b;
    /* shutdown(SHUT_WR) right after the writes */
    tcp_pair(&a, &b);
    assert_int_equal(cio_socket_recv(b, in, 1, MSG_DONTWAIT), -EAGAIN);
    struct iovec v[2] = {{out, 100}, {out + 100, 900}};
    assert_int_equal(cio_socket_try_writev(b, v, 2), 1000);
    assert_int_equal(cio_socket_shutdown(b, SHUT_WR), 0);
    assert_int_equal(cio_socket_send(b, "x", 1, 0), -EPIPE);
    recv_exact(a, in, 1000);
    assert_memory_equal(in, out, 1000);
    assert_int_equal(cio_socket_recv(a, in, 10, 0), 0);
    cio_socket_close(a);
    cio_socket_close(b);
    /* close right after writes, while the peer is still reading */
    tcp_pair(&a, &b);
    assert_int_equal(cio_socket_recv(b, in, 1, MSG_DONTWAIT), -EAGAIN);
    cio_task *t = spawn(read_all, a);
    size_t off = 0;
    while (off < N) {
        ssize_t w = cio_socket_send(b, out + off, N - off, 0);
        assert_true(w > 0);
        off += (size_t)w;
    }
    cio_socket_close(b);
    assert_int_equal(join(t), 0);
    cio_socket_close(a);
    return 0;
}

TU_NET_CASE(writes_then_close, write_close_main)

/* ---- back-pressure: a reader that stops reading stops the sender ---- */

static int sender_done;

static int flood(void *arg, void **result)
{
    (void)result;
    size_t n = 32u << 20;
    char *p = calloc(1, n);
    assert_non_null(p);
    int r = cio_socket_sendall(arg, p, n, 0);
    free(p);
    sender_done = 1;
    return r;
}

static int backpressure_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *a, *b;
    tcp_pair(&a, &b);
    char buf[16];
    assert_int_equal(cio_socket_recv(b, buf, 1, MSG_DONTWAIT), -EAGAIN);
    sender_done = 0;
    cio_task *t = spawn(flood, a);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    /* 32 MiB cannot all be in flight: the receiver held back */
    assert_false(sender_done);
    static char big[1 << 16];
    size_t got = 0;
    while (got < (32u << 20)) {
        ssize_t n = cio_socket_recv(b, big, sizeof(big), 0);
        assert_true(n > 0);
        got += (size_t)n;
    }
    assert_int_equal(join(t), 0);
    assert_true(sender_done);
    cio_socket_close(a);
    cio_socket_close(b);
    return 0;
}

TU_NET_CASE(back_pressure, backpressure_main)

/* ---- close with sends the peer never takes: bounded by CQ_LINGER ---- */

static int fd_open(int fd)
{
    return fcntl(fd, F_GETFD) != -1;
}

/* On io_uring a closed socket keeps its descriptor while a send of its
 * buffered bytes is in the kernel (the peer may still read them), and at
 * most 30 s (sock.c's CQ_LINGER): then the send is cancelled and the
 * descriptor closed. On the virtual clock the 30 s pass at once. On
 * epoll the descriptor closes at close. Either way the loop ends clean. */
static int linger_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_sockaddr addr;
    cio_socket *b, *ls = listen_loopback(&addr);
    /* the peer: a plain socket with a small window that never reads */
    int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(a >= 0);
    int small = 4096;
    assert_int_equal(
        setsockopt(a, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_int_equal(connect(a, (struct sockaddr *)&addr.ss, addr.len), 0);
    assert_int_equal(cio_socket_accept(ls, &b, NULL), 0);
    cio_socket_close(ls);
    assert_int_equal(cio_socket_setsockopt_int(b, SOL_SOCKET, SO_SNDBUF, 4096),
                     0);
    char c;
    assert_int_equal(cio_socket_recv(b, &c, 1, MSG_DONTWAIT), -EAGAIN);
    int fd = cio_socket_fileno(b);
    assert_true(fd >= 0);
    /* a writer that can never finish: cancelled while its bytes sit in
     * the socket's buffers and a send waits in the kernel */
    cio_task *t = spawn(flood, b);
    assert_int_equal(cio_sleep(100 * CIO_MS), 0);
    assert_false(cio_future_done(t));
    cio_task_cancel(t, NULL);
    assert_int_equal(join(t), -ECANCELED);
    cio_socket_close(b);
    int uring = strcmp(cio_loop_backend_name(g_loop), "uring") == 0;
    if (uring) {
        assert_true(fd_open(fd)); /* kept for the send in the kernel */
        assert_int_equal(cio_sleep(29 * CIO_SEC), 0);
        assert_true(fd_open(fd)); /* not before 30 s */
    }
    WAIT_FOR(!fd_open(fd));
    close(a);
    return 0;
}

static void close_linger_bounded(void **state)
{
    (void)state;
    assert_int_equal(run_virtual(linger_main, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(cancel_mid_recv, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(held_across_recv, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(close_while_waiting, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(peer_reset, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(large_transfers, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(writes_then_close, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(back_pressure, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(close_linger_bounded, tu_setup,
                                    tu_teardown),
};

CIO_TEST_MAIN(tests)
