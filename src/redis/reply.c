/*
 * reply.c - replies, the RESP parser glue and the error table.
 *
 * Parsing is hiredis's reader (redisReaderFeed / redisReaderGetReply)
 * with our own object functions, so a reply is built once, directly as
 * the tree the caller walks (cio_redis_reply_*), and nothing is copied
 * again afterwards. Our functions also close holes a hostile server could
 * use against hiredis 0.14's defaults: an array header ("*100000000")
 * does not allocate its element table up front (the table grows as
 * elements arrive), and a reply whose bytes (parsed or not) pass
 * max_reply is refused, so memory is bounded by the bytes the peer
 * really sent, and by max_reply for any one reply. A string node and
 * its bytes are one allocation.
 *
 * Pure: no I/O and no loop (tests/redis/fuzz_reply.c replays a corpus
 * through it). hiredis 0.14 knows RESP2 only: no RESP3 types.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include "redis_int.h"

/* ---------------------------------------------------------------------
 * Reply objects
 * ------------------------------------------------------------------- */

typedef struct node {
    cio_redis_reply r;
    size_t cap; /* element slots allocated (arrays) */
} node;

static int attach(const redisReadTask *task, node *n)
{
    if (!task->parent)
        return 0;
    node *p = task->parent->obj;
    size_t idx = (size_t)task->idx;
    if (idx >= p->r.len)
        return -1;
    if (idx >= p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        while (cap <= idx)
            cap *= 2;
        if (cap > p->r.len)
            cap = p->r.len;
        cio_redis_reply **e = realloc(p->r.element, cap * sizeof(*e));
        if (!e)
            return -1;
        memset(e + p->cap, 0, (cap - p->cap) * sizeof(*e));
        p->r.element = e;
        p->cap = cap;
    }
    p->r.element[idx] = &n->r;
    return 0;
}

static void node_free(void *obj);

static void *finish(const redisReadTask *task, node *n)
{
    if (!n)
        return NULL;
    if (attach(task, n) < 0) {
        node_free(n);
        return NULL;
    }
    return n;
}

static void *create_string(const redisReadTask *task, char *s, size_t len)
{
    if (len > SIZE_MAX - sizeof(node) - 1)
        return NULL;
    node *n = malloc(sizeof(node) + len + 1);
    if (!n)
        return NULL;
    memset(n, 0, sizeof(*n));
    n->r.type = task->type;
    n->r.str = (char *)(n + 1);
    memcpy(n->r.str, s, len);
    n->r.str[len] = '\0';
    n->r.len = len;
    return finish(task, n);
}

static void *create_array(const redisReadTask *task, int elements)
{
    node *n = calloc(1, sizeof(node));
    if (!n)
        return NULL;
    n->r.type = CIO_REDIS_REPLY_ARRAY;
    n->r.len = elements > 0 ? (size_t)elements : 0;
    return finish(task, n);
}

static void *create_integer(const redisReadTask *task, long long v)
{
    node *n = calloc(1, sizeof(node));
    if (!n)
        return NULL;
    n->r.type = CIO_REDIS_REPLY_INTEGER;
    n->r.integer = v;
    return finish(task, n);
}

static void *create_nil(const redisReadTask *task)
{
    node *n = calloc(1, sizeof(node));
    if (!n)
        return NULL;
    n->r.type = CIO_REDIS_REPLY_NIL;
    return finish(task, n);
}

static void node_free(void *obj)
{
    node *n = obj;
    if (!n)
        return;
    if (n->r.type == CIO_REDIS_REPLY_ARRAY && n->r.element) {
        for (size_t i = 0; i < n->cap; i++)
            node_free(n->r.element[i]);
        free(n->r.element);
    }
    free(n);
}

static redisReplyObjectFunctions fns = {
    create_string, create_array, create_integer, create_nil, node_free,
};

CIO_API void cio_redis_reply_free(cio_redis_reply *r)
{
    node_free(r);
}

CIO_API int cio_redis_reply_type_of(const cio_redis_reply *r)
{
    return r ? r->type : -EINVAL;
}

CIO_API const char *cio_redis_reply_str(const cio_redis_reply *r, size_t *len)
{
    if (!r || (r->type != CIO_REDIS_REPLY_STRING &&
               r->type != CIO_REDIS_REPLY_STATUS &&
               r->type != CIO_REDIS_REPLY_ERROR)) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = r->len;
    return r->str;
}

CIO_API long long cio_redis_reply_integer(const cio_redis_reply *r)
{
    return r && r->type == CIO_REDIS_REPLY_INTEGER ? r->integer : 0;
}

CIO_API size_t cio_redis_reply_len(const cio_redis_reply *r)
{
    return r && r->type == CIO_REDIS_REPLY_ARRAY ? r->len : 0;
}

CIO_API const cio_redis_reply *cio_redis_reply_at(const cio_redis_reply *r,
                                                  size_t i)
{
    if (!r || r->type != CIO_REDIS_REPLY_ARRAY || i >= r->len || !r->element)
        return NULL;
    return r->element[i];
}

