/*
 * conn.c - the pieces streams, transports and servers share: option
 * defaults, the write buffer, the byte-moving system calls and the
 * client-side connect.
 *
 * Why one contiguous write buffer (start/end offsets, compacted when the
 * tail runs out of room) and not a chain of chunks: the buffer only ever
 * holds what the kernel refused, which on a healthy connection is nothing,
 * so its cost is one length test per write. A chain would make the rare
 * slow-reader case cheaper to append to and the common case dearer.
 *
 * SIGPIPE: sockets use MSG_NOSIGNAL. Pipes have no such flag, so a pipe
 * write blocks SIGPIPE in the calling thread, and if the write failed with
 * EPIPE and no SIGPIPE was pending before, consumes the one it raised
 * (sigtimedwait with a zero timeout) before restoring the mask. Rejected:
 * ignoring SIGPIPE process-wide (a library must not change a signal's
 * disposition behind the application's back).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/conn.h"

int cio__conn_opts_fix(const cio_conn_opts *o, cio_conn_opts *out)
{
    cio_conn_opts d = CIO_CONN_OPTS_INIT;
    if (o)
        d = *o;
    if (d.high_water == CIO_LIMIT_DEFAULT)
        d.high_water = 0;
    if (d.low_water == CIO_LIMIT_DEFAULT)
        d.low_water = 0;
    if (!d.limit)
        d.limit = CIO__DEF_LIMIT;
    if (!d.read_size)
        d.read_size = CIO__DEF_READ;
    if (!d.high_water && !d.low_water) {
        d.high_water = CIO__DEF_HIGH;
        d.low_water = CIO__DEF_LOW;
    } else if (!d.low_water) {
        d.low_water = d.high_water / 4;
    } else if (!d.high_water) {
        d.high_water = 4 * d.low_water;
    }
    if (d.low_water > d.high_water)
        return -EINVAL;
    *out = d;
    return 0;
}

int cio__limits_fix(size_t high, size_t low, size_t *oh, size_t *ol)
{
    if (high == CIO_LIMIT_DEFAULT) {
        if (low == CIO_LIMIT_DEFAULT)
            high = CIO__DEF_HIGH;
        else if (low > SIZE_MAX / 8)
            return -EINVAL; /* 4 * low would not fit */
        else
            high = 4 * low;
    }
    if (low == CIO_LIMIT_DEFAULT)
        low = high / 4;
    if (low > high)
        return -EINVAL;
    *oh = high;
    *ol = low;
    return 0;
}

int cio__wbuf_append(cio__wbuf *b, const void *data, size_t n)
{
    if (b->start == b->end)
        b->start = b->end = 0;
    if (b->cap - b->end < n) {
        size_t len = b->end - b->start;
        if (b->start && b->cap - len >= n && len <= b->cap / 2) {
            memmove(b->p, b->p + b->start, len);
        } else {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap - len < n)
                cap *= 2;
            char *p = cio__malloc(cap);
            if (!p)
                return -ENOMEM;
            if (len)
                memcpy(p, b->p + b->start, len);
            cio__free(b->p);
            b->p = p;
            b->cap = cap;
        }
        b->start = 0;
        b->end = len;
    }
    memcpy(b->p + b->end, data, n);
    b->end += n;
    return 0;
}

void cio__wbuf_free(cio__wbuf *b)
{
    cio__free(b->p);
    b->p = NULL;
    b->start = b->end = b->cap = 0;
}

