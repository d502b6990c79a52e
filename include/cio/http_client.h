/*
 * cio/http_client.h - cio::http's HTTP client (HTTP/1.1 and HTTP/2):
 * aiohttp's ClientSession in C. Included by cio/http.h (including it alone
 * works too).
 *
 * A session owns a keep-alive connection pool keyed by (scheme, host,
 * port), a cookie jar and the defaults of its requests. A request is made
 * inside a task and returns once the response head has arrived; its body
 * is then read whole (with a size limit), as text, as JSON, or streamed in
 * chunks or lines. Releasing the response returns the connection to the
 * pool when its body was read to the end and the server keeps it alive.
 *
 * Responses are parsed by the server's parser (src/http/parse.c, fuzzed),
 * so framing rules are the same on both sides: Content-Length together
 * with Transfer-Encoding, conflicting lengths, bad chunk sizes, oversized
 * heads or bodies end the request with a CIO_EHTTPC_* code (cio/errno.h)
 * and close its connection; nothing hostile grows memory past the limits.
 *
 * Every call that suspends must run inside a task of the session's loop.
 * Cancelling the calling task (or a cio_timeout scope around the call)
 * aborts the request at whatever point it waits - connecting, sending or
 * reading - closes its connection (never pooled half-read) and returns
 * -ECANCELED (-ETIMEDOUT from the scope).
 *
 * https:// runs over cio's TLS layer (cio/tls.h, OpenSSL): the server's
 * certificate is verified and its host name checked by default (the
 * system trust store, or the context given as cio_http_session_opts.tls);
 * failures are CIO_ETLS_* codes (CIO_ETLS_VERIFY...). Another transport
 * can be plugged in through cio_http_session_opts.wrap (the connector
 * seam).
 *
 * HTTP/2 (nghttp2): when an https origin picks "h2" by ALPN (or, with
 * http_version = CIO_HTTP_CLIENT_H2_PRIOR, any http:// origin), all of the
 * session's requests to it share one connection as concurrent streams;
 * the API is the same. Cancelling a request resets only its stream; the
 * body is flow-controlled by reading it (a response not read holds at most
 * a 1 MiB window). docs/design.md sections 28 and 39.
 *
 * Also from aiohttp (docs/design.md section 47): trailers of either
 * HTTP version once the body ended, session default headers, base_url,
 * raise_for_status, max_field, trust_env proxies, read_into.
 */
#ifndef CIO_HTTP_CLIENT_H
#define CIO_HTTP_CLIENT_H

#include "cio/http.h" /* which includes this header at its end */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_http_session cio_http_session;
typedef struct cio_http_client_response cio_http_client_response;

/* aiohttp's ClientTimeout, in nanoseconds. In the session's options 0
 * means the default (total 300 s, connect and sock_read none) and total < 0
 * no total timeout; in a request's options 0 means the session's value and
 * total < 0 none for that request. total
 * covers a whole request: pool wait, connect, redirects, sending and
 * reading the body; connect covers getting a connection (pool wait,
 * resolve, connect, proxy tunnel); sock_read bounds each wait for bytes
 * from the server. Their expiry gives CIO_EHTTPC_TIMEOUT,
 * CIO_EHTTPC_CONNECT_TIMEOUT and CIO_EHTTPC_READ_TIMEOUT. */
typedef struct cio_http_client_timeout {
    int64_t total;
    int64_t connect;
    int64_t sock_read;
} cio_http_client_timeout;

/* A byte transport under one connection (the connector seam): plain TCP
 * and Unix sockets are built in; a TLS layer supplies its own. Each
 * function gets ctx. recv returns bytes (0 at end of stream) or -errno and
 * may suspend; send sends all n bytes or fails; close frees everything
 * (the socket too). */
typedef struct cio_http_transport {
    void *ctx;
    ssize_t (*recv)(void *ctx, void *buf, size_t n);
    int (*send)(void *ctx, const void *buf, size_t n);
    void (*close)(void *ctx);
} cio_http_transport;

