/*
 * test_net_emfile.c - servers under descriptor exhaustion: the streams
 * server (cio_start_server) and the protocol server (cio_create_server)
 * with RLIMIT_NOFILE lowered under them while clients wait in the listen
 * queue. The loop must not spin (CPU time over the pause stays a small
 * fraction of the wall time), the shortage must be reported once per
 * episode (not on each 100 ms retry, and again for a later episode), and
 * every waiting client must be served once descriptors free up.
 * cio_socket_accept's own back-off is tested in test_sock.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio_testutil_net.h"

#define V(x) ((void *)(intptr_t)(x))
#define I(p) ((int)(intptr_t)(p))

enum { N1 = 6, N2 = 3, NCLI = N1 + N2 };

static int g_served;        /* connections the server greeted */
static int g_reports;       /* "accept failed" reports (EMFILE/ENFILE) */
static int g_other_reports; /* anything else the loop reported */

static void on_exception(cio_loop *loop, const cio_exception_context *ctx,
                         void *arg)
{
    if (strstr(ctx->message, "accept failed") &&
        (ctx->error == -EMFILE || ctx->error == -ENFILE)) {
        g_reports++;
        return;
    }
    g_other_reports++;
    cio_loop_default_exception_handler(loop, ctx, arg);
}

/* Streams: greet, then hold the connection (and its descriptor) until the
 * client closes, so accepted connections keep the process starved. */
static int greet_handler(cio_stream_reader *r, cio_stream_writer *w,
                         void *arg)
{
    (void)arg;
    g_served++;
    if (cio_stream_writer_write(w, "hi\n", 3) < 0 ||
        cio_stream_writer_drain(w) < 0)
        return 0;
    char buf[16];
    while (cio_stream_reader_read(r, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

/* Protocol: the same; the transport closes at the client's EOF. */
static int greet_made(cio_transport *t, void *ctx)
{
    (void)ctx;
    g_served++;
    return cio_transport_write(t, "hi\n", 3);
}

static int greet_data(cio_transport *t, const void *data, size_t len,
                      void *ctx)
{
    (void)t;
    (void)data;
    (void)len;
    (void)ctx;
    return 0;
}

static void greet_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    (void)ctx;
}

static const cio_protocol GREET = {
    .connection_made = greet_made,
    .data_received = greet_data,
    .connection_lost = greet_lost,
};

static int greet_factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    *proto = &GREET;
    *ctx = NULL;
    return 0;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Blocking connects: they complete through the kernel's listen queue
 * while the loop does not run, so only the accepting side runs short
 * once the limit drops. */
static void connect_clients(int *fds, int from, int to, const cio_sockaddr *a)
{
    for (int i = from; i < to; i++) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(fds[i] >= 0);
        assert_int_equal(connect(fds[i], (const struct sockaddr *)&a->ss,
                                 a->len),
                         0);
        assert_int_equal(fcntl(fds[i], F_SETFL, O_NONBLOCK), 0);
    }
}

/* Lowers the soft limit so that at most room more descriptors can be
 * opened: every number below the lowest free one is in use, and the
 * limit bounds descriptor numbers. Returns 0, or -1 if not allowed. */
static int starve(int probe_fd, int room)
{
    int top = fcntl(probe_fd, F_DUPFD_CLOEXEC, 0);
    assert_true(top >= 0);
    close(top);
    struct rlimit low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &low), 0);
    low.rlim_cur = (rlim_t)top + (rlim_t)room;
    return setrlimit(RLIMIT_NOFILE, &low);
}

/* The server's greeting arrived on client fd (peeked, left in place). */
static int greeted(int fd)
{
    char buf[3];
    return recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT) == 3 &&
           memcmp(buf, "hi\n", 3) == 0;
}

static int all_greeted(const int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (!greeted(fds[i]))
            return 0;
    return 1;
}

static int emfile_main(void *arg, void **result)
{
    (void)result;
    int protocol = I(arg);
    g_served = g_reports = g_other_reports = 0;
    assert_int_equal(cio_loop_set_exception_handler(g_loop, on_exception,
                                                    NULL),
                     0);
    cio_server *srv;
    if (protocol)
        assert_int_equal(cio_create_server(g_loop, greet_factory, NULL,
                                           "127.0.0.1", 0, NULL, &srv),
                         0);
    else
        assert_int_equal(cio_start_server(g_loop, greet_handler, NULL,
                                          "127.0.0.1", 0, NULL, &srv),
                         0);
    cio_sockaddr addr;
    assert_int_equal(cio_server_sockname(srv, 0, &addr), 0);
    struct rlimit old;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    int cfd[NCLI];

    /* Episode 1: room for two of the six connections. */
    connect_clients(cfd, 0, N1, &addr);
    if (starve(cfd[0], 2) < 0) {
        for (int i = 0; i < N1; i++)
            close(cfd[i]);
        cio_server_free(srv);
        cio_loop_set_exception_handler(g_loop, NULL, NULL);
        return 77;
    }
    double c0 = cpu_seconds(), w0 = wall_seconds();
    assert_int_equal(cio_sleep(300 * CIO_MS), 0);
    double cpu = cpu_seconds() - c0, wall = wall_seconds() - w0;
    fprintf(stderr, "emfile(%s): served %d, %d report(s), cpu %.3f s over "
                    "%.3f s\n",
            protocol ? "protocol" : "streams", g_served, g_reports, cpu,
            wall);
    assert_true(g_served >= 1 && g_served < N1);
    assert_false(all_greeted(cfd, N1));
    /* Spinning on accept would burn ~1.0; the 100 ms pause costs a few
     * system calls. */
    assert_true(cpu < 0.25 * wall);
    /* About three retries happened: still one report. */
    assert_int_equal(g_reports, 1);

    /* Descriptors free up: the waiting clients are served. */
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    WAIT_FOR(g_served == N1 && all_greeted(cfd, N1));
    assert_int_equal(g_reports, 1);

    /* Episode 2, after recovery (the queue was drained): no room at all.
     * It is a new shortage, so it is reported again, once. */
    connect_clients(cfd, N1, NCLI, &addr);
    assert_int_equal(starve(cfd[0], 0), 0);
    assert_int_equal(cio_sleep(250 * CIO_MS), 0);
    assert_int_equal(g_served, N1);
    assert_int_equal(g_reports, 2);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    WAIT_FOR(g_served == NCLI && all_greeted(cfd, NCLI));
    assert_int_equal(g_reports, 2);
    assert_int_equal(g_other_reports, 0);

    for (int i = 0; i < NCLI; i++)
        close(cfd[i]);
    assert_int_equal(cio_server_close(srv), 0);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    assert_int_equal(cio_loop_set_exception_handler(g_loop, NULL, NULL), 0);
    return 0;
}

static void run_emfile(int protocol)
{
    /* Valgrind polices the descriptor limit itself (see test_sock.c's
     * emfile_accept_backoff): nothing to learn there. */
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        skip();
    int r = run_main(emfile_main, V(protocol));
    if (r == 77)
        skip();
    assert_int_equal(r, 0);
}

static void server_emfile_streams(void **state)
{
    (void)state;
    run_emfile(0);
}

static void server_emfile_protocol(void **state)
{
    (void)state;
    run_emfile(1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(server_emfile_streams, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_emfile_protocol, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
