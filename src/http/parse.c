/*
 * parse.c - the HTTP/1.1 message parser (see parse.h for the contract).
 *
 * Strict on purpose (RFC 9112 and RFC 9110): a proxy in front of cio and
 * cio itself must never disagree on where a message ends, so anything that
 * two implementations might read two ways is refused rather than repaired:
 * bare CR or LF, obs-fold, whitespace before a colon, Content-Length lists
 * that differ, Transfer-Encoding with Content-Length or without a final
 * chunked, chunk sizes with signs, spaces or too many digits, control
 * characters in values, versions other than 1.0 and 1.1.
 *
 * Speed: one pass over the head with 256-entry class tables; the two long
 * runs (request-target and field values) are skipped 16 bytes at a time
 * with SSE4.2's PCMPESTRI range compare when the CPU has it (as
 * picohttpparser does), chosen at run time; the scalar loop finishes every
 * run and is the whole scan elsewhere. docs/design.md (HTTP) has the
 * measured difference.
 */
#include "parse.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>
#define HAVE_SSE42_PATH 1
#endif

/* Character classes. */
enum {
    C_TCHAR = 1,  /* token (RFC 9110 5.6.2) */
    C_VALUE = 2,  /* field-value octet: VCHAR, obs-text, SP, HTAB */
    C_TARGET = 4, /* request-target octet: VCHAR (no obs-text) */
    C_HEX = 8,
    C_HOST = 16 /* uri-host [":" port]: unreserved, sub-delims, ':[]%' */
};

static unsigned char cls[256];
static int cls_ready;
static int use_simd;

static void cls_init(void);

#ifdef HAVE_SSE42_PATH
/* Returns the first byte of p[0..end) that falls in one of the ranges
 * (pairs of bounds, nr bytes), looking only at whole 16-byte blocks: the
 * caller's scalar loop goes on from the returned position. */
__attribute__((target("sse4.2"))) static const char *
find_ranges_sse42(const char *p, const char *end, const char *ranges, int nr)
{
    __m128i r = _mm_loadu_si128((const __m128i *)(const void *)ranges);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        int idx = _mm_cmpestri(r, nr, v, 16,
                               _SIDD_UBYTE_OPS | _SIDD_CMP_RANGES |
                                   _SIDD_LEAST_SIGNIFICANT);
        if (idx != 16)
            return p + idx;
        p += 16;
    }
    return p;
}
#endif

/* Bytes that end a field value (CTLs but HTAB, and DEL), and a
 * request-target (CTLs, SP, DEL and obs-text); 16-byte arrays for the
 * unaligned load. */
static const char value_stops[16] = "\000\010\012\037\177\177";
static const char target_stops[16] = "\000\040\177\377";

static const char *skip_value(const char *p, const char *end)
{
#ifdef HAVE_SSE42_PATH
    if (use_simd)
        p = find_ranges_sse42(p, end, value_stops, 6);
#endif
    while (p < end && (cls[(unsigned char)*p] & C_VALUE))
        p++;
    return p;
}

static const char *skip_target(const char *p, const char *end)
{
#ifdef HAVE_SSE42_PATH
    if (use_simd)
        p = find_ranges_sse42(p, end, target_stops, 4);
#endif
    while (p < end && (cls[(unsigned char)*p] & C_TARGET))
        p++;
    return p;
}

int cio__http_parse_set_simd(int on)
{
    cls_init();
    int was = use_simd;
#ifdef HAVE_SSE42_PATH
    use_simd = on && __builtin_cpu_supports("sse4.2");
#else
    (void)on;
#endif
    return was;
}

static void cls_init(void)
{
    if (cls_ready)
        return;
    for (int c = 0; c < 256; c++) {
        unsigned char f = 0;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c)))
            f |= C_TCHAR;
        if (c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80)
            f |= C_VALUE;
        if (c >= 0x21 && c <= 0x7e)
            f |= C_TARGET;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
            (c >= 'A' && c <= 'F'))
            f |= C_HEX;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
            (c >= 'A' && c <= 'Z') || (c && strchr("-._~!$&'()*+,;=:[]%", c)))
            f |= C_HOST;
        cls[c] = f;
    }
