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
 * Completion mode (umode): on a backend whose caps() offer socket ops
 * (io_uring), a socket transport with a data_received protocol does not
 * watch readiness at all. One multishot recv fills the backend's buffers;
 * its completions are held in the transport (hq) and handed to
 * data_received by the run, each buffer given back once the callback
 * returns. Writes are copied into the filling buffer (wb) and sent by one
 * send at a time from the other (sb), which stays untouched while the
 * kernel has it; the two swap when a send completes. So the system calls
 * of a busy connection ride on the loop's one io_uring_enter per
 * iteration. BufferedProtocol and pipes stay on readiness: the former
 * hands its own buffer to each read, which a multishot recv cannot fill.
 * Every op in flight holds a reference on the transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn.h"

#define EV_MADE 0x100u /* connection_made is due (from_fd) */
#define READ_BUDGET 16

struct cio_transport {
    cio__afd afd;
    cio_loop *loop;
    int fd;
    uint32_t refs;
    uint8_t is_sock, can_eof;
    uint8_t paused_r;    /* pause_reading */
    uint8_t closing;     /* close requested or lost */
    uint8_t closed;      /* descriptor closed */
    uint8_t lost;        /* connection_lost called (or suppressed) */
    uint8_t made;        /* connection_made called */
    uint8_t eof;         /* EOF read */
    uint8_t eof_pending; /* write_eof once flushed */
    uint8_t eof_sent;
    uint8_t wpaused;     /* pause_writing called, resume not yet */
    uint8_t linked;
    uint8_t in_run;
    uint8_t no_read;  /* a write-only pipe: never read */
    uint8_t no_write; /* a read-only pipe */
    int err;
    /* completion mode (see top) */
    uint8_t umode;
    uint8_t r_armed; /* the multishot recv is in the kernel */
    uint8_t s_busy;  /* a send of sb is in the kernel */
    uint8_t r_eof;   /* the recv saw EOF: after the held chunks */
    int r_err;       /* the recv failed: after the held chunks */
    int w_err;       /* a send failed */
    cio__uop rop, sop;
    struct held {
        char *p;
        uint32_t len;
        unsigned id;
    } *hq;
    unsigned hhead, hlen, hcap;
    cio__wbuf sb;
    unsigned pending;
    cio__handle *h;
    const cio_protocol *proto;
    void *ctx;
    char *rbuf;
    size_t rsize;
    cio__wbuf wb;
    size_t high, low;
    cio__srvlink sl;
};

static void transport_run(cio__handle *h);
static void fatal(cio_transport *t, int err, int report);

/* Bytes written and not yet sent: in completion mode, those the kernel
 * has (sb) and those waiting for the next send (wb). */
static size_t wlen(const cio_transport *t)
{
    return cio__wbuf_len(&t->wb) + cio__wbuf_len(&t->sb);
}

/* pause_writing once the buffer passes the high-water mark; never before
 * connection_made (a write right after cio_transport_from_fd, whose
 * connection_made is still queued, is checked again once it has run). */
static int check_high_water(cio_transport *t)
{
    if (t->wpaused || !t->made || wlen(t) <= t->high)
        return 0;
    t->wpaused = 1;
    if (t->proto->pause_writing) {
        int rc = t->proto->pause_writing(t, t->ctx);
        if (rc < 0) {
            fatal(t, rc, 1);
            return rc;
        }
    }
    return 0;
}

static void held_release(cio_transport *t)
{
    for (; t->hlen; t->hlen--) {
        struct held *c = &t->hq[t->hhead];
        t->loop->bops->buf_put(t->loop->be, c->id);
        t->hhead = (t->hhead + 1) & (t->hcap - 1);
    }
    t->hhead = 0;
}

static void t_unref(cio_transport *t)
{
    if (--t->refs)
        return;
    held_release(t);
    cio__free(t->hq);
    cio__free(t->rbuf);
    cio__wbuf_free(&t->wb);
    cio__wbuf_free(&t->sb);
    cio__free(t);
}

/* Queues a run of t unless one is queued or running (a running one looks
 * at the state again before it ends). */
static void schedule(cio_transport *t)
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
static void close_now(cio_transport *t, int err)
{
    if (t->closed)
        return;
    if (!t->err)
        t->err = err;
    t->closed = 1;
    t->closing = 1;
    if (t->umode) {
        /* the ops' final completions drop their references later; the
         * cancel is submitted before close(2) so the socket closes now */
        if (t->r_armed)
            t->loop->bops->cancel(t->loop->be, &t->rop);
        if (t->s_busy)
            t->loop->bops->cancel(t->loop->be, &t->sop);
        held_release(t);
    }
    cio__afd_close(&t->afd);
    close(t->fd);
    cio__wbuf_free(&t->wb);
    schedule(t);
}

