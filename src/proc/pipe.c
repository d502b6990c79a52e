/*
 * pipe.c - asyncio's connect_read_pipe / connect_write_pipe: any pipe,
 * FIFO, socket or character device descriptor as a stream reader or
 * writer, or as a transport driving a protocol.
 *
 * These are thin on purpose: the stream and transport layer already works
 * on any non-blocking stream descriptor, so a pipe needs only the checks
 * asyncio makes (a regular file or a directory is refused: epoll cannot
 * poll it and it is never "not ready") and O_NONBLOCK, which asyncio also
 * sets on the caller's descriptor, plus one asyncio leaves to the first
 * read or write: a descriptor open only for the other direction (the read
 * end handed to connect_write_pipe) is refused at once with -EBADF, the
 * error read(2)/write(2) would give later, instead of a transport that
 * dies on its first use.
 *
 * The write transport never reads, as asyncio's _UnixWritePipeTransport:
 * for a write-only pipe end the transport layer already watches only for
 * the reader going away; for a descriptor open both ways (a FIFO opened
 * O_RDWR, a socket) reading is paused from the start, so the transport
 * cannot swallow the bytes it wrote into its own FIFO.
 *
 * Rejected: a separate pipe reader and writer (a second stream layer with
 * its own buffering rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "internal.h"

/* Refuses what is not a pipe, FIFO, socket or character device, or is
 * open only for the other direction (bad_mode: O_WRONLY for a reader,
 * O_RDONLY for a writer), and makes fd non-blocking. */
static int pipe_prepare(cio_loop *loop, int fd, int bad_mode)
{
    if (!loop || fd < 0)
        return -EINVAL;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return CIO__ERRNO();
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !S_ISCHR(st.st_mode))
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return CIO__ERRNO();
    if ((fl & O_ACCMODE) == bad_mode)
        return -EBADF;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return CIO__ERRNO();
    return 0;
}

int cio_connect_read_pipe(cio_loop *loop, int fd, const cio_conn_opts *opts,
                          cio_stream_reader **out)
{
    if (out)
        *out = NULL;
    int r = pipe_prepare(loop, fd, O_WRONLY);
    if (r < 0 || !out)
        return r < 0 ? r : -EINVAL;
    return cio_stream_reader_from_fd(loop, fd, opts, out);
}

int cio_connect_write_pipe(cio_loop *loop, int fd, const cio_conn_opts *opts,
                           cio_stream_writer **out)
{
    if (out)
        *out = NULL;
    int r = pipe_prepare(loop, fd, O_RDONLY);
    if (r < 0 || !out)
        return r < 0 ? r : -EINVAL;
    return cio_stream_writer_from_fd(loop, fd, opts, out);
}

int cio_connect_read_pipe_protocol(cio_loop *loop, int fd,
                                   cio_protocol_factory factory, void *arg,
                                   const cio_conn_opts *opts,
                                   cio_transport **out)
{
    if (out)
        *out = NULL;
    int r = pipe_prepare(loop, fd, O_WRONLY);
    if (r < 0)
        return r;
    return cio_transport_from_fd(loop, fd, factory, arg, opts, out);
}

int cio_connect_write_pipe_protocol(cio_loop *loop, int fd,
                                    cio_protocol_factory factory, void *arg,
                                    const cio_conn_opts *opts,
                                    cio_transport **out)
{
    if (out)
        *out = NULL;
    int r = pipe_prepare(loop, fd, O_RDONLY);
    if (r < 0)
        return r;
    cio_transport *t;
    r = cio_transport_from_fd(loop, fd, factory, arg, opts, &t);
    if (r < 0)
        return r;
    /* connection_made has not run yet (it is queued), so the protocol
     * never sees the transport reading; is_reading then answers 0. */
    (void)cio_transport_pause_reading(t);
    if (out)
        *out = t;
    return 0;
}