/* ---------------------------------------------------------------------
 * Parser
 * ------------------------------------------------------------------- */

struct cio__redis_parser {
    redisReader *rd;
    size_t max;
    /* Bytes fed so far, and where the reply being parsed began in that
     * count: hiredis drops the bytes it has turned into elements while a
     * long array is still arriving, so its unparsed input alone does not
     * bound a reply (an array of a million ":1" elements sent in small
     * pieces would grow the tree without limit). */
    unsigned long long fed, start;
    int broken;
    char err[128];
};

int cio__redis_parser_new(cio__redis_parser **out, size_t max_reply)
{
    *out = NULL;
    cio__redis_parser *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->rd = redisReaderCreateWithFunctions(&fns);
    if (!p->rd) {
        free(p);
        return -ENOMEM;
    }
    /* Keep a 64 KiB buffer between replies instead of hiredis's 16 KiB:
     * pipelined replies then reuse it. */
    p->rd->maxbuf = 64 * 1024;
    p->max = max_reply ? max_reply : ((size_t)1 << 30);
    *out = p;
    return 0;
}

void cio__redis_parser_free(cio__redis_parser *p)
{
    if (!p)
        return;
    redisReaderFree(p->rd);
    free(p);
}

static int fail(cio__redis_parser *p, const char *why)
{
    p->broken = 1;
    snprintf(p->err, sizeof(p->err), "%s", why);
    return CIO_EREDIS_PROTO;
}

int cio__redis_parser_feed(cio__redis_parser *p, const char *buf, size_t len)
{
    if (p->broken)
        return CIO_EREDIS_PROTO;
    if (p->rd->len - p->rd->pos + len > p->max)
        return fail(p, "reply larger than max_reply");
    if (redisReaderFeed(p->rd, buf, len) != REDIS_OK)
        return p->rd->err == REDIS_ERR_OOM ? -ENOMEM : fail(p, p->rd->errstr);
    p->fed += len;
    return 0;
}

int cio__redis_parser_next(cio__redis_parser *p, cio_redis_reply **out)
{
    *out = NULL;
    if (p->broken)
        return CIO_EREDIS_PROTO;
    void *obj = NULL;
    if (redisReaderGetReply(p->rd, &obj) != REDIS_OK) {
        int oom = p->rd->err == REDIS_ERR_OOM;
        fail(p, p->rd->errstr[0] ? p->rd->errstr : "protocol error");
        /* hiredis cannot resume after OOM either; the connection goes. */
        return oom ? -ENOMEM : CIO_EREDIS_PROTO;
    }
    if (!obj) {
        /* Incomplete: its bytes so far, parsed or still buffered. */
        if (p->fed - p->start > p->max)
            return fail(p, "reply larger than max_reply");
        return 0;
    }
    /* The next reply begins where this one ended: after what was fed,
     * less what hiredis still holds unparsed. */
    p->start = p->fed - (p->rd->len - p->rd->pos);
    *out = obj;
    return 1;
}

const char *cio__redis_parser_error(const cio__redis_parser *p)
{
    return p->err[0] ? p->err : NULL;
}

long cio__redis_format(char **out, int argc, const char *const *argv,
                       const size_t *argvlen)
{
    *out = NULL;
    if (argc <= 0 || !argv)
        return -EINVAL;
    for (int i = 0; i < argc; i++)
        if (!argv[i])
            return -EINVAL;
    int n = redisFormatCommandArgv(out, argc, (const char **)argv, argvlen);
    if (n < 0) {
        *out = NULL;
        return -ENOMEM;
    }
    return n;
}

void cio__redis_cmd_free(char *cmd)
{
    redisFreeCommand(cmd);
}

/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------- */

/* Error replies by their first word; the texts are cio_strerror's
 * (src/core/error.c, the one table). */
static const struct {
    const char *prefix;
    int code;
} errs[] = {
    {"ERR", CIO_EREDIS_ERR},
    {"WRONGTYPE", CIO_EREDIS_WRONGTYPE},
    {"NOAUTH", CIO_EREDIS_NOAUTH},
    {"WRONGPASS", CIO_EREDIS_WRONGPASS},
    {"BUSYGROUP", CIO_EREDIS_BUSYGROUP},
    {"NOGROUP", CIO_EREDIS_NOGROUP},
    {"LOADING", CIO_EREDIS_LOADING},
    {"READONLY", CIO_EREDIS_READONLY},
    {"NOSCRIPT", CIO_EREDIS_NOSCRIPT},
};

CIO_API int cio_redis_error_code(const char *msg, size_t len)
{
    if (!msg)
        return CIO_EREDIS;
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        size_t pl = strlen(errs[i].prefix);
        if (len >= pl && memcmp(msg, errs[i].prefix, pl) == 0 &&
            (len == pl || msg[pl] == ' '))
            return errs[i].code;
    }
    return CIO_EREDIS;
}

