/*
 * server.c - the HTTP/1.1 server on the loop: the acceptor task and one
 * task per connection, which parses requests, reads their bodies, runs the
 * handler (a coroutine on the same task) and queues the response.
 *
 * How a connection runs:
 *   1. Head: bytes accumulate in c->in; the parser runs once a blank line
 *      is there (or the head limit is passed, to reject it). The head must
 *      arrive before head_timeout from its first byte (absolute deadline:
 *      a slowloris client sending one byte a second gets no extension);
 *      between requests the connection may stay idle keep_alive_timeout.
 *   2. Body: read whole before the handler runs (Content-Length, or
 *      chunked decoded in place), with "100 Continue" sent first when the
 *      client asked for it, before body_timeout. Since every body is read
 *      (or the connection closed on error), the next request is never
 *      mis-framed.
 *   3. Response: serialised into c->out. Responses of pipelined requests
 *      already received are not written one by one: c->out is flushed
 *      only when the connection has to wait for input (or holds more than
 *      64 KiB), so they leave in one write. A client that does not read
 *      blocks the flush (write_timeout), and the connection reads nothing
 *      more meanwhile: memory stays bounded by the limits.
 *   4. Errors: a malformed request gets its status (400, 413, 414, 431,
 *      501, 505...) with Connection: close, then a lingering close (write
 *      side shut, input drained for up to a second) so the client sees the
 *      response instead of a reset.
 *
 * Views into c->in stay valid during the handler: the buffer is compacted
 * only before reading the next head, and if it moved while a body was
 * read, the head is parsed again (same bytes, same result) to refresh the
 * views.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_int.h"

#define OUT_FLUSH_AT (64 * 1024)
#define READ_CHUNK 16384

/* Writes c->out. The common case (the kernel takes it all) costs one
 * sendmsg and no timer; only a partial write arms write_timeout. */
static int flush(conn *c)
{
    if (!c->out.len)
        return 0;
    struct iovec iov = {c->out.p, c->out.len};
    ssize_t w = cio__http_io_try_writev(&c->io, &iov, 1);
    if (w < 0) {
        c->out.len = 0;
        return (int)w;
    }
    int r = 0;
    if ((size_t)w < c->out.len) {
        cio_timeout t;
        r = cio_timeout_begin(&t, c->app->cfg.write_timeout);
        if (r == 0)
            r = cio_timeout_end(&t, cio__http_io_writev_rest(&c->io, &iov, 1,
                                                             (size_t)w));
    }
    c->out.len = 0;
    return r;
}

/* The read deadline. A timeout scope per read would insert and remove a
 * timer in the loop's heap for every request (a measured 3-4% of a
 * keep-alive hello-world request); instead each connection has one timer,
 * armed at the deadline of a read and left alone while later reads push
 * the deadline further (the common case: each request moves it forward by
 * keep_alive_timeout). When it fires early it re-arms itself at the
 * current deadline; when the deadline has passed and the connection is
 * parked in its read, it cancels the connection's task, and read_more
 * turns that -ECANCELED into -ETIMEDOUT (withdrawing the cancellation, as
 * a timeout scope does). */
static void conn_timer_arm(conn *c, int64_t when);

static int conn_timer(void *arg)
{
    conn *c = arg;
    c->timer_at = 0;
    if (!c->in_read || c->deadline == INT64_MAX)
        return 0; /* not reading: the next read arms it again */
    if (cio_loop_time(c->srv->loop) < c->deadline) {
        conn_timer_arm(c, c->deadline);
        return 0;
    }
    if (!c->timed_out) {
        c->timed_out = 1;
        cio_task_cancel(c->task, NULL);
    }
    return 0;
}

static void conn_timer_arm(conn *c, int64_t when)
{
    if (cio_loop_call_at(c->srv->loop, when, conn_timer, c, &c->timer) == 0)
        c->timer_at = when;
}

static void conn_timer_stop(conn *c)
{
    if (c->timer_at)
        cio_handle_cancel(c->srv->loop, c->timer);
    c->timer_at = 0;
}

