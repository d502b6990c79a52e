/*
 * client_h2.c - the HTTP client over HTTP/2 (nghttp2's client session):
 * one multiplexed connection per origin, chosen by ALPN "h2" on https or
 * by prior knowledge on http:// (cio_http_session_opts.http_version).
 *
 * Each connection has one reader task of its own: it receives, feeds
 * nghttp2_session_mem_recv and sends what nghttp2 queued (SETTINGS and
 * PING acknowledgements, WINDOW_UPDATE). Requests run in their callers'
 * tasks: they submit a stream, send, and wait on their stream's event for
 * the head and then the body, so cancelling one request touches only its
 * stream (RST_STREAM(CANCEL)), never the socket's reading. Whoever sends
 * (a request, a body read returning window, the reader, a small flush task
 * started by a release that may not suspend) drains nghttp2's output
 * under the flushing flag; a sender arriving meanwhile leaves its frames
 * to the one already sending.
 *
 * Flow control is real back-pressure: automatic WINDOW_UPDATE is off and
 * a stream's received bytes are given back to nghttp2
 * (nghttp2_session_consume) only when the caller reads them, so a caller
 * that does not read stops the server after the stream's window (1 MiB)
 * and memory stays bounded by it.
 */

#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"

#define H2_STREAM_WINDOW (1 << 20)
#define H2_CONN_WINDOW (16 << 20)
#define H2_RBUF 65536
#define H2_WBATCH 65536
#define H2_SRC_BUF 65536

struct hc_h2 {
    cio_http_session *s; /* NULL once the session closed */
    cio_loop *loop;
    hc_host *host; /* NULL once detached: GOAWAY, failure, session close */
    cio_socket *sock;
    int tls;
    nghttp2_session *ng;
    hc_h2s *streams; /* streams of responses and requests in flight */
    int refs;        /* the reader task, the streams, flush tasks */
    int dead;        /* no more I/O; err says why */
    int err;
    int goaway; /* GOAWAY received */
    uint32_t goaway_code;
    int flushing;
    size_t max_head, max_headers, max_field;
    char *rbuf;
    char *wbuf;
    size_t wlen, wcap;
};

struct hc_h2s {
    hc_h2s *next;
    hc_h2 *c;
    int32_t id;
    cio_event ev;
    /* the response head: name \0 value \0 ... */
    hc_buf hb;
    size_t nh;
    int status;
    int headers_done, closed, refused, err;
    int orphan; /* released before nghttp2 closed it: freed at its close */
    /* the trailers: "name: value\r\n" lines */
    hc_buf tb;
    size_t ntb;
    /* the body received, not yet handed out; and the piece handed out */
    hc_buf body, taken;
    /* the request body */
    const char *bp;
    size_t blen, boff;
    int fd;
    int64_t file_left;
    int src;
    char *ob;
    size_t olen, ooff;
    int oeof, deferred;
    int fuzz_head; /* the fuzz target built the head */
};

static void wake(hc_h2s *st)
{
    cio_event_set(&st->ev);
}

static int wait_stream(hc_h2s *st)
{
    cio_event_clear(&st->ev);
    return cio_event_wait(&st->ev);
}

static void stream_free(hc_h2s *st);

