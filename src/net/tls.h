/*
 * tls.h - TLS as the second byte-stream implementation (net/bstream.h):
 * a cio_tls_conn wraps any byte stream ("inner"), OpenSSL reaching the
 * inner stream through a custom BIO whose read and write are the inner
 * stream's. It shares the inner stream's readiness (afd): an inner
 * EAGAIN clears it as usual, and after a read that leaves decrypted or
 * read-ahead bytes inside OpenSSL the TLS read sets READ again, so no
 * caller waits for the kernel while TLS holds data (the pending rule of
 * bstream.h).
 *
 * Owners (stream.c, transport.c, sock.c) keep a `cio__bstream *` that
 * points at their descriptor stream or at the TLS one, run
 * cio__tls_handshake in a task before handing the connection out, and
 * free the state with cio__tls_free when their memory goes (the bstream
 * close op closes the inner stream but keeps the state readable for
 * the accessors).
 */
#ifndef CIO_NET_TLS_H
#define CIO_NET_TLS_H

#include "net/bstream.h"

typedef struct cio_tls_conn cio_tls_conn;

/* Makes the TLS state over inner (borrowed: the owner keeps it and it
 * must outlive the state) with ctx's role; host (client: SNI, the name
 * checked, the session key with port; may be NULL) is copied. ctx is
 * retained. Returns 0 and *out, -ENOMEM, CIO_ETLS_CONFIG. */
int cio__tls_new(cio_tls_ctx *ctx, cio__bstream *inner, int fd,
                 const char *host, int port, cio_tls_conn **out);

/* The byte stream of c (its ops are the TLS ones). */
cio__bstream *cio__tls_bs(cio_tls_conn *c);

/* Runs the handshake, waiting on the inner stream's afd (whose owner
 * must wake task waiters from its on_event, or have none), bounded by
 * the context's handshake timeout. Returns 0 or CIO_ETLS_*, -ECANCELED,
 * -EBADF (closed meanwhile), -errno of the inner stream. Suspends. */
int cio__tls_handshake(cio_tls_conn *c);

/* Bytes that arrived before TLS started (a start_tls after the peer
 * already sent its hello): copied, and read by OpenSSL before the inner
 * stream. Returns 0, -ENOMEM, -ENOTSUP (kernel TLS socket BIO). */
int cio__tls_feed(cio_tls_conn *c, const void *p, size_t n);

/* Frees the state (no I/O: close the byte stream first to send
 * close_notify). NULL is ignored. */
void cio__tls_free(cio_tls_conn *c);

/* The server context carried in connection options (retain/release for
 * servers that copy cio_conn_opts). */
void cio__tls_ctx_retain(cio_tls_ctx *ctx);
/* CIO_TLS_CLIENT or CIO_TLS_SERVER. */
int cio__tls_ctx_role(const cio_tls_ctx *ctx);

#endif