#ifdef HAVE_SSE42_PATH
    /* CIO_HTTP_SIMD=0 in the environment forces the scalar scan. */
    const char *env = getenv("CIO_HTTP_SIMD");
    __builtin_cpu_init();
    use_simd = __builtin_cpu_supports("sse4.2") && !(env && env[0] == '0');
#endif
    /* Written once with the same values by any thread: benign, but make
     * the flag the last store. */
    __atomic_store_n(&cls_ready, 1, __ATOMIC_RELEASE);
}

int cio__http_is_tchar(unsigned char c)
{
    cls_init();
    return (cls[c] & C_TCHAR) != 0;
}

static unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

int cio__http_ieq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;
    for (; i < n; i++) {
        if (!lit[i] || lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return 0;
    }
    return lit[i] == '\0';
}

size_t cio__http_head_end(const char *buf, size_t len, size_t from)
{
    /* A blank line is "\n\r\n" (or "\n\n", rejected later by the parser,
     * which still needs to see it to say 400 instead of waiting). */
    if (from > 3)
        from -= 3;
    else
        from = 0;
    const char *p = buf + from, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return 0;
        const char *q = nl + 1;
        if (q < end && *q == '\n')
            return (size_t)(q + 1 - buf);
        if (q + 1 < end && q[0] == '\r' && q[1] == '\n')
            return (size_t)(q + 2 - buf);
        if (nl == buf && from == 0)
            return 1; /* a head starting with a bare LF: let it fail */
        p = q;
    }
    return 0;
}

static const char *find_lf(const char *p, const char *end)
{
    return memchr(p, '\n', (size_t)(end - p));
}

/* Parses "HTTP/d.d" at p (8 bytes available). Returns the minor version,
 * -505 for a well-formed other version, -400 otherwise. */
static int parse_version(const char *p)
{
    if (memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || p[5] < '0' ||
        p[5] > '9' || p[7] < '0' || p[7] > '9')
        return -400;
    if (p[5] != '1' || p[7] > '1')
        return -505;
    return p[7] - '0';
}

static int parse_request_line(const char *p, const char *eol,
                              cio__http_msg *m)
{
    const char *s = p;
    while (s < eol && (cls[(unsigned char)*s] & C_TCHAR))
        s++;
    if (s == p || s == eol || *s != ' ')
        return -400;
    m->method = p;
    m->method_len = (size_t)(s - p);
    const char *t = ++s;
    s = skip_target(s, eol);
    if (s == t || s == eol || *s != ' ')
        return -400;
    m->target = t;
    m->target_len = (size_t)(s - t);
    s++;
    if (eol - s != 8)
        return eol - s > 8 && memcmp(s, "HTTP/", 5) == 0 ? -400 : -400;
    int minor = parse_version(s);
    if (minor < 0)
        return minor;
    m->minor = minor;
    return 0;
}

static int parse_status_line(const char *p, const char *eol,
                             cio__http_msg *m)
{
    if (eol - p < 12)
        return -400;
    int minor = parse_version(p);
    if (minor < 0)
        return minor;
    m->minor = minor;
    if (p[8] != ' ')
        return -400;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -400;
        st = st * 10 + (p[i] - '0');
    }
    if (st < 100)
        return -400;
    m->status = st;
    const char *r = p + 12;
    if (r < eol) {
        if (*r != ' ')
            return -400;
        r++;
    }
    for (const char *q = r; q < eol; q++)
        if (!(cls[(unsigned char)*q] & C_VALUE))
            return -400;
    m->reason = r;
    m->reason_len = (size_t)(eol - r);
    return 0;
}

