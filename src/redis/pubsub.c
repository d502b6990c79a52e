/*
 * pubsub.c - subscribers. A subscriber owns its connection (a connection
 * in subscribed mode cannot run other commands). The connection's push
 * hook takes "message" and "pmessage" arrays and queues them; the
 * (un)subscribe confirmations still go to the requests that asked for
 * them (one per channel), so subscribe returns once the server confirmed.
 *
 * Reconnect (cio_redis_pubsub_set_reconnect): the subscriber remembers
 * its channels and patterns (confirmed subscriptions, minus confirmed
 * unsubscriptions). When the connection is lost, the lost hook queues a
 * marker behind the messages already received; the task that takes the
 * marker out of the iterator reopens the connection with exponential
 * back-off and subscribes again to everything remembered, then goes on
 * waiting. Messages published while no connection existed are lost (pub/
 * sub is at most once in Redis itself).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "redis_int.h"

typedef struct names {
    char **v;
    size_t n, cap;
} names;

struct cio_redis_pubsub {
    cio_redis_conn *c; /* NULL while down (reconnect mode) */
    cio_queue *q;
    cio_redis_reply *cur;
    int err;
    /* reconnect */
    int reconnect;
    unsigned long reconnects;
    char *host;
    int port;
    cio_redis_opts o;
    char *user, *pass, *name, *sni;
    names subs[2]; /* [0] channels, [1] patterns */
};

/* The marker the lost hook queues (never freed, never handed out). */
static cio_redis_reply lost_marker;

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
    ps->err = err;
    if (ps->reconnect && cio_queue_put_nowait(ps->q, &lost_marker) == 0)
        return;
    cio_queue_shutdown(ps->q, 0);
}

static void item_free(void *item)
{
    if (item != &lost_marker)
        cio_redis_reply_free(item);
}

static void names_clear(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

static long names_find(const names *s, const char *x)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0)
            return (long)i;
    return -1;
}

static int names_add(names *s, const char *x)
{
    if (names_find(s, x) >= 0)
        return 0;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(x)))
        return -ENOMEM;
    s->n++;
    return 0;
}

static void names_del(names *s, const char *x)
{
    long i = names_find(s, x);
    if (i < 0)
        return;
    free(s->v[i]);
    s->v[i] = s->v[--s->n];
}

static void ps_destroy(cio_redis_pubsub *ps)
{
    cio_redis_reply_free(ps->cur);
    if (ps->q) {
        cio_queue_shutdown(ps->q, 1);
        cio_queue_free(ps->q);
    }
    names_clear(&ps->subs[0]);
    names_clear(&ps->subs[1]);
    free(ps->host);
    free(ps->user);
    free(ps->pass);
    free(ps->name);
    free(ps->sni);
    cio_tls_ctx_free(ps->o.tls);
    free(ps);
}

static char *dup_opt(const char *s, int *bad)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *bad = 1;
    return d;
}

CIO_API int cio_redis_pubsub_open(const char *host, int port,
                                  const cio_redis_opts *opts,
                                  cio_redis_pubsub **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!host)
        return -EINVAL;
    cio_redis_pubsub *ps = calloc(1, sizeof(*ps));
    if (!ps)
        return -ENOMEM;
    /* Kept for reconnecting: the options and copies of their strings. */
    cio_redis_opts d = CIO_REDIS_OPTS_INIT;
    ps->o = opts ? *opts : d;
    int bad = 0;
    ps->host = dup_opt(host, &bad);
    ps->user = dup_opt(ps->o.username, &bad);
    ps->pass = dup_opt(ps->o.password, &bad);
    ps->name = dup_opt(ps->o.client_name, &bad);
    ps->sni = dup_opt(ps->o.tls_server_name, &bad);
    ps->o.tls = cio_tls_ctx_ref(ps->o.tls);
    ps->o.tls_server_name = ps->sni;
    ps->o.username = ps->user;
    ps->o.password = ps->pass;
    ps->o.client_name = ps->name;
    ps->port = port;
    cio_queue_opts qo = CIO_QUEUE_OPTS_INIT;
    qo.item_dtor = item_free;
    int r = bad ? -ENOMEM : cio_queue_new(&ps->q, cio_get_running_loop(), 0, &qo);
    if (r == 0)
        r = cio_redis_conn_open(host, port, &ps->o, &ps->c);
    if (r < 0) {
        ps_destroy(ps);
        return r;
    }
    cio__redis_conn_set_push(ps->c, push_cb, ps);
    cio__redis_conn_set_lost(ps->c, lost_cb, ps);
    *out = ps;
    return 0;
}

CIO_API int cio_redis_pubsub_set_reconnect(cio_redis_pubsub *ps, int on)
{
    if (!ps)
        return -EINVAL;
    ps->reconnect = on != 0;
    return 0;
}

CIO_API unsigned long cio_redis_pubsub_reconnects(const cio_redis_pubsub *ps)
{
    return ps ? ps->reconnects : 0;
}

