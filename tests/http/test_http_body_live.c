/* cio-test: timeout=180 */
/*
 * test_http_body_live.c - streamed request bodies (CIO_HTTP_STREAM routes,
 * cio_http_request_read) and forms read as they arrive with file parts
 * spilled to disk (cio_http_request_read_form / _upload), live on
 * 127.0.0.1: Content-Length and chunked bodies in pieces, a pipelined
 * request behind a streamed body, back-pressure (the server reads nothing
 * the handler does not ask for), unread bodies drained, 100-continue only
 * when the handler reads, 413/400/408 on streamed bodies, curl -F uploads
 * with a file above the memory threshold written to a temporary file that
 * is gone after the handler, and the per-file size limit.
 *
 * The server runs through cio_http_run in a thread of its own (port 0);
 * the clients are blocking sockets and curl on the test thread. Handlers
 * report what they saw in their responses (no assertions on the server's
 * thread).
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"
#include "cio_testutil_mt.h" /* now_ns */

/* ---- handlers --------------------------------------------------------- */

/* Reads the whole body in pieces: "n=<bytes> sum=<sum of bytes> big=<1 if
 * some piece was over 64 KiB>". */
static int h_count(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    unsigned long long n = 0, sum = 0;
    int big = 0;
    const void *d;
    ssize_t k;
    if (!cio_http_request_streamed(req))
        return cio_http_response_text(res, 200, "not streamed");
    while ((k = cio_http_request_read(req, &d)) > 0) {
        const unsigned char *p = d;
        for (ssize_t i = 0; i < k; i++)
            sum += p[i];
        n += (unsigned long long)k;
        big |= k > 65536;
    }
    if (k < 0)
        return (int)k; /* 413 / 400 / 408 from the body's status */
    /* After the end, 0 again. */
    if (cio_http_request_read(req, &d) != 0)
        return -EIO;
    char out[128];
    snprintf(out, sizeof(out), "n=%llu sum=%llu big=%d", n, sum, big);
    return cio_http_response_text(res, 200, out);
}

/* Answers without reading the body. */
static int h_ignore(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    return cio_http_response_text(res, 200, "ignored");
}

/* Back-pressure: reads one piece, then waits (up to 10 s) until the
 * client says go (GET /go on another connection), then reads the rest. */
static atomic_int bp_first, bp_go;

static int h_slow_reader(cio_http_request *req, cio_http_response *res,
                         void *a)
{
    (void)a;
    const void *d;
    ssize_t k = cio_http_request_read(req, &d);
    if (k <= 0)
        return -EIO;
    unsigned long long n = (unsigned long long)k;
    bp_first = 1;
    for (int i = 0; !bp_go && i < 1000; i++) {
        int r = cio_sleep(10 * CIO_MS);
        if (r < 0)
            return r;
    }
    while ((k = cio_http_request_read(req, &d)) > 0)
        n += (unsigned long long)k;
    if (k < 0)
        return (int)k;
    char out[64];
    snprintf(out, sizeof(out), "n=%llu", n);
    return cio_http_response_text(res, 200, out);
}

static int h_go(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    bp_go = 1;
    return cio_http_response_text(res, 200, "go");
}

/* A non-streamed route: cio_http_request_read hands the body out once. */
static int h_whole(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    const void *d;
    ssize_t k = cio_http_request_read(req, &d);
    ssize_t again = cio_http_request_read(req, &d);
    char out[64];
    snprintf(out, sizeof(out), "streamed=%d first=%zd again=%zd",
             cio_http_request_streamed(req), k, again);
    return cio_http_response_text(res, 200, out);
}

/* Forms: fields and uploads, read as they arrive. Saves the path of the
 * spilled file so the client can check it is gone afterwards. */
static char g_spilled[512];
static pthread_mutex_t g_spilled_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned long long file_sum(const char *path, unsigned long long *n)
{
    int fd = open(path, O_RDONLY);
    unsigned long long s = 0;
    *n = 0;
    if (fd < 0)
        return 0;
    unsigned char b[8192];
    ssize_t k;
    while ((k = read(fd, b, sizeof(b))) > 0) {
        for (ssize_t i = 0; i < k; i++)
            s += b[i];
        *n += (unsigned long long)k;
    }
    close(fd);
    return s;
}

