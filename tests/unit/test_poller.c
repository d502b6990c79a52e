/*
 * test_poller.c - the poller on its own (MISSION S16): add_reader /
 * add_writer / remove_* on pipes and socketpairs (level-triggered, removal
 * of a queued callback, self-removal, -EBUSY against a cio socket, -EPERM
 * for a regular file), and the loop-less selector (register, modify,
 * unregister, select with timeouts, -EEXIST / -ENOENT, and an echo server
 * with a real client thread).
 */
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cio_testutil.h"

static cio_loop *new_loop(void)
{
    cio_loop *loop;
    assert_int_equal(cio_loop_new(&loop, NULL), 0);
    return loop;
}

/* ---- add_reader: level-triggered ---- */

typedef struct rd_state {
    cio_loop *loop;
    int fd;
    int calls;
    int stop_at;
    int other_fd; /* removed by the callback, if >= 0 */
    int *shared;  /* counts calls of both callbacks */
} rd_state;

static int count_and_stop(void *arg)
{
    rd_state *s = arg;
    s->calls++;
    if (s->shared)
        (*s->shared)++;
    if (s->other_fd >= 0)
        assert_int_equal(cio_loop_remove_reader(s->loop, s->other_fd), 1);
    if (s->calls == s->stop_at) {
        assert_int_equal(cio_loop_remove_reader(s->loop, s->fd), 1);
        cio_loop_stop(s->loop);
    }
    return 0;
}

static void reader_is_level_triggered(void **state)
{
    (void)state;
    cio_loop *loop = new_loop();
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    /* The byte is never read, so the callback runs in every iteration. */
    rd_state s = {loop, p[0], 0, 3, -1, NULL};
    assert_int_equal(cio_loop_add_reader(loop, p[0], count_and_stop, &s), 0);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(s.calls, 3);
    /* Removed: nothing runs any more. */
    assert_int_equal(cio_loop_remove_reader(loop, p[0]), 0);
    cio_loop_stop(loop);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(s.calls, 3);
    close(p[0]);
    close(p[1]);
    tu_loop_done(loop);
}

static void removing_a_queued_callback_prevents_it(void **state)
{
    (void)state;
    cio_loop *loop = new_loop();
    int a[2], b[2];
    assert_int_equal(pipe(a), 0);
    assert_int_equal(pipe(b), 0);
    assert_int_equal(write(a[1], "x", 1), 1);
    assert_int_equal(write(b[1], "x", 1), 1);
    /* Both become ready in the same poll; whichever runs first removes
     * the other, whose callback is already queued: it must not run. */
    int shared = 0;
    rd_state sa = {loop, a[0], 0, 1, b[0], &shared};
    rd_state sb = {loop, b[0], 0, 1, a[0], &shared};
    assert_int_equal(cio_loop_add_reader(loop, a[0], count_and_stop, &sa), 0);
    assert_int_equal(cio_loop_add_reader(loop, b[0], count_and_stop, &sb), 0);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(shared, 1);
    assert_int_equal(sa.calls + sb.calls, 1);
    for (int i = 0; i < 2; i++) {
        close(a[i]);
        close(b[i]);
    }
    tu_loop_done(loop);
}

typedef struct self_state {
    cio_loop *loop;
    int fd;
    int calls;
} self_state;

static int remove_self(void *arg)
{
    self_state *s = arg;
    s->calls++;
    assert_int_equal(cio_loop_remove_writer(s->loop, s->fd), 1);
    return 0;
}

static int stop_later(void *arg)
{
    cio_loop_stop(arg);
    return 0;
}

static void callback_removes_itself(void **state)
{
    (void)state;
    cio_loop *loop = new_loop();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    self_state s = {loop, sv[0], 0};
    assert_int_equal(cio_loop_add_writer(loop, sv[0], remove_self, &s), 0);
    assert_int_equal(cio_loop_call_later(loop, 20 * CIO_MS, stop_later, loop,
                                         NULL),
                     0);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(cio_loop_remove_writer(loop, sv[0]), 0);
    close(sv[0]);
    close(sv[1]);
    tu_loop_done(loop);
}

typedef struct rw_state {
    cio_loop *loop;
    int fd;
    int reads, writes;
} rw_state;

static int on_write(void *arg)
{
    rw_state *s = arg;
    if (s->writes++ == 0) {
        /* Make the peer readable, and stop watching writability. */
        assert_int_equal(write(s->fd, "ping", 4), 4);
        assert_int_equal(cio_loop_remove_writer(s->loop, s->fd), 1);
    }
    return 0;
}

static int on_read(void *arg)
{
    rw_state *s = arg;
    char buf[8];
    assert_int_equal(read(s->fd, buf, sizeof(buf)), 4);
    s->reads++;
    assert_int_equal(cio_loop_remove_reader(s->loop, s->fd), 1);
    cio_loop_stop(s->loop);
    return 0;
}

