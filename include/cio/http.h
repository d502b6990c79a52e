/*
 * cio/http.h - cio::http, an HTTP/1.1 server framework on cio's loop with
 * sanic's surface in C: an app object, routes with sanic's parameter syntax,
 * handlers that are coroutines on the connection's task, request and
 * response objects, and cio_http_run() with one loop per worker thread.
 *
 * A separate library (link cio::http or `pkg-config cio-http`); cio.h does
 * not include this header. Long-form notes: docs/design.md, section HTTP.
 *
 * Lifetimes: every view a request hands out (method, path, parameters,
 * query arguments, headers, cookies, body) is borrowed: it points into the
 * connection's buffers and is valid until the handler returns. Copy what
 * you keep.
 */
#ifndef CIO_HTTP_H
#define CIO_HTTP_H

#include "cio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A malformed or refused HTTP message (the connection-level error). */
#define CIO_EHTTP (-4080)

/* Decodes %XX escapes of src[0..n) into dst (room for n bytes; dst may be
 * src), and '+' as a space when plus is non-zero (form and query
 * encoding). A '%' not followed by two hex digits is kept as is (Python's
 * unquote does the same). Returns: the decoded length (<= n). Errors:
 * -EINVAL for NULL pointers with n > 0. */
CIO_API long cio_http_unquote(char *dst, const char *src, size_t n, int plus);

/* Iterates over the pairs of a query string or urlencoded form body
 * ("a=1&b=&c"): *pos (start at 0) is advanced past one pair of s[0..n)
 * and the raw (still encoded) key and value views are stored (borrowed
 * from s; a pair without '=' has an empty value). Empty pairs are
 * skipped. Returns: 1 with a pair, 0 at the end. Errors: -EINVAL. */
CIO_API int cio_http_query_next(const char *s, size_t n, size_t *pos,
                                const char **key, size_t *key_len,
                                const char **value, size_t *value_len);

struct cJSON; /* cJSON's value type (Debian libcjson-dev, <cjson/cJSON.h>) */

/* ======================================================================
 * App and routes
 * An app holds the routes and the configuration; it is built before the
 * server starts and read-only while it serves (worker threads share it).
 * ====================================================================== */

typedef struct cio_http_app cio_http_app;
typedef struct cio_http_request cio_http_request;
typedef struct cio_http_response cio_http_response;
typedef struct cio_http_server cio_http_server;

/* Methods for cio_http_route (OR them; 0 means GET). */
#define CIO_HTTP_GET (1u << 0)
#define CIO_HTTP_HEAD (1u << 1)
#define CIO_HTTP_POST (1u << 2)
#define CIO_HTTP_PUT (1u << 3)
#define CIO_HTTP_DELETE (1u << 4)
#define CIO_HTTP_PATCH (1u << 5)
#define CIO_HTTP_OPTIONS (1u << 6)
/* Not a method: OR it into the methods of cio_http_route / add_route /
 * blueprint routes to make the route's handler read the request body
 * itself, in pieces as it arrives, with cio_http_request_read (sanic's
 * `stream=True`). The server then does not read the body before the
 * handler, and max_body and body_timeout apply to the handler's reads. */
#define CIO_HTTP_STREAM (1u << 16)

/* A handler: a coroutine run on the connection's task, so it may await
 * anything cio offers (cio_sleep, sockets, executors, queues...). It fills
 * res with one of the cio_http_response_* calls. req and res are borrowed
 * until it returns; arg is the one given to cio_http_route. Returning
 * -status (400..599, e.g. `return -403;`, sanic's `abort(403)`) makes the
 * server answer that status (through cio_http_app_error_handler's
 * handlers, whatever res holds); returning another negative value (or
 * filling no response) makes it answer 500 without internal detail and
 * log the error to stderr. */
typedef int (*cio_http_handler)(cio_http_request *req, cio_http_response *res,
                                void *arg);

/* Creates an empty app; name (copied, may be NULL) is used in logs.
 * Returns: 0 and *out. Errors: -EINVAL (NULL out), -ENOMEM; *out is NULL on
 * failure. */
CIO_API int cio_http_app_new(cio_http_app **out, const char *name);

/* Frees the app (NULL ignored); no server may be running it. Returns: 0.
 * Errors: -EBUSY while a server runs it. */
CIO_API int cio_http_app_free(cio_http_app *app);

