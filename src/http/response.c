/*
 * response.c - building and serialising responses (and the small buffers
 * the connection reuses: hbuf, the per-request arena).
 *
 * A response is kept as status, content type, a body buffer and a block of
 * extra "Name: value\r\n" lines, all owned by the connection and reused
 * from one request to the next, so the hello-world path allocates nothing
 * once the connection's buffers have grown to size. The Date field is
 * formatted once per second per thread.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_int.h"

int cio__hbuf_reserve(hbuf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t ncap = b->cap ? b->cap : 256;
    while (ncap - b->len < extra)
        ncap *= 2;
    char *np = realloc(b->p, ncap);
    if (!np)
        return -ENOMEM;
    b->p = np;
    b->cap = ncap;
    return 0;
}

int cio__hbuf_append(hbuf *b, const void *data, size_t n)
{
    if (cio__hbuf_reserve(b, n) < 0)
        return -ENOMEM;
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

void cio__hbuf_free(hbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

char *cio__arena_alloc(arena *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (sizeof(a->first) - a->used >= n) {
        char *p = a->first + a->used;
        a->used += n;
        return p;
    }
    if (a->more && a->more->cap - a->more->used >= n) {
        char *p = a->more->data + a->more->used;
        a->more->used += n;
        return p;
    }
    size_t cap = n > 4096 ? n : 4096;
    arena_block *b = malloc(sizeof(*b) + cap);
    if (!b)
        return NULL;
    b->cap = cap;
    b->used = n;
    b->next = a->more;
    a->more = b;
    return b->data;
}

void cio__arena_reset(arena *a)
{
    a->used = 0;
    while (a->more) {
        arena_block *n = a->more->next;
        free(a->more);
        a->more = n;
    }
}

const char *cio__http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

/* "Date: Sun, 06 Dec 2026 21:00:00 GMT\r\nServer: cio\r\n", cached per
 * second (the two fields every response has, copied in one go). */
static _Thread_local char date_line[64];
static _Thread_local size_t date_len;
static _Thread_local time_t date_sec = -1;

static const char *date_header(size_t *len)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    if (ts.tv_sec != date_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        date_len = strftime(date_line, sizeof(date_line),
                            "Date: %a, %d %b %Y %H:%M:%S GMT\r\n"
                            "Server: cio\r\n",
                            &tm);
        date_sec = ts.tv_sec;
    }
    *len = date_len;
    return date_line;
}

void cio__http_response_reset(cio_http_response *res)
{
    cio__http_response_close_file(res);
    res->status = 0;
    res->set = 0;
    res->ctype = NULL;
    res->ctype_len = 0;
    res->body.len = 0;
    res->hdrs.len = 0;
    res->streaming = 0;
    res->stream_err = 0;
    res->streamed = 0;
}

void cio__http_response_free(cio_http_response *res)
{
    cio__http_response_close_file(res);
    cio__hbuf_free(&res->body);
    cio__hbuf_free(&res->hdrs);
}

static int set_body(cio_http_response *res, int status, const char *ctype,
                    const void *data, size_t len)
{
    if (!res || status < 100 || status > 599 || (len && !data))
        return -EINVAL;
    if (res->streaming)
        return -EBUSY; /* the head already left */
    cio__http_response_close_file(res);
    res->body.len = 0;
    if (cio__hbuf_append(&res->body, data, len) < 0)
        return -ENOMEM;
    res->status = status;
    res->ctype = ctype;
    res->ctype_len = 0;
    res->set = 1;
    return 0;
}

int cio_http_response_text(cio_http_response *res, int status,
                           const char *text)
{
    return set_body(res, status, "text/plain; charset=utf-8", text,
                    text ? strlen(text) : 0);
}

int cio_http_response_html(cio_http_response *res, int status,
                           const char *html)
{
    return set_body(res, status, "text/html; charset=utf-8", html,
                    html ? strlen(html) : 0);
}

int cio_http_response_json_text(cio_http_response *res, int status,
                                const char *json)
{
    if (!json)
        return -EINVAL;
    return set_body(res, status, "application/json", json, strlen(json));
}

int cio_http_response_json(cio_http_response *res, int status,
                           const struct cJSON *value)
{
    if (!res || !value || status < 100 || status > 599)
        return -EINVAL;
    if (res->streaming)
        return -EBUSY;
    /* Print into the reused body buffer; grow and retry if it is short
     * (cJSON needs 5 spare bytes). */
    size_t cap = res->body.cap > 256 ? res->body.cap : 256;
    for (;;) {
        res->body.len = 0;
        if (cio__hbuf_reserve(&res->body, cap) < 0)
            return -ENOMEM;
        if (cJSON_PrintPreallocated((cJSON *)value, res->body.p,
                                    (int)res->body.cap, 0)) {
            res->body.len = strlen(res->body.p);
            break;
        }
        if (cap > ((size_t)1 << 30))
            return -ENOMEM;
        cap = res->body.cap * 2;
    }
    res->status = status;
    res->ctype = "application/json";
    res->ctype_len = 16;
    res->set = 1;
    return 0;
}

