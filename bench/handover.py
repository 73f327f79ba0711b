"""Issue 14's hand-over figure: after a SIGKILL mid-job, how soon do its remaining items start on
another, idle worker?

    python -m bench.handover [--kills 5] [--items 400] [--item-seconds 0.05]

Two solo workers with the stand-in model (MODEL_BACKEND=stub), the sweeper on its defaults
(every 5 s; worker liveness keys refreshed every 3 s, gone 9 s after a kill) and the production
lease (300 s, so the lease cannot be what moves the job), a private redis-server and a private
PostgreSQL cluster (docs/reliability.md case 26). Each round submits a job of `--items` items, waits until 64 are
done, SIGKILLs the process group of the worker that holds the run, and measures from the kill to
the first item of the job started by another worker (the item's `started_at` in the store);
then starts a fresh worker so an idle one is always there. Afterwards every job must have
finished with every item exactly once (tests/invariants.py). Prints each hand-over, their
median and max, and exits 1 if the max is over 30 s or an invariant broke.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from store import session_scope
from store.models import Item, utcnow
from tests import invariants
from tests.chaos.harness import Cluster, kill_group, run_pid, wait_running
from tests.chaos.servers import private_servers
from tests.worker_support import wait_for

TARGET_SECONDS = 30.0
DONE_BEFORE_KILL = 64
ENV = {  # production timings for what is measured; the chaos harness's short ones elsewhere
    "LEASE_SECONDS": "300", "SWEEP_INTERVAL_SECONDS": "5", "WORKER_LIVENESS_INTERVAL_SECONDS": "3",
    "VISIBILITY_TIMEOUT_SECONDS": "7200", "TASK_TIME_LIMIT_SECONDS": "3600", "BATCH_SIZE": "8",
}


def first_start_after(database_url: str, job_id: str, moment: dt.datetime) -> dt.datetime | None:
    """When the first item of the job started after `moment`, if one has."""
    with session_scope(database_url) as session:
        return session.scalar(select(func.min(Item.started_at))
                              .where(Item.job_id == job_id, Item.started_at > moment))


def one_kill(cluster: Cluster, workers: dict[int, object], items: int, serial: int) -> float:
    """Submit, kill the run's owner at DONE_BEFORE_KILL items, return seconds to the hand-over."""
    job_id = cluster.submit(items, prompt=f"round {serial}")  # PNGs unique per job
    owner = run_pid(wait_running(cluster, job_id, DONE_BEFORE_KILL, timeout=300))
    killed_at = utcnow()
    kill_group(workers.pop(owner))
    started = wait_for(lambda: first_start_after(cluster.database_url, job_id, killed_at), 120,
                       "another worker to start the job's items")
    replacement = cluster.worker(f"spare{serial}")
    workers[replacement.pid] = replacement
    cluster.wait_terminal([job_id], 600)
    return (started.replace(tzinfo=None) - killed_at.replace(tzinfo=None)).total_seconds()


def run(kills: int, items: int, item_seconds: float, tmp: Path) -> tuple[list[float], list[str]]:
    redis, postgres, url = private_servers(tmp)
    cluster = Cluster(url, redis, tmp, env=dict(ENV, STUB_ITEM_SECONDS=str(item_seconds)))
    try:
        cluster.sweeper()
        workers = {proc.pid: proc for proc in (cluster.worker("a"), cluster.worker("b"))}
        seconds = []
        for serial in range(kills):
            seconds.append(one_kill(cluster, workers, items, serial))
            print(f"kill {serial + 1}: remaining items started on another worker after "
                  f"{seconds[-1]:.1f} s", flush=True)
        report = invariants.check(url, cluster.storage)
        return seconds, report.problems()
    finally:
        cluster.close()
        redis.close()
        postgres.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--item-seconds", type=float, default=0.05)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="handover-"))
    try:
        seconds, problems = run(args.kills, args.items, args.item_seconds, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"hand-over after SIGKILL over {len(seconds)} kills: median "
          f"{statistics.median(seconds):.1f} s, max {max(seconds):.1f} s "
          f"(target <= {TARGET_SECONDS:.0f} s); invariants: {problems or 'all hold'}")
    return 0 if max(seconds) <= TARGET_SECONDS and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