/* Content-Length value: 1#DIGIT list whose members are all equal. */
static int parse_content_length(const char *v, size_t n, uint64_t *out,
                                int *seen)
{
    const char *p = v, *end = v + n;
    int any = 0;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p == end)
            break;
        if (*p < '0' || *p > '9')
            return -400;
        uint64_t x = 0;
        int digits = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (++digits > 18) /* < 10^18: no overflow, far past any limit */
                return -400;
            x = x * 10 + (uint64_t)(*p - '0');
            p++;
        }
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (p < end) {
            if (*p != ',')
                return -400;
            p++;
        }
        if (*seen && *out != x)
            return -400;
        *out = x;
        *seen = 1;
        any = 1;
    }
    return any ? 0 : -400;
}

/* Walks a comma-separated token list: calls back for each token. */
typedef int (*token_fn)(const char *t, size_t n, void *arg);

static int each_token(const char *v, size_t n, token_fn fn, void *arg)
{
    const char *p = v, *end = v + n;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        if (p == end)
            break;
        const char *t = p;
        while (p < end && (cls[(unsigned char)*p] & C_TCHAR))
            p++;
        size_t tn = (size_t)(p - t);
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (tn == 0 || (p < end && *p != ','))
            return -400; /* parameters, quotes or junk in the list */
        int r = fn(t, tn, arg);
        if (r < 0)
            return r;
    }
    return 0;
}

typedef struct te_state {
    int count;
    int chunked_last;
    int chunked_seen;
    int unknown;
} te_state;

static int te_token(const char *t, size_t n, void *arg)
{
    te_state *s = arg;
    s->count++;
    if (s->chunked_last) /* something after chunked: chunked not final */
        s->chunked_last = 0;
    if (cio__http_ieq(t, n, "chunked")) {
        if (s->chunked_seen)
            return -400; /* chunked twice (RFC 9112 6.1) */
        s->chunked_seen = 1;
        s->chunked_last = 1;
    } else {
        s->unknown = 1;
    }
    return 0;
}

typedef struct conn_state {
    int close, keep_alive, upgrade;
} conn_state;

static int conn_token(const char *t, size_t n, void *arg)
{
    conn_state *s = arg;
    if (cio__http_ieq(t, n, "close"))
        s->close = 1;
    else if (cio__http_ieq(t, n, "keep-alive"))
        s->keep_alive = 1;
    else if (cio__http_ieq(t, n, "upgrade"))
        s->upgrade = 1;
    return 0;
}

