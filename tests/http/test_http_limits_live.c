/*
 * test_http_limits_live.c - cio::http's connection limits driven past
 * their values, live on 127.0.0.1:
 *   - write_timeout: a client that asks for a large response and never
 *     reads is dropped after about write_timeout (streamed and whole
 *     responses), while a normal client on the same server is served;
 *   - max_connections: with a cap of N, the N+1th connection is accepted
 *     and closed at once (no byte of response), the N keep being served,
 *     and once one of them closes a new connection is served;
 *   - "the responses of all pipelined requests found in one read go out
 *     in one write": 16 pipelined GETs sent in one write are answered with
 *     ONE send system call, counted by the core's system-call seam
 *     (src/core/sys.h) on the worker's thread.
 */
#include "cio_test.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <time.h>

#include "cio_testutil_http.h"
#include "core/sys.h"

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int h_hello(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_text(res, 200, "hello");
}

static void app_new(const cio_http_config *cfg)
{
    assert_int_equal(cio_http_app_new(&g_app, "limits"), 0);
    assert_int_equal(cio_http_route(g_app, "/hello", h_hello, NULL, 0), 0);
    assert_int_equal(cio_http_app_configure(g_app, cfg), 0);
}

static void app_done(void)
{
    assert_int_equal(tu_http_stop(), 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
}

/* One GET /hello on a fresh connection: 1 if answered "hello". */
static int served(void)
{
    int fd = tu_dial_port(g_port);
    if (fd < 0)
        return 0;
    char body[64];
    tu_send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    int st = tu_read_response(fd, body, sizeof(body));
    close(fd);
    return st == 200 && strcmp(body, "hello") == 0;
}

/* Reads fd until EOF or a reset (returns the bytes read) or until nothing
 * came for quiet_ms (returns -1: the connection is still open). */
static long long drain(int fd, int quiet_ms)
{
    static char buf[1 << 16];
    long long n = 0;
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, quiet_ms) <= 0)
            return -1;
        ssize_t g = recv(fd, buf, sizeof(buf), 0);
        if (g == 0 || (g < 0 && errno == ECONNRESET))
            return n;
        if (g < 0)
            return -1;
        n += g;
    }
}

/* A client socket with a small receive buffer, so the server's writes
 * stall after a few hundred KiB. */
static int dial_small_rcvbuf(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int sz = 16384;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)g_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* ---- write_timeout ------------------------------------------------------ */

enum { WRITE_TIMEOUT_MS = 300 };

/* tu_h_flood with the time of its last write the kernel took. */
static _Atomic double flood_last_ok;

static int h_flood_timed(cio_http_request *req, cio_http_response *res,
                         void *a)
{
    (void)req, (void)a;
    static char chunk[65536];
    memset(chunk, 'f', sizeof(chunk));
    tu_flood_written = 0;
    tu_flood_rc = 1;
    flood_last_ok = now_s();
    int r = cio_http_response_stream(res, 200, "application/octet-stream");
    while (r == 0 && tu_flood_written < tu_flood_limit) {
        r = cio_http_response_write(res, chunk, sizeof(chunk));
        if (r == 0) {
            tu_flood_written += (long long)sizeof(chunk);
            flood_last_ok = now_s();
        }
    }
    tu_flood_rc = r;
    return r;
}

/* A streamed response to a client that never reads: the write the client
 * does not take fails with -ETIMEDOUT about write_timeout after the last
 * one that went through, the connection is closed (the client, reading
 * at last, meets the end of the stream), and another client is served
 * meanwhile and after. */
