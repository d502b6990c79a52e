/*
 * exec.c - executor figures (bench/sections/exec.sh runs it):
 *   executor_roundtrip_us   one trivial job submitted to a thread pool and
 *                           its result awaited with cio_cfuture_result, one
 *                           at a time (10,000 per round), median of 5 rounds
 *   bare_roundtrip_us       the practical limit: a mutex/condvar ping-pong
 *                           between two threads, same count, median of 5
 *   executor_burst_ns       100,000 tiny jobs submitted in a burst to the
 *                           default-sized pool, ns per job until all done
 *   threadsafe_calls_per_s  call_soon_threadsafe throughput from another
 *                           thread into a running loop (1,000,000 calls)
 *   process_pool_isprime_speedup
 *                           is_prime over 1,000,000 numbers from 10^7, in
 *                           200 chunks: time on 1 worker / time on 2
 *   process_pool_isprime_2w_s   (mode isprime2, one round: bench/sections/
 *                           exec.sh interleaves rounds with Python's
 *                           ProcessPoolExecutor) the same 200 chunks on 2
 *                           workers, in seconds; process_pool_isprime_primes
 *                           is the count found, for checking the peer
 * Each figure gets a discarded warm-up pass first.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "bench_util.h"

static double now_s(void)
{
    return (double)bench_now_ns() / (double)CIO_SEC;
}

/* ---- executor round trip ---- */

static int trivial(void *arg, void **result)
{
    *result = arg;
    return 0;
}

static double roundtrip_us(cio_thread_pool *p, int n)
{
    double t0 = now_s();
    for (int i = 0; i < n; i++) {
        cio_cfuture *cf;
        void *r;
        if (cio_thread_pool_submit(p, trivial, (void *)1, &cf) < 0 ||
            cio_cfuture_result(cf, -1, &r) < 0)
            exit(1);
        cio_cfuture_release(cf);
    }
    return (now_s() - t0) / n * 1e6;
}

/* ---- bare ping-pong ---- */

static pthread_mutex_t pp_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pp_req = PTHREAD_COND_INITIALIZER;
static pthread_cond_t pp_rep = PTHREAD_COND_INITIALIZER;
static int pp_turn, pp_stop; /* 1: the peer's turn */

static void *pp_peer(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pp_lock);
    for (;;) {
        while (pp_turn != 1 && !pp_stop)
            pthread_cond_wait(&pp_req, &pp_lock);
        if (pp_stop)
            break;
        pp_turn = 0;
        pthread_cond_signal(&pp_rep);
    }
    pthread_mutex_unlock(&pp_lock);
    return NULL;
}

static double bare_us(int n)
{
    double t0 = now_s();
    pthread_mutex_lock(&pp_lock);
    for (int i = 0; i < n; i++) {
        pp_turn = 1;
        pthread_cond_signal(&pp_req);
        while (pp_turn != 0)
            pthread_cond_wait(&pp_rep, &pp_lock);
    }
    pthread_mutex_unlock(&pp_lock);
    return (now_s() - t0) / n * 1e6;
}

/* ---- burst ---- */

static double burst_ns(int n)
{
    cio_thread_pool *p;
    if (cio_thread_pool_new(&p, NULL) < 0)
        exit(1);
    cio_cfuture **fs = malloc((size_t)n * sizeof(*fs));
    double t0 = now_s();
    for (int i = 0; i < n; i++)
        if (cio_thread_pool_submit(p, trivial, NULL, &fs[i]) < 0)
            exit(1);
    for (int i = 0; i < n; i++) {
        if (cio_cfuture_result(fs[i], -1, NULL) < 0)
            exit(1);
        cio_cfuture_release(fs[i]);
    }
    double dt = now_s() - t0;
    free(fs);
    cio_thread_pool_free(p);
    return dt / n * 1e9;
}

/* ---- call_soon_threadsafe throughput ---- */

static atomic_long ts_count;

static int ts_cb(void *arg)
{
    (void)arg;
    atomic_fetch_add_explicit(&ts_count, 1, memory_order_relaxed);
    return 0;
}

static double threadsafe_per_s(long n)
{
    cio_loop_thread *lt;
    if (cio_loop_thread_start(&lt, NULL) < 0)
        exit(1);
    cio_loop *loop = cio_loop_thread_loop(lt);
    atomic_store(&ts_count, 0);
    double t0 = now_s();
    for (long i = 0; i < n; i++)
        if (cio_loop_call_soon_threadsafe(loop, ts_cb, NULL) < 0)
            exit(1);
    while (atomic_load(&ts_count) < n) {
        struct timespec d = {0, 100 * 1000};
        nanosleep(&d, NULL);
    }
    double dt = now_s() - t0;
    cio_loop_thread_stop_join(lt);
    return (double)n / dt;
}

