/*
 * conn.c - one pipelined Redis connection.
 *
 * A command is formatted (hiredis), appended to the connection's output
 * buffer and queued as a request; the first command of a loop iteration
 * schedules one flush (call_soon), so every command issued by any task
 * during that iteration goes out in one write: automatic pipelining
 * without a lock or a writer task. One reader task per connection feeds
 * what arrives to the parser and hands each reply to the oldest request
 * (Redis answers in order).
 *
 * A request outlives a cancelled caller: the caller marks it abandoned
 * and leaves; the reader drops its reply when it comes, so the stream
 * stays in sync (closing the connection on every timeout, as some clients
 * do, would fail every other command in flight). A request is owned by
 * the queue while in_queue, else by the waiting caller.
 *
 * Anything the parser refuses, or a reply nobody asked for, is a protocol
 * violation: that connection is closed and its requests fail with
 * CIO_EREDIS_PROTO; nothing else is touched.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

#define READ_SIZE (64 * 1024)

typedef struct req {
    struct req *next;
    cio_future *fut;
    cio_redis_reply *reply;
    int err;
    int nleft;
    int in_queue;
    int abandoned;
} req;

struct cio_redis_conn {
    cio_loop *loop;
    cio__redis_tr *tr;
    cio__redis_parser *parser;
    req *head, *tail;
    size_t npending;
    char *out;
    size_t outlen, outcap;
    int flush_scheduled;
    cio_handle flush_h;
    cio_task *reader;
    int connected;
    int err; /* why it ended */
    int64_t command_timeout;
    cio__redis_push_cb push;
    void *push_arg;
    cio__redis_lost_cb lost;
    void *lost_arg;
    char *rbuf;
};

static void req_free(req *q)
{
    cio_redis_reply_free(q->reply);
    cio_future_release(q->fut);
    free(q);
}

/* Completes the oldest request with reply (taken) or err. */
static void complete(cio_redis_conn *c, cio_redis_reply *reply, int err)
{
    req *q = c->head;
    c->head = q->next;
    if (!c->head)
        c->tail = NULL;
    c->npending--;
    q->in_queue = 0;
    if (q->abandoned) {
        cio_redis_reply_free(reply);
        req_free(q);
        return;
    }
    q->reply = reply;
    q->err = err;
    cio_future_set_result(q->fut, NULL);
}

static void lose(cio_redis_conn *c, int err)
{
    if (!c->connected && !c->head)
        return;
    int was = c->connected;
    c->connected = 0;
    if (!c->err)
        c->err = err;
    if (c->flush_scheduled) {
        cio_handle_cancel(c->loop, c->flush_h);
        c->flush_scheduled = 0;
    }
    c->outlen = 0;
    while (c->head)
        complete(c, NULL, c->err);
    if (c->tr)
        cio__redis_tr_shutdown(c->tr);
    if (was && c->lost)
        c->lost(c->err, c->lost_arg);
}

void cio__redis_conn_abort(cio_redis_conn *c)
{
    if (c)
        lose(c, CIO_EREDIS_CLOSED);
}

static int dispatch(cio_redis_conn *c, cio_redis_reply *r)
{
    if (c->push && c->push(r, c->push_arg))
        return 0;
    req *q = c->head;
    if (!q) {
        cio_redis_reply_free(r);
        return CIO_EREDIS_PROTO; /* a reply nobody asked for */
    }
    if (q->nleft > 1) {
        q->nleft--;
        cio_redis_reply_free(r);
        return 0;
    }
    int err = 0;
    if (r->type == CIO_REDIS_REPLY_ERROR)
        err = cio_redis_error_code(r->str, r->len);
    complete(c, r, err);
    return 0;
}

static int reader_main(void *arg, void **result)
{
    cio_redis_conn *c = arg;
    (void)result;
    int err = 0;
    while (c->connected) {
        long n = cio__redis_tr_read(c->tr, c->rbuf, READ_SIZE);
        if (n <= 0) {
            err = CIO_EREDIS_CLOSED;
            break;
        }
        int r = cio__redis_parser_feed(c->parser, c->rbuf, (size_t)n);
        cio_redis_reply *rep;
        while (r >= 0 && (r = cio__redis_parser_next(c->parser, &rep)) > 0)
            r = dispatch(c, rep);
        if (r < 0) {
            err = r == -ENOMEM ? -ENOMEM : CIO_EREDIS_PROTO;
            break;
        }
    }
    lose(c, err ? err : CIO_EREDIS_CLOSED);
    return 0;
}

