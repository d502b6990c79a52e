/*
 * transport.c - asyncio's socket transport: a protocol's callbacks driven
 * by the loop from one edge-triggered descriptor (net/afd.h).
 *
 * How: the poll only records which directions became ready and queues
 * one run of the transport on the ready queue (a pooled handle; at most
 * one queued at a time). The run flushes the write tail if the descriptor
 * became writable, then reads: into the connection's own buffer
 * (a 16 KiB buffer on the loop's stack until a read fills it, then
 * the connection's own read_size buffer, reused; an idle connection owns
 * none) or the BufferedProtocol's, until EAGAIN, a short read (unless the
 * peer's FIN was reported) or 16 reads, after which
 * the run re-queues itself so one busy connection cannot starve the
 * others. Writes try the system call first and keep only the unsent tail;
 * the write edge comes from the registration made once at open, so a
 * back-pressured connection costs no epoll_ctl. connection_lost is called
 * from a run, never from inside close/abort or the poll.
 *
 * Lifetime: the transport holds one reference while open (dropped after
 * connection_lost returns) and one per queued run; the memory goes with
 * the last.
 *
 * Rejected: calling the protocol from inside the poll (libuv's way):
 * design.md keeps every callback on the ready queue so "who runs when" has
 * one answer; the queue is intrusive, so the hop costs a pointer write.
 * Rejected: a per-loop shared read buffer (uvloop's): data_received may
 * call back into the loop, and the buffer would need a home on the loop,
 * which the layers below net/ know nothing of.
 *
 * The bytes move through one of two modes, chosen at open: readiness over
 * the descriptor byte stream (transport_rd.c) or io_uring completions
 * (transport_cq.c); transport.h has the parts they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio/impl.h"
#include "net/tls.h"
#include "net/transport.h"

#define EV_MADE 0x100u /* connection_made is due (from_fd) */

static void transport_run(cio__handle *h);

/* pause_writing once the buffer passes the high-water mark; never before
 * connection_made (a write right after cio_transport_from_fd, whose
 * connection_made is still queued, is checked again once it has run). */
int cio__tr_check_high_water(cio_transport *t)
{
    if (t->wpaused || !t->made || cio__tr_wlen(t) <= t->high)
        return 0;
    t->wpaused = 1;
    if (t->proto->pause_writing) {
        int rc = t->proto->pause_writing(t, t->ctx);
        if (rc < 0) {
            cio__tr_fatal(t, rc, 1);
            return rc;
        }
    }
    return 0;
}


void cio__tr_unref(cio_transport *t)
{
    if (--t->refs)
        return;
    cio__tr_cq_release(t);
    cio__free(t->hq);
    cio__free(t->rbuf);
    cio__wbuf_free(&t->wb);
    cio__wbuf_free(&t->sb);
    cio__ulayer_free(t->ul);
    cio__tls_free(t->tls);
    cio__free(t);
}

/* Queues a run of t unless one is queued or running (a running one looks
 * at the state again before it ends). */
void cio__tr_schedule(cio_transport *t)
{
    if (t->h || t->in_run)
        return;
    cio__handle *h = cio__handle_get(t->loop);
    if (CIO_UNLIKELY(!h)) {
        cio__loop_report(t->loop, "transport: no memory to queue an event",
                         -ENOMEM, NULL, NULL, NULL);
        return;
    }
    h->icb = transport_run;
    h->arg = t;
    t->h = h;
    t->refs++;
    cio__handle_soon(t->loop, h);
}

/* Closes the descriptor at once; connection_lost follows from a run. */
void cio__tr_close_now(cio_transport *t, int err)
{
    if (t->closed)
        return;
    if (!t->err)
        t->err = err;
    t->closed = 1;
    t->closing = 1;
    if (t->umode)
        cio__tr_cq_close(t);
    cio__bs_close(t->bs);
    cio__wbuf_free(&t->wb);
    cio__tr_schedule(t);
}

/* A callback failed (report it) or the connection broke. */
void cio__tr_fatal(cio_transport *t, int err, int report)
{
    if (report)
        cio__loop_report(t->loop, "protocol callback failed", err, NULL,
                         NULL, NULL);
    cio__tr_close_now(t, err);
}

