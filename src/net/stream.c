/*
 * stream.c - asyncio's StreamReader/StreamWriter pair on one awaitable
 * descriptor (net/afd.h), for tasks.
 *
 * How: the reader reads only when a task asks. read(n) with nothing
 * buffered goes straight into the caller's buffer (no copy); readline and
 * readuntil fill the reader's own buffer, bounded by the limit.
 * Readiness is cleared on EAGAIN, and on a short read unless the peer's
 * FIN has been reported (CIO__EV_RDHUP): with edge-triggered registration
 * a FIN that arrives with the last data makes no edge of its own, so only
 * then must the reader read on to the end of file (cio__afd_short_read).
 * The writer sends at once and buffers only what the kernel refused; the loop flushes that
 * tail from the descriptor's write edge, in the poll, without a task, so
 * data written without a drain still goes out. drain waits only above the
 * high water mark, until the flush brings the buffer down to the low one.
 *
 * A reader made by cio_stream_reader_new has no descriptor (fd -1, never
 * registered): feed_data appends to the same buffer, and a reading task
 * parks on feed_wq instead of the read edge; every read call goes through
 * the same buffer and fill(), so all of them work on it unchanged.
 *
 * One allocation holds both halves and the descriptor. Each half is ended
 * by its _free; the open descriptor holds a reference too, so the memory
 * goes when both halves are freed and the descriptor is closed (a close
 * with buffered output closes only after the flush).
 *
 * Rejected: streams on top of transports with a protocol feeding the
 * reader (asyncio's layering): every byte would cross a callback and a
 * copy into the reader's buffer before the task could see it. Rejected: a
 * reader that reads ahead in the background: it would need a buffer per
 * idle connection and could not read into the caller's memory.
 */
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/impl.h"
#include "net/conn.h"
#include "net/tls.h"

struct cio_stream_reader {
    char tag_;
};
struct cio_stream_writer {
    char tag_;
};

typedef struct stream {
    cio__fdstream fs; /* the descriptor, its byte stream and readiness */
    cio__bstream *bs; /* what bytes move through: &fs.bs, or TLS over it */
    cio_tls_conn *tls;
    cio__ulayer *ul; /* cio_stream_push_bstream (cio/impl.h), over bs */
    cio_loop *loop;
    uint32_t refs; /* live halves + 1 while the descriptor is open */
    uint8_t has_r, has_w, rfree, wfree;
    uint8_t eof;         /* the peer's end of file was read */
    uint8_t closing;     /* close requested: flush, then close */
    uint8_t closed;      /* descriptor closed */
    uint8_t eof_pending; /* write_eof once flushed */
    uint8_t eof_sent;
    uint8_t linked;
    uint8_t fed;         /* made by cio_stream_reader_new: no descriptor */
    int err;             /* sticky connection error */
    int xerr;            /* set_exception: every read fails with it */
    cio__waitq feed_wq;  /* a task waiting for feed_data (fed readers) */
    /* reader */
    char *rbuf;
    size_t rstart, rend, rcap, limit;
    /* writer */
    cio__wbuf wb;
    size_t high, low, cap;
    cio__waitq drain_wq, closed_wq;
    cio__srvlink sl;
    struct cio_stream_reader r;
    struct cio_stream_writer w;
} stream;

#define R2S(x) cio__container_of((x), stream, r)
#define W2S(x) cio__container_of((x), stream, w)

/* ------------------------------------------------------------ lifetime */

static void stream_unref(stream *c)
{
    if (--c->refs)
        return;
    if (c->linked) {
        c->linked = 0;
        cio__server_unlink(&c->sl);
    }
    cio__free(c->rbuf);
    cio__wbuf_free(&c->wb);
    cio__ulayer_free(c->ul);
    cio__tls_free(c->tls);
    cio__free(c);
}

/* Closes the descriptor (once): wakes everyone waiting on the stream.
 * May free c. */
static void close_fd(stream *c)
{
    if (c->closed)
        return;
    c->closed = 1;
    c->closing = 1;
    cio__bs_close(c->bs);
    cio__wbuf_free(&c->wb);
    cio__waitq_wake_all(&c->drain_wq, CIO__W_GRANTED, 0);
    cio__waitq_wake_all(&c->closed_wq, CIO__W_GRANTED, 0);
    cio__waitq_wake_all(&c->feed_wq, CIO__W_GRANTED, 0);
    stream_unref(c);
}

/* The connection is lost with err: kept for every later call. */
static void fail(stream *c, int err)
{
    if (!c->err)
        c->err = err;
    close_fd(c);
}

static void do_write_eof(stream *c)
{
    c->eof_pending = 0;
    c->eof_sent = 1;
    if (!c->fs.is_sock) { /* a write-only pipe: EOF is the close */
        close_fd(c);
        return;
    }
    int r = cio__bs_shutdown_write(c->bs);
    if (r < 0)
        fail(c, r);
}