static int h_form(cio_http_request *req, cio_http_response *res, void *a)
{
    const cio_http_form_opts *opts = a;
    int r = cio_http_request_read_form(req, opts);
    if (r < 0)
        return r;
    if (cio_http_request_read_form(req, opts) != 0)
        return -EIO; /* a second call: 0 at once */
    const char *title = cio_http_request_form(req, "title", 0, NULL);
    char out[1024];
    size_t o = (size_t)snprintf(out, sizeof(out), "title=%s",
                                title ? title : "-");
    cio_http_upload up;
    for (size_t i = 0; cio_http_request_upload(req, "up", i, &up) == 0;
         i++) {
        unsigned long long sum = 0, n = up.size;
        if (up.path) {
            sum = file_sum(up.path, &n);
            pthread_mutex_lock(&g_spilled_mu);
            snprintf(g_spilled, sizeof(g_spilled), "%s", up.path);
            pthread_mutex_unlock(&g_spilled_mu);
        } else {
            for (uint64_t j = 0; j < up.size; j++)
                sum += ((const unsigned char *)up.data)[j];
        }
        o += (size_t)snprintf(out + o, sizeof(out) - o,
                              " [%s %s %llu %s sum=%llu]", up.filename,
                              up.content_type, n,
                              up.path ? "disk" : "memory", sum);
    }
    if (cio_http_request_upload(req, "nope", 0, &up) != -ENOENT)
        return -EIO;
    return cio_http_response_text(res, 200, out);
}

static cio_http_form_opts g_small = {NULL, 0, 100000, 0};

static int start_server(void **state)
{
    (void)state;
    assert_int_equal(cio_http_app_new(&g_app, "body"), 0);
    const unsigned S = CIO_HTTP_STREAM;
    assert_int_equal(cio_http_route(g_app, "/count", h_count, NULL,
                                    CIO_HTTP_POST | CIO_HTTP_PUT | S),
                     0);
    assert_int_equal(cio_http_route(g_app, "/ignore", h_ignore, NULL,
                                    CIO_HTTP_POST | S),
                     0);
    assert_int_equal(cio_http_add_route(g_app, h_slow_reader, NULL, "/slow",
                                        CIO_HTTP_POST | S),
                     0);
    assert_int_equal(cio_http_route(g_app, "/go", h_go, NULL, 0), 0);
    assert_int_equal(cio_http_route(g_app, "/whole", h_whole, NULL,
                                    CIO_HTTP_POST),
                     0);
    assert_int_equal(cio_http_route(g_app, "/form", h_form, NULL,
                                    CIO_HTTP_POST | S),
                     0);
    assert_int_equal(cio_http_route(g_app, "/form-small", h_form, &g_small,
                                    CIO_HTTP_POST | S),
                     0);
    /* The flag is not a method: POST /count is taken whatever the flag. */
    assert_int_equal(cio_http_route(g_app, "/count", h_count, NULL,
                                    CIO_HTTP_POST),
                     -EEXIST);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.body_timeout = 3 * CIO_SEC; /* absolute: the 48 MiB upload under ASan */
    cfg.max_body = 256u << 20;
    assert_int_equal(cio_http_app_configure(g_app, &cfg), 0);
    tu_read_timeout_ms = 8000;
    tu_http_start();
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    assert_int_equal(tu_http_stop(), 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
    g_app = NULL;
    return 0;
}

/* ---- a raw client ------------------------------------------------------ */

/* Reads one response with a Content-Length body (8 s per read): returns
 * the status, the body in body (NUL-terminated). Bytes read past it stay
 * for the next call on the same descriptor. */

/* 1 if the peer closed within ms (reading and discarding). */
static int closed_within(int fd, int ms)
{
    char tmp[4096];
    for (;;) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, ms) <= 0)
            return 0;
        ssize_t g = read(fd, tmp, sizeof(tmp));
        if (g <= 0)
            return 1;
    }
}

static char *pattern(size_t n, unsigned long long *sum)
{
    char *p = malloc(n);
    assert_non_null(p);
    *sum = 0;
    for (size_t i = 0; i < n; i++) {
        p[i] = (char)('a' + i % 23);
        *sum += (unsigned char)p[i];
    }
    return p;
}

/* ---- cases --------------------------------------------------------------- */

/* 3 MiB with Content-Length in uneven writes; a pipelined GET behind it on
 * the same connection is answered after it (bytes read past the body go
 * back to the next request). */
static void stream_content_length(void **state)
{
    (void)state;
    size_t n = 3u << 20;
    unsigned long long sum;
    char *body = pattern(n, &sum);
    int fd = tu_dial();
    char head[256], got[256], want[128];
    snprintf(head, sizeof(head),
             "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             n);
    tu_send_str(fd, head);
    size_t off = 0;
    for (size_t step = 1000; off < n; step = step * 3 % 200000 + 1)
        off += (tu_send_all(fd, body + off, step < n - off ? step : n - off),
                step < n - off ? step : n - off);
    tu_send_str(fd, "GET /go HTTP/1.1\r\nHost: x\r\n\r\n");
    snprintf(want, sizeof(want), "n=%zu sum=%llu big=0", n, sum);
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, want);
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "go");
    /* The body and the next request in one write. */
    tu_send_str(fd, "PUT /count HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
                 "abcGET /go HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "n=3 sum=294 big=0");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "go");
    close(fd);
    free(body);
}

