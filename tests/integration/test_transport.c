/*
 * test_transport.c - protocols and transports over loopback TCP and
 * socketpairs: callback order, BufferedProtocol, half-close with
 * eof_received, pause/resume reading, pause/resume writing against a peer
 * that does not read, close flushing and abort discarding, a 4 MiB echo
 * kept in order across pauses, and a loop closed while I/O is in flight
 * (on io_uring: ops in the kernel must end, free and close at once).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* A recording protocol: one instance per connection, in caller storage. */
typedef struct rec {
    char log[64];   /* m d e l p r: made, data, eof, lost, pause, resume */
    int nlog;
    char data[1 << 20];
    size_t ndata;
    int lost_err;
    int keep_open;  /* eof_received's answer */
    int echo;       /* write back what arrives */
    const char *on_eof_write;
    cio_transport *t;
} rec;

static void note(rec *r, char c)
{
    if (r->nlog < (int)sizeof(r->log) - 1 &&
        (r->nlog == 0 || r->log[r->nlog - 1] != c || c != 'd'))
        r->log[r->nlog++] = c;
}

static int r_made(cio_transport *t, void *ctx)
{
    rec *r = ctx;
    r->t = t;
    note(r, 'm');
    return 0;
}

static int r_data(cio_transport *t, const void *data, size_t len, void *ctx)
{
    rec *r = ctx;
    note(r, 'd');
    if (r->ndata + len <= sizeof(r->data))
        memcpy(r->data + r->ndata, data, len);
    r->ndata += len;
    if (r->echo)
        return cio_transport_write(t, data, len);
    return 0;
}

static int r_eof(cio_transport *t, void *ctx)
{
    rec *r = ctx;
    note(r, 'e');
    if (r->on_eof_write) {
        cio_transport_write(t, r->on_eof_write, strlen(r->on_eof_write));
        cio_transport_write_eof(t);
    }
    return r->keep_open;
}

static void r_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    rec *r = ctx;
    note(r, 'l');
    r->lost_err = err;
    r->t = NULL;
}

static int r_pause(cio_transport *t, void *ctx)
{
    (void)t;
    note(ctx, 'p');
    return 0;
}

static int r_resume(cio_transport *t, void *ctx)
{
    (void)t;
    note(ctx, 'r');
    return 0;
}

static const cio_protocol REC = {r_made,  r_data,   r_eof, r_lost,
                                 r_pause, r_resume, NULL,  NULL};

static int rec_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &REC;
    *ctx = arg;
    return 0;
}

static rec g_srv, g_cli;

static int echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    memset(&g_srv, 0, sizeof(g_srv));
    memset(&g_cli, 0, sizeof(g_cli));
    g_srv.echo = 1;
    g_srv.keep_open = 1;
    g_srv.on_eof_write = "bye";
    cio_server *srv;
    assert_int_equal(cio_create_server(g_loop, rec_factory, &g_srv,
                                       "127.0.0.1", 0, NULL, &srv),
                     0);
    cio_transport *t;
    assert_int_equal(cio_create_connection(rec_factory, &g_cli, "127.0.0.1",
                                           cio_server_port(srv), NULL, &t),
                     0);
    assert_ptr_equal(cio_transport_context(t), &g_cli);
    assert_int_equal(g_cli.nlog, 1); /* made, before returning */
    assert_int_equal(cio_transport_can_write_eof(t), 1);
    assert_int_equal(cio_transport_write(t, "hello ", 6), 0);
    struct iovec iov[2] = {{(void *)"wor", 3}, {(void *)"ld", 2}};
    assert_int_equal(cio_transport_writelines(t, iov, 2), 0);
    WAIT_FOR(g_cli.ndata == 11);
    assert_memory_equal(g_cli.data, "hello world", 11);
    /* Half-close: the server keeps its side open, says bye, then EOF. */
    assert_int_equal(cio_transport_write_eof(t), 0);
    assert_int_equal(cio_transport_write(t, "x", 1), -EPIPE);
    WAIT_FOR(g_cli.t == NULL);
    assert_memory_equal(g_cli.data + 11, "bye", 3);
    assert_string_equal(g_cli.log, "mdel");
    assert_int_equal(g_cli.lost_err, 0);
    /* The server kept its transport open (eof_received returned 1): it
     * stays until closed, as in asyncio; close_clients closes it. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_non_null(g_srv.t);
    assert_int_equal(cio_server_close_clients(srv), 1);
    WAIT_FOR(g_srv.t == NULL);
    assert_string_equal(g_srv.log, "mdel");
    assert_int_equal(cio_server_close(srv), 0);
    assert_int_equal(cio_server_wait_closed(srv), 0);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(transport_echo_half_close_order, echo_main)

/* ---- BufferedProtocol ---- */

