/*
 * h2.c - HTTP/2 for cio::http on nghttp2 (Debian libnghttp2-dev): the same
 * app, router, middleware and handlers as HTTP/1.1 (server.c), served on
 * a connection that started as HTTP/1.1 (prior-knowledge preface or
 * Upgrade: h2c; ALPN "h2" on TLS enters at cio__h2_serve too).
 *
 * Tasks of one HTTP/2 connection (all on the connection's loop, so
 * nghttp2 is only ever called from one thread and never re-entered):
 *   - the connection task (the HTTP/1.1 connection's own task) reads,
 *     feeds nghttp2_session_mem_recv and wakes the writer;
 *   - a writer task drains nghttp2_session_mem_send into one buffer of up
 *     to 64 KiB per system call, waiting for the socket (write_timeout);
 *     it sleeps on an event that readers and handlers set;
 *   - one task per stream, created once the request is complete (END_STREAM
 *     seen), which runs the app (router, middleware, handler) on a
 *     request context of its own (struct h2s embeds a `conn`, so the
 *     request and response objects of HTTP/1.1 work unchanged) and submits
 *     the response with a data provider.
 *
 * Flow control is nghttp2's: the data provider is only asked for bytes
 * while the peer's stream and connection windows are open. A streamed
 * response queues at most STREAM_HIGH bytes per stream; a handler writing
 * more suspends on the stream's `drained` event until the data provider
 * took them (so a peer that opens no window suspends the handler, bounded
 * by write_timeout).
 *
 * A stream is shared by nghttp2 (until on_stream_close) and its task
 * (until the task's done callback): a reference count of those two frees
 * it. A stream closed by the peer (RST_STREAM) while its handler runs has
 * its task cancelled. Resets are counted per reset_window: past
 * max_resets the session ends with GOAWAY(ENHANCE_YOUR_CALM)
 * (CVE-2023-44487). CONTINUATION floods are refused by nghttp2 itself
 * (CVE-2024-28182: at most 8 CONTINUATION frames per header block in the
 * Debian 12 build, checked by test_http_h2_live).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http_int.h"

#define OUT_CHUNK (64 * 1024)
#define READ_CHUNK 16384
#define STREAM_HIGH (64 * 1024) /* queued bytes of a streamed response */
#define FREE_KEEP 16            /* recycled stream objects per connection */

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

typedef struct hoff {
    uint32_t no, nl, vo, vl; /* offsets into h2s.hb */
} hoff;

typedef struct h2conn h2conn;

/* nghttp2's memory, recycled per connection. nghttp2 allocates and frees
 * a few small objects per stream (its stream, the outbound HEADERS and
 * DATA items, the copied header fields); with 10 streams per connection
 * in flight these bursts outrun glibc's per-thread cache (7 blocks per
 * size) and went through _int_malloc/_int_free: ~10 % of the server's
 * instructions per request. Blocks of up to POOL_MAX bytes are kept on
 * per-class free lists of the connection (at most POOL_KEEP per class)
 * and given back to libc when the connection ends; larger ones go to
 * libc at once. A block carries its class in a 16-byte header. */
#define POOL_CLASSES 5 /* 64, 128, 256, 512, 1024 bytes */
#define POOL_MAX 1024
#define POOL_KEEP 64
typedef union pblock {
    union pblock *next; /* on a free list */
    struct {
        unsigned cls; /* POOL_CLASSES: from libc, not pooled */
    } h;
    max_align_t align;
} pblock;
typedef struct h2pool {
    pblock *free[POOL_CLASSES];
    int nfree[POOL_CLASSES];
} h2pool;

enum {
    RES_NONE,
    RES_BODY,
    RES_FILE,
    RES_STREAM
};

typedef struct h2s {
    conn c; /* the request context: c.req, c.res, c.arena, c.hdrs */
    h2conn *h;
    int32_t id;
    int refs;      /* nghttp2's stream + the task */
    int closed;    /* nghttp2 closed the stream */
    int reset;     /* closed by the peer before the response ended */
    int started;   /* the task was created */
    int bad;       /* an HTTP status to answer instead of the handler */
    int head_only; /* a HEAD request: streamed writes are dropped */
    cio_task *task;
    struct h2s *prev, *next;   /* h->streams: the streams with a task */
    struct h2s *aprev, *anext; /* h->all: every live stream */
    /* request */
    hbuf hb; /* header names and values */
    hoff hx[CIO__HTTP_MAX_HEADERS_CAP];
    size_t nh, hbytes;
    hoff method, path, authority;
    unsigned vf;   /* V_*: what the request's fields showed so far */
    int malformed; /* reset with PROTOCOL_ERROR (RFC 9113 8.1.1) */
    int64_t clen;  /* content-length, -1: none */
    uint64_t rlen; /* DATA payload received */
    hbuf cookie; /* cookie fields joined with "; " (RFC 9113 8.2.3) */
    hbuf body;
    /* response */
    int mode;     /* RES_* */
    size_t off;   /* RES_BODY: sent; RES_STREAM: taken from sbuf */
    hbuf sbuf;    /* RES_STREAM: queued payload */
    int eof;      /* RES_STREAM: the handler ended */
    int deferred; /* the data provider returned DEFERRED */
    uint64_t file_off, file_left;
    cio_event drained;
    /* The response's :status and content-length values: nghttp2 reads
     * them when it sends the HEADERS (NO_COPY), after submit returned. */
    char status_buf[4];
    char clen_buf[24];
} h2s;

struct h2conn {
    conn *c;
    nghttp2_session *ng;
    cio_event wake;
    int woken; /* wake is set (see wake()) */
    cio_task *writer;
    h2s *streams;
    int nlive;  /* streams allocated and not freed */
    int ntasks; /* stream tasks not done */
    int dead;   /* I/O failed: no more reads or writes */
    int done;   /* the connection task is ending */
    int goaway; /* GOAWAY submitted */
    int64_t reset_start;
    int resets;
    int64_t last_act; /* loop time of the last read, or of the last
                       * stream or handler that ended */
    cio_handle wd;    /* the watchdog timer */
    int64_t wd_at;    /* when it fires; 0: not armed */
    int in_read, timed_out;
    size_t body_bytes; /* request bodies buffered on the connection */
    h2s *free;         /* recycled stream objects (FREE_KEEP at most) */
    h2s *all;          /* live streams (nghttp2 may drop some without
                        * on_stream_close when the session dies) */
    int nfree;
    const cio_http2_config *cfg;
    /* The stream whose HEADERS are being received (nghttp2 calls
     * on_header once per field: a lookup in its stream map each time
     * cost more than the rest of on_header). Cleared when it closes. */
    int32_t cur_id;
    h2s *cur;
    h2pool pool; /* nghttp2's memory */
};

int cio__h2_preface(const conn *c, const char *buf, size_t n)
{
    if (!c->app->h2_on || c->app->h2.prior_knowledge < 0 || n < 18)
        return 0;
    return memcmp(buf, preface, n < 24 ? n : 24) == 0;
}

/* ---- the app's configuration ------------------------------------------- */

int cio_http_app_http2(cio_http_app *app, const cio_http2_config *cfg)
{
    if (!app)
        return -EINVAL;
    cio_http2_config d = CIO_HTTP2_CONFIG_INIT;
    if (cfg)
        d = *cfg;
    if (d.max_resets < 0 || d.reset_window < 0 ||
        d.initial_window > 0x7fffffffu ||
        (d.max_frame && (d.max_frame < 16384 || d.max_frame > 16777215)))
        return -EINVAL;
    if (atomic_load(&app->running))
        return -EBUSY;
    if (!d.prior_knowledge)
        d.prior_knowledge = 1;
    if (!d.upgrade)
        d.upgrade = 1;
    if (!d.max_concurrent_streams)
        d.max_concurrent_streams = 100;
    if (!d.max_header_list)
        d.max_header_list = 16384;
    if (!d.initial_window)
        d.initial_window = 65535;
    if (!d.max_frame)
        d.max_frame = 16384;
    if (!d.max_resets)
        d.max_resets = 100;
    if (!d.reset_window)
        d.reset_window = CIO_SEC;
    app->h2 = d;
    app->h2_on = 1;
    return cio__https_set_alpn(app); /* HTTPS: offer "h2" by ALPN */
}

int cio_http_request_version(const cio_http_request *req)
{
    if (!req || !req->conn)
        return -EINVAL;
    if (req->conn->h2s)
        return 20;
    return req->msg.minor ? 11 : 10;
}

/* ---- streams ------------------------------------------------------------- */

static void stream_free(h2s *s)
{
    cio__http_response_free(&s->c.res);
    cio__arena_reset(&s->c.arena);
    cio__hbuf_free(&s->hb);
    cio__hbuf_free(&s->cookie);
    cio__hbuf_free(&s->body);
    cio__hbuf_free(&s->sbuf);
    cio_event_destroy(&s->drained);
    free(s);
}

/* The last reference: the stream's object goes to the connection's free
 * list (up to FREE_KEEP; its buffers stay allocated for the next stream)
 * or is freed. */
