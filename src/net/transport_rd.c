/*
 * transport_rd.c - a transport's bytes in readiness mode, over the
 * descriptor byte stream (net/bstream.h): the run reads into the
 * connection's buffer (or the BufferedProtocol's) and hands each chunk to
 * the protocol, until EAGAIN, a short read (unless the peer's FIN was
 * reported) or CIO__TR_READ_BUDGET reads; writes try the stream first
 * (cio__tr_rd_write, inline in transport.h) and keep only the unsent
 * tail, flushed from the write edge. The
 * protocol-facing part (transport.c) decides when each runs.
 */
#include <errno.h>

#include "net/transport.h"

void cio__tr_rd_flush(cio_transport *t)
{
    int again;
    int r = cio__wbuf_flush(&t->wb, t->bs, &again);
    if (r < 0) {
        cio__tr_fatal(t, r, 0);
        return;
    }
    cio__tr_flushed(t);
}

void cio__tr_rd_read(cio_transport *t)
{
    const cio_protocol *p = t->proto;
    /* Small messages land in this buffer on the loop thread's stack: hot
     * in the cache whichever connection reads, and an idle connection
     * never owns memory for reading. A read that fills it switches the
     * connection to its own read_size buffer, kept from then on. */
    char local[16384];
    for (int i = 0; i < CIO__TR_READ_BUDGET; i++) {
        char *buf;
        size_t len;
        if (p->get_buffer) {
            len = 0;
            buf = p->get_buffer(t, t->rsize, &len, t->ctx);
            if (!buf || !len) {
                cio__tr_fatal(t, -ENOBUFS, 1);
                return;
            }
        } else if (!t->rbuf) {
            buf = local;
            len = t->rsize < sizeof(local) ? t->rsize : sizeof(local);
        } else {
            buf = t->rbuf;
            len = t->rsize;
        }
        ssize_t n = cio__bs_read(t->bs, buf, len);
        if (CIO_LIKELY(n > 0)) {
            int rc = p->get_buffer
                         ? p->buffer_updated(t, (size_t)n, t->ctx)
                         : p->data_received(t, buf, (size_t)n, t->ctx);
            if (rc < 0) {
                cio__tr_fatal(t, rc, 1);
                return;
            }
            if (buf == local && (size_t)n == len && t->rsize > len &&
                !(t->rbuf = cio__malloc(t->rsize))) {
                cio__tr_fatal(t, -ENOMEM, 1);
                return;
            }
            if (t->closing || t->paused_r)
                return;
            /* a short read cleared the readiness: the queue is empty */
            if (!cio__bs_ready(t->bs, CIO__EV_READ))
                return;
            continue;
        }
        if (n == 0)
            cio__tr_got_eof(t);
        else if (n != -EAGAIN)
            cio__tr_fatal(t, (int)n, 0);
        return;
    }
}

ssize_t cio__tr_rd_writev(cio_transport *t, const struct iovec *iov,
                          size_t n)
{
    if (cio__wbuf_len(&t->wb) || !cio__bs_ready(t->bs, CIO__EV_WRITE))
        return 0;
    ssize_t k = cio__bs_writev(t->bs, iov, n > 64 ? 64 : (int)n);
    if (k == -EAGAIN)
        return 0;
    if (k < 0)
        cio__tr_fatal(t, (int)k, 0);
    return k;
}
