/*
 * redis_hiredis_async.c - the measurement behind design.md §34's choice
 * of hiredis's reader over hiredis's async context: the redis_client
 * workload (50 concurrent SET-then-GET chains, 200,000 of each, 3-byte
 * values, one connection) driven two ways on the same cio loop, against
 * the same redis-server, client CPU per command (getrusage around each
 * run; the server's CPU is not counted):
 *
 *   reader: cio::redis as shipped (cio_redis_conn_command from 50 tasks:
 *           hiredis's redisReader and redisFormatCommandArgv, bytes over
 *           a cio stream, replies as cio_redis_reply trees);
 *   async:  hiredis's redisAsyncContext with its adapter hooks
 *           (addRead/delRead/addWrite/delWrite/cleanup) on
 *           cio_loop_add_reader / cio_loop_add_writer, 50 callback chains
 *           (hiredis owns the socket and does its own read/write; its
 *           replies are redisReply trees freed by hiredis after the
 *           callback). Callbacks, not tasks: the cheapest use of it; a
 *           task API on top would add a future per command.
 *
 * Prints: hiredis_reader_cpu_ns, hiredis_async_cpu_ns and
 * redis_reader_ratio_vs_async (async / reader: > 1 means the chosen path
 * costs less).
 */
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cio/redis.h"
#include "redis_server.h"

#define TASKS 50
/* The value every SET writes: redis-benchmark\'s default payload (3 bytes,
 * "xxx"), so all clients move the same bytes as the -P 16 peer. */
#define VALUE "xxx"
#define N 200000

static int port;
static long done_chains, failures;

static double cpu_s(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 +
           (double)u.ru_stime.tv_sec + (double)u.ru_stime.tv_usec / 1e6;
}

/* ---- reader: cio::redis --------------------------------------------- */

static cio_redis_conn *conn;

static int task(void *arg, void **result)
{
    (void)result;
    long id = (long)(intptr_t)arg;
    char key[32];
    for (long i = id; i < N; i += TASKS) {
        int n = snprintf(key, sizeof(key), "key:%06ld", i % 100000);
        const char *set[3] = {"SET", key, VALUE};
        size_t sl[3] = {3, (size_t)n, sizeof(VALUE) - 1};
        if (cio_redis_conn_command(conn, 3, set, sl, NULL) != 0)
            failures++;
        const char *get[2] = {"GET", key};
        cio_redis_reply *r;
        if (cio_redis_conn_command(conn, 2, get, sl, &r) != 0)
            failures++;
        cio_redis_reply_free(r);
    }
    return 0;
}

static int reader_main(void *arg, void **result)
{
    (void)arg, (void)result;
    int e = cio_redis_conn_open("127.0.0.1", port, NULL, &conn);
    if (e != 0)
        return e;
    cio_task *t[TASKS];
    cio_task_opts o = CIO_TASK_OPTS_INIT;
    o.stack_size = 64 * 1024;
    for (long i = 0; i < TASKS; i++)
        cio_task_create(cio_get_running_loop(), CIO_CORO(task, (intptr_t)i),
                        &o, &t[i]);
    for (int i = 0; i < TASKS; i++) {
        cio_await(t[i], NULL);
        cio_future_release(t[i]);
    }
    return cio_redis_conn_close(conn);
}

/* ---- async: redisAsyncContext on cio's loop ------------------------- */

typedef struct adapter {
    cio_loop *loop;
    redisAsyncContext *ac;
    int fd, reading, writing;
} adapter;

static int on_readable(void *p)
{
    redisAsyncHandleRead(((adapter *)p)->ac);
    return 0;
}

static int on_writable(void *p)
{
    redisAsyncHandleWrite(((adapter *)p)->ac);
    return 0;
}

static void add_read(void *p)
{
    adapter *a = p;
    if (!a->reading && cio_loop_add_reader(a->loop, a->fd, on_readable, a) == 0)
        a->reading = 1;
}

