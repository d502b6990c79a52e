"""future_callback_ns peer: create a future, add one done callback, set its
result, and have the callback run. Shape (same as bench/futures.c): in
batches of --batch, for each future: create it, add the callback, set the
result; then run the loop for one iteration, which runs the batch's
callbacks (repeated only if some did not run); then drop the batch.
Prints "future_callback_ns <ns per future>".
"""
import time

from _common import new_loop, parse_args, run_once

ran = 0


def on_done(fut):
    global ran
    ran += 1


def rounds(loop, n, batch):
    create_future = loop.create_future
    expected = ran
    for _ in range(n // batch):
        futs = []
        for i in range(batch):
            f = create_future()
            f.add_done_callback(on_done)
            f.set_result(i)
            futs.append(f)
        expected += batch
        while ran < expected:
            run_once(loop)
        futs = None


def run():
    args = parse_args(__doc__, 1_000_000)
    loop = new_loop(args.loop)
    try:
        rounds(loop, max(args.batch, args.n // 10), args.batch)  # warm-up
        t0 = time.perf_counter_ns()
        rounds(loop, args.n, args.batch)
        elapsed = time.perf_counter_ns() - t0
    finally:
        loop.close()
    print("future_callback_ns %.1f" % (elapsed / args.n))


if __name__ == "__main__":
    run()
