/*
 * pipe.c - asyncio's connect_read_pipe / connect_write_pipe: any pipe,
 * FIFO, socket or character device descriptor as a stream reader or
 * writer, or as a transport driving a protocol.
 *
 * These are thin on purpose: the stream and transport layer already works
 * on any non-blocking stream descriptor, so a pipe needs only the checks
 * asyncio makes (a regular file or a directory is refused: epoll cannot
 * poll it and it is never "not ready") and O_NONBLOCK, which asyncio also
 * sets on the caller's descriptor. Rejected: a separate pipe reader and
 * writer (a second stream layer with its own buffering rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "internal.h"

/* Refuses what is not a pipe, FIFO, socket or character device, and
 * makes fd non-blocking. */
static int pipe_prepare(cio_loop *loop, int fd)
{
    if (!loop || fd < 0)
        return -EINVAL;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode) && !S_ISCHR(st.st_mode))
        return -EINVAL;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    return 0;
}

int cio_connect_read_pipe(cio_loop *loop, int fd, const cio_conn_opts *opts,
                          cio_stream_reader **out)
{
    if (out)
        *out = NULL;
    int r = pipe_prepare(loop, fd);
    if (r < 0 || !out)
        return r < 0 ? r : -EINVAL;
    return cio_stream_reader_from_fd(loop, fd, opts, out);
}

int cio_connect_write_pipe(cio_loop *loop, int fd, const cio_conn_opts *opts,
                           cio_stream_writer **out)
{
    if (out)
        *out = NULL;
    int r = pipe_prepare(loop, fd);
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
    int r = pipe_prepare(loop, fd);
    if (r < 0)
        return r;
    return cio_transport_from_fd(loop, fd, factory, arg, opts, out);
}

int cio_connect_write_pipe_protocol(cio_loop *loop, int fd,
                                    cio_protocol_factory factory, void *arg,
                                    const cio_conn_opts *opts,
                                    cio_transport **out)
{
    return cio_connect_read_pipe_protocol(loop, fd, factory, arg, opts, out);
}
