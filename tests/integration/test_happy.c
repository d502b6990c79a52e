/*
 * test_happy.c - Happy Eyeballs (RFC 8305) in cio_open_connection and
 * cio_create_connection (cio_conn_opts.happy_eyeballs_delay, interleave),
 * on loopback only: a name from a hosts file ($CARES_HOSTS) gives ::1 and
 * 127.0.0.1; one of them refuses (no listener) or blackholes (a listener
 * whose accept queue is full, so the kernel drops the SYN and the connect
 * hangs). Checked: the race wins on the other address, the one-by-one
 * order (delay 0) is still stuck on the blackhole when the race has long
 * won, every address refusing gives -ECONNREFUSED, cancellation in the
 * middle of a race returns -ECANCELED at once, and no descriptor is left
 * behind in any of these.
 */
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"

#define DELAY (30 * CIO_MS)

static char g_hosts[64];
static int g_fam[2]; /* the resolver's order for he.test */

/* A listening socket of family fam on its loopback address at port
 * (0: any); backlog as given. Returns the fd, or -1 if the port is taken. */
static int listen_on(int fam, int port, int backlog)
{
    int fd = socket(fam, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    assert_true(fd >= 0);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    socklen_t len;
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons((uint16_t)port);
        len = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((uint16_t)port);
        len = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
        close(fd);
        return -1;
    }
    assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

static int port_of(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family == AF_INET
               ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
               : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* The scene: at one port, the address of family g_fam[0] (tried first)
 * behaves as `first` says, the other one as `second`. */
enum { LIVE, REFUSE, BLACKHOLE };

typedef struct scene {
    int port;
    int lfd[2];     /* listeners (-1: none) */
    int fill[8];    /* the connections that fill a blackhole's queue */
    int nfill;
} scene;

static int fill_queue(scene *s, int fam, int port)
{
    /* backlog 0 admits one connection (backlog + 1); then the kernel
     * drops SYNs while nobody accepts: connects to it hang. */
    for (int i = 0; i < 3; i++) {
        int fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        socklen_t len;
        if (fam == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&ss;
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a->sin_port = htons((uint16_t)port);
            len = sizeof(*a);
        } else {
            struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            a->sin6_port = htons((uint16_t)port);
            len = sizeof(*a);
        }
        int r = connect(fd, (struct sockaddr *)&ss, len);
        assert_true(r == 0 || errno == EINPROGRESS);
        s->fill[s->nfill++] = fd;
        usleep(20000); /* let the handshake land in the queue */
    }
    return 0;
}

static void scene_make(scene *s, int first, int second)
{
    int how[2] = {first, second};
    for (int tries = 0; tries < 50; tries++) {
        memset(s, 0, sizeof(*s));
        s->lfd[0] = s->lfd[1] = -1;
        /* A free port on the second family, then the same on the first. */
        int probe = listen_on(g_fam[1], 0, 16);
        s->port = port_of(probe);
        int ok = 1;
        for (int i = 0; i < 2 && ok; i++) {
            if (how[i] == REFUSE)
                continue;
            int fd = i == 1 ? probe
                            : listen_on(g_fam[0], s->port,
                                        how[i] == BLACKHOLE ? 0 : 16);
            if (i == 1 && how[i] == BLACKHOLE) {
                close(probe);
                fd = listen_on(g_fam[1], s->port, 0);
            }
            if (fd < 0)
                ok = 0;
            s->lfd[i] = fd;
        }
        if (how[1] == REFUSE)
            close(probe);
        if (!ok) {
            for (int i = 0; i < 2; i++)
                if (s->lfd[i] >= 0)
                    close(s->lfd[i]);
            continue;
        }
        for (int i = 0; i < 2; i++)
            if (how[i] == BLACKHOLE)
                fill_queue(s, g_fam[i], s->port);
        return;
    }
    fail_msg("no port free on both loopback addresses");
}

static void scene_end(scene *s)
{
    for (int i = 0; i < 2; i++)
        if (s->lfd[i] >= 0)
            close(s->lfd[i]);
    for (int i = 0; i < s->nfill; i++)
        close(s->fill[i]);
}

/* 1 if listener i has a connection waiting (accepted and closed here). */
static int accepted(scene *s, int i)
{
    int fd = accept4(s->lfd[i], NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

static cio_conn_opts he_opts(int64_t delay)
{
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.happy_eyeballs_delay = delay;
    return o;
}

static int setup(void **state)
{
    strcpy(g_hosts, "/tmp/cio_happy_hosts_XXXXXX");
    int fd = mkstemp(g_hosts);
    assert_true(fd >= 0);
    const char text[] = "::1 he.test\n127.0.0.1 he.test\n";
    assert_int_equal(write(fd, text, sizeof(text) - 1),
                     (ssize_t)sizeof(text) - 1);
    close(fd);
    setenv("CARES_HOSTS", g_hosts, 1);
    return tu_setup(state);
}

static int teardown(void **state)
{
    unsetenv("CARES_HOSTS");
    unlink(g_hosts);
    return tu_teardown(state);
}

/* Learns the resolver's order; 0 if he.test has both families. */
static int learn_order(void)
{
    struct addrinfo *res;
    assert_int_equal(cio_getaddrinfo("he.test", "80", AF_UNSPEC, SOCK_STREAM,
                                     0, &res),
                     0);
    g_fam[0] = res->ai_family;
    g_fam[1] = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family != g_fam[0] && !g_fam[1])
            g_fam[1] = ai->ai_family;
    freeaddrinfo(res);
    assert_true(g_fam[1] != 0);
    return 0;
}

static int open_stream(void *arg, void **result)
{
    (void)result;
    const cio_conn_opts *o = arg;
    cio_stream_reader *r;
    cio_stream_writer *w;
    int port = o->read_size ? (int)o->read_size : 0;
    cio_conn_opts o2 = *o;
    o2.read_size = 0;
    int rc = cio_open_connection("he.test", port, &o2, &r, &w);
    if (rc == 0) {
        cio_stream_reader_free(r);
        cio_stream_writer_free(w);
    }
    return rc;
}

static int blackhole_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    learn_order();
    int fds0 = count_fds();
    scene s;
    scene_make(&s, BLACKHOLE, LIVE);
    int fds1 = count_fds();

    /* Streams: the first address hangs, the race wins on the second. */
    cio_conn_opts o = he_opts(DELAY);
    cio_stream_reader *r;
    cio_stream_writer *w;
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_open_connection("he.test", s.port, &o, &r, &w), 0);
    int64_t el = cio_loop_time(g_loop) - t0;
    assert_true(el >= DELAY && el < 900 * CIO_MS); /* before a SYN retry */
    cio_sockaddr peer;
    assert_int_equal(cio_stream_writer_peername(w, &peer), 0);
    assert_int_equal(cio_sockaddr_family(&peer), g_fam[1]);
    assert_int_equal(cio_sockaddr_port(&peer), s.port);
    assert_int_equal(count_fds(), fds1 + 1); /* the loser is closed */
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    assert_int_equal(accepted(&s, 1), 1);

    /* One by one (no delay) the same call is still stuck on the first
     * address long after the race won: the kernel retries its SYN. */
    cio_conn_opts seq = CIO_CONN_OPTS_INIT;
    seq.read_size = (size_t)s.port; /* the port, for open_stream */
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(open_stream, &seq),
                                     NULL, &t),
                     0);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(t), 300 * CIO_MS, NULL),
                     -ETIMEDOUT);
    cio_future_release(t);
    assert_int_equal(accepted(&s, 1), 0);
    assert_int_equal(count_fds(), fds1);

    /* Protocols take the same path. */
    scene_end(&s);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(happy_blackhole_first, blackhole_main)

