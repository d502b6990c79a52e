"""Peer of bench/exec.c: concurrent.futures.ThreadPoolExecutor.

Prints two lines, each the median of 5 rounds after a discarded warm-up:
  py_executor_roundtrip_us  submit a trivial job, wait for its result, one
                            at a time (10,000 per round), max_workers=1
  py_executor_burst_ns      100,000 trivial jobs submitted in a burst to a
                            default-sized pool, ns per job until all done
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


def main():
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        roundtrip_us(pool, 1000)
        rt = statistics.median(roundtrip_us(pool, 10000) for _ in range(5))
    print("py_executor_roundtrip_us %.3f" % rt, flush=True)
    burst_ns(10000)
    b = statistics.median(burst_ns(100000) for _ in range(5))
    print("py_executor_burst_ns %.1f" % b, flush=True)


if __name__ == "__main__":
    main()