/* ---- process pool speedup ---- */

static int is_prime_u(unsigned n)
{
    if (n < 2)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (unsigned i = 3; i * i <= n; i += 2)
        if (n % i == 0)
            return 0;
    return 1;
}

static int count_chunk(const void *in, size_t len, void *out,
                       size_t *out_len)
{
    unsigned r[2];
    if (len != sizeof(r))
        return -EINVAL;
    memcpy(r, in, sizeof(r));
    unsigned c = 0;
    for (unsigned n = r[0]; n < r[1]; n++)
        c += (unsigned)is_prime_u(n);
    memcpy(out, &c, sizeof(c));
    *out_len = sizeof(c);
    return 0;
}

/* Seconds to count the primes in [10^7, 10^7 + count) on `workers`
 * processes (the count in *primes if non-NULL). */
static double isprime_secs(unsigned workers, unsigned count,
                           unsigned *primes)
{
    enum { CHUNKS = 200 };
    cio_process_pool *p;
    cio_process_pool_opts o = CIO_PROCESS_POOL_OPTS_INIT;
    o.max_workers = workers;
    if (cio_process_pool_new(&p, &o) < 0)
        exit(1);
    unsigned ranges[CHUNKS][2], res[CHUNKS];
    unsigned base = 10000000;
    for (unsigned i = 0; i < CHUNKS; i++) {
        ranges[i][0] = base + count / CHUNKS * i;
        ranges[i][1] = base + count / CHUNKS * (i + 1);
    }
    /* Start the workers first: their fork is not the figure. */
    unsigned w0[2] = {0, 1}, tmp;
    for (unsigned i = 0; i < workers; i++)
        cio_process_pool_map(p, count_chunk, w0, sizeof(w0), 1, &tmp,
                             sizeof(tmp), -1, NULL);
    double t0 = now_s();
    if (cio_process_pool_map(p, count_chunk, ranges, sizeof(ranges[0]),
                             CHUNKS, res, sizeof(unsigned), -1, NULL) < 0)
        exit(1);
    double dt = now_s() - t0;
    cio_process_pool_free(p);
    if (primes) {
        *primes = 0;
        for (unsigned i = 0; i < CHUNKS; i++)
            *primes += res[i];
    }
    return dt;
}

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL;
    cio_process_pool_register("count_chunk", count_chunk);
    if (!only || !strcmp(only, "process") || !strcmp(only, "isprime2")) {
        if (cio_process_pool_prepare() < 0)
            return 1;
    }
    double v[5];

    if (!only || !strcmp(only, "roundtrip")) {
        cio_thread_pool *p;
        cio_thread_pool_opts o = CIO_THREAD_POOL_OPTS_INIT;
        o.max_workers = 1;
        cio_thread_pool_new(&p, &o);
        roundtrip_us(p, 1000);
        for (int i = 0; i < 5; i++)
            v[i] = roundtrip_us(p, 10000);
        cio_thread_pool_free(p);
        printf("executor_roundtrip_us %.3f\n", bench_median(v, 5));

        pthread_t t;
        pthread_create(&t, NULL, pp_peer, NULL);
        bare_us(1000);
        for (int i = 0; i < 5; i++)
            v[i] = bare_us(10000);
        pthread_mutex_lock(&pp_lock);
        pp_stop = 1;
        pthread_cond_signal(&pp_req);
        pthread_mutex_unlock(&pp_lock);
        pthread_join(t, NULL);
        printf("bare_roundtrip_us %.3f\n", bench_median(v, 5));
    }
    if (!only || !strcmp(only, "burst")) {
        burst_ns(10000);
        for (int i = 0; i < 5; i++)
            v[i] = burst_ns(100000);
        printf("executor_burst_ns %.1f\n", bench_median(v, 5));
    }
    if (!only || !strcmp(only, "threadsafe")) {
        threadsafe_per_s(100000);
        for (int i = 0; i < 5; i++)
            v[i] = threadsafe_per_s(1000000);
        printf("threadsafe_calls_per_s %.0f\n", bench_median(v, 5));
    }
    if (!only || !strcmp(only, "process")) {
        isprime_secs(2, 100000, NULL);
        double one = isprime_secs(1, 1000000, NULL);
        double two = isprime_secs(2, 1000000, NULL);
        fprintf(stderr, "# isprime: 1 worker %.3f s, 2 workers %.3f s\n", one, two);
        printf("process_pool_isprime_speedup %.2f\n", one / two);
    }
    if (only && !strcmp(only, "isprime2")) {
        unsigned primes;
        isprime_secs(2, 100000, NULL);
        double two = isprime_secs(2, 1000000, &primes);
        printf("process_pool_isprime_2w_s %.4f\n", two);
        printf("process_pool_isprime_primes %u\n", primes);
    }
    return 0;
}
