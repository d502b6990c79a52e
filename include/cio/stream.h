/*
 * cio/stream.h - asyncio's streams (open_connection, start_server,
 * StreamReader, StreamWriter), its protocols and transports
 * (create_connection, create_server, Protocol, BufferedProtocol), and the
 * server object both kinds of server share. Included by cio.h; do not
 * include directly.
 *
 * Streams are for tasks: a task reads its own descriptor through the
 * reader's buffer and suspends only when the kernel says EAGAIN.
 * Transports are for callbacks: the loop reads when the descriptor is
 * readable and hands the bytes to the protocol. Both sit on the same
 * edge-triggered descriptor registration, write with the system call
 * first and buffer only the unsent tail, send with MSG_NOSIGNAL (a closed
 * peer gives -EPIPE, never SIGPIPE), and work on any non-blocking stream
 * descriptor: TCP and Unix sockets, and pipes (for subprocesses).
 */
#ifndef CIO_STREAM_H
#define CIO_STREAM_H

#ifndef CIO_H
#error "include cio.h, not cio/stream.h"
#endif

#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Servers
 * One object for cio_start_server (a task per connection) and
 * cio_create_server (a protocol per connection), as asyncio's Server.
 * A server is bound to its loop and touched only from its thread.
 * ====================================================================== */

typedef struct cio_server cio_server;
typedef struct cio_tls_ctx cio_tls_ctx; /* cio/tls.h */

/* "Not given" for the write-buffer limits (asyncio's None):
 * cio_transport_set_write_buffer_limits(t, 0, CIO_LIMIT_DEFAULT) is
 * asyncio's set_write_buffer_limits(high=0), where 0 is a real zero. */
#define CIO_LIMIT_DEFAULT ((size_t)-1)

/* Per-connection buffer settings of streams and transports. Zero means
 * the default in every field (so a zero-initialised struct is all
 * defaults; CIO_LIMIT_DEFAULT means the same in high_water/low_water).
 * A high water mark of 0 is set after creation with
 * cio_stream_writer_set_write_buffer_limits /
 * cio_transport_set_write_buffer_limits, where 0 is a real zero. */
typedef struct cio_conn_opts {
    /* Stream readers: the most bytes readline/readuntil buffer while
     * looking for a separator (asyncio's limit; default 64 KiB). */
    size_t limit;
    /* Write-buffer high and low water marks (default 64 KiB and 16 KiB,
     * asyncio's): above high, writers are paused (drain suspends,
     * pause_writing is called) until the buffer is back to low. Only
     * high given: low = high / 4. */
    size_t high_water;
    size_t low_water;
    /* Transports: bytes read per read(2) into the per-connection buffer
     * handed to data_received (default 64 KiB), or the sizehint given to
     * get_buffer. */
    size_t read_size;
    /* Write-buffer hard cap (default 0: none, asyncio's behaviour): a
     * write that would take the unsent bytes past write_cap is refused
     * whole with -ENOBUFS (nothing of it sent or queued) and the
     * connection stays usable. The water marks ask a writer to wait; the
     * cap is what a writer that does not wait (a broadcaster, a protocol
     * callback) meets, so one peer that never reads cannot grow the
     * process without bound. Set it at or above high_water. See
     * cio_stream_writer_set_write_buffer_cap. */
    size_t write_cap;
    /* TLS (cio/tls.h): NULL for plain TCP. On a client call
     * (open_connection, create_connection) a client context: the
     * handshake runs before the call returns. On a server (start_server,
     * create_server: opts.conn.tls) a server context: each connection's
     * handshake runs before its handler / connection_made, and one that
     * fails is closed without reaching them (the server goes on).
     * Retained by the connection or server; the caller may free its
     * reference after the call. */
    cio_tls_ctx *tls;
    /* Client TLS: the name sent as SNI and checked against the
     * certificate (asyncio's server_hostname); NULL: the host argument
     * (no SNI when it is an IP address, whose certificate IP is checked
     * then). Borrowed for the call. */
    const char *server_hostname;
    /* Clients only (cio_open_connection, cio_create_connection,
     * cio_open_unix_connection ignores it): Happy Eyeballs (RFC 8305,
     * asyncio's happy_eyeballs_delay), in ns. 0 (default): addresses
     * are tried one after the other, each until it connects or fails.
     * > 0: a connection attempt to the next address starts when the
     * previous one has neither connected nor failed after this delay (or
     * at once when it fails); the first to connect wins and the others
     * are closed. RFC 8305 recommends 250 * CIO_MS. */
    int64_t happy_eyeballs_delay;
    /* Clients only: asyncio's interleave, the order of the resolved
     * addresses. 0 (default): 1 with Happy Eyeballs, the resolver's
     * order without. n > 0: the first n addresses of the first family
     * the resolver returned, then one of each family in turn (RFC 8305
     * section 4, "First Address Family Count"). -1: the resolver's order. */
    int interleave;
} cio_conn_opts;