static void call_lost(cio_transport *t)
{
    t->lost = 1;
    if (t->made && t->proto->connection_lost)
        t->proto->connection_lost(t, t->err, t->ctx);
    if (t->linked) {
        t->linked = 0;
        cio__server_unlink(&t->sl);
    }
    cio__tr_unref(t); /* the open reference */
}

static void do_write_eof(cio_transport *t)
{
    t->eof_pending = 0;
    t->eof_sent = 1;
    if (!t->fs.is_sock) {
        cio__tr_close_now(t, 0);
        return;
    }
    int r = cio__bs_shutdown_write(t->bs);
    if (r < 0)
        cio__tr_close_now(t, r);
}



/* After bytes left: resume_writing below the low-water mark; once all is
 * sent, the write_eof or close that waited for it. */
void cio__tr_flushed(cio_transport *t)
{
    size_t len = cio__tr_wlen(t);
    if (t->wpaused && len <= t->low) {
        t->wpaused = 0;
        if (t->proto->resume_writing) {
            int rc = t->proto->resume_writing(t, t->ctx);
            if (rc < 0) {
                cio__tr_fatal(t, rc, 1);
                return;
            }
        }
    }
    if (len || t->closed)
        return;
    if (t->eof_pending)
        do_write_eof(t);
    if (t->closing)
        cio__tr_close_now(t, 0);
}

/* The peer's EOF: eof_received decides whether the write side stays
 * open (asyncio: a true return keeps it; else the transport closes). */
void cio__tr_got_eof(cio_transport *t)
{
    t->eof = 1;
    int keep = t->proto->eof_received ? t->proto->eof_received(t, t->ctx) : 0;
    if (keep < 0)
        cio__tr_fatal(t, keep, 1);
    else if (!keep)
        cio_transport_close(t);
}










static void transport_run(cio__handle *h)
{
    cio_transport *t = h->arg;
    t->h = NULL;
    if (CIO_UNLIKELY(t->loop->discarding)) {
        /* The loop is closing: no user code runs. A transport already
         * closed ends here (its connection_lost is dropped, as asyncio
         * drops a closing loop's ready queue); an open one is the
         * caller's to close. */
        if (t->closed && !t->lost) {
            t->lost = 1;
            if (t->linked) {
                t->linked = 0;
                cio__server_unlink(&t->sl);
            }
            cio__tr_unref(t);
        }
        cio__tr_unref(t);
        return;
    }
    t->in_run = 1;
    unsigned ev = t->pending;
    t->pending = 0;
    if (ev & EV_MADE) {
        t->made = 1;
        if (t->proto->connection_made) {
            int rc = t->proto->connection_made(t, t->ctx);
            if (rc < 0)
                cio__tr_fatal(t, rc, 1);
        }
        if (!t->closed)
            cio__tr_check_high_water(t);
    }
    if (t->umode) {
        if (!t->closed)
            cio__tr_cq_run(t);
        t->in_run = 0;
        if (t->closed && !t->lost)
            call_lost(t);
        cio__tr_unref(t); /* the run's reference */
        return;
    }
    if (!t->closed && cio__wbuf_len(&t->wb) &&
        (t->fs.afd.ready & CIO__EV_WRITE))
        cio__tr_rd_flush(t);
    if (CIO_UNLIKELY(t->no_read) && !t->closed &&
        (t->fs.afd.ready & CIO__EV_READ)) {
        /* A write-only pipe reports its reader's exit as an error:
         * asyncio's "pipe closed by peer". */
        cio__tr_close_now(t, cio__wbuf_len(&t->wb) ? -EPIPE : 0);
    }
    int again = 0;
    if (!t->closed && !t->closing && !t->paused_r && !t->eof &&
        !t->no_read && (t->fs.afd.ready & CIO__EV_READ)) {
        cio__tr_rd_read(t);
        again = !t->closed && !t->closing && !t->paused_r && !t->eof &&
                (t->fs.afd.ready & CIO__EV_READ);
    }
    t->in_run = 0;
    if (t->closed) {
        if (!t->lost)
            call_lost(t);
    } else if (again) {
        cio__tr_schedule(t); /* budget spent: let the others run first */
    }
    cio__tr_unref(t); /* the run's reference */
}

