/*
 * cio/redis.h - an asynchronous Redis client on the cio loop (cio::redis,
 * a library of its own: link cio_redis, pkg-config cio-redis). Not
 * included by cio.h; it includes cio.h.
 *
 * RESP is parsed by hiredis's reader and commands are formatted by
 * hiredis's redisFormatCommandArgv; the bytes move over a cio stream, so
 * the client works on either backend. Commands issued by concurrent
 * tasks on one connection are written together (one write per loop
 * iteration) and their replies matched in order (automatic pipelining).
 *
 * Objects:
 *   cio_redis_conn    one connection (no reconnect), bound to its loop
 *   cio_redis         a client: a pool of connections that reconnect with
 *                     exponential back-off, plus dedicated connections for
 *                     blocking commands
 *   cio_redis_pubsub  a subscriber on a connection of its own; messages
 *                     come out as an async iterator
 *   cio_redis_sync    the same client for plain threads (a loop on a
 *                     private thread runs the calls)
 *   cio_redis_reply   a parsed reply, walked in place without copying
 *
 * Errors: the Redis error codes below (-4300 .. -4319) are this layer's
 * block; cio_strerror describes them and every other cio value.
 * A Redis error reply is returned as one of them AND as the reply object
 * (type CIO_REDIS_REPLY_ERROR) holding the server's message.
 */
#ifndef CIO_REDIS_H
#define CIO_REDIS_H

#include "cio.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Errors
 * ====================================================================== */

/* The CIO_EREDIS* codes (-4300 and down) are in cio/errno.h with every
 * other cio code; cio_strerror describes them. */
#define CIO_EREDIS_FIRST (-4319) /* the block is [FIRST, CIO_EREDIS] */

/* The code of an error message as sent by Redis ("WRONGTYPE Operation
 * against..." -> CIO_EREDIS_WRONGTYPE). msg is borrowed for the call.
 * Returns: a code of the block above, CIO_EREDIS for an unknown prefix. */
CIO_API int cio_redis_error_code(const char *msg, size_t len);

/* ======================================================================
 * Replies
 * A reply is a tree owned by whoever received it; every pointer obtained
 * from it is borrowed until cio_redis_reply_free of the root.
 * ====================================================================== */

typedef struct cio_redis_reply cio_redis_reply;

typedef enum cio_redis_reply_type {
    CIO_REDIS_REPLY_STRING = 1, /* bulk string */
    CIO_REDIS_REPLY_ARRAY = 2,
    CIO_REDIS_REPLY_INTEGER = 3,
    CIO_REDIS_REPLY_NIL = 4,    /* null bulk or null array */
    CIO_REDIS_REPLY_STATUS = 5, /* "+OK" */
    CIO_REDIS_REPLY_ERROR = 6   /* "-ERR ..." */
} cio_redis_reply_type;

/* Returns: the cio_redis_reply_type of r, or -EINVAL on NULL. */
CIO_API int cio_redis_reply_type_of(const cio_redis_reply *r);

/* The bytes of a string, status or error reply (NUL-terminated too, but
 * binary-safe through *len). len may be NULL. Returns: the bytes
 * (borrowed), or NULL for other types (then *len is 0). */
CIO_API const char *cio_redis_reply_str(const cio_redis_reply *r, size_t *len);

/* Returns: the value of an integer reply (0 for other types). */
CIO_API long long cio_redis_reply_integer(const cio_redis_reply *r);

/* Returns: the number of elements of an array reply (0 otherwise). */
CIO_API size_t cio_redis_reply_len(const cio_redis_reply *r);

/* Returns: element i of an array (borrowed), NULL if out of range. */
CIO_API const cio_redis_reply *cio_redis_reply_at(const cio_redis_reply *r,
                                                  size_t i);

/* Frees a reply tree (a root; never an element). NULL is ignored. */
CIO_API void cio_redis_reply_free(cio_redis_reply *r);

/* ======================================================================
 * Options
 * ====================================================================== */