static int flush_cb(void *arg)
{
    cio_redis_conn *c = arg;
    c->flush_scheduled = 0;
    if (!c->outlen || !c->connected)
        return 0;
    int r = cio__redis_tr_write(c->tr, c->out, c->outlen);
    c->outlen = 0;
    if (c->outcap > ((size_t)1 << 20)) { /* do not keep a huge buffer */
        free(c->out);
        c->out = NULL;
        c->outcap = 0;
    }
    if (r < 0)
        lose(c, CIO_EREDIS_CLOSED);
    return 0;
}

static int append(cio_redis_conn *c, const char *buf, size_t len)
{
    if (c->outlen + len > c->outcap) {
        size_t cap = c->outcap ? c->outcap : 4096;
        while (cap < c->outlen + len)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            return -ENOMEM;
        c->out = p;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, buf, len);
    c->outlen += len;
    if (!c->flush_scheduled) {
        int r = cio_loop_call_soon(c->loop, flush_cb, c, &c->flush_h);
        if (r < 0) {
            c->outlen -= len;
            return r;
        }
        c->flush_scheduled = 1;
    }
    return 0;
}

int cio__redis_conn_command_n(cio_redis_conn *c, int argc,
                              const char *const *argv, const size_t *argvlen,
                              int nreplies, cio_redis_reply **reply)
{
    if (reply)
        *reply = NULL;
    if (!c || !cio_current_task() || cio_get_running_loop() != c->loop ||
        nreplies < 1)
        return -EINVAL;
    if (!c->connected)
        return c->err == CIO_EREDIS_PROTO ? CIO_EREDIS_PROTO
                                          : CIO_EREDIS_CLOSED;
    char *cmd;
    long len = cio__redis_format(&cmd, argc, argv, argvlen);
    if (len < 0)
        return (int)len;
    req *q = calloc(1, sizeof(*q));
    int r = q ? cio_future_new(c->loop, &q->fut) : -ENOMEM;
    if (r == 0)
        r = append(c, cmd, (size_t)len);
    cio__redis_cmd_free(cmd);
    if (r < 0) {
        if (q)
            cio_future_release(q->fut);
        free(q);
        return r;
    }
    q->nleft = nreplies;
    q->in_queue = 1;
    if (c->tail)
        c->tail->next = q;
    else
        c->head = q;
    c->tail = q;
    c->npending++;

    if (c->command_timeout > 0)
        r = cio_wait_for(CIO_AW_FUTURE(q->fut), c->command_timeout, NULL);
    else
        r = cio_await(q->fut, NULL);
    if (r < 0 && q->in_queue) {
        q->abandoned = 1; /* the reader frees it when its reply comes */
        return r;
    }
    if (r == 0) {
        r = q->err;
        if (reply) {
            *reply = q->reply;
            q->reply = NULL;
        }
    }
    req_free(q);
    return r;
}

CIO_API int cio_redis_conn_command(cio_redis_conn *c, int argc,
                                   const char *const *argv,
                                   const size_t *argvlen,
                                   cio_redis_reply **reply)
{
    return cio__redis_conn_command_n(c, argc, argv, argvlen, 1, reply);
}

static int handshake(cio_redis_conn *c, const cio_redis_opts *o)
{
    int r = 0;
    if (o->password) {
        const char *av[3] = {"AUTH", o->username, o->password};
        if (o->username)
            r = cio_redis_conn_command(c, 3, av, NULL, NULL);
        else {
            av[1] = o->password;
            r = cio_redis_conn_command(c, 2, av, NULL, NULL);
        }
        if (r < 0)
            return r;
    }
    if (o->db > 0) {
        char db[16];
        snprintf(db, sizeof(db), "%d", o->db);
        const char *av[2] = {"SELECT", db};
        if ((r = cio_redis_conn_command(c, 2, av, NULL, NULL)) < 0)
            return r;
    }
    if (o->client_name) {
        const char *av[3] = {"CLIENT", "SETNAME", o->client_name};
        if ((r = cio_redis_conn_command(c, 3, av, NULL, NULL)) < 0)
            return r;
    }
    return 0;
}

