/*
 * sock.c - awaitable sockets in curio's style (cio_socket_*), plus the
 * descriptor helpers of addr.h that the streams share.
 *
 * How: a cio_socket is a non-blocking fd and a cio__afd registered once,
 * edge-triggered. Each call makes the system call first and only on
 * EAGAIN clears the direction's readiness and suspends the calling task
 * until the next edge (afd.h). A busy connection therefore costs its
 * read and write system calls and nothing else: no epoll_ctl, no
 * allocation, no suspension while data flows. On io_uring a TCP socket
 * goes further from its first recv: completion mode (below, and
 * docs/design.md section 45), where its reads and writes ride on the
 * loop's io_uring_enter and cost no system call of their own.
 *
 * Short sends: on a stream socket, a send that takes less than offered
 * has filled the send buffer, and the space freed later raises a new edge
 * (the kernel marks the socket SOCK_NOSPACE on the way out). So the write
 * readiness is cleared at once and the next send waits for that edge
 * instead of making a system call only to hear EAGAIN. Reads make the same
 * inference ("a short recv drained the queue", as the hand-written epoll
 * server and tokio do) unless the backend has reported the peer's FIN
 * (CIO__EV_RDHUP): a FIN that arrived with the last data raises no edge of
 * its own, so then the reader keeps reading until it sees the EOF.
 *
 * Lifetime: close() may come from another task while a call waits. The
 * waiter wakes with -EBADF (cio__afd_close), and the memory is freed by
 * whichever comes last: close, the last call still inside (busy count),
 * or the task exit registered by close_on_exit. Callers never touch s
 * after a call returned an error caused by a close.
 *
 * Fairness: a task whose socket never says EAGAIN would never suspend and
 * would starve the others (asyncio's sock_recv has this problem). After
 * SOCK_BUDGET calls in a row that did not wait, the next call yields once
 * first (tokio's cooperative budget, in miniature).
 *
 * Descriptor exhaustion: accept4 failing with EMFILE leaves the listener
 * readable, so retrying at once would spin. The accept backs off on a
 * timer (1 ms doubling to 100 ms) and is woken early when a cio_socket of
 * this thread is closed. Rejected: libuv's trick of closing a reserved
 * spare descriptor to accept and drop the pending connection; it loses
 * connections a moment later would have served.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "cio/impl.h"
#include "core/sys.h"
#include "net/addr.h"
#include "net/afd.h"
#include "net/bstream.h"
#include "net/tls.h"

#define SOCK_BUDGET 32
#define BACKOFF_MIN (1 * CIO_MS)
#define BACKOFF_MAX (100 * CIO_MS)

struct cio_socket {
    cio__fdstream fs; /* the byte stream (stream sockets), fd, readiness */
    cio_loop *loop;
    int family, type;
    unsigned busy;   /* calls suspended on this socket right now */
    uint8_t closed;
    uint8_t on_exit; /* close_on_exit registered: its defer frees */
    uint8_t streak;  /* calls in a row that did not wait */
    uint8_t full;    /* a short send filled the send buffer */
    cio__bstream *bs; /* plain stream I/O: &fs.bs, or TLS over it */
    cio_tls_conn *tls; /* after cio_socket_start_tls */
    cio__ulayer *ul;   /* after cio_socket_push_bstream (cio/impl.h) */
    struct sockcq *cq; /* completion-mode receive (io_uring), see below */
    uint8_t cq_tried;
    uint8_t wshut; /* shut down for writing (before completion mode) */
};

/* Bytes go through a layer (TLS, a user's): the plain descriptor calls
 * (flags, addresses, sendfile) would bypass it. */
static inline int layered(const cio_socket *s)
{
    return s->bs != &s->fs.bs;
}

/* ---- descriptor helpers (addr.h) ---- */

int cio__sock_fd(int family, int type, int protocol)
{
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    return fd < 0 ? CIO__ERRNO() : fd;
}

int cio__sock_nodelay(int fd, int family)
{
    if (family != AF_INET && family != AF_INET6)
        return 0;
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
        return errno == EOPNOTSUPP || errno == ENOPROTOOPT ? 0 : CIO__ERRNO();
    return 0;
}