static void reader_and_writer_on_socketpair(void **state)
{
    (void)state;
    cio_loop *loop = new_loop();
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    rw_state w = {loop, sv[0], 0, 0}, r = {loop, sv[1], 0, 0};
    assert_int_equal(cio_loop_add_writer(loop, sv[0], on_write, &w), 0);
    assert_int_equal(cio_loop_add_reader(loop, sv[1], on_read, &r), 0);
    /* Replacing a reader keeps one registration. */
    assert_int_equal(cio_loop_add_reader(loop, sv[1], on_read, &r), 0);
    assert_int_equal(cio_loop_run_forever(loop), 0);
    assert_int_equal(w.writes, 1);
    assert_int_equal(r.reads, 1);
    /* Reader and writer on one fd: removing one keeps the other. */
    assert_int_equal(cio_loop_add_reader(loop, sv[0], on_read, &w), 0);
    assert_int_equal(cio_loop_add_writer(loop, sv[0], on_write, &w), 0);
    assert_int_equal(cio_loop_remove_reader(loop, sv[0]), 1);
    assert_int_equal(cio_loop_remove_reader(loop, sv[0]), 0);
    assert_int_equal(cio_loop_remove_writer(loop, sv[0]), 1);
    close(sv[0]);
    close(sv[1]);
    tu_loop_done(loop);
}

static int nop(void *arg)
{
    (void)arg;
    return 0;
}

static void busy_perm_and_bad_arguments(void **state)
{
    (void)state;
    cio_loop *loop = new_loop();
    /* A descriptor owned by a cio socket. */
    cio_socket *s;
    assert_int_equal(cio_socket_open(&s, loop, AF_INET, SOCK_STREAM, 0), 0);
    int fd = cio_socket_fileno(s);
    assert_int_equal(cio_loop_add_reader(loop, fd, nop, NULL), -EBUSY);
    assert_int_equal(cio_loop_add_writer(loop, fd, nop, NULL), -EBUSY);
    assert_int_equal(cio_loop_remove_reader(loop, fd), 0);
    assert_int_equal(cio_socket_close(s), 0);
    /* And the other way round. */
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(cio_loop_add_reader(loop, sv[0], nop, NULL), 0);
    assert_int_equal(cio_socket_from_fd(&s, loop, sv[0]), -EBUSY);
    assert_int_equal(cio_loop_remove_reader(loop, sv[0]), 1);
    assert_int_equal(cio_socket_from_fd(&s, loop, sv[0]), 0);
    assert_int_equal(cio_socket_close(s), 0); /* closes sv[0] */
    close(sv[1]);
    /* A regular file cannot be polled. */
    char path[] = "/tmp/cio-poller-XXXXXX";
    int f = mkstemp(path);
    assert_true(f >= 0);
    unlink(path);
    assert_int_equal(cio_loop_add_reader(loop, f, nop, NULL), -EPERM);
    assert_int_equal(cio_loop_add_writer(loop, f, nop, NULL), -EPERM);
    close(f);
    assert_int_equal(cio_loop_add_reader(loop, -1, nop, NULL), -EINVAL);
    assert_int_equal(cio_loop_add_reader(loop, 0, NULL, NULL), -EINVAL);
    assert_int_equal(cio_loop_add_reader(NULL, 0, nop, NULL), -EINVAL);
    tu_loop_done(loop);
}

/* A reader still registered when the loop closes is freed by the close. */
static void close_frees_leftover_readers(void **state)
{
    (void)state;
    cio_loop *loop = new_loop();
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(cio_loop_add_reader(loop, p[0], nop, NULL), 0);
    assert_int_equal(cio_loop_add_writer(loop, p[1], nop, NULL), 0);
    tu_loop_done(loop);
    close(p[0]);
    close(p[1]);
}