typedef struct bp {
    char buf[16];
    size_t total;
    int lost;
} bp;

static void *bp_get(cio_transport *t, size_t hint, size_t *len, void *ctx)
{
    (void)t;
    assert_true(hint > 0);
    bp *b = ctx;
    *len = sizeof(b->buf);
    return b->buf;
}

static int bp_updated(cio_transport *t, size_t n, void *ctx)
{
    bp *b = ctx;
    b->total += n;
    return cio_transport_write(t, b->buf, n);
}

static void bp_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((bp *)ctx)->lost = 1;
}

static const cio_protocol BP = {.connection_lost = bp_lost,
                                .get_buffer = bp_get,
                                .buffer_updated = bp_updated};

static int bp_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &BP;
    *ctx = arg;
    return 0;
}

static int buffered_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    static bp b;
    memset(&b, 0, sizeof(b));
    cio_server *srv;
    assert_int_equal(cio_create_server(g_loop, bp_factory, &b, "127.0.0.1", 0,
                                       NULL, &srv),
                     0);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(
        cio_open_connection("127.0.0.1", cio_server_port(srv), NULL, &r, &w),
        0);
    char out[1000], in[1000];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (char)('a' + i % 26);
    assert_int_equal(cio_stream_writer_write(w, out, sizeof(out)), 0);
    size_t got;
    assert_int_equal(cio_stream_reader_readexactly(r, in, sizeof(in), &got), 0);
    assert_memory_equal(in, out, sizeof(out));
    assert_int_equal(b.total, sizeof(out));
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
    WAIT_FOR(b.lost);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(transport_buffered_protocol, buffered_main)

/* ---- pause/resume reading, on a socketpair ---- */

static int pause_read_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    memset(&g_cli, 0, sizeof(g_cli));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    cio_transport *t;
    assert_int_equal(
        cio_transport_from_fd(g_loop, sv[0], rec_factory, &g_cli, NULL, &t), 0);
    WAIT_FOR(g_cli.nlog == 1); /* connection_made comes from the loop */
    assert_int_equal(cio_transport_pause_reading(t), 0);
    assert_int_equal(cio_transport_is_reading(t), 0);
    assert_int_equal(write(sv[1], "abc", 3), 3);
    for (int i = 0; i < 5; i++)
        assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(g_cli.ndata, 0);
    assert_int_equal(cio_transport_resume_reading(t), 0);
    WAIT_FOR(g_cli.ndata == 3);
    close(sv[1]);
    WAIT_FOR(g_cli.t == NULL); /* EOF -> close -> lost */
    assert_string_equal(g_cli.log, "mdel");
    return 0;
}

TU_NET_CASE(transport_pause_resume_reading, pause_read_main)

/* ---- pause/resume writing against a peer that does not read ---- */

