/*
 * test_http_stress.c - cio::http under load, live on 127.0.0.1:
 *   - 10,000 concurrent keep-alive connections, each served two requests
 *     (the second on the same connection);
 *   - slowloris: 1,000 clients sending one header byte per second do not
 *     stop a normal client from being served, and the server closes them
 *     at head_timeout;
 *   - a client that pipelines requests and never reads the responses:
 *     the server stops reading it and its memory stays bounded.
 * cio-test: label=stress timeout=300
 *
 * The hard RLIMIT_NOFILE of the test machines is 20,000 and each side of
 * 10,000 connections needs 10,000 descriptors, so the 10,000 clients run
 * in a child forked before the server starts (plain blocking sockets and
 * epoll; no cio in the child); both raise their soft limit to the hard one.
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio/http.h"

enum { NCONN = 10000, NSLOW = 1000 };

static int raise_nofile(rlim_t need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    return rl.rlim_cur >= need ? 0 : -1;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the server ------------------------------------------------------------- */

static char big[65536];

static int h_n(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    return cio_http_response_text(res, 200,
                                  cio_http_request_param(req, "n", NULL));
}

static int h_big(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_raw(res, 200, big, sizeof(big), NULL);
}

static cio_http_app *g_app;
static pthread_t g_thread;
static atomic_int g_port;
static int g_rc;

static void on_start(cio_http_app *app, int port, void *arg)
{
    (void)app, (void)arg;
    g_port = port;
}

static void *server_thread(void *arg)
{
    (void)arg;
    g_rc = cio_http_run(g_app, "127.0.0.1", 0, 1);
    return NULL;
}

static void start_server(int64_t head_timeout, int64_t write_timeout)
{
    memset(big, 'b', sizeof(big));
    assert_int_equal(cio_http_app_new(&g_app, "stress"), 0);
    assert_int_equal(cio_http_route(g_app, "/n/<n:int>", h_n, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/big", h_big, NULL, 0), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.max_connections = NCONN + 100;
    cfg.keep_alive_timeout = 60 * CIO_SEC;
    cfg.head_timeout = head_timeout;
    cfg.write_timeout = write_timeout;
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);
    cio_http_app_on_start(g_app, on_start, NULL);
    g_port = 0;
    assert_int_equal(pthread_create(&g_thread, NULL, server_thread, NULL), 0);
    for (int i = 0; i < 1000 && !g_port; i++)
        usleep(10 * 1000);
    assert_true(g_port > 0);
}

static void stop_server(void)
{
    cio_http_app_stop(g_app);
    pthread_join(g_thread, NULL);
    assert_int_equal(g_rc, 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
}

static int dial(int port, int nonblock)
{
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 &&
        errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One GET /n/<n> on a fresh blocking connection, answered within 5 s.
 * Returns 1 if the body is n. */
static int served(int port, int n)
{
    int fd = dial(port, 0);
    if (fd < 0)
        return 0;
    char req[128], buf[1024], want[32];
    int l = snprintf(req, sizeof(req),
                     "GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n", n);
    snprintf(want, sizeof(want), "\r\n\r\n%d", n);
    size_t len = 0;
    int ok = write(fd, req, (size_t)l) == l;
    while (ok && len < sizeof(buf) - 1) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 5000) <= 0)
            break;
        ssize_t g = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (g <= 0)
            break;
        len += (size_t)g;
        buf[len] = '\0';
        if (strstr(buf, want))
            break;
    }
    buf[len] = '\0';
    close(fd);
    return ok && strstr(buf, want) != NULL;
}

/* ---- 10,000 keep-alive connections ---------------------------------------- */

static int fds[NCONN];
static char bufs[NCONN][256];
static unsigned short lens[NCONN];

/* In the child: two rounds of one request per connection; a response is
 * complete when its body ("<i>", Content-Length known from i) arrived.
 * Exit status 0 if every response was right. */
static int clients(int port)
{
    if (raise_nofile(NCONN + 100) < 0)
        return 2;
    for (int i = 0; i < NCONN; i++)
        if ((fds[i] = dial(port, 0)) < 0)
            return 3;
    int ep = epoll_create1(0);
    for (int i = 0; i < NCONN; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0)
            return 4;
    }
    double deadline = now() + 120;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < NCONN; i++) {
            char req[64];
            int l = snprintf(req, sizeof(req),
                             "GET /n/%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
            if (write(fds[i], req, (size_t)l) != l)
                return 5;
            lens[i] = 0;
        }
        int done = 0;
        while (done < NCONN) {
            if (now() > deadline)
                return 6;
            struct epoll_event evs[256];
            int n = epoll_wait(ep, evs, 256, 1000);
            for (int k = 0; k < n; k++) {
                int i = (int)evs[k].data.u32;
                ssize_t g = read(fds[i], bufs[i] + lens[i],
                                 sizeof(bufs[i]) - 1 - lens[i]);
                if (g <= 0)
                    return 7; /* closed: not kept alive */
                lens[i] = (unsigned short)(lens[i] + g);
                bufs[i][lens[i]] = '\0';
                char want[32];
                snprintf(want, sizeof(want), "\r\n\r\n%d", i);
                char *e = strstr(bufs[i], want);
                if (e && strcmp(e, want) == 0) {
                    if (strncmp(bufs[i], "HTTP/1.1 200", 12) != 0)
                        return 8;
                    done++;
                    lens[i] = 0;
                }
            }
        }
    }
    return 0;
}