/* Chunked, with chunk heads split across writes, an extension and a
 * trailer, then a pipelined request in the same write as the last chunk. */
static void stream_chunked(void **state)
{
    (void)state;
    int fd = tu_dial();
    char got[256];
    tu_send_str(fd, "POST /count HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n5\r\nhel");
    usleep(20000);
    tu_send_str(fd, "lo\r\n");
    usleep(20000);
    tu_send_str(fd, "1");
    usleep(20000);
    tu_send_str(fd, "0;ext=1\r\n0123456789ABCDEF\r\n0\r\nX-T: 1\r\n\r\n"
                 "GET /go HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    /* "hello" = 532, "0123456789ABCDEF" = 525 + 405 = 930 */
    assert_string_equal(got, "n=21 sum=1462 big=0");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "go");
    close(fd);
}

/* The handler reads one piece and stalls: the server must not read the
 * rest of a 48 MiB body meanwhile, so the client can only get the socket
 * buffers' worth ahead; then it reads it all. */
static void *go_later(void *arg)
{
    (void)arg;
    int fd = tu_dial();
    char got[64];
    tu_send_str(fd, "GET /go HTTP/1.1\r\nHost: x\r\n\r\n");
    tu_read_response(fd, got, sizeof(got));
    close(fd);
    return NULL;
}

static void stream_back_pressure(void **state)
{
    (void)state;
    bp_first = bp_go = 0;
    size_t total = 48u << 20;
    int fd = tu_dial();
    char head[256], got[128];
    snprintf(head, sizeof(head),
             "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
             total);
    tu_send_str(fd, head);
    static char chunk[65536];
    memset(chunk, 'b', sizeof(chunk));
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    size_t sent = 0;
    /* Send until the socket stays full for 300 ms. */
    for (;;) {
        ssize_t w = send(fd, chunk, sizeof(chunk), MSG_NOSIGNAL);
        if (w > 0) {
            sent += (size_t)w;
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            print_message("send: %s after %zu\n", strerror(errno), sent);
        assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
        struct pollfd pf = {fd, POLLOUT, 0};
        if (poll(&pf, 1, 300) == 0)
            break;
    }
    print_message("sent before the handler read on: %zu bytes\n", sent);
    assert_true(bp_first);
    /* Bounded by the socket buffers (at most 32 MiB rmem + 4 MiB wmem
     * here); without back-pressure all 48 MiB would go. */
    assert_true(sent < 40u << 20);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, go_later, NULL), 0);
    fcntl(fd, F_SETFL, fl);
    while (sent < total) {
        size_t k = total - sent < sizeof(chunk) ? total - sent : sizeof(chunk);
        tu_send_all(fd, chunk, k);
        sent += k;
    }
    pthread_join(t, NULL);
    char want[64];
    snprintf(want, sizeof(want), "n=%zu", total);
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, want);
    close(fd);
}

/* A handler that does not read: the body is drained and the connection
 * serves the next request; with Expect: 100-continue no "100 Continue"
 * is sent and the connection closes after the answer. */
static void stream_unread_body(void **state)
{
    (void)state;
    int fd = tu_dial();
    char got[128];
    tu_send_str(fd, "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                 "\r\n01234");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "ignored");
    tu_send_str(fd, "56789GET /go HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "go");
    close(fd);

    fd = tu_dial();
    tu_send_str(fd, "POST /ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n"
                 "Expect: 100-continue\r\n\r\n");
    char raw[512];
    struct pollfd pf = {fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 3000), 1);
    ssize_t g = read(fd, raw, sizeof(raw) - 1);
    assert_true(g > 0);
    raw[g] = '\0';
    assert_true(strncmp(raw, "HTTP/1.1 200", 12) == 0);
    assert_null(strstr(raw, "100 Continue"));
    assert_true(closed_within(fd, 3000));
    close(fd);

    /* A handler that reads gets the body after "100 Continue". */
    fd = tu_dial();
    int64_t t0 = now_ns();
    tu_send_str(fd, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                 "Expect: 100-continue\r\n\r\n");
    assert_int_equal(poll(&pf, 1, 3000), 1);
    g = read(fd, raw, sizeof(raw) - 1);
    assert_true(g > 0);
    raw[g] = '\0';
    /* A failure seen once in the io_uring ASan run, not reproduced since:
     * say what came and when, for the next one. */
    if (strcmp(raw, "HTTP/1.1 100 Continue\r\n\r\n") != 0)
        print_message("got after %lld ms: [%s]\n",
                      (long long)((now_ns() - t0) / CIO_MS), raw);
    assert_string_equal(raw, "HTTP/1.1 100 Continue\r\n\r\n");
    tu_send_str(fd, "hi");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "n=2 sum=209 big=0");
    close(fd);
}

