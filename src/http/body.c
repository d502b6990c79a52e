/*
 * body.c - streamed request bodies (sanic's `stream=True` routes): the
 * handler of a CIO_HTTP_STREAM route reads the body in pieces as it
 * arrives with cio_http_request_read, instead of the server reading it
 * whole (up to max_body) before the handler runs.
 *
 * How: the server parses the head as always, then (only for requests with
 * a body, and only on apps that have a streamed route) looks the route up
 * before the body; if its handler streams, the body is left unread and the
 * handler runs at once. Each read decodes (Content-Length or chunked, the
 * same decoder as the whole-body path) first from the bytes already in the
 * connection's input buffer after the head, then from a separate buffer
 * (c->bs.sbuf, one READ_CHUNK) refilled from the socket. The input buffer
 * is never grown or moved while the handler runs, so the head's views stay
 * valid. Back-pressure is the socket's: nothing is read until the handler
 * asks, so a slow handler leaves the bytes in the kernel and TCP's window
 * stops the client. After the handler, what it left unread is drained (the
 * next request is never mis-framed) or, when that fails, the connection
 * is closed; bytes read past the body (a pipelined request) go back into
 * the input buffer.
 */
#include <errno.h>
#include <string.h>

#include "http_int.h"

int cio__http_body_stream_begin(conn *c, size_t head_len, int64_t deadline)
{
    cio_http_request *req = &c->req;
    cio__http_msg *m = &req->msg;
    if (m->target_len == 1 && m->target[0] == '*')
        return 0;
    unsigned mb = cio__http_method_bit(m->method, m->method_len);
    if (mb == CIO__M_OTHER || cio__http_split_target(req) < 0)
        return 0;
    cio__router_lookup(c->app->router, mb, req->path, req->path_len,
                       &req->match);
    c->routed = 1;
    route_target *t = req->match.handler;
    if (req->match.status || !t || !t->stream) {
        /* Read whole: the buffer may move, so dispatch looks it up again
         * on the refreshed views. */
        c->routed = 0;
        return 0;
    }
    memset(&c->bs.dec, 0, sizeof(c->bs.dec));
    cio__http_body_init(&c->bs.dec, m, &c->app->lim);
    c->bs.active = 1;
    c->bs.err = 0;
    c->bs.err_status = 0;
    c->bs.sent_continue = 0;
    c->bs.pos = c->in_start + head_len;
    c->bs.in_done = 0;
    c->bs.sbuf.len = 0;
    c->bs.spos = 0;
    c->bs.deadline = deadline;
    req->body = NULL;
    req->body_len = 0;
    return 1;
}

static ssize_t fail_read(conn *c, int err, int status)
{
    c->bs.err = err;
    if (status && !c->bs.err_status)
        c->bs.err_status = status;
    return err;
}

