/*
 * test_unix_forms.c - the stream, protocol and datagram forms of Unix
 * domain sockets: cio_start_unix_server + cio_open_unix_connection
 * (streams), cio_create_unix_server + cio_create_unix_connection
 * (protocols), cio_create_unix_datagram_endpoint, on a path and in the
 * abstract namespace; the socket file's permissions; a stale file removed
 * on request, a live socket and a plain file never; a server's own file
 * removed when it closes (unless CIO_UNIX_KEEP_FILE), a file put there
 * by someone else since never; the errors of
 * connecting to nothing; no descriptor or file left behind.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cio_testutil_net.h"

static void tmp_path(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/tmp/cio_uf_%s_%d", tag, (int)getpid());
    unlink(buf);
}

/* ---- streams ---- */

static int echo_handler(cio_stream_reader *r, cio_stream_writer *w,
                        void *arg)
{
    int *served = arg;
    const char *line;
    ssize_t n;
    while ((n = cio_stream_reader_readline(r, &line)) > 0) {
        int rc = cio_stream_writer_write(w, line, (size_t)n);
        if (rc < 0)
            return rc;
    }
    (*served)++;
    return n < 0 ? (int)n : 0;
}

/* One line through a stream connection to path. */
static void stream_roundtrip(const char *path)
{
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_unix_connection(path, NULL, &r, &w), 0);
    assert_int_equal(cio_stream_writer_write(w, "hello unix\n", 11), 0);
    const char *line;
    assert_int_equal(cio_stream_reader_readline(r, &line), 11);
    assert_memory_equal(line, "hello unix\n", 11);
    cio_sockaddr peer;
    assert_int_equal(cio_stream_writer_peername(w, &peer), 0);
    assert_int_equal(cio_sockaddr_family(&peer), AF_UNIX);
    cio_stream_reader_free(r);
    cio_stream_writer_free(w);
}

static int streams_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    char path[108];
    tmp_path(path, sizeof(path), "s");
    int served = 0;
    cio_server *s;
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0600, 0, NULL, &s),
                     0);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    for (int i = 0; i < 3; i++)
        stream_roundtrip(path);
    WAIT_FOR(served == 3);
    cio_server_close(s);
    /* The server removed the file it bound (asyncio 3.13's
     * cleanup_socket): a new server binds again without help. */
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(errno, ENOENT);
    assert_int_equal(cio_server_wait_closed(s), 0);
    cio_server_free(s);
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, CIO_UNIX_KEEP_FILE, NULL,
                                           &s),
                     0);
    stream_roundtrip(path);
    cio_server_close(s);
    assert_int_equal(cio_server_wait_closed(s), 0);
    cio_server_free(s);
    /* CIO_UNIX_KEEP_FILE: the file stays; a new server needs
     * CIO_UNIX_REMOVE_STALE. */
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, 0, NULL, &s),
                     -EADDRINUSE);
    assert_null(s);
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0640, CIO_UNIX_REMOVE_STALE,
                                           NULL, &s),
                     0);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640);
    stream_roundtrip(path);
    /* Someone else replaces the file while the server runs (unlink, bind
     * a socket of their own there): closing the server leaves their
     * file alone, since its inode is not the one the server bound. */
    assert_int_equal(unlink(path), 0);
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ou = {.sun_family = AF_UNIX};
    snprintf(ou.sun_path, sizeof(ou.sun_path), "%s", path);
    assert_int_equal(bind(other, (struct sockaddr *)&ou, sizeof(ou)), 0);
    struct stat ost;
    assert_int_equal(lstat(path, &ost), 0);
    cio_server_close(s);
    assert_int_equal(cio_server_wait_closed(s), 0);
    cio_server_free(s);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_ino, ost.st_ino);
    close(other);
    unlink(path);

    /* The abstract namespace: no file at all. */
    char abs[64];
    snprintf(abs, sizeof(abs), "@cio_uf_abs_%d", (int)getpid());
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           abs, 0600, CIO_UNIX_REMOVE_STALE,
                                           NULL, &s),
                     0);
    stream_roundtrip(abs);
    cio_server_close(s);
    assert_int_equal(cio_server_wait_closed(s), 0);
    cio_server_free(s);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(unix_forms_streams, streams_main)

/* ---- protocols ---- */

typedef struct pctx {
    int server;
    char got[64];
    size_t n;
    int lost;
} pctx;

static pctx g_srv_ctx, g_cli_ctx;

