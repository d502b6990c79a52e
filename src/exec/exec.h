/*
 * exec.h - private layout shared by the files of src/exec/: the
 * concurrent future's fields (executors queue futures as their jobs), the
 * signal-blocking thread helper and the per-loop bridge context.
 */
#ifndef CIO_EXEC_PRIV_H
#define CIO_EXEC_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

enum {
    CIO__CF_PENDING = 0,
    CIO__CF_RUNNING,
    CIO__CF_CANCELLED,
    CIO__CF_CANCELLED_NOTIFIED, /* the executor saw the cancellation */
    CIO__CF_FINISHED
};

typedef struct cio__cfent {
    cio_cfuture_cb cb;
    void *arg;
} cio__cfent;

struct cio_cfuture {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_uint refs;
    atomic_int state;
    int err;
    unsigned nwait; /* threads blocked in result(): signal only for them */
    void *result;
    char *msg;
    cio__cfent *cbs;
    uint32_t ncb, capcb;
    cio__cfent inl[2];
    /* Executor payload: the queued job. */
    cio_cfuture *qnext;
    cio_job_fn fn;
    void *arg;
    void *job;                 /* executor-private, freed with xfree */
    void (*xfree)(void *job);
    cio_bytes out;             /* a process result, owned */
};

/* Initialises a future allocated by an executor (refs = 1). */
int cio__cfuture_alloc(cio_cfuture **out);

/* Completes a future that is pending or running: state FINISHED with
 * err (0: result) and msg (taken: freed by the future; may be NULL).
 * Returns 0, or -EINVAL if it was already done (msg is then freed). */
int cio__cfuture_finish(cio_cfuture *cf, int err, void *result, char *msg);

/* An executor's map iterator (argument order): created with room for n
 * futures and a deadline measured from now, then filled in argument
 * order by push, which takes over the caller's reference. Freeing it
 * (cio_cfuture_as_completed_free) cancels what was not yet returned.
 * Returns 0 or -ENOMEM. */
int cio__cfuture_map_iter_new(size_t n, int64_t timeout,
                              cio_cfuture_iter **out);
void cio__cfuture_map_iter_push(cio_cfuture_iter *it, cio_cfuture *cf);

/* Monotonic time in ns; an absolute deadline from a relative timeout
 * (INT64_MAX for timeout < 0). */
int64_t cio__mono_ns(void);
int64_t cio__deadline(int64_t timeout);

/* Copies a process job's result (a cio_bytes) into a fixed-size record of
 * an ordered map. Returns 0, or -EMSGSIZE when the sizes differ. */
int cio__bytes_copy_fixed(const void *res, void *dst, size_t size);

/* Bounded spinning before blocking (cfuture waits, idle workers): about
 * 20-50 us of PAUSE loops, and only when more than one CPU is online. */
#define CIO__SPIN_ITERS 2000
int cio__spin_useful(void);

/* Waits on cond (a CLOCK_MONOTONIC condvar) until deadline. Returns 0 or
 * ETIMEDOUT (positive, pthread style). */
int cio__cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m,
                         int64_t deadline);
/* Initialises a condvar on CLOCK_MONOTONIC. */
void cio__cond_init(pthread_cond_t *c);

/* Starts a thread with every asynchronous signal blocked (see exec.h)
 * and a name (at most 15 bytes kept). Returns 0 or -EAGAIN / -ENOMEM. */
int cio__thread_start(pthread_t *t, void *(*fn)(void *), void *arg,
                      const char *name);

/* CPUs available to the process (>= 1). */
unsigned cio__cpu_count(void);

/* ---- per-loop bridge context (bridge.c) ----
 * Work that other threads hand to a loop for bridges goes through an
 * inbox of ops drained on the loop thread by one call_soon_threadsafe
 * callback; cio_loop_close (through loop->default_executor_shutdown)
 * closes the inbox and runs what is left in discard mode, so nothing is
 * posted to, or leaked by, a closed loop. */
typedef struct cio__xop cio__xop;
struct cio__xop {
    cio__xop *next;
    void (*run)(cio__xop *op, int discard);
};

/* A bridge that holds loop-side references: cio_loop_close calls close
 * on the loop thread so it drops them (and completes or detaches what
 * it must). Linked into the context's holder list. */
typedef struct cio__xhold cio__xhold;
struct cio__xhold {
    cio__list link;
    void (*close)(cio__xhold *h);
};

typedef struct cio__xloop cio__xloop;

/* The context of loop, created on first use (any thread: creation is
 * serialised by a global lock). Returns NULL on ENOMEM or a closed loop.
 * The pointer is borrowed from the loop (retain it to keep it). */
cio__xloop *cio__xloop_get(cio_loop *loop);
/* Links h into the holder list (loop thread). */
void cio__xloop_hold(cio__xloop *x, cio__xhold *h);
/* Unlinks h (loop thread). */
void cio__xloop_unhold(cio__xhold *h);
void cio__xloop_retain(cio__xloop *x);
void cio__xloop_release(cio__xloop *x);
/* Posts op to the loop thread from any thread. Returns 0, or -ESHUTDOWN
 * if the loop closed (op is then not run: the caller disposes of it). */
int cio__xloop_post(cio__xloop *x, cio__xop *op);

/* The loop's default pool, created on first use (loop thread). */
cio_thread_pool *cio__xloop_default_pool(cio__xloop *x, int *err);

/* Queues a prepared future (fn, arg, job set) on p; the queue takes one
 * reference (on success only). Returns 0, -ESHUTDOWN or -EAGAIN. */
int cio__thread_pool_submit_cf(cio_thread_pool *p, cio_cfuture *cf);

/* Threads created by cio that must never block in pool shutdown. */
int cio__thread_pool_is_worker(const cio_thread_pool *p);

#endif
