/*
 * cio/process.h - asyncio's subprocesses (create_subprocess_exec and
 * create_subprocess_shell, Process.wait, communicate, send_signal) and
 * its pipe connections (connect_read_pipe, connect_write_pipe). Included
 * by cio.h; do not include directly.
 *
 * A child is started with posix_spawn (a vfork-style clone in glibc, so
 * spawning costs the same from a small or a huge parent), with every
 * descriptor close-on-exec except the 0/1/2 it is given. Its pipes are the
 * stream readers and writers of cio/stream.h on non-blocking pipe ends:
 * read, readline, readuntil, readexactly, line iteration, write + drain.
 * The exit is observed through a pidfd registered on the loop (Linux
 * 5.3+), or, where pidfd_open is missing, through SIGCHLD with
 * waitpid(pid, WNOHANG) for each child cio started (never waitpid(-1), so
 * other children of the program, such as the process pool's fork server,
 * are left alone). The fallback's limits: one loop at a time may own
 * SIGCHLD (a second loop's create fails with -EBUSY while the first has
 * children), a SIGCHLD handler of the application's on that loop is
 * replaced while cio has children there, and SIGCHLD must not be blocked
 * in every thread. CIO_PIDFD=0 in the environment (read when a loop
 * starts its first child) forces the fallback, for tests.
 *
 * No zombie is left behind: if the process object is freed while the
 * child runs (or, with opts.kill_on_cancel, the task waiting for it is
 * cancelled), the child is killed (SIGKILL; its whole process group with
 * opts.kill_group, so a shell's own children die too) and reaped in the
 * background by the loop; with opts.keep_running it is left running
 * instead and still reaped when it exits while the loop runs. A cancelled
 * wait leaves the child running by default, as asyncio does; it is still
 * reaped by the loop. Children still alive when their loop closes are
 * killed and reaped by the close (keep_running ones are forgotten: see
 * cio_process_opts).
 */
#ifndef CIO_PROCESS_H
#define CIO_PROCESS_H

#ifndef CIO_H
#error "include cio.h, not cio/process.h"
#endif

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================
 * Subprocesses
 * One cio_process per child, bound to the loop that started it and used
 * from that loop's thread only. Loops in any thread may start children.
 * ====================================================================== */

typedef struct cio_process cio_process;

/* What a child's descriptor 0, 1 or 2 is connected to (asyncio's stdin=,
 * stdout=, stderr= values). */
typedef enum cio_process_stdio {
    CIO_PROCESS_INHERIT = 0, /* the parent's own descriptor (None) */
    CIO_PROCESS_PIPE = 1,    /* a pipe, read or written as a stream */
    CIO_PROCESS_DEVNULL = 2, /* /dev/null */
    CIO_PROCESS_FD = 3,      /* the descriptor in *_fd (borrowed) */
    CIO_PROCESS_STDOUT = 4   /* stderr only: wherever stdout goes */
} cio_process_stdio;

