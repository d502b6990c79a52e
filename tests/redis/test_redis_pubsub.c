/* cio-test: label=redis */
/*
 * test_redis_pubsub.c - subscribers against a real redis-server:
 * SUBSCRIBE and PSUBSCRIBE confirmed before returning, messages in order
 * through the async iterator (binary data included), UNSUBSCRIBE, a
 * cancelled wait that consumes nothing, and the server going away.
 * With reconnection on: the server killed (SIGKILL) and restarted on the
 * same port, the subscriber reconnects by itself and its channel and
 * pattern subscriptions are restored (a message published after the
 * restart reaches it through both); an unsubscribed channel stays so.
 */
#include "redis_test.h"

static int publish(cio_redis *cl, const char *ch, const char *data, size_t len,
                   long long *receivers)
{
    const char *av[3] = {"PUBLISH", ch, data};
    size_t lens[3] = {7, strlen(ch), len};
    cio_redis_reply *r;
    int e = cio_redis_command(cl, 3, av, lens, &r);
    if (e == 0 && receivers)
        *receivers = cio_redis_reply_integer(r);
    cio_redis_reply_free(r);
    return e;
}

static void expect_msg(const cio_redis_msg *m, const char *pattern,
                       const char *ch, const char *data, size_t len)
{
    if (pattern) {
        assert_int_equal(m->pattern_len, strlen(pattern));
        assert_memory_equal(m->pattern, pattern, m->pattern_len);
    } else {
        assert_null(m->pattern);
    }
    assert_int_equal(m->channel_len, strlen(ch));
    assert_memory_equal(m->channel, ch, m->channel_len);
    assert_int_equal(m->data_len, len);
    assert_memory_equal(m->data, data, len);
}

static int next_task(void *arg, void **result)
{
    (void)result;
    cio_redis_msg m;
    return cio_redis_pubsub_next(arg, &m);
}

