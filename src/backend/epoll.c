/*
 * epoll.c - the epoll backend.
 *
 * Level-triggered by default (the poller and the selector promise levels),
 * edge-triggered when the watcher asks (CIO__EV_EDGE): sockets, streams
 * and transports register both directions once, edge-triggered, and try
 * the syscall before waiting, so they never pay an epoll_ctl per
 * operation. EPOLLRDHUP is always asked with EPOLLIN so an edge-triggered
 * reader learns of a FIN that came with its last bytes. The wakeup is an eventfd registered with a NULL watcher;
 * an atomic flag coalesces concurrent wakeups into one write.
 *
 * Stale events: when a callback closes or re-registers another watcher
 * that has an event later in the same batch, fd_del marks the batch slot
 * dead so the event is dropped (libuv's uv__platform_invalidate_fd).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "backend/backend.h"
#include "backend/evfd.h"
#include "core/sys.h"
#include "internal.h"

#define MAX_EVENTS 256

struct cio__backend {
    int epfd;
    int evfd;
    atomic_int wake_pending;
    struct epoll_event *batch; /* events of the poll being dispatched */
    int batch_n;
    struct epoll_event ev[MAX_EVENTS];
};

static int ep_init(cio__backend **out)
{
    cio__backend *b = cio__calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (b->epfd < 0) {
        int r = CIO__ERRNO();
        cio__free(b);
        return r;
    }
    b->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (b->evfd < 0) {
        int r = CIO__ERRNO();
        close(b->epfd);
        cio__free(b);
        return r;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, b->evfd, &e) < 0) {
        int r = CIO__ERRNO();
        close(b->evfd);
        close(b->epfd);
        cio__free(b);
        return r;
    }
    atomic_init(&b->wake_pending, 0);
    *out = b;
    return 0;
}

static void ep_fini(cio__backend *b)
{
    if (!b)
        return;
    close(b->evfd);
    close(b->epfd);
    cio__free(b);
}

static uint32_t to_epoll(unsigned ev)
{
    uint32_t e = 0;
    if (ev & CIO__EV_READ)
        e |= EPOLLIN | EPOLLRDHUP;
    if (ev & CIO__EV_WRITE)
        e |= EPOLLOUT;
    if (ev & CIO__EV_EDGE)
        e |= EPOLLET;
    return e;
}

static int ep_ctl(cio__backend *b, int op, cio__io *io, unsigned events)
{
    struct epoll_event e = {.events = to_epoll(events), .data.ptr = io};
    if (cio__sys_epoll_ctl(b->epfd, op, io->fd, &e) < 0)
        return CIO__ERRNO();
    io->events = events;
    return 0;
}

static int ep_add(cio__backend *b, cio__io *io, unsigned events)
{
    return ep_ctl(b, EPOLL_CTL_ADD, io, events);
}

static int ep_mod(cio__backend *b, cio__io *io, unsigned events)
{
    return ep_ctl(b, EPOLL_CTL_MOD, io, events);
}

static int ep_del(cio__backend *b, cio__io *io)
{
    int r = 0;
    if (cio__sys_epoll_ctl(b->epfd, EPOLL_CTL_DEL, io->fd, NULL) < 0)
        r = CIO__ERRNO();
    io->events = 0;
    for (int i = 0; i < b->batch_n; i++)
        if (b->batch[i].data.ptr == io)
            b->batch[i].data.ptr = b; /* tombstone: skipped below */
    return r;
}

static int ep_poll(cio__backend *b, int64_t timeout_ns)
{
    int ms;
    if (timeout_ns < 0)
        ms = -1;
    else if (timeout_ns == 0)
        ms = 0;
    else if (timeout_ns > (int64_t)INT32_MAX * 1000000)
        ms = INT32_MAX;
    else /* round up: waking early would spin until the deadline */
        ms = (int)((timeout_ns + 999999) / 1000000);
    int n = epoll_wait(b->epfd, b->ev, MAX_EVENTS, ms);
    if (n < 0)
        return errno == EINTR ? 0 : CIO__ERRNO();
    int dispatched = 0;
    b->batch = b->ev;
    b->batch_n = n;
    for (int i = 0; i < n; i++) {
        void *p = b->ev[i].data.ptr;
        if (p == b)
            continue;
        if (!p) {
            cio__evfd_consume(&b->wake_pending, b->evfd);
            dispatched++;
            continue;
        }
        cio__io *io = p;
        uint32_t e = b->ev[i].events;
        unsigned rev = 0;
        if (e & (EPOLLIN | EPOLLRDHUP))
            rev |= CIO__EV_READ;
        if (e & EPOLLOUT)
            rev |= CIO__EV_WRITE;
        if (e & (EPOLLERR | EPOLLHUP))
            rev |= CIO__EV_ERROR | (io->events & (CIO__EV_READ | CIO__EV_WRITE));
        if (e & (EPOLLRDHUP | EPOLLHUP))
            rev |= CIO__EV_RDHUP;
        rev &= (io->events & (CIO__EV_READ | CIO__EV_WRITE)) | CIO__EV_ERROR |
               (io->events & CIO__EV_READ ? CIO__EV_RDHUP : 0);
        if (rev) {
            io->cb(io, rev);
            dispatched++;
        }
    }
    b->batch = NULL;
    b->batch_n = 0;
    return dispatched;
}

static int ep_wakeup(cio__backend *b)
{
    return cio__evfd_wakeup(&b->wake_pending, b->evfd);
}

const cio__backend_ops cio__backend_epoll = {
    .name = "epoll",
    .init = ep_init,
    .fini = ep_fini,
    .fd_add = ep_add,
    .fd_mod = ep_mod,
    .fd_del = ep_del,
    .poll = ep_poll,
    .wakeup = ep_wakeup,
};
