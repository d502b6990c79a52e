/*
 * cio/tls.h - TLS (OpenSSL 3) for streams, transports and awaitable
 * sockets. Included by cio.h; do not include directly.
 *
 * A cio_tls_ctx holds the configuration (asyncio's SSLContext): role,
 * certificate and key, trust store, verification, ALPN, SNI, versions,
 * ciphers, session tickets, handshake timeout, kernel TLS. It is given to
 * a connection through cio_conn_opts.tls (open_connection, start_server,
 * create_connection, create_server), to cio_socket_create_connection_tls
 * (awaitable sockets) or to a start_tls call, which retain it: the
 * caller may free its reference at once. Servers of awaitable sockets
 * accept with cio_socket_accept and call cio_socket_start_tls with a
 * server context on each accepted socket (curio's tcp_server(ssl=)).
 *
 * A TLS connection is one implementation, a byte stream over any byte
 * stream (docs/design.md section 27): the handshake runs before the
 * connection is handed out (before open_connection / create_connection
 * return, before a server's handler or connection_made runs), and each
 * connection's TLS state (cio_tls_conn) answers the accessors below
 * (asyncio's get_extra_info('peercert' / 'cipher' / ...)).
 *
 * Errors are the CIO_ETLS* codes of cio/errno.h; the text OpenSSL gave
 * for the last failure is kept per connection (cio_tls_conn_error) and
 * per thread (cio_tls_last_error, for failures that leave no connection:
 * a handshake that failed inside open_connection, a context call).
 *
 * Defaults: a client context verifies the server's certificate against
 * the system store and checks the host name given as server_hostname (or
 * the host of open_connection); a server context asks for no client
 * certificate. TLS 1.2 is the minimum version, renegotiation is refused,
 * session tickets are on, the handshake timeout is 60 s (asyncio's).
 */
#ifndef CIO_TLS_H
#define CIO_TLS_H

#ifndef CIO_H
#error "include cio.h, not cio/tls.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cio_tls_ctx cio_tls_ctx;
/* One connection's TLS state: owned by its stream, transport or socket,
 * valid (borrowed) as long as that connection is. */
typedef struct cio_tls_conn cio_tls_conn;

enum {
    CIO_TLS_CLIENT = 0,
    CIO_TLS_SERVER = 1,
};

/* Verification modes (cio_tls_ctx_set_verify). */
enum {
    CIO_TLS_VERIFY_NONE = 0,     /* no peer certificate checked */
    CIO_TLS_VERIFY_OPTIONAL = 1, /* server: ask for a client certificate,
                                  * verify it if sent */
    CIO_TLS_VERIFY_REQUIRED = 2, /* client: the default; server: a client
                                  * certificate is required (mutual TLS) */
};

/* Protocol versions (cio_tls_ctx_set_min_version / _max_version). */
enum {
    CIO_TLS_V1_2 = 0x0303,
    CIO_TLS_V1_3 = 0x0304,
};

/* ---- the context ---- */

/* Makes a context for role CIO_TLS_CLIENT or CIO_TLS_SERVER, with the
 * defaults above (a client also loads the system trust store). One
 * reference in *out; contexts are immutable in practice once a
 * connection uses them (changes apply to later connections) and may be
 * shared by every loop of the process. Returns: 0. Errors: -EINVAL (NULL,
 * bad role), -ENOMEM, CIO_ETLS_CONFIG (OpenSSL could not make it). */
CIO_API int cio_tls_ctx_new(cio_tls_ctx **out, int role);

/* Drops the caller's reference; connections and servers using ctx keep
 * theirs. NULL is ignored. */
CIO_API void cio_tls_ctx_free(cio_tls_ctx *ctx);

/* Takes one more reference to ctx (dropped with cio_tls_ctx_free), for a
 * library object that keeps a context beyond the call that was given it
 * (a Redis client's options). Returns ctx (NULL for NULL). Thread-safe. */
CIO_API cio_tls_ctx *cio_tls_ctx_ref(cio_tls_ctx *ctx);