/* sanic's `@app.route(pattern, methods=...)`: routes pattern (copied) for
 * methods (CIO_HTTP_* bits, 0: GET) to handler(req, res, arg) (arg
 * borrowed for the app's life). Pattern syntax is sanic's: static
 * segments, `<name>` (a non-empty segment), <name:int>, <name:float> (also
 * <name:number>), <name:alpha>, <name:slug>, <name:str>, <name:path> (the
 * rest of the path, last segment only), <name:uuid>, <name:ymd>,
 * <name:ext> (or <name:ext=jpg|png>), or <name:REGEX> (PCRE2, matched
 * against the whole segment). A trailing slash is ignored (sanic's
 * strict_slashes=False). A request whose typed segment does not match is a
 * 404; a known path with another method is a 405 with Allow; HEAD is
 * served by the GET handler without the body; OPTIONS is answered with
 * Allow unless routed. Returns: 0. Errors: -EINVAL (bad pattern or
 * argument), -EEXIST (conflicts with a route already there: the same path
 * shape for one of the same methods), -EBUSY (server running), -ENOMEM;
 * cio_http_app_error() says why. */
CIO_API int cio_http_route(cio_http_app *app, const char *pattern,
                           cio_http_handler handler, void *arg,
                           unsigned methods);

/* sanic's app.add_route(handler, uri, methods=...): the same as
 * cio_http_route with the arguments in sanic's order. Returns/Errors: as
 * cio_http_route. */
CIO_API int cio_http_add_route(cio_http_app *app, cio_http_handler handler,
                               void *arg, const char *pattern,
                               unsigned methods);

/* The message of the last failed registration ("" if none). Returns: a
 * string borrowed until the next call on app. */
CIO_API const char *cio_http_app_error(const cio_http_app *app);

/* Limits and timeouts (0 or NULL fields: the default in brackets). */
typedef struct cio_http_config {
    size_t max_request_line;  /* [8190] longer: 414 */
    size_t max_header_line;   /* [8190] one field longer: 431 */
    size_t max_head;          /* [16384] request line + fields: 431 */
    size_t max_headers;       /* [100] more fields: 431 */
    size_t max_body;          /* [8 MiB] larger body: 413 */
    int64_t head_timeout;     /* [10 s] to receive a whole head: 408 */
    int64_t body_timeout;     /* [30 s] to receive a whole body: 408 */
    int64_t keep_alive_timeout; /* [5 s] idle between requests: close */
    int64_t write_timeout;    /* [30 s] to hand a response to the kernel */
    int max_connections;      /* [10000] per worker; more: closed at once */
    int access_log;           /* [0] 1: one line per request on stdout in
                               * the common format (as
                               * cio_http_app_access_log(app,
                               * CIO_HTTP_ACCESS_LOG_COMMON, -1)) */
    int64_t shutdown_timeout; /* [5 s] graceful close: in-flight requests
                               * may finish this long, then are cancelled */
} cio_http_config;

#define CIO_HTTP_CONFIG_INIT {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

/* The common log format (Apache's, aiohttp's default without the
 * referer and user agent). */
#define CIO_HTTP_ACCESS_LOG_COMMON "%a - - %t \"%r\" %s %b"

/* Turns the access log on: one line per answered request, in format
 * (copied; NULL turns the log off again), written to fd (borrowed, not
 * closed; -1: stdout). Directives, as aiohttp's: %a remote address, %t
 * time of the line ([06/Dec/2026:21:00:00 +0000]), %r request line, %s
 * status, %b body bytes ("-" for none), %T seconds and %D microseconds
 * since the head arrived, %m method, %U path, %q query ("?a=1" or ""), %P
 * process id, %{Name}i a request header ("-" when absent), %% a percent
 * sign; CIO_HTTP_ACCESS_LOG_COMMON is the usual line. Control characters
 * of the request are written as '?'. Off by default. Lines are formatted
 * by the worker and written by a thread of the log, so a slow destination
 * never blocks a loop: at most 1 MiB waits, and lines beyond that are
 * dropped (counted by cio_http_app_access_log_dropped). Queued lines are
 * written before cio_http_app_free returns. Returns: 0. Errors: -EINVAL
 * (NULL app, fd < -1, unknown directive or bad header name), -EBUSY
 * (server running), -ENOMEM, -EAGAIN (no thread). */
CIO_API int cio_http_app_access_log(cio_http_app *app, const char *format,
                                    int fd);

/* Lines the access log dropped because its queue was full (0 when off). */
CIO_API unsigned long long
cio_http_app_access_log_dropped(const cio_http_app *app);

/* Sets the app's configuration (cfg copied; NULL: defaults). Returns: 0.
 * Errors: -EINVAL (NULL app, negative values), -EBUSY (server running). */
CIO_API int cio_http_app_configure(cio_http_app *app,
                                   const cio_http_config *cfg);