static void stream_unref(h2s *s)
{
    if (--s->refs > 0)
        return;
    h2conn *h = s->h;
    h->nlive--;
    if (h->nlive == 0)
        h->last_act = cio_loop_time(h->c->srv->loop);
    h->body_bytes -= s->body.len;
    if (s->aprev)
        s->aprev->anext = s->anext;
    else
        h->all = s->anext;
    if (s->anext)
        s->anext->aprev = s->aprev;
    if (s->c.req.json)
        cio__http_request_done(&s->c.req);
    if (h->nfree >= FREE_KEEP || h->done) {
        stream_free(s);
        return;
    }
    cio__http_response_reset(&s->c.res); /* closes a file */
    cio__arena_reset(&s->c.arena);
    s->hb.len = s->cookie.len = s->body.len = s->sbuf.len = 0;
    if (s->hb.cap > 16384)
        cio__hbuf_free(&s->hb);
    if (s->body.cap > 65536)
        cio__hbuf_free(&s->body);
    if (s->sbuf.cap > 2 * STREAM_HIGH)
        cio__hbuf_free(&s->sbuf);
    s->next = h->free;
    h->free = s;
    h->nfree++;
}

/* stream_new clears these fields after the match one by one: a field
 * added after sform must be cleared there too. */
_Static_assert(offsetof(cio_http_request, sform) +
                       sizeof(((cio_http_request *)0)->sform) ==
                   sizeof(cio_http_request),
               "cio_http_request grew: clear the new field in stream_new");

static h2s *stream_new(h2conn *h, int32_t id)
{
    h2s *s = h->free;
    if (s) {
        /* Recycled: reset what a stream reads before writing it (the
         * large arrays, c.hdrs, hx and the arena's first block, are
         * written before they are read). */
        h->free = s->next;
        h->nfree--;
        hbuf hb = s->hb, cookie = s->cookie, body = s->body, sbuf = s->sbuf;
        hbuf rb = s->c.res.body, rh = s->c.res.hdrs;
        cio_event_clear(&s->drained);
        /* The request without the route match's parameter arrays
         * (read only below match.nparams, which the router sets): zeroing
         * the whole request was ~100 instructions per stream. */
        cio_http_request *q = &s->c.req;
        memset(q, 0,
               offsetof(cio_http_request, match) +
                   offsetof(cio__route_match, names));
        q->json = NULL;
        q->json_done = 0;
        q->ctx = NULL;
        q->sform = NULL;
        s->c.res = (cio_http_response){0};
        s->c.res.body = rb;
        s->c.res.hdrs = rh;
        s->c.keep_alive = NULL;
        s->c.idle = 0;
        s->c.arena.used = 0;
        s->c.arena.more = NULL;
        s->closed = s->reset = s->started = s->bad = s->head_only = 0;
        s->task = NULL;
        s->prev = s->next = NULL;
        s->nh = s->hbytes = 0;
        s->vf = 0;
        s->malformed = 0;
        s->rlen = 0;
        s->mode = RES_NONE;
        s->off = 0;
        s->eof = s->deferred = 0;
        s->file_off = s->file_left = 0;
        s->hb = hb, s->cookie = cookie, s->body = body, s->sbuf = sbuf;
    } else {
        s = calloc(1, sizeof(*s));
        if (!s)
            return NULL;
        cio_event_init(&s->drained);
        s->h = h;
        s->c.srv = h->c->srv;
        s->c.app = h->c->app;
        s->c.io = h->c->io; /* for cio_http_request_tls (not used for I/O) */
        s->c.h2s = s;
        /* The connection's peer; a recycled object (same connection:
         * the free list is per connection) keeps it. */
        s->c.req.peer = h->c->req.peer;
    }
    s->id = id;
    s->refs = 1;
    s->clen = -1;
    s->c.req.conn = &s->c;
    s->c.res.file_fd = -1;
    s->aprev = NULL;
    s->anext = h->all;
    if (h->all)
        h->all->aprev = s;
    h->all = s;
    h->nlive++;
    return s;
}

/* Wakes the writer. h->woken mirrors the event's flag (set here, cleared
 * with it by the writer), so the second and later wakes of one loop turn
 * (one per response) cost a test instead of a cio_event_set. */
static void wake(h2conn *h)
{
    if (!h->woken) {
        h->woken = 1;
        cio_event_set(&h->wake);
    }
}

/* Appends a string to s->hb and returns its offset (or -1: no memory). */
static long hb_put(h2s *s, const void *p, size_t n)
{
    size_t at = s->hb.len;
    if (s->hb.cap - at < n + 1 && cio__hbuf_reserve(&s->hb, n + 1) < 0)
        return -1;
    memcpy(s->hb.p + at, p, n);
    s->hb.p[at + n] = '\0';
    s->hb.len = at + n + 1;
    return (long)at;
}

static int stream_start(h2s *s);

/* The stream of id (NULL: none, or closed). */
static h2s *stream_get(h2conn *h, int32_t id)
{
    if (id == h->cur_id)
        return h->cur;
    return nghttp2_session_get_stream_user_data(h->ng, id);
}

/* ---- nghttp2 callbacks -------------------------------------------------- */

static int on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f,
                            void *ud)
{
    h2conn *h = ud;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    /* Streams whose handler still runs after a reset count too: bounded. */
    if (h->goaway || h->nlive >= 2 * (int)h->cfg->max_concurrent_streams) {
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, f->hd.stream_id,
                                  NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    h2s *s = stream_new(h, f->hd.stream_id);
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    nghttp2_session_set_stream_user_data(ng, f->hd.stream_id, s);
    h->cur_id = f->hd.stream_id;
    h->cur = s;
    return 0;
}

/* ---- request field checks (RFC 9113 8.1.1, 8.2, 8.3) -------------------
 *
 * nghttp2's own HTTP messaging checks are off (no_http_messaging, in
 * session_new): they cost ~1,150 instructions per request of h2load's
 * five fields, a tenth of the server's user time, mostly a second pass
 * over names and values that on_header walks anyway. The same rules are
 * checked here, in the one pass that stores the fields:
 *   - a malformed request (RFC 9113 8.1.1) is reset with
 *     RST_STREAM(PROTOCOL_ERROR) and never reaches the app: an upper-case
 *     or otherwise invalid pseudo-header, an unknown, repeated, empty or
 *     late (after a regular field) pseudo-header, an upper-case field
 *     name, connection-specific fields (connection, keep-alive,
 *     proxy-connection, transfer-encoding, upgrade; te other than
 *     "trailers"), a repeated or empty host, a repeated or non-numeric
 *     content-length or one the DATA does not match, a missing :method,
 *     :scheme, :path, or :authority/host, a :path not starting with "/"
 *     (but "*" for OPTIONS) on http(s), CONNECT with :scheme or :path or
 *     without :authority, a pseudo-header in trailers, trailers without
 *     END_STREAM;
 *   - a regular field whose name has other invalid octets (CTL, SP, ":",
 *     non-ASCII, non-token) or whose value has a CTL other than HTAB or
 *     leading/trailing whitespace is dropped, as nghttp2 did (still
 *     counting as a regular field for the pseudo-header order).
 * Values of pseudo-headers: :method a token, :scheme ALPHA *(ALPHA /
 * DIGIT / "+" / "-" / "."), :authority and host RFC 3986 authority
 * octets, :path VCHAR (no obs-text: the HTTP/1.1 parser's rule for a
 * request-target). */
enum {
    F_NAME = 1,  /* field name octet: token character, not upper case */
    F_UPPER = 2, /* A-Z */
    F_TCHAR = 4, /* token character (RFC 9110 5.6.2) */
    F_VALUE = 8, /* field value octet: HTAB, SP, VCHAR, obs-text */
    F_AUTH = 16, /* RFC 3986 authority octet */
    F_PATH = 32, /* VCHAR */
};
/* clang-format off */
static const uint8_t fclass[256] = {
    0,  0,  0,  0,  0,  0,  0,  0,  0,  8,  0,  0,  0,  0,  0,  0,
    0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,  0,
    8,  61, 40, 45, 61, 61, 61, 61, 56, 56, 61, 61, 56, 61, 61, 40,
    61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 56, 56, 40, 56, 40, 40,
    56, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62,
    62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 62, 56, 40, 56, 45, 61,
    45, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61,
    61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 61, 40, 45, 40, 61, 0,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
    8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,  8,
};
/* clang-format on */

/* The class bits every octet of p has (four octets a step: the plain
 * loop was 5 instructions an octet). */
static inline unsigned fclass_all(const uint8_t *p, size_t n)
{
    unsigned a = 0xff, b = 0xff;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        a &= fclass[p[i]] & fclass[p[i + 1]];
        b &= fclass[p[i + 2]] & fclass[p[i + 3]];
    }
    for (; i < n; i++)
        a &= fclass[p[i]];
    return a & b;
}

enum {
    V_METHOD = 1u << 0,
    V_PATH = 1u << 1,
    V_SCHEME = 1u << 2,
    V_AUTH = 1u << 3,
    V_HOST = 1u << 4,
    V_REGULAR = 1u << 5, /* a regular field was seen */
    V_CONNECT = 1u << 6,
    V_OPTIONS = 1u << 7,
    V_SLASH = 1u << 8, /* :path starts with "/" */
    V_STAR = 1u << 9,  /* :path is "*" */
    V_HTTP = 1u << 10, /* :scheme is http or https */
};

