/*
 * redis_int.h - what the files of src/redis share (never installed).
 *
 * reply.c      the reply tree and the hiredis reader glue (pure: no I/O,
 *              no loop; fuzzed by tests/redis/fuzz_reply.c)
 * transport.c  the only file that knows how bytes reach the server (cio
 *              streams today; the byte-stream seam of src/net later)
 * conn.c       one pipelined connection: writer batching, reader task,
 *              replies matched to requests in order
 * client.c     the pool, reconnect with back-off, blocking connections
 * pubsub.c     subscribers;  sync.c  the blocking convenience
 */
#ifndef CIO_REDIS_INT_H
#define CIO_REDIS_INT_H

#include <stddef.h>

#include "cio/redis.h"

struct cio_redis_reply {
    int type;
    long long integer;
    size_t len; /* bytes of str, or elements */
    char *str;  /* inside the same allocation */
    cio_redis_reply **element;
};

/* ---- reply.c: the parser ------------------------------------------------
 * A hiredis reader whose objects are cio_redis_reply trees, with limits
 * hiredis itself lacks: an array's element table grows as elements
 * arrive, and the bytes of one reply (parsed or still buffered) are
 * bounded by max_reply, so a hostile peer cannot make it allocate without
 * sending the bytes, nor grow one reply without limit. */
typedef struct cio__redis_parser cio__redis_parser;

int cio__redis_parser_new(cio__redis_parser **out, size_t max_reply);
void cio__redis_parser_free(cio__redis_parser *p);
/* Appends bytes. Returns: 0. Errors: CIO_EREDIS_PROTO (the input is over
 * the limit), -ENOMEM. */
int cio__redis_parser_feed(cio__redis_parser *p, const char *buf, size_t len);
/* Returns: 1 and *out (a reply the caller takes), 0 if more input is
 * needed. Errors: CIO_EREDIS_PROTO (the parser is then unusable;
 * cio__redis_parser_error says why), -ENOMEM. */
int cio__redis_parser_next(cio__redis_parser *p, cio_redis_reply **out);
const char *cio__redis_parser_error(const cio__redis_parser *p);

/* Formats argv as a RESP command into a malloc'ed buffer (*out, free with
 * cio__redis_cmd_free). Returns: the length. Errors: -EINVAL, -ENOMEM. */
long cio__redis_format(char **out, int argc, const char *const *argv,
                       const size_t *argvlen);
void cio__redis_cmd_free(char *cmd);

/* ---- transport.c --------------------------------------------------------
 * The one place that knows the byte stream under a connection. */
typedef struct cio__redis_tr cio__redis_tr;
/* Suspends. */
int cio__redis_tr_open(const char *host, int port, cio_tls_ctx *tls,
                       const char *server_name, cio__redis_tr **out);
/* Reads at most n bytes. Returns: > 0, 0 at EOF. Errors: -errno,
 * -ECANCELED. Suspends. */
long cio__redis_tr_read(cio__redis_tr *t, void *buf, size_t n);
/* Writes (never suspends; the rest is buffered and flushed by the loop).
 * Returns: 0. Errors: -errno. */
int cio__redis_tr_write(cio__redis_tr *t, const void *buf, size_t n);
/* Shuts the connection down; a reader blocked in tr_read sees EOF. */
void cio__redis_tr_shutdown(cio__redis_tr *t);
/* Frees (no reader may be active). */
void cio__redis_tr_free(cio__redis_tr *t);

/* ---- conn.c -------------------------------------------------------------
 * Push handling for pub/sub: when set, replies that are messages go to
 * on_push instead of a request (which takes the reply). Returns 1 if it
 * took the reply. */
typedef int (*cio__redis_push_cb)(cio_redis_reply *r, void *arg);
void cio__redis_conn_set_push(cio_redis_conn *c, cio__redis_push_cb cb,
                              void *arg);
/* Like cio_redis_conn_command, expecting nreplies replies (the last one is
 * returned; SUBSCRIBE a b c answers three times). */
int cio__redis_conn_command_n(cio_redis_conn *c, int argc,
                              const char *const *argv, const size_t *argvlen,
                              int nreplies, cio_redis_reply **reply);
/* Called when the connection ends (err: its cause), from the reader. */
typedef void (*cio__redis_lost_cb)(int err, void *arg);
void cio__redis_conn_set_lost(cio_redis_conn *c, cio__redis_lost_cb cb,
                              void *arg);
/* Aborts the connection now (no suspension): in-flight commands fail with
 * CIO_EREDIS_CLOSED. */
void cio__redis_conn_abort(cio_redis_conn *c);

#endif