static void conn_free(hc_h2 *c)
{
    nghttp2_session_del(c->ng);
    while (c->streams) { /* orphans only: the others hold references */
        hc_h2s *st = c->streams;
        c->streams = st->next;
        stream_free(st);
    }
    if (c->sock)
        cio_socket_close(c->sock);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

static void unref(hc_h2 *c)
{
    if (--c->refs == 0)
        conn_free(c);
}

/* No new streams go to c from here on. */
static void detach_host(hc_h2 *c)
{
    hc_host *h = c->host;
    if (!h)
        return;
    c->host = NULL;
    if (h->h2 == c)
        h->h2 = NULL;
    h->nopen--;
    if (c->s) {
        c->s->nopen--;
        cio__hc_slot_freed(c->s);
    }
}

/* The connection is over: every open stream fails with err, the reader
 * wakes up (the socket is shut down) and ends it. Never suspends. */
static void conn_fail(hc_h2 *c, int err)
{
    if (c->dead)
        return;
    c->dead = 1;
    c->err = err;
    for (hc_h2s *st = c->streams; st; st = st->next)
        if (!st->closed && !st->orphan) {
            st->closed = 1;
            if (!st->err)
                st->err = err;
            wake(st);
        }
    detach_host(c);
    int fd = cio_socket_fileno(c->sock);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

/* Sends everything nghttp2 has queued. A caller arriving while another
 * task sends returns at once: the sender's loop takes its frames too. */
static int flush(hc_h2 *c)
{
    if (c->dead)
        return c->err;
    if (c->flushing)
        return 0;
    c->flushing = 1;
    int r = 0;
    for (;;) {
        c->wlen = 0;
        while (c->wlen < H2_WBATCH) {
            const uint8_t *d;
            ssize_t n = nghttp2_session_mem_send(c->ng, &d);
            if (n < 0) {
                r = CIO_EHTTPC_H2_PROTO;
                break;
            }
            if (n == 0)
                break;
            if (c->wlen + (size_t)n > c->wcap) {
                size_t cap = c->wcap ? c->wcap : 16384;
                while (cap < c->wlen + (size_t)n)
                    cap *= 2;
                char *p = realloc(c->wbuf, cap);
                if (!p) {
                    r = -ENOMEM;
                    break;
                }
                c->wbuf = p;
                c->wcap = cap;
            }
            memcpy(c->wbuf + c->wlen, d, (size_t)n);
            c->wlen += (size_t)n;
        }
        if (r < 0 || c->wlen == 0)
            break;
        r = cio_socket_sendall(c->sock, c->wbuf, c->wlen,
                               c->tls ? 0 : MSG_NOSIGNAL);
        if (r < 0)
            break;
    }
    c->flushing = 0;
    if (r < 0) /* a frame may be cut: the connection cannot go on */
        conn_fail(c, r == -ECANCELED ? CIO_EHTTPC_DISCONNECTED : r);
    return r;
}

static int flush_main(void *arg, void **res)
{
    (void)res;
    hc_h2 *c = arg;
    flush(c);
    unref(c);
    return 0;
}

/* Sends queued frames from a call that may not suspend: a task does. */
static void kick_flush(hc_h2 *c)
{
    if (c->dead || c->flushing || !nghttp2_session_want_write(c->ng))
        return;
    c->refs++;
    if (cio_task_create(c->loop, (cio_coro){flush_main, c}, NULL, NULL) < 0)
        c->refs--;
}

/* ---- nghttp2 callbacks ---------------------------------------------------- */

static int on_header(nghttp2_session *ng, const nghttp2_frame *frame,
                     const uint8_t *name, size_t nl, const uint8_t *value,
                     size_t vl, uint8_t flags, void *ud)
{
    (void)flags;
    hc_h2 *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    hc_h2s *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!st || st->orphan)
        return 0;
    if (st->headers_done) { /* trailers (nghttp2 refuses pseudo-fields) */
        if (st->tb.len + nl + vl + 4 > c->max_head ||
            st->ntb + 1 > c->max_headers || nl + vl + 2 > c->max_field) {
            st->err = CIO_EHTTPC_TRAILERS_TOO_LARGE;
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets it */
        }
        /* kept as HTTP/1.1 trailer lines: one splitting for both */
        cio__hc_buf_add(&st->tb, name, nl);
        cio__hc_buf_add(&st->tb, ": ", 2);
        cio__hc_buf_add(&st->tb, value, vl);
        cio__hc_buf_add(&st->tb, "\r\n", 2);
        if (st->tb.oom) {
            st->err = -ENOMEM;
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        st->ntb++;
        return 0;
    }
    if (nl == 7 && !memcmp(name, ":status", 7)) {
        if (vl != 3 || value[0] < '1' || value[0] > '5' || value[1] < '0' ||
            value[1] > '9' || value[2] < '0' || value[2] > '9')
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        st->status = (value[0] - '0') * 100 + (value[1] - '0') * 10 +
                     (value[2] - '0');
        return 0;
    }
    if (nl && name[0] == ':')
        return 0;
    if (st->hb.len + nl + vl + 2 > c->max_head ||
        st->nh + 1 > c->max_headers || nl + vl + 2 > c->max_field) {
        st->err = CIO_EHTTPC_HEAD_TOO_LARGE;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    }
    cio__hc_buf_add(&st->hb, name, nl);
    cio__hc_buf_add(&st->hb, "", 1);
    cio__hc_buf_add(&st->hb, value, vl);
    cio__hc_buf_add(&st->hb, "", 1);
    if (st->hb.oom) {
        st->err = -ENOMEM;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    st->nh++;
    return 0;
}

static int on_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame,
                         void *ud)
{
    hc_h2 *c = ud;
    if (frame->hd.type == NGHTTP2_GOAWAY) {
        c->goaway = 1;
        c->goaway_code = frame->goaway.error_code;
        detach_host(c); /* new requests open another connection */
        return 0;
    }
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    hc_h2s *st = nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id);
    if (!st || st->headers_done || st->orphan)
        return 0;
    if (st->status >= 100 && st->status < 200) { /* interim: the next one */
        st->hb.len = 0;
        st->nh = 0;
        st->status = 0;
        return 0;
    }
    if (!st->status)
        return 0; /* nghttp2's messaging checks reset such a stream */
    st->headers_done = 1;
    wake(st);
    return 0;
}

static int on_data(nghttp2_session *ng, uint8_t flags, int32_t id,
                   const uint8_t *data, size_t len, void *ud)
{
    (void)flags, (void)ud;
    hc_h2s *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st || st->orphan) { /* released: give the window back at once */
        nghttp2_session_consume(ng, id, len);
        return 0;
    }
    cio__hc_buf_add(&st->body, data, len);
    if (st->body.oom) {
        st->err = -ENOMEM;
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    wake(st);
    return 0;
}

static int on_stream_close(nghttp2_session *ng, int32_t id, uint32_t code,
                           void *ud)
{
    hc_h2 *c = ud;
    hc_h2s *st = nghttp2_session_get_stream_user_data(ng, id);
    if (!st)
        return 0;
    if (st->orphan) { /* nghttp2 is done with its data source: free it */
        for (hc_h2s **pp = &c->streams; *pp; pp = &(*pp)->next)
            if (*pp == st) {
                *pp = st->next;
                break;
            }
        stream_free(st);
        return 0;
    }
    st->closed = 1;
    if (code == NGHTTP2_REFUSED_STREAM && !st->headers_done)
        st->refused = 1; /* never processed (GOAWAY or refusal): retryable */
    else if (code != NGHTTP2_NO_ERROR && !st->err)
        st->err = CIO_EHTTPC_H2_RESET;
    else if (!st->headers_done && !st->err)
        st->err = CIO_EHTTPC_H2_RESET;
    wake(st);
    return 0;
}

/* The request body, as nghttp2 asks for it (never suspends). */
static ssize_t body_read(nghttp2_session *ng, int32_t id, uint8_t *buf,
                         size_t len, uint32_t *flags, nghttp2_data_source *src,
                         void *ud)
{
    (void)ng, (void)id, (void)ud;
    hc_h2s *st = src->ptr;
    if (st->bp) {
        size_t n = st->blen - st->boff < len ? st->blen - st->boff : len;
        memcpy(buf, st->bp + st->boff, n);
        st->boff += n;
        if (st->boff == st->blen)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (st->fd >= 0) {
        size_t want = (uint64_t)st->file_left < len ? (size_t)st->file_left
                                                    : len;
        ssize_t n = want ? read(st->fd, buf, want) : 0;
        if (want && n <= 0) {
            st->err = n < 0 ? -errno : -EIO; /* the file shrank */
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        }
        st->file_left -= n;
        if (st->file_left == 0)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        return n;
    }
    if (st->src) {
        size_t n = st->olen - st->ooff < len ? st->olen - st->ooff : len;
        memcpy(buf, st->ob + st->ooff, n);
        st->ooff += n;
        if (st->ooff == st->olen) {
            if (st->oeof) {
                *flags |= NGHTTP2_DATA_FLAG_EOF;
            } else {
                wake(st); /* the request's task fills the buffer again */
                if (!n) {
                    st->deferred = 1;
                    return NGHTTP2_ERR_DEFERRED;
                }
            }
        }
        return (ssize_t)n;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
}

/* ---- the connection -------------------------------------------------------- */

static int reader_main(void *arg, void **res)
{
    (void)res;
    hc_h2 *c = arg;
    while (!c->dead) {
        int64_t idle = c->s ? c->s->o.keepalive_timeout : 0;
        ssize_t n;
        if (!c->streams && idle > 0) { /* an idle connection expires */
            cio_timeout to;
            int e = cio_timeout_begin(&to, idle);
            if (e < 0) {
                conn_fail(c, e);
                break;
            }
            n = cio_socket_recv(c->sock, c->rbuf, H2_RBUF, 0);
            e = cio_timeout_end(&to, n < 0 ? (int)n : 0);
            if (e == -ETIMEDOUT && cio_timeout_expired(&to)) {
                if (!c->streams) {
                    conn_fail(c, CIO_EHTTPC_CLOSED);
                    break;
                }
                continue;
            }
            if (e < 0)
                n = e;
        } else {
            n = cio_socket_recv(c->sock, c->rbuf, H2_RBUF, 0);
        }
        if (n <= 0) {
            conn_fail(c, n == 0 || n == -ECANCELED ? CIO_EHTTPC_DISCONNECTED
                                                   : (int)n);
            break;
        }
        ssize_t rv = nghttp2_session_mem_recv(c->ng, (uint8_t *)c->rbuf,
                                              (size_t)n);
        if (rv < 0) {
            flush(c); /* nghttp2's GOAWAY, if it queued one */
            conn_fail(c, CIO_EHTTPC_H2_PROTO);
            break;
        }
        flush(c);
        if (!c->dead && !nghttp2_session_want_read(c->ng) &&
            !nghttp2_session_want_write(c->ng)) {
            /* nghttp2 ended the session: our GOAWAY after a protocol
             * error, or theirs once nothing is left */
            conn_fail(c, c->goaway ? (c->goaway_code ? CIO_EHTTPC_H2_GOAWAY
                                                     : CIO_EHTTPC_DISCONNECTED)
                                   : CIO_EHTTPC_H2_PROTO);
            break;
        }
    }
    unref(c);
    return 0;
}

/* nghttp2's client session of c with cio's callbacks and SETTINGS
 * (max_head bounds the header list the server may send). The one setup
 * of the real connections and of the fuzz target. */
static int session_new(hc_h2 *c, size_t max_head)
{
    nghttp2_session_callbacks *cb = NULL;
    nghttp2_option *opt = NULL;
    int r = -ENOMEM;
    if (nghttp2_session_callbacks_new(&cb) != 0 || nghttp2_option_new(&opt))
        goto out;
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb,
                                                           on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 4096);
    if (nghttp2_session_client_new2(&c->ng, cb, c, opt) != 0)
        goto out;
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         (uint32_t)(max_head > UINT32_MAX ? UINT32_MAX : max_head)},
    };
    if (nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, 3) != 0 ||
        nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0,
                                              H2_CONN_WINDOW) != 0)
        goto out;
    r = 0;
