/*
 * afd.c - see afd.h.
 */
#include <errno.h>

#include "net/afd.h"

static void afd_event(cio__io *io, unsigned rev)
{
    cio__afd *a = cio__container_of(io, cio__afd, io);
    unsigned r = 0;
    if (rev & (CIO__EV_READ | CIO__EV_ERROR))
        r |= CIO__EV_READ;
    if (rev & (CIO__EV_WRITE | CIO__EV_ERROR))
        r |= CIO__EV_WRITE;
    if (rev & CIO__EV_RDHUP)
        r |= CIO__EV_RDHUP; /* sticky: the peer cannot un-close */
    a->ready |= r;
    if (a->on_event) {
        a->on_event(a, r);
        return;
    }
    for (int d = 0; d < 2; d++) {
        cio__task *t = a->waiter[d];
        if (t && (r & (d ? CIO__EV_WRITE : CIO__EV_READ))) {
            a->waiter[d] = NULL;
            cio__unpark(t, 0);
        }
    }
}

int cio__afd_claim(cio__afd *a, cio_loop *loop, int fd)
{
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    a->io.fd = fd;
    a->io.cb = afd_event;
    a->io.events = 0;
    a->loop = loop;
    a->ready = 0;
    a->waiter[0] = a->waiter[1] = NULL;
    a->err = 0;
    a->on_event = NULL;
    return cio__loop_fd_claim(loop, fd, CIO__FD_IO, a);
}

void cio__afd_unwatch(cio__afd *a)
{
    if (a->loop)
        cio__io_stop(a->loop, &a->io);
}

int cio__afd_open(cio__afd *a, cio_loop *loop, int fd)
{
    int r = cio__afd_claim(a, loop, fd);
    if (r < 0)
        return r;
    r = cio__io_start(loop, &a->io,
                      CIO__EV_READ | CIO__EV_WRITE | CIO__EV_EDGE);
    if (r < 0) {
        cio__loop_fd_release(loop, fd);
        return r;
    }
    return 0;
}

static int afd_cancel(cio__task *t)
{
    cio__afd *a = cio__park_arg(t);
    for (int d = 0; d < 2; d++)
        if (a->waiter[d] == t)
            a->waiter[d] = NULL;
    cio__unpark(t, -ECANCELED);
    return 1;
}

int cio__afd_wait(cio__afd *a, unsigned dir)
{
    if (a->err)
        return a->err;
    cio__task *t = cio__tls_task;
    if (!t || t->f.loop != a->loop)
        return -EINVAL;
    if (a->ready & dir)
        return 0;
    int d = dir == CIO__EV_WRITE;
    if (a->waiter[d])
        return -EBUSY;
    a->waiter[d] = t;
    int r = cio__park(t, afd_cancel, a, d ? "fd writable" : "fd readable");
    if (a->waiter[d] == t) /* resumed by a late cancellation */
        a->waiter[d] = NULL;
    return r;
}

void cio__afd_close(cio__afd *a)
{
    if (!a->loop)
        return;
    a->err = -EBADF;
    cio__io_close(a->loop, &a->io);
    for (int d = 0; d < 2; d++) {
        cio__task *t = a->waiter[d];
        if (t) {
            a->waiter[d] = NULL;
            cio__unpark(t, -EBADF);
        }
    }
    a->loop = NULL;
}