static int made;

static int p_made(cio_transport *t, void *ctx)
{
    (void)t;
    (void)ctx;
    made++;
    return 0;
}

static int p_data(cio_transport *t, const void *data, size_t n, void *ctx)
{
    (void)t;
    (void)data;
    (void)n;
    (void)ctx;
    return 0;
}

static const cio_protocol PROTO = {.connection_made = p_made,
                                   .data_received = p_data};

static int factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    *proto = &PROTO;
    *ctx = NULL;
    return 0;
}

static int protocol_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    learn_order();
    int fds0 = count_fds();
    scene s;
    scene_make(&s, BLACKHOLE, LIVE);
    int fds1 = count_fds();
    cio_conn_opts o = he_opts(DELAY);
    cio_transport *t;
    made = 0;
    int rc = cio_create_connection(factory, NULL, "he.test", s.port, &o, &t);
    if (rc)
        fprintf(stderr, "create_connection: %s\n", cio_strerror(rc));
    assert_int_equal(rc, 0);
    assert_int_equal(made, 1);
    cio_sockaddr peer;
    assert_int_equal(cio_transport_peername(t, &peer), 0);
    assert_int_equal(cio_sockaddr_family(&peer), g_fam[1]);
    assert_int_equal(count_fds(), fds1 + 1);
    cio_transport_abort(t);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(accepted(&s, 1), 1);
    /* interleave -1 keeps the resolver's order: the same outcome. */
    o.interleave = -1;
    assert_int_equal(cio_create_connection(factory, NULL, "he.test", s.port,
                                           &o, &t),
                     0);
    assert_int_equal(cio_transport_peername(t, &peer), 0);
    assert_int_equal(cio_sockaddr_family(&peer), g_fam[1]);
    cio_transport_abort(t);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    /* Bad options are refused before anything is opened. */
    o.happy_eyeballs_delay = -1;
    assert_int_equal(cio_create_connection(factory, NULL, "he.test", s.port,
                                           &o, &t),
                     -EINVAL);
    o = he_opts(DELAY);
    o.interleave = -2;
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_connection("he.test", s.port, &o, &r, &w),
                     -EINVAL);
    scene_end(&s);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(happy_protocol, protocol_main)