out:
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    return r;
}

int cio__hc_h2_open(cio_http_session *s, hc_host *h, cio_socket *sock)
{
    hc_h2 *c = calloc(1, sizeof(*c));
    int r = -ENOMEM;
    if (!c || !(c->rbuf = malloc(H2_RBUF)))
        goto fail;
    c->s = s;
    c->loop = s->loop;
    c->sock = sock;
    c->tls = cio_socket_tls(sock) != NULL;
    c->max_head = s->o.max_head;
    c->max_headers = s->o.max_headers;
    c->max_field = s->o.max_field;
    if ((r = session_new(c, s->o.max_head)) < 0)
        goto fail;
    c->refs = 1; /* the reader's */
    r = cio_task_create(s->loop, (cio_coro){reader_main, c}, NULL, NULL);
    if (r < 0)
        goto fail;
    c->host = h;
    h->h2 = c;
    return 0;
fail:
    if (c) {
        c->sock = NULL;
        conn_free(c);
    }
    cio_socket_close(sock);
    return r;
}

int cio__hc_h2_usable(const hc_h2 *c)
{
    return c && !c->dead && !c->goaway && c->host;
}

void cio__hc_h2_detach(hc_h2 *c)
{
    c->s = NULL;
    conn_fail(c, CIO_EHTTPC_CLOSED);
}

