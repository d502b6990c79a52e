/*
 * test_udp.c - datagram endpoints over loopback only: echo on IPv4 and
 * IPv6 (a server endpoint and a connected client), a burst drained in
 * recvmmsg batches, ICMP port unreachable reaching error_received on a
 * connected endpoint (which stays usable), truncated datagrams
 * (-EMSGSIZE after the cut datagram), close from inside
 * datagram_received, connection_lost exactly once and from the loop,
 * reuse_port, a remote host name through the resolver, and bad arguments.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

typedef struct peer {
    int made, lost, lost_err;
    int got, bytes, errs, last_err, truncs;
    int echo;           /* echo what arrives */
    int close_on_first; /* close from inside datagram_received */
    int in_close;       /* connection_lost ran inside close (must not) */
    char last[64];
    cio_sockaddr from;
} peer;

static void made(cio_datagram_transport *t, void *ctx)
{
    (void)t;
    ((peer *)ctx)->made++;
}

static void received(cio_datagram_transport *t, const void *data, size_t len,
                     const cio_sockaddr *addr, void *ctx)
{
    peer *p = ctx;
    p->got++;
    p->bytes += (int)len;
    p->from = *addr;
    memcpy(p->last, data, len < sizeof(p->last) ? len : sizeof(p->last));
    if (p->echo)
        assert_int_equal(cio_datagram_transport_sendto(t, data, len, addr), 0);
    if (p->close_on_first) {
        p->in_close = 1;
        cio_datagram_transport_close(t);
        p->in_close = 0;
    }
}

static void err_received(cio_datagram_transport *t, int err, void *ctx)
{
    (void)t;
    peer *p = ctx;
    p->errs++;
    p->last_err = err;
    if (err == -EMSGSIZE)
        p->truncs++;
}

static void lost(cio_datagram_transport *t, int err, void *ctx)
{
    (void)t;
    peer *p = ctx;
    assert_false(p->in_close);
    p->lost++;
    p->lost_err = err;
}

static const cio_datagram_protocol PROTO = {made, received, err_received,
                                            lost};

static cio_datagram_transport *endpoint(peer *p, const cio_datagram_opts *o)
{
    cio_datagram_transport *t;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, p, o, &t), 0);
    assert_int_equal(p->made, 1);
    return t;
}

static void close_and_wait(cio_datagram_transport *t, peer *p)
{
    cio_datagram_transport_close(t);
    assert_true(cio_datagram_transport_is_closing(t));
    assert_int_equal(p->lost, 0); /* from the loop, not from close */
    WAIT_FOR(p->lost == 1);
    assert_int_equal(p->lost_err, 0);
}

static void echo_on(const char *ip)
{
    peer sp = {.echo = 1}, cp = {0};
    cio_datagram_opts so = CIO_DATAGRAM_OPTS_INIT;
    so.local_host = ip;
    cio_datagram_transport *s = endpoint(&sp, &so);
    cio_sockaddr sa;
    assert_int_equal(cio_datagram_transport_sockname(s, &sa), 0);
    assert_true(cio_sockaddr_port(&sa) > 0);
    assert_int_equal(cio_datagram_transport_peername(s, &sa), -ENOTCONN);
    assert_int_equal(cio_datagram_transport_sockname(s, &sa), 0);
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.remote_host = ip;
    co.remote_port = cio_sockaddr_port(&sa);
    co.recv_batch = 4; /* a burst of 200 takes many recvmmsg batches */
    cio_datagram_transport *c = endpoint(&cp, &co);
    cio_sockaddr peer_addr;
    assert_int_equal(cio_datagram_transport_peername(c, &peer_addr), 0);
    assert_int_equal(cio_sockaddr_port(&peer_addr), cio_sockaddr_port(&sa));
    assert_true(cio_datagram_transport_fileno(c) >= 0);
    /* One datagram, then an empty one (a valid UDP datagram). */
    assert_int_equal(cio_datagram_transport_sendto(c, "ping", 4, NULL), 0);
    WAIT_FOR(cp.got == 1);
    assert_memory_equal(cp.last, "ping", 4);
    assert_int_equal(cp.bytes, 4);
    assert_int_equal(cio_datagram_transport_sendto(c, "", 0, NULL), 0);
    WAIT_FOR(cp.got == 2);
    assert_int_equal(cp.bytes, 4);
    /* A burst: every datagram comes back (loopback, small rate). */
    for (int i = 0; i < 200; i++) {
        char m[16];
        int n = snprintf(m, sizeof(m), "m%d", i);
        assert_int_equal(cio_datagram_transport_sendto(c, m, (size_t)n, NULL),
                         0);
        if (i % 50 == 49)
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    WAIT_FOR(cp.got == 202);
    assert_int_equal(sp.got, 202);
    assert_int_equal(cp.errs + sp.errs, 0);
    assert_int_equal(cio_datagram_transport_write_buffer_size(c), 0);
    /* Bad arguments: connected endpoints take no address, unconnected
     * ones need one. */
    assert_int_equal(cio_datagram_transport_sendto(c, "x", 1, &sa), -EINVAL);
    assert_int_equal(cio_datagram_transport_sendto(s, "x", 1, NULL), -EINVAL);
    assert_int_equal(cio_datagram_transport_sendto(NULL, "x", 1, NULL),
                     -EINVAL);
    close_and_wait(c, &cp);
    close_and_wait(s, &sp);
}

static int echo4_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    echo_on("127.0.0.1");
    return 0;
}