int cio__sock_listen_fd(const cio_sockaddr *addr, int backlog)
{
    if (!addr || !addr->len)
        return -EINVAL;
    int fd = cio__sock_fd(addr->ss.ss_family, SOCK_STREAM, 0);
    if (fd < 0)
        return fd;
    int one = 1, r = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
        r = CIO__ERRNO();
    else if (addr->ss.ss_family == AF_INET6 &&
             setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
        r = CIO__ERRNO();
    else if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
        r = CIO__ERRNO();
    else if (listen(fd, backlog < 0 ? SOMAXCONN : backlog) < 0)
        r = CIO__ERRNO();
    if (r < 0) {
        close(fd);
        return r;
    }
    return fd;
}

/* ---- descriptor-shortage back-off ---- */

/* Accepts waiting out EMFILE on this thread, woken by any close. The
 * nodes live on the waiting tasks' stacks. */
typedef struct emwait {
    cio__list link;
    cio__task *t;
    cio_loop *loop;
    cio__handle *h;
} emwait;

static _Thread_local cio__list em_waiters = {NULL, NULL};

static void em_detach(emwait *w)
{
    cio__list_remove(&w->link);
    if (w->h) {
        cio__handle_cancel(w->loop, w->h);
        w->h = NULL;
    }
}

static void em_timer(cio__handle *h)
{
    emwait *w = h->arg;
    w->h = NULL; /* running: recycled by the loop */
    em_detach(w);
    cio__unpark(w->t, 0);
}

static int em_cancel(cio__task *t)
{
    emwait *w = cio__park_arg(t);
    em_detach(w);
    cio__unpark(t, -ECANCELED);
    return 1;
}

/* A descriptor was released on loop: retry the accepts now. */
static void em_wake_all(cio_loop *loop)
{
    if (!em_waiters.next)
        return;
    cio__list *n = em_waiters.next;
    while (n != &em_waiters) {
        cio__list *next = n->next;
        emwait *w = cio__container_of(n, emwait, link);
        if (w->loop == loop) {
            em_detach(w);
            cio__unpark(w->t, 0);
        }
        n = next;
    }
}

static int em_wait(cio_loop *loop, int64_t delay)
{
    cio__task *t = cio__tls_task;
    if (!em_waiters.next)
        cio__list_init(&em_waiters);
    cio__handle *h = cio__handle_get(loop);
    if (!h)
        return -ENOMEM;
    emwait w = {.t = t, .loop = loop, .h = h};
    h->icb = em_timer;
    h->arg = &w;
    int r = cio__handle_at(loop, h, cio_loop_time(loop) + delay);
    if (r < 0)
        return r;
    cio__list_insert_tail(&em_waiters, &w.link);
    r = cio__park(t, em_cancel, &w, "descriptor (EMFILE back-off)");
    if (w.link.next != &w.link) /* resumed by a late cancellation */
        em_detach(&w);
    return r;
}

/* ---- completion mode (io_uring) ----
 * On a backend whose caps() offer socket operations (io_uring), a plain
 * TCP socket's first recv switches it to completion mode (docs/design.md
 * section 45): one multishot receive into the backend's provided buffers
 * replaces the readiness poll plus recvfrom per message, and writes are
 * copied into the socket's buffers and sent by send operations that ride
 * on the loop's one io_uring_enter per iteration. The socket's byte stream
 * gets cq_ops, whose read takes from the held bytes and whose write fills
 * the buffers, each saying -EAGAIN when it cannot, so everything above
 * (sock_io, the budget, the "full" inference, TLS started later over the
 * socket) runs unchanged. A completion marks its direction ready and
 * wakes the waiter through the socket's afd, exactly as a readiness edge
 * does; the afd keeps watching writability only (sendfile).
 *
 * Reads: the kernel only ever writes into the backend's buffers, never
 * into a caller's, so a reader cancelled at its suspension loses nothing
 * (the bytes stay held for the next recv) and no buffer of the caller is
 * in flight. A chunk stays in the backend's buffer only when a reader is
 * parked to take it in this iteration; otherwise it is copied to the
 * socket's spill buffer and the shared buffer given back at once, so
 * sockets that are not being read never hold the loop's pool. Bounded:
 * once CQ_RMAX bytes are held the receive is cancelled, and re-armed
 * when a read brings the count below it (back-pressure reaches the peer
 * through TCP's window, as with a reader that stops reading).
 *
 * Writes: up to CQ_WMAX bytes fill wb while sb is in the kernel; a write
 * that finds both full waits for a send completion, as one to a full
 * socket waits for the writable edge. A send error is returned by the
 * next write. Writes that bypass the buffers (flags, sendfile) first wait
 * until they are sent; shutdown(SHUT_WR) is applied after them.
 *
 * Close cancels the receive, gives the held buffers back and lets the
 * unsent bytes go as the kernel sends a closed socket's queue: the op's
 * record (sockcq) keeps the descriptor until its last send completes,
 * then closes it (or until the loop closes and cancels it).
 */
#define CQ_RMAX (64 * 1024) /* received bytes held before recv stops */

typedef struct cqchunk {
    char *p;
    uint32_t len;
    unsigned id;
} cqchunk;

typedef struct sockcq {
    cio__uop rop;
    cio_loop *loop;
    cio_socket *s; /* NULL once the socket closed */
    cqchunk *q;    /* ring, cap a power of two */
    unsigned head, n, cap;
    uint32_t off; /* bytes of q[head] already handed out */
    size_t bytes; /* held, not yet handed out */
    uint8_t armed, stopping, eof;
    int err;
    /* sends: wb fills while sb is in the kernel, untouched; they swap
     * when sb is done */
    cio__uop sop;
    struct cqbuf {
        char *p;
        size_t cap, start, end;
    } sb, wb, sp; /* sp: received bytes copied out of the backend's buffers */
    uint8_t sbusy;   /* sop in the kernel */
    uint8_t shut_wr; /* shutdown(SHUT_WR) once the buffers are sent */
    uint8_t wdone;   /* shut down for writing: writes say -EPIPE */
    int serr;        /* a send failed: every later write says so */
    int fd;          /* after close: owned here until the sends are done */
    cio__handle *linger; /* after close: bounds the wait for the sends */
} sockcq;

#define CQ_LINGER (30 * CIO_SEC) /* a closed socket's sends, at most */

#define CQ_WMAX (64 * 1024) /* bytes a buffer takes before writes wait */

static void cq_free(sockcq *q)
{
    cio__free(q->sp.p);
    cio__free(q->sb.p);
    cio__free(q->wb.p);
    cio__free(q->q);
    cio__free(q);
}

static size_t cq_wpending(const sockcq *q)
{
    return (q->sb.end - q->sb.start) + (q->wb.end - q->wb.start);
}

/* A closed socket's record goes once its ops are done; the descriptor it
 * kept for the last sends is closed then. */
static void cq_maybe_free(sockcq *q)
{
    if (q->s || q->armed || q->sbusy)
        return;
    if (q->linger)
        cio__handle_cancel(q->loop, q->linger);
    if (q->fd >= 0)
        close(q->fd);
    cq_free(q);
}

/* Sends the rest of sb, or swaps the filled wb in and sends it. */
static void cq_send_next(sockcq *q)
{
    if (q->sbusy || q->serr || q->loop->discarding || q->loop->closed)
        return;
    if (q->sb.start == q->sb.end) {
        if (q->wb.start == q->wb.end)
            return;
        struct cqbuf t = q->sb;
        q->sb = q->wb;
        q->wb = t;
        q->wb.start = q->wb.end = 0;
    }
    int r = cio__op_send(q->loop, &q->sop, q->fd, q->sb.p + q->sb.start,
                         q->sb.end - q->sb.start);
    if (r < 0) {
        q->serr = r;
        return;
    }
    q->sbusy = 1;
}

static void cq_send_cb(cio__uop *op, int res, int more, char *buf,
                       unsigned id)
{
    (void)more;
    (void)buf;
    (void)id;
    sockcq *q = cio__container_of(op, sockcq, sop);
    q->sbusy = 0;
    if (res > 0) {
        q->sb.start += (size_t)res;
        if (q->sb.start == q->sb.end)
            q->sb.start = q->sb.end = 0;
    } else if (!q->serr) {
        q->serr = res < 0 ? res : -EPIPE;
    }
    if (q->serr) /* what is left can never go: drop it */
        q->sb.start = q->sb.end = q->wb.start = q->wb.end = 0;
    cq_send_next(q);
    if (!q->sbusy && q->shut_wr && !cq_wpending(q)) {
        q->shut_wr = 0;
        if (q->fd >= 0)
            (void)shutdown(q->fd, SHUT_WR);
    }
    if (!q->s) {
        cq_maybe_free(q);
        return;
    }
    if (!q->loop->discarding) /* as a writable edge: the writer retries */
        q->s->fs.afd.io.cb(&q->s->fs.afd.io, CIO__EV_WRITE);
}

static void cq_release(sockcq *q)
{
    for (; q->n; q->n--) {
        if (!q->loop->closed)
            cio__op_buf_put(q->loop, q->q[q->head].id);
        q->head = (q->head + 1) & (q->cap - 1);
    }
    q->head = 0;
    q->off = 0;
    q->bytes = 0;
    q->sp.start = q->sp.end = 0;
}

static int cq_push(sockcq *q, char *buf, int len, unsigned id)
{
    if (q->n == q->cap) {
        unsigned cap = q->cap * 2;
        cqchunk *nq = cio__malloc(cap * sizeof(*nq));
        if (!nq)
            return -ENOMEM;
        for (unsigned i = 0; i < q->n; i++)
            nq[i] = q->q[(q->head + i) & (q->cap - 1)];
        cio__free(q->q);
        q->q = nq;
        q->cap = cap;
        q->head = 0;
    }
    q->q[(q->head + q->n) & (q->cap - 1)] = (cqchunk){buf, (uint32_t)len, id};
    q->n++;
    q->bytes += (size_t)len;
    return 0;
}

/* Appends to a buffer that is never in the kernel (grows, compacts). */
static int cqbuf_add(struct cqbuf *b, const void *p, size_t n)
{
    size_t len = b->end - b->start;
    if (b->start && b->end + n > b->cap) {
        memmove(b->p, b->p + b->start, len);
        b->start = 0;
        b->end = len;
    }
    if (b->end + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->end + n)
            cap *= 2;
        char *np = cio__realloc(b->p, cap);
        if (!np)
            return -ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->end, p, n);
    b->end += n;
    return 0;
}

static int cq_arm(sockcq *q)
{
    int r = cio__op_recv(q->loop, &q->rop, q->s->fs.fd);
    if (r == 0)
        q->armed = 1;
    return r;
}