/* Reads more bytes into b (c->in, or a streamed body's buffer) before the
 * absolute deadline. Returns > 0, 0 at EOF, -ETIMEDOUT, -ECANCELED or
 * another -errno. */
ssize_t cio__http_conn_read(conn *c, hbuf *b, int64_t deadline)
{
    if (cio__hbuf_reserve(b, READ_CHUNK) < 0)
        return -ENOMEM;
    c->deadline = deadline;
    if (deadline != INT64_MAX && (c->timer_at == 0 || c->timer_at > deadline)) {
        conn_timer_stop(c);
        conn_timer_arm(c, deadline);
        if (c->timer_at == 0)
            return -ENOMEM;
    }
    c->in_read = 1;
    ssize_t n = cio__http_io_read(&c->io, b->p + b->len, b->cap - b->len);
    c->in_read = 0;
    if (c->timed_out) {
        c->timed_out = 0;
        /* Withdraw the timer's request; if it was the only one, the read
         * timed out (or finished just before the cancellation landed). */
        if (cio_task_uncancel(c->task) == 0 && n == -ECANCELED)
            n = -ETIMEDOUT;
    }
    if (n > 0)
        b->len += (size_t)n;
    return n;
}

static ssize_t read_more(conn *c, int64_t deadline)
{
    return cio__http_conn_read(c, &c->in, deadline);
}

static void compact(conn *c)
{
    if (c->in_start == 0)
        return;
    size_t rest = c->in.len - c->in_start;
    if (rest)
        memmove(c->in.p, c->in.p + c->in_start, rest);
    c->in.len = rest;
    c->in_start = 0;
}

static int run_errh(conn *c, const err_handler *eh, int status,
                    void (*fill_default)(conn *, int, const char *),
                    const char *allow);

static void fail_default(conn *c, int status, const char *allow)
{
    (void)allow;
    char text[64];
    snprintf(text, sizeof(text), "%d %s\n", status, cio__http_reason(status));
    cio_http_response_text(&c->res, status, text);
}

/* The answer to a request the server rejects before routing it (a parse
 * error, a limit, a timeout, a body that failed), through the app's error
 * handler for the status if any: head_ok says whether the request's head
 * was parsed (else the handler sees an empty request). */
static int fail_response(conn *c, int status, int head_ok)
{
    cio_http_request *req = &c->req;
    req->match.status = 0; /* not routed: the app's handlers */
    req->match.handler = NULL;
    const err_handler *eh =
        c->app->has_errh ? cio__http_find_errh(c, status) : NULL;
    if (!eh)
        return cio__http_error_response(&c->out, status, 1, NULL);
    if (!head_ok || cio__http_split_target(req) < 0) {
        if (!head_ok) {
            memset(&req->msg, 0, sizeof(req->msg));
            req->msg.method = req->msg.target = "";
            req->msg.minor = 1;
        }
        req->path = req->query = "";
        req->path_len = req->query_len = 0;
    }
    req->body = NULL;
    req->body_len = 0;
    cio_http_response *res = &c->res;
    cio__http_response_reset(res);
    res->conn = c;
    fail_default(c, status, NULL);
    int r = run_errh(c, eh, status, fail_default, NULL);
    if (r == 0 && res->has_file) { /* no file answers here */
        cio__http_response_reset(res);
        fail_default(c, status, NULL);
    }
    if (r == 0)
        r = cio__http_response_serialize(res, &c->out, 1, 0, 0);
    cio__http_request_done(req);
    cio__http_response_close_file(res);
    return r;
}

/* Answers with an error status and ends the connection gracefully. */
static int fail(conn *c, int status, int head_ok)
{
    int r = fail_response(c, status, head_ok);
    if (r == -ECANCELED)
        return r;
    r = flush(c);
    if (r < 0)
        return r;
    cio__http_io_shutdown(&c->io);
    /* Lingering close: drain what the client still sends, briefly. */
    int64_t until = cio_loop_time(cio_get_running_loop()) + CIO_SEC;
    for (int i = 0; i < 64; i++) {
        c->in.len = c->in_start = 0;
        ssize_t n = read_more(c, until);
        if (n <= 0)
            break;
    }
    return 0;
}