/* Wraps a connected socket for scheme "https" instead of cio's TLS (host
 * is the server name to verify): on success takes sock and fills *out; on
 * failure the session closes sock. arg is cio_http_session_opts.wrap_arg.
 * May suspend (a handshake). */
typedef int (*cio_http_wrap_fn)(void *arg, cio_socket *sock, const char *host,
                                cio_http_transport *out);

/* cio_http_session_opts.http_version: which HTTP the session speaks. */
#define CIO_HTTP_CLIENT_AUTO 0     /* https: HTTP/2 when ALPN picks "h2",
                                    * else HTTP/1.1; http: HTTP/1.1 */
#define CIO_HTTP_CLIENT_HTTP1 1    /* HTTP/1.1 only (ALPN http/1.1) */
#define CIO_HTTP_CLIENT_H2_PRIOR 2 /* as AUTO, and http:// is HTTP/2 by
                                    * prior knowledge (h2c, RFC 9113 3.3) */

/* Session settings (zero fields: the default in brackets). */
typedef struct cio_http_session_opts {
    int limit;                 /* [100] connections open in total */
    int limit_per_host;        /* [0: no limit] per (scheme, host, port) */
    int64_t keepalive_timeout; /* [15 s] idle pooled connections older are
                                * closed; < 0: never pool (an HTTP/2
                                * connection, idle longer, is closed too;
                                * < 0: it stays until the session closes) */
    cio_http_client_timeout timeout; /* [total 300 s, others none] */
    int max_redirects;         /* [10] */
    size_t max_body;           /* [32 MiB] limit of read/text/json */
    size_t max_head;           /* [65536] status line and fields */
    size_t max_headers;        /* [128] fields in one response */
    size_t max_line;           /* [65536] one line of readline */
    size_t expect_continue_min; /* [1 MiB] bodies at least this large send
                                 * Expect: 100-continue; SIZE_MAX: never */
    int no_decompress;         /* [0] 1: no Accept-Encoding, no decoding */
    int no_cookies;            /* [0] 1: no cookie jar */
    const char *proxy;         /* [none] "http://[user:pass@]host:port":
                                * every connection is a CONNECT tunnel */
    const char *unix_path;     /* [none] every connection goes to this Unix
                                * socket ("@name": abstract) */
    const char *user_agent;    /* ["cio-http"] */
    cio_http_wrap_fn wrap;     /* [none] replaces cio's TLS for https */
    void *wrap_arg;            /* borrowed for the session's life */
    cio_tls_ctx *tls;          /* [a client context of its own: system
                                * trust store, host name checked, ALPN
                                * "h2", "http/1.1" (HTTP1: "http/1.1")] for
                                * https; borrowed for the session's life
                                * (each connection retains it). A context
                                * given here offers what its own
                                * cio_tls_ctx_set_alpn says: HTTP/2 is
                                * spoken when it offers "h2" and the server
                                * picks it */
    int http_version;          /* [CIO_HTTP_CLIENT_AUTO] */
    /* [none] aiohttp's ClientSession(headers=...): default fields sent on
     * every request of the session (HTTP/1.1, HTTP/2 and the WebSocket
     * handshake of cio_http_session_ws_connect), a NULL-terminated array
     * of name, value, name, value... A request's own field of the same
     * name (cio_http_request_opts.headers, ASCII case-insensitive)
     * replaces the default one; a default Host, User-Agent, Accept,
     * Accept-Encoding or Content-Type replaces cio's own. The rules of a
     * request's fields apply: Authorization and Cookie are dropped when a
     * redirect leaves the origin, Content-Type on requests without a
     * body; the WebSocket handshake skips Host and its own Connection,
     * Upgrade and Sec-WebSocket-* fields. Copied at
     * cio_http_session_new (array and strings): borrowed for that call
     * only. Content-Length and Transfer-Encoding (the body's framing) and
     * CR, LF or ':' in a name, CR or LF in a value are -EINVAL there. */
    const char *const *headers;
    /* [none] aiohttp's base_url: a request (or ws_connect) URL without
     * "scheme://" is resolved against it as a relative reference (RFC
     * 3986 5.2, as a redirect's Location): with "http://h:8080/api/",
     * "users?id=1" gives "http://h:8080/api/users?id=1" and "/x" gives
     * "http://h:8080/x"; an absolute URL is used as it is. Its
     * user:pass@, if any, is not carried to the resolved URLs. Copied at
     * cio_http_session_new; not http:// or https://: -EINVAL there. */
    const char *base_url;
    /* [0] aiohttp's raise_for_status=True: 1 makes every request whose
     * final response has a status of 400 or more fail with
     * CIO_EHTTPC_STATUS (its body, up to 64 KiB, read off so that the
     * connection is pooled again; *out NULL). To read the status or the
     * body of such a response, leave it 0 and call
     * cio_http_client_response_raise_for_status on the response. */
    int raise_for_status;
    /* [max_head] aiohttp's max_line_size / max_field_size: the longest
     * status line or field line (name and value) of a response head,
     * HTTP/2 fields included; a longer one gives
     * CIO_EHTTPC_HEAD_TOO_LARGE. Larger than max_head: max_head. */
    size_t max_field;
    /* [0] aiohttp's trust_env=True: 1 takes the proxies from the
     * environment at cio_http_session_new when .proxy is not given:
     * http_proxy (HTTP_PROXY too, except in a CGI program, where
     * REQUEST_METHOD is set: "httpoxy") for http:// and ws:// URLs,
     * https_proxy / HTTPS_PROXY for https:// and wss://, both as
     * "[http://][user:pass@]host[:port]" (CONNECT tunnels, as .proxy);
     * no_proxy / NO_PROXY lists hosts reached directly ("*"; "name" or
     * ".name": the name and its subdomains; an IP address as written;
     * "host:port"; no CIDR ranges). Not read: all_proxy, ~/.netrc. A
     * variable that does not parse is -EINVAL there. */
    int trust_env;
} cio_http_session_opts;

