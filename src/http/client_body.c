/*
 * client_body.c - the HTTP client's response side: reading the head with
 * the server's parser (parse.c, responses mode), the body's framing
 * (Content-Length, chunked, until close) with the same byte-exact decoder,
 * gzip/deflate decoding with zlib, and the read calls of the public API
 * (whole, text, JSON, chunks, lines). Every limit is checked before memory
 * grows: the head against max_head/max_headers, the decoded body against
 * max_body (after inflating, so a compression bomb stops at the limit),
 * a line against max_line.
 */

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

/* ---- receiving with deadlines ------------------------------------------ */

ssize_t cio__hc_recv(cio_http_client_response *r, hc_conn *c, size_t max)
{
    if (c->off == c->len)
        c->off = c->len = 0;
    if (c->len == c->cap) {
        if (c->off > 0) {
            memmove(c->buf, c->buf + c->off, c->len - c->off);
            c->len -= c->off;
            c->off = 0;
        }
        if (c->len == c->cap) {
            if (c->cap >= max)
                return CIO_EHTTPC_HEAD_TOO_LARGE;
            size_t cap = c->cap * 2 > max ? max : c->cap * 2;
            char *p = realloc(c->buf, cap);
            if (!p)
                return -ENOMEM;
            c->buf = p;
            c->cap = cap;
        }
    }
    int64_t dl = r->deadline;
    int read_dl = 0;
    if (r->sock_read > 0 && r->s) {
        int64_t t = cio_loop_time(r->s->loop) + r->sock_read;
        if (t < dl) {
            dl = t;
            read_dl = 1;
        }
    }
    if (dl == INT64_MAX)
        return c->io.recv(c->io.ctx, c->buf + c->len, c->cap - c->len);
    cio_timeout to;
    int rc = cio_timeout_begin_at(&to, dl);
    if (rc < 0)
        return rc;
    ssize_t n = c->io.recv(c->io.ctx, c->buf + c->len, c->cap - c->len);
    int e = cio_timeout_end(&to, n < 0 ? (int)n : 0);
    if (e == -ETIMEDOUT && cio_timeout_expired(&to))
        return read_dl ? CIO_EHTTPC_READ_TIMEOUT : CIO_EHTTPC_TIMEOUT;
    if (e < 0)
        return e;
    return n;
}

/* ---- the head ------------------------------------------------------------ */

/* Tells a smuggling attempt (both framings, or conflicting lengths) from
 * other malformed heads, for a clearer error. */
