"""queue_pingpong_ns peer: one item through an asyncio.Queue (one put plus
the get that receives it), with a task switch each way. Shape (same as
bench/queue.c): two unbounded queues and two tasks; A puts i on q1 and
gets from q2, B gets from q1 and puts what it got on q2. One round trip
moves two items: the figure is elapsed / (2 * round trips). A discarded
warm-up of a tenth of the work, then --rounds measured rounds of -n round
trips; prints the median as "queue_pingpong_ns <ns per item>".
"""
import argparse
import asyncio
import statistics
import time

from _common import new_loop


async def pong(q1, q2, n):
    get, put = q1.get, q2.put
    for _ in range(n):
        await put(await get())


async def one_round(n):
    q1, q2 = asyncio.Queue(), asyncio.Queue()
    b = asyncio.get_running_loop().create_task(pong(q1, q2, n))
    put, get = q1.put, q2.get
    t0 = time.perf_counter_ns()
    for i in range(n):
        await put(i)
        if await get() != i:
            raise RuntimeError("out of order")
    elapsed = time.perf_counter_ns() - t0
    await b
    return elapsed


async def main(n, rounds):
    await one_round(max(1, n // 10))  # warm-up, discarded
    return [(await one_round(n)) / (2 * n) for _ in range(rounds)]


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument("-n", type=int, default=100_000,
                   help="round trips per round (default %(default)s)")
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    if args.n <= 0 or args.rounds <= 0:
        p.error("-n and --rounds must be positive")
    loop = new_loop(args.loop)
    try:
        ns = loop.run_until_complete(main(args.n, args.rounds))
    finally:
        loop.close()
    print("queue_pingpong_ns %.1f" % statistics.median(ns))


if __name__ == "__main__":
    run()
