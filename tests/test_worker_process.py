"""A real `celery worker` process with the real Alpaca model class (tiny config), end to end.

The job is inserted as rows and sent by name, as the API does; the worker loads the model lazily,
registers it as the default, runs the job and reports through Celery's result backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from store import session_scope
from store.models import ModelVersion
from tests.worker_support import Processes, add_job, load_items, load_job, processes_for, wait_for
from tests.worker_support import worker_redis_url  # noqa: F401 - fixture

TERMINAL = {"succeeded", "failed", "canceled", "partial"}


@pytest.fixture
def tiny_procs(database_url: str, worker_redis_url: str, tmp_path: Path) -> Iterator[Processes]:
    processes = processes_for(database_url, worker_redis_url, tmp_path, MODEL_BACKEND="tiny",
                              BATCH_SIZE="4", OMP_NUM_THREADS="1")
    yield processes
    processes.stop_all()


def send(job_id: str, kind: str = "generate") -> str:
    from worker.celery_app import enqueue_job, make_app

    from config import get_settings

    return enqueue_job(make_app(get_settings()), job_id, kind, 5)


def result_of(task_id: str) -> tuple[str, object]:
    from celery.result import AsyncResult
    from worker.celery_app import make_app

    from config import get_settings

    result = AsyncResult(task_id, app=make_app(get_settings()))
    return result.state, result.result


def test_a_real_worker_runs_a_job_with_the_tiny_alpaca_model(database_url, tiny_procs, tmp_path):
    tiny_procs.worker("w1")
    prompts = ["a small red star left of a large blue square", "三个黄色的圆形"] * 5
    job_id = add_job(database_url, prompts, params={"rounds": 2})
    task_id = send(job_id)
    wait_for(lambda: load_job(database_url, job_id).status in TERMINAL, 60, "the job to finish")
    job, items = load_job(database_url, job_id), load_items(database_url, job_id)
    assert (job.status, job.attempt, job.done_items, job.model_version) == (
        "succeeded", 1, 10, "untrained")
    storage = tmp_path / "storage"
    for item in items:
        assert item.status == "succeeded" and 1 <= item.rounds_run <= 3
        assert hashlib.sha256((storage / item.image_path).read_bytes()).hexdigest() == item.image_sha256
    with session_scope(database_url) as session:
        assert [m.name for m in session.scalars(select(ModelVersion))] == ["default"]
    assert wait_for(lambda: result_of(task_id)[0] == "SUCCESS", 10, "the task result")
    assert result_of(task_id)[1] == {"job_id": job_id, "status": "succeeded"}


def test_a_finetune_job_without_a_dataset_fails_with_a_reason_on_a_real_worker(database_url, tiny_procs):
    tiny_procs.worker("w1", queues="generate,finetune")
    job_id = add_job(database_url, ["a red star"], kind="finetune")
    send(job_id, "finetune")
    wait_for(lambda: load_job(database_url, job_id).status in TERMINAL, 30, "the job to fail")
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code, job.attempt) == ("failed", "invalid_params", 1)
    assert job.error
