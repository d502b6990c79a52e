/*
 * http_idle_rss.c - figure http_idle_conn_rss_bytes: the resident memory
 * an idle keep-alive connection costs cio::http's server (its task's
 * touched stack pages, the connection object, its input and output
 * buffers after one request). One measurement per run (memory freed by
 * a first batch would be reused by a second): bench/run takes the median
 * of 5 runs.
 *
 * One process: the server runs through cio_http_run (1 worker) in a
 * thread; the main thread opens N connections, sends one GET on each and
 * reads the answer, so every connection is idle in keep-alive with its
 * buffers grown; the figure is the RSS difference (/proc/self/statm)
 * divided by N. Client sockets cost kernel memory, not RSS.
 *
 * Usage: http_idle_rss [-n N]  (default 1000 connections)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"
#include "cio/http.h"

static cio_http_app *app;
static volatile int port;

static int hello(cio_http_request *req, cio_http_response *res, void *arg)
{
    (void)req, (void)arg;
    return cio_http_response_text(res, 200, "Hello, World!");
}

static void started(cio_http_app *a, int p, void *arg)
{
    (void)a, (void)arg;
    __atomic_store_n(&port, p, __ATOMIC_RELEASE);
}

static void *serve(void *arg)
{
    (void)arg;
    if (cio_http_run(app, "127.0.0.1", 0, 1) < 0)
        exit(1);
    return NULL;
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &res) != 2)
        exit(1);
    fclose(f);
    return res * sysconf(_SC_PAGESIZE);
}

static int one_request(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return -1;
    const char *req = "GET / HTTP/1.1\r\nHost: b\r\n\r\n";
    if (write(fd, req, strlen(req)) < 0)
        return -1;
    char buf[512];
    size_t got = 0;
    while (!strstr(buf, "World!")) {
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
        buf[got] = '\0';
    }
    return fd;
}

int main(int argc, char **argv)
{
    long n = 1000, unused = 0;
    bench_args(argc, argv, "http_idle_rss", "[-n N]", &n, 20000, "-x",
               &unused, 1);
    cio_http_config cfg = CIO_HTTP_CONFIG_INIT;
    cfg.keep_alive_timeout = 600 * CIO_SEC;
    if (cio_http_app_new(&app, "rss") < 0 ||
        cio_http_route(app, "/", hello, NULL, 0) < 0 ||
        cio_http_app_configure(app, &cfg) < 0)
        return 1;
    cio_http_app_on_start(app, started, NULL);
    pthread_t th;
    pthread_create(&th, NULL, serve, NULL);
    while (!__atomic_load_n(&port, __ATOMIC_ACQUIRE))
        usleep(1000);
    int *fds = malloc((size_t)n * sizeof(*fds));
    close(one_request()); /* warm-up: first connection, first buffers */
    usleep(100 * 1000);
    long before = rss_bytes();
    for (long i = 0; i < n; i++)
        if ((fds[i] = one_request()) < 0) {
            fprintf(stderr, "http_idle_rss: request %ld failed\n", i);
            return 1;
        }
    usleep(100 * 1000);
    double v = (double)(rss_bytes() - before) / (double)n;
    for (long i = 0; i < n; i++)
        close(fds[i]);
    cio_http_app_stop(app);
    pthread_join(th, NULL);
    cio_http_app_free(app);
    free(fds);
    printf("http_idle_conn_rss_bytes %.0f\n", v);
    return 0;
}