/* The certificate chain (PEM, leaf first) and private key (PEM) of this
 * side, from files (paths borrowed for the call). A server needs one (or
 * per-name ones, cio_tls_ctx_add_sni_cert_file); a client uses it for
 * mutual TLS. Returns: 0. Errors: -EINVAL, CIO_ETLS_CONFIG (unreadable,
 * not PEM, key does not match; reason in cio_tls_last_error). */
CIO_API int cio_tls_ctx_use_cert_file(cio_tls_ctx *ctx, const char *cert_pem,
                                      const char *key_pem);

/* As cio_tls_ctx_use_cert_file, from memory (PEM text, borrowed for the
 * call). Returns: 0. Errors: as cio_tls_ctx_use_cert_file. */
CIO_API int cio_tls_ctx_use_cert_mem(cio_tls_ctx *ctx, const char *cert_pem,
                                     size_t cert_len, const char *key_pem,
                                     size_t key_len);

/* Server: the certificate to present when the client asks for host name
 * `name` (SNI; exact, case-insensitive match). Without a match the
 * context's own certificate is used. Strings borrowed for the call.
 * Returns: 0. Errors: -EINVAL (NULL, client context), -ENOMEM,
 * CIO_ETLS_CONFIG. */
CIO_API int cio_tls_ctx_add_sni_cert_file(cio_tls_ctx *ctx, const char *name,
                                          const char *cert_pem,
                                          const char *key_pem);

/* An SNI callback (cio_tls_ctx_set_sni_callback): called on the server
 * during each handshake with the host name the client asked for (NULL
 * when it sent none; borrowed for the call) and its arg. Returns the
 * context whose certificate to use (borrowed; it must outlive the
 * connection: keep it alive as long as the server's context), or NULL to
 * keep the current choice. Runs on the loop, must not suspend. */
typedef cio_tls_ctx *(*cio_tls_sni_fn)(const char *server_name, void *arg);

/* Server: sets the SNI callback fn (NULL: none) and its arg (borrowed
 * until ctx is freed). Takes precedence over
 * cio_tls_ctx_add_sni_cert_file. Returns: 0. Errors: -EINVAL (NULL,
 * client context). */
CIO_API int cio_tls_ctx_set_sni_callback(cio_tls_ctx *ctx, cio_tls_sni_fn fn,
                                         void *arg);

/* Trusted CA certificates from a PEM file and/or a hashed directory
 * (either may be NULL, not both; borrowed for the call), added to the
 * store. Returns: 0. Errors: -EINVAL, CIO_ETLS_CONFIG. */
CIO_API int cio_tls_ctx_load_verify(cio_tls_ctx *ctx, const char *cafile,
                                    const char *capath);

/* Adds the system trust store (OpenSSL's default paths; done by
 * cio_tls_ctx_new for clients). Returns: 0. Errors: -EINVAL,
 * CIO_ETLS_CONFIG. */
CIO_API int cio_tls_ctx_load_system_store(cio_tls_ctx *ctx);

/* The verification mode, CIO_TLS_VERIFY_*. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_tls_ctx_set_verify(cio_tls_ctx *ctx, int mode);

/* Client: check that the certificate names the host (server_hostname,
 * or open_connection's host); on by default. Returns: 0. Errors:
 * -EINVAL. */
CIO_API int cio_tls_ctx_set_check_hostname(cio_tls_ctx *ctx, int on);

/* The ALPN protocols offered (client) or accepted (server, in order of
 * preference), e.g. {"h2", "http/1.1"}; n = 0 clears. Strings borrowed
 * for the call, each 1..255 bytes. A server whose list shares nothing
 * with the client's goes on without ALPN (the result is then empty).
 * Returns: 0. Errors: -EINVAL, -ENOMEM, CIO_ETLS_CONFIG. */
CIO_API int cio_tls_ctx_set_alpn(cio_tls_ctx *ctx, const char *const *protos,
                                 size_t n);

/* The minimum protocol version (CIO_TLS_V1_2, the default, or
 * CIO_TLS_V1_3; 0: OpenSSL's lowest). Returns: 0. Errors: -EINVAL,
 * CIO_ETLS_CONFIG. */
