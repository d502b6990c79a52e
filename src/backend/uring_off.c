/*
 * uring_off.c - the io_uring backend's table in a build without liburing
 * (CIO_WITH_URING=OFF, or AUTO with liburing-dev missing; CMake compiles
 * this file instead of uring.c and says so at configure time).
 *
 * The table keeps its name and every member, so nothing above the
 * backend changes: init fails with -ENOSYS, the error a kernel without
 * io_uring gives, and everything that asks for io_uring (opts.backend,
 * CIO_BACKEND=uring) sees exactly that; tests skip as they do on such a
 * kernel. The other members are never reached without an instance.
 */
#include <errno.h>
#include <stddef.h>

#include "backend/backend.h"

static int off_init(cio__backend **out)
{
    *out = NULL;
    return -ENOSYS;
}

static void off_fini(cio__backend *b)
{
    (void)b;
}

static int off_fd(cio__backend *b, cio__io *io, unsigned events)
{
    (void)b, (void)io, (void)events;
    return -ENOSYS;
}

static int off_fd_del(cio__backend *b, cio__io *io)
{
    (void)b, (void)io;
    return -ENOSYS;
}

static int off_poll(cio__backend *b, int64_t timeout_ns)
{
    (void)b, (void)timeout_ns;
    return -ENOSYS;
}

static int off_b(cio__backend *b)
{
    (void)b;
    return -ENOSYS;
}

static unsigned off_caps(cio__backend *b)
{
    (void)b;
    return 0;
}

static int off_pending(cio__backend *b)
{
    (void)b;
    return 0;
}

static int off_recv(cio__backend *b, cio__uop *op, int fd)
{
    (void)b, (void)op, (void)fd;
    return -ENOSYS;
}

static int off_send(cio__backend *b, cio__uop *op, int fd, const void *p,
                    size_t n)
{
    (void)b, (void)op, (void)fd, (void)p, (void)n;
    return -ENOSYS;
}

static int off_cancel(cio__backend *b, cio__uop *op)
{
    (void)b, (void)op;
    return -ENOSYS;
}

static void off_buf_put(cio__backend *b, unsigned id)
{
    (void)b, (void)id;
}

static void off_drain(cio__backend *b)
{
    (void)b;
}

const cio__backend_ops cio__backend_uring = {
    .name = "uring",
    .init = off_init,
    .fini = off_fini,
    .fd_add = off_fd,
    .fd_mod = off_fd,
    .fd_del = off_fd_del,
    .poll = off_poll,
    .wakeup = off_b,
    .caps = off_caps,
    .pending = off_pending,
    .recv = off_recv,
    .send = off_send,
    .cancel = off_cancel,
    .buf_put = off_buf_put,
    .drain = off_drain,
};