typedef struct cio_process_opts {
    /* A cio_process_stdio for each of the child's 0, 1 and 2. */
    int stdin_mode;
    int stdout_mode;
    int stderr_mode;
    /* With CIO_PROCESS_FD: the parent's descriptor to give the child
     * (borrowed for the call; the parent keeps it open). */
    int stdin_fd;
    int stdout_fd;
    int stderr_fd;
    /* The child's working directory (NULL: the parent's). Borrowed. */
    const char *cwd;
    /* The child's environment, NULL-terminated "NAME=value" strings
     * (NULL: the parent's environ). Borrowed for the call. PATH lookup of
     * a bare program name uses the parent's PATH. */
    char *const *envp;
    /* 1: the child starts a new session (setsid; it is then also the
     * leader of a new process group). */
    int new_session;
    /* 1: put the child in process group pgroup (0: a new group whose id
     * is the child's pid; asyncio's process_group=). */
    int set_pgroup;
    pid_t pgroup;
    /* 0 (default): when the object is freed while the child runs, the
     * child is killed (SIGKILL) and reaped by the loop in the background
     * (asyncio's transport close). 1: the child is left running
     * (detached) and reaped when it exits, as long as its loop runs; if
     * the loop closes first, cio forgets it (it is not killed, and is no
     * longer reaped by cio: it stays a zombie after it exits until the
     * program exits or reaps it with waitpid(pid)). */
    int keep_running;
    /* Buffer limits of the pipe streams (limit, water marks). */
    cio_conn_opts conn;
    /* Python's pipesize: the capacity of each pipe made for
     * CIO_PROCESS_PIPE, in bytes (F_SETPIPE_SZ; the kernel rounds up to a
     * power-of-two number of pages; unprivileged users are capped by
     * fs.pipe-max-size, 1 MiB by default). 0: the kernel's default
     * (64 KiB). A bigger pipe moves bulk data with fewer wake-ups; it is
     * not the default because an unprivileged user's pipes share
     * fs.pipe-user-pages-soft, past which the kernel gives that user's new
     * pipes two pages only. Creation fails with the fcntl error (-EPERM,
     * -EINVAL) if the size cannot be set. */
    size_t pipe_size;
    /* 1: every kill cio does on your behalf (a cancelled wait or
     * communicate with kill_on_cancel, cio_process_free of a running
     * child, loop close) goes
     * to the child's whole process group (killpg), so what a shell child
     * started - `cmd1 | cmd2`, `server &` - dies with it. The child must
     * lead its own group: set new_session (asyncio's start_new_session)
     * or set_pgroup with pgroup 0 (asyncio's process_group=0); otherwise
     * creation fails with -EINVAL (it would kill the caller's group).
     * cio_process_send_signal still signals the child alone. */
    int kill_group;
    /* 0 (default, asyncio's): a task cancelled in cio_process_wait or
     * cio_process_communicate leaves the child running, so another
     * waiter still gets its real exit status and a later kill works.
     * 1: the cancelled call kills the child (SIGKILL; reaped by the loop
     * in the background), unless another task is still waiting for it,
     * and unless keep_running is set. */
    int kill_on_cancel;
} cio_process_opts;

#define CIO_PROCESS_OPTS_INIT                                                  \
    {                                                                          \
        0, 0, 0, -1, -1, -1, NULL, NULL, 0, 0, 0, 0, CIO_CONN_OPTS_INIT, 0, 0, \
            0                                                                  \
    }

/* asyncio.create_subprocess_exec: starts argv[0] with arguments argv
 * (NULL-terminated; a name without '/' is searched in PATH) on loop (NULL:
 * the running loop). argv, opts (NULL: every stdio inherited) and what
 * they point to are borrowed for the call. Never suspends: the child runs
 * when this returns. Returns: 0 and *out (free it with cio_process_free).
 * Errors: -EINVAL (NULL or empty argv, NULL out, no loop, bad opts),
 * -ENOENT (no such program, or cwd missing), -EACCES, -ENOEXEC and the
 * other errors of execve and chdir, reported by posix_spawn as its
 * return value (no child is then left behind), -EMFILE, -ENOMEM, -EAGAIN
 * (process limit), -EBUSY (SIGCHLD fallback only: another loop owns
 * SIGCHLD); *out is NULL on failure. */
CIO_API int cio_create_subprocess_exec(cio_loop *loop, char *const argv[],
                                       const cio_process_opts *opts,
                                       cio_process **out);

/* asyncio.create_subprocess_shell: runs cmd with /bin/sh -c on loop
 * (NULL: the running loop). cmd is borrowed for the call. Returns/Errors:
 * as cio_create_subprocess_exec (a missing command is the shell's exit
 * status 127, not -ENOENT). */
CIO_API int cio_create_subprocess_shell(cio_loop *loop, const char *cmd,
                                        const cio_process_opts *opts,
                                        cio_process **out);