static int framing_conflict(const char *h, size_t n)
{
    int cl = 0, te = 0;
    const char *p = h, *e = h + n;
    while (p < e) {
        const char *nl = memchr(p, '\n', (size_t)(e - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(e - p);
        if (l > 15 && !strncasecmp(p, "content-length:", 15))
            cl++;
        if (l > 18 && !strncasecmp(p, "transfer-encoding:", 18))
            te++;
        p += l + 1;
    }
    return (cl && te) || cl > 1;
}

static int map_parse_error(int st, const char *h, size_t n)
{
    if (st == -431 || st == -414)
        return CIO_EHTTPC_HEAD_TOO_LARGE;
    if (st == -413)
        return CIO_EHTTPC_BODY_TOO_LARGE;
    if (framing_conflict(h, n))
        return CIO_EHTTPC_FRAMING;
    return CIO_EHTTPC_MALFORMED;
}

int cio__hc_read_head(cio_http_client_response *r, hc_conn *c, int want_100,
                      int *got_bytes)
{
    cio__http_header *hdrs =
        malloc(r->lim.p.max_headers * sizeof(cio__http_header));
    if (!hdrs)
        return -ENOMEM;
    size_t scan = c->off;
    size_t max = r->lim.p.max_head + 4096;
    int interim = 0;
    for (;;) {
        size_t avail = c->len - c->off;
        size_t end =
            avail ? cio__http_head_end(c->buf + c->off, avail, scan - c->off)
                  : 0;
        if (end || avail > r->lim.p.max_head) {
            cio__http_msg m;
            memset(&m, 0, sizeof(m));
            m.headers = hdrs;
            m.headers_cap = r->lim.p.max_headers;
            int fl = CIO__HTTP_PARSE_RESPONSE |
                     (r->head_req ? CIO__HTTP_PARSE_HEAD_REQ : 0);
            int st =
                cio__http_parse_head(c->buf + c->off, avail, fl, &r->lim.p, &m);
            if (st < 0) {
                int e = map_parse_error(st, c->buf + c->off, avail);
                const char *lf = memchr(c->buf + c->off, '\n', avail);
                if (st == -400 && (size_t)(lf ? lf - (c->buf + c->off)
                                              : (long)avail) >
                                      r->lim.p.max_request_line + 1)
                    e = CIO_EHTTPC_HEAD_TOO_LARGE; /* a status line too long */
                free(hdrs);
                return e;
            }
            if (st == 0 && avail > r->lim.p.max_head) {
                free(hdrs);
                return CIO_EHTTPC_HEAD_TOO_LARGE;
            }
            if (st > 0) {
                size_t hl = (size_t)st;
                if (m.status >= 100 && m.status < 200 && m.status != 101) {
                    c->off += hl; /* interim response */
                    scan = c->off;
                    if (++interim > 16) {
                        free(hdrs);
                        return CIO_EHTTPC_MALFORMED; /* an endless 1xx run */
                    }
                    if (m.status == 100 && want_100) {
                        free(hdrs);
                        r->status = 100;
                        return 0;
                    }
                    continue;
                }
                if (m.status == 101) {
                    free(hdrs);
                    return CIO_EHTTPC_MALFORMED; /* no upgrade asked */
                }
                char *head = malloc(hl + 1);
                if (!head) {
                    free(hdrs);
                    return -ENOMEM;
                }
                const char *base = c->buf + c->off;
                memcpy(head, base, hl);
                head[hl] = '\0';
                for (size_t i = 0; i < m.nheaders; i++) {
                    hdrs[i].name = head + (hdrs[i].name - base);
                    hdrs[i].value = head + (hdrs[i].value - base);
                }
                free(r->head);
                free(r->hdrs);
                r->head = head;
                r->hdrs = hdrs;
                r->nhdrs = m.nheaders;
                r->status = m.status;
                r->version = m.minor ? 11 : 10;
                r->reason = m.reason ? head + (m.reason - base) : head;
                r->reason_len = m.reason ? m.reason_len : 0;
                r->keep_alive = m.keep_alive;
                r->content_length = m.body == CIO__HTTP_BODY_LENGTH
                                        ? (int64_t)m.content_length
                                    : m.body == CIO__HTTP_BODY_NONE ? 0
                                                                    : -1;
                c->off += hl;
                memset(&r->bd, 0, sizeof(r->bd));
                cio__http_body_init(&r->bd, &m, &r->lim.p);
                r->raw_done = m.body == CIO__HTTP_BODY_NONE;
                r->conn = c;
                return 0;
            }
            scan = c->len; /* blank line seen but not yet parseable */
        } else {
            scan = c->len > 3 ? c->len - 3 : c->off;
            if (scan < c->off)
                scan = c->off;
        }
        size_t soff = scan - c->off;
        ssize_t n = cio__hc_recv(r, c, max);
        if (n < 0) {
            free(hdrs);
            return (int)n;
        }
        scan = c->off + soff;
        if (n == 0) {
            free(hdrs);
            return c->len > c->off ? CIO_EHTTPC_MALFORMED
                                   : CIO_EHTTPC_DISCONNECTED;
        }
        c->len += (size_t)n;
        *got_bytes = 1;
    }
}

/* ---- body framing -------------------------------------------------------- */

static void fail(cio_http_client_response *r, int e)
{
    if (!r->err)
        r->err = e;
    if (r->h2s)
        cio__hc_h2_release(r); /* RST_STREAM: the connection goes on */
    if (r->conn) {
        if (r->s) /* a stand-alone response (fuzz) does not own it */
            cio__hc_release_conn(r->s, r->conn, 0);
        r->conn = NULL;
    }
}

/* Next raw (still content-coded) piece of the body. 1, 0 at end, < 0. */
static int raw_next(cio_http_client_response *r, const char **d, size_t *n)
{
    if (r->h2s) {
        if (r->raw_done)
            return 0;
        int k = cio__hc_h2_raw_next(r, d, n);
        if (k == 0) /* the stream ended: its trailers were handed over */
            k = cio__hc_trailers_finish(r);
        if (k < 0)
            fail(r, k);
        return k;
    }
    for (;;) {
        if (r->raw_done)
            return 0;
        hc_conn *c = r->conn;
        if (!c)
            return r->err ? r->err : CIO_EHTTPC_DISCONNECTED;
        if (c->off < c->len) {
            const char *data;
            size_t dl;
            size_t tr0 = r->bd.trailers;
            long used = cio__http_body_decode(&r->bd, c->buf + c->off,
                                              c->len - c->off, &data, &dl);
            if (used < 0) {
                /* the decoder's only 431 is the trailer section's size */
                int e = used == -413   ? CIO_EHTTPC_BODY_TOO_LARGE
                        : used == -431 ? CIO_EHTTPC_TRAILERS_TOO_LARGE
                                       : CIO_EHTTPC_MALFORMED;
                fail(r, e);
                return e;
            }
            if (r->bd.trailers != tr0 &&
                !(r->bd.done && r->bd.trailers == 1)) {
                /* (an empty section, just "\r\n", allocates nothing) */
                /* the trailer bytes are the last ones consumed (the final
                 * LF, when the body ended, is not counted): kept raw,
                 * bounded by the decoder's max_trailers */
                size_t k = r->bd.trailers - tr0;
                size_t end = (size_t)used - (r->bd.done ? 1 : 0);
                cio__hc_buf_add(&r->trl, c->buf + c->off + end - k, k);
                if (r->trl.oom) {
                    fail(r, -ENOMEM);
                    return -ENOMEM;
                }
            }
            c->off += (size_t)used;
            if (r->bd.done) {
                int e = cio__hc_trailers_finish(r);
                if (e < 0) {
                    fail(r, e);
                    return e;
                }
                r->raw_done = 1;
            }
            if (dl) {
                *d = data;
                *n = dl;
                return 1;
            }
            continue;
        }
        ssize_t got = cio__hc_recv(r, c, c->cap);
        if (got < 0) {
            fail(r, (int)got);
            return (int)got;
        }
        if (got == 0) {
            if (r->bd.kind == CIO__HTTP_BODY_CLOSE) {
                r->raw_done = 1;
                r->keep_alive = 0;
                return 0;
            }
            fail(r, CIO_EHTTPC_DISCONNECTED);
            return CIO_EHTTPC_DISCONNECTED;
        }
        c->len += (size_t)got;
    }
}

int cio__hc_setup_decoding(cio_http_client_response *r, int decompress)
{
    if (!decompress)
        return 0;
    size_t n;
    const char *v =
        cio_http_client_response_header(r, "content-encoding", 0, &n);
    if (!v || r->raw_done)
        return 0;
    if (cio__http_ieq(v, n, "gzip") || cio__http_ieq(v, n, "x-gzip") ||
        cio__http_ieq(v, n, "deflate"))
        r->coding = 1;
    return 0;
}

/* Next decoded piece: raw, or inflated. */
static int dec_next(cio_http_client_response *r, const char **d, size_t *n)
{
    if (r->err)
        return r->err;
    if (r->eof_done)
        return 0;
    if (!r->coding) {
        int k = raw_next(r, d, n);
        if (k == 0)
            r->eof_done = 1;
        if (k > 0) {
            r->decoded += *n;
            if (r->decoded > r->lim.max_body) {
                fail(r, CIO_EHTTPC_BODY_TOO_LARGE);
                return CIO_EHTTPC_BODY_TOO_LARGE;
            }
        }
        return k;
    }
    if (!r->zinit) {
        memset(&r->z, 0, sizeof(r->z));
        r->zcap = 16384;
        r->zout = malloc(r->zcap);
        if (!r->zout || inflateInit2(&r->z, 15 + 32) != Z_OK) {
            fail(r, -ENOMEM);
            return -ENOMEM;
        }
        r->zinit = 1;
    }
    for (;;) {
        if (r->zinit == 2) { /* stream ended: drain the rest raw */
            const char *x;
            size_t xl;
            int k;
            while ((k = raw_next(r, &x, &xl)) > 0)
                ;
            if (k < 0)
                return k;
            r->eof_done = 1;
            return 0;
        }
        if (r->z.avail_in == 0) {
            const char *x;
            size_t xl;
            int k = raw_next(r, &x, &xl);
            if (k < 0)
                return k;
            if (k == 0) {
                fail(r, CIO_EHTTPC_DECODE); /* truncated stream */
                return CIO_EHTTPC_DECODE;
            }
            r->z.next_in = (Bytef *)(uintptr_t)x;
            r->z.avail_in = (uInt)xl;
        }
        r->z.next_out = (Bytef *)r->zout;
        r->z.avail_out = (uInt)r->zcap;
        int zr = inflate(&r->z, Z_NO_FLUSH);
        if (zr == Z_DATA_ERROR && r->z.total_out == 0 && r->z.total_in < 4) {
            /* "deflate" sent raw, without the zlib wrapper: retry raw */
            Bytef *in = r->z.next_in - r->z.total_in;
            uInt avail = r->z.avail_in + (uInt)r->z.total_in;
            inflateEnd(&r->z);
            memset(&r->z, 0, sizeof(r->z));
            if (inflateInit2(&r->z, -15) != Z_OK) {
                r->zinit = 0;
                fail(r, -ENOMEM);
                return -ENOMEM;
            }
            r->z.next_in = in;
            r->z.avail_in = avail;
            continue;
        }
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR) {
            fail(r, CIO_EHTTPC_DECODE);
            return CIO_EHTTPC_DECODE;
        }
        size_t out = r->zcap - r->z.avail_out;
        if (zr == Z_STREAM_END) {
            r->zinit = 2;
            r->z.avail_in = 0;
        }
        if (out) {
            r->decoded += out;
            if (r->decoded > r->lim.max_body) {
                fail(r, CIO_EHTTPC_BODY_TOO_LARGE);
                return CIO_EHTTPC_BODY_TOO_LARGE;
            }
            *d = r->zout;
            *n = out;
            return 1;
        }
    }
}

/* ---- public reads -------------------------------------------------------- */

int cio_http_client_response_read_chunk(cio_http_client_response *r,
                                        const char **data, size_t *len)
{
    if (!r || !data || !len)
        return -EINVAL;
    if (r->have_body)
        return CIO_EHTTPC_CONSUMED;
    r->streamed = 1;
    if (r->pend_len) { /* left over by readline */
        *data = r->pend;
        *len = r->pend_len;
        r->pend_len = 0;
        return 1;
    }
    return dec_next(r, data, len);
}

ssize_t cio_http_client_response_readline(cio_http_client_response *r,
                                          const char **line)
{
    if (!r || !line)
        return -EINVAL;
    if (r->have_body)
        return CIO_EHTTPC_CONSUMED;
    r->streamed = 1;
    r->line_len = 0;
    for (;;) {
        if (!r->pend_len) {
            int k = dec_next(r, &r->pend, &r->pend_len);
            if (k < 0)
                return k;
            if (k == 0) {
                *line = r->line;
                return (ssize_t)r->line_len;
            }
        }
        const char *nl = memchr(r->pend, '\n', r->pend_len);
        size_t take = nl ? (size_t)(nl - r->pend) + 1 : r->pend_len;
        if (r->line_len + take > r->lim.max_line) {
            fail(r, CIO_EHTTPC_LINE_TOO_LONG);
            return CIO_EHTTPC_LINE_TOO_LONG;
        }
        if (r->line_len + take + 1 > r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap : 256;
            while (cap < r->line_len + take + 1)
                cap *= 2;
            char *p = realloc(r->line, cap);
            if (!p)
                return -ENOMEM;
            r->line = p;
            r->line_cap = cap;
        }
        memcpy(r->line + r->line_len, r->pend, take);
        r->line_len += take;
        r->line[r->line_len] = '\0';
        r->pend += take;
        r->pend_len -= take;
        if (nl) {
            *line = r->line;
            return (ssize_t)r->line_len;
        }
    }
}

ssize_t cio_http_client_response_read_into(cio_http_client_response *r,
                                           void *buf, size_t cap)
{
    if (!r || !buf || !cap)
        return -EINVAL;
    if (r->have_body)
        return CIO_EHTTPC_CONSUMED;
    r->streamed = 1;
    if (!r->pend_len) { /* the next piece, kept until it is all copied */
        int k = dec_next(r, &r->pend, &r->pend_len);
        if (k <= 0)
            return k;
    }
    size_t n = r->pend_len < cap ? r->pend_len : cap;
    memcpy(buf, r->pend, n);
    r->pend += n;
    r->pend_len -= n;
    return (ssize_t)n;
}

int cio_http_client_response_read(cio_http_client_response *r, size_t max,
                                  const char **data, size_t *len)
{
    if (!r || !data || !len)
        return -EINVAL;
    if (r->have_body) {
        *data = r->body;
        *len = r->body_len;
        return 0;
    }
    if (r->streamed)
        return CIO_EHTTPC_CONSUMED;
    if (r->err)
        return r->err;
    if (max == 0)
        max = r->lim.max_body;
    hc_buf b = {0};
    if (r->content_length > 0 && !r->coding &&
        (uint64_t)r->content_length <= max) {
        cio__hc_buf_add(&b, "", 0);
        if (b.p) {
            char *p = realloc(b.p, (size_t)r->content_length + 1);
            if (p) {
                b.p = p;
                b.cap = (size_t)r->content_length + 1;
            }
        }
    }
    for (;;) {
        const char *d;
        size_t n;
        int k = dec_next(r, &d, &n);
        if (k < 0) {
            free(b.p);
            return k;
        }
        if (k == 0)
            break;
        if (b.len + n > max) {
            free(b.p);
            fail(r, CIO_EHTTPC_BODY_TOO_LARGE);
            return CIO_EHTTPC_BODY_TOO_LARGE;
        }
        cio__hc_buf_add(&b, d, n);
        if (b.oom) {
            free(b.p);
            fail(r, -ENOMEM);
            return -ENOMEM;
        }
    }
    if (!b.p) {
        b.p = malloc(1);
        if (!b.p)
            return -ENOMEM;
        b.p[0] = '\0';
    }
    r->body = b.p;
    r->body_len = b.len;
    r->have_body = 1;
    *data = r->body;
    *len = r->body_len;
    return 0;
}

const char *cio_http_client_response_text(cio_http_client_response *r, int *err)
{
    const char *d;
    size_t n;
    int e = cio_http_client_response_read(r, 0, &d, &n);
    if (err)
        *err = e < 0 ? e : 0;
    return e < 0 ? NULL : d;
}

const struct cJSON *cio_http_client_response_json(cio_http_client_response *r,
                                                  int *err)
{
    if (r && r->json) {
        if (err)
            *err = 0;
        return r->json;
    }
    const char *d;
    size_t n;
    int e = cio_http_client_response_read(r, 0, &d, &n);
    if (e < 0) {
        if (err)
            *err = e;
        return NULL;
    }
    r->json = cJSON_ParseWithLength(d, n);
    if (err)
        *err = r->json ? 0 : CIO_EHTTPC_JSON;
    return r->json;
}

int cio__hc_drain(cio_http_client_response *r, size_t max)
{
    size_t total = 0;
    for (;;) {
        const char *d;
        size_t n;
        int k = raw_next(r, &d, &n);
        if (k <= 0)
            return k;
        total += n;
        if (total > max)
            return CIO_EHTTPC_BODY_TOO_LARGE;
    }
}

int cio__hc_trailers_finish(cio_http_client_response *r)
{
    free(r->thdrs);
    r->thdrs = NULL;
    r->ntrl = 0;
    if (!r->trl.len)
        return 0;
    size_t lines = 0;
    for (size_t i = 0; i < r->trl.len; i++)
        lines += r->trl.p[i] == '\n';
    if (lines > r->lim.p.max_headers)
        return CIO_EHTTPC_TRAILERS_TOO_LARGE;
    if (!lines)
        return 0;
    r->thdrs = calloc(lines, sizeof(*r->thdrs));
    if (!r->thdrs)
        return -ENOMEM;
    /* "name: value\r\n" lines, checked by the decoder (HTTP/1.1) or
     * nghttp2 (HTTP/2); split in place: ':' and the CR become NULs */
    char *p = r->trl.p, *end = r->trl.p + r->trl.len;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            break; /* the final CR of an HTTP/1.1 section */
        if ((size_t)(nl - p) > r->lim.p.max_header_line + 1)
            return CIO_EHTTPC_TRAILERS_TOO_LARGE; /* a field as the head's */
        char *colon = memchr(p, ':', (size_t)(nl - p));
        if (colon && colon > p) {
            char *v = colon + 1, *ve = nl;
            if (ve > v && ve[-1] == '\r')
                ve--;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
                ve--;
            *colon = '\0';
            *ve = '\0';
            cio__http_header *h = &r->thdrs[r->ntrl++];
            h->name = p;
            h->name_len = (size_t)(colon - p);
            h->value = v;
            h->value_len = (size_t)(ve - v);
        }
        p = nl + 1;
    }
    return 0;
}

