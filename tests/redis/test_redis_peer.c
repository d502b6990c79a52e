/* cio-test: label=redis */
/*
 * test_redis_peer.c - hostile and odd peers, and plain threads.
 * A tiny fake server written with cio's streams (a real socket peer on
 * 127.0.0.1) sends garbage, a reply nobody asked for, an oversized reply,
 * a giant array header or an array that never ends; each breaks only its
 * own connection while a connection to a real redis-server in the same
 * loop goes on. The reply size bound on the parser itself. Then the
 * blocking convenience from plain threads. Last, a peer that never
 * answers: the connect timeout, and cancelling a connect or a client's
 * reconnect back-off.
 */
#include <pthread.h>

#include "redis_int.h"
#include "redis_test.h"

static int fake_handler(cio_stream_reader *r, cio_stream_writer *w, void *arg)
{
    const char *answer = arg;
    char buf[4096];
    ssize_t n = cio_stream_reader_read(r, buf, sizeof(buf));
    if (n <= 0)
        return 0;
    if (strcmp(answer, "endless-array") == 0) {
        /* An array that never ends, in small pieces a millisecond apart:
         * each piece is parsed (and dropped from the reader's buffer)
         * before the next arrives. Until the client hangs up. */
        char piece[256];
        for (size_t i = 0; i < sizeof(piece); i += 4)
            memcpy(piece + i, ":1\r\n", 4);
        cio_stream_writer_write(w, "*1000000000\r\n", 13);
        while (cio_stream_writer_write(w, piece, sizeof(piece)) == 0 &&
               cio_stream_writer_drain(w) == 0 && cio_sleep(CIO_MS) == 0)
            ;
        return 0;
    }
    if (strcmp(answer, "oversize") == 0) {
        char big[4096];
        memset(big, 'x', sizeof(big));
        cio_stream_writer_write(w, "$100000\r\n", 9);
        cio_stream_writer_write(w, big, sizeof(big));
    } else {
        cio_stream_writer_write(w, answer, strlen(answer));
    }
    if (strncmp(answer, "*1000000000", 11) == 0)
        return 0; /* and close */
    while (cio_stream_reader_read(r, buf, sizeof(buf)) > 0)
        ;
    return 0;
}

static int try_peer(const char *answer, size_t max_reply, int expect)
{
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, fake_handler, (void *)answer,
                                      "127.0.0.1", 0, NULL, &srv),
                     0);
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.max_reply = max_reply;
    cio_redis_conn *c;
    assert_int_equal(
        cio_redis_conn_open("127.0.0.1", cio_server_port(srv), &o, &c), 0);
    cio_redis_reply *rep;
    int e = conn_cmd(c, ARGV("PING"), &rep);
    if (expect == 1) { /* first reply fine, then the unsolicited one */
        assert_int_equal(e, 0);
        expect_str(rep, CIO_REDIS_REPLY_STATUS, "OK");
        cio_redis_reply_free(rep);
        cio_sleep(20 * CIO_MS);
        e = conn_cmd(c, ARGV("PING"), &rep);
        expect = CIO_EREDIS_PROTO;
    }
    assert_int_equal(e, expect);
    assert_null(rep);
    assert_false(cio_redis_conn_is_connected(c));
    /* The connection stays broken: later commands fail at once. */
    assert_int_equal(conn_cmd(c, ARGV("PING"), NULL), expect);
    assert_int_equal(cio_redis_conn_close(c), 0);
    cio_server_close(srv);
    cio_server_close_clients(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    return 0;
}

static int peer_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_conn *good = conn_open(NULL);
    assert_int_equal(conn_cmd(good, ARGV("SET", "k", "v"), NULL), 0);

    try_peer("!garbage\r\n", 0, CIO_EREDIS_PROTO);
    try_peer(":12x\r\n", 0, CIO_EREDIS_PROTO);
    try_peer("+OK\r\n+EXTRA\r\n", 0, 1);
    try_peer("oversize", 1024, CIO_EREDIS_PROTO);
    /* One reply may not grow past max_reply even when it arrives in
     * pieces the parser consumes as they come (an array of endless small
     * elements): a protocol violation, not a growing tree. */
    try_peer("endless-array", 16 * 1024, CIO_EREDIS_PROTO);
    /* A giant array header allocates nothing up front; the peer then
     * closes: the command fails with CIO_EREDIS_CLOSED. */
    try_peer("*1000000000\r\n:1\r\n:2\r\n", 0, CIO_EREDIS_CLOSED);

    cio_redis_reply *r;
    assert_int_equal(conn_cmd(good, ARGV("GET", "k"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "v");
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(good), 0);
    return 0;
}