/* Waits for the child to exit and reaps it (asyncio's Process.wait).
 * returncode (may be NULL) receives the exit status, or -SIGNUM if a
 * signal killed it (Python's convention). If the calling task is
 * cancelled, the child is left running (asyncio's default; other waiters
 * keep waiting) unless opts.kill_on_cancel was set and no other task
 * waits for it. Unlike asyncio's wait(), this returns as soon as the
 * child is reaped, without waiting for its pipes to reach end of file (a
 * grandchild holding stdout open does not delay it): the pipes are
 * streams the caller reads to their end itself, and
 * cio_process_communicate does wait for both. Returns: 0. Errors:
 * -ECANCELED, -EINVAL (NULL, outside a task of p's loop). Suspends. */
CIO_API int cio_process_wait(cio_process *p, int *returncode);

/* asyncio's Process.communicate: writes len bytes of input (borrowed
 * until return; NULL/0: none) to the child's stdin and closes it, while
 * reading stdout and stderr to their end concurrently (no deadlock
 * whatever the sizes), then waits for the child to exit. out and outlen,
 * err and errlen (each may be NULL) receive what was read from the
 * PIPE'd stdout and stderr (NULL and 0 for a stream that is not a pipe);
 * the bytes are owned by p and valid until the next communicate or
 * cio_process_free, followed by a 0 byte not counted in the length. A
 * child that exits without reading its input is not an error (-EPIPE is
 * swallowed, as asyncio does). Timeouts come from cio_timeout_begin or
 * cio_wait_for; on cancellation the child is left running, or killed
 * with opts.kill_on_cancel, as in cio_process_wait. Returns: 0
 * (returncode via cio_process_returncode).
 * Errors: -ECANCELED, -EINVAL (NULL, outside a task, input without a
 * stdin pipe), -EBUSY (another task reads or writes these streams),
 * -ENOMEM, errors of the streams. Suspends. */
CIO_API int cio_process_communicate(cio_process *p, const void *input,
                                    size_t len, const char **out,
                                    size_t *outlen, const char **err,
                                    size_t *errlen);

/* Sends signo to the child (through its pidfd when there is one, so the
 * signal cannot reach a recycled pid). Returns: 0. Errors: -ESRCH (the
 * child was already reaped: asyncio's ProcessLookupError), -EINVAL (NULL,
 * bad signal), -EPERM. */
CIO_API int cio_process_send_signal(cio_process *p, int signo);

/* send_signal(SIGTERM) and send_signal(SIGKILL). Returns/Errors: as
 * cio_process_send_signal. */
CIO_API int cio_process_terminate(cio_process *p);
CIO_API int cio_process_kill(cio_process *p);

/* Returns: the child's pid. Errors: -EINVAL on NULL. */
CIO_API pid_t cio_process_pid(const cio_process *p);

/* asyncio's Process.returncode: 1 and *rc (the exit status, or -SIGNUM)
 * once the child was reaped; 0 (rc untouched) while it runs (None).
 * Errors: -EINVAL on NULL. */
CIO_API int cio_process_returncode(const cio_process *p, int *rc);

/* Returns: 1 if the child was reaped after a normal exit, else 0.
 * Errors: -EINVAL on NULL. */
CIO_API int cio_process_exited(const cio_process *p);

/* Returns: the signal number that killed the child once reaped, else 0.
 * Errors: -EINVAL on NULL. */
CIO_API int cio_process_signaled(const cio_process *p);

/* The child's stdin, stdout and stderr streams (asyncio's p.stdin,
 * p.stdout, p.stderr). Returns: the stream for a descriptor created with
 * CIO_PROCESS_PIPE, else NULL (also for NULL p). Borrowed: owned by p and
 * freed by cio_process_free; do not free them yourself (closing is
 * allowed: cio_stream_writer_close on stdin sends the child end of file).
 * Line iteration: while ((n = cio_stream_reader_readline(out, &line)) > 0). */
CIO_API cio_stream_writer *cio_process_stdin(const cio_process *p);
CIO_API cio_stream_reader *cio_process_stdout(const cio_process *p);
CIO_API cio_stream_reader *cio_process_stderr(const cio_process *p);