#define CIO_CONN_OPTS_INIT {0, 0, 0, 0, 0, NULL, NULL, 0, 0}

typedef struct cio_server_opts {
    /* listen(2) backlog; 0: 100 (asyncio's default). */
    int backlog;
    /* SO_REUSEADDR: 0 default (on, as asyncio on Unix), 1 on, -1 off. */
    int reuse_address;
    /* SO_REUSEPORT: 1 to share the port between sockets (several loops
     * in several threads each serving it; the kernel spreads
     * connections). */
    int reuse_port;
    /* asyncio's sock=: with use_sock 1, serve the bound socket sock
     * instead of binding host/port (the server takes it on success). */
    int use_sock;
    int sock;
    /* asyncio's start_serving=False: 1 creates the server without
     * accepting until cio_server_start_serving or _serve_forever. */
    int no_start;
    cio_conn_opts conn;
} cio_server_opts;

#define CIO_SERVER_OPTS_INIT {0, 0, 0, 0, -1, 0, CIO_CONN_OPTS_INIT}

/* Starts accepting, if not already (asyncio's start_serving). Returns: 0.
 * Errors: -EINVAL (NULL, closed server, wrong thread), -errno of
 * listen(2). */
CIO_API int cio_server_start_serving(cio_server *s);

/* Returns: 1 if the server accepts connections, 0 if not (also NULL). */
CIO_API int cio_server_is_serving(const cio_server *s);

/* Stops listening: closes the listening sockets. Connections already
 * accepted go on (asyncio's close). Idempotent. Returns: 0. Errors:
 * -EINVAL (NULL, wrong thread). */
CIO_API int cio_server_close(cio_server *s);

/* Closes every accepted connection as cio_stream_writer_close /
 * cio_transport_close do (pending output is flushed first). Returns: the
 * number of connections asked to close. Errors: -EINVAL. */
CIO_API int cio_server_close_clients(cio_server *s);

/* Like close_clients, with pending output discarded
 * (cio_transport_abort). Returns: the number. Errors: -EINVAL. */
CIO_API int cio_server_abort_clients(cio_server *s);

/* Waits until the server is closed and every connection it accepted is
 * gone (asyncio 3.12's wait_closed). s is borrowed; do not free it while
 * a task waits here. Returns: 0. Errors: -ECANCELED, -EINVAL (NULL,
 * outside a task of s's loop). Suspends. */
CIO_API int cio_server_wait_closed(cio_server *s);

/* Starts serving if needed and waits until the server is closed
 * (asyncio's serve_forever). If the calling task is cancelled, the
 * server is closed and -ECANCELED returned. Returns: 0 once
 * cio_server_close was called. Errors: -ECANCELED, -EINVAL (as
 * wait_closed, or another task already serves forever). Suspends. */
CIO_API int cio_server_serve_forever(cio_server *s);

/* The listening descriptors (borrowed: owned by the server, valid until
 * cio_server_close). Writes up to cap of them to fds. Returns: how many
 * the server has (may exceed cap; 0 once closed). Errors: -EINVAL. */
CIO_API int cio_server_sockets(const cio_server *s, int *fds, size_t cap);

/* The local address of listening socket i (asyncio's
 * server.sockets[i].getsockname()). Returns: 0. Errors: -EINVAL (NULL),
 * -ENOENT (no socket i), -errno. */
CIO_API int cio_server_sockname(const cio_server *s, size_t i,
                                cio_sockaddr *out);

/* The port of the first listening socket, handy after binding port 0.
 * Returns: the port. Errors: -EINVAL, -ENOENT (no socket). */
CIO_API int cio_server_port(const cio_server *s);

/* Returns: the number of accepted connections still alive. Errors:
 * -EINVAL on NULL. */
CIO_API int cio_server_connections(const cio_server *s);

/* Closes the server (cio_server_close) and drops the caller's reference.
 * Connections still alive keep the memory until they end; no call on s
 * is allowed after this one. Refused while a task waits in wait_closed or
 * serve_forever. NULL is ignored. Returns: 0. Errors: -EINVAL (wrong
 * thread), -EBUSY (a task waits on s: nothing was done). */
CIO_API int cio_server_free(cio_server *s);

/* ======================================================================
 * Streams
 * A reader and a writer share one connection. The reader buffers only
 * what readline/readuntil need (read and readexactly read straight into
 * the caller's buffer when nothing is buffered). The writer sends at once
 * and keeps what the kernel did not take; the loop flushes it in the
 * background, and drain is the flow control.
 * Line iteration (asyncio's `async for line in reader`):
 *     const char *line; ssize_t n;
 *     while ((n = cio_stream_reader_readline(r, &line)) > 0) { ... }
 * Lifetime: each half is ended with its _free; the connection's memory
 * goes when both halves are freed and the descriptor is closed.
 * ====================================================================== */

