/*
 * test_sock_stress.c - 10,000 concurrent TCP connections on one loop,
 * every byte accounted for.
 * cio-test: label=stress timeout=300
 *
 * The hard RLIMIT_NOFILE of the test machines is 20,000, so the clients
 * live in a forked child with its own loop (each side needs 10,000
 * descriptors) and both raise their soft limit to the hard one. Every
 * client connects, waits until all 10,000 are connected (so they really
 * are concurrent), sends a few KiB of a pattern unique to it, half-closes
 * and checks that exactly its bytes come back. The server echoes with one
 * task per connection and counts the bytes (and, for the log, the peak
 * number of connections open at once on its side).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cio_testutil.h"

enum { NCONN = 10000, MSG = 3 * 1024 + 17 };

static int raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -1;
    return rl.rlim_cur >= NCONN + 200 ? 0 : -1;
}

static char pattern_byte(int conn, size_t i)
{
    return (char)((conn * 131 + (int)i * 7) % 251);
}

/* ---- the client side (child process) ---- */

static cio_sockaddr c_addr;
static cio_event c_all;
static int c_connected, c_ok, c_fail;

static int client(void *arg, void **result)
{
    (void)result;
    int id = (int)(intptr_t)arg;
    cio_socket *s;
    int r = cio_socket_open(&s, cio_get_running_loop(), AF_INET, SOCK_STREAM,
                            0);
    if (r < 0)
        goto out;
    cio_socket_close_on_exit(s);
    if ((r = cio_socket_connect(s, &c_addr)) < 0)
        goto out;
    if (++c_connected == NCONN)
        cio_event_set(&c_all);
    if ((r = cio_event_wait(&c_all)) < 0)
        goto out;
    char out[MSG], in[MSG];
    for (size_t i = 0; i < MSG; i++)
        out[i] = pattern_byte(id, i);
    if ((r = cio_socket_sendall(s, out, MSG, 0)) < 0 ||
        (r = cio_socket_shutdown(s, SHUT_WR)) < 0)
        goto out;
    size_t got = 0;
    while (got < MSG) {
        ssize_t n = cio_socket_recv(s, in + got, MSG - got, 0);
        if (n <= 0) {
            r = n < 0 ? (int)n : -EPROTO;
            goto out;
        }
        got += (size_t)n;
    }
    char extra;
    r = cio_socket_recv(s, &extra, 1, 0) == 0 && memcmp(in, out, MSG) == 0
            ? 0
            : -EPROTO;
out:
    if (r < 0) {
        if (c_fail++ < 5)
            fprintf(stderr, "client %d: %s\n", id, cio_strerror(r));
        if (c_connected < NCONN) /* never all connected: release the rest */
            cio_event_set(&c_all);
    } else {
        c_ok++;
    }
    return 0;
}

static int client_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_loop *loop = cio_get_running_loop();
    cio_event_init(&c_all);
    cio_task **ts = calloc(NCONN, sizeof(*ts));
    for (int i = 0; i < NCONN; i++)
        if (cio_task_create(loop, CIO_CORO(client, (intptr_t)i), NULL, &ts[i]))
            return -ENOMEM;
    for (int i = 0; i < NCONN; i++) {
        cio_await(ts[i], NULL);
        cio_future_release(ts[i]);
    }
    free(ts);
    cio_event_destroy(&c_all);
    return 0;
}

static int run_clients(void)
{
    if (raise_nofile() < 0)
        return 3;
    int r = cio_run(client_main, NULL, NULL);
    if (r < 0)
        return 4;
    fprintf(stderr, "clients: %d ok, %d failed\n", c_ok, c_fail);
    return c_ok == NCONN && c_fail == 0 ? 0 : 1;
}

/* ---- the server side (the test process) ---- */

static cio_loop *s_loop;
static long s_bytes;
static int s_open, s_peak, s_done, s_errors;
static cio_event s_finished;

static int echo(void *arg, void **result)
{
    (void)result;
    cio_socket *c = arg;
    cio_socket_close_on_exit(c);
    if (++s_open > s_peak)
        s_peak = s_open;
    char buf[4096];
    int r = 0;
    for (;;) {
        ssize_t n = cio_socket_recv(c, buf, sizeof(buf), 0);
        if (n <= 0) {
            r = (int)n;
            break;
        }
        s_bytes += n;
        if ((r = cio_socket_sendall(c, buf, (size_t)n, 0)) < 0)
            break;
    }
    if (r < 0)
        s_errors++;
    s_open--;
    if (++s_done == NCONN)
        cio_event_set(&s_finished);
    return 0;
}

static int g_lfd;
static pid_t g_child;

static int server_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_socket *ls;
    assert_int_equal(cio_socket_from_fd(&ls, s_loop, g_lfd), 0);
    cio_event_init(&s_finished);
    for (int i = 0; i < NCONN; i++) {
        cio_socket *c;
        int r = cio_socket_accept(ls, &c, NULL);
        assert_int_equal(r, 0);
        assert_int_equal(cio_task_create(s_loop, CIO_CORO(echo, c), NULL, NULL),
                         0);
    }
    cio_socket_close(ls);
    assert_int_equal(cio_event_wait(&s_finished), 0);
    cio_event_destroy(&s_finished);
    return 0;
}

static void ten_thousand_connections(void **state)
{
    (void)state;
    if (raise_nofile() < 0)
        skip();
    signal(SIGPIPE, SIG_DFL);
    /* The listener exists before the fork, so the child knows the port;
     * the fork happens before any loop or thread exists. */
    g_lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(g_lfd >= 0);
    assert_int_equal(cio_sockaddr_from_ip(&c_addr, "127.0.0.1", 0), 0);
    assert_int_equal(bind(g_lfd, (struct sockaddr *)&c_addr.ss, c_addr.len),
                     0);
    assert_int_equal(listen(g_lfd, SOMAXCONN), 0);
    c_addr.len = sizeof(c_addr.ss);
    assert_int_equal(
        getsockname(g_lfd, (struct sockaddr *)&c_addr.ss, &c_addr.len), 0);
    g_child = fork();
    assert_true(g_child >= 0);
    if (g_child == 0) {
        close(g_lfd);
        _exit(run_clients());
    }
    assert_int_equal(cio_loop_new(&s_loop, NULL), 0);
    cio_task *t;
    assert_int_equal(
        cio_task_create(s_loop, CIO_CORO(server_main, NULL), NULL, &t), 0);
    assert_int_equal(cio_loop_run_until_complete(s_loop, t, NULL), 0);
    cio_future_release(t);
    tu_loop_done(s_loop);
    int status;
    assert_int_equal(waitpid(g_child, &status, 0), g_child);
    fprintf(stderr, "server: %ld bytes echoed, peak %d open, %d errors\n",
            s_bytes, s_peak, s_errors);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(s_errors, 0);
    assert_int_equal(s_bytes, (long)NCONN * MSG);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(ten_thousand_connections, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
