/*
 * cio/http.h - cio::http, an HTTP/1.1 server framework on cio's loop with
 * sanic's surface in C: an app object, routes with sanic's parameter syntax,
 * handlers that are coroutines on the connection's task, request and
 * response objects, and cio_http_run() with one loop per worker thread.
 *
 * A separate library (link cio::http or `pkg-config cio-http`); cio.h does
 * not include this header. Long-form notes: docs/design.md, section HTTP.
 *
 * Lifetimes: every view a request hands out (method, path, parameters,
 * query arguments, headers, cookies, body) is borrowed: it points into the
 * connection's buffers and is valid until the handler returns. Copy what
 * you keep.
 */
#ifndef CIO_HTTP_H
#define CIO_HTTP_H

#include "cio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A malformed or refused HTTP message (the connection-level error). */
#define CIO_EHTTP (-4080)

/* Decodes %XX escapes of src[0..n) into dst (room for n bytes; dst may be
 * src), and '+' as a space when plus is non-zero (form and query
 * encoding). A '%' not followed by two hex digits is kept as is (Python's
 * unquote does the same). Returns: the decoded length (<= n). Errors:
 * -EINVAL for NULL pointers with n > 0. */
CIO_API long cio_http_unquote(char *dst, const char *src, size_t n, int plus);

/* Iterates over the pairs of a query string or urlencoded form body
 * ("a=1&b=&c"): *pos (start at 0) is advanced past one pair of s[0..n)
 * and the raw (still encoded) key and value views are stored (borrowed
 * from s; a pair without '=' has an empty value). Empty pairs are
 * skipped. Returns: 1 with a pair, 0 at the end. Errors: -EINVAL. */
CIO_API int cio_http_query_next(const char *s, size_t n, size_t *pos,
                                const char **key, size_t *key_len,
                                const char **value, size_t *value_len);

#ifdef __cplusplus
}
#endif

#endif