static void cq_recv_cb(cio__uop *op, int res, int more, char *buf,
                       unsigned id)
{
    sockcq *q = cio__container_of(op, sockcq, rop);
    cio_socket *s = q->s;
    int discard = !s || q->loop->discarding;
    if (res > 0) {
        int r = 0;
        if (discard) {
            cio__op_buf_put(q->loop, id);
        } else if (!q->n && q->sp.start == q->sp.end && s->fs.afd.waiter[0]) {
            r = cq_push(q, buf, res, id); /* a reader takes it at once */
            if (r < 0)
                cio__op_buf_put(q->loop, id);
        } else {
            /* nobody is about to read: copy, and give the shared buffer
             * back, so sockets that are not read never hold the pool */
            r = cqbuf_add(&q->sp, buf, (size_t)res);
            cio__op_buf_put(q->loop, id);
            if (r == 0)
                q->bytes += (size_t)res;
        }
        if (r < 0 && !q->err)
            q->err = -ENOMEM; /* never lost silently */
        if (!discard && more && !q->stopping &&
            (r < 0 || q->bytes >= CQ_RMAX)) {
            q->stopping = 1; /* enough held: stop until a read drains */
            cio__op_cancel(q->loop, &q->rop);
        }
    } else if (res == 0) {
        q->eof = 1;
    } else if (res != -ECANCELED && !q->err) {
        q->err = res;
    }
    if (!more) {
        q->armed = 0;
        q->stopping = 0;
    }
    if (!s) {
        cq_maybe_free(q);
        return;
    }
    if (!discard) /* as a readable edge: the reader retries */
        s->fs.afd.io.cb(&s->fs.afd.io, CIO__EV_READ);
}

/* Takes up to n held bytes into p (peek: leaves them held). Returns the
 * bytes, 0 at EOF, the receive's error once (then EOF, as recv(2) after a
 * reset), or -EAGAIN with the read direction cleared. */
static ssize_t cq_take(cio_socket *s, void *p, size_t n, int peek)
{
    sockcq *q = s->cq;
    if (q->bytes) { /* (n == 0 takes nothing, as recv(2) with bytes queued) */
        size_t k = 0;
        unsigned h = q->head, left = q->n;
        uint32_t off = q->off;
        while (k < n && left) {
            cqchunk *c = &q->q[h];
            size_t m = c->len - off;
            if (m > n - k)
                m = n - k;
            memcpy((char *)p + k, c->p + off, m);
            k += m;
            off += (uint32_t)m;
            if (off == c->len) {
                if (!peek)
                    cio__op_buf_put(q->loop, c->id);
                h = (h + 1) & (q->cap - 1);
                left--;
                off = 0;
            }
        }
        size_t m = q->sp.end - q->sp.start; /* then the copied bytes */
        if (m > n - k)
            m = n - k;
        if (m) /* (sp.p is NULL until something was copied) */
            memcpy((char *)p + k, q->sp.p + q->sp.start, m);
        k += m;
        if (peek)
            return (ssize_t)k;
        q->sp.start += m;
        if (q->sp.start == q->sp.end)
            q->sp.start = q->sp.end = 0;
        q->head = left ? h : 0;
        q->n = left;
        q->off = off;
        q->bytes -= k;
        if (!q->armed && !q->eof && !q->err && q->bytes < CQ_RMAX) {
            int r = cq_arm(q);
            if (r < 0)
                q->err = r;
        }
        /* drained: the next recv waits for a completion without asking */
        if (!q->bytes && !q->eof && !q->err)
            cio__afd_clear(&s->fs.afd, CIO__EV_READ);
        return (ssize_t)k;
    }
    if (q->err) {
        int e = q->err;
        if (!peek) {
            q->err = 0;
            q->eof = 1;
        }
        return e;
    }
    if (q->eof)
        return 0;
    if (!q->armed) {
        int r = cq_arm(q);
        if (r < 0)
            return r;
    }
    cio__afd_clear(&s->fs.afd, CIO__EV_READ);
    return -EAGAIN;
}

static cio_socket *cq_sock(cio__bstream *bs)
{
    cio__fdstream *f = cio__container_of(bs, cio__fdstream, bs);
    return cio__container_of(f, cio_socket, fs);
}

static ssize_t cq_read(cio__bstream *bs, void *p, size_t n)
{
    return cq_take(cq_sock(bs), p, n, 0);
}

/* A write copies into the filling buffer (up to CQ_WMAX held) and, if
 * no send is in the kernel, submits one, which leaves with the loop's
 * next io_uring_enter. Returns the bytes taken (fewer than asked when the
 * buffers are full), -EAGAIN (full: the write direction is cleared and a
 * send completion sets it) or the error a send met. */
static ssize_t cq_writev(cio__bstream *bs, const struct iovec *iov, int n)
{
    cio_socket *s = cq_sock(bs);
    sockcq *q = s->cq;
    if (q->serr)
        return q->serr;
    if (q->wdone)
        return -EPIPE;
    struct cqbuf *b =
        !q->sbusy && q->sb.start == q->sb.end && q->wb.start == q->wb.end
            ? &q->sb
            : &q->wb;
    size_t want = 0;
    for (int i = 0; i < n; i++)
        want += iov[i].iov_len;
    if (!want)
        return 0;
    size_t len = b->end - b->start;
    if (len >= CQ_WMAX) {
        cio__afd_clear(&s->fs.afd, CIO__EV_WRITE);
        return -EAGAIN;
    }
    size_t take = want < CQ_WMAX - len ? want : CQ_WMAX - len;
    if (b->start && b->end + take > b->cap) { /* not in flight: compact */
        memmove(b->p, b->p + b->start, len);
        b->start = 0;
        b->end = len;
    }
    if (b->end + take > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->end + take)
            cap *= 2;
        char *np = cio__realloc(b->p, cap);
        if (!np)
            return -ENOMEM;
        b->p = np;
        b->cap = cap;
    }
    size_t k = 0;
    for (int i = 0; i < n && k < take; i++) {
        size_t m = iov[i].iov_len;
        if (m > take - k)
            m = take - k;
        if (m)
            memcpy(b->p + b->end + k, iov[i].iov_base, m);
        k += m;
    }
    b->end += take;
    cq_send_next(q);
    if (q->serr && !q->sbusy)
        return q->serr;
    return (ssize_t)take;
}

static ssize_t cq_write(cio__bstream *bs, const void *p, size_t n)
{
    struct iovec v = {(void *)(uintptr_t)p, n};
    return cq_writev(bs, &v, 1);
}

/* shutdown(SHUT_WR) after what the buffers hold, never before it. */
static int cq_shutdown(cio_socket *s)
{
    sockcq *q = s->cq;
    q->wdone = 1;
    if (q->sbusy || cq_wpending(q)) {
        q->shut_wr = 1;
        return 0;
    }
    return cio__fdstream_ops.shutdown_write(&s->fs.bs);
}

static int cq_shutdown_write(cio__bstream *bs)
{
    return cq_shutdown(cq_sock(bs));
}

static int cq_detach(cio_socket *s);

static void cq_close(cio__bstream *bs)
{
    cio_socket *s = cq_sock(bs);
    cio__afd_close(&s->fs.afd);
    if (!cq_detach(s) && s->fs.fd >= 0)
        close(s->fs.fd);
    s->fs.fd = -1;
}

static size_t cq_pending(const cio__bstream *bs)
{
    const cio__fdstream *f = cio__container_of(bs, cio__fdstream, bs);
    const cio_socket *s = cio__container_of(f, cio_socket, fs);
    return s->cq ? s->cq->bytes : 0;
}