/* From the poll: note the directions and queue a run. */
static void transport_event(cio__afd *a, unsigned rev)
{
    cio_transport *t = cio__container_of(a, cio_transport, fs.afd);
    t->pending |= rev;
    cio__tr_schedule(t);
}

static void srv_close(cio__srvlink *l, int abort)
{
    cio_transport *t = cio__container_of(l, cio_transport, sl);
    if (abort)
        cio_transport_abort(t);
    else
        cio_transport_close(t);
}

/* Allocates a transport and registers fd (unless connect will). */
static int t_new(cio_loop *loop, int fd, const cio_conn_opts *opts,
                 int register_fd, cio_transport **out)
{
    cio_conn_opts o;
    int r = cio__conn_opts_fix(opts, &o);
    if (r < 0)
        return r;
    cio_transport *t = cio__calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->loop = loop;
    cio__fdstream_init(&t->fs, fd, 0);
    t->bs = &t->fs.bs;
    t->refs = 1;
    t->rsize = o.read_size;
    t->high = o.high_water;
    t->low = o.low_water;
    t->cap = o.write_cap;
    t->sl.close = srv_close;
    cio__tr_cq_init(t);
    if (register_fd) {
        r = cio__conn_register(&t->fs, loop, fd, transport_event);
        if (r < 0) {
            cio__free(t);
            return r;
        }
    }
    *out = t;
    return 0;
}

/* Ends a transport whose protocol never started: no callback runs. */
static void t_discard(cio_transport *t)
{
    t->lost = 1;
    if (t->linked) {
        t->linked = 0;
        cio__server_unlink(&t->sl);
    }
    if (!t->closed) {
        t->closed = 1;
        cio__bs_close(t->bs);
    }
    cio__tr_unref(t);
}

/* write_only: the transport never reads (a pipe's write end), so its
 * protocol needs no data_received, as asyncio's connect_write_pipe takes a
 * bare BaseProtocol. */
static int make_protocol(cio_transport *t, cio_protocol_factory factory,
                         void *arg, int write_only)
{
    const cio_protocol *p = NULL;
    void *ctx = NULL;
    int r = factory(arg, &p, &ctx);
    if (r >= 0 &&
        (!p || (!write_only && !p->get_buffer && !p->data_received) ||
         (p->get_buffer && !p->buffer_updated)))
        r = -EINVAL;
    if (r < 0)
        return r;
    t->proto = p;
    t->ctx = ctx;
    t->can_eof = t->fs.is_sock;
    return 0;
}


/* ----------------------------------------------------------------- TLS */

/* Puts TLS (ctx) over t's descriptor stream and runs the handshake in
 * the calling task. The descriptor's events wake the task meanwhile (no
 * run of t is queued by them); after, they queue runs again, and one is
 * queued to look at what arrived. Returns 0 or the error (the caller
 * closes t). Suspends. */
static int tr_handshake(cio_transport *t, cio_tls_ctx *ctx, const char *host,
                        int port)
{
    cio_tls_conn *c;
    int rc = cio__tls_new(ctx, &t->fs.bs, t->fs.fd, host, port, &c);
    if (rc < 0)
        return rc;
    t->tls = c;
    t->bs = cio__tls_bs(c);
    t->fs.afd.on_event = NULL;
    rc = cio__tls_handshake(c);
    if (!t->closed)
        t->fs.afd.on_event = transport_event;
    return rc;
}

/* connection_made once the handshake is done. */
static void tr_made(cio_transport *t)
{
    t->made = 1;
    if (t->proto->connection_made) {
        int rc = t->proto->connection_made(t, t->ctx);
        if (rc < 0) {
            cio__tr_fatal(t, rc, 1);
            return;
        }
    }
    if (!t->closed)
        cio__tr_check_high_water(t);
    if (!t->closed)
        cio__tr_schedule(t);
}