/* Frees the process object and its streams (no task may be using them).
 * If the child still runs it is killed (SIGKILL), or left running with
 * opts.keep_running, and in both cases reaped by the loop in the
 * background. Call it before the loop closes. NULL is ignored. Returns:
 * 0. Errors: -EINVAL (wrong thread), -EBUSY (a task waits on p or uses
 * one of its streams: nothing was done). */
CIO_API int cio_process_free(cio_process *p);

/* ======================================================================
 * Subprocess protocols and transports
 * asyncio's loop.subprocess_exec / loop.subprocess_shell with a
 * SubprocessProtocol, beside the streams form above: the loop calls the
 * protocol as the child's pipes deliver and close and as the child
 * exits. A subprocess transport is bound to its loop and used from that
 * loop's thread only.
 *
 * The order of the callbacks (what cio guarantees, which is asyncio's
 * base_subprocess order):
 *   1. connection_made, once, first (from the loop, after the creating
 *      call returned);
 *   2. pipe_data_received(fd, ...) for fd 1 and 2, any number of times,
 *      each pipe's bytes in order, until that pipe's
 *      pipe_connection_lost(fd, err), once per pipe (fd 0 too: its reader,
 *      the child, went away or close was called);
 *   3. process_exited, once, when the child has exited and was reaped:
 *      get_returncode is valid from then on. It may come BEFORE some
 *      pipe events (a grandchild still holding stdout, or bytes not read
 *      yet) or AFTER them (a child that closed its stdout and goes on),
 *      as asyncio documents;
 *   4. connection_lost(err), once, last: after process_exited and every
 *      pipe_connection_lost (asyncio's _try_finish). Tasks in
 *      cio_subprocess_transport_wait wake after it returns.
 * Every callback runs from the loop's ready queue, never inside a cio
 * call. A callback returning a negative value is reported to the loop's
 * exception handler; from pipe_data_received, that pipe is then aborted
 * (its pipe_connection_lost gets the error), from connection_made the
 * transport is closed (the child killed, the pipes closed); the events
 * that follow still come, up to connection_lost.
 * ====================================================================== */

typedef struct cio_subprocess_transport cio_subprocess_transport;

typedef struct cio_subprocess_protocol {
    /* The child runs and its pipes are connected. t is borrowed as
     * described at cio_subprocess_transport_close. */
    int (*connection_made)(cio_subprocess_transport *t, void *ctx);
    /* len > 0 bytes from the child's descriptor fd (1 or 2); data is
     * borrowed for the call. */
    int (*pipe_data_received)(cio_subprocess_transport *t, int fd,
                              const void *data, size_t len, void *ctx);
    /* The pipe to the child's descriptor fd (0, 1 or 2) closed: err 0 at
     * end of file or after close, else the error (-EPIPE: stdin's reader
     * went away with bytes still to write). Optional. */
    void (*pipe_connection_lost)(cio_subprocess_transport *t, int fd,
                                 int err, void *ctx);
    /* The child exited (see the order above). Optional. */
    void (*process_exited)(cio_subprocess_transport *t, void *ctx);
    /* The last callback (err is 0). Free ctx here. Optional. */
    void (*connection_lost)(cio_subprocess_transport *t, int err, void *ctx);
    /* stdin's write buffer went above its high water mark / back to the
     * low one (cio_transport_set_write_buffer_limits on the fd 0 pipe
     * transport). Optional. */
    int (*pause_writing)(cio_subprocess_transport *t, void *ctx);
    int (*resume_writing)(cio_subprocess_transport *t, void *ctx);
} cio_subprocess_protocol;

/* asyncio's protocol_factory, called once before the child is started:
 * sets *proto (borrowed until connection_lost returns) and *ctx (passed
 * to every callback). A negative return fails the creation with it (no
 * child is started). */
typedef int (*cio_subprocess_protocol_factory)(
    void *arg, const cio_subprocess_protocol **proto, void **ctx);

