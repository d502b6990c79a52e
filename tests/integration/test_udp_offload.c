/*
 * test_udp_offload.c - send batching and the UDP offloads of datagram
 * endpoints: the replies sent from one read batch's callbacks leave
 * together (GSO runs to one peer where the kernel has UDP_SEGMENT,
 * sendmmsg otherwise), a GRO receiver gets coalesced buffers cut back
 * into the datagrams that were sent, in order, with their sizes (equal
 * ones, a shorter last one, an empty one); offload -1 turns both off and
 * changes nothing visible; a close from a callback still sends the
 * batch's replies first. IPv4 and IPv6 loopback.
 */
#include <errno.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

#define N 24

/* Sizes of the datagrams sent: runs of equal ones, shorter ones that end
 * a GSO run, an empty one. */
static const size_t SIZES[N] = {100, 100, 100, 100, 100, 100, 100, 100,
                                100, 40,  300, 300, 300, 300, 7,   0,
                                64,  64,  64,  64,  64,  64,  64,  64};

typedef struct ep {
    int echo;       /* a server: send each datagram back */
    int close_on;   /* a server: close after echoing a datagram this long */
    int count, lost;
    size_t len[N + 4];
    unsigned char first[N + 4];
    int bad; /* a datagram whose bytes are not its index */
} ep;

static void d_recv(cio_datagram_transport *t, const void *data, size_t len,
                   const cio_sockaddr *addr, void *ctx)
{
    ep *e = ctx;
    const unsigned char *p = data;
    if (e->echo) {
        assert_int_equal(cio_datagram_transport_sendto(t, data, len, addr), 0);
        if (e->close_on && len == (size_t)e->close_on)
            cio_datagram_transport_close(t);
        e->count++;
        return;
    }
    if (e->count < N + 4) {
        e->len[e->count] = len;
        e->first[e->count] = len ? p[0] : 0xff;
    }
    for (size_t i = 1; i < len; i++)
        if (p[i] != p[0])
            e->bad++;
    e->count++;
}

static void d_lost(cio_datagram_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((ep *)ctx)->lost++;
}

static const cio_datagram_protocol PROTO = {.datagram_received = d_recv,
                                            .connection_lost = d_lost};

/* A server on ip (echo) and a client connected to it, both with offload
 * as given; the client sends SIZES in one go (the server reads them in
 * one batch) and checks what comes back. */
static void round_trip(const char *ip, int offload, int close_on)
{
    ep se = {.echo = 1, .close_on = close_on}, ce = {0};
    cio_datagram_opts so = CIO_DATAGRAM_OPTS_INIT;
    so.local_host = ip;
    so.recv_batch = 64;
    so.offload = offload;
    cio_datagram_transport *st, *ct;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &se, &so, &st), 0);
    cio_sockaddr a;
    assert_int_equal(cio_datagram_transport_sockname(st, &a), 0);
    cio_datagram_opts co = CIO_DATAGRAM_OPTS_INIT;
    co.remote_host = ip;
    co.remote_port = cio_sockaddr_port(&a);
    co.recv_batch = 4;
    co.offload = offload;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &ce, &co, &ct), 0);
    unsigned sbits = cio_datagram_transport_offloads(st, NULL, NULL);
    unsigned cbits = cio_datagram_transport_offloads(ct, NULL, NULL);
    if (offload < 0) {
        assert_int_equal(sbits, 0);
        assert_int_equal(cbits, 0);
    }
    unsigned char buf[300];
    int n = close_on ? N + 1 : N;
    for (int i = 0; i < n; i++) {
        size_t len = i < N ? SIZES[i] : (size_t)close_on;
        memset(buf, i, sizeof(buf));
        assert_int_equal(cio_datagram_transport_sendto(ct, buf, len, NULL),
                         0);
    }
    WAIT_FOR(ce.count == n);
    assert_int_equal(ce.bad, 0);
    for (int i = 0; i < n; i++) {
        assert_int_equal(ce.len[i], i < N ? SIZES[i] : (size_t)close_on);
        if (ce.len[i])
            assert_int_equal(ce.first[i], i);
    }
    uint64_t gso = 0, gro = 0;
    if (!close_on) {
        cio_datagram_transport_offloads(st, &gso, NULL);
        cio_datagram_transport_offloads(ct, NULL, &gro);
        /* The echoes were batched: with GSO some left segmented. */
        if (sbits & CIO_DGRAM_GSO)
            assert_true(gso > 0);
        else
            assert_int_equal(gso, 0);
        if (!(cbits & CIO_DGRAM_GRO))
            assert_int_equal(gro, 0);
        else if (sbits & CIO_DGRAM_GSO)
            assert_true(gro > 0); /* loopback keeps a GSO send whole for a
                                     GRO socket: it arrives coalesced */
        cio_datagram_transport_close(st);
    }
    cio_datagram_transport_close(ct);
    WAIT_FOR(se.lost == 1 && ce.lost == 1);
}

static int offload_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    round_trip("127.0.0.1", 0, 0);
    round_trip("::1", 0, 0);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(udp_batched_replies_gso_gro, offload_main)

static int off_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    round_trip("127.0.0.1", -1, 0);
    round_trip("::1", -1, 0);
    return 0;
}

TU_NET_CASE(udp_offload_off, off_main)

static int close_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* The server closes from the callback of the last datagram: the
     * batch's replies, that one's included, still go out first. */
    round_trip("127.0.0.1", 0, 5);
    round_trip("127.0.0.1", -1, 5);
    return 0;
}

TU_NET_CASE(udp_close_with_pending_batch, close_main)

/* A GRO receiver fed by a GSO sender it does not own: a plain socket
 * sending one UDP_SEGMENT message of 10 x 200 bytes. */
static int gro_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    ep ce = {0};
    cio_datagram_opts o = CIO_DATAGRAM_OPTS_INIT;
    o.local_host = "127.0.0.1";
    cio_datagram_transport *t;
    assert_int_equal(cio_create_datagram_endpoint(&PROTO, &ce, &o, &t), 0);
    unsigned bits = cio_datagram_transport_offloads(t, NULL, NULL);
    cio_sockaddr a;
    assert_int_equal(cio_datagram_transport_sockname(t, &a), 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a.ss, a.len), 0);
    unsigned char buf[2000];
    for (int i = 0; i < 10; i++)
        memset(buf + i * 200, i, 200);
    int seg = 200;
    int gso_ok = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg,
                            sizeof(seg)) == 0;
    if (gso_ok) {
        assert_int_equal(send(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    } else {
        for (int i = 0; i < 10; i++)
            assert_int_equal(send(fd, buf + i * 200, 200, 0), 200);
    }
    WAIT_FOR(ce.count == 10);
    assert_int_equal(ce.bad, 0);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(ce.len[i], 200);
        assert_int_equal(ce.first[i], i);
    }
    uint64_t gro = 0;
    cio_datagram_transport_offloads(t, NULL, &gro);
    if (gso_ok && (bits & CIO_DGRAM_GRO))
        assert_int_equal(gro, 1); /* one buffer, cut into ten */
    close(fd);
    cio_datagram_transport_close(t);
    WAIT_FOR(ce.lost == 1);
    return 0;
}

TU_NET_CASE(udp_gro_receive_split, gro_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(udp_batched_replies_gso_gro, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_offload_off, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_close_with_pending_batch, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(udp_gro_receive_split, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
