/* cio-test: label=redis */
/*
 * test_redis_client.c - the client against a real redis-server started
 * per case: every reply type, binary-safe arguments, error codes with the
 * server's message, pipelining order under concurrency, cancellation and
 * timeouts mid-command (the connection stays in sync), AUTH / SELECT /
 * CLIENT SETNAME, AUTH failures, a server restart mid-run (reconnect,
 * in-flight commands fail), blocking commands on dedicated connections,
 * a 64 MiB bulk reply, the pool's connections each taking their share
 * of concurrent commands, connection refused with back-off.
 */
#include "redis_test.h"

/* ---- reply types ------------------------------------------------------ */

static int reply_types_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_conn *c = conn_open(NULL);
    cio_redis_reply *r;

    assert_int_equal(conn_cmd(c, ARGV("SET", "k", "v1"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STATUS, "OK");
    cio_redis_reply_free(r);

    assert_int_equal(conn_cmd(c, ARGV("GET", "k"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "v1");
    cio_redis_reply_free(r);

    assert_int_equal(conn_cmd(c, ARGV("GET", "missing"), &r), 0);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_NIL);
    assert_null(cio_redis_reply_str(r, NULL));
    cio_redis_reply_free(r);

    assert_int_equal(conn_cmd(c, ARGV("INCRBY", "n", "-42"), &r), 0);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_INTEGER);
    assert_int_equal(cio_redis_reply_integer(r), -42);
    cio_redis_reply_free(r);

    /* Binary-safe: NUL, CR, LF inside key and value. */
    const char key[] = {'b', '\0', 'k'};
    const char val[] = {'\r', '\n', '\0', 'x', '\r'};
    const char *av[3] = {"SET", key, val};
    size_t lens[3] = {3, sizeof(key), sizeof(val)};
    assert_int_equal(cio_redis_conn_command(c, 3, av, lens, NULL), 0);
    av[0] = "GET";
    lens[0] = 3;
    assert_int_equal(cio_redis_conn_command(c, 2, av, lens, &r), 0);
    size_t len;
    const char *p = cio_redis_reply_str(r, &len);
    assert_int_equal(len, sizeof(val));
    assert_memory_equal(p, val, sizeof(val));
    cio_redis_reply_free(r);

    /* Arrays: flat, empty, nested, with nil and integer elements. */
    assert_int_equal(conn_cmd(c, ARGV("RPUSH", "l", "a", "", "c"), NULL), 0);
    assert_int_equal(conn_cmd(c, ARGV("LRANGE", "l", "0", "-1"), &r), 0);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_ARRAY);
    assert_int_equal(cio_redis_reply_len(r), 3);
    expect_str((cio_redis_reply *)cio_redis_reply_at(r, 0),
               CIO_REDIS_REPLY_STRING, "a");
    expect_str((cio_redis_reply *)cio_redis_reply_at(r, 1),
               CIO_REDIS_REPLY_STRING, "");
    assert_null(cio_redis_reply_at(r, 3));
    cio_redis_reply_free(r);

    assert_int_equal(conn_cmd(c, ARGV("LRANGE", "nolist", "0", "-1"), &r), 0);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_ARRAY);
    assert_int_equal(cio_redis_reply_len(r), 0);
    cio_redis_reply_free(r);

    assert_int_equal(
        conn_cmd(
            c,
            ARGV("EVAL", "return {1, {'x', {2}}, redis.call('GET', 'k')}", "0"),
            &r),
        0);
    assert_int_equal(cio_redis_reply_len(r), 3);
    assert_int_equal(cio_redis_reply_integer(cio_redis_reply_at(r, 0)), 1);
    const cio_redis_reply *inner = cio_redis_reply_at(r, 1);
    assert_int_equal(cio_redis_reply_len(inner), 2);
    expect_str((cio_redis_reply *)cio_redis_reply_at(inner, 0),
               CIO_REDIS_REPLY_STRING, "x");
    assert_int_equal(cio_redis_reply_integer(
                         cio_redis_reply_at(cio_redis_reply_at(inner, 1), 0)),
                     2);
    expect_str((cio_redis_reply *)cio_redis_reply_at(r, 2),
               CIO_REDIS_REPLY_STRING, "v1");
    cio_redis_reply_free(r);

    assert_int_equal(conn_cmd(c, ARGV("MGET", "k", "missing"), &r), 0);
    assert_int_equal(cio_redis_reply_type_of(cio_redis_reply_at(r, 1)),
                     CIO_REDIS_REPLY_NIL);
    cio_redis_reply_free(r);

    /* Errors: a cio code plus the server's message; the connection goes
     * on. */
    assert_int_equal(conn_cmd(c, ARGV("LPUSH", "k", "x"), &r),
                     CIO_EREDIS_WRONGTYPE);
    assert_int_equal(cio_redis_reply_type_of(r), CIO_REDIS_REPLY_ERROR);
    p = cio_redis_reply_str(r, &len);
    assert_true(len > 10 && strncmp(p, "WRONGTYPE Operation", 19) == 0);
    cio_redis_reply_free(r);
    assert_int_equal(conn_cmd(c, ARGV("NOSUCHCOMMAND"), &r), CIO_EREDIS_ERR);
    assert_non_null(strstr(cio_redis_reply_str(r, NULL), "unknown command"));
    cio_redis_reply_free(r);
    assert_int_equal(conn_cmd(c, ARGV("EVALSHA", "0123", "0"), NULL),
                     CIO_EREDIS_NOSCRIPT);
    assert_string_equal(cio_strerror(CIO_EREDIS_WRONGTYPE),
                        "Redis: operation against a key holding the wrong "
                        "kind of value");
    assert_string_equal(cio_strerror(-ECANCELED), cio_strerror(-ECANCELED));

    /* Bad arguments. */
    assert_int_equal(cio_redis_conn_command(c, 0, av, NULL, NULL), -EINVAL);
    assert_int_equal(conn_cmd(c, ARGV("PING"), NULL), 0);
    assert_true(cio_redis_conn_is_connected(c));
    assert_int_equal(cio_redis_conn_close(c), 0);
    return 0;
}

