/*
 * cio/exec.h - crossing threads and processes: concurrent (thread-safe)
 * futures, loops in background threads, run_coroutine_threadsafe, thread
 * and process pool executors, run_in_executor / to_thread, and
 * multiprocessing.Pool-like conveniences. Included by cio.h; do not
 * include directly.
 *
 * Threads that cio creates (pool workers, process-pool coordinators, loop
 * threads) start with every asynchronous signal blocked, so signals such
 * as SIGINT and SIGTERM are delivered to the program's own threads (the
 * main thread) and never interrupt a worker. Synchronous fault signals
 * (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS) stay unblocked so a
 * crash is still reported. Everything here allocates through the
 * installed cio_allocator from several threads: a custom allocator must
 * be thread-safe once these functions are used.
 */
#ifndef CIO_EXEC_H
#define CIO_EXEC_H

#ifndef CIO_H
#error "include cio.h, not cio/exec.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Concurrent futures (concurrent.futures.Future)
 * A cio_cfuture is refcounted with atomics and safe to use from any
 * thread. States: pending, running, done (result or error) or cancelled.
 * Done callbacks run in the thread that completes the future (the worker,
 * the coordinator, the loop thread, or the thread calling cancel), as
 * Python's do; a callback added to a future that is already done runs at
 * once in the adding thread. Blocking calls take a relative timeout in ns
 * (timeout < 0: wait forever, 0: do not wait) and return -ETIMEDOUT when
 * it passes; they never suspend a task (use cio_cfuture_await there).
 * ====================================================================== */

typedef struct cio_cfuture cio_cfuture;

/* A byte buffer (pointer and length). */
typedef struct cio_bytes {
    void *data;
    size_t len;
} cio_bytes;

/* Called once the future is done; cf is borrowed for the call. A
 * negative return is how the callback "raises": it is reported (Python's
 * concurrent.futures logs "exception calling callback") and the next
 * callback still runs. The report goes to the exception handler of the
 * loop running on the thread that runs the callbacks, if any, else to
 * cio_loop_default_exception_handler (one line on stderr). */
typedef int (*cio_cfuture_cb)(cio_cfuture *cf, void *arg);

/* Creates a pending concurrent future (for code that completes it
 * itself; executors create theirs). Returns: 0, *out holds one
 * reference. Errors: -EINVAL (NULL out), -ENOMEM. */
CIO_API int cio_cfuture_new(cio_cfuture **out);

/* Adds a reference (atomic, any thread). Returns: cf. */
CIO_API cio_cfuture *cio_cfuture_retain(cio_cfuture *cf);

/* Drops a reference (NULL is ignored); the last one frees the future,
 * any process-pool result it owns, and its message. Any thread. */
CIO_API void cio_cfuture_release(cio_cfuture *cf);

/* Cancels the future if it is pending (not yet running): it becomes
 * cancelled, blocked waiters wake and done callbacks run in this thread.
 * Returns: 1 if it is cancelled (now or before), 0 if it is running or
 * done (Python's semantics). Errors: -EINVAL on NULL. */
CIO_API int cio_cfuture_cancel(cio_cfuture *cf);

/* Returns: 1 if cancelled, else 0. */
CIO_API int cio_cfuture_cancelled(const cio_cfuture *cf);

/* Returns: 1 if running (taken by a worker, not done), else 0. */
CIO_API int cio_cfuture_running(const cio_cfuture *cf);

/* Returns: 1 if done (result, error or cancelled), else 0. */
CIO_API int cio_cfuture_done(const cio_cfuture *cf);

/* Blocks the calling thread until the future is done or timeout ns pass.
 * Returns: 0 and *result (may be NULL; borrowed: a process-pool result is
 * a const cio_bytes * owned by cf and valid until cf is released).
 * Errors: the job's error, -ECANCELED if cancelled, -ETIMEDOUT, -EINVAL
 * (NULL cf). result may be NULL. */
CIO_API int cio_cfuture_result(cio_cfuture *cf, int64_t timeout,
                               void **result);

/* Python's exception(timeout): blocks like cio_cfuture_result.
 * Returns: 0 if the future has a result, its error, or -ECANCELED.
 * Errors: -ETIMEDOUT, -EINVAL. */
CIO_API int cio_cfuture_error(cio_cfuture *cf, int64_t timeout);

/* The error's message ("worker process 1234 died: signal 11", a task's
 * error message...), or NULL. Borrowed until cf is released; NULL while
 * the future is not done. */
