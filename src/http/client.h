/*
 * client.h - cio::http's client, private structures shared by client.c
 * (session, pool, connectors, requests, redirects), client_body.c (the
 * response's framing and content decoding) and client_util.c (URLs,
 * encodings, the cookie jar).
 */
#ifndef CIO_HTTP_CLIENT_INT_H
#define CIO_HTTP_CLIENT_INT_H

#include <zlib.h>

#include "cio/http.h"
#include "parse.h"

typedef struct hc_host hc_host;

typedef struct hc_url {
    char scheme[8];
    char *host; /* without brackets */
    int port;
    char *target;      /* path?query, at least "/" */
    char *user, *pass; /* decoded userinfo or NULL */
    int ipv6;
} hc_url;

/* A growable byte string. */
typedef struct hc_buf {
    char *p;
    size_t len, cap;
    int oom;
} hc_buf;


/* One connection: a transport and its read buffer. */
typedef struct hc_conn {
    struct hc_conn *next; /* in its host's idle list */
    hc_host *host;        /* NULL: not pooled (fuzz, tests) */
    cio_http_transport io;
    char *buf;
    size_t cap, off, len; /* unread bytes: buf[off..len) */
    int64_t idle_since;
    unsigned reused; /* requests served before this one */
} hc_conn;

typedef struct hc_h2 hc_h2;
typedef struct hc_h2s hc_h2s;

struct hc_host {
    struct hc_host *next;
    char *key; /* "scheme://host:port" */
    hc_conn *idle;
    int nidle;
    int nopen; /* idle + in use */
    hc_h2 *h2;         /* the origin's HTTP/2 connection (counted in nopen) */
    int h2_connecting; /* a task is making the first connection */
    int h1_only;       /* ALPN chose http/1.1: no more waiting for h2 */
};

typedef struct hc_cookie {
    struct hc_cookie *next;
    char *name, *value, *domain, *path;
    int host_only, secure;
    int64_t expires; /* CLOCK_REALTIME seconds, 0: session cookie */
} hc_cookie;

struct cio_http_session {
    cio_loop *loop;
    cio_http_session_opts o; /* strings below are the copies */
    /* the CONNECT proxies: [0] for http:// (and ws://) URLs, [1] for
     * https:// (and wss://); host NULL: none. opts.proxy sets both;
     * trust_env takes http_proxy / https_proxy */
    struct hc_proxy {
        char *host;
        int port;
        char *auth; /* "Basic ..." or NULL */
    } px[2];
    char *no_proxy; /* trust_env's no_proxy list, or NULL */
    char *unix_path;
    cio_tls_ctx *tls_default; /* made on the first https request that
                               * offers http/1.1 only (ws, HTTP/1 forced) */
    cio_tls_ctx *tls_h2;      /* made on the first https request: ALPN h2,
                               * http/1.1 */
    char *user_agent;
    hc_host *hosts;
    int nopen;
    cio_event slot; /* set when a connection slot frees */
    int nwaiting;
    long opened;
    int busy; /* requests in flight + responses not freed */
    hc_cookie *jar;
    char **headers; /* the default fields: copies, NULL-terminated pairs */
    hc_url *base;   /* base_url, parsed, or NULL */
};

/* Limits handed to the parser for responses. */
typedef struct hc_limits {
    cio__http_limits p;
    size_t max_body, max_line;
} hc_limits;

struct cio_http_client_response {
    cio_http_session *s; /* NULL: stand-alone (fuzz) */
    hc_conn *conn;       /* NULL once released or failed */
    hc_h2s *h2s;         /* HTTP/2: the stream (conn is NULL) */
    int status;
    int version; /* 10, 11 or 20 */
    int redirects;
    int head_req;
    char *url;
    char *head; /* the head's bytes: views point here */
    cio__http_header *hdrs;
    size_t nhdrs;
    const char *reason;
    size_t reason_len;
    int64_t content_length;
    int keep_alive;
    cio__http_body bd;
    hc_limits lim;
    /* deadlines (loop time, INT64_MAX: none) */
    int64_t deadline;
    int64_t sock_read;
    int err;      /* sticky error */
    int raw_done; /* framing complete */
    int eof_done; /* decoded stream complete */
    int streamed; /* read_chunk / readline used */
    uint64_t decoded;
    /* content decoding */
    int coding; /* 0 none, 1 gzip/deflate via zlib */
    int zinit;
    z_stream z;
    char *zout;
    size_t zcap;
    /* readline */
    char *line;
    size_t line_len, line_cap;
    const char *pend;
    size_t pend_len;
    /* whole body */
    char *body;
    size_t body_len;
    int have_body;
    struct cJSON *json;
    /* trailers: the raw section ("name: value\r\n" lines) collected while
     * the body is read, then split in place (names and values
     * NUL-terminated) once it ended */
    hc_buf trl;
    cio__http_header *thdrs;
    size_t ntrl;
};