typedef struct cio_stream_reader cio_stream_reader;
typedef struct cio_stream_writer cio_stream_writer;

/* The task run per connection by cio_start_server. r and w are borrowed
 * until it returns; then the server closes the connection (flushing what
 * is buffered; discarding it if the handler returned -ECANCELED) and
 * frees both. A negative return other than -ECANCELED is reported to the
 * loop's exception handler, as an unretrieved task error. */
typedef int (*cio_stream_handler)(cio_stream_reader *r, cio_stream_writer *w,
                                  void *arg);

/* asyncio.open_connection: resolves host (names on the default executor,
 * numeric inline) and connects to the first address that accepts, on the
 * running loop. host is borrowed for the call, opts (NULL: defaults) too.
 * Timeouts come from cio_timeout_begin. Returns: 0, *r and *w set (free
 * both). Errors: -EINVAL (NULL, outside a task, bad port), CIO_ERESOLVE,
 * -ECONNREFUSED, -ENETUNREACH, -ETIMEDOUT (kernel), -ECANCELED, -ENOMEM,
 * -errno; *r and *w are NULL on failure. Suspends. */
CIO_API int cio_open_connection(const char *host, int port,
                                const cio_conn_opts *opts,
                                cio_stream_reader **r, cio_stream_writer **w);

/* asyncio.start_server: listens on host:port (host NULL: every interface;
 * port 0: a free port, see cio_server_port; a name gives a socket per
 * address, each with its own port when port is 0, and addresses of a
 * family the kernel lacks are skipped) and runs handler(r, w, arg)
 * in a new task for each connection (started eagerly, so it runs at
 * once, up to its first suspension). arg is borrowed until the server is
 * freed and its connections are gone; host and opts for the call.
 * Returns: 0 and *out. Errors: -EINVAL, CIO_ERESOLVE, -EADDRINUSE,
 * -EACCES, -EAFNOSUPPORT (no address of a supported family), -ENOMEM,
 * -errno; *out is NULL on failure. Suspends only to
 * resolve a host name (with a numeric host or use_sock it never
 * suspends and may be called outside a task). */
CIO_API int cio_start_server(cio_loop *loop, cio_stream_handler handler,
                             void *arg, const char *host, int port,
                             const cio_server_opts *opts, cio_server **out);

/* asyncio.open_unix_connection: connects a Unix stream socket to path (a
 * file, or "@name" in the abstract namespace) on the running loop and
 * wraps it as cio_open_connection does. path and opts (NULL: defaults;
 * the Happy Eyeballs fields do not apply) are borrowed for the call.
 * Returns: 0, *r and *w set (free both). Errors: -EINVAL (NULL, outside
 * a task, empty path), -ENAMETOOLONG, -ENOENT (no such file),
 * -ECONNREFUSED (nobody listens on it), -EACCES, -ECANCELED, -ENOMEM,
 * -errno; *r and *w are NULL on failure. When the listener's backlog is
 * full (Linux refuses a non-blocking Unix connect with EAGAIN and
 * signals nothing when a slot frees), the connect is tried again after
 * a pause, 1 ms doubling to 50 ms, until it succeeds, fails otherwise or
 * the task is cancelled: bound it with a cio_timeout scope. Suspends. */
CIO_API int cio_open_unix_connection(const char *path,
                                     const cio_conn_opts *opts,
                                     cio_stream_reader **r,
                                     cio_stream_writer **w);

/* asyncio.start_unix_server: listens on the Unix socket path (a file, or
 * "@name") and runs handler(r, w, arg) in a new task per connection, as
 * cio_start_server does. flags: CIO_UNIX_REMOVE_STALE (cio/net.h) removes
 * an existing socket file first when nobody accepts on it (probed with a
 * connect), never a live socket or a file that is not a socket. mode > 0
 * chmods the socket file after bind (0600: owner only; abstract names
 * have no file). opts: backlog, no_start and conn apply (use_sock must be
 * 0). cio_server_close removes the socket file (asyncio 3.13's
 * cleanup_socket=True), but only if the file at path is still the one
 * this server bound (same device and inode: a file another process bound
 * there since is left alone); flag CIO_UNIX_KEEP_FILE keeps it.
 * arg is borrowed as in
 * cio_start_server; path and opts for the call. Returns: 0 and *out.
 * Errors: -EINVAL, -ENAMETOOLONG, -EADDRINUSE (a live socket or another
 * file at path), -EACCES, -ENOENT (no such directory), -ENOMEM, -errno;
 * *out is NULL on failure (and a file this call made is removed). Never
 * suspends. */
