/*
 * test_http_h2_limits_live.c - cio::http's HTTP/2 max_concurrent_streams
 * driven past its value, live on 127.0.0.1 (h2c by prior knowledge), by a
 * client written here with hand-built frames (a well-behaved client such
 * as nghttp2's own, nghttp or h2load never opens more streams than the
 * server advertises, so it cannot exceed the limit):
 *   - streams opened before the client saw the server's SETTINGS (the
 *     burst of a client that does not wait for them): the ones over the
 *     limit are refused with RST_STREAM(REFUSED_STREAM) (RFC 9113 5.1.2,
 *     8.7: safe to retry), the others complete;
 *     the connection lives on: once the first streams finished, new
 *     streams on it are served;
 *   - streams opened after the client acknowledged the SETTINGS: nghttp2
 *     ends the connection with GOAWAY(PROTOCOL_ERROR), and a new
 *     connection opening LIMIT streams at once has them all served;
 *   - never more than the limit of handlers run at once.
 */
#include "cio_test.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>

#include "cio_testutil_http.h"
#include "cio/http2.h"

enum { LIMIT = 4, BURST = 10 };

static atomic_int conc_now, conc_max, handled;

/* Holds its stream open 300 ms, so a burst of streams overlaps. */
static int h_slow(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int n = ++conc_now;
    int m = conc_max;
    while (n > m && !atomic_compare_exchange_weak(&conc_max, &m, n))
        ;
    int r = cio_sleep(300 * CIO_MS);
    conc_now--;
    if (r < 0)
        return r;
    handled++;
    return cio_http_response_text(res, 200, "slow");
}

