/*
 * test_pipe_protocol.c - asyncio's connect_read_pipe and
 * connect_write_pipe with a protocol: the read side fed by a child and by
 * a plain write end (data, EOF, lost), the write side's flow control
 * against a reader that lags (pause_writing above the high water mark,
 * resume_writing at the low one, every byte intact), its end when the
 * reader goes away (err 0 with nothing left to write, -EPIPE otherwise),
 * that it never reads a FIFO open both ways, and the descriptors refused
 * (wrong direction, regular file, failing factory) staying the caller's.
 */
/* cio-test: label=core timeout=120 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cio_testutil_net.h"

/* A recording protocol in caller storage. */
typedef struct rec {
    char log[32]; /* m d e l p r: made, data, eof, lost, pause, resume */
    int nlog;
    char data[256];
    size_t ndata;
    int lost_err;
    int lost;
    ssize_t pause_size, resume_size; /* write buffer at pause / resume */
    cio_transport *t;
} rec;

static void note(rec *r, char c)
{
    /* Consecutive data_received calls count as one 'd': how a pipe's
     * bytes are split between reads is the kernel's business. */
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
    (void)t;
    rec *r = ctx;
    note(r, 'd');
    if (r->ndata + len <= sizeof(r->data))
        memcpy(r->data + r->ndata, data, len);
    r->ndata += len;
    return 0;
}

static int r_eof(cio_transport *t, void *ctx)
{
    (void)t;
    note(ctx, 'e');
    return 0;
}

static void r_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    rec *r = ctx;
    note(r, 'l');
    r->lost_err = err;
    r->lost++;
    r->t = NULL;
}

static int r_pause(cio_transport *t, void *ctx)
{
    rec *r = ctx;
    note(r, 'p');
    r->pause_size = cio_transport_write_buffer_size(t);
    return 0;
}

static int r_resume(cio_transport *t, void *ctx)
{
    rec *r = ctx;
    note(r, 'r');
    r->resume_size = cio_transport_write_buffer_size(t);
    return 0;
}

static const cio_protocol REC = {r_made,  r_data,   r_eof, r_lost,
                                 r_pause, r_resume, NULL,  NULL};

static int rec_factory(void *arg, const cio_protocol **p, void **ctx)
{
    memset(arg, 0, sizeof(rec));
    *p = &REC;
    *ctx = arg;
    return 0;
}

static int failing_factory(void *arg, const cio_protocol **p, void **ctx)
{
    (void)arg;
    (void)p;
    (void)ctx;
    return -EIO;
}

static rec g_r;

/* The descriptor is still open (it was not taken). */
static int fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* ---- read side ---- */