static int tr_accept_main(void *arg, void **result)
{
    (void)result;
    cio_transport *t = arg;
    cio_server *s = t->sl.srv;
    int rc = tr_handshake(t, s->conn.tls, NULL, 0);
    if (!t->closed && rc == 0) {
        rc = make_protocol(t, s->factory, s->arg, 0);
        if (rc < 0)
            cio__loop_report(t->loop, "protocol factory failed", rc, NULL,
                             NULL, NULL);
    }
    if (!t->closed) {
        if (rc < 0)
            cio__tr_close_now(t, rc); /* made is 0: no callback runs */
        else
            tr_made(t);
    }
    cio__tr_unref(t); /* the handshake's reference */
    return 0;
}

/* A TLS server connection: watched for readiness, its handshake run by a
 * task of its own before the protocol factory and connection_made (a
 * failed one closes it without any callback; the server goes on). Until
 * then t has no protocol: a close meanwhile (close_clients) ends it with
 * no callback, as call_lost looks at made. */
static int tr_accept_tls(cio_transport *t, cio_tls_ctx *ctx, int fd)
{
    (void)ctx;
    int r = cio__conn_register(&t->fs, t->loop, fd, transport_event);
    if (r < 0) {
        cio__loop_report(t->loop, "transport: cannot watch a connection", r,
                         NULL, NULL, NULL);
        t_discard(t);
        return 0;
    }
    t->refs++;
    cio_task_opts to = CIO_TASK_OPTS_INIT;
    to.eager = 1;
    r = cio_task_create(t->loop, CIO_CORO(tr_accept_main, t), &to, NULL);
    if (r < 0) {
        t->refs--;
        cio__tr_close_now(t, r);
    }
    return 0;
}

cio_tls_conn *cio_transport_tls(const cio_transport *t)
{
    return t ? t->tls : NULL;
}

/* Completion mode to readiness mode (start_tls): the multishot recv is
 * cancelled and waited for; what it had received and not yet delivered
 * is handed to TLS first. Returns 0 or an error. Suspends. */
static int tr_to_readiness(cio_transport *t, cio_tls_conn *c)
{
    cio__tr_cq_stop_reading(t);
    for (int i = 0; t->r_armed || t->s_busy; i++) {
        if (i == 5000)
            return -ETIMEDOUT;
        int rc = cio_sleep(CIO_MS);
        if (rc < 0)
            return rc;
        if (t->closed)
            return t->err ? t->err : -EPIPE;
    }
    for (; t->hlen; t->hlen--) {
        struct held *h = &t->hq[t->hhead];
        int rc = cio__tls_feed(c, h->p, h->len);
        cio__op_buf_put(t->loop, h->id);
        t->hhead = (t->hhead + 1) & (t->hcap - 1);
        if (rc < 0)
            return rc;
    }
    t->hhead = 0;
    t->umode = 0;
    t->fs.afd.ready = CIO__EV_READ | CIO__EV_WRITE;
    return cio__io_start(t->loop, &t->fs.afd.io,
                         CIO__EV_READ | CIO__EV_WRITE | CIO__EV_EDGE);
}

int cio_transport_start_tls(cio_transport *t, cio_tls_ctx *ctx,
                            const char *server_hostname)
{
    cio__task *task = cio__tls_task;
    if (!t || !ctx || !task || task->f.loop != t->loop || t->tls || t->ul ||
        !t->fs.is_sock)
        return -EINVAL;
    if (t->closing || t->closed || t->eof_sent || t->eof_pending)
        return t->err ? t->err : -EPIPE;
    if (cio__tr_wlen(t))
        return -EBUSY;
    int was_paused = t->paused_r;
    t->paused_r = 1;
    t->refs++;
    cio_tls_conn *c;
    int rc = cio__tls_new(ctx, &t->fs.bs, t->fs.fd, server_hostname, 0, &c);
    if (rc == 0) {
        if (t->umode) {
            rc = tr_to_readiness(t, c);
            if (rc < 0)
                cio__tls_free(c);
        }
    }
    if (rc == 0) {
        t->tls = c;
        t->bs = cio__tls_bs(c);
        t->fs.afd.on_event = NULL;
        rc = cio__tls_handshake(c);
        if (!t->closed)
            t->fs.afd.on_event = transport_event;
    }
    if (!t->closed) {
        if (rc < 0) {
            cio__tr_close_now(t, rc);
        } else {
            t->paused_r = (uint8_t)was_paused;
            cio__tr_schedule(t);
        }
    } else if (rc == 0) {
        rc = t->err ? t->err : -EPIPE;
    }
    cio__tr_unref(t);
    return rc;
}

