/*
 * query.c - the query-string and application/x-www-form-urlencoded
 * decoders (pure: no I/O, no allocation; fuzzed by tests/fuzz).
 *
 * The splitting follows the WHATWG URL standard's urlencoded parser, which
 * is what browsers send and what Python's parse_qsl(keep_blank_values=True)
 * returns: pairs split on '&', key and value on the first '=', '+' is a
 * space, and an invalid percent escape is kept literally instead of
 * failing the whole request.
 */
#include <errno.h>
#include <string.h>

#include "cio/http.h"

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long cio_http_unquote(char *dst, const char *src, size_t n, int plus)
{
    if (n > 0 && (!dst || !src))
        return -EINVAL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (c == '%' && i + 2 < n) {
            int h = hex((unsigned char)src[i + 1]);
            int l = hex((unsigned char)src[i + 2]);
            if (h >= 0 && l >= 0) {
                dst[o++] = (char)(h * 16 + l);
                i += 2;
                continue;
            }
        } else if (c == '+' && plus) {
            c = ' ';
        }
        dst[o++] = c;
    }
    return (long)o;
}

int cio_http_query_next(const char *s, size_t n, size_t *pos,
                        const char **key, size_t *key_len, const char **value,
                        size_t *value_len)
{
    if (!pos || !key || !key_len || !value || !value_len || (n && !s))
        return -EINVAL;
    size_t i = *pos;
    while (i < n) {
        const char *amp = memchr(s + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - s) : n;
        if (end == i) {
            i++;
            continue;
        }
        const char *eq = memchr(s + i, '=', end - i);
        *key = s + i;
        if (eq) {
            *key_len = (size_t)(eq - (s + i));
            *value = eq + 1;
            *value_len = end - (size_t)(eq + 1 - s);
        } else {
            *key_len = end - i;
            *value = s + end;
            *value_len = 0;
        }
        *pos = amp ? end + 1 : n;
        return 1;
    }
    *pos = n;
    return 0;
}