static void del_read(void *p)
{
    adapter *a = p;
    if (a->reading)
        cio_loop_remove_reader(a->loop, a->fd);
    a->reading = 0;
}

static void add_write(void *p)
{
    adapter *a = p;
    if (!a->writing && cio_loop_add_writer(a->loop, a->fd, on_writable, a) == 0)
        a->writing = 1;
}

static void del_write(void *p)
{
    adapter *a = p;
    if (a->writing)
        cio_loop_remove_writer(a->loop, a->fd);
    a->writing = 0;
}

static void cleanup(void *p)
{
    del_read(p);
    del_write(p);
}

typedef struct chain {
    redisAsyncContext *ac;
    long i;
    char key[32];
} chain;

static void next_set(chain *c);

static void got_get(redisAsyncContext *ac, void *r, void *priv)
{
    (void)ac;
    chain *c = priv;
    if (!r || ((redisReply *)r)->type != REDIS_REPLY_STRING)
        failures++;
    c->i += TASKS;
    if (c->i < N)
        next_set(c);
    else
        done_chains++;
}

static void got_set(redisAsyncContext *ac, void *r, void *priv)
{
    chain *c = priv;
    if (!r || ((redisReply *)r)->type != REDIS_REPLY_STATUS)
        failures++;
    if (redisAsyncCommand(ac, got_get, c, "GET %s", c->key) != REDIS_OK)
        failures++;
}

static void next_set(chain *c)
{
    snprintf(c->key, sizeof(c->key), "key:%06ld", c->i % 100000);
    /* Binary-safe arguments (%b), as cio's client sends them. */
    if (redisAsyncCommand(c->ac, got_set, c, "SET %b %b", c->key,
                          strlen(c->key), VALUE, sizeof(VALUE) - 1) != REDIS_OK)
        failures++;
}

static int async_main(void *arg, void **result)
{
    (void)arg, (void)result;
    redisAsyncContext *ac = redisAsyncConnect("127.0.0.1", port);
    if (!ac || ac->err)
        return -1;
    adapter a = {cio_get_running_loop(), ac, ac->c.fd, 0, 0};
    ac->ev.data = &a;
    ac->ev.addRead = add_read;
    ac->ev.delRead = del_read;
    ac->ev.addWrite = add_write;
    ac->ev.delWrite = del_write;
    ac->ev.cleanup = cleanup;
    static chain ch[TASKS];
    for (long i = 0; i < TASKS; i++) {
        ch[i].ac = ac;
        ch[i].i = i;
        next_set(&ch[i]);
    }
    while (done_chains < TASKS && !ac->err)
        cio_sleep(2 * CIO_MS);
    int err = ac->err;
    redisAsyncFree(ac);
    return err ? -1 : 0;
}

int main(void)
{
    tu_redis srv;
    tu_redis_opts so = TU_REDIS_OPTS_INIT;
    so.unpin = 1;
    if (tu_redis_start(&srv, &so) < 0) {
        fprintf(stderr, "redis-server did not start\n");
        return 1;
    }
    port = srv.port;
    double c0 = cpu_s();
    int r1 = cio_run(reader_main, NULL, NULL);
    double c1 = cpu_s();
    int r2 = cio_run(async_main, NULL, NULL);
    double c2 = cpu_s();
    tu_redis_stop(&srv);
    if (r1 != 0 || r2 != 0 || failures) {
        fprintf(stderr, "failed: reader %d, async %d, %ld bad replies\n", r1,
                r2, failures);
        return 1;
    }
    double ops = 2.0 * N;
    double reader = (c1 - c0) * 1e9 / ops, async = (c2 - c1) * 1e9 / ops;
    printf("hiredis_reader_cpu_ns %.1f\n", reader);
    printf("hiredis_async_cpu_ns %.1f\n", async);
    printf("redis_reader_ratio_vs_async %.3f\n", async / reader);
    return 0;
}