TU_NET_CASE(udp_echo_ipv4, echo4_main)

static int echo6_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fd = socket(AF_INET6, SOCK_DGRAM, 0);
    struct sockaddr_in6 a = {.sin6_family = AF_INET6,
                             .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    if (!ok)
        return 0; /* no IPv6 loopback on this machine */
    echo_on("::1");
    return 0;
}

TU_NET_CASE(udp_echo_ipv6, echo6_main)

/* A port nobody listens on: the kernel's ICMP port unreachable comes
 * back as ECONNREFUSED on the connected endpoint, which stays open. */
static int icmp_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    close(fd);
    peer cp = {0};
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.remote_host = "127.0.0.1";
    co.remote_port = ntohs(a.sin_port);
    cio_datagram_transport *c = endpoint(&cp, &co);
    for (int i = 0; i < 50 && !cp.errs; i++) {
        assert_int_equal(cio_datagram_transport_sendto(c, "x", 1, NULL), 0);
        assert_int_equal(cio_sleep(2 * CIO_MS), 0);
    }
    assert_true(cp.errs >= 1);
    assert_int_equal(cp.last_err, -ECONNREFUSED);
    assert_false(cio_datagram_transport_is_closing(c));
    assert_int_equal(cp.lost, 0);
    assert_int_equal(cio_datagram_transport_sendto(c, "y", 1, NULL), 0);
    close_and_wait(c, &cp);
    return 0;
}

TU_NET_CASE(udp_icmp_error_received, icmp_main)

/* recv_size 16: a 100-byte datagram arrives cut, then -EMSGSIZE. */
static int trunc_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    peer sp = {0}, cp = {0};
    cio_datagram_opts so = CIO_DATAGRAM_OPTS_INIT;
    so.local_host = "127.0.0.1";
    so.recv_size = 16;
    cio_datagram_transport *s = endpoint(&sp, &so);
    cio_sockaddr sa;
    assert_int_equal(cio_datagram_transport_sockname(s, &sa), 0);
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.local_host = "127.0.0.1";
    cio_datagram_transport *c = endpoint(&cp, &co);
    char big[100];
    memset(big, 'z', sizeof(big));
    assert_int_equal(cio_datagram_transport_sendto(c, big, sizeof(big), &sa),
                     0);
    WAIT_FOR(sp.got == 1);
    assert_int_equal(sp.bytes, 16);
    assert_int_equal(sp.truncs, 1);
    /* The sender's address is the client's. */
    cio_sockaddr ca;
    assert_int_equal(cio_datagram_transport_sockname(c, &ca), 0);
    assert_int_equal(cio_sockaddr_port(&sp.from), cio_sockaddr_port(&ca));
    /* Too long for UDP at all: this call's error. */
    static char huge[70000];
    assert_int_equal(cio_datagram_transport_sendto(c, huge, sizeof(huge), &sa),
                     -EMSGSIZE);
    close_and_wait(c, &cp);
    close_and_wait(s, &sp);
    return 0;
}

TU_NET_CASE(udp_truncated_datagram, trunc_main)

/* Closing from datagram_received: no more datagrams, connection_lost once
 * from the loop, sendto refused afterwards. */
static int close_in_cb_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    peer sp = {.close_on_first = 1}, cp = {0};
    cio_datagram_opts so = CIO_DATAGRAM_OPTS_INIT;
    so.local_host = "127.0.0.1";
    cio_datagram_transport *s = endpoint(&sp, &so);
    cio_sockaddr sa;
    assert_int_equal(cio_datagram_transport_sockname(s, &sa), 0);
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.remote_host = "127.0.0.1";
    co.remote_port = cio_sockaddr_port(&sa);
    cio_datagram_transport *c = endpoint(&cp, &co);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cio_datagram_transport_sendto(c, "a", 1, NULL), 0);
    WAIT_FOR(sp.lost == 1);
    assert_int_equal(sp.got, 1);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    assert_int_equal(sp.lost, 1);
    assert_int_equal(cio_datagram_transport_sendto(c, "a", 1, NULL) >= 0, 1);
    cio_datagram_transport_abort(c);
    assert_int_equal(cio_datagram_transport_sendto(c, "a", 1, NULL), -EBADF);
    assert_int_equal(cio_datagram_transport_fileno(c), -EBADF);
    cio_datagram_transport_close(c); /* idempotent */
    WAIT_FOR(cp.lost == 1);
    return 0;
}

TU_NET_CASE(udp_close_from_callback, close_in_cb_main)

