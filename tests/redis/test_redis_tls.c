/* cio-test: label=redis */
/*
 * test_redis_tls.c - the Redis client over TLS (cio_redis_opts.tls)
 * against a real redis-server listening with TLS (tu_redis_opts.tls: a
 * CA and a server certificate made with the openssl CLI in the server's
 * temp dir). Commands on a connection and on a pooled client with
 * concurrent tasks (pipelined), a blocking command on its dedicated
 * connection, the blocking convenience from a plain thread, pub/sub, all
 * on the TLS port (which speaks nothing but TLS); the context freed by
 * the caller right after cio_redis_new (the client retains it).
 * Verification: a context trusting another CA, or a server name the
 * certificate does not carry, fails with CIO_ETLS_VERIFY on a connection
 * and on a client; a TLS client on the plain port fails with a TLS error.
 */
#include "redis_test.h"

static char g_path[300];

static const char *srv_file(const char *f)
{
    return tu_redis_path(&g_srv, f, g_path, sizeof(g_path));
}

/* A client context trusting cafile (a file of g_srv's directory). */
static cio_tls_ctx *ctx_trusting(const char *cafile)
{
    cio_tls_ctx *ctx;
    assert_int_equal(cio_tls_ctx_new(&ctx, CIO_TLS_CLIENT), 0);
    assert_int_equal(cio_tls_ctx_load_verify(ctx, srv_file(cafile), NULL), 0);
    return ctx;
}

static void tls_srv_start(void)
{
    tu_redis_opts o = TU_REDIS_OPTS_INIT;
    o.tls = 1;
    srv_start(&o);
    assert_true(g_srv.tls_port > 0);
}

/* ---- commands ---- */

#define NTASKS 16

typedef struct worker {
    cio_redis *cl;
    int i;
} worker;

static int setget_task(void *arg, void **result)
{
    (void)result;
    worker *w = arg;
    char key[32], val[32];
    snprintf(key, sizeof(key), "tls:k%d", w->i);
    snprintf(val, sizeof(val), "v%d-over-tls", w->i);
    for (int round = 0; round < 20; round++) {
        cio_redis_reply *r = NULL;
        int e = cli_cmd(w->cl, ARGV("SET", key, val), &r);
        if (e < 0)
            return e;
        cio_redis_reply_free(r);
        r = NULL;
        if ((e = cli_cmd(w->cl, ARGV("GET", key), &r)) < 0)
            return e;
        size_t len;
        const char *p = cio_redis_reply_str(r, &len);
        int ok = p && len == strlen(val) && memcmp(p, val, len) == 0;
        cio_redis_reply_free(r);
        if (!ok)
            return -EPROTO;
    }
    return 0;
}

