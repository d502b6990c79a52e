/*
 * transport.c - how a Redis connection's bytes move: over cio's public
 * streams (cio_open_connection; reads straight into the caller's buffer
 * when nothing is buffered, writes with the system call first and buffer
 * only the tail). This is the only file of src/redis that knows; when
 * src/net grows its byte-stream seam (TLS included) the connection moves
 * onto it here and nowhere else.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "redis_int.h"

struct cio__redis_tr {
    cio_stream_reader *r;
    cio_stream_writer *w;
};

int cio__redis_tr_open(const char *host, int port, cio__redis_tr **out)
{
    *out = NULL;
    cio__redis_tr *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    /* Pipelined writes may queue many commands: never pause on them. */
    o.high_water = (size_t)64 << 20;
    int r = cio_open_connection(host, port, &o, &t->r, &t->w);
    if (r < 0) {
        free(t);
        return r;
    }
    *out = t;
    return 0;
}

long cio__redis_tr_read(cio__redis_tr *t, void *buf, size_t n)
{
    return (long)cio_stream_reader_read(t->r, buf, n);
}

int cio__redis_tr_write(cio__redis_tr *t, const void *buf, size_t n)
{
    return cio_stream_writer_write(t->w, buf, n);
}

void cio__redis_tr_shutdown(cio__redis_tr *t)
{
    int fd = cio_stream_writer_fileno(t->w);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
}

void cio__redis_tr_free(cio__redis_tr *t)
{
    if (!t)
        return;
    cio_stream_reader_free(t->r);
    cio_stream_writer_free(t->w);
    free(t);
}