static int p_data(cio_transport *t, const void *data, size_t n, void *ctx)
{
    pctx *c = ctx;
    if (c->server)
        return cio_transport_write(t, data, n); /* echo */
    if (c->n + n <= sizeof(c->got)) {
        memcpy(c->got + c->n, data, n);
        c->n += n;
    }
    return 0;
}

static void p_lost(cio_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((pctx *)ctx)->lost++;
}

static const cio_protocol PROTO = {.data_received = p_data,
                                   .connection_lost = p_lost};

static int factory(void *arg, const cio_protocol **proto, void **ctx)
{
    *proto = &PROTO;
    *ctx = arg;
    return 0;
}

static int protocol_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    char path[108];
    tmp_path(path, sizeof(path), "p");
    memset(&g_srv_ctx, 0, sizeof(g_srv_ctx));
    memset(&g_cli_ctx, 0, sizeof(g_cli_ctx));
    g_srv_ctx.server = 1;
    cio_server *s;
    assert_int_equal(cio_create_unix_server(g_loop, factory, &g_srv_ctx, path,
                                            0, CIO_UNIX_REMOVE_STALE, NULL,
                                            &s),
                     0);
    cio_transport *t;
    assert_int_equal(cio_create_unix_connection(factory, &g_cli_ctx, path,
                                                NULL, &t),
                     0);
    assert_int_equal(cio_transport_write(t, "ping", 4), 0);
    WAIT_FOR(g_cli_ctx.n == 4);
    assert_memory_equal(g_cli_ctx.got, "ping", 4);
    cio_transport_close(t);
    WAIT_FOR(g_cli_ctx.lost == 1 && g_srv_ctx.lost == 1);
    cio_server_close(s);
    assert_int_equal(cio_server_wait_closed(s), 0);
    cio_server_free(s);
    /* The server removed its file: nothing at the path any more. */
    struct stat st;
    assert_int_equal(lstat(path, &st), -1);
    assert_int_equal(cio_create_unix_connection(factory, &g_cli_ctx, path,
                                                NULL, &t),
                     -ENOENT);
    assert_null(t);
    assert_int_equal(cio_create_unix_connection(NULL, &g_cli_ctx, path, NULL,
                                                &t),
                     -EINVAL);
    assert_int_equal(cio_create_unix_connection(factory, NULL, NULL, NULL, &t),
                     -EINVAL);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(unix_forms_protocols, protocol_main)

/* ---- stale, live, not a socket; connect errors ---- */

static int stale_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    char path[108];
    tmp_path(path, sizeof(path), "st");
    /* A stale file: bound, then closed without unlink. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    cio_sockaddr a;
    assert_int_equal(cio_sockaddr_from_unix(&a, path), 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
    close(fd);
    cio_stream_reader *r;
    cio_stream_writer *w;
    assert_int_equal(cio_open_unix_connection(path, NULL, &r, &w),
                     -ECONNREFUSED);
    assert_null(r);
    assert_null(w);
    int served = 0;
    cio_server *s, *s2;
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, CIO_UNIX_REMOVE_STALE,
                                           NULL, &s),
                     0);
    /* Live: a second server asking to remove stale files gets
     * EADDRINUSE, and the first one goes on serving. */
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, CIO_UNIX_REMOVE_STALE,
                                           NULL, &s2),
                     -EADDRINUSE);
    assert_null(s2);
    assert_int_equal(cio_create_unix_server(g_loop, factory, &g_srv_ctx, path,
                                            0, CIO_UNIX_REMOVE_STALE, NULL,
                                            &s2),
                     -EADDRINUSE);
    stream_roundtrip(path);
    cio_server_close(s);
    assert_int_equal(cio_server_wait_closed(s), 0);
    cio_server_free(s);
    unlink(path);
    /* A plain file is never removed. */
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, CIO_UNIX_REMOVE_STALE,
                                           NULL, &s),
                     -EADDRINUSE);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(path);
    /* Bad arguments. */
    char longp[200];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(cio_open_unix_connection(longp, NULL, &r, &w),
                     -ENAMETOOLONG);
    assert_int_equal(cio_open_unix_connection("", NULL, &r, &w), -EINVAL);
    assert_int_equal(cio_open_unix_connection(NULL, NULL, &r, &w), -EINVAL);
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, 0x100, NULL, &s),
                     -EINVAL);
    cio_server_opts so = CIO_SERVER_OPTS_INIT;
    so.use_sock = 1;
    so.sock = 0;
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           path, 0, 0, &so, &s),
                     -EINVAL);
    assert_int_equal(lstat(path, &st), -1); /* no file left by failures */
    /* A directory that does not exist. */
    assert_int_equal(cio_start_unix_server(g_loop, echo_handler, &served,
                                           "/nonexistent-dir/x.sock", 0, 0,
                                           NULL, &s),
                     -ENOENT);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(unix_forms_stale_live_errors, stale_main)

