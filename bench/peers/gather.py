"""gather_100k_ns_per_task peer: gather 100,000 trivial coroutines.

Shape (same as bench/gather.c): a main task builds the list of coroutines
(each returns its argument at once), awaits asyncio.gather(*coros) (every
coroutine becomes a task) and gets the results in argument order. A round
is timed from building the list to having the results. A discarded warm-up
round precedes --rounds measured rounds (default 5); prints their median as
"gather_100k_ns_per_task <ns per task>".
"""
import argparse
import asyncio
import statistics
import time

from _common import new_loop


async def child(i):
    return i


async def one_round(n):
    results = await asyncio.gather(*[child(i) for i in range(n)])
    if results[-1] != n - 1:
        raise RuntimeError("results out of argument order")


async def main(n, rounds):
    await one_round(n)  # warm-up, discarded
    elapsed = []
    for _ in range(rounds):
        t0 = time.perf_counter_ns()
        await one_round(n)
        elapsed.append(time.perf_counter_ns() - t0)
    return statistics.median(elapsed)


def run():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument("-n", type=int, default=100_000,
                   help="coroutines per gather (default %(default)s)")
    p.add_argument("--rounds", type=int, default=5,
                   help="measured rounds, median taken (default %(default)s)")
    args = p.parse_args()
    if args.n <= 0 or args.rounds <= 0:
        p.error("-n and --rounds must be positive")
    loop = new_loop(args.loop)
    try:
        elapsed = loop.run_until_complete(main(args.n, args.rounds))
    finally:
        loop.close()
    print("gather_100k_ns_per_task %.1f" % (elapsed / args.n))


if __name__ == "__main__":
    run()
