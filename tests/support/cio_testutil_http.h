/*
 * cio_testutil_http.h - helpers shared by the live cio::http tests: an
 * app served by cio_http_run (or cio_http_run_processes) on a thread of
 * its own, and a raw blocking client (dial, send, read one response with
 * a Content-Length body) that speaks to it with plain sockets, so what is
 * tested is the server and nothing of cio on the client side.
 * Header-only like cio_testutil.h.
 */
#ifndef CIO_TESTUTIL_HTTP_H
#define CIO_TESTUTIL_HTTP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* strcasestr (must come before any system header) */
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_test.h"

/* ---- the server thread ------------------------------------------------ */

/* The app under test and the port it listens on (set by tu_http_start). */
static cio_http_app *g_app;
static int g_port;

static pthread_t tu_http_thread;
static int tu_http_rc, tu_http_ready, tu_http_procs, tu_http_workers;
static const char *tu_http_host;
static pthread_mutex_t tu_http_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tu_http_cv = PTHREAD_COND_INITIALIZER;

static inline void tu_http_signal(void)
{
    pthread_mutex_lock(&tu_http_mu);
    tu_http_ready = 1;
    pthread_cond_broadcast(&tu_http_cv);
    pthread_mutex_unlock(&tu_http_mu);
}

static inline void tu_http_on_start(cio_http_app *app, int port, void *arg)
{
    (void)app, (void)arg;
    g_port = port;
    tu_http_signal();
}

static inline void *tu_http_runner(void *arg)
{
    (void)arg;
    tu_http_rc = tu_http_procs
                     ? cio_http_run_processes(g_app, tu_http_host, 0,
                                              tu_http_workers)
                     : cio_http_run(g_app, tu_http_host, 0, tu_http_workers);
    tu_http_signal(); /* also when the run failed before listening */
    return NULL;
}

/* Runs g_app on host:0 with `workers` loops (threads, or processes when
 * procs is set) on a thread of its own, and returns once it listens:
 * g_port is the chosen port. Sets the app's on_start listener. */
static inline void tu_http_start_on(const char *host, int workers, int procs)
{
    tu_http_host = host;
    tu_http_workers = workers;
    tu_http_procs = procs;
    tu_http_ready = 0;
    g_port = 0;
    cio_http_app_on_start(g_app, tu_http_on_start, NULL);
    assert_int_equal(
        pthread_create(&tu_http_thread, NULL, tu_http_runner, NULL), 0);
    pthread_mutex_lock(&tu_http_mu);
    while (!tu_http_ready)
        pthread_cond_wait(&tu_http_cv, &tu_http_mu);
    pthread_mutex_unlock(&tu_http_mu);
    assert_true(g_port > 0);
}

/* tu_http_start_on 127.0.0.1 with one loop. */
static inline void tu_http_start(void) { tu_http_start_on("127.0.0.1", 1, 0); }

/* Stops g_app, joins its thread and returns what the run returned (the
 * app is not freed). */
static inline int tu_http_stop(void)
{
    cio_http_app_stop(g_app);
    pthread_join(tu_http_thread, NULL);
    return tu_http_rc;
}

/* ---- a raw client ----------------------------------------------------- */

/* A blocking TCP connection to 127.0.0.1:port, or -1 (refused). */
static inline int tu_dial_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* tu_dial_port(g_port), which must connect. */
static inline int tu_dial(void)
{
    int fd = tu_dial_port(g_port);
    assert_true(fd >= 0);
    return fd;
}

static inline void tu_send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        assert_true(w > 0);
        c += w;
        n -= (size_t)w;
    }
}

static inline void tu_send_str(int fd, const char *s)
{
    tu_send_all(fd, s, strlen(s));
}

/* The response reader's state: bytes read past one response stay for the
 * next call on the same descriptor. tu_read_timeout_ms bounds each read
 * (3 s unless a test sets it); tu_last_head holds the head of the last
 * response read (NUL-terminated, cut at its size). */
static char tu_rbuf[65536];
static size_t tu_rlen;
static int tu_rfd = -1;
static int tu_read_timeout_ms = 3000;
static char tu_last_head[4096];

static inline int tu_fill(int fd)
{
    struct pollfd pf = {fd, POLLIN, 0};
    if (tu_rlen >= sizeof(tu_rbuf) - 1 ||
        poll(&pf, 1, tu_read_timeout_ms) <= 0)
        return -1;
    ssize_t g = read(fd, tu_rbuf + tu_rlen, sizeof(tu_rbuf) - 1 - tu_rlen);
    if (g <= 0)
        return -1;
    tu_rlen += (size_t)g;
    tu_rbuf[tu_rlen] = '\0';
    return 0;
}