/* After the buffer shrank: wakes drainers, finishes a pending write_eof or
 * close. May free c. */
static void after_flush(stream *c)
{
    size_t len = cio__wbuf_len(&c->wb);
    if (len <= c->low)
        cio__waitq_wake_all(&c->drain_wq, CIO__W_GRANTED, 0);
    if (len)
        return;
    if (c->eof_pending)
        do_write_eof(c);
    if (c->closing && !c->closed)
        close_fd(c);
}

/* Flushes the buffered tail. May free c. */
static void flush(stream *c)
{
    int again;
    int r = cio__wbuf_flush(&c->wb, c->bs, &again);
    if (r < 0) {
        fail(c, r);
        return;
    }
    after_flush(c);
}

static void wake_dir(cio__afd *a, int d)
{
    cio__task *t = a->waiter[d];
    if (t) {
        a->waiter[d] = NULL;
        cio__unpark(t, 0);
    }
}

/* From the poll: wake the reader (and a connecting writer), then flush.
 * No user code runs here. */
static void stream_event(cio__afd *a, unsigned rev)
{
    stream *c = cio__container_of(a, stream, fs.afd);
    if (rev & CIO__EV_READ)
        wake_dir(a, 0);
    if (rev & CIO__EV_WRITE) {
        wake_dir(a, 1);
        if (cio__wbuf_len(&c->wb))
            flush(c); /* last: may free c */
    }
}

static void srv_close(cio__srvlink *l, int abort)
{
    stream *c = cio__container_of(l, stream, sl);
    if (c->closed)
        return;
    if (abort) {
        close_fd(c);
        return;
    }
    c->closing = 1;
    if (!cio__wbuf_len(&c->wb))
        close_fd(c);
}

/* Makes a stream on fd (taken on success). */
static int stream_new(cio_loop *loop, int fd, int want_r, int want_w,
                      const cio_conn_opts *opts, int register_fd,
                      stream **out)
{
    cio_conn_opts o;
    int r = cio__conn_opts_fix(opts, &o);
    if (r < 0)
        return r;
    stream *c = cio__calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->loop = loop;
    cio__fdstream_init(&c->fs, fd, 0);
    c->bs = &c->fs.bs;
    c->limit = o.limit;
    c->high = o.high_water;
    c->low = o.low_water;
    c->cap = o.write_cap;
    c->has_r = (uint8_t)want_r;
    c->has_w = (uint8_t)want_w;
    c->refs = (uint32_t)(want_r + want_w + 1);
    cio__waitq_init(&c->drain_wq);
    cio__waitq_init(&c->closed_wq);
    cio__waitq_init(&c->feed_wq);
    c->sl.close = srv_close;
    if (register_fd) {
        r = cio__conn_register(&c->fs, loop, fd, stream_event);
        if (r < 0) {
            cio__free(c);
            return r;
        }
    }
    *out = c;
    return 0;
}

static int open_fd(cio_loop *loop, int fd, int want_r, int want_w,
                   const cio_conn_opts *opts, stream **out)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (fd < 0)
        return -EINVAL;
    return stream_new(loop, fd, want_r, want_w, opts, 1, out);
}

/* ----------------------------------------------------------------- TLS */

static int reader_ok(stream *c);
static int write_state(stream *c);

/* Puts TLS (ctx) over c's descriptor stream and runs the handshake in
 * the calling task; from then on every byte goes through it. Returns 0
 * or the handshake's error (the caller fails c). Suspends. */
