/*
 * s09_redis_queue.c - MISSION S9: a loop running in a daemon thread, the
 * main thread popping jobs from a Redis list (rcon.rpop("queue")) and
 * handing each to the loop with run_coroutine_threadsafe; then the loop is
 * stopped from the main thread. The note's Ctrl-C is a timer here (2 s),
 * so the demo ends by itself.
 *
 * The program starts its own redis-server on a free port in a temporary
 * directory (or uses REDIS_PORT from the environment) and stops it at the
 * end. rcon is cio's blocking Redis client (cio_redis_sync), the same
 * asynchronous client driven from a private loop thread.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s09_redis_queue.c -o s09_redis_queue \
 *         $(pkg-config --cflags --libs cio-redis)
 */
/* cio-test: timeout=60 */
#define _DEFAULT_SOURCE /* mkdtemp, usleep, popen, kill... under -std=c11 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cio/redis.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double start;

/* async def do_some_work(x): await asyncio.sleep(x / 10) */
static int do_some_work(void *arg, void **result)
{
    (void)result;
    long x = (long)(intptr_t)arg;
    printf("Waiting %ld\n", x);
    fflush(stdout);
    int r = cio_sleep(x * 100 * CIO_MS);
    printf("Done after %ld00 ms (at %.2f s)\n", x, now() - start);
    fflush(stdout);
    return r;
}

static pid_t server_pid;
static char server_dir[] = "/tmp/cio-s09.XXXXXX";

static int start_redis(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    int port = ntohs(a.sin_port);
    if (!mkdtemp(server_dir))
        return -1;
    char p[16];
    snprintf(p, sizeof(p), "%d", port);
    server_pid = fork();
    if (server_pid == 0) {
        execlp("redis-server", "redis-server", "--port", p, "--bind",
               "127.0.0.1", "--dir", server_dir, "--save", "", "--logfile",
               "/dev/null", (char *)NULL);
        _exit(127);
    }
    return port;
}

int main(void)
{
    const char *env = getenv("REDIS_PORT");
    int port = env ? atoi(env) : start_redis();
    if (port <= 0)
        return 1;
    start = now();

    cio_redis_sync *rcon; /* redis.Redis(): blocking, for this thread */
    if (cio_redis_sync_new("127.0.0.1", port, NULL, &rcon) < 0)
        return 1;
    /* Wait for the server to answer, then queue five jobs. */
    const char *ping[] = {"PING"};
    for (int i = 0;
         i < 200 && cio_redis_sync_command(rcon, 1, ping, NULL, NULL) != 0; i++)
        usleep(10000);
    const char *push[] = {"LPUSH", "queue", "5", "1", "3", "2", "4"};
    if (cio_redis_sync_command(rcon, 7, push, NULL, NULL) != 0)
        return 1;

    /* new_loop in a daemon thread: Thread(target=start_loop).start() */
    cio_loop_thread *t;
    if (cio_loop_thread_start(&t, NULL) < 0)
        return 1;
    cio_loop *new_loop = cio_loop_thread_loop(t);

    int dispatched = 0;
    while (now() - start < 2.0) { /* the demo's Ctrl-C: a 2 s timer */
        const char *rpop[] = {"RPOP", "queue"};
        cio_redis_reply *task;
        if (cio_redis_sync_command(rcon, 2, rpop, NULL, &task) != 0)
            break;
        if (cio_redis_reply_type_of(task) == CIO_REDIS_REPLY_NIL) {
            cio_redis_reply_free(task);
            usleep(100 * 1000); /* time.sleep(1), shortened */
            continue;
        }
        long x = atol(cio_redis_reply_str(task, NULL));
        cio_redis_reply_free(task);
        cio_cfuture *f;
        if (cio_run_coroutine_threadsafe(
                new_loop, CIO_CORO(do_some_work, (intptr_t)x), &f) == 0) {
            cio_cfuture_release(f);
            dispatched++;
        }
    }
    printf("timer fired after %.2f s: %d jobs dispatched; stopping the "
           "loop from the main thread\n",
           now() - start, dispatched);
    cio_loop_stop_threadsafe(new_loop); /* new_loop.stop() */
    cio_loop_thread_stop_join(t);
    cio_redis_sync_free(rcon);

    if (server_pid > 0) {
        kill(server_pid, SIGTERM);
        waitpid(server_pid, NULL, 0);
        rmdir(server_dir);
    }
    return dispatched == 5 ? 0 : 1;
}