/* ---- a listener whose backlog is full: connects wait, not -EAGAIN ---- */

/* A plain listener with backlog 1 that does not accept, filled with raw
 * non-blocking connects until the kernel says EAGAIN. Returns the
 * listener; fill[0..*n) are the queued clients. */
static int full_listener(const char *path, int *fill, int *n)
{
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un u = {.sun_family = AF_UNIX};
    snprintf(u.sun_path, sizeof(u.sun_path), "%s", path);
    assert_int_equal(bind(l, (struct sockaddr *)&u, sizeof(u)), 0);
    assert_int_equal(listen(l, 1), 0);
    *n = 0;
    for (;;) {
        assert_true(*n < 8);
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (connect(c, (struct sockaddr *)&u, sizeof(u)) < 0) {
            assert_int_equal(errno, EAGAIN);
            close(c);
            break;
        }
        fill[(*n)++] = c;
    }
    assert_true(*n >= 1);
    return l;
}

static struct {
    const char *path;
    int form; /* 0 streams, 1 protocol, 2 awaitable socket */
    int rc;
    int done;
} bk;

static int bk_connect(void *arg, void **result)
{
    (void)arg;
    (void)result;
    if (bk.form == 0) {
        cio_stream_reader *r;
        cio_stream_writer *w;
        bk.rc = cio_open_unix_connection(bk.path, NULL, &r, &w);
        if (bk.rc == 0) {
            cio_stream_reader_free(r);
            cio_stream_writer_free(w);
        }
    } else if (bk.form == 1) {
        cio_transport *t;
        memset(&g_cli_ctx, 0, sizeof(g_cli_ctx));
        bk.rc = cio_create_unix_connection(factory, &g_cli_ctx, bk.path, NULL,
                                           &t);
        if (bk.rc == 0)
            cio_transport_abort(t);
    } else {
        cio_socket *s;
        cio_sockaddr a;
        assert_int_equal(cio_sockaddr_from_unix(&a, bk.path), 0);
        assert_int_equal(cio_socket_open(&s, g_loop, AF_UNIX, SOCK_STREAM, 0),
                         0);
        bk.rc = cio_socket_connect(s, &a);
        cio_socket_close(s);
    }
    bk.done = 1;
    return bk.rc;
}

static int backlog_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    char path[108];
    tmp_path(path, sizeof(path), "bk");
    int fill[8], n;
    int l = full_listener(path, fill, &n);
    bk.path = path;
    for (bk.form = 0; bk.form < 3; bk.form++) {
        /* Waits while the backlog is full... */
        bk.done = 0;
        bk.rc = 1;
        cio_task *t;
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(bk_connect, NULL), NULL, &t), 0);
        assert_int_equal(cio_sleep(60 * CIO_MS), 0);
        assert_int_equal(bk.done, 0);
        /* ...and connects once the listener takes one from it. */
        int a = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        assert_true(a >= 0);
        close(a);
        WAIT_FOR(bk.done);
        assert_int_equal(bk.rc, 0);
        assert_int_equal(cio_await(t, NULL), 0);
        cio_future_release(t);
        /* The new client now holds the freed slot: still full. */
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_un u = {.sun_family = AF_UNIX};
        snprintf(u.sun_path, sizeof(u.sun_path), "%s", path);
        assert_int_equal(connect(c, (struct sockaddr *)&u, sizeof(u)), -1);
        assert_int_equal(errno, EAGAIN);
        close(c);

        /* A timeout scope bounds the wait. */
        cio_timeout to;
        assert_int_equal(cio_timeout_begin(&to, 30 * CIO_MS), 0);
        bk.done = 0;
        int rc = bk_connect(NULL, NULL);
        assert_int_equal(cio_timeout_end(&to, rc), -ETIMEDOUT);

        /* Cancellation ends it too. */
        bk.done = 0;
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(bk_connect, NULL), NULL, &t), 0);
        assert_int_equal(cio_sleep(20 * CIO_MS), 0);
        assert_int_equal(cio_task_cancel(t, NULL), 1);
        assert_int_equal(cio_await(t, NULL), -ECANCELED);
        cio_future_release(t);
        assert_int_equal(bk.rc, -ECANCELED);
    }
    for (int i = 0; i < n; i++)
        close(fill[i]);
    close(l);
    unlink(path);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(unix_forms_backlog_full_waits, backlog_main)