static void access_log(conn *c, int status, size_t len)
{
    cio__http_access_log(c, status, len); /* accesslog.c */
}

/* Splits the target into path and query; absolute-form keeps its path. */
int cio__http_split_target(cio_http_request *req)
{
    const char *t = req->msg.target;
    size_t n = req->msg.target_len;
    if (n >= 7 && (cio__http_ieq(t, 7, "http://") ||
                   (n >= 8 && cio__http_ieq(t, 8, "https://")))) {
        const char *p = memchr(t + 8 - (t[4] == ':'), '/',
                               n - (size_t)(8 - (t[4] == ':')));
        if (!p) {
            req->path = "/";
            req->path_len = 1;
            req->query = "";
            req->query_len = 0;
            return 0;
        }
        n -= (size_t)(p - t);
        t = p;
    }
    if (n == 0 || t[0] != '/')
        return -400;
    const char *q = memchr(t, '?', n);
    req->path = t;
    req->path_len = q ? (size_t)(q - t) : n;
    req->query = q ? q + 1 : "";
    req->query_len = q ? n - req->path_len - 1 : 0;
    return 0;
}

/* Reads the body of the request whose head is at c->in_start (head_len
 * bytes). Sets req->body and returns the end of the message in c->in, or
 * -status / -errno. */
static long read_body(conn *c, size_t head_len, int64_t deadline)
{
    cio_http_request *req = &c->req;
    cio__http_msg *m = &req->msg;
    size_t body_start = c->in_start + head_len;
    int sent_continue = 0;
    req->body = NULL;
    req->body_len = 0;
    if (m->body == CIO__HTTP_BODY_NONE)
        return (long)body_start;
    if (m->body == CIO__HTTP_BODY_LENGTH) {
        size_t need = (size_t)m->content_length;
        while (c->in.len - body_start < need) {
            if (m->expect_continue && !sent_continue) {
                sent_continue = 1;
                cio__hbuf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
                int r = flush(c);
                if (r < 0)
                    return r;
            }
            if (cio__hbuf_reserve(&c->in, need - (c->in.len - body_start)) <
                0)
                return -ENOMEM;
            ssize_t n = read_more(c, deadline);
            if (n == 0)
                return -EPIPE;
            if (n < 0)
                return n == -ETIMEDOUT ? -408 : n;
        }
        req->body = c->in.p + body_start;
        req->body_len = need;
        return (long)(body_start + need);
    }
    /* Chunked: decode in place, payload compacted at body_start. */
    cio__http_body b;
    cio__http_body_init(&b, m, &c->app->lim);
    size_t w = body_start, r = body_start;
    while (!b.done) {
        const char *d;
        size_t dl;
        long n = cio__http_body_decode(&b, c->in.p + r, c->in.len - r, &d,
                                       &dl);
        if (n < 0)
            return n;
        if (dl)
            memmove(c->in.p + w, d, dl);
        w += dl;
        r += (size_t)n;
        if (b.done)
            break;
        if (n > 0 && r < c->in.len)
            continue;
        if (m->expect_continue && !sent_continue) {
            sent_continue = 1;
            cio__hbuf_append(&c->out, "HTTP/1.1 100 Continue\r\n\r\n", 25);
            int fr = flush(c);
            if (fr < 0)
                return fr;
        }
        /* Drop the consumed framing before reading more. */
        if (r > w) {
            memmove(c->in.p + w, c->in.p + r, c->in.len - r);
            c->in.len -= r - w;
            r = w;
        }
        ssize_t got = read_more(c, deadline);
        if (got == 0)
            return -EPIPE;
        if (got < 0)
            return got == -ETIMEDOUT ? -408 : got;
    }
    req->body = c->in.p + body_start;
    req->body_len = w - body_start;
    return (long)r;
}

/* ---- streaming responses and server-sent events --------------------------
 * The head goes out when the handler calls cio_http_response_stream; each
 * write is one chunk appended to c->out and flushed at once, waiting (up to
 * write_timeout) until the kernel took it all. So a client that does not
 * read suspends the handler in its write: at most one chunk is buffered in
 * the server, whatever the handler produces. */

