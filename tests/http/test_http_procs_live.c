/* cio-test: timeout=120 */
/*
 * test_http_procs_live.c - process mode (cio_http_run_processes): two
 * worker processes on one SO_REUSEPORT port both serve (the client sees
 * two process ids), cio_http_app_stop ends them; SIGTERM to the parent
 * lets an in-flight request finish, then the parent and every worker exit
 * cleanly and the port is closed.
 */
#include "cio_test.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio/http.h"
#include "cio_testutil_http.h"

static int h_pid(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    char b[32];
    snprintf(b, sizeof(b), "%ld", (long)getpid());
    return cio_http_response_text(res, 200, b);
}

static int h_slow(cio_http_request *req, cio_http_response *res, void *a)
{
    (void)req, (void)a;
    int r = cio_sleep(400 * CIO_MS);
    if (r < 0)
        return r;
    return cio_http_response_text(res, 200, "slept");
}

static cio_http_app *make_app(void)
{
    cio_http_app *app;
    assert_int_equal(cio_http_app_new(&app, "procs"), 0);
    assert_int_equal(cio_http_route(app, "/pid", h_pid, NULL, 0), 0);
    assert_int_equal(cio_http_route(app, "/slow", h_slow, NULL, 0), 0);
    return app;
}

/* Reads one response with a Content-Length body (3 s per read): returns
 * the status, the body in body (NUL-terminated). Bytes read past it stay
 * for the next call on the same descriptor. */

/* GET /pid on new connections until two different workers answered. */
static void two_pids(int port, long pids[2])
{
    pids[0] = pids[1] = 0;
    for (int i = 0; i < 2000 && !pids[1]; i++) {
        int fd = tu_dial_port(port);
        assert_true(fd >= 0);
        char got[64];
        tu_send_str(fd, "GET /pid HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
        close(fd);
        long p = atol(got);
        assert_true(p > 0 && p != (long)getpid());
        if (!pids[0])
            pids[0] = p;
        else if (p != pids[0])
            pids[1] = p;
    }
    assert_true(pids[1] != 0);
}

/* cio_http_run_processes forks: it is called from a process with no
 * other thread (the header's rule; ThreadSanitizer also refuses threads
 * in the child of a multi-threaded fork). So the parent runs in a
 * supervisor process forked from this single-threaded test; its on_start
 * (called after the workers are forked) checks that a second run is
 * refused, reports the port and starts the thread that calls
 * cio_http_app_stop when the test writes a byte. */
typedef struct sup_ctl {
    cio_http_app *app;
    int report; /* write end: the port, then the -EBUSY check */
    int stop;   /* read end: a byte means cio_http_app_stop */
    pthread_t th;
} sup_ctl;

static void *stopper(void *arg)
{
    sup_ctl *s = arg;
    char b;
    while (read(s->stop, &b, 1) < 0 && errno == EINTR)
        ;
    cio_http_app_stop(s->app);
    return NULL;
}

static void sup_started(cio_http_app *app, int port, void *arg)
{
    sup_ctl *s = arg;
    int v[3] = {port, cio_http_app_port(app),
                cio_http_run_processes(app, NULL, 0, 1)};
    if (write(s->report, v, sizeof(v)) != sizeof(v) ||
        pthread_create(&s->th, NULL, stopper, s) != 0)
        _exit(4);
}

static void two_workers_serve(void **state)
{
    (void)state;
    int rep[2], stp[2];
    assert_int_equal(pipe(rep), 0);
    assert_int_equal(pipe(stp), 0);
    pid_t sup = fork();
    assert_true(sup >= 0);
    if (sup == 0) {
        close(rep[0]);
        close(stp[1]);
        static sup_ctl s;
        s.app = make_app();
        s.report = rep[1];
        s.stop = stp[0];
        cio_http_app_on_start(s.app, sup_started, &s);
        int rc = cio_http_run_processes(s.app, "127.0.0.1", 0, 2);
        pthread_join(s.th, NULL);
        /* Stopped: the app can be freed and the port is free again. */
        int fr = cio_http_app_free(s.app);
        _exit(rc == 0 && fr == 0 ? 0 : 1);
    }
    close(rep[1]);
    close(stp[0]);
    int v[3] = {0, 0, 0};
    struct pollfd pf = {rep[0], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 20000), 1);
    assert_int_equal(read(rep[0], v, sizeof(v)), sizeof(v));
    close(rep[0]);
    int port = v[0];
    assert_true(port > 0);
    assert_int_equal(v[1], port);   /* cio_http_app_port */
    assert_int_equal(v[2], -EBUSY); /* a second run while it runs */
    long pids[2];
    two_pids(port, pids);
    print_message("workers %ld and %ld answered on port %d\n", pids[0],
                  pids[1], port);
    /* cio_http_app_stop from another thread of the supervisor. */
    assert_int_equal(write(stp[1], "x", 1), 1);
    close(stp[1]);
    int st;
    assert_int_equal(waitpid(sup, &st, 0), sup);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* Both workers are gone, and the port with them. */
    usleep(50000);
    assert_int_equal(kill((pid_t)pids[0], 0), -1);
    assert_int_equal(kill((pid_t)pids[1], 0), -1);
    assert_int_equal(tu_dial_port(port), -1);
}

/* The parent in a process of its own, so SIGTERM can be sent to it. */
static void port_to_pipe(cio_http_app *app, int port, void *arg)
{
    (void)app;
    if (write(*(int *)arg, &port, sizeof(port)) != sizeof(port))
        _exit(4);
}

static void sigterm_graceful(void **state)
{
    (void)state;
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t sup = fork();
    assert_true(sup >= 0);
    if (sup == 0) {
        /* The supervisor: cio_http_run_processes on its only thread,
         * which blocks SIGTERM and takes it with sigtimedwait. */
        close(pfd[0]);
        cio_http_app *app = make_app();
        cio_http_app_on_start(app, port_to_pipe, &pfd[1]);
        int rc = cio_http_run_processes(app, "127.0.0.1", 0, 2);
        cio_http_app_free(app);
        _exit(rc == 0 ? 0 : 1);
    }
    close(pfd[1]);
    int port = 0;
    struct pollfd pf = {pfd[0], POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 20000), 1);
    assert_int_equal(read(pfd[0], &port, sizeof(port)), sizeof(port));
    close(pfd[0]);
    assert_true(port > 0);
    long pids[2];
    two_pids(port, pids);
    /* A request in flight when SIGTERM arrives is answered. */
    int fd = tu_dial_port(port);
    assert_true(fd >= 0);
    tu_send_str(fd, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
    usleep(100000);
    assert_int_equal(kill(sup, SIGTERM), 0);
    char got[64];
    assert_int_equal(tu_read_response(fd, got, sizeof(got)), 200);
    assert_string_equal(got, "slept");
    close(fd);
    int st;
    assert_int_equal(waitpid(sup, &st, 0), sup);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    usleep(50000);
    assert_int_equal(kill((pid_t)pids[0], 0), -1);
    assert_int_equal(kill((pid_t)pids[1], 0), -1);
    assert_int_equal(tu_dial_port(port), -1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(two_workers_serve),
    cmocka_unit_test(sigterm_graceful),
};

CIO_TEST_MAIN(tests)
