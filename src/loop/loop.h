/*
 * loop.h - private view of the event loop shared with the layers above
 * (task/, and later sync/, exec/, net/). The loop itself knows nothing of
 * tasks: it runs cio__ready nodes, which tasks, futures and handles embed.
 */
#ifndef CIO_LOOP_H
#define CIO_LOOP_H

#include <pthread.h>
#include <stdatomic.h>

#include "backend/backend.h"
#include "core/heap.h"
#include "internal.h"

/* A unit of work on the ready queue, embedded in its owner. */
typedef struct cio__ready cio__ready;
struct cio__ready {
    cio__ready *next;
    void (*run)(cio__ready *r);
};

enum {
    CIO__H_FREE = 0,
    CIO__H_READY,     /* on the ready queue */
    CIO__H_TIMER,     /* in the timer heap */
    CIO__H_CANCELLED, /* on the ready queue but cancelled: skipped */
    CIO__H_RUNNING
};

/* A scheduled callback or timer. Handles come from a per-loop free list
 * and carry a generation id, so a stale cio_handle is recognised, never
 * dereferenced as something else. */
typedef struct cio__handle cio__handle;
struct cio__handle {
    cio__ready rd;
    cio__heap_node hn;
    cio_cb cb;                   /* public callbacks */
    cio_done_cb dcb;             /* future done callbacks */
    void (*icb)(cio__handle *h); /* internal callbacks (takes precedence) */
    void *arg, *arg2;
    uint64_t id;
    int state;
    cio__handle *free_next;
};

/* With work ready, the backend is polled (timeout 0) only on every Nth
 * iteration. */
#define CIO__BUSY_POLL_EVERY 64

typedef struct cio__ts_item {
    struct cio__ts_item *next;
    cio_cb cb;
    void *arg;
} cio__ts_item;

struct cio_loop {
    const cio__backend_ops *bops;
    cio__backend *be;

    cio__ready *rq_head, *rq_tail; /* FIFO ready queue */
    size_t rq_len;
    cio__heap timers;
    uint64_t timer_seq;
    uint64_t next_id;
    cio__handle *hfree;
    size_t hfree_len;

    /* Atomic because other threads may ask cio_loop_is_running (and
     * the wrong-thread check reads it); relaxed order suffices. */
    atomic_int running;
    int stopping, freed;
    /* Atomic: the *_threadsafe calls read it from other threads. */
    atomic_int closed;
    int discarding; /* close: internal callbacks release, run no user code */
    cio_clock_kind clock;
    int64_t vnow;
    unsigned batch;

    cio_exception_handler exc_handler;
    void *exc_arg;

    /* Live (not done) tasks, for all_tasks and close's -EBUSY. */
    cio__list tasks;
    size_t ntasks;
    uint64_t task_counter; /* for "Task-N" names */
    void *task_free;       /* task free list, owned by task/ */
    void *coro_free;       /* task/'s coroutine cache (spares, claims) */
    size_t todo;           /* ready items left in this iteration's batch
                            * (0 while debug mode times a step) */
    size_t task_free_len;
    void (*task_free_fn)(cio_loop *loop); /* drains task_free at free */

    size_t nlive; /* futures and tasks alive: they keep the memory */

    /* Signals (signal.c). */
    atomic_ullong sig_pending; /* bit per signal number, set by handler */
    struct cio__sig_slot *sig; /* registered handlers, by signal number */
    int sigint_mode;           /* 0 none, 1 default Ctrl-C armed */
    int interrupted;           /* SIGINTs received in default mode */

    /* Descriptors in use on this loop (poller.c): who owns each fd, so a
     * second user is refused with -EBUSY instead of silently replacing
     * the first one's epoll registration. */
    struct cio__fdent *fds;
    int nfds;

    /* Debug mode. */
    int debug;
    int64_t slow_ns;

    /* The loop's default executor (exec/ sets both; the loop only calls
     * the shutdown hook from cio_loop_close, waiting for its workers). */
    void *default_executor;
    void (*default_executor_shutdown)(cio_loop *loop);

    /* The loop's DNS resolver (net/dns.c creates it on first use; the
     * loop only calls the close hook from cio_loop_close, before the
     * descriptors are released, so the resolver's sockets go first). */
    void *resolver;
    void (*resolver_close)(cio_loop *loop);

    /* Thread-safe call queue. */
    pthread_mutex_t ts_lock;
    cio__ts_item *ts_head, *ts_tail;
    int ts_closed; /* set by close under ts_lock: posts are refused */
    atomic_int ts_nonempty; /* lets an iteration skip the mutex */
    unsigned busy_iters;
};

extern _Thread_local cio_loop *cio__tls_running;