CIO_API int cio_start_unix_server(cio_loop *loop, cio_stream_handler handler,
                                  void *arg, const char *path, int mode,
                                  int flags, const cio_server_opts *opts,
                                  cio_server **out);

/* Wraps a connected stream socket (asyncio's open_connection(sock=)) or
 * any bidirectional non-blocking stream descriptor in a reader and a
 * writer on loop. Takes fd on success (closed with the connection); on
 * failure fd stays the caller's. Never suspends. Returns: 0. Errors:
 * -EINVAL, -EBUSY (fd already used on loop), -EPERM (not pollable),
 * -ENOMEM. */
CIO_API int cio_stream_open_fd(cio_loop *loop, int fd,
                               const cio_conn_opts *opts,
                               cio_stream_reader **r, cio_stream_writer **w);

/* A reader alone on a non-blocking descriptor: the read end of a pipe
 * (asyncio's connect_read_pipe, a child's stdout). Takes fd as
 * cio_stream_open_fd does; cio_stream_reader_free closes it. Returns: 0.
 * Errors: as cio_stream_open_fd. */
CIO_API int cio_stream_reader_from_fd(cio_loop *loop, int fd,
                                      const cio_conn_opts *opts,
                                      cio_stream_reader **out);

/* A writer alone on a non-blocking descriptor: the write end of a pipe
 * (connect_write_pipe, a child's stdin). A pipe whose reader is gone
 * gives -EPIPE; SIGPIPE is blocked around the write and consumed.
 * write_eof and close close the descriptor. Returns: 0. Errors: as
 * cio_stream_open_fd. */
CIO_API int cio_stream_writer_from_fd(cio_loop *loop, int fd,
                                      const cio_conn_opts *opts,
                                      cio_stream_writer **out);

/* Reads up to n bytes into buf: what is buffered, else one read from the
 * descriptor. Returns: the count (> 0), 0 at end of file (or once the
 * connection was closed locally), 0 for n == 0. Errors: -ECONNRESET and
 * other -errno of the connection (sticky), -ECANCELED (nothing consumed),
 * -EBUSY (another task is reading), -EINVAL (NULL, outside a task of the
 * reader's loop). Suspends. */
CIO_API ssize_t cio_stream_reader_read(cio_stream_reader *r, void *buf,
                                       size_t n);

/* Reads exactly n bytes into buf. Returns: 0 with *nread == n. Errors:
 * CIO_EOF when end of file came first: the *nread bytes that arrived are
 * in buf (asyncio's IncompleteReadError.partial); the errors of
 * cio_stream_reader_read (bytes already copied are counted in *nread and
 * consumed). nread may be NULL. Suspends. */
CIO_API int cio_stream_reader_readexactly(cio_stream_reader *r, void *buf,
                                          size_t n, size_t *nread);

/* asyncio 3.13's readuntil with a tuple of separators: reads up to and
 * including the first of the nseps separators (seps[i].iov_base,
 * seps[i].iov_len >= 1 bytes; seps borrowed for the call) to END in the
 * stream: the shortest possible result that has one of them as its
 * suffix (at one end position, the shorter separator wins). *which (may
 * be NULL) receives the index in seps of the separator that matched.
 * *data (borrowed: valid until the next call on r, feed_data included,
 * or its free) and *len give the bytes, separator included. Returns: 0.
 * Errors: -EINVAL (NULL, nseps 0, an empty separator); CIO_EOF, -ENOBUFS
 * and the rest as cio_stream_reader_readuntil (the limit applies to where the
 * matched separator starts). Suspends. */
CIO_API int cio_stream_reader_readuntil_any(cio_stream_reader *r,
                                            const struct iovec *seps,
                                            size_t nseps, const char **data,
                                            size_t *len, size_t *which);

/* Reads up to and including the separator sep (seplen >= 1 bytes).
 * *data (borrowed: valid until the next call on r or its free) and *len
 * give the bytes, separator included. Returns: 0. Errors: CIO_EOF if end
 * of file came first (*data and *len then give the partial bytes, consumed;
 * *len may be 0); -ENOBUFS if the limit was reached without a separator
 * (asyncio's LimitOverrunError: the bytes stay buffered, read them with
 * cio_stream_reader_read); the errors of cio_stream_reader_read. Suspends. */
CIO_API int cio_stream_reader_readuntil(cio_stream_reader *r, const void *sep,
                                        size_t seplen, const char **data,
                                        size_t *len);

/* Reads one line, "\n" included (the last line of a stream may lack
 * it). *line is borrowed as in readuntil. Returns: the length, 0 at end
 * of file. Errors: -ENOBUFS if the line exceeds the limit (asyncio's
 * ValueError: the buffered part of the line is discarded); the errors of
 * cio_stream_reader_read. Suspends. */
