"""http_client_aiohttp.py - the aiohttp peer of bench/http_client.c: 50
tasks share one aiohttp.ClientSession (TCPConnector limit=50) and loop
GET http://127.0.0.1:PORT/ reading the whole body, on asyncio's default
loop (as aiohttp users run it). After a warm-up it prints the process's
CPU time (user + system) per request:
    http_client_cpu_ns_per_req <ns>
Usage: http_client_aiohttp.py --port P [--conns 50] [--requests N]
       [--warmup N]"""
import argparse
import asyncio
import resource

import aiohttp


def cpu_ns():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return (r.ru_utime + r.ru_stime) * 1e9


async def batch(session, url, count):
    left = [count]

    async def worker():
        while left[0] > 0:
            left[0] -= 1
            async with session.get(url) as resp:
                body = await resp.read()
                if body != b"Hello, World!":
                    raise RuntimeError("bad body")

    await asyncio.gather(*(worker() for _ in range(args.conns)))


async def main():
    url = "http://127.0.0.1:%d/" % args.port
    conn = aiohttp.TCPConnector(limit=args.conns)
    async with aiohttp.ClientSession(connector=conn) as session:
        await batch(session, url, args.warmup)
        c0 = cpu_ns()
        await batch(session, url, args.requests)
        c1 = cpu_ns()
    print("http_client_cpu_ns_per_req %.1f" % ((c1 - c0) / args.requests))


p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--conns", type=int, default=50)
p.add_argument("--requests", type=int, default=20000)
p.add_argument("--warmup", type=int, default=2000)
args = p.parse_args()
asyncio.run(main())
