/*
 * http_int.h - cio::http's private structures, shared by app.c, server.c,
 * request.c and response.c.
 */
#ifndef CIO_HTTP_INT_H
#define CIO_HTTP_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cio/http.h"
#include "cio/http2.h"
#include "io.h"
#include "parse.h"
#include "router.h"

typedef struct mw {
    cio_http_middleware fn;
    void *arg;
} mw;

typedef struct mw_list {
    mw *v;
    size_t n;
} mw_list;

int cio__mw_add(mw_list *l, cio_http_middleware fn, void *arg);

typedef struct bp_route {
    char *pattern;
    cio_http_handler fn;
    void *arg;
    unsigned methods;
} bp_route;

struct cio_http_blueprint {
    char *name;
    char *prefix;
    bp_route *routes;
    size_t nroutes;
    mw_list mw[2]; /* request, response */
    struct err_handler *errh; /* NULL, or CIO__ERRH_N: per status, catch-all */
    int registered;
    struct cio_http_app *app; /* once registered */
    struct cio_http_blueprint *next; /* the app's list, for freeing */
};

typedef struct route_target {
    cio_http_handler fn;
    void *arg;
    struct cio_http_blueprint *bp; /* NULL: an app route */
    int stream; /* CIO_HTTP_STREAM: the handler reads the body */
    struct route_target *next; /* the app's list, for freeing */
} route_target;

typedef struct err_handler {
    cio_http_handler fn;
    void *arg;
} err_handler;

/* Error handler tables: one entry per status 400..599, then the
 * catch-all (status 0). */
#define CIO__ERRH_N 201
#define CIO__ERRH_ANY 200

struct cio_http_app {
    char *name;
    cio__router *router;
    route_target *targets;
    cio_http_config cfg;
    cio__http_limits lim;
    char err[256];
    mw_list mw[2];        /* request, response middleware */
    struct cio_http_blueprint *bps;
    err_handler *errh;    /* NULL, or CIO__ERRH_N entries (app.c) */
    int has_errh;         /* the app or a blueprint has error handlers */
    struct static_dir **statics; /* cio_http_app_static's directories */
    size_t nstatics;
    struct { cio_http_listener fn; void *arg; } *listeners[4];
    size_t nlisteners[4];
    void (*on_start)(cio_http_app *, int, void *);
    void *on_start_arg;
    int has_stream;       /* some route has CIO_HTTP_STREAM */
    struct cio__alog *alog; /* accesslog.c: NULL when off */
    atomic_int running;   /* servers running it */
    atomic_int stop;      /* cio_http_run: stop requested */
    atomic_int port;      /* cio_http_run: the port, once listening */
    pthread_t run_thread; /* the thread blocked in cio_http_run */
    struct ws_route *ws_routes; /* cio_http_websocket's, freed with the app */
    cio_http2_config h2;  /* cio_http_app_http2 (h2.c) */
    int h2_on;            /* HTTP/2 enabled */
    cio_tls_ctx *tls;     /* cio_http_app_tls: HTTPS (https.c); a reference */
};

/* A growable byte buffer. */
typedef struct hbuf {
    char *p;
    size_t len, cap;
} hbuf;

int cio__hbuf_reserve(hbuf *b, size_t extra);
int cio__hbuf_append(hbuf *b, const void *data, size_t n);
void cio__hbuf_free(hbuf *b);

/* Bump allocator for decoded strings of one request: a fixed first block,
 * then malloc'd overflow blocks freed at reset (pointers never move). */
typedef struct arena_block {
    struct arena_block *next;
    size_t used, cap;
    char data[];
} arena_block;

typedef struct arena {
    char first[4096];
    size_t used;
    arena_block *more;
} arena;

char *cio__arena_alloc(arena *a, size_t n);
void cio__arena_reset(arena *a);

#define CIO__HTTP_MAX_HEADERS_CAP 256

struct cio_http_response {
    int status;
    int set;           /* a body call was made */
    const char *ctype; /* static, or ctype_buf */
    size_t ctype_len;  /* strlen(ctype) when known, else 0 */
    char ctype_buf[64]; /* a caller's short content type (response_raw) */
    hbuf body;
    hbuf hdrs; /* "Name: value\r\n"... */
    int has_file; /* the body is file_len bytes of file_fd at file_off */
    int file_fd;
    uint64_t file_off, file_len;
    struct conn *conn; /* the connection answering (for streaming) */
    int streaming;     /* cio_http_response_stream sent the head */
    int stream_err;    /* a streamed write failed: close, no last chunk */
    uint64_t streamed; /* payload bytes streamed so far */
};

