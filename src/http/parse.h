/*
 * parse.h - cio's HTTP/1.1 message parser (internal to cio::http).
 *
 * Pure: bytes in, views into the caller's buffer out. No I/O, no loop, no
 * allocation, no global state except the read-only character tables, so it
 * is fuzzed on its own (tests/fuzz/) and shared by the server and, later,
 * the client (requests and responses go through the same code).
 *
 * Heads are parsed whole: cio__http_parse_head() is called with everything
 * received so far and either finds the complete head (returns its length),
 * says more is needed (returns 0), or rejects the message with the HTTP
 * status the server must answer (returns -status: -400, -413, -414, -431,
 * -501, -505; -417 for an unknown expectation). Re-parsing a partial head
 * is bounded by the head limit (16 KiB by default) and only happens once a
 * blank line is present (the caller's cheap end-of-head search decides when
 * to call), so a slow client costs O(bytes), not O(bytes^2).
 *
 * Bodies are decoded by cio__http_body_decode(), a byte-exact state machine
 * (Content-Length, chunked with extensions and trailers, or until close)
 * that can be fed any split of the input and returns views of the payload.
 *
 * Errors are negative HTTP status codes here, not errno values: they are
 * internal and never leave src/http (the server turns them into responses,
 * the client into CIO_EHTTP).
 */
#ifndef CIO_HTTP_PARSE_H
#define CIO_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

typedef struct cio__http_header {
    const char *name; /* borrowed: the caller's buffer */
    size_t name_len;
    const char *value; /* without leading or trailing whitespace */
    size_t value_len;
} cio__http_header;

typedef struct cio__http_limits {
    size_t max_request_line; /* request-line or status-line: 414 (8190) */
    size_t max_header_line;  /* one field line: 431 (8190) */
    size_t max_head;         /* the whole head: 431 (16384) */
    size_t max_headers;      /* number of fields: 431 (100) */
    uint64_t max_body;       /* decoded body: 413 (8 MiB) */
    size_t max_chunk_line;   /* chunk-size line with extensions: 400 (4096) */
    size_t max_trailers;     /* the whole trailer section: 431 (8192) */
} cio__http_limits;

#define CIO__HTTP_LIMITS_INIT                                                  \
    {8190, 8190, 16384, 100, (uint64_t)8 << 20, 4096, 8192}

/* How the body of a message is delimited (RFC 9112 section 6.3). */
enum {
    CIO__HTTP_BODY_NONE = 0,    /* no body */
    CIO__HTTP_BODY_LENGTH = 1,  /* content_length bytes */
    CIO__HTTP_BODY_CHUNKED = 2, /* chunked transfer coding */
    CIO__HTTP_BODY_CLOSE = 3    /* until the connection closes (responses) */
};

/* Flags of cio__http_parse_head. */
enum {
    CIO__HTTP_PARSE_RESPONSE = 1, /* parse a status-line (default: request) */
    CIO__HTTP_PARSE_HEAD_REQ = 2  /* response to HEAD: never a body */
};

typedef struct cio__http_msg {
    /* Request line (requests) */
    const char *method;
    size_t method_len;
    const char *target;
    size_t target_len;
    /* Status line (responses) */
    int status;
    const char *reason;
    size_t reason_len;
    /* Both */
    int minor;      /* HTTP/1.<minor>: 0 or 1 */
    size_t head_len; /* bytes of the head, empty lines before it included */
    cio__http_header *headers; /* caller's array */
    size_t nheaders;
    size_t headers_cap;
    /* Framing, from the fields */
    int body;       /* CIO__HTTP_BODY_* */
    uint64_t content_length;
    unsigned keep_alive : 1;      /* the connection may carry another */
    unsigned expect_continue : 1; /* Expect: 100-continue (HTTP/1.1) */
    unsigned upgrade : 1;         /* Connection: upgrade with Upgrade */
    const char *host;             /* the Host field, or NULL */
    size_t host_len;
} cio__http_msg;

/* Parses the head at buf[0..len) into *m (m->headers and m->headers_cap set
 * by the caller; the rest is overwritten). Returns: the head length (> 0)
 * when complete; 0 when more bytes are needed (and none of the limits is
 * exceeded yet); -status when the message must be rejected. */
int cio__http_parse_head(const char *buf, size_t len, int flags,
                         const cio__http_limits *lim, cio__http_msg *m);

/* Position just past the first blank line at or after buf+from (a cheap
 * pre-check before cio__http_parse_head), or 0 if there is none. */
size_t cio__http_head_end(const char *buf, size_t len, size_t from);

/* Body decoder state: zero it, then cio__http_body_init. */
typedef struct cio__http_body {
    int kind;           /* CIO__HTTP_BODY_* */
    int state;          /* internal */
    uint64_t remaining; /* of the Content-Length, or of the current chunk */
    uint64_t total;     /* decoded so far */
    uint64_t max_body;
    size_t line;        /* bytes of the current chunk or trailer line */
    size_t trailers;    /* bytes of the trailer section so far */
    size_t max_line;
    size_t max_trailers;
    int ndigits;
    int done;
} cio__http_body;

void cio__http_body_init(cio__http_body *b, const cio__http_msg *m,
                         const cio__http_limits *lim);

/* Decodes from in[0..len): sets *data and *data_len to the next payload span
 * (a view into in, possibly empty) and returns the number of input bytes
 * consumed (>= the span's end). Call again with the rest; b->done is set
 * once the body (and, for chunked, its trailers) is complete: the bytes
 * after it belong to the next message. Returns -status (-400, -413, -431)
 * on malformed or oversized input. */
long cio__http_body_decode(cio__http_body *b, const char *in, size_t len,
                           const char **data, size_t *data_len);

/* Case-insensitive ASCII comparison of a view with a NUL-terminated
 * lower-case literal. */
int cio__http_ieq(const char *s, size_t n, const char *lit);

/* Selects the SSE4.2 scan (on != 0, where the CPU has it) or the scalar
 * one, for tests and benchmarks. Returns the previous setting. */
int cio__http_parse_set_simd(int on);

/* Token characters of RFC 9110 section 5.6.2. */
int cio__http_is_tchar(unsigned char c);

#endif
