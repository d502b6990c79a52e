/*
 * transport_cq.c - a transport's bytes in completion mode (io_uring).
 *
 * On a backend whose caps() offer socket ops, a socket transport with a
 * data_received protocol does not watch readiness at all. One multishot
 * recv fills the backend's buffers; its completions are held in the
 * transport (hq) and handed to data_received by the run, each buffer given
 * back once the callback returns. Writes are copied into the filling
 * buffer (wb) and sent by one send at a time from the other (sb), which
 * stays untouched while the kernel has it; the two swap when a send
 * completes. So the system calls of a busy connection ride on the loop's
 * one io_uring_enter per iteration. BufferedProtocol and pipes stay on
 * readiness (transport_rd.c): the former hands its own buffer to each
 * read, which a multishot recv cannot fill. Every op in flight holds a
 * reference on the transport. The backend is reached only through the
 * loop's cio__op_* door (loop/loop.h).
 */
#include <errno.h>

#include "net/transport.h"

static void u_recv_cb(cio__uop *op, int res, int more, char *buf,
                      unsigned id);
static void u_send_cb(cio__uop *op, int res, int more, char *buf,
                      unsigned id);

void cio__tr_cq_init(cio_transport *t)
{
    t->rop.cb = u_recv_cb;
    t->sop.cb = u_send_cb;
}

void cio__tr_cq_stop_reading(cio_transport *t)
{
    if (t->r_armed)
        cio__op_cancel(t->loop, &t->rop);
}

void cio__tr_cq_close(cio_transport *t)
{
    /* the ops' final completions drop their references later; the cancel
     * is submitted before close(2) so the socket closes now */
    if (t->r_armed)
        cio__op_cancel(t->loop, &t->rop);
    if (t->s_busy)
        cio__op_cancel(t->loop, &t->sop);
    cio__tr_cq_release(t);
}

void cio__tr_cq_release(cio_transport *t)
{
    for (; t->hlen; t->hlen--) {
        struct held *c = &t->hq[t->hhead];
        cio__op_buf_put(t->loop, c->id);
        t->hhead = (t->hhead + 1) & (t->hcap - 1);
    }
    t->hhead = 0;
}

static void u_recv_cb(cio__uop *op, int res, int more, char *buf,
                      unsigned id)
{
    cio_transport *t = cio__container_of(op, cio_transport, rop);
    if (res > 0) {
        if (t->closed) {
            cio__op_buf_put(t->loop, id);
        } else {
            if (t->hlen == t->hcap) {
                /* a ring, doubled when full (a power of two) */
                unsigned cap = t->hcap ? t->hcap * 2 : 4;
                struct held *q = cio__malloc(cap * sizeof(*q));
                if (!q) {
                    cio__op_buf_put(t->loop, id);
                    t->r_err = -ENOMEM;
                    goto out;
                }
                for (unsigned i = 0; i < t->hlen; i++)
                    q[i] = t->hq[(t->hhead + i) & (t->hcap - 1)];
                cio__free(t->hq);
                t->hq = q;
                t->hcap = cap;
                t->hhead = 0;
            }
            t->hq[(t->hhead + t->hlen) & (t->hcap - 1)] =
                (struct held){buf, (uint32_t)res, id};
            t->hlen++;
        }
    } else if (res == 0) {
        t->r_eof = 1;
    } else if (res != -ECANCELED) {
        t->r_err = res;
    }
out:
    if (!t->closed)
        cio__tr_schedule(t); /* deliver, or re-arm a recv that ended */
    if (!more) {
        t->r_armed = 0;
        cio__tr_unref(t); /* the op's reference */
    }
}

static void u_send_cb(cio__uop *op, int res, int more, char *buf,
                      unsigned id)
{
    (void)more;
    (void)buf;
    (void)id;
    cio_transport *t = cio__container_of(op, cio_transport, sop);
    t->s_busy = 0;
    if (res > 0) {
        t->sb.start += (size_t)res;
        if (t->sb.start == t->sb.end)
            t->sb.start = t->sb.end = 0;
    } else if (res < 0 && res != -ECANCELED && !t->w_err) {
        t->w_err = res;
    }
    if (!t->closed) {
        if (!t->w_err)
            cio__tr_cq_send_next(t);
        size_t len = cio__tr_wlen(t);
        if (t->w_err || (t->wpaused && len <= t->low) ||
            (!len && (t->eof_pending || t->closing)))
            cio__tr_schedule(t); /* user callbacks run from the run */
    }
    cio__tr_unref(t); /* the op's reference */
}

/* Sends the rest of sb, or swaps the filling buffer in and sends it. */
void cio__tr_cq_send_next(cio_transport *t)
{
    if (t->s_busy || t->closed || t->loop->discarding)
        return;
    if (!cio__wbuf_len(&t->sb)) {
        if (!cio__wbuf_len(&t->wb))
            return;
        cio__wbuf tmp = t->sb;
        t->sb = t->wb;
        t->wb = tmp;
        t->wb.start = t->wb.end = 0;
    }
    int r = cio__op_send(t->loop, &t->sop, t->fs.fd, t->sb.p + t->sb.start,
                         cio__wbuf_len(&t->sb));
    if (r < 0) {
        if (!t->w_err)
            t->w_err = r;
        cio__tr_schedule(t);
        return;
    }
    t->s_busy = 1;
    t->refs++;
}

static void u_arm_recv(cio_transport *t)
{
    int r = cio__op_recv(t->loop, &t->rop, t->fs.fd);
    if (r < 0) {
        cio__tr_fatal(t, r, 0);
        return;
    }
    t->r_armed = 1;
    t->refs++;
}

/* Can t run in completion mode on its loop? */
int cio__tr_cq_eligible(const cio_transport *t)
{
    return t->fs.is_sock && !t->proto->get_buffer && t->bs == &t->fs.bs &&
           cio__op_available(t->loop);
}

/* The run's part in completion mode: hand the held chunks to the
 * protocol, then what the recv ended with, then keep a recv armed. */
void cio__tr_cq_run(cio_transport *t)
{
    if (t->w_err) {
        cio__tr_fatal(t, t->w_err, 0);
        return;
    }
    cio__tr_flushed(t);
    const cio_protocol *p = t->proto;
    while (t->hlen && !t->closed && !t->closing && !t->paused_r) {
        struct held c = t->hq[t->hhead];
        t->hhead = (t->hhead + 1) & (t->hcap - 1);
        t->hlen--;
        int rc = p->data_received(t, c.p, c.len, t->ctx);
        cio__op_buf_put(t->loop, c.id);
        if (rc < 0) {
            cio__tr_fatal(t, rc, 1);
            return;
        }
    }
    if (t->closed || t->closing || t->paused_r || t->hlen)
        return;
    if (t->r_err) {
        cio__tr_fatal(t, t->r_err, 0);
        return;
    }
    if (t->r_eof) {
        if (!t->eof)
            cio__tr_got_eof(t);
        return;
    }
    if (!t->r_armed)
        u_arm_recv(t);
}

/* A transport whose descriptor is watched for readiness switches to
 * completion mode if it can, before anything is written or read. */
void cio__tr_cq_switch(cio_transport *t)
{
    if (!cio__tr_cq_eligible(t))
        return;
    cio__afd_unwatch(&t->fs.afd);
    t->umode = 1;
}