static int refused_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    learn_order();
    int fds0 = count_fds();
    scene s;
    scene_make(&s, REFUSE, LIVE);
    /* The first address refuses: both modes go on to the second at once
     * (the race does not wait for its delay). */
    for (int mode = 0; mode < 2; mode++) {
        cio_conn_opts o = he_opts(mode ? 2 * CIO_SEC : 0);
        cio_stream_reader *r;
        cio_stream_writer *w;
        int64_t t0 = cio_loop_time(g_loop);
        assert_int_equal(cio_open_connection("he.test", s.port, &o, &r, &w),
                         0);
        assert_true(cio_loop_time(g_loop) - t0 < CIO_SEC);
        cio_sockaddr peer;
        assert_int_equal(cio_stream_writer_peername(w, &peer), 0);
        assert_int_equal(cio_sockaddr_family(&peer), g_fam[1]);
        cio_stream_reader_free(r);
        cio_stream_writer_free(w);
        assert_int_equal(accepted(&s, 1), 1);
    }
    scene_end(&s);
    /* Every address refuses: the error of the last one. */
    scene_make(&s, REFUSE, REFUSE);
    for (int mode = 0; mode < 2; mode++) {
        cio_conn_opts o = he_opts(mode ? DELAY : 0);
        cio_stream_reader *r;
        cio_stream_writer *w;
        assert_int_equal(cio_open_connection("he.test", s.port, &o, &r, &w),
                         -ECONNREFUSED);
        assert_null(r);
        assert_null(w);
    }
    scene_end(&s);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(happy_refused, refused_main)

static int cancel_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    learn_order();
    int fds0 = count_fds();
    scene s;
    scene_make(&s, BLACKHOLE, BLACKHOLE);
    int fds1 = count_fds();
    /* Cancelled before both attempts run, and after both hang. */
    for (int i = 0; i < 3; i++) {
        cio_conn_opts o = he_opts(DELAY);
        o.read_size = (size_t)s.port;
        cio_task *t;
        assert_int_equal(cio_task_create(g_loop, CIO_CORO(open_stream, &o),
                                         NULL, &t),
                         0);
        if (i == 1)
            assert_int_equal(cio_sleep(DELAY / 3), 0); /* one attempt */
        if (i == 2)
            assert_int_equal(cio_sleep(3 * DELAY), 0); /* both */
        int64_t t0 = cio_loop_time(g_loop);
        cio_task_cancel(t, NULL);
        assert_int_equal(cio_await(t, NULL), -ECANCELED);
        assert_true(cio_loop_time(g_loop) - t0 < 100 * CIO_MS);
        cio_future_release(t);
        assert_int_equal(count_fds(), fds1);
    }
    /* A timeout scope around the race ends it the same way. */
    cio_conn_opts o = he_opts(DELAY);
    o.read_size = (size_t)s.port;
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(open_stream, &o), NULL,
                                     &t),
                     0);
    assert_int_equal(cio_wait_for(CIO_AW_FUTURE(t), 4 * DELAY, NULL),
                     -ETIMEDOUT);
    cio_future_release(t);
    assert_int_equal(count_fds(), fds1);
    scene_end(&s);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(happy_cancel_mid_race, cancel_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(happy_blackhole_first, setup, teardown),
    cmocka_unit_test_setup_teardown(happy_protocol, setup, teardown),
    cmocka_unit_test_setup_teardown(happy_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(happy_cancel_mid_race, setup, teardown),
};

CIO_TEST_MAIN(tests)
