"""API-side store functions for jobs and items: create, read, list, cancel, mark dispatched.

Every function takes a `session`; the caller owns the transaction and commits. A job and all its
items are inserted together, so a job is never half-written. The `Idempotency-Key` of a request
is stored on the job, and the unique (tenant, key) constraint decides between concurrent
duplicates. Status changes are compare-and-set, so a cancel racing with a worker never loses
either side's write. This module knows nothing of HTTP, Celery or the model.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from store.db import relax_commit
from store.items import update_progress
from store.models import Item, ItemStatus, Job, JobKind, JobStatus, utcnow


@dataclass(frozen=True)
class NewItem:
    """One prompt and seed of a job to be created."""

    prompt: str
    seed: int


class IdempotencyMismatch(Exception):
    """The Idempotency-Key was used before by this tenant for a different request."""

    def __init__(self, key: str, job_id: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} was used for job {job_id} with another body")
        self.key, self.job_id = key, job_id


class IdempotencyInProgress(Exception):
    """Another request with the same Idempotency-Key committed its job while this one ran."""

    def __init__(self, key: str) -> None:
        super().__init__(f"Idempotency-Key {key!r} is being used by a concurrent request")
        self.key = key


class CancelOutcome(str, enum.Enum):
    CANCELED = "canceled"  # it was queued: canceled at once, with its unfinished items
    REQUESTED = "requested"  # it is running: the worker stops at the next round or batch
    ALREADY_CANCELED = "already_canceled"  # nothing to do
    FINISHED = "finished"  # succeeded, failed or partial: too late to cancel


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive datetimes; every timestamp in the store is UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value


def create_job(
    session: Session,
    *,
    tenant_id: str,
    items: Sequence[NewItem],
    params: dict[str, Any],
    priority: int = 5,
    kind: str = JobKind.GENERATE.value,
    model_version: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str | None = None,
    idempotency_ttl: dt.timedelta | None = None,
) -> tuple[Job, bool]:
    """Insert a queued job with its items, or return the job an idempotent replay refers to.

    Returns (job, created). Raises IdempotencyMismatch when the key was used with another
    request hash, IdempotencyInProgress when a concurrent request won the key.
    """
    if not items:
        raise ValueError("a job needs at least one item")
    if idempotency_key is not None:
        existing = _job_for_key(session, tenant_id, idempotency_key, idempotency_ttl)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyMismatch(idempotency_key, existing.id)
            return existing, False
    row = _job_row(
        tenant_id=tenant_id, kind=kind, status=JobStatus.QUEUED.value, params=params,
        model_version=model_version, priority=priority, idempotency_key=idempotency_key,
        request_hash=request_hash, total_items=len(items),
    )
    if idempotency_key is None:
        return _insert(session, row, items), True
    try:  # a savepoint, so that losing the key to a concurrent request leaves the session usable
        with session.begin_nested():
            job = _insert(session, row, items)
    except IntegrityError as exc:
        raise IdempotencyInProgress(idempotency_key) from exc
    return job, True


_JOBS, _ITEMS = Job.__table__, Item.__table__
_INSERT_JOB, _INSERT_ITEMS = insert(_JOBS), insert(_ITEMS)
_JOB_DEFAULTS = [(c.key, c.default) for c in _JOBS.columns if c.default is not None]


def _job_row(**values: Any) -> dict[str, Any]:
    """Every column of a new job row: `values`, and the model's default for each other one."""
    now = utcnow()
    row = {"created_at": now, "updated_at": now}
    for key, default in _JOB_DEFAULTS:
        if key not in values and key not in row:
            row[key] = default.arg(None) if default.is_callable else default.arg
    row.update(values)
    return row


def _insert(session: Session, row: dict[str, Any], items: Sequence[NewItem]) -> Job:
    """The job row, then all its items in one executemany, as Core statements (no unit of work
    flush, the bulk of a submission's CPU time otherwise); returns the job as a persistent
    object of the session, all its attributes loaded."""
    session.execute(_INSERT_JOB, row)
    session.execute(_INSERT_ITEMS, _item_rows(row["id"], row["created_at"], items))
    job = Job(**row)
    make_transient_to_detached(job)
    session.add(job)
    return job


def _item_rows(job_id: str, now: dt.datetime, items: Sequence[NewItem]) -> list[dict[str, Any]]:
    return [
        {"job_id": job_id, "index": i, "prompt": item.prompt, "seed": item.seed,
         "status": ItemStatus.PENDING.value, "control_texts": [], "agreements": [],
         "created_at": now, "updated_at": now}
        for i, item in enumerate(items)
    ]


