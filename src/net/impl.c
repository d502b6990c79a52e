/*
 * impl.c - cio/impl.h: the awaitable descriptor (net/afd.h) for code
 * outside cio. A thin shell: the cio__afd is embedded in a heap object so
 * that cio_afd_close can free it while a woken waiter still has to return
 * through cio__afd_wait (the object lives until no task is inside a wait).
 * And the byte-stream layer: the cio_bstream_* calls on the stream below
 * a layer, and cio__ulayer, the net/bstream.h implementation that calls
 * a user's cio_bstream_ops (owners push it as they start TLS).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>

#include "cio/impl.h"
#include "net/afd.h"
#include "net/bstream.h"

struct cio_afd {
    cio__afd afd;
    int waiting; /* tasks inside cio_afd_wait */
    int closed;
};

int cio_afd_open(cio_afd **out, cio_loop *loop, int fd)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (fd < 0)
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return CIO__ERRNO();
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return CIO__ERRNO();
    cio_afd *a = cio__calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    r = cio__afd_open(&a->afd, loop, fd);
    if (r < 0) {
        cio__free(a);
        return r;
    }
    a->afd.ready |= CIO__EV_READ | CIO__EV_WRITE;
    *out = a;
    return 0;
}

static unsigned to_ev(unsigned events)
{
    return (events & CIO_EVENT_READ ? CIO__EV_READ : 0u) |
           (events & CIO_EVENT_WRITE ? CIO__EV_WRITE : 0u);
}

int cio_afd_wait(cio_afd *a, unsigned event)
{
    if (!a || (event != CIO_EVENT_READ && event != CIO_EVENT_WRITE))
        return -EINVAL;
    if (a->closed)
        return -EBADF;
    a->waiting++;
    int r = cio__afd_wait(&a->afd, to_ev(event));
    a->waiting--;
    if (a->closed) {
        if (!a->waiting)
            cio__free(a);
        return -EBADF;
    }
    return r;
}

void cio_afd_clear(cio_afd *a, unsigned events)
{
    if (a && !a->closed)
        cio__afd_clear(&a->afd, to_ev(events));
}

unsigned cio_afd_ready(const cio_afd *a)
{
    if (!a || a->closed)
        return 0;
    return (a->afd.ready & CIO__EV_READ ? CIO_EVENT_READ : 0u) |
           (a->afd.ready & CIO__EV_WRITE ? CIO_EVENT_WRITE : 0u);
}

int cio_afd_close(cio_afd *a)
{
    if (!a)
        return 0;
    cio_loop *loop = a->afd.loop;
    if (loop && loop->closed) {
        a->afd.loop = NULL; /* the backend is gone: nothing to undo */
    } else if (loop) {
        int r = cio__loop_check(loop);
        if (r < 0)
            return r;
    }
    a->closed = 1;
    cio__afd_close(&a->afd); /* wakes a waiter with -EBADF */
    if (!a->waiting)
        cio__free(a);
    return 0;
}

/* ---- byte streams: the public face of net/bstream.h ----
 * A cio_bstream * handed to a layer is the cio__bstream below it, under
 * a name of its own (struct cio_bstream is never defined). */

#define TO_BS(s) ((cio__bstream *)(void *)(s))
#define TO_PUB(s) ((cio_bstream *)(void *)(s))

ssize_t cio_bstream_read(cio_bstream *s, void *buf, size_t len)
{
    if (CIO_UNLIKELY(!s || !buf || !len))
        return -EINVAL;
    return cio__bs_read(TO_BS(s), buf, len);
}

ssize_t cio_bstream_write(cio_bstream *s, const void *buf, size_t len)
{
    if (CIO_UNLIKELY(!s || (!buf && len)))
        return -EINVAL;
    if (!len)
        return 0;
    return cio__bs_write(TO_BS(s), buf, len);
}

ssize_t cio_bstream_writev(cio_bstream *s, const struct iovec *iov, int iovcnt)
{
    if (CIO_UNLIKELY(!s || iovcnt < 1 || iovcnt > IOV_MAX || !iov))
        return -EINVAL;
    return cio__bs_writev(TO_BS(s), iov, iovcnt);
}

int cio_bstream_shutdown_write(cio_bstream *s)
{
    if (!s)
        return -EINVAL;
    return cio__bs_shutdown_write(TO_BS(s));
}

size_t cio_bstream_pending(const cio_bstream *s)
{
    return s ? cio__bs_pending((const cio__bstream *)(const void *)s) : 0;
}

