/*
 * cio_testutil_net.h - helpers shared by the integration tests that run
 * on the real clock (sockets, streams, transports, servers, processes):
 * the test's loop in g_loop, running a main task on a fresh loop, a case
 * that does only that, waiting in 1 ms steps for a condition, a plain
 * socket bound on loopback, and counting this process's descriptors and
 * zombie children.
 * Header-only like cio_testutil.h; not to be combined with
 * cio_testutil_task.h (both define run_main).
 */
#ifndef CIO_TESTUTIL_NET_H
#define CIO_TESTUTIL_NET_H

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "cio_testutil.h"

/* The loop of the running test, for the calls that take one. */
static cio_loop *g_loop;

/* Runs fn(arg) as a task on loop (which becomes g_loop), closes and frees
 * the loop, which must end clean, and returns the task's outcome. */
static inline int run_on(cio_loop *loop, cio_coro_fn fn, void *arg)
{
    g_loop = loop;
    cio_task *t;
    assert_int_equal(cio_task_create(loop, CIO_CORO(fn, arg), NULL, &t), 0);
    int r = cio_loop_run_until_complete(loop, t, NULL);
    cio_future_release(t);
    tu_loop_done(loop);
    return r;
}

/* run_on a fresh loop on the real (monotonic) clock. */
static inline int run_main(cio_coro_fn fn, void *arg)
{
    cio_loop *loop = NULL;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    return run_on(loop, fn, arg);
}

/* run_on a fresh loop on the virtual clock. */
static inline int run_virtual(cio_coro_fn fn, void *arg)
{
    return run_on(tu_loop_virtual(), fn, arg);
}

/* Defines the cmocka case name, which runs main_fn(NULL) with run_main
 * and expects 0. The case is still listed by name in the test's
 * CMUnitTest array. */
#define TU_NET_CASE(name, main_fn)                                            \
    static void name(void **state)                                            \
    {                                                                         \
        (void)state;                                                          \
        assert_int_equal(run_main(main_fn, NULL), 0);                         \
    }

/* Sleeps in 1 ms steps until cond or 5 s; then cond must hold. */
#define WAIT_FOR(cond)                                                        \
    do {                                                                      \
        for (int w_ = 0; w_ < 5000 && !(cond); w_++)                          \
            assert_int_equal(cio_sleep(CIO_MS), 0);                           \
        assert_true(cond);                                                    \
    } while (0)

/* A plain (blocking) TCP socket bound to 127.0.0.1 on a port the kernel
 * picks; *a is the address it was bound to (getsockname gives the port). */
static inline int bind_loopback(struct sockaddr_in *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    *a = (struct sockaddr_in){.sin_family = AF_INET};
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
    return fd;
}

/* Open descriptors of this process. */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own */
}

/* Zombie children of this process, from /proc. */
static inline int count_zombies(void)
{
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    pid_t me = getpid();
    while ((e = readdir(d))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char path[300], buf[512];
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t k = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (k <= 0)
            continue;
        buf[k] = 0;
        char *rp = strrchr(buf, ')');
        char state;
        int ppid;
        if (rp && sscanf(rp + 2, "%c %d", &state, &ppid) == 2 && ppid == me &&
            state == 'Z')
            n++;
    }
    closedir(d);
    return n;
}

#endif
