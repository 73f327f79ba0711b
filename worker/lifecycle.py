"""The life of a run, in one place: claim, lease, heartbeat, riders, release, finish.

A delivery's run of a job (`Run`) goes through these steps, whichever loop drives it (the batch
engine, worker/engine.py; the fine-tune, worker/finetune.py):

- claim (`claim_step`): compare-and-set the job to running with a new attempt; a job that can
  never run is failed at once (`fail_claimed`);
- lease and heartbeat (`beat_run` before each batch; `beat` between rounds, once the last
  heartbeat is settings.round_beat_seconds old): renew the run of every job in the batch that
  has not stopped and read its cancel flag (`Beat`: OK, CANCEL, LOST); item leases are renewed
  every quarter lease;
- riders (`claim_riders`, `finish_riders`): whole queued jobs taken into the batch
  (worker/crossjob.py chooses them) are claimed and leased here, and finalized (or handed back
  with the items they have left) when the batch is recorded;
- release (`release_step`, `release_riders`): after an error, the run, its items and its riders
  go back to the queue, counting the attempt unless the error was transient or a cold shutdown;
- finish (`finish_step`): the job's final status from its item counts.

What a run came to is a `RunEnd`, one vocabulary for the claim's "nothing to run" answers, the
job's final statuses and a lost run. Knows the store and the model seam; nothing of Celery.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from config import Settings, faults
from kinds import ServableModel
from objects import Storage, get_storage
from store import session_scope
from store.crossjob import claim_queued_jobs, heartbeat_jobs, lease_pending_items
from store.items import ItemTask, Progress, update_progress
from store.models import utcnow
from store.runs import OUT_OF_MEMORY, WORKER_ERROR, Beat, JobClaim, claim_job, fail_job
from store.runs import finalize_job, finalize_jobs, release_run
from store.transient import TRANSIENT_ERRORS
from worker.model_cache import DEFAULT, Location, ModelCache

log = logging.getLogger(__name__)

Publish = Callable[[str, Progress], None]  # (job id, progress) -> None


class RunEnd(enum.StrEnum):
    """What one delivery's run of a job came to."""

    # The job's final status, set by this run (canceled also when cancel came before the run).
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELED = "canceled"
    # Nothing ran: the claim's answer (store.runs.ClaimOutcome).
    MISSING = "missing"
    TERMINAL = "terminal"
    BUSY = "busy"
    CRASHED = "crashed"  # out of attempts: the claim failed the job
    # The run stopped without a final status.
    LOST = "lost"  # another worker holds the job now
    HANDED_BACK = "handed_back"  # back in the queue for its own delivery (a rider with items left)


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
    # True once the worker process was asked to stop at all (warm or cold): a delivery then
    # starts no follow-on run (`run_delivery`).
    draining: Callable[[], bool] = lambda: False

    def session(self, relaxed: bool = False):  # noqa: ANN201 - a context manager of a Session
        """A transaction on the store; `relaxed`: one whose commit does not wait for its WAL
        flush (store.db.session_scope), for the heartbeats of every round and batch."""
        return session_scope(self.database_url, relaxed=relaxed)

    @functools.cached_property
    def storage(self) -> Storage:
        """The object storage the settings name (local directory or S3), built on first use."""
        return get_storage(self.settings)


@dataclass
class Rider:
    """A queued job riding in this run's batch: its attempt and the items it leased."""

    job_id: str
    attempt: int
    items: list[ItemTask] = field(default_factory=list)
    state: Beat = Beat.OK  # the last heartbeat's answer


@dataclass
class Run:
    """One delivery's run of one job."""

    job_id: str
    attempt: int
    worker: str
    model: ServableModel
    rounds: int
    early_exit: bool
    batch_size: int
    publish: Publish | None = None
    location: Location = DEFAULT  # where the model came from
    riders: list[Rider] = field(default_factory=list)  # other jobs in the batch in flight
    leased_at: float = 0.0  # time.monotonic() when the batch's item leases were last set
    beat_at: float = 0.0  # time.monotonic() of the run's last heartbeat
    batches: int = 0  # batches this run has claimed
    carried: int = 0  # riders its batches carried, in all

    def held(self) -> dict[str, int]:
        """Every job in the batch in flight -> its attempt, this run's own job first."""
        return {self.job_id: self.attempt, **{r.job_id: r.attempt for r in self.riders}}

    def owners(self, batch: list[ItemTask]) -> list[str]:
        """The job id of each item of the batch."""
        rider_of = {item.id: r.job_id for r in self.riders for item in r.items}
        return [rider_of.get(item.id, self.job_id) for item in batch]