typedef struct cio_redis_opts {
    const char *username;    /* AUTH user (NULL: AUTH with password only) */
    const char *password;    /* NULL: no AUTH */
    int db;                  /* SELECT db when > 0 */
    const char *client_name; /* CLIENT SETNAME when non-NULL */
    int64_t connect_timeout; /* ns; 0: 5 s; < 0: none */
    int64_t command_timeout; /* ns; 0 or < 0: none (per call: a cancel
                              * scope around the call) */
    unsigned pool_size;      /* cio_redis: pipelined connections (0: 1) */
    int64_t backoff_min;     /* first reconnect delay (0: 10 ms) */
    int64_t backoff_max;     /* cap of the doubling delay (0: 1 s) */
    unsigned max_retries;    /* reconnect attempts per call (0: 5) */
    size_t max_reply;        /* a reply (or unparsed input) larger than this
                              * is a protocol violation (0: 1 GiB) */
    /* TLS (cio/tls.h): NULL for plain TCP. A client context
     * (cio_tls_ctx_new(.., CIO_TLS_CLIENT); it verifies the server's
     * certificate by default): every connection made from these options
     * (cio_redis_conn_open, the pool and blocking connections of
     * cio_redis, subscribers, cio_redis_sync, the queue's executor and
     * worker) runs the TLS handshake before AUTH / SELECT, within
     * connect_timeout. Retained by what keeps the options (cio_redis,
     * a subscriber, an executor) until it is freed; the caller may free
     * its own reference after the call. Errors on connect: the CIO_ETLS*
     * codes (CIO_ETLS_VERIFY: the certificate did not verify; OpenSSL's
     * reason in cio_tls_last_error). */
    cio_tls_ctx *tls;
    /* The name sent as SNI and checked against the certificate; NULL:
     * the host given to the open / new call (an IP address is checked
     * against the certificate's IP names). Copied like host. */
    const char *tls_server_name;
} cio_redis_opts;

#define CIO_REDIS_OPTS_INIT                                                    \
    {                                                                          \
        NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0, NULL, NULL                   \
    }

/* ======================================================================
 * Connections
 * ====================================================================== */

typedef struct cio_redis_conn cio_redis_conn;

/* Connects to host:port on the running loop, then sends AUTH, SELECT and
 * CLIENT SETNAME as opts asks (opts and host borrowed for the call; NULL
 * opts: defaults). The connect and handshake are bounded by
 * opts->connect_timeout. Returns: 0 and *out. Errors: those of
 * cio_open_connection, -ETIMEDOUT, CIO_EREDIS_WRONGPASS / _NOAUTH / ...
 * (handshake refused), -ENOMEM, -ECANCELED; *out is NULL on failure.
 * Suspends. */
CIO_API int cio_redis_conn_open(const char *host, int port,
                                const cio_redis_opts *opts,
                                cio_redis_conn **out);

/* Sends one command of argc arguments (argv[i] of argvlen[i] bytes;
 * argvlen NULL: strlen; all borrowed for the call) and waits for its
 * reply. Concurrent calls on one connection are pipelined. If the calling
 * task is cancelled (or the command timeout passes) the reply, when it
 * comes, is read and dropped, so the connection stays in sync.
 * Returns: 0 and *reply (takes: free it with cio_redis_reply_free).
 * Errors: a Redis error code (then *reply holds the error reply, with the
 * server's message; free it), CIO_EREDIS_CLOSED (connection lost or
 * closed; *reply NULL), CIO_EREDIS_PROTO (the connection broke on bad
 * input), -ETIMEDOUT, -ECANCELED, -EINVAL, -ENOMEM. reply may be NULL
 * (the reply is dropped). Suspends. */
CIO_API int cio_redis_conn_command(cio_redis_conn *c, int argc,
                                   const char *const *argv,
                                   const size_t *argvlen,
                                   cio_redis_reply **reply);

/* Returns: 1 while the connection is usable, 0 once it was lost or
 * closed (also for NULL). */
CIO_API int cio_redis_conn_is_connected(const cio_redis_conn *c);

/* Commands written and not yet answered. Returns: the count. */
CIO_API size_t cio_redis_conn_pending(const cio_redis_conn *c);

/* Closes the connection: commands in flight fail with CIO_EREDIS_CLOSED.
 * Frees c. NULL is ignored. Returns: 0. Errors: -EINVAL (outside a task
 * of c's loop). Suspends (until the reader task has ended). */
CIO_API int cio_redis_conn_close(cio_redis_conn *c);

/* ======================================================================
 * The client: a pool of pipelined connections with reconnection
 * ====================================================================== */

typedef struct cio_redis cio_redis;