static int framing(cio__http_msg *m, int flags, const cio__http_limits *lim)
{
    int response = (flags & CIO__HTTP_PARSE_RESPONSE) != 0;
    te_state te = {0};
    conn_state cs = {0};
    int cl_seen = 0, te_present = 0, hosts = 0, has_upgrade = 0, expect = 0;
    uint64_t cl = 0;
    for (size_t i = 0; i < m->nheaders; i++) {
        const cio__http_header *h = &m->headers[i];
        const char *n = h->name;
        size_t nl = h->name_len;
        int r = 0;
        switch (nl) {
        case 4:
            if (cio__http_ieq(n, nl, "host")) {
                if (++hosts > 1)
                    return -400; /* RFC 9112 3.2 */
                /* Four bytes per step, one branch at the end: the Host
                 * check was ~95 instructions of a hello-world request
                 * (a 15-byte "127.0.0.1:8080") as a byte loop. */
                const unsigned char *v = (const unsigned char *)h->value;
                const unsigned char *ve = v + h->value_len;
                unsigned ok = C_HOST;
                for (; ve - v >= 4; v += 4)
                    ok &= cls[v[0]] & cls[v[1]] & cls[v[2]] & cls[v[3]];
                for (; v < ve; v++)
                    ok &= cls[*v];
                if (!(ok & C_HOST))
                    return -400;
                m->host = h->value;
                m->host_len = h->value_len;
            }
            break;
        case 6:
            if (cio__http_ieq(n, nl, "expect")) {
                if (cio__http_ieq(h->value, h->value_len, "100-continue"))
                    expect = 1;
                else if (!response && m->minor == 1)
                    return -417; /* RFC 9110 10.1.1 */
            }
            break;
        case 7:
            if (cio__http_ieq(n, nl, "upgrade"))
                has_upgrade = 1;
            break;
        case 10:
            if (cio__http_ieq(n, nl, "connection"))
                r = each_token(h->value, h->value_len, conn_token, &cs);
            break;
        case 14:
            if (cio__http_ieq(n, nl, "content-length"))
                r = parse_content_length(h->value, h->value_len, &cl,
                                         &cl_seen);
            break;
        case 17:
            if (cio__http_ieq(n, nl, "transfer-encoding")) {
                te_present = 1;
                r = each_token(h->value, h->value_len, te_token, &te);
            }
            break;
        default:
            break;
        }
        if (r < 0)
            return r;
    }
    if (te_present && te.count == 0)
        return -400; /* an empty Transfer-Encoding */

    m->upgrade = cs.upgrade && has_upgrade;
    if (m->minor == 1)
        m->keep_alive = !cs.close;
    else
        m->keep_alive = cs.keep_alive && !cs.close;

    if (!response) {
        if (m->minor == 1 && hosts == 0)
            return -400; /* RFC 9112 3.2: Host is required in 1.1 */
        m->expect_continue = expect && m->minor == 1;
        if (te_present) {
            if (cl_seen)
                return -400; /* RFC 9112 6.1: smuggling vector */
            if (m->minor == 0)
                return -400; /* RFC 9112 6.1: TE in 1.0 is faulty */
            if (!te.chunked_last)
                return -400; /* RFC 9112 6.3 (4) */
            if (te.unknown)
                return -501; /* a coding we do not implement */
            m->body = CIO__HTTP_BODY_CHUNKED;
        } else if (cl_seen) {
            if (cl > lim->max_body)
                return -413;
            m->content_length = cl;
            m->body = cl ? CIO__HTTP_BODY_LENGTH : CIO__HTTP_BODY_NONE;
        } else {
            m->body = CIO__HTTP_BODY_NONE;
        }
        return 0;
    }

    /* Responses (RFC 9112 6.3). */
    if ((flags & CIO__HTTP_PARSE_HEAD_REQ) || m->status < 200 ||
        m->status == 204 || m->status == 304) {
        m->body = CIO__HTTP_BODY_NONE;
        return 0;
    }
    if (te_present) {
        if (cl_seen)
            return -400;
        if (te.chunked_last && !te.unknown) {
            m->body = CIO__HTTP_BODY_CHUNKED;
        } else {
            m->body = CIO__HTTP_BODY_CLOSE;
            m->keep_alive = 0;
        }
    } else if (cl_seen) {
        if (cl > lim->max_body)
            return -413;
        m->content_length = cl;
        m->body = cl ? CIO__HTTP_BODY_LENGTH : CIO__HTTP_BODY_NONE;
    } else {
        m->body = CIO__HTTP_BODY_CLOSE;
        m->keep_alive = 0;
    }
    return 0;
}