/* HTTPS: every server of the app started afterwards (cio_http_run with
 * any number of workers, cio_http_run_processes, cio_http_server_start)
 * serves TLS with ctx, a CIO_TLS_SERVER context holding the certificate
 * (cio/tls.h; its verification mode asks for client certificates, SNI
 * picks per-name certificates). ctx is retained (the caller may free its
 * reference at once; the app drops its own in cio_http_app_free or when
 * another context replaces it); NULL turns TLS off again. One context
 * serves every worker thread (OpenSSL's contexts are thread-safe once set
 * up; each connection retains it). The app sets ctx's ALPN list: "h2" and
 * "http/1.1" when HTTP/2 is on (cio_http_app_http2, before or after this
 * call), else "http/1.1"; a connection that agrees on "h2" is served as
 * HTTP/2, any other as HTTP/1.1, by the same routes and handlers
 * (WebSocket routes too: wss://). Do not share ctx with a server that
 * needs another ALPN list.
 *
 * Each connection's handshake runs in its own task before any HTTP byte
 * is read, bounded by head_timeout (and the context's handshake
 * timeout); a server closing does not wait for handshakes. A handshake
 * that fails (a plain-HTTP client on the TLS port, a client that stalls
 * or gives up, no common cipher, a refused client certificate) closes
 * that connection only and is logged on stderr (one line a second per
 * server at most; the line counts those not shown). Static files go out
 * with read + write through TLS (sendfile only with kernel TLS,
 * cio_tls_ctx_set_ktls). Returns: 0. Errors: -EINVAL (NULL app),
 * -EBUSY (a server runs the app), CIO_ETLS_CONFIG, -ENOMEM (setting the
 * ALPN list; the app keeps its previous context). */
CIO_API int cio_http_app_tls(cio_http_app *app, cio_tls_ctx *ctx);

/* sanic's after_server_start listener: fn(app, port, arg) runs once every
 * worker listens, on the thread that called cio_http_run (arg borrowed).
 * Returns: 0. Errors: -EINVAL. */
CIO_API int cio_http_app_on_start(cio_http_app *app,
                                  void (*fn)(cio_http_app *app, int port,
                                             void *arg),
                                  void *arg);

/* Listener kinds (sanic's server events). */
#define CIO_HTTP_BEFORE_SERVER_START 0 /* before the worker listens */
#define CIO_HTTP_AFTER_SERVER_START 1  /* once the worker listens */
#define CIO_HTTP_BEFORE_SERVER_STOP 2  /* stop asked, before closing */
#define CIO_HTTP_AFTER_SERVER_STOP 3   /* after the server closed */

/* A listener: a coroutine run by cio_http_run on each worker's loop (in a
 * task of that loop, so it may await anything; with several workers it
 * runs once per worker, concurrently on their threads). port is the
 * worker's port (0 before it listens). */
typedef int (*cio_http_listener)(cio_http_app *app, int port, void *arg);

/* sanic's `@app.listener('before_server_start')` and the three others:
 * fn(app, port, arg) (arg borrowed for the app's life) runs at that point
 * of every worker started by cio_http_run. Start listeners run in
 * registration order, stop listeners in reverse order (as sanic does). A
 * before_server_start listener that returns < 0 makes that worker not
 * start (cio_http_run returns its error); the return of the others is
 * ignored. cio_http_server_start alone runs none of them. Returns: 0.
 * Errors: -EINVAL (NULL, unknown kind), -EBUSY (server running), -ENOMEM. */
CIO_API int cio_http_app_listener(cio_http_app *app, int kind,
                                  cio_http_listener fn, void *arg);

/* ======================================================================
 * Middleware, blueprints, error handlers
 * ====================================================================== */

/* Middleware kinds. */
#define CIO_HTTP_MW_REQUEST 0  /* before the handler, registration order */
#define CIO_HTTP_MW_RESPONSE 1 /* after it, reverse registration order */

/* sanic's `@app.middleware('request') / ('response')`: fn(req, res, arg)
 * (a coroutine on the connection's task; arg borrowed for the app's life).
 * Request middleware runs for requests that matched a route, before the
 * handler; one that fills res answers the request (the handler and the
 * remaining request middleware are skipped). Response middleware runs on
 * every response the app produced (the handler's, 404, 405, OPTIONS, 500;
 * not on rejections of malformed requests) and may change it. A negative
 * return makes the response a 500. Returns: 0. Errors: -EINVAL (NULL,
 * unknown kind), -EBUSY (server running), -ENOMEM. */
typedef int (*cio_http_middleware)(cio_http_request *req,
                                   cio_http_response *res, void *arg);
CIO_API int cio_http_app_middleware(cio_http_app *app, int kind,
                                    cio_http_middleware fn, void *arg);

/* sanic's Blueprint(name, url_prefix): a group of routes with a URL
 * prefix and middleware of its own, which runs after the app's request
 * middleware and before the app's response middleware, for the group's
 * routes only. */