static int options_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* reuse_port: two endpoints on one port. */
    peer a = {0}, b = {0}, x = {0};
    cio_datagram_opts o = CIO_DATAGRAM_OPTS_INIT;
    o.local_host = "127.0.0.1";
    o.reuse_port = 1;
    o.allow_broadcast = 1;
    cio_datagram_transport *ta = endpoint(&a, &o);
    cio_sockaddr sa;
    assert_int_equal(cio_datagram_transport_sockname(ta, &sa), 0);
    o.local_port = cio_sockaddr_port(&sa);
    cio_datagram_transport *tb = endpoint(&b, &o);
    o.reuse_port = 0;
    cio_datagram_transport *tx;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &x, &o, &tx),
                     -EADDRINUSE);
    assert_null(tx);
    assert_int_equal(x.made, 0);
    /* A remote host name goes through the resolver. */
    peer c = {0};
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.remote_host = "localhost";
    co.remote_port = o.local_port;
    co.family = AF_INET;
    cio_datagram_transport *tc = endpoint(&c, &co);
    assert_int_equal(cio_datagram_transport_sendto(tc, "hi", 2, NULL), 0);
    WAIT_FOR(a.got + b.got == 1);
    /* Multicast: a group of the wrong family is refused. */
    assert_int_equal(cio_datagram_transport_multicast(ta, "ff02::1", NULL, 0,
                                                      1),
                     -EINVAL);
    assert_int_equal(cio_datagram_transport_multicast(ta, "not an ip", NULL, 0,
                                                      1),
                     -EINVAL);
    /* Bad options. */
    cio_datagram_opts bad = CIO_DATAGRAM_OPTS_INIT;
    bad.recv_size = 70000;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &x, &bad, &tx),
                     -EINVAL);
    bad.recv_size = 0;
    bad.local_port = 70000;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &x, &bad, &tx),
                     -EINVAL);
    assert_int_equal(cio_create_datagram_endpoint(NULL, &x, NULL, &tx),
                     -EINVAL);
    close_and_wait(tc, &c);
    close_and_wait(ta, &a);
    close_and_wait(tb, &b);
    return 0;
}

TU_NET_CASE(udp_options, options_main)

/* A full peer queue: one end of socketpair(AF_UNIX, SOCK_DGRAM) wrapped
 * as an endpoint, the other end read by hand. Sends beyond the kernel's
 * queue are queued, the queue is bounded (-ENOBUFS), and everything
 * accepted arrives, in order, once the peer reads (sendmmsg flush). */
static int queue_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
    int fl = fcntl(sv[1], F_GETFL);
    assert_int_equal(fcntl(sv[1], F_SETFL, fl | O_NONBLOCK), 0);
    peer p = {0};
    cio_datagram_opts o = CIO_DATAGRAM_OPTS_INIT;
    o.max_queue = 64 * 1024;
    cio_datagram_transport *t;
    assert_int_equal(cio_create_datagram_endpoint_from_fd(&PROTO, &p, sv[0], &o,
                                                          &t),
                     0);
    char m[1000];
    int accepted = 0, r = 0;
    while (accepted < 100000) {
        memcpy(m, &accepted, sizeof(accepted));
        r = cio_datagram_transport_sendto(t, m, sizeof(m), NULL);
        if (r < 0)
            break;
        accepted++;
    }
    assert_int_equal(r, -ENOBUFS);
    assert_true(cio_datagram_transport_write_buffer_size(t) > 0);
    assert_true(cio_datagram_transport_write_buffer_size(t) <= o.max_queue);
    /* Drain the peer; the loop flushes the queue as room appears. */
    int next = 0;
    for (int idle = 0; next < accepted && idle < 2000;) {
        char b[2000];
        ssize_t n = recv(sv[1], b, sizeof(b), 0);
        if (n < 0) {
            assert_int_equal(cio_sleep(CIO_MS), 0);
            idle++;
            continue;
        }
        assert_int_equal(n, (ssize_t)sizeof(m));
        int k;
        memcpy(&k, b, sizeof(k));
        assert_int_equal(k, next);
        next++;
    }
    assert_int_equal(next, accepted);
    assert_int_equal(cio_datagram_transport_write_buffer_size(t), 0);
    assert_int_equal(p.errs, 0);
    close_and_wait(t, &p);
    close(sv[1]);
    /* Not a datagram socket. */
    int st[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, st), 0);
    peer q = {0};
    assert_int_equal(cio_create_datagram_endpoint_from_fd(&PROTO, &q, st[0],
                                                          NULL, &t),
                     -EINVAL);
    close(st[0]);
    close(st[1]);
    return 0;
}

TU_NET_CASE(udp_full_queue_flushed, queue_main)

static void outside_task(void **state)
{
    (void)state;
    peer p = {0};
    cio_datagram_transport *t;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &p, NULL, &t),
                     -EINVAL);
    assert_int_equal(p.made, 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(udp_echo_ipv4, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_echo_ipv6, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_icmp_error_received, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_truncated_datagram, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_close_from_callback, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_options, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_full_queue_flushed, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(outside_task, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