ssize_t cio_http_request_read(cio_http_request *req, const void **data)
{
    if (!data)
        return -EINVAL;
    *data = NULL;
    if (!req || !req->conn)
        return -EINVAL;
    conn *c = req->conn;
    if (!c->bs.active) {
        /* Not a streamed route: the body was read whole; hand it out
         * once, as one piece. */
        if (c->bs.whole_given || !req->body_len)
            return 0;
        c->bs.whole_given = 1;
        *data = req->body;
        return (ssize_t)req->body_len;
    }
    if (c->bs.err)
        return c->bs.err;
    for (;;) {
        if (c->bs.dec.done)
            return 0;
        const char *src;
        size_t avail;
        if (!c->bs.in_done) {
            src = c->in.p + c->bs.pos;
            avail = c->in.len - c->bs.pos;
        } else {
            src = c->bs.sbuf.p + c->bs.spos;
            avail = c->bs.sbuf.len - c->bs.spos;
        }
        if (avail) {
            const char *d = NULL;
            size_t dl = 0;
            long n = cio__http_body_decode(&c->bs.dec, src, avail, &d, &dl);
            if (n < 0)
                return n == -413
                           ? fail_read(c, CIO_EHTTP_BODY_TOO_LARGE, 413)
                           : fail_read(c, CIO_EHTTP_BODY_MALFORMED,
                                       (int)-n);
            if (!c->bs.in_done)
                c->bs.pos += (size_t)n;
            else
                c->bs.spos += (size_t)n;
            if (dl) {
                *data = d;
                return (ssize_t)dl;
            }
            if (c->bs.dec.done)
                return 0;
            if (n > 0 && (size_t)n < avail)
                continue;
        }
        /* More input needed: keep the unconsumed bytes (part of a chunk
         * line) at the start of sbuf and read after them. */
        if (!c->bs.in_done) {
            size_t rest = c->in.len - c->bs.pos;
            c->bs.sbuf.len = 0;
            c->bs.spos = 0;
            if (rest &&
                cio__hbuf_append(&c->bs.sbuf, c->in.p + c->bs.pos, rest) < 0)
                return -ENOMEM;
            c->bs.pos = c->in.len;
            c->bs.in_done = 1;
        } else if (c->bs.spos) {
            size_t rest = c->bs.sbuf.len - c->bs.spos;
            memmove(c->bs.sbuf.p, c->bs.sbuf.p + c->bs.spos, rest);
            c->bs.sbuf.len = rest;
            c->bs.spos = 0;
        }
        if (c->req.msg.expect_continue && !c->bs.sent_continue) {
            /* The handler wants the body: now ask the client for it. */
            c->bs.sent_continue = 1;
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            struct iovec v = {(void *)cont, sizeof(cont) - 1};
            ssize_t w = cio__http_io_try_writev(&c->io, &v, 1);
            int r = w < 0 ? (int)w
                    : (size_t)w < v.iov_len
                        ? cio__http_io_writev_rest(&c->io, &v, 1, (size_t)w)
                        : 0;
            if (r < 0)
                return fail_read(c, r, 0);
        }
        ssize_t got = cio__http_conn_read(c, &c->bs.sbuf, c->bs.deadline);
        if (got == 0)
            return fail_read(c, CIO_EHTTP_BODY_INCOMPLETE, 0);
        if (got == -ETIMEDOUT)
            return fail_read(c, -ETIMEDOUT, 408);
        if (got == -ECANCELED)
            return -ECANCELED; /* not latched: the caller may be shielded */
        if (got < 0)
            return fail_read(c, (int)got, 0);
    }
}

int cio_http_request_streamed(const cio_http_request *req)
{
    return req && req->conn && req->conn->bs.active;
}

long cio__http_body_stream_finish(conn *c, int *keep_alive)
{
    if (!c->bs.err && !c->bs.dec.done) {
        if (c->req.msg.expect_continue && !c->bs.sent_continue) {
            /* The client waits for our go-ahead and never got it: close
             * rather than ask for a body nobody reads. */
            *keep_alive = 0;
        } else {
            const void *d;
            ssize_t n;
            while ((n = cio_http_request_read(&c->req, &d)) > 0)
                ;
            if (n == -ECANCELED) {
                c->bs.active = 0;
                return -ECANCELED;
            }
        }
    }
    c->bs.active = 0;
    c->bs.whole_given = 0;
    if (c->bs.err || !c->bs.dec.done) {
        *keep_alive = 0;
        return (long)c->in.len;
    }
    if (!c->bs.in_done)
        return (long)c->bs.pos;
    /* Bytes read past the body belong to the next request. */
    long end = (long)c->in.len;
    size_t rest = c->bs.sbuf.len - c->bs.spos;
    if (rest &&
        cio__hbuf_append(&c->in, c->bs.sbuf.p + c->bs.spos, rest) < 0) {
        *keep_alive = 0;
        return end;
    }
    c->bs.sbuf.len = c->bs.spos = 0;
    return end;
}