static int stream_tls(stream *c, cio_tls_ctx *ctx, const char *host,
                      int port)
{
    cio_tls_conn *t;
    int rc = cio__tls_new(ctx, &c->fs.bs, c->fs.fd, host, port, &t);
    if (rc < 0)
        return rc;
    c->tls = t;
    c->bs = cio__tls_bs(t);
    if (c->rend != c->rstart) { /* read ahead by readline: TLS's now */
        rc = cio__tls_feed(t, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rstart = c->rend = 0;
        if (rc < 0)
            return rc;
    }
    return cio__tls_handshake(t);
}

cio_tls_conn *cio_stream_writer_tls(const cio_stream_writer *w)
{
    return w ? cio__container_of(w, const stream, w)->tls : NULL;
}

int cio_stream_start_tls(cio_stream_reader *r, cio_stream_writer *w,
                         cio_tls_ctx *ctx, const char *server_hostname)
{
    if (!r || !w || !ctx || R2S(r) != W2S(w))
        return -EINVAL;
    stream *c = R2S(r);
    int rc = reader_ok(c);
    if (rc < 0)
        return rc;
    if (c->tls || c->ul || !c->has_w || c->wfree || !c->fs.is_sock)
        return -EINVAL;
    rc = write_state(c);
    if (rc < 0)
        return rc;
    /* What was written in the clear goes out in the clear first. */
    while (cio__wbuf_len(&c->wb)) {
        if (c->fs.afd.ready & CIO__EV_WRITE) {
            flush(c);
        } else {
            rc = cio__afd_wait(&c->fs.afd, CIO__EV_WRITE);
            if (rc < 0)
                return rc;
        }
        if (c->err)
            return c->err;
        if (c->closed)
            return -EPIPE;
    }
    rc = stream_tls(c, ctx, server_hostname, 0);
    if (rc < 0)
        fail(c, rc);
    return rc;
}

/* ---------------------------------------------------- public creation */

int cio_stream_open_fd(cio_loop *loop, int fd, const cio_conn_opts *opts,
                       cio_stream_reader **r, cio_stream_writer **w)
{
    if (!r || !w)
        return -EINVAL;
    *r = NULL;
    *w = NULL;
    stream *c;
    int rc = open_fd(loop, fd, 1, 1, opts, &c);
    if (rc < 0)
        return rc;
    *r = &c->r;
    *w = &c->w;
    return 0;
}

int cio_stream_reader_from_fd(cio_loop *loop, int fd,
                              const cio_conn_opts *opts,
                              cio_stream_reader **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    stream *c;
    int rc = open_fd(loop, fd, 1, 0, opts, &c);
    if (rc < 0)
        return rc;
    *out = &c->r;
    return 0;
}

int cio_stream_writer_from_fd(cio_loop *loop, int fd,
                              const cio_conn_opts *opts,
                              cio_stream_writer **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    stream *c;
    int rc = open_fd(loop, fd, 0, 1, opts, &c);
    if (rc < 0)
        return rc;
    *out = &c->w;
    return 0;
}

/* open_connection's body: host:port, or the Unix socket at path. */
/* ---------------------------------------- a user's byte-stream layer */

int cio_stream_push_bstream(cio_stream_reader *r, cio_stream_writer *w,
                            const cio_bstream_ops *ops, void *state)
{
    if ((!r && !w) || (r && w && R2S(r) != W2S(w)))
        return -EINVAL;
    stream *c = r ? R2S(r) : W2S(w);
    cio__task *t = cio__tls_task;
    if (!t || t->f.loop != c->loop || !ops || c->fed ||
        (r && (!c->has_r || c->rfree)) || (w && (!c->has_w || c->wfree)))
        return -EINVAL;
    if (c->err)
        return c->err;
    if (c->closed || c->closing || c->eof_pending || c->eof_sent)
        return -EPIPE;
    /* Bytes read or written below the layer would bypass it. */
    if (c->ul || c->rend != c->rstart || cio__wbuf_len(&c->wb))
        return -EBUSY;
    cio__ulayer *l;
    int rc = cio__ulayer_new(ops, state, c->bs, &l);
    if (rc < 0)
        return rc;
    c->ul = l;
    c->bs = cio__ulayer_bs(l);
    return 0;
}

static int open_conn(const char *host, int port, const char *path,
                     const cio_conn_opts *opts, cio_stream_reader **r,
                     cio_stream_writer **w)
{
    if (!r || !w)
        return -EINVAL;
    *r = NULL;
    *w = NULL;
    cio__task *t = cio__tls_task;
    if (!t)
        return CIO_MISUSE("called outside a task");
    cio_sockaddr ua;
    if (path) {
        int rc = cio_sockaddr_from_unix(&ua, path);
        if (rc < 0)
            return rc;
    }
    stream *c;
    int rc = stream_new(t->f.loop, -1, 1, 1, opts, 0, &c);
    if (rc < 0)
        return rc;
    int fd;
    if (path)
        rc = cio__conn_connect_addr(&c->fs.afd, (struct sockaddr *)&ua.ss,
                                    ua.len, stream_event, &fd);
    else
        rc = cio__conn_connect(&c->fs.afd, host, port, opts, stream_event,
                               &fd);
    if (rc < 0) {
        cio__free(c);
        return rc;
    }
    cio__fdstream_init(&c->fs, fd, 1);
    if (opts && opts->tls) {
        if (cio__tls_ctx_role(opts->tls) != CIO_TLS_CLIENT) {
            c->refs -= 2;
            close_fd(c);
            return -EINVAL;
        }
        rc = stream_tls(c, opts->tls,
                        opts->server_hostname ? opts->server_hostname : host,
                        port);
        if (rc < 0) {
            c->refs -= 2; /* the halves nobody will have */
            fail(c, rc);  /* closes fd, frees c */
            return rc;
        }
    }
    *r = &c->r;
    *w = &c->w;
    return 0;
}

int cio_open_connection(const char *host, int port,
                        const cio_conn_opts *opts, cio_stream_reader **r,
                        cio_stream_writer **w)
{
    return open_conn(host, port, NULL, opts, r, w);
}

int cio_open_unix_connection(const char *path, const cio_conn_opts *opts,
                             cio_stream_reader **r, cio_stream_writer **w)
{
    if (!path) {
        if (r)
            *r = NULL;
        if (w)
            *w = NULL;
        return -EINVAL;
    }
    return open_conn(NULL, 0, path, opts, r, w);
}

/* ------------------------------------------------- server connections */

static int conn_main(void *arg, void **result)
{
    (void)result;
    stream *c = arg;
    cio_server *s = c->sl.srv;
    int rc;
    if (s->conn.tls) {
        /* The handshake fails this connection only: it is closed without
         * reaching the handler, and the server goes on. */
        rc = stream_tls(c, s->conn.tls, NULL, 0);
        if (rc < 0) {
            fail(c, rc);
            cio_stream_reader_free(&c->r);
            cio_stream_writer_free(&c->w);
            return 0;
        }
    }
    rc = s->handler(&c->r, &c->w, s->arg);
    if (rc == -ECANCELED)
        close_fd(c); /* cancelled: do not linger flushing */
    cio_stream_reader_free(&c->r);
    cio_stream_writer_free(&c->w);
    return rc;
}

int cio__stream_accepted(cio_server *s, int fd)
{
    stream *c;
    int r = stream_new(s->loop, fd, 1, 1, &s->conn, 1, &c);
    if (r < 0)
        return r;
    c->fs.is_sock = 1;
    cio__server_link(s, &c->sl);
    c->linked = 1;
    /* Eager: the body starts here, so it always runs (a task cancelled
     * before its first step would never free the halves), and a client
     * that sent its request with the connect is answered without a trip
     * through the ready queue. */
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.eager = 1;
    r = cio_task_create(s->loop, CIO_CORO(conn_main, c), &to, NULL);
    if (r < 0) {
        c->refs -= 2; /* the halves nobody will free */
        close_fd(c);  /* frees c, unlinks it; closes fd */
        return 0;
    }
    return 0;
}

/* -------------------------------------------------------------- reader */

static int reader_ok(stream *c)
{
    cio__task *t = cio__tls_task;
    if (CIO_UNLIKELY(!t || t->f.loop != c->loop || !c->has_r || c->rfree))
        return -EINVAL;
    return 0;
}

/* Waits for the read edge. Returns 0 (re-check state) or an error. */
static int wait_read(stream *c)
{
    if (c->fed) { /* no descriptor: feed_data, feed_eof or set_exception */
        if (cio__waitq_busy(&c->feed_wq))
            return -EBUSY;
        cio__waiter wt;
        return cio__waitq_wait(&c->feed_wq, &wt, cio__tls_task,
                               "stream reader feed");
    }
    int r = cio__afd_wait(&c->fs.afd, CIO__EV_READ);
    return r == -EBADF ? 0 : r;
}

/* One read of the byte stream into p. Returns > 0, 0 at EOF, -EAGAIN
 * (waiting is needed), or the error (the connection is then failed). */
static ssize_t read_once(stream *c, void *p, size_t n)
{
    ssize_t k = cio__bs_read(c->bs, p, n);
    if (CIO_LIKELY(k > 0) || k == -EAGAIN)
        return k;
    if (k == 0)
        c->eof = 1;
    else
        fail(c, (int)k);
    return k;
}

ssize_t cio_stream_reader_read(cio_stream_reader *r, void *buf, size_t n)
{
    if (!r || (!buf && n))
        return -EINVAL;
    stream *c = R2S(r);
    int rc = reader_ok(c);
    if (rc < 0)
        return rc;
    if (!n)
        return 0;
    for (;;) {
        if (CIO_UNLIKELY(c->xerr))
            return c->xerr; /* asyncio: the exception before the buffer */
        size_t have = c->rend - c->rstart;
        if (have) {
            size_t k = have < n ? have : n;
            memcpy(buf, c->rbuf + c->rstart, k);
            c->rstart += k;
            return (ssize_t)k;
        }
        if (c->err)
            return c->err;
        if (c->eof || c->closed)
            return 0;
        if (c->fs.afd.ready & CIO__EV_READ) {
            ssize_t k = read_once(c, buf, n);
            if (k != -EAGAIN)
                return k;
            continue;
        }
        rc = wait_read(c);
        if (rc < 0)
            return rc;
    }
}

/* Reads more into the reader's buffer. Returns > 0, 0 at EOF or close, or
 * an error. Suspends. */
static ssize_t fill(stream *c)
{
    if (c->fed) { /* wait until feed_data added bytes, or EOF, or error */
        size_t before = c->rend - c->rstart;
        for (;;) {
            if (c->xerr)
                return c->xerr;
            if (c->rend - c->rstart > before)
                return (ssize_t)(c->rend - c->rstart - before);
            if (c->eof || c->closed)
                return 0;
            int rc = wait_read(c);
            if (rc < 0)
                return rc;
        }
    }
    for (;;) {
        if (c->xerr)
            return c->xerr;
        if (c->err)
            return c->err;
        if (c->eof || c->closed)
            return 0;
        if (c->rstart == c->rend) {
            c->rstart = c->rend = 0;
        } else if (c->rstart && c->rend == c->rcap) {
            memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
            c->rend -= c->rstart;
            c->rstart = 0;
        }
        if (c->rend == c->rcap) {
            size_t cap = c->rcap ? 2 * c->rcap : 4096;
            size_t max = c->limit + 4096;
            if (cap > max)
                cap = max;
            if (cap <= c->rcap)
                return -ENOBUFS;
            char *p = cio__realloc(c->rbuf, cap);
            if (!p)
                return -ENOMEM;
            c->rbuf = p;
            c->rcap = cap;
        }
        if (c->fs.afd.ready & CIO__EV_READ) {
            ssize_t k = read_once(c, c->rbuf + c->rend, c->rcap - c->rend);
            if (k > 0)
                c->rend += (size_t)k;
            if (k != -EAGAIN)
                return k;
            continue;
        }
        int rc = wait_read(c);
        if (rc < 0)
            return rc;
    }
}

int cio_stream_reader_readexactly(cio_stream_reader *r, void *buf, size_t n,
                                  size_t *nread)
{
    size_t got = 0;
    int rc = 0;
    if (!r || (!buf && n)) {
        rc = -EINVAL;
        goto out;
    }
    while (got < n) {
        ssize_t k = cio_stream_reader_read(r, (char *)buf + got, n - got);
        if (k <= 0) {
            rc = k < 0 ? (int)k : CIO_EOF;
            break;
        }
        got += (size_t)k;
    }
out:
    if (nread)
        *nread = got;
    return rc;
}

/* asyncio 3.13's readuntil over several separators: the match that ends
 * first wins (at one end, the shorter separator); *which is its index. */
static int readuntil_any(stream *c, const struct iovec *seps, size_t n,
                         const char **data, size_t *len, size_t *which)
{
    size_t minlen = SIZE_MAX, maxlen = 0;
    for (size_t i = 0; i < n; i++) {
        if (!seps[i].iov_len || !seps[i].iov_base)
            return -EINVAL;
        if (seps[i].iov_len < minlen)
            minlen = seps[i].iov_len;
        if (seps[i].iov_len > maxlen)
            maxlen = seps[i].iov_len;
    }
    if (c->xerr)
        return c->xerr;
    size_t scan = 0; /* bytes after rstart known to hold no match start */
    for (;;) {
        size_t have = c->rend - c->rstart;
        if (have >= scan + minlen) {
            const char *base = c->rbuf + c->rstart;
            size_t best_end = SIZE_MAX, best_start = 0, best = 0;
            for (size_t i = 0; i < n; i++) {
                size_t sl = seps[i].iov_len;
                const char *hit =
                    memmem(base + scan, have - scan, seps[i].iov_base, sl);
                if (!hit)
                    continue;
                size_t st = (size_t)(hit - base);
                if (st + sl < best_end ||
                    (st + sl == best_end && sl < seps[best].iov_len)) {
                    best_end = st + sl;
                    best_start = st;
                    best = i;
                }
            }
            if (best_end != SIZE_MAX) {
                if (best_start > c->limit)
                    return -ENOBUFS; /* asyncio: found, but beyond the limit */
                *data = base;
                *len = best_end;
                if (which)
                    *which = best;
                c->rstart += best_end;
                return 0;
            }
            scan = have + 1 > maxlen ? have + 1 - maxlen : 0;
        }
        if (have >= c->limit)
            return -ENOBUFS;
        ssize_t k = fill(c);
        if (k < 0)
            return (int)k;
        if (k == 0) {
            have = c->rend - c->rstart;
            *data = have ? c->rbuf + c->rstart : "";
            *len = have;
            c->rstart = c->rend;
            return CIO_EOF;
        }
    }
}

int cio_stream_reader_readuntil(cio_stream_reader *r, const void *sep,
                                size_t seplen, const char **data, size_t *len)
{
    if (!r || !sep || !seplen || !data || !len)
        return -EINVAL;
    *data = NULL;
    *len = 0;
    stream *c = R2S(r);
    int rc = reader_ok(c);
    if (rc < 0)
        return rc;
    struct iovec one = {(void *)(uintptr_t)sep, seplen};
    return readuntil_any(c, &one, 1, data, len, NULL);
}

int cio_stream_reader_readuntil_any(cio_stream_reader *r,
                                    const struct iovec *seps, size_t nseps,
                                    const char **data, size_t *len,
                                    size_t *which)
{
    if (!r || !seps || !nseps || !data || !len)
        return -EINVAL;
    *data = NULL;
    *len = 0;
    stream *c = R2S(r);
    int rc = reader_ok(c);
    if (rc < 0)
        return rc;
    return readuntil_any(c, seps, nseps, data, len, which);
}

ssize_t cio_stream_reader_readline(cio_stream_reader *r, const char **line)
{
    if (!line)
        return -EINVAL;
    *line = NULL;
    const char *d;
    size_t len;
    int rc = cio_stream_reader_readuntil(r, "\n", 1, &d, &len);
    if (rc == 0 || rc == CIO_EOF) {
        *line = d;
        return (ssize_t)len;
    }
    if (rc == -ENOBUFS) { /* asyncio: drop through the newline if it is
                             * buffered, else everything buffered */
        stream *c = R2S(r);
        const char *base = c->rbuf + c->rstart;
        const char *nl = memchr(base, '\n', c->rend - c->rstart);
        if (nl)
            c->rstart += (size_t)(nl - base) + 1;
        else
            c->rstart = c->rend = 0;
    }
    return rc;
}

int cio_stream_reader_at_eof(const cio_stream_reader *r)
{
    if (!r)
        return -EINVAL;
    const stream *c = cio__container_of(r, const stream, r);
    return (c->eof || c->closed) && c->rend == c->rstart;
}

ssize_t cio_stream_reader_buffered(const cio_stream_reader *r)
{
    if (!r)
        return -EINVAL;
    const stream *c = cio__container_of(r, const stream, r);
    return (ssize_t)(c->rend - c->rstart);
}

int cio_stream_reader_free(cio_stream_reader *r)
{
    if (!r)
        return 0;
    stream *c = R2S(r);
    if (!c->has_r || c->rfree)
        return -EINVAL;
    int rc = cio__loop_check(c->loop);
    if (rc < 0)
        return rc;
    if ((!c->closed && c->fs.afd.waiter[0]) || cio__waitq_busy(&c->feed_wq))
        return -EBUSY;
    c->rfree = 1;
    cio__free(c->rbuf);
    c->rbuf = NULL;
    c->rstart = c->rend = c->rcap = 0;
    if (!c->has_w || c->wfree)
        close_fd(c);
    stream_unref(c);
    return 0;
}

/* ------------------------------------------- a reader without transport */

int cio_stream_reader_new(cio_loop *loop, const cio_conn_opts *opts,
                          cio_stream_reader **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!loop)
        loop = cio_get_running_loop();
    int rc = cio__loop_check(loop);
    if (rc < 0)
        return rc;
    stream *c;
    rc = stream_new(loop, -1, 1, 0, opts, 0, &c);
    if (rc < 0)
        return rc;
    c->fed = 1;
    *out = &c->r;
    return 0;
}