typedef struct cio_http_blueprint cio_http_blueprint;

/* Creates a blueprint; name and url_prefix (e.g. "/api", NULL or "" for
 * none, no trailing slash) are copied. Returns: 0 and *out. Errors:
 * -EINVAL, -ENOMEM; *out is NULL on failure. */
CIO_API int cio_http_blueprint_new(cio_http_blueprint **out, const char *name,
                                   const char *url_prefix);

/* Frees a blueprint that was never given to an app (NULL ignored). */
CIO_API void cio_http_blueprint_free(cio_http_blueprint *bp);

/* Adds a route to the blueprint (pattern relative to its prefix; "/" is
 * the prefix itself). Checked when the blueprint is registered. Returns:
 * 0. Errors: -EINVAL, -EBUSY (already registered), -ENOMEM. */
CIO_API int cio_http_blueprint_route(cio_http_blueprint *bp,
                                     const char *pattern,
                                     cio_http_handler handler, void *arg,
                                     unsigned methods);

/* Middleware for the blueprint's routes (kinds as for the app). Returns:
 * 0. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_http_blueprint_middleware(cio_http_blueprint *bp, int kind,
                                          cio_http_middleware fn, void *arg);

/* sanic's app.blueprint(bp): registers every route of bp under its prefix.
 * Takes bp whatever the outcome (it is freed with the app). A conflict
 * between two routes of bp registers none of them; a conflict with a
 * route already in the app stops there (the routes of bp before it stay
 * registered). Returns: 0. Errors: as cio_http_route
 * (cio_http_app_error says which route), -EBUSY (bp given twice, or the
 * server is running: bp not taken), -EINVAL (NULL: not taken). */
CIO_API int cio_http_app_blueprint(cio_http_app *app, cio_http_blueprint *bp);

/* Custom error answers (sanic's `app.error_handler.add(NotFound, h)` /
 * `@app.exception`): handler(req, res, arg) is called, on the
 * connection's task (it may suspend), for an error answer with `status`
 * (400..599), or for any error answer without a handler of its own when
 * status is CIO_HTTP_ERROR_ANY (0). res already holds the default answer
 * (a short text/plain body with the status); the handler may replace the
 * body, change the status and add headers; it cannot stream or send a
 * file (the default is sent instead), and if it fails or sets nothing
 * the default is sent.
 * The error answers that go through it:
 *   - 404 (no route), 405 (wrong method: res has the Allow header),
 *     500 (a handler or middleware failed), 501 (unknown method);
 *   - a status a handler or middleware asked for by returning -status
 *     (400..599: `return -403;` is sanic's `abort(403)`), nothing logged;
 *   - a streamed body's failure (400, 408, 413) when its handler fails;
 *   - the server's own rejections before routing, each answered with
 *     Connection: close: a malformed request (400), a request line, head
 *     or header count over the limits (414, 431), an unsupported version
 *     (505), a body over max_body or a bad body (413, 400), a head or
 *     body that did not arrive in time (408). For these, req has an empty
 *     method and path and no headers when the head itself was the
 *     problem (400, 408 of a head, 414, 431, 505), and the parsed head
 *     (no body) when the body was.
 * Borrowed: req and res, for the call. Register before the server runs.
 * Returns: 0. Errors: -EINVAL (status not 0 or 400..599, NULL handler),
 * -EBUSY (the server is running), -ENOMEM. */
#define CIO_HTTP_ERROR_ANY 0
CIO_API int cio_http_app_error_handler(cio_http_app *app, int status,
                                       cio_http_handler handler, void *arg);

/* The same for errors on the blueprint's routes (a handler's or its
 * middleware's failure or -status, a streamed body's failure): the
 * blueprint's handler for the status comes first, then its catch-all,
 * then the app's. Errors found before a route is known (404, 405, 501,
 * the server's rejections) use the app's. Returns: 0. Errors: as
 * cio_http_app_error_handler. */
CIO_API int cio_http_blueprint_error_handler(cio_http_blueprint *bp,
                                             int status,
                                             cio_http_handler handler,
                                             void *arg);

/* ======================================================================
 * Running
 * ====================================================================== */

/* sanic's app.run(host, port, workers): serves app on host:port (host
 * numeric, NULL: 127.0.0.1; port 0: a free port, reported to the on_start
 * listener and by cio_http_app_port) with `workers` threads (< 1: 1), each
 * running its own loop with its own SO_REUSEPORT listener
 * (shared-nothing). Blocks until SIGINT or SIGTERM arrives (Ctrl-C), or
 * cio_http_app_stop is called; then closes every worker's server as
 * cio_http_server_close does (gracefully) and returns. SIGINT and SIGTERM are blocked in the calling
 * thread (and so in the workers) while it runs, and restored after.
 * Returns: 0 after a clean stop. Errors: -EADDRINUSE, -EACCES, -EINVAL
 * (bad host, NULL app), -EBUSY (already running), -ENOMEM, -errno. */