static const cio__bstream_ops cq_ops = {
    .name = "fd-completion",
    .read = cq_read,
    .write = cq_write,
    .writev = cq_writev,
    .shutdown_write = cq_shutdown_write,
    .close = cq_close,
    .pending = cq_pending,
    .flags = CIO__BS_SHORT_IS_FULL,
};

/* A closed socket's peer has not taken its last bytes in CQ_LINGER: the
 * send is cancelled (its final completion closes the descriptor). */
static void cq_linger_timer(cio__handle *h)
{
    sockcq *q = h->arg;
    q->linger = NULL; /* running: recycled by the loop */
    if (q->sbusy)
        cio__op_cancel(q->loop, &q->sop);
}

/* At close: the receive is cancelled (submitted at once) and its record
 * freed by its final completion. Bytes the writes handed over and not yet
 * sent still go, as the kernel sends what sits in a closed socket's send
 * buffer: the record then keeps the descriptor and closes it after the
 * last send (returns 1: the caller must not close it). */
static int cq_detach(cio_socket *s)
{
    sockcq *q = s->cq;
    if (!q)
        return 0;
    s->cq = NULL;
    s->fs.bs.ops = &cio__fdstream_ops;
    q->s = NULL;
    cq_release(q);
    if (q->loop->closed) { /* drained: nothing is in the kernel */
        cq_free(q);
        return 0;
    }
    if (q->armed)
        cio__op_cancel(q->loop, &q->rop);
    /* (bytes not in a send now have no send to follow them: the loop is
     * discarding, or a send failed) */
    int keep = q->sbusy && !q->serr;
    if (!keep && q->sbusy)
        cio__op_cancel(q->loop, &q->sop);
    if (!keep)
        q->fd = -1;
    if (keep) {
        cio__handle *h = cio__handle_get(q->loop);
        if (h) {
            h->icb = cq_linger_timer;
            h->arg = q;
            if (cio__handle_at(q->loop, h,
                               cio_loop_time(q->loop) + CQ_LINGER) == 0)
                q->linger = h;
        }
    }
    cq_maybe_free(q);
    return keep;
}

/* Before a write that does not go through the buffers (flags, sendfile):
 * waits until what they hold is sent. Returns 0, -EAGAIN (nowait) or an
 * error (the socket may be gone: return at once). */
static int sock_suspend(cio_socket *s, int how, int64_t delay);
static int cq_flush_wait(cio_socket *s, int nowait)
{
    while (s->cq && (s->cq->sbusy || cq_wpending(s->cq))) {
        if (s->cq->serr)
            return s->cq->serr;
        if (nowait)
            return -EAGAIN;
        int r = sock_suspend(s, 2 /* SUSP_WRITE */, 0);
        if (r < 0)
            return r;
    }
    return s->cq && s->cq->serr ? s->cq->serr : 0;
}

/* The first plain recv on a TCP socket: completion mode if the backend
 * offers it. */
static void cq_try(cio_socket *s)
{
    s->cq_tried = 1;
    if (layered(s) || s->type != SOCK_STREAM ||
        (s->family != AF_INET && s->family != AF_INET6) ||
        !cio__op_available(s->loop))
        return;
    sockcq *q = cio__calloc(1, sizeof(*q));
    cqchunk *ring = q ? cio__malloc(2 * sizeof(*ring)) : NULL;
    if (!ring) {
        cio__free(q);
        return; /* stays on readiness */
    }
    q->q = ring;
    q->cap = 2;
    q->rop.cb = cq_recv_cb;
    q->sop.cb = cq_send_cb;
    q->loop = s->loop;
    q->s = s;
    q->fd = s->fs.fd;
    q->wdone = s->wshut;
    if (cq_arm(q) < 0) {
        cq_free(q);
        return;
    }
    s->cq = q;
    s->fs.bs.ops = &cq_ops;
    (void)cio__io_modify(s->loop, &s->fs.afd.io, CIO__EV_WRITE | CIO__EV_EDGE);
    s->fs.afd.ready &= ~(unsigned)CIO__EV_READ;
}

/* ---- lifetime ---- */

static void sock_free(cio_socket *s)
{
    cio__ulayer_free(s->ul);
    cio__tls_free(s->tls);
    cio__free(s);
}

/* Unregisters and closes the descriptor; waiters wake with -EBADF. */
static void sock_close_fd(cio_socket *s)
{
    if (s->tls && !s->loop->closed)
        cio__bs_shutdown_write(s->bs); /* close_notify, if it fits */
    s->closed = 1;
    if (s->loop->closed)
        s->fs.afd.loop = NULL; /* the backend is gone: nothing to undo */
    cio__afd_close(&s->fs.afd);
    if (!cq_detach(s))
        close(s->fs.fd);
    s->fs.fd = -1;
    if (!s->loop->closed)
        em_wake_all(s->loop);
}

enum { SUSP_YIELD = 0, SUSP_READ = 1, SUSP_WRITE = 2, SUSP_BACKOFF = 3 };

/* The one place a socket call suspends. Returns 0, or an error after
 * which the caller returns at once without touching s (it may be freed:
 * closed by another task while this one waited). */
static int sock_suspend(cio_socket *s, int how, int64_t delay)
{
    int r;
    s->busy++;
    s->streak = 0;
    if (how == SUSP_YIELD) {
        r = cio_sleep(0);
    } else if (how == SUSP_BACKOFF) {
        r = em_wait(s->loop, delay);
    } else {
        unsigned dir = how == SUSP_READ ? CIO__EV_READ : CIO__EV_WRITE;
        cio__afd_clear(&s->fs.afd, dir);
        r = cio__afd_wait(&s->fs.afd, dir);
    }
    s->busy--;
    if (s->closed) {
        if (r >= 0)
            r = -EBADF;
        if (!s->busy && !s->on_exit)
            sock_free(s);
    }
    return r;
}

/* ---- the one I/O path ----
 * Every call that moves data is an operation retried by sock_io: a
 * result >= 0 is returned; -EINTR tries again; -EAGAIN waits for the
 * direction's readiness and tries again (or is returned at once with
 * nowait, MSG_DONTWAIT); any other -errno is returned. The operations:
 * the byte stream's read and write (net/bstream.h) for plain stream
 * recv/send, one recvmsg/sendmsg for everything with flags, addresses
 * or descriptors (datagrams too), and sendfile. */
typedef ssize_t (*sock_op)(cio_socket *s, void *arg);

static ssize_t sock_io(cio_socket *s, int how, int nowait, sock_op op,
                       void *arg)
{
    for (;;) {
        ssize_t n = op(s, arg);
        if (n >= 0) {
            s->streak++;
            return n;
        }
        if (n == -EINTR)
            continue;
        if ((n != -EAGAIN && n != -EWOULDBLOCK) || nowait)
            return n;
        int r = sock_suspend(s, how, 0);
        if (r < 0)
            return r;
    }
}

typedef struct bsop {
    void *p;
    size_t n;
} bsop;

static ssize_t op_read(cio_socket *s, void *arg)
{
    bsop *o = arg;
    return cio__bs_read(s->bs, o->p, o->n);
}

static ssize_t op_write(cio_socket *s, void *arg)
{
    bsop *o = arg;
    return cio__bs_write(s->bs, o->p, o->n);
}

/* One recvmsg/sendmsg; the lengths the kernel writes back are reset
 * before each try. */
