/*
 * evfd.h - the wakeup both backends share: an eventfd the backend
 * watches, and a flag that coalesces concurrent wakeups into one write.
 * The write side is async-signal-safe (an atomic exchange and write(2)),
 * so wakeup() may be called from any thread and from signal handlers.
 */
#ifndef CIO_BACKEND_EVFD_H
#define CIO_BACKEND_EVFD_H

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "internal.h"

static inline int cio__evfd_wakeup(atomic_int *pending, int fd)
{
    if (atomic_exchange_explicit(pending, 1, memory_order_acq_rel))
        return 0;
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        return CIO__ERRNO();
    return 0;
}

/* The poll saw the eventfd readable: drain it, then accept new wakeups. */
static inline void cio__evfd_consume(atomic_int *pending, int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r;
    atomic_store_explicit(pending, 0, memory_order_release);
}

#endif