/* Creates a client for host:port on loop (copied: host, opts strings).
 * Connects lazily: the first command opens a connection. Returns: 0 and
 * *out. Errors: -EINVAL, -ENOMEM; *out NULL on failure. Never suspends. */
CIO_API int cio_redis_new(cio_loop *loop, const char *host, int port,
                          const cio_redis_opts *opts, cio_redis **out);

/* As cio_redis_conn_command on one of the pool's connections (round
 * robin). A connection that is down is reopened first, retrying with
 * exponential back-off (backoff_min doubling up to backoff_max, at most
 * max_retries attempts); commands in flight when a connection is lost
 * fail with CIO_EREDIS_CLOSED and are never resent. Returns/Errors: as
 * cio_redis_conn_command, plus the last connect error. Suspends. */
CIO_API int cio_redis_command(cio_redis *r, int argc, const char *const *argv,
                              const size_t *argvlen, cio_redis_reply **reply);

/* Runs a blocking command (BLPOP, BLMOVE, XREADGROUP BLOCK...) on a
 * dedicated connection taken from an idle set (opened if none), so the
 * pipelined connections never stall behind it. A cancelled blocking
 * command closes its dedicated connection (the server would otherwise
 * answer it later). Returns/Errors: as cio_redis_command. Suspends. */
CIO_API int cio_redis_command_blocking(cio_redis *r, int argc,
                                       const char *const *argv,
                                       const size_t *argvlen,
                                       cio_redis_reply **reply);

/* Statistics: connections (re)opened so far. */
CIO_API unsigned long cio_redis_connects(const cio_redis *r);

/* Closes every connection and frees r. Returns: 0. Errors: -EINVAL
 * (outside a task of r's loop), -EBUSY (commands are in progress: nothing
 * was done). Suspends. */
CIO_API int cio_redis_free(cio_redis *r);

/* ======================================================================
 * Pub/sub (a connection of its own)
 * ====================================================================== */

typedef struct cio_redis_pubsub cio_redis_pubsub;

/* One message. Every pointer is borrowed until the next
 * cio_redis_pubsub_next on the same subscriber or its close. */
typedef struct cio_redis_msg {
    const char *pattern; /* the matching pattern (psubscribe) or NULL */
    size_t pattern_len;
    const char *channel;
    size_t channel_len;
    const char *data;
    size_t data_len;
} cio_redis_msg;

/* Opens a subscriber connection (as cio_redis_conn_open; host and opts
 * borrowed for the call, copied for reconnecting). Returns: 0 and *out.
 * Errors: as cio_redis_conn_open. Suspends. */
CIO_API int cio_redis_pubsub_open(const char *host, int port,
                                  const cio_redis_opts *opts,
                                  cio_redis_pubsub **out);

/* SUBSCRIBE (pattern 0) or PSUBSCRIBE (pattern 1) to n channels (borrowed
 * for the call); returns once the server confirmed every one. Returns: 0.
 * Errors: as cio_redis_conn_command. Suspends. */
CIO_API int cio_redis_pubsub_subscribe(cio_redis_pubsub *ps, int pattern,
                                       const char *const *channels, int n);

/* UNSUBSCRIBE / PUNSUBSCRIBE from n channels (n 0: from all); returns
 * once confirmed. Returns: 0. Errors: as subscribe. Suspends. */
CIO_API int cio_redis_pubsub_unsubscribe(cio_redis_pubsub *ps, int pattern,
                                         const char *const *channels, int n);

/* Turns reconnection on (on != 0) or off (the default). With it on, a
 * lost connection does not end the iterator: the messages received
 * before the loss come out first, then the cio_redis_pubsub_next that
 * finds the loss reopens the connection (host, port and options as given
 * to cio_redis_pubsub_open; up to opts.max_retries attempts, delays from
 * backoff_min doubling to backoff_max) and subscribes again to every
 * channel and pattern currently subscribed, then goes on waiting.
 * Messages published while no connection existed are lost (Redis pub/sub
 * keeps none). If every attempt fails, that call returns
 * CIO_EREDIS_CLOSED and the next call tries again. Returns: 0. Errors:
 * -EINVAL (ps NULL). Never suspends. */
CIO_API int cio_redis_pubsub_set_reconnect(cio_redis_pubsub *ps, int on);

/* Statistics: successful reconnections of ps so far (0 for NULL). */
CIO_API unsigned long cio_redis_pubsub_reconnects(const cio_redis_pubsub *ps);