/* Misuse report for debug mode: prints what was refused and where. */
void cio__loop_misuse(const cio_loop *loop, const char *what);

/* The wrong-thread check: a running loop is touched only from its own
 * thread. Alone, for calls on objects whose loop may be closed already
 * (cancelling or inspecting a leftover future or task after close stays
 * legal); with the closed check, cio__loop_check, for every other
 * loop-bound call. One TLS compare, plus a relaxed load when the calling
 * thread does not run this loop. */
static inline int cio__thread_check_at(const cio_loop *loop, const char *fn)
{
    if (CIO_UNLIKELY(cio__tls_running != loop &&
                     atomic_load_explicit(&loop->running,
                                          memory_order_relaxed))) {
        cio__loop_misuse(loop, fn);
        return -EINVAL;
    }
    return 0;
}
#define cio__thread_check(loop) cio__thread_check_at((loop), __func__)

static inline int cio__loop_check_at(const cio_loop *loop, const char *fn)
{
    if (CIO_UNLIKELY(!loop || loop->closed))
        return -EINVAL;
    return cio__thread_check_at(loop, fn);
}
#define cio__loop_check(loop) cio__loop_check_at((loop), __func__)

static inline void cio__loop_push_raw(cio_loop *loop, cio__ready *r)
{
    r->next = NULL;
    if (loop->rq_tail)
        loop->rq_tail->next = r;
    else
        loop->rq_head = r;
    loop->rq_tail = r;
    loop->rq_len++;
}

/* The ready queue belongs to the loop: the layers above only push onto
 * it (cio__loop_push) and, for task.c's stack hand-off, ask for the item
 * the loop would run next in this iteration's batch and take it, which is
 * exactly what the loop would do next, so the order of work is kept. */

/* The next item of this iteration's batch, or NULL (queue empty, or the
 * batch spent: the loop polls before running more). */
static inline cio__ready *cio__loop_next_ready(const cio_loop *loop)
{
    return loop->todo ? loop->rq_head : NULL;
}

/* Takes r, which cio__loop_next_ready just returned, off the queue and
 * counts it against the batch, as the loop does before running it. */
static inline void cio__loop_take_ready(cio_loop *loop, cio__ready *r)
{
    CIO_ASSERT(r == loop->rq_head && loop->todo);
    loop->rq_head = r->next;
    if (!loop->rq_head)
        loop->rq_tail = NULL;
    loop->rq_len--;
    loop->todo--;
}

/* Moves the callbacks other threads have posted onto the ready queue
 * (loop.c). */
void cio__loop_drain_threadsafe(cio_loop *loop);
/* cio__loop_drain_threadsafe, then cio__loop_push_raw (loop.c). */
void cio__loop_drain_push(cio_loop *loop, cio__ready *r);

/* Queues r. asyncio has one ready queue for every thread, so a handle
 * posted with call_soon_threadsafe before this push runs before r: the
 * thread-safe queue is drained first (one relaxed-cost load when empty).
 * Checklist: anything that queues work goes through here, except the
 * drain itself (cio__loop_push_raw). */
static inline void cio__loop_push(cio_loop *loop, cio__ready *r)
{
    /* The drain and the push in one out-of-line tail call: with a call
     * followed by more work here, every caller saved loop and r around
     * it and built a frame even when the queue was empty (10
     * instructions a wake, design.md section 41). */
    if (CIO_UNLIKELY(atomic_load_explicit(&loop->ts_nonempty,
                                          memory_order_acquire))) {
        cio__loop_drain_push(loop, r);
        return;
    }
    cio__loop_push_raw(loop, r);
}

/* Allocates a handle (free list first). Returns NULL on ENOMEM. */
cio__handle *cio__handle_get(cio_loop *loop);
/* Queues h to run soon. */
void cio__handle_soon(cio_loop *loop, cio__handle *h);
/* Arms h as a timer at absolute time when. Returns 0 or -ENOMEM (h is
 * then released). */
int cio__handle_at(cio_loop *loop, cio__handle *h, int64_t when);
/* Cancels h if scheduled. Returns 1 if it was, 0 if not. */
int cio__handle_cancel(cio_loop *loop, cio__handle *h);

/* Reports an error to the exception handler. */
void cio__loop_report(cio_loop *loop, const char *message, int error,
                      const char *detail, cio_future *future,
                      const char *task_name);

/* Objects that keep the loop's memory alive (see cio_loop_free). */
static inline void cio__loop_ref(cio_loop *loop) { loop->nlive++; }
void cio__loop_unref(cio_loop *loop);

/* Signals (signal.c): delivers pending signals to their callbacks;
 * arms/disarms the default Ctrl-C handling around a run. */
