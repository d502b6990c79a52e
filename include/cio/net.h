/*
 * cio/net.h - addresses, name resolution and awaitable sockets (curio's
 * socket module, asyncio's loop.sock_* calls). Included by cio.h; do not
 * include directly.
 *
 * A cio_socket is a non-blocking descriptor registered once with its loop.
 * Every call tries the system call first and suspends only the calling
 * task, and only when the kernel says EAGAIN. Sends always pass
 * MSG_NOSIGNAL, so a closed peer gives -EPIPE instead of SIGPIPE. Stream
 * sockets of the inet families get TCP_NODELAY when they connect or are
 * accepted, as asyncio does. The streams, transports and servers are built
 * on the same descriptor and the same address helpers.
 */
#ifndef CIO_NET_H
#define CIO_NET_H

#ifndef CIO_H
#error "include cio.h, not cio/net.h"
#endif

#include <sys/socket.h>

#ifdef __cplusplus
extern "C" {
#endif

struct addrinfo;

/* ======================================================================
 * Addresses
 * A cio_sockaddr is a small value type: the address bytes and their
 * length, copied freely. Only AF_INET and AF_INET6 are formatted and
 * parsed; other families are carried opaquely.
 * ====================================================================== */

typedef struct cio_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len; /* 0: empty */
} cio_sockaddr;

/* Enough for "[ffff:...:ffff%interface]:65535" and a NUL. */
#define CIO_ADDRSTRLEN 80

/* Makes an address from a numeric host ("127.0.0.1", "::1", "fe80::1%lo";
 * NULL or "" is the IPv4 wildcard 0.0.0.0, "::" the IPv6 one) and a port
 * (0-65535). Never resolves names. ip is borrowed for the call.
 * Returns: 0. Errors: -EINVAL (not a numeric address, bad port, NULL
 * out). */
CIO_API int cio_sockaddr_from_ip(cio_sockaddr *out, const char *ip, int port);

/* Parses "host:port" text as cio_sockaddr_format writes it:
 * "127.0.0.1:8080", "[::1]:8080", "[fe80::1%lo]:80"; the host must be
 * numeric. text is borrowed for the call. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_sockaddr_parse(cio_sockaddr *out, const char *text);

/* Copies a kernel address (sa borrowed for the call, len bytes). Returns:
 * 0. Errors: -EINVAL (NULL, len 0 or larger than sockaddr_storage). */
CIO_API int cio_sockaddr_set(cio_sockaddr *out, const struct sockaddr *sa,
                             socklen_t len);

/* Writes "host:port" ("[v6]:port" for IPv6, with "%scope" when set) into
 * buf (cap bytes, CIO_ADDRSTRLEN is always enough), NUL-terminated.
 * Returns: the length written, without the NUL. Errors: -EINVAL (NULL,
 * empty address), -EAFNOSUPPORT (not inet), -ENOSPC (cap too small; buf
 * then holds an empty string). */
CIO_API int cio_sockaddr_format(const cio_sockaddr *a, char *buf, size_t cap);

/* Returns: the port (0-65535). Errors: -EINVAL (NULL, not inet). */
CIO_API int cio_sockaddr_port(const cio_sockaddr *a);

/* Returns: the family (AF_INET, AF_INET6...), AF_UNSPEC (0) for an empty
 * address. Errors: -EINVAL on NULL. */
CIO_API int cio_sockaddr_family(const cio_sockaddr *a);

/* ======================================================================
 * Name resolution
 * Numeric hosts are converted inline; names go to getaddrinfo on the
 * running loop's default executor (cio_to_thread's pool), so the loop
 * never blocks on DNS or /etc/hosts.
 * ====================================================================== */

/* asyncio's loop.getaddrinfo: resolves host (NULL: the wildcard or
 * loopback address, as getaddrinfo's AI_PASSIVE says) and port (a number
 * or a service name; NULL: port 0) for family (AF_UNSPEC, AF_INET,
 * AF_INET6), socktype (0, SOCK_STREAM, SOCK_DGRAM) and getaddrinfo flags
 * (AI_PASSIVE...). host and port are copied. If the calling task is
 * cancelled while a worker thread resolves, the task gets -ECANCELED at
 * once and the late answer is freed by the worker. Returns: 0 and *out, a
 * list the caller frees with freeaddrinfo(3). Errors: CIO_ERESOLVE,
 * -ENOMEM, -EINVAL (NULL out, outside a task, bad flags), -ECANCELED,
 * -errno (EAI_SYSTEM). Suspends. */
CIO_API int cio_getaddrinfo(const char *host, const char *port, int family,
                            int socktype, int flags, struct addrinfo **out);