typedef struct msgop {
    struct msghdr m;
    socklen_t namelen;
    size_t ctllen;
    int flags;
} msgop;

static void msgop_init(msgop *o, void *p, size_t n, struct iovec *iov,
                       void *name, socklen_t namelen, void *ctl, size_t ctllen,
                       int flags)
{
    iov->iov_base = p;
    iov->iov_len = n;
    memset(&o->m, 0, sizeof(o->m));
    o->m.msg_iov = iov;
    o->m.msg_iovlen = 1;
    o->m.msg_name = name;
    o->m.msg_control = ctl;
    o->namelen = namelen;
    o->ctllen = ctllen;
    o->flags = flags;
}

static ssize_t op_recvmsg(cio_socket *s, void *arg)
{
    msgop *o = arg;
    o->m.msg_namelen = o->namelen;
    o->m.msg_controllen = o->ctllen;
    o->m.msg_flags = 0;
    ssize_t n = cio__sys_recvmsg(s->fs.fd, &o->m, o->flags);
    return n < 0 ? CIO__ERRNO() : n;
}

static ssize_t op_sendmsg(cio_socket *s, void *arg)
{
    msgop *o = arg;
    o->m.msg_namelen = o->namelen;
    o->m.msg_controllen = o->ctllen;
    ssize_t n = cio__sys_sendmsg(s->fs.fd, &o->m, o->flags | MSG_NOSIGNAL);
    return n < 0 ? CIO__ERRNO() : n;
}

/* Every suspending call starts here: a live socket, in a task of its
 * loop; yields first when the socket used up its budget. */
static int sock_enter(cio_socket *s)
{
    if (CIO_UNLIKELY(!s))
        return -EINVAL;
    if (CIO_UNLIKELY(s->closed))
        return -EBADF;
    cio__task *t = cio__tls_task;
    if (CIO_UNLIKELY(!t || t->f.loop != s->loop))
        return -EINVAL;
    if (CIO_UNLIKELY(s->streak >= SOCK_BUDGET))
        return sock_suspend(s, SUSP_YIELD, 0);
    return 0;
}

static int sock_wrap(cio_socket **out, cio_loop *loop, int fd, int family,
                     int type)
{
    cio_socket *s = cio__calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->loop = loop;
    cio__fdstream_init(&s->fs, fd, 1);
    s->bs = &s->fs.bs;
    s->family = family;
    s->type = type;
    int r = cio__afd_open(&s->fs.afd, loop, fd);
    if (r < 0) {
        cio__free(s);
        return r;
    }
    *out = s;
    return 0;
}

/* ---- open, close ---- */

int cio_socket_open(cio_socket **out, cio_loop *loop, int family, int type,
                    int protocol)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    int fd = cio__sock_fd(family, type, protocol);
    if (fd < 0)
        return fd;
    r = sock_wrap(out, loop, fd, family,
                  type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (r < 0)
        close(fd);
    return r;
}

int cio_socket_from_fd(cio_socket **out, cio_loop *loop, int fd)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (fd < 0)
        return -EBADF;
    int family, type;
    socklen_t l = sizeof(family);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &family, &l) < 0)
        return CIO__ERRNO();
    l = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
        return CIO__ERRNO();
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return CIO__ERRNO();
    int fdf = fcntl(fd, F_GETFD);
    if (fdf < 0 || fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) < 0)
        return CIO__ERRNO();
    return sock_wrap(out, loop, fd, family, type);
}

int cio_socket_close(cio_socket *s)
{
    if (!s)
        return 0;
    if (s->closed)
        return 0; /* only reachable after close_on_exit */
    if (!s->loop->closed) {
        int r = cio__loop_check(s->loop);
        if (r < 0)
            return r;
    }
    sock_close_fd(s);
    if (!s->busy && !s->on_exit)
        sock_free(s);
    return 0;
}

static void close_deferred(void *arg)
{
    cio_socket *s = arg;
    s->on_exit = 0;
    if (!s->closed)
        sock_close_fd(s);
    if (!s->busy)
        sock_free(s);
}

int cio_socket_close_on_exit(cio_socket *s)
{
    if (!s || s->on_exit || s->closed)
        return -EINVAL;
    if (!cio__tls_task || cio__tls_task->f.loop != s->loop)
        return CIO_MISUSE("called outside a task of the socket's loop");
    int r = cio_task_defer(close_deferred, s);
    if (r < 0)
        return r;
    s->on_exit = 1;
    return 0;
}

int cio_socket_fileno(const cio_socket *s)
{
    if (!s)
        return -EINVAL;
    return s->closed ? -EBADF : s->fs.fd;
}

cio_loop *cio_socket_loop(const cio_socket *s)
{
    return s ? s->loop : NULL;
}

/* ---- options, names, bind, listen, shutdown (never suspend) ---- */

static int sock_live(const cio_socket *s)
{
    if (!s)
        return -EINVAL;
    return s->closed ? -EBADF : 0;
}

int cio_socket_setsockopt(cio_socket *s, int level, int name, const void *val,
                          socklen_t len)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    return setsockopt(s->fs.fd, level, name, val, len) < 0 ? CIO__ERRNO() : 0;
}

int cio_socket_setsockopt_int(cio_socket *s, int level, int name, int value)
{
    return cio_socket_setsockopt(s, level, name, &value, sizeof(value));
}

int cio_socket_getsockopt(cio_socket *s, int level, int name, void *val,
                          socklen_t *len)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    if (!len)
        return -EINVAL;
    return getsockopt(s->fs.fd, level, name, val, len) < 0 ? CIO__ERRNO() : 0;
}

int cio_socket_bind(cio_socket *s, const cio_sockaddr *addr)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    if (!addr || !addr->len)
        return -EINVAL;
    return bind(s->fs.fd, (const struct sockaddr *)&addr->ss, addr->len) < 0
               ? CIO__ERRNO()
               : 0;
}

int cio_socket_bind_ip(cio_socket *s, const char *host, int port)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    cio_sockaddr a;
    if (!host || !*host)
        host = s->family == AF_INET6 ? "::" : "0.0.0.0";
    r = cio_sockaddr_from_ip(&a, host, port);
    if (r < 0)
        return r;
    return cio_socket_bind(s, &a);
}

int cio_socket_listen(cio_socket *s, int backlog)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    return listen(s->fs.fd, backlog < 0 ? SOMAXCONN : backlog) < 0 ? CIO__ERRNO() : 0;
}

int cio_socket_shutdown(cio_socket *s, int how)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    if (layered(s) && (how == SHUT_WR || how == SHUT_RDWR) &&
        (r = cio__bs_shutdown_write(s->bs)) < 0)
        return r;
    if (s->cq && how != SHUT_RD) { /* after the buffered bytes */
        if (how == SHUT_RDWR && shutdown(s->fs.fd, SHUT_RD) < 0)
            return CIO__ERRNO();
        return cq_shutdown(s);
    }
    if (shutdown(s->fs.fd, how) < 0)
        return CIO__ERRNO();
    if (how != SHUT_RD)
        s->wshut = 1;
    return 0;
}

/* ---- TLS ---- */

cio_tls_conn *cio_socket_tls(const cio_socket *s)
{
    return s ? s->tls : NULL;
}

/* start_tls with the port that keys a client's remembered session
 * (create_connection knows it; a live socket's start_tls says 0). */
