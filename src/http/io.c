/*
 * io.c - the connection I/O of cio::http on cio's public awaitable
 * sockets (see io.h). This is the only file of src/http that knows how
 * bytes reach the kernel.
 *
 * Writes: cio_socket_try_writev, one gathered write through the socket's
 * byte stream (src/net/bstream.h: cio__bs_writev, sendmsg with
 * MSG_NOSIGNAL for a descriptor; a TLS stream under the socket later),
 * so a response (or a batch of pipelined responses) normally leaves in one
 * system call; what the kernel does not take goes out with
 * cio_socket_sendallv, which waits for writability on the loop. Reads:
 * cio_socket_recv, which also goes through the byte stream and tries the
 * read before waiting.
 *
 * On HTTPS connections (https.c) the socket carries TLS after the
 * handshake: the same calls then move plaintext through it, except
 * sendfile, which falls back to pread + send unless kernel TLS is on.
 */
#include "io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int cio__http_listen(cio__http_listener *l, cio_loop *loop, const char *host,
                     int port)
{
    cio_sockaddr addr;
    int r = cio_sockaddr_from_ip(&addr, host ? host : "127.0.0.1", port);
    if (r < 0)
        return r;
    r = cio_socket_open(&l->sock, loop, cio_sockaddr_family(&addr),
                        SOCK_STREAM, 0);
    if (r < 0)
        return r;
    cio_socket_setsockopt_int(l->sock, SOL_SOCKET, SO_REUSEADDR, 1);
    r = cio_socket_setsockopt_int(l->sock, SOL_SOCKET, SO_REUSEPORT, 1);
    if (r == 0)
        r = cio_socket_bind(l->sock, &addr);
    if (r == 0)
        r = cio_socket_listen(l->sock, 1024);
    cio_sockaddr bound;
    if (r == 0)
        r = cio_socket_sockname(l->sock, &bound);
    if (r < 0) {
        cio_socket_close(l->sock);
        l->sock = NULL;
        return r;
    }
    l->port = cio_sockaddr_port(&bound);
    return 0;
}

int cio__http_accept(cio__http_listener *l, cio__http_io *io,
                     cio_sockaddr *peer)
{
    return cio_socket_accept(l->sock, &io->sock, peer);
}

void cio__http_listener_close(cio__http_listener *l)
{
    if (l->sock)
        cio_socket_close(l->sock);
    l->sock = NULL;
}

ssize_t cio__http_io_read(cio__http_io *io, void *buf, size_t n)
{
    return cio_socket_recv(io->sock, buf, n, 0);
}

ssize_t cio__http_io_try_writev(cio__http_io *io, const struct iovec *iov,
                                int n)
{
    return cio_socket_try_writev(io->sock, iov, n);
}

int cio__http_io_writev_rest(cio__http_io *io, const struct iovec *iov, int n,
                             size_t done)
{
    while (n > 0 && done >= iov[0].iov_len) {
        done -= iov[0].iov_len;
        iov++;
        n--;
    }
    if (n == 0)
        return 0;
    if (done == 0)
        return cio_socket_sendallv(io->sock, iov, n);
    /* The first buffer was partly taken: send its tail, then the rest. */
    int r = cio_socket_sendall(io->sock, (const char *)iov[0].iov_base + done,
                               iov[0].iov_len - done, 0);
    if (r < 0 || n == 1)
        return r;
    return cio_socket_sendallv(io->sock, iov + 1, n - 1);
}

/* sendfile for a TLS socket (only the kernel could encrypt what
 * sendfile sends): pread into a buffer, then the socket's byte stream. */
static int sendfile_copy(cio__http_io *io, int in_fd, off_t *off,
                         size_t count)
{
    enum { CHUNK = 64 * 1024 };
    char *buf = malloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    int r = 0;
    while (count > 0 && r == 0) {
        ssize_t n = pread(in_fd, buf, count < CHUNK ? count : CHUNK, *off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO; /* EOF: the file shrank under us */
            break;
        }
        r = cio_socket_sendall(io->sock, buf, (size_t)n, 0);
        if (r == 0) {
            *off += n;
            count -= (size_t)n;
        }
    }
    free(buf);
    return r;
}

int cio__http_io_sendfile(cio__http_io *io, int in_fd, off_t *off,
                          size_t count)
{
    while (count > 0) {
        ssize_t n = cio_socket_sendfile(io->sock, in_fd, off, count);
        if (n == -ENOTSUP) /* TLS without kernel TLS: through the stream */
            return sendfile_copy(io, in_fd, off, count);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EIO; /* the file shrank under us */
        count -= (size_t)n;
    }
    return 0;
}

int cio__http_io_nodelay(cio__http_io *io)
{
    return cio_socket_setsockopt_int(io->sock, IPPROTO_TCP, TCP_NODELAY, 1);
}

void cio__http_io_shutdown(cio__http_io *io)
{
    if (io->sock)
        cio_socket_shutdown(io->sock, SHUT_WR);
}

void cio__http_io_close(cio__http_io *io)
{
    if (io->sock)
        cio_socket_close(io->sock);
    io->sock = NULL;
}
