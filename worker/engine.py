"""The batch engine: runs one delivery of a generate job as named steps.

    claim   -> take the job (compare-and-set, attempt counter), pick its model
    loop:     claim a batch of pending items (with a lease)
              run it through model.generate, renewing leases and checking cancel every round
              record: PNGs into content-addressed storage, then the item rows, in one commit
    release -> finalize the job (succeeded / partial / failed / canceled), or hand back the items

Each batch is committed before the next starts, so a killed worker loses at most the batch in
flight, and a redelivered job resumes with the items still pending: finished items are never
redone. Expected failures stay inside the job (a prompt the model rejects with ValueError fails
that item with its message; an unknown model fails the job); anything else propagates to the
task, which hands the leased items back first.

Knows the store and the model contract; knows nothing of Celery (progress goes to a callback).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy.exc

from config import Settings, faults
from store import session_scope
from store.items import ItemFailure, ItemResult, ItemTask, Progress, claim_batch, record_results
from store.items import update_progress
from store.models import utcnow
from store.runs import CANCEL, LOST, OK, JobClaim, claim_job, fail_job, finalize_job, heartbeat
from store.runs import OUT_OF_MEMORY, WORKER_ERROR, release_run, set_model_version
from worker.model_cache import ModelCache, UnknownModel, locate_model, register_default
from worker.storage import save_png

log = logging.getLogger(__name__)

DEFAULT_ROUNDS = 3
TRANSIENT_STORE_ERRORS = (  # the database is unreachable or busy: retry, do not count an attempt
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
)
DONE = "done"
Publish = Callable[[str, Progress], None]  # (job id, progress) -> None


@dataclass
class Runtime:
    """What a worker process holds across jobs: settings, database, storage and models."""

    settings: Settings
    database_url: str
    storage_dir: Path
    models: ModelCache
    default_checkpoint: str = "default"  # what the models table records for the default model
    # True once the worker process is shutting down cold: a run interrupted then is handed back
    # without using up an attempt (it was not the job's fault).
    stopping: Callable[[], bool] = lambda: False

    def session(self):  # noqa: ANN201 - a context manager yielding a Session
        return session_scope(self.database_url)


@dataclass
class Run:
    """One delivery's run of one job."""

    job_id: str
    attempt: int
    worker: str
    model: Any
    rounds: int
    early_exit: bool
    batch_size: int
    publish: Publish | None = None


@dataclass
class _Track:
    """One item's results so far, round by round."""

    image: Any = None
    texts: list[str] = field(default_factory=list)
    agreements: list[float] = field(default_factory=list)
    done: bool = False


@dataclass
class BatchOutcome:
    results: dict[int, _Track] = field(default_factory=dict)  # item id -> finished item
    failures: list[ItemFailure] = field(default_factory=list)
    stop: str | None = None  # CANCEL or LOST when the run must end after this batch
    model_ms: float = 0.0


def run_job(job_id: str, rt: Runtime, worker: str, publish: Publish | None = None) -> str:
    """Run one delivery of the job; returns the final job status, or why nothing ran."""
    claim = claim_step(rt, job_id, worker)
    if not claim.runnable:
        log.info("job %s: nothing to run (%s, attempt %d)", job_id, claim.outcome, claim.attempt)
        return claim.outcome
    try:
        run = prepare_step(rt, claim, worker, publish)
        if run is None:
            return "failed"
        stop = batches_step(rt, run)
    except TRANSIENT_STORE_ERRORS as exc:
        release_step(rt, claim, worker, exc, count_attempt=False)
        raise
    except BaseException as exc:
        release_step(rt, claim, worker, exc, count_attempt=not rt.stopping())
        raise
    return finish_step(rt, run, stop)


def claim_step(rt: Runtime, job_id: str, worker: str) -> JobClaim:
    s = rt.settings
    with rt.session() as session:
        claim = claim_job(session, job_id, worker, max_attempts=s.max_attempts,
                          lease_seconds=s.lease_seconds, now=utcnow())
    log.info("job %s: claim %s, attempt %d, worker %s", job_id, claim.outcome, claim.attempt, worker)
    return claim