static void hostile_peers(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(peer_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- the reply size bound, on the parser itself ----------------------- */

static void reply_size_bounded(void **state)
{
    (void)state;
    char piece[100];
    for (size_t i = 0; i < sizeof(piece); i += 4)
        memcpy(piece + i, ":1\r\n", 4);
    cio__redis_parser *p;
    cio_redis_reply *rep;

    /* A long array fed 100 bytes at a time (each piece parsed before the
     * next): refused once its bytes pass max_reply (1024), not after
     * megabytes. */
    assert_int_equal(cio__redis_parser_new(&p, 1024), 0);
    assert_int_equal(cio__redis_parser_feed(p, "*1000000\r\n", 10), 0);
    assert_int_equal(cio__redis_parser_next(p, &rep), 0);
    size_t fed = 10;
    int r = 0;
    while (r == 0 && fed < ((size_t)4 << 20)) {
        r = cio__redis_parser_feed(p, piece, sizeof(piece));
        fed += sizeof(piece);
        if (r == 0)
            r = cio__redis_parser_next(p, &rep);
    }
    assert_int_equal(r, CIO_EREDIS_PROTO);
    assert_true(fed > 1024 && fed <= 1024 + 2 * sizeof(piece));
    assert_non_null(strstr(cio__redis_parser_error(p), "max_reply"));
    cio__redis_parser_free(p);

    /* The bound is per reply: many replies of 998 bytes each (an array
     * of 248 integers), fed in the same small pieces, all pass. */
    assert_int_equal(cio__redis_parser_new(&p, 1024), 0);
    int got = 0;
    for (int k = 0; k < 20; k++) {
        assert_int_equal(cio__redis_parser_feed(p, "*248\r\n", 6), 0);
        for (int i = 0; i < 248 * 4; i += (int)sizeof(piece)) {
            size_t n = 248 * 4 - (size_t)i < sizeof(piece) ? 248 * 4 - (size_t)i
                                                           : sizeof(piece);
            assert_int_equal(cio__redis_parser_feed(p, piece, n), 0);
            while ((r = cio__redis_parser_next(p, &rep)) > 0) {
                assert_int_equal(cio_redis_reply_len(rep), 248);
                cio_redis_reply_free(rep);
                got++;
            }
            assert_int_equal(r, 0);
        }
    }
    assert_int_equal(got, 20);
    cio__redis_parser_free(p);
}

/* ---- the blocking convenience ----------------------------------------- */

#define NTHREADS 4
#define NINCR 200

static void *incr_thread(void *arg)
{
    cio_redis_sync *s = arg;
    for (int i = 0; i < NINCR; i++) {
        const char *av[2] = {"INCR", "counter"};
        if (cio_redis_sync_command(s, 2, av, NULL, NULL) != 0)
            return (void *)1;
    }
    return NULL;
}

static void sync_threads(void **state)
{
    (void)state;
    srv_start(NULL);
    cio_redis_sync *s;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.pool_size = 2;
    assert_int_equal(cio_redis_sync_new("127.0.0.1", g_srv.port, &o, &s), 0);
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, incr_thread, s), 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        pthread_join(th[i], &ret);
        assert_null(ret);
    }
    cio_redis_reply *r;
    const char *av[2] = {"GET", "counter"};
    assert_int_equal(cio_redis_sync_command(s, 2, av, NULL, &r), 0);
    char want[16];
    snprintf(want, sizeof(want), "%d", NTHREADS * NINCR);
    expect_str(r, CIO_REDIS_REPLY_STRING, want);
    cio_redis_reply_free(r);
    /* Errors come back the same way, with the reply. */
    const char *bad[3] = {"LPUSH", "counter", "x"};
    assert_int_equal(cio_redis_sync_command(s, 3, bad, NULL, &r),
                     CIO_EREDIS_WRONGTYPE);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_ERROR);
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_sync_free(s), 0);
    tu_redis_stop(&g_srv);
}

