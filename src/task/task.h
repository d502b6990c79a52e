/*
 * task.h - private layout of futures and tasks, shared by task/ and the
 * layers above it (sync/, exec/, net/ suspend tasks through it).
 *
 * The one suspension protocol (cio__park / cio__unpark below): a waiter
 * links the calling task into whatever it waits on, then parks it with a
 * cancel function; whoever completes the wait unlinks the task and
 * unparks it with a value, exactly once. The cancel function runs if the
 * task is cancelled while parked: it withdraws the wait and unparks the
 * task with -ECANCELED, returning 1, or returns 0 if it cannot (already
 * granted), and the cancellation is then delivered at resumption. Nothing
 * outside task.c/task.h touches susp_cancel, susp_arg or wait_what.
 */
#ifndef CIO_TASK_H
#define CIO_TASK_H

#include "coro/coro.h"
#include "loop/loop.h"

enum { CIO__F_PENDING = 0, CIO__F_DONE = 1, CIO__F_CANCELLED = 2 };

typedef struct cio__cbent {
    cio_done_cb cb; /* NULL: arg is a task waiting in cio_await */
    void *arg;
} cio__cbent;

struct cio_future {
    cio_loop *loop;
    uint32_t refs;
    uint8_t state;
    uint8_t is_task;
    uint8_t retrieved;
    int err;
    void *result;
    char *msg;
    void (*dtor)(void *);
    /* Kinds built on plain futures (gather, shield) hook in here. */
    int (*on_cancel)(cio_future *f, const char *msg); /* replaces cancel */
    void (*on_free)(cio_future *f); /* frees the whole object */
    cio__cbent *cbs; /* points to inl until a third callback arrives */
    uint32_t ncb, capcb;
    cio__cbent inl[2];
};

typedef struct cio__ctx cio__ctx;

typedef struct cio__defer {
    struct cio__defer *next;
    void (*fn)(void *);
    void *arg;
} cio__defer;

enum {
    CIO__T_NEW = 0,   /* created, first step not run */
    CIO__T_RUNNING,   /* executing */
    CIO__T_SUSPENDED, /* waiting (or woken and queued) */
    CIO__T_FINISHED   /* body returned; reaped by the resumer */
};

typedef struct cio__task cio__task;

/* A cio_lock's record of the task holding it, kept in debug mode only
 * (sync/lock.c), so that a task ending while holding a lock is reported
 * (task.c). holder NULL: not tracked. */
typedef struct cio__held {
    cio__list link; /* in holder->held_locks */
    cio__task *holder;
} cio__held;

struct cio__task {
    cio_future f; /* first: a task is a future */
    cio__ready rd;
    cio__coro *co;      /* its coroutine while started and not finished;
                         * before its first step only when it has an
                         * explicit stack_size (see task.c) */
    cio__coro *resumer; /* who switched in; the task switches back there */
    cio_coro body;
    cio__list link; /* loop->tasks while not done */
    int wake;       /* value the pending suspension returns */
    uint8_t tstate;
    uint8_t queued;
    uint8_t started;
    uint8_t must_cancel;
    uint8_t from_loop;  /* this step was started by the loop (not eager) */
    uint8_t reserved;   /* holds a spare-stack reservation (see task.c) */
    int ncancel;        /* cancelling() */
    char *cancel_msg;   /* message of the last cancel request */
    int outcome;        /* set when the body ends: 0, error, -ECANCELED */
    void *out_result;
    cio_future *fut_waiter;
    int (*susp_cancel)(cio__task *t);
    void *susp_arg;
    const char *wait_what; /* "sleep", "future", ... for task dumps */
    void *tscopes;         /* innermost open timeout scope (wait.c) */
    cio__list held_locks;  /* cio__held of locks it holds (debug mode) */
    size_t stack_size;
    void (*result_dtor)(void *);
    cio__ctx *ctx;
    cio__defer *defers;
    char *name;        /* NULL until read when the name is the default */
    uint64_t num;      /* N of the default "Task-N" */
    char name_buf[24];
    cio__task *free_next;
};