static int pubsub_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, NULL, &cl),
                     0);
    cio_redis_pubsub *ps;
    assert_int_equal(cio_redis_pubsub_open("127.0.0.1", g_srv.port, NULL, &ps),
                     0);
    assert_int_equal(
        cio_redis_pubsub_subscribe(ps, 0, ARGV("news", "alerts"), 2), 0);
    assert_int_equal(cio_redis_pubsub_subscribe(ps, 1, ARGV("user:*"), 1), 0);
    /* Confirmed: publishing now reaches the subscriber. */
    long long n;
    assert_int_equal(publish(cl, "news", "n1", 2, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(publish(cl, "user:7", "u7", 2, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(publish(cl, "alerts", "a\0\r\nb", 5, &n), 0);

    cio_redis_msg m;
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    expect_msg(&m, NULL, "news", "n1", 2);
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    expect_msg(&m, "user:*", "user:7", "u7", 2);
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    expect_msg(&m, NULL, "alerts", "a\0\r\nb", 5);

    /* A cancelled wait consumes nothing. */
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(next_task, ps), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);

    assert_int_equal(cio_redis_pubsub_unsubscribe(ps, 0, ARGV("news"), 1), 0);
    assert_int_equal(publish(cl, "news", "lost", 4, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(publish(cl, "alerts", "a2", 2, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    expect_msg(&m, NULL, "alerts", "a2", 2);

    /* The server goes away: the iterator ends with CIO_EREDIS_CLOSED. */
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(next_task, ps), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    assert_int_equal(tu_redis_kill(&g_srv, SIGKILL), 0);
    assert_int_equal(cio_await(t, NULL), CIO_EREDIS_CLOSED);
    cio_future_release(t);
    assert_int_equal(cio_redis_pubsub_next(ps, &m), CIO_EREDIS_CLOSED);
    assert_int_equal(cio_redis_pubsub_close(ps), 0);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void pubsub_messages(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(pubsub_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

/* Publishes `data` on ch every 20 ms until the task t is done (at most
 * 10 s: the test fails if the subscriber never comes back). */
static void publish_until(cio_redis *cl, const char *ch, const char *data,
                          cio_task *t)
{
    for (int i = 0; i < 500 && !cio_future_done(t); i++) {
        publish(cl, ch, data, strlen(data), NULL); /* errors: server down */
        assert_int_equal(cio_sleep(20 * CIO_MS), 0);
    }
    assert_true(cio_future_done(t));
}

static cio_redis_msg g_msg;
static int g_next_rc;

static int next_msg_task(void *arg, void **result)
{
    (void)result;
    g_next_rc = cio_redis_pubsub_next(arg, &g_msg);
    return 0;
}

static int reconnect_main(void *arg, void **result)
{
    (void)arg, (void)result;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    o.backoff_min = 20 * CIO_MS;
    o.backoff_max = 200 * CIO_MS;
    o.max_retries = 50;
    cio_redis *cl;
    assert_int_equal(cio_redis_new(g_loop, "127.0.0.1", g_srv.port, &o, &cl),
                     0);
    cio_redis_pubsub *ps;
    assert_int_equal(cio_redis_pubsub_open("127.0.0.1", g_srv.port, &o, &ps),
                     0);
    assert_int_equal(cio_redis_pubsub_set_reconnect(ps, 1), 0);
    assert_int_equal(cio_redis_pubsub_set_reconnect(NULL, 1), -EINVAL);
    assert_int_equal(
        cio_redis_pubsub_subscribe(ps, 0, ARGV("jobs", "gone"), 2), 0);
    assert_int_equal(cio_redis_pubsub_subscribe(ps, 1, ARGV("ev:*"), 1), 0);
    assert_int_equal(cio_redis_pubsub_unsubscribe(ps, 0, ARGV("gone"), 1), 0);
    long long n;
    assert_int_equal(publish(cl, "jobs", "before", 6, &n), 0);
    assert_int_equal(n, 1);

    /* Kill the server while a task waits in the iterator; restart it. */
    cio_task *t;
    cio_redis_msg m;
    assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
    expect_msg(&m, NULL, "jobs", "before", 6);
    assert_int_equal(
        cio_task_create(g_loop, CIO_CORO(next_msg_task, ps), NULL, &t), 0);
    assert_int_equal(cio_sleep(10 * CIO_MS), 0);
    assert_int_equal(tu_redis_kill(&g_srv, SIGKILL), 0);
    assert_int_equal(cio_sleep(50 * CIO_MS), 0);
    assert_false(cio_future_done(t)); /* still waiting: not ended */
    assert_int_equal(tu_redis_restart(&g_srv), 0);

    /* The channel subscription is back: a publish after the restart
     * reaches the waiting task. */
    publish_until(cl, "jobs", "after", t);
    assert_int_equal(cio_await(t, NULL), 0);
    assert_int_equal(g_next_rc, 1);
    expect_msg(&g_msg, NULL, "jobs", "after", 5);
    cio_future_release(t);
    assert_int_equal(cio_redis_pubsub_reconnects(ps), 1);

    /* The pattern is back too, and only what was subscribed: one receiver
     * for "ev:1", none for "gone" (unsubscribed before the loss). */
    assert_int_equal(publish(cl, "ev:1", "p", 1, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(publish(cl, "gone", "x", 1, &n), 0);
    assert_int_equal(n, 0);
    /* Drain the repeated "after" messages, then the pattern message. */
    for (;;) {
        assert_int_equal(cio_redis_pubsub_next(ps, &m), 1);
        if (m.pattern)
            break;
        expect_msg(&m, NULL, "jobs", "after", 5);
    }
    expect_msg(&m, "ev:*", "ev:1", "p", 1);

    /* Unsubscribe from all channels (n 0): confirmed, nothing left. */
    assert_int_equal(cio_redis_pubsub_unsubscribe(ps, 0, NULL, 0), 0);
    assert_int_equal(publish(cl, "jobs", "x", 1, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(cio_redis_pubsub_close(ps), 0);
    assert_int_equal(cio_redis_free(cl), 0);
    return 0;
}

static void pubsub_reconnect(void **state)
{
    (void)state;
    srv_start(NULL);
    assert_int_equal(run_main(reconnect_main, NULL), 0);
    tu_redis_stop(&g_srv);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(pubsub_messages, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(pubsub_reconnect, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