/* client_body.c */
/* Reads and parses a response head from c into r (r->lim, head_req,
 * deadline, sock_read set by the caller); on success r->conn = c and the
 * body decoder is ready. interim 100 responses are returned to the caller
 * as status 100 only when want_100 is set, else skipped. Returns: 0.
 * Errors: CIO_EHTTPC_*, -errno, -ECANCELED. got_bytes is set to 1 once
 * any byte of a response arrived. */
int cio__hc_read_head(cio_http_client_response *r, hc_conn *c, int want_100,
                      int *got_bytes);
/* Receives into c's buffer (growing it up to max), honouring r's
 * deadlines. Returns: bytes (0 at EOF). */
ssize_t cio__hc_recv(cio_http_client_response *r, hc_conn *c, size_t max);
/* Sets up content decoding from the Content-Encoding field. */
int cio__hc_setup_decoding(cio_http_client_response *r, int decompress);
/* Frees r's own memory (not the connection). */
void cio__hc_response_clear(cio_http_client_response *r);
/* Splits r->trl (the trailer section received) into r->thdrs. Returns:
 * 0. Errors: CIO_EHTTPC_TRAILERS_TOO_LARGE (more than max_headers
 * fields), -ENOMEM. */
int cio__hc_trailers_finish(cio_http_client_response *r);
/* Reads and discards the rest of the body (up to max bytes). Returns 0
 * when the body ended. */
int cio__hc_drain(cio_http_client_response *r, size_t max);

/* client.c */
void cio__hc_conn_close(hc_conn *c);
void cio__hc_release_conn(cio_http_session *s, hc_conn *c, int reusable);

void cio__hc_slot_freed(cio_http_session *s);

/* client_h2.c: the HTTP/2 side (nghttp2). */
/* What a request sends: the HTTP/1.1 head client.c built (turned into
 * HTTP/2 fields) and its body. */
typedef struct hc_h2_req {
    const char *head;
    size_t head_len;
    const char *scheme;
    const char *bp; /* in-memory body */
    size_t blen;
    const char *file; /* or a file of file_len bytes */
    int64_t file_len;
    cio_http_body_source source; /* or a coroutine source */
    void *source_arg;
    int has_body;
} hc_h2_req;
/* Makes the HTTP/2 connection of host h over sock (taken: closed on
 * failure too) and starts its reader task. Returns: 0, h->h2 set. */
int cio__hc_h2_open(cio_http_session *s, hc_host *h, cio_socket *sock);
/* Whether c takes new streams. */
int cio__hc_h2_usable(const hc_h2 *c);
/* One request on c: on success r has the response head and r->h2s.
 * *refused: the server's GOAWAY refused the stream before any answer
 * (safe to retry). Errors: CIO_EHTTPC_H2_*, CIO_EHTTPC_*, -errno. */
int cio__hc_h2_exchange(hc_h2 *c, const hc_h2_req *q,
                        cio_http_client_response *r, int *refused);
/* The next piece of r's body (as raw_next). */
int cio__hc_h2_raw_next(cio_http_client_response *r, const char **d,
                        size_t *n);
/* Ends r's stream: RST_STREAM(CANCEL) when it is not complete. Never
 * suspends. */
void cio__hc_h2_release(cio_http_client_response *r);
/* Detaches the host's connection at session close (its reader task ends
 * it). */
void cio__hc_h2_detach(hc_h2 *c);

/* For the fuzz target: a client session with three requests in flight
 * (GET, POST with a 40000-byte body, HEAD) receives data as the server's
 * bytes (SETTINGS first), in pieces of piece bytes (0: whole), through
 * cio's callbacks; nghttp2's output is dropped. No loop, no socket.
 * Returns 0, or the first error (CIO_EHTTPC_H2_PROTO, -ENOMEM). */
int cio__hc_h2_fuzz(const uint8_t *data, size_t len, size_t piece);

/* client_util.c */

int cio__hc_url_parse(hc_url *u, const char *url);
void cio__hc_url_free(hc_url *u);
/* Resolves a Location against base into a malloc'ed absolute URL. */
char *cio__hc_url_join(const hc_url *base, const char *loc, size_t n);

void cio__hc_buf_add(hc_buf *b, const void *d, size_t n);
void cio__hc_buf_str(hc_buf *b, const char *s);
void cio__hc_buf_fmt(hc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Percent-encodes s (form: space as '+'). */
void cio__hc_buf_quote(hc_buf *b, const char *s, int form);
void cio__hc_buf_base64(hc_buf *b, const void *d, size_t n);

/* Cookie jar */
int cio__hc_jar_store(cio_http_session *s, const char *host, const char *path,
                      const char *v, size_t n);
/* Appends "Cookie: ...\r\n" for host/path (secure: https). */
void cio__hc_jar_header(cio_http_session *s, hc_buf *b, const char *host,
                        const char *path, int secure);
void cio__hc_jar_free(cio_http_session *s);

/* For the fuzz target: parses a whole response from bytes (no loop, no
 * socket), decoding and reading the body whole and by lines. Returns the
 * first error or 0. */
int cio__hc_fuzz_response(const char *data, size_t len, int head_req);

#endif
