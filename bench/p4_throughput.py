"""P4, plumbing throughput: items/s through the whole system with a null model vs raw Celery
no-op tasks/s (one task per item), on the same Redis.

The system: jobs submitted over HTTP (uvicorn, PostgreSQL), one worker with the stand-in model at
zero seconds per item (MODEL_BACKEND=stub, STUB_ITEM_SECONDS=0), so what is measured is claims,
leases, heartbeats every round, PNG encoding and storage, result commits and finalization. Time
runs from the first submit to the last job's finished_at. The baseline: the same number of
no-op tasks sent to a raw Celery worker with the project's delivery settings (bench/noop_app.py),
from the first send until the last has run. The two alternate, each keeps its median.

    python -m bench.p4_throughput [--items 1000] [--jobs 4] [--reps 3] [--s3]

With --s3 the API and worker store every object on a SeaweedFS S3 server started for the run
(`weed mini` on loopback, as the tests start it) instead of the local directory.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from typing import Any

import httpx
import redis
from sqlalchemy import func, select

from bench import noop_app
from config import get_settings
from bench.harness import (
    REDIS_BENCH_URL, Stack, interleaved, median, prompts, submit, table, wait_for,
)
from store import session_scope
from store.models import Job

TARGET = 3.0  # issue 14
NULL_MODEL = {"MODEL_BACKEND": "stub", "STUB_ITEM_SECONDS": "0"}


def system_items_per_s(stack: Stack, client: httpx.Client, items: int, jobs: int) -> float:
    briefs = prompts(items, seed=int(time.time()))
    per_job = items // jobs
    started = dt.datetime.now(dt.timezone.utc)
    ids = [submit(client, briefs[j * per_job:(j + 1) * per_job], seed=j) for j in range(jobs)]
    stack.wait_done(ids, timeout=900)
    with session_scope(stack.database_url) as session:
        last = session.scalar(select(func.max(Job.finished_at)).where(Job.id.in_(ids)))
    return per_job * jobs / (last - started).total_seconds()


def raw_tasks_per_s(counter: redis.Redis, tasks: int) -> float:
    counter.set(noop_app.COUNTER, 0)
    started = time.monotonic()
    for i in range(tasks):
        noop_app.app.send_task(noop_app.TASK, args=[i], queue=noop_app.QUEUE)
    wait_for(lambda: int(counter.get(noop_app.COUNTER) or 0) >= tasks, 900, f"{tasks} no-ops",
             poll=0.005)
    return tasks / (time.monotonic() - started)


def run(items: int = 1000, jobs: int = 4, reps: int = 3, s3: bool = False) -> dict[str, Any]:
    """P4 with the storage the settings name (local), or, with `s3`, a SeaweedFS server of its
    own on loopback (tests/s3_fixtures.py), the API and worker storing every object there."""
    if not s3:
        return {**measure(items, jobs, reps, {}), "storage": "local"}
    from tests.s3_fixtures import SeaweedS3

    with SeaweedS3() as server:
        return {**measure(items, jobs, reps, server.environment("p4")), "storage": "S3"}


def measure(items: int, jobs: int, reps: int, storage_env: dict[str, str]) -> dict[str, Any]:
    os.environ["REDIS_URL"] = REDIS_BENCH_URL  # this process sends the no-ops: same Redis
    get_settings.cache_clear()
    with Stack(**NULL_MODEL, **storage_env) as stack:
        base = stack.api(workers=1)
        stack.worker("worker")
        stack.worker("noop", app="bench.noop_app", queues=noop_app.QUEUE)
        counter = redis.Redis.from_url(REDIS_BENCH_URL)
        headers = {"Authorization": f"Bearer {stack.key('bench')}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            system_items_per_s(stack, client, 64, 1)  # warm-up: connections, first imports
            raw_tasks_per_s(counter, 64)
            speed = interleaved({
                "system, null model": lambda: system_items_per_s(stack, client, items, jobs),
                "raw Celery no-op": lambda: raw_tasks_per_s(counter, items),
            }, reps)
        counter.close()
    return {"items": items, "jobs": jobs, "reps": reps, "speed": speed}


def report(r: dict[str, Any]) -> str:
    system = median(r["speed"]["system, null model"])
    raw = median(r["speed"]["raw Celery no-op"])
    rows = [[f"system: {r['jobs']} jobs x {r['items'] // r['jobs']} items over HTTP, null model",
             f"{system:.0f} items/s", f"**{system / raw:.2f}x**", f">= {TARGET}x"],
            [f"raw Celery: {r['items']} no-op tasks, one per item", f"{raw:.0f} tasks/s", "1x",
             ""]]
    storage = r.get("storage", "local")
    return table(f"P4 throughput through the whole system vs raw Celery ({storage} storage, "
                 f"median of {r['reps']})",
                 ["what", "rate", "ratio", "target"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p4_throughput", description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--s3", action="store_true",
                        help="store objects on a SeaweedFS S3 server started for the run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    print(report(run(args.items, args.jobs, args.reps, args.s3)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