/* ---- connect timeout and cancellation --------------------------------- */

/* A peer that accepts and never answers: with a password the handshake
 * (AUTH) waits for a reply that never comes. */
static int open_task(void *arg, void **result)
{
    (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT; /* connect_timeout: 5 s */
    o.password = "pw";
    cio_redis_conn *c = NULL;
    int e = cio_redis_conn_open("127.0.0.1", *(int *)arg, &o, &c);
    if (c) /* never expected: the peer answers nothing */
        cio_redis_conn_close(c);
    return e;
}

static int ping_task(void *arg, void **result)
{
    (void)result;
    return cli_cmd(arg, ARGV("PING"), NULL);
}

static int connect_timeout_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_server *srv;
    assert_int_equal(cio_start_server(g_loop, fake_handler, (void *)"",
                                      "127.0.0.1", 0, NULL, &srv),
                     0);
    int port = cio_server_port(srv);

    /* The handshake is bounded by connect_timeout: -ETIMEDOUT, no
     * connection, and not much later than the timeout. */
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.password = "pw";
    o.connect_timeout = 100 * CIO_MS;
    cio_redis_conn *c = (cio_redis_conn *)&c; /* must be set to NULL */
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_redis_conn_open("127.0.0.1", port, &o, &c),
                     -ETIMEDOUT);
    int64_t took = cio_loop_time(g_loop) - t0;
    assert_null(c);
    assert_true(took >= 100 * CIO_MS);
    assert_true(took < 3 * CIO_SEC);

    /* A connect in progress is cancellable: the caller's cancellation
     * ends it at once (long before its 5 s timeout). */
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(open_task, &port), NULL, &t), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_false(cio_future_done(t)); /* waiting in the handshake */
    t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    assert_true(cio_loop_time(g_loop) - t0 < CIO_SEC);
    cio_future_release(t);

    /* The client retries a timed-out connect (with back-off) and then
     * gives up with -ETIMEDOUT: 3 attempts of 50 ms each at least. */
    o.connect_timeout = 50 * CIO_MS;
    o.max_retries = 3;
    o.backoff_min = 10 * CIO_MS;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", port, &o, &cl), 0);
    t0 = cio_loop_time(g_loop);
    assert_int_equal(cli_cmd(cl, ARGV("PING"), NULL), -ETIMEDOUT);
    assert_true(cio_loop_time(g_loop) - t0 >= 3 * 50 * CIO_MS);
    assert_int_equal(cio_redis_connects(cl), 0);

    /* A command waiting in the client's reconnect back-off is
     * cancellable too, and leaves the client free to be freed. */
    o.max_retries = 20;
    o.backoff_min = CIO_SEC;
    o.backoff_max = 4 * CIO_SEC;
    cio_redis *cl2;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", port, &o, &cl2), 0);
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(ping_task, cl2), NULL, &t), 0);
    assert_int_equal(cio_sleep(200 * CIO_MS), 0); /* 1st attempt timed out */
    assert_false(cio_future_done(t));             /* in the 1 s back-off */
    t0 = cio_loop_time(g_loop);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    assert_true(cio_loop_time(g_loop) - t0 < 500 * CIO_MS);
    cio_future_release(t);
    assert_int_equal(cio_redis_free(cl2), 0); /* not -EBUSY */
    assert_int_equal(cio_redis_free(cl), 0);

    cio_server_close(srv);
    cio_server_close_clients(srv);
    cio_server_wait_closed(srv);
    cio_server_free(srv);
    return 0;
}

static void connect_timeout_cancel(void **state)
{
    (void)state;
    assert_int_equal(run_main(connect_timeout_main, NULL), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(hostile_peers, tu_setup, tu_teardown),
    cmocka_unit_test(reply_size_bounded),
    cmocka_unit_test(sync_threads),
    cmocka_unit_test_setup_teardown(connect_timeout_cancel, tu_setup,
                                    tu_teardown),
};

CIO_TEST_MAIN(tests)