static int read_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* A child writes the pipe, in two bursts, then exits. */
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdout_mode = CIO_PROCESS_FD;
    o.stdout_fd = p[1];
    cio_process *child;
    char *const argv[] = {"/bin/sh", "-c", "echo one; sleep 0.05; echo two",
                          NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, argv, &o, &child), 0);
    assert_int_equal(close(p[1]), 0); /* the child holds the only writer */
    cio_transport *t = NULL;
    assert_int_equal(cio_connect_read_pipe_protocol(g_loop, p[0], rec_factory,
                                                    &g_r, NULL, &t),
                     0);
    assert_non_null(t);
    assert_int_equal(cio_transport_fileno(t), p[0]);
    assert_int_equal(cio_transport_is_reading(t), 1);
    assert_int_equal(cio_transport_can_write_eof(t), 0);
    assert_int_equal(cio_transport_write(t, "x", 1), -EPIPE);
    WAIT_FOR(g_r.lost);
    assert_string_equal(g_r.log, "mdel");
    assert_int_equal(g_r.ndata, 8);
    assert_memory_equal(g_r.data, "one\ntwo\n", 8);
    assert_int_equal(g_r.lost_err, 0);
    int rc;
    assert_int_equal(cio_process_wait(child, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(cio_process_free(child), 0);
    assert_false(fd_open(p[0])); /* the transport closed it */

    /* The other end written by this thread; out may be NULL. */
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(cio_connect_read_pipe_protocol(g_loop, p[0], rec_factory,
                                                    &g_r, NULL, NULL),
                     0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    WAIT_FOR(g_r.ndata == 3);
    assert_string_equal(g_r.log, "md");
    assert_int_equal(write(p[1], "de", 2), 2);
    assert_int_equal(close(p[1]), 0);
    WAIT_FOR(g_r.lost);
    assert_string_equal(g_r.log, "mdel");
    assert_memory_equal(g_r.data, "abcde", 5);
    assert_int_equal(g_r.lost_err, 0);
    return 0;
}

TU_NET_CASE(read_pipe_protocol_data_eof_lost, read_main)

/* ---- write side ---- */

enum {
    BIG = 1 << 20,
    HIGH = 64 * 1024,
    LOW = 16 * 1024
};

static unsigned char pattern(size_t i)
{
    return (unsigned char)(i * 7 % 251);
}

/* Writes n pattern bytes through t in 16 KiB pieces. */
static void write_pattern(cio_transport *t, size_t n)
{
    unsigned char chunk[16384];
    for (size_t off = 0; off < n; off += sizeof(chunk)) {
        size_t k = n - off < sizeof(chunk) ? n - off : sizeof(chunk);
        for (size_t i = 0; i < k; i++)
            chunk[i] = pattern(off + i);
        assert_int_equal(cio_transport_write(t, chunk, k), 0);
    }
}

static int flow_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    cio_conn_opts co = CIO_CONN_OPTS_INIT;
    co.high_water = HIGH;
    co.low_water = LOW;
    cio_transport *t;
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, p[1], rec_factory,
                                                     &g_r, &co, &t),
                     0);
    WAIT_FOR(g_r.nlog == 1);
    assert_ptr_equal(g_r.t, t);
    assert_int_equal(cio_transport_is_reading(t), 0);
    assert_int_equal(cio_transport_can_write_eof(t), 1);

    /* Nobody reads yet: the pipe takes what it holds, the rest waits in
     * the transport, and the protocol is told to pause once. */
    write_pattern(t, BIG);
    assert_string_equal(g_r.log, "mp");
    assert_true(g_r.pause_size > HIGH);
    assert_true(cio_transport_write_buffer_size(t) > HIGH);
    assert_true(cio_transport_write_buffer_size(t) < BIG);

    /* Now read it all, in a lagging non-blocking loop. */
    assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
    unsigned char *got = malloc(BIG);
    assert_non_null(got);
    size_t have = 0;
    for (int idle = 0; have < BIG && idle < 5000;) {
        ssize_t n = read(p[0], got + have, BIG - have);
        if (n > 0) {
            have += (size_t)n;
            idle = 0;
        } else {
            assert_true(n < 0 && errno == EAGAIN);
            idle++;
            assert_int_equal(cio_sleep(CIO_MS), 0);
        }
    }
    assert_int_equal(have, BIG);
    for (size_t i = 0; i < BIG; i++)
        if (got[i] != pattern(i))
            fail_msg("byte %zu differs", i);
    free(got);
    /* Resumed once, when the buffer was back to the low mark. */
    assert_string_equal(g_r.log, "mpr");
    assert_true(g_r.resume_size <= LOW);
    assert_int_equal(cio_transport_write_buffer_size(t), 0);
    assert_int_equal(g_r.ndata, 0);

    /* The reader goes away with nothing left to write: a clean end. */
    assert_int_equal(close(p[0]), 0);
    WAIT_FOR(g_r.lost);
    assert_string_equal(g_r.log, "mprl");
    assert_int_equal(g_r.lost_err, 0);
    assert_false(fd_open(p[1]));
    return 0;
}

TU_NET_CASE(write_pipe_protocol_pause_resume_lost, flow_main)

