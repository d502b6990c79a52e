/*
 * pubsub.c - subscribers. A subscriber owns its connection (a connection
 * in subscribed mode cannot run other commands). The connection's push
 * hook takes "message" and "pmessage" arrays and queues them; the
 * (un)subscribe confirmations still go to the requests that asked for
 * them (one per channel), so subscribe returns once the server confirmed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

struct cio_redis_pubsub {
    cio_redis_conn *c;
    cio_queue *q;
    cio_redis_reply *cur;
    int err;
};

static int is_str(const cio_redis_reply *r, const char *s)
{
    size_t n = strlen(s);
    return r && r->type == CIO_REDIS_REPLY_STRING && r->len == n &&
           memcmp(r->str, s, n) == 0;
}

static int push_cb(cio_redis_reply *r, void *arg)
{
    cio_redis_pubsub *ps = arg;
    if (r->type != CIO_REDIS_REPLY_ARRAY || r->len < 3)
        return 0;
    const cio_redis_reply *k = r->element[0];
    int msg = r->len == 3 && is_str(k, "message");
    int pmsg = r->len == 4 && is_str(k, "pmessage");
    if (!msg && !pmsg)
        return 0;
    for (size_t i = 1; i < r->len; i++)
        if (!r->element[i] || r->element[i]->type != CIO_REDIS_REPLY_STRING)
            return 0;
    if (cio_queue_put_nowait(ps->q, r) < 0)
        cio_redis_reply_free(r); /* out of memory: the message is lost */
    return 1;
}

static void lost_cb(int err, void *arg)
{
    cio_redis_pubsub *ps = arg;
    if (!ps->err)
        ps->err = err;
    cio_queue_shutdown(ps->q, 0);
}

static void item_free(void *item)
{
    cio_redis_reply_free(item);
}

CIO_API int cio_redis_pubsub_open(const char *host, int port,
                                  const cio_redis_opts *opts,
                                  cio_redis_pubsub **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    cio_redis_pubsub *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return -ENOMEM;
    cio_queue_opts qo = CIO_QUEUE_OPTS_INIT;
    qo.item_dtor = item_free;
    int r = cio_queue_new(&ps->q, cio_get_running_loop(), 0, &qo);
    if (r == 0)
        r = cio_redis_conn_open(host, port, opts, &ps->c);
    if (r < 0) {
        cio_queue_free(ps->q);
        free(ps);
        return r;
    }
    cio__redis_conn_set_push(ps->c, push_cb, ps);
    cio__redis_conn_set_lost(ps->c, lost_cb, ps);
    *out = ps;
    return 0;
}

static int sub(cio_redis_pubsub *ps, const char *verb,
               const char *const *channels, int n)
{
    if (!ps || n <= 0 || !channels || n > 1000000)
        return -EINVAL;
    const char **av = malloc(sizeof(*av) * (size_t)(n + 1));
    if (!av)
        return -ENOMEM;
    av[0] = verb;
    memcpy(av + 1, channels, sizeof(*av) * (size_t)n);
    int r = cio__redis_conn_command_n(ps->c, n + 1, av, NULL, n, NULL);
    free(av);
    return r;
}

CIO_API int cio_redis_pubsub_subscribe(cio_redis_pubsub *ps, int pattern,
                                       const char *const *channels, int n)
{
    return sub(ps, pattern ? "PSUBSCRIBE" : "SUBSCRIBE", channels, n);
}

CIO_API int cio_redis_pubsub_unsubscribe(cio_redis_pubsub *ps, int pattern,
                                         const char *const *channels, int n)
{
    return sub(ps, pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", channels, n);
}

CIO_API int cio_redis_pubsub_next(cio_redis_pubsub *ps, cio_redis_msg *msg)
{
    if (!ps || !msg)
        return -EINVAL;
    cio_redis_reply_free(ps->cur);
    ps->cur = NULL;
    void *item;
    int r = cio_queue_get(ps->q, &item);
    if (r == -ESHUTDOWN)
        return ps->err == CIO_EREDIS_PROTO ? CIO_EREDIS_PROTO
                                           : CIO_EREDIS_CLOSED;
    if (r < 0)
        return r;
    cio_redis_reply *m = item;
    ps->cur = m;
    size_t i = 1;
    memset(msg, 0, sizeof(*msg));
    if (m->len == 4) {
        msg->pattern = m->element[1]->str;
        msg->pattern_len = m->element[1]->len;
        i = 2;
    }
    msg->channel = m->element[i]->str;
    msg->channel_len = m->element[i]->len;
    msg->data = m->element[i + 1]->str;
    msg->data_len = m->element[i + 1]->len;
    return 1;
}

CIO_API int cio_redis_pubsub_close(cio_redis_pubsub *ps)
{
    if (!ps)
        return 0;
    cio__redis_conn_set_lost(ps->c, NULL, NULL);
    int r = cio_redis_conn_close(ps->c);
    if (r < 0)
        return r;
    cio_redis_reply_free(ps->cur);
    cio_queue_shutdown(ps->q, 1);
    cio_queue_free(ps->q);
    free(ps);
    return 0;
}