/* A fed reader, alive, touched from its loop's thread. */
static int feed_check(stream *c)
{
    if (CIO_UNLIKELY(!c->fed || c->rfree))
        return -EINVAL;
    return cio__loop_check(c->loop);
}

int cio_stream_reader_feed_data(cio_stream_reader *r, const void *data,
                                size_t len)
{
    if (!r || (!data && len))
        return -EINVAL;
    stream *c = R2S(r);
    int rc = feed_check(c);
    if (rc < 0)
        return rc;
    if (c->eof)
        return CIO_MISUSE("feed_data after feed_eof");
    if (!len)
        return 0;
    size_t have = c->rend - c->rstart;
    if (c->rcap - c->rend < len) {
        if (c->rstart) { /* slide the unread bytes to the front first */
            memmove(c->rbuf, c->rbuf + c->rstart, have);
            c->rstart = 0;
            c->rend = have;
        }
        if (c->rcap - c->rend < len) {
            if (len > SIZE_MAX / 2 - have)
                return -ENOMEM;
            size_t cap = c->rcap ? c->rcap : 4096;
            while (cap < have + len)
                cap *= 2;
            char *p = cio__realloc(c->rbuf, cap);
            if (!p)
                return -ENOMEM;
            c->rbuf = p;
            c->rcap = cap;
        }
    }
    memcpy(c->rbuf + c->rend, data, len);
    c->rend += len;
    cio__waitq_wake_all(&c->feed_wq, CIO__W_GRANTED, 0);
    return 0;
}