int cio__http_parse_head(const char *buf, size_t len, int flags,
                         const cio__http_limits *lim, cio__http_msg *m)
{
    cls_init();
    cio__http_header *hdrs = m->headers;
    size_t cap = m->headers_cap;
    memset(m, 0, sizeof(*m));
    m->headers = hdrs;
    m->headers_cap = cap;

    const char *p = buf, *end = buf + len;
    /* RFC 9112 2.2: ignore a few empty lines before a request-line. */
    if (!(flags & CIO__HTTP_PARSE_RESPONSE)) {
        for (int i = 0; i < 4 && p < end && (*p == '\r' || *p == '\n'); i++) {
            if (*p == '\n')
                return -400;
            if (end - p < 2)
                return 0;
            if (p[1] != '\n')
                return -400;
            p += 2;
        }
    }
    size_t max_line = lim->max_request_line;
    const char *lf = find_lf(p, end);
    if (!lf) {
        if ((size_t)(end - p) > max_line + 1)
            return (flags & CIO__HTTP_PARSE_RESPONSE) ? -400 : -414;
        /* Reject an invalid method before the line is complete. */
        for (const char *q = p; q < end && *q != ' '; q++)
            if (!(cls[(unsigned char)*q] & C_TCHAR) && *q != '\r' &&
                !(flags & CIO__HTTP_PARSE_RESPONSE))
                return -400;
        return 0;
    }
    if (lf == p || lf[-1] != '\r')
        return -400; /* bare LF */
    const char *eol = lf - 1;
    if ((size_t)(eol - p) > max_line)
        return (flags & CIO__HTTP_PARSE_RESPONSE) ? -400 : -414;
    if (memchr(p, '\r', (size_t)(eol - p)))
        return -400; /* bare CR */
    int r = (flags & CIO__HTTP_PARSE_RESPONSE)
                ? parse_status_line(p, eol, m)
                : parse_request_line(p, eol, m);
    if (r < 0)
        return r;
    p = lf + 1;

    for (;;) {
        if ((size_t)(p - buf) > lim->max_head)
            return -431;
        if (p == end)
            goto more;
        const char *line = p;
        unsigned char c = (unsigned char)*p;
        if (c == '\r') {
            if (p + 1 == end)
                goto more;
            if (p[1] != '\n')
                return -400;
            p += 2;
            break;
        }
        if (c == '\n' || c == ' ' || c == '\t')
            return -400; /* bare LF; obs-fold or space before a field */
        while (p < end && (cls[(unsigned char)*p] & C_TCHAR))
            p++;
        if (p == end) {
            if ((size_t)(p - line) > lim->max_header_line)
                return -431;
            goto more;
        }
        if (*p != ':' || p == line)
            return -400; /* whitespace before the colon, or not a token */
        const char *name = line;
        size_t name_len = (size_t)(p - line);
        p++;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *v = p;
        p = skip_value(p, end);
        if (p == end) {
            if ((size_t)(p - line) > lim->max_header_line)
                return -431;
            goto more;
        }
        if (*p != '\r')
            return -400; /* a control character, or a bare LF */
        if (p + 1 == end)
            goto more;
        if (p[1] != '\n')
            return -400; /* bare CR */
        const char *ve = p;
        while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        if ((size_t)(p - line) > lim->max_header_line)
            return -431;
        if (m->nheaders >= lim->max_headers || m->nheaders >= m->headers_cap)
            return -431;
        cio__http_header *h = &m->headers[m->nheaders++];
        h->name = name;
        h->name_len = name_len;
        h->value = v;
        h->value_len = (size_t)(ve - v);
        p += 2;
    }
    if ((size_t)(p - buf) > lim->max_head)
        return -431;
    m->head_len = (size_t)(p - buf);
    r = framing(m, flags, lim);
    if (r < 0)
        return r;
    return (int)m->head_len;

more:
    if (len > lim->max_head)
        return -431;
    return 0;
}

/* ------------------------------------------------------------------------
 * Bodies
 * ------------------------------------------------------------------------ */

enum {
    B_SIZE0,     /* first hex digit of a chunk size */
    B_SIZE,      /* more hex digits, ';', or CR */
    B_SIZE_WS,   /* BWS after the digits: only ';' may follow */
    B_EXT,       /* chunk extensions, until CR */
    B_SIZE_LF,   /* LF after the size line */
    B_DATA,      /* chunk data */
    B_DATA_CR,   /* CR after the data */
    B_DATA_LF,   /* LF after the data */
    B_TR_START,  /* start of a trailer line, or the final CRLF */
    B_TR_NAME,   /* field name */
    B_TR_VALUE,  /* field value, until CR */
    B_TR_LF,     /* LF after a trailer line */
    B_END_LF     /* LF of the final CRLF */
};

void cio__http_body_init(cio__http_body *b, const cio__http_msg *m,
                         const cio__http_limits *lim)
{
    cls_init();
    memset(b, 0, sizeof(*b));
    b->kind = m->body;
    b->max_body = lim->max_body;
    b->max_line = lim->max_chunk_line;
    b->max_trailers = lim->max_trailers;
    b->state = B_SIZE0;
    if (b->kind == CIO__HTTP_BODY_LENGTH)
        b->remaining = m->content_length;
    if (b->kind == CIO__HTTP_BODY_NONE ||
        (b->kind == CIO__HTTP_BODY_LENGTH && b->remaining == 0))
        b->done = 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return lower(c) - 'a' + 10;
}