/* A callback failed (report it) or the connection broke. */
static void fatal(cio_transport *t, int err, int report)
{
    if (report)
        cio__loop_report(t->loop, "protocol callback failed", err, NULL,
                         NULL, NULL);
    close_now(t, err);
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
    t_unref(t); /* the open reference */
}

static void do_write_eof(cio_transport *t)
{
    t->eof_pending = 0;
    t->eof_sent = 1;
    if (!t->is_sock) {
        close_now(t, 0);
        return;
    }
    if (shutdown(t->fd, SHUT_WR) < 0 && errno != ENOTCONN)
        close_now(t, -errno);
}

static void flushed(cio_transport *t);

static void flush(cio_transport *t)
{
    int again;
    int r = cio__wbuf_flush(&t->wb, t->fd, t->is_sock, &again);
    if (r < 0) {
        fatal(t, r, 0);
        return;
    }
    if (again)
        cio__afd_clear(&t->afd, CIO__EV_WRITE);
    flushed(t);
}

/* After bytes left: resume_writing below the low-water mark; once all is
 * sent, the write_eof or close that waited for it. */
static void flushed(cio_transport *t)
{
    size_t len = wlen(t);
    if (t->wpaused && len <= t->low) {
        t->wpaused = 0;
        if (t->proto->resume_writing) {
            int rc = t->proto->resume_writing(t, t->ctx);
            if (rc < 0) {
                fatal(t, rc, 1);
                return;
            }
        }
    }
    if (len || t->closed)
        return;
    if (t->eof_pending)
        do_write_eof(t);
    if (t->closing)
        close_now(t, 0);
}

/* The peer's EOF: eof_received decides whether the write side stays
 * open (asyncio: a true return keeps it; else the transport closes). */
static void got_eof(cio_transport *t)
{
    t->eof = 1;
    int keep = t->proto->eof_received ? t->proto->eof_received(t, t->ctx) : 0;
    if (keep < 0)
        fatal(t, keep, 1);
    else if (!keep)
        cio_transport_close(t);
}

static void read_some(cio_transport *t)
{
    const cio_protocol *p = t->proto;
    /* Small messages land in this buffer on the loop thread's stack: hot
     * in the cache whichever connection reads, and an idle connection
     * never owns memory for reading. A read that fills it switches the
     * connection to its own read_size buffer, kept from then on. */
    char local[16384];
    for (int i = 0; i < READ_BUDGET; i++) {
        char *buf;
        size_t len;
        if (p->get_buffer) {
            len = 0;
            buf = p->get_buffer(t, t->rsize, &len, t->ctx);
            if (!buf || !len) {
                fatal(t, -ENOBUFS, 1);
                return;
            }
        } else if (!t->rbuf) {
            buf = local;
            len = t->rsize < sizeof(local) ? t->rsize : sizeof(local);
        } else {
            buf = t->rbuf;
            len = t->rsize;
        }
        ssize_t n = cio__conn_recv(t->fd, t->is_sock, buf, len);
        if (n > 0) {
            int rc = p->get_buffer
                         ? p->buffer_updated(t, (size_t)n, t->ctx)
                         : p->data_received(t, buf, (size_t)n, t->ctx);
            if (rc < 0) {
                fatal(t, rc, 1);
                return;
            }
            if (buf == local && (size_t)n == len && t->rsize > len &&
                !(t->rbuf = cio__malloc(t->rsize))) {
                fatal(t, -ENOMEM, 1);
                return;
            }
            if (t->closing || t->paused_r)
                return;
            if ((size_t)n < len && cio__afd_short_read(&t->afd))
                return;
            continue;
        }
        if (n == 0) {
            cio__afd_clear(&t->afd, CIO__EV_READ);
            got_eof(t);
            return;
        }
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            cio__afd_clear(&t->afd, CIO__EV_READ);
            return;
        }
        fatal(t, -e, 0);
        return;
    }
}

/* ---------------------------------------------------- completion mode */