CIO_API const char *cio_cfuture_error_message(const cio_cfuture *cf);

/* Adds a done callback (arg borrowed until it runs). See the section
 * intro for the thread it runs in. Returns: 0. Errors: -EINVAL, -ENOMEM
 * (the callback is then not registered). */
CIO_API int cio_cfuture_add_done_callback(cio_cfuture *cf, cio_cfuture_cb cb,
                                          void *arg);

/* Removes every registration of (cb, arg) that has not run. Returns: the
 * number removed. Errors: -EINVAL. */
CIO_API int cio_cfuture_remove_done_callback(cio_cfuture *cf,
                                             cio_cfuture_cb cb, void *arg);

/* For executors: marks a pending future running and returns 1, or, if it
 * was cancelled, records that the cancellation was seen and returns 0
 * (the job must then be skipped). Errors: -EINVAL if it was already
 * running or done, or cf is NULL. */
CIO_API int cio_cfuture_set_running_or_notify_cancel(cio_cfuture *cf);

/* Completes the future with a result (borrowed pointer), waking waiters
 * and running callbacks in this thread. Returns: 0. Errors: -EINVAL if
 * already done (cancelled included). */
CIO_API int cio_cfuture_set_result(cio_cfuture *cf, void *result);

/* Completes the future with an error (err < 0, not -ECANCELED; msg copied,
 * may be NULL). Returns: 0. Errors: -EINVAL if done or err is invalid;
 * -ENOMEM copying msg (the error is still set, without message). */
CIO_API int cio_cfuture_set_error(cio_cfuture *cf, int err, const char *msg);

/* asyncio.as_completed / concurrent.futures.as_completed for threads: an
 * iterator over concurrent futures in completion order. The executors'
 * map iterators (cio_thread_pool_map_iter, cio_process_pool_map_iter)
 * are the same type, driven by the same next and free, but yield in
 * argument order with Python's map semantics (see there). */
typedef struct cio_cfuture_iter cio_cfuture_iter;

/* Starts iterating over the distinct futures of fs[0..n) (each retained
 * once; a future given several times is returned once, as Python's
 * set(fs)). The array is borrowed for the call. timeout < 0: none;
 * otherwise a deadline for the whole iteration, measured from this call.
 * Returns: 0. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_cfuture_as_completed_new(cio_cfuture *const *fs, size_t n,
                                         int64_t timeout,
                                         cio_cfuture_iter **out);

/* Blocks until the next future is done. A future already done when this
 * is called is returned even after the deadline. Returns: 1 and *cf
 * (borrowed until the iterator is freed, or for a map iterator until the
 * next call; retain it to keep it longer), 0 once every future was
 * returned. Errors: -ETIMEDOUT once the deadline passed and nothing done
 * is left to return (as_completed cancels nothing, later calls may still
 * return futures that finished since, and the count of unfinished ones
 * is read with cio_cfuture_as_completed_unfinished or as Python's
 * message with cio_cfuture_as_completed_error_message; a map iterator
 * cancels the items not yet started, the one waited for included, and
 * every later call returns -ETIMEDOUT), -EINVAL. */
CIO_API int cio_cfuture_as_completed_next(cio_cfuture_iter *it,
                                          cio_cfuture **cf);

/* Python's "N (of M) futures unfinished" as numbers: the distinct futures
 * not returned yet, and in *total (may be NULL) how many distinct
 * futures the iterator has. Any thread. Returns: N. Errors: -EINVAL on
 * NULL. */
CIO_API ssize_t cio_cfuture_as_completed_unfinished(cio_cfuture_iter *it,
                                                    size_t *total);

/* The message of as_completed's last -ETIMEDOUT, worded as Python's
 * concurrent.futures.TimeoutError: "N (of M) futures unfinished", with
 * the counts at the time of that timeout. Returns: a string borrowed
 * until the next cio_cfuture_as_completed_next or free, or NULL if no
 * call timed out yet (always NULL for a map iterator, whose Python
 * counterpart raises a bare TimeoutError). */
CIO_API const char *cio_cfuture_as_completed_error_message(
    cio_cfuture_iter *it);

/* Frees the iterator and releases its references. as_completed cancels
 * nothing; a map iterator cancels the items it has not returned yet
 * (those not started never run; running ones finish unobserved), as
 * leaving Python's map loop early does. NULL is ignored. */
CIO_API void cio_cfuture_as_completed_free(cio_cfuture_iter *it);

