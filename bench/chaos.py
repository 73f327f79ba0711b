"""`make chaos`: the soak of docs/reliability.md case 24. Load, random kills, restarts, then the
invariants.

    python -m bench.chaos [--items 10000] [--jobs 50] [--tenants 4] [--workers 3]

Everything runs on private servers in a temporary folder (tests/chaos/servers.py): a redis-server
with AOF and a PostgreSQL cluster on free ports, the API (uvicorn), the sweeper and solo workers
with the stand-in model (MODEL_BACKEND=stub, a few milliseconds per item). Clients submit
`--items` over `--jobs` jobs and `--tenants` tenants through the API, retrying 503s with their
Idempotency-Key. Meanwhile a chaos thread SIGKILLs a random worker's process group every few
seconds and starts it again, restarts Redis once (at 30 % of the items done) and PostgreSQL once
(at 60 %). When every accepted job is terminal the invariants are checked (tests/invariants.py)
and the figures printed: items submitted and finished, lost and duplicated (both must be 0),
kills and restarts, HTTP replies, wall time. Exit status 1 if an invariant broke.
"""

from __future__ import annotations

import argparse
import logging
import random
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from store import session_scope
from store.db import dispose_engines
from store.models import Item
from tests import invariants
from tests.chaos.harness import Cluster, kill_group
from tests.chaos.load import Load
from tests.chaos.servers import PostgresServer, private_servers

log = logging.getLogger("bench.chaos")

SOAK_ENV = {  # lease and sweep short enough to recover from a kill in seconds
    "VISIBILITY_TIMEOUT_SECONDS": "60", "TASK_TIME_LIMIT_SECONDS": "50", "LEASE_SECONDS": "3",
    "SWEEP_INTERVAL_SECONDS": "1", "STALE_QUEUED_SECONDS": "5", "BATCH_SIZE": "25",
    "MAX_ATTEMPTS": "20",  # random kills are not poison: a job may be hit several times
}


@dataclass
class Soak:
    """What one soak does and counts."""

    items: int = 10_000
    jobs: int = 50
    tenants: int = 4
    workers: int = 3
    item_seconds: float = 0.002  # the stub's sleep per item per round
    kill_every: tuple[float, float] = (3.0, 6.0)  # seconds between kills, drawn uniformly
    max_kills: int | None = None  # no more kills after this many (None: until 90 % is done)
    first_kill_at: float = 0.05  # the first kill comes once this share is done, before any restart
    redis_at: float = 0.3  # restart Redis once this share of the items is done
    postgres_at: float = 0.6
    deadline: float = 480.0  # seconds for every accepted job to become terminal
    seed: int = 0
    kills: int = 0
    worker_restarts: int = 0
    redis_restarts: int = 0
    postgres_restarts: int = 0
    events: list[str] = field(default_factory=list)


@dataclass
class Stage:
    """The running soak: its cluster, servers, workers and clients."""

    soak: Soak
    cluster: Cluster
    postgres: PostgresServer
    workers: dict
    load: Load
    stop: threading.Event = field(default_factory=threading.Event)
    started: float = field(default_factory=time.monotonic)

    def note(self, what: str) -> None:
        line = f"{time.monotonic() - self.started:6.1f} s  {what}"
        self.soak.events.append(line)
        log.info(line)


def done_share(stage: Stage) -> float:
    """Share of the planned items that succeeded so far (0 while the database is away)."""
    try:
        with session_scope(stage.cluster.database_url) as session:
            done = session.scalar(select(func.count()).select_from(Item)
                                  .where(Item.status == "succeeded")) or 0
    except SQLAlchemyError:
        return 0.0
    return done / stage.soak.items


def kill_one(stage: Stage, rng: random.Random) -> None:
    name = rng.choice(sorted(stage.workers))
    kill_group(stage.workers[name])
    stage.soak.kills += 1
    stage.note(f"SIGKILL worker {name} (process group)")
    stage.workers[name] = stage.cluster.procs.worker(name, wait=False)  # boots while load goes on
    stage.soak.worker_restarts += 1


def restart_redis(stage: Stage) -> None:
    stage.note("restart Redis (SIGTERM, AOF kept)")
    stage.cluster.redis.restart()
    stage.soak.redis_restarts += 1


def restart_postgres(stage: Stage) -> None:
    stage.note("restart PostgreSQL (pg_ctl stop -m fast, 1 s down)")
    stage.postgres.stop("fast")
    time.sleep(1)
    stage.postgres.start()
    stage.soak.postgres_restarts += 1


def wait_for_share(stage: Stage, share: float) -> None:
    """Block until `share` of the items is done or the soak is over."""
    while not stage.stop.wait(0.2):
        if done_share(stage) >= share:
            return


def chaos(stage: Stage) -> None:
    """One kill early, with work in flight (a fast machine could otherwise finish between the
    restarts without a single kill); then random kills until 90 % is done, Redis and PostgreSQL
    restarted once each on the way (late rather than never, if the items get ahead of them)."""
    soak = stage.soak
    rng = random.Random(soak.seed)
    wait_for_share(stage, soak.first_kill_at)
    if soak.max_kills != 0 and not stage.stop.is_set():
        kill_one(stage, rng)
    while not stage.stop.wait(rng.uniform(*soak.kill_every)):
        share = done_share(stage)
        if share >= 0.9 and soak.redis_restarts and soak.postgres_restarts:
            break
        if not soak.redis_restarts and share >= soak.redis_at:
            restart_redis(stage)
        elif not soak.postgres_restarts and share >= soak.postgres_at:
            restart_postgres(stage)
        elif soak.max_kills is None or soak.kills < soak.max_kills:
            kill_one(stage, rng)
    stage.note("chaos over")