def claim_step(rt: Runtime, job_id: str, worker: str) -> JobClaim:
    """Take the job for this delivery (compare-and-set, attempt counter)."""
    s = rt.settings
    with rt.session() as session:
        claim = claim_job(session, job_id, worker, max_attempts=s.max_attempts,
                          lease_seconds=s.lease_seconds, now=utcnow())
    log.info("job %s: claim %s, attempt %d, worker %s", job_id, claim.outcome, claim.attempt, worker)
    return claim


def nothing_to_run(job_id: str, claim: JobClaim) -> RunEnd:
    """The end of a delivery whose claim found nothing to run (finished, busy, canceled...)."""
    log.info("job %s: nothing to run (%s, attempt %d)", job_id, claim.outcome, claim.attempt)
    return RunEnd(claim.outcome)


def fail_claimed(rt: Runtime, claim: JobClaim, code: str, message: str) -> RunEnd:
    """Fail a claimed job that can never run (bad params, unknown or unusable model)."""
    log.warning("job %s attempt %d: failed %s: %s", claim.job.id, claim.attempt, code, message)
    with rt.session() as session:
        fail_job(session, claim.job.id, code, message, utcnow(), attempt=claim.attempt)
    return RunEnd.FAILED


def beat_run(session: Session, rt: Runtime, run: Run, now: dt.datetime) -> Beat:
    """Heartbeat the run's own job before its next batch (its items are leased anew then)."""
    state = heartbeat_jobs(session, {run.job_id: run.attempt}, run.worker, now=now,
                           lease_seconds=rt.settings.lease_seconds, renew_items=False)[run.job_id]
    run.beat_at = time.monotonic()
    if state != Beat.OK:
        log.info("job %s attempt %d: %s before the next batch", run.job_id, run.attempt, state)
    return state


def beat(rt: Runtime, run: Run, current_round: int | None = None,
         stopped: Sequence[str] = ()) -> dict[str, Beat]:
    """Heartbeat every job in the batch that has not stopped, publish the round; per job OK,
    CANCEL or LOST. Item leases are renewed once a quarter of their lease has passed (the run's
    own renewal every round is what keeps a live run from being taken over)."""
    held = {job: attempt for job, attempt in run.held().items() if job not in stopped}
    renew = time.monotonic() - run.leased_at >= rt.settings.lease_seconds / 4
    with rt.session(relaxed=True) as session:
        states = heartbeat_jobs(session, held, run.worker, now=utcnow(),
                                lease_seconds=rt.settings.lease_seconds,
                                current_round=current_round, renew_items=renew)
    run.beat_at = time.monotonic()
    if renew:
        run.leased_at = run.beat_at
    for job_id, state in states.items():
        if state != Beat.OK:
            log.info("job %s attempt %d: %s at round %s", job_id, held[job_id], state,
                     current_round)
    return states


def claim_riders(session: Session, rt: Runtime, run: Run, job_ids: list[str]) -> list[Rider]:
    """Claim the queued jobs `job_ids` for this run's batch and lease their pending items, in
    two statements; those another worker took first are left out."""
    now, s = utcnow(), rt.settings
    claimed = claim_queued_jobs(session, job_ids, run.worker, model_version=run.model.version,
                                max_attempts=s.max_attempts, now=now)
    items = lease_pending_items(session, claimed, run.worker, lease_seconds=s.lease_seconds,
                                now=now)
    return [Rider(job, claimed[job], items.get(job, [])) for job in job_ids if job in claimed]


def finish_riders(session: Session, run: Run, stops: dict[str, Beat]) -> None:
    """After the batch is recorded: finalize each rider (canceled if it was), which writes its
    progress; a rider with items left (it lost the lease of one) goes back to the queue for its
    own delivery."""
    now, outcomes = utcnow(), Counter[RunEnd]()
    finalized = finalize_jobs(session, {r.job_id: r.attempt for r in run.riders
                                        if stops.get(r.job_id, Beat.OK) == Beat.OK},
                              run.worker, now)
    for rider in run.riders:
        state = stops.get(rider.job_id, Beat.OK)
        if state == Beat.LOST:
            outcomes[RunEnd.LOST] += 1
            continue
        status = (finalize_job(session, rider.job_id, run.worker, rider.attempt, now,
                               canceled=True) if state == Beat.CANCEL
                  else finalized.get(rider.job_id))
        if status is None:
            released = release_run(session, rider.job_id, run.worker, rider.attempt, now,
                                   count_attempt=False,
                                   reason=f"rode in job {run.job_id}'s batch and had items left")
            update_progress(session, rider.job_id)
            end = RunEnd.HANDED_BACK if released else RunEnd.LOST
            log.warning("job %s attempt %d: %s after riding in job %s's batch", rider.job_id,
                        rider.attempt, end, run.job_id)
        else:
            end = RunEnd(status)
        outcomes[end] += 1
    if outcomes:
        log.info("job %s attempt %d: its riders ended %s", run.job_id, run.attempt,
                 ", ".join(f"{n} {status}" for status, n in sorted(outcomes.items())))