static void reply_types(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(reply_types_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- pipelining ------------------------------------------------------- */

#define NTASKS 64
#define NCMDS 50

typedef struct pipe_ctx {
    cio_redis_conn *c;
    int id;
    size_t max_pending;
} pipe_ctx;

static size_t g_max_pending;

static int echo_task(void *arg, void **result)
{
    pipe_ctx *p = arg;
    (void)result;
    for (int i = 0; i < NCMDS; i++) {
        char msg[32];
        snprintf(msg, sizeof(msg), "t%d-%d", p->id, i);
        cio_redis_reply *r;
        int e = conn_cmd(p->c, ARGV("ECHO", msg), &r);
        if (e < 0)
            return e;
        size_t pend = cio_redis_conn_pending(p->c);
        if (pend > g_max_pending)
            g_max_pending = pend;
        size_t len;
        const char *s = cio_redis_reply_str(r, &len);
        int ok = s && len == strlen(msg) && memcmp(s, msg, len) == 0;
        cio_redis_reply_free(r);
        if (!ok)
            return -EPROTO;
    }
    return 0;
}

static int pipelining_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_conn *c = conn_open(NULL);
    pipe_ctx ctx[NTASKS];
    cio_awaitable aw[NTASKS];
    for (int i = 0; i < NTASKS; i++) {
        ctx[i].c = c;
        ctx[i].id = i;
        aw[i] = CIO_AW_CORO(echo_task, &ctx[i]);
    }
    g_max_pending = 0;
    cio_future *all;
    assert_int_equal(cio_gather(g_loop, aw, NTASKS, 0, &all), 0);
    assert_int_equal(cio_await(all, NULL), 0);
    cio_future_release(all);
    /* The tasks' commands really were in flight together on one
     * connection (pipelined), not one round trip at a time. */
    assert_true(g_max_pending > NTASKS / 2);
    assert_int_equal(cio_redis_conn_pending(c), 0);
    assert_int_equal(cio_redis_conn_close(c), 0);
    return 0;
}

static void pipelining_order(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(pipelining_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- cancellation and timeouts ---------------------------------------- */

static int blpop_task(void *arg, void **result)
{
    (void)result;
    cio_redis_conn *c = arg;
    /* Blocks in the server for 300 ms, then answers nil. */
    return conn_cmd(c, ARGV("BLPOP", "nothing", "0.3"), NULL);
}

static int cancel_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_conn *c = conn_open(NULL);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(blpop_task, c), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_int_equal(cio_redis_conn_pending(c), 1);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    /* The abandoned BLPOP is still answered first: the next command gets
     * its own reply, not the nil meant for the cancelled one. */
    cio_redis_reply *r;
    assert_int_equal(conn_cmd(c, ARGV("ECHO", "after"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "after");
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_pending(c), 0);

    /* Cancel a task that has issued but whose command was not even
     * written yet (same iteration). */
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(blpop_task, c), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(0), 0);
    assert_int_equal(cio_task_cancel(t, NULL), 1);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    assert_int_equal(conn_cmd(c, ARGV("ECHO", "again"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "again");
    cio_redis_reply_free(r);

    /* Timeout scope around a command: -ETIMEDOUT, then in sync. */
    cio_timeout sc;
    assert_int_equal(cio_timeout_begin(&sc, 30 * CIO_MS), 0);
    int e = conn_cmd(c, ARGV("BLPOP", "nothing", "0.2"), NULL);
    assert_int_equal(cio_timeout_end(&sc, e), -ETIMEDOUT);
    assert_int_equal(conn_cmd(c, ARGV("ECHO", "x"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "x");
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(c), 0);

    /* The per-command timeout option. */
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.command_timeout = 30 * CIO_MS;
    c = conn_open(&o);
    assert_int_equal(conn_cmd(c, ARGV("BLPOP", "nothing", "0.2"), NULL),
                     -ETIMEDOUT);
    /* The server answers in order: a command behind the blocked BLPOP
     * times out too... */
    assert_int_equal(conn_cmd(c, ARGV("ECHO", "y"), NULL), -ETIMEDOUT);
    assert_int_equal(cio_redis_conn_pending(c), 2);
    /* ...and once BLPOP has been answered (and dropped), the connection
     * is in sync again. */
    assert_int_equal(cio_sleep(250 * CIO_MS), 0);
    assert_int_equal(cio_redis_conn_pending(c), 0);
    assert_int_equal(conn_cmd(c, ARGV("ECHO", "y"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "y");
    cio_redis_reply_free(r);
    /* Close with an abandoned command still in flight. */
    assert_int_equal(conn_cmd(c, ARGV("BLPOP", "nothing", "0.2"), NULL),
                     -ETIMEDOUT);
    assert_int_equal(cio_redis_conn_pending(c), 1);
    assert_int_equal(cio_redis_conn_close(c), 0);
    return 0;
}

static void cancel_mid_command(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(cancel_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- AUTH, SELECT, CLIENT SETNAME ------------------------------------- */

static int auth_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_conn *c = NULL;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;

    /* No password: the server says NOAUTH, with its message. */
    c = conn_open(NULL);
    cio_redis_reply *r;
    assert_int_equal(conn_cmd(c, ARGV("GET", "k"), &r), CIO_EREDIS_NOAUTH);
    assert_non_null(strstr(cio_redis_reply_str(r, NULL), "NOAUTH"));
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(c), 0);

    /* Wrong password: open fails with WRONGPASS and no connection. */
    o.password = "wrong";
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.port, &o, &c),
                     CIO_EREDIS_WRONGPASS);
    assert_null(c);
    o.username = "nobody";
    assert_int_equal(cio_redis_conn_open("127.0.0.1", g_srv.port, &o, &c),
                     CIO_EREDIS_WRONGPASS);

    /* The client does not retry an AUTH refusal. */
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, &o, &cl),
                     0);
    assert_int_equal(cli_cmd(cl, ARGV("PING"), NULL), CIO_EREDIS_WRONGPASS);
    assert_int_equal(cio_redis_connects(cl), 0);
    assert_int_equal(cio_redis_free(cl), 0);

    /* user + password, SELECT, CLIENT SETNAME. */
    o.username = "default";
    o.password = "s3cret";
    o.db = 2;
    o.client_name = "cio-test";
    c = conn_open(&o);
    assert_int_equal(conn_cmd(c, ARGV("SET", "indb2", "1"), NULL), 0);
    assert_int_equal(conn_cmd(c, ARGV("CLIENT", "GETNAME"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "cio-test");
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(c), 0);

    /* Password only, db 0: the key is not there (it is in db 2). */
    o.username = NULL;
    o.db = 0;
    o.client_name = NULL;
    c = conn_open(&o);
    assert_int_equal(conn_cmd(c, ARGV("EXISTS", "indb2"), &r), 0);
    assert_int_equal(cio_redis_reply_integer(r), 0);
    cio_redis_reply_free(r);
    assert_int_equal(conn_cmd(c, ARGV("SELECT", "2"), NULL), 0);
    assert_int_equal(conn_cmd(c, ARGV("EXISTS", "indb2"), &r), 0);
    assert_int_equal(cio_redis_reply_integer(r), 1);
    cio_redis_reply_free(r);
    assert_int_equal(cio_redis_conn_close(c), 0);
    return 0;
}

static void auth_select_setname(void **state)
{
    (void)state;
    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.password = "s3cret";
    srv_start(&so);
    assert_int_equal(run_main(auth_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- server restart ----------------------------------------------------- */

static int inflight_task(void *arg, void **result)
{
    (void)result;
    return cli_cmd(arg, ARGV("BLPOP", "never", "5"), NULL);
}

static int restart_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.pool_size = 2;
    o.backoff_min = 20 * CIO_MS;
    o.max_retries = 8;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, &o, &cl),
                     0);
    assert_int_equal(cli_cmd(cl, ARGV("SET", "k", "before"), NULL), 0);
    assert_int_equal(cli_cmd(cl, ARGV("PING"), NULL), 0);
    assert_int_equal(cio_redis_connects(cl), 2);

    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(inflight_task, cl), NULL, &t), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    /* kill -9 the server with the command in flight: it fails. */
    assert_int_equal(tu_redis_kill(&g_srv, SIGKILL), 0);
    assert_int_equal(cio_await(t, NULL), CIO_EREDIS_CLOSED);
    cio_future_release(t);

    /* Commands while it is down fail after the back-off attempts... */
    cio_redis_opts o2 = o;
    o2.max_retries = 2;
    cio_redis *cl2;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, &o2, &cl2),
                     0);
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cli_cmd(cl2, ARGV("PING"), NULL), -ECONNREFUSED);
    assert_true(cio_loop_time(g_loop) - t0 >= 20 * CIO_MS); /* backed off */
    assert_int_equal(cio_redis_free(cl2), 0);

    /* ...and once it is back (AOF off: the data is gone), the client
     * reconnects by itself. */
    assert_int_equal(tu_redis_restart(&g_srv), 0);
    cio_redis_reply *r;
    assert_int_equal(cli_cmd(cl, ARGV("SET", "k", "after"), NULL), 0);
    assert_int_equal(cli_cmd(cl, ARGV("GET", "k"), &r), 0);
    expect_str(r, CIO_REDIS_REPLY_STRING, "after");
    cio_redis_reply_free(r);
    assert_true(cio_redis_connects(cl) >= 3);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void server_restart(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(restart_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- blocking commands on dedicated connections ----------------------- */

static int blmove_task(void *arg, void **result)
{
    cio_redis_reply *r = NULL;
    int e = cio_redis_command_blocking(
        arg, 6, ARGV("BLMOVE", "src", "dst", "LEFT", "RIGHT", "5"), NULL, &r);
    *result = r;
    return e;
}

static int blocking_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, NULL, &cl),
                     0);
    cio_task *t;
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(blmove_task, cl), NULL, &t), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    /* The pipelined connection (pool of 1) is not stalled behind it. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(cli_cmd(cl, ARGV("PING"), NULL), 0);
    assert_int_equal(cli_cmd(cl, ARGV("RPUSH", "src", "job"), NULL), 0);
    void *res;
    assert_int_equal(cio_await(t, &res), 0);
    expect_str(res, CIO_REDIS_REPLY_STRING, "job");
    cio_redis_reply_free(res);
    cio_future_release(t);

    /* A cancelled blocking command: its connection is dropped, the next
     * blocking call gets a fresh one and works. */
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(blmove_task, cl), NULL, &t), 0);
    assert_int_equal(cio_sleep(30 * CIO_MS), 0);
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    assert_int_equal(cli_cmd(cl, ARGV("RPUSH", "src", "job2"), NULL), 0);
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(blmove_task, cl), NULL, &t), 0);
    assert_int_equal(cio_await(t, &res), 0);
    expect_str(res, CIO_REDIS_REPLY_STRING, "job2");
    cio_redis_reply_free(res);
    cio_future_release(t);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void blocking_dedicated(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(blocking_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- a 64 MiB bulk reply ---------------------------------------------- */

static int huge_main(void *arg, void **result)
{
    (void)arg, (void)result;
    size_t n = (size_t)64 << 20;
    char *big = malloc(n);
    assert_non_null(big);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 31 + (i >> 13));
    cio_redis_conn *c = conn_open(NULL);
    const char *av[3] = {"SET", "big", big};
    size_t lens[3] = {3, 3, n};
    assert_int_equal(cio_redis_conn_command(c, 3, av, lens, NULL), 0);
    av[0] = "GET";
    cio_redis_reply *r;
    assert_int_equal(cio_redis_conn_command(c, 2, av, lens, &r), 0);
    size_t len;
    const char *p = cio_redis_reply_str(r, &len);
    assert_int_equal(len, n);
    assert_true(memcmp(p, big, n) == 0);
    cio_redis_reply_free(r);
    /* Small commands still flow on the same connection afterwards. */
    assert_int_equal(conn_cmd(c, ARGV("STRLEN", "big"), &r), 0);
    assert_int_equal(cio_redis_reply_integer(r), (long long)n);
    cio_redis_reply_free(r);
    free(big);
    assert_int_equal(cio_redis_conn_close(c), 0);
    return 0;
}

static void huge_bulk(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(huge_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- the pool: commands spread over its connections ------------------- */

#define POOL 3
#define POOL_TASKS 30

static long long g_ids[POOL_TASKS];

typedef struct id_ctx {
    cio_redis *cl;
    int i;
} id_ctx;

static int id_task(void *arg, void **result)
{
    (void)result;
    id_ctx *x = arg;
    cio_redis_reply *r;
    int e = cli_cmd(x->cl, ARGV("CLIENT", "ID"), &r);
    if (e == 0)
        g_ids[x->i] = cio_redis_reply_integer(r);
    cio_redis_reply_free(r);
    return e;
}

static int pool_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.pool_size = POOL;
    o.client_name = "cio-pool";
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, &o, &cl),
                     0);
    /* Concurrent tasks: each asks the server which connection it came
     * on. */
    id_ctx ctx[POOL_TASKS];
    cio_awaitable aw[POOL_TASKS];
    for (int i = 0; i < POOL_TASKS; i++) {
        ctx[i].cl = cl;
        ctx[i].i = i;
        aw[i] = CIO_AW_CORO(id_task, &ctx[i]);
    }
    cio_future *all;
    assert_int_equal(cio_gather(g_loop, aw, POOL_TASKS, 0, &all), 0);
    assert_int_equal(cio_await(all, NULL), 0);
    cio_future_release(all);
    /* Exactly POOL connections, each used by POOL_TASKS / POOL commands
     * (round robin), opened once each. */
    long long ids[POOL];
    int uses[POOL] = {0}, nids = 0;
    for (int i = 0; i < POOL_TASKS; i++) {
        int k = 0;
        while (k < nids && ids[k] != g_ids[i])
            k++;
        if (k == nids) {
            assert_true(nids < POOL);
            ids[nids++] = g_ids[i];
        }
        uses[k]++;
    }
    assert_int_equal(nids, POOL);
    for (int k = 0; k < POOL; k++)
        assert_int_equal(uses[k], POOL_TASKS / POOL);
    assert_int_equal(cio_redis_connects(cl), POOL);
    /* The server sees POOL connections with the client's name. */
    cio_redis_reply *r;
    assert_int_equal(cli_cmd(cl, ARGV("CLIENT", "LIST"), &r), 0);
    int named = 0;
    for (const char *p = cio_redis_reply_str(r, NULL);
         (p = strstr(p, " name=cio-pool ")); p++)
        named++;
    cio_redis_reply_free(r);
    assert_int_equal(named, POOL);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void pool_spreads(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(pool_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* ---- connection refused ----------------------------------------------- */

static int refused_main(void *arg, void **result)
{
    (void)result;
    int port = *(int *)arg;
    cio_redis_conn *c;
    assert_int_equal(cio_redis_conn_open("127.0.0.1", port, NULL, &c),
                     -ECONNREFUSED);
    assert_null(c);
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.max_retries = 3;
    o.backoff_min = 10 * CIO_MS;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", port, &o, &cl), 0);
    int64_t t0 = cio_loop_time(g_loop);
    assert_int_equal(cli_cmd(cl, ARGV("PING"), NULL), -ECONNREFUSED);
    /* 3 attempts: waits of 10 and 20 ms between them. */
    assert_true(cio_loop_time(g_loop) - t0 >= 30 * CIO_MS);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void connect_refused_backoff(void **state)
{
    (void)state;
    int port = tu_free_port();
    assert_true(port > 0);
    assert_int_equal(run_main(refused_main, &port), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(reply_types, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(pipelining_order, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(cancel_mid_command, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(auth_select_setname, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(server_restart, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(blocking_dedicated, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(huge_bulk, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(pool_spreads, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(connect_refused_backoff, tu_setup,
                                    tu_teardown),
};

CIO_TEST_MAIN(tests)