static int commands_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.tls = ctx_trusting("ca.pem");

    /* One connection: SET / GET, a binary value. */
    cio_redis_conn *c = NULL;
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.tls_port, &o, &c),
                     0);
    cio_redis_reply *r = NULL;
    const char *av[3] = {"SET", "bin", "a\0\r\nb"};
    size_t lens[3] = {3, 3, 5};
    assert_int_equal(cio_redis_conn_command(c, 3, av, lens, &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STATUS, "OK");
    cio_redis_reply_free(r);
    assert_int_equal(conn_cmd(c, ARGV("GET", "bin"), &r), 0);
    size_t len;
    const char *p = cio_redis_reply_str(r, &len);
    assert_int_equal(len, 5);
    assert_memory_equal(p, "a\0\r\nb", 5);
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(c), 0);

    /* A pooled client by server name ("localhost" is in the
     * certificate); the caller's reference goes at once. */
    o.pool_size = 2;
    o.tls_server_name = "localhost";
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.tls_port, &o, &cl),
                     0);
    cio_tls_ctx_free(o.tls);
    o.tls = NULL;

    /* Concurrent tasks: their commands are pipelined on the pool. */
    worker w[NTASKS];
    cio_task *t[NTASKS];
    for (int i = 0; i < NTASKS; i++) {
        w[i].cl = cl;
        w[i].i = i;
        assert_int_equal(
            cio_task_create(g_loop, CIO_CORO(setget_task, &w[i]), NULL, &t[i]),
            0);
    }
    for (int i = 0; i < NTASKS; i++) {
        void *res;
        assert_int_equal(cio_await(t[i], &res), 0);
        cio_future_release(t[i]);
    }
    assert_int_equal(cli_cmd(cl, ARGV("DBSIZE"), &r), 0);
    assert_int_equal(cio_redis_reply_integer(r), NTASKS + 1);
    cio_redis_reply_free(r);

    /* A blocking command on its dedicated (TLS) connection. */
    assert_int_equal(cli_cmd(cl, ARGV("RPUSH", "tls:list", "job"), &r), 0);
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_command_blocking(
                         cl, 3, ARGV("BLPOP", "tls:list", "1"), NULL, &r),
                     0);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_ARRAY);
    const cio_redis_reply *el = cio_redis_reply_at(r, 1);
    assert_int_equal(cio_redis_reply_type_of(el), CIO_REDIS_REPLY_STRING);
    p = cio_redis_reply_str(el, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(p, "job", 3);
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void tls_commands(void **state)
{
    (void)state;
    tls_srv_start();
    assert_int_equal(run_main(commands_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- the blocking convenience, from this (plain) thread ---- */

static void tls_sync(void **state)
{
    (void)state;
    tls_srv_start();
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.tls = ctx_trusting("ca.pem");
    cio_redis_sync *s;
    assert_int_equal(cio_redis_sync_new("127.0.0.1", g_srv.tls_port, &o, &s),
                     0);
    cio_tls_ctx_free(o.tls);
    cio_redis_reply *r = NULL;
    const char *av[3] = {"SET", "sync", "1"};
    assert_int_equal(cio_redis_sync_command(s, 3, av, NULL, &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STATUS, "OK");
    cio_redis_reply_free(r);
    const char *get[2] = {"GET", "sync"};
    assert_int_equal(cio_redis_sync_command(s, 2, get, NULL, &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "1");
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_sync_free(s), 0);
    tu_redis_stop(&g_srv);
}

/* ---- verification ---- */

static int verify_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    cio_redis_conn *c = NULL;

    /* Another CA. */
    o.tls = ctx_trusting("other-ca.pem");
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.tls_port, &o, &c),
                     CIO_ETLS_VERIFY);
    assert_null(c);
    char why[256];
    assert_true(cio_tls_last_error(why, sizeof(why)) > 0);
    /* ... and through a client, after its retries. */
    o.max_retries = 2;
    o.backoff_min = CIO_MS;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.tls_port, &o, &cl),
                     0);
    cio_redis_reply *r = NULL;
    assert_int_equal(cli_cmd(cl, ARGV("PING"), &r), CIO_ETLS_VERIFY);
    assert_null(r);
    assert_int_equal(cio_redis_free(cl), 0);
    cio_tls_ctx_free(o.tls);

    /* The right CA but a name the certificate does not carry. */
    o.tls = ctx_trusting("ca.pem");
    o.tls_server_name = "wrong.example";
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.tls_port, &o, &c),
                     CIO_ETLS_VERIFY);
    assert_null(c);

    /* TLS to the plain port: the server never answers the ClientHello
     * with a handshake (it waits for an inline command's end of line),
     * so the connect timeout ends the attempt (or a TLS error, should
     * the server answer with plain text). */
    o.tls_server_name = NULL;
    o.connect_timeout = 300 * CIO_MS;
    int e = cio_redis_conn_open("127.0.0.1", g_srv.port, &o, &c);
    assert_true(e == -ETIMEDOUT || (e <= CIO_ETLS && e >= CIO_ETLS_NOKTLS));
    assert_null(c);
    o.connect_timeout = 0;

    /* The same context, right name: it works (the failures above were
     * the certificate's, not the setup's). */
    o.tls_server_name = "localhost";
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.tls_port, &o, &c),
                     0);
    assert_int_equal(conn_cmd(c, ARGV("PING"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STATUS, "PONG");
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(c), 0);
    cio_tls_ctx_free(o.tls);
    return 0;
}

static void tls_verify(void **state)
{
    (void)state;
    tls_srv_start();
    assert_int_equal(run_main(verify_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- pub/sub ---- */

static int pubsub_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.tls = ctx_trusting("ca.pem");
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.tls_port, &o, &cl),
                     0);
    cio_redis_pubsub *ps;
    assert_int_equal(
        cio_redis_pubsub_open("127.0.0.1", g_srv.tls_port, &o, &ps), 0);
    cio_tls_ctx_free(o.tls);
    assert_int_equal(cio_redis_pubsub_subscribe(ps, 0, ARGV("news"), 1), 0);
    assert_int_equal(cio_redis_pubsub_subscribe(ps, 1, ARGV("user:*"), 1), 0);
    cio_redis_reply *r = NULL;
    assert_int_equal(cli_cmd(cl, ARGV("PUBLISH", "news", "n1"), &r), 0);
    assert_int_equal(cio_redis_reply_integer(r), 1);
    cio_redis_reply_free(r);
    assert_int_equal(cli_cmd(cl, ARGV("PUBLISH", "user:7", "u7"), &r), 0);
    assert_int_equal(cio_redis_reply_integer(r), 1);
    cio_redis_reply_free(r);

    cio_redis_msg m;
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    assert_null(m.pattern);
    assert_int_equal(m.channel_len, 4);
    assert_memory_equal(m.channel, "news", 4);
    assert_int_equal(m.data_len, 2);
    assert_memory_equal(m.data, "n1", 2);
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    assert_int_equal(m.pattern_len, 6);
    assert_memory_equal(m.pattern, "user:*", 6);
    assert_int_equal(m.data_len, 2);
    assert_memory_equal(m.data, "u7", 2);
    assert_int_equal(cio_redis_pubsub_close(ps), 0);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void tls_pubsub(void **state)
{
    (void)state;
    tls_srv_start();
    assert_int_equal(run_main(pubsub_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(tls_commands, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(tls_sync, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(tls_verify, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(tls_pubsub, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
