/*
 * proc.h - private layout of cio_process, shared by process.c (spawn,
 * wait, communicate, signals) and child_watch.c (reaping: pidfd, SIGCHLD
 * fallback, loop close).
 */
#ifndef CIO_PROC_H
#define CIO_PROC_H

#include "net/afd.h"
#include "task/task.h"

typedef struct cio__chw cio__chw;

struct cio_process {
    cio_loop *loop;
    pid_t pid;
    int pidfd;    /* -1 in SIGCHLD mode and once reaped */
    cio__afd afd; /* the pidfd's registration (callback mode) */
    uint8_t afd_open;
    uint8_t reaped; /* status is valid; the pid is gone */
    uint8_t freed;  /* cio_process_free ran: memory goes at reap */
    uint8_t keep_running;
    uint8_t kill_group; /* cio's kills go to the group the child leads */
    uint8_t kill_on_cancel;
    uint8_t watched;   /* linked in chw->live */
    uint8_t busy;      /* a communicate is in progress */
    int status;        /* raw wait status */
    cio__list waiters; /* tasks in cio_process_wait (pwait nodes) */
    cio__list link;    /* chw->live while watched */
    cio__chw *chw;
    cio_stream_writer *in;
    cio_stream_reader *out, *err;
    char *cbuf[2]; /* communicate's stdout and stderr */
    size_t clen[2];
    /* The subprocess transport's hook (subprocess.c): called once the
     * child was reaped, after the waiters were woken. */
    void (*on_exit)(cio_process *p, void *arg);
    void *exit_arg;
};

/* How the pipes' parent ends are wrapped: NULL gives the stream readers
 * and writers of cio_process; else wrap(p, fds, arg) is called before the
 * spawn with the three parent ends (-1 where no pipe) and sets to -1 each
 * one it took (a failure return fails the creation; ends not taken are
 * closed). */
typedef int (*cio__pipe_wrap)(cio_process *p, int fds[3], void *arg);

/* cio_create_subprocess_exec/_shell with the pipes wrapped by wrap. */
int cio__process_spawn(cio_loop *loop, const char *file, char *const argv[],
                       int search, const cio_process_opts *opts,
                       cio__pipe_wrap wrap, void *wrap_arg,
                       cio_process **out);

/* SIGKILLs the child (its group with kill_group) unless it was reaped or
 * keep_running is set. */
void cio__process_kill_unless_kept(cio_process *p);

/* The loop's child watcher, created on first use. Returns NULL on ENOMEM
 * or a closed loop. */
cio__chw *cio__chw_get(cio_loop *loop);

/* Before spawning: in SIGCHLD mode, makes sure the loop holds SIGCHLD so
 * an exit right after the spawn is not missed. Returns 0, -EBUSY (another
 * loop owns SIGCHLD), -errno. */
int cio__chw_prepare(cio__chw *w);

/* Undoes cio__chw_prepare when the spawn failed (drops SIGCHLD if no
 * child needs it). */
void cio__chw_unprepare(cio__chw *w);

/* After spawning: starts watching p->pid (pidfd, else SIGCHLD). Returns 0
 * or a negative error; on error the child is killed and reaped before
 * returning, and p->reaped is set. */
int cio__chw_watch(cio__chw *w, cio_process *p);

/* Stops watching p (closes its pidfd, unlinks it, drops SIGCHLD when it
 * was the last fallback child). Idempotent. */
void cio__chw_unwatch(cio_process *p);

/* Called by the watcher when p was reaped with wait status st (or ECHILD:
 * st = 255 << 8). Wakes waiters, frees p if it was freed. */
void cio__process_reaped(cio_process *p, int st);

/* Frees p's memory (streams already gone). */
void cio__process_destroy(cio_process *p);

#endif
