"""The train and register steps of a fine-tune job (see worker.finetune for the whole run).

train: rebuild the work folder from the newest snapshot (or start clean from the base), call
the model kind's `train` with a per-step hook, and snapshot each checkpoint it writes
(worker.checkpoints; on S3 each snapshot is also stored, and a run on another machine fetches
the newest first: worker.snapshot_store).
The hook reports step and loss to the pulse (the job row) and as Celery task state, and stops the
run between two steps when the pulse has seen a cancel request or lost the run.

register: publish the final weights to object storage as `models/<version>/`
(worker.model_store), durably, then add that version to the catalog with its parent, metrics and
job, its checkpoint path being that key prefix; a concurrent or repeated registration of the
same version finds the existing row (the version is the content hash of the weights).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError

from kinds.checkpoint_files import WEIGHTS, file_sha256
from kinds.errors import UnsafeCheckpoint
from store.catalog import register_model
from worker.checkpoints import restore, snapshot
from worker.finetune_plan import Plan, Refused, kind_of, kind_tool
from worker.lifecycle import Runtime
from objects import Storage
from worker import model_store, snapshot_store
from worker.pulse import Pulse

log = logging.getLogger(__name__)

PUBLISH_EVERY_S = 1.0  # Celery task-state updates at most this often


class StepHook:
    """alpaca.train's on_step: progress, checkpoint snapshots, task state, cancel and lease."""

    def __init__(self, plan: Plan, pulse: Pulse, start: int,
                 publish: Callable[[str, dict], None] | None, storage: Storage) -> None:
        self.plan, self.pulse, self.start, self.publish = plan, pulse, start, publish
        self.storage = storage
        self.published_at = 0.0
        self.last: dict[str, Any] = {}

    def __call__(self, info: dict[str, Any]) -> None:
        step, plan = int(info["step"]), self.plan
        self.last = info
        self.pulse.update(step=step, loss=round(float(info["loss"]), 4),
                          lr=float(info["lr"]), elapsed_s=round(float(info["elapsed_s"]), 1))
        saved = step - 1  # alpaca.train checkpoints at the top of a step, before its forward
        if saved > self.start and saved % plan.checkpoint_every == 0:
            self._snapshot(saved)
        self._publish(step, float(info["loss"]))
        self.pulse.check()

    def _snapshot(self, step: int) -> None:
        folder = snapshot(self.plan.work, self.plan.checkpoints, step)
        if folder is None:
            log.warning("job %s attempt %d: checkpoint %d incomplete in the work folder; not "
                        "snapshotted", self.plan.job_id, self.plan.attempt, step)
            return
        snapshot_store.push(self.storage, self.plan.job_id, folder)  # before the row names it
        self.pulse.update(checkpoint_step=step)
        self.pulse.beat()  # the job row names the checkpoint a resumed run would start from
        log.info("job %s attempt %d: checkpoint step %d saved", self.plan.job_id,
                 self.plan.attempt, step)

    def _publish(self, step: int, loss: float) -> None:
        now = time.monotonic()
        if self.publish is None or (now - self.published_at < PUBLISH_EVERY_S
                                    and step != self.plan.steps):
            return
        self.published_at = now
        self.publish(self.plan.job_id, {"job_id": self.plan.job_id, "phase": "training",
                                        "step": step, "steps": self.plan.steps, "loss": loss})


def train_options(plan: Plan, settings: Any) -> dict[str, Any]:
    """alpaca.train options of a fine-tune: checkpoint every N steps, no evaluation inside."""
    return {"lr": plan.learning_rate, "batch_size": settings.finetune_batch_size,
            "replay": settings.finetune_replay, "warmup": max(1, min(100, plan.steps // 10)), "eval_every": plan.checkpoint_every,
            "eval_n": 0, "log_every": max(1, plan.steps // 20), "seed": plan.seed}


def train_step(rt: Runtime, plan: Plan, pairs: list[tuple[str, Path]], pulse: Pulse,
               publish: Callable[[str, dict], None] | None) -> tuple[Path, dict[str, Any]]:
    """Train to `plan.steps` on `pairs` (resuming from the newest snapshot); (final snapshot,
    figures)."""
    kind_tool(plan.kind, "save")  # refuses a kind that cannot fine-tune before training
    try:
        snapshot_store.pull(rt.storage, plan.job_id, plan.checkpoints)
        resumed = restore(plan.work, plan.checkpoints)
    except UnsafeCheckpoint as exc:
        raise Refused("unsafe_checkpoint", f"resume checkpoint refused: {exc}") from exc
    if resumed is not None:
        log.info("job %s attempt %d: resuming from checkpoint step %d of %d", plan.job_id,
                 plan.attempt, resumed, plan.steps)
    pulse.update(phase="training", step=resumed or 0, resumed_from_step=resumed,
                 checkpoint_step=resumed)
    hook = StepHook(plan, pulse, resumed or 0, publish, rt.storage)
    started = time.monotonic()
    try:
        kind_of(plan.kind).train(str(plan.base_dir), [(c, str(p)) for c, p in pairs], plan.steps,
                     plan.work, resume=True, on_step=hook, **train_options(plan, rt.settings))
    except ValueError as exc:  # e.g. no pair could be turned into a training example
        raise Refused("invalid_dataset", f"cannot train on dataset: {exc}") from exc
    final = snapshot(plan.work, plan.checkpoints, plan.steps)
    if final is None:
        raise RuntimeError(f"job {plan.job_id}: training ended without a checkpoint of step "
                           f"{plan.steps}")
    snapshot_store.push(rt.storage, plan.job_id, final)
    pulse.update(step=plan.steps, checkpoint_step=plan.steps)
    return final, {"steps": plan.steps, "resumed_from_step": resumed,
                   "train_wall_s": round(time.monotonic() - started, 1),
                   "final_loss": pulse.progress.get("loss"), "pairs": len(plan.pairs),
                   "pairs_trained_on": len(pairs)}


def register_step(rt: Runtime, plan: Plan, final_dir: Path, metrics: dict[str, Any]) -> str:
    """Publish the trained model and add it to the catalog once; returns its version."""
    version = kind_tool(plan.kind, "checkpoint_version")(str(final_dir))
    sha = file_sha256(final_dir / WEIGHTS)
    prefix = model_store.publish(rt.storage, final_dir, version)
    with rt.session() as session:
        try:
            with session.begin_nested():
                row = register_model(
                    session, name=plan.name, version=version, checkpoint_path=prefix,
                    sha256=sha, parent_version=plan.base_version, tenant_id=plan.tenant_id,
                    metrics=metrics, created_by_job_id=plan.job_id, kind=plan.kind)
        except IntegrityError:
            log.info("job %s: model %s was registered concurrently", plan.job_id, version)
            return version
    if row.created_by_job_id != plan.job_id:
        log.warning("job %s: version %s was already registered by job %s", plan.job_id, version,
                    row.created_by_job_id)
    log.info("job %s attempt %d: registered model '%s' version %s (parent %s)", plan.job_id,
             plan.attempt, plan.name, version, plan.base_version)
    return version