def prepare_step(rt: Runtime, claim: JobClaim, worker: str, publish: Publish | None) -> Run | None:
    """Check the job's parameters and get its model; fails the job (and returns None) if it can't."""
    job = claim.job
    try:
        rounds, batch_size = job_options(job.params, rt.settings)
    except ValueError as exc:
        _fail(rt, claim, "invalid_params", str(exc))
        return None
    try:
        with rt.session() as session:
            checkpoint_dir, version = locate_model(session, job.model_ref, job.tenant_id)
    except UnknownModel as exc:
        _fail(rt, claim, "unknown_model", str(exc))
        return None
    try:
        model = rt.models.get(checkpoint_dir, version)
    except (FileNotFoundError, ValueError) as exc:  # missing, corrupt or pickled checkpoint
        _fail(rt, claim, "unsafe_checkpoint" if "pickle" in str(exc) else "model_unavailable",
              f"cannot load model {job.model_ref or 'default'}: {exc}")
        return None
    with rt.session() as session:
        if checkpoint_dir is None:
            register_default(session, model, rt.default_checkpoint)
        set_model_version(session, job.id, model.version)
    log.info("job %s attempt %d: model %s, %d rounds, batch size %d", job.id, claim.attempt,
             model.version, rounds, batch_size)
    early_exit = bool(job.params.get("early_exit", True))
    return Run(job.id, claim.attempt, worker, model, rounds, early_exit, batch_size, publish)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def job_options(params: dict[str, Any], settings: Settings) -> tuple[int, int]:
    """(rounds, batch size) from the job's params; the worker's batch size is also the maximum."""
    rounds = params.get("rounds", DEFAULT_ROUNDS)
    if not _whole(rounds) or rounds < 0:
        raise ValueError(f"rounds must be a non-negative integer, got {rounds!r}")
    batch_size = params.get("batch_size") or settings.batch_size
    if not _whole(batch_size) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return rounds, min(batch_size, settings.batch_size)


def _fail(rt: Runtime, claim: JobClaim, code: str, message: str) -> None:
    log.warning("job %s attempt %d: failed %s: %s", claim.job.id, claim.attempt, code, message)
    with rt.session() as session:
        fail_job(session, claim.job.id, code, message, utcnow(), attempt=claim.attempt)


def batches_step(rt: Runtime, run: Run) -> str:
    """Claim, run and record batches until none is left (DONE) or the run must stop."""
    while True:
        state, batch = next_batch(rt, run)
        if state != OK:
            return state
        if not batch:
            return DONE
        outcome = run_step(rt, run, batch)
        if outcome.stop == LOST:
            return LOST
        record_step(rt, run, batch, outcome)
        if outcome.stop:
            return outcome.stop


def next_batch(rt: Runtime, run: Run) -> tuple[str, list[ItemTask]]:
    """Heartbeat (cancel check) and lease the next batch in one transaction, if the run is ours."""
    now = utcnow()
    with rt.session() as session:
        state = heartbeat(session, run.job_id, run.worker, run.attempt, now=now,
                          lease_seconds=rt.settings.lease_seconds)
        if state != OK:
            log.info("job %s attempt %d: %s before the next batch", run.job_id, run.attempt, state)
            return state, []
        return OK, claim_batch(session, run.job_id, run.worker, size=run.batch_size,
                               lease_seconds=rt.settings.lease_seconds, now=now)


def beat(rt: Runtime, run: Run, current_round: int | None = None) -> str:
    """Heartbeat: renew leases, publish the round; OK, CANCEL or LOST."""
    with rt.session() as session:
        state = heartbeat(session, run.job_id, run.worker, run.attempt, now=utcnow(),
                          lease_seconds=rt.settings.lease_seconds, current_round=current_round)
    if state != OK:
        log.info("job %s attempt %d: %s at round %s", run.job_id, run.attempt, state, current_round)
    return state


def run_step(rt: Runtime, run: Run, batch: list[ItemTask]) -> BatchOutcome:
    """Generate a batch; if the model rejects it (ValueError), run its items one by one."""
    try:
        return _generate(rt, run, batch)
    except ValueError as exc:
        if len(batch) == 1:
            log.warning("job %s attempt %d: item %d rejected: %s", run.job_id, run.attempt,
                        batch[0].index, exc)
            return BatchOutcome(failures=[ItemFailure(batch[0].id, "invalid_input", str(exc))])
        log.warning("job %s attempt %d: batch at item %d rejected (%s); running its items alone",
                    run.job_id, run.attempt, batch[0].index, exc)
    merged = BatchOutcome()
    for item in batch:
        part = run_step(rt, run, [item])
        merged.results.update(part.results)
        merged.failures.extend(part.failures)
        merged.model_ms += part.model_ms
        if part.stop:
            merged.stop = part.stop
            break
    return merged


