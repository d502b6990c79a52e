#!/usr/bin/env python3
"""redis_py_client.py - the redis-py asyncio peer of bench/redis_client.c.

The same workload as cio's side: TASKS asyncio tasks sharing one client
(redis.asyncio.Redis, its connection pool), each issuing SET then GET in a
loop, N SETs and N GETs in all, 3-byte values, keys key:000000..099999.
This is how a user writes concurrent redis-py asyncio code (no explicit
pipeline object). Prints the client CPU (user + system of this process,
measured around the run only, interpreter start-up excluded) per command.

Usage: redis_py_client.py PORT [N] [TASKS]
"""
import asyncio
import resource
import sys

import redis.asyncio as aioredis

# The value every SET writes: redis-benchmark's default 3-byte payload, as
# in bench/redis_client.c.
VALUE = "xxx"


def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


async def worker(r, tid, n, tasks):
    for i in range(tid, n, tasks):
        key = "key:%06d" % (i % 100000)
        await r.set(key, VALUE)
        await r.get(key)


async def main(port, n, tasks):
    r = aioredis.Redis(host="127.0.0.1", port=port)
    await r.ping()
    c0 = cpu()
    await asyncio.gather(*(worker(r, t, n, tasks) for t in range(tasks)))
    c1 = cpu()
    await r.close()
    print("redis_py_cpu_ns %.1f" % ((c1 - c0) * 1e9 / (2 * n)))


if __name__ == "__main__":
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    tasks = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    asyncio.run(main(port, n, tasks))