/* A malformed request: reset, no handler (one whose handler runs, after a
 * 413, is cancelled when nghttp2 closes the stream). Returns 0 for the
 * nghttp2 callback. */
static int malformed(h2conn *h, h2s *s)
{
    if (!s->malformed) {
        s->malformed = 1;
        s->started = 1;
        nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, s->id,
                                  NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
}

/* The request's fields once its header block ended (RFC 9113 8.3.1). */
static int request_complete(unsigned vf)
{
    if (vf & V_CONNECT) /* RFC 9113 8.5 */
        return (vf & V_AUTH) && !(vf & (V_SCHEME | V_PATH));
    if ((vf & (V_METHOD | V_SCHEME | V_PATH)) !=
            (V_METHOD | V_SCHEME | V_PATH) ||
        !(vf & (V_AUTH | V_HOST)))
        return 0;
    return !(vf & V_HTTP) || (vf & V_SLASH) ||
           ((vf & V_OPTIONS) && (vf & V_STAR));
}

static int pseudo_header(h2conn *h, h2s *s, const uint8_t *name, size_t nl,
                         const uint8_t *value, size_t vl)
{
    unsigned bit = 0, cls = 0;
    hoff *o = NULL;
    if (nl == 5 && !memcmp(name, ":path", 5))
        bit = V_PATH, cls = F_PATH, o = &s->path;
    else if (nl == 7 && !memcmp(name, ":method", 7))
        bit = V_METHOD, cls = F_TCHAR, o = &s->method;
    else if (nl == 7 && !memcmp(name, ":scheme", 7))
        bit = V_SCHEME, cls = F_TCHAR;
    else if (nl == 10 && !memcmp(name, ":authority", 10))
        bit = V_AUTH, cls = F_AUTH, o = &s->authority;
    /* Unknown (":protocol" too: extended CONNECT is not offered),
     * repeated, after a regular field, or empty. */
    if (!bit || (s->vf & (bit | V_REGULAR)) || !vl)
        return malformed(h, s);
    s->vf |= bit;
    /* The usual values need no octet scan. */
    if (bit == V_SCHEME && ((vl == 4 && !memcmp(value, "http", 4)) ||
                            (vl == 5 && !memcmp(value, "https", 5)))) {
        s->vf |= V_HTTP;
        return 0;
    }
    if (!(bit == V_METHOD && vl == 3 && !memcmp(value, "GET", 3)) &&
        !(fclass_all(value, vl) & cls))
        return malformed(h, s); /* bad octets */
    if (bit == V_SCHEME) {
        /* ALPHA first; the rest ALPHA / DIGIT / "+" / "-" / "." (all
         * token characters, checked above). */
        for (size_t i = 0; i < vl; i++) {
            uint8_t c = value[i] | 0x20;
            if (!(c >= 'a' && c <= 'z') &&
                (i == 0 ||
                 !((value[i] >= '0' && value[i] <= '9') || value[i] == '+' ||
                   value[i] == '-' || value[i] == '.')))
                return malformed(h, s);
        }
        if ((vl == 4 && cio__http_ieq((const char *)value, 4, "http")) ||
            (vl == 5 && cio__http_ieq((const char *)value, 5, "https")))
            s->vf |= V_HTTP;
        return 0;
    }
    if (bit == V_METHOD && vl == 7) {
        if (!memcmp(value, "CONNECT", 7))
            s->vf |= V_CONNECT;
        else if (!memcmp(value, "OPTIONS", 7))
            s->vf |= V_OPTIONS;
    } else if (bit == V_PATH) {
        if (value[0] == '/')
            s->vf |= V_SLASH;
        else if (vl == 1 && value[0] == '*')
            s->vf |= V_STAR;
    }
    long at = hb_put(s, value, vl);
    if (at < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    o->vo = (uint32_t)at;
    o->vl = (uint32_t)vl;
    return 0;
}

static int on_header(nghttp2_session *ng, const nghttp2_frame *f,
                     const uint8_t *name, size_t nl, const uint8_t *value,
                     size_t vl, uint8_t flags, void *ud)
{
    (void)flags;
    (void)ng;
    h2conn *h = ud;
    h2s *s = stream_get(h, f->hd.stream_id);
    if (!s || s->malformed)
        return 0;
    if (f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        /* Trailers: ignored, but a pseudo-header there is malformed. */
        return nl && name[0] == ':' ? malformed(h, s) : 0;
    }
    if (s->started)
        return 0;
    s->hbytes += nl + vl + 32; /* RFC 9113 section 6.5.2 accounting */
    if (s->hbytes > h->cfg->max_header_list) {
        s->started = s->malformed = 1;                /* refused: no handler */
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets it */
    }
    if (nl && name[0] == ':')
        return pseudo_header(h, s, name, nl, value, vl);
    s->vf |= V_REGULAR;
    unsigned nc = 0xff, up = 0;
    for (size_t i = 0; i < nl; i++) {
        unsigned c = fclass[name[i]];
        nc &= c;
        up |= c;
    }
    if (!nl || !(nc & F_NAME))
        return up & F_UPPER ? malformed(h, s) : 0; /* bad name: dropped */
    if ((vl && (value[0] == ' ' || value[0] == '\t' || value[vl - 1] == ' ' ||
                value[vl - 1] == '\t')) ||
        !(fclass_all(value, vl) & F_VALUE))
        return 0; /* bad value: dropped */
    switch (nl) {
    case 2:
        if (name[0] == 't' && name[1] == 'e' &&
            !(vl == 8 && cio__http_ieq((const char *)value, 8, "trailers")))
            return malformed(h, s);
        break;
    case 4:
        if (!memcmp(name, "host", 4)) {
            if ((s->vf & V_HOST) || !vl)
                return malformed(h, s);
            if (!(fclass_all(value, vl) & F_AUTH))
                return 0; /* dropped, as a bad value */
            s->vf |= V_HOST;
        }
        break;
    case 6:
        if (!memcmp(name, "cookie", 6)) {
            if ((s->cookie.len && cio__hbuf_append(&s->cookie, "; ", 2) < 0) ||
                cio__hbuf_append(&s->cookie, value, vl) < 0)
                return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
            return 0;
        }
        break;
    case 7:
        if (!memcmp(name, "upgrade", 7))
            return malformed(h, s);
        break;
    case 10:
        if (!memcmp(name, "connection", 10) || !memcmp(name, "keep-alive", 10))
            return malformed(h, s);
        break;
    case 14:
        if (!memcmp(name, "content-length", 14)) {
            if (s->clen >= 0 || !vl || vl > 18)
                return malformed(h, s);
            int64_t v = 0;
            for (size_t i = 0; i < vl; i++) {
                if (value[i] < '0' || value[i] > '9')
                    return malformed(h, s);
                v = v * 10 + (value[i] - '0');
            }
            s->clen = v;
        }
        break;
    case 16:
        if (!memcmp(name, "proxy-connection", 16))
            return malformed(h, s);
        break;
    case 17:
        if (!memcmp(name, "transfer-encoding", 17))
            return malformed(h, s);
        break;
    }
    /* Room for the joined cookie and a Host made from :authority. */
    if (s->nh + 2 >= CIO__HTTP_MAX_HEADERS_CAP ||
        s->nh >= h->c->app->lim.max_headers) {
        s->bad = 431;
        return 0;
    }
    /* Name and value, each NUL-terminated, with one reservation. */
    size_t at = s->hb.len;
    if (s->hb.cap - at < nl + vl + 2 &&
        cio__hbuf_reserve(&s->hb, nl + vl + 2) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    char *p = s->hb.p + at;
    memcpy(p, name, nl);
    p[nl] = '\0';
    memcpy(p + nl + 1, value, vl);
    p[nl + 1 + vl] = '\0';
    s->hb.len = at + nl + vl + 2;
    s->hx[s->nh++] = (hoff){(uint32_t)at, (uint32_t)nl, (uint32_t)(at + nl + 1),
                            (uint32_t)vl};
    return 0;
}

static int on_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id,
                         const uint8_t *data, size_t len, void *ud)
{
    (void)flags;
    h2conn *h = ud;
    (void)ng;
    h2s *s = stream_get(h, id);
    if (!s || s->malformed)
        return 0;
    s->rlen += len;
    if (s->clen >= 0 && s->rlen > (uint64_t)s->clen)
        return malformed(h, s); /* more DATA than content-length */
    if (s->bad || s->started)
        return 0;
    if (s->body.len + len > h->c->app->cfg.max_body ||
        h->body_bytes + len > 4 * (size_t)h->c->app->cfg.max_body) {
        /* One body over max_body, or the connection's bodies together
         * over four times it: 413. */
        s->bad = 413;
        h->body_bytes -= s->body.len;
        cio__hbuf_free(&s->body);
        /* Answer now; the rest of the body is read and dropped. */
        return stream_start(s) < 0 ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
    }
    if (cio__hbuf_append(&s->body, data, len) < 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    h->body_bytes += len;
    return 0;
}

static void count_reset(h2conn *h)
{
    int64_t now = cio_loop_time(h->c->srv->loop);
    if (now - h->reset_start > h->cfg->reset_window) {
        h->reset_start = now;
        h->resets = 0;
    }
    if (++h->resets > h->cfg->max_resets && !h->goaway) {
        h->goaway = 1;
        nghttp2_session_terminate_session(h->ng, NGHTTP2_ENHANCE_YOUR_CALM);
    }
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    h2conn *h = ud;
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        count_reset(h);
        return 0;
    }
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    h2s *s = stream_get(h, f->hd.stream_id);
    if (!s || s->malformed)
        return 0;
    int end = f->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (f->hd.type == NGHTTP2_HEADERS &&
        (f->headers.cat == NGHTTP2_HCAT_REQUEST ? !request_complete(s->vf)
                                                : !end)) /* trailers */
        return malformed(h, s);
    if (!end)
        return 0;
    if (s->clen >= 0 && s->rlen != (uint64_t)s->clen)
        return malformed(h, s); /* less DATA than content-length */
    if (s->started)
        return 0;
    if (stream_start(s) < 0)
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, s->id,
                                  NGHTTP2_INTERNAL_ERROR);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code,
                           void *ud)
{
    (void)code;
    h2conn *h = ud;
    h2s *s = stream_get(h, id);
    if (id == h->cur_id) {
        h->cur_id = 0;
        h->cur = NULL;
    }
    if (!s)
        return 0;
    nghttp2_session_set_stream_user_data(ng, id, NULL);
    s->closed = 1;
    if (s->task && cio_task_state_get(s->task) < CIO_TASK_DONE) {
        /* Reset (or ended) while its handler runs: cancel the handler. */
        s->reset = 1;
        cio_task_cancel(s->task, "HTTP/2 stream reset");
    }
    /* A suspended streamed write returns (only those wait on it). */
    if (s->mode == RES_STREAM)
        cio_event_set(&s->drained);
    stream_unref(s);
    return 0;
}

/* ---- responses ------------------------------------------------------------
 */

static ssize_t read_data(nghttp2_session *ng, int32_t id, uint8_t *buf,
                         size_t len, uint32_t *flags, nghttp2_data_source *src,
                         void *ud)
{
    (void)ng;
    (void)id;
    (void)ud;
    h2s *s = src->ptr;
    cio_http_response *res = &s->c.res;
    size_t n = 0;
    switch (s->mode) {
    case RES_BODY:
        n = res->body.len - s->off;
        if (n > len)
            n = len;
        memcpy(buf, res->body.p + s->off, n);
        s->off += n;
        if (s->off == res->body.len)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    case RES_FILE: {
        n = s->file_left < len ? (size_t)s->file_left : len;
        ssize_t r = n ? pread(res->file_fd, buf, n, (off_t)s->file_off) : 0;
        if (r < 0 || (n && r == 0))
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets it */
        s->file_off += (uint64_t)r;
        s->file_left -= (uint64_t)r;
        if (!s->file_left)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        return r;
    }
    default: /* RES_STREAM */
        n = s->sbuf.len - s->off;
        if (!n) {
            if (s->eof) {
                *flags |= NGHTTP2_DATA_FLAG_EOF;
                return 0;
            }
            s->deferred = 1;
            return NGHTTP2_ERR_DEFERRED;
        }
        if (n > len)
            n = len;
        memcpy(buf, s->sbuf.p + s->off, n);
        s->off += n;
        if (s->off == s->sbuf.len)
            s->off = s->sbuf.len = 0;
        cio_event_set(&s->drained);
        return (ssize_t)n;
    }
}

/* "Date" value, cached per second per thread. */
static const char *date_value(size_t *len)
{
    static _Thread_local char v[40];
    static _Thread_local size_t vl;
    static _Thread_local time_t sec = -1;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        vl = strftime(v, sizeof(v), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        sec = ts.tv_sec;
    }
    *len = vl;
    return v;
}

#define NV(n, nlen, v, vlen)                                                   \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), (nlen), (vlen),              \
                  NGHTTP2_NV_FLAG_NONE})
