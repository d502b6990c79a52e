/*
 * test_http_ws_codec.c - the pure WebSocket codec (src/http/ws_codec.c):
 * UTF-8 edge cases, frame heads, masking, the receive rules frame by
 * frame, permessage-deflate round trips and negotiation, the accept key.
 */
#include "cio_test.h"

#include "http/ws_codec.h"

static void utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int ok;
    } cases[] = {
        {"", 1},
        {"plain ascii, longer than eight bytes", 1},
        {"\xc3\xa9", 1},         /* é */
        {"\xe2\x82\xac", 1},     /* € */
        {"\xf0\x9f\x98\x80", 1}, /* 😀 */
        {"\xf4\x8f\xbf\xbf", 1}, /* U+10FFFF */
        {"\xed\x9f\xbf", 1},     /* U+D7FF */
        {"\xc0\x80", 0},         /* overlong NUL */
        {"\xc1\xbf", 0},         /* overlong */
        {"\xe0\x80\x80", 0},     /* overlong */
        {"\xe0\x9f\xbf", 0},     /* overlong */
        {"\xed\xa0\x80", 0},     /* surrogate */
        {"\xf0\x80\x80\x80", 0}, /* overlong */
        {"\xf4\x90\x80\x80", 0}, /* past U+10FFFF */
        {"\xf5\x80\x80\x80", 0},
        {"\xff", 0},
        {"\x80", 0},             /* lone continuation */
        {"abc\xc3", 0},          /* cut */
        {"abcdefgh\xe2\x82", 0}, /* cut after the fast path */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const unsigned char *p = (const unsigned char *)cases[i].s;
        size_t n = strlen(cases[i].s);
        assert_int_equal(cio__utf8_valid(p, n), cases[i].ok);
        /* Split anywhere: the incremental state gives the same answer. */
        for (size_t k = 0; k <= n; k++) {
            uint32_t st = cio__utf8_step(0, p, k);
            if (st != UINT32_MAX)
                st = cio__utf8_step(st, p + k, n - k);
            assert_int_equal(st == 0, cases[i].ok);
        }
    }
}

static void close_codes(void **state)
{
    (void)state;
    assert_true(cio__ws_close_code_ok(1000));
    assert_true(cio__ws_close_code_ok(1011));
    assert_true(cio__ws_close_code_ok(3000));
    assert_true(cio__ws_close_code_ok(4999));
    assert_false(cio__ws_close_code_ok(999));
    assert_false(cio__ws_close_code_ok(1004));
    assert_false(cio__ws_close_code_ok(1005));
    assert_false(cio__ws_close_code_ok(1006));
    assert_false(cio__ws_close_code_ok(1015));
    assert_false(cio__ws_close_code_ok(2999));
    assert_false(cio__ws_close_code_ok(5000));
}

static void accept_key(void **state)
{
    (void)state;
    char out[29];
    const char *k = "dGhlIHNhbXBsZSBub25jZQ==";
    cio__ws_accept_key(k, strlen(k), out);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); /* RFC 6455 */
}

static size_t build(unsigned char *out, int fin, int rsv1, int op,
                    const void *payload, size_t n, const unsigned char *key)
{
    size_t h = cio__ws_frame_head(out, fin, rsv1, op, n, key);
    memcpy(out + h, payload, n);
    if (key)
        cio__ws_mask(out + h, n, key, 0);
    return h + n;
}