CIO_API int cio_http_run(cio_http_app *app, const char *host, int port,
                         int workers);

/* sanic's app.run(workers=N) in process mode: forks `processes` worker
 * processes (< 1: 1), each running cio_http_run(app, host, port, 1): its
 * own loop and its own SO_REUSEPORT listener on the same port, so the
 * kernel spreads connections over them (shared-nothing across processes:
 * each worker has its own copy of everything the app holds, and its
 * listeners run in it). Port 0: a free port, chosen by the calling process
 * and held while the workers bind it. The calling process serves nothing:
 * once every worker listens it reports the port (the on_start listener,
 * cio_http_app_port), then blocks until SIGINT or SIGTERM (Ctrl-C), or
 * cio_http_app_stop, or a worker's end; then it sends SIGTERM to every
 * worker, which closes gracefully as cio_http_run does, and waits for them
 * (SIGKILL after shutdown_timeout + 5 s). Workers get SIGTERM if the
 * calling process dies. SIGINT and SIGTERM are blocked in the calling
 * thread while it runs. Call it from a process that can fork (no locks held
 * by other threads across the call). Returns: 0 after a clean stop of
 * every worker. Errors: -EINVAL, -EBUSY (already running), -EADDRINUSE,
 * -EACCES, -ETIMEDOUT (a worker did not listen within 15 s),
 * CIO_ECHILD_DIED (a worker failed to start, ended by itself, or did not
 * exit cleanly), -ENOMEM, -errno of fork/pipe. */
CIO_API int cio_http_run_processes(cio_http_app *app, const char *host,
                                   int port, int processes);

/* Asks a running cio_http_run to stop, from any thread (as Ctrl-C does).
 * Returns: 0. Errors: -EINVAL on NULL. */
CIO_API int cio_http_app_stop(cio_http_app *app);

/* The port cio_http_run listens on, once it listens. Returns: the port.
 * Errors: -EAGAIN (not listening yet), -EINVAL. */
CIO_API int cio_http_app_port(const cio_http_app *app);

/* Starts serving app on the running loop (inside a task): binds host:port
 * (as cio_http_run; SO_REUSEPORT set), listens and accepts in a task of
 * its own. Returns: 0 and *out (close it with cio_http_server_close).
 * Errors: as cio_http_run, and -EINVAL outside a task; *out is NULL on
 * failure. */
CIO_API int cio_http_server_start(cio_http_app *app, const char *host,
                                  int port, cio_http_server **out);

/* The port the server listens on. Errors: -EINVAL on NULL. */
CIO_API int cio_http_server_port(const cio_http_server *srv);

/* Graceful close: stops accepting, closes idle keep-alive connections,
 * lets requests in flight finish (their responses carry Connection:
 * close) for up to shutdown_timeout, then cancels the connections still
 * open (handlers see -ECANCELED at their suspension point), waits for
 * them to end and frees the server (NULL ignored). Returns: 0. Errors: -EINVAL (outside a task
 * of the server's loop; nothing done), -ECANCELED (the caller was
 * cancelled while waiting: the close still completed and srv is freed).
 * Suspends. */
CIO_API int cio_http_server_close(cio_http_server *srv);

/* ======================================================================
 * Requests
 * Every pointer returned below is borrowed: it points into the
 * connection's buffers and is valid until the handler returns. Strings
 * marked "decoded" are NUL-terminated; views are not.
 * ====================================================================== */

/* The method ("GET"), as sent. Returns: a view; *len its length. */
CIO_API const char *cio_http_request_method(const cio_http_request *req,
                                            size_t *len);

/* The path of the target, still percent-encoded, without the query.
 * Returns: a view; *len its length. */
CIO_API const char *cio_http_request_path(const cio_http_request *req,
                                          size_t *len);

/* The raw query string (after '?', without it; "" if none). Returns: a
 * view; *len its length. */
CIO_API const char *cio_http_request_query(const cio_http_request *req,
                                           size_t *len);

/* The path parameter called name, percent-decoded. Returns: the decoded
 * string, or NULL if the route has no such parameter. len may be NULL. */
CIO_API const char *cio_http_request_param(cio_http_request *req,
                                           const char *name, size_t *len);

/* sanic's request.args: the idx-th value (0 = first) of query argument
 * name, decoded ('+' is a space). Returns: the decoded string, or NULL if
 * there is no such value. len may be NULL. */
