/*
 * cio/websocket.h - WebSocket (RFC 6455) with permessage-deflate (RFC
 * 7692) for cio::http: a server route that upgrades, a client
 * (cio_ws_connect), and one object for both ends, used from tasks.
 *
 * Included by cio/http.h (link cio::http or `pkg-config cio-http`).
 * Long-form notes: docs/design.md, section 29.
 *
 * A cio_ws carries messages (text or binary) both ways. The rules of the
 * protocol are enforced on what the peer sends: frames from a client must
 * be masked and frames from a server must not be (else the connection is
 * failed with close code 1002), control frames are at most 125 bytes and
 * never fragmented, fragments are reassembled into one message, text is
 * UTF-8 (1007), a message over max_message (after decompression) fails
 * the connection with 1009, so neither a huge frame nor a zip bomb can
 * make cio buffer more than max_message. Pings are answered by
 * cio_ws_receive; a pong ends the heartbeat's wait.
 *
 * Tasks: one task at a time may receive; any number may send (a lock
 * keeps their frames whole). Sending has no queue: a send returns once the
 * kernel took the whole frame, so a peer that does not read suspends the
 * senders there (back-pressure; the socket's send buffer, SO_SNDBUF, is
 * the only buffering).
 */
#ifndef CIO_WEBSOCKET_H
#define CIO_WEBSOCKET_H

#include "cio/http.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_ws cio_ws;

/* Message types. */
#define CIO_WS_TEXT 1
#define CIO_WS_BINARY 2

/* Options of both ends (zero fields: the default in brackets). */
typedef struct cio_ws_options {
    size_t max_message;        /* [16 MiB] largest message received, after
                                * decompression: larger fails with 1009 */
    int64_t heartbeat;         /* [0: none] when nothing arrived for this long,
                                * cio_ws_receive sends a ping; no pong within
                                * heartbeat again drops the connection
                                * (CIO_EWS_TIMEOUT) */
    int64_t close_timeout;     /* [5 s] how long cio_ws_close waits for the
                                * peer's close frame */
    int64_t handshake_timeout; /* [10 s] client: connect and handshake */
    int compress;              /* [0] 1: permessage-deflate (the server accepts
                                * a client's offer; the client offers it) */
    int no_context_takeover;   /* [0] 1 (with compress): each message is
                                * compressed on its own (less memory per
                                * connection, worse ratio); the server asks
                                * it of both sides, the client offers it */
    const char *protocol;      /* [NULL] a subprotocol (copied): the server
                                * selects it when the client lists it; the
                                * client asks for it (the server must agree) */
    cio_tls_ctx *tls;          /* [NULL] client: connect over TLS (wss) with
                                * this client context (borrowed for the
                                * call; the connection retains it). A wss://
                                * URL without one gets a default context:
                                * the system trust store, certificate and
                                * host name verified */
    const char *server_name;   /* [the host] client over TLS: the name sent
                                * as SNI and checked against the
                                * certificate (borrowed for the call) */
} cio_ws_options;

#define CIO_WS_OPTIONS_INIT                                                    \
    {                                                                          \
        0, 0, 0, 0, 0, 0, NULL, NULL, NULL                                     \
    }

/* A received message. data is borrowed: valid until the next
 * cio_ws_receive on the same ws (or its end). Text is UTF-8 (checked),
 * not NUL-terminated. */
typedef struct cio_ws_msg {
    int type; /* CIO_WS_TEXT or CIO_WS_BINARY */
    const void *data;
    size_t len;
} cio_ws_msg;

/* A WebSocket handler: a coroutine on the connection's task, run after
 * the 101 response left. ws and req are borrowed until it returns (req's
 * views stay valid); other tasks using ws must be done with it by then.
 * When it returns, a close frame is sent if it did not close (1000, or
 * 1011 if it returned < 0), the close handshake is given close_timeout,
 * and the connection ends. At a graceful server close
 * (cio_http_server_close, cio_http_run stopping) the handler is cancelled
 * at once (it does not hold the close for shutdown_timeout) and the peer
 * gets 1001 "server shutting down". */
