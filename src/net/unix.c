/*
 * unix.c - Unix domain socket addresses and listeners (issue 11):
 * cio_sockaddr_from_unix (filesystem paths and Linux's abstract
 * namespace, "@name") and cio_unix_listen, which removes a stale socket
 * file before binding but never a live one: it first tries to connect,
 * and only ECONNREFUSED (nobody accepts on it) makes the file stale.
 * Descriptor passing and peer credentials are calls on cio sockets
 * (sock.c), so they work on any connected Unix socket, accepted or not.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "net/addr.h"

int cio_sockaddr_from_unix(cio_sockaddr *out, const char *path)
{
    if (!out || !path || !path[0])
        return -EINVAL;
    struct sockaddr_un *u = (struct sockaddr_un *)(void *)&out->ss;
    size_t n = strlen(path);
    if (n >= sizeof(u->sun_path))
        return -ENAMETOOLONG;
    memset(out, 0, sizeof(*out));
    u->sun_family = AF_UNIX;
    memcpy(u->sun_path, path, n);
    if (path[0] == '@') {
        u->sun_path[0] = 0; /* abstract: no file, length counts */
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

/* 1 if a socket file at a is stale (nobody accepts on it), 0 if it is
 * live or not a socket, -errno if that cannot be told. */
static int is_stale(const cio_sockaddr *a, const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return 0; /* not ours to remove: bind says EADDRINUSE */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int r = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    int e = errno;
    close(fd);
    if (r == 0 || e == EAGAIN || e == EINPROGRESS)
        return 0; /* someone accepts (or its backlog is full): live */
    return e == ECONNREFUSED ? 1 : -e;
}

int cio_unix_listen(cio_socket **out, cio_loop *loop, const char *path,
                    int type, int mode, int backlog, int flags)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
        return -EINVAL;
    if (flags & ~CIO_UNIX_REMOVE_STALE)
        return -EINVAL;
    cio_sockaddr a;
    int r = cio_sockaddr_from_unix(&a, path);
    if (r < 0)
        return r;
    int abstract = path[0] == '@';
    if (!abstract && (flags & CIO_UNIX_REMOVE_STALE)) {
        r = is_stale(&a, path);
        if (r < 0)
            return r;
        if (r == 1 && unlink(path) < 0 && errno != ENOENT)
            return -errno;
    }
    cio_socket *s;
    r = cio_socket_open(&s, loop, AF_UNIX, type, 0);
    if (r < 0)
        return r;
    r = cio_socket_bind(s, &a);
    if (r == 0 && !abstract && mode > 0 && chmod(path, (mode_t)mode) < 0)
        r = -errno;
    if (r == 0 && type != SOCK_DGRAM)
        r = cio_socket_listen(s, backlog);
    if (r < 0) {
        cio_socket_close(s);
        return r;
    }
    *out = s;
    return 0;
}