/* Name and value that outlive the HEADERS frame: nghttp2 copies neither. */
#define NVC(n, nlen, v, vlen)                                                  \
    ((nghttp2_nv){(uint8_t *)(n), (uint8_t *)(v), (nlen), (vlen),              \
                  NGHTTP2_NV_FLAG_NO_COPY_NAME |                               \
                      NGHTTP2_NV_FLAG_NO_COPY_VALUE})

static int hop_by_hop(const char *n, size_t nl)
{
    /* By length first: most names (content-type, ...) need no compare. */
    if (nl != 10 && nl != 16 && nl != 17 && nl != 7)
        return 0;
    return cio__http_ieq(n, nl, "connection") ||
           cio__http_ieq(n, nl, "keep-alive") ||
           cio__http_ieq(n, nl, "proxy-connection") ||
           cio__http_ieq(n, nl, "transfer-encoding") ||
           cio__http_ieq(n, nl, "upgrade");
}

/* Submits the response's HEADERS (and its data provider unless no body
 * goes out). mode: RES_BODY/RES_FILE/RES_STREAM. */
static int submit(h2s *s, int head_only)
{
    h2conn *h = s->h;
    cio_http_response *res = &s->c.res;
    int st = res->status;
    int no_body = st < 200 || st == 204 || st == 304;
    char *status = s->status_buf, *clen = s->clen_buf;
    status[0] = (char)('0' + st / 100 % 10);
    status[1] = (char)('0' + st / 10 % 10);
    status[2] = (char)('0' + st % 10);
    size_t nmax = 6 + res->hdrs.len / 4;
    nghttp2_nv stack_nv[32];
    nghttp2_nv *nv = nmax <= 32 ? stack_nv : malloc(nmax * sizeof(*nv));
    /* Lower-cased names: a copy of the header block. */
    char stack_lb[1024];
    char *lb =
        res->hdrs.len <= sizeof(stack_lb) ? stack_lb : malloc(res->hdrs.len);
    if (!nv || !lb) {
        if (nv != stack_nv)
            free(nv);
        if (lb != stack_lb)
            free(lb);
        return -ENOMEM;
    }
    size_t n = 0, dl;
    const char *date = date_value(&dl);
    /* No copies: the names are literals; :status and content-length live
     * in the stream, the content type in the response (a literal or its
     * ctype_buf), both until the stream is closed; the date is the
     * thread's buffer, rewritten at most once a second with a value of
     * the same length (nghttp2 may encode the newer one). */
    nv[n++] = NVC(":status", 7, status, 3);
    nv[n++] = NVC("server", 6, "cio", 3);
    nv[n++] = NVC("date", 4, date, dl);
    if (res->ctype && !no_body)
        nv[n++] = NVC("content-type", 12, res->ctype,
                      res->ctype_len ? res->ctype_len : strlen(res->ctype));
    if (!no_body && s->mode != RES_STREAM) {
        uint64_t v = s->mode == RES_FILE ? res->file_len : res->body.len;
        size_t cl = sizeof(s->clen_buf);
        do
            clen[--cl] = (char)('0' + v % 10);
        while ((v /= 10) && cl > 0);
        nv[n++] =
            NVC("content-length", 14, clen + cl, sizeof(s->clen_buf) - cl);
    }
    if (res->hdrs.len)
        memcpy(lb, res->hdrs.p, res->hdrs.len);
    for (size_t i = 0; i < res->hdrs.len && n < nmax;) {
        char *line = lb + i;
        char *end = memchr(line, '\r', res->hdrs.len - i);
        size_t ll = end ? (size_t)(end - line) : res->hdrs.len - i;
        i += ll + 2;
        char *colon = memchr(line, ':', ll);
        if (!colon)
            continue;
        size_t nl = (size_t)(colon - line);
        for (size_t k = 0; k < nl; k++)
            if (line[k] >= 'A' && line[k] <= 'Z')
                line[k] = (char)(line[k] + 32);
        const char *v = colon + 1;
        size_t vl = ll - nl - 1;
        while (vl && *v == ' ')
            v++, vl--;
        if (hop_by_hop(line, nl))
            continue;
        nv[n++] = NV(line, nl, v, vl);
    }
    nghttp2_data_provider dp = {.source.ptr = s, .read_callback = read_data};
    int with_body =
        !no_body && !head_only &&
        (s->mode == RES_STREAM ||
         (s->mode == RES_FILE ? res->file_len > 0 : res->body.len > 0));
    int r =
        nghttp2_submit_response(h->ng, s->id, nv, n, with_body ? &dp : NULL);
    if (nv != stack_nv)
        free(nv);
    if (lb != stack_lb)
        free(lb);
    wake(h);
    return r < 0 ? CIO_EHTTP_GOAWAY : 0;
}

/* ---- the app on a stream (server.c's dispatch, for HTTP/2) -------------- */

