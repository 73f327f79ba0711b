"""P2, small jobs: 64 one-prompt jobs vs one 64-prompt job, wall-time ratio.

One real worker on PostgreSQL and Redis, jobs submitted over HTTP to the API as docker-compose
runs it (two uvicorn workers; the 64 small jobs by 8 concurrent clients). Wall time runs from the
first submit to the last job's finished_at. The two cases alternate (A, B, B, A, ...) and each
keeps its median. With cross-job batching the small jobs share batches; the row with it off (its
own worker, one repetition) shows what that buys.

    python -m bench.p2_small_jobs [--reps 3] [--checkpoint DIR] [--no-off]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.harness import Stack, interleaved, median, model_env, prompts, stop, submit, table
from store import session_scope
from store.models import Job

TARGET = 1.5
N = 64


def _finished(stack: Stack, job_ids: list[str], started: dt.datetime) -> float:
    stack.wait_done(job_ids, timeout=1800)
    with session_scope(stack.database_url) as session:
        last = session.scalar(select(func.max(Job.finished_at)).where(Job.id.in_(job_ids)))
    return (last - started).total_seconds()


def one_big_job(stack: Stack, client: httpx.Client, model: str, rep: list[int]) -> float:
    rep[0] += 1
    started = dt.datetime.now(dt.timezone.utc)
    job = submit(client, prompts(N, seed=rep[0]), model=model, seed=rep[0])
    return _finished(stack, [job], started)


def many_small_jobs(stack: Stack, client: httpx.Client, model: str, rep: list[int]) -> float:
    rep[0] += 1
    briefs = prompts(N, seed=rep[0])
    started = dt.datetime.now(dt.timezone.utc)
    with ThreadPoolExecutor(8) as pool:
        jobs = list(pool.map(lambda i: submit(client, [briefs[i]], model=model, seed=rep[0] + i),
                             range(N)))
    return _finished(stack, jobs, started)


def measure(stack: Stack, base: str, model: str, reps: int) -> dict[str, list[float]]:
    headers = {"Authorization": f"Bearer {stack.key('bench')}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        warm = submit(client, prompts(4), model=model)
        stack.wait_done([warm], timeout=600)
        big, small = [1000], [2000]  # seeds: each repetition draws other briefs
        return interleaved({
            "one 64-prompt job": lambda: one_big_job(stack, client, model, big),
            "64 one-prompt jobs": lambda: many_small_jobs(stack, client, model, small),
        }, reps)


def run(reps: int = 3, checkpoint: str | None = None, off: bool = True,
        threads: int = 1) -> dict[str, Any]:
    env, model, what = model_env(checkpoint, threads)
    with Stack() as stack:
        if checkpoint:
            stack.register(model, checkpoint)
        base = stack.api(workers=2)  # as docker-compose runs it
        worker = stack.worker(**env)
        times = measure(stack, base, model, reps)
        off_times = None
        if off:
            stop(worker, "worker")
            stack.worker("worker-off", **env, CROSS_JOB_BATCHING="false")
            off_times = measure(stack, base, model, 1)
    return {"model": what, "times": times, "off": off_times}


def report(r: dict[str, Any]) -> str:
    big, small = (median(r["times"][k]) for k in ("one 64-prompt job", "64 one-prompt jobs"))
    rows = [["cross-job batching on", f"{big:.2f}", f"{small:.2f}", f"**{small / big:.2f}**",
             f"<= {TARGET}", len(r["times"]["one 64-prompt job"])]]
    if r["off"]:
        b, s = (median(r["off"][k]) for k in ("one 64-prompt job", "64 one-prompt jobs"))
        rows.append(["off (for reference)", f"{b:.2f}", f"{s:.2f}", f"{s / b:.2f}", "", 1])
    return table(f"P2 64 one-prompt jobs vs one 64-prompt job ({r['model']})",
                 ["worker", "one 64-prompt job s", "64 one-prompt jobs s", "ratio", "target",
                  "reps (median)"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p2_small_jobs", description=__doc__)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: shipped)")
    parser.add_argument("--no-off", action="store_true", help="skip the cross-job-off row")
    parser.add_argument("--threads", type=int, default=1, help="worker torch threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    print(report(run(args.reps, args.checkpoint, not args.no_off, args.threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
