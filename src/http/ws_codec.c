/*
 * ws_codec.c - the WebSocket frame codec (see ws_codec.h): frame heads,
 * masking, message assembly, the protocol's rules on what a peer may
 * send, UTF-8 validation, permessage-deflate (zlib) and the handshake's
 * accept key (OpenSSL's SHA-1 and base64). No I/O.
 */
#include "ws_codec.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cio__ws_rx_init(cio__ws_rx *rx, int expect_masked, uint64_t max_msg)
{
    memset(rx, 0, sizeof(*rx));
    rx->expect_masked = expect_masked;
    rx->max_msg = max_msg;
}

void cio__ws_rx_free(cio__ws_rx *rx)
{
    if (rx->z_init)
        inflateEnd(&rx->z);
    rx->z_init = 0;
    free(rx->buf);
    rx->buf = NULL;
    rx->len = rx->cap = 0;
}

void cio__ws_mask(unsigned char *p, size_t n, const unsigned char key[4],
                  size_t off)
{
    unsigned char k[8];
    for (int i = 0; i < 8; i++)
        k[i] = key[(off + (size_t)i) & 3];
    uint64_t kw;
    memcpy(&kw, k, 8);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        w ^= kw;
        memcpy(p + i, &w, 8);
    }
    for (; i < n; i++)
        p[i] ^= k[i & 7];
}

size_t cio__ws_frame_head(unsigned char *out, int fin, int rsv1, int opcode,
                          uint64_t len, const unsigned char *mask)
{
    size_t h = 0;
    out[h++] =
        (unsigned char)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 15));
    unsigned char m = mask ? 0x80 : 0;
    if (len < 126) {
        out[h++] = (unsigned char)(m | len);
    } else if (len <= 0xffff) {
        out[h++] = m | 126;
        out[h++] = (unsigned char)(len >> 8);
        out[h++] = (unsigned char)len;
    } else {
        out[h++] = m | 127;
        for (int i = 7; i >= 0; i--)
            out[h++] = (unsigned char)(len >> (8 * i));
    }
    if (mask) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    return h;
}

/* UTF-8: state = remaining continuation bytes | (lo << 8) | (hi << 16),
 * lo..hi the range allowed for the next continuation byte (narrower after
 * E0, ED, F0 and F4, which excludes overlongs, surrogates and values past
 * U+10FFFF). */
uint32_t cio__utf8_step(uint32_t st, const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (st == 0) {
            /* ASCII fast path, 8 bytes at a time. */
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & 0x8080808080808080ull)
                    break;
                i += 8;
            }
            if (i >= n)
                break;
            unsigned c = p[i++];
            if (c < 0x80)
                continue;
            unsigned lo = 0x80, hi = 0xbf, need;
            if (c >= 0xc2 && c <= 0xdf)
                need = 1;
            else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                if (c == 0xe0)
                    lo = 0xa0;
                else if (c == 0xed)
                    hi = 0x9f;
            } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                if (c == 0xf0)
                    lo = 0x90;
                else if (c == 0xf4)
                    hi = 0x8f;
            } else
                return UINT32_MAX;
            st = need | (lo << 8) | (hi << 16);
        } else {
            unsigned c = p[i++];
            unsigned lo = (st >> 8) & 0xff, hi = (st >> 16) & 0xff;
            if (c < lo || c > hi)
                return UINT32_MAX;
            unsigned need = (st & 0xff) - 1;
            st = need ? need | (0x80u << 8) | (0xbfu << 16) : 0;
        }
    }
    return st;
}

int cio__utf8_valid(const unsigned char *p, size_t n)
{
    return cio__utf8_step(0, p, n) == 0;
}

