/* cio-test: timeout=180 */
/*
 * test_http_accesslog_live.c - the access log (cio_http_app_access_log):
 * every directive of the format on real requests (GET with a query and a
 * header, POST with a body, a 404), control characters of the request
 * written as '?', the common format of cio_http_config.access_log, and a
 * destination that never reads (a full pipe) not blocking the server:
 * every request is answered and the overflow is dropped and counted.
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"

static int h_hi(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_text(res, 200, "hi");
}

static int h_echo(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    size_t n;
    const char *b = cio_http_request_body(req, &n);
    return cio_http_response_raw(res, 200, b, n, "text/plain");
}

/* Starts the app (its log already configured). */
static void start(void)
{
    assert_int_equal(cio_http_route(g_app, "/hi", h_hi, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/echo", h_echo, NULL,
                                    CIO_HTTP_POST), 0);
    tu_http_start();
}

static void stop(void)
{
    assert_int_equal(tu_http_stop(), 0);
}

/* Reads one response with a Content-Length body (3 s per read): returns
 * the status, the body in body (NUL-terminated). Bytes read past it stay
 * for the next call on the same descriptor. */

static size_t slurp(int fd, char *out, size_t cap)
{
    size_t n = 0;
    lseek(fd, 0, SEEK_SET);
    ssize_t k;
    while (n < cap - 1 && (k = read(fd, out + n, cap - 1 - n)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    return n;
}

static void every_directive(void **state)
{
    (void)state;
    char path[] = "/tmp/cio-alog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(cio_http_app_new(&g_app, "alog"), 0);
    /* Bad formats are refused. */
    assert_int_equal(cio_http_app_access_log(g_app, "%Z", fd), -EINVAL);
    assert_int_equal(cio_http_app_access_log(g_app, "%{}i", fd), -EINVAL);
    assert_int_equal(cio_http_app_access_log(g_app, "%{a b}i", fd), -EINVAL);
    assert_int_equal(cio_http_app_access_log(g_app, "%a", -5), -EINVAL);
    assert_int_equal(cio_http_app_access_log(
                         g_app,
                         "%a|%m|%U|%q|%r|%s|%b|%{X-Req}i|%{X-None}i|%P|%D|%T|"
                         "%%|%t",
                         fd),
                     0);
    start();
    /* Configuring while running is refused. */
    assert_int_equal(cio_http_app_access_log(g_app, NULL, -1), -EBUSY);
    int c = tu_dial();
    char got[256];
    tu_send_str(c, "GET /hi?x=1 HTTP/1.1\r\nHost: h\r\nX-Req: a\tb\r\n\r\n"
                "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n"
                "hello"
                "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_int_equal(tu_read_response(c, got, sizeof(got)), 200);
    assert_int_equal(tu_read_response(c, got, sizeof(got)), 200);
    assert_int_equal(tu_read_response(c, got, sizeof(got)), 404);
    close(c);
    stop();
    assert_int_equal(cio_http_app_access_log_dropped(g_app), 0);
    assert_int_equal(cio_http_app_free(g_app), 0); /* writes the queue */
    char log[4096];
    slurp(fd, log, sizeof(log));
    close(fd);
    print_message("%s", log);
    char *save, *l1 = strtok_r(log, "\n", &save);
    char *l2 = strtok_r(NULL, "\n", &save), *l3 = strtok_r(NULL, "\n", &save);
    assert_non_null(l1);
    assert_non_null(l2);
    assert_non_null(l3);
    assert_null(strtok_r(NULL, "\n", &save));
    char pre[128];
    snprintf(pre, sizeof(pre),
             "127.0.0.1|GET|/hi|?x=1|GET /hi?x=1 HTTP/1.1|200|2|a?b|-|%ld|",
             (long)getpid());
    assert_true(strncmp(l1, pre, strlen(pre)) == 0);
    snprintf(pre, sizeof(pre),
             "127.0.0.1|POST|/echo||POST /echo HTTP/1.1|200|5|-|-|%ld|",
             (long)getpid());
    assert_true(strncmp(l2, pre, strlen(pre)) == 0);
    assert_true(strncmp(l3, "127.0.0.1|GET|/nope||GET /nope HTTP/1.1|404|",
                        44) == 0);
    /* %D, %T, %%, %t after the pid. */
    long long us;
    double secs;
    char when[64];
    const char *rest = l1 + strlen("127.0.0.1|GET|/hi|?x=1|GET /hi?x=1 "
                                   "HTTP/1.1|200|2|a?b|-|");
    rest = strchr(rest, '|') + 1;
    assert_int_equal(sscanf(rest, "%lld|%lf|%%|%63[^\n]", &us, &secs, when),
                     3);
    assert_true(us >= 0 && us < 5000000);
    assert_true(secs >= 0 && secs < 5);
    assert_int_equal(strlen(when), 28); /* [06/Dec/2026:21:00:00 +0000] */
    assert_true(when[0] == '[' && when[27] == ']');
}

/* cio_http_config.access_log = 1: the common format on stdout; here
 * stdout is redirected to a file for the check. */
static void config_common_format(void **state)
{
    (void)state;
    char path[] = "/tmp/cio-alog-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    fflush(stdout);
    int saved = dup(STDOUT_FILENO);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    assert_int_equal(cio_http_app_new(&g_app, "alog"), 0);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.access_log = 1;
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);
    start();
    int c = tu_dial();
    char got[64];
    tu_send_str(c, "GET /hi HTTP/1.0\r\n\r\n");
    assert_int_equal(tu_read_response(c, got, sizeof(got)), 200);
    close(c);
    stop();
    assert_int_equal(cio_http_app_free(g_app), 0);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    char log[1024];
    slurp(fd, log, sizeof(log));
    close(fd);
    print_message("%s", log);
    /* 127.0.0.1 - - [06/Dec/2026:21:00:00 +0000] "GET /hi HTTP/1.0" 200 2 */
    assert_true(strncmp(log, "127.0.0.1 - - [", 15) == 0);
    assert_non_null(strstr(log, "] \"GET /hi HTTP/1.0\" 200 2\n"));
}

/* A log nobody reads: a pipe fills after 64 KiB, its writer thread blocks,
 * and the server still answers everything at once; lines past the 1 MiB
 * queue are dropped and counted. */
static int g_rd;

static void *drain(void *arg)
{
    (void)arg;
    char buf[65536];
    while (read(g_rd, buf, sizeof(buf)) > 0)
        ;
    return NULL;
}

static void full_destination_never_blocks(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    g_rd = p[0];
    assert_int_equal(cio_http_app_new(&g_app, "alog"), 0);
    assert_int_equal(cio_http_app_access_log(g_app, "%r %{X-Pad}i", p[1]), 0);
    start();
    char pad[1100];
    memset(pad, 'p', 1000);
    pad[1000] = '\0';
    char req[1200];
    int n = snprintf(req, sizeof(req),
                     "GET /hi HTTP/1.1\r\nHost: h\r\nX-Pad: %s\r\n\r\n", pad);
    int c = tu_dial();
    char got[64];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 2000; i++) {
        tu_send_all(c, req, (size_t)n);
        assert_int_equal(tu_read_response(c, got, sizeof(got)), 200);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    close(c);
    print_message("2000 requests with a stuck log: %.2f s, dropped %llu\n",
                  (double)(t1.tv_sec - t0.tv_sec) +
                      (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
                  cio_http_app_access_log_dropped(g_app));
    /* ~2 MB of lines: the pipe took 64 KiB, the queue 1 MiB, the rest was
     * dropped. */
    assert_true(cio_http_app_access_log_dropped(g_app) > 0);
    stop();
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drain, NULL), 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
    close(p[1]);
    pthread_join(t, NULL);
    close(p[0]);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(every_directive),
    cmocka_unit_test(config_common_format),
    cmocka_unit_test(full_destination_never_blocks),
};

CIO_TEST_MAIN(tests)
