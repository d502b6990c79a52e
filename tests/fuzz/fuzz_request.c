/*
 * fuzz_request.c - the request parser: head, then body, on the input as
 * one piece and again split in two at a position taken from the input; both
 * runs must agree (views stay inside the buffer; same verdict).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run(const char *buf, size_t len, size_t split, int flags,
               uint64_t *sum)
{
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    lim.max_body = 1 << 16;
    cio__http_header hdrs[32];
    size_t have = split < len ? split : len, start = 0;
    int msgs = 0;
    *sum = 0;
    while (msgs < 64) {
        cio__http_msg m = {.headers = hdrs, .headers_cap = 32};
        int r = cio__http_parse_head(buf + start, have - start, flags, &lim,
                                     &m);
        if (r < 0)
            return r;
        if (r == 0) {
            if (have == len)
                return msgs;
            have = len;
            continue;
        }
        for (size_t i = 0; i < m.nheaders; i++) {
            if (hdrs[i].name < buf || hdrs[i].value + hdrs[i].value_len >
                                          buf + len)
                abort();
            *sum += hdrs[i].name_len * 31 + hdrs[i].value_len;
        }
        start += (size_t)r;
        cio__http_body b;
        cio__http_body_init(&b, &m, &lim);
        while (!b.done) {
            const char *d;
            size_t dl;
            long n = cio__http_body_decode(&b, buf + start, have - start, &d,
                                           &dl);
            if (n < 0)
                return (int)n;
            if (d < buf || d + dl > buf + len || (size_t)n > have - start)
                abort();
            for (size_t i = 0; i < dl; i++)
                *sum = *sum * 3 + (unsigned char)d[i];
            start += (size_t)n;
            if (n == 0) {
                if (have == len)
                    return msgs;
                have = len;
            }
        }
        msgs++;
    }
    return msgs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    uint64_t s1, s2;
    int flags = 0;
#ifdef FUZZ_RESPONSE
    flags = CIO__HTTP_PARSE_RESPONSE;
#endif
    int a = run(buf, size, size, flags, &s1);
    size_t split = size ? (size_t)data[0] % size : 0;
    int b = run(buf, size, split, flags, &s2);
    if (a != b || (a >= 0 && s1 != s2))
        abort();
    return 0;
}