CIO_API ssize_t cio_stream_reader_readline(cio_stream_reader *r,
                                           const char **line);

/* Returns: 1 if end of file was seen and nothing is buffered, else 0.
 * Errors: -EINVAL on NULL. */
CIO_API int cio_stream_reader_at_eof(const cio_stream_reader *r);

/* Bytes buffered and not yet consumed. Returns: the count. Errors:
 * -EINVAL. */
CIO_API ssize_t cio_stream_reader_buffered(const cio_stream_reader *r);

/* asyncio's StreamReader(limit=) made on its own, with no transport or
 * descriptor under it: bytes come only from cio_stream_reader_feed_data,
 * end of file from cio_stream_reader_feed_eof (a custom protocol drives
 * it from its callbacks; tests feed it without sockets). read,
 * readexactly, readline, readuntil(_any), at_eof and buffered work on it
 * as on any reader; a task reading suspends until something is fed.
 * loop NULL: the running loop. opts (NULL: defaults; only limit is used)
 * borrowed for the call. Never suspends. Returns: 0 and *out (free it
 * with cio_stream_reader_free). Errors: -EINVAL (NULL out, no loop,
 * wrong thread), -ENOMEM. */
CIO_API int cio_stream_reader_new(cio_loop *loop, const cio_conn_opts *opts,
                                  cio_stream_reader **out);

/* asyncio's feed_data: appends len bytes (copied; data borrowed for the
 * call) to a reader made by cio_stream_reader_new and wakes the task
 * reading it. The buffer is not bounded by the limit (asyncio's is not
 * either: its transport pauses reading past 2 x limit; a feeder of its
 * own keeps its own pace). Call it from the reader's loop thread (a
 * callback or another task). Never suspends. Returns: 0. Errors:
 * -EINVAL (NULL, not a cio_stream_reader_new reader, freed, wrong
 * thread, or after feed_eof: asyncio's assertion), -ENOMEM (nothing
 * was added). */
CIO_API int cio_stream_reader_feed_data(cio_stream_reader *r,
                                        const void *data, size_t len);

/* asyncio's feed_eof: no more data will be fed; readers get what is
 * buffered, then end of file (0, CIO_EOF). Idempotent. Returns: 0.
 * Errors: -EINVAL (as feed_data). */
CIO_API int cio_stream_reader_feed_eof(cio_stream_reader *r);

/* asyncio's set_exception, on any reader: from now on every read call
 * (read, readexactly, readline, readuntil) fails with err at once, as
 * asyncio raises the exception before looking at the buffer (buffered
 * bytes stay: cio_stream_reader_buffered still counts them); a task
 * suspended in one wakes with err. err is a negative errno or CIO_E*
 * code. Returns: 0. Errors: -EINVAL (NULL, err >= 0, freed reader,
 * wrong thread). */
CIO_API int cio_stream_reader_set_exception(cio_stream_reader *r, int err);

/* asyncio's exception(): the error given to set_exception, or 0.
 * Errors: -EINVAL on NULL. */
CIO_API int cio_stream_reader_exception(const cio_stream_reader *r);

/* Ends the reader half (no task may be reading). A reader made by
 * cio_stream_reader_from_fd closes its descriptor. NULL is ignored.
 * Returns: 0. Errors: -EINVAL (wrong thread, freed twice), -EBUSY (a
 * task reads: nothing was done). */
CIO_API int cio_stream_reader_free(cio_stream_reader *r);

/* Writes len bytes (data borrowed for the call): sent at once as far as
 * the kernel takes them, the rest buffered and flushed by the loop. Never
 * suspends. Returns: 0. Errors: -EPIPE after write_eof or close, the
 * connection's error (-ECONNRESET, -EPIPE...), -ENOMEM, -EINVAL. */
CIO_API int cio_stream_writer_write(cio_stream_writer *w, const void *data,
                                    size_t len);

/* Writes the buffers of iov in order (one sendmsg when nothing is
 * buffered). iov is borrowed for the call. Returns/Errors: as
 * cio_stream_writer_write. */
CIO_API int cio_stream_writer_writelines(cio_stream_writer *w,
                                         const struct iovec *iov, size_t n);

/* Flow control: returns at once while the write buffer is at or below the
 * high water mark, else waits until it is down to the low water mark.
 * As asyncio's drain, it reports a connection that is gone: after
 * cio_stream_writer_close (or free of the other half, or a write_eof
 * that closed a pipe) it fails with -ECONNRESET (asyncio's
 * ConnectionResetError), after the connection was lost with that error
 * (-EPIPE, -ECONNRESET...); with bytes above the high water mark it
 * first waits for them as usual. Returns: 0. Errors: the connection's
 * error, -ECONNRESET (closed locally), -ECANCELED (the data stays
 * buffered and will be sent), -EINVAL. Suspends. */