CIO_API const char *cio_http_request_arg(cio_http_request *req,
                                         const char *name, size_t idx,
                                         size_t *len);

/* The idx-th field called name (ASCII case-insensitive), without
 * surrounding whitespace. Returns: a view, or NULL. len may be NULL. */
CIO_API const char *cio_http_request_header(const cio_http_request *req,
                                            const char *name, size_t idx,
                                            size_t *len);

/* The value of cookie name from the Cookie fields. Returns: a view, or
 * NULL. len may be NULL. */
CIO_API const char *cio_http_request_cookie(const cio_http_request *req,
                                            const char *name, size_t *len);

/* The whole request body (chunked bodies already decoded; read before the
 * handler runs, up to max_body). Returns: a view (never NULL); *len its
 * length. */
CIO_API const char *cio_http_request_body(const cio_http_request *req,
                                          size_t *len);

/* sanic's request.json: the body parsed as JSON on first call. Returns: a
 * cJSON value owned by the request (borrowed until the handler returns),
 * or NULL if the body is not JSON. */
CIO_API const struct cJSON *cio_http_request_json(cio_http_request *req);

/* sanic's request.form, for application/x-www-form-urlencoded and
 * multipart/form-data bodies: the idx-th value of field name (decoded;
 * for multipart, the idx-th part with that name and no filename). Returns:
 * the decoded string, or NULL (no such field, or a malformed body). len
 * may be NULL. */
CIO_API const char *cio_http_request_form(cio_http_request *req,
                                          const char *name, size_t idx,
                                          size_t *len);

/* sanic's request.files: the idx-th file part (one with a filename)
 * called name of a multipart/form-data body. The body was read whole, so
 * the data is a view into it (up to max_body; to stream file parts to
 * disk, use a CIO_HTTP_STREAM route and cio_http_request_read_form). Returns: the data (a view) with *len its length, and
 * in *filename and *content_type (each may be NULL; "" when absent)
 * NUL-terminated copies, all borrowed until the handler returns; NULL if
 * there is no such part or the body is malformed. */
CIO_API const void *cio_http_request_file(cio_http_request *req,
                                          const char *name, size_t idx,
                                          size_t *len, const char **filename,
                                          const char **content_type);

/* Reads the next piece of the request body (sanic's
 * `await request.stream.read()`). On a CIO_HTTP_STREAM route the pieces
 * come as the client sends them: what is already buffered first, then one
 * socket read at a time, decoded (Content-Length or chunked); nothing is
 * read from the socket until the handler asks, so a handler that is slow
 * to consume holds the client back through TCP (back-pressure) and the
 * server buffers at most 16 KiB of it. "100 Continue" is sent at the first
 * read when the client expects it. On other routes the body was read whole
 * before the handler and comes back as one piece. What the handler does
 * not read is drained after it returns (or the connection is closed).
 * Returns: > 0, the piece's length, with *data a view borrowed until the
 * next call or the handler's return; 0 at the end of the body (and again
 * on later calls). Errors: -EINVAL (NULL argument, not in a handler),
 * CIO_EHTTP_BODY_TOO_LARGE (more than max_body: if the handler then fails,
 * the client gets 413), CIO_EHTTP_BODY_MALFORMED (bad chunked framing:
 * 400), CIO_EHTTP_BODY_INCOMPLETE (the client closed early), -ETIMEDOUT
 * (body_timeout from the end of the head: 408), -ECANCELED, -errno; after
 * an error other than -ECANCELED every later call returns the same error
 * and the connection is closed after the response. Suspends. */
CIO_API ssize_t cio_http_request_read(cio_http_request *req,
                                      const void **data);

/* 1 when req's body is streamed (a CIO_HTTP_STREAM route whose request has
 * a body): cio_http_request_body, _json, _form and _file then see no body;
 * read it with cio_http_request_read or cio_http_request_read_form. 0
 * otherwise (also for NULL). */
CIO_API int cio_http_request_streamed(const cio_http_request *req);

/* Options of cio_http_request_read_form (0 or NULL fields: the default in
 * brackets). */
typedef struct cio_http_form_opts {
    const char *dir;          /* [$TMPDIR or /tmp] where file parts spill */
    size_t memory_limit;      /* [64 KiB] a file part larger than this goes
                               * to a temporary file in dir */
    uint64_t max_file_size;   /* [max_body] a larger file part fails the
                               * form with CIO_EHTTP_FILE_TOO_LARGE */
    size_t max_fields_size;   /* [1 MiB] all non-file fields together (or
                               * an urlencoded body); more: 413 */
} cio_http_form_opts;