static void u_recv_cb(cio__uop *op, int res, int more, char *buf,
                      unsigned id)
{
    cio_transport *t = cio__container_of(op, cio_transport, rop);
    if (res > 0) {
        if (t->closed) {
            t->loop->bops->buf_put(t->loop->be, id);
        } else {
            if (t->hlen == t->hcap) {
                /* a ring, doubled when full (a power of two) */
                unsigned cap = t->hcap ? t->hcap * 2 : 4;
                struct held *q = cio__malloc(cap * sizeof(*q));
                if (!q) {
                    t->loop->bops->buf_put(t->loop->be, id);
                    t->r_err = -ENOMEM;
                    goto out;
                }
                for (unsigned i = 0; i < t->hlen; i++)
                    q[i] = t->hq[(t->hhead + i) & (t->hcap - 1)];
                cio__free(t->hq);
                t->hq = q;
                t->hcap = cap;
                t->hhead = 0;
            }
            t->hq[(t->hhead + t->hlen) & (t->hcap - 1)] =
                (struct held){buf, (uint32_t)res, id};
            t->hlen++;
        }
    } else if (res == 0) {
        t->r_eof = 1;
    } else if (res != -ECANCELED) {
        t->r_err = res;
    }
out:
    if (!t->closed)
        schedule(t); /* deliver, or re-arm a recv that ended */
    if (!more) {
        t->r_armed = 0;
        t_unref(t); /* the op's reference */
    }
}

static void u_send_next(cio_transport *t);

static void u_send_cb(cio__uop *op, int res, int more, char *buf,
                      unsigned id)
{
    (void)more;
    (void)buf;
    (void)id;
    cio_transport *t = cio__container_of(op, cio_transport, sop);
    t->s_busy = 0;
    if (res > 0) {
        t->sb.start += (size_t)res;
        if (t->sb.start == t->sb.end)
            t->sb.start = t->sb.end = 0;
    } else if (res < 0 && res != -ECANCELED && !t->w_err) {
        t->w_err = res;
    }
    if (!t->closed) {
        if (!t->w_err)
            u_send_next(t);
        size_t len = wlen(t);
        if (t->w_err || (t->wpaused && len <= t->low) ||
            (!len && (t->eof_pending || t->closing)))
            schedule(t); /* user callbacks run from the run */
    }
    t_unref(t); /* the op's reference */
}

/* Sends the rest of sb, or swaps the filling buffer in and sends it. */
static void u_send_next(cio_transport *t)
{
    if (t->s_busy || t->closed || t->loop->discarding)
        return;
    if (!cio__wbuf_len(&t->sb)) {
        if (!cio__wbuf_len(&t->wb))
            return;
        cio__wbuf tmp = t->sb;
        t->sb = t->wb;
        t->wb = tmp;
        t->wb.start = t->wb.end = 0;
    }
    int r = t->loop->bops->send(t->loop->be, &t->sop, t->fd,
                                t->sb.p + t->sb.start, cio__wbuf_len(&t->sb));
    if (r < 0) {
        if (!t->w_err)
            t->w_err = r;
        schedule(t);
        return;
    }
    t->s_busy = 1;
    t->refs++;
}

static void u_arm_recv(cio_transport *t)
{
    int r = t->loop->bops->recv(t->loop->be, &t->rop, t->fd);
    if (r < 0) {
        fatal(t, r, 0);
        return;
    }
    t->r_armed = 1;
    t->refs++;
}

/* Can t run in completion mode on its loop? */
static int u_eligible(const cio_transport *t)
{
    const cio__backend_ops *o = t->loop->bops;
    return t->is_sock && !t->proto->get_buffer && o->caps &&
           (o->caps(t->loop->be) & CIO__CAP_SOCK_OPS);
}

/* The run's part in completion mode: hand the held chunks to the
 * protocol, then what the recv ended with, then keep a recv armed. */
