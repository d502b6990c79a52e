/*
 * sys.h - the system-call seam: the calls through which cio moves bytes
 * and talks to the kernel's pollers go through these wrappers, so a test
 * can make the Nth call of a kind fail with a chosen errno (neco's
 * fail_counters.h, SQLite's DO_OS_MALLOC_TEST) and drive the error paths
 * of net/ and the backends on a real kernel, on both backends.
 *
 * Always compiled in (not only in a CIO_TESTING build): the suite then
 * tests the very code users run, and the price is a compare of one
 * process-wide counter with 0 and a not-taken branch (2 instructions)
 * beside a system call that costs a microsecond or more; docs/design.md
 * ("System-call fault injection", section 41) has the figures.
 * The wrappers keep each call's own convention (-1 and errno for the libc
 * calls, -errno for io_uring), so a call site changes only its name.
 *
 * Faults are per thread: a test arms them on the thread that runs its
 * loop, and a thread pool or another test's thread is never touched.
 * Checklist when routing a new call through the seam: add its CIO__SYS_*
 * kind and name (sys.c), its wrapper here, and a test that fails it.
 */
#ifndef CIO_CORE_SYS_H
#define CIO_CORE_SYS_H

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "internal.h"

enum {
    CIO__SYS_RECV = 0,     /* recv, recvmsg, and read on a stream that is a socket */
    CIO__SYS_SEND,         /* send, sendmsg */
    CIO__SYS_ACCEPT,       /* accept4 */
    CIO__SYS_CONNECT,      /* connect */
    CIO__SYS_READ,         /* read on a pipe or other non-socket */
    CIO__SYS_WRITE,        /* write, writev on a pipe */
    CIO__SYS_EPOLL_CTL,    /* epoll_ctl (epoll backend) */
    CIO__SYS_URING_SUBMIT, /* io_uring_submit* (io_uring backend) */
    CIO__SYS_URING_SEND,   /* a send queued as an io_uring request (the
                            * backend's completion-shaped send op) */
    CIO__SYS_NKINDS
};

/* Nonzero while this thread has a fault armed or is counting calls. */
extern _Thread_local int cio__sys_armed;
/* How many threads have cio__sys_armed set: the one thing the fast path
 * reads. A plain (hidden) global rather than the thread-local itself: a
 * thread-local in position-independent code costs an address
 * computation through %fs before the load (5 instructions a call), and a
 * global of default visibility one through the GOT; a hidden one is
 * "compare with 0, jump" (docs/design.md section 41). */
extern int cio__sys_fault_threads __attribute__((visibility("hidden")));

/* The slow path (some thread has faults armed): if this one has, counts
 * the call and returns the errno to inject (> 0); else, or to make the
 * real call, 0. */
int cio__sys_hit(int kind);

/* Arms kind on the calling thread: counting from now, calls nth ..
 * nth + times - 1 (nth >= 1) fail with err (a positive errno value).
 * Returns 0 or -EINVAL. */
int cio__sys_fail(int kind, long nth, int err, long times);
/* Disarms everything and resets the counters of the calling thread. */
void cio__sys_fail_reset(void);
/* Starts counting the calls of every kind without failing any (also done
 * by cio__sys_fail); cio__sys_calls reads the count since then. */
void cio__sys_count(void);
long cio__sys_calls(int kind);
/* "recv", "send"... for messages. */
const char *cio__sys_name(int kind);

/* The errno to inject into this call of kind, or 0. */
static inline int cio__sys_fault(int kind)
{
    return CIO_UNLIKELY(__atomic_load_n(&cio__sys_fault_threads,
                                        __ATOMIC_RELAXED))
               ? cio__sys_hit(kind)
               : 0;
}

#define CIO__SYS_CALL(kind, call)                                             \
    do {                                                                      \
        int e_ = cio__sys_fault(kind);                                        \
        if (CIO_UNLIKELY(e_)) {                                               \
            errno = e_;                                                       \
            return -1;                                                        \
        }                                                                     \
        return call;                                                          \
    } while (0)

static inline ssize_t cio__sys_recv(int fd, void *p, size_t n, int flags)
{
    CIO__SYS_CALL(CIO__SYS_RECV, recv(fd, p, n, flags));
}

static inline ssize_t cio__sys_send(int fd, const void *p, size_t n,
                                    int flags)
{
    CIO__SYS_CALL(CIO__SYS_SEND, send(fd, p, n, flags));
}

static inline ssize_t cio__sys_sendmsg(int fd, const struct msghdr *m,
                                       int flags)
{
    CIO__SYS_CALL(CIO__SYS_SEND, sendmsg(fd, m, flags));
}

static inline ssize_t cio__sys_recvmsg(int fd, struct msghdr *m, int flags)
{
    CIO__SYS_CALL(CIO__SYS_RECV, recvmsg(fd, m, flags));
}

static inline int cio__sys_accept4(int fd, struct sockaddr *sa,
                                   socklen_t *len, int flags)
{
    CIO__SYS_CALL(CIO__SYS_ACCEPT, accept4(fd, sa, len, flags));
}

static inline int cio__sys_connect(int fd, const struct sockaddr *sa,
                                   socklen_t len)
{
    CIO__SYS_CALL(CIO__SYS_CONNECT, connect(fd, sa, len));
}

static inline ssize_t cio__sys_read(int fd, void *p, size_t n)
{
    CIO__SYS_CALL(CIO__SYS_READ, read(fd, p, n));
}

static inline ssize_t cio__sys_writev(int fd, const struct iovec *iov, int n)
{
    CIO__SYS_CALL(CIO__SYS_WRITE, writev(fd, iov, n));
}

/* epoll_ctl, out of line (once per registration, never per event) so
 * that this header does not bring <sys/epoll.h> above src/backend/. */
struct epoll_event;
int cio__sys_epoll_ctl(int epfd, int op, int fd, struct epoll_event *e);

#endif