int cio_http_response_stream(cio_http_response *res, int status,
                             const char *content_type)
{
    if (!res || !res->conn || status < 200 || status > 599 || status == 204 ||
        status == 304)
        return -EINVAL;
    if (res->conn->h2s) /* HTTP/2: DATA frames (h2.c) */
        return cio__h2_response_stream(res, status, content_type);
    if (content_type)
        for (const char *p = content_type; *p; p++)
            if (*p == '\r' || *p == '\n')
                return -EINVAL;
    if (res->streaming)
        return -EBUSY;
    conn *c = res->conn;
    if (!c->keep_alive)
        return -EINVAL; /* not inside a handler */
    cio__http_response_close_file(res);
    res->body.len = 0;
    res->status = status;
    res->ctype = NULL;
    res->ctype_len = 0;
    res->set = 1;
    if (content_type) {
        int r = cio_http_response_header(res, "Content-Type", content_type);
        if (r < 0)
            return r;
    } else {
        res->ctype = "text/plain; charset=utf-8";
    }
    res->streaming = 1;
    /* HTTP/1.0 has no chunked coding: the body ends with the connection. */
    if (c->req.msg.minor == 0 || c->srv->closing)
        *c->keep_alive = 0;
    int r = cio__http_response_serialize(res, &c->out, c->req.msg.minor,
                                         *c->keep_alive, c->head_only);
    if (r == 0)
        r = flush(c);
    if (r < 0)
        res->stream_err = r;
    return r;
}

int cio_http_response_write(cio_http_response *res, const void *data,
                            size_t len)
{
    if (!res || !res->streaming || (len && !data))
        return -EINVAL;
    if (res->conn->h2s) /* HTTP/2: DATA frames (h2.c) */
        return cio__h2_response_write(res, data, len);
    if (res->stream_err)
        return res->stream_err;
    conn *c = res->conn;
    if (c->head_only || len == 0)
        return 0;
    int chunked = c->req.msg.minor == 1;
    char size[24];
    int sl = chunked ? snprintf(size, sizeof(size), "%zx\r\n", len) : 0;
    if (cio__hbuf_reserve(&c->out, (size_t)sl + len + 2) < 0)
        return -ENOMEM;
    cio__hbuf_append(&c->out, size, (size_t)sl);
    cio__hbuf_append(&c->out, data, len);
    if (chunked)
        cio__hbuf_append(&c->out, "\r\n", 2);
    int r = flush(c);
    if (r < 0) {
        res->stream_err = r;
        *c->keep_alive = 0;
        return r;
    }
    res->streamed += len;
    return 0;
}

static int sse_field_ok(const char *s)
{
    for (; s && *s; s++)
        if (*s == '\r' || *s == '\n')
            return 0;
    return 1;
}

int cio_http_response_sse(cio_http_response *res)
{
    if (!res)
        return -EINVAL;
    if (!res->streaming) {
        int r = cio_http_response_header(res, "Cache-Control", "no-cache");
        if (r < 0)
            return r;
    }
    return cio_http_response_stream(res, 200, "text/event-stream");
}

int cio_http_response_sse_event(cio_http_response *res, const char *event,
                                const char *data, const char *id)
{
    if (!res || !res->streaming || !data || !sse_field_ok(event) ||
        !sse_field_ok(id))
        return -EINVAL;
    size_t dl = strlen(data), lines = 1;
    for (size_t i = 0; i < dl; i++)
        lines += data[i] == '\n' || data[i] == '\r';
    size_t cap = (event ? strlen(event) + 8 : 0) + (id ? strlen(id) + 5 : 0) +
                 dl + lines * 7 + 2;
    /* Built in a temporary heap buffer (events may be large; the arena
     * lives as long as the request and would grow with every event). */
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    size_t o = 0;
    if (event)
        o += (size_t)sprintf(buf + o, "event: %s\n", event);
    if (id)
        o += (size_t)sprintf(buf + o, "id: %s\n", id);
    /* One "data:" line per line of data (CR LF, CR and LF all split). */
    const char *p = data, *end = data + dl;
    for (;;) {
        const char *q = p;
        while (q < end && *q != '\n' && *q != '\r')
            q++;
        memcpy(buf + o, "data: ", 6);
        o += 6;
        memcpy(buf + o, p, (size_t)(q - p));
        o += (size_t)(q - p);
        buf[o++] = '\n';
        if (q >= end)
            break;
        if (*q == '\r' && q + 1 < end && q[1] == '\n')
            q++;
        p = q + 1;
    }
    buf[o++] = '\n';
    int r = cio_http_response_write(res, buf, o);
    free(buf);
    return r;
}