/* ---- the selector ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void selector_register_modify_unregister(void **state)
{
    (void)state;
    cio_selector *sel;
    assert_int_equal(cio_selector_new(&sel), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    int tag_r, tag_w;
    cio_selector_key keys[4];
    assert_int_equal(cio_selector_register(sel, p[0], CIO_EVENT_READ, &tag_r),
                     0);
    assert_int_equal(cio_selector_register(sel, p[0], CIO_EVENT_READ, &tag_r),
                     -EEXIST);
    assert_int_equal(cio_selector_register(sel, p[1], 0, NULL), -EINVAL);
    assert_int_equal(cio_selector_register(sel, p[1], 8, NULL), -EINVAL);
    assert_int_equal(cio_selector_modify(sel, p[1], CIO_EVENT_WRITE, NULL),
                     -ENOENT);
    assert_int_equal(cio_selector_unregister(sel, p[1]), -ENOENT);
    /* Nothing ready: a zero timeout polls, a positive one waits. */
    assert_int_equal(cio_selector_select(sel, 0, keys, 4), 0);
    double t0 = now_s();
    assert_int_equal(cio_selector_select(sel, 30 * CIO_MS, keys, 4), 0);
    assert_true(now_s() - t0 >= 0.029);
    /* Readable, level-triggered: reported until drained. */
    assert_int_equal(write(p[1], "ab", 2), 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(cio_selector_select(sel, -1, keys, 4), 1);
        assert_int_equal(keys[0].fd, p[0]);
        assert_int_equal(keys[0].events, CIO_EVENT_READ);
        assert_ptr_equal(keys[0].data, &tag_r);
    }
    char c[2];
    assert_int_equal(read(p[0], c, 2), 2);
    assert_int_equal(cio_selector_select(sel, 0, keys, 4), 0);
    /* The write end: register for reading (never ready), then modify to
     * writing with new data. */
    assert_int_equal(cio_selector_register(sel, p[1], CIO_EVENT_READ, NULL),
                     0);
    assert_int_equal(cio_selector_select(sel, 0, keys, 4), 0);
    assert_int_equal(cio_selector_modify(sel, p[1], CIO_EVENT_WRITE, &tag_w),
                     0);
    assert_int_equal(cio_selector_select(sel, 0, keys, 4), 1);
    assert_int_equal(keys[0].fd, p[1]);
    assert_int_equal(keys[0].events, CIO_EVENT_WRITE);
    assert_ptr_equal(keys[0].data, &tag_w);
    /* max limits the keys returned; the rest come next time. */
    assert_int_equal(write(p[1], "x", 1), 1);
    assert_int_equal(cio_selector_select(sel, 0, keys, 1), 1);
    assert_int_equal(cio_selector_select(sel, 0, keys, 4), 2);
    assert_int_equal(cio_selector_select(sel, 0, keys, 0), -EINVAL);
    assert_int_equal(cio_selector_unregister(sel, p[1]), 0);
    assert_int_equal(cio_selector_unregister(sel, p[0]), 0);
    assert_int_equal(cio_selector_select(sel, 0, keys, 4), 0);
    close(p[0]);
    close(p[1]);
    cio_selector_free(sel);
    cio_selector_free(NULL);
}

/* The note's event-driven echo server, with a client thread. */

typedef void (*sel_cb)(cio_selector *sel, int fd, int *done);

/* What a key carries (Python passes the callback as key.data). */
typedef struct sel_handler {
    sel_cb cb;
} sel_handler;

static void sel_read(cio_selector *sel, int fd, int *done)
{
    char buf[1000];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
        assert_int_equal(send(fd, buf, (size_t)n, MSG_NOSIGNAL), n);
    } else {
        assert_int_equal(cio_selector_unregister(sel, fd), 0);
        close(fd);
        (*done)++;
    }
}

static sel_handler h_read = {sel_read};

static void sel_accept(cio_selector *sel, int fd, int *done)
{
    (void)done;
    int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    assert_true(c >= 0);
    assert_int_equal(
        cio_selector_register(sel, c, CIO_EVENT_READ, &h_read), 0);
}

static sel_handler h_accept = {sel_accept};

static void *client_thread(void *arg)
{
    struct sockaddr_storage *ss = arg;
    for (int k = 0; k < 2; k++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)ss,
                              sizeof(struct sockaddr_in)) < 0)
            return (void *)1;
        for (int i = 0; i < 3; i++) {
            char msg[32], back[32];
            int n = snprintf(msg, sizeof(msg), "hello world %d.%d\n", k, i);
            if (send(fd, msg, (size_t)n, 0) != n)
                return (void *)2;
            int got = 0;
            while (got < n) {
                ssize_t r = recv(fd, back + got, (size_t)(n - got), 0);
                if (r <= 0)
                    return (void *)3;
                got += (int)r;
            }
            if (memcmp(msg, back, (size_t)n))
                return (void *)4;
        }
        close(fd);
    }
    return NULL;
}

static void selector_echo_server(void **state)
{
    (void)state;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_true(ls >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(ls, 100), 0);
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&ss, &sl), 0);
    cio_selector *sel;
    assert_int_equal(cio_selector_new(&sel), 0);
    assert_int_equal(
        cio_selector_register(sel, ls, CIO_EVENT_READ, &h_accept), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, client_thread, &ss), 0);
    int done = 0;
    while (done < 2) {
        cio_selector_key keys[8];
        int n = cio_selector_select(sel, 5 * CIO_SEC, keys, 8);
        assert_true(n > 0);
        for (int i = 0; i < n; i++)
            ((sel_handler *)keys[i].data)->cb(sel, keys[i].fd, &done);
    }
    void *rc;
    assert_int_equal(pthread_join(th, &rc), 0);
    assert_null(rc);
    assert_int_equal(cio_selector_unregister(sel, ls), 0);
    close(ls);
    cio_selector_free(sel);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(reader_is_level_triggered, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(removing_a_queued_callback_prevents_it, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(callback_removes_itself, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(reader_and_writer_on_socketpair, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(busy_perm_and_bad_arguments, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(close_frees_leftover_readers, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(selector_register_modify_unregister, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(selector_echo_server, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
