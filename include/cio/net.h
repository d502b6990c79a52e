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
#include <sys/uio.h>

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
 * Numeric hosts are converted inline. Names go to the loop's c-ares
 * resolver by default: asynchronous DNS driven by the loop's poller and
 * timers, no thread per lookup, honouring /etc/hosts ($CARES_HOSTS
 * overrides the path), resolv.conf's servers, search domains and options,
 * files first then DNS. cio_resolver_configure (or the environment
 * variable CIO_RESOLVER=getaddrinfo) switches a loop to getaddrinfo(3) on
 * its default executor instead, which also honours nsswitch.conf (mDNS,
 * LDAP, systemd-resolved...). Every call that takes a host name
 * (cio_getaddrinfo, cio_socket_create_connection, cio_open_connection,
 * cio_create_connection, cio_start_server, cio_create_server) resolves
 * through the loop's choice. Failures are CIO_EDNS_* codes (cio/errno.h).
 * ====================================================================== */

typedef enum cio_resolver_kind {
    CIO_RESOLVER_ARES = 0,       /* c-ares on the loop (default) */
    CIO_RESOLVER_GETADDRINFO = 1 /* getaddrinfo(3) on the thread pool */
} cio_resolver_kind;

typedef struct cio_resolver_opts {
    cio_resolver_kind kind;
    /* c-ares only. Name servers as "ip[:port],[ip6]:port,..." (NULL: those
     * of resolv.conf). */
    const char *servers;
    /* A resolv.conf-format file read instead of /etc/resolv.conf (NULL:
     * the system's). */
    const char *resolv_conf;
    int timeout_ms; /* first try's timeout (0: resolv.conf's or 2000) */
    int tries;      /* tries per server (0: resolv.conf's or 3) */
} cio_resolver_opts;

#define CIO_RESOLVER_OPTS_INIT {CIO_RESOLVER_ARES, NULL, NULL, 0, 0}

/* Chooses and configures loop's resolver (NULL opts: the defaults, which
 * also ignore CIO_RESOLVER). The strings of opts are copied. Lookups of
 * the loop's earlier configuration that were cancelled and still run are
 * ended. Returns: 0. Errors: -EINVAL (NULL or closed loop, wrong thread,
 * bad kind, negative timeout or tries), -EBUSY (a lookup is waiting on
 * the loop), CIO_EDNS_CONFIG (servers unparsable, resolv_conf
 * unreadable), -ENOMEM. */
CIO_API int cio_resolver_configure(cio_loop *loop,
                                   const cio_resolver_opts *opts);

/* asyncio's loop.getaddrinfo: resolves host (NULL: the wildcard or
 * loopback address, as getaddrinfo's AI_PASSIVE says) and port (a number
 * or a service name; NULL: port 0) for family (AF_UNSPEC, AF_INET,
 * AF_INET6), socktype (0, SOCK_STREAM, SOCK_DGRAM) and flags (AI_PASSIVE,
 * AI_CANONNAME, AI_NUMERICHOST, AI_NUMERICSERV, AI_V4MAPPED, AI_ALL,
 * AI_ADDRCONFIG) on the running loop's resolver. host and port are copied.
 * If the calling task is cancelled, it gets -ECANCELED at once and the
 * late answer is freed by the resolver. Returns: 0 and *out, a list the
 * caller frees with freeaddrinfo(3). Errors: CIO_ERESOLVE (host not
 * numeric with AI_NUMERICHOST, neither host nor port), CIO_EDNS_NOTFOUND,
 * CIO_EDNS_NODATA, CIO_EDNS_TIMEOUT, CIO_EDNS_SERVFAIL, CIO_EDNS_REFUSED,
 * CIO_EDNS_FORMERR, CIO_EDNS_BADRESP, CIO_EDNS_CONNREFUSED,
 * CIO_EDNS_BADNAME, CIO_EDNS_SERVICE, CIO_EDNS_CONFIG, CIO_EDNS_FAIL,
 * -ENOMEM, -EINVAL (NULL out, outside a task, unknown flags),
 * -EAFNOSUPPORT, -ECANCELED, -errno (EAI_SYSTEM). Suspends. */
CIO_API int cio_getaddrinfo(const char *host, const char *port, int family,
                            int socktype, int flags, struct addrinfo **out);

