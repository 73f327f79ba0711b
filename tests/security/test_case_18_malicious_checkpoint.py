"""Case 18: a malicious checkpoint (`torch.save({"w": Evil()})`, where `Evil.__reduce__` runs a
shell command that touches a sentinel file) offered where the product loads checkpoints.

The checkpoint is registered as a model version whose checkpoint_path points at it, a job asks
for that model, and the worker's engine runs the job with the real model cache and `alpaca.load`
(MODEL_BACKEND=alpaca). In every layout -- a `model.pt` folder, the `.pt` file itself, and the
pickle renamed `model.safetensors` (zip and bare-pickle forms, with a model.json that vouches
for it) -- the job fails with `unsafe_checkpoint`, its items fail with it, and the sentinel never
appears. Also:

- the payload is live: `torch.load(weights_only=False)` does create the (control) sentinel;
- torch's default `torch.load` refuses it (weights_only=True), so even a stray call is safe;
- no product module calls torch.load or pickle, or passes weights_only=False;
- a worker on torch < 2.10 refuses to start (worker_init guard), exit status 1.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import alpaca
from store import session_scope
from store.catalog import register_model
from tests.worker_support import add_job, load_items, load_job, make_runtime
from worker.engine import run_job
from worker.safety import MIN_TORCH, refuse_unsafe_torch, require_safe_torch

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("alpaca", "api", "config", "store", "worker")


class Evil:
    """Unpickling this runs `touch <sentinel>`."""

    def __init__(self, sentinel: Path) -> None:
        self.sentinel = sentinel

    def __reduce__(self):  # noqa: ANN204
        return os.system, (f"touch {self.sentinel}",)


def pickled_into_safetensors(folder: Path, sentinel: Path, *, zipped: bool) -> Path:
    """A real tiny checkpoint whose weights file is replaced by the payload; model.json is
    rewritten to vouch for it (its sha256 matches), as a forger would."""
    alpaca.save(alpaca.tiny_model(seed=0), folder)
    weights = folder / "model.safetensors"
    torch.save({"w": Evil(sentinel)}, weights, _use_new_zipfile_serialization=zipped)
    meta = json.loads((folder / "model.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(weights.read_bytes()).hexdigest()
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


def evil_checkpoint(layout: str, tmp: Path, sentinel: Path) -> Path:
    if layout == "model.pt folder":
        (tmp / "ckpt").mkdir()
        torch.save({"w": Evil(sentinel)}, tmp / "ckpt" / "model.pt")
        return tmp / "ckpt"
    if layout == ".pt file":
        torch.save({"w": Evil(sentinel)}, tmp / "evil.pt")
        return tmp / "evil.pt"
    return pickled_into_safetensors(tmp / "ckpt", sentinel, zipped=layout.startswith("zip"))


LAYOUTS = ["model.pt folder", ".pt file", "zip pickle as model.safetensors",
           "bare pickle as model.safetensors"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_job_on_a_pickled_checkpoint_fails_unsafe_checkpoint_and_the_payload_never_runs(
    database_url: str, tmp_path: Path, layout: str,
) -> None:
    sentinel = tmp_path / "pwned"
    path = evil_checkpoint(layout, tmp_path, sentinel)
    with session_scope(database_url) as session:
        register_model(session, name="brand-x", version="e" * 16, checkpoint_path=str(path),
                       sha256="0" * 64)
    job_id = add_job(database_url, ["a red circle", "a blue square"], model_ref="brand-x")
    runtime = make_runtime(database_url, tmp_path / "storage", model_backend="alpaca")

    assert run_job(job_id, runtime, "w1/1/test") == "failed"
    job = load_job(database_url, job_id)
    assert (job.status, job.error_code) == ("failed", "unsafe_checkpoint")
    assert job.error.startswith(
        f"cannot load model brand-x: refusing to load pickled weights from {path}")
    assert [(i.status, i.error_code) for i in load_items(database_url, job_id)] == [
        ("failed", "unsafe_checkpoint")] * 2
    assert not sentinel.exists()


def test_the_payload_is_live_and_torch_load_refuses_it_by_default(tmp_path: Path) -> None:
    torch.save({"w": Evil(tmp_path / "pwned")}, tmp_path / "evil.pt")
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        torch.load(tmp_path / "evil.pt")
    assert not (tmp_path / "pwned").exists()
    torch.save({"w": Evil(tmp_path / "control")}, tmp_path / "control.pt")
    torch.load(tmp_path / "control.pt", weights_only=False)  # what the product never does
    assert (tmp_path / "control").exists()


def test_no_product_module_unpickles() -> None:
    forbidden = ("torch.load(", "pickle.load", "weights_only=False", "import dill", "cloudpickle")
    found = [f"{path.relative_to(ROOT)}: {word}" for package in PRODUCT
             for path in (ROOT / package).rglob("*.py") for word in forbidden
             if word in path.read_text(encoding="utf-8")]
    assert found == []


def test_the_worker_refuses_to_start_on_torch_older_than_2_10(tmp_path: Path) -> None:
    assert MIN_TORCH == (2, 10) and require_safe_torch() == torch.__version__
    assert require_safe_torch("2.10.0") == "2.10.0"
    with pytest.raises(RuntimeError) as refused:
        require_safe_torch("2.9.1+cu121")
    assert str(refused.value) == ("torch 2.9.1+cu121 is older than 2.10: its torch.load can be "
                                  "made to run code from a checkpoint; install torch>=2.10")
    import worker.tasks  # noqa: F401 - connects the guard
    from celery.signals import worker_init

    assert any(receiver is refuse_unsafe_torch for _, receiver in worker_init.receivers)
    code = ("import worker.safety as s; s.torch_version = lambda: '2.9.1'; "
            "from worker.tasks import app; app.worker_main(['worker', '--pool=solo', '-c', '1'])")
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:1/0", "PYTHONPATH": str(ROOT),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "VAR_DIR": str(tmp_path / "var")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60, start_new_session=True)
    assert done.returncode == 1
    assert "refusing to start the worker: torch 2.9.1 is older than 2.10" in done.stderr
    assert "Connected to" not in done.stderr + done.stdout