/* The async iterator: waits for the next message. Returns: 1 and *msg, 0
 * once the connection closed cleanly with nothing left. Errors:
 * CIO_EREDIS_CLOSED (lost; with reconnection on: every reconnect attempt
 * of this call failed), CIO_EREDIS_PROTO, -ECANCELED (no message
 * consumed; a reconnection under way is resumed by the next call),
 * -EINVAL. Suspends. */
CIO_API int cio_redis_pubsub_next(cio_redis_pubsub *ps, cio_redis_msg *msg);

/* Closes and frees ps. NULL is ignored. Returns: 0. Errors: -EINVAL.
 * Suspends. */
CIO_API int cio_redis_pubsub_close(cio_redis_pubsub *ps);

/* ======================================================================
 * Blocking convenience for plain threads
 * A loop in a private thread runs a cio_redis client; each call hands the
 * command over with cio_run_coroutine_threadsafe and blocks on the
 * concurrent future. Any thread may call; calls from several threads are
 * pipelined on the client's connections.
 * ====================================================================== */

typedef struct cio_redis_sync cio_redis_sync;

/* Starts the loop thread and a client for host:port (opts and host
 * copied). Connects lazily. Returns: 0 and *out. Errors: -EINVAL,
 * -ENOMEM, -EAGAIN (no thread). */
CIO_API int cio_redis_sync_new(const char *host, int port,
                               const cio_redis_opts *opts,
                               cio_redis_sync **out);

/* Blocks the calling thread until the reply arrives. Returns/Errors: as
 * cio_redis_command (*reply is the caller's, freed with
 * cio_redis_reply_free from any thread). Must not be called from the
 * client's own loop thread (-EDEADLK). */
CIO_API int cio_redis_sync_command(cio_redis_sync *s, int argc,
                                   const char *const *argv,
                                   const size_t *argvlen,
                                   cio_redis_reply **reply);

/* Closes the client, stops and joins the loop thread, frees s. NULL is
 * ignored. Returns: 0. */
CIO_API int cio_redis_sync_free(cio_redis_sync *s);

/* ======================================================================
 * Distributed executor on Redis Streams
 * Submitters and worker processes on any number of machines share a
 * queue name. Jobs go to the stream <queue>:jobs, read by the workers'
 * consumer group "workers" (XREADGROUP); a worker acknowledges a job
 * (XACK, XDEL) only once its result is written to the submitter's own
 * result stream <queue>:results:<submitter>, so a worker killed mid-job
 * leaves it pending and another worker takes it over (XAUTOCLAIM) once it
 * has been idle for claim_idle. Delivery is at least once: every start of
 * a job increments <queue>:runs:<job>, and the result carries that count
 * (runs > 1: the job was re-run after a crash, a timeout or an error); a
 * result already recorded (<queue>:done:<job>) is never recorded twice.
 * A failing or timed-out job is retried with doubling back-off until
 * max_tries runs, then written to <queue>:dead (the dead-letter stream)
 * and its error returned to the submitter. Jobs are named functions
 * registered in every worker (never pointers); arguments and results are
 * byte buffers. Statistics: <queue>:stat:{done,retried,dead}, heartbeats
 * in the hash <queue>:workers (see the cio-queue tool). Commands go in
 * batches: a submitter queues the jobs submitted meanwhile with one
 * script run; a worker takes as many jobs as it has free job tasks with
 * one XREADGROUP, starts them with one script run and records the
 * outcomes finished meanwhile with one more.
 * ====================================================================== */

/* A job: runs as a coroutine on the worker's loop (it may suspend; it
 * runs concurrently with up to concurrency - 1 others) and must not block
 * the thread. in is borrowed for the call. On success it returns 0 and
 * sets out->data (malloc'ed, taken by the worker; NULL for an empty
 * result) and out->len. Returns: 0, or a negative error (the run fails:
 * retried, then dead-lettered). */
typedef int (*cio_redis_job_fn)(const void *in, size_t in_len, cio_bytes *out);

/* Registers fn under name (borrowed: a string literal) in this process,
 * for cio_redis_worker_run. Returns: 0. Errors: -EINVAL, -EEXIST (name
 * taken by another function), -ENOSPC (256 functions). */
