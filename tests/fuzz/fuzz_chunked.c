/*
 * fuzz_chunked.c - the chunked body decoder alone, fed byte by byte and
 * as one piece: the decoded bytes and the verdict must be the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static long decode(const char *in, size_t len, size_t step, uint64_t *sum,
                   size_t *used)
{
    cio__http_limits lim = CIO__HTTP_LIMITS_INIT;
    lim.max_body = 1 << 20;
    cio__http_msg m = {0};
    m.body = CIO__HTTP_BODY_CHUNKED;
    cio__http_body b;
    cio__http_body_init(&b, &m, &lim);
    size_t pos = 0;
    *sum = 0;
    while (!b.done && pos < len) {
        size_t avail = len - pos < step ? len - pos : step;
        const char *d;
        size_t dl;
        long n = cio__http_body_decode(&b, in + pos, avail, &d, &dl);
        if (n < 0)
            return n;
        if ((size_t)n > avail || d < in + pos || d + dl > in + pos + avail)
            abort();
        for (size_t i = 0; i < dl; i++)
            *sum = *sum * 5 + (unsigned char)d[i] + 1;
        pos += (size_t)n;
    }
    *used = pos;
    return b.done;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t s1 = 0, s2 = 0;
    size_t u1 = 0, u2 = 0;
    long a = decode((const char *)data, size, size ? size : 1, &s1, &u1);
    long b = decode((const char *)data, size, 1, &s2, &u2);
    if (a != b || (a >= 0 && (s1 != s2 || u1 != u2)))
        abort();
    return 0;
}
