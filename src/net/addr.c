/*
 * addr.c - cio_sockaddr: numeric parsing and "host:port" formatting.
 *
 * How: inet_pton/inet_ntop for the address bytes; the port and the IPv6
 * scope ("%lo" or "%2") are handled here, so "[fe80::1%lo]:80" survives a
 * format/parse round trip. Nothing here resolves a name or blocks: names
 * go through resolve.c.
 *
 * Rejected: getaddrinfo(AI_NUMERICHOST) for parsing. It allocates a list
 * for what is a fixed-size conversion, and its errors (EAI_*) would have
 * to be mapped back to -EINVAL anyway.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>

#include "net/addr.h"

int cio__is_numeric_port(const char *s)
{
    if (!s || !*s)
        return 0;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || p - s > 5)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return v <= 65535;
}

/* Parses the scope part of an IPv6 address: an interface name or index. */
static int parse_scope(const char *scope, uint32_t *out)
{
    if (!*scope)
        return -EINVAL;
    char *end;
    unsigned long v = strtoul(scope, &end, 10);
    if (*end == '\0' && v <= UINT32_MAX) {
        *out = (uint32_t)v;
        return 0;
    }
    unsigned idx = if_nametoindex(scope);
    if (!idx)
        return -EINVAL;
    *out = idx;
    return 0;
}

/* ip (len bytes, not NUL-terminated) to an address with port. */
static int from_ip_n(cio_sockaddr *out, const char *ip, size_t len, int port)
{
    char tmp[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    if (port < 0 || port > 65535 || len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, ip, len);
    tmp[len] = '\0';
    memset(out, 0, sizeof(*out));
    if (len == 0) {
        struct sockaddr_in *a = (struct sockaddr_in *)&out->ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        a->sin_addr.s_addr = htonl(INADDR_ANY);
        out->len = sizeof(*a);
        return 0;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)&out->ss;
    if (inet_pton(AF_INET, tmp, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        out->len = sizeof(*a4);
        return 0;
    }
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&out->ss;
    char *pct = strchr(tmp, '%');
    if (pct) {
        *pct = '\0';
        uint32_t scope;
        if (parse_scope(pct + 1, &scope) < 0)
            goto bad;
        a6->sin6_scope_id = scope;
    }
    if (inet_pton(AF_INET6, tmp, &a6->sin6_addr) != 1)
        goto bad;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    out->len = sizeof(*a6);
    return 0;
bad:
    memset(out, 0, sizeof(*out));
    return -EINVAL;
}

int cio_sockaddr_from_ip(cio_sockaddr *out, const char *ip, int port)
{
    if (!out)
        return -EINVAL;
    return from_ip_n(out, ip ? ip : "", ip ? strlen(ip) : 0, port);
}

int cio_sockaddr_parse(cio_sockaddr *out, const char *text)
{
    if (!out || !text)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    const char *host = text, *colon;
    size_t hlen;
    if (*text == '[') {
        const char *rb = strchr(text, ']');
        if (!rb || rb[1] != ':')
            return -EINVAL;
        host = text + 1;
        hlen = (size_t)(rb - host);
        colon = rb + 1;
        if (hlen == 0 || !memchr(host, ':', hlen))
            return -EINVAL; /* brackets are for IPv6 only */
    } else {
        colon = strchr(text, ':');
        if (!colon || strchr(colon + 1, ':'))
            return -EINVAL; /* IPv6 needs brackets */
        hlen = (size_t)(colon - text);
        if (hlen == 0)
            return -EINVAL;
    }
    if (!cio__is_numeric_port(colon + 1))
        return -EINVAL;
    return from_ip_n(out, host, hlen, atoi(colon + 1));
}

int cio_sockaddr_set(cio_sockaddr *out, const struct sockaddr *sa,
                     socklen_t len)
{
    if (!out || !sa || len == 0 || len > sizeof(out->ss))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    memcpy(&out->ss, sa, len);
    out->len = len;
    return 0;
}

int cio_sockaddr_format(const cio_sockaddr *a, char *buf, size_t cap)
{
    if (!a || !buf || a->len == 0)
        return -EINVAL;
    char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    int n;
    if (cap)
        buf[0] = '\0';
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        n = snprintf(buf, cap, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
    } else if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, INET6_ADDRSTRLEN);
        if (s6->sin6_scope_id) {
            size_t hl = strlen(host);
            char ifn[IF_NAMESIZE];
            if (if_indextoname(s6->sin6_scope_id, ifn))
                snprintf(host + hl, sizeof(host) - hl, "%%%s", ifn);
            else
                snprintf(host + hl, sizeof(host) - hl, "%%%u",
                         (unsigned)s6->sin6_scope_id);
        }
        n = snprintf(buf, cap, "[%s]:%u", host,
                     (unsigned)ntohs(s6->sin6_port));
    } else {
        return -EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = '\0';
        return -ENOSPC;
    }
    return n;
}

int cio_sockaddr_port(const cio_sockaddr *a)
{
    if (!a)
        return -EINVAL;
    if (a->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return -EINVAL;
}

int cio_sockaddr_family(const cio_sockaddr *a)
{
    if (!a)
        return -EINVAL;
    return a->len ? a->ss.ss_family : AF_UNSPEC;
}

int cio__eai_to_err(int eai, int sys_errno)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_BADFLAGS:
        return -EINVAL;
    case EAI_SYSTEM:
        return sys_errno > 0 ? -sys_errno : CIO_ERESOLVE;
    default:
        return CIO_ERESOLVE;
    }
}

int cio__sockaddr_of(int fd, int peer, cio_sockaddr *out)
{
    memset(out, 0, sizeof(*out));
    out->len = sizeof(out->ss);
    int r = peer ? getpeername(fd, (struct sockaddr *)&out->ss, &out->len)
                 : getsockname(fd, (struct sockaddr *)&out->ss, &out->len);
    if (r < 0) {
        out->len = 0;
        return CIO__ERRNO();
    }
    return 0;
}
