"""Fine-tune jobs on the worker, as named steps:

    claim     -> take the job (compare-and-set, attempt counter), as for generate jobs
    prepare   -> check params, resolve and guard the base checkpoint, read the dataset's pairs
    baseline  -> judge the base model on the new concept and the held-out set (kept for resumes)
    train     -> the model kind's train from the base (or from the newest snapshot of an
                 earlier attempt), snapshotting every checkpoint atomically; cancel and lease
                 checked every step
    evaluate  -> judge the trained model on the same prompts and seeds
    register  -> publish models/<version>/ and add it to the catalog once, with parent and metrics
    release   -> succeeded (or canceled), with the version and metrics in the job's progress

A pulse thread (worker.pulse) renews the run's lease and writes progress (phase, step, loss, last
checkpoint) every few seconds; step and loss also go out as Celery task state. Killed at any
point, the next delivery resumes: training from the last snapshot, and a model this job already
registered is never trained or registered again. Expected failures (bad params, unknown model,
unsafe checkpoint, missing or unusable dataset) fail the job with a code and are not retried.
Knows the store, the checkpoint files and the model kind's `train` and fine-tune helpers
(kinds.ModelKind.extras); nothing of HTTP or of a model family's code.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from store.datasets import accepted_pairs, get_dataset
from store.finetunes import model_made_by, read_progress, set_progress
from kinds import MissingCheckpoint, ServableModel, UnsafeCheckpoint
from store.models import utcnow
from store.runs import Beat, JobClaim, finalize_job, set_model_version
from worker import snapshot_store
from worker.checkpoints import guard_checkpoint
from worker.finetune_eval import evaluate
from worker.finetune_plan import Plan, Refused, kind_of, kind_tool
from worker.finetune_train import register_step, train_step
from worker.lifecycle import RunEnd, Runtime, claim_step, ended, fail_claimed, nothing_to_run
from worker.lifecycle import release_step
from worker.model_cache import UnknownModel, load_options, locate_model
from worker.model_store import cache_root, local_file, local_folder
from worker.pulse import Pulse, Stopped

log = logging.getLogger(__name__)

Publish = Callable[[str, dict], None]  # (job id, task-state meta) -> None


def run_finetune(job_id: str, rt: Runtime, worker: str,
                 publish: Publish | None = None) -> RunEnd:
    """Run (or resume) one delivery of a fine-tune job; the final status, or why nothing ran."""
    claim = claim_step(rt, job_id, worker)
    if not claim.runnable:
        return nothing_to_run(job_id, claim)
    try:
        plan = prepare(rt, claim, worker)
        return execute(rt, plan, publish)
    except Refused as exc:
        return fail_claimed(rt, claim, exc.code, exc.message)
    except BaseException as exc:  # a fine-tune's attempt counts in a cold shutdown too
        release_step(rt, claim, worker, exc, count_in_shutdown=True)
        raise


def _params(raw: dict[str, Any], settings: Any) -> dict[str, Any]:
    steps, lr = raw.get("steps"), raw.get("learning_rate", 1e-3)
    every = raw.get("checkpoint_every") or settings.finetune_checkpoint_every
    limit = settings.max_finetune_steps
    if not isinstance(steps, int) or isinstance(steps, bool) or not 1 <= steps <= limit:
        raise Refused("invalid_params", f"steps must be 1..{limit}, got {steps!r}")
    if not isinstance(lr, (int, float)) or not 0 < lr <= 0.1:
        raise Refused("invalid_params", f"learning_rate must be in (0, 0.1], got {lr!r}")
    if not isinstance(every, int) or every < 1:
        raise Refused("invalid_params", f"checkpoint_every must be >= 1, got {every!r}")
    glossary = raw.get("glossary")
    if glossary is not None and not isinstance(glossary, dict):
        raise Refused("invalid_params", "glossary must be an object of words")
    return {"steps": steps, "learning_rate": float(lr), "checkpoint_every": every,
            "seed": int(raw.get("seed", 0)), "glossary": glossary,
            "name": str(raw.get("name") or "finetune")}


def default_base_dir(rt: Runtime, kind_name: str) -> Path:
    """The shipped default model's checkpoint folder of the kind for this backend."""
    backend, kind = rt.settings.model_backend, kind_of(kind_name)
    if backend == "alpaca" and kind.default_checkpoint is not None:
        return Path(kind.default_checkpoint())
    if backend == "tiny" and kind.tiny is not None:  # tests: the tiny model, saved once
        target = Path(rt.storage_dir) / "models" / f"tiny-base-{kind.name}"
        if not target.is_dir():
            tmp = target.with_name(f".{target.name}.{time.monotonic_ns()}.tmp")
            kind_tool(kind.name, "save")(kind.tiny(), str(tmp))
            try:
                tmp.rename(target)
            except OSError:  # another process saved it first
                shutil.rmtree(tmp, ignore_errors=True)
        return target
    raise Refused("unsupported_backend",
                  f"fine-tuning needs a real model, not the {backend} backend")