CIO_API int cio_stream_writer_drain(cio_stream_writer *w);

/* Shuts the write direction once the buffer is flushed (shutdown(SHUT_WR)
 * for sockets; closes a write-only pipe). Returns: 0. Errors: -EPIPE
 * (closed), -ENOTSUP (cannot write EOF, see can_write_eof), -EINVAL. */
CIO_API int cio_stream_writer_write_eof(cio_stream_writer *w);

/* Returns: 1 if write_eof is supported (sockets, write-only pipes), 0
 * if not. Errors: -EINVAL. */
CIO_API int cio_stream_writer_can_write_eof(const cio_stream_writer *w);

/* Closes the connection once the buffered output is flushed (asyncio's
 * writer.close()); the reader then sees end of file. Idempotent.
 * Returns: 0. Errors: -EINVAL. */
CIO_API int cio_stream_writer_close(cio_stream_writer *w);

/* Waits until the descriptor is closed (after cio_stream_writer_close, or
 * after an error). Returns: 0, or the error that closed the connection.
 * Errors: -ECANCELED, -EINVAL. Suspends. */
CIO_API int cio_stream_writer_wait_closed(cio_stream_writer *w);

/* Returns: 1 once close was requested or the connection was lost
 * (asyncio's is_closing). Errors: -EINVAL. */
CIO_API int cio_stream_writer_is_closing(const cio_stream_writer *w);

/* Bytes buffered and not yet sent (transport.get_write_buffer_size).
 * Returns: the count. Errors: -EINVAL. */
CIO_API ssize_t cio_stream_writer_write_buffer_size(const cio_stream_writer *w);

/* asyncio's set_write_buffer_limits: sets the water marks. Either may be
 * CIO_LIMIT_DEFAULT ("not given"): high then 64 KiB, or 4 * low when low
 * is given; low then high / 4. 0 is a real 0: high 0 makes drain wait
 * until everything is sent. Returns: 0. Errors: -EINVAL (low > high;
 * nothing changed). */
CIO_API int cio_stream_writer_set_write_buffer_limits(cio_stream_writer *w,
                                                      size_t high, size_t low);

/* asyncio's get_write_buffer_limits: the (low, high) water marks in
 * force. low and high may be NULL. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_stream_writer_write_buffer_limits(const cio_stream_writer *w,
                                                  size_t *low, size_t *high);

/* Sets the write-buffer hard cap (cio_conn_opts.write_cap; 0: none).
 * From then on cio_stream_writer_write and cio_stream_writer_writelines refuse
 * with -ENOBUFS a write that would leave more than cap bytes unsent (counted
 * before any of it is tried: a write longer than cap is always refused),
 * and queue nothing of it; later writes succeed once the peer has read
 * enough. Bytes already buffered above a lowered cap are kept.
 *
 * Pattern for a broadcasting server (chat, pub/sub), where one task
 * writes to many peers and cannot drain each in turn: give every
 * connection a cap (a few times the largest message, e.g. in
 * cio_server_opts.conn.write_cap), write without draining, and on
 * -ENOBUFS drop that message for that peer, or disconnect the slow peer
 * (cio_stream_writer_close, or cio_transport_abort to discard its
 * backlog). Memory is then bounded by peers x cap.
 * Returns: 0. Errors: -EINVAL. */
CIO_API int cio_stream_writer_set_write_buffer_cap(cio_stream_writer *w,
                                                   size_t cap);

/* get_extra_info('peername'). Returns: 0 and *out. Errors: -EINVAL,
 * -EBADF (closed), -ENOTSOCK, -errno. */
CIO_API int cio_stream_writer_peername(const cio_stream_writer *w,
                                       cio_sockaddr *out);

/* get_extra_info('sockname'). Returns/Errors: as peername. */
CIO_API int cio_stream_writer_sockname(const cio_stream_writer *w,
                                       cio_sockaddr *out);

/* get_extra_info('socket'): the descriptor (borrowed: never close it).
 * Returns: the fd. Errors: -EINVAL, -EBADF (closed). */
CIO_API int cio_stream_writer_fileno(const cio_stream_writer *w);

/* Ends the writer half. It closes the connection as
 * cio_stream_writer_close does: buffered output is still flushed by the
 * loop (keep it running, or call wait_closed first), and the reader, if
 * still alive, sees end of file. No task may be draining or waiting.
 * NULL is ignored. Returns: 0. Errors: -EINVAL (wrong thread, freed
 * twice), -EBUSY (a task waits on w: nothing was done). */
CIO_API int cio_stream_writer_free(cio_stream_writer *w);

