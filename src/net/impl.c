/*
 * impl.c - cio/impl.h: the awaitable descriptor (net/afd.h) for code
 * outside cio. A thin shell: the cio__afd is embedded in a heap object so
 * that cio_afd_close can free it while a woken waiter still has to return
 * through cio__afd_wait (the object lives until no task is inside a wait).
 */
#include <errno.h>
#include <fcntl.h>

#include "cio/impl.h"
#include "net/afd.h"

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