struct cio_http_request {
    struct conn *conn;
    cio__http_msg msg;
    const char *path;
    size_t path_len;
    const char *query;
    size_t query_len;
    const char *body;
    size_t body_len;
    cio__route_match match;
    struct cJSON *json;
    int json_done;
    void *ctx;
    cio_sockaddr peer;
    struct cio__sform *sform; /* form_stream.c: a form read as it came */
};

typedef struct conn {
    struct cio_http_server *srv;
    cio_http_app *app;
    cio__http_io io;
    cio_task *task;
    struct conn *prev, *next;
    hbuf in;         /* received bytes */
    size_t in_start; /* start of the next message in `in` */
    hbuf out;        /* serialised responses not yet written */
    arena arena;
    cio__http_header hdrs[CIO__HTTP_MAX_HEADERS_CAP];
    cio_http_request req;
    cio_http_response res;
    int idle;      /* waiting for a new request (a graceful close ends it) */
    int head_only; /* the request being answered is a HEAD */
    int *keep_alive; /* dispatch's keep-alive decision (streaming may clear) */
    int cancelled; /* cancelled by the server's close */
    /* The read deadline (server.c read_more): one lazily re-armed timer per
     * connection instead of a timeout scope per read. */
    int64_t deadline;  /* of the current or last read */
    int64_t timer_at;  /* when the timer fires; 0: not armed */
    cio_handle timer;
    uint8_t in_read;   /* parked in read_more's read */
    uint8_t timed_out; /* the timer cancelled that read */
    uint8_t exact_clock; /* deadlines from cio_loop_time (server.c) */
    int routed;        /* req->path/query/match set before the body */
    int64_t t_start;   /* the head's arrival (access log's %D, %T) */
    struct {           /* the body of a streamed route (body.c) */
        int active;     /* this request's body is read by its handler */
        int err;        /* a read failed: this error from now on */
        int err_status; /* the status that failure answers (413, 400, 408) */
        int sent_continue;
        int whole_given; /* not streamed: the body was handed out once */
        cio__http_body dec;
        size_t pos;     /* read position in c->in, until in_done */
        int in_done;    /* c->in's bytes are used up: reads go to sbuf */
        hbuf sbuf;      /* bytes read for the body after that */
        size_t spos;
        int64_t deadline;
    } bs;
    /* Upgrade hook (WebSocket, ws.c): msg_end is the end of the request
     * being answered in `in` (the bytes after it arrived early for the
     * new protocol); a handler that took the connection sets upgraded,
     * and the server then ends it without writing anything more. */
    size_t msg_end;
    int upgraded;
    struct h2s *h2s; /* HTTP/2: the stream this request context serves
                      * (NULL on HTTP/1.1 connections); h2.c */
} conn;

struct cio_http_server {
    cio_http_app *app;
    cio_loop *loop;
    cio__http_listener lis;
    cio_task *acceptor;
    conn *conns;
    int nconns;
    int closing;
    int64_t tls_log_at;            /* https.c: the last handshake failure */
    unsigned long tls_log_skipped; /* logged; failures not logged since */
};

/* response.c */
void cio__http_response_reset(cio_http_response *res);
void cio__http_response_free(cio_http_response *res);
/* Appends the serialised response to out: head (with Date, Content-Length
 * and Connection) and, unless head_only, the body. */
int cio__http_response_serialize(cio_http_response *res, hbuf *out,
                                 int minor, int keep_alive, int head_only);
/* A minimal error response (status text as body), with Connection: close
 * when close is set. */
int cio__http_error_response(hbuf *out, int status, int close,
                             const char *allow);
const char *cio__http_reason(int status);

/* static.c */
void cio__http_response_close_file_slow(cio_http_response *res);
/* Closes the response's file, if it has one (inline: called a few times
 * per request, and almost never with a file). */
static inline void cio__http_response_close_file(cio_http_response *res)
{
    if (res->has_file)
        cio__http_response_close_file_slow(res);
}
void cio__http_static_free_all(cio_http_app *app);

