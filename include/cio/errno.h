/*
 * cio/errno.h - cio's one error table (included by cio.h).
 *
 * Every cio function reports failure as a negative int: a negated errno
 * value (-EINVAL, -ECANCELED, -ETIMEDOUT...) wherever one fits, or one of
 * the CIO_E* codes below. The codes live below -4000, so they never collide
 * with errno (Linux's largest errno is 133), as libuv keeps UV_EOF at
 * -4095. cio_strerror and cio_err_name (cio.h) describe every value.
 *
 * Ranges. Each layer owns a block of codes; a later layer declares its
 * codes here, inside its block, and adds their messages to the table in
 * src/core/error.c (cio_strerror describes a code of a block that has no
 * entry yet by its block: "TLS error", ...). So TLS, HTTP, Redis and DNS
 * errors are cio error codes, not a second convention:
 *
 *   -4001 .. -4099   core (loop, tasks, generators, groups, streams,
 *                    executors, name resolution by getaddrinfo)
 *   -4100 .. -4199   TLS   (handshake, certificate, protocol alert)
 *   -4200 .. -4299   HTTP  (malformed message, too large, upgrade refused)
 *   -4300 .. -4399   Redis (server error reply, protocol error)
 *   -4400 .. -4499   DNS   (c-ares resolver: NXDOMAIN, no data, refused)
 *
 * Checklist when adding a code: pick the next free value of its block,
 * give it a comment here and an entry (name, message) in src/core/error.c,
 * list it in the "Errors:" lines of every call that returns it.
 */
#ifndef CIO_ERRNO_H
#define CIO_ERRNO_H

#include <errno.h>

/* ---- block bounds (inclusive; FIRST is the largest value) ---- */
#define CIO_ERR_CORE_FIRST (-4001)
#define CIO_ERR_CORE_LAST (-4099)
#define CIO_ERR_TLS_FIRST (-4100)
#define CIO_ERR_TLS_LAST (-4199)
#define CIO_ERR_HTTP_FIRST (-4200)
#define CIO_ERR_HTTP_LAST (-4299)
#define CIO_ERR_REDIS_FIRST (-4300)
#define CIO_ERR_REDIS_LAST (-4399)
#define CIO_ERR_DNS_FIRST (-4400)
#define CIO_ERR_DNS_LAST (-4499)

/* ---- core ---- */
/* End of stream before the requested data (cio_stream_read_exactly...). */
#define CIO_EOF (-4095)
/* Reserved: stack overflow. Never returned: an overflow aborts with a
 * message naming the task. */
#define CIO_ESTACKOVF (-4094)
/* Thrown into a generator being closed (asyncio's GeneratorExit). */
#define CIO_EGENEXIT (-4093)
/* One or more tasks of a group failed (cio_task_group_wait). */
#define CIO_EGROUP (-4092)
/* getaddrinfo failed (host not found, no address of the wanted family,
 * temporary DNS failure...). Out-of-memory and system errors of the
 * resolver come back as -ENOMEM and -errno instead. */
#define CIO_ERESOLVE (-4091)
/* A worker or child process died (process pools, subprocess pipes). */
#define CIO_ECHILD_DIED (-4090)
/* Ctrl-C (SIGINT) cancelled every task and they have all finished: what
 * cio_run, run_until_complete and run_forever return after it. */
#define CIO_EINTERRUPTED (-4089)


/* ---- HTTP (cio::http, include/cio/http.h): streamed request bodies
 * (-4200 .. -4219 used so far; -4207 stays free, test_error uses it as an
 * unlisted code of the block) ---- */
/* The request body is larger than max_body (the client is answered 413). */
#define CIO_EHTTP_BODY_TOO_LARGE (-4200)
/* The request body's framing is malformed (bad chunk size or trailer):
 * answered 400, the connection closed. */
#define CIO_EHTTP_BODY_MALFORMED (-4201)
/* The client closed the connection before the end of the body. */
#define CIO_EHTTP_BODY_INCOMPLETE (-4202)
/* A multipart file part is larger than the limit given for it. */
#define CIO_EHTTP_FILE_TOO_LARGE (-4203)

/* ---- WebSocket (cio::http, include/cio/websocket.h): -4250 .. -4269 ---- */
/* The peer broke RFC 6455 (bad frame, unmasked client frame, bad control
 * frame, bad compressed data): the connection was failed with 1002. */
#define CIO_EWS_PROTO (-4250)
/* The WebSocket is closed: the close handshake finished (the peer's code
 * is in cio_ws_close_code), or the call came after it. */