/* ======================================================================
 * Bridges between loop futures and concurrent futures
 * ====================================================================== */

/* asyncio.wrap_future: a loop future that completes like cf. cf is
 * retained. The copy happens on the loop thread. Cancelling the loop
 * future (e.g. cancelling the task awaiting it) cancels cf, which stops
 * the job if it has not started; the loop future is cancelled either way.
 * A process-pool result stays valid as long as the loop future lives.
 * Loop thread only. Returns: 0 and one reference in *out. Errors:
 * -EINVAL (NULL, closed loop, wrong thread), -ENOMEM. */
CIO_API int cio_cfuture_wrap(cio_loop *loop, cio_cfuture *cf,
                             cio_future **out);

/* Awaits a concurrent future from a task without blocking the loop (wrap
 * + await). cf is borrowed. If the task is cancelled, cf is cancelled
 * (a job that has not started never runs) and this returns -ECANCELED at
 * once. Returns: as cio_cfuture_result (result borrowed from cf).
 * Errors: -EINVAL outside a task, -ENOMEM, -ECANCELED. Suspends. */
CIO_API int cio_cfuture_await(cio_cfuture *cf, void **result);

/* Exposes a loop future to other threads: a concurrent future that
 * completes when f does (the copy happens on the loop thread, through a
 * done callback on f). f is retained until then. Cancelling the returned
 * future from any thread cancels f on the loop thread. If the loop is
 * closed first, the concurrent future is cancelled. Loop thread only.
 * Returns: 0 and one reference in *out. Errors: -EINVAL, -ENOMEM. */
CIO_API int cio_cfuture_from_future(cio_future *f, cio_cfuture **out);

/* asyncio.run_coroutine_threadsafe: from any thread, starts coro as a
 * task on loop and returns a concurrent future that completes with the
 * task's outcome (result pointer borrowed, error with its message, or
 * cancellation). Cancelling the concurrent future cancels the task (on
 * the loop thread); a task cancelled or a loop closed before the task
 * started leaves the future cancelled. coro.arg is borrowed until the
 * coroutine returns. Returns: 0 and one reference in *out. Errors:
 * -EINVAL (NULL, closed loop), -ENOMEM. */
CIO_API int cio_run_coroutine_threadsafe(cio_loop *loop, cio_coro coro,
                                         cio_cfuture **out);

/* ======================================================================
 * Loops in background threads
 * The note's start_loop(loop) in a Thread: a new loop running
 * run_forever in a thread cio creates (signals blocked), fed with
 * cio_loop_call_soon_threadsafe and cio_run_coroutine_threadsafe, and
 * stopped from any other thread.
 * ====================================================================== */

typedef struct cio_loop_thread cio_loop_thread;

/* Creates a loop (opts borrowed for the call; NULL: defaults) and starts
 * a thread named "cio-loop" that makes it its current loop and runs it
 * forever. Returns: 0 and *out. Errors: those of cio_loop_new, -EAGAIN
 * (no thread), -ENOMEM; *out is NULL on failure. */
CIO_API int cio_loop_thread_start(cio_loop_thread **out,
                                  const cio_loop_opts *opts);

/* The thread's loop (borrowed until cio_loop_thread_stop_join). Other
 * threads may only use its *_threadsafe entry points. */
CIO_API cio_loop *cio_loop_thread_loop(const cio_loop_thread *lt);

/* Stops the loop (cio_loop_stop_threadsafe); the loop thread then cancels
 * every task still pending, runs them to the end, closes the loop (which
 * shuts its default executor down) and exits. Joins that thread and frees
 * lt and the loop. Must not be called from the loop thread. Returns: 0.
 * Errors: -EINVAL (NULL), -EDEADLK (called from the loop thread). */
CIO_API int cio_loop_thread_stop_join(cio_loop_thread *lt);

/* ======================================================================
 * Thread pool executor (concurrent.futures.ThreadPoolExecutor)
 * Workers start lazily (one per submission while none is idle, up to
 * max_workers), are named "<prefix>-<n>" and survive failing jobs. The
 * scoped use of Python's `with ThreadPoolExecutor(...) as pool:` is, in
 * C, the pair cio_thread_pool_new ... cio_thread_pool_free: free ends the
 * scope by shutting down with wait=1, so everything submitted has run
 * when it returns.
 * ====================================================================== */

typedef struct cio_thread_pool cio_thread_pool;