int cio__transport_accepted(cio_server *s, int fd)
{
    cio_transport *t;
    int r = t_new(s->loop, fd, &s->conn, 0, &t);
    if (r < 0)
        return r;
    t->fs.is_sock = 1;
    cio__server_link(s, &t->sl);
    t->linked = 1;
    if (s->conn.tls) /* the protocol is made once the handshake is done */
        return tr_accept_tls(t, s->conn.tls, fd);
    r = make_protocol(t, s->factory, s->arg, 0);
    if (r < 0) {
        cio__loop_report(s->loop, "protocol factory failed", r, NULL, NULL,
                         NULL);
        t_discard(t);
        return 0;
    }
    /* A fresh descriptor: the protocol decides how it is watched. */
    if (cio__tr_cq_eligible(t)) {
        r = cio__afd_claim(&t->fs.afd, t->loop, fd);
        t->umode = r == 0;
    } else {
        r = cio__conn_register(&t->fs, t->loop, fd, transport_event);
    }
    if (r < 0) {
        cio__loop_report(s->loop, "transport: cannot watch a connection", r,
                         NULL, NULL, NULL);
        t_discard(t);
        return 0;
    }
    t->made = 1;
    if (t->proto->connection_made) {
        r = t->proto->connection_made(t, t->ctx);
        if (r < 0) {
            cio__tr_fatal(t, r, 1);
            return 0;
        }
    }
    cio__tr_schedule(t); /* try the first read: the request may be there already */
    return 0;
}

/* ---------------------------------------------------------- public API */

/* create_connection's body: host:port, or the Unix socket at path. */
static int create_conn(cio_protocol_factory factory, void *arg,
                       const char *host, int port, const char *path,
                       const cio_conn_opts *opts, cio_transport **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio__task *task = cio__tls_task;
    if (!factory || !task)
        return CIO_MISUSE(task ? "NULL factory" : "called outside a task");
    cio_sockaddr ua;
    int r;
    if (path && (r = cio_sockaddr_from_unix(&ua, path)) < 0)
        return r;
    cio_transport *t;
    r = t_new(task->f.loop, -1, opts, 0, &t);
    if (r < 0)
        return r;
    int fd;
    if (path)
        r = cio__conn_connect_addr(&t->fs.afd, (struct sockaddr *)&ua.ss,
                                   ua.len, transport_event, &fd);
    else
        r = cio__conn_connect(&t->fs.afd, host, port, opts, transport_event,
                              &fd);
    if (r < 0) {
        cio__free(t);
        return r;
    }
    cio__fdstream_init(&t->fs, fd, 1);
    if (opts && opts->tls) {
        r = cio__tls_ctx_role(opts->tls) == CIO_TLS_CLIENT
                ? tr_handshake(t, opts->tls,
                               opts->server_hostname ? opts->server_hostname
                                                     : host,
                               port)
                : -EINVAL;
        if (r < 0) {
            t_discard(t);
            return r;
        }
    }
    r = make_protocol(t, factory, arg, 0);
    if (r == 0) {
        cio__tr_cq_switch(t);
        t->made = 1;
        if (t->proto->connection_made)
            r = t->proto->connection_made(t, t->ctx);
    }
    if (r < 0) {
        t_discard(t);
        return r;
    }
    if (!t->closed)
        cio__tr_schedule(t);
    *out = t;
    return 0;
}

int cio_create_connection(cio_protocol_factory factory, void *arg,
                          const char *host, int port,
                          const cio_conn_opts *opts, cio_transport **out)
{
    return create_conn(factory, arg, host, port, NULL, opts, out);
}