/* ======================================================================
 * Transports and protocols
 * asyncio's Protocol as a table of callbacks with a per-connection
 * context. The transport calls connection_made first, then any number of
 * data_received (or get_buffer/buffer_updated), eof_received at most
 * once, and connection_lost exactly once, last. Callbacks run from the
 * loop's ready queue (never inside the poll, never inside a transport
 * call, except pause_writing, called from write as in asyncio) and may
 * call any transport function; a callback returning a negative value
 * aborts the connection with that error (connection_lost then receives
 * it) after reporting it to the loop's exception handler.
 * ====================================================================== */

typedef struct cio_transport cio_transport;

typedef struct cio_protocol {
    /* The connection is up. t is borrowed until connection_lost returns. */
    int (*connection_made)(cio_transport *t, void *ctx);
    /* len > 0 bytes arrived; data is borrowed for the call. */
    int (*data_received)(cio_transport *t, const void *data, size_t len,
                         void *ctx);
    /* The peer shut its write side. Return 1 to keep the transport open
     * (for writing), 0 to let it close, < 0 to abort. NULL: close. */
    int (*eof_received)(cio_transport *t, void *ctx);
    /* The last callback: err is 0 for a regular close, EOF or abort, else
     * the error (-ECONNRESET...). Free ctx here. */
    void (*connection_lost)(cio_transport *t, int err, void *ctx);
    /* The write buffer went above the high water mark / back to the low
     * one. Optional. */
    int (*pause_writing)(cio_transport *t, void *ctx);
    int (*resume_writing)(cio_transport *t, void *ctx);
    /* BufferedProtocol (used instead of data_received when get_buffer is
     * set): return a buffer of at least 1 byte (*len) to receive into,
     * sizehint being what the transport would like; buffer_updated then
     * says how many bytes were written there. The buffer is the
     * protocol's and must stay valid until buffer_updated. */
    void *(*get_buffer)(cio_transport *t, size_t sizehint, size_t *len,
                        void *ctx);
    int (*buffer_updated)(cio_transport *t, size_t nbytes, void *ctx);
} cio_protocol;

/* asyncio's protocol_factory: called once per connection with the
 * factory argument; sets *proto (borrowed until connection_lost returns)
 * and *ctx (the protocol instance, passed to every callback). A negative
 * return refuses the connection (it is closed, no callback runs). */
typedef int (*cio_protocol_factory)(void *arg, const cio_protocol **proto,
                                    void **ctx);

/* asyncio's loop.create_server: listens on host:port and makes a
 * transport and a protocol (from factory) for each connection. arg is
 * borrowed as in cio_start_server. Returns/Errors/Suspends: as
 * cio_start_server. */
CIO_API int cio_create_server(cio_loop *loop, cio_protocol_factory factory,
                              void *arg, const char *host, int port,
                              const cio_server_opts *opts, cio_server **out);

/* asyncio's loop.create_connection on the running loop: resolves,
 * connects, makes the protocol and calls connection_made before
 * returning. *out is borrowed until connection_lost returns. Returns: 0.
 * Errors: as cio_open_connection, plus the factory's or connection_made's
 * error (the connection is then closed and connection_lost is not
 * called); *out is NULL on failure. Suspends. */
CIO_API int cio_create_connection(cio_protocol_factory factory, void *arg,
                                  const char *host, int port,
                                  const cio_conn_opts *opts,
                                  cio_transport **out);

/* asyncio's loop.create_unix_server: cio_start_unix_server's listener
 * with a transport and a protocol (from factory) per connection, as
 * cio_create_server. Arguments, Returns and Errors: as
 * cio_start_unix_server. Never suspends. */
CIO_API int cio_create_unix_server(cio_loop *loop, cio_protocol_factory factory,
                                   void *arg, const char *path, int mode,
                                   int flags, const cio_server_opts *opts,
                                   cio_server **out);

/* asyncio's loop.create_unix_connection on the running loop: connects to
 * the Unix socket path and makes the protocol as cio_create_connection
 * does. path and opts borrowed for the call; *out borrowed until
 * connection_lost returns. Returns: 0. Errors: as
 * cio_open_unix_connection, plus the factory's or connection_made's error;
 * *out is NULL on failure. Suspends. */
CIO_API int cio_create_unix_connection(cio_protocol_factory factory, void *arg,
                                       const char *path,
                                       const cio_conn_opts *opts,
                                       cio_transport **out);

/* A transport on an existing connected socket or any non-blocking stream
 * descriptor (asyncio's sock=, connect_read_pipe/connect_write_pipe: a
 * write-only descriptor is never read, and its reader going away ends
 * the transport). Takes fd on success. connection_made is called from
 * the loop soon after. *out (may be NULL) is borrowed until
 * connection_lost returns. Returns: 0. Errors: -EINVAL, -EBUSY, -EPERM,
 * -ENOMEM, the factory's error. */
