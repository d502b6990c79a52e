/*
 * test_unix.c - Unix domain sockets: path and abstract addresses, a
 * listener that removes a stale socket file but never a live one nor a
 * file that is not a socket, the file's permissions, stream and datagram
 * exchanges, descriptor passing (SCM_RIGHTS, including more descriptors
 * than the receiver has room for) and peer credentials (SO_PEERCRED).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cio_testutil_net.h"

static void tmp_path(char *buf, size_t cap, const char *tag)
{
    snprintf(buf, cap, "/tmp/cio_unix_%s_%d", tag, (int)getpid());
    unlink(buf);
}

/* Connects a new client to a and accepts it on ls. */
static void connect_pair(cio_socket *ls, const cio_sockaddr *a, cio_socket **c,
                         cio_socket **s)
{
    assert_int_equal(cio_socket_open(c, g_loop, AF_UNIX, SOCK_STREAM, 0), 0);
    assert_int_equal(cio_socket_connect(*c, a), 0);
    assert_int_equal(cio_socket_accept(ls, s, NULL), 0);
}

static int listen_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char path[64];
    tmp_path(path, sizeof(path), "l");
    cio_sockaddr a;
    assert_int_equal(cio_sockaddr_from_unix(&a, path), 0);
    /* A stale socket file: bound by a socket that is gone. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
    close(fd);
    cio_socket *ls;
    assert_int_equal(cio_unix_listen(&ls, g_loop, path, SOCK_STREAM, 0600, -1,
                                     0),
                     -EADDRINUSE);
    assert_int_equal(cio_unix_listen(&ls, g_loop, path, SOCK_STREAM, 0600, -1,
                                     CIO_UNIX_REMOVE_STALE),
                     0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A live one is never removed: the second listener fails and the
     * first still accepts. */
    cio_socket *ls2;
    assert_int_equal(cio_unix_listen(&ls2, g_loop, path, SOCK_STREAM, 0, -1,
                                     CIO_UNIX_REMOVE_STALE),
                     -EADDRINUSE);
    /* The live server saw the probe: a connection closed at once. */
    cio_socket *c, *s;
    char buf[8];
    assert_int_equal(cio_socket_accept(ls, &s, NULL), 0);
    assert_int_equal(cio_socket_recv(s, buf, sizeof(buf), 0), 0);
    cio_socket_close(s);
    connect_pair(ls, &a, &c, &s);
    assert_int_equal(cio_socket_sendall(c, "hi", 2, 0), 0);
    assert_int_equal(cio_socket_recv(s, buf, sizeof(buf), 0), 2);
    /* Peer credentials: this process on both ends. */
    pid_t pid;
    uid_t uid;
    gid_t gid;
    assert_int_equal(cio_socket_peercred(s, &pid, &uid, &gid), 0);
    assert_int_equal(pid, getpid());
    assert_int_equal(uid, getuid());
    assert_int_equal(gid, getgid());
    assert_int_equal(cio_socket_peercred(c, NULL, &uid, NULL), 0);
    cio_socket_close(s);
    cio_socket_close(c);
    cio_socket_close(ls);
    /* A file that is not a socket is never removed. */
    unlink(path);
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    close(fd);
    assert_int_equal(cio_unix_listen(&ls, g_loop, path, SOCK_STREAM, 0, -1,
                                     CIO_UNIX_REMOVE_STALE),
                     -EADDRINUSE);
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    unlink(path);
    /* Bad arguments. */
    assert_int_equal(cio_sockaddr_from_unix(&a, ""), -EINVAL);
    char longp[200];
    memset(longp, 'x', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = 0;
    assert_int_equal(cio_sockaddr_from_unix(&a, longp), -ENAMETOOLONG);
    assert_int_equal(cio_unix_listen(&ls, g_loop, path, SOCK_RAW, 0, -1, 0),
                     -EINVAL);
    return 0;
}

TU_NET_CASE(unix_listen_stale_live_mode, listen_main)