int cio_stream_reader_feed_eof(cio_stream_reader *r)
{
    if (!r)
        return -EINVAL;
    stream *c = R2S(r);
    int rc = feed_check(c);
    if (rc < 0)
        return rc;
    c->eof = 1;
    cio__waitq_wake_all(&c->feed_wq, CIO__W_GRANTED, 0);
    return 0;
}

int cio_stream_reader_set_exception(cio_stream_reader *r, int err)
{
    if (!r || err >= 0)
        return -EINVAL;
    stream *c = R2S(r);
    if (!c->has_r || c->rfree)
        return -EINVAL;
    int rc = cio__loop_check(c->loop);
    if (rc < 0)
        return rc;
    c->xerr = err;
    cio__waitq_wake_all(&c->feed_wq, CIO__W_GRANTED, 0);
    if (!c->closed)
        wake_dir(&c->fs.afd, 0);
    return 0;
}

int cio_stream_reader_exception(const cio_stream_reader *r)
{
    if (!r)
        return -EINVAL;
    return cio__container_of(r, const stream, r)->xerr;
}

/* -------------------------------------------------------------- writer */

static int writer_check(stream *c)
{
    if (CIO_UNLIKELY(!c->has_w || c->wfree))
        return -EINVAL;
    return cio__loop_check(c->loop);
}