def _generate(rt: Runtime, run: Run, batch: list[ItemTask]) -> BatchOutcome:
    tracks = [_Track() for _ in batch]
    outcome = BatchOutcome()
    steps = run.model.generate([i.prompt for i in batch], [i.seed for i in batch],
                               rounds=run.rounds, early_exit=run.early_exit)
    try:
        while True:
            started = time.perf_counter()
            step = next(steps, None)
            outcome.model_ms += (time.perf_counter() - started) * 1000
            if step is None:
                break
            _absorb(tracks, step)
            state = beat(rt, run, current_round=step.round)
            if state != OK:
                outcome.stop = state
                break
    finally:
        getattr(steps, "close", lambda: None)()
    # A stopped batch keeps the items that had already exited; the generator's end finishes all.
    outcome.results = {item.id: t for item, t in zip(batch, tracks) if t.done or not outcome.stop}
    return outcome


def _absorb(tracks: list[_Track], step: Any) -> None:
    """Take one round's outputs for every item that had not exited early."""
    for i, track in enumerate(tracks):
        if track.done:
            continue
        track.image = step.images[i]
        track.texts.append(str(step.control_texts[i]).replace("\x00", ""))  # PostgreSQL text
        track.agreements.append(float(step.agreement[i]))
        track.done = bool(step.done[i])


def record_step(rt: Runtime, run: Run, batch: list[ItemTask], outcome: BatchOutcome) -> None:
    """Write the batch's PNGs, then its item rows and the job's progress in one commit."""
    per_item_ms = outcome.model_ms / max(1, len(batch))
    results = []
    for item_id, track in outcome.results.items():
        path, sha = save_png(rt.storage_dir, track.image)
        results.append(ItemResult(item_id, path, sha, track.texts, track.agreements,
                                  rounds_run=len(track.texts), compute_ms=per_item_ms))
    with rt.session() as session:
        written = record_results(session, run.job_id, run.worker, results, outcome.failures,
                                 utcnow())
        progress = update_progress(session, run.job_id)
    expected = len(results) + len(outcome.failures)
    if written != expected:
        log.warning("job %s attempt %d: recorded %d of %d items (leases lost)", run.job_id,
                    run.attempt, written, expected)
    log.info("job %s attempt %d: %d/%d items done (%d failed), batch %.0f ms in the model",
             run.job_id, run.attempt, progress.done, progress.total, progress.failed,
             outcome.model_ms)
    if run.publish is not None:
        run.publish(run.job_id, progress)


def finish_step(rt: Runtime, run: Run, stop: str) -> str:
    """Set the job's final status (or leave it to whoever holds it now, if the run was lost)."""
    if stop == LOST:
        log.warning("job %s attempt %d: run lost to another worker; stopping", run.job_id,
                    run.attempt)
        return LOST
    faults.pause_before_finalize(run.job_id)  # chaos tests only (RELIABILITY.md case 9)
    with rt.session() as session:
        status = finalize_job(session, run.job_id, run.worker, run.attempt, utcnow(),
                              canceled=stop == CANCEL)
        progress = update_progress(session, run.job_id)
    log.info("job %s attempt %d: finished %s, %d/%d items done (%d failed)", run.job_id,
             run.attempt, status, progress.done, progress.total, progress.failed)
    if run.publish is not None:
        run.publish(run.job_id, progress)
    return status or LOST


def error_code_for(exc: BaseException) -> str:
    """How a run handed back on `exc` is recorded: out of memory (host, or torch's CUDA
    OutOfMemoryError, matched by name so the engine needs no torch), or a worker error."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return OUT_OF_MEMORY
    return WORKER_ERROR


def release_step(rt: Runtime, claim: JobClaim, worker: str, exc: BaseException, *,
                 count_attempt: bool) -> None:
    """After an error: hand the run and its leased items back to the queue (best effort)."""
    job_id, attempt = claim.job.id, claim.attempt
    reason = f"attempt {attempt} stopped on {type(exc).__name__}; the job will be retried"
    try:
        with rt.session() as session:
            released = release_run(session, job_id, worker, attempt, utcnow(),
                                   count_attempt=count_attempt, reason=reason,
                                   code=error_code_for(exc))
        log.warning("job %s attempt %d: %s (run released: %s)", job_id, attempt, reason, released)
    except Exception:  # noqa: BLE001 - the original error matters more; the lease expires anyway
        log.exception("job %s attempt %d: could not release the run", job_id, attempt)