CIO_API int cio_tls_ctx_set_min_version(cio_tls_ctx *ctx, int version);

/* The maximum protocol version (CIO_TLS_V1_2 or CIO_TLS_V1_3; 0, the
 * default: OpenSSL's highest). Returns: 0. Errors: -EINVAL,
 * CIO_ETLS_CONFIG. */
CIO_API int cio_tls_ctx_set_max_version(cio_tls_ctx *ctx, int version);

/* Cipher lists: tls12 in OpenSSL's cipher-list syntax for TLS 1.2 and
 * below, tls13 as TLS 1.3 suite names ("TLS_AES_128_GCM_SHA256:...");
 * either may be NULL (left as is). Borrowed for the call. Returns: 0.
 * Errors: -EINVAL, CIO_ETLS_CONFIG (nothing usable in a list). */
CIO_API int cio_tls_ctx_set_ciphers(cio_tls_ctx *ctx, const char *tls12,
                                    const char *tls13);

/* Session resumption, on by default. Server: issue session tickets.
 * Client: remember the last session per server name (and port) and
 * offer it on the next connection to that name (see
 * cio_tls_session_reused). Returns: 0. Errors: -EINVAL. */
CIO_API int cio_tls_ctx_set_session_tickets(cio_tls_ctx *ctx, int on);

/* The longest a handshake may take (ns; 0: none; default 60 s). A
 * handshake over time fails with CIO_ETLS_TIMEOUT. Returns: 0. Errors:
 * -EINVAL (negative). */
CIO_API int cio_tls_ctx_set_handshake_timeout(cio_tls_ctx *ctx,
                                              int64_t timeout);

/* Kernel TLS (OpenSSL's SSL_OP_ENABLE_KTLS): after the handshake the
 * kernel encrypts (and may decrypt), so sendfile works on TLS sockets.
 * Only for connections directly over a socket; if the kernel or the
 * cipher does not allow it, the connection silently stays in user space
 * (cio_tls_ktls tells which). Returns: 0 if the kernel offers TLS now,
 * CIO_ETLS_NOKTLS if not (the option is still recorded, in case the
 * module gets loaded). Errors: -EINVAL. */
CIO_API int cio_tls_ctx_set_ktls(cio_tls_ctx *ctx, int on);

/* Run-time check: Returns 1 if the kernel offers TLS (the `tls` upper
 * layer protocol is listed in /proc/sys/net/ipv4/tcp_available_ulp) and
 * OpenSSL was built with KTLS, else CIO_ETLS_NOKTLS. */
CIO_API int cio_tls_ktls_available(void);

/* The text of the last TLS failure on the calling thread (OpenSSL's
 * reason, e.g. "certificate verify failed: certificate has expired"),
 * copied into buf (cap bytes, NUL-terminated). Returns: its length
 * (0 if none). Errors: -EINVAL (NULL buf with cap > 0). */
CIO_API int cio_tls_last_error(char *buf, size_t cap);

/* ---- upgrading a live connection (asyncio's start_tls) ---- */

/* Runs a TLS handshake on the open stream pair (role from ctx:
 * a client sends its hello; a server waits for one) and from then on
 * every read and write goes through TLS (asyncio's
 * StreamWriter.start_tls). Output written before is sent in the clear
 * first; bytes the reader had buffered beyond the last line read (the
 * peer's hello, sent right after its STARTTLS) are handed to TLS.
 * server_hostname (client: SNI and the name checked; NULL: none, which a
 * client context that checks host names refuses with CIO_ETLS_CONFIG) is
 * borrowed for the call; ctx is retained. Returns: 0. Errors: -EINVAL
 * (NULL, r and w of different streams, outside a task of the stream's
 * loop, not a socket, already TLS), -EPIPE (closing), CIO_ETLS_* (the
 * connection is then closed), -ECANCELED, -errno. Suspends. */
CIO_API int cio_stream_start_tls(cio_stream_reader *r, cio_stream_writer *w,
                                 cio_tls_ctx *ctx, const char *server_hostname);

