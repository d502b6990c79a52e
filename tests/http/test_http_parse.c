/*
 * test_http_parse.c - the pure HTTP/1.1 parser (src/http/parse.c): valid
 * requests and responses, every split point of a set of messages (the
 * result must not depend on how the bytes arrive), the anti-smuggling
 * rejections with their status, the limits, chunked bodies with extensions
 * and trailers, pipelining, and the keep-alive rules of 1.0 and 1.1.
 */
#include "cio_test.h"

#include "http/parse.h"

/* Describes the messages of a byte stream, delivered in pieces: the first
 * `split` bytes, then the rest (split == 0: one byte at a time). Every
 * message becomes "<start-line>|name=value|...|ka=<k>|body=<bytes>;" and a
 * rejection "E<status>;". */
static size_t describe(const char *data, size_t len, size_t split, int flags,
                       char *out, size_t cap)
{
    static char buf[65536];
    size_t have = 0, start = 0, o = 0;
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[64];
    cio__http_msg m;
    cio__http_body b;
    int in_body = 0;
    out[0] = '\0';
#define OUT(...) o += (size_t)snprintf(out + o, cap - o, __VA_ARGS__)
    for (;;) {
        int progress = 0;
        if (!in_body) {
            m.headers = hdrs;
            m.headers_cap = 64;
            int r = cio__http_parse_head(buf + start, have - start, flags,
                                         &lim, &m);
            if (r < 0) {
                OUT("E%d;", -r);
                return o;
            }
            if (r > 0) {
                if (flags & CIO__HTTP_PARSE_RESPONSE)
                    OUT("%d %.*s", m.status, (int)m.reason_len, m.reason);
                else
                    OUT("%.*s %.*s 1.%d", (int)m.method_len, m.method,
                        (int)m.target_len, m.target, m.minor);
                for (size_t i = 0; i < m.nheaders; i++)
                    OUT("|%.*s=%.*s", (int)hdrs[i].name_len, hdrs[i].name,
                        (int)hdrs[i].value_len, hdrs[i].value);
                OUT("|ka=%d|ex=%d|body=", m.keep_alive, m.expect_continue);
                cio__http_body_init(&b, &m, &lim);
                start += (size_t)r;
                in_body = 1;
                progress = 1;
            }
        } else if (b.done) {
            OUT(";");
            in_body = 0;
            progress = 1;
        } else {
            const char *d;
            size_t dl;
            long n = cio__http_body_decode(&b, buf + start, have - start, &d,
                                           &dl);
            if (n < 0) {
                OUT("E%ld;", -n);
                return o;
            }
            OUT("%.*s", (int)dl, d);
            start += (size_t)n;
            progress = n > 0 || b.done;
        }
        if (progress)
            continue;
        if (have == len) {
            if (in_body && b.kind == CIO__HTTP_BODY_CLOSE)
                OUT("<eof>;");
            else if (have > start || in_body)
                OUT("<incomplete>");
            return o;
        }
        size_t take = split == 0 ? 1 : have < split ? split - have : len - have;
        memcpy(buf + have, data + have, take);
        have += take;
    }
#undef OUT
}

static void check_splits_once(const char *msg, int flags, const char *want);

/* Every split point, with the SSE4.2 scan and with the scalar one. */
static void check_all_splits(const char *msg, int flags, const char *want)
{
    int was = cio__http_parse_set_simd(0);
    check_splits_once(msg, flags, want);
    cio__http_parse_set_simd(1);
    check_splits_once(msg, flags, want);
    cio__http_parse_set_simd(was);
}

static void check_splits_once(const char *msg, int flags, const char *want)
{
    char whole[8192], part[8192];
    size_t len = strlen(msg);
    describe(msg, len, len, flags, whole, sizeof(whole));
    if (want)
        assert_string_equal(whole, want);
    describe(msg, len, 0, flags, part, sizeof(part));
    assert_string_equal(part, whole);
    for (size_t k = 1; k < len; k++) {
        describe(msg, len, k, flags, part, sizeof(part));
        if (strcmp(part, whole) != 0)
            fail_msg("split at %zu:\n  got  %s\n  want %s", k, part, whole);
    }
}

static void get_simple(void **state)
{
    (void)state;
    check_all_splits("GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n"
                     "User-Agent:  curl/7.88  \r\n\r\n",
                     0,
                     "GET /hello?x=1 1.1|Host=a|User-Agent=curl/7.88"
                     "|ka=1|ex=0|body=;");
}