#define CIO_HTTP_SESSION_OPTS_INIT                                            \
    {0, 0, 0, {0, 0, 0}, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL,     \
     NULL, NULL, 0, NULL, NULL, 0, 0, 0}

/* Creates a session on loop (borrowed: it must outlive the session; the
 * session's requests run in tasks of that loop); opts is borrowed for the
 * call and its strings (proxy, unix_path, user_agent, the headers array
 * and its strings, base_url) are copied (NULL opts: defaults). Returns: 0
 * and *out (free with cio_http_session_close).
 * Errors: -EINVAL (NULL out or loop, negative limits, unparsable proxy or
 * base_url, a default header refused as told at .headers), -ENOMEM. */
CIO_API int cio_http_session_new(cio_http_session **out, cio_loop *loop,
                                 const cio_http_session_opts *opts);

/* Closes every pooled connection and frees the session (takes s; NULL
 * ignored; never suspends).
 * Responses still held must be freed first (their connections are then
 * closed, not pooled). Returns: 0. Errors: -EBUSY (a response or a
 * request is still using the session; nothing done). */
CIO_API int cio_http_session_close(cio_http_session *s);

/* Counters for tests and monitoring: connections opened so far, and those
 * idle in the pool now. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_http_session_stats(const cio_http_session *s, long *opened,
                                   long *idle);

/* A part of a multipart/form-data body. name, filename (NULL: a plain
 * field), content_type (NULL: none, or application/octet-stream for a
 * file) and data are borrowed for the request. */
typedef struct cio_http_form_part {
    const char *name;
    const char *filename;
    const char *content_type;
    const void *data;
    size_t len;
} cio_http_form_part;

/* A streamed request body: called in the requesting task (it may suspend,
 * e.g. read a pipe or a queue) to fill buf (cap bytes). Returns: bytes
 * written, 0 at the end, or a negative error that aborts the request. */
typedef ssize_t (*cio_http_body_source)(void *arg, void *buf, size_t cap);