int cio__ws_close_code_ok(int code)
{
    if (code >= 3000 && code <= 4999)
        return 1;
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

static int buf_reserve(cio__ws_rx *rx, size_t extra)
{
    if (rx->cap - rx->len >= extra)
        return 0;
    size_t cap = rx->cap ? rx->cap : 1024;
    while (cap - rx->len < extra)
        cap *= 2;
    unsigned char *b = realloc(rx->buf, cap);
    if (!b)
        return -ENOMEM;
    rx->buf = b;
    rx->cap = cap;
    return 0;
}

/* Inflates in[0..n) onto rx->buf, within max_msg. */
static long inflate_into(cio__ws_rx *rx, const unsigned char *in, size_t n)
{
    if (!rx->z_init) {
        memset(&rx->z, 0, sizeof(rx->z));
        if (inflateInit2(&rx->z, -15) != Z_OK)
            return -ENOMEM;
        rx->z_init = 1;
    }
    rx->z.next_in = (unsigned char *)in;
    rx->z.avail_in = (uInt)n;
    for (;;) {
        if (rx->len >= rx->max_msg && rx->z.avail_in == 0)
            return 0;
        if (buf_reserve(rx, 4096) < 0)
            return -ENOMEM;
        size_t room = rx->cap - rx->len;
        /* One byte past the limit tells "too big" from "exactly max". */
        if (room > rx->max_msg + 1 - rx->len)
            room = (size_t)(rx->max_msg + 1 - rx->len);
        rx->z.next_out = rx->buf + rx->len;
        rx->z.avail_out = (uInt)room;
        int zr = inflate(&rx->z, Z_SYNC_FLUSH);
        rx->len += room - rx->z.avail_out;
        if (rx->len > rx->max_msg)
            return -1009;
        if (zr == Z_STREAM_END)
            return -1002; /* a final block: not allowed by RFC 7692 */
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return -1002;
        if (rx->z.avail_in == 0 && rx->z.avail_out != 0)
            return 0;
        if (zr == Z_BUF_ERROR && rx->z.avail_in == 0)
            return 0;
    }
}

long cio__ws_rx_frame(cio__ws_rx *rx, unsigned char *p, size_t n, size_t *need,
                      cio__ws_ev *ev)
{
    *need = 0;
    if (n < 2)
        return 0;
    int fin = p[0] >> 7, rsv1 = (p[0] >> 6) & 1, rsv23 = (p[0] >> 4) & 3;
    int op = p[0] & 15, masked = p[1] >> 7;
    uint64_t len = p[1] & 127;
    size_t h = 2;
    if (rsv23 || (rsv1 && (!rx->deflate || op == CIO__WS_CONT || op >= 8)))
        return -1002;
    if (op >= 3 && op != 8 && op != 9 && op != 10)
        return -1002;
    if (masked != rx->expect_masked)
        return -1002;
    if (op >= 8 && (!fin || len > 125))
        return -1002;
    if (len == 126) {
        if (n < 4)
            return 0;
        len = ((uint64_t)p[2] << 8) | p[3];
        h = 4;
    } else if (len == 127) {
        if (n < 10)
            return 0;
        len = 0;
        for (int i = 0; i < 8; i++)
            len = (len << 8) | p[2 + i];
        if (len >> 63)
            return -1002;
        h = 10;
    }
    if (op < 8) {
        if (op == CIO__WS_CONT && !rx->op)
            return -1002;
        if (op != CIO__WS_CONT && rx->op)
            return -1002;
        /* Bound the bytes buffered: the payload (compressed or not) of a
         * message never exceeds max_msg. */
        uint64_t have = op == CIO__WS_CONT && !rx->compressed ? rx->len : 0;
        if (len > rx->max_msg || have + len > rx->max_msg)
            return -1009;
    }
    unsigned char *key = NULL;
    if (masked) {
        key = p + h;
        h += 4;
    }
    if (n < h || n - h < len) {
        *need = h + (size_t)len;
        return 0;
    }
    unsigned char *d = p + h;
    if (key)
        cio__ws_mask(d, (size_t)len, key, 0);
    long total = (long)(h + len);
    memset(ev, 0, sizeof(*ev));
    if (op >= 8) {
        ev->type = op;
        ev->data = d;
        ev->len = (size_t)len;
        if (op == CIO__WS_CLOSE) {
            ev->close_code = 1005;
            if (len == 1)
                return -1002;
            if (len >= 2) {
                int code = (d[0] << 8) | d[1];
                if (!cio__ws_close_code_ok(code))
                    return -1002;
                if (!cio__utf8_valid(d + 2, (size_t)len - 2))
                    return -1007;
                ev->close_code = code;
                ev->data = d + 2;
                ev->len = (size_t)len - 2;
            }
        }
        return total;
    }
    if (op != CIO__WS_CONT) {
        rx->op = op;
        rx->compressed = rsv1;
        rx->utf8 = 0;
        rx->len = 0;
        if (fin && !rsv1) {
            /* A whole uncompressed message: no copy. */
            rx->op = 0;
            if (op == CIO__WS_TEXT && !cio__utf8_valid(d, (size_t)len))
                return -1007;
            ev->type = op;
            ev->data = d;
            ev->len = (size_t)len;
            return total;
        }
    }
    if (rx->compressed) {
        long r = inflate_into(rx, d, (size_t)len);
        if (r < 0)
            return r;
        if (fin) {
            static const unsigned char tail[4] = {0, 0, 0xff, 0xff};
            r = inflate_into(rx, tail, 4);
            if (r < 0)
                return r;
            if (rx->inflate_no_ctx)
                inflateReset(&rx->z);
        }
    } else {
        if (buf_reserve(rx, (size_t)len) < 0)
            return -ENOMEM;
        if (len)
            memcpy(rx->buf + rx->len, d, (size_t)len);
        if (rx->op == CIO__WS_TEXT) {
            rx->utf8 = cio__utf8_step(rx->utf8, d, (size_t)len);
            if (rx->utf8 == UINT32_MAX)
                return -1007;
        }
        rx->len += (size_t)len;
    }
    if (!fin)
        return total;
    if (rx->op == CIO__WS_TEXT) {
        if (rx->compressed ? !cio__utf8_valid(rx->buf, rx->len) : rx->utf8 != 0)
            return -1007;
    }
    ev->type = rx->op;
    ev->data = rx->buf;
    ev->len = rx->len;
    rx->op = 0;
    rx->compressed = 0;
    return total;
}

int cio__ws_deflate(z_stream *z, const void *data, size_t n,
                    unsigned char **out, size_t *len, size_t *cap)
{
    z->next_in = (unsigned char *)data;
    z->avail_in = (uInt)n;
    size_t start = *len;
    for (;;) {
        if (*cap - *len < 64) {
            size_t nc = *cap ? *cap * 2 : n / 2 + 256;
            unsigned char *b = realloc(*out, nc);
            if (!b)
                return -ENOMEM;
            *out = b;
            *cap = nc;
        }
        z->next_out = *out + *len;
        z->avail_out = (uInt)(*cap - *len);
        int zr = deflate(z, Z_SYNC_FLUSH);
        *len = *cap - z->avail_out;
        if (zr != Z_OK && zr != Z_BUF_ERROR)
            return -ENOMEM;
        if (z->avail_in == 0 && z->avail_out != 0)
            break;
    }
    /* Z_SYNC_FLUSH ends with an empty stored block 00 00 ff ff. */
    if (*len - start >= 4 && !memcmp(*out + *len - 4, "\0\0\xff\xff", 4))
        *len -= 4;
    return 0;
}

void cio__ws_accept_key(const char *key, size_t key_len, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdl = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
        EVP_DigestUpdate(ctx, key, key_len) == 1 &&
        EVP_DigestUpdate(ctx, guid, sizeof(guid) - 1) == 1 &&
        EVP_DigestFinal_ex(ctx, md, &mdl) == 1 && mdl == 20) {
        EVP_EncodeBlock((unsigned char *)out, md, 20);
    } else {
        out[0] = 0; /* never matches a peer's value */
    }
    EVP_MD_CTX_free(ctx);
}