CIO_API int cio_redis_job_register(const char *name, cio_redis_job_fn fn);

/* Registers a blocking job: fn (same shape as above) runs in a thread of
 * the worker's thread pool (concurrency threads at most, started on
 * demand), so it may block (sleep, read files, compute) without stalling
 * the worker's loop: other jobs, the reaper and the heartbeat go on. It
 * must not call suspending cio functions (it is not in a task). On a
 * timeout or a cancellation the job's task gives up at once; the thread
 * cannot be interrupted: it runs fn to its end and the result is freed.
 * Returns/Errors: as cio_redis_job_register. */
CIO_API int cio_redis_job_register_thread(const char *name,
                                          cio_redis_job_fn fn);

/* Registers a blocking job that runs in a worker process of the worker's
 * process pool (concurrency processes at most): fn is a cio_process_fn
 * (cio/exec.h: it writes at most *out_len bytes, 64 KiB, into out) and
 * is also registered with cio_process_pool_register, so this must happen
 * before the fork server starts, i.e. before cio_redis_worker_run or any
 * thread. A crash of that process fails the run (CIO_ECHILD_DIED: retried,
 * then dead-lettered) without taking the worker down. On a timeout or a
 * cancellation the process runs fn to its end and the result is dropped.
 * Returns: 0. Errors: -EINVAL, -EEXIST, -ENOSPC, -EBUSY (the fork server
 * already runs). */
CIO_API int cio_redis_job_register_process(const char *name,
                                           cio_process_fn fn);

typedef struct cio_redis_queue_opts {
    const char *queue;     /* key prefix (NULL: "cioq") */
    unsigned concurrency;  /* worker: jobs run at once (0: 4) */
    int64_t job_timeout;   /* ns; a run lasting longer fails with
                            * -ETIMEDOUT (0: 30 s) */
    int64_t claim_idle;    /* ns a job may stay unacknowledged before
                            * another worker takes it over (0:
                            * job_timeout + 5 s; never below that) */
    unsigned max_tries;    /* runs before dead-lettering (0: 3) */
    int64_t retry_backoff; /* first retry delay, doubling (0: 100 ms) */
    int64_t result_ttl;    /* result streams and done markers expire
                            * after this (0: 1 hour) */
    const char *name;      /* worker consumer name / submitter id
                            * (NULL: host-pid-random) */
    cio_redis_opts redis;  /* connection options */
} cio_redis_queue_opts;

#define CIO_REDIS_QUEUE_OPTS_INIT                                              \
    {                                                                          \
        NULL, 0, 0, 0, 0, 0, 0, NULL, CIO_REDIS_OPTS_INIT                      \
    }

/* Runs a worker in the calling thread until SIGTERM or SIGINT: a loop of
 * its own with `concurrency` job tasks, a reaper taking over jobs of dead
 * workers and a heartbeat. On the signal it drains gracefully: stops
 * taking jobs, lets the running ones finish (their results are sent), and
 * returns. opts borrowed for the call. Returns: 0 after a drain. Errors:
 * -EINVAL, -EBUSY (a loop already runs in this thread), the first
 * connection error if Redis cannot be reached at start. */
CIO_API int cio_redis_worker_run(const char *host, int port,
                                 const cio_redis_queue_opts *opts);

/* What a job's concurrent future holds on success (borrowed: owned by the
 * executor, valid until cio_redis_executor_release of that future or
 * cio_redis_executor_free, whichever comes first). */
typedef struct cio_redis_job_result {
    const void *data;
    size_t len;
    unsigned runs;      /* > 1: delivered more than once */
    const char *worker; /* the consumer that ran it */
} cio_redis_job_result;

typedef struct cio_redis_executor cio_redis_executor;

/* Creates a submitter (a loop in a private thread talks to Redis; any
 * thread may submit). opts and host copied. Returns: 0 and *out. Errors:
 * -EINVAL, -ENOMEM, -EAGAIN, the connection error if Redis cannot be
 * reached. */
CIO_API int cio_redis_executor_new(const char *host, int port,
                                   const cio_redis_queue_opts *opts,
                                   cio_redis_executor **out);

