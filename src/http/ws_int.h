/*
 * ws_int.h - the cio_ws object, shared by ws.c (the object and the
 * server's upgrade) and ws_client.c (cio_ws_connect).
 */
#ifndef CIO_HTTP_WS_INT_H
#define CIO_HTTP_WS_INT_H

#include "cio/websocket.h"
#include "ws_codec.h"

struct cio_ws {
    cio_socket *sock;
    int own_sock; /* client: closed by cio_ws_free */
    int server;
    cio_ws_options opt;
    cio__ws_rx rx;
    unsigned char *in; /* received bytes: in[off..len) not yet parsed */
    size_t in_len, in_off, in_cap;
    size_t drop; /* bytes of the frame last handed out (dropped later) */
    cio_lock wlock;
    unsigned char *out; /* scratch for masked frames */
    size_t out_cap;
    unsigned char *zout; /* scratch for compressed payloads */
    size_t zcap;
    z_stream dz;
    int dz_init;
    int deflate;        /* permessage-deflate negotiated */
    int deflate_no_ctx; /* reset our compressor after each message */
    int deflate_bits;   /* our compressor's window */
    int frag_op;        /* sending a fragmented message */
    int err;            /* sticky error */
    int close_sent, close_rcvd;
    int close_code;
    char close_reason[128];
    int receiving;
    int64_t last_rx, ping_at;
    int ping_out;
    unsigned char rnd[512]; /* masking keys, from RAND_bytes */
    size_t rnd_pos;
    char protocol[64];
};

/* Creates a ws on sock (borrowed, or owned when own_sock) with early
 * bytes early[0..n) already received. */
int cio__ws_new(cio_ws **out, cio_socket *sock, int own_sock, int server,
                const cio_ws_options *opt, const void *early, size_t n);
/* Sets up permessage-deflate: our compressor (window bits, reset after
 * each message or not) and the peer's (reset or not). */
int cio__ws_set_deflate(cio_ws *ws, int our_bits, int our_no_ctx,
                        int peer_no_ctx);
/* What a client handshake adds to the Upgrade request (extra: header
 * lines, each ending in CRLF) and hands back: every field of the answer
 * (on_header, any status) and its status. */
typedef struct cio__ws_hs {
    const char *extra;
    void (*on_header)(void *arg, int status, const char *name, size_t nl,
                      const char *value, size_t vl);
    void *arg;
    int *status;
} cio__ws_hs;
/* The client's opening handshake on the connected socket s (plain or TLS):
 * on success *out owns s. host:port is the Host field. Returns: 0.
 * Errors: CIO_EWS_HANDSHAKE, -errno, -ENOMEM, -ECANCELED. Suspends. */
int cio__ws_client_handshake(cio_socket *s, const char *host, int port,
                             const char *path, const cio_ws_options *opt,
                             const cio__ws_hs *hs, cio_ws **out);
/* Does the comma-separated field value v contain token tok? */
int cio__ws_has_token(const char *v, size_t n, const char *tok);

#endif
