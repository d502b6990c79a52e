/*
 * http_ws_codec.c - the frame codec choice of docs/design.md section 29,
 * measured: receive 1 KiB masked binary frames (what a server gets from
 * clients) from memory with cio's codec (src/http/ws_codec.c) and, when
 * libwslay-dev was found at build time, with libwslay's event API (a
 * server context whose recv callback copies from the same memory). Both
 * pay one copy of the input (cio: into its read buffer, as ws.c's recv
 * does; wslay: through its recv callback) and unmask it.
 *
 * Prints: ws_codec_ns_per_frame <v>, and wslay_ns_per_frame <v> with
 * wslay. Usage: http_ws_codec [--cio | --wslay] (default: both).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/ws_codec.h"
#ifdef CIO_HAVE_WSLAY
#include <wslay/wslay.h>
#endif

/* 64 frames (66 KiB): the input stays in cache, so what is measured is
 * the codec, not memory bandwidth. */
#define FRAMES 64
#define SIZE 1024
#define ROUNDS 20000

static unsigned char *src, *work;
static size_t src_len;

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void build(void)
{
    src = malloc(FRAMES * (SIZE + 8));
    work = malloc(FRAMES * (SIZE + 8));
    unsigned char payload[SIZE], key[4];
    for (int i = 0; i < SIZE; i++)
        payload[i] = (unsigned char)(i * 31);
    for (int f = 0; f < FRAMES; f++) {
        for (int k = 0; k < 4; k++)
            key[k] = (unsigned char)(f * 7 + k);
        size_t h =
            cio__ws_frame_head(src + src_len, 1, 0, CIO__WS_BINARY, SIZE, key);
        memcpy(src + src_len + h, payload, SIZE);
        cio__ws_mask(src + src_len + h, SIZE, key, 0);
        src_len += h + SIZE;
    }
}

static double run_cio(void)
{
    cio__ws_rx rx;
    cio__ws_rx_init(&rx, 1, 1 << 20);
    long frames = 0;
    unsigned sum = 0;
    double t0 = now_ns();
    for (int r = 0; r < ROUNDS; r++) {
        memcpy(work, src, src_len);
        size_t off = 0, need;
        cio__ws_ev ev;
        long n;
        while ((n = cio__ws_rx_frame(&rx, work + off, src_len - off, &need,
                                     &ev)) > 0) {
            sum += ev.data[ev.len - 1];
            off += (size_t)n;
            frames++;
        }
    }
    double t = now_ns() - t0;
    cio__ws_rx_free(&rx);
    if (frames != (long)FRAMES * ROUNDS || sum == 12345)
        return -1;
    return t / (double)frames;
}

#ifdef CIO_HAVE_WSLAY
static size_t wpos;
static long wframes;

static ssize_t w_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len,
                      int flags, void *user)
{
    (void)flags, (void)user;
    if (wpos == src_len) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (len > src_len - wpos)
        len = src_len - wpos;
    memcpy(buf, src + wpos, len);
    wpos += len;
    return (ssize_t)len;
}

static ssize_t w_send(wslay_event_context_ptr ctx, const uint8_t *d, size_t len,
                      int flags, void *user)
{
    (void)ctx, (void)d, (void)flags, (void)user;
    return (ssize_t)len;
}

static void w_msg(wslay_event_context_ptr ctx,
                  const struct wslay_event_on_msg_recv_arg *a, void *user)
{
    (void)ctx, (void)user;
    if (a->opcode == WSLAY_BINARY_FRAME && a->msg_length == SIZE)
        wframes++;
}

static double run_wslay(void)
{
    struct wslay_event_callbacks cb = {w_recv, w_send, NULL, NULL,
                                       NULL,   NULL,   w_msg};
    wframes = 0;
    double t0 = now_ns();
    for (int r = 0; r < ROUNDS; r++) {
        wslay_event_context_ptr ctx;
        if (wslay_event_context_server_init(&ctx, &cb, NULL) != 0)
            return -1;
        wslay_event_config_set_max_recv_msg_length(ctx, 1 << 20);
        wpos = 0;
        if (wslay_event_recv(ctx) != 0)
            return -1;
        wslay_event_context_free(ctx);
    }
    double t = now_ns() - t0;
    if (wframes != (long)FRAMES * ROUNDS)
        return -1;
    return t / (double)wframes;
}
#endif

int main(int argc, char **argv)
{
    int do_cio = 1, do_wslay = 1;
    if (argc > 1 && !strcmp(argv[1], "--cio"))
        do_wslay = 0;
    if (argc > 1 && !strcmp(argv[1], "--wslay"))
        do_cio = 0;
    build();
    if (do_cio) {
        run_cio(); /* warm-up */
        double v = run_cio();
        if (v < 0)
            return 1;
        printf("ws_codec_ns_per_frame %.1f\n", v);
    }
#ifdef CIO_HAVE_WSLAY
    if (do_wslay) {
        run_wslay();
        double v = run_wslay();
        if (v < 0) {
            fprintf(stderr, "http_ws_codec: wslay run failed\n");
            return 1;
        }
        printf("wslay_ns_per_frame %.1f\n", v);
    }
#else
    if (do_wslay && !do_cio) {
        fprintf(stderr, "http_ws_codec: built without libwslay-dev\n");
        return 1;
    }
#endif
    free(src);
    free(work);
    return 0;
}
