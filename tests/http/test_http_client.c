/*
 * test_http_client.c - the HTTP client's pure parts: the response framing
 * over an in-memory transport (the fuzz target's entry, so each hostile
 * input of the corpus has its expected error here), gzip/deflate decoding
 * with zlib, URL parsing and joining for redirects, encodings, and the
 * cookie jar's RFC 6265 rules.
 */
#include "cio_test.h"

#include <zlib.h>

#include "cio/http.h"
#include "http/client.h"

static int resp(const char *s)
{
    return cio__hc_fuzz_response(s, strlen(s), 0);
}

static void framing_ok(void **state)
{
    (void)state;
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
                          "hello"),
                     0);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\n5;x=1\r\nhello\r\n0\r\nT: 1\r\n\r\n"),
                     0);
    assert_int_equal(resp("HTTP/1.0 200 OK\r\n\r\nuntil close\nline\n"), 0);
    assert_int_equal(resp("HTTP/1.1 100 Continue\r\n\r\n"
                          "HTTP/1.1 204 No Content\r\n\r\n"),
                     0);
    const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    assert_int_equal(cio__hc_fuzz_response(h, strlen(h), 1), 0); /* HEAD */
}

static void framing_hostile(void **state)
{
    (void)state;
    /* smuggling: both framings, and two different lengths */
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
                     CIO_EHTTPC_FRAMING);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
                          "Content-Length: 6\r\n\r\nhello!"),
                     CIO_EHTTPC_FRAMING);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\nzz\r\nhello\r\n0\r\n\r\n"),
                     CIO_EHTTPC_MALFORMED);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                          "\r\nfffffffffffffffffff\r\nx"),
                     CIO_EHTTPC_MALFORMED);
    assert_int_equal(resp("HTTP/1.1 2000 OK\r\n\r\n"), CIO_EHTTPC_MALFORMED);
    assert_int_equal(resp("garbage\r\n\r\n"), CIO_EHTTPC_MALFORMED);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"
                          "short"),
                     CIO_EHTTPC_DISCONNECTED);
    assert_int_equal(resp(""), CIO_EHTTPC_DISCONNECTED);
    assert_int_equal(resp("HTTP/1.1 200 OK\r\nContent-Le"),
                     CIO_EHTTPC_MALFORMED);
    /* an endless run of interim responses */
    char many[2048] = "";
    for (int i = 0; i < 40; i++)
        strcat(many, "HTTP/1.1 102 Processing\r\n\r\n");
    assert_int_equal(resp(many), CIO_EHTTPC_MALFORMED);
    /* a head larger than the limit (8 KiB in the fuzz entry) */
    char *big = malloc(20000);
    strcpy(big, "HTTP/1.1 200 OK\r\nX-Big: ");
    memset(big + strlen(big), 'a', 12000);
    strcpy(big + 24 + 12000, "\r\n\r\n");
    assert_int_equal(resp(big), CIO_EHTTPC_HEAD_TOO_LARGE);
    /* a body larger than max_body (1 MiB there), until close */
    size_t n = (2u << 20) + 64;
    char *huge = malloc(n + 1);
    memset(huge, 'x', n);
    memcpy(huge, "HTTP/1.0 200 OK\r\n\r\n", 19);
    huge[n] = 0;
    assert_int_equal(resp(huge), CIO_EHTTPC_BODY_TOO_LARGE);
    free(huge);
    free(big);
}

