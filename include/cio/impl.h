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
 * The byte-stream layer (second half of this header): a table of your
 * own operations (read-into, write, writev, shutdown-write, close,
 * pending) pushed on top of the byte stream of a cio socket, stream pair
 * or transport, as TLS is; from then on every byte those objects move
 * (readuntil, drain, data_received, sendall, ...) goes through your
 * operations, which move theirs through the stream below ("lower", the
 * descriptor's, or TLS's). Readiness stays the descriptor's, watched the
 * same way on epoll and io_uring: your operation returns -EAGAIN when the
 * lower stream did, and cio waits for that direction's next edge
 * (docs/design.md section 35).
 *
 *     static ssize_t xor_read(void *st, cio_bstream *lower, void *p,
 *                             size_t n)
 *     {
 *         ssize_t k = cio_bstream_read(lower, p, n);
 *         for (ssize_t i = 0; i < k; i++) ((char *)p)[i] ^= 0x5a;
 *         return k;
 *     }
 *     ... cio_stream_push_bstream(r, w, &xor_ops, NULL);
 */
#ifndef CIO_IMPL_H
#define CIO_IMPL_H

#include <sys/uio.h>

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

/* ---- byte streams ----
 *
 * A byte stream moves bytes in order, both ways, over one descriptor
 * whose readiness cio watches. cio's own are the descriptor's (recv and
 * send) and TLS's. A layer of yours sits on one of them: its operations
 * receive the stream below as `lower` and call cio_bstream_read/write/
 * writev/shutdown_write on it. The contract every operation keeps (cio's
 * streams, transports and sockets rely on it; a layer that breaks it can
 * make its owner wait for an edge that never comes):
 *
 *  read(state, lower, buf, len):  len > 0. Returns > 0 bytes put in buf;
 *      0 at the end of the stream (and again on every later call);
 *      -EAGAIN when nothing can be returned now, and only after a call of
 *      lower said -EAGAIN (so the descriptor's read readiness is off and
 *      the next edge wakes the waiter: keep reading lower until you have
 *      something to return or it says -EAGAIN); or another negative errno
 *      or CIO_E* code: the stream is broken, and its owner fails the
 *      connection with that code (a stream reader's reads, a transport's
 *      connection_lost, a socket call return it).
 *  write(state, lower, buf, len):  len > 0. Returns the bytes of buf
 *      taken (1..len: what is taken must reach lower, now or by later
 *      writes; a layer holding bytes back must keep them flowing on its
 *      next calls), -EAGAIN only after lower said -EAGAIN and with none
 *      taken, or a negative error as for read. A return of 0 is taken
 *      as a broken layer: the owner gets -EIO.
 *  writev(state, lower, iov, iovcnt):  as write, for iovcnt (1..IOV_MAX)
 *      buffers in order; NULL: cio calls write with the first non-empty
 *      one.
 *  shutdown_write(state, lower):  ends the write direction (send what
 *      the peer needs to see the end, then usually
 *      cio_bstream_shutdown_write(lower)). Returns 0 or a negative error.
 *      NULL: cio_bstream_shutdown_write(lower).
 *  close(state):  called once, when the owner closes or is freed: free
 *      state. Must not touch lower (cio closes it). NULL: nothing.
 *  pending(state):  bytes the layer holds that read returns without
 *      asking lower (decoded and not yet handed out). While it is > 0
 *      after a read, cio keeps the read direction ready, so no task waits
 *      for the descriptor while the layer holds data. NULL: always 0.
 *  flags:  CIO_BSTREAM_SHORT_IS_FULL if a write that takes fewer than len
 *      bytes means lower's descriptor is full (its next write would say
 *      -EAGAIN: a layer that passes write straight through, byte for
 *      byte); cio then waits for the write edge without asking. Leave it
 *      0 if a write may be short for other reasons (a record or frame at
 *      a time, a bounded buffer): it only costs a -EAGAIN call.
 *
 * Every operation runs on the loop's thread, inside a task or a loop
 * callback, and must not suspend (no cio_sleep, no awaiting): it is a
 * try, and cio does the waiting. */

/* A byte stream as a layer's operations see it (the one below). */
typedef struct cio_bstream cio_bstream;

#define CIO_BSTREAM_SHORT_IS_FULL 1u

/* A layer's operations (the contract above). read and write are
 * required; the table and state are what the push calls take. */
typedef struct cio_bstream_ops {
    ssize_t (*read)(void *state, cio_bstream *lower, void *buf, size_t len);
    ssize_t (*write)(void *state, cio_bstream *lower, const void *buf,
                     size_t len);
    ssize_t (*writev)(void *state, cio_bstream *lower, const struct iovec *iov,
                      int iovcnt);
    int (*shutdown_write)(void *state, cio_bstream *lower);
    void (*close)(void *state);
    size_t (*pending)(const void *state);
    unsigned flags; /* CIO_BSTREAM_SHORT_IS_FULL or 0 */
} cio_bstream_ops;

