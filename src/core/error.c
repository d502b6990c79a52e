/*
 * error.c - names and descriptions of error values, and the library's
 * version. errno values are
 * described by strerror_r's GNU variant, which always returns a static or
 * caller-buffer string; cio_strerror needs a static one, so the common
 * codes get their own table and the rest fall back to strerrordesc_np
 * (glibc 2.32+, thread-safe, static storage).
 *
 * This table is the one place cio's own codes get their text: every
 * CIO_E* code of include/cio/errno.h has an entry (test_error checks it),
 * and a code of a reserved block with no entry yet is described by its
 * block (block_desc).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

typedef struct {
    int err;
    const char *name;
    const char *desc;
} err_entry;

#define E(x, d) {-x, #x, d}
static const err_entry table[] = {
    {0, "OK", "success"},
    {CIO_EOF, "CIO_EOF", "end of stream"},
    {CIO_ESTACKOVF, "CIO_ESTACKOVF", "stack overflow"},
    {CIO_EGENEXIT, "CIO_EGENEXIT", "generator closed"},
    {CIO_EGROUP, "CIO_EGROUP", "one or more tasks of the group failed"},
    {CIO_ECHILD_DIED, "CIO_ECHILD_DIED", "a worker or child process died"},
    {CIO_ERESOLVE, "CIO_ERESOLVE", "name resolution failed"},
    {CIO_EINTERRUPTED, "CIO_EINTERRUPTED",
     "interrupted by Ctrl-C (SIGINT): every task was cancelled"},
    {CIO_EHTTP_BODY_TOO_LARGE, "CIO_EHTTP_BODY_TOO_LARGE",
     "HTTP: request body larger than the limit"},
    {CIO_EHTTP_BODY_MALFORMED, "CIO_EHTTP_BODY_MALFORMED",
     "HTTP: malformed request body framing"},
    {CIO_EHTTP_BODY_INCOMPLETE, "CIO_EHTTP_BODY_INCOMPLETE",
     "HTTP: connection closed before the end of the request body"},
    {CIO_EHTTP_FILE_TOO_LARGE, "CIO_EHTTP_FILE_TOO_LARGE",
     "HTTP: uploaded file larger than its limit"},
    {CIO_EWS_PROTO, "CIO_EWS_PROTO",
     "WebSocket: protocol error (connection failed with 1002)"},
    {CIO_EWS_CLOSED, "CIO_EWS_CLOSED", "WebSocket: closed"},
    {CIO_EWS_TOOBIG, "CIO_EWS_TOOBIG",
     "WebSocket: message too big (connection failed with 1009)"},
    {CIO_EWS_UTF8, "CIO_EWS_UTF8",
     "WebSocket: text is not valid UTF-8 (connection failed with 1007)"},
    {CIO_EWS_HANDSHAKE, "CIO_EWS_HANDSHAKE", "WebSocket: handshake failed"},
    {CIO_EWS_TIMEOUT, "CIO_EWS_TIMEOUT",
     "WebSocket: no pong to the heartbeat ping in time"},
    {CIO_EWS_ABNORMAL, "CIO_EWS_ABNORMAL",
     "WebSocket: connection lost without a close frame (1006)"},
    {CIO_EWS_BROKEN, "CIO_EWS_BROKEN",
     "WebSocket: a send was interrupted mid-frame; connection dropped"},
    {CIO_EHTTPC_MALFORMED, "CIO_EHTTPC_MALFORMED",
     "HTTP client: malformed response"},
    {CIO_EHTTPC_HEAD_TOO_LARGE, "CIO_EHTTPC_HEAD_TOO_LARGE",
     "HTTP client: response head too large"},
    {CIO_EHTTPC_BODY_TOO_LARGE, "CIO_EHTTPC_BODY_TOO_LARGE",
     "HTTP client: response body larger than the limit"},
    {CIO_EHTTPC_TOO_MANY_REDIRECTS, "CIO_EHTTPC_TOO_MANY_REDIRECTS",
     "HTTP client: too many redirects"},
    {CIO_EHTTPC_BAD_URL, "CIO_EHTTPC_BAD_URL", "HTTP client: invalid URL"},
    {CIO_EHTTPC_SCHEME, "CIO_EHTTPC_SCHEME",
     "HTTP client: unsupported URL scheme"},
    {CIO_EHTTPC_FRAMING, "CIO_EHTTPC_FRAMING",
     "HTTP client: ambiguous response framing (Content-Length with "
     "Transfer-Encoding, or conflicting lengths)"},
    {CIO_EHTTPC_CONNECT_TIMEOUT, "CIO_EHTTPC_CONNECT_TIMEOUT",
     "HTTP client: connect timeout"},
    {CIO_EHTTPC_READ_TIMEOUT, "CIO_EHTTPC_READ_TIMEOUT",
     "HTTP client: socket read timeout"},
    {CIO_EHTTPC_TIMEOUT, "CIO_EHTTPC_TIMEOUT",
     "HTTP client: total timeout"},
    {CIO_EHTTPC_DISCONNECTED, "CIO_EHTTPC_DISCONNECTED",
     "HTTP client: server disconnected before the response was complete"},
    {CIO_EHTTPC_PROXY, "CIO_EHTTPC_PROXY",
     "HTTP client: proxy refused the CONNECT tunnel"},
    {CIO_EHTTPC_DECODE, "CIO_EHTTPC_DECODE",
     "HTTP client: gzip/deflate content decoding failed"},
    {CIO_EHTTPC_CLOSED, "CIO_EHTTPC_CLOSED", "HTTP client: session closed"},
    {CIO_EHTTPC_LINE_TOO_LONG, "CIO_EHTTPC_LINE_TOO_LONG",
     "HTTP client: line of the body too long"},
    {CIO_EHTTPC_CONSUMED, "CIO_EHTTPC_CONSUMED",
     "HTTP client: response body already consumed"},
    {CIO_EHTTPC_JSON, "CIO_EHTTPC_JSON",
     "HTTP client: response body is not valid JSON"},
    {CIO_EHTTPC_TRAILERS_TOO_LARGE, "CIO_EHTTPC_TRAILERS_TOO_LARGE",
     "HTTP client: response trailers too large"},
    {CIO_EHTTPC_STATUS, "CIO_EHTTPC_STATUS",
     "HTTP client: response status 400 or above"},
    {CIO_EREDIS, "CIO_EREDIS", "Redis: error reply"},
    {CIO_EREDIS_ERR, "CIO_EREDIS_ERR", "Redis: error reply (ERR)"},
    {CIO_EREDIS_WRONGTYPE, "CIO_EREDIS_WRONGTYPE",
     "Redis: operation against a key holding the wrong kind of value"},
    {CIO_EREDIS_NOAUTH, "CIO_EREDIS_NOAUTH", "Redis: authentication required"},
    {CIO_EREDIS_WRONGPASS, "CIO_EREDIS_WRONGPASS",
     "Redis: invalid username-password pair"},
    {CIO_EREDIS_BUSYGROUP, "CIO_EREDIS_BUSYGROUP",
     "Redis: consumer group exists"},
    {CIO_EREDIS_NOGROUP, "CIO_EREDIS_NOGROUP",
     "Redis: no such key or consumer group"},
    {CIO_EREDIS_LOADING, "CIO_EREDIS_LOADING", "Redis: loading the dataset"},
    {CIO_EREDIS_READONLY, "CIO_EREDIS_READONLY", "Redis: read-only replica"},
    {CIO_EREDIS_NOSCRIPT, "CIO_EREDIS_NOSCRIPT", "Redis: no matching script"},
    {CIO_EREDIS_PROTO, "CIO_EREDIS_PROTO",
     "Redis: protocol violation (connection closed)"},
    {CIO_EREDIS_CLOSED, "CIO_EREDIS_CLOSED",
     "Redis: connection closed or lost"},
    {CIO_ETLS, "CIO_ETLS", "TLS: protocol error"},
    {CIO_ETLS_HANDSHAKE, "CIO_ETLS_HANDSHAKE", "TLS: handshake failed"},
    {CIO_ETLS_VERIFY, "CIO_ETLS_VERIFY",
     "TLS: certificate verification failed"},
    {CIO_ETLS_UNCLEAN, "CIO_ETLS_UNCLEAN",
     "TLS: connection closed without close_notify (unclean shutdown)"},
    {CIO_ETLS_RENEGOTIATION, "CIO_ETLS_RENEGOTIATION",
     "TLS: renegotiation refused"},
    {CIO_ETLS_NOT_TLS, "CIO_ETLS_NOT_TLS", "TLS: the peer does not speak TLS"},
    {CIO_ETLS_TIMEOUT, "CIO_ETLS_TIMEOUT", "TLS: handshake timed out"},
    {CIO_ETLS_CONFIG, "CIO_ETLS_CONFIG",
     "TLS: bad configuration (certificate, key, CA, ciphers, ALPN)"},
    {CIO_ETLS_NOKTLS, "CIO_ETLS_NOKTLS", "TLS: kernel TLS is not available"},
    {CIO_EDNS_NOTFOUND, "CIO_EDNS_NOTFOUND",
     "DNS: host name not found (NXDOMAIN)"},
    {CIO_EDNS_NODATA, "CIO_EDNS_NODATA",
     "DNS: no address of the requested family for this name"},
    {CIO_EDNS_TIMEOUT, "CIO_EDNS_TIMEOUT",
     "DNS: no answer from the name servers (timed out after retries)"},
    {CIO_EDNS_SERVFAIL, "CIO_EDNS_SERVFAIL", "DNS: server failure (SERVFAIL)"},
    {CIO_EDNS_REFUSED, "CIO_EDNS_REFUSED", "DNS: query refused by the server"},
    {CIO_EDNS_FORMERR, "CIO_EDNS_FORMERR",
     "DNS: the server rejected the query (FORMERR or NOTIMP)"},
    {CIO_EDNS_BADRESP, "CIO_EDNS_BADRESP", "DNS: malformed or truncated answer"},
    {CIO_EDNS_CONNREFUSED, "CIO_EDNS_CONNREFUSED",
     "DNS: no name server answered usefully (refused, unreachable or "
     "failing)"},
    {CIO_EDNS_BADNAME, "CIO_EDNS_BADNAME", "DNS: invalid host name"},
    {CIO_EDNS_SERVICE, "CIO_EDNS_SERVICE",
     "DNS: unknown service name for this socket type"},
    {CIO_EDNS_CONFIG, "CIO_EDNS_CONFIG",
     "DNS: resolver configuration unreadable or invalid"},
    {CIO_EDNS_FAIL, "CIO_EDNS_FAIL", "DNS: resolver failure"},
    {CIO_EHTTP_RST_STREAM, "CIO_EHTTP_RST_STREAM",
     "HTTP/2: stream reset by the peer"},
    {CIO_EHTTP_GOAWAY, "CIO_EHTTP_GOAWAY",
     "HTTP/2: connection going away (GOAWAY or connection failure)"},
    {CIO_EHTTPC_H2_PROTO, "CIO_EHTTPC_H2_PROTO",
     "HTTP client: HTTP/2 protocol error from the server"},
    {CIO_EHTTPC_H2_RESET, "CIO_EHTTPC_H2_RESET",
     "HTTP client: HTTP/2 stream reset by the server"},
    {CIO_EHTTPC_H2_GOAWAY, "CIO_EHTTPC_H2_GOAWAY",
     "HTTP client: HTTP/2 server went away (GOAWAY) before answering"},
    E(EPERM, "operation not permitted"),
    E(ENOENT, "no such file or directory"),
    E(ESRCH, "no such process"),
    E(EINTR, "interrupted (loop stopped before the future completed)"),
    E(EIO, "input/output error"),
    E(EBADF, "bad file descriptor"),
    E(ECHILD, "no child processes"),
    E(EAGAIN, "resource temporarily unavailable (or future not done)"),
    E(ENOMEM, "out of memory"),
    E(EACCES, "permission denied"),
    E(EFAULT, "bad address"),
    E(EBUSY, "device or resource busy"),
    E(EEXIST, "file exists"),
    E(EINVAL, "invalid argument"),
    E(ENFILE, "too many open files in system"),
    E(EMFILE, "too many open files"),
    E(ENOSPC, "no space left on device"),
    E(EPIPE, "broken pipe"),
    E(ERANGE, "result out of range"),
    E(ENOSYS, "function not implemented"),
    E(ENOTSUP, "operation not supported"),
    E(EADDRINUSE, "address already in use"),
    E(ECONNRESET, "connection reset by peer"),
    E(ECONNREFUSED, "connection refused"),
    E(ECONNABORTED, "connection aborted"),
    E(ENOTCONN, "socket is not connected"),
    E(ETIMEDOUT, "timed out"),
    E(ECANCELED, "cancelled"),
    E(EOVERFLOW, "value too large"),
    E(EPROTO, "protocol error"),
    E(ESHUTDOWN, "shut down"),
    E(EDEADLK, "resource deadlock avoided"),
};
#undef E

static const err_entry *lookup(int err)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].err == err)
            return &table[i];
    return NULL;
}

/* Codes of a layer's block that have no entry of their own. */
static const char *block_desc(int err)
{
    if (err <= CIO_ERR_CORE_FIRST && err >= CIO_ERR_CORE_LAST)
        return "cio error";
    if (err <= CIO_ERR_TLS_FIRST && err >= CIO_ERR_TLS_LAST)
        return "TLS error";
    if (err <= CIO_ERR_HTTP_FIRST && err >= CIO_ERR_HTTP_LAST)
        return "HTTP error";
    if (err <= CIO_ERR_REDIS_FIRST && err >= CIO_ERR_REDIS_LAST)
        return "Redis error";
    if (err <= CIO_ERR_DNS_FIRST && err >= CIO_ERR_DNS_LAST)
        return "DNS error";
    return NULL;
}

const char *cio_strerror(int err)
{
    const err_entry *e = lookup(err);
    if (e)
        return e->desc;
    const char *b = block_desc(err);
    if (b)
        return b;
    if (err < 0 && err > -4000) {
        const char *d = strerrordesc_np(-err);
        if (d)
            return d;
    }
    return "unknown error";
}

const char *cio_err_name(int err)
{
    const err_entry *e = lookup(err);
    if (e)
        return e->name;
    if (err < 0 && err > -4000) {
        const char *n = strerrorname_np(-err);
        if (n)
            return n;
    }
    return "UNKNOWN";
}

/* The version lives here rather than in a file of its own: both are the
 * library's static descriptions of itself. */
#define CIO__STR2(x) #x
#define CIO__STR(x) CIO__STR2(x)

unsigned cio_version(void)
{
    return CIO_VERSION;
}

const char *cio_version_string(void)
{
    return CIO__STR(CIO_VERSION_MAJOR) "." CIO__STR(
        CIO_VERSION_MINOR) "." CIO__STR(CIO_VERSION_PATCH);
}
