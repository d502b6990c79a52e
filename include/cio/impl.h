/*
 * cio/impl.h - for writing your own transports and byte streams on cio
 * (as libdill's libdillimpl.h is for libdill): the awaitable descriptor
 * that cio's own streams, transports and sockets are built on, exposed so
 * that code driving a descriptor cio does not own (a protocol library
 * with its own socket, a device, an inotify or timerfd descriptor, a byte
 * stream of your own) can wait for it from a task the way cio does.
 * Not included by cio.h: include it after, or instead of, cio.h.
 *
 * The contract (edge-triggered, the one cio uses everywhere): register
 * the non-blocking descriptor once with cio_afd_open; try the system call
 * first; only when it says EAGAIN call cio_afd_clear for that direction
 * and then cio_afd_wait, which returns when the next edge arrives; loop.
 * A read that returned less than asked may clear the read direction too
 * (the kernel queue is empty), saving the EAGAIN call. A busy descriptor
 * thus costs no registration call between its reads and writes, on epoll
 * and on io_uring alike.
 *
 *     cio_afd *a;
 *     cio_afd_open(&a, loop, fd);
 *     for (;;) {
 *         ssize_t n = read(fd, buf, sizeof(buf));
 *         if (n >= 0) break;
 *         if (errno != EAGAIN) { ...error... }
 *         cio_afd_clear(a, CIO_EVENT_READ);
 *         if ((r = cio_afd_wait(a, CIO_EVENT_READ)) < 0) { ...cancelled... }
 *     }
 *     cio_afd_close(a);     (then close(fd) yourself)
 *
 * What is not here yet: the byte-stream operations table itself
 * (read-into, write, writev, shutdown-write, close, pending) that cio's
 * streams and transports call, and constructors of streams and
 * transports over a byte stream of yours. They stay internal until TLS,
 * their second implementation, has fixed the contract
 * (docs/design.md sections 22 and 32).
 */
#ifndef CIO_IMPL_H
#define CIO_IMPL_H

#include "cio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* An awaitable descriptor: fd registered on one loop, edge-triggered,
 * both directions, with a "ready" bit per direction that an edge sets and
 * cio_afd_clear clears. Touched only from its loop's thread. */
typedef struct cio_afd cio_afd;

/* Registers fd (made non-blocking here if it is not) on loop and marks
 * both directions ready (try the call first). fd is borrowed: it stays
 * the caller's, who closes it after cio_afd_close. Returns: 0 and *out.
 * Errors: -EINVAL (NULL, fd < 0, closed loop, wrong thread), -EBUSY (a
 * cio socket, stream, transport, add_reader or another cio_afd already
 * uses fd on loop), -EPERM (fd cannot be polled, e.g. a regular file),
 * -ENOMEM, -errno; *out is NULL on failure. Never suspends. */
CIO_API int cio_afd_open(cio_afd **out, cio_loop *loop, int fd);

/* Waits until direction `event` (CIO_EVENT_READ or CIO_EVENT_WRITE) is
 * ready: returns at once if its bit is set, else suspends until the next
 * edge (readiness, end of file, an error or a hang-up all count: the
 * retried call then tells which). One task at a time per direction.
 * Returns: 0. Errors: -ECANCELED, -EBADF (cio_afd_close was called, also
 * while waiting), -EBUSY (another task waits in that direction), -EINVAL
 * (NULL, bad event, outside a task of the loop). Suspends. */
CIO_API int cio_afd_wait(cio_afd *a, unsigned event);

/* After the system call said EAGAIN (or a short read): forgets the
 * readiness of the directions in events until the next edge. NULL is
 * ignored. */
CIO_API void cio_afd_clear(cio_afd *a, unsigned events);

/* Returns: the directions currently marked ready (CIO_EVENT_READ |
 * CIO_EVENT_WRITE), 0 for NULL or a closed one. */
CIO_API unsigned cio_afd_ready(const cio_afd *a);

/* Unregisters the descriptor (not closed: it is the caller's), wakes a
 * task waiting on it with -EBADF, and frees a. A waiting task is woken
 * from the loop and must not touch a afterwards. NULL is ignored.
 * Returns: 0. Errors: -EINVAL (wrong thread). */
CIO_API int cio_afd_close(cio_afd *a);

#ifdef __cplusplus
}
#endif

#endif