static void u_run(cio_transport *t)
{
    if (t->w_err) {
        fatal(t, t->w_err, 0);
        return;
    }
    flushed(t);
    const cio_protocol *p = t->proto;
    while (t->hlen && !t->closed && !t->closing && !t->paused_r) {
        struct held c = t->hq[t->hhead];
        t->hhead = (t->hhead + 1) & (t->hcap - 1);
        t->hlen--;
        int rc = p->data_received(t, c.p, c.len, t->ctx);
        t->loop->bops->buf_put(t->loop->be, c.id);
        if (rc < 0) {
            fatal(t, rc, 1);
            return;
        }
    }
    if (t->closed || t->closing || t->paused_r || t->hlen)
        return;
    if (t->r_err) {
        fatal(t, t->r_err, 0);
        return;
    }
    if (t->r_eof) {
        if (!t->eof)
            got_eof(t);
        return;
    }
    if (!t->r_armed)
        u_arm_recv(t);
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
            t_unref(t);
        }
        t_unref(t);
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
                fatal(t, rc, 1);
        }
        if (!t->closed)
            check_high_water(t);
    }
    if (t->umode) {
        if (!t->closed)
            u_run(t);
        t->in_run = 0;
        if (t->closed && !t->lost)
            call_lost(t);
        t_unref(t); /* the run's reference */
        return;
    }
    if (!t->closed && cio__wbuf_len(&t->wb) &&
        (t->afd.ready & CIO__EV_WRITE))
        flush(t);
    if (CIO_UNLIKELY(t->no_read) && !t->closed &&
        (t->afd.ready & CIO__EV_READ)) {
        /* A write-only pipe reports its reader's exit as an error:
         * asyncio's "pipe closed by peer". */
        close_now(t, cio__wbuf_len(&t->wb) ? -EPIPE : 0);
    }
    int again = 0;
    if (!t->closed && !t->closing && !t->paused_r && !t->eof &&
        !t->no_read && (t->afd.ready & CIO__EV_READ)) {
        read_some(t);
        again = !t->closed && !t->closing && !t->paused_r && !t->eof &&
                (t->afd.ready & CIO__EV_READ);
    }
    t->in_run = 0;
    if (t->closed) {
        if (!t->lost)
            call_lost(t);
    } else if (again) {
        schedule(t); /* budget spent: let the others run first */
    }
    t_unref(t); /* the run's reference */
}

/* From the poll: note the directions and queue a run. */
static void transport_event(cio__afd *a, unsigned rev)
{
    cio_transport *t = cio__container_of(a, cio_transport, afd);
    t->pending |= rev;
    schedule(t);
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
    t->fd = fd;
    t->refs = 1;
    t->rsize = o.read_size;
    t->high = o.high_water;
    t->low = o.low_water;
    t->sl.close = srv_close;
    t->rop.cb = u_recv_cb;
    t->sop.cb = u_send_cb;
    if (register_fd) {
        r = cio__conn_register(&t->afd, loop, fd, transport_event,
                               &t->is_sock);
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
        cio__afd_close(&t->afd);
        close(t->fd);
    }
    t_unref(t);
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
    t->can_eof = t->is_sock;
    return 0;
}

/* A transport whose descriptor is watched for readiness switches to
 * completion mode if it can, before anything is written or read. */
static void u_switch(cio_transport *t)
{
    if (!u_eligible(t))
        return;
    cio__afd_unwatch(&t->afd);
    t->umode = 1;
}

int cio__transport_accepted(cio_server *s, int fd)
{
    cio_transport *t;
    int r = t_new(s->loop, fd, &s->conn, 0, &t);
    if (r < 0)
        return r;
    t->is_sock = 1;
    cio__server_link(s, &t->sl);
    t->linked = 1;
    r = make_protocol(t, s->factory, s->arg, 0);
    if (r < 0) {
        cio__loop_report(s->loop, "protocol factory failed", r, NULL, NULL,
                         NULL);
        t_discard(t);
        return 0;
    }
    /* A fresh descriptor: the protocol decides how it is watched. */
    if (u_eligible(t)) {
        r = cio__afd_claim(&t->afd, t->loop, fd);
        t->umode = r == 0;
    } else {
        uint8_t is_sock;
        r = cio__conn_register(&t->afd, t->loop, fd, transport_event,
                               &is_sock);
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
            fatal(t, r, 1);
            return 0;
        }
    }
    schedule(t); /* try the first read: the request may be there already */
    return 0;
}

/* ---------------------------------------------------------- public API */

int cio_create_connection(cio_protocol_factory factory, void *arg,
                          const char *host, int port,
                          const cio_conn_opts *opts, cio_transport **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio__task *task = cio__tls_task;
    if (!factory || !task)
        return CIO_MISUSE(task ? "NULL factory" : "called outside a task");
    cio_transport *t;
    int r = t_new(task->f.loop, -1, opts, 0, &t);
    if (r < 0)
        return r;
    int fd;
    r = cio__conn_connect(&t->afd, host, port, transport_event, &fd);
    if (r < 0) {
        cio__free(t);
        return r;
    }
    t->fd = fd;
    t->is_sock = 1;
    r = make_protocol(t, factory, arg, 0);
    if (r == 0) {
        u_switch(t);
        t->made = 1;
        if (t->proto->connection_made)
            r = t->proto->connection_made(t, t->ctx);
    }
    if (r < 0) {
        t_discard(t);
        return r;
    }
    if (!t->closed)
        schedule(t);
    *out = t;
    return 0;
}