/* asyncio's loop.getnameinfo: the host name and service of addr (an inet
 * address, borrowed for the call) into host (hostlen bytes) and serv
 * (servlen bytes), either of which may be NULL, not both; flags are
 * getnameinfo(3)'s NI_NUMERICHOST, NI_NUMERICSERV, NI_NOFQDN,
 * NI_NAMEREQD, NI_DGRAM. Numeric answers are formatted inline; reverse
 * lookups (hosts file, then a PTR query) always use c-ares on the running
 * loop. Returns: 0, NUL-terminated strings. Errors: -EINVAL (NULL, bad
 * flags, outside a task when a lookup is needed), -EAFNOSUPPORT (not
 * inet), -ENOSPC (a buffer too small), CIO_EDNS_NOTFOUND (no name, with
 * NI_NAMEREQD), the other CIO_EDNS_* codes of cio_getaddrinfo, -ENOMEM,
 * -ECANCELED. Suspends (only for a lookup). */
CIO_API int cio_getnameinfo(const cio_sockaddr *addr, int flags, char *host,
                            size_t hostlen, char *serv, size_t servlen);

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
 * writable and reads SO_ERROR. A TCP socket gets TCP_NODELAY. A Unix
 * stream socket whose listener's backlog is full (EAGAIN) tries again
 * after a pause, 1 ms doubling to 50 ms, until it connects, fails
 * otherwise or is cancelled. Use a cio_timeout scope for a deadline; a
 * cancelled connect leaves the socket unusable (close it). Returns: 0. Errors: -ECONNREFUSED, -ETIMEDOUT,
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

typedef struct cio_tls_ctx cio_tls_ctx; /* cio/tls.h */

/* cio_socket_create_connection with TLS (curio's open_connection(host,
 * port, ssl=, server_hostname=)): once connected, the handshake runs
 * as cio_socket_start_tls's before the call returns, so the socket
 * handed out moves plaintext (recv / send / sendall with flags 0;
 * cio_socket_shutdown(SHUT_WR) sends close_notify; cio_socket_tls gives
 * its TLS state). ctx: a client context (cio/tls.h), retained by the
 * socket; NULL: plain TCP, as cio_socket_create_connection.
 * server_hostname: the name sent as SNI and checked against the
 * certificate; NULL: host (an IP address is then checked against the
 * certificate's IP addresses, without SNI). host and server_hostname
 * borrowed for the call. The context's handshake timeout bounds the
 * handshake; a cio_timeout scope bounds the whole call. Server side:
 * accept with cio_socket_accept, then cio_socket_start_tls(accepted,
 * server_ctx, NULL) (cio/tls.h). Returns: 0 and *out (the caller closes
 * it). Errors: as cio_socket_create_connection, -EINVAL (a server
 * context), CIO_ETLS_VERIFY (certificate refused: wrong host, expired,
 * untrusted; reason in cio_tls_last_error), CIO_ETLS_HANDSHAKE,
 * CIO_ETLS_TIMEOUT, CIO_ETLS_CONFIG, the other CIO_ETLS_* codes,
 * -ECANCELED; on any failure the socket is closed and *out is NULL.
 * Suspends. */
CIO_API int cio_socket_create_connection_tls(cio_socket **out,
                                             const char *host, int port,
                                             cio_tls_ctx *ctx,
                                             const char *server_hostname);

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

/* One gathered write of iov[0..iovcnt) (at most IOV_MAX buffers are
 * looked at) on a stream socket, through its byte stream, never waiting:
 * the bytes the kernel takes now. iov is borrowed for the call. Does not
 * suspend; may be called from a task or a callback on the socket's loop.
 * Returns: the number of bytes taken, maybe fewer than asked, 0 when the
 * socket buffer is full. Errors: -EPIPE, -ECONNRESET, -EBADF (closed),
 * -EINVAL (NULL socket, iov NULL with iovcnt > 0, iovcnt < 0, not a stream
 * socket), -errno. */
CIO_API ssize_t cio_socket_try_writev(cio_socket *s, const struct iovec *iov,
                                      int iovcnt);

/* Sends every byte of iov[0..iovcnt) in order (writev; any number of
 * buffers), waiting whenever the socket buffer is full. iov is borrowed
 * until return and not modified. Returns: 0 once everything was handed to
 * the kernel. Errors: as cio_socket_sendall, -ENOMEM (more than 16
 * buffers and no memory for a copy of the vector); after an error an
 * unknown prefix was sent. Suspends. */
CIO_API int cio_socket_sendallv(cio_socket *s, const struct iovec *iov,
                                int iovcnt);

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
CIO_API int cio_socket_sockname(cio_socket *s, cio_sockaddr *out);

