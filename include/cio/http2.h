/*
 * cio/http2.h - HTTP/2 for cio::http: the same app, routes, middleware and
 * handlers served over HTTP/2 (nghttp2, Debian libnghttp2-dev), part of
 * the cio::http library (link cio::http or `pkg-config cio-http`).
 *
 * What is served:
 *   - h2c by prior knowledge: a connection to the app's ordinary listener
 *     whose first bytes are the HTTP/2 connection preface ("PRI *
 *     HTTP/2.0...") is served as HTTP/2 (curl --http2-prior-knowledge,
 *     nghttp, h2load);
 *   - h2c by Upgrade: an HTTP/1.1 request with "Upgrade: h2c" and
 *     HTTP2-Settings gets "101 Switching Protocols", and that request is
 *     answered as stream 1 of the HTTP/2 connection (curl --http2);
 *   - h2 by ALPN on TLS: on an HTTPS app (cio_http_app_tls), a
 *     connection whose handshake agreed on "h2" is served as HTTP/2
 *     (curl --http2 https://..., nghttp https://..., h2load
 *     https://...). On TLS, "Upgrade: h2c" is ignored (RFC 9113
 *     3.1: h2c is for cleartext only).
 *
 * Each stream runs its handler in a task of its own (so the streams of a
 * connection are served concurrently) with the same request and response
 * objects as HTTP/1.1; the views a request hands out are valid until its
 * handler returns, as for HTTP/1.1. A handler's response leaves as
 * HEADERS and DATA frames under HTTP/2 flow control: streamed responses
 * (cio_http_response_stream / _write / SSE) suspend the writer while the
 * peer's window is closed and about 64 KiB are queued for the stream.
 * When the peer resets a stream, its handler task is cancelled (its
 * suspension point returns -ECANCELED) and a streamed write on it returns
 * CIO_EHTTP_RST_STREAM.
 *
 * Off by default: an app serves HTTP/1.1 only until cio_http_app_http2()
 * is called.
 */
#ifndef CIO_HTTP2_H
#define CIO_HTTP2_H

#include <stdint.h>

#include "cio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HTTP/2 settings and limits (0 fields: the default in brackets). The
 * app's cio_http_config applies as well: max_body (a larger request body
 * is answered 413), max_headers, write_timeout, keep_alive_timeout (an
 * HTTP/2 connection without open streams is closed after it),
 * shutdown_timeout. */
typedef struct cio_http2_config {
    int prior_knowledge; /* [1] 1: serve the preface on the plain
                          * listener; -1: refuse it (HTTP/1.1 505) */
    int upgrade;         /* [1] 1: honour Upgrade: h2c; -1: ignore */
    uint32_t max_concurrent_streams; /* [100] SETTINGS_MAX_CONCURRENT_STREAMS:
                                      * more open streams are refused: with
                                      * RST_STREAM(REFUSED_STREAM) while the
                                      * peer has not acknowledged the
                                      * SETTINGS, after that (nghttp2) with
                                      * GOAWAY(PROTOCOL_ERROR), ending the
                                      * connection */
    uint32_t max_header_list;        /* [16384] SETTINGS_MAX_HEADER_LIST_SIZE
                                      * (RFC 9113 6.5.2 accounting): a larger
                                      * header list resets the stream */
    uint32_t initial_window; /* [65535] SETTINGS_INITIAL_WINDOW_SIZE of the
                              * request bodies */
    uint32_t max_frame;      /* [16384] SETTINGS_MAX_FRAME_SIZE */
    int max_resets;          /* [100] streams the peer may reset per
                              * reset_window before the connection ends
                              * with GOAWAY(ENHANCE_YOUR_CALM): the rapid
                              * reset attack, CVE-2023-44487 */
    int64_t reset_window;    /* [1 s] ns */
} cio_http2_config;

#define CIO_HTTP2_CONFIG_INIT                                                  \
    {                                                                          \
        0, 0, 0, 0, 0, 0, 0, 0                                                 \
    }

/* Enables HTTP/2 for the app's servers with cfg (copied; NULL: the
 * defaults), for servers started afterwards. Returns: 0. Errors: -EINVAL
 * (NULL app, negative or out-of-range values: max_frame outside
 * 16384..16777215 or initial_window above 2^31-1), -EBUSY (a server runs
 * the app). */
CIO_API int cio_http_app_http2(cio_http_app *app, const cio_http2_config *cfg);

/* The HTTP version of the request being answered: 20 for HTTP/2, 11 for
 * HTTP/1.1, 10 for HTTP/1.0. Errors: -EINVAL (NULL). */
CIO_API int cio_http_request_version(const cio_http_request *req);

#ifdef __cplusplus
}
#endif

#endif