/* ---- requests -------------------------------------------------------------- */

static void stream_free(hc_h2s *st)
{
    if (st->fd >= 0)
        close(st->fd);
    free(st->hb.p);
    free(st->tb.p);
    free(st->body.p);
    free(st->taken.p);
    free(st->ob);
    cio_event_destroy(&st->ev);
    free(st);
}

/* Turns the HTTP/1.1 head into HTTP/2 fields (RFC 9113 8.2.2: no
 * connection-specific fields; names in lower case). */
static int head_to_nv(const hc_h2_req *q, nghttp2_nv **out, size_t *nout,
                      char **store)
{
    const char *p = q->head, *end = q->head + q->head_len;
    size_t lines = 0;
    for (const char *x = p; x < end; x++)
        lines += *x == '\n';
    nghttp2_nv *nv = calloc(lines + 4, sizeof(*nv));
    char *low = malloc(q->head_len + 1);
    if (!nv || !low) {
        free(nv);
        free(low);
        return -ENOMEM;
    }
    memcpy(low, q->head, q->head_len);
    low[q->head_len] = '\0'; /* strstr below stops here */
    size_t n = 0;
    /* request line: METHOD SP target SP HTTP/1.1 */
    char *sp1 = memchr(low, ' ', q->head_len);
    char *eol = strstr(low, "\r\n");
    char *sp2 = eol ? memrchr(low, ' ', (size_t)(eol - low)) : NULL;
    if (!sp1 || !sp2 || sp2 <= sp1) {
        free(nv);
        free(low);
        return -EINVAL;
    }
    nv[n++] = (nghttp2_nv){(uint8_t *)":method", (uint8_t *)low, 7,
                           (size_t)(sp1 - low), NGHTTP2_NV_FLAG_NONE};
    nv[n++] = (nghttp2_nv){(uint8_t *)":scheme", (uint8_t *)q->scheme, 7,
                           strlen(q->scheme), NGHTTP2_NV_FLAG_NONE};
    size_t authority = n++;
    nv[authority] = (nghttp2_nv){(uint8_t *)":authority", (uint8_t *)"", 10, 0,
                                 NGHTTP2_NV_FLAG_NONE};
    nv[n++] = (nghttp2_nv){(uint8_t *)":path", (uint8_t *)sp1 + 1, 5,
                           (size_t)(sp2 - sp1 - 1), NGHTTP2_NV_FLAG_NONE};
    char *line = eol + 2;
    char *lend = low + q->head_len;
    while (line < lend) {
        char *le = strstr(line, "\r\n");
        if (!le || le == line)
            break;
        char *colon = memchr(line, ':', (size_t)(le - line));
        if (!colon) {
            line = le + 2;
            continue;
        }
        size_t nl = (size_t)(colon - line);
        for (size_t i = 0; i < nl; i++)
            if (line[i] >= 'A' && line[i] <= 'Z')
                line[i] = (char)(line[i] + 32);
        char *v = colon + 1;
        while (v < le && (*v == ' ' || *v == '\t'))
            v++;
        size_t vl = (size_t)(le - v);
#define IS(lit) (nl == sizeof(lit) - 1 && !memcmp(line, lit, nl))
        if (IS("host")) {
            nv[authority].value = (uint8_t *)v;
            nv[authority].valuelen = vl;
        } else if (!IS("connection") && !IS("keep-alive") &&
                   !IS("proxy-connection") && !IS("transfer-encoding") &&
                   !IS("upgrade") && !IS("expect") && !IS("te")) {
            nv[n++] = (nghttp2_nv){(uint8_t *)line, (uint8_t *)v, nl, vl,
                                   NGHTTP2_NV_FLAG_NONE};
        }
#undef IS
        line = le + 2;
    }
    *out = nv;
    *nout = n;
    *store = low;
    return 0;
}