int cio_http_response_raw(cio_http_response *res, int status,
                          const void *data, size_t len,
                          const char *content_type)
{
    if (content_type) {
        /* One strcspn (glibc's is vectorised) finds the length and any
         * CR or LF at once: a byte loop was 85 instructions of a
         * hello-world request for "text/plain", strlen and two memchr
         * about 60. */
        size_t vl = strcspn(content_type, "\r\n");
        if (!res || content_type[vl] != '\0')
            return -EINVAL;
        /* A caller's content type is not a static string: a short one is
         * copied into the response (one memcpy: this is the bench's
         * hello-world path), a longer one into the header block. */
        int r = set_body(res, status, NULL, data, len);
        if (r < 0)
            return r;
        if (vl < sizeof(res->ctype_buf)) {
            memcpy(res->ctype_buf, content_type, vl + 1);
            res->ctype = res->ctype_buf;
            res->ctype_len = vl;
            return 0;
        }
        /* The name is ours and the value was checked above: appended
         * without cio_http_response_header's token scan. */
        if (cio__hbuf_reserve(&res->hdrs, vl + 16) < 0)
            return -ENOMEM;
        cio__hbuf_append(&res->hdrs, "Content-Type: ", 14);
        cio__hbuf_append(&res->hdrs, content_type, vl);
        cio__hbuf_append(&res->hdrs, "\r\n", 2);
        return 0;
    }
    return set_body(res, status, "application/octet-stream", data, len);
}

int cio_http_response_empty(cio_http_response *res, int status)
{
    return set_body(res, status ? status : 204, NULL, NULL, 0);
}

int cio_http_response_redirect(cio_http_response *res, const char *location,
                               int status)
{
    if (!location)
        return -EINVAL;
    int r = set_body(res, status ? status : 302, NULL, NULL, 0);
    if (r < 0)
        return r;
    return cio_http_response_header(res, "Location", location);
}

int cio_http_response_status(cio_http_response *res, int status)
{
    if (!res || status < 100 || status > 599)
        return -EINVAL;
    if (res->streaming)
        return -EBUSY;
    res->status = status;
    return 0;
}

int cio_http_response_get_status(const cio_http_response *res)
{
    return res ? res->status : 0;
}

static int bad_value(const char *v)
{
    for (; *v; v++)
        if (*v == '\r' || *v == '\n' || *v == '\0')
            return 1;
    return 0;
}

static int bad_token(const char *t)
{
    if (!*t)
        return 1;
    for (; *t; t++)
        if (!cio__http_is_tchar((unsigned char)*t))
            return 1;
    return 0;
}

int cio_http_response_header(cio_http_response *res, const char *name,
                             const char *value)
{
    if (!res || !name || !value || bad_token(name) || bad_value(value))
        return -EINVAL;
    if (res->streaming)
        return -EBUSY;
    size_t nl = strlen(name);
    if (cio__http_ieq(name, nl, "content-length") ||
        cio__http_ieq(name, nl, "transfer-encoding") ||
        cio__http_ieq(name, nl, "connection") ||
        cio__http_ieq(name, nl, "date"))
        return -EINVAL;
    size_t vl = strlen(value);
    if (cio__hbuf_reserve(&res->hdrs, nl + vl + 4) < 0)
        return -ENOMEM;
    cio__hbuf_append(&res->hdrs, name, nl);
    cio__hbuf_append(&res->hdrs, ": ", 2);
    cio__hbuf_append(&res->hdrs, value, vl);
    cio__hbuf_append(&res->hdrs, "\r\n", 2);
    return 0;
}

int cio_http_response_cookie(cio_http_response *res, const char *name,
                             const char *value, const char *attrs)
{
    if (!res || !name || !value || bad_token(name) ||
        (attrs && bad_value(attrs)))
        return -EINVAL;
    if (res->streaming)
        return -EBUSY;
    for (const char *v = value; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c <= 0x20 || c == 0x7f || c == '"' || c == ',' || c == ';' ||
            c == '\\')
            return -EINVAL;
    }
    size_t nl = strlen(name), vl = strlen(value);
    size_t al = attrs ? strlen(attrs) : 0;
    if (cio__hbuf_reserve(&res->hdrs, 16 + nl + vl + al) < 0)
        return -ENOMEM;
    cio__hbuf_append(&res->hdrs, "Set-Cookie: ", 12);
    cio__hbuf_append(&res->hdrs, name, nl);
    cio__hbuf_append(&res->hdrs, "=", 1);
    cio__hbuf_append(&res->hdrs, value, vl);
    if (al) {
        cio__hbuf_append(&res->hdrs, "; ", 2);
        cio__hbuf_append(&res->hdrs, attrs, al);
    }
    cio__hbuf_append(&res->hdrs, "\r\n", 2);
    return 0;
}

