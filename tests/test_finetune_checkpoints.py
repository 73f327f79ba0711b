"""Checkpoints a fine-tune trusts: pickles are refused and never run; snapshots are atomic.

A malicious checkpoint is a `torch.save` pickle whose object's `__reduce__` would create a
sentinel file when unpickled. Offered as a fine-tune's base model (registered in the catalog) or
planted in its resume snapshot, it fails the job with `unsafe_checkpoint`, and the sentinel is
never created: nothing is unpickled, and there is no fallback that would.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from store import session_scope
from store.catalog import register_model
from tests.finetune_support import add_dataset, add_finetune, one_torch_thread  # noqa: F401
from tests.finetune_support import tiny_runtime
from tests.worker_support import load_job, worker_redis_url  # noqa: F401 - fixture
from worker.checkpoints import (
    RUN_FILES, MissingCheckpoint, UnsafeCheckpoint, checkpoint_step, guard_checkpoint, restore,
    snapshot, snapshots,
)
from worker.finetune import run_finetune


class Evil:
    """Unpickling this runs os.system(...), which creates the sentinel file."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.sentinel}",))


def evil_pickle(path: Path, sentinel: Path) -> Path:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"w": Evil(sentinel)}, path)
    return path


def tiny_checkpoint(folder: Path) -> Path:
    import alpaca

    alpaca.save(alpaca.tiny_model(seed=0), folder)
    return folder


def evil_checkpoints(tmp_path: Path, sentinel: Path) -> dict[str, Path]:
    """Three ways to offer a pickle as a checkpoint."""
    pt_dir = tiny_checkpoint(tmp_path / "pt-beside")  # real safetensors plus a .pt next to it
    evil_pickle(pt_dir / "extra_state.pt", sentinel)
    renamed = tiny_checkpoint(tmp_path / "renamed")  # the weights file is really a pickle
    evil_pickle(renamed / "model.safetensors", sentinel)
    return {"pickle next to the weights": pt_dir, "pickle named model.safetensors": renamed,
            "path to a .pt file": evil_pickle(tmp_path / "model.pt", sentinel)}


@pytest.mark.parametrize("case", ["pickle next to the weights", "pickle named model.safetensors",
                                  "path to a .pt file"])
def test_guard_refuses_pickled_checkpoints(tmp_path: Path, case: str) -> None:
    sentinel = tmp_path / "PWNED"
    with pytest.raises(UnsafeCheckpoint):
        guard_checkpoint(evil_checkpoints(tmp_path, sentinel)[case])
    assert not sentinel.exists()


def test_guard_accepts_a_real_checkpoint_and_reports_a_missing_one(tmp_path: Path) -> None:
    guard_checkpoint(tiny_checkpoint(tmp_path / "ok"))
    with pytest.raises(MissingCheckpoint):
        guard_checkpoint(tmp_path / "nowhere")


@pytest.mark.parametrize("case", ["pickle next to the weights", "pickle named model.safetensors",
                                  "path to a .pt file"])
def test_malicious_base_checkpoint_fails_the_finetune_and_never_runs(
        case: str, database_url: str, tmp_path: Path, worker_redis_url: str) -> None:
    storage, sentinel = tmp_path / "storage", tmp_path / "PWNED"
    path = evil_checkpoints(tmp_path, sentinel)[case]
    tenant, dataset = add_dataset(database_url, storage)
    with session_scope(database_url) as session:
        register_model(session, name="evil", version="e" * 16, checkpoint_path=str(path),
                       sha256="e" * 64, tenant_id=tenant)
    job_id = add_finetune(database_url, tenant, dataset, base_model="evil")
    assert run_finetune(job_id, tiny_runtime(database_url, storage), "w1") == "failed"
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code) == ("failed", "unsafe_checkpoint")
    assert not sentinel.exists()