/* Per-request options (zero fields: the session's or none). At most one
 * body kind is given. */
typedef struct cio_http_request_opts {
    /* Extra fields: NULL-terminated array of name, value, name, value...
     * A given Host, User-Agent, Accept-Encoding or Content-Type replaces
     * the default one. */
    const char *const *headers;
    /* Query parameters, appended to the URL's query, percent-encoded:
     * NULL-terminated name, value pairs. */
    const char *const *params;
    /* Bodies: raw bytes (content_type or application/octet-stream) ... */
    const void *body;
    size_t body_len;
    const char *content_type;
    /* ... a JSON document (application/json; serialised at the call) ... */
    const struct cJSON *json;
    /* ... an urlencoded form (NULL-terminated name, value pairs) ... */
    const char *const *form;
    /* ... multipart/form-data parts ... */
    const cio_http_form_part *parts;
    size_t nparts;
    /* ... streamed from a coroutine: length >= 0 sends Content-Length,
     * -1 chunked (a streamed body is never replayed: no retry, and
     * 307/308 redirects are returned to the caller instead) ... */
    cio_http_body_source source;
    void *source_arg;
    int64_t source_len;
    /* ... or a file (its size as Content-Length). */
    const char *file;
    /* Basic auth (also taken from the URL's user:pass@). */
    const char *user;
    const char *password;
    int no_redirects;  /* 1: return 3xx responses as they are */
    int max_redirects; /* 0: the session's */
    cio_http_client_timeout timeout; /* zero fields: the session's */
} cio_http_request_opts;

/* aiohttp's session.request(method, url, ...): sends the request and
 * waits for the response head, following redirects (RFC 9110 15.4: 301
 * and 302 turn POST into GET, 303 anything but HEAD into GET without a
 * body, 307 and 308 keep method and body; Authorization and the caller's
 * Cookie fields are dropped when the redirect leaves the original host or
 * port; the jar's cookies follow their own domain rules), the cookie jar
 * (Set-Cookie stored, Cookie sent), pooling and the timeouts. A request
 * that fails on a reused pooled connection before any response byte is
 * retried once on a new one when its method is idempotent (GET, HEAD,
 * OPTIONS, TRACE, PUT, DELETE) and its body replayable. method and url
 * (absolute "http://host[:port]/path?query"; IPv6 hosts in brackets) and
 * everything opts points to are borrowed for the call. Returns: 0 and
 * *out, a response the caller frees with cio_http_client_response_free
 * (any status is success: 404 too). Errors: CIO_EHTTPC_BAD_URL,
 * CIO_EHTTPC_SCHEME, CIO_EHTTPC_MALFORMED, CIO_EHTTPC_FRAMING,
 * CIO_EHTTPC_HEAD_TOO_LARGE, CIO_EHTTPC_TOO_MANY_REDIRECTS,
 * CIO_EHTTPC_DISCONNECTED, CIO_EHTTPC_PROXY, CIO_EHTTPC_TIMEOUT,
 * CIO_EHTTPC_CONNECT_TIMEOUT, CIO_EHTTPC_READ_TIMEOUT, CIO_EHTTPC_CLOSED,
 * over HTTP/2 CIO_EHTTPC_H2_PROTO, CIO_EHTTPC_H2_RESET and
 * CIO_EHTTPC_H2_GOAWAY (a GOAWAY left an idempotent request unprocessed:
 * it was retried once on a new connection first),
 * CIO_ETLS_VERIFY, CIO_ETLS_HANDSHAKE and the other CIO_ETLS_* codes,
 * the resolver's CIO_EDNS_* / CIO_ERESOLVE, -ECONNREFUSED and the other
 * connect and socket errors, the source's own error, -ENOENT (opts->file),
 * -ECANCELED, -EINVAL (NULL argument, outside a task, two body kinds),
 * -ENOMEM; *out is NULL on failure. Suspends. */
CIO_API int cio_http_session_request(cio_http_session *s, const char *method,
                                     const char *url,
                                     const cio_http_request_opts *opts,
                                     cio_http_client_response **out);