CIO_API int cio_transport_from_fd(cio_loop *loop, int fd,
                                  cio_protocol_factory factory, void *arg,
                                  const cio_conn_opts *opts,
                                  cio_transport **out);

/* Sends len bytes (data borrowed for the call) at once as far as the
 * kernel takes them and buffers the rest; pause_writing is called when
 * the buffer goes above the high water mark. Never suspends. Returns: 0.
 * Errors: -EPIPE after write_eof or close (or on a read-only pipe), the
 * connection's error, -ENOMEM (the transport is then aborted), -EINVAL. */
CIO_API int cio_transport_write(cio_transport *t, const void *data,
                                size_t len);

/* Sends the buffers of iov (borrowed for the call) in order.
 * Returns/Errors: as write. */
CIO_API int cio_transport_writelines(cio_transport *t,
                                     const struct iovec *iov, size_t n);

/* Shuts the write side once the buffer is flushed. Returns: 0. Errors:
 * -EPIPE (closed), -ENOTSUP (see can_write_eof), -EINVAL. */
CIO_API int cio_transport_write_eof(cio_transport *t);

/* Returns: 1 for sockets and write-only pipes, 0 otherwise. Errors:
 * -EINVAL. */
CIO_API int cio_transport_can_write_eof(const cio_transport *t);

/* Stops reading, flushes the write buffer, then closes; connection_lost
 * (0) follows from the loop. Idempotent. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_transport_close(cio_transport *t);

/* Closes at once, discarding buffered output; connection_lost (0) follows
 * from the loop. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_transport_abort(cio_transport *t);

/* Stops calling data_received (the kernel buffers, then the peer is
 * flow-controlled). Returns: 0. Errors: -EINVAL. */
CIO_API int cio_transport_pause_reading(cio_transport *t);

/* Resumes reading (what arrived meanwhile is delivered from the loop).
 * Returns: 0. Errors: -EINVAL. */
CIO_API int cio_transport_resume_reading(cio_transport *t);

/* Returns: 1 while reading is not paused and the transport is open.
 * Errors: -EINVAL. */
CIO_API int cio_transport_is_reading(const cio_transport *t);

/* Returns: 1 once close/abort was called or the connection was lost.
 * Errors: -EINVAL. */
CIO_API int cio_transport_is_closing(const cio_transport *t);

/* Returns: the bytes buffered and not yet sent. Errors: -EINVAL. */
CIO_API ssize_t cio_transport_write_buffer_size(const cio_transport *t);

/* asyncio's set_write_buffer_limits: sets the water marks; either may be
 * CIO_LIMIT_DEFAULT ("not given": high 64 KiB, or 4 * low when low is
 * given; low high / 4), and 0 is a real 0 (high 0: pause_writing as soon
 * as anything is buffered). pause_writing is called at once if the
 * buffer is already above the new high mark. Returns: 0, or
 * pause_writing's error. Errors: -EINVAL (low > high; nothing changed). */
CIO_API int cio_transport_set_write_buffer_limits(cio_transport *t,
                                                  size_t high, size_t low);

/* asyncio's get_write_buffer_limits: the (low, high) water marks in
 * force. low and high may be NULL. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_transport_write_buffer_limits(const cio_transport *t,
                                              size_t *low, size_t *high);

/* Sets the write-buffer hard cap (cio_conn_opts.write_cap; 0: none):
 * cio_transport_write and cio_transport_writelines refuse with -ENOBUFS
 * (the transport stays open, nothing of the write is sent or queued) a
 * write that would leave more than cap bytes unsent, counted before any
 * of it is tried. The broadcasting pattern of
 * cio_stream_writer_set_write_buffer_cap applies: on -ENOBUFS drop the
 * message for that peer or abort it. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_transport_set_write_buffer_cap(cio_transport *t, size_t cap);

/* get_extra_info('peername'). Returns: 0 and *out. Errors: -EINVAL,
 * -EBADF (closed), -ENOTSOCK, -errno. */
CIO_API int cio_transport_peername(const cio_transport *t, cio_sockaddr *out);

/* get_extra_info('sockname'). Returns/Errors: as peername. */
CIO_API int cio_transport_sockname(const cio_transport *t, cio_sockaddr *out);

/* get_extra_info('socket'): the descriptor (borrowed). Returns: the fd.
 * Errors: -EINVAL, -EBADF (closed). */
CIO_API int cio_transport_fileno(const cio_transport *t);

/* The protocol context the factory made (borrowed), or NULL. */
CIO_API void *cio_transport_context(const cio_transport *t);

#ifdef __cplusplus
}
#endif

#endif
