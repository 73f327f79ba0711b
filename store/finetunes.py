"""Fine-tune jobs in the store: create one, read it, record its progress, find its result.

A fine-tune is a job of kind "finetune" with no items: its parameters (dataset, base model,
steps, learning rate, the new model's name) are in `params`, the base version it trains from in
`model_version`, and what it is doing (phase, step, loss, last checkpoint, metrics, the version
it registered) in `progress`. Claims, heartbeats, cancel and the final status are the same
compare-and-set functions as for generate jobs (store.runs, store.jobs). The model it made is the
models row whose `created_by_job_id` is the job's id.

Store functions take a `session`; the caller owns the transaction. Knows nothing of HTTP, Celery,
files or the model.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.jobs import ACTIVE_JOB_STATUSES, IdempotencyInProgress, IdempotencyMismatch
from store.jobs import _job_for_key  # the one idempotency-key lookup, expiry included
from store.models import Job, JobKind, JobStatus, ModelVersion

FINETUNE = JobKind.FINETUNE.value


def create_finetune_job(
    session: Session, *, tenant_id: str, params: dict[str, Any], base_version: str | None,
    priority: int = 5, idempotency_key: str | None = None, request_hash: str | None = None,
    idempotency_ttl: dt.timedelta | None = None,
) -> tuple[Job, bool]:
    """Insert a queued fine-tune job, or return the one an idempotent replay refers to.

    Returns (job, created); raises IdempotencyMismatch / IdempotencyInProgress like create_job.
    """
    if idempotency_key is not None:
        existing = _job_for_key(session, tenant_id, idempotency_key, idempotency_ttl)
        if existing is not None:
            if existing.request_hash != request_hash:
                raise IdempotencyMismatch(idempotency_key, existing.id)
            return existing, False
    job = Job(tenant_id=tenant_id, kind=FINETUNE, status=JobStatus.QUEUED.value, params=params,
              model_version=base_version, priority=priority, idempotency_key=idempotency_key,
              request_hash=request_hash, total_items=0,
              progress={"phase": "queued", "step": 0, "steps": params.get("steps", 0)})
    try:
        with session.begin_nested():
            session.add(job)
            session.flush()
    except IntegrityError as exc:
        if idempotency_key is None:
            raise
        raise IdempotencyInProgress(idempotency_key) from exc
    return job, True


def get_finetune(session: Session, job_id: str, tenant_id: str) -> Job | None:
    """The tenant's fine-tune job; None for other tenants' jobs and for generate jobs."""
    return session.scalars(select(Job).where(
        Job.id == job_id, Job.tenant_id == tenant_id, Job.kind == FINETUNE)).first()


def list_finetunes(session: Session, tenant_id: str, *, limit: int = 50,
                   offset: int = 0) -> tuple[list[Job], int]:
    """One page of the tenant's fine-tunes, newest first, and how many there are."""
    where = and_(Job.tenant_id == tenant_id, Job.kind == FINETUNE)
    total = session.scalar(select(func.count()).select_from(Job).where(where)) or 0
    page = session.scalars(select(Job).where(where)
                           .order_by(Job.created_at.desc(), Job.id.desc())
                           .limit(limit).offset(offset))
    return list(page), total


def active_finetunes(session: Session, tenant_id: str) -> int:
    """How many of the tenant's fine-tunes are queued or running: what its quota counts."""
    return session.scalar(select(func.count()).select_from(Job).where(
        Job.tenant_id == tenant_id, Job.kind == FINETUNE,
        Job.status.in_(ACTIVE_JOB_STATUSES))) or 0


def set_progress(session: Session, job_id: str, worker: str, attempt: int,
                 progress: dict[str, Any], now: dt.datetime) -> bool:
    """Replace the job's progress, only while this worker's attempt holds the run."""
    owned = and_(Job.id == job_id, Job.status == JobStatus.RUNNING.value, Job.worker == worker,
                 Job.attempt == attempt)
    result = session.execute(update(Job).where(owned).values(progress=progress, updated_at=now)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def read_progress(session: Session, job_id: str) -> dict[str, Any]:
    """The job's progress as last written (an earlier attempt's, when a run resumes)."""
    return dict(session.scalar(select(Job.progress).where(Job.id == job_id)) or {})


def model_made_by(session: Session, job_id: str) -> ModelVersion | None:
    """The model version a fine-tune job registered, if it got that far."""
    return session.scalars(select(ModelVersion).where(ModelVersion.created_by_job_id == job_id)
                           .order_by(ModelVersion.id)).first()