extern _Thread_local cio__task *cio__tls_task;


static inline cio__task *cio__task_of(cio_future *f)
{
    return f && f->is_task ? (cio__task *)(void *)f : NULL;
}

/* Queues t to resume with value v (its pending suspension returns v).
 * Waiters use cio__unpark; this is its last step. */
void cio__task_wake(cio__task *t, int v);

/* Suspends the calling task t until woken. A pending cancellation is
 * first offered to the wait (fut_waiter or susp_cancel) and, if that
 * cannot take it, delivered at resumption as -ECANCELED. Returns the wake
 * value or -ECANCELED. Waiters use cio__park, which wraps it. */
int cio__task_suspend_on(cio__task *t);

/* Parks the calling task t (the running task) until cio__unpark: what
 * names the wait for task dumps (a static string), cancel (may be NULL:
 * not withdrawable; the cancellation is then delivered at resumption)
 * withdraws it if t is cancelled meanwhile, and reads arg back with
 * cio__park_arg. On return nothing of the park is left on t; a waiter
 * whose own record still holds t was resumed without an unpark (a late
 * cancellation) and unlinks it itself. Returns the unpark value or
 * -ECANCELED. Suspends. */
static inline int cio__park(cio__task *t, int (*cancel)(cio__task *t),
                            void *arg, const char *what)
{
    t->susp_cancel = cancel;
    t->susp_arg = arg;
    t->wait_what = what;
    int r = cio__task_suspend_on(t);
    t->susp_cancel = NULL;
    t->susp_arg = NULL;
    t->wait_what = NULL;
    return r;
}

/* Ends t's park: its cio__park returns v once t runs again. Called once
 * per park, by whoever completes or withdraws the wait. */
static inline void cio__unpark(cio__task *t, int v)
{
    t->susp_cancel = NULL;
    t->susp_arg = NULL;
    cio__task_wake(t, v);
}

/* The arg of t's current park (NULL if not parked): for cancel
 * functions, and for a waker checking that t still waits on it. */
static inline void *cio__park_arg(const cio__task *t)
{
    return t->susp_arg;
}

/* Requests cancellation of a task (cio_future_cancel on a task). */
int cio__task_cancel(cio__task *t, const char *msg);

/* Cancels every live task of loop and runs it until all have finished,
 * as asyncio.run's _cancel_all_tasks does (run.c). For cio_run and loop
 * threads, after their loop has stopped: loop must not be running. */
void cio__loop_cancel_all_and_drain(cio_loop *loop);

/* Completes a pending plain future and schedules its callbacks. */
void cio__future_complete(cio_future *f, int state);

/* Sets an error on a pending future (internal: -ECANCELED allowed, as
 * asyncio's gather does with a cancelled child). */
void cio__future_set_error(cio_future *f, int err, const char *msg);

/* Removes a cio_await registration of t from f. */
void cio__future_remove_waiter(cio_future *f, cio__task *t);

/* Shared by future.c and task.c. */
int cio__future_add_entry(cio_future *f, cio_done_cb cb, void *arg);
void cio__future_init(cio_future *f, cio_loop *loop, int is_task);
void cio__task_free_mem(cio__task *t);

/* The loop's spare task stacks and its reservations (never-started
 * tasks of the default stack size that will take one); spares >=
 * reserved always. For tests. */
void cio__task_stack_counts(cio_loop *loop, size_t *spares, size_t *reserved);

/* The task's name if r is a task step, else NULL. */
const char *cio__task_describe(cio__ready *r);

/* Installs the loop hooks of debug.c (Ctrl-C, dumps). */
void cio__task_install_hooks(void);

/* Context variables (context.c). */
cio__ctx *cio__ctx_retain(cio__ctx *c);
void cio__ctx_release(cio__ctx *c);
cio__ctx *cio__ctx_current(void);

#endif