/* A job: runs in a worker thread; returns 0 and sets *result, or a
 * negative error. Same shape as cio_coro_fn. */
typedef int (*cio_job_fn)(void *arg, void **result);

typedef struct cio_thread_pool_opts {
    /* 0: min(32, CPUs + 4), Python's default. */
    unsigned max_workers;
    /* Worker thread names: prefix "-" number (copied; at most 10 bytes
     * are used). NULL: "cio-pool". */
    const char *name_prefix;
} cio_thread_pool_opts;

#define CIO_THREAD_POOL_OPTS_INIT {0, NULL}

/* Creates a pool (no thread yet). opts borrowed for the call (NULL:
 * defaults). Returns: 0 and *out. Errors: -EINVAL, -ENOMEM; *out is NULL
 * on failure. */
CIO_API int cio_thread_pool_new(cio_thread_pool **out,
                                const cio_thread_pool_opts *opts);

/* Submits fn(arg); arg is borrowed until the job ends (or is cancelled).
 * Returns: 0 and one reference in *out (which may be NULL:
 * fire-and-forget). Errors: -EINVAL, -ESHUTDOWN after shutdown, -ENOMEM,
 * -EAGAIN (no worker could be started and none exists). */
CIO_API int cio_thread_pool_submit(cio_thread_pool *p, cio_job_fn fn,
                                   void *arg, cio_cfuture **out);

/* Executor.map, blocking: runs fn(args[i]) for i in [0, n) on the pool
 * and stores results[i] (and errors[i] if errors is non-NULL: 0, the job's
 * error, -ECANCELED, -ETIMEDOUT) in argument order. timeout < 0: none;
 * else a deadline for the whole map, after which the jobs not yet
 * started are cancelled. Returns: 0 if every job succeeded, else the
 * first failure in argument order. Errors: as submit, -ETIMEDOUT. */
CIO_API int cio_thread_pool_map(cio_thread_pool *p, cio_job_fn fn,
                                void *const *args, size_t n, int64_t timeout,
                                void **results, int *errors);

/* Executor.map as Python has it: submits fn(args[i]) for every i at once
 * (args borrowed for the call, each args[i] until its job ends) and
 * returns an iterator whose cio_cfuture_as_completed_next blocks until
 * the next item in argument order is done and yields its future (read it
 * with cio_cfuture_result(cf, 0, &r): the job's result or error). So the
 * first result is available as soon as the first job is done, whatever
 * the later ones do. timeout < 0: none; else a deadline for the whole
 * iteration measured from this call, after which next returns -ETIMEDOUT
 * and the items not yet started are cancelled. Freeing the iterator early
 * cancels the items not yet started. Returns: 0 and *out. Errors:
 * -EINVAL, and those of submit (nothing then stays queued). */
CIO_API int cio_thread_pool_map_iter(cio_thread_pool *p, cio_job_fn fn,
                                     void *const *args, size_t n,
                                     int64_t timeout, cio_cfuture_iter **out);

/* Stops accepting work. With cancel_futures, queued jobs that have not
 * started are cancelled. With wait, blocks until every worker has
 * finished the remaining jobs and exited. Idempotent. Returns: 0.
 * Errors: -EINVAL, -EDEADLK (wait from one of the pool's own workers). */
CIO_API int cio_thread_pool_shutdown(cio_thread_pool *p, int wait,
                                     int cancel_futures);

/* Ends the scope: shutdown(wait=1) then frees the pool. Futures already
 * handed out stay valid. NULL is ignored. Must not be called from a
 * worker of the pool. */
CIO_API void cio_thread_pool_free(cio_thread_pool *p);

/* asyncio's loop.run_in_executor: submits fn(arg) to pool (NULL: the
 * loop's default pool, created on first use and shut down with wait=1 by
 * cio_loop_close, hence by cio_run) and returns a loop future for its
 * outcome. Cancelling that future cancels the job if it has not started.
 * A process pool takes cio_run_in_process_pool (declared with the
 * process pool below), which keeps this contract. Loop thread only.
 * Returns: 0 and one reference in *out. Errors: -EINVAL, -ESHUTDOWN,
 * -ENOMEM. */
CIO_API int cio_run_in_executor(cio_loop *loop, cio_thread_pool *pool,
                                cio_job_fn fn, void *arg, cio_future **out);

