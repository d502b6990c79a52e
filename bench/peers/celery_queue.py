#!/usr/bin/env python3
"""celery_queue.py - the Celery peer of bench/redis_queue.c (Debian
python3-celery, Redis as broker and result backend).

Empty jobs per second end to end, as the cio figure: W Celery worker
processes (`celery worker --pool solo`: the task runs in the worker
process itself, no pool process per task, Celery's cheapest; gossip,
mingle and heartbeats off, which only cost start-up and idle time) consume
a queue of their own; then N tasks (noop, returning None) are sent with
.delay() and the time from the first send until every result has been
read back (ResultSet.join_native, through the Redis result backend) is measured.
Warm-up: every worker answers a ping and a task goes through first, so
worker start-up is not counted.

Usage: celery_queue.py PORT WORKERS N
Prints: celery_jobs_per_s <value>
"""
import os
import subprocess
import sys
import time

from celery import Celery
from celery.result import ResultSet

PORT = int(os.environ.get("CIO_CELERY_PORT", "6379"))
QUEUE = os.environ.get("CIO_CELERY_QUEUE", "celerybench")
URL = "redis://127.0.0.1:%d/0" % PORT

app = Celery("celery_queue", broker=URL, backend=URL)
app.conf.update(task_default_queue=QUEUE, task_serializer="json",
                result_serializer="json", accept_content=["json"],
                worker_hijack_root_logger=False)


@app.task(name="noop")
def noop():
    return None


def main():
    port, workers, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    qname = "celerybench%d" % os.getpid()
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=here, CIO_CELERY_PORT=str(port),
               CIO_CELERY_QUEUE=qname)
    cmd = [sys.executable, "-m", "celery", "-A", "celery_queue", "worker",
           "--pool", "solo", "-Q", qname, "--without-gossip",
           "--without-mingle", "--without-heartbeat", "-l", "ERROR"]
    procs = [subprocess.Popen(cmd + ["-n", "w%d@%s" % (i, qname)], env=env,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
             for i in range(workers)]
    # This process is the client: same app, its own queue and port.
    url = "redis://127.0.0.1:%d/0" % port
    app.conf.update(broker_url=url, result_backend=url,
                    task_default_queue=qname)
    try:
        # Warm-up: every worker answers a ping, and a task goes through.
        t_end = time.time() + 60
        while len(app.control.ping(timeout=0.5) or []) < workers:
            if time.time() > t_end:
                raise SystemExit("celery workers never came up")
        noop.delay().get(timeout=60)
        t0 = time.monotonic()
        rs = [noop.delay() for _ in range(n)]
        # Read every result back the fastest way Celery has for a Redis
        # backend (join_native: one subscription for the set).
        ResultSet(rs).join_native(timeout=300)
        dt = time.monotonic() - t0
        print("celery_jobs_per_s %.1f" % (n / dt))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait()


if __name__ == "__main__":
    main()
