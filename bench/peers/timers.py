"""timer_ns peer: schedule a timer whose deadline is already due and have
it fire. Shape (same as bench/timers.c): in batches of --batch, read
loop.time() once, then schedule the batch with loop.call_at(now - off[i])
where off[i] = (1 + (i * 7919) % 1000) microseconds, a fixed permutation
of past deadlines so the timer heap sees them out of order; then run the
loop for one iteration, which fires them all (repeated only if some did
not fire). Nothing waits: every deadline is in the past.
Note: uvloop turns a timer due within 1 ms into call_soon, so its figure
is not a timer-heap cost.
Prints "timer_ns <ns per timer>".
"""
import time

from _common import new_loop, parse_args, run_once

fired = 0


def on_timer():
    global fired
    fired += 1


def rounds(loop, n, batch, offs):
    call_at = loop.call_at
    expected = fired
    for _ in range(n // batch):
        now = loop.time()
        for off in offs:
            call_at(now - off, on_timer)
        expected += batch
        while fired < expected:
            run_once(loop)


def run():
    args = parse_args(__doc__, 1_000_000)
    offs = [(1 + (i * 7919) % 1000) * 1e-6 for i in range(args.batch)]
    loop = new_loop(args.loop)
    try:
        rounds(loop, max(args.batch, args.n // 10), args.batch, offs)  # warm-up
        t0 = time.perf_counter_ns()
        rounds(loop, args.n, args.batch, offs)
        elapsed = time.perf_counter_ns() - t0
    finally:
        loop.close()
    print("timer_ns %.1f" % (elapsed / args.n))


if __name__ == "__main__":
    run()