static void handler_failed(h2s *s, int r)
{
    if (r <= -400 && r >= -599) { /* the handler asked for this answer */
        cio__http_server_error(&s->c, -r, NULL);
        return;
    }
    const cio__http_msg *m = &s->c.req.msg;
    fprintf(stderr, "cio-http: %s %.*s: handler %s (HTTP/2)\n",
            s->c.app->name ? s->c.app->name : "app", (int)m->target_len,
            m->target, r < 0 ? cio_strerror(r) : "set no response");
    cio__http_server_error(&s->c, 500, NULL);
}

static void access_log(h2s *s, int status, size_t len)
{
    char addr[CIO_ADDRSTRLEN] = "-";
    cio_sockaddr_format(&s->c.req.peer, addr, sizeof(addr));
    time_t now = time(NULL);
    struct tm tm;
    char when[64];
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    const cio__http_msg *m = &s->c.req.msg;
    printf("%s - - [%s] \"%.*s %.*s HTTP/2.0\" %d %zu\n", addr, when,
           (int)m->method_len, m->method, (int)m->target_len, m->target, status,
           len);
    fflush(stdout);
}

/* Builds the request object from the stream's fields. Returns 0 or an
 * HTTP status to answer. */
static int build_request(h2s *s)
{
    cio_http_request *req = &s->c.req;
    cio__http_msg *m = &req->msg;
    const char *b = s->hb.p;
    if (!(s->vf & V_METHOD) || !(s->vf & V_PATH) || !s->method.vl ||
        !s->path.vl)
        return 400;
    m->method = b + s->method.vo;
    m->method_len = s->method.vl;
    m->target = b + s->path.vo;
    m->target_len = s->path.vl;
    m->minor = 1;
    m->keep_alive = 1;
    m->headers = s->c.hdrs;
    m->headers_cap = CIO__HTTP_MAX_HEADERS_CAP;
    size_t n = 0;
    for (size_t i = 0; i < s->nh; i++)
        s->c.hdrs[n++] = (cio__http_header){b + s->hx[i].no, s->hx[i].nl,
                                            b + s->hx[i].vo, s->hx[i].vl};
    if (s->vf & V_AUTH) {
        m->host = b + s->authority.vo;
        m->host_len = s->authority.vl;
        if (!(s->vf & V_HOST))
            s->c.hdrs[n++] =
                (cio__http_header){"host", 4, m->host, m->host_len};
    }
    if (s->cookie.len)
        s->c.hdrs[n++] =
            (cio__http_header){"cookie", 6, s->cookie.p, s->cookie.len};
    m->nheaders = n;
    m->body = s->body.len ? CIO__HTTP_BODY_LENGTH : CIO__HTTP_BODY_NONE;
    m->content_length = s->body.len;
    req->body = s->body.p;
    req->body_len = s->body.len;
    /* Target: origin-form, or "*" for OPTIONS. */
    const char *t = m->target;
    size_t tl = m->target_len;
    if (t[0] != '/')
        return tl == 1 && t[0] == '*' ? 0 : 400;
    const char *q = memchr(t, '?', tl);
    req->path = t;
    req->path_len = q ? (size_t)(q - t) : tl;
    req->query = q ? q + 1 : "";
    req->query_len = q ? tl - req->path_len - 1 : 0;
    return 0;
}

/* Runs the app for the stream; leaves the response in s->c.res (or, for a
 * streamed one, ends it). Returns -ECANCELED when cancelled. */
static int run_app(h2s *s, int *head_only)
{
    cio_http_request *req = &s->c.req;
    cio_http_response *res = &s->c.res;
    cio_http_app *app = s->c.app;
    cio__http_msg *m = &req->msg;
    cio__http_response_reset(res);
    res->conn = &s->c;
    int bad = s->bad ? s->bad : build_request(s);
    if (bad) {
        cio_http_response_text(res, bad, cio__http_reason(bad));
        return 0;
    }
    unsigned mb = cio__http_method_bit(m->method, m->method_len);
    *head_only = mb == CIO__M_HEAD;
    char allow[96];
    route_target *t = NULL;
    int r;
    if (m->target_len == 1 && m->target[0] == '*') {
        if (mb != CIO__M_OPTIONS) {
            cio_http_response_text(res, 400, cio__http_reason(400));
            return 0;
        }
        cio_http_response_empty(res, 204);
        cio__http_allow_list(0x1ff, allow, sizeof(allow));
        cio_http_response_header(res, "Allow", allow);
        return 0;
    }
    if (mb == CIO__M_OTHER) {
        cio_http_response_text(res, 501, "501 Not Implemented\n");
        return 0;
    }
    cio__router_lookup(app->router, mb, req->path, req->path_len, &req->match);
    if (req->match.status) {
        cio__http_allow_list(req->match.allow, allow, sizeof(allow));
        cio__http_server_error(&s->c, req->match.status,
                               req->match.status == 405 ? allow : NULL);
        goto response_mw;
    }
    if (!req->match.handler) {
        cio_http_response_empty(res, 204);
        cio__http_allow_list(req->match.allow, allow, sizeof(allow));
        cio_http_response_header(res, "Allow", allow);
        goto response_mw;
    }
    t = req->match.handler;
    s->c.keep_alive = &s->c.idle; /* "inside a handler" for streaming */
    r = cio__http_run_mw(&app->mw[CIO_HTTP_MW_REQUEST], 0, req, res);
    if (r == 0 && t->bp)
        r = cio__http_run_mw(&t->bp->mw[CIO_HTTP_MW_REQUEST], 0, req, res);
    if (r == 0)
        r = t->fn(req, res, t->arg);
    s->c.keep_alive = NULL;
    if (res->streaming) {
        if (app->cfg.access_log)
            access_log(s, res->status, (size_t)res->streamed);
        if (r < 0 || res->stream_err) {
            if (!s->closed)
                nghttp2_submit_rst_stream(s->h->ng, NGHTTP2_FLAG_NONE, s->id,
                                          NGHTTP2_INTERNAL_ERROR);
            wake(s->h);
            return r == -ECANCELED ? r : 0;
        }
        s->eof = 1;
        if (!s->closed && s->deferred) {
            s->deferred = 0;
            nghttp2_session_resume_data(s->h->ng, s->id);
        }
        wake(s->h);
        return 0;
    }
    if (r == -ECANCELED || s->closed)
        return -ECANCELED;
    if (r < 0 || !res->set)
        handler_failed(s, r);
response_mw:
    r = 0;
    if (t && t->bp)
        r = cio__http_run_mw(&t->bp->mw[CIO_HTTP_MW_RESPONSE], 1, req, res);
    if (r == 0)
        r = cio__http_run_mw(&app->mw[CIO_HTTP_MW_RESPONSE], 1, req, res);
    if (r == -ECANCELED || s->closed)
        return -ECANCELED;
    if (r < 0)
        handler_failed(s, r);
    return 0;
}

static int stream_main(void *arg, void **result)
{
    (void)result;
    h2s *s = arg;
    int head_only = 0;
    int r = run_app(s, &head_only);
    cio_http_response *res = &s->c.res;
    if (r == 0 && !res->streaming && !s->closed) {
        s->mode = res->has_file ? RES_FILE : RES_BODY;
        if (res->has_file) {
            s->file_off = res->file_off;
            s->file_left = res->file_len;
        }
        if (s->c.app->cfg.access_log && !s->bad)
            access_log(s, res->status,
                       res->has_file ? (size_t)res->file_len : res->body.len);
        r = submit(s, head_only);
        if (r < 0)
            nghttp2_submit_rst_stream(s->h->ng, NGHTTP2_FLAG_NONE, s->id,
                                      NGHTTP2_INTERNAL_ERROR);
    }
    /* The request's views and JSON go now; the response stays until
     * nghttp2 has sent it (the stream's last reference). */
    if (s->c.req.json) {
        cJSON_Delete(s->c.req.json);
        s->c.req.json = NULL;
    }
    cio__arena_reset(&s->c.arena);
    return r == -ECANCELED ? r : 0;
}

static int stream_task_done(cio_future *f, void *arg)
{
    (void)f;
    h2s *s = arg;
    h2conn *h = s->h;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->ntasks--;
    h->last_act = cio_loop_time(h->c->srv->loop);
    cio_future_release(s->task);
    s->task = NULL;
    stream_unref(s);
    if (h->goaway || h->c->srv->closing)
        wake(h); /* the connection may be able to end */
    return 0;
}

static int stream_start(h2s *s)
{
    h2conn *h = s->h;
    s->started = 1;
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "http2-stream";
    /* Eager: the handler runs now, inside nghttp2's callback (submitting
     * a response there is allowed), up to its first suspension. A handler
     * that answers at once never queues and gives its stack back at once,
     * so the loop's stack pool is not outrun by hundreds of streams
     * arriving in one read (each stack beyond the pool is an mmap and a
     * munmap). */
    o.eager = 1;
    int r = cio_task_create(h->c->srv->loop, CIO_CORO(stream_main, s), &o,
                            &s->task);
    if (r < 0)
        return r;
    if (cio_task_state_get(s->task) >= CIO_TASK_DONE) {
        /* It answered without suspending: nothing to track. */
        cio_future_release(s->task);
        s->task = NULL;
        return 0;
    }
    s->refs++;
    h->ntasks++;
    s->next = h->streams;
    if (s->next)
        s->next->prev = s;
    h->streams = s;
    if (cio_future_add_done_callback(s->task, stream_task_done, s) < 0) {
        cio_task_cancel(s->task, NULL);
        return -ENOMEM; /* the stream is reset; the task ends cancelled */
    }
    return 0;
}

