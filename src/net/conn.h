/*
 * conn.h - what streams (stream.c), transports (transport.c), servers
 * (server.c) and the connect helper (conn.c) share: the write buffer, the
 * byte-moving system calls with their SIGPIPE rule, and the server
 * object, whose connections of either kind are linked into it through a
 * cio__srvlink so close_clients and wait_closed need not know which kind
 * they hold.
 */
#ifndef CIO_NET_CONN_H
#define CIO_NET_CONN_H

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "net/addr.h"
#include "net/afd.h"
#include "net/bstream.h"
#include "sync/waitq.h"

#define CIO__DEF_LIMIT (64 * 1024)
#define CIO__DEF_HIGH (64 * 1024)
#define CIO__DEF_LOW (16 * 1024)
#define CIO__DEF_READ (64 * 1024)

/* Fills in the defaults of o (NULL: all defaults) into out (which may be
 * o). Returns 0 or -EINVAL (low > high). */
int cio__conn_opts_fix(const cio_conn_opts *o, cio_conn_opts *out);

/* asyncio's _set_write_buffer_limits: CIO_LIMIT_DEFAULT is "not given"
 * (high: 64 KiB, or 4 * low when low is given; low: high / 4); 0 is a
 * real zero. Returns 0 and *oh, *ol, or -EINVAL (low > high). */
int cio__limits_fix(size_t high, size_t low, size_t *oh, size_t *ol);

/* ---- the write buffer: the unsent tail, contiguous ---- */

typedef struct cio__wbuf {
    char *p;
    size_t start, end, cap;
} cio__wbuf;

static inline size_t cio__wbuf_len(const cio__wbuf *b)
{
    return b->end - b->start;
}

/* The write-buffer hard cap (cio_conn_opts.write_cap), the one place it
 * is decided: may a write of n bytes join the `unsent` ones under cap
 * (0: no cap)? Asked before any byte of the write is tried, so a refused
 * write leaves nothing behind. Returns 0 or -ENOBUFS. */
static inline int cio__wbuf_admit(size_t unsent, size_t n, size_t cap)
{
    if (CIO_LIKELY(!cap))
        return 0;
    return unsent <= cap && n <= cap - unsent ? 0 : -ENOBUFS;
}

/* cio__wbuf_admit for the n buffers of iov together. */
static inline int cio__wbuf_admitv(size_t unsent, const struct iovec *iov,
                                   size_t n, size_t cap)
{
    if (CIO_LIKELY(!cap))
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (iov[i].iov_len > cap - total)
            return -ENOBUFS;
        total += iov[i].iov_len;
    }
    return cio__wbuf_admit(unsent, total, cap);
}

/* Appends n bytes. Returns 0 or -ENOMEM. */
int cio__wbuf_append(cio__wbuf *b, const void *data, size_t n);
void cio__wbuf_free(cio__wbuf *b);

/* Writes what b holds to s until it is empty or s says -EAGAIN (s then
 * waits for its write edge). Returns 0 (*again tells -EAGAIN) or -errno. */
int cio__wbuf_flush(cio__wbuf *b, cio__bstream *s, int *again);

/* 1 if fd is a socket, 0 if not. */
int cio__fd_is_sock(int fd);

/* Makes f a byte stream over fd and registers the descriptor in callback
 * mode with both directions marked ready ("try the system call first").
 * Returns 0 or the error of cio__afd_open. */
int cio__conn_register(cio__fdstream *f, cio_loop *loop, int fd,
                       void (*on_event)(cio__afd *a, unsigned revents));

/* Connects a new non-blocking stream socket to host:port (resolved with
 * cio__resolve) through the afd a, opened on the running loop in task
 * mode and left open on success; then arms it like cio__conn_register
 * (on_event, both directions ready: the first read or write is tried
 * before any wait). Tries each address in the order opts->interleave
 * gives, one after the other, or raced with Happy Eyeballs when
 * opts->happy_eyeballs_delay > 0 (opts may be NULL: defaults). Returns 0
 * and *fd, or the last address's error (-EINVAL for bad opts).
 * Suspends. */
int cio__conn_connect(cio__afd *a, const char *host, int port,
                      const cio_conn_opts *opts,
                      void (*on_event)(cio__afd *a, unsigned revents),
                      int *fd);

/* The same for one address (a Unix socket path): socket of addr's
 * family, connect, wait. Returns 0 and *fd, or an error. Suspends. */
int cio__conn_connect_addr(cio__afd *a, const struct sockaddr *addr,
                           socklen_t len,
                           void (*on_event)(cio__afd *a, unsigned revents),
                           int *fd);

/* ---- the server ---- */

typedef struct cio__srvlink cio__srvlink;
struct cio__srvlink {
    cio__list link;
    cio_server *srv;
    /* Closes the connection (abort: discard buffered output). */
    void (*close)(cio__srvlink *l, int abort);
};

enum { CIO__SRV_STREAMS = 1, CIO__SRV_PROTOCOL = 2 };

typedef struct cio__listener {
    cio__afd afd;
    int fd;
    int family;
    int registered;
    int keep; /* on failure: the caller's (use_sock), not closed */
    cio__handle *h; /* queued accept run */
    int starved; /* out of descriptors, reported: quiet until drained */
    cio_server *srv;
} cio__listener;

struct cio_server {
    cio_loop *loop;
    uint32_t refs; /* the caller's, one per live connection, queued runs */
    int kind;
    cio_stream_handler handler;
    cio_protocol_factory factory;
    void *arg;
    cio_conn_opts conn;
    int backlog;
    cio__listener *ls;
    size_t nls;
    int serving, closed, freed;
    cio__list conns;
    size_t nconns;
    cio__waitq closed_wq;  /* wait_closed */
    cio__waitq forever_wq; /* serve_forever */
    /* A Unix server's socket file, removed when the server closes if it
     * is still the one bound (same device and inode); NULL: none, an
     * abstract name, or CIO_UNIX_KEEP_FILE. */
    char *unix_path;
    dev_t unix_dev;
    ino_t unix_ino;
};

/* Makes a server listening on host:port (or opts->sock). Suspends only to
 * resolve a host name. */
int cio__server_open(cio_loop *loop, int kind, void *fn, void *arg,
                     const char *host, int port, const cio_server_opts *opts,
                     cio_server **out);

/* A connection of s starts / ends (it holds a reference on s meanwhile;
 * the end may wake wait_closed and free s). */
void cio__server_link(cio_server *s, cio__srvlink *l);
void cio__server_unlink(cio__srvlink *l);

/* Called by the server for each accepted descriptor (takes fd on success;
 * on failure the server closes it). */
int cio__stream_accepted(cio_server *s, int fd);
int cio__transport_accepted(cio_server *s, int fd);

#endif
