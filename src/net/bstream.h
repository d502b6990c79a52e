/*
 * bstream.h - the byte-stream seam: what streams (stream.c), transports
 * (transport.c) and awaitable sockets (sock.c) move bytes through.
 *
 * A byte stream is an ops table and a base struct embedded in its owner:
 * read-into, write, writev, shutdown-write, close, pending bytes, and
 * readiness (the "ready" bits of its descriptor's awaitable, net/afd.h).
 * The one implementation today is over a socket or pipe descriptor
 * (cio__fdstream below): system calls tried first, readiness cleared on
 * EAGAIN and on a short read, the edge-triggered contract of afd.h. On
 * io_uring the same descriptor is watched by multishot poll, and a
 * transport's completion mode (transport_cq.c) moves its bytes through the
 * backend's completion ops instead. TLS will be a second implementation
 * wrapping any byte stream: its read decrypts from the inner stream's
 * read, its pending() counts decrypted bytes not yet handed out (a task
 * must not wait for readiness while those exist), its shutdown-write
 * sends close_notify.
 *
 * Speed: the callers go through the cio__bs_* calls below, which test for
 * the fd implementation and call it inline; only other implementations
 * pay an indirect call. So the seam costs one compare on the echo path
 * (bench/README.md "Net seams" has the before/after run).
 *
 * Contract of every implementation (the fd one is the reference):
 *  read(p, n):   > 0 bytes; 0 at end of stream (and again on every
 *                later read, without waiting); -EAGAIN: nothing now,
 *                wait for CIO__EV_READ; or -errno (the stream is broken).
 *  write(p, n):  bytes taken (maybe fewer than n, then the write side is
 *                marked not ready); -EAGAIN: none taken, wait for
 *                CIO__EV_WRITE; or -errno. Never raises SIGPIPE.
 *  writev:       as write, for up to IOV_MAX buffers.
 *  shutdown_write: 0 or -errno (ENOTCONN is not an error).
 *  close:        ends the stream; waiters are woken with -EBADF.
 *  pending:      bytes a read returns without asking the kernel.
 *  flags:        CIO__BS_SHORT_IS_FULL if a write that takes fewer bytes
 *                than asked means the descriptor's send buffer is full
 *                (the next write would say -EAGAIN), so a caller may wait
 *                for the write edge without asking; not set for a stream
 *                that takes a bounded piece at a time (TLS: one record)
 *                or may buffer, whose short write says nothing about the
 *                descriptor.
 */
#ifndef CIO_NET_BSTREAM_H
#define CIO_NET_BSTREAM_H

#include <sys/uio.h>

#include "core/sys.h"
#include "net/afd.h"

typedef struct cio__bstream cio__bstream;
typedef struct cio__bstream_ops {
    const char *name;
    ssize_t (*read)(cio__bstream *s, void *p, size_t n);
    ssize_t (*write)(cio__bstream *s, const void *p, size_t n);
    ssize_t (*writev)(cio__bstream *s, const struct iovec *iov, int n);
    int (*shutdown_write)(cio__bstream *s);
    void (*close)(cio__bstream *s);
    size_t (*pending)(const cio__bstream *s);
    unsigned flags; /* CIO__BS_* */
} cio__bstream_ops;

/* A short write means the send buffer is full (see the contract above). */
#define CIO__BS_SHORT_IS_FULL 1u

struct cio__bstream {
    const cio__bstream_ops *ops;
    /* The awaitable readiness of the stream: for the fd implementation
     * its descriptor's; a wrapper keeps its own (TLS: READ while
     * decrypted bytes wait, whatever the socket says). */
    cio__afd *afd;
};

/* ---- the implementation over a descriptor ---- */

typedef struct cio__fdstream {
    cio__bstream bs;
    cio__afd afd;
    int fd;
    uint8_t is_sock; /* recv/send (and MSG_NOSIGNAL) rather than read/write */
} cio__fdstream;

extern const cio__bstream_ops cio__fdstream_ops;

/* Makes f a byte stream over fd (which the caller registers through
 * f->afd as before). */
static inline void cio__fdstream_init(cio__fdstream *f, int fd,
                                      uint8_t is_sock)
{
    f->bs.ops = &cio__fdstream_ops;
    f->bs.afd = &f->afd;
    f->fd = fd;
    f->is_sock = is_sock;
}

/* send(MSG_NOSIGNAL) on sockets; write with SIGPIPE blocked and consumed
 * on anything else (pipes). >= 0 or -errno, EINTR retried (conn.c). */
ssize_t cio__fd_send(int fd, int is_sock, const void *p, size_t n);
ssize_t cio__fd_sendv(int fd, int is_sock, const struct iovec *iov, int n);