/* ---- streamed responses (cio_http_response_stream / _write) ------------ */

int cio__h2_response_stream(cio_http_response *res, int status,
                            const char *content_type)
{
    h2s *s = res->conn->h2s;
    if (content_type)
        for (const char *p = content_type; *p; p++)
            if (*p == '\r' || *p == '\n')
                return -EINVAL;
    if (res->streaming)
        return -EBUSY;
    if (!s->c.keep_alive)
        return -EINVAL; /* not inside a handler */
    if (s->closed)
        return CIO_EHTTP_RST_STREAM;
    cio__http_response_close_file(res);
    res->body.len = 0;
    res->status = status;
    res->ctype = NULL;
    res->set = 1;
    if (content_type) {
        int r = cio_http_response_header(res, "Content-Type", content_type);
        if (r < 0)
            return r;
    } else {
        res->ctype = "text/plain; charset=utf-8";
    }
    res->streaming = 1;
    s->mode = RES_STREAM;
    unsigned mb =
        cio__http_method_bit(s->c.req.msg.method, s->c.req.msg.method_len);
    s->head_only = mb == CIO__M_HEAD;
    int r = submit(s, s->head_only);
    if (r < 0)
        res->stream_err = r;
    return r;
}

int cio__h2_response_write(cio_http_response *res, const void *data, size_t len)
{
    h2s *s = res->conn->h2s;
    h2conn *h = s->h;
    if (res->stream_err)
        return res->stream_err;
    if (s->closed)
        return res->stream_err = CIO_EHTTP_RST_STREAM;
    if (h->dead || h->done)
        return res->stream_err = CIO_EHTTP_GOAWAY;
    if (len == 0 || s->head_only)
        return 0;
    /* Back-pressure: wait while the stream has STREAM_HIGH bytes queued. */
    if (s->sbuf.len - s->off >= STREAM_HIGH) {
        cio_timeout t;
        int r = cio_timeout_begin(&t, s->c.app->cfg.write_timeout);
        while (r == 0 && s->sbuf.len - s->off >= STREAM_HIGH && !s->closed &&
               !h->dead && !h->done) {
            cio_event_clear(&s->drained);
            r = cio_event_wait(&s->drained);
        }
        r = cio_timeout_end(&t, r);
        if (r < 0)
            return res->stream_err = r;
        if (s->closed)
            return res->stream_err = CIO_EHTTP_RST_STREAM;
        if (h->dead || h->done)
            return res->stream_err = CIO_EHTTP_GOAWAY;
    }
    if (s->off && s->off == s->sbuf.len)
        s->off = s->sbuf.len = 0;
    if (cio__hbuf_append(&s->sbuf, data, len) < 0)
        return -ENOMEM;
    res->streamed += len;
    if (s->deferred) {
        s->deferred = 0;
        nghttp2_session_resume_data(h->ng, s->id);
    }
    wake(h);
    return 0;
}

/* ---- the connection --------------------------------------------------------
 */

/* Sends what nghttp2 has queued. Returns 0 or -errno. Suspends. */
static int send_pending(h2conn *h)
{
    conn *c = h->c;
    for (;;) {
        c->out.len = 0;
        while (c->out.len < OUT_CHUNK) {
            const uint8_t *p;
            ssize_t n = nghttp2_session_mem_send(h->ng, &p);
            if (n < 0)
                return CIO_EHTTP_GOAWAY;
            if (n == 0)
                break;
            if (cio__hbuf_append(&c->out, p, (size_t)n) < 0)
                return -ENOMEM;
        }
        if (!c->out.len)
            return 0;
        struct iovec iov = {c->out.p, c->out.len};
        ssize_t w = cio__http_io_try_writev(&c->io, &iov, 1);
        if (w < 0)
            return (int)w;
        if ((size_t)w < c->out.len) {
            cio_timeout t;
            int r = cio_timeout_begin(&t, c->app->cfg.write_timeout);
            if (r == 0)
                r = cio_timeout_end(
                    &t, cio__http_io_writev_rest(&c->io, &iov, 1, (size_t)w));
            if (r < 0)
                return r;
        }
    }
}

/* One last write without waiting (the connection is being torn down). */
static void send_nowait(h2conn *h)
{
    conn *c = h->c;
    c->out.len = 0;
    const uint8_t *p;
    ssize_t n;
    while (c->out.len < OUT_CHUNK &&
           (n = nghttp2_session_mem_send(h->ng, &p)) > 0)
        if (cio__hbuf_append(&c->out, p, (size_t)n) < 0)
            break;
    struct iovec iov = {c->out.p, c->out.len};
    if (c->out.len)
        cio__http_io_try_writev(&c->io, &iov, 1);
    c->out.len = 0;
}

static int writer_main(void *arg, void **result)
{
    (void)result;
    h2conn *h = arg;
    for (;;) {
        cio_event_clear(&h->wake);
        h->woken = 0;
        /* Graceful close of the server: GOAWAY once, then end when the
         * streams are done. */
        if (h->c->srv->closing && !h->goaway) {
            h->goaway = 1;
            nghttp2_submit_goaway(
                h->ng, NGHTTP2_FLAG_NONE,
                nghttp2_session_get_last_proc_stream_id(h->ng),
                NGHTTP2_NO_ERROR, NULL, 0);
        }
        int r = send_pending(h);
        if (r < 0) {
            h->dead = 1;
            break;
        }
        /* The connection task waits in a read: idle lets the server's
         * close cancel it. */
        h->c->idle = h->nlive == 0;
        if ((h->goaway && h->nlive == 0) ||
            (!nghttp2_session_want_read(h->ng) &&
             !nghttp2_session_want_write(h->ng))) {
            h->dead = 1; /* nothing more to do: end the connection */
            break;
        }
        if (h->done)
            break;
        if (cio_event_wait(&h->wake) < 0) {
            /* Cancelled (the server's close ran out of time, or the
             * connection task was cancelled): GOAWAY if the server is
             * closing and whatever else is queued, without waiting. */
            if (h->c->srv->closing && !h->goaway) {
                h->goaway = 1;
                nghttp2_submit_goaway(
                    h->ng, NGHTTP2_FLAG_NONE,
                    nghttp2_session_get_last_proc_stream_id(h->ng),
                    NGHTTP2_NO_ERROR, NULL, 0);
            }
            send_nowait(h);
            break;
        }
    }
    /* Unblock the reader. */
    if (!h->done)
        cio__http_io_shutdown(&h->c->io);
    if (h->dead && !h->done)
        cio_task_cancel(h->c->task, "HTTP/2 connection ended");
    return 0;
}

/* base64url (RFC 4648 section 5, padding optional) of HTTP2-Settings. */
static long b64url_decode(uint8_t *out, const char *in, size_t n)
{
    uint32_t acc = 0;
    int bits = 0;
    long o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)in[i], v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '-' || c == '+')
            v = 62;
        else if (c == '_' || c == '/')
            v = 63;
        else if (c == '=')
            break;
        else
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return o;
}

/* The class of a block of n <= POOL_MAX bytes: the smallest 64 << c >= n
 * (by the bit width of n - 1, not a loop). */
static unsigned pool_class(size_t n)
{
    if (n <= 64)
        return 0;
    return (unsigned)(64 - __builtin_clzll((unsigned long long)(n - 1))) - 6;
}

static void *pool_malloc(size_t n, void *ud)
{
    h2pool *p = ud;
    pblock *b;
    if (n > POOL_MAX) {
        if (n > SIZE_MAX - sizeof(pblock) ||
            !(b = malloc(sizeof(pblock) + n)))
            return NULL;
        b->h.cls = POOL_CLASSES;
        return b + 1;
    }
    unsigned c = pool_class(n);
    b = p->free[c];
    if (b) {
        p->free[c] = b->next;
        p->nfree[c]--;
    } else if (!(b = malloc(sizeof(pblock) + ((size_t)64 << c)))) {
        return NULL;
    }
    b->h.cls = c;
    return b + 1;
}

static void pool_free(void *ptr, void *ud)
{
    h2pool *p = ud;
    if (!ptr)
        return;
    pblock *b = (pblock *)ptr - 1;
    unsigned c = b->h.cls;
    if (c >= POOL_CLASSES || p->nfree[c] >= POOL_KEEP) {
        free(b);
        return;
    }
    b->next = p->free[c];
    p->free[c] = b;
    p->nfree[c]++;
}

static void *pool_calloc(size_t k, size_t n, void *ud)
{
    if (n && k > SIZE_MAX / n)
        return NULL;
    void *q = pool_malloc(k * n, ud);
    if (q)
        memset(q, 0, k * n);
    return q;
}

