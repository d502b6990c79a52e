/*
 * fuzz_query.c - the query-string / urlencoded-form decoders: every pair
 * lies inside the input, decoding never writes past its room and never
 * grows the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cio/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t pos = 0;
    const char *k, *v;
    size_t kl, vl;
    int r;
    char *tmp = malloc(size ? size : 1);
    if (!tmp)
        return 0;
    while ((r = cio_http_query_next(s, size, &pos, &k, &kl, &v, &vl)) == 1) {
        if (k < s || k + kl > s + size || v < s || v + vl > s + size ||
            pos > size)
            abort();
        long n = cio_http_unquote(tmp, k, kl, 1);
        if (n < 0 || (size_t)n > kl)
            abort();
        n = cio_http_unquote(tmp, v, vl, 1);
        if (n < 0 || (size_t)n > vl)
            abort();
    }
    if (r != 0)
        abort();
    /* In place, as the server decodes. */
    memcpy(tmp, s, size);
    long n = cio_http_unquote(tmp, tmp, size, 0);
    if (n < 0 || (size_t)n > size)
        abort();
    free(tmp);
    return 0;
}