/* Failures of a streamed body: over max_body is
 * 413, bad chunk framing 400, a stalled body 408; each closes. */
static void stream_errors(void **state)
{
    (void)state;
    char got[128];
    int fd = tu_dial();
    tu_send_str(fd, "POST /count HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 300000000\r\n\r\nsome");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 413);
    assert_true(closed_within(fd, 3000));
    close(fd);

    fd = tu_dial();
    tu_send_str(fd, "POST /count HTTP/1.1\r\nHost: x\r\n"
                 "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n+2\r\nxy\r\n");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 400);
    /* The answer says the connection ends. */
    assert_non_null(strcasestr(tu_last_head, "\r\nconnection: close\r\n"));
    assert_true(closed_within(fd, 3000));
    close(fd);

    fd = tu_dial();
    tu_send_str(fd, "POST /count HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
                 "\r\nonly a part");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 408);
    assert_true(closed_within(fd, 3000));
    close(fd);
}

static void whole_body_read_once(void **state)
{
    (void)state;
    int fd = tu_dial();
    char got[128];
    tu_send_str(fd, "POST /whole HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                 "\r\nabcd");
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "streamed=0 first=4 again=0");
    close(fd);
}

/* ---- forms --------------------------------------------------------------- */

/* curl -F with a 300 KB file (above the 64 KiB memory threshold: written
 * to a temporary file as it arrives, removed after the handler) and a
 * small one (kept in memory). */
static void stream_form_upload(void **state)
{
    (void)state;
    if (!tu_have("curl"))
        skip();
    char dir[] = "/tmp/cio-form-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char big[600], small[600];
    snprintf(big, sizeof(big), "%s/big.bin", dir);
    snprintf(small, sizeof(small), "%s/small.txt", dir);
    size_t n = 300000;
    unsigned long long sum;
    char *data = pattern(n, &sum);
    FILE *f = fopen(big, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
    f = fopen(small, "wb");
    fputs("tiny", f);
    fclose(f);
    pthread_mutex_lock(&g_spilled_mu);
    g_spilled[0] = '\0';
    pthread_mutex_unlock(&g_spilled_mu);
    char out[2048], want[1024];
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s -F 'title=Hi' -F 'up=@%s;type=app/x-big' "
                        "-F 'up=@%s' http://127.0.0.1:%d/form",
                        big, small, g_port),
                     0);
    print_message("%s\n", out);
    snprintf(want, sizeof(want),
             "title=Hi [big.bin app/x-big %zu disk sum=%llu] "
             "[small.txt text/plain 4 memory sum=%d]",
             n, sum, 't' + 'i' + 'n' + 'y');
    assert_string_equal(out, want);
    char spilled[512];
    pthread_mutex_lock(&g_spilled_mu);
    memcpy(spilled, g_spilled, sizeof(spilled));
    pthread_mutex_unlock(&g_spilled_mu);
    assert_true(spilled[0] != '\0');
    struct stat st;
    assert_int_equal(stat(spilled, &st), -1); /* removed after */

    /* A file above max_file_size (100,000 bytes on /form-small): 413. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s -o /dev/null -w '%%{http_code}' "
                        "-F 'up=@%s' http://127.0.0.1:%d/form-small",
                        big, g_port),
                     0);
    assert_string_equal(out, "413");
    /* Urlencoded forms on a streamed route. */
    assert_int_equal(tu_sh(out, sizeof(out),
                        "curl -s --data 'title=a%%20b&x=1' "
                        "http://127.0.0.1:%d/form",
                        g_port),
                     0);
    assert_string_equal(out, "title=a b");
    unlink(big);
    unlink(small);
    rmdir(dir);
    free(data);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(stream_content_length, start_server, stop_server),
    cmocka_unit_test_setup_teardown(stream_chunked, start_server, stop_server),
    cmocka_unit_test_setup_teardown(stream_back_pressure, start_server, stop_server),
    cmocka_unit_test_setup_teardown(stream_unread_body, start_server, stop_server),
    cmocka_unit_test_setup_teardown(stream_errors, start_server, stop_server),
    cmocka_unit_test_setup_teardown(whole_body_read_once, start_server, stop_server),
    cmocka_unit_test_setup_teardown(stream_form_upload, start_server, stop_server),
};

CIO_TEST_MAIN(tests)