static void ten_thousand_keep_alive(void **state)
{
    (void)state;
    if (raise_nofile(NCONN + 200) < 0)
        skip();
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pfd[1]);
        int port = 0;
        if (read(pfd[0], &port, sizeof(port)) != sizeof(port))
            _exit(9);
        _exit(clients(port));
    }
    close(pfd[0]);
    start_server(10 * CIO_SEC, 30 * CIO_SEC);
    int port = g_port;
    assert_int_equal(write(pfd[1], &port, sizeof(port)), sizeof(port));
    close(pfd[1]);
    double t0 = now();
    int st = 0;
    pid_t w = 0;
    while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now() - t0 < 180)
        usleep(50 * 1000);
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    print_message("10,000 connections x 2 requests: child status %d, %.1f s\n",
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1, now() - t0);
    /* The server still serves after the child's 10,000 closes. */
    int ok = served(port, 77);
    stop_server();
    assert_true(w == pid && WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_true(ok);
}

/* ---- slowloris ------------------------------------------------------------------ */

static void slowloris(void **state)
{
    (void)state;
    if (raise_nofile(2 * NSLOW + 200) < 0)
        skip();
    static int slow[NSLOW];
    start_server(4 * CIO_SEC, 30 * CIO_SEC);
    int port = g_port;
    for (int i = 0; i < NSLOW; i++)
        assert_true((slow[i] = dial(port, 0)) >= 0);
    static const char head[] = "GET /n/1 HTTP/1.1\r\nHost: t\r\n\r\n";
    int served_ok = 0, tries = 0, open_after = 0;
    double t0 = now();
    /* One header byte per second on each slow connection for 7 s, with a
     * normal client served meanwhile. */
    for (int sec = 0; sec < 7; sec++) {
        for (int i = 0; i < NSLOW; i++)
            if (slow[i] >= 0 &&
                send(slow[i], head + sec, 1, MSG_NOSIGNAL | MSG_DONTWAIT) !=
                    1) {
                close(slow[i]);
                slow[i] = -1; /* closed by the server */
            }
        tries++;
        served_ok += served(port, 1000 + sec);
        double next = t0 + sec + 1;
        while (now() < next)
            usleep(20 * 1000);
    }
    /* head_timeout (4 s from the first byte) is over: every slow client
     * must have been answered 408 and closed. */
    for (int i = 0; i < NSLOW; i++) {
        if (slow[i] < 0)
            continue;
        char tmp[512];
        struct pollfd pf = {slow[i], POLLIN, 0};
        int closed = 0;
        while (poll(&pf, 1, 2000) > 0) {
            ssize_t g = read(slow[i], tmp, sizeof(tmp));
            if (g <= 0) {
                closed = 1;
                break;
            }
        }
        open_after += !closed;
        close(slow[i]);
    }
    print_message("slowloris: normal client served %d/%d, slow "
                  "connections still open after head_timeout: %d\n",
                  served_ok, tries, open_after);
    stop_server();
    assert_int_equal(served_ok, tries);
    assert_int_equal(open_after, 0);
}

/* ---- a client that never reads ---------------------------------------------------- */

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

static void never_reading_client(void **state)
{
    (void)state;
    start_server(10 * CIO_SEC, 30 * CIO_SEC);
    int port = g_port;
    long rss0 = rss_kib();
    int fd = dial(port, 1);
    assert_true(fd >= 0);
    struct pollfd pf = {fd, POLLOUT, 0};
    assert_int_equal(poll(&pf, 1, 5000), 1);
    /* Pipelined GET /big (64 KiB answers) until the server stops taking
     * them for a second (or 64 MiB of requests are out: 2.2 million, whose
     * responses would be 140 GB). The kernel's socket buffers take a few
     * MB of them whatever the server does. */
    static const char req[] = "GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    enum { RL = sizeof(req) - 1, BATCH = 1024 };
    static char reqs[RL * BATCH];
    for (int i = 0; i < BATCH; i++)
        memcpy(reqs + (size_t)i * RL, req, RL);
    long long bytes = 0;
    int stalled = 0;
    while (bytes < (64LL << 20)) {
        size_t off = (size_t)(bytes % (long long)sizeof(reqs));
        ssize_t w = send(fd, reqs + off, sizeof(reqs) - off, MSG_NOSIGNAL);
        if (w > 0) {
            bytes += w;
            continue;
        }
        pf.events = POLLOUT;
        if (poll(&pf, 1, 1000) == 0) {
            stalled = 1;
            break;
        }
    }
    long sent = (long)(bytes / RL);
    long rss1 = rss_kib();
    print_message("never-reading client: %ld requests taken before the "
                  "server stopped reading; server RSS %ld -> %ld KiB\n",
                  sent, rss0, rss1);
    assert_true(stalled);
    /* Served in full, those requests would be sent * 64 KiB. */
    assert_true(rss1 - rss0 < 64 * 1024);
    close(fd);
    assert_true(served(port, 5));
    stop_server();
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(ten_thousand_keep_alive),
    cmocka_unit_test(slowloris),
    cmocka_unit_test(never_reading_client),
};

CIO_TEST_MAIN(tests)