long cio__http_body_decode(cio__http_body *b, const char *in, size_t len,
                           const char **data, size_t *data_len)
{
    *data = in;
    *data_len = 0;
    if (b->done)
        return 0;
    if (b->kind == CIO__HTTP_BODY_CLOSE) {
        if (len > b->max_body - b->total)
            return -413;
        b->total += len;
        *data_len = len;
        return (long)len;
    }
    if (b->kind == CIO__HTTP_BODY_LENGTH) {
        size_t n = len < b->remaining ? len : (size_t)b->remaining;
        b->remaining -= n;
        b->total += n;
        if (b->remaining == 0)
            b->done = 1;
        *data_len = n;
        return (long)n;
    }
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)in[i];
        switch (b->state) {
        case B_SIZE0:
            if (!(cls[c] & C_HEX))
                return -400; /* sign, space, or junk */
            b->remaining = (uint64_t)hexval(c);
            b->ndigits = b->remaining ? 1 : 0;
            b->line = 1;
            b->state = B_SIZE;
            i++;
            continue;
        case B_SIZE:
            if (cls[c] & C_HEX) {
                if (b->ndigits || hexval(c))
                    b->ndigits++;
                if (b->ndigits > 15)
                    return -400; /* overflow */
                b->remaining = b->remaining * 16 + (uint64_t)hexval(c);
            } else if (c == ';') {
                b->state = B_EXT;
            } else if (c == ' ' || c == '\t') {
                b->state = B_SIZE_WS;
            } else if (c == '\r') {
                b->state = B_SIZE_LF;
            } else {
                return -400;
            }
            break;
        case B_SIZE_WS:
            if (c == ';')
                b->state = B_EXT;
            else if (c != ' ' && c != '\t')
                return -400;
            break;
        case B_EXT:
            if (c == '\r')
                b->state = B_SIZE_LF;
            else if (!(cls[c] & C_VALUE))
                return -400;
            break;
        case B_SIZE_LF:
            if (c != '\n')
                return -400;
            if (b->remaining > b->max_body - b->total)
                return -413;
            b->state = b->remaining ? B_DATA : B_TR_START;
            b->line = 0;
            i++;
            continue;
        case B_DATA: {
            size_t avail = len - i;
            size_t n = avail < b->remaining ? avail : (size_t)b->remaining;
            b->remaining -= n;
            b->total += n;
            if (b->remaining == 0)
                b->state = B_DATA_CR;
            *data = in + i;
            *data_len = n;
            return (long)(i + n);
        }
        case B_DATA_CR:
            if (c != '\r')
                return -400;
            b->state = B_DATA_LF;
            i++;
            continue;
        case B_DATA_LF:
            if (c != '\n')
                return -400;
            b->state = B_SIZE0;
            i++;
            continue;
        case B_TR_START:
            if (c == '\r') {
                b->state = B_END_LF;
            } else if (cls[c] & C_TCHAR) {
                b->state = B_TR_NAME;
            } else {
                return -400; /* obs-fold, bare LF, junk */
            }
            break;
        case B_TR_NAME:
            if (c == ':')
                b->state = B_TR_VALUE;
            else if (!(cls[c] & C_TCHAR))
                return -400;
            break;
        case B_TR_VALUE:
            if (c == '\r')
                b->state = B_TR_LF;
            else if (!(cls[c] & C_VALUE))
                return -400;
            break;
        case B_TR_LF:
            if (c != '\n')
                return -400;
            b->state = B_TR_START;
            break;
        case B_END_LF:
            if (c != '\n')
                return -400;
            b->done = 1;
            return (long)(i + 1);
        default:
            return -400;
        }
        /* Line-length accounting for the control lines. */
        i++;
        if (b->state >= B_TR_START) {
            if (++b->trailers > b->max_trailers)
                return -431;
        } else if (++b->line > b->max_line) {
            return -400;
        }
    }
    return (long)i;
}