/* getpeername(2) into *out. Returns: 0. Errors: -EBADF, -ENOTCONN,
 * -EINVAL. */
CIO_API int cio_socket_peername(cio_socket *s, cio_sockaddr *out);

/* ======================================================================
 * Unix domain sockets
 * Addresses are filesystem paths or, with a leading '@', names in Linux's
 * abstract namespace (no file). cio_socket_bind/connect/accept and the
 * send/recv calls above work on them; these add listening with stale-file
 * removal and permissions, descriptor passing and peer credentials.
 * ====================================================================== */

/* Most descriptors one cio_socket_send_fds / _recv_fds call carries. */
#define CIO_MAX_PASS_FDS 16

/* Makes an AF_UNIX address from path ("/run/app.sock", or "@name" for the
 * abstract namespace). path is borrowed for the call. Returns: 0.
 * Errors: -EINVAL (NULL or empty), -ENAMETOOLONG (longer than
 * sun_path). */
CIO_API int cio_sockaddr_from_unix(cio_sockaddr *out, const char *path);

/* Flags of cio_unix_listen, cio_start_unix_server and
 * cio_create_unix_server. */
#define CIO_UNIX_REMOVE_STALE 0x1
/* Servers only (cio_start_unix_server, cio_create_unix_server): keep
 * the socket file when the server closes (asyncio's
 * cleanup_socket=False). Without it the file is removed at
 * cio_server_close if it is still the one the server bound. */
#define CIO_UNIX_KEEP_FILE 0x2

/* A Unix socket bound to path on loop: type SOCK_STREAM or SOCK_SEQPACKET
 * (listening, backlog < 0: SOMAXCONN) or SOCK_DGRAM (bound only). With
 * CIO_UNIX_REMOVE_STALE, an existing socket file at path is removed first
 * if nobody accepts on it (a connect is tried: refused means stale); a
 * live socket, or a file that is not a socket, is never removed (bind then
 * fails with -EADDRINUSE; the live server sees the probe as a connection
 * closed without data). mode > 0 sets the file's permissions (chmod,
 * e.g. 0600) after bind; abstract names have none. path borrowed for the
 * call. Returns: 0 and *out (the caller closes it; the file stays, unlink
 * it yourself). Errors: -EINVAL, -ENAMETOOLONG, -EADDRINUSE, -EACCES,
 * -errno. */
CIO_API int cio_unix_listen(cio_socket **out, cio_loop *loop, const char *path,
                            int type, int mode, int backlog, int flags);

/* Sends len bytes of buf (borrowed until return) with nfds descriptors
 * (fds borrowed; 0..CIO_MAX_PASS_FDS; the caller keeps and closes its own
 * copies) in one sendmsg with SCM_RIGHTS, waiting while the socket buffer
 * is full. len 0 sends one zero byte (a descriptor needs a byte to ride
 * on). Returns: the bytes sent (0 for len 0); on a stream socket the
 * descriptors went with the first of them. Errors: -EINVAL (bad
 * arguments, outside a task), -EBADF, -EPIPE, -ECANCELED, -EBUSY, -errno.
 * Suspends. */
CIO_API ssize_t cio_socket_send_fds(cio_socket *s, const void *buf, size_t len,
                                    const int *fds, int nfds);

/* Receives up to len bytes into buf and the descriptors that came with
 * them: *nfds in is the room in fds, out the count stored (new
 * descriptors, close-on-exec, the caller's to close). Descriptors beyond
 * the room are closed, never leaked. Returns: the bytes received (0 at
 * end of stream). Errors: -EINVAL (NULL, len 0, outside a task),
 * -EMSGSIZE (the kernel cut the descriptors: none is returned), -EBADF,
 * -ECANCELED, -EBUSY, -errno. Suspends. */
CIO_API ssize_t cio_socket_recv_fds(cio_socket *s, void *buf, size_t len,
                                    int *fds, int *nfds);

/* SO_PEERCRED: the process id, user id and group id of the peer of a
 * connected Unix socket (as of connect or socketpair). Any pointer may be
 * NULL. Returns: 0. Errors: -EINVAL, -EBADF, -ENOTCONN, -errno. */
CIO_API int cio_socket_peercred(cio_socket *s, pid_t *pid, uid_t *uid,
                                gid_t *gid);

#ifdef __cplusplus
}
#endif

#endif