/* Reads a form body as it arrives (use it on a CIO_HTTP_STREAM route; on
 * others the body is already in memory and this copies it the same way):
 * multipart/form-data fields are kept in memory, file parts in memory up
 * to opts->memory_limit and beyond it written, as they arrive, to a
 * temporary file in opts->dir (removed when the handler returns);
 * application/x-www-form-urlencoded bodies are read whole up to
 * max_fields_size. Afterwards cio_http_request_form answers the fields and
 * cio_http_request_upload the files. opts is borrowed for the call (NULL:
 * defaults). Calling it again returns 0 at once. Returns: 0. Errors:
 * -EINVAL (NULL req, not a form's Content-Type), CIO_EHTTP_FILE_TOO_LARGE
 * (a file part above max_file_size: if the handler then fails, 413),
 * CIO_EHTTP_BODY_TOO_LARGE (fields above their limit or the body above
 * max_body: 413), CIO_EHTTP_BODY_MALFORMED (not valid multipart: 400),
 * the errors of cio_http_request_read, -errno of creating or writing a
 * temporary file, -ENOMEM. After an error the form is partly read (what
 * was read stays available) and the connection closes after the
 * response. Suspends. */
CIO_API int cio_http_request_read_form(cio_http_request *req,
                                       const cio_http_form_opts *opts);

/* A file part read by cio_http_request_read_form. All pointers are
 * borrowed until the handler returns. */
typedef struct cio_http_upload {
    const char *filename;     /* as the client sent it ("" if empty) */
    const char *content_type; /* the part's Content-Type ("" if none) */
    uint64_t size;            /* bytes */
    const void *data;         /* the bytes when kept in memory, else NULL */
    const char *path;         /* the temporary file when spilled to disk,
                               * else NULL; removed after the handler (move
                               * it with rename(2) to keep it) */
} cio_http_upload;

/* The idx-th file part called name (sanic's request.files.getlist(name)
 * [idx]) of the form cio_http_request_read_form read, into *out. Returns:
 * 0. Errors: -EINVAL (NULL argument), -ENOENT (no such part, or no form
 * read). */
CIO_API int cio_http_request_upload(cio_http_request *req, const char *name,
                                    size_t idx, cio_http_upload *out);

/* The peer's address into *out. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_http_request_remote(const cio_http_request *req,
                                    cio_sockaddr *out);

/* The TLS state of the connection the request came on (negotiated
 * version, cipher, ALPN - "h2" for HTTP/2 over TLS -, SNI name, client
 * certificate: the accessors of cio/tls.h), or NULL on a plain-TCP
 * connection. Borrowed: valid until the handler returns. */
CIO_API cio_tls_conn *cio_http_request_tls(const cio_http_request *req);

/* Per-request context pointer (sanic's request.ctx): NULL until set; the
 * pointer is the caller's (borrowed) and forgotten after the request. */
CIO_API void *cio_http_request_ctx(const cio_http_request *req);
CIO_API void cio_http_request_set_ctx(cio_http_request *req, void *ctx);

/* ======================================================================
 * Responses
 * One of the body calls (text, html, json, raw, empty, redirect) sets the
 * status and the body; a later one replaces the earlier. Every string and
 * buffer is copied. They return 0, or -EINVAL (NULL res, status outside
 * 100..599, a header name that is not a token or a value with CR/LF) or
 * -ENOMEM.
 * ====================================================================== */

/* text/plain; charset=utf-8 (sanic's text()). */
CIO_API int cio_http_response_text(cio_http_response *res, int status,
                                   const char *text);

/* text/html; charset=utf-8 (sanic's html()). */
CIO_API int cio_http_response_html(cio_http_response *res, int status,
                                   const char *html);

/* application/json (sanic's json()): value (borrowed for the call) is
 * serialised compactly. */
CIO_API int cio_http_response_json(cio_http_response *res, int status,
                                   const struct cJSON *value);

/* application/json from an already serialised document (copied). */
CIO_API int cio_http_response_json_text(cio_http_response *res, int status,
                                        const char *json);

/* Raw bytes with a content type (NULL: application/octet-stream). */
CIO_API int cio_http_response_raw(cio_http_response *res, int status,
                                  const void *data, size_t len,
                                  const char *content_type);

/* No body (sanic's empty(), 204 by default when status is 0). */
CIO_API int cio_http_response_empty(cio_http_response *res, int status);

/* A redirect to location (status 0: 302). */
CIO_API int cio_http_response_redirect(cio_http_response *res,
                                       const char *location, int status);