static int with_body(const char *coding, const void *b, size_t n)
{
    char *m = malloc(n + 256);
    int h = snprintf(m, 256,
                     "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     coding, n);
    memcpy(m + h, b, n);
    int r = cio__hc_fuzz_response(m, (size_t)h + n, 0);
    free(m);
    return r;
}

static void decoding(void **state)
{
    (void)state;
    /* zlib-wrapped deflate, gzip and raw deflate */
    const char *text = "deflated body\nsecond line\n";
    unsigned char out[256];
    for (int wbits = 0; wbits < 3; wbits++) {
        z_stream z;
        memset(&z, 0, sizeof(z));
        int wb = wbits == 0 ? 15 : wbits == 1 ? 15 + 16 : -15;
        assert_int_equal(
            deflateInit2(&z, 6, Z_DEFLATED, wb, 8, Z_DEFAULT_STRATEGY), Z_OK);
        z.next_in = (Bytef *)(uintptr_t)text;
        z.avail_in = (uInt)strlen(text);
        z.next_out = out;
        z.avail_out = sizeof(out);
        assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
        size_t n = sizeof(out) - z.avail_out;
        deflateEnd(&z);
        assert_int_equal(with_body(wbits == 1 ? "gzip" : "deflate", out, n), 0);
        /* truncated: the stream never ends */
        assert_int_equal(with_body(wbits == 1 ? "gzip" : "deflate", out, n / 2),
                         CIO_EHTTPC_DECODE);
    }
    assert_int_equal(with_body("gzip", "\x1f\x8bgarbage!", 10),
                     CIO_EHTTPC_DECODE);
    /* a compression bomb stops at max_body (1 MiB), not at 8 MiB */
    size_t big = 8u << 20;
    unsigned char *zero = calloc(1, big);
    uLongf zl = compressBound(big);
    unsigned char *zb = malloc(zl);
    assert_int_equal(compress(zb, &zl, zero, big), Z_OK);
    assert_int_equal(with_body("deflate", zb, zl), CIO_EHTTPC_BODY_TOO_LARGE);
    free(zero);
    free(zb);
}

static void urls(void **state)
{
    (void)state;
    hc_url u;
    assert_int_equal(cio__hc_url_parse(&u, "http://u%40x:p%3Aw@Example.com"),
                     0);
    assert_string_equal(u.host, "Example.com");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.target, "/");
    assert_string_equal(u.user, "u@x");
    assert_string_equal(u.pass, "p:w");
    char *j = cio__hc_url_join(&u, "/abs?q=1", 8);
    assert_string_equal(j, "http://Example.com:80/abs?q=1");
    free(j);
    cio__hc_url_free(&u);
    assert_int_equal(cio__hc_url_parse(&u, "HTTP://[::1]:8080/a/b?c#frag"), 0);
    assert_string_equal(u.scheme, "http");
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.ipv6, 1);
    assert_int_equal(u.port, 8080);
    assert_string_equal(u.target, "/a/b?c");
    j = cio__hc_url_join(&u, "d", 1);
    assert_string_equal(j, "http://[::1]:8080/a/d");
    free(j);
    j = cio__hc_url_join(&u, "https://other/x", 15);
    assert_string_equal(j, "https://other/x");
    free(j);
    j = cio__hc_url_join(&u, "//h2:1/y", 8);
    assert_string_equal(j, "http://h2:1/y");
    free(j);
    cio__hc_url_free(&u);
    assert_int_equal(cio__hc_url_parse(&u, "https://h?x=1"), 0);
    assert_int_equal(u.port, 443);
    assert_string_equal(u.target, "/?x=1");
    cio__hc_url_free(&u);
    assert_int_equal(cio__hc_url_parse(&u, "ftp://h/"), CIO_EHTTPC_SCHEME);
    assert_int_equal(cio__hc_url_parse(&u, "nourl"), CIO_EHTTPC_BAD_URL);
    assert_int_equal(cio__hc_url_parse(&u, "http://h:99999/"),
                     CIO_EHTTPC_BAD_URL);
    assert_int_equal(cio__hc_url_parse(&u, "http://h/a b"), CIO_EHTTPC_BAD_URL);
    assert_int_equal(cio__hc_url_parse(&u, "http:///x"), CIO_EHTTPC_BAD_URL);
    assert_int_equal(cio__hc_url_parse(&u, "http://[::1/"), CIO_EHTTPC_BAD_URL);

    hc_buf b = {0};
    cio__hc_buf_quote(&b, "a b&c=d/é", 1);
    assert_string_equal(b.p, "a+b%26c%3Dd%2F%C3%A9");
    b.len = 0;
    cio__hc_buf_base64(&b, "Aladdin:open sesame", 19);
    assert_string_equal(b.p, "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    b.len = 0;
    cio__hc_buf_base64(&b, "ab", 2);
    assert_string_equal(b.p, "YWI=");
    free(b.p);
}