/* session.get(url): cio_http_session_request(s, "GET", url, NULL, out).
 * Returns/Errors: as cio_http_session_request. Suspends. */
CIO_API int cio_http_session_get(cio_http_session *s, const char *url,
                                 cio_http_client_response **out);

/* aiohttp's session.ws_connect(url): a WebSocket client connection made
 * the way the session makes its requests. url is ws://, wss://, http://
 * or https:// (wss and https: TLS with ws_opts->tls, else the session's
 * context (cio_http_session_opts.tls), else a default one offering ALPN
 * http/1.1 only, verifying certificate and host name; ws_opts->server_name
 * overrides the name checked; a context that offers "h2" may get an
 * HTTP/2 answer, which fails the handshake: give ws_opts->tls then). The connection goes through the session's
 * connector (its Unix socket, its CONNECT proxy; not the wrap seam: wss
 * always runs over cio's TLS) and is not pooled. The Upgrade request carries the session's User-Agent, its
 * cookies for the URL, basic auth from the URL's user:pass@ or
 * opts->user / password, opts->headers (Host is ignored) and opts->params
 * appended to the query; Set-Cookie fields of the answer go into the jar.
 * Timeouts: the session's or opts' connect (CIO_EHTTPC_CONNECT_TIMEOUT)
 * and total (CIO_EHTTPC_TIMEOUT; ws_opts->handshake_timeout shortens it
 * when set). Other ws_opts fields (compress, protocol, max_message,
 * heartbeat...) as for cio_ws_connect. url, opts and ws_opts are borrowed
 * for the call (only headers, params, user, password and timeout of opts
 * are used). Returns: 0 and *out, which the caller frees with cio_ws_free
 * (it may outlive the session). Errors: CIO_EWS_HANDSHAKE (no 101, or an
 * invalid answer), CIO_EHTTPC_BAD_URL, CIO_EHTTPC_SCHEME, CIO_EHTTPC_PROXY,
 * CIO_EHTTPC_TIMEOUT, CIO_EHTTPC_CONNECT_TIMEOUT, CIO_ETLS_VERIFY and the
 * other CIO_ETLS_* codes, -ECONNREFUSED and the other connect errors,
 * the resolver's, -ECANCELED, -EINVAL (NULL argument, outside a task, CR
 * or LF in a header), -ENOMEM; *out is NULL on failure. Suspends. */
struct cio_ws;         /* cio/websocket.h (which may include this header */
struct cio_ws_options; /* before its own declarations) */
CIO_API int cio_http_session_ws_connect(cio_http_session *s, const char *url,
                                        const cio_http_request_opts *opts,
                                        const struct cio_ws_options *ws_opts,
                                        struct cio_ws **out);

/* The HTTP version the response came in: 11 (HTTP/1.1, or 10 for an
 * HTTP/1.0 server) or 20 (HTTP/2). Returns: it. Errors: -EINVAL on NULL. */
CIO_API int cio_http_client_response_version(
    const cio_http_client_response *r);

/* The status code (200...). Returns: it. Errors: -EINVAL on NULL. */
CIO_API int cio_http_client_response_status(
    const cio_http_client_response *r);

/* The reason phrase ("OK"), a view borrowed from r; *len its length (len
 * may be NULL). Returns: it ("" for NULL r). */
CIO_API const char *cio_http_client_response_reason(
    const cio_http_client_response *r, size_t *len);

/* The URL of the final response after redirects (NUL-terminated, borrowed
 * from r), or NULL for NULL r. */
CIO_API const char *cio_http_client_response_url(
    const cio_http_client_response *r);

/* Number of redirects followed to get r (aiohttp's len(history)). */
CIO_API int cio_http_client_response_redirects(
    const cio_http_client_response *r);

/* The idx-th (0 = first) field called name (ASCII case-insensitive):
 * repeated fields such as Set-Cookie are reached by idx. Returns: the
 * value, a view borrowed from r (len may be NULL), or NULL if absent. */