/* Queues the job fn(in) (fn: a registered name, copied; in copied, may be
 * NULL when len is 0). The future completes with a const
 * cio_redis_job_result * or the job's error (message: where and after how
 * many runs), -ENOENT (no worker knows fn: dead-lettered), CIO_EREDIS_*
 * (could not be queued). cio_cfuture_cancel on a job not yet started by a
 * worker cancels it there too (it is skipped, never run); a job already
 * running is cancelled on its worker as by cio_redis_queue_cancel. A job
 * submitted with out NULL releases its record by itself once done.
 * Returns: 0 and one reference in *out (NULL:
 * fire-and-forget). Errors: -EINVAL, -ESHUTDOWN, -ENOMEM. Blocks only to
 * hand the job to the loop thread. */
CIO_API int cio_redis_executor_submit(cio_redis_executor *ex, const char *fn,
                                      const void *in, size_t len,
                                      cio_cfuture **out);

/* Lets the executor forget a job (RQ's result_ttl, made explicit): its
 * record and result are freed, so an executor that releases what it has
 * read keeps memory bounded by the jobs still held. A job not done yet is
 * cancelled first (as cio_cfuture_cancel: skipped if queued, stopped on
 * its worker if running). Jobs submitted without a future (out NULL) are
 * released by themselves once done. The caller's reference to cf stays
 * valid (release it with cio_cfuture_release as usual), but the
 * cio_redis_job_result it held must not be read any more. cf borrowed.
 * Returns: 0. Errors: -EINVAL, -ENOENT (not a job of ex, or already
 * released). Never suspends (may take the executor's lock). */
CIO_API int cio_redis_executor_release(cio_redis_executor *ex,
                                       cio_cfuture *cf);

/* Statistics: job records the executor holds (submitted and not yet
 * released). Returns: the count (0 for NULL). */
CIO_API size_t cio_redis_executor_records(cio_redis_executor *ex);

/* The queue-wide id of the job of cf ("<submitter>:<seq>"), as used by
 * cio_redis_queue_cancel, the cio-queue tool and the <queue>:runs:<job>
 * keys, written NUL-terminated into buf (cap bytes; borrowed). Returns:
 * its length. Errors: -EINVAL, -ENOENT (not a job of ex, or released),
 * -ENOSPC (buf too small). */
CIO_API int cio_redis_executor_job_id(cio_redis_executor *ex,
                                      const cio_cfuture *cf, char *buf,
                                      size_t cap);

/* Executor.map: submits fn(ins[i]) for i in [0, n) and stores the futures
 * in argument order in outs (one reference each); read them in order with
 * cio_cfuture_result, or in completion order with
 * cio_cfuture_as_completed_new. Returns: 0. Errors: as submit (futures
 * already stored stay valid; the rest of outs is NULL). */
CIO_API int cio_redis_executor_map(cio_redis_executor *ex, const char *fn,
                                   const cio_bytes *ins, size_t n,
                                   cio_cfuture **outs);

/* Stops accepting jobs; cancel_futures cancels those not yet done (and on
 * the workers, those not started); wait blocks until every future is
 * done. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_redis_executor_shutdown(cio_redis_executor *ex, int wait,
                                        int cancel_futures);

/* shutdown(wait=1), then stops the loop thread and frees everything,
 * results included. NULL is ignored. */
CIO_API void cio_redis_executor_free(cio_redis_executor *ex);

/* Cancels a job from any client (another process, the operator's tool):
 * marks it cancelled (<queue>:cancel:<job>, expiring after ttl ns; 0: 1
 * hour), so a worker that has not started it skips it, and announces it
 * on the channel <queue>:cancel, so a worker running it cancels the job's
 * task there (a coroutine job gets -ECANCELED at its suspension point; a
 * blocking job's thread or process runs to its end and its result is
 * dropped). The outcome is recorded like any other (the result entry's
 * message: "cancelled while running on <worker>", or "... before it
 * started"), <queue>:stat:cancelled counts it, and the submitter's future
 * ends cancelled (cio_cfuture_cancelled; result -ECANCELED). queue NULL:
 * "cioq";
 * queue and job (an id from cio_redis_executor_job_id) borrowed for the
 * call. Returns: the number of workers that received the announcement
 * (0: none was connected; the job is still skipped if started later).
 * Errors: -EINVAL, those of cio_redis_command. Suspends. */
CIO_API int cio_redis_queue_cancel(cio_redis *r, const char *queue,
                                   const char *job, int64_t ttl);

#ifdef __cplusplus
}
#endif

#endif /* CIO_REDIS_H */