#define CIO_EWS_CLOSED (-4251)
/* A message over the size limit (after decompression): failed with 1009. */
#define CIO_EWS_TOOBIG (-4252)
/* A text message (or close reason) that is not UTF-8: failed with 1007. */
#define CIO_EWS_UTF8 (-4253)
/* The opening handshake failed (not a 101, bad Sec-WebSocket-Accept,
 * refused extension) or the request is not a WebSocket upgrade. */
#define CIO_EWS_HANDSHAKE (-4254)
/* The heartbeat's ping got no pong in time: the connection was dropped. */
#define CIO_EWS_TIMEOUT (-4255)
/* The connection ended without a close frame (1006: reset, EOF). */
#define CIO_EWS_ABNORMAL (-4256)
/* A send was interrupted mid-frame (cancelled, write error): the stream
 * cannot carry more frames and was dropped. */
#define CIO_EWS_BROKEN (-4257)
/* ---- HTTP client (cio::http, include/cio/http_client.h): -4220..-4249 ---- */
/* The response broke HTTP/1.1 (bad status line, bad field, bad chunk). */
#define CIO_EHTTPC_MALFORMED (-4220)
/* The response head exceeded the session's max_head or max_headers. */
#define CIO_EHTTPC_HEAD_TOO_LARGE (-4221)
/* The response body exceeded the limit of the read (or max_body). */
#define CIO_EHTTPC_BODY_TOO_LARGE (-4222)
/* More redirects than max_redirects. */
#define CIO_EHTTPC_TOO_MANY_REDIRECTS (-4223)
/* The URL (or a redirect's Location) could not be parsed. */
#define CIO_EHTTPC_BAD_URL (-4224)
/* The URL's scheme is neither http nor https. */
#define CIO_EHTTPC_SCHEME (-4225)
/* Ambiguous framing: Content-Length with Transfer-Encoding, or
 * conflicting Content-Length values (a response smuggling attempt). */
#define CIO_EHTTPC_FRAMING (-4226)
/* ClientTimeout.connect passed while getting a connection. */
#define CIO_EHTTPC_CONNECT_TIMEOUT (-4227)
/* ClientTimeout.sock_read passed between two reads. */
#define CIO_EHTTPC_READ_TIMEOUT (-4228)
/* ClientTimeout.total passed. */
#define CIO_EHTTPC_TIMEOUT (-4229)
/* The server closed the connection before the response was complete. */
#define CIO_EHTTPC_DISCONNECTED (-4230)
/* The proxy refused or broke the CONNECT tunnel. */
#define CIO_EHTTPC_PROXY (-4231)
/* The gzip or deflate content coding could not be decoded. */
#define CIO_EHTTPC_DECODE (-4232)
/* The session is closed. */
#define CIO_EHTTPC_CLOSED (-4233)
/* A line of a streamed body exceeded the line limit. */
#define CIO_EHTTPC_LINE_TOO_LONG (-4234)
/* The body was already consumed (or is being streamed). */
#define CIO_EHTTPC_CONSUMED (-4235)
/* The body is not valid JSON. */
#define CIO_EHTTPC_JSON (-4236)
/* The response's trailer section (HTTP/1.1 chunked trailers or HTTP/2
 * trailing HEADERS) exceeded the session's max_head or max_headers. */
#define CIO_EHTTPC_TRAILERS_TOO_LARGE (-4237)
/* cio_http_client_response_raise_for_status (or the session's
 * raise_for_status): the status is 400 or above. */
#define CIO_EHTTPC_STATUS (-4238)

/* ---- Redis (cio::redis, include/cio/redis.h): error replies by their
 * prefix, and the connection's own failures ---- */
/* An error reply of a kind not listed below. */
#define CIO_EREDIS (-4300)
/* "-ERR ...": the generic error reply. */
#define CIO_EREDIS_ERR (-4301)
/* "-WRONGTYPE ...": an operation against a key of another type. */
#define CIO_EREDIS_WRONGTYPE (-4302)
/* "-NOAUTH ...": authentication needed. */
#define CIO_EREDIS_NOAUTH (-4303)
/* "-WRONGPASS ...": AUTH refused. */
#define CIO_EREDIS_WRONGPASS (-4304)
/* "-BUSYGROUP ...": the consumer group exists. */
#define CIO_EREDIS_BUSYGROUP (-4305)
/* "-NOGROUP ...": no such key or consumer group. */
#define CIO_EREDIS_NOGROUP (-4306)
/* "-LOADING ...": the server is loading its dataset. */
#define CIO_EREDIS_LOADING (-4307)
/* "-READONLY ...": a write sent to a read-only replica. */
#define CIO_EREDIS_READONLY (-4308)
/* "-NOSCRIPT ...": no script with that SHA1. */
#define CIO_EREDIS_NOSCRIPT (-4309)
/* The server broke the protocol: the connection was closed. */
#define CIO_EREDIS_PROTO (-4310)
/* The connection is closed or was lost with the command in flight. */
#define CIO_EREDIS_CLOSED (-4311)