def _job_for_key(
    session: Session, tenant_id: str, key: str, ttl: dt.timedelta | None
) -> Job | None:
    """The live job holding `key` for this tenant; an expired holder gives the key up."""
    job = session.scalars(
        select(Job).where(Job.tenant_id == tenant_id, Job.idempotency_key == key)
    ).first()
    if job is not None and ttl is not None and as_utc(job.created_at) < utcnow() - ttl:
        job.idempotency_key = None
        session.flush()
        return None
    return job


def get_job(session: Session, job_id: str, tenant_id: str) -> Job | None:
    """The job if it exists and belongs to `tenant_id`; another tenant's job is None."""
    return session.scalars(select(Job).where(Job.id == job_id, Job.tenant_id == tenant_id)).first()


def list_jobs(
    session: Session, tenant_id: str, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[Job], int]:
    """One page of the tenant's jobs, newest first, and how many match in all."""
    where = [Job.tenant_id == tenant_id]
    if status is not None:
        where.append(Job.status == status)
    total = session.scalar(select(func.count()).select_from(Job).where(*where)) or 0
    page = session.scalars(
        select(Job).where(*where).order_by(Job.created_at.desc(), Job.id.desc())
        .limit(limit).offset(offset)
    )
    return list(page), total


def list_items(session: Session, job_id: str, *, limit: int = 50, offset: int = 0) -> list[Item]:
    """One page of a job's items in index order (the caller has checked the tenant)."""
    return list(session.scalars(
        select(Item).where(Item.job_id == job_id).order_by(Item.index).limit(limit).offset(offset)
    ))


def get_item(session: Session, job_id: str, index: int) -> Item | None:
    return session.scalars(select(Item).where(Item.job_id == job_id, Item.index == index)).first()


def request_cancel(session: Session, job: Job) -> CancelOutcome:
    """Cancel `job`: at once if still queued, cooperatively if running; refreshes `job`."""
    now = utcnow()
    if _set_where(session, job.id, JobStatus.QUEUED, status=JobStatus.CANCELED.value,
                  cancel_requested=True, finished_at=now, updated_at=now):
        _cancel_unfinished_items(session, job.id, now)
        update_progress(session, job.id)  # a run handed back may have finished some items
        outcome = CancelOutcome.CANCELED
    elif _set_where(session, job.id, JobStatus.RUNNING, cancel_requested=True, updated_at=now):
        outcome = CancelOutcome.REQUESTED
    else:
        session.refresh(job)
        canceled = job.status == JobStatus.CANCELED.value
        return CancelOutcome.ALREADY_CANCELED if canceled else CancelOutcome.FINISHED
    session.refresh(job)
    return outcome


def _set_where(session: Session, job_id: str, expected: JobStatus, **values: Any) -> bool:
    """Compare-and-set: update the job only if its status is still `expected`."""
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == expected.value).values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _cancel_unfinished_items(session: Session, job_id: str, now: dt.datetime) -> None:
    unfinished = (ItemStatus.PENDING.value, ItemStatus.RUNNING.value)
    session.execute(
        update(Item).where(Item.job_id == job_id, Item.status.in_(unfinished))
        .values(status=ItemStatus.CANCELED.value, finished_at=now, updated_at=now,
                lease_owner=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )


def mark_dispatched(session: Session, job_id: str) -> None:
    """Record that the job's Celery message was sent (the sweeper re-sends stale ones).

    On PostgreSQL the caller's commit of this mark does not wait for its WAL flush (this
    transaction only): lost in a database crash, the mark only makes the sweeper re-send a
    message, which claims make harmless; the job row itself was committed durably before."""
    relax_commit(session)
    session.execute(_MARK_DISPATCHED, {"b_id": job_id, "b_now": utcnow()})


# Statements every submission runs, built once and on the table (Core): building and hashing a
# statement, and setting up an ORM result, each cost more CPU than running it on PostgreSQL.
_MARK_DISPATCHED = (update(_JOBS).where(_JOBS.c.id == bindparam("b_id"))
                    .values(dispatched_at=bindparam("b_now")))
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
_ACTIVE_USAGE = (
    select(func.count(), func.coalesce(func.sum(_JOBS.c.total_items - _JOBS.c.done_items), 0))
    .where(_JOBS.c.tenant_id == bindparam("tenant_id"), _JOBS.c.status.in_(ACTIVE_JOB_STATUSES))
)


def active_usage(session: Session, tenant_id: str) -> tuple[int, int]:
    """(unfinished jobs, their unfinished items) of the tenant: what its quota counts."""
    jobs, items = session.execute(_ACTIVE_USAGE, {"tenant_id": tenant_id}).one()
    return int(jobs), int(items)
