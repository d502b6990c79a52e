/*
 * s17_uring_loop.c - MISSION S17: swap in a faster loop under the same API.
 *
 * The note (Python):
 *     import asyncio, uvloop
 *     loop = uvloop.new_event_loop()
 *     asyncio.set_event_loop(loop)
 *
 * In cio the other loop is a backend: the same program runs on epoll and
 * on io_uring, chosen when the loop is made (or with CIO_BACKEND=uring
 * for every loop of a process). The program below is one function, run
 * on a loop of each kind: a protocol echo server and a streams client
 * doing 2,000 round trips of 1 KiB, every byte checked. On io_uring the
 * server's transports read and write through completions. Where the
 * kernel refuses io_uring (kernel.io_uring_disabled), it says so and runs
 * on epoll alone. Exits 1 if any exchange goes wrong: it is run as a test.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s17_uring_loop.c -o s17_uring_loop \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cio.h"

#define ROUNDS 2000
#define SIZE 1024

static int data_received(cio_transport *t, const void *data, size_t len,
                         void *ctx)
{
    (void)ctx;
    return cio_transport_write(t, data, len);
}

static const cio_protocol ECHO = {.data_received = data_received};

static int factory(void *arg, const cio_protocol **proto, void **ctx)
{
    (void)arg;
    *proto = &ECHO;
    *ctx = NULL;
    return 0;
}

/* async def main(): the same code whichever loop runs it */
static int echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_server *srv;
    int r = cio_create_server(cio_get_running_loop(), factory, NULL,
                              "127.0.0.1", 0, NULL, &srv);
    if (r < 0)
        return r;
    cio_stream_reader *rd;
    cio_stream_writer *wr;
    r = cio_open_connection("127.0.0.1", cio_server_port(srv), NULL, &rd,
                            &wr);
    if (r < 0) {
        cio_server_free(srv);
        return r;
    }
    static char out[SIZE], in[SIZE];
    for (int i = 0; i < ROUNDS && r == 0; i++) {
        for (int j = 0; j < SIZE; j++)
            out[j] = (char)('a' + (i + j) % 26);
        size_t got = 0;
        r = cio_stream_writer_write(wr, out, SIZE);
        if (r == 0)
            r = cio_stream_reader_readexactly(rd, in, SIZE, &got);
        if (r == 0 && memcmp(in, out, SIZE) != 0)
            r = -EPROTO;
    }
    cio_stream_writer_close(wr);
    cio_stream_writer_free(wr);
    cio_stream_reader_free(rd);
    cio_server_close(srv);
    int w = cio_server_wait_closed(srv);
    cio_server_free(srv);
    return r < 0 ? r : w;
}

static int run_on(cio_backend_kind kind)
{
    cio_loop_opts o = CIO_LOOP_OPTS_INIT;
    o.backend = kind;
    cio_loop *loop;
    /* loop = uvloop.new_event_loop() */
    int r = cio_loop_new(&loop, &o);
    if (r < 0) {
        printf("%-5s: unavailable here (%s): skipped\n",
               kind == CIO_BACKEND_URING ? "uring" : "epoll", cio_strerror(r));
        return kind == CIO_BACKEND_URING ? 0 : 1;
    }
    /* asyncio.set_event_loop(loop) */
    cio_set_event_loop(loop);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cio_task *t;
    r = cio_task_create(loop, CIO_CORO(echo_main, NULL), NULL, &t);
    if (r == 0) {
        r = cio_loop_run_until_complete(loop, t, NULL);
        cio_future_release(t);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("%-5s: %s (loop backend \"%s\"), %d round trips of %d bytes in "
           "%.1f ms\n",
           kind == CIO_BACKEND_URING ? "uring" : "epoll",
           r == 0 ? "ok" : cio_strerror(r), cio_loop_backend_name(loop),
           ROUNDS, SIZE, ms);
    cio_set_event_loop(NULL);
    cio_loop_free(loop);
    return r == 0 ? 0 : 1;
}

int main(void)
{
    int bad = run_on(CIO_BACKEND_EPOLL);
    bad |= run_on(CIO_BACKEND_URING);
    return bad;
}
