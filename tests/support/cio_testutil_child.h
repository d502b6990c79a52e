/*
 * cio_testutil_child.h - running a piece of a test in a forked child whose
 * stderr is captured: for paths that must abort, exit or exhaust a limit
 * without taking the test runner with them.
 */
#ifndef CIO_TESTUTIL_CHILD_H
#define CIO_TESTUTIL_CHILD_H

#include <errno.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_test.h"

typedef struct tu_child_result {
    int status;     /* waitpid status */
    char out[8192]; /* the child's stderr, NUL-terminated (truncated) */
} tu_child_result;

/* Forks; the child runs prep (if any) and fn with stderr on a pipe, then
 * _exit(0). The parent collects the output and the wait status. */
static inline void tu_run_child(void (*prep)(void), void (*fn)(void),
                                tu_child_result *res)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (prep)
            prep();
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        fn();
        _exit(0);
    }
    close(fds[1]);
    size_t n = 0;
    for (;;) {
        ssize_t r = read(fds[0], res->out + n, sizeof res->out - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == sizeof res->out - 1)
            break;
    }
    res->out[n] = '\0';
    close(fds[0]);
    assert_int_equal(waitpid(pid, &res->status, 0), pid);
}

#endif