int cio_bstream_fileno(const cio_bstream *s)
{
    if (!s)
        return -EINVAL;
    return ((const cio__bstream *)(const void *)s)->afd->io.fd;
}

/* A user's layer: its own ops table (the flags are the user's), the
 * stream below, the user's table and state. */
struct cio__ulayer {
    cio__bstream bs;
    cio__bstream_ops ops;
    cio__bstream *inner;
    const cio_bstream_ops *u;
    void *state;
    uint8_t closed; /* the user's close ran */
};

#define UL(s) cio__container_of((s), cio__ulayer, bs)

/* After a read: bytes the layer still holds keep the read direction
 * ready, so nobody waits for the descriptor meanwhile (bstream.h's
 * pending rule). */
static void ul_keep_ready(cio__ulayer *l)
{
    if (l->u->pending && l->u->pending(l->state))
        l->inner->afd->ready |= CIO__EV_READ;
}

static ssize_t ul_read(cio__bstream *s, void *p, size_t n)
{
    cio__ulayer *l = UL(s);
    if (CIO_UNLIKELY(l->closed))
        return -EBADF;
    ssize_t k = l->u->read(l->state, TO_PUB(l->inner), p, n);
    if (k > 0)
        ul_keep_ready(l);
    return k;
}

static ssize_t ul_write(cio__bstream *s, const void *p, size_t n)
{
    cio__ulayer *l = UL(s);
    if (CIO_UNLIKELY(l->closed))
        return -EBADF;
    ssize_t k = l->u->write(l->state, TO_PUB(l->inner), p, n);
    return CIO_UNLIKELY(k == 0 && n) ? -EIO : k; /* else a caller spins */
}

static ssize_t ul_writev(cio__bstream *s, const struct iovec *iov, int n)
{
    cio__ulayer *l = UL(s);
    if (CIO_UNLIKELY(l->closed))
        return -EBADF;
    if (l->u->writev) {
        ssize_t k = l->u->writev(l->state, TO_PUB(l->inner), iov, n);
        if (CIO_UNLIKELY(k == 0)) /* the owners never pass empty vectors */
            for (int i = 0; i < n; i++)
                if (iov[i].iov_len)
                    return -EIO;
        return k;
    }
    for (int i = 0; i < n; i++)
        if (iov[i].iov_len)
            return ul_write(s, iov[i].iov_base, iov[i].iov_len);
    return 0;
}

static int ul_shutdown_write(cio__bstream *s)
{
    cio__ulayer *l = UL(s);
    if (l->closed)
        return -EBADF;
    if (l->u->shutdown_write)
        return l->u->shutdown_write(l->state, TO_PUB(l->inner));
    return cio__bs_shutdown_write(l->inner);
}

static void ul_user_close(cio__ulayer *l)
{
    if (l->closed)
        return;
    l->closed = 1;
    if (l->u->close)
        l->u->close(l->state);
    l->state = NULL;
}

/* The owner closes: the user's state goes, then the stream below. */
static void ul_close(cio__bstream *s)
{
    cio__ulayer *l = UL(s);
    ul_user_close(l);
    cio__bs_close(l->inner);
}

static size_t ul_pending(const cio__bstream *s)
{
    const cio__ulayer *l = cio__container_of(s, const cio__ulayer, bs);
    return !l->closed && l->u->pending ? l->u->pending(l->state) : 0;
}

int cio__ulayer_new(const cio_bstream_ops *ops, void *state,
                    cio__bstream *inner, cio__ulayer **out)
{
    *out = NULL;
    if (!ops || !ops->read || !ops->write || !inner)
        return -EINVAL;
    cio__ulayer *l = cio__calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->ops = (cio__bstream_ops){
        .name = "user",
        .read = ul_read,
        .write = ul_write,
        .writev = ul_writev,
        .shutdown_write = ul_shutdown_write,
        .close = ul_close,
        .pending = ul_pending,
        .flags =
            ops->flags & CIO_BSTREAM_SHORT_IS_FULL ? CIO__BS_SHORT_IS_FULL : 0u,
    };
    l->bs.ops = &l->ops;
    l->bs.afd = inner->afd; /* the descriptor's readiness */
    l->inner = inner;
    l->u = ops;
    l->state = state;
    *out = l;
    return 0;
}

cio__bstream *cio__ulayer_bs(cio__ulayer *l)
{
    return &l->bs;
}

void cio__ulayer_free(cio__ulayer *l)
{
    if (!l)
        return;
    ul_user_close(l);
    cio__free(l);
}
