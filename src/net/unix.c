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
#include "net/conn.h"

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
static int is_stale(const cio_sockaddr *a, const char *path, int type)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode))
        return 0; /* not ours to remove: bind says EADDRINUSE */
    /* Probe with the type that will be bound: a stream connect to a
     * datagram socket says EPROTOTYPE, which tells nothing. */
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int r = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    int e = errno;
    close(fd);
    if (r == 0 || e == EAGAIN || e == EINPROGRESS)
        return 0; /* someone accepts (or its backlog is full): live */
    if (e == EPROTOTYPE)
        return 0; /* a live socket of another type */
    return e == ECONNREFUSED ? 1 : -e;
}

/* Removes a stale socket file at path (flags), then makes an AF_UNIX
 * socket of type bound to it, chmod'ed to mode (> 0), listening unless a
 * datagram socket. Returns 0 and *fd (non-blocking, close-on-exec), or an
 * error (the file this call bound is removed again). */
static int unix_bind(const char *path, int type, int mode, int backlog,
                     int flags, int *fd, struct stat *bound)
{
    if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
        return -EINVAL;
    if (flags & ~(CIO_UNIX_REMOVE_STALE | CIO_UNIX_KEEP_FILE))
        return -EINVAL;
    cio_sockaddr a;
    int r = cio_sockaddr_from_unix(&a, path);
    if (r < 0)
        return r;
    int abstract = path[0] == '@';
    if (!abstract && (flags & CIO_UNIX_REMOVE_STALE)) {
        r = is_stale(&a, path, type);
        if (r < 0)
            return r;
        if (r == 1 && unlink(path) < 0 && errno != ENOENT)
            return -errno;
    }
    int s = cio__sock_fd(AF_UNIX, type, 0);
    if (s < 0)
        return s;
    if (bind(s, (const struct sockaddr *)&a.ss, a.len) < 0) {
        r = -errno;
        close(s);
        return r;
    }
    r = 0;
    if (!abstract && mode > 0 && chmod(path, (mode_t)mode) < 0)
        r = -errno;
    /* The file's identity, for removing it at close only if it is still
     * the one bound here. */
    if (r == 0 && bound && !abstract && lstat(path, bound) < 0)
        r = -errno;
    if (r == 0 && type != SOCK_DGRAM &&
        listen(s, backlog < 0 ? SOMAXCONN : backlog) < 0)
        r = -errno;
    if (r < 0) {
        close(s);
        if (!abstract)
            unlink(path);
        return r;
    }
    *fd = s;
    return 0;
}

int cio_unix_listen(cio_socket **out, cio_loop *loop, const char *path,
                    int type, int mode, int backlog, int flags)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    if (!path)
        return -EINVAL;
    int fd;
    r = unix_bind(path, type, mode, backlog, flags, &fd, NULL);
    if (r < 0)
        return r;
    r = cio_socket_from_fd(out, loop, fd);
    if (r < 0) {
        close(fd);
        if (path[0] != '@')
            unlink(path);
    }
    return r;
}

static int unix_server(cio_loop *loop, int kind, void *fn, void *arg,
                       const char *path, int mode, int flags,
                       const cio_server_opts *opts, cio_server **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    int r = cio__loop_check(loop);
    if (r < 0)
        return r;
    cio_server_opts o = CIO_SERVER_OPTS_INIT;
    if (opts)
        o = *opts;
    if (!fn || !path || o.use_sock || o.backlog < 0)
        return -EINVAL;
    int fd;
    struct stat st;
    r = unix_bind(path, SOCK_STREAM, mode, o.backlog ? o.backlog : 100,
                  flags, &fd, &st);
    if (r < 0)
        return r;
    char *keep = NULL;
    if (path[0] != '@' && !(flags & CIO_UNIX_KEEP_FILE) &&
        !(keep = cio__malloc(strlen(path) + 1)))
        r = -ENOMEM;
    o.use_sock = 1;
    o.sock = fd;
    if (r == 0)
        r = cio__server_open(loop, kind, fn, arg, NULL, 0, &o, out);
    if (r < 0) {
        cio__free(keep);
        close(fd);
        if (path[0] != '@')
            unlink(path);
        return r;
    }
    if (keep) {
        (*out)->unix_path = strcpy(keep, path);
        (*out)->unix_dev = st.st_dev;
        (*out)->unix_ino = st.st_ino;
    }
    return 0;
}

int cio_start_unix_server(cio_loop *loop, cio_stream_handler handler,
                          void *arg, const char *path, int mode, int flags,
                          const cio_server_opts *opts, cio_server **out)
{
    return unix_server(loop, CIO__SRV_STREAMS, (void *)handler, arg, path,
                       mode, flags, opts, out);
}

int cio_create_unix_server(cio_loop *loop, cio_protocol_factory factory,
                           void *arg, const char *path, int mode, int flags,
                           const cio_server_opts *opts, cio_server **out)
{
    return unix_server(loop, CIO__SRV_PROTOCOL, (void *)factory, arg, path,
                       mode, flags, opts, out);
}

int cio_create_unix_datagram_endpoint(const cio_datagram_protocol *proto,
                                      void *ctx, const char *local_path,
                                      const char *remote_path, int mode,
                                      int flags, const cio_datagram_opts *opts,
                                      cio_datagram_transport **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!proto || (!local_path && !remote_path))
        return -EINVAL;
    cio_sockaddr ra;
    int r;
    if (remote_path && (r = cio_sockaddr_from_unix(&ra, remote_path)) < 0)
        return r;
    int fd;
    if (local_path) {
        r = unix_bind(local_path, SOCK_DGRAM, mode, 0, flags, &fd, NULL);
        if (r < 0)
            return r;
    } else {
        if (flags & ~CIO_UNIX_REMOVE_STALE)
            return -EINVAL;
        fd = cio__sock_fd(AF_UNIX, SOCK_DGRAM, 0);
        if (fd < 0)
            return fd;
    }
    /* A Unix datagram connect never waits: the peer exists or not. */
    if (remote_path &&
        connect(fd, (const struct sockaddr *)&ra.ss, ra.len) < 0)
        r = -errno;
    else
        r = cio_create_datagram_endpoint_from_fd(proto, ctx, fd, opts, out);
    if (r < 0) {
        close(fd);
        if (local_path && local_path[0] != '@')
            unlink(local_path);
    }
    return r;
}
