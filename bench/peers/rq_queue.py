#!/usr/bin/env python3
"""rq_queue.py - the RQ peer of bench/redis_queue.c (Debian python3-rq).

Empty jobs per second end to end, as the cio figure: W worker processes
(`rq worker`, RQ's default Worker, which forks a work horse per job, as a
user runs it; or --simple: rq.SimpleWorker, no fork) are started on a queue,
then N jobs (noop, returning None) are enqueued and the time from the first
enqueue until every job is finished is measured. A warm-up job goes through
first so worker start-up is not counted.

Usage: rq_queue.py PORT WORKERS N [--simple]
Prints: rq_jobs_per_s <value>
"""
import os
import subprocess
import sys
import time

from redis import Redis
from rq import Queue


def noop():
    return None


def main():
    port, workers, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    simple = "--simple" in sys.argv
    here = os.path.dirname(os.path.abspath(__file__))
    conn = Redis(host="127.0.0.1", port=port)
    qname = "rqbench%d" % os.getpid()
    q = Queue(qname, connection=conn)
    env = dict(os.environ, PYTHONPATH=here)
    cmd = [sys.executable, "-m", "rq.cli", "worker", "--url",
           "redis://127.0.0.1:%d" % port, "--quiet"]
    if simple:
        cmd += ["--worker-class", "rq.worker.SimpleWorker"]
    cmd.append(qname)
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for _ in range(workers)]
    try:
        warm = q.enqueue("rq_queue.noop")
        t_end = time.time() + 60
        while warm.get_status(refresh=True) != "finished":
            if time.time() > t_end:
                raise SystemExit("rq warm-up job never finished")
            time.sleep(0.01)
        reg = q.finished_job_registry
        base = reg.count
        t0 = time.monotonic()
        jobs = [q.enqueue("rq_queue.noop") for _ in range(n)]
        t_end = time.time() + 300
        while reg.count - base < n:
            if time.time() > t_end:
                raise SystemExit("rq jobs never finished")
            time.sleep(0.005)
        dt = time.monotonic() - t0
        failed = sum(1 for j in jobs if j.get_status(refresh=True) != "finished")
        if failed:
            raise SystemExit("%d rq jobs not finished" % failed)
        print("rq_jobs_per_s %.1f" % (n / dt))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


if __name__ == "__main__":
    main()