/* A file as the response (sanic's file()): path (borrowed for the call)
 * is opened now and sent with sendfile(2) after the head. Honours
 * If-None-Match / If-Modified-Since (304), a single "Range: bytes=" range
 * (206 with Content-Range; 416 when unsatisfiable; several ranges get the
 * whole file), sets ETag, Last-Modified, Accept-Ranges and Content-Type by
 * extension. A missing file is a 404 response (403 if not readable), not
 * an error. Returns: 0. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_http_response_file(cio_http_request *req,
                                   cio_http_response *res, const char *path);

/* sanic's app.static(prefix, dir): serves the files under dir (resolved
 * now) at `prefix/<path>` for GET and HEAD, index.html for directories.
 * Requests with ".", ".." or empty segments, or whose file resolves
 * (symbolic links followed) outside dir, get 404. Returns: 0. Errors: as
 * cio_http_route, -ENOENT (no dir), -errno. */
CIO_API int cio_http_app_static(cio_http_app *app, const char *prefix,
                                const char *dir);

/* Changes the status of the response set so far. */
CIO_API int cio_http_response_status(cio_http_response *res, int status);

/* The status of the response set so far (in an error handler: the error
 * being answered), 0 if none is set or res is NULL. */
CIO_API int cio_http_response_get_status(const cio_http_response *res);

/* Adds a header field (repeatable). Content-Length, Transfer-Encoding,
 * Connection and Date are the server's: -EINVAL. */
CIO_API int cio_http_response_header(cio_http_response *res,
                                     const char *name, const char *value);

/* Adds Set-Cookie: name=value; attrs (attrs may be NULL, e.g. "Path=/;
 * HttpOnly; Max-Age=60"). -EINVAL also for a name that is not a token or
 * a value with ';', ',', space, quote or control characters. */
CIO_API int cio_http_response_cookie(cio_http_response *res,
                                     const char *name, const char *value,
                                     const char *attrs);

/* ======================================================================
 * Streaming responses and server-sent events
 * A handler (or request middleware) may send its body over time from its
 * coroutine instead of all at once: cio_http_response_stream sends the
 * head, each cio_http_response_write sends one chunk, and returning from
 * the handler ends the body. Each write waits until the kernel took the
 * chunk (up to write_timeout), so a client that does not read suspends
 * the handler there: the server holds at most one chunk, whatever the
 * handler produces (back-pressure). After the head left, the other
 * response calls (body, status, header, cookie) fail with -EBUSY and
 * response middleware does not run. A handler that fails (negative
 * return) after the head left, or whose write failed, ends the connection
 * without the last chunk, so the client sees a truncated body.
 * ====================================================================== */

/* Sends the head of a streamed response: status (200..599, not 204/304),
 * content_type (borrowed for the call; NULL: text/plain; charset=utf-8)
 * and the headers and cookies added so far; HTTP/1.1 clients get
 * Transfer-Encoding: chunked, HTTP/1.0 clients a body ended by closing the
 * connection. Returns: 0. Errors: -EINVAL (bad argument, or not called
 * while a handler runs), -EBUSY (already streaming), -ETIMEDOUT (write
 * timeout), -ECANCELED, -EPIPE / -ECONNRESET (the client left). Suspends. */
CIO_API int cio_http_response_stream(cio_http_response *res, int status,
                                     const char *content_type);

/* Sends data[0..len) (borrowed for the call) as one chunk of a streamed
 * response (len 0: nothing; HEAD requests: nothing sent). Returns: 0 once
 * the kernel took it. Errors: -EINVAL (not streaming), -ENOMEM,
 * -ETIMEDOUT (the client did not read for write_timeout), -ECANCELED,
 * -EPIPE / -ECONNRESET; after an error every later write fails the same
 * way. Suspends. */
CIO_API int cio_http_response_write(cio_http_response *res, const void *data,
                                    size_t len);

/* sanic's server-sent events: starts a streamed 200 response with
 * Content-Type: text/event-stream and Cache-Control: no-cache. Returns and
 * Errors: as cio_http_response_stream. Suspends. */
CIO_API int cio_http_response_sse(cio_http_response *res);

/* Sends one event of a stream begun with cio_http_response_sse: optional
 * "event:" (event, NULL: none) and "id:" (id, NULL: none) fields, then
 * data (borrowed; required, may be "") as one "data:" line per line of it
 * (CR LF, CR or LF separate lines), then the blank line that dispatches
 * the event. Returns: 0. Errors: -EINVAL (not streaming, NULL data, CR or
 * LF in event or id), else as cio_http_response_write. Suspends. */
CIO_API int cio_http_response_sse_event(cio_http_response *res,
                                        const char *event, const char *data,
                                        const char *id);

#ifdef __cplusplus
}
#endif

/* WebSocket (cio_http_websocket, cio_ws_connect...). */
#include "cio/websocket.h"
/* The client (aiohttp's ClientSession). */
#include "cio/http_client.h"

#endif
