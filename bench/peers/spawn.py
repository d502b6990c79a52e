#!/usr/bin/python3
"""spawn.py - the asyncio peer of bench/spawn.c: spawn-and-wait of N
`true` processes one at a time with asyncio.create_subprocess_exec and
Process.wait (stdio inherited). Prints "py_spawn_ms <ms per child>", the
median of ROUNDS rounds.

Usage: /usr/bin/python3 bench/peers/spawn.py [N=1000] [ROUNDS=5]
"""
import asyncio
import statistics
import sys
import time


async def one_round(n):
    t0 = time.perf_counter()
    for _ in range(n):
        p = await asyncio.create_subprocess_exec("true")
        rc = await p.wait()
        if rc != 0:
            raise SystemExit("true failed")
    return (time.perf_counter() - t0) * 1e3 / n


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    ms = [asyncio.run(one_round(n)) for _ in range(rounds)]
    ms.sort()
    print("py_spawn_ms %.4f" % ms[len(ms) // 2])


if __name__ == "__main__":
    main()