static int write_state(stream *c)
{
    if (c->err)
        return c->err;
    if (c->closing || c->closed || c->eof_pending || c->eof_sent)
        return -EPIPE;
    return 0;
}

int cio_stream_writer_write(cio_stream_writer *w, const void *data, size_t len)
{
    if (!w || (!data && len))
        return -EINVAL;
    stream *c = W2S(w);
    int rc = writer_check(c);
    if (rc < 0)
        return rc;
    rc = write_state(c);
    if (rc < 0)
        return rc;
    rc = cio__wbuf_admit(cio__wbuf_len(&c->wb), len, c->cap);
    if (rc < 0)
        return rc;
    const char *p = data;
    while (len && !cio__wbuf_len(&c->wb) &&
           (c->fs.afd.ready & CIO__EV_WRITE)) {
        ssize_t k = cio__bs_write(c->bs, p, len);
        if (k >= 0) {
            p += k;
            len -= (size_t)k;
        } else if (k != -EAGAIN) {
            fail(c, (int)k);
            return (int)k;
        }
    }
    if (!len)
        return 0;
    rc = cio__wbuf_append(&c->wb, p, len);
    if (rc < 0)
        fail(c, rc);
    return rc;
}

int cio_stream_writer_writelines(cio_stream_writer *w, const struct iovec *iov,
                                 size_t n)
{
    if (!w || (!iov && n))
        return -EINVAL;
    stream *c = W2S(w);
    int rc = writer_check(c);
    if (rc < 0)
        return rc;
    rc = write_state(c);
    if (rc < 0)
        return rc;
    rc = cio__wbuf_admitv(cio__wbuf_len(&c->wb), iov, n, c->cap);
    if (rc < 0)
        return rc;
    size_t i = 0, off = 0;
    if (!cio__wbuf_len(&c->wb) && (c->fs.afd.ready & CIO__EV_WRITE) && n) {
        int cnt = n > 64 ? 64 : (int)n;
        ssize_t k = cio__bs_writev(c->bs, iov, cnt);
        if (k < 0 && k != -EAGAIN) {
            fail(c, (int)k);
            return (int)k;
        }
        size_t sent = k > 0 ? (size_t)k : 0;
        while (i < n && sent >= iov[i].iov_len) {
            sent -= iov[i].iov_len;
            i++;
        }
        off = sent;
    }
    for (; i < n; i++, off = 0) {
        if (iov[i].iov_len <= off)
            continue;
        rc = cio__wbuf_append(&c->wb, (const char *)iov[i].iov_base + off,
                              iov[i].iov_len - off);
        if (rc < 0) {
            fail(c, rc);
            return rc;
        }
    }
    if (cio__wbuf_len(&c->wb) && (c->fs.afd.ready & CIO__EV_WRITE))
        flush(c); /* provoke EAGAIN, so the write edge is armed */
    return c->err;
}