static void frames(void **state)
{
    (void)state;
    static const unsigned char key[4] = {1, 2, 3, 4};
    static unsigned char buf[200000], big[70000];
    cio__ws_rx rx;
    cio__ws_ev ev;
    size_t need;
    cio__ws_rx_init(&rx, 1, 1 << 20);
    /* Lengths 0, 125, 126, 65535, 65536: the three head sizes. */
    const size_t lens[] = {0, 125, 126, 65535, 65536};
    for (size_t i = 0; i < 5; i++) {
        for (size_t j = 0; j < lens[i]; j++)
            big[j] = (unsigned char)j;
        size_t n = build(buf, 1, 0, CIO__WS_BINARY, big, lens[i], key);
        /* Every prefix is incomplete. */
        for (size_t k = 0; k < n; k += 997)
            assert_int_equal(cio__ws_rx_frame(&rx, buf, k, &need, &ev), 0);
        assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), (long)n);
        assert_int_equal(ev.type, CIO__WS_BINARY);
        assert_int_equal(ev.len, lens[i]);
        if (lens[i])
            assert_memory_equal(ev.data, big, lens[i]);
    }
    /* need is told once the head is there. */
    size_t n = build(buf, 1, 0, CIO__WS_TEXT, "hello", 5, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, 6, &need, &ev), 0);
    assert_int_equal(need, n);
    /* Unmasked from a client, masked from a server: 1002. */
    n = build(buf, 1, 0, CIO__WS_TEXT, "x", 1, NULL);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    cio__ws_rx client;
    cio__ws_rx_init(&client, 0, 1 << 20);
    n = build(buf, 1, 0, CIO__WS_TEXT, "x", 1, key);
    assert_int_equal(cio__ws_rx_frame(&client, buf, n, &need, &ev), -1002);
    cio__ws_rx_free(&client);
    /* Control frames: not fragmented, <= 125 bytes. */
    n = build(buf, 0, 0, CIO__WS_PING, "x", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    n = build(buf, 1, 0, CIO__WS_PING, big, 126, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    /* Opcodes 3-7 and 11-15, RSV bits. */
    n = build(buf, 1, 0, 3, "x", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    n = build(buf, 1, 0, 11, "x", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    n = build(buf, 1, 1, CIO__WS_TEXT, "x", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    buf[0] = 0x81 | 0x20; /* RSV2 */
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    /* Fragments with a ping between them; a new message inside one. */
    size_t o = build(buf, 0, 0, CIO__WS_TEXT, "ab", 2, key);
    size_t o2 = o + build(buf + o, 1, 0, CIO__WS_PING, "p", 1, key);
    size_t o3 = o2 + build(buf + o2, 1, 0, CIO__WS_CONT, "cd", 2, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, o3, &need, &ev), (long)o);
    assert_int_equal(ev.type, 0);
    assert_int_equal(cio__ws_rx_frame(&rx, buf + o, o3 - o, &need, &ev),
                     (long)(o2 - o));
    assert_int_equal(ev.type, CIO__WS_PING);
    assert_int_equal(cio__ws_rx_frame(&rx, buf + o2, o3 - o2, &need, &ev),
                     (long)(o3 - o2));
    assert_int_equal(ev.type, CIO__WS_TEXT);
    assert_int_equal(ev.len, 4);
    assert_memory_equal(ev.data, "abcd", 4);
    n = build(buf, 1, 0, CIO__WS_CONT, "x", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    o = build(buf, 0, 0, CIO__WS_TEXT, "a", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, o, &need, &ev), (long)o);
    n = build(buf, 1, 0, CIO__WS_TEXT, "b", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    cio__ws_rx_free(&rx);
    /* Close frames. */
    cio__ws_rx_init(&rx, 1, 1 << 20);
    n = build(buf, 1, 0, CIO__WS_CLOSE,
              "\x03\xe8"
              "bye",
              5, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), (long)n);
    assert_int_equal(ev.close_code, 1000);
    assert_int_equal(ev.len, 3);
    n = build(buf, 1, 0, CIO__WS_CLOSE, "", 0, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), (long)n);
    assert_int_equal(ev.close_code, 1005);
    n = build(buf, 1, 0, CIO__WS_CLOSE, "\x03", 1, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    n = build(buf, 1, 0, CIO__WS_CLOSE, "\x03\xee", 2, key); /* 1006 */
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1002);
    n = build(buf, 1, 0, CIO__WS_CLOSE, "\x03\xe8\xff", 3, key);
    assert_int_equal(cio__ws_rx_frame(&rx, buf, n, &need, &ev), -1007);
    /* The limit, from the head alone. */
    cio__ws_rx_free(&rx);
    cio__ws_rx_init(&rx, 1, 10);
    unsigned char huge[14] = {0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
    assert_int_equal(cio__ws_rx_frame(&rx, huge, 14, &need, &ev), -1009);
    huge[2] = 0x80; /* top bit of a 64-bit length */
    assert_int_equal(cio__ws_rx_frame(&rx, huge, 14, &need, &ev), -1002);
    cio__ws_rx_free(&rx);
}

static void deflate_roundtrip(void **state)
{
    (void)state;
    z_stream dz;
    memset(&dz, 0, sizeof(dz));
    assert_int_equal(deflateInit2(&dz, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15,
                                  8, Z_DEFAULT_STRATEGY),
                     Z_OK);
    cio__ws_rx rx;
    cio__ws_rx_init(&rx, 1, 100000);
    rx.deflate = 1;
    static const unsigned char key[4] = {9, 8, 7, 6};
    static char text[100001];
    for (size_t i = 0; i < 100000; i++)
        text[i] = "deflate me "[i % 11];
    unsigned char *z = NULL, *frame = malloc(200000);
    size_t zcap = 0;
    cio__ws_ev ev;
    size_t need;
    for (int k = 0; k < 3; k++) { /* context carried over */
        size_t zl = 0;
        assert_int_equal(cio__ws_deflate(&dz, text, 100000, &z, &zl, &zcap), 0);
        assert_true(zl < 2000);
        size_t h = cio__ws_frame_head(frame, 1, 1, CIO__WS_TEXT, zl, key);
        memcpy(frame + h, z, zl);
        cio__ws_mask(frame + h, zl, key, 0);
        assert_int_equal(cio__ws_rx_frame(&rx, frame, h + zl, &need, &ev),
                         (long)(h + zl));
        assert_int_equal(ev.type, CIO__WS_TEXT);
        assert_int_equal(ev.len, 100000);
        assert_memory_equal(ev.data, text, 100000);
    }
    /* One byte over the limit after inflating: 1009. */
    size_t zl = 0;
    text[100000] = 'x';
    assert_int_equal(cio__ws_deflate(&dz, text, 100001, &z, &zl, &zcap), 0);
    size_t h = cio__ws_frame_head(frame, 1, 1, CIO__WS_BINARY, zl, key);
    memcpy(frame + h, z, zl);
    cio__ws_mask(frame + h, zl, key, 0);
    assert_int_equal(cio__ws_rx_frame(&rx, frame, h + zl, &need, &ev), -1009);
    /* Garbage that is not deflate: 1002. */
    cio__ws_rx_free(&rx);
    cio__ws_rx_init(&rx, 1, 100000);
    rx.deflate = 1;
    h = cio__ws_frame_head(frame, 1, 1, CIO__WS_BINARY, 4, key);
    memcpy(frame + h, "\xff\xff\xff\xff", 4);
    cio__ws_mask(frame + h, 4, key, 0);
    assert_int_equal(cio__ws_rx_frame(&rx, frame, h + 4, &need, &ev), -1002);
    cio__ws_rx_free(&rx);
    deflateEnd(&dz);
    free(z);
    free(frame);
}

static void negotiation(void **state)
{
    (void)state;
    char resp[160];
    int sno, cno, sb, cb;
#define OFFER(s)                                                               \
    cio__ws_pmd_parse(s, strlen(s), 1, resp, sizeof(resp), &sno, &cno, &sb, &cb)
    assert_int_equal(OFFER("permessage-deflate"), 1);
    assert_string_equal(resp, "permessage-deflate");
    assert_int_equal(OFFER("permessage-deflate; client_max_window_bits"), 1);
    assert_int_equal(OFFER("x-webkit-deflate-frame"), 0);
    assert_int_equal(
        OFFER("permessage-deflate; server_max_window_bits=10; "
              "client_max_window_bits=12; server_no_context_takeover"),
        1);
    assert_int_equal(sb, 10);
    assert_int_equal(sno, 1);
    assert_string_equal(resp, "permessage-deflate; "
                              "server_no_context_takeover; "
                              "server_max_window_bits=10; "
                              "client_max_window_bits=12");
    /* A bad first offer: the next one is taken. */
    assert_int_equal(OFFER("permessage-deflate; server_max_window_bits=8, "
                           "permessage-deflate; mystery=1, "
                           "permessage-deflate; client_no_context_takeover"),
                     1);
    assert_int_equal(cno, 1);
    assert_int_equal(sb, 15);
    assert_int_equal(OFFER("permessage-deflate; server_max_window_bits=16"), 0);
    assert_int_equal(OFFER("permessage-deflate; server_no_context_takeover; "
                           "server_no_context_takeover"),
                     0);
    assert_int_equal(OFFER("permessage-deflate; server_max_window_bits=\"9\""),
                     1);
    assert_int_equal(sb, 9);
    /* The client's side: a response. */
#define RESP(s)                                                                \
    cio__ws_pmd_parse(s, strlen(s), 0, NULL, 0, &sno, &cno, &sb, &cb)
    assert_int_equal(RESP("permessage-deflate; client_max_window_bits=11"), 1);
    assert_int_equal(cb, 11);
    assert_int_equal(RESP("permessage-deflate; client_max_window_bits"), -1);
    assert_int_equal(RESP("permessage-deflate, permessage-deflate"), -1);
    assert_int_equal(RESP("permessage-deflate; bogus"), -1);
    assert_int_equal(RESP("something-else"), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(utf8),
    cmocka_unit_test(close_codes),
    cmocka_unit_test(accept_key),
    cmocka_unit_test(frames),
    cmocka_unit_test(deflate_roundtrip),
    cmocka_unit_test(negotiation),
};

CIO_TEST_MAIN(tests)