/* asyncio's loop.subprocess_exec: starts argv[0] (as
 * cio_create_subprocess_exec does) on loop (NULL: the running loop) and
 * drives the protocol from factory. opts NULL: stdin, stdout and stderr
 * are all pipes (asyncio's defaults here); else opts says which are
 * (CIO_PROCESS_PIPE), and opts->conn sets the pipe transports' buffer
 * limits. argv, opts and what they point to are borrowed for the call,
 * arg until connection_lost returns. Never suspends (asyncio's coroutine
 * returns after connection_made; here connection_made comes from the
 * loop right after). Returns: 0 and *out (end it with
 * cio_subprocess_transport_close). Errors: as
 * cio_create_subprocess_exec, -EINVAL (NULL factory), the factory's
 * error; *out is NULL on failure and no callback runs (a ctx the factory
 * made is not handed to connection_lost then: keep it reachable through
 * arg to free it, as with cio_create_connection). */
CIO_API int cio_subprocess_exec(cio_loop *loop,
                                cio_subprocess_protocol_factory factory,
                                void *arg, char *const argv[],
                                const cio_process_opts *opts,
                                cio_subprocess_transport **out);

/* asyncio's loop.subprocess_shell: cmd run with /bin/sh -c. cmd is
 * borrowed for the call. Returns/Errors: as cio_subprocess_exec. */
CIO_API int cio_subprocess_shell(cio_loop *loop,
                                 cio_subprocess_protocol_factory factory,
                                 void *arg, const char *cmd,
                                 const cio_process_opts *opts,
                                 cio_subprocess_transport **out);

/* get_pid(). Returns: the child's pid. Errors: -EINVAL on NULL. */
CIO_API pid_t cio_subprocess_transport_pid(const cio_subprocess_transport *t);

/* get_returncode(): 1 and *rc (exit status, or -SIGNUM) once
 * process_exited was called, 0 before (asyncio's None). rc may be NULL.
 * Errors: -EINVAL on NULL. */
CIO_API int
cio_subprocess_transport_returncode(const cio_subprocess_transport *t, int *rc);

/* get_pipe_transport(fd): the transport of the pipe to the child's
 * descriptor fd (0, 1, 2), or NULL (not a pipe, or its
 * pipe_connection_lost already ran). Borrowed, owned by t: write the
 * child's input with cio_transport_write on fd 0 and end it with
 * cio_transport_write_eof or cio_transport_close; pause_reading works on
 * fd 1 and 2. Do not free it. */
CIO_API cio_transport *
cio_subprocess_transport_pipe_transport(const cio_subprocess_transport *t,
                                        int fd);

/* send_signal / terminate (SIGTERM) / kill (SIGKILL) to the child
 * (through its pidfd when there is one). Returns: 0. Errors: -ESRCH (the
 * child was already reaped), -EINVAL (NULL, closed, bad signal, wrong
 * thread), -EPERM. */
CIO_API int cio_subprocess_transport_send_signal(cio_subprocess_transport *t,
                                                 int signo);
CIO_API int cio_subprocess_transport_terminate(cio_subprocess_transport *t);
CIO_API int cio_subprocess_transport_kill(cio_subprocess_transport *t);

/* Returns: 1 once close was called, else 0. Errors: -EINVAL on NULL. */
CIO_API int cio_subprocess_transport_is_closing(
    const cio_subprocess_transport *t);

/* asyncio's Process.wait() over this transport (3.12+): waits until the
 * child has exited AND every pipe is closed, that is until
 * connection_lost has returned (a grandchild holding stdout open keeps
 * it waiting). rc (may be NULL) receives the return code. A cancelled
 * wait leaves the child running (asyncio's). Several tasks may wait.
 * Returns: 0. Errors: -ECANCELED, -EINVAL (NULL, closed, outside a task
 * of t's loop). Suspends. */
CIO_API int cio_subprocess_transport_wait(cio_subprocess_transport *t,
                                          int *rc);

