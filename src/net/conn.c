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

/* One address: socket, register, connect, wait for the outcome. */
static int connect_one(cio__afd *a, cio_loop *loop, const struct addrinfo *ai,
                       int *out)
{
    int fd = cio__sock_fd(ai->ai_family, SOCK_STREAM, ai->ai_protocol);
    if (fd < 0)
        return fd;
    int r = cio__afd_open(a, loop, fd);
    if (r < 0) {
        close(fd);
        return r;
    }
    if (cio__sys_connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        r = CIO__ERRNO();
        if (r == -EINPROGRESS || r == -EINTR) {
            cio__afd_clear(a, CIO__EV_WRITE);
            r = cio__afd_wait(a, CIO__EV_WRITE);
            if (r == 0) {
                int err = 0;
                socklen_t len = sizeof(err);
                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                    r = CIO__ERRNO();
                else
                    r = -err;
            }
        }
    } else {
        r = 0;
    }
    if (r < 0) {
        cio__afd_close(a);
        close(fd);
        return r;
    }
    cio__sock_nodelay(fd, ai->ai_family);
    *out = fd;
    return 0;
}

int cio__conn_connect(cio__afd *a, const char *host, int port,
                      void (*on_event)(cio__afd *a, unsigned revents),
                      int *fd)
{
    cio__task *t = cio__tls_task;
    if (!t || port < 0 || port > 65535)
        return -EINVAL;
    cio_loop *loop = t->f.loop;
    char svc[8];
    snprintf(svc, sizeof(svc), "%d", port);
    struct addrinfo *res = NULL;
    int r = cio__resolve(loop, host, svc, AF_UNSPEC, SOCK_STREAM,
                         AI_ADDRCONFIG, &res);
    if (r < 0)
        return r;
    r = CIO_ERESOLVE;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        r = connect_one(a, loop, ai, fd);
        if (r == 0 || r == -ECANCELED)
            break;
    }
    freeaddrinfo(res);
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