static int pause_write_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    memset(&g_cli, 0, sizeof(g_cli));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    cio_transport *t;
    assert_int_equal(
        cio_transport_from_fd(g_loop, sv[0], rec_factory, &g_cli, NULL, &t), 0);
    WAIT_FOR(g_cli.nlog == 1);
    assert_int_equal(cio_transport_set_write_buffer_limits(t, 16384, 4096), 0);
    static char chunk[8192];
    size_t total = 0;
    int i = 0;
    while (!strchr(g_cli.log, 'p')) {
        memset(chunk, 'a' + i++ % 26, sizeof(chunk));
        assert_int_equal(cio_transport_write(t, chunk, sizeof(chunk)), 0);
        total += sizeof(chunk);
        assert_true(total < (8u << 20));
    }
    /* Paused just past the high water mark: memory is bounded. */
    ssize_t buffered = cio_transport_write_buffer_size(t);
    assert_true(buffered > 16384 && buffered <= 16384 + 8192);
    /* The peer reads it all; resume_writing comes once it drained. */
    static char got[1 << 20];
    size_t seen = 0;
    while (seen < total) {
        ssize_t k = read(sv[1], got + seen, total - seen);
        if (k > 0)
            seen += (size_t)k;
        else
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    for (size_t j = 0; j < total; j++)
        assert_int_equal(got[j], 'a' + (int)(j / sizeof(chunk)) % 26);
    WAIT_FOR(strchr(g_cli.log, 'r') != NULL);
    assert_int_equal(cio_transport_write_buffer_size(t), 0);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(g_cli.t == NULL);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(transport_pause_resume_writing, pause_write_main)

/* ---- the write-buffer hard cap: -ENOBUFS, nothing queued, then usable ---- */

static int cap_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    memset(&g_cli, 0, sizeof(g_cli));
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv),
                     0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.high_water = 16 * 1024;
    o.write_cap = 64 * 1024;
    cio_transport *t;
    assert_int_equal(
        cio_transport_from_fd(g_loop, sv[0], rec_factory, &g_cli, &o, &t), 0);
    WAIT_FOR(g_cli.nlog == 1);
    static char chunk[8192];
    size_t total = 0;
    int i = 0, rc;
    /* The peer never reads: a writer that ignores pause_writing meets
     * the cap instead of growing the buffer. */
    for (;;) {
        memset(chunk, 'a' + i % 26, sizeof(chunk));
        rc = cio_transport_write(t, chunk, sizeof(chunk));
        if (rc == -ENOBUFS)
            break;
        assert_int_equal(rc, 0);
        i++;
        total += sizeof(chunk);
        assert_true(total < (8u << 20));
        if (i % 4 == 0)
            assert_int_equal(cio_sleep(0), 0); /* let completions land */
    }
    ssize_t buffered = cio_transport_write_buffer_size(t);
    assert_true(buffered <= 64 * 1024);
    assert_true(buffered + (ssize_t)sizeof(chunk) > 64 * 1024);
    /* Refused whole: nothing of it queued; the transport stays open. */
    assert_int_equal(cio_transport_write_buffer_size(t), buffered);
    struct iovec iov[2] = {{chunk, 4096}, {chunk, 4096}};
    assert_int_equal(cio_transport_writelines(t, iov, 2), -ENOBUFS);
    assert_int_equal(cio_transport_write_buffer_size(t), buffered);
    assert_int_equal(cio_transport_is_closing(t), 0);
    assert_true(strchr(g_cli.log, 'p') != NULL); /* water marks still work */
    /* Lowering the cap keeps what is buffered; a cap of 0 lifts it. */
    assert_int_equal(cio_transport_set_write_buffer_cap(t, 1), 0);
    assert_int_equal(cio_transport_write(t, "x", 1), -ENOBUFS);
    assert_int_equal(cio_transport_set_write_buffer_cap(t, 64 * 1024), 0);
    /* The peer reads: the buffer drains and the refused write goes in. */
    static char got[1 << 20];
    size_t seen = 0;
    while (seen < total) {
        ssize_t k = read(sv[1], got + seen, sizeof(got) - seen);
        if (k > 0)
            seen += (size_t)k;
        else
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    assert_int_equal(seen, total);
    WAIT_FOR(cio_transport_write_buffer_size(t) == 0);
    assert_int_equal(cio_transport_write(t, chunk, sizeof(chunk)), 0);
    size_t want = total + sizeof(chunk);
    while (seen < want) {
        ssize_t k = read(sv[1], got + seen, sizeof(got) - seen);
        if (k > 0)
            seen += (size_t)k;
        else
            assert_int_equal(cio_sleep(CIO_MS), 0);
    }
    assert_int_equal(seen, want);
    for (size_t j = 0; j < want; j++)
        assert_int_equal(got[j], 'a' + (int)(j / sizeof(chunk)) % 26);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(g_cli.t == NULL);
    assert_int_equal(g_cli.lost_err, 0);
    assert_int_equal(cio_transport_set_write_buffer_cap(NULL, 1), -EINVAL);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(transport_write_buffer_cap, cap_main)

/* ---- close flushes, abort discards ---- */

static int close_abort_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    for (int abort = 0; abort < 2; abort++) {
        memset(&g_cli, 0, sizeof(g_cli));
        int sv[2];
        assert_int_equal(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        cio_transport *t;
        assert_int_equal(cio_transport_from_fd(g_loop, sv[0], rec_factory,
                                               &g_cli, NULL, &t),
                         0);
        static char big[1 << 20];
        memset(big, 'q', sizeof(big));
        assert_int_equal(cio_transport_write(t, big, sizeof(big)), 0);
        assert_true(cio_transport_write_buffer_size(t) > 0);
        if (abort)
            assert_int_equal(cio_transport_abort(t), 0);
        else
            assert_int_equal(cio_transport_close(t), 0);
        assert_int_equal(cio_transport_is_closing(t), 1);
        assert_int_equal(cio_transport_write(t, "x", 1), -EPIPE);
        size_t seen = 0;
        char buf[65536];
        for (;;) {
            ssize_t k = read(sv[1], buf, sizeof(buf));
            if (k > 0)
                seen += (size_t)k;
            else if (k == 0)
                break;
            else
                assert_int_equal(cio_sleep(CIO_MS), 0);
        }
        if (abort)
            assert_true(seen < sizeof(big));
        else
            assert_int_equal(seen, sizeof(big));
        WAIT_FOR(g_cli.t == NULL);
        assert_int_equal(g_cli.lost_err, 0);
        close(sv[1]);
    }
    return 0;
}

TU_NET_CASE(transport_close_flushes_abort_discards, close_abort_main)

/* ---- a pipe transport ---- */

static int pipe_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    memset(&g_cli, 0, sizeof(g_cli));
    memset(&g_srv, 0, sizeof(g_srv));
    int p[2];
    assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    cio_transport *rt, *wt;
    assert_int_equal(
        cio_transport_from_fd(g_loop, p[0], rec_factory, &g_cli, NULL, &rt),
        0);
    assert_int_equal(
        cio_transport_from_fd(g_loop, p[1], rec_factory, &g_srv, NULL, &wt),
        0);
    assert_int_equal(cio_transport_can_write_eof(rt), 0);
    assert_int_equal(cio_transport_can_write_eof(wt), 1);
    assert_int_equal(cio_transport_write(wt, "through the pipe", 16), 0);
    assert_int_equal(cio_transport_write_eof(wt), 0); /* closes it */
    WAIT_FOR(g_cli.t == NULL && g_srv.t == NULL && g_srv.nlog >= 2);
    assert_int_equal(g_cli.ndata, 16);
    assert_memory_equal(g_cli.data, "through the pipe", 16);
    assert_string_equal(g_cli.log, "mdel");
    assert_string_equal(g_srv.log, "ml");
    return 0;
}