/* asyncio.to_thread: runs fn(arg) in the running loop's default pool and
 * waits for it without blocking the loop. If the calling task is
 * cancelled, a job that has not started never runs. Returns: fn's outcome
 * (0 and *result, or its error). Errors: -EINVAL outside a task,
 * -ECANCELED, -ENOMEM. Suspends. */
CIO_API int cio_to_thread(cio_job_fn fn, void *arg, void **result);

/* ======================================================================
 * Process pool executor (concurrent.futures.ProcessPoolExecutor)
 * For CPU-bound C functions. Workers are never forked from a process that
 * runs threads: the first cio_process_pool_new (or cio_process_pool_prepare)
 * forks a small fork server while the program is still single-threaded,
 * and every worker is a fork of that server. Functions are identified by
 * a registry filled before the fork server starts, so every worker has
 * the same table; jobs carry the function's index. Arguments and results
 * are byte buffers copied over a Unix socket: inputs up to
 * CIO_PROCESS_MAX_INPUT bytes, results up to opts.max_result bytes (the
 * function gets an output buffer of that size). A worker that dies
 * (signal, abort, exit) fails the job it held with CIO_ECHILD_DIED and the message
 * "worker process <pid> died: signal 11" (or "...: exit status 3"), and is
 * replaced on demand; the fork server reaps it, so no zombie remains. A
 * pool's coordinator is a thread cio creates (signals blocked); done
 * callbacks of process futures run there.
 * ====================================================================== */

typedef struct cio_process_pool cio_process_pool;

#define CIO_PROCESS_MAX_INPUT ((size_t)64 << 20) /* 64 MiB */

/* A process job: reads in[0..in_len) and writes at most *out_len bytes
 * to out, setting *out_len to the size written (it starts as the buffer's
 * capacity). Returns 0, or a negative error for the future. Runs in a
 * worker process: its side effects stay there. */
typedef int (*cio_process_fn)(const void *in, size_t in_len, void *out,
                              size_t *out_len);

/* Registers fn under name (borrowed: a string literal) for process
 * pools. Must happen before the fork server starts (the first
 * cio_process_pool_new or cio_process_pool_prepare). Registering the same
 * fn twice returns its first index. Returns: the index (>= 0). Errors:
 * -EINVAL, -EBUSY (the fork server already runs), -ENOSPC (256
 * functions). */
CIO_API int cio_process_pool_register(const char *name, cio_process_fn fn);

/* Starts the fork server now. Call it early in main, after registering
 * functions and before any thread exists. Idempotent. Returns: 0.
 * Errors: -EBUSY (the process already runs other threads), -ENOMEM,
 * -EMFILE, -EAGAIN (fork failed). */
CIO_API int cio_process_pool_prepare(void);

typedef struct cio_process_pool_opts {
    unsigned max_workers;         /* 0: the number of CPUs */
    unsigned max_tasks_per_child; /* 0: unlimited; else a worker exits
                                   * after that many jobs and is replaced */
    size_t max_result;            /* 0: 64 KiB; at most 64 MiB */
} cio_process_pool_opts;

#define CIO_PROCESS_POOL_OPTS_INIT {0, 0, 0}

/* Creates a pool (starting the fork server if needed) and its
 * coordinator thread; workers start on demand. opts borrowed for the
 * call. Returns: 0 and *out. Errors: -EINVAL, -ENOMEM, and those of
 * cio_process_pool_prepare; *out is NULL on failure. */
CIO_API int cio_process_pool_new(cio_process_pool **out,
                                 const cio_process_pool_opts *opts);

/* Submits fn(in) (fn registered; in copied, may be NULL when len is 0).
 * The result of the future is a const cio_bytes * owned by the future.
 * Returns: 0 and one reference in *out (NULL: fire-and-forget). Errors:
 * -EINVAL, -ENOENT (fn not registered), -EMSGSIZE (input too big),
 * -ESHUTDOWN, -ENOMEM. */
CIO_API int cio_process_pool_submit(cio_process_pool *p, cio_process_fn fn,
                                    const void *in, size_t len,
                                    cio_cfuture **out);

/* loop.run_in_executor with a process pool: submits fn(in) to pool (fn
 * registered, in copied as for cio_process_pool_submit; pool must not be
 * NULL: there is no default process pool) and returns a loop future whose
 * result is a const cio_bytes * valid as long as that loop future lives.
 * Same cancellation contract as cio_run_in_executor: cancelling the loop
 * future (e.g. cancelling the task awaiting it) cancels the job if it has
 * not started, so it never runs; a job already running is not
 * interrupted: it runs to its end in the worker and its result is
 * discarded, while the awaiting task gets -ECANCELED at once. The pool
 * must outlive the job (cio_process_pool_free waits for it). Loop thread
 * only. Returns: 0 and one reference in *out. Errors: -EINVAL, and those
 * of cio_process_pool_submit. */
