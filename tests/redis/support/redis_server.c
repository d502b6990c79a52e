/*
 * redis_server.c - see redis_server.h. Blocking, loop-free code: it runs
 * before and after the test's loop, and from plain threads.
 */
#include "redis_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int tu_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(a);
    int r = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        r = -errno;
    close(fd);
    return r < 0 ? r : ntohs(a.sin_port);
}

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    return fd;
}

int tu_redis_inline(const tu_redis *s, const char *cmd, char *buf, size_t cap)
{
    int fd = connect_port(s->port);
    if (fd < 0)
        return fd;
    char line[512];
    int n = snprintf(line, sizeof(line), "%s\r\n", cmd);
    int r = 0;
    if (n < 0 || (size_t)n >= sizeof(line))
        r = -EINVAL;
    else if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
        r = -EIO;
    size_t got = 0;
    while (r == 0 && got + 1 < cap) {
        ssize_t k = recv(fd, buf + got, 1, 0);
        if (k <= 0) {
            r = k < 0 ? -errno : -ECONNRESET;
            break;
        }
        if (buf[got] == '\n')
            break;
        got++;
    }
    if (cap)
        buf[got < cap ? got : cap - 1] = '\0';
    if (got && buf[got - 1] == '\r')
        buf[got - 1] = '\0';
    close(fd);
    return r;
}

static void print_log(const tu_redis *s)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/redis.log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    fprintf(stderr, "---- %s\n", path);
    while (fgets(line, sizeof(line), f))
        fputs(line, stderr);
    fclose(f);
}

static int spawn(tu_redis *s)
{
    char port[16], tport[16], logf[300], cert[300], key[300], ca[300];
    snprintf(port, sizeof(port), "%d", s->port);
    snprintf(tport, sizeof(tport), "%d", s->tls_port);
    snprintf(logf, sizeof(logf), "%s/redis.log", s->dir);
    const char *argv[40];
    int n = 0;
    argv[n++] = "redis-server";
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1";
    if (s->o.bind_also)
        argv[n++] = s->o.bind_also;
    argv[n++] = "--dir";
    argv[n++] = s->dir;
    argv[n++] = "--logfile";
    argv[n++] = logf;
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--protected-mode";
    argv[n++] = "no";
    argv[n++] = "--databases";
    argv[n++] = "4";
    argv[n++] = "--appendonly";
    argv[n++] = s->o.aof ? "yes" : "no";
    if (s->o.aof) {
        argv[n++] = "--appendfsync";
        argv[n++] = "always";
    }
    if (s->o.password) {
        argv[n++] = "--requirepass";
        argv[n++] = s->pass;
    }
    if (s->o.tls) {
        argv[n++] = "--tls-port";
        argv[n++] = tport;
        argv[n++] = "--tls-cert-file";
        argv[n++] = tu_redis_path(s, "srv.pem", cert, sizeof(cert));
        argv[n++] = "--tls-key-file";
        argv[n++] = tu_redis_path(s, "srv.key", key, sizeof(key));
        argv[n++] = "--tls-ca-cert-file";
        argv[n++] = tu_redis_path(s, "ca.pem", ca, sizeof(ca));
        argv[n++] = "--tls-auth-clients";
        argv[n++] = "no";
    }
    argv[n] = NULL;

    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        if (s->o.unpin) {
            cpu_set_t cpus;
            CPU_ZERO(&cpus);
            for (int i = 0; i < CPU_SETSIZE; i++)
                CPU_SET(i, &cpus);
            sched_setaffinity(0, sizeof(cpus), &cpus);
        }
        execvp("redis-server", (char *const *)argv);
        _exit(127);
    }
    s->pid = pid;

    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            s->pid = 0;
            print_log(s);
            return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT
                                                                   : -EIO;
        }
        char buf[128];
        if (tu_redis_inline(s, "PING", buf, sizeof(buf)) == 0 &&
            (strcmp(buf, "+PONG") == 0 || strncmp(buf, "-NOAUTH", 7) == 0))
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 10) {
            print_log(s);
            tu_redis_kill(s, SIGKILL);
            return -ETIMEDOUT;
        }
        usleep(2000);
    }
}

const char *tu_redis_path(const tu_redis *s, const char *file, char *buf,
                          size_t cap)
{
    snprintf(buf, cap, "%s/%s", s->dir, file);
    return buf;
}

/* A CA, a server certificate it signs (localhost, 127.0.0.1) and an
 * unrelated CA, made in s->dir with the openssl CLI. */
static int make_certs(const tu_redis *s)
{
    static const char script[] =
        "set -e\n"
        "K='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
        "openssl req -x509 $K -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=cio-redis-test-CA\n"
        "openssl req -x509 $K -keyout other-ca.key -out other-ca.pem -days 2 "
        "-subj /CN=cio-redis-other-CA\n"
        "openssl req $K -keyout srv.key -out srv.csr -subj /CN=localhost\n"
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > srv.ext\n"
        "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out srv.pem -days 2 -extfile srv.ext\n";
    char path[300];
    FILE *f = fopen(tu_redis_path(s, "gen.sh", path, sizeof(path)), "w");
    if (!f)
        return -errno;
    fputs(script, f);
    fclose(f);
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "cd '%s' && sh gen.sh >/dev/null 2>&1",
             s->dir);
    return system(cmd) == 0 ? 0 : -EIO;
}

int tu_redis_start(tu_redis *s, const tu_redis_opts *o)
{
    memset(s, 0, sizeof(*s));
    if (o)
        s->o = *o;
    if (s->o.password) {
        snprintf(s->pass, sizeof(s->pass), "%s", s->o.password);
        s->o.password = s->pass;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(s->dir, sizeof(s->dir), "%s/cio-redis.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(s->dir)) {
        s->dir[0] = '\0';
        return -errno;
    }
    int r = s->o.tls ? make_certs(s) : -EADDRINUSE;
    if (r == 0)
        r = -EADDRINUSE;
    for (int attempt = 0; attempt < 5 && r == -EADDRINUSE; attempt++) {
        s->port = s->o.port ? s->o.port : tu_free_port();
        if (s->port < 0)
            return s->port;
        if (s->o.tls) {
            do
                s->tls_port = tu_free_port();
            while (s->tls_port == s->port);
            if (s->tls_port < 0)
                return s->tls_port;
        }
        r = spawn(s);
        if (r == -EIO && !s->o.port)
            r = -EADDRINUSE; /* lost the port race: try another */
    }
    if (r < 0)
        tu_redis_stop(s);
    return r;
}

int tu_redis_kill(tu_redis *s, int sig)
{
    if (!s->pid)
        return -ESRCH;
    kill(s->pid, sig);
    for (int i = 0; i < 5000; i++) {
        int status;
        pid_t w = waitpid(s->pid, &status, WNOHANG);
        if (w == s->pid || (w < 0 && errno == ECHILD)) {
            s->pid = 0;
            return 0;
        }
        usleep(1000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
    return 0;
}

int tu_redis_restart(tu_redis *s)
{
    if (s->pid)
        return -EBUSY;
    return spawn(s);
}

static int rm_one(const char *path, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

int tu_redis_stop(tu_redis *s)
{
    if (s->pid)
        tu_redis_kill(s, SIGTERM);
    if (s->dir[0]) {
        nftw(s->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        s->dir[0] = '\0';
    }
    return 0;
}