int cio_create_unix_connection(cio_protocol_factory factory, void *arg,
                               const char *path, const cio_conn_opts *opts,
                               cio_transport **out)
{
    if (!path) {
        if (out)
            *out = NULL;
        return -EINVAL;
    }
    return create_conn(factory, arg, NULL, 0, path, opts, out);
}

/* cio_transport_from_fd's body; with ops, a user's layer over the
 * descriptor stream (it keeps the transport in readiness mode). */
static int from_fd(cio_loop *loop, int fd, const cio_bstream_ops *ops,
                   void *state, cio_protocol_factory factory, void *arg,
                   const cio_conn_opts *opts, cio_transport **out)
{
    if (out)
        *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (fd < 0 || !factory)
        return -EINVAL;
    cio_transport *t;
    r = t_new(loop, fd, opts, 1, &t);
    if (r < 0)
        return r;
    if (ops) {
        r = cio__ulayer_new(ops, state, t->bs, &t->ul);
        if (r < 0) {
            cio__afd_close(&t->fs.afd);
            cio__free(t);
            return r;
        }
        t->bs = cio__ulayer_bs(t->ul);
    }
    /* A pipe: which way it goes decides what can be done. */
    int mode = O_RDWR;
    if (!t->fs.is_sock) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            mode = fl & O_ACCMODE;
    }
    r = make_protocol(t, factory, arg, mode == O_WRONLY);
    if (r < 0) {
        cio__afd_close(&t->fs.afd);
        if (t->ul) { /* state stays the caller's: no close op */
            cio__free(t->ul);
        }
        cio__free(t);
        return r;
    }
    if (!t->fs.is_sock) {
        t->no_read = mode == O_WRONLY;
        t->no_write = mode == O_RDONLY;
        t->can_eof = mode == O_WRONLY;
        if (t->no_read)
            t->fs.afd.ready &= ~CIO__EV_READ;
    }
    cio__tr_cq_switch(t);
    t->pending |= EV_MADE;
    cio__tr_schedule(t);
    if (out)
        *out = t;
    return 0;
}

int cio_transport_from_fd(cio_loop *loop, int fd, cio_protocol_factory factory,
                          void *arg, const cio_conn_opts *opts,
                          cio_transport **out)
{
    return from_fd(loop, fd, NULL, NULL, factory, arg, opts, out);
}

int cio_transport_from_bstream(cio_loop *loop, int fd,
                               const cio_bstream_ops *ops, void *state,
                               cio_protocol_factory factory, void *arg,
                               const cio_conn_opts *opts, cio_transport **out)
{
    if (!ops) {
        if (out)
            *out = NULL;
        return -EINVAL;
    }
    return from_fd(loop, fd, ops, state, factory, arg, opts, out);
}

static int t_check(const cio_transport *t)
{
    if (CIO_UNLIKELY(!t))
        return -EINVAL;
    return cio__loop_check(t->loop);
}

int cio_transport_write(cio_transport *t, const void *data, size_t len)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    if (!data && len)
        return -EINVAL;
    if (t->err)
        return t->err;
    if (t->closing || t->eof_pending || t->eof_sent || t->no_write)
        return -EPIPE;
    rc = cio__wbuf_admit(cio__tr_wlen(t), len, t->cap);
    if (rc < 0)
        return rc;
    if (t->umode) {
        rc = cio__wbuf_append(&t->wb, data, len);
        if (rc < 0) {
            cio__tr_fatal(t, rc, 0);
            return rc;
        }
        cio__tr_cq_send_next(t);
        return cio__tr_check_high_water(t);
    }
    const char *p = data;
    rc = cio__tr_rd_write(t, &p, &len);
    if (CIO_UNLIKELY(rc < 0))
        return rc;
    if (CIO_LIKELY(!len))
        return 0;
    rc = cio__wbuf_append(&t->wb, p, len);
    if (rc < 0) {
        cio__tr_fatal(t, rc, 0);
        return rc;
    }
    return cio__tr_check_high_water(t);
}