/* Waits on st's event within the response's sock_read deadline. */
static int wait_read(cio_http_client_response *r, hc_h2s *st)
{
    if (r->sock_read <= 0 || !r->s)
        return wait_stream(st);
    cio_timeout to;
    int e = cio_timeout_begin(&to, r->sock_read);
    if (e < 0)
        return e;
    e = wait_stream(st);
    e = cio_timeout_end(&to, e);
    if (e == -ETIMEDOUT && cio_timeout_expired(&to))
        return CIO_EHTTPC_READ_TIMEOUT;
    return e;
}

/* r's head from st's received fields, as client_body.c keeps an HTTP/1.1
 * one. */
static int head_build(hc_h2s *st, cio_http_client_response *r)
{
    char *head = malloc(st->hb.len + 1);
    cio__http_header *h = calloc(st->nh ? st->nh : 1, sizeof(*h));
    if (!head || !h) {
        free(head);
        free(h);
        return -ENOMEM;
    }
    if (st->hb.len)
        memcpy(head, st->hb.p, st->hb.len);
    head[st->hb.len] = 0;
    const char *p = head;
    for (size_t i = 0; i < st->nh; i++) {
        h[i].name = p;
        h[i].name_len = strlen(p);
        p += h[i].name_len + 1;
        h[i].value = p;
        h[i].value_len = strlen(p);
        p += h[i].value_len + 1;
    }
    free(r->head);
    free(r->hdrs);
    r->head = head;
    r->hdrs = h;
    r->nhdrs = st->nh;
    r->status = st->status;
    r->version = 20;
    r->reason = "";
    r->reason_len = 0;
    r->keep_alive = 1;
    r->content_length = -1;
    size_t vl;
    const char *cl = cio_http_client_response_header(r, "content-length", 0,
                                                     &vl);
    if (cl) {
        int64_t v = 0;
        for (size_t i = 0; i < vl && v >= 0; i++)
            v = cl[i] >= '0' && cl[i] <= '9' && v < INT64_MAX / 10
                    ? v * 10 + (cl[i] - '0')
                    : -1;
        r->content_length = vl ? v : -1;
    }
    if (r->head_req || r->status == 204 || r->status == 304)
        r->content_length = r->content_length < 0 ? 0 : r->content_length;
    return 0;
}

