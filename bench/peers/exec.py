"""Peer of bench/exec.c: concurrent.futures.ThreadPoolExecutor and
ProcessPoolExecutor.

Without arguments, prints two lines, each the median of 5 rounds after a
discarded warm-up:
  py_executor_roundtrip_us  submit a trivial job, wait for its result, one
                            at a time (10,000 per round), max_workers=1
  py_executor_burst_ns      100,000 trivial jobs submitted in a burst to a
                            default-sized pool, ns per job until all done
With --isprime, one round (bench/sections/exec.sh interleaves the rounds
with cio's and takes the medians):
  py_process_pool_isprime_2w_s   the primes in [10^7, 10^7 + 1,000,000),
                            as bench/exec.c's isprime2 counts them: the
                            same 200 chunks, one task each, mapped over a
                            ProcessPoolExecutor(max_workers=2) whose workers
                            were started by a warm-up map; seconds
  py_process_pool_isprime_primes the count found (must match cio's)
Run with /usr/bin/python3.
"""
import os
import sys

# bench/peers/queue.py (another peer) would shadow the standard library's
# queue module, which concurrent.futures imports: drop this directory from
# the import path first.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import concurrent.futures  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402


def trivial(x):
    return x


def roundtrip_us(pool, n):
    t0 = time.perf_counter()
    for _ in range(n):
        pool.submit(trivial, 1).result()
    return (time.perf_counter() - t0) / n * 1e6


def burst_ns(n):
    with concurrent.futures.ThreadPoolExecutor() as pool:
        t0 = time.perf_counter()
        fs = [pool.submit(trivial, None) for _ in range(n)]
        for f in fs:
            f.result()
        dt = time.perf_counter() - t0
    return dt / n * 1e9


def is_prime(n):
    # The concurrent.futures documentation's is_prime, the note's example.
    if n < 2:
        return False
    if n == 2:
        return True
    if n % 2 == 0:
        return False
    sqrt_n = int(math.floor(math.sqrt(n)))
    for i in range(3, sqrt_n + 1, 2):
        if n % i == 0:
            return False
    return True


def count_chunk(r):
    return sum(1 for n in range(r[0], r[1]) if is_prime(n))


def chunks(count, nchunks=200, base=10000000):
    # bench/exec.c's isprime_secs ranges.
    step = count // nchunks
    return [(base + step * i, base + step * (i + 1)) for i in range(nchunks)]


def isprime_round():
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        # Start the workers first (their start is not the figure), and
        # warm them up like cio's run does.
        sum(pool.map(count_chunk, chunks(100000)))
        work = chunks(1000000)
        t0 = time.perf_counter()
        primes = sum(pool.map(count_chunk, work))
        dt = time.perf_counter() - t0
    print("py_process_pool_isprime_2w_s %.4f" % dt, flush=True)
    print("py_process_pool_isprime_primes %d" % primes, flush=True)


def main():
    if sys.argv[1:] == ["--isprime"]:
        isprime_round()
        return
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        roundtrip_us(pool, 1000)
        rt = statistics.median(roundtrip_us(pool, 10000) for _ in range(5))
    print("py_executor_roundtrip_us %.3f" % rt, flush=True)
    burst_ns(10000)
    b = statistics.median(burst_ns(100000) for _ in range(5))
    print("py_executor_burst_ns %.1f" % b, flush=True)


if __name__ == "__main__":
    main()