static int sock_start_tls(cio_socket *s, cio_tls_ctx *ctx,
                          const char *server_hostname, int port)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (!ctx || s->tls || s->ul)
        return -EINVAL;
    if (s->type != SOCK_STREAM)
        return -EPROTOTYPE;
    cio_tls_conn *c;
    r = cio__tls_new(ctx, &s->fs.bs, s->fs.fd, server_hostname, port, &c);
    if (r < 0)
        return r;
    s->tls = c;
    s->bs = cio__tls_bs(c);
    s->full = 0;
    s->busy++;
    r = cio__tls_handshake(c); /* a failure stays in c: later calls get it */
    s->busy--;
    if (s->closed) {
        if (!s->busy && !s->on_exit)
            sock_free(s);
        return r < 0 ? r : -EBADF;
    }
    return r;
}

/* ---- a user's byte-stream layer (cio/impl.h) ---- */

int cio_socket_push_bstream(cio_socket *s, const cio_bstream_ops *ops,
                            void *state)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    if ((r = cio__loop_check(s->loop)) < 0)
        return r;
    if (!ops || s->type != SOCK_STREAM)
        return -EINVAL;
    if (s->ul || s->busy)
        return -EBUSY;
    cio__ulayer *l;
    if ((r = cio__ulayer_new(ops, state, s->bs, &l)) < 0)
        return r;
    s->ul = l;
    s->bs = cio__ulayer_bs(l);
    s->full = 0;
    return 0;
}

int cio_socket_start_tls(cio_socket *s, cio_tls_ctx *ctx,
                         const char *server_hostname)
{
    return sock_start_tls(s, ctx, server_hostname, 0);
}

int cio_socket_sockname(cio_socket *s, cio_sockaddr *out)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    if (!out)
        return -EINVAL;
    return cio__sockaddr_of(s->fs.fd, 0, out);
}

int cio_socket_peername(cio_socket *s, cio_sockaddr *out)
{
    int r = sock_live(s);
    if (r < 0)
        return r;
    if (!out)
        return -EINVAL;
    return cio__sockaddr_of(s->fs.fd, 1, out);
}

/* ---- accept, connect ---- */

static int is_shortage(int e)
{
    return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

int cio_socket_accept(cio_socket *s, cio_socket **out, cio_sockaddr *peer)
{
    if (out)
        *out = NULL;
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (!out)
        return -EINVAL;
    int64_t backoff = BACKOFF_MIN;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = cio__sys_accept4(s->fs.fd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            s->streak++;
            if (s->type == SOCK_STREAM)
                cio__sock_nodelay(fd, s->family);
            r = sock_wrap(out, s->loop, fd, s->family, s->type);
            if (r < 0) {
                close(fd);
                return r;
            }
            if (peer && cio_sockaddr_set(peer, (struct sockaddr *)&ss, sl) < 0)
                memset(peer, 0, sizeof(*peer));
            return 0;
        }
        int e = errno;
        if (e == EINTR || e == ECONNABORTED)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            backoff = BACKOFF_MIN;
            if ((r = sock_suspend(s, SUSP_READ, 0)) < 0)
                return r;
        } else if (is_shortage(e)) {
            if ((r = sock_suspend(s, SUSP_BACKOFF, backoff)) < 0)
                return r;
            backoff = backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2;
        } else {
            return -e;
        }
    }
}

int cio_socket_connect(cio_socket *s, const cio_sockaddr *addr)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (!addr || !addr->len)
        return -EINVAL;
    const struct sockaddr *sa = (const struct sockaddr *)&addr->ss;
    int64_t unix_pause = CIO_MS;
    for (;;) {
        if (cio__sys_connect(s->fs.fd, sa, addr->len) == 0)
            break;
        int e = errno;
        if (e == EISCONN)
            break; /* a retry after the wait: connected */
        if (e == EAGAIN && s->family == AF_UNIX) {
            /* A Unix listener's backlog is full: nothing will signal a
             * free slot (docs/design.md section 36), so try again after
             * a pause, 1 ms doubling to 50 ms, until cancelled. */
            if ((r = sock_suspend(s, SUSP_BACKOFF, unix_pause)) < 0)
                return r;
            unix_pause = unix_pause * 2 > 50 * CIO_MS ? 50 * CIO_MS
                                                      : unix_pause * 2;
            continue;
        }
        if (e != EINPROGRESS && e != EALREADY && e != EINTR)
            return -e;
        /* In progress: wait for writability, then ask SO_ERROR. The edge
         * may be stale (reported before connect began), so a zero
         * SO_ERROR is confirmed by connecting again: EISCONN means done,
         * EALREADY means still in progress. */
        if ((r = sock_suspend(s, SUSP_WRITE, 0)) < 0)
            return r;
        int err = 0;
        socklen_t l = sizeof(err);
        if (getsockopt(s->fs.fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
            return CIO__ERRNO();
        if (err)
            return -err;
    }
    if (s->type == SOCK_STREAM)
        cio__sock_nodelay(s->fs.fd, s->family);
    return 0;
}

int cio_socket_create_connection(cio_socket **out, const char *host,
                                 int port)
{
    return cio_socket_create_connection_tls(out, host, port, NULL, NULL);
}

int cio_socket_create_connection_tls(cio_socket **out, const char *host,
                                     int port, cio_tls_ctx *ctx,
                                     const char *server_hostname)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio__task *t = cio__tls_task;
    if (!t || !host || port < 0 || port > 65535)
        return CIO_MISUSE(t ? "NULL host, or port outside 0..65535"
                            : "called outside a task");
    if (ctx && cio__tls_ctx_role(ctx) != CIO_TLS_CLIENT)
        return -EINVAL; /* a server context on a client call */
    cio_loop *loop = t->f.loop;
    char serv[8];
    snprintf(serv, sizeof(serv), "%d", port);
    struct addrinfo *res;
    int r = cio__resolve(loop, host, serv, AF_UNSPEC, SOCK_STREAM,
                         AI_NUMERICSERV, &res);
    if (r < 0)
        return r;
    r = CIO_ERESOLVE;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        cio_socket *s;
        r = cio_socket_open(&s, loop, ai->ai_family, ai->ai_socktype,
                            ai->ai_protocol);
        if (r < 0)
            continue;
        cio_sockaddr a;
        r = cio_sockaddr_set(&a, ai->ai_addr, ai->ai_addrlen);
        if (r == 0)
            r = cio_socket_connect(s, &a);
        if (r == 0) {
            *out = s;
            break;
        }
        cio_socket_close(s);
        if (r == -ECANCELED)
            break;
    }
    freeaddrinfo(res);
    if (r == 0 && ctx) {
        /* The handshake, as open_connection's: a failure (cancellation
         * included) closes the socket and hands out nothing. */
        r = sock_start_tls(*out, ctx,
                           server_hostname ? server_hostname : host, port);
        if (r < 0) {
            cio_socket_close(*out); /* nobody else has it: still open */
            *out = NULL;
        }
    }
    return r;
}

/* ---- data ---- */

/* A short send filled the buffer: wait for the next writable edge. */
static void mark_full(cio_socket *s)
{
    cio__afd_clear(&s->fs.afd, CIO__EV_WRITE);
    s->full = 1;
}

/* A recv with flags or an address on a socket in completion mode: from
 * the held chunks too (the kernel's queue is behind them). MSG_DONTWAIT,
 * MSG_PEEK and MSG_WAITALL are served; other flags are not. */
