/*
 * s06_ctrl_c.c - MISSION S6: Ctrl-C during run_until_complete cancels
 * every task; cio_run then returns CIO_EINTERRUPTED, and this program
 * chooses to end by SIGINT as Python does.
 *
 * The note (Python):
 *     async def func(i=2):
 *         await asyncio.sleep(i)
 *         return i
 *     try:
 *         loop.run_until_complete(asyncio.wait([func(1),func(20),func(33)]))
 *     except KeyboardInterrupt as e:
 *         for task in asyncio.Task.all_tasks():  # 3 funcs and the wait
 *             print('cancel: ',task.cancel(), task)
 * Pressing Ctrl-C after a second or so: func(1) is done, func(20) and
 * func(33) are still sleeping and get cancelled.
 *
 * cio does this by itself: while a loop runs on the main thread and no
 * SIGINT handler is registered, the first SIGINT cancels every task, lets
 * them finish, and cio_run returns CIO_EINTERRUPTED. The code after
 * cio_run runs (here: one last line), then cio_raise_sigint() ends the
 * process by SIGINT so a shell sees status 130, as an uncaught
 * KeyboardInterrupt does.
 *
 * So that the demo ends by itself, the program forks. The child runs the
 * scenario (cio_run of a main task that waits on the three tasks with
 * cio_wait) and dumps its live tasks at 1.2 s, as the note prints
 * all_tasks(). The parent plays the user: SIGINT at 1.5 s, then reports
 * how the child ended.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s06_ctrl_c.c -o s06_ctrl_c \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cio.h"

static double start;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - start;
}

/* async def func(i=2) */
static int func(void *arg, void **result)
{
    intptr_t i = (intptr_t)arg;
    int r = cio_sleep(i * CIO_SEC);
    if (r < 0) {
        printf("[%.2fs] child: func(%ld) cancelled (%s)\n", now(), (long)i,
               cio_err_name(r));
        return r;
    }
    printf("[%.2fs] child: func(%ld) done\n", now(), (long)i);
    *result = (void *)i;
    return 0;
}

static int dump_cb(void *arg)
{
    printf("[%.2fs] child: live tasks (like all_tasks()):\n", now());
    fflush(stdout);
    return cio_loop_dump_tasks(arg, STDOUT_FILENO) < 0 ? -1 : 0;
}

static int main_task(void *arg, void **result)
{
    static const char *names[3] = {"func(1)", "func(20)", "func(33)"};
    static const intptr_t secs[3] = {1, 20, 33};
    cio_loop *loop = cio_get_running_loop();
    cio_awaitable items[3];
    cio_future *done[3], *pending[3];
    size_t nd = 0, np = 0;
    (void)arg;
    (void)result;

    for (int i = 0; i < 3; i++) {
        cio_task_opts o = CIO_TASK_OPTS_INIT;
        cio_task *t;
        o.name = names[i];
        if (cio_task_create(loop, CIO_CORO(func, secs[i]), &o, &t) < 0)
            return -1;
        items[i] = CIO_AW_FUTURE(t);
        cio_future_release(t); /* cio_wait retains it */
    }
    cio_loop_call_later(loop, 1200 * CIO_MS, dump_cb, loop, NULL);
    int r = cio_wait(items, 3, -1, CIO_ALL_COMPLETED, done, &nd, pending, &np);
    printf("[%.2fs] child: wait -> %s (%zu done, %zu pending)\n", now(),
           cio_err_name(r), nd, np);
    for (size_t k = 0; k < nd; k++)
        cio_future_release(done[k]);
    for (size_t k = 0; k < np; k++)
        cio_future_release(pending[k]);
    return r;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0); /* the child dies by a signal */
    start = 0;
    start = now();

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 1;
    }
    if (pid == 0) {
        signal(SIGINT, SIG_DFL); /* as in a foreground shell job */
        printf("[%.2fs] child %d: run wait([func(1), func(20), func(33)])\n",
               now(), (int)getpid());
        int r = cio_run(main_task, NULL, NULL);
        printf("[%.2fs] child: cio_run -> %s\n", now(), cio_err_name(r));
        if (r == CIO_EINTERRUPTED) {
            printf("[%.2fs] child: last line, then die by SIGINT\n", now());
            fflush(stdout);
            cio_raise_sigint();
        }
        _exit(3);
    }

    struct timespec d = {1, 500000000};
    nanosleep(&d, NULL);
    printf("[%.2fs] parent: Ctrl-C (kill(child, SIGINT))\n", now());
    kill(pid, SIGINT);

    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++) {
        struct timespec tick = {0, 50000000};
        nanosleep(&tick, NULL);
        if (i == 99) { /* 5 s without ending: the cancellation hung */
            printf("parent: child still alive after 5 s, killing it\n");
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
        }
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGINT) {
        printf("[%.2fs] parent: child killed by SIGINT, a shell would show "
               "status %d\n", now(), 128 + SIGINT);
        return 0;
    }
    if (WIFEXITED(status))
        printf("parent: child exited with status %d\n", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        printf("parent: child killed by signal %d\n", WTERMSIG(status));
    return 1;
}
