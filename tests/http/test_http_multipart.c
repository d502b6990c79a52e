/*
 * test_http_multipart.c - the pure multipart/form-data parser: boundaries
 * from Content-Type, parts with names, filenames and types, data split at
 * every byte boundary, preamble and epilogue, malformed bodies, limits.
 */
#include "cio_test.h"

#include <errno.h>

#include "http/multipart.h"

#define CT "multipart/form-data; boundary=b0und"

/* Parses body[0..n) fed `step` bytes at a time; writes a transcript
 * ("P(name,file,type)" per part, data, "|" per part end, "$" at the end)
 * into out. Returns 1 done, 0 truncated, -1 error. */
static int transcript(const char *body, size_t n, size_t step, char *out,
                      size_t cap)
{
    cio__mp p;
    assert_int_equal(cio__mp_init(&p, CT, strlen(CT)), 0);
    size_t start = 0, avail = step < n ? step : n, o = 0;
    out[0] = '\0';
    for (;;) {
        cio__mp_event ev;
        long r = cio__mp_feed(&p, body + start, avail - start, &ev);
        if (r < 0)
            return -1;
        switch (ev.type) {
        case CIO__MP_PART:
            o += (size_t)snprintf(out + o, cap - o, "P(%.*s,%.*s,%.*s)",
                                  ev.name ? (int)ev.name_len : 1,
                                  ev.name ? ev.name : "-",
                                  ev.filename ? (int)ev.filename_len : 1,
                                  ev.filename ? ev.filename : "-",
                                  ev.content_type ? (int)ev.content_type_len
                                                  : 1,
                                  ev.content_type ? ev.content_type : "-");
            break;
        case CIO__MP_DATA:
            o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)ev.len,
                                  ev.data);
            break;
        case CIO__MP_PART_END:
            o += (size_t)snprintf(out + o, cap - o, "|");
            break;
        case CIO__MP_DONE:
            snprintf(out + o, cap - o, "$");
            return 1;
        }
        start += (size_t)r;
        if (r == 0) {
            if (avail == n)
                return 0;
            avail = avail + step < n ? avail + step : n;
        }
    }
}

static const char form[] =
    "ignored preamble\r\n"
    "--b0und\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "Hello, world\r\n"
    "--b0und\r\n"
    "content-disposition: form-data; name=\"up\"; filename=\"a b.txt\"\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "line1\r\n--b0un not yet\r\n-- b0und\r\n"
    "--b0und \t\r\n"
    "Content-Disposition: form-data; name=empty\r\n"
    "\r\n"
    "\r\n"
    "--b0und--\r\nepilogue --b0und\r\n";

static void parses_at_every_split(void **state)
{
    (void)state;
    const char *want = "P(title,-,-)Hello, world|"
                       "P(up,a b.txt,text/plain)"
                       "line1\r\n--b0un not yet\r\n-- b0und|"
                       "P(empty,-,-)|$";
    char out[1024];
    size_t n = sizeof(form) - 1;
    for (size_t step = 1; step <= n; step++) {
        assert_int_equal(transcript(form, n, step, out, sizeof(out)), 1);
        assert_string_equal(out, want);
    }
}

static void boundaries_from_content_type(void **state)
{
    (void)state;
    cio__mp p;
    const char *ok[] = {
        "multipart/form-data; boundary=b0und",
        "Multipart/Form-Data;boundary=\"b0und\"",
        "multipart/form-data; charset=utf-8; boundary=b0und",
        "multipart/form-data; boundary=\"with space and:colon\"",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_int_equal(cio__mp_init(&p, ok[i], strlen(ok[i])), 0);
    assert_memory_equal(p.delim, "\r\n--with space and:colon", p.dlen);
    const char *bad[] = {
        "multipart/mixed; boundary=x",
        "text/plain; boundary=x",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=a\x01z",
        /* a 71-character boundary */
        ("multipart/form-data; boundary="
         "01234567890123456789012345678901234567890123456789012345678901234567890"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cio__mp_init(&p, bad[i], strlen(bad[i])), -EINVAL);
}

static void malformed_and_truncated(void **state)
{
    (void)state;
    char out[512];
    struct {
        const char *body;
        int want;
    } cases[] = {
        {"--b0und\r\nno colon here\r\n\r\nx\r\n--b0und--", -1},
        {"--b0und\r\n: empty name\r\n\r\nx\r\n--b0und--", -1},
        {"--b0und\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n"
         "--b0und--", -1},
        {"--b0und\r\nX: a\x01z\r\n\r\nx\r\n--b0und--", -1},
        {"--b0undjunk\r\n\r\nx\r\n--b0und--", -1},
        {"--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nx", 0},
        {"--b0und\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b0",
         0},
        {"no delimiter at all", 0},
        {"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        for (size_t step = 1; step <= strlen(cases[i].body) + 1; step++)
            assert_int_equal(transcript(cases[i].body, strlen(cases[i].body),
                                        step, out, sizeof(out)),
                             cases[i].want);
}

static void limits(void **state)
{
    (void)state;
    cio__mp p;
    cio__mp_event ev;
    /* A part head longer than max_part_head is refused, not buffered. */
    assert_int_equal(cio__mp_init(&p, CT, strlen(CT)), 0);
    p.max_part_head = 64;
    static char big[256];
    memset(big, 'x', sizeof(big));
    memcpy(big, "--b0und\r\nX-Long: ", 17);
    long r = cio__mp_feed(&p, big, sizeof(big), &ev);
    assert_int_equal(r, 7);
    r = cio__mp_feed(&p, big + 7, sizeof(big) - 7, &ev);
    assert_int_equal(r, 2);
    assert_int_equal(cio__mp_feed(&p, big + 9, sizeof(big) - 9, &ev),
                     -EINVAL);
    /* More parts than max_parts. */
    assert_int_equal(cio__mp_init(&p, CT, strlen(CT)), 0);
    p.max_parts = 2;
    const char *three = "--b0und\r\n\r\na\r\n--b0und\r\n\r\nb\r\n--b0und\r\n"
                        "\r\nc\r\n--b0und--";
    size_t off = 0, n = strlen(three);
    int err = 0;
    while (off < n) {
        r = cio__mp_feed(&p, three + off, n - off, &ev);
        if (r < 0) {
            err = 1;
            break;
        }
        if (ev.type == CIO__MP_DONE)
            break;
        off += (size_t)r;
    }
    assert_int_equal(err, 1);
    assert_int_equal(p.parts, 2);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(parses_at_every_split),
    cmocka_unit_test(boundaries_from_content_type),
    cmocka_unit_test(malformed_and_truncated),
    cmocka_unit_test(limits),
};

CIO_TEST_MAIN(tests)
