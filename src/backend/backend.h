/*
 * backend.h - the only contract between the loop and a kernel backend.
 *
 * The loop sees a backend through this ops table and nothing else: no
 * layer above src/backend/ knows whether epoll or io_uring runs. Checklist
 * when adding a member: implement it in every backend (epoll.c,
 * uring.c; optional members may be NULL), document it in docs/backends.md.
 *
 * Readiness is reported through cio__io watchers embedded in their owners:
 * the backend calls io->cb(io, revents) from poll(). Sockets, streams and
 * transports use it edge-triggered (CIO__EV_EDGE, src/net/afd.h); the
 * poller and the selector level-triggered. io_uring adds optional
 * completion-shaped socket operations; docs/backends.md has the rest.
 */
#ifndef CIO_BACKEND_H
#define CIO_BACKEND_H

#include <stdint.h>

#define CIO__EV_READ 0x1u
#define CIO__EV_WRITE 0x2u
#define CIO__EV_ERROR 0x4u /* error or hang-up: wake both directions */
#define CIO__EV_EDGE 0x8u  /* interest flag: report transitions only */
/* Reported with READ: the peer will send nothing more (socket FIN, pipe
 * writer gone). Edge-triggered readers need it to stop at a short read:
 * a FIN coalesced with the last data raises no edge of its own. */
#define CIO__EV_RDHUP 0x10u

typedef struct cio__io cio__io;
struct cio__io {
    void (*cb)(cio__io *io, unsigned revents);
    int fd;
    unsigned events; /* current interest, CIO__EV_* */
};

typedef struct cio__backend cio__backend;

/* A completion-shaped operation, embedded in its owner (a transport). */
typedef struct cio__uop cio__uop;
struct cio__uop {
    /* res: bytes, 0 or -errno; more: another completion of this op will
     * follow; buf/id: a received chunk (recv only). */
    void (*cb)(cio__uop *op, int res, int more, char *buf, unsigned id);
    /* backend-private */
    cio__uop *bnext;
    int fd;
    unsigned bstate;
};

typedef struct cio__backend_ops {
    const char *name;
    /* Returns 0 or -errno; *out set on success. */
    int (*init)(cio__backend **out);
    void (*fini)(cio__backend *b);
    /* Interest management; events is CIO__EV_READ|CIO__EV_WRITE. */
    int (*fd_add)(cio__backend *b, cio__io *io, unsigned events);
    int (*fd_mod)(cio__backend *b, cio__io *io, unsigned events);
    int (*fd_del)(cio__backend *b, cio__io *io);
    /* Waits up to timeout_ns (-1: forever, 0: don't block; rounded up to
     * the backend's resolution) and dispatches ready watchers. Returns the
     * number of watchers dispatched plus 1 if a wakeup was consumed, or
     * -errno (EINTR is returned as 0). */
    int (*poll)(cio__backend *b, int64_t timeout_ns);
    /* Makes a concurrent or future poll return; callable from any thread
     * and from signal handlers. Returns 0 or -errno. */
    int (*wakeup)(cio__backend *b);

    /* ---- optional: completion-shaped socket operations (io_uring) ----
     * NULL on backends without them; caps() says whether this instance
     * can run them (the kernel may lack a feature). Ops complete through
     * op->cb from poll(); an op's owner keeps it alive until a completion
     * with more == 0. */
    unsigned (*caps)(cio__backend *b);
    /* Unsubmitted work waits for the next poll: the loop polls (timeout 0)
     * instead of skipping the poll on a busy iteration. */
    int (*pending)(cio__backend *b);
    /* Multishot receive on a stream socket into the backend's buffers:
     * one completion per chunk (res > 0, buf/id: the bytes, to give back
     * with buf_put once consumed), then a final one (0 at EOF, -errno). */
    int (*recv)(cio__backend *b, cio__uop *op, int fd);
    /* One send(MSG_NOSIGNAL) of p[0..n) (which must stay untouched until
     * the completion): res = bytes sent (maybe fewer than n) or -errno. */
    int (*send)(cio__backend *b, cio__uop *op, int fd, const void *p,
                size_t n);
    /* Cancels op's operations; their final completion follows (-ECANCELED
     * or their natural result). Submitted at once, so a close(fd) right
     * after it really closes the socket. */
    int (*cancel)(cio__backend *b, cio__uop *op);
    void (*buf_put)(cio__backend *b, unsigned id);
    /* At loop close: cancels whatever is in the kernel and delivers the
     * final completion of every op (their owners drop their references);
     * watchers are not called. */
    void (*drain)(cio__backend *b);
} cio__backend_ops;

#define CIO__CAP_SOCK_OPS 0x1u /* recv/send/cancel/buf_put work */

extern const cio__backend_ops cio__backend_epoll;
extern const cio__backend_ops cio__backend_uring;

/* Picks a backend: kind 0 = auto (CIO_BACKEND env var, then the best
 * available), 1 = epoll, 2 = io_uring. Returns NULL if unavailable. */
const cio__backend_ops *cio__backend_select(int kind);

#endif