static void write_timeout_streamed(void **state)
{
    (void)state;
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.write_timeout = WRITE_TIMEOUT_MS * (CIO_SEC / 1000);
    app_new(&cfg);
    assert_int_equal(
        cio_http_route(g_app, "/flood", h_flood_timed, NULL, 0), 0);
    tu_flood_limit = 1LL << 30;
    tu_http_start();

    int fd = dial_small_rcvbuf();
    tu_send_str(fd, "GET /flood HTTP/1.1\r\nHost: t\r\n\r\n");
    /* The handler runs and stalls; a normal client is served meanwhile. */
    double t0 = now_s();
    while (tu_flood_written == 0 && now_s() - t0 < 5)
        usleep(1000);
    assert_true(tu_flood_written > 0);
    assert_true(served());
    while (tu_flood_rc == 1 && now_s() - t0 < 10)
        usleep(5000);
    double gave_up = now_s();
    int rc = tu_flood_rc;
    long long written = tu_flood_written;
    double stalled = gave_up - flood_last_ok;
    print_message("write_timeout %d ms: the server took %lld bytes, then "
                  "gave up %.0f ms after its last write (rc %d)\n",
                  WRITE_TIMEOUT_MS, written, stalled * 1000, rc);
    assert_int_equal(rc, -ETIMEDOUT);
    assert_true(written < tu_flood_limit);
    /* About write_timeout: not before it, and well before the 30 s
     * default (the polling above adds a few ms). */
    assert_true(stalled >= 0.9 * WRITE_TIMEOUT_MS / 1000.0);
    assert_true(stalled < 3.0);
    /* The connection is closed: what is still in flight, then EOF. */
    long long got = drain(fd, 3000);
    assert_true(got >= 0);
    close(fd);
    assert_true(served());
    tu_flood_limit = 256LL << 20;
    app_done();
}

/* A whole (not streamed) response larger than the socket buffers, to a
 * client that never reads: the server drops the connection after
 * write_timeout, so the client, reading after 1.5 s, gets what was in
 * flight and then EOF, far less than the body (with the 30 s default it
 * would get the whole body and then wait on an open connection). */
enum { BIG = 32 << 20 };
static char *big;

static int h_big(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_raw(res, 200, big, BIG, NULL);
}