static void *pool_realloc(void *ptr, size_t n, void *ud)
{
    if (!ptr)
        return pool_malloc(n, ud);
    pblock *b = (pblock *)ptr - 1;
    if (b->h.cls < POOL_CLASSES && n <= ((size_t)64 << b->h.cls))
        return ptr; /* fits in its block */
    if (b->h.cls == POOL_CLASSES && n > POOL_MAX) {
        if (n > SIZE_MAX - sizeof(pblock))
            return NULL;
        pblock *nb = realloc(b, sizeof(pblock) + n);
        return nb ? nb + 1 : NULL;
    }
    /* between classes, or from libc into a class: copy. The old size is
     * only known for pooled blocks (their class); a libc block moving
     * into a class is at least POOL_MAX + 1 bytes, more than n. */
    void *q = pool_malloc(n, ud);
    if (!q)
        return NULL;
    size_t old = b->h.cls < POOL_CLASSES ? (size_t)64 << b->h.cls : n;
    memcpy(q, ptr, old < n ? old : n);
    pool_free(ptr, ud);
    return q;
}

static void pool_clear(h2pool *p)
{
    for (int c = 0; c < POOL_CLASSES; c++)
        while (p->free[c]) {
            pblock *b = p->free[c];
            p->free[c] = b->next;
            free(b);
        }
}

static int session_new(h2conn *h)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb,
                                                            on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb,
                                                              on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0) {
        nghttp2_session_callbacks_del(cb);
        return -ENOMEM;
    }
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    /* No RFC 7540 priority tree: closed streams need not be kept for it,
     * and SETTINGS_NO_RFC7540_PRIORITIES tells the peer (RFC 9218). */
    nghttp2_option_set_no_closed_streams(opt, 1);
    /* Request fields are checked by on_header/on_frame_recv (see "request
     * field checks" above), in the pass that stores them. */
    nghttp2_option_set_no_http_messaging(opt, 1);
    nghttp2_mem mem = {&h->pool, pool_malloc, pool_free, pool_calloc,
                       pool_realloc};
    /* nghttp2 copies mem; h->pool outlives the session (h2conn_free) */
    int r = nghttp2_session_server_new3(&h->ng, cb, h, opt, &mem);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    if (r != 0)
        return -ENOMEM;
    const cio_http2_config *g = h->cfg;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, g->max_concurrent_streams},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, g->max_header_list},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, g->initial_window},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, g->max_frame},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    if (nghttp2_submit_settings(h->ng, NGHTTP2_FLAG_NONE, iv,
                                sizeof(iv) / sizeof(iv[0])) != 0)
        return -ENOMEM;
    return 0;
}

/* The idle limit that applies now (see serve()); 0: none. */
static int64_t idle_limit(const h2conn *h)
{
    const cio_http_config *cfg = &h->c->app->cfg;
    return h->nlive == 0    ? cfg->keep_alive_timeout
           : h->ntasks == 0 ? cfg->body_timeout
                            : 0;
}

/* How far ahead the watchdog looks: the limit, or (none applies now) the
 * shorter of the two, to check again. */
static int64_t watch_limit(const h2conn *h)
{
    int64_t l = idle_limit(h);
    if (l)
        return l;
    const cio_http_config *cfg = &h->c->app->cfg;
    return cfg->keep_alive_timeout < cfg->body_timeout ? cfg->keep_alive_timeout
                                                       : cfg->body_timeout;
}

static int watchdog(void *arg);

static void watchdog_arm(h2conn *h, int64_t when)
{
    if (cio_loop_call_at(h->c->srv->loop, when, watchdog, h, &h->wd) == 0)
        h->wd_at = when;
}

/* One timer per connection instead of a timeout scope per read (a timer
 * inserted and removed for every read cost about 10 % of the server's CPU
 * under h2load): it fires at the earliest possible deadline, and if the
 * peer was heard from since, or a handler runs, it re-arms; when the
 * deadline passed while the connection task waits in its read, it cancels
 * that read, which serve() turns into -ETIMEDOUT. */
static int watchdog(void *arg)
{
    h2conn *h = arg;
    h->wd_at = 0;
    if (!h->in_read || h->timed_out)
        return 0; /* not reading: the next read arms it again */
    int64_t now = cio_loop_time(h->c->srv->loop);
    int64_t lim = idle_limit(h);
    if (!lim || now < h->last_act + lim) {
        watchdog_arm(h, lim ? h->last_act + lim : now + watch_limit(h));
        return 0;
    }
    h->timed_out = 1;
    cio_task_cancel(h->c->task, NULL);
    return 0;
}

/* Hands received bytes to nghttp2. Returns 0, or -1 after a fatal error
 * (flood, bad preface, CONTINUATION flood, protocol error): nghttp2 reads
 * no more, and the peer is told why with GOAWAY. */
static int feed(h2conn *h, const char *p, size_t n)
{
    ssize_t u = nghttp2_session_mem_recv(h->ng, (const uint8_t *)p, n);
    if (u >= 0)
        return 0;
    if (!h->goaway) {
        h->goaway = 1;
        nghttp2_session_terminate_session(
            h->ng,
            u == NGHTTP2_ERR_FLOODED || u == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                ? NGHTTP2_ENHANCE_YOUR_CALM
                : NGHTTP2_PROTOCOL_ERROR);
    }
    return -1;
}

/* The connection ends: streams closed from now on are freed, not kept
 * (h->done), and every running handler is cancelled. serve() and the fuzz
 * entry then wait for h->ntasks to reach 0. */
static void cancel_handlers(h2conn *h)
{
    h->done = 1;
    for (h2s *s = h->streams; s; s = s->next)
        if (s->task)
            cio_task_cancel(s->task, "HTTP/2 connection closed");
}

/* Runs the connection until it ends; `from` bytes of c->in are already
 * HTTP/2 input. */
static int serve(h2conn *h, size_t from)
{
    conn *c = h->c;
    int rc = 0;
    cio__http_io_nodelay(&c->io);
    h->last_act = cio_loop_time(c->srv->loop);
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.name = "http2-writer";
    int r =
        cio_task_create(c->srv->loop, CIO_CORO(writer_main, h), &o, &h->writer);
    if (r < 0)
        return r;
    /* Input already received (after the preface check or the upgrade). */
    size_t pending = c->in.len - from;
    int fr = pending ? feed(h, c->in.p + from, pending) : 0;
    c->in.len = c->in_start = 0;
    wake(h);
    while (!h->dead && fr == 0) {
        if (!nghttp2_session_want_read(h->ng))
            break;
        if (cio__hbuf_reserve(&c->in, READ_CHUNK) < 0) {
            rc = -ENOMEM;
            break;
        }
        ssize_t n;
        /* Deadlines (watchdog() below): with no open stream,
         * keep_alive_timeout, then GOAWAY, gracefully; with open streams
         * but no handler running (request bodies or window updates
         * awaited), body_timeout without a byte from the peer ends the
         * connection; while handlers run, none. */
        if (!h->wd_at)
            watchdog_arm(h, cio_loop_time(c->srv->loop) + watch_limit(h));
        h->in_read = 1;
        n = cio__http_io_read(&c->io, c->in.p, c->in.cap);
        h->in_read = 0;
        if (h->timed_out) {
            h->timed_out = 0;
            /* Withdraw the watchdog's cancellation; if it was the only
             * one, the read timed out. */
            if (cio_task_uncancel(c->task) == 0 && n == -ECANCELED)
                n = -ETIMEDOUT;
        }
        if (n > 0)
            h->last_act = cio_loop_time(c->srv->loop);
        if (n == -ETIMEDOUT && !h->goaway) {
            /* GOAWAY, then end once it left (the writer ends the
             * connection when no stream is left; a stalled stream ends
             * it now). */
            h->goaway = 1;
            nghttp2_submit_goaway(
                h->ng, NGHTTP2_FLAG_NONE,
                nghttp2_session_get_last_proc_stream_id(h->ng),
                NGHTTP2_NO_ERROR, NULL, 0);
            wake(h);
            if (h->nlive == 0)
                continue;
            break;
        }
        if (n <= 0) {
            if (n == -ECANCELED && !h->dead)
                rc = n; /* the server's close (or our writer's end) */
            break;
        }
        fr = feed(h, c->in.p, (size_t)n);
        wake(h);
    }
    /* End: let the writer flush what is queued (GOAWAY included), then
     * stop the handlers and wait for them (they use h). */
    if (h->wd_at)
        cio_handle_cancel(c->srv->loop, h->wd);
    h->wd_at = 0;
    cancel_handlers(h);
    wake(h);
    if (rc == -ECANCELED) /* no waiting for a slow peer: flush what the
                           * socket takes now */
        cio_task_cancel(h->writer, NULL);
    while (cio_task_state_get(h->writer) < CIO_TASK_DONE)
        if (cio_await(h->writer, NULL) == -ECANCELED)
            cio_task_cancel(h->writer, NULL); /* cancelled again: no flush */
    while (h->ntasks > 0)
        cio_sleep(CIO_MS); /* the handlers' done callbacks */
    cio_future_release(h->writer);
    if (h->goaway && rc == 0) {
        /* Lingering close: a peer still sending would get a reset that
         * discards the GOAWAY before it reads it. Write side shut, input
         * drained for up to a second. */
        cio__http_io_shutdown(&c->io);
        int64_t until = cio_loop_time(c->srv->loop) + CIO_SEC;
        for (int i = 0; i < 64; i++) {
            cio_timeout t;
            if (cio_timeout_begin_at(&t, until) < 0)
                break;
            ssize_t n = cio__http_io_read(&c->io, c->in.p, c->in.cap);
            if (cio_timeout_end(&t, (int)n) <= 0)
                break;
        }
    }
    return rc;
}