TU_NET_CASE(transport_pipe, pipe_main)

/* ---- a long transfer, in order, with reading paused now and then ---- */

typedef struct pat {
    size_t got, next_pause;
    int bad, pauses, paused, lost;
    cio_transport *t;
} pat;

static int pat_data(cio_transport *t, const void *data, size_t len, void *ctx)
{
    pat *p = ctx;
    const unsigned char *d = data;
    for (size_t i = 0; i < len; i++)
        if (d[i] != (unsigned char)((p->got + i) % 251))
            p->bad = 1;
    p->got += len;
    if (p->got >= p->next_pause) {
        /* the task resumes it: chunks that arrive meanwhile must wait,
         * in order */
        p->next_pause += 300 * 1024;
        p->pauses++;
        p->paused = 1;
        return cio_transport_pause_reading(t);
    }
    return 0;
}

static int pat_made(cio_transport *t, void *ctx)
{
    ((pat *)ctx)->t = t;
    return 0;
}

static void pat_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((pat *)ctx)->lost = 1;
}

static const cio_protocol PAT = {.connection_made = pat_made,
                                 .data_received = pat_data,
                                 .connection_lost = pat_lost};

static int pat_factory(void *arg, const cio_protocol **p, void **ctx)
{
    *p = &PAT;
    *ctx = arg;
    return 0;
}