int cio__http_response_serialize(cio_http_response *res, hbuf *out,
                                 int minor, int keep_alive, int head_only)
{
    size_t dl;
    const char *date = date_header(&dl);
    int st = res->status;
    /* 1xx, 204 and 304 carry no body and no Content-Length (RFC 9110
     * 8.6); anything else says its length. */
    int no_body = st < 200 || st == 204 || st == 304;
    size_t ctl = !res->ctype       ? 0
                 : res->ctype_len ? res->ctype_len
                                  : strlen(res->ctype);
    if (cio__hbuf_reserve(out, 200 + ctl + dl + res->hdrs.len +
                                   res->body.len) < 0)
        return -ENOMEM;
    char *p = out->p + out->len;
    /* No printf on this path (it was a measured 3% of a hello-world
     * request): the status line and the length are formatted by hand,
     * 200's line is a constant. */
    if (st == 200) {
        memcpy(p, "HTTP/1.1 200 OK\r\n", 17);
        p += 17;
    } else {
        memcpy(p, "HTTP/1.1 ", 9);
        p[9] = (char)('0' + st / 100 % 10);
        p[10] = (char)('0' + st / 10 % 10);
        p[11] = (char)('0' + st % 10);
        p[12] = ' ';
        p += 13;
        const char *reason = cio__http_reason(st);
        size_t rl = strlen(reason);
        memcpy(p, reason, rl);
        memcpy(p + rl, "\r\n", 2);
        p += rl + 2;
    }
    memcpy(p, date, dl); /* with "Server: cio" */
    p += dl;
    if (res->ctype && !no_body) {
        size_t cl = ctl;
        memcpy(p, "Content-Type: ", 14);
        memcpy(p + 14, res->ctype, cl);
        memcpy(p + 14 + cl, "\r\n", 2);
        p += 16 + cl;
    }
    if (res->streaming) {
        /* A streamed body: chunked for HTTP/1.1; HTTP/1.0 has no chunked
         * coding, so its end is the connection's close (keep_alive is 0
         * then, see cio_http_response_stream). */
        if (minor == 1 && !no_body) {
            memcpy(p, "Transfer-Encoding: chunked\r\n", 28);
            p += 28;
        }
    } else if (!no_body) {
        unsigned long long v = res->has_file
                                   ? (unsigned long long)res->file_len
                                   : (unsigned long long)res->body.len;
        memcpy(p, "Content-Length: ", 16);
        p += 16;
        if (v < 100) { /* hello-world sizes: no division loop */
            if (v >= 10)
                *p++ = (char)('0' + v / 10);
            *p++ = (char)('0' + v % 10);
        } else {
            char digits[24];
            int nd = 0;
            do
                digits[nd++] = (char)('0' + v % 10);
            while ((v /= 10) != 0);
            while (nd > 0)
                *p++ = digits[--nd];
        }
        memcpy(p, "\r\n", 2);
        p += 2;
    }
    if (!keep_alive) {
        memcpy(p, "Connection: close\r\n", 19);
        p += 19;
    } else if (minor == 0) {
        memcpy(p, "Connection: keep-alive\r\n", 24);
        p += 24;
    }
    if (res->hdrs.len) {
        memcpy(p, res->hdrs.p, res->hdrs.len);
        p += res->hdrs.len;
    }
    memcpy(p, "\r\n", 2);
    p += 2;
    if (!head_only && !no_body && !res->has_file && res->body.len) {
        memcpy(p, res->body.p, res->body.len);
        p += res->body.len;
    }
    out->len = (size_t)(p - out->p);
    return 0;
}

int cio__http_error_response(hbuf *out, int status, int close,
                             const char *allow)
{
    cio_http_response r = {0};
    char text[64];
    snprintf(text, sizeof(text), "%d %s\n", status, cio__http_reason(status));
    int rc = set_body(&r, status, "text/plain; charset=utf-8", text,
                      strlen(text));
    if (rc == 0 && allow)
        rc = cio_http_response_header(&r, "Allow", allow);
    if (rc == 0)
        rc = cio__http_response_serialize(&r, out, 1, !close, 0);
    cio__http_response_free(&r);
    return rc;
}