static void h2conn_free(h2conn *h)
{
    h->done = 1; /* streams closed now are freed, not kept */
    if (h->ng)
        nghttp2_session_del(h->ng); /* closes the streams: on_stream_close */
    while (h->all) { /* streams nghttp2 dropped without closing */
        h2s *s = h->all;
        s->refs = 1;
        if (s->c.req.json)
            cio__http_request_done(&s->c.req);
        stream_unref(s); /* h->done: freed */
    }
    while (h->free) {
        h2s *s = h->free;
        h->free = s->next;
        stream_free(s);
    }
    pool_clear(&h->pool); /* after the session gave its blocks back */
    cio_event_destroy(&h->wake);
    free(h);
}

static h2conn *h2conn_new(conn *c)
{
    h2conn *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->c = c;
    h->cfg = &c->app->h2;
    cio_event_init(&h->wake);
    if (session_new(h) < 0) {
        h2conn_free(h);
        return NULL;
    }
    return h;
}

int cio__h2_serve(conn *c)
{
    h2conn *h = h2conn_new(c);
    if (!h)
        return -ENOMEM;
    int r = serve(h, c->in_start);
    h2conn_free(h);
    return r;
}

/* The HTTP/1.1 request parsed in c becomes stream 1. */
static int upgrade_stream(h2conn *h, conn *c)
{
    h2s *s = stream_new(h, 1);
    if (!s)
        return -ENOMEM;
    const cio__http_msg *m = &c->req.msg;
    long mo = hb_put(s, m->method, m->method_len);
    long po = hb_put(s, m->target, m->target_len);
    if (mo < 0 || po < 0)
        goto nomem;
    s->method = (hoff){0, 0, (uint32_t)mo, (uint32_t)m->method_len};
    s->path = (hoff){0, 0, (uint32_t)po, (uint32_t)m->target_len};
    s->vf |= V_METHOD | V_PATH;
    for (size_t i = 0; i < m->nheaders; i++) {
        const cio__http_header *hd = &m->headers[i];
        if (hop_by_hop(hd->name, hd->name_len) ||
            cio__http_ieq(hd->name, hd->name_len, "http2-settings") ||
            s->nh + 2 >= CIO__HTTP_MAX_HEADERS_CAP)
            continue;
        char lname[256];
        size_t nl =
            hd->name_len < sizeof(lname) ? hd->name_len : sizeof(lname) - 1;
        for (size_t k = 0; k < nl; k++)
            lname[k] = (char)(hd->name[k] >= 'A' && hd->name[k] <= 'Z'
                                  ? hd->name[k] + 32
                                  : hd->name[k]);
        if (nl == 4 && !memcmp(lname, "host", 4)) {
            s->vf |= V_HOST;
            long ao = hb_put(s, hd->value, hd->value_len);
            if (ao < 0)
                goto nomem;
            s->authority = (hoff){0, 0, (uint32_t)ao, (uint32_t)hd->value_len};
            s->vf |= V_AUTH;
        }
        long no = hb_put(s, lname, nl);
        long vo = no < 0 ? -1 : hb_put(s, hd->value, hd->value_len);
        if (vo < 0)
            goto nomem;
        s->hx[s->nh++] = (hoff){(uint32_t)no, (uint32_t)nl, (uint32_t)vo,
                                (uint32_t)hd->value_len};
    }
    if (c->req.body_len &&
        cio__hbuf_append(&s->body, c->req.body, c->req.body_len) < 0)
        goto nomem;
    nghttp2_session_set_stream_user_data(h->ng, 1, s);
    if (stream_start(s) < 0) {
        nghttp2_submit_rst_stream(h->ng, NGHTTP2_FLAG_NONE, 1,
                                  NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    return 0;
nomem:
    stream_unref(s);
    return -ENOMEM;
}

int cio__h2_upgrade(conn *c, size_t end, int *rc)
{
    cio_http_app *app = c->app;
    /* "h2c" is HTTP/2 over cleartext only (RFC 9113 3.1): on TLS, h2 is
     * agreed by ALPN and an Upgrade: h2c is ignored. */
    if (app->h2.upgrade < 0 || cio_socket_tls(c->io.sock))
        return 0;
    size_t ul, sl;
    const char *up = cio_http_request_header(&c->req, "Upgrade", 0, &ul);
    const char *set =
        cio_http_request_header(&c->req, "HTTP2-Settings", 0, &sl);
    /* "h2c" among the offered protocols, and exactly one HTTP2-Settings. */
    int h2c = 0;
    for (size_t i = 0; up && i + 3 <= ul; i++)
        if (cio__http_ieq(up + i, 3, "h2c") &&
            (i == 0 || up[i - 1] == ',' || up[i - 1] == ' ') &&
            (i + 3 == ul || up[i + 3] == ',' || up[i + 3] == ' '))
            h2c = 1;
    if (!h2c || !set ||
        cio_http_request_header(&c->req, "HTTP2-Settings", 1, NULL))
        return 0;
    uint8_t payload[256];
    if (sl > 4 * sizeof(payload) / 3)
        return 0;
    long pl = b64url_decode(payload, set, sl);
    if (pl < 0 || pl % 6)
        return 0;
    h2conn *h = h2conn_new(c);
    if (!h) {
        *rc = -ENOMEM;
        return 1;
    }
    unsigned mb =
        cio__http_method_bit(c->req.msg.method, c->req.msg.method_len);
    if (nghttp2_session_upgrade2(h->ng, payload, (size_t)pl, mb == CIO__M_HEAD,
                                 NULL) != 0) {
        h2conn_free(h);
        return 0;
    }
    /* 101 first (before the server's SETTINGS, which serve() sends). */
    static const char sw[] = "HTTP/1.1 101 Switching Protocols\r\n"
                             "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
    c->out.len = 0;
    cio__hbuf_append(&c->out, sw, sizeof(sw) - 1);
    struct iovec iov = {c->out.p, c->out.len};
    ssize_t w = cio__http_io_try_writev(&c->io, &iov, 1);
    int r = w < 0 ? (int)w
            : (size_t)w < c->out.len
                ? cio__http_io_writev_rest(&c->io, &iov, 1, (size_t)w)
                : 0;
    c->out.len = 0;
    if (r == 0)
        r = upgrade_stream(h, c);
    if (r == 0)
        r = serve(h, end);
    cio__http_request_done(&c->req);
    h2conn_free(h);
    *rc = r;
    return 1;
}

/* ---- fuzzing (tests/fuzz/fuzz_server_h2.c) ------------------------------
 *
 * One HTTP/2 server connection of app without a socket: the client
 * preface, then data (what a client sends after it) fed to the session in
 * pieces of `piece` bytes (0: at once), with everything the server would
 * send drained and dropped after each piece. Handlers run as in serve():
 * one eager task per complete request, on the calling task's loop; the
 * loop turns once after each piece so suspended handlers go on. At the
 * end the handlers still running are cancelled and awaited, as serve()
 * does, and the connection is freed. Must run in a task. Returns 0, or
 * -1 when nghttp2 ended the session (GOAWAY), -EINVAL, -ENOMEM. */
static void fuzz_drain(h2conn *h)
{
    const uint8_t *p;
    while (nghttp2_session_mem_send(h->ng, &p) > 0)
        ;
}

int cio__h2_server_fuzz(cio_http_app *app, const uint8_t *data, size_t len,
                        size_t piece)
{
    cio_loop *loop = cio_get_running_loop();
    if (!app || !loop || !cio_current_task())
        return -EINVAL;
    cio_http_server srv;
    memset(&srv, 0, sizeof(srv));
    srv.app = app;
    srv.loop = loop;
    conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->srv = &srv;
    c->app = app;
    c->task = cio_current_task();
    h2conn *h = h2conn_new(c);
    if (!h) {
        free(c);
        return -ENOMEM;
    }
    h->last_act = cio_loop_time(loop);
    int r = feed(h, preface, sizeof(preface) - 1);
    fuzz_drain(h);
    if (piece == 0)
        piece = len ? len : 1;
    for (size_t off = 0; r == 0 && off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        r = feed(h, (const char *)data + off, n);
        (void)cio_sleep(0); /* suspended handlers go on */
        fuzz_drain(h);
    }
    /* As serve() ends: handlers cancelled and awaited (their done
     * callbacks), then the session and streams go. */
    cancel_handlers(h);
    for (int i = 0; h->ntasks > 0; i++) {
        if (i == 1000)
            abort(); /* a handler that does not end: a hang in the server */
        (void)cio_sleep(0);
    }
    fuzz_drain(h);
    h2conn_free(h);
    free(c); /* its buffers (in, out) are only used by serve() */
    return r;
}