static void write_timeout_whole_response(void **state)
{
    (void)state;
    big = malloc(BIG);
    assert_non_null(big);
    memset(big, 'b', BIG);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.write_timeout = WRITE_TIMEOUT_MS * (CIO_SEC / 1000);
    app_new(&cfg);
    assert_int_equal(cio_http_route(g_app, "/big", h_big, NULL, 0), 0);
    tu_http_start();

    int fd = dial_small_rcvbuf();
    tu_send_str(fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
    usleep(100 * 1000);
    assert_true(served()); /* while the big one is stuck */
    usleep(1400 * 1000);
    long long got = drain(fd, 3000);
    print_message("write_timeout %d ms: the non-reading client got %lld "
                  "of %d body bytes, then EOF\n",
                  WRITE_TIMEOUT_MS, got, BIG);
    assert_true(got >= 0);  /* EOF, not an open connection */
    assert_true(got < BIG); /* cut: the body did not all go */
    close(fd);
    assert_true(served());
    app_done();
    free(big);
}

/* ---- max_connections ---------------------------------------------------- */

enum { CAP = 4 };

/* 1 if fd was closed by the server without a byte: a request sent on it
 * meets EOF or a reset within 3 s. */
static int closed_at_once(int fd)
{
    static const char rq[] = "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n";
    send(fd, rq, sizeof(rq) - 1, MSG_NOSIGNAL);
    return drain(fd, 3000) == 0;
}

static void max_connections_cap(void **state)
{
    (void)state;
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.max_connections = CAP;
    cfg.keep_alive_timeout = 30 * CIO_SEC;
    app_new(&cfg);
    tu_http_start();

    /* CAP keep-alive connections, each served (so each was accepted). */
    int fds[CAP];
    char body[64];
    for (int i = 0; i < CAP; i++) {
        fds[i] = tu_dial();
        tu_send_str(fds[i], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_int_equal(tu_read_response(fds[i], body, sizeof(body)), 200);
    }
    /* Over the cap: the kernel completes the handshake, the server
     * accepts and closes it at once, several times over. */
    for (int k = 0; k < 3; k++) {
        int extra = tu_dial();
        assert_true(closed_at_once(extra));
        close(extra);
    }
    /* The CAP connections are untouched and still served. */
    for (int i = 0; i < CAP; i++) {
        tu_send_str(fds[i], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        assert_int_equal(tu_read_response(fds[i], body, sizeof(body)), 200);
        assert_string_equal(body, "hello");
    }
    /* One of them closes: once the server noticed, a new connection,
     * kept open, is served and takes the freed place. */
    close(fds[0]);
    int ok = 0;
    for (int tries = 0; tries < 50 && !ok; tries++) {
        fds[0] = tu_dial();
        tu_send_str(fds[0], "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
        ok = tu_read_response(fds[0], body, sizeof(body)) == 200;
        if (!ok) {
            close(fds[0]);
            usleep(20 * 1000);
        }
    }
    assert_true(ok);
    /* The cap holds again. */
    int extra = tu_dial();
    assert_true(closed_at_once(extra));
    close(extra);
    for (int i = 0; i < CAP; i++)
        close(fds[i]);
    app_done();
}

/* ---- pipelined responses in one write ----------------------------------- */

/* GET /arm starts counting the system calls of the worker's thread (the
 * thread that runs the handlers and writes the responses); GET /sends
 * answers how many send / sendmsg calls (or io_uring send requests) it
 * made since. */
static int h_arm(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    cio__sys_count();
    return cio_http_response_text(res, 200, "armed");
}

static int h_sends(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    char s[64];
    /* On io_uring a TCP socket's sends are queued requests, not send
     * calls (design.md section 45): both count as one write. */
    snprintf(s, sizeof(s), "%ld %ld",
             cio__sys_calls(CIO__SYS_SEND) + cio__sys_calls(CIO__SYS_URING_SEND),
             cio__sys_calls(CIO__SYS_RECV));
    cio__sys_fail_reset();
    return cio_http_response_text(res, 200, s);
}

enum { NPIPE = 16 };

static void pipelined_one_write(void **state)
{
    (void)state;
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    app_new(&cfg);
    assert_int_equal(cio_http_route(g_app, "/arm", h_arm, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/sends", h_sends, NULL, 0), 0);
    tu_http_start();

    int fd = tu_dial();
    char body[256];
    tu_send_str(fd, "GET /arm HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(tu_read_response(fd, body, sizeof(body)), 200);
    assert_string_equal(body, "armed");
    /* 16 pipelined requests in one write, all answered in order. */
    char reqs[NPIPE * 64];
    size_t n = 0;
    for (int i = 0; i < NPIPE; i++)
        n += (size_t)snprintf(reqs + n, sizeof(reqs) - n,
                              "GET /hello HTTP/1.1\r\nHost: t%d\r\n\r\n", i);
    tu_send_all(fd, reqs, n);
    for (int i = 0; i < NPIPE; i++) {
        assert_int_equal(tu_read_response(fd, body, sizeof(body)), 200);
        assert_string_equal(body, "hello");
    }
    tu_send_str(fd, "GET /sends HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(tu_read_response(fd, body, sizeof(body)), 200);
    long sends = -1, recvs = -1;
    assert_int_equal(sscanf(body, "%ld %ld", &sends, &recvs), 2);
    print_message("since /arm: %ld send calls (the /arm response, then the "
                  "%d pipelined ones), %ld recv calls\n",
                  sends, NPIPE, recvs);
    /* One for /arm's own response, one for all 16 pipelined ones. */
    assert_int_equal(sends, 2);
    close(fd);
    app_done();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(write_timeout_streamed),
    cmocka_unit_test(write_timeout_whole_response),
    cmocka_unit_test(max_connections_cap),
    cmocka_unit_test(pipelined_one_write),
};

CIO_TEST_MAIN(tests)
