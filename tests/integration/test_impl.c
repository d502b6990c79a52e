/*
 * test_impl.c - cio/impl.h, the awaitable descriptor for code outside
 * cio: a task reads a pipe it drives itself (try, EAGAIN, clear, wait),
 * a writer fills a socketpair until EAGAIN and waits for room, and the
 * failure paths: cancellation while waiting, a close from another task
 * while one waits (-EBADF), a second waiter (-EBUSY), a descriptor cio
 * already uses (-EBUSY), bad arguments, a regular file (-EPERM).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cio_testutil_net.h"
#include "cio/impl.h"

typedef struct rd {
    cio_afd *a;
    int fd;
    char buf[64];
    ssize_t got;
} rd;

/* Reads once from rd->fd the impl.h way. */
static int reader(void *arg, void **result)
{
    (void)result;
    rd *x = arg;
    for (;;) {
        ssize_t n = read(x->fd, x->buf, sizeof(x->buf));
        if (n >= 0) {
            x->got = n;
            return 0;
        }
        if (errno != EAGAIN)
            return -errno;
        cio_afd_clear(x->a, CIO_EVENT_READ);
        int r = cio_afd_wait(x->a, CIO_EVENT_READ);
        if (r < 0)
            return r;
    }
}

static int basic_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int fds0 = count_fds();
    int p[2];
    assert_int_equal(pipe(p), 0);
    rd x = {.fd = p[0]};
    assert_int_equal(cio_afd_open(&x.a, g_loop, p[0]), 0);
    assert_true(fcntl(p[0], F_GETFL) & O_NONBLOCK);
    assert_int_equal(cio_afd_ready(x.a), CIO_EVENT_READ | CIO_EVENT_WRITE);
    cio_task *t;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(reader, &x), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(5 * CIO_MS), 0);
    assert_false(cio_future_done(t)); /* waiting for the edge */
    assert_int_equal(cio_afd_ready(x.a) & CIO_EVENT_READ, 0);
    assert_int_equal(write(p[1], "edge", 4), 4);
    assert_int_equal(cio_await(t, NULL), 0);
    cio_future_release(t);
    assert_int_equal(x.got, 4);
    assert_memory_equal(x.buf, "edge", 4);
    /* A second waiter in the same direction is refused. */
    x.got = -1;
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(reader, &x), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(cio_afd_wait(x.a, CIO_EVENT_READ), -EBUSY);
    /* Cancelled while waiting. */
    cio_task_cancel(t, NULL);
    assert_int_equal(cio_await(t, NULL), -ECANCELED);
    cio_future_release(t);
    /* Closed by another task while one waits: -EBADF, and the fd stays
     * the caller's. */
    assert_int_equal(cio_task_create(g_loop, CIO_CORO(reader, &x), NULL, &t),
                     0);
    assert_int_equal(cio_sleep(CIO_MS), 0);
    assert_int_equal(cio_afd_close(x.a), 0);
    assert_int_equal(cio_await(t, NULL), -EBADF);
    cio_future_release(t);
    assert_true(fcntl(p[0], F_GETFD) >= 0);
    close(p[0]);
    close(p[1]);
    assert_int_equal(count_fds(), fds0);
    return 0;
}

TU_NET_CASE(impl_afd_read_wait_cancel_close, basic_main)

static int writer_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    int sz = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    cio_afd *a;
    assert_int_equal(cio_afd_open(&a, g_loop, sv[0]), 0);
    static char chunk[4096];
    size_t sent = 0;
    int waited = 0;
    /* Fill until EAGAIN, let a thread-free peer drain, wait for room. */
    for (;;) {
        ssize_t n = send(sv[0], chunk, sizeof(chunk), MSG_DONTWAIT);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        assert_int_equal(errno, EAGAIN);
        cio_afd_clear(a, CIO_EVENT_WRITE);
        assert_int_equal(cio_afd_ready(a) & CIO_EVENT_WRITE, 0);
        if (waited)
            break;
        /* Drain the peer (it is not ours on the loop: plain reads). */
        char sink[65536];
        while (recv(sv[1], sink, sizeof(sink), MSG_DONTWAIT) > 0)
            ;
        assert_int_equal(cio_afd_wait(a, CIO_EVENT_WRITE), 0);
        waited = 1;
    }
    assert_true(sent > 0);
    assert_int_equal(cio_afd_close(a), 0);
    close(sv[0]);
    close(sv[1]);
    return 0;
}

TU_NET_CASE(impl_afd_write_wait, writer_main)

static int errors_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    cio_afd *a;
    assert_int_equal(cio_afd_open(NULL, g_loop, 0), -EINVAL);
    assert_int_equal(cio_afd_open(&a, g_loop, -1), -EINVAL);
    assert_null(a);
    assert_int_equal(cio_afd_open(&a, NULL, 0), -EINVAL);
    /* A descriptor a cio socket uses. */
    cio_socket *s;
    assert_int_equal(cio_socket_open(&s, g_loop, AF_INET, SOCK_DGRAM, 0), 0);
    assert_int_equal(cio_afd_open(&a, g_loop, cio_socket_fileno(s)), -EBUSY);
    cio_socket_close(s);
    /* Twice the same descriptor. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    cio_afd *b;
    assert_int_equal(cio_afd_open(&a, g_loop, p[0]), 0);
    assert_int_equal(cio_afd_open(&b, g_loop, p[0]), -EBUSY);
    assert_int_equal(cio_afd_wait(a, 0), -EINVAL);
    assert_int_equal(cio_afd_wait(a, CIO_EVENT_READ | CIO_EVENT_WRITE),
                     -EINVAL);
    assert_int_equal(cio_afd_wait(NULL, CIO_EVENT_READ), -EINVAL);
    cio_afd_clear(NULL, CIO_EVENT_READ);
    assert_int_equal(cio_afd_ready(NULL), 0);
    assert_int_equal(cio_afd_close(NULL), 0);
    assert_int_equal(cio_afd_close(a), 0);
    /* Free again for anyone once closed. */
    assert_int_equal(cio_afd_open(&a, g_loop, p[0]), 0);
    assert_int_equal(cio_afd_close(a), 0);
    close(p[0]);
    close(p[1]);
    /* A regular file cannot be polled. */
    char path[] = "/tmp/cio_impl_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    unlink(path);
    assert_int_equal(cio_afd_open(&a, g_loop, fd), -EPERM);
    close(fd);
    return 0;
}

TU_NET_CASE(impl_afd_errors, errors_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(impl_afd_read_wait_cancel_close, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(impl_afd_write_wait, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(impl_afd_errors, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