/* Runs a middleware list forwards (request) or backwards (response).
 * Returns < 0 on failure; for request middleware, 1 once one answered.
 * Shared with HTTP/2 (h2.c). */
int cio__http_run_mw(const mw_list *l, int backwards, cio_http_request *req,
                     cio_http_response *res)
{
    for (size_t k = 0; k < l->n; k++) {
        const mw *m = &l->v[backwards ? l->n - 1 - k : k];
        int r = m->fn(req, res, m->arg);
        if (r < 0)
            return r;
        if (!backwards && res->set)
            return 1;
    }
    return 0;
}

const err_handler *cio__http_find_errh(const conn *c, int status)
{
    const cio_http_app *app = c->app;
    const route_target *t =
        c->req.match.status == 0 ? c->req.match.handler : NULL;
    int i = status >= 400 && status <= 599 ? status - 400 : -1;
    const err_handler *v = t && t->bp ? t->bp->errh : NULL;
    for (int k = 0; k < 2; k++, v = app->errh) {
        if (!v)
            continue;
        if (i >= 0 && v[i].fn)
            return &v[i];
        if (v[CIO__ERRH_ANY].fn)
            return &v[CIO__ERRH_ANY];
    }
    return NULL;
}

/* Runs eh on c's request with res holding the default answer; if it
 * fails or sets nothing, the default is put back (fill_default). A
 * handler cannot stream here (c->keep_alive is NULL meanwhile). Returns
 * -ECANCELED when the connection or stream is going away, else 0. */
static int run_errh(conn *c, const err_handler *eh, int status,
                    void (*fill_default)(conn *, int, const char *),
                    const char *allow)
{
    cio_http_response *res = &c->res;
    int *ka = c->keep_alive;
    c->keep_alive = NULL;
    int r = eh->fn(&c->req, res, eh->arg);
    c->keep_alive = ka;
    if (r == -ECANCELED)
        return r;
    if (r < 0 || !res->set || res->streaming) {
        if (r < 0 && !(r <= -400 && r >= -599))
            fprintf(stderr, "cio-http: %s: error handler for %d: %s\n",
                    c->app->name ? c->app->name : "app", status,
                    cio_strerror(r));
        res->streaming = 0;
        cio__http_response_reset(res);
        fill_default(c, status, allow);
    }
    return 0;
}

static void server_default(conn *c, int status, const char *allow)
{
    cio_http_response *res = &c->res;
    cio_http_response_text(res, status, status == 404   ? "Not Found\n"
                                        : status == 405 ? "Method Not Allowed\n"
                                        : status == 500 ? "Internal Server "
                                                          "Error\n"
                                                        : cio__http_reason(
                                                              status));
    if (allow)
        cio_http_response_header(res, "Allow", allow);
}

/* The server's own error answers found while dispatching (404, 405, 500,
 * 501, a handler's -status, a streamed body's 400/408/413), through the
 * error handler for the status if any. Shared with HTTP/2 (h2.c: c is the
 * stream's request context). */
void cio__http_server_error(conn *c, int status, const char *allow)
{
    cio_http_response *res = &c->res;
    cio__http_response_reset(res);
    server_default(c, status, allow);
    const err_handler *eh =
        c->app->has_errh ? cio__http_find_errh(c, status) : NULL;
    if (eh)
        run_errh(c, eh, status, server_default, allow);
}