def _base(rt: Runtime, session: Any, ref: str, tenant_id: str) -> tuple[Path, str, str]:
    """(checkpoint folder, version, kind) of the base model."""
    try:
        location = locate_model(session, ref, tenant_id)
    except UnknownModel as exc:
        raise Refused("unknown_model", str(exc)) from exc
    try:
        base_dir = (local_folder(rt.storage, location.checkpoint_dir,
                                 cache_root(rt.settings), location.sha256)
                    if location.checkpoint_dir else default_base_dir(rt, location.kind))
        guard_checkpoint(base_dir)
    except UnsafeCheckpoint as exc:
        raise Refused("unsafe_checkpoint", f"base model {ref}: {exc}") from exc
    except MissingCheckpoint as exc:
        raise Refused("model_unavailable", f"base model {ref}: {exc}") from exc
    return base_dir, kind_tool(location.kind, "checkpoint_version")(str(base_dir)), location.kind


def _pairs(rt: Runtime, session: Any, dataset_id: str, tenant_id: str) -> list[tuple[str, Path]]:
    if get_dataset(session, str(dataset_id), tenant_id) is None:
        raise Refused("dataset_not_found", f"dataset {dataset_id} not found")
    try:
        pairs = [(p.caption, _dataset_image(rt, p.image_path))
                 for p in accepted_pairs(session, dataset_id)]
    except UnsafeCheckpoint as exc:
        raise Refused("dataset_unavailable", f"dataset {dataset_id}: {exc}") from exc
    missing = [str(path) for _caption, path in pairs if not path.is_file()]
    if not pairs or missing:
        raise Refused("dataset_empty" if not pairs else "dataset_unavailable",
                      f"dataset {dataset_id}: " + (f"{len(missing)} stored images are missing"
                                                   if missing else "no accepted pairs"))
    return pairs


def _dataset_image(rt: Runtime, key: str) -> Path:
    """A dataset image as a file here (fetched from S3 once): its key is `.../<sha256>.png`."""
    return local_file(rt.storage, key, cache_root(rt.settings), PurePosixPath(key).stem)


def prepare(rt: Runtime, claim: JobClaim, worker: str) -> Plan:
    """Read and check what the run needs; Refused for what can never run."""
    job = claim.job
    params = _params(job.params, rt.settings)
    with rt.session() as session:
        ref = job.params.get("base_model") or "default"
        base_dir, base_version, kind = _base(rt, session, ref, job.tenant_id)
        pairs = _pairs(rt, session, job.params.get("dataset_id"), job.tenant_id)
        result = model_made_by(session, job.id)
        previous = read_progress(session, job.id)
        set_model_version(session, job.id, base_version)
    plan = Plan(job.id, job.tenant_id, claim.attempt, worker, base_dir=base_dir,
                base_version=base_version, pairs=pairs, previous=previous, result=result,
                root=snapshot_store.scratch_root(rt.storage, Path(rt.storage_dir),
                                                 rt.settings.var_dir, job.id),
                kind=kind, **params)
    log.info("job %s attempt %d: fine-tune '%s' of %s (%s) on %d pairs, %d steps, lr %g, "
             "checkpoint every %d", job.id, claim.attempt, plan.name, ref, base_version,
             len(pairs), plan.steps, plan.learning_rate, plan.checkpoint_every)
    return plan


def execute(rt: Runtime, plan: Plan, publish: Publish | None) -> RunEnd:
    """Baseline, train, evaluate and register under the run's pulse; then release the run."""
    started = time.monotonic()
    progress = {"phase": "preparing", "step": 0, "steps": plan.steps, "attempt": plan.attempt,
                "loss": None, "checkpoint_step": None, "resumed_from_step": None,
                "baseline": plan.previous.get("baseline")}
    interval = min(2.0, rt.settings.lease_seconds / 3)
    stop = None
    with Pulse(rt, plan.job_id, plan.worker, plan.attempt, progress, interval) as pulse:
        try:
            pulse.beat()
            if plan.result is None:
                train_and_register(rt, plan, pulse, publish, started)
            else:
                log.info("job %s attempt %d: model %s already registered by this job; finishing",
                         plan.job_id, plan.attempt, plan.result.version)
                pulse.update(result_version=plan.result.version, metrics=plan.result.metrics)
        except Stopped as stopped:
            stop = stopped.state
    if stop == Beat.LOST:
        log.warning("job %s attempt %d: run lost; stopping without writes", plan.job_id,
                    plan.attempt)
        return RunEnd.LOST
    return finish(rt, plan, pulse.progress, canceled=stop is not None)