static void post_content_length(void **state)
{
    (void)state;
    check_all_splits("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11"
                     "\r\n\r\nhello world",
                     0,
                     "POST /echo 1.1|Host=a|Content-Length=11|ka=1|ex=0"
                     "|body=hello world;");
}

static void chunked_extensions_trailers(void **state)
{
    (void)state;
    check_all_splits(
        "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;name=value;q=\"x y\"\r\nhello\r\n"
        "6 ; last\r\n world\r\n"
        "0\r\nX-Trailer: yes\r\nX-Other: 2\r\n\r\n",
        0,
        "POST /up 1.1|Host=a|Transfer-Encoding=chunked|ka=1|ex=0"
        "|body=hello world;");
}

static void long_values_simd_blocks(void **state)
{
    (void)state;
    /* Values and targets longer than 16 bytes, with the stop byte at every
     * position of a block: the SIMD scan and the scalar one agree. */
    char req[512], want[512];
    for (int k = 0; k < 40; k++) {
        char val[64];
        memset(val, 'v', sizeof(val));
        val[k] = '\x01'; /* a control byte at position k */
        snprintf(req, sizeof(req), "GET /%.*s HTTP/1.1\r\nHost: a\r\n"
                 "X: %.*s\r\n\r\n", 20 + k, "abcdefghijklmnopqrstuvwxyz"
                 "abcdefghijklmnopqrstuvwxyz0123456789", 48, val);
        check_all_splits(req, 0, "E400;");
        val[k] = '\xe9'; /* obs-text: allowed */
        snprintf(req, sizeof(req), "GET /t HTTP/1.1\r\nHost: a\r\n"
                 "X: %.*s\r\n\r\n", 48, val);
        snprintf(want, sizeof(want), "GET /t 1.1|Host=a|X=%.*s|ka=1|ex=0"
                 "|body=;", 48, val);
        check_all_splits(req, 0, want);
        char target[64];
        memset(target, 't', sizeof(target));
        target[k] = ' '; /* a space inside the target at position k */
        snprintf(req, sizeof(req), "GET /%.*s HTTP/1.1\r\nHost: a\r\n\r\n",
                 48, target);
        check_all_splits(req, 0, "E400;");
    }
}

static void pipelined(void **state)
{
    (void)state;
    check_all_splits("GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
                     "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n"
                     "abc"
                     "GET /3 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
                     0,
                     "GET /1 1.1|Host=a|ka=1|ex=0|body=;"
                     "POST /2 1.1|Host=a|Content-Length=3|ka=1|ex=0|body=abc;"
                     "GET /3 1.1|Host=a|Connection=close|ka=0|ex=0|body=;");
}

static void pipelined_chunked_then_get(void **state)
{
    (void)state;
    check_all_splits("POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "
                     "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                     "\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n",
                     0,
                     "POST /a 1.1|Host=h|Transfer-Encoding=chunked|ka=1|ex=0"
                     "|body=abc;GET /b 1.1|Host=h|ka=1|ex=0|body=;");
}

static void http10_keep_alive(void **state)
{
    (void)state;
    check_all_splits("GET / HTTP/1.0\r\n\r\n", 0, "GET / 1.0|ka=0|ex=0|body=;");
    check_all_splits("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", 0,
                     "GET / 1.0|Connection=Keep-Alive|ka=1|ex=0|body=;");
    check_all_splits("GET / HTTP/1.1\r\nHost: x\r\nConnection: foo, close\r\n"
                     "\r\n",
                     0, "GET / 1.1|Host=x|Connection=foo, close|ka=0|ex=0|body=;");
}

static void expect_continue(void **state)
{
    (void)state;
    check_all_splits("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\n"
                     "Content-Length: 2\r\n\r\nok",
                     0,
                     "PUT /f 1.1|Host=x|Expect=100-Continue|Content-Length=2"
                     "|ka=1|ex=1|body=ok;");
    check_all_splits("PUT /f HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n",
                     0, "E417;");
}

