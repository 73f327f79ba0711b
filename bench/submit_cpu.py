"""CPU per submitted one-prompt job: the API processes' and the worker's, null model.

A diagnostic beside P5, not a target: on a 2-core host the API, the worker, the database and the
load generator share the CPUs, so P5's tail moves with what every submit costs them all. This
runs the P5 stack (`uvicorn --workers 2`, a null-model worker, PostgreSQL, Redis), sends paced
one-prompt submits from a few clients, waits until the worker has drained its queue (the
deliveries of jobs that rode in another run's batch come after the load), and divides each
side's CPU time (user + system, psutil) by the number of submits. Run it twice and compare runs
of the same hour; the figures move by about 1 ms from run to run.

    python -m bench.submit_cpu [--clients 5] [--per-client 150] [--runs 2]
"""

from __future__ import annotations

import argparse
import logging
import sys

import psutil

from bench.harness import Stack, table, wait_for
from bench.p5_submit import NULL_MODEL, api_processes, load

THINK = (0.05, 0.15)  # seconds between a client's submits: ~5 x 10 submits/s offered
IDLE_CPU_SECONDS = 0.03  # the worker is drained once it uses less than this in a second


def cpu_seconds(pids: list[int]) -> float:
    return sum(sum(psutil.Process(pid).cpu_times()[:2]) for pid in pids)


def run(clients: int = 5, per_client: int = 150) -> dict[str, float]:
    with Stack(**NULL_MODEL) as stack:
        base = stack.api(workers=2)
        worker = stack.worker("worker").pid
        keys = [stack.key(f"client-{i}") for i in range(clients)]
        load(base, keys, 4, None)  # warm-up
        apis = api_processes(stack)
        api_before, worker_before = cpu_seconds(apis), cpu_seconds([worker])
        result = load(base, keys, per_client, THINK)
        _wait_until_idle(worker)
        submits = result["requests"]
        return {"submits": submits, "errors": result["errors"],
                "api_ms": 1000 * (cpu_seconds(apis) - api_before) / submits,
                "worker_ms": 1000 * (cpu_seconds([worker]) - worker_before) / submits}


def _wait_until_idle(worker: int) -> None:
    """Until the worker used less than IDLE_CPU_SECONDS of CPU in the last second."""
    last = float("-inf")  # the first look is never idle

    def idle() -> bool:
        nonlocal last
        now = cpu_seconds([worker])
        used, last = now - last, now
        return used < IDLE_CPU_SECONDS

    wait_for(idle, 300, "the worker to drain its queue", poll=1.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.submit_cpu", description=__doc__)
    parser.add_argument("--clients", type=int, default=5)
    parser.add_argument("--per-client", type=int, default=150)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    rows = []
    for number in range(1, args.runs + 1):
        r = run(args.clients, args.per_client)
        rows.append([number, r["submits"], r["errors"], f"{r['api_ms']:.2f}",
                     f"{r['worker_ms']:.2f}"])
    print(table(f"CPU per one-prompt submit ({args.clients} paced clients, null model)",
                ["run", "submits", "errors", "API ms (2 processes)", "worker ms (until drained)"],
                rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