CIO_API int cio_run_in_process_pool(cio_loop *loop, cio_process_pool *pool,
                                    cio_process_fn fn, const void *in,
                                    size_t len, cio_future **out);

/* Executor.map over fixed-size records, blocking: input record i is
 * ins + i * in_size, and its result (exactly out_size bytes, else that
 * item fails with -EMSGSIZE) is copied to outs + i * out_size, in
 * argument order. errors (may be NULL) and timeout as for
 * cio_thread_pool_map. Returns: 0 if every job succeeded, else the first
 * failure in argument order. Errors: as submit, -ETIMEDOUT. */
CIO_API int cio_process_pool_map(cio_process_pool *p, cio_process_fn fn,
                                 const void *ins, size_t in_size, size_t n,
                                 void *outs, size_t out_size, int64_t timeout,
                                 int *errors);

/* Executor.map over fixed-size records as an iterator: submits fn on
 * every input record (ins + i * in_size, copied) at once and returns an
 * iterator yielding the futures in argument order, each result a const
 * cio_bytes * owned by its future (borrowed until the next call). Same
 * semantics as cio_thread_pool_map_iter: next blocks per item, the
 * timeout is measured from this call, timing out or freeing the iterator
 * early cancels the items not yet started. Returns: 0 and *out. Errors:
 * -EINVAL, and those of submit (nothing then stays queued). */
CIO_API int cio_process_pool_map_iter(cio_process_pool *p, cio_process_fn fn,
                                      const void *ins, size_t in_size,
                                      size_t n, int64_t timeout,
                                      cio_cfuture_iter **out);

/* Stops accepting work; cancel_futures cancels the queued jobs; wait
 * blocks until the running jobs are done and every worker has exited.
 * Idempotent. Returns: 0. Errors: -EINVAL, -EDEADLK (wait from the
 * coordinator, i.e. inside a done callback of the pool's futures). */
CIO_API int cio_process_pool_shutdown(cio_process_pool *p, int wait,
                                      int cancel_futures);

/* Shuts down with wait=1 and frees the pool (the scope's end). NULL is
 * ignored. */
CIO_API void cio_process_pool_free(cio_process_pool *p);

/* ======================================================================
 * Pools (multiprocessing.Pool and multiprocessing.pool.ThreadPool)
 * One type over both executors, with the same registered cio_process_fn
 * functions for both kinds, so switching a program from processes to
 * threads is one argument. apply_async returns a concurrent future whose
 * cio_cfuture_result(cf, timeout, &r) is Python's get(timeout).
 * ====================================================================== */

typedef struct cio_pool cio_pool;

typedef enum cio_pool_kind {
    CIO_POOL_PROCESS = 0, /* multiprocessing.Pool */
    CIO_POOL_THREAD = 1   /* multiprocessing.pool.ThreadPool */
} cio_pool_kind;

/* Creates a pool of `workers` processes or threads (0: the number of
 * CPUs). Returns: 0 and *out. Errors: as cio_process_pool_new or
 * cio_thread_pool_new; *out is NULL on failure. */
CIO_API int cio_pool_new(cio_pool **out, cio_pool_kind kind,
                         unsigned workers);

/* Pool.apply_async(fn, in): fn as for cio_process_pool_submit (it must be
 * registered for a process pool; any function for a thread pool), in
 * copied. The future's result is a const cio_bytes * owned by the
 * future. Returns: 0 and one reference in *out. Errors: as
 * cio_process_pool_submit. */
CIO_API int cio_pool_apply_async(cio_pool *p, cio_process_fn fn,
                                 const void *in, size_t len,
                                 cio_cfuture **out);

/* Pool.map, blocking, over fixed-size records: as
 * cio_process_pool_map. */
CIO_API int cio_pool_map(cio_pool *p, cio_process_fn fn, const void *ins,
                         size_t in_size, size_t n, void *outs,
                         size_t out_size, int *errors);

/* Pool.close + join + free: waits for the submitted work. NULL is
 * ignored. */
CIO_API void cio_pool_free(cio_pool *p);

#ifdef __cplusplus
}
#endif

#endif
