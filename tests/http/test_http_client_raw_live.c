/*
 * test_http_client_raw_live.c - cio::http's client with no_decompress
 * (aiohttp's auto_decompress=False) against cio's server on 127.0.0.1 in
 * the same loop: the request carries no Accept-Encoding, the response's
 * Content-Encoding stays, and the body read (whole or streamed) is the
 * very gzip / deflate stream the server sent. The default session, on
 * the same server, decodes the same responses (the contrast that shows
 * the option is what changes it).
 */
#include "cio_test.h"

#include <zlib.h>

#include "cio/http.h"
#include "cio/http_client.h"

enum { PLAIN_LEN = 5000 };
static char plain[PLAIN_LEN];
static unsigned char gz[PLAIN_LEN + 256], df[PLAIN_LEN + 256];
static size_t gz_len, df_len;
static char seen_ae[128]; /* the Accept-Encoding of the last request */

/* zlib's deflate of plain into out: gzip (windowBits 31) or zlib
 * (windowBits 15, what "Content-Encoding: deflate" means). */
static size_t compress_to(unsigned char *out, size_t cap, int window_bits)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8,
                                  Z_DEFAULT_STRATEGY),
                     Z_OK);
    z.next_in = (unsigned char *)plain;
    z.avail_in = PLAIN_LEN;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    return n;
}

static void note_ae(cio_http_request *req)
{
    size_t n = 0;
    const char *ae = cio_http_request_header(req, "Accept-Encoding", 0, &n);
    if (!ae)
        n = 0;
    if (n >= sizeof(seen_ae))
        n = sizeof(seen_ae) - 1;
    memcpy(seen_ae, ae ? ae : "", n);
    seen_ae[n] = '\0';
}

static int h_gz(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    note_ae(req);
    cio_http_response_header(res, "Content-Encoding", "gzip");
    return cio_http_response_raw(res, 200, gz, gz_len, "text/plain");
}

static int h_df(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)a;
    note_ae(req);
    cio_http_response_header(res, "Content-Encoding", "deflate");
    return cio_http_response_raw(res, 200, df, df_len, "text/plain");
}

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            print_error("check failed at line %d: %s\n", __LINE__, #c);        \
            return -EPROTO;                                                    \
        }                                                                      \
    } while (0)

typedef struct {
    int port;
    char url[128];
} ctx;

static const char *U(ctx *t, const char *path)
{
    snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%d%s", t->port, path);
    return t->url;
}

/* GET path on s, the body read whole: checks the Content-Encoding kept
 * (enc, or none when NULL) and the body equal to want[0..want_len). */
static int get_whole(cio_http_session *s, ctx *t, const char *path,
                     const char *enc, const void *want, size_t want_len)
{
    cio_http_client_response *r;
    CHECK(cio_http_session_get(s, U(t, path), &r) == 0);
    CHECK(cio_http_client_response_status(r) == 200);
    size_t cel = 0;
    const char *ce =
        cio_http_client_response_header(r, "Content-Encoding", 0, &cel);
    if (enc)
        CHECK(ce && cel == strlen(enc) && !memcmp(ce, enc, cel));
    const char *data;
    size_t len;
    CHECK(cio_http_client_response_read(r, 0, &data, &len) == 0);
    CHECK(len == want_len && !memcmp(data, want, len));
    cio_http_client_response_free(r);
    return 0;
}

static int raw_main(void *arg, void **result)
{
    (void)result, (void)arg;
    cio_http_app *app;
    CHECK(cio_http_app_new(&app, "raw") == 0);
    CHECK(cio_http_route(app, "/gz", h_gz, NULL, 0) == 0);
    CHECK(cio_http_route(app, "/df", h_df, NULL, 0) == 0);
    cio_http_server *srv;
    CHECK(cio_http_server_start(app, "127.0.0.1", 0, &srv) == 0);
    ctx t = {.port = cio_http_server_port(srv)};

    /* no_decompress: the bytes as sent. */
    cio_http_session_opts so = CIO_HTTP_SESSION_OPTS_INIT;
    so.no_decompress = 1;
    cio_http_session *s;
    CHECK(cio_http_session_new(&s, cio_get_running_loop(), &so) == 0);
    int r = get_whole(s, &t, "/gz", "gzip", gz, gz_len);
    if (r == 0) {
        CHECK(seen_ae[0] == '\0'); /* no Accept-Encoding asked */
        CHECK(gz[0] == 0x1f && gz[1] == 0x8b && gz_len < PLAIN_LEN / 4);
        r = get_whole(s, &t, "/df", "deflate", df, df_len);
    }
    if (r == 0) {
        /* Streamed: the pieces add up to the gzip stream, too. */
        cio_http_client_response *resp;
        CHECK(cio_http_session_get(s, U(&t, "/gz"), &resp) == 0);
        static unsigned char got[sizeof(gz)];
        size_t n = 0;
        const char *d;
        size_t l;
        int k;
        while ((k = cio_http_client_response_read_chunk(resp, &d, &l)) == 1) {
            CHECK(n + l <= sizeof(got));
            memcpy(got + n, d, l);
            n += l;
        }
        CHECK(k == 0);
        CHECK(n == gz_len && !memcmp(got, gz, n));
        cio_http_client_response_free(resp);
    }
    CHECK(cio_http_session_close(s) == 0);

    /* The default session decodes both (and asks for them). */
    if (r == 0) {
        CHECK(cio_http_session_new(&s, cio_get_running_loop(), NULL) == 0);
        r = get_whole(s, &t, "/gz", NULL, plain, PLAIN_LEN);
        if (r == 0) {
            CHECK(strstr(seen_ae, "gzip") != NULL);
            r = get_whole(s, &t, "/df", NULL, plain, PLAIN_LEN);
        }
        CHECK(cio_http_session_close(s) == 0);
    }
    cio_http_server_close(srv);
    CHECK(cio_http_app_free(app) == 0);
    return r;
}

static void no_decompress_raw_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < PLAIN_LEN; i++)
        plain[i] = "cio no_decompress "[i % 18];
    gz_len = compress_to(gz, sizeof(gz), 31);
    df_len = compress_to(df, sizeof(df), 15);
    int r = cio_run(raw_main, NULL, NULL);
    if (r != 0)
        fail_msg("case failed: %d %s", r, cio_strerror(r));
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(no_decompress_raw_bytes),
};

CIO_TEST_MAIN(tests)