static int gone_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    /* The reader is a child that reads a little and exits while the
     * transport still holds data for it. It starts reading only once the
     * gate file exists, so the first write cannot meet its exit. */
    char dir[] = "/tmp/cio-gate-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char gate[64];
    snprintf(gate, sizeof(gate), "%s/gate", dir);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    cio_process_opts o = CIO_PROCESS_OPTS_INIT;
    o.stdin_mode = CIO_PROCESS_FD;
    o.stdin_fd = p[0];
    o.cwd = dir;
    cio_process *child;
    char *const argv[] = {"/bin/sh", "-c",
                          "until [ -e gate ]; do sleep 0.01; done; "
                          "head -c 1000 > /dev/null",
                          NULL};
    assert_int_equal(cio_create_subprocess_exec(NULL, argv, &o, &child), 0);
    assert_int_equal(close(p[0]), 0);
    cio_transport *t;
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, p[1], rec_factory,
                                                     &g_r, NULL, &t),
                     0);
    /* connection_made comes from the loop, after the call returned. */
    WAIT_FOR(g_r.nlog == 1);
    write_pattern(t, BIG);
    assert_string_equal(g_r.log, "mp");
    int gfd = open(gate, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    assert_true(gfd >= 0);
    assert_int_equal(close(gfd), 0);
    WAIT_FOR(g_r.lost);
    assert_int_equal(g_r.lost_err, -EPIPE);
    assert_string_equal(g_r.log, "mpl");
    assert_int_equal(g_r.ndata, 0);
    int rc;
    assert_int_equal(cio_process_wait(child, &rc), 0);
    assert_int_equal(rc, 0);
    assert_int_equal(cio_process_free(child), 0);
    assert_false(fd_open(p[1]));
    assert_int_equal(unlink(gate), 0);
    assert_int_equal(rmdir(dir), 0);

    /* write_eof on a write-only end closes it once flushed: the reader
     * sees the bytes, then EOF. */
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, p[1], rec_factory,
                                                     &g_r, NULL, &t),
                     0);
    assert_int_equal(cio_transport_write(t, "bye", 3), 0);
    assert_int_equal(cio_transport_write_eof(t), 0);
    WAIT_FOR(g_r.lost);
    assert_int_equal(g_r.lost_err, 0);
    char buf[8];
    assert_int_equal(read(p[0], buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "bye", 3);
    assert_int_equal(read(p[0], buf, sizeof(buf)), 0);
    assert_int_equal(close(p[0]), 0);
    return 0;
}

TU_NET_CASE(write_pipe_protocol_reader_exits_epipe, gone_main)

static int fifo_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char dir[] = "/tmp/cio-pipe-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/fifo", dir);
    assert_int_equal(mkfifo(path, 0600), 0);
    /* Open both ways, the FIFO would hand the transport back its own
     * bytes if it read. */
    int fd = open(path, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    cio_transport *t;
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, fd, rec_factory,
                                                     &g_r, NULL, &t),
                     0);
    assert_int_equal(cio_transport_is_reading(t), 0);
    assert_int_equal(cio_transport_write(t, "abc", 3), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_string_equal(g_r.log, "m");
    assert_int_equal(g_r.ndata, 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    assert_true(rd >= 0);
    char buf[8];
    assert_int_equal(read(rd, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "abc", 3);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(g_r.lost);
    assert_string_equal(g_r.log, "ml");
    assert_int_equal(g_r.lost_err, 0);
    assert_int_equal(close(rd), 0);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    return 0;
}

TU_NET_CASE(write_pipe_protocol_never_reads, fifo_main)

/* ---- refused descriptors ---- */

static int refuse_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds = count_fds();
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    cio_transport *t = (cio_transport *)1;
    /* The wrong direction is refused at once, for protocols and streams. */
    assert_int_equal(cio_connect_read_pipe_protocol(g_loop, p[1], rec_factory,
                                                    &g_r, NULL, &t),
                     -EBADF);
    assert_null(t);
    t = (cio_transport *)1;
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, p[0], rec_factory,
                                                     &g_r, NULL, &t),
                     -EBADF);
    assert_null(t);
    cio_stream_reader *r = (cio_stream_reader *)1;
    cio_stream_writer *w = (cio_stream_writer *)1;
    assert_int_equal(cio_connect_read_pipe(g_loop, p[1], NULL, &r), -EBADF);
    assert_null(r);
    assert_int_equal(cio_connect_write_pipe(g_loop, p[0], NULL, &w), -EBADF);
    assert_null(w);
    assert_true(fd_open(p[0]) && fd_open(p[1]));

    /* A failing factory: its error, and fd stays the caller's (usable). */
    assert_int_equal(cio_connect_write_pipe_protocol(
                         g_loop, p[1], failing_factory, NULL, NULL, &t),
                     -EIO);
    assert_null(t);
    assert_int_equal(cio_connect_read_pipe_protocol(
                         g_loop, p[0], failing_factory, NULL, NULL, &t),
                     -EIO);
    assert_true(fd_open(p[0]) && fd_open(p[1]));
    assert_int_equal(cio_connect_read_pipe_protocol(g_loop, p[0], rec_factory,
                                                    &g_r, NULL, &t),
                     0);
    assert_int_equal(close(p[1]), 0);
    WAIT_FOR(g_r.lost);
    assert_string_equal(g_r.log, "mel");

    /* Not a pipe, or nothing at all. */
    int f = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    assert_true(f >= 0);
    assert_int_equal(
        cio_connect_read_pipe_protocol(g_loop, f, rec_factory, &g_r, NULL, &t),
        -EINVAL);
    assert_int_equal(
        cio_connect_write_pipe_protocol(g_loop, f, rec_factory, &g_r, NULL, &t),
        -EINVAL);
    assert_true(fd_open(f));
    assert_int_equal(close(f), 0);
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, -1, rec_factory,
                                                     &g_r, NULL, &t),
                     -EINVAL);
    assert_int_equal(
        cio_connect_write_pipe_protocol(NULL, 1, rec_factory, &g_r, NULL, &t),
        -EINVAL);
    assert_int_equal(count_fds(), fds);
    return 0;
}

