"""task_spawn_ns peer: spawn a task running a trivial coroutine, run it to
completion, release it. Shape (same as bench/tasks.c and tasks.go): a
parent task, in batches of --batch, creates that many child tasks, then
awaits each one in creation order; the batch's tasks are then dropped.
Prints "task_spawn_ns <ns per task>".
"""
import asyncio
import time

from _common import new_loop, parse_args


async def child():
    pass


async def spawn(n, batch):
    create_task = asyncio.get_running_loop().create_task  # loop.create_task
    for _ in range(n // batch):
        tasks = [create_task(child()) for _ in range(batch)]
        for t in tasks:
            await t


async def main(n, batch):
    await spawn(max(batch, n // 10), batch)  # warm-up, discarded
    t0 = time.perf_counter_ns()
    await spawn(n, batch)
    return time.perf_counter_ns() - t0


def run():
    args = parse_args(__doc__, 1_000_000)
    loop = new_loop(args.loop)
    try:
        elapsed = loop.run_until_complete(main(args.n, args.batch))
    finally:
        loop.close()
    print("task_spawn_ns %.1f" % (elapsed / args.n))


if __name__ == "__main__":
    run()
