"""Shared helpers for the Python peers of bench/run (not a benchmark itself).

Every peer takes --loop asyncio|uvloop, runs a discarded warm-up pass of
the same workload, then one measured round, and prints one line
"<figure> <value>" (ns per operation). bench/run repeats the round.
"""
import argparse
import asyncio
import sys


def parse_args(description, n_default, batch_default=1000):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    p.add_argument("-n", type=int, default=n_default,
                   help="operations in the measured round (default %(default)s)")
    p.add_argument("--batch", type=int, default=batch_default,
                   help="operations per batch (default %(default)s)")
    args = p.parse_args()
    if args.n <= 0 or args.batch <= 0 or args.n % args.batch:
        p.error("-n must be a positive multiple of --batch")
    return args


def new_loop(kind):
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            sys.exit("uvloop is not installed for %s" % sys.executable)
        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run_once(loop):
    """One loop iteration: every callback ready now runs once."""
    loop.stop()
    loop.run_forever()