int cio_transport_from_fd(cio_loop *loop, int fd, cio_protocol_factory factory,
                          void *arg, const cio_conn_opts *opts,
                          cio_transport **out)
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
    /* A pipe: which way it goes decides what can be done. */
    int mode = O_RDWR;
    if (!t->is_sock) {
        int fl = fcntl(fd, F_GETFL);
        if (fl >= 0)
            mode = fl & O_ACCMODE;
    }
    r = make_protocol(t, factory, arg, mode == O_WRONLY);
    if (r < 0) {
        cio__afd_close(&t->afd);
        cio__free(t);
        return r;
    }
    if (!t->is_sock) {
        t->no_read = mode == O_WRONLY;
        t->no_write = mode == O_RDONLY;
        t->can_eof = mode == O_WRONLY;
        if (t->no_read)
            t->afd.ready &= ~CIO__EV_READ;
    }
    u_switch(t);
    t->pending |= EV_MADE;
    schedule(t);
    if (out)
        *out = t;
    return 0;
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
    if (t->umode) {
        rc = cio__wbuf_append(&t->wb, data, len);
        if (rc < 0) {
            fatal(t, rc, 0);
            return rc;
        }
        u_send_next(t);
        return check_high_water(t);
    }
    const char *p = data;
    while (len && !cio__wbuf_len(&t->wb) &&
           (t->afd.ready & CIO__EV_WRITE)) {
        ssize_t k = cio__conn_send(t->fd, t->is_sock, p, len);
        if (CIO_LIKELY(k >= 0)) {
            p += k;
            len -= (size_t)k;
        } else if (k == -EAGAIN || k == -EWOULDBLOCK) {
            cio__afd_clear(&t->afd, CIO__EV_WRITE);
        } else {
            fatal(t, (int)k, 0);
            return (int)k;
        }
    }
    if (CIO_LIKELY(!len))
        return 0;
    rc = cio__wbuf_append(&t->wb, p, len);
    if (rc < 0) {
        fatal(t, rc, 0);
        return rc;
    }
    return check_high_water(t);
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
    size_t i = 0, off = 0;
    if (n && !cio__wbuf_len(&t->wb) && !t->umode &&
        (t->afd.ready & CIO__EV_WRITE)) {
        ssize_t k = cio__conn_sendv(t->fd, t->is_sock, iov,
                                    n > 64 ? 64 : (int)n);
        if (k < 0 && k != -EAGAIN && k != -EWOULDBLOCK) {
            fatal(t, (int)k, 0);
            return (int)k;
        }
        if (k < 0)
            cio__afd_clear(&t->afd, CIO__EV_WRITE);
        size_t sent = k > 0 ? (size_t)k : 0;
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
    if (wlen(t))
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
    if (!wlen(t))
        close_now(t, 0);
    else if (t->umode && t->r_armed)
        t->loop->bops->cancel(t->loop->be, &t->rop); /* reads no more */
    return 0;
}

int cio_transport_abort(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    close_now(t, 0);
    return 0;
}

int cio_transport_pause_reading(cio_transport *t)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    t->paused_r = 1;
    if (t->umode && t->r_armed)
        t->loop->bops->cancel(t->loop->be, &t->rop);
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
    if (!t->closed && (t->umode || (t->afd.ready & CIO__EV_READ)))
        schedule(t);
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

ssize_t cio_transport_get_write_buffer_size(const cio_transport *t)
{
    if (!t)
        return -EINVAL;
    return (ssize_t)wlen(t);
}

int cio_transport_set_write_buffer_limits(cio_transport *t, size_t high,
                                          size_t low)
{
    int rc = t_check(t);
    if (rc < 0)
        return rc;
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.high_water = high;
    o.low_water = low;
    rc = cio__conn_opts_fix(&o, &o);
    if (rc < 0)
        return rc;
    t->high = o.high_water;
    t->low = o.low_water;
    return check_high_water(t); /* asyncio's _maybe_pause_protocol */
}

static int t_name(const cio_transport *t, cio_sockaddr *out, int peer)
{
    if (!t || !out)
        return -EINVAL;
    if (t->closed)
        return -EBADF;
    return cio__sockaddr_of(t->fd, peer, out);
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
    return t->closed ? -EBADF : t->fd;
}

void *cio_transport_context(const cio_transport *t)
{
    return t ? t->ctx : NULL;
}
