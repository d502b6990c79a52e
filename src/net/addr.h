/*
 * addr.h - address and resolution helpers shared by everything in src/net/
 * (awaitable sockets, streams, transports, servers). The public value type
 * is cio_sockaddr (cio/net.h); these are the internal entry points around
 * it. Stable: other files of src/net/ call them.
 */
#ifndef CIO_NET_ADDR_H
#define CIO_NET_ADDR_H

#include <netdb.h>
#include <sys/socket.h>

#include "internal.h"

/* Resolves host/service_or_port (either may be NULL, not both) for family,
 * socktype and getaddrinfo flags. A numeric host (or NULL) is resolved
 * inline with AI_NUMERICHOST (plus AI_NUMERICSERV for a numeric or NULL
 * port): no thread, no suspension. A name goes to the loop's c-ares
 * resolver (dns.c) or, when so configured, to getaddrinfo on loop's
 * default executor; either suspends the calling task, which must run on
 * loop. Strings are copied. On cancellation the late answer is freed by
 * whoever ends the lookup. Returns 0 and *out (freeaddrinfo by the
 * caller), CIO_ERESOLVE (bad numeric host), a CIO_EDNS_* code, -ENOMEM,
 * -EINVAL, -ECANCELED, -errno. Suspends (only for names). */
int cio__resolve(cio_loop *loop, const char *host, const char *service_or_port,
                 int family, int socktype, int flags, struct addrinfo **out);

/* Maps a getaddrinfo return value (sys_errno: errno right after the call,
 * for EAI_SYSTEM) to a cio error: 0, -ENOMEM, -EINVAL (EAI_BADFLAGS),
 * -errno (EAI_SYSTEM) or CIO_ERESOLVE. */
int cio__eai_to_err(int eai, int sys_errno);

/* Returns 1 if s is a decimal port number 0..65535 ("" is not). */
int cio__is_numeric_port(const char *s);

/* socket(2) with SOCK_NONBLOCK|SOCK_CLOEXEC. Returns the fd or -errno. */
int cio__sock_fd(int family, int type, int protocol);

/* Sets TCP_NODELAY on fd if it is a TCP socket of an inet family (else
 * does nothing). Returns 0 or -errno. */
int cio__sock_nodelay(int fd, int family);

/* A listening TCP socket bound to addr: non-blocking, close-on-exec,
 * SO_REUSEADDR, IPV6_V6ONLY for IPv6 (as asyncio does), backlog < 0 means
 * SOMAXCONN. Returns the fd or -errno. */
int cio__sock_listen_fd(const cio_sockaddr *addr, int backlog);

/* getsockname (peer = 0) or getpeername (peer = 1) of fd into *out,
 * which is zeroed (len 0) on failure. Returns 0 or -errno. */
int cio__sockaddr_of(int fd, int peer, cio_sockaddr *out);

#endif
