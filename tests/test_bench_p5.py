"""bench/p5_submit.api_processes: the uvicorn workers whose CPU and run queue P5 and
bench/submit_cpu count, without multiprocessing's resource tracker beside them."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import psutil

from bench.harness import wait_for
from bench.p5_submit import api_processes

# A parent that spawns one worker the way uvicorn's supervisor does (spawn context); the lock
# starts multiprocessing's resource tracker, another child of the parent.
SUPERVISOR = """
import multiprocessing, time
if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    lock = context.Lock()
    context.Process(target=time.sleep, args=(30,)).start()
    time.sleep(30)
"""


def test_api_processes_are_the_spawned_workers_without_the_resource_tracker() -> None:
    parent = subprocess.Popen([sys.executable, "-c", SUPERVISOR])
    try:
        children = wait_for(lambda: len(psutil.Process(parent.pid).children()) == 2 and
                            psutil.Process(parent.pid).children(), 30, "two children")
        tracker = [c.pid for c in children if "resource_tracker" in " ".join(c.cmdline())]
        stack = SimpleNamespace(procs=[("api", parent)])
        assert len(tracker) == 1
        assert api_processes(stack) == [c.pid for c in children if c.pid not in tracker]
    finally:
        for child in psutil.Process(parent.pid).children(recursive=True):
            child.kill()
        parent.kill()
        parent.wait()