static ssize_t pipe_guarded(int fd, const struct iovec *iov, int n)
{
    sigset_t pipe_set, old, pend;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pend);
    sigpending(&pend);
    int was_pending = sigismember(&pend, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t r = cio__sys_writev(fd, iov, n);
    int e = r < 0 ? errno : 0;
    if (e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r < 0 ? -e : r;
}

ssize_t cio__fd_send(int fd, int is_sock, const void *p, size_t n)
{
    if (CIO_LIKELY(is_sock)) {
        ssize_t r;
        do
            r = cio__sys_send(fd, p, n, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        return r < 0 ? CIO__ERRNO() : r;
    }
    struct iovec v = {(void *)p, n};
    ssize_t r;
    while ((r = pipe_guarded(fd, &v, 1)) == -EINTR)
        ;
    return r;
}

ssize_t cio__fd_sendv(int fd, int is_sock, const struct iovec *iov, int n)
{
    /* One buffer (an HTTP response batch, usually): send(2), as a
     * hand-written server does; sendmsg also copies the msghdr and the
     * iovec in from user space. */
    if (n == 1 && is_sock)
        return cio__fd_send(fd, 1, iov[0].iov_base, iov[0].iov_len);
    if (is_sock) {
        struct msghdr m;
        memset(&m, 0, sizeof(m));
        m.msg_iov = (struct iovec *)iov;
        m.msg_iovlen = (size_t)n;
        ssize_t r;
        do
            r = cio__sys_sendmsg(fd, &m, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        return r < 0 ? CIO__ERRNO() : r;
    }
    ssize_t r;
    while ((r = pipe_guarded(fd, iov, n)) == -EINTR)
        ;
    return r;
}

int cio__wbuf_flush(cio__wbuf *b, cio__bstream *s, int *again)
{
    *again = 0;
    while (b->end > b->start) {
        ssize_t r = cio__bs_write(s, b->p + b->start, b->end - b->start);
        if (r < 0) {
            if (r == -EAGAIN) {
                *again = 1;
                return 0;
            }
            return (int)r;
        }
        b->start += (size_t)r;
    }
    b->start = b->end = 0;
    return 0;
}

int cio__fd_is_sock(int fd)
{
    int type;
    socklen_t len = sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

/* Starts a non-blocking connect of a new stream socket to (addr, len).
 * Returns 1 (connected at once), 0 (in progress), 2 (a Unix listener's
 * backlog is full: try again later) or an error; *out is the socket
 * unless an error is returned. */
static int connect_start(int family, int protocol, const struct sockaddr *addr,
                         socklen_t len, int *out)
{
    int fd = cio__sock_fd(family, SOCK_STREAM, protocol);
    if (fd < 0)
        return fd;
    if (cio__sys_connect(fd, addr, len) == 0) {
        *out = fd;
        return 1;
    }
    int r = CIO__ERRNO();
    if (r == -EINPROGRESS || r == -EINTR) {
        *out = fd;
        return 0;
    }
    if (r == -EAGAIN && family == AF_UNIX) {
        *out = fd;
        return 2;
    }
    close(fd);
    return r;
}

/* A non-blocking AF_UNIX stream connect to a listener whose backlog is
 * full fails with EAGAIN and starts nothing; the kernel then signals
 * nothing either (the unconnected socket polls writable at once, SO_ERROR
 * stays 0, before and after the listener accepts: docs/design.md section
 * 36). So the connect is retried after a pause, 1 ms doubling to 50 ms,
 * until it succeeds, fails otherwise, or the task is cancelled (a
 * timeout scope, cio_task_cancel). Returns 1 connected, or an error. */
#define UNIX_RETRY_MIN (1 * CIO_MS)
#define UNIX_RETRY_MAX (50 * CIO_MS)

static int unix_connect_retry(int fd, const struct sockaddr *addr,
                              socklen_t len)
{
    int64_t pause = UNIX_RETRY_MIN;
    for (;;) {
        int r = cio_sleep(pause);
        if (r < 0)
            return r;
        pause = pause * 2 > UNIX_RETRY_MAX ? UNIX_RETRY_MAX : pause * 2;
        if (cio__sys_connect(fd, addr, len) == 0)
            return 1;
        r = CIO__ERRNO();
        if (r != -EAGAIN && r != -EINTR)
            return r;
    }
}

/* After a write edge on a connecting socket: 1 connected, 0 still
 * connecting (a stale edge), or the connect's error. SO_ERROR 0 is
 * confirmed by connecting again (EISCONN: done; EALREADY: not yet). */
static int connect_outcome(int fd, const struct sockaddr *addr, socklen_t len)
{
    int err = 0;
    socklen_t l = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
        return CIO__ERRNO();
    if (err)
        return -err;
    if (cio__sys_connect(fd, addr, len) == 0)
        return 1;
    int r = CIO__ERRNO();
    if (r == -EISCONN)
        return 1;
    if (r == -EALREADY || r == -EINPROGRESS || r == -EINTR)
        return 0;
    return r;
}

/* One address: socket, register, connect, wait for the outcome. */
static int connect_one(cio__afd *a, cio_loop *loop, int family, int protocol,
                       const struct sockaddr *addr, socklen_t alen, int *out)
{
    int fd;
    int r = connect_start(family, protocol, addr, alen, &fd);
    if (r < 0)
        return r;
    int done = r;
    r = cio__afd_open(a, loop, fd);
    if (r < 0) {
        close(fd);
        return r;
    }
    if (done == 2) {
        r = unix_connect_retry(fd, addr, alen);
        done = r < 0 ? 0 : 1;
    }
    while (r >= 0 && !done) {
        cio__afd_clear(a, CIO__EV_WRITE);
        r = cio__afd_wait(a, CIO__EV_WRITE);
        if (r < 0)
            break;
        r = connect_outcome(fd, addr, alen);
        if (r < 0)
            break;
        done = r;
    }
    if (r < 0) {
        cio__afd_close(a);
        close(fd);
        return r;
    }
    if (family != AF_UNIX)
        cio__sock_nodelay(fd, family);
    *out = fd;
    return 0;
}

/* ---- Happy Eyeballs (RFC 8305) ----
 * The calling task races connection attempts without child tasks: each
 * attempt is an afd in callback mode whose write edge wakes the task, a
 * loop timer wakes it when the next attempt is due, and the task parks
 * once per wake-up. Everything is on the task's stack and undone before
 * the call returns (cancellation included), so nothing outlives it. */

typedef struct he_race he_race;

typedef struct he_try {
    cio__afd afd;
    int fd;
    int live;  /* connecting, registered */
    int fired; /* a write edge since the last look */
    const struct addrinfo *ai;
    he_race *race;
} he_try;

struct he_race {
    cio_loop *loop;
    cio__task *t;
    int parked;
    int due; /* the delay ran out */
    cio__handle *timer;
};

static void he_wake(he_race *h)
{
    if (h->parked) {
        h->parked = 0;
        cio__unpark(h->t, 0);
    }
}

static void he_event(cio__afd *a, unsigned rev)
{
    he_try *x = cio__container_of(a, he_try, afd);
    if (rev & CIO__EV_WRITE) {
        x->fired = 1;
        he_wake(x->race);
    }
}

static void he_timer(cio__handle *hd)
{
    he_race *h = hd->arg;
    h->timer = NULL;
    h->due = 1;
    he_wake(h);
}

static int he_cancel(cio__task *t)
{
    he_race *h = cio__park_arg(t);
    h->parked = 0;
    cio__unpark(t, -ECANCELED);
    return 1;
}

static void he_disarm(he_race *h)
{
    if (h->timer) {
        cio__handle_cancel(h->loop, h->timer);
        h->timer = NULL;
    }
    h->due = 0;
}

static int he_arm(he_race *h, int64_t delay)
{
    he_disarm(h);
    cio__handle *hd = cio__handle_get(h->loop);
    if (!hd)
        return -ENOMEM;
    hd->icb = he_timer;
    hd->arg = h;
    int r = cio__handle_at(h->loop, hd, cio_loop_time(h->loop) + delay);
    if (r == 0)
        h->timer = hd;
    return r;
}

static void he_drop(he_try *x)
{
    if (!x->live)
        return;
    x->live = 0;
    cio__afd_close(&x->afd);
    close(x->fd);
}

/* Starts attempt x. Returns 1 connected, 0 in progress, or its error
 * (x is then not live). */
static int he_start(he_race *h, he_try *x)
{
    const struct addrinfo *ai = x->ai;
    int r = connect_start(ai->ai_family, ai->ai_protocol, ai->ai_addr,
                          ai->ai_addrlen, &x->fd);
    if (r < 0)
        return r;
    int e = cio__afd_open(&x->afd, h->loop, x->fd);
    if (e < 0) {
        close(x->fd);
        return e;
    }
    x->afd.on_event = he_event;
    x->afd.ready = 0;
    x->live = 1;
    x->fired = 0;
    return r;
}

/* Races the n addresses of v with Happy Eyeballs. Returns 0 and *out (a
 * connected socket registered nowhere), or the last attempt's error, or
 * -ECANCELED. Suspends. */
static int he_connect(cio_loop *loop, const struct addrinfo **v, size_t n,
                      int64_t delay, int *out)
{
    he_try *x = cio__calloc(n, sizeof(*x));
    if (!x)
        return -ENOMEM;
    he_race h = {loop, cio__tls_task, 0, 0, NULL};
    size_t next = 0, live = 0;
    int r = CIO_ERESOLVE, err = CIO_ERESOLVE;
    he_try *win = NULL;
    for (size_t i = 0; i < n; i++) {
        x[i].ai = v[i];
        x[i].race = &h;
        x[i].fd = -1;
    }
    for (;;) {
        /* Start the next attempt when nothing is in flight or it is due. */
        if (next < n && (live == 0 || h.due)) {
            he_try *y = &x[next++];
            r = he_start(&h, y);
            if (r == 1) {
                win = y;
                break;
            }
            if (r < 0) {
                err = r;
                h.due = 1; /* failed at once: the next one now */
                continue;
            }
            live++;
            if (next < n && (r = he_arm(&h, delay)) < 0)
                break;
            h.due = 0;
        }
        if (live == 0) {
            r = err;
            break;
        }
        h.parked = 1;
        r = cio__park(h.t, he_cancel, &h, "connecting (happy eyeballs)");
        h.parked = 0;
        if (r < 0)
            break;
        for (size_t i = 0; i < next && !win; i++) {
            he_try *y = &x[i];
            if (!y->live || !y->fired)
                continue;
            y->fired = 0;
            int o = connect_outcome(y->fd, y->ai->ai_addr, y->ai->ai_addrlen);
            if (o == 1) {
                win = y;
            } else if (o < 0) {
                err = o;
                he_drop(y);
                live--;
                h.due = 1; /* RFC 8305 5: a failure starts the next at once */
            }
        }
        if (win)
            break;
    }
    he_disarm(&h);
    if (win) {
        win->live = 0;
        cio__afd_close(&win->afd);
        r = 0;
        *out = win->fd;
    }
    for (size_t i = 0; i < next; i++)
        he_drop(&x[i]);
    cio__free(x);
    return r;
}

/* Orders the addresses of res into v as asyncio's _interleave_addrinfos:
 * the first `first` of the first family, then one of each family in turn
 * (first <= 0: res's order). Returns the count. */
static size_t interleave(const struct addrinfo *res, int first,
                         const struct addrinfo **v, size_t cap)
{
    size_t n = 0;
    if (first <= 0) {
        for (const struct addrinfo *ai = res; ai && n < cap; ai = ai->ai_next)
            v[n++] = ai;
        return n;
    }
    /* Families in order of appearance (at most a few). */
    int fams[8];
    size_t nf = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        size_t k = 0;
        while (k < nf && fams[k] != ai->ai_family)
            k++;
        if (k == nf && nf < 8)
            fams[nf++] = ai->ai_family;
    }
    const struct addrinfo *cur[8];
    for (size_t k = 0; k < nf; k++) {
        cur[k] = res;
        while (cur[k] && cur[k]->ai_family != fams[k])
            cur[k] = cur[k]->ai_next;
    }
    for (int i = 0; i < first - 1 && cur[0] && n < cap; i++) {
        v[n++] = cur[0];
        do
            cur[0] = cur[0]->ai_next;
        while (cur[0] && cur[0]->ai_family != fams[0]);
    }
    for (int more = 1; more && n < cap;) {
        more = 0;
        for (size_t k = 0; k < nf && n < cap; k++) {
            if (!cur[k])
                continue;
            v[n++] = cur[k];
            do
                cur[k] = cur[k]->ai_next;
            while (cur[k] && cur[k]->ai_family != fams[k]);
            more = 1;
        }
    }
    return n;
}

int cio__conn_connect(cio__afd *a, const char *host, int port,
                      const cio_conn_opts *opts,
                      void (*on_event)(cio__afd *a, unsigned revents),
                      int *fd)
{
    cio__task *t = cio__tls_task;
    if (!t || port < 0 || port > 65535)
        return -EINVAL;
    int64_t delay = opts ? opts->happy_eyeballs_delay : 0;
    int il = opts ? opts->interleave : 0;
    if (delay < 0 || il < -1)
        return -EINVAL;
    if (il == 0)
        il = delay > 0 ? 1 : -1;
    cio_loop *loop = t->f.loop;
    char svc[8];
    snprintf(svc, sizeof(svc), "%d", port);
    struct addrinfo *res = NULL;
    int r = cio__resolve(loop, host, svc, AF_UNSPEC, SOCK_STREAM,
                         AI_ADDRCONFIG, &res);
    if (r < 0)
        return r;
    size_t n = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    const struct addrinfo **v = n ? cio__malloc(n * sizeof(*v)) : NULL;
    if (n && !v) {
        freeaddrinfo(res);
        return -ENOMEM;
    }
    n = interleave(res, il, v, n);
    r = CIO_ERESOLVE;
    if (delay > 0 && n > 1) {
        r = he_connect(loop, v, n, delay, fd);
        if (r == 0) {
            r = cio__afd_open(a, loop, *fd);
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            if (r < 0)
                close(*fd);
            else if (getsockname(*fd, (struct sockaddr *)&ss, &sl) == 0)
                cio__sock_nodelay(*fd, ss.ss_family);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            r = connect_one(a, loop, v[i]->ai_family, v[i]->ai_protocol,
                            v[i]->ai_addr, v[i]->ai_addrlen, fd);
            if (r == 0 || r == -ECANCELED)
                break;
        }
    }
    cio__free(v);
    freeaddrinfo(res);
    if (r == 0) {
        a->on_event = on_event;
        a->ready |= CIO__EV_READ | CIO__EV_WRITE;
    }
    return r;
}

int cio__conn_connect_addr(cio__afd *a, const struct sockaddr *addr,
                           socklen_t len,
                           void (*on_event)(cio__afd *a, unsigned revents),
                           int *fd)
{
    cio__task *t = cio__tls_task;
    if (!t || !addr)
        return -EINVAL;
    int r = connect_one(a, t->f.loop, addr->sa_family, 0, addr, len, fd);
    if (r == 0) {
        a->on_event = on_event;
        a->ready |= CIO__EV_READ | CIO__EV_WRITE;
    }
    return r;
}

int cio__conn_register(cio__fdstream *f, cio_loop *loop, int fd,
                       void (*on_event)(cio__afd *a, unsigned revents))
{
    cio__fdstream_init(f, fd, (uint8_t)cio__fd_is_sock(fd));
    int r = cio__afd_open(&f->afd, loop, fd);
    if (r < 0)
        return r;
    f->afd.on_event = on_event;
    f->afd.ready |= CIO__EV_READ | CIO__EV_WRITE;
    return 0;
}