CIO_API const char *cio_http_client_response_header(
    const cio_http_client_response *r, const char *name, size_t idx,
    size_t *len);

/* Number of fields of the head. */
CIO_API size_t cio_http_client_response_nheaders(
    const cio_http_client_response *r);

/* The i-th field: *name / *value views borrowed from r. Returns: 0.
 * Errors: -EINVAL (NULL, i out of range). */
CIO_API int cio_http_client_response_header_at(
    const cio_http_client_response *r, size_t i, const char **name,
    size_t *name_len, const char **value, size_t *value_len);

/* Content-Length of the body as sent (before decoding), or -1 when
 * chunked or close-delimited. */
CIO_API int64_t cio_http_client_response_content_length(
    const cio_http_client_response *r);

/* The response's trailers: the fields sent after the body (HTTP/1.1
 * chunked trailer section, RFC 9112 7.1.2; HTTP/2 trailing HEADERS, RFC
 * 9113 8.1), available once the body was read to its end (a read or
 * text/json returned, read_chunk or readline returned 0; a response
 * without a body at once). They are kept as received, under the limits of
 * the head (the session's max_head bytes, max_headers fields: more gives
 * CIO_EHTTPC_TRAILERS_TOO_LARGE from the read that reached them, and the
 * connection is closed), and never change the framing or the head's
 * fields (a Content-Length among them is just a field). Names and values
 * are NUL-terminated views borrowed from r (freed with it); HTTP/2 names
 * are in lower case.
 *
 * Number of trailer fields. Returns: it (0 for none, and for bodies that
 * were not chunked). Errors: -EINVAL (NULL r), -EAGAIN (the body was not
 * read to its end yet), the body's error when reading it failed (as
 * CIO_EHTTPC_TRAILERS_TOO_LARGE). */
CIO_API int cio_http_client_response_ntrailers(
    const cio_http_client_response *r);

/* The idx-th (0 = first) trailer field called name (ASCII
 * case-insensitive), as cio_http_client_response_header. Returns: the
 * value (len may be NULL), or NULL if absent, NULL r or name, or the
 * trailers are not available (see cio_http_client_response_ntrailers). */
CIO_API const char *cio_http_client_response_trailer(
    const cio_http_client_response *r, const char *name, size_t idx,
    size_t *len);

/* The i-th trailer field: *name / *value views borrowed from r (the
 * lengths may be NULL). Returns: 0. Errors: -EINVAL (NULL, i out of
 * range, trailers not available). */
CIO_API int cio_http_client_response_trailer_at(
    const cio_http_client_response *r, size_t i, const char **name,
    size_t *name_len, const char **value, size_t *value_len);

/* aiohttp's response.raise_for_status(): whether the status is an error
 * one (400 or more). Returns: 0 for a status below 400. Errors:
 * CIO_EHTTPC_STATUS (r stays usable: status, fields and body can still be
 * read), -EINVAL on NULL. Never suspends. */
CIO_API int cio_http_client_response_raise_for_status(
    const cio_http_client_response *r);

/* Streams the body: *data / *len get the next decoded piece (gzip and
 * deflate inflated unless the session says no_decompress), borrowed from
 * r until the next call. Returns: 1 with a piece, 0 at the end of the
 * body. Errors: CIO_EHTTPC_MALFORMED, CIO_EHTTPC_BODY_TOO_LARGE (more
 * than max_body decoded bytes in total), CIO_EHTTPC_DISCONNECTED,
 * CIO_EHTTPC_H2_RESET / CIO_EHTTPC_H2_PROTO (HTTP/2: the stream or the
 * connection failed; other streams of the connection go on after a
 * reset),
 * CIO_EHTTPC_DECODE, CIO_EHTTPC_TRAILERS_TOO_LARGE (the trailers after
 * the body, see cio_http_client_response_ntrailers),
 * CIO_EHTTPC_READ_TIMEOUT, CIO_EHTTPC_TIMEOUT,
 * -ECANCELED, -errno; after an error the connection is closed and every
 * later read returns the same error. Suspends. */