void cio__hc_response_clear(cio_http_client_response *r)
{
    free(r->trl.p);
    free(r->thdrs);
    if (r->zinit)
        inflateEnd(&r->z);
    r->zinit = 0;
    free(r->zout);
    free(r->head);
    free(r->hdrs);
    free(r->url);
    free(r->line);
    free(r->body);
    if (r->json)
        cJSON_Delete(r->json);
}

/* ---- accessors ----------------------------------------------------------- */

int cio_http_client_response_version(const cio_http_client_response *r)
{
    return r ? r->version : -EINVAL;
}

int cio_http_client_response_status(const cio_http_client_response *r)
{
    return r ? r->status : -EINVAL;
}

const char *cio_http_client_response_reason(const cio_http_client_response *r,
                                            size_t *len)
{
    if (len)
        *len = r ? r->reason_len : 0;
    return r ? r->reason : "";
}

const char *cio_http_client_response_url(const cio_http_client_response *r)
{
    return r ? r->url : NULL;
}

int cio_http_client_response_redirects(const cio_http_client_response *r)
{
    return r ? r->redirects : -EINVAL;
}

const char *cio_http_client_response_header(const cio_http_client_response *r,
                                            const char *name, size_t idx,
                                            size_t *len)
{
    if (!r || !name)
        return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->nhdrs; i++) {
        const cio__http_header *h = &r->hdrs[i];
        if (h->name_len == nl && !strncasecmp(h->name, name, nl) &&
            idx-- == 0) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

size_t cio_http_client_response_nheaders(const cio_http_client_response *r)
{
    return r ? r->nhdrs : 0;
}

int cio_http_client_response_header_at(const cio_http_client_response *r,
                                       size_t i, const char **name,
                                       size_t *name_len, const char **value,
                                       size_t *value_len)
{
    if (!r || i >= r->nhdrs || !name || !value)
        return -EINVAL;
    *name = r->hdrs[i].name;
    *value = r->hdrs[i].value;
    if (name_len)
        *name_len = r->hdrs[i].name_len;
    if (value_len)
        *value_len = r->hdrs[i].value_len;
    return 0;
}

int cio_http_client_response_ntrailers(const cio_http_client_response *r)
{
    if (!r)
        return -EINVAL;
    if (r->err)
        return r->err;
    if (!r->raw_done)
        return -EAGAIN;
    return (int)r->ntrl;
}

const char *cio_http_client_response_trailer(const cio_http_client_response *r,
                                             const char *name, size_t idx,
                                             size_t *len)
{
    if (!r || !name || r->err || !r->raw_done)
        return NULL;
    size_t nl = strlen(name);
    for (size_t i = 0; i < r->ntrl; i++) {
        const cio__http_header *h = &r->thdrs[i];
        if (h->name_len == nl && !strncasecmp(h->name, name, nl) &&
            idx-- == 0) {
            if (len)
                *len = h->value_len;
            return h->value;
        }
    }
    return NULL;
}

int cio_http_client_response_trailer_at(const cio_http_client_response *r,
                                        size_t i, const char **name,
                                        size_t *name_len, const char **value,
                                        size_t *value_len)
{
    if (!r || !name || !value || r->err || !r->raw_done || i >= r->ntrl)
        return -EINVAL;
    *name = r->thdrs[i].name;
    *value = r->thdrs[i].value;
    if (name_len)
        *name_len = r->thdrs[i].name_len;
    if (value_len)
        *value_len = r->thdrs[i].value_len;
    return 0;
}

int cio_http_client_response_raise_for_status(
    const cio_http_client_response *r)
{
    if (!r)
        return -EINVAL;
    return r->status >= 400 ? CIO_EHTTPC_STATUS : 0;
}

int64_t
cio_http_client_response_content_length(const cio_http_client_response *r)
{
    return r ? r->content_length : -1;
}

/* ---- the fuzz target's entry ----------------------------------------------
 */

typedef struct mem_io {
    const char *p;
    size_t len, off, step;
} mem_io;

static ssize_t mem_recv(void *ctx, void *buf, size_t n)
{
    mem_io *m = ctx;
    size_t k = m->len - m->off;
    if (k > n)
        k = n;
    if (k > m->step)
        k = m->step; /* odd splits exercise the state machines */
    memcpy(buf, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static int mem_send(void *ctx, const void *buf, size_t n)
{
    (void)ctx, (void)buf, (void)n;
    return 0;
}

static void mem_close(void *ctx)
{
    (void)ctx;
}

int cio__hc_fuzz_response(const char *data, size_t len, int head_req)
{
    int first = 0;
    /* small pieces only for small inputs: a 4 MiB bomb in 7-byte reads
     * would make each fuzz run take seconds */
    int modes = len <= 65536 ? 2 : 1;
    for (int mode = 0; mode < modes; mode++) {
        mem_io m = {data, len, 0, mode ? 7 : 4096};
        hc_conn c;
        memset(&c, 0, sizeof(c));
        c.io = (cio_http_transport){&m, mem_recv, mem_send, mem_close};
        c.cap = 1024;
        c.buf = malloc(c.cap);
        if (!c.buf)
            return -ENOMEM;
        cio_http_client_response r;
        memset(&r, 0, sizeof(r));
        cio__http_limits pl = CIO__HTTP_LIMITS_INIT;
        pl.max_head = 8192;
        pl.max_headers = 64;
        pl.max_body = UINT64_MAX;
        r.lim.p = pl;
        r.lim.max_body = 1 << 20;
        r.lim.max_line = 4096;
        r.head_req = head_req;
        r.deadline = INT64_MAX;
        int got = 0;
        int e = cio__hc_read_head(&r, &c, 0, &got);
        if (e == 0) {
            cio__hc_setup_decoding(&r, 1);
            const char *d;
            size_t n;
            if (mode == 0) {
                e = cio_http_client_response_read(&r, 0, &d, &n);
            } else {
                ssize_t k;
                while ((k = cio_http_client_response_readline(&r, &d)) > 0)
                    ;
                e = (int)k;
            }
            if (e == 0) { /* the trailers, as a caller reads them */
                int nt = cio_http_client_response_ntrailers(&r);
                const char *tn, *tv;
                for (int i = 0; i < nt; i++)
                    if (cio_http_client_response_trailer_at(
                            &r, (size_t)i, &tn, NULL, &tv, NULL) == 0)
                        (void)cio_http_client_response_trailer(&r, tn, 0,
                                                               NULL);
            }
        }
        /* fail() closes through the transport: a no-op here */
        free(c.buf);
        cio__hc_response_clear(&r);
        if (mode == 0)
            first = e;
    }
    return first;
}