typedef int (*cio_ws_handler)(cio_ws *ws, cio_http_request *req, void *arg);

/* Routes GET requests for pattern (copied; sanic's syntax, as
 * cio_http_route) to a WebSocket endpoint: a request with a valid upgrade
 * (HTTP/1.1, Upgrade: websocket, Connection: upgrade, a 16-byte
 * Sec-WebSocket-Key, Sec-WebSocket-Version: 13) gets 101 and then
 * handler(ws, req, arg) (arg borrowed for the app's life); any other gets
 * 426 (no upgrade asked; with Sec-WebSocket-Version: 13) or 400. opts
 * (copied; NULL: defaults) apply to every connection. Middleware of the
 * app runs before the upgrade (a request middleware that answers refuses
 * it). Returns: 0. Errors: as cio_http_route (-EINVAL, -EEXIST, -EBUSY,
 * -ENOMEM). */
CIO_API int cio_http_websocket(cio_http_app *app, const char *pattern,
                               cio_ws_handler handler, void *arg,
                               const cio_ws_options *opts);

/* The upgrade inside an ordinary handler (to check something first):
 * validates req as a WebSocket upgrade, sends the 101 (the connection
 * carries no more HTTP after it) and stores the new ws in *out. The
 * handler then owns *out: it must call cio_ws_free before it returns (the
 * server closes the socket after the handler; at a graceful server close
 * the handler is cancelled at once). When req is no upgrade,
 * res is filled with 426 or 400 and CIO_EWS_HANDSHAKE returned: the
 * handler returns 0 to send it. Returns: 0. Errors: CIO_EWS_HANDSHAKE,
 * -EINVAL (NULL, not in a handler), -ENOMEM, -EPIPE / -ECONNRESET (the
 * client left), -ECANCELED. Suspends. */
CIO_API int cio_http_websocket_upgrade(cio_http_request *req,
                                       cio_http_response *res,
                                       const cio_ws_options *opts,
                                       cio_ws **out);

/* The client: connects to host:port (a name is resolved as
 * cio_socket_create_connection does), sends the upgrade request for path
 * (NULL: "/"; it may carry a query), and checks the answer: 101, Upgrade
 * and Connection, Sec-WebSocket-Accept matching our key (a random 16-byte
 * key from OpenSSL's RAND_bytes), an extension only if offered, a
 * subprotocol only the one asked. Frames it sends are masked with keys
 * from RAND_bytes. Everything within handshake_timeout. host, path and
 * opts borrowed for the call. Returns: 0 and *out (free it with
 * cio_ws_free). Errors: CIO_EWS_HANDSHAKE (refused or invalid answer),
 * -ETIMEDOUT, -ECONNREFUSED and the other errors of
 * cio_socket_create_connection, CIO_ETLS_VERIFY and the other CIO_ETLS_*
 * codes (opts->tls given: the connection is TLS, wss), -ECANCELED,
 * -EINVAL (NULL, outside a task), -ENOMEM; *out is NULL on failure.
 * Suspends. (The standalone form: cio_http_session_ws_connect makes the
 * same connection with a session's cookies, auth, proxy and timeouts.) */
CIO_API int cio_ws_connect(cio_ws **out, const char *host, int port,
                           const char *path, const cio_ws_options *opts);

/* cio_ws_connect with a "ws://host[:port][/path]" or
 * "wss://host[:port][/path]" URL (port 80 / 443 by default; IPv6 hosts in
 * brackets). wss:// uses opts->tls, or a default client context made for
 * the call (the system trust store, certificate and host name verified;
 * SNI and the name checked: opts->server_name or the host). Returns/
 * Errors: as cio_ws_connect, and -EINVAL for another scheme. Suspends. */
CIO_API int cio_ws_connect_url(cio_ws **out, const char *url,
                               const cio_ws_options *opts);

/* Frees ws (NULL ignored). A client's socket is closed (abruptly when no
 * close handshake took place: the peer sees 1006). Returns: 0. No task
 * may be using ws. */
CIO_API int cio_ws_free(cio_ws *ws);