/* ---- datagrams ---- */

typedef struct dctx {
    int echo;
    char got[64];
    size_t n;
    int count, lost;
} dctx;

static void d_recv(cio_datagram_transport *t, const void *data, size_t len,
                   const cio_sockaddr *addr, void *ctx)
{
    dctx *c = ctx;
    c->count++;
    if (c->echo) {
        assert_int_equal(cio_datagram_transport_sendto(t, data, len, addr), 0);
        return;
    }
    if (len <= sizeof(c->got)) {
        memcpy(c->got, data, len);
        c->n = len;
    }
}

static void d_lost(cio_datagram_transport *t, int err, void *ctx)
{
    (void)t;
    (void)err;
    ((dctx *)ctx)->lost++;
}

static const cio_datagram_protocol DPROTO = {.datagram_received = d_recv,
                                             .connection_lost = d_lost};

static int datagram_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    char spath[108], cpath[108];
    tmp_path(spath, sizeof(spath), "ds");
    tmp_path(cpath, sizeof(cpath), "dc");
    for (int round = 0; round < 2; round++) {
        dctx sc = {.echo = 1}, cc = {0};
        cio_datagram_transport *st, *ct;
        /* Round 1 binds over the files round 0 left (stale). */
        int flags = round ? CIO_UNIX_REMOVE_STALE : 0;
        assert_int_equal(cio_create_unix_datagram_endpoint(
                             &DPROTO, &sc, spath, NULL, 0600, flags, NULL,
                             &st),
                         0);
        struct stat sb;
        assert_int_equal(lstat(spath, &sb), 0);
        assert_int_equal(sb.st_mode & 0777, 0600);
        /* A live datagram socket is never removed. */
        cio_datagram_transport *x;
        assert_int_equal(cio_create_unix_datagram_endpoint(
                             &DPROTO, &cc, spath, NULL, 0,
                             CIO_UNIX_REMOVE_STALE, NULL, &x),
                         -EADDRINUSE);
        assert_null(x);
        assert_int_equal(cio_create_unix_datagram_endpoint(
                             &DPROTO, &cc, cpath, spath, 0, flags, NULL, &ct),
                         0);
        assert_int_equal(cio_datagram_transport_sendto(ct, "dgram", 5, NULL),
                         0);
        WAIT_FOR(cc.count == 1);
        assert_int_equal(cc.n, 5);
        assert_memory_equal(cc.got, "dgram", 5);
        assert_int_equal(sc.count, 1);
        cio_datagram_transport_close(ct);
        cio_datagram_transport_close(st);
        WAIT_FOR(cc.lost == 1 && sc.lost == 1);
    }
    unlink(spath);
    unlink(cpath);
    /* Abstract names; a remote nobody bound. */
    char sabs[64];
    snprintf(sabs, sizeof(sabs), "@cio_uf_dabs_%d", (int)getpid());
    dctx sc = {.echo = 1}, cc = {0};
    cio_datagram_transport *st, *ct;
    assert_int_equal(cio_create_unix_datagram_endpoint(&DPROTO, &sc, sabs,
                                                       NULL, 0, 0, NULL, &st),
                     0);
    char cabs[64];
    snprintf(cabs, sizeof(cabs), "@cio_uf_dcabs_%d", (int)getpid());
    assert_int_equal(cio_create_unix_datagram_endpoint(&DPROTO, &cc, cabs,
                                                       sabs, 0, 0, NULL, &ct),
                     0);
    assert_int_equal(cio_datagram_transport_sendto(ct, "abs", 3, NULL), 0);
    WAIT_FOR(cc.count == 1);
    assert_memory_equal(cc.got, "abs", 3);
    cio_datagram_transport_close(ct);
    cio_datagram_transport_close(st);
    WAIT_FOR(cc.lost == 1 && sc.lost == 1);
    assert_int_equal(cio_create_unix_datagram_endpoint(&DPROTO, &cc, NULL,
                                                       spath, 0, 0, NULL, &ct),
                     -ENOENT);
    assert_int_equal(cio_create_unix_datagram_endpoint(&DPROTO, &cc, NULL,
                                                       NULL, 0, 0, NULL, &ct),
                     -EINVAL);
    assert_int_equal(cio_create_unix_datagram_endpoint(NULL, &cc, spath, NULL,
                                                       0, 0, NULL, &ct),
                     -EINVAL);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(unix_forms_datagram, datagram_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(unix_forms_streams, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unix_forms_protocols, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unix_forms_stale_live_errors, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unix_forms_backlog_full_waits, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unix_forms_datagram, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
