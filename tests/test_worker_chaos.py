"""Acceptance, worker side: real `celery worker` processes, real Redis, SQLite and PostgreSQL.

- SIGKILL the worker's whole process group in the middle of a 200-item job, start a new worker:
  the sweeper sees the run's lease expire and re-dispatches it, the new worker resumes it, and the
  job ends with 200 items, each exactly one succeeded row and one PNG, on attempt 2.
- Cancel a running 200-item job: it stops within three batches (the one being committed, the
  one being stored and the one in flight, worker.engine.RecordBehind), finished items are kept.

The workers run the stand-in model (MODEL_BACKEND=stub, sleeps per item): these cases are about
delivery, not the model (see docs/reliability.md). Figures are logged at INFO; see them with
`pytest -o log_cli=true --log-cli-level=INFO tests/test_worker_chaos.py`.
"""

from __future__ import annotations

import collections
import hashlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store import session_scope
from store.jobs import request_cancel
from store.models import Item, Job
from tests.worker_support import Processes, add_job, load_items, load_job, processes_for, wait_for
from tests.worker_support import worker_redis_url  # noqa: F401 - fixture

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

ITEMS = 200
BATCH = 10
# The run lease of these workers. A kill is seen one lease later; a live worker that stalls longer
# than a lease (a loaded 2-core CI machine once stalled one past 2 s) loses its run to the sweeper
# before the kill, and the job ends one attempt later than the case means to show.
LEASE = "5"
TERMINAL = {"succeeded", "failed", "canceled", "partial"}


