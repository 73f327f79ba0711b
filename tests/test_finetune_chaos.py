"""Acceptance: SIGKILL a real fine-tune worker mid-training; a new worker resumes from the last
checkpoint and the model is registered once.

Real `celery worker` processes on the `finetune` queue (tiny model config, one torch thread),
real Redis, SQLite and PostgreSQL, the sweeper. The first worker's whole process group is killed
once training is past step 50 (checkpoints every 20 steps); the sweeper sees the run's lease expire and re-sends the
job; the second worker logs the step it resumes from, which must be the newest snapshot on disk
at the kill. Figures are logged at INFO:
`pytest -o log_cli=true --log-cli-level=INFO tests/test_finetune_chaos.py`.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from store import session_scope
from store.models import ModelVersion
from tests.finetune_support import add_dataset, add_finetune
from tests.worker_support import Processes, load_job, processes_for, wait_for
from tests.worker_support import worker_redis_url  # noqa: F401 - fixture
from worker.checkpoints import snapshots

log = logging.getLogger(__name__)
pytestmark = pytest.mark.chaos

STEPS, EVERY = 400, 20
TERMINAL = {"succeeded", "failed", "canceled", "partial"}


@pytest.fixture
def procs(database_url: str, worker_redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    processes = processes_for(database_url, worker_redis_url, tmp_path, MODEL_BACKEND="tiny",
                              OMP_NUM_THREADS="1", FINETUNE_EVAL_N="4",
                              FINETUNE_BATCH_SIZE="8", FINETUNE_EVAL_ROUNDS="0")
    yield processes
    processes.stop_all()


def send(job_id: str) -> str:
    from worker.celery_app import enqueue_job, make_app

    from config import get_settings

    return enqueue_job(make_app(get_settings()), job_id, "finetune", 5)


def task_state(task_id: str) -> tuple[str, dict]:
    """What Flower shows for the task: its state and meta (step, loss) in the result backend."""
    from celery.result import AsyncResult
    from worker.celery_app import make_app

    from config import get_settings

    result = AsyncResult(task_id, app=make_app(get_settings()))
    return result.state, dict(result.info or {})


def step_at(url: str, job_id: str) -> int:
    return load_job(url, job_id).progress.get("step") or 0


def test_sigkill_mid_finetune_resumes_from_the_last_checkpoint_and_registers_once(
        database_url: str, procs: Processes, tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(database_url, storage)
    job_id = add_finetune(database_url, tenant, dataset, steps=STEPS, checkpoint_every=EVERY)
    procs.sweeper()
    first = procs.worker("w1", queues="finetune")
    started = time.monotonic()
    task_id = send(job_id)
    wait_for(lambda: step_at(database_url, job_id) >= 2 * EVERY + EVERY // 2, 120,
             "training past step 50, between two checkpoints")
    state = task_state(task_id)
    os.killpg(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    first.wait(5)
    step_at_kill = load_job(database_url, job_id).progress["step"]
    on_disk = [s for s, _ in snapshots(storage / "finetunes" / job_id / "checkpoints")]
    procs.worker("w2", queues="finetune")
    wait_for(lambda: load_job(database_url, job_id).status in TERMINAL, 180, "the job to finish")
    finished = time.monotonic()

    job = load_job(database_url, job_id)
    with session_scope(database_url) as session:
        models = list(session.scalars(select(ModelVersion).where(ModelVersion.tenant_id == tenant)))
    assert (job.status, job.attempt) == ("succeeded", 2)
    assert job.progress["resumed_from_step"] == on_disk[-1]
    assert f"resuming from checkpoint step {on_disk[-1]} of {STEPS}".encode() in procs.log("w2")
    assert [m.created_by_job_id for m in models] == [job_id]
    assert job.progress["result_version"] == models[0].version
    assert b"requeued_running': 1" in procs.log("sweeper")
    assert state[0] == "PROGRESS" and state[1]["phase"] == "training" and state[1]["step"] > 0
    log.info("fine-tune SIGKILL figures (%s): job %s, %d steps, checkpoint every %d; killed "
             "after %.1f s at step %d with snapshots %s on disk; resumed from step %d on attempt "
             "%d; finished %.1f s after the kill; models registered for the job: %d (%s); "
             "task state while training: %s",
             database_url.split(":")[0], job_id, STEPS, EVERY, killed - started, step_at_kill,
             on_disk, job.progress["resumed_from_step"], job.attempt, finished - killed,
             len(models), models[0].version, state)