static void handler_failed(conn *c, int r)
{
    /* A handler (or middleware) returning -status (400..599) asked for
     * that error answer: not a failure, nothing logged. */
    if (r <= -400 && r >= -599) {
        cio__http_server_error(c, -r, NULL);
        return;
    }
    const cio__http_msg *m = &c->req.msg;
    fprintf(stderr, "cio-http: %s %.*s: handler %s\n",
            c->app->name ? c->app->name : "app", (int)m->target_len, m->target,
            r < 0 ? cio_strerror(r) : "set no response");
    /* A streamed body that failed (too large, malformed, too slow) is
     * answered with its status rather than 500. */
    cio__http_server_error(c, c->bs.err_status ? c->bs.err_status : 500, NULL);
}

/* After a streaming handler: the last chunk, or (the handler failed, or a
 * write did) the connection is closed without it, so the client sees a
 * truncated body rather than a complete one. Response middleware does not
 * run (the head already left). */
static int stream_end(conn *c, int r)
{
    cio_http_response *res = &c->res;
    if (c->app->alog)
        access_log(c, res->status, (size_t)res->streamed);
    if (r == -ECANCELED)
        return r;
    if (r < 0 || res->stream_err) {
        if (r < 0 && r != res->stream_err)
            fprintf(stderr, "cio-http: %s %.*s: streaming handler %s\n",
                    c->app->name ? c->app->name : "app",
                    (int)c->req.msg.target_len, c->req.msg.target,
                    cio_strerror(r));
        c->out.len = 0;
        return -EPIPE; /* serve() ends the connection */
    }
    if (c->req.msg.minor == 1 && !c->head_only)
        return cio__hbuf_append(&c->out, "0\r\n\r\n", 5);
    return 0;
}

static int dispatch(conn *c, int *keep_alive)
{
    cio_http_request *req = &c->req;
    cio_http_response *res = &c->res;
    cio_http_app *app = c->app;
    cio__http_msg *m = &req->msg;
    unsigned mb = cio__http_method_bit(m->method, m->method_len);
    int head_only = mb == CIO__M_HEAD;
    cio__http_response_reset(res);
    res->conn = c;
    c->head_only = head_only;
    c->keep_alive = keep_alive;
    char allow[96];
    route_target *t = NULL;
    int r;
    if (m->target_len == 1 && m->target[0] == '*') {
        if (mb != CIO__M_OPTIONS)
            return -400;
        cio_http_response_empty(res, 204);
        cio__http_allow_list(0x1ff, allow, sizeof(allow));
        cio_http_response_header(res, "Allow", allow);
        goto done;
    }
    /* A streamed-body route was looked up before its body (body.c). */
    if (!c->routed) {
        r = cio__http_split_target(req);
        if (r < 0)
            return r;
    }
    if (mb == CIO__M_OTHER) {
        if (app->has_errh) {
            req->match.status = 0; /* not routed: the app's handlers */
            req->match.handler = NULL;
            if (cio__http_find_errh(c, 501)) {
                cio__http_server_error(c, 501, NULL);
                goto done;
            }
        }
        cio__http_error_response(&c->out, 501, !*keep_alive, NULL);
        if (app->alog)
            access_log(c, 501, 0);
        return 0;
    }
    if (!c->routed)
        cio__router_lookup(app->router, mb, req->path, req->path_len,
                           &req->match);
    if (req->match.status) {
        cio__http_allow_list(req->match.allow, allow, sizeof(allow));
        cio__http_server_error(c, req->match.status,
                               req->match.status == 405 ? allow : NULL);
        goto response_mw;
    }
    if (!req->match.handler) { /* OPTIONS, answered here */
        cio_http_response_empty(res, 204);
        cio__http_allow_list(req->match.allow, allow, sizeof(allow));
        cio_http_response_header(res, "Allow", allow);
        goto response_mw;
    }
    t = req->match.handler;
    r = cio__http_run_mw(&app->mw[CIO_HTTP_MW_REQUEST], 0, req, res);
    if (r == 0 && t->bp)
        r = cio__http_run_mw(&t->bp->mw[CIO_HTTP_MW_REQUEST], 0, req, res);
    if (r == 0)
        r = t->fn(req, res, t->arg);
    if (c->upgraded) /* the handler took the connection (WebSocket) */
        return r == -ECANCELED ? r : -EPIPE;
    if (res->streaming) {
        c->keep_alive = NULL;
        return stream_end(c, r);
    }
    if (r == -ECANCELED)
        return r;
    if (r < 0 || !res->set)
        handler_failed(c, r);
response_mw:
    r = 0;
    if (t && t->bp)
        r = cio__http_run_mw(&t->bp->mw[CIO_HTTP_MW_RESPONSE], 1, req, res);
    if (r == 0)
        r = cio__http_run_mw(&app->mw[CIO_HTTP_MW_RESPONSE], 1, req, res);
    if (r == -ECANCELED)
        return r;
    if (r < 0)
        handler_failed(c, r);
done:
    /* The server may have begun closing while the handler ran; a streamed
     * body that failed leaves the connection unusable. */
    if (c->srv->closing || (c->bs.active && c->bs.err))
        *keep_alive = 0;
    r = cio__http_response_serialize(res, &c->out, m->minor, *keep_alive,
                                     head_only);
    if (app->alog)
        access_log(c, res->status,
                   res->has_file ? (size_t)res->file_len : res->body.len);
    if (r == 0 && res->has_file && !head_only && res->file_len) {
        /* The head (and any earlier pipelined responses) first. */
        r = flush(c);
        if (r == 0) {
            off_t off = (off_t)res->file_off;
            cio_timeout wt;
            r = cio_timeout_begin(&wt, app->cfg.write_timeout);
            if (r == 0)
                r = cio_timeout_end(&wt, cio__http_io_sendfile(
                                            &c->io, res->file_fd, &off,
                                            (size_t)res->file_len));
        }
    }
    cio__http_response_close_file(res);
    return r;
}