static void responses(void **state)
{
    (void)state;
    int R = CIO__HTTP_PARSE_RESPONSE;
    check_all_splits("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", R,
                     "200 OK|Content-Length=5|ka=1|ex=0|body=hello;");
    check_all_splits("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "2\r\nhi\r\n0\r\n\r\n",
                     R,
                     "200 OK|Transfer-Encoding=chunked|ka=1|ex=0|body=hi;");
    check_all_splits("HTTP/1.0 200 OK\r\nServer: x\r\n\r\nuntil close", R,
                     "200 OK|Server=x|ka=0|ex=0|body=until close<eof>;");
    check_all_splits("HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                     R, "204 No Content|Content-Length=5|ka=1|ex=0|body=;");
    check_all_splits("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 \r\n"
                     "Content-Length: 0\r\n\r\n",
                     R,
                     "100 Continue|ka=1|ex=0|body=;"
                     "200 |Content-Length=0|ka=1|ex=0|body=;");
    check_all_splits("HTTP/2.0 200 OK\r\n\r\n", R, "E505;");
    char out[256];
    const char *head = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    describe(head, strlen(head), strlen(head),
             R | CIO__HTTP_PARSE_HEAD_REQ, out, sizeof(out));
    assert_string_equal(out, "200 OK|Content-Length=5|ka=1|ex=0|body=;");
}

typedef struct bad_case {
    const char *raw;
    int status;
    const char *why;
} bad_case;

static const bad_case bad[] = {
    /* Content-Length (RFC 9110 8.6, RFC 9112 6.3) */
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4"
     "\r\n\r\nabcd", 400, "duplicate differing Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabcd", 400,
     "comma-listed differing Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc", 400,
     "signed Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc", 400,
     "hex Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3 3\r\n\r\nabc", 400,
     "space inside Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: \r\n\r\n", 400,
     "empty Content-Length"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999"
     "\r\n\r\n", 400, "Content-Length overflow"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000000\r\n\r\n", 413,
     "Content-Length over the body limit"},
    /* Transfer-Encoding (RFC 9112 6.1, 6.3) */
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Content-Length: 3\r\n\r\n", 400, "TE and CL together"},
    {"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
     "Transfer-Encoding: chunked\r\n\r\n", 400, "CL and TE together"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
     "TE without a final chunked"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
     400, "chunked not final"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
     "Transfer-Encoding: identity\r\n\r\n", 400, "chunked not final (two fields)"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n"
     "\r\n", 400, "chunked twice"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     501, "an unimplemented coding before chunked"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
     400, "quoted coding"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;x=1\r\n\r\n",
     400, "coding with a parameter"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n", 400,
     "empty Transfer-Encoding"},
    {"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
     "Transfer-Encoding in HTTP/1.0"},
    /* Chunked (RFC 9112 7.1) */
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "+5\r\nhello\r\n0\r\n\r\n", 400, "signed chunk size"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     " 5\r\nhello\r\n0\r\n\r\n", 400, "space before chunk size"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5 \r\nhello\r\n0\r\n\r\n", 400, "space after chunk size, no ext"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0x5\r\nhello\r\n0\r\n\r\n", 400, "0x chunk size"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "10000000000000000\r\n", 400, "chunk size overflow"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\nhello\r\n0\r\n\r\n", 400, "bare LF after chunk size"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhelloX\r\n0\r\n\r\n", 400, "chunk longer than its size"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5\r\nhello\n0\r\n\r\n", 400, "bare LF after chunk data"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "5;a\x01\r\nhello\r\n0\r\n\r\n", 400, "control character in extension"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold in trailers"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "0\r\nX : a\r\n\r\n", 400, "space before colon in trailers"},
    {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
     "800001\r\n", 413, "chunk over the body limit"},
    /* Request line (RFC 9112 3) */
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two spaces after method"},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "space after version"},
    {"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", 400, "space in target"},
    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "invalid token in method"},
    {"GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF after request line"},
    {"GET / HTTP/1.1\rHost: a\r\n\r\n", 400, "bare CR in request line"},
    {"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400, "DEL in target"},
    {"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "raw UTF-8 in target"},
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0"},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "HTTP/1.2"},
    {"GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9"},
    {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "HTTP/1.10"},
    {"GET / http/1.1\r\nHost: a\r\n\r\n", 400, "lower-case HTTP"},
    {"GET /\r\n\r\n", 400, "HTTP/0.9 request line"},
    {"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare LF before request"},
    /* Fields (RFC 9112 5, RFC 9110 5.5) */
    {"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, "space before colon"},
    {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "tab before colon"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", 400, "obs-fold"},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "space before first field"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX-\x01: b\r\n\r\n", 400,
     "control in field name"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX(y): b\r\n\r\n", 400,
     "separator in field name"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n", 400,
     "control in field value"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", 400, "DEL in value"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400, "bare CR in value"},
    {"GET / HTTP/1.1\r\nHost: a\r\nX: a\nY: b\r\n\r\n", 400,
     "bare LF in value"},
    {"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400, "empty field name"},
    {"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", 400, "no colon"},
    {"GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF ending the head"},
    {"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host"},
    {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host fields"},
    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "space in Host"},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "slash in Host"},
    {NULL, 0, NULL}};

static void rejections_once(void);

static void rejections(void **state)
{
    (void)state;
    int was = cio__http_parse_set_simd(0);
    rejections_once();
    cio__http_parse_set_simd(1);
    rejections_once();
    cio__http_parse_set_simd(was);
}

static void rejections_once(void)
{
    for (const bad_case *c = bad; c->raw; c++) {
        char want[16], got[256];
        snprintf(want, sizeof(want), "E%d;", c->status);
        describe(c->raw, strlen(c->raw), strlen(c->raw), 0, got, sizeof(got));
        if (!strstr(got, want))
            fail_msg("%s: got %s, want %s", c->why, got, want);
        /* And the same verdict whatever the split. */
        for (size_t k = 1; k < strlen(c->raw); k++) {
            char part[256];
            describe(c->raw, strlen(c->raw), k, 0, part, sizeof(part));
            if (strcmp(part, got) != 0)
                fail_msg("%s split at %zu: %s vs %s", c->why, k, part, got);
        }
    }
}

static void limits(void **state)
{
    (void)state;
    static char big[40000];
    char got[256];
    /* Request line over 8190: 414, even before its end arrives. */
    int n = snprintf(big, sizeof(big), "GET /%09000d", 0);
    describe(big, (size_t)n, (size_t)n, 0, got, sizeof(got));
    assert_string_equal(got, "E414;");
    /* One field over 8190: 431. */
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\nX: %09000d"
                 "\r\n\r\n", 0);
    describe(big, (size_t)n, (size_t)n, 0, got, sizeof(got));
    assert_string_equal(got, "E431;");
    /* All fields over 16 KiB: 431. */
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 5; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: %04000d\r\n", i,
                      0);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    describe(big, (size_t)n, (size_t)n, 0, got, sizeof(got));
    assert_string_equal(got, "E431;");
    /* More than 100 fields: 431. */
    n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 101; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X%d: y\r\n", i);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[200];
    cio__http_msg m = {.headers = hdrs, .headers_cap = 200};
    assert_int_equal(cio__http_parse_head(big, (size_t)n, 0, &lim, &m), -431);
    lim.max_headers = 200;
    assert_int_equal(cio__http_parse_head(big, (size_t)n, 0, &lim, &m), n);
    assert_int_equal(m.nheaders, 102);
    /* Configurable: a 10-byte request line limit. */
    lim.max_request_line = 10;
    assert_int_equal(cio__http_parse_head("GET /abcdefgh HTTP/1.1\r\n", 24, 0,
                                          &lim, &m), -414);
}

static void incomplete_is_zero(void **state)
{
    (void)state;
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[8];
    cio__http_msg m = {.headers = hdrs, .headers_cap = 8};
    const char *req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    for (size_t k = 0; k < strlen(req); k++)
        assert_int_equal(cio__http_parse_head(req, k, 0, &lim, &m), 0);
    assert_int_equal(cio__http_parse_head(req, strlen(req), 0, &lim, &m),
                     (int)strlen(req));
    /* head_end finds the blank line, whatever the resume position. */
    size_t len = strlen(req);
    for (size_t from = 0; from <= len; from++)
        assert_int_equal(cio__http_head_end(req, len, from), len);
    assert_int_equal(cio__http_head_end(req, len - 1, 0), 0);
}

static void views_point_into_buffer(void **state)
{
    (void)state;
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    cio__http_header hdrs[8];
    cio__http_msg m = {.headers = hdrs, .headers_cap = 8};
    char req[] = "DELETE /x HTTP/1.1\r\nhost: h:80\r\n\r\n";
    assert_true(cio__http_parse_head(req, sizeof(req) - 1, 0, &lim, &m) > 0);
    assert_ptr_equal(m.method, req);
    assert_ptr_equal(m.target, req + 7);
    assert_ptr_equal(m.host, req + 26);
    assert_int_equal(m.host_len, 4);
    assert_true(cio__http_ieq("Content-TYPE", 12, "content-type"));
    assert_false(cio__http_ieq("Content-TYP", 11, "content-type"));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(get_simple),
    cmocka_unit_test(post_content_length),
    cmocka_unit_test(chunked_extensions_trailers),
    cmocka_unit_test(long_values_simd_blocks),
    cmocka_unit_test(pipelined),
    cmocka_unit_test(pipelined_chunked_then_get),
    cmocka_unit_test(http10_keep_alive),
    cmocka_unit_test(expect_continue),
    cmocka_unit_test(responses),
    cmocka_unit_test(rejections),
    cmocka_unit_test(limits),
    cmocka_unit_test(incomplete_is_zero),
    cmocka_unit_test(views_point_into_buffer),
};

CIO_TEST_MAIN(tests)