int cio_transport_writelines(cio_transport *t, const struct iovec *iov,
                             size_t n)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    if (!iov && n)
        return -EINVAL;
    if (t->err)
        return t->err;
    if (t->closing || t->eof_pending || t->eof_sent || t->no_write)
        return -EPIPE;
    rc = cio__wbuf_admitv(cio__tr_wlen(t), iov, n, t->cap);
    if (rc < 0)
        return rc;
    size_t i = 0, off = 0;
    if (n && !t->umode) {
        ssize_t k = cio__tr_rd_writev(t, iov, n);
        if (k < 0)
            return (int)k;
        size_t sent = (size_t)k;
        while (i < n && sent >= iov[i].iov_len) {
            sent -= iov[i].iov_len;
            i++;
        }
        off = sent;
    }
    for (; i < n; i++, off = 0) {
        if (iov[i].iov_len > off) {
            rc = cio_transport_write(t, (const char *)iov[i].iov_base + off,
                                     iov[i].iov_len - off);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int cio_transport_write_eof(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    if (t->closing)
        return t->err ? t->err : -EPIPE;
    if (!t->can_eof)
        return -ENOTSUP;
    if (t->eof_pending || t->eof_sent)
        return 0;
    if (cio__tr_wlen(t))
        t->eof_pending = 1;
    else
        do_write_eof(t);
    return 0;
}

int cio_transport_can_write_eof(const cio_transport *t)
{
    if (!t)
        return -EINVAL;
    return t->can_eof;
}

int cio_transport_close(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    if (t->closing)
        return 0;
    t->closing = 1;
    if (!cio__tr_wlen(t))
        cio__tr_close_now(t, 0);
    else if (t->umode)
        cio__tr_cq_stop_reading(t); /* reads no more */
    return 0;
}

int cio_transport_abort(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    cio__tr_close_now(t, 0);
    return 0;
}

int cio_transport_pause_reading(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    t->paused_r = 1;
    if (t->umode)
        cio__tr_cq_stop_reading(t);
    return 0;
}

int cio_transport_resume_reading(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    if (!t->paused_r)
        return 0;
    t->paused_r = 0;
    if (!t->closed && (t->umode || (t->fs.afd.ready & CIO__EV_READ)))
        cio__tr_schedule(t);
    return 0;
}

int cio_transport_is_reading(const cio_transport *t)
{
    if (!t)
        return -EINVAL;
    return !t->paused_r && !t->closing;
}

int cio_transport_is_closing(const cio_transport *t)
{
    if (!t)
        return -EINVAL;
    return t->closing;
}

ssize_t cio_transport_write_buffer_size(const cio_transport *t)
{
    if (!t)
        return -EINVAL;
    return (ssize_t)cio__tr_wlen(t);
}

int cio_transport_set_write_buffer_limits(cio_transport *t, size_t high,
                                          size_t low)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    rc = cio__limits_fix(high, low, &t->high, &t->low);
    if (rc < 0)
        return rc;
    return cio__tr_check_high_water(t); /* asyncio's _maybe_pause_protocol */
}

int cio_transport_write_buffer_limits(const cio_transport *t, size_t *low,
                                      size_t *high)
{
    if (!t)
        return -EINVAL;
    if (low)
        *low = t->low;
    if (high)
        *high = t->high;
    return 0;
}

int cio_transport_set_write_buffer_cap(cio_transport *t, size_t cap)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    t->cap = cap;
    return 0;
}

static int t_name(const cio_transport *t, cio_sockaddr *out, int peer)
{
    if (!t || !out)
        return -EINVAL;
    if (t->closed)
        return -EBADF;
    return cio__sockaddr_of(t->fs.fd, peer, out);
}

int cio_transport_peername(const cio_transport *t, cio_sockaddr *out)
{
    return t_name(t, out, 1);
}

int cio_transport_sockname(const cio_transport *t, cio_sockaddr *out)
{
    return t_name(t, out, 0);
}

int cio_transport_fileno(const cio_transport *t)
{
    if (!t)
        return -EINVAL;
    return t->closed ? -EBADF : t->fs.fd;
}

void *cio_transport_context(const cio_transport *t)
{
    return t ? t->ctx : NULL;
}