def test_a_pickle_planted_in_the_resume_snapshot_fails_the_job(sqlite_url: str, tmp_path: Path,
                                                               worker_redis_url: str) -> None:
    storage, sentinel = tmp_path / "storage", tmp_path / "PWNED"
    tenant, dataset = add_dataset(sqlite_url, storage)
    job_id = add_finetune(sqlite_url, tenant, dataset)
    work = tiny_checkpoint(tmp_path / "work")
    _fake_run_state(work, step=4)
    planted = snapshot(work, storage / "finetunes" / job_id / "checkpoints", 4)
    evil_pickle(planted / "optimizer.safetensors", sentinel)  # tampered after it was written
    assert run_finetune(job_id, tiny_runtime(sqlite_url, storage), "w1") == "failed"
    job = load_job(sqlite_url, job_id)
    assert (job.error_code, job.error.startswith("resume checkpoint refused")) == (
        "unsafe_checkpoint", True)
    assert not sentinel.exists()


def _fake_run_state(folder: Path, step: int) -> None:
    """Turn a saved model into a training checkpoint of `step` (as alpaca.train writes one)."""
    import torch

    from kinds.checkpoint_files import write_json, write_optimizer

    meta = json.loads((folder / "model.json").read_text())
    weights = meta["weights_sha256"]
    write_json(folder / "model.json", {**meta, "step": step, "weights_sha256": weights})
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))])
    write_optimizer(opt, folder, {"step": step, "options": {}, "metrics": {}})


def test_snapshots_are_complete_or_absent_and_restore_takes_the_newest(tmp_path: Path) -> None:
    work, root = tiny_checkpoint(tmp_path / "work"), tmp_path / "checkpoints"
    for step in (4, 8, 12):
        _fake_run_state(work, step)
        assert snapshot(work, root, step) == root / f"step-{step:08d}"
    assert [s for s, _ in snapshots(root)] == [8, 12]  # the oldest is pruned
    (root / ".step-00000016.123.tmp").mkdir()  # a snapshot killed mid-copy
    shutil.copy(work / "model.safetensors", root / ".step-00000016.123.tmp")
    assert snapshot(work, root, 16) is None  # the work folder is not at step 16
    assert restore(tmp_path / "resumed", root) == 12
    assert checkpoint_step(tmp_path / "resumed") == 12
    assert sorted(p.name for p in (tmp_path / "resumed").iterdir()) == sorted(RUN_FILES)


def test_a_half_written_checkpoint_is_not_snapshotted(tmp_path: Path) -> None:
    work, root = tiny_checkpoint(tmp_path / "work"), tmp_path / "checkpoints"
    _fake_run_state(work, 4)
    snapshot(work, root, 4)
    _fake_run_state(work, 8)
    (work / "model.safetensors").write_bytes(b"partial")  # killed while writing the weights
    assert snapshot(work, root, 8) is None
    assert restore(tmp_path / "resumed", root) == 4


def test_a_base_that_does_not_fit_the_model_fails_once_as_model_unavailable(
        sqlite_url: str, tmp_path: Path, worker_redis_url: str) -> None:
    storage = tmp_path / "storage"
    base = tiny_checkpoint(tmp_path / "other-architecture")
    meta = json.loads((base / "model.json").read_text())
    meta["config"]["d_model"] *= 2  # weights of another shape than the config says
    (base / "model.json").write_text(json.dumps(meta))
    tenant, dataset = add_dataset(sqlite_url, storage)
    with session_scope(sqlite_url) as session:
        register_model(session, name="odd", version="o" * 16, checkpoint_path=str(base),
                       sha256="o" * 64, tenant_id=tenant)
    job_id = add_finetune(sqlite_url, tenant, dataset, base_model="odd")
    assert run_finetune(job_id, tiny_runtime(sqlite_url, storage), "w1") == "failed"
    job = load_job(sqlite_url, job_id)
    assert (job.status, job.error_code, job.attempt) == ("failed", "model_unavailable", 1)
