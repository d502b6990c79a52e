/*
 * io.h - the connection-I/O interface of cio::http: everything the server
 * needs from a byte stream and a listener, in one place. io.c implements
 * it on cio's public awaitable sockets (cio_socket_*), whose reads and
 * writes go through the byte-stream seam of src/net (net/bstream.h): on an
 * HTTPS app (https.c) the same calls carry TLS once cio_socket_start_tls
 * ran on the accepted socket.
 */
#ifndef CIO_HTTP_IO_H
#define CIO_HTTP_IO_H

#include <sys/uio.h>

#include "cio.h"

typedef struct cio__http_io {
    cio_socket *sock;
} cio__http_io;

typedef struct cio__http_listener {
    cio_socket *sock;
    int port;
} cio__http_listener;

/* Binds host:port with SO_REUSEADDR and SO_REUSEPORT and listens. */
int cio__http_listen(cio__http_listener *l, cio_loop *loop, const char *host,
                     int port);
/* Waits for a connection. Suspends. */
int cio__http_accept(cio__http_listener *l, cio__http_io *io,
                     cio_sockaddr *peer);
void cio__http_listener_close(cio__http_listener *l);

/* Receives up to n bytes: > 0, 0 at EOF, or -errno. Suspends. */
ssize_t cio__http_io_read(cio__http_io *io, void *buf, size_t n);
/* One gathered write through the socket's byte stream, never waiting.
 * Returns the bytes the kernel took (maybe 0) or -errno. */
ssize_t cio__http_io_try_writev(cio__http_io *io, const struct iovec *iov,
                                int n);
/* Writes what is left of iov[0..n) after its first `done` bytes, waiting
 * for the socket as needed. Returns 0 or -errno. Suspends. */
int cio__http_io_writev_rest(cio__http_io *io, const struct iovec *iov, int n,
                             size_t done);
/* Sends count bytes of in_fd from *off (advanced). Returns 0 or -errno.
 * Suspends. */
int cio__http_io_sendfile(cio__http_io *io, int in_fd, off_t *off,
                          size_t count);
/* Sets TCP_NODELAY (HTTP/2: many small frames per round trip must not
 * wait for the peer's delayed ACK). Returns 0 or -errno. */
int cio__http_io_nodelay(cio__http_io *io);
/* Half-closes the write side (for a lingering close). */
void cio__http_io_shutdown(cio__http_io *io);
void cio__http_io_close(cio__http_io *io);

#endif