/* ======================================================================
 * Awaitable sockets (curio style)
 * cio_socket_open/_close own the descriptor. Calls that wait take effect
 * on the running loop, which must be the socket's loop. At most one task
 * may wait to read and one to write on a socket at a time (-EBUSY for a
 * second one). Closing a socket that other tasks wait on wakes them with
 * -EBADF; its memory lives until the last of them has returned.
 * ====================================================================== */

typedef struct cio_socket cio_socket;

/* socket(2) with SOCK_NONBLOCK|SOCK_CLOEXEC added, registered on loop.
 * Returns: 0 and *out. Errors: -EINVAL (NULL, closed loop, wrong thread),
 * -ENOMEM, -EMFILE, -ENFILE, -EAFNOSUPPORT, -EPROTONOSUPPORT, -errno;
 * *out is NULL on failure. */
CIO_API int cio_socket_open(cio_socket **out, cio_loop *loop, int family,
                            int type, int protocol);

/* Wraps an existing socket descriptor: takes fd on success (it is made
 * non-blocking and close-on-exec, and closed by cio_socket_close); on
 * failure fd stays the caller's. Returns: 0 and *out. Errors: -EINVAL,
 * -EBUSY (fd already used on this loop), -ENOTSOCK, -ENOMEM, -errno. */
CIO_API int cio_socket_from_fd(cio_socket **out, cio_loop *loop, int fd);

/* Closes the descriptor and frees the socket (NULL is ignored). Tasks
 * waiting on it wake with -EBADF and the memory goes when the last of
 * them returns. After cio_socket_close_on_exit, the descriptor is closed
 * now and the memory at the task's exit, so closing twice is harmless.
 * Call it before the socket's loop is closed. Returns: 0. Errors: -EINVAL
 * (wrong thread). */
CIO_API int cio_socket_close(cio_socket *s);

/* curio's `async with sock:` in one line: closes s when the calling task
 * exits, however it exits (return, error, cancellation), through
 * cio_task_defer. s is borrowed until then. Returns: 0. Errors: -EINVAL
 * (NULL, outside a task, already registered), -ENOMEM (nothing
 * registered: close s yourself). */
CIO_API int cio_socket_close_on_exit(cio_socket *s);

/* Returns: the descriptor (borrowed: never close it yourself), or -EBADF
 * once closed. Errors: -EINVAL on NULL. */
CIO_API int cio_socket_fileno(const cio_socket *s);

/* Returns: the socket's loop (borrowed), NULL for NULL. */
CIO_API cio_loop *cio_socket_loop(const cio_socket *s);

/* setsockopt(2); val borrowed for the call. Returns: 0. Errors: -EBADF,
 * -EINVAL, -ENOPROTOOPT, -errno. */
CIO_API int cio_socket_setsockopt(cio_socket *s, int level, int name,
                                  const void *val, socklen_t len);

/* setsockopt(2) with an int value, curio's setsockopt(SOL_SOCKET,
 * SO_REUSEADDR, 1). Returns/Errors: as cio_socket_setsockopt. */
CIO_API int cio_socket_setsockopt_int(cio_socket *s, int level, int name,
                                      int value);

/* getsockopt(2): *len in, bytes written out. Returns: 0. Errors: -EBADF,
 * -EINVAL, -ENOPROTOOPT, -errno. */
CIO_API int cio_socket_getsockopt(cio_socket *s, int level, int name,
                                  void *val, socklen_t *len);

/* bind(2) to addr (borrowed for the call). Returns: 0. Errors: -EBADF,
 * -EINVAL, -EADDRINUSE, -EACCES, -errno. */
CIO_API int cio_socket_bind(cio_socket *s, const cio_sockaddr *addr);

/* curio's bind((host, port)): host numeric, NULL or "" for the wildcard
 * of the socket's family. Returns/Errors: as cio_socket_bind. */
CIO_API int cio_socket_bind_ip(cio_socket *s, const char *host, int port);

/* listen(2). backlog < 0: SOMAXCONN. Returns: 0. Errors: -EBADF, -errno. */
CIO_API int cio_socket_listen(cio_socket *s, int backlog);

/* Waits for a connection (accept4 with SOCK_NONBLOCK|SOCK_CLOEXEC). The
 * new socket is on the same loop and has TCP_NODELAY when it is TCP. peer
 * may be NULL. When the process runs out of descriptors (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM) the call does not spin: it sleeps 1 ms, doubling to
 * 100 ms while the shortage lasts, and wakes early when a cio_socket of
 * this thread is closed; then it retries. Returns: 0, *out (one new
 * socket the caller closes) and *peer. Errors: -EBADF (closed, also while
 * waiting), -EINVAL (not listening, outside a task, other loop),
 * -ECANCELED, -EBUSY (another task accepts), -errno. Suspends. */