int cio__hc_h2_exchange(hc_h2 *c, const hc_h2_req *q,
                        cio_http_client_response *r, int *refused)
{
    *refused = 0;
    hc_h2s *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    st->c = c;
    st->fd = -1;
    cio_event_init(&st->ev);
    nghttp2_data_provider prd;
    prd.source.ptr = st;
    prd.read_callback = body_read;
    int data = 0;
    if (q->has_body) {
        if (q->source) {
            st->src = 1;
            st->ob = malloc(H2_SRC_BUF);
            if (!st->ob) {
                stream_free(st);
                return -ENOMEM;
            }
            data = 1;
        } else if (q->file) {
            st->fd = open(q->file, O_RDONLY | O_CLOEXEC);
            if (st->fd < 0) {
                int e = -errno;
                stream_free(st);
                return e;
            }
            st->file_left = q->file_len;
            data = q->file_len > 0;
        } else if (q->blen) {
            st->bp = q->bp;
            st->blen = q->blen;
            data = 1;
        }
    }
    nghttp2_nv *nv;
    size_t nn;
    char *store;
    int e = head_to_nv(q, &nv, &nn, &store);
    if (e < 0) {
        stream_free(st);
        return e;
    }
    if (!cio__hc_h2_usable(c)) {
        free(nv);
        free(store);
        stream_free(st);
        *refused = 1; /* it went away between acquire and here */
        return CIO_EHTTPC_H2_GOAWAY;
    }
    int32_t id =
        nghttp2_submit_request(c->ng, NULL, nv, nn, data ? &prd : NULL, st);
    free(nv);
    free(store);
    if (id < 0) {
        stream_free(st);
        return id == NGHTTP2_ERR_NOMEM ? -ENOMEM : CIO_EHTTPC_H2_PROTO;
    }
    st->id = id;
    st->next = c->streams;
    c->streams = st;
    c->refs++;
    r->h2s = st; /* released by the caller on any failure below */
    e = flush(c);
    if (e == -ECANCELED)
        return e;
    /* a coroutine source: fill the buffer each time nghttp2 drained it */
    while (st->src && !st->oeof && !st->closed) {
        if (st->ooff < st->olen) {
            if ((e = wait_stream(st)) < 0)
                return e;
            continue;
        }
        ssize_t n = q->source(q->source_arg, st->ob, H2_SRC_BUF);
        if (st->closed)
            break;
        if (n < 0)
            return (int)n; /* the caller's release resets the stream */
        st->ooff = 0;
        st->olen = (size_t)n;
        if (n == 0)
            st->oeof = 1;
        if (st->deferred) {
            st->deferred = 0;
            nghttp2_session_resume_data(c->ng, id);
        }
        if ((e = flush(c)) < 0)
            break;
    }
    while (!st->headers_done && !st->closed)
        if ((e = wait_read(r, st)) < 0)
            return e;
    if (!st->headers_done) {
        *refused = st->refused;
        if (st->refused)
            return CIO_EHTTPC_H2_GOAWAY;
        return st->err ? st->err : CIO_EHTTPC_H2_RESET;
    }
    return head_build(st, r);
}