/* The same for a transport (asyncio's loop.start_tls), called from a
 * task of its loop: data_received is not called while the handshake
 * runs, and sees only plaintext after. On io_uring a transport in
 * completion mode is moved to readiness mode first (what its recv had
 * already received goes to TLS). Unsent output must have been flushed
 * (-EBUSY otherwise). Returns: 0. Errors: as cio_stream_start_tls, -EBUSY
 * (on a TLS failure the transport is closed and connection_lost
 * follows). Suspends. */
CIO_API int cio_transport_start_tls(cio_transport *t, cio_tls_ctx *ctx,
                                    const char *server_hostname);

/* The same for a connected awaitable stream socket: afterwards
 * cio_socket_recv / send / sendall move plaintext through TLS (their
 * flags must be 0) and cio_socket_shutdown(SHUT_WR) sends close_notify.
 * With a server context on a socket from cio_socket_accept, this is how
 * an awaitable-socket server speaks TLS (server_hostname NULL; the
 * client's SNI is then cio_tls_server_name). A client that connects and
 * upgrades in one call: cio_socket_create_connection_tls (cio/net.h).
 * Returns: 0. Errors: as cio_stream_start_tls, -EPROTOTYPE (not a stream
 * socket). Suspends. */
CIO_API int cio_socket_start_tls(cio_socket *s, cio_tls_ctx *ctx,
                                 const char *server_hostname);

/* ---- a connection's TLS state ---- */

/* Returns: the TLS state of a stream's connection, or NULL if it does
 * not use TLS (or w is NULL). Borrowed: valid while the writer is. */
CIO_API cio_tls_conn *cio_stream_writer_tls(const cio_stream_writer *w);

/* Returns: the TLS state of a transport, or NULL (no TLS, NULL t).
 * Borrowed: valid until connection_lost returns. */
CIO_API cio_tls_conn *cio_transport_tls(const cio_transport *t);

/* Returns: the TLS state of a socket after cio_socket_start_tls, or NULL.
 * Borrowed: valid until the socket is closed. */
CIO_API cio_tls_conn *cio_socket_tls(const cio_socket *s);

/* The peer certificate's subject as one line ("CN=localhost,O=..."),
 * into buf (cap bytes, NUL-terminated). Returns: its length. Errors:
 * -EINVAL, -ENOENT (no peer certificate), -ENOBUFS (cap too small;
 * buf holds the truncated text). */
CIO_API int cio_tls_peer_subject(const cio_tls_conn *c, char *buf, size_t cap);

/* The peer certificate in DER into buf (cap bytes; NULL/0 to ask the
 * size). Returns: the DER length (more than cap: nothing copied).
 * Errors: -EINVAL, -ENOENT (no peer certificate). */
CIO_API int cio_tls_peer_cert_der(const cio_tls_conn *c, unsigned char *buf,
                                  size_t cap);

/* Returns: the negotiated cipher, e.g. "TLS_AES_128_GCM_SHA256" (static;
 * NULL for a NULL c). */
CIO_API const char *cio_tls_cipher(const cio_tls_conn *c);

/* Returns: the protocol version, e.g. "TLSv1.3" (static; NULL for a NULL
 * c). */
CIO_API const char *cio_tls_version(const cio_tls_conn *c);

/* Returns: the ALPN protocol agreed on, "" if none (owned by c, valid
 * while c is; NULL for a NULL c). */
CIO_API const char *cio_tls_alpn(const cio_tls_conn *c);

/* Returns: the server name the client asked for with SNI, NULL if none
 * (owned by c, valid while c is). */
CIO_API const char *cio_tls_server_name(const cio_tls_conn *c);

/* Returns: 1 if the handshake resumed a session, 0 if not. Errors:
 * -EINVAL. */
CIO_API int cio_tls_session_reused(const cio_tls_conn *c);

/* Returns: kernel TLS in use: bit 1 send, bit 2 receive (0: none).
 * Errors: -EINVAL. */
CIO_API int cio_tls_ktls(const cio_tls_conn *c);

/* The text of the last failure on this connection (as
 * cio_tls_last_error). Returns: its length (0 if none). Errors:
 * -EINVAL. */
CIO_API int cio_tls_conn_error(const cio_tls_conn *c, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif

#endif