/* ---- TLS (include/cio/tls.h, src/net/tls.c). Where OpenSSL gave a
 * reason, cio_tls_conn_error / cio_tls_last_error return its text. ---- */
/* A TLS protocol error after the handshake (bad record, alert, ...). */
#define CIO_ETLS (-4100)
/* The handshake failed (no shared cipher or version, alert from the
 * peer, the peer closed in the middle of it: a truncated handshake). */
#define CIO_ETLS_HANDSHAKE (-4101)
/* The peer's certificate did not verify (unknown issuer, self-signed,
 * expired, not yet valid, revoked) or its name does not match. */
#define CIO_ETLS_VERIFY (-4102)
/* The peer closed the connection without close_notify (a truncation
 * attack, or a careless peer): reported instead of a plain end of file. */
#define CIO_ETLS_UNCLEAN (-4103)
/* The peer asked for a TLS 1.2 renegotiation, which cio refuses. */
#define CIO_ETLS_RENEGOTIATION (-4104)
/* The peer does not speak TLS (a plain-TCP client on a TLS port, an HTTP
 * request, a wrong version number). */
#define CIO_ETLS_NOT_TLS (-4105)
/* The handshake did not finish within the context's handshake timeout. */
#define CIO_ETLS_TIMEOUT (-4106)
/* Bad TLS configuration: a certificate, key, CA file, cipher list, ALPN
 * list or version OpenSSL refused. */
#define CIO_ETLS_CONFIG (-4107)
/* Kernel TLS was asked for and is not available (no `tls` kernel module,
 * or OpenSSL built without it, or a cipher the kernel lacks). */
#define CIO_ETLS_NOKTLS (-4108)

/* ---- DNS (the c-ares resolver, src/net/dns.c, and the getaddrinfo
 * fallback's EAI_* codes) ---- */
/* The name does not exist (NXDOMAIN; EAI_NONAME): not in the hosts file,
 * and no server knows it under any search domain. */
#define CIO_EDNS_NOTFOUND (-4400)
/* The name exists but has no address of the wanted family (NOERROR with
 * no answer; EAI_NODATA). */
#define CIO_EDNS_NODATA (-4401)
/* No server answered in time, after every retry (EAI_AGAIN). */
#define CIO_EDNS_TIMEOUT (-4402)
/* The server failed (EAI_FAIL). c-ares takes a SERVFAIL answer as a
 * failing server, tries the others, and ends with CIO_EDNS_CONNREFUSED. */
#define CIO_EDNS_SERVFAIL (-4403)
/* The server refused the query (REFUSED). */
#define CIO_EDNS_REFUSED (-4404)
/* The server said the query was malformed (FORMERR) or does not
 * implement it (NOTIMP). */
#define CIO_EDNS_FORMERR (-4405)
/* The answer was malformed or cut short. */
#define CIO_EDNS_BADRESP (-4406)
/* No server gave a usable answer: unreachable (ICMP port unreachable,
 * TCP refused) or each answered SERVFAIL / REFUSED (c-ares). */
#define CIO_EDNS_CONNREFUSED (-4407)
/* The host name is not a valid DNS name. */
#define CIO_EDNS_BADNAME (-4408)
/* The service (port) name is unknown for the socket type (EAI_SERVICE). */
#define CIO_EDNS_SERVICE (-4409)
/* The resolver configuration (resolv.conf, server list) could not be
 * read or parsed. */
#define CIO_EDNS_CONFIG (-4410)
/* Any other resolver failure. */
#define CIO_EDNS_FAIL (-4411)

/* ---- HTTP/2 (src/http/h2*.c; sub-range -4270 .. -4289) ---- */
/* The peer reset the HTTP/2 stream (RST_STREAM) being answered: a
 * streamed response write on it fails with this. */
#define CIO_EHTTP_RST_STREAM (-4270)
/* The HTTP/2 connection is going away (GOAWAY sent or received, or the
 * connection failed): a streamed response write on it fails with this. */
#define CIO_EHTTP_GOAWAY (-4271)
/* HTTP client over HTTP/2: the server broke the protocol (a malformed
 * frame, a bad header block, a connection error): the connection is
 * failed with GOAWAY and its requests end with this. */
#define CIO_EHTTPC_H2_PROTO (-4272)
/* HTTP client over HTTP/2: the server reset the stream (RST_STREAM)
 * before the response was complete. */
#define CIO_EHTTPC_H2_RESET (-4273)
/* HTTP client over HTTP/2: the server's GOAWAY left the request
 * unanswered and it could not be retried (not idempotent, or a streamed
 * body), or it came with an error code. */
#define CIO_EHTTPC_H2_GOAWAY (-4274)

#endif
