"""Store functions for cross-job batching: queued jobs that could ride in a worker's batch, and one
heartbeat for every job a run holds.

A worker whose batch is not full may take whole queued jobs into it (worker/crossjob.py). It
claims them with the same compare-and-set as its own job (`store.runs.claim_job`) and leases
their items with `store.items.claim_batch`, so a job or an item is never run by two workers.
These functions only find the candidates and renew many runs in one round trip.

Store functions take a `session`; the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.orm import Session

from store.items import PENDING, RUNNING
from store.models import Item, Job, JobKind, JobStatus
from store.runs import CANCEL, LOST, OK

JOB_QUEUED = JobStatus.QUEUED.value
JOB_RUNNING = JobStatus.RUNNING.value


@dataclass(frozen=True)
class Candidate:
    """A queued generate job, as far as a worker needs it to decide whether it can ride along."""

    id: str
    tenant_id: str
    priority: int
    pending: int  # items still pending
    params: dict[str, Any] = field(default_factory=dict)
    model_ref: str | None = None  # pinned version, else params["model"], else None (default)


def queued_candidates(session: Session, *, exclude: Collection[str], max_pending: int,
                      limit: int) -> list[Candidate]:
    """Queued generate jobs with 1..`max_pending` pending items and no cancel request, highest
    priority first, then oldest; at most `limit`, none of the ids in `exclude`."""
    pending = (
        select(func.count(Item.id))
        .where(Item.job_id == Job.id, Item.status == PENDING)
        .correlate(Job)
        .scalar_subquery()
    )
    query = (
        select(Job.id, Job.tenant_id, Job.priority, Job.params, Job.model_version,
               pending.label("pending"))
        .where(Job.kind == JobKind.GENERATE.value, Job.status == JOB_QUEUED,
               Job.cancel_requested.is_(False), Job.total_items - Job.done_items <= max_pending)
        .order_by(Job.priority.desc(), Job.created_at, Job.id)
        .limit(limit)
    )
    if exclude:
        query = query.where(Job.id.not_in(list(exclude)))
    out = []
    for row in session.execute(query):
        params = dict(row.params or {})
        if 1 <= row.pending <= max_pending:
            out.append(Candidate(row.id, row.tenant_id, row.priority, row.pending, params,
                                 row.model_version or params.get("model")))
    return out


def heartbeat_jobs(session: Session, held: Mapping[str, int], worker: str, *,
                   lease_seconds: float, now: dt.datetime,
                   current_round: int | None = None) -> dict[str, str]:
    """`store.runs.heartbeat` for every job in `held` (job id -> attempt) in three statements:
    renew each run this worker still owns and its item leases; per job OK, CANCEL or LOST."""
    if not held:
        return {}
    values: dict[str, Any] = {"updated_at": now}
    if current_round is not None:
        values["current_round"] = current_round
    session.execute(
        update(Job)
        .where(tuple_(Job.id, Job.attempt).in_(list(held.items())), Job.status == JOB_RUNNING,
               Job.worker == worker)
        .values(**values).execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(Job.id, Job.attempt, Job.status, Job.worker, Job.cancel_requested)
        .where(Job.id.in_(list(held)))
    )
    states = dict.fromkeys(held, LOST)
    for r in rows:
        if (r.status, r.worker, r.attempt) == (JOB_RUNNING, worker, held[r.id]):
            states[r.id] = CANCEL if r.cancel_requested else OK
    live = [job_id for job_id, state in states.items() if state != LOST]
    if live:
        session.execute(
            update(Item)
            .where(Item.job_id.in_(live), Item.status == RUNNING, Item.lease_owner == worker)
            .values(lease_expires_at=now + dt.timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False)
        )
    return states
