/*
 * cio/signal.h - Unix signals on the loop, Ctrl-C, debug mode and task
 * dumps. Included by cio.h; do not include directly.
 *
 * Signals: a process-wide handler only records the signal and wakes the
 * loop that registered it (an eventfd write, async-signal-safe); the
 * callback then runs on that loop's thread as an ordinary callback, never
 * inside the signal handler. A signal number belongs to at most one loop
 * at a time, whichever thread runs it, main or not. Threads that cio
 * creates block every signal, so the kernel delivers to the application's
 * own threads; which thread is interrupted does not matter.
 *
 * Ctrl-C: while a loop runs on the process's main thread (run_forever,
 * run_until_complete, cio_run), SIGINT's default disposition, and no
 * handler of yours is registered for it, the first SIGINT cancels every
 * task of that loop and lets them clean up; when the last one has
 * finished the loop stops and the call running it returns
 * CIO_EINTERRUPTED (cio_run after closing its loop), as asyncio.run
 * raises KeyboardInterrupt to its caller. The program decides what
 * follows: print, flush, exit with a status, or cio_raise_sigint() to die
 * by SIGINT as an unhandled Ctrl-C does. A second SIGINT during the
 * cleanup ends the process at once (by SIGINT). Registering a SIGINT
 * handler replaces all of this.
 */
#ifndef CIO_SIGNAL_H
#define CIO_SIGNAL_H

#ifndef CIO_H
#error "include cio.h, not cio/signal.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Runs cb(arg) on loop each time signo arrives (coalesced: several
 * deliveries before the loop runs give one call). arg is borrowed until
 * the handler is removed. Replaces this loop's earlier handler for signo.
 * Returns: 0. Errors: -EINVAL (bad or uncatchable signal: SIGKILL,
 * SIGSTOP, and the synchronous faults SIGSEGV, SIGBUS, SIGILL, SIGFPE;
 * NULL cb; closed loop), -EBUSY (another loop owns signo), -errno from
 * sigaction. */
CIO_API int cio_loop_add_signal_handler(cio_loop *loop, int signo, cio_cb cb,
                                        void *arg);

/* Removes loop's handler for signo and restores the disposition that was
 * in place before. Returns: 1 if a handler was removed, 0 if none.
 * Errors: -EINVAL. */
CIO_API int cio_loop_remove_signal_handler(cio_loop *loop, int signo);

/* Ends the process the way an unhandled SIGINT does: SIGINT's default
 * disposition is restored, SIGINT unblocked and raised, so the parent
 * sees death by SIGINT (a shell reports status 130 and prints nothing).
 * The opt-in for programs that want Ctrl-C to end them after cio_run (or
 * run_forever) returned CIO_EINTERRUPTED. Buffered stdio is not flushed
 * (call fflush first if you want it). Does not return. */
CIO_API void cio_raise_sigint(void);

/* Debug mode (also enabled for every new loop by CIO_DEBUG set to
 * anything but "" or "0", read by cio_loop_new): warns on stderr about
 * callbacks and task steps that block the loop longer than the slow
 * callback duration (naming the task), about cio_loop_close refused
 * because tasks are pending (with a task dump naming them) and about loop
 * calls made from the wrong thread (which fail with -EINVAL in every
 * mode), and prints a task dump to stderr on SIGQUIT while the loop runs
 * on the main thread (if SIGQUIT has its default disposition and no
 * handler owns it). It also reports to the exception handler ("task
 * ended while holding a lock", with the task's name) a task whose body
 * and deferred cleanups end while it holds a cio_lock it acquired on
 * this loop; the lock stays locked, as in asyncio. Each step is timed on
 * its own in debug mode, so a finishing task does not hand its stack to
 * the next one there.
 * Returns: 0. Errors: -EINVAL. */
CIO_API int cio_loop_set_debug(cio_loop *loop, int enabled);

/* Returns: 1 if debug mode is on, else 0. */
CIO_API int cio_loop_debug(const cio_loop *loop);

/* Threshold for the slow-callback warning (asyncio's
 * slow_callback_duration; default 100 ms). Errors: -EINVAL. */
CIO_API int cio_loop_set_slow_callback_duration(cio_loop *loop,
                                                int64_t duration);

/* Writes every live task of loop to fd: name, state, what it waits on
 * and, where the platform allows (x86-64 with frame pointers), the return
 * addresses of its suspended stack with symbol names where known. Call it
 * from the loop's thread. Returns: the number of tasks. Errors: -EINVAL,
 * -errno from write. */
CIO_API int cio_loop_dump_tasks(cio_loop *loop, int fd);

#ifdef __cplusplus
}
#endif

#endif