/* asyncio's close(): closes the pipe transports (stdin after its buffer
 * is flushed), and kills the child (SIGKILL; its group with
 * opts.kill_group) if process_exited has not come yet, unless
 * opts.keep_running. Call it exactly once: it gives up the caller's
 * hold, and t is freed when both close was called and connection_lost
 * has returned (so after close, only the callbacks still to come and
 * the tasks already in wait may use t). The events still due
 * (pipe_connection_lost, process_exited, connection_lost) follow from
 * the loop: keep it running until connection_lost, and close every
 * subprocess transport before closing the loop (an unfinished one is
 * leaked). Returns: 0. Errors: -EINVAL (NULL, wrong thread; a second
 * close is a use after free once connection_lost has run). */
CIO_API int cio_subprocess_transport_close(cio_subprocess_transport *t);

/* ======================================================================
 * Pipes
 * asyncio's connect_read_pipe / connect_write_pipe: any pipe, FIFO,
 * character device or socket descriptor as a stream reader or writer, or
 * as a transport driving a protocol.
 * ====================================================================== */

/* Wraps fd (a pipe or FIFO read end) in a stream reader on loop; fd is
 * made non-blocking. Takes fd on success (the reader's free closes it);
 * on failure fd stays the caller's. opts borrowed for the call (NULL:
 * defaults). Never suspends. Returns: 0 and *out. Errors: -EINVAL (NULL,
 * not a pipe, FIFO, socket or character device), -EBADF (not open, or
 * open for writing only), -EBUSY (fd already used on loop), -EPERM (not
 * pollable), -ENOMEM. */
CIO_API int cio_connect_read_pipe(cio_loop *loop, int fd,
                                  const cio_conn_opts *opts,
                                  cio_stream_reader **out);

/* Wraps fd (a pipe or FIFO write end) in a stream writer on loop. A pipe
 * whose reader is gone gives -EPIPE, never SIGPIPE. Takes fd as
 * cio_connect_read_pipe does. Returns/Errors: as cio_connect_read_pipe,
 * but -EBADF is for a descriptor open for reading only. */
CIO_API int cio_connect_write_pipe(cio_loop *loop, int fd,
                                   const cio_conn_opts *opts,
                                   cio_stream_writer **out);

/* connect_read_pipe(protocol_factory, pipe): a transport on fd whose
 * protocol (from factory) receives the data: connection_made, then
 * data_received, eof_received and connection_lost when the writer closes;
 * writes to a read-only pipe end fail with -EPIPE. Takes fd on success;
 * the factory's failure leaves it the caller's. *out (may be NULL) is
 * borrowed until connection_lost returns. connection_made is called
 * from the loop soon after the call returns (asyncio awaits it inside
 * the call). Returns: 0. Errors: as
 * cio_connect_read_pipe, the factory's error. */
CIO_API int cio_connect_read_pipe_protocol(cio_loop *loop, int fd,
                                           cio_protocol_factory factory,
                                           void *arg, const cio_conn_opts *opts,
                                           cio_transport **out);

/* connect_write_pipe(protocol_factory, pipe): a write-only transport on
 * fd. It never reads (is_reading is 0; do not resume it): on a pipe end,
 * the reader going away ends it with connection_lost (err 0 if nothing
 * was left to write, else -EPIPE); pause_writing / resume_writing follow
 * the write buffer as for any transport, and write_eof on a write-only
 * end closes fd once flushed. On a descriptor open both ways (a FIFO
 * opened O_RDWR, a socket) the reader's exit shows only at the next
 * write, as -EPIPE. On a write-only end the protocol may leave
 * data_received NULL (asyncio's bare BaseProtocol); on a descriptor open
 * both ways it is still required. connection_made comes from the loop
 * after the call returns; a write made before it is accepted, and
 * pause_writing (if that write passed the high-water mark) follows
 * connection_made, never precedes it. Returns/Errors: as
 * cio_connect_read_pipe_protocol, but -EBADF is for a descriptor open for
 * reading only. */
CIO_API int cio_connect_write_pipe_protocol(cio_loop *loop, int fd,
                                            cio_protocol_factory factory,
                                            void *arg,
                                            const cio_conn_opts *opts,
                                            cio_transport **out);

#ifdef __cplusplus
}
#endif

#endif
