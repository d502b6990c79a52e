/*
 * afd.h - an awaitable descriptor: the one primitive every cio socket,
 * pipe, stream and transport is built on.
 *
 * The descriptor is registered once, edge-triggered, for both directions,
 * and never touched in the kernel again until it is closed. The I/O layer
 * tries the system call first; only on EAGAIN does it clear the direction's
 * "ready" bit and wait for the next edge. So a busy connection costs no
 * epoll_ctl and no epoll_wait between its reads and writes, which is what
 * lets a coroutine-per-connection server get near a hand-written epoll
 * loop. Rejected: level-triggered interest toggled with EPOLL_CTL_MOD on
 * every EAGAIN (a syscall per wait), and oneshot (a syscall per event).
 * io_uring maps the same contract onto multishot poll.
 *
 * Two ways to be told: a task waits with cio__afd_wait (cancellable; a
 * close from another task wakes it with -EBADF), or a callback owner
 * (transports) sets on_event and reacts inside the loop.
 */
#ifndef CIO_NET_AFD_H
#define CIO_NET_AFD_H

#include "task/task.h"

typedef struct cio__afd cio__afd;
struct cio__afd {
    cio__io io;
    cio_loop *loop;
    unsigned ready;         /* CIO__EV_READ/WRITE seen and not yet EAGAIN */
    cio__task *waiter[2];   /* [0] reader, [1] writer */
    int err;                /* -EBADF once closing */
    /* Callback mode: called from the poll with the new readiness bits. */
    void (*on_event)(cio__afd *a, unsigned revents);
};

/* Registers fd (which must be non-blocking) on loop. Returns 0, -EBUSY if
 * the loop already uses fd, -EPERM if fd cannot be polled, -errno. */
int cio__afd_open(cio__afd *a, cio_loop *loop, int fd);

/* Claims fd on loop like cio__afd_open without watching it: for an owner
 * that reaches the descriptor through the backend's completion-shaped
 * operations instead (transports on io_uring). cio__afd_close undoes it. */
int cio__afd_claim(cio__afd *a, cio_loop *loop, int fd);

/* Stops watching a descriptor opened with cio__afd_open, keeping the
 * claim (the owner switches to completion-shaped operations). */
void cio__afd_unwatch(cio__afd *a);

/* Suspends the current task until the direction (CIO__EV_READ or
 * CIO__EV_WRITE) is ready. Returns 0, -ECANCELED, -EBADF (closed while
 * waiting), -EBUSY (another task already waits in that direction),
 * -EINVAL (not in a task of a.loop). Suspends. */
int cio__afd_wait(cio__afd *a, unsigned dir);

/* After EAGAIN: forget the readiness of dir until the next edge. */
static inline void cio__afd_clear(cio__afd *a, unsigned dir)
{
    a->ready &= ~dir;
}

/* After a read that returned less than asked on a stream (socket or
 * pipe): the kernel queue is empty, so unless the peer has closed (then
 * the next read must see the EOF), skip the read that would only say
 * EAGAIN and wait for the next edge. Returns 1 if readiness was cleared. */
static inline int cio__afd_short_read(cio__afd *a)
{
    if (a->ready & CIO__EV_RDHUP)
        return 0;
    a->ready &= ~CIO__EV_READ;
    return 1;
}

/* Unregisters (does not close fd) and wakes waiters with -EBADF. */
void cio__afd_close(cio__afd *a);

#endif
