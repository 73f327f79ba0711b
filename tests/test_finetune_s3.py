"""Acceptance (issue 14): workers that share nothing but PostgreSQL, Redis and S3 (a real
SeaweedFS server). Two `celery worker` processes, each with folders of its own; the dataset is in
the bucket only. Worker A is SIGKILLed mid-fine-tune; worker B resumes from the newest snapshot
that A stored in the bucket, registers the model once, then serves a generate job with the new
model (fetched from the bucket into its cache) and stores the job's PNGs in the bucket.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from config import Settings
from objects import get_storage
from store import session_scope
from store.models import Job
from tests.finetune_support import add_dataset, add_finetune
from tests.test_finetune_chaos import EVERY, STEPS, TERMINAL, send, step_at
from tests.worker_support import add_job, load_items, load_job, processes_for, wait_for
from tests.worker_support import worker_redis_url  # noqa: F401 - fixture
from worker.snapshot_store import stored_steps

pytestmark = pytest.mark.chaos
SETTINGS = {"MODEL_BACKEND": "tiny", "OMP_NUM_THREADS": "1", "FINETUNE_EVAL_N": "4",
            "FINETUNE_BATCH_SIZE": "8", "FINETUNE_EVAL_ROUNDS": "0"}


def test_a_finetune_moves_to_another_machine_through_s3_and_its_model_serves_there(
        postgres_url, worker_redis_url, tmp_path, s3_server, s3_prefix) -> None:
    env = s3_server.environment(s3_prefix)
    bucket = get_storage(Settings(**{name.lower(): value for name, value in env.items()}))
    tenant, dataset = add_dataset(postgres_url, tmp_path / "upload")
    for path in (tmp_path / "upload").rglob("*.png"):  # what the API does on S3
        bucket.put(path.relative_to(tmp_path / "upload").as_posix(), path.read_bytes())
    machines = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        machines[name] = processes_for(postgres_url, worker_redis_url, tmp_path / name, **env,
                                       **SETTINGS)
    try:
        job_id = add_finetune(postgres_url, tenant, dataset, steps=STEPS, checkpoint_every=EVERY)
        machines["a"].sweeper()
        first = machines["a"].worker("wa", queues="finetune")
        send(job_id)
        wait_for(lambda: step_at(postgres_url, job_id) >= 2 * EVERY + EVERY // 2, 120,
                 "training past step 50, between two checkpoints")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(5)
        in_bucket = stored_steps(bucket, job_id)
        machines["b"].worker("wb", queues="finetune,generate")
        wait_for(lambda: load_job(postgres_url, job_id).status in TERMINAL, 240, "the fine-tune")
        job = load_job(postgres_url, job_id)
        assert (job.status, job.attempt) == ("succeeded", 2)
        assert in_bucket and job.progress["resumed_from_step"] == in_bucket[-1]
        wait_for(lambda: not list(bucket.list(f"finetunes/{job_id}/")), 30,
                 "the stored snapshots dropped once the job is done")  # just after its commit
        version = job.progress["result_version"]
        generate = add_job(postgres_url, ["a red circle", "a blue square"], model_ref=version)
        with session_scope(postgres_url) as session:  # the model is the fine-tuning tenant's
            session.get(Job, generate).tenant_id = tenant
        send_generate(generate)
        wait_for(lambda: load_job(postgres_url, generate).status in TERMINAL, 120, "generate")
    finally:
        for machine in machines.values():
            machine.stop_all()
    assert load_job(postgres_url, generate).status == "succeeded"
    assert all(bucket.exists(item.image_path) for item in load_items(postgres_url, generate))
    assert (tmp_path / "b" / "var" / "object-cache" / "models" / version).is_dir()
    on_disk = [p for p in (tmp_path / "b").rglob("*.png") if "object-cache" not in p.parts]
    assert on_disk == []  # its images went to the bucket only (the dataset's are in its cache)


def send_generate(job_id: str) -> None:
    from worker.celery_app import enqueue_job, make_app

    from config import get_settings

    enqueue_job(make_app(get_settings()), job_id, "generate", 5)