static inline ssize_t cio__fd_read(cio__fdstream *f, void *p, size_t n)
{
    for (;;) {
        /* recv rather than read on a socket: read(2) goes through
         * vfs_read (fsnotify and security hooks), a measured 4% of an
         * echo server's CPU under load that recvfrom skips. */
        ssize_t k = f->is_sock ? cio__sys_recv(f->fd, p, n, 0)
                               : cio__sys_read(f->fd, p, n);
        if (CIO_LIKELY(k > 0)) {
            if ((size_t)k < n)
                cio__afd_short_read(&f->afd);
            return k;
        }
        if (k == 0)
            return 0; /* readiness kept: another read says 0 at once */
        int e = errno;
        if (e == EINTR)
            continue;
        if (e == EAGAIN || e == EWOULDBLOCK) {
            cio__afd_clear(&f->afd, CIO__EV_READ);
            return -EAGAIN;
        }
        return -e;
    }
}

static inline ssize_t cio__fd_write(cio__fdstream *f, const void *p,
                                    size_t n)
{
    ssize_t k;
    if (CIO_LIKELY(f->is_sock)) {
        /* cio__fd_send's socket path, inline: out of line it cost 32
         * instructions an echoed message (design.md section 41) */
        do
            k = cio__sys_send(f->fd, p, n, MSG_NOSIGNAL);
        while (CIO_UNLIKELY(k < 0) && errno == EINTR);
        if (CIO_LIKELY(k >= 0))
            return k;
        k = CIO__ERRNO();
    } else {
        k = cio__fd_send(f->fd, 0, p, n);
    }
    if (CIO_UNLIKELY(k == -EAGAIN || k == -EWOULDBLOCK)) {
        cio__afd_clear(&f->afd, CIO__EV_WRITE);
        return -EAGAIN;
    }
    return k;
}

static inline ssize_t cio__fd_writev(cio__fdstream *f,
                                     const struct iovec *iov, int n)
{
    ssize_t k = cio__fd_sendv(f->fd, f->is_sock, iov, n);
    if (CIO_UNLIKELY(k == -EAGAIN || k == -EWOULDBLOCK)) {
        cio__afd_clear(&f->afd, CIO__EV_WRITE);
        return -EAGAIN;
    }
    return k;
}

/* ---- what the callers use ---- */

static inline cio__fdstream *cio__bs_fd(cio__bstream *s)
{
    return CIO_LIKELY(s->ops == &cio__fdstream_ops)
               ? cio__container_of(s, cio__fdstream, bs)
               : NULL;
}

static inline ssize_t cio__bs_read(cio__bstream *s, void *p, size_t n)
{
    cio__fdstream *f = cio__bs_fd(s);
    return f ? cio__fd_read(f, p, n) : s->ops->read(s, p, n);
}

static inline ssize_t cio__bs_write(cio__bstream *s, const void *p, size_t n)
{
    cio__fdstream *f = cio__bs_fd(s);
    return f ? cio__fd_write(f, p, n) : s->ops->write(s, p, n);
}

static inline ssize_t cio__bs_writev(cio__bstream *s,
                                     const struct iovec *iov, int n)
{
    cio__fdstream *f = cio__bs_fd(s);
    return f ? cio__fd_writev(f, iov, n) : s->ops->writev(s, iov, n);
}

static inline int cio__bs_shutdown_write(cio__bstream *s)
{
    return s->ops->shutdown_write(s);
}

static inline void cio__bs_close(cio__bstream *s)
{
    s->ops->close(s);
}

static inline size_t cio__bs_pending(const cio__bstream *s)
{
    return s->ops->pending ? s->ops->pending(s) : 0;
}

/* Does a short write of s mean its descriptor's send buffer is full? */
static inline int cio__bs_short_is_full(const cio__bstream *s)
{
    return (s->ops->flags & CIO__BS_SHORT_IS_FULL) != 0;
}

/* Is direction dir (CIO__EV_READ/WRITE) worth trying now? */
static inline int cio__bs_ready(const cio__bstream *s, unsigned dir)
{
    return (s->afd->ready & dir) != 0;
}

/* ---- a user's layer (cio/impl.h's cio_bstream_ops), net/impl.c ----
 * Owners keep it beside their TLS state: the layer's byte stream becomes
 * their `bs`, its close op closes inner too (as TLS's does), and the
 * owner frees it with cio__ulayer_free when its memory goes. */

struct cio_bstream_ops;
typedef struct cio__ulayer cio__ulayer;

/* Makes the layer (ops borrowed, state taken on success) over inner
 * (borrowed: it must outlive the layer). Returns 0 and *out, -EINVAL
 * (NULL ops, no read or write op), -ENOMEM. */
int cio__ulayer_new(const struct cio_bstream_ops *ops, void *state,
                    cio__bstream *inner, cio__ulayer **out);
cio__bstream *cio__ulayer_bs(cio__ulayer *l);
/* Calls the user's close (once, if the stream's close did not) and frees
 * l. NULL is ignored. */
void cio__ulayer_free(cio__ulayer *l);

#endif
