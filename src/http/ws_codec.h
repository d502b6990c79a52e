/*
 * ws_codec.h - cio::http's WebSocket frame codec (RFC 6455) with
 * permessage-deflate (RFC 7692): pure code, no I/O and no loop, fuzzed by
 * tests/fuzz/fuzz_ws_frame.c. ws.c drives it with the bytes it reads.
 */
#ifndef CIO_HTTP_WS_CODEC_H
#define CIO_HTTP_WS_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

enum {
    CIO__WS_CONT = 0,
    CIO__WS_TEXT = 1,
    CIO__WS_BINARY = 2,
    CIO__WS_CLOSE = 8,
    CIO__WS_PING = 9,
    CIO__WS_PONG = 10,
};

/* The receiving side of one connection. */
typedef struct cio__ws_rx {
    int expect_masked;  /* 1: we are the server (frames must be masked) */
    int deflate;        /* permessage-deflate negotiated: RSV1 allowed */
    int inflate_no_ctx; /* the peer resets its context after each message */
    uint64_t max_msg;   /* largest message (after inflating) */
    z_stream z;
    int z_init;
    int op;         /* opcode of the fragmented message in progress, 0: none */
    int compressed; /* that message has RSV1 */
    uint32_t utf8;  /* incremental UTF-8 validator state */
    unsigned char *buf; /* the message being assembled */
    size_t len, cap;
} cio__ws_rx;

/* What one frame produced. */
typedef struct cio__ws_ev {
    int type; /* 0: a fragment was stored; CIO__WS_TEXT / BINARY: a whole
               * message; CLOSE, PING, PONG: a control frame */
    const unsigned char *data; /* the payload: into the input or rx->buf */
    size_t len;
    int close_code; /* CLOSE: the code, 1005 when the frame has none */
} cio__ws_ev;

void cio__ws_rx_init(cio__ws_rx *rx, int expect_masked, uint64_t max_msg);
void cio__ws_rx_free(cio__ws_rx *rx);

/* Consumes the first frame of p[0..n) if it is whole, unmasking it in
 * place. Returns: its length (> 0) with *ev filled (ev->data may point
 * into p: valid while those bytes are); 0 when more bytes are needed
 * (*need: how many in all, 0 if not known yet); or a negative value:
 * -1002 (protocol), -1007 (bad UTF-8), -1009 (too big), -ENOMEM. */
long cio__ws_rx_frame(cio__ws_rx *rx, unsigned char *p, size_t n, size_t *need,
                      cio__ws_ev *ev);

/* Writes a frame head for a payload of len bytes into out (>= 14 bytes);
 * mask (4 bytes) or NULL. Returns: its length. */
size_t cio__ws_frame_head(unsigned char *out, int fin, int rsv1, int opcode,
                          uint64_t len, const unsigned char *mask);

/* XORs p[0..n) with the 4-byte key, starting at key offset `off`. */
void cio__ws_mask(unsigned char *p, size_t n, const unsigned char key[4],
                  size_t off);

/* UTF-8 validation. State 0 is "at a character boundary". Returns the new
 * state, or UINT32_MAX on an invalid sequence. */
uint32_t cio__utf8_step(uint32_t state, const unsigned char *p, size_t n);
int cio__utf8_valid(const unsigned char *p, size_t n);

/* Whether a close code may appear in a close frame (RFC 6455 7.4). */
int cio__ws_close_code_ok(int code);

/* permessage-deflate compression of one message: appends the compressed
 * payload (the final 00 00 ff ff removed) to *out (realloc'd, *cap its
 * size, *len its length). Returns 0 or -ENOMEM. */
int cio__ws_deflate(z_stream *z, const void *data, size_t n,
                    unsigned char **out, size_t *len, size_t *cap);

/* Sec-WebSocket-Accept for a key: base64(SHA-1(key GUID)) into out (29
 * bytes with the NUL). */
void cio__ws_accept_key(const char *key, size_t key_len, char out[29]);

/* Parses a Sec-WebSocket-Extensions value for permessage-deflate. For
 * the server (offer from a client): picks the first acceptable offer and
 * writes the response value into resp (cap bytes); for the client (the
 * server's response): checks it. Sets *server_no_ctx, *client_no_ctx,
 * *server_bits, *client_bits. Returns 1 (negotiated), 0 (no
 * permessage-deflate in it) or -1 (malformed / unacceptable). */
int cio__ws_pmd_parse(const char *v, size_t n, int server_side, char *resp,
                      size_t cap, int *server_no_ctx, int *client_no_ctx,
                      int *server_bits, int *client_bits);

#endif
