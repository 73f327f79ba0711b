"""Fine-tune jobs run in-process on the real model class (tiny config) and a real database.

Training, snapshots every N steps, evaluation before -> after, registration once with parent and
metrics, the new version used by a generate job, resume after a crash from the last checkpoint,
no second training or registration after a crash past registration, cancel between steps.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from kinds.checkpoint_files import file_sha256
from store import session_scope
from store.models import Job, ModelVersion
from tests.finetune_support import add_dataset, add_finetune, one_torch_thread  # noqa: F401
from tests.finetune_support import tiny_runtime
from tests.worker_support import add_job, load_items, load_job, worker_redis_url  # noqa: F401
from worker import finetune_train
from worker.finetune import run_finetune
from worker.model_cache import Location


class Crash(BaseException):
    """Stands in for the process dying at a chosen point."""


def models_by(url: str, job_id: str) -> list[ModelVersion]:
    with session_scope(url) as session:
        return list(session.scalars(select(ModelVersion)
                                    .where(ModelVersion.created_by_job_id == job_id)))


def crash_at_step(monkeypatch: pytest.MonkeyPatch, step: int) -> list[int]:
    """Make the training hook die right after reporting `step` (once); returns the steps seen."""
    seen: list[int] = []
    original = finetune_train.StepHook.__call__

    def hook(self, info):  # noqa: ANN001, ANN202
        original(self, info)
        seen.append(info["step"])
        if info["step"] == step and seen.count(step) == 1:
            raise Crash(f"killed at step {step}")

    monkeypatch.setattr(finetune_train.StepHook, "__call__", hook)
    return seen


def test_finetune_trains_and_registers_the_new_version_once(database_url: str, tmp_path: Path,
                                                             worker_redis_url: str) -> None:
    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(database_url, storage)
    job_id = add_finetune(database_url, tenant, dataset, steps=12, checkpoint_every=4)
    published: list[dict] = []
    status = run_finetune(job_id, tiny_runtime(database_url, storage), "w1",
                          lambda _job, meta: published.append(meta))

    job, models = load_job(database_url, job_id), models_by(database_url, job_id)
    assert (status, job.status, job.attempt) == ("succeeded", "succeeded", 1)
    assert len(models) == 1 and models[0].name == "ember-tiny"
    model = models[0]
    assert (model.tenant_id, model.parent_version) == (tenant, job.model_version)
    assert set(model.metrics) >= {"concept", "heldout", "steps", "train_wall_s"}
    assert set(model.metrics["concept"]) >= {"before", "after", "n", "known_words_before"}
    assert job.progress["phase"] == "done" and job.progress["result_version"] == model.version
    assert (job.progress["step"], job.progress["checkpoint_step"]) == (12, 12)
    assert model.checkpoint_path == f"models/{model.version}"  # a key prefix in object storage
    assert file_sha256(storage / model.checkpoint_path / "model.safetensors") == model.sha256
    assert not (storage / "finetunes" / job_id).exists()  # checkpoints dropped once done
    assert published[-1] == {"job_id": job_id, "phase": "training", "step": 12, "steps": 12,
                             "loss": pytest.approx(job.progress["loss"], abs=1e-3)}


def test_a_generate_job_can_ask_for_the_fine_tuned_model(sqlite_url: str, tmp_path: Path,
                                                         worker_redis_url: str) -> None:
    from worker.engine import run_job

    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(sqlite_url, storage)
    rt = tiny_runtime(sqlite_url, storage)
    finetune = add_finetune(sqlite_url, tenant, dataset, steps=4)
    assert run_finetune(finetune, rt, "w1") == "succeeded"
    version = models_by(sqlite_url, finetune)[0].version
    job_id = add_job(sqlite_url, ["an ember star", "a blue square"], params={"rounds": 1})
    with session_scope(sqlite_url) as session:  # the job belongs to the fine-tune's tenant
        job = session.get(Job, job_id)
        job.tenant_id, job.params = tenant, {"rounds": 1, "model": "ember-tiny"}
    assert run_job(job_id, rt, "w1") == "succeeded"
    assert load_job(sqlite_url, job_id).model_version == version
    assert all(i.image_path for i in load_items(sqlite_url, job_id))
    assert rt.models.get(Location(str(storage / "models" / version), version)).version == version


def test_a_crashed_run_resumes_from_its_last_checkpoint(database_url: str, tmp_path: Path,
                                                       worker_redis_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(database_url, storage)
    job_id = add_finetune(database_url, tenant, dataset, steps=12, checkpoint_every=4)
    seen = crash_at_step(monkeypatch, 7)
    rt = tiny_runtime(database_url, storage)
    with pytest.raises(Crash):
        run_finetune(job_id, rt, "w1")
    crashed = load_job(database_url, job_id)
    assert (crashed.status, crashed.progress["checkpoint_step"]) == ("queued", 4)
    assert run_finetune(job_id, rt, "w2") == "succeeded"

    job = load_job(database_url, job_id)
    assert (job.attempt, job.progress["resumed_from_step"]) == (2, 4)
    assert seen == [*range(1, 8), *range(5, 13)]  # steps 5..7 are redone, 1..4 are not
    assert len(models_by(database_url, job_id)) == 1
    assert job.progress["metrics"]["resumed_from_step"] == 4


def test_a_crash_after_registration_does_not_train_or_register_again(
        sqlite_url: str, tmp_path: Path, worker_redis_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from worker import finetune

    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(sqlite_url, storage)
    job_id = add_finetune(sqlite_url, tenant, dataset, steps=4)
    real_finish = finetune.finish
    calls = []

    def finish_once(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) == 1:
            raise Crash("killed between registration and the final status")
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(finetune, "finish", finish_once)
    rt = tiny_runtime(sqlite_url, storage)
    with pytest.raises(Crash):
        run_finetune(job_id, rt, "w1")
    first = models_by(sqlite_url, job_id)
    seen = crash_at_step(monkeypatch, 10**6)  # records any training step of the second run
    assert run_finetune(job_id, rt, "w2") == "succeeded"
    assert seen == [] and [m.version for m in models_by(sqlite_url, job_id)] == [first[0].version]
    with session_scope(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(ModelVersion)) == 1


def test_cancel_stops_training_between_two_steps(sqlite_url: str, tmp_path: Path,
                                                 worker_redis_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(sqlite_url, storage)
    job_id = add_finetune(sqlite_url, tenant, dataset, steps=40)
    original = finetune_train.StepHook.__call__

    def cancel_at_5(self, info):  # noqa: ANN001, ANN202 - the client cancels during step 5
        if info["step"] == 5:
            with session_scope(sqlite_url) as session:
                session.get(Job, job_id).cancel_requested = True
            self.pulse.beat()
        original(self, info)

    monkeypatch.setattr(finetune_train.StepHook, "__call__", cancel_at_5)
    assert run_finetune(job_id, tiny_runtime(sqlite_url, storage), "w1") == "canceled"
    job = load_job(sqlite_url, job_id)
    assert (job.status, job.progress["phase"], job.progress["step"]) == ("canceled", "canceled", 5)
    assert models_by(sqlite_url, job_id) == []


def test_bad_requests_fail_the_job_without_retry(sqlite_url: str, tmp_path: Path,
                                                 worker_redis_url: str) -> None:
    storage = tmp_path / "storage"
    tenant, dataset = add_dataset(sqlite_url, storage)
    rt = tiny_runtime(sqlite_url, storage)
    cases = [(dataset, {"base_model": "nope"}, "unknown_model"),
             ("f" * 32, {}, "dataset_not_found"),
             (dataset, {"steps": 0}, "invalid_params")]
    for dataset_id, params, code in cases:
        job_id = add_finetune(sqlite_url, tenant, dataset_id, **params)
        assert run_finetune(job_id, rt, "w1") == "failed"
        assert load_job(sqlite_url, job_id).error_code == code
    stub = tiny_runtime(sqlite_url, storage, model_backend="stub")
    job_id = add_finetune(sqlite_url, tenant, dataset)
    assert run_finetune(job_id, stub, "w1") == "failed"
    assert load_job(sqlite_url, job_id).error_code == "unsupported_backend"


def test_the_replay_share_of_a_finetune_comes_from_the_settings():
    from types import SimpleNamespace

    from config import Settings

    plan = SimpleNamespace(learning_rate=4e-4, steps=200, checkpoint_every=50, seed=0)
    options = finetune_train.train_options(plan, Settings(finetune_replay=0.75))
    assert options["replay"] == 0.75 and options["lr"] == 4e-4
    with pytest.raises(ValueError):
        Settings(finetune_replay=1.0)  # a fine-tune that never sees its own pairs