def finish_step(rt: Runtime, run: Run, stop: Beat) -> RunEnd:
    """Set the job's final status after its last batch (`stop` OK) or a cancel (CANCEL), or
    leave it to whoever holds it now if the run was lost (LOST)."""
    if stop == Beat.LOST:
        log.warning("job %s attempt %d: run lost to another worker; stopping", run.job_id,
                    run.attempt)
        return RunEnd.LOST
    faults.pause_before_finalize(run.job_id)  # chaos tests only (docs/reliability.md case 9)
    with rt.session() as session:
        status = finalize_job(session, run.job_id, run.worker, run.attempt, utcnow(),
                              canceled=stop == Beat.CANCEL)
        progress = update_progress(session, run.job_id)
    faults.kill_after_finalize(run.job_id)  # chaos tests only (webhooks after a final commit)
    log.info("job %s attempt %d: finished %s, %d/%d items done (%d failed)", run.job_id,
             run.attempt, status, progress.done, progress.total, progress.failed)
    if run.publish is not None:
        run.publish(run.job_id, progress)
    return ended(status)


def ended(status: str | None) -> RunEnd:
    """The run's end from the job status its finalization set (None: the run was not ours)."""
    return RunEnd.LOST if status is None else RunEnd(status)


def error_code_for(exc: BaseException) -> str:
    """How a run handed back on `exc` is recorded: out of memory (host, or torch's CUDA
    OutOfMemoryError, matched by name so the engine needs no torch), or a worker error."""
    if isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError":
        return OUT_OF_MEMORY
    return WORKER_ERROR


def counts_an_attempt(rt: Runtime, exc: BaseException, *, in_shutdown: bool) -> bool:
    """Whether a run stopped by `exc` uses up its attempt: not for a transient error (the store
    or broker was away), nor, unless `in_shutdown`, for a cold shutdown of the worker (neither
    is the job's fault)."""
    if isinstance(exc, TRANSIENT_ERRORS):
        return False
    return in_shutdown or not rt.stopping()


def release_step(rt: Runtime, claim: JobClaim, worker: str, exc: BaseException, *,
                 run: Run | None = None, count_in_shutdown: bool = False) -> None:
    """After an error: hand the run, its leased items and any riders back to the queue
    (best effort), using up the attempt as `counts_an_attempt` says."""
    count_attempt = counts_an_attempt(rt, exc, in_shutdown=count_in_shutdown)
    job_id, attempt = claim.job.id, claim.attempt
    reason = f"attempt {attempt} stopped on {type(exc).__name__}; the job will be retried"
    if run is not None:
        release_riders(rt, run, count_attempt=count_attempt, reason=reason,
                       code=error_code_for(exc))
    try:
        with rt.session() as session:
            released = release_run(session, job_id, worker, attempt, utcnow(),
                                   count_attempt=count_attempt, reason=reason,
                                   code=error_code_for(exc))
        log.warning("job %s attempt %d: %s (run released: %s)", job_id, attempt, reason, released)
    except Exception:  # noqa: BLE001 - the original error matters more; the lease expires anyway
        log.exception("job %s attempt %d: could not release the run", job_id, attempt)


def release_riders(rt: Runtime, run: Run, *, count_attempt: bool, reason: str,
                   code: str = WORKER_ERROR) -> None:
    """After an error: hand the riders still held (the batch in flight, and one whose recording
    failed) back to the queue (best effort)."""
    if not run.riders:
        return
    now = utcnow()
    try:
        with rt.session() as session:
            for rider in run.riders:
                release_run(session, rider.job_id, run.worker, rider.attempt, now,
                            count_attempt=count_attempt, reason=reason, code=code)
    except Exception:  # noqa: BLE001 - the original error matters more; the leases expire anyway
        log.exception("job %s: could not hand back its riders %s", run.job_id,
                      [r.job_id for r in run.riders])
    run.riders = []