/* CLOCK_MONOTONIC_COARSE: the last tick of the monotonic clock, read
 * from the vDSO without touching the clock source. */
static int64_t coarse_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

/* The time read deadlines count from. A precise clock read per request
 * (cio_loop_time: CLOCK_MONOTONIC, which on this VM reads the paravirtual
 * clock source) cost more than anything else the deadline does; the
 * coarse clock is the same clock, trailing it by at most a tick (1-4
 * ms), so a deadline comes at most that early, for timeouts counted in
 * seconds. A loop on another clock (the virtual one) is seen at the
 * connection's start and keeps cio_loop_time. */
static int64_t conn_now(const conn *c, cio_loop *loop)
{
    return c->exact_clock ? cio_loop_time(loop) : coarse_now();
}

static int serve(conn *c)
{
    cio_http_app *app = c->app;
    const cio_http_config *cfg = &app->cfg;
    cio_loop *loop = cio_get_running_loop();
    c->req.conn = c;
    int64_t skew = cio_loop_time(loop) - coarse_now();
    c->exact_clock = skew < 0 || skew > 100 * CIO_MS;
    for (;;) {
        /* 1. A head. */
        int64_t deadline = INT64_MAX;
        size_t scan_from = c->in_start;
        int hl = 0;
        for (;;) {
            size_t avail = c->in.len - c->in_start;
            if (avail) {
                /* The first look at a head parses it at once (it is
                 * usually whole: one scan instead of two); later looks,
                 * after more bytes of an incomplete head, scan only the
                 * new bytes for the blank line first. */
                size_t he = scan_from == c->in_start
                                ? 1
                                : cio__http_head_end(c->in.p + c->in_start,
                                                     avail,
                                                     scan_from - c->in_start);
                if (c->in_start == 0 && cio__h2_preface(c, c->in.p, avail))
                    return cio__h2_serve(c); /* HTTP/2, prior knowledge */
                if (he || avail > app->lim.max_head) {
                    c->req.msg.headers = c->hdrs;
                    c->req.msg.headers_cap = CIO__HTTP_MAX_HEADERS_CAP;
                    hl = cio__http_parse_head(c->in.p + c->in_start, avail, 0,
                                              &app->lim, &c->req.msg);
                    if (hl != 0)
                        break;
                }
            }
            int r = flush(c);
            if (r < 0)
                return r;
            if (c->srv->closing)
                return 0;
            compact(c);
            scan_from = c->in.len;
            if (avail == 0)
                deadline = conn_now(c, loop) + cfg->keep_alive_timeout;
            else if (deadline == INT64_MAX || c->idle)
                deadline = conn_now(c, loop) + cfg->head_timeout;
            c->idle = avail == 0;
            ssize_t n = read_more(c, deadline);
            if (n == 0)
                return 0;
            if (n == -ETIMEDOUT)
                return avail ? fail(c, 408, 0) : 0;
            if (n < 0)
                return (int)n;
            /* A head begun by this read gets its head_timeout deadline at
             * the next pass (c->idle is set), only if it is incomplete. */
        }
        c->idle = 0;
        if (hl < 0)
            return fail(c, -hl, 0);
        if (app->alog)
            c->t_start = cio_loop_time(loop);

        /* 2. The body: read whole here, or by the handler of a streamed
         * route (body.c). */
        char *before = c->in.p;
        int64_t body_deadline = c->req.msg.body == CIO__HTTP_BODY_NONE
                                    ? INT64_MAX
                                    : conn_now(c, loop) + cfg->body_timeout;
        long end = 0;
        c->routed = 0;
        c->bs.active = 0;
        c->bs.err_status = 0;
        c->bs.whole_given = 0;
        if (!app->has_stream || c->req.msg.body == CIO__HTTP_BODY_NONE ||
            !cio__http_body_stream_begin(c, (size_t)hl, body_deadline))
            end = read_body(c, (size_t)hl, body_deadline);
        if (end < 0) {
            if (end <= -400 && end >= -599) {
                if (c->in.p != before) /* refresh the head's views */
                    cio__http_parse_head(c->in.p + c->in_start, (size_t)hl, 0,
                                         &app->lim, &c->req.msg);
                return fail(c, (int)-end, 1);
            }
            return end == -EPIPE ? 0 : (int)end;
        }
        if (c->in.p != before) {
            /* The buffer moved: refresh the head's views. */
            size_t body_off = c->req.body ? (size_t)(c->req.body - c->in.p)
                                          : 0;
            cio__http_parse_head(c->in.p + c->in_start, (size_t)hl, 0,
                                 &app->lim, &c->req.msg);
            (void)body_off;
        }

        /* HTTP/2 by Upgrade: h2c (this request becomes stream 1). */
        if (c->req.msg.upgrade && app->h2_on) {
            int h2rc;
            if (cio__h2_upgrade(c, (size_t)end, &h2rc))
                return h2rc;
        }

        /* 3. The handler and the response. */
        c->msg_end = (size_t)end;
        int keep_alive = c->req.msg.keep_alive && !c->srv->closing;
        int r = dispatch(c, &keep_alive);
        c->keep_alive = NULL;
        if (c->bs.active) {
            /* What the handler did not read is drained (or the connection
             * closed): the next request is never mis-framed. The answer
             * goes first: the client may wait for it before sending the
             * rest. */
            if (!c->bs.dec.done && !c->bs.err && r == 0 && flush(c) < 0)
                keep_alive = 0;
            end = cio__http_body_stream_finish(c, &keep_alive);
            if (end == -ECANCELED && r == 0)
                r = -ECANCELED;
        }
        cio__http_request_done(&c->req);
        if (r == -ECANCELED)
            return r;
        if (r <= -400 && r >= -599)
            return fail(c, -r, 1);
        if (r == -EPIPE) /* a streamed response ended early */
            return 0;
        if (r < 0)
            return r;
        c->in_start = (size_t)end;
        if (!keep_alive) {
            flush(c);
            cio__http_io_shutdown(&c->io);
            return 0;
        }
        if (c->out.len >= OUT_FLUSH_AT && (r = flush(c)) < 0)
            return r;
    }
}

int cio__http_conn_main(void *arg, void **result)
{
    (void)result;
    conn *c = arg;
    /* HTTPS (https.c): the handshake first; ALPN "h2" goes to HTTP/2. */
    int r = c->app->tls ? cio__https_handshake(c) : 0;
    if (r == 1)
        r = cio__h2_serve(c);
    else if (r == 0)
        r = serve(c);
    conn_timer_stop(c);
    return r == -ECANCELED ? r : 0;
}