static int start_server(void **state)
{
    (void)state;
    assert_int_equal(cio_http_app_new(&g_app, "h2limits"), 0);
    assert_int_equal(cio_http_route(g_app, "/slow", h_slow, NULL, 0), 0);
    cio_http2_config h2 = CIO_HTTP2_CONFIG_INIT;
    h2.max_concurrent_streams = LIMIT;
    assert_int_equal(cio_http_app_http2(g_app, &h2), 0);
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

/* ---- a client with hand-built frames ------------------------------------ */

enum {
    F_DATA = 0,
    F_HEADERS = 1,
    F_RST = 3,
    F_SETTINGS = 4,
    F_PING = 6,
    F_GOAWAY = 7,
    FL_END_STREAM = 1,
    FL_ACK = 1,
    FL_END_HEADERS = 4,
    REFUSED_STREAM = 7,
    MAXID = 128,
};

typedef struct {
    int fd;
    uint8_t out[8192];
    size_t olen;
    uint8_t in[65536];
    size_t ilen;
    int settings_seen, settings_acked, ping_acked, goaway, eof;
    uint32_t goaway_code;
    char goaway_debug[128];
    int adv_limit;                /* SETTINGS_MAX_CONCURRENT_STREAMS seen */
    int response[MAXID];          /* a HEADERS frame came on the stream */
    int ended[MAXID];             /* END_STREAM came on the stream */
    int rst[MAXID];               /* RST_STREAM code + 1 (0: none) */
} h2raw;

static void frame(h2raw *c, uint32_t len, uint8_t type, uint8_t flags,
                  uint32_t id, const void *payload)
{
    uint8_t *p = c->out + c->olen;
    assert_true(c->olen + 9 + len <= sizeof(c->out));
    p[0] = (uint8_t)(len >> 16);
    p[1] = (uint8_t)(len >> 8);
    p[2] = (uint8_t)len;
    p[3] = type;
    p[4] = flags;
    p[5] = (uint8_t)(id >> 24);
    p[6] = (uint8_t)(id >> 16);
    p[7] = (uint8_t)(id >> 8);
    p[8] = (uint8_t)id;
    if (len)
        memcpy(p + 9, payload, len);
    c->olen += 9 + len;
}

/* HEADERS of GET /slow on stream id, with END_STREAM: an HPACK block of
 * static-table references and literals without indexing (RFC 7541). */
static void get_slow(h2raw *c, uint32_t id)
{
    static const uint8_t block[] = {
        0x82,                                   /* :method GET */
        0x86,                                   /* :scheme http */
        0x04, 5,   '/', 's', 'l', 'o', 'w',     /* :path /slow */
        0x01, 9,   '1', '2', '7', '.', '0', '.', '0', '.', '1', /* :authority */
    };
    frame(c, sizeof(block), F_HEADERS, FL_END_HEADERS | FL_END_STREAM, id,
          block);
}

static void flush_out(h2raw *c)
{
    tu_send_all(c->fd, c->out, c->olen);
    c->olen = 0;
}

static void h2raw_open(h2raw *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = tu_dial();
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    memcpy(c->out, preface, sizeof(preface) - 1);
    c->olen = sizeof(preface) - 1;
    frame(c, 0, F_SETTINGS, 0, 0, NULL);
}

/* Handles one whole frame at c->in. */
static void on_frame(h2raw *c, const uint8_t *p, uint32_t len)
{
    uint8_t type = p[3], flags = p[4];
    uint32_t id = ((uint32_t)(p[5] & 0x7f) << 24) | ((uint32_t)p[6] << 16) |
                  ((uint32_t)p[7] << 8) | p[8];
    const uint8_t *pl = p + 9;
    if (type == F_SETTINGS && (flags & FL_ACK))
        c->settings_acked = 1;
    else if (type == F_SETTINGS) {
        c->settings_seen = 1;
        for (uint32_t i = 0; i + 6 <= len; i += 6)
            if (((pl[i] << 8) | pl[i + 1]) == 3) /* MAX_CONCURRENT_STREAMS */
                c->adv_limit = (int)(((uint32_t)pl[i + 2] << 24) |
                                     ((uint32_t)pl[i + 3] << 16) |
                                     ((uint32_t)pl[i + 4] << 8) | pl[i + 5]);
        frame(c, 0, F_SETTINGS, FL_ACK, 0, NULL);
    } else if (type == F_PING && (flags & FL_ACK))
        c->ping_acked = 1;
    else if (type == F_GOAWAY && len >= 8) {
        c->goaway = 1;
        c->goaway_code = ((uint32_t)pl[4] << 24) | ((uint32_t)pl[5] << 16) |
                         ((uint32_t)pl[6] << 8) | pl[7];
        size_t dl = len - 8 < sizeof(c->goaway_debug) - 1
                        ? len - 8
                        : sizeof(c->goaway_debug) - 1;
        memcpy(c->goaway_debug, pl + 8, dl);
        c->goaway_debug[dl] = '\0';
    }
    else if (id < MAXID && type == F_HEADERS) {
        c->response[id] = 1;
        if (flags & FL_END_STREAM)
            c->ended[id] = 1;
    } else if (id < MAXID && type == F_DATA && (flags & FL_END_STREAM))
        c->ended[id] = 1;
    else if (id < MAXID && type == F_RST && len == 4)
        c->rst[id] = (int)(((uint32_t)pl[0] << 24) | ((uint32_t)pl[1] << 16) |
                           ((uint32_t)pl[2] << 8) | pl[3]) +
                     1;
}

/* Reads frames (answering SETTINGS with an ACK) for up to ms, or until
 * done(c) holds. Returns done(c). */
static int pump(h2raw *c, int ms, int (*done)(h2raw *))
{
    for (int i = 0; i < ms / 10; i++) {
        if (c->olen)
            flush_out(c);
        if (done(c) || c->eof)
            return done(c);
        struct pollfd pf = {c->fd, POLLIN, 0};
        if (poll(&pf, 1, 10) <= 0)
            continue;
        ssize_t g = recv(c->fd, c->in + c->ilen, sizeof(c->in) - c->ilen, 0);
        if (g <= 0) {
            c->eof = 1;
            continue;
        }
        c->ilen += (size_t)g;
        size_t off = 0;
        while (c->ilen - off >= 9) {
            const uint8_t *p = c->in + off;
            uint32_t len = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
            if (c->ilen - off < 9 + len)
                break;
            on_frame(c, p, len);
            off += 9 + len;
        }
        memmove(c->in, c->in + off, c->ilen - off);
        c->ilen -= off;
    }
    return done(c);
}

static uint32_t first_id;

/* Every stream of the burst answered or reset. */
static int burst_settled(h2raw *c)
{
    for (uint32_t k = 0; k < BURST; k++) {
        uint32_t id = first_id + 2 * k;
        if (!c->ended[id] && !c->rst[id])
            return 0;
    }
    return 1;
}

static int ping_back(h2raw *c) { return c->ping_acked; }

/* The LIMIT streams from 1 answered or reset. */
static int lim_settled(h2raw *c)
{
    for (uint32_t k = 0; k < LIMIT; k++)
        if (!c->ended[1 + 2 * k] && !c->rst[1 + 2 * k])
            return 0;
    return 1;
}

static int one_done(h2raw *c) { return c->ended[first_id] || c->rst[first_id]; }

/* Sends BURST GET /slow streams from first_id in one write, waits for all
 * of them and checks: exactly LIMIT completed (HEADERS + END_STREAM),
 * the others were refused with REFUSED_STREAM, the connection lives. */
static void burst_and_check(h2raw *c, const char *when)
{
    for (uint32_t k = 0; k < BURST; k++)
        get_slow(c, first_id + 2 * k);
    flush_out(c);
    int settled = pump(c, 5000, burst_settled);
    int done = 0, refused = 0;
    for (uint32_t k = 0; k < BURST; k++) {
        uint32_t id = first_id + 2 * k;
        if (c->response[id] && c->ended[id] && !c->rst[id])
            done++;
        else if (c->rst[id] == REFUSED_STREAM + 1 && !c->response[id])
            refused++;
        else
            print_message("stream %u: response %d ended %d rst %d (goaway "
                          "%d code %u '%s' eof %d)\n",
                          id, c->response[id], c->ended[id], c->rst[id] - 1,
                          c->goaway, c->goaway_code, c->goaway_debug, c->eof);
    }
    print_message("%s: %d streams over a limit of %d: %d completed, %d "
                  "refused (REFUSED_STREAM); at most %d handlers at once\n",
                  when, BURST, LIMIT, done, refused, (int)conc_max);
    assert_true(settled);
    assert_int_equal(done, LIMIT);
    assert_int_equal(refused, BURST - LIMIT);
    assert_false(c->goaway);
    assert_false(c->eof);
}

/* ---- cases -------------------------------------------------------------- */

/* The burst goes out with the preface, before the server's SETTINGS could
 * be seen. */
static void burst_before_settings(void **state)
{
    (void)state;
    conc_max = 0;
    handled = 0;
    h2raw c;
    h2raw_open(&c);
    first_id = 1;
    burst_and_check(&c, "before SETTINGS");
    assert_int_equal(c.adv_limit, LIMIT);
    assert_true(conc_max <= LIMIT);
    /* The connection serves new streams now that the first ones ended. */
    first_id = 1 + 2 * BURST;
    get_slow(&c, first_id);
    flush_out(&c);
    assert_true(pump(&c, 5000, one_done));
    assert_true(c.response[first_id] && !c.rst[first_id]);
    assert_int_equal(handled, LIMIT + 1);
    close(c.fd);
}

static int closed(h2raw *c) { return c->eof; }

/* The SETTINGS handshake, then a PING round trip so that the server has
 * processed the client's ACK of its SETTINGS. */
static void handshake(h2raw *c)
{
    static const uint8_t opaque[8] = "cio-ping";
    frame(c, 8, F_PING, 0, 0, opaque);
    assert_true(pump(c, 3000, ping_back));
    assert_true(c->settings_seen && c->settings_acked);
    assert_int_equal(c->adv_limit, LIMIT);
    c->ping_acked = 0;
    frame(c, 8, F_PING, 0, 0, opaque);
    assert_true(pump(c, 3000, ping_back));
}

/* The client saw the limit and acknowledged it, then opens more streams
 * anyway: nghttp2 (the server's HTTP/2 engine) treats that as a
 * connection error, GOAWAY(PROTOCOL_ERROR, "request HEADERS: max
 * concurrent streams exceeded") and closes the connection (RFC 9113
 * 5.1.2 allows a stream error; 5.4.1 lets an endpoint end the connection
 * for any stream error). No more than the limit of handlers ran, and
 * the server serves the next connection. */
static void burst_after_settings_ack(void **state)
{
    (void)state;
    conc_max = 0;
    handled = 0;
    h2raw c;
    h2raw_open(&c);
    handshake(&c);
    for (uint32_t k = 0; k < BURST; k++)
        get_slow(&c, 1 + 2 * k);
    flush_out(&c);
    assert_true(pump(&c, 5000, closed));
    print_message("after SETTINGS ACK: %d streams over a limit of %d: "
                  "GOAWAY %d code %u '%s', connection closed %d; at most %d "
                  "handlers at once\n",
                  BURST, LIMIT, c.goaway, c.goaway_code, c.goaway_debug,
                  c.eof, (int)conc_max);
    assert_true(c.goaway);
    assert_int_equal(c.goaway_code, 1); /* PROTOCOL_ERROR */
    assert_true(conc_max <= LIMIT);
    close(c.fd);
    /* A well-behaved client on a new connection: LIMIT streams at once
     * are all served. */
    conc_max = 0;
    handled = 0;
    h2raw_open(&c);
    handshake(&c);
    for (uint32_t k = 0; k < LIMIT; k++)
        get_slow(&c, 1 + 2 * k);
    flush_out(&c);
    first_id = 1;
    assert_true(pump(&c, 5000, lim_settled));
    for (uint32_t k = 0; k < LIMIT; k++) {
        assert_true(c.response[1 + 2 * k] && c.ended[1 + 2 * k]);
        assert_int_equal(c.rst[1 + 2 * k], 0);
    }
    assert_int_equal(handled, LIMIT);
    assert_int_equal(conc_max, LIMIT);
    assert_false(c.goaway);
    close(c.fd);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(burst_before_settings, start_server,
                                    stop_server),
    cmocka_unit_test_setup_teardown(burst_after_settings_ack, start_server,
                                    stop_server),
};

CIO_TEST_MAIN(tests)