def start(soak: Soak, tmp: Path) -> Stage:
    redis, postgres, url = private_servers(tmp)
    cluster = Cluster(url, redis, tmp, env=dict(SOAK_ENV, STUB_ITEM_SECONDS=str(soak.item_seconds)))
    keys = [cluster.key(f"tenant-{n}") for n in range(soak.tenants)]
    api = cluster.api()
    cluster.sweeper()
    workers = {f"w{n}": cluster.worker(f"w{n}") for n in range(1, soak.workers + 1)}
    load = Load(api, keys, threads=soak.tenants, items=soak.items // soak.jobs, polls=1,
                pause=0.5, max_jobs=soak.jobs, watch=0.5)
    return Stage(soak, cluster, postgres, workers, load)


def run(stage: Stage) -> invariants.Report:
    """Load and chaos until every accepted job is terminal; then the invariants."""
    stage.note(f"load: {stage.soak.jobs} jobs of {stage.soak.items // stage.soak.jobs} items")
    stage.load.start()
    monkey = threading.Thread(target=chaos, args=(stage,), name="chaos", daemon=True)
    monkey.start()
    wait_submitted(stage)
    stage.note(f"submitted: {len(stage.load.accepted)} jobs accepted")
    finished = wait_terminal(stage)
    stage.load.stop()
    stage.stop.set()
    monkey.join(60)
    stage.note("every accepted job is terminal" if finished else "deadline passed")
    return invariants.check(stage.cluster.database_url, stage.cluster.storage)


def wait_submitted(stage: Stage) -> None:
    """Until the clients are done submitting (they go on polling afterwards)."""
    deadline = stage.started + stage.soak.deadline
    while stage.load.submitting and time.monotonic() < deadline:
        time.sleep(0.2)


def wait_terminal(stage: Stage) -> bool:
    """Until every accepted job is terminal (database outages waited out) or the deadline."""
    deadline = stage.started + stage.soak.deadline
    jobs = list(stage.load.accepted)
    while time.monotonic() < deadline:
        try:
            if invariants.all_terminal(stage.cluster.database_url, jobs):
                return True
        except SQLAlchemyError:
            pass
        time.sleep(0.5)
    return False


def close(stage: Stage | None, tmp: Path) -> None:
    if stage is not None:
        stage.cluster.close()
        dispose_engines()
        stage.postgres.close()
        stage.cluster.redis.close()
    shutil.rmtree(tmp, ignore_errors=True)


def figures(stage: Stage, report: invariants.Report, wall: float) -> dict[str, object]:
    """The soak's figures; `lost` and `duplicated` must both be 0."""
    submitted = sum(stage.load.accepted.values())
    items = invariants.items_of(stage.cluster.database_url, list(stage.load.accepted))
    finished = sum(1 for item in items if item.status == "succeeded")
    return {
        "items submitted": submitted, "items finished": finished,
        "lost": submitted - finished,
        "duplicated": len(report.duplicate_rows) + len(report.orphan_files) + sum(
            1 for p in report.item_problems if "share" in p),
        "jobs": report.jobs, "invariant problems": len(report.problems()),
        "items redone after a kill": sum(1 for item in items if item.attempt > 1),
        "highest job attempt": report.max_attempt, "temp files left": report.temp_files,
        "worker kills": stage.soak.kills, "worker restarts": stage.soak.worker_restarts,
        "redis restarts": stage.soak.redis_restarts,
        "postgres restarts": stage.soak.postgres_restarts,
        "http": stage.load.summary(), "http 5xx other than 503": len(stage.load.server_errors()),
        "wall time s": round(wall, 1),
    }


def soak_once(soak: Soak, tmp: Path | None = None) -> tuple[dict[str, object], invariants.Report]:
    """Run one soak in `tmp` (a new temporary folder by default); (figures, report)."""
    tmp = tmp or Path(tempfile.mkdtemp(prefix="alpaca-chaos-"))
    stage = None
    started = time.monotonic()
    try:
        stage = start(soak, tmp)
        report = run(stage)
        return figures(stage, report, time.monotonic() - started), report
    finally:
        close(stage, tmp)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.chaos", description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--tenants", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    soak = Soak(items=args.items, jobs=args.jobs, tenants=args.tenants, workers=args.workers,
                seed=args.seed)
    numbers, report = soak_once(soak)
    print("\nchaos soak")
    for line in soak.events:
        print(f"  {line}")
    for name, value in numbers.items():
        print(f"  {name:28} {value}")
    for problem in report.problems():
        print(f"  PROBLEM: {problem}")
    ok = (report.ok and numbers["items submitted"] == soak.items and numbers["lost"] == 0
          and numbers["duplicated"] == 0 and numbers["http 5xx other than 503"] == 0)
    print("  result                       " + ("OK" if ok else "INVARIANTS BROKEN"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
