"""P1, worker efficiency: on one 1,000-item job, time inside model compute / worker wall time.

A real worker (`celery -A worker.tasks worker --pool=solo`) on PostgreSQL and Redis runs a warm-up
job (the model loads), then one N-item job submitted over HTTP. Model time is the time the engine
spent inside `model.generate` (each item's compute_ms is its share of its batch's, so their sum is
the batch total); wall time is the job's started_at .. finished_at as the worker wrote them. The
rest is the plumbing: claims, heartbeats every round, PNG encoding and storage, result commits.

    python -m bench.p1_efficiency [--items 1000] [--checkpoint DIR]

`run(model=..., items_of=...)` names the catalog model the jobs ask for (default: the shapes
model) and writes their items (`items_of(n, seed=...)`): bench/ads.py runs P1 on an ads job so.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select

from bench.harness import Stack, model_env, prompts, submit, table
from store import session_scope
from store.models import Item, Job

TARGET = 0.90


ItemsOf = Callable[..., list[str]]  # (n, seed=...) -> n job items


def measure(stack: Stack, client: httpx.Client, n: int, model: str,
            items_of: ItemsOf = prompts) -> dict[str, Any]:
    job_id = submit(client, items_of(n, seed=1), model=model, seed=0)
    stack.wait_done([job_id], timeout=1800)
    with session_scope(stack.database_url) as session:
        job = session.get(Job, job_id)
        model_ms = session.scalar(select(func.sum(Item.compute_ms)).where(Item.job_id == job_id))
        wall_s = (job.finished_at - job.started_at).total_seconds()
        status, error = job.status, job.error
    if not model_ms:
        raise RuntimeError(f"the {model!r} job ran no model work ({status}: {error})")
    return {"items": n, "status": status, "wall_s": wall_s, "model_s": (model_ms or 0) / 1000,
            "items_per_s": n / wall_s, "efficiency": (model_ms or 0) / 1000 / wall_s}


def run(items: int = 1000, checkpoint: str | None = None, threads: int = 1,
        model: str | None = None, items_of: ItemsOf = prompts) -> dict[str, Any]:
    env, shapes_name, what = model_env(checkpoint, threads)
    if model:
        what = f"model {model!r}, {threads} thread(s)"
    with Stack() as stack:
        if checkpoint and not model:
            stack.register(shapes_name, checkpoint)
        if model:
            stack.register_shipped()  # the catalog as `make migrate` leaves it: "ads" resolves
        model = model or shapes_name
        stack.worker(**env)
        base = stack.api(workers=1)
        headers = {"Authorization": f"Bearer {stack.key('bench')}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            warm = submit(client, items_of(4), model=model)
            stack.wait_done([warm], timeout=600)
            result = measure(stack, client, items, model, items_of)
    return {**result, "model": what}


def report(r: dict[str, Any]) -> str:
    rows = [[r["items"], r["status"], f"{r['wall_s']:.1f}", f"{r['model_s']:.1f}",
             f"{r['items_per_s']:.1f}", f"**{r['efficiency']:.3f}**", f">= {TARGET}"]]
    return table(f"P1 worker efficiency ({r['model']})",
                 ["items", "status", "worker wall s", "in model s", "items/s",
                  "model / wall", "target"], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.p1_efficiency", description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--checkpoint", default=None, help="checkpoint folder (default: shipped)")
    parser.add_argument("--threads", type=int, default=1, help="worker torch threads")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(report(run(args.items, args.checkpoint, args.threads)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
