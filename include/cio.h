/*
 * cio.h - asyncio for C: event loop, stackful coroutine tasks, futures,
 * cancellation and generators.
 *
 * Conventions used by every declaration below (see docs/design.md):
 *  - Functions return int: >= 0 on success, a negative errno value
 *    (-EINVAL, -ECANCELED, -ETIMEDOUT...) or a CIO_E* code on failure.
 *    errno is never the channel.
 *  - Every pointer parameter is labelled: "borrowed" (valid until the stated
 *    moment), "takes" (ownership moves to the callee) or "retains" (the
 *    callee adds a reference and the caller keeps its own).
 *  - A function whose comment ends in "Suspends." may switch to other tasks;
 *    it must be called from inside a task and returns -EINVAL elsewhere.
 *    Everything else runs to completion without yielding.
 *  - Functions callable outside a task take a cio_loop *; functions that
 *    only make sense inside a task use the running loop implicitly.
 *  - Time is int64_t nanoseconds; "timeout"/"delay" parameters are
 *    relative, "_at"/"when" parameters are absolute loop times.
 */
#ifndef CIO_H
#define CIO_H

#include <errno.h> /* every error is -E... or CIO_E... */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cio/errno.h" /* every CIO_E* code and the reserved ranges */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CIO_BUILDING) && defined(__GNUC__)
#define CIO_API __attribute__((visibility("default")))
#else
#define CIO_API
#endif

/* ======================================================================
 * Version
 * cio is released under the MIT licence (see LICENSE). The three numbers
 * below are the only place the version is written; CMake reads them.
 * ====================================================================== */

#define CIO_VERSION_MAJOR 0
#define CIO_VERSION_MINOR 2
#define CIO_VERSION_PATCH 0

/* The compile-time version as one number, 0xMMmmpp (libuv's
 * UV_VERSION_HEX): 0.1.0 is 0x000100. Compare it with cio_version() to
 * see whether the header and the library loaded at run time agree. */
#define CIO_VERSION_HEX                                                   \
    ((CIO_VERSION_MAJOR << 16) | (CIO_VERSION_MINOR << 8) | CIO_VERSION_PATCH)
#define CIO_VERSION CIO_VERSION_HEX

/* The version of the library loaded at run time, encoded as CIO_VERSION.
 * Returns: the version number (never fails). */
CIO_API unsigned cio_version(void);

/* The version of the library loaded at run time as "MAJOR.MINOR.PATCH".
 * Returns: a static string, never NULL (borrowed for the process's
 * lifetime). */
CIO_API const char *cio_version_string(void);

/* ======================================================================
 * Errors
 * Negative errno values are used wherever one fits. cio's own codes
 * (CIO_EOF, CIO_EGROUP, ...) live below -4000 so they never collide with
 * errno; all of them, and the blocks reserved for later layers, are in
 * cio/errno.h.
 * ====================================================================== */

/* A static, human-readable description of any error value (also of errno
 * values and of unknown codes). Returns: a string that is never NULL. */
CIO_API const char *cio_strerror(int err);

/* The symbolic name of an error ("ECANCELED", "CIO_EOF", "UNKNOWN").
 * Returns: a static string, never NULL. */
CIO_API const char *cio_err_name(int err);

/* ======================================================================
 * Time
 * ====================================================================== */

#define CIO_NS ((int64_t)1)
#define CIO_US ((int64_t)1000)
#define CIO_MS ((int64_t)1000000)
#define CIO_SEC ((int64_t)1000000000)

/* ======================================================================
 * Allocator
 * Every allocation cio makes goes through these hooks. Install them before
 * any loop exists; tests use them to count leaks and inject failures.
 * ====================================================================== */