static void conn_destroy(cio_redis_conn *c)
{
    cio__redis_tr_free(c->tr);
    cio__redis_parser_free(c->parser);
    free(c->out);
    free(c->rbuf);
    free(c);
}

static int conn_open(const char *host, int port, const cio_redis_opts *o,
                     cio_redis_conn **out)
{
    cio_redis_conn *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->loop = cio_get_running_loop();
    c->command_timeout = o->command_timeout;
    c->rbuf = malloc(READ_SIZE);
    int r = c->rbuf ? cio__redis_parser_new(&c->parser, o->max_reply) : -ENOMEM;
    if (r == 0)
        r = cio__redis_tr_open(host, port, o->tls, o->tls_server_name,
                               &c->tr);
    if (r == 0) {
        c->connected = 1;
        cio_task_opts to = CIO_TASK_OPTS_INIT;
        to.name = "redis-reader";
        to.stack_size = 64 * 1024;
        r = cio_task_create(c->loop, CIO_CORO(reader_main, c), &to, &c->reader);
        if (r < 0)
            c->connected = 0;
    }
    if (r == 0) {
        /* The handshake runs without the per-command timeout (the
         * connect timeout covers it). */
        int64_t ct = c->command_timeout;
        c->command_timeout = 0;
        r = handshake(c, o);
        c->command_timeout = ct;
        if (r < 0) {
            cio_redis_conn_close(c);
            return r;
        }
    }
    if (r < 0) {
        conn_destroy(c);
        return r;
    }
    *out = c;
    return 0;
}

CIO_API int cio_redis_conn_open(const char *host, int port,
                                const cio_redis_opts *opts,
                                cio_redis_conn **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!host || !cio_current_task())
        return -EINVAL;
    cio_redis_opts o = CIO_REDIS_OPTS_INIT;
    if (opts)
        o = *opts;
    int64_t ct = o.connect_timeout ? o.connect_timeout : 5 * CIO_SEC;
    if (ct < 0)
        return conn_open(host, port, &o, out);
    cio_timeout scope;
    int r = cio_timeout_begin(&scope, ct);
    if (r < 0)
        return r;
    cio_redis_conn *c = NULL;
    r = conn_open(host, port, &o, &c);
    r = cio_timeout_end(&scope, r);
    if (r < 0) {
        /* Opened just as the scope expired: do not leak it. */
        if (c)
            cio_redis_conn_close(c);
        return r;
    }
    *out = c;
    return 0;
}

CIO_API int cio_redis_conn_is_connected(const cio_redis_conn *c)
{
    return c && c->connected;
}

CIO_API size_t cio_redis_conn_pending(const cio_redis_conn *c)
{
    return c ? c->npending : 0;
}

void cio__redis_conn_set_push(cio_redis_conn *c, cio__redis_push_cb cb,
                              void *arg)
{
    c->push = cb;
    c->push_arg = arg;
}

void cio__redis_conn_set_lost(cio_redis_conn *c, cio__redis_lost_cb cb,
                              void *arg)
{
    c->lost = cb;
    c->lost_arg = arg;
}

CIO_API int cio_redis_conn_close(cio_redis_conn *c)
{
    if (!c)
        return 0;
    if (!cio_current_task() || cio_get_running_loop() != c->loop)
        return -EINVAL;
    /* Flush what was queued (QUIT-less close: the server sees EOF). */
    c->lost = NULL;
    lose(c, CIO_EREDIS_CLOSED);
    if (c->reader) {
        cio_task_cancel(c->reader, NULL);
        /* Wait for it even if we are cancelled meanwhile: it refers to c. */
        while (!cio_future_done(c->reader)) {
            cio_future *sh = NULL;
            if (cio_shield(c->reader, &sh) < 0) {
                cio_sleep(0);
                continue;
            }
            cio_await(sh, NULL);
            cio_future_release(sh);
        }
        cio_future_release(c->reader);
    }
    /* Requests abandoned by cancelled callers were freed by lose(). */
    conn_destroy(c);
    return 0;
}