/* ---- Sec-WebSocket-Extensions ---------------------------------------- */

static int is_ws(char c)
{
    return c == ' ' || c == '\t';
}

static size_t trim(const char **s, size_t n)
{
    while (n && is_ws(**s))
        (*s)++, n--;
    while (n && is_ws((*s)[n - 1]))
        n--;
    return n;
}

static int tok_eq(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = lit[i];
        if (a >= 'A' && a <= 'Z')
            a = (char)(a + 32);
        if (a != b)
            return 0;
    }
    return 1;
}

/* Parses "8".."15" (maybe quoted). Returns the value or -1. */
static int bits_value(const char *v, size_t n)
{
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"')
        v++, n -= 2;
    if (n < 1 || n > 2)
        return -1;
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    return x >= 8 && x <= 15 ? x : -1;
}

/* One extension element "name; p; p=v". Returns 1 accepted (fills the
 * outputs), 0 another extension, -1 a bad permessage-deflate. */
static int pmd_one(const char *s, size_t n, int server_side, int *sno, int *cno,
                   int *sbits, int *cbits, int *cbits_given)
{
    size_t k = 0;
    while (k < n && s[k] != ';')
        k++;
    const char *name = s;
    size_t nl = trim(&name, k);
    if (!tok_eq(name, nl, "permessage-deflate"))
        return 0;
    *sno = *cno = 0;
    *sbits = *cbits = 15;
    *cbits_given = 0;
    int seen = 0;
    while (k < n) {
        size_t st = ++k;
        while (k < n && s[k] != ';')
            k++;
        const char *p = s + st;
        size_t pl = trim(&p, k - st);
        const char *eq = memchr(p, '=', pl);
        size_t kl = eq ? (size_t)(eq - p) : pl;
        const char *key = p;
        kl = trim(&key, kl);
        const char *val = NULL;
        size_t vl = 0;
        if (eq) {
            val = eq + 1;
            vl = trim(&val, (size_t)(p + pl - val));
        }
        int bit;
        if (tok_eq(key, kl, "server_no_context_takeover")) {
            bit = 1;
            if (val)
                return -1;
            *sno = 1;
        } else if (tok_eq(key, kl, "client_no_context_takeover")) {
            bit = 2;
            if (val)
                return -1;
            *cno = 1;
        } else if (tok_eq(key, kl, "server_max_window_bits")) {
            bit = 4;
            int b = val ? bits_value(val, vl) : -1;
            if (b < 0)
                return -1;
            *sbits = b;
        } else if (tok_eq(key, kl, "client_max_window_bits")) {
            bit = 8;
            if (val) {
                int b = bits_value(val, vl);
                if (b < 0)
                    return -1;
                *cbits = b;
                *cbits_given = 1;
            } else {
                if (!server_side)
                    return -1; /* a response must give a value */
                *cbits_given = 0;
            }
        } else {
            return -1;
        }
        if (seen & bit)
            return -1;
        seen |= bit;
    }
    /* zlib cannot compress with an 8-bit window (raw deflate turns 8
     * into 9): refuse whatever would make us do so. */
    if (server_side ? *sbits == 8 : *cbits == 8)
        return -1;
    return 1;
}

