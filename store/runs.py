"""A job's run, seen from the worker and the sweeper: claim, heartbeat, finalize, re-dispatch.

Every status change is a compare-and-set on (status, attempt[, worker]), so duplicate deliveries,
a sweeper and a slow worker can race without two runs owning one job:

- `claim_job` starts a delivery: `queued` -> `running` with attempt+1, or takes over a `running`
  job whose run lease expired (no heartbeat for `lease_seconds` and no live item lease). The same
  worker process resuming its own run (a retry) keeps the attempt. Past `max_attempts` the job
  fails with `worker_crashed` instead: a job that keeps killing workers is not redelivered forever
  (`out_of_memory` when its last run was handed back on an out-of-memory error).
- `heartbeat` (every round) renews the run and item leases and reports a cancel request or a lost
  run.
- `finalize_job` sets succeeded / partial / failed / canceled once, from the item counts.
- The sweeper's queries find queued jobs whose message seems lost and running jobs whose lease
  expired.

Store functions take a `session`; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, bindparam, func, select, tuple_, update
from sqlalchemy.orm import Session

from store.items import (
    FAILED, PENDING, RUNNING, SUCCEEDED, cancel_unfinished, fail_unfinished,
    item_counts, item_counts_of, release_items, release_orphans, renew_leases, update_progress,
)
from store.models import TERMINAL_JOB_STATUSES, Item, Job, JobStatus

JOB_QUEUED = JobStatus.QUEUED.value
JOB_RUNNING = JobStatus.RUNNING.value



class ClaimOutcome(enum.StrEnum):
    """What `claim_job` found."""

    CLAIMED = "claimed"  # a new attempt starts
    RESUMED = "resumed"  # this worker process continues its own run (a retry)
    MISSING = "missing"  # no such job
    TERMINAL = "terminal"  # already finished: a duplicate or late delivery, nothing to do
    BUSY = "busy"  # another live worker holds the run, or it won a race
    CRASHED = "crashed"  # attempts used up: the job is now failed with worker_crashed
    CANCELED = "canceled"  # cancel was requested before the run began


class Beat(enum.StrEnum):
    """A heartbeat's answer about one run."""

    OK = "ok"
    CANCEL = "cancel"  # stop at this boundary; the job ends canceled
    LOST = "lost"  # the run is no longer ours: stop without writing


CLAIMED, RESUMED, MISSING, TERMINAL, BUSY, CRASHED = (
    ClaimOutcome.CLAIMED, ClaimOutcome.RESUMED, ClaimOutcome.MISSING, ClaimOutcome.TERMINAL,
    ClaimOutcome.BUSY, ClaimOutcome.CRASHED)
CANCELED_AT_CLAIM = ClaimOutcome.CANCELED
OK, CANCEL, LOST = Beat.OK, Beat.CANCEL, Beat.LOST

# error codes of a run handed back on an error (release_run), kept on the job until the next run
WORKER_ERROR = "worker_error"
OUT_OF_MEMORY = "out_of_memory"  # host MemoryError or CUDA OOM: the job fails with it at the cap


@dataclass(frozen=True)
class JobSpec:
    """What the worker needs to run a job; detached from the session."""

    id: str
    tenant_id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    model_ref: str | None = None
    total_items: int = 0
    model_version: str | None = None  # the version it is pinned to, if any


@dataclass(frozen=True)
class JobClaim:
    outcome: ClaimOutcome
    attempt: int = 0
    job: JobSpec | None = None

    @property
    def runnable(self) -> bool:
        return self.outcome in (CLAIMED, RESUMED)


@dataclass(frozen=True)
class JobRef:
    """A job the sweeper acts on."""

    id: str
    kind: str
    priority: int
    attempt: int


def _spec(job: Any) -> JobSpec:  # a row of _CLAIM_READ
    ref = job.model_version or (job.params or {}).get("model")
    return JobSpec(id=job.id, tenant_id=job.tenant_id, kind=job.kind, params=dict(job.params or {}),
                   model_ref=ref, total_items=job.total_items, model_version=job.model_version)


def _run_expired(now: dt.datetime, lease_seconds: float):  # noqa: ANN202 - a SQL clause
    """A running job with no heartbeat for `lease_seconds` and no item whose lease is still live."""
    live_item = (
        select(Item.id)
        .where(Item.job_id == Job.id, Item.status == RUNNING, Item.lease_expires_at > now)
        .exists()
    )
    cutoff = now - dt.timedelta(seconds=lease_seconds)
    return and_(Job.status == JOB_RUNNING, Job.updated_at < cutoff, ~live_item)


