/*
 * transport.h - a transport's parts, shared by the protocol-facing half
 * (transport.c: lifetime, the run, callbacks, the public API) and the two
 * ways of moving its bytes: readiness over the descriptor byte stream
 * (transport_rd.c, net/bstream.h) and io_uring completions
 * (transport_cq.c). The run calls exactly one of them, chosen at open
 * (umode). Checklist when adding a mode: its read, flush/write and close
 * parts here, and transport_run's dispatch.
 */
#ifndef CIO_NET_TRANSPORT_H
#define CIO_NET_TRANSPORT_H

#include "net/conn.h"

#define CIO__TR_READ_BUDGET 16

struct cio_transport {
    cio__fdstream fs; /* the descriptor, its byte stream and readiness */
    cio__bstream *bs; /* what readiness mode moves bytes through: &fs.bs,
                       * or TLS over it (net/tls.h; never completion mode) */
    struct cio_tls_conn *tls;
    cio__ulayer *ul; /* cio_transport_from_bstream (cio/impl.h), over bs */
    cio_loop *loop;
    uint32_t refs;
    uint8_t can_eof;
    uint8_t paused_r;    /* pause_reading */
    uint8_t closing;     /* close requested or lost */
    uint8_t closed;      /* descriptor closed */
    uint8_t lost;        /* connection_lost called (or suppressed) */
    uint8_t made;        /* connection_made called */
    uint8_t eof;         /* EOF read */
    uint8_t eof_pending; /* write_eof once flushed */
    uint8_t eof_sent;
    uint8_t wpaused;     /* pause_writing called, resume not yet */
    uint8_t linked;
    uint8_t in_run;
    uint8_t no_read;  /* a write-only pipe: never read */
    uint8_t no_write; /* a read-only pipe */
    int err;
    /* completion mode (transport_cq.c) */
    uint8_t umode;
    uint8_t r_armed; /* the multishot recv is in the kernel */
    uint8_t s_busy;  /* a send of sb is in the kernel */
    uint8_t r_eof;   /* the recv saw EOF: after the held chunks */
    int r_err;       /* the recv failed: after the held chunks */
    int w_err;       /* a send failed */
    cio__uop rop, sop;
    struct held {
        char *p;
        uint32_t len;
        unsigned id;
    } *hq;
    unsigned hhead, hlen, hcap;
    cio__wbuf sb;
    unsigned pending;
    cio__handle *h;
    const cio_protocol *proto;
    void *ctx;
    char *rbuf;
    size_t rsize;
    cio__wbuf wb;
    size_t high, low, cap;
    cio__srvlink sl;
};

/* Bytes written and not yet sent: in completion mode, those the kernel
 * has (sb) and those waiting for the next send (wb). */
static inline size_t cio__tr_wlen(const cio_transport *t)
{
    return cio__wbuf_len(&t->wb) + cio__wbuf_len(&t->sb);
}

/* ---- transport.c: the protocol-facing part ---- */

/* Queues a run of t unless one is queued or running. */
void cio__tr_schedule(cio_transport *t);
void cio__tr_unref(cio_transport *t);
/* Closes the descriptor at once; connection_lost follows from a run. */
void cio__tr_close_now(cio_transport *t, int err);
/* A callback failed (report: report it) or the connection broke. */
void cio__tr_fatal(cio_transport *t, int err, int report);
/* After bytes left: resume_writing, a write_eof or close that waited. */
void cio__tr_flushed(cio_transport *t);
/* The peer's end of file. */
void cio__tr_got_eof(cio_transport *t);
/* pause_writing past the high-water mark. Returns 0 or the callback's
 * error (t is then closed). */
int cio__tr_check_high_water(cio_transport *t);

/* ---- transport_rd.c: readiness over the descriptor byte stream ---- */

/* Flushes the write tail (the descriptor became writable). */
void cio__tr_rd_flush(cio_transport *t);
/* Reads and delivers until EAGAIN, a short read, EOF or the budget. */
void cio__tr_rd_read(cio_transport *t);
/* Sends from *p (len *n) while nothing is buffered and the stream is
 * writable, advancing both. Returns 0 or the error (t is closed).
 * Inline: it is cio_transport_write's whole work on the echo path, and
 * out of line it cost 37 instructions a message (design.md section 41). */
static inline int cio__tr_rd_write(cio_transport *t, const char **p,
                                   size_t *n)
{
    while (*n && !cio__wbuf_len(&t->wb) &&
           cio__bs_ready(t->bs, CIO__EV_WRITE)) {
        ssize_t k = cio__bs_write(t->bs, *p, *n);
        if (CIO_LIKELY(k >= 0)) {
            *p += k;
            *n -= (size_t)k;
        } else if (k != -EAGAIN) {
            cio__tr_fatal(t, (int)k, 0);
            return (int)k;
        }
    }
    return 0;
}
/* One gathered send of up to 64 buffers when nothing is buffered.
 * Returns bytes sent (0 if not writable) or the error (t is closed). */
ssize_t cio__tr_rd_writev(cio_transport *t, const struct iovec *iov,
                          size_t n);

/* ---- transport_cq.c: io_uring completions ---- */

/* Sets the completion callbacks of t's ops (at allocation). */
void cio__tr_cq_init(cio_transport *t);
/* Can t run in completion mode on its loop? */
int cio__tr_cq_eligible(const cio_transport *t);
/* Switches a transport watched for readiness to completion mode. */
void cio__tr_cq_switch(cio_transport *t);
/* The run's part: deliver held chunks, then EOF/errors, keep a recv. */
void cio__tr_cq_run(cio_transport *t);
/* Sends the rest of sb, or swaps the filling buffer in and sends it. */
void cio__tr_cq_send_next(cio_transport *t);
/* Stops the multishot recv (pause, close after flush). */
void cio__tr_cq_stop_reading(cio_transport *t);
/* At close: cancels the ops in flight, gives held buffers back. */
void cio__tr_cq_close(cio_transport *t);
/* Gives every held chunk's buffer back to the backend. */
void cio__tr_cq_release(cio_transport *t);

#endif