/* Reads up to len bytes (buf borrowed for the call) from s, the stream
 * below a layer, without waiting. Returns: > 0 bytes, 0 at the end of
 * the stream. Errors: -EAGAIN (nothing now: the read readiness is off
 * until the next edge), -EBADF (closed), -EINVAL (NULL, len 0), or the
 * stream's -errno / CIO_E* code. Never suspends. */
CIO_API ssize_t cio_bstream_read(cio_bstream *s, void *buf, size_t len);

/* Writes up to len bytes of buf (borrowed for the call) to s without
 * waiting. Returns: the bytes taken (maybe fewer than len). Errors:
 * -EAGAIN (none taken: the write readiness is off until the next edge),
 * -EPIPE / -ECONNRESET and the like, -EBADF, -EINVAL. Never raises
 * SIGPIPE. Never suspends. */
CIO_API ssize_t cio_bstream_write(cio_bstream *s, const void *buf, size_t len);

/* cio_bstream_write for iovcnt (1..IOV_MAX) buffers in order (iov and
 * its buffers borrowed for the call). Returns and Errors: as
 * cio_bstream_write. Never suspends. */
CIO_API ssize_t cio_bstream_writev(cio_bstream *s, const struct iovec *iov,
                                   int iovcnt);

/* Ends s's write direction (a socket's shutdown(SHUT_WR), TLS's
 * close_notify). Returns: 0. Errors: -ENOTSUP (a pipe: only closing
 * ends it), -EINVAL, -errno. Never suspends. */
CIO_API int cio_bstream_shutdown_write(cio_bstream *s);

/* Returns: bytes s returns from its next read without asking the kernel
 * (0 for the descriptor's stream and for NULL). */
CIO_API size_t cio_bstream_pending(const cio_bstream *s);

/* Returns: the descriptor under s (for getsockopt and the like: reading
 * or writing it directly bypasses the layers), or -EINVAL for NULL. */
CIO_API int cio_bstream_fileno(const cio_bstream *s);

/* Pushes the layer (ops, state) on top of the awaitable socket s's byte
 * stream (a connected SOCK_STREAM socket; over TLS if started): from now
 * on recv, send, sendall, sendallv and try_writev go through ops, and
 * shutdown(SHUT_WR) calls ops->shutdown_write. ops is borrowed and must
 * outlive s; state is taken on success (ops->close frees it when s is
 * closed), stays the caller's on failure. Returns: 0. Errors: -EINVAL
 * (NULL s or ops, no read or write op, not SOCK_STREAM, called from
 * another thread), -EBADF (closed), -EBUSY (a layer is already pushed, or
 * a call is suspended on s), -ENOMEM. Afterwards recv/send with flags or
 * addresses, start_tls and sendfile give -EINVAL / -ENOTSUP. Never
 * suspends. */
CIO_API int cio_socket_push_bstream(cio_socket *s, const cio_bstream_ops *ops,
                                    void *state);

/* Pushes the layer (ops, state) on top of the byte stream under a stream
 * pair (r and w from one cio_open_connection, cio_stream_open_fd, server
 * handler...; either may be NULL for a reader or writer alone): every
 * read, readuntil, write, drain and write_eof goes through ops from now
 * on. Nothing may be buffered yet: the reader must hold no unread bytes
 * and the writer none unsent (drain first). ops is borrowed and must
 * outlive the streams; state is taken on success (ops->close frees it
 * when the descriptor closes), stays the caller's on failure. Returns:
 * 0. Errors: -EINVAL (both NULL, r and w of different streams, NULL ops,
 * no read or write op, a reader made by cio_stream_reader_new, outside a
 * task of the loop), -EBUSY (bytes buffered, or a layer already pushed),
 * -EPIPE (closed, or the write side ended), the connection's error,
 * -ENOMEM. Afterwards start_tls gives -EINVAL. Never suspends. */
CIO_API int cio_stream_push_bstream(cio_stream_reader *r, cio_stream_writer *w,
                                    const cio_bstream_ops *ops, void *state);

/* cio_transport_from_fd with the layer (ops, state) on top of the
 * descriptor's byte stream from the start: the protocol's data_received
 * gets what ops->read returns, cio_transport_write and friends go through
 * ops->write/writev, write_eof through ops->shutdown_write. The transport
 * moves its bytes in readiness mode on both backends (never io_uring's
 * completion mode, which reads into the backend's buffers). fd is taken
 * on success; ops is borrowed and must outlive the transport; state is
 * taken on success (ops->close frees it when the transport closes), stays
 * the caller's on failure; *out (may be NULL) is borrowed until
 * connection_lost returns. Returns: 0. Errors: as cio_transport_from_fd,
 * plus -EINVAL for NULL ops or no read or write op. */
CIO_API int cio_transport_from_bstream(cio_loop *loop, int fd,
                                       const cio_bstream_ops *ops, void *state,
                                       cio_protocol_factory factory, void *arg,
                                       const cio_conn_opts *opts,
                                       cio_transport **out);

#ifdef __cplusplus
}
#endif

#endif