static void cookie_jar(void **state)
{
    (void)state;
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    cio_http_session *s;
    assert_int_equal(cio_http_session_new(&s, loop, NULL), 0);
    assert_int_equal(
        cio_http_session_set_cookie(s, "a.example.com", "sid=1; Path=/"), 0);
    assert_int_equal(cio_http_session_set_cookie(s, "a.example.com",
                                                 "dom=2; Domain=example.com"),
                     0);
    assert_int_equal(
        cio_http_session_set_cookie(s, "a.example.com", "sec=3; Secure"), 0);
    assert_int_equal(
        cio_http_session_set_cookie(s, "a.example.com", "p=4; Path=/api"), 0);
    /* a Domain the host does not match is refused */
    assert_int_equal(cio_http_session_set_cookie(s, "a.example.com",
                                                 "evil=1; Domain=other.org"),
                     -EINVAL);
    assert_int_equal(
        cio_http_session_set_cookie(s, "a.example.com", "super=1; Domain=com"),
        -EINVAL);
    assert_int_equal(cio_http_session_set_cookie(s, "h", "=novalue"), -EINVAL);
    assert_string_equal(cio_http_session_cookie(s, "a.example.com", "/", "sid"),
                        "1");
    /* host-only: not sent to a sibling; Domain: sent to subdomains */
    assert_null(cio_http_session_cookie(s, "b.example.com", "/", "sid"));
    assert_string_equal(cio_http_session_cookie(s, "b.example.com", "/", "dom"),
                        "2");
    assert_string_equal(cio_http_session_cookie(s, "example.com", "/", "dom"),
                        "2");
    assert_null(cio_http_session_cookie(s, "badexample.com", "/", "dom"));
    /* path matching */
    assert_null(cio_http_session_cookie(s, "a.example.com", "/", "p"));
    assert_null(cio_http_session_cookie(s, "a.example.com", "/apix", "p"));
    assert_string_equal(
        cio_http_session_cookie(s, "a.example.com", "/api/v1", "p"), "4");
    /* the header a request sends: Secure only over https */
    hc_buf b = {0};
    cio__hc_jar_header(s, &b, "a.example.com", "/", 0);
    assert_non_null(strstr(b.p, "sid=1"));
    assert_non_null(strstr(b.p, "dom=2"));
    assert_null(strstr(b.p, "sec=3"));
    assert_null(strstr(b.p, "p=4"));
    b.len = 0;
    cio__hc_jar_header(s, &b, "a.example.com", "/", 1);
    assert_non_null(strstr(b.p, "sec=3"));
    free(b.p);
    /* Max-Age=0 deletes; replacing keeps one */
    assert_int_equal(
        cio_http_session_set_cookie(s, "a.example.com", "sid=5; Path=/"), 0);
    assert_string_equal(cio_http_session_cookie(s, "a.example.com", "/", "sid"),
                        "5");
    assert_int_equal(cio_http_session_set_cookie(s, "a.example.com",
                                                 "sid=; Path=/; Max-Age=0"),
                     0);
    assert_null(cio_http_session_cookie(s, "a.example.com", "/", "sid"));
    assert_int_equal(
        cio_http_session_set_cookie(
            s, "a.example.com", "old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT"),
        0);
    assert_null(cio_http_session_cookie(s, "a.example.com", "/", "old"));
    cio_http_session_clear_cookies(s);
    assert_null(cio_http_session_cookie(s, "example.com", "/", "dom"));
    assert_int_equal(cio_http_session_close(s), 0);
    cio_loop_free(loop);
}