/* request.c */
void cio__http_request_done(cio_http_request *req);

/* form_stream.c: the form cio_http_request_read_form read. field sets
 * *handled when the form was multipart (its fields are answered here);
 * urlencoded gives the urlencoded body read whole, or NULL. */
void cio__http_sform_free(cio_http_request *req);
const char *cio__http_sform_field(cio_http_request *req, const char *name,
                                  size_t idx, size_t *len, int *handled);
const char *cio__http_sform_urlencoded(cio_http_request *req, size_t *len);
/* ws.c */
void cio__ws_routes_free(cio_http_app *app);

/* server.c */
int cio__http_conn_main(void *arg, void **result);
/* Middleware lists and the server's own 404/405/500, shared by HTTP/1.1
 * and HTTP/2 (h2.c). */
int cio__http_run_mw(const mw_list *l, int backwards, cio_http_request *req,
                     cio_http_response *res);
void cio__http_server_error(struct conn *c, int status, const char *allow);
/* The error handler for status on the request c answers (its route's
 * blueprint's, then the app's; per status, then catch-all), or NULL. */
const err_handler *cio__http_find_errh(const struct conn *c, int status);
ssize_t cio__http_conn_read(conn *c, hbuf *b, int64_t deadline);
int cio__http_split_target(cio_http_request *req);

/* accesslog.c: one line for the request c answers (a no-op when off);
 * stop writes what is queued, ends the writer thread, frees the log. */
void cio__http_access_log(struct conn *c, int status, uint64_t bytes);
void cio__http_alog_stop(cio_http_app *app);
/* In a forked worker: a fresh writer thread for the inherited log. */
void cio__http_alog_after_fork(cio_http_app *app);

/* body.c: streamed request bodies. begin routes the request early and,
 * for a CIO_HTTP_STREAM route, prepares c->bs and returns 1 (0: read the
 * body whole as usual). finish drains what the handler left (clearing
 * *keep_alive when it cannot) and returns where the next message starts
 * in c->in, or -ECANCELED. */
int cio__http_body_stream_begin(conn *c, size_t head_len, int64_t deadline);
long cio__http_body_stream_finish(conn *c, int *keep_alive);

/* h2.c: HTTP/2 on a connection accepted by the HTTP/1.1 server.
 * cio__h2_preface: 1 if buf[0..n) starts with the client connection
 * preface (prior knowledge) and the app serves it. cio__h2_serve: serves
 * the connection as HTTP/2 from c->in[c->in_start..] (the preface
 * first); returns when the connection ends. cio__h2_upgrade: the request
 * parsed in c (body read, ending at `end` in c->in) asked for Upgrade:
 * h2c: 1 if it qualifies (then the connection was served as HTTP/2 and
 * has ended; *rc is the result), 0 to answer it as HTTP/1.1. Suspends. */
int cio__h2_preface(const conn *c, const char *buf, size_t n);
int cio__h2_serve(conn *c);
int cio__h2_upgrade(conn *c, size_t end, int *rc);
/* Fuzzing entry (h2.c, tests/fuzz/fuzz_server_h2.c): one server
 * connection of app fed data after the client preface, in pieces of
 * `piece` bytes (0: at once), without a socket; runs in a task. */
int cio__h2_server_fuzz(cio_http_app *app, const uint8_t *data, size_t len,
                        size_t piece);
/* https.c: HTTPS. cio__https_handshake runs the TLS handshake on c's
 * socket (in c's task; bounded by head_timeout): 1 if ALPN chose "h2"
 * (and the app serves HTTP/2), 0 for HTTP/1.1, < 0 if it failed (logged;
 * the connection is to be closed). Suspends. cio__https_set_alpn sets the
 * context's ALPN list from app->h2_on; cio__https_free drops the app's
 * context. */
int cio__https_handshake(conn *c);
int cio__https_set_alpn(cio_http_app *app);
void cio__https_free(cio_http_app *app);
/* Streamed responses on an HTTP/2 stream (server.c forwards). */
int cio__h2_response_stream(cio_http_response *res, int status,
                            const char *content_type);
int cio__h2_response_write(cio_http_response *res, const void *data,
                           size_t len);

#endif