static int abstract_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    char name[64];
    snprintf(name, sizeof(name), "@cio-test-%d", (int)getpid());
    cio_socket *ls;
    assert_int_equal(cio_unix_listen(&ls, g_loop, name, SOCK_STREAM, 0600, 4,
                                     CIO_UNIX_REMOVE_STALE),
                     0);
    cio_sockaddr a;
    assert_int_equal(cio_sockaddr_from_unix(&a, name), 0);
    cio_socket *c, *s;
    connect_pair(ls, &a, &c, &s);
    assert_int_equal(cio_socket_sendall(s, "abc", 3, 0), 0);
    char buf[8];
    assert_int_equal(cio_socket_recv(c, buf, sizeof(buf), 0), 3);
    assert_memory_equal(buf, "abc", 3);
    cio_socket_close(s);
    cio_socket_close(c);
    cio_socket_close(ls);
    /* Datagrams on an abstract address. */
    snprintf(name, sizeof(name), "@cio-test-dg-%d", (int)getpid());
    cio_socket *d;
    assert_int_equal(cio_unix_listen(&d, g_loop, name, SOCK_DGRAM, 0, 0, 0), 0);
    assert_int_equal(cio_sockaddr_from_unix(&a, name), 0);
    cio_socket *cl;
    assert_int_equal(cio_socket_open(&cl, g_loop, AF_UNIX, SOCK_DGRAM, 0), 0);
    assert_int_equal(cio_socket_sendto(cl, "dgram", 5, 0, &a), 5);
    assert_int_equal(cio_socket_recvfrom(d, buf, sizeof(buf), 0, NULL), 5);
    assert_memory_equal(buf, "dgram", 5);
    cio_socket_close(cl);
    cio_socket_close(d);
    return 0;
}

TU_NET_CASE(unix_abstract_stream_and_datagram, abstract_main)

static int fds_main(void *arg, void **result)
{
    (void)arg;
    (void)result;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    cio_socket *a, *b;
    assert_int_equal(cio_socket_from_fd(&a, g_loop, sv[0]), 0);
    assert_int_equal(cio_socket_from_fd(&b, g_loop, sv[1]), 0);
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(cio_socket_send_fds(a, "f", 1, &p[0], 1), 1);
    close(p[0]); /* the receiver has its own copy now */
    char buf[8];
    int got[4], n = 4;
    assert_int_equal(cio_socket_recv_fds(b, buf, sizeof(buf), got, &n), 1);
    assert_int_equal(n, 1);
    assert_int_equal(write(p[1], "xyz", 3), 3);
    assert_int_equal(read(got[0], buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "xyz", 3);
    assert_true(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
    close(got[0]);
    /* Three sent, room for one: the other two are closed, not leaked. */
    int before = count_fds();
    int three[3] = {p[1], p[1], p[1]};
    assert_int_equal(cio_socket_send_fds(a, NULL, 0, three, 3), 0);
    n = 1;
    assert_int_equal(cio_socket_recv_fds(b, buf, sizeof(buf), got, &n), 1);
    assert_int_equal(n, 1);
    close(got[0]);
    assert_int_equal(count_fds(), before);
    close(p[1]);
    /* Bad arguments. */
    assert_int_equal(cio_socket_send_fds(a, "x", 1, NULL, 1), -EINVAL);
    assert_int_equal(cio_socket_send_fds(a, "x", 1, three, CIO_MAX_PASS_FDS + 1),
                     -EINVAL);
    n = 1;
    assert_int_equal(cio_socket_recv_fds(b, buf, 0, got, &n), -EINVAL);
    cio_socket_close(a);
    cio_socket_close(b);
    return 0;
}

TU_NET_CASE(unix_pass_fds, fds_main)

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(unix_listen_stale_live_mode, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unix_abstract_stream_and_datagram, tu_setup, tu_teardown),
    cmocka_unit_test_setup_teardown(unix_pass_fds, tu_setup, tu_teardown),
};

CIO_TEST_MAIN(tests)
