/*
 * dns.h - the c-ares resolver of a loop (dns.c), behind cio__resolve
 * (resolve.c), which picks it or getaddrinfo on the thread pool.
 */
#ifndef CIO_NET_DNS_H
#define CIO_NET_DNS_H

#include <netdb.h>

#include "internal.h"

/* 1 if name lookups of loop go to c-ares, 0 if to getaddrinfo on the
 * default executor (cio_resolver_configure's kind, else the environment
 * variable CIO_RESOLVER=getaddrinfo|ares, else c-ares). */
int cio__dns_use_ares(cio_loop *loop);

/* Resolves host/port with c-ares on loop for the hints' family, socktype
 * and AI_* flags, suspending the calling task (which must run on loop).
 * Returns 0 and *out, a list in getaddrinfo's layout that freeaddrinfo(3)
 * frees, or a CIO_EDNS_* code, -ENOMEM, -EINVAL, -ECANCELED. Suspends. */
int cio__dns_getaddrinfo(cio_loop *loop, const char *host, const char *port,
                         const struct addrinfo *hints, struct addrinfo **out);

/* Maps a getaddrinfo(3) failure (sys_errno: errno after it) to the DNS
 * block of cio's error table. */
int cio__dns_eai_to_err(int eai, int sys_errno);

#endif