int cio__hc_h2_raw_next(cio_http_client_response *r, const char **d,
                        size_t *n)
{
    hc_h2s *st = r->h2s;
    if (!st)
        return r->err ? r->err : CIO_EHTTPC_DISCONNECTED;
    hc_h2 *c = st->c;
    for (;;) {
        if (st->body.len) {
            hc_buf t = st->taken; /* the reader appends to body only */
            st->taken = st->body;
            st->body = t;
            st->body.len = 0;
            *d = st->taken.p;
            *n = st->taken.len;
            if (!c->dead) {
                nghttp2_session_consume(c->ng, st->id, st->taken.len);
                flush(c); /* WINDOW_UPDATE: the server may send more */
            }
            return 1;
        }
        if (st->closed) {
            if (st->err)
                return st->err;
            free(r->trl.p); /* the trailers go to the response */
            r->trl = st->tb;
            memset(&st->tb, 0, sizeof(st->tb));
            r->raw_done = 1;
            return 0;
        }
        int e = wait_read(r, st);
        if (e < 0)
            return e;
    }
}

void cio__hc_h2_release(cio_http_client_response *r)
{
    hc_h2s *st = r->h2s;
    if (!st)
        return;
    r->h2s = NULL;
    hc_h2 *c = st->c;
    if (!c->dead) {
        if (st->body.len) /* received, never read: the window back */
            nghttp2_session_consume(c->ng, st->id, st->body.len);
        st->body.len = 0;
        if (!st->closed) {
            /* nghttp2 may still read its body source until the reset is
             * out: st lives on until on_stream_close (or the end of c) */
            nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id,
                                      NGHTTP2_CANCEL);
            st->orphan = 1;
            kick_flush(c);
            unref(c);
            return;
        }
        kick_flush(c);
    }
    for (hc_h2s **pp = &c->streams; *pp; pp = &(*pp)->next)
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    stream_free(st);
    unref(c);
}

/* ---- the fuzz target's entry ------------------------------------------------ */

/* Emulates what the reader task and the requests' tasks do after a
 * receive, without a loop: nghttp2's output is taken and dropped (as
 * flush() would send it), each stream's head is built once it is
 * complete and each body piece is read and its window given back (as
 * cio__hc_h2_raw_next). */