static ssize_t cq_recv_flags(cio_socket *s, void *buf, size_t len, int flags,
                             cio_sockaddr *from)
{
    if (flags & ~(MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL))
        return -EOPNOTSUPP;
    int peek = (flags & MSG_PEEK) != 0;
    size_t got = 0;
    for (;;) {
        ssize_t n = cq_take(s, (char *)buf + got, len - got, peek);
        if (n > 0) {
            got += (size_t)n;
            if (!(flags & MSG_WAITALL) || peek || got == len)
                break;
            continue;
        }
        if (n == 0)
            break;
        if (n != -EAGAIN) {
            if (!got)
                return n;
            s->cq->err = (int)n; /* reported by the next call */
            s->cq->eof = 0;
            break;
        }
        if (flags & MSG_DONTWAIT) {
            if (got)
                break;
            return -EAGAIN;
        }
        int r = sock_suspend(s, SUSP_READ, 0);
        if (r < 0)
            return r;
        if (!s->cq)
            return -EBADF;
    }
    if (from) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getpeername(s->fs.fd, (struct sockaddr *)&ss, &sl) < 0 ||
            cio_sockaddr_set(from, (struct sockaddr *)&ss, sl) < 0)
            memset(from, 0, sizeof(*from));
    }
    return (ssize_t)got;
}

static ssize_t do_recv(cio_socket *s, void *buf, size_t len, int flags,
                       cio_sockaddr *from)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if ((!buf && len) || (layered(s) && (flags || from)))
        return -EINVAL;
    if (CIO_UNLIKELY(!s->cq_tried) && !from &&
        !(flags & ~(MSG_DONTWAIT | MSG_PEEK | MSG_WAITALL)))
        cq_try(s);
    if (s->cq && (flags || from))
        return cq_recv_flags(s, buf, len, flags, from);
    int stream = !from && s->type == SOCK_STREAM &&
                 !(flags & (MSG_DONTWAIT | MSG_PEEK));
    /* A short read emptied the queue last time: wait for the next edge
     * rather than asking the kernel for EAGAIN. */
    if (stream && len && !(s->fs.afd.ready & CIO__EV_READ) &&
        (r = sock_suspend(s, SUSP_READ, 0)) < 0)
        return r;
    if (stream && !flags) { /* the byte stream (net/bstream.h) */
        bsop o = {buf, len};
        return sock_io(s, SUSP_READ, 0, op_read, &o);
    }
    struct sockaddr_storage ss;
    struct iovec iov;
    msgop o;
    msgop_init(&o, buf, len, &iov, from ? &ss : NULL,
               from ? (socklen_t)sizeof(ss) : 0, NULL, 0, flags);
    ssize_t n = sock_io(s, SUSP_READ, flags & MSG_DONTWAIT, op_recvmsg, &o);
    if (n < 0)
        return n;
    if (from && cio_sockaddr_set(from, (struct sockaddr *)&ss,
                                 o.m.msg_namelen) < 0)
        memset(from, 0, sizeof(*from));
    if (stream && n > 0 && (size_t)n < len)
        cio__afd_short_read(&s->fs.afd);
    return n;
}

ssize_t cio_socket_recv(cio_socket *s, void *buf, size_t len, int flags)
{
    return do_recv(s, buf, len, flags, NULL);
}

ssize_t cio_socket_recvfrom(cio_socket *s, void *buf, size_t len, int flags,
                            cio_sockaddr *from)
{
    return do_recv(s, buf, len, flags, from);
}

/* Before sending: if the last send was short and no edge came since,
 * wait for one instead of asking the kernel for EAGAIN. */
static int wait_if_full(cio_socket *s, int applies)
{
    if (!s->full || !applies)
        return 0;
    s->full = 0;
    if (s->fs.afd.ready & CIO__EV_WRITE)
        return 0;
    return sock_suspend(s, SUSP_WRITE, 0);
}

/* One send of up to len bytes through the one path: the byte stream for
 * a plain stream send, else one sendmsg. */
static ssize_t send_once(cio_socket *s, int stream, const void *buf,
                         size_t len, int flags, const cio_sockaddr *to)
{
    if (stream && !flags) {
        bsop o = {(void *)(uintptr_t)buf, len};
        return sock_io(s, SUSP_WRITE, 0, op_write, &o);
    }
    struct iovec iov;
    msgop o;
    msgop_init(&o, (void *)(uintptr_t)buf, len, &iov,
               to ? (void *)(uintptr_t)&to->ss : NULL, to ? to->len : 0, NULL,
               0, flags);
    return sock_io(s, SUSP_WRITE, flags & MSG_DONTWAIT, op_sendmsg, &o);
}

static ssize_t do_send(cio_socket *s, const void *buf, size_t len, int flags,
                       const cio_sockaddr *to)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (!buf && len)
        return -EINVAL;
    if ((to && !to->len) || (layered(s) && (flags || to)))
        return -EINVAL;
    int stream = !to && s->type == SOCK_STREAM && !(flags & MSG_DONTWAIT);
    if (s->cq && (flags || to) &&
        (r = cq_flush_wait(s, flags & MSG_DONTWAIT)) < 0)
        return r;
    if ((r = wait_if_full(s, stream && len)) < 0)
        return r;
    ssize_t n = send_once(s, stream, buf, len, flags, to);
    /* (a stream that takes a piece at a time, as TLS does a record, is
     * short without being full: the flag tells) */
    if (n >= 0 && stream && (size_t)n < len && cio__bs_short_is_full(s->bs))
        mark_full(s);
    return n;
}

ssize_t cio_socket_send(cio_socket *s, const void *buf, size_t len, int flags)
{
    return do_send(s, buf, len, flags, NULL);
}

ssize_t cio_socket_sendto(cio_socket *s, const void *buf, size_t len,
                          int flags, const cio_sockaddr *to)
{
    if (!to)
        return -EINVAL;
    return do_send(s, buf, len, flags, to);
}

