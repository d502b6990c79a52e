/*
 * custom_bstream.c - a byte stream of your own under cio's streams
 * (cio/impl.h): a toy XOR "cipher" layer, pushed on both ends of a TCP
 * connection, so that readline, write and drain move clear text while
 * the wire carries scrambled bytes. The same cio_bstream_ops table would
 * sit under an awaitable socket (cio_socket_push_bstream) or a protocol
 * transport (cio_transport_from_bstream).
 *
 * The server (cio_start_server on 127.0.0.1, a port the kernel picks)
 * pushes the layer in its handler and echoes lines upper-cased; a client
 * from cio_open_connection pushes it too, sends three lines and checks
 * the answers; a second client without the layer shows what really went
 * over the wire. The program ends by itself, with status 1 if an answer
 * was wrong (it runs as a test).
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic custom_bstream.c -o custom_bstream \
 *         $(pkg-config --cflags --libs cio)
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cio.h"
#include "cio/impl.h"

#define KEY 0x2a

static void scramble(void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] ^= KEY;
}

/* The layer's operations: each moves its bytes through `lower` (here the
 * socket's own byte stream) and passes -EAGAIN and errors on unchanged,
 * so cio waits for the socket's readiness exactly as it would without
 * the layer. */
static ssize_t xor_read(void *state, cio_bstream *lower, void *buf, size_t len)
{
    (void)state;
    ssize_t n = cio_bstream_read(lower, buf, len);
    if (n > 0)
        scramble(buf, (size_t)n);
    return n;
}

static ssize_t xor_write(void *state, cio_bstream *lower, const void *buf,
                         size_t len)
{
    (void)state;
    char tmp[4096];
    if (len > sizeof(tmp))
        len = sizeof(tmp); /* a short write: cio writes the rest next */
    memcpy(tmp, buf, len);
    scramble(tmp, len);
    return cio_bstream_write(lower, tmp, len);
}

/* writev, shutdown_write, pending left NULL: cio's defaults. The write
 * passes partial writes through byte for byte, so a short one means the
 * socket is full: CIO_BSTREAM_SHORT_IS_FULL. */
static const cio_bstream_ops XOR_OPS = {
    .read = xor_read,
    .write = xor_write,
    .flags = CIO_BSTREAM_SHORT_IS_FULL,
};

static int handle(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    (void)arg;
    int rc = cio_stream_push_bstream(r, w, &XOR_OPS, NULL);
    if (rc < 0)
        return rc;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        char up[256];
        size_t m = (size_t)n < sizeof(up) ? (size_t)n : sizeof(up);
        for (size_t i = 0; i < m; i++)
            up[i] = (char)toupper((unsigned char)line[i]);
        cio_stream_writer_write(w, up, m);
        if ((rc = cio_stream_writer_drain(w)) < 0)
            return rc;
    }
    return n < 0 ? (int)n : 0;
}

static int client(int port)
{
    cio_stream_reader *r;
    cio_stream_writer *w;
    int rc = cio_open_connection("127.0.0.1", port, NULL, &r, &w);
    if (rc < 0)
        return rc;
    rc = cio_stream_push_bstream(r, w, &XOR_OPS, NULL);
    const char *lines[] = {"hello\n", "custom byte streams\n", "bye\n"};
    for (int i = 0; i < 3 && rc >= 0; i++) {
        cio_stream_writer_write(w, lines[i], strlen(lines[i]));
        if ((rc = cio_stream_writer_drain(w)) < 0)
            break;
        const char *back;
        size_t len;
        if ((rc = cio_stream_reader_readuntil(r, "\n", 1, &back, &len)) < 0)
            break;
        printf("client: sent %.*s, got %.*s\n", (int)strlen(lines[i]) - 1,
               lines[i], (int)len - 1, back);
        for (size_t k = 0; k < len; k++)
            if (back[k] != toupper((unsigned char)lines[i][k]))
                rc = -EPROTO;
    }
    cio_stream_writer_close(w);
    cio_stream_writer_wait_closed(w);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    return rc;
}

/* A client without the layer: scrambles by hand and shows the wire. */
static int wiretap(int port)
{
    cio_stream_reader *r;
    cio_stream_writer *w;
    int rc = cio_open_connection("127.0.0.1", port, NULL, &r, &w);
    if (rc < 0)
        return rc;
    char msg[] = "on the wire\n";
    size_t n = strlen(msg);
    scramble(msg, n);
    cio_stream_writer_write(w, msg, n);
    rc = cio_stream_writer_drain(w);
    char raw[32];
    if (rc >= 0)
        rc = cio_stream_reader_readexactly(r, raw, n, NULL);
    if (rc >= 0) {
        printf("wiretap: raw bytes");
        for (size_t i = 0; i < n; i++)
            printf(" %02x", (unsigned char)raw[i]);
        scramble(raw, n);
        printf(" = %.*s\n", (int)n - 1, raw);
        if (memcmp(raw, "ON THE WIRE\n", n) != 0)
            rc = -EPROTO;
    }
    cio_stream_writer_close(w);
    cio_stream_writer_wait_closed(w);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    return rc;
}

static int main_task(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    int rc = cio_start_server(cio_get_running_loop(), handle, NULL, "127.0.0.1",
                              0, NULL, &srv);
    if (rc < 0)
        return rc;
    rc = client(cio_server_port(srv));
    if (rc >= 0)
        rc = wiretap(cio_server_port(srv));
    cio_server_close(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    printf("%s\n", rc >= 0 ? "ok" : cio_strerror(rc));
    return rc;
}

int main(void)
{
    return cio_run(main_task, NULL, NULL) == 0 ? 0 : 1;
}