static int big_echo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    memset(&g_srv, 0, sizeof(g_srv));
    g_srv.echo = 1;
    cio_server *srv;
    assert_int_equal(cio_create_server(g_loop, rec_factory, &g_srv,
                                       "127.0.0.1", 0, NULL, &srv),
                     0);
    static pat p;
    memset(&p, 0, sizeof(p));
    p.next_pause = 300 * 1024;
    cio_transport *t;
    assert_int_equal(cio_create_connection(pat_factory, &p, "127.0.0.1",
                                           cio_server_port(srv), NULL, &t),
                     0);
    const size_t total = 4u << 20;
    static unsigned char chunk[65536];
    for (size_t off = 0; off < total; off += sizeof(chunk)) {
        for (size_t i = 0; i < sizeof(chunk); i++)
            chunk[i] = (unsigned char)((off + i) % 251);
        assert_int_equal(cio_transport_write(t, chunk, sizeof(chunk)), 0);
        /* let the echo flow while writing, resuming a paused reader */
        assert_int_equal(cio_sleep(0), 0);
        if (p.paused) {
            p.paused = 0;
            assert_int_equal(cio_transport_resume_reading(t), 0);
        }
    }
    for (int w = 0; w < 5000 && p.got < total; w++) {
        assert_int_equal(cio_sleep(CIO_MS), 0);
        if (p.paused) {
            p.paused = 0;
            assert_int_equal(cio_transport_resume_reading(t), 0);
        }
    }
    assert_int_equal(p.got, total);
    assert_int_equal(p.bad, 0);
    assert_true(p.pauses >= 10);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(p.lost && g_srv.t == NULL);
    assert_int_equal(cio_server_free(srv), 0);
    return 0;
}

TU_NET_CASE(transport_big_echo_with_pauses, big_echo_main)

/* ---- the loop closes while a transport's I/O is in flight ---- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CIO_SEC + ts.tv_nsec;
}

static int stop_soon(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

static void transport_loop_closed_io_in_flight(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        memset(&g_cli, 0, sizeof(g_cli));
        cio_loop *loop;
        assert_int_equal(cio_loop_new(&loop, NULL), 0);
        int sv[2];
        assert_int_equal(
            socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        int small = 4096;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
        cio_transport *t;
        assert_int_equal(
            cio_transport_from_fd(loop, sv[0], rec_factory, &g_cli, NULL, &t),
            0);
        cio_loop_call_soon(loop, stop_soon, loop, NULL);
        cio_loop_run_forever(loop); /* connection_made; reading armed */
        assert_int_equal(g_cli.nlog, 1);
        if (variant == 1) {
            /* a write the peer never reads: part of it stays in flight */
            static char big[1 << 20];
            assert_int_equal(cio_transport_write(t, big, sizeof(big)), 0);
            cio_loop_call_soon(loop, stop_soon, loop, NULL);
            cio_loop_run_forever(loop);
            assert_true(cio_transport_write_buffer_size(t) > 0);
        }
        /* abort, then close the loop without another iteration: nothing
         * may leak (tu_teardown counts blocks) or hang */
        assert_int_equal(cio_transport_abort(t), 0);
        int64_t t0 = mono_ns();
        assert_int_equal(cio_loop_free(loop), 0);
        assert_true(mono_ns() - t0 < CIO_SEC);
        /* and the descriptor is really closed: the peer reads EOF */
        char c;
        ssize_t k;
        for (;;) {
            k = read(sv[1], &c, 1);
            if (k <= 0)
                break;
        }
        assert_int_equal(k, 0);
        close(sv[1]);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(transport_echo_half_close_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_buffered_protocol, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_pause_resume_reading, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_pause_resume_writing, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_write_buffer_cap, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_close_flushes_abort_discards, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_pipe, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_big_echo_with_pauses, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(transport_loop_closed_io_in_flight, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