/* Waits for the next message, answering pings and taking pongs on the
 * way (and pinging for the heartbeat). Returns: 0 and *msg. Errors:
 * CIO_EWS_CLOSED (the peer's close frame arrived: it was answered, the
 * code is in cio_ws_close_code; also every call after that),
 * CIO_EWS_PROTO, CIO_EWS_UTF8, CIO_EWS_TOOBIG (the connection was failed
 * with 1002, 1007, 1009), CIO_EWS_TIMEOUT (heartbeat), CIO_EWS_ABNORMAL
 * (EOF or reset without a close frame), -ECANCELED (nothing lost: a later
 * call goes on), -EBUSY (another task receives), -EINVAL, -ENOMEM. After
 * an error other than -ECANCELED / -EBUSY, every later call fails the
 * same way. Suspends. */
CIO_API int cio_ws_receive(cio_ws *ws, cio_ws_msg *msg);

/* Sends one message of type CIO_WS_TEXT (data must be UTF-8) or
 * CIO_WS_BINARY (data borrowed for the call), compressed when
 * permessage-deflate was negotiated, as one frame. Returns: 0 once the
 * kernel took it. Errors: -EINVAL (bad type, text not UTF-8, NULL data
 * with len > 0, a fragmented message in progress), CIO_EWS_CLOSED (we
 * sent a close frame), CIO_EWS_BROKEN (an earlier send was interrupted
 * mid-frame), -EPIPE / -ECONNRESET (the peer left), -ECANCELED (cancelled
 * while waiting for the lock: nothing sent; while writing: the frame is
 * cut, the connection is dropped and later calls fail with
 * CIO_EWS_BROKEN), -ENOMEM. Suspends. */
CIO_API int cio_ws_send(cio_ws *ws, int type, const void *data, size_t len);

/* cio_ws_send(ws, CIO_WS_TEXT, text, strlen(text)). Suspends. */
CIO_API int cio_ws_send_text(cio_ws *ws, const char *text);

/* Sends one fragment of a message in several frames (never compressed):
 * type (CIO_WS_TEXT / CIO_WS_BINARY) on the first call, ignored on the
 * next; last != 0 ends the message. Other messages cannot be sent in
 * between (control frames can). Text fragments are sent as given (a
 * character may span two); the peer validates the whole. Returns/
 * Errors: as cio_ws_send. Suspends. */
CIO_API int cio_ws_send_fragment(cio_ws *ws, int type, const void *data,
                                 size_t len, int last);

/* Sends a ping with up to 125 bytes of data (borrowed for the call). The
 * pong is taken by cio_ws_receive. Returns: 0. Errors: -EINVAL (len >
 * 125), else as cio_ws_send. Suspends. */
CIO_API int cio_ws_ping(cio_ws *ws, const void *data, size_t len);

/* The close handshake: sends a close frame with code (0: 1000; else
 * 1000..1003, 1007..1014 or 3000..4999) and reason (NULL: none; UTF-8, at
 * most 123 bytes; borrowed for the call), then, unless another task is in
 * cio_ws_receive (which will see the answer), waits up to close_timeout
 * for the peer's close frame, discarding messages that arrive first. A
 * server then half-closes the connection. Returns: 0 (also when the peer
 * did not answer in time or had closed already). Errors: -EINVAL (bad
 * code or reason), -ECANCELED (the close frame is sent; the wait was
 * cut), CIO_EWS_BROKEN. Suspends. */
CIO_API int cio_ws_close(cio_ws *ws, int code, const char *reason);

/* The peer's close code: 0 while open, the code of its close frame, 1005
 * when its frame had none, 1006 when the connection ended without one. */
CIO_API int cio_ws_close_code(const cio_ws *ws);

/* The reason of the peer's close frame ("" if none). Returns: a string
 * owned by ws. */
CIO_API const char *cio_ws_close_reason(const cio_ws *ws);

/* The negotiated subprotocol ("" if none). Returns: a string owned by
 * ws. */
CIO_API const char *cio_ws_protocol(const cio_ws *ws);

/* Whether permessage-deflate was negotiated. Returns: 1 or 0. */
CIO_API int cio_ws_compressed(const cio_ws *ws);

#ifdef __cplusplus
}
#endif

#endif