TU_NET_CASE(pipe_protocol_refuses_wrong_direction, refuse_main)

/* A write-only protocol: no data_received, as asyncio's connect_write_pipe
 * takes a bare BaseProtocol. */
static const cio_protocol WONLY = {r_made, NULL,     NULL, r_lost,
                                   r_pause, r_resume, NULL, NULL};

static int wonly_factory(void *arg, const cio_protocol **p, void **ctx)
{
    memset(arg, 0, sizeof(rec));
    *p = &WONLY;
    *ctx = arg;
    return 0;
}

static int early_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    /* Nobody reads yet: a write of more than the high-water mark right
     * after the call, before connection_made has run, must buffer and
     * pause_writing must come after connection_made, not before. */
    cio_conn_opts o = CIO_CONN_OPTS_INIT;
    o.high_water = HIGH;
    o.low_water = LOW;
    cio_transport *t;
    assert_int_equal(cio_connect_write_pipe_protocol(g_loop, p[1],
                                                     wonly_factory, &g_r, &o,
                                                     &t),
                     0);
    assert_int_equal(g_r.nlog, 0); /* connection_made is still queued */
    write_pattern(t, 4 * HIGH);
    assert_int_equal(g_r.nlog, 0);
    WAIT_FOR(g_r.nlog == 2);
    assert_string_equal(g_r.log, "mp");
    /* writelines on the read end's transport is refused like write. */
    rec other;
    cio_transport *rt;
    assert_int_equal(cio_connect_read_pipe_protocol(g_loop, p[0], rec_factory,
                                                    &other, NULL, &rt),
                     0);
    WAIT_FOR(other.nlog >= 1);
    struct iovec iov = {(void *)"x", 1};
    assert_int_equal(cio_transport_writelines(rt, &iov, 1), -EPIPE);
    /* The read side drains the pipe: the writer resumes, flushes, and
     * closing it ends both. */
    WAIT_FOR(strchr(g_r.log, 'r') != NULL);
    WAIT_FOR(cio_transport_write_buffer_size(t) == 0);
    assert_int_equal(cio_transport_close(t), 0);
    WAIT_FOR(g_r.lost && other.lost);
    assert_int_equal(g_r.lost_err, 0);
    assert_int_equal(other.ndata, 4 * HIGH);
    return 0;
}

TU_NET_CASE(write_pipe_protocol_early_write_and_bare_protocol, early_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(write_pipe_protocol_early_write_and_bare_protocol,
                                    tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(read_pipe_protocol_data_eof_lost, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(write_pipe_protocol_pause_resume_lost,
                                    tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(write_pipe_protocol_reader_exits_epipe,
                                    tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(write_pipe_protocol_never_reads, tu_setup,
                                    tu_teardown),
    cmocka_unit_test_setup_teardown(pipe_protocol_refuses_wrong_direction,
                                    tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