@pytest.fixture
def procs(database_url: str, worker_redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    processes = processes_for(database_url, worker_redis_url, tmp_path, BATCH_SIZE=str(BATCH),
                              LEASE_SECONDS=LEASE)
    yield processes
    processes.stop_all()


@pytest.fixture
def pg_procs(postgres_url: str, worker_redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    processes = processes_for(postgres_url, worker_redis_url, tmp_path, BATCH_SIZE=str(BATCH),
                              LEASE_SECONDS=LEASE)
    yield processes
    processes.stop_all()


def submit(url: str, items: int = ITEMS) -> tuple[str, str]:
    """Insert a job and send its message, as the API does; (job id, task id)."""
    job_id = add_job(url, [f"brief {i}: a small red star left of a blue square" for i in range(items)],
                     params={"rounds": 2})
    return job_id, send(job_id)


def send(job_id: str) -> str:
    from worker.celery_app import enqueue_job, make_app

    from config import get_settings

    return enqueue_job(make_app(get_settings()), job_id, "generate", 5)


def done_items(url: str, job_id: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(Item).where(
            Item.job_id == job_id, Item.status == "succeeded"))


def terminal(url: str, job_id: str) -> bool:
    return load_job(url, job_id).status in TERMINAL


def test_sigkill_mid_job_then_a_new_worker_finishes_it_with_one_result_per_item(
        database_url, procs, tmp_path):
    procs.sweeper()
    first = procs.worker("w1")
    started = time.monotonic()
    job_id, _task = submit(database_url)
    wait_for(lambda: done_items(database_url, job_id) >= 60, 60, "60 items done")
    os.killpg(first.pid, signal.SIGKILL)
    killed, done_at_kill = time.monotonic(), done_items(database_url, job_id)
    first.wait(5)
    attempt_at_kill = load_job(database_url, job_id).attempt
    assert attempt_at_kill == 1, f"w1 lost its run before the kill:\n{procs.lines_about(job_id)}"
    procs.worker("w2")
    wait_for(lambda: terminal(database_url, job_id), 60, "the job to finish")
    finished = time.monotonic()

    job, items = load_job(database_url, job_id), load_items(database_url, job_id)
    assert (job.status, job.attempt, job.done_items, job.failed_items) == (
        "succeeded", 2, ITEMS, 0), procs.lines_about(job_id)
    assert [i.index for i in items] == list(range(ITEMS))
    assert collections.Counter(i.status for i in items) == {"succeeded": ITEMS}
    storage = tmp_path / "storage"
    pngs = sorted(p.relative_to(storage).as_posix() for p in storage.glob("*/*.png"))
    assert pngs == sorted(i.image_path for i in items)  # one file per item, none extra
    for item in items:
        assert hashlib.sha256((storage / item.image_path).read_bytes()).hexdigest() == item.image_sha256
    redone = [i.index for i in items if i.attempt == 2]
    # the batch in flight and the ones being stored and committed at the kill ran again
    # (RecordBehind)
    assert len(redone) <= 3 * BATCH and b"claim claimed, attempt 2" in procs.log("w2")
    assert b"requeued_running': 1" in procs.log("sweeper")
    leftovers = len(list(storage.glob("*/.*.tmp")))
    log.info("SIGKILL figures (%s): job %s, %d items, batch %d; killed after %.1f s with %d done; "
             "finished %.1f s after the kill (%.1f s in all); attempt %d; items run twice %d %s; "
             "succeeded rows %d, PNG files %d, temp files left %d", database_url.split(":")[0],
             job_id, ITEMS, BATCH, killed - started, done_at_kill, finished - killed,
             finished - started, job.attempt, len(redone), redone, len(items), len(pngs), leftovers)


def test_cancel_a_running_200_item_job_stops_within_three_batches(database_url, procs, tmp_path):
    from celery.result import AsyncResult
    from worker.celery_app import make_app

    from config import get_settings

    procs.worker("w1")
    job_id, task_id = submit(database_url)
    started = time.monotonic()
    wait_for(lambda: done_items(database_url, job_id) >= 50, 60, "50 items done")
    state = AsyncResult(task_id, app=make_app(get_settings()))
    progress = (state.state, dict(state.info or {}))
    with session_scope(database_url) as session:
        outcome = request_cancel(session, session.get(Job, job_id))
    asked, done_at_cancel = time.monotonic(), done_items(database_url, job_id)
    wait_for(lambda: terminal(database_url, job_id), 30, "the job to stop")
    stopped = time.monotonic()

    job, items = load_job(database_url, job_id), load_items(database_url, job_id)
    counts = collections.Counter(i.status for i in items)
    assert outcome.name == "REQUESTED" and job.status == "canceled"
    assert progress[0] == "PROGRESS" and progress[1]["total"] == ITEMS
    assert counts["succeeded"] + counts["canceled"] == ITEMS
    assert 0 <= counts["succeeded"] - done_at_cancel <= 3 * BATCH
    assert all((tmp_path / "storage" / i.image_path).exists() for i in items if i.status == "succeeded")
    assert job.done_items == counts["succeeded"]
    log.info("cancel figures (%s): job %s, %d items, batch %d; cancel asked after %.1f s with %d "
             "done; stopped %.2f s later with %d succeeded (%d after the request), %d canceled; "
             "task state seen while running: %s", database_url.split(":")[0], job_id, ITEMS, BATCH,
             asked - started, done_at_cancel, stopped - asked, counts["succeeded"],
             counts["succeeded"] - done_at_cancel, counts["canceled"], progress)


def test_a_database_outage_at_delivery_is_retried_with_backoff(postgres_url, pg_procs):
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from store import dispose_engines

    job_id = add_job(postgres_url, ["a red star", "a blue square"])
    name = make_url(postgres_url).database
    admin = create_engine(make_url(postgres_url).set(database="postgres"),
                          isolation_level="AUTOCOMMIT")

    def rename(old: str, new: str) -> None:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{old}" RENAME TO "{new}"'))

    rename(name, f"{name}_away")  # the worker's database is gone
    try:
        pg_procs.worker("w1")
        send(job_id)
        wait_for(lambda: b"transient error, retry 1" in pg_procs.log("w1"), 30, "a retry")
    finally:
        rename(f"{name}_away", name)
        admin.dispose()
    wait_for(lambda: terminal(postgres_url, job_id), 30, "the job to finish")
    job = load_job(postgres_url, job_id)
    assert (job.status, job.attempt, job.done_items) == ("succeeded", 1, 2)
    log.info("DB outage: worker log says %s", [line for line in pg_procs.log("w1").splitlines()
                                               if b"transient" in line])