def _owned(job_id: str, worker: str, attempt: int):  # noqa: ANN202 - a SQL clause
    return and_(Job.id == job_id, Job.status == JOB_RUNNING, Job.worker == worker,
                Job.attempt == attempt)


def _cas(session: Session, where: Any, **values: Any) -> bool:
    result = session.execute(
        update(Job).where(where).values(**values).execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def claim_job(session: Session, job_id: str, worker: str, *, max_attempts: int,
              lease_seconds: float, now: dt.datetime) -> JobClaim:
    """Start (or resume) this delivery's run of the job; see the module docstring for the rules."""
    job = session.execute(_CLAIM_READ, {"b_id": job_id}).first()
    if job is None:
        return JobClaim(MISSING)
    if job.status in TERMINAL_JOB_STATUSES:
        return JobClaim(TERMINAL, job.attempt)
    resume = job.status == JOB_RUNNING and job.worker == worker
    if job.status == JOB_RUNNING and not resume and not _expired(session, job_id, now, lease_seconds):
        return JobClaim(BUSY, job.attempt)
    if job.cancel_requested:
        return _cancel_at_claim(session, job, now)
    if not resume and job.attempt >= max_attempts:
        code, message = _gave_up(job.error_code, job.attempt)
        failed = fail_job(session, job_id, code, message, now, attempt=job.attempt)
        return JobClaim(CRASHED if failed else BUSY, job.attempt)
    attempt = job.attempt if resume else job.attempt + 1
    same = and_(Job.id == job_id, Job.status == job.status, Job.attempt == job.attempt)
    if not _cas(session, same, status=JOB_RUNNING, attempt=attempt, worker=worker,
                started_at=func.coalesce(Job.started_at, now), updated_at=now):
        return JobClaim(BUSY, job.attempt)
    release_orphans(session, job_id, max_attempts=max_attempts, now=now)
    return JobClaim(RESUMED if resume else CLAIMED, attempt, _spec(job))


def _expired(session: Session, job_id: str, now: dt.datetime, lease_seconds: float) -> bool:
    query = select(Job.id).where(Job.id == job_id, _run_expired(now, lease_seconds))
    return session.scalar(query) is not None


def _crashed_message(attempts: int) -> str:
    return f"the job's worker died or lost its lease on each of {attempts} attempts"


def _gave_up(last_code: str | None, attempts: int) -> tuple[str, str]:
    """(error code, message) of a job that used up its attempts."""
    if last_code == OUT_OF_MEMORY:
        return OUT_OF_MEMORY, f"the job ran out of memory on each of {attempts} attempts"
    return "worker_crashed", _crashed_message(attempts)


def _cancel_at_claim(session: Session, job: Any, now: dt.datetime) -> JobClaim:
    same = and_(Job.id == job.id, Job.status == job.status, Job.attempt == job.attempt)
    if not _cas(session, same, status=JobStatus.CANCELED.value, finished_at=now,
                updated_at=now):
        return JobClaim(BUSY, job.attempt)
    cancel_unfinished(session, job.id, now)
    update_progress(session, job.id)
    return JobClaim(CANCELED_AT_CLAIM, job.attempt)


def heartbeat(session: Session, job_id: str, worker: str, attempt: int, *, lease_seconds: float,
              now: dt.datetime, current_round: int | None = None) -> Beat:
    """Renew the run and its item leases; OK, CANCEL (stop at this boundary) or LOST (stop, no writes)."""
    values: dict[str, Any] = {"updated_at": now}
    if current_round is not None:
        values["current_round"] = current_round
    if not _cas(session, _owned(job_id, worker, attempt), **values):
        return LOST
    renew_leases(session, job_id, worker, lease_seconds=lease_seconds, now=now)
    cancel = session.scalar(select(Job.cancel_requested).where(Job.id == job_id))
    return CANCEL if cancel else OK


def release_run(session: Session, job_id: str, worker: str, attempt: int, now: dt.datetime, *,
                count_attempt: bool, reason: str, code: str = WORKER_ERROR) -> bool:
    """Hand a run that stopped on an error back to the queue, with its leased items.

    The next delivery claims it at once (or the sweeper re-sends it after stale_queued_seconds).
    A transient error (`count_attempt=False`) gives the attempt back, so outages do not use up
    max_attempts; an unexpected error keeps it, so a job that keeps failing ends as worker_crashed
    (or with `code`, if that is OUT_OF_MEMORY).
    """
    if not _cas(session, _owned(job_id, worker, attempt), status=JOB_QUEUED, dispatched_at=now,
                attempt=attempt if count_attempt else attempt - 1, error_code=code,
                error=reason, updated_at=now):
        return False
    release_items(session, job_id, worker)
    return True


def lock_job(session: Session, job_id: str) -> None:
    """Hold the job row's lock until the transaction ends (PostgreSQL; on SQLite, BEGIN
    IMMEDIATE already holds the whole database). A transaction that writes a job's items and
    then its row takes this first, because a heartbeat of the job locks the row, then the items:
    taken the other way round, the two would deadlock."""
    session.execute(_LOCK_JOB, {"b_id": job_id})


def set_model_version(session: Session, job_id: str, version: str) -> None:
    """Pin the job to the model version it runs with, so a resumed run uses the same weights."""
    session.execute(
        update(Job).where(Job.id == job_id).values(model_version=version)
        .execution_options(synchronize_session=False)
    )


def finalize_job(session: Session, job_id: str, worker: str, attempt: int, now: dt.datetime, *,
                 canceled: bool = False) -> str | None:
    """Set the final status from the item counts; None if items are left or the run is not ours."""
    counts = item_counts(session, job_id)
    if not canceled and counts[PENDING] + counts[RUNNING] > 0:
        return None
    final = _final(counts, canceled)
    if not _cas(session, _owned(job_id, worker, attempt), **final, finished_at=now,
                updated_at=now):
        return None
    if canceled:
        cancel_unfinished(session, job_id, now)
    return final["status"]


def finalize_jobs(session: Session, held: Mapping[str, int], worker: str,
                  now: dt.datetime) -> dict[str, str]:
    """`finalize_job` (not canceled) for every job in `held` (job id -> attempt) in two round
    trips, one count and one update for all of them (a batch of 31 riders would otherwise cost
    62); job id -> final status of each job finalized. A job with items left, or whose run is
    no longer this worker's, is left as it was and absent from the answer."""
    counts = item_counts_of(session, held)
    rows = [{"b_id": job_id, "b_attempt": held[job_id], "b_worker": worker, "b_now": now,
             **{f"b_{key}": value for key, value in _final(c, False).items()}}
            for job_id, c in counts.items() if c[PENDING] + c[RUNNING] == 0]
    if not rows:
        return {}
    expected = {row["b_id"]: row["b_status"] for row in rows}
    if session.execute(_FINALIZE, rows).rowcount == len(rows):
        return expected
    # Some run was lost meanwhile (rare): the jobs this worker's attempt finalized are those it
    # still holds in the status it set.
    found = session.execute(select(Job.id, Job.status).where(
        Job.id.in_(list(expected)), Job.worker == worker,
        tuple_(Job.id, Job.attempt).in_(list(held.items()))))
    return {job_id: status for job_id, status in found if expected[job_id] == status}


def _final(counts: dict[str, int], canceled: bool) -> dict[str, Any]:
    """The final columns of a job with these item counts (not its times)."""
    status, code, message = _outcome(counts, canceled)
    return {"status": status, "error_code": code, "error": message,
            "done_items": counts[SUCCEEDED] + counts[FAILED], "failed_items": counts[FAILED]}


def _outcome(counts: dict[str, int], canceled: bool) -> tuple[str, str | None, str | None]:
    total = sum(counts.values())
    if canceled:
        return JobStatus.CANCELED.value, None, None
    if counts[FAILED] == 0:
        return JobStatus.SUCCEEDED.value, None, None
    message = f"{counts[FAILED]} of {total} items failed"
    if counts[SUCCEEDED] == 0:
        return JobStatus.FAILED.value, "items_failed", message
    return JobStatus.PARTIAL.value, "items_failed", message


def fail_job(session: Session, job_id: str, code: str, message: str, now: dt.datetime, *,
             attempt: int | None = None) -> bool:
    """Fail a queued or running job (optionally only at `attempt`); unfinished items fail too."""
    where = and_(Job.id == job_id, Job.status.in_([JOB_QUEUED, JOB_RUNNING]))
    if attempt is not None:
        where = and_(where, Job.attempt == attempt)
    if not _cas(session, where, status=JobStatus.FAILED.value, error_code=code, error=message,
                finished_at=now, updated_at=now):
        return False
    fail_unfinished(session, job_id, code, message, now)
    update_progress(session, job_id)
    return True


def _refs(session: Session, where: Any, limit: int) -> list[JobRef]:
    rows = session.execute(
        select(Job.id, Job.kind, Job.priority, Job.attempt).where(where)
        .order_by(Job.created_at).limit(limit)
    )
    return [JobRef(id=r.id, kind=r.kind, priority=r.priority, attempt=r.attempt) for r in rows]


def _queued_stale(now: dt.datetime, older_than_seconds: float):  # noqa: ANN202 - a SQL clause
    cutoff = now - dt.timedelta(seconds=older_than_seconds)
    return and_(Job.status == JOB_QUEUED,
                func.coalesce(Job.dispatched_at, Job.created_at) < cutoff)


def stale_queued_jobs(session: Session, now: dt.datetime, older_than_seconds: float, *,
                      limit: int = 100) -> list[JobRef]:
    """Queued jobs last dispatched (or created) more than `older_than_seconds` ago."""
    return _refs(session, _queued_stale(now, older_than_seconds), limit)


def mark_dispatched(session: Session, job_id: str, now: dt.datetime,
                    older_than_seconds: float) -> bool:
    """Claim the right to re-send a stale queued job (compare-and-set on its dispatch time)."""
    where = and_(Job.id == job_id, _queued_stale(now, older_than_seconds))
    return _cas(session, where, dispatched_at=now)


def expired_running_jobs(session: Session, now: dt.datetime, lease_seconds: float, *,
                         limit: int = 100) -> list[JobRef]:
    """Running jobs whose run lease expired: their worker died or lost its message."""
    return _refs(session, _run_expired(now, lease_seconds), limit)


def requeue_job(session: Session, ref: JobRef, now: dt.datetime, *, lease_seconds: float,
                max_attempts: int) -> str:
    """Put an expired run back to queued ("requeued"), or fail it after max_attempts ("failed").

    Returns "skipped" if the job changed since `ref` was read. The caller commits, then sends.
    """
    return _requeue(session, ref, now, _run_expired(now, lease_seconds), max_attempts)


def running_jobs_with_owner(session: Session, now: dt.datetime, quiet_seconds: float, *,
                            limit: int = 500) -> list[tuple[JobRef, str]]:
    """Running jobs with no run heartbeat for `quiet_seconds`, and the worker that holds each
    (the sweeper asks whether it still lives)."""
    cutoff = now - dt.timedelta(seconds=quiet_seconds)
    rows = session.execute(
        select(Job.id, Job.kind, Job.priority, Job.attempt, Job.worker)
        .where(Job.status == JOB_RUNNING, Job.worker.is_not(None), Job.updated_at < cutoff)
        .order_by(Job.created_at).limit(limit))
    return [(JobRef(id=r.id, kind=r.kind, priority=r.priority, attempt=r.attempt), r.worker)
            for r in rows]


def requeue_from_dead_owner(session: Session, ref: JobRef, owner: str, now: dt.datetime, *,
                            max_attempts: int) -> str:
    """`requeue_job` for a run whose owner is known dead, without waiting for its lease: only
    while `owner` still holds the same attempt (a run claimed anew since is left alone)."""
    return _requeue(session, ref, now, and_(Job.status == JOB_RUNNING, Job.worker == owner),
                    max_attempts)


def _requeue(session: Session, ref: JobRef, now: dt.datetime, still_orphaned: Any,
             max_attempts: int) -> str:
    if ref.attempt >= max_attempts:
        failed = fail_job(session, ref.id, "worker_crashed", _crashed_message(ref.attempt), now,
                          attempt=ref.attempt)
        return "failed" if failed else "skipped"
    where = and_(Job.id == ref.id, Job.attempt == ref.attempt, still_orphaned)
    if not _cas(session, where, status=JOB_QUEUED, dispatched_at=now, updated_at=now):
        return "skipped"
    release_orphans(session, ref.id, max_attempts=max_attempts, now=now)
    return "requeued"


_JOBS = Job.__table__
_LOCK_JOB = select(_JOBS.c.id).where(_JOBS.c.id == bindparam("b_id")).with_for_update()
# Built once (Core): what a claim reads of its job. Every delivery reads it, most of them (those
# of jobs that rode in another run's batch) nothing else.
_CLAIM_READ = (
    select(_JOBS.c.id, _JOBS.c.tenant_id, _JOBS.c.kind, _JOBS.c.status, _JOBS.c.params,
           _JOBS.c.model_version, _JOBS.c.total_items, _JOBS.c.worker, _JOBS.c.attempt,
           _JOBS.c.cancel_requested, _JOBS.c.error_code)
    .where(_JOBS.c.id == bindparam("b_id"))
)
# Built once (see store/items.py): finalize one job of many, if this worker's attempt runs it.
_FINALIZE = (
    update(_JOBS)
    .where(_JOBS.c.id == bindparam("b_id"), _JOBS.c.status == JOB_RUNNING,
           _JOBS.c.worker == bindparam("b_worker"), _JOBS.c.attempt == bindparam("b_attempt"))
    .values(status=bindparam("b_status"), error_code=bindparam("b_error_code"),
            error=bindparam("b_error"), done_items=bindparam("b_done_items"),
            failed_items=bindparam("b_failed_items"), finished_at=bindparam("b_now"),
            updated_at=bindparam("b_now"))
)