int cio_socket_sendall(cio_socket *s, const void *buf, size_t len, int flags)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if ((!buf && len) || (layered(s) && flags))
        return -EINVAL;
    const char *p = buf;
    int stream = s->type == SOCK_STREAM && !(flags & MSG_DONTWAIT);
    if (s->cq && flags && (r = cq_flush_wait(s, flags & MSG_DONTWAIT)) < 0)
        return r;
    while (len > 0) {
        if (CIO_UNLIKELY(s->streak >= SOCK_BUDGET) &&
            (r = sock_suspend(s, SUSP_YIELD, 0)) < 0)
            return r;
        if ((r = wait_if_full(s, stream)) < 0)
            return r;
        ssize_t n = send_once(s, stream, p, len, flags, NULL);
        if (n < 0)
            return (int)n;
        if (stream && (size_t)n < len && cio__bs_short_is_full(s->bs))
            mark_full(s);
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Gathered writes go through the socket's byte stream (net/bstream.h),
 * so the HTTP server's responses take the same path as every other stream
 * write and a TLS stream under the socket will carry them unchanged. */
ssize_t cio_socket_try_writev(cio_socket *s, const struct iovec *iov,
                              int iovcnt)
{
    if (CIO_UNLIKELY(!s || s->closed))
        return s ? -EBADF : -EINVAL;
    if (CIO_UNLIKELY(iovcnt < 0 || (iovcnt && !iov) ||
                     s->type != SOCK_STREAM))
        return -EINVAL;
    if (iovcnt == 0)
        return 0;
    if (iovcnt > IOV_MAX)
        iovcnt = IOV_MAX;
    /* A short write filled the buffer and no writable edge came since:
     * the kernel would say EAGAIN. */
    if (s->full && !(s->fs.afd.ready & CIO__EV_WRITE))
        return 0;
    s->full = 0;
    ssize_t n = cio__bs_writev(s->bs, iov, iovcnt);
    if (n == -EAGAIN) {
        s->full = 1;
        return 0;
    }
    if (n < 0)
        return n;
    size_t want = 0;
    for (int i = 0; i < iovcnt; i++)
        want += iov[i].iov_len;
    if ((size_t)n < want && cio__bs_short_is_full(s->bs))
        mark_full(s);
    return n;
}

int cio_socket_sendallv(cio_socket *s, const struct iovec *iov, int iovcnt)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (iovcnt < 0 || (iovcnt && !iov) || s->type != SOCK_STREAM)
        return -EINVAL;
    /* A private copy of the vector, advanced as the kernel takes bytes
     * (the caller's stays untouched). */
    struct iovec local[16];
    struct iovec *v = iovcnt <= 16 ? local
                                    : cio__calloc((size_t)iovcnt, sizeof(*v));
    if (!v)
        return -ENOMEM;
    memcpy(v, iov, sizeof(*v) * (size_t)iovcnt);
    int i = 0;
    r = 0;
    while (i < iovcnt) {
        if (v[i].iov_len == 0) {
            i++;
            continue;
        }
        if (CIO_UNLIKELY(s->streak >= SOCK_BUDGET) &&
            (r = sock_suspend(s, SUSP_YIELD, 0)) < 0)
            break;
        if ((r = wait_if_full(s, 1)) < 0)
            break;
        int cnt = iovcnt - i > IOV_MAX ? IOV_MAX : iovcnt - i;
        ssize_t n = cio__bs_writev(s->bs, v + i, cnt);
        if (n == -EAGAIN) {
            if ((r = sock_suspend(s, SUSP_WRITE, 0)) < 0)
                break;
            continue;
        }
        if (n < 0) {
            r = (int)n;
            break;
        }
        s->streak++;
        size_t want = 0;
        for (int k = i; k < i + cnt; k++)
            want += v[k].iov_len;
        if ((size_t)n < want && cio__bs_short_is_full(s->bs))
            mark_full(s);
        while (n > 0 && i < iovcnt) {
            if ((size_t)n >= v[i].iov_len) {
                n -= (ssize_t)v[i].iov_len;
                v[i].iov_len = 0;
                i++;
            } else {
                v[i].iov_base = (char *)v[i].iov_base + n;
                v[i].iov_len -= (size_t)n;
                n = 0;
            }
        }
    }
    if (v != local)
        cio__free(v);
    return r < 0 ? r : 0;
}

typedef struct sfop {
    int in_fd;
    off_t *offset;
    size_t want;
} sfop;

static ssize_t op_sendfile(cio_socket *s, void *arg)
{
    sfop *o = arg;
    ssize_t n = sendfile(s->fs.fd, o->in_fd, o->offset, o->want);
    return n < 0 ? CIO__ERRNO() : n;
}

ssize_t cio_socket_sendfile(cio_socket *s, int in_fd, off_t *offset,
                            size_t count)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (in_fd < 0)
        return -EBADF;
    if (s->ul || (s->tls && !(cio_tls_ktls(s->tls) & 1)))
        return -ENOTSUP; /* only the kernel can encrypt what it sends */
    if (s->cq && (r = cq_flush_wait(s, 0)) < 0) /* the bytes before it */
        return r;
    size_t total = 0;
    const size_t chunk_max = (size_t)1 << 30;
    while (count == 0 || total < count) {
        if (CIO_UNLIKELY(s->streak >= SOCK_BUDGET) &&
            (r = sock_suspend(s, SUSP_YIELD, 0)) < 0)
            return r;
        size_t want = count ? count - total : chunk_max;
        if (want > chunk_max)
            want = chunk_max;
        sfop o = {in_fd, offset, want};
        ssize_t n = sock_io(s, SUSP_WRITE, 0, op_sendfile, &o);
        if (n < 0)
            return n;
        if (n == 0)
            break; /* end of file */
        total += (size_t)n;
    }
    return (ssize_t)total;
}

/* ---- descriptor passing and peer credentials (Unix domain sockets;
 * issue 11): one recvmsg/sendmsg with SCM_RIGHTS through sock_io. ---- */

ssize_t cio_socket_send_fds(cio_socket *s, const void *buf, size_t len,
                            const int *fds, int nfds)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if ((!buf && len) || nfds < 0 || nfds > CIO_MAX_PASS_FDS ||
        (nfds && !fds) || (!len && !nfds))
        return -EINVAL;
    union {
        char b[CMSG_SPACE(sizeof(int) * CIO_MAX_PASS_FDS)];
        struct cmsghdr align;
    } ctl;
    char one = 0;
    struct iovec iov;
    msgop o;
    memset(&ctl, 0, sizeof(ctl));
    msgop_init(&o, len ? (void *)(uintptr_t)buf : &one, len ? len : 1, &iov,
               NULL, 0, nfds ? ctl.b : NULL,
               nfds ? CMSG_SPACE(sizeof(int) * (size_t)nfds) : 0, 0);
    if (nfds) {
        o.m.msg_controllen = o.ctllen;
        struct cmsghdr *c = CMSG_FIRSTHDR(&o.m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t n = sock_io(s, SUSP_WRITE, 0, op_sendmsg, &o);
    return n < 0 ? n : len ? n : 0;
}

ssize_t cio_socket_recv_fds(cio_socket *s, void *buf, size_t len, int *fds,
                            int *nfds)
{
    int r = sock_enter(s);
    if (r < 0)
        return r;
    if (!buf || !len || !nfds || *nfds < 0 || (*nfds && !fds))
        return -EINVAL;
    int cap = *nfds;
    *nfds = 0;
    union {
        char b[CMSG_SPACE(sizeof(int) * CIO_MAX_PASS_FDS)];
        struct cmsghdr align;
    } ctl;
    struct iovec iov;
    msgop o;
    msgop_init(&o, buf, len, &iov, NULL, 0, ctl.b, sizeof(ctl.b),
               MSG_CMSG_CLOEXEC);
    ssize_t n = sock_io(s, SUSP_READ, 0, op_recvmsg, &o);
    if (n < 0)
        return n;
    struct msghdr *m = &o.m;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int k = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        int got[CIO_MAX_PASS_FDS];
        memcpy(got, CMSG_DATA(c), sizeof(int) * (size_t)k);
        for (int i = 0; i < k; i++) {
            if (*nfds < cap)
                fds[(*nfds)++] = got[i];
            else
                close(got[i]); /* no room: never leak it */
        }
    }
    if (m->msg_flags & MSG_CTRUNC) {
        for (int i = 0; i < *nfds; i++)
            close(fds[i]);
        *nfds = 0;
        return -EMSGSIZE;
    }
    return n;
}

int cio_socket_peercred(cio_socket *s, pid_t *pid, uid_t *uid, gid_t *gid)
{
    if (!s)
        return -EINVAL;
    if (s->closed)
        return -EBADF;
    struct ucred u;
    socklen_t l = sizeof(u);
    if (getsockopt(s->fs.fd, SOL_SOCKET, SO_PEERCRED, &u, &l) < 0)
        return -errno;
    if (pid)
        *pid = u.pid;
    if (uid)
        *uid = u.uid;
    if (gid)
        *gid = u.gid;
    return 0;
}
