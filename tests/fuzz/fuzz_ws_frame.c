/*
 * fuzz_ws_frame.c - the WebSocket receive codec (src/http/ws_codec.c) on
 * hostile bytes. The first input byte picks the side (server: frames must
 * be masked), permessage-deflate on or off, context takeover and the
 * message limit; the rest is a stream of frames, fed in whole and in
 * pieces as ws.c does. Checks: consumed bytes stay inside the input,
 * payload views point inside the input or the message buffer, no message
 * is larger than the limit (zip bombs included), every text message and
 * close reason is UTF-8, and an error is a close code the protocol knows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(const uint8_t *data, size_t size, size_t step)
{
    uint8_t mode = data[0];
    static const uint64_t limits[8] = {0,    1,     125,   126,
                                       1024, 65536, 65537, 1 << 20};
    cio__ws_rx rx;
    cio__ws_rx_init(&rx, mode & 1, limits[(mode >> 3) & 7]);
    rx.deflate = (mode >> 1) & 1;
    rx.inflate_no_ctx = (mode >> 2) & 1;
    size_t n = size - 1;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    memcpy(buf, data + 1, n);
    size_t off = 0, avail = step < n ? step : n;
    for (;;) {
        size_t need;
        cio__ws_ev ev;
        long r = cio__ws_rx_frame(&rx, buf + off, avail - off, &need, &ev);
        if (r < 0) {
            if (r != -1002 && r != -1007 && r != -1009)
                abort();
            break;
        }
        if (r == 0) {
            if (need && need <= avail - off)
                abort(); /* said incomplete with the bytes there */
            if (avail == n)
                break;
            avail = avail + step < n ? avail + step : n;
            continue;
        }
        if ((size_t)r > avail - off)
            abort();
        const unsigned char *lo = buf + off, *hi = buf + off + r;
        int in_input = ev.data >= lo && ev.data + ev.len <= hi;
        int in_msg =
            rx.buf && ev.data >= rx.buf && ev.data + ev.len <= rx.buf + rx.len;
        if (ev.type && ev.len && !in_input && !in_msg)
            abort();
        if (ev.type == CIO__WS_TEXT || ev.type == CIO__WS_BINARY) {
            if (ev.len > rx.max_msg)
                abort();
            if (ev.type == CIO__WS_TEXT && !cio__utf8_valid(ev.data, ev.len))
                abort();
        }
        if (ev.type >= 8 && ev.len > 125)
            abort();
        if (ev.type == CIO__WS_CLOSE &&
            (!cio__utf8_valid(ev.data, ev.len) ||
             (ev.close_code != 1005 && !cio__ws_close_code_ok(ev.close_code))))
            abort();
        off += (size_t)r;
    }
    cio__ws_rx_free(&rx);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    run(data, size, size); /* all at once */
    run(data, size, 7);    /* in small pieces */
    /* The extension negotiation on the same bytes, both sides. */
    char resp[160];
    int sno, cno, sb, cb;
    int r = cio__ws_pmd_parse((const char *)data + 1, size - 1, 1, resp,
                              sizeof(resp), &sno, &cno, &sb, &cb);
    if (r < -1 || r > 1 || (r == 1 && (sb < 9 || sb > 15 || cb < 8 || cb > 15)))
        abort();
    if (r == 1) {
        /* What the server answers, the client accepts. */
        int sno2, cno2, sb2, cb2;
        if (cio__ws_pmd_parse(resp, strlen(resp), 0, NULL, 0, &sno2, &cno2,
                              &sb2, &cb2) != 1 ||
            sno2 != sno || cno2 != cno || sb2 != sb)
            abort();
    }
    r = cio__ws_pmd_parse((const char *)data + 1, size - 1, 0, NULL, 0, &sno,
                          &cno, &sb, &cb);
    if (r < -1 || r > 1)
        abort();
    return 0;
}