void cio__loop_dispatch_signals(cio_loop *loop);
void cio__loop_sigint_arm(cio_loop *loop);
void cio__loop_sigint_disarm(cio_loop *loop);
void cio__loop_signals_close(cio_loop *loop);

/* Hooks the task layer installs, so that the loop can cancel every task
 * on Ctrl-C and dump tasks without including task headers. */
extern void (*cio__loop_cancel_all_hook)(cio_loop *loop);
extern int (*cio__loop_dump_hook)(cio_loop *loop, int fd);

/* Describes a ready item for the slow-callback warning (task layer). */
extern const char *(*cio__loop_describe_hook)(cio__ready *r);
/* After Ctrl-C: 1 once every task has finished (and the loop is ready
 * to run afresh), else 0 (signal.c). */
int cio__loop_interrupt_done(cio_loop *loop);

/* Descriptor ownership (poller.c). kind: CIO__FD_POLLER (add_reader /
 * add_writer) or CIO__FD_IO (a cio socket, pipe, stream or transport). */
enum { CIO__FD_FREE = 0, CIO__FD_POLLER = 1, CIO__FD_IO = 2 };
typedef struct cio__fdent {
    int kind;
    void *owner;
} cio__fdent;
/* Claims fd for owner. Returns 0, -EBUSY (someone else has it), -EINVAL,
 * -ENOMEM. */
int cio__loop_fd_claim(cio_loop *loop, int fd, int kind, void *owner);
void cio__loop_fd_release(cio_loop *loop, int fd);
void *cio__loop_fd_owner(const cio_loop *loop, int fd, int kind);
void cio__loop_fds_close(cio_loop *loop);

/* ---- the one door to the backend ----
 * The layers above the loop (net/, proc/, ...) reach the kernel backend
 * only through these calls, never through loop->bops (scripts/check-layers
 * refuses a `bops->` outside src/loop/ and src/backend/), so accounting,
 * stale-event handling and backend quirks have one home. They are inline:
 * one indirect call each, as before. Checklist when the backend contract
 * grows a member that upper layers need: add its door here. */

/* Starts watching io->fd for events (CIO__EV_READ|WRITE, maybe EDGE).
 * Returns 0 or -errno (-EPERM: fd cannot be polled). */
static inline int cio__io_start(cio_loop *loop, cio__io *io, unsigned events)
{
    return loop->bops->fd_add(loop->be, io, events);
}

/* Changes the events watched on io (started with cio__io_start).
 * Returns 0 or -errno. */
static inline int cio__io_modify(cio_loop *loop, cio__io *io, unsigned events)
{
    return loop->bops->fd_mod(loop->be, io, events);
}

/* Stops watching io (a no-op if it is not watched); the descriptor stays
 * open and claimed. */
static inline void cio__io_stop(cio_loop *loop, cio__io *io)
{
    if (io->events)
        loop->bops->fd_del(loop->be, io);
}

/* Stops watching io and gives its descriptor's claim back (the caller
 * then closes the descriptor): pending events of io are dropped by the
 * backend, so a closed descriptor raises no stale callback. */
static inline void cio__io_close(cio_loop *loop, cio__io *io)
{
    cio__io_stop(loop, io);
    cio__loop_fd_release(loop, io->fd);
}

/* Completion-shaped socket operations (backend.h has their contract):
 * 1 if this loop's backend instance runs them (io_uring), else 0. */
static inline int cio__op_available(const cio_loop *loop)
{
    const cio__backend_ops *o = loop->bops;
    return o->caps && (o->caps(loop->be) & CIO__CAP_SOCK_OPS);
}

/* Arms a multishot receive on fd. Returns 0 or -errno. */
static inline int cio__op_recv(cio_loop *loop, cio__uop *op, int fd)
{
    return loop->bops->recv(loop->be, op, fd);
}

/* Submits one send of p[0..n), untouched until its completion. Returns 0
 * or -errno (no completion follows then). */
static inline int cio__op_send(cio_loop *loop, cio__uop *op, int fd,
                               const void *p, size_t n)
{
    return loop->bops->send(loop->be, op, fd, p, n);
}

/* Cancels op's operations; their final completion still follows. */
static inline void cio__op_cancel(cio_loop *loop, cio__uop *op)
{
    loop->bops->cancel(loop->be, op);
}

/* Gives a received chunk's buffer back to the backend. */
static inline void cio__op_buf_put(cio_loop *loop, unsigned id)
{
    loop->bops->buf_put(loop->be, id);
}

/* Runs one iteration (poll, timers, ready batch). */
void cio__loop_run_once(cio_loop *loop);

#endif
