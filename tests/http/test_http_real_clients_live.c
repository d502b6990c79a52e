/* cio-test: timeout=120 */
/*
 * test_http_real_clients_live.c - cio::http over HTTP/1.1 against more
 * real clients, live on 127.0.0.1:
 *   - curl -r (Range) on a static file route: 206, Content-Range, the
 *     very bytes of the range; a suffix range; an unsatisfiable one: 416;
 *   - wrk for 2 s with keep-alive: requests answered, no socket errors,
 *     no non-2xx answer, all of them on wrk's 8 connections;
 *   - ab -k (ApacheBench) for 2 s: the same, and its requests really
 *     were keep-alive.
 * Each case skips (with the reason) when its tool is not installed
 * (scripts/bootstrap test installs curl, wrk and apache2-utils).
 */
#include "cio_test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cio/net.h"

#include "cio_testutil_http.h"

/* What /hello saw: requests, and the distinct client ports they came
 * from (one per connection: keep-alive means few ports, many requests). */
static atomic_long hello_requests, hello_conns;
static atomic_uchar port_seen[65536];

static int h_hello(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    cio_sockaddr peer;
    if (cio_http_request_remote(req, &peer) == 0) {
        int port = cio_sockaddr_port(&peer);
        if (port > 0 && port < 65536 && !atomic_exchange(&port_seen[port], 1))
            hello_conns++;
    }
    hello_requests++;
    return cio_http_response_text(res, 200, "hello");
}

static void hello_reset(void)
{
    for (size_t i = 0; i < 65536; i++)
        port_seen[i] = 0;
    hello_requests = 0;
    hello_conns = 0;
}

static char g_dir[64];
enum { FSIZE = 1000 };

/* The byte at offset i of the static file. */
static char fbyte(size_t i) { return (char)('a' + (i * 7 + i / 26) % 26); }