static int sub(cio_redis_pubsub *ps, const char *verb, int pattern, int add,
               const char *const *channels, int n)
{
    if (!ps || n < 0 || (n > 0 && !channels) || n > 1000000 || (add && !n))
        return -EINVAL;
    if (!ps->c)
        return ps->err ? ps->err : CIO_EREDIS_CLOSED;
    const char **av = malloc(sizeof(*av) * (size_t)(n + 1));
    if (!av)
        return -ENOMEM;
    av[0] = verb;
    if (n)
        memcpy(av + 1, channels, sizeof(*av) * (size_t)n);
    /* UNSUBSCRIBE with no channel is answered once per subscription (or
     * once when there is none). */
    int nrep = n;
    if (!n) {
        nrep = (int)ps->subs[pattern].n;
        if (!nrep)
            nrep = 1;
    }
    int r = cio__redis_conn_command_n(ps->c, n + 1, av, NULL, nrep, NULL);
    free(av);
    if (r < 0)
        return r;
    if (!n) {
        names_clear(&ps->subs[pattern]);
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (!add)
            names_del(&ps->subs[pattern], channels[i]);
        else if (names_add(&ps->subs[pattern], channels[i]) < 0)
            return -ENOMEM;
    }
    return 0;
}

CIO_API int cio_redis_pubsub_subscribe(cio_redis_pubsub *ps, int pattern,
                                       const char *const *channels, int n)
{
    if (n <= 0)
        return -EINVAL;
    return sub(ps, pattern ? "PSUBSCRIBE" : "SUBSCRIBE", pattern != 0, 1,
               channels, n);
}

CIO_API int cio_redis_pubsub_unsubscribe(cio_redis_pubsub *ps, int pattern,
                                         const char *const *channels, int n)
{
    return sub(ps, pattern ? "PUNSUBSCRIBE" : "UNSUBSCRIBE", pattern != 0, 0,
               channels, n);
}

/* One attempt: a new connection subscribed again to everything
 * remembered. Suspends. */
static int reopen(cio_redis_pubsub *ps)
{
    cio_redis_conn *c;
    int r = cio_redis_conn_open(ps->host, ps->port, &ps->o, &c);
    if (r < 0)
        return r;
    cio__redis_conn_set_push(c, push_cb, ps);
    for (int p = 0; p < 2 && r == 0; p++) {
        names *s = &ps->subs[p];
        if (!s->n)
            continue;
        const char **av = malloc(sizeof(*av) * (s->n + 1));
        if (!av) {
            r = -ENOMEM;
            break;
        }
        av[0] = p ? "PSUBSCRIBE" : "SUBSCRIBE";
        memcpy(av + 1, s->v, sizeof(*av) * s->n);
        r = cio__redis_conn_command_n(c, (int)s->n + 1, av, NULL, (int)s->n,
                                      NULL);
        free(av);
    }
    if (r < 0) {
        cio_redis_conn_close(c);
        return r;
    }
    cio__redis_conn_set_lost(c, lost_cb, ps);
    ps->c = c;
    ps->err = 0;
    ps->reconnects++;
    return 0;
}

/* The connection is down: close what is left of it, then up to
 * max_retries attempts with doubling back-off. Suspends. */
static int repair(cio_redis_pubsub *ps)
{
    if (ps->c) {
        cio_redis_conn *old = ps->c;
        ps->c = NULL;
        cio__redis_conn_set_lost(old, NULL, NULL);
        cio_redis_conn_close(old);
    }
    int64_t d = ps->o.backoff_min > 0 ? ps->o.backoff_min : 10 * CIO_MS;
    int64_t cap = ps->o.backoff_max > 0 ? ps->o.backoff_max : CIO_SEC;
    unsigned tries = ps->o.max_retries ? ps->o.max_retries : 5;
    int r = CIO_EREDIS_CLOSED;
    for (unsigned i = 0; i < tries; i++) {
        if (cio_sleep(d) < 0)
            return -ECANCELED;
        r = reopen(ps);
        if (r == 0 || r == -ECANCELED)
            return r;
        d = d * 2 > cap ? cap : d * 2;
    }
    ps->err = r;
    return r;
}

CIO_API int cio_redis_pubsub_next(cio_redis_pubsub *ps, cio_redis_msg *msg)
{
    if (!ps || !msg)
        return -EINVAL;
    cio_redis_reply_free(ps->cur);
    ps->cur = NULL;
    void *item;
    for (;;) {
        if (ps->reconnect && !ps->c) {
            int r = repair(ps);
            if (r < 0)
                return r == -ECANCELED ? r : CIO_EREDIS_CLOSED;
        }
        int r = cio_queue_get(ps->q, &item);
        if (r == -ESHUTDOWN)
            return ps->err == CIO_EREDIS_PROTO ? CIO_EREDIS_PROTO
                                               : CIO_EREDIS_CLOSED;
        if (r < 0)
            return r;
        if (item != &lost_marker)
            break;
        if (!ps->reconnect) /* turned off after the loss */
            return ps->err == CIO_EREDIS_PROTO ? CIO_EREDIS_PROTO
                                               : CIO_EREDIS_CLOSED;
        int e = repair(ps);
        if (e < 0)
            return e == -ECANCELED ? e : CIO_EREDIS_CLOSED;
    }
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
    if (ps->c) {
        cio__redis_conn_set_lost(ps->c, NULL, NULL);
        int r = cio_redis_conn_close(ps->c);
        if (r < 0)
            return r;
        ps->c = NULL;
    }
    ps_destroy(ps);
    return 0;
}