int cio__ws_pmd_parse(const char *v, size_t n, int server_side, char *resp,
                      size_t cap, int *server_no_ctx, int *client_no_ctx,
                      int *server_bits, int *client_bits)
{
    size_t i = 0;
    int found = 0;
    while (i < n) {
        size_t st = i;
        /* Split on commas outside quotes. */
        int q = 0;
        while (i < n && (q || v[i] != ',')) {
            if (v[i] == '"')
                q = !q;
            i++;
        }
        int sno, cno, sb, cb, cbg;
        int r =
            pmd_one(v + st, i - st, server_side, &sno, &cno, &sb, &cb, &cbg);
        i++;
        if (r == 0)
            continue;
        if (!server_side) {
            if (r < 0 || found)
                return -1;
            found = 1;
            *server_no_ctx = sno;
            *client_no_ctx = cno;
            *server_bits = sb;
            *client_bits = cb;
            continue;
        }
        if (r < 0)
            continue; /* try the client's next offer */
        *server_no_ctx = sno;
        *client_no_ctx = cno;
        *server_bits = sb;
        *client_bits = cb;
        if (resp) {
            size_t o = (size_t)snprintf(resp, cap, "permessage-deflate");
            if (sno && o < cap)
                o += (size_t)snprintf(resp + o, cap - o,
                                      "; server_no_context_takeover");
            if (cno && o < cap)
                o += (size_t)snprintf(resp + o, cap - o,
                                      "; client_no_context_takeover");
            if (sb != 15 && o < cap)
                o += (size_t)snprintf(resp + o, cap - o,
                                      "; server_max_window_bits=%d", sb);
            if (cbg && o < cap)
                snprintf(resp + o, cap - o, "; client_max_window_bits=%d", cb);
        }
        return 1;
    }
    return found;
}