typedef struct cio_allocator {
    void *(*malloc)(size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *ud;
} cio_allocator;

/* Replaces the allocator (NULL restores the libc one). Must be called while
 * no cio object exists. Returns: 0. Errors: -EINVAL if a hook is missing. */
CIO_API int cio_set_allocator(const cio_allocator *a);

/* ======================================================================
 * Event loop
 * One loop per thread. A loop is touched only from the thread running it,
 * except by the functions named *_threadsafe. A loop that is not running
 * may be handed to another thread (asyncio's new_event_loop in one thread,
 * run_forever in another).
 * ====================================================================== */

typedef struct cio_loop cio_loop;
typedef struct cio_future cio_future;
/* A task is a future: every cio_future_* function accepts a task. */
typedef struct cio_future cio_task;

/* A plain callback. A negative return is reported to the loop's exception
 * handler (it is how a C callback "raises"). */
typedef int (*cio_cb)(void *arg);

typedef enum cio_clock_kind {
    CIO_CLOCK_MONOTONIC = 0, /* CLOCK_MONOTONIC */
    /* Time stands still while anything is ready and jumps to the next timer
     * when the loop would otherwise wait, so timeout logic is tested in
     * microseconds (trio's MockClock, tokio's paused time). The jump also
     * happens in an iteration run with a stop pending, so stop() then
     * run_forever() steps through timers one iteration at a time. */
    CIO_CLOCK_VIRTUAL = 1
} cio_clock_kind;

/* The kernel interface a loop runs on. Every API works on both; on
 * io_uring, socket transports whose protocol has data_received also read
 * and write through completions (one io_uring_enter per iteration). */
typedef enum cio_backend_kind {
    CIO_BACKEND_AUTO = 0,  /* the CIO_BACKEND env var (epoll|uring; any
                            * other value fails cio_loop_new with
                            * -ENOSYS), else epoll */
    CIO_BACKEND_EPOLL = 1,
    CIO_BACKEND_URING = 2  /* io_uring (Linux 6.0+ for completion mode) */
} cio_backend_kind;

typedef struct cio_loop_opts {
    cio_clock_kind clock;
    cio_backend_kind backend;
    /* Maximum ready callbacks run per iteration before polling again
     * (0: default 1024). Bounds I/O starvation by busy tasks. */
    unsigned batch;
} cio_loop_opts;

#define CIO_LOOP_OPTS_INIT {CIO_CLOCK_MONOTONIC, CIO_BACKEND_AUTO, 0}

/* Creates a loop. opts is borrowed for the call (NULL: defaults). The loop
 * does not become the thread's current loop (see cio_set_event_loop).
 * Returns: 0, *out set. Errors: -ENOMEM, -EMFILE, -EINVAL (bad option),
 * -ENOSYS (requested backend unknown, also an unknown CIO_BACKEND
 * value), or the kernel's refusal of io_uring
 * (-EPERM where it is disabled, -ENOSYS without it); *out is NULL on
 * failure. */
CIO_API int cio_loop_new(cio_loop **out, const cio_loop_opts *opts);

/* Closes the loop: discards pending callbacks and timers and releases the
 * backend. Returns: 0 (also when already closed). Errors: -EINVAL if running
 * or called from a thread other than the one running it, -EBUSY if tasks
 * are still pending (cancel and finish them first; cio_run does). A pending
 * task is never destroyed: -EBUSY leaves the loop and its tasks untouched,
 * and in debug mode also prints the refusal and a task dump naming each
 * pending task to stderr (asyncio's "Task was destroyed but it is
 * pending!"). */
CIO_API int cio_loop_close(cio_loop *loop);

/* Closes the loop if needed and frees it. Futures still referenced keep
 * the loop's memory alive until their last release, so a late release is
 * safe; nothing else may be done with them. Returns: 0. Errors: those of
 * cio_loop_close (the loop is then left untouched). */
CIO_API int cio_loop_free(cio_loop *loop);

/* Runs until cio_loop_stop; keeps running with nothing scheduled.
 * Returns: 0 when stopped. Errors: -EINVAL if closed, already running, or
 * another loop runs on this thread; CIO_EINTERRUPTED after Ctrl-C once
 * every task has finished (see cio/signal.h). */
CIO_API int cio_loop_run_forever(cio_loop *loop);

/* Runs until f is done (f is retained for the call). As in asyncio, the
 * loop runs until f's done callback has fired, so at least one iteration
 * runs even when f is already done (callbacks queued before the call have
 * then run). Returns: f's outcome like cio_future_result (0 and *result,
 * or f's error, or -ECANCELED). Errors: -EINVAL as run_forever; -EINTR if
 * the loop was stopped before f completed; CIO_EINTERRUPTED after Ctrl-C
 * (as run_forever). result may be NULL. */
CIO_API int cio_loop_run_until_complete(cio_loop *loop, cio_future *f,
                                        void **result);

/* Asks the loop to stop after the current iteration (callbacks already
 * scheduled still run once). If not running, the next run_forever polls
 * once and returns. Returns: 0. Errors: -EINVAL on NULL. Loop thread only;
 * other threads use cio_loop_stop_threadsafe. */
CIO_API int cio_loop_stop(cio_loop *loop);

/* Like cio_loop_stop, callable from any thread. Returns: 0. Errors:
 * -EINVAL on NULL or a closed loop. */
CIO_API int cio_loop_stop_threadsafe(cio_loop *loop);

/* Returns: 1 if the loop is running, 0 if not. */
CIO_API int cio_loop_is_running(const cio_loop *loop);

/* Returns: 1 if the loop is closed, 0 if not. */
CIO_API int cio_loop_is_closed(const cio_loop *loop);

/* The loop's clock in nanoseconds (asyncio's loop.time()). On the virtual
 * clock this is the virtual time. Returns: the time, or -EINVAL on NULL. */
CIO_API int64_t cio_loop_time(const cio_loop *loop);

/* The backend in use: "epoll" or "uring". Returns: a static string. */
CIO_API const char *cio_loop_backend_name(const cio_loop *loop);

/* The calling thread's current loop (set by cio_set_event_loop, or the
 * running loop). Never creates one. Returns: the loop or NULL. */
CIO_API cio_loop *cio_get_event_loop(void);

/* Makes loop (borrowed, may be NULL) the calling thread's current loop.
 * Returns: 0. Errors: -EINVAL if loop is closed. */
CIO_API int cio_set_event_loop(cio_loop *loop);

/* The loop running on the calling thread, valid inside tasks and
 * callbacks. Returns: the loop, or NULL when no loop runs here. */
CIO_API cio_loop *cio_get_running_loop(void);

/* A cancellable reference to a scheduled callback or timer. It is a value:
 * copy it freely; a stale handle is detected, never dereferenced. */
typedef struct cio_handle {
    void *p;
    uint64_t id;
} cio_handle;

/* Schedules cb(arg) to run on the next iteration, FIFO with other
 * call_soon callbacks. arg is borrowed: cio passes it to cb and never
 * frees it, so it must stay valid until cb has run or the handle was
 * cancelled. out (may be NULL) receives the handle, a value the caller
 * keeps (nothing to free).
 * Returns: 0. Errors: -EINVAL (NULL loop or cb, closed loop, wrong
 * thread), -ENOMEM. */
CIO_API int cio_loop_call_soon(cio_loop *loop, cio_cb cb, void *arg,
                               cio_handle *out);

/* Schedules cb(arg) after delay ns. A negative delay is a deadline in
 * the past, ordered as such (call_later(-1 s, a) then call_later(-2 s, b)
 * runs b, then a, as asyncio does). Timers with equal deadlines run in
 * the order scheduled. arg is borrowed until cb has run or the handle
 * was cancelled; out may be NULL (as call_soon). Returns/Errors: as
 * call_soon. */
CIO_API int cio_loop_call_later(cio_loop *loop, int64_t delay, cio_cb cb,
                                void *arg, cio_handle *out);

/* Schedules cb(arg) at absolute loop time when. arg is borrowed until cb
 * has run or the handle was cancelled; out may be NULL (as call_soon).
 * Returns/Errors: as call_soon. */
CIO_API int cio_loop_call_at(cio_loop *loop, int64_t when, cio_cb cb,
                             void *arg, cio_handle *out);

/* Cancels a callback or timer that has not run yet. Returns: 1 if it was
 * cancelled (it will never run), 0 if it already ran or was cancelled.
 * Errors: -EINVAL on NULL loop or wrong thread. */
CIO_API int cio_handle_cancel(cio_loop *loop, cio_handle h);

/* Schedules cb(arg) on loop from any thread; callbacks from one thread run
 * in the order submitted, and one already posted when the loop's thread
 * schedules work (call_soon, a task wake-up) runs before that work, as
 * asyncio's single ready queue orders them. The loop is woken through an
 * eventfd. Returns: 0. Errors: -EINVAL (NULL, closed loop), -ENOMEM. */
CIO_API int cio_loop_call_soon_threadsafe(cio_loop *loop, cio_cb cb,
                                          void *arg);

/* What the exception handler receives. All pointers are borrowed for the
 * duration of the handler call. */
typedef struct cio_exception_context {
    const char *message; /* what happened, never NULL */
    int error;           /* the error value, or 0 */
    const char *detail;  /* the future's error message, or NULL */
    cio_future *future;  /* the future concerned, or NULL */
    const char *task_name; /* the task concerned, or NULL */
} cio_exception_context;

typedef void (*cio_exception_handler)(cio_loop *loop,
                                      const cio_exception_context *ctx,
                                      void *arg);

/* Installs the handler for errors of callbacks and never-retrieved future
 * errors; NULL restores the default, which logs one line to stderr.
 * Returns: 0. Errors: -EINVAL on NULL loop. */
CIO_API int cio_loop_set_exception_handler(cio_loop *loop,
                                           cio_exception_handler h,
                                           void *arg);

/* The default handler (logs to stderr); handlers may chain to it. */
CIO_API void cio_loop_default_exception_handler(
    cio_loop *loop, const cio_exception_context *ctx, void *arg);

/* Calls the loop's current handler. Returns: 0. Errors: -EINVAL. */
CIO_API int cio_loop_call_exception_handler(cio_loop *loop,
                                            const cio_exception_context *ctx);

/* ======================================================================
 * Futures
 * A future is a refcounted, loop-bound, single-threaded object holding a
 * pending state or an outcome: a result (void *), an error (negative value
 * plus an optional message the future owns) or cancellation. Creating one
 * gives the caller one reference; cio_future_release drops it. The object
 * is freed when the last reference goes; never-retrieved errors are then
 * reported to the exception handler.
 * ====================================================================== */

/* Called with the future once it is done; scheduled with call_soon in the
 * order the callbacks were added. f is borrowed for the call. */
typedef int (*cio_done_cb)(cio_future *f, void *arg);

/* Creates a pending future bound to loop. Returns: 0, *out holds one
 * reference. Errors: -EINVAL (NULL, closed loop), -ENOMEM. */
CIO_API int cio_future_new(cio_loop *loop, cio_future **out);

/* Adds a reference. Returns: f. */
CIO_API cio_future *cio_future_retain(cio_future *f);

/* Drops a reference (NULL is ignored). */
CIO_API void cio_future_release(cio_future *f);

/* Sets the result (borrowed pointer, or owned if a destructor is set with
 * cio_future_set_result_dtor). Returns: 0. Errors: -EINVAL if already done
 * (asyncio's InvalidStateError) or f is a task. */
CIO_API int cio_future_set_result(cio_future *f, void *result);

/* Sets a destructor run on the result when the future is freed. */
CIO_API int cio_future_set_result_dtor(cio_future *f, void (*dtor)(void *));

/* Sets an error: err < 0 (not -ECANCELED: use cancel), msg copied (may be
 * NULL). Returns: 0. Errors: -EINVAL if done, f is a task, or err >= 0;
 * -ENOMEM copying msg (the error is still set, without message). */
CIO_API int cio_future_set_error(cio_future *f, int err, const char *msg);

/* Requests cancellation with an optional message (copied). A plain future
 * becomes cancelled at once and schedules its callbacks; a task receives
 * -ECANCELED at its current or next suspension point (see cio_task_*).
 * Returns: 1 if the request was accepted, 0 if f was already done.
 * Errors: -EINVAL (NULL; another thread than the one running f's loop:
 * nothing is cancelled). */
CIO_API int cio_future_cancel(cio_future *f, const char *msg);

/* Returns: 1 if done (result, error or cancelled), else 0. */
CIO_API int cio_future_done(const cio_future *f);

/* Returns: 1 if cancelled, else 0. */
CIO_API int cio_future_cancelled(const cio_future *f);

/* The outcome. Returns: 0 and *result (may be NULL) on success; the
 * stored error; -ECANCELED if cancelled. Errors: -EAGAIN if still pending
 * (asyncio's InvalidStateError). Marks an error as retrieved. */
CIO_API int cio_future_result(cio_future *f, void **result);

/* The error of a done future without the result: 0 if it has a result,
 * the error, or -ECANCELED. -EAGAIN if pending. Marks it retrieved. */
CIO_API int cio_future_error(cio_future *f);

/* The error's (or cancellation's) message, or NULL. Borrowed until f is
 * freed. */
CIO_API const char *cio_future_error_message(const cio_future *f);

/* The loop f belongs to (borrowed). */
CIO_API cio_loop *cio_future_loop(const cio_future *f);

/* Adds a done callback; if f is already done it is scheduled at once.
 * arg is borrowed until cb runs or is removed. Returns: 0. Errors:
 * -EINVAL (NULL), -ENOMEM. */
CIO_API int cio_future_add_done_callback(cio_future *f, cio_done_cb cb,
                                         void *arg);

/* Removes every registration of (cb, arg) that has not run yet.
 * Returns: the number removed. Errors: -EINVAL (NULL f or cb, another
 * thread than the one running f's loop). */
CIO_API int cio_future_remove_done_callback(cio_future *f, cio_done_cb cb,
                                            void *arg);

/* Waits for f from the calling task; only that task is suspended. f is
 * borrowed (retained internally while waiting). If the calling task is
 * cancelled meanwhile, f is cancelled too (asyncio semantics) and this
 * returns -ECANCELED once f is done (or at once if f cannot be cancelled).
 * Returns: as cio_future_result. Errors: -EINVAL outside a task or when f
 * belongs to another loop or is the calling task; -ECANCELED. Suspends. */
CIO_API int cio_await(cio_future *f, void **result);

/* ======================================================================
 * Tasks
 * A task runs a coroutine on its own stack. It is a future whose outcome
 * is the coroutine's: return 0 and set *result for a result, return a
 * negative value for an error. Returning -ECANCELED (typically passed up
 * from a suspension point) ends the task cancelled.
 * ====================================================================== */

/* A coroutine function: runs inside a task. */
typedef int (*cio_coro_fn)(void *arg, void **result);

/* A coroutine value: what create_task, ensure_future, wait, gather and the
 * threadsafe calls accept. arg is borrowed until the coroutine returns. */
typedef struct cio_coro {
    cio_coro_fn fn;
    void *arg;
} cio_coro;

/* CIO_CORO(fn, arg): the coroutine value fn(arg, ...). In C a compound
 * literal; in C++ (which has none, and warns about them under -pedantic)
 * the same value from the inline function cio_coro_make. */
#ifdef __cplusplus
/* C++ form of CIO_CORO: returns the coroutine value {fn, arg}. */
static inline cio_coro cio_coro_make(cio_coro_fn fn, void *arg)
{
    cio_coro c;
    c.fn = fn;
    c.arg = arg;
    return c;
}
#define CIO_CORO(fn, arg) cio_coro_make((fn), (void *)(arg))
#else
#define CIO_CORO(fn, arg) ((cio_coro){(fn), (void *)(arg)})
#endif

typedef enum cio_task_state {
    CIO_TASK_PENDING = 0,   /* created, or suspended */
    CIO_TASK_RUNNING = 1,   /* executing right now */
    CIO_TASK_DONE = 2,      /* finished with a result or an error */
    CIO_TASK_CANCELLED = 3  /* finished cancelled */
} cio_task_state;

typedef struct cio_task_opts {
    const char *name;          /* copied; NULL: "Task-N" */
    size_t stack_size;         /* 0: default (CIO_STACK_SIZE env, else
                                * 256 KiB, or 16 KiB compact stacks with
                                * CIO_STACK_COMPACT=1 in the env). A task
                                * that overflows it aborts the process
                                * with one line naming the task and the
                                * size; compile task code with
                                * -fstack-clash-protection so that a big
                                * frame cannot skip the guard page
                                * (docs/design.md section 7). */
    void (*result_dtor)(void *); /* frees the result with the task */
    /* Run the body synchronously inside create until its first suspension
     * (asyncio 3.12's eager_task_factory). If it ends there it never
     * touches the ready queue. */
    int eager;
} cio_task_opts;

#define CIO_TASK_OPTS_INIT {NULL, 0, NULL, 0}

/* Creates a task running coro on loop and schedules its first step; it
 * does not run before the caller returns to the loop. The task inherits a
 * copy of the creator's context variables. opts is borrowed for the call.
 * The loop holds its own reference until the task is done. Returns: 0; if
 * out is non-NULL, *out holds a reference the caller must release (NULL
 * out: fire-and-forget). Errors: -EINVAL (NULL loop or fn, closed loop,
 * wrong thread), -ENOMEM.
 * -ENOMEM also when no stack can be had (the first such failure in the
 * process prints one line naming the remedies: CIO_STACK_COMPACT=1,
 * vm.max_map_count, a smaller CIO_STACK_SIZE / stack_size); every entry
 * point that creates tasks fails the same way. How stacks are reserved
 * at creation and taken at the first step: docs/design.md section 7. */
CIO_API int cio_task_create(cio_loop *loop, cio_coro coro,
                            const cio_task_opts *opts, cio_task **out);

/* asyncio.ensure_future: given a future (coro.fn == NULL, f != NULL) it
 * retains and returns it; given a coroutine it creates a task. Returns: 0
 * and one reference in *out. Errors: as cio_task_create (including -ENOMEM
 * at the stack limit), -EINVAL if both or neither are given. */
CIO_API int cio_ensure_future(cio_loop *loop, cio_future *f, cio_coro coro,
                              cio_future **out);

/* Returns: 1 if f is a task, 0 if a plain future. */
CIO_API int cio_future_is_task(const cio_future *f);

/* The task running on this thread (borrowed), or NULL outside tasks. */
CIO_API cio_task *cio_current_task(void);

/* The task's state. Returns: a cio_task_state. Errors: -EINVAL if t is
 * not a task. */
CIO_API int cio_task_state_get(const cio_task *t);

/* The task's name (borrowed until renamed or freed), or NULL. */
CIO_API const char *cio_task_name(const cio_task *t);

/* Renames the task (name copied). Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_task_set_name(cio_task *t, const char *name);

/* Requests cancellation (same as cio_future_cancel on a task): the task's
 * current suspension point, or its next one, returns -ECANCELED. A task
 * cancelled before it starts never runs its body. If the task awaits a
 * future, that future is cancelled. Returns: 1 if accepted, 0 if done.
 * Errors: as cio_future_cancel. */
CIO_API int cio_task_cancel(cio_task *t, const char *msg);

/* Number of cancellation requests not withdrawn (asyncio's cancelling()),
 * which tells a task's own cancellation from a -ECANCELED of what it
 * awaited. Errors: -EINVAL if not a task. */
CIO_API int cio_task_cancelling(const cio_task *t);

/* Withdraws one cancellation request. Returns: the remaining count.
 * Errors: -EINVAL if not a task or called from another thread than the
 * one running the task's loop. */
CIO_API int cio_task_uncancel(cio_task *t);

/* Writes up to cap not-done tasks of loop into out (borrowed: valid until
 * the caller suspends or returns to the loop). Returns: the total number
 * of such tasks (may exceed cap). Errors: -EINVAL (NULL, or another
 * thread than the one running loop). */
CIO_API int cio_loop_all_tasks(cio_loop *loop, cio_task **out, size_t cap);

/* Registers fn(arg) to run when the calling task exits, LIFO, also when it
 * is cancelled. Returns: 0. Errors: -EINVAL outside a task, -ENOMEM. */
CIO_API int cio_task_defer(void (*fn)(void *), void *arg);

/* Suspends the calling task for duration ns; 0 (or less) just yields to
 * the other ready tasks once. Returns: 0. Errors: -ECANCELED, -EINVAL
 * outside a task. Suspends. */
CIO_API int cio_sleep(int64_t duration);

/* asyncio.run: makes a new loop, runs main(arg) as a task to completion,
 * cancels and finishes every leftover task, and closes the loop. arg is
 * borrowed: passed to main as is, never freed by cio. result may be NULL;
 * else *result takes main's result pointer (the caller owns it from then
 * on; NULL when main failed). Returns: main's outcome (0, its error, -ECANCELED).
 * Errors: -EINVAL if a loop already runs on this thread, -ENOMEM,
 * CIO_EINTERRUPTED if Ctrl-C (SIGINT) arrived: every task was cancelled,
 * has finished and the loop is closed, and cio_run returns normally, so
 * the code after it runs and stdio is flushed by the program's own exit,
 * nothing behind its back. To end the way an unhandled SIGINT does
 * (status 130 in a shell, as asyncio's KeyboardInterrupt), call
 * cio_raise_sigint() then. A second Ctrl-C during the cleanup ends the
 * process at once. See cio/signal.h. */
CIO_API int cio_run(cio_coro_fn main, void *arg, void **result);

/* ======================================================================
 * Context variables (contextvars)
 * A task starts with a copy of its creator's context: values it sets are
 * seen by tasks it creates afterwards, never by its siblings or parent.
 * Outside tasks the thread has its own context. Values are borrowed
 * pointers: cio never frees them.
 * ====================================================================== */

typedef struct cio_contextvar cio_contextvar;

/* Creates a variable (name copied, for debugging). Returns: 0.
 * Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_contextvar_new(cio_contextvar **out, const char *name,
                               void *default_value);

/* Frees a variable. Contexts that still hold it keep a valid key. */
CIO_API void cio_contextvar_free(cio_contextvar *v);

/* Reads the value in the current context. Returns: 1 if set there, 0 if
 * the default was returned. Errors: -EINVAL on NULL. */
CIO_API int cio_contextvar_get(const cio_contextvar *v, void **value);

/* Sets the value in the current context. Returns: 0. Errors: -EINVAL,
 * -ENOMEM. */
CIO_API int cio_contextvar_set(cio_contextvar *v, void *value);

/* ======================================================================
 * Generators
 * A generator runs a function on its own stack and is driven by its
 * caller, not by the loop: next/send resume it until it yields a value or
 * returns. It works inside and outside tasks; a generator body must not
 * call suspending task functions (they return -EINVAL there).
 * ====================================================================== */

typedef struct cio_gen cio_gen;

/* The generator body. It yields with cio_gen_yield and ends by returning 0
 * with *retval set (StopIteration's value) or a negative error. */
typedef int (*cio_gen_fn)(cio_gen *g, void *arg, void **retval);

/* Outcome of resuming a generator. */
#define CIO_GEN_YIELDED 0 /* *value is the yielded value */
#define CIO_GEN_RETURNED 1 /* the body returned; *value is its retval */

/* Creates a generator (not started). stack_size 0: default. arg is
 * borrowed until the body returns. Returns: 0. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_gen_new(cio_gen **out, cio_gen_fn fn, void *arg,
                        size_t stack_size);

/* Frees a generator. A suspended body is first resumed with CIO_EGENEXIT
 * (asyncio's GeneratorExit) so its cleanup runs; if it yields again the
 * stack is discarded anyway and 1 is returned. Returns: 0 or 1. */
CIO_API int cio_gen_free(cio_gen *g);

/* Resumes with no value (Python's next(g), i.e. send(None)). Returns:
 * CIO_GEN_YIELDED or CIO_GEN_RETURNED with *value; the body's error (the
 * generator is then finished). Errors: -EINVAL if running or finished
 * (-EINVAL also for a first send of a non-NULL value). */
CIO_API int cio_gen_next(cio_gen *g, void **value);

/* Resumes, making the pending cio_gen_yield return 0 with *sent = in.
 * Returns/Errors: as cio_gen_next. */
CIO_API int cio_gen_send(cio_gen *g, void *in, void **value);

/* Resumes, making the pending cio_gen_yield return err (< 0): the error is
 * "raised" at the yield point. An unstarted generator finishes at once
 * with err. Returns/Errors: as cio_gen_next. */
CIO_API int cio_gen_throw(cio_gen *g, int err, void **value);

/* Inside the body: yields value to the caller and waits to be resumed.
 * sent may be NULL. Returns: 0 (resumed by next/send, *sent set) or the
 * error thrown in. Errors: -EINVAL when g is not the running generator. */
CIO_API int cio_gen_yield(cio_gen *g, void *value, void **sent);

/* Inside the body: delegates to sub (yield from): every value sub yields
 * goes to g's caller, and every send/throw goes to sub, until sub returns.
 * sub is borrowed (freed by the caller). Returns: 0 with *retval set to
 * sub's return value, or sub's error. Errors: -EINVAL. */
CIO_API int cio_gen_yield_from(cio_gen *g, cio_gen *sub, void **retval);

/* Returns: 1 if the body has returned or failed, else 0. */
CIO_API int cio_gen_finished(const cio_gen *g);

#ifdef __cplusplus
}
#endif

/* The areas built on the foundation above, in dependency order. */
#include "cio/poller.h" /* add_reader/add_writer, selectors */
#include "cio/net.h"    /* addresses, resolution, awaitable sockets */
#include "cio/stream.h" /* streams, transports, protocols, servers */
#include "cio/tls.h"    /* TLS contexts, start_tls, TLS state */
#include "cio/datagram.h" /* UDP: datagram endpoints (protocols) */
#include "cio/wait.h"   /* wait, gather, as_completed, timeouts, groups */
#include "cio/sync.h"   /* locks, events, semaphores, queues */
#include "cio/signal.h" /* signal handlers, Ctrl-C, debug mode */
#include "cio/exec.h"   /* threads, concurrent futures, executors */
#include "cio/process.h" /* subprocesses, pipes */

#endif /* CIO_H */