static int start_server(void **state)
{
    (void)state;
    strcpy(g_dir, "/tmp/cio-realcli-XXXXXX");
    assert_non_null(mkdtemp(g_dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/f.txt", g_dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (size_t i = 0; i < FSIZE; i++)
        fputc(fbyte(i), f);
    fclose(f);
    assert_int_equal(cio_http_app_new(&g_app, "realcli"), 0);
    assert_int_equal(cio_http_route(g_app, "/hello", h_hello, NULL, 0), 0);
    assert_int_equal(cio_http_app_static(g_app, "/static", g_dir), 0);
    tu_http_start();
    return 0;
}

static int stop_server(void **state)
{
    (void)state;
    assert_int_equal(tu_http_stop(), 0);
    assert_int_equal(cio_http_app_free(g_app), 0);
    g_app = NULL;
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

/* Runs curl -r range on /static/f.txt over HTTP/1.1: the head (with
 * -D, CR LF kept) into head, the body into body (its length returned). */
static long curl_range(const char *range, char *head, size_t hcap,
                       char *body, size_t bcap)
{
    char hfile[128], bfile[128], out[64];
    snprintf(hfile, sizeof(hfile), "%s/head", g_dir);
    snprintf(bfile, sizeof(bfile), "%s/body", g_dir);
    int rc = tu_sh(out, sizeof(out),
                   "curl -s --http1.1 -m 10 -r %s -D %s -o %s "
                   "http://127.0.0.1:%d/static/f.txt; echo $?",
                   range, hfile, bfile, g_port);
    assert_int_equal(rc, 0);
    assert_int_equal(atoi(out), 0);
    FILE *f = fopen(hfile, "rb");
    assert_non_null(f);
    size_t n = fread(head, 1, hcap - 1, f);
    head[n] = '\0';
    fclose(f);
    f = fopen(bfile, "rb");
    assert_non_null(f);
    n = fread(body, 1, bcap, f);
    fclose(f);
    return (long)n;
}

static void curl_range_static(void **state)
{
    (void)state;
    if (!tu_have("curl")) {
        fprintf(stderr, "skipped: curl not installed\n");
        skip();
    }
    char head[2048], body[2048];
    long n = curl_range("10-19", head, sizeof(head), body, sizeof(body));
    assert_non_null(strstr(head, "HTTP/1.1 206"));
    assert_non_null(strcasestr(head, "\r\ncontent-range: bytes 10-19/1000\r\n"));
    assert_non_null(strcasestr(head, "\r\ncontent-length: 10\r\n"));
    assert_int_equal(n, 10);
    for (int i = 0; i < 10; i++)
        assert_int_equal(body[i], fbyte(10 + (size_t)i));
    /* The last 5 bytes (a suffix range). */
    n = curl_range("-5", head, sizeof(head), body, sizeof(body));
    assert_non_null(strstr(head, "HTTP/1.1 206"));
    assert_non_null(strcasestr(head, "\r\ncontent-range: bytes 995-999/1000\r\n"));
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(body[i], fbyte(995 + (size_t)i));
    /* From an offset to the end. */
    n = curl_range("990-", head, sizeof(head), body, sizeof(body));
    assert_non_null(strcasestr(head, "\r\ncontent-range: bytes 990-999/1000\r\n"));
    assert_int_equal(n, 10);
    assert_int_equal(body[0], fbyte(990));
    /* Past the end: 416 with the size. */
    n = curl_range("5000-5010", head, sizeof(head), body, sizeof(body));
    assert_non_null(strstr(head, "HTTP/1.1 416"));
    assert_non_null(strcasestr(head, "\r\ncontent-range: bytes */1000\r\n"));
}

/* The number after key in s (-1 if key is not there). */
static long num_after(const char *s, const char *key)
{
    const char *p = strstr(s, key);
    return p ? atol(p + strlen(key)) : -1;
}

static void wrk_keep_alive(void **state)
{
    (void)state;
    if (!tu_have("wrk")) {
        fprintf(stderr, "skipped: wrk not installed (scripts/bootstrap "
                        "test)\n");
        skip();
    }
    static char out[32768];
    hello_reset();
    int rc = tu_sh(out, sizeof(out),
                   "timeout 30 wrk -t1 -c8 -d2s http://127.0.0.1:%d/hello "
                   "2>&1",
                   g_port);
    print_message("%s", out);
    assert_int_equal(rc, 0);
    /* "  N requests in 2.00s, M MB read" */
    const char *p = strstr(out, " requests in ");
    assert_non_null(p);
    while (p > out && p[-1] >= '0' && p[-1] <= '9')
        p--;
    long requests = atol(p);
    assert_true(requests > 0);
    /* wrk prints these lines only when they are not zero. */
    assert_null(strstr(out, "Socket errors"));
    assert_null(strstr(out, "Non-2xx or 3xx responses"));
    /* Keep-alive: the server saw wrk's requests (those wrk counts are
     * answered ones) on wrk's 8 connections, not one per request. */
    print_message("server: %ld requests on %ld connections\n",
                  (long)hello_requests, (long)hello_conns);
    assert_true(hello_requests >= requests);
    assert_true(hello_conns >= 1 && hello_conns <= 8);
    /* And the server still answers. */
    int fd = tu_dial();
    char body[64];
    tu_send_str(fd, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_int_equal(tu_read_response(fd, body, sizeof(body)), 200);
    close(fd);
}

static void ab_keep_alive(void **state)
{
    (void)state;
    if (!tu_have("ab")) {
        fprintf(stderr, "skipped: ab not installed (scripts/bootstrap test: "
                        "apache2-utils)\n");
        skip();
    }
    static char out[32768];
    /* -t 2: for two seconds (-n: at most that many requests). */
    int rc = tu_sh(out, sizeof(out),
                   "timeout 30 ab -q -k -c 8 -t 2 -n 1000000 "
                   "http://127.0.0.1:%d/hello 2>&1",
                   g_port);
    print_message("%s", out);
    assert_int_equal(rc, 0);
    long complete = num_after(out, "Complete requests:");
    long failed = num_after(out, "Failed requests:");
    long keep = num_after(out, "Keep-Alive requests:");
    assert_true(complete > 0);
    assert_int_equal(failed, 0);
    /* ab prints "Non-2xx responses:" only when there were some. */
    assert_null(strstr(out, "Non-2xx responses"));
    assert_int_equal(keep, complete);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(curl_range_static, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(wrk_keep_alive, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(ab_keep_alive, start_server, stop_server),
};

CIO_TEST_MAIN(tests)