static void errors_named(void **state)
{
    (void)state;
    assert_string_equal(cio_err_name(CIO_EHTTPC_FRAMING), "CIO_EHTTPC_FRAMING");
    assert_non_null(strstr(cio_strerror(CIO_EHTTPC_TOO_MANY_REDIRECTS),
                           "too many redirects"));
    assert_non_null(strstr(cio_strerror(CIO_EHTTPC_BODY_TOO_LARGE),
                           "larger than the limit"));
    cio_http_session *s;
    assert_int_equal(cio_http_session_new(&s, NULL, NULL), -EINVAL);
    assert_int_equal(cio_http_session_new(NULL, NULL, NULL), -EINVAL);
    assert_int_equal(cio_http_session_close(NULL), 0);
    assert_int_equal(cio_http_client_response_free(NULL), 0);
}

/* ---- trailers over every split of the input ------------------------------ */

typedef struct piece_io {
    const char *p;
    size_t len, off, step;
} piece_io;

static ssize_t piece_recv(void *ctx, void *buf, size_t n)
{
    piece_io *m = ctx;
    size_t k = m->len - m->off;
    if (k > n)
        k = n;
    if (k > m->step)
        k = m->step;
    memcpy(buf, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static int piece_send(void *ctx, const void *buf, size_t n)
{
    (void)ctx, (void)buf, (void)n;
    return 0;
}

/* Reads the response in msg through pieces of step bytes, streamed by
 * chunks; checks the body and returns the number of trailers (or the
 * error), with "x-sum" copied into sum. */
static int read_split(const char *msg, size_t step, char *sum, size_t cap)
{
    piece_io m = {msg, strlen(msg), 0, step};
    hc_conn c;
    memset(&c, 0, sizeof(c));
    c.io = (cio_http_transport){&m, piece_recv, piece_send, NULL};
    c.cap = 64;
    c.buf = malloc(c.cap);
    cio_http_client_response r;
    memset(&r, 0, sizeof(r));
    cio__http_limits pl = CIO__HTTP_LIMITS_INIT;
    pl.max_body = UINT64_MAX;
    r.lim.p = pl;
    r.lim.max_body = 1 << 20;
    r.lim.max_line = 4096;
    r.deadline = INT64_MAX;
    int got = 0;
    int e = cio__hc_read_head(&r, &c, 0, &got);
    char body[64];
    size_t bl = 0;
    if (e == 0) {
        const char *d;
        size_t n;
        while ((e = cio_http_client_response_read_chunk(&r, &d, &n)) > 0) {
            assert_true(bl + n < sizeof(body));
            memcpy(body + bl, d, n);
            bl += n;
        }
    }
    if (e == 0) {
        assert_int_equal(bl, 11);
        assert_memory_equal(body, "hello world", 11);
        e = cio_http_client_response_ntrailers(&r);
        const char *v = cio_http_client_response_trailer(&r, "X-SUM", 0, NULL);
        snprintf(sum, cap, "%s", v ? v : "(none)");
    }
    free(c.buf);
    cio__hc_response_clear(&r);
    return e;
}

static void trailers_every_split(void **state)
{
    (void)state;
    static const char msg[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n"
        "x-sum:\t 1f2e \r\nOther: a:b\r\nX-Sum: second\r\n\r\n";
    for (size_t step = 1; step <= sizeof(msg); step++) {
        char sum[32];
        assert_int_equal(read_split(msg, step, sum, sizeof(sum)), 3);
        assert_string_equal(sum, "1f2e");
    }
    static const char none[] =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "b\r\nhello world\r\n0\r\n\r\n";
    for (size_t step = 1; step <= sizeof(none); step++) {
        char sum[32];
        assert_int_equal(read_split(none, step, sum, sizeof(sum)), 0);
        assert_string_equal(sum, "(none)");
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(framing_ok), cmocka_unit_test(framing_hostile),
    cmocka_unit_test(decoding),   cmocka_unit_test(urls),
    cmocka_unit_test(cookie_jar), cmocka_unit_test(errors_named),
    cmocka_unit_test(trailers_every_split),
};

CIO_TEST_MAIN(tests)