int cio_stream_writer_drain(cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    stream *c = W2S(w);
    cio__task *t = cio__tls_task;
    if (!t || t->f.loop != c->loop || !c->has_w || c->wfree)
        return CIO_MISUSE("called outside a task of the stream's loop, or on a closed writer");
    if (c->err)
        return c->err;
    if (!c->closed && cio__wbuf_len(&c->wb) > c->high) {
        cio__waiter wt;
        int rc = cio__waitq_wait(&c->drain_wq, &wt, t, "stream drain");
        if (rc < 0)
            return rc;
    }
    if (c->err)
        return c->err;
    /* asyncio's drain on a closing transport: ConnectionResetError. */
    return c->closing || c->closed ? -ECONNRESET : 0;
}

int cio_stream_writer_write_eof(cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    stream *c = W2S(w);
    int rc = writer_check(c);
    if (rc < 0)
        return rc;
    if (c->closed || c->closing)
        return c->err ? c->err : -EPIPE;
    if (c->eof_pending || c->eof_sent)
        return 0;
    if (c->fs.is_sock ? 0 : c->has_r)
        return -ENOTSUP;
    if (cio__wbuf_len(&c->wb))
        c->eof_pending = 1;
    else
        do_write_eof(c);
    return 0;
}

int cio_stream_writer_can_write_eof(const cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    const stream *c = cio__container_of(w, const stream, w);
    return c->fs.is_sock || !c->has_r;
}