CIO_API int cio_http_client_response_read_chunk(cio_http_client_response *r,
                                                const char **data,
                                                size_t *len);

/* aiohttp's content.read(n) / iter_chunked(n): copies the next at most
 * cap bytes of the decoded body into buf (the caller's, borrowed for the
 * call), for callers with a buffer of their own. Mixes with
 * read_chunk and readline (each goes on where the other stopped).
 * Returns: bytes copied (1..cap), 0 at the end of the body. Errors:
 * -EINVAL (NULL r or buf, cap 0), CIO_EHTTPC_CONSUMED (the body was read
 * whole), those of cio_http_client_response_read_chunk. Suspends. */
CIO_API ssize_t cio_http_client_response_read_into(
    cio_http_client_response *r, void *buf, size_t cap);

/* Streams the body by lines: *line (borrowed until the next call) ends
 * with its '\n' except for a last line without one. Returns: the length
 * (> 0), 0 at the end. Errors: CIO_EHTTPC_LINE_TOO_LONG (a line longer
 * than max_line), those of cio_http_client_response_read_chunk.
 * Suspends. */
CIO_API ssize_t cio_http_client_response_readline(
    cio_http_client_response *r, const char **line);

/* Reads the rest of the body whole (aiohttp's read()): *data (borrowed
 * from r, NUL-terminated after *len bytes) and *len. max 0: the session's
 * max_body. A second call returns the same bytes. Returns: 0. Errors:
 * CIO_EHTTPC_BODY_TOO_LARGE (more than max bytes: nothing kept, the
 * connection closed), CIO_EHTTPC_CONSUMED (the body was streamed), those
 * of cio_http_client_response_read_chunk, -ENOMEM. Suspends. */
CIO_API int cio_http_client_response_read(cio_http_client_response *r,
                                          size_t max, const char **data,
                                          size_t *len);

/* aiohttp's text(): the whole body as a NUL-terminated string (borrowed
 * from r; bytes as sent, no charset conversion). Returns: it, or NULL on
 * error with *err (may be NULL) set to the code of
 * cio_http_client_response_read. Suspends. */
CIO_API const char *cio_http_client_response_text(cio_http_client_response *r,
                                                  int *err);

/* aiohttp's json(): the whole body parsed with cJSON. Returns: the value,
 * owned by r (freed with it), or NULL with *err (may be NULL):
 * CIO_EHTTPC_JSON, or an error of cio_http_client_response_read.
 * Suspends. */
CIO_API const struct cJSON *cio_http_client_response_json(
    cio_http_client_response *r, int *err);

/* Releases the response and takes r (aiohttp's release(); NULL ignored):
 * every view it handed out ends here. When its body
 * was read to the end and the server allows keep-alive, the connection
 * goes back to the pool; otherwise it is closed. Over HTTP/2 a stream not
 * read to the end is reset (RST_STREAM CANCEL, sent by a small task) and
 * the connection stays. Never suspends.
 * Returns: 0. */
CIO_API int cio_http_client_response_free(cio_http_client_response *r);

/* The cookie jar: the value of cookie name that a request to host and
 * path would send (NUL-terminated, borrowed until the jar changes), or
 * NULL. */
CIO_API const char *cio_http_session_cookie(const cio_http_session *s,
                                            const char *host,
                                            const char *path,
                                            const char *name);

/* Stores a cookie as a Set-Cookie field from host would (value is
 * "name=value; Path=/; Max-Age=60..."; copied). Returns: 0. Errors:
 * -EINVAL (malformed, or a Domain attribute host does not domain-match),
 * -ENOMEM. */
CIO_API int cio_http_session_set_cookie(cio_http_session *s, const char *host,
                                        const char *set_cookie);

/* Empties the cookie jar. */
CIO_API void cio_http_session_clear_cookies(cio_http_session *s);

#ifdef __cplusplus
}
#endif

#endif