CIO_API int cio_socket_accept(cio_socket *s, cio_socket **out,
                              cio_sockaddr *peer);

/* Connects to addr (borrowed for the call): on EINPROGRESS waits until
 * writable and reads SO_ERROR. A TCP socket gets TCP_NODELAY. Use a
 * cio_timeout scope for a deadline; a cancelled connect leaves the socket
 * unusable (close it). Returns: 0. Errors: -ECONNREFUSED, -ETIMEDOUT,
 * -ENETUNREACH, -EADDRNOTAVAIL, -EISCONN, -EALREADY, -EBADF, -ECANCELED,
 * -EINVAL (outside a task), -errno. Suspends. */
CIO_API int cio_socket_connect(cio_socket *s, const cio_sockaddr *addr);

/* curio's open_connection / socket.create_connection: resolves host
 * without blocking the loop (cio_getaddrinfo, AF_UNSPEC, TCP), then tries
 * each address in order until one connects to port (a number, 0..65535,
 * as every port in cio's API; a service name goes through
 * cio_getaddrinfo). The socket is on the running loop with TCP_NODELAY.
 * host borrowed for the call. Returns: 0 and *out (the caller closes it).
 * Errors: CIO_ERESOLVE, the last address's connect error
 * (-ECONNREFUSED...), -ECANCELED, -EINVAL (NULL, outside a task, bad
 * port), -ENOMEM. Suspends. */
CIO_API int cio_socket_create_connection(cio_socket **out, const char *host,
                                         int port);

/* Receives up to len bytes into buf (borrowed until return); this is
 * also Python's recv_into. Waits only when nothing is there. Returns: the
 * number of bytes, 0 at end of stream (or when len is 0). Errors:
 * -ECONNRESET, -EBADF (closed, also while waiting), -ECANCELED, -EBUSY
 * (another task reads), -EINVAL (outside a task), -errno. Suspends. */
CIO_API ssize_t cio_socket_recv(cio_socket *s, void *buf, size_t len,
                                int flags);

/* Like cio_socket_recv, also storing the sender's address (from may be
 * NULL) for datagram sockets. Returns/Errors: as cio_socket_recv.
 * Suspends. */
CIO_API ssize_t cio_socket_recvfrom(cio_socket *s, void *buf, size_t len,
                                    int flags, cio_sockaddr *from);

/* Sends up to len bytes of buf (borrowed until return), waiting only
 * while the socket buffer is full. Returns: the number of bytes sent (at
 * least 1 when len > 0). Errors: -EPIPE, -ECONNRESET, -EBADF, -ECANCELED,
 * -EBUSY (another task writes), -EINVAL, -errno. Suspends. */
CIO_API ssize_t cio_socket_send(cio_socket *s, const void *buf, size_t len,
                                int flags);

/* sendto(2) for datagram sockets (to borrowed for the call). Returns/
 * Errors: as cio_socket_send. Suspends. */
CIO_API ssize_t cio_socket_sendto(cio_socket *s, const void *buf, size_t len,
                                  int flags, const cio_sockaddr *to);

/* Sends all len bytes, waiting whenever the socket buffer is full.
 * Returns: 0 once everything was handed to the kernel. Errors: as
 * cio_socket_send; after an error (cancellation included) an unknown
 * prefix of buf was sent. Suspends. */
CIO_API int cio_socket_sendall(cio_socket *s, const void *buf, size_t len,
                               int flags);

/* sendfile(2): sends count bytes (0: until end of file) of in_fd
 * (borrowed), starting at *offset and advancing it, waiting whenever the
 * socket buffer is full (asyncio's loop.sock_sendfile). Returns: the
 * number of bytes sent (less than count only at end of file). Errors:
 * -EPIPE, -EBADF, -EINVAL, -ECANCELED, -errno; *offset then counts what
 * was sent. Suspends. */
CIO_API ssize_t cio_socket_sendfile(cio_socket *s, int in_fd, off_t *offset,
                                    size_t count);

/* shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR (write_eof is SHUT_WR).
 * Returns: 0. Errors: -EBADF, -ENOTCONN, -EINVAL. */
CIO_API int cio_socket_shutdown(cio_socket *s, int how);

/* getsockname(2) into *out. Returns: 0. Errors: -EBADF, -EINVAL. */
CIO_API int cio_socket_getsockname(cio_socket *s, cio_sockaddr *out);

/* getpeername(2) into *out. Returns: 0. Errors: -EBADF, -ENOTCONN,
 * -EINVAL. */
CIO_API int cio_socket_getpeername(cio_socket *s, cio_sockaddr *out);

#ifdef __cplusplus
}
#endif

#endif
