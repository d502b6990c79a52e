/*
 * bstream.c - the descriptor byte stream's ops table (bstream.h): the
 * out-of-line entries for callers that hold only a cio__bstream (a
 * wrapper over it), and the rarely used shutdown and close.
 */
#include <errno.h>
#include <unistd.h>

#include "net/bstream.h"

#define FD(s) cio__container_of((s), cio__fdstream, bs)

static ssize_t fd_read(cio__bstream *s, void *p, size_t n)
{
    return cio__fd_read(FD(s), p, n);
}

static ssize_t fd_write(cio__bstream *s, const void *p, size_t n)
{
    return cio__fd_write(FD(s), p, n);
}

static ssize_t fd_writev(cio__bstream *s, const struct iovec *iov, int n)
{
    return cio__fd_writev(FD(s), iov, n);
}

/* A socket's write side ends with shutdown(SHUT_WR); a pipe's only by
 * closing it (the owner does that: -ENOTSUP tells it to). */
static int fd_shutdown_write(cio__bstream *s)
{
    cio__fdstream *f = FD(s);
    if (!f->is_sock)
        return -ENOTSUP;
    if (shutdown(f->fd, SHUT_WR) < 0 && errno != ENOTCONN)
        return CIO__ERRNO();
    return 0;
}

/* Unregisters the descriptor (waiters get -EBADF) and closes it. */
static void fd_close(cio__bstream *s)
{
    cio__fdstream *f = FD(s);
    cio__afd_close(&f->afd);
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

const cio__bstream_ops cio__fdstream_ops = {
    .name = "fd",
    .read = fd_read,
    .write = fd_write,
    .writev = fd_writev,
    .shutdown_write = fd_shutdown_write,
    .close = fd_close,
    .pending = NULL, /* the kernel holds everything */
    .flags = CIO__BS_SHORT_IS_FULL,
};
