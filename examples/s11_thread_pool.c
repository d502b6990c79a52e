/*
 * s11_thread_pool.c - MISSION S11: concurrent.futures.ThreadPoolExecutor.
 *
 * load_url is simulated with sleeps (0.2 s and 0.4 s for the note's
 * ?s=2 and ?s=4; 0.4 s and 0.1 s for its 4 s and 1 s), no network.
 *   1. executor.map(load_url, URLS): results in argument order, blocking.
 *   2. submit + as_completed: url2 (0.1 s) is handled before url1.
 *   3. the `with` scope: its end (cio_thread_pool_free) waits for both
 *      jobs, so "All tasks has been finished" is printed last.
 *
 * Build alone against an installed cio (tests/install checks this line):
 *     cc -std=c11 -Wall -Wextra -pedantic s11_thread_pool.c -o s11_thread_pool \
 *         $(pkg-config --cflags --libs cio)
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, kill, ... under -std=c11 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cio.h>

typedef struct url_job {
    const char *url;
    int ms; /* the simulated load time */
    char msg[96];
} url_job;

static void nap(int ms)
{
    struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&d, NULL);
}

/* The map version: prints and returns the page. */
static int load_url_page(void *arg, void **result)
{
    url_job *j = arg;
    nap(j->ms);
    printf("%s finished!\n", j->url);
    fflush(stdout);
    snprintf(j->msg, sizeof(j->msg), "<page of %s>", j->url);
    *result = j->msg;
    return 0;
}

/* The submit version: returns a message. */
static int load_url(void *arg, void **result)
{
    url_job *j = arg;
    nap(j->ms);
    printf("load %s successful\n", j->url);
    fflush(stdout);
    snprintf(j->msg, sizeof(j->msg), "load %s successful,timeout=%.1f",
             j->url, j->ms / 1000.0);
    *result = j->msg;
    return 0;
}

static int load_url_quiet(void *arg, void **result)
{
    url_job *j = arg;
    nap(j->ms);
    printf("load %s successful, timeout=%.1f\n", j->url, j->ms / 1000.0);
    fflush(stdout);
    *result = NULL;
    return 0;
}

int main(void)
{
    cio_thread_pool *pool;
    cio_thread_pool_opts o = CIO_THREAD_POOL_OPTS_INIT;

    /* 1. with ThreadPoolExecutor(max_workers=5) as executor: map */
    o.max_workers = 5;
    if (cio_thread_pool_new(&pool, &o) < 0)
        return 1;
    url_job urls[2] = {{"http://localhost?s=2", 200, ""},
                       {"http://localhost?s=4", 400, ""}};
    void *args[2] = {&urls[0], &urls[1]};
    void *pages[2];
    int r = cio_thread_pool_map(pool, load_url_page, args, 2, -1, pages,
                                NULL);
    printf("['%s', '%s']\n", (char *)pages[0], (char *)pages[1]);
    cio_thread_pool_free(pool);
    if (r < 0)
        return 1;

    /* 2. submit + as_completed with max_workers=2 */
    o.max_workers = 2;
    cio_thread_pool_new(&pool, &o);
    url_job jobs[2] = {{"url1", 400, ""}, {"url2", 100, ""}};
    cio_cfuture *fs[2];
    for (int i = 0; i < 2; i++)
        cio_thread_pool_submit(pool, load_url, &jobs[i], &fs[i]);
    cio_cfuture_iter *it;
    cio_cfuture_as_completed_new(fs, 2, -1, &it);
    cio_cfuture *f;
    while (cio_cfuture_as_completed_next(it, &f) == 1) {
        const char *url = f == fs[0] ? jobs[0].url : jobs[1].url;
        printf("url: %s\n", url);
        void *data;
        cio_cfuture_result(f, -1, &data);
        printf("data: %s\n", (char *)data);
    }
    cio_cfuture_as_completed_free(it);
    cio_cfuture_release(fs[0]);
    cio_cfuture_release(fs[1]);
    cio_thread_pool_free(pool);

    /* 3. the scope's end waits for every job */
    cio_thread_pool_new(&pool, &o);
    for (int i = 0; i < 2; i++)
        cio_thread_pool_submit(pool, load_url_quiet, &jobs[i], NULL);
    cio_thread_pool_free(pool); /* end of `with`: shutdown(wait=True) */
    printf("All tasks has been finished\n");
    return 0;
}