/* Reads one response with a Content-Length body (or none), skipping
 * 100 Continue: returns its status and the body in body (NUL-terminated,
 * cut at cap - 1), or -1 on EOF, timeout or a response over 64 KiB. */
static inline int tu_read_response(int fd, char *body, size_t cap)
{
    if (fd != tu_rfd)
        tu_rlen = 0, tu_rfd = fd;
    body[0] = '\0';
    for (;;) {
        tu_rbuf[tu_rlen] = '\0';
        char *he;
        while (!(he = strstr(tu_rbuf, "\r\n\r\n")))
            if (tu_fill(fd) < 0)
                return -1;
        int status = atoi(tu_rbuf + 9);
        size_t hl = (size_t)(he + 4 - tu_rbuf);
        const char *cl = strcasestr(tu_rbuf, "\r\ncontent-length:");
        size_t want = cl && cl < he ? (size_t)atol(cl + 17) : 0;
        while (tu_rlen - hl < want)
            if (tu_fill(fd) < 0)
                return -1;
        size_t n = want < cap - 1 ? want : cap - 1;
        size_t h =
            hl < sizeof(tu_last_head) - 1 ? hl : sizeof(tu_last_head) - 1;
        memcpy(tu_last_head, tu_rbuf, h);
        tu_last_head[h] = '\0';
        memcpy(body, tu_rbuf + hl, n);
        body[n] = '\0';
        memmove(tu_rbuf, tu_rbuf + hl + want, tu_rlen - hl - want);
        tu_rlen -= hl + want;
        if (status != 100)
            return status;
    }
}

/* ---- a handler that floods its client --------------------------------- */

/* tu_h_flood streams 64 KiB chunks until tu_flood_limit bytes are out or a
 * write fails (a client that stops reading parks it in its write):
 * tu_flood_written counts what the server took, tu_flood_rc is 1 while it
 * runs, then the last write's result. */
static atomic_llong tu_flood_written;
static atomic_int tu_flood_rc = 1;
static long long tu_flood_limit = 256LL << 20;

static inline int tu_h_flood(cio_http_request *req, cio_http_response *res,
                             void *a)
{
    (void)req, (void)a;
    static char chunk[65536];
    memset(chunk, 'f', sizeof(chunk));
    tu_flood_written = 0;
    tu_flood_rc = 1;
    int r = cio_http_response_stream(res, 200, "application/octet-stream");
    while (r == 0 && tu_flood_written < tu_flood_limit) {
        r = cio_http_response_write(res, chunk, sizeof(chunk));
        if (r == 0)
            tu_flood_written += (long long)sizeof(chunk);
    }
    tu_flood_rc = r;
    return r;
}

/* ---- running the real peers (curl, nghttp, python3, node) ------------- */

/* Runs the shell command made from fmt, its standard output into out
 * (NUL-terminated, cut at cap - 1); returns pclose's status. */
static inline int tu_sh(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int tu_sh(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    return pclose(p);
}

/* 1 if prog is on PATH. */
static inline int tu_have(const char *prog)
{
    char out[16];
    tu_sh(out, sizeof(out), "command -v %s >/dev/null && echo y", prog);
    return out[0] == 'y';
}

#ifdef CIO_BINARY_DIR
/* Where Node's `ws` package is installed for the tests (the build tree). */
#define TU_NODE_WS_DIR CIO_BINARY_DIR "/node_ws"

/* 1 when node, npm and the `ws` package are there, installing `ws` into
 * TU_NODE_WS_DIR once (from npm's cache first, then the registry; flock:
 * the epoll and uring runs may race); 0 with the reason on stderr. */
static inline int tu_have_node_ws(void)
{
    if (system("command -v node >/dev/null 2>&1 && "
               "command -v npm >/dev/null 2>&1") != 0) {
        fprintf(stderr, "skipped: node or npm not installed "
                        "(scripts/bootstrap test)\n");
        return 0;
    }
    const char *cmd =
        "mkdir -p " TU_NODE_WS_DIR " && flock " TU_NODE_WS_DIR "/.lock sh -c '"
        "test -f " TU_NODE_WS_DIR "/node_modules/ws/package.json || "
        "timeout 120 npm install --prefix " TU_NODE_WS_DIR
        " --no-audit --no-fund --offline ws >/dev/null 2>&1 || "
        "timeout 120 npm install --prefix " TU_NODE_WS_DIR
        " --no-audit --no-fund ws >/dev/null 2>&1; "
        "test -f " TU_NODE_WS_DIR "/node_modules/ws/package.json'";
    if (system(cmd) != 0) {
        fprintf(stderr, "skipped: npm could not install the `ws` package "
                        "into " TU_NODE_WS_DIR " (no network and not in "
                        "npm's cache)\n");
        return 0;
    }
    return 1;
}
#endif

#endif