int cio_stream_writer_close(cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    stream *c = W2S(w);
    int rc = writer_check(c);
    if (rc < 0)
        return rc;
    if (c->closing)
        return 0;
    c->closing = 1;
    if (!cio__wbuf_len(&c->wb))
        close_fd(c);
    return 0;
}

int cio_stream_writer_wait_closed(cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    stream *c = W2S(w);
    cio__task *t = cio__tls_task;
    if (!t || t->f.loop != c->loop || !c->has_w || c->wfree)
        return CIO_MISUSE("called outside a task of the stream's loop, or on a closed writer");
    if (!c->closed) {
        cio__waiter wt;
        int rc = cio__waitq_wait(&c->closed_wq, &wt, t, "stream closed");
        if (rc < 0)
            return rc;
    }
    return c->err;
}

int cio_stream_writer_is_closing(const cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    const stream *c = cio__container_of(w, const stream, w);
    return c->closing || c->closed || c->err != 0;
}

ssize_t cio_stream_writer_write_buffer_size(const cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    const stream *c = cio__container_of(w, const stream, w);
    return (ssize_t)cio__wbuf_len(&c->wb);
}

int cio_stream_writer_set_write_buffer_limits(cio_stream_writer *w, size_t high,
                                              size_t low)
{
    if (!w)
        return -EINVAL;
    stream *c = W2S(w);
    int rc = cio__limits_fix(high, low, &c->high, &c->low);
    if (rc < 0)
        return rc;
    if (cio__wbuf_len(&c->wb) <= c->low)
        cio__waitq_wake_all(&c->drain_wq, CIO__W_GRANTED, 0);
    return 0;
}

int cio_stream_writer_write_buffer_limits(const cio_stream_writer *w,
                                          size_t *low, size_t *high)
{
    if (!w)
        return -EINVAL;
    const stream *c = cio__container_of(w, const stream, w);
    if (low)
        *low = c->low;
    if (high)
        *high = c->high;
    return 0;
}

int cio_stream_writer_set_write_buffer_cap(cio_stream_writer *w, size_t cap)
{
    if (!w)
        return -EINVAL;
    W2S(w)->cap = cap;
    return 0;
}

static int name_of(const stream *c, cio_sockaddr *out, int peer)
{
    if (!out)
        return -EINVAL;
    if (c->closed)
        return -EBADF;
    return cio__sockaddr_of(c->fs.fd, peer, out);
}

int cio_stream_writer_peername(const cio_stream_writer *w, cio_sockaddr *out)
{
    if (!w)
        return -EINVAL;
    return name_of(cio__container_of(w, const stream, w), out, 1);
}

int cio_stream_writer_sockname(const cio_stream_writer *w, cio_sockaddr *out)
{
    if (!w)
        return -EINVAL;
    return name_of(cio__container_of(w, const stream, w), out, 0);
}

int cio_stream_writer_fileno(const cio_stream_writer *w)
{
    if (!w)
        return -EINVAL;
    const stream *c = cio__container_of(w, const stream, w);
    return c->closed ? -EBADF : c->fs.fd;
}

int cio_stream_writer_free(cio_stream_writer *w)
{
    if (!w)
        return 0;
    stream *c = W2S(w);
    if (!c->has_w || c->wfree)
        return -EINVAL;
    int rc = cio__loop_check(c->loop);
    if (rc < 0)
        return rc;
    if (cio__waitq_busy(&c->drain_wq) || cio__waitq_busy(&c->closed_wq) ||
        (!c->closed && c->fs.afd.waiter[1]))
        return -EBUSY;
    c->wfree = 1;
    if (!c->closing) {
        c->closing = 1;
        if (!cio__wbuf_len(&c->wb))
            close_fd(c);
    } else if (!c->closed && !cio__wbuf_len(&c->wb)) {
        close_fd(c);
    }
    stream_unref(c);
    return 0;
}
