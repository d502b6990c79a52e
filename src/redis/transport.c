/*
 * transport.c - how a Redis connection's bytes move: over cio's public
 * streams (cio_open_connection; reads straight into the caller's buffer
 * when nothing is buffered, writes with the system call first and buffer
 * only the tail). This is the only file of src/redis that knows. TLS
 * (cio_redis_opts.tls) is the core's: cio_open_connection runs the
 * handshake and hands back TLS streams, so nothing else changes.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "redis_int.h"

struct cio__redis_tr {
    cio_stream_reader *r;
    cio_stream_writer *w;
};

int cio__redis_tr_open(const char *host, int port, cio_tls_ctx *tls,
                       const char *server_name, cio__redis_tr **out)
{
    *out = NULL;
    cio__redis_tr *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    /* Pipelined writes may queue many commands: never pause on them. */
    o.high_water = (size_t)64 << 20;
    /* TLS: the core's handshake runs inside cio_open_connection, so every
     * kind of Redis connection (pool, blocking, pub/sub, executor) gets
     * it here and nowhere else. */
    o.tls = tls;
    o.server_hostname = server_name;
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