static void fuzz_after_recv(hc_h2 *c)
{
    const uint8_t *d;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(c->ng, &d)) > 0)
        ;
    if (n < 0)
        conn_fail(c, CIO_EHTTPC_H2_PROTO);
    for (hc_h2s *st = c->streams; st; st = st->next) {
        if (st->headers_done && !st->fuzz_head) {
            cio_http_client_response r;
            memset(&r, 0, sizeof(r));
            if (head_build(st, &r) == 0)
                (void)cio_http_client_response_header(&r, "content-type", 0,
                                                       NULL);
            free(r.head);
            free(r.hdrs);
            st->fuzz_head = 1;
        }
        if (st->body.len && !c->dead) {
            nghttp2_session_consume(c->ng, st->id, st->body.len);
            st->body.len = 0;
        }
    }
}

int cio__hc_h2_fuzz(const uint8_t *data, size_t len, size_t piece)
{
    hc_h2 *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->max_head = 4096;
    c->max_headers = 32;
    c->max_field = 4096;
    c->refs = 1;
    int r = session_new(c, c->max_head);
    /* three requests in flight: a GET, a POST with a body larger than one
     * DATA frame (the server's WINDOW_UPDATE and SETTINGS matter), a HEAD */
    static char big[40000];
    static const struct {
        const char *head;
        int body;
    } reqs[] = {
        {"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n", 0},
        {"POST /b HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain\r\n"
         "Connection: keep-alive\r\n\r\n",
         1},
        {"HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", 0},
    };
    for (size_t i = 0; r == 0 && i < sizeof(reqs) / sizeof(reqs[0]); i++) {
        hc_h2_req q;
        memset(&q, 0, sizeof(q));
        q.head = reqs[i].head;
        q.head_len = strlen(q.head);
        q.scheme = "http";
        if (reqs[i].body) {
            q.has_body = 1;
            q.bp = big;
            q.blen = sizeof(big);
        }
        hc_h2s *st = calloc(1, sizeof(*st));
        if (!st) {
            r = -ENOMEM;
            break;
        }
        st->c = c;
        st->fd = -1;
        cio_event_init(&st->ev);
        st->bp = q.bp;
        st->blen = q.blen;
        nghttp2_data_provider prd;
        prd.source.ptr = st;
        prd.read_callback = body_read;
        nghttp2_nv *nv;
        size_t nn;
        char *store;
        if ((r = head_to_nv(&q, &nv, &nn, &store)) < 0) {
            stream_free(st);
            break;
        }
        int32_t id = nghttp2_submit_request(c->ng, NULL, nv, nn,
                                            q.has_body ? &prd : NULL, st);
        free(nv);
        free(store);
        if (id < 0) {
            stream_free(st);
            r = CIO_EHTTPC_H2_PROTO;
            break;
        }
        st->id = id;
        st->next = c->streams;
        c->streams = st;
    }
    if (r == 0)
        fuzz_after_recv(c); /* the preface, SETTINGS, the requests */
    if (piece == 0)
        piece = len ? len : 1;
    for (size_t off = 0; r == 0 && !c->dead && off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        ssize_t rv = nghttp2_session_mem_recv(c->ng, data + off, n);
        if (rv < 0) {
            conn_fail(c, CIO_EHTTPC_H2_PROTO);
            r = CIO_EHTTPC_H2_PROTO;
            break;
        }
        fuzz_after_recv(c);
        if (!c->dead && !nghttp2_session_want_read(c->ng) &&
            !nghttp2_session_want_write(c->ng)) { /* as reader_main */
            r = c->goaway ? (c->goaway_code ? CIO_EHTTPC_H2_GOAWAY
                                            : CIO_EHTTPC_DISCONNECTED)
                          : CIO_EHTTPC_H2_PROTO;
            conn_fail(c, r);
        }
    }
    /* every stream released as its caller would: open ones reset */
    if (!c->dead)
        for (hc_h2s *st = c->streams; st; st = st->next)
            if (!st->closed)
                nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id,
                                          NGHTTP2_CANCEL);
    if (!c->dead)
        fuzz_after_recv(c);
    conn_free(c); /* the session, then every stream */
    return r;
}