def load_model(plan: Plan, path: Path, settings: Any) -> ServableModel:
    """A checkpoint of the plan's kind loaded as this worker loads models, to evaluate."""
    return kind_of(plan.kind).load(str(path), load_options(settings))


def load_base(plan: Plan, settings: Any) -> ServableModel:
    """The base model; a checkpoint the model code cannot load fails the job (not retried)."""
    try:
        return load_model(plan, plan.base_dir, settings)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:  # missing, corrupt, or the
        # weights of another architecture (torch's load_state_dict raises RuntimeError)
        raise Refused("model_unavailable", f"cannot load the base model: {exc}") from exc


def train_and_register(rt: Runtime, plan: Plan, pulse: Pulse, publish: Publish | None,
                       started: float) -> None:
    base = load_base(plan, rt.settings)  # always: a base that cannot load fails the job now
    baseline = pulse.progress.get("baseline")
    if baseline is None:
        pulse.update(phase="baseline")
        baseline = evaluate(base, plan, rt.settings, pulse, known=True)
        pulse.update(baseline=baseline)
        pulse.beat()
    pulse.check()
    pairs = usable_pairs(base, plan)
    final_dir, train_info = train_step(rt, plan, pairs, pulse, publish)
    pulse.update(phase="evaluating")
    after = evaluate(load_model(plan, final_dir, rt.settings), plan, rt.settings, pulse, known=False)
    metrics = _metrics(baseline, after, train_info, time.monotonic() - started)
    pulse.update(phase="registering")
    pulse.check()
    version = register_step(rt, plan, final_dir, metrics)
    pulse.update(result_version=version, metrics=metrics)


def usable_pairs(base: Any, plan: Plan) -> list[tuple[str, Path]]:
    """With a glossary, the pairs whose image the base model reads as their caption says."""
    if not plan.glossary:
        return plan.pairs
    kept = kind_tool(plan.kind, "consistent_pairs")(base, [(c, str(p)) for c, p in plan.pairs], plan.glossary)
    log.info("job %s attempt %d: %d of %d pairs read as their captions say", plan.job_id,
             plan.attempt, len(kept), len(plan.pairs))
    if not kept:
        raise Refused("invalid_dataset", "the base model reads none of the dataset's images as "
                      "their captions say")
    return [(c, Path(p)) for c, p in kept]


def _metrics(before: dict, after: dict, train_info: dict, wall_s: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("concept", "heldout"):
        b, a = before.get(key) or {}, after.get(key) or {}
        out[key] = {"before": b.get("overall"), "after": a.get("overall"), "n": a.get("n"),
                    "categories_before": b.get("categories"),
                    "categories_after": a.get("categories")}
    known = before.get("concept_known") or {}
    out["concept"].update(
        checks_before=before["concept"].get("concept_checks"),
        checks_after=after["concept"].get("concept_checks"),
        known_words_before=known.get("overall"),
        known_words_checks_before=known.get("concept_checks"))
    out["concept"]["prompts"] = after.get("concept_source")
    out["rounds"] = after.get("rounds")
    out.update(train_info)
    out["job_wall_s"] = round(wall_s, 1)
    return out


def finish(rt: Runtime, plan: Plan, progress: dict[str, Any], *, canceled: bool) -> RunEnd:
    """Write the last progress and the final status (succeeded or canceled), if the run is ours."""
    progress = {**progress, "phase": "canceled" if canceled else "done"}
    with rt.session() as session:
        if not set_progress(session, plan.job_id, plan.worker, plan.attempt, progress, utcnow()):
            log.warning("job %s attempt %d: run lost before it could finish", plan.job_id,
                        plan.attempt)
            return RunEnd.LOST
        status = finalize_job(session, plan.job_id, plan.worker, plan.attempt, utcnow(),
                              canceled=canceled)
    log.info("job %s attempt %d: finished %s at step %s, model %s", plan.job_id, plan.attempt,
             status, progress.get("step"), progress.get("result_version"))
    if status is not None:  # terminal: the checkpoints are no longer needed (the model is kept)
        shutil.rmtree(plan.root, ignore_errors=True)
        snapshot_store.drop(rt.storage, plan.job_id)
    return ended(status)
